"""Wall time and HTTP requests of `shiplane plan` / `apply` for a fleet of N apps against the Gate and Harbor doubles.

Starts the Gate double (tests/gate_double) and an API-only Harbor double (tests/harbor_double) on 127.0.0.1, writes
the Pet Clinic example with N copies of its app (4 pipelines each), and runs, in this process through the same entry
points as the CLI:

1. plan on empty systems, 2. apply (creates everything), 3. plan again (no-op), 4. apply again (no-op),
5. a config change touching K apps (their dev replicas), plan + apply, 6. K apps removed, apply --prune.

Prints one row per step: wall and CPU seconds (CPU of this process, which also runs both doubles), requests to
Gate and to Harbor, changes. The claim it checks: a no-op plan or
apply costs a constant number of requests (2 to Gate, 4 to Harbor), and a change costs requests in proportion to the
objects it changes, not to the fleet.

    .venv/bin/python benchmarks/plan_apply.py [--apps 1000] [--changed 10]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import yaml  # noqa: E402
from gate_double import GateDouble  # noqa: E402
from harbor_double import HarborDouble  # noqa: E402
from reconcile_support import GATE_PASSWORD, GATE_USER, Runner, fleet_config, spin_config  # noqa: E402
from shiplane.reconcile import run  # noqa: E402


def step(name: str, runner: Runner, gate: GateDouble, harbor: HarborDouble, command: str, **options: Any
         ) -> dict[str, Any]:
    gate.log.clear()
    harbor.reset_requests()
    stdout, stderr = io.StringIO(), io.StringIO()
    values: dict[str, Any] = {"config": str(runner.config), "spin_config": str(runner.spin),
                              "secrets_dir": str(runner.secrets), **options}
    started, cpu = time.perf_counter(), time.process_time()
    function = run.plan_command if command == "plan" else run.apply_command
    code = function(run.Options(**values), stdout, stderr, runner.env, sleep=lambda _s: None)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    output = stdout.getvalue()
    changes = sum(1 for line in output.splitlines() if line[:2] in ("+ ", "~ ", "- "))
    return {"step": name, "exit": code, "seconds": elapsed, "cpu": cpu, "gate": len(gate.log),
            "harbor": len(harbor.requests), "changes": changes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--changed", type=int, default=10)
    args = parser.parse_args()
    harbor = HarborDouble(None)
    harbor.start()
    rows = []
    try:
        with GateDouble() as gate, tempfile.TemporaryDirectory() as scratch:
            work = Path(scratch)
            gate.add_user(GATE_USER, password=GATE_PASSWORD, admin=True)
            runner = Runner(fleet_config(work, harbor, apps=args.apps), spin_config(work, gate), work / "secrets")
            rows.append(step("plan (empty systems)", runner, gate, harbor, "plan"))
            rows.append(step("apply (create all)", runner, gate, harbor, "apply"))
            rows.append(step("plan (no-op)", runner, gate, harbor, "plan"))
            rows.append(step("apply (no-op)", runner, gate, harbor, "apply"))
            data = yaml.safe_load(runner.config.read_text())
            changed = [f"app-{index}" for index in range(1, args.changed + 1)]
            for name in changed:
                data["apps"][name] = {**data["apps"][name], "overrides": {"dev": {"replicas": 2}}}
            runner.config.write_text(yaml.safe_dump(data))
            rows.append(step(f"plan ({args.changed} apps changed)", runner, gate, harbor, "plan"))
            rows.append(step(f"apply ({args.changed} apps changed)", runner, gate, harbor, "apply"))
            for name in changed:
                del data["apps"][name]
            runner.config.write_text(yaml.safe_dump(data))
            rows.append(step(f"apply --prune ({args.changed} apps removed)", runner, gate, harbor, "apply",
                             prune=True))
            rows.append(step("plan --prune (no-op)", runner, gate, harbor, "plan", prune=True))
    finally:
        harbor.stop()
    print(f"shiplane plan/apply, {args.apps} apps ({args.apps * 4} pipelines), Gate and Harbor doubles on 127.0.0.1")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (wall time grows with it)")
    print(f"{'step':40} {'exit':>4} {'wall s':>8} {'CPU s':>7} {'Gate req':>9} {'Harbor req':>10} {'changes':>8}")
    for row in rows:
        print(f"{row['step']:40} {row['exit']:>4} {row['seconds']:>8.2f} {row['cpu']:>7.2f} {row['gate']:>9} "
              f"{row['harbor']:>10} {row['changes']:>8}")


if __name__ == "__main__":
    main()

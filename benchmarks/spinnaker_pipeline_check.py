"""Requests and wall time of spinnaker-pipeline's check with 10, 1,000 and 10,000 executions of the pipeline.

Starts the Gate double (tests/gate_double) on 127.0.0.1, adds N finished executions of one pipeline, and runs the
installed ``spinnaker-pipeline-check`` as Concourse does (JSON on stdin), first without a version, then from the
oldest execution the listing still returns. Prints requests per check (always 2: the pipeline config and one
``GET /executions`` bounded by limit=50, whatever N) and the median wall time, next to ``python -c "import ssl,
json"`` for the process start-up this machine costs anyway.

    .venv/bin/python benchmarks/spinnaker_pipeline_check.py [--sizes 10,1000,10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from gate_double import GateDouble  # noqa: E402
from gate_double.orca_routes import add_pipeline  # noqa: E402

CHECK = str(Path(sys.executable).parent / "spinnaker-pipeline-check")


def seed(gate: GateDouble, count: int) -> None:
    config = add_pipeline(gate.state, "app", "deploy")
    with gate.state.lock:
        for _ in range(count):
            execution_id = gate.state.new_id()
            now = gate.state.now()
            gate.state.executions[execution_id] = {
                "id": execution_id, "type": "PIPELINE", "application": "app", "name": "deploy",
                "pipelineConfigId": config["id"], "status": "SUCCEEDED", "startTime": now, "endTime": now + 500,
                "trigger": {"type": "manual", "user": "ci"}, "stages": [],
            }


def timed(payload: dict[str, object]) -> tuple[float, object]:
    started = time.perf_counter()
    done = subprocess.run([CHECK], input=json.dumps(payload), capture_output=True, text=True, check=True)
    return time.perf_counter() - started, json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10,1000,10000")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'executions':>10} {'requests':>9} {'versions':>9} {'first check':>12} {'from a version':>15}")
    for size in (int(s) for s in args.sizes.split(",")):
        with GateDouble() as gate:
            gate.state.anonymous = True
            seed(gate, size)
            source = {"url": gate.url, "insecure": True, "application": "app", "pipeline": "deploy"}
            firsts, sinces, versions = [], [], []
            for _ in range(args.repeat):
                gate.log.clear()
                seconds, _newest = timed({"source": source})
                firsts.append(seconds)
                requests = len(gate.log)
                oldest = sorted(gate.state.executions)[max(0, size - 50)]
                seconds, versions = timed({"source": source, "version": {"id": oldest}})
                sinces.append(seconds)
            print(f"{size:>10} {requests:>9} {len(versions):>9} {statistics.median(firsts) * 1000:>10.0f}ms "
                  f"{statistics.median(sinces) * 1000:>13.0f}ms")
    baseline = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import ssl, json"], check=True)
        baseline.append(time.perf_counter() - started)
    print(f"python -c 'import ssl, json' on this machine: {statistics.median(baseline) * 1000:.0f}ms")


if __name__ == "__main__":
    main()

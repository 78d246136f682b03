"""Helpers for the plan/apply tests: a fleet config pointed at the doubles, a spin config, and command runners."""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from gate_double import GateDouble
from harbor_double import ADMIN_PASSWORD, ADMIN_USERNAME, HarborDouble
from shiplane.reconcile import run

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "petclinic" / "shiplane.yaml"
GATE_USER, GATE_PASSWORD = "deployer", "gate-Secret-pw-1"


def fleet_config(directory: Path, harbor: HarborDouble, apps: int = 1, **changes: Any) -> Path:
    """The Pet Clinic example with its Harbor at the double and `apps` copies of its app (petclinic, app-1...)."""
    data = yaml.safe_load(EXAMPLE.read_text())
    data["harbor"]["url"] = harbor.url
    data["harbor"]["insecure"] = True
    template = data["apps"]["petclinic"]
    for index in range(1, apps):
        data["apps"][f"app-{index}"] = template
    for key, value in changes.items():
        data[key] = value
    path = directory / "shiplane.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def spin_config(directory: Path, gate: GateDouble) -> Path:
    """A spin config with basic auth whose password comes from the environment (spin expands $VARS)."""
    path = directory / "spin-config"
    path.write_text(f"gate:\n  endpoint: {gate.url}\nauth:\n  enabled: true\n  basic:\n"
                    f"    username: {GATE_USER}\n    password: ${{GATE_PASSWORD}}\n")
    return path


@dataclass
class Result:
    code: int | None
    stdout: str
    stderr: str
    error: str = ""

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class Runner:
    config: Path
    spin: Path
    secrets: Path
    env: dict[str, str] = field(default_factory=lambda: {
        "HARBOR_USERNAME": ADMIN_USERNAME, "HARBOR_PASSWORD": ADMIN_PASSWORD, "GATE_PASSWORD": GATE_PASSWORD})

    def __call__(self, command: str, **options: Any) -> Result:
        """Run plan or apply in this process; a ShiplaneError becomes code 1 (a UsageError 2) with its lines in
        `error`."""
        from shiplane.errors import ShiplaneError, UsageError

        values: dict[str, Any] = {"config": str(self.config), "spin_config": str(self.spin),
                                  "secrets_dir": str(self.secrets)}
        values.update(options)
        opts = run.Options(**values)
        stdout, stderr = io.StringIO(), io.StringIO()
        command_function = run.plan_command if command == "plan" else run.apply_command
        try:
            code: int | None = command_function(opts, stdout, stderr, self.env, sleep=lambda _s: None)
            error = ""
        except ShiplaneError as problem:  # the CLI's mapping: usage errors 2, others 1
            code, error = 2 if isinstance(problem, UsageError) else 1, "\n".join(problem.problems)
        return Result(code, stdout.getvalue(), stderr.getvalue(), error)


def secret_files(directory: Path) -> dict[str, dict[str, str]]:
    if not directory.is_dir():
        return {}
    return {name: json.loads((directory / name).read_text()) for name in sorted(os.listdir(directory))}

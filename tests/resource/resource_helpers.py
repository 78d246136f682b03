"""Running the installed harbor-image executables exactly as Concourse does, against the Harbor double.

``resource`` runs ``harbor-image-check`` / ``harbor-image-in DEST`` / ``harbor-image-out SRC`` with the JSON payload
on stdin, BUILD_* variables for in/out (never for check), and a per-test cache directory shared by the test's checks
(Concourse reuses the check container). Every run asserts that no secret reaches stdout or stderr and that
stdout is either empty (failure) or exactly one JSON document.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harbor_double import ROBOT_CI_ACCESS

BIN = Path(sys.executable).parent
BUILD_ENV = {
    "BUILD_ID": "4711",
    "BUILD_NAME": "42",
    "BUILD_JOB_NAME": "ship",
    "BUILD_PIPELINE_NAME": "app",
    "BUILD_PIPELINE_INSTANCE_VARS": '{"env":"prod"}',
    "BUILD_TEAM_NAME": "main",
    "ATC_EXTERNAL_URL": "https://ci.example.com",
    "BUILD_URL": "https://ci.example.com/builds/4711",
    "BUILD_URL_SHORT": "https://ci.example.com/builds/4711",
}
ROBOT_ACCESS = ROBOT_CI_ACCESS  # the resource's full robot permissions (README)


@dataclass
class Run:
    command: str
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> Any:
        assert self.returncode == 0, f"{self.command} failed ({self.returncode}):\n{self.stderr}"
        return json.loads(self.stdout)


@dataclass
class Resource:
    """Runs the executables; remembers every secret it was given so every run can assert none leaked."""

    cache_dir: Path
    secrets: set[str] = field(default_factory=set)
    runs: list[Run] = field(default_factory=list)

    def _run(self, command: str, payload: Any, args: list[str], env: dict[str, str] | None) -> Run:
        source = payload.get("source", {}) if isinstance(payload, dict) else {}
        if isinstance(source.get("password"), str):
            self.secrets.add(source["password"])
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("BUILD_", "ATC_"))}
        environment["HARBOR_IMAGE_CACHE_DIR"] = str(self.cache_dir)
        environment.update(env or {})
        executable = BIN / command
        argv = [str(executable)] if executable.exists() else [sys.executable, "-c", _SHIM[command]]
        done = subprocess.run(
            [*argv, *args],
            input=payload if isinstance(payload, str) else json.dumps(payload),
            capture_output=True,
            text=True,
            timeout=300,
            env=environment,
            check=False,
        )
        run = Run(command, done.returncode, done.stdout, done.stderr)
        for secret in self.secrets:
            assert secret not in run.stdout, f"{command} printed a secret on stdout"
            assert secret not in run.stderr, f"{command} printed a secret on stderr:\n{run.stderr}"
        assert "Authorization" not in run.stderr and "Basic " not in run.stderr
        if run.returncode == 0:
            json.loads(run.stdout)  # exactly one JSON document
            assert run.stdout.count("\n") == 1
        else:
            assert run.stdout == "", f"{command} wrote to stdout although it failed: {run.stdout!r}"
        self.runs.append(run)
        return run

    def check(self, source: dict[str, Any], version: dict[str, str] | None = None) -> Run:
        payload: dict[str, Any] = {"source": source}
        if version is not None:
            payload["version"] = version
        return self._run("harbor-image-check", payload, [], None)

    def get(self, dest: Path, source: dict[str, Any], version: dict[str, str], **params: Any) -> Run:
        dest.mkdir(parents=True, exist_ok=True)
        payload = {"source": source, "version": version, "params": params}
        return self._run("harbor-image-in", payload, [str(dest)], BUILD_ENV)

    def put(self, src: Path, source: dict[str, Any], **params: Any) -> Run:
        return self._run("harbor-image-out", {"source": source, "params": params}, [str(src)], BUILD_ENV)

    def raw(self, command: str, payload: str, *args: str) -> Run:
        return self._run(command, payload, list(args), BUILD_ENV if not command.endswith("check") else None)


_SHIM = {
    "harbor-image-check": "from harbor_image.cli import check_main; check_main()",
    "harbor-image-in": "import sys; sys.argv[0] = 'in'; from harbor_image.cli import in_main; in_main()",
    "harbor-image-out": "import sys; sys.argv[0] = 'out'; from harbor_image.cli import out_main; out_main()",
}


@dataclass
class Team:
    """Project ``team`` in a Harbor double with a CI robot; ``source(...)`` builds the resource's source."""

    harbor: Any
    username: str
    password: str

    def source(self, repository: str = "team/app", **extra: Any) -> dict[str, Any]:
        source: dict[str, Any] = {
            "url": self.harbor.url,
            "repository": repository,
            "username": self.username,
            "password": self.password,
        }
        if self.harbor.insecure:
            source["insecure"] = True
        else:
            source["ca_certs"] = [self.harbor.ca_pem]
        source.update(extra)
        return source


def make_team(harbor: Any, resource: Resource) -> Team:
    harbor.create_project("team")
    robot = harbor.add_robot("team", "ci", access=ROBOT_ACCESS)
    resource.secrets.add(robot.secret)
    resource.secrets.add("Harbor12345")
    return Team(harbor, robot.name, robot.secret)

"""`shiplane plan` and `shiplane apply`: config → model → rendered documents → validation → plan → apply.

The desired Spinnaker state is the documents `shiplane render` produces for the same config (rendered in memory by
the same renderer and checked by the same validators); the desired Harbor state comes from the same model.

Exit codes — plan: 0 nothing would change, 2 something would, 1 error. apply: 0 done (or nothing to do), 1 error
(it stops at the first failing change and lists what was done and what was not). A usage error is 2 for both.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml
from harbor_admin import HarborAdmin, HarborAdminError
from harbor_image.log import Log
from spinnaker_gate import Gate, GateError

from shiplane import config, render, spinnaker
from shiplane.errors import ShiplaneError, UsageError
from shiplane.model import Fleet
from shiplane.reconcile import harbor as harbor_side
from shiplane.reconcile import spinconfig
from shiplane.reconcile import spinnaker as spinnaker_side
from shiplane.reconcile.apply import apply_plan
from shiplane.reconcile.changes import Plan
from shiplane.templates import TemplateSet

TARGETS = ("spinnaker", "harbor")


@dataclass
class Options:
    config: str
    targets: tuple[str, ...] = TARGETS
    only: str | None = None
    prune: bool = False
    adopt: bool = False
    templates: str | None = None
    spin_config: str | None = None
    gate_url: str | None = None
    gate_ca: str | None = None
    harbor_credentials: str | None = None
    harbor_ca: str | None = None
    secrets_dir: str | None = None
    timeout: float = 3600.0
    as_json: bool = False
    debug: bool = False
    parallel: int = 4
    """apply: pipeline saves at once (each on its own Gate connection)."""


@dataclass
class Session:
    """The clients of one command (None for a target not asked for) and the log that redacts their secrets."""

    log: Log
    gate: Gate | None = None
    harbor: HarborAdmin | None = None
    task_options: dict[str, Any] | None = None
    """How Orca tasks are waited for (tests and benchmarks pass their `sleep`)."""
    new_gate: Callable[[], Gate] | None = None
    """Another Gate client like `gate` (same URL, credentials and deadline), for parallel pipeline saves."""

    def requests(self) -> dict[str, int]:
        counts = {}
        if self.gate is not None:
            counts["spinnaker"] = self.gate.requests
        if self.harbor is not None:
            counts["harbor"] = self.harbor.requests
        return counts

    def close(self) -> None:
        for client in (self.gate, self.harbor):
            if client is not None:
                client.close()


def _read_pem(path: str, option: str) -> list[str]:
    try:
        return [Path(path).read_text(encoding="utf-8")]
    except OSError as problem:
        raise ShiplaneError(f"{option} {path}: cannot read it ({problem.strerror})") from None


def harbor_credentials(path: str | None, env: Mapping[str, str]) -> tuple[str, str]:
    """(username, password) from `--harbor-credentials FILE` (YAML `username`, `password`) or HARBOR_USERNAME and
    HARBOR_PASSWORD."""
    if path is not None:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except OSError as problem:
            raise ShiplaneError(f"--harbor-credentials {path}: cannot read it ({problem.strerror})") from None
        except yaml.YAMLError:
            raise ShiplaneError(f"--harbor-credentials {path}: not YAML; give `username:` and `password:`") from None
        if not isinstance(data, dict) or not data.get("username") or not data.get("password"):
            raise ShiplaneError(f"--harbor-credentials {path}: give `username:` and `password:`")
        return str(data["username"]), str(data["password"])
    username, password = env.get("HARBOR_USERNAME"), env.get("HARBOR_PASSWORD")
    if not username or not password:
        raise ShiplaneError("Harbor credentials: set HARBOR_USERNAME and HARBOR_PASSWORD (a Harbor administrator), "
                            "give --harbor-credentials FILE, or leave Harbor out with --target spinnaker")
    return username, password


def connect(options: Options, fleet: Fleet, env: Mapping[str, str], log: Log, **client_options: Any) -> Session:
    deadline = time.monotonic() + options.timeout
    session = Session(log, task_options={"sleep": client_options["sleep"]} if "sleep" in client_options else {})
    if "spinnaker" in options.targets:
        settings = spinconfig.load(options.spin_config, options.gate_url, env)
        ca = _read_pem(options.gate_ca, "--gate-ca") if options.gate_ca else None

        def new_gate() -> Gate:
            return Gate(settings.url, settings.auth, log, deadline, insecure=settings.insecure, ca_certs=ca,
                        url_field="--gate-url (or gate.endpoint in the spin config)", ca_field="--gate-ca",
                        **client_options)

        session.gate = new_gate()
        session.new_gate = new_gate
    if "harbor" in options.targets:
        username, password = harbor_credentials(options.harbor_credentials, env)
        ca = _read_pem(options.harbor_ca, "--harbor-ca") if options.harbor_ca else None
        session.harbor = HarborAdmin(fleet.harbor.url, username, password, log, deadline,
                                     insecure=fleet.harbor.insecure, ca_certs=ca, **client_options)
    return session


def make_plan(options: Options, fleet: Fleet, session: Session) -> Plan:
    """Read Spinnaker and Harbor and compare them with the config's documents."""
    result = Plan()
    desired: spinnaker_side.Desired | None = None
    if session.gate is not None:  # render and validate first: a config or template problem needs no network
        templates = TemplateSet(options.templates)
        apps = render.select_apps(fleet, options.only)
        documents = []
        for app in apps:
            for document in spinnaker.render_app(fleet, app, templates):
                render.validate(document, fleet)
                documents.append(document)
        desired = spinnaker_side.desired_state(fleet, documents, (app.name for app in apps), options.only)
    try:
        if session.harbor is not None:
            result.changes += harbor_side.plan(session.harbor, harbor_side.desired_projects(fleet))
        if session.gate is not None and desired is not None:
            changes, skipped = spinnaker_side.plan(session.gate, desired, prune=options.prune, adopt=options.adopt)
            result.changes += changes
            result.skipped += skipped
    except (GateError, HarborAdminError) as problem:
        raise ShiplaneError(f"planning: {session.log.redact(str(problem))}") from None
    result.requests = session.requests()
    return result


def _prepare(options: Options, env: Mapping[str, str], stderr: TextIO, client_options: dict[str, Any]
             ) -> tuple[Fleet, Session]:
    for target in options.targets:
        if target not in TARGETS:
            raise UsageError(f"--target {target}: give spinnaker or harbor")
    fleet = config.load(options.config)
    log = Log(stderr, debug=options.debug)
    return fleet, connect(options, fleet, env, log, **client_options)


def plan_command(options: Options, stdout: TextIO, stderr: TextIO, env: Mapping[str, str] | None = None,
                 **client_options: Any) -> int:
    fleet, session = _prepare(options, os.environ if env is None else env, stderr, client_options)
    try:
        plan = make_plan(options, fleet, session)
    finally:
        session.close()
    if options.as_json:
        stdout.write(json.dumps(plan.as_json(), indent=2, sort_keys=True) + "\n")
    else:
        stdout.write(plan.human())
    return 2 if plan.changes else 0


def apply_command(options: Options, stdout: TextIO, stderr: TextIO, env: Mapping[str, str] | None = None,
                  **client_options: Any) -> int:
    fleet, session = _prepare(options, os.environ if env is None else env, stderr, client_options)
    secrets_dir = Path(options.secrets_dir) if options.secrets_dir else None
    try:
        plan = make_plan(options, fleet, session)
        done = apply_plan(plan, harbor=session.harbor, gate=session.gate, new_gate=session.new_gate, log=session.log,
                          secrets_dir=secrets_dir, out=stderr if options.as_json else stdout,
                          parallel=options.parallel, task_options=session.task_options)
    finally:
        session.close()
    counts = Plan(done).counts()
    if options.as_json:
        stdout.write(json.dumps({"applied": [c.as_json() for c in done], "summary": counts,
                                 "skipped": [s.as_json() for s in plan.skipped]}, indent=2, sort_keys=True) + "\n")
    else:
        for skip in plan.skipped:
            stdout.write(f"! {skip.system} {skip.kind} {skip.name}: not touched: {skip.reason}\n")
        stdout.write(f"Apply complete: {counts['create']} created, {counts['update']} updated, "
                     f"{counts['delete']} deleted.\n")
    return 0

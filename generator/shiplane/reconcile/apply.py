"""Carrying out a plan: in plan order, stopping at the first error with what was and was not done.

Every change runs one after the other, except the pipeline saves: Gate saves each pipeline through an Orca task it
waits for (about a second in a real Spinnaker), so creates and updates of pipelines — independent of each other, and
after every application they belong to exists — run on up to `parallel` Gate connections at once. When one fails, no
further save starts; the ones already running finish and count as done. Deletes (pruning) come last, one at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, Protocol, TextIO

from harbor_admin import HarborAdmin, HarborAdminError
from spinnaker_gate import Gate, GateError

from shiplane.errors import ShiplaneError
from shiplane.reconcile import harbor as harbor_side
from shiplane.reconcile import spinnaker as spinnaker_side
from shiplane.reconcile.changes import Change, Plan

FAILURES = (GateError, HarborAdminError, ShiplaneError)


class Redactor(Protocol):
    def redact(self, text: str) -> str: ...


class Stopped(Exception):
    """The first failing change and why."""

    def __init__(self, change: Change, problem: BaseException) -> None:
        super().__init__(str(problem))
        self.change = change
        self.problem = problem


def _concurrent(change: Change) -> bool:
    return change.system == "spinnaker" and change.kind == "pipeline" and change.action != "delete"


def apply_plan(
    plan: Plan,
    *,
    harbor: HarborAdmin | None,
    gate: Gate | None,
    new_gate: Callable[[], Gate] | None,
    log: Redactor,
    secrets_dir: Path | None,
    out: TextIO,
    parallel: int = 1,
    task_options: dict[str, Any] | None = None,
) -> list[Change]:
    """Carry out the plan's changes; the changes done. ShiplaneError at the first failure: which change, the
    server's message, what was done and what was not."""
    ordered = plan.sorted()
    robots = [c.name for c in ordered if c.kind == "robot" and c.action == "create"]
    if robots and secrets_dir is None:
        raise ShiplaneError(
            f"--secrets-dir: required, {len(robots)} robot account(s) will be created ({', '.join(robots)}) and "
            f"Harbor shows a robot's secret only once; nothing was changed")
    done: list[Change] = []
    lock = threading.Lock()

    def one(change: Change, client: Gate | None) -> None:
        try:
            if change.system == "harbor":
                assert harbor is not None
                outcome = harbor_side.apply(harbor, change, secrets_dir)
            else:
                assert client is not None
                outcome = spinnaker_side.apply(client, change, **(task_options or {}))
        except FAILURES as problem:
            raise Stopped(change, problem) from None
        with lock:
            done.append(change)
            out.write(f"{change.title()}: {outcome}\n")
            out.flush()

    try:
        index = 0
        while index < len(ordered):
            block = []
            while index < len(ordered) and _concurrent(ordered[index]):
                block.append(ordered[index])
                index += 1
            if len(block) > 1 and parallel > 1 and new_gate is not None:
                _in_parallel(block, one, new_gate, parallel)
            else:
                for change in block:
                    one(change, gate)
            if index < len(ordered):
                one(ordered[index], gate)
                index += 1
    except Stopped as stopped:
        finished = set(map(id, done))
        left = [c for c in ordered if id(c) not in finished and c is not stopped.change]
        raise ShiplaneError([
            f"apply stopped at {stopped.change.title()}: {log.redact(str(stopped.problem))}",
            f"done: {len(done)} change(s)" + (": " + "; ".join(c.title() for c in done) if done else ""),
            f"not done: {len(left) + 1} change(s): " + "; ".join(c.title() for c in [stopped.change, *left]),
        ]) from None
    return done


def _in_parallel(block: list[Change], one: Callable[[Change, Gate | None], None], new_gate: Callable[[], Gate],
                 parallel: int) -> None:
    """Run `block` on up to `parallel` threads, each with its own Gate connection; raise the first Stopped (in plan
    order among the failures) after the running ones finish. No change starts after a failure."""
    local = threading.local()
    clients: list[Gate] = []
    clients_lock = threading.Lock()
    failed = threading.Event()

    def client() -> Gate:
        gate: Gate | None = getattr(local, "gate", None)
        if gate is None:
            gate = new_gate()
            local.gate = gate
            with clients_lock:
                clients.append(gate)
        return gate

    def run(change: Change) -> None:
        if failed.is_set():
            return
        try:
            one(change, client())
        except Stopped:
            failed.set()
            raise

    futures: list[Future[None]] = []
    try:
        with ThreadPoolExecutor(max_workers=min(parallel, len(block)), thread_name_prefix="shiplane-apply") as pool:
            futures = [pool.submit(run, change) for change in block]
            wait(futures, return_when=FIRST_EXCEPTION)
            if failed.is_set():
                for future in futures:
                    future.cancel()
    finally:
        for gate in clients:
            gate.close()
    for future in futures:
        if not future.cancelled() and future.exception() is not None:
            raise future.exception()  # type: ignore[misc]

"""Orca tasks through Gate: submit a task (``POST /tasks``) and wait for it, as ``spin`` does.

Follows spin/cmd/orca-tasks/task_watcher.go (``WaitForSuccessfulTask``): poll ``GET /tasks/{id}`` with a growing
sleep (spin: attempts² seconds, at most 20 s; here ``first_sleep`` * attempts², default 0.2 s, so that a quick
upsert is not held for a whole second) until the status is one of SUCCEEDED, STOPPED, SKIPPED, TERMINAL or
FAILED_CONTINUE;
only SUCCEEDED, STOPPED and SKIPPED count as success. Gate's TaskController (gate-web controllers/TaskController)
answers ``POST /tasks`` with ``{"ref": "/tasks/<id>"}``. Every wait is bounded by the Gate client's deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from spinnaker_gate.client import Gate, GateError

COMPLETED = frozenset({"SUCCEEDED", "STOPPED", "SKIPPED", "TERMINAL", "FAILED_CONTINUE"})
SUCCESSFUL = frozenset({"SUCCEEDED", "STOPPED", "SKIPPED"})
MAX_SLEEP = 20.0


def submit_task(gate: Gate, task: dict[str, Any], what: str) -> str:
    """``POST /tasks`` with ``task`` (``{"application", "description", "job": [...]}``); the task id.

    Raises :class:`GateError` (with Gate's message and the Fiat hint on 401/403) when Gate refuses it.
    """
    response = gate.request("POST", "/tasks", body=task)
    if response.status not in (200, 201, 202):
        raise gate.fail(response, what)
    ref = Gate.json(response)
    if not isinstance(ref, dict) or not isinstance(ref.get("ref"), str):
        raise GateError(f"{what}: Gate answered {response.status} without a task reference")
    return str(ref["ref"]).rstrip("/").rsplit("/", 1)[-1]


def task_error(task: dict[str, Any]) -> str:
    """The first error an Orca task reports (``variables[exception].value.details.errors[0]``, as Gate reads it in
    PipelineController), else its status."""
    for variable in task.get("variables") or []:
        if isinstance(variable, dict) and variable.get("key") == "exception":
            details = (variable.get("value") or {}).get("details") or {}
            errors = details.get("errors") or []
            if errors:
                return str(errors[0])
            if details.get("error"):
                return str(details["error"])
    return f"status {task.get('status', 'unknown')}"


def wait_for_task(
    gate: Gate,
    task_id: str,
    what: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    first_sleep: float = 0.2,
) -> dict[str, Any]:
    """Poll ``GET /tasks/{id}`` until the task completes; the final task. GateError when it did not succeed or the
    command's deadline passes first (the task may still finish in Spinnaker: the message says so)."""
    attempts = 0
    while True:
        response = gate.request("GET", f"/tasks/{task_id}")
        if response.status != 200:
            raise gate.fail(response, f"{what}: reading task {task_id}")
        task = Gate.json(response)
        if not isinstance(task, dict):
            raise GateError(f"{what}: task {task_id} is not a JSON object")
        status = str(task.get("status", ""))
        if status in COMPLETED:
            if status not in SUCCESSFUL:
                raise GateError(f"{what}: Spinnaker task {task_id} ended {status}: {task_error(task)}")
            return task
        attempts += 1
        delay = min(MAX_SLEEP, first_sleep * attempts * attempts)
        remaining = gate.transport.deadline - clock()
        if remaining <= delay:
            raise GateError(
                f"{what}: Spinnaker task {task_id} is still {status or 'starting'} at the command's deadline; it may "
                f"still finish: check it in Spinnaker and run the command again"
            )
        sleep(delay)


def run_task(gate: Gate, task: dict[str, Any], what: str, **options: Any) -> dict[str, Any]:
    """Submit and wait: the final task."""
    return wait_for_task(gate, submit_task(gate, task, what), what, **options)

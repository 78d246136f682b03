"""Pipeline executions through Gate: trigger a pipeline by name with artifacts, list and read executions.

Upstream behaviour this module depends on (spinnaker monorepo):

* Trigger — gate ``PipelineController.invokePipelineConfig`` (``POST /pipelines/{application}/{pipelineNameOrId}``,
  202): sets ``trigger.user`` to the caller, ``PipelineService.trigger`` puts the trigger map into the Front50 pipeline
  config and calls orca ``OperationsController.orchestrate``, which answers ``{"ref": "/pipelines/<id>"}``. Orca's
  ``parsePipelineTrigger`` defaults ``trigger.type`` to ``manual``; ``ArtifactUtils.resolveArtifacts`` binds the
  config's ``expectedArtifacts`` *listed in* ``trigger.expectedArtifactIds`` against ``trigger.artifacts``.
* Idempotence — orca ``ExecutionLauncher.checkForCorrelatedExecution``: a trigger with a ``correlationId`` that an
  *unfinished* execution already has returns that execution instead of starting another
  (``SqlExecutionRepository.retrievePipelineForCorrelationId``; a finished one no longer counts). The correlation id
  is kept in the execution's ``trigger.correlationId`` (orca ``DefaultTrigger``), so after a lost answer
  :func:`trigger_pipeline` looks the execution up by it before it posts again.
* Listing — gate ``ExecutionsController.getLatestExecutionsByConfigIds`` (``GET /executions?pipelineConfigIds=&limit=
  &statuses=``) → orca ``TaskController.listSubsetOfPipelines``: the newest ``limit`` executions of the config with one
  of ``statuses`` (``SqlExecutionRepository.retrievePipelinesForPipelineConfigId``, by id descending), returned sorted
  by ``startTimeOrId`` (start time ascending, not-started first; ties by id descending). Bounded by ``limit``, unlike
  ``GET /applications/{app}/pipelines`` which answers ``limit`` executions for *every* pipeline of the application.
* Detail — gate ``PipelineController.getPipeline`` (``GET /pipelines/{id}``; 404 "Pipeline not found").
* Pipeline config — gate ``ApplicationController.getPipelineConfig`` (``GET /applications/{app}/pipelineConfigs/
  {name}``; ``ApplicationService.getPipelineConfigForApplication``: by name, then by id; 404 when neither).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

from spinnaker_gate.client import Gate, GateError, gate_error_text

# orca-api ExecutionStatus: (complete, halt)
ALL_STATUSES = (
    "NOT_STARTED", "RUNNING", "PAUSED", "SUSPENDED", "SUCCEEDED", "FAILED_CONTINUE", "TERMINAL", "CANCELED",
    "REDIRECT", "STOPPED", "SKIPPED", "BUFFERED",
)
FINAL_STATUSES = ("SUCCEEDED", "FAILED_CONTINUE", "TERMINAL", "CANCELED", "STOPPED", "SKIPPED")
# how many recent executions to read back when looking a trigger up by its correlation id
LOOKUP_LIMIT = 25


def _segment(value: str) -> str:
    return quote(value, safe="")


def pipeline_config(gate: Gate, application: str, pipeline: str) -> dict[str, Any]:
    """The Front50 pipeline config named ``pipeline`` (or with that id) in ``application``.

    Raises :class:`GateError` naming ``source.pipeline`` when Gate answers 404.
    """
    what = f"reading pipeline {pipeline!r} of application {application!r}"
    response = gate.request("GET", f"/applications/{_segment(application)}/pipelineConfigs/{_segment(pipeline)}")
    if response.status == 404:
        raise GateError(
            f"{what}: Gate has no such pipeline (404); check source.application and source.pipeline "
            "(the pipeline's name as Deck shows it)",
            404,
        )
    if response.status != 200:
        raise gate.fail(response, what)
    config = Gate.json(response)
    if not isinstance(config, dict) or not isinstance(config.get("id"), str):
        raise GateError(f"{what}: Gate answered a pipeline config without an id", response.status)
    return config


def list_executions(gate: Gate, config_id: str, limit: int, statuses: tuple[str, ...]) -> list[dict[str, Any]]:
    """The newest ``limit`` executions of pipeline config ``config_id`` with one of ``statuses``, oldest first.

    Orca's order (``startTimeOrId``) is kept; executions are expanded (stages included).
    """
    query = [("pipelineConfigIds", config_id), ("limit", str(limit)), ("statuses", ",".join(statuses))]
    response = gate.request("GET", "/executions", query)
    if response.status != 200:
        raise gate.fail(response, "listing executions")
    executions = Gate.json(response)
    if not isinstance(executions, list):
        raise GateError("listing executions: Gate answered something that is not a list", response.status)
    return [item for item in executions if isinstance(item, dict) and isinstance(item.get("id"), str)]


def get_execution(gate: Gate, execution_id: str) -> dict[str, Any]:
    """One execution (``GET /pipelines/{id}``); GateError naming the id when Gate does not know it."""
    response = gate.request("GET", f"/pipelines/{_segment(execution_id)}")
    if response.status == 404:
        raise GateError(f"execution {execution_id}: Gate does not know it (404); it may have been deleted", 404)
    if response.status != 200:
        raise gate.fail(response, f"reading execution {execution_id}")
    execution = Gate.json(response)
    if not isinstance(execution, dict) or execution.get("id") != execution_id:
        raise GateError(f"reading execution {execution_id}: Gate answered another document", response.status)
    return execution


def find_by_correlation(gate: Gate, config_id: str, correlation_id: str) -> dict[str, Any] | None:
    """The recent execution of ``config_id`` whose ``trigger.correlationId`` is ``correlation_id``, or None."""
    for execution in reversed(list_executions(gate, config_id, LOOKUP_LIMIT, ALL_STATUSES)):
        trigger = execution.get("trigger")
        if isinstance(trigger, dict) and trigger.get("correlationId") == correlation_id:
            found: dict[str, Any] = execution
            return found
    return None


@contextmanager
def _single_attempt(gate: Gate) -> Iterator[None]:
    """The transport retries 429/5xx and lost connections on its own; a trigger must not be re-sent blindly.

    One attempt on a fresh connection (no silent re-send on a stale keep-alive one); the caller decides.
    """
    transport = gate.transport
    saved = transport.attempts
    transport.close()
    transport.attempts = 1
    try:
        yield
    finally:
        transport.attempts = saved


def _execution_id(ref: object) -> str | None:
    if isinstance(ref, str) and ref.startswith("/pipelines/") and len(ref) > len("/pipelines/"):
        return ref.rsplit("/", 1)[1]
    return None


def trigger_pipeline(
    gate: Gate,
    application: str,
    pipeline: str,
    config_id: str,
    trigger: dict[str, Any],
    *,
    attempts: int = 5,
    look_first: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Start ``pipeline`` with ``trigger`` (which must carry a ``correlationId``); the execution's id.

    At most one execution is started per correlation id: after an answer that may hide a started execution (a lost
    connection, 5xx, 429) the recent executions are searched for the correlation id before posting again, and orca
    itself answers a repeated correlation id with the running execution. With ``look_first`` the search also runs
    before the first post, so a caller that retries with the same correlation id (a retried Concourse step) gets
    the execution its earlier attempt started, even a finished one. ``attempts`` bounds the posts; the Gate
    deadline bounds the whole. Raises :class:`GateError` (403: the EXECUTE permission; 400: Gate's reason).
    """
    correlation_id = trigger.get("correlationId")
    if not isinstance(correlation_id, str) or not correlation_id:
        raise ValueError("trigger needs a correlationId")
    path = f"/pipelines/{_segment(application)}/{_segment(pipeline)}"
    what = f"triggering pipeline {pipeline!r} of application {application!r}"
    last_problem = ""
    if look_first:
        found = find_by_correlation(gate, config_id, correlation_id)
        if found is not None:
            gate.log.debug(f"{what}: execution {found['id']} already carries correlation id {correlation_id}")
            return str(found["id"])
    for attempt in range(attempts):
        if attempt:
            found = find_by_correlation(gate, config_id, correlation_id)
            if found is not None:
                gate.log.debug(f"{what}: the earlier attempt started execution {found['id']} ({last_problem})")
                return str(found["id"])
            delay = min(20.0, 0.5 * 2.0**attempt) * random.uniform(0.5, 1.0)  # noqa: S311 - jitter
            if time.monotonic() + delay >= gate.transport.deadline:
                break
            gate.log.debug(f"{what}: {last_problem}; no execution carries the correlation id; posting again")
            sleep(delay)
        try:
            with _single_attempt(gate):
                response = gate.request("POST", path, body=trigger)
        except GateError as problem:
            last_problem = str(problem)
            continue
        if response.status in (200, 201, 202):
            body = Gate.json(response)
            execution_id = _execution_id(body.get("ref") if isinstance(body, dict) else None)
            if execution_id is None:
                raise GateError(f"{what}: Gate answered {response.status} without a /pipelines/<id> ref")
            return execution_id
        if response.status in (429, 502, 503, 504):
            last_problem = f"Gate answered {response.status} ({gate_error_text(response.body, redactor=gate.redactor)})"
            continue
        if response.status >= 500:
            # orca may have started the execution before something behind Gate failed: look before failing
            found = find_by_correlation(gate, config_id, correlation_id)
            if found is not None:
                return str(found["id"])
        raise gate.fail(response, what)
    found = find_by_correlation(gate, config_id, correlation_id)
    if found is not None:
        return str(found["id"])
    raise GateError(f"{what}: gave up ({last_problem}); no execution was started, the put can be retried")

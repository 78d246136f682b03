"""Pipeline triggers and executions as Gate → Orca answer them (the calls of ``spinnaker_gate.executions``).

* ``GET /applications/{app}/pipelineConfigs/{name}`` — gate ApplicationController.getPipelineConfig →
  ApplicationService.getPipelineConfigForApplication (by name, then id; 404 "Pipeline configuration not found").
  Front50 checks READ on the application.
* ``POST /pipelines/{app}/{nameOrId}`` — gate PipelineController.invokePipelineConfig (202,
  ``trigger.user`` = the caller) → orca OperationsController.orchestrate: ``trigger.type`` defaults to ``manual``,
  ArtifactUtils.resolveArtifacts binds the config's expectedArtifacts listed in ``trigger.expectedArtifactIds``
  (an unmatched one fails the start: 400 here, as Gate maps orca's ArtifactResolutionException),
  ExecutionLauncher.checkForCorrelatedExecution answers a correlation id an unfinished execution holds with that
  execution; ``{"ref": "/pipelines/<id>"}``. Fiat: READ (Front50's getByApplicationAndName PostAuthorize); EXECUTE
  is checked only by gate's ``/pipelines/v2`` (PreAuthorize) and Deck, not on this path.
* ``GET /executions`` — gate ExecutionsController → orca TaskController.listSubsetOfPipelines: newest ``limit``
  (default 1) by id with ``statuses`` (default all), sorted by ``startTimeOrId`` (start time ascending, nulls as 0,
  ties id descending); executions of applications the caller cannot READ are filtered out (PostFilter).
* ``GET /pipelines/{id}`` — gate PipelineController.getPipeline (404 "Pipeline not found (id: …)"; READ).

Progress: an execution starts ``RUNNING`` and moves one step along ``state.execution_plans[id]`` per read (a new
one gets ``state.default_execution_plan``: straight to ``SUCCEEDED``); :func:`advance` sets a status from a test.
Stages follow the config; a finished ``deployManifest`` stage carries clouddriver's outputs as orca's
PromoteManifestKatoOutputsTask stores them (``outputs.manifests``, ``outputs.manifestNamesByNamespace`` with
"kind name", ``outputs.boundArtifacts``) and the context key ``deploy.account.name`` (orca DeployManifestTask).
"""

from __future__ import annotations

import copy
import re
from typing import Any
from urllib.parse import unquote

from .routes import ROUTER, Call, Reply, error
from .state import GateState

FINAL = ("SUCCEEDED", "FAILED_CONTINUE", "TERMINAL", "CANCELED", "STOPPED", "SKIPPED")


def add_pipeline(state: GateState, application: str, name: str, **config: Any) -> dict[str, Any]:
    """Store a Front50 pipeline config (``stages``, ``expectedArtifacts``, ``triggers``...); returns it with its id."""
    with state.lock:
        pipeline: dict[str, Any] = {"id": state.new_id("p"), "application": application, "name": name,
                                    "stages": [], "triggers": [], "expectedArtifacts": [], **config}
        state.pipelines[pipeline["id"]] = pipeline
        return pipeline


def _config(state: GateState, application: str, name_or_id: str) -> dict[str, Any] | None:
    for pipeline in state.pipelines.values():
        if pipeline.get("application") == application and pipeline.get("name") == name_or_id:
            return pipeline
    found = state.pipelines.get(name_or_id)
    return found if found is not None and found.get("application") == application else None


def _can(call: Call, application: str, authorization: str) -> bool:
    user = call.state.users.get(call.user)
    return call.user == "anonymous" or (user is not None and user.can(application, authorization))


@ROUTER.route("GET", r"/applications/(?P<app>[^/]+)/pipelineConfigs/(?P<name>[^/]+)")
def get_pipeline_config(call: Call) -> Reply:
    application, name = unquote(call.match["app"]), unquote(call.match["name"])
    with call.state.lock:
        if not _can(call, application, "READ"):
            return error(403, f"Access denied to application {application}", call.path)
        config = _config(call.state, application, name)
        if config is None:
            return error(404, f"Pipeline configuration not found (nameOrId: {name} in application {application})",
                         call.path)
        return Reply(200, copy.deepcopy(config))


def _resolve_artifacts(config: dict[str, Any], trigger: dict[str, Any]) -> str | None:
    """orca ArtifactUtils.resolveArtifacts for the matchers the generator writes (type, name, version regex)."""
    ids = trigger.get("expectedArtifactIds") or []
    received = [a for a in trigger.get("artifacts") or [] if isinstance(a, dict)]
    resolved = []
    for expected in config.get("expectedArtifacts") or []:
        if expected.get("id") not in ids and not expected.get("useDefaultArtifact"):
            continue
        match = expected.get("matchArtifact") or {}
        bound = None
        for artifact in received:
            if all(
                not match.get(key) or re.fullmatch(str(match[key]), str(artifact.get(key, "")))
                for key in ("type", "name", "version", "reference")
            ):
                bound = artifact
                break
        if bound is None and expected.get("useDefaultArtifact"):
            bound = expected.get("defaultArtifact")
        if bound is None:
            return f"Unmatched expected artifact {expected.get('id')} could not be resolved."
        resolved.append({**expected, "boundArtifact": bound})
    trigger["artifacts"] = received
    trigger["expectedArtifacts"] = resolved
    trigger["resolvedExpectedArtifacts"] = copy.deepcopy(resolved)
    return None


@ROUTER.route("POST", r"/pipelines/(?P<app>[^/]+)/(?P<name>[^/]+)")
def trigger_pipeline(call: Call) -> Reply:
    application, name = unquote(call.match["app"]), unquote(call.match["name"])
    state = call.state
    trigger = copy.deepcopy(call.body) if isinstance(call.body, dict) else {}
    trigger["user"] = trigger.get("user") or call.user
    trigger.setdefault("notifications", [])
    trigger.setdefault("type", "manual")
    trigger.setdefault("parameters", {})
    with state.lock:
        config = _config(state, application, name)
        if config is None:
            return error(404, f"Unable to trigger pipeline (application: {application}, pipelineNameOrId: {name}). "
                              f"Error: Pipeline configuration not found (nameOrId: {name})", call.path)
        # Fiat: PipelineService.trigger reads the config from Front50 (getByApplicationAndName, PostAuthorize READ);
        # neither this endpoint nor orca's /orchestrate checks EXECUTE (only gate's /pipelines/v2 PreAuthorize does)
        if not _can(call, application, "READ"):
            return error(403, f"Access denied to application {application} - required authorization: READ",
                         call.path)
        for parameter in config.get("parameterConfig") or []:
            if parameter.get("required") and parameter.get("default") is None \
                    and trigger["parameters"].get(parameter["name"]) is None:
                return error(400, f"Required parameter {parameter['name']} is missing", call.path)
        correlation = trigger.get("correlationId")
        if correlation:
            for existing in state.executions.values():
                if existing["trigger"].get("correlationId") == correlation and existing["status"] not in FINAL:
                    return Reply(202, {"ref": f"/pipelines/{existing['id']}"})
        problem = _resolve_artifacts(config, trigger)
        if problem is not None:
            return error(400, problem, call.path)
        execution_id = state.new_id()
        now = state.now()
        stages = []
        for index, stage in enumerate(config.get("stages") or []):
            stages.append({"id": f"{execution_id}-{index}", "refId": stage.get("refId", str(index)),
                           "type": stage.get("type"), "name": stage.get("name", stage.get("type")),
                           "status": "NOT_STARTED", "startTime": None, "endTime": None,
                           "context": copy.deepcopy({k: v for k, v in stage.items()
                                                     if k not in ("refId", "type", "name", "requisiteStageRefIds")}),
                           "outputs": {}, "tasks": [],
                           "requisiteStageRefIds": stage.get("requisiteStageRefIds", [])})
        state.executions[execution_id] = {
            "id": execution_id, "type": "PIPELINE", "application": application, "name": config["name"],
            "pipelineConfigId": config["id"], "status": "RUNNING", "buildTime": now, "startTime": now,
            "endTime": None, "canceled": False, "limitConcurrent": config.get("limitConcurrent", True),
            "keepWaitingPipelines": False, "origin": "api", "trigger": trigger, "stages": stages,
            "authentication": {"user": call.user, "allowedAccounts": []},
            "notifications": config.get("notifications", []), "initialConfig": {}, "systemNotifications": [],
        }
        state.execution_plans.setdefault(execution_id, list(state.default_execution_plan))
    return Reply(202, {"ref": f"/pipelines/{execution_id}"})


def _bind_images(manifest: dict[str, Any], artifacts: list[dict[str, Any]], bound: list[dict[str, Any]]) -> None:
    """clouddriver's docker/image replacement: an image whose repository equals an artifact's name takes its
    reference (ArtifactReplacer, kubernetes ``Replacer.dockerImage``)."""
    if isinstance(manifest, dict):
        for key, value in manifest.items():
            if key == "image" and isinstance(value, str):
                repository = re.split(r"[@]|:(?=[^/]*$)", value, maxsplit=1)[0]
                for artifact in artifacts:
                    if artifact.get("type") == "docker/image" and artifact.get("name") == repository:
                        manifest[key] = artifact.get("reference")
                        if artifact not in bound:
                            bound.append(artifact)
            else:
                _bind_images(value, artifacts, bound)
    elif isinstance(manifest, list):
        for item in manifest:
            _bind_images(item, artifacts, bound)


def _finish_stages(execution: dict[str, Any], status: str, error_text: str | None) -> None:
    now = execution["endTime"]
    artifacts = execution["trigger"].get("artifacts") or []
    failed = False
    for stage in execution["stages"]:
        stage["startTime"] = stage["startTime"] or execution["startTime"]
        stage["endTime"] = now
        if failed:
            stage["status"] = "NOT_STARTED"
            continue
        if status != "SUCCEEDED" and stage is execution["stages"][-1]:
            stage["status"] = status
            stage["context"]["exception"] = {"details": {"error": "Exception in stage",
                                                         "errors": [error_text or "the stage failed"]}}
            failed = True
            continue
        stage["status"] = "SUCCEEDED"
        if stage["type"] == "deployManifest":
            context = stage["context"]
            account = context.get("account") or context.get("credentials")
            manifests = copy.deepcopy(context.get("manifests") or [])
            bound: list[dict[str, Any]] = []
            names: dict[str, list[str]] = {}
            for manifest in manifests:
                _bind_images(manifest, artifacts, bound)
                metadata = manifest.setdefault("metadata", {})
                namespace = context.get("namespaceOverride") or metadata.get("namespace") or "default"
                metadata["namespace"] = namespace
                kind = str(manifest.get("kind", "")).lower()
                names.setdefault(namespace, []).append(f"{kind} {metadata.get('name')}")
            context["deploy.account.name"] = account
            outputs = {"outputs.manifests": manifests, "outputs.manifestNamesByNamespace": names,
                       "outputs.boundArtifacts": bound, "outputs.createdArtifacts": [], "artifacts": []}
            context.update(outputs)
            stage["outputs"] = copy.deepcopy(outputs)


def advance(state: GateState, execution_id: str, status: str, error_text: str | None = None) -> None:
    """Move an execution to ``status`` (a final one completes its stages: deploy outputs, or the failed stage)."""
    with state.lock:
        execution = state.executions[execution_id]
        if execution["status"] in FINAL:
            return
        execution["status"] = status
        if status in FINAL:
            execution["endTime"] = state.now()
            _finish_stages(execution, status, error_text)


def _step(state: GateState, execution: dict[str, Any]) -> None:
    plan = state.execution_plans.get(execution["id"])
    if plan and execution["status"] not in FINAL:
        status = plan.pop(0)
        error_text = None
        if ":" in status:
            status, error_text = status.split(":", 1)
        advance(state, execution["id"], status, error_text)


@ROUTER.route("GET", r"/pipelines/(?P<id>[^/]+)")
def get_execution(call: Call) -> Reply:
    execution_id = unquote(call.match["id"])
    with call.state.lock:
        execution = call.state.executions.get(execution_id)
        if execution is None:
            return error(404, f"Pipeline not found (id: {execution_id})", call.path)
        if not _can(call, execution["application"], "READ"):
            return error(403, f"Access denied to application {execution['application']}", call.path)
        _step(call.state, execution)
        return Reply(200, copy.deepcopy(execution))


@ROUTER.route("GET", r"/executions")
def list_executions(call: Call) -> Reply:
    config_ids = [i for i in (call.param("pipelineConfigIds") or "").split(",") if i]
    if not config_ids:
        return Reply(200, [])
    limit = int(call.param("limit") or "1")
    statuses_text = call.param("statuses") or ""
    statuses = set(statuses_text.split(",")) if statuses_text else None
    found: list[dict[str, Any]] = []
    with call.state.lock:
        for config_id in config_ids:
            mine = [e for e in call.state.executions.values() if e["pipelineConfigId"] == config_id
                    and (statuses is None or e["status"] in statuses)]
            mine.sort(key=lambda e: e["id"], reverse=True)
            found.extend(mine[:limit])
        found = [e for e in found if _can(call, e["application"], "READ")]
        # startTimeOrId: start time ascending (nulls as 0), ties by id descending
        found.sort(key=lambda e: e["id"], reverse=True)
        found.sort(key=lambda e: e["startTime"] or 0)
        return Reply(200, copy.deepcopy(found))

"""Applications, tasks and pipeline configs as Gate (in front of Orca and Front50) answers them.

Mirrored from the Spinnaker monorepo:
- gate-web controllers/ApplicationController: ``GET /applications`` (the cached list of flat attribute maps,
  ApplicationService.getAllApplications, filtered by READ), ``GET /applications/{app}`` (``{name, attributes,
  clusters}``; 404 "Application not found (id: …)"), ``GET /applications/{app}/pipelineConfigs``.
- gate-web controllers/TaskController ``POST /tasks`` → ``{"ref": "/tasks/<id>"}``; ``GET /tasks/{id}``.
  ``createApplication``/``updateApplication`` jobs run as orca UpsertApplicationTask: Front50 create or update
  (ApplicationService.save merges, HasEmailValidator: "Application must have a non-empty email"); Front50 stores
  the name upper-cased (model/application/Application.getName).
- gate-web controllers/PipelineConfigController ``GET /pipelineConfigs`` → Front50 PipelineController.list, whose
  ``@PostFilter`` checks READ on ``filterObject.name`` — a pipeline's *name* — as an application (so a non-admin
  sees only pipelines named like an application it may read: this double does the same).
- gate PipelineController ``POST /pipelines`` (savePipeline task, 400 PipelineException with the task's first
  error) → orca SavePipelineTask (keeps the existing ``index``) → Front50 PipelineController.save:
  validatePipeline ("A pipeline requires name and application fields"), checkForDuplicatePipeline ("A pipeline
  with name X already exists in application Y" when another id holds the name, case-insensitively — a pipeline
  without id always collides), then stores it whole with ``id`` (a new UUID when none), ``updateTs``,
  ``lastModifiedBy`` and ``schema`` "1" (Pipeline.getSchema).
- gate PipelineController ``DELETE /pipelines/{app}/{name}``: finds the name case-insensitively; nothing to do → 200.
Fiat: READ to read an application's pipelines, WRITE to save or delete (Front50's @PreAuthorize); an admin may all.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any
from urllib.parse import unquote

from .routes import ROUTER, Call, Reply, error
from .state import GateState

TASK_POLLS_BEFORE_DONE = 1
"""A task answers RUNNING this many times before its final status (so clients really poll)."""


def _user_can(state: GateState, user: str, application: str, authorization: str) -> bool:
    account = state.users.get(user)
    if account is None:
        return user == "anonymous"
    return account.can(application.lower(), authorization)


def _is_admin(state: GateState, user: str) -> bool:
    account = state.users.get(user)
    return user == "anonymous" if account is None else account.admin


def _attributes(stored: dict[str, Any]) -> dict[str, Any]:
    return {key: copy.deepcopy(value) for key, value in stored.items() if value is not None}


# --- applications ---------------------------------------------------------------------------------------------

@ROUTER.route("GET", r"/applications")
def list_applications(call: Call) -> Reply:
    state = call.state
    with state.lock:
        source = state.application_cache if state.application_cache is not None else state.applications
        items = [_attributes(app) for key, app in sorted(source.items())
                 if _user_can(state, call.user, key, "READ")]
    return Reply(200, items)


@ROUTER.route("GET", r"/applications/(?P<app>[^/]+)")
def get_application(call: Call) -> Reply:
    name = unquote(call.match["app"]).lower()
    state = call.state
    with state.lock:
        stored = state.applications.get(name)
        if stored is None:
            return error(404, f"Application not found (id: {name})", call.path)
        if not _user_can(state, call.user, name, "READ"):
            return error(403, f"Access denied to application {name} - required authorization: READ", call.path)
        return Reply(200, {"name": name, "attributes": _attributes(stored), "clusters": {}})


@ROUTER.route("GET", r"/applications/(?P<app>[^/]+)/pipelineConfigs")
def application_pipelines(call: Call) -> Reply:
    application = unquote(call.match["app"])
    state = call.state
    with state.lock:
        if not _user_can(state, call.user, application, "READ"):
            return error(403, f"Access denied to application {application} - required authorization: READ",
                         call.path)
        found = [copy.deepcopy(p) for p in state.pipelines.values()
                 if str(p.get("application", "")).lower() == application.lower()]
    # Front50 sortPipelines: by index (set ones first), then name case-insensitively; copies get index 0..n
    found.sort(key=lambda p: (p.get("index") is None, p.get("index") or 0, str(p.get("name") or p["id"]).lower()))
    for index, pipeline in enumerate(found):
        pipeline["index"] = index
    return Reply(200, found)


# --- tasks ----------------------------------------------------------------------------------------------------

def _task(state: GateState, application: str, description: str, status: str, errors: list[str]) -> dict[str, Any]:
    task_id = state.new_id()
    task: dict[str, Any] = {
        "id": task_id, "application": application, "name": description, "status": status,
        "startTime": state.now(), "variables": [], "_polls_left": TASK_POLLS_BEFORE_DONE,
    }
    if errors:
        task["variables"].append({"key": "exception", "value": {"details": {"errors": errors}}})
    state.tasks[task_id] = task
    return task


def _upsert_application(state: GateState, user: str, application: Any) -> list[str]:
    if not isinstance(application, dict) or not str(application.get("name") or "").strip():
        return ["Invalid application name, errors: [name must not be empty]"]
    key = str(application["name"]).strip().lower()
    existing = state.applications.get(key)
    if existing is not None and not _user_can(state, user, key, "WRITE"):
        return [f"Access denied to application {key} - required authorization: WRITE"]
    merged: dict[str, Any] = dict(existing or {})
    for field, value in application.items():
        if value is not None:
            merged[field] = copy.deepcopy(value)
    if not str(merged.get("email") or "").strip():
        return ["Application must have a non-empty email"]
    now = str(state.now())
    merged["name"] = key.upper()
    merged.setdefault("createTs", now)
    merged["updateTs"] = now
    merged["lastModifiedBy"] = user
    state.applications[key] = merged
    return []


@ROUTER.route("POST", r"/tasks")
def create_task(call: Call) -> Reply:
    body = call.body
    if not isinstance(body, dict) or not isinstance(body.get("job"), list):
        return error(400, "A task needs a job list", call.path)
    state = call.state
    with state.lock:
        errors: list[str] = []
        for job in body["job"]:
            kind = job.get("type") if isinstance(job, dict) else None
            if kind in ("createApplication", "updateApplication"):
                errors += _upsert_application(state, call.user, job.get("application"))
            else:
                errors.append(f"no stage found for type {kind}")
        task = _task(state, str(body.get("application", "")), str(body.get("description", "")),
                     "TERMINAL" if errors else "SUCCEEDED", errors)
    return Reply(200, {"ref": f"/tasks/{task['id']}"})


@ROUTER.route("GET", r"/tasks/(?P<id>[^/]+)")
def get_task(call: Call) -> Reply:
    state = call.state
    with state.lock:
        task = state.tasks.get(call.match["id"])
        if task is None:
            return error(404, f"Task not found (id: {call.match['id']})", call.path)
        view = {key: copy.deepcopy(value) for key, value in task.items() if not key.startswith("_")}
        if task["_polls_left"] > 0:
            task["_polls_left"] -= 1
            view["status"] = "RUNNING"
    return Reply(200, view)


# --- pipeline configs -----------------------------------------------------------------------------------------

@ROUTER.route("GET", r"/pipelineConfigs")
def all_pipelines(call: Call) -> Reply:
    state = call.state
    with state.lock:
        admin = _is_admin(state, call.user)
        found = [copy.deepcopy(p) for p in state.pipelines.values()
                 if admin or _user_can(state, call.user, str(p.get("name", "")), "READ")]
    return Reply(200, found)


def _pipeline_failure(call: Call, message: str) -> Reply:
    """Gate's PipelineException (400) carrying the savePipeline/deletePipeline task's first error."""
    return error(400, message, call.path)


@ROUTER.route("POST", r"/pipelines")
def save_pipeline(call: Call) -> Reply:
    pipeline = call.body
    if not isinstance(pipeline, dict):
        return error(400, "Required request body is missing", call.path)
    state = call.state
    with state.lock:
        application = str(pipeline.get("application") or "").strip()
        name = str(pipeline.get("name") or "").strip()
        if not application or not name:
            return _pipeline_failure(call, "A pipeline requires name and application fields")
        if not _user_can(state, call.user, application, "WRITE"):
            return _pipeline_failure(call, f"Access denied to application {application} - required authorization: "
                                           f"WRITE")
        pipeline_id = pipeline.get("id") or None
        for other in state.pipelines.values():
            if (str(other.get("application", "")).lower() == application.lower()
                    and str(other.get("name", "")).lower() == name.lower() and other["id"] != pipeline_id):
                return _pipeline_failure(call, f"A pipeline with name {name} already exists in application "
                                               f"{application}")
        stored = copy.deepcopy(pipeline)
        stored["name"] = name
        existing = state.pipelines.get(pipeline_id) if pipeline_id else None
        if "index" not in stored and existing is not None and existing.get("index") is not None:
            stored["index"] = existing["index"]
        stored["id"] = pipeline_id or str(uuid.uuid4())
        stored["updateTs"] = str(state.now())
        stored["lastModifiedBy"] = call.user
        stored.setdefault("schema", "1")
        state.pipelines[stored["id"]] = stored
    return Reply(200, None)


@ROUTER.route("DELETE", r"/pipelines/(?P<app>[^/]+)/(?P<name>.+)")
def delete_pipeline(call: Call) -> Reply:
    application = unquote(call.match["app"])
    name = unquote(call.match["name"])
    state = call.state
    with state.lock:
        if not _user_can(state, call.user, application, "WRITE"):
            return error(403, f"Access denied to application {application} - required authorization: WRITE",
                         call.path)
        for pipeline_id, pipeline in list(state.pipelines.items()):
            if (str(pipeline.get("application", "")).lower() == application.lower()
                    and str(pipeline.get("name", "")).strip().lower() == name.strip().lower()):
                del state.pipelines[pipeline_id]
                break
    return Reply(200, None)

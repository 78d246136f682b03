"""Spinnaker's side of plan/apply: applications and pipelines through Gate, from the rendered documents.

Desired state is exactly what `shiplane render` writes (`spinnaker/<app>/application.json`, every pipeline JSON)
plus two marks on every pipeline shiplane saves:

* `locked` — Deck's pipeline lock (deck core domain/IPipeline.ts IPipelineLock `{ui, allowUnlockUi, description}`;
  PipelineConfigPage shows the description and no Save button, PipelineConfigActions hides Rename/Delete/Edit).
  `allowUnlockUi: true` lets an operator unlock for an emergency edit; `plan` then shows the edit as drift.
* `shiplane` — `{"managedBy": "<config repo uri> <config path>"}`: which fleet config owns the pipeline. Deck's
  unlock deletes only `locked` (PipelineConfigPage), Front50 keeps unknown keys, so this mark survives edits.
  Only pipelines with this fleet's mark are ever updated without `--adopt` or deleted by `--prune`.

Reading is sized for fleets: `GET /applications` and `GET /pipelineConfigs` (two requests for every app), then one
request per application only where those two cannot answer: an app missing from Gate's application cache (created
seconds ago) or with attributes that differ is confirmed with `GET /applications/{app}`; an app with no pipeline in
the fleet-wide listing (Front50 filters that listing by pipeline *name* for non-admins) is listed on its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from spinnaker_gate import Gate, GateError
from spinnaker_gate.applications import get_application, list_applications, save_application
from spinnaker_gate.pipeline_configs import (
    SERVER_DEFAULTS,
    SERVER_FIELDS,
    delete_pipeline,
    list_all_pipeline_configs,
    list_pipeline_configs,
    save_pipeline,
)

from shiplane.documents import Document
from shiplane.model import Fleet
from shiplane.reconcile.changes import Change, Skipped
from shiplane.reconcile.diff import PathChange, json_paths
from shiplane.spinnaker.manifestartifact import EMBEDDED_TYPE, ManifestArtifactError, decode

MARK = "shiplane"
MARK_FIELD = "managedBy"


def fleet_id(fleet: Fleet) -> str:
    """The owner mark of this fleet config: its repository and path (stable wherever shiplane runs)."""
    repo = fleet.concourse.config_repo
    return f"{repo.uri} {repo.path}"


def managed(content: dict[str, Any], owner: str) -> dict[str, Any]:
    """A rendered pipeline as shiplane saves it: locked in Deck, marked with its owner."""
    return {
        **content,
        "locked": {
            "ui": True,
            "allowUnlockUi": True,
            "description": f"Managed by shiplane from the fleet config {owner}: change the config there. Edits "
                           f"made here are undone by the next shiplane apply.",
        },
        MARK: {MARK_FIELD: owner},
    }


def owner_of(pipeline: dict[str, Any]) -> str | None:
    mark = pipeline.get(MARK)
    value = mark.get(MARK_FIELD) if isinstance(mark, dict) else None
    return value if isinstance(value, str) else None


def comparable(stored: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    """A stored pipeline without what Front50 adds (id, index, timestamps, its default schema)."""
    result = {key: value for key, value in stored.items() if key not in SERVER_FIELDS}
    for key, default in SERVER_DEFAULTS.items():
        if key not in desired and result.get(key) == default:
            result.pop(key)
    return result


def same(left: Any, right: Any) -> bool:
    """Equal as JSON documents (true is not 1, 1 is not 1.0): canonical orjson bytes, fast for big pipelines."""
    try:
        return bool(orjson.dumps(left, option=orjson.OPT_SORT_KEYS) == orjson.dumps(right, option=orjson.OPT_SORT_KEYS))
    except TypeError:  # orjson.JSONEncodeError: something JSON cannot hold; let the path diff decide
        return False


@dataclass
class Desired:
    """Applications by lower-case name; pipelines by (application, name), both lower-case."""

    owner: str
    applications: dict[str, dict[str, Any]] = field(default_factory=dict)
    pipelines: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    apps: set[str] = field(default_factory=set)
    """The apps in scope (all of the config, or the one of --only)."""
    only: str | None = None
    """With --only: pruning looks at this app alone (else at every app, removed ones included)."""


def desired_state(fleet: Fleet, documents: Iterable[Document], apps: Iterable[str], only: str | None = None
                  ) -> Desired:
    owner = fleet_id(fleet)
    desired = Desired(owner, apps={app.lower() for app in apps}, only=only.lower() if only else None)
    for document in documents:
        content = document.content
        if document.kind == "spinnaker-application":
            desired.applications[str(content["name"]).lower()] = dict(content)
        elif document.kind == "spinnaker-pipeline":
            key = (str(content["application"]).lower(), str(content["name"]).lower())
            desired.pipelines[key] = managed(content, owner)
    return desired


def readable(value: Any) -> Any:
    """`value` with every embedded/base64 manifest artifact's `reference` decoded to its manifests, so a plan shows
    `...reference[0].spec.replicas: 1 -> 2` instead of two base64 strings (issue 13's manifest artifacts,
    shiplane.spinnaker.manifestartifact). For display only: apply saves the pipeline as rendered."""
    if isinstance(value, dict):
        decoded = {key: readable(item) for key, item in value.items()}
        if value.get("type") == EMBEDDED_TYPE and isinstance(value.get("reference"), str):
            with contextlib.suppress(ManifestArtifactError):  # undecodable: shown as it is
                decoded["reference"] = decode(value["reference"])
        return decoded
    if isinstance(value, list):
        return [readable(item) for item in value]
    return value


def _application_differs(want: dict[str, Any], have: dict[str, Any]) -> list[PathChange]:
    wanted = {key: value for key, value in want.items() if key != "name"}
    present = {key: have.get(key) for key in wanted if key in have}
    return json_paths(present, wanted)


def plan(gate: Gate, desired: Desired, *, prune: bool, adopt: bool) -> tuple[list[Change], list[Skipped]]:
    """The changes that make Spinnaker match `desired`; unmanaged look-alikes are skipped, not touched."""
    changes: list[Change] = []
    skipped: list[Skipped] = []
    listed = {str(app.get("name", "")).lower(): app for app in list_applications(gate)}
    by_app: dict[str, list[dict[str, Any]]] = {}
    for pipeline in list_all_pipeline_configs(gate):
        by_app.setdefault(str(pipeline.get("application", "")).lower(), []).append(pipeline)

    existing_apps: set[str] = set()
    for name, want in sorted(desired.applications.items()):
        have = listed.get(name)
        if have is None or _application_differs(want, have):
            have = get_application(gate, name)  # the cache may be stale: ask for this one
        if have is None:
            changes.append(Change("spinnaker", "application", "create", name, payload=want))
            continue
        existing_apps.add(name)
        paths = _application_differs(want, have)
        if paths:
            changes.append(Change("spinnaker", "application", "update", name, tuple(paths), payload=want))

    wanted_by_app: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for (pipeline_app, name), want in sorted(desired.pipelines.items()):
        wanted_by_app.setdefault(pipeline_app, []).append((name, want))
    for app in sorted(desired.apps):
        stored = by_app.get(app, [])
        if app in existing_apps and not stored:
            stored = list_pipeline_configs(gate, app)
            by_app[app] = stored
        by_name = {str(p.get("name", "")).strip().lower(): p for p in stored}
        for name, want in wanted_by_app.get(app, []):
            label = f"{want['application']}/{want['name']}"
            have = by_name.get(name)
            if have is None:
                changes.append(Change("spinnaker", "pipeline", "create", label, payload={"pipeline": want}))
                continue
            owner = owner_of(have)
            if owner != desired.owner and not (adopt and owner is None):
                reason = (f"managed by another fleet config ({owner})" if owner
                          else "exists in Spinnaker but shiplane did not create it; rename it, or run with --adopt "
                               "to let shiplane manage it")
                skipped.append(Skipped("spinnaker", "pipeline", label, reason))
                continue
            current = comparable(have, want)
            paths = [] if same(current, want) else json_paths(readable(current), readable(want))
            if paths:
                note = "adopted: not yet managed by shiplane" if owner is None else (
                    f"drift: last saved by {have.get('lastModifiedBy')}" if have.get("lastModifiedBy") else "")
                changes.append(Change("spinnaker", "pipeline", "update", label, tuple(paths), note,
                                      payload={"pipeline": want, "id": have.get("id")}))

    # pipelines this fleet manages that the config no longer has (also of apps removed from the config)
    candidates: list[dict[str, Any]] = []
    for app, stored in sorted(by_app.items()):
        if desired.only is not None and app != desired.only:
            continue
        candidates += [p for p in stored if owner_of(p) == desired.owner]
    for pipeline in candidates:
        key = (str(pipeline.get("application", "")).lower(), str(pipeline.get("name", "")).strip().lower())
        if key in desired.pipelines:
            continue
        label = f"{pipeline.get('application')}/{pipeline.get('name')}"
        if prune:
            changes.append(Change("spinnaker", "pipeline", "delete", label, note="no longer in the fleet config",
                                  payload={"application": pipeline.get("application"), "name": pipeline.get("name")}))
        else:
            skipped.append(Skipped("spinnaker", "pipeline", label,
                                   "managed by this fleet config but no longer in it; apply --prune deletes it"))
    return changes, skipped


def apply(gate: Gate, change: Change, **task_options: Any) -> str:
    """Carry out one Spinnaker change; a short past-tense line of what was done. `task_options` go to the Orca
    task wait (spinnaker_gate.orca_tasks.wait_for_task)."""
    payload = change.payload
    if change.kind == "application":
        save_application(gate, payload, **task_options)
        return f"{change.action}d"
    if change.action == "delete":
        delete_pipeline(gate, str(payload["application"]), str(payload["name"]))
        return "deleted"
    pipeline = payload["pipeline"]
    if change.action == "update":
        save_pipeline(gate, pipeline, payload.get("id"))
        return "updated"
    try:
        save_pipeline(gate, pipeline, None)
    except GateError as problem:
        # A create whose answer was lost (a proxy's 504 after Gate's task finished) is retried by the transport and
        # then meets Front50's duplicate-name check: if the pipeline now there is ours, save over it by id.
        if problem.status != 400 or "already exists" not in str(problem):
            raise
        name = str(pipeline["name"]).strip().lower()
        found = next((p for p in list_pipeline_configs(gate, str(pipeline["application"]))
                      if str(p.get("name", "")).strip().lower() == name), None)
        if found is None or owner_of(found) != owner_of(pipeline):
            raise
        save_pipeline(gate, pipeline, str(found["id"]))
        return "created (its first answer was lost; saved again by id)"
    return "created"

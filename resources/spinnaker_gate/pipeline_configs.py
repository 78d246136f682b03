"""Spinnaker pipeline configurations through Gate: list, save (keeping the id), delete.

* ``GET /pipelineConfigs`` (gate-web PipelineConfigController.getAllPipelineConfigs → Front50 ``GET /pipelines``,
  filtered to the applications the caller may READ): every pipeline config, one request for the whole fleet.
* ``GET /applications/{app}/pipelineConfigs`` (ApplicationController.getPipelineConfigsForApplication): one app's.
* ``POST /pipelines`` (gate PipelineController.savePipeline): Gate runs a ``savePipeline`` Orca task and waits for
  it (TaskService.createAndWaitForCompletion); a failed task answers 400 (PipelineException) with the task's first
  error. Front50 (front50-web PipelineController.save → checkForDuplicatePipeline) rejects a pipeline whose name
  already exists in the application under another id — which is what a raw POST without ``id`` gets on the second
  import. So, like ``spin pipeline save`` (spin/cmd/pipeline/save.go), a pipeline that exists is saved with its
  existing ``id``: :func:`save_pipeline` takes it from the caller (who read it from the listing). Orca's
  SavePipelineTask keeps the existing ``index`` when the pipeline has none.
* ``DELETE /pipelines/{app}/{name}`` (PipelineController.deletePipeline): a ``deletePipeline`` task for the
  pipeline whose name matches case-insensitively; 200 and nothing done when there is none.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from spinnaker_gate.client import Gate

SERVER_FIELDS = frozenset({"id", "index", "updateTs", "createTs", "lastModified", "lastModifiedBy"})
"""Fields Front50 adds or maintains on a stored pipeline (front50-api model/pipeline/Pipeline.java)."""
SERVER_DEFAULTS: dict[str, Any] = {"schema": "1"}
"""Fields Front50 writes with a default when the pipeline has none (Pipeline.getSchema: "1")."""


def list_all_pipeline_configs(gate: Gate) -> list[dict[str, Any]]:
    """Every pipeline config the caller may read (all applications), in one request."""
    response = gate.request("GET", "/pipelineConfigs")
    if response.status != 200:
        raise gate.fail(response, "listing Spinnaker pipeline configs")
    body = Gate.json(response)
    return [item for item in body if isinstance(item, dict)] if isinstance(body, list) else []


def list_pipeline_configs(gate: Gate, application: str) -> list[dict[str, Any]]:
    """The pipeline configs of one application."""
    response = gate.request("GET", f"/applications/{quote(application, safe='')}/pipelineConfigs")
    if response.status != 200:
        raise gate.fail(response, f"listing the pipelines of Spinnaker application {application}")
    body = Gate.json(response)
    return [item for item in body if isinstance(item, dict)] if isinstance(body, list) else []


def save_pipeline(gate: Gate, pipeline: dict[str, Any], pipeline_id: str | None = None) -> None:
    """Save ``pipeline`` (a new one when ``pipeline_id`` is None, else the one with that id, replaced whole).

    Raises GateError with Front50's/Orca's message (e.g. "A pipeline with name deploy-dev already exists in
    application petclinic") when the save task fails.
    """
    body = dict(pipeline)
    if pipeline_id is not None:
        body["id"] = pipeline_id
    else:
        body.pop("id", None)
    response = gate.request("POST", "/pipelines", body=body)
    if response.status != 200:
        raise gate.fail(response, f"saving pipeline {body.get('name')} of application {body.get('application')}")


def delete_pipeline(gate: Gate, application: str, name: str) -> None:
    """Delete the pipeline ``name`` of ``application``."""
    path = f"/pipelines/{quote(application, safe='')}/{quote(name, safe='')}"
    response = gate.request("DELETE", path)
    if response.status not in (200, 204):
        raise gate.fail(response, f"deleting pipeline {name} of application {application}")

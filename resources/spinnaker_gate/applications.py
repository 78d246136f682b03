"""Spinnaker applications through Gate: read them and upsert one with an Orca task, as ``spin application save``.

* ``GET /applications`` (gate-web ApplicationController.getAllApplications): every application the caller may READ,
  as flat Front50 attribute maps, served from Gate's application cache (ApplicationService.refreshApplicationsCache,
  refreshed every ``services.front50.applicationRefreshIntervalMs``, 5 s by default) — so an application created a
  moment ago may be missing, and :func:`get_application` is the authority for one name.
* ``GET /applications/{name}?expand=false`` (ApplicationController.getApplication): ``{"name", "attributes",
  "clusters"}``, 404 (kork NotFoundException "Application not found") when there is none. Front50 upper-cases the
  stored name (front50 model/application/Application.getName), so ``attributes.name`` is upper case.
* ``POST /tasks`` with a ``createApplication`` job (spin/cmd/application/save.go), which Orca runs as
  UpsertApplicationTask (orca-applications tasks/UpsertApplicationTask.groovy): Front50 ``create`` when the
  application does not exist, else ``update`` (Front50 ApplicationService.save merges: fields left out keep their
  value).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from spinnaker_gate.client import Gate
from spinnaker_gate.orca_tasks import run_task


def list_applications(gate: Gate) -> list[dict[str, Any]]:
    """Every application the caller may read: Front50 attribute maps (``name`` upper or lower case)."""
    response = gate.request("GET", "/applications")
    if response.status != 200:
        raise gate.fail(response, "listing Spinnaker applications")
    body = Gate.json(response)
    return [item for item in body if isinstance(item, dict)] if isinstance(body, list) else []


def get_application(gate: Gate, name: str) -> dict[str, Any] | None:
    """The application's Front50 attributes, or None when Spinnaker has no such application."""
    response = gate.request("GET", f"/applications/{quote(name, safe='')}", query=[("expand", "false")])
    if response.status == 404:
        return None
    if response.status != 200:
        raise gate.fail(response, f"reading Spinnaker application {name}")
    body = Gate.json(response)
    attributes = body.get("attributes") if isinstance(body, dict) else None
    return dict(attributes) if isinstance(attributes, dict) else {}


def save_application(gate: Gate, application: dict[str, Any], **wait_options: Any) -> dict[str, Any]:
    """Create or update ``application`` (``name``, ``email``, ``cloudProviders``, ...) and wait for the task.

    Raises GateError naming the application and the task's error when Spinnaker refuses it (e.g. Front50's
    validation of the owner e-mail).
    """
    name = str(application["name"])
    task = {
        "application": name,
        "description": f"Create Application: {name}",
        "job": [{"type": "createApplication", "application": application}],
    }
    return run_task(gate, task, f"saving Spinnaker application {name}", **wait_options)

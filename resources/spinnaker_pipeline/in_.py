"""in (get): the execution's files and metadata.

Files in DEST: ``execution.json`` (the execution, secret-looking values and the resource's own secrets removed),
``status`` (e.g. ``SUCCEEDED``), ``id``, ``trigger.json`` (the trigger: user, parameters, artifacts) and
``deployed.json`` (:func:`spinnaker_pipeline.report.deployed`: per deploy stage the account, namespaces → manifest
names, images with digests as clouddriver applied them).
"""

from __future__ import annotations

import json
import os
from typing import Any

from harbor_image.errors import ResourceError
from harbor_image.log import Log
from harbor_image.wire import plain, shown
from spinnaker_gate import Gate
from spinnaker_gate.executions import get_execution

from spinnaker_pipeline import report
from spinnaker_pipeline.wire import Source, Version


def write_files(dest: str, execution: dict[str, Any], log: Log) -> None:
    clean = report.strip_secrets(execution)
    files = {
        "execution.json": clean,
        "trigger.json": clean.get("trigger") or {},
        "deployed.json": report.deployed(clean),
    }
    os.makedirs(dest, exist_ok=True)
    for name, document in files.items():
        text = log.redact(json.dumps(document, indent=2, sort_keys=True)) + "\n"
        with open(os.path.join(dest, name), "w", encoding="utf-8") as handle:
            handle.write(text)
    for name, value in (("status", execution.get("status")), ("id", execution.get("id"))):
        with open(os.path.join(dest, name), "w", encoding="utf-8") as handle:
            handle.write(f"{value}\n")


def result(source: Source, execution: dict[str, Any]) -> dict[str, Any]:
    version = Version(str(execution["id"]), report.iso(execution.get("startTime")))
    return {"version": version.to_json(), "metadata": report.metadata(source, execution)}


def run(source: Source, version: Version, dest: str, log: Log, gate: Gate) -> dict[str, Any]:
    execution = get_execution(gate, version.id)
    if execution.get("application") not in (None, source.application):
        raise ResourceError(
            f"version.id: execution {version.id} belongs to application {shown(execution.get('application'))}, "
            f"not source.application {shown(source.application)}"
        )
    write_files(dest, execution, log)
    log.info(f"execution {version.id}: {plain(str(execution.get('status')), 60)}")
    out = result(source, execution)
    out["version"] = version.to_json()  # Concourse expects the version it asked for
    return out

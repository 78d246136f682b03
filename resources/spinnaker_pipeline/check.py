"""check: the pipeline's executions with one of ``source.statuses`` (default: final ones) as versions, oldest first.

One pipeline-config read and one bounded listing (``GET /executions`` with ``limit`` = :data:`CHECK_LIMIT`, see
``spinnaker_gate.executions``). Without a version: the newest execution only (Concourse's first check). With one:
that execution and every newer one; when it is no longer among the newest, the executions started at or after its
``start_time``.
"""

from __future__ import annotations

from typing import Any

from harbor_image.log import Log
from spinnaker_gate import Gate
from spinnaker_gate.executions import list_executions, pipeline_config

from spinnaker_pipeline.report import iso
from spinnaker_pipeline.wire import CheckRequest, Version

CHECK_LIMIT = 50


def as_version(execution: dict[str, Any]) -> Version:
    return Version(str(execution["id"]), iso(execution.get("startTime")))


def run(request: CheckRequest, log: Log, gate: Gate) -> list[dict[str, str]]:
    source = request.source
    config = pipeline_config(gate, source.application, source.pipeline)
    executions = list_executions(gate, str(config["id"]), CHECK_LIMIT, source.statuses)
    versions = [as_version(e) for e in executions]
    log.debug(f"check: {len(versions)} execution(s) with status {','.join(source.statuses)}")
    if not versions:
        return []
    current = request.version
    if current is None:
        return [versions[-1].to_json()]
    ids = [v.id for v in versions]
    if current.id in ids:
        return [v.to_json() for v in versions[ids.index(current.id):]]
    if current.start_time:
        newer = [v for v in versions if v.start_time and v.start_time >= current.start_time]
        if newer:
            return [v.to_json() for v in newer]
    return [versions[-1].to_json()]

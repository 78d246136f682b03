"""What an execution tells a Concourse build: metadata, what was deployed where, why it failed, a cleaned copy.

Shapes follow orca's PipelineExecution JSON (``id``, ``status``, ``startTime``/``endTime`` in epoch milliseconds,
``trigger``, ``stages[]`` with ``context`` and ``outputs``). A ``deployManifest`` stage's outputs are clouddriver's
OperationResult as orca's PromoteManifestKatoOutputsTask promotes them: ``outputs.manifests`` (the manifests as
applied, images already replaced by bound artifacts), ``outputs.manifestNamesByNamespace`` (namespace → ["kind
name"], KubernetesManifest.getFullResourceName) and ``outputs.boundArtifacts``; the account is the context's
``deploy.account.name`` (orca DeployManifestTask), else ``account``/``credentials``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from shiplane_http import Redactor

from spinnaker_pipeline.wire import Source

REDACTED = "***"
# keys whose values are never written out, wherever they appear in an execution
SENSITIVE_KEY = re.compile(r"(?i)(password|passwd|secret|token|credential(?!s$)|private.?key|authorization|api.?key)")
K8S_SECRET_FIELDS = ("data", "stringData")
FAILED_STATUSES = ("TERMINAL", "STOPPED", "CANCELED", "FAILED_CONTINUE")


def strip_secrets(value: Any) -> Any:
    """A copy with the values of secret-looking keys replaced by ``***`` (the resource's own secrets are also
    redacted from the written text by the log's redaction)."""
    if isinstance(value, dict):
        # a Kubernetes Secret manifest (a deployManifest stage's context and outputs hold the manifests it applied):
        # its values sit under data/stringData, keys no name pattern catches
        k8s_secret = value.get("kind") == "Secret" and isinstance(value.get("apiVersion"), str)
        return {
            key: (REDACTED if isinstance(key, str) and item not in (None, "", [], {}) and (
                SENSITIVE_KEY.search(key) or (k8s_secret and key in K8S_SECRET_FIELDS))
                  else strip_secrets(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [strip_secrets(item) for item in value]
    return value


def _obj(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def iso(milliseconds: object) -> str | None:
    """Epoch milliseconds as ISO 8601 UTC (``2026-11-30T21:00:00Z``), None when absent."""
    if not isinstance(milliseconds, int | float) or isinstance(milliseconds, bool) or milliseconds <= 0:
        return None
    return datetime.fromtimestamp(milliseconds / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def deck_link(source: Source, execution_id: str) -> str | None:
    """Deck's execution page (echo's notification agents: ``#/applications/{app}/executions/details/{id}``)."""
    if not source.deck_url:
        return None
    return f"{source.deck_url}/#/applications/{quote(source.application, safe='')}/executions/details/{execution_id}"


def metadata(source: Source, execution: dict[str, Any]) -> list[dict[str, str]]:
    start, end = execution.get("startTime"), execution.get("endTime")
    fields: list[tuple[str, str | None]] = [
        ("status", str(execution.get("status"))),
        ("pipeline", str(execution.get("name") or source.pipeline)),
        ("start", iso(start)),
        ("end", iso(end)),
    ]
    if isinstance(start, int) and isinstance(end, int) and end >= start:
        fields.append(("duration", f"{(end - start) / 1000:.0f}s"))
    trigger = _obj(execution.get("trigger"))
    fields.append(("triggered_by", str(trigger.get("user")) if trigger.get("user") else None))
    for item in deployed(execution):
        for image in item["images"]:
            fields.append((f"deployed ({item['account']})", image["reference"]))
    failure = failure_text(execution)
    if failure:
        fields.append(("failure", failure))
    fields.append(("url", deck_link(source, str(execution.get("id")))))
    return [{"name": name, "value": value} for name, value in fields if value]


def _images(value: Any, found: list[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("containers", "initContainers") and isinstance(item, list):
                found.extend(str(c["image"]) for c in item if isinstance(c, dict) and isinstance(c.get("image"), str))
            else:
                _images(item, found)
    elif isinstance(value, list):
        for item in value:
            _images(item, found)


def _digest(reference: str) -> str | None:
    return reference.rsplit("@", 1)[1] if "@" in reference else None


def deployed(execution: dict[str, Any]) -> list[dict[str, Any]]:
    """For each finished ``deployManifest`` stage: stage, account, namespaces → manifest names, images with digest.

    ``images`` are the container images of the applied manifests as clouddriver reports them; ``artifacts`` the
    docker/image artifacts it bound (``name``, ``reference``, ``version``, ``digest`` when pinned).
    """
    result = []
    for stage in execution.get("stages") or []:
        if not isinstance(stage, dict) or stage.get("type") != "deployManifest":
            continue
        context, outputs = _obj(stage.get("context")), _obj(stage.get("outputs"))

        def output(key: str, outputs: dict[str, Any] = outputs, context: dict[str, Any] = context) -> Any:
            return outputs.get(key, context.get(key))

        manifests = output("outputs.manifests")
        if not isinstance(manifests, list):
            continue
        names = output("outputs.manifestNamesByNamespace")
        images: list[str] = []
        _images(manifests, images)
        bound = output("outputs.boundArtifacts")
        artifacts = [
            {"name": a.get("name"), "reference": a.get("reference"), "version": a.get("version"),
             "digest": _digest(str(a.get("reference") or ""))}
            for a in (bound if isinstance(bound, list) else [])
            if isinstance(a, dict) and a.get("type") == "docker/image"
        ]
        result.append({
            "stage": stage.get("name"),
            "ref_id": stage.get("refId"),
            "status": stage.get("status"),
            "account": context.get("deploy.account.name") or context.get("account") or context.get("credentials"),
            "manifests_by_namespace": {str(k): sorted(map(str, v)) for k, v in names.items()}
            if isinstance(names, dict) else {},
            "images": [{"reference": image, "digest": _digest(image)} for image in dict.fromkeys(images)],
            "artifacts": artifacts,
        })
    return result


def _stage_error(stage: dict[str, Any]) -> str | None:
    context = _obj(stage.get("context"))
    exception = context.get("exception")
    if isinstance(exception, dict):
        details = _obj(exception.get("details"))
        errors = details.get("errors")
        if isinstance(errors, list) and errors:
            return "; ".join(str(e) for e in errors)
        for key in ("error", "message"):
            if details.get(key):
                return str(details[key])
    for task in context.get("kato.tasks") or []:
        message = _obj(_obj(task).get("exception")).get("message")
        if message:
            return str(message)
    return None


def failure_text(execution: dict[str, Any], redactor: Redactor | None = None) -> str | None:
    """The first failed stage and its error, on one line; None when no stage failed.

    With ``redactor`` the whole text is redacted before it is collapsed and cut (:meth:`Redactor.one_line`)."""
    for stage in execution.get("stages") or []:
        if isinstance(stage, dict) and stage.get("status") in FAILED_STATUSES:
            detail = _stage_error(stage) or "no error recorded"
            text = f"stage {stage.get('name')!r} ({stage.get('type')}) {stage.get('status')}: {detail}"
            return (redactor or Redactor()).one_line(text, 600)
    return None

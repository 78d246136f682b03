"""out (put): trigger the pipeline with a docker/image artifact pinned by digest; optionally wait for the result.

1. The image: ``params.image_dir`` (a ``harbor-image`` get/put directory: files ``repository``, ``digest``,
   ``tag``), each value overridable by ``params.repository``/``digest``/``tag``; ``params.registry`` prefixes a
   repository that has no registry host (harbor-image writes ``project/name``).
2. The artifact (kork ``Artifact``): ``type: docker/image``, ``name`` = ``host/project/name`` (what a manifest's
   image field and the pipeline's expected artifact match), ``reference`` = ``name@sha256:…``, ``version`` = tag.
3. The trigger: the artifact, ``parameters`` (``$BUILD_ID``-style build metadata expanded), the ids of the
   pipeline's expected docker/image artifacts of that name (orca binds only listed ids), and a ``correlationId``
   per build and digest (:func:`correlation_id`), looked up before the first post and after any lost answer —
   see ``spinnaker_gate.executions.trigger_pipeline``: a retried put starts one execution at most.
4. With ``wait``: read the execution every ``poll_interval`` until it is final or ``timeout`` passes; anything but
   ``SUCCEEDED`` fails the put with the failed stage and its error. The version is the execution id either way.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from harbor_image.errors import ResourceError
from harbor_image.log import Log
from harbor_image.tagregex import BUDGET, BoundedRegex
from harbor_image.wire import DIGEST_RE, REPOSITORY_RE, TAG_RE, plain, shown
from spinnaker_gate import Gate
from spinnaker_gate.executions import FINAL_STATUSES, get_execution, pipeline_config, trigger_pipeline

from spinnaker_pipeline import report
from spinnaker_pipeline.in_ import result
from spinnaker_pipeline.wire import OutRequest, PutParams

_BUILD_VAR = re.compile(r"\$(\{)?(BUILD_[A-Z_]+|ATC_EXTERNAL_URL)(?(1)\})")
_HOST = re.compile(r"[A-Za-z0-9.-]+(:[0-9]+)?")


def _read(src: str, params: PutParams, key: str) -> str | None:
    value: str | None = getattr(params, key)
    if value is not None or params.image_dir is None:
        return value
    path = os.path.join(src, params.image_dir, key)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read().strip()
    except FileNotFoundError:
        return None
    except OSError as problem:
        raise ResourceError(f"params.image_dir: cannot read {key} ({problem.strerror})") from None
    return text or None


def image_artifact(src: str, params: PutParams) -> dict[str, Any]:
    """The docker/image artifact; ResourceError naming the parameter when a value is missing or malformed."""
    if params.image_dir is not None and not os.path.isdir(os.path.join(src, params.image_dir)):
        raise ResourceError(
            f"params.image_dir: {shown(params.image_dir)} is not a directory in the build; "
            "give the harbor-image step's name"
        )
    repository, digest, tag = (_read(src, params, key) for key in ("repository", "digest", "tag"))
    origin = "params.image_dir" if params.image_dir else "params"
    if repository is None:
        raise ResourceError("params.repository: required (or params.image_dir with a repository file); "
                            "the image name, e.g. harbor.example.com/team/app")
    if digest is None:
        raise ResourceError(f"params.digest: required (or params.image_dir with a digest file; {origin} has none)")
    if not DIGEST_RE.fullmatch(digest):
        raise ResourceError(f"params.digest: {shown(digest)} is not a digest like sha256:<64 hex>")
    if tag is not None and not TAG_RE.fullmatch(tag):
        raise ResourceError(f"params.tag: {shown(tag)} is not a valid tag")
    first = repository.split("/", 1)[0]
    has_host = "/" in repository and ("." in first or ":" in first or first == "localhost")
    if params.registry is not None:
        if has_host:
            raise ResourceError(f"params.registry: the repository {shown(repository)} already names a registry host; "
                                "remove params.registry")
        if not _HOST.fullmatch(params.registry):
            raise ResourceError(
                f"params.registry: {shown(params.registry)} is not a registry host like harbor.example.com"
            )
        repository = f"{params.registry.lower()}/{repository}"
    elif not has_host:
        raise ResourceError(
            f"params.registry: required, the repository {shown(repository)} has no registry host; give the host the "
            "cluster pulls from (e.g. harbor.example.com)"
        )
    host, path = repository.split("/", 1)
    if not REPOSITORY_RE.fullmatch(path):
        raise ResourceError(f"params.repository: {shown(repository)} is not host/project/name in lowercase")
    artifact: dict[str, Any] = {
        "type": "docker/image",
        "customKind": False,
        "name": repository,
        "reference": f"{repository}@{digest}",
        "metadata": {"digest": digest, "registry": host},
    }
    if tag is not None:
        artifact["version"] = tag
    if os.environ.get("BUILD_URL"):
        artifact["provenance"] = os.environ["BUILD_URL"]
    return artifact


def correlation_id(artifact: dict[str, Any]) -> str:
    """The trigger's correlation id: the same for every attempt of one put step of one build with one digest
    (``concourse:<BUILD_ID>:<digest>``; Concourse gives every build, and every re-run, its own BUILD_ID), so a
    retried put finds the execution it started; a fresh one outside Concourse."""
    build = os.environ.get("BUILD_ID")
    if not build:
        return f"shiplane:{uuid.uuid4().hex}"
    return f"concourse:{build}:{artifact['metadata']['digest']}"


def expand(value: str) -> str:
    """``$BUILD_ID``/``${BUILD_PIPELINE_NAME}``/``$ATC_EXTERNAL_URL`` from the put's environment (Concourse sets
    them for put steps); other text is left alone."""
    return _BUILD_VAR.sub(lambda m: os.environ.get(m.group(2), ""), value)


def expected_artifact_ids(config: dict[str, Any], artifact: dict[str, Any]) -> list[str]:
    """Ids of the config's expected docker/image artifacts whose ``matchArtifact`` name matches the artifact.

    The names are regular expressions from the pipeline config (kork ``ArtifactUtils``): they are matched within one
    time budget (:class:`harbor_image.tagregex.BoundedRegex`), so a catastrophic pattern fails the put with one line
    instead of spinning past every deadline.
    """
    ids = []
    remaining = BUDGET
    for expected in config.get("expectedArtifacts") or []:
        match = expected.get("matchArtifact") if isinstance(expected, dict) else None
        if not isinstance(match, dict) or match.get("type") not in (None, "", "docker/image"):
            continue
        name = match.get("name")
        try:
            compiled = re.compile(str(name)) if name else None
        except (re.error, RecursionError, OverflowError):
            compiled = None
            matches = name == artifact["name"]
        if compiled is not None:
            field = f"pipeline config {config.get('name') or config.get('id')}: expectedArtifacts[].matchArtifact.name"
            bounded = BoundedRegex(compiled, budget=max(remaining, 0.001), field=field)
            matches = bounded.fullmatch(artifact["name"]) is not None
            remaining = bounded.remaining
        elif not name:
            matches = True
        if matches and isinstance(expected.get("id"), str):
            ids.append(expected["id"])
    return ids


def wait_for(gate: Gate, execution_id: str, params: PutParams, log: Log,
             sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Poll until final or ``params.timeout`` passes (then ResourceError; the execution keeps running)."""
    give_up = time.monotonic() + params.timeout
    last = None
    while True:
        execution = get_execution(gate, execution_id)
        status = str(execution.get("status"))
        if status != last:
            log.info(f"execution {execution_id}: {plain(status, 60)}")
            last = status
        if status in FINAL_STATUSES:
            return execution
        remaining = give_up - time.monotonic()
        if remaining <= 0:
            raise ResourceError(
                f"execution {execution_id} is still {plain(status, 60)} after params.timeout {params.timeout_text}; "
                "it keeps running in Spinnaker — raise params.timeout or follow it there"
            )
        sleep(min(params.poll_interval, remaining))


def run(request: OutRequest, src: str, log: Log, gate: Gate) -> dict[str, Any]:
    source, params = request.source, request.params
    artifact = image_artifact(src, params)
    config = pipeline_config(gate, source.application, source.pipeline)
    trigger: dict[str, Any] = {
        "type": "manual",
        "correlationId": correlation_id(artifact),
        "parameters": {name: expand(value) for name, value in params.parameters.items()},
        "artifacts": [artifact],
        "expectedArtifactIds": expected_artifact_ids(config, artifact),
    }
    execution_id = trigger_pipeline(gate, source.application, source.pipeline, str(config["id"]), trigger,
                                    look_first="BUILD_ID" in os.environ)
    log.info(f"triggered {source.application}/{source.pipeline} with {artifact['reference']}: execution {execution_id}")
    link = report.deck_link(source, execution_id)
    if link:
        log.info(link)
    if not params.wait:
        execution = get_execution(gate, execution_id)
        return result(source, execution)
    execution = wait_for(gate, execution_id, params, log)
    if execution.get("status") != "SUCCEEDED":
        failure = report.failure_text(execution, log.redactor) or "no failed stage recorded"
        raise ResourceError(
            f"execution {execution_id} ended {plain(str(execution.get('status')), 60)}: {failure}"
            + (f"; see {link}" if link else "")
        )
    return result(source, execution)

"""in (get): re-check the gate, write the version files, the scan, and the image in the requested format.

Harbor rescans find new CVEs, so by default the artifact must still pass the gate when it is fetched. Files in
DEST: ``repository``, ``tag``, ``digest``, ``tags``, ``scan_overview.json``, ``vulnerabilities.json`` (when a report
exists) and ``rootfs/`` + ``metadata.json`` + ``labels.json`` (rootfs, default), ``image.tar`` (oci: a
docker-archive, as registry-image writes) or ``oci/`` (oci-layout).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import Any
from urllib.parse import quote

from harbor_image import oci
from harbor_image.check import HarborAPI, short
from harbor_image.errors import ResourceError
from harbor_image.gate import Verdict, evaluate
from harbor_image.log import Log
from harbor_image.models import SEVERITY_NAMES, Artifact, Report
from harbor_image.scanning import GateResult, Scanner, failure_lines
from harbor_image.skopeo import Skopeo, unpack_rootfs
from harbor_image.wire import InRequest, Source, Version


def write_text(dest: str, name: str, text: str) -> None:
    with open(os.path.join(dest, name), "w", encoding="utf-8") as handle:
        handle.write(text)


def write_json(dest: str, name: str, document: Any) -> None:
    with open(os.path.join(dest, name), "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, sort_keys=True)
        handle.write("\n")


def ui_link(source: Source, artifact: Artifact) -> str | None:
    """The artifact's page in Harbor's portal (artifact.module.ts route ``:repo/artifacts-tab/artifacts/:digest``)."""
    if not artifact.project_id:
        return None
    return (
        f"{source.url}/harbor/projects/{artifact.project_id}/repositories/"
        f"{quote(source.name, safe='')}/artifacts-tab/artifacts/{artifact.digest}"
    )


def metadata(source: Source, version: Version, artifact: Artifact, verdict: Verdict | None) -> list[dict[str, str]]:
    fields = [
        ("repository", source.repository),
        ("tag", version.tag),
        ("digest", version.digest),
    ]
    scan = artifact.scan
    if scan is None:
        fields.append(("scan", "not scanned"))
    elif scan.status != "Success":
        fields.append(("scan", scan.status))
    else:
        fields.append(("severity", scan.severity or "unknown"))
        fields.extend((name.lower(), str(scan.counts.get(name, 0))) for name in SEVERITY_NAMES[:-1])
        if scan.scanner:
            fields.append(("scanner", scan.scanner))
    if verdict is not None:
        fields.append(("gate", f"{'pass' if verdict.passed else 'fail'}: {verdict.reason}"))
    link = ui_link(source, artifact)
    if link:
        fields.append(("url", link))
    return [{"name": name, "value": value} for name, value in fields]


def write_scan(dest: str, artifact: Artifact, report: Report | None) -> None:
    write_json(dest, "scan_overview.json", artifact.scan.raw if artifact.scan is not None else {})
    if report is not None:
        write_json(dest, "vulnerabilities.json", report.raw)


def download(request: InRequest, dest: str, log: Log, deadline: float) -> None:
    source, version, params = request.source, request.version, request.params
    with Skopeo(source, log, deadline) as skopeo:
        remote = skopeo.reference(f"@{version.digest}")
        if params.format == "oci-layout":
            layout = os.path.join(dest, "oci")
            skopeo.copy(
                remote, f"oci:{layout}:{version.tag}", multi_arch="all", preserve_digests=True, what="downloading"
            )
            return
        staging = tempfile.mkdtemp(prefix=".harbor-image-", dir=dest)
        try:
            skopeo.copy(remote, f"oci:{staging}:image", what="downloading")
            config = oci.image_config(staging)
            if params.format == "oci":
                archive = os.path.join(dest, "image.tar")
                name = f"{source.host}/{source.repository}:{version.tag}"
                skopeo.copy(f"oci:{staging}:image", f"docker-archive:{archive}:{name}", what="writing image.tar")
            else:
                unpack_rootfs(staging, "image", os.path.join(dest, "rootfs"), log, deadline)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    if params.format == "oci":
        write_json(dest, "labels.json", _labels(config))
        return
    runtime = _runtime(config)
    write_json(
        dest,
        "metadata.json",
        {
            "cmd": runtime.get("Cmd"),
            "entrypoint": runtime.get("Entrypoint"),
            "env": runtime.get("Env"),
            "user": runtime.get("User") or "",
        },
    )
    write_json(dest, "labels.json", _labels(config))


def _runtime(config: dict[str, Any]) -> dict[str, Any]:
    runtime = config.get("config")
    return runtime if isinstance(runtime, dict) else {}


def _labels(config: dict[str, Any]) -> dict[str, str]:
    labels = _runtime(config).get("Labels")
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def run(request: InRequest, dest: str, log: Log, client: HarborAPI, deadline: float) -> dict[str, Any]:
    source, version, params = request.source, request.version, request.params
    os.makedirs(dest, exist_ok=True)
    scanner = Scanner(client, source.repository, source.project, log)
    verdict: Verdict | None = None
    if params.gate and source.scan.enabled:
        result = scanner.gate(version.digest, source.scan, source.scan_timeout_text, always_scan=False)
        artifact, verdict, report = result.artifact, result.verdict, result.report
        if not verdict.passed:
            write_scan(dest, artifact, report)
            raise _gate_failure(source, version, result)
        log.info(f"{short(version.digest)} {version.tag}: passes the scan gate ({verdict.reason})")
    else:
        artifact = scanner.fetch(version.digest)
        report = None
        if artifact.scan is not None and artifact.scan.status == "Success":
            report = client.vulnerabilities(version.digest)
        if source.scan.enabled:
            verdict = evaluate(artifact.scan, source.scan, report)
            log.info(f"{short(version.digest)} {version.tag}: gate not enforced (params.gate: false); {verdict.reason}")
    write_text(dest, "repository", source.repository)
    write_text(dest, "tag", version.tag)
    write_text(dest, "digest", version.digest)
    write_text(dest, "tags", " ".join(sorted(artifact.tag_names)) + "\n")
    write_scan(dest, artifact, report)
    if not params.skip_download:
        log.info(f"fetching {source.repository}@{version.digest} ({params.format})")
        download(request, dest, log, deadline)
    return {"version": version.to_json(), "metadata": metadata(source, version, artifact, verdict)}


def _gate_failure(source: Source, version: Version, result: GateResult) -> ResourceError:
    lines = [
        f"{source.repository}@{short(version.digest)} {version.tag} does not pass the scan gate: "
        f"{result.verdict.reason}"
    ]
    lines.extend(failure_lines(result, source.scan))
    return ResourceError("\n".join(lines))

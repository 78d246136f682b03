"""Harbor's data shapes, parsed defensively (Harbor serialises empty lists as ``null``, omits ``scan_overview``
when there is no report, and keys summaries by one of two MIME types).

Only the fields the resource uses are kept. Records are NamedTuples: creating a dataclass costs about a millisecond
at import, and check runs every minute for every resource.
"""

from __future__ import annotations

from typing import Any, NamedTuple

# Harbor's two vulnerability report MIME types, in order of preference (swagger X-Accept-Vulnerabilities default)
REPORT_MIME_TYPES = (
    "application/vnd.security.vulnerability.report; version=1.1",
    "application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0",
)
ACCEPT_VULNERABILITIES = ", ".join(REPORT_MIME_TYPES)

SEVERITY_NAMES = ("Critical", "High", "Medium", "Low", "Negligible", "Unknown", "None")


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class Tag(NamedTuple):
    name: str
    push_time: str = ""


class ScanSummary(NamedTuple):
    """One NativeReportSummary: the scan of an artifact as the listing reports it."""

    status: str
    severity: str
    report_id: str
    start_time: str
    end_time: str
    counts: dict[str, int]
    total: int
    fixable: int
    scanner: str
    raw: dict[str, Any]
    complete_percent: int = 100

    @classmethod
    def from_overview(cls, overview: Any) -> ScanSummary | None:
        """Pick the preferred MIME entry of ``scan_overview``; None when Harbor has no report for the artifact."""
        if not isinstance(overview, dict) or not overview:
            return None
        entry = None
        for mime in REPORT_MIME_TYPES:
            if isinstance(overview.get(mime), dict):
                entry = overview[mime]
                break
        if entry is None:
            # an unknown MIME key: take it rather than pretend there is no report (the status decides)
            entry = next((v for v in overview.values() if isinstance(v, dict) and "scan_status" in v), None)
        if entry is None:
            return None
        summary = _dict(entry.get("summary"))
        counts_raw = _dict(summary.get("summary"))
        counts = {str(k): _int(v) for k, v in counts_raw.items() if _int(v) > 0}
        scanner = _dict(entry.get("scanner"))
        scanner_text = " ".join(p for p in (_str(scanner.get("name")), _str(scanner.get("version"))) if p)
        return cls(
            status=_str(entry.get("scan_status")) or "Error",
            severity=_str(entry.get("severity")),
            report_id=_str(entry.get("report_id")),
            start_time=_str(entry.get("start_time")),
            end_time=_str(entry.get("end_time")),
            counts=counts,
            total=_int(summary.get("total")),
            fixable=_int(summary.get("fixable")),
            scanner=scanner_text,
            raw=entry,
            # an index's merged summary: successful children * 100 / children (pkg/scan/vuln/summary.go Merge)
            complete_percent=_int(entry.get("complete_percent")),
        )

    def counts_text(self) -> str:
        """``3 High, 1 Critical`` — most severe last, as in the held-back lines."""
        parts = [f"{self.counts[name]} {name}" for name in reversed(SEVERITY_NAMES) if self.counts.get(name)]
        others = sorted(k for k in self.counts if k not in SEVERITY_NAMES)
        parts.extend(f"{self.counts[k]} {k}" for k in others)
        return ", ".join(parts) if parts else "no vulnerabilities"

    def to_cache(self) -> list[Any]:
        return [
            self.status,
            self.severity,
            self.report_id,
            self.end_time,
            self.counts,
            self.scanner,
            self.complete_percent,
        ]

    @classmethod
    def from_cache(cls, data: Any) -> ScanSummary:
        status, severity, report_id, end_time, counts, scanner, complete_percent = data
        return cls(
            status=str(status),
            severity=str(severity),
            report_id=str(report_id),
            start_time="",
            end_time=str(end_time),
            counts={str(k): int(v) for k, v in dict(counts).items()},
            total=0,
            fixable=0,
            scanner=str(scanner),
            raw={},
            complete_percent=int(complete_percent),
        )


# Harbor's artifact types (src/pkg/artifact/... processors: image.ArtifactTypeImage "IMAGE", helm "CHART", cnab
# "CNAB", wasm "WASM", anything unrecognised "UNKNOWN"); only images are versions of this resource
IMAGE_TYPE = "IMAGE"
INDEX_MEDIA_TYPES = frozenset(
    {"application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"}
)


class Artifact(NamedTuple):
    digest: str
    push_time: str
    tags: tuple[Tag, ...]
    scan: ScanSummary | None
    project_id: int = 0
    repository_name: str = ""
    media_type: str = ""
    type: str = IMAGE_TYPE
    # An index's platforms: ``references[].child_digest``, attestation manifests left out (:func:`is_attestation`)
    children: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, data: Any) -> Artifact:
        if not isinstance(data, dict) or not isinstance(data.get("digest"), str):
            raise ValueError("an artifact without a digest")
        tags_raw = _list(data.get("tags"))
        tags = tuple(
            Tag(t["name"], _str(t.get("push_time")))
            for t in tags_raw
            if isinstance(t, dict) and isinstance(t.get("name"), str)
        )
        return cls(
            digest=data["digest"],
            push_time=_str(data.get("push_time")),
            tags=tags,
            scan=ScanSummary.from_overview(data.get("scan_overview")),
            project_id=_int(data.get("project_id")),
            repository_name=_str(data.get("repository_name")),
            media_type=_str(data.get("manifest_media_type")) or _str(data.get("media_type")),
            type=_str(data.get("type")) or IMAGE_TYPE,
            children=tuple(
                r["child_digest"]
                for r in _list(data.get("references"))
                if isinstance(r, dict) and isinstance(r.get("child_digest"), str) and not is_attestation(r)
            ),
        )

    @property
    def is_image(self) -> bool:
        """An image or image index (Harbor type IMAGE); Helm charts, CNAB bundles, WASM and unknown types are not."""
        return self.type == IMAGE_TYPE

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_MEDIA_TYPES or bool(self.children)

    @property
    def tag_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tags)

    def to_cache(self) -> list[Any]:
        return [
            self.push_time,
            [[t.name, t.push_time] for t in self.tags],
            self.scan.to_cache() if self.scan else None,
            self.type,
            list(self.children),
            self.media_type,
        ]

    @classmethod
    def from_cache(cls, digest: str, data: Any) -> Artifact:
        push_time, tags, scan, kind, children, media_type = data
        return cls(
            digest=digest,
            push_time=str(push_time),
            tags=tuple(Tag(str(name), str(when)) for name, when in tags),
            scan=ScanSummary.from_cache(scan) if scan is not None else None,
            media_type=str(media_type),
            type=str(kind),
            children=tuple(str(c) for c in children),
        )


ATTESTATION_REFERENCE_TYPE = "vnd.docker.reference.type"
ATTESTATION_MANIFEST = "attestation-manifest"


def is_attestation(reference: dict[str, Any]) -> bool:
    """Whether an index entry (Harbor's ``references[]`` item) is a BuildKit attestation manifest, not a platform.

    BuildKit (``docker buildx`` with provenance or SBOM, on by default since buildx 0.10) adds to the index one
    manifest per platform with in-toto layers, platform ``unknown/unknown`` and the descriptor annotation
    ``vnd.docker.reference.type: attestation-manifest`` (moby/buildkit util/attestation/types.go,
    exporter/containerimage/writer.go); Harbor copies the descriptor's annotations into the reference
    (controller/artifact/abstractor.go abstractIndex). Harbor v2.11+ never scans such a manifest
    (controller/scan/base_controller.go collectScanningArtifacts skips in-toto layers: HasUnscannableLayer) and v2.10
    scans it like an image, so it is never a platform to wait for or to judge.

    The annotation is only the pusher's word, and neither Harbor's scan walk nor a pull looks at it: a linux/amd64
    image annotated ``attestation-manifest`` is scanned by Harbor (HasUnscannableLayer reads layers) and is what a
    pull for linux/amd64 gets (containers/image, containerd and docker choose an index entry by platform; an entry
    without a platform matches any). So an entry is left out only when it also says platform ``unknown/unknown``,
    which no pull by platform selects; anything else annotated so is a platform, waited for and judged.
    """
    annotations = reference.get("annotations")
    if not isinstance(annotations, dict) or annotations.get(ATTESTATION_REFERENCE_TYPE) != ATTESTATION_MANIFEST:
        return False
    platform = reference.get("platform")
    return isinstance(platform, dict) and platform.get("os") == "unknown" and platform.get("architecture") == "unknown"


class Vulnerability(NamedTuple):
    id: str
    package: str
    version: str
    fix_version: str
    severity: str

    def line(self) -> str:
        fix = f"fixed in {self.fix_version}" if self.fix_version else "no fix"
        return f"{self.id} {self.package} {self.version} {self.severity} ({fix})"


class Report(NamedTuple):
    """A vulnerability report (``…/additions/vulnerabilities``) for one MIME type."""

    mime_type: str
    severity: str
    scanner: str
    vulnerabilities: tuple[Vulnerability, ...]
    raw: dict[str, Any]

    @classmethod
    def from_additions(cls, document: Any) -> Report | None:
        if not isinstance(document, dict):
            return None
        for mime in (*REPORT_MIME_TYPES, *document.keys()):
            entry = document.get(mime)
            if isinstance(entry, dict):
                break
        else:
            return None
        items = _list(entry.get("vulnerabilities"))
        vulnerabilities = tuple(
            Vulnerability(
                id=_str(v.get("id")),
                package=_str(v.get("package")),
                version=_str(v.get("version")),
                fix_version=_str(v.get("fix_version")),
                severity=_str(v.get("severity")) or "Unknown",
            )
            for v in items
            if isinstance(v, dict)
        )
        scanner = _dict(entry.get("scanner"))
        scanner_text = " ".join(p for p in (_str(scanner.get("name")), _str(scanner.get("version"))) if p)
        return cls(str(mime), _str(entry.get("severity")), scanner_text, vulnerabilities, entry)


class ProjectPolicy(NamedTuple):
    """The project's pull policy as Harbor enforces it on manifest pulls (``GET /projects/{name}``).

    ``prevent_vul`` (metadata ``"true"``) with ``severity`` (metadata: ``low`` … ``critical``) and the project CVE
    allowlist (ignored once ``expires_at``, epoch seconds, has passed): src/server/middleware/vulnerable/
    vulnerable.go Middleware refuses a pull with 412 PROJECTPOLICYVIOLATION when the artifact has no scan, a scan
    that is not Success, or vulnerabilities (not allowlisted) at or above the severity. Image indexes of type IMAGE
    or CNAB are never checked. ``reuse_sys_cve_allowlist`` means the system allowlist applies instead, which a
    project robot cannot read: it counts as an empty allowlist (fail closed).
    """

    prevent_vul: bool
    severity: str  # ParseSeverityVersion3 of the metadata: None, Low, Medium, High, Critical or Unknown
    allowlist: frozenset[str]
    expires_at: int | None

    @classmethod
    def from_api(cls, document: Any) -> ProjectPolicy:
        data = _dict(document)
        metadata = _dict(data.get("metadata"))
        reuse_system = _str(metadata.get("reuse_sys_cve_allowlist")).lower() == "true"
        allowlist = _dict(data.get("cve_allowlist"))
        items = [] if reuse_system else _list(allowlist.get("items"))
        expires = allowlist.get("expires_at")
        return cls(
            prevent_vul=_str(metadata.get("prevent_vul")).lower() == "true",
            severity=parse_severity_v3(_str(metadata.get("severity"))),
            allowlist=frozenset(_str(i.get("cve_id")) for i in items if isinstance(i, dict) and i.get("cve_id")),
            expires_at=expires if isinstance(expires, int) and not isinstance(expires, bool) and expires > 0 else None,
        )

    def to_cache(self) -> list[Any]:
        return [self.prevent_vul, self.severity, sorted(self.allowlist), self.expires_at]

    @classmethod
    def from_cache(cls, data: Any) -> ProjectPolicy:
        prevent, severity, allowlist, expires = data
        return cls(bool(prevent), str(severity), frozenset(str(c) for c in allowlist), expires)


def parse_severity_v3(value: str) -> str:
    """src/pkg/scan/vuln/severity.go ParseSeverityVersion3: the project metadata's severity as a Severity.

    ``negligible`` maps to None (v3 has no Negligible); anything unrecognised is Unknown.
    """
    title = value[:1].upper() + value[1:].lower()
    if title in ("None", "Low", "Medium", "High", "Critical"):
        return title
    return "None" if title == "Negligible" else "Unknown"

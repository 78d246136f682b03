"""An in-process model of one Harbor repository for check's property test.

It keeps Harbor's rules that matter to check: artifacts with push times and ids, tags that move (bumping the tag's
push time), a repository ``update_time`` bumped on artifact create/delete, tag create/move/delete and pulls on
v2.15.2 — but only on pulls before it (``version``; controller/artifact + controller/tag ``touchRepo`` landed in
v2.15.2) — and never on scan completion, scans that go Pending → Running → Success with a new report id on every
rescan, image indexes whose children are scanned one by one and merged like pkg/scan/vuln/util.go MergeScanStatus
+ summary.go Merge, a project pull policy (``prevent_vul`` + severity, server/middleware/vulnerable), listing sorted
by ``-push_time,-id`` in pages of 100, the ``digest={…}`` OR query (``base=*`` for children), ``/systeminfo`` and
scan POSTs (202/409). It answers through the same interface as the real client (``harbor_image.check.HarborAPI``)
and counts requests.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from harbor_double.scanner import merge_report_id
from harbor_image.gate import SEVERITY_CODES
from harbor_image.harbor import PAGE_SIZE, Page, RepositoryState, ScanStart
from harbor_image.models import REPORT_MIME_TYPES, Artifact, ProjectPolicy, Report

ALLOWED_CVE = "CVE-ALLOWED"


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


@dataclass
class Scan:
    report_id: str
    status: str
    severity: str = ""
    allowed: bool = False  # the report's only vulnerability is on the allowlist
    end_ms: int = 0


@dataclass
class ModelArtifact:
    id: int
    digest: str
    push_ms: int
    tags: dict[str, int] = field(default_factory=dict)  # name -> tag push ms
    scan: Scan | None = None
    children: list[str] = field(default_factory=list)  # an index's platform digests (untagged child artifacts)
    type: str = "IMAGE"  # Harbor's artifact type: IMAGE, CHART, CNAB, …


MERGE_ORDER = {"Pending": 0, "Scheduled": 1, "Running": 2, "Stopped": 3, "Error": 3, "Success": 3}


def merge_status(first: str, second: str) -> str:
    """pkg/scan/vuln/util.go MergeScanStatus."""
    if "Running" in (first, second):
        return "Running"
    if "Stopped" in (first, second):
        return "Stopped"
    if "Success" in (first, second):
        return "Success"
    return first if MERGE_ORDER.get(first, -1) > MERGE_ORDER.get(second, -1) else second


class ModelHarbor:
    def __init__(self, start_ms: int = 1_700_000_000_000, version: str = "v2.15.2-080b0220") -> None:
        self.now_ms = start_ms
        self.update_ms = start_ms
        self.version = version
        self.artifacts: dict[str, ModelArtifact] = {}
        self.children: dict[str, ModelArtifact] = {}  # untagged platform manifests of indexes
        self.prevent_vul = False
        self.project_severity = "High"
        self.requests = 0
        self.policy_reads = 0
        self._ids = itertools.count(1)
        self._reports = itertools.count(1)

    # -- events --------------------------------------------------------------------------------------------------

    def tick(self, ms: int = 1500) -> None:
        self.now_ms += ms

    def seconds(self) -> float:
        """The model's clock in epoch seconds (a check's ``now``)."""
        return self.now_ms / 1000

    @property
    def touches_on_push(self) -> bool:
        """v2.15.2's touchRepo: update_time moves on artifact create/delete and tag create/move/delete."""
        numbers = tuple(int(p) for p in self.version.lstrip("v").split("-")[0].split("."))
        return numbers >= (2, 15, 2)

    def touch(self, *, pull: bool = False) -> None:
        if pull or self.touches_on_push:
            self.update_ms = self.now_ms

    def push(self, tag: str, *, platforms: int = 0) -> str:
        """Push an image (or an index of ``platforms`` child images, each with its own scan) under ``tag``."""
        self.tick()
        number = next(self._ids)
        digest = f"sha256:{number:064x}"
        artifact = ModelArtifact(number, digest, self.now_ms)
        for _ in range(platforms):
            child_number = next(self._ids)
            child = ModelArtifact(child_number, f"sha256:{child_number:064x}", self.now_ms)
            self.children[child.digest] = child
            artifact.children.append(child.digest)
        self.artifacts[digest] = artifact
        self.touch()
        self.tag(tag, digest)
        return digest

    def tag(self, name: str, digest: str) -> None:
        """Create or move a tag (Harbor's tag Ensure: the tag's push time becomes now)."""
        self.tick()
        for artifact in self.artifacts.values():
            artifact.tags.pop(name, None)
        self.artifacts[digest].tags[name] = self.now_ms
        self.touch()

    def delete(self, digest: str) -> None:
        self.tick()
        for child in self.artifacts.pop(digest).children:
            self.children.pop(child, None)
        self.touch()

    def pull(self) -> None:
        self.tick()
        self.touch(pull=True)

    def set_policy(self, prevent_vul: bool, severity: str = "High") -> None:
        """The project's prevent_vul + severity (no update_time change: it is project metadata)."""
        self.tick()
        self.prevent_vul = prevent_vul
        self.project_severity = severity

    def scanned(self, digest: str) -> list[ModelArtifact]:
        """The artifacts a scan of ``digest`` covers: the image, or an index's children."""
        artifact = self.artifacts.get(digest) or self.children[digest]
        return [self.children[c] for c in artifact.children] or [artifact]

    def start_scan(self, digest: str) -> None:
        self.tick()
        for target in self.scanned(digest):
            target.scan = Scan(f"report-{next(self._reports)}", "Running")

    def _report_id(self, artifact: ModelArtifact) -> str:
        """A running scan finishes under its report id; any other scan is a new report (Harbor: a new UUID)."""
        if artifact.scan is not None and artifact.scan.status in ("Pending", "Scheduled", "Running"):
            return artifact.scan.report_id
        return f"report-{next(self._reports)}"

    def finish_scan(self, digest: str, severity: str, allowed: bool = False, *, platform: int | None = None) -> None:
        """Finish the scan (of every platform of an index, or only of ``platform``, counted modulo)."""
        self.tick()
        targets = self.scanned(digest)
        if platform is not None:
            targets = [targets[platform % len(targets)]]
        for target in targets:
            target.scan = Scan(self._report_id(target), "Success", severity, allowed, self.now_ms)

    def fail_scan(self, digest: str, *, platform: int | None = None) -> None:
        self.tick()
        targets = self.scanned(digest)
        if platform is not None:
            targets = [targets[platform % len(targets)]]
        for target in targets:
            target.scan = Scan(self._report_id(target), "Error", end_ms=self.now_ms)

    # -- ground truth --------------------------------------------------------------------------------------------

    def passes(self, digest: str, fail_on: str, allowlist: bool, policy: tuple[bool, str] | None = None) -> bool:
        """Every scanned platform passes the gate and Harbor serves it under ``policy`` (prevent_vul, severity),
        by default the current one."""
        prevent_vul, severity = policy if policy is not None else (self.prevent_vul, self.project_severity)
        for target in self.scanned(digest):
            scan = target.scan
            if scan is None or scan.status != "Success":
                return False
            if SEVERITY_CODES[scan.severity.lower()] >= SEVERITY_CODES[fail_on] and not (allowlist and scan.allowed):
                return False
            if (
                prevent_vul
                and scan.severity != "None"
                and (SEVERITY_CODES[scan.severity.lower()] >= SEVERITY_CODES[severity.lower()])
            ):
                return False
        return True

    # -- API (HarborAPI) -----------------------------------------------------------------------------------------

    def _api(self, artifact: ModelArtifact) -> Artifact:
        return Artifact.from_api(self.document(artifact))

    def document(self, artifact: ModelArtifact) -> dict[str, Any]:
        tags = [
            {"id": i, "name": name, "push_time": iso(ms), "pull_time": "0001-01-01T00:00:00.000Z", "immutable": False}
            for i, (name, ms) in enumerate(sorted(artifact.tags.items()))
        ]
        document: dict[str, Any] = {
            "id": artifact.id,
            "digest": artifact.digest,
            "project_id": 1,
            "repository_name": "team/app",
            "push_time": iso(artifact.push_ms),
            "pull_time": "0001-01-01T00:00:00.000Z",
            "tags": tags or None,
            "labels": None,
            "type": artifact.type,
        }
        if artifact.children:
            document["manifest_media_type"] = "application/vnd.oci.image.index.v1+json"
            document["references"] = [
                {"parent_id": artifact.id, "child_id": self.children[c].id, "child_digest": c, "urls": None}
                for c in artifact.children
            ]
            merged = self.merged_overview([self.children[c] for c in artifact.children])
            if merged is not None:
                document["scan_overview"] = {REPORT_MIME_TYPES[0]: merged}
            return document
        scan = artifact.scan
        if scan is not None:
            entry: dict[str, Any] = {"report_id": scan.report_id, "scan_status": scan.status, "complete_percent": 0}
            if scan.status == "Success":
                entry.update(
                    severity=scan.severity,
                    complete_percent=100,
                    end_time=iso(scan.end_ms),
                    summary={"total": int(scan.severity != "None"), "fixable": 0, "summary": {}}
                    if scan.severity == "None"
                    else {"total": 1, "fixable": 1, "summary": {scan.severity: 1}},
                    scanner={"name": "Trivy", "vendor": "Aqua Security", "version": "v0.64.1"},
                )
            document["scan_overview"] = {REPORT_MIME_TYPES[0]: entry}
        return document

    def merged_overview(self, children: list[ModelArtifact]) -> dict[str, Any] | None:
        """summary.go Merge over the children in order: status by MergeScanStatus, complete_percent, severity of
        the successful children only (unless Running); no overview while a child has no report."""
        if any(c.scan is None for c in children):
            return None
        scans = [c.scan for c in children if c.scan is not None]
        status = scans[0].status
        for scan in scans[1:]:
            status = merge_status(status, scan.status)
        succeeded = [s for s in scans if s.status == "Success"]
        entry: dict[str, Any] = {
            "report_id": functools.reduce(merge_report_id, (s.report_id for s in scans)),  # util.go mergeReportID
            "scan_status": status,
            "complete_percent": len(succeeded) * 100 // len(scans),
        }
        if status != "Running":
            worst = max(succeeded, key=lambda s: SEVERITY_CODES[s.severity.lower()], default=None)
            severity = worst.severity if worst is not None else "None"
            counts: dict[str, int] = {}
            for s in succeeded:
                if s.severity != "None":
                    counts[s.severity] = counts.get(s.severity, 0) + 1
            entry.update(severity=severity, summary={"total": sum(counts.values()), "fixable": 0, "summary": counts})
        return entry

    def harbor_version(self) -> str | None:
        self.requests += 1
        return self.version

    def project_policy(self) -> ProjectPolicy | None:
        self.requests += 1
        self.policy_reads += 1
        self.policy_seen = (self.prevent_vul, self.project_severity)
        return ProjectPolicy(self.prevent_vul, self.project_severity, frozenset(), None)

    def repository_update_time(self) -> tuple[RepositoryState, str | None]:
        self.requests += 1
        return "ok", iso(self.update_ms)

    def get_artifact(self, reference: str) -> Artifact | None:
        self.requests += 1
        if reference in self.artifacts:
            return self._api(self.artifacts[reference])
        if reference in self.children:
            return self._api(self.children[reference])
        for artifact in self.artifacts.values():
            if reference in artifact.tags:
                return self._api(artifact)
        return None

    def _sorted(self, items: list[ModelArtifact]) -> list[ModelArtifact]:
        return sorted(items, key=lambda a: (a.push_ms, a.id), reverse=True)

    def walk_artifacts(self, q: str, sort: str | None = "-push_time,-id") -> Iterator[Page]:
        everything = q.startswith("base=*,")
        q = q.removeprefix("base=*,")
        if q == "tags=*":
            selected = [a for a in self.artifacts.values() if a.tags]
        elif q.startswith("digest={") and q.endswith("}"):
            wanted = set(q[len("digest={") : -1].split(" "))
            pool = [*self.artifacts.values(), *(self.children.values() if everything else ())]
            selected = [a for a in pool if a.digest in wanted]
        else:
            raise AssertionError(f"unexpected q {q!r}")
        ordered = self._sorted(selected)
        total = len(ordered)
        for start in range(0, max(total, 1), PAGE_SIZE):
            self.requests += 1
            chunk = ordered[start : start + PAGE_SIZE]
            more = start + PAGE_SIZE < total
            yield Page([self._api(a) for a in chunk], total, (start // PAGE_SIZE) + 2 if more else None)

    def artifacts_by_digest(self, digests: list[str], *, children: bool = False) -> list[Artifact]:
        found: list[Artifact] = []
        prefix = "base=*," if children else ""
        for start in range(0, len(digests), 50):
            for page in self.walk_artifacts(prefix + "digest={" + " ".join(digests[start : start + 50]) + "}"):
                found.extend(page.artifacts)
        return found

    def scan(self, digest: str) -> ScanStart:
        self.requests += 1
        targets = self.scanned(digest)
        if any(t.scan is not None and t.scan.status in ("Pending", "Running", "Scheduled") for t in targets):
            return "running"
        for target in targets:
            target.scan = Scan(f"report-{next(self._reports)}", "Pending")
        return "accepted"

    def vulnerabilities(self, digest: str) -> Report | None:
        self.requests += 1
        # An index's report merges its children's ready reports (server/v2.0/handler/artifact.go
        # GetVulnerabilitiesAddition -> pkg/scan/report/report.go Reports.ResolveData: reports not ready are skipped)
        scans = [t.scan for t in self.scanned(digest) if t.scan is not None and t.scan.status == "Success"]
        if not scans:
            return None
        vulnerabilities = [
            {"id": ALLOWED_CVE if scan.allowed else "CVE-REAL", "package": "openssl", "version": "1",
             "fix_version": "2", "severity": scan.severity}
            for scan in scans
        ]  # fmt: skip
        worst = max(scans, key=lambda scan: SEVERITY_CODES[scan.severity.lower()]).severity
        return Report.from_additions({REPORT_MIME_TYPES[0]: {"severity": worst, "vulnerabilities": vulnerabilities}})

"""An in-process model of one Harbor repository for check's property test.

It keeps Harbor's rules that matter to check: artifacts with push times and ids, tags that move (bumping the tag's
push time), a repository ``update_time`` bumped on artifact create/delete, tag create/move/delete and pulls but NOT
on scan completion, scans that go Pending → Running → Success with a new report id on every rescan, listing sorted
by ``-push_time,-id`` in pages of 100, the ``digest={…}`` OR query, and scan POSTs (202/409). It answers through
the same interface as the real client (``harbor_image.check.HarborAPI``) and counts requests.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from harbor_image.gate import SEVERITY_CODES
from harbor_image.harbor import PAGE_SIZE, Page, RepositoryState, ScanStart
from harbor_image.models import REPORT_MIME_TYPES, Artifact, Report

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


class ModelHarbor:
    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self.now_ms = start_ms
        self.update_ms = start_ms
        self.artifacts: dict[str, ModelArtifact] = {}
        self.requests = 0
        self._ids = itertools.count(1)
        self._reports = itertools.count(1)

    # -- events --------------------------------------------------------------------------------------------------

    def tick(self, ms: int = 1500) -> None:
        self.now_ms += ms

    def touch(self) -> None:
        self.update_ms = self.now_ms

    def push(self, tag: str) -> str:
        self.tick()
        number = next(self._ids)
        digest = f"sha256:{number:064x}"
        self.artifacts[digest] = ModelArtifact(number, digest, self.now_ms)
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
        del self.artifacts[digest]
        self.touch()

    def pull(self) -> None:
        self.tick()
        self.touch()

    def start_scan(self, digest: str) -> None:
        self.tick()
        self.artifacts[digest].scan = Scan(f"report-{next(self._reports)}", "Running")

    def _report_id(self, artifact: ModelArtifact) -> str:
        """A running scan finishes under its report id; any other scan is a new report (Harbor: a new UUID)."""
        if artifact.scan is not None and artifact.scan.status in ("Pending", "Scheduled", "Running"):
            return artifact.scan.report_id
        return f"report-{next(self._reports)}"

    def finish_scan(self, digest: str, severity: str, allowed: bool = False) -> None:
        self.tick()
        artifact = self.artifacts[digest]
        report_id = self._report_id(artifact)
        artifact.scan = Scan(report_id, "Success", severity, allowed, self.now_ms)

    def fail_scan(self, digest: str) -> None:
        self.tick()
        artifact = self.artifacts[digest]
        artifact.scan = Scan(self._report_id(artifact), "Error", end_ms=self.now_ms)

    # -- ground truth --------------------------------------------------------------------------------------------

    def passes(self, digest: str, fail_on: str, allowlist: bool) -> bool:
        scan = self.artifacts[digest].scan
        if scan is None or scan.status != "Success":
            return False
        if SEVERITY_CODES[scan.severity.lower()] < SEVERITY_CODES[fail_on]:
            return True
        return allowlist and scan.allowed

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
        }
        scan = artifact.scan
        if scan is not None:
            entry: dict[str, Any] = {"report_id": scan.report_id, "scan_status": scan.status, "complete_percent": 0}
            if scan.status == "Success":
                entry.update(
                    severity=scan.severity,
                    complete_percent=100,
                    end_time=iso(scan.end_ms),
                    summary={"total": 1, "fixable": 1, "summary": {scan.severity: 1}},
                    scanner={"name": "Trivy", "vendor": "Aqua Security", "version": "v0.64.1"},
                )
            document["scan_overview"] = {REPORT_MIME_TYPES[0]: entry}
        return document

    def repository_update_time(self) -> tuple[RepositoryState, str | None]:
        self.requests += 1
        return "ok", iso(self.update_ms)

    def get_artifact(self, reference: str) -> Artifact | None:
        self.requests += 1
        if reference in self.artifacts:
            return self._api(self.artifacts[reference])
        for artifact in self.artifacts.values():
            if reference in artifact.tags:
                return self._api(artifact)
        return None

    def _sorted(self, items: list[ModelArtifact]) -> list[ModelArtifact]:
        return sorted(items, key=lambda a: (a.push_ms, a.id), reverse=True)

    def walk_artifacts(self, q: str, sort: str | None = "-push_time,-id") -> Iterator[Page]:
        if q == "tags=*":
            selected = [a for a in self.artifacts.values() if a.tags]
        elif q.startswith("digest={") and q.endswith("}"):
            wanted = set(q[len("digest={") : -1].split(" "))
            selected = [a for a in self.artifacts.values() if a.digest in wanted]
        else:
            raise AssertionError(f"unexpected q {q!r}")
        ordered = self._sorted(selected)
        total = len(ordered)
        for start in range(0, max(total, 1), PAGE_SIZE):
            self.requests += 1
            chunk = ordered[start : start + PAGE_SIZE]
            more = start + PAGE_SIZE < total
            yield Page([self._api(a) for a in chunk], total, (start // PAGE_SIZE) + 2 if more else None)

    def artifacts_by_digest(self, digests: list[str]) -> list[Artifact]:
        found: list[Artifact] = []
        for start in range(0, len(digests), 50):
            for page in self.walk_artifacts("digest={" + " ".join(digests[start : start + 50]) + "}"):
                found.extend(page.artifacts)
        return found

    def scan(self, digest: str) -> ScanStart:
        self.requests += 1
        artifact = self.artifacts[digest]
        if artifact.scan is not None and artifact.scan.status in ("Pending", "Running", "Scheduled"):
            return "running"
        artifact.scan = Scan(f"report-{next(self._reports)}", "Pending")
        return "accepted"

    def vulnerabilities(self, digest: str) -> Report | None:
        self.requests += 1
        scan = self.artifacts[digest].scan
        if scan is None or scan.status != "Success":
            return None
        vulnerability = {
            "id": ALLOWED_CVE if scan.allowed else "CVE-REAL",
            "package": "openssl",
            "version": "1",
            "fix_version": "2",
            "severity": scan.severity,
        }
        return Report.from_additions(
            {REPORT_MIME_TYPES[0]: {"severity": scan.severity, "vulnerabilities": [vulnerability]}}
        )

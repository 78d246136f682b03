"""A vulnerability scanner the tests control, with Harbor's report and summary semantics.

Reports are keyed by digest (Harbor keys them by digest and scanner registration, not by repository). A scan goes
Pending (or Scheduled) -> Running -> Success/Error/Stopped as the double's clock passes `pending` and `duration`
seconds; status is computed when read, so no thread runs in the background and tests move time with the clock or
`complete()`. Starting a scan while one is Pending/Running is a conflict; starting one after a final scan deletes
the old report first (src/pkg/scan/vulnerability/vul.go MakePlaceHolder), so a rescan hides the previous result
until it finishes — exactly what Harbor shows.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from .clock import fmt_time

GENERIC_MIME = "application/vnd.security.vulnerability.report; version=1.1"
NATIVE_MIME = "application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0"
SCAN_MIME_TYPES = (GENERIC_MIME, NATIVE_MIME)
# go-swagger applies the swagger default of X-Accept-Vulnerabilities when the header is absent.
DEFAULT_ACCEPT = (GENERIC_MIME, NATIVE_MIME)

SEVERITIES = ("None", "Unknown", "Negligible", "Low", "Medium", "High", "Critical")
FINAL_STATUSES = ("Success", "Error", "Stopped")
INITIAL_STATUSES = ("Pending", "Scheduled")


def severity_code(severity: str) -> int:
    """src/pkg/scan/vuln/severity.go: None = Unknown = 0 < Negligible < Low < Medium < High < Critical; else 99."""
    codes = {"None": 0, "Unknown": 0, "Negligible": 1, "Low": 2, "Medium": 3, "High": 4, "Critical": 5}
    return codes.get(severity, 99)


def project_severity(value: str) -> str:
    """ParseSeverityVersion3 on the project's `severity` metadata ("high" -> "High"; "negligible" -> "None")."""
    title = value[:1].upper() + value[1:].lower()
    if title in ("None", "Low", "Medium", "High", "Critical"):
        return title
    if title == "Negligible":
        return "None"
    return "Unknown"


@dataclass(frozen=True)
class Vulnerability:
    """One finding, serialised like Harbor's VulnerabilityItem (src/pkg/scan/vuln/report.go)."""

    id: str
    severity: str = "High"
    package: str = "libexample"
    version: str = "1.0.0"
    fix_version: str = ""
    description: str = ""
    status: str = ""
    links: tuple[str, ...] = ()
    cvss_v3: float | None = None
    vector_v3: str = ""
    cwe_ids: tuple[str, ...] = ()

    def to_json(self, digest: str) -> dict[str, object]:
        return {
            "id": self.id,
            "package": self.package,
            "version": self.version,
            "fix_version": self.fix_version,
            "severity": self.severity,
            "status": self.status,
            "description": self.description,
            "links": list(self.links) or [f"https://avd.aquasec.com/nvd/{self.id.lower()}"],
            "artifact_digests": [digest],
            "preferred_cvss": {
                "score_v3": self.cvss_v3,
                "score_v2": None,
                "vector_v3": self.vector_v3,
                "vector_v2": "",
            },
            "cwe_ids": list(self.cwe_ids) or None,
            "vendor_attributes": None,
        }


@dataclass(frozen=True)
class Outcome:
    """What a scan ends with and how long it takes.

    `status` is the final status (Success, Error, Stopped); `pending` seconds are spent Pending (or
    `initial_status`, e.g. "Scheduled"), then `duration` seconds Running.
    """

    status: str = "Success"
    vulnerabilities: tuple[Vulnerability, ...] = ()
    duration: float = 0.0
    pending: float = 0.0
    initial_status: str = "Pending"

    def __post_init__(self) -> None:
        if self.status not in FINAL_STATUSES:
            raise ValueError(f"Outcome.status must be one of {FINAL_STATUSES}, not {self.status!r}")
        if self.initial_status not in INITIAL_STATUSES:
            raise ValueError(f"Outcome.initial_status must be one of {INITIAL_STATUSES}")
        for vulnerability in self.vulnerabilities:
            if vulnerability.severity not in SEVERITIES:
                raise ValueError(f"unknown severity {vulnerability.severity!r} (one of {SEVERITIES})")

    @classmethod
    def clean(cls, *, duration: float = 0.0, pending: float = 0.0) -> Outcome:
        """A successful scan with no findings (severity "None")."""
        return cls(duration=duration, pending=pending)

    @classmethod
    def counts(
        cls,
        counts: Mapping[str, int],
        *,
        fixable: bool = True,
        prefix: str = "CVE-2024-",
        duration: float = 0.0,
        pending: float = 0.0,
    ) -> Outcome:
        """A successful scan with `counts` synthetic findings per severity, e.g. `{"High": 2, "Low": 1}`."""
        unknown = set(counts) - set(SEVERITIES)
        if unknown:
            raise ValueError(f"unknown severities {sorted(unknown)} (one of {SEVERITIES})")
        vulnerabilities = []
        serial = 1000
        for severity in SEVERITIES:
            for _ in range(counts.get(severity, 0)):
                serial += 1
                vulnerabilities.append(
                    Vulnerability(
                        id=f"{prefix}{serial}",
                        severity=severity,
                        package=f"lib{severity.lower()}{serial}",
                        version="1.0.0",
                        fix_version="1.0.1" if fixable else "",
                        description=f"synthetic {severity} finding",
                    )
                )
        return cls(vulnerabilities=tuple(vulnerabilities), duration=duration, pending=pending)

    @classmethod
    def severity(
        cls, severity: str, count: int = 1, *, fixable: bool = True, duration: float = 0.0, pending: float = 0.0
    ) -> Outcome:
        """A successful scan whose overall severity is `severity` ("None" gives a clean scan)."""
        if severity == "None":
            return cls(duration=duration, pending=pending)
        return cls.counts({severity: count}, fixable=fixable, duration=duration, pending=pending)

    @classmethod
    def error(cls, *, duration: float = 0.0, pending: float = 0.0) -> Outcome:
        """A scan that ends in Error (no report)."""
        return cls(status="Error", duration=duration, pending=pending)

    def with_timing(self, *, duration: float | None = None, pending: float | None = None) -> Outcome:
        return replace(
            self,
            duration=self.duration if duration is None else duration,
            pending=self.pending if pending is None else pending,
        )


def overall_severity(vulnerabilities: Iterable[Vulnerability]) -> tuple[str, dict[str, int], int, int]:
    """GetSeveritySummary: (severity, per-severity counts, total, fixable). Unknown findings leave it at None."""
    severity = "None"
    per: dict[str, int] = {}
    total = fixable = 0
    for item in vulnerabilities:
        total += 1
        per[item.severity] = per.get(item.severity, 0) + 1
        if severity_code(item.severity) > severity_code(severity):
            severity = item.severity
        if item.fix_version:
            fixable += 1
    return severity, per, total, fixable


@dataclass(eq=False)
class Report:
    """One scan report (per digest) and its timeline."""

    uuid: str
    digest: str
    outcome: Outcome
    queued_at: datetime
    start_at: datetime
    end_at: datetime
    stopped_at: datetime | None = None
    trigger: str = "MANUAL"

    def status(self, now: datetime) -> str:
        if self.stopped_at is not None and self.stopped_at <= now:
            return "Stopped"
        if now < self.start_at:
            return self.outcome.initial_status
        if now < self.end_at:
            return "Running"
        return self.outcome.status

    def final(self, now: datetime) -> bool:
        return self.status(now) in FINAL_STATUSES

    def start_time(self, now: datetime) -> datetime | None:
        """Task start (whole seconds: it is the job's status revision); Go's zero time until the job runs."""
        reached = min(now, self.stopped_at) if self.stopped_at is not None else now
        if reached < self.start_at:
            return None
        return self.start_at.replace(microsecond=0)

    def end_time(self, now: datetime) -> datetime | None:
        status = self.status(now)
        if status not in FINAL_STATUSES:
            return None
        if status == "Stopped" and self.stopped_at is not None:
            return self.stopped_at
        return self.end_at


@dataclass
class ScannerRegistration:
    name: str = "Trivy"
    vendor: str = "Aqua Security"
    version: str = "v0.64.1"

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "vendor": self.vendor, "version": self.version}


@dataclass
class Scanner:
    """The scanner of every project. Configure outcomes, then let scans run on the double's clock."""

    registration: ScannerRegistration = field(default_factory=ScannerRegistration)
    configured: bool = True  # False: no scanner registered (scan -> 412, no scan_overview, no vulnerabilities link)
    disabled: bool = False  # True: registered but deactivated (scan -> 412 "scanner Trivy is deactivated")
    mime_types: tuple[str, ...] = (GENERIC_MIME,)  # the report formats the scanner produces
    default: Outcome = field(default_factory=Outcome)
    by_digest: dict[str, Outcome] = field(default_factory=dict)
    by_tag: dict[str, Outcome] = field(default_factory=dict)  # "tag" or "project/repo:tag"
    reports: dict[str, Report] = field(default_factory=dict)
    history: list[tuple[str, str]] = field(default_factory=list)  # (digest, trigger) of every scan started

    # --- configuration -------------------------------------------------------------------------------------
    def set_default(self, outcome: Outcome) -> None:
        self.default = outcome

    def set_outcome(self, reference: str, outcome: Outcome) -> None:
        """Outcome for one artifact: a digest, a tag, or "project/repo:tag" (checked when a scan starts)."""
        if reference.startswith("sha256:"):
            self.by_digest[reference] = outcome
        else:
            self.by_tag[reference] = outcome

    def outcome_for(self, digest: str, repository: str, tags: Iterable[str]) -> Outcome:
        if digest in self.by_digest:
            return self.by_digest[digest]
        for tag in tags:
            for key in (f"{repository}:{tag}", tag):
                if key in self.by_tag:
                    return self.by_tag[key]
        return self.default

    # --- scans ---------------------------------------------------------------------------------------------
    def start(self, digest: str, outcome: Outcome, now: datetime, trigger: str = "MANUAL") -> Report:
        """Start a scan of `digest`; raises ScanConflict when one is Pending/Running."""
        old = self.reports.get(digest)
        if old is not None and not old.final(now):
            raise ScanConflict(old.status(now))
        start_at = now + timedelta(seconds=outcome.pending)
        report = Report(
            uuid=str(uuid.uuid4()),
            digest=digest,
            outcome=outcome,
            queued_at=now,
            start_at=start_at,
            end_at=start_at + timedelta(seconds=outcome.duration),
            trigger=trigger,
        )
        self.reports[digest] = report
        self.history.append((digest, trigger))
        return report

    def seed_report(self, digest: str, outcome: Outcome, end: datetime, status: str | None = None) -> Report:
        """A report that already exists (for `HarborDouble.seed`): final at `end`, or stuck in `status`."""
        far = end + timedelta(days=3650)
        if status in (None, *FINAL_STATUSES):
            outcome = replace(outcome, status=status or outcome.status)
            start = end - timedelta(seconds=outcome.duration)
            report = Report(str(uuid.uuid4()), digest, outcome, queued_at=start, start_at=start, end_at=end)
        elif status == "Running":
            report = Report(str(uuid.uuid4()), digest, outcome, queued_at=end, start_at=end, end_at=far)
        else:
            outcome = replace(outcome, initial_status=status or "Pending")
            report = Report(str(uuid.uuid4()), digest, outcome, queued_at=end, start_at=far, end_at=far)
        self.reports[digest] = report
        return report

    def stop(self, digest: str, now: datetime) -> bool:
        """Stop a running scan; False when there is no scan for the digest."""
        report = self.reports.get(digest)
        if report is None:
            return False
        if not report.final(now):
            report.stopped_at = now
        return True

    def complete(self, digest: str, now: datetime) -> None:
        """Make the scan of `digest` reach its final status now."""
        report = self.reports.get(digest)
        if report is None:
            raise KeyError(f"no scan report for {digest}")
        if report.final(now):
            return
        report.start_at = min(report.start_at, now)
        report.end_at = now

    def complete_all(self, now: datetime) -> int:
        count = 0
        for digest, report in self.reports.items():
            if not report.final(now):
                self.complete(digest, now)
                count += 1
        return count

    def forget(self, digest: str) -> None:
        self.reports.pop(digest, None)

    # --- what the API shows --------------------------------------------------------------------------------
    def summary(self, reports: list[Report], now: datetime) -> dict[str, object]:
        """NativeReportSummary of one report, or merged over an index's children (vuln/summary.go Merge)."""
        if len(reports) == 1:
            return self._summary(reports[0], now)
        return self._merged_summary(reports, now)

    def _summary(self, report: Report, now: datetime) -> dict[str, object]:
        status = report.status(now)
        start, end = report.start_time(now), report.end_time(now)
        summary: dict[str, object] = {
            "report_id": report.uuid,
            "scan_status": status,
            "start_time": fmt_time(start),
            "end_time": fmt_time(end),
        }
        duration = _duration(start, end)
        if duration:
            summary["duration"] = duration
        if status == "Success":
            severity, per, total, fixable = overall_severity(report.outcome.vulnerabilities)
            summary["severity"] = severity
            summary["summary"] = {"total": total, "fixable": fixable, "summary": per}
            summary["complete_percent"] = 100
            summary["scanner"] = self.registration.to_json()
        return summary

    def _merged_summary(self, reports: list[Report], now: datetime) -> dict[str, object]:
        """NativeReportSummary.Merge folded over the children in order (pkg/scan/vuln/summary.go Merge): status by
        MergeScanStatus (util.go: Running, then Stopped, then Success as soon as ONE child succeeded, else the later
        job status), complete_percent = successful * 100 / children, report ids joined by "|" and base64-encoded
        (mergeReportID), severity and counts from the successful children only and none while Running."""
        statuses = [report.status(now) for report in reports]
        status = statuses[0]
        report_id = reports[0].uuid
        for other, uuid_ in zip(statuses[1:], (r.uuid for r in reports[1:]), strict=True):
            status = merge_scan_status(status, other)
            report_id = merge_report_id(report_id, uuid_)
        starts = [report.start_time(now) for report in reports]
        ends = [report.end_time(now) for report in reports]
        start = None if None in starts else min(s for s in starts if s is not None)
        end = max((e for e in ends if e is not None), default=None)
        merged: dict[str, object] = {
            "report_id": report_id,
            "scan_status": status,
            "start_time": fmt_time(start),
            "end_time": fmt_time(end),
        }
        duration = _duration(start, end)
        if duration:
            merged["duration"] = duration
        succeeded = [report for report in reports if report.status(now) == "Success"]
        if status != "Running" and succeeded:
            findings = {(v.id, v.package, v.version): v for r in succeeded for v in r.outcome.vulnerabilities}
            severity, per, total, fixable = overall_severity(findings.values())
            merged["severity"] = severity
            merged["summary"] = {"total": total, "fixable": fixable, "summary": per}
        merged["complete_percent"] = len(succeeded) * 100 // len(reports)
        if succeeded:
            merged["scanner"] = self.registration.to_json()
        return merged

    def report_json(self, reports: list[Report], now: datetime) -> dict[str, object] | None:
        """The vulnerability report (additions/vulnerabilities), only once the scan succeeded."""
        if not reports or any(report.status(now) != "Success" for report in reports):
            return None
        items: list[dict[str, object]] = []
        findings: list[Vulnerability] = []
        for report in reports:
            for vulnerability in report.outcome.vulnerabilities:
                findings.append(vulnerability)
                items.append(vulnerability.to_json(report.digest))
        severity, _, _, _ = overall_severity(findings)
        return {
            "generated_at": fmt_time(max(report.end_at for report in reports)),
            "scanner": self.registration.to_json(),
            "severity": severity,
            "vulnerabilities": items,
        }


_GO_ZERO_UNIX = -62135596800  # time.Time{}.Unix()
_JOB_CODES = {"Pending": 0, "Scheduled": 1, "Running": 2, "Stopped": 3, "Error": 3, "Success": 3}  # job.Status.Code


def merge_scan_status(first: str, second: str) -> str:
    """pkg/scan/vuln/util.go MergeScanStatus: Running wins, then Stopped, then Success (an index counts as
    scanned when one child succeeded); otherwise the later job status (jobservice/job Status.After), ties to
    the second."""
    if "Running" in (first, second):
        return "Running"
    if "Stopped" in (first, second):
        return "Stopped"
    if "Success" in (first, second):
        return "Success"
    return first if _JOB_CODES.get(first, -1) > _JOB_CODES.get(second, -1) else second


def merge_report_id(first: str, second: str) -> str:
    """util.go mergeReportID: base64 of "<first decoded>|<second>"."""
    try:
        decoded = base64.b64decode(first, validate=True)
    except ValueError:
        decoded = first.encode()
    return base64.b64encode(decoded + b"|" + second.encode()).decode("ascii")


def parse_report_ids(value: str) -> list[str]:
    """util.go ParseReportIDs: base64-decoded when it decodes, split on "|"."""
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except ValueError:
        decoded = value
    return decoded.split("|")


def _duration(start: datetime | None, end: datetime | None) -> int:
    """max(end.Unix() - start.Unix(), 0) with Go's zero time for a missing end/start, as GenerateNativeSummary."""
    start_unix = int(start.timestamp()) if start else _GO_ZERO_UNIX
    end_unix = int(end.timestamp()) if end else _GO_ZERO_UNIX
    return max(end_unix - start_unix, 0)


class ScanConflict(Exception):
    """A scan is already Pending/Running (Harbor: 409 "a previous scan process is <status>")."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status

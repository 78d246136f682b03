"""The scan gate: does an artifact's Harbor scan let it through?

Harbor's severity order (src/pkg/scan/vuln/severity.go): None = Unknown < Negligible < Low < Medium < High <
Critical; anything unrecognised ranks above Critical (fail closed). An artifact passes only when its scan status is
``Success`` and its severity — after the allowlist and ``ignore_unfixed`` filters, which need the vulnerability
report — is below ``fail_on``. ``Pending``/``Scheduled``/``Running`` mean "not yet"; no report, ``Error``,
``Stopped`` or an unknown status never pass.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from harbor_image.models import ProjectPolicy, Report, ScanSummary, Vulnerability

SEVERITY_CODES = {"none": 0, "unknown": 0, "negligible": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
UNRECOGNISED = 99
FAIL_ON_VALUES = ("negligible", "low", "medium", "high", "critical")
NOT_YET = frozenset({"Pending", "Scheduled", "Running"})
FINAL = frozenset({"Success", "Error", "Stopped"})

State = Literal["pass", "fail", "wait", "unscanned", "needs_report"]


def severity_code(name: str) -> int:
    return SEVERITY_CODES.get(name.strip().lower(), UNRECOGNISED) if name else UNRECOGNISED


class Policy(NamedTuple):
    """The gate's knobs (``source.scan`` merged with put's ``params.scan``)."""

    enabled: bool = True
    fail_on: str = "high"
    allowlist: frozenset[str] = frozenset()
    ignore_unfixed: bool = False
    trigger: bool = True
    timeout: float = 600.0

    @property
    def needs_report(self) -> bool:
        return bool(self.allowlist) or self.ignore_unfixed

    def fingerprint(self) -> list[object]:
        """What changes verdicts (for cache keys): not trigger/timeout."""
        return [self.enabled, self.fail_on, sorted(self.allowlist), self.ignore_unfixed]


class Verdict(NamedTuple):
    state: State
    reason: str

    @property
    def passed(self) -> bool:
        return self.state == "pass"

    @property
    def final(self) -> bool:
        """A verdict that waiting will not change (pass, or a failed/stopped/errored scan)."""
        return self.state in ("pass", "fail")


def counted(vulnerabilities: tuple[Vulnerability, ...] | list[Vulnerability]) -> str:
    counts: dict[str, int] = {}
    for v in vulnerabilities:
        counts[v.severity] = counts.get(v.severity, 0) + 1
    if not counts:
        return "no vulnerabilities"
    ordered = sorted(counts, key=lambda name: (severity_code(name), name))
    return ", ".join(f"{counts[name]} {name}" for name in ordered)


def remaining(report: Report, policy: Policy) -> list[Vulnerability]:
    """The vulnerabilities that count once the allowlist and ignore_unfixed are applied."""
    return [
        v
        for v in report.vulnerabilities
        if v.id not in policy.allowlist and not (policy.ignore_unfixed and not v.fix_version)
    ]


def evaluate(summary: ScanSummary | None, policy: Policy, report: Report | None = None) -> Verdict:
    """The verdict for one artifact. ``needs_report`` asks the caller to fetch the report and call again."""
    if not policy.enabled:
        return Verdict("pass", "scan gate disabled")
    if summary is None:
        return Verdict("unscanned", "not scanned")
    if summary.status in NOT_YET:
        return Verdict("wait", f"scan {summary.status}")
    if summary.status != "Success":
        return Verdict("fail", f"scan {summary.status}")
    limit = SEVERITY_CODES[policy.fail_on]
    severity = summary.severity or "unrecognised"
    if severity_code(summary.severity) < limit:
        return Verdict("pass", f"{severity} < {policy.fail_on}")
    if not policy.needs_report:
        return Verdict("fail", f"{severity} ≥ {policy.fail_on} ({summary.counts_text()})")
    if report is None:
        return Verdict("needs_report", f"{severity} ≥ {policy.fail_on} before the allowlist/ignore_unfixed filters")
    left = remaining(report, policy)
    if not left and not report.vulnerabilities and severity_code(report.severity) >= limit:
        # a report that says High but lists nothing cannot be filtered: fail closed
        return Verdict("fail", f"{severity} ≥ {policy.fail_on} (the report lists no vulnerabilities to filter)")
    effective = max((severity_code(v.severity) for v in left), default=0)
    if effective < limit:
        shown = max(left, key=lambda v: severity_code(v.severity)).severity if left else "None"
        return Verdict("pass", f"{shown} < {policy.fail_on} after the allowlist/ignore_unfixed filters")
    worst = max(left, key=lambda v: severity_code(v.severity)).severity
    return Verdict("fail", f"{worst} ≥ {policy.fail_on} after the allowlist/ignore_unfixed filters ({counted(left)})")


def top_vulnerabilities(report: Report, policy: Policy, limit: int = 10) -> list[Vulnerability]:
    """The most severe vulnerabilities that count, fixable first, for failure messages."""
    counting = remaining(report, policy)
    counting.sort(key=lambda v: (-severity_code(v.severity), not v.fix_version, v.id, v.package))
    return counting[:limit]


NEEDS_REPORT = "needs the vulnerability report"
# An index whose every entry is an attestation manifest (platform unknown/unknown): nothing a pull by platform gets
NO_PLATFORM = "an image index with no platform image (only attestation manifests): never a version"
# A platform of a scanned index that has no report: Harbor's scan walk left it out (v2.11+: an in-toto layer)
NOT_SCANNED_BY_HARBOR = "Harbor does not scan it (v2.11+ skips a manifest with an in-toto layer): never a version"


def harbor_refusal(
    summary: ScanSummary | None, project: ProjectPolicy | None, now: float, report: Report | None = None
) -> str | None:
    """Why Harbor would refuse to serve an artifact that passed the gate, or None when it serves it.

    src/server/middleware/vulnerable/vulnerable.go Middleware + controller/scan GetVulnerable (v2.10 to v2.15.2):
    with ``prevent_vul`` a manifest pull is refused (412 PROJECTPOLICYVIOLATION) when a vulnerability that is not
    on the project allowlist (ignored once it expired) is at or above the project severity. No finding left means
    no severity, which is served. Returns :data:`NEEDS_REPORT` when only the report can tell (an allowlist).
    """
    if project is None or not project.prevent_vul or summary is None:
        return None
    findings = sum(summary.counts.values())
    if findings == 0:
        return None
    limit = severity_code(project.severity)
    rule = (
        f"Harbor refuses to serve it: project policy prevent_vul blocks pulls of images with vulnerabilities of "
        f"severity {project.severity} or higher"
    )
    if severity_code(summary.severity) < limit:
        return None
    allowlist = project.allowlist if project.expires_at is None or project.expires_at > now else frozenset()
    if not allowlist:
        return f"{rule} ({summary.severity}: {summary.counts_text()})"
    if report is None:
        return NEEDS_REPORT
    left = [v for v in report.vulnerabilities if v.id not in allowlist]
    worst = max((severity_code(v.severity) for v in left), default=-1)
    if worst < limit:
        return None
    return f"{rule} ({counted(left)} not on the project's CVE allowlist)"

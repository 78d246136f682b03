"""The scan gate: Harbor's severity order, statuses, allowlist / ignore_unfixed, fail closed."""

from __future__ import annotations

from typing import Any

import pytest
from harbor_image.gate import Policy, evaluate, severity_code, top_vulnerabilities
from harbor_image.models import REPORT_MIME_TYPES, Report, ScanSummary

V11, V10 = REPORT_MIME_TYPES


def overview(status: str = "Success", severity: str = "", counts: dict[str, int] | None = None, mime: str = V11) -> Any:
    entry: dict[str, Any] = {
        "report_id": "r-1",
        "scan_status": status,
        "complete_percent": 100 if status == "Success" else 0,
        "start_time": "2025-09-25T08:27:35.000Z",
        "end_time": "2025-09-25T08:27:39.000Z",
        "duration": 4,
    }
    if status == "Success":
        entry.update(
            severity=severity,
            summary={"total": sum((counts or {}).values()), "fixable": 0, "summary": counts or {}},
            scanner={"name": "Trivy", "vendor": "Aqua Security", "version": "v0.64.1"},
        )
    return {mime: entry}


def summary(*args: Any, **kwargs: Any) -> ScanSummary:
    parsed = ScanSummary.from_overview(overview(*args, **kwargs))
    assert parsed is not None
    return parsed


def report(*vulns: tuple[str, str, str]) -> Report:
    items = [
        {"id": vid, "package": "openssl", "version": "3.0.1", "fix_version": fix, "severity": sev, "links": None}
        for vid, sev, fix in vulns
    ]
    parsed = Report.from_additions({V11: {"severity": "High", "scanner": {"name": "Trivy"}, "vulnerabilities": items}})
    assert parsed is not None
    return parsed


def test_severity_order_is_harbors() -> None:
    ordered = ["None", "Negligible", "Low", "Medium", "High", "Critical"]
    assert [severity_code(s) for s in ordered] == sorted(severity_code(s) for s in ordered)
    assert severity_code("Unknown") == severity_code("None") == 0
    assert severity_code("Bogus") > severity_code("Critical")  # unrecognised fails closed
    assert severity_code("") > severity_code("Critical")


@pytest.mark.parametrize(
    ("severity", "fail_on", "passes"),
    [
        ("None", "negligible", True),
        ("Unknown", "negligible", True),
        ("Negligible", "negligible", False),
        ("Low", "medium", True),
        ("Medium", "medium", False),
        ("High", "high", False),
        ("Medium", "high", True),
        ("Critical", "critical", False),
        ("High", "critical", True),
        ("Weird", "critical", False),
    ],
)
def test_severity_below_fail_on_passes(severity: str, fail_on: str, passes: bool) -> None:
    verdict = evaluate(summary("Success", severity, {severity: 1}), Policy(fail_on=fail_on))
    assert verdict.passed is passes
    assert verdict.state == ("pass" if passes else "fail")


def test_failure_reason_names_severity_threshold_and_counts() -> None:
    verdict = evaluate(summary("Success", "High", {"High": 3, "Critical": 1, "Low": 2}), Policy())
    assert verdict.reason == "High ≥ high (2 Low, 3 High, 1 Critical)"


@pytest.mark.parametrize(("status", "state"), [("Pending", "wait"), ("Scheduled", "wait"), ("Running", "wait")])
def test_unfinished_scans_are_not_yet(status: str, state: str) -> None:
    verdict = evaluate(summary(status), Policy())
    assert verdict.state == state and not verdict.passed
    assert verdict.reason == f"scan {status}"


@pytest.mark.parametrize("status", ["Error", "Stopped", "Something"])
def test_failed_scans_never_pass(status: str) -> None:
    verdict = evaluate(summary(status), Policy(fail_on="critical"))
    assert verdict.state == "fail"
    assert verdict.final


def test_no_report_never_passes() -> None:
    assert ScanSummary.from_overview(None) is None
    assert ScanSummary.from_overview({}) is None
    verdict = evaluate(None, Policy(fail_on="critical"))
    assert verdict.state == "unscanned" and not verdict.passed


def test_disabled_gate_passes_everything() -> None:
    assert evaluate(None, Policy(enabled=False)).passed
    assert evaluate(summary("Success", "Critical", {"Critical": 9}), Policy(enabled=False)).passed


def test_both_mime_keys_are_understood() -> None:
    old = ScanSummary.from_overview(overview("Success", "Low", {"Low": 1}, mime=V10))
    assert old is not None and old.severity == "Low" and old.scanner == "Trivy v0.64.1"
    both = {**overview("Success", "Low", {"Low": 1}, mime=V10), **overview("Success", "High", {"High": 1})}
    preferred = ScanSummary.from_overview(both)
    assert preferred is not None and preferred.severity == "High"


def test_allowlist_needs_the_report_and_filters() -> None:
    policy = Policy(allowlist=frozenset({"CVE-1"}))
    scan = summary("Success", "High", {"High": 1, "Low": 1})
    assert evaluate(scan, policy).state == "needs_report"
    assert evaluate(scan, policy, report(("CVE-1", "High", "1.1"), ("CVE-2", "Low", ""))).passed
    failing = evaluate(scan, policy, report(("CVE-1", "High", "1.1"), ("CVE-3", "Critical", "")))
    assert failing.state == "fail"
    assert failing.reason == "Critical ≥ high after the allowlist/ignore_unfixed filters (1 Critical)"


def test_ignore_unfixed_drops_vulnerabilities_without_a_fix() -> None:
    policy = Policy(ignore_unfixed=True)
    scan = summary("Success", "Critical", {"Critical": 1})
    assert evaluate(scan, policy, report(("CVE-9", "Critical", ""))).passed
    assert not evaluate(scan, policy, report(("CVE-9", "Critical", "2.0"))).passed


def test_severity_below_threshold_does_not_need_the_report() -> None:
    assert evaluate(summary("Success", "Medium", {"Medium": 1}), Policy(allowlist=frozenset({"X"}))).passed


def test_a_report_that_lists_nothing_cannot_be_filtered_into_a_pass() -> None:
    empty = Report.from_additions({V11: {"severity": "High", "vulnerabilities": None}})
    assert empty is not None
    verdict = evaluate(summary("Success", "High", {"High": 1}), Policy(ignore_unfixed=True), empty)
    assert verdict.state == "fail"


def test_top_vulnerabilities_most_severe_and_fixable_first() -> None:
    listed = report(
        ("CVE-L", "Low", "1"), ("CVE-C2", "Critical", ""), ("CVE-C1", "Critical", "2"), ("CVE-A", "High", "")
    )
    top = top_vulnerabilities(listed, Policy(allowlist=frozenset({"CVE-A"})), limit=3)
    assert [v.id for v in top] == ["CVE-C1", "CVE-C2", "CVE-L"]
    assert top[0].line() == "CVE-C1 openssl 3.0.1 Critical (fixed in 2)"
    assert top[1].line() == "CVE-C2 openssl 3.0.1 Critical (no fix)"

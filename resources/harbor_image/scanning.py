"""Waiting for a Harbor scan and applying the gate to one artifact (in and out).

Polling is bounded by ``scan.timeout`` with a growing interval (1s → 10s). A scan we trigger replaces the
artifact's previous report; until Harbor shows a report other than the one seen before the POST, the old result
is not trusted.

An image index passes only when every platform's scan succeeded and passes: Harbor shows an index as ``Success``
as soon as one child succeeded (pkg/scan/vuln/util.go MergeScanStatus; ``complete_percent`` = successful * 100 /
children, summary.go Merge), so each platform is waited for and judged on its own. A passing artifact that Harbor
itself would refuse to serve (the project's ``prevent_vul``, :func:`harbor_image.gate.harbor_refusal`) fails.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from harbor_image.check import HarborAPI, short
from harbor_image.errors import ResourceError
from harbor_image.gate import (
    FINAL,
    NEEDS_REPORT,
    NO_PLATFORM,
    NOT_SCANNED_BY_HARBOR,
    NOT_YET,
    Policy,
    Verdict,
    evaluate,
    harbor_refusal,
    top_vulnerabilities,
)
from harbor_image.log import Log
from harbor_image.models import Artifact, Report


@dataclass(frozen=True)
class GateResult:
    artifact: Artifact
    verdict: Verdict
    report: Report | None


class Scanner:
    def __init__(
        self,
        client: HarborAPI,
        repository: str,
        project: str,
        log: Log,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.repository = repository
        self.project = project
        self.log = log
        self.sleep = sleep
        self.clock = clock

    def fetch(self, digest: str) -> Artifact:
        artifact = self.client.get_artifact(digest)
        if artifact is None:
            raise ResourceError(f"{self.repository}@{digest} is gone from Harbor (deleted or garbage-collected)")
        return artifact

    def trigger(self, digest: str) -> str:
        outcome = self.client.scan(digest)
        if outcome == "no-scanner":
            raise ResourceError(
                f"Harbor cannot scan {self.repository}@{short(digest)}: no scanner is configured or active for "
                f"project {self.project} (412); configure one, or set scan.enabled: false"
            )
        if outcome == "not-scannable":
            raise ResourceError(
                f"Harbor cannot scan {self.repository}@{short(digest)} (400: the scanner does not support this "
                f"artifact type); only images can pass the gate (or set scan.enabled: false)"
            )
        if outcome == "forbidden":
            raise ResourceError(
                f"Harbor refused to scan {self.repository}@{short(digest)} (403): grant the account scan:create on "
                f"project {self.project}, or set scan.trigger: false and let Harbor scan on push"
            )
        self.log.info(
            f"scan of {short(digest)} requested" if outcome == "accepted" else f"a scan of {short(digest)} is running"
        )
        return outcome

    def gate(self, digest: str, policy: Policy, timeout_text: str, *, always_scan: bool) -> GateResult:
        """Fetch, (re)scan when needed, wait for a final result, evaluate. ``always_scan``: put's fresh scan."""
        artifact = self.fetch(digest)
        if not policy.enabled:
            return GateResult(artifact, Verdict("pass", "scan gate disabled"), None)
        if artifact.is_index and not artifact.children:
            return GateResult(artifact, Verdict("fail", NO_PLATFORM), None)
        before = artifact.scan
        running = before is not None and before.status in NOT_YET
        needs_scan = before is None or before.status not in FINAL or before.status in ("Error", "Stopped")
        stale: tuple[str, str] | None = None
        if not running and (always_scan or needs_scan):
            if policy.trigger:
                outcome = self.trigger(digest)
                if outcome == "accepted" and before is not None:
                    stale = (before.report_id, before.end_time)
                artifact = self.fetch(digest)  # a fast scanner may be done already
            elif not always_scan:
                # get with scan.trigger false: nothing will scan it, so don't wait scan.timeout for nothing
                return GateResult(artifact, evaluate(before, policy), None)
            elif before is None:
                self.log.info(f"{short(digest)} has no scan and scan.trigger is false: waiting for one (auto-scan)")
        artifact = self.wait(artifact, stale, policy, timeout_text)
        scan = artifact.scan
        if artifact.is_index and scan is not None and scan.status == "Success":
            # every platform, also at 100 %: Harbor's merge counts only the platforms its scan walk collected
            return self.index_gate(artifact, policy, timeout_text)
        verdict = evaluate(scan, policy)
        report = None
        if scan is not None and scan.status == "Success":
            report = self.client.vulnerabilities(digest)
            if verdict.state == "needs_report":
                verdict = (
                    evaluate(scan, policy, report)
                    if report is not None
                    else Verdict("fail", "scan Success but Harbor returned no vulnerability report to filter")
                )
        if verdict.passed:
            verdict = self.harbor_policy(artifact, verdict, report)
        return GateResult(artifact, verdict, report)

    def index_gate(self, index: Artifact, policy: Policy, timeout_text: str) -> GateResult:
        """Every platform of an index: wait for its scan, then judge it; the first failing platform fails it."""
        deadline = self.clock() + policy.timeout  # one scan.timeout for all platforms together
        for digest in index.children:
            remaining = policy._replace(timeout=max(0.0, deadline - self.clock()))
            child = self.fetch(digest)
            if child.is_image and child.scan is None:
                # the index's scan is final and this platform has no report: Harbor's scan walk left it out
                # (collectScanningArtifacts -> HasUnscannableLayer); waiting would only spend scan.timeout
                reason = f"platform {short(digest)}: {NOT_SCANNED_BY_HARBOR}"
                return GateResult(index, Verdict("fail", reason), None)
            child = self.wait(child, None, remaining, timeout_text)
            if child.is_index:  # an index inside the index: its own platforms, judged the same way (as check does)
                inner = remaining._replace(timeout=max(0.0, deadline - self.clock()))
                result = (
                    self.index_gate(child, inner, timeout_text)
                    if child.children
                    else GateResult(child, Verdict("fail", NO_PLATFORM), None)
                )
            else:
                result = self.gate_child(child, policy)
            if not result.verdict.passed:
                reason = f"platform {short(digest)}: {result.verdict.reason}"
                return GateResult(index, Verdict("fail", reason), result.report)
        report = self.client.vulnerabilities(index.digest)
        verdict = self.harbor_policy(index, Verdict("pass", f"all {len(index.children)} platforms pass"), report)
        return GateResult(index, verdict, report)

    def gate_child(self, child: Artifact, policy: Policy) -> GateResult:
        verdict = evaluate(child.scan, policy)
        report = None
        if child.scan is not None and child.scan.status == "Success":
            report = self.client.vulnerabilities(child.digest)
            if verdict.state == "needs_report":
                verdict = evaluate(child.scan, policy, report) if report is not None else Verdict("fail", "no report")
        return GateResult(child, verdict, report)

    def harbor_policy(self, artifact: Artifact, verdict: Verdict, report: Report | None) -> Verdict:
        """Fail a passing artifact that Harbor would refuse to serve (prevent_vul)."""
        scan = artifact.scan
        if scan is None or not sum(scan.counts.values()):
            return verdict
        project = self.client.project_policy()
        if project is None:
            self.log.info(
                f"cannot read project {self.project} (grant the account project:read): Harbor's own pull policy "
                f"(prevent_vul) is not checked"
            )
            return verdict
        refusal = harbor_refusal(scan, project, time.time(), report)
        if refusal == NEEDS_REPORT:  # no report to apply the allowlist to: Harbor has none either
            refusal = harbor_refusal(scan, project._replace(allowlist=frozenset()), time.time())
        return verdict if refusal is None else Verdict("fail", refusal)

    def wait(self, artifact: Artifact, stale: tuple[str, str] | None, policy: Policy, timeout_text: str) -> Artifact:
        deadline = self.clock() + policy.timeout
        delay = 1.0
        last_status = None
        while True:
            scan = artifact.scan
            current = (scan.report_id, scan.end_time) if scan is not None else None
            waiting = scan is None or scan.status not in FINAL or (stale is not None and current == stale)
            if not waiting:
                return artifact
            status = "not started" if scan is None or (stale is not None and current == stale) else scan.status
            if status != last_status:
                self.log.info(f"waiting for the scan of {short(artifact.digest)}: {status}")
                last_status = status
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise ResourceError(
                    f"the scan of {self.repository}@{short(artifact.digest)} is still {status} after {timeout_text}; "
                    f"raise scan.timeout or check Harbor's scanner and job service"
                )
            self.sleep(min(delay, remaining))
            delay = min(delay * 1.5, 10.0)
            artifact = self.fetch(artifact.digest)


def failure_lines(result: GateResult, policy: Policy, limit: int = 10) -> list[str]:
    """The top vulnerabilities that make the gate fail (id, package, version, severity, fixed version)."""
    if result.report is None:
        return []
    top = top_vulnerabilities(result.report, policy, limit)
    lines = [f"  {v.line()}" for v in top]
    counting = len([v for v in result.report.vulnerabilities if v.id not in policy.allowlist])
    if counting > len(top):
        lines.append(f"  … and {counting - len(top)} more (see Harbor)")
    return lines

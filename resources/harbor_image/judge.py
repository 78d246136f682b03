"""Judging one artifact for check: the resource's gate, every platform of an index, Harbor's own pull policy, and
the bounded scan requests for unscanned ones. :class:`Judge` is the part of :class:`harbor_image.check.Checker`
that decides about a single artifact; the checker decides which artifacts, in which order.

* the gate (:func:`harbor_image.gate.evaluate`), with the vulnerability report when ``scan.allowlist`` or
  ``scan.ignore_unfixed`` need it (at most :data:`REPORT_LIMIT` a check; verdicts cached per report id);
* an image index whose merged scan is ``Success`` below 100 % (Harbor: one child succeeded, pkg/scan/vuln/util.go
  MergeScanStatus): each platform is judged, the index waits while any is unfinished and fails when any failed;
* Harbor's pull policy (``prevent_vul``, :func:`harbor_image.gate.harbor_refusal`), read at most every
  ``POLICY_MAX_AGE`` seconds here (the listing refreshes it every ``POLICY_TTL``);
* scan requests (at most :data:`TRIGGER_LIMIT` a check, not again within :data:`TRIGGER_COOLDOWN`): 412 no scanner
  and 403 not allowed are remembered for :data:`NO_SCANNER_COOLDOWN`, 400 not scannable for good.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from harbor_image.cache import State
from harbor_image.freshness import POLICY_MAX_AGE
from harbor_image.gate import (
    NEEDS_REPORT,
    NO_PLATFORM,
    NOT_SCANNED_BY_HARBOR,
    Policy,
    Verdict,
    evaluate,
    harbor_refusal,
)
from harbor_image.log import Log
from harbor_image.models import Artifact, ProjectPolicy, Report
from harbor_image.wire import Source

if TYPE_CHECKING:
    from harbor_image.check import HarborAPI

TRIGGER_LIMIT = 10  # scans POSTed per check
TRIGGER_COOLDOWN = 1800.0  # don't POST again for the same digest within this many seconds
NO_SCANNER_COOLDOWN = 600.0
REPORT_LIMIT = 25  # vulnerability reports read per check (allowlist / ignore_unfixed)


def merged_report_ids(report_id: str) -> frozenset[str]:
    """The platform report ids inside an index's merged report id: pkg/scan/vuln/util.go mergeReportID makes it the
    base64 of the ids joined by ``|`` (one platform: its id as it is, a UUID, not base64)."""
    try:
        decoded = base64.b64decode(report_id, validate=True).decode("utf-8")
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        return frozenset({report_id})
    return frozenset({report_id, *decoded.split("|")})


def short(digest: str) -> str:
    """``sha256:0123456789ab…`` for log lines."""
    algorithm, _, hexits = digest.partition(":")
    return f"{algorithm}:{hexits[:12]}…" if hexits else digest


class Judge:
    """Verdicts on single artifacts; the state it reads and writes is the checker's."""

    source: Source
    client: HarborAPI
    log: Log
    now: Callable[[], float]
    policy: Policy
    state: State

    def __init__(self) -> None:
        self.reports_left = REPORT_LIMIT
        self.triggers_left = TRIGGER_LIMIT
        self.no_scanner_reported = False
        self.scan_forbidden_reported = False
        self.policy_unknown_reported = False
        self.platforms: dict[str, Artifact] = {}  # platform manifests read ahead (prefetch_platforms)

    def prefetch_platforms(self, artifacts: list[Artifact]) -> None:
        """Read the platforms of every scanned index among ``artifacts`` whose verdict is not remembered, in
        batches (Harbor's ``digest={…}`` OR query, 50 digests a request) instead of one request per index: a first
        check of 1,000 two-platform indexes costs 40 requests for them, not 1,000."""
        wanted: list[str] = []
        for artifact in artifacts:
            scan = artifact.scan
            if not (self.policy.enabled and artifact.is_index and scan is not None and scan.status == "Success"):
                continue
            if scan.report_id and f"{artifact.digest} {scan.report_id}" in self.state.verdicts:
                continue
            wanted.extend(d for d in artifact.children if d not in self.platforms)
        if wanted:
            for child in self.client.artifacts_by_digest(sorted(set(wanted)), children=True):
                self.platforms[child.digest] = child

    @property
    def triggers_spent(self) -> int:
        """Scan requests this check sent."""
        return TRIGGER_LIMIT - self.triggers_left

    def verdict(self, artifact: Artifact) -> Verdict:
        """The resource's gate and Harbor's own pull policy, for an image or (through its platforms) an index."""
        if not artifact.is_image:
            return Verdict("fail", f"not an image (Harbor type {artifact.type}): never a version")
        if artifact.digest in self.state.unscannable:
            return Verdict("fail", "Harbor cannot scan it (400 on the scan request): never a version")
        if self.policy.enabled and artifact.is_index and not artifact.children:
            return Verdict("fail", NO_PLATFORM)
        scan = artifact.scan
        if self.policy.enabled and artifact.is_index and scan is not None and scan.status == "Success":
            # Harbor merges the platforms' scans: one Success makes the index Success, with the severity of the
            # successful platforms only (pkg/scan/vuln/util.go MergeScanStatus, summary.go Merge), and counts only
            # the platforms its scan walk collected — even 100 % may leave one out (index_verdict)
            return self.index_verdict(artifact)
        verdict = self.gate_verdict(artifact)
        if not verdict.passed or not self.policy.enabled:
            return verdict
        refusal = self.harbor_refusal(artifact)
        if refusal is None:
            return verdict
        if refusal == NEEDS_REPORT:  # the report budget is spent: decided on a later check, later versions wait
            return Verdict("needs_report", "the vulnerability report is read on a later check (project CVE allowlist)")
        return Verdict("fail", refusal)

    def gate_verdict(self, artifact: Artifact) -> Verdict:
        verdict = evaluate(artifact.scan, self.policy)
        if verdict.state != "needs_report":
            return verdict
        assert artifact.scan is not None
        remembered_key = f"{artifact.digest} {artifact.scan.report_id}" if artifact.scan.report_id else None
        if remembered_key and remembered_key in self.state.verdicts:
            state, reason = self.state.verdicts[remembered_key]
            if state in ("pass", "fail"):
                return Verdict("pass" if state == "pass" else "fail", reason)
        report = self.report(artifact.digest)
        if report is False:
            return Verdict("needs_report", "vulnerability report not read yet (read on a later check)")
        if report is None:
            result = Verdict("fail", "scan Success but Harbor returned no vulnerability report to filter")
        else:
            result = evaluate(artifact.scan, self.policy, report)
        if remembered_key and result.final:
            self.state.verdicts[remembered_key] = [result.state, result.reason]
            self.state.dirty = True
        return result

    def report(self, digest: str) -> Report | Literal[False] | None:
        """The vulnerability report within this check's budget; False when the budget is spent."""
        if self.reports_left <= 0:
            return False
        self.reports_left -= 1
        return self.client.vulnerabilities(digest)

    def index_verdict(self, index: Artifact) -> Verdict:
        """An index passes only when every platform's scan succeeded and passes; it waits while any is unfinished
        and fails when any errored or was stopped, or when Harbor's scan left a platform out."""
        # The verdict of the resource's own gate is final for these platform reports (the merged report id changes
        # when any platform is scanned again): remembered, so an index costs one request (its platforms) once, not on
        # every later check. Harbor's pull policy is applied again each time (the project's policy can change); on
        # a remembered pass it is applied to the index's merged summary, which then holds every platform's.
        assert index.scan is not None
        remembered_key = f"{index.digest} {index.scan.report_id}" if index.scan.report_id else None
        if remembered_key and remembered_key in self.state.verdicts:
            state, reason = self.state.verdicts[remembered_key]
            if state == "fail":
                return Verdict("fail", reason)
            if state == "pass":
                return self.served(index, Verdict("pass", reason))
        missing = sorted({d for d in index.children if d not in self.platforms})
        if missing:
            for platform in self.client.artifacts_by_digest(missing, children=True):
                self.platforms[platform.digest] = platform
        children = {d: self.platforms[d] for d in index.children if d in self.platforms}
        listed = merged_report_ids(index.scan.report_id) if index.scan.report_id else None
        waiting: list[str] = []
        for digest in index.children:
            child = children.get(digest)
            if child is None:
                return Verdict("fail", f"platform {short(digest)} is missing from Harbor")
            if listed is not None and child.scan is not None and child.scan.report_id not in listed:
                # Scanned again since the index was listed (a scan-all, a rescan): while a new scan starts Harbor
                # shows the new placeholder as Error (pkg/scan/vulnerability/vul.go assembleReports: no task yet).
                # Never a final verdict — it would let later versions pass this one for good.
                waiting.append(f"{short(digest)} being scanned again")
                continue
            if child.is_image and child.scan is None and self.still_listed(index):
                # The index has a scan, so every platform Harbor's scan walk collected has a report (placeholders
                # are made for all of them at once): this one was left out and never gets one. From v2.11 Harbor
                # skips a manifest with an in-toto layer (controller/scan/base_controller.go collectScanningArtifacts
                # -> HasUnscannableLayer), and the merged complete_percent does not count it.
                result = Verdict("fail", f"platform {short(digest)}: {NOT_SCANNED_BY_HARBOR}")
                if remembered_key:
                    self.state.verdicts[remembered_key] = [result.state, result.reason]
                    self.state.dirty = True
                return result
            if child.is_image and child.scan is None:  # its report went while a new scan starts: decided later
                waiting.append(f"{short(digest)} being scanned again")
                continue
            # A platform image is judged by the resource's gate only: Harbor's pull policy is applied below to the
            # index's merged summary (the worst of every platform, as a pull of the index meets it), so that a
            # refusal, which is not remembered, does not cost the platforms on every check
            verdict = self.gate_verdict(child) if child.is_image and not child.is_index else self.verdict(child)
            if verdict.state == "fail":
                result = Verdict("fail", f"platform {short(digest)}: {verdict.reason}")
                if remembered_key and child.is_image and self.gate_verdict(child).state == "fail":
                    self.state.verdicts[remembered_key] = [result.state, result.reason]
                    self.state.dirty = True
                return result
            if not verdict.passed:
                waiting.append(f"{short(digest)} {verdict.reason}")
        if waiting:
            done = len(index.children) - len(waiting)
            return Verdict("wait", f"{done} of {len(index.children)} platforms scanned ({'; '.join(waiting[:3])})")
        result = Verdict("pass", f"all {len(index.children)} platforms pass")
        if remembered_key:
            self.state.verdicts[remembered_key] = [result.state, result.reason]
            self.state.dirty = True
        return self.served(index, result)

    def still_listed(self, index: Artifact) -> bool:
        """Whether Harbor still shows ``index`` with the merged report it was listed with (one request): then a
        platform without a report was left out of its scan, not caught between a new scan's delete and create."""
        assert index.scan is not None
        again = self.client.artifacts_by_digest([index.digest])
        return bool(again) and again[0].scan is not None and again[0].scan.report_id == index.scan.report_id

    def served(self, index: Artifact, passed: Verdict) -> Verdict:
        """A passing index, unless Harbor's pull policy (applied to the merged summary) refuses it."""
        refusal = self.harbor_refusal(index)
        if refusal == NEEDS_REPORT:
            return Verdict("needs_report", "the vulnerability report is read on a later check")
        return passed if refusal is None else Verdict("fail", refusal)

    def harbor_refusal(self, artifact: Artifact) -> str | None:
        """Harbor's own pull policy (prevent_vul): would Harbor refuse to serve this passing artifact?"""
        scan = artifact.scan
        if scan is None or not sum(scan.counts.values()):
            return None  # nothing found: served whatever the policy (GetVulnerable leaves no severity)
        project = self.project_policy()
        refusal = harbor_refusal(scan, project, self.now())
        if refusal == NEEDS_REPORT:
            report = self.report(artifact.digest)
            if report is False:
                return NEEDS_REPORT
            if report is None:  # no report to apply the allowlist to: judge without it (fail closed, as put does)
                assert project is not None
                project = project._replace(allowlist=frozenset())
            refusal = harbor_refusal(scan, project, self.now(), report)
        return refusal

    def project_policy(self, *, due: float = POLICY_MAX_AGE) -> ProjectPolicy | None:
        """The project's pull policy, read when the cached one is older than ``due`` seconds."""
        state = self.state
        now = self.now()
        if state.policy_read_at is None or now - state.policy_read_at > due or now < state.policy_read_at:
            state.project_policy = self.client.project_policy()
            state.policy_read_at = now
            state.dirty = True
        if state.project_policy is None and not self.policy_unknown_reported:
            self.policy_unknown_reported = True
            self.log.info(
                f"cannot read project {self.source.project} (grant the robot project:read): Harbor's own pull "
                f"policy (prevent_vul) is not checked, so a version Harbor refuses to serve may be emitted"
            )
        return state.project_policy

    def maybe_trigger(self, artifact: Artifact) -> tuple[str, bool]:
        """POST a scan for an unscanned artifact (bounded, remembered).

        Returns the held-back reason and whether a scan can still come (then later versions wait for it).
        """
        if not self.policy.trigger:
            return "not scanned (scan.trigger is false: waiting for Harbor's scan on push)", True
        now = self.now()
        if self.state.no_scanner_until > now:
            self._report_no_scanner()
            return "not scanned (no scanner)", False
        if self.state.scan_forbidden_until > now:
            self._report_scan_forbidden()
            return "not scanned (the account may not start scans: scan:create)", False
        last = self.state.triggered.get(artifact.digest)
        if last is not None and now - last < TRIGGER_COOLDOWN:
            return "not scanned yet (scan requested)", True
        if self.triggers_left <= 0:
            return "not scanned (scan requested on a later check)", True
        self.triggers_left -= 1
        outcome = self.client.scan(artifact.digest)
        if outcome == "no-scanner":
            self.state.no_scanner_until = now + NO_SCANNER_COOLDOWN
            self.state.dirty = True
            self._report_no_scanner()
            return "not scanned (no scanner)", False
        if outcome == "forbidden":
            self.state.scan_forbidden_until = now + NO_SCANNER_COOLDOWN
            self.state.dirty = True
            self._report_scan_forbidden()
            return "not scanned (the account may not start scans: scan:create)", False
        if outcome == "not-scannable":
            self.state.unscannable[artifact.digest] = now
            self.state.dirty = True
            return "Harbor cannot scan it (400 on the scan request): never a version", False
        self.state.triggered[artifact.digest] = now
        self.state.dirty = True
        return ("not scanned: scan requested" if outcome == "accepted" else "scan already running"), True

    def _report_no_scanner(self) -> None:
        if not self.no_scanner_reported:
            self.no_scanner_reported = True
            self.log.info(
                f"Harbor has no usable scanner for project {self.source.project} (412): nothing can pass the gate "
                f"until one is configured (or set scan.enabled: false)"
            )

    def _report_scan_forbidden(self) -> None:
        if not self.scan_forbidden_reported:
            self.scan_forbidden_reported = True
            self.log.info(
                f"Harbor refused to start a scan (403): grant the robot scan:create on project "
                f"{self.source.project} (or set scan.trigger: false); unscanned images are held back, the rest "
                f"is emitted"
            )

    def held(self, artifact: Artifact, verdict: Verdict) -> tuple[str, bool]:
        """(reason, blocks): why a candidate is held back and whether later versions must wait for it."""
        if verdict.state == "unscanned":
            return self.maybe_trigger(artifact)
        return verdict.reason, verdict.state in ("wait", "needs_report")

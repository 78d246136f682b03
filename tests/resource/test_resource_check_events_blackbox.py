"""The property of check, run through the installed executable against the Harbor double: whatever the order of
pushes (by a tool that never pulls), scan completions, rescans, tag moves and deletes — on Harbor v2.15.2 and on
v2.14.4, whose update_time does not move on pushes — a check never skips a passing version newer than the given
one (it holds later versions back while an earlier one is still being scanned) and never emits one that does not
pass. (The in-process property test explores many more sequences;
this one proves the same logic holds with the real client, cache files and Harbor's API shapes.)
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from harbor_double import Outcome
from harbor_double.scanner import overall_severity, severity_code
from harbor_image.semver_select import SemverRules, Version
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from resource_helpers import Resource, make_team

TAGS = ["1.0.0", "1.1.0", "1.2.0", "2.0.0", "2.1.0"]
SEVERITIES = ["None", "Low", "Medium", "High", "Critical"]
index = st.integers(min_value=0, max_value=20)
EVENTS = st.lists(
    st.one_of(
        st.tuples(st.just("push"), index, st.sampled_from(SEVERITIES), st.booleans()),
        st.tuples(st.just("push"), index, st.sampled_from(SEVERITIES), st.booleans()),
        st.tuples(st.just("finish"), index),
        st.tuples(st.just("rescan"), index, st.sampled_from(SEVERITIES)),
        st.tuples(st.just("move"), index, index),
        st.tuples(st.just("delete"), index),
        st.tuples(st.just("check")),
        st.tuples(st.just("check")),
    ),
    min_size=3,
    max_size=14,
)


def unfinished(harbor: Any, digest: str) -> bool:
    report = harbor.scanner.reports.get(digest)
    return report is None or not report.final(harbor.clock.now())


def passes(harbor: Any, digest: str) -> bool:
    report = harbor.scanner.reports.get(digest)
    if report is None or report.status(harbor.clock.now()) != "Success":
        return False
    severity, _, _, _ = overall_severity(report.outcome.vulnerabilities)
    return severity_code(severity) < severity_code("High")


def versions_after(current: set[tuple[str, str]], floor: Version | None, rules: SemverRules) -> list[Any]:
    """(version, tag, digest) oldest first: semver mode's one version per digest (registry-image: a digest is a
    version once, by the tag best_tag picks), chosen among the digest's tags newer than the cursor (registry-image
    skips the lesser tags; a digest tagged 1.0.0 and 2.0.0 after a cursor 1.2.0 is version 2.0.0)."""
    by_digest: dict[str, list[str]] = {}
    for tag, digest in current:
        if floor is None or Version.parse(tag) > floor:
            by_digest.setdefault(digest, []).append(tag)
    found = []
    for digest, names in by_digest.items():
        best = rules.best_tag(names)
        assert best is not None
        found.append((best[1], best[0], digest))
    return sorted(found)


def apply(harbor: Any, event: tuple[Any, ...]) -> None:
    repository = "team/app"
    digests = sorted(harbor.digests(repository), key=lambda d: harbor.artifact(repository, d).id)
    harbor.clock.advance(5)
    if event[0] == "push":
        _, number, severity, finished = event
        start = harbor.clock.now() - timedelta(seconds=2)
        harbor.seed(
            repository,
            1,
            tags=lambda i: [TAGS[number % len(TAGS)]],
            scan=Outcome.severity(severity),
            scan_status=None if finished else "Running",
            start=start,
            salt=str(harbor.clock.now()),
        )
        return
    if not digests:
        return
    digest = digests[event[1] % len(digests)]
    if event[0] == "finish":
        if not harbor.scanner.reports[digest].final(harbor.clock.now()):
            harbor.complete_scans(digest, repository=repository)
    elif event[0] == "rescan":
        if harbor.scanner.reports[digest].final(harbor.clock.now()):
            harbor.rescan(repository, digest, Outcome.severity(event[2]))
    elif event[0] == "move":
        harbor.tag(repository, digest, TAGS[event[2] % len(TAGS)])
    elif event[0] == "delete":
        harbor.delete_artifact(repository, digest)


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(events=EVENTS, version=st.sampled_from(["v2.15.2-080b0220", "v2.14.4-1b3ec8a4"]))
# cursor 1.2.0; a passing digest gets 2.0.0, then 1.0.0 moves onto it: it is version 2.0.0 after the cursor (check
# used to represent it by 1.0.0, before the cursor, and never emitted it)
@example(
    events=[
        ("push", 2, "None", False),
        ("push", 0, "None", False),
        ("finish", 0),
        ("delete", 9),
        ("check",),
        ("push", 0, "None", False),
        ("finish", 11),
        ("push", 18, "None", True),
        ("move", 5, 0),
    ],
    version="v2.15.2-080b0220",
)
# 1.0.0 and 1.2.0 on one passing digest while 1.1.0 scans: that digest is one version, 1.0.0, before 1.1.0 (the
# model used to count 1.2.0 as a second version of it and call emitting 1.0.0 out of order)
@example(
    events=[("push", 0, "None", False), ("push", 1, "None", False), ("push", 2, "None", True), ("move", 2, 0)],
    version="v2.15.2-080b0220",
)
def test_check_against_the_double_never_misses_a_passing_version(
    harbor_server: Any, events: list[Any], version: str
) -> None:
    harbor = harbor_server
    harbor.reset()
    harbor.version = version
    rules = SemverRules()
    with tempfile.TemporaryDirectory() as workdir:
        resource = Resource(Path(workdir) / "cache")
        team = make_team(harbor, resource)
        source = team.source(semver=True)
        cursor: dict[str, str] | None = None
        for event in [*events, ("check",)]:
            if event[0] != "check":
                apply(harbor, event)
                continue
            out = resource.check(source, cursor).output
            tags = harbor.tags("team/app")
            for version in out:
                assert tags.get(version["tag"]) == version["digest"], f"{version} is not current"
                assert passes(harbor, version["digest"]), f"{version} was emitted but does not pass"
            current = {(t, d) for t, d in tags.items() if rules.version_of(t) is not None}
            valid = cursor is not None and tags.get(cursor["tag"]) == cursor["digest"]
            floor = Version.parse(cursor["tag"]) if valid and cursor is not None else None
            emitted_digests = {v["digest"] for v in out}
            newer = versions_after(current, floor, rules)
            for _, tag, digest in newer:
                if unfinished(harbor, digest):
                    # held back: nothing newer may come out before it
                    later = {d for v, _, d in newer if v > Version.parse(tag)} - {digest}
                    assert not (later & emitted_digests) or digest in emitted_digests, f"out of order: {out}"
                    break
                if passes(harbor, digest):
                    assert digest in emitted_digests, f"missed {tag}@{digest} (cursor {cursor}, out {out})"
            if out:
                cursor = out[-1]

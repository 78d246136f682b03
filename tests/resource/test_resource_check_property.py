"""check never misses a passing version newer than the given one, whatever the order of pushes, scan
completions, rescans, tag moves, deletes and pulls — and emits nothing that does not pass.

The events run against an in-process model of Harbor (``harbor_model.ModelHarbor``); the same Checker is run
against the real Harbor double by the black-box tests. Each check is a fresh Checker sharing the on-disk cache,
as consecutive check processes in one reused check container do.
"""

from __future__ import annotations

import io
import json
import tempfile
from typing import Any

from harbor_image.check import Checker, candidates
from harbor_image.log import Log
from harbor_image.semver_select import Version as Semver
from harbor_image.wire import Source, Version, decode_check
from harbor_model import ModelHarbor
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

SEMVER_TAGS = ["1.0.0", "1.1.0", "1.2.0-rc.1", "1.2.0", "v1.3.0", "2.0", "2.0.0", "latest", "nightly"]
REGEX_TAGS = ["build-1", "build-2", "build-3", "build-4", "build-5", "build-6", "other", "latest"]
SEVERITIES = ["None", "Low", "Medium", "High", "Critical"]

index = st.integers(min_value=0, max_value=64)
FINISH = st.tuples(st.just("finish"), index, st.sampled_from(SEVERITIES), st.booleans())
CHECK = st.tuples(st.just("check"))
RESCAN = st.tuples(st.just("rescan"), index)
# weights: scan changes (which do not move update_time) and checks dominate, so the warm path is exercised
EVENT = st.one_of(
    st.tuples(st.just("push"), index),
    st.tuples(st.just("push"), index),
    FINISH,
    FINISH,
    FINISH,
    FINISH,
    RESCAN,
    RESCAN,
    st.tuples(st.just("error"), index),
    st.tuples(st.just("delete"), index),
    st.tuples(st.just("move"), index, index),
    st.tuples(st.just("pull")),
    CHECK,
    CHECK,
    CHECK,
    CHECK,
    CHECK,
)


def source_for(mode: str, fail_on: str, allowlist: bool, pre_releases: bool) -> Source:
    source: dict[str, Any] = {"url": "https://harbor.test", "repository": "team/app"}
    if mode == "regex":
        source["tag_regex"] = "build-[0-9]+"
    else:
        source["semver"] = True
        if pre_releases:
            source["pre_releases"] = True
    source["scan"] = {"fail_on": fail_on, **({"allowlist": ["CVE-ALLOWED"]} if allowlist else {})}
    return decode_check(json.dumps({"source": source})).source


class Empty:
    tags: dict[str, int] = {}  # noqa: RUF012


def apply(model: ModelHarbor, event: tuple[Any, ...], tags: list[str]) -> None:
    ordered = sorted(model.artifacts, key=lambda d: model.artifacts[d].id)
    kind = event[0]
    if kind == "push":
        model.push(tags[event[1] % len(tags)])
        return
    if kind == "pull":
        model.pull()
        return
    if not ordered:
        return
    digest = ordered[event[1] % len(ordered)]
    if kind == "finish":
        model.finish_scan(digest, event[2], event[3])
    elif kind == "rescan":
        model.start_scan(digest)
    elif kind == "error":
        model.fail_scan(digest)
    elif kind == "delete":
        model.delete(digest)
    elif kind == "move":
        model.tag(tags[event[2] % len(tags)], digest)


def order_key(model: ModelHarbor, mode: str, tag: str, digest: str) -> Any:
    artifact = model.artifacts[digest]
    if mode == "semver":
        return Semver.parse(tag)
    return (artifact.tags[tag], artifact.push_ms, tag)


def verify(
    model: ModelHarbor, source: Source, cursor: Version | None, out: list[Version], fail_on: str, allow: bool
) -> None:
    mode = source.selection.mode
    truth = [model._api(a) for a in model.artifacts.values()]
    found = candidates(truth, source.selection)
    selectable = {(c.tag, c.digest) for c in found}

    def passes(digest: str) -> bool:
        return model.passes(digest, fail_on, allow)

    emitted = [(v.tag, v.digest) for v in out]
    assert len(set(emitted)) == len(emitted), f"duplicates in {emitted}"
    for tag, digest in emitted:
        assert digest in model.artifacts and tag in model.artifacts[digest].tags, f"{tag}@{digest} is not current"
        assert passes(digest), f"{tag}@{digest} was emitted but does not pass"

    valid = (
        cursor is not None
        and cursor.digest in model.artifacts
        and cursor.tag in model.artifacts[cursor.digest].tags
        and (
            source.selection.semver.version_of(cursor.tag) is not None
            if mode == "semver"
            else source.selection.regex is not None and source.selection.regex.fullmatch(cursor.tag) is not None
        )
    )
    if valid:
        assert cursor is not None
        start = order_key(model, mode, cursor.tag, cursor.digest)
        expected = [
            c
            for c in found
            if (c.tag, c.digest) != (cursor.tag, cursor.digest)
            and order_key(model, mode, c.tag, c.digest) > start
            and passes(c.digest)
        ]
        if passes(cursor.digest):
            assert emitted and emitted[0] == (cursor.tag, cursor.digest), "the still-valid cursor comes first"
        rest = emitted[1:] if emitted and emitted[0] == (cursor.tag, cursor.digest) else emitted
    else:
        expected = [c for c in found if passes(c.digest)]
        rest = emitted
    missing = [(c.tag, c.digest) for c in expected if (c.tag, c.digest) not in set(emitted)]
    assert not missing, f"missed passing versions {missing} (cursor {cursor}, valid {valid})"
    # the rest is in the mode's order and made of selectable versions
    assert all(pair in selectable for pair in rest)
    keys = [order_key(model, mode, tag, digest) for tag, digest in rest]
    assert keys == sorted(keys), f"not oldest first: {rest}"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mode=st.sampled_from(["regex", "semver"]),
    fail_on=st.sampled_from(["medium", "high", "critical"]),
    allowlist=st.booleans(),
    pre_releases=st.booleans(),
    seeded=st.integers(min_value=0, max_value=6),
    events=st.lists(EVENT, min_size=1, max_size=60),
)
def test_check_never_misses_a_passing_version(
    mode: str, fail_on: str, allowlist: bool, pre_releases: bool, seeded: int, events: list[tuple[Any, ...]]
) -> None:
    source = source_for(mode, fail_on, allowlist, pre_releases)
    tags = SEMVER_TAGS if mode == "semver" else REGEX_TAGS
    model = ModelHarbor()
    for number in range(seeded):  # a repository with history: passing versions and a first check
        model.finish_scan(model.push(tags[number]), "Low")
    if seeded:
        events = [("check",), *events]
    cursor: Version | None = None
    previous: Checker | None = None
    with tempfile.TemporaryDirectory() as cache:
        scans_changed = False
        for step in [*events, ("check",), ("check",)]:
            if step[0] != "check":
                apply(model, step, tags)
                scans_changed = step[0] in ("finish", "rescan", "error")
                previous = None
                continue
            model.tick(60_000)
            before = model.requests
            checker = Checker(source, model, Log(io.StringIO()), cache, now=lambda: model.now_ms / 1000)
            out = checker.run(cursor)
            used = model.requests - before
            event(f"path {checker.path}")
            if checker.path == "warm" and scans_changed:
                event("warm path after scan changes only")
            if checker.reports_left < 25:
                event("read a vulnerability report")
            if checker.triggers_left < 10:
                event("triggered a scan")
            verify(model, source, cursor, out, fail_on, allowlist)
            cursor_valid = cursor is not None and cursor.tag in model.artifacts.get(cursor.digest, Empty).tags
            if previous is not None and cursor_valid and previous.reports_left > 0:
                # nothing happened since the last check and the cursor is valid: the warm path, at most 2 requests
                # (a cursor whose tag moved counts as no cursor, and "every passing version" needs a cold walk)
                assert checker.path == "warm", "an unchanged repository must not need a cold walk"
                assert used <= 2, f"steady state used {used} requests"
            if out:
                cursor = out[-1]
            previous = checker
            scans_changed = False


@settings(max_examples=100, deadline=None)
@given(
    fail_on=st.sampled_from(["medium", "high"]),
    events=st.lists(
        st.one_of(
            st.tuples(st.just("push"), st.just(0)),
            st.tuples(st.just("finish"), index, st.sampled_from(SEVERITIES), st.just(False)),
            st.tuples(st.just("rescan"), index),
            st.tuples(st.just("check")),
        ),
        min_size=1,
        max_size=40,
    ),
)
def test_tag_mode_follows_one_tag(fail_on: str, events: list[tuple[Any, ...]]) -> None:
    source = decode_check(
        json.dumps({"source": {"url": "https://harbor.test", "repository": "team/app", "scan": {"fail_on": fail_on}}})
    ).source
    model = ModelHarbor()
    cursor: Version | None = None
    with tempfile.TemporaryDirectory() as cache:
        for step in [*events, ("check",)]:
            if step[0] != "check":
                apply(model, step, ["latest"])
                continue
            model.tick(60_000)
            before = model.requests
            out = Checker(source, model, Log(io.StringIO()), cache, now=lambda: model.now_ms / 1000).run(cursor)
            current = next((d for d, a in model.artifacts.items() if "latest" in a.tags), None)
            assert model.requests - before <= 3  # artifact by tag, cursor by digest, at most one scan POST
            for version in out:
                assert model.passes(version.digest, fail_on, False)
            if current is not None and model.passes(current, fail_on, False):
                assert out[-1] == Version("latest", current)
            elif current is not None:
                assert Version("latest", current) not in out
            if cursor is not None and cursor.digest in model.artifacts and model.passes(cursor.digest, fail_on, False):
                assert out[0] == cursor
            if out:
                cursor = out[-1]

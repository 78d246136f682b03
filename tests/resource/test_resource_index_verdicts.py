"""Index verdicts in check, against the request-level model of Harbor: judged at any complete_percent, remembered
by merged report id, platforms read in batches, Harbor's pull policy on the merged summary (request budgets hold)."""

from __future__ import annotations

import io
import tempfile

from harbor_image.check import Checker
from harbor_image.log import Log
from harbor_image.models import Artifact
from harbor_image.wire import Source, Version
from harbor_model import ModelHarbor
from test_resource_check_property import NEW_HARBOR, OLD_HARBOR, source_for


def run(
    model: ModelHarbor, source: Source, cache: str, cursor: Version | None
) -> tuple[list[Version], int, str]:
    log = io.StringIO()
    before = model.requests
    out = Checker(source, model, Log(log), cache, now=model.seconds).run(cursor)
    return out, model.requests - before, log.getvalue()


def test_index_refused_by_prevent_vul_costs_no_platform_request_per_check() -> None:
    """Indexes the gate passes but Harbor's prevent_vul refuses: steady checks stay within 2 requests."""
    source = source_for("semver", "critical", False, False)
    for version in (NEW_HARBOR, OLD_HARBOR):
        model = ModelHarbor(version=version)
        model.finish_scan(model.push("0.9.0"), "None")
        model.set_policy(True, "Low")
        for number in range(30):
            model.finish_scan(model.push(f"1.0.{number}", platforms=2), "Medium")
        with tempfile.TemporaryDirectory() as cache:
            cursor = None
            used = []
            for _ in range(4):
                model.tick(60_000)
                out, requests, _ = run(model, source, cache, cursor)
                used.append(requests)
                assert [v.tag for v in out] == ["0.9.0"]
                cursor = out[-1]
            assert max(used[1:]) <= 2, f"{version}: requests per check {used}"


def test_remembered_pass_then_prevent_vul_then_rescan_worse() -> None:
    source = source_for("semver", "critical", False, False)
    model = ModelHarbor()
    first = model.push("1.0.0", platforms=2)
    model.finish_scan(first, "Low")
    with tempfile.TemporaryDirectory() as cache:
        out, _, _ = run(model, source, cache, None)
        assert [v.tag for v in out] == ["1.0.0"]
        cursor = out[-1]
        model.set_policy(True, "Low")  # prevent_vul on after the remembered pass
        model.tick(400_000)
        out, _, log = run(model, source, cache, cursor)
        assert out == [], log
        model.set_policy(False)
        model.tick(400_000)
        model.start_scan(first)  # a rescan of one platform turns Critical
        model.finish_scan(first, "Low", platform=0)
        model.finish_scan(first, "Critical", platform=1)
        out, _, log = run(model, source, cache, cursor)
        assert out == [], log


def test_one_index_with_100_platforms() -> None:
    source = source_for("semver", "critical", False, False)
    model = ModelHarbor()
    model.finish_scan(model.push("1.0.0", platforms=100), "Low")
    with tempfile.TemporaryDirectory() as cache:
        out, requests, _ = run(model, source, cache, None)
        assert [v.tag for v in out] == ["1.0.0"]
        assert requests <= 1 + 1 + 2 + 2, requests  # listing, +systeminfo/policy, 2 platform batches
        model.tick(60_000)
        out, requests, _ = run(model, source, cache, out[-1])
        assert requests <= 2, requests


def test_a_rescan_between_listing_and_platforms_holds_the_index_back() -> None:
    """A scan-all starting between check's listing (index Success 100 %) and its read of the platforms: Harbor shows
    the new placeholders as Error (pkg/scan/vulnerability/vul.go assembleReports, no task yet). The index must wait
    — a fail would let 1.2.0 pass it and lose 1.1.0 for good — and come out in order once the rescan is done."""
    source = source_for("semver", "critical", False, False)
    model = ModelHarbor()
    model.finish_scan(model.push("1.0.0"), "Low")
    index = model.push("1.1.0", platforms=2)
    model.finish_scan(index, "Low")
    model.finish_scan(model.push("1.2.0"), "Low")
    listing = model.artifacts_by_digest

    def rescan_starts(digests: list[str], *, children: bool = False) -> list[Artifact]:
        if children:
            model.artifacts_by_digest = listing  # type: ignore[method-assign]
            model.fail_scan(index)  # every platform: a new report id, status Error
        return listing(digests, children=children)

    model.artifacts_by_digest = rescan_starts  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory() as cache:
        out, _, log = run(model, source, cache, None)
        assert [v.tag for v in out] == ["1.0.0"], log
        assert "being scanned again" in log
        model.finish_scan(index, "Low")
        model.tick(60_000)
        out, _, log = run(model, source, cache, out[-1])
        assert [v.tag for v in out] == ["1.0.0", "1.1.0", "1.2.0"], log


def test_a_platform_that_is_not_an_image_fails_the_index_without_waiting() -> None:
    source = source_for("semver", "critical", False, False)
    model = ModelHarbor()
    index = model.push("1.0.0", platforms=2)
    model.finish_scan(index, "Low")
    model.children[model.artifacts[index].children[1]].type = "CHART"
    model.finish_scan(model.push("1.1.0"), "Low")
    with tempfile.TemporaryDirectory() as cache:
        out, _, log = run(model, source, cache, None)
    assert [v.tag for v in out] == ["1.1.0"], log  # failed, not held back: 1.1.0 does not wait behind it
    assert "not an image (Harbor type CHART)" in log

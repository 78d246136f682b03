"""Red-team (rt-f) probes of the index judging at any complete_percent, the remembered index verdict and the
batched platform prefetch."""

from __future__ import annotations

import io
import tempfile

from harbor_image.check import Checker
from harbor_image.log import Log
from harbor_model import ModelHarbor
from test_resource_check_property import NEW_HARBOR, OLD_HARBOR, source_for


def run(model, source, cache, cursor):
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

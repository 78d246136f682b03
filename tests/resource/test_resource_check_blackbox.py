"""check, black-box: the installed executable against the Harbor double (real registry and images behind it)."""

from __future__ import annotations

import json
import math
import time
from datetime import timedelta
from typing import Any

import pytest
from harbor_double import Outcome, Vulnerability
from resource_helpers import Resource, Team


def api_requests(harbor: Any) -> list[Any]:
    return [r for r in harbor.requests if r.path.startswith("/api/")]


def settle(resource: Resource, source: dict[str, Any], cursor: dict[str, str]) -> None:
    """The checks a new cache needs before update_time is trusted: the first check read the project's pull policy;
    these read Harbor's version, then the repository's update_time (freshness.py)."""
    for _ in range(2):
        assert resource.check(source, cursor).output[-1] == cursor


def versions(run: Any) -> list[tuple[str, str]]:
    return [(v["tag"], v["digest"]) for v in run.output]


# -- tag mode -------------------------------------------------------------------------------------------------


def test_tag_mode_follows_latest_through_the_gate(team: Team, resource: Resource, images: Any) -> None:
    harbor = team.harbor
    first = harbor.push(images.build("tag-1"), "team/app", "latest")
    source = team.source()

    run = resource.check(source)  # not scanned yet: held back, and the scan is requested
    assert run.output == []
    assert f"{first[:19]}… latest: not scanned: scan requested" in run.stderr
    assert [r.method for r in api_requests(harbor)] == ["GET", "POST"]

    run = resource.check(source)
    assert versions(run) == [("latest", first)]

    second = harbor.push(images.build("tag-2"), "team/app", "latest")
    harbor.scanner.set_outcome(second, Outcome.counts({"High": 3, "Critical": 1}))
    harbor.rescan("team/app", second)
    harbor.reset_requests()
    run = resource.check(source, {"tag": "latest", "digest": first})
    assert versions(run) == [("latest", first)]  # the cursor is still valid; the new digest fails the gate
    assert f"{second[:19]}… latest: Critical ≥ high (3 High, 1 Critical)" in run.stderr
    assert len(api_requests(harbor)) == 2  # the tag, and the cursor by digest

    harbor.rescan("team/app", second, Outcome.severity("Low"))
    run = resource.check(source, {"tag": "latest", "digest": first})
    assert versions(run) == [("latest", first), ("latest", second)]


def test_tag_mode_missing_tag_is_no_version(team: Team, resource: Resource) -> None:
    run = resource.check(team.source(tag="1.0.0"))
    assert run.output == []
    assert "team/app:1.0.0 does not exist (yet)" in run.stderr


# -- tag_regex and semver ----------------------------------------------------------------------------------------


def test_regex_mode_orders_by_push_time_and_explains_held_back_versions(
    team: Team, resource: Resource, images: Any
) -> None:
    harbor = team.harbor
    harbor.scanner.set_default(Outcome.severity("Low"))
    harbor.scanner.set_outcome("build-3", Outcome.counts({"High": 2}))
    harbor.scanner.set_outcome("build-4", Outcome.severity("Low", duration=3600))
    digests = {}
    for number in (2, 1, 3, 4):  # push order, not name order
        digests[number] = harbor.push(images.build(f"regex-{number}"), "team/app", f"build-{number}")
        harbor.rescan("team/app", f"build-{number}")
    harbor.push(images.build("regex-other"), "team/app", "other")
    source = team.source(tag_regex="build-[0-9]+")

    run = resource.check(source)
    assert versions(run) == [("build-2", digests[2]), ("build-1", digests[1])]
    assert f"{digests[3][:19]}… build-3: High ≥ high (2 High)" in run.stderr
    assert f"{digests[4][:19]}… build-4: scan Running" in run.stderr
    assert "other" not in run.stdout


def test_semver_mode_keeps_registry_image_semantics(team: Team, resource: Resource, images: Any) -> None:
    harbor = team.harbor
    harbor.scanner.set_default(Outcome.clean())
    pushed = {}
    for tag in ("1.0.0", "v1.2.0", "1.2.1-rc.1", "1.3", "2.0.0", "latest"):
        pushed[tag] = harbor.push(images.build(f"semver-{tag}"), "team/app", tag)
        harbor.rescan("team/app", tag)
    source = team.source(semver=True, semver_constraint="^1.0.0")
    assert versions(resource.check(source)) == [
        ("1.0.0", pushed["1.0.0"]),
        ("v1.2.0", pushed["v1.2.0"]),
        ("1.3", pushed["1.3"]),
    ]
    with_pre = team.source(semver=True, semver_constraint=">=1.0.0-0 <2.0.0", pre_releases=True)
    assert [t for t, _ in versions(resource.check(with_pre))] == ["1.0.0", "v1.2.0", "1.2.1-rc.1", "1.3"]
    # a cursor whose tag moved to another digest counts as no cursor: every passing version again
    harbor.tag("team/app", pushed["2.0.0"], "1.3")
    run = resource.check(source, {"tag": "1.3", "digest": pushed["1.3"]})
    assert [t for t, _ in versions(run)] == ["1.0.0", "v1.2.0", "1.3"]
    assert versions(run)[-1] == ("1.3", pushed["2.0.0"])


def test_nested_repository_names_are_double_encoded(team: Team, resource: Resource, images: Any) -> None:
    harbor = team.harbor
    harbor.scanner.set_default(Outcome.clean())
    digest = harbor.push(images.build("nested"), "team/apps/web", "1.0.0")
    harbor.rescan("team/apps/web", digest)
    run = resource.check(team.source("team/apps/web", semver=True))
    assert versions(run) == [("1.0.0", digest)]
    assert all("apps%252Fweb" in r.path for r in api_requests(harbor) if "/repositories/" in r.path)


# -- the request budget --------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [250, 10_000])
def test_request_budget_cold_and_steady(team: Team, resource: Resource, count: int) -> None:
    harbor = team.harbor
    seeded = harbor.seed("team/app", count, tags=lambda i: [f"1.0.{i}"], scan=Outcome.severity("Low"))
    source = team.source(semver=True)
    harbor.reset_requests()
    started = time.perf_counter()
    run = resource.check(source)
    cold_seconds = time.perf_counter() - started
    assert len(run.output) == count
    assert run.output[-1] == {"tag": f"1.0.{count - 1}", "digest": seeded[-1].digest}
    cold = len(api_requests(harbor))
    assert cold <= math.ceil(count / 100) + 1, f"cold check used {cold} requests"

    cursor = run.output[-1]
    assert api_requests(harbor)[0].path.endswith("/projects/team")  # the pull policy, in place of the repository
    # a new cache's next checks list too, reading Harbor's version (v2.15.2: update_time is trusted), then the
    # repository's update_time — each within the cold budget
    for path in ("/systeminfo", "/repositories/app"):
        harbor.reset_requests()
        run = resource.check(source, cursor)
        assert run.output == [cursor]
        assert len(api_requests(harbor)) <= math.ceil(count / 100) + 1
        assert api_requests(harbor)[0].path.endswith(path), [r.path for r in api_requests(harbor)]
    for _ in range(3):
        harbor.reset_requests()
        run = resource.check(source, cursor)
        assert run.output == [cursor]
        assert len(api_requests(harbor)) <= 2, [r.url for r in api_requests(harbor)]

    # a new version is pushed and scanned: cold again, then steady
    # pushed now (the double backdates seeds; its scan report finished a second after the push)
    harbor.clock.advance(5)
    start = harbor.clock.now() - timedelta(seconds=2)
    harbor.seed("team/app", 1, tags=lambda i: ["1.1.0"], scan=Outcome.severity("Low"), salt="new", start=start)
    harbor.reset_requests()
    run = resource.check(source, cursor)
    assert [v["tag"] for v in run.output] == [f"1.0.{count - 1}", "1.1.0"]
    assert len(api_requests(harbor)) <= math.ceil((count + 1) / 100) + 1
    print(f"cold check of {count}: {cold} requests, {cold_seconds:.2f}s")


def test_steady_state_sees_scan_completions_without_listing(team: Team, resource: Resource) -> None:
    """A scan finishing does not move update_time: the held-back artifacts are re-read by digest."""
    harbor = team.harbor
    harbor.seed("team/app", 300, tags=lambda i: [f"1.0.{i}"], scan=Outcome.severity("Low"))
    pending = harbor.seed("team/app", 2, tags=lambda i: [f"2.0.{i}"], scan_status="Running", salt="p")
    source = team.source(semver=True)
    cursor = resource.check(source).output[-1]
    assert cursor["tag"] == "1.0.299"
    settle(resource, source, cursor)
    harbor.reset_requests()
    assert resource.check(source, cursor).output == [cursor]
    assert len(api_requests(harbor)) == 2
    harbor.complete_scans()  # they finish with the default outcome (clean)
    harbor.reset_requests()
    run = resource.check(source, cursor)
    assert versions(run) == [("1.0.299", cursor["digest"]), ("2.0.0", pending[0].digest), ("2.0.1", pending[1].digest)]
    assert len(api_requests(harbor)) == 2
    query = api_requests(harbor)[1].params["q"][0]
    assert query.startswith("digest={") and cursor["digest"] in query


def test_a_rescan_that_finds_a_critical_withdraws_the_cursor(team: Team, resource: Resource) -> None:
    harbor = team.harbor
    seeded = harbor.seed("team/app", 3, tags=lambda i: [f"1.0.{i}"], scan=Outcome.severity("Low"))
    source = team.source(semver=True)
    cursor = resource.check(source).output[-1]
    settle(resource, source, cursor)
    harbor.rescan("team/app", seeded[-1].digest, Outcome.severity("Critical"))
    harbor.reset_requests()
    run = resource.check(source, cursor)
    assert run.output == []
    assert "1.0.2: Critical ≥ high (1 Critical) (the current version)" in run.stderr
    assert len(api_requests(harbor)) == 2


def test_allowlist_reads_each_report_once(team: Team, resource: Resource) -> None:
    harbor = team.harbor
    allowed = Outcome(vulnerabilities=(Vulnerability("CVE-2024-0001", "Critical", fix_version="1.1"),))
    seeded = harbor.seed("team/app", 5, tags=lambda i: [f"1.0.{i}"], scan=allowed)
    source = team.source(semver=True, scan={"allowlist": ["CVE-2024-0001"]})
    run = resource.check(source)
    assert [v["tag"] for v in run.output] == [f"1.0.{i}" for i in range(5)]
    reads = [r for r in api_requests(harbor) if r.path.endswith("/additions/vulnerabilities")]
    assert len(reads) == 5
    settle(resource, source, run.output[-1])
    harbor.reset_requests()
    assert resource.check(source, run.output[-1]).output == [run.output[-1]]
    assert len(api_requests(harbor)) == 2  # verdicts are remembered per (digest, report)
    harbor.rescan("team/app", seeded[-1].digest, Outcome.counts({"Critical": 1}, prefix="CVE-2025-"))
    harbor.reset_requests()
    run = resource.check(source, run.output[-1])
    assert run.output == []  # a new report: read again, and this one is not allowlisted
    assert len([r for r in api_requests(harbor) if r.path.endswith("/additions/vulnerabilities")]) == 1


def test_ignore_unfixed(team: Team, resource: Resource) -> None:
    harbor = team.harbor
    unfixed = Outcome(vulnerabilities=(Vulnerability("CVE-2024-7", "Critical", fix_version=""),))
    harbor.seed("team/app", 1, tags=lambda i: ["1.0.0"], scan=unfixed)
    assert resource.check(team.source(semver=True)).output == []
    assert len(resource.check(team.source(semver=True, scan={"ignore_unfixed": True})).output) == 1


def test_repository_without_read_permission_still_works(harbor: Any, resource: Resource) -> None:
    harbor.create_project("team")
    robot = harbor.add_robot("team", "old", access=[("artifact", "list"), ("artifact", "read"), ("scan", "create")])
    resource.secrets.add(robot.secret)
    seeded = harbor.seed("team/app", 2, tags=lambda i: [f"1.0.{i}"], scan=Outcome.clean())
    source = {
        "url": harbor.url,
        "repository": "team/app",
        "insecure": True,
        "username": robot.name,
        "password": robot.secret,
        "semver": True,
    }
    run = resource.check(source)
    assert [v["digest"] for v in run.output] == [s.digest for s in seeded]
    assert "grant the robot project:read" in run.stderr
    settle(resource, source, run.output[-1])
    run = resource.check(source, run.output[-1])
    assert "grant repository:read" in run.stderr


def test_missing_repository_is_no_version(team: Team, resource: Resource) -> None:
    run = resource.check(team.source("team/nothing", tag_regex=".*"))
    assert run.output == []
    assert "team/nothing has no tagged artifacts (yet)" in run.stderr


def test_no_scanner_is_reported_once(team: Team, resource: Resource) -> None:
    harbor = team.harbor
    harbor.scanner.configured = False
    harbor.seed("team/app", 3, tags=lambda i: [f"1.0.{i}"])
    run = resource.check(team.source(semver=True))
    assert run.output == []
    assert run.stderr.count("no usable scanner") == 1
    assert len([r for r in harbor.requests if r.method == "POST"]) == 1  # remembered after the first 412
    run = resource.check(team.source(semver=True))
    assert run.stderr.count("no usable scanner") == 1
    assert len([r for r in harbor.requests if r.method == "POST"]) == 1


def test_scan_disabled_is_a_plain_tag_resource(team: Team, resource: Resource) -> None:
    team.harbor.seed("team/app", 2, tags=lambda i: [f"1.0.{i}"])
    run = resource.check(team.source(semver=True, scan={"enabled": False}))
    assert [v["tag"] for v in run.output] == ["1.0.0", "1.0.1"]
    assert not [r for r in team.harbor.requests if r.method == "POST"]


# -- HTTP behaviour ------------------------------------------------------------------------------------------


def test_429_with_retry_after_is_honoured(team: Team, resource: Resource) -> None:
    harbor = team.harbor
    harbor.seed("team/app", 1, tags=lambda i: ["1.0.0"], scan=Outcome.clean())
    fault = harbor.faults.add(r"/artifacts$", method="GET", times=1, status=429, retry_after=2)
    started = time.perf_counter()
    run = resource.check(team.source(semver=True))
    assert len(run.output) == 1
    assert fault.hits == 1
    assert time.perf_counter() - started >= 2.0


def test_503_then_success_and_connection_reset(team: Team, resource: Resource) -> None:
    harbor = team.harbor
    harbor.seed("team/app", 1, tags=lambda i: ["1.0.0"], scan=Outcome.clean())
    unavailable = harbor.faults.add(r"/projects/team$", times=2, status=503)
    reset = harbor.faults.add(r"/artifacts$", times=1, reset=True)
    run = resource.check(team.source(semver=True))
    assert len(run.output) == 1
    assert (unavailable.hits, reset.hits) == (2, 1)


def test_persistent_errors_give_up_with_harbors_message(team: Team, resource: Resource) -> None:
    harbor = team.harbor
    harbor.faults.add(r"/artifacts/latest$", times=100, status=502)
    run = resource.check(team.source())
    assert run.returncode == 1
    assert "Harbor answered 502" in run.stderr
    assert len(api_requests(harbor)) == 5  # bounded


def test_wrong_password_is_401_with_a_hint(team: Team, resource: Resource) -> None:
    source = team.source(password="definitely-wrong-" + team.password)
    run = resource.check(source)
    assert run.returncode == 1
    assert "401" in run.stderr and "check source.username and source.password" in run.stderr
    assert "UNAUTHORIZED: unauthorized" in run.stderr


def test_harbor_down(team: Team, resource: Resource) -> None:
    with team.harbor.offline():
        run = resource.check(team.source())
    assert run.returncode == 1
    assert "cannot reach Harbor" in run.stderr


def test_never_sends_cookies(team: Team, resource: Resource) -> None:
    harbor = team.harbor
    harbor.seed("team/app", 2, tags=lambda i: [f"1.0.{i}"])  # unscanned: check POSTs scans (writes)
    resource.check(team.source(semver=True))
    assert [r.method for r in harbor.requests].count("POST") == 2
    assert all(r.cookies == () for r in harbor.requests)
    assert all(r.auth_scheme == "Basic" for r in harbor.requests)
    assert all(r.status != 403 for r in harbor.requests)


def test_debug_logs_requests_without_secrets(team: Team, resource: Resource) -> None:
    team.harbor.seed("team/app", 1, tags=lambda i: ["1.0.0"], scan=Outcome.clean())
    run = resource.check(team.source(semver=True, debug=True))
    assert "debug: GET /api/v2.0/projects/team -> 200" in run.stderr
    assert "check: 2 HTTP request(s)" in run.stderr
    failing = resource.check(team.source(semver=True, debug=True, password="wrong-" + team.password))
    assert failing.returncode == 1 and "-> 401" in failing.stderr


def test_tls_with_ca_certs(team_tls: Team, resource: Resource) -> None:
    harbor = team_tls.harbor
    harbor.seed("team/app", 1, tags=lambda i: ["1.0.0"], scan=Outcome.clean())
    assert len(resource.check(team_tls.source(semver=True)).output) == 1
    untrusted = team_tls.source(semver=True)
    del untrusted["ca_certs"]
    run = resource.check(untrusted)
    assert run.returncode == 1
    assert "TLS verification failed" in run.stderr and "source.ca_certs" in run.stderr


def test_the_cache_holds_no_secret(team: Team, resource: Resource) -> None:
    team.harbor.seed("team/app", 3, tags=lambda i: [f"1.0.{i}"], scan=Outcome.clean())
    resource.check(team.source(semver=True))
    files = list(resource.cache_dir.iterdir())
    assert len(files) == 1 and files[0].name.endswith(".json")
    text = files[0].read_text()
    assert team.password not in text and "Basic" not in text
    assert len(json.loads(text)["artifacts"]) == 3

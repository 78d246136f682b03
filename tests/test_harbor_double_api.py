"""The Harbor double's /api/v2.0 answers like Harbor v2.15.2: routing, paging, queries, auth, CSRF, tags, scans.

These tests pin the quirks the resource type must cope with. They use synthetic artifacts (`harbor.seed`), so they
need no registry traffic; tests/test_harbor_double_registry.py covers pushes and pulls through the double.
"""

from __future__ import annotations

import http.client
import re
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from harbor_double import GENERIC_MIME, NATIVE_MIME, HarborDouble, HarborError, HttpReply, Outcome, Vulnerability

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ZERO = "0001-01-01T00:00:00.000Z"


def artifacts(harbor: HarborDouble, repository: str, query: str = "") -> list[Any]:
    reply = harbor.request("GET", harbor.api_path(repository, "/artifacts" + query))
    assert reply.status == 200, reply.body
    data = reply.json()
    assert isinstance(data, list)
    return data


def artifact(harbor: HarborDouble, repository: str, reference: str, query: str = "") -> Any:
    reply = harbor.request("GET", harbor.api_path(repository, f"/artifacts/{reference}{query}"))
    assert reply.status == 200, reply.body
    data = reply.json()
    assert isinstance(data, dict)
    return data


def error(reply: HttpReply) -> tuple[int, str, str]:
    """(status, code, message) of a Harbor error reply, after checking its envelope."""
    assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
    assert reply.body.endswith(b"\n")  # Harbor writes the envelope with Fprintln
    (item,) = reply.json()["errors"]
    return reply.status, item["code"], item["message"]


def overview(data: Any, mime: str = GENERIC_MIME) -> Any:
    scan = data["scan_overview"]
    assert isinstance(scan, dict) and list(scan) == [mime]
    summary = scan[mime]
    assert isinstance(summary, dict)
    return summary


# --- routing and names ---------------------------------------------------------------------------------------
def test_repository_names_with_slashes_only_route_when_double_encoded(harbor: HarborDouble) -> None:
    harbor.seed("team/apps/web", 2)
    double = harbor.request("GET", "/api/v2.0/projects/team/repositories/apps%252Fweb/artifacts")
    assert double.status == 200
    assert {a["repository_name"] for a in double.json()} == {"team/apps/web"}

    single = harbor.request("GET", "/api/v2.0/projects/team/repositories/apps%2Fweb/artifacts")
    assert error(single) == (
        404, "NOT_FOUND", "path /api/v2.0/projects/team/repositories/apps%2Fweb/artifacts was not found"
    )  # fmt: skip
    raw = harbor.request("GET", "/api/v2.0/projects/team/repositories/apps/web/artifacts")
    assert error(raw)[:2] == (404, "NOT_FOUND")

    repo = harbor.request("GET", "/api/v2.0/projects/team/repositories/apps%252Fweb").json()
    assert repo["name"] == "team/apps/web"


def test_not_found_messages_name_the_reference(harbor: HarborDouble) -> None:
    harbor.seed("p/r", 1)
    by_tag = harbor.request("GET", harbor.api_path("p/r", "/artifacts/nope"))
    assert error(by_tag) == (404, "NOT_FOUND", "artifact p/r:nope not found")
    digest = "sha256:" + "0" * 64
    by_digest = harbor.request("GET", harbor.api_path("p/r", f"/artifacts/{digest}"))
    assert error(by_digest) == (404, "NOT_FOUND", f"artifact p/r@{digest} not found")
    repository = harbor.request("GET", harbor.api_path("p/nothing"))
    assert error(repository) == (404, "NOT_FOUND", "repository p/nothing not found")
    # listing a repository that does not exist is not an error in Harbor: an empty page
    empty = harbor.request("GET", harbor.api_path("p/nothing", "/artifacts"))
    assert (empty.status, empty.body, empty.headers["X-Total-Count"]) == (200, b"[]", "0")


def test_wrong_method_is_405_with_the_allowed_ones(harbor: HarborDouble) -> None:
    harbor.seed("p/r", 1)
    reply = harbor.request("PUT", harbor.api_path("p/r", "/artifacts"))
    assert error(reply) == (405, "METHOD_NOT_ALLOWED", "method PUT is not allowed, but [GET] are")


# --- paging --------------------------------------------------------------------------------------------------
def test_list_pages_with_total_count_and_harbor_link_header(harbor: HarborDouble) -> None:
    seeded = harbor.seed("p/r", 25)
    path = harbor.api_path("p/r", "/artifacts")
    query = "?q=tags%3D*&with_tag=true&with_scan_overview=true&sort=-push_time&page_size=10"
    first = harbor.request("GET", path + query)
    assert first.headers["X-Total-Count"] == "25"
    expected_next = f"{path}?page=2&page_size=10&q=tags=*&sort=-push_time&with_scan_overview=true&with_tag=true"
    assert first.headers["Link"] == f'<{expected_next}>; rel="next"'

    second = harbor.request("GET", expected_next)
    prev = f"{path}?page=1&page_size=10&q=tags=*&sort=-push_time&with_scan_overview=true&with_tag=true"
    nxt = f"{path}?page=3&page_size=10&q=tags=*&sort=-push_time&with_scan_overview=true&with_tag=true"
    assert second.headers["Link"] == f'<{prev}>; rel="prev" , <{nxt}>; rel="next"'

    third = harbor.request("GET", nxt)
    assert (
        third.headers["Link"]
        == f'<{path}?page=2&page_size=10&q=tags=*&sort=-push_time&with_scan_overview=true&with_tag=true>; rel="prev"'
    )
    digests = [a["digest"] for page in (first, second, third) for a in page.json()]
    assert digests == [s.digest for s in reversed(seeded)]  # newest first, each exactly once


def test_page_size_over_100_is_422_with_harbors_message(harbor: HarborDouble) -> None:
    path = harbor.api_path("p/r", "/artifacts")
    harbor.seed("p/r", 1)
    assert error(harbor.request("GET", path + "?page_size=101")) == (
        422,
        "UNPROCESSABLE_ENTITY",
        "validation failure list:\npage_size in query should be less than or equal to 100",
    )
    assert error(harbor.request("GET", path + "?page_size=ten")) == (
        422,
        "UNPROCESSABLE_ENTITY",
        'validation failure list:\npage_size in query must be of type int64: "ten"',
    )
    assert harbor.request("GET", path + "?page_size=100").status == 200


def test_default_page_size_is_10_and_zero_means_everything(harbor: HarborDouble) -> None:
    harbor.seed("p/r", 12)
    default = harbor.request("GET", harbor.api_path("p/r", "/artifacts"))
    assert len(default.json()) == 10
    assert 'rel="next"' in default.headers["Link"]
    everything = harbor.request("GET", harbor.api_path("p/r", "/artifacts?page_size=0"))
    assert len(everything.json()) == 12
    assert everything.headers.get("Link") is None


def test_following_next_links_over_10000_artifacts_sees_each_once(harbor: HarborDouble) -> None:
    seeded = harbor.seed("big/repo", 10_000, scan=Outcome.severity("Low"))
    url = harbor.api_path("big/repo", "/artifacts?q=tags%3D*&with_scan_overview=true&sort=-push_time&page_size=100")
    seen: list[str] = []
    for _ in range(200):
        reply = harbor.request("GET", url)
        seen += [a["digest"] for a in reply.json()]
        links = dict((rel, target) for target, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', reply.headers["Link"]))
        if "next" not in links:
            break
        url = links["next"]  # followed as Harbor wrote it: raw `q=tags=*`
    assert seen == [s.digest for s in reversed(seeded)]
    assert len(harbor.requests) == 100


# --- q and sort ----------------------------------------------------------------------------------------------
def test_q_tags_star_nil_exact_and_fuzzy(harbor: HarborDouble) -> None:
    harbor.seed("p/r", 4, tags=lambda i: [["1.0.0"], ["1.1.0", "latest"], [], ["2.0.0-rc1"]][i])

    def names(q: str) -> list[list[str]]:
        items = artifacts(harbor, "p/r", f"?q={q}&sort=push_time")
        return [[t["name"] for t in (a["tags"] or [])] for a in items]

    # tags of one artifact come newest first (-push_time, -id): "latest" was created after "1.1.0"
    assert names("tags%3D*") == [["1.0.0"], ["latest", "1.1.0"], ["2.0.0-rc1"]]
    assert names("tags%3Dnil") == [[]]
    assert names("tags%3Dlatest") == [["latest", "1.1.0"]]
    assert len(names("tags%3D~1.")) == 2  # substring match
    assert names("") == [["1.0.0"], ["latest", "1.1.0"], [], ["2.0.0-rc1"]]


def test_q_braces_are_the_or_list_and_parentheses_are_ignored_for_plain_fields(harbor: HarborDouble) -> None:
    seeded = harbor.seed("p/r", 3)
    one, two = seeded[0].digest, seeded[2].digest
    found = artifacts(harbor, "p/r", f"?q=digest%3D%7B{one}%20{two}%7D")
    assert {a["digest"] for a in found} == {one, two}
    # (…) is the AND list; Harbor's ORM leaves it to the DAO, which only uses it for labels: no filtering
    assert len(artifacts(harbor, "p/r", f"?q=digest%3D({one}%20{two})")) == 3
    assert [a["digest"] for a in artifacts(harbor, "p/r", f"?q=digest%3D{one}")] == [one]


def test_bad_q_is_400_with_harbors_messages(harbor: HarborDouble) -> None:
    harbor.seed("p/r", 1)
    path = harbor.api_path("p/r", "/artifacts")
    assert error(harbor.request("GET", path + "?q=tags")) == (
        400, "BAD_REQUEST", 'the query string must contain "=" and the key/value cannot be empty'
    )  # fmt: skip
    assert error(harbor.request("GET", path + "?q=tags%3D%7Ba%20b%7D")) == (
        400, "BAD_REQUEST", 'the value of "tags" query can only be fuzzy match value or exact match value'
    )  # fmt: skip
    assert error(harbor.request("GET", path + "?q=digest%3D%5Bx")) == (
        400, "BAD_REQUEST", "invalid query string value: [x"
    )  # fmt: skip


def test_sort_keys_and_default_order(harbor: HarborDouble) -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    seeded = harbor.seed("p/r", 3, start=start)
    newest_first = [s.digest for s in reversed(seeded)]
    assert [a["digest"] for a in artifacts(harbor, "p/r")] == newest_first
    assert [a["digest"] for a in artifacts(harbor, "p/r", "?sort=push_time")] == newest_first[::-1]
    assert [a["digest"] for a in artifacts(harbor, "p/r", "?sort=no_such_field")] == newest_first
    assert [a["digest"] for a in artifacts(harbor, "p/r", "?sort=-id")] == newest_first


# --- shapes --------------------------------------------------------------------------------------------------
def test_artifact_shape_nulls_zero_times_and_no_overview_without_report(harbor: HarborDouble) -> None:
    harbor.seed("p/r", 1, tags=lambda i: None)
    (data,) = artifacts(harbor, "p/r", "?with_scan_overview=true")
    assert data["tags"] is None and data["labels"] is None and data["accessories"] is None
    assert data["references"] is None
    assert data["pull_time"] == ZERO
    assert TIME.match(str(data["push_time"]))
    assert "scan_overview" not in data
    assert data["type"] == "IMAGE"
    links = data["addition_links"]
    assert isinstance(links, dict) and set(links) == {"build_history", "vulnerabilities", "sboms"}
    (untagged,) = artifacts(harbor, "p/r", "?with_tag=false")
    assert untagged["tags"] is None


def test_tags_inside_an_artifact_are_newest_first(harbor: HarborDouble) -> None:
    harbor.seed("p/r", 1, tags=lambda i: ["a"])
    digest = harbor.digests("p/r")[0]
    harbor.clock.advance(5)
    assert (
        harbor.request("POST", harbor.api_path("p/r", f"/artifacts/{digest}/tags"), json_body={"name": "b"}).status
        == 201
    )
    names = [t["name"] for t in artifact(harbor, "p/r", digest)["tags"]]
    assert names == ["b", "a"]


# --- auth, CSRF, headers ---------------------------------------------------------------------------------------
def test_auth_401_for_anonymous_and_bad_credentials_403_without_permission(harbor: HarborDouble) -> None:
    harbor.seed("private/r", 1)
    path = harbor.api_path("private/r", "/artifacts")
    assert error(harbor.request("GET", path, auth=None)) == (401, "UNAUTHORIZED", "unauthorized")
    assert error(harbor.request("GET", path, auth=("admin", "wrong"))) == (401, "UNAUTHORIZED", "unauthorized")
    harbor.add_user("alice", "secret")
    assert error(harbor.request("GET", path, auth=("alice", "secret"))) == (403, "FORBIDDEN", "forbidden")
    harbor.add_member("private", "alice", "guest")
    assert harbor.request("GET", path, auth=("alice", "secret")).status == 200


def test_public_projects_are_readable_anonymously_but_not_writable(harbor: HarborDouble) -> None:
    harbor.create_project("pub", public=True)
    harbor.seed("pub/r", 1)
    digest = harbor.digests("pub/r")[0]
    assert harbor.request("GET", harbor.api_path("pub/r", "/artifacts"), auth=None).status == 200
    scan = harbor.request("POST", harbor.api_path("pub/r", f"/artifacts/{digest}/scan"), auth=None)
    assert error(scan) == (401, "UNAUTHORIZED", "unauthorized")
    # Harbor's public-project policy has no repository:read, so GET repository needs a login
    assert harbor.request("GET", harbor.api_path("pub/r"), auth=None).status == 401


def test_roles_and_robots_get_harbors_permissions(harbor: HarborDouble) -> None:
    harbor.create_project("team")
    harbor.seed("team/app", 1)
    digest = harbor.digests("team/app")[0]
    scan_path = harbor.api_path("team/app", f"/artifacts/{digest}/scan")
    harbor.add_user("dev", "pw")
    harbor.add_member("team", "dev", "developer")
    assert error(harbor.request("POST", scan_path, auth=("dev", "pw")))[:2] == (403, "FORBIDDEN")  # no scan:create
    harbor.add_user("ops", "pw")
    harbor.add_member("team", "ops", "maintainer")
    assert harbor.request("POST", scan_path, auth=("ops", "pw")).status == 202

    reader = harbor.add_robot("team", "reader", access=[("artifact", "list"), ("artifact", "read")])
    assert reader.name == "robot$team+reader"
    assert (
        harbor.request("GET", harbor.api_path("team/app", "/artifacts"), auth=(reader.name, reader.secret)).status
        == 200
    )
    assert harbor.request("POST", scan_path, auth=(reader.name, reader.secret)).status == 403
    ci = harbor.add_robot("team", "ci")
    harbor.complete_scans()
    assert harbor.request("POST", scan_path, auth=(ci.name, ci.secret)).status == 202
    assert harbor.request("GET", harbor.api_path("team/app", "/artifacts"), auth=(ci.name, "nope")).status == 401


def test_every_response_has_request_id_and_sid_cookie(harbor: HarborDouble) -> None:
    reply = harbor.request("GET", "/api/v2.0/ping", auth=None)
    assert (reply.status, reply.body) == (200, b"Pong")
    assert reply.headers["X-Request-Id"]
    assert reply.headers["Set-Cookie"].startswith("sid=")
    echoed = harbor.request("GET", "/api/v2.0/ping", headers={"X-Request-Id": "abc-123"})
    assert echoed.headers["X-Request-Id"] == "abc-123"
    failed = harbor.request("GET", harbor.api_path("p/none", "/artifacts/x"))
    assert failed.headers["X-Request-Id"] and failed.headers["Set-Cookie"].startswith("sid=")


def test_writes_carrying_the_sid_cookie_fail_the_csrf_check(harbor: HarborDouble) -> None:
    harbor.seed("p/r", 1)
    digest = harbor.digests("p/r")[0]
    sid = harbor.request("GET", "/api/v2.0/ping").headers["Set-Cookie"].split(";")[0]
    tags = harbor.api_path("p/r", f"/artifacts/{digest}/tags")
    # a client with a cookie jar sends the sid back: reads still work …
    assert harbor.request("GET", tags, headers={"Cookie": sid}).status == 200
    # … writes are refused by the CSRF middleware (gorilla/csrf's reason when no token header is sent)
    refused = harbor.request("POST", tags, headers={"Cookie": sid}, json_body={"name": "x"})
    assert error(refused) == (403, "FORBIDDEN", "CSRF token not found in request")
    bad_token = harbor.request(
        "POST", tags, headers={"Cookie": sid, "X-Harbor-CSRF-Token": "abc"}, json_body={"name": "x"}
    )
    assert error(bad_token) == (403, "FORBIDDEN", "CSRF token invalid")
    assert harbor.request("POST", tags, json_body={"name": "x"}).status == 201  # no cookie, no problem


def test_ping_health_and_systeminfo(harbor: HarborDouble) -> None:
    health = harbor.request("GET", "/api/v2.0/health", auth=None).json()
    assert health["status"] == "healthy"
    anonymous = harbor.request("GET", "/api/v2.0/systeminfo", auth=None).json()
    assert "harbor_version" not in anonymous
    admin = harbor.request("GET", "/api/v2.0/systeminfo").json()
    assert admin["harbor_version"].startswith("v2.15.2")
    with harbor.registry_down():
        assert harbor.request("GET", "/api/v2.0/health").json()["status"] == "unhealthy"


# --- tags ----------------------------------------------------------------------------------------------------
def test_create_tag_201_then_409_anywhere_in_the_repository(harbor: HarborDouble) -> None:
    seeded = harbor.seed("p/r", 2, tags=lambda i: [f"v{i}"])
    repo_id = harbor.repository("p/r").id
    first, second = (harbor.api_path("p/r", f"/artifacts/{s.digest}/tags") for s in seeded)
    created = harbor.request("POST", first, json_body={"name": "stable"})
    assert (created.status, created.body) == (201, b"")
    assert error(harbor.request("POST", first, json_body={"name": "stable"})) == (
        409, "CONFLICT", f"tag stable already exists under the repository {repo_id}"
    )  # fmt: skip
    # the name exists on ANOTHER artifact: still 409, so create-tag cannot move a tag
    assert error(harbor.request("POST", second, json_body={"name": "stable"}))[:2] == (409, "CONFLICT")
    assert error(harbor.request("POST", first, json_body={"name": "-bad"})) == (
        400, "BAD_REQUEST", "bad request: invalid tag name: -bad"
    )  # fmt: skip
    assert harbor.tags("p/r") == {"stable": seeded[0].digest, "v0": seeded[0].digest, "v1": seeded[1].digest}


def test_immutable_tags_cannot_be_deleted_and_new_names_can_be_created(harbor: HarborDouble) -> None:
    harbor.create_project("p")
    harbor.add_immutable_rule("p", tag_pattern="v*")
    harbor.seed("p/r", 1, tags=lambda i: ["v1", "latest"])
    digest = harbor.digests("p/r")[0]
    delete = harbor.request("DELETE", harbor.api_path("p/r", f"/artifacts/{digest}/tags/v1"))
    assert error(delete) == (412, "PRECONDITION", "the tag v1 configured as immutable, cannot be deleted")
    assert harbor.request("DELETE", harbor.api_path("p/r", f"/artifacts/{digest}/tags/latest")).status == 200
    assert (
        harbor.request("POST", harbor.api_path("p/r", f"/artifacts/{digest}/tags"), json_body={"name": "v2"}).status
        == 201
    )
    tags = artifact(harbor, "p/r", digest, "?with_immutable_status=true")["tags"]
    assert {t["name"]: t["immutable"] for t in tags} == {"v1": True, "v2": True}
    delete_artifact = harbor.request("DELETE", harbor.api_path("p/r", f"/artifacts/{digest}"))
    assert error(delete_artifact)[:2] == (412, "PRECONDITION")


def test_repository_update_time_moves_on_tag_changes_not_on_scans(harbor: HarborDouble) -> None:
    harbor.clock.freeze(datetime(2025, 7, 17, 4, 16, 48, 294000, tzinfo=UTC))
    harbor.seed("p/r", 1, tags=lambda i: ["a"], start=datetime(2025, 7, 17, tzinfo=UTC))
    digest = harbor.digests("p/r")[0]

    def update_time() -> str:
        return str(harbor.request("GET", harbor.api_path("p/r")).json()["update_time"])

    before = update_time()
    harbor.clock.advance(60)
    harbor.request("POST", harbor.api_path("p/r", f"/artifacts/{digest}/scan"))
    harbor.complete_scans()
    assert update_time() == before
    harbor.request("POST", harbor.api_path("p/r", f"/artifacts/{digest}/tags"), json_body={"name": "b"})
    assert update_time() == "2025-07-17T04:17:48.294Z"
    harbor.clock.advance(1)
    harbor.request("DELETE", harbor.api_path("p/r", f"/artifacts/{digest}/tags/b"))
    assert update_time() == "2025-07-17T04:17:49.294Z"
    repo = harbor.request("GET", harbor.api_path("p/r")).json()
    assert (repo["artifact_count"], repo["pull_count"]) == (1, 0)


# --- scans ---------------------------------------------------------------------------------------------------
def test_scan_progresses_pending_running_success_with_harbors_summary(harbor: HarborDouble) -> None:
    harbor.clock.freeze(datetime(2025, 9, 25, 8, 27, 30, 500000, tzinfo=UTC))
    harbor.seed("p/r", 1)
    digest = harbor.digests("p/r")[0]
    harbor.scanner.set_default(Outcome.counts({"High": 2, "Low": 1}, pending=2, duration=5))
    reply = harbor.request("POST", harbor.api_path("p/r", f"/artifacts/{digest}/scan"))
    assert (reply.status, reply.body) == (202, b"")

    pending = overview(artifact(harbor, "p/r", digest, "?with_scan_overview=true"))
    assert pending["scan_status"] == "Pending"
    assert pending["start_time"] == ZERO and pending["end_time"] == ZERO
    assert not {"severity", "summary", "scanner", "complete_percent", "duration"} & set(pending)

    harbor.clock.advance(3)
    running = overview(artifact(harbor, "p/r", digest, "?with_scan_overview=true"))
    assert running["scan_status"] == "Running"
    assert running["start_time"] == "2025-09-25T08:27:32.000Z"  # whole seconds: the job's start revision
    assert running["report_id"] == pending["report_id"]
    conflict = harbor.request("POST", harbor.api_path("p/r", f"/artifacts/{digest}/scan"))
    assert error(conflict) == (409, "CONFLICT", "a previous scan process is Running")

    harbor.clock.advance(10)
    done = overview(artifact(harbor, "p/r", digest, "?with_scan_overview=true"))
    assert done["scan_status"] == "Success"
    assert done["severity"] == "High"
    assert done["summary"] == {"total": 3, "fixable": 3, "summary": {"High": 2, "Low": 1}}
    assert done["complete_percent"] == 100
    assert done["scanner"] == {"name": "Trivy", "vendor": "Aqua Security", "version": "v0.64.1"}
    assert done["end_time"] == "2025-09-25T08:27:37.500Z" and done["duration"] == 5


def test_pending_scan_conflict_and_rescan_hides_the_old_report_until_done(harbor: HarborDouble) -> None:
    harbor.seed("p/r", 1)
    digest = harbor.digests("p/r")[0]
    scan = harbor.api_path("p/r", f"/artifacts/{digest}/scan")
    harbor.scanner.set_default(Outcome.clean(duration=30))
    assert harbor.request("POST", scan).status == 202
    assert error(harbor.request("POST", scan)) == (409, "CONFLICT", "a previous scan process is Running")
    harbor.clock.advance(31)
    first = overview(artifact(harbor, "p/r", digest, "?with_scan_overview=true"))
    assert (first["scan_status"], first["severity"]) == ("Success", "None")
    assert first["summary"] == {"total": 0, "fixable": 0, "summary": {}}

    harbor.rescan("p/r", digest, Outcome.counts({"Critical": 1}, duration=30))
    during = overview(artifact(harbor, "p/r", digest, "?with_scan_overview=true"))
    assert during["scan_status"] == "Running" and "severity" not in during
    assert during["report_id"] != first["report_id"]
    harbor.complete_scans()
    after = overview(artifact(harbor, "p/r", digest, "?with_scan_overview=true"))
    assert (after["scan_status"], after["severity"]) == ("Success", "Critical")
    assert after["end_time"] != first["end_time"]


def test_overview_mime_key_follows_the_scanner_and_x_accept_vulnerabilities(harbor: HarborDouble) -> None:
    harbor.seed("p/r", 1, scan=Outcome.severity("Medium"))
    digest = harbor.digests("p/r")[0]
    assert overview(artifact(harbor, "p/r", digest, "?with_scan_overview=true"), GENERIC_MIME)["severity"] == "Medium"
    harbor.scanner.mime_types = (NATIVE_MIME,)
    assert overview(artifact(harbor, "p/r", digest, "?with_scan_overview=true"), NATIVE_MIME)["severity"] == "Medium"
    harbor.scanner.mime_types = (GENERIC_MIME, NATIVE_MIME)
    reply = harbor.request(
        "GET", harbor.api_path("p/r", f"/artifacts/{digest}?with_scan_overview=true"),
        headers={"X-Accept-Vulnerabilities": NATIVE_MIME},
    )  # fmt: skip
    assert list(reply.json()["scan_overview"]) == [NATIVE_MIME]


def test_scanner_missing_or_deactivated_is_412(harbor: HarborDouble) -> None:
    harbor.seed("p/r", 1)
    digest = harbor.digests("p/r")[0]
    project_id = harbor.repository("p/r").project_id
    scan = harbor.api_path("p/r", f"/artifacts/{digest}/scan")
    harbor.scanner.disabled = True
    assert error(harbor.request("POST", scan)) == (412, "PRECONDITION", "scanner Trivy is deactivated")
    harbor.scanner.disabled = False
    harbor.scanner.configured = False
    assert error(harbor.request("POST", scan)) == (
        412,
        "PRECONDITION",
        f"no available scanner for project: {project_id}",
    )
    data = artifact(harbor, "p/r", digest, "?with_scan_overview=true")
    assert "vulnerabilities" not in data["addition_links"]


def test_vulnerabilities_addition_is_empty_until_success(harbor: HarborDouble) -> None:
    harbor.seed("p/r", 1)
    digest = harbor.digests("p/r")[0]
    path = harbor.api_path("p/r", f"/artifacts/{digest}/additions/vulnerabilities")
    assert harbor.request("GET", path).body == b"{}"
    cve = Vulnerability("CVE-2024-0001", "Critical", package="openssl", version="3.0.1", fix_version="3.0.2")
    harbor.scanner.set_default(Outcome(vulnerabilities=(cve,), duration=10))
    harbor.request("POST", harbor.api_path("p/r", f"/artifacts/{digest}/scan"))
    running = harbor.request("GET", path)
    assert (running.body, running.headers["Content-Type"]) == (b"{}", "application/json")
    harbor.complete_scans()
    report = harbor.request("GET", path).json()[GENERIC_MIME]
    assert report["severity"] == "Critical"
    (item,) = report["vulnerabilities"]
    assert (item["id"], item["package"], item["version"], item["fix_version"], item["severity"]) == (
        "CVE-2024-0001", "openssl", "3.0.1", "3.0.2", "Critical"
    )  # fmt: skip
    assert item["artifact_digests"] == [digest]


def test_stop_scan_and_error_outcomes(harbor: HarborDouble) -> None:
    seeded = harbor.seed("p/r", 2)
    digest = seeded[0].digest
    stop = harbor.api_path("p/r", f"/artifacts/{digest}/scan/stop")
    assert error(harbor.request("POST", stop, json_body={"scan_type": "vulnerability"})) == (
        400, "BAD_REQUEST", f"no scan job for artifact digest={digest}"
    )  # fmt: skip
    harbor.scanner.set_default(Outcome.clean(duration=60))
    harbor.request("POST", harbor.api_path("p/r", f"/artifacts/{digest}/scan"))
    assert harbor.request("POST", stop, json_body={"scan_type": "vulnerability"}).status == 202
    assert overview(artifact(harbor, "p/r", digest, "?with_scan_overview=true"))["scan_status"] == "Stopped"

    harbor.scanner.set_outcome(seeded[1].digest, Outcome.error())
    harbor.request("POST", harbor.api_path("p/r", f"/artifacts/{seeded[1].digest}/scan"))
    failed = overview(artifact(harbor, "p/r", seeded[1].digest, "?with_scan_overview=true"))
    assert failed["scan_status"] == "Error" and "severity" not in failed


def test_outcomes_by_tag_digest_and_default(harbor: HarborDouble) -> None:
    seeded = harbor.seed("p/r", 3, tags=lambda i: [f"1.0.{i}"])
    harbor.scanner.set_default(Outcome.severity("Low"))
    harbor.scanner.set_outcome("p/r:1.0.1", Outcome.severity("High"))
    harbor.scanner.set_outcome(seeded[2].digest, Outcome.severity("Critical"))
    for item in seeded:
        harbor.request("POST", harbor.api_path("p/r", f"/artifacts/{item.digest}/scan"))
    severities = {a["digest"]: overview(a)["severity"] for a in artifacts(harbor, "p/r", "?with_scan_overview=true")}
    assert severities == {seeded[0].digest: "Low", seeded[1].digest: "High", seeded[2].digest: "Critical"}


def test_seeded_scan_states(harbor: HarborDouble) -> None:
    states = ["Pending", "Running", "Error", None]
    harbor.seed("p/r", 4, scan_status=lambda i: states[i], scan=lambda i: Outcome.severity("High") if i == 3 else None)
    found = {
        overview(a)["scan_status"] if "scan_overview" in a else None
        for a in artifacts(harbor, "p/r", "?with_scan_overview=true")
    }
    assert found == {"Pending", "Running", "Error", "Success"}


# --- faults and the request log ------------------------------------------------------------------------------
def test_faults_answer_n_times_then_harbor_behaves(harbor: HarborDouble) -> None:
    harbor.seed("p/r", 1)
    path = harbor.api_path("p/r", "/artifacts")
    limit = harbor.faults.add(r"/artifacts$", method="GET", times=2, status=429, retry_after=3)
    first = harbor.request("GET", path)
    assert (first.status, first.headers["Retry-After"]) == (429, "3")
    assert error(first) == (429, "TOO_MANY_REQUEST", "too many requests")
    assert harbor.request("GET", path).status == 429
    assert harbor.request("GET", path).status == 200
    assert limit.hits == 2
    harbor.faults.add(r"/artifacts$", status=503)
    unavailable = harbor.request("GET", path)
    assert unavailable.status == 503 and b"503 Service Temporarily Unavailable" in unavailable.body
    assert [(r.status, r.faulted) for r in harbor.requests] == [(429, True), (429, True), (200, False), (503, True)]


def test_connection_reset_fault(harbor: HarborDouble) -> None:
    harbor.faults.add(r"^/api/v2.0/ping$", reset=True)
    with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected, socket.error)):
        harbor.request("GET", "/api/v2.0/ping")
    assert harbor.request("GET", "/api/v2.0/ping").status == 200


def test_request_log_records_method_path_query_and_can_be_reset(harbor: HarborDouble) -> None:
    harbor.seed("p/r", 1)
    harbor.request("GET", harbor.api_path("p/r", "/artifacts?page_size=5&q=tags%3D*"))
    (entry,) = harbor.requests
    assert (entry.method, entry.path, entry.status, entry.auth_scheme) == (
        "GET", "/api/v2.0/projects/p/repositories/r/artifacts", 200, "Basic"
    )  # fmt: skip
    assert entry.params == {"page_size": ["5"], "q": ["tags=*"]}
    assert harbor.registry_requests == []
    harbor.reset_requests()
    assert harbor.requests == []


def test_offline_refuses_connections(harbor: HarborDouble) -> None:
    with harbor.offline(), pytest.raises(ConnectionRefusedError):
        harbor.request("GET", "/api/v2.0/ping")
    assert harbor.request("GET", "/api/v2.0/ping").status == 200


def test_reset_gives_each_test_a_fresh_double(harbor: HarborDouble) -> None:
    harbor.seed("p/r", 3)
    harbor.faults.add("ping")
    harbor.reset()
    assert harbor.digests("p/r") == [] and harbor.requests == [] and harbor.faults.rules == []
    assert set(harbor.state.projects) == {"library"}


def test_seed_moves_repeated_tags_to_the_newest_artifact(harbor: HarborDouble) -> None:
    seeded = harbor.seed("p/r", 3, tags=lambda i: ["latest", f"v{i}"], start=datetime.now(UTC) - timedelta(hours=1))
    assert harbor.tags("p/r") == {"latest": seeded[2].digest, "v0": seeded[0].digest, "v1": seeded[1].digest,
                                  "v2": seeded[2].digest}  # fmt: skip


def test_seed_accepts_project_and_repository_separately(harbor: HarborDouble) -> None:
    harbor.seed("team", "apps/web", 2)
    harbor.seed("team/apps/web", 1)
    assert len(harbor.digests("team/apps/web")) == 3
    with pytest.raises(TypeError):
        harbor.seed("no-slash", 3)


def test_source_points_the_resource_at_the_double(harbor: HarborDouble, harbor_tls: HarborDouble) -> None:
    assert harbor.source("team/app", tag="latest") == {
        "url": harbor.url, "repository": "team/app", "username": "admin", "password": "Harbor12345",
        "insecure": True, "tag": "latest",
    }  # fmt: skip
    tls = harbor_tls.source("team/app", username=None)
    assert tls == {"url": harbor_tls.url, "repository": "team/app", "ca_certs": [harbor_tls.ca_pem]}


def test_a_double_without_registry_serves_the_api(tmp_path: Path) -> None:
    from harbor_double.standalone import running_double

    with running_double(tmp_path) as double:
        double.seed("team", "app", 3)
        reply = double.request("GET", double.api_path("team/app", "/artifacts"))
        assert reply.headers["X-Total-Count"] == "3"
        assert double.request("GET", "/v2/team/app/manifests/1.0.0", auth=("admin", "Harbor12345")).status == 502


def test_fake_push_follows_the_push_rules(harbor: HarborDouble) -> None:
    harbor.create_project("team", auto_scan=True)
    harbor.clock.freeze(datetime(2025, 1, 1, tzinfo=UTC))
    first = harbor.fake_push("team/app", ["1.0.0", "latest"], scan=Outcome.severity("Low", duration=10))
    assert harbor.tags("team/app") == {"1.0.0": first, "latest": first}
    assert harbor.scan_status(first) == "Running"  # auto_scan started it on the push
    harbor.clock.advance(60)
    second = harbor.fake_push("team/app", ["1.1.0", "latest"])
    assert harbor.tags("team/app") == {"1.0.0": first, "1.1.0": second, "latest": second}
    latest = harbor.artifact("team/app", "latest").tags["latest"]
    assert latest.push_time == datetime(2025, 1, 1, 0, 1, tzinfo=UTC)  # moved, renewed
    assert harbor.artifact("team/app", first).push_time == datetime(2025, 1, 1, tzinfo=UTC)
    assert harbor.repository("team/app").update_time == datetime(2025, 1, 1, 0, 1, tzinfo=UTC)
    harbor.add_immutable_rule("team", tag_pattern="1.*")
    with pytest.raises(HarborError, match="configured as immutable"):
        harbor.fake_push("team/app", ["1.0.0"])

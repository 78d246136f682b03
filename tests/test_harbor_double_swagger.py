"""Every response shape the Harbor double returns validates against Harbor's own API definition (v2.15.2 swagger).

The swagger file lives in the shared reference folder, which users' machines do not have: this module skips then.
Each response is validated against the schema the swagger declares for its operation and status (errors that the
swagger does not declare for an operation, like 405, are validated against `Errors`). The definitions are read as
JSON Schema with `$ref` resolved against the whole document, and relaxed only where Go differs from Swagger 2.0:
nil slices and maps serialise as `null` (so array/object also allow null), and a map of `type: object` values is
Go's `map[string]interface{}` (any value). Undocumented properties are rejected: go-swagger models never emit them.
"""

from __future__ import annotations

import base64
import copy
import os
import re
import urllib.parse
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from fixtures.artifacts import helm_chart_layout
from fixtures.images import Images
from harbor_double import GENERIC_MIME, NATIVE_MIME, HarborDouble, HttpReply, Outcome

ROOT = Path(__file__).resolve().parent.parent
GO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def swagger_path() -> Path | None:
    candidates = []
    if os.environ.get("SHIPLANE_SHARED"):
        candidates.append(Path(os.environ["SHIPLANE_SHARED"]))
    candidates += [parent / "shared" for parent in ROOT.parents]
    for directory in candidates:
        path = directory / "harbor" / "swagger.yaml"
        if path.is_file():
            return path
    return None


SWAGGER = swagger_path()
pytestmark = pytest.mark.skipif(SWAGGER is None, reason="Harbor's swagger.yaml (../shared/harbor) is not available")


def _relax(node: Any) -> Any:
    if isinstance(node, list):
        return [_relax(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {key: _relax(value) for key, value in node.items()}
    if node.get("additionalProperties") == {"type": "object"}:
        result["additionalProperties"] = {}  # go-swagger: map[string]interface{}
    kind = node.get("type")
    if kind in ("array", "object"):
        result["type"] = [kind, "null"]
    if "properties" in node and "additionalProperties" not in node:
        result["additionalProperties"] = False
    return result


@cache
def document() -> dict[str, Any]:
    assert SWAGGER is not None
    data: dict[str, Any] = yaml.safe_load(SWAGGER.read_text())
    return data


@cache
def relaxed_definitions() -> dict[str, Any]:
    return {name: _relax(copy.deepcopy(schema)) for name, schema in document()["definitions"].items()}


@cache
def templates() -> list[tuple[re.Pattern[str], str]]:
    found = []
    for template in document()["paths"]:
        regex = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        found.append((re.compile(f"^{regex}$"), template))
    # prefer the most literal template (…/additions/vulnerabilities over …/additions/{addition})
    found.sort(key=lambda item: item[1].count("{"))
    return found


def operation_schema(method: str, raw_path: str, status: int) -> tuple[str, dict[str, Any] | None]:
    """(operation id, response schema or None when the response has no body) for a request."""
    route = urllib.parse.unquote(raw_path.split("?", 1)[0]).removeprefix("/api/v2.0")
    for pattern, template in templates():
        if pattern.match(route):
            operation = document()["paths"][template].get(method.lower())
            if operation is None:
                continue
            responses = operation["responses"]
            response = responses.get(str(status))
            if response is None:
                assert status >= 400, f"{operation['operationId']} does not declare {status}"
                return operation["operationId"], {"$ref": "#/definitions/Errors"}
            if "$ref" in response:
                response = document()["responses"][response["$ref"].rsplit("/", 1)[1]]
            return operation["operationId"], response.get("schema")
    assert status >= 400, f"no swagger operation for {method} {route}"
    return "(unrouted)", {"$ref": "#/definitions/Errors"}


def validate(method: str, raw_path: str, reply: HttpReply) -> str:
    from jsonschema import Draft4Validator, FormatChecker

    operation, schema = operation_schema(method, raw_path, reply.status)
    if schema is None:
        assert reply.body == b"", f"{operation} {reply.status} should have no body: {reply.body[:200]!r}"
        return operation
    if schema.get("type") == "string":  # text/plain or a raw addition: not JSON-encoded by Harbor
        assert reply.body, f"{operation} {reply.status}: empty body"
        return operation
    checker = FormatChecker()
    checker.checks("date-time")(lambda value: not isinstance(value, str) or bool(GO_TIME.match(value)))
    root = {**_relax(copy.deepcopy(schema)), "definitions": relaxed_definitions()}
    validator = Draft4Validator(root, format_checker=checker)
    problems = sorted(validator.iter_errors(reply.json()), key=lambda e: list(e.absolute_path))
    assert not problems, f"{operation} {reply.status}: " + "; ".join(
        f"{'/'.join(map(str, p.absolute_path))}: {p.message}" for p in problems[:5]
    )
    return operation


class Recorder:
    """Sends requests to the double and validates each reply."""

    def __init__(self, harbor: HarborDouble) -> None:
        self.harbor = harbor
        self.seen: set[tuple[str, int]] = set()

    def __call__(self, method: str, path: str, **kwargs: Any) -> HttpReply:
        reply = self.harbor.request(method, path, **kwargs)
        operation = validate(method, path, reply)
        self.seen.add((operation, reply.status))
        return reply


def test_the_relaxation_keeps_the_definitions_strict_enough() -> None:
    """The relaxed schema still rejects wrong shapes (so the validation below can fail)."""
    from jsonschema import Draft4Validator

    root = {"$ref": "#/definitions/Artifact", "definitions": relaxed_definitions()}
    validator = Draft4Validator(root)
    assert validator.is_valid({"tags": None, "labels": None, "digest": "sha256:x"})
    assert not validator.is_valid({"tags": "latest"})
    assert not validator.is_valid({"digest": 1})
    assert not validator.is_valid({"no_such_field": 1})
    assert not validator.is_valid({"scan_overview": {GENERIC_MIME: {"scan_status": 5}}})


@pytest.fixture
def scenario(harbor: HarborDouble, images: Images) -> Iterator[Recorder]:
    harbor.create_project("team", auto_scan=False)
    yield Recorder(harbor)


def test_every_api_response_matches_the_swagger(scenario: Recorder, harbor: HarborDouble, images: Images) -> None:
    call = scenario
    # artifacts in every scan state, tagged and untagged, and an image index with references
    states = ["Pending", "Running", "Error", "Stopped", None, None, "Scheduled"]
    harbor.seed(
        "team/app",
        8,
        tags=lambda i: [f"1.0.{i}", "latest"] if i == 7 else ([] if i == 6 else [f"1.0.{i}"]),
        scan=lambda i: Outcome.counts({"High": 2, "Low": 1}) if i == 4 else (Outcome.clean() if i == 5 else None),
        scan_status=lambda i: states[i] if i < len(states) else None,
    )
    amd, arm = images.build("swagger", architecture="amd64"), images.build("swagger", architecture="arm64")
    harbor.push(images.index(amd, arm), "team/multi/arch", "1.0")
    harbor.scanner.set_outcome(arm.digest, Outcome.severity("Critical"))
    harbor.rescan("team/multi/arch", "1.0")
    harbor.add_immutable_rule("team", tag_pattern="1.0.0")

    app = harbor.api_path("team/app")
    multi = harbor.api_path("team/multi/arch")
    for query in (
        "?with_scan_overview=true&with_tag=true&page_size=100",
        "?with_scan_overview=true&with_immutable_status=true&with_label=true&with_accessory=true&with_sbom_overview=true",
        "?with_tag=false&q=tags%3Dnil",
        "?page=2&page_size=3&sort=push_time",
    ):
        assert call("GET", app + "/artifacts" + query).status == 200
    assert call("GET", multi + "/artifacts?with_scan_overview=true&q=base%3D*").status == 200
    harbor.scanner.mime_types = (GENERIC_MIME, NATIVE_MIME)
    call("GET", app + "/artifacts?with_scan_overview=true", headers={"X-Accept-Vulnerabilities": NATIVE_MIME})
    assert call("GET", app + "/artifacts/latest?with_scan_overview=true").status == 200
    assert call("GET", multi + "/artifacts/1.0?with_scan_overview=true").status == 200
    assert call("GET", app + "/artifacts/latest/tags?with_immutable_status=true").status == 200
    assert call("GET", app).status == 200
    assert call("GET", multi).status == 200
    assert call("GET", "/api/v2.0/projects/team").status == 200
    assert call("GET", "/api/v2.0/projects/team/scanner").status == 200
    assert call("GET", "/api/v2.0/ping", auth=None).status == 200
    assert call("GET", "/api/v2.0/health", auth=None).status == 200
    with harbor.registry_down():
        assert call("GET", "/api/v2.0/health").status == 200
    assert call("GET", "/api/v2.0/systeminfo", auth=None).status == 200
    assert call("GET", "/api/v2.0/systeminfo").status == 200

    # writes and their errors
    assert call("POST", app + "/artifacts/1.0.1/tags", json_body={"name": "stable"}).status == 201
    assert call("POST", app + "/artifacts/1.0.1/tags", json_body={"name": "stable"}).status == 409
    assert call("POST", app + "/artifacts/1.0.1/tags", json_body={"name": "-x"}).status == 400
    assert call("DELETE", app + "/artifacts/1.0.1/tags/stable").status == 200
    assert call("DELETE", app + "/artifacts/1.0.1/tags/stable").status == 404
    assert call("DELETE", app + "/artifacts/1.0.0/tags/1.0.0").status == 412
    assert call("POST", app + "/artifacts/1.0.5/scan", json_body={"scan_type": "vulnerability"}).status == 202
    assert call("POST", app + "/artifacts/1.0.1/scan").status == 409
    harbor.scanner.set_default(Outcome.clean(duration=60))
    assert call("POST", app + "/artifacts/1.0.3/scan").status == 202
    assert call("POST", app + "/artifacts/1.0.3/scan/stop", json_body={"scan_type": "vulnerability"}).status == 202
    assert call("POST", app + "/artifacts/latest/scan/stop", json_body={"scan_type": "vulnerability"}).status == 400
    report_id = harbor.scanner.reports[harbor.artifact("team/app", "1.0.4").digest].uuid
    assert call("GET", app + f"/artifacts/1.0.4/scan/{report_id}/log").status == 200
    assert call("GET", app + "/artifacts/1.0.4/scan/nope/log").status == 404
    assert call("GET", app + "/artifacts/1.0.4/additions/vulnerabilities").status == 200
    assert call("GET", app + "/artifacts/1.0.4/additions/build_history").status == 200
    assert call("DELETE", app + "/artifacts/1.0.2").status == 200
    assert call("DELETE", multi + f"/artifacts/{amd.digest}").status == 412
    harbor.scanner.configured = False
    assert call("POST", app + "/artifacts/1.0.5/scan").status == 412
    assert call("GET", app + "/artifacts?with_scan_overview=true").status == 200
    assert call("GET", app + "/artifacts/1.0.4/additions/vulnerabilities").status == 404

    # errors from routing, validation, auth and CSRF
    assert call("GET", "/api/v2.0/projects/team/repositories/multi%2Farch/artifacts").status == 404
    assert call("GET", app + "/artifacts/nope").status == 404
    assert call("GET", app + "/artifacts?page_size=500").status == 422
    assert call("GET", app + "/artifacts?q=tags").status == 400
    assert call("GET", app + "/artifacts", auth=None).status == 401
    harbor.add_user("stranger", "pw")
    assert call("GET", app + "/artifacts", auth=("stranger", "pw")).status == 403
    assert call("PUT", app + "/artifacts").status == 405
    assert (
        call("POST", app + "/artifacts/1.0.1/tags", headers={"Cookie": "sid=abc"}, json_body={"name": "y"}).status
        == 403
    )
    harbor.faults.add("/artifacts$", status=429, retry_after=1)
    assert call("GET", app + "/artifacts").status == 429

    operations = {operation for operation, _ in scenario.seen}
    assert {
        "listArtifacts", "getArtifact", "deleteArtifact", "listTags", "createTag", "deleteTag", "scanArtifact",
        "stopScanArtifact", "getReportLog", "getVulnerabilitiesAddition", "getAddition", "getRepository",
        "getProject", "getScannerOfProject", "getPing", "getHealth", "getSystemInfo",
    } <= operations  # fmt: skip


def test_new_shapes_match_the_swagger(scenario: Recorder, harbor: HarborDouble, images: Images, tmp_path: Any) -> None:
    """What issue 14 added to the double: partially scanned indexes (MergeScanStatus, complete_percent, base64
    report ids), Helm charts (type CHART) and their 400 to a scan request, older Harbor's /systeminfo."""
    call = scenario
    amd, arm = images.build("merge", architecture="amd64"), images.build("merge", architecture="arm64")
    harbor.scanner.set_outcome(amd.digest, Outcome.severity("Low"))
    harbor.scanner.set_outcome(arm.digest, Outcome.severity("High", pending=3600))
    index = harbor.push(images.index(amd, arm), "team/multi", "2.0")
    harbor.rescan("team/multi", index)
    multi = harbor.api_path("team/multi")
    reply = call("GET", multi + "/artifacts/2.0?with_scan_overview=true")
    summary = next(iter(reply.json()["scan_overview"].values()))
    assert (summary["scan_status"], summary["complete_percent"], summary["severity"]) == ("Success", 50, "Low")
    report_ids = base64.b64decode(summary["report_id"]).decode().split("|")
    assert report_ids == [harbor.scanner.reports[amd.digest].uuid, harbor.scanner.reports[arm.digest].uuid]
    assert call("GET", multi + f"/artifacts/2.0/scan/{summary['report_id']}/log").status == 200
    children = "%7B" + "+".join([amd.digest, arm.digest]) + "%7D"
    listed = call("GET", multi + f"/artifacts?with_scan_overview=true&q=base%3D*%2Cdigest%3D{children}").json()
    assert {a["digest"] for a in listed} == {amd.digest, arm.digest}

    chart = harbor.push(f"oci:{helm_chart_layout(tmp_path)}:chart", "team/charts", "0.1.0")
    charts = harbor.api_path("team/charts")
    assert call("GET", charts + "/artifacts/0.1.0?with_scan_overview=true").json()["type"] == "CHART"
    assert call("POST", charts + f"/artifacts/{chart}/scan").status == 400
    harbor.version = "v2.14.4-1b3ec8a4"
    assert call("GET", "/api/v2.0/systeminfo").json()["harbor_version"] == "v2.14.4-1b3ec8a4"

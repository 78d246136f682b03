"""spinnaker-pipeline check/in/out run as Concourse runs them (installed executables, JSON on stdin) against the Gate
double (tests/gate_double/orca_routes.py follows gate/orca for triggers, listings and execution detail)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fixtures.tls import TestCA, make_client_cert
from gate_double import GateDouble
from gate_double.orca_routes import add_pipeline, advance
from resource_helpers import Resource

DIGEST = "sha256:" + "ab" * 32
IMAGE = "harbor.example.com/team/app"
PASSWORD = "p@ss word/+="  # a test secret that must never be printed


def deploy_stage(account: str = "dev-cluster", namespace: str = "app-dev") -> dict[str, Any]:
    return {
        "refId": "deploy", "type": "deployManifest", "name": "Deploy dev", "account": account,
        "cloudProvider": "kubernetes", "requiredArtifactIds": ["app-image"], "source": "text",
        "manifests": [{
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "app", "namespace": namespace},
            "spec": {"template": {"spec": {"containers": [{"name": "app", "image": IMAGE}]}}},
        }],
    }


@pytest.fixture
def gate() -> Iterator[GateDouble]:
    with GateDouble() as double:
        double.add_user("ci", password=PASSWORD, applications={"app": {"READ", "EXECUTE"}})
        add_pipeline(double.state, "app", "deploy-dev", stages=[deploy_stage()], expectedArtifacts=[{
            "id": "app-image", "displayName": "app image",
            "matchArtifact": {"type": "docker/image", "name": IMAGE}, "useDefaultArtifact": False,
        }])
        yield double


@pytest.fixture
def res(tmp_path: Path) -> Resource:
    resource = Resource(tmp_path / "unused-cache")
    resource.secrets.add(PASSWORD)
    return resource


def source(gate: GateDouble, **extra: Any) -> dict[str, Any]:
    base = {"url": gate.url, "insecure": True, "application": "app", "pipeline": "deploy-dev",
            "username": "ci", "password": PASSWORD, "deck_url": "https://spinnaker.example.com"}
    base.update(extra)
    return base


def image_dir(root: Path, repository: str = "team/app", tag: str = "1.2.3") -> Path:
    directory = root / "image"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "repository").write_text(repository)
    (directory / "digest").write_text(DIGEST)
    (directory / "tag").write_text(tag)
    return directory


def put(res: Resource, src: Path, source_: dict[str, Any], build_id: str = "4711", **params: Any) -> Any:
    from resource_helpers import BUILD_ENV

    env = {**BUILD_ENV, "BUILD_ID": build_id}
    return res._run("spinnaker-pipeline-out", {"source": source_, "params": params}, [str(src)], env)


def check(res: Resource, source_: dict[str, Any], version: dict[str, str] | None = None) -> Any:
    payload: dict[str, Any] = {"source": source_}
    if version is not None:
        payload["version"] = version
    return res._run("spinnaker-pipeline-check", payload, [], None)


def get(res: Resource, dest: Path, source_: dict[str, Any], version: dict[str, str]) -> Any:
    from resource_helpers import BUILD_ENV

    dest.mkdir(parents=True, exist_ok=True)
    return res._run("spinnaker-pipeline-in", {"source": source_, "version": version}, [str(dest)], BUILD_ENV)


def test_put_triggers_by_digest_waits_and_get_reports_what_was_deployed(gate: GateDouble, res: Resource,
                                                                         tmp_path: Path) -> None:
    image_dir(tmp_path)
    done = put(res, tmp_path, source(gate), image_dir="image", registry="harbor.example.com", wait=True,
               poll_interval="10ms", timeout="30s", parameters={"build": "$BUILD_PIPELINE_NAME/${BUILD_NAME}"})
    output = done.output
    execution_id = output["version"]["id"]
    assert list(gate.state.executions) == [execution_id]
    trigger = gate.state.executions[execution_id]["trigger"]
    # what gate/orca keep of the trigger: the caller, the pinned artifact bound to the expected artifact
    assert trigger["user"] == "ci" and trigger["type"] == "manual"
    assert trigger["parameters"] == {"build": "app/42"}
    assert trigger["artifacts"][0] | {"provenance": None} == {
        "type": "docker/image", "customKind": False, "name": IMAGE, "reference": f"{IMAGE}@{DIGEST}",
        "version": "1.2.3", "metadata": {"digest": DIGEST, "registry": "harbor.example.com"}, "provenance": None}
    assert trigger["resolvedExpectedArtifacts"][0]["boundArtifact"]["reference"] == f"{IMAGE}@{DIGEST}"
    metadata = {m["name"]: m["value"] for m in output["metadata"]}
    assert metadata["status"] == "SUCCEEDED"
    assert metadata["url"] == f"https://spinnaker.example.com/#/applications/app/executions/details/{execution_id}"
    assert metadata["deployed (dev-cluster)"] == f"{IMAGE}@{DIGEST}"
    assert "execution " + execution_id + ": SUCCEEDED" in done.stderr

    # check sees it (final statuses by default) and get writes the files
    versions = check(res, source(gate)).output
    assert versions == [output["version"]]
    dest = tmp_path / "get"
    got = get(res, dest, source(gate), output["version"]).output
    assert got["version"] == output["version"]
    assert (dest / "status").read_text() == "SUCCEEDED\n"
    deployed = json.loads((dest / "deployed.json").read_text())
    assert deployed == [{
        "stage": "Deploy dev", "ref_id": "deploy", "status": "SUCCEEDED", "account": "dev-cluster",
        "manifests_by_namespace": {"app-dev": ["deployment app"]},
        "images": [{"reference": f"{IMAGE}@{DIGEST}", "digest": DIGEST}],
        "artifacts": [{"name": IMAGE, "reference": f"{IMAGE}@{DIGEST}", "version": "1.2.3", "digest": DIGEST}],
    }]
    assert json.loads((dest / "trigger.json").read_text())["correlationId"] == trigger["correlationId"]
    assert json.loads((dest / "execution.json").read_text())["id"] == execution_id


def test_a_failed_execution_fails_the_put_with_the_stage_and_its_error(gate: GateDouble, res: Resource,
                                                                       tmp_path: Path) -> None:
    image_dir(tmp_path, repository=IMAGE)
    # the next execution: still running for two reads, then TERMINAL with the deploy stage's error
    gate.state.default_execution_plan = ["RUNNING", "RUNNING", "TERMINAL:Deployment app: ImagePullBackOff"]
    run = put(res, tmp_path, source(gate), image_dir="image", wait=True, poll_interval="10ms", timeout="10s")
    assert run.returncode == 1 and run.stdout == ""
    (execution_id,) = gate.state.executions
    assert run.stderr.strip().splitlines()[-1] == (
        f"out: execution {execution_id} ended TERMINAL: stage 'Deploy dev' (deployManifest) TERMINAL: "
        f"Deployment app: ImagePullBackOff; see https://spinnaker.example.com/#/applications/app/executions/details/"
        f"{execution_id}"
    )


def test_timeout_is_bounded_and_says_the_execution_keeps_running(gate: GateDouble, res: Resource,
                                                                 tmp_path: Path) -> None:
    image_dir(tmp_path, repository=IMAGE)
    gate.state.default_execution_plan = ["RUNNING"] * 10_000
    run = put(res, tmp_path, source(gate), image_dir="image", wait=True, poll_interval="50ms", timeout="1s")
    assert run.returncode == 1
    assert "is still RUNNING after params.timeout 1s; it keeps running in Spinnaker" in run.stderr


def test_a_lost_trigger_response_never_starts_a_second_execution(gate: GateDouble, res: Resource,
                                                                  tmp_path: Path) -> None:
    image_dir(tmp_path, repository=IMAGE)
    # the trigger is done, the answer lost (502 after the work): the resource must find the execution, not re-post
    gate.fault("POST", "/pipelines/app/deploy-dev", 502, after=True)
    run = put(res, tmp_path, source(gate), image_dir="image")
    assert run.returncode == 0, run.stderr
    assert len(gate.state.executions) == 1
    assert run.output["version"]["id"] == next(iter(gate.state.executions))
    posts = [entry for entry in gate.log if entry.method == "POST"]
    assert [entry.status for entry in posts] == [502]


def test_a_retried_put_step_of_the_same_build_finds_its_execution(gate: GateDouble, res: Resource,
                                                                  tmp_path: Path) -> None:
    image_dir(tmp_path, repository=IMAGE)
    first = put(res, tmp_path, source(gate), image_dir="image", wait=True, poll_interval="10ms", timeout="10s")
    (execution_id,) = gate.state.executions
    assert gate.state.executions[execution_id]["status"] == "SUCCEEDED"
    # Concourse retries the step (attempts:) in the same build: same BUILD_ID, same digest → the same execution
    again = put(res, tmp_path, source(gate), image_dir="image", wait=True, poll_interval="10ms", timeout="10s")
    assert again.output["version"] == first.output["version"]
    assert list(gate.state.executions) == [execution_id]
    assert [e.method for e in gate.log].count("POST") == 1
    # the next build (a new BUILD_ID, also for a re-run) deploys again
    other = put(res, tmp_path, source(gate), build_id="4712", image_dir="image")
    assert other.output["version"]["id"] != execution_id and len(gate.state.executions) == 2
    trigger = gate.state.executions[other.output["version"]["id"]]["trigger"]
    assert trigger["correlationId"] == f"concourse:4712:{DIGEST}"


def test_a_reset_before_the_work_is_retried_once_and_starts_one_execution(gate: GateDouble, res: Resource,
                                                                          tmp_path: Path) -> None:
    image_dir(tmp_path, repository=IMAGE)
    gate.fault("POST", "/pipelines/app/deploy-dev", 0, reset=True)
    gate.fault("POST", "/pipelines/app/deploy-dev", 503, times=1)
    run = put(res, tmp_path, source(gate), image_dir="image")
    assert run.returncode == 0, run.stderr
    assert len(gate.state.executions) == 1
    posts = [entry.status for entry in gate.log if entry.method == "POST"]
    assert posts == [0, 503, 202]
    # between attempts the resource looked for its correlation id
    lookups = [entry for entry in gate.log if entry.path == "/executions"]
    assert len(lookups) >= 2


def test_check_orders_oldest_first_filters_statuses_and_continues_from_a_version(gate: GateDouble,
                                                                                res: Resource, tmp_path: Path) -> None:
    image_dir(tmp_path, repository=IMAGE)
    gate.state.default_execution_plan = []  # executions stay RUNNING until the test advances them
    ids = [put(res, tmp_path, source(gate), build_id=str(n), image_dir="image").output["version"]["id"]
           for n in range(3)]
    assert check(res, source(gate)).output == []  # nothing final yet
    running = check(res, source(gate, statuses=["running"])).output
    assert [v["id"] for v in running] == [ids[2]]
    advance(gate.state, ids[0], "SUCCEEDED")
    advance(gate.state, ids[1], "TERMINAL")
    first = check(res, source(gate)).output
    assert [v["id"] for v in first] == [ids[1]]
    advance(gate.state, ids[2], "SUCCEEDED")
    since = check(res, source(gate), {"id": ids[0]}).output
    assert [v["id"] for v in since] == ids
    only_ok = check(res, source(gate, statuses=["SUCCEEDED"]), {"id": ids[0]}).output
    assert [v["id"] for v in only_ok] == [ids[0], ids[2]]
    listing = [entry for entry in gate.log if entry.path == "/executions"][-1]
    assert "limit=50" in listing.query and "statuses=SUCCEEDED" in listing.query


def test_bearer_token_and_x509(res: Resource, tmp_path: Path, test_ca: TestCA) -> None:
    cert, key = make_client_cert(test_ca, "deploy-bot")
    res.secrets.update({"tok-secret-123", key.strip().splitlines()[1]})
    tls = (str(test_ca.server_cert), str(test_ca.server_key), str(test_ca.ca_file))
    with GateDouble(tls) as double:
        double.add_user("deploy-bot", cert_cn="deploy-bot", applications={"app": {"READ"}})
        double.add_user("tokenuser", token="tok-secret-123", applications={"app": {"READ"}})
        add_pipeline(double.state, "app", "deploy-dev")
        base = {"url": double.url, "application": "app", "pipeline": "deploy-dev", "ca_certs": [test_ca.ca_pem]}
        assert check(res, {**base, "client_cert": cert, "client_key": key}).output == []
        assert check(res, {**base, "token": "tok-secret-123"}).output == []
        assert [e.user for e in double.log] == ["deploy-bot", "deploy-bot", "tokenuser", "tokenuser"]
        denied = check(res, {**base, "token": "wrong-token-456"})
        assert denied.returncode == 1
        assert "Gate refused the credentials (401" in denied.stderr and "wrong-token-456" not in denied.stderr


def test_fiat_denials_name_the_permission(gate: GateDouble, res: Resource, tmp_path: Path) -> None:
    gate.add_user("stranger", password=PASSWORD, applications={"other": {"READ", "EXECUTE"}})
    image_dir(tmp_path, repository=IMAGE)
    run = put(res, tmp_path, source(gate, username="stranger"), image_dir="image")
    assert run.returncode == 1
    assert "forbidden (403" in run.stderr and "READ to read" in run.stderr and "EXECUTE to trigger" in run.stderr
    assert not gate.state.executions
    assert check(res, source(gate, username="stranger")).returncode == 1


def test_retries_429_and_503_on_reads(gate: GateDouble, res: Resource) -> None:
    gate.fault("GET", "/executions", 429, times=1, headers=[("Retry-After", "0")])
    gate.fault("GET", "/applications/app/pipelineConfigs", 503, times=1)
    assert check(res, source(gate)).output == []
    assert [e.status for e in gate.log] == [503, 200, 429, 200]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pipeline": None}, "source.pipeline: required"),
        ({"url": "http://gate.example.com", "insecure": None}, "source.url: plain http sends credentials"),
        ({"statuses": ["DONE"]}, "source.statuses[0]: 'DONE' is not an execution status"),
        ({"password": None}, "source.password: required when source.username is set"),
        ({"client_key": "/etc/key.pem"}, "source.client_key: must be a PEM string"),
        ({"pipline": "x"}, "source: unknown key 'pipline' (did you mean 'pipeline'?)"),
        ({"token": "t0k3n-abc"}, "source.token: exclusive with source.username/password"),
    ],
)
def test_bad_source_is_one_line(gate: GateDouble, res: Resource, change: dict[str, Any], message: str) -> None:
    bad = {k: v for k, v in {**source(gate), **change}.items() if v is not None}
    run = check(res, bad)
    assert run.returncode == 1 and run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], run.stderr
    assert not gate.log


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"image_dir": "missing"}, "params.image_dir: 'missing' is not a directory"),
        ({"repository": IMAGE, "digest": "latest"}, "params.digest: 'latest' is not a digest"),
        ({"repository": "team/app", "digest": DIGEST}, "params.registry: required, the repository 'team/app'"),
        ({"repository": IMAGE}, "params.digest: required"),
        ({"repository": IMAGE, "digest": DIGEST, "timeout": "5m"}, "params.timeout: only applies with wait: true"),
        ({"repository": IMAGE, "digest": DIGEST, "wait": True, "timeout": "99999999999999h"},
         "params.timeout: at most 168h"),
        ({"repository": IMAGE, "digest": DIGEST, "wait": True, "poll_interval": "200h"},
         "params.poll_interval: at most 168h"),
        ({"repository": IMAGE, "digest": DIGEST, "parameters": {"n": True}}, "params.parameters.n: must be a string"),
    ],
)
def test_bad_params_are_one_line(gate: GateDouble, res: Resource, tmp_path: Path, params: dict[str, Any],
                                 message: str) -> None:
    run = put(res, tmp_path, source(gate), **params)
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], run.stderr
    assert not gate.state.executions


def test_unknown_pipeline_and_unknown_execution(gate: GateDouble, res: Resource, tmp_path: Path) -> None:
    run = check(res, source(gate, pipeline="nope"))
    assert run.returncode == 1 and "check source.application and source.pipeline" in run.stderr
    missing = get(res, tmp_path / "d", source(gate), {"id": "01XYZ"})
    assert missing.returncode == 1 and "execution 01XYZ: Gate does not know it (404)" in missing.stderr


def test_debug_redacts_and_execution_json_strips_secrets(gate: GateDouble, res: Resource, tmp_path: Path) -> None:
    image_dir(tmp_path, repository=IMAGE)
    out = put(res, tmp_path, source(gate, debug=True), image_dir="image",
              parameters={"db_password": "hunter2-secret", "note": PASSWORD})
    assert "debug: GET /applications/app/pipelineConfigs/deploy-dev -> 200" in out.stderr
    dest = tmp_path / "get"
    get(res, dest, source(gate), out.output["version"])
    text = (dest / "execution.json").read_text() + (dest / "trigger.json").read_text()
    assert "hunter2-secret" not in text and PASSWORD not in text
    assert json.loads((dest / "trigger.json").read_text())["parameters"] == {"db_password": "***", "note": "***"}

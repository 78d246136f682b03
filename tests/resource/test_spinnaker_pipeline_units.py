"""Units of the spinnaker-pipeline resource: the execution report (orca/clouddriver shapes) and strict decoding."""

from __future__ import annotations

import json

import pytest
from harbor_image.errors import ResourceError
from spinnaker_pipeline import report
from spinnaker_pipeline.out import expand, expected_artifact_ids
from spinnaker_pipeline.wire import decode_check, decode_out

SOURCE = {"url": "https://gate.example.com", "application": "app", "pipeline": "deploy", "token": "t0k3n-secret"}


def test_deployed_reads_outputs_from_the_context_too_and_keeps_digests() -> None:
    # orca's PromoteManifestKatoOutputsTask writes the same keys to the stage context and its outputs
    execution = {"stages": [{
        "type": "deployManifest", "name": "Deploy c1", "refId": "d", "status": "SUCCEEDED",
        "context": {
            "account": "k8s-dev", "deploy.account.name": "k8s-dev",
            "outputs.manifests": [{"kind": "ReplicaSet", "metadata": {"name": "app-v002", "namespace": "ns"},
                                   "spec": {"template": {"spec": {
                                       "initContainers": [{"image": "r.example.com/t/init:1"}],
                                       "containers": [{"image": "r.example.com/t/app@sha256:" + "0" * 64}]}}}}],
            "outputs.manifestNamesByNamespace": {"ns": ["replicaSet app-v002"]},
            "outputs.boundArtifacts": [{"type": "docker/image", "name": "r.example.com/t/app",
                                        "reference": "r.example.com/t/app@sha256:" + "0" * 64, "version": "1"},
                                       {"type": "kubernetes/configMap", "name": "cfg", "reference": "cfg-v001"}],
        },
    }, {"type": "manualJudgment", "status": "SUCCEEDED", "context": {}}]}
    (item,) = report.deployed(execution)
    assert item["account"] == "k8s-dev"
    assert item["manifests_by_namespace"] == {"ns": ["replicaSet app-v002"]}
    assert item["images"] == [{"reference": "r.example.com/t/init:1", "digest": None},
                              {"reference": "r.example.com/t/app@sha256:" + "0" * 64, "digest": "sha256:" + "0" * 64}]
    assert [a["name"] for a in item["artifacts"]] == ["r.example.com/t/app"]


def test_failure_text_uses_orca_exception_details_then_kato_task_messages() -> None:
    stages = [{"type": "wait", "name": "Wait", "status": "SUCCEEDED", "context": {}},
              {"type": "deployManifest", "name": "Deploy", "status": "TERMINAL",
               "context": {"kato.tasks": [{"exception": {"message": "namespace  foo\nnot found"}}]}}]
    expected = "stage 'Deploy' (deployManifest) TERMINAL: namespace foo not found"
    assert report.failure_text({"stages": stages}) == expected
    stages[1]["context"] = {"exception": {"details": {"error": "boom", "errors": ["a", "b"]}}}
    assert report.failure_text({"stages": stages}).endswith("TERMINAL: a; b")
    assert report.failure_text({"stages": stages[:1]}) is None


def test_strip_secrets_replaces_values_of_secret_keys_only() -> None:
    cleaned = report.strip_secrets({"trigger": {"parameters": {"dbPassword": "x", "api_key": "y", "name": "z"},
                                                "credentials": "k8s-dev", "secretRef": ""},
                                    "authorization": "Bearer abc"})
    assert cleaned == {"trigger": {"parameters": {"dbPassword": "***", "api_key": "***", "name": "z"},
                                   "credentials": "k8s-dev", "secretRef": ""}, "authorization": "***"}


def test_strip_secrets_empties_kubernetes_secret_manifests() -> None:
    # a deployManifest stage keeps the manifests it applied in its context and outputs; a Secret's values are under
    # data/stringData, which no key pattern catches
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "type": "Opaque",
              "data": {"url": "cG9zdGdyZXM6Ly91OnB3QGRi"}, "stringData": {"url": "postgres://u:pw@db"}}
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"mode": "dev"}}
    execution = {"stages": [{"context": {"manifests": [secret, config_map]},
                             "outputs": {"outputs.manifests": [secret]}}]}
    text = json.dumps(report.strip_secrets(execution))
    assert "cG9zdGdyZXM6Ly91OnB3QGRi" not in text and "postgres://u:pw@db" not in text
    cleaned = report.strip_secrets(execution)["stages"][0]
    manifest = cleaned["context"]["manifests"][0]
    assert manifest["data"] == "***" and manifest["type"] == "Opaque"
    assert cleaned["context"]["manifests"][1]["data"] == {"mode": "dev"}  # not a Secret: kept
    assert cleaned["outputs"]["outputs.manifests"][0]["stringData"] == "***"


def test_times_are_iso_utc() -> None:
    assert report.iso(1_700_000_000_000) == "2023-11-14T22:13:20Z"
    assert report.iso(None) is None and report.iso(0) is None


def test_decoding_normalises_statuses_and_parameters() -> None:
    request = decode_check(json.dumps({"source": {**SOURCE, "statuses": ["succeeded", "SUCCEEDED", "terminal"]}}))
    assert request.source.statuses == ("SUCCEEDED", "TERMINAL")
    assert "t0k3n" not in repr(request.source)
    out = decode_out(json.dumps({"source": SOURCE, "params": {"repository": "r.example.com/t/app",
                                                              "digest": "sha256:" + "a" * 64,
                                                              "parameters": {"replicas": 3, "env": "dev"}}}))
    assert out.params.parameters == {"replicas": "3", "env": "dev"}
    with pytest.raises(ResourceError, match=r"^source.client_cert: required for x509"):
        decode_check(json.dumps({"source": {**SOURCE, "token": None, "client_key": "-----BEGIN PRIVATE KEY-----"}}))


def test_build_metadata_expansion(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUILD_NAME", "12")
    monkeypatch.setenv("BUILD_PIPELINE_NAME", "app")
    monkeypatch.delenv("BUILD_JOB_NAME", raising=False)
    assert expand("$BUILD_PIPELINE_NAME#${BUILD_NAME} $BUILD_JOB_NAME $HOME") == "app#12  $HOME"


def test_expected_artifact_ids_follow_the_match_name_as_a_regex() -> None:
    config = {"expectedArtifacts": [
        {"id": "exact", "matchArtifact": {"type": "docker/image", "name": "r.example.com/t/app"}},
        {"id": "pattern", "matchArtifact": {"type": "docker/image", "name": "r.example.com/t/.*"}},
        {"id": "other", "matchArtifact": {"type": "docker/image", "name": "r.example.com/t/db"}},
        {"id": "file", "matchArtifact": {"type": "github/file", "name": "x"}},
    ]}
    assert expected_artifact_ids(config, {"name": "r.example.com/t/app"}) == ["exact", "pattern"]


def test_a_catastrophic_match_name_fails_within_the_budget_with_one_line() -> None:
    # the pattern comes from the pipeline config (Gate): unbounded backtracking would spin past every deadline
    import time

    config = {"name": "deploy", "expectedArtifacts": [
        {"id": "bad", "matchArtifact": {"type": "docker/image", "name": "(h|h|ar|a|r|b|o|.)*x$"}},
    ]}
    started = time.monotonic()
    with pytest.raises(ResourceError) as caught:
        expected_artifact_ids(config, {"name": "harbor.example.com/" + "a" * 26 + "/" + "b" * 34})
    assert time.monotonic() - started < 15
    message = str(caught.value)
    assert "pipeline config deploy: expectedArtifacts[].matchArtifact.name" in message
    assert "backtracks catastrophically" in message and "\n" not in message


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ('{"source": ' * 1000 + "1" + "}" * 1000, "stdin: the JSON payload is nested too deeply"),
        ("[" * 1000 + "]" * 1000, "stdin: the JSON payload is nested too deeply"),
        (json.dumps({"source": {**SOURCE, "url": "https://gate:abc"}}), "source.url: 'https://gate:abc' is not a"),
        (json.dumps({"source": {**SOURCE, "url": "https://gate:99999"}}), "source.url: 'https://gate:99999' is not a"),
        (json.dumps({"source": {**SOURCE, "url": "http://[::1"}}), "source.url: 'http://[::1' is not a valid URL"),
        (json.dumps({"source": {**SOURCE, "url": "https://gate:0"}}), "source.url: port 0 in"),
        (json.dumps({"source": {**SOURCE, "url": "https://" + "a" * 70 + ".com"}}), "is not a valid host name"),
        (json.dumps({"source": SOURCE, "version": {"id": "x" * 5000}}), "version.id: 'xxxxx"),
        (json.dumps({"source": {**SOURCE, "statuses": ["X" * 500]}}), "source.statuses[0]: 'XXXX"),
    ],
)
def test_bad_input_is_one_short_line_naming_the_key(payload: str, expected: str) -> None:
    with pytest.raises(ResourceError) as caught:
        decode_check(payload)
    message = str(caught.value)
    assert message.startswith(expected) or expected in message
    assert "\n" not in message and len(message) < 400


def test_echoed_parameter_names_are_escaped_and_cut() -> None:
    params = {"repository": "h.io/p/n", "digest": "sha256:" + "a" * 64, "parameters": {"\x1b[31mk\n" + "z" * 400: [1]}}
    with pytest.raises(ResourceError) as caught:
        decode_out(json.dumps({"source": SOURCE, "params": params}))
    message = str(caught.value)
    assert message.startswith("params.parameters.\\x1b[31mk\\x0az")
    assert "\x1b" not in message and "\n" not in message and len(message) < 200


def test_cli_output_is_redacted_and_an_error_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # metadata carries Gate's text (a stage error may echo anything); an execution's status may hold a newline
    import io

    from spinnaker_pipeline import cli

    payload = json.dumps({"source": SOURCE})
    monkeypatch.setattr("sys.stdin", io.StringIO(payload))
    leaked = [{"name": "failure", "value": "stage deploy: token t0k3n-secret refused"}]
    assert cli._main("in", ["in", "/tmp"], lambda _t, _a, _l: {"metadata": leaked}) == 0
    out, _err = capsys.readouterr()
    assert "t0k3n-secret" not in out and json.loads(out)["metadata"][0]["value"].endswith("token *** refused")

    def fails(_text: str, _argv: list[str], _log: object) -> None:
        raise ResourceError("execution EX1 is still RUNNING\n\x1b[31mFAKE after params.timeout 2s")

    monkeypatch.setattr("sys.stdin", io.StringIO(payload))
    assert cli._main("out", ["out", "/tmp"], fails) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "out: execution EX1 is still RUNNING\\n\\x1b[31mFAKE after params.timeout 2s\n"


def test_failure_text_is_redacted_before_it_is_cut() -> None:
    from shiplane_http import Redactor

    redactor = Redactor()
    redactor.add("correct horse  battery staple")
    for filler in range(560, 600):
        execution = {"stages": [{"name": "d", "type": "deployManifest", "status": "TERMINAL", "context": {
            "exception": {"details": {"error": "x" * filler + " pw=correct horse  battery staple"}}}}]}
        text = report.failure_text(execution, redactor) or ""
        assert "pw=cor" not in text and "battery" not in text

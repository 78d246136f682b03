"""`shiplane lint-spinnaker FILE…` on any pipeline JSON, and `shiplane validate` with the Spinnaker half."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from shiplane.cli import main
from spinnaker_support import EXAMPLE, fleet_from, pipeline

PROD = pipeline(fleet_from(), "web", "deploy-prod")


def write(path: Path, content: object) -> str:
    path.write_text(json.dumps(content, indent=2), encoding="utf-8")
    return str(path)


def test_a_clean_file_exits_0_saying_what_was_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint-spinnaker", write(tmp_path / "p.json", PROD)]) == 0
    assert capsys.readouterr() == ("", "lint-spinnaker: 1 file(s) clean: pipelines by Orca's rules, manifests "
                                       "against the Kubernetes 1.31 schemas, no accounts (give --clouddriver FILE)\n")


def test_findings_are_one_line_each_on_stderr_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = json.loads(json.dumps(PROD))
    broken["stages"][1]["trafficManagement"]["options"]["strategy"] = "canary"
    broken["triggers"][0]["tag"] = "{latest}"
    path = write(tmp_path / "p.json", broken)
    assert main(["lint-spinnaker", path, write(tmp_path / "ok.json", PROD)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines[0].startswith(f"{path}: triggers[0].tag: is not a Java regular expression Echo can use "
                               f"(Illegal repetition")
    assert lines[1] == (f"{path}: stages[1](deploy-prod-us-1).trafficManagement.options.strategy: \"canary\" is not "
                        f"a strategy; use one of bluegreen, highlander, none, redblack")
    assert lines[-1] == "2 finding(s) in 2 file(s)"


def test_duplicate_keys_are_refused_like_spin_does(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.json"
    path.write_text('{"application": "web",\n "name": "a",\n "name": "b",\n "stages": []}\n', encoding="utf-8")
    assert main(["lint-spinnaker", str(path)]) == 1
    assert f"{path}:3: name: defined twice (spin pipeline save refuses the file)" in capsys.readouterr().err


def test_yaml_files_and_lists_of_pipelines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.yml"
    other = json.loads(json.dumps(PROD))
    other["stages"][0]["type"] = "deployManifests"
    path.write_text(yaml.safe_dump([PROD, other]), encoding="utf-8")
    assert main(["lint-spinnaker", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}: [1].stages[0](deploy-prod-eu-1).type: 'deployManifests' is not a stage type of Orca" in err
    assert "[0]." not in err


def test_accounts_come_from_a_clouddriver_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "clouddriver-local.yml"
    config.write_text(yaml.safe_dump({"dockerRegistry": {"accounts": [{"name": "harbor"}]},
                                      "kubernetes": {"accounts": [{"name": "prod-eu-1", "namespaces": ["web-eu"]}]}}),
                      encoding="utf-8")
    path = write(tmp_path / "p.json", PROD)
    assert main(["lint-spinnaker", "--clouddriver", str(config), path]) == 1
    err = capsys.readouterr().err
    assert "stages[1](deploy-prod-us-1).account: Kubernetes account 'prod-us-1' does not exist; known: prod-eu-1" in err
    assert "prod-eu-1).account" not in err


def test_unreadable_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint-spinnaker", str(tmp_path / "missing.json")]) == 1
    assert "missing.json: no such file" in capsys.readouterr().err
    empty = tmp_path / "empty.yml"
    empty.write_text("{}\n", encoding="utf-8")
    assert main(["lint-spinnaker", "--clouddriver", str(empty), write(tmp_path / "p.json", PROD)]) == 1
    assert "defines no dockerRegistry or kubernetes accounts" in capsys.readouterr().err
    assert main(["lint-spinnaker"]) == 2


def test_validate_checks_the_spinnaker_documents(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(EXAMPLE)]) == 0
    assert "valid (1 apps, " in capsys.readouterr().err  # with the Concourse documents once both halves are merged
    templates = tmp_path / "templates" / "spinnaker"
    templates.mkdir(parents=True)
    builtin = (Path(__file__).resolve().parent.parent / "templates" / "spinnaker" / "app.yml.j2").read_text()
    (templates / "app.yml.j2").write_text(builtin.replace("strategy.spinnaker.io/max-version-history", "x.io/h"))
    assert main(["validate", str(EXAMPLE), "--templates", str(tmp_path / "templates")]) == 1
    err = capsys.readouterr().err
    assert ("shiplane: spinnaker/petclinic/deploy-dev.json (from template spinnaker/app.yml.j2 (app petclinic, "
            "environment dev)): stages[0](deploy-dev).manifests[0].metadata.annotations: needs "
            "strategy.spinnaker.io/max-version-history") in err


def test_no_secret_is_written(tmp_path: Path) -> None:
    assert main(["render", str(EXAMPLE), "--out", str(tmp_path)]) == 0
    for path in (tmp_path / "spinnaker").rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert '"password":' not in text and "password: " not in text.replace("passwordFile: ", "")
            assert '"kind": "Secret"' not in text and "stringData" not in text


def test_igor_and_operator_files_are_recognised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    igor = tmp_path / "igor-local.yml"
    igor.write_text(yaml.safe_dump({"dockerRegistry": {"enabled": False, "itemUpperThreshold": 1000}}),
                    encoding="utf-8")
    patch = tmp_path / "patch.yml"
    patch.write_text(yaml.safe_dump([{"op": "replace", "path": "/spec/spinnakerConfig/config/providers/kubernetes/"
                                                              "accounts", "value": []}]), encoding="utf-8")
    assert main(["lint-spinnaker", str(igor), str(patch)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{igor}: dockerRegistry.enabled: must be true")
    assert err[1].startswith(f"{patch}: [0]: must be an add operation")
    assert err[-1] == "2 finding(s) in 2 file(s)"

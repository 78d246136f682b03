"""Environments with concourse_deploy: the petclinic variant renders and lints; the Concourse put and the resource's
source decode with the spinnaker-pipeline resource's own wire; the Spinnaker deploy pipeline drops its docker trigger
and keeps the expected artifact the put binds; config errors are one line."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from shiplane.cli import main
from shiplane.config import load, load_text
from shiplane.errors import ShiplaneError
from spinnaker_pipeline.wire import decode_check, decode_out

ROOT = Path(__file__).resolve().parent.parent
VARIANT = ROOT / "examples" / "petclinic-concourse-deploy" / "shiplane.yaml"
PLAIN = ROOT / "examples" / "petclinic" / "shiplane.yaml"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("variant")
    assert main(["render", str(VARIANT), "--out", str(out)]) == 0
    return out


def resolved(value: Any) -> Any:
    """((vars)) as Concourse fills them in."""
    if isinstance(value, str):
        return re.sub(r"\(\([^)]*\)\)", "secret-value", value)
    if isinstance(value, list):
        return [resolved(v) for v in value]
    if isinstance(value, dict):
        return {k: resolved(v) for k, v in value.items()}
    return value


def test_variant_renders_and_lints(rendered: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint-pipeline", str(rendered / "concourse" / "petclinic.yml")]) == 0
    assert main(["lint-spinnaker", *map(str, sorted((rendered / "spinnaker" / "petclinic").glob("*.json")))]) == 0
    assert main(["validate", str(VARIANT)]) == 0
    capsys.readouterr()


def test_build_job_deploys_by_digest_and_waits(rendered: Path) -> None:
    pipeline = yaml.safe_load((rendered / "concourse" / "petclinic.yml").read_text())
    build = next(job for job in pipeline["jobs"] if job["name"] == "build")
    image_put, deploy_put = build["plan"][-2:]
    assert image_put["put"] == "image-latest"
    assert deploy_put == {"put": "deploy-dev", "inputs": ["image-latest"], "params": {
        "image_dir": "image-latest", "registry": "harbor.tooling.example.com", "wait": True, "timeout": "20m"}}
    resource = next(r for r in pipeline["resources"] if r["name"] == "deploy-dev")
    assert resource["type"] == "spinnaker-pipeline"
    # what the generator writes is what the resource accepts
    request = decode_out(json.dumps(resolved({"source": resource["source"], "params": deploy_put["params"]})))
    assert (request.source.application, request.source.pipeline) == ("petclinic", "deploy-dev")
    assert request.source.statuses == ("SUCCEEDED",) and request.params.timeout == 1200
    decode_check(json.dumps(resolved({"source": resource["source"]})))
    release = next(job for job in pipeline["jobs"] if job["name"] == "release")
    assert release["plan"][-1]["put"] == "image-release"  # prod keeps Spinnaker's docker trigger


def test_smoke_test_job_runs_after_successful_deploys(rendered: Path) -> None:
    pipeline = yaml.safe_load((rendered / "concourse" / "petclinic.yml").read_text())
    smoke = next(job for job in pipeline["jobs"] if job["name"] == "smoke-test-dev")
    get_deploy, get_source, task = smoke["plan"]
    assert get_deploy == {"get": "deploy-dev", "trigger": True, "passed": ["build"]}
    assert get_source == {"get": "source", "resource": "source", "passed": ["build"]}
    config = task["config"]
    assert config["params"] == {"SHIPLANE_APP": "petclinic", "SHIPLANE_DEPLOYED": "deployment/deployed.json",
                                "SHIPLANE_ENVIRONMENT": "dev", "SHIPLANE_NAMESPACES": "petclinic"}
    assert config["run"]["path"] == "sh" and config["run"]["args"][0] == "-ec"
    assert "actuator/health" in config["run"]["args"][1]


def test_spinnaker_deploy_pipeline_has_no_docker_trigger_but_keeps_the_artifact(rendered: Path) -> None:
    dev = json.loads((rendered / "spinnaker" / "petclinic" / "deploy-dev.json").read_text())
    prod = json.loads((rendered / "spinnaker" / "petclinic" / "deploy-prod.json").read_text())
    assert dev["triggers"] == []
    assert "spinnaker-pipeline resource triggers it" in dev["description"]
    expected = dev["expectedArtifacts"][0]
    assert expected["matchArtifact"] == {"name": "harbor.tooling.example.com/petclinic/petclinic",
                                         "type": "docker/image"}
    deploys = [stage for stage in dev["stages"] if stage["type"] == "deployManifest"]
    assert all(stage["requiredArtifactIds"] == [expected["id"]] for stage in deploys)
    assert [trigger["type"] for trigger in prod["triggers"]] == ["docker"]
    # the put lists exactly this expected artifact for the artifact it sends (out.expected_artifact_ids)
    from spinnaker_pipeline.out import expected_artifact_ids

    artifact = {"type": "docker/image", "name": "harbor.tooling.example.com/petclinic/petclinic"}
    assert expected_artifact_ids(dev, artifact) == [expected["id"]]


def test_default_is_off() -> None:
    fleet = load(str(PLAIN))
    assert fleet.concourse_deploy.timeouts == ()


def test_concourse_deploy_without_gate_url_is_one_line() -> None:
    text = VARIANT.read_text().replace("    url: https://gate.tooling.example.com", "    url: null")
    with pytest.raises(ShiplaneError) as caught:
        load_text(text, "shiplane.yaml")
    message = str(caught.value)
    assert message.startswith("spinnaker.gate.url: required because environments.dev.concourse_deploy.enabled")
    assert "\n" not in message


def test_release_environments_and_github_releases(tmp_path: Path) -> None:
    text = VARIANT.read_text().replace(
        "    judgment_between_waves: true\n",
        "    judgment_between_waves: true\n    concourse_deploy: {enabled: true}\n",
    )
    text = text.replace("    releases:\n      from: git-tags\n      tag_regex: '^v?[0-9]+\\.[0-9]+\\.[0-9]+$'\n",
                        "    releases:\n      from: github-releases\n"
                        "      github: {owner: spring-projects, repository: spring-petclinic}\n")
    assert "concourse_deploy: {enabled: true}" in text and "github-releases" in text
    config = tmp_path / "shiplane.yaml"
    config.write_text(text)
    out = tmp_path / "out"
    assert main(["render", str(config), "--out", str(out)]) == 0
    pipeline = yaml.safe_load((out / "concourse" / "petclinic.yml").read_text())
    release = next(job for job in pipeline["jobs"] if job["name"] == "release")
    assert release["plan"][-1]["put"] == "deploy-prod"
    assert release["plan"][-1]["params"]["image_dir"] == "image-release"
    assert release["plan"][-1]["params"]["timeout"] == "30m"
    smoke = next(job for job in pipeline["jobs"] if job["name"] == "smoke-test-prod")
    assert [step.get("get") or step.get("task") for step in smoke["plan"]] == ["deploy-prod", "smoke-test"]
    assert smoke["plan"][1]["config"]["run"]["dir"] == "deployment"
    prod = json.loads((out / "spinnaker" / "petclinic" / "deploy-prod.json").read_text())
    assert prod["triggers"] == [] and prod["expectedArtifacts"][0]["usePriorArtifact"] is True
    assert main(["lint-pipeline", str(out / "concourse" / "petclinic.yml")]) == 0

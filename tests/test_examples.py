"""Every bundled fleet renders, lint clean with the standalone linters, and every manifest validates against the
configured Kubernetes version's schemas; the multi-team fleet puts each app where its team says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from shiplane.cli import main
from shiplane.config import load
from shiplane.spinnaker.kubeschema import schemas_for
from spinnaker_support import text_form

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*/shiplane.yaml"))
FLEET = ROOT / "examples" / "fleet" / "shiplane.yaml"


def test_the_examples_are_the_bundled_fleets() -> None:
    assert [path.parent.name for path in EXAMPLES] == ["fleet", "petclinic", "petclinic-concourse-deploy"]


@pytest.fixture(scope="module", params=EXAMPLES, ids=[path.parent.name for path in EXAMPLES])
def rendered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    config: Path = request.param
    out = tmp_path_factory.mktemp(config.parent.name)
    assert main(["render", str(config), "--out", str(out)]) == 0
    return config, out


def test_rendered_pipelines_lint_clean(rendered: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _, out = rendered
    concourse = sorted(str(path) for path in (out / "concourse").glob("*.yml"))
    assert concourse and main(["lint-pipeline", *concourse]) == 0  # strict: warnings fail too
    spinnaker = sorted(str(path) for path in (out / "spinnaker").glob("*/*.json"))
    clouddriver = str(out / "spinnaker" / "clouddriver-local.yml")
    assert spinnaker and main(["lint-spinnaker", "--clouddriver", clouddriver, *spinnaker]) == 0
    assert capsys.readouterr().out == ""


def test_every_manifest_validates_for_the_configured_kubernetes(rendered: tuple[Path, Path]) -> None:
    config, out = rendered
    schemas = schemas_for(load(str(config)).spinnaker.kubernetes_version)
    kinds: set[str] = set()
    paths = sorted((out / "spinnaker").glob("*/deploy-*.json")) + sorted((out / "spinnaker").glob("*/mysql-*.json"))
    for path in paths:
        for stage in text_form(json.loads(path.read_text()))["stages"]:
            for body in stage.get("manifests", []):
                assert schemas.problems(body) == [], (path.name, stage["refId"], body["kind"])
                kinds.add(body["kind"])
    assert {"ReplicaSet", "Service", "PodDisruptionBudget"} <= kinds


def _deploy(out: Path, app: str, environment: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "spinnaker" / app / f"deploy-{environment}.json").read_text())
    return data


def _manifests(pipeline: dict[str, Any], cluster: str) -> dict[str, dict[str, Any]]:
    """What `cluster`'s stage deploys: its manifest artifact, decoded, in the stage's namespaceOverride."""
    (stage,) = [s for s in text_form(pipeline)["stages"] if s["refId"] == f"deploy-{cluster}"]
    return {m["kind"]: m for m in stage["manifests"]}


def test_the_fleet_puts_every_app_in_its_team(tmp_path: Path) -> None:
    assert main(["render", str(FLEET), "--out", str(tmp_path)]) == 0
    meta = yaml.safe_load((tmp_path / "concourse" / "set-pipelines.yml").read_text())
    (job,) = [j for j in meta["jobs"] if j["name"] == "set-pipelines"]
    teams = {step["team"]: step["across"][0]["values"] for step in job["plan"] if "across" in step}
    assert teams == {"catalog": ["catalog-service", "search-indexer"], "payments": ["ledger", "payments-api"],
                     "web": ["docs-site", "storefront"]}
    trigger = _deploy(tmp_path, "storefront", "prod")["triggers"][0]
    assert (trigger["organization"], trigger["repository"]) == ("web-frontend", "web-frontend/storefront")
    payments = _manifests(_deploy(tmp_path, "payments-api", "prod"), "prod-eu-3")
    assert payments["ReplicaSet"]["metadata"]["namespace"] == "payments"  # the team's namespace
    ledger = _manifests(_deploy(tmp_path, "ledger", "prod"), "prod-eu-1")
    assert ledger["ReplicaSet"]["metadata"]["namespace"] == "payments-ledger"  # the app's own
    clouddriver = yaml.safe_load((tmp_path / "spinnaker" / "clouddriver-local.yml").read_text())
    namespaces = {a["name"]: a["namespaces"] for a in clouddriver["kubernetes"]["accounts"]}
    assert namespaces["prod-eu-1"] == ["catalog", "payments", "payments-ledger", "web"]
    assert namespaces["prod-us-1"] == ["catalog", "payments", "web"]  # ledger is EU-only


def test_the_fleet_overrides_show_in_the_manifests(tmp_path: Path) -> None:
    assert main(["render", str(FLEET), "--out", str(tmp_path)]) == 0
    prod = _deploy(tmp_path, "payments-api", "prod")

    def settings(cluster: str) -> tuple[int, dict[str, str], dict[str, Any], dict[str, str]]:
        replica_set = _manifests(prod, cluster)["ReplicaSet"]
        container = replica_set["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e["value"] for e in container["env"]}
        return replica_set["spec"]["replicas"], env, container["resources"]["requests"], replica_set["metadata"][
            "labels"]

    replicas, env, requests, labels = settings("prod-eu-1")  # environment + cluster env + region label override
    assert (replicas, env["PAYMENT_PROVIDER"], env["REGION"], env["SPRING_PROFILES_ACTIVE"]) == (
        3, "adyen-eu", "eu-west-1", "prod")
    assert requests == {"cpu": "500m", "memory": "1Gi"} and "compliance" not in labels
    replicas, env, requests, labels = settings("prod-eu-3")  # + size: large + the cluster override
    assert (replicas, env["PAYMENT_PROVIDER"], env["DATA_RESIDENCY"], env["REGION"]) == (
        5, "adyen-de", "eu", "eu-central-1")
    assert requests == {"cpu": "1", "memory": "2Gi"} and labels["compliance"] == "bafin"
    replicas, env, _, _ = settings("prod-us-1")
    assert (replicas, env["PAYMENT_PROVIDER"], env["REGION"]) == (3, "stripe-us", "us-east-1")
    assert "DATA_RESIDENCY" not in env
    hpa = _manifests(prod, "prod-eu-3")["HorizontalPodAutoscaler"]
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (5, 10)
    ingress = _manifests(prod, "prod-us-1")["Ingress"]
    assert ingress["spec"]["rules"][0]["host"] == "payments.prod-us-1.example.com"

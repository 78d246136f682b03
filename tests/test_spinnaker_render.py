"""Spinnaker rendering: golden files for Pet Clinic, and the structure every pipeline must have."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from shiplane.cli import main
from shiplane.errors import ShiplaneError
from shiplane.spinnaker import render_app, validate_document
from shiplane.spinnaker.javaregex import echo_tag_matches
from shiplane.spinnaker.kubeschema import schemas_for
from shiplane.spinnaker.lint import bindable_image
from shiplane.spinnaker.manifestartifact import EMBEDDED_ACCOUNT, EMBEDDED_TYPE
from shiplane.spinnaker.manifests import SERVICE_SELECTOR_KEY
from shiplane.spinnaker.tags import build_tag
from shiplane.templates import TemplateSet
from spinnaker_support import (
    EXAMPLE,
    ROOT,
    WAVES,
    decoded_manifests,
    documents,
    example,
    fleet_from,
    manifest,
    pipeline,
    stage,
    stages_of,
    text_form,
)

GOLDEN = ROOT / "tests" / "golden" / "petclinic"
UPDATE = os.environ.get("SHIPLANE_UPDATE_GOLDEN") == "1"


# ---- golden files ----------------------------------------------------------------------------------------------


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_petclinic_matches_the_golden_files_byte_for_byte(tmp_path: Path) -> None:
    assert main(["render", str(EXAMPLE), "--out", str(tmp_path)]) == 0
    rendered = _tree(tmp_path / "spinnaker")
    golden_dir = GOLDEN / "spinnaker"
    if UPDATE:
        for path, data in rendered.items():
            (golden_dir / path).parent.mkdir(parents=True, exist_ok=True)
            (golden_dir / path).write_bytes(data)
    golden = _tree(golden_dir)
    assert sorted(rendered) == sorted(golden), "files differ; SHIPLANE_UPDATE_GOLDEN=1 rewrites the golden files"
    for path, data in rendered.items():
        assert data == golden[path], f"{path} differs from tests/golden/petclinic/spinnaker/{path}"
    assert sorted(rendered) == [
        "clouddriver-local.yml",
        "halyard-accounts.sh",
        "igor-local.yml",
        "operator-accounts-patch.yml",
        "petclinic/application.json",
        "petclinic/deploy-dev.json",
        "petclinic/deploy-prod.json",
        "petclinic/mysql-prod.json",
        "petclinic/rollback-dev.json",
        "petclinic/rollback-prod.json",
    ]


def test_golden_files_pass_the_linter_as_files(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(str(p) for p in (GOLDEN / "spinnaker").rglob("*.json"))
    clouddriver = str(GOLDEN / "spinnaker" / "clouddriver-local.yml")
    others = [str(GOLDEN / "spinnaker" / name) for name in ("igor-local.yml", "operator-accounts-patch.yml")]
    assert main(["lint-spinnaker", "--clouddriver", clouddriver, *files, clouddriver, *others]) == 0
    captured = capsys.readouterr()
    count = len(files) + 1 + len(others)
    assert captured.out == "" and captured.err.startswith(f"lint-spinnaker: {count} file(s) clean: ")
    assert len(captured.err.splitlines()) == 1  # no finding, only the closing line


# ---- dev and prod, as the issue describes them -----------------------------------------------------------------


def test_dev_deploys_every_build_by_its_immutable_tag_with_one_replica_and_ephemeral_storage() -> None:
    raw = pipeline(example(), "petclinic", "deploy-dev")
    dev = text_form(raw)
    (trigger,) = dev["triggers"]
    assert (trigger["type"], trigger["account"], trigger["repository"]) == ("docker", "harbor", "petclinic/petclinic")
    assert trigger["enabled"] is True and trigger["expectedArtifactIds"] == ["petclinic-image-dev"]
    assert echo_tag_matches(trigger["tag"], build_tag("0123456789abcdef0123456789abcdef01234567"))
    assert not any(echo_tag_matches(trigger["tag"], tag) for tag in ["latest", "1.2.3", "v1.2.3", "git-0123abc"])
    (deploy,) = stages_of(dev)
    assert deploy["type"] == "deployManifest" and deploy["requisiteStageRefIds"] == []
    replica_set = manifest(deploy, "ReplicaSet")
    assert replica_set["spec"]["replicas"] == 1
    pod = replica_set["spec"]["template"]
    # no scratch volume unless the app asks for ephemeral_storage; one replica: no PodDisruptionBudget
    assert "volumes" not in pod["spec"] and "volumeMounts" not in pod["spec"]["containers"][0]
    assert [m["kind"] for m in deploy["manifests"]] == ["ReplicaSet", "Service"]
    # every build has its own tag, hence its own pod template and ReplicaSet version: no digest annotation
    assert "annotations" not in pod["metadata"]
    assert pod["spec"]["imagePullSecrets"] == [{"name": "harbor-pull"}]
    assert "initContainers" not in pod["spec"]  # no database to wait for
    env = {e["name"] for e in pod["spec"]["containers"][0]["env"]}
    assert "MYSQL_URL" not in env and "SPRING_PROFILES_ACTIVE" not in env
    assert not [m for m in deploy["manifests"] if m["kind"] == "StatefulSet"]
    (artifact,) = dev["expectedArtifacts"]
    # a manual run redeploys the prior build, never latest
    assert artifact["useDefaultArtifact"] is False and artifact["usePriorArtifact"] is True
    assert artifact["matchArtifact"]["version"] == trigger["tag"]
    assert "defaultArtifact" not in artifact
    (image, manifests) = raw["expectedArtifacts"]
    assert image == artifact and manifests["matchArtifact"]["type"] == EMBEDDED_TYPE


def test_prod_deploys_releases_with_three_replicas_wired_to_mysql() -> None:
    prod = text_form(pipeline(example(), "petclinic", "deploy-prod"))
    (trigger,) = prod["triggers"]
    for tag, fires in [("1.2.3", True), ("10.0.1", True), ("latest", False), ("1.2.3-rc.1", False),
                       ("v1.2.3", False), ("1.2", False)]:
        assert echo_tag_matches(trigger["tag"], tag) is fires, tag
    find, check, deploy = stages_of(prod)
    # lower_releases: skip (default): nothing deploys before the lower-release guard passed
    assert (find["type"], check["type"]) == ("findArtifactsFromResource", "checkPreconditions")
    assert deploy["requisiteStageRefIds"] == [check["refId"]]
    assert not [m for m in deploy["manifests"] if m["kind"] in ("StatefulSet", "PersistentVolumeClaim")]
    mysql_pipeline = text_form(pipeline(example(), "petclinic", "mysql-prod"))
    assert mysql_pipeline["triggers"] == []  # run by hand, never by an image
    (mysql,) = stages_of(mysql_pipeline)
    statefulset = manifest(mysql, "StatefulSet")
    assert statefulset["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "10Gi"
    assert statefulset["spec"]["serviceName"] == "petclinic-mysql"
    assert manifest(mysql, "Service")["spec"]["clusterIP"] == "None"
    assert [m["kind"] for m in mysql["manifests"]] == ["StatefulSet", "Service"]  # no Secret, ever
    secret_refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in
                   statefulset["spec"]["template"]["spec"]["containers"][0]["env"] if "valueFrom" in e}
    assert secret_refs == {"petclinic-mysql"}
    replica_set = manifest(deploy, "ReplicaSet")
    assert replica_set["spec"]["replicas"] == 3
    env = {e["name"]: e for e in replica_set["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["MYSQL_URL"]["value"] == "jdbc:mysql://petclinic-mysql:3306/petclinic"
    assert env["MYSQL_USER"]["valueFrom"] == {"secretKeyRef": {"name": "petclinic-mysql", "key": "username"}}
    assert env["MYSQL_PASS"]["valueFrom"] == {"secretKeyRef": {"name": "petclinic-mysql", "key": "password"}}
    assert env["SPRING_PROFILES_ACTIVE"]["value"] == "mysql"
    assert "volumes" not in replica_set["spec"]["template"]["spec"]
    assert "annotations" not in replica_set["spec"]["template"]["metadata"]  # release tags are immutable
    # on a first deploy the app waits for the database that mysql-prod provisions
    (wait,) = replica_set["spec"]["template"]["spec"]["initContainers"]
    assert wait["image"] == statefulset["spec"]["template"]["spec"]["containers"][0]["image"]
    assert "mysqladmin ping -h petclinic-mysql -P 3306" in wait["args"][0] and "mysql-prod" in wait["args"][0]
    assert wait["resources"]["requests"]  # namespaces with a ResourceQuota refuse pods without requests
    for pod in (replica_set, statefulset):
        assert pod["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "harbor-pull"}]
    (artifact,) = prod["expectedArtifacts"]
    assert artifact["usePriorArtifact"] is True and artifact["useDefaultArtifact"] is False
    assert artifact["matchArtifact"]["version"] == trigger["tag"]  # a manual run cannot pick latest either


def test_every_app_deploy_is_red_black_by_the_rules_clouddriver_enforces() -> None:
    fleet = example()
    for name in ("deploy-dev", "deploy-prod"):
        deploy = stages_of(text_form(pipeline(fleet, "petclinic", name)))[-1]
        options = deploy["trafficManagement"]["options"]
        assert deploy["trafficManagement"]["enabled"] is True
        assert options == {"enableTraffic": True, "namespace": "petclinic", "services": ["service petclinic"],
                           "strategy": "bluegreen"}
        replica_set, service = manifest(deploy, "ReplicaSet"), manifest(deploy, "Service")
        assert replica_set["metadata"]["name"] == "petclinic" and deploy["moniker"] == {"app": "petclinic"}
        assert int(replica_set["metadata"]["annotations"]["strategy.spinnaker.io/max-version-history"]) >= 2
        assert service["metadata"]["namespace"] == replica_set["metadata"]["namespace"]
        selector = service["spec"]["selector"]
        assert selector == {SERVICE_SELECTOR_KEY: "petclinic"}
        assert not set(selector) & set(replica_set["spec"]["template"]["metadata"]["labels"])
        assert not set(selector) & set(replica_set["spec"]["selector"]["matchLabels"])
        container = replica_set["spec"]["template"]["spec"]["containers"][0]
        assert container["image"] == "harbor.tooling.example.com/petclinic/petclinic"  # artifact name, no tag
        # the example's probes: Spring Boot's readiness and liveness health groups
        assert container["readinessProbe"]["httpGet"] == {"path": "/actuator/health/readiness", "port": "http"}
        for probe in ("livenessProbe", "startupProbe"):
            assert container[probe]["httpGet"] == {"path": "/actuator/health/liveness", "port": "http"}
        assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
        assert deploy["requiredArtifactIds"] == [f"petclinic-image-{name.split('-')[1]}"]


@pytest.mark.parametrize(("version", "strategy"), [("1.29.4", "redblack"), ("1.30.0", "bluegreen"),
                                                    ("1.36.0", "bluegreen")])
def test_strategy_follows_the_spinnaker_version(version: str, strategy: str) -> None:
    fleet = fleet_from(spinnaker={"version": version})
    for name in ("deploy-dev", "deploy-prod"):
        for deploy in stages_of(pipeline(fleet, "web", name), "deployManifest"):
            if "trafficManagement" in deploy:
                assert deploy["trafficManagement"]["options"]["strategy"] == strategy


def test_prod_rolls_out_wave_after_wave_with_judgments_and_mysql_in_its_own_pipeline() -> None:
    raw = pipeline(fleet_from(), "web", "deploy-prod")
    prod = text_form(raw)
    refs = [s["refId"] for s in prod["stages"]]
    assert refs == [
        "deploy-prod-eu-1", "deploy-prod-us-1", "approve-wave-2", "deploy-prod-eu-2", "approve-wave-3",
        "deploy-prod-ap-3",
    ]
    assert stage(prod, "deploy-prod-eu-1")["requisiteStageRefIds"] == []
    assert stage(prod, "deploy-prod-us-1")["requisiteStageRefIds"] == []
    assert stage(prod, "approve-wave-2")["requisiteStageRefIds"] == ["deploy-prod-eu-1", "deploy-prod-us-1"]
    assert stage(prod, "deploy-prod-eu-2")["requisiteStageRefIds"] == ["approve-wave-2"]
    assert stage(prod, "approve-wave-3")["requisiteStageRefIds"] == ["deploy-prod-eu-2"]
    mysql_pipeline = pipeline(fleet_from(), "web", "mysql-prod")
    assert [s["refId"] for s in mysql_pipeline["stages"]] == [
        "mysql-prod-eu-1", "mysql-prod-us-1", "wave-2", "mysql-prod-eu-2", "mysql-prod-ap-3"]
    assert stage(mysql_pipeline, "wave-2")["requisiteStageRefIds"] == ["mysql-prod-eu-1", "mysql-prod-us-1"]
    assert stage(mysql_pipeline, "mysql-prod-eu-2")["requisiteStageRefIds"] == ["wave-2"]
    mysql_text = text_form(mysql_pipeline)
    judgment = stage(prod, "approve-wave-2")
    assert judgment["type"] == "manualJudgment" and judgment["failPipeline"] is True
    assert "prod-eu-1, prod-us-1" in judgment["instructions"] and "prod-eu-2" in judgment["instructions"]
    # every cluster: its account, its namespace, MySQL in the same account and namespace before the app
    for cluster, namespace in [("prod-eu-1", "web-eu"), ("prod-us-1", "web"), ("prod-eu-2", "web"),
                               ("prod-ap-3", "web")]:
        mysql, deploy = stage(mysql_text, f"mysql-{cluster}"), stage(prod, f"deploy-{cluster}")
        assert mysql["account"] == deploy["account"] == cluster
        assert {m["metadata"]["namespace"] for m in mysql["manifests"] + deploy["manifests"]} == {namespace}
        assert deploy["trafficManagement"]["options"]["namespace"] == namespace
        assert stage(raw, f"deploy-{cluster}")["namespaceOverride"] == namespace


def test_without_judgment_the_next_wave_waits_for_every_deploy_of_the_previous_one() -> None:
    text = WAVES.replace("judgment_between_waves: true", "judgment_between_waves: false")
    prod = pipeline(fleet_from(text), "web", "deploy-prod")
    assert not stages_of(prod, "manualJudgment")
    # a wave of several clusters ends in one barrier, so each later stage names one requisite (not n x m refIds)
    barrier = stage(prod, "wave-2")
    assert (barrier["type"], barrier["waitTime"]) == ("wait", 0)
    assert barrier["requisiteStageRefIds"] == ["deploy-prod-eu-1", "deploy-prod-us-1"]
    assert stage(prod, "deploy-prod-eu-2")["requisiteStageRefIds"] == ["wave-2"]
    assert stage(prod, "deploy-prod-ap-3")["requisiteStageRefIds"] == ["deploy-prod-eu-2"]  # a wave of one
    mysql = pipeline(fleet_from(text), "web", "mysql-prod")
    assert stage(mysql, "mysql-prod-eu-2")["requisiteStageRefIds"] == ["wave-2"]


def test_dev_clusters_deploy_in_parallel() -> None:
    dev = pipeline(fleet_from(), "web", "deploy-dev")
    assert [(s["refId"], s["account"], s["requisiteStageRefIds"]) for s in dev["stages"]] == [
        ("deploy-dev-a", "dev-a", []), ("deploy-dev-b", "k8s-dev-b", []),
    ]


def test_refids_are_unique_strings_and_the_graph_is_acyclic() -> None:
    for path, document in documents(fleet_from()).items():
        if document.kind != "spinnaker-pipeline":
            continue
        refs = [s["refId"] for s in document.content["stages"]]
        assert all(isinstance(r, str) for r in refs) and len(set(refs)) == len(refs), path
        seen: set[str] = set()
        for s in document.content["stages"]:  # stages are listed in an order that respects their requisites
            assert set(s["requisiteStageRefIds"]) <= seen, path
            seen.add(s["refId"])


def test_per_cluster_stages_differ_only_in_account_namespace_and_names() -> None:
    prod = pipeline(fleet_from(), "web", "deploy-prod")
    first, second = stage(prod, "deploy-prod-eu-1"), stage(prod, "deploy-prod-us-1")

    def neutral(s: dict[str, Any]) -> str:
        text = json.dumps(s, sort_keys=True)
        for value in (s["refId"], s["name"], s["account"], json.dumps(s["requisiteStageRefIds"])):
            text = text.replace(value, "X")
        return re.sub(r'"(namespace|namespaceOverride)": "[^"]*"', '"namespace": "N"', text)

    assert neutral(first) == neutral(second)
    # the manifests are not in the stage: one artifact per pipeline, named by id
    assert first["source"] == "artifact" and "manifests" not in first
    assert (first["manifestArtifactId"], first["manifestArtifactAccount"]) == ("web-manifests-prod", EMBEDDED_ACCOUNT)
    assert len(json.dumps(first)) < 1200


def test_the_manifest_artifact_is_declared_once_and_holds_namespace_free_manifests() -> None:
    prod = pipeline(fleet_from(), "web", "deploy-prod")
    (artifact,) = [a for a in prod["expectedArtifacts"] if a["id"] == "web-manifests-prod"]
    assert artifact["useDefaultArtifact"] is True and artifact["usePriorArtifact"] is False
    assert artifact["defaultArtifact"]["type"] == EMBEDDED_TYPE
    assert artifact["defaultArtifact"]["artifactAccount"] == EMBEDDED_ACCOUNT
    manifests = decoded_manifests(prod, "web-manifests-prod")
    assert [m["kind"] for m in manifests] == ["ReplicaSet", "Service", "PodDisruptionBudget"]
    assert all("namespace" not in m["metadata"] for m in manifests)


def test_a_cluster_with_its_own_pull_secret_gets_its_own_manifest_artifact() -> None:
    text = WAVES.replace("prod-ap-3: {environment: prod, namespace: web, wave: 3}",
                         "prod-ap-3: {environment: prod, namespace: web, wave: 3, image_pull_secret: ap-pull}")
    fleet = fleet_from(text)
    prod = pipeline(fleet, "web", "deploy-prod")
    assert [a["id"] for a in prod["expectedArtifacts"]] == [
        "web-image-prod", "web-manifests-prod-ap-pull", "web-manifests-prod"]
    assert stage(prod, "deploy-prod-ap-3")["manifestArtifactId"] == "web-manifests-prod-ap-pull"
    assert stage(prod, "deploy-prod-eu-1")["manifestArtifactId"] == "web-manifests-prod"
    ap = decoded_manifests(prod, "web-manifests-prod-ap-pull")[0]["spec"]["template"]["spec"]
    assert ap["imagePullSecrets"] == [{"name": "ap-pull"}]
    assert stage(pipeline(fleet, "web", "mysql-prod"), "mysql-prod-ap-3")["manifestArtifactId"] == \
        "web-mysql-prod-ap-pull"
    for document in documents(fleet).values():
        assert validate_document(document, fleet) == [], document.path


def test_the_pull_secret_name_is_configurable_per_environment() -> None:
    text = WAVES.replace("replicas: 1, storage: ephemeral}",
                         "replicas: 1, storage: ephemeral, image_pull_secret: regcred}")
    dev = pipeline(fleet_from(text), "web", "deploy-dev")
    pod = decoded_manifests(dev, "web-manifests-dev")[0]["spec"]["template"]["spec"]
    assert pod["imagePullSecrets"] == [{"name": "regcred"}]


def test_rollback_reenables_the_previous_replicaset_then_disables_the_newest() -> None:
    rollback = pipeline(fleet_from(), "web", "rollback-prod")
    assert rollback["triggers"] == [] and rollback["expectedArtifacts"] == []
    assert not [s for s in rollback["stages"] if s["type"] == "undoRolloutManifest"]
    by_ref = {s["refId"]: s for s in rollback["stages"]}
    for cluster, namespace in [("prod-eu-1", "web-eu"), ("prod-us-1", "web"), ("prod-eu-2", "web"),
                               ("prod-ap-3", "web")]:
        enable, disable = by_ref[f"enable-{cluster}"], by_ref[f"disable-{cluster}"]
        assert (enable["type"], enable["criteria"]) == ("enableManifest", "second_newest")
        assert (disable["type"], disable["criteria"]) == ("disableManifest", "newest")
        assert disable["requisiteStageRefIds"] == [f"enable-{cluster}"] and enable["requisiteStageRefIds"] == []
        for target in (enable, disable):
            assert target["cluster"] == "replicaSet web" and target["kind"] == "replicaSet"
            assert (target["mode"], target["app"], target["location"]) == ("dynamic", "web", namespace)
            assert target["account"] == cluster and target["cloudProvider"] == "kubernetes"


def test_application_and_clouddriver_accounts() -> None:
    found = documents(fleet_from())
    assert found["spinnaker/web/application.json"].content == {
        "name": "web", "email": "team@example.com", "cloudProviders": "kubernetes",
        "description": "Deployed by shiplane: https://git.example.com/web.git",
    }
    config = found["spinnaker/clouddriver-local.yml"].content
    (registry,) = config["dockerRegistry"]["accounts"]
    assert registry == {
        "name": "harbor", "address": "https://harbor.example.com", "username": "robot$team+spinnaker",
        "passwordFile": "/home/spinnaker/.harbor/password", "cacheIntervalSeconds": 30, "cacheThreads": 1,
        "repositories": ["team/web"],
    }  # no trackDigests: it would drop every OCI tag
    accounts = {a["name"]: a for a in config["kubernetes"]["accounts"]}
    assert sorted(accounts) == ["dev-a", "k8s-dev-b", "prod-ap-3", "prod-eu-1", "prod-eu-2", "prod-us-1"]
    assert accounts["k8s-dev-b"] == {"name": "k8s-dev-b", "context": "dev-b", "namespaces": ["web-dev"],
                                     "kubeconfigFile": "/home/spinnaker/.kube/dev-b.yml",
                                     "onlySpinnakerManaged": True}
    assert config["dockerRegistry"]["enabled"] is True and config["kubernetes"]["enabled"] is True


def test_registry_password_command_replaces_the_file_and_no_secret_is_written() -> None:
    fleet = fleet_from(spinnaker={"version": "1.36.0", "registry_password_command": "cat /run/secrets/robot",
                                  "registry_username": "robot$team+deployer"})
    (registry,) = documents(fleet)["spinnaker/clouddriver-local.yml"].content["dockerRegistry"]["accounts"]
    assert registry["passwordCommand"] == "cat /run/secrets/robot" and "passwordFile" not in registry
    assert registry["username"] == "robot$team+deployer" and "password" not in registry


def test_a_registry_with_a_port_gets_an_image_that_still_binds() -> None:
    fleet = fleet_from(harbor={"url": "https://harbor.example.com:8443", "project": "team"})
    deploy = stages_of(text_form(pipeline(fleet, "web", "deploy-prod")))[-1]
    image = manifest(deploy, "ReplicaSet")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == bindable_image("harbor.example.com:8443/team/web") == \
        "harbor.example.com:8443/team/web:bound-by-spinnaker"
    assert bindable_image("harbor.example.com/team/web") == "harbor.example.com/team/web"
    for document in documents(fleet).values():
        assert validate_document(document, fleet) == []


def test_every_rendered_manifest_is_valid_for_kubernetes() -> None:
    schemas = schemas_for("1.31")
    count = 0
    for document in documents(fleet_from()).values():
        if document.kind == "spinnaker-pipeline":
            for s in stages_of(text_form(document.content), "deployManifest"):
                for body in s["manifests"]:
                    assert schemas.problems(body) == [], (document.path, body["kind"])
                    count += 1
    # dev: ReplicaSet, Service; prod: + PodDisruptionBudget; mysql-prod: StatefulSet, Service
    assert count == 2 * 2 + 4 * 3 + 4 * 2


def test_every_rendered_document_passes_validation() -> None:
    fleet = fleet_from()
    for document in documents(fleet).values():
        assert validate_document(document, fleet) == [], document.path


# ---- templates -------------------------------------------------------------------------------------------------


def test_a_user_template_shadows_the_builtin_one(tmp_path: Path) -> None:
    builtin = (ROOT / "templates" / "spinnaker" / "app.yml.j2").read_text(encoding="utf-8")
    (tmp_path / "spinnaker").mkdir()
    (tmp_path / "spinnaker" / "app.yml.j2").write_text(
        builtin.replace("periodSeconds: 10", "periodSeconds: 7"), encoding="utf-8")
    fleet = fleet_from()
    rendered = documents(fleet, TemplateSet(str(tmp_path)))["spinnaker/web/deploy-prod.json"]
    container = manifest(stage(text_form(rendered.content), "deploy-prod-ap-3"), "ReplicaSet")["spec"]["template"][
        "spec"]["containers"][0]
    assert container["readinessProbe"]["periodSeconds"] == 7


def test_a_user_template_from_before_pull_secrets_still_renders_and_pulls(tmp_path: Path) -> None:
    builtin = (ROOT / "templates" / "spinnaker" / "app.yml.j2").read_text(encoding="utf-8")
    old = builtin.replace("        imagePullSecrets: {{ image_pull_secrets | json }}\n", "")
    assert old != builtin
    (tmp_path / "spinnaker").mkdir()
    (tmp_path / "spinnaker" / "app.yml.j2").write_text(old, encoding="utf-8")
    fleet = fleet_from()
    rendered = documents(fleet, TemplateSet(str(tmp_path)))
    pod = decoded_manifests(rendered["spinnaker/web/deploy-prod.json"].content, "web-manifests-prod")[0]
    assert pod["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "harbor-pull"}]
    for document in rendered.values():
        assert validate_document(document, fleet) == [], document.path


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("- kind: ReplicaSet\n  metadata: {name: {{ app.nmae | json }}}\n", "template spinnaker/app.yml.j2"),
        ("- kind: ReplicaSet\n  metadata: {name: {{ app.name }}}\n", "template spinnaker/app.yml.j2"),
        ("{% if %}\n", "spinnaker/app.yml.j2"),
        ("- [unclosed\n", "template spinnaker/app.yml.j2"),
        ("kind: ReplicaSet\n", "must render a YAML list of Kubernetes objects"),
        ("- {apiVersion: v1, kind: Service, metadata: {name: x}}\n", "must render exactly one ReplicaSet"),
    ],
)
def test_a_broken_user_template_is_an_error_naming_the_template(tmp_path: Path, text: str, fragment: str) -> None:
    (tmp_path / "spinnaker").mkdir()
    (tmp_path / "spinnaker" / "app.yml.j2").write_text(text, encoding="utf-8")
    with pytest.raises(ShiplaneError) as caught:
        documents(fleet_from(), TemplateSet(str(tmp_path)))
    assert fragment in str(caught.value)


def test_a_user_template_that_breaks_a_red_black_rule_is_refused_before_writing(tmp_path: Path) -> None:
    builtin = (ROOT / "templates" / "spinnaker" / "app.yml.j2").read_text(encoding="utf-8")
    broken = builtin.replace("selector: {{ service_selector | json }}", "selector: {{ selector | json }}")
    assert broken != builtin
    (tmp_path / "templates" / "spinnaker").mkdir(parents=True)
    (tmp_path / "templates" / "spinnaker" / "app.yml.j2").write_text(broken, encoding="utf-8")
    config = tmp_path / "fleet.yaml"
    config.write_text(WAVES, encoding="utf-8")
    out = tmp_path / "out"
    code = main(["render", str(config), "--out", str(out), "--templates", str(tmp_path / "templates")])
    assert code == 1
    assert not [p for p in out.rglob("*") if p.is_file()]  # nothing written, no temporary file left


# ---- output: canonical bytes, atomic writes, pruning, --check --------------------------------------------------


def _render(config: Path, out: Path, *extra: str) -> int:
    return main(["render", str(config), "--out", str(out), *extra])


def test_unchanged_files_are_untouched_and_check_reports_changes(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "fleet.yaml"
    config.write_text(WAVES, encoding="utf-8")
    out = tmp_path / "out"
    assert _render(config, out) == 0
    files = sorted(p for p in (out / "spinnaker").rglob("*") if p.is_file())
    before = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in files}
    capsys.readouterr()
    assert _render(config, out) == 0
    assert "0 written" in capsys.readouterr().err
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in files} == before
    assert _render(config, out, "--check") == 0
    assert not list(out.rglob(".shiplane-*.tmp"))
    # a change: --check lists the files and writes nothing; render rewrites exactly those
    config.write_text(WAVES.replace("replicas: 3", "replicas: 4"), encoding="utf-8")
    capsys.readouterr()
    assert _render(config, out, "--check") == 1
    err = capsys.readouterr().err
    assert f"{out}/spinnaker/web/deploy-prod.json: would change" in err and "deploy-dev.json" not in err
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in files} == before
    assert _render(config, out) == 0
    changed = [p.name for p in files if (p.stat().st_ino, p.stat().st_mtime_ns) != before[p]]
    assert changed == ["deploy-prod.json"]
    prod = json.loads((out / "spinnaker/web/deploy-prod.json").read_text())
    assert decoded_manifests(prod, "web-manifests-prod")[0]["spec"]["replicas"] == 4


def test_removed_apps_and_environments_are_pruned(tmp_path: Path) -> None:
    config = tmp_path / "fleet.yaml"
    two_apps = yaml.safe_load(WAVES)
    two_apps["apps"]["api"] = {"git": {"uri": "https://git.example.com/api.git"}}
    config.write_text(yaml.safe_dump(two_apps), encoding="utf-8")
    out = tmp_path / "out"
    assert _render(config, out) == 0
    assert (out / "spinnaker/api/deploy-prod.json").exists()
    (out / "spinnaker" / "notes.txt").write_text("mine", encoding="utf-8")
    one_app = yaml.safe_load(WAVES)
    one_app["apps"]["web"]["environments"] = ["dev"]
    config.write_text(yaml.safe_dump(one_app), encoding="utf-8")
    assert _render(config, out) == 0
    assert not (out / "spinnaker/api").exists()
    assert not (out / "spinnaker/web/deploy-prod.json").exists()
    assert not (out / "spinnaker/web/rollback-prod.json").exists()
    assert (out / "spinnaker/web/deploy-dev.json").exists()
    assert (out / "spinnaker" / "notes.txt").read_text(encoding="utf-8") == "mine"
    clouddriver = yaml.safe_load((out / "spinnaker/clouddriver-local.yml").read_text(encoding="utf-8"))
    assert clouddriver["dockerRegistry"]["accounts"][0]["repositories"] == ["team/web"]


def test_pipelines_are_canonical_json(tmp_path: Path) -> None:
    config = tmp_path / "fleet.yaml"
    config.write_text(WAVES, encoding="utf-8")
    assert _render(config, tmp_path / "out") == 0
    for path in (tmp_path / "out" / "spinnaker").rglob("*.json"):
        data = path.read_bytes()
        assert data == (json.dumps(json.loads(data), sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def test_render_only_one_app_keeps_the_others(tmp_path: Path) -> None:
    config = tmp_path / "fleet.yaml"
    two_apps = yaml.safe_load(WAVES)
    two_apps["apps"]["api"] = {"git": {"uri": "https://git.example.com/api.git"}}
    config.write_text(yaml.safe_dump(two_apps), encoding="utf-8")
    out = tmp_path / "out"
    assert _render(config, out) == 0
    assert _render(config, out, "--only", "web") == 0
    assert (out / "spinnaker/api/deploy-prod.json").exists()


def test_render_app_names_its_origin() -> None:
    fleet = fleet_from()
    origins = {d.path: d.origin for d in render_app(fleet, fleet.app("web"), TemplateSet())}
    assert origins["spinnaker/web/deploy-prod.json"] == "template spinnaker/app.yml.j2 (app web, environment prod)"
    assert origins["spinnaker/web/mysql-prod.json"] == "template spinnaker/mysql.yml.j2 (app web, environment prod)"
    assert origins["spinnaker/web/deploy-dev.json"] == "template spinnaker/app.yml.j2 (app web, environment dev)"

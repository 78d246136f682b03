"""The Kubernetes objects an app asks for, team notifications on deploy pipelines, and the lower-release guard."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from shiplane.config import load_text
from shiplane.documents import Document
from shiplane.model import Fleet
from shiplane.spinnaker import lowerrelease, render_app, validate_document
from shiplane.spinnaker.kubeschema import schemas_for
from shiplane.templates import TemplateSet
from spinnaker_support import text_form

BASE: dict[str, Any] = {
    "version": 1,
    "harbor": {"url": "https://harbor.example.com", "project": "team"},
    "concourse": {"config_repo": {"uri": "https://git.example.com/fleet.git"}},
    "spinnaker": {"owner_email": "owner@example.com"},
    "environments": {
        "dev": {"image_tag": "latest", "replicas": 1, "storage": "ephemeral"},
        "prod": {"image_tag": "semver", "replicas": 2, "storage": "ephemeral"},
    },
    "clusters": {"dev-1": {"environment": "dev"}, "prod-1": {"environment": "prod"},
                 "prod-2": {"environment": "prod", "wave": 2}},
    "apps": {"web": {"git": {"uri": "https://git.example.com/web.git"}}},
}


def fleet_with(app: dict[str, Any] | None = None, **sections: Any) -> Fleet:
    data = {**yaml.safe_load(yaml.safe_dump(BASE)), **sections}
    data["apps"]["web"].update(app or {})
    return load_text(yaml.safe_dump(data, sort_keys=False), "fleet.yaml")


def documents(fleet: Fleet) -> dict[str, Document]:
    found = {d.path: d for d in render_app(fleet, fleet.apps[0], TemplateSet())}
    for document in found.values():
        assert validate_document(document, fleet) == [], document.path
    return found


def deploy(fleet: Fleet, environment: str) -> dict[str, Any]:
    content: dict[str, Any] = documents(fleet)[f"spinnaker/web/deploy-{environment}.json"].content
    return content


def objects(pipeline: dict[str, Any], cluster: str) -> dict[str, dict[str, Any]]:
    """The objects `cluster`'s stage deploys (decoded from the pipeline's manifest artifact, in its namespace)."""
    (stage,) = [s for s in text_form(pipeline)["stages"] if s["refId"] == f"deploy-{cluster}"]
    return {m["kind"]: m for m in stage["manifests"]}


def test_a_disruption_budget_only_where_more_than_one_replica_runs() -> None:
    fleet = fleet_with()
    assert "PodDisruptionBudget" not in objects(deploy(fleet, "dev"), "dev-1")
    pdb = objects(deploy(fleet, "prod"), "prod-1")["PodDisruptionBudget"]
    assert pdb["apiVersion"] == "policy/v1" and pdb["spec"]["maxUnavailable"] == 1
    replica_set = objects(deploy(fleet, "prod"), "prod-1")["ReplicaSet"]
    assert pdb["spec"]["selector"]["matchLabels"] == replica_set["spec"]["selector"]["matchLabels"]


def test_autoscaling_ingress_service_type_and_scratch_storage_on_request() -> None:
    fleet = fleet_with({
        "resources": {"cpu": "250m"},
        "autoscaling": {"max_replicas": 8},
        "ingress": {"host": "{app}.{cluster}.example.com", "class_name": "nginx", "tls_secret": "{app}-tls"},
        "service": {"type": "NodePort", "port": 8080},
        "ephemeral_storage": {"size_limit": "1Gi"},
    })
    found = objects(deploy(fleet, "prod"), "prod-2")
    hpa = found["HorizontalPodAutoscaler"]["spec"]
    # clouddriver binds scaleTargetRef to the ReplicaSet version deployed in the same stage (Replacer.hpaReplicaSet)
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web"}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 8)
    assert hpa["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 75}
    ingress = found["Ingress"]["spec"]
    assert ingress["ingressClassName"] == "nginx"
    assert ingress["tls"] == [{"hosts": ["web.prod-2.example.com"], "secretName": "web-tls"}]
    rule = ingress["rules"][0]
    assert rule["host"] == "web.prod-2.example.com"
    assert rule["http"]["paths"][0]["backend"] == {"service": {"name": "web", "port": {"name": "http"}}}
    assert found["Service"]["spec"]["type"] == "NodePort" and found["Service"]["spec"]["ports"][0]["port"] == 8080
    pod = found["ReplicaSet"]["spec"]["template"]["spec"]
    assert pod["volumes"] == [{"name": "data", "emptyDir": {"sizeLimit": "1Gi"}}]
    assert pod["containers"][0]["volumeMounts"] == [{"name": "data", "mountPath": "/data"}]
    assert objects(deploy(fleet, "prod"), "prod-1")["Ingress"]["spec"]["rules"][0]["host"] == "web.prod-1.example.com"
    schemas = schemas_for("1.31")
    for body in found.values():
        assert schemas.problems(body) == [], body["kind"]


def test_probe_paths_and_startup_budget() -> None:
    fleet = fleet_with({"health_path": "/health", "probes": {"readiness_path": "/ready", "startup_seconds": 120}})
    container = objects(deploy(fleet, "dev"), "dev-1")["ReplicaSet"]["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["startupProbe"]["periodSeconds"] * container["startupProbe"]["failureThreshold"] == 120


def test_deploy_and_rollback_pipelines_notify_the_team() -> None:
    fleet = fleet_with(
        {"team": "shop"},
        concourse={"config_repo": {"uri": "https://git.example.com/fleet.git"},
                   "smtp": {"host": "smtp.example.com", "from": "ci@example.com"}},
        teams={"shop": {"owner_email": "shop@example.com", "harbor_project": "shop-images", "notifications": {
            "slack_channel": "#shop-deploys", "email": ["a@example.com", "b@example.com"], "deploy_success": False}}},
    )
    found = documents(fleet)
    expected = [
        {"address": "shop-deploys", "level": "pipeline", "type": "slack", "when": ["pipeline.failed"]},
        {"address": "a@example.com,b@example.com", "level": "pipeline", "type": "email", "when": ["pipeline.failed"]},
    ]
    for name in ("deploy-dev", "deploy-prod", "rollback-prod"):
        assert found[f"spinnaker/web/{name}.json"].content["notifications"] == expected
    trigger = found["spinnaker/web/deploy-prod.json"].content["triggers"][0]
    assert (trigger["organization"], trigger["repository"]) == ("shop-images", "shop-images/web")
    assert found["spinnaker/web/application.json"].content["email"] == "shop@example.com"
    objects_ = objects(found["spinnaker/web/deploy-prod.json"].content, "prod-1")
    assert objects_["ReplicaSet"]["metadata"]["namespace"] == "shop"


def test_semver_environments_hold_back_lower_releases_by_default() -> None:
    prod = deploy(fleet_with(), "prod")
    find, check, first, *rest = prod["stages"]
    assert find == {
        "account": "prod-1", "app": "web", "cloudProvider": "kubernetes", "cluster": "replicaSet web",
        "continuePipeline": True, "criteria": "newest", "failPipeline": False, "kind": "replicaSet",
        "location": "default", "mode": "dynamic", "name": lowerrelease.FIND_NAME, "refId": "find-running",
        "requisiteStageRefIds": [], "type": "findArtifactsFromResource",
    }
    assert check["type"] == "checkPreconditions" and check["requisiteStageRefIds"] == ["find-running"]
    (precondition,) = check["preconditions"]
    assert precondition["type"] == "expression" and precondition["failPipeline"] is True
    assert precondition["context"]["expression"] == lowerrelease.expression()
    assert "${" not in precondition["context"]["expression"]  # ExpressionPreconditionTask adds it
    assert first["refId"] == "deploy-prod-1" and first["requisiteStageRefIds"] == ["not-lower"]
    assert all(stage["requisiteStageRefIds"] for stage in rest)  # later waves already wait for wave 1
    assert "find-running" not in str(deploy(fleet_with(), "dev")["stages"])  # latest environments: no guard


def test_lower_releases_deploy_adds_no_guard() -> None:
    environments = yaml.safe_load(yaml.safe_dump(BASE["environments"]))
    environments["prod"]["semver"] = {"lower_releases": "deploy"}
    prod = deploy(fleet_with(environments=environments), "prod")
    assert [s["refId"] for s in prod["stages"]] == ["deploy-prod-1", "deploy-prod-2"]


class _JavaString(str):
    """The java.lang.String methods the guard's SpEL calls, for evaluating the generated expression itself."""

    def replaceFirst(self, regex: str, replacement: str) -> _JavaString:
        return _JavaString(re.sub(regex, replacement, self, count=1))

    def split(self, regex: str) -> _JavaList:  # type: ignore[override]
        return _JavaList(_JavaString(part) for part in re.split(regex, self))

    def substring(self, start: int) -> _JavaString:
        return _JavaString(self[start:])

    def lastIndexOf(self, text: str) -> int:
        return self.rfind(text)

    def contains(self, text: str) -> bool:
        return text in self

    def compareTo(self, other: str) -> int:
        return (self > other) - (self < other)


class _JavaList(list[_JavaString]):
    def pad(self) -> _JavaList:
        """`.![T(String).format('%09d', #toInt(#this))]`: kork's #toInt is Integer.valueOf."""
        return _JavaList(_JavaString(f"{int(part):09d}") for part in self)

    def toString(self) -> _JavaString:
        return _JavaString("[" + ", ".join(self) + "]")  # java.util.AbstractCollection.toString


def _evaluate(expression: str, tag: str | None, image: str, found: bool = True) -> bool:
    """Translate the SpEL constructs the guard uses into Python and evaluate them (SpEL `!` is `not`)."""
    stage = f"#stage('{lowerrelease.FIND_NAME}')"
    python = (
        expression.replace(".![T(String).format('%09d', #toInt(#this))]", ".pad()")
        .replace("trigger['tag'] == null", "TAG is None")
        .replace("trigger['tag']", "TAG")
        .replace(f"{stage}.hasSucceeded", "FOUND")
        .replace(f"{stage}.outputs.manifest.spec.template.spec.containers[0].image", "IMAGE")
        .replace("!", " not ")
        .replace("'\\.'", "r'\\.'")
    )
    assert "#" not in python and "==" in python, python
    names = {"TAG": _JavaString(tag) if tag is not None else None, "IMAGE": _JavaString(image), "FOUND": found}
    return bool(eval(python, {"__builtins__": {}}, names))  # our own generated expression, no builtins


@pytest.mark.parametrize(("new", "running", "deploys"), [
    ("1.0.1", "1.1.0", False), ("1.1.0", "1.0.9", True), ("1.10.0", "1.9.0", True), ("2.0.0", "10.0.0", False),
    ("v1.2.3", "1.2.3", True), ("1.2.3-rc.1", "1.2.3", False), ("1.2.3", "1.2.3-rc.1", True),
    ("1.2.4", "v1.2.3", True), ("1.2.3+build.7", "1.2.4", False),
])
def test_the_guard_expression_orders_versions_like_semver(new: str, running: str, deploys: bool) -> None:
    expression = lowerrelease.expression()
    assert _evaluate(expression, new, f"harbor.example.com:8443/team/web:{running}") is deploys
    assert _evaluate(expression, None, f"harbor.example.com/team/web:{running}")  # a manual run
    assert _evaluate(expression, new, "", found=False)  # nothing deployed yet

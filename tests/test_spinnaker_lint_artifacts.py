"""The linter on shiplane's own form: manifests once per pipeline in an embedded/base64 artifact, stages with
`source: artifact` and `namespaceOverride`; the pod rules (pull secrets, quantities) and the accounts rules."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from shiplane.cli import main
from shiplane.spinnaker import validate_document
from shiplane.spinnaker.accountrules import check_igor, check_operator_patch
from shiplane.spinnaker.accounts import clouddriver_config, plan_docker_accounts
from shiplane.spinnaker.kubeschema import schemas_for
from shiplane.spinnaker.lint import Accounts, Context, check_pipeline
from shiplane.spinnaker.tags import TagPolicy
from spinnaker_support import WAVES, decoded_manifests, documents, fleet_from, pipeline, reencode, stage

FLEET = fleet_from()
PROD = pipeline(FLEET, "web", "deploy-prod")
MYSQL = pipeline(FLEET, "web", "mysql-prod")
ACCOUNTS = Accounts(
    docker=frozenset({"harbor"}),
    kubernetes={"dev-a": frozenset({"web-dev"}), "k8s-dev-b": frozenset({"web-dev"}),
                "prod-eu-1": frozenset({"web-eu"}), "prod-us-1": frozenset({"web"}),
                "prod-eu-2": frozenset({"web"}), "prod-ap-3": frozenset({"web"})},
)
STRICT = Context(accounts=ACCOUNTS, kubernetes=schemas_for("1.31"), spinnaker_version=(1, 36, 0), application="web",
                 tag_policy=TagPolicy("semver"), docker_repository=("harbor", "team/web"),
                 traffic_strategy="bluegreen", strict=True)
LOOSE = Context(accounts=ACCOUNTS, kubernetes=schemas_for("1.31"))
ARTIFACT = "web-manifests-prod"


def findings(document: dict[str, Any], ctx: Context = STRICT) -> list[str]:
    return [f"{path}: {message}" for path, message in check_pipeline(document, ctx)]


def _manifests(change: Callable[[list[dict[str, Any]]], None]) -> Callable[[dict[str, Any]], None]:
    def apply(p: dict[str, Any]) -> None:
        manifests = decoded_manifests(p, ARTIFACT)
        change(manifests)
        reencode(p, ARTIFACT, manifests)
    return apply


def _pod(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = manifests[0]["spec"]["template"]["spec"]
    return result


def _memory(value: Any) -> Callable[[list[dict[str, Any]]], None]:
    def change(manifests: list[dict[str, Any]]) -> None:
        _pod(manifests)["containers"][0].setdefault("resources", {}).setdefault("requests", {})["memory"] = value
    return change


def _no_pull_secret(manifests: list[dict[str, Any]]) -> None:
    del _pod(manifests)["imagePullSecrets"]


def _statefulset(manifests: list[dict[str, Any]]) -> None:
    manifests.append(copy.deepcopy(decoded_manifests(MYSQL, "web-mysql-prod")[0]))


def _pvc(manifests: list[dict[str, Any]]) -> None:
    manifests.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
                      "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10GB"}}}})


def _other_image(manifests: list[dict[str, Any]]) -> None:
    _pod(manifests)["containers"][0]["image"] = "harbor.example.com/team/api"


def _size_limit(manifests: list[dict[str, Any]]) -> None:
    _pod(manifests)["volumes"] = [{"name": "tmp", "emptyDir": {"sizeLimit": "1 Gi"}}]
    _pod(manifests)["containers"][0]["volumeMounts"] = [{"name": "tmp", "mountPath": "/tmp"}]


def _reference(value: str) -> Callable[[dict[str, Any]], None]:
    def change(p: dict[str, Any]) -> None:
        next(a for a in p["expectedArtifacts"] if a["id"] == ARTIFACT)["defaultArtifact"]["reference"] = value
    return change


def _no_accounts(p: dict[str, Any]) -> None:
    del next(a for a in p["expectedArtifacts"] if a["id"] == ARTIFACT)["defaultArtifact"]["artifactAccount"]
    for s in p["stages"]:
        s.pop("manifestArtifactAccount", None)


def _set_stage(ref: str, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(p: dict[str, Any]) -> None:
        stage(p, ref)[key] = value
    return change


# The prod artifact holds ReplicaSet, Service and PodDisruptionBudget (3 replicas): an appended object is manifests[3].
CASES: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("memory 1GB", _manifests(_memory("1GB")),
     "stages[0](deploy-prod-eu-1).manifests[0].spec.template.spec.containers[0].resources.requests.memory: '1GB' "
     "is not a Kubernetes quantity"),
    ("memory 1K", _manifests(_memory("1K")), "'1K' has the suffix 'K', which is not a Kubernetes quantity suffix"),
    ("emptyDir sizeLimit", _manifests(_size_limit), "volumes[0].emptyDir.sizeLimit: '1 Gi' is not a Kubernetes"),
    ("claim storage", _manifests(_pvc), "manifests[3].spec.resources.requests.storage: '10GB' is not a Kubernetes"),
    ("no pull secret", _manifests(_no_pull_secret), "spec.template.spec.imagePullSecrets: missing; Harbor projects"),
    ("statefulset in a release", _manifests(_statefulset), "manifests[3].kind: a StatefulSet in an image-triggered"),
    ("pvc in a release", _manifests(_pvc), "manifests[3].kind: a PersistentVolumeClaim in an image-triggered"),
    ("image does not bind", _manifests(_other_image), "docker image harbor.example.com/team/web binds to no"),
    ("not base64", _reference("%%%"), "reference is not base64"),
    ("no manifest", _reference(""), "has no reference"),
    ("no artifact account", _no_accounts, "manifestArtifactAccount: missing, and the manifest artifact names no"),
    ("namespace of another account", _set_stage("deploy-prod-us-1", "namespaceOverride", "web-eu"),
     "stages[1](deploy-prod-us-1).namespaceOverride: 'web-eu' is not a namespace of account 'prod-us-1'"),
    ("unknown artifact", _set_stage("deploy-prod-us-1", "manifestArtifactId", "nope"),
     "manifestArtifactId: \"nope\" is not the id of an expected artifact"),
]


def test_the_rendered_pipelines_pass() -> None:
    assert findings(PROD) == []
    assert findings(MYSQL, Context(**{**STRICT.__dict__, "tag_policy": None, "docker_repository": None})) == []
    assert findings(PROD, LOOSE) == [] and findings(MYSQL, LOOSE) == []


@pytest.mark.parametrize(("name", "change", "expected"), CASES, ids=[case[0] for case in CASES])
def test_rule(name: str, change: Callable[[dict[str, Any]], None], expected: str) -> None:
    broken = copy.deepcopy(PROD)
    change(broken)
    found = findings(broken)
    assert any(expected in line for line in found), "\n".join(found) or "(no finding)"


def test_a_manifest_problem_is_reported_for_every_stage_that_deploys_it() -> None:
    broken = copy.deepcopy(PROD)
    _manifests(_memory("1GB"))(broken)
    found = [f for f in findings(broken) if "1GB" in f]
    assert [f.split(".")[0] for f in found] == ["stages[0](deploy-prod-eu-1)", "stages[1](deploy-prod-us-1)",
                                                "stages[3](deploy-prod-eu-2)", "stages[5](deploy-prod-ap-3)"]


def test_pull_secrets_and_stateful_sets_are_shiplane_rules_only() -> None:
    broken = copy.deepcopy(PROD)
    _manifests(_no_pull_secret)(broken)
    _manifests(_pvc)(broken)
    # a hand-written pipeline may pull with a ServiceAccount's secret and manage its claims as it likes
    assert [f for f in findings(broken, LOOSE) if "10GB" not in f] == []


def test_lint_spinnaker_checks_against_the_kubernetes_version_given(tmp_path: Any,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    broken = copy.deepcopy(PROD)

    def flow_schema(manifests: list[dict[str, Any]]) -> None:  # removed in Kubernetes 1.29
        manifests.append({"apiVersion": "flowcontrol.apiserver.k8s.io/v1beta2", "kind": "FlowSchema",
                          "metadata": {"name": "x"}, "spec": {"priorityLevelConfiguration": {"name": "x"}}})
    _manifests(flow_schema)(broken)
    path = tmp_path / "deploy.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    assert main(["lint-spinnaker", "--kubernetes-version", "1.28", str(path)]) == 0
    assert main(["lint-spinnaker", "--kubernetes-version", "1.31", str(path)]) == 1
    assert "FlowSchema has no schema for apiVersion flowcontrol.apiserver.k8s.io/v1beta2" in capsys.readouterr().err
    config = tmp_path / "fleet.yaml"
    config.write_text(WAVES.replace('version: "1.36.0"', 'version: "1.36.0", kubernetes_version: "1.28"'),
                      encoding="utf-8")
    assert main(["lint-spinnaker", "--config", str(config), str(path)]) == 0
    assert main(["lint-spinnaker", "--kubernetes-version", "0.1", str(path)]) == 1
    err = capsys.readouterr().err
    assert "--kubernetes-version: 0.1 has no schemas" in err


# ---- docker-registry accounts, igor, the Operator patch ---------------------------------------------------------


def test_accounts_split_per_project_and_chunk_and_stay_put_when_apps_come_and_go() -> None:
    repositories = [("team", f"team/app-{i:04d}") for i in range(1000)] + [("other", f"other/app-{i:03d}")
                                                                          for i in range(30)]
    accounts = plan_docker_accounts("harbor", repositories, 100)
    assert max(len(a.repositories) for a in accounts) <= 100
    assert sorted(r for a in accounts for r in a.repositories) == sorted(r for _, r in repositories)
    assert {a.project for a in accounts} == {"team", "other"}
    assert all(a.name.startswith(f"harbor-{a.project}") for a in accounts)
    assert [a.name for a in accounts if a.project == "other"] == ["harbor-other"]
    where = {r: a.name for a in accounts for r in a.repositories}
    grown = plan_docker_accounts("harbor", [*repositories, ("team", "team/app-new")], 100)
    moved = [r for a in grown for r in a.repositories if r in where and where[r] != a.name]
    assert moved == []  # adding an app moves no other app
    assert plan_docker_accounts("harbor", [("team", "team/web")], 100)[0].name == "harbor"  # one project, one chunk


@pytest.mark.parametrize("size", [1, 2, 7, 500])
def test_no_account_is_ever_larger_than_the_size(size: int) -> None:
    repositories = [("p", f"p/r{i}") for i in range(60)]
    accounts = plan_docker_accounts("harbor", repositories, size)
    assert max(len(a.repositories) for a in accounts) <= size
    assert sorted(r for a in accounts for r in a.repositories) == sorted(r for _, r in repositories)
    assert len({a.name for a in accounts}) == len(accounts)


def test_a_1000_app_fleet_has_no_account_with_more_than_500_repositories() -> None:
    apps = {f"app-{i:04d}": {"git": {"uri": f"https://git.example.com/app-{i}.git"}} for i in range(1000)}
    fleet = fleet_from(apps=apps)
    config = clouddriver_config(fleet)
    sizes = [len(a["repositories"]) for a in config["dockerRegistry"]["accounts"]]
    assert sum(sizes) == 1001 and max(sizes) <= 100 and all(a.get("cacheThreads", 0) >= 1
                                                            for a in config["dockerRegistry"]["accounts"])


def test_igor_rules() -> None:
    assert check_igor({"dockerRegistry": {"enabled": True, "itemUpperThreshold": 1000}}, 100) == []
    low = check_igor({"dockerRegistry": {"enabled": True, "itemUpperThreshold": 999}}, 500)
    assert low == [("dockerRegistry.itemUpperThreshold", low[0][1])] and "must be a number ≥ 1000" in low[0][1]
    off = check_igor({"dockerRegistry": {"enabled": False, "itemUpperThreshold": 1000}}, 10)
    assert [where for where, _ in off] == ["dockerRegistry.enabled"]
    assert check_igor({}, 10)[0][0] == "dockerRegistry"


def test_operator_patch_rules() -> None:
    patch = documents(FLEET)["spinnaker/operator-accounts-patch.yml"].content
    assert check_operator_patch(patch, ["team/web"]) == []
    replaced = [*patch, {"op": "replace", "path": "/spec/spinnakerConfig/config/providers/kubernetes/accounts",
                         "value": []}]
    assert any("must be an add operation" in m for _, m in check_operator_patch(replaced))
    whole = [*patch, {"op": "add", "path": "/spec/spinnakerConfig/config/providers/kubernetes/accounts",
                      "value": []}]
    assert any("must append to the account list" in m for _, m in check_operator_patch(whole))
    assert any("no account lists team/api" in m for _, m in check_operator_patch(patch, ["team/api"]))


def test_each_app_triggers_on_the_account_that_lists_its_repository() -> None:
    apps = {f"app-{i}": {"git": {"uri": f"https://git.example.com/app-{i}.git"}} for i in range(7)}
    fleet = fleet_from(apps=apps, spinnaker={"version": "1.36.0", "owner_email": "team@example.com",
                                             "registry_account_size": 2})
    found = documents(fleet)
    config = found["spinnaker/clouddriver-local.yml"].content
    owner = {repo: a["name"] for a in config["dockerRegistry"]["accounts"] for repo in a["repositories"]}
    assert len(config["dockerRegistry"]["accounts"]) >= 4 and max(map(len, (
        a["repositories"] for a in config["dockerRegistry"]["accounts"]))) <= 2
    assert all(name.startswith("harbor-") for name in owner.values())
    for app in fleet.apps:
        for environment in ("dev", "prod"):
            (trigger,) = found[f"spinnaker/{app.name}/deploy-{environment}.json"].content["triggers"]
            assert trigger["account"] == owner[app.repository]
    for document in found.values():
        assert validate_document(document, fleet) == [], document.path
    igor = found["spinnaker/igor-local.yml"].content
    assert check_igor(igor, 2) == []

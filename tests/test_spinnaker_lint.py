"""The Spinnaker linter: every rule with a failing and a passing case.

Each case takes a valid pipeline (shiplane's own, as rendered), breaks one thing and expects one finding naming
the place; the untouched pipeline (the passing case) has no finding at all.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from shiplane.spinnaker.kubeschema import schemas_for
from shiplane.spinnaker.lint import (
    Accounts,
    Context,
    accounts_from_clouddriver,
    check_application,
    check_clouddriver,
    check_pipeline,
)
from shiplane.spinnaker.tags import BUILD_TAG_PATTERN, TagPolicy
from spinnaker_support import documents, fleet_from, manifest, pipeline, stage, text_form

FLEET = fleet_from()
PROD = text_form(pipeline(FLEET, "web", "deploy-prod"))
DEV = text_form(pipeline(FLEET, "web", "deploy-dev"))
ROLLBACK = pipeline(FLEET, "web", "rollback-prod")
ACCOUNTS = Accounts(
    docker=frozenset({"harbor"}),
    kubernetes={"dev-a": frozenset({"web-dev"}), "k8s-dev-b": frozenset({"web-dev"}),
                "prod-eu-1": frozenset({"web-eu"}), "prod-us-1": frozenset({"web"}),
                "prod-eu-2": frozenset({"web"}), "prod-ap-3": frozenset({"web"})},
)
STRICT = Context(
    accounts=ACCOUNTS,
    kubernetes=schemas_for("1.31"),
    spinnaker_version=(1, 36, 0),
    application="web",
    tag_policy=TagPolicy("semver"),
    docker_repository=("harbor", "team/web"),
    traffic_strategy="bluegreen",
    strict=True,
)
LOOSE = Context(accounts=ACCOUNTS, kubernetes=schemas_for("1.31"))


def findings(document: dict[str, Any], ctx: Context = STRICT) -> list[str]:
    return [f"{path}: {message}" for path, message in check_pipeline(document, ctx)]


def deploy(p: dict[str, Any]) -> dict[str, Any]:
    return stage(p, "deploy-prod-us-1")


def replica_set(p: dict[str, Any]) -> dict[str, Any]:
    return manifest(deploy(p), "ReplicaSet")


def service(p: dict[str, Any]) -> dict[str, Any]:
    return manifest(deploy(p), "Service")


def container(p: dict[str, Any]) -> dict[str, Any]:
    return replica_set(p)["spec"]["template"]["spec"]["containers"][0]


def options(p: dict[str, Any]) -> dict[str, Any]:
    return deploy(p)["trafficManagement"]["options"]


def _set(target: Callable[[dict[str, Any]], dict[str, Any]], key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(p: dict[str, Any]) -> None:
        target(p)[key] = value
    return change


def _del(target: Callable[[dict[str, Any]], dict[str, Any]], key: str) -> Callable[[dict[str, Any]], None]:
    def change(p: dict[str, Any]) -> None:
        del target(p)[key]
    return change


def _top(p: dict[str, Any]) -> dict[str, Any]:
    return p


def _trigger(p: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = p["triggers"][0]
    return result


def _artifact(p: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = p["expectedArtifacts"][0]
    return result


def _rs_metadata(p: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = replica_set(p)["metadata"]
    return result


def _rs_annotations(p: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = replica_set(p)["metadata"]["annotations"]
    return result


def _add_stage(extra: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def change(p: dict[str, Any]) -> None:
        p["stages"].append(copy.deepcopy(extra))
    return change


def _circular(p: dict[str, Any]) -> None:
    stage(p, "approve-wave-2")["requisiteStageRefIds"] = ["deploy-prod-eu-2"]


def _everything_waits(p: dict[str, Any]) -> None:
    for s in p["stages"]:
        if not s["requisiteStageRefIds"]:
            s["requisiteStageRefIds"] = ["deploy-prod-ap-3"]


def _duplicate_ref(p: dict[str, Any]) -> None:
    stage(p, "deploy-prod-ap-3")["refId"] = "deploy-prod-eu-2"


def _secret(p: dict[str, Any]) -> None:
    deploy(p)["manifests"].append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace":
                                   "web"}, "stringData": {"password": "hunter2"}})


def _duplicate_env(p: dict[str, Any]) -> None:
    container(p)["env"].append({"name": "SPRING_DATASOURCE_URL", "value": "jdbc:mysql://elsewhere/db"})


def _second_container(p: dict[str, Any]) -> None:
    pod = replica_set(p)["spec"]["template"]["spec"]
    pod["containers"].append({**pod["containers"][0], "image": "busybox"})


def _schema_violation(p: dict[str, Any]) -> None:
    container(p)["ports"][0]["containerPort"] = "eighty"


def _spel_is_not_a_schema_violation(p: dict[str, Any]) -> None:
    replica_set(p)["spec"]["replicas"] = "${parameters.replicas}"


def _unknown_field(p: dict[str, Any]) -> None:
    container(p)["imagePulPolicy"] = "Always"


def _old_api(p: dict[str, Any]) -> None:
    replica_set(p)["apiVersion"] = "extensions/v1beta1"


def _image_with_other_name(p: dict[str, Any]) -> None:
    for s in p["stages"]:
        if s["refId"].startswith("deploy-"):
            s["manifests"][0]["spec"]["template"]["spec"]["containers"][0]["image"] = "harbor.example.com/team/api"


def _image_with_tag(p: dict[str, Any]) -> None:
    container(p)["image"] = "harbor.example.com/team/web:1.2.3"


def _deployment(p: dict[str, Any]) -> None:
    replica_set(p)["kind"] = "Deployment"


def _service_elsewhere(p: dict[str, Any]) -> None:
    service(p)["metadata"]["namespace"] = "other"


def _service_missing(p: dict[str, Any]) -> None:
    target = deploy(p)
    target["manifests"] = [m for m in target["manifests"] if m["kind"] != "Service"]


def _selector_in_labels(p: dict[str, Any]) -> None:
    labels = replica_set(p)["spec"]["template"]["metadata"]["labels"]
    replica_set(p)["spec"]["template"]["metadata"]["labels"] = {**labels, "shiplane.dev/service": "web"}


def _selector_in_rs_selector(p: dict[str, Any]) -> None:
    spec = replica_set(p)["spec"]
    spec["selector"] = {"matchExpressions": [{"key": "shiplane.dev/service", "operator": "Exists"}]}


def _no_selector(p: dict[str, Any]) -> None:
    service(p)["spec"] = {**service(p)["spec"], "selector": {}}


def _no_initial(p: dict[str, Any]) -> None:
    _everything_waits(p)


def _templated_without_schema(p: dict[str, Any]) -> None:
    p["template"] = {"reference": "spinnaker://abc"}


def _parameters(p: dict[str, Any]) -> None:
    p["parameterConfig"] = [{"name": "a"}, {"name": "a"}]


def _unresolvable(p: dict[str, Any]) -> None:
    _trigger(p)["expectedArtifactIds"] = []
    _artifact(p)["usePriorArtifact"] = False


CASES: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    # top level: spin, Front50, Orca
    ("application missing", _del(_top, "application"), "application: missing; spin pipeline save refuses"),
    ("name blank", _set(_top, "name", " "), "name: must be a non-blank string"),
    ("other application", _set(_top, "application", "api"), "application: is 'api' but the pipeline belongs"),
    ("templated without schema", _templated_without_schema, "schema: missing; spin pipeline save needs 'schema'"),
    ("stages missing", _del(_top, "stages"), "stages: missing; Orca cannot start"),
    ("stages not a list", _set(_top, "stages", {}), "stages: must be a list of stages"),
    ("triggers not a list", _set(_top, "triggers", {}), "triggers: must be a list"),
    ("limitConcurrent not bool", _set(_top, "limitConcurrent", "yes"), "limitConcurrent: must be true or false"),
    ("spel v2", _set(_top, "spelEvaluator", "v2"), "spelEvaluator: \"v2\" is not supported"),
    ("parameters twice", _parameters, "parameterConfig[1].name: parameter 'a' is defined twice"),
    # expected artifacts
    ("artifact without id", _del(_artifact, "id"), "expectedArtifacts[0].id: missing"),
    ("artifact without type", _set(_artifact, "matchArtifact", {"name": "x"}), "needs a type"),
    ("artifact name not Java", _set(_artifact, "matchArtifact", {"type": "docker/image", "name": "(?P<n>x)"}),
     "matchArtifact.name: Orca matches it as a Java regex and it is not one"),
    ("docker artifact without name", _set(_artifact, "matchArtifact", {"type": "docker/image"}),
     "matchArtifact.name: missing; a docker/image artifact binds by image name"),
    ("default without artifact", _set(_artifact, "useDefaultArtifact", True),
     "defaultArtifact: useDefaultArtifact needs a defaultArtifact"),
    ("prior not bool", _set(_artifact, "usePriorArtifact", "yes"), "usePriorArtifact: must be true or false"),
    # triggers: Echo
    ("trigger without type", _del(_trigger, "type"), "triggers[0].type: missing"),
    ("trigger enabled not bool", _set(_trigger, "enabled", "true"), "triggers[0].enabled: must be true or false"),
    ("trigger unknown artifact", _set(_trigger, "expectedArtifactIds", ["nope"]),
     "triggers[0].expectedArtifactIds[0]: \"nope\" is not the id of an expected artifact"),
    ("trigger without account", _del(_trigger, "account"), "triggers[0].account: missing"),
    ("trigger unknown account", _set(_trigger, "account", "dockerhub"),
     "triggers[0].account: docker registry account 'dockerhub' does not exist; known: harbor"),
    ("trigger without repository", _del(_trigger, "repository"), "triggers[0].repository: missing"),
    ("trigger other repository", _set(_trigger, "repository", "team/api"), "watches harbor/team/api but"),
    ("tag not Java", _set(_trigger, "tag", "(?P<v>.*)"), "triggers[0].tag: is not a Java regular expression"),
    ("tag {1.2.3}", _set(_trigger, "tag", "{latest}"), "Illegal repetition"),
    ("tag fires for latest", _set(_trigger, "tag", ".*"), "'v1.2.3-alpha', 'latest', '1.2'"),
    ("tag fires for pre-releases", _set(_trigger, "tag", r"^\d+\.\d+\.\d+.*$"), "fires for '1.2.3-rc.1'"),
    ("tag misses releases", _set(_trigger, "tag", "^latest$"), "does not fire for '0.0.0'"),
    ("tag blank", _set(_trigger, "tag", ""), "is blank, which Echo treats as every tag except latest"),
    ("no docker trigger", _set(_top, "triggers", []), "triggers: no docker trigger"),
    # stages: Orca
    ("stage without type", _del(deploy, "type"), "stages[1](deploy-prod-us-1).type: missing"),
    ("unknown stage type", _set(deploy, "type", "deployManifests"), "'deployManifests' is not a stage type of Orca"),
    ("refId missing", _del(deploy, "refId"), "stages[1].refId: missing"),
    ("refId a number", _set(deploy, "refId", 7), "stages[1].refId: must be a non-empty string, not 7"),
    ("refId twice", _duplicate_ref, "'deploy-prod-eu-2' is also the refId of stages[3]"),
    ("requisite unknown", _set(deploy, "requisiteStageRefIds", ["mysql-prod-us-2"]),
     "'mysql-prod-us-2' is not the refId of a stage"),
    ("requisite itself", _set(deploy, "requisiteStageRefIds", ["deploy-prod-us-1"]), "a stage cannot wait for itself"),
    ("requisite number", _set(deploy, "requisiteStageRefIds", [2]), "2 must be a string refId"),
    ("requisites not a list", _set(deploy, "requisiteStageRefIds", "x"), "must be a list of refIds"),
    ("cycle", _circular, "stages: stages approve-wave-2, deploy-prod-eu-2 wait for each other in a cycle"),
    ("no initial stage", _no_initial, "stages: no stage can start"),
    ("cloudProvider missing", _del(deploy, "cloudProvider"), "cloudProvider: missing; Orca sends the operation to"
                                                             " the aws provider"),
    ("cloudProvider aws", _set(deploy, "cloudProvider", "aws"), "cloudProvider: \"aws\": manifest stages run on"),
    ("account missing", _del(deploy, "account"), "deploy-prod-us-1).account: missing"),
    ("account unknown", _set(deploy, "account", "prod-us-9"), "Kubernetes account 'prod-us-9' does not exist"),
    ("namespace of another account", _set(deploy, "account", "prod-eu-1"),
     "manifests[0].metadata.namespace: 'web' is not a namespace of account 'prod-eu-1'"),
    ("source missing", _del(deploy, "source"), "source: must be \"text\" or \"artifact\""),
    ("text without manifests", _set(deploy, "manifests", []), "manifests: source is text but there is no manifest"),
    ("artifact without id", _set(deploy, "source", "artifact"), "manifestArtifactId: source is artifact but"),
    ("moniker missing", _del(deploy, "moniker"), "moniker.app: missing"),
    ("namespace missing", _del(_rs_metadata, "namespace"), "manifests[0].metadata.namespace: missing"),
    ("secret values", _secret, "manifests[3]: a Secret with values would be stored in Front50"),
    ("env twice", _duplicate_env, "SPRING_DATASOURCE_URL is set twice"),
    ("container twice", _second_container, "container name 'web' is used twice"),
    ("schema violation", _schema_violation, "containerPort: 'eighty' is not of type 'integer'"),
    ("unknown manifest field", _unknown_field, "'imagePulPolicy' was unexpected"),
    ("removed apiVersion", _old_api, "ReplicaSet has no schema for apiVersion extensions/v1beta1"),
    # artifacts of stages
    ("required unknown", _set(deploy, "requiredArtifactIds", ["web-image"]),
     "requiredArtifactIds[0]: \"web-image\" is not the id of an expected artifact"),
    ("required never bound", _unresolvable, "is listed by no trigger and has neither useDefaultArtifact nor"),
    ("image does not bind", _image_with_other_name, "docker image harbor.example.com/team/web binds to no container"),
    # red/black: clouddriver
    ("strategy unknown", _set(options, "strategy", "canary"), "\"canary\" is not a strategy"),
    ("strategy other than the fleet's", _set(options, "strategy", "redblack"),
     "is \"redblack\"; shiplane deploys apps with 'bluegreen'"),
    ("traffic not enabled", _set(options, "enableTraffic", False), "enableTraffic: must be true with a rollout"),
    ("no services", _set(options, "services", []), "services: needs at least one 'service <name>'"),
    ("malformed service", _set(options, "services", ["web"]), "\"web\" must be 'service <name>'"),
    ("option namespace", _set(options, "namespace", "web-eu"), "options.namespace: is 'web-eu' but the workload"),
    ("Deployment", _deployment, "bluegreen works on ReplicaSets only"),
    ("no name", _del(_rs_metadata, "name"), "metadata.name: missing; red/black finds earlier versions"),
    ("versioned name", _set(_rs_metadata, "name", "web-v002"), "'web-v002' ends like a version"),
    ("no history", _del(_rs_annotations, "strategy.spinnaker.io/max-version-history"),
     "needs strategy.spinnaker.io/max-version-history"),
    ("history 1", _set(_rs_annotations, "strategy.spinnaker.io/max-version-history", "1"),
     "\"1\" must be a string holding a number ≥ 2"),
    ("not versioned", _set(_rs_annotations, "strategy.spinnaker.io/versioned", "false"),
     "red/black needs versioned ReplicaSets"),
    ("load balancers annotation", _set(_rs_annotations, "traffic.spinnaker.io/load-balancers", '["service api"]'),
     "differs from trafficManagement.options.services"),
    ("service elsewhere", _service_elsewhere, "Service 'web' is in namespace 'other' but the workload is in 'web'"),
    ("service not deployed", _service_missing, "Service 'web' is not deployed by this stage"),
    ("service without selector", _no_selector, "Service 'web' has no selector"),
    ("selector in pod labels", _selector_in_labels, "shares shiplane.dev/service with the selector of Service"),
    ("selector in ReplicaSet selector", _selector_in_rs_selector, "spec.selector: uses shiplane.dev/service"),
    # other stages
    ("judgment inputs", _add_stage({"refId": "j", "type": "manualJudgment", "judgmentInputs": ["yes"],
                                    "requisiteStageRefIds": []}), "judgmentInputs: must be a list"),
    ("wait without time", _add_stage({"refId": "w", "type": "wait", "requisiteStageRefIds": []}),
     "waitTime: missing"),
    ("pipeline stage", _add_stage({"refId": "p", "type": "pipeline", "application": "web",
                                   "requisiteStageRefIds": []}), "pipeline: missing; the pipeline stage needs"),
    ("run job without manifest", _add_stage({"refId": "r", "type": "runJobManifest", "source": "text",
                                             "account": "prod-us-1", "cloudProvider": "kubernetes",
                                             "requisiteStageRefIds": []}), "manifest: source is text but there"),
]


@pytest.mark.parametrize(("name", "change", "expected"), CASES, ids=[case[0] for case in CASES])
def test_rule(name: str, change: Callable[[dict[str, Any]], None], expected: str) -> None:
    broken = copy.deepcopy(PROD)
    change(broken)
    found = findings(broken)
    assert any(expected in line for line in found), "\n".join(found) or "(no finding)"


def test_the_untouched_pipelines_pass() -> None:
    assert findings(PROD) == []
    assert findings(DEV, Context(**{**STRICT.__dict__, "tag_policy": TagPolicy("latest")})) == []
    assert findings(ROLLBACK, Context(**{**STRICT.__dict__, "tag_policy": None, "docker_repository": None})) == []
    assert findings(PROD, LOOSE) == [] and findings(DEV, LOOSE) == [] and findings(ROLLBACK, LOOSE) == []
    assert findings(PROD, Context()) == []


@pytest.mark.parametrize(
    ("change", "passes"),
    [
        (_spel_is_not_a_schema_violation, True),
        (_image_with_tag, True),  # clouddriver strips the tag before comparing: it binds
        (_service_missing, True),  # not strict: the Service may exist in the cluster already
    ],
)
def test_rules_that_are_loose_on_purpose(change: Callable[[dict[str, Any]], None], passes: bool) -> None:
    broken = copy.deepcopy(PROD)
    change(broken)
    assert (findings(broken, LOOSE) == []) is passes


def test_a_service_deployed_by_an_earlier_stage_is_checked_there() -> None:
    broken = copy.deepcopy(PROD)
    target = deploy(broken)
    svc = manifest(target, "Service")
    target["manifests"] = [m for m in target["manifests"] if m["kind"] != "Service"]
    earlier = {**copy.deepcopy(target), "refId": "service-prod-us-1", "name": "Service", "manifests": [svc]}
    del earlier["trafficManagement"], earlier["requiredArtifactIds"]
    broken["stages"].append(earlier)
    target["requisiteStageRefIds"] = ["service-prod-us-1"]
    assert findings(broken, LOOSE) == []
    svc["spec"] = {**svc["spec"], "selector": {"app.kubernetes.io/name": "web"}}
    assert any("shares app.kubernetes.io/name with the selector" in f for f in findings(broken, LOOSE))


def test_bluegreen_needs_spinnaker_1_30() -> None:
    old = Context(**{**STRICT.__dict__, "spinnaker_version": (1, 29, 2), "traffic_strategy": None})
    assert any("bluegreen exists from Spinnaker 1.30 on" in f for f in findings(PROD, old))
    redblack = copy.deepcopy(PROD)
    for s in redblack["stages"]:
        if "trafficManagement" in s:
            s["trafficManagement"]["options"]["strategy"] = "redblack"
    assert findings(redblack, old) == []


@pytest.mark.parametrize(
    ("tag", "policy", "ok"),
    [
        (r"^(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)$", TagPolicy("semver"), True),
        (r"v?\d+\.\d+\.\d+", TagPolicy("semver", allow_v_prefix=True), False),  # 01.2.3 is not a version
        (TagPolicy("semver", allow_v_prefix=True).pattern(), TagPolicy("semver", allow_v_prefix=True), True),
        (TagPolicy("semver", pre_releases=True).pattern(), TagPolicy("semver", pre_releases=True), True),
        (TagPolicy("semver", pre_releases=True).pattern(), TagPolicy("semver"), False),
        (BUILD_TAG_PATTERN, TagPolicy("latest"), True),
        ("latest", TagPolicy("latest"), False),  # a mutable tag
        ("^git-[0-9a-f]+$", TagPolicy("latest"), False),  # short ids too
        ("latest", None, False),  # a mutable reference whatever the environment
        (".*", None, False),  # fires for latest and releases alike
        (r"\d+\.\d+\.\d+", None, True),
        ("", None, True),  # Echo: every tag except latest
    ],
)
def test_trigger_tags_against_policies(tag: str, policy: TagPolicy | None, ok: bool) -> None:
    document = copy.deepcopy(PROD)
    document["triggers"][0]["tag"] = tag
    ctx = Context(**{**STRICT.__dict__, "tag_policy": policy})
    tag_findings = [f for f in findings(document, ctx) if f.startswith("triggers[0].tag")]
    assert (tag_findings == []) is ok, tag_findings


def test_per_cluster_copies_are_checked_for_their_own_account_and_namespace() -> None:
    # The linter recognises per-cluster copies of a stage by the identity of their shared parts; what differs
    # between clusters must still be checked for every stage.
    fleet = fleet_from()
    content = text_form(documents(fleet)["spinnaker/web/deploy-prod.json"].content)
    assert findings(content) == []
    target = stage(content, "deploy-prod-ap-3")
    original = target["account"]
    target["account"] = "prod-eu-1"  # manages web-eu, not web
    try:
        found = findings(content)
    finally:
        target["account"] = original
    assert found and all(f.startswith("stages[5](deploy-prod-ap-3).manifests[") for f in found), found
    target["manifests"][0]["metadata"]["namespace"] = "web-eu"
    try:
        found = findings(content)
    finally:
        target["manifests"][0]["metadata"]["namespace"] = "web"
    assert any("Service 'web' is in namespace 'web' but the workload is in 'web-eu'" in f for f in found), found
    assert any("'web-eu' is not a namespace of account 'prod-ap-3'" in f for f in found), found


def test_shared_objects_do_not_hide_a_problem_of_another_stage() -> None:
    fleet = fleet_from()
    content = text_form(documents(fleet)["spinnaker/web/deploy-prod.json"].content)
    shared_spec = manifest(stage(content, "deploy-prod-eu-1"), "ReplicaSet")["spec"]
    assert shared_spec is manifest(stage(content, "deploy-prod-ap-3"), "ReplicaSet")["spec"]
    last = manifest(stage(content, "deploy-prod-ap-3"), "ReplicaSet")
    last["metadata"] = {**last["metadata"], "name": "web-v001"}
    found = findings(content)
    assert found == ["stages[5](deploy-prod-ap-3).manifests[0].metadata.name: 'web-v001' ends like a version; "
                     "clouddriver appends -vNNN itself, keep the name stable"]


# ---- targeted manifest stages (rollback) ------------------------------------------------------------------------


def _enable(p: dict[str, Any]) -> dict[str, Any]:
    return stage(p, "enable-prod-us-1")


TARGETED: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("location missing", _del(_enable, "location"), "location: missing"),
    ("location of another account", _set(_enable, "location", "web-eu"),
     "location: 'web-eu' is not a namespace of account 'prod-us-1'"),
    ("static without name", _set(_enable, "mode", "static"), "manifestName: missing or not '<kind> <name>'"),
    ("criteria", _set(_enable, "criteria", "previous"), "criteria: \"previous\" is not one of"),
    ("cluster", _set(_enable, "cluster", "web"), "cluster: missing or not '<kind> <name>'"),
    ("app", _del(_enable, "app"), "app: missing; clouddriver looks the cluster up"),
    ("kind", _del(_enable, "kind"), "kind: missing; the kind of the cluster's manifests"),
    ("label mode", _set(_enable, "mode", "label"), "mode: label selection is not supported by enableManifest"),
    ("mode", _set(_enable, "mode", "newest"), "mode: \"newest\" is not static, dynamic or label"),
    ("undo on ReplicaSets", _set(_enable, "type", "undoRolloutManifest"),
     "undoRolloutManifest does not work on ReplicaSets"),
    ("scale without replicas", _set(_enable, "type", "scaleManifest"), "replicas: missing"),
]


@pytest.mark.parametrize(("name", "change", "expected"), TARGETED, ids=[case[0] for case in TARGETED])
def test_targeted_rule(name: str, change: Callable[[dict[str, Any]], None], expected: str) -> None:
    ctx = Context(**{**STRICT.__dict__, "tag_policy": None, "docker_repository": None})
    assert findings(ROLLBACK, ctx) == []
    broken = copy.deepcopy(ROLLBACK)
    change(broken)
    found = findings(broken, ctx)
    assert any(expected in line for line in found), "\n".join(found) or "(no finding)"


# ---- applications and clouddriver configs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"name": "1web"}, "name: \"1web\": Kubernetes application names begin with a letter"),
        ({"name": "web_app"}, "name: \"web_app\""),
        ({"cloudProviders": "aws"}, "cloudProviders: must be a comma-separated string that includes kubernetes"),
        ({"email": "team"}, "email: \"team\" is not an e-mail address"),
    ],
)
def test_application_rules(change: dict[str, Any], expected: str) -> None:
    application = documents(FLEET)["spinnaker/web/application.json"].content
    assert check_application(application, Context(application="web")) == []
    found = [f"{p}: {m}" for p, m in check_application({**application, **change}, Context())]
    assert any(expected in line for line in found), found


def _accounts(config: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = config["kubernetes"]["accounts"][0]
    return result


def _registry(config: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = config["dockerRegistry"]["accounts"][0]
    return result


CLOUDDRIVER: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("registry disabled", lambda c: c["dockerRegistry"].update(enabled=False), "dockerRegistry.enabled: must be"),
    ("password in config", _set(_registry, "password", "s3cret"), "password: a secret in the generated config"),
    ("no password source", _del(_registry, "passwordFile"), "needs passwordFile or passwordCommand"),
    ("digest tracking", _set(_registry, "trackDigests", True), "trackDigests: must not be true"),
    ("cache threads", _set(_registry, "cacheThreads", 0), "cacheThreads: 0 must be a number ≥ 1"),
    ("too many repositories", _set(_registry, "repositories", ["team/web", *(f"team/a{i}" for i in range(500))]),
     "lists 501 repositories"),
    ("repository in two accounts", lambda c: c["dockerRegistry"]["accounts"].append(
        {**_registry(c), "name": "harbor-2"}), "team/web is also listed by dockerRegistry.accounts[0]"),
    ("no repositories", _del(_registry, "repositories"), "repositories: must list the repositories"),
    ("a repository missing", _set(_registry, "repositories", ["team/api"]), "no account lists team/web"),
    ("address", _set(_registry, "address", "harbor.example.com"), "address: must be the registry URL"),
    ("kubernetes disabled", lambda c: c["kubernetes"].update(enabled=False), "kubernetes.enabled: must be true"),
    ("account without name", _del(_accounts, "name"), "kubernetes.accounts[0].name: missing"),
    ("relative kubeconfig", _set(_accounts, "kubeconfigFile", "kube/dev.yml"), "kubeconfigFile: must be an absolute"),
    ("namespaces and omitted ones", _set(_accounts, "omitNamespaces", ["kube-system"]),
     "at most one of namespaces and omitNamespaces"),
    ("all resources cached", _set(_accounts, "onlySpinnakerManaged", False), "onlySpinnakerManaged: must be true"),
    ("duplicate account", _set(_accounts, "name", "harbor"), "'harbor' is also dockerRegistry.accounts[0]"),
]


@pytest.mark.parametrize(("name", "change", "expected"), CLOUDDRIVER, ids=[case[0] for case in CLOUDDRIVER])
def test_clouddriver_rule(name: str, change: Callable[[dict[str, Any]], None], expected: str) -> None:
    config = copy.deepcopy(documents(FLEET)["spinnaker/clouddriver-local.yml"].content)
    assert check_clouddriver(config, ["team/web"]) == []
    change(config)
    found = [f"{p}: {m}" for p, m in check_clouddriver(config, ["team/web"])]
    assert any(expected in line for line in found), found


def test_accounts_are_read_from_a_clouddriver_config() -> None:
    config = documents(FLEET)["spinnaker/clouddriver-local.yml"].content
    accounts = accounts_from_clouddriver(config)
    assert accounts.docker == {"harbor"}
    assert accounts.kubernetes["prod-eu-1"] == {"web-eu"}
    config = json.loads(json.dumps(config))
    config["kubernetes"]["accounts"][0].pop("namespaces")
    assert accounts_from_clouddriver(config).kubernetes["dev-a"] is None  # every namespace


def test_only_the_stages_on_a_cycle_are_named() -> None:
    def s(ref: str, *requisites: str) -> dict[str, Any]:
        return {"refId": ref, "type": "wait", "waitTime": 1, "requisiteStageRefIds": list(requisites)}

    document = {"application": "web", "name": "p", "stages": [
        s("start"), s("a", "start", "c"), s("b", "a"), s("c", "b"), s("after", "c"), s("x", "start", "y"),
        s("y", "x"),
    ]}
    assert findings(document, Context()) == [
        "stages: stages a, b, c wait for each other in a cycle; Orca fails with 'Invalid stage relationships found'",
        "stages: stages x, y wait for each other in a cycle; Orca fails with 'Invalid stage relationships found'",
    ]

"""Spinnaker documents of an app: its application, a deploy and a rollback pipeline per environment.

The Kubernetes manifests come from Jinja2 templates (`spinnaker/app.yml.j2`, `spinnaker/mysql.yml.j2`; a team's
`--templates` directory can shadow them), rendered ONCE per app and environment. Each cluster's stage then gets
shallow copies that differ only in `metadata.namespace`; everything else is shared, which keeps a 90-cluster
pipeline cheap to build, validate and serialise.

Stage graph of a deploy pipeline, computed here (refIds are strings derived from cluster names, so adding a
cluster changes no other stage):

    wave 1:  [mysql-<c>] -> deploy-<c>        for every cluster c of the wave, in parallel
             approve-wave-2                    (manual judgment, when judgment_between_waves)
    wave 2:  [mysql-<c>] -> deploy-<c>        each waits for every deploy of wave 1 (or for the judgment)
    ...

`mysql-<c>` exists when the environment's storage is mysql. Every `deploy-<c>` is red/black (`bluegreen` from
Spinnaker 1.30 on). The rollback pipeline re-enables the previous ReplicaSet and then disables the newest one in
every cluster (in parallel).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shiplane.documents import Document
from shiplane.errors import ShiplaneError
from shiplane.model import App, AppDeployment, Cluster, Fleet, Resources
from shiplane.spinnaker import concoursetrigger
from shiplane.spinnaker.lint import bindable_image
from shiplane.spinnaker.tags import TagPolicy
from shiplane.templates import TemplateSet

APP_TEMPLATE = "spinnaker/app.yml.j2"
MYSQL_TEMPLATE = "spinnaker/mysql.yml.j2"
APPLICATION_TEMPLATE = "spinnaker/application.yml.j2"

SERVICE_SELECTOR_KEY = "shiplane.dev/service"
"""The label the app's Service selects. Spinnaker adds it to the pods of the enabled ReplicaSet version and
removes it to disable one; it is never part of the pod template labels or the ReplicaSet selector."""
DIGEST_ANNOTATION = "shiplane.dev/trigger-digest"
DIGEST_EXPRESSION = "${trigger['digest'] ?: execution.id}"
"""Echo's docker trigger carries the pushed digest; a manual run has none and gets a new version every time."""
MYSQL_PORT = 3306
DATA_MOUNT = "/data"


def tag_policy(deployment: AppDeployment) -> TagPolicy:
    environment = deployment.environment
    return TagPolicy(
        image_tag=environment.image_tag,
        allow_v_prefix=environment.semver.allow_v_prefix,
        pre_releases=environment.semver.pre_releases,
    )


def artifact_id(app: App, deployment: AppDeployment) -> str:
    return f"{app.name}-image-{deployment.environment.name}"


@dataclass(frozen=True)
class _Bundle:
    """The rendered manifests of one app in one environment (cluster-independent)."""

    app_manifests: list[dict[str, Any]]
    mysql_manifests: list[dict[str, Any]] | None
    replica_set: str
    services: list[str]


def _template_context(fleet: Fleet, app: App, deployment: AppDeployment) -> dict[str, Any]:
    environment = deployment.environment
    name = app.name
    selector = {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "server"}
    labels = {**selector, "app.kubernetes.io/part-of": name}
    env: list[dict[str, Any]] = [{"name": key, "value": value} for key, value in deployment.env]
    mysql: dict[str, Any] | None = None
    if environment.storage == "mysql":
        database = app.database
        host = f"{name}-mysql"
        url = (
            database.url_format.replace("{host}", host)
            .replace("{port}", str(MYSQL_PORT))
            .replace("{database}", database.name)
        )
        secret = deployment.mysql_secret
        env += [
            {"name": database.url_env, "value": url},
            {"name": database.username_env, "valueFrom": {"secretKeyRef": {"name": secret, "key": "username"}}},
            {"name": database.password_env, "valueFrom": {"secretKeyRef": {"name": secret, "key": "password"}}},
        ]
        env.sort(key=lambda variable: str(variable["name"]))
        mysql_selector = {"app.kubernetes.io/name": "mysql", "app.kubernetes.io/instance": host}
        mysql = {
            "name": host,
            "port": MYSQL_PORT,
            "database": database.name,
            "secret": secret,
            "image": environment.mysql.image.ref,
            "storage_size": environment.mysql.storage_size,
            "storage_class": environment.mysql.storage_class,
            "resources": _container_resources(environment.mysql.resources),
            "selector": mysql_selector,
            "labels": {
                **mysql_selector,
                "app.kubernetes.io/component": "database",
                "app.kubernetes.io/part-of": name,
            },
        }
    ephemeral = environment.storage == "ephemeral"
    return {
        "fleet": fleet,
        "harbor": fleet.harbor,
        "app": app,
        "deployment": deployment,
        "environment": environment,
        "image": bindable_image(app.image_name(fleet.harbor)),
        "labels": labels,
        "selector": selector,
        "service_selector": {SERVICE_SELECTOR_KEY: name},
        "pod_annotations": {DIGEST_ANNOTATION: DIGEST_EXPRESSION} if environment.image_tag == "latest" else {},
        "container_env": env,
        "container_resources": _container_resources(deployment.resources),
        "max_version_history": str(environment.max_version_history),
        "volumes": [{"name": "data", "emptyDir": {}}] if ephemeral else [],
        "volume_mounts": [{"name": "data", "mountPath": DATA_MOUNT}] if ephemeral else [],
        "mysql": mysql,
    }


def _container_resources(resources: Resources) -> dict[str, Any]:
    """Requests from the model and a memory limit equal to the memory request (no CPU limit: throttling)."""
    result: dict[str, Any] = {}
    requests = {key: value for key, value in (("cpu", resources.cpu), ("memory", resources.memory)) if value}
    if requests:
        result["requests"] = requests
    if resources.memory:
        result["limits"] = {"memory": resources.memory}
    return result


def _manifests(templates: TemplateSet, name: str, context: dict[str, Any], what: str) -> list[dict[str, Any]]:
    data = templates.render_data(name, context, what)
    if not isinstance(data, list) or not data or not all(isinstance(item, dict) for item in data):
        raise ShiplaneError(f"template {name} ({what}): must render a YAML list of Kubernetes objects; fix the "
                            f"template")
    for index, manifest in enumerate(data):
        if not isinstance(manifest.get("metadata"), dict):
            raise ShiplaneError(f"template {name} ({what}): object {index + 1} has no metadata mapping; fix the "
                                f"template")
    return data


def _bundle(fleet: Fleet, app: App, deployment: AppDeployment, templates: TemplateSet) -> _Bundle:
    what = f"app {app.name}, environment {deployment.environment.name}"
    context = _template_context(fleet, app, deployment)
    app_manifests = _manifests(templates, APP_TEMPLATE, context, what)
    mysql_manifests = None
    if context["mysql"] is not None:
        mysql_manifests = _manifests(templates, MYSQL_TEMPLATE, context, what)
    replica_sets = [m["metadata"].get("name") for m in app_manifests if m.get("kind") == "ReplicaSet"]
    if len(replica_sets) != 1 or not isinstance(replica_sets[0], str):
        raise ShiplaneError(f"template {APP_TEMPLATE} ({what}): must render exactly one ReplicaSet with a name "
                            f"(red/black deploys ReplicaSets); it renders {len(replica_sets)}")
    services = [f"service {m['metadata'].get('name')}" for m in app_manifests if m.get("kind") == "Service"]
    return _Bundle(app_manifests, mysql_manifests, replica_sets[0], services)


def _in_namespace(manifests: list[dict[str, Any]], namespace: str) -> list[dict[str, Any]]:
    """Per-cluster copies: new top-level and metadata mappings, everything else shared."""
    return [{**manifest, "metadata": {**manifest["metadata"], "namespace": namespace}} for manifest in manifests]


def _names(clusters: tuple[Cluster, ...], limit: int = 10) -> str:
    names = [cluster.name for cluster in clusters]
    if len(names) > limit:
        return ", ".join(names[:limit]) + f" and {len(names) - limit} more"
    return ", ".join(names)


def deploy_pipeline(fleet: Fleet, app: App, deployment: AppDeployment, bundle: _Bundle) -> dict[str, Any]:
    environment = deployment.environment
    image = app.image_name(fleet.harbor)
    image_id = artifact_id(app, deployment)
    policy = tag_policy(deployment)
    # Shared by every stage (the linter recognises per-cluster copies of a stage by the identity of such parts).
    moniker = {"app": app.name}
    required = [image_id]
    traffic_strategy = fleet.spinnaker.traffic_strategy
    stages: list[dict[str, Any]] = []
    previous: list[str] = []
    previous_wave: tuple[Cluster, ...] = ()
    for wave, clusters in deployment.waves:
        if previous and environment.judgment_between_waves:
            judgment = f"approve-wave-{wave}"
            stages.append({
                "failPipeline": True,
                "instructions": (
                    f"{app.name} is deployed to wave {previous_wave[0].wave} of {environment.name} "
                    f"({_names(previous_wave)}). Continue with wave {wave} ({_names(clusters)})?"
                ),
                "judgmentInputs": [],
                "name": f"Approve wave {wave}",
                "notifications": [],
                "propagateAuthenticationContext": True,
                "refId": judgment,
                "requisiteStageRefIds": previous,
                "type": "manualJudgment",
            })
            previous = [judgment]
        deployed = []
        for cluster in clusters:
            requisites = previous
            if bundle.mysql_manifests is not None:
                mysql_ref = f"mysql-{cluster.name}"
                stages.append({
                    "account": cluster.account,
                    "cloudProvider": "kubernetes",
                    "manifests": _in_namespace(bundle.mysql_manifests, cluster.namespace),
                    "moniker": moniker,
                    "name": f"MySQL {cluster.name}",
                    "refId": mysql_ref,
                    "requisiteStageRefIds": requisites,
                    "skipExpressionEvaluation": False,
                    "source": "text",
                    "type": "deployManifest",
                })
                requisites = [mysql_ref]
            deploy_ref = f"deploy-{cluster.name}"
            stages.append({
                "account": cluster.account,
                "cloudProvider": "kubernetes",
                "manifests": _in_namespace(bundle.app_manifests, cluster.namespace),
                "moniker": moniker,
                "name": f"Deploy {cluster.name}",
                "refId": deploy_ref,
                "requiredArtifactIds": required,
                "requisiteStageRefIds": requisites,
                "skipExpressionEvaluation": False,
                "source": "text",
                "trafficManagement": {
                    "enabled": True,
                    "options": {
                        "enableTraffic": True,
                        "namespace": cluster.namespace,
                        "services": bundle.services,
                        "strategy": traffic_strategy,
                    },
                },
                "type": "deployManifest",
            })
            deployed.append(deploy_ref)
        previous = deployed
        previous_wave = clusters
    latest = environment.image_tag == "latest"
    match: dict[str, Any] = {"name": image, "type": "docker/image"}
    if not latest:
        match["version"] = policy.pattern()  # a manual run can never pick latest for a release environment
    expected: dict[str, Any] = {
        "displayName": f"{app.name} image",
        "id": image_id,
        "matchArtifact": match,
        "useDefaultArtifact": latest,
        "usePriorArtifact": not latest,
    }
    if latest:
        expected["defaultArtifact"] = {
            "name": image,
            "reference": f"{image}:latest",
            "type": "docker/image",
            "version": "latest",
        }
    waves = len(deployment.waves)
    return {
        "application": app.name,
        "description": (
            f"Deploys {app.name} to {environment.name} ({len(deployment.clusters)} cluster(s) in {waves} wave(s)) "
            f"when Harbor has a new {'latest image' if latest else 'release x.y.z'} that passed the scan gate; "
            f"red/black. Generated by shiplane from the fleet config: change the config, not this pipeline."
        ),
        "expectedArtifacts": [expected],
        "keepWaitingPipelines": False,
        "limitConcurrent": True,
        "name": f"deploy-{environment.name}",
        "notifications": [],
        "parameterConfig": [],
        "spelEvaluator": "v4",
        "stages": stages,
        "triggers": [{
            "account": fleet.spinnaker.docker_account,
            "enabled": True,
            "expectedArtifactIds": [image_id],
            "organization": fleet.harbor.project,
            "registry": fleet.harbor.registry,
            "repository": app.repository,
            "tag": policy.pattern(),
            "type": "docker",
        }],
    }


def rollback_pipeline(app: App, deployment: AppDeployment, bundle: _Bundle) -> dict[str, Any]:
    environment = deployment.environment
    cluster_name = f"replicaSet {bundle.replica_set}"
    stages: list[dict[str, Any]] = []
    for cluster in deployment.clusters:
        target = {
            "account": cluster.account,
            "app": app.name,
            "cloudProvider": "kubernetes",
            "cluster": cluster_name,
            "kind": "replicaSet",
            "location": cluster.namespace,
            "mode": "dynamic",
        }
        stages.append({
            **target,
            "criteria": "second_newest",
            "name": f"Enable previous {cluster.name}",
            "refId": f"enable-{cluster.name}",
            "requisiteStageRefIds": [],
            "type": "enableManifest",
        })
        stages.append({
            **target,
            "criteria": "newest",
            "name": f"Disable newest {cluster.name}",
            "refId": f"disable-{cluster.name}",
            "requisiteStageRefIds": [f"enable-{cluster.name}"],
            "type": "disableManifest",
        })
    return {
        "application": app.name,
        "description": (
            f"Rolls {app.name} in {environment.name} back to the previous version: in every cluster, re-enables "
            f"the second newest ReplicaSet (kept running by red/black) and then disables the newest. Run it by "
            f"hand. Generated by shiplane from the fleet config."
        ),
        "expectedArtifacts": [],
        "keepWaitingPipelines": False,
        "limitConcurrent": True,
        "name": f"rollback-{environment.name}",
        "notifications": [],
        "parameterConfig": [],
        "spelEvaluator": "v4",
        "stages": stages,
        "triggers": [],
    }


def application_document(app: App, fleet: Fleet, templates: TemplateSet) -> Document:
    content = templates.render_data(APPLICATION_TEMPLATE, {"app": app, "fleet": fleet}, f"app {app.name}")
    if not isinstance(content, dict):
        raise ShiplaneError(f"template {APPLICATION_TEMPLATE} (app {app.name}): must render a mapping; fix the "
                            f"template")
    return Document(
        path=f"spinnaker/{app.name}/application.json",
        kind="spinnaker-application",
        content=content,
        origin=f"template {APPLICATION_TEMPLATE} (app {app.name})",
        app=app.name,
    )


def app_documents(fleet: Fleet, app: App, templates: TemplateSet) -> list[Document]:
    documents = [application_document(app, fleet, templates)]
    for deployment in app.deployments:
        if not deployment.clusters:
            continue
        bundle = _bundle(fleet, app, deployment, templates)
        environment = deployment.environment.name
        origin = f"templates {APP_TEMPLATE}" + (f", {MYSQL_TEMPLATE}" if bundle.mysql_manifests is not None else "")
        documents.append(Document(
            path=f"spinnaker/{app.name}/deploy-{environment}.json",
            kind="spinnaker-pipeline",
            content=concoursetrigger.apply(fleet, deployment, deploy_pipeline(fleet, app, deployment, bundle)),
            origin=f"{origin} (app {app.name}, environment {environment})",
            app=app.name,
        ))
        documents.append(Document(
            path=f"spinnaker/{app.name}/rollback-{environment}.json",
            kind="spinnaker-pipeline",
            content=rollback_pipeline(app, deployment, bundle),
            origin=f"template {APP_TEMPLATE} (app {app.name}, environment {environment})",
            app=app.name,
        ))
    return documents


def clouddriver_config(fleet: Fleet) -> dict[str, Any]:
    """clouddriver-local.yml: the Harbor registry account and one Kubernetes account per deploy cluster."""
    spinnaker = fleet.spinnaker
    registry: dict[str, Any] = {
        "name": spinnaker.docker_account,
        "address": fleet.harbor.url,
        "username": spinnaker.registry_username,
        "trackDigests": True,
        "cacheIntervalSeconds": spinnaker.cache_interval_seconds,
        "repositories": sorted({app.repository for app in fleet.apps}),
    }
    if spinnaker.registry_password_command is not None:
        registry["passwordCommand"] = spinnaker.registry_password_command
    else:
        registry["passwordFile"] = spinnaker.registry_password_file
    if fleet.harbor.insecure:
        registry["insecureRegistry"] = True
    accounts = [
        {
            "name": cluster.account,
            "context": cluster.context,
            "kubeconfigFile": cluster.kubeconfig,
            "namespaces": [cluster.namespace],
            "onlySpinnakerManaged": True,
        }
        for cluster in sorted(fleet.clusters, key=lambda c: c.account)
        if cluster.role == "deploy"
    ]
    return {
        "dockerRegistry": {"enabled": True, "accounts": [registry]},
        "kubernetes": {"enabled": True, "accounts": accounts},
    }


def fleet_documents(fleet: Fleet) -> list[Document]:
    return [Document(
        path="spinnaker/clouddriver-local.yml",
        kind="clouddriver-config",
        content=clouddriver_config(fleet),
        origin="the fleet's harbor, spinnaker and clusters sections",
    )]

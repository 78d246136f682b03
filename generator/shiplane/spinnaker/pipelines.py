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
from shiplane.model import App, AppDeployment, Cluster, Fleet, Notifications, Resources, Target
from shiplane.spinnaker import concoursetrigger, lowerrelease
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
STARTUP_PERIOD_SECONDS = 5


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


def _placeholders(text: str, app: App, deployment: AppDeployment, target: Target) -> str:
    return (
        text.replace("{app}", app.name)
        .replace("{cluster}", target.cluster.name)
        .replace("{environment}", deployment.environment.name)
    )


def _ingress(app: App, deployment: AppDeployment, target: Target) -> dict[str, Any] | None:
    ingress = app.ingress
    if ingress is None:
        return None
    tls = ingress.tls_secret
    return {
        "host": _placeholders(ingress.host, app, deployment, target),
        "path": ingress.path,
        "class_name": ingress.class_name,
        "tls_secret": _placeholders(tls, app, deployment, target) if tls is not None else None,
    }


def _bundle_key(app: App, deployment: AppDeployment, target: Target) -> tuple[object, ...]:
    """Clusters whose manifests are the same (apart from the namespace) share one rendered bundle."""
    ingress = _ingress(app, deployment, target)
    return (target.settings, tuple(sorted(ingress.items())) if ingress else None)


def _template_context(fleet: Fleet, app: App, deployment: AppDeployment, target: Target) -> dict[str, Any]:
    environment = deployment.environment
    name = app.name
    selector = {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "server"}
    labels = {**dict(target.labels), **selector, "app.kubernetes.io/part-of": name}
    env: list[dict[str, Any]] = [{"name": key, "value": value} for key, value in target.env]
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
    storage = app.ephemeral_storage
    empty_dir: dict[str, Any] = {"sizeLimit": storage.size_limit} if storage and storage.size_limit else {}
    probes = app.probes
    autoscaling = app.autoscaling
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
        "container_resources": _container_resources(target.resources),
        "max_version_history": str(environment.max_version_history),
        "volumes": [{"name": "data", "emptyDir": empty_dir}] if storage else [],
        "volume_mounts": [{"name": "data", "mountPath": storage.path}] if storage else [],
        "mysql": mysql,
        "replicas": target.replicas,
        "probes": {
            "readiness_path": probes.readiness_path if probes else app.health_path,
            "liveness_path": probes.liveness_path if probes else app.health_path,
            "startup_failure_threshold": -(-(probes.startup_seconds if probes else 300) // STARTUP_PERIOD_SECONDS),
            "startup_period_seconds": STARTUP_PERIOD_SECONDS,
        },
        "service": {"type": app.service.type, "port": app.service.port},
        "pod_disruption_budget": {"max_unavailable": 1} if target.replicas > 1 else None,
        "autoscaling": {
            "min_replicas": target.replicas,
            "max_replicas": autoscaling.max_replicas,
            "cpu_utilization": autoscaling.cpu_utilization,
        }
        if autoscaling is not None
        else None,
        "ingress": _ingress(app, deployment, target),
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


def _bundle(fleet: Fleet, app: App, deployment: AppDeployment, target: Target, templates: TemplateSet) -> _Bundle:
    what = f"app {app.name}, environment {deployment.environment.name}"
    context = _template_context(fleet, app, deployment, target)
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


def _bundles(fleet: Fleet, app: App, deployment: AppDeployment, templates: TemplateSet) -> dict[str, _Bundle]:
    """The rendered manifests of every cluster, by cluster name (rendered once per distinct set of settings)."""
    shared: dict[tuple[object, ...], _Bundle] = {}
    bundles: dict[str, _Bundle] = {}
    for target in deployment.targets:
        key = _bundle_key(app, deployment, target)
        if key not in shared:
            shared[key] = _bundle(fleet, app, deployment, target, templates)
        bundles[target.cluster.name] = shared[key]
    return bundles


def notifications(notify: Notifications) -> list[dict[str, Any]]:
    """Pipeline notifications for echo: `type`, `address`, `level: pipeline` and `when` events `pipeline.failed`
    (and `pipeline.complete`). echo's AbstractEventNotificationAgent sends a pipeline notification when its `when`
    holds "<configType>.<status>"; the e-mail agent splits `address` on spaces, ',' and ';'
    (EmailNotificationService.send). Slack and SMTP credentials live in echo's own config, never here."""
    when = ["pipeline.failed"] + (["pipeline.complete"] if notify.deploy_success else [])
    found: list[dict[str, Any]] = []
    if notify.slack_channel is not None:
        found.append({"address": notify.slack_channel, "level": "pipeline", "type": "slack", "when": when})
    if notify.email:
        found.append({"address": ",".join(notify.email), "level": "pipeline", "type": "email", "when": when})
    return found


def deploy_pipeline(fleet: Fleet, app: App, deployment: AppDeployment, bundles: dict[str, _Bundle]) -> dict[str, Any]:
    environment = deployment.environment
    image = app.image_name(fleet.harbor)
    image_id = artifact_id(app, deployment)
    policy = tag_policy(deployment)
    # Shared by every stage (the linter recognises per-cluster copies of a stage by the identity of such parts).
    moniker = {"app": app.name}
    required = [image_id]
    traffic_strategy = fleet.spinnaker.traffic_strategy
    targets = {target.cluster.name: target for target in deployment.targets}
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
            bundle = bundles[cluster.name]
            namespace = targets[cluster.name].namespace
            requisites = previous
            if bundle.mysql_manifests is not None:
                mysql_ref = f"mysql-{cluster.name}"
                stages.append({
                    "account": cluster.account,
                    "cloudProvider": "kubernetes",
                    "manifests": _in_namespace(bundle.mysql_manifests, namespace),
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
                "manifests": _in_namespace(bundle.app_manifests, namespace),
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
                        "namespace": namespace,
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
    return lowerrelease.guard({
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
        "notifications": notifications(app.notifications),
        "parameterConfig": [],
        "spelEvaluator": "v4",
        "stages": stages,
        "triggers": [{
            "account": fleet.spinnaker.docker_account,
            "enabled": True,
            "expectedArtifactIds": [image_id],
            "organization": app.harbor_project,
            "registry": fleet.harbor.registry,
            "repository": app.repository,
            "tag": policy.pattern(),
            "type": "docker",
        }],
    }, app, deployment)


def rollback_pipeline(app: App, deployment: AppDeployment, bundles: dict[str, _Bundle]) -> dict[str, Any]:
    environment = deployment.environment
    targets = {target.cluster.name: target for target in deployment.targets}
    stages: list[dict[str, Any]] = []
    for cluster in deployment.clusters:
        cluster_name = f"replicaSet {bundles[cluster.name].replica_set}"
        target = {
            "account": cluster.account,
            "app": app.name,
            "cloudProvider": "kubernetes",
            "cluster": cluster_name,
            "kind": "replicaSet",
            "location": targets[cluster.name].namespace,
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
        "notifications": notifications(app.notifications),
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
        bundles = _bundles(fleet, app, deployment, templates)
        environment = deployment.environment.name
        with_mysql = any(bundle.mysql_manifests is not None for bundle in bundles.values())
        origin = f"templates {APP_TEMPLATE}" + (f", {MYSQL_TEMPLATE}" if with_mysql else "")
        documents.append(Document(
            path=f"spinnaker/{app.name}/deploy-{environment}.json",
            kind="spinnaker-pipeline",
            content=concoursetrigger.apply(fleet, deployment, deploy_pipeline(fleet, app, deployment, bundles)),
            origin=f"{origin} (app {app.name}, environment {environment})",
            app=app.name,
        ))
        documents.append(Document(
            path=f"spinnaker/{app.name}/rollback-{environment}.json",
            kind="spinnaker-pipeline",
            content=rollback_pipeline(app, deployment, bundles),
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
    namespaces = fleet.namespaces_by_cluster()
    accounts = [
        {
            "name": cluster.account,
            "context": cluster.context,
            "kubeconfigFile": cluster.kubeconfig,
            "namespaces": list(namespaces[cluster.name]),
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

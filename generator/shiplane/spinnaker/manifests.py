"""The Kubernetes manifests of one app in one environment, rendered from the Jinja2 templates.

`spinnaker/app.yml.j2` (the ReplicaSet, its Service and what the app asks for) and `spinnaker/mysql.yml.j2` (the
database) are rendered once per app, environment and distinct `bundle_key`: the cluster's settings after every
override layer (replicas, env, resources, labels), its Ingress and its image pull Secret. Clusters without label or
cluster overrides and with the environment's Secret share one rendering. The manifests carry no namespace: every
stage sets its cluster's namespace with `namespaceOverride` (see `shiplane.spinnaker.manifestartifact`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shiplane.errors import ShiplaneError
from shiplane.model import App, AppDeployment, Cluster, Fleet, Resources, Target
from shiplane.spinnaker.podrules import bindable_image, pod_specs
from shiplane.templates import TemplateSet

APP_TEMPLATE = "spinnaker/app.yml.j2"
MYSQL_TEMPLATE = "spinnaker/mysql.yml.j2"

SERVICE_SELECTOR_KEY = "shiplane.dev/service"
"""The label the app's Service selects. Spinnaker adds it to the pods of the enabled ReplicaSet version and
removes it to disable one; it is never part of the pod template labels or the ReplicaSet selector."""
MYSQL_PORT = 3306
STARTUP_PERIOD_SECONDS = 5
MYSQL_WAIT_SECONDS = 300
"""How long the app's init container waits for MySQL before it fails (Kubernetes then restarts it with back-off;
Orca's WaitForManifestStableTask gives the deploy stage 30 minutes)."""


def pull_secret(deployment: AppDeployment, cluster: Cluster) -> str:
    """The image pull Secret of `cluster` (its own, else the environment's)."""
    return cluster.image_pull_secret or deployment.environment.image_pull_secret


@dataclass(frozen=True)
class Bundle:
    """The rendered manifests of one app on the clusters of one environment that share its settings (namespace
    apart)."""

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


def bundle_key(app: App, deployment: AppDeployment, target: Target) -> tuple[object, ...]:
    """Clusters whose manifests are the same (apart from the namespace, which each stage sets) share one rendered
    bundle: same settings after every override layer, same Ingress and same pull Secret."""
    ingress = _ingress(app, deployment, target)
    return (
        target.settings,
        tuple(sorted(ingress.items())) if ingress else None,
        pull_secret(deployment, target.cluster),
    )


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
            "wait_seconds": MYSQL_WAIT_SECONDS,
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
        "pod_annotations": {},
        "image_pull_secrets": [{"name": pull_secret(deployment, target.cluster)}],
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


def _ensure_pull_secrets(manifest: dict[str, Any], secrets: list[dict[str, str]]) -> None:
    """Every pod template names the pull Secret: a template written before shiplane rendered imagePullSecrets (a
    team's `--templates` override) gets it here, so it keeps rendering and its pods can pull from Harbor. A
    template that sets its own imagePullSecrets keeps them. (The rendered data is fresh: safe to change.)"""
    for _, spec in pod_specs(manifest):
        if not spec.get("imagePullSecrets"):
            spec["imagePullSecrets"] = [dict(secret) for secret in secrets]


def bundle(fleet: Fleet, app: App, deployment: AppDeployment, target: Target, templates: TemplateSet) -> Bundle:
    """The manifests of `app` on `target`'s cluster (shared by every cluster with the same `bundle_key`)."""
    what = f"app {app.name}, environment {deployment.environment.name}"
    context = _template_context(fleet, app, deployment, target)
    app_manifests = _manifests(templates, APP_TEMPLATE, context, what)
    mysql_manifests = None
    if context["mysql"] is not None:
        mysql_manifests = _manifests(templates, MYSQL_TEMPLATE, context, what)
    for manifest in app_manifests + (mysql_manifests or []):
        _ensure_pull_secrets(manifest, context["image_pull_secrets"])
    replica_sets = [m["metadata"].get("name") for m in app_manifests if m.get("kind") == "ReplicaSet"]
    if len(replica_sets) != 1 or not isinstance(replica_sets[0], str):
        raise ShiplaneError(f"template {APP_TEMPLATE} ({what}): must render exactly one ReplicaSet with a name "
                            f"(red/black deploys ReplicaSets); it renders {len(replica_sets)}")
    services = [f"service {m['metadata'].get('name')}" for m in app_manifests if m.get("kind") == "Service"]
    return Bundle(app_manifests, mysql_manifests, replica_sets[0], services)


def bundles(fleet: Fleet, app: App, deployment: AppDeployment, templates: TemplateSet) -> dict[str, Bundle]:
    """The rendered manifests of every cluster of `deployment`, by cluster name (rendered once per distinct
    `bundle_key`: clusters with the same settings share one Bundle object)."""
    shared: dict[tuple[object, ...], Bundle] = {}
    found: dict[str, Bundle] = {}
    for target in deployment.targets:
        key = bundle_key(app, deployment, target)
        if key not in shared:
            shared[key] = bundle(fleet, app, deployment, target, templates)
        found[target.cluster.name] = shared[key]
    return found

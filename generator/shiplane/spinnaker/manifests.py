"""The Kubernetes manifests of one app in one environment, rendered from the Jinja2 templates.

`spinnaker/app.yml.j2` (the ReplicaSet and its Service) and `spinnaker/mysql.yml.j2` (the database) are rendered
once per app, environment and image pull Secret (clusters of an environment normally share one Secret name, so
normally once per app and environment). The manifests carry no namespace: every stage sets its cluster's namespace
with `namespaceOverride` (see `shiplane.spinnaker.manifestartifact`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shiplane.errors import ShiplaneError
from shiplane.model import App, AppDeployment, Cluster, Fleet, Resources
from shiplane.spinnaker.podrules import bindable_image, pod_specs
from shiplane.templates import TemplateSet

APP_TEMPLATE = "spinnaker/app.yml.j2"
MYSQL_TEMPLATE = "spinnaker/mysql.yml.j2"

SERVICE_SELECTOR_KEY = "shiplane.dev/service"
"""The label the app's Service selects. Spinnaker adds it to the pods of the enabled ReplicaSet version and
removes it to disable one; it is never part of the pod template labels or the ReplicaSet selector."""
MYSQL_PORT = 3306
DATA_MOUNT = "/data"
MYSQL_WAIT_SECONDS = 300
"""How long the app's init container waits for MySQL before it fails (Kubernetes then restarts it with back-off;
Orca's WaitForManifestStableTask gives the deploy stage 30 minutes)."""


def pull_secret(deployment: AppDeployment, cluster: Cluster) -> str:
    """The image pull Secret of `cluster` (its own, else the environment's)."""
    return cluster.image_pull_secret or deployment.environment.image_pull_secret


@dataclass(frozen=True)
class Bundle:
    """The rendered manifests of one app in one environment (cluster-independent)."""

    app_manifests: list[dict[str, Any]]
    mysql_manifests: list[dict[str, Any]] | None
    replica_set: str
    services: list[str]


def _template_context(fleet: Fleet, app: App, deployment: AppDeployment, pull_secret_name: str) -> dict[str, Any]:
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
        "pod_annotations": {},
        "image_pull_secrets": [{"name": pull_secret_name}],
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


def _ensure_pull_secrets(manifest: dict[str, Any], secrets: list[dict[str, str]]) -> None:
    """Every pod template names the pull Secret: a template written before shiplane rendered imagePullSecrets (a
    team's `--templates` override) gets it here, so it keeps rendering and its pods can pull from Harbor. A
    template that sets its own imagePullSecrets keeps them. (The rendered data is fresh: safe to change.)"""
    for _, spec in pod_specs(manifest):
        if not spec.get("imagePullSecrets"):
            spec["imagePullSecrets"] = [dict(secret) for secret in secrets]


def bundle(fleet: Fleet, app: App, deployment: AppDeployment, templates: TemplateSet, secret: str) -> Bundle:
    what = f"app {app.name}, environment {deployment.environment.name}"
    context = _template_context(fleet, app, deployment, secret)
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

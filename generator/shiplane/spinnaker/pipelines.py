"""Spinnaker documents of an app: its application, and per environment a deploy, a rollback and (with MySQL) a
database pipeline.

Small pipelines. Each environment's manifests are rendered once per distinct set of cluster settings
(`shiplane.spinnaker.manifests`: clusters with the same settings after the override layers and the same pull Secret
share a rendering) and each distinct rendering is shipped once per pipeline as an `embedded/base64` expected
artifact with a default (`shiplane.spinnaker.manifestartifact`); every cluster's `deployManifest` stage has
`source: artifact`, its rendering's artifact id, the cluster's account and `namespaceOverride`, and nothing else
that grows with the manifests. A stage is ~1 KB whatever the templates hold,
so the prod pipeline of an app at 90 clusters stays ~100 KB (benchmarks/spinnaker_scale.py). Chosen over a parent
pipeline calling a per-cluster child pipeline (orca `PipelineStage`): a child needs the account and namespace as
parameters, which `deployManifest` reads only through SpEL in `account`, and each child execution is a separate
execution that Orca loads, stores and polls (orca `WaitForRequisiteCompletionTask`/`MonitorPipelineTask`), i.e. 90
executions per release instead of one; the artifact keeps one execution and one stage per cluster.

Stage graph of a deploy pipeline (refIds derive from cluster names, so adding a cluster changes no other stage):

    wave 1:  deploy-<c>             for every cluster c of the wave, in parallel
             approve-wave-2         (manual judgment, when judgment_between_waves; else a `wait` of 0 s named
                                    wave-2 when wave 1 has several clusters): waits for every deploy of wave 1
    wave 2:  deploy-<c>             each waits for approve-wave-2 (or wave-2)
    ...

Every `deploy-<c>` is red/black (`bluegreen` from Spinnaker 1.30 on); a semver environment with
`lower_releases: skip` starts with the lower-release guard (`shiplane.spinnaker.lowerrelease`). The database is NOT
in it: the deploy pipeline runs on every image, and re-applying a StatefulSet there would fail every release after a
storage change (volumeClaimTemplates are immutable) and restart the database mid-release. `mysql-<env>` provisions
it, per cluster, when run by hand (after a change of the environment's mysql settings); the app's init container
waits for it on a first deploy. The rollback pipeline re-enables the previous ReplicaSet and then disables the
newest one in every cluster (in parallel).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shiplane.documents import Document
from shiplane.errors import ShiplaneError
from shiplane.model import App, AppDeployment, Cluster, Fleet, Notifications
from shiplane.spinnaker import accounts, concoursetrigger, lowerrelease
from shiplane.spinnaker.manifestartifact import EMBEDDED_ACCOUNT, EMBEDDED_TYPE, encode
from shiplane.spinnaker.manifests import APP_TEMPLATE, MYSQL_TEMPLATE, Bundle, bundles, pull_secret
from shiplane.spinnaker.triggers import image_artifact_id, image_trigger, tag_policy
from shiplane.templates import TemplateSet

APPLICATION_TEMPLATE = "spinnaker/application.yml.j2"

__all__ = ["app_documents", "fleet_documents", "image_artifact_id", "notifications", "tag_policy"]


def _names(clusters: tuple[Cluster, ...], limit: int = 10) -> str:
    names = [cluster.name for cluster in clusters]
    if len(names) > limit:
        return ", ".join(names[:limit]) + f" and {len(names) - limit} more"
    return ", ".join(names)


Pick = Callable[[Bundle], list[dict[str, Any]] | None]
"""Which manifests of a Bundle an artifact carries (the app's or MySQL's)."""


class _Variants:
    """The rendered manifests of one app and environment per cluster (`manifests.bundles`), and one manifest
    artifact per distinct rendering.

    Clusters whose manifests are the same share an artifact. Its id is `<app>-<what>-<env>`, suffixed with the pull
    Secret's name when that is not the environment's, and, when clusters with the same Secret have different
    renderings (label or cluster overrides), every rendering but the one most clusters use is further suffixed
    with the name of its first cluster in rollout order (ties: the rendering of the earlier cluster keeps the plain
    id). So adding a cluster, with the common settings or with its own, normally leaves the existing artifacts as
    they are."""

    def __init__(self, fleet: Fleet, app: App, deployment: AppDeployment, templates: TemplateSet) -> None:
        self.deployment = deployment
        self.app = app
        self.bundles: dict[str, Bundle] = bundles(fleet, app, deployment, templates)
        self.targets = {target.cluster.name: target for target in deployment.targets}
        self.first = self.bundles[deployment.clusters[0].name]
        self._ids: dict[tuple[str, str], str] = {}
        self._expected: dict[str, list[dict[str, Any]]] = {}
        self._plan("manifests", lambda b: b.app_manifests)
        self._plan("mysql", lambda b: b.mysql_manifests)

    def _plan(self, what: str, pick: Pick) -> None:
        deployment = self.deployment
        environment = deployment.environment
        base = f"{self.app.name}-{what}-{environment.name}"
        # (pull Secret, the artifact's reference) -> its clusters in rollout order
        groups: dict[tuple[str, str], list[Cluster]] = {}
        encoded: dict[int, str] = {}
        for cluster in deployment.clusters:
            manifests = pick(self.bundles[cluster.name])
            if manifests is None:
                continue
            reference = encoded.get(id(manifests))
            if reference is None:
                reference = encoded[id(manifests)] = encode(manifests)
            key = (pull_secret(deployment, cluster), reference)
            groups.setdefault(key, []).append(cluster)
        by_secret: dict[str, list[tuple[str, str]]] = {}
        for key in groups:
            by_secret.setdefault(key[0], []).append(key)
        named: list[tuple[str, str, tuple[str, str]]] = []
        for secret, keys in by_secret.items():
            prefix = base if secret == environment.image_pull_secret else f"{base}-{secret}"
            main = max(keys, key=lambda k: len(groups[k]))  # the first of the largest groups (max keeps the first)
            for key in keys:
                artifact_id = prefix if key == main else f"{prefix}-{groups[key][0].name}"
                named.append((secret, artifact_id, key))
                for cluster in groups[key]:
                    self._ids[(what, cluster.name)] = artifact_id
        expected = []
        for secret, artifact_id, key in sorted(named):
            expected.append({
                "defaultArtifact": {"artifactAccount": EMBEDDED_ACCOUNT, "name": artifact_id, "reference": key[1],
                                    "type": EMBEDDED_TYPE},
                "displayName": f"{self.app.name} {what} ({environment.name}, pull Secret {secret})",
                "id": artifact_id,
                "matchArtifact": {"name": artifact_id, "type": EMBEDDED_TYPE},
                "useDefaultArtifact": True,
                "usePriorArtifact": False,
            })
        self._expected[what] = expected

    def artifact_id(self, what: str, cluster: Cluster) -> str:
        return self._ids[(what, cluster.name)]

    def expected(self, what: str) -> list[dict[str, Any]]:
        return self._expected[what]

    def namespace(self, cluster: Cluster) -> str:
        return self.targets[cluster.name].namespace


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


def _manifest_stage(cluster: Cluster, artifact_id: str, namespace: str, moniker: dict[str, Any],
                    **fields: Any) -> dict[str, Any]:
    return {
        "account": cluster.account,
        "cloudProvider": "kubernetes",
        "manifestArtifactAccount": EMBEDDED_ACCOUNT,
        "manifestArtifactId": artifact_id,
        "moniker": moniker,
        "namespaceOverride": namespace,
        "skipExpressionEvaluation": False,
        "source": "artifact",
        "type": "deployManifest",
        **fields,
    }


StageFor = Callable[[Cluster, list[str]], dict[str, Any]]
"""Builds one cluster's stage given the refIds it waits for."""


def _waves(deployment: AppDeployment, app: App, stage_for: StageFor, *, judgment: bool) -> list[dict[str, Any]]:
    """Stages wave by wave: every cluster of a wave in parallel, each wave after the previous one (and after a
    manual judgment when `judgment`)."""
    environment = deployment.environment
    stages: list[dict[str, Any]] = []
    previous: list[str] = []
    previous_wave: tuple[Cluster, ...] = ()
    for wave, clusters in deployment.waves:
        if previous and judgment:
            ref = f"approve-wave-{wave}"
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
                "refId": ref,
                "requisiteStageRefIds": previous,
                "type": "manualJudgment",
            })
            previous = [ref]
        elif previous and len(previous) > 1:
            # One stage waits for the whole previous wave, so that each stage of this wave names one requisite
            # (without it, a wave of n clusters after a wave of m lists n x m refIds).
            ref = f"wave-{wave}"
            stages.append({
                "name": f"Wave {wave}",
                "refId": ref,
                "requisiteStageRefIds": previous,
                "type": "wait",
                "waitTime": 0,
            })
            previous = [ref]
        stages.extend(stage_for(cluster, previous) for cluster in clusters)
        previous = [stage["refId"] for stage in stages[-len(clusters):]]
        previous_wave = clusters
    return stages


def _pipeline(app: App, name: str, description: str, artifacts: list[dict[str, Any]], stages: list[dict[str, Any]],
              *, triggers: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "application": app.name,
        "description": description,
        "expectedArtifacts": artifacts,
        "keepWaitingPipelines": False,
        "limitConcurrent": True,
        "name": name,
        "notifications": notifications(app.notifications),
        "parameterConfig": [],
        "spelEvaluator": "v4",
        "stages": stages,
        "triggers": triggers,
    }


def deploy_pipeline(fleet: Fleet, app: App, deployment: AppDeployment, variants: _Variants) -> dict[str, Any]:
    environment = deployment.environment
    trigger = image_trigger(fleet, app, deployment)
    image_id = trigger.expected_artifact["id"]
    # Shared by every stage (the linter recognises per-cluster copies of a stage by the identity of such parts).
    moniker = {"app": app.name}
    required = [image_id]
    strategy = fleet.spinnaker.traffic_strategy

    def stage(cluster: Cluster, requisites: list[str]) -> dict[str, Any]:
        namespace = variants.namespace(cluster)
        return _manifest_stage(
            cluster,
            variants.artifact_id("manifests", cluster),
            namespace,
            moniker,
            name=f"Deploy {cluster.name}",
            refId=f"deploy-{cluster.name}",
            requiredArtifactIds=required,
            requisiteStageRefIds=requisites,
            trafficManagement={
                "enabled": True,
                "options": {
                    "enableTraffic": True,
                    "namespace": namespace,
                    "services": variants.bundles[cluster.name].services,
                    "strategy": strategy,
                },
            },
        )

    stages = _waves(deployment, app, stage, judgment=environment.judgment_between_waves)
    waves = len(deployment.waves)
    description = (
        f"Deploys {app.name} to {environment.name} ({len(deployment.clusters)} cluster(s) in {waves} wave(s)) "
        f"{trigger.describe}; red/black. Generated by shiplane from the fleet config: change the config, not this "
        f"pipeline."
    )
    artifacts = [trigger.expected_artifact, *variants.expected("manifests")]
    pipeline = _pipeline(app, f"deploy-{environment.name}", description, artifacts, stages, triggers=trigger.triggers)
    return lowerrelease.guard(pipeline, app, deployment)


def mysql_pipeline(app: App, deployment: AppDeployment, variants: _Variants) -> dict[str, Any]:
    """Provisions the app's MySQL (StatefulSet + headless Service) in every cluster of the environment; run by hand
    (no trigger), wave after wave without judgments."""
    environment = deployment.environment
    moniker = {"app": app.name}

    def stage(cluster: Cluster, requisites: list[str]) -> dict[str, Any]:
        return _manifest_stage(
            cluster,
            variants.artifact_id("mysql", cluster),
            variants.namespace(cluster),
            moniker,
            name=f"MySQL {cluster.name}",
            refId=f"mysql-{cluster.name}",
            requisiteStageRefIds=requisites,
        )

    description = (
        f"Provisions {app.name}'s MySQL (StatefulSet with its volume claim, headless Service) in every cluster of "
        f"{environment.name}. Run it by hand before the first deploy and after a change of the environment's mysql "
        f"settings; releases never touch the database. Generated by shiplane from the fleet config."
    )
    artifacts = variants.expected("mysql")
    stages = _waves(deployment, app, stage, judgment=False)
    return _pipeline(app, f"mysql-{environment.name}", description, artifacts, stages, triggers=[])


def rollback_pipeline(app: App, deployment: AppDeployment, variants: _Variants) -> dict[str, Any]:
    environment = deployment.environment
    stages: list[dict[str, Any]] = []
    for cluster in deployment.clusters:
        cluster_name = f"replicaSet {variants.bundles[cluster.name].replica_set}"
        target = {
            "account": cluster.account,
            "app": app.name,
            "cloudProvider": "kubernetes",
            "cluster": cluster_name,
            "kind": "replicaSet",
            "location": variants.namespace(cluster),
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
    description = (
        f"Rolls {app.name} in {environment.name} back to the previous version: in every cluster, re-enables the "
        f"second newest ReplicaSet (kept running by red/black, with its own immutable image) and then disables the "
        f"newest. Run it by hand. Generated by shiplane from the fleet config."
    )
    return _pipeline(app, f"rollback-{environment.name}", description, [], stages, triggers=[])


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
        variants = _Variants(fleet, app, deployment, templates)
        environment = deployment.environment.name
        where = f"(app {app.name}, environment {environment})"
        documents.append(Document(
            path=f"spinnaker/{app.name}/deploy-{environment}.json",
            kind="spinnaker-pipeline",
            content=concoursetrigger.apply(fleet, deployment, deploy_pipeline(fleet, app, deployment, variants)),
            origin=f"template {APP_TEMPLATE} {where}",
            app=app.name,
        ))
        if variants.first.mysql_manifests is not None:
            documents.append(Document(
                path=f"spinnaker/{app.name}/mysql-{environment}.json",
                kind="spinnaker-pipeline",
                content=mysql_pipeline(app, deployment, variants),
                origin=f"template {MYSQL_TEMPLATE} {where}",
                app=app.name,
            ))
        documents.append(Document(
            path=f"spinnaker/{app.name}/rollback-{environment}.json",
            kind="spinnaker-pipeline",
            content=rollback_pipeline(app, deployment, variants),
            origin=f"template {APP_TEMPLATE} {where}",
            app=app.name,
        ))
    return documents


def fleet_documents(fleet: Fleet) -> list[Document]:
    return accounts.fleet_documents(fleet)

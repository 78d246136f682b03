"""The typed fleet model: what every renderer receives.

Built once by :func:`shiplane.config.load` from a validated config with every default filled in, every per-app
override merged and every cross-reference resolved. Renderers read it and never re-derive config rules: an
:class:`AppDeployment` already holds the clusters (in rollout order) of one app in one environment and, per cluster,
a :class:`Target` with the effective namespace, replicas, env, resources and labels after every override layer
(`shiplane.config.layers`). Teams resolve to each app's Harbor project, Concourse team, namespace and notifications.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

Pairs = tuple[tuple[str, str], ...]
"""An ordered, immutable mapping (sorted by key) such as environment variables or labels."""


@dataclass(frozen=True, slots=True)
class Image:
    repository: str
    tag: str
    private: bool = False
    """Pulling needs credentials (Concourse task and resource type images: the Harbor ((vars)))."""

    @property
    def ref(self) -> str:
        return f"{self.repository}:{self.tag}"


@dataclass(frozen=True, slots=True)
class ScanPolicy:
    """The harbor-image scan gate, exactly as the resource's `source.scan` reads it."""

    fail_on: str
    allowlist: tuple[str, ...]
    ignore_unfixed: bool
    trigger: bool
    timeout: str
    enabled: bool

    def as_source(self) -> dict[str, object]:
        return {
            "fail_on": self.fail_on,
            "allowlist": list(self.allowlist),
            "ignore_unfixed": self.ignore_unfixed,
            "trigger": self.trigger,
            "timeout": self.timeout,
            "enabled": self.enabled,
        }


@dataclass(frozen=True, slots=True)
class Harbor:
    url: str
    """Base URL without a trailing slash, e.g. https://harbor.example.com."""
    registry: str
    """The registry host[:port] images are named with, e.g. harbor.example.com."""
    project: str | None
    """The default team's project (apps without a team); None when every app has a team."""
    insecure: bool
    ca_certs_var: str | None
    scan: ScanPolicy


@dataclass(frozen=True, slots=True)
class ConcourseVars:
    """Names of Concourse ((vars)); shiplane never sees their values."""

    git_private_key: str
    git_username: str
    git_password: str
    harbor_username: str
    harbor_password: str
    github_access_token: str
    slack_webhook_url: str
    """The Slack incoming-webhook URL teams' build notifications are posted with."""
    smtp_username: str
    smtp_password: str


@dataclass(frozen=True, slots=True)
class Smtp:
    """The SMTP server build e-mails go through (pivotal-cf/email-resource `source.smtp`)."""

    host: str
    port: int
    sender: str
    """The From address."""
    anonymous: bool


@dataclass(frozen=True, slots=True)
class ConfigRepo:
    uri: str
    branch: str
    private: bool
    path: str
    """The fleet config's path inside the repository."""
    templates: str | None
    """The directory of template overrides inside the repository (`render --templates`), if any."""


@dataclass(frozen=True, slots=True)
class Reconcile:
    """The meta pipeline's plan and apply jobs (`shiplane plan` / `shiplane apply --prune`)."""

    enabled: bool = False
    apply: Literal["automatic", "manual"] = "automatic"
    """manual: the apply job has no trigger; someone starts it after reading the plan."""
    targets: tuple[str, ...] = ("spinnaker", "harbor")
    spin_config_var: str = "spin-config"
    """((var)) holding the content of a spin config file (Gate endpoint and credentials)."""
    harbor_username_var: str = "harbor-admin-username"
    harbor_password_var: str = "harbor-admin-password"  # noqa: S105 - the name of a ((var)), not a secret


@dataclass(frozen=True, slots=True)
class MetaPipeline:
    instance_group: str
    """The instanced pipeline group the meta pipeline sets every app's pipeline in (`app/name:petclinic`)."""
    max_in_flight: int | Literal["all"]
    reconcile: Reconcile = Reconcile()


@dataclass(frozen=True, slots=True)
class Concourse:
    team: str
    check_every: str
    vars: ConcourseVars
    config_repo: ConfigRepo
    meta_pipeline: MetaPipeline
    maven_image: Image
    oci_build_image: Image
    harbor_image: Image
    gradle_image: Image
    slack_alert_image: Image
    email_image: Image
    external_url: str | None
    smtp: Smtp | None


@dataclass(frozen=True, slots=True)
class Spinnaker:
    version: tuple[int, int, int]
    docker_account: str
    kubernetes_version: str
    kubeconfig_dir: str
    cache_interval_seconds: int
    registry_username: str
    """The Harbor robot account clouddriver reads the registry with (a name, not a secret)."""
    registry_password_file: str
    """Path, inside the clouddriver container, of the file holding the robot account's secret."""
    registry_password_command: str | None
    """A command clouddriver runs to print the robot secret; used instead of the file when set."""
    registry_account_size: int = 100
    """The most repositories one clouddriver docker-registry account lists (accounts are split per Harbor project
    and into chunks of at most this many)."""
    cache_threads: int = 4
    """clouddriver `cacheThreads` of every docker-registry account."""
    igor_item_upper_threshold: int = 1000
    """igor `dockerRegistry.itemUpperThreshold`: the most new tags one poll of one account may bring."""

    @property
    def version_text(self) -> str:
        return ".".join(str(part) for part in self.version)

    @property
    def traffic_strategy(self) -> Literal["redblack", "bluegreen"]:
        """Spinnaker 1.30 renamed red/black to blue/green (same behaviour)."""
        return "bluegreen" if self.version >= (1, 30, 0) else "redblack"


@dataclass(frozen=True, slots=True)
class SemverPolicy:
    allow_v_prefix: bool
    pre_releases: bool
    lower_releases: Literal["skip", "deploy"]
    """What the environment does with a release lower than the highest one released: `skip` (no automatic
    rollback) or `deploy`."""


@dataclass(frozen=True, slots=True)
class Mysql:
    image: Image
    storage_size: str
    storage_class: str | None
    resources: Resources
    """Requests of the MySQL container (and its memory limit)."""
    secret_template: str
    """Name of the existing Secret (keys username, password, root-password); `{app}` is the app name."""


@dataclass(frozen=True, slots=True)
class Environment:
    name: str
    image_tag: Literal["latest", "semver"]
    semver: SemverPolicy
    replicas: int
    storage: Literal["ephemeral", "mysql"]
    env: Pairs
    judgment_between_waves: bool
    max_version_history: int
    mysql: Mysql
    image_pull_secret: str = "harbor-pull"  # noqa: S105 (the name of a Secret, not a secret)
    """The pull Secret every pod template names (`imagePullSecrets`); a cluster may override it."""


@dataclass(frozen=True, slots=True)
class Cluster:
    name: str
    environment: str | None
    role: Literal["deploy", "tooling"]
    account: str
    """The Spinnaker Kubernetes account that deploys to this cluster."""
    namespace: str
    wave: int
    context: str
    kubeconfig: str
    labels: Pairs
    env: Pairs
    """Environment variables every app gets on this cluster (e.g. REGION)."""
    image_pull_secret: str | None = None
    """Overrides the environment's image pull Secret name in this cluster."""


@dataclass(frozen=True, slots=True)
class GitSource:
    uri: str
    branch: str
    private: bool


@dataclass(frozen=True, slots=True)
class Releases:
    source: Literal["git-tags", "github-releases"]
    tag_regex: str
    """POSIX extended regex (git-resource's `tag_regex`) for git-tags releases."""
    github_owner: str | None
    github_repository: str | None
    branch: str | None
    """Release tags must be reachable from this branch; None: tags on any branch (maintenance branches too)."""


@dataclass(frozen=True, slots=True)
class Build:
    tool: Literal["maven", "gradle", "none"]
    goals: str
    """Maven goals or Gradle tasks ('' for tool none)."""
    dockerfile: str
    context: str
    test_command: str | None
    """A shell command run in the repository root instead of the tool's goals."""
    test_image: Image | None
    """The image of the test task (the tool's image unless set); None when nothing runs before the image build."""
    image_builder: Literal["dockerfile", "jib"]
    jib_version: str
    jib_from_image: str | None


@dataclass(frozen=True, slots=True)
class Notifications:
    """Where a team hears about failed builds (Concourse) and deploys (Spinnaker echo)."""

    slack_channel: str | None
    """Channel name without '#'."""
    email: tuple[str, ...]
    deploy_success: bool
    """Also notify when a deploy pipeline completes."""

    @property
    def enabled(self) -> bool:
        return self.slack_channel is not None or bool(self.email)


NO_NOTIFICATIONS = Notifications(slack_channel=None, email=(), deploy_success=False)


@dataclass(frozen=True, slots=True)
class Team:
    name: str
    owner_email: str
    concourse_team: str
    harbor_project: str
    namespace: str
    notifications: Notifications


@dataclass(frozen=True, slots=True)
class Probes:
    readiness_path: str
    liveness_path: str
    startup_seconds: int
    """How long the startup probe lets the app start before liveness applies."""


@dataclass(frozen=True, slots=True)
class Service:
    type: Literal["ClusterIP", "NodePort", "LoadBalancer"]
    port: int


@dataclass(frozen=True, slots=True)
class Ingress:
    host: str
    """May hold {app}, {cluster} and {environment}."""
    path: str
    class_name: str | None
    tls_secret: str | None


@dataclass(frozen=True, slots=True)
class Autoscaling:
    max_replicas: int
    cpu_utilization: int
    """Target average CPU utilisation in percent of the request."""


@dataclass(frozen=True, slots=True)
class EphemeralStorage:
    path: str
    size_limit: str | None


@dataclass(frozen=True, slots=True)
class Resources:
    cpu: str | None
    memory: str | None


@dataclass(frozen=True, slots=True)
class Database:
    name: str
    url_env: str
    username_env: str
    password_env: str
    url_format: str


class Target(NamedTuple):
    """One app on one cluster: the effective settings after every override layer (see `shiplane.config.layers`).

    A NamedTuple rather than a frozen dataclass: a fleet builds one per app, environment and cluster (100,000 for
    1,000 apps on 100 clusters), and tuples are several times cheaper to create."""

    cluster: Cluster
    namespace: str
    replicas: int
    env: Pairs
    resources: Resources
    labels: Pairs
    """Extra pod and object labels."""

    @property
    def settings(self) -> tuple[int, Pairs, Resources, Pairs]:
        """What the manifests depend on besides cluster and namespace (clusters sharing it share manifests)."""
        return (self.replicas, self.env, self.resources, self.labels)


@dataclass(frozen=True, slots=True)
class AppDeployment:
    """One app in one environment: the effective settings after overrides."""

    environment: Environment
    clusters: tuple[Cluster, ...]
    """The environment's deploy clusters, in rollout order (wave, then name)."""
    replicas: int
    env: Pairs
    """Environment env < app env < app override env, sorted by name."""
    resources: Resources
    mysql_secret: str
    """Resolved name of the MySQL Secret (only meaningful when storage is mysql)."""
    targets: tuple[Target, ...] = ()
    """Per cluster (same order as `clusters`): namespace and the settings after label and cluster overrides."""

    def target(self, cluster: Cluster) -> Target:
        """The target of `cluster` (linear: for many lookups build `{t.cluster.name: t for t in targets}`)."""
        for target in self.targets:
            if target.cluster.name == cluster.name:
                return target
        raise KeyError(cluster.name)

    @property
    def waves(self) -> tuple[tuple[int, tuple[Cluster, ...]], ...]:
        """Clusters grouped by wave, waves ascending."""
        grouped: dict[int, list[Cluster]] = {}
        for cluster in self.clusters:
            grouped.setdefault(cluster.wave, []).append(cluster)
        return tuple((wave, tuple(grouped[wave])) for wave in sorted(grouped))


@dataclass(frozen=True, slots=True)
class App:
    name: str
    git: GitSource
    releases: Releases
    build: Build
    repository: str
    """Full Harbor repository path: project/name[/more]."""
    harbor_project: str
    """The Harbor project the repository is in (the team's, else harbor.project)."""
    port: int
    health_path: str
    database: Database
    owner_email: str | None
    """The Spinnaker application's owner (app setting, else the team's, else spinnaker.owner_email)."""
    deployments: tuple[AppDeployment, ...]
    """One per environment the app runs in, in the order environments are defined."""
    team: str | None = None
    concourse_team: str = "main"
    """The Concourse team the app's pipeline is set in (the team's, else concourse.team)."""
    notifications: Notifications = NO_NOTIFICATIONS
    probes: Probes | None = None
    """Readiness/liveness paths (None: health_path for all)."""
    service: Service = Service(type="ClusterIP", port=80)
    ingress: Ingress | None = None
    autoscaling: Autoscaling | None = None
    ephemeral_storage: EphemeralStorage | None = None

    def image_name(self, harbor: Harbor) -> str:
        """The image name without tag, e.g. harbor.example.com/petclinic/petclinic."""
        return f"{harbor.registry}/{self.repository}"

    def deployment(self, environment: str) -> AppDeployment:
        for deployment in self.deployments:
            if deployment.environment.name == environment:
                return deployment
        raise KeyError(environment)


@dataclass(frozen=True, slots=True)
class Fleet:
    source: str
    """Path of the config file, as given on the command line."""
    harbor: Harbor
    concourse: Concourse
    spinnaker: Spinnaker
    environments: tuple[Environment, ...]
    """In the order the config defines them."""
    clusters: tuple[Cluster, ...]
    """Sorted by name."""
    apps: tuple[App, ...]
    """Sorted by name."""
    teams: tuple[Team, ...] = ()
    """Sorted by name."""
    concourse_deploy: ConcourseDeploy = field(default_factory=lambda: ConcourseDeploy())  # noqa: PLW0108 - below
    """Environments deployed by Concourse through the spinnaker-pipeline resource (default: none)."""

    def namespaces_by_cluster(self) -> dict[str, tuple[str, ...]]:
        """Cluster name → every namespace shiplane deploys to on it, sorted (the cluster's own when no app runs
        there). One pass over every app's targets: call it once, not per cluster."""
        used: dict[str, set[str]] = {cluster.name: set() for cluster in self.clusters}
        for app in self.apps:
            for deployment in app.deployments:
                for target in deployment.targets:
                    used[target.cluster.name].add(target.namespace)
        return {
            cluster.name: tuple(sorted(used[cluster.name])) or (cluster.namespace,) for cluster in self.clusters
        }

    def namespaces(self, cluster: Cluster) -> tuple[str, ...]:
        """Every namespace shiplane deploys to on `cluster` (see `namespaces_by_cluster`)."""
        return self.namespaces_by_cluster()[cluster.name]

    def repositories_by_project(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """(Harbor project, its apps' full repository paths sorted), projects sorted: one docker account each."""
        grouped: dict[str, set[str]] = {}
        for app in self.apps:
            grouped.setdefault(app.harbor_project, set()).add(app.repository)
        return tuple((project, tuple(sorted(grouped[project]))) for project in sorted(grouped))

    def app(self, name: str) -> App:
        for app in self.apps:
            if app.name == name:
                return app
        raise KeyError(name)

    def environment(self, name: str) -> Environment:
        for environment in self.environments:
            if environment.name == name:
                return environment
        raise KeyError(name)


@dataclass(frozen=True, slots=True)
class SmokeTest:
    """apps.<app>.smoke_test: a shell command run after each successful Concourse-triggered deploy."""

    command: str
    image: Image | None
    """The task image; None: concourse.images.maven."""


@dataclass(frozen=True, slots=True)
class ConcourseDeploy:
    """Deploys Concourse triggers through the spinnaker-pipeline resource (docs/spinnaker-pipeline.md).

    An environment listed in ``timeouts`` has ``concourse_deploy.enabled``: its app pipelines put the built digest
    to its Spinnaker deploy pipeline and wait up to the timeout; that Spinnaker pipeline has no docker trigger.
    """

    gate_url: str | None = None
    deck_url: str | None = None
    username_var: str = "spinnaker-username"
    password_var: str = "spinnaker-password"  # noqa: S105 - the name of a ((var)), not a secret
    image: Image = Image("ghcr.io/shiplane/spinnaker-pipeline", "0.1.0")
    timeouts: Pairs = ()
    """(environment, Go duration) for every environment that opted in, in config order."""
    smoke_tests: tuple[tuple[str, SmokeTest], ...] = ()

    def enabled(self, environment: str) -> bool:
        return any(name == environment for name, _ in self.timeouts)

    def timeout(self, environment: str) -> str:
        return dict(self.timeouts)[environment]

    def smoke_test(self, app: str) -> SmokeTest | None:
        return dict(self.smoke_tests).get(app)

"""Load a fleet config: YAML → JSON Schema (defaults filled) → cross-references → typed :class:`Fleet`.

`load(path)` is the only entry point; it raises :class:`ShiplaneError` listing every problem at once.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from shiplane.config import concoursedeploy, crossref, layers
from shiplane.config.schema import problems_by_path
from shiplane.config.yamlsource import load_yaml
from shiplane.errors import ShiplaneError
from shiplane.files import read_text
from shiplane.model import (
    NO_NOTIFICATIONS,
    App,
    AppDeployment,
    Autoscaling,
    Build,
    Cluster,
    Concourse,
    ConcourseVars,
    ConfigRepo,
    Database,
    Environment,
    EphemeralStorage,
    Fleet,
    GitSource,
    Harbor,
    Image,
    Ingress,
    MetaPipeline,
    Mysql,
    Notifications,
    Pairs,
    Probes,
    Reconcile,
    Releases,
    Resources,
    ScanPolicy,
    SemverPolicy,
    Service,
    Smtp,
    Spinnaker,
    Team,
)

__all__ = ["load", "load_text"]


def load(path: str) -> Fleet:
    """Read and validate the config file at `path`."""
    return load_text(read_text(path, missing_hint="give the path of a shiplane.yaml"), path)


def load_text(text: str, filename: str) -> Fleet:
    """Validate config `text` (named `filename` in messages) and build the fleet model."""
    config, source, problems = load_yaml(text, filename, names_only=True)
    if not isinstance(config, dict):
        raise ShiplaneError(f"{filename}: the config must be a mapping with version, harbor, concourse, ... keys")
    schema_problems = problems_by_path(config, source)
    # Every problem at once: the cross-references are checked even when the schema found problems, without
    # repeating a problem the schema already reported at the same place.
    reported = {path for path, _ in schema_problems}
    cross = [message for path, message in crossref.check(config, source, schema_valid=not schema_problems)
             if path not in reported]
    problems += [message for _, message in schema_problems] + cross
    if problems:
        raise ShiplaneError(dict.fromkeys(problems))
    return _fleet(config, filename)


def _pairs(mapping: dict[str, str]) -> Pairs:
    return tuple(sorted(mapping.items()))


def _image(raw: dict[str, Any]) -> Image:
    return Image(repository=raw["repository"], tag=raw["tag"], private=raw.get("private", False))


def _fleet(config: dict[str, Any], filename: str) -> Fleet:
    raw_harbor = config["harbor"]
    url = raw_harbor["url"].rstrip("/")
    scan = raw_harbor["scan"]
    harbor = Harbor(
        url=url,
        registry=urlsplit(url).netloc,
        project=raw_harbor.get("project"),
        insecure=raw_harbor["insecure"],
        ca_certs_var=raw_harbor["ca_certs_var"],
        scan=ScanPolicy(
            fail_on=scan["fail_on"],
            allowlist=tuple(scan["allowlist"]),
            ignore_unfixed=scan["ignore_unfixed"],
            trigger=scan["trigger"],
            timeout=scan["timeout"],
            enabled=scan["enabled"],
        ),
    )
    raw_concourse = config["concourse"]
    raw_vars = raw_concourse["vars"]
    repo = raw_concourse["config_repo"]
    images = raw_concourse["images"]
    concourse = Concourse(
        team=raw_concourse["team"],
        check_every=raw_concourse["check_every"],
        vars=ConcourseVars(
            git_private_key=raw_vars["git_private_key"],
            git_username=raw_vars["git_username"],
            git_password=raw_vars["git_password"],
            harbor_username=raw_vars["harbor_username"],
            harbor_password=raw_vars["harbor_password"],
            github_access_token=raw_vars["github_access_token"],
            slack_webhook_url=raw_vars["slack_webhook_url"],
            smtp_username=raw_vars["smtp_username"],
            smtp_password=raw_vars["smtp_password"],
        ),
        config_repo=ConfigRepo(
            uri=repo["uri"],
            branch=repo["branch"],
            private=repo["private"],
            path=repo["path"],
            templates=repo["templates"],
        ),
        meta_pipeline=MetaPipeline(
            instance_group=raw_concourse["meta_pipeline"]["instance_group"],
            max_in_flight=raw_concourse["meta_pipeline"]["max_in_flight"],
            reconcile=_reconcile(raw_concourse["meta_pipeline"]["reconcile"]),
        ),
        maven_image=_image(images["maven"]),
        oci_build_image=_image(images["oci_build"]),
        harbor_image=_image(images["harbor_image"]),
        gradle_image=_image(images["gradle"]),
        slack_alert_image=_image(images["slack_alert"]),
        email_image=_image(images["email"]),
        external_url=(raw_concourse["external_url"] or "").rstrip("/") or None,
        smtp=_smtp(raw_concourse["smtp"]),
    )
    raw_spinnaker = config["spinnaker"]
    version_parts = [int(part) for part in raw_spinnaker["version"].split(".")] + [0]
    spinnaker = Spinnaker(
        version=(version_parts[0], version_parts[1], version_parts[2]),
        docker_account=raw_spinnaker["docker_account"],
        kubernetes_version=raw_spinnaker["kubernetes_version"],
        kubeconfig_dir=raw_spinnaker["kubeconfig_dir"].rstrip("/") or "/",
        cache_interval_seconds=raw_spinnaker["cache_interval_seconds"],
        registry_username=raw_spinnaker["registry_username"]
        or (f"robot${harbor.project}+spinnaker" if harbor.project else "robot$spinnaker"),
        registry_password_file=raw_spinnaker["registry_password_file"],
        registry_password_command=raw_spinnaker["registry_password_command"],
        registry_account_size=raw_spinnaker["registry_account_size"],
        cache_threads=raw_spinnaker["cache_threads"],
        igor_item_upper_threshold=raw_spinnaker["igor_item_upper_threshold"],
    )
    environments = tuple(_environment(name, raw) for name, raw in config["environments"].items())
    clusters = tuple(
        sorted((_cluster(name, raw, spinnaker) for name, raw in config["clusters"].items()), key=lambda c: c.name)
    )
    teams = {name: _team(name, raw) for name, raw in sorted(config["teams"].items())}
    apps = tuple(
        sorted(
            (
                _app(
                    name,
                    raw,
                    harbor,
                    concourse,
                    environments,
                    clusters,
                    team=teams[raw["team"]] if "team" in raw else None,
                    owner_email=raw_spinnaker["owner_email"],
                )
                for name, raw in config["apps"].items()
            ),
            key=lambda a: a.name,
        )
    )
    return Fleet(
        source=filename,
        harbor=harbor,
        concourse=concourse,
        spinnaker=spinnaker,
        environments=environments,
        clusters=clusters,
        apps=apps,
        teams=tuple(teams.values()),
        concourse_deploy=concoursedeploy.load(config),
    )


def _smtp(raw: dict[str, Any] | None) -> Smtp | None:
    if raw is None:
        return None
    return Smtp(host=raw["host"], port=raw["port"], sender=raw["from"], anonymous=raw["anonymous"])


def _notifications(raw: dict[str, Any]) -> Notifications:
    channel = raw["slack_channel"]
    return Notifications(
        slack_channel=channel.lstrip("#") if channel else None,
        email=tuple(raw["email"]),
        deploy_success=raw["deploy_success"],
    )


def _team(name: str, raw: dict[str, Any]) -> Team:
    return Team(
        name=name,
        owner_email=raw["owner_email"],
        concourse_team=raw.get("concourse_team", name),
        harbor_project=raw.get("harbor_project", name),
        namespace=raw.get("namespace", name),
        notifications=_notifications(raw["notifications"]),
    )


def _environment(name: str, raw: dict[str, Any]) -> Environment:
    mysql = raw["mysql"]
    return Environment(
        name=name,
        image_tag=raw["image_tag"],
        semver=SemverPolicy(
            allow_v_prefix=raw["semver"]["allow_v_prefix"],
            pre_releases=raw["semver"]["pre_releases"],
            lower_releases=raw["semver"]["lower_releases"],
        ),
        replicas=raw["replicas"],
        storage=raw["storage"],
        env=_pairs(raw["env"]),
        judgment_between_waves=raw["judgment_between_waves"],
        max_version_history=raw["max_version_history"],
        mysql=Mysql(
            image=_image(mysql["image"]),
            storage_size=mysql["storage_size"],
            storage_class=mysql["storage_class"],
            resources=Resources(cpu=mysql["resources"].get("cpu"), memory=mysql["resources"].get("memory")),
            secret_template=mysql["secret"],
        ),
        image_pull_secret=raw["image_pull_secret"],
    )


def _cluster(name: str, raw: dict[str, Any], spinnaker: Spinnaker) -> Cluster:
    return Cluster(
        name=name,
        environment=raw["environment"],
        role=raw["role"],
        account=raw.get("account", name),
        namespace=raw["namespace"],
        wave=raw["wave"],
        context=raw.get("context", name),
        kubeconfig=raw.get("kubeconfig", f"{spinnaker.kubeconfig_dir}/{name}.yml"),
        labels=_pairs(raw["labels"]),
        env=_pairs(raw["env"]),
        image_pull_secret=raw["image_pull_secret"],
    )


def _app(  # noqa: PLR0917
    name: str,
    raw: dict[str, Any],
    harbor: Harbor,
    concourse: Concourse,
    environments: tuple[Environment, ...],
    clusters: tuple[Cluster, ...],
    *,
    team: Team | None,
    owner_email: str | None,
) -> App:
    chosen = set(raw.get("environments", [e.name for e in environments]))
    namespace = _namespace(raw, team)
    deployments = []
    for environment in environments:
        if environment.name not in chosen:
            continue
        override = raw["overrides"].get(environment.name, {})
        env = {**dict(environment.env), **raw["env"], **override.get("env", {})}
        resources = {**raw["resources"], **override.get("resources", {})}
        selector = raw["cluster_selector"].items()
        targets = sorted(
            (
                c
                for c in clusters
                if c.role == "deploy" and c.environment == environment.name and selector <= dict(c.labels).items()
            ),
            key=lambda c: (c.wave, c.name),
        )
        deployments.append(
            AppDeployment(
                environment=environment,
                clusters=tuple(targets),
                replicas=override.get("replicas", environment.replicas),
                env=_pairs(env),
                resources=Resources(cpu=resources.get("cpu"), memory=resources.get("memory")),
                mysql_secret=environment.mysql.secret_template.replace("{app}", name),
                targets=layers.targets(raw, environment, targets, namespace),
            )
        )
    releases = raw["releases"]
    github = releases.get("github", {})
    database = raw["database"]
    project = team.harbor_project if team is not None else harbor.project
    probes = raw["probes"]
    ingress = raw["ingress"]
    autoscaling = raw["autoscaling"]
    storage = raw["ephemeral_storage"]
    return App(
        name=name,
        git=GitSource(uri=raw["git"]["uri"], branch=raw["git"]["branch"], private=raw["git"]["private"]),
        releases=Releases(
            source=releases["from"],
            tag_regex=releases["tag_regex"],
            github_owner=github.get("owner"),
            github_repository=github.get("repository"),
            branch=releases["branch"],
        ),
        build=_build(raw["build"], concourse),
        repository=f"{project}/{raw.get('repository', name)}",
        harbor_project=str(project),
        port=raw["port"],
        health_path=raw["health_path"],
        database=Database(
            name=database.get("name", name.replace("-", "_")),
            url_env=database["url_env"],
            username_env=database["username_env"],
            password_env=database["password_env"],
            url_format=database["url_format"],
        ),
        deployments=tuple(deployments),
        owner_email=raw.get("owner_email", team.owner_email if team is not None else owner_email),
        team=team.name if team is not None else None,
        concourse_team=team.concourse_team if team is not None else concourse.team,
        notifications=team.notifications if team is not None else NO_NOTIFICATIONS,
        probes=Probes(
            readiness_path=probes.get("readiness_path", raw["health_path"]),
            liveness_path=probes.get("liveness_path", raw["health_path"]),
            startup_seconds=probes["startup_seconds"],
        ),
        service=Service(type=raw["service"]["type"], port=raw["service"]["port"]),
        ingress=Ingress(
            host=ingress["host"],
            path=ingress["path"],
            class_name=ingress["class_name"],
            tls_secret=ingress["tls_secret"],
        )
        if ingress is not None
        else None,
        autoscaling=Autoscaling(
            max_replicas=autoscaling["max_replicas"], cpu_utilization=autoscaling["cpu_utilization"]
        )
        if autoscaling is not None
        else None,
        ephemeral_storage=EphemeralStorage(path=storage["path"], size_limit=storage["size_limit"])
        if storage is not None
        else None,
    )


def _namespace(raw: dict[str, Any], team: Team | None) -> str | None:
    """The app's own namespace, else its team's; None: each cluster's namespace (apps without a team)."""
    if "namespace" in raw:
        return str(raw["namespace"])
    return team.namespace if team is not None else None


_DEFAULT_GOALS = {"maven": "verify", "gradle": "build", "none": ""}


def _build(raw: dict[str, Any], concourse: Concourse) -> Build:
    tool = raw["tool"]
    tool_image = {"maven": concourse.maven_image, "gradle": concourse.gradle_image}.get(tool)
    test_image = _image(raw["test_image"]) if "test_image" in raw else tool_image
    return Build(
        tool=tool,
        goals=raw.get("goals", _DEFAULT_GOALS[tool]),
        dockerfile=raw["dockerfile"],
        context=raw["context"],
        test_command=raw["test_command"],
        test_image=test_image if tool != "none" or raw["test_command"] is not None else None,
        image_builder=raw["image_builder"],
        jib_version=raw["jib"]["version"],
        jib_from_image=raw["jib"]["from_image"],
    )


def _reconcile(raw: dict[str, Any]) -> Reconcile:
    return Reconcile(
        enabled=raw["enabled"],
        apply=raw["apply"],
        targets=tuple(raw["targets"]),
        spin_config_var=raw["spin_config_var"],
        harbor_username_var=raw["harbor_username_var"],
        harbor_password_var=raw["harbor_password_var"],
    )

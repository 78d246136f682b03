"""Load a fleet config: YAML → JSON Schema (defaults filled) → cross-references → typed :class:`Fleet`.

`load(path)` is the only entry point; it raises :class:`ShiplaneError` listing every problem at once.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from shiplane.config import crossref
from shiplane.config.schema import validate_and_fill
from shiplane.config.yamlsource import load_yaml
from shiplane.errors import ShiplaneError
from shiplane.files import read_text
from shiplane.model import (
    App,
    AppDeployment,
    Build,
    Cluster,
    Concourse,
    ConcourseVars,
    ConfigRepo,
    Database,
    Environment,
    Fleet,
    GitSource,
    Harbor,
    Image,
    MetaPipeline,
    Mysql,
    Pairs,
    Releases,
    Resources,
    ScanPolicy,
    SemverPolicy,
    Spinnaker,
)

__all__ = ["load", "load_text"]


def load(path: str) -> Fleet:
    """Read and validate the config file at `path`."""
    return load_text(read_text(path, missing_hint="give the path of a shiplane.yaml"), path)


def load_text(text: str, filename: str) -> Fleet:
    """Validate config `text` (named `filename` in messages) and build the fleet model."""
    config, source, problems = load_yaml(text, filename)
    if not isinstance(config, dict):
        raise ShiplaneError(f"{filename}: the config must be a mapping with version, harbor, concourse, ... keys")
    problems += validate_and_fill(config, source)
    if problems:
        raise ShiplaneError(problems)
    problems = crossref.check(config, source)
    if problems:
        raise ShiplaneError(problems)
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
        project=raw_harbor["project"],
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
        ),
        maven_image=_image(images["maven"]),
        oci_build_image=_image(images["oci_build"]),
        harbor_image=_image(images["harbor_image"]),
    )
    raw_spinnaker = config["spinnaker"]
    version_parts = [int(part) for part in raw_spinnaker["version"].split(".")] + [0]
    spinnaker = Spinnaker(
        version=(version_parts[0], version_parts[1], version_parts[2]),
        docker_account=raw_spinnaker["docker_account"],
        kubernetes_version=raw_spinnaker["kubernetes_version"],
        kubeconfig_dir=raw_spinnaker["kubeconfig_dir"].rstrip("/") or "/",
        cache_interval_seconds=raw_spinnaker["cache_interval_seconds"],
        registry_username=raw_spinnaker["registry_username"] or f"robot${harbor.project}+spinnaker",
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
    apps = tuple(
        sorted(
            (
                _app(name, raw, harbor, environments, clusters, owner_email=raw_spinnaker["owner_email"])
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
    )


def _environment(name: str, raw: dict[str, Any]) -> Environment:
    mysql = raw["mysql"]
    return Environment(
        name=name,
        image_tag=raw["image_tag"],
        semver=SemverPolicy(
            allow_v_prefix=raw["semver"]["allow_v_prefix"], pre_releases=raw["semver"]["pre_releases"]
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
        image_pull_secret=raw["image_pull_secret"],
    )


def _app(
    name: str,
    raw: dict[str, Any],
    harbor: Harbor,
    environments: tuple[Environment, ...],
    clusters: tuple[Cluster, ...],
    *,
    owner_email: str | None,
) -> App:
    chosen = set(raw.get("environments", [e.name for e in environments]))
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
            )
        )
    releases = raw["releases"]
    github = releases.get("github", {})
    build = raw["build"]
    database = raw["database"]
    return App(
        name=name,
        git=GitSource(uri=raw["git"]["uri"], branch=raw["git"]["branch"], private=raw["git"]["private"]),
        releases=Releases(
            source=releases["from"],
            tag_regex=releases["tag_regex"],
            github_owner=github.get("owner"),
            github_repository=github.get("repository"),
        ),
        build=Build(tool=build["tool"], goals=build["goals"], dockerfile=build["dockerfile"], context=build["context"]),
        repository=f"{harbor.project}/{raw.get('repository', name)}",
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
        owner_email=raw.get("owner_email", owner_email),
    )

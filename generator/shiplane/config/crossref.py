"""Rules the JSON Schema cannot express: references between sections, uniqueness, and hostile strings.

Runs on the schema-valid, defaults-filled config. Every rule returns messages naming the exact path and the fix;
all problems are reported at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from shiplane.concourse.goport import parse_duration
from shiplane.config.yamlsource import SourceMap, walk_strings

# git-resource matches tag_regex with `grep -Ex`: POSIX extended regular expressions, not Perl/Python ones.
_PERL_ONLY = (
    (re.compile(r"\\d"), r"\d", "[0-9]"),
    (re.compile(r"\\w"), r"\w", "[A-Za-z0-9_]"),
    (re.compile(r"\\s"), r"\s", "[[:space:]]"),
    (re.compile(r"\(\?"), "(?", "plain groups ( )"),
    (re.compile(r"[*+?}]\?"), "lazy quantifiers such as *?", "greedy quantifiers"),
)


Problem = tuple[tuple[str | int, ...], str]


def check(config: dict[str, Any], source: SourceMap, *, schema_valid: bool = True) -> list[Problem]:
    """All cross-reference problems of a config, in file order, as (path, message).

    On a config the schema refused (`schema_valid=False`), a rule that trips over a malformed part stops there
    and keeps what it found so far: the schema's messages cover that part, and the user still sees every other
    problem in the same run.
    """
    found: list[Problem] = []
    for rule in (
        _hostile_strings, _clusters, _apps, _git_access, _spinnaker_names, _file_names,
        _teams, _builds, _cluster_overrides, _kubernetes_objects, _durations,
    ):
        try:
            for problem in rule(config):
                found.append(problem)
        except (KeyError, TypeError, AttributeError, IndexError, ValueError):
            if schema_valid:
                raise
    ordered = sorted(found, key=lambda item: source.line(item[0]) or 0)
    return [(path, f"{source.where(path)}: {text}") for path, text in ordered]


# The waits the resources accept (harbor_image.wire MAX_SCAN_TIMEOUT, spinnaker_pipeline.wire MAX_WAIT_SECONDS): a
# longer one renders a pipeline whose every check (scan) or deploy put (concourse_deploy) fails on it.
_HOUR_NS = 3600 * 10**9
_SCAN_TIMEOUT_MAX = 24 * _HOUR_NS
_DEPLOY_TIMEOUT_MAX = 168 * _HOUR_NS


def _durations(config: dict[str, Any]) -> Iterator[Problem]:
    path: tuple[str | int, ...] = ("harbor", "scan", "timeout")
    scan_timeout = parse_duration(config["harbor"]["scan"]["timeout"])
    if scan_timeout is not None and not 0 < scan_timeout <= _SCAN_TIMEOUT_MAX:
        yield path, (
            "must be more than 0 and at most 24h (the harbor-image resource refuses a longer scan.timeout, so "
            "every check would fail); a scan that has not finished in a day is stuck"
        )
    for name, environment in config["environments"].items():
        deploy = environment.get("concourse_deploy", {})
        timeout = parse_duration(deploy.get("timeout", "30m"))
        if deploy.get("enabled") and timeout is not None and not 0 < timeout <= _DEPLOY_TIMEOUT_MAX:
            yield ("environments", name, "concourse_deploy", "timeout"), (
                "must be more than 0 and at most 168h (the spinnaker-pipeline resource refuses a longer "
                "params.timeout, so every deploy put would fail)"
            )


def _names(mapping: dict[str, Any]) -> str:
    return ", ".join(mapping) if mapping else "(none)"


def _hostile_strings(config: dict[str, Any]) -> Iterator[Problem]:
    for path, text, _ in walk_strings(config):
        if "((" in text:
            yield path, (
                "contains '((' which Concourse would read as a ((var)) reference; remove it (secrets are named "
                "under concourse.vars and shiplane writes the references itself)"
            )
        if "${" in text:
            yield path, (
                "contains '${' which Spinnaker would evaluate as a SpEL expression; remove it (shiplane inserts "
                "the expressions it needs itself)"
            )


def _clusters(config: dict[str, Any]) -> Iterator[Problem]:
    environments: dict[str, Any] = config["environments"]
    clusters: dict[str, Any] = config["clusters"]
    docker_account = config["spinnaker"]["docker_account"]
    accounts: dict[str, str] = {}
    in_use: set[str] = set()
    for name, cluster in clusters.items():
        path = ("clusters", name)
        environment = cluster["environment"]
        if cluster["role"] == "tooling":
            if environment is not None:
                yield (*path, "environment"), (
                    "a tooling cluster runs the delivery tools and is not a deploy target; remove environment or "
                    "set role: deploy"
                )
        elif environment is None:
            yield path, (
                f"is in no environment; set environment: to one of {_names(environments)} (or role: tooling "
                f"for a cluster that only runs Concourse, Harbor and Spinnaker)"
            )
        elif environment not in environments:
            yield (*path, "environment"), (
                f"'{environment}' is not an environment; defined: {_names(environments)}"
            )
        else:
            in_use.add(environment)
        account = cluster.get("account", name)
        if account == docker_account:
            yield (*path, "account"), (
                f"'{account}' is also spinnaker.docker_account; Spinnaker account names must be unique, rename one"
            )
        if account in accounts:
            yield (*path, "account"), (
                f"Spinnaker account '{account}' is already used by clusters.{accounts[account]}; every cluster "
                f"needs its own account"
            )
        accounts.setdefault(account, name)
    for name in environments:
        if name not in in_use:
            yield ("environments", name), (
                f"no deploy cluster is in this environment; add a cluster with environment: {name} or remove "
                f"the environment"
            )


def _apps(config: dict[str, Any]) -> Iterator[Problem]:
    environments: dict[str, Any] = config["environments"]
    clusters: dict[str, Any] = config["clusters"]
    teams: dict[str, Any] = config["teams"]
    repositories: dict[str, str] = {}
    for name, app in config["apps"].items():
        path = ("apps", name)
        chosen = app.get("environments", list(environments))
        for index, environment in enumerate(chosen):
            if environment not in environments:
                yield (*path, "environments", index), (
                    f"'{environment}' is not an environment; defined: {_names(environments)}"
                )
        for environment in app["overrides"]:
            if environment not in chosen:
                runs_in = ", ".join(e for e in chosen if e in environments) or "(none)"
                yield (*path, "overrides", environment), (
                    f"'{environment}' is not an environment of this app; it runs in: {runs_in}"
                )
        selector = app["cluster_selector"].items()
        for environment in chosen:
            matching = [
                cluster
                for cluster_name, cluster in clusters.items()
                if cluster["environment"] == environment and selector <= cluster["labels"].items()
            ]
            if environment in environments and not matching:
                yield (*path, "cluster_selector"), (
                    f"no cluster of environment '{environment}' has the labels {dict(selector)}; fix the "
                    f"selector or label a cluster"
                )
        team = teams.get(app.get("team", ""))
        project = team.get("harbor_project", app["team"]) if team is not None else config["harbor"].get("project")
        repository = f"{project}/{app.get('repository', name)}"
        if repository in repositories:
            yield (*path, "repository"), (
                f"Harbor repository '{repository}' is already used by apps.{repositories[repository]}; give "
                f"each app its own repository"
            )
        repositories.setdefault(repository, name)
        releases = app["releases"]
        if releases["from"] == "github-releases" and "github" not in releases:
            yield (*path, "releases"), "from: github-releases needs github: {owner: ..., repository: ...}"
        if releases["from"] == "git-tags":
            yield from _tag_regex(releases["tag_regex"], (*path, "releases", "tag_regex"))


_SSH_URI = re.compile(r"^(ssh://|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:)")


def _git_access(config: dict[str, Any]) -> Iterator[Problem]:
    """How git-resource authenticates follows from the URI: ssh needs a key, https a username and password."""
    variables = config["concourse"]["vars"]
    repos: list[tuple[tuple[str | int, ...], dict[str, Any]]] = [
        (("concourse", "config_repo"), config["concourse"]["config_repo"]),
        *((("apps", name, "git"), app["git"]) for name, app in config["apps"].items()),
    ]
    for path, repo in repos:
        uri, private = repo["uri"], repo["private"]
        userinfo = uri.split("://", 1)[1].split("/", 1)[0].rpartition("@")[0] if "://" in uri else ""
        if ":" in userinfo:
            yield (*path, "uri"), (
                f"contains a password; remove the user:password@ part and set private: true (the pipeline then "
                f"reads them from the (({variables['git_username']})) and (({variables['git_password']})) vars)"
            )
        elif _SSH_URI.match(uri) and not private:
            yield (*path, "uri"), (
                f"an ssh URI needs a key; set private: true so that the pipeline passes the private key from the "
                f"(({variables['git_private_key']})) var (or use an https URI for a public repository)"
            )
        elif private and uri.startswith(("git://", "file://")):
            yield (*path, "private"), (
                f"{uri.split(':')[0]}:// has no authentication; use an ssh (git@host:org/repo.git) or https URI for a "
                f"private repository"
            )


def _tag_regex(regex: str, path: tuple[str | int, ...]) -> Iterator[Problem]:
    try:
        re.compile(regex)
    except re.error as exc:
        yield path, f"is not a valid regular expression ({exc}); fix it"
        return
    for pattern, construct, instead in _PERL_ONLY:
        if pattern.search(regex):
            yield path, (
                f"git-resource matches tags with grep -E (POSIX extended regex), which has no {construct}; "
                f"use {instead}"
            )


def _spinnaker_names(config: dict[str, Any]) -> Iterator[Problem]:
    """Names that Spinnaker or the generated Kubernetes manifests would reject or confuse."""
    environments: dict[str, Any] = config["environments"]
    apps: dict[str, Any] = config["apps"]
    for name, app in apps.items():
        path = ("apps", name)
        if not name[0].isalpha():
            yield path, (
                "Spinnaker's Kubernetes application names begin with a letter (deck and front50 refuse others); "
                "rename the app"
            )
        chosen = [e for e in app.get("environments", list(environments)) if e in environments]
        with_mysql = [e for e in chosen if environments[e]["storage"] == "mysql"]
        if with_mysql and f"{name}-mysql" in apps:
            yield ("apps", f"{name}-mysql"), (
                f"its Kubernetes objects would collide with the MySQL StatefulSet and Service of apps.{name} "
                f"(named {name}-mysql); rename one of the apps"
            )
        database = app["database"]
        wired = {database[key]: key for key in ("url_env", "username_env", "password_env")}
        if len(wired) < 3:
            yield (*path, "database"), "url_env, username_env and password_env must be three different names"
        for environment in with_mysql:
            sources: list[tuple[tuple[str | int, ...], dict[str, Any]]] = [
                (("environments", environment, "env"), environments[environment]["env"]),
                ((*path, "env"), app["env"]),
                ((*path, "overrides", environment, "env"), app["overrides"].get(environment, {}).get("env", {})),
                *(((*path, "label_overrides", index, "env"), entry.get("env", {}))
                  for index, entry in enumerate(app["label_overrides"])),
                *(((*path, "cluster_overrides", cluster, "env"), entry.get("env", {}))
                  for cluster, entry in app["cluster_overrides"].items()),
            ]
            for where, env in sources:
                for variable in env:
                    if variable in wired:
                        yield (*where, variable), (
                            f"is set by shiplane to wire apps.{name} to MySQL in environment {environment} "
                            f"(apps.{name}.database.{wired[variable]}); remove it here or give the database "
                            f"setting another name"
                        )


# Concourse's set_pipeline step: a team may set its own pipelines; only the `main` team (atc.DefaultTeamName, an
# admin team) may set another team's (concourse/concourse atc/exec/set_pipeline_step.go, SetPipelineStep.run).
_ADMIN_TEAM = "main"


def _teams(config: dict[str, Any]) -> Iterator[Problem]:
    teams: dict[str, Any] = config["teams"]
    meta_team = config["concourse"]["team"]
    smtp = config["concourse"]["smtp"]
    for name, team in teams.items():
        if team["notifications"]["email"] and smtp is None:
            yield ("teams", name, "notifications", "email"), (
                "build e-mails need an SMTP server; set concourse.smtp: {host: ..., from: ...} (its credentials are "
                "the concourse.vars.smtp_username/smtp_password ((vars)))"
            )
    projectless = []
    for name, app in config["apps"].items():
        team = app.get("team")
        if team is None:
            projectless.append(name)
            continue
        if team not in teams:
            yield ("apps", name, "team"), f"'{team}' is not a team; defined: {_names(teams)}"
            continue
        concourse_team = teams[team].get("concourse_team", team)
        if meta_team not in {concourse_team, _ADMIN_TEAM}:
            yield ("concourse", "team"), (
                f"the meta pipeline runs in team '{meta_team}' but must set apps.{name}'s pipeline in Concourse team "
                f"'{concourse_team}'; only the main team may set other teams' pipelines, so set concourse.team: main"
            )
    if projectless and config["harbor"].get("project") is None:
        yield ("apps", projectless[0]), (
            f"has no team and harbor.project is not set; give the app team: (one of {_names(teams)}) or set "
            f"harbor.project for apps without a team"
        )


def _builds(config: dict[str, Any]) -> Iterator[Problem]:
    for name, app in config["apps"].items():
        build = app["build"]
        path = ("apps", name, "build")
        if build["tool"] == "none":
            if build["image_builder"] == "jib":
                yield (*path, "image_builder"), "jib needs tool: maven or gradle; use image_builder: dockerfile"
            if "goals" in build:
                yield (*path, "goals"), "tool none runs no goals; remove goals (or give a test_command)"
            if build["test_command"] is not None and "test_image" not in build:
                yield (*path, "test_image"), (
                    "tool none has no default image for test_command; give test_image: {repository: ..., tag: ...}"
                )
        if build["test_command"] is not None and "goals" in build:
            yield (*path, "goals"), "test_command replaces the goals; remove one of them"


def _cluster_overrides(config: dict[str, Any]) -> Iterator[Problem]:
    environments: dict[str, Any] = config["environments"]
    clusters: dict[str, Any] = config["clusters"]
    for name, app in config["apps"].items():
        path = ("apps", name)
        chosen = set(app.get("environments", list(environments)))
        selector = app["cluster_selector"].items()
        deployed = {
            cluster_name: cluster
            for cluster_name, cluster in clusters.items()
            if cluster["environment"] in chosen
            and cluster["role"] == "deploy"
            and selector <= cluster["labels"].items()
        }
        for cluster_name in app["cluster_overrides"]:
            if cluster_name not in deployed:
                yield (*path, "cluster_overrides", cluster_name), (
                    f"'{cluster_name}' is not a cluster this app is deployed to; it is deployed to: "
                    f"{_names(deployed)}"
                )
        for index, entry in enumerate(app["label_overrides"]):
            match = entry["match"].items()
            if not any(match <= cluster["labels"].items() for cluster in deployed.values()):
                yield (*path, "label_overrides", index, "match"), (
                    f"no cluster this app is deployed to has the labels {dict(match)}; fix the labels or remove "
                    f"the override"
                )


_PLACEHOLDERS = ("{app}", "{cluster}", "{environment}")


def _kubernetes_objects(config: dict[str, Any]) -> Iterator[Problem]:
    for name, app in config["apps"].items():
        path = ("apps", name)
        ingress = app["ingress"]
        if ingress is not None:
            for key in ("host", "tls_secret"):
                rest = ingress[key] or ""
                for placeholder in _PLACEHOLDERS:
                    rest = rest.replace(placeholder, "")
                if "{" in rest or "}" in rest:
                    yield (*path, "ingress", key), (
                        "only {app}, {cluster} and {environment} are replaced; remove other braces"
                    )
        for where, labels in _label_sources(app):
            for key in labels:
                if key in _RESERVED_LABELS:
                    yield (*path, *where, key), (
                        "is a label shiplane sets itself (selectors and Spinnaker traffic use it); choose another key"
                    )
        autoscaling = app["autoscaling"]
        if autoscaling is not None and "cpu" not in app["resources"]:
            yield (*path, "autoscaling"), (
                "CPU utilisation is measured against the CPU request; set apps.<app>.resources.cpu (e.g. 500m)"
            )
        if autoscaling is not None:
            highest = _highest_replicas(config, app)
            if highest is not None and autoscaling["max_replicas"] < highest:
                yield (*path, "autoscaling", "max_replicas"), (
                    f"is below the {highest} replicas the app runs with somewhere; raise max_replicas"
                )


_RESERVED_LABELS = frozenset({
    "app.kubernetes.io/name", "app.kubernetes.io/component", "app.kubernetes.io/part-of", "shiplane.dev/service",
})


def _label_sources(app: dict[str, Any]) -> Iterator[tuple[tuple[str | int, ...], dict[str, str]]]:
    yield ("labels",), app["labels"]
    for environment, override in app["overrides"].items():
        yield ("overrides", environment, "labels"), override.get("labels", {})
    for index, override in enumerate(app["label_overrides"]):
        yield ("label_overrides", index, "labels"), override.get("labels", {})
    for cluster, override in app["cluster_overrides"].items():
        yield ("cluster_overrides", cluster, "labels"), override.get("labels", {})


def _highest_replicas(config: dict[str, Any], app: dict[str, Any]) -> int | None:
    """The largest replica count any layer gives the app (max_replicas must reach it)."""
    environments: dict[str, Any] = config["environments"]
    counts = [environments[e]["replicas"] for e in app.get("environments", list(environments)) if e in environments]
    counts += [o["replicas"] for o in app["overrides"].values() if "replicas" in o]
    counts += [o["replicas"] for o in app["label_overrides"] if "replicas" in o]
    counts += [o["replicas"] for o in app["cluster_overrides"].values() if "replicas" in o]
    return max(counts) if counts else None


def _file_names(config: dict[str, Any]) -> Iterator[Problem]:
    """An app's pipeline is concourse/APP.yml; the fleet's own is concourse/set-pipelines.yml (the same name as
    shiplane.concourse.render.META_PIPELINE_PATH), so no app may be called set-pipelines."""
    if "set-pipelines" in config["apps"]:
        yield ("apps", "set-pipelines"), (
            "an app of this name would be written to concourse/set-pipelines.yml, the pipeline that sets every "
            "app's pipeline; rename the app"
        )

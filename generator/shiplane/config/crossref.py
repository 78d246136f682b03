"""Rules the JSON Schema cannot express: references between sections, uniqueness, and hostile strings.

Runs on the schema-valid, defaults-filled config. Every rule returns messages naming the exact path and the fix;
all problems are reported at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

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
    for rule in (_hostile_strings, _clusters, _apps, _git_access, _spinnaker_names, _file_names):
        try:
            for problem in rule(config):
                found.append(problem)
        except (KeyError, TypeError, AttributeError, IndexError, ValueError):
            if schema_valid:
                raise
    ordered = sorted(found, key=lambda item: source.line(item[0]) or 0)
    return [(path, f"{source.where(path)}: {text}") for path, text in ordered]


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
    project = config["harbor"]["project"]
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
            ]
            for where, env in sources:
                for variable in env:
                    if variable in wired:
                        yield (*where, variable), (
                            f"is set by shiplane to wire apps.{name} to MySQL in environment {environment} "
                            f"(apps.{name}.database.{wired[variable]}); remove it here or give the database "
                            f"setting another name"
                        )


def _file_names(config: dict[str, Any]) -> Iterator[Problem]:
    """An app's pipeline is concourse/APP.yml; the fleet's own is concourse/set-pipelines.yml (the same name as
    shiplane.concourse.render.META_PIPELINE_PATH), so no app may be called set-pipelines."""
    if "set-pipelines" in config["apps"]:
        yield ("apps", "set-pipelines"), (
            "an app of this name would be written to concourse/set-pipelines.yml, the pipeline that sets every "
            "app's pipeline; rename the app"
        )

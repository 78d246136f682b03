"""Validation of Spinnaker documents: shiplane's own (before they are written) and any file (`lint-spinnaker`).

For shiplane's documents the fleet says everything: which accounts exist and which namespaces they manage, the
Spinnaker and Kubernetes versions, which tags each environment deploys and which strategy red/black is called, so
the checks are strict. For files given to `shiplane lint-spinnaker`, accounts are known only from `--clouddriver`
and manifests are checked against the Kubernetes version of the config schema's default.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from shiplane.config.schema import fleet_schema
from shiplane.config.yamlsource import load_yaml
from shiplane.documents import Document
from shiplane.errors import ShiplaneError
from shiplane.files import read_text
from shiplane.model import App, AppDeployment, Fleet
from shiplane.spinnaker.accountrules import check_igor, check_operator_patch
from shiplane.spinnaker.accounts import docker_account_of, docker_accounts
from shiplane.spinnaker.kubeschema import KubernetesSchemas, resolve_version, schemas_for
from shiplane.spinnaker.lint import (
    Accounts,
    Context,
    Finding,
    accounts_from_clouddriver,
    check_application,
    check_clouddriver,
    check_pipeline,
)
from shiplane.spinnaker.triggers import tag_policy


@dataclass(frozen=True)
class _FleetFacts:
    fleet: Fleet
    accounts: Accounts
    schemas: KubernetesSchemas
    apps: dict[str, App]
    repositories: tuple[str, ...]


_facts: list[_FleetFacts] = []


def _fleet_facts(fleet: Fleet) -> _FleetFacts:
    """What every document of `fleet` is checked against (computed once per fleet object)."""
    for facts in _facts:
        if facts.fleet is fleet:
            return facts
    deploy = [cluster for cluster in fleet.clusters if cluster.role == "deploy"]
    namespaces = fleet.namespaces_by_cluster()
    facts = _FleetFacts(
        fleet=fleet,
        accounts=Accounts(
            docker=frozenset(account.name for account in docker_accounts(fleet)[0]),
            kubernetes={cluster.account: frozenset(namespaces[cluster.name]) for cluster in deploy},
        ),
        schemas=schemas_for(fleet.spinnaker.kubernetes_version),
        apps={app.name: app for app in fleet.apps},
        repositories=tuple(sorted({app.repository for app in fleet.apps})),
    )
    _facts[:] = [facts]
    return facts


def _deployment(app: App | None, name: Any, prefix: str) -> AppDeployment | None:
    if app is None or not isinstance(name, str) or not name.startswith(prefix):
        return None
    environment = name[len(prefix):]
    for deployment in app.deployments:
        if deployment.environment.name == environment:
            return deployment
    return None


def document_findings(document: Document, fleet: Fleet) -> list[Finding]:
    facts = _fleet_facts(fleet)
    content = document.content
    if document.kind == "spinnaker-application":
        return check_application(content, Context(application=document.app))
    if document.kind == "clouddriver-config":
        return check_clouddriver(content, facts.repositories)
    if document.kind == "igor-config":
        largest = max((len(a.repositories) for a in docker_accounts(fleet)[0]), default=0)
        return check_igor(content, largest)
    if document.kind == "operator-patch":
        return check_operator_patch(content, facts.repositories)
    if document.kind == "halyard-script":
        return []  # the same accounts as clouddriver-local.yml, which is checked
    app = facts.apps.get(document.app) if document.app is not None else None
    name = content.get("name") if isinstance(content, dict) else None
    deploy = _deployment(app, name, "deploy-")
    context = Context(
        accounts=facts.accounts,
        kubernetes=facts.schemas,
        spinnaker_version=fleet.spinnaker.version,
        application=document.app,
        # a Concourse-triggered deploy pipeline has no docker trigger on purpose (spinnaker/concoursetrigger.py)
        tag_policy=tag_policy(deploy) if deploy is not None and not fleet.concourse_deploy.enabled(
            deploy.environment.name) else None,
        docker_repository=(docker_account_of(fleet, app.repository), app.repository) if deploy and app else None,
        traffic_strategy=fleet.spinnaker.traffic_strategy,
        strict=True,
    )
    return check_pipeline(content, context)


def validate_document(document: Document, fleet: Fleet) -> list[str]:
    """One line per problem of a document shiplane is about to write (`path: message`)."""
    return [f"{path}: {message}" if path else message for path, message in document_findings(document, fleet)]


# ---- shiplane lint-spinnaker ---------------------------------------------------------------------------------


def default_kubernetes_version() -> str:
    """The fleet config's default `spinnaker.kubernetes_version` (what lint-spinnaker checks manifests against)."""
    version = fleet_schema()["$defs"]["spinnaker"]["properties"]["kubernetes_version"]["default"]
    return str(version)


def _read(path: str) -> tuple[Any, list[str]]:
    """Parse a JSON (or YAML, as spin accepts) file; duplicate keys are problems, as spin's UnmarshalStrict makes
    them errors."""
    text = read_text(path)
    duplicates = False

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal duplicates
        result = dict(items)
        if len(result) != len(items):
            duplicates = True
        return result

    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except ValueError:
        data = None
        duplicates = True  # not JSON: read it as YAML, which also locates duplicate keys
    if not duplicates:
        return data, []
    value, _, problems = load_yaml(text, path)
    return value, [
        problem.replace(": defined twice", ": defined twice (spin pipeline save refuses the file)")
        for problem in problems
    ]


def _kind(data: Any) -> str:
    if isinstance(data, list) and data and all(isinstance(item, dict) and "op" in item for item in data):
        return "operator-patch"
    if isinstance(data, dict):
        registry = data.get("dockerRegistry")
        if isinstance(registry, dict) and "itemUpperThreshold" in registry and "accounts" not in registry:
            return "igor"
        if "stages" in data or "triggers" in data or "expectedArtifacts" in data:
            return "pipeline"
        if "cloudProviders" in data or "email" in data:
            return "application"
        if "dockerRegistry" in data or "docker-registry" in data or "kubernetes" in data:
            return "clouddriver"
    return "pipeline"


def lint_file(path: str, accounts: Accounts | None, schemas: KubernetesSchemas) -> list[str]:
    """`FILE: path: message` lines for one file."""
    data, problems = _read(path)
    lines = [problem if problem.startswith(f"{path}:") else f"{path}: {problem}" for problem in problems]
    whole = _kind(data) == "operator-patch"
    documents = [(f"[{index}]", item) for index, item in enumerate(data)] if isinstance(data, list) and not whole \
        else [("", data)]
    context = Context(accounts=accounts, kubernetes=schemas)
    for prefix, document in documents:
        kind = _kind(document)
        if kind == "application":
            findings = check_application(document, Context())
        elif kind == "clouddriver":
            findings = check_clouddriver(document)
        elif kind == "igor":
            findings = check_igor(document, 0)
        elif kind == "operator-patch":
            findings = check_operator_patch(document)
        else:
            findings = check_pipeline(document, context)
        for where, message in findings:
            location = f"{prefix}.{where}" if prefix and where else (prefix or where or "(document)")
            lines.append(f"{path}: {location}: {message}")
    return lines


def lint_files(paths: Sequence[str], clouddriver: str | None, stderr: TextIO,
               kubernetes_version: str | None = None) -> int:
    """`shiplane lint-spinnaker FILE…`: exit 0 when every file is clean, 1 otherwise (findings on stderr).

    Manifests are checked against the schemas of `kubernetes_version` (`--kubernetes-version`, else the fleet
    config's default); a version kubernetes-validate does not ship is an error naming the ones it does."""
    version = kubernetes_version if kubernetes_version is not None else default_kubernetes_version()
    try:
        resolve_version(version)
    except ShiplaneError as exc:
        raise ShiplaneError([p.replace("spinnaker.kubernetes_version", "--kubernetes-version")
                             for p in exc.problems]) from None
    accounts = None
    if clouddriver is not None:
        config, problems = _read(clouddriver)
        if problems:
            raise ShiplaneError(problems)
        accounts = accounts_from_clouddriver(config)
        if not accounts.docker and not accounts.kubernetes:
            raise ShiplaneError(f"{clouddriver}: defines no dockerRegistry or kubernetes accounts; give the "
                                f"clouddriver-local.yml that shiplane render wrote")
    schemas = schemas_for(version)
    found = 0
    for path in paths:
        try:
            lines = lint_file(path, accounts, schemas)
        except ShiplaneError as exc:
            lines = list(exc.problems)
        for line in lines:
            stderr.write(line + "\n")
        found += len(lines)
    if found:
        stderr.write(f"{found} finding(s) in {len(paths)} file(s)\n")
        return 1
    against = f"the accounts of {clouddriver}" if clouddriver is not None else "no accounts (give --clouddriver FILE)"
    stderr.write(
        f"lint-spinnaker: {len(paths)} file(s) clean: pipelines by Orca's rules, manifests against the Kubernetes "
        f"{schemas.name} schemas, {against}\n"
    )
    return 0

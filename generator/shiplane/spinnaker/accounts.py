"""The accounts Spinnaker needs: Harbor as docker-registry accounts, one Kubernetes account per deploy cluster.

Docker-registry accounts are split per Harbor project and into chunks of at most `spinnaker.registry_account_size`
repositories, because:

- igor polls every account as one partition and refuses to commit a poll that brings more than `itemUpperThreshold`
  new items (igor `CommonPollingMonitor.internalPoll`, threshold per account from `DockerMonitor
  .getPartitionUpperThreshold`, else `dockerRegistry.itemUpperThreshold`, default 1000 in igor.yml); it then stays
  stuck on that account. A fleet-wide rebuild adds one new tag per repository (two when it is also a release);
- clouddriver caches an account's repositories with `cacheThreads` agents, repository `hashCode() % threads`
  (`AbstractDockerRegistryCachingAgent.loadRepositoryTags`), one after another inside each agent.

Which chunk a repository lands in is a stable hash (CRC-32 of its name) over a power-of-two number of chunks, so
adding or removing an app moves no other app unless the number of chunks of its project doubles.

No account sets `trackDigests`: with it clouddriver GETs each tag's manifest without an Accept header (kork-docker
`RegistryService.getManifest`, only `Docker-Distribution-API-Version`), distribution answers an OCI manifest with
404 MANIFEST_UNKNOWN and the agent drops the tag (`buildCacheResult`), so igor would see no tag at all.
"""

from __future__ import annotations

import re
import shlex
import zlib
from dataclasses import dataclass
from typing import Any

from shiplane.documents import Document
from shiplane.model import Fleet

_MAX_DOUBLINGS = 16


@dataclass(frozen=True, slots=True)
class DockerAccount:
    name: str
    project: str
    repositories: tuple[str, ...]


def _chunks(repositories: list[str], size: int) -> list[list[str]]:
    count = 1
    while count * size < len(repositories):
        count *= 2
    for _ in range(_MAX_DOUBLINGS):
        buckets: list[list[str]] = [[] for _ in range(count)]
        for repository in repositories:
            buckets[zlib.crc32(repository.encode()) % count].append(repository)
        if max(len(bucket) for bucket in buckets) <= size:
            return buckets
        count *= 2
    # A pathological hash spread: fall back to sorted slices (always within the size).
    return [repositories[start:start + size] for start in range(0, len(repositories), size)]


def _account_name(base: str, project: str) -> str:
    return f"{base}-{re.sub(r'[^a-z0-9-]+', '-', project).strip('-')}"


def plan_docker_accounts(base: str, repositories: list[tuple[str, str]], size: int) -> list[DockerAccount]:
    """Accounts for `repositories`, (Harbor project, repository path) pairs, at most `size` repositories per
    account, sorted by name.

    One project in one chunk keeps the plain `base` name (configs from before the split keep their account)."""
    by_project: dict[str, list[str]] = {}
    for project, repository in sorted(set(repositories)):
        by_project.setdefault(project, []).append(repository)
    accounts: list[DockerAccount] = []
    for project, names in sorted(by_project.items()):
        chunks = _chunks(names, size)
        prefix = base if len(by_project) == 1 else _account_name(base, project)
        width = len(str(len(chunks)))
        for index, chunk in enumerate(chunks):
            if not chunk:
                continue
            name = prefix if len(chunks) == 1 else f"{prefix}-{index + 1:0{width}d}"
            accounts.append(DockerAccount(name, project, tuple(chunk)))
    return sorted(accounts, key=lambda account: account.name)


_plans: list[tuple[Fleet, dict[str, str], list[DockerAccount]]] = []


def docker_accounts(fleet: Fleet) -> tuple[list[DockerAccount], dict[str, str]]:
    """The fleet's docker-registry accounts and repository → account name (computed once per fleet object)."""
    for known, index, accounts in _plans:
        if known is fleet:
            return accounts, index
    accounts = plan_docker_accounts(
        fleet.spinnaker.docker_account,
        [(project, repository) for project, repositories in fleet.repositories_by_project()
         for repository in repositories],
        fleet.spinnaker.registry_account_size,
    )
    index = {repository: account.name for account in accounts for repository in account.repositories}
    _plans[:] = [(fleet, index, accounts)]
    return accounts, index


def docker_account_of(fleet: Fleet, repository: str) -> str:
    return docker_accounts(fleet)[1][repository]


def _docker_account(fleet: Fleet, account: DockerAccount) -> dict[str, Any]:
    spinnaker = fleet.spinnaker
    entry: dict[str, Any] = {
        "name": account.name,
        "address": fleet.harbor.url,
        "username": spinnaker.registry_username,
        "cacheIntervalSeconds": spinnaker.cache_interval_seconds,
        "cacheThreads": min(spinnaker.cache_threads, len(account.repositories)),
        "repositories": list(account.repositories),
    }
    if spinnaker.registry_password_command is not None:
        entry["passwordCommand"] = spinnaker.registry_password_command
    else:
        entry["passwordFile"] = spinnaker.registry_password_file
    if fleet.harbor.insecure:
        entry["insecureRegistry"] = True
    return entry


def _kubernetes_accounts(fleet: Fleet) -> list[dict[str, Any]]:
    """One account per deploy cluster, managing exactly the namespaces shiplane deploys to on it (teams' and apps'
    namespaces included)."""
    namespaces = fleet.namespaces_by_cluster()
    return [
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


def clouddriver_config(fleet: Fleet) -> dict[str, Any]:
    """clouddriver-local.yml: the docker-registry accounts and one Kubernetes account per deploy cluster.

    A Spring profile REPLACES the account lists of the configuration it overrides (Spring Boot binds a list
    property from the highest-priority source as a whole): use it when shiplane owns every account."""
    accounts, _ = docker_accounts(fleet)
    return {
        "dockerRegistry": {"enabled": True, "accounts": [_docker_account(fleet, a) for a in accounts]},
        "kubernetes": {"enabled": True, "accounts": _kubernetes_accounts(fleet)},
    }


def igor_config(fleet: Fleet) -> dict[str, Any]:
    """igor-local.yml: docker polling on, with the per-account threshold of new items per poll."""
    return {"dockerRegistry": {"enabled": True, "itemUpperThreshold": fleet.spinnaker.igor_item_upper_threshold}}


def _flag(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return f"--{name}={'true' if value else 'false'}"
    if isinstance(value, list):
        return f"--{name}=" + ",".join(shlex.quote(str(item)) for item in value)
    return f"--{name}={shlex.quote(str(value))}"


def halyard_script(fleet: Fleet) -> str:
    """Halyard commands that add shiplane's accounts to an existing halconfig and leave every other account alone.

    Flags as halyard-cli defines them (DockerRegistryAddAccountCommand, KubernetesAddAccountCommand; `=` is the
    JCommander separator of both). An account that already exists is skipped (`account get` succeeds)."""
    config = clouddriver_config(fleet)
    lines = [
        "#!/bin/sh",
        "# Generated by shiplane: adds the fleet's accounts to the current Halyard deployment, then hal deploy apply.",
        "# Existing accounts (also ones shiplane did not create) are left as they are; edit them with",
        "# hal config provider <provider> account edit.",
        "set -eu",
        "hal config provider docker-registry enable",
    ]
    for account in config["dockerRegistry"]["accounts"]:
        flags = [
            _flag("address", account["address"]),
            _flag("username", account["username"]),
            _flag("password-command", account["passwordCommand"]) if "passwordCommand" in account
            else _flag("password-file", account["passwordFile"]),
            _flag("repositories", account["repositories"]),
            _flag("cache-interval-seconds", account["cacheIntervalSeconds"]),
            _flag("cache-threads", account["cacheThreads"]),
        ]
        if account.get("insecureRegistry"):
            flags.append(_flag("insecure-registry", True))
        name = shlex.quote(account["name"])
        lines.append(f"hal config provider docker-registry account get {name} >/dev/null 2>&1 || "
                     f"hal config provider docker-registry account add {name} {' '.join(flags)}")
    lines.append("hal config provider kubernetes enable")
    for account in config["kubernetes"]["accounts"]:
        flags = [
            _flag("context", account["context"]),
            _flag("kubeconfig-file", account["kubeconfigFile"]),
            _flag("namespaces", account["namespaces"]),
            _flag("only-spinnaker-managed", True),
        ]
        name = shlex.quote(account["name"])
        lines.append(f"hal config provider kubernetes account get {name} >/dev/null 2>&1 || "
                     f"hal config provider kubernetes account add {name} {' '.join(flags)}")
    return "\n".join(lines) + "\n"


def operator_patch(fleet: Fleet) -> list[dict[str, Any]]:
    """A JSON Patch (RFC 6902, kustomize `patches` with a target) for a Spinnaker Operator `SpinnakerService`:
    `add` to the end of each account list (`/-`) keeps the accounts already there; the halconfig field names are
    those of Halyard's DockerRegistryAccount and KubernetesAccount."""
    config = clouddriver_config(fleet)
    base = "/spec/spinnakerConfig/config/providers"
    patch: list[dict[str, Any]] = [
        {"op": "add", "path": f"{base}/dockerRegistry/enabled", "value": True},
        {"op": "add", "path": f"{base}/kubernetes/enabled", "value": True},
    ]
    patch += [{"op": "add", "path": f"{base}/dockerRegistry/accounts/-", "value": account}
              for account in config["dockerRegistry"]["accounts"]]
    patch += [{"op": "add", "path": f"{base}/kubernetes/accounts/-", "value": account}
              for account in config["kubernetes"]["accounts"]]
    patch.append({"op": "add", "path": "/spec/spinnakerConfig/profiles/igor/dockerRegistry",
                  "value": igor_config(fleet)["dockerRegistry"]})
    return patch


def fleet_documents(fleet: Fleet) -> list[Document]:
    origin = "the fleet's harbor, spinnaker and clusters sections"
    return [
        Document(path="spinnaker/clouddriver-local.yml", kind="clouddriver-config", content=clouddriver_config(fleet),
                 origin=origin),
        Document(path="spinnaker/igor-local.yml", kind="igor-config", content=igor_config(fleet), origin=origin),
        Document(path="spinnaker/operator-accounts-patch.yml", kind="operator-patch", content=operator_patch(fleet),
                 origin=origin),
        Document(path="spinnaker/halyard-accounts.sh", kind="halyard-script", content=halyard_script(fleet),
                 origin=origin),
    ]

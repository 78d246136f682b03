"""Rules on the accounts: Spinnaker applications, clouddriver's docker-registry and Kubernetes accounts.

Each rule names the upstream code it mirrors:

- application: deck's Kubernetes application name validator; Front50 needs an owner e-mail;
- docker-registry accounts (clouddriver `AbstractDockerRegistryCachingAgent.loadRepositoryTags`/`buildCacheResult`,
  kork-docker `DockerRegistryClient.getTags`/`getDigest`, `RegistryService.getManifest`): repositories listed
  explicitly (Harbor restricts `/v2/_catalog` to administrators), no `trackDigests` (it drops every OCI tag), a
  secret never inline, each repository in one account, at most `MAX_REPOSITORIES_PER_ACCOUNT` per account (igor
  `CommonPollingMonitor.internalPoll` refuses a poll with more than `itemUpperThreshold` new items, per account:
  igor `DockerMonitor.getPartitionUpperThreshold`);
- Kubernetes accounts (clouddriver `KubernetesCredentials`): a name, an absolute kubeconfig path, not both
  `namespaces` and `omitNamespaces`, `onlySpinnakerManaged`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from shiplane.spinnaker.context import Accounts, Context

Finding = tuple[str, str]

MAX_REPOSITORIES_PER_ACCOUNT = 500
"""Half igor's default itemUpperThreshold (1000): one build adds up to two new tags per repository."""

def check_application(application: Any, ctx: Context) -> list[Finding]:
    """`spin application save --file` input: name, owner email, cloud providers."""
    if not isinstance(application, dict):
        return [("", f"an application is a JSON object, not {type(application).__name__}")]
    findings: list[Finding] = []
    name = application.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[a-zA-Z][a-zA-Z0-9-]{0,62}", name):
        findings.append(("name", f"{json.dumps(name)}: Kubernetes application names begin with a letter and have "
                                 f"at most 63 letters, digits and dashes (deck's validator)"))
    elif ctx.application is not None and name != ctx.application:
        findings.append(("name", f"is {name!r}, expected {ctx.application!r}"))
    providers = application.get("cloudProviders")
    if not isinstance(providers, str) or "kubernetes" not in providers.split(","):
        findings.append(("cloudProviders", "must be a comma-separated string that includes kubernetes"))
    email = application.get("email")
    if email is not None and (not isinstance(email, str) or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email)):
        findings.append(("email", f"{json.dumps(email)} is not an e-mail address; Front50 needs an owner"))
    return findings


def accounts_from_clouddriver(config: Any) -> Accounts:
    """The accounts a clouddriver config (clouddriver-local.yml or clouddriver.yml) defines."""
    docker: set[str] = set()
    kubernetes: dict[str, frozenset[str] | None] = {}
    if isinstance(config, dict):
        for key in ("dockerRegistry", "docker-registry"):
            section = config.get(key)
            if isinstance(section, dict):
                for account in section.get("accounts") or []:
                    if isinstance(account, dict) and isinstance(account.get("name"), str):
                        docker.add(account["name"])
        section = config.get("kubernetes")
        if isinstance(section, dict):
            for account in section.get("accounts") or []:
                if isinstance(account, dict) and isinstance(account.get("name"), str):
                    namespaces = account.get("namespaces")
                    kubernetes[account["name"]] = (
                        frozenset(str(n) for n in namespaces) if isinstance(namespaces, list) and namespaces else None
                    )
    return Accounts(frozenset(docker), kubernetes)


def check_clouddriver(config: Any, repositories: Sequence[str] | None = None) -> list[Finding]:
    """clouddriver-local.yml: the Harbor registry account and the Kubernetes accounts."""
    if not isinstance(config, dict):
        return [("", "a clouddriver config is a mapping")]
    findings: list[Finding] = []
    names: dict[str, str] = {}
    listed_in: dict[str, str] = {}
    registry = config.get("dockerRegistry")
    if not isinstance(registry, dict) or registry.get("enabled") is not True:
        findings.append(("dockerRegistry.enabled", "must be true, or clouddriver ignores the registry accounts"))
    for index, account in enumerate((registry or {}).get("accounts") or [] if isinstance(registry, dict) else []):
        path = f"dockerRegistry.accounts[{index}]"
        if not isinstance(account, dict):
            findings.append((path, "must be a mapping"))
            continue
        name = account.get("name")
        if isinstance(name, str):
            if name in names:
                findings.append((f"{path}.name", f"{name!r} is also {names[name]}; account names must be unique"))
            names.setdefault(name, path)
        if not isinstance(account.get("address"), str) or not account["address"].startswith(("https://", "http://")):
            findings.append((f"{path}.address", "must be the registry URL (https://host[:port])"))
        if account.get("password"):
            findings.append((f"{path}.password", "a secret in the generated config; use passwordFile or "
                                                 "passwordCommand"))
        if not account.get("passwordFile") and not account.get("passwordCommand"):
            findings.append((path, "needs passwordFile or passwordCommand (Harbor does not serve anonymous "
                                   "tag lists for private projects)"))
        if account.get("trackDigests") is True:
            findings.append((f"{path}.trackDigests", (
                "must not be true: clouddriver then GETs every tag's manifest without an Accept header (kork-docker "
                "RegistryService.getManifest), the registry answers an OCI manifest with 404 MANIFEST_UNKNOWN and "
                "the caching agent drops the tag, so igor sees no tag and no docker trigger fires; trigger on "
                "immutable tags instead and remove trackDigests")))
        threads = account.get("cacheThreads")
        if threads is not None and (not isinstance(threads, int) or isinstance(threads, bool) or threads < 1):
            findings.append((f"{path}.cacheThreads", f"{json.dumps(threads)} must be a number ≥ 1"))
        listed = account.get("repositories")
        if not isinstance(listed, list) or not listed:
            findings.append((f"{path}.repositories", "must list the repositories: Harbor restricts /v2/_catalog "
                                                     "to administrators, so clouddriver would see none"))
        else:
            names_listed = [str(r) for r in listed]
            for repository in names_listed:
                owner = listed_in.setdefault(repository, path)
                if owner != path:
                    findings.append((f"{path}.repositories", f"{repository} is also listed by {owner}; igor would "
                                                              f"fire its triggers from both accounts"))
            if len(names_listed) > MAX_REPOSITORIES_PER_ACCOUNT:
                findings.append((f"{path}.repositories", (
                    f"lists {len(names_listed)} repositories; a fleet-wide rebuild brings up to two new tags per "
                    f"repository in one poll and igor refuses a poll of an account with more than its "
                    f"itemUpperThreshold (default 1000) new items and stays stuck (igor CommonPollingMonitor); split "
                    f"it into accounts of at most {MAX_REPOSITORIES_PER_ACCOUNT}")))
    if repositories is not None:
        missing = sorted(set(repositories) - set(listed_in))
        if missing:
            findings.append(("dockerRegistry.accounts", f"no account lists {', '.join(missing)}"))
    kubernetes = config.get("kubernetes")
    if not isinstance(kubernetes, dict) or kubernetes.get("enabled") is not True:
        findings.append(("kubernetes.enabled", "must be true, or clouddriver ignores the Kubernetes accounts"))
    for index, account in enumerate((kubernetes or {}).get("accounts") or [] if isinstance(kubernetes, dict) else []):
        path = f"kubernetes.accounts[{index}]"
        if not isinstance(account, dict):
            findings.append((path, "must be a mapping"))
            continue
        name = account.get("name")
        if not isinstance(name, str) or not name:
            findings.append((f"{path}.name", "missing; clouddriver refuses an account without a name"))
        else:
            if name in names:
                findings.append((f"{path}.name", f"{name!r} is also {names[name]}; account names must be unique"))
            names.setdefault(name, path)
        kubeconfig = account.get("kubeconfigFile")
        if not isinstance(kubeconfig, str) or not kubeconfig.startswith("/"):
            findings.append((f"{path}.kubeconfigFile", "must be an absolute path inside the clouddriver container"))
        if account.get("namespaces") and account.get("omitNamespaces"):
            findings.append((path, "at most one of namespaces and omitNamespaces (clouddriver refuses both)"))
        if account.get("onlySpinnakerManaged") is not True:
            findings.append((f"{path}.onlySpinnakerManaged", "must be true: clouddriver then caches only what "
                                                             "Spinnaker deployed, which keeps big clusters fast"))
    return findings


def check_igor(config: Any, largest_account: int) -> list[Finding]:
    """igor-local.yml: docker polling enabled; the threshold leaves room for two new tags per repository of the
    largest account (igor DockerRegistryProperties `dockerRegistry.itemUpperThreshold`)."""
    if not isinstance(config, dict) or not isinstance(config.get("dockerRegistry"), dict):
        return [("dockerRegistry", "missing; igor polls no docker registry and no docker trigger fires")]
    section = config["dockerRegistry"]
    findings: list[Finding] = []
    if section.get("enabled") is not True:
        findings.append(("dockerRegistry.enabled", "must be true, or igor polls no docker registry"))
    threshold = section.get("itemUpperThreshold")
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 2 * largest_account:
        findings.append(("dockerRegistry.itemUpperThreshold", (
            f"{json.dumps(threshold)}: must be a number ≥ {2 * largest_account} (two new tags for each of the "
            f"{largest_account} repositories of the largest account); otherwise a fleet-wide rebuild is refused")))
    return findings


def check_operator_patch(patch: Any, repositories: Sequence[str] | None = None) -> list[Finding]:
    """A JSON Patch for a SpinnakerService: only `add` operations that append accounts (`/-`), and the accounts it
    adds pass the clouddriver rules."""
    if not isinstance(patch, list):
        return [("", "a JSON Patch is a list of operations")]
    findings: list[Finding] = []
    # The installation may enable the providers already: only an explicit `enabled: false` is a finding.
    config: dict[str, Any] = {"dockerRegistry": {"enabled": True, "accounts": []},
                              "kubernetes": {"enabled": True, "accounts": []}}
    base = "/spec/spinnakerConfig/config/providers/"
    for index, operation in enumerate(patch):
        if not isinstance(operation, dict) or operation.get("op") != "add" or not isinstance(operation.get("path"),
                                                                                               str):
            findings.append((f"[{index}]", "must be an add operation with a path (anything else replaces or "
                                            "removes what the installation has)"))
            continue
        path = operation["path"]
        if path.startswith(base):
            provider, _, rest = path[len(base):].partition("/")
            section = config.get(provider)
            if section is None:
                findings.append((f"[{index}].path", f"{provider!r} is not a provider shiplane configures"))
            elif rest == "accounts/-":
                section["accounts"].append(operation.get("value"))
            elif rest == "enabled":
                section["enabled"] = operation.get("value")
            else:
                findings.append((f"[{index}].path", "must append to the account list (accounts/-); replacing the "
                                                    "list drops the accounts the installation already has"))
    if config["dockerRegistry"]["accounts"] or config["kubernetes"]["accounts"] or repositories is not None:
        findings += [(f"(accounts).{where}", message)
                     for where, message in check_clouddriver(config, repositories)]
    return findings

"""Traffic rules: red/black (blue/green from Spinnaker 1.30) and the Services a workload is attached to.

Each rule names the clouddriver code it mirrors:

- `KubernetesDeployManifestOperation` (op/manifest): `trafficManagement.options.strategy` is one of redblack,
  bluegreen (1.30+), highlander, none; a rollout strategy needs `enableTraffic`; `services` are `service <name>`
  ("Load balancers must be specified in the form {kind} {name}");
- `KubernetesServiceHandler.attach` (op/handler): the Service is looked up in the workload's namespace and has a
  non-empty selector ("Service must have a non-empty selector in order to be attached to a workload") that shares
  no label key with the workload ("Service selector must have no label keys in common with target workload");
  disabling a version removes those labels from its pods, so they must not be in the ReplicaSet's selector either;
- versioning: ReplicaSets only for red/black (Deployment support was reverted), a stable `metadata.name`
  (clouddriver appends -vNNN), `strategy.spinnaker.io/max-version-history` ≥ 2 and no `versioned: "false"`
  (`KubernetesManifestStrategy`), no `traffic.spinnaker.io/load-balancers` annotation that differs from the stage's
  services (`KubernetesManifestAnnotater`: "Manifest already has traffic.spinnaker.io/load-balancers annotation
  set").
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from shiplane.spinnaker.context import Context, Manifest
from shiplane.spinnaker.podrules import selector_keys, template_labels
from shiplane.spinnaker.stagetypes import STRATEGIES, TRAFFIC_KINDS

Finding = tuple[str, str]

MAX_VERSION_HISTORY = "strategy.spinnaker.io/max-version-history"
VERSIONED = "strategy.spinnaker.io/versioned"
LOAD_BALANCERS = "traffic.spinnaker.io/load-balancers"
_VERSIONED_NAME = re.compile(r"-v\d{3}$")
_SERVICE_REFERENCE = re.compile(r"service ([a-z0-9]([-a-z0-9]*[a-z0-9])?)")


def service_name(service: Any) -> str | None:
    """The name in `service <name>`, or None when the reference is malformed."""
    if not isinstance(service, str):
        return None
    match = _SERVICE_REFERENCE.fullmatch(service)
    return match.group(1) if match else None


class TrafficRules:
    """The traffic rules of a pipeline checker (`shiplane.spinnaker.lint._Checker` provides the state)."""

    ctx: Context
    reusable: bool
    services: dict[tuple[str | None, str | None, str], dict[str, Any]] | None
    all_stages: list[Any]

    def add(self, path: str, message: str) -> None:
        raise NotImplementedError

    def _memo(self, key: tuple[Any, ...], compute: Callable[..., Iterable[Finding]], *args: Any) -> list[Finding]:
        raise NotImplementedError

    def _emit(self, prefix: str, findings: list[Finding]) -> None:
        raise NotImplementedError

    def _deployed_services(self) -> dict[tuple[str | None, str | None, str], dict[str, Any]]:
        """Services deployed by any deployManifest stage, by (account, namespace, name), for traffic checks of
        stages that attach to a Service deployed by another stage (collected on first need)."""
        if self.services is None:
            self.services = {}
            for stage in self.all_stages:
                manifests = stage.get("manifests") if isinstance(stage, dict) else None
                if stage.get("type") != "deployManifest" or not isinstance(manifests, list):
                    continue
                override = stage.get("namespaceOverride")
                override = override if isinstance(override, str) else None
                account = stage.get("account") if isinstance(stage.get("account"), str) else None
                for index, manifest in enumerate(manifests):
                    if isinstance(manifest, dict) and manifest.get("kind") == "Service":
                        item = Manifest(index, manifest, "")
                        if item.name:
                            self.services.setdefault((account, item.namespace(override), item.name), manifest)
        return self.services

    def _traffic(self, stage: dict[str, Any], traffic: Any, manifests: list[Manifest], override: str | None,
                 path: str) -> None:
        if not isinstance(traffic, dict):
            self.add(f"{path}.trafficManagement", "must be an object with enabled and options")
            return
        if not traffic.get("enabled"):
            return
        options = traffic.get("options")
        if not isinstance(options, dict):
            self.add(f"{path}.trafficManagement.options", "missing; traffic management needs services and a strategy")
            return
        strategy = options.get("strategy")
        services = options.get("services")
        key: tuple[Any, ...] = ("options", strategy if isinstance(strategy, (str, type(None))) else id(strategy),
               options.get("enableTraffic") is True, id(services))
        self._emit(path, self._memo(key, self._options, options))
        if strategy is not None and strategy not in STRATEGIES:
            return
        names = [name for name in map(service_name, services if isinstance(services, list) else []) if name]
        workloads = [m for m in manifests if m.kind.lower() in TRAFFIC_KINDS]
        if not workloads and stage.get("source") == "text":
            self.add(f"{path}.manifests", "traffic management is enabled but no manifest can receive traffic")
        option_namespace = options.get("namespace")
        in_stage = {(m.namespace(override), m.name): m.body for m in manifests if m.kind == "Service"}
        managed = strategy in ("redblack", "bluegreen", "highlander")
        for workload in workloads:
            namespace = workload.namespace(override)
            if isinstance(option_namespace, str) and option_namespace and namespace and option_namespace != namespace:
                self.add(f"{path}.trafficManagement.options.namespace",
                         f"is {option_namespace!r} but the workload is in {namespace!r}; Services are looked up in "
                         f"the workload's namespace")
            metadata = workload.body.get("metadata")
            metadata = metadata if isinstance(metadata, dict) else {}
            if managed:
                key = ("red/black", workload.index, workload.kind, workload.name, id(metadata.get("annotations")),
                       strategy, id(services))
                self._emit(path, self._memo(key, self._red_black_workload, workload, strategy, services))
            for name in names:
                service = in_stage.get((namespace, name))
                if service is None:
                    self._service_elsewhere(stage, workload, name, namespace=namespace, in_stage=in_stage,
                                            path=path)
                    continue
                key = ("attach", workload.index, name, id(service.get("spec")), id(workload.body.get("spec")),
                       id(metadata.get("labels")))
                self._emit(path, self._memo(key, self._attach, workload, name, service))

    def _options(self, options: dict[str, Any]) -> Iterator[Finding]:
        where = ".trafficManagement.options"
        strategy = options.get("strategy")
        if strategy is not None and strategy not in STRATEGIES:
            yield f"{where}.strategy", (f"{json.dumps(strategy)} is not a strategy; use one of "
                                        f"{', '.join(sorted(STRATEGIES))}")
            return
        version = self.ctx.spinnaker_version
        if strategy == "bluegreen" and version is not None and version < (1, 30, 0):
            yield f"{where}.strategy", ("bluegreen exists from Spinnaker 1.30 on (it is red/black renamed); use "
                                        "redblack with this Spinnaker")
        if self.ctx.traffic_strategy is not None and strategy != self.ctx.traffic_strategy:
            yield f"{where}.strategy", (f"is {json.dumps(strategy)}; shiplane deploys apps with "
                                        f"{self.ctx.traffic_strategy!r} on this Spinnaker version")
        if strategy in ("redblack", "bluegreen", "highlander") and options.get("enableTraffic") is not True:
            yield f"{where}.enableTraffic", ("must be true with a rollout strategy; otherwise the new version gets "
                                             "no traffic and the old one is disabled")
        services = options.get("services")
        if not isinstance(services, list) or not services:
            yield f"{where}.services", ("needs at least one 'service <name>'; traffic management attaches the "
                                        "workload to these Services")
            return
        for position, service in enumerate(services):
            if service_name(service) is None:
                yield f"{where}.services[{position}]", (f"{json.dumps(service)} must be 'service <name>'; "
                                                        f"clouddriver fails with 'Load balancers must be specified "
                                                        f"in the form {{kind}} {{name}}'")

    def _red_black_workload(self, workload: Manifest, strategy: Any, services: Any) -> Iterator[Finding]:
        prefix = f".manifests[{workload.index}]"
        if workload.kind != "ReplicaSet":
            yield f"{prefix}.kind", (f"{strategy} works on ReplicaSets only (clouddriver's Deployment support was "
                                     f"reverted and old versions are found as replicaSets); deploy a ReplicaSet")
            return
        metadata = workload.body.get("metadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        name = metadata.get("name")
        if not isinstance(name, str) or not name:
            yield f"{prefix}.metadata.name", ("missing; red/black finds earlier versions by a stable metadata.name "
                                              "(generateName does not work)")
        elif _VERSIONED_NAME.search(name):
            yield f"{prefix}.metadata.name", (f"{name!r} ends like a version; clouddriver appends -vNNN itself, "
                                              f"keep the name stable")
        annotations = metadata.get("annotations")
        annotations = annotations if isinstance(annotations, dict) else {}
        history = annotations.get(MAX_VERSION_HISTORY)
        if history is None:
            yield f"{prefix}.metadata.annotations", (f"needs {MAX_VERSION_HISTORY} (at least \"2\"); without it "
                                                     f"disabled versions pile up with all their replicas")
        elif not (isinstance(history, str) and history.isdigit() and int(history) >= 2):
            yield f"{prefix}.metadata.annotations.{MAX_VERSION_HISTORY}", (
                f"{json.dumps(history)} must be a string holding a number ≥ 2; clouddriver rejects less with "
                f"red/black (the previous version must survive)")
        if annotations.get(VERSIONED) == "false":
            yield f"{prefix}.metadata.annotations.{VERSIONED}", ("is \"false\": red/black needs versioned "
                                                                 "ReplicaSets; remove the annotation")
        existing = annotations.get(LOAD_BALANCERS)
        if existing is not None:
            try:
                same = isinstance(existing, str) and json.loads(existing) == services
            except ValueError:
                same = False
            if not same:
                yield f"{prefix}.metadata.annotations.{LOAD_BALANCERS}", (
                    "differs from trafficManagement.options.services; clouddriver fails with 'Manifest already has "
                    "traffic.spinnaker.io/load-balancers annotation set'; remove the annotation")

    def _service_elsewhere(self, stage: dict[str, Any], workload: Manifest, name: str, *, namespace: str | None,
                           in_stage: dict[tuple[str | None, str | None], dict[str, Any]], path: str) -> None:
        """A traffic Service that this stage does not deploy: in another namespace, another stage, or nowhere."""
        others = [ns for (ns, other) in in_stage if other == name]
        if others:
            self.add(f"{path}.trafficManagement.options.services",
                     f"Service {name!r} is in namespace {others[0]!r} but the workload is in {namespace!r}; "
                     f"clouddriver looks the Service up in the workload's namespace")
            return
        self.reusable = False  # depends on the stage's account: not the same for another cluster
        account = stage.get("account") if isinstance(stage.get("account"), str) else None
        service = self._deployed_services().get((account, namespace, name))
        if service is None:
            if self.ctx.strict:
                self.add(f"{path}.trafficManagement.options.services",
                         f"Service {name!r} is not deployed by this stage; deploy it with the workload so that "
                         f"clouddriver can attach them")
            return
        self._emit(path, list(self._attach(workload, name, service)))

    def _attach(self, workload: Manifest, name: str, service: dict[str, Any]) -> Iterator[Finding]:
        """clouddriver KubernetesServiceHandler.attach, and what disabling a version does to the ReplicaSet."""
        prefix = f".manifests[{workload.index}]"
        spec = service.get("spec")
        selector = spec.get("selector") if isinstance(spec, dict) else None
        if not isinstance(selector, dict) or not selector:
            yield ".trafficManagement.options.services", (
                f"Service {name!r} has no selector; clouddriver fails with 'Service must have a non-empty selector "
                f"in order to be attached to a workload'")
            return
        common = sorted(set(selector) & set(template_labels(workload.body)))
        if common:
            yield f"{prefix}.spec.template.metadata.labels", (
                f"shares {', '.join(common)} with the selector of Service {name!r}; clouddriver fails with 'Service "
                f"selector must have no label keys in common with target workload' (it adds the selector labels "
                f"itself, and removes them to disable a version)")
        overlap = sorted(set(selector) & selector_keys(workload.body))
        if overlap:
            yield f"{prefix}.spec.selector", (
                f"uses {', '.join(overlap)}, a selector label of Service {name!r}; disabling a version removes that "
                f"label from its pods, so the ReplicaSet would orphan them and start new ones")

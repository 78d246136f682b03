"""Rules on what a Kubernetes manifest carries into a pod: containers, images, quantities, pull secrets, labels.

Each rule names the upstream code it mirrors:

- image binding: clouddriver `ArtifactReplacer`/`Replacer.DOCKER_IMAGE` (kubernetes/artifact/Replacer.java) binds
  a docker/image artifact to every `$..spec.template.spec.containers[*].image` (and a Pod's own containers) whose
  value without `@digest` (else without what follows the last `:`) equals the artifact name;
- quantities: k8s.io/apimachinery pkg/api/resource `ParseQuantity` (see `shiplane.spinnaker.quantity`), applied
  where the API server parses quantities: `resources.requests/limits` of containers and init containers, the
  storage requests of volume claim templates and PersistentVolumeClaims, `emptyDir.sizeLimit`;
- container names unique within a pod and env names set once (k8s.io/kubernetes pkg/apis/core/validation
  `validateContainers`: "Duplicate value"; a duplicated env var is accepted and the last one silently wins);
- pull secrets (shiplane's own pipelines): Harbor projects are private by default and clouddriver's Kubernetes
  accounts add no pull credentials, so a pod template without `imagePullSecrets` ends in ImagePullBackOff (unless
  its ServiceAccount names one, which shiplane does not manage).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from shiplane.spinnaker.quantity import quantity_problem

Finding = tuple[str, str]


def pod_specs(manifest: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Pod specs where clouddriver binds images: `$..spec.template.spec` (and a Pod's own spec)."""
    if manifest.get("kind") == "Pod" and isinstance(manifest.get("spec"), dict):
        yield ".spec", manifest["spec"]
    yield from _template_specs(manifest, "")


def _template_specs(node: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        spec = node.get("spec")
        if isinstance(spec, dict):
            template = spec.get("template")
            if isinstance(template, dict) and isinstance(template.get("spec"), dict):
                yield f"{path}.spec.template.spec", template["spec"]
        for key, value in node.items():
            if isinstance(value, (dict, list)) and key not in ("metadata", "status"):
                yield from _template_specs(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _template_specs(item, f"{path}[{index}]")


def containers(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for key in ("containers", "initContainers"):
        items = spec.get(key)
        if isinstance(items, list):
            for index, container in enumerate(items):
                if isinstance(container, dict):
                    yield f"{key}[{index}]", container


def images(spec: dict[str, Any]) -> Iterator[str]:
    for _, container in containers(spec):
        image = container.get("image")
        if isinstance(image, str):
            yield image


def _quantities(resources: Any, where: str) -> Iterator[Finding]:
    """`requests`/`limits` maps of a ResourceRequirements (containers, volume claims)."""
    if not isinstance(resources, dict):
        return
    for section in ("requests", "limits"):
        values = resources.get(section)
        if isinstance(values, dict):
            for name, value in values.items():
                problem = quantity_problem(value)
                if problem is not None:
                    yield f"{where}.{section}.{name}", problem


def pod_spec_findings(spec: dict[str, Any], where: str, *, pull_secrets: bool = False) -> Iterator[Finding]:
    """Findings of one pod spec; `pull_secrets`: every pod must name an image pull Secret (shiplane's own)."""
    names: set[str] = set()
    for path, container in containers(spec):
        name = container.get("name")
        if isinstance(name, str):
            if name in names:
                yield f"{where}.{path}.name", f"container name {name!r} is used twice in the pod"
            names.add(name)
        env = container.get("env")
        if isinstance(env, list):
            seen: set[str] = set()
            for index, variable in enumerate(env):
                variable_name = variable.get("name") if isinstance(variable, dict) else None
                if isinstance(variable_name, str):
                    if variable_name in seen:
                        yield (f"{where}.{path}.env[{index}]",
                               f"{variable_name} is set twice; Kubernetes keeps the last one silently")
                    seen.add(variable_name)
        yield from _quantities(container.get("resources"), f"{where}.{path}.resources")
    volumes = spec.get("volumes")
    if isinstance(volumes, list):
        for index, volume in enumerate(volumes):
            empty_dir = volume.get("emptyDir") if isinstance(volume, dict) else None
            if isinstance(empty_dir, dict) and "sizeLimit" in empty_dir:
                problem = quantity_problem(empty_dir["sizeLimit"])
                if problem is not None:
                    yield f"{where}.volumes[{index}].emptyDir.sizeLimit", problem
    if pull_secrets:
        secrets = spec.get("imagePullSecrets")
        if not isinstance(secrets, list) or not any(isinstance(s, dict) and s.get("name") for s in secrets):
            yield f"{where}.imagePullSecrets", (
                "missing; Harbor projects are private and clouddriver adds no pull credentials, so the pods end in "
                "ImagePullBackOff and the deploy waits for stability until it times out; name the pull Secret "
                "(environments.<env>.image_pull_secret)")


def claim_findings(manifest: dict[str, Any]) -> Iterator[Finding]:
    """Storage quantities of a PersistentVolumeClaim and of a StatefulSet's volume claim templates."""
    spec = manifest.get("spec")
    if not isinstance(spec, dict):
        return
    if manifest.get("kind") == "PersistentVolumeClaim":
        yield from _quantities(spec.get("resources"), ".spec.resources")
    templates = spec.get("volumeClaimTemplates")
    if isinstance(templates, list):
        for index, template in enumerate(templates):
            claim = template.get("spec") if isinstance(template, dict) else None
            if isinstance(claim, dict):
                yield from _quantities(claim.get("resources"), f".spec.volumeClaimTemplates[{index}].spec.resources")


def template_labels(workload: dict[str, Any]) -> dict[str, Any]:
    spec = workload.get("spec")
    template = spec.get("template") if isinstance(spec, dict) else None
    metadata = template.get("metadata") if isinstance(template, dict) else None
    labels = metadata.get("labels") if isinstance(metadata, dict) else None
    if isinstance(labels, dict):
        return labels
    metadata = workload.get("metadata")
    labels = metadata.get("labels") if isinstance(metadata, dict) else None
    return labels if isinstance(labels, dict) else {}


def selector_keys(workload: dict[str, Any]) -> set[str]:
    spec = workload.get("spec")
    selector = spec.get("selector") if isinstance(spec, dict) else None
    keys: set[str] = set()
    if isinstance(selector, dict):
        match_labels = selector.get("matchLabels")
        if isinstance(match_labels, dict):
            keys.update(str(key) for key in match_labels)
        expressions = selector.get("matchExpressions")
        if isinstance(expressions, list):
            keys.update(str(e.get("key")) for e in expressions if isinstance(e, dict))
    return keys


def name_from_reference(image: str) -> str:
    """clouddriver's docker image binding: the image without `@digest`, else without what follows the last `:`."""
    at = image.find("@")
    if at >= 0:
        return image[:at]
    colon = image.rfind(":")
    return image[:colon] if colon >= 0 else image


def bindable_image(name: str) -> str:
    """How to write the container image so that clouddriver binds the docker artifact `name` to it.

    The artifact name itself, unless the registry has a port (`host:5000/repo`): clouddriver would then strip
    `:5000/repo` as if it were a tag, so a placeholder tag is added, which binding replaces.
    """
    return name if name_from_reference(name) == name else f"{name}:bound-by-spinnaker"

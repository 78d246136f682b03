"""Manifests shipped once per pipeline as an `embedded/base64` artifact, deployed by many `deployManifest` stages.

How Spinnaker runs it (verified in spinnaker/spinnaker):

- Orca `ManifestEvaluator.getManifestsFromArtifact` (orca-clouddriver tasks/manifest/ManifestEvaluator.java) takes
  the stage's bound artifact (`manifestArtifactId`, the id of an expected artifact of the pipeline), requires an
  artifact account ("No manifest artifact account was specified." otherwise: `manifestArtifactAccount`), asks
  clouddriver to fetch it, parses it with SnakeYAML `loadAll` (JSON is YAML; a top-level list is flattened by
  `coerceManifestToList`) and evaluates SpEL in it unless `skipExpressionEvaluation`;
- clouddriver's embedded artifact account is called `embedded-artifact` (clouddriver-artifacts-embedded
  EmbeddedArtifactAccount) and returns the base64-decoded `reference`;
- Orca (orca-core `ArtifactUtils.resolveArtifacts`, `ArtifactResolver.resolveExpectedArtifacts`) resolves, when an
  execution starts, every expected artifact that a trigger names or that has `useDefaultArtifact` or
  `usePriorArtifact`; one that no received artifact matches is bound to its `defaultArtifact` (the docker trigger
  brings `docker/image` artifacts only, which never match `embedded/base64`);
- clouddriver `KubernetesDeployManifestConverter.updateNamespace` sets every namespaced manifest's namespace to the
  stage's `namespaceOverride`.

So one copy of an app's manifests serves every cluster of an environment; each stage names only its account and
namespace. The reference is canonical JSON (sorted keys, no spaces), so the same manifests give the same bytes.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import yaml

EMBEDDED_TYPE = "embedded/base64"
EMBEDDED_ACCOUNT = "embedded-artifact"
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ManifestArtifactError(ValueError):
    """The artifact's reference is not base64 of YAML/JSON Kubernetes objects."""


def encode(manifests: list[dict[str, Any]]) -> str:
    """The `reference` of an embedded/base64 artifact holding `manifests` (canonical JSON, base64)."""
    text = json.dumps(manifests, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return base64.b64encode(text.encode()).decode("ascii")


def default_artifact(name: str, manifests: list[dict[str, Any]]) -> dict[str, Any]:
    return {"artifactAccount": EMBEDDED_ACCOUNT, "name": name, "reference": encode(manifests), "type": EMBEDDED_TYPE}


def decode(reference: object) -> list[Any]:
    """The manifests of an embedded/base64 `reference`, as Orca reads them (every YAML document, lists flattened).

    Raises ManifestArtifactError naming what is wrong."""
    if not isinstance(reference, str) or not reference:
        raise ManifestArtifactError("has no reference (the base64 of the manifests)")
    try:
        text = base64.b64decode(reference, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ManifestArtifactError(f"reference is not base64 of UTF-8 text ({exc})") from None
    try:
        documents = [json.loads(text)]  # shiplane's own form, and JSON is YAML: the fast path
    except ValueError:
        try:
            documents = list(yaml.load_all(text, Loader=_LOADER))
        except yaml.YAMLError as exc:
            raise ManifestArtifactError(f"reference does not decode to YAML or JSON ({exc})") from None
    manifests: list[Any] = []
    for document in documents:
        if document is None:
            continue
        manifests.extend(document if isinstance(document, list) else [document])
    if not manifests:
        raise ManifestArtifactError("reference decodes to no manifest")
    return manifests

"""Shared helpers of the Spinnaker tests: configs, rendering, and finding lookups."""

from __future__ import annotations

import copy
import textwrap
from pathlib import Path
from typing import Any

import yaml
from shiplane.config import load, load_text
from shiplane.documents import Document
from shiplane.model import Fleet
from shiplane.spinnaker import render_app, render_fleet
from shiplane.spinnaker.manifestartifact import decode, encode
from shiplane.templates import TemplateSet

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "petclinic" / "shiplane.yaml"

WAVES = textwrap.dedent("""\
    version: 1
    harbor: {url: "https://harbor.example.com", project: team}
    concourse: {config_repo: {uri: "https://git.example.com/fleet.git"}}
    spinnaker: {version: "1.36.0", owner_email: team@example.com}
    environments:
      dev: {image_tag: latest, replicas: 1, storage: ephemeral}
      prod: {image_tag: semver, replicas: 3, storage: mysql, judgment_between_waves: true,
             semver: {lower_releases: deploy}}  # the wave graph alone; the lower-release guard: test_lower_release.py
    clusters:
      tools: {role: tooling}
      dev-a: {environment: dev, namespace: web-dev}
      dev-b: {environment: dev, namespace: web-dev, account: k8s-dev-b}
      prod-eu-2: {environment: prod, namespace: web, wave: 2}
      prod-us-1: {environment: prod, namespace: web, wave: 1}
      prod-eu-1: {environment: prod, namespace: web-eu, wave: 1}
      prod-ap-3: {environment: prod, namespace: web, wave: 3}
    apps:
      web: {git: {uri: "https://git.example.com/web.git"}, port: 9090, health_path: /healthz}
    """)
"""Two dev clusters (one wave) and four prod clusters in three waves, with judgments between waves."""


def fleet_from(text: str = WAVES, **changes: Any) -> Fleet:
    """A fleet from YAML `text`, with top-level sections updated (dicts merged one level deep)."""
    config = yaml.safe_load(text)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    return load_text(yaml.safe_dump(config, sort_keys=False), "fleet.yaml")


def example() -> Fleet:
    return load(str(EXAMPLE))


def documents(fleet: Fleet, templates: TemplateSet | None = None) -> dict[str, Document]:
    templates = templates or TemplateSet()
    found: dict[str, Document] = {}
    for app in fleet.apps:
        for document in render_app(fleet, app, templates):
            found[document.path] = document
    for document in render_fleet(fleet, templates):
        found[document.path] = document
    return found


def pipeline(fleet: Fleet, app: str, name: str) -> dict[str, Any]:
    """A deep copy of one rendered pipeline's content (tests may change it)."""
    return copy.deepcopy(documents(fleet)[f"spinnaker/{app}/{name}.json"].content)


def stages_of(pipeline: dict[str, Any], kind: str | None = None) -> list[dict[str, Any]]:
    return [stage for stage in pipeline["stages"] if kind is None or stage["type"] == kind]


def stage(pipeline: dict[str, Any], ref_id: str) -> dict[str, Any]:
    return next(stage for stage in pipeline["stages"] if stage["refId"] == ref_id)


def manifest(stage: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(m for m in stage["manifests"] if m["kind"] == kind)


def decoded_manifests(pipeline: dict[str, Any], artifact_id: str) -> list[dict[str, Any]]:
    """The manifests of one of the pipeline's embedded/base64 expected artifacts."""
    artifact = next(a for a in pipeline["expectedArtifacts"] if a["id"] == artifact_id)
    return decode(artifact["defaultArtifact"]["reference"])


def text_form(pipeline: dict[str, Any]) -> dict[str, Any]:
    """The same pipeline with `source: text` stages: each stage carries its manifests (shallow per-stage copies of
    one decoded list, with the stage's namespace), as a hand-written pipeline would. The linter must treat both
    forms alike; the rule tests mutate manifests in this form."""
    result = copy.deepcopy(pipeline)
    decoded: dict[str, list[dict[str, Any]]] = {}
    for stage in result["stages"]:
        if stage.get("source") != "artifact":
            continue
        artifact_id = stage.pop("manifestArtifactId")
        stage.pop("manifestArtifactAccount", None)
        namespace = stage.pop("namespaceOverride")
        if artifact_id not in decoded:
            decoded[artifact_id] = decoded_manifests(result, artifact_id)
        stage["manifests"] = [{**m, "metadata": {**m["metadata"], "namespace": namespace}}
                              for m in decoded[artifact_id]]
        stage["source"] = "text"
    result["expectedArtifacts"] = [a for a in result["expectedArtifacts"] if a["id"] not in decoded]
    return result


def reencode(pipeline: dict[str, Any], artifact_id: str, manifests: list[dict[str, Any]]) -> None:
    """Replace the manifests of an embedded/base64 expected artifact."""
    artifact = next(a for a in pipeline["expectedArtifacts"] if a["id"] == artifact_id)
    artifact["defaultArtifact"]["reference"] = encode(manifests)

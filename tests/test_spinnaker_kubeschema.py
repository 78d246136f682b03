"""Kubernetes manifests against Kubernetes' own schemas (kubernetes-validate's strict schema files, not mocked)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shiplane.errors import ShiplaneError
from shiplane.spinnaker.kubeschema import KubernetesSchemas, available_versions, resolve_version, schemas_for
from spinnaker_support import fleet_from, manifest, pipeline, stage, text_form

PROD = text_form(pipeline(fleet_from(), "web", "deploy-prod"))
REPLICA_SET = manifest(stage(PROD, "deploy-prod-us-1"), "ReplicaSet")
STATEFUL_SET = manifest(stage(text_form(pipeline(fleet_from(), "web", "mysql-prod")), "mysql-prod-us-1"),
                        "StatefulSet")


def fresh(version: str = "1.31") -> KubernetesSchemas:
    """Schemas without any memoised result."""
    return KubernetesSchemas(resolve_version(version))


def test_versions_come_from_kubernetes_validate() -> None:
    assert (1, 31) in available_versions()
    assert resolve_version("1.31") == (1, 31) and resolve_version("v1.31.4") == (1, 31)
    newest = available_versions()[-1]
    with pytest.raises(ShiplaneError, match=r"spinnaker\.kubernetes_version: 1\.99 has no schemas"):
        resolve_version("1.99")
    with pytest.raises(ShiplaneError, match=r"spinnaker\.kubernetes_version: 1\.2 has no schemas"):
        resolve_version("1.2")
    with pytest.raises(ShiplaneError, match="is not a version"):
        resolve_version("latest")
    assert schemas_for(f"{newest[0]}.{newest[1]}").version == newest


def test_rendered_manifests_are_valid() -> None:
    schemas = fresh()
    for body in (REPLICA_SET, STATEFUL_SET, manifest(stage(PROD, "deploy-prod-us-1"), "Service")):
        assert schemas.problems(body) == []


@pytest.mark.parametrize(
    ("change", "path", "fragment"),
    [
        (lambda m: m["spec"]["template"]["spec"]["containers"][0].update(imagePulPolicy="Always"),
         "spec.template.spec.containers[0]", "'imagePulPolicy' was unexpected"),
        (lambda m: m["spec"].update(replicas="three"), "spec.replicas", "'three' is not of type 'integer'"),
        (lambda m: m["spec"]["template"]["spec"]["containers"][0].pop("name"),
         "spec.template.spec.containers[0]", "'name' is a required property"),
        (lambda m: m.update(kind="Replicaset"), "kind", "'Replicaset' is not one of ['ReplicaSet']"),
        (lambda m: m["metadata"].update(labels=["a"]), "metadata.labels", "is not of type 'object'"),
    ],
)
def test_violations_name_the_path(change: Any, path: str, fragment: str) -> None:
    body = copy.deepcopy(REPLICA_SET)
    change(body)
    found = fresh().problems(body)
    assert any(where == path and fragment in message for where, message in found), found


def test_kubernetes_validate_agrees(tmp_path: Path) -> None:
    # the same files and validator class as kubernetes_validate.validate(), which we do not call per manifest
    assert kubernetes_validate.validate(copy.deepcopy(REPLICA_SET), "1.31", strict=True)
    body = copy.deepcopy(REPLICA_SET)
    body["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(body, "1.31", strict=True)
    assert fresh().problems(body)


def test_spel_expressions_are_not_schema_violations() -> None:
    body = copy.deepcopy(REPLICA_SET)
    body["spec"]["replicas"] = "${parameters.replicas}"
    assert fresh().problems(body) == []


def test_custom_resources_are_skipped_and_unknown_api_versions_reported() -> None:
    assert fresh().problems({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}) == []
    assert fresh().problems({**REPLICA_SET, "apiVersion": "apps/v1beta2"}) == [
        ("apiVersion", "ReplicaSet has no schema for apiVersion apps/v1beta2 in Kubernetes 1.31 (known: apps/v1); "
                       "use a served apiVersion")]
    assert fresh().problems({"kind": "Service"}) == [
        ("", "needs apiVersion and kind (strings) so that it can be checked and applied")]
    assert fresh().problems([]) == [("", "must be a Kubernetes object (a mapping), not list")]


def test_a_valid_skeleton_is_remembered_an_invalid_one_is_not() -> None:
    schemas = fresh()
    kind = schemas._kind("apps/v1", "ReplicaSet")
    assert kind is not None and not kind.keep_strings  # the strict schemas constrain strings by enum only
    assert schemas.problems(REPLICA_SET) == []
    assert len(kind.valid) == 1
    other = json.loads(json.dumps(REPLICA_SET).replace("web", "api"))  # other names: same skeleton
    assert schemas.problems(other) == [] and len(kind.valid) == 1
    broken = {**REPLICA_SET, "kind": "Replicaset"}  # same schema file, but the kind's enum refuses it
    found = schemas.problems(broken)
    assert found == [("kind", "'Replicaset' is not one of ['ReplicaSet']")] and len(kind.valid) == 1
    assert schemas.problems(broken) == found  # an invalid manifest is always validated in full


_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 70000), st.text(max_size=8),
                    st.sampled_from(["TCP", "UDP", "Always", "IfNotPresent", "apps/v1", "ReplicaSet", ""]))
_FIELDS = st.sampled_from([
    ("spec", "replicas"), ("spec", "minReadySeconds"), ("metadata", "name"), ("metadata", "namespace"),
    ("spec", "template", "spec", "containers", 0, "imagePullPolicy"),
    ("spec", "template", "spec", "containers", 0, "ports", 0, "protocol"),
    ("spec", "template", "spec", "containers", 0, "ports", 0, "containerPort"),
    ("spec", "template", "spec", "restartPolicy"), ("apiVersion",), ("kind",),
    ("spec", "template", "metadata", "labels", "tier"),
])


@settings(max_examples=150, deadline=None)
@given(changes=st.lists(st.tuples(_FIELDS, _VALUES), max_size=3))
def test_memoised_results_equal_full_validation(changes: list[tuple[tuple[Any, ...], Any]]) -> None:
    # One long-lived KubernetesSchemas (memo) and a fresh validator must always agree.
    body = copy.deepcopy(REPLICA_SET)
    for path, value in changes:
        target: Any = body
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
    memoised = _SHARED.problems(body)
    direct = sorted(
        (".".join(str(p) for p in e.absolute_path), e.message)
        for e in _SHARED._kind("apps/v1", "ReplicaSet").validator.iter_errors(body)  # type: ignore[union-attr]
    ) if isinstance(body.get("apiVersion"), str) and body.get("apiVersion") == "apps/v1" and \
        body.get("kind") == "ReplicaSet" else None
    if direct is not None:
        assert (memoised == []) is (direct == [])


_SHARED = fresh()

"""Per-cluster settings of an app: the override layers, applied in one documented order.

For one app on one cluster of environment E, later layers win (env, resources and labels merge by key; replicas
is replaced):

1. `environments.E` (replicas, env)
2. `clusters.<cluster>.env`
3. the app (`apps.<app>.env`, `resources`, `labels`)
4. `apps.<app>.overrides.E`
5. every `apps.<app>.label_overrides[i]` whose `match` labels the cluster has, in list order
6. `apps.<app>.cluster_overrides.<cluster>`

docs/fleet-config.md ("Overrides") documents the same order; `tests/test_config_layers.py` pins it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shiplane.model import Cluster, Environment, Pairs, Resources, Target


def _pairs(mapping: dict[str, str]) -> Pairs:
    return tuple(sorted(mapping.items()))


def layers(raw_app: dict[str, Any], environment: Environment, cluster: Cluster) -> list[dict[str, Any]]:
    """The override mappings (keys replicas, env, resources, labels) that apply, lowest precedence first."""
    cluster_labels = dict(cluster.labels)
    found: list[dict[str, Any]] = [
        {"replicas": environment.replicas, "env": dict(environment.env)},
        {"env": dict(cluster.env)},
        {"env": raw_app["env"], "resources": raw_app["resources"], "labels": raw_app["labels"]},
        raw_app["overrides"].get(environment.name, {}),
    ]
    found += [entry for entry in raw_app["label_overrides"] if entry["match"].items() <= cluster_labels.items()]
    found.append(raw_app["cluster_overrides"].get(cluster.name, {}))
    return found


def _settings(layers_: list[dict[str, Any]], default_replicas: int) -> tuple[int, Pairs, Resources, Pairs]:
    replicas = default_replicas
    env: dict[str, str] = {}
    resources: dict[str, str] = {}
    labels: dict[str, str] = {}
    for layer in layers_:
        replicas = layer.get("replicas", replicas)
        env.update(layer.get("env", {}))
        resources.update(layer.get("resources", {}))
        labels.update(layer.get("labels", {}))
    return (
        replicas,
        _pairs(env),
        Resources(cpu=resources.get("cpu"), memory=resources.get("memory")),
        _pairs(labels),
    )


def targets(
    raw_app: dict[str, Any],
    environment: Environment,
    clusters: Iterable[Cluster],
    namespace: str | None,
) -> tuple[Target, ...]:
    """The effective settings of the app on each of `clusters` (in that order), in `namespace` (None: each
    cluster's own namespace).

    Clusters that get the same layers (same cluster env, same matching label overrides, no cluster override of
    their own) share one computed settings tuple: a fleet of hundreds of similar clusters computes it once.
    """
    label_overrides = raw_app["label_overrides"]
    cluster_overrides = raw_app["cluster_overrides"]
    memo: dict[tuple[object, ...], tuple[int, Pairs, Resources, Pairs]] = {}
    found = []
    for cluster in clusters:
        matching: tuple[int, ...] = ()
        if label_overrides:
            labels = dict(cluster.labels)
            matching = tuple(
                index for index, entry in enumerate(label_overrides) if entry["match"].items() <= labels.items()
            )
        key = (cluster.env, matching, cluster.name if cluster.name in cluster_overrides else None)
        if key not in memo:
            memo[key] = _settings(layers(raw_app, environment, cluster), environment.replicas)
        replicas, env, resources, extra_labels = memo[key]
        found.append(Target(cluster, namespace or cluster.namespace, replicas, env, resources, extra_labels))
    return tuple(found)

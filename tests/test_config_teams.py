"""Teams, build recipes, override layers and the new Kubernetes keys: model values and cross-reference errors."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from shiplane.config import load_text
from shiplane.errors import ShiplaneError
from shiplane.model import Fleet

BASE: dict[str, Any] = {
    "version": 1,
    "harbor": {"url": "https://harbor.example.com", "project": "legacy"},
    "concourse": {"config_repo": {"uri": "https://git.example.com/fleet.git"}},
    "teams": {
        "shop": {"owner_email": "shop@example.com", "notifications": {"slack_channel": "#shop"}},
        "data": {"owner_email": "data@example.com", "harbor_project": "data-eng", "concourse_team": "analytics",
                 "namespace": "data-apps"},
    },
    "environments": {
        "dev": {"image_tag": "latest", "replicas": 1, "storage": "ephemeral", "env": {"LEVEL": "env"}},
        "prod": {"image_tag": "semver", "replicas": 3, "storage": "ephemeral", "env": {"LEVEL": "env"}},
    },
    "clusters": {
        "dev-1": {"environment": "dev"},
        "prod-eu": {"environment": "prod", "labels": {"region": "eu"}, "env": {"REGION": "eu", "LEVEL": "cluster"}},
        "prod-us": {"environment": "prod", "labels": {"region": "us"}, "env": {"REGION": "us"}},
    },
    "apps": {
        "web": {"git": {"uri": "https://git.example.com/web.git"}, "team": "shop"},
        "etl": {"git": {"uri": "https://git.example.com/etl.git"}, "team": "data", "namespace": "etl"},
        "old": {"git": {"uri": "https://git.example.com/old.git"}},
    },
}


def config(**changes: Any) -> dict[str, Any]:
    """BASE with nested changes: config(apps__web__build={"tool": "gradle"})."""
    data: dict[str, Any] = yaml.safe_load(yaml.safe_dump(BASE))
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        target = data
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = value
    return data


def fleet(data: dict[str, Any] | None = None) -> Fleet:
    return load_text(yaml.safe_dump(data or config(), sort_keys=False), "fleet.yaml")


def problems(data: dict[str, Any]) -> str:
    with pytest.raises(ShiplaneError) as caught:
        fleet(data)
    return "\n".join(caught.value.problems)


def test_apps_take_project_concourse_team_namespace_and_owner_from_their_team() -> None:
    loaded = fleet(config(concourse__team="main"))
    web, etl, old = loaded.app("web"), loaded.app("etl"), loaded.app("old")
    assert (web.harbor_project, web.repository, web.concourse_team, web.owner_email) == (
        "shop", "shop/web", "shop", "shop@example.com")
    assert web.notifications.slack_channel == "shop" and web.notifications.deploy_success is True
    assert {t.namespace for t in web.deployment("prod").targets} == {"shop"}  # default: the team name
    assert (etl.harbor_project, etl.concourse_team) == ("data-eng", "analytics")
    assert {t.namespace for t in etl.deployment("prod").targets} == {"etl"}  # the app's own wins
    # an app without a team keeps today's behaviour: harbor.project, concourse.team, the cluster's namespace
    assert (old.harbor_project, old.repository, old.concourse_team) == ("legacy", "legacy/old", "main")
    assert {t.namespace for t in old.deployment("prod").targets} == {"default"}
    assert not old.notifications.enabled
    assert loaded.repositories_by_project() == (
        ("data-eng", ("data-eng/etl",)), ("legacy", ("legacy/old",)), ("shop", ("shop/web",)))
    cluster = next(c for c in loaded.clusters if c.name == "prod-eu")
    assert loaded.namespaces(cluster) == ("default", "etl", "shop")


def test_override_layers_apply_in_the_documented_order() -> None:
    loaded = fleet(config(
        apps__web__env={"LEVEL": "app", "APP": "1"},
        apps__web__labels={"tier": "web"},
        apps__web__resources={"cpu": "100m", "memory": "128Mi"},
        apps__web__overrides={"prod": {"env": {"LEVEL": "app-env"}, "replicas": 4}},
        apps__web__label_overrides=[
            {"match": {"region": "eu"}, "env": {"LEVEL": "label-1"}, "resources": {"cpu": "200m"}},
            {"match": {"region": "eu"}, "env": {"LEVEL": "label-2"}, "labels": {"tier": "eu-web"}},
        ],
        apps__web__cluster_overrides={"prod-eu": {"replicas": 6, "env": {"LEVEL": "cluster-override"}}},
        concourse__team="main",
    ))
    prod = loaded.app("web").deployment("prod")
    eu, us = (prod.target(c) for c in prod.clusters)
    assert eu.cluster.name == "prod-eu"
    assert dict(eu.env) == {"LEVEL": "cluster-override", "APP": "1", "REGION": "eu"}
    assert (eu.replicas, eu.resources.cpu, eu.resources.memory, dict(eu.labels)) == (6, "200m", "128Mi",
                                                                                     {"tier": "eu-web"})
    assert dict(us.env) == {"LEVEL": "app-env", "APP": "1", "REGION": "us"}  # the cluster env sits below the app
    assert (us.replicas, us.resources.cpu, dict(us.labels)) == (4, "100m", {"tier": "web"})
    # the environment-level view is unchanged for code that does not look at clusters
    assert prod.replicas == 4 and dict(prod.env)["LEVEL"] == "app-env"


def test_build_recipes_resolve_their_defaults() -> None:
    loaded = fleet(config(
        concourse__team="main",
        apps__web__build={"tool": "gradle", "image_builder": "jib"},
        apps__etl__build={"tool": "none", "test_command": "make test", "test_image": {"repository": "python"}},
        apps__old__build={"tool": "none"},
    ))
    web, etl, old = (loaded.app(name).build for name in ("web", "etl", "old"))
    assert (web.goals, web.test_image, web.image_builder, web.jib_version) == (
        "build", loaded.concourse.gradle_image, "jib", "3.5.2")
    assert etl.test_image is not None and etl.test_image.ref == "python:latest" and etl.goals == ""
    assert old.test_image is None and old.test_command is None  # nothing runs before the Dockerfile build
    assert fleet(config(concourse__team="main")).app("web").build.goals == "verify"  # maven, as before


@pytest.mark.parametrize(("changes", "expected"), [
    ({"apps__web__team": "nope"}, "apps.web.team: 'nope' is not a team; defined: data, shop"),
    ({}, "concourse.team: the meta pipeline runs in team 'main'"),  # replaced below
    ({"harbor": {"url": "https://harbor.example.com"}}, "apps.old: has no team and harbor.project is not set"),
    ({"apps__web__build": {"tool": "none", "image_builder": "jib"}}, "apps.web.build.image_builder: jib needs"),
    ({"apps__web__build": {"tool": "none", "test_command": "make"}}, "apps.web.build.test_image: tool none has no"),
    ({"apps__web__build": {"goals": "verify", "test_command": "make"}}, "test_command replaces the goals"),
    ({"apps__web__cluster_overrides": {"dev-2": {"replicas": 2}}},
     "apps.web.cluster_overrides.dev-2: 'dev-2' is not a cluster this app is deployed to"),
    ({"apps__web__label_overrides": [{"match": {"region": "ap"}, "replicas": 2}]},
     "apps.web.label_overrides[0].match: no cluster this app is deployed to has the labels {'region': 'ap'}"),
    ({"teams__shop__notifications": {"email": ["a@example.com"]}},
     "teams.shop.notifications.email: build e-mails need an SMTP server"),
    ({"apps__web__ingress": {"host": "web.{region}.example.com"}},
     "apps.web.ingress.host: only {app}, {cluster} and {environment} are replaced"),
    ({"apps__web__autoscaling": {"max_replicas": 2}, "apps__web__resources": {"cpu": "1"}},
     "apps.web.autoscaling.max_replicas: is below the 3 replicas"),
    ({"apps__web__autoscaling": {"max_replicas": 9}}, "apps.web.autoscaling: CPU utilisation is measured against"),
    ({"apps__web__cluster_overrides": {"prod-eu": {"labels": {"app.kubernetes.io/name": "x"}}}},
     "apps.web.cluster_overrides.prod-eu.labels['app.kubernetes.io/name']: is a label shiplane sets itself"),
])
def test_inconsistent_configs_are_refused_with_the_fix(changes: dict[str, Any], expected: str) -> None:
    data = config(**changes)
    if not changes:
        data["concourse"]["team"] = "shop"  # the meta pipeline cannot set team data's pipelines from team shop
        expected = "must set apps.etl's pipeline in Concourse team 'analytics'; only the main team may"
    else:
        data["concourse"]["team"] = "main"
    assert expected in problems(data)


def test_a_fleet_whose_apps_all_have_teams_needs_no_harbor_project() -> None:
    data = config(concourse__team="main", harbor={"url": "https://harbor.example.com"})
    del data["apps"]["old"]
    loaded = fleet(data)
    assert loaded.harbor.project is None and loaded.spinnaker.registry_username == "robot$spinnaker"

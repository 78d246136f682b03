"""The fleet config: schema, defaults, cross-references and the typed model built from it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml
from shiplane.config import load, load_text
from shiplane.config.schema import fleet_schema
from shiplane.errors import ShiplaneError
from shiplane.model import Fleet

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "petclinic" / "shiplane.yaml"

MINIMAL = """\
version: 1
harbor: {url: "https://harbor.example.com", project: team}
concourse: {config_repo: {uri: "https://git.example.com/fleet.git"}}
environments:
  dev: {image_tag: latest, replicas: 1, storage: ephemeral}
clusters:
  dev-1: {environment: dev}
apps:
  web: {git: {uri: "https://git.example.com/web.git"}}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ShiplaneError) as caught:
        load_text(text, "fleet.yaml")
    return list(caught.value.problems)


def edited(**sections: object) -> str:
    config = yaml.safe_load(MINIMAL)
    for key, value in sections.items():
        config[key] = value
    return yaml.safe_dump(config, sort_keys=False)


def test_example_loads_into_the_model() -> None:
    fleet = load(str(EXAMPLE))
    assert isinstance(fleet, Fleet)
    assert [app.name for app in fleet.apps] == ["petclinic"]
    petclinic = fleet.app("petclinic")
    assert [d.environment.name for d in petclinic.deployments] == ["dev", "prod"]
    dev, prod = petclinic.deployments
    assert (dev.replicas, dev.environment.storage, dev.environment.image_tag) == (1, "ephemeral", "latest")
    assert (prod.replicas, prod.environment.storage, prod.environment.image_tag) == (3, "mysql", "semver")
    assert [c.name for c in dev.clusters] == ["dev"] and [c.name for c in prod.clusters] == ["prod"]
    assert ("SPRING_PROFILES_ACTIVE", "mysql") in prod.env and ("SPRING_PROFILES_ACTIVE", "mysql") not in dev.env
    assert prod.mysql_secret == "petclinic-mysql"
    assert petclinic.image_name(fleet.harbor) == "harbor.tooling.example.com/petclinic/petclinic"
    tooling = next(c for c in fleet.clusters if c.name == "tooling")
    assert tooling.role == "tooling" and tooling.environment is None


def test_defaults_are_filled_from_the_schema() -> None:
    fleet = load_text(MINIMAL, "fleet.yaml")
    assert fleet.concourse.team == "main"
    assert fleet.concourse.vars.harbor_password == "harbor-password"
    assert fleet.harbor.scan.fail_on == "high" and fleet.harbor.scan.timeout == "10m"
    assert fleet.harbor.registry == "harbor.example.com"
    web = fleet.app("web")
    assert web.git.branch == "main" and web.port == 8080 and web.repository == "team/web"
    assert web.releases.source == "git-tags" and web.build.dockerfile == "Dockerfile"
    assert fleet.spinnaker.docker_account == "harbor"
    cluster = fleet.clusters[0]
    assert (cluster.account, cluster.namespace, cluster.wave) == ("dev-1", "default", 1)
    assert cluster.kubeconfig == "/home/spinnaker/.kube/dev-1.yml"


def test_every_default_sits_where_the_loader_can_apply_it() -> None:
    # Defaults inside a $def reached through $ref are never applied; they must sit beside the $ref.
    for name, definition in fleet_schema()["$defs"].items():
        assert "default" not in definition, f"$defs.{name} has a default; move it beside each $ref"


@pytest.mark.parametrize(
    ("version", "strategy"), [("1.29.3", "redblack"), ("1.30.0", "bluegreen"), ("1.36", "bluegreen")]
)
def test_traffic_strategy_follows_the_spinnaker_version(version: str, strategy: str) -> None:
    fleet = load_text(edited(spinnaker={"version": version}), "fleet.yaml")
    assert fleet.spinnaker.traffic_strategy == strategy


def test_unknown_environment_is_named_with_the_defined_ones() -> None:
    text = MINIMAL.replace('web: {git: {uri: "https://git.example.com/web.git"}}',
                           'web: {git: {uri: "https://git.example.com/web.git"}, environments: [dev, stage]}')
    assert problems(text) == [
        "fleet.yaml:9: apps.web.environments[1]: 'stage' is not an environment; defined: dev"
    ]


def test_all_problems_are_reported_at_once_in_file_order() -> None:
    text = textwrap.dedent("""\
        version: 1
        harbor: {url: "https://harbor.example.com", project: team}
        concourse: {config_repo: {uri: "https://git.example.com/fleet.git"}}
        environments:
          dev: {image_tag: newest, replicas: 0, storage: ephemeral}
        clusters:
          dev-1: {environment: dev, wave: zero}
        apps:
          Web: {git: {uri: "https://git.example.com/web.git", brach: main}}
        """)
    found = problems(text)
    assert len(found) == 5
    assert found[0].startswith("fleet.yaml:5: environments.dev.image_tag: \"newest\" is not allowed; use latest")
    assert found[1] == "fleet.yaml:5: environments.dev.replicas: 0 is out of range; use a value at least 1"
    assert found[2].startswith('fleet.yaml:7: clusters.dev-1.wave: must be an integer, not "zero"')
    assert found[3].startswith('fleet.yaml:9: apps.Web: name "Web" is not valid; use at most 40 lowercase')
    assert found[4] == (
        "fleet.yaml:9: apps.Web.git.brach: unknown key; did you mean 'branch'? allowed here: branch, private, uri"
    )


def test_duplicate_keys_are_errors_not_silently_merged() -> None:
    text = MINIMAL + '  web: {git: {uri: "https://git.example.com/other.git"}}\n'
    assert problems(text) == ["fleet.yaml:10: apps.web: defined twice (first on line 9); remove or rename one"]


def test_cluster_in_no_environment() -> None:
    text = MINIMAL.replace("  dev-1: {environment: dev}", "  dev-1: {environment: dev}\n  spare: {}")
    assert problems(text) == [
        "fleet.yaml:8: clusters.spare: is in no environment; set environment: to one of dev (or role: tooling "
        "for a cluster that only runs Concourse, Harbor and Spinnaker)"
    ]


def test_environment_without_clusters_and_tooling_with_environment() -> None:
    config = yaml.safe_load(MINIMAL)
    config["environments"]["prod"] = {"image_tag": "semver", "replicas": 3, "storage": "mysql"}
    config["clusters"]["tools"] = {"role": "tooling", "environment": "dev"}
    found = problems(yaml.safe_dump(config, sort_keys=False))
    assert any("environments.prod: no deploy cluster is in this environment" in p for p in found)
    assert any("clusters.tools.environment: a tooling cluster runs the delivery tools" in p for p in found)


def test_override_of_an_environment_the_app_does_not_run_in() -> None:
    config = yaml.safe_load(MINIMAL)
    config["apps"]["web"]["overrides"] = {"prod": {"replicas": 2}}
    found = problems(yaml.safe_dump(config, sort_keys=False))
    assert found == [
        "fleet.yaml:21: apps.web.overrides.prod: 'prod' is not an environment of this app; it runs in: dev"
    ]


def test_shared_spinnaker_accounts_and_harbor_repositories_are_rejected() -> None:
    config = yaml.safe_load(MINIMAL)
    config["clusters"]["dev-2"] = {"environment": "dev", "account": "dev-1"}
    config["apps"]["api"] = {"git": {"uri": "https://git.example.com/api.git"}, "repository": "web"}
    found = problems(yaml.safe_dump(config, sort_keys=False))
    assert any("clusters.dev-2.account: Spinnaker account 'dev-1' is already used by clusters.dev-1" in p
               for p in found)
    assert any("apps.api.repository: Harbor repository 'team/web' is already used by apps.web" in p for p in found)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("abc ((secret)) def", "contains '((' which Concourse would read as a ((var)) reference"),
        ("${T(java.lang.Runtime).getRuntime()}", "contains '${' which Spinnaker would evaluate as a SpEL"),
        ("bell\u0007", "contains a control character"),
    ],
)
def test_hostile_values_are_rejected(value: str, fragment: str) -> None:
    config = yaml.safe_load(MINIMAL)
    config["apps"]["web"]["env"] = {"GREETING": value}
    found = problems(yaml.safe_dump(config, sort_keys=False))
    assert len(found) == 1 and "apps.web.env.GREETING: " + fragment in found[0]


def test_hostile_but_harmless_values_are_accepted() -> None:
    config = yaml.safe_load(MINIMAL)
    value = "it's \"quoted\": {x: [1, 2]} # not a comment\nsecond line ünïcödé 🚀"
    config["apps"]["web"]["env"] = {"GREETING": value}
    fleet = load_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), "fleet.yaml")
    assert dict(fleet.app("web").deployments[0].env)["GREETING"] == value


def test_unquoted_yaml_booleans_in_env_name_the_fix() -> None:
    text = MINIMAL.replace('web: {git: {uri: "https://git.example.com/web.git"}}',
                           'web: {git: {uri: "https://git.example.com/web.git"}, env: {DEBUG: yes}}')
    assert problems(text) == [
        'fleet.yaml:9: apps.web.env.DEBUG: must be a string, not true; quote the value so that YAML reads it as a '
        'string (for example "8080" or "true")'
    ]


def test_perl_regex_in_git_tag_regex_is_rejected() -> None:
    config = yaml.safe_load(MINIMAL)
    config["apps"]["web"]["releases"] = {"tag_regex": r"^v\d+\.\d+\.\d+$"}
    found = problems(yaml.safe_dump(config, sort_keys=False))
    assert len(found) == 1 and r"has no \d; use [0-9]" in found[0]


def test_github_releases_need_a_repository() -> None:
    config = yaml.safe_load(MINIMAL)
    config["apps"]["web"]["releases"] = {"from": "github-releases"}
    found = problems(yaml.safe_dump(config, sort_keys=False))
    assert found == [
        "fleet.yaml:20: apps.web.releases: from: github-releases needs github: {owner: ..., repository: ...}"
    ]


def test_cluster_selector_picks_clusters_by_label() -> None:
    config = yaml.safe_load(MINIMAL)
    config["clusters"]["dev-2"] = {"environment": "dev", "labels": {"region": "eu"}, "wave": 2}
    config["clusters"]["dev-3"] = {"environment": "dev", "labels": {"region": "eu"}}
    config["apps"]["web"]["cluster_selector"] = {"region": "eu"}
    fleet = load_text(yaml.safe_dump(config, sort_keys=False), "fleet.yaml")
    assert [c.name for c in fleet.app("web").deployments[0].clusters] == ["dev-3", "dev-2"]
    config["apps"]["web"]["cluster_selector"] = {"region": "us"}
    found = problems(yaml.safe_dump(config, sort_keys=False))
    assert found == [
        "fleet.yaml:29: apps.web.cluster_selector: no cluster of environment 'dev' has the labels {'region': 'us'}; "
        "fix the selector or label a cluster"
    ]


def test_waves_group_clusters_in_rollout_order() -> None:
    config = yaml.safe_load(MINIMAL)
    config["clusters"] = {
        "c": {"environment": "dev", "wave": 2},
        "a": {"environment": "dev", "wave": 1},
        "b": {"environment": "dev", "wave": 2},
    }
    fleet = load_text(yaml.safe_dump(config, sort_keys=False), "fleet.yaml")
    waves = fleet.app("web").deployments[0].waves
    assert [(wave, [c.name for c in clusters]) for wave, clusters in waves] == [(1, ["a"]), (2, ["b", "c"])]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "fleet.yaml: the file is empty"),
        ("version: [1\n", "fleet.yaml:2: not valid YAML"),
        ("- 1\n", "fleet.yaml: the config must be a mapping"),
    ],
)
def test_unreadable_configs(text: str, expected: str) -> None:
    found = problems(text)
    assert len(found) == 1 and found[0].startswith(expected)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ShiplaneError, match="no such file"):
        load(str(tmp_path / "nope.yaml"))


@pytest.mark.parametrize(
    ("harbor_scan", "deploy", "expected"),
    [
        ("24h", "168h", []),
        ("1440m", "10080m", []),
        ("24h0m1s", "168h", ["harbor.scan.timeout"]),
        ("0s", "168h", ["harbor.scan.timeout"]),
        ("10m", "168h0m1s", ["environments.dev.concourse_deploy.timeout"]),
    ],
)
def test_waits_the_resources_refuse_are_refused_here(harbor_scan: str, deploy: str, expected: list[str]) -> None:
    # The resources bound scan.timeout (24h) and spinnaker-pipeline params.timeout (168h): a longer one rendered a
    # pipeline whose every check or deploy put failed on it.
    config = yaml.safe_load(MINIMAL)
    config["harbor"]["scan"] = {"timeout": harbor_scan}
    config["environments"]["dev"]["concourse_deploy"] = {"enabled": True, "timeout": deploy}
    config["spinnaker"] = {"gate": {"url": "https://gate.example.com"}}
    text = yaml.safe_dump(config, sort_keys=False)
    if not expected:
        load_text(text, "fleet.yaml")
        return
    found = problems(text)
    assert len(found) == len(expected) and all(key in line for key, line in zip(expected, found, strict=True)), found

"""Fleet config settings of the Spinnaker half: application owner, registry robot account, name rules."""

from __future__ import annotations

import pytest
import yaml
from shiplane.config import load_text
from shiplane.errors import ShiplaneError
from spinnaker_support import WAVES, example


def problems(config: dict[str, object]) -> list[str]:
    with pytest.raises(ShiplaneError) as caught:
        load_text(yaml.safe_dump(config, sort_keys=False), "fleet.yaml")
    return list(caught.value.problems)


def test_defaults_and_the_example() -> None:
    config = yaml.safe_load(WAVES)
    del config["spinnaker"]
    fleet = load_text(yaml.safe_dump(config), "fleet.yaml")
    assert fleet.spinnaker.registry_username == "robot$team+spinnaker"
    assert fleet.spinnaker.registry_password_file == "/home/spinnaker/.harbor/password"
    assert fleet.spinnaker.registry_password_command is None
    assert fleet.app("web").owner_email is None
    prod = fleet.environment("prod").mysql
    assert (prod.resources.cpu, prod.resources.memory) == ("250m", "1Gi")
    petclinic = example()
    assert petclinic.app("petclinic").owner_email == "petclinic-team@example.com"
    assert petclinic.spinnaker.registry_username == "robot$petclinic+spinnaker"


def test_the_app_owner_overrides_the_fleet_owner() -> None:
    config = yaml.safe_load(WAVES)
    config["apps"]["web"]["owner_email"] = "web@example.com"
    config["apps"]["api"] = {"git": {"uri": "https://git.example.com/api.git"}}
    fleet = load_text(yaml.safe_dump(config), "fleet.yaml")
    assert fleet.app("web").owner_email == "web@example.com"
    assert fleet.app("api").owner_email == "team@example.com"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda c: c["spinnaker"].update(owner_email="team"), "spinnaker.owner_email"),
        (lambda c: c["apps"]["web"].update(owner_email="not an address"), "apps.web.owner_email"),
        (lambda c: c["spinnaker"].update(registry_password_file="harbor/password"),
         "spinnaker.registry_password_file: \"harbor/password\" is not valid; use an absolute path"),
        (lambda c: c["spinnaker"].update(registry_username="robot account"), "spinnaker.registry_username"),
    ],
)
def test_invalid_settings_name_the_field(change: object, expected: str) -> None:
    config = yaml.safe_load(WAVES)
    change(config)  # type: ignore[operator]
    found = problems(config)
    assert any(expected in line for line in found), found


def test_spinnaker_application_names_begin_with_a_letter() -> None:
    config = yaml.safe_load(WAVES)
    config["apps"]["9lives"] = {"git": {"uri": "https://git.example.com/9lives.git"}}
    assert any("apps.9lives: Spinnaker's Kubernetes application names begin with a letter" in p
               for p in problems(config))


def test_an_app_named_like_another_apps_mysql_is_refused() -> None:
    config = yaml.safe_load(WAVES)
    config["apps"]["web-mysql"] = {"git": {"uri": "https://git.example.com/x.git"}, "environments": ["dev"]}
    assert any("apps.web-mysql: its Kubernetes objects would collide with the MySQL StatefulSet and Service of "
               "apps.web" in p for p in problems(config))


def test_env_vars_that_the_mysql_wiring_sets_are_refused_where_they_are_set() -> None:
    config = yaml.safe_load(WAVES)
    config["environments"]["prod"]["env"] = {"SPRING_DATASOURCE_URL": "jdbc:h2:mem:x"}
    config["apps"]["web"]["env"] = {"SPRING_DATASOURCE_PASSWORD": "x"}
    found = problems(config)
    assert any("environments.prod.env.SPRING_DATASOURCE_URL: is set by shiplane to wire apps.web to MySQL" in p
               for p in found), found
    assert any("apps.web.env.SPRING_DATASOURCE_PASSWORD: is set by shiplane" in p for p in found), found
    config = yaml.safe_load(WAVES)
    config["environments"]["dev"]["env"] = {"SPRING_DATASOURCE_URL": "jdbc:h2:mem:x"}  # no MySQL in dev: fine
    load_text(yaml.safe_dump(config), "fleet.yaml")


def test_the_three_database_variables_must_differ() -> None:
    config = yaml.safe_load(WAVES)
    config["apps"]["web"]["database"] = {"url_env": "DB", "username_env": "DB"}
    assert any("apps.web.database: url_env, username_env and password_env must be three different names" in p
               for p in problems(config))


@pytest.mark.parametrize("memory", ["768Mi", "1Gi", "1G", "1.5Gi", "512M", "1000000k"])
def test_memory_takes_kubernetes_quantities(memory: str) -> None:
    config = yaml.safe_load(WAVES)
    config["apps"]["web"]["resources"] = {"memory": memory}
    fleet = load_text(yaml.safe_dump(config), "fleet.yaml")
    assert fleet.app("web").deployment("prod").resources.memory == memory


@pytest.mark.parametrize("memory", ["1GB", "1gi", "1 Gi", "1K", "lots"])
def test_memory_that_is_no_kubernetes_quantity_is_refused_naming_the_field(memory: str) -> None:
    config = yaml.safe_load(WAVES)
    config["apps"]["web"]["resources"] = {"memory": memory}
    found = problems(config)
    assert any("apps.web.resources.memory" in line and "not 1GB" in line for line in found), found

"""The Harbor admin client against the Harbor double's admin endpoints (tests/harbor_double/admin_api.py).

The double's admin responses are validated against Harbor's swagger in test_harbor_admin_double_swagger.py; these
tests check the client's behaviour and Harbor's rules the double follows.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import pytest
from harbor_admin import HarborAdmin, HarborAdminError
from harbor_double import ADMIN_PASSWORD, ADMIN_USERNAME, HarborDouble
from harbor_image.log import Log


@pytest.fixture
def api(harbor_api: HarborDouble) -> Iterator[HarborDouble]:
    harbor_api.reset()
    yield harbor_api
    harbor_api.check_healthy()


def admin(double: HarborDouble, user: str = ADMIN_USERNAME, password: str = ADMIN_PASSWORD,
          stream: io.StringIO | None = None) -> HarborAdmin:
    return HarborAdmin(double.url, user, password, Log(stream or io.StringIO(), debug=True), time.monotonic() + 30,
                       sleep=lambda _s: None)


ROBOT = {
    "name": "ci", "description": "d", "duration": -1, "level": "project", "disable": False,
    "permissions": [{"kind": "project", "namespace": "team", "access": [
        {"resource": "repository", "action": "pull", "effect": "allow"},
        {"resource": "repository", "action": "push", "effect": "allow"}]}],
}


def test_project_is_created_private_and_updated(api: HarborDouble) -> None:
    client = admin(api)
    assert client.get_project("team") is None
    client.create_project("team", {"auto_scan": "true", "prevent_vul": "true", "severity": "high"})
    project = client.get_project("team")
    assert project is not None
    assert project["metadata"] == {"public": "false", "auto_scan": "true", "prevent_vul": "true", "severity": "high"}
    client.update_project("team", cve_allowlist=["CVE-2024-1", "CVE-2024-2"])
    client.update_project("team", metadata={"severity": "critical"})
    project = client.get_project("team")
    assert project is not None
    assert [item["cve_id"] for item in project["cve_allowlist"]["items"]] == ["CVE-2024-1", "CVE-2024-2"]
    assert project["metadata"]["severity"] == "critical" and project["metadata"]["auto_scan"] == "true"
    with pytest.raises(HarborAdminError, match=r"409 .*already exists"):
        client.create_project("team", {})


def test_immutable_rule_created_listed_and_enforced(api: HarborDouble) -> None:
    client = admin(api)
    client.create_project("team", {})
    rule = {"action": "immutable", "template": "immutable_template", "disabled": False, "priority": 0,
            "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "*.*.*"}],
            "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches",
                                                "pattern": "**"}]}}
    client.create_immutable_rule("team", rule)
    rules = client.immutable_rules("team")
    assert len(rules) == 1 and rules[0]["tag_selectors"][0]["pattern"] == "*.*.*"
    project = api.state.project("team")
    assert project.immutable("team/app", "1.2.3") and project.immutable("team/app", "v1.2.3")
    assert not project.immutable("team/app", "latest")
    client.update_immutable_rule("team", int(rules[0]["id"]), {**rule, "disabled": True})
    assert client.immutable_rules("team")[0]["disabled"] is True


def test_robot_secret_is_returned_once_and_redacted(api: HarborDouble) -> None:
    stream = io.StringIO()
    client = admin(api, stream=stream)
    client.create_project("team", {})
    created = client.create_robot(ROBOT)
    assert created.name == "robot$team+ci" and len(created.secret) > 20
    assert created.secret not in repr(created)
    client.log.debug(f"leak attempt {created.secret}")  # type: ignore[attr-defined]
    assert created.secret not in stream.getvalue()
    robots = client.project_robots(int(api.state.project("team").id))
    assert [robot["name"] for robot in robots] == ["robot$team+ci"]
    assert "secret" not in robots[0]
    update = {**ROBOT, "name": "robot$team+ci", "permissions": [{**ROBOT["permissions"][0], "access": [  # type: ignore[index]
        {"resource": "repository", "action": "pull", "effect": "allow"}]}]}
    client.update_robot(created.id, update)
    robot = api.state.accounts.robots["robot$team+ci"]
    assert robot.access == frozenset({("repository", "pull")}) and robot.secret == created.secret
    with pytest.raises(HarborAdminError, match="cannot update the level or name of robot"):
        client.update_robot(created.id, {**update, "name": "ci"})


def test_robot_listing_walks_pages(api: HarborDouble) -> None:
    client = admin(api)
    client.create_project("team", {})
    for index in range(105):
        client.create_robot({**ROBOT, "name": f"r{index}"})
    before = client.requests
    assert len(client.project_robots(int(api.state.project("team").id))) == 105
    assert client.requests - before == 2  # page_size 100


def test_a_project_admin_may_administer_but_not_a_developer(api: HarborDouble) -> None:
    admin(api).create_project("team", {})
    api.add_user("lead", "lead-pw")
    api.add_user("dev", "dev-pw")
    api.add_member("team", "lead", "projectAdmin")
    api.add_member("team", "dev", "developer")
    admin(api, "lead", "lead-pw").update_project("team", metadata={"auto_scan": "true"})
    with pytest.raises(HarborAdminError, match=r"forbidden \(403") as caught:
        admin(api, "dev", "dev-pw").update_project("team", metadata={"auto_scan": "false"})
    assert caught.value.status == 403
    with pytest.raises(HarborAdminError, match="401") as refused:
        admin(api, "dev", "wrong-pw").create_project("other", {})
    assert "wrong-pw" not in str(refused.value)

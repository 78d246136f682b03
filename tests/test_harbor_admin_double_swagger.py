"""Every admin response of the Harbor double (projects, metadata, allowlist, immutable rules, robots) validates
against Harbor v2.15.2's swagger, with the same relaxations as test_harbor_double_swagger.py (skips without it)."""

from __future__ import annotations

import pytest
from harbor_double import HarborDouble
from test_harbor_double_swagger import SWAGGER, validate

pytestmark = pytest.mark.skipif(SWAGGER is None, reason="Harbor's swagger.yaml (../shared/harbor) is not available")

RULE = {"action": "immutable", "template": "immutable_template", "disabled": False, "priority": 0,
        "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "*.*.*"}],
        "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches", "pattern": "**"}]}}
ROBOT = {"name": "ci", "description": "", "duration": -1, "level": "project", "disable": False,
         "permissions": [{"kind": "project", "namespace": "team",
                          "access": [{"resource": "repository", "action": "pull", "effect": "allow"}]}]}


def test_admin_responses_match_the_swagger(harbor_api: HarborDouble) -> None:
    harbor_api.reset()
    seen: list[tuple[str, int]] = []

    def call(method: str, path: str, body: object = None, **kwargs: object) -> int:
        reply = harbor_api.request(method, path, json_body=body, **kwargs)  # type: ignore[arg-type]
        seen.append((validate(method, path, reply), reply.status))
        return reply.status

    assert call("POST", "/api/v2.0/projects", {"project_name": "team", "metadata": {"auto_scan": "true"}}) == 201
    assert call("POST", "/api/v2.0/projects", {"project_name": "team"}) == 409
    assert call("GET", "/api/v2.0/projects/team") == 200
    assert call("PUT", "/api/v2.0/projects/team", {"metadata": {"severity": "high"},
                                                   "cve_allowlist": {"items": [{"cve_id": "CVE-1"}]}}) == 200
    assert call("PUT", "/api/v2.0/projects/team", {"cve_allowlist": {"project_id": 99, "items": []}}) == 400
    assert call("GET", "/api/v2.0/projects/team") == 200
    assert call("POST", "/api/v2.0/projects/team/immutabletagrules", RULE) == 201
    assert call("GET", "/api/v2.0/projects/team/immutabletagrules") == 200
    assert call("PUT", "/api/v2.0/projects/team/immutabletagrules/1", {**RULE, "id": 1}) == 200
    assert call("PUT", "/api/v2.0/projects/team/immutabletagrules/1", {**RULE, "id": 2}) == 400
    assert call("POST", "/api/v2.0/robots", ROBOT) == 201
    assert call("POST", "/api/v2.0/robots", ROBOT) == 409
    assert call("POST", "/api/v2.0/robots", {**ROBOT, "name": "Bad+Name"}) == 400
    assert call("GET", "/api/v2.0/robots?q=Level%3Dproject%2CProjectID%3D2") == 200
    assert call("GET", "/api/v2.0/robots?q=Level%3Dproject") == 400
    assert call("PUT", "/api/v2.0/robots/1", {**ROBOT, "name": "robot$team+ci"}) == 200
    assert call("PUT", "/api/v2.0/robots/1", ROBOT) == 400
    assert call("GET", "/api/v2.0/projects/team/immutabletagrules", auth=None) == 401
    operations = {operation for operation, _ in seen}
    assert {"createProject", "updateProject", "getProject", "CreateImmuRule", "ListImmuRules", "UpdateImmuRule",
            "CreateRobot", "ListRobot", "UpdateRobot"} <= operations

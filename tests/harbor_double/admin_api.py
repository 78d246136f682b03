"""Harbor administration in the double: projects, metadata, CVE allowlists, immutable tag rules, robot accounts.

Follows goharbor/harbor v2.15.2 (responses validated against its swagger by tests/test_harbor_admin_double.py):
- handler/project.go CreateProject: any authenticated user may create (project_creation_restriction "everyone");
  ``metadata.public`` defaults to "false" and must be "true"/"false"; the request's ``cve_allowlist`` is ignored;
  201 with a Location, no body; an existing name is 409 "The project named X already exists". The creator becomes
  the project's admin.
- UpdateProject: ``metadata`` keys given are copied over the stored ones (lib.JSONCopy of the non-null fields);
  ``cve_allowlist`` given replaces the allowlist (its project_id must be 0 or the project's: 400 otherwise).
- handler/immutable.go: list (ImmutableRule[] with X-Total-Count), create (201, Location), update (the body's id
  must match the path: 400 "the immutable_rule_id doesn't match the id in the payload body of ImmutableRule").
- handler/robot.go: ListRobot needs ``q=Level=project,ProjectID=N`` (400 "must with project ID when to query project
  robots"); CreateRobot validates the name (``^[a-z0-9]+(?:[._-][a-z0-9]+)*$``), duration (-1 or positive), level,
  one project permission with access, and answers 201 ``RobotCreated`` (the only time the secret is shown);
  controller/robot names it ``robot$<project>+<name>``; a second robot of that name is 409. UpdateRobot
  (updateV2Robot) refuses a changed name or level (400 "cannot update the level or name of robot"), replaces
  description, disable, duration and permissions, keeps the secret.
Access: a system admin may do everything; a project admin (member role projectAdmin) may update its project, its
immutable rules and its robots; anyone else gets 403 (401 when anonymous).
"""

from __future__ import annotations

import json
import re
import secrets
from typing import TYPE_CHECKING, Any

from . import api as api_module
from .auth import ROBOT_CI_ACCESS, ROLE_PERMISSIONS, Robot
from .clock import fmt_time
from .errors import HarborError, bad_request, forbidden, go_json, not_found, unauthorized, validation_failure
from .query import page
from .state import ImmutableRule, Project

if TYPE_CHECKING:
    from .api import Api, Call, Handler, Reply

ROBOT_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
PROJECT_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
BOOL_METADATA = {"public", "enable_content_trust", "enable_content_trust_cosign", "prevent_vul", "auto_scan",
                 "auto_sbom_generation", "reuse_sys_cve_allowlist"}
METADATA_KEYS = BOOL_METADATA | {"severity", "retention_id"}
# rbac project policies a project robot may hold (the ones the double knows; others are 400 like unknown ones)
PROJECT_POLICIES = frozenset().union(*ROLE_PERMISSIONS.values()) | frozenset(ROBOT_CI_ACCESS)


def admin_routes() -> list[tuple[str, dict[str, Handler]]]:
    return [
        ("/projects", {"POST": create_project}),
        ("/projects/{project_name}", {"PUT": update_project}),
        ("/projects/{project_name}/immutabletagrules", {"GET": list_rules, "POST": create_rule}),
        ("/projects/{project_name}/immutabletagrules/{rule_id}", {"PUT": update_rule}),
        ("/robots", {"GET": list_robots, "POST": create_robot}),
        ("/robots/{robot_id}", {"PUT": update_robot}),
    ]


def _body(call: Call) -> dict[str, Any]:
    try:
        payload = json.loads(call.body or b"null")
    except ValueError:
        raise bad_request("invalid JSON body") from None
    if not isinstance(payload, dict):
        raise validation_failure("body in body is required")
    return payload


def _reply(status: int, body: object = None, headers: list[tuple[str, str]] | None = None) -> Reply:
    if body is None:
        return api_module.Reply(status, b"", content_type=None, headers=headers or [])
    return api_module.Reply(status, go_json(body), headers=headers or [])


def _admin_of(api: Api, call: Call, project: Project | None) -> None:
    """Sysadmin, or the project's admin; else 401 (anonymous) / 403."""
    principal = call.principal
    if principal.sysadmin:
        return
    if not principal.authenticated:
        raise unauthorized()
    if project is not None and api.state.accounts.members.get((project.name, principal.name)) == "projectAdmin":
        return
    raise forbidden()


def _project(api: Api, call: Call) -> Project:
    project = api.state.projects.get(call.path["project_name"])
    if project is None:
        if not call.principal.authenticated:
            raise unauthorized()
        raise not_found(f"project {call.path['project_name']} not found")
    _admin_of(api, call, project)
    return project


# --- projects -----------------------------------------------------------------------------------------------------

def create_project(api: Api, call: Call) -> Reply:
    if not call.principal.authenticated:
        raise unauthorized()
    body = _body(call)
    name = str(body.get("project_name") or "")
    if not PROJECT_NAME.match(name) or len(name) > 255:
        raise validation_failure("project_name in body should match '^[a-z0-9]+(?:[._-][a-z0-9]+)*$'")
    metadata = {key: str(value) for key, value in (body.get("metadata") or {}).items()
                if key in METADATA_KEYS and value is not None}
    if body.get("public") is not None and "public" not in metadata:
        metadata["public"] = "true" if body["public"] else "false"
    metadata.setdefault("public", "false")
    if metadata["public"] not in ("true", "false"):
        raise bad_request(f"metadata.public should only be 'true' or 'false', but got: '{metadata['public']}'")
    metadata.pop("retention_id", None)
    api.state.create_project(name, metadata)
    if not call.principal.sysadmin:
        api.state.accounts.members[(name, call.principal.name)] = "projectAdmin"
    api.state.changed()
    return _reply(201, headers=[("Location", f"/api/v2.0/projects/{name}")])


def update_project(api: Api, call: Call) -> Reply:
    body = _body(call)
    project = _project(api, call)
    allowlist = body.get("cve_allowlist")
    if isinstance(allowlist, dict):
        given = int(allowlist.get("project_id") or 0)
        if given not in (0, project.id):
            raise bad_request(f"project_id in cve_allowlist must be {project.id} but it's {given}")
        project.cve_allowlist = [str(item.get("cve_id")) for item in allowlist.get("items") or []
                                 if isinstance(item, dict) and item.get("cve_id")]
        expires = allowlist.get("expires_at")
        project.allowlist_expires_at = int(expires) if isinstance(expires, int) else None
    for key, value in (body.get("metadata") or {}).items():
        if key in METADATA_KEYS and value is not None:
            project.metadata[key] = str(value)
    project.update_time = api.state.clock.now()
    api.state.changed()
    return _reply(200)


# --- immutable tag rules ------------------------------------------------------------------------------------------

def rule_json(rule: ImmutableRule) -> dict[str, object]:
    """handler/model ImmutableRule.ToSwagger: the swagger's fields (no project_id)."""
    return {
        "id": rule.id,
        "priority": rule.priority,
        "disabled": rule.disabled,
        "action": "immutable",
        "template": "immutable_template",
        "tag_selectors": [{"kind": "doublestar", "decoration": rule.tag_decoration, "pattern": rule.tag_pattern}],
        "scope_selectors": {
            "repository": [{"kind": "doublestar", "decoration": rule.repo_decoration, "pattern": rule.repo_pattern}]
        },
    }


def _rule_fields(body: dict[str, Any]) -> dict[str, Any]:
    tags = body.get("tag_selectors") or []
    repos = (body.get("scope_selectors") or {}).get("repository") or []
    if not tags or not repos:
        raise bad_request("an immutable rule needs tag_selectors and scope_selectors.repository")
    return {
        "tag_pattern": str(tags[0].get("pattern", "**")),
        "tag_decoration": str(tags[0].get("decoration", "matches")),
        "repo_pattern": str(repos[0].get("pattern", "**")),
        "repo_decoration": str(repos[0].get("decoration", "repoMatches")),
        "disabled": bool(body.get("disabled", False)),
        "priority": int(body.get("priority") or 0),
    }


def list_rules(api: Api, call: Call) -> Reply:
    project = _project(api, call)
    size = call.integer("page_size", 10, maximum=100)
    number = call.integer("page", 1)
    rules = sorted(project.immutable_rules, key=lambda rule: rule.id)
    items = [rule_json(rule) for rule in page(rules, number, size)]  # type: ignore[arg-type]
    return api.list_reply(call, items, len(rules), number, size)


def create_rule(api: Api, call: Call) -> Reply:
    body = _body(call)
    project = _project(api, call)
    fields = _rule_fields(body)
    for rule in project.immutable_rules:
        if (rule.tag_pattern, rule.repo_pattern, rule.tag_decoration, rule.repo_decoration) == (
                fields["tag_pattern"], fields["repo_pattern"], fields["tag_decoration"], fields["repo_decoration"]):
            raise HarborError("CONFLICT", "immutable rule already exists")
    rule = ImmutableRule(api.state.next_id("rule"), **fields)
    project.immutable_rules.append(rule)
    api.state.changed()
    return _reply(201, headers=[("Location", f"/api/v2.0/projects/{project.name}/immutabletagrules/{rule.id}")])


def update_rule(api: Api, call: Call) -> Reply:
    body = _body(call)
    rule_id = int(call.path["rule_id"]) if call.path["rule_id"].isdigit() else -1
    if int(body.get("id") or 0) != rule_id:
        raise bad_request("the immutable_rule_id doesn't match the id in the payload body of ImmutableRule")
    project = _project(api, call)
    for index, rule in enumerate(project.immutable_rules):
        if rule.id == rule_id:
            project.immutable_rules[index] = ImmutableRule(rule_id, **_rule_fields(body))
            api.state.changed()
            return _reply(200)
    raise not_found(f"immutable rule {rule_id} not found")


# --- robot accounts -----------------------------------------------------------------------------------------------

def robot_json(api: Api, robot: Robot) -> dict[str, object]:
    """handler/model/robot.go ToSwagger (no secret)."""
    created = fmt_time(robot.created or api.state.clock.now())
    return {
        "id": robot.id,
        "name": robot.name,
        "description": robot.description,
        "expires_at": -1 if robot.duration == -1 else 0,
        "duration": robot.duration,
        "level": "project",
        "disable": robot.disabled,
        "editable": True,
        "creator_type": "local",
        "creator_ref": 1,
        "creation_time": created,
        "update_time": created,
        "permissions": [{
            "kind": "project",
            "namespace": robot.project,
            "access": [{"resource": resource, "action": action, "effect": "allow"}
                       for resource, action in sorted(robot.access)],
        }],
    }


def _validated(body: dict[str, Any]) -> tuple[str, frozenset[tuple[str, str]]]:
    duration = body.get("duration")
    if not isinstance(duration, int) or not (duration == -1 or duration > 0):
        raise bad_request(f"bad request error duration input: {duration}, duration must be either -1(Never) or a "
                          f"positive integer")
    if body.get("level") not in ("project", "system"):
        raise bad_request(f"bad request error level input: {body.get('level')}")
    permissions = body.get("permissions") or []
    if not permissions:
        raise bad_request("bad request empty permission")
    if body["level"] == "project" and len(permissions) > 1:
        raise bad_request("bad request permission")
    access: set[tuple[str, str]] = set()
    for permission in permissions:
        if not permission.get("access"):
            raise bad_request("bad request empty access")
        if permission.get("kind") != "project":
            raise bad_request(f"bad request permission level: {permission.get('kind')}")
        for item in permission["access"]:
            pair = (str(item.get("resource")), str(item.get("action")))
            if pair not in PROJECT_POLICIES:
                raise bad_request(f"bad request permission: {pair[0]}:{pair[1]}")
            access.add(pair)
    return str(permissions[0].get("namespace") or ""), frozenset(access)


def list_robots(api: Api, call: Call) -> Reply:
    if not call.principal.authenticated:
        raise unauthorized()
    keywords = dict(part.split("=", 1) for part in (call.q("q") or "").split(",") if "=" in part)
    if keywords.get("Level") != "project":
        raise forbidden() if not call.principal.sysadmin else bad_request("only project robots are in this double")
    if "ProjectID" not in keywords:
        raise bad_request("must with project ID when to query project robots")
    if not keywords["ProjectID"].isdigit() or int(keywords["ProjectID"]) <= 0:
        raise bad_request("ProjectID must be a positive integer")
    project = api.state.project_by_id(int(keywords["ProjectID"]))
    _admin_of(api, call, project)
    robots = sorted((r for r in api.state.accounts.robots.values() if r.project == project.name),
                    key=lambda r: r.id)
    size = call.integer("page_size", 10, maximum=100)
    number = call.integer("page", 1)
    items = [robot_json(api, r) for r in page(robots, number, size)]  # type: ignore[arg-type]
    return api.list_reply(call, items, len(robots), number, size)


def create_robot(api: Api, call: Call) -> Reply:
    body = _body(call)
    if not call.principal.authenticated:
        raise unauthorized()
    namespace, access = _validated(body)
    project = api.state.projects.get(namespace)
    if project is None:
        raise not_found(f"project {namespace} not found")
    _admin_of(api, call, project)
    name = str(body.get("name") or "")
    if not ROBOT_NAME.match(name):
        raise bad_request("robot name is not in lower case or contains illegal characters")
    full = f"robot${project.name}+{name}"
    if full in api.state.accounts.robots:
        raise HarborError("CONFLICT", f"robot account {project.name}+{name} already exists")
    secret = str(body.get("secret") or "") or secrets.token_urlsafe(24)
    robot = Robot(name=full, secret=secret, project=project.name, access=access,
                  disabled=bool(body.get("disable", False)), id=api.state.next_id("robot"),
                  description=str(body.get("description") or ""), duration=int(body["duration"]),
                  created=api.state.clock.now())
    api.state.accounts.robots[full] = robot
    created = {"id": robot.id, "name": full, "secret": secret, "creation_time": fmt_time(robot.created),
               "expires_at": -1 if robot.duration == -1 else 0}
    return _reply(201, created, headers=[("Location", f"/api/v2.0/robots/{robot.id}")])


def update_robot(api: Api, call: Call) -> Reply:
    body = _body(call)
    if not call.principal.authenticated:
        raise unauthorized()
    robot_id = int(call.path["robot_id"]) if call.path["robot_id"].isdigit() else -1
    robot = next((r for r in api.state.accounts.robots.values() if r.id == robot_id), None)
    if robot is None:
        raise not_found(f"robot {robot_id} not found")
    namespace, access = _validated(body)
    if namespace != robot.project:
        raise bad_request("cannot update the project id of robot")
    _admin_of(api, call, api.state.project(robot.project))
    if body.get("level") != "project" or body.get("name") != robot.name:
        raise bad_request("cannot update the level or name of robot")
    robot.description = str(body.get("description") or "")
    robot.disabled = bool(body.get("disable", False))
    robot.duration = int(body["duration"])
    robot.access = access
    return _reply(200)

"""Harbor's side of plan/apply: per team project, its settings, CVE allowlist, release-tag immutability and robots.

Desired state, derived from the fleet config (one project per team once teams exist; `harbor.project` until then):

* the project, created if missing, `public: false`;
* metadata consistent with the scan gate (`harbor.scan`): `auto_scan` = the gate is enabled (Harbor scans every
  push); `prevent_vul` = the gate is enabled and does not `ignore_unfixed` (Harbor's pull blocking,
  middleware/vulnerable, knows nothing of fixed versions: with `ignore_unfixed` it would block images the gate
  passed); `severity` = `fail_on` as Harbor spells it (pkg/scan/vuln ParseSeverityVersion3 maps negligible to
  none);
* the project CVE allowlist = `scan.allowlist` (no expiry);
* one immutable tag rule for release tags: doublestar `*.*.*` in every repository (`1.2.3`, `v1.2.3`,
  `1.2.3-rc.1`; never `latest`), which the resource's `put` then cannot overwrite;
* two robot accounts with the least they need: `ci` (what the harbor-image resource needs: docs/harbor-image.md)
  and the pull robot named by `spinnaker.registry_username` (`robot$<project>+spinnaker`) for clouddriver, igor
  and Kubernetes image pulls: `repository:pull` only — when that name is a robot of the project (Harbor's default
  `robot$` prefix); another account is not shiplane's to manage.

Only objects shiplane owns are changed: other immutable rules and robots of the project are left alone. A robot's
secret is returned by Harbor once, at creation: apply writes it to `<secrets-dir>/<project>+<robot>.json` (mode
0600, written atomically) and prints only the file's path.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harbor_admin import HarborAdmin, HarborAdminError

from shiplane.errors import ShiplaneError
from shiplane.model import Fleet
from shiplane.reconcile.changes import Change
from shiplane.reconcile.diff import json_paths

SEVERITY = {"negligible": "none", "low": "low", "medium": "medium", "high": "high", "critical": "critical"}
RELEASE_TAGS = "*.*.*"
CI_ROBOT_ACCESS: tuple[tuple[str, str], ...] = (
    ("repository", "pull"), ("repository", "push"), ("repository", "read"),
    ("artifact", "list"), ("artifact", "read"),
    ("tag", "list"), ("tag", "create"), ("tag", "delete"),
    ("scan", "create"), ("scan", "stop"), ("scan", "read"),
    ("artifact-addition", "read"),
)
"""What the harbor-image resource needs (docs/harbor-image.md, "Robot account permissions")."""
PULL_ROBOT_ACCESS: tuple[tuple[str, str], ...] = (("repository", "pull"),)
"""A registry token with pull scope (core/service/token creator.go maps pull to repository:pull) is all clouddriver,
igor and the kubelet need: they read manifests and tag lists of the repositories they are given."""
ROBOT_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")


@dataclass(frozen=True)
class RobotSpec:
    name: str
    """Short name; Harbor calls it robot$<project>+<name>."""
    description: str
    access: tuple[tuple[str, str], ...]

    def full_name(self, project: str) -> str:
        return f"robot${project}+{self.name}"

    def payload(self, project: str, *, full: bool) -> dict[str, Any]:
        return {
            "name": self.full_name(project) if full else self.name,
            "description": self.description,
            "duration": -1,
            "level": "project",
            "disable": False,
            "permissions": [{
                "kind": "project",
                "namespace": project,
                "access": [{"resource": r, "action": a, "effect": "allow"} for r, a in self.access],
            }],
        }


@dataclass(frozen=True)
class ProjectSpec:
    name: str
    metadata: dict[str, str]
    allowlist: tuple[str, ...]
    robots: tuple[RobotSpec, ...]
    release_tags: str = RELEASE_TAGS

    def rule(self) -> dict[str, Any]:
        return {
            "action": "immutable",
            "template": "immutable_template",
            "disabled": False,
            "priority": 0,
            "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": self.release_tags}],
            "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches", "pattern": "**"}]},
        }


def pull_robot_name(fleet: Fleet) -> str | None:
    """The short name of `spinnaker.registry_username` when it is a robot of the project (Harbor's default robot
    prefix `robot$`), else None: clouddriver then reads with an account shiplane does not manage."""
    prefix = f"robot${fleet.harbor.project}+"
    username = fleet.spinnaker.registry_username
    if username.startswith(prefix) and ROBOT_NAME.match(username[len(prefix):]):
        return username[len(prefix):]
    return None


def desired_projects(fleet: Fleet) -> list[ProjectSpec]:
    scan = fleet.harbor.scan
    owner = f"{fleet.concourse.config_repo.uri} {fleet.concourse.config_repo.path}"
    metadata = {
        "public": "false",
        "auto_scan": "true" if scan.enabled else "false",
        "prevent_vul": "true" if scan.enabled and not scan.ignore_unfixed else "false",
        "severity": SEVERITY[scan.fail_on],
    }
    robots = [RobotSpec("ci", f"Concourse harbor-image resource: push, tag, scan. Managed by shiplane ({owner}).",
                        CI_ROBOT_ACCESS)]
    pull = pull_robot_name(fleet)
    if pull is not None and pull != "ci":
        robots.append(RobotSpec(pull, f"Spinnaker and Kubernetes image pulls. Managed by shiplane ({owner}).",
                                PULL_ROBOT_ACCESS))
    # one project per team's Harbor project (issue 10's teams), plus harbor.project for apps without a team
    projects = {project for project, _repositories in fleet.repositories_by_project()}
    if fleet.harbor.project is not None:
        projects.add(fleet.harbor.project)
    allowlist = tuple(sorted(scan.allowlist))
    return [ProjectSpec(project, metadata, allowlist, tuple(robots)) for project in sorted(projects)]


def normalised(key: str, value: Any) -> Any:
    """A stored metadata value as Harbor reads it: booleans and severities case-insensitively (the metadata API
    lowercases them, handler/project_metadata.go validate; ParseSeverityVersion3 reads negligible as none)."""
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    if key == "severity":
        return SEVERITY.get(text, text)
    return text if text in ("true", "false") else value


def _selectors(rule: dict[str, Any]) -> tuple[str, str, str, str]:
    tags = (rule.get("tag_selectors") or [{}])[0]
    repos = ((rule.get("scope_selectors") or {}).get("repository") or [{}])[0]
    return (str(tags.get("pattern")), str(tags.get("decoration")), str(repos.get("pattern")),
            str(repos.get("decoration")))


def _robot_view(robot: dict[str, Any]) -> dict[str, Any]:
    access: list[str] = []
    for permission in robot.get("permissions") or []:
        access += [f"{item.get('resource')}:{item.get('action')}" for item in permission.get("access") or []]
    return {"description": robot.get("description", ""), "disable": bool(robot.get("disable")),
            "duration": robot.get("duration"), "access": sorted(access)}


def plan(admin: HarborAdmin, specs: list[ProjectSpec]) -> list[Change]:
    changes: list[Change] = []
    for spec in specs:
        project = admin.get_project(spec.name)
        if project is None:
            changes.append(Change("harbor", "project", "create", spec.name,
                                  tuple(json_paths({}, {"metadata": spec.metadata})),
                                  payload={"metadata": spec.metadata}))
            if spec.allowlist:
                changes.append(Change("harbor", "cve-allowlist", "update", spec.name,
                                      tuple(json_paths([], list(spec.allowlist))),
                                      payload={"allowlist": list(spec.allowlist)}))
            changes.append(Change("harbor", "immutable-rule", "create", f"{spec.name} {spec.release_tags}",
                                  payload={"project": spec.name, "rule": spec.rule()}))
            changes += [Change("harbor", "robot", "create", robot.full_name(spec.name),
                               note="its secret goes to a 0600 file under --secrets-dir",
                               payload={"project": spec.name, "robot": robot.payload(spec.name, full=False)})
                        for robot in spec.robots]
            continue
        metadata = project.get("metadata") or {}
        have_metadata = {key: normalised(key, metadata[key]) for key in spec.metadata if key in metadata}
        paths = json_paths({"metadata": have_metadata}, {"metadata": spec.metadata})
        if paths:
            changes.append(Change("harbor", "project-metadata", "update", spec.name, tuple(paths),
                                  payload={"metadata": spec.metadata}))
        allowlist = project.get("cve_allowlist") or {}
        have_ids = sorted(str(item.get("cve_id")) for item in allowlist.get("items") or [])
        have_expiry = allowlist.get("expires_at")
        if have_ids != list(spec.allowlist) or have_expiry not in (None, 0):
            paths = json_paths({"items": have_ids, "expires_at": have_expiry},
                               {"items": list(spec.allowlist), "expires_at": have_expiry and None})
            changes.append(Change("harbor", "cve-allowlist", "update", spec.name, tuple(paths),
                                  payload={"allowlist": list(spec.allowlist)}))
        wanted = _selectors(spec.rule())
        rules = [rule for rule in admin.immutable_rules(spec.name) if _selectors(rule) == wanted]
        if not rules:
            changes.append(Change("harbor", "immutable-rule", "create", f"{spec.name} {spec.release_tags}",
                                  payload={"project": spec.name, "rule": spec.rule()}))
        elif all(rule.get("disabled") for rule in rules):
            changes.append(Change("harbor", "immutable-rule", "update", f"{spec.name} {spec.release_tags}",
                                  tuple(json_paths({"disabled": True}, {"disabled": False})),
                                  payload={"project": spec.name, "rule": spec.rule(), "id": rules[0].get("id")}))
        robots = {str(robot.get("name")): robot for robot in admin.project_robots(int(project["project_id"]))}
        for robot in spec.robots:
            full = robot.full_name(spec.name)
            have = robots.get(full)
            if have is None:
                changes.append(Change("harbor", "robot", "create", full,
                                      note="its secret goes to a 0600 file under --secrets-dir",
                                      payload={"project": spec.name, "robot": robot.payload(spec.name, full=False)}))
                continue
            want = robot.payload(spec.name, full=True)
            paths = json_paths(_robot_view(have), _robot_view(want))
            if paths:
                changes.append(Change("harbor", "robot", "update", full, tuple(paths), "the secret is kept",
                                      payload={"project": spec.name, "robot": want, "id": have.get("id")}))
    return changes


def secret_file(secrets_dir: Path, robot_name: str) -> Path:
    """`robot$petclinic+ci` → `<dir>/petclinic+ci.json`."""
    return secrets_dir / (robot_name.removeprefix("robot$") + ".json")


def write_secret(path: Path, name: str, secret: str) -> None:
    """Write `{"name", "secret"}` to `path` with mode 0600 from the first byte, atomically (temp file + rename)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"name": name, "secret": secret}, handle)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def apply(admin: HarborAdmin, change: Change, secrets_dir: Path | None) -> str:
    """Carry out one Harbor change; a short line of what was done (never a secret)."""
    payload = change.payload
    if change.kind == "project":
        try:
            admin.create_project(change.name, payload["metadata"])
        except HarborAdminError as problem:
            # a retried create whose first answer was lost: Harbor says 409, the project is there
            if problem.status != 409 or admin.get_project(change.name) is None:
                raise
            admin.update_project(change.name, metadata=payload["metadata"])
        return "created"
    if change.kind == "project-metadata":
        admin.update_project(change.name, metadata=payload["metadata"])
        return "updated"
    if change.kind == "cve-allowlist":
        admin.update_project(change.name, cve_allowlist=payload["allowlist"])
        return "updated"
    if change.kind == "immutable-rule":
        if change.action == "create":
            try:
                admin.create_immutable_rule(payload["project"], payload["rule"])
            except HarborAdminError as problem:
                if problem.status != 409:  # 409: "immutable rule already exists" (a retried create)
                    raise
            return "created"
        admin.update_immutable_rule(payload["project"], int(payload["id"]), payload["rule"])
        return "updated"
    if change.action == "update":
        admin.update_robot(int(payload["id"]), payload["robot"])
        return "updated (secret kept)"
    if secrets_dir is None:
        raise ShiplaneError(f"{change.name}: creating a robot needs --secrets-dir (Harbor shows its secret once)")
    try:
        created = admin.create_robot(payload["robot"])
    except HarborAdminError as problem:
        if problem.status == 409:
            raise ShiplaneError(
                f"{change.name}: Harbor says it already exists, but it did not when planned (a retried create "
                f"whose first answer was lost?): its secret was never shown; refresh the robot's secret in Harbor, "
                f"or delete it and apply again") from None
        raise
    path = secret_file(secrets_dir, created.name)
    try:
        write_secret(path, created.name, created.secret)
    except OSError as problem:
        raise ShiplaneError(
            f"{created.name} was created but its secret could not be written to {path} ({problem.strerror}); "
            f"refresh its secret in Harbor (Robot Accounts → Refresh secret)") from None
    return f"created; secret written to {path} (mode 0600)"

"""`/api/v2.0`: the calls the resource type uses, answered with Harbor's shapes, codes and quirks.

Routing mimics nginx + go-openapi + Harbor: the raw path is percent-decoded once (nginx) and then matched segment
by segment, so `a%2Fb` becomes `a/b` and does not route (404 "path … was not found"), while `a%252Fb` becomes the
segment `a%2Fb`, which Harbor decodes again (handler/util.go unescapePathParams) to the repository `a/b`.
Parameters are validated the go-openapi way (422 "validation failure list: …") before the handler runs.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .admin_api import admin_routes
from .auth import Principal
from .clock import fmt_time
from .errors import HarborError, bad_request, forbidden, go_json, not_found, unauthorized, validation_failure
from .query import links, page, parse_q
from .scanner import DEFAULT_ACCEPT, NATIVE_MIME, SCAN_MIME_TYPES, parse_report_ids
from .state import MANIFEST_TYPES, Artifact, Project, Reference, Repository, Tag, is_digest

if TYPE_CHECKING:
    from .double import HarborDouble
    from .server import Exchange

API_PREFIX = "/api/v2.0"
JSON = "application/json"
SEGMENT = r"[^/]+"
TRUE_VALUES = {"true", "1", "yes", "ok", "y", "on", "selected", "checked", "t", "enabled"}  # swag.ConvertBool


@dataclass
class Call:
    """One API call: path parameters (decoded as Harbor sees them), query and who is calling."""

    ex: Exchange
    principal: Principal
    path: dict[str, str]
    route_path: str
    body: bytes = b""
    query: dict[str, list[str]] = field(default_factory=dict)

    def q(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def flag(self, name: str, default: bool) -> bool:
        value = self.q(name)
        if value is None or value == "":
            return default
        return value.lower() in TRUE_VALUES

    def integer(self, name: str, default: int, maximum: int | None = None) -> int:
        value = self.q(name)
        if value is None or value == "":
            return default
        try:
            number = int(value)
        except ValueError:
            raise validation_failure(f'{name} in query must be of type int64: "{value}"') from None
        if maximum is not None and number > maximum:
            raise validation_failure(f"{name} in query should be less than or equal to {maximum}")
        return number

    @property
    def repository_name(self) -> str:
        return f"{self.path['project_name']}/{self.path['repository_name']}"

    def accept(self) -> list[str]:
        """parseScanReportMimeTypes over X-Accept-Vulnerabilities (default: the swagger default)."""
        header = self.ex.headers.get("X-Accept-Vulnerabilities")
        if header is None:
            return list(DEFAULT_ACCEPT)
        mimes = [m.strip() for m in header.split(",") if m.strip() in SCAN_MIME_TYPES]
        return mimes or [NATIVE_MIME]


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str | None = JSON
    headers: list[tuple[str, str]] = field(default_factory=list)


Handler = Callable[["Api", Call], Reply]


def _route(pattern: str) -> re.Pattern[str]:
    regex = re.sub(r"\{(\w+)\}", lambda m: f"(?P<{m.group(1)}>{SEGMENT})", pattern)
    return re.compile(f"^{regex}$")


ARTIFACT = "/projects/{project_name}/repositories/{repository_name}/artifacts/{reference}"


class Api:
    """The API handlers of one double. Every handler runs with the state lock held."""

    def __init__(self, double: HarborDouble) -> None:
        self.double = double
        self.state = double.state
        self.routes: list[tuple[re.Pattern[str], dict[str, Handler]]] = [
            (_route("/ping"), {"GET": Api.ping}),
            (_route("/health"), {"GET": Api.health}),
            (_route("/systeminfo"), {"GET": Api.systeminfo}),
            (_route("/projects/{project_name}"), {"GET": Api.get_project}),
            (_route("/projects/{project_name}/scanner"), {"GET": Api.get_project_scanner}),
            (_route("/projects/{project_name}/repositories/{repository_name}"), {"GET": Api.get_repository}),
            (
                _route("/projects/{project_name}/repositories/{repository_name}/artifacts"),
                {"GET": Api.list_artifacts},
            ),
            (_route(ARTIFACT), {"GET": Api.get_artifact, "DELETE": Api.delete_artifact}),
            (_route(ARTIFACT + "/tags"), {"GET": Api.list_tags, "POST": Api.create_tag}),
            (_route(ARTIFACT + "/tags/{tag_name}"), {"DELETE": Api.delete_tag}),
            (_route(ARTIFACT + "/scan"), {"POST": Api.scan}),
            (_route(ARTIFACT + "/scan/stop"), {"POST": Api.stop_scan}),
            (_route(ARTIFACT + "/scan/{report_id}/log"), {"GET": Api.scan_log}),
            (_route(ARTIFACT + "/additions/vulnerabilities"), {"GET": Api.vulnerabilities}),
            (_route(ARTIFACT + "/additions/{addition}"), {"GET": Api.addition}),
        ]
        # administration (projects, metadata, allowlists, immutable rules, robots): admin_api.py
        self.routes += [(_route(pattern), methods) for pattern, methods in admin_routes()]

    # --- dispatch ------------------------------------------------------------------------------------------
    def handle(self, ex: Exchange, principal: Principal) -> Reply:
        decoded = urllib.parse.unquote(ex.raw_path)  # nginx normalises (decodes) the URI once
        route_path = decoded.removeprefix(API_PREFIX)
        allowed: list[str] = []
        for pattern, methods in self.routes:
            match = pattern.match(route_path)
            if match is None:
                continue
            handler = methods.get(ex.method)
            if handler is None:
                allowed.extend(methods)
                continue
            params = dict(match.groupdict())
            if "repository_name" in params:
                params["repository_name"] = urllib.parse.unquote(params["repository_name"])
            call = Call(ex, principal, params, route_path, query=ex.params)
            if ex.method in ("POST", "PUT", "PATCH"):
                call.body = ex.read_body(1024 * 1024)
            request_id = ex.headers.get("X-Request-Id")
            if request_id is not None and not request_id:
                raise validation_failure("X-Request-Id in header should be at least 1 chars long")
            with self.state.lock:
                return handler(self, call)
        if allowed:
            methods_text = ",".join(sorted(set(allowed)))
            raise HarborError(
                "METHOD_NOT_ALLOWED", f"method {ex.method} is not allowed, but [{methods_text}] are", status=405
            )
        raise not_found(f"path {ex.raw_path} was not found")

    # --- helpers -------------------------------------------------------------------------------------------
    def require(self, call: Call, project_name: str, resource: str, action: str) -> Project | None:
        """RequireProjectAccess: 401 for the anonymous, 403 for the authenticated without the permission."""
        project = self.state.projects.get(project_name)
        if call.principal.sysadmin:
            return project
        if project is not None:
            granted = self.state.accounts.permissions(call.principal, project.name, project.public)
            if (resource, action) in granted:
                return project
        if not call.principal.authenticated:
            raise unauthorized()
        raise forbidden()

    def artifact(self, call: Call) -> Artifact:
        return self.state.artifact_by_reference(call.repository_name, call.path["reference"])

    def now(self) -> str:
        return fmt_time(self.state.clock.now())

    def scannable(self, artifact: Artifact) -> bool:
        return self.state.scanner.configured and bool(self.state.scan_targets(artifact))

    def tag_json(self, tag: Tag, with_immutable: bool) -> dict[str, object]:
        return {
            "id": tag.id,
            "repository_id": tag.repository_id,
            "artifact_id": tag.artifact_id,
            "name": tag.name,
            "push_time": fmt_time(tag.push_time),
            "pull_time": fmt_time(tag.pull_time),
            "immutable": with_immutable and self.state.tag_immutable(self.state.artifacts[tag.artifact_id]
                                                                     .repository_name, tag.name),
        }  # fmt: skip

    def artifact_json(self, artifact: Artifact, call: Call, *, with_tag: bool, with_scan_overview: bool,
                      with_immutable: bool) -> dict[str, object]:  # fmt: skip
        """model.Artifact.ToSwagger: arrays are never omitted (null when empty), maps and scalars are omitempty."""
        data: dict[str, object] = {
            "id": artifact.id,
            "type": artifact.type,
            "media_type": artifact.media_type,
            "manifest_media_type": artifact.manifest_media_type,
            "project_id": artifact.project_id,
            "repository_id": artifact.repository_id,
            "repository_name": artifact.repository_name,
            "digest": artifact.digest,
            "icon": artifact.icon,
            "push_time": fmt_time(artifact.push_time),
            "pull_time": fmt_time(artifact.pull_time),
            "references": [self.reference_json(r) for r in artifact.references] or None,
            "tags": None,
            "labels": None,
            "accessories": None,
        }
        if artifact.artifact_type:
            data["artifact_type"] = artifact.artifact_type
        if artifact.size:
            data["size"] = artifact.size
        if artifact.extra_attrs:
            data["extra_attrs"] = artifact.extra_attrs
        if artifact.annotations:
            data["annotations"] = artifact.annotations
        if with_tag:
            data["tags"] = [self.tag_json(tag, with_immutable) for tag in artifact.sorted_tags()] or None
        project, repo = artifact.repository_name.split("/", 1)
        base = f"{API_PREFIX}/projects/{project}/repositories/{repo.replace('/', '%252F')}/artifacts"
        additions: dict[str, dict[str, object]] = {}
        if artifact.type == "IMAGE" and artifact.manifest_media_type in MANIFEST_TYPES:
            additions["build_history"] = {"href": f"{base}/{artifact.digest}/additions/build_history",
                                          "absolute": False}  # fmt: skip
        if self.scannable(artifact):
            additions["vulnerabilities"] = {"href": f"{base}/{artifact.digest}/additions/vulnerabilities",
                                            "absolute": False}  # fmt: skip
            if with_scan_overview:
                overview = self.scan_overview(artifact, call.accept())
                if overview:
                    data["scan_overview"] = overview
            # SetSBOMAdditionLink("", …): Harbor really renders an empty digest here.
            additions["sboms"] = {"href": f"{base}//additions/sbom", "absolute": False}
        if additions:
            data["addition_links"] = additions
        return data

    def reference_json(self, reference: Reference) -> dict[str, object]:
        data: dict[str, object] = {
            "parent_id": reference.parent_id,
            "child_id": reference.child_id,
            "child_digest": reference.child_digest,
            "urls": reference.urls,
        }
        if reference.platform:
            platform: dict[str, object] = {"'os.features'": reference.platform.get("os.features")}
            for key, name in (("architecture", "architecture"), ("os", "os"), ("variant", "variant"),
                              ("os.version", "'os.version'")):  # fmt: skip
                if reference.platform.get(key):
                    platform[name] = reference.platform[key]
            data["platform"] = platform
        if reference.annotations:
            data["annotations"] = reference.annotations
        return data

    def scan_overview(self, artifact: Artifact, accept: list[str]) -> dict[str, object] | None:
        reports = self.state.reports(artifact)
        if not reports:
            return None
        for mime in accept:
            if mime in self.state.scanner.mime_types:
                return {mime: self.state.scanner.summary(reports, self.state.clock.now())}
        return None

    def repository_json(self, repository: Repository) -> dict[str, object]:
        data: dict[str, object] = {
            "id": repository.id,
            "project_id": repository.project_id,
            "name": repository.name,
            "artifact_count": self.state.artifact_count(repository),
            "pull_count": repository.pull_count,
            "creation_time": fmt_time(repository.creation_time),
            "update_time": fmt_time(repository.update_time),
        }
        if repository.description:
            data["description"] = repository.description
        return data

    def list_reply(self, call: Call, items: list[dict[str, object]], total: int, number: int, size: int) -> Reply:
        headers = [("X-Total-Count", str(total))]
        link = links(call.ex.raw_path, call.ex.raw_query, total, number, size)
        if link:
            headers.append(("Link", link))
        return Reply(200, go_json(items), headers=headers)

    # --- system --------------------------------------------------------------------------------------------
    def ping(self, call: Call) -> Reply:
        return Reply(200, b"Pong", content_type="text/plain")

    def health(self, call: Call) -> Reply:
        components = ["core", "database", "jobservice", "portal", "redis", "registry", "registryctl", "trivy"]
        registry_up = self.double.upstream_available
        body = {
            "status": "healthy" if registry_up else "unhealthy",
            "components": [
                {"name": name, "status": "healthy" if registry_up or name != "registry" else "unhealthy"}
                | ({} if registry_up or name != "registry" else {"error": "failed to connect to registry"})
                for name in components
            ],
        }
        return Reply(200, go_json(body))

    def systeminfo(self, call: Call) -> Reply:
        body: dict[str, object] = {
            "auth_mode": "db_auth",
            "primary_auth_mode": False,
            "self_registration": False,
            "banner_message": "",
            "oidc_provider_name": "",
        }
        if call.principal.authenticated:
            body |= {
                "has_ca_root": False,
                "project_creation_restriction": "everyone",
                "harbor_version": self.double.version,
                "external_url": call.ex.base_url,
                "registry_url": call.ex.host,
                "read_only": False,
                "registry_storage_provider_name": "filesystem",
                "notification_enable": True,
                "current_time": self.now(),
            }
        return Reply(200, go_json(body))

    # --- projects and repositories -------------------------------------------------------------------------
    def get_project(self, call: Call) -> Reply:
        name = call.path["project_name"]
        self.require(call, name, "self", "read")
        project = self.state.project(name)
        repo_count = sum(1 for repo in self.state.repositories.values() if repo.project_id == project.id)
        allowlist: dict[str, object] = {
            "id": project.id,
            "project_id": project.id,
            "items": [{"cve_id": cve} for cve in project.cve_allowlist],
            "creation_time": fmt_time(project.creation_time),
            "update_time": fmt_time(project.update_time),
        }
        if project.allowlist_expires_at is not None:
            allowlist["expires_at"] = project.allowlist_expires_at
        body = {
            "project_id": project.id,
            "owner_id": 1,
            "name": project.name,
            "creation_time": fmt_time(project.creation_time),
            "update_time": fmt_time(project.update_time),
            "owner_name": "admin",
            "togglable": True,
            "current_user_role_ids": None,
            "repo_count": repo_count,
            "metadata": dict(project.metadata),
            "cve_allowlist": allowlist,
        }
        return Reply(200, go_json(body))

    def get_project_scanner(self, call: Call) -> Reply:
        self.require(call, call.path["project_name"], "scanner", "read")
        self.state.project(call.path["project_name"])
        scanner = self.state.scanner
        if not scanner.configured:
            raise not_found("no scanner is configured")
        registration = scanner.registration
        body = {
            "uuid": "00000000-0000-0000-0000-000000000001",
            "name": registration.name,
            "description": "",
            "url": "http://trivy-adapter:8080",
            "disabled": scanner.disabled,
            "is_default": True,
            "auth": "",
            "access_credential": "",
            "skip_certVerify": False,
            "use_internal_addr": True,
            "adapter": registration.name,
            "vendor": registration.vendor,
            "version": registration.version,
            "health": "healthy",
        }
        return Reply(200, go_json(body))

    def get_repository(self, call: Call) -> Reply:
        self.require(call, call.path["project_name"], "repository", "read")
        repository = self.state.repository(call.repository_name)
        return Reply(200, go_json(self.repository_json(repository)))

    # --- artifacts -----------------------------------------------------------------------------------------
    def list_artifacts(self, call: Call) -> Reply:
        size = call.integer("page_size", 10, maximum=100)
        number = call.integer("page", 1)
        self.require(call, call.path["project_name"], "artifact", "list")
        keywords = parse_q(call.q("q") or "")
        keywords["RepositoryName"] = call.repository_name
        artifacts = self.state.list_artifacts(call.repository_name, keywords, call.q("sort") or "")
        selected = page(artifacts, number, size)
        options = {
            "with_tag": call.flag("with_tag", True),
            "with_scan_overview": call.flag("with_scan_overview", False),
            "with_immutable": call.flag("with_immutable_status", False),
        }
        items = [self.artifact_json(a, call, **options) for a in selected]  # type: ignore[arg-type]
        return self.list_reply(call, items, len(artifacts), number, size)

    def get_artifact(self, call: Call) -> Reply:
        self.require(call, call.path["project_name"], "artifact", "read")
        artifact = self.artifact(call)
        body = self.artifact_json(
            artifact,
            call,
            with_tag=call.flag("with_tag", True),
            with_scan_overview=call.flag("with_scan_overview", False),
            with_immutable=call.flag("with_immutable_status", False),
        )
        return Reply(200, go_json(body))

    def delete_artifact(self, call: Call) -> Reply:
        self.require(call, call.path["project_name"], "artifact", "delete")
        self.state.delete_artifact(self.artifact(call))
        return Reply(200, b"", content_type=None)

    # --- tags ----------------------------------------------------------------------------------------------
    def list_tags(self, call: Call) -> Reply:
        size = call.integer("page_size", 10, maximum=100)
        number = call.integer("page", 1)
        self.require(call, call.path["project_name"], "tag", "list")
        keywords = parse_q(call.q("q") or "")
        artifact = self.artifact(call)
        tags = self.state.list_tags(artifact, keywords, call.q("sort") or "")
        with_immutable = call.flag("with_immutable_status", False)
        items = [self.tag_json(tag, with_immutable) for tag in page(tags, number, size)]  # type: ignore[arg-type]
        return self.list_reply(call, items, len(tags), number, size)

    def create_tag(self, call: Call) -> Reply:
        try:
            payload = json.loads(call.body or b"null")
        except ValueError:
            raise HarborError("BAD_REQUEST", 'parsing tag body from "" failed, because invalid JSON') from None
        if not isinstance(payload, dict):
            raise validation_failure("tag in body is required")
        self.require(call, call.path["project_name"], "tag", "create")
        artifact = self.artifact(call)
        self.state.create_tag(artifact, str(payload.get("name", "")))
        return Reply(201, b"", content_type=None)

    def delete_tag(self, call: Call) -> Reply:
        self.require(call, call.path["project_name"], "tag", "delete")
        artifact = self.artifact(call)
        self.state.delete_tag(artifact, call.path["tag_name"])
        return Reply(200, b"", content_type=None)

    # --- scans ---------------------------------------------------------------------------------------------
    def scan(self, call: Call) -> Reply:
        scan_type = _scan_type(call.body)
        self.require(call, call.path["project_name"], "sbom" if scan_type == "sbom" else "scan", "create")
        artifact = self.artifact(call)
        tag = None if is_digest(call.path["reference"]) else call.path["reference"]
        self.double.start_scan(artifact, tag=tag, trigger="MANUAL", scan_type=scan_type)
        return Reply(202, b"", content_type=None)

    def stop_scan(self, call: Call) -> Reply:
        if not call.body:
            raise validation_failure("scanType in body is required")
        self.require(call, call.path["project_name"], "scan", "stop")
        artifact = self.artifact(call)
        now = self.state.clock.now()
        stopped = [self.state.scanner.stop(target.digest, now) for target in self.state.scan_targets(artifact)]
        if not any(stopped):
            raise bad_request(f"no scan job for artifact digest={artifact.digest}")
        return Reply(202, b"", content_type=None)

    def scan_log(self, call: Call) -> Reply:
        self.require(call, call.path["project_name"], "scan", "read")
        artifact = self.artifact(call)
        report_id = call.path["report_id"]
        reports = self.state.reports(artifact) or []
        wanted = [r for r in reports if r.uuid in parse_report_ids(report_id)]
        if not wanted:
            raise not_found(f"report with uuid {report_id} does not exist")
        now = self.state.clock.now()
        lines = [
            f"{fmt_time(r.queued_at)} [INFO] scan of {r.digest} by {self.state.scanner.registration.name}: "
            f"{r.status(now)}"
            for r in wanted
        ]
        return Reply(200, ("\n".join(lines) + "\n").encode(), content_type="text/plain")

    def vulnerabilities(self, call: Call) -> Reply:
        self.require(call, call.path["project_name"], "artifact-addition", "read")
        artifact = self.artifact(call)
        scanner = self.state.scanner
        if not scanner.configured:
            raise not_found(f"no scanner registration configured for project: {artifact.project_id}")
        if not self.state.scan_targets(artifact):
            raise not_found(f"report not found for {artifact.repository_name}@{artifact.digest}")
        result: dict[str, object] = {}
        reports = self.state.reports(artifact)
        for mime in call.accept():
            if mime not in scanner.mime_types or not reports:
                continue
            report = scanner.report_json(reports, self.state.clock.now())
            if report is not None:
                result[mime] = report
                break
        return Reply(200, go_json(result), content_type="application/json")

    def addition(self, call: Call) -> Reply:
        self.require(call, call.path["project_name"], "artifact-addition", "read")
        artifact = self.artifact(call)
        addition = call.path["addition"].upper()
        if artifact.type != "IMAGE" or artifact.manifest_media_type not in MANIFEST_TYPES:
            raise bad_request(f"addition {addition} isn't supported")
        if addition != "BUILD_HISTORY":
            raise bad_request(f"addition {addition} isn't supported for IMAGE(manifest version 2)")
        return Reply(200, go_json(artifact.history), content_type="application/json; charset=utf-8")


def _scan_type(body: bytes) -> str:
    if not body:
        return "vulnerability"
    try:
        payload = json.loads(body)
    except ValueError:
        raise bad_request('parsing scanType body from "" failed, because invalid JSON') from None
    scan_type = payload.get("scan_type") if isinstance(payload, dict) else None
    return "sbom" if scan_type == "sbom" else "vulnerability"

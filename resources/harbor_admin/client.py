"""The Harbor administration client (API v2.0, Harbor v2.15.2 — /work/shared/harbor/swagger.yaml).

Endpoints and the Harbor code they follow (goharbor/harbor, tag v2.15.2):

* ``GET /projects/{name}`` (getProject) — 404 when missing. Every project path is sent with
  ``X-Is-Resource-Name: true`` (handler/project.go parseProjectNameOrID: without it a numeric name is an id).
* ``POST /projects`` (handler/project.go CreateProject) — 201, no body. ``metadata.public`` defaults to "false";
  the request's ``cve_allowlist`` is ignored on creation, so the allowlist is set with a following update.
* ``PUT /projects/{name}`` (UpdateProject) — copies the given ``metadata`` keys over the stored ones
  (lib.JSONCopy) and replaces the CVE allowlist when ``cve_allowlist`` is given.
* ``GET/POST /projects/{name}/immutabletagrules``, ``PUT …/{id}`` (handler/immutable.go) — a rule's id in the
  body must match the path (400 otherwise).
* ``GET /robots?q=Level=project,ProjectID=N`` (handler/robot.go ListRobot), ``POST /robots`` (CreateRobot: 201
  with ``RobotCreated`` — the only time Harbor ever returns the secret), ``PUT /robots/{id}`` (UpdateRobot /
  updateV2Robot: the body's ``name`` must be the full ``robot$project+name`` and ``level`` unchanged, permissions
  are replaced; the secret is kept).

Errors are :class:`HarborAdminError`: one line with Harbor's error body and the fix. No secret in any message: the
password and every robot secret are registered with the log's redaction.
"""

from __future__ import annotations

import time
from base64 import b64encode
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from harbor_image.errors import harbor_error_text
from shiplane_http import ClientLog, Response, Transport, TransportError

API = "/api/v2.0"
PAGE_SIZE = 100  # Harbor's maximum page size (422 above)
MAX_PAGES = 100  # 10,000 robots or rules in one project: a hard cap on any listing walk
USER_AGENT = "shiplane-harbor-admin/0.1"
NAME_HEADER = {"X-Is-Resource-Name": "true"}


class HarborAdminError(Exception):
    """A fatal, user-facing Harbor problem: one line naming the request, Harbor's answer and the fix."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


AdminLog = ClientLog  # debug lines and secret registration (redaction)


@dataclass(frozen=True)
class RobotCreated:
    """What ``POST /robots`` returns once: the robot's id, full name and secret."""

    id: int
    name: str
    secret: str

    def __repr__(self) -> str:  # never the secret, not even in a traceback
        return f"RobotCreated(id={self.id}, name={self.name!r}, secret=***)"


class HarborAdmin:
    """Administration calls against one Harbor (``url`` without path), as ``username``/``password``.

    ``deadline`` is a ``time.monotonic()`` value bounding every request and retry.
    """

    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        log: AdminLog,
        deadline: float,
        *,
        insecure: bool = False,
        ca_certs: list[str] | None = None,
        url_field: str = "harbor.url",
        ca_field: str = "--harbor-ca",
        sleep: Callable[[float], None] = time.sleep,
        **transport_options: Any,
    ) -> None:
        self.url = url.rstrip("/")
        self.log = log
        log.add_secret(password, username)
        self.transport = Transport(
            self.url,
            log,
            deadline,
            service="Harbor",
            url_field=url_field,
            ca_field=ca_field,
            auth_header="Basic " + b64encode(f"{username}:{password}".encode()).decode("ascii"),
            insecure=insecure,
            ca_certs=ca_certs,
            user_agent=USER_AGENT,
            sleep=sleep,
            **transport_options,
        )
        self.username = username

    @property
    def requests(self) -> int:
        return self.transport.requests

    def close(self) -> None:
        self.transport.close()

    def request(
        self, method: str, path: str, query: list[tuple[str, str]] | None = None, body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        try:
            return self.transport.request(method, API + path, query, body, headers)
        except TransportError as problem:
            raise HarborAdminError(str(problem)) from None

    @staticmethod
    def json(response: Response) -> Any:
        try:
            return response.json("Harbor")
        except TransportError as problem:
            raise HarborAdminError(str(problem), response.status) from None

    def fail(self, response: Response, what: str) -> HarborAdminError:
        detail = harbor_error_text(response.body)
        if response.status == 401:
            return HarborAdminError(
                f"{what}: Harbor refused the credentials (401 {detail}); check HARBOR_USERNAME and HARBOR_PASSWORD "
                f"(or the --harbor-credentials file)", 401)
        if response.status == 403:
            return HarborAdminError(
                f"{what}: forbidden (403 {detail}); {self.username} must be a Harbor administrator (to create "
                f"projects) or an admin of the project", 403)
        return HarborAdminError(f"{what}: Harbor answered {response.status} ({detail})", response.status)

    @staticmethod
    def _project(name: str) -> str:
        return f"/projects/{quote(name, safe='')}"

    # -- projects --------------------------------------------------------------------------------------------

    def get_project(self, name: str) -> dict[str, Any] | None:
        """The project (``project_id``, ``metadata``, ``cve_allowlist``, ...) or None when it does not exist."""
        response = self.request("GET", self._project(name), headers=NAME_HEADER)
        if response.status == 404:
            return None
        if response.status != 200:
            raise self.fail(response, f"reading Harbor project {name}")
        body = self.json(response)
        if not isinstance(body, dict):
            raise HarborAdminError(f"reading Harbor project {name}: Harbor answered a non-object")
        return body

    def create_project(self, name: str, metadata: dict[str, str]) -> None:
        body = {"project_name": name, "metadata": metadata}
        response = self.request("POST", "/projects", body=body, headers={"X-Resource-Name-In-Location": "true"})
        if response.status != 201:
            raise self.fail(response, f"creating Harbor project {name}")

    def update_project(
        self, name: str, *, metadata: dict[str, str] | None = None, cve_allowlist: list[str] | None = None
    ) -> None:
        """Set metadata keys and/or replace the project's CVE allowlist (ids such as CVE-2024-1234)."""
        body: dict[str, Any] = {}
        if metadata is not None:
            body["metadata"] = metadata
        if cve_allowlist is not None:
            body["cve_allowlist"] = {"items": [{"cve_id": cve} for cve in cve_allowlist]}
        response = self.request("PUT", self._project(name), body=body, headers=NAME_HEADER)
        if response.status != 200:
            raise self.fail(response, f"updating Harbor project {name}")

    # -- immutable tag rules ---------------------------------------------------------------------------------

    def _walk(self, path: str, query: list[tuple[str, str]], what: str, headers: dict[str, str] | None = None
              ) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in range(1, MAX_PAGES + 1):
            response = self.request("GET", path, [*query, ("page", str(page)), ("page_size", str(PAGE_SIZE))],
                                    headers=headers)
            if response.status != 200:
                raise self.fail(response, what)
            body = self.json(response) or []
            if not isinstance(body, list):
                raise HarborAdminError(f"{what}: Harbor answered a non-list")
            items += [item for item in body if isinstance(item, dict)]
            total_header = response.headers.get("x-total-count", "")
            total = int(total_header) if total_header.strip().isdigit() else None
            if len(body) < PAGE_SIZE or (total is not None and len(items) >= total):
                return items
        raise HarborAdminError(f"{what}: more than {MAX_PAGES * PAGE_SIZE} entries; clean up the project")

    def immutable_rules(self, project: str) -> list[dict[str, Any]]:
        return self._walk(f"{self._project(project)}/immutabletagrules", [],
                          f"listing the immutable tag rules of Harbor project {project}", NAME_HEADER)

    def create_immutable_rule(self, project: str, rule: dict[str, Any]) -> None:
        response = self.request("POST", f"{self._project(project)}/immutabletagrules", body=rule,
                                headers=NAME_HEADER)
        if response.status != 201:
            raise self.fail(response, f"creating an immutable tag rule in Harbor project {project}")

    def update_immutable_rule(self, project: str, rule_id: int, rule: dict[str, Any]) -> None:
        response = self.request("PUT", f"{self._project(project)}/immutabletagrules/{rule_id}",
                                body={**rule, "id": rule_id}, headers=NAME_HEADER)
        if response.status != 200:
            raise self.fail(response, f"updating immutable tag rule {rule_id} of Harbor project {project}")

    # -- robot accounts --------------------------------------------------------------------------------------

    def project_robots(self, project_id: int) -> list[dict[str, Any]]:
        """The project's robot accounts (``id``, ``name`` as ``robot$project+name``, ``permissions``, ...)."""
        return self._walk("/robots", [("q", f"Level=project,ProjectID={project_id}")],
                          f"listing the robot accounts of Harbor project {project_id}")

    def create_robot(self, robot: dict[str, Any]) -> RobotCreated:
        """``POST /robots``; the created robot with its secret (registered for redaction at once)."""
        response = self.request("POST", "/robots", body=robot)
        if response.status != 201:
            raise self.fail(response, f"creating Harbor robot account {robot.get('name')}")
        body = self.json(response)
        if not isinstance(body, dict) or not isinstance(body.get("secret"), str) or not body.get("name"):
            raise HarborAdminError(f"creating Harbor robot account {robot.get('name')}: Harbor answered 201 without "
                                   f"a name and secret; the robot exists, refresh its secret in Harbor")
        secret = str(body["secret"])
        self.log.add_secret(secret, str(body["name"]))
        return RobotCreated(int(body.get("id") or 0), str(body["name"]), secret)

    def update_robot(self, robot_id: int, robot: dict[str, Any]) -> None:
        response = self.request("PUT", f"/robots/{robot_id}", body=robot)
        if response.status != 200:
            raise self.fail(response, f"updating Harbor robot account {robot.get('name')}")

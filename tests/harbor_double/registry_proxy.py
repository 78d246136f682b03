"""`/v2/…` and `/service/token`: Harbor's core in front of the real registry.

- Auth (middleware/v2auth): no credentials -> 401 `Bearer realm="<double>/service/token",service="harbor-registry"`;
  the token service grants, per requested repository, every action the caller may do in that project; requests
  carrying a valid bearer token (or basic credentials) are forwarded with the registry's own basic credentials.
- Manifests (server/registry/manifest.go): a push by tag is stored in the registry BY DIGEST (the tag lives only in
  Harbor's database), then the artifact and tag are ensured; a pull by tag is resolved to the digest first and
  counted as a pull; DELETE by digest deletes the artifact only (400 UNSUPPORTED by tag). Immutable tags (412) and
  prevent_vul (412 PROJECTPOLICYVIOLATION) are enforced like their middlewares.
- Blobs: HEAD answers 404 for a blob Harbor has not seen (blob middleware), so a first push always uploads; the
  bytes of every upload request are counted (`uploaded_bytes`).
- Everything streams: bodies are relayed in chunks, never held whole (manifests excepted, as in Harbor).
"""

from __future__ import annotations

import hashlib
import html
import http.client
import re
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from .auth import ANONYMOUS, REGISTRY_ACTION_PERMISSION, TOKEN_ACTIONS, Principal, parse_basic
from .clock import fmt_rfc3339
from .errors import HarborError, go_json, not_found
from .scanner import project_severity, severity_code
from .state import Artifact, Project, is_digest, parse_manifest

if TYPE_CHECKING:
    from .double import HarborDouble
    from .server import Exchange

TOKEN_TTL = 1800
MAX_MANIFEST = 4 * 1024 * 1024
HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
    "transfer-encoding", "upgrade", "host", "authorization", "content-length", "cookie",
}  # fmt: skip
RESPONSE_SKIP = {"connection", "keep-alive", "transfer-encoding", "content-length", "set-cookie", "x-request-id"}

NAME = r"(?P<name>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+)"
ROUTES = [
    ("tags", re.compile(rf"^/v2/{NAME}/tags/list$")),
    ("manifest", re.compile(rf"^/v2/{NAME}/manifests/(?P<reference>[^/]+)$")),
    ("upload", re.compile(rf"^/v2/{NAME}/blobs/uploads/?(?P<session>[^/]*)$")),
    ("blob", re.compile(rf"^/v2/{NAME}/blobs/(?P<digest>[^/]+)$")),
    ("referrers", re.compile(rf"^/v2/{NAME}/referrers/(?P<digest>[^/]+)$")),
]
POLICY = "'Prevent images with vulnerability severity of \"{severity}\" or higher from running.'"


class V2Unauthorized(Exception):
    def __init__(self, message: str, challenge: str) -> None:
        super().__init__(message)
        self.message = message
        self.challenge = challenge


@dataclass
class UploadStats:
    """Bytes sent to the registry in blob uploads (POST/PATCH/PUT bodies), and completed blob digests."""

    bytes: int = 0
    blobs: list[str] = field(default_factory=list)
    manifests: list[str] = field(default_factory=list)  # "name@digest" of every manifest PUT accepted
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_bytes(self, count: int) -> None:
        with self._lock:
            self.bytes += count

    def reset(self) -> None:
        with self._lock:
            self.bytes = 0
            self.blobs.clear()
            self.manifests.clear()


class RegistryProxy:
    def __init__(self, double: HarborDouble) -> None:
        self.double = double
        self.state = double.state
        self.uploads = UploadStats()

    # --- token service -------------------------------------------------------------------------------------
    def token(self, ex: Exchange) -> None:
        service = ex.param("service") or ""
        if service != "harbor-registry":
            text = html.escape(f"Unable to handle service: {service}")
            ex.send(400, text.encode(), content_type="text/html; charset=utf-8")
            return
        principal = self._basic_principal(ex)
        scopes = [s for value in ex.params.get("scope", []) for s in value.split(" ") if s]
        if not principal.authenticated and not scopes:
            ex.send(401, b"", content_type="text/html; charset=utf-8")
            return
        access: list[tuple[str, frozenset[str]]] = []
        with self.state.lock:
            for scope in scopes:
                kind, _, rest = scope.partition(":")
                name, _, _actions = rest.rpartition(":")
                if kind != "repository" or "/" not in name:
                    continue
                project = self.state.projects.get(name.split("/", 1)[0])
                granted: frozenset[str] = frozenset()
                if project is not None:
                    allowed = self._permissions(principal, project)
                    granted = frozenset(a for a in TOKEN_ACTIONS if REGISTRY_ACTION_PERMISSION[a] in allowed)
                access.append((name, granted))
            now = datetime.now(UTC)  # tokens follow the wall clock, so advancing the test clock never expires them
            token = self.state.accounts.issue_token(principal.name, access, now, TOKEN_TTL)
        body = {"token": token, "access_token": "", "expires_in": TOKEN_TTL, "issued_at": fmt_rfc3339(now)}
        ex.send(200, go_json(body), content_type="application/json; charset=utf-8")

    # --- /v2 -----------------------------------------------------------------------------------------------
    def handle(self, ex: Exchange) -> None:
        try:
            self._handle(ex)
        except V2Unauthorized as error:
            body = HarborError("UNAUTHORIZED", f"{error.message}: {error.message}").body()
            headers = [("Docker-Distribution-Api-Version", "registry/2.0"), ("Www-Authenticate", error.challenge)]
            ex.send(401, body, content_type="application/json; charset=utf-8", headers=headers)
        except HarborError as error:
            ex.send_error(error)
        except (ConnectionError, TimeoutError, http.client.HTTPException, OSError) as error:
            if ex.status:  # the response had started: nothing more can be said
                raise
            self.double.note_upstream_error(error)
            ex.send(502, b"")  # httputil.ReverseProxy's answer when the registry is unreachable

    def _handle(self, ex: Exchange) -> None:
        path = urllib.parse.unquote(ex.raw_path)
        principal = self._principal(ex)
        has_auth = bool(ex.headers.get("Authorization"))
        if path in ("/v2", "/v2/"):
            if not principal.authenticated:
                raise V2Unauthorized("unauthorized", self._challenge(ex, None, has_auth))
            self._forward(ex, "/v2/")
            return
        if path == "/v2/_catalog":
            if not principal.sysadmin:
                raise V2Unauthorized("unauthorized to list catalog", 'Basic realm="harbor"')
            with self.state.lock:
                names = sorted(self.state.repositories)
            ex.send(200, go_json({"repositories": names}), content_type="application/json; charset=utf-8")
            return
        matched = next(((kind, m) for kind, pattern in ROUTES if (m := pattern.match(path))), None)
        if matched is None:
            raise V2Unauthorized(f"un-recognized request: {ex.method} {path}", "")
        kind, match = matched
        name = match.group("name")
        action = {"GET": "pull", "HEAD": "pull", "DELETE": "delete"}.get(ex.method, "push")
        self._authorize(ex, principal, name, action, has_auth)
        if kind == "upload" and ex.method == "POST" and ex.param("from"):
            self._authorize(ex, principal, ex.param("from") or "", "pull", has_auth)
        if kind == "manifest":
            reference = match.group("reference")
            if ex.method in ("GET", "HEAD"):
                self._get_manifest(ex, name, reference)
            elif ex.method == "PUT":
                self._put_manifest(ex, name, reference)
            elif ex.method == "DELETE":
                self._delete_manifest(ex, name, reference)
            else:
                self._forward(ex, ex.raw_path)
        elif kind == "blob" and ex.method == "HEAD":
            digest = match.group("digest")
            with self.state.lock:
                known = digest in self.state.known_blobs
            if not known:
                raise not_found(f"blob {digest} not found")
            self._forward(ex, ex.raw_path)
        elif kind == "upload":
            self._upload(ex)
        elif kind == "tags":
            self._tags_list(ex, name)
        elif kind == "referrers":
            index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}
            ex.send(200, go_json(index), content_type="application/vnd.oci.image.index.v1+json")
        else:
            self._forward(ex, ex.raw_path)

    # --- auth ----------------------------------------------------------------------------------------------
    def _basic_principal(self, ex: Exchange) -> Principal:
        credentials = parse_basic(ex.headers.get("Authorization", ""))
        if credentials is None:
            return ANONYMOUS
        with self.state.lock:
            return self.state.accounts.authenticate(*credentials)

    def _principal(self, ex: Exchange) -> Principal:
        header = ex.headers.get("Authorization", "")
        if header[:7].lower() == "bearer ":
            with self.state.lock:
                return self.state.accounts.bearer(header[7:].strip(), datetime.now(UTC)) or ANONYMOUS
        return self._basic_principal(ex)

    def _permissions(self, principal: Principal, project: Project) -> frozenset[tuple[str, str]]:
        return self.state.accounts.permissions(principal, project.name, project.public)

    def _challenge(self, ex: Exchange, scope: str | None, has_auth: bool) -> str:
        if has_auth:
            return 'Basic realm="harbor"'
        challenge = f'Bearer realm="{ex.base_url}/service/token",service="harbor-registry"'
        return f'{challenge},scope="{scope}"' if scope else challenge

    def _authorize(self, ex: Exchange, principal: Principal, name: str, action: str, has_auth: bool) -> None:
        scope_action = {"pull": "pull", "push": "pull,push", "delete": "delete"}[action]
        scope = f"repository:{name}:{scope_action}"
        if not has_auth and ex.method in ("GET", "HEAD"):
            raise V2Unauthorized(
                "authorize header needed to send HEAD to repository", self._challenge(ex, scope, False)
            )
        project_name = name.split("/", 1)[0]
        with self.state.lock:
            project = self.state.projects.get(project_name)
            if project is None:
                raise V2Unauthorized(f"project {project_name} not found", "")
            if principal.token_access is not None:
                allowed = action in principal.token_access.get(project_name, frozenset())
            else:
                allowed = REGISTRY_ACTION_PERMISSION[action] in self._permissions(principal, project)
        if not allowed:
            raise V2Unauthorized(
                f"unauthorized to access repository: {name}, action: {action}", self._challenge(ex, scope, has_auth)
            )

    # --- manifests -----------------------------------------------------------------------------------------
    def _get_manifest(self, ex: Exchange, name: str, reference: str) -> None:
        with self.state.lock:
            artifact = self.state.artifact_by_reference(name, reference)
            project = self.state.project_by_id(artifact.project_id)
            if project.prevent_vul:
                violation = self._policy_violation(project, artifact)
                if violation:
                    raise HarborError("PROJECTPOLICYVIOLATION", violation)
            artifact_id, digest = artifact.id, artifact.digest
        tag = None if is_digest(reference) else reference
        if any(value.strip('"') == digest for value in ex.headers.get_all("If-None-Match") or []):
            ex.send(304)
            return
        status = self._forward(ex, ex.raw_path.rsplit("/", 1)[0] + "/" + digest)
        if ex.method == "GET" and status == 200:
            with self.state.lock:
                current = self.state.artifacts.get(artifact_id)
                if current is not None:
                    self.state.record_pull(current, tag)

    def _policy_violation(self, project: Project, artifact: Artifact) -> str | None:
        """middleware/vulnerable/vulnerable.go: why a pull is blocked, or None."""
        severity = project_severity(project.metadata.get("severity", ""))
        policy = POLICY.format(severity=severity)
        reports = self.state.reports(artifact)
        if reports is None:
            if not (self.state.scanner.configured and self.state.scan_targets(artifact)):
                return None
            return (
                f"current image without vulnerability scanning cannot be pulled due to configured policy in {policy} "
                "To continue with pull, please contact your project administrator for help."
            )
        if artifact.is_index and artifact.type == "IMAGE":
            return None
        now = self.state.clock.now()
        statuses = [report.status(now) for report in reports]
        status = next((s for s in ("Running", "Stopped", "Success") if s in statuses), statuses[-1])
        if status != "Success":
            return (
                f'current image with "{status}" status of vulnerability scanning cannot be pulled due to configured '
                f"policy in {policy} To continue with pull, please contact your project administrator for help."
            )
        expired = project.allowlist_expires_at is not None and project.allowlist_expires_at < now.timestamp()
        allowlist = set() if expired else set(project.cve_allowlist)
        findings = [v for report in reports for v in report.outcome.vulnerabilities if v.id not in allowlist]
        if not findings:
            return None
        worst = max((v.severity for v in findings), key=severity_code)
        if severity_code(worst) < severity_code(severity):
            return None
        thing = "vulnerabilities" if len(findings) > 1 else "vulnerability"
        return (
            f"current image with {len(findings)} {thing} cannot be pulled due to configured policy in {policy} "
            "To continue with pull, please contact your project administrator to exempt matched vulnerabilities "
            "through configuring the CVE allowlist."
        )

    def _put_manifest(self, ex: Exchange, name: str, reference: str) -> None:
        body = ex.read_body(MAX_MANIFEST)
        tag = None if is_digest(reference) else reference
        with self.state.lock:
            if tag is not None:
                repository = self.state.repositories.get(name)
                existing = repository.tags.get(tag) if repository else None
                if existing is not None and self.state.tag_immutable(name, tag):
                    short = name.split("/", 1)[1]
                    raise HarborError(
                        "PRECONDITION", f"Failed to process request due to '{short}:{tag}' configured as immutable."
                    )
            self.state.ensure_repository(name)
        digest = reference if tag is None else "sha256:" + hashlib.sha256(body).hexdigest()
        target = ex.raw_path.rsplit("/", 1)[0] + "/" + digest
        response = self._request(ex, "PUT", target, body=iter([body]), length=len(body))
        try:
            if not 200 <= response.status < 300:
                self._relay(ex, response)
                return
            upstream_digest = response.getheader("Docker-Content-Digest") or digest
            content_type = ex.headers.get("Content-Type", "")
            info = parse_manifest(body, content_type, lambda config: self._fetch_blob(name, config))
            with self.state.lock:
                _, artifact = self.state.ensure_artifact(name, upstream_digest, info)
                if tag is not None:
                    self.state.ensure_tag(artifact, tag)
                self.uploads.manifests.append(f"{name}@{upstream_digest}")
                self.double.on_push(artifact, tag)
            self._relay(ex, response)
        finally:
            response.close()

    def _delete_manifest(self, ex: Exchange, name: str, reference: str) -> None:
        if not is_digest(reference):
            raise HarborError("UNSUPPORTED", f"unsupported digest {reference}: invalid checksum digest format")
        with self.state.lock:
            artifact = self.state.artifact_by_reference(name, reference)
            self.state.delete_artifact(artifact)
        ex.send(202)

    def _tags_list(self, ex: Exchange, name: str) -> None:
        number = ex.param("n")
        if number is not None and number != "" and (not number.isdigit()):
            raise HarborError("BAD_REQUEST", "the N must be a positive int type")
        with self.state.lock:
            repository = self.state.repository(name)
            tags = sorted(repository.tags)
        last = ex.param("last") or ""
        start = next((i for i, tag in enumerate(tags) if tag > last), len(tags)) if last else 0
        count = int(number) if number else len(tags)
        items = tags[start : start + count]
        headers = []
        if number and items and items[-1] != tags[-1]:
            query = urllib.parse.urlencode({"last": items[-1], "n": count})
            headers.append(("Link", f'<{ex.raw_path}?{query}>; rel="next"'))
        ex.send(200, go_json({"name": name, "tags": items}) + b"\n", content_type="application/json; charset=utf-8",
                headers=headers)  # fmt: skip

    # --- blobs ---------------------------------------------------------------------------------------------
    def _upload(self, ex: Exchange) -> None:
        counted = self._counting(ex.body_chunks())
        length = None if ex.chunked else int(ex.headers.get("Content-Length") or 0)
        target = ex.raw_path + (f"?{ex.raw_query}" if ex.raw_query else "")
        response = self._request(ex, ex.method, target, body=counted, length=length)
        try:
            if response.status == 201:
                digest = ex.param("digest") or (ex.param("mount") if ex.method == "POST" else None)
                if digest:
                    with self.state.lock:
                        self.state.known_blobs.add(digest)
                    self.uploads.blobs.append(digest)
            self._relay(ex, response)
        finally:
            response.close()

    def _counting(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self.uploads.add_bytes(len(chunk))
            yield chunk

    def _fetch_blob(self, name: str, digest: str) -> bytes:
        connection = self._connection()
        try:
            connection.request("GET", f"/v2/{name}/blobs/{digest}", headers=self._upstream_auth())
            response = connection.getresponse()
            data = response.read()
            if response.status != 200:
                raise HarborError("UNKNOWN", f"failed to read config blob {digest}: {response.status}")
            return data
        finally:
            connection.close()

    # --- forwarding ----------------------------------------------------------------------------------------
    def _connection(self) -> http.client.HTTPConnection:
        if not self.double.upstream_available:
            raise ConnectionRefusedError("registry is down (harbor.registry_down)")
        host, port = self.double.registry_address
        return http.client.HTTPConnection(host, port, timeout=120)

    def _upstream_auth(self) -> dict[str, str]:
        return {"Authorization": self.double.registry_authorization}

    def _request(
        self, ex: Exchange, method: str, target: str, *, body: Iterator[bytes] | None, length: int | None
    ) -> http.client.HTTPResponse:
        connection = self._connection()
        connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        host, port = self.double.registry_address
        connection.putheader("Host", f"{host}:{port}")
        for header, value in ex.headers.items():
            if header.lower() not in HOP_BY_HOP:
                connection.putheader(header, value)
        connection.putheader("Authorization", self.double.registry_authorization)
        if body is None:
            connection.endheaders()
        elif length is None:
            connection.putheader("Transfer-Encoding", "chunked")
            connection.endheaders()
            for chunk in body:
                connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            connection.send(b"0\r\n\r\n")
        else:
            connection.putheader("Content-Length", str(length))
            connection.endheaders()
            for chunk in body:
                connection.send(chunk)
        response = connection.getresponse()
        response.connection = connection  # type: ignore[attr-defined]  # closed with the response
        return response

    def _forward(self, ex: Exchange, target_path: str) -> int:
        target = target_path + (f"?{ex.raw_query}" if ex.raw_query else "")
        body = ex.body_chunks() if ex.has_body() else None
        length = None if ex.chunked else (int(ex.headers.get("Content-Length") or 0) if body else None)
        response = self._request(ex, ex.method, target, body=body, length=length)
        try:
            self._relay(ex, response)
            return response.status
        finally:
            response.close()

    def _relay(self, ex: Exchange, response: http.client.HTTPResponse) -> None:
        headers = []
        upstream = "{}:{}".format(*self.double.registry_address)
        for header, value in response.getheaders():
            if header.lower() in RESPONSE_SKIP:
                continue
            if header.lower() == "location":
                for prefix in (f"http://{upstream}", f"https://{upstream}"):
                    if value.startswith(prefix):
                        value = ex.base_url + value[len(prefix) :]  # noqa: PLW2901 - the rewritten header
            headers.append((header, value))
        declared = response.getheader("Content-Length")
        if ex.method == "HEAD" or response.status in (204, 304):
            ex.start(response.status, headers, int(declared) if declared else 0)
            return
        if declared is None:
            data = response.read()
            ex.start(response.status, headers, len(data))
            ex.write(data)
            return
        ex.start(response.status, headers, int(declared))
        while True:
            chunk = response.read(256 * 1024)
            if not chunk:
                break
            ex.write(chunk)

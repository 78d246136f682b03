"""`HarborDouble`: the server, its state and the API tests use to arrange and inspect it.

One double serves `/api/v2.0`, `/v2/` and `/service/token` on 127.0.0.1 (plain HTTP, or HTTPS with a test CA) in
front of a real `docker-registry`. Tests arrange state with the methods below (projects, users, robots, immutable
rules, scanner outcomes, seeded artifacts, faults) and inspect it (artifacts, tags, request log, upload counters).
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import re
import secrets
import ssl
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .api import Api
from .auth import ROBOT_CI_ACCESS, Accounts, Permission, Principal, Robot, User, parse_basic
from .clock import Clock
from .errors import HarborError
from .faults import Faults
from .registry_proxy import RegistryProxy
from .scanner import Outcome, ScanConflict, Scanner
from .server import Exchange, LoggedRequest, RequestLog, Server
from .state import (
    OCI_MANIFEST,
    Artifact,
    HarborState,
    ImmutableRule,
    ManifestInfo,
    Project,
    Repository,
    Tag,
    fake_digest,
    iter_tags,
)

if TYPE_CHECKING:
    from fixtures.images import TestImage
    from fixtures.registry import Registry
    from fixtures.skopeo import Endpoint
    from fixtures.tls import TestCA

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "Harbor12345"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
ROLES = {"projectAdmin", "maintainer", "developer", "guest", "limitedGuest"}
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"


@dataclass(frozen=True)
class HttpReply:
    """A response read by `HarborDouble.request`."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class SeededArtifact:
    digest: str
    tags: tuple[str, ...]
    push_time: datetime


DEFAULT_VERSION = "v2.15.2-080b0220"


class HarborDouble:
    """A Harbor v2.15.2 stand-in. Start it once per session; call `reset()` between tests.

    `version` (`/systeminfo` harbor_version) also picks the release's update_time rules: from v2.15.2 on,
    artifact create/delete and tag create/move/delete touch the repository (controller/artifact and controller/tag
    `touchRepo`, goharbor/harbor#23225); before it only pulls (and repository edits) do.
    It also picks the scan walk: from v2.11.0 an artifact with an in-toto layer (a BuildKit attestation
    manifest) is skipped (HasUnscannableLayer); v2.10 scans it like an image.
    """

    def __init__(self, registry: Registry | None, *, ca: TestCA | None = None) -> None:
        """`registry` None gives a double without a registry (API only; every /v2 registry call answers 502)."""
        self.registry = registry
        self.ca = ca
        self.clock = Clock()
        self.faults = Faults()
        self.log = RequestLog()
        self.state = HarborState(self.clock, Scanner(), Accounts())
        self.api = Api(self)
        self.proxy = RegistryProxy(self)
        self._upstream_up = True
        self.internal_errors: list[str] = []
        self.upstream_errors: list[str] = []
        self.port = 0
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self.reset()

    # --- lifecycle -----------------------------------------------------------------------------------------
    @property
    def scheme(self) -> str:
        return "https" if self.ca else "http"

    @property
    def host(self) -> str:
        """host:port, the registry part of image references (`127.0.0.1:PORT/project/repo:tag`)."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The Harbor URL a pipeline puts in `source.url`."""
        return f"{self.scheme}://{self.host}"

    @property
    def ca_pem(self) -> str | None:
        return self.ca.ca_pem if self.ca else None

    @property
    def insecure(self) -> bool:
        """True for the plain-HTTP double (the resource then needs `insecure: true`)."""
        return self.ca is None

    @property
    def upstream_available(self) -> bool:
        """False inside `registry_down()` or without a registry: registry calls then answer 502."""
        return self._upstream_up and self.registry is not None and self.registry.running

    @property
    def registry_address(self) -> tuple[str, int]:
        return "127.0.0.1", self.registry.port if self.registry else 0

    @property
    def registry_authorization(self) -> str:
        return self.registry.basic_auth() if self.registry else ""

    def start(self) -> None:
        context = self.ca.server_context() if self.ca else None
        self._server = Server(("127.0.0.1", self.port), self.serve, context)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"harbor-double-{self.port}"
        )
        self._thread.daemon = True
        self._thread.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=10)

    @contextlib.contextmanager
    def offline(self) -> Iterator[None]:
        """Harbor is down: the port refuses connections (and open ones are cut) until the block ends."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    @contextlib.contextmanager
    def registry_down(self) -> Iterator[None]:
        """Harbor is up but its registry is not: registry calls answer 502 like Harbor's reverse proxy."""
        self._upstream_up = False
        try:
            yield
        finally:
            self._upstream_up = True

    def reset(self) -> None:
        """Forget everything: state, users, scanner configuration, faults, request log, counters, clock offset."""
        with self.state.lock:
            self.clock.reset()
            accounts = Accounts()
            accounts.users[ADMIN_USERNAME] = User(ADMIN_USERNAME, ADMIN_PASSWORD, sysadmin=True)
            self.state.reset(Scanner(), accounts)
            self.state.create_project("library", {"public": "true"})
            self.version = DEFAULT_VERSION
        self.faults.clear()
        self.log.clear()
        self.proxy.uploads.reset()
        self._upstream_up = True
        self.internal_errors.clear()
        self.upstream_errors.clear()

    @property
    def version(self) -> str:
        """`harbor_version` as /systeminfo reports it (ReleaseVersion-GitCommit)."""
        return self._version

    @version.setter
    def version(self, value: str) -> None:
        numbers = re.match(r"v(\d+)\.(\d+)\.(\d+)", value)
        if numbers is None:
            raise ValueError(f"a Harbor version looks like v2.14.4-1b3ec8a4, not {value!r}")
        self._version = value
        release = tuple(int(n) for n in numbers.groups())
        self.state.touch_repo = release >= (2, 15, 2)
        self.state.skip_unscannable_layers = release >= (2, 11, 0)

    # --- request dispatch ----------------------------------------------------------------------------------
    def serve(self, ex: Exchange) -> None:
        ex.on_response = self._record
        try:
            self._serve(ex)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            ex.handler.close_connection = True  # the client went away
        except Exception:
            self.internal_errors.append(f"{ex.method} {ex.raw_path}\n{traceback.format_exc()}")
            ex.handler.close_connection = True
            if not ex.status:
                ex.send_error(HarborError("UNKNOWN", "internal server error"))
        finally:
            ex.announce()

    def _record(self, ex: Exchange) -> None:
        authorization = ex.headers.get("Authorization", "")
        self.log.add(
            LoggedRequest(
                method=ex.method,
                path=ex.raw_path,
                query=ex.raw_query,
                status=ex.status,
                faulted=ex.faulted,
                auth_scheme=authorization.split(" ", 1)[0] if authorization else None,
                cookies=tuple(sorted(ex.cookies)),
                user_agent=ex.headers.get("User-Agent", ""),
            )
        )

    def _serve(self, ex: Exchange) -> None:
        fault = self.faults.take(ex.method, ex.raw_path)
        if fault is not None:
            ex.faulted = True
            if fault.delay:
                time.sleep(fault.delay)
            if fault.reset:
                ex.drain()
                ex.reset_connection()
                return
            status, headers, body = fault.response(registry=ex.raw_path.startswith("/v2"))
            ex.send(status, body, headers=headers)
            return
        path = ex.raw_path
        core = path.startswith(("/api/", "/v2/", "/service/")) or path == "/v2"
        if core and ex.sid is not None and ex.method not in SAFE_METHODS:
            # middleware/csrf: a request carrying the session cookie is checked (gorilla/csrf v1.7.2 reasons).
            reason = (
                "CSRF token invalid" if ex.headers.get("X-Harbor-CSRF-Token") else "CSRF token not found in request"
            )
            ex.send_error(
                HarborError("FORBIDDEN", reason), headers=[("X-Harbor-CSRF-Token", secrets.token_urlsafe(32))]
            )
            return
        if path.startswith("/api/"):
            principal = self._api_principal(ex)
            try:
                reply = self.api.handle(ex, principal)
            except HarborError as error:
                ex.send_error(error)
                return
            ex.send(reply.status, reply.body, content_type=reply.content_type, headers=reply.headers)
        elif path == "/v2" or path.startswith("/v2/"):
            self.proxy.handle(ex)
        elif path == "/service/token":
            self.proxy.token(ex)
        else:
            ex.send(404, b"404 page not found\n", content_type="text/plain; charset=utf-8")

    def _api_principal(self, ex: Exchange) -> Principal:
        credentials = parse_basic(ex.headers.get("Authorization", ""))
        if credentials is None:
            return Principal()
        with self.state.lock:
            return self.state.accounts.authenticate(*credentials)

    def note_upstream_error(self, error: BaseException) -> None:
        self.upstream_errors.append(repr(error))

    # --- scans (shared by the scan API, auto_scan and rescans) ----------------------------------------------
    def start_scan(
        self, artifact: Artifact, *, tag: str | None, trigger: str, scan_type: str = "vulnerability",
        from_event: bool = False,
    ) -> None:  # fmt: skip
        """controller/scan Scan: 412 without (an enabled) scanner, 400 when nothing is scannable, 409 when busy."""
        scanner = self.state.scanner
        name = scanner.registration.name
        if not scanner.configured:
            raise HarborError("PRECONDITION", f"no available scanner for project: {artifact.project_id}")
        if scanner.disabled:
            raise HarborError("PRECONDITION", f"scanner {name} is deactivated")
        targets = self.state.scan_targets(artifact) if scan_type == "vulnerability" else []
        if not targets:
            if from_event:
                return
            raise HarborError(
                "BAD_REQUEST",
                f"the configured scanner {name} does not support scanning artifact with mime type "
                f"{artifact.manifest_media_type}",
            )
        now = self.clock.now()
        conflicts = []
        for target in targets:
            candidates = ([tag] if tag and target is artifact else []) + [t.name for t in target.sorted_tags()]
            outcome = scanner.outcome_for(target.digest, target.repository_name, candidates)
            try:
                scanner.start(target.digest, outcome, now, trigger)
            except ScanConflict as conflict:
                conflicts.append(conflict)
        if conflicts and len(conflicts) == len(targets):
            raise HarborError("CONFLICT", f"a previous scan process is {conflicts[0].status}")

    def on_push(self, artifact: Artifact, tag: str | None) -> None:
        """The push event: scan on push when the project has auto_scan (every push, re-pushes included)."""
        project = self.state.project_by_id(artifact.project_id)
        if project.auto_scan:
            with contextlib.suppress(HarborError):
                self.start_scan(artifact, tag=tag, trigger="EVENT", from_event=True)

    # --- arranging state -----------------------------------------------------------------------------------
    def create_project(
        self,
        name: str,
        *,
        public: bool = False,
        auto_scan: bool = False,
        prevent_vul: bool = False,
        severity: str = "high",
        metadata: dict[str, str] | None = None,
    ) -> Project:
        """A project (pushing to a project that does not exist fails like Harbor: 401 on /v2)."""
        values = {"public": _flag(public), "auto_scan": _flag(auto_scan), "prevent_vul": _flag(prevent_vul),
                  "severity": severity, **(metadata or {})}  # fmt: skip
        with self.state.lock:
            return self.state.create_project(name, values)

    def set_metadata(self, project: str, **values: str | bool) -> None:
        """Change project metadata, e.g. `set_metadata("p", auto_scan=True, severity="critical")`."""
        with self.state.lock:
            target = self.state.project(project)
            for key, value in values.items():
                target.metadata[key] = _flag(value) if isinstance(value, bool) else value

    def set_cve_allowlist(self, project: str, cve_ids: Iterable[str], *, expires_at: int | None = None) -> None:
        """The project's CVE allowlist (honoured by prevent_vul; `expires_at` in epoch seconds)."""
        with self.state.lock:
            target = self.state.project(project)
            target.cve_allowlist = list(cve_ids)
            target.allowlist_expires_at = expires_at

    def add_user(self, name: str, password: str, *, sysadmin: bool = False) -> User:
        with self.state.lock:
            user = User(name, password, sysadmin)
            self.state.accounts.users[name] = user
            return user

    def add_member(self, project: str, user: str, role: str = "developer") -> None:
        """Give `user` a project role: projectAdmin, maintainer, developer (no scan:create!), guest, limitedGuest."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {sorted(ROLES)}")
        with self.state.lock:
            self.state.project(project)
            self.state.accounts.members[(project, user)] = role

    def add_robot(
        self,
        project: str,
        name: str,
        *,
        access: Iterable[Permission] = ROBOT_CI_ACCESS,
        secret: str | None = None,
        disabled: bool = False,
    ) -> Robot:
        """A project robot `robot$<project>+<name>` with exactly `access` ((resource, action) pairs)."""
        with self.state.lock:
            self.state.project(project)
            robot = Robot(
                name=f"robot${project}+{name}",
                secret=secret or secrets.token_urlsafe(24),
                project=project,
                access=frozenset(access),
                disabled=disabled,
            )
            self.state.accounts.robots[robot.name] = robot
            return robot

    def add_immutable_rule(
        self,
        project: str,
        tag_pattern: str = "**",
        repo_pattern: str = "**",
        *,
        tag_decoration: str = "matches",
        repo_decoration: str = "repoMatches",
    ) -> ImmutableRule:
        """Tags matching `tag_pattern` (doublestar) in repositories matching `repo_pattern` become immutable."""
        with self.state.lock:
            target = self.state.project(project)
            rule = ImmutableRule(self.state.next_id("rule"), tag_pattern, repo_pattern, tag_decoration, repo_decoration)
            target.immutable_rules.append(rule)
            return rule

    @property
    def scanner(self) -> Scanner:
        return self.state.scanner

    def rescan(self, repository: str, reference: str, outcome: Outcome | None = None) -> None:
        """What a scheduled rescan does: start a new scan (optionally with a new outcome for this digest)."""
        with self.state.lock:
            artifact = self.state.artifact_by_reference(repository, reference)
            if outcome is not None:
                for target in self.state.scan_targets(artifact):
                    self.state.scanner.by_digest[target.digest] = outcome
            self.start_scan(artifact, tag=None, trigger="SCHEDULE")

    def complete_scans(self, reference: str | None = None, repository: str | None = None) -> int:
        """Finish running/pending scans now: all of them, or those of `repository` + `reference`."""
        with self.state.lock:
            now = self.clock.now()
            if reference is None:
                return self.state.scanner.complete_all(now)
            if repository is None:
                raise ValueError("complete_scans(reference) needs repository=")
            artifact = self.state.artifact_by_reference(repository, reference)
            targets = self.state.scan_targets(artifact)
            for target in targets:
                self.state.scanner.complete(target.digest, now)
            return len(targets)

    def seed(
        self,
        project: str,
        repository: str | int,
        count: int | None = None,
        *,
        tags: Callable[[int], Iterable[str] | str | None] | None = None,
        start: datetime | None = None,
        interval: float = 1.0,
        scan: Outcome | Callable[[int], Outcome | None] | None = None,
        scan_status: str | Callable[[int], str | None] | None = None,
        salt: str = "",
    ) -> list[SeededArtifact]:
        """Create `count` synthetic artifacts (no registry blobs), oldest first.

        Call it `seed("team", "app", 10_000, …)` or `seed("team/app", 10_000, …)`. `tags(i)` gives the tags of
        artifact i (default `1.0.i`; None/[] for untagged); push times start at `start` (default: count*interval
        seconds ago) and grow by `interval`; `scan` is an Outcome (or a function of i) for a report that finished
        at push time + 1s; `scan_status` ("Pending", "Running", "Error", …) leaves the report in that state
        instead. The project is created when missing.
        """
        if isinstance(repository, int):
            full_name, count = project, repository
        else:
            full_name = f"{project}/{repository}"
        if count is None or "/" not in full_name:
            raise TypeError('seed(project, repository, count, …) or seed("project/repository", count, …)')
        repository = full_name
        tag_fn = tags or (lambda i: f"1.0.{i}")
        with self.state.lock:
            project_name = repository.split("/", 1)[0]
            if project_name not in self.state.projects:
                self.state.create_project(project_name, {})
            repo = self.state.ensure_repository(repository)
            first = start or (self.clock.now() - timedelta(seconds=count * interval))
            seeded = []
            for index in range(count):
                push_time = first + timedelta(seconds=index * interval)
                artifact_id = self.state.next_id("artifact")
                digest = fake_digest(repository, artifact_id, salt)
                artifact = Artifact(
                    id=artifact_id,
                    project_id=repo.project_id,
                    repository_id=repo.id,
                    repository_name=repository,
                    digest=digest,
                    type="IMAGE",
                    media_type="application/vnd.oci.image.config.v1+json",
                    manifest_media_type="application/vnd.oci.image.manifest.v1+json",
                    artifact_type="application/vnd.oci.image.config.v1+json",
                    size=2_000_000 + index,
                    icon="sha256:0048162a053eef4d4ce3fe7518615bef084403614f8bca43b40ae2e762e11e06",
                    push_time=push_time,
                    extra_attrs={
                        "architecture": "amd64",
                        "author": "",
                        "config": {},
                        "created": push_time.isoformat().replace("+00:00", "Z"),
                        "os": "linux",
                    },
                )
                self.state.add_artifact(repo, artifact)
                names = iter_tags(tag_fn(index))
                for name in names:
                    existing = repo.tags.get(name)
                    if existing is not None:  # a later artifact takes the tag over (a tag move)
                        self.state.artifacts[existing.artifact_id].tags.pop(name, None)
                        existing.artifact_id, existing.push_time = artifact.id, push_time
                        artifact.tags[name] = existing
                        continue
                    tag = Tag(self.state.next_id("tag"), repo.id, artifact.id, name, push_time)
                    repo.tags[name] = tag
                    artifact.tags[name] = tag
                outcome = scan(index) if callable(scan) else scan
                status = scan_status(index) if callable(scan_status) else scan_status
                if outcome is not None or status is not None:
                    self.state.scanner.seed_report(
                        digest, outcome or Outcome(), push_time + timedelta(seconds=1), status
                    )
                seeded.append(SeededArtifact(digest, tuple(names), push_time))
            if seeded:
                repo.update_time = max(repo.update_time, seeded[-1].push_time)
            self.state.changed()
            return seeded

    def fake_push(
        self,
        repository: str,
        tags: Iterable[str] = (),
        *,
        digest: str | None = None,
        scan: Outcome | None = None,
    ) -> str:
        """A push without registry content: the artifact and its tags are ensured exactly as a real push would
        (push_time now, tags created or moved, repository touched, scan-on-push when the project has auto_scan),
        one manifest PUT per tag like `docker push`. `scan` sets the scanner outcome for this digest first.
        Returns the digest. The project must exist.
        """
        with self.state.lock:
            self.state.project(repository.split("/", 1)[0])
            digest = digest or fake_digest(repository, "push", self.state.next_id("synthetic"))
            if scan is not None:
                self.state.scanner.by_digest[digest] = scan
            now = self.clock.now()
            created = now.isoformat().replace("+00:00", "Z")
            info = ManifestInfo(
                manifest_media_type=OCI_MANIFEST,
                media_type=OCI_CONFIG,
                artifact_type=OCI_CONFIG,
                size=2_000_000,
                type="IMAGE",
                extra_attrs={"architecture": "amd64", "author": "", "config": {}, "created": created, "os": "linux"},
            )
            names: list[str | None] = [*tags] or [None]
            for tag in names:
                existing = self.state.repositories.get(repository)
                if (
                    tag is not None
                    and existing is not None
                    and tag in existing.tags
                    and self.state.tag_immutable(repository, tag)
                ):
                    short = repository.split("/", 1)[1]
                    message = f"Failed to process request due to '{short}:{tag}' configured as immutable."
                    raise HarborError("PRECONDITION", message)
                _, artifact = self.state.ensure_artifact(repository, digest, info)
                if tag is not None:
                    self.state.ensure_tag(artifact, tag)
                self.on_push(artifact, tag)
            return digest

    def tag(self, repository: str, reference: str, name: str) -> None:
        """Put tag `name` on an artifact as a push by tag would (creating it, or moving it from another artifact)."""
        with self.state.lock:
            artifact = self.state.artifact_by_reference(repository, reference)
            self.state.ensure_tag(artifact, name)

    def delete_artifact(self, repository: str, reference: str) -> None:
        """Delete an artifact with Harbor's rules (its tags go too; untagged index children as well)."""
        with self.state.lock:
            self.state.delete_artifact(self.state.artifact_by_reference(repository, reference))

    # --- inspecting state ----------------------------------------------------------------------------------
    def artifact(self, repository: str, reference: str) -> Artifact:
        """The artifact a digest or tag points at (HarborError NOT_FOUND otherwise)."""
        with self.state.lock:
            return self.state.artifact_by_reference(repository, reference)

    def repository(self, name: str) -> Repository:
        with self.state.lock:
            return self.state.repository(name)

    def tags(self, repository: str) -> dict[str, str]:
        """tag -> digest for a repository ({} when it does not exist)."""
        with self.state.lock:
            repo = self.state.repositories.get(repository)
            if repo is None:
                return {}
            return {name: self.state.artifacts[tag.artifact_id].digest for name, tag in sorted(repo.tags.items())}

    def digests(self, repository: str) -> list[str]:
        with self.state.lock:
            repo = self.state.repositories.get(repository)
            return sorted(repo.artifacts) if repo else []

    def scan_status(self, digest: str) -> str | None:
        with self.state.lock:
            report = self.state.scanner.reports.get(digest)
            return report.status(self.clock.now()) if report else None

    @property
    def requests(self) -> list[LoggedRequest]:
        """Every /api/… request so far (faulted ones included), in order."""
        return list(self.log.api)

    @property
    def registry_requests(self) -> list[LoggedRequest]:
        """Every /v2/… and /service/token request so far, in order."""
        return list(self.log.registry)

    def reset_requests(self) -> None:
        self.log.clear()

    @property
    def uploaded_bytes(self) -> int:
        """Bytes of blob data clients sent through the double (blob upload bodies only)."""
        return self.proxy.uploads.bytes

    @property
    def uploaded_blobs(self) -> list[str]:
        """Digests of blobs whose upload (or cross-repository mount) completed."""
        return list(self.proxy.uploads.blobs)

    @property
    def pushed_manifests(self) -> list[str]:
        return list(self.proxy.uploads.manifests)

    def reset_upload_counters(self) -> None:
        self.proxy.uploads.reset()

    # --- talking to the double -----------------------------------------------------------------------------
    def source(
        self,
        repository: str,
        *,
        username: str | None = ADMIN_USERNAME,
        password: str | None = ADMIN_PASSWORD,
        **extra: object,
    ) -> dict[str, object]:
        """A resource `source` for this double: url, repository, credentials and TLS (`insecure` or `ca_certs`)."""
        source: dict[str, object] = {"url": self.url, "repository": repository}
        if username is not None:
            source |= {"username": username, "password": password}
        if self.ca is not None:
            source["ca_certs"] = [self.ca.ca_pem]
        else:
            source["insecure"] = True
        return source | extra

    def endpoint(self, username: str | None = ADMIN_USERNAME, password: str | None = ADMIN_PASSWORD) -> Endpoint:
        """skopeo settings for this double (credentials, TLS verification, CA cert dir)."""
        from fixtures.skopeo import Endpoint

        if username is None:
            return Endpoint(tls_verify=not self.insecure, cert_dir=self.ca.cert_dir if self.ca else None)
        return Endpoint(
            username, password, tls_verify=not self.insecure, cert_dir=self.ca.cert_dir if self.ca else None
        )

    def ref(self, repository: str, tag: str | None = None, digest: str | None = None) -> str:
        """`docker://host/repository[:tag][@digest]`."""
        reference = f"docker://{self.host}/{repository}"
        if tag:
            reference += f":{tag}"
        if digest:
            reference += f"@{digest}"
        return reference

    def push(
        self,
        image: TestImage | str,
        repository: str,
        tag: str | None = "latest",
        *,
        by_digest: bool = False,
        username: str | None = ADMIN_USERNAME,
        password: str | None = ADMIN_PASSWORD,
    ) -> str:
        """Push through the double with skopeo (the token flow and all); returns the manifest digest."""
        from fixtures import skopeo
        from fixtures.images import TestImage

        source = image.ref if isinstance(image, TestImage) else image
        is_index = isinstance(image, TestImage) and image.is_index
        if by_digest:
            if not isinstance(image, TestImage):
                raise ValueError("by_digest needs a TestImage (its digest must be known before the push)")
            destination = self.ref(repository, digest=image.digest)
        else:
            destination = self.ref(repository, tag=tag)
        return skopeo.copy(
            source,
            destination,
            dest_endpoint=self.endpoint(username, password),
            all_images=is_index,
            preserve_digests=by_digest,
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        auth: tuple[str, str] | None = (ADMIN_USERNAME, ADMIN_PASSWORD),
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        json_body: object = None,
    ) -> HttpReply:
        """One HTTP request to the double (a test helper; no cookies kept, no retries)."""
        all_headers = dict(headers or {})
        if auth is not None:
            all_headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        if json_body is not None:
            body = json.dumps(json_body).encode()
            all_headers.setdefault("Content-Type", "application/json")
        connection: http.client.HTTPConnection
        if self.ca is not None:
            connection = http.client.HTTPSConnection(
                "127.0.0.1", self.port, timeout=30, context=ssl.create_default_context(cafile=str(self.ca.ca_file))
            )
        else:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            return HttpReply(response.status, response.headers, response.read())
        finally:
            connection.close()

    def api_path(self, repository: str, suffix: str = "") -> str:
        """`/api/v2.0/projects/<p>/repositories/<r, double-encoded>` + suffix."""
        project, name = repository.split("/", 1)
        return f"/api/v2.0/projects/{project}/repositories/{name.replace('/', '%252F')}{suffix}"

    def check_healthy(self) -> None:
        """Raise when the double itself failed on a request (a bug in the double, not in the code under test)."""
        if self.internal_errors:
            errors, self.internal_errors = self.internal_errors, []
            raise AssertionError("the Harbor double failed internally:\n" + "\n".join(errors))


def _flag(value: bool | str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value

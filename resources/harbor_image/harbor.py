"""A small Harbor API v2.0 client on the standard library (check runs every minute: no requests/urllib3).

* Transport: :mod:`shiplane_http` (one keep-alive connection, TLS with ``source.ca_certs`` or ``insecure``, no
  cookie jar, bounded retries within the command's deadline) — the project's one HTTP stack.
* Basic auth on every call and never a cookie: Harbor sets ``sid`` even for Basic-auth calls and answers a client
  that sends it back with 403 "CSRF token invalid" on writes.
* Repository names are double-encoded (``a/b`` → ``a%252Fb``), as Harbor's API requires.
* ``debug: true`` logs one redacted line per request; no header is ever logged.
"""

from __future__ import annotations

import re
import ssl
import time
from base64 import b64encode
from collections.abc import Callable, Iterator
from typing import Any, Literal, NamedTuple
from urllib.parse import quote

from shiplane_http import Response, Transport, TransportError

from harbor_image.errors import ResourceError, harbor_error_text
from harbor_image.log import Log
from harbor_image.models import ACCEPT_VULNERABILITIES, Artifact, ProjectPolicy, Report
from harbor_image.wire import Source

API = "/api/v2.0"
PAGE_SIZE = 100  # Harbor's maximum; more is a 422
MAX_PAGES = 1000  # 100,000 artifacts: a hard cap on any listing walk
_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?([A-Za-z]+)"?')
_PAGE = re.compile(r"[?&]page=(\d+)")
USER_AGENT = "harbor-image-resource/0.1"

ScanStart = Literal["accepted", "running", "no-scanner", "not-scannable", "forbidden"]
RepositoryState = Literal["ok", "missing", "forbidden"]


REPORT_MAX_BYTES = 64 * 1024 * 1024  # a vulnerability report lists every package's CVEs with descriptions
API_MAX_BYTES = 16 * 1024 * 1024  # one artifact, one repository, or one page of 100 artifacts


def body_limit(path: str) -> tuple[int, str]:
    """The response-size cap and the name of the request kind for an API path (for the error message)."""
    if path.endswith("/additions/vulnerabilities"):
        return REPORT_MAX_BYTES, "a vulnerability report"
    if path.endswith("/artifacts"):
        return API_MAX_BYTES, "a page of the artifact list"
    if "/artifacts/" in path:
        return API_MAX_BYTES, "an artifact"
    return API_MAX_BYTES, "a Harbor API answer"


class Page(NamedTuple):
    artifacts: list[Artifact]
    total: int | None
    next_page: int | None


class Harbor:
    """Talks to one Harbor repository: ``source.url`` + ``source.repository``."""

    def __init__(
        self,
        source: Source,
        log: Log,
        deadline: float,
        *,
        attempts: int = 5,
        base_delay: float = 0.5,
        max_delay: float = 20.0,
        retry_after_cap: float = 60.0,
        socket_timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.log = log
        self.deadline = deadline
        auth: str | None = None
        if source.username is not None and source.password is not None:
            token = b64encode(f"{source.username}:{source.password}".encode()).decode("ascii")
            auth = f"Basic {token}"
            log.add_secret(source.password, source.username)
        self._auth = auth
        self.transport = Transport(
            source.url,
            log,
            deadline,
            service="Harbor",
            url_field="source.url",
            ca_field="source.ca_certs",
            auth_header=auth,
            insecure=source.insecure,
            ca_certs=source.ca_certs,
            user_agent=USER_AGENT,
            attempts=attempts,
            base_delay=base_delay,
            max_delay=max_delay,
            retry_after_cap=retry_after_cap,
            socket_timeout=socket_timeout,
            sleep=sleep,
            clock=clock,
        )
        self.repo_path = (
            f"{API}/projects/{quote(source.project, safe='')}/repositories/"
            f"{quote(quote(source.name, safe=''), safe='')}"
        )

    # -- transport (shiplane_http, the project's one HTTP stack) ---------------------------------------------------

    @property
    def requests(self) -> int:
        """How many HTTP requests this client has sent (retries included)."""
        return self.transport.requests

    def ssl_context(self) -> ssl.SSLContext:
        try:
            return self.transport.ssl_context()
        except TransportError as problem:
            raise ResourceError(str(problem)) from None

    def close(self) -> None:
        self.transport.close()

    def request(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """One API call with bounded retries. Returns whatever final status Harbor gave.

        Bodies are capped per kind of request (:func:`body_limit`); the transport bounds each in time as well.
        """
        max_bytes, label = body_limit(path)
        try:
            return self.transport.request(method, path, query, body, headers, max_bytes=max_bytes, label=label)
        except TransportError as problem:
            raise ResourceError(str(problem)) from None

    @staticmethod
    def json(response: Response) -> Any:
        """The answer's JSON body; ResourceError when it is not JSON."""
        try:
            return response.json("Harbor")
        except TransportError as problem:
            raise ResourceError(str(problem)) from None

    def fail(self, response: Response, what: str) -> ResourceError:
        """The ResourceError for an unexpected answer, with Harbor's error body on one line."""
        detail = harbor_error_text(response.body, self.log.redactor)
        status = response.status
        if status == 401:
            hint = (
                "check source.username and source.password (a robot account is robot$project+name)"
                if self._auth
                else "the repository is not public; set source.username and source.password"
            )
            return ResourceError(f"{what}: Harbor refused the credentials (401 {detail}); {hint}")
        if status == 403:
            return ResourceError(
                f"{what}: forbidden (403 {detail}); the account needs pull/push, artifact read/list, tag and scan "
                f"permissions on project {self.source.project}"
            )
        return ResourceError(f"{what}: Harbor answered {status} ({detail})")

    # -- endpoints -----------------------------------------------------------------------------------------------

    def repository_update_time(self) -> tuple[RepositoryState, str | None]:
        """The repository's ``update_time``: ("ok", time), ("missing", None) on 404, ("forbidden", None) on 401/403.

        Reading a repository needs ``repository:read``; anonymous access to a public project and robots created
        without it cannot, and check then falls back to listing every time.
        """
        response = self.request("GET", self.repo_path)
        if response.status == 404:
            return "missing", None
        if response.status in (401, 403):
            return "forbidden", None
        if response.status != 200:
            raise self.fail(response, f"reading repository {self.source.repository}")
        document = self.json(response)
        value = document.get("update_time") if isinstance(document, dict) else None
        return "ok", value if isinstance(value, str) and value else None

    def harbor_version(self) -> str | None:
        """Harbor's ``harbor_version`` (``v2.15.2-080b0220``: ReleaseVersion-GitCommit, controller/systeminfo
        GetInfo); None when Harbor does not say (anonymous callers do not get it: handler/systeminfo.go
        GetSystemInfo sets WithProtectedInfo only for authenticated ones) or answers anything but 200."""
        response = self.request("GET", f"{API}/systeminfo")
        if response.status != 200:
            return None
        try:
            document = self.json(response)
        except ResourceError:
            return None
        value = document.get("harbor_version") if isinstance(document, dict) else None
        return value if isinstance(value, str) and value else None

    def project_policy(self) -> ProjectPolicy | None:
        """The project's pull policy (``GET /projects/{name}``: metadata prevent_vul/severity, cve_allowlist);
        None when the account may not read the project (robots need ``project:read``) — callers say so."""
        response = self.request("GET", f"{API}/projects/{quote(self.source.project, safe='')}")
        if response.status in (401, 403, 404):
            return None
        if response.status != 200:
            raise self.fail(response, f"reading project {self.source.project}")
        return ProjectPolicy.from_api(self.json(response))

    def artifact_path(self, reference: str) -> str:
        return f"{self.repo_path}/artifacts/{quote(reference, safe=':')}"

    def get_artifact(self, reference: str) -> Artifact | None:
        """The artifact (by tag or digest) with its tags and scan overview; None when Harbor has no such artifact."""
        response = self.request(
            "GET",
            self.artifact_path(reference),
            [("with_tag", "true"), ("with_scan_overview", "true")],
            headers={"X-Accept-Vulnerabilities": ACCEPT_VULNERABILITIES},
        )
        if response.status == 404:
            return None
        if response.status != 200:
            raise self.fail(response, f"reading artifact {self.source.repository}@{reference}")
        try:
            return Artifact.from_api(self.json(response))
        except ValueError as problem:
            raise ResourceError(f"reading artifact {self.source.repository}@{reference}: {problem}") from None

    def _page(self, target: str, query: list[tuple[str, str]] | None) -> Page:
        response = self.request("GET", target, query, headers={"X-Accept-Vulnerabilities": ACCEPT_VULNERABILITIES})
        if response.status == 404:
            raise ResourceError(
                f"repository {self.source.repository} not found in {self.source.url} "
                f"(check source.repository and the account's access to project {self.source.project})"
            )
        if response.status != 200:
            raise self.fail(response, f"listing artifacts of {self.source.repository}")
        document = self.json(response)
        if document is None:
            document = []
        if not isinstance(document, list):
            raise ResourceError(f"listing artifacts of {self.source.repository}: Harbor answered a non-list")
        artifacts = []
        for item in document:
            try:
                artifacts.append(Artifact.from_api(item))
            except ValueError:
                continue
        total_header = response.headers.get("x-total-count")
        total = int(total_header) if total_header and total_header.strip().isdigit() else None
        return Page(artifacts, total, self._next_page(response.headers.get("link")))

    @staticmethod
    def _next_page(header: str | None) -> int | None:
        """The page number of ``rel="next"`` in Harbor's Link header (``<…>; rel="prev" , <…>; rel="next"``).

        Harbor URL-unescapes the query of its links (handler/base.go Links), so they carry raw spaces and braces;
        the next request is rebuilt from our own, properly encoded parameters with that page number.
        """
        if not header:
            return None
        for url, rel in _LINK.findall(header):
            if rel.lower() == "next":
                match = _PAGE.search(url)
                if match is None:
                    raise ResourceError(f"Harbor's Link header has a next link without a page number: {url!r}")
                return int(match.group(1))
        return None

    def walk_artifacts(self, q: str, sort: str | None = "-push_time,-id") -> Iterator[Page]:
        """Every page of ``listArtifacts`` for ``q``, following ``Link: rel="next"``, bounded by X-Total-Count."""
        base = [("q", q)]
        if sort:
            base.append(("sort", sort))
        base += [("with_tag", "true"), ("with_scan_overview", "true")]
        target = f"{self.repo_path}/artifacts"
        number = 1
        page = self._page(target, [*base, ("page", "1"), ("page_size", str(PAGE_SIZE))])
        yield page
        limit = MAX_PAGES
        if page.total is not None:
            # pushes during the walk shift items down a page; allow two extra pages for them
            limit = min(MAX_PAGES, -(-page.total // PAGE_SIZE) + 2)
        fetched, seen = 1, len(page.artifacts)
        while page.artifacts:
            if page.next_page is not None:
                number = page.next_page
            elif page.total is not None and seen < page.total and len(page.artifacts) >= PAGE_SIZE:
                number += 1  # no Link header: ask for the next page ourselves
            else:
                return
            if fetched >= limit:
                self.log.info(
                    f"warning: stopped listing {self.source.repository} after {fetched} pages "
                    f"({seen} artifacts); older artifacts are not considered"
                )
                return
            page = self._page(target, [*base, ("page", str(number)), ("page_size", str(PAGE_SIZE))])
            fetched += 1
            seen += len(page.artifacts)
            yield page

    def artifacts_by_digest(self, digests: list[str], *, children: bool = False) -> list[Artifact]:
        """The artifacts among ``digests`` (Harbor's OR list ``digest={d1 d2}``), in one request per 50 digests.

        ``children``: also untagged artifacts an index references, which the listing hides unless the query says
        ``base=*`` (src/pkg/artifact/dao/dao.go setBaseQuery).
        """
        found: list[Artifact] = []
        prefix = "base=*," if children else ""
        for start in range(0, len(digests), DIGEST_CHUNK):
            chunk = digests[start : start + DIGEST_CHUNK]
            for page in self.walk_artifacts(prefix + "digest={" + " ".join(chunk) + "}", sort=None):
                found.extend(page.artifacts)
        return found

    def scan(self, digest: str) -> ScanStart:
        """Ask Harbor to scan (src/controller/scan/base_controller.go Scan): 202 accepted, 409 a scan is already
        running, 412 no (active) scanner for the project, 400 the scanner cannot scan this artifact (a Helm chart,
        a CNAB bundle: "does not support scanning artifact with mime type …"), 403 no ``scan:create``."""
        response = self.request("POST", f"{self.artifact_path(digest)}/scan", body={"scan_type": "vulnerability"})
        if response.status == 202:
            return "accepted"
        if response.status == 409:
            return "running"
        if response.status == 412:
            return "no-scanner"
        if response.status == 400:
            return "not-scannable"
        if response.status == 403:
            return "forbidden"
        if response.status == 404:
            raise ResourceError(f"cannot scan {self.source.repository}@{digest}: the artifact is gone (404)")
        raise self.fail(response, f"starting a scan of {self.source.repository}@{digest}")

    def vulnerabilities(self, digest: str) -> Report | None:
        """The artifact's vulnerability report (None when Harbor has none)."""
        response = self.request(
            "GET",
            f"{self.artifact_path(digest)}/additions/vulnerabilities",
            headers={"X-Accept-Vulnerabilities": ACCEPT_VULNERABILITIES},
        )
        if response.status == 404:
            return None
        if response.status == 403:
            raise ResourceError(
                f"reading the vulnerability report of {self.source.repository}@{digest}: forbidden (403 "
                f"{harbor_error_text(response.body)}); the account needs artifact-addition:read on project "
                f"{self.source.project} (scan.allowlist, scan.ignore_unfixed and failure details read the report)"
            )
        if response.status != 200:
            raise self.fail(response, f"reading the vulnerability report of {self.source.repository}@{digest}")
        return Report.from_additions(self.json(response))


DIGEST_CHUNK = 50

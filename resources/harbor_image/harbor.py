"""A small Harbor API v2.0 client on the standard library (check runs every minute: no requests/urllib3).

* One keep-alive ``http.client`` connection per command; TLS from ``ssl.create_default_context`` plus
  ``source.ca_certs`` (``cadata``), or unverified with ``insecure: true``.
* Basic auth on every call and never a cookie: Harbor sets ``sid`` even for Basic-auth calls and answers a client
  that sends it back with 403 "CSRF token invalid" on writes.
* Bounded retries with exponential backoff and full jitter on connection errors/resets, 429 (``Retry-After``
  honoured, capped), 502, 503 and 504 — all within the command's deadline.
* Repository names are double-encoded (``a/b`` → ``a%252Fb``), as Harbor's API requires.
* ``debug: true`` logs one redacted line per request; no header is ever logged.
"""

from __future__ import annotations

import http.client
import json
import random
import re
import ssl
import time
from base64 import b64encode
from collections.abc import Callable, Iterator
from email.utils import parsedate_to_datetime
from typing import Any, Literal, NamedTuple
from urllib.parse import quote, urlencode, urlsplit

from harbor_image.errors import ResourceError, harbor_error_text
from harbor_image.log import Log
from harbor_image.models import ACCEPT_VULNERABILITIES, Artifact, Report
from harbor_image.wire import Source

API = "/api/v2.0"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
PAGE_SIZE = 100  # Harbor's maximum; more is a 422
MAX_PAGES = 1000  # 100,000 artifacts: a hard cap on any listing walk
_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?([A-Za-z]+)"?')
_PAGE = re.compile(r"[?&]page=(\d+)")
USER_AGENT = "harbor-image-resource/0.1"

ScanStart = Literal["accepted", "running", "no-scanner"]
RepositoryState = Literal["ok", "missing", "forbidden"]


class Response(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            raise ResourceError(f"Harbor answered {self.status} with a body that is not JSON") from None


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
        self.attempts = attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.retry_after_cap = retry_after_cap
        self.socket_timeout = socket_timeout
        self._sleep = sleep
        self._clock = clock
        self._conn: http.client.HTTPConnection | None = None
        self._served = 0
        self.requests = 0
        parts = urlsplit(source.url)
        self._hostname = parts.hostname or ""
        self._port = parts.port
        self._auth: str | None = None
        if source.username is not None and source.password is not None:
            token = b64encode(f"{source.username}:{source.password}".encode()).decode("ascii")
            self._auth = f"Basic {token}"
            log.add_secret(source.password, source.username)
        self.repo_path = (
            f"{API}/projects/{quote(source.project, safe='')}/repositories/"
            f"{quote(quote(source.name, safe=''), safe='')}"
        )

    # -- transport -----------------------------------------------------------------------------------------------

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.source.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif self.source.ca_certs:
            try:
                context.load_verify_locations(cadata="\n".join(self.source.ca_certs))
            except (ssl.SSLError, ValueError) as problem:
                raise ResourceError(f"source.ca_certs: not usable PEM certificates ({problem})") from None
        return context

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            timeout = max(0.1, min(self.socket_timeout, self.deadline - self._clock()))
            if self.source.scheme == "https":
                self._conn = http.client.HTTPSConnection(
                    self._hostname, self._port, timeout=timeout, context=self.ssl_context()
                )
            else:
                self._conn = http.client.HTTPConnection(self._hostname, self._port, timeout=timeout)
            self._served = 0
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.max_delay, self.base_delay * 2.0**attempt)
        return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not cryptography

    def _retry_after(self, value: str | None, attempt: int) -> float:
        if value:
            value = value.strip()
            try:
                seconds = float(value)
            except ValueError:
                try:
                    seconds = float(parsedate_to_datetime(value).timestamp()) - time.time()
                except (TypeError, ValueError, IndexError, OverflowError):
                    seconds = self._backoff(attempt)
            return max(0.0, min(seconds, self.retry_after_cap))
        return self._backoff(attempt)

    def _wait(self, delay: float, why: str, what: str) -> None:
        remaining = self.deadline - self._clock()
        if delay >= remaining:
            raise ResourceError(f"{what}: {why}; giving up, the command's deadline leaves {max(0.0, remaining):.0f}s")
        self.log.debug(f"{what}: {why}; retrying in {delay:.1f}s")
        self._sleep(delay)

    def request(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """One API call with bounded retries. Returns whatever final status Harbor gave."""
        target = path + ("?" + urlencode(query, quote_via=quote, safe="*") if query else "")
        what = f"{method} {self.source.url}{target}"
        payload = json.dumps(body).encode() if body is not None else None
        send_headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if self._auth:
            send_headers["Authorization"] = self._auth
        if payload is not None:
            send_headers["Content-Type"] = "application/json"
        send_headers.update(headers or {})
        attempt = 0
        while True:
            if self._clock() >= self.deadline:
                raise ResourceError(f"{what}: the command's deadline passed before Harbor answered")
            conn = self._connection()
            reused = self._served > 0
            started = self._clock()
            try:
                conn.timeout = max(0.1, min(self.socket_timeout, self.deadline - started))
                if conn.sock is not None:
                    conn.sock.settimeout(conn.timeout)
                self.requests += 1
                conn.request(method, target, body=payload, headers=send_headers)
                raw = conn.getresponse()
                data = raw.read()
                response = Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, data)
                self._served += 1
                if raw.will_close:
                    self.close()
            except ssl.SSLCertVerificationError as problem:
                self.close()
                raise ResourceError(
                    f"{what}: TLS verification failed ({problem.verify_message}); add Harbor's CA to source.ca_certs"
                ) from None
            except (OSError, http.client.HTTPException) as problem:
                self.close()
                reason = f"{type(problem).__name__}: {problem}".rstrip(": ")
                if reused and attempt == 0:
                    # a kept-alive connection the server had already closed: reconnect at once
                    self.log.debug(f"{what}: stale keep-alive connection ({reason}); reconnecting")
                    reused = False
                    attempt += 1
                    continue
                attempt += 1
                if attempt >= self.attempts:
                    raise ResourceError(
                        f"{what}: cannot reach Harbor ({reason}) after {attempt} attempts; "
                        f"check source.url and that Harbor is up"
                    ) from None
                self._wait(self._backoff(attempt - 1), reason, what)
                continue
            elapsed = (self._clock() - started) * 1000
            self.log.debug(f"{method} {target} -> {response.status} ({elapsed:.0f} ms)")
            if response.status in RETRY_STATUSES and attempt + 1 < self.attempts:
                delay = (
                    self._retry_after(response.headers.get("retry-after"), attempt)
                    if response.status in (429, 503)
                    else self._backoff(attempt)
                )
                attempt += 1
                self._wait(delay, f"Harbor answered {response.status}", what)
                continue
            return response

    def fail(self, response: Response, what: str) -> ResourceError:
        """The ResourceError for an unexpected answer, with Harbor's error body on one line."""
        detail = harbor_error_text(response.body)
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
        document = response.json()
        value = document.get("update_time") if isinstance(document, dict) else None
        return "ok", value if isinstance(value, str) and value else None

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
            return Artifact.from_api(response.json())
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
        document = response.json()
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

    def artifacts_by_digest(self, digests: list[str]) -> list[Artifact]:
        """The artifacts among ``digests`` (Harbor's OR list ``digest={d1 d2}``), in one request per 50 digests."""
        found: list[Artifact] = []
        for start in range(0, len(digests), DIGEST_CHUNK):
            chunk = digests[start : start + DIGEST_CHUNK]
            for page in self.walk_artifacts("digest={" + " ".join(chunk) + "}", sort=None):
                found.extend(page.artifacts)
        return found

    def scan(self, digest: str) -> ScanStart:
        """Ask Harbor to scan: 202 accepted, 409 a scan is already running, 412 no scanner for the project."""
        response = self.request("POST", f"{self.artifact_path(digest)}/scan", body={"scan_type": "vulnerability"})
        if response.status == 202:
            return "accepted"
        if response.status == 409:
            return "running"
        if response.status == 412:
            return "no-scanner"
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
        if response.status != 200:
            raise self.fail(response, f"reading the vulnerability report of {self.source.repository}@{digest}")
        return Report.from_additions(response.json())


DIGEST_CHUNK = 50

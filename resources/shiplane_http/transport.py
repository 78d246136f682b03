"""One keep-alive HTTP(S) connection with bounded retries, inside a deadline.

* One ``http.client`` connection per :class:`Transport`; TLS from ``ssl.create_default_context`` plus the given CA
  certificates (PEM, ``cadata``), or unverified when ``insecure``.
* No cookie jar, ever: Harbor sets ``sid`` even for Basic-auth calls and answers a client that sends it back with
  403 "CSRF token invalid" on writes; Gate's session cookie is likewise not needed with per-request credentials.
* Bounded retries with exponential backoff and full jitter on connection errors/resets, 429 (``Retry-After``
  honoured, capped), 502, 503 and 504 — all within the caller's deadline (a ``time.monotonic`` value).
* ``debug`` logs one line per request through the caller's log (which redacts); no header is ever logged.

Errors are :class:`TransportError` with a one-line message that names the service, the request and the fix; the
caller turns them into its own fatal error type.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import ssl
import time
from collections.abc import Callable, Sequence
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple, Protocol
from urllib.parse import quote, urlencode, urlsplit

RETRY_STATUSES = frozenset({429, 502, 503, 504})


class TransportError(Exception):
    """A request could not be completed (unreachable, TLS, deadline, retries exhausted). One line, no secrets."""


class TransportLog(Protocol):
    """What the transport needs of a logger: ``debug`` lines (shown only when debugging is on)."""

    def debug(self, message: str) -> None: ...


class Response(NamedTuple):
    """A final answer: status, headers with lower-case names, the whole body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self, service: str = "the server") -> Any:
        """The body as JSON (an empty body is ``None``); :class:`TransportError` when it is not JSON."""
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            raise TransportError(f"{service} answered {self.status} with a body that is not JSON") from None


class Transport:
    """Requests against one base URL (``scheme://host[:port]``; paths are given per request).

    ``service`` names the server in messages ("Harbor", "Gate"); ``url_field`` and ``ca_field`` name the settings a
    user fixes ("source.url", "source.ca_certs"). ``auth_header`` is sent as ``Authorization`` on every request.
    """

    def __init__(
        self,
        base_url: str,
        log: TransportLog,
        deadline: float,
        *,
        service: str,
        url_field: str,
        ca_field: str,
        auth_header: str | None = None,
        insecure: bool = False,
        ca_certs: Sequence[str] | None = None,
        client_cert: str | None = None,
        client_key: str | None = None,
        user_agent: str = "shiplane/0.1",
        attempts: int = 5,
        base_delay: float = 0.5,
        max_delay: float = 20.0,
        retry_after_cap: float = 60.0,
        socket_timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        parts = urlsplit(base_url)
        self.base_url = base_url.rstrip("/")
        self.scheme = parts.scheme
        self._hostname = parts.hostname or ""
        self._port = parts.port
        self.log = log
        self.deadline = deadline
        self.service = service
        self.url_field = url_field
        self.ca_field = ca_field
        self.auth_header = auth_header
        self.insecure = insecure
        self.ca_certs = list(ca_certs or [])
        self.client_cert = client_cert
        self.client_key = client_key
        self.user_agent = user_agent
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

    def ssl_context(self) -> ssl.SSLContext:
        """The TLS context: system CAs plus ``ca_certs``, or no verification when ``insecure``."""
        context = ssl.create_default_context()
        if self.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif self.ca_certs:
            try:
                context.load_verify_locations(cadata="\n".join(self.ca_certs))
            except (ssl.SSLError, ValueError) as problem:
                raise TransportError(f"{self.ca_field}: not usable PEM certificates ({problem})") from None
        if self.client_cert is not None:
            load_client_certificate(context, self.client_cert, self.client_key)
        return context

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            timeout = max(0.1, min(self.socket_timeout, self.deadline - self._clock()))
            if self.scheme == "https":
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
            raise TransportError(f"{what}: {why}; giving up, the command's deadline leaves {max(0.0, remaining):.0f}s")
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
        """One call with bounded retries; returns whatever final status the server gave.

        ``body`` is sent as JSON. Raises :class:`TransportError` when the server cannot be reached within the
        attempts and the deadline, or TLS verification fails.
        """
        target = path + ("?" + urlencode(query, quote_via=quote, safe="*") if query else "")
        what = f"{method} {self.base_url}{target}"
        payload = json.dumps(body).encode() if body is not None else None
        send_headers = {"Accept": "application/json", "User-Agent": self.user_agent}
        if self.auth_header:
            send_headers["Authorization"] = self.auth_header
        if payload is not None:
            send_headers["Content-Type"] = "application/json"
        send_headers.update(headers or {})
        attempt = 0
        while True:
            if self._clock() >= self.deadline:
                raise TransportError(f"{what}: the command's deadline passed before {self.service} answered")
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
                raise TransportError(
                    f"{what}: TLS verification failed ({problem.verify_message}); "
                    f"add {self.service}'s CA to {self.ca_field}"
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
                    raise TransportError(
                        f"{what}: cannot reach {self.service} ({reason}) after {attempt} attempts; "
                        f"check {self.url_field} and that {self.service} is up"
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
                self._wait(delay, f"{self.service} answered {response.status}", what)
                continue
            return response


def load_client_certificate(context: ssl.SSLContext, cert_pem: str, key_pem: str | None) -> None:
    """Load a client certificate and key given as PEM *strings* (x509 authentication, e.g. to Spinnaker's Gate).

    ``ssl`` only loads certificate chains from paths, so the PEM goes into anonymous memory files (``memfd``), read
    through ``/proc/self/fd`` and closed at once: the private key never touches a file system. Raises
    :class:`TransportError` naming the problem (never the key).
    """
    fds: list[int] = []
    try:
        paths = []
        for name, pem in (("certificate", cert_pem), ("key", key_pem)):
            if pem is None:
                continue
            fd = os.memfd_create(f"shiplane-client-{name}", os.MFD_CLOEXEC)
            fds.append(fd)
            os.write(fd, pem.encode())
            paths.append(f"/proc/self/fd/{fd}")
        try:
            context.load_cert_chain(paths[0], paths[1] if len(paths) > 1 else None)
        except (ssl.SSLError, OSError, ValueError) as problem:
            reason = getattr(problem, "reason", None) or type(problem).__name__
            raise TransportError(
                f"the client certificate and key are not a usable PEM pair ({reason}); give the certificate and its "
                "unencrypted private key as PEM"
            ) from None
    finally:
        for fd in fds:
            os.close(fd)

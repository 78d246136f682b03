"""One keep-alive HTTP(S) connection with bounded retries, inside a deadline.

* One ``http.client`` connection per :class:`Transport`; TLS from ``ssl.create_default_context`` plus the given CA
  certificates (PEM, ``cadata``), or unverified when ``insecure``.
* No cookie jar, ever: Harbor sets ``sid`` even for Basic-auth calls and answers a client that sends it back with
  403 "CSRF token invalid" on writes; Gate's session cookie is likewise not needed with per-request credentials.
* Bounded retries with exponential backoff and full jitter on connection errors/resets, 429 (``Retry-After``
  honoured, capped), 502, 503 and 504 — all within the caller's deadline (a ``time.monotonic`` value).
* Every answer is bounded in time and size: a whole request (connect, headers, body) gets at most
  ``request_timeout`` seconds and never more than the deadline leaves — a watchdog shuts the socket down when
  that passes, so a server dripping one byte every few seconds cannot outlive it — and a body larger than the
  request's ``max_bytes`` is refused (from ``Content-Length`` before reading, else while reading in 64 KiB chunks).
* ``debug`` logs one line per request through the caller's log (which redacts); no header is ever logged.

Errors are :class:`TransportError` with a one-line message that names the service, the request and the fix; the
caller turns them into its own fatal error type.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple, Protocol
from urllib.parse import quote, urlencode, urlsplit

RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_BYTES = 16 * 1024 * 1024  # default cap on one response body
READ_CHUNK = 64 * 1024


def size_text(count: int) -> str:
    """``16 MiB``, ``512 KiB``, ``900 bytes``."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= size and count % size == 0:
            return f"{count // size} {unit}"
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} bytes"


class TransportError(Exception):
    """A request could not be completed (unreachable, TLS, deadline, retries exhausted). One line, no secrets."""


class TransportLog(Protocol):
    """What the transport needs of a logger: ``debug`` lines (shown only when debugging is on)."""

    def debug(self, message: str) -> None: ...


class ClientLog(TransportLog, Protocol):
    """What an API client (Gate, Harbor administration) needs of a logger: ``debug`` lines and secret registration,
    so every credential it handles is redacted from whatever is printed later."""

    def add_secret(self, secret: str | None, username: str | None = None) -> None: ...


class _TooLarge(Exception):
    """The body exceeds the request's ``max_bytes`` (raised while reading)."""


class _Expired(Exception):
    """The request's time budget passed (the watchdog shut the socket down)."""


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
        except RecursionError:
            raise TransportError(f"{service} answered {self.status} with JSON nested too deeply") from None


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
        request_timeout: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        try:
            parts = urlsplit(base_url)
            port = parts.port
        except ValueError as problem:
            raise TransportError(f"{url_field}: not a usable URL ({problem})") from None
        self.base_url = base_url.rstrip("/")
        self.scheme = parts.scheme
        self._hostname = parts.hostname or ""
        self._port = port
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
        self.request_timeout = request_timeout
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
            raise TransportError(
                f"{what}: {why}; giving up, the command's deadline leaves {max(0.0, remaining):.0f}s "
                f"(the next try was due in {delay:.0f}s)"
            )
        self.log.debug(f"{what}: {why}; retrying in {delay:.1f}s")
        self._sleep(delay)

    def request(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        *,
        max_bytes: int = MAX_BYTES,
        label: str | None = None,
    ) -> Response:
        """One call with bounded retries; returns whatever final status the server gave.

        ``body`` is sent as JSON. ``max_bytes`` caps the response body (``label`` names the request kind in the
        error, e.g. "a vulnerability report"). Raises :class:`TransportError` when the server cannot be reached
        within the attempts and the deadline, TLS verification fails, a body exceeds ``max_bytes``, no complete
        answer arrives within ``request_timeout`` (retried) or the deadline, or 429/503 persist through every
        attempt (the message says how many and what ``Retry-After`` asked for).
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
            budget = max(0.1, min(self.request_timeout, self.deadline - started))
            watchdog = _Watchdog(conn, budget)
            try:
                conn.timeout = max(0.1, min(self.socket_timeout, budget))
                if conn.sock is not None:
                    conn.sock.settimeout(conn.timeout)
                self.requests += 1
                conn.request(method, target, body=payload, headers=send_headers)
                # http.client drops conn.sock when the answer says it closes the connection (HTTP/1.0,
                # Connection: close) while the body is still read from it: the watchdog keeps its own reference
                watchdog.sock = conn.sock
                raw = conn.getresponse()
                data = _read_body(raw, max_bytes, watchdog)
                response = Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, data)
                self._served += 1
                if raw.will_close:
                    self.close()
            except _TooLarge as problem:
                self.close()
                raise TransportError(
                    f"{what}: {self.service}'s answer is larger than {size_text(max_bytes)} ({problem}), the limit "
                    f"for {label or 'this request'}; check {self.url_field} points at {self.service}"
                ) from None
            except ssl.SSLCertVerificationError as problem:
                self.close()
                if self.ca_certs:
                    hint = (
                        f"the certificates in {self.ca_field} do not verify {self.service}'s; check they include the "
                        f"CA that signed it (and any intermediate) and that {self.url_field} names the host in it"
                    )
                else:
                    hint = f"add {self.service}'s CA to {self.ca_field}"
                raise TransportError(f"{what}: TLS verification failed ({problem.verify_message}); {hint}") from None
            except (OSError, http.client.HTTPException, _Expired) as problem:
                self.close()
                reason = f"{type(problem).__name__}: {problem}".rstrip(": ")
                if watchdog.fired:
                    if self._clock() >= self.deadline - 0.05:
                        raise TransportError(
                            f"{what}: no complete answer from {self.service} before the command's deadline"
                        ) from None
                    reason = f"no complete answer within {budget:.0f}s"
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
            finally:
                watchdog.cancel()
            elapsed = (self._clock() - started) * 1000
            self.log.debug(f"{method} {target} -> {response.status} ({elapsed:.0f} ms)")
            if response.status in RETRY_STATUSES:
                asked = response.headers.get("retry-after")
                asked_text = ""
                if asked and response.status in (429, 503):
                    asked_text = f", Retry-After: {asked.strip()[:40]!r}"
                why = f"{self.service} answered {response.status} (attempt {attempt + 1}/{self.attempts}{asked_text})"
                if attempt + 1 < self.attempts:
                    delay = (
                        self._retry_after(asked, attempt) if response.status in (429, 503) else self._backoff(attempt)
                    )
                    attempt += 1
                    self._wait(delay, why, what)
                    continue
                if response.status in (429, 503):
                    raise TransportError(
                        f"{what}: {self.service} answered {response.status} to all {self.attempts} attempts"
                        f"{asked_text.replace(', ', ' (last ', 1) + ')' if asked_text else ''}; giving up — "
                        f"{self.service} is {'rate-limiting' if response.status == 429 else 'unavailable'}, "
                        f"try again later"
                    )
            return response


class _Watchdog:
    """Shuts the connection's socket down when a request's time budget passes (unblocking any read in progress).

    A socket timeout bounds each ``recv`` only; a server that sends one byte just inside it would otherwise keep a
    request alive without end.
    """

    def __init__(self, conn: http.client.HTTPConnection, budget: float) -> None:
        self.fired = False
        self.sock: socket.socket | None = None
        self._conn = conn
        self._timer = threading.Timer(budget, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.fired = True
        sock = self._conn.sock or self.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()


def _read_body(raw: http.client.HTTPResponse, max_bytes: int, watchdog: _Watchdog) -> bytes:
    """The whole body in chunks, refusing more than ``max_bytes`` (announced or read)."""
    length = raw.getheader("content-length")
    if length is not None and length.strip().isdigit() and int(length) > max_bytes:
        raise _TooLarge(f"Content-Length {int(length)}")
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = raw.read(READ_CHUNK)
        if watchdog.fired:
            raise _Expired("the time budget passed")
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > max_bytes:
            raise _TooLarge(f"more than {max_bytes} bytes read")
        chunks.append(chunk)


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

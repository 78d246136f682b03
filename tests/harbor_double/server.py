"""HTTP plumbing: a threaded HTTP/1.1 server (optionally TLS) and `Exchange`, one request and its response.

Every response carries `X-Request-Id` (the client's, or a new one) and Harbor's `Set-Cookie: sid=…`; bodies always
have a Content-Length so connections stay alive for clients such as skopeo.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import ssl
import struct
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .errors import ERROR_CONTENT_TYPE, HarborError

MAX_BODY = 64 * 1024 * 1024
DRAIN_LIMIT = 1024 * 1024
CHUNK = 256 * 1024


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the double saw it (credentials reduced to their scheme)."""

    method: str
    path: str  # raw path, as sent
    query: str  # raw query string
    status: int
    faulted: bool = False
    auth_scheme: str | None = None  # "Basic", "Bearer" or None
    cookies: tuple[str, ...] = ()  # names of the cookies sent
    user_agent: str = ""

    @property
    def params(self) -> dict[str, list[str]]:
        return urllib.parse.parse_qs(self.query, keep_blank_values=True)

    @property
    def url(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path


@dataclass
class RequestLog:
    """Requests in arrival order; `api` for /api/…, `registry` for /v2/… and /service/token."""

    api: list[LoggedRequest] = field(default_factory=list)
    registry: list[LoggedRequest] = field(default_factory=list)
    other: list[LoggedRequest] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, entry: LoggedRequest) -> None:
        with self._lock:
            if entry.path.startswith("/api/"):
                self.api.append(entry)
            elif entry.path.startswith(("/v2", "/service/")):
                self.registry.append(entry)
            else:
                self.other.append(entry)

    def clear(self) -> None:
        with self._lock:
            self.api.clear()
            self.registry.clear()
            self.other.clear()


class Exchange:
    """One request and its response, over a `BaseHTTPRequestHandler`."""

    def __init__(self, handler: Handler, scheme: str) -> None:
        self.handler = handler
        self.scheme = scheme
        self.method = handler.command
        self.raw_path, _, self.raw_query = handler.path.partition("?")
        self.headers = handler.headers
        self.request_id = handler.headers.get("X-Request-Id") or str(uuid.uuid4())
        self.host = handler.headers.get("Host") or "127.0.0.1"
        self.status = 0
        self.faulted = False
        self.logged = False
        # called once, just before the response goes out, so a client never sees a response before it is logged
        self.on_response: Callable[[Exchange], None] | None = None
        self._body_started = False
        self._remaining: int | None = None
        self.cookies = _cookies(handler.headers.get("Cookie", ""))
        self.sid = self.cookies.get("sid")

    # --- request -------------------------------------------------------------------------------------------
    @property
    def params(self) -> dict[str, list[str]]:
        return urllib.parse.parse_qs(self.raw_query, keep_blank_values=True)

    def param(self, name: str) -> str | None:
        values = self.params.get(name)
        return values[0] if values else None

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}"

    def has_body(self) -> bool:
        return bool(self.headers.get("Content-Length", "0") != "0" or self.chunked)

    @property
    def chunked(self) -> bool:
        return "chunked" in self.headers.get("Transfer-Encoding", "").lower()

    def body_chunks(self) -> Iterator[bytes]:
        """The request body as it arrives (Content-Length or chunked transfer encoding)."""
        if self._body_started:
            return
        self._body_started = True
        rfile = self.handler.rfile
        if self.chunked:
            while True:
                size_line = rfile.readline(1024)
                if not size_line:
                    raise ConnectionError("client closed the connection inside a chunked body")
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return
                remaining = size
                while remaining:
                    data = rfile.read(min(remaining, CHUNK))
                    if not data:
                        raise ConnectionError("client closed the connection inside a chunk")
                    remaining -= len(data)
                    yield data
                rfile.readline(8)
            return
        length = int(self.headers.get("Content-Length") or 0)
        while length:
            data = rfile.read(min(length, CHUNK))
            if not data:
                raise ConnectionError("client closed the connection inside the body")
            length -= len(data)
            yield data

    def read_body(self, limit: int = MAX_BODY) -> bytes:
        parts = []
        size = 0
        for chunk in self.body_chunks():
            size += len(chunk)
            if size > limit:
                raise HarborError("REQUEST_ENTITY_TOO_LARGE", "request entity too large")
            parts.append(chunk)
        return b"".join(parts)

    def drain(self) -> None:
        """Consume an unread body so the connection can be reused; close it when the body is large."""
        if self._body_started:
            return
        length = self.headers.get("Content-Length")
        if self.chunked or (length and int(length) > DRAIN_LIMIT):
            self.handler.close_connection = True
            self._body_started = True
            return
        for _ in self.body_chunks():
            pass

    # --- response ------------------------------------------------------------------------------------------
    def start(self, status: int, headers: list[tuple[str, str]], length: int | None) -> None:
        """Send the status line and headers; `length` None means the connection closes after the body."""
        self.drain()
        self.status = status
        self.announce()
        handler = self.handler
        handler.send_response(status)
        for name, value in headers:
            handler.send_header(name, value)
        handler.send_header("X-Request-Id", self.request_id)
        # beego's session: Harbor sets `sid` on every response, basic-auth API calls included (#13124).
        handler.send_header("Set-Cookie", f"sid={self.sid or secrets.token_hex(16)}; Path=/; HttpOnly")
        if length is None:
            handler.close_connection = True
            handler.send_header("Connection", "close")
        else:
            handler.send_header("Content-Length", str(length))
        handler.end_headers()

    def write(self, data: bytes) -> None:
        if data and self.method != "HEAD":
            self.handler.wfile.write(data)

    def send(
        self,
        status: int,
        body: bytes = b"",
        *,
        content_type: str | None = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        all_headers = list(headers or [])
        if content_type:
            all_headers.insert(0, ("Content-Type", content_type))
        self.start(status, all_headers, len(body))
        self.write(body)

    def send_error(self, error: HarborError, headers: list[tuple[str, str]] | None = None) -> None:
        self.send(error.status, error.body(), content_type=ERROR_CONTENT_TYPE, headers=headers)

    def announce(self) -> None:
        if not self.logged:
            self.logged = True
            if self.on_response is not None:
                self.on_response(self)

    def reset_connection(self) -> None:
        """Abort with a TCP RST (SO_LINGER 0), as a crashing proxy or a flaky network does."""
        self.status = -1
        self.announce()
        connection = self.handler.connection
        try:
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        finally:
            connection.close()
        self.handler.close_connection = True


def _cookies(header: str) -> dict[str, str]:
    cookie: SimpleCookie = SimpleCookie()
    try:
        cookie.load(header)
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in cookie.items()}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120
    server: Server

    def setup(self) -> None:
        context = self.server.ssl_context
        self.raw_socket = self.request
        self.server.track(self.raw_socket, add=True)
        if context is not None:
            self.request.settimeout(self.timeout)
            self.request = context.wrap_socket(self.request, server_side=True)
        super().setup()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.raw_socket, add=False)

    def version_string(self) -> str:
        return "nginx"  # Harbor answers through its nginx proxy

    def log_message(self, format: str, *args: object) -> None:
        return  # the double keeps its own request log

    def _serve(self) -> None:
        scheme = "https" if self.server.ssl_context is not None else "http"
        self.server.app(Exchange(self, scheme))

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _serve


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], app: Callable[[Exchange], None], ssl_context: ssl.SSLContext | None
    ) -> None:
        self.app = app
        self.ssl_context = ssl_context
        self.errors: list[str] = []
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, Handler)

    def track(self, connection: socket.socket, *, add: bool) -> None:
        with self._connections_lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_connections(self) -> None:
        """Cut every open connection (keep-alive clients must not keep talking to a stopped double)."""
        with self._connections_lock:
            connections = list(self._connections)
            self._connections.clear()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: object, client_address: object) -> None:
        import traceback

        self.errors.append(traceback.format_exc())

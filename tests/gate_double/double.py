"""The Gate double's server: HTTP or HTTPS (optionally asking for a client certificate), auth, faults, request log.

Authentication follows Gate's filters: ``Authorization: Basic`` (basic/LDAP), ``Authorization: Bearer`` (OAuth2),
or an x509 client certificate whose CN names the user (gate's X509AuthConfig: the principal from the certificate's
subject). A request without valid credentials gets 401 with kork-web's error body, unless ``state.anonymous``.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .routes import ROUTER, Call, Reply, encode, error, parse_query
from .state import GateState, User

MAX_BODY = 16 * 1024 * 1024
# route modules, imported once so their handlers register on ROUTER (each follows one Gate controller family)
ROUTE_MODULES: tuple[str, ...] = ("auth_routes",)


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    query: str
    status: int
    user: str | None
    faulted: bool = False
    body: Any = None


@dataclass
class Fault:
    """Answer the next ``times`` requests matching ``method``/``path_prefix`` with ``status`` (before the handler),
    or, with ``after=True``, run the handler and then answer ``status`` (the work is done, the client sees a failure:
    a lost response)."""

    method: str
    path_prefix: str
    status: int
    times: int = 1
    after: bool = False
    headers: list[tuple[str, str]] = field(default_factory=list)
    reset: bool = False  # close the connection instead of answering


class GateDouble:
    """Start with ``with GateDouble() as gate:`` (or ``start()``/``stop()``). ``url``, ``state``, ``log``,
    ``add_user(...)``, ``fault(...)``, ``reset()``. ``tls=(cert_file, key_file, ca_file)`` serves HTTPS and asks for
    a client certificate signed by ``ca_file`` (optional, as Gate's x509 port with ``clientAuth: want``)."""

    def __init__(self, tls: tuple[str, str, str] | None = None) -> None:
        for module in ROUTE_MODULES:
            importlib.import_module(f"{__package__}.{module}")
        self.state = GateState()
        self.log: list[LoggedRequest] = []
        self.faults: list[Fault] = []
        self._lock = threading.Lock()
        self._tls = tls
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- fixture API ---------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.server_address[1]
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{port}"

    def add_user(self, name: str, **kwargs: Any) -> User:
        return self.state.add_user(User(name, **kwargs))

    def fault(self, method: str, path_prefix: str, status: int, **kwargs: Any) -> None:
        with self._lock:
            self.faults.append(Fault(method, path_prefix, status, **kwargs))

    def reset(self) -> None:
        """Fresh state, no faults, empty log (the server keeps running)."""
        with self._lock:
            self.state = GateState()
            self.faults.clear()
            self.log.clear()

    def start(self) -> GateDouble:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self))
        server.daemon_threads = True
        if self._tls:
            cert, key, ca = self._tls
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert, key)
            context.load_verify_locations(ca)
            context.verify_mode = ssl.CERT_OPTIONAL
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="gate-double", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> GateDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- request handling ----------------------------------------------------------------------------------------

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.method in (method, "*") and path.startswith(fault.path_prefix) and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def _authenticate(self, headers: Any, peer_cn: str | None) -> User | None:
        state = self.state
        header = headers.get("Authorization") or ""
        scheme, _, value = header.partition(" ")
        with state.lock:
            if scheme.lower() == "basic":
                try:
                    name, _, password = base64.b64decode(value, validate=True).decode().partition(":")
                except (ValueError, UnicodeDecodeError):
                    return None
                user = state.users.get(name)
                return user if user is not None and user.password is not None and user.password == password else None
            if scheme.lower() == "bearer":
                return next((u for u in state.users.values() if u.token and u.token == value), None)
            if peer_cn is not None:
                return next((u for u in state.users.values() if u.cert_cn == peer_cn), None)
            if state.anonymous:
                return User("anonymous", admin=True)
        return None

    def handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        raw_path, _, query = handler.path.partition("?")
        length = int(handler.headers.get("Content-Length") or 0)
        data = handler.rfile.read(min(length, MAX_BODY)) if length else b""
        try:
            body = json.loads(data) if data else None
        except ValueError:
            body = data.decode("utf-8", "replace")
        peer_cn = _peer_cn(handler.connection)
        user = self._authenticate(handler.headers, peer_cn)
        fault = self._take_fault(method, raw_path)
        if fault is not None and fault.reset:
            self._record(method, raw_path, query, 0, user, True, body)
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault is not None and not fault.after:
            reply = error(fault.status, "injected fault", raw_path)
            reply.headers.extend(fault.headers)
            self._record(method, raw_path, query, fault.status, user, True, body)
            self._send(handler, reply)
            return
        if user is None:
            reply = error(401, "Authentication required", raw_path)
        else:
            found = ROUTER.find(method, raw_path)
            if found is None:
                reply = error(404, f"No handler for {method} {raw_path}", raw_path)
            elif found is False:
                reply = error(405, f"Request method '{method}' is not supported", raw_path)
            else:
                route, match = found  # type: ignore[misc]
                call = Call(method, raw_path, parse_query(query), body, user.name, self.state, match,
                            {k.lower(): v for k, v in handler.headers.items()})
                reply = route(call)
        if fault is not None and fault.after:
            reply = error(fault.status, "injected fault after the work was done", raw_path)
        # recorded before the answer goes out, so a client that has its answer sees the request in the log
        self._record(method, raw_path, query, reply.status, user, fault is not None, body)
        self._send(handler, reply)

    def _record(self, method: str, path: str, query: str, status: int, user: User | None, faulted: bool,
                body: Any) -> None:
        with self._lock:
            self.log.append(LoggedRequest(method, path, query, status, user.name if user else None, faulted, body))

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        payload = encode(reply.body)
        handler.send_response(reply.status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers:
            handler.send_header(name, value)
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(payload)


def _peer_cn(connection: Any) -> str | None:
    if not isinstance(connection, ssl.SSLSocket):
        return None
    cert = connection.getpeercert()
    if not cert:
        return None
    for rdn in cert.get("subject", ()):
        for pair in rdn:
            if pair[0] == "commonName":
                return str(pair[1])
    return None


def _handler_class(double: GateDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            double.handle(self, "GET")

        def do_POST(self) -> None:
            double.handle(self, "POST")

        def do_PUT(self) -> None:
            double.handle(self, "PUT")

        def do_PATCH(self) -> None:
            double.handle(self, "PATCH")

        def do_DELETE(self) -> None:
            double.handle(self, "DELETE")

    return Handler


@contextlib.contextmanager
def running(tls: tuple[str, str, str] | None = None) -> Iterator[GateDouble]:
    with GateDouble(tls) as double:
        yield double

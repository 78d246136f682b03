"""A misbehaving HTTP server on 127.0.0.1 for the hardening tests: drips, huge bodies, resets, 429/503, echoes.

Each :class:`Fault` says how the server answers every request it receives (after reading the request head):

* ``drip``: ``200`` with ``Content-Length: 10 MB``, then one body byte every ``interval`` seconds;
* ``chunked-drip``: ``200`` chunked, a one-byte chunk every ``interval`` seconds, never the last chunk;
* ``header-drip``: the status line, then one header byte every ``interval`` seconds;
* ``huge-length``: ``Content-Length: 1.5 GB`` and a fast body (the client must refuse it from the header);
* ``huge-chunked``: a chunked body of endless 64 KiB chunks (refused while reading);
* ``reset``: the connection is reset (RST) as soon as the request arrives;
* ``status``: ``status`` with ``body`` and ``headers`` (429/503 with ``Retry-After``, a 401 echoing a secret);
* ``route``: ``route(path)`` returns (status, headers, body) per request (a tiny Harbor for the fuzzer).

``fault`` may be replaced between requests.

``requests`` counts the requests received. Only 127.0.0.1; every thread is a daemon and ``stop()`` closes all.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

OK_JSON = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"


@dataclass
class Fault:
    kind: str
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    interval: float = 2.0
    route: Callable[[str], tuple[int, dict[str, str], bytes]] | None = None


class FaultServer:
    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        self.requests = 0
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port = self._listener.getsockname()[1]
        self._stopped = threading.Event()
        self._connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._stopped.set()
        self._listener.close()
        for connection in self._connections:
            with contextlib.suppress(OSError):
                connection.close()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self._connections.append(connection)
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        try:
            while not self._stopped.is_set():
                head = b""
                while b"\r\n\r\n" not in head:
                    data = connection.recv(65536)
                    if not data:
                        return
                    head += data
                self.requests += 1
                if not self._answer(connection, head.split(b" ", 2)[1].decode("latin-1") if b" " in head else "/"):
                    return
        except OSError:
            return
        finally:
            connection.close()

    def _drip(self, connection: socket.socket, chunks: bytes | list[bytes]) -> bool:
        for chunk in chunks if isinstance(chunks, list) else [chunks[i : i + 1] for i in range(len(chunks))]:
            if self._stopped.wait(self.fault.interval):
                return False
            connection.sendall(chunk)
        return False

    def _answer(self, connection: socket.socket, path: str) -> bool:
        fault = self.fault
        if fault.kind == "route" and fault.route is not None:
            status, extra, body = fault.route(path)
            fault = Fault("status", status=status, headers=extra, body=body)
        if fault.kind == "reset":
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        if fault.kind == "drip":
            connection.sendall(OK_JSON + b"Content-Length: 10000000\r\n\r\n")
            return self._drip(connection, b"[" + b" " * 9_999_998 + b"]")
        if fault.kind == "chunked-drip":
            connection.sendall(OK_JSON + b"Transfer-Encoding: chunked\r\n\r\n")
            return self._drip(connection, [b"1\r\n \r\n"] * 100_000)
        if fault.kind == "header-drip":
            connection.sendall(b"HTTP/1.1 200 OK\r\n")
            return self._drip(connection, b"X-Slow: " + b"a" * 60_000)
        if fault.kind == "huge-length":
            connection.sendall(OK_JSON + b"Content-Length: 1500000000\r\n\r\n")
            block = b" " * 65536
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not self._stopped.is_set():
                connection.sendall(block)
            return False
        if fault.kind == "huge-chunked":
            connection.sendall(OK_JSON + b"Transfer-Encoding: chunked\r\n\r\n")
            chunk = b"10000\r\n" + b" " * 65536 + b"\r\n"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not self._stopped.is_set():
                connection.sendall(chunk)
            return False
        reason = {200: "OK", 302: "Found", 401: "Unauthorized", 404: "Not Found", 429: "Too Many", 503: "Unavailable"}
        lines = [f"HTTP/1.1 {fault.status} {reason.get(fault.status, 'Status')}"]
        headers = {"Content-Type": "application/json", "Content-Length": str(len(fault.body)), **fault.headers}
        lines += [f"{name}: {value}" for name, value in headers.items()]
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + fault.body)
        return True

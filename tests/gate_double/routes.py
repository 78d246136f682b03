"""Route registry and the request/response types handlers use.

A handler is ``handler(call: Call) -> Reply``; routes are matched in registration order by method and a full-match
regex on the path (query excluded). Route modules import :data:`ROUTER` and decorate their handlers.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .state import GateState


@dataclass
class Call:
    """One authenticated request: method, path, parsed query, JSON body (None when empty), the caller's name."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    user: str
    state: GateState
    match: re.Match[str]
    headers: dict[str, str] = field(default_factory=dict)

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: list[tuple[str, str]] = field(default_factory=list)


def error(status: int, message: str, path: str) -> Reply:
    """kork-web's error body: Spring Boot's error attributes (GenericErrorController)."""
    reasons = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
               429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}
    return Reply(status, {"timestamp": int(time.time() * 1000), "status": status,
                          "error": reasons.get(status, "Error"), "message": message, "path": path})


Handler = Callable[[Call], Reply]


class Router:
    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append((method, re.compile(pattern), handler))
            return handler

        return register

    def find(self, method: str, path: str) -> tuple[Handler, re.Match[str]] | bool | None:
        """The handler and match; False when the path exists for another method (405); None when unknown."""
        other_method = False
        for route_method, pattern, handler in self.routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if route_method == method:
                return handler, match
            other_method = True
        return False if other_method else None


ROUTER = Router()


def parse_query(query: str) -> dict[str, list[str]]:
    return urllib.parse.parse_qs(query, keep_blank_values=True)


def encode(body: Any) -> bytes:
    return b"" if body is None else json.dumps(body).encode()

"""Fault injection: answer N matching requests with 429/5xx or a connection reset, then behave normally.

A fault matches on the method (or any) and a regular expression searched in the raw request path (no query).
Faults are checked before anything else, so a faulted request never reaches the state or the registry — like a
load balancer or rate limiter in front of Harbor.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

from .errors import error_body

NGINX_PAGES = {
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}


@dataclass(eq=False)
class Fault:
    """One injected failure rule. `hits` counts the requests it answered; `remaining` how many it still will."""

    method: str | None
    path: re.Pattern[str]
    remaining: int
    status: int = 503
    retry_after: str | None = None
    reset: bool = False
    body: bytes | None = None
    content_type: str | None = None
    delay: float = 0.0
    hits: int = 0

    def response(self, *, registry: bool = False) -> tuple[int, list[tuple[str, str]], bytes]:
        """(status, headers, body) of the injected answer (unused for a reset).

        A 429 on the registry (`/v2/…`) has distribution's error body (registry/api/errcode TOOMANYREQUESTS "too
        many requests"), as a registry or a proxy-cache upstream such as Docker Hub answers; on the API Harbor's.
        """
        headers: list[tuple[str, str]] = []
        if self.retry_after is not None:
            headers.append(("Retry-After", self.retry_after))
        body = self.body
        content_type = self.content_type
        if body is None:
            if self.status in NGINX_PAGES:
                text = f"{self.status} {NGINX_PAGES[self.status]}"
                body = (
                    f"<html>\r\n<head><title>{text}</title></head>\r\n<body>\r\n<center><h1>{text}</h1></center>\r\n"
                    "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
                ).encode()
                content_type = content_type or "text/html"
            else:
                code = ("TOOMANYREQUESTS" if registry else "TOO_MANY_REQUEST") if self.status == 429 else "UNKNOWN"
                message = "too many requests" if self.status == 429 else "internal server error"
                body = error_body(code, message)
                content_type = content_type or "application/json; charset=utf-8"
        headers.append(("Content-Type", content_type or "application/octet-stream"))
        return self.status, headers, body


@dataclass
class Faults:
    """The active fault rules of a double (`harbor.faults`)."""

    rules: list[Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(
        self,
        path: str,
        *,
        method: str | None = None,
        times: int = 1,
        status: int = 503,
        retry_after: int | str | None = None,
        reset: bool = False,
        body: bytes | None = None,
        content_type: str | None = None,
        delay: float = 0.0,
    ) -> Fault:
        """Fail the next `times` requests whose path matches the regex `path` (and `method`, if given).

        `status` 429/502/503/504/…; `retry_after` adds a Retry-After header (seconds or an HTTP date);
        `reset=True` closes the connection with a TCP RST instead of answering; `delay` sleeps first.
        """
        fault = Fault(
            method=method.upper() if method else None,
            path=re.compile(path),
            remaining=times,
            status=status,
            retry_after=str(retry_after) if retry_after is not None else None,
            reset=reset,
            body=body,
            content_type=content_type,
            delay=delay,
        )
        with self._lock:
            self.rules.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The first active rule matching this request, consuming one of its `times`."""
        with self._lock:
            for fault in self.rules:
                if fault.remaining <= 0:
                    continue
                if fault.method not in (None, method) or not fault.path.search(path):
                    continue
                fault.remaining -= 1
                fault.hits += 1
                return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

"""stderr logging with secret redaction.

Everything the resource prints goes through one :class:`Log`, whose :class:`shiplane_http.redact.Redactor` replaces
every registered secret (the password in every encoding a server may echo, the Basic credentials in base64) with
``***`` — in normal messages, debug lines and error text alike. Lines are written with control characters escaped
(Concourse renders ANSI colours in build logs) except the newlines between a message's own lines, and a string
that cannot be encoded (a lone surrogate) is written escaped instead of failing. Nothing here runs at import time;
the CLI builds the ``Log`` before the payload is decoded.

A command whose notes only matter when it succeeds (check: held-back versions, a missing permission, a capped
listing) runs inside :meth:`Log.held`: its lines are written when the block completes and dropped when it raises,
so a failing run prints its one error line and nothing before it.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TextIO

from shiplane_http.redact import REDACTED, Redactor, escape_controls

__all__ = ["REDACTED", "Log"]


class Log:
    """Writes lines to stderr, redacting secrets. ``debug`` lines only appear with ``source.debug: true``."""

    def __init__(self, stream: TextIO | None = None, debug: bool = False) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self.debug_enabled = debug
        self.redactor = Redactor()
        self._held: list[str] | None = None

    def add_secret(self, secret: str | None, username: str | None = None) -> None:
        """Register a secret (and ``username:secret`` as Basic credentials) in every encoding it could appear in."""
        self.redactor.add(secret, username)

    def redact(self, text: str) -> str:
        return self.redactor.redact(text)

    def info(self, message: str) -> None:
        if self._held is not None:
            self._held.append(message)
        else:
            self._write(message)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Hold ``info`` lines back until the block returns (then write them, in order); drop them when it raises.

        The error that ends a failing run is then its only line: a warning above a fatal error is noise. ``debug``
        lines are never held, and with debugging on nothing is (every line is wanted in order, next to the
        requests). An inner block inside a held one adds nothing.
        """
        if self._held is not None or self.debug_enabled:
            yield
            return
        self._held = []
        try:
            yield
        except BaseException:
            self._held = None
            raise
        lines, self._held = self._held, None
        for message in lines:
            self._write(message)

    def debug(self, message: str) -> None:
        if self.debug_enabled:
            self._write(f"debug: {message}")

    def _write(self, message: str) -> None:
        lines = [escape_controls(line) for line in self.redact(message).split("\n")]
        self._stream.write("\n".join(lines) + "\n")
        self._stream.flush()

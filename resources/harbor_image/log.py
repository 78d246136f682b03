"""stderr logging with secret redaction.

Everything the resource prints goes through one :class:`Log`, whose :class:`shiplane_http.redact.Redactor` replaces
every registered secret (the password in every encoding a server may echo, the Basic credentials in base64) with
``***`` — in normal messages, debug lines and error text alike. Lines are written with control characters escaped
(Concourse renders ANSI colours in build logs) except the newlines between a message's own lines, and a string
that cannot be encoded (a lone surrogate) is written escaped instead of failing. Nothing here runs at import time;
the CLI builds the ``Log`` before the payload is decoded.
"""

from __future__ import annotations

import sys
from typing import TextIO

from shiplane_http.redact import REDACTED, Redactor, escape_controls

__all__ = ["REDACTED", "Log"]


class Log:
    """Writes lines to stderr, redacting secrets. ``debug`` lines only appear with ``source.debug: true``."""

    def __init__(self, stream: TextIO | None = None, debug: bool = False) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self.debug_enabled = debug
        self.redactor = Redactor()

    def add_secret(self, secret: str | None, username: str | None = None) -> None:
        """Register a secret (and ``username:secret`` as Basic credentials) in every encoding it could appear in."""
        self.redactor.add(secret, username)

    def redact(self, text: str) -> str:
        return self.redactor.redact(text)

    def info(self, message: str) -> None:
        self._write(message)

    def debug(self, message: str) -> None:
        if self.debug_enabled:
            self._write(f"debug: {message}")

    def _write(self, message: str) -> None:
        lines = [escape_controls(line) for line in self.redact(message).split("\n")]
        self._stream.write("\n".join(lines) + "\n")
        self._stream.flush()

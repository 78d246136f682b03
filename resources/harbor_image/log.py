"""stderr logging with secret redaction.

Everything the resource prints goes through one :class:`Log`, which replaces every registered secret (the
password, its URL-encoded form, the Basic credentials in base64) with ``***`` — in normal messages, debug lines and
error text alike. Nothing here runs at import time; the CLI builds the ``Log`` once the payload is decoded.
"""

from __future__ import annotations

import sys
from base64 import b64encode
from typing import TextIO
from urllib.parse import quote

REDACTED = "***"


class Log:
    """Writes lines to stderr, redacting secrets. ``debug`` lines only appear with ``source.debug: true``."""

    def __init__(self, stream: TextIO | None = None, debug: bool = False) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self.debug_enabled = debug
        self._secrets: list[str] = []

    def add_secret(self, secret: str | None, username: str | None = None) -> None:
        """Register a secret and the encodings it could appear in (URL-quoted, Basic auth base64)."""
        if not secret:
            return
        variants = {secret, quote(secret, safe=""), quote(secret)}
        if username is not None:
            pair = f"{username}:{secret}".encode()
            variants.add(b64encode(pair).decode("ascii"))
        variants.add(b64encode(secret.encode()).decode("ascii"))
        for variant in variants:
            # very short secrets would redact innocent text; they are still never printed on purpose
            if len(variant) >= 3 and variant not in self._secrets:
                self._secrets.append(variant)
        self._secrets.sort(key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def info(self, message: str) -> None:
        self._write(message)

    def debug(self, message: str) -> None:
        if self.debug_enabled:
            self._write(f"debug: {message}")

    def _write(self, message: str) -> None:
        self._stream.write(self.redact(message) + "\n")
        self._stream.flush()

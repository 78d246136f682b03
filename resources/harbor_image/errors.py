"""The resource's one fatal error type and the helpers that turn Harbor's error bodies into one line.

Every problem a pipeline author or operator can act on is raised as :class:`ResourceError`; the CLI prints its
message on stderr (redacted) and exits 1. :class:`UsageError` is the command line itself being wrong (exit 2).
"""

from __future__ import annotations

import json

from shiplane_http.redact import Redactor

ERROR_BODY_LIMIT = 65536  # bytes of an error body that are read for the message (redacted whole, then cut)


class ResourceError(Exception):
    """A fatal, user-facing error. The message names the thing that is wrong and how to fix it."""


class UsageError(ResourceError):
    """The executable was called wrongly (missing DEST/SRC argument): exit 2."""


def directory_argument(argv: list[str], command: str, what: str) -> str:
    """The one directory argument Concourse passes to ``in`` (DEST) and ``out`` (SRC); :class:`UsageError` else."""
    if len(argv) != 2 or not argv[1]:
        raise UsageError(f"usage: {command} {what} < payload.json (Concourse passes the {what.lower()} directory)")
    return argv[1]


def one_line(text: str, limit: int = 600, redactor: Redactor | None = None) -> str:
    """Untrusted text as one message part: redacted first (whole), whitespace collapsed (Harbor's 422 messages
    contain newlines), control characters escaped, cut at ``limit`` characters without a trailing partial secret."""
    return (redactor or Redactor()).one_line(text, limit)


def harbor_error_text(body: bytes, redactor: Redactor | None = None) -> str:
    """Harbor's ``{"errors":[{"code","message"}]}`` as ``CODE: message; CODE: message``, else the raw text.

    The first :data:`ERROR_BODY_LIMIT` bytes are decoded and redacted as a whole before anything is reformatted or
    cut, so a secret Harbor echoes (in any encoding :mod:`shiplane_http.redact` knows) is never printed in part.
    """
    redactor = redactor or Redactor()
    raw = redactor.redact(body[:ERROR_BODY_LIMIT].decode("utf-8", "replace"))
    if len(body) > ERROR_BODY_LIMIT:
        raw = redactor.strip_partial(raw)

    def one_line(text: str) -> str:
        return redactor.one_line(text)

    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        return one_line(raw) if raw.strip() else "(empty body)"
    errors = document.get("errors") if isinstance(document, dict) else None
    if isinstance(errors, list) and errors:
        parts = []
        for item in errors:
            if isinstance(item, dict):
                code = str(item.get("code") or "").strip()
                message = str(item.get("message") or "").strip()
                parts.append(f"{code}: {message}" if code and message else code or message)
        if any(parts):
            return one_line("; ".join(p for p in parts if p))
    return one_line(raw)

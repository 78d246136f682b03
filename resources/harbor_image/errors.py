"""The resource's one fatal error type and the helpers that turn Harbor's error bodies into one line.

Every problem a pipeline author or operator can act on is raised as :class:`ResourceError`; the CLI prints its
message on stderr (redacted) and exits 1. :class:`UsageError` is the command line itself being wrong (exit 2).
"""

from __future__ import annotations

import json


class ResourceError(Exception):
    """A fatal, user-facing error. The message names the thing that is wrong and how to fix it."""


class UsageError(ResourceError):
    """The executable was called wrongly (missing DEST/SRC argument): exit 2."""


def one_line(text: str, limit: int = 600) -> str:
    """Collapse whitespace (Harbor's 422 messages contain newlines) and cap the length."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def harbor_error_text(body: bytes) -> str:
    """Harbor's ``{"errors":[{"code","message"}]}`` as ``CODE: message; CODE: message``, else the raw text."""
    raw = body.decode("utf-8", "replace")
    try:
        document = json.loads(raw)
    except ValueError:
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

"""Harbor's error envelope and JSON encoding.

Harbor answers every error as `{"errors":[{"code":…,"message":…}]}` followed by a newline (`fmt.Fprintln`), with
`Content-Type: application/json; charset=utf-8`; the HTTP status follows from the code (src/lib/http/error.go).
Errors of 500 and above are masked as `UNKNOWN` / "internal server error".
"""

from __future__ import annotations

import json

CODE_STATUS = {
    "BAD_REQUEST": 400,
    "DIGEST_INVALID": 400,
    "MANIFEST_INVALID": 400,
    "UNSUPPORTED": 400,
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "DENIED": 403,
    "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "CONFLICT": 409,
    "PRECONDITION": 412,
    "VIOLATE_FOREIGN_KEY_CONSTRAINT": 412,
    "PROJECTPOLICYVIOLATION": 412,
    "REQUEST_ENTITY_TOO_LARGE": 413,
    "UNPROCESSABLE_ENTITY": 422,
    "TOO_MANY_REQUEST": 429,
    "UNKNOWN": 500,
}

ERROR_CONTENT_TYPE = "application/json; charset=utf-8"


def go_json(value: object) -> bytes:
    """JSON as Go's encoding/json writes it: compact, UTF-8, with <, > and & escaped."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode()


class HarborError(Exception):
    """An error Harbor would send: `code` picks the status, `message` is shown verbatim."""

    def __init__(self, code: str, message: str, *, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status or CODE_STATUS.get(code, 500)
        if self.status >= 500:
            self.code, self.message = "UNKNOWN", "internal server error"

    def body(self) -> bytes:
        return error_body(self.code, self.message)


def error_body(code: str, message: str) -> bytes:
    return go_json({"errors": [{"code": code, "message": message}]}) + b"\n"


def not_found(message: str) -> HarborError:
    return HarborError("NOT_FOUND", message)


def unauthorized(message: str = "unauthorized") -> HarborError:
    return HarborError("UNAUTHORIZED", message)


def forbidden(message: str = "forbidden") -> HarborError:
    return HarborError("FORBIDDEN", message)


def bad_request(message: str) -> HarborError:
    return HarborError("BAD_REQUEST", message)


def validation_failure(*messages: str) -> HarborError:
    """go-openapi's parameter validation error (422), as Harbor reformats it."""
    return HarborError("UNPROCESSABLE_ENTITY", "validation failure list:\n" + "\n".join(messages))

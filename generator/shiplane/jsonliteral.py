"""The `json` filter of shiplane's templates: any value as a JSON literal that YAML reads back as the same value.

Every `{{ … }}` in a template goes through it (`finalize` refuses anything else), so no app name, env var or label
can change the structure of a rendered document: quotes, colons, `#`, `((`, newlines and unicode all stay inside
one scalar.
"""

from __future__ import annotations

import json
import math
from typing import Any

import jinja2

from shiplane.errors import ShiplaneError


class Escaped(str):
    """Text produced by the `json` filter; the only kind of value a template may output."""

    __slots__ = ()


_YAML_UNSAFE = {0x85, 0x2028, 0x2029, 0xFEFF}


def _yaml_safe_char(ch: str) -> str:
    code = ord(ch)
    if code < 0x20 or 0x7F <= code <= 0x9F or code in _YAML_UNSAFE or 0xD800 <= code <= 0xDFFF or code > 0xFFFD:
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
    return ch


def _float(value: float) -> str:
    """A float as YAML 1.1 reads it back (JSON's `1e-05` and `Infinity` would be strings there)."""
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    if "." in text:
        return text
    return text.replace("e", ".0e", 1) if "e" in text else text + ".0"


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, bool | int | float):
        return json.dumps(key)  # as json.dumps writes non-string keys: true, null, 1, 1.5
    raise ShiplaneError(f"a mapping key of type {type(key).__name__} cannot be written; use strings")


def _literal(value: Any) -> str:
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        if not text.isascii() or "\x7f" in text:
            text = "".join(_yaml_safe_char(ch) if ord(ch) > 0x7E else ch for ch in text)
        return text
    if value is None or isinstance(value, bool | int):
        return json.dumps(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, dict):
        items = sorted((_key(key), item) for key, item in value.items())
        return "{" + ", ".join(f"{_literal(key)}: {_literal(item)}" for key, item in items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_literal(item) for item in value) + "]"
    if isinstance(value, set | frozenset):
        return _literal(sorted(value))
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises UndefinedError naming the missing variable
    raise ShiplaneError(f"a {type(value).__name__} cannot be written as JSON; pass plain data to the template")


def json_literal(value: Any) -> Escaped:
    """`value` as a JSON literal that YAML reads back as the same value (floats in YAML 1.1 form)."""
    return Escaped(_literal(value))


def finalize(value: Any) -> Any:
    """Jinja's `finalize` hook: only what the `json` filter produced may be output."""
    if isinstance(value, Escaped):
        return value
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    raise ShiplaneError(
        f"outputs {shown} without the json filter; write {{{{ … | json }}}} so that the value is escaped"
    )

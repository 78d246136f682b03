"""Harbor's `q`, `sort` and pagination semantics (src/lib/q/builder.go, src/lib/orm/query.go, artifact dao).

q is `k=v,k=~v,k=[min~max],k={v1 v2},k=(v1 v2)`: exact, fuzzy, range, OR list `{…}` and AND list `(…)` (the swagger
text has the two list kinds swapped; the code is the truth). Unknown keys and unknown sort keys are ignored, as the
ORM skips fields it does not know. The value of q is URL-unescaped once more by Harbor (so `+` becomes a space).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .errors import bad_request


@dataclass(frozen=True)
class Fuzzy:
    value: str


@dataclass(frozen=True)
class Range:
    min: object | None
    max: object | None


@dataclass(frozen=True)
class OrList:
    values: tuple[object, ...]


@dataclass(frozen=True)
class AndList:
    values: tuple[object, ...]


Keywords = dict[str, object]


def parse_value(value: str) -> object:
    """Time ("2006-01-02T15:04:05"), then integer, else a string stripped of quotes."""
    value = value.strip()
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        pass
    if re.fullmatch(r"[+-]?\d+", value):
        return int(value)
    return value.strip("\"'")


def _parse_pattern(value: str) -> object:
    first = value[0]
    if first == "~":
        if len(value) < 2:
            raise ValueError('fuzzy match value must start with "~" and contain at least 1 other characters')
        return Fuzzy(value[1:])
    if first == "[":
        if value[-1] != "]" or value.count("~") != 1:
            raise ValueError('range must start with "[", end with "]" and contains only one "~"')
        low, high = (part.strip() for part in value[1:-1].split("~", 1))
        if not low and not high:
            raise ValueError("min and max at least one should be set in range'")
        return Range(parse_value(low) if low else None, parse_value(high) if high else None)
    if first in "{(":
        closing = "}" if first == "{" else ")"
        if value[-1] != closing:
            kind = "or" if first == "{" else "and"
            raise ValueError(f'{kind} list must start with "{first}" and end with "{closing}"')
        values = tuple(v for v in (parse_value(s) for s in value[1:-1].split(" ")) if v != "")
        return OrList(values) if first == "{" else AndList(values)
    return value[1:] if value.startswith("\\") else value


def parse_q(q: str) -> Keywords:
    """Parse the (already URL-decoded) q parameter; Harbor unescapes it once more."""
    keywords: Keywords = {}
    if not q:
        return keywords
    q = urllib.parse.unquote_plus(q)
    for param in q.split(","):
        key, sep, value = param.partition("=")
        if not sep or not key or not value:
            raise bad_request('the query string must contain "=" and the key/value cannot be empty')
        try:
            keywords[key] = _parse_pattern(value)
        except ValueError:
            raise bad_request(f"invalid query string value: {value}") from None
    return keywords


def parse_sort(sort: str) -> list[tuple[str, bool]]:
    """`k1,-k2` -> [(k1, False), (k2, True)] (True = descending)."""
    if not sort:
        return []
    return [(item[1:], True) if item.startswith("-") else (item, False) for item in sort.split(",")]


def snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _comparable(value: object) -> Any:
    if value is None:
        return datetime.min.replace(tzinfo=UTC)
    return value


def _equals(field_value: object, wanted: object) -> bool:
    if isinstance(field_value, int) and not isinstance(field_value, bool):
        try:
            return field_value == int(str(wanted))
        except ValueError:
            return False
    if isinstance(field_value, datetime) and isinstance(wanted, datetime):
        return field_value == wanted
    return str(field_value) == str(wanted)


def field_matcher(value: object) -> Callable[[object], bool]:
    """How Harbor's ORM filters a plain column by a parsed q value."""
    if isinstance(value, Fuzzy):
        needle = value.value.lower()
        return lambda field: needle in str(field if field is not None else "").lower()
    if isinstance(value, Range):
        low, high = value.min, value.max

        def in_range(field: object) -> bool:
            current = _comparable(field)
            try:
                if low is not None and current < _coerce(low, current):
                    return False
                return not (high is not None and current > _coerce(high, current))
            except TypeError:
                return False

        return in_range
    if isinstance(value, OrList):
        wanted = value.values
        return lambda field: any(_equals(field, item) for item in wanted)
    if isinstance(value, AndList):
        return lambda field: True  # the ORM leaves AND lists to the DAO; plain columns ignore them
    return lambda field: _equals(field, value)


def _coerce(bound: object, current: object) -> Any:
    if isinstance(current, int) and not isinstance(bound, int):
        return int(str(bound))
    return bound


def page(items: Sequence[object], page_number: int, page_size: int) -> Sequence[object]:
    """LIMIT/OFFSET as Harbor's QuerySetter applies them (page_size <= 0 means no limit)."""
    if page_size <= 0:
        return items
    offset = page_size * (page_number - 1) if page_number > 0 else 0
    return items[offset : offset + page_size]


def links(path: str, raw_query: str, total: int, page_number: int, page_size: int) -> str:
    """The `Link` header of a list response (handler/base.go Links + lib/link.go), "" when there is none.

    Harbor re-encodes the query (keys sorted), sets page/page_size, then URL-unescapes the whole query string —
    so the URLs carry raw `*`, `{`, spaces and all. Links are joined by " , ".
    """
    if page_size == 0:
        return ""
    params = urllib.parse.parse_qsl(raw_query, keep_blank_values=True)
    result = []

    def url_for(number: int) -> str:
        query: dict[str, list[str]] = {}
        for key, value in params:
            query.setdefault(key, []).append(value)
        query["page"] = [str(number)]
        query["page_size"] = [str(page_size)]
        encoded = urllib.parse.urlencode(
            [(key, value) for key in sorted(query) for value in query[key]], quote_via=urllib.parse.quote_plus
        )
        return f"{path}?{urllib.parse.unquote_plus(encoded)}"

    if page_number > 1 and (page_number - 1) * page_size < total:
        result.append(f'<{url_for(page_number - 1)}>; rel="prev"')
    if page_size * page_number < total:
        result.append(f'<{url_for(page_number + 1)}>; rel="next"')
    return " , ".join(result)

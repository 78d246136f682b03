"""Semantic JSON diff: the paths where two JSON documents differ, for `shiplane plan`.

Paths read like JSONPath without the `$`: `stages[2].manifests[0].spec.replicas`, `triggers[0].tag`. Mappings are
compared key by key; lists item by item (a list that changed length reports its common items and then each added or
removed index). Values are shown short (strings cut at 60 characters) and never for keys that hold secrets.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_MISSING = object()


@dataclass(frozen=True, slots=True)
class PathChange:
    """One changed path: `op` is `+` (added), `-` (removed) or `~` (changed); values are short JSON texts."""

    path: str
    op: Literal["+", "-", "~"]
    before: str | None = None
    after: str | None = None

    def text(self) -> str:
        if self.op == "+":
            return f"+ {self.path} = {self.after}"
        if self.op == "-":
            return f"- {self.path} (was {self.before})"
        return f"~ {self.path}: {self.before} -> {self.after}"

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"path": self.path, "op": self.op}
        if self.before is not None:
            data["before"] = self.before
        if self.after is not None:
            data["after"] = self.after
        return data


def short(value: Any, limit: int = 60) -> str:
    """A value as compact JSON, cut to `limit` characters; containers as `{…n keys}` / `[…n items]`."""
    if isinstance(value, dict):
        return f"{{…{len(value)} keys}}"
    if isinstance(value, list):
        return f"[…{len(value)} items]"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _join(base: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{base}[{key}]"
    if _IDENTIFIER.match(key):
        return f"{base}.{key}" if base else key
    return f"{base}[{json.dumps(key)}]"


def json_paths(before: Any, after: Any, base: str = "") -> list[PathChange]:
    """Every path where `after` differs from `before` (in document order, `after`'s keys first)."""
    changes: list[PathChange] = []
    _walk(before, after, base, changes)
    return changes


def _walk(before: Any, after: Any, path: str, out: list[PathChange]) -> None:
    if isinstance(before, dict) and isinstance(after, dict):
        for key in [*after, *(k for k in before if k not in after)]:
            old, new = before.get(key, _MISSING), after.get(key, _MISSING)
            child = _join(path, str(key))
            if old is _MISSING:
                out.append(PathChange(child, "+", after=short(new)))
            elif new is _MISSING:
                out.append(PathChange(child, "-", before=short(old)))
            else:
                _walk(old, new, child, out)
        return
    if isinstance(before, list) and isinstance(after, list):
        for index in range(max(len(before), len(after))):
            child = _join(path, index)
            if index >= len(before):
                out.append(PathChange(child, "+", after=short(after[index])))
            elif index >= len(after):
                out.append(PathChange(child, "-", before=short(before[index])))
            else:
                _walk(before[index], after[index], child, out)
        return
    if before != after or type(before) is not type(after):
        out.append(PathChange(path or "(document)", "~", before=short(before), after=short(after)))

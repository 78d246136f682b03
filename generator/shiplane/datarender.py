"""Render a template into data fast, for templates rendered thousands of times with different values.

`TemplateSet.render_data_exact` renders a template and parses the YAML it produces. The parse (PyYAML builds every value
in Python) costs about 1 ms for a page of Kubernetes manifests, five times the rendering itself, and a fleet renders
the same few templates thousands of times with different values.

Every value a template writes goes through the `json` filter, so a rendering is fully described by its *skeleton*
(the output with each filtered value replaced by a numbered placeholder) and the list of values. The skeleton
depends only on the template's control flow, so it repeats: it is parsed once, turned into JSON text with holes,
and each later rendering with the same skeleton is assembled by filling the holes with the values' JSON and
parsing that with the C JSON parser.

The result equals `TemplateSet.render_data_exact`'s (same structure, same types), because the `json` filter guarantees
that YAML reads a filtered value back as the value itself. Where that reasoning does not hold, the ordinary path is
taken instead: a placeholder that is not a whole YAML node (part of a longer scalar, a mapping key, in a comment
but not elsewhere…), a value with floats (YAML 1.1 reads some JSON floats as strings), a value that is not plain
JSON data, any error. Templates are rendered in an overlay of the TemplateSet's Jinja environment whose `json`
filter records the value and checks it exactly as the real filter does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jinja2
import yaml

from shiplane.jsonliteral import Escaped, json_literal

_MARK = "\ue000"  # a private-use character: printable for YAML, never written by a template by accident
_PLACEHOLDER = re.compile('"' + _MARK + r"(\d+)" + '"')
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MAX_PLANS = 10_000
_SCALARS = (str, int, bool, type(None))


@dataclass(frozen=True, slots=True)
class _Plan:
    """JSON text of a skeleton, split at its holes: parts[0] value[order[0]] parts[1] … parts[-1]."""

    parts: tuple[str, ...]
    order: tuple[int, ...]


Exact = Callable[[str, dict[str, Any], str], Any]
"""The ordinary path: render the template, parse its YAML (TemplateSet.render_data_exact)."""


@dataclass
class DataRenderer:
    base: jinja2.Environment
    """The TemplateSet's environment; the renderer works in an overlay of it."""
    exact: Exact
    plans: dict[tuple[str, str], _Plan | None] = field(default_factory=dict)
    env: jinja2.Environment = field(init=False)
    _recorded: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        env = self.base.overlay()
        env.filters = dict(self.base.filters)
        recorded = self._recorded

        @jinja2.pass_context  # never folded into the compiled template as a constant
        def record(context: Any, value: Any) -> Escaped:
            if type(value) not in _SCALARS:
                json_literal(value)  # refuses exactly what the real filter refuses (it accepts every scalar)
            recorded.append(value)
            return Escaped(f'"{_MARK}{len(recorded) - 1}"')

        env.filters["json"] = record
        self.env = env

    def render_data(self, name: str, context: dict[str, Any], what: str) -> Any:
        """The same data as `exact(name, context, what)`, faster on repeated skeletons."""
        self._recorded.clear()
        try:
            skeleton = self.env.get_template(name).render(context)
        except Exception:  # the ordinary path reports template errors with the template's name
            return self.exact(name, context, what)
        values = list(self._recorded)
        key = (name, skeleton)
        if key not in self.plans:
            if len(self.plans) >= _MAX_PLANS:
                self.plans.clear()
            self.plans[key] = _plan(skeleton, len(values))
        plan = self.plans[key]
        if plan is None or not all(_plain(value) for value in values):
            return self.exact(name, context, what)
        pieces = [plan.parts[0]]
        for index, part in zip(plan.order, plan.parts[1:], strict=True):
            pieces.append(json.dumps(values[index], ensure_ascii=False, sort_keys=True))
            pieces.append(part)
        return json.loads("".join(pieces))


def _plan(skeleton: str, count: int) -> _Plan | None:
    """The JSON text of a skeleton with its holes, or None when the fast path would not be exact."""
    try:
        data = yaml.load(skeleton, Loader=_LOADER)  # noqa: S506 - CSafeLoader/SafeLoader only
        text = json.dumps(data, ensure_ascii=False)
    except (yaml.YAMLError, TypeError, ValueError):
        return None
    if not _whole_nodes(data):
        return None
    pieces = _PLACEHOLDER.split(text)
    parts = tuple(pieces[0::2])
    order = tuple(int(index) for index in pieces[1::2])
    if sorted(order) != list(range(count)) or any(_MARK in part for part in parts):
        return None
    return _Plan(parts, order)


def _whole_nodes(value: Any) -> bool:
    """Placeholders only as whole scalar values (not in keys, not inside longer strings)."""
    if isinstance(value, dict):
        return all(not (isinstance(k, str) and _MARK in k) and _whole_nodes(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_whole_nodes(item) for item in value)
    if isinstance(value, str) and _MARK in value:
        return re.fullmatch(_MARK + r"\d+", value) is not None
    return True


def _plain(value: Any) -> bool:
    """JSON data without floats: what JSON and the YAML reading of the json filter agree on exactly."""
    if value is None or isinstance(value, (str, int)):  # bool is an int
        return not isinstance(value, str) or _MARK not in value
    if isinstance(value, (list, tuple)):
        return all(_plain(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _plain(item) for key, item in value.items())
    return False

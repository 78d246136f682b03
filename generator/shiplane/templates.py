"""The Jinja2 environment that renders shiplane's templates safely.

- A user directory (`--templates DIR`) shadows the built-in templates file by file (includes too).
- `StrictUndefined`: a misspelt variable is an error, never an empty string.
- Every `{{ … }}` must go through the `json` filter, which writes the value as a JSON literal that is also a valid
  YAML flow scalar (quotes, colons, `#`, `((`, newlines and unicode cannot change the document's structure). A bare
  `{{ value }}` is rejected at render time by `finalize`, so a template cannot forget to escape.
- The output is parsed back into data immediately; a template bug surfaces as an error naming the template (and
  the line, when Jinja knows it).
- Jinja's whitespace defaults are kept: a `{% … %}` line leaves an empty line behind, which YAML ignores and the
  canonical re-serialisation drops.
"""

from __future__ import annotations

import json
import math
import traceback
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import yaml

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


def _finalize(value: Any) -> Any:
    if isinstance(value, Escaped):
        return value
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    raise ShiplaneError(
        f"outputs {shown} without the json filter; write {{{{ … | json }}}} so that the value is escaped"
    )


class TemplateSet:
    """Built-in templates, optionally shadowed by a user directory."""

    def __init__(self, user_dir: str | None = None) -> None:
        loaders: list[jinja2.BaseLoader] = []
        if user_dir is not None:
            if not Path(user_dir).is_dir():
                raise ShiplaneError(f"--templates {user_dir}: no such directory; give a directory of .j2 templates")
            loaders.append(jinja2.FileSystemLoader(user_dir))
        self.builtin_dir = str(resources.files("shiplane.builtin_templates"))
        loaders.append(jinja2.FileSystemLoader(self.builtin_dir))
        self.user_dir = user_dir
        # Output is YAML/JSON, not HTML: values are escaped by the `json` filter, enforced by `finalize`.
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # noqa: S701
            keep_trailing_newline=True,
            finalize=_finalize,
        )
        self.env.filters["json"] = json_literal
        self._cache: dict[str, jinja2.Template] = {}

    def _template(self, name: str) -> jinja2.Template:
        template = self._cache.get(name)
        if template is None:
            try:
                template = self.env.get_template(name)
            except jinja2.TemplateNotFound as exc:
                missing = exc.name if exc.name != name else name
                where = f"--templates {self.user_dir} or the built-in templates" if self.user_dir else "the built-in "\
                        "templates"
                raise ShiplaneError(f"template {missing}: not found in {where}") from None
            except jinja2.TemplateSyntaxError as exc:
                raise ShiplaneError(
                    f"template {exc.name or name}:{exc.lineno}: syntax error: {exc.message}; fix the template"
                ) from None
            self._cache[name] = template
        return template

    def describe(self, name: str) -> str:
        """`template NAME`, saying where it comes from when a user directory shadows the built-in one."""
        filename = self._template(name).filename or ""
        if self.user_dir is not None and not filename.startswith(self.builtin_dir):
            return f"template {name} (from --templates {self.user_dir})"
        return f"template {name}"

    def _where(self, name: str, exc: BaseException) -> str:
        """`NAME:LINE` of the innermost template frame of `exc`, or `NAME`."""
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            filename = frame.filename or ""
            if filename.endswith(".j2"):
                for root in filter(None, (self.user_dir, self.builtin_dir)):
                    if filename.startswith(str(root)):
                        filename = Path(filename).relative_to(root).as_posix()
                        break
                return f"{filename}:{frame.lineno}"
        return name

    def render_text(self, name: str, context: dict[str, Any], what: str) -> str:
        """Render template `name`; `what` says for whom (e.g. `app petclinic`) in error messages."""
        template = self._template(name)
        try:
            return template.render(context)
        except ShiplaneError as exc:
            raise ShiplaneError(f"template {self._where(name, exc)} ({what}): {exc}") from None
        except jinja2.TemplateSyntaxError as exc:  # an included template
            raise ShiplaneError(
                f"template {exc.name or name}:{exc.lineno}: syntax error: {exc.message}; fix the template"
            ) from None
        except jinja2.TemplateNotFound as exc:
            raise ShiplaneError(f"template {self._where(name, exc)} ({what}): includes {exc.name}, which is not "
                                f"found; fix the template") from None
        except jinja2.UndefinedError as exc:
            raise ShiplaneError(
                f"template {self._where(name, exc)} ({what}): {exc.message}; fix the template"
            ) from None
        except (jinja2.TemplateError, TypeError, ValueError, AttributeError, KeyError) as exc:
            raise ShiplaneError(f"template {self._where(name, exc)} ({what}): {exc}; fix the template") from None

    def render_data(self, name: str, context: dict[str, Any], what: str) -> Any:
        """Render template `name` and parse the YAML (or JSON) it produces back into data."""
        text = self.render_text(name, context, what)
        try:
            return load_yaml_data(text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            line = ""
            shown = ""
            if mark is not None:
                line = f":{mark.line + 1}"
                lines = text.splitlines()
                if 0 <= mark.line < len(lines):
                    shown = f" in {lines[mark.line].strip()[:80]!r}"
            raise ShiplaneError(
                f"template {name} ({what}): rendered output{line} is not valid YAML ({exc.problem}){shown}; fix the "
                f"template"
            ) from None


_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR = "tag:yaml.org,2002:str"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"
_BOOLS = {"true": True, "false": False, "yes": True, "no": False, "on": True, "off": False}


class _Fallback(Exception):
    """The fast path cannot build this document exactly like yaml.safe_load; use PyYAML's constructor."""


def load_yaml_data(text: str) -> Any:
    """`yaml.load(text, CSafeLoader)`, twice as fast: libyaml composes the nodes, a lean builder makes the values.

    Strings, booleans and nulls (nearly every scalar of a rendered document) are built inline; other scalars, and
    documents with merge keys (`<<:`) or unhashable keys, go through PyYAML's own constructor, so the result is
    always the same as yaml.safe_load's. Aliases share one built object, as with PyYAML.
    """
    node = yaml.compose(text, Loader=_LOADER)
    if node is None:
        return None
    constructor = yaml.constructor.SafeConstructor()
    built: dict[int, Any] = {}

    def build(node: yaml.Node) -> Any:
        kind = type(node)
        if kind is yaml.ScalarNode:
            tag = node.tag
            if tag == _STR:
                return node.value
            if tag == _BOOL:
                return _BOOLS[node.value.lower()]
            if tag == _NULL:
                return None
            return constructor.construct_object(node, deep=True)
        key = id(node)
        if key in built:
            return built[key]
        if kind is yaml.SequenceNode:
            sequence: list[Any] = []
            built[key] = sequence
            sequence.extend(build(item) for item in node.value)
            return sequence
        mapping: dict[Any, Any] = {}
        built[key] = mapping
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                raise _Fallback
            item_key = build(key_node)
            try:
                mapping[item_key] = build(value_node)
            except TypeError:  # an unhashable key such as a list
                raise _Fallback from None
        return mapping

    try:
        return build(node)
    except _Fallback:
        return yaml.load(text, Loader=_LOADER)  # noqa: S506 - CSafeLoader/SafeLoader only

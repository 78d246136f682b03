"""The Jinja2 environment that renders shiplane's templates safely.

- A user directory (`--templates DIR`) shadows the built-in templates file by file.
- `StrictUndefined`: a misspelt variable is an error, never an empty string.
- Every `{{ … }}` must go through the `json` filter, which writes the value as a JSON literal that is also a valid
  YAML flow scalar (quotes, colons, `#`, newlines and unicode cannot change the document's structure). A bare
  `{{ value }}` is rejected at render time by `finalize`, so a template cannot forget to escape.
- The output is parsed back into data immediately; a template bug surfaces as an error naming the template.
"""

from __future__ import annotations

import json
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


def _json_default(value: Any) -> Any:
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises UndefinedError naming the missing variable
        raise ShiplaneError("an undefined value cannot be written")
    if isinstance(value, tuple | frozenset | set):
        return sorted(value) if isinstance(value, frozenset | set) else list(value)
    raise ShiplaneError(f"a {type(value).__name__} cannot be written as JSON; pass plain data to the template")


def json_literal(value: Any) -> Escaped:
    """`value` as a JSON literal that YAML reads back as the same value."""
    if isinstance(value, jinja2.Undefined):
        _json_default(value)
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=_json_default)
    if not text.isascii() or "\x7f" in text:
        text = "".join(_yaml_safe_char(ch) if ord(ch) > 0x7E else ch for ch in text)
    return Escaped(text)


def _finalize(value: Any) -> Any:
    if isinstance(value, Escaped):
        return value
    raise ShiplaneError(
        f"a template outputs {value!r} without the json filter; write {{{{ … | json }}}} so that the value is "
        f"escaped"
    )


class TemplateSet:
    """Built-in templates, optionally shadowed by a user directory."""

    def __init__(self, user_dir: str | None = None) -> None:
        loaders: list[jinja2.BaseLoader] = []
        if user_dir is not None:
            if not Path(user_dir).is_dir():
                raise ShiplaneError(f"--templates {user_dir}: no such directory; give a directory of .j2 templates")
            loaders.append(jinja2.FileSystemLoader(user_dir))
        builtin = resources.files("shiplane.builtin_templates")
        loaders.append(jinja2.FileSystemLoader(str(builtin)))
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
            except jinja2.TemplateNotFound:
                raise ShiplaneError(f"template {name}: not found in --templates or the built-in templates") from None
            except jinja2.TemplateSyntaxError as exc:
                raise ShiplaneError(f"template {name}:{exc.lineno}: syntax error: {exc.message}") from None
            self._cache[name] = template
        return template

    def render_text(self, name: str, context: dict[str, Any], what: str) -> str:
        """Render template `name`; `what` says for whom (e.g. `app petclinic`) in error messages."""
        try:
            return self._template(name).render(context)
        except ShiplaneError as exc:
            raise ShiplaneError(f"template {name} ({what}): {exc}") from None
        except jinja2.UndefinedError as exc:
            raise ShiplaneError(f"template {name} ({what}): {exc.message}; fix the template") from None
        except jinja2.TemplateError as exc:
            raise ShiplaneError(f"template {name} ({what}): {exc}; fix the template") from None

    def render_data(self, name: str, context: dict[str, Any], what: str) -> Any:
        """Render template `name` and parse the YAML (or JSON) it produces back into data."""
        text = self.render_text(name, context, what)
        try:
            return yaml.load(text, Loader=_LOADER)  # noqa: S506 - CSafeLoader/SafeLoader only
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            line = f":{mark.line + 1}" if mark is not None else ""
            raise ShiplaneError(
                f"template {name} ({what}): rendered output{line} is not valid YAML ({exc.problem}); fix the "
                f"template"
            ) from None


_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

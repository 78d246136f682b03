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

import traceback
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import yaml

from shiplane.datarender import DataRenderer
from shiplane.errors import ShiplaneError
from shiplane.jsonliteral import finalize, json_literal


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
            finalize=finalize,
        )
        self.env.filters["json"] = json_literal
        self._cache: dict[str, jinja2.Template] = {}
        self._fast = DataRenderer(self.env, self.render_data_exact)

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
        """Render template `name` into data: the YAML it produces, parsed.

        Exactly `render_data_exact`'s result; a fleet renders the same templates thousands of times, so repeated
        document skeletons take `shiplane.datarender`'s fast path.
        """
        return self._fast.render_data(name, context, what)

    def render_data_exact(self, name: str, context: dict[str, Any], what: str) -> Any:
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

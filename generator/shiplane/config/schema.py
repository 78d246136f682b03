"""Validate a config against the fleet JSON Schema, fill in its defaults and explain every error.

The schema (`schema.json`, shipped in the package) is data: types, defaults, and an `x-fix` hint on every value
with a format. Errors are turned into one line each, naming the exact path and the fix.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from shiplane.config.yamlsource import CONTROL, Path, SourceMap, format_path


@cache
def fleet_schema() -> dict[str, Any]:
    """The fleet config JSON Schema (draft 2020-12)."""
    text = resources.files("shiplane.config").joinpath("schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _with_defaults(validator_class: Any) -> Any:
    """A validator class that inserts `default` values for missing properties before validating them."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def properties(validator: Any, props: dict[str, Any], instance: Any, schema: Any) -> Iterator[Any]:
        if validator.is_type(instance, "object"):
            for name, subschema in props.items():
                if name not in instance and isinstance(subschema, dict) and "default" in subschema:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, props, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": properties})


_GUARD = "\\A(?=[^\\x00-\\x1f\\x7f-\\x9f]*\\Z)[\\s\\S]*?(?:"
"""Prefix of every compiled pattern: the whole value is free of control characters (so also of a final newline)."""

_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # may have \n and \t


def anchored(pattern: str) -> str:
    """`pattern` with JSON Schema's search semantics kept but Python's `$`-before-a-final-newline closed.

    jsonschema checks `pattern` with `re.search` (jsonschema._keywords.pattern), where `^a$` also matches "a\\n".
    The guard requires the whole value to be free of control characters, `\\n` included; the pattern is then
    searched as written (`^` and `$` keep their meaning on a value without newlines).
    """
    return f"{_GUARD}{pattern})"


def original_pattern(pattern: str) -> str:
    """The schema's own text of an `anchored` pattern (for messages)."""
    return pattern[len(_GUARD) : -1] if pattern.startswith(_GUARD) else pattern


def compiled_schema() -> dict[str, Any]:
    """The fleet schema as validated: every `pattern` and `patternProperties` key anchored (see `anchored`)."""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            result: dict[str, Any] = {}
            for key, value in node.items():
                if key == "pattern" and isinstance(value, str):
                    result[key] = anchored(value)
                elif key == "patternProperties" and isinstance(value, dict):
                    result[key] = {anchored(name): walk(sub) for name, sub in value.items()}
                else:
                    result[key] = walk(value)
            return result
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    schema: dict[str, Any] = walk(fleet_schema())
    return schema


def _single_line(validator_class: Any) -> Any:
    """A validator class whose `type: string` also refuses control characters unless the schema says
    `x-multiline: true` (environment variable values, which may hold newlines and tabs but no other control
    character): names, URLs and paths are one line of text."""
    validate_type = validator_class.VALIDATORS["type"]

    def type_(validator: Any, types: Any, instance: Any, schema: Any) -> Iterator[Any]:
        yield from validate_type(validator, types, instance, schema)
        wanted = types if isinstance(types, list) else [types]
        if isinstance(instance, str) and "string" in wanted:
            multiline = bool(schema.get("x-multiline"))
            found = (_CONTROL_MULTILINE if multiline else CONTROL).search(instance)
            if found:
                kind = "" if multiline else " (this value is one line of text)"
                yield ValidationError(f"contains a control character {json.dumps(found.group())}{kind}; remove it",
                                      validator="single-line")

    return jsonschema.validators.extend(validator_class, {"type": type_})


@cache
def _validator() -> Any:
    schema = compiled_schema()
    Draft202012Validator.check_schema(schema)
    return _with_defaults(_single_line(Draft202012Validator))(schema)


def validate_and_fill(config: Any, source: SourceMap) -> list[str]:
    """Validate `config` in place (filling defaults); return one message per problem, sorted by line."""
    return [message for _, message in problems_by_path(config, source)]


def problems_by_path(config: Any, source: SourceMap) -> list[tuple[Path, str]]:
    """Like validate_and_fill, with the path each message is about."""
    errors = sorted(_validator().iter_errors(config), key=lambda e: (source.line(tuple(e.absolute_path)) or 0))
    messages: list[tuple[int, Path, str]] = []
    seen: set[str] = set()
    for error in errors:
        for path, text in _explain(error):
            message = f"{source.where(path)}: {text}"
            if message not in seen:
                seen.add(message)
                messages.append((source.line(path) or 0, path, message))
    return [(path, message) for _, path, message in sorted(messages, key=lambda item: item[0])]


def _fix(error: ValidationError) -> str | None:
    schema = error.schema if isinstance(error.schema, dict) else {}
    fix = schema.get("x-fix")
    return fix if isinstance(fix, str) else None


def _describe(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
    "number": "a number",
}


def _explain(error: ValidationError) -> Iterator[tuple[Path, str]]:
    path: Path = tuple(error.absolute_path)
    fix = _fix(error)
    kind = error.validator
    if kind == "additionalProperties" and error.validator_value is False:
        allowed = sorted(error.schema.get("properties", {}))
        for key in sorted(set(error.instance) - set(allowed)):
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            yield (*path, key), f"unknown key; {hint}allowed here: {', '.join(allowed)}"
        return
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        yield path, f"missing required key '{missing}'"
        return
    if "propertyNames" in error.absolute_schema_path and isinstance(error.instance, str):
        yield (*path, error.instance), f"name {_describe(error.instance)} is not valid; {fix or error.message}"
        return
    if kind in ("anyOf", "oneOf"):
        # Report the most specific branch that is not a plain type mismatch.
        specific = [sub for sub in (error.context or []) if sub.validator != "type"]
        if specific:
            yield from _explain(min(specific, key=lambda sub: len(list(sub.relative_path))))
            return
        yield path, f"{_describe(error.instance)} is not valid here"
        return
    if kind == "single-line":
        yield path, error.message
        return
    if kind == "type":
        wanted = error.validator_value
        names = [_TYPE_NAMES.get(str(w), str(w)) for w in (wanted if isinstance(wanted, list) else [wanted])]
        message = f"must be {' or '.join(names)}, not {_describe(error.instance)}"
        yield path, f"{message}; {fix}" if fix else message
        return
    if kind == "enum":
        choices = ", ".join(str(choice) for choice in error.validator_value)
        yield path, f"{_describe(error.instance)} is not allowed; {fix or 'use one of ' + choices}"
        return
    if kind in ("minProperties", "minItems") and error.validator_value == 1:
        yield path, "must not be empty; " + (fix or f"add at least one entry under {format_path(path)}")
        return
    if kind == "uniqueItems":
        yield path, "lists the same entry twice; remove the duplicate"
        return
    if kind in ("minimum", "maximum"):
        bound = "at least" if kind == "minimum" else "at most"
        yield path, f"{_describe(error.instance)} is out of range; use a value {bound} {error.validator_value}"
        return
    if fix:
        yield path, f"{_describe(error.instance)} is not valid; {fix}"
        return
    if kind == "pattern":
        yield path, f"{_describe(error.instance)} does not match {original_pattern(str(error.validator_value))}"
        return
    yield path, error.message

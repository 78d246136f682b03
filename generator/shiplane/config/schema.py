"""Validate a config against the fleet JSON Schema, fill in its defaults and explain every error.

The schema (`schema.json`, shipped in the package) is data: types, defaults, and an `x-fix` hint on every value
with a format. Errors are turned into one line each, naming the exact path and the fix.
"""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from shiplane.config.yamlsource import Path, SourceMap, format_path


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


@cache
def _validator() -> Any:
    schema = fleet_schema()
    Draft202012Validator.check_schema(schema)
    return _with_defaults(Draft202012Validator)(schema)


def validate_and_fill(config: Any, source: SourceMap) -> list[str]:
    """Validate `config` in place (filling defaults); return one message per problem, sorted by line."""
    errors = sorted(_validator().iter_errors(config), key=lambda e: (source.line(tuple(e.absolute_path)) or 0))
    messages: list[tuple[int, str]] = []
    seen: set[str] = set()
    for error in errors:
        for path, text in _explain(error):
            message = f"{source.where(path)}: {text}"
            if message not in seen:
                seen.add(message)
                messages.append((source.line(path) or 0, message))
    return [message for _, message in sorted(messages, key=lambda item: item[0])]


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
    yield path, error.message

"""Kubernetes manifests checked against Kubernetes' own OpenAPI schemas (from PyPI `kubernetes-validate`).

`kubernetes_validate.validate()` reads and parses its schema files on every call. Here one Draft 2020-12
validator is built per (Kubernetes version, apiVersion, kind), from the same bundled strict schema files and the
same `referencing` registry, and kept.

A fleet has hundreds of thousands of manifests that differ only in names, labels, namespaces and other free-form
strings, so results are memoised on a *skeleton* of the manifest: its keys, numbers, booleans and nulls, with every
string replaced by a placeholder unless it appears in one of the schema's `enum`s. When the schema constrains
strings only through `enum` (checked when the schema is loaded; otherwise strings are kept verbatim), two manifests
with the same skeleton are valid or invalid together, so a skeleton known to be valid is not validated again. Only
valid skeletons are remembered; an invalid manifest is always validated in full, so messages are exact.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema.exceptions import best_match
from jsonschema.validators import Draft202012Validator
from referencing import Registry, Resource

from shiplane.errors import ShiplaneError

_PLACEHOLDER = object()
_TRUE = object()
_FALSE = object()
_DICT = object()
_LIST = object()
_FLOAT = object()
_KEY = object()

# Keywords whose value is a map of name -> subschema, a subschema, or a list of subschemas.
_SCHEMA_MAPS = {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
_SCHEMA_ONE = {"items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames",
               "unevaluatedItems", "unevaluatedProperties", "additionalItems"}
_SCHEMA_LIST = {"allOf", "anyOf", "oneOf", "prefixItems"}
_STRING_CONSTRAINTS = {"pattern", "minLength", "maxLength"}
_MAX_INTERNED = 1_000_000

Memo = dict[tuple[int, int], tuple[object, int]]
"""Skeletons of the container nodes of one document, by node identity (the node is kept alive with it)."""


def _schema_root() -> Path:
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise ShiplaneError("the kubernetes-validate package is not installed; pip install kubernetes-validate")
    return Path(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema"


@cache
def available_versions() -> tuple[tuple[int, int], ...]:
    """Kubernetes minor versions whose strict schemas kubernetes-validate ships, ascending."""
    found = set()
    for entry in _schema_root().iterdir():
        match = re.fullmatch(r"v(\d+)\.(\d+)\.\d+-local-strict", entry.name)
        if match:
            found.add((int(match.group(1)), int(match.group(2))))
    return tuple(sorted(found))


def resolve_version(wanted: str) -> tuple[int, int]:
    """The schema version for `spinnaker.kubernetes_version` (the newest one not newer than it)."""
    match = re.fullmatch(r"v?(\d+)\.(\d+)(\.\d+)?", wanted.strip())
    if match is None:
        raise ShiplaneError(f"spinnaker.kubernetes_version: {wanted!r} is not a version; give one such as 1.31")
    target = (int(match.group(1)), int(match.group(2)))
    versions = available_versions()
    older = [version for version in versions if version <= target and version[0] == target[0]]
    if not versions or not older or target > versions[-1]:
        span = f"{versions[0][0]}.{versions[0][1]} to {versions[-1][0]}.{versions[-1][1]}" if versions else "none"
        raise ShiplaneError(
            f"spinnaker.kubernetes_version: {wanted} has no schemas in the installed kubernetes-validate "
            f"(it has {span}); set a version in that range or upgrade kubernetes-validate"
        )
    return older[-1]


def _api_file_part(api_version: str) -> str:
    """`apps/v1` → `apps-v1`, `rbac.authorization.k8s.io/v1` → `rbac-v1`, `v1` → `v1` (kubernetes-validate's names)."""
    return re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)


def _walk_schema(node: Any) -> Iterator[tuple[str, Any]]:
    """Every (keyword, value) of a schema and its subschemas."""
    if not isinstance(node, dict):
        return
    for keyword, value in node.items():
        yield keyword, value
        if keyword in _SCHEMA_MAPS and isinstance(value, dict):
            for subschema in value.values():
                yield from _walk_schema(subschema)
        elif keyword in _SCHEMA_ONE:
            yield from _walk_schema(value)
        elif keyword in _SCHEMA_LIST and isinstance(value, list):
            for subschema in value:
                yield from _walk_schema(subschema)


class _Kind:
    """The validator of one (apiVersion, kind) and what is known about it."""

    __slots__ = ("enums", "keep_strings", "valid", "validator")

    def __init__(self, validator: Any, enums: frozenset[str], keep_strings: bool) -> None:
        self.validator = validator
        self.enums = enums
        self.keep_strings = keep_strings
        self.valid: set[int] = set()


class KubernetesSchemas:
    """The strict schemas of one Kubernetes minor version, loaded on first use and kept."""

    def __init__(self, version: tuple[int, int]) -> None:
        self.version = version
        self._dir = _schema_root() / f"v{version[0]}.{version[1]}.0-local-strict"
        self._registry: Any = None
        self._definition_enums: frozenset[str] = frozenset()
        self._definitions_keep_strings = False
        self._kinds: dict[tuple[str, str], _Kind | None] = {}
        self._files: dict[str, set[str]] | None = None
        self._interned: dict[tuple[object, ...], int] = {}

    @property
    def name(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"

    def _load_definitions(self) -> None:
        definitions = json.loads((self._dir / "_definitions.json").read_text(encoding="utf-8"))
        self._registry = Resource.from_contents(definitions) @ Registry()
        enums, keep = _scan(definitions)
        self._definition_enums = enums
        self._definitions_keep_strings = keep

    def _file_index(self) -> dict[str, set[str]]:
        if self._files is None:
            index: dict[str, set[str]] = {}
            for entry in self._dir.iterdir():
                kind, _, rest = entry.name.partition("-")
                if rest.endswith(".json"):
                    index.setdefault(kind, set()).add(rest[: -len(".json")])
            self._files = index
        return self._files

    def _kind(self, api_version: str, kind: str) -> _Kind | None:
        key = (api_version, kind)
        if key in self._kinds:
            return self._kinds[key]
        path = self._dir / f"{kind.lower()}-{_api_file_part(api_version)}.json"
        entry: _Kind | None = None
        if path.is_file():
            if self._registry is None:
                self._load_definitions()
            schema = json.loads(path.read_text(encoding="utf-8"))
            registry = Resource.from_contents(schema) @ self._registry
            enums, keep = _scan(schema)
            entry = _Kind(
                Draft202012Validator(schema, registry=registry),
                enums | self._definition_enums,
                keep or self._definitions_keep_strings,
            )
        self._kinds[key] = entry
        return entry

    def known_api_versions(self, kind: str) -> list[str]:
        """The api versions (group without domain, e.g. `apps/v1`) that have a schema for `kind`."""
        return sorted(part.replace("-", "/", 1) for part in self._file_index().get(kind.lower(), set()))

    def problems(self, manifest: Any, memo: Memo | None = None) -> list[tuple[str, str]]:
        """(path inside the manifest, message) for every schema violation; [] when valid or of an unknown kind."""
        if not isinstance(manifest, dict):
            return [("", f"must be a Kubernetes object (a mapping), not {type(manifest).__name__}")]
        api_version, kind = manifest.get("apiVersion"), manifest.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str) or not api_version or not kind:
            return [("", "needs apiVersion and kind (strings) so that it can be checked and applied")]
        entry = self._kind(api_version, kind)
        if entry is None:
            known = self.known_api_versions(kind)
            if known:
                return [("apiVersion", f"{kind} has no schema for apiVersion {api_version} in Kubernetes "
                                       f"{self.name} (known: {', '.join(known)}); use a served apiVersion")]
            return []  # a custom resource: no schema to check it against
        if len(self._interned) > _MAX_INTERNED:
            self._interned.clear()
            for other in self._kinds.values():
                if other is not None:
                    other.valid.clear()
        skeleton = self._skeleton(manifest, entry, {} if memo is None else memo)
        if skeleton in entry.valid:
            return []
        found = []
        clean = True
        for error in entry.validator.iter_errors(manifest):
            clean = False
            specific = _most_specific(error)
            if isinstance(specific.instance, str) and "${" in specific.instance:
                continue  # a SpEL expression, evaluated by Orca before the manifest is applied
            found.append((_path(specific.absolute_path), specific.message))
        if clean:
            entry.valid.add(skeleton)
        return sorted(found)

    def _skeleton(self, value: Any, entry: _Kind, memo: Memo) -> Any:
        """A hashable stand-in for `value`: equal stand-ins mean equal validity (see the module docstring).

        Mappings keep their key order (documents written the same way get equal skeletons; others only miss the
        cache). Containers become small interned integers, so parents hash cheaply; containers already seen in
        this document (shared between per-cluster copies) are looked up by identity."""
        kind = type(value)
        if kind is str:
            return value if entry.keep_strings or value in entry.enums else _PLACEHOLDER
        if kind is dict or kind is list:
            key = (id(value), id(entry))
            hit = memo.get(key)
            if hit is not None and hit[0] is value:
                return hit[1]
            skeleton = self._skeleton
            keep, enums = entry.keep_strings, entry.enums
            parts: list[object] = []
            items = value.items() if kind is dict else ((None, item) for item in value)
            parts.append(_DICT if kind is dict else _LIST)
            for name, item in items:
                if kind is dict:
                    parts.append(name if type(name) is str else (_KEY, type(name).__name__, name))
                if type(item) is str:  # inlined: most leaves are strings
                    parts.append(item if keep or item in enums else _PLACEHOLDER)
                else:
                    parts.append(skeleton(item, entry, memo))
            interned = self._interned.setdefault(tuple(parts), len(self._interned))
            memo[key] = (value, interned)
            return interned
        if kind is bool:
            return _TRUE if value else _FALSE
        if kind is float:
            return (_FLOAT, value)
        return value  # int, None, or anything else hashable


def _scan(schema: Any) -> tuple[frozenset[str], bool]:
    """(every string in an `enum` or string `const`, whether strings are constrained beyond enum/const)."""
    enums: set[str] = set()
    constrained = False
    for keyword, value in _walk_schema(schema):
        if keyword == "enum" and isinstance(value, list):
            enums.update(item for item in value if isinstance(item, str))
        elif keyword == "const" and isinstance(value, str):
            enums.add(value)
        elif keyword in _STRING_CONSTRAINTS or (keyword == "uniqueItems" and value is True):
            constrained = True  # two different strings could become equal placeholders
    return frozenset(enums), constrained


def _most_specific(error: Any) -> Any:
    if error.context:
        return _most_specific(best_match(error.context))
    return error


def _path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@cache
def schemas_for(version: str) -> KubernetesSchemas:
    """The schemas for `spinnaker.kubernetes_version` (kept for the life of the process)."""
    return _schemas(resolve_version(version))


@cache
def _schemas(version: tuple[int, int]) -> KubernetesSchemas:
    return KubernetesSchemas(version)

"""Rendered documents and their canonical bytes.

A :class:`Document` is plain data (dicts, lists, strings, numbers, booleans, None) plus where it goes and what
made it. Serialisation is canonical: the same content always gives the same bytes, so unchanged files are never
rewritten and `render --check` is exact.

- JSON (Spinnaker): object keys sorted, two-space indent, UTF-8, trailing newline. Array order is kept: it is
  meaningful or deterministic by construction.
- YAML: keys in a fixed reading order (`name`, `type`, then the step keyword, then the rest alphabetically), block
  style, UTF-8, no anchors or aliases.
- Concourse pipelines (YAML) read like a hand-written pipeline: sections in the order resource_types, resources,
  jobs; each kind of object with its keys in the order the Concourse docs use (`name`, `type`, `icon`, ...,
  `source` last; a step's keyword first and its hooks last; a task config from `platform` to `run`); free-form
  maps (`source`, `params`, ...) sorted; multi-line strings as `|` blocks; a blank line between top-level items.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import orjson
import yaml

DocumentKind = Literal[
    "concourse-pipeline",
    "spinnaker-application",
    "spinnaker-pipeline",
    "clouddriver-config",
    "igor-config",
    "operator-patch",
    "halyard-script",
]


@dataclass(frozen=True, slots=True)
class Document:
    path: str
    """Relative POSIX path under the output directory, e.g. `concourse/petclinic.yml`."""
    kind: DocumentKind
    content: Any
    origin: str
    """What produced it, for error messages, e.g. `template concourse/pipeline.yml.j2 (app petclinic)`."""
    app: str | None = None
    """The app it belongs to (None for fleet-wide documents); `render --only` keeps only that app's files."""

    @property
    def format(self) -> Literal["yaml", "json", "text"]:
        if self.path.endswith(".sh"):
            return "text"
        return "yaml" if self.path.endswith((".yml", ".yaml")) else "json"

    def to_bytes(self) -> bytes:
        if self.format == "text":
            return str(self.content).encode("utf-8")
        if self.format == "json":
            return to_json(self.content)
        if self.kind == "concourse-pipeline":
            return to_pipeline_yaml(self.content)
        return to_yaml(self.content)


_ORJSON_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS


def to_json(content: Any) -> bytes:
    """Canonical JSON: the bytes of `json.dumps(content, sort_keys=True, indent=2, ensure_ascii=False) + "\\n"`.

    Written by orjson, ~20x faster than the standard library's pure-Python indenting encoder (a fleet's pipelines
    are hundreds of MB) and byte-identical to it for every document shiplane writes. Content orjson refuses (keys
    that are not strings, integers beyond 64 bits) goes through the standard library. One known difference: a
    float that Python writes in exponent notation (1e-05, 1e+16) is written the way orjson's release writes it
    (0.00001, 1e16 or 1e+16): the same number, deterministic for one release. shiplane's documents hold no floats.
    NaN and infinities, which JSON cannot hold, become null.
    """
    try:
        return orjson.dumps(content, option=_ORJSON_OPTIONS) + b"\n"
    except orjson.JSONEncodeError:
        return (json.dumps(content, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


# Keys that read best first, in this order; every other key follows alphabetically.
_LEADING_KEYS = (
    "name",
    "type",
    "across",
    "get",
    "put",
    "task",
    "set_pipeline",
    "load_var",
    "in_parallel",
    "do",
    "try",
    "file",
    "resource",
    "public",
    "serial",
    "plan",
)
_RANK = {key: index for index, key in enumerate(_LEADING_KEYS)}


def _ordered(value: Any) -> Any:
    if isinstance(value, Mapping):
        keys = sorted(value, key=lambda key: (_RANK.get(key, len(_RANK)), str(key)))
        return {key: _ordered(value[key]) for key in keys}
    if isinstance(value, list):
        return [_ordered(item) for item in value]
    return value


class _CanonicalDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    def ignore_aliases(self, data: Any) -> bool:
        return True


def to_yaml(content: Any) -> bytes:
    text = yaml.dump(
        _ordered(content),
        Dumper=_CanonicalDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=120,
        indent=2,
    )
    return text.encode("utf-8")


# --- Concourse pipelines ---------------------------------------------------------------------------------------

_HOOKS = ("on_success", "on_failure", "on_error", "on_abort", "ensure")
_PIPELINE_ORDER: dict[str, tuple[str, ...]] = {
    "pipeline": ("display", "groups", "var_sources", "resource_types", "prototypes", "resources", "jobs"),
    "group": ("name", "jobs", "resources"),
    "var_source": ("name", "type", "config"),
    "resource": (
        "name", "old_name", "type", "icon", "public", "check_every", "check_timeout", "webhook_token", "tags",
        "expose_build_created_by", "version", "source",
    ),
    "resource_type": ("name", "type", "privileged", "check_every", "tags", "defaults", "params", "source"),
    "job": (
        "name", "old_name", "public", "serial", "serial_groups", "max_in_flight", "interruptible",
        "disable_manual_trigger", "disable_reruns", "build_log_retention", "build_logs_to_retain", "plan", *_HOOKS,
    ),
    "step": (
        "across", "fail_fast", "get", "put", "task", "run", "set_pipeline", "load_var", "in_parallel", "do", "try",
        "resource", "type", "trigger", "passed", "version", "file", "format", "reveal", "privileged", "hermetic",
        "image", "team", "instance_vars", "vars", "var_files", "input_mapping", "output_mapping", "inputs", "params",
        "get_params", "no_get", "tags", "container_limits", "config", "timeout", "attempts", *_HOOKS,
    ),
    "in_parallel": ("limit", "fail_fast", "steps"),
    "across_var": ("var", "values", "max_in_flight"),
    "task_config": (
        "platform", "rootfs_uri", "image_resource", "container_limits", "inputs", "outputs", "caches", "params", "run",
    ),
    "image_resource": ("name", "type", "source", "version", "params", "tags"),
    "task_io": ("name", "path", "optional", "ttl"),
    "task_run": ("path", "args", "dir", "user"),
    "source": (
        "url", "uri", "owner", "repository", "branch", "tag", "semver", "tag_regex", "tag_filter", "paths",
        "username", "password", "private_key", "access_token",
    ),
}  # fmt: skip
_PIPELINE_CHILDREN: dict[tuple[str, str], str] = {
    ("pipeline", "groups"): "group",
    ("pipeline", "var_sources"): "var_source",
    ("pipeline", "resources"): "resource",
    ("pipeline", "resource_types"): "resource_type",
    ("pipeline", "prototypes"): "resource_type",
    ("pipeline", "jobs"): "job",
    ("resource", "source"): "source",
    ("resource_type", "source"): "source",
    ("image_resource", "source"): "source",
    ("job", "plan"): "step",
    ("step", "do"): "step",
    ("step", "try"): "step",
    ("step", "in_parallel"): "in_parallel",
    ("in_parallel", "steps"): "step",
    ("step", "across"): "across_var",
    ("step", "config"): "task_config",
    ("task_config", "image_resource"): "image_resource",
    ("task_config", "inputs"): "task_io",
    ("task_config", "outputs"): "task_io",
    ("task_config", "caches"): "task_io",
    ("task_config", "run"): "task_run",
    **{("job", hook): "step" for hook in _HOOKS},
    **{("step", hook): "step" for hook in _HOOKS},
}


_PIPELINE_RANKS = {kind: {key: index for index, key in enumerate(order)} for kind, order in _PIPELINE_ORDER.items()}
_NO_RANK: dict[str, int] = {}


def _pipeline_ordered(value: Any, kind: str) -> Any:
    if isinstance(value, dict):
        rank = _PIPELINE_RANKS.get(kind, _NO_RANK)
        last = len(rank)
        keys = sorted(value, key=lambda key: (rank.get(key, last), str(key))) if rank else sorted(value, key=str)
        return {key: _pipeline_ordered(value[key], _PIPELINE_CHILDREN.get((kind, key), "data")) for key in keys}
    if isinstance(value, list):
        # `in_parallel:` may be a plain list of steps
        element = "step" if kind == "in_parallel" else kind
        return [_pipeline_ordered(item, element) for item in value]
    return value


_RESOLVER = yaml.resolver.Resolver()
_STR_TAG = "tag:yaml.org,2002:str"
_GO_YAML_BOOLS = frozenset({"y", "Y", "n", "N"})
"""Plain scalars Go's yaml.v2 (which Concourse uses) reads as booleans although PyYAML reads them as strings."""
_PLAIN_FIRST_FORBIDDEN = frozenset("-?:,[]{}#&*!|>'\"%@`")
_YAML_UNSAFE = frozenset({0x85, 0x2028, 0x2029, 0xFEFF})


_NON_PRINTABLE = re.compile(
    "[^\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
"""Characters YAML cannot hold unescaped (C0/C1 controls, DEL, NEL, line/paragraph separators, BOM, surrogates)."""


def _printable(ch: str) -> bool:
    return _NON_PRINTABLE.match(ch) is None


def _all_printable(text: str, allowed: str = "") -> bool:
    return all(match.group() in allowed for match in _NON_PRINTABLE.finditer(text))


def _looks_like_a_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _plain_ok(text: str) -> bool:
    if not text or text[0] == " " or text[-1] in " :" or text.startswith(("---", "...")):
        return False
    if text[0] in _PLAIN_FIRST_FORBIDDEN and not (text[0] in "-?:" and len(text) > 1 and text[1] != " "):
        return False
    if ": " in text or " #" in text or not _all_printable(text):
        return False
    if text in _GO_YAML_BOOLS or _looks_like_a_number(text):
        return False
    tag: str = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return tag == _STR_TAG


def _quoted(text: str) -> str:
    if _all_printable(text):
        return "'" + text.replace("'", "''") + "'"
    escaped = json.dumps(text, ensure_ascii=False)
    return "".join(ch if _printable(ch) or ch in "\n\t" else f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF
                   else f"\\U{ord(ch):08x}" for ch in escaped)


def _block_ok(text: str) -> bool:
    """Whether a multi-line string can be written as a literal block (`|` or `|-`) and read back exactly."""
    if text[0] in " \n" or text.endswith("\n\n") or not _all_printable(text, "\n\t"):
        return False
    return not any(line != line.rstrip(" \t") for line in text.split("\n"))


_SCALARS: dict[str, str] = {}
"""How each string was last written (plain or quoted); pipelines repeat most of their strings."""


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if value in (float("inf"), float("-inf")):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value).lower()
        if "." in text:
            return text
        return text.replace("e", ".0e", 1) if "e" in text else text + ".0"  # YAML 1.1 floats need a dot
    if isinstance(value, str):
        cached = _SCALARS.get(value)
        if cached is None:
            if len(_SCALARS) > 100_000:
                _SCALARS.clear()
            cached = _SCALARS[value] = value if _plain_ok(value) else _quoted(value)
        return cached
    raise TypeError(f"cannot write a {type(value).__name__} in a pipeline")


def _emit(value: Any, indent: int, out: list[str], prefix: str) -> None:
    """Append the lines of `value` to `out`; `prefix` is what goes before it on its first line."""
    pad = " " * indent
    if isinstance(value, dict) and value:
        first = True
        for key, item in value.items():
            lead = prefix if first else pad
            first = False
            _emit_entry(_scalar(str(key)), item, indent, out, lead)
    elif isinstance(value, list) and value:
        first = True
        for item in value:
            lead = prefix if first else pad
            first = False
            if isinstance(item, dict | list) and item:
                _emit(item, indent + 2, out, lead + "- ")
            else:
                _emit_scalar(item, indent + 2, out, lead + "- ")
    else:
        _emit_scalar(value, indent, out, prefix)


def _emit_entry(key: str, item: Any, indent: int, out: list[str], lead: str) -> None:
    if isinstance(item, dict) and item:
        out.append(f"{lead}{key}:")
        _emit(item, indent + 2, out, " " * (indent + 2))
    elif isinstance(item, list) and item:
        out.append(f"{lead}{key}:")
        _emit(item, indent, out, " " * indent)  # block sequences are not indented under their key
    else:
        _emit_scalar(item, indent + 2, out, f"{lead}{key}: ")


def _emit_scalar(value: Any, indent: int, out: list[str], prefix: str) -> None:
    if isinstance(value, dict):
        out.append(prefix + "{}")
    elif isinstance(value, list):
        out.append(prefix + "[]")
    elif isinstance(value, str) and "\n" in value and _block_ok(value):
        clip = value.endswith("\n")  # `|` keeps one final line break, `|-` none
        out.append(prefix + ("|" if clip else "|-"))
        pad = " " * indent
        out.extend(pad + line if line else "" for line in (value[:-1] if clip else value).split("\n"))
    else:
        out.append(prefix + _scalar(value))


def emit_yaml(content: Any) -> str:
    """Block-style YAML for plain data, written directly (PyYAML's emitter is 10x slower).

    Scalars are plain when that reads back as the same string for PyYAML *and* for Go's yaml.v2 (which Concourse
    uses: `y` and `n` are booleans there, `1e5` a number), single-quoted when printable, else JSON-style
    double-quoted; multi-line strings are `|` blocks when they can be read back exactly.
    """
    out: list[str] = []
    if isinstance(content, dict | list) and content:
        _emit(content, 0, out, "")
    else:
        _emit_scalar(content, 2, out, "")  # a block scalar's lines are indented even at the top level
    return "\n".join(out) + "\n"


def to_pipeline_yaml(content: Any) -> bytes:
    """A Concourse pipeline, in the canonical reading order described in this module's docstring."""
    text = emit_yaml(_pipeline_ordered(content, "pipeline"))
    # A blank line before each top-level key and each top-level list item (a job, a resource) except the first of
    # a list. Only these start in column 0: block scalars and continuation lines are always indented.
    lines = text.split("\n")
    spaced: list[str] = []
    for index, line in enumerate(lines):
        if index and line[:1] not in ("", " ") and not lines[index - 1].endswith(":"):
            spaced.append("")
        spaced.append(line)
    return "\n".join(spaced).encode("utf-8")

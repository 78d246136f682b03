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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import yaml

DocumentKind = Literal[
    "concourse-pipeline",
    "spinnaker-application",
    "spinnaker-pipeline",
    "clouddriver-config",
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
    def format(self) -> Literal["yaml", "json"]:
        return "yaml" if self.path.endswith((".yml", ".yaml")) else "json"

    def to_bytes(self) -> bytes:
        if self.format == "json":
            return to_json(self.content)
        if self.kind == "concourse-pipeline":
            return to_pipeline_yaml(self.content)
        return to_yaml(self.content)


def to_json(content: Any) -> bytes:
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


def _pipeline_ordered(value: Any, kind: str) -> Any:
    if isinstance(value, Mapping):
        order = _PIPELINE_ORDER.get(kind, ())
        rank = {key: index for index, key in enumerate(order)}
        keys = sorted(value, key=lambda key: (rank.get(key, len(rank)), str(key)))
        return {key: _pipeline_ordered(value[key], _PIPELINE_CHILDREN.get((kind, str(key)), "data")) for key in keys}
    if isinstance(value, list):
        # `in_parallel:` may be a plain list of steps
        element = "step" if kind == "in_parallel" else kind
        return [_pipeline_ordered(item, element) for item in value]
    return value


class _PipelineDumper(_CanonicalDumper):
    pass


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    if "\n" in value:  # the emitter falls back to a quoted style when a block cannot hold the string exactly
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_PipelineDumper.add_representer(str, _represent_str)


def to_pipeline_yaml(content: Any) -> bytes:
    """A Concourse pipeline, in the canonical reading order described in this module's docstring."""
    text = yaml.dump(
        _pipeline_ordered(content, "pipeline"),
        Dumper=_PipelineDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=120,
        indent=2,
    )
    # A blank line before each top-level key and each top-level list item (a job, a resource) except the first of
    # a list. Only these start in column 0: block scalars and continuation lines are always indented.
    lines = text.split("\n")
    spaced: list[str] = []
    for index, line in enumerate(lines):
        if index and line[:1] not in ("", " ") and not lines[index - 1].endswith(":"):
            spaced.append("")
        spaced.append(line)
    return "\n".join(spaced).encode("utf-8")

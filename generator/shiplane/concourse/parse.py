"""Parse a pipeline the way Concourse's `atc.Config` unmarshalling does, reporting instead of stopping.

`fly validate-pipeline --strict` first unmarshals the YAML into Go structs: wrong types and malformed steps abort
there, unknown keys fail under `--strict` (top-level, resources, resource types, prototypes, var sources, groups,
jobs, display, build log retention) and always inside steps and an inline task `config:`. This module does the same
checks on plain data but reports every problem at once, each with the path of the offending value, and returns a
cleaned model (wrong values replaced by Go's zero values) for the rules in :mod:`shiplane.concourse.lint`.

A step is parsed as `atc.Step.UnmarshalJSON` does: the keys of `StepPrecedence` are tried in order; modifiers
(`ensure`, `on_*`, `across`, `attempts`, `timeout`) wrap what follows, the first core step type (`run`, `task`,
`put`, `get`, `set_pipeline`, `load_var`, `try`, `do`, `in_parallel`) ends the search, and every key left over is
an unknown field — which is how "one core step per step" is enforced (`{get: a, put: b}` leaves `get` over).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from shiplane.concourse.goport import parse_duration
from shiplane.config.yamlsource import Path

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: where (a path into the document), what, and whether fly treats it as an error or a warning."""

    path: Path
    message: str
    severity: Severity
    line: int | None = None
    """The line, when it is known without a source map (YAML syntax and duplicate-key problems)."""


class Findings(list[Finding]):
    def error(self, path: Path, message: str) -> None:
        self.append(Finding(path, message, "error"))

    def warning(self, path: Path, message: str) -> None:
        self.append(Finding(path, message, "warning"))


# How unknown keys of an object are treated.
#   "always": fly fails even without --strict (steps, an inline task config, across vars)
#   "strict": fly fails with --strict and ignores them otherwise (a warning here)
#   "ignored": fly never looks (Go's json ignores them); shiplane reports them as warnings since they do nothing
Strictness = Literal["always", "strict", "ignored"]

Check = Callable[[Any, Path, Findings], Any]


def _describe(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


_VAR = re.compile(r"^\(\([^()]+\)\)$")


def _type_error(value: Any, path: Path, findings: Findings, wanted: str) -> None:
    hint = ""
    if isinstance(value, str) and _VAR.match(value):
        hint = " (a ((var)) is only resolved when the pipeline is set; fly validate-pipeline cannot check it either)"
    elif wanted == "a string" and isinstance(value, bool | int | float):
        hint = "; quote it"
    findings.error(path, f"must be {wanted}, not {_describe(value)}{hint}")


def string(value: Any, path: Path, findings: Findings) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    _type_error(value, path, findings, "a string")
    return ""


def boolean(value: Any, path: Path, findings: Findings) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    _type_error(value, path, findings, "true or false")
    return False


def integer(value: Any, path: Path, findings: Findings) -> int:
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    _type_error(value, path, findings, "an integer")
    return 0


def anything(value: Any, path: Path, findings: Findings) -> Any:
    return value


def mapping(value: Any, path: Path, findings: Findings) -> dict[str, Any]:
    """A free-form object such as `source:` or `params:`."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    _type_error(value, path, findings, "a mapping")
    return {}


def string_map(value: Any, path: Path, findings: Findings) -> dict[str, str]:
    result = mapping(value, path, findings)
    return {key: string(item, (*path, key), findings) for key, item in result.items()}


def string_list(value: Any, path: Path, findings: Findings) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        _type_error(value, path, findings, "a list of strings")
        return []
    return [string(item, (*path, index), findings) for index, item in enumerate(value)]


def tags(value: Any, path: Path, findings: Findings) -> list[str]:
    return [tag for tag in string_list(value, path, findings) if tag]


def list_of(check: Check) -> Check:
    def checked(value: Any, path: Path, findings: Findings) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            _type_error(value, path, findings, "a list")
            return []
        return [check(item, (*path, index), findings) for index, item in enumerate(value)]

    return checked


def check_every(value: Any, path: Path, findings: Findings) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        findings.error(path, f"must be a duration such as 1m or never, not {_describe(value)}")
        return ""
    if value not in ("", "never") and parse_duration(value) is None:
        findings.error(path, f"invalid duration {value!r}; use never or a Go duration such as 30s, 10m or 1h")
        return ""
    return value


def version_config(value: Any, path: Path, findings: Findings) -> Any:
    """A get step's `version:` (atc.VersionConfig): latest, every, or a pinned version of strings."""
    if value is None:
        return None
    if isinstance(value, str):
        if value not in ("latest", "every"):
            findings.warning(
                path,
                f"{value!r} is neither latest nor every; Concourse then behaves as latest, so write latest, "
                f"every or a pinned version such as {{ref: abc123}}",
            )
        return value
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(item, str):
                findings.error((*path, key), f"the value {_describe(item)} of {key} is not a string; quote it")
        return value
    findings.error(path, f"must be latest, every or a version mapping, not {_describe(value)}")
    return None


def inputs_config(value: Any, path: Path, findings: Findings) -> Any:
    """A put step's `inputs:` (atc.InputsConfig): all, detect, or a list of artifact names."""
    if value is None:
        return None
    if isinstance(value, str):
        if value not in ("all", "detect"):
            findings.warning(
                path, f"{value!r} is neither all nor detect; Concourse then passes no input; list the artifacts"
            )
        return value
    if isinstance(value, list):
        for index, item in enumerate(value):
            if not isinstance(item, str):
                findings.error((*path, index), f"non-string put input {_describe(item)}; give an artifact name")
        return value
    findings.error(path, f"must be all, detect or a list of artifact names, not {_describe(value)}")
    return None


def max_in_flight(value: Any, path: Path, findings: Findings) -> int | Literal["all"] | None:
    if value is None:
        return None
    if isinstance(value, str):
        if value != "all":
            findings.error(path, f"invalid max_in_flight {value!r}; use all or a number greater than 0")
            return None
        return "all"
    return integer(value, path, findings)


_MEMORY = re.compile(r"(?i)^([0-9]+)(([KMG])(i)?B?)?$")


def _cpu(value: Any, path: Path, findings: Findings) -> Any:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        findings.error(path, f"cpu limit must be an integer, not {_describe(value)}")
    return value


def _memory(value: Any, path: Path, findings: Findings) -> Any:
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return value
    if isinstance(value, str):
        if not _MEMORY.match(value):
            findings.error(path, f"could not parse container memory limit {value!r}; use bytes or 512MB, 1GB, 2Gi")
        return value
    findings.error(path, f"must be a number of bytes or a size such as 1GB, not {_describe(value)}")
    return value


def _cache_ttl(value: Any, path: Path, findings: Findings) -> str:
    text = string(value, path, findings)
    if text:
        duration = parse_duration(text)
        if duration is None:
            findings.error(path, f"invalid cache ttl {text!r}; use a Go duration such as 24h")
        elif duration < 1_000_000_000:
            findings.error(path, f"cache ttl must be at least 1s, got {text!r}")
    return text


@dataclass(frozen=True)
class ObjectSpec:
    what: str
    """What the object is, for messages (`resource`, `task config`)."""
    fields: dict[str, Check]
    strictness: Strictness

    def __call__(self, value: Any, path: Path, findings: Findings) -> dict[str, Any]:
        raw = mapping(value, path, findings)
        unknown_fields(raw, self.fields, path, findings, strictness=self.strictness, what=self.what)
        return {key: check(raw.get(key), (*path, key), findings) for key, check in self.fields.items()}


def unknown_fields(
    raw: dict[str, Any],
    known: Iterable[str],
    path: Path,
    findings: Findings,
    *,
    strictness: Strictness,
    what: str,
) -> None:
    allowed = sorted(known)
    for key in raw:
        if key in known:
            continue
        close = difflib.get_close_matches(str(key), allowed, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        message = f"unknown field '{key}' in {what}; {hint}allowed: {', '.join(allowed)}"
        if strictness == "always":
            findings.error((*path, key), message)
        elif strictness == "strict":
            findings.warning((*path, key), message + " (fly --strict rejects it)")
        else:
            findings.warning((*path, key), message + " (Concourse ignores it, so it has no effect)")


def _nullable(spec: ObjectSpec) -> Check:
    """A pointer field in Go: null means absent."""

    def checked(value: Any, path: Path, findings: Findings) -> dict[str, Any] | None:
        return None if value is None else spec(value, path, findings)

    return checked


CONTAINER_LIMITS = ObjectSpec("container_limits", {"cpu": _cpu, "memory": _memory}, "ignored")

IMAGE_RESOURCE = ObjectSpec(
    "image_resource",
    {
        "name": string,
        "type": string,
        "source": mapping,
        "version": string_map,
        "params": mapping,
        "tags": tags,
    },
    "ignored",
)

TASK_INPUT = ObjectSpec("task input", {"name": string, "path": string, "optional": boolean}, "ignored")
TASK_OUTPUT = ObjectSpec("task output", {"name": string, "path": string}, "ignored")
TASK_CACHE = ObjectSpec("task cache", {"path": string, "ttl": _cache_ttl}, "ignored")
TASK_RUN = ObjectSpec("task run", {"path": string, "args": string_list, "dir": string, "user": string}, "ignored")

TASK_CONFIG = ObjectSpec(
    "task config",
    {
        "platform": string,
        "rootfs_uri": string,
        "image_resource": _nullable(IMAGE_RESOURCE),  # *ImageResource in atc.TaskConfig
        "container_limits": CONTAINER_LIMITS,
        "params": mapping,  # atc.TaskEnv: any value is coerced to a string
        "run": TASK_RUN,
        "inputs": list_of(TASK_INPUT),
        "outputs": list_of(TASK_OUTPUT),
        "caches": list_of(TASK_CACHE),
    },
    "always",
)

ACROSS_VAR = ObjectSpec("across var", {"var": string, "values": anything, "max_in_flight": max_in_flight}, "always")


# --- steps ----------------------------------------------------------------------------------------------------

CORE_KINDS = ("run", "task", "put", "get", "set_pipeline", "load_var", "try", "do", "in_parallel")
MODIFIERS = ("ensure", "on_error", "on_abort", "on_failure", "on_success", "across", "attempts", "timeout")
HOOKS = ("ensure", "on_error", "on_abort", "on_failure", "on_success")
PRECEDENCE = (
    "ensure",
    "on_error",
    "on_abort",
    "on_failure",
    "on_success",
    "across",
    "attempts",
    "run",
    "task",
    "put",
    "get",
    "timeout",
    "set_pipeline",
    "load_var",
    "try",
    "do",
    "in_parallel",
)
"""atc.StepPrecedence, in order."""

# Fields of each step type (json tags of the Go structs); the key itself is the first.
STEP_FIELDS: dict[str, dict[str, Check]] = {
    "get": {
        "get": string,
        "resource": string,
        "version": version_config,
        "params": mapping,
        "passed": string_list,
        "trigger": boolean,
        "tags": tags,
        "timeout": string,
    },
    "put": {
        "put": string,
        "resource": string,
        "params": mapping,
        "inputs": inputs_config,
        "tags": tags,
        "get_params": mapping,
        "timeout": string,
        "no_get": boolean,
    },
    "task": {
        "task": string,
        "privileged": boolean,
        "hermetic": boolean,
        "file": string,
        "container_limits": _nullable(CONTAINER_LIMITS),
        "config": _nullable(TASK_CONFIG),
        "params": mapping,
        "vars": mapping,
        "tags": tags,
        "input_mapping": string_map,
        "output_mapping": string_map,
        "image": string,
        "timeout": string,
    },
    "run": {
        "run": string,
        "type": string,
        "params": mapping,
        "privileged": boolean,
        "tags": tags,
        "container_limits": _nullable(CONTAINER_LIMITS),
        "timeout": string,
    },
    "set_pipeline": {
        "set_pipeline": string,
        "file": string,
        "team": string,
        "vars": mapping,
        "var_files": string_list,
        "instance_vars": mapping,
    },
    "load_var": {"load_var": string, "file": string, "format": string, "reveal": boolean},
    "across": {"across": list_of(ACROSS_VAR), "fail_fast": boolean},
    "attempts": {"attempts": integer},
    "timeout": {"timeout": string},
}

_STEP_KEYS_TEXT = "get, put, task, set_pipeline, load_var, in_parallel, do, try or run"


@dataclass
class Step:
    """A parsed step: its modifiers (outermost first) around one core step."""

    path: Path
    raw: dict[str, Any]
    kind: str | None
    """The core step type; None when the step could not be parsed (the problem is already reported)."""
    fields: dict[str, Any] = field(default_factory=dict)
    """The core step's fields, type-checked (wrong values replaced by zero values)."""
    modifiers: list[tuple[str, Any]] = field(default_factory=list)
    """(key, value) in precedence order: hooks hold a Step, across a list of var configs, attempts an int."""
    children: list[Step] = field(default_factory=list)
    """Sub-steps of do / in_parallel / try."""

    @property
    def name(self) -> str:
        if self.kind in ("get", "put", "task", "set_pipeline", "load_var", "run"):
            return str(self.fields.get(self.kind, ""))
        return ""

    def resource(self) -> str:
        """For get/put: the resource it uses (`resource:` or else the step name)."""
        return str(self.fields.get("resource") or self.fields.get(self.kind or "", ""))

    def walk(self) -> Iterable[Step]:
        """This step and every step inside it (hooks and sub-steps), depth first."""
        yield self
        for _, value in self.modifiers:
            if isinstance(value, Step):
                yield from value.walk()
        for child in self.children:
            yield from child.walk()


def parse_step(value: Any, path: Path, findings: Findings) -> Step:
    if not isinstance(value, dict):
        if value is None:
            findings.error(path, f"empty step; a step needs one of {_STEP_KEYS_TEXT}")
        else:
            findings.error(path, f"a step must be a mapping with one of {_STEP_KEYS_TEXT}, not {_describe(value)}")
        return Step(path, {}, None)
    remaining = dict(value)
    step = Step(path, value, None)
    found_any = False
    for key in PRECEDENCE:
        if key not in remaining:
            continue
        found_any = True
        if key in HOOKS:
            hook = parse_step(remaining.pop(key), (*path, key), findings)
            step.modifiers.append((key, hook))
            continue
        if key in ("across", "attempts", "timeout") and key in STEP_FIELDS:
            spec = STEP_FIELDS[key]
            parsed = {name: check(remaining.get(name), (*path, name), findings) for name, check in spec.items()}
            for name in spec:
                remaining.pop(name, None)
            step.modifiers.append((key, parsed))
            continue
        step.kind = key
        if key == "try":
            step.children = [parse_step(remaining.pop("try"), (*path, "try"), findings)]
        elif key == "do":
            raw_steps = remaining.pop("do")
            step.children = _step_list(raw_steps, (*path, "do"), findings)
        elif key == "in_parallel":
            step.children, step.fields = _in_parallel(remaining.pop("in_parallel"), (*path, "in_parallel"), findings)
        else:
            spec = STEP_FIELDS[key]
            step.fields = {name: check(remaining.get(name), (*path, name), findings) for name, check in spec.items()}
            for name in spec:
                remaining.pop(name, None)
        break
    if not found_any:
        keys = ", ".join(str(key) for key in value) or "no keys"
        findings.error(path, f"no step configured (found {keys}); a step needs one of {_STEP_KEYS_TEXT}")
        return step
    if step.kind is None:
        modifiers = ", ".join(key for key, _ in step.modifiers)
        findings.error(
            path,
            f"no core step type declared: {modifiers} only modify a step; add one of {_STEP_KEYS_TEXT}",
        )
        return step
    for key in remaining:
        if key in CORE_KINDS or key in MODIFIERS:
            findings.error(
                (*path, key),
                f"a step has one core step type, and this one is already a {step.kind} step; move {key} into a "
                f"step of its own",
            )
            continue
        allowed = sorted(_known_step_keys(step))
        close = difflib.get_close_matches(str(key), allowed, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        findings.error(
            (*path, key), f"unknown field '{key}' in a {step.kind} step; {hint}allowed: {', '.join(allowed)}"
        )
    return step


def _known_step_keys(step: Step) -> set[str]:
    """The keys a step of this type may have (for the did-you-mean hint)."""
    kind = step.kind or ""
    keys = set(STEP_FIELDS.get(kind, {kind: string})) | set(MODIFIERS)
    if any(key == "across" for key, _ in step.modifiers):
        keys.add("fail_fast")
    return keys


def _step_list(value: Any, path: Path, findings: Findings) -> list[Step]:
    if value is None:
        return []
    if not isinstance(value, list):
        _type_error(value, path, findings, "a list of steps")
        return []
    return [parse_step(item, (*path, index), findings) for index, item in enumerate(value)]


def _in_parallel(value: Any, path: Path, findings: Findings) -> tuple[list[Step], dict[str, Any]]:
    if isinstance(value, list):
        return _step_list(value, path, findings), {}
    if isinstance(value, dict):
        known = {"steps": None, "limit": integer, "fail_fast": boolean}
        unknown_fields(value, known, path, findings, strictness="ignored", what="in_parallel")
        config = {
            "limit": integer(value.get("limit"), (*path, "limit"), findings),
            "fail_fast": boolean(value.get("fail_fast"), (*path, "fail_fast"), findings),
        }
        return _step_list(value.get("steps"), (*path, "steps"), findings), config
    findings.error(path, f"must be a list of steps or {{steps: [...], limit: N, fail_fast: bool}}, not "
                         f"{_describe(value)}")
    return [], {}


# --- jobs and the top level -------------------------------------------------------------------------------------

BUILD_LOG_RETENTION = ObjectSpec(
    "build_log_retention", {"builds": integer, "minimum_succeeded_builds": integer, "days": integer}, "strict"
)

JOB_FIELDS: dict[str, Check] = {
    "name": string,
    "old_name": string,
    "public": boolean,
    "disable_manual_trigger": boolean,
    "disable_reruns": boolean,
    "serial": boolean,
    "interruptible": boolean,
    "serial_groups": string_list,
    "max_in_flight": integer,
    "build_logs_to_retain": integer,
    "build_log_retention": _nullable(BUILD_LOG_RETENTION),
}
JOB_STEP_KEYS = ("on_success", "on_failure", "on_abort", "on_error", "ensure", "plan")


@dataclass
class Job:
    path: Path
    fields: dict[str, Any]
    present: set[str]
    """Keys given in the file (to tell an absent build_log_retention from a zero one)."""
    plan: list[Step]
    hooks: list[tuple[str, Step]]
    """Job-level hooks in the order Concourse wraps the plan: on_success, on_failure, on_abort, on_error, ensure."""

    @property
    def name(self) -> str:
        return str(self.fields["name"])

    def steps(self) -> Iterable[Step]:
        for step in self.plan:
            yield from step.walk()
        for _, hook in self.hooks:
            yield from hook.walk()

    def resources(self) -> set[str]:
        """Every resource this job gets or puts."""
        return {step.resource() for step in self.steps() if step.kind in ("get", "put")}


def parse_job(value: Any, path: Path, findings: Findings) -> Job:
    raw = mapping(value, path, findings)
    unknown_fields(raw, [*JOB_FIELDS, *JOB_STEP_KEYS], path, findings, strictness="strict", what="job")
    fields = {key: check(raw.get(key), (*path, key), findings) for key, check in JOB_FIELDS.items()}
    plan = _step_list(raw.get("plan"), (*path, "plan"), findings)
    hooks = [
        (key, parse_step(raw[key], (*path, key), findings))
        for key in ("on_success", "on_failure", "on_abort", "on_error", "ensure")
        if raw.get(key) is not None
    ]
    return Job(path, fields, set(raw), plan, hooks)


GROUP = ObjectSpec("group", {"name": string, "jobs": string_list, "resources": string_list}, "strict")
RESOURCE = ObjectSpec(
    "resource",
    {
        "name": string,
        "old_name": string,
        "public": boolean,
        "webhook_token": string,
        "type": string,
        "source": mapping,
        "check_every": check_every,
        "check_timeout": string,
        "tags": tags,
        "version": string_map,
        "icon": string,
        "expose_build_created_by": boolean,
    },
    "strict",
)
_TYPE_FIELDS: dict[str, Check] = {
    "name": string,
    "type": string,
    "source": mapping,
    "defaults": mapping,
    "privileged": boolean,
    "check_every": check_every,
    "tags": tags,
    "params": mapping,
}
RESOURCE_TYPE = ObjectSpec("resource type", _TYPE_FIELDS, "strict")
PROTOTYPE = ObjectSpec("prototype", _TYPE_FIELDS, "strict")
VAR_SOURCE = ObjectSpec("var source", {"name": string, "type": string, "config": anything}, "strict")
DISPLAY = ObjectSpec("display", {"background_image": string, "background_filter": string}, "strict")

TOP_LEVEL = ("groups", "var_sources", "resources", "resource_types", "prototypes", "jobs", "display", "user_data")


@dataclass
class Pipeline:
    groups: list[tuple[Path, dict[str, Any]]]
    var_sources: list[tuple[Path, dict[str, Any]]]
    resources: list[tuple[Path, dict[str, Any]]]
    resource_types: list[tuple[Path, dict[str, Any]]]
    prototypes: list[tuple[Path, dict[str, Any]]]
    jobs: list[Job]
    display: dict[str, Any] | None


def _entries(raw: dict[str, Any], key: str, spec: ObjectSpec, findings: Findings) -> list[tuple[Path, dict[str, Any]]]:
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        _type_error(value, (key,), findings, f"a list of {spec.what}s")
        return []
    return [((key, index), spec(item, (key, index), findings)) for index, item in enumerate(value)]


def parse_pipeline(document: Any, findings: Findings) -> Pipeline | None:
    """Parse a whole pipeline; None when it is not even a mapping (reported)."""
    if document is None:
        document = {}
    if not isinstance(document, dict):
        findings.error((), f"a pipeline must be a mapping with jobs, resources, ...; not {_describe(document)}")
        return None
    unknown_fields(document, TOP_LEVEL, (), findings, strictness="strict", what="a pipeline")
    jobs_value = document.get("jobs")
    jobs: list[Job] = []
    if isinstance(jobs_value, list):
        jobs = [parse_job(item, ("jobs", index), findings) for index, item in enumerate(jobs_value)]
    elif jobs_value is not None:
        _type_error(jobs_value, ("jobs",), findings, "a list of jobs")
    display = document.get("display")
    return Pipeline(
        groups=_entries(document, "groups", GROUP, findings),
        var_sources=_entries(document, "var_sources", VAR_SOURCE, findings),
        resources=_entries(document, "resources", RESOURCE, findings),
        resource_types=_entries(document, "resource_types", RESOURCE_TYPE, findings),
        prototypes=_entries(document, "prototypes", PROTOTYPE, findings),
        jobs=jobs,
        display=None if display is None else DISPLAY(display, ("display",), findings),
    )

"""A Concourse pipeline linter equal to `fly validate-pipeline --strict` (Concourse v8.2.5).

The rules are those of `atc/configvalidate/validate.go`, `atc/step_validator.go`, `atc/task.go`,
`atc/configwarning.go` and the unmarshalling in `atc/config.go` / `atc/steps.go` (see :mod:`.parse`). Every
finding carries the path of the offending value (`jobs[0].plan[2].put`) and a message that names the fix.

Errors are what fly always rejects. Warnings are what fly only rejects with `--strict` (invalid identifiers,
deprecated fields, unknown keys outside steps, ...) plus a few things fly lets through although they cannot work or
do nothing (an unknown key inside `image_resource:`, `version: lastest`, a `load_var` format Concourse does not know,
a step `timeout:` that is not a duration). In strict mode — the default, and always for rendered pipelines —
warnings fail too.

`((vars))` are not resolved: they stay literal strings, as with `fly validate-pipeline` without `-v`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import yaml

from shiplane.concourse import goport
from shiplane.concourse.parse import Finding, Findings, Job, Pipeline, Step, parse_pipeline
from shiplane.config.yamlsource import Path, SourceMap, format_path, load_yaml
from shiplane.errors import ShiplaneError
from shiplane.files import read_text

__all__ = ["Finding", "lint_data", "lint_files", "lint_text"]


def lint_data(document: Any) -> list[Finding]:
    """Every finding of a parsed pipeline document (plain data), errors and warnings."""
    findings = Findings()
    pipeline = parse_pipeline(document, findings)
    if pipeline is not None:
        _Validator(pipeline, findings).run()
    return list(findings)


def lint_text(text: str, filename: str) -> tuple[list[Finding], SourceMap]:
    """Parse YAML `text` (duplicate keys are errors, as with `fly validate-pipeline --strict`) and lint it."""
    if not text.strip():
        return lint_data({}), SourceMap(filename)
    try:
        document, source, problems = load_yaml(text, filename, go_semantics=True)
    except ShiplaneError as exc:
        return [_located(problem, filename) for problem in exc.problems], SourceMap(filename)
    return [_located(problem, filename) for problem in problems] + lint_data(document), source


_LOCATED = re.compile(r"^(?P<line>[0-9]+): (?:(?P<path>[^:]+): )?(?P<message>.*)$", re.DOTALL)


def _located(problem: str, filename: str) -> Finding:
    """A `file:line: path: message` problem from the YAML loader as a Finding (path kept in the message)."""
    rest = problem[len(filename) + 1 :] if problem.startswith(filename + ":") else problem
    match = _LOCATED.match(rest)
    if match is None:
        return Finding((), rest.lstrip(), "error")
    message = match["message"] if match["path"] is None else f"{match['path']}: {match['message']}"
    return Finding((), message, "error", line=int(match["line"]))


def lint_files(paths: Sequence[str], strict: bool, stderr: TextIO) -> int:
    """`shiplane lint-pipeline FILE...`: print `FILE:LINE: path: message` lines on stderr; return the exit code."""
    errors = warnings = 0
    for name in paths:
        try:
            text = read_text(name)
        except ShiplaneError as exc:
            stderr.write(f"{exc}\n")
            errors += 1
            continue
        findings, source = lint_text(text, name)
        for finding in sorted(findings, key=lambda f: f.line or source.line(f.path) or 0):
            line = finding.line or source.line(finding.path)
            where = f"{name}:{line}" if line is not None else name
            fails = finding.severity == "error" or strict
            label = "" if fails else "warning: "
            path = f"{format_path(finding.path)}: " if finding.path else ""
            stderr.write(f"{where}: {path}{label}{finding.message}\n")
            if fails:
                errors += 1
            else:
                warnings += 1
    if errors or warnings:
        stderr.write(f"lint-pipeline: {errors} error(s), {warnings} warning(s) in {len(paths)} file(s)\n")
    else:
        rules = "fly validate-pipeline --strict" if strict else "fly validate-pipeline"
        stderr.write(f"lint-pipeline: {len(paths)} file(s) clean by the rules of `{rules}` (Concourse v8.2.5)\n")
    return 1 if errors else 0


# --- the rules --------------------------------------------------------------------------------------------------

_CREDENTIAL_MANAGERS = ("conjur", "credhub", "dummy", "idtoken", "kubernetes", "secretsmanager", "ssm", "vault")
"""Credential managers compiled into fly (fly/commands/validate_pipeline.go)."""
_PIPELINE_MANAGERS = ("dummy", "idtoken", "secretsmanager", "ssm", "vault")
"""The ones a pipeline's var_sources may use (validate.go)."""
_VAR_REFERENCE = re.compile(r"\(\((([-/.\w]+:)?[-/.:@\"\w]+)\)\)")
_LOAD_VAR_FORMATS = ("json", "raw", "trim", "yaml", "yml")


def _names(names: Sequence[str]) -> str:
    shown = [name for name in names if name]
    if not shown:
        return "(none)"
    return ", ".join(shown[:20]) + (f", ... ({len(shown)} in all)" if len(shown) > 20 else "")


@dataclass
class _Scope:
    names: dict[str, Path] = field(default_factory=dict)


class _Validator:
    def __init__(self, pipeline: Pipeline, findings: Findings) -> None:
        self.pipeline = pipeline
        self.findings = findings
        self.resource_names = [str(entry["name"]) for _, entry in pipeline.resources]
        self.job_names = [job.name for job in pipeline.jobs]
        self.prototype_names = {str(entry["name"]) for _, entry in pipeline.prototypes}
        self._job_resources: dict[int, set[str]] = {}

    def error(self, path: Path, message: str) -> None:
        self.findings.error(path, message)

    def warning(self, path: Path, message: str) -> None:
        self.findings.warning(path, message)

    def run(self) -> None:
        self.groups()
        self.resources()
        self.types()
        self.var_sources()
        self.jobs()
        self.display()
        self.cycles()

    # identifiers -----------------------------------------------------------------------------------------------

    def identifier(self, name: str, path: Path, what: str) -> None:
        if name == "":
            self.error(path, f"{what} name is empty; identifier cannot be an empty string")
            return
        problem = goport.identifier_problem(name)
        if problem is not None:
            self.warning(
                path,
                f"'{name}' is not a valid identifier: {problem} (use lowercase letters, digits, '-', '_' and '.', "
                f"starting with a letter or digit)",
            )

    def unique(self, entries: list[tuple[Path, dict[str, Any]]], seen: dict[str, Path], kind: str) -> None:
        for path, entry in entries:
            name = str(entry["name"])
            if name and name in seen:
                self.error(
                    (*path, "name"),
                    f"{format_path(seen[name])} and {format_path(path)} have the same name ('{name}'); {kind} need "
                    f"unique names",
                )
            elif name:
                seen[name] = path

    # groups ----------------------------------------------------------------------------------------------------

    def groups(self) -> None:
        grouped = dict.fromkeys(self.job_names, False)
        counts: dict[str, list[Path]] = {}
        for path, group in self.pipeline.groups:
            name = str(group["name"])
            self.identifier(name, (*path, "name"), "group")
            counts.setdefault(name, []).append(path)
            for index, pattern in enumerate(group["jobs"]):
                try:
                    matches = goport.compile_group_glob(pattern)
                except goport.GlobError as exc:
                    self.error((*path, "jobs", index), f"invalid glob expression '{pattern}' for group '{name}' "
                                                       f"({exc})")
                    continue
                matched = [job_name for job_name in self.job_names if matches(job_name)]
                for job_name in matched:
                    grouped[job_name] = True
                if not matched:
                    self.error(
                        (*path, "jobs", index),
                        f"no jobs match '{pattern}' for group '{name}'; jobs: {_names(self.job_names)}",
                    )
            for index, resource in enumerate(group["resources"]):
                if resource not in self.resource_names:
                    self.error(
                        (*path, "resources", index),
                        f"group '{name}' has unknown resource '{resource}'; resources: {_names(self.resource_names)}",
                    )
        for name, paths in counts.items():
            if len(paths) > 1:
                self.error(
                    (*paths[1], "name"),
                    f"group '{name}' appears {len(paths)} times; duplicate names are not allowed, merge or rename them",
                )
        if self.pipeline.groups:
            for job in self.pipeline.jobs:
                if not grouped.get(job.name, True):
                    self.error(
                        job.path,
                        f"job '{job.name}' belongs to no group; once a pipeline has groups every job must be in one",
                    )

    # resources and types ----------------------------------------------------------------------------------------

    def resources(self) -> None:
        for path, resource in self.pipeline.resources:
            name = str(resource["name"])
            if name:
                self.identifier(name, (*path, "name"), "resource")
            if not name:
                self.error(path, f"{format_path(path)} has no name; add name:")
            if not resource["type"]:
                self.error(path, f"resources.{name or format_path(path)} has no type; add type: (git, "
                                 f"registry-image, or one of resource_types)")
        self.unique(self.pipeline.resources, {}, "resources")
        used = set()
        for job in self.pipeline.jobs:
            used |= self._resources_of(job)
        for path, resource in self.pipeline.resources:
            name = str(resource["name"])
            if name not in used:
                self.error(path, f"resource '{name}' is not used; use it in a get or put step, or remove it")

    def _resources_of(self, job: Job) -> set[str]:
        key = id(job)
        if key not in self._job_resources:
            self._job_resources[key] = job.resources()
        return self._job_resources[key]

    def types(self) -> None:
        seen: dict[str, Path] = {}
        for section, what in (("resource_types", "resource type"), ("prototypes", "prototype")):
            entries = self.pipeline.resource_types if section == "resource_types" else self.pipeline.prototypes
            for path, entry in entries:
                name = str(entry["name"])
                if name:
                    self.identifier(name, (*path, "name"), what)
                else:
                    self.error(path, f"{format_path(path)} has no name; add name:")
                if not entry["type"]:
                    self.error(path, f"{section}.{name or format_path(path)} has no type; add type: (usually "
                                     f"registry-image)")
            self.unique(entries, seen, "resource types and prototypes (one namespace)")

    # var sources -----------------------------------------------------------------------------------------------

    def var_sources(self) -> None:
        seen: dict[str, Path] = {}
        for path, source in self.pipeline.var_sources:
            name, kind = str(source["name"]), str(source["type"])
            self.identifier(name, (*path, "name"), "var source")
            if kind not in _CREDENTIAL_MANAGERS:
                self.error(
                    (*path, "type"),
                    f"unknown credential manager type: {kind or '(none)'}; use one of {', '.join(_PIPELINE_MANAGERS)}",
                )
                continue
            if kind not in _PIPELINE_MANAGERS:
                self.error(
                    (*path, "type"),
                    f"credential manager type {kind} is not supported in pipeline yet; configure it on the web node "
                    f"or use one of {', '.join(_PIPELINE_MANAGERS)}",
                )
            if name in seen:
                self.error(
                    (*path, "name"),
                    f"{format_path(seen[name])} and {format_path(path)} have the same name ('{name}'); rename one",
                )
            seen[name] = path
            for problem in _credential_manager_problems(kind, source["config"]):
                self.error((*path, "config"), f"credential manager {name}: {problem}")
        self._var_source_order()

    def _var_source_order(self) -> None:
        added: set[str] = set()
        pending: list[tuple[str, list[str]]] = []
        for _, source in self.pipeline.var_sources:
            name = str(source["name"])
            text = yaml.safe_dump(source["config"], sort_keys=True)
            dependencies = [ref.split(":")[0] for ref in _var_names(text) if ":" in ref]
            if all(dependency in added for dependency in dependencies):
                added.add(name)
                progress = True
                while progress:
                    progress = False
                    for entry in list(pending):
                        if all(dependency in added for dependency in entry[1]):
                            added.add(entry[0])
                            pending.remove(entry)
                            progress = True
            else:
                pending.append((name, dependencies))
        if pending:
            names = ", ".join(name for name, _ in pending)
            self.error(
                ("var_sources",),
                f"failed to order by dependency: could not resolve inter-dependent var sources: {names}; a var "
                f"source may only use ((other:vars)) of var sources it does not depend on in a cycle",
            )

    # jobs ------------------------------------------------------------------------------------------------------

    def jobs(self) -> None:
        if not self.pipeline.jobs:
            self.error(("jobs",), "pipeline must contain at least one job")
            return
        seen: dict[str, Path] = {}
        for job in self.pipeline.jobs:
            name = job.name
            path = job.path
            self.identifier(name, (*path, "name"), "job")
            if name and name in seen:
                self.error(
                    (*path, "name"),
                    f"{format_path(seen[name])} and {format_path(path)} have the same name ('{name}'); rename one",
                )
            elif name:
                seen[name] = path
            if not name:
                self.error(path, f"{format_path(path)} has no name; add name:")
            self._log_retention(job)
            _StepValidator(self, job).run()

    def _log_retention(self, job: Job) -> None:
        path = job.path
        old = job.fields["build_logs_to_retain"]
        retention = job.fields["build_log_retention"]
        if old != 0:
            self.warning(
                (*path, "build_logs_to_retain"),
                "build_logs_to_retain is deprecated; use build_log_retention: {builds: N} instead",
            )
        if retention is not None and old != 0:
            self.error(path, "can't use both build_log_retention and build_logs_to_retain; keep build_log_retention")
        elif old < 0:
            self.error((*path, "build_logs_to_retain"), f"has negative build_logs_to_retain: {old}")
        if retention is not None:
            where = (*path, "build_log_retention")
            labels = (("builds", "builds"), ("days", "days"), ("minimum_succeeded_builds", "min_success_builds"))
            for key, label in labels:
                if retention[key] < 0:
                    self.error((*where, key), f"has negative build_log_retention.{label}: {retention[key]}")
            builds, minimum = retention["builds"], retention["minimum_succeeded_builds"]
            if builds > 0 and minimum > builds:
                self.error(
                    (*where, "minimum_succeeded_builds"),
                    f"minimum_succeeded_builds ({minimum}) is greater than builds ({builds})",
                )

    # display ---------------------------------------------------------------------------------------------------

    def display(self) -> None:
        display = self.pipeline.display
        if display is None:
            return
        image = str(display["background_image"])
        scheme, error = goport.url_scheme(image)
        path = ("display", "background_image")
        if error is not None:
            self.error(path, f"background_image is not a valid URL: {image} ({error})")
        elif scheme not in ("", "http", "https"):
            self.error(path, "background_image scheme must be either http, https or relative")

    # cycles ----------------------------------------------------------------------------------------------------

    def cycles(self) -> None:
        jobs = self.pipeline.jobs
        upstream: dict[int, list[int]] = {}
        for index, job in enumerate(jobs):
            targets: list[int] = []
            for step in job.steps():
                if step.kind != "get":
                    continue
                for pattern in step.fields["passed"]:
                    targets.extend(other for other, candidate in enumerate(jobs)
                                   if goport.path_match(pattern, candidate.name))
            upstream[index] = targets
        for root in range(len(jobs)):
            state: dict[int, int] = {}  # 1 visiting, 2 visited
            start = _find_cycle(root, upstream, state)
            if start is not None:
                job = jobs[start]
                self.error(
                    job.path,
                    f"pipeline contains a cycle that starts at Job '{job.name}'; passed: constraints must not lead "
                    f"back to a job",
                )
                return


def _find_cycle(index: int, upstream: dict[int, list[int]], state: dict[int, int]) -> int | None:
    if state.get(index) == 1:
        return index
    if state.get(index) == 2:
        return None
    state[index] = 1
    for target in upstream[index]:
        found = _find_cycle(target, upstream, state)
        if found is not None:
            return found
    state[index] = 2
    return None


def _var_names(text: str) -> list[str]:
    return [match.group(1) for match in _VAR_REFERENCE.finditer(text)]


class _StepValidator:
    """atc.StepValidator for one job: one get-name scope and a stack of local-var scopes."""

    def __init__(self, parent: _Validator, job: Job) -> None:
        self.parent = parent
        self.job = job
        self.seen_get_names: set[str] = set()
        self.scopes: list[set[str]] = [set()]

    def run(self) -> None:
        for step in self.job.plan:
            self.step(step, under_across=False)
        for _, hook in self.job.hooks:
            self.step(hook, under_across=False)

    def step(self, step: Step, *, under_across: bool) -> None:
        if step.kind is None:
            return
        self._modifiers(step, 0, under_across)

    def _modifiers(self, step: Step, index: int, under_across: bool) -> None:
        if index == len(step.modifiers):
            self._core(step, under_across)
            return
        key, value = step.modifiers[index]
        if isinstance(value, Step):  # a hook: the wrapped step first, then the hook
            self._modifiers(step, index + 1, under_across)
            self.step(value, under_across=False)
            return
        if key == "across":
            self._across(step, index, value)
            return
        self._modifiers(step, index + 1, under_across)
        if key == "timeout":
            duration = str(value["timeout"])
            if goport.parse_duration(duration) is None:
                self.parent.error((*step.path, "timeout"), f"invalid duration '{duration}'; use a Go duration "
                                                          f"such as 30m or 1h30m")
        elif key == "attempts" and value["attempts"] <= 0:
            self.parent.error((*step.path, "attempts"), "must be greater than 0")

    def _across(self, step: Step, index: int, value: dict[str, Any]) -> None:
        self.scopes.append(set())
        variables = value["across"]
        if not variables:
            self.parent.error((*step.path, "across"), "no vars specified; add - var: NAME with values: [...]")
        for position, variable in enumerate(variables):
            where = (*step.path, "across", position)
            self._declare(str(variable["var"]), (*where, "var"))
            limit = variable["max_in_flight"]
            if isinstance(limit, int) and limit <= 0:
                self.parent.error((*where, "max_in_flight"), "must be greater than 0 (or all)")
        self._modifiers(step, index + 1, under_across=True)
        self.scopes.pop()

    def _declare(self, name: str, path: Path) -> None:
        if name in self.scopes[-1]:
            self.parent.error(path, f"repeated var name '{name}'; a local var is declared once per scope")
        elif any(name in scope for scope in self.scopes):
            self.parent.warning(path, f"shadows local var '{name}'; rename it")
        self.scopes[-1].add(name)

    def _name(self, step: Step, under_across: bool) -> None:
        kind = step.kind or ""
        name = step.name
        path = (*step.path, kind)
        if name == "":
            self.parent.error(path, f"{kind} step name is empty; identifier cannot be an empty string")
            return
        # atc.ValidateIdentifier skips names a surrounding `across` interpolates; it tests the step context text
        # (".task(NAME)"), so any step whose kind or name contains "task" or "set_pipeline" is skipped there.
        context = f".{kind}({name})" if kind != "run" else f".run({step.fields['type']}.{name})"
        if under_across and ("set_pipeline" in context or "task" in context):
            return
        problem = goport.identifier_problem(name)
        if problem is None:
            return
        message = f"'{name}' is not a valid identifier: {problem}"
        if kind == "run":
            self.parent.error(path, message)
        else:
            self.parent.warning(path, message + " (use lowercase letters, digits, '-', '_' and '.')")

    def _core(self, step: Step, under_across: bool) -> None:
        kind = step.kind
        fields = step.fields
        if kind in ("do", "in_parallel", "try"):
            for child in step.children:
                self.step(child, under_across=False)
            return
        self._name(step, under_across)
        if kind == "get":
            self._get(step)
        elif kind == "put":
            self._resource(step)
            _timeout_warning(self.parent, step)
        elif kind == "task":
            self._task(step)
        elif kind == "run":
            if fields["type"] not in self.parent.prototype_names:
                self.parent.error((*step.path, "type"), f"unknown prototype '{fields['type']}'")
            _timeout_warning(self.parent, step)
        elif kind == "set_pipeline":
            if not fields["file"]:
                self.parent.error((*step.path, "set_pipeline"), "no file specified; add file: ARTIFACT/PATH.yml")
        elif kind == "load_var":
            self._declare(step.name, (*step.path, "load_var"))
            if not fields["file"]:
                self.parent.error((*step.path, "load_var"), "no file specified; add file: ARTIFACT/PATH")
            if fields["format"] and fields["format"] not in _LOAD_VAR_FORMATS:
                self.parent.warning(
                    (*step.path, "format"),
                    f"invalid format {fields['format']!r}; Concourse fails the step at run time: use one of "
                    f"{', '.join(_LOAD_VAR_FORMATS)}",
                )

    def _resource(self, step: Step) -> bool:
        resource = step.resource()
        if resource in self.parent.resource_names:
            return True
        key = "resource" if step.fields.get("resource") else step.kind or ""
        self.parent.error(
            (*step.path, key),
            f"unknown resource '{resource}'; resources: {_names(self.parent.resource_names)}",
        )
        return False

    def _get(self, step: Step) -> None:
        name = step.name
        if name in self.seen_get_names:
            self.parent.error(
                (*step.path, "get"),
                f"repeated name '{name}'; this job already gets '{name}' (give this get another name and set "
                f"resource: to fetch the same resource twice)",
            )
        self.seen_get_names.add(name)
        self._resource(step)
        _timeout_warning(self.parent, step)
        resource = step.resource()
        for index, pattern in enumerate(step.fields["passed"]):
            where = (*step.path, "passed", index)
            matched = False
            for job in self.parent.pipeline.jobs:
                if not goport.path_match(pattern, job.name):
                    continue
                matched = True
                if resource not in self.parent._resources_of(job):
                    self.parent.error(
                        where,
                        f"job '{job.name}' does not interact with resource '{resource}'; passed: may only name jobs "
                        f"that get or put it",
                    )
            if not matched:
                self.parent.error(
                    where, f"no matching job(s) for '{pattern}'; jobs: {_names(self.parent.job_names)}"
                )

    def _task(self, step: Step) -> None:
        fields = step.fields
        path = step.path
        config = fields["config"]
        if config is None and not fields["file"]:
            self.parent.error((*path, "task"), "must specify either `file:` or `config:`")
        if config is not None and fields["file"]:
            self.parent.error((*path, "file"), "must specify one of `file:` or `config:`, not both")
        _timeout_warning(self.parent, step)
        if config is not None and (config["rootfs_uri"] or config["image_resource"] is not None) and fields["image"]:
            self.parent.warning(
                (*path, "image"),
                "specifies image: on the step but also specifies an image under config: - the image: on the step "
                "takes precedence; remove one",
            )
        if fields["hermetic"]:
            self.parent.warning((*path, "hermetic"), "specifies `hermetic:` only works against worker containerd "
                                                     "runtime")
        if config is None:
            return
        where = (*path, "config")
        if not config["platform"]:
            self.parent.error(where, "missing 'platform'; add platform: linux")
        for section in ("inputs", "outputs"):
            for index, entry in enumerate(config[section]):
                if not entry["name"]:
                    self.parent.error(
                        (*where, section, index),
                        f"{section[:-1]} in position {index} is missing a name; add name:",
                    )


def _timeout_warning(parent: _Validator, step: Step) -> None:
    value = step.fields.get("timeout")
    if value and goport.parse_duration(str(value)) is None:
        parent.warning(
            (*step.path, "timeout"),
            f"invalid duration '{value}'; fly accepts it but the step fails when it runs: use a Go duration such "
            f"as 30m or 1h30m",
        )


# --- credential manager configs (atc/creds/*/manager_factory.go, manager.go) ---------------------------------------

_VAULT_KEYS: dict[str, Any] = {
    "url": str, "path_prefix": str, "lookup_templates": list, "shared_path": str, "namespace": str,
    "login_timeout": "duration", "query_timeout": "duration", "enable_kv_mount_cache": bool,
    "disable_srv_lookup": bool, "ca_cert": str, "client_cert": str, "client_key": str, "server_name": str,
    "insecure_skip_verify": bool, "client_token": str, "client_token_path": str, "auth_backend": str,
    "auth_backend_max_ttl": "duration", "auth_retry_max": "duration", "auth_retry_initial": "duration",
    "auth_params": dict,
}  # fmt: skip
_AWS_KEYS: dict[str, Any] = {"access_key": str, "secret_key": str, "session_token": str, "region": str,
             "pipeline_secret_template": str, "team_secret_template": str}  # fmt: skip
_SSM_KEYS = {**_AWS_KEYS, "shared_path": str}
_SECRETSMANAGER_KEYS = {**_AWS_KEYS, "shared_secret_template": str}
_MANAGER_KEYS: dict[str, dict[str, Any]] = {
    "vault": _VAULT_KEYS,
    "ssm": _SSM_KEYS,
    "secretsmanager": _SECRETSMANAGER_KEYS,
}


def _credential_manager_problems(kind: str, config: Any) -> Iterator[str]:
    if kind in ("vault", "ssm", "secretsmanager"):
        allowed = _MANAGER_KEYS[kind]
        if config is None:
            config = {}
        if not isinstance(config, dict):
            yield f"invalid {kind} config format; config must be a mapping"
            return
        unknown = sorted(str(key) for key in config if key not in allowed)
        if unknown:
            yield f"has invalid keys: {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        for key, expected in allowed.items():
            value = config.get(key)
            if value is None:
                continue
            if expected == "duration":
                if not isinstance(value, str) or goport.parse_duration(value) is None:
                    yield f"{key}: invalid duration {value!r}"
            elif not isinstance(value, expected) and not (expected is str and isinstance(value, int | float)):
                yield f"{key}: expected a {expected.__name__}, got {type(value).__name__}"
        if kind == "vault":
            if not any(config.get(key) for key in ("client_token", "client_token_path", "auth_backend")):
                yield "must configure client token or auth backend"
        elif config.get("access_key") or config.get("secret_key") or config.get("session_token"):
            if not config.get("access_key"):
                yield "must provide aws access key id"
            elif not config.get("secret_key"):
                yield "must provide aws secret access key"
    elif kind == "dummy":
        if not isinstance(config, dict):
            yield "failed to create credential manager: invalid dummy credential manager config; give {vars: {...}}"
        elif not isinstance(config.get("vars"), dict):
            yield "invalid vars config; give {vars: {name: value, ...}}"
    elif kind == "idtoken":
        if config is not None and not isinstance(config, dict):
            yield "invalid idtoken provider config; config must be a mapping"
            return
        for key, value in (config or {}).items():
            if key == "audience":
                if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                    yield "invalid idtoken provider config: audience must be a list of strings"
            elif key == "subject_scope":
                if not isinstance(value, str):
                    yield "invalid idtoken provider config: subject_scope must be a string"
                elif value not in ("", "team", "pipeline", "instance", "job"):
                    yield f"invalid subject_scope value: {value}; use team, pipeline, instance or job"
            elif key == "expires_in":
                duration = goport.parse_duration(value) if isinstance(value, str) else None
                if duration is None:
                    yield "invalid idtoken provider config: invalid expires_in value"
                elif duration > 24 * 3600 * 10**9:
                    yield "expires_in must be <= 24h0m0s"
            elif key == "algorithm":
                if value not in ("RS256", "ES256"):
                    yield f"invalid algorithm value: {value}. Only RS256 and ES256 are supported"
            else:
                yield f"invalid idtoken provider config: unknown setting: {key}"

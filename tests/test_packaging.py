"""The distribution lists every package directory, so the wheel (and the resource image) ship all the code."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _declared() -> tuple[list[str], dict[str, str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return config["packages"], config["package-dir"]


def test_every_package_directory_is_declared() -> None:
    packages, package_dir = _declared()
    found = set()
    for name, directory in package_dir.items():
        for init in (ROOT / directory).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / directory)
            found.add(".".join([name, *relative.parts]))
    missing = sorted(found - set(packages))
    assert not missing, f"add {missing} to [tool.setuptools] packages in pyproject.toml"
    assert set(packages) <= found, f"declared packages without a directory: {sorted(set(packages) - found)}"


def test_console_scripts_point_at_real_functions() -> None:
    import importlib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert {"shiplane", "harbor-image-check", "harbor-image-in", "harbor-image-out"} <= set(scripts)
    for target in scripts.values():
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(module), function)), target

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
    def directory(package: str) -> Path:
        root = max((name for name in package_dir if package == name or package.startswith(name + ".")), key=len)
        return ROOT / package_dir[root] / Path(*package[len(root) :].split(".")[1:])

    declared_without_directory = sorted(p for p in packages if not directory(p).is_dir())
    assert not declared_without_directory, f"declared packages without a directory: {declared_without_directory}"
    templates = ROOT / package_dir["shiplane.builtin_templates"]
    for folder in (path for path in templates.iterdir() if path.is_dir() and path.name != "__pycache__"):
        assert f"shiplane.builtin_templates.{folder.name}" in packages, f"declare the template folder {folder.name}"


def test_console_scripts_point_at_real_functions() -> None:
    import importlib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert {"shiplane", "harbor-image-check", "harbor-image-in", "harbor-image-out", "spinnaker-pipeline-check",
            "spinnaker-pipeline-in", "spinnaker-pipeline-out"} <= set(scripts)
    for target in scripts.values():
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(module), function)), target

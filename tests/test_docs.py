"""The docs document what the code does: every fleet config key, the Concourse templates and CLI options."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from shiplane.cli import _parser
from shiplane.config.schema import fleet_schema

ROOT = Path(__file__).resolve().parent.parent


DOCS = {"The fleet config": "fleet-config.md", "Concourse pipelines": "concourse.md"}


def section(title: str) -> str:
    """The whole document (docs/*.md) whose title is ``title``."""
    text = (ROOT / "docs" / DOCS[title]).read_text(encoding="utf-8")
    assert text.startswith(f"# {title}\n")
    return text


def schema_keys(schema: dict[str, Any], prefix: str, defs: dict[str, Any]) -> list[str]:
    if "$ref" in schema:
        return schema_keys(defs[schema["$ref"].split("/")[-1]], prefix, defs)
    keys: list[str] = []
    for name, sub in schema.get("properties", {}).items():
        path = f"{prefix}.{name}" if prefix else name
        target = defs[sub["$ref"].split("/")[-1]] if "$ref" in sub else sub
        images = ("mysql.image", "build.test_image", "smoke_test.image")
        image = path.startswith("concourse.images") or path.endswith(images)
        if "properties" in target and not image:
            keys += schema_keys(target, path, defs)
        elif isinstance(target.get("additionalProperties"), dict) and "properties" not in target and (
            "$ref" in target["additionalProperties"]
        ):
            keys += schema_keys(target["additionalProperties"], f"{path}.<name>", defs)
        else:
            keys.append(path)
    return keys


def test_every_fleet_config_key_is_documented() -> None:
    schema = fleet_schema()
    documented = set(re.findall(r"^\| `([^`]+)` \|", section("The fleet config"), re.MULTILINE))
    keys = schema_keys(schema, "", schema["$defs"])
    keys = [
        key.replace("apps.<name>.overrides.<name>", "apps.<name>.overrides.<environment>").replace(
            "apps.<name>.cluster_overrides.<name>", "apps.<name>.cluster_overrides.<cluster>")
        for key in keys
    ]
    missing = [key for key in keys if key not in documented and not any(d.startswith(key + ".") for d in documented)]
    assert not missing, f"document these keys in docs/fleet-config.md's table: {missing}"
    assert len(keys) > 60


def test_concourse_templates_and_options_are_documented() -> None:
    text = section("Concourse pipelines")
    for template in sorted((ROOT / "templates" / "concourse").glob("*.j2")):
        assert f"`concourse/{template.name}`" in text, template.name
    for option in ("--check", "--only", "--templates", "--no-strict", "lint-pipeline"):
        assert option in text
    assert "fly -t ci set-pipeline -p petclinic -c out/concourse/petclinic.yml" in text
    assert "shiplane render examples/petclinic/shiplane.yaml --out out/" in text
    lint_help = _parser()._subparsers._group_actions[0].choices["lint-pipeline"].format_help()  # type: ignore[union-attr]
    assert "--no-strict" in lint_help

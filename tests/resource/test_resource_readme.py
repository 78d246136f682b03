"""docs/harbor-image.md documents the resource: every source key and param, and a pipeline snippet that decodes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from harbor_image.wire import (
    GET_PARAM_KEYS,
    PUT_PARAM_KEYS,
    SCAN_KEYS,
    SOURCE_KEYS,
    decode_check,
    decode_in,
    decode_out,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "harbor-image.md"


def section() -> str:
    return DOC.read_text()


def table_keys(heading: str) -> set[str]:
    text = section()
    block = text[text.index(heading) :]
    block = block[: block.index("\n\n", block.index("|"))]
    keys: set[str] = set()
    for line in block.splitlines():
        match = re.match(r"\| ((?:`[^`]+`(?:, )?)+) \|", line)
        if match:
            keys.update(re.findall(r"`([^`]+)`", match.group(1)))
    return keys


def test_every_source_key_is_documented() -> None:
    documented = table_keys("## source")
    expected = {k for k in SOURCE_KEYS if k != "scan"} | {f"scan.{k}" for k in SCAN_KEYS}
    assert documented == expected


def test_every_param_is_documented() -> None:
    assert table_keys("## get (`in`)") == set(GET_PARAM_KEYS)
    assert table_keys("## put (`out`)") == set(PUT_PARAM_KEYS)


def resolved(value: Any) -> Any:
    """((vars)) as Concourse would fill them in."""
    if isinstance(value, str):
        if "certificate" in value:
            return "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"
        return re.sub(r"\(\([^)]*\)\)", "1.2.3", value)
    if isinstance(value, list):
        return [resolved(v) for v in value]
    if isinstance(value, dict):
        return {k: resolved(v) for k, v in value.items()}
    return value


def test_the_pipeline_snippet_decodes() -> None:
    snippet = re.search(r"## Pipeline\n\n```yaml\n(.*?)```", section(), re.S)
    assert snippet is not None
    pipeline = yaml.safe_load(snippet.group(1))
    assert [t["name"] for t in pipeline["resource_types"]] == ["harbor-image"]
    resource = next(r for r in pipeline["resources"] if r["type"] == "harbor-image")
    source = resolved(resource["source"])
    request = decode_check(json.dumps({"source": source}))
    assert request.source.selection.mode == "semver"
    steps = [step for job in pipeline["jobs"] for step in job["plan"]]
    put = next(s for s in steps if s.get("put") == resource["name"])
    decode_out(json.dumps({"source": source, "params": resolved(put["params"])}))
    decode_in(
        json.dumps(
            {"source": source, "version": {"tag": "1.2.3", "digest": "sha256:" + "a" * 64}, "params": put["get_params"]}
        )
    )
    get = next(s for s in steps if s.get("get") == resource["name"])
    decode_in(
        json.dumps(
            {"source": source, "version": {"tag": "1.2.3", "digest": "sha256:" + "a" * 64}, "params": get["params"]}
        )
    )


def test_the_documented_robot_permissions_are_the_ones_the_tests_grant() -> None:
    """The minimal list in the docs is exactly what the black-box tests' robot has (and they all pass with it)."""
    from harbor_double import ROBOT_CI_ACCESS

    text = section()
    line = text[text.index("Robot permissions: ") : text.index("Not needed:")]
    documented = {tuple(p.split(":")) for p in re.findall(r"`([a-z-]+:[a-z]+)`", line)}
    assert documented == set(ROBOT_CI_ACCESS)

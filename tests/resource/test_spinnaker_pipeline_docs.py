"""docs/spinnaker-pipeline.md documents the resource: every source key, put param and get file, and its example
pipeline's resource and put step decode."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from spinnaker_pipeline.wire import GET_PARAM_KEYS, PUT_PARAM_KEYS, SOURCE_KEYS, decode_out

DOC = Path(__file__).resolve().parents[2] / "docs" / "spinnaker-pipeline.md"


def table_keys(heading: str) -> set[str]:
    text = DOC.read_text()
    block = text[text.index(heading) :]
    block = block[: block.index("\n\n", block.index("|"))]
    keys: set[str] = set()
    for line in block.splitlines():
        match = re.match(r"\| ((?:`[^`]+`(?:, )?)+) \|", line)
        if match:
            keys.update(re.findall(r"`([^`]+)`", match.group(1)))
    return keys


def test_every_source_key_and_param_is_documented() -> None:
    assert table_keys("## source") == set(SOURCE_KEYS)
    assert table_keys("## put (`out`)") == set(PUT_PARAM_KEYS)
    assert not GET_PARAM_KEYS and "No params." in DOC.read_text()


def test_every_file_get_writes_is_documented(tmp_path: Path) -> None:
    from harbor_image.log import Log
    from spinnaker_pipeline.in_ import write_files

    write_files(str(tmp_path), {"id": "01X", "status": "SUCCEEDED", "trigger": {}, "stages": []}, Log())
    assert table_keys("## get (`in`)") == {path.name for path in tmp_path.iterdir()}


def test_the_example_decodes() -> None:
    text = DOC.read_text()
    example = yaml.safe_load(text[text.index("```yaml") + 7 : text.index("```", text.index("```yaml") + 7)])
    resource = example["resources"][0]
    source = {**resource["source"], "password": "x"}
    step = next(s for s in example["jobs"][0]["plan"] if s.get("put") == resource["name"])
    params = {k: ("abc" if isinstance(v, str) and "((" in v else v) for k, v in step["params"].items()}
    params["parameters"] = {k: "abc" for k in params["parameters"]}
    import json

    request = decode_out(json.dumps({"source": source, "params": params}))
    assert request.params.wait and request.params.timeout == 1200
    assert request.source.application == "petclinic"

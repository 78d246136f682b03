"""Hostile and unlucky configs: single-line values, bounded YAML, merge keys, every problem at once.

Each kind from issue 9 keeps a test here; `benchmarks/generator_faults.py` tries many more cases of each kind and
prints the counts.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from shiplane.cli import main
from shiplane.config import load_text
from shiplane.config.schema import CONTROL, compiled_schema, fleet_schema, original_pattern
from shiplane.config.yamlsource import MAX_VALUES, load_yaml
from shiplane.errors import ShiplaneError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "petclinic" / "shiplane.yaml"


def patterns(schema: Any) -> list[str]:
    """Every regular expression of a JSON Schema: `pattern` values and `patternProperties` keys."""
    found: list[str] = []
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "pattern" and isinstance(value, str):
                found.append(value)
            elif key == "patternProperties" and isinstance(value, dict):
                found.extend(value)
            found.extend(patterns(value))
    elif isinstance(schema, list):
        for item in schema:
            found.extend(patterns(item))
    return found


def problems(text: str) -> list[str]:
    with pytest.raises(ShiplaneError) as caught:
        load_text(text, "fleet.yaml")
    return list(caught.value.problems)


# -- single-line values ------------------------------------------------------------------------------------------


def test_every_schema_pattern_is_compiled_anchored() -> None:
    written, compiled = patterns(fleet_schema()), patterns(compiled_schema())
    assert len(written) == len(compiled) >= 30
    assert [original_pattern(pattern) for pattern in compiled] == written


@pytest.mark.parametrize("pattern", sorted(set(patterns(compiled_schema()))), ids=original_pattern)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much,
                                                                 HealthCheck.too_slow])
@given(data=st.data())
def test_every_schema_pattern_refuses_a_trailing_newline(pattern: str, data: st.DataObject) -> None:
    """For values the schema's own pattern accepts, the compiled one accepts them and refuses them + "\\n"."""
    value = data.draw(st.from_regex(original_pattern(pattern), fullmatch=True))
    assume(not CONTROL.search(value))
    assert re.search(pattern, value)
    for bad in (value + "\n", value + "\r\n", "\n" + value, value + "\x1b[0m"):
        assert not re.search(pattern, bad)


def string_sites(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], bool]]:
    found: list[tuple[tuple[Any, ...], bool]] = []
    if isinstance(value, str):
        found.append((path, False))
    elif isinstance(value, dict):
        for key, item in value.items():
            found.append(((*path, key), True))
            found.extend(string_sites(item, (*path, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(string_sites(item, (*path, index)))
    return found


def with_suffix(data: Any, path: tuple[Any, ...], is_key: bool, suffix: str) -> Any:
    data = yaml.safe_load(yaml.safe_dump(data))
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    if is_key:
        parent[path[-1] + suffix] = parent.pop(path[-1])
    else:
        parent[path[-1]] += suffix
    return data


EXAMPLE_DATA = yaml.safe_load(EXAMPLE.read_text())


@pytest.mark.parametrize(("path", "is_key"), string_sites(EXAMPLE_DATA),
                         ids=lambda p: ".".join(map(str, p)) if isinstance(p, tuple) else str(p))
def test_a_control_character_in_any_field_or_key_is_refused_naming_it(path: tuple[Any, ...], is_key: bool) -> None:
    multiline = not is_key and "env" in path[:-1]  # environment variable values may span lines
    for suffix in ("\x1b[31m",) if multiline else ("\n", "\x1b[31m"):
        found = problems(yaml.safe_dump(with_suffix(EXAMPLE_DATA, path, is_key, suffix), sort_keys=False))
        named = json.dumps(path[-1] + suffix) if is_key else f"{path[-1]}: "
        # An enum value (fail_on: "high\n") is refused as not one of the choices, which names them.
        assert any(("control character" in line or "is not allowed" in line) and named in line
                   for line in found), found


def test_an_environment_value_may_span_lines_but_not_hold_other_control_characters() -> None:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["environments"]["prod"]["env"]["CERT"] = "-----BEGIN-----\n\tabc\n-----END-----\n"
    load_text(yaml.safe_dump(data), "fleet.yaml")
    data["environments"]["prod"]["env"]["CERT"] = "a\x1b[2Jb"
    assert [line.split(": ", 1)[1] for line in problems(yaml.safe_dump(data))] == [
        'environments.prod.env.CERT: contains a control character "\\u001b"; remove it'
    ]


def test_an_environment_named_with_a_newline_cannot_delete_the_users_files(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Before: `dev\\n` passed the name pattern; the manifest line `spinnaker/dev\\n.json` later pruned out/.json."""
    out = tmp_path / "out"
    out.mkdir()
    (out / ".json").write_text("mine\n")
    data = yaml.safe_load(EXAMPLE.read_text())
    data["environments"]["dev\n"] = data["environments"].pop("dev")
    data["clusters"]["dev"]["environment"] = "dev\n"
    config = tmp_path / "fleet.yaml"
    config.write_text(yaml.safe_dump(data))
    assert main(["render", str(config), "--out", str(out)]) == 1
    assert capsys.readouterr().out == ""
    assert sorted(os.listdir(out)) == [".json"]


# -- bounded config ----------------------------------------------------------------------------------------------

ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)
MERGE_BOMB = "a0: &a0 {k0: 1, k1: 1}\n" + "".join(
    f"a{i}: &a{i} {{<<: [*a{i - 1}, *a{i - 1}], m{i}: 1}}\n" for i in range(1, 40)
)


@pytest.mark.parametrize(("text", "message"), [
    (ALIAS_BOMB, f"f.yaml: the anchor &g (line 7) expands to more than {MAX_VALUES:,} values"),
    (MERGE_BOMB, f"f.yaml: the anchor &a17 (line 18) expands to more than {MAX_VALUES:,} values"),
    ("a: &a [1, *a]\n", "f.yaml:1: an alias refers to the mapping or list it is in"),
    ("a: " + "[" * 200 + "]" * 200, "f.yaml:1: nests lists and mappings more than 64 deep"),
    ("a: " + "{a: " * 100 + "1" + "}" * 100, "f.yaml:1: nests lists and mappings more than 64 deep"),
])
def test_expansion_and_nesting_are_bounded(text: str, message: str) -> None:
    started = time.monotonic()
    with pytest.raises(ShiplaneError) as caught:
        load_yaml(text, "f.yaml")
    assert time.monotonic() - started < 5  # generous: the check is linear in the text (~ms)
    assert len(caught.value.problems) == 1 and caught.value.problems[0].startswith(message)


def test_a_fleet_of_anchored_apps_is_not_a_bomb() -> None:
    apps = "".join(f"  app-{i}: {{<<: *app, git: {{uri: 'https://git.example.com/{i}.git'}}}}\n" for i in range(3000))
    value, _, found = load_yaml(f"defaults: &app {{port: 8080, env: {{A: '1', B: '2'}}}}\napps:\n{apps}", "f.yaml")
    assert found == [] and value["apps"]["app-2999"]["env"] == {"A": "1", "B": "2"}


@pytest.mark.parametrize("make", ["fifo", "dev-zero", "directory", "too-large"])
def test_only_regular_files_of_bounded_size_are_read(tmp_path: Path, make: str) -> None:
    path = {"dev-zero": Path("/dev/zero"), "directory": tmp_path}.get(make, tmp_path / "config.yaml")
    if make == "fifo":
        os.mkfifo(path)
    elif make == "too-large":
        with path.open("w") as stream:
            stream.write("pad: '" + "x" * (17 << 20) + "'\n")
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "shiplane", "render", str(path), "--out", str(tmp_path / "o")],
                            capture_output=True, text=True, timeout=60, check=False)
    assert time.monotonic() - started < 30
    assert (result.returncode, result.stdout) == (1, "")
    expected = {"fifo": "is not a regular file", "dev-zero": "is not a regular file", "directory": "is a directory",
                "too-large": "larger than 16 MiB"}[make]
    assert result.stderr.startswith(f"shiplane: {path}: ") and expected in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "o").exists()


# -- merge keys --------------------------------------------------------------------------------------------------


def test_merge_keys_with_overrides_are_accepted_and_the_override_wins() -> None:
    text = EXAMPLE.read_text().replace("  prod:\n    environment: prod", "  prod: &prod\n    environment: prod")
    text = text.replace("\napps:\n", "  prod-2: {<<: *prod, account: k8s-prod-2, wave: 2}\n"
                                      "  prod-3:\n    <<: *prod\n    account: k8s-prod-3\n    wave: 3\n\napps:\n")
    fleet = load_text(text, "fleet.yaml")
    clusters = {cluster.name: cluster for cluster in fleet.clusters}
    assert (clusters["prod-2"].account, clusters["prod-2"].wave, clusters["prod-2"].namespace) == (
        "k8s-prod-2", 2, "petclinic")
    assert (clusters["prod-3"].account, clusters["prod-3"].wave) == ("k8s-prod-3", 3)
    assert dict(clusters["prod-3"].labels) == {"tier": "production"}


def test_merge_sources_in_a_list_earlier_wins_and_keys_are_still_unique() -> None:
    value, source, found = load_yaml("a: &a {p: 1, q: 1}\nb: &b {q: 2, r: 2}\nc: {<<: [*a, *b], r: 3}\n"
                                     "d: {x: 1, x: 2}\n", "f.yaml")
    assert value["c"] == {"p": 1, "q": 1, "r": 3}
    assert found == ["f.yaml:4: d.x: defined twice (first on line 4); remove or rename one"]
    assert source.line(("c", "p")) == 1  # where the merged value was written


# -- messages ----------------------------------------------------------------------------------------------------


def test_a_key_yaml_reads_as_a_boolean_is_named_once_without_follow_on_errors() -> None:
    text = EXAMPLE.read_text()
    line = text[: text.index("\n  petclinic:\n")].count("\n") + 2
    found = problems(text.replace("\n  petclinic:\n", "\n  yes:\n"))
    assert found == [f"fleet.yaml:{line}: apps: the key yes is not a string (YAML reads it as True); quote it: 'yes'"]


def test_schema_and_cross_reference_problems_are_reported_together() -> None:
    text = EXAMPLE.read_text().replace("storage_size: 10Gi", "storage_size: 10G").replace(
        "    environment: prod\n", "    environment: production\n")
    found = problems(text)
    assert any("environments.prod.mysql.storage_size" in line for line in found)
    assert any("clusters.prod.environment: 'production' is not an environment" in line for line in found)


def test_an_app_named_like_the_fleet_pipeline_is_named() -> None:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["apps"]["set-pipelines"] = {"git": {"uri": "https://github.com/example/x.git"}}
    found = problems(yaml.safe_dump(data, sort_keys=False))
    assert len(found) == 1 and "apps.set-pipelines: an app of this name would be written to " in found[0]


def test_out_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert main(["render", str(EXAMPLE), "--out", str(afile)]) == 1
    assert capsys.readouterr().err == (f"shiplane: --out {afile}: is not a directory; give a directory (created if "
                                       f"missing)\n")
    assert afile.read_text() == "x"

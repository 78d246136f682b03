"""Canonical bytes of rendered documents, and the YAML emitter used for Concourse pipelines."""

from __future__ import annotations

import math
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from shiplane.documents import Document, emit_yaml, to_pipeline_yaml

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.sampled_from(["y", "n", "yes", "No", "on", "~", "null", "1e5", "0x1F", "017", "1:20", "2024-01-01", "<<",
                       "=", "- x", "-x", "? x", ": x", "#x", "a #b", "a: b", "---", "...", "'", '"', "|", ">",
                       "a\n", "a\n\n", "\na", " a", "a ", "a\tb\n", "line1\nline2", "x\r\ny", "\u2028", "\x85"])
)
data = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6) | scalars.filter(
        lambda s: isinstance(s, str)), children, max_size=4),
    max_leaves=25,
)


@settings(max_examples=400)
@given(data)
def test_emitted_yaml_reads_back_exactly(value: Any) -> None:
    assert yaml.safe_load(emit_yaml(value)) == value


@given(st.floats())
def test_floats(value: float) -> None:
    back = yaml.safe_load(emit_yaml({"f": value}))["f"]
    assert back == value or (math.isnan(value) and math.isnan(back))


@pytest.mark.parametrize("text", ["y", "Y", "n", "N", "1e5", "1E-3", "infinity", "NaN", "1_000"])
def test_strings_go_yaml_would_misread_are_quoted(text: str) -> None:
    # Concourse parses with Go's yaml.v2: y/n are booleans there and 1e5 a float, although PyYAML reads strings.
    assert emit_yaml({"k": text}) == f"k: '{text}'\n"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"script": "set -e\necho hi\n"}, "script: |\n  set -e\n  echo hi\n"),
        ({"script": "a\nb"}, "script: |-\n  a\n  b\n"),
        ({"args": ["-c", "a\n\nb\n"]}, "args:\n- -c\n- |\n  a\n\n  b\n"),
        ({"x": "trailing \nspace"}, 'x: "trailing \\nspace"\n'),
        ({"x": "a\n\n"}, 'x: "a\\n\\n"\n'),
        ({"empty": {}, "none": [], "null": None}, "empty: {}\nnone: []\n'null': null\n"),
        ({"regex": "^v?[0-9]+\\.[0-9]+$"}, "regex: ^v?[0-9]+\\.[0-9]+$\n"),
        ({"var": "((harbor-password))"}, "var: ((harbor-password))\n"),
        ({"q": "it's"}, "q: it's\n"),
        ({"q": "'quoted'"}, "q: '''quoted'''\n"),
        ({"nested": [[1, 2], {"a": [{"b": 1}]}]}, "nested:\n- - 1\n  - 2\n- a:\n  - b: 1\n"),
    ],
)
def test_emitter_styles(value: Any, expected: str) -> None:
    assert emit_yaml(value) == expected
    assert yaml.safe_load(expected) == value


def test_pipeline_order_and_spacing() -> None:
    pipeline = {
        "jobs": [
            {"plan": [{"trigger": True, "get": "repo"}, {"config": {"run": {"path": "sh"}, "platform": "linux"},
                                                          "task": "t", "privileged": True}],
             "serial": True, "name": "a"},
            {"name": "b", "plan": []},
        ],
        "resources": [{"source": {"uri": "https://x", "branch": "main"}, "type": "git", "name": "repo",
                       "icon": "git"}],
        "resource_types": [{"type": "registry-image", "name": "t", "source": {"tag": "1", "repository": "r"}}],
    }
    assert to_pipeline_yaml(pipeline).decode() == (
        "resource_types:\n"
        "- name: t\n"
        "  type: registry-image\n"
        "  source:\n"
        "    repository: r\n"
        "    tag: '1'\n"
        "\n"
        "resources:\n"
        "- name: repo\n"
        "  type: git\n"
        "  icon: git\n"
        "  source:\n"
        "    uri: https://x\n"
        "    branch: main\n"
        "\n"
        "jobs:\n"
        "- name: a\n"
        "  serial: true\n"
        "  plan:\n"
        "  - get: repo\n"
        "    trigger: true\n"
        "  - task: t\n"
        "    privileged: true\n"
        "    config:\n"
        "      platform: linux\n"
        "      run:\n"
        "        path: sh\n"
        "\n"
        "- name: b\n"
        "  plan: []\n"
    )


def test_canonical_bytes_do_not_depend_on_insertion_order() -> None:
    one = {"jobs": [{"name": "a", "plan": [{"get": "r", "params": {"b": 1, "a": 2}}]}], "resources": []}
    two = {"resources": [], "jobs": [{"plan": [{"params": {"a": 2, "b": 1}, "get": "r"}], "name": "a"}]}
    first = Document("concourse/a.yml", "concourse-pipeline", one, "test")
    second = Document("concourse/a.yml", "concourse-pipeline", two, "test")
    assert first.to_bytes() == second.to_bytes()


@settings(max_examples=200)
@given(data)
def test_pipeline_bytes_read_back_exactly(value: Any) -> None:
    content = {"jobs": [{"name": "j", "plan": [{"task": "t", "params": {"v": value}}]}], "user_data": value}
    assert yaml.safe_load(to_pipeline_yaml(content)) == content


def test_json_documents_stay_sorted_json() -> None:
    document = Document("spinnaker/a/app.json", "spinnaker-application", {"b": 1, "a": [2, 1]}, "test")
    assert document.to_bytes() == b'{\n  "a": [\n    2,\n    1\n  ],\n  "b": 1\n}\n'

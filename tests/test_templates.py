"""The template machinery: escaping, strictness, error messages naming the template, user overrides, parsing."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from shiplane import concourse
from shiplane.config import load
from shiplane.errors import ShiplaneError
from shiplane.templates import TemplateSet, json_literal, load_yaml_data

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "petclinic" / "shiplane.yaml"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_json_filter_output_reads_back_as_the_same_value(value: Any) -> None:
    assert yaml.safe_load(json_literal(value)) == value
    assert yaml.safe_load(f"key: {json_literal(value)}\nnext: 1\n") == {"key": value, "next": 1}


@pytest.mark.parametrize("value", ["\x7f", "a\x85b", "\u2028", "\ufeff", "\ud800", "\U0001f680", "((var))", "#"])
def test_json_filter_escapes_what_yaml_cannot_hold(value: str) -> None:
    assert yaml.safe_load(f"- {json_literal(value)}\n") == [value]


def user_templates(tmp_path: Path, files: dict[str, str]) -> TemplateSet:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return TemplateSet(str(tmp_path))


def error_of(templates: TemplateSet, name: str, context: dict[str, Any] | None = None) -> str:
    with pytest.raises(ShiplaneError) as caught:
        templates.render_data(name, context or {"x": "value"}, "app web")
    return str(caught.value)


def test_a_bare_value_is_refused_naming_template_and_line(tmp_path: Path) -> None:
    templates = user_templates(tmp_path, {"t.yml.j2": "a: 1\nb: {{ x }}\n"})
    assert error_of(templates, "t.yml.j2") == (
        "template t.yml.j2:2 (app web): outputs 'value' without the json filter; write {{ … | json }} so that the "
        "value is escaped"
    )


def test_a_literal_is_refused_too(tmp_path: Path) -> None:
    templates = user_templates(tmp_path, {"t.yml.j2": "a: {{ 'literal' }}\n"})
    assert "outputs 'literal' without the json filter" in error_of(templates, "t.yml.j2")


def test_filtered_output_is_accepted(tmp_path: Path) -> None:
    templates = user_templates(tmp_path, {"t.yml.j2": "a: {{ x | json }}\n{% if x %}b: [1]\n{% endif %}"})
    assert templates.render_data("t.yml.j2", {"x": 'it\'s: "#"'}, "app web") == {"a": 'it\'s: "#"', "b": [1]}


def test_undefined_variable_names_template_line_and_variable(tmp_path: Path) -> None:
    templates = user_templates(tmp_path, {"t.yml.j2": "a: 1\n\nb: {{ typo | json }}\n"})
    assert error_of(templates, "t.yml.j2") == "template t.yml.j2:3 (app web): 'typo' is undefined; fix the template"


def test_undefined_attribute_inside_a_structure(tmp_path: Path) -> None:
    templates = user_templates(tmp_path, {"t.yml.j2": "a: {{ [x, app.nme] | json }}\n"})
    message = error_of(templates, "t.yml.j2", {"x": 1, "app": {"name": "web"}})
    assert message.startswith("template t.yml.j2:1 (app web): ") and "nme" in message


def test_invalid_yaml_output_names_template_and_line(tmp_path: Path) -> None:
    templates = user_templates(tmp_path, {"t.yml.j2": "a: 1\nb: [{{ x | json }}\nc: 2\n"})
    message = error_of(templates, "t.yml.j2")
    assert message.startswith("template t.yml.j2 (app web): rendered output:")
    assert "is not valid YAML" in message and message.endswith("; fix the template")


def test_syntax_error_names_the_included_template(tmp_path: Path) -> None:
    templates = user_templates(tmp_path, {"t.yml.j2": "a: 1\n{% include 'inc.j2' %}", "inc.j2": "b: {{ x | json }\n"})
    assert error_of(templates, "t.yml.j2").startswith("template inc.j2:1: syntax error:")


def test_missing_include(tmp_path: Path) -> None:
    templates = user_templates(tmp_path, {"t.yml.j2": "{% include 'nope.j2' %}"})
    assert "includes nope.j2, which is not found" in error_of(templates, "t.yml.j2")


def test_missing_template_and_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ShiplaneError, match=r"template nope\.j2: not found in the built-in templates"):
        TemplateSet().render_data("nope.j2", {}, "x")
    with pytest.raises(ShiplaneError, match=r"--templates .*/missing: no such directory"):
        TemplateSet(str(tmp_path / "missing"))


def test_user_directory_shadows_one_built_in_template(tmp_path: Path) -> None:
    # Override only the build steps: the pipeline keeps the built-in layout and uses the team's steps.
    steps = (
        "  - task: gradle\n"
        "    file: source/ci/gradle.yml\n"
        "  - task: build-image\n"
        "    file: source/ci/kaniko.yml\n"
    )
    templates = user_templates(tmp_path, {"concourse/build-steps.yml.j2": steps})
    fleet = load(str(EXAMPLE))
    (document,) = concourse.render_app(fleet, fleet.apps[0], templates)
    build = next(job for job in document.content["jobs"] if job["name"] == "build")
    assert [s.get("task") for s in build["plan"]] == [None, None, "gradle", "build-image", None]
    assert document.origin == "template concourse/pipeline.yml.j2 (app petclinic)"
    assert concourse.validate_document(document, fleet) == []
    assert templates.describe("concourse/build-steps.yml.j2") == (
        f"template concourse/build-steps.yml.j2 (from --templates {tmp_path})"
    )


def test_user_override_of_the_main_template_is_named_in_errors(tmp_path: Path) -> None:
    templates = user_templates(tmp_path, {"concourse/pipeline.yml.j2": "jobs: []\n"})
    fleet = load(str(EXAMPLE))
    (document,) = concourse.render_app(fleet, fleet.apps[0], templates)
    assert document.origin == f"template concourse/pipeline.yml.j2 (from --templates {tmp_path}) (app petclinic)"
    assert concourse.validate_document(document, fleet) == ["jobs: pipeline must contain at least one job"]


def test_a_template_rendering_a_list_is_refused(tmp_path: Path) -> None:
    templates = user_templates(tmp_path, {"concourse/pipeline.yml.j2": "- a\n"})
    fleet = load(str(EXAMPLE))
    with pytest.raises(ShiplaneError, match="renders list, not a pipeline mapping"):
        concourse.render_app(fleet, fleet.apps[0], templates)


# --- the fast YAML loader is yaml.safe_load ------------------------------------------------------------------------

yaml_documents = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text() | st.dates(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200)
@given(yaml_documents, st.booleans())
def test_fast_loader_equals_safe_load(value: Any, flow: bool) -> None:
    text = yaml.safe_dump(value, default_flow_style=flow, allow_unicode=True)
    assert load_yaml_data(text) == yaml.safe_load(text)


@pytest.mark.parametrize(
    "text",
    [
        "base: &b {x: 1}\nuse: {<<: *b, y: 2}\n",  # merge keys: falls back to PyYAML
        "a: &a [1, 2]\nb: *a\n",
        "? [1, 2]\n: x\n",  # unhashable key: PyYAML's own error
        "n: 017\nh: 0x1F\nf: 1.5e3\ns: 1:20\nt: 2024-01-01\nb: [yes, No, on, OFF, ~, null]\n",
        "",
    ],
)
def test_fast_loader_special_cases(text: str) -> None:
    try:
        expected = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        with pytest.raises(type(exc)):
            load_yaml_data(text)
        return
    result = load_yaml_data(text)
    assert result == expected or (isinstance(result, float) and math.isnan(result))


@pytest.mark.parametrize(("value", "text"), [(1e-05, "1.0e-05"), (1e16, "1.0e+16"), (float("inf"), ".inf"),
                                             (float("-inf"), "-.inf"), (2.5, "2.5"), (3.0, "3.0")])
def test_json_filter_writes_floats_yaml_reads_as_floats(value: float, text: str) -> None:
    # JSON's 1e-05 and Infinity are strings for YAML 1.1 (PyYAML, and Go's yaml.v2 that Concourse uses).
    assert json_literal(value) == text
    assert yaml.safe_load(json_literal(value)) == value
    assert math.isnan(yaml.safe_load(json_literal(float("nan"))))


def test_json_filter_refuses_what_is_not_plain_data() -> None:
    with pytest.raises(ShiplaneError, match="a object cannot be written as JSON"):
        json_literal(object())

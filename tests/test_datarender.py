"""The skeleton cache of template rendering gives exactly what render_data_exact gives, or takes its path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shiplane.datarender import DataRenderer
from shiplane.documents import to_json
from shiplane.errors import ShiplaneError
from shiplane.templates import TemplateSet

TEMPLATE = """\
- name: {{ name | json }}
  labels: {{ labels | json }}
  port: {{ port | json }}
  flag: {{ flag | json }}
{%- if extra %}
  extra: {{ extra | json }}
{%- endif %}
  items:
{%- for item in items %}
    - {{ item | json }}
{%- endfor %}
  static: [1, "two", yes, null, 3.5]
"""


def renderer(tmp_path: Path, text: str = TEMPLATE) -> tuple[TemplateSet, DataRenderer]:
    (tmp_path / "t.yml.j2").write_text(text, encoding="utf-8")
    templates = TemplateSet(str(tmp_path))
    return templates, DataRenderer(templates.env, templates.render_data_exact)


STRINGS = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
PLAIN = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), STRINGS),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(STRINGS, inner, max_size=3)),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(name=STRINGS, labels=st.dictionaries(STRINGS, STRINGS, max_size=3), port=st.integers(0, 70000),
       flag=st.one_of(st.booleans(), st.none(), st.floats(allow_nan=False)), extra=PLAIN,
       items=st.lists(PLAIN, max_size=3))
def test_same_data_as_render_data(tmp_path_factory: pytest.TempPathFactory, name: str, labels: dict[str, str],
                                  port: int, flag: Any, extra: Any, items: list[Any]) -> None:
    templates, fast = _SHARED
    context = {"name": name, "labels": labels, "port": port, "flag": flag, "extra": extra, "items": items}
    expected = templates.render_data_exact("t.yml.j2", context, "test")
    assert fast.render_data("t.yml.j2", context, "test") == expected
    assert to_json(fast.render_data("t.yml.j2", context, "test")) == to_json(expected)


def _shared() -> tuple[TemplateSet, DataRenderer]:
    import tempfile

    return renderer(Path(tempfile.mkdtemp(prefix="shiplane-datarender-")))


_SHARED = _shared()


def test_repeated_skeletons_are_parsed_once(tmp_path: Path) -> None:
    _, fast = renderer(tmp_path)
    for index in range(20):
        fast.render_data("t.yml.j2", {"name": f"app-{index}", "labels": {"a": str(index)}, "port": index,
                                      "flag": True, "extra": None, "items": [1, 2]}, "test")
    assert len(fast.plans) == 1
    fast.render_data("t.yml.j2", {"name": "x", "labels": {}, "port": 1, "flag": True, "extra": None,
                                  "items": [1, 2, 3]}, "test")
    assert len(fast.plans) == 2  # another loop count is another skeleton


@pytest.mark.parametrize(
    "text",
    [
        "name: {{ name | json }}-suffix\n",  # not a whole node
        "{{ name | json }}: 1\n",  # a key
        "text: |\n  {{ name | json }}\n",  # inside a block scalar
        "date: 2024-01-01\nname: {{ name | json }}\n",  # YAML types JSON does not have
    ],
)
def test_what_the_fast_path_cannot_do_exactly_goes_the_ordinary_way(tmp_path: Path, text: str) -> None:
    templates, fast = renderer(tmp_path, text)
    context = {"name": "web"}
    try:
        expected = templates.render_data_exact("t.yml.j2", context, "test")
    except ShiplaneError as exc:
        with pytest.raises(ShiplaneError) as caught:
            fast.render_data("t.yml.j2", context, "test")
        assert caught.value.problems == exc.problems
        return
    assert fast.render_data("t.yml.j2", context, "test") == expected
    assert list(fast.plans.values()) == [None]


def test_floats_and_odd_values_go_the_ordinary_way(tmp_path: Path) -> None:
    templates, fast = renderer(tmp_path, "value: {{ value | json }}\n")
    for value in (1e16, 0.5, float("inf"), (1, 2), "\ue0001"):
        expected = templates.render_data_exact("t.yml.j2", {"value": value}, "test")
        assert fast.render_data("t.yml.j2", {"value": value}, "test") == expected


def test_template_errors_are_the_ordinary_errors(tmp_path: Path) -> None:
    _, fast = renderer(tmp_path, "name: {{ nmae | json }}\nbare: {{ name }}\n")
    with pytest.raises(ShiplaneError) as caught:
        fast.render_data("t.yml.j2", {"name": "web"}, "app web")
    message = str(caught.value)
    assert message.startswith("template t.yml.j2") and "(app web)" in message and "nmae" in message


def test_a_constant_filtered_value_is_not_baked_into_the_template(tmp_path: Path) -> None:
    # Jinja folds filters on constants at compile time; the recording filter must never be folded.
    templates, fast = renderer(tmp_path, 'fixed: {{ "x" | json }}\nname: {{ name | json }}\n')
    assert fast.render_data("t.yml.j2", {"name": "a"}, "test") == {"fixed": "x", "name": "a"}
    assert fast.render_data("t.yml.j2", {"name": "b"}, "test") == {"fixed": "x", "name": "b"}
    assert templates.render_data_exact("t.yml.j2", {"name": "c"}, "test") == {"fixed": "x", "name": "c"}


def test_results_are_independent_objects(tmp_path: Path) -> None:
    _, fast = renderer(tmp_path)
    context = {"name": "a", "labels": {"k": "v"}, "port": 1, "flag": False, "extra": {"x": [1]}, "items": []}
    first = fast.render_data("t.yml.j2", context, "test")
    first[0]["labels"]["k"] = "changed"
    second = fast.render_data("t.yml.j2", context, "test")
    assert second[0]["labels"] == {"k": "v"} and context["labels"] == {"k": "v"}
    assert json.dumps(second[0]["static"]) == '[1, "two", true, null, 3.5]'

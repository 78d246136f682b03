"""Canonical JSON: orjson writes exactly the bytes of the standard library's sorted, indented encoder."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from shiplane.documents import Document, to_json
from spinnaker_support import documents, example


def reference(content: Any) -> bytes:
    return (json.dumps(content, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


KEYS = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=6)
VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), KEYS,
              st.sampled_from(["\u2028", "\x7f", "\x00", "é😀", '"\\/', "\t\n\r\b\f"])),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=25,
)


@settings(max_examples=300)
@given(content=VALUES)
def test_identical_to_the_standard_library(content: Any) -> None:
    assert to_json(content) == reference(content)


def test_identical_for_every_rendered_document() -> None:
    for document in documents(example()).values():
        if document.format == "json":
            assert document.to_bytes() == reference(document.content), document.path


def test_what_orjson_refuses_goes_through_the_standard_library() -> None:
    assert to_json({1: "int key"}) == reference({1: "int key"})
    assert to_json({"big": 2**80}) == reference({"big": 2**80})


def test_floats_are_written_deterministically() -> None:
    assert to_json({"x": 0.5}) == reference({"x": 0.5})
    # Exponent notation is orjson's (its releases differ: 1e16 or 1e+16); the number is always the same one, and
    # the same orjson always writes the same bytes. shiplane's own documents hold no floats.
    for number in (1e16, 1e-5, 12345.678):
        assert json.loads(to_json({"x": number})) == {"x": number}
        assert to_json({"x": number}) == to_json({"x": number})


def test_documents_pick_json_by_extension() -> None:
    document = Document(path="spinnaker/a/deploy-dev.json", kind="spinnaker-pipeline", content={"b": 1, "a": [2]},
                        origin="test")
    assert document.to_bytes() == b'{\n  "a": [\n    2\n  ],\n  "b": 1\n}\n'

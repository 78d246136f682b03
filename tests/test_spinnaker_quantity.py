"""Kubernetes quantities as apimachinery's ParseQuantity reads them (pkg/api/resource/quantity.go, suffix.go)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shiplane.spinnaker.quantity import quantity_problem

# Accepted by ParseQuantity (quantity_test.go's table and the grammar in the package comment).
VALID = ["0", "1", "500m", "0.5", ".5", "5.", "1.G", "+1", "-1", "1Ki", "1Mi", "768Mi", "2Gi", "1Ti", "1Pi", "1Ei",
         "1n", "1u", "1k", "1M", "1G", "1T", "1P", "1E", "1e3", "1E3", "1e-3", "1e+3", "1.5Gi", "0000", "+", "100",
         "Gi"]  # no digits at all: parseQuantityString reads the number as 0
# Refused: ErrFormatWrong (a character after the suffix) or ErrSuffix (an unknown suffix).
INVALID = ["1GB", "1Gb", "1K", "1KB", "1kb", "1gi", "1 Gi", "1i", ".5i", "0.1mi", "aoeu", "-3.01e-", "1e", "1E+",
           "1Gi1", "1.2.3", "1m0", "ten", "1mi", "1.5 G", "--1", "1e3.5", "1Mi ", " 1Mi"]


@pytest.mark.parametrize("value", VALID)
def test_kubernetes_quantities_pass(value: str) -> None:
    assert quantity_problem(value) is None


@pytest.mark.parametrize("value", INVALID)
def test_non_quantities_are_named_with_the_fix(value: str) -> None:
    problem = quantity_problem(value)
    assert problem is not None and repr(value) in problem


def test_1gb_is_refused_with_the_fix() -> None:
    problem = quantity_problem("1GB")
    assert problem is not None and "1G or 1Gi (not 1GB)" in problem


def test_numbers_are_quantities_and_other_types_are_not() -> None:
    assert quantity_problem(2) is None and quantity_problem(0.5) is None
    assert quantity_problem(True) is not None and quantity_problem(None) is not None
    assert quantity_problem([]) is not None and quantity_problem("") is not None


@given(st.integers(min_value=0, max_value=10**9), st.sampled_from(["", "m", "k", "M", "G", "Ki", "Mi", "Gi", "Ti"]))
def test_every_number_with_a_known_suffix_is_a_quantity(number: int, suffix: str) -> None:
    assert quantity_problem(f"{number}{suffix}") is None


@given(st.text(alphabet="0123456789.eEinumkKMGTPB+- ", max_size=8))
def test_the_scanner_never_crashes(text: str) -> None:
    result = quantity_problem(text)
    assert result is None or isinstance(result, str)

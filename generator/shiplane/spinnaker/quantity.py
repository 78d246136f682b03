"""Kubernetes resource quantities (`500m`, `1Gi`, `1G`, `1e3`), parsed as the API server parses them.

Kubernetes' OpenAPI schemas type a quantity as "string or number" only, so a schema check passes `1GB`, which the
API server then refuses ("quantities must match the regular expression …"): clouddriver's deploy fails at run time.
This module mirrors k8s.io/apimachinery pkg/api/resource/quantity.go (`ParseQuantity` and its scanner
`parseQuantityString`) and suffix.go (`suffixHandler.interpret`):

    <quantity>        ::= <signedNumber><suffix>
    <signedNumber>    ::= <number> | <sign><number>
    <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
    <sign>            ::= "+" | "-"
    <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
    <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
    <decimalSI>       ::= n | u | m | "" | k | M | G | T | P | E
    <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>   (the exponent is an integer: strconv.ParseInt)
"""

from __future__ import annotations

_BINARY_SI = frozenset({"Ki", "Mi", "Gi", "Ti", "Pi", "Ei"})
_DECIMAL_SI = frozenset({"n", "u", "m", "", "k", "M", "G", "T", "P", "E"})
_SUFFIX_LETTERS = frozenset("eEinumkKMGTP")
_DIGITS = frozenset("0123456789")


def _scan(text: str) -> str | None:
    """parseQuantityString: the suffix, or None for ErrFormatWrong."""
    pos, end = 0, len(text)
    if pos < end and text[0] in "+-":
        pos += 1
    while pos < end and text[pos] == "0":  # leading zeros
        pos += 1
    if pos >= end:
        return ""  # only a sign and zeros: the value 0
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    if pos < end and text[pos] == ".":
        pos += 1
        while pos < end and text[pos] in _DIGITS:
            pos += 1
    suffix_start = pos
    while pos < end and text[pos] in _SUFFIX_LETTERS:
        pos += 1
    if pos < end and text[pos] in "+-":
        pos += 1
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    if pos < end:
        return None  # a character after the suffix that is not a digit of an exponent
    return text[suffix_start:]


def _exponent(text: str) -> bool:
    """strconv.ParseInt(text, 10, 64) succeeds."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    return bool(digits) and all(c in _DIGITS for c in digits) and -(2**63) <= int(text) < 2**63


def quantity_problem(value: object) -> str | None:
    """Why `value` is not a Kubernetes quantity (None when it is). Numbers are quantities (the OpenAPI v3 type is
    "string or number"); booleans and other types are not."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return f"{value!r} is not a quantity (a string such as 500m, 1Gi or 1G, or a number)"
    if not isinstance(value, str):
        return None
    if value == "":
        return "is empty; give a quantity such as 500m, 1Gi or 1G"
    if value == "0":
        return None
    suffix = _scan(value)
    if suffix is None:
        return (f"{value!r} is not a Kubernetes quantity (the API server refuses it: 'quantities must match the "
                f"regular expression'); write a number with one suffix, such as 1G or 1Gi (not 1GB), 500m, 2")
    if suffix in _DECIMAL_SI or suffix in _BINARY_SI:
        return None
    if len(suffix) > 1 and suffix[0] in "eE" and _exponent(suffix[1:]):
        return None
    return (f"{value!r} has the suffix {suffix!r}, which is not a Kubernetes quantity suffix (the API server refuses "
            f"it: 'unable to parse quantity's suffix'); use one of Ki Mi Gi Ti Pi Ei, n u m k M G T P E, or e<n>")

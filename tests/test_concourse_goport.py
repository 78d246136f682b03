"""The Go functions the linter reproduces: durations, path.Match, gobwas/glob, identifiers, URL schemes.

Expected values are Go's behaviour (time.ParseDuration, path.Match, github.com/gobwas/glob, atc.ValidateIdentifier,
net/url.Parse), so that the linter accepts and rejects exactly what fly does.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shiplane.concourse.goport import (
    GlobError,
    compile_group_glob,
    identifier_problem,
    parse_duration,
    path_match,
    url_scheme,
)

S = 1_000_000_000


@pytest.mark.parametrize(
    ("text", "nanoseconds"),
    [
        ("0", 0),
        ("5s", 5 * S),
        ("30m", 1800 * S),
        ("1h30m", 5400 * S),
        ("1.5h", 5400 * S),
        ("-1.5h", -5400 * S),
        ("+10s", 10 * S),
        ("1h0m0s", 3600 * S),
        ("100ms", S // 10),
        ("1us", 1000),
        ("1\u00b5s", 1000),  # micro sign
        ("1\u03bcs", 1000),  # Greek mu
        ("3ns", 3),
        (".5s", S // 2),
        ("1.s", S),
        ("2h45m30.5s", (2 * 3600 + 45 * 60 + 30) * S + S // 2),
        ("9223372036854775807ns", 9223372036854775807),
        ("-9223372036854775808ns", -9223372036854775808),
    ],
)
def test_durations_go_accepts(text: str, nanoseconds: int) -> None:
    assert parse_duration(text) == nanoseconds


@pytest.mark.parametrize(
    "text",
    ["", "1", "10", "-", "+", ".", ".s", "s", "1d", "1 h", " 1h", "1h ", "1e3s", "1hh", "1.2.3s", "0x10s",
     "9223372036854775808ns", "2562048h", "1,5s", "one hour"],
)
def test_durations_go_rejects(text: str) -> None:
    assert parse_duration(text) is None


@pytest.mark.parametrize(
    ("pattern", "name", "matched"),
    [
        ("unit", "unit", True),
        ("unit", "units", False),
        ("un*", "unit", True),
        ("*", "", True),
        ("*", "a/b", False),  # * never crosses '/'
        ("a*/b", "abc/b", True),
        ("?nit", "unit", True),
        ("?", "/", False),
        ("[a-c]at", "bat", True),
        ("[^a-c]at", "rat", True),
        ("[^a-c]at", "bat", False),
        ("[^a]", "/", True),  # classes may match '/'
        ("\\*", "*", True),
        ("\\*", "x", False),
        ("[", "[", False),  # malformed: Concourse ignores the error, so nothing matches
        ("[]a]", "]", False),
        ("[a-]", "a", False),
        ("x\\", "x", False),
        ("deploy-{a,b}", "deploy-a", False),  # no braces in path.Match
    ],
)
def test_path_match(pattern: str, name: str, matched: bool) -> None:
    assert path_match(pattern, name) is matched


@pytest.mark.parametrize(
    ("pattern", "name", "matched"),
    [
        ("*", "anything/at/all", True),  # no separators: * crosses '/'
        ("**", "x", True),
        ("build-*", "build-linux", True),
        ("build-?", "build-1", True),
        ("{unit,ship}", "ship", True),
        ("{unit,ship}", "deploy", False),
        ("{unit,{a,b}c}", "bc", True),
        ("{a,b", "b", True),  # gobwas accepts an unclosed brace
        ("[a-c]x", "bx", True),
        ("[!a-c]x", "bx", False),
        ("[!a]", "b", True),
        ("[abc]", "c", True),
        ("a\\*", "a*", True),
        ("a\\*", "ab", False),
        ("a}b,c", "a}b,c", True),  # braces and commas are text outside terms
        ("job]", "job]", True),
    ],
)
def test_group_globs(pattern: str, name: str, matched: bool) -> None:
    assert compile_group_glob(pattern)(name) is matched


@pytest.mark.parametrize(
    ("pattern", "error"),
    [
        ("[", "unexpected end of input"),
        ("[a-", "unexpected end of input"),
        ("[]", "could not parse range"),
        ("[!]", "could not parse range"),
        ("[z-a]", "hi character 'a' should be greater than lo 'z'"),
        ("[a-bc]", "expected close range character"),
    ],
)
def test_group_glob_errors(pattern: str, error: str) -> None:
    with pytest.raises(GlobError, match=error.replace("[", r"\[")):
        compile_group_glob(pattern)


@pytest.mark.parametrize(
    ("identifier", "problem"),
    [
        ("something", None),
        ("ひらがな", None),
        ("some_thing", None),
        ("1something", None),
        ("1_min", None),
        ("a.b-c_d", None),
        ("-something", "must start with a lowercase letter or a number"),
        (".something", "must start with a lowercase letter or a number"),
        ("Something", "must start with a lowercase letter or a number"),
        ("some thing", "illegal character ' '"),
        ("someThing", "illegal character 'T'"),
        ("a/b", "illegal character '/'"),
        ("123", "cannot be just numbers"),
        ("\u0663", "must start with a lowercase letter or a number"),  # Arabic-Indic digit: not Go's \d
        ("((.:name))", "must start with a lowercase letter or a number"),
    ],
)
def test_identifiers(identifier: str, problem: str | None) -> None:
    assert identifier_problem(identifier) == problem


@pytest.mark.parametrize(
    ("url", "scheme", "error"),
    [
        ("https://example.com/bg.png", "https", None),
        ("HTTP://example.com/bg.png", "http", None),
        ("/public/images/bg.png", "", None),
        ("bg.png", "", None),
        ("1http://x", "", None),  # not a scheme: starts with a digit
        ("ftp://example.com/bg.png", "ftp", None),
        ("://example.com", None, "missing protocol scheme"),
        ("https://exa\nmple.com", None, "net/url: invalid control character in URL"),
    ],
)
def test_url_scheme(url: str, scheme: str | None, error: str | None) -> None:
    assert url_scheme(url) == (scheme, error)


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(["ns", "us", "ms", "s", "m", "h"]))
def test_every_whole_duration_parses(value: int, unit: str) -> None:
    factor = {"ns": 1, "us": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}[unit]
    assert parse_duration(f"{value}{unit}") == value * factor


@given(st.text(alphabet="ab*?", max_size=6), st.text(alphabet="ab/", max_size=6))
def test_path_match_agrees_with_fnmatch_for_simple_patterns(pattern: str, name: str) -> None:
    # Without classes or escapes, path.Match is fnmatch restricted to one path segment per '*' and '?'.
    import re

    regex = "".join("[^/]*" if ch == "*" else "[^/]" if ch == "?" else re.escape(ch) for ch in pattern)
    assert path_match(pattern, name) is (re.fullmatch(regex, name) is not None)

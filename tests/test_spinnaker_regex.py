"""Java regular expressions as Echo and Orca evaluate them, and the docker trigger tag patterns built from them."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shiplane.spinnaker.javaregex import JavaRegexError, compile_java, echo_tag_matches, java_matches
from shiplane.spinnaker.tags import TagPolicy, check_tag_pattern

TAGS = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)  # the docker tag grammar


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        ("latest", "latest", True),
        ("latest", "latest1", False),  # String.matches: the whole string
        ("latest", "xlatest", False),
        (r"\d+\.\d+\.\d+", "1.2.3", True),
        (r"\d+", "١٢٣", False),  # Java's \d is ASCII; Python's would match Arabic-Indic digits
        (r"\w+", "héllo", False),
        (r"[a-z&&[^aeiou]]+", "xyz", True),  # intersection
        (r"[a-z&&[^aeiou]]+", "xaz", False),
        (r"[a-c[x-z]]+", "axz", True),  # union by nesting
        (r"[a-c[x-z]]+", "d", False),
        (r"(?i)LATEST", "latest", True),
        (r"(?<v>\d)\k<v>", "11", True),  # Java named group and back reference
        (r"(?<v>\d)\k<v>", "12", False),
        (r"\Qa.b\E", "a.b", True),
        (r"\Qa.b\E", "axb", False),
        (r"\p{Alpha}+\p{Digit}", "abc1", True),
        (r"\P{Digit}+", "abc", True),
        (r"[^a-z]+", "123", True),
        (r"[^a-z]+", "1a", False),
        (r"v?[0-9]+", "v12", True),
        (r"a{2,3}", "aaa", True),
        (r"a{2,3}", "aaaa", False),
        (r"a++b", "aab", True),  # possessive quantifier
        (r"(?>a|ab)c", "abc", False),  # atomic group
        (r"\x41\u0042\0103", "ABC", True),
        (r"\e\cA", "\x1b\x01", True),
        (r"\h", " ", True),
        (r".", "\n", False),
        (r"[\d-z]+", "1-z", True),
        (r"\Z", "", True),
    ],
)
def test_java_semantics(pattern: str, text: str, matches: bool) -> None:
    assert java_matches(pattern, text) is matches


@pytest.mark.parametrize(
    ("pattern", "fragment"),
    [
        ("(?P<v>x)", "Unknown inline modifier '(?P'"),  # Python's named groups are a Java syntax error
        ("(?#comment)x", "Unknown inline modifier '(?#'"),
        ("{latest}", "Illegal repetition"),  # a literal in Python, an error in Java
        ("latest{", "Illegal repetition"),
        ("x{,3}", "Illegal repetition"),
        ("x{3,2}", "Illegal repetition range"),
        ("*x", "Dangling meta character '*'"),
        ("(x", "Unclosed group"),
        ("x)", "Unmatched closing ')'"),
        ("[x", "Unclosed character class"),
        ("[z-a]", "Illegal character range"),
        (r"\y", "Illegal/unsupported escape sequence"),
        ("x\\", "pattern ends with"),
        (r"\G", "cannot be checked by shiplane"),
        (r"\p{InGreek}", "cannot be checked by shiplane"),
        ("a(?i)b", "flags in the middle of a pattern"),
        ("[]a]", "escape it as \\]"),
        (r"(?<1x>a)", "named group names are letters and digits"),
    ],
)
def test_invalid_or_unverifiable_patterns_are_reported(pattern: str, fragment: str) -> None:
    with pytest.raises(JavaRegexError) as caught:
        compile_java(pattern)
    assert fragment in str(caught.value)


@given(tag=TAGS)
def test_simple_patterns_agree_with_python_on_ascii_tags(tag: str) -> None:
    # For patterns without Java/Python differences the translation changes nothing.
    for pattern in (r"[0-9]+\.[0-9]+\.[0-9]+", "latest", r"v?[0-9]+(\.[0-9]+)*", r"[a-z]+-[0-9]{1,3}"):
        assert java_matches(pattern, tag) is (re.fullmatch(pattern, tag) is not None)


def test_echo_trims_the_pattern_and_a_blank_one_fires_for_everything_but_latest() -> None:
    assert echo_tag_matches("  latest  ", "latest")
    assert echo_tag_matches("", "1.2.3") and echo_tag_matches(None, "main")
    assert not echo_tag_matches("", "latest") and not echo_tag_matches("   ", "latest")
    assert not echo_tag_matches("(?P<x>.*)", "latest")  # Echo swallows PatternSyntaxException: never fires


LATEST = TagPolicy("latest")
RELEASES = TagPolicy("semver")


@pytest.mark.parametrize(
    ("policy", "fires", "never"),
    [
        (LATEST, ["git-0123456789abcdef0123456789abcdef01234567"],
         ["latest", "1.2.3", "v1.2.3", "Latest", "latest-1", "main", "1.2.3-rc.1", "git-0123456",
          "git-0123456789ABCDEF0123456789ABCDEF01234567"]),
        (RELEASES, ["0.0.0", "1.2.3", "10.20.30", "2024.10.1"],
         ["latest", "1.2.3-rc.1", "v1.2.3", "1.2", "1.2.3.4", "01.2.3", "1.2.3-", "release-1.2.3", "1.2.3_rc1"]),
        (TagPolicy("semver", allow_v_prefix=True), ["1.2.3", "v1.2.3"], ["V1.2.3", "vv1.2.3", "v1.2.3-rc.1"]),
        (TagPolicy("semver", pre_releases=True), ["1.2.3", "1.2.3-rc.1", "1.0.0-alpha.beta", "1.0.0-0.3.7"],
         ["1.2.3-01", "1.2.3-rc..1", "v1.2.3", "latest"]),
        (TagPolicy("semver", allow_v_prefix=True, pre_releases=True), ["v1.2.3-rc.1", "1.2.3"], ["latest"]),
    ],
)
def test_trigger_patterns_fire_for_exactly_their_tags(policy: TagPolicy, fires: list[str], never: list[str]) -> None:
    pattern = policy.pattern()
    assert "\\d" not in pattern  # [0-9]: no digit-class differences to worry about
    for tag in fires:
        assert echo_tag_matches(pattern, tag), tag
    for tag in never:
        assert not echo_tag_matches(pattern, tag), tag
    assert check_tag_pattern(pattern, policy) == []
    for tag, fire in policy.expectations():
        assert echo_tag_matches(pattern, tag) is fire, tag


@given(tag=TAGS)
def test_the_release_pattern_is_semantic_versioning(tag: str) -> None:
    semver = re.fullmatch(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)", tag, re.ASCII) is not None
    assert echo_tag_matches(RELEASES.pattern(), tag) is semver


def test_patterns_are_reported_with_what_they_get_wrong() -> None:
    assert check_tag_pattern(r"\d+\.\d+\.\d+", RELEASES) == [
        "'\\\\d+\\\\.\\\\d+\\\\.\\\\d+' fires for '01.2.3', '1.02.3', '1.2.03'; the environment deploys release "
        "versions x.y.z (no pre-releases): use '^(?:0|[1-9][0-9]*)\\\\.(?:0|[1-9][0-9]*)\\\\.(?:0|[1-9][0-9]*)$'"
    ]
    assert check_tag_pattern("latest|stable", LATEST)[1].startswith("'latest|stable' fires for 'latest', 'stable'")
    assert check_tag_pattern("^latest$", None)[0].startswith("'^latest$' fires for latest, a mutable tag")
    assert check_tag_pattern(7, None) == ["must be a string (a Java regular expression), not int"]

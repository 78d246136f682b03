"""Semver mode keeps registry-image's semantics (Masterminds/semver v3 parsing, constraints and tag selection)."""

from __future__ import annotations

import pytest
from harbor_image.check import candidates
from harbor_image.models import Artifact, Tag
from harbor_image.semver_select import Constraints, SemverError, SemverRules, Version, strip_v
from harbor_image.wire import Selection

# -- which tags are versions (Masterminds NewVersion, coercing) -------------------------------------------------

ACCEPTED = [
    ("1.2.3", "1.2.3"),
    ("v1.2.3", "1.2.3"),
    ("1.2", "1.2.0"),
    ("v1", "1.0.0"),
    ("1", "1.0.0"),
    ("01.02.03", "1.2.3"),  # coercion accepts leading zeros in numbers
    ("20240101", "20240101.0.0"),  # a date tag is a version, as in registry-image
    ("1.2.3-rc.1", "1.2.3-rc.1"),
    ("1.2-beta.5", "1.2.0-beta.5"),
    ("1.2.3-0abc", "1.2.3-0abc"),  # alphanumeric pre-release identifiers may start with 0
    ("1.2.3+build.7", "1.2.3+build.7"),
    ("1.2.3-rc1-with-hyphen", "1.2.3-rc1-with-hyphen"),
]
REJECTED = [
    "latest",
    "V1.2.3",  # only a lowercase v
    "1.2.3.4",
    "1.2.beta",
    "1.2.3-beta.01",  # numeric pre-release identifiers must not have leading zeros
    "1.2.3-",
    "1.2.3+",
    "1.2.3-a..b",
    " 1.2.3",
    "1.2.3\n",
    "18446744073709551616",  # overflows uint64
    "",
]


@pytest.mark.parametrize(("tag", "normalised"), ACCEPTED)
def test_versions_accepted_as_tags(tag: str, normalised: str) -> None:
    version = Version.parse(tag)
    assert str(version) == normalised
    assert version.original == tag


@pytest.mark.parametrize("tag", REJECTED)
def test_tags_that_are_not_versions(tag: str) -> None:
    with pytest.raises(SemverError):
        Version.parse(tag)


ORDER = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "1.0.1",
    "1.2.0",
    "1.10.0",
    "2.0.0",
]


def test_precedence_follows_semver() -> None:
    parsed = [Version.parse(text) for text in reversed(ORDER)]
    assert [str(v) for v in sorted(parsed)] == ORDER
    assert Version.parse("1.2.3+a") == Version.parse("1.2.3+b")  # build metadata does not count
    assert Version.parse("v1.2") == Version.parse("1.2.0")


# -- constraints (Masterminds semantics) ------------------------------------------------------------------------

CONSTRAINTS = [
    # x-ranges and bare versions
    ("1.2.x", "1.2.0", True),
    ("1.2.x", "1.2.9", True),
    ("1.2.x", "1.3.0", False),
    ("1.2.x", "1.2.3-rc.1", False),  # pre-releases only when the constraint names one
    ("1.2", "1.2.7", True),  # a partial version is an x-range
    ("1.2.3", "1.2.3", True),
    ("1.2.3", "1.2.4", False),
    ("*", "4.5.6", True),
    ("*", "4.5.6-alpha", False),
    ("2.x.x", "2.9.9", True),
    ("=2.0", "2.0.1", True),
    # comparisons
    (">=1.2.0 <2.0.0", "1.9.9", True),
    (">=1.2.0 <2.0.0", "2.0.0", False),
    (">=1.2.0, <2.0.0", "1.2.0", True),
    (">= 1.2 < 3.0.0 || >= 4.2.3", "3.5.0", False),
    (">= 1.2 < 3.0.0 || >= 4.2.3", "4.2.3", True),
    (">1.1", "1.2.0", True),
    (">1.1", "1.1.9", False),  # >1.1 means a higher minor
    (">11", "11.1.0", False),
    (">11", "12.0.0", True),
    ("<=1.1", "1.1.9", True),
    ("<=1.1", "1.2.0", False),
    ("<1.1", "1.0.99", True),
    ("=>1.0", "1.0.0", True),
    ("=<1.0", "1.0.5", True),
    ("!=4.1", "4.1.5", False),
    ("!=4.1", "4.2.0", True),
    ("!=4.1.0", "4.1.1", True),
    # tilde
    ("~1.2", "1.2.9", True),
    ("~1.2", "1.3.0", False),
    ("~1.2.3", "1.2.2", False),
    ("~1.2.3", "1.2.9", True),
    ("~>1.2.3", "1.2.4", True),
    ("~1", "1.9.0", True),
    ("~1", "2.0.0", False),
    ("~0", "0.9.9", True),
    ("~1.2.x", "1.2.5", True),
    # caret
    ("^1.2.0", "1.9.9", True),
    ("^1.2.0", "2.0.0", False),
    ("^1.2.0", "1.1.9", False),
    ("^0.2.3", "0.2.9", True),
    ("^0.2.3", "0.3.0", False),
    ("^0.0.3", "0.0.3", True),
    ("^0.0.3", "0.0.4", False),
    ("^0.0", "0.0.9", True),
    ("^0", "0.9.0", True),
    ("^0", "1.0.0", False),
    ("^1.x", "1.5.0", True),
    # hyphen ranges
    ("1.1 - 2", "1.1.0", True),
    ("1.1 - 2", "2.0.1", True),  # "- 2" is "<= 2" which is an x-range
    ("1.1 - 2", "3.0.0", False),
    ("1.1.1 - 1.2.0", "1.2.1", False),
    # pre-releases opt in per || group
    (">=1.0.0-0", "1.0.0-rc.1", True),
    (">=1.0.0-0 <2.0.0", "1.5.0-beta.1", True),
    (">=1.0.0 || >=2.0.0-0", "2.5.0-beta.1", True),  # only the second group opts in, and it matches
    (">=1.0.0 || >=2.0.0-0", "1.5.0-beta.1", False),  # the first group matches 1.5.0 but not its pre-releases
    ("1.2.3-beta", "1.2.3-beta", True),
    ("~1.2.3-beta", "1.2.3-beta.2", True),
    ("~1.2.3-beta", "1.2.4-beta", True),
    ("^1.2.3-beta.4", "1.2.3-beta.2", False),
    ("v1.2.x", "1.2.5", True),  # a leading v in the constraint
]


@pytest.mark.parametrize(("constraint", "version", "expected"), CONSTRAINTS)
def test_constraint_checks(constraint: str, version: str, expected: bool) -> None:
    assert Constraints.parse(constraint).check(Version.parse(version)) is expected


@pytest.mark.parametrize(
    "constraint",
    ["", "foo", ">= bar", "BAR >= 1.2.3", ">=1.2 <", "1.2.3-beta.01", "~>", "||", ">=1.0 || ", "1.2.3.4"],
)
def test_improper_constraints_are_errors(constraint: str) -> None:
    with pytest.raises(SemverError):
        Constraints.parse(constraint)


def test_strip_v_only_from_semantic_versions() -> None:
    assert strip_v("v1.2.3") == "1.2.3"
    assert strip_v("v2") == "2"
    assert strip_v("1.2.3") == "1.2.3"
    assert strip_v("vnext") == "vnext"
    assert strip_v("v1.2.3.4") == "v1.2.3.4"


# -- tag selection: registry-image's check scenarios (semver mode, no variants) -----------------------------------


def selected(tags: dict[str, str], rules: SemverRules) -> list[str]:
    """The tags semver mode emits for a repository where each tag points at an image name (= digest)."""
    by_digest: dict[str, list[str]] = {}
    for tag, image in tags.items():
        by_digest.setdefault(image, []).append(tag)
    artifacts = [
        Artifact(digest=f"sha256:{image}", push_time="", tags=tuple(Tag(t) for t in names), scan=None)
        for image, names in by_digest.items()
    ]
    return [c.tag for c in candidates(artifacts, Selection("semver", semver=rules))]


SCENARIOS = [
    ("no semver tags", {"non-semver-tag": "a"}, SemverRules(), []),
    ("semver and non-semver tags", {"1.0.0": "a", "non-semver-tag": "b"}, SemverRules(), ["1.0.0"]),
    ("ordering", {"2.0.0": "c", "1.0.0": "a", "1.2.1": "b"}, SemverRules(), ["1.0.0", "1.2.1", "2.0.0"]),
    (
        "constraint",
        {"1.0.0": "a", "1.2.1": "b", "1.2.2": "c", "v1.2.3": "d", "2.0.0": "e", "latest": "f"},
        SemverRules(Constraints.parse("1.2.x")),
        ["1.2.1", "1.2.2", "v1.2.3"],
    ),
    (
        "pre-releases ignored by default",
        {"1.0.0-alpha.1": "a", "1.0.0": "b", "1.2.1-beta.1": "c", "1.2.1": "d", "2.0.0-rc.1": "e", "2.0.0": "f"},
        SemverRules(),
        ["1.0.0", "1.2.1", "2.0.0"],
    ),
    (
        "pre-releases opted in, ordered before their release",
        {"1.0.0-alpha.1": "a", "1.0.0": "b", "1.2.1-beta.1": "c", "1.2.1": "d", "2.0.0-rc.1": "e", "2.0.0": "f"},
        SemverRules(pre_releases=True),
        ["1.0.0-alpha.1", "1.0.0", "1.2.1-beta.1", "1.2.1", "2.0.0-rc.1", "2.0.0"],
    ),
    (
        "pre-release prefixes",
        {"1.0.0-alpha.1": "a", "1.0.0": "b", "2.0.0-rc.1": "e", "2.0.0": "f", "2.0.0-build.1": "g"},
        SemverRules(pre_releases=True, pre_release_prefixes=("build",)),
        ["1.0.0-alpha.1", "1.0.0", "2.0.0-build.1", "2.0.0-rc.1", "2.0.0"],
    ),
    (
        "pre-releases exclude variants",
        {"1.0.0-alpha.1": "a", "1.0.0-beta.1": "b", "1.0.0-rc.1": "c", "1.0.0-foo.1": "d"},
        SemverRules(pre_releases=True),
        ["1.0.0-alpha.1", "1.0.0-beta.1", "1.0.0-rc.1"],
    ),
    (
        "pre-releases need no dot",
        {"1.0.0-alpha1": "a", "1.0.0-alpha2": "b", "1.0.0-beta1": "c", "1.0.0-rc2": "d", "1.0.0-foo1": "e"},
        SemverRules(pre_releases=True),
        ["1.0.0-alpha1", "1.0.0-alpha2", "1.0.0-beta1", "1.0.0-rc2"],
    ),
    (
        "pre-releases need no number",
        {"1.0.0-alpha": "a", "1.0.0-beta": "b", "1.0.0-rc": "c", "1.0.0-foo": "d"},
        SemverRules(pre_releases=True),
        ["1.0.0-alpha", "1.0.0-beta", "1.0.0-rc"],
    ),
    (
        "a pre-release with a '-' is a variant unless custom prefixes are given",
        {"1.0.0-rc.1-alpine": "a", "1.0.0-rc.2": "b"},
        SemverRules(pre_releases=True),
        ["1.0.0-rc.2"],
    ),
    (
        "final versions take priority over rcs on one digest",
        {"1.0.0-rc.1": "a", "1.0.0-rc1": "a", "1.0.0-rc": "a", "1.0.0": "a"},
        SemverRules(pre_releases=True),
        ["1.0.0"],
    ),
    (
        "mixed specificity: the most specific tag represents a digest",
        {
            "1": "a",
            "2": "b",
            "2.1": "b",
            "latest": "c",
            "3": "c",
            "3.2": "c",
            "3.2.1": "c",
            "3.1": "d",
            "3.1.0": "d",
            "3.0": "e",
            "3.0.0": "e",
        },
        SemverRules(),
        ["1", "2.1", "3.0.0", "3.1.0", "3.2.1"],
    ),
    (
        "latest pointing at a version is not a version",
        {"1": "a", "2": "b", "latest": "b", "3": "c"},
        SemverRules(),
        ["1", "2", "3"],
    ),
]


@pytest.mark.parametrize(("name", "tags", "rules", "expected"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_registry_image_selection(name: str, tags: dict[str, str], rules: SemverRules, expected: list[str]) -> None:
    assert selected(tags, rules) == expected

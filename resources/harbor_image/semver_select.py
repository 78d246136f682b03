"""Semantic-version tags with registry-image's semantics (Masterminds/semver v3 behaviour).

Teams migrate from concourse/registry-image-resource, whose semver mode parses tags with Masterminds'
``NewVersion`` (coercing: ``1``, ``1.2``, ``v1.2.3`` and leading zeros are versions) and filters them with
Masterminds constraints (``1.2.x``, ``~1.2``, ``^1.2.0``, ``>=1.2.0 <2.0.0``, ``1.0 - 2.0``, ``||``). This module
re-implements those rules so that the same tags are selected and ordered the same way:

* a pre-release only matches a constraint whose ``||`` group itself names a pre-release (``>=1.0.0-0``);
* pre-release tags are only considered with ``pre_releases: true`` and only when the pre-release starts with
  ``alpha``, ``beta``, ``rc`` or one of ``pre_release_prefixes`` (anything else is a "variant" such as
  ``1.2.3-alpine``); without custom prefixes a pre-release containing ``-`` is a variant too;
* one version per digest: a final release beats a pre-release, then the tag with more dots (``3.2.1`` over ``3.2``).

The Python ``semver`` package is not used here: it rejects ``1.2`` and has none of the constraint syntax above.
"""

from __future__ import annotations

import re
from functools import cache
from typing import NamedTuple

_U64 = 2**64 - 1
_WS = r"[\t\n\f\r ]"  # Go's \s (ASCII only)

_LOOSE = (
    r"v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?"
    r"(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
    r"(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
)
_ALLOWED = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789")
_DIGITS = frozenset("0123456789")

_CV = (
    r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?"
    r"(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
    r"(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
)
_OPS = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^"


@cache
def _pattern(name: str) -> re.Pattern[str]:
    """The regular expressions, compiled on first use (most checks are not in semver mode)."""
    sources = {
        "loose": _LOOSE,
        "constraint": rf"{_WS}*({_OPS}){_WS}*({_CV}){_WS}*",
        "range": rf"{_WS}*({_CV}){_WS}+-{_WS}+({_CV}){_WS}*",
        "find": rf"({_OPS}){_WS}*({_CV})",
        "valid": rf"({_WS}*({_OPS}){_WS}*({_CV}){_WS}*)((?:{_WS}+|,{_WS}*)({_OPS}){_WS}*({_CV}){_WS}*)*",
    }
    return re.compile(sources[name])


DEFAULT_PRE_RELEASE_PREFIXES = ("alpha", "beta", "rc")


class SemverError(ValueError):
    """A version or constraint that does not parse."""


def _only(text: str, allowed: frozenset[str]) -> bool:
    return all(ch in allowed for ch in text)


def _valid_prerelease(pre: str) -> bool:
    for part in pre.split("."):
        if part == "":
            return False
        if _only(part, _DIGITS):
            if len(part) > 1 and part[0] == "0":
                return False
        elif not _only(part, _ALLOWED):
            return False
    return True


def _valid_metadata(meta: str) -> bool:
    return all(part != "" and _only(part, _ALLOWED) for part in meta.split("."))


def _segment(text: str | None) -> int:
    if not text:
        return 0
    value = int(text.lstrip("."))
    if value > _U64:
        raise SemverError("version segment overflows uint64")
    return value


class Version:
    """A parsed version; ``original`` is the tag as written (``v1.2`` stays ``v1.2``)."""

    __slots__ = ("major", "metadata", "minor", "original", "patch", "pre")

    def __init__(self, major: int, minor: int, patch: int, pre: str, metadata: str, original: str) -> None:  # noqa: PLR0917
        self.major = major
        self.minor = minor
        self.patch = patch
        self.pre = pre
        self.metadata = metadata
        self.original = original

    def __repr__(self) -> str:
        return f"Version({self.original!r})"

    @classmethod
    def parse(cls, text: str) -> Version:
        """Masterminds ``NewVersion`` in its default coercing mode."""
        match = _pattern("loose").fullmatch(text)
        if match is None:
            raise SemverError(f"{text!r} is not a semantic version")
        pre = match.group(5) or ""
        metadata = match.group(8) or ""
        version = cls(_segment(match.group(1)), _segment(match.group(2)), _segment(match.group(3)), pre, metadata, text)
        if pre and not _valid_prerelease(pre):
            raise SemverError(f"{text!r} has an invalid pre-release")
        if metadata and not _valid_metadata(metadata):
            raise SemverError(f"{text!r} has invalid build metadata")
        return version

    def compare(self, other: Version) -> int:
        for mine, theirs in ((self.major, other.major), (self.minor, other.minor), (self.patch, other.patch)):
            if mine != theirs:
                return -1 if mine < theirs else 1
        if self.pre == other.pre == "":
            return 0
        if self.pre == "":
            return 1
        if other.pre == "":
            return -1
        return _compare_prerelease(self.pre, other.pre)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self.compare(other) == 0

    def __lt__(self, other: Version) -> bool:
        return self.compare(other) < 0

    def __le__(self, other: Version) -> bool:
        return self.compare(other) <= 0

    def __gt__(self, other: Version) -> bool:
        return self.compare(other) > 0

    def __ge__(self, other: Version) -> bool:
        return self.compare(other) >= 0

    def __hash__(self) -> int:
        return hash((self.major, self.minor, self.patch, self.pre))

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.pre:
            text += f"-{self.pre}"
        if self.metadata:
            text += f"+{self.metadata}"
        return text


def _compare_prerelease(mine: str, theirs: str) -> int:
    left, right = mine.split("."), theirs.split(".")
    for index in range(max(len(left), len(right))):
        result = _compare_part(left[index] if index < len(left) else "", right[index] if index < len(right) else "")
        if result:
            return result
    return 0


def _as_uint(text: str) -> int | None:
    if text and _only(text, _DIGITS):
        value = int(text)
        return value if value <= _U64 else None
    return None


def _compare_part(mine: str, theirs: str) -> int:
    if mine == theirs:
        return 0
    if mine == "":
        return -1
    if theirs == "":
        return 1
    left, right = _as_uint(mine), _as_uint(theirs)
    if left is None and right is None:
        return 1 if mine > theirs else -1
    if right is None:
        return -1  # a number sorts before an identifier
    if left is None:
        return 1
    return 1 if left > right else -1


def _is_x(text: str) -> bool:
    return text in ("x", "X", "*")


class _Constraint(NamedTuple):
    op: str
    orig: str
    con: Version
    dirty: bool
    minor_dirty: bool
    patch_dirty: bool

    def check(self, version: Version, include_pre: bool) -> bool:
        if version.pre and not include_pre:
            return False
        return _OPERATIONS[self.op](version, self)


def _not_equal(v: Version, c: _Constraint) -> bool:
    if c.dirty:
        if c.con.major != v.major:
            return True
        if c.con.minor != v.minor and not c.minor_dirty:
            return True
        if c.minor_dirty:
            return False
        if c.con.patch != v.patch and not c.patch_dirty:
            return True
        if c.patch_dirty:
            if v.pre or c.con.pre:
                return _compare_prerelease(v.pre, c.con.pre) != 0
            return False
    return v != c.con


def _greater(v: Version, c: _Constraint) -> bool:
    if not c.dirty:
        return v.compare(c.con) == 1
    if v.major > c.con.major:
        return True
    if v.major < c.con.major or c.minor_dirty:
        return False
    if c.patch_dirty:
        return v.minor > c.con.minor
    return v.compare(c.con) == 1


def _less(v: Version, c: _Constraint) -> bool:
    return v.compare(c.con) < 0


def _greater_equal(v: Version, c: _Constraint) -> bool:
    return v.compare(c.con) >= 0


def _less_equal(v: Version, c: _Constraint) -> bool:
    if not c.dirty:
        return v.compare(c.con) <= 0
    if v.major > c.con.major:
        return False
    return not (v.major == c.con.major and v.minor > c.con.minor and not c.minor_dirty)


def _tilde(v: Version, c: _Constraint) -> bool:
    if v < c.con:
        return False
    if c.con.major == 0 and c.con.minor == 0 and c.con.patch == 0 and not c.minor_dirty and not c.patch_dirty:
        return True
    if v.major != c.con.major:
        return False
    return not (v.minor != c.con.minor and not c.minor_dirty)


def _tilde_or_equal(v: Version, c: _Constraint) -> bool:
    if c.dirty:
        return _tilde(v, c)
    return v == c.con


def _caret(v: Version, c: _Constraint) -> bool:
    if v < c.con:
        return False
    if c.con.major > 0 or c.minor_dirty:
        return v.major == c.con.major
    if v.major > 0:
        return False
    if c.con.minor > 0 or c.patch_dirty:
        return v.minor == c.con.minor
    if v.minor > 0:
        return False
    return v.patch == c.con.patch


_OPERATIONS = {
    "": _tilde_or_equal,
    "=": _tilde_or_equal,
    "!=": _not_equal,
    ">": _greater,
    "<": _less,
    ">=": _greater_equal,
    "=>": _greater_equal,
    "<=": _less_equal,
    "=<": _less_equal,
    "~": _tilde,
    "~>": _tilde,
    "^": _caret,
}


def _parse_one(text: str) -> _Constraint:
    if text == "":
        return _Constraint("", "", Version(0, 0, 0, "", "", "0.0.0"), True, False, False)
    match = _pattern("constraint").fullmatch(text)
    if match is None:
        raise SemverError(f"improper constraint: {text!r}")
    op, orig = match.group(1), match.group(2)
    major, minor, patch, pre = match.group(3), match.group(4) or "", match.group(5) or "", match.group(6) or ""
    dirty = minor_dirty = patch_dirty = False
    version_text = orig
    if _is_x(major):
        version_text, dirty = f"0.0.0{pre}", True
    elif minor == "" or _is_x(minor[1:]):
        version_text, dirty, minor_dirty = f"{major}.0.0{pre}", True, True
    elif patch == "" or _is_x(patch[1:]):
        version_text, dirty, patch_dirty = f"{major}{minor}.0{pre}", True, True
    try:
        con = Version.parse(version_text)
    except SemverError:
        raise SemverError(f"improper constraint: {text!r}") from None
    return _Constraint(op, orig, con, dirty, minor_dirty, patch_dirty)


def _rewrite_ranges(text: str) -> str:
    """``1.0 - 2.0`` becomes ``>= 1.0, <= 2.0`` (Masterminds rewrites each occurrence in place)."""
    for match in list(_pattern("range").finditer(text)):
        text = text.replace(match.group(0), f">= {match.group(1)}, <= {match.group(11)} ", 1)
    return text


class Constraints(NamedTuple):
    """``||``-separated groups of AND-ed constraints."""

    text: str
    groups: tuple[tuple[_Constraint, ...], ...]
    group_has_pre: tuple[bool, ...]

    @classmethod
    def parse(cls, text: str) -> Constraints:
        rewritten = _rewrite_ranges(text)
        groups: list[tuple[_Constraint, ...]] = []
        has_pre: list[bool] = []
        for part in rewritten.split("||"):
            if _pattern("valid").fullmatch(part) is None:
                raise SemverError(f"improper constraint: {part.strip()!r}")
            pieces = [m.group(0) for m in _pattern("find").finditer(part)] or [part]
            parsed = tuple(_parse_one(piece) for piece in pieces)
            groups.append(parsed)
            has_pre.append(any(c.con.pre for c in parsed))
        return cls(text, tuple(groups), tuple(has_pre))

    def check(self, version: Version) -> bool:
        pairs = zip(self.groups, self.group_has_pre, strict=True)
        return any(all(c.check(version, pre) for c in group) for group, pre in pairs)


class SemverRules(NamedTuple):
    """What semver mode accepts as a version tag (registry-image's rules, without variants)."""

    constraint: Constraints | None = None
    pre_releases: bool = False
    pre_release_prefixes: tuple[str, ...] = ()

    def version_of(self, tag: str) -> Version | None:
        """The tag's version if semver mode selects it, else None."""
        try:
            version = Version.parse(tag)
        except SemverError:
            return None
        if self.constraint is not None and not self.constraint.check(version):
            return None
        if version.pre:
            if not self.pre_releases:
                return None
            if not self.pre_release_prefixes and "-" in version.pre:
                return None  # 1.2.3-rc.1-alpine: a pre-release of a variant
            prefixes = DEFAULT_PRE_RELEASE_PREFIXES + self.pre_release_prefixes
            if not any(version.pre.startswith(prefix) for prefix in prefixes):
                return None  # 1.2.3-alpine: a variant, not a pre-release
        return version

    def best_tag(self, tags: list[str]) -> tuple[str, Version] | None:
        """The tag that represents one digest: a release over a pre-release, then the most specific."""
        best: tuple[str, Version] | None = None
        for tag in sorted(tags):
            version = self.version_of(tag)
            if version is None:
                continue
            if best is None:
                best = (tag, version)
                continue
            current = best[1]
            if current.pre == "" and version.pre != "":
                continue
            if (current.pre != "" and version.pre == "") or tag.count(".") > best[0].count("."):
                best = (tag, version)
        return best


def strip_v(version: str) -> str:
    """``v1.2.3`` → ``1.2.3`` when the rest is a semantic version (put's ``version`` param); else unchanged."""
    if version.startswith("v"):
        try:
            Version.parse(version)
        except SemverError:
            return version
        return version[1:]
    return version

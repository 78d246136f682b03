"""Ports of the Go functions `fly validate-pipeline` relies on, so the linter accepts exactly what Concourse does.

- :func:`parse_duration`: Go's `time.ParseDuration` (step `timeout:`, `check_every:`, cache `ttl:`).
- :func:`path_match`: Go's `path.Match` (a `get` step's `passed:` globs and the cycle check).
- :func:`compile_group_glob`: `github.com/gobwas/glob` without separators (a group's `jobs:` globs).
- :func:`identifier_problem`: `atc.ValidateIdentifier`'s rule (names of jobs, resources, steps, ...).
- :func:`url_scheme`: the scheme part of Go's `url.Parse` (the display's `background_image`).

Each is written from the Go source of the versions named in `docs/concourse.md`-style comments below; none of
them is a general-purpose library.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

# --- time.ParseDuration -------------------------------------------------------------------------------------

_UNITS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # U+00B5 micro sign
    "\u03bcs": 1_000,  # U+03BC Greek small letter mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
}
_MAX = 1 << 63


def parse_duration(text: str) -> int | None:
    """Nanoseconds of a Go duration such as `1h30m` or `-1.5s`; None when Go would reject it."""
    s = text
    negative = False
    if s[:1] in ("-", "+"):
        negative = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        return None
    total = 0
    while s:
        if not (s[0] == "." or (s[0].isascii() and s[0].isdigit())):
            return None
        i = 0
        while i < len(s) and s[i].isascii() and s[i].isdigit():
            i += 1
        whole_digits, s = s[:i], s[i:]
        whole = int(whole_digits) if whole_digits else 0
        if whole > _MAX:
            return None
        fraction, scale, had_fraction = 0, 1.0, False
        if s[:1] == ".":
            s = s[1:]
            j = 0
            while j < len(s) and s[j].isascii() and s[j].isdigit():
                j += 1
            digits, s = s[:j], s[j:]
            had_fraction = bool(digits)
            for digit in digits:  # Go stops accumulating (but keeps consuming) once it would overflow
                if fraction > (_MAX - 1) // 10:
                    break
                fraction = fraction * 10 + int(digit)
                scale *= 10
        if not whole_digits and not had_fraction:
            return None  # "." or ".s"
        k = 0
        while k < len(s) and not (s[k] == "." or (s[k].isascii() and s[k].isdigit())):
            k += 1
        if k == 0:
            return None  # missing unit
        unit = _UNITS.get(s[:k])
        s = s[k:]
        if unit is None:
            return None
        if whole > _MAX // unit:
            return None
        value = whole * unit
        if fraction:
            value += int(float(fraction) * (float(unit) / scale))
            if value > _MAX:
                return None
        total += value
        if total > _MAX:
            return None
    if negative:
        return -total
    if total > _MAX - 1:
        return None
    return total


# --- path.Match ---------------------------------------------------------------------------------------------


def _path_class(pattern: str, i: int) -> tuple[str, int] | None:
    """Translate the class starting after '[' at `i`; return (regex, index after ']') or None if malformed."""
    negated = False
    if i < len(pattern) and pattern[i] == "^":
        negated = True
        i += 1
    parts: list[str] = []
    count = 0
    while True:
        if i < len(pattern) and pattern[i] == "]" and count > 0:
            i += 1
            break
        lo, i2 = _path_escaped_char(pattern, i)
        if lo is None:
            return None
        i = i2
        hi = lo
        if i < len(pattern) and pattern[i] == "-":
            hi_char, i3 = _path_escaped_char(pattern, i + 1)
            if hi_char is None:
                return None
            hi, i = hi_char, i3
        parts.append(f"{re.escape(lo)}-{re.escape(hi)}" if hi != lo else re.escape(lo))
        count += 1
    body = "".join(parts)
    return (f"[^{body}]" if negated else f"[{body}]"), i


def _path_escaped_char(pattern: str, i: int) -> tuple[str | None, int]:
    if i >= len(pattern) or pattern[i] in "-]":
        return None, i
    if pattern[i] == "\\":
        i += 1
        if i >= len(pattern):
            return None, i
    return pattern[i], i + 1


def _path_regex(pattern: str) -> re.Pattern[str] | None:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            out.append("[^/]*")
            i += 1
        elif ch == "?":
            out.append("[^/]")
            i += 1
        elif ch == "[":
            translated = _path_class(pattern, i + 1)
            if translated is None:
                return None
            regex, i = translated
            out.append(regex)
        elif ch == "\\":
            if i + 1 >= len(pattern):
                return None
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(ch))
            i += 1
    return re.compile("".join(out), re.DOTALL)


_PATH_CACHE: dict[str, re.Pattern[str] | None] = {}


def path_match(pattern: str, name: str) -> bool:
    """Go's `path.Match(pattern, name)` with its error ignored, as Concourse does (a bad pattern matches nothing)."""
    regex = _PATH_CACHE.get(pattern)
    if regex is None and pattern not in _PATH_CACHE:
        regex = _PATH_CACHE[pattern] = _path_regex(pattern)
    return regex is not None and regex.fullmatch(name) is not None


def path_pattern_is_valid(pattern: str) -> bool:
    return _path_regex(pattern) is not None


# --- gobwas/glob (no separators) -----------------------------------------------------------------------------


class GlobError(ValueError):
    pass


def compile_group_glob(pattern: str) -> Callable[[str], bool]:
    """`glob.Compile(pattern)` from gobwas/glob, as a group's `jobs:` entries are compiled; raise GlobError."""
    regex, index, _ = _glob_sequence(pattern, 0, in_terms=False)
    if index != len(pattern):  # pragma: no cover - the top level consumes everything
        raise GlobError("unexpected token")
    compiled = re.compile(regex, re.DOTALL)
    return lambda name: compiled.fullmatch(name) is not None


def _glob_text(pattern: str, i: int, breakers: str) -> tuple[str, int]:
    data: list[str] = []
    escaped = False
    while i < len(pattern):
        ch = pattern[i]
        if not escaped:
            if ch == "\\":
                escaped = True
                i += 1
                continue
            if ch in breakers:
                break
        escaped = False
        data.append(ch)
        i += 1
    return "".join(data), i


def _glob_sequence(pattern: str, i: int, *, in_terms: bool) -> tuple[str, int, bool]:
    """Parse until end (or, in terms, until ',' or '}'); return (regex, index, ended_by_separator)."""
    out: list[str] = []
    while i < len(pattern):
        ch = pattern[i]
        if in_terms and ch in ",}":
            return "".join(out), i, ch == ","
        if ch == "{":
            alternatives: list[str] = []
            i += 1
            while True:
                regex, i, more = _glob_sequence(pattern, i, in_terms=True)
                alternatives.append(regex)
                if i >= len(pattern):
                    break  # gobwas accepts an unclosed '{' as if closed at the end
                i += 1  # ',' or '}'
                if not more:
                    break
            out.append("(?:" + "|".join(alternatives) + ")")
        elif ch == "[":
            regex, i = _glob_range(pattern, i + 1)
            out.append(regex)
        elif ch == "?":
            out.append(".")
            i += 1
        elif ch == "*":
            out.append(".*")
            i += 2 if pattern[i + 1 : i + 2] == "*" else 1
        else:
            text, i = _glob_text(pattern, i, "?*[{}," if in_terms else "?*[{")
            out.append(re.escape(text))
    return "".join(out), i, False


def _glob_range(pattern: str, i: int) -> tuple[str, int]:
    negated = False
    lo = hi = ""
    chars = ""
    want_hi = want_close = seen_not = False
    while True:
        if i >= len(pattern):
            raise GlobError("unexpected end of input")
        ch = pattern[i]
        if want_close:
            if ch != "]":
                raise GlobError("expected close range character")
            i += 1
            break
        if want_hi:
            hi = ch
            if hi < lo:
                raise GlobError(f"hi character '{hi}' should be greater than lo '{lo}'")
            i += 1
            want_close = True
            continue
        if not seen_not and ch == "!":
            negated = seen_not = True
            i += 1
            continue
        if pattern[i + 1 : i + 2] == "-":
            lo = ch
            i += 2
            want_hi = True
            continue
        chars, i = _glob_text(pattern, i, "]")
        want_close = True
    is_range = bool(lo) and bool(hi)
    if bool(chars) == is_range:
        raise GlobError("could not parse range")
    body = f"{re.escape(lo)}-{re.escape(hi)}" if is_range else "".join(re.escape(c) for c in chars)
    return (f"[^{body}]" if negated else f"[{body}]"), i


# --- atc.ValidateIdentifier -----------------------------------------------------------------------------------

_LETTER_CATEGORIES = frozenset({"Ll", "Lt", "Lm", "Lo"})


def _identifier_char(ch: str, first: bool) -> bool:
    if ch.isascii() and ch.isdigit():
        return True
    if not first and ch in "-_.":
        return True
    return unicodedata.category(ch) in _LETTER_CATEGORIES


def identifier_problem(identifier: str) -> str | None:
    """Why `identifier` is not a valid Concourse identifier (a warning in fly), or None. Empty is handled apart."""
    if identifier.isascii() and identifier.isdigit():
        return "cannot be just numbers"
    if not _identifier_char(identifier[0], first=True):
        return "must start with a lowercase letter or a number"
    for ch in identifier[1:]:
        if not _identifier_char(ch, first=False):
            return f"illegal character '{ch}'"
    return None


# --- url.Parse (scheme only) ----------------------------------------------------------------------------------


def url_scheme(raw: str) -> tuple[str | None, str | None]:
    """(scheme lower-cased, error) as Go's url.Parse sees it; scheme '' when the URL is relative."""
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in raw):
        return None, "net/url: invalid control character in URL"
    for index, ch in enumerate(raw):
        if ch.isascii() and ch.isalpha():
            continue
        if ch.isascii() and (ch.isdigit() or ch in "+-."):
            if index == 0:
                return "", None
            continue
        if ch == ":":
            if index == 0:
                return None, "missing protocol scheme"
            return raw[:index].lower(), None
        return "", None
    return "", None

"""Java regular expressions, checked and evaluated the way Spinnaker evaluates them.

Echo matches a docker trigger's `tag` with `incomingTag.matches(pattern)` (java.util.regex, whole-string match) and
Orca matches expected artifacts the same way. Python's `re` differs from Java in ways that change results or
validity, so patterns are translated rather than passed through:

- `\\d`, `\\w`, `\\s`, `\\b` are ASCII in Java (unless the U flag is given) but Unicode in Python: compiled
  with `re.ASCII`;
- `(?<name>…)` and `\\k<name>` are Java's named groups (`(?P<name>…)` is Python-only and a Java syntax error);
- `{` that does not start a valid quantifier is a Java syntax error ("Illegal repetition"), a literal in Python;
- Java character classes nest (`[a-z[A-Z]]`) and intersect (`[a-z&&[^aeiou]]`);
- `\\Q…\\E`, `\\p{Alpha}`, `\\h`, `\\v`, `\\R`, `\\z`, `\\Z`, `\\e`, `\\cX`, `\\0oct`, `\\x{h…}` exist only in Java
  or mean something else in Python.

Character classes are evaluated exactly over ASCII, which is what the patterns are applied to: docker tags are
`[A-Za-z0-9_.-]` and image names are ASCII too. Constructs whose result cannot be reproduced (`\\G`, `\\X`,
Unicode blocks and scripts, flags in the middle of a pattern) are reported as such instead of guessed.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["JavaRegexError", "compile_java", "echo_tag_matches", "java_matches"]


class JavaRegexError(ValueError):
    """The pattern is not valid Java, or uses a construct that cannot be evaluated faithfully."""


ASCII = frozenset(chr(code) for code in range(128))
_DIGITS = frozenset(string.digits)
_WORD = frozenset(string.ascii_letters + string.digits + "_")
_SPACE = frozenset(" \t\n\x0b\f\r")
_HSPACE = frozenset(" \t")
_VSPACE = frozenset("\n\x0b\f\r")
_LOWER = frozenset(string.ascii_lowercase)
_UPPER = frozenset(string.ascii_uppercase)
_PUNCT = frozenset(string.punctuation)
_CNTRL = frozenset([chr(code) for code in range(32)] + ["\x7f"])
_POSIX: dict[str, frozenset[str]] = {
    "Lower": _LOWER,
    "Upper": _UPPER,
    "ASCII": ASCII,
    "Alpha": _LOWER | _UPPER,
    "Digit": _DIGITS,
    "Alnum": _LOWER | _UPPER | _DIGITS,
    "Punct": _PUNCT,
    "Graph": _LOWER | _UPPER | _DIGITS | _PUNCT,
    "Print": _LOWER | _UPPER | _DIGITS | _PUNCT | {" "},
    "Blank": frozenset(" \t"),
    "Cntrl": _CNTRL,
    "XDigit": frozenset(string.hexdigits),
    "Space": _SPACE,
    # Unicode categories and java.lang.Character classes, restricted to ASCII (exact for ASCII input).
    "L": _LOWER | _UPPER,
    "IsL": _LOWER | _UPPER,
    "IsLetter": _LOWER | _UPPER,
    "IsAlphabetic": _LOWER | _UPPER,
    "Lu": _UPPER,
    "IsLu": _UPPER,
    "IsUppercase": _UPPER,
    "Ll": _LOWER,
    "IsLl": _LOWER,
    "IsLowercase": _LOWER,
    "N": _DIGITS,
    "Nd": _DIGITS,
    "IsDigit": _DIGITS,
    "javaLowerCase": _LOWER,
    "javaUpperCase": _UPPER,
    "javaDigit": _DIGITS,
    "javaLetter": _LOWER | _UPPER,
    "javaLetterOrDigit": _LOWER | _UPPER | _DIGITS,
    "javaWhitespace": frozenset(" \t\n\x0b\f\r\x1c\x1d\x1e\x1f"),
    "IsWhite_Space": frozenset(" \t\n\x0b\f\r\x85"),
    "IsPunctuation": frozenset("!\"#%&'()*,-./:;?@[\\]_{}"),
}
_SIMPLE_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f", "a": "\x07", "e": "\x1b"}
_CLASS_ESCAPES: dict[str, frozenset[str]] = {
    "d": _DIGITS,
    "D": ASCII - _DIGITS,
    "w": _WORD,
    "W": ASCII - _WORD,
    "s": _SPACE,
    "S": ASCII - _SPACE,
    "h": _HSPACE,
    "H": ASCII - _HSPACE,
    "v": _VSPACE,
    "V": ASCII - _VSPACE,
}
_QUANTIFIER = re.compile(r"\{(\d+)(,(\d*))?\}")
_JAVA_FLAGS = set("idmsuxU")


@dataclass
class _Translator:
    source: str
    pos: int = 0
    groups: int = 0

    def fail(self, message: str) -> JavaRegexError:
        return JavaRegexError(f"{message} at index {self.pos} of {self.source!r}")

    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.source[index] if index < len(self.source) else ""

    def translate(self) -> str:
        out: list[str] = []
        depth = 0
        can_repeat = False
        while self.pos < len(self.source):
            ch = self.source[self.pos]
            if ch == "\\":
                text, can_repeat = self.escape()
                out.append(text)
                continue
            if ch == "[":
                out.append(_emit_class(*self.char_class()))
                can_repeat = True
                continue
            if ch == "(":
                text, opened = self.group_open()
                out.append(text)
                depth += opened
                can_repeat = False
                continue
            if ch == ")":
                if depth == 0:
                    raise self.fail("Unmatched closing ')'")
                depth -= 1
                self.pos += 1
                out.append(")")
                can_repeat = True
                continue
            if ch in "*+?":
                if not can_repeat:
                    raise self.fail(f"Dangling meta character '{ch}'")
                out.append(ch + self.quantifier_suffix(1))
                can_repeat = False
                continue
            if ch == "{":
                match = _QUANTIFIER.match(self.source, self.pos)
                if match is None:
                    raise self.fail("Illegal repetition: '{' does not start a quantifier such as {2} or {1,3}; "
                                    "escape it as \\{")
                if not can_repeat:
                    raise self.fail("Dangling meta character '{'")
                low, high = match.group(1), match.group(3)
                if match.group(2) and high and int(high) < int(low):
                    raise self.fail("Illegal repetition range")
                self.pos = match.end()
                out.append(match.group(0) + self.quantifier_suffix(0))
                can_repeat = False
                continue
            if ch == "|":
                out.append("|")
                self.pos += 1
                can_repeat = False
                continue
            if ch in "^$":
                out.append(ch)
                self.pos += 1
                can_repeat = False
                continue
            out.append(re.escape(ch) if ch not in "." else ch)
            self.pos += 1
            can_repeat = True
        if depth:
            raise self.fail("Unclosed group")
        return "".join(out)

    def quantifier_suffix(self, consumed: int) -> str:
        self.pos += consumed
        if self.peek() in ("?", "+"):
            suffix = self.peek()
            self.pos += 1
            return suffix
        return ""

    def group_open(self) -> tuple[str, bool]:
        """Translate a group opening; (python text, whether a group was opened)."""
        self.pos += 1  # (
        if self.peek() != "?":
            self.groups += 1
            return "(", True
        self.pos += 1  # ?
        nxt = self.peek()
        if nxt in (":", "=", "!", ">"):
            self.pos += 1
            return "(?" + nxt, True
        if nxt == "<":
            after = self.peek(1)
            if after in ("=", "!"):
                self.pos += 2
                return "(?<" + after, True
            end = self.source.find(">", self.pos)
            name = self.source[self.pos + 1 : end] if end > 0 else ""
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", name):
                raise self.fail("named group names are letters and digits, starting with a letter")
            self.pos = end + 1
            self.groups += 1
            return f"(?P<{name}>", True
        # Inline flags: (?idmsuxU-idmsuxU) or (?idmsuxU-idmsuxU:X)
        first = self.pos
        while self.peek() and (self.peek() in _JAVA_FLAGS or self.peek() == "-"):
            self.pos += 1
        flags = self.source[first : self.pos]
        closer = self.peek()
        if closer not in (")", ":") or (not flags and closer == ")"):
            raise self.fail(f"Unknown inline modifier '(?{self.source[first:self.pos + 1]}' (Java groups are "
                            f"(?:…), (?=…), (?!…), (?<=…), (?<!…), (?>…), (?<name>…) and flags such as (?i))")
        on, _, off = flags.partition("-")
        # d (UNIX_LINES), u (UNICODE_CASE) and U (UNICODE_CHARACTER_CLASS) change nothing on ASCII input without
        # line terminators, which is what tags and image names are.
        on = "".join(sorted(set(on) - set("duU")))
        off = "".join(sorted(set(off) - set("duU")))
        self.pos += 1
        if closer == ":":
            if not on and not off:
                return "(?:", True
            return f"(?{on}{'-' + off if off else ''}:", True
        if first != 2:
            raise self.fail("flags in the middle of a pattern cannot be checked by shiplane; move them to the start "
                            "or use a group such as (?i:…)")
        if off:
            raise self.fail("turning flags off at the start of a pattern changes nothing; remove '-" + off + "'")
        return (f"(?{on})" if on else ""), False

    def escape(self) -> tuple[str, bool]:
        """An escape outside a character class: (python text, can be quantified)."""
        self.pos += 1
        ch = self.peek()
        if not ch:
            raise self.fail("Unexpected internal error: pattern ends with '\\'")
        if ch == "Q":
            end = self.source.find("\\E", self.pos + 1)
            literal = self.source[self.pos + 1 :] if end < 0 else self.source[self.pos + 1 : end]
            self.pos = len(self.source) if end < 0 else end + 2
            return (f"(?:{re.escape(literal)})" if literal else ""), bool(literal)
        if ch in "bBA":
            self.pos += 1
            if ch == "b" and self.peek() == "{":
                raise self.fail("\\b{g} (grapheme boundaries) cannot be checked by shiplane")
            return "\\" + ch, False
        if ch == "z":
            self.pos += 1
            return r"\Z", False
        if ch == "Z":
            self.pos += 1
            return r"(?=(?:\r\n|[\n\r\x85\u2028\u2029])?\Z)", False
        if ch in "GX":
            raise self.fail(f"\\{ch} cannot be checked by shiplane")
        if ch == "R":
            self.pos += 1
            return r"(?:\r\n|[\n\x0b\f\r\x85\u2028\u2029])", True
        if ch == "k":
            if self.peek(1) != "<":
                raise self.fail("\\k is not followed by '<' for named capturing group")
            end = self.source.find(">", self.pos)
            name = self.source[self.pos + 2 : end] if end > 0 else ""
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", name):
                raise self.fail("named group reference needs a name of letters and digits")
            self.pos = end + 1
            return f"(?P={name})", True
        if ch.isdigit() and ch != "0":
            start = self.pos
            while self.peek().isdigit():
                self.pos += 1
            return "\\" + self.source[start : self.pos], True
        chars = self.class_escape()
        return _emit_class(chars, False), True

    def class_escape(self) -> frozenset[str]:
        """An escape that denotes a set of characters (a single character is a set of one). pos is on the
        letter after the backslash; on return it is after the escape."""
        ch = self.peek()
        self.pos += 1
        if ch in _CLASS_ESCAPES:
            return _CLASS_ESCAPES[ch]
        if ch in ("p", "P"):
            if self.peek() == "{":
                end = self.source.find("}", self.pos)
                if end < 0:
                    raise self.fail("Unclosed character family")
                name = self.source[self.pos + 1 : end]
                self.pos = end + 1
            else:
                name = self.peek()
                self.pos += 1
            name = name[2:] if name.startswith("Is") and name[2:] in _POSIX and name not in _POSIX else name
            if name not in _POSIX:
                raise self.fail(f"\\{ch}{{{name}}} cannot be checked by shiplane; use an explicit class such as "
                                f"[A-Za-z]")
            chars = _POSIX[name]
            return chars if ch == "p" else ASCII - chars
        if ch in _SIMPLE_ESCAPES:
            return frozenset(_SIMPLE_ESCAPES[ch])
        if ch == "c":
            control = self.peek()
            if not control:
                raise self.fail("Illegal control escape sequence")
            self.pos += 1
            return frozenset(chr(ord(control) ^ 64))
        if ch == "0":
            digits = ""
            while len(digits) < 3 and self.peek() in "01234567" and self.peek():
                candidate = digits + self.peek()
                if int(candidate, 8) > 0o377:
                    break
                digits = candidate
                self.pos += 1
            if not digits:
                raise self.fail("Illegal octal escape sequence")
            return frozenset(chr(int(digits, 8)))
        if ch == "x":
            if self.peek() == "{":
                end = self.source.find("}", self.pos)
                digits = self.source[self.pos + 1 : end] if end > 0 else ""
                if not digits or not all(d in string.hexdigits for d in digits) or int(digits, 16) > 0x10FFFF:
                    raise self.fail("Illegal hexadecimal escape sequence")
                self.pos = end + 1
                return frozenset(chr(int(digits, 16)))
            digits = self.source[self.pos : self.pos + 2]
            if len(digits) != 2 or not all(d in string.hexdigits for d in digits):
                raise self.fail("Illegal hexadecimal escape sequence")
            self.pos += 2
            return frozenset(chr(int(digits, 16)))
        if ch == "u":
            digits = self.source[self.pos : self.pos + 4]
            if len(digits) != 4 or not all(d in string.hexdigits for d in digits):
                raise self.fail("Illegal Unicode escape sequence")
            self.pos += 4
            return frozenset(chr(int(digits, 16)))
        if ch == "N":
            raise self.fail("\\N{name} cannot be checked by shiplane; write the character")
        if ch.isascii() and ch.isalpha():
            raise self.fail(f"Illegal/unsupported escape sequence '\\{ch}'")
        return frozenset(ch)

    def char_class(self) -> tuple[frozenset[str], bool]:
        """Parse `[...]` (Java syntax: nesting = union, && = intersection) into (ASCII set, negated)."""
        self.pos += 1  # [
        negated = False
        if self.peek() == "^":
            negated = True
            self.pos += 1
        if self.peek() == "]":
            raise self.fail("']' right after '[' is ambiguous between Java and other regex dialects; escape it as \\]")
        result: frozenset[str] | None = None  # the intersection so far
        current: set[str] = set()
        pending: str | None = None  # a single character that may start a range
        while True:
            ch = self.peek()
            if not ch:
                raise self.fail("Unclosed character class")
            if ch == "]":
                self.pos += 1
                break
            if ch == "&" and self.peek(1) == "&":
                self.pos += 2
                if pending is not None:
                    current.add(pending)
                    pending = None
                result = frozenset(current) if result is None else result & frozenset(current)
                current = set()
                continue
            if ch == "[":
                if pending is not None:
                    current.add(pending)
                    pending = None
                nested, nested_negated = self.char_class()
                current |= (ASCII - nested) if nested_negated else nested
                continue
            if ch == "-" and pending is not None and self.peek(1) not in ("]", ""):
                self.pos += 1
                end_chars = self.single_class_char()
                if end_chars is None or len(end_chars) != 1:
                    raise self.fail("Illegal character range")
                low, high = pending, next(iter(end_chars))
                if ord(high) < ord(low):
                    raise self.fail("Illegal character range")
                current |= {chr(code) for code in range(ord(low), min(ord(high), 127) + 1)}
                pending = None
                continue
            if pending is not None:
                current.add(pending)
                pending = None
            chars = self.single_class_char()
            if chars is not None and len(chars) == 1:
                pending = next(iter(chars))
            elif chars is not None:
                current |= chars
        if pending is not None:
            current.add(pending)
        chars = frozenset(current) if result is None else result & frozenset(current)
        return frozenset(ch for ch in chars if ch.isascii()), negated

    def single_class_char(self) -> frozenset[str] | None:
        ch = self.peek()
        if ch == "\\":
            self.pos += 1
            if self.peek() == "Q":
                end = self.source.find("\\E", self.pos + 1)
                literal = self.source[self.pos + 1 :] if end < 0 else self.source[self.pos + 1 : end]
                self.pos = len(self.source) if end < 0 else end + 2
                return frozenset(literal)
            if self.peek().isdigit() and self.peek() != "0":
                raise self.fail("back references are not allowed in a character class")
            return self.class_escape()
        self.pos += 1
        return frozenset(ch)


def _emit_class(chars: frozenset[str], negated: bool) -> str:
    """A Python character class matching exactly `chars` over ASCII (or the complement, when negated, which
    then also matches non-ASCII characters, as Java's negated classes do)."""
    if not negated and len(chars) == 1:
        return re.escape(next(iter(chars)))
    body = _ranges(chars)
    if negated:
        return f"[^{body}]" if body else r"[\s\S]"
    return f"[{body}]" if body else "(?!)"


def _ranges(chars: frozenset[str]) -> str:
    codes = sorted(ord(ch) for ch in chars)
    parts: list[str] = []
    index = 0
    while index < len(codes):
        start = codes[index]
        while index + 1 < len(codes) and codes[index + 1] == codes[index] + 1:
            index += 1
        end = codes[index]
        if end - start >= 2:
            parts.append(f"{_class_char(start)}-{_class_char(end)}")
        else:
            parts.extend(_class_char(code) for code in range(start, end + 1))
        index += 1
    return "".join(parts)


def _class_char(code: int) -> str:
    ch = chr(code)
    if ch.isalnum():
        return ch
    return f"\\x{code:02x}"


@lru_cache(maxsize=4096)
def compile_java(pattern: str) -> re.Pattern[str]:
    """Compile a Java regex into an equivalent Python pattern (ASCII semantics); raise JavaRegexError."""
    translator = _Translator(pattern)
    python = translator.translate()
    try:
        return re.compile(python, re.ASCII)
    except re.error as exc:
        raise JavaRegexError(f"{exc} in {pattern!r}") from None


def java_matches(pattern: str, text: str) -> bool:
    """`text.matches(pattern)` in Java: the whole string must match."""
    return compile_java(pattern).fullmatch(text) is not None


def echo_tag_matches(trigger_tag: str | None, tag: str) -> bool:
    """Whether Echo fires a docker trigger whose `tag` is `trigger_tag` for a pushed `tag`.

    Echo (AbstractOCIRegistryEventHandler) trims the pattern; a blank pattern matches every tag except `latest`;
    an invalid pattern never matches (PatternSyntaxException is swallowed).
    """
    pattern = (trigger_tag or "").strip()
    if not pattern:
        return tag != "latest"
    try:
        return java_matches(pattern, tag)
    except JavaRegexError:
        return False

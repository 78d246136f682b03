"""Secret redaction shared by every client: raw text first, then reformat and truncate.

A server may echo a secret back in any of the forms it travelled or was stored in, so a :class:`Redactor` matches
each registered secret character by character in all of these encodings (mixed freely):

* the raw character; a run of whitespace as any run of whitespace (a message whose spaces were collapsed);
* JSON and Go escapes (``\\u00e9`` in either case, UTF-16 surrogate pairs for characters beyond the BMP, ``\\"``,
  ``\\\\``, ``\\/``, ``\\n`` …; Go's encoder writes ``\\u003c`` for ``<`` — encoding/json ``encodeState.string``),
  also escaped once more (JSON inside JSON);
* Python ``repr`` escapes (``\\xe9``, ``\\U0001f600``, ``\\'``);
* URL percent-encoding of the UTF-8 bytes in either case (``%C3%A9``, ``%c3%a9``) and ``+`` for a space;
* HTML character references (``&#233;``, ``&#xe9;``, ``&amp;`` …);

and, as literal strings, the standard and URL-safe base64 of the secret and of ``username:secret`` (an echoed
``Authorization: Basic`` header), with and without padding.

:meth:`Redactor.one_line` is the only way a message should be shortened: it redacts the whole raw text, then
collapses whitespace, escapes control characters (no raw newline or ANSI escape reaches a build log), truncates,
and finally removes a trailing partial match (a text ending in the first characters of a secret, e.g. a body a
server cut off itself). Standard library only; nothing happens at import time.
"""

from __future__ import annotations

import re
from base64 import b64encode, urlsafe_b64encode

REDACTED = "***"
MIN_SECRET = 3  # shorter secrets would redact innocent text (they are still never printed on purpose)
MAX_PATTERN_SECRET = 256  # longer secrets are matched in their literal forms only
MIN_PARTIAL = 3  # a trailing partial match of at least this many characters is removed
_SHORT_ESCAPES = {"\n": "n", "\t": "t", "\r": "r", "\b": "b", "\f": "f", '"': '"', "'": "'", "\\": "\\", "/": "/"}
_HTML_NAMES = {"&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


_ESCAPE = re.compile(r"\\{1,3}(?:u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|x([0-9a-fA-F]{2})|([ntrbf\"'\\/]))")
_SHORT = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}


def _unescape(text: str) -> str:
    """JSON/Go/Python backslash escapes decoded (one to three backslashes each), surrogate pairs joined."""

    def one(match: re.Match[str]) -> str:
        code = match.group(1) or match.group(2) or match.group(3)
        if code:
            return chr(int(code, 16)) if int(code, 16) <= 0x10FFFF else match.group()
        return _SHORT.get(match.group(4), match.group(4))

    decoded = _ESCAPE.sub(one, text)
    return decoded.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _unquote(text: str) -> str:
    from urllib.parse import unquote_plus  # noqa: PLC0415 - only when a text has a '%' or '+'

    return unquote_plus(text, errors="replace")


def _unhtml(text: str) -> str:
    from html import unescape  # noqa: PLC0415 - only when a text has a '&'

    return unescape(text)


def _hex_class(value: int, width: int) -> str:
    """``value`` as exactly ``width`` hex digits, either case (a regex fragment)."""
    digits = f"{value:0{width}x}"
    return "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in digits)


def _char_pattern(char: str) -> str:
    """Every encoding of one character this module knows, as one regex alternation."""
    code = ord(char)
    escape = r"\\{1,3}"  # JSON/repr escapes, possibly escaped again (JSON inside JSON)
    forms = [re.escape(char)]
    if code < 0x10000:
        forms.append(f"{escape}u{_hex_class(code, 4)}")
    else:
        high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
        forms.append(f"{escape}u{_hex_class(high, 4)}{escape}u{_hex_class(low, 4)}")
        forms.append(f"{escape}U{_hex_class(code, 8)}")
    if code < 0x100:
        forms.append(f"{escape}x{_hex_class(code, 2)}")
    if char in _SHORT_ESCAPES:
        forms.append(escape + re.escape(_SHORT_ESCAPES[char]))
    forms.append("".join(f"%{_hex_class(byte, 2)}" for byte in char.encode("utf-8", "surrogatepass")))
    if char == " ":
        forms.append(r"\+")
    forms.append(f"&#0*{code};")
    forms.append(f"&#[xX]0*{_hex_class(code, 1 if code < 16 else len(f'{code:x}'))};")
    if char in _HTML_NAMES:
        forms.append(f"&{_HTML_NAMES[char]};")
    return "(?:" + "|".join(forms) + ")"


def _secret_pattern(secret: str) -> str:
    parts: list[str] = []
    previous_space = False
    for char in secret:
        if char.isspace():
            if not previous_space:
                parts.append(r"(?:\s+|" + _char_pattern(char) + "+)")
            previous_space = True
            continue
        previous_space = False
        parts.append(_char_pattern(char))
    return "".join(parts)


def _literal_forms(secret: str) -> set[str]:
    """The usual encodings of ``secret`` as plain strings (for long secrets and trailing partial matches)."""
    from json import dumps  # noqa: PLC0415 - only when needed
    from urllib.parse import quote  # noqa: PLC0415

    quoted = quote(secret, safe="", errors="surrogatepass")
    return {
        secret,
        " ".join(secret.split()),
        dumps(secret)[1:-1],
        dumps(secret, ensure_ascii=False)[1:-1],
        dumps(dumps(secret))[1:-1],
        repr(secret)[1:-1],
        quoted,
        quoted.lower(),
        quoted.replace("%20", "+"),
        escape_controls(secret),
    }


def escape_controls(text: str) -> str:
    """Control characters (C0, C1, DEL, line separators, lone surrogates) as ``\\xNN``/``\\uNNNN`` escapes."""

    def one(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _CONTROL.sub(one, text)


def shorten(text: str, limit: int) -> str:
    """At most ``limit`` characters, the cut marked with ``…``."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


class Redactor:
    """The secrets of one process (or one client) and how to keep them out of text.

    ``add(secret, username=...)`` registers a secret; ``redact(text)`` replaces every occurrence in every known
    encoding with ``***``; ``one_line(text, limit)`` is the safe way to put untrusted text into a message.
    """

    def __init__(self) -> None:
        self._secrets: list[str] = []
        self._literals: list[str] = []
        self._pattern: re.Pattern[str] | None = None
        self._long: list[str] = []

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def add(self, secret: str | None, username: str | None = None) -> None:
        """Register ``secret`` (and the Basic credentials ``username:secret`` when a username is given)."""
        if not secret or len(secret) < MIN_SECRET:
            return
        if secret not in self._secrets:
            self._secrets.append(secret)
        raw = [secret.encode("utf-8", "surrogatepass")]
        if username is not None:
            raw.append(f"{username}:".encode("utf-8", "surrogatepass") + raw[0])
        for data in raw:
            for encoded in (b64encode(data).decode("ascii"), urlsafe_b64encode(data).decode("ascii")):
                for literal in (encoded, encoded.rstrip("=")):
                    if len(literal) >= MIN_SECRET and literal not in self._literals:
                        self._literals.append(literal)
        self._pattern = None

    def _compiled(self) -> re.Pattern[str] | None:
        if self._pattern is None and (self._secrets or self._literals):
            long_forms: set[str] = set()
            patterns = []
            for secret in sorted(self._secrets, key=len, reverse=True):
                if len(secret) <= MAX_PATTERN_SECRET:
                    patterns.append(_secret_pattern(secret))
                else:  # a very long secret's pattern is slow to build: its literal forms, replaced as strings
                    long_forms.update(_literal_forms(secret))
            self._long = sorted(long_forms | {x for x in self._literals if len(x) > MAX_PATTERN_SECRET}, key=len)[::-1]
            alternatives = [re.escape(x) for x in sorted(self._literals, key=len, reverse=True) if len(x) <= 256]
            alternatives += patterns
            self._pattern = re.compile("|".join(alternatives))
        return self._pattern

    def _present(self, text: str) -> bool:
        """Cheap test whether any secret may be in ``text`` (so the pattern is only built when needed).

        Decodes ``text`` the ways the pattern matches (backslash escapes up to three deep, percent-encoding and
        ``+``, HTML references, chained, whitespace collapsed) and looks for each secret as a plain substring.
        """
        if any(literal in text for literal in self._literals):
            return True
        views = {text}
        for _ in range(3):
            views |= {_unescape(view) for view in views if "\\" in view}
        views |= {_unquote(view) for view in views if "%" in view or "+" in view}
        views |= {_unhtml(view) for view in views if "&" in view}
        views |= {" ".join(view.split()) for view in views}
        forms = {form for secret in self._secrets for form in (secret, " ".join(secret.split()))}
        return any(form in view for form in forms for view in views)

    def redact(self, text: str) -> str:
        """``text`` with every registered secret, in every known encoding, replaced by ``***``."""
        if not self._secrets and not self._literals:
            return text
        if not self._present(text):
            return text
        pattern = self._compiled()
        if pattern is None:
            return text
        for form in self._long:
            text = text.replace(form, REDACTED)
        return pattern.sub(REDACTED, text) if pattern.pattern else text

    def _trailing_forms(self) -> list[str]:
        """Literal forms whose beginnings are looked for at the end of a cut text."""
        forms = set(self._literals)
        for secret in self._secrets:
            forms.update(_literal_forms(secret))
        return sorted(forms, key=len, reverse=True)

    def strip_partial(self, text: str) -> str:
        """Remove a trailing beginning (≥ 3 characters) of any secret form, e.g. ``… password hunt``."""
        if not self:
            return text
        for form in self._trailing_forms():
            for length in range(len(form) - 1, MIN_PARTIAL - 1, -1):
                if text.endswith(form[:length]):
                    return text[:-length] + REDACTED
        return text

    def one_line(self, text: str, limit: int = 600) -> str:
        """Redact the raw text, collapse whitespace, escape control characters, cut at ``limit``, strip partials."""
        flat = escape_controls(" ".join(self.redact(text).split()))
        if len(flat) <= limit:
            return self.strip_partial(flat)
        return self.strip_partial(flat[: max(0, limit - 1)]) + "…"

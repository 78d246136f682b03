"""Every wire type of the resource, decoded strictly from the stdin payload.

Concourse sends ``{"source", "version"}`` to check, ``{"source", "version", "params"}`` to in and
``{"source", "params"}`` to out. Unknown keys, wrong types, a bad regex, constraint, URL or duration raise
:class:`ResourceError` with one line naming the key and the fix (exit 1), the way registry-image refuses unknown
fields instead of silently ignoring a typo.

Hostile or broken input is refused the same way, never as an internal error: JSON nested too deeply, strings with
lone surrogates (``\ud800``) or control characters where a single line is expected, URLs with a bad port, host
or IDNA label, a ``version.tag`` that is not a tag. Values and keys echoed in a message are escaped (no raw
newline or ANSI escape reaches a build log) and cut to about 100 characters (:func:`shown`), at most
:data:`SHOWN_KEYS` unknown keys.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal, NamedTuple
from urllib.parse import SplitResult, urlsplit

from harbor_image.errors import ResourceError
from harbor_image.gate import FAIL_ON_VALUES, Policy
from harbor_image.semver_select import Constraints, SemverError, SemverRules
from harbor_image.tagregex import BoundedRegex

# distribution's reference grammar (lowercase path components) and OCI tag / digest grammar
_REPO_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
REPOSITORY_RE = re.compile(rf"{_REPO_COMPONENT}(?:/{_REPO_COMPONENT})*")
TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
DIGEST_RE = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}")
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)")  # ASCII digits, as Go
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}

SHOWN = 100  # characters of an echoed value
SHOWN_KEYS = 3  # unknown keys named in one message
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def shown(value: object, limit: int = SHOWN) -> str:
    """A value for a message: quoted, every control character and lone surrogate escaped, cut at ``limit``."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)[: limit * 4]
    quoted = repr(text[: limit * 4]) if isinstance(value, str) else text
    quoted = _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}", quoted)
    quoted = quoted.encode("utf-8", "backslashreplace").decode("utf-8")
    return quoted if len(quoted) <= limit else quoted[: limit - 1] + "…"


def plain(text: str, limit: int = SHOWN) -> str:
    """Text for a message without quotes: control characters and lone surrogates escaped, cut at ``limit``."""
    escaped = _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}", text[: limit * 2])
    escaped = escaped.encode("utf-8", "backslashreplace").decode("utf-8")
    return escaped if len(escaped) <= limit else escaped[: limit - 1] + "…"


def _text_problem(value: str, single_line: bool) -> str | None:
    """Why a string cannot be used: a lone surrogate, or a control character in a single-line value."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as problem:
        return f"contains a lone surrogate (\\u{ord(value[problem.start]):04x}); it is not text"
    if single_line:
        match = _UNSAFE.search(value)
        if match is not None:
            return f"contains the control character \\x{ord(match.group()):02x}; it must be one line of text"
    return None


SOURCE_KEYS = (
    "url",
    "repository",
    "username",
    "password",
    "tag",
    "tag_regex",
    "semver",
    "semver_constraint",
    "pre_releases",
    "pre_release_prefixes",
    "scan",
    "ca_certs",
    "insecure",
    "debug",
)
SCAN_KEYS = ("fail_on", "allowlist", "ignore_unfixed", "trigger", "timeout", "enabled")
GET_PARAM_KEYS = ("format", "skip_download", "gate")
PUT_PARAM_KEYS = ("image", "version", "additional_tags", "tag_prefix", "scan")

# PEM certificates and keys span lines (ca_certs; client_cert/client_key of spinnaker-pipeline); a password is the
# user's own (Basic auth carries any character) and never echoed
MULTI_LINE_KEYS = frozenset({"ca_certs", "password", "client_cert", "client_key"})
Mode = Literal["tag", "regex", "semver"]
Format = Literal["rootfs", "oci", "oci-layout"]


def parse_duration(text: str) -> float:
    """A Go duration (``10m``, ``1h30m``, ``90s``) in seconds; raises ValueError."""
    if not text:
        raise ValueError("empty duration")
    position, total = 0, 0.0
    while position < len(text):
        match = _DURATION_PART.match(text, position)
        if match is None:
            raise ValueError(f"invalid duration {text!r}")
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        position = match.end()
    return total


class _Object:
    """Reads one JSON object, tracking which keys were consumed so the rest can be reported as unknown."""

    def __init__(self, value: Any, path: str, known: tuple[str, ...], required: bool = True) -> None:
        if value is None and not required:
            value = {}
        if not isinstance(value, dict):
            raise ResourceError(f"{path}: must be an object (got {_kind(value)})")
        self.value: dict[str, Any] = value
        self.path = path
        self.known = known
        unknown = sorted(set(value) - set(known))
        if unknown:
            hints = []
            for key in unknown[:SHOWN_KEYS]:
                close = _closest(key, list(known)) if len(key) <= SHOWN else None
                hints.append(shown(key, 40) + (f" (did you mean '{close}'?)" if close else ""))
            if len(unknown) > SHOWN_KEYS:
                hints.append(f"and {len(unknown) - SHOWN_KEYS} more")
            raise ResourceError(
                f"{path}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(hints)}; "
                f"remove {'them' if len(unknown) > 1 else 'it'} (known keys: {', '.join(known)})"
            )

    def _get(self, key: str) -> Any:
        if key not in self.known:
            raise AssertionError(f"{self.path}.{key} read but not declared")
        return self.value.get(key)

    def has(self, key: str) -> bool:
        return self.value.get(key) is not None

    def string(self, key: str, default: str | None = None, required: bool = False, hint: str = "") -> str | None:
        value = self._get(key)
        if value is None:
            if required:
                raise ResourceError(f"{self.path}.{key}: required{hint}")
            return default
        if key == "password" and not isinstance(value, str):
            raise ResourceError(f"{self.path}.{key}: must be a string (got {_kind(value)}); quote it in YAML")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise ResourceError(
                f"{self.path}.{key}: must be a string (got the number {shown(value, 40)}); quote it in YAML"
            )
        if not isinstance(value, str):
            raise ResourceError(f"{self.path}.{key}: must be a string (got {_kind(value)})")
        problem = _text_problem(value, single_line=key not in MULTI_LINE_KEYS)
        if problem is not None:
            raise ResourceError(f"{self.path}.{key}: {problem}")
        if required and not value.strip():
            raise ResourceError(f"{self.path}.{key}: must not be empty{hint}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            got = plain(json.dumps(value, ensure_ascii=False), 40)
            raise ResourceError(f"{self.path}.{key}: must be true or false (got {_kind(value)} {got})")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self._get(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            raise ResourceError(f"{self.path}.{key}: must be a list of strings (got {_kind(value)})")
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                raise ResourceError(f"{self.path}.{key}[{index}]: must be a non-empty string (got {_kind(item)})")
            problem = _text_problem(item, single_line=key not in MULTI_LINE_KEYS)
            if problem is not None:
                raise ResourceError(f"{self.path}.{key}[{index}]: {problem}")
        return tuple(item.strip() for item in value)

    def object(self, key: str, known: tuple[str, ...]) -> _Object:
        return _Object(self._get(key), f"{self.path}.{key}", known, required=False)


def _closest(key: str, known: list[str]) -> str | None:
    import difflib  # noqa: PLC0415 - only on the error path, keeps check's imports small

    matches = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
    return matches[0] if matches else None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


class Selection(NamedTuple):
    """Which tags are versions: one tag, a full-match regex, or semantic versions."""

    mode: Mode
    tag: str = "latest"
    tag_explicit: bool = False
    regex: BoundedRegex | None = None
    semver: SemverRules = SemverRules()

    def fingerprint(self) -> list[object]:
        return [
            self.mode,
            self.tag if self.mode == "tag" else None,
            self.regex.pattern if self.regex else None,
            self.semver.constraint.text if self.semver.constraint else None,
            self.semver.pre_releases,
            list(self.semver.pre_release_prefixes),
        ]


class Source(NamedTuple):
    url: str  # scheme://host[:port], no trailing slash
    scheme: str
    host: str  # host[:port] — the registry host for skopeo
    repository: str  # project/name
    project: str
    name: str  # the repository inside the project (may contain '/')
    username: str | None
    password: str | None
    selection: Selection
    scan: Policy
    scan_timeout_text: str
    ca_certs: tuple[str, ...]
    insecure: bool
    debug: bool

    def __repr__(self) -> str:
        return f"Source(url={self.url!r}, repository={self.repository!r}, username={self.username!r}, password=***)"


class Version(NamedTuple):
    tag: str
    digest: str

    def to_json(self) -> dict[str, str]:
        return {"tag": self.tag, "digest": self.digest}


class GetParams(NamedTuple):
    format: Format = "rootfs"
    skip_download: bool = False
    gate: bool = True


class PutParams(NamedTuple):
    image: str
    version: str | None
    additional_tags: str | None
    tag_prefix: str | None
    scan: Policy
    scan_timeout_text: str


class CheckRequest(NamedTuple):
    source: Source
    version: Version | None


class InRequest(NamedTuple):
    source: Source
    version: Version
    params: GetParams


class OutRequest(NamedTuple):
    source: Source
    params: PutParams


MAX_SCAN_TIMEOUT = 24 * 3600  # seconds: the longest scan.timeout (put and get wait this long at most)


def _policy(scan: _Object, base: Policy, base_timeout: str) -> tuple[Policy, str]:
    fail_on = scan.string("fail_on", base.fail_on)
    assert fail_on is not None
    fail_on = fail_on.strip().lower()
    if fail_on not in FAIL_ON_VALUES:
        raise ResourceError(f"{scan.path}.fail_on: must be one of {', '.join(FAIL_ON_VALUES)} (got {shown(fail_on)})")
    allowlist = frozenset(scan.strings("allowlist")) if scan.has("allowlist") else base.allowlist
    timeout_text = scan.string("timeout", base_timeout)
    assert timeout_text is not None
    try:
        timeout = parse_duration(timeout_text.strip())
    except ValueError:
        raise ResourceError(
            f"{scan.path}.timeout: {shown(timeout_text)} is not a duration; write it like 10m, 90s or 1h30m"
        ) from None
    if timeout <= 0:
        raise ResourceError(f"{scan.path}.timeout: must be more than 0 (got {shown(timeout_text)})")
    if timeout > MAX_SCAN_TIMEOUT:
        raise ResourceError(f"{scan.path}.timeout: at most 24h (got {shown(timeout_text)}); a scan that has not "
                            f"finished in a day is stuck — see the README, 'A check that seems stuck'")
    policy = Policy(
        enabled=scan.boolean("enabled", base.enabled),
        fail_on=fail_on,
        allowlist=allowlist,
        ignore_unfixed=scan.boolean("ignore_unfixed", base.ignore_unfixed),
        trigger=scan.boolean("trigger", base.trigger),
        timeout=timeout,
    )
    return policy, timeout_text.strip()


def _source(value: Any) -> Source:
    src = _Object(value, "source", SOURCE_KEYS)
    url_text = src.string("url", required=True, hint=" (Harbor's base URL, e.g. https://harbor.example.com)")
    assert url_text is not None
    insecure = src.boolean("insecure", False)
    if "@" in url_text:
        raise ResourceError("source.url: must not contain credentials; use source.username and source.password")
    parts, host = _base_url(url_text.strip())
    if parts.scheme == "http" and not insecure:
        risk = "sends the password in clear" if src.has("password") else "is neither encrypted nor authenticated"
        raise ResourceError(f"source.url: plain http {risk}; use https, or set insecure: true if you mean it")
    repository = src.string("repository", required=True, hint=" (project/name, e.g. team/app)")
    assert repository is not None
    repository = repository.strip()
    first = repository.split("/", 1)[0]
    if "/" in repository and ("." in first or ":" in first or first == "localhost"):
        raise ResourceError(
            f"source.repository: {shown(repository)} starts with a registry host; give only project/name "
            f"(the host comes from source.url)"
        )
    if "/" not in repository or not REPOSITORY_RE.fullmatch(repository):
        raise ResourceError(
            f"source.repository: {shown(repository)} must be project/name in lowercase "
            f"(letters, digits, '.', '_', '-', and '/' between parts), e.g. team/app"
        )
    project, name = repository.split("/", 1)

    username = src.string("username")
    password = src.string("password")
    if username is not None and not username.strip():
        raise ResourceError("source.username: must not be empty; remove it for anonymous access")
    if (username is None) != (password is None):
        missing, given = ("password", "username") if password is None else ("username", "password")
        raise ResourceError(f"source.{missing}: required when source.{given} is set (or remove both for anonymous)")

    tag = src.string("tag")
    tag_regex = src.string("tag_regex")
    semver = src.boolean("semver", False)
    constraint_text = src.string("semver_constraint")
    pre_releases = src.boolean("pre_releases", False)
    prefixes = src.strings("pre_release_prefixes")
    chosen = [k for k, v in (("tag", tag is not None), ("tag_regex", tag_regex is not None), ("semver", semver)) if v]
    if len(chosen) > 1:
        raise ResourceError(f"source: {' and '.join(chosen)} are exclusive; keep one way of selecting tags")
    if not semver:
        for key, present in (
            ("semver_constraint", constraint_text is not None),
            ("pre_releases", src.has("pre_releases")),
            ("pre_release_prefixes", bool(prefixes)),
        ):
            if present:
                raise ResourceError(f"source.{key}: only applies with semver: true; add semver: true or remove it")
    if prefixes and not pre_releases:
        raise ResourceError("source.pre_release_prefixes: needs pre_releases: true")

    selection: Selection
    if tag_regex is not None:
        try:
            pattern = re.compile(tag_regex)
        except (re.error, RecursionError, OverflowError) as problem:
            raise ResourceError(
                f"source.tag_regex: {shown(tag_regex)} is not a valid regular expression ({plain(str(problem))})"
            ) from None
        selection = Selection("regex", regex=BoundedRegex(pattern))
    elif semver:
        constraint = None
        if constraint_text is not None:
            try:
                constraint = Constraints.parse(constraint_text)
            except SemverError as problem:
                raise ResourceError(
                    f"source.semver_constraint: {plain(str(problem), 200)}; "
                    f"write it like '1.2.x', '~1.2', '^1.2.0' or '>=1.2.0 <2.0.0'"
                ) from None
        selection = Selection("semver", semver=SemverRules(constraint, pre_releases, prefixes))
    else:
        chosen_tag = (tag if tag is not None else "latest").strip()
        if not TAG_RE.fullmatch(chosen_tag):
            raise ResourceError(f"source.tag: {shown(chosen_tag)} is not a valid tag (letters, digits, '_', '.', '-')")
        selection = Selection("tag", tag=chosen_tag, tag_explicit=tag is not None)

    policy, timeout_text = _policy(src.object("scan", SCAN_KEYS), Policy(), "10m")
    ca_certs = src.strings("ca_certs")
    for index, pem in enumerate(ca_certs):
        if "-----BEGIN CERTIFICATE-----" not in pem:
            raise ResourceError(f"source.ca_certs[{index}]: must be a PEM certificate (-----BEGIN CERTIFICATE----- …)")
    debug = src.boolean("debug", False)
    return Source(
        url=f"{parts.scheme}://{host}",
        scheme=parts.scheme,
        host=host,
        repository=repository,
        project=project,
        name=name,
        username=username.strip() if username is not None else None,
        password=password,
        selection=selection,
        scan=policy,
        scan_timeout_text=timeout_text,
        ca_certs=ca_certs,
        insecure=insecure,
        debug=debug,
    )


def _version(value: Any, required: bool) -> Version | None:
    if value is None:
        if required:
            raise ResourceError("version: required (Concourse passes the version to fetch)")
        return None
    if isinstance(value, dict) and not value and not required:
        return None
    obj = _Object(value, "version", ("tag", "digest"))
    tag = obj.string("tag", required=True)
    digest = obj.string("digest", required=True)
    assert tag is not None and digest is not None
    if not TAG_RE.fullmatch(tag):
        raise ResourceError(
            f"version.tag: {shown(tag)} is not a valid tag (letters, digits, '_', '.', '-'; at most 128; "
            f"not starting with '.' or '-'); pin a version this resource emitted"
        )
    if not DIGEST_RE.fullmatch(digest):
        raise ResourceError(f"version.digest: {shown(digest)} is not a digest like sha256:<64 hex>")
    return Version(tag, digest)


def _payload(text: str, allowed: tuple[str, ...]) -> _Object:
    try:
        document = json.loads(text)
    except RecursionError:
        raise ResourceError('stdin: the JSON payload is nested too deeply; Concourse sends {"source": …}') from None
    except ValueError as problem:
        raise ResourceError(
            f'stdin: not a JSON payload ({plain(str(problem), 120)}); Concourse sends {{"source": …}}'
        ) from None
    return _Object(document, "payload", allowed)


def _first_source(payload: _Object) -> Any:
    if payload.value.get("source") is None:
        raise ResourceError("source: required (the resource's source configuration)")
    return payload.value["source"]


def decode_check(text: str) -> CheckRequest:
    payload = _payload(text, ("source", "version"))
    return CheckRequest(_source(_first_source(payload)), _version(payload.value.get("version"), required=False))


def decode_in(text: str) -> InRequest:
    payload = _payload(text, ("source", "version", "params"))
    source = _source(_first_source(payload))
    version = _version(payload.value.get("version"), required=True)
    assert version is not None
    params = _Object(payload.value.get("params"), "params", GET_PARAM_KEYS, required=False)
    fmt = params.string("format", "rootfs")
    if fmt not in ("rootfs", "oci", "oci-layout"):
        raise ResourceError(f"params.format: must be rootfs, oci or oci-layout (got {shown(fmt)})")
    result = GetParams(
        format=_literal(fmt),
        skip_download=params.boolean("skip_download", False),
        gate=params.boolean("gate", True),
    )
    return InRequest(source, version, result)


def _literal(fmt: str | None) -> Format:
    if fmt == "oci":
        return "oci"
    if fmt == "oci-layout":
        return "oci-layout"
    return "rootfs"


def decode_out(text: str) -> OutRequest:
    payload = _payload(text, ("source", "params"))
    source = _source(_first_source(payload))
    params = _Object(payload.value.get("params"), "params", PUT_PARAM_KEYS, required=False)
    image = params.string("image", required=True, hint=" (path or glob of the image to push, e.g. image/image.tar)")
    assert image is not None
    version = _optional_nonempty(params, "version")
    additional = _optional_nonempty(params, "additional_tags")
    prefix = params.string("tag_prefix")
    if prefix is not None and additional is None:
        raise ResourceError("params.tag_prefix: only applies to additional_tags; add additional_tags or remove it")
    policy, timeout_text = _policy(params.object("scan", SCAN_KEYS), source.scan, source.scan_timeout_text)
    return OutRequest(source, PutParams(image.strip(), version, additional, prefix, policy, timeout_text))


def _optional_nonempty(params: _Object, key: str) -> str | None:
    value = params.string(key)
    if value is not None and not value.strip():
        raise ResourceError(f"params.{key}: must not be empty; remove it or give a value")
    return value.strip() if value is not None else None


def _base_url(text: str) -> tuple[SplitResult, str]:
    """``scheme://host[:port]`` checked the way http.client and skopeo will use it; returns (parts, host[:port])."""
    if _UNSAFE.search(text) or any(c.isspace() for c in text):
        raise ResourceError(f"source.url: {shown(text)} contains spaces or control characters; remove them")
    try:
        parts = urlsplit(text)
        port = parts.port
        hostname = parts.hostname
    except ValueError as problem:
        raise ResourceError(
            f"source.url: {shown(text)} is not a valid URL ({problem}); write it like https://harbor.example.com"
        ) from None
    if parts.scheme not in ("http", "https") or not parts.netloc or not hostname:
        raise ResourceError(f"source.url: {shown(text)} is not an http(s) URL; write it like https://harbor.example.com")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ResourceError(
            f"source.url: {shown(text)} must be Harbor's base URL without a path; "
            f"the API (/api/v2.0) and the registry (/v2/) are found under it"
        )
    if port == 0:
        raise ResourceError(f"source.url: port 0 in {shown(text)} is not a port; use 1-65535 or leave it out")
    if ":" not in hostname:  # a name (IPv6 literals are checked by urlsplit)
        try:
            encoded = hostname.encode("idna")
        except UnicodeError as problem:
            raise ResourceError(
                f"source.url: the host {shown(hostname, 60)} is not a valid host name ({problem}); "
                f"each label 1-63 characters, 253 in all"
            ) from None
        if len(encoded) > 253 or not re.fullmatch(r"[A-Za-z0-9_.-]+", encoded.decode("ascii")):
            raise ResourceError(
                f"source.url: the host {shown(hostname, 60)} is not a valid host name "
                f"(letters, digits, '-' and '.'; at most 253 characters)"
            )
    return parts, parts.netloc.lower()

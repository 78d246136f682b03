"""The resource's wire types, decoded strictly from the stdin payload (same rules as ``harbor_image.wire``).

Unknown keys, wrong types, a bad URL, status or duration raise :class:`ResourceError` with one line naming the key
and the fix (exit 1). Field tables: docs/spinnaker-pipeline.md (kept in sync by tests/resource/test_spinnaker_docs.py).
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from harbor_image.errors import ResourceError
from harbor_image.wire import DIGEST_RE, TAG_RE, _Object, parse_duration, plain, shown
from spinnaker_gate.auth import GateAuth
from spinnaker_gate.executions import ALL_STATUSES, FINAL_STATUSES

SOURCE_KEYS = (
    "url",
    "application",
    "pipeline",
    "username",
    "password",
    "token",
    "client_cert",
    "client_key",
    "statuses",
    "deck_url",
    "ca_certs",
    "insecure",
    "debug",
)
GET_PARAM_KEYS: tuple[str, ...] = ()
PUT_PARAM_KEYS = (
    "image_dir",
    "registry",
    "repository",
    "digest",
    "tag",
    "parameters",
    "wait",
    "timeout",
    "poll_interval",
)
VERSION_KEYS = ("id", "start_time")
MAX_ID = 128  # orca's execution ids are 26-character ULIDs; a longer one is not an id (and would flood messages)


class Source(NamedTuple):
    url: str
    application: str
    pipeline: str
    auth: GateAuth
    statuses: tuple[str, ...]
    deck_url: str | None
    ca_certs: tuple[str, ...]
    insecure: bool
    debug: bool

    def __repr__(self) -> str:
        return f"Source(url={self.url!r}, application={self.application!r}, pipeline={self.pipeline!r}, auth=***)"


class Version(NamedTuple):
    id: str
    start_time: str | None = None

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, **({"start_time": self.start_time} if self.start_time else {})}


class PutParams(NamedTuple):
    image_dir: str | None
    registry: str | None
    repository: str | None
    digest: str | None
    tag: str | None
    parameters: dict[str, str]
    wait: bool
    timeout: float
    timeout_text: str
    poll_interval: float


class CheckRequest(NamedTuple):
    source: Source
    version: Version | None


class InRequest(NamedTuple):
    source: Source
    version: Version


class OutRequest(NamedTuple):
    source: Source
    params: PutParams


def secrets_of(text: str) -> list[tuple[str, str | None]]:
    """(secret, username) pairs found in a raw payload, for redaction before strict decoding can echo anything."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):  # decoding reports it, naming the problem
        return []
    source = document.get("source") if isinstance(document, dict) else None
    if not isinstance(source, dict):
        return []
    username = source.get("username") if isinstance(source.get("username"), str) else None
    found: list[tuple[str, str | None]] = []
    for key in ("password", "token", "client_key"):
        value = source.get(key)
        if isinstance(value, str) and value:
            found.append((value, username if key == "password" else None))
    return found


def _url(src: _Object, key: str, insecure: bool, required: bool) -> str | None:
    text = src.string(key, required=required, hint=" (Gate's URL, e.g. https://gate.example.com:8084)")
    if text is None:
        return None
    text = text.strip()
    if "@" in text:
        raise ResourceError(f"source.{key}: must not contain credentials; use source.username and source.password")
    try:
        parts = urlsplit(text)
        port, hostname = parts.port, parts.hostname
    except ValueError as problem:
        raise ResourceError(
            f"source.{key}: {shown(text)} is not a valid URL ({plain(str(problem), 80)}); "
            "write it like https://gate.example.com"
        ) from None
    if parts.scheme not in ("http", "https") or not hostname or parts.query or parts.fragment:
        raise ResourceError(f"source.{key}: {shown(text)} is not an http(s) URL; write it like https://gate.example.com")
    if port == 0:
        raise ResourceError(f"source.{key}: port 0 in {shown(text)} is not a port; use 1-65535 or leave it out")
    if ":" not in hostname:  # a name (IPv6 literals are checked by urlsplit)
        try:
            hostname.encode("idna")
        except UnicodeError:
            raise ResourceError(
                f"source.{key}: the host {shown(hostname, 60)} is not a valid host name "
                "(each label 1-63 characters, 253 in all)"
            ) from None
    if key == "url" and parts.scheme == "http" and not insecure:
        raise ResourceError("source.url: plain http sends credentials in clear; use https, or set insecure: true")
    return text.rstrip("/")


def _pem(src: _Object, key: str, marker: str) -> str | None:
    value = src.string(key)
    if value is not None and marker not in value:
        raise ResourceError(f"source.{key}: must be a PEM string ({marker} …), not a path")
    return value


def _source(value: Any) -> Source:
    src = _Object(value, "source", SOURCE_KEYS)
    insecure = src.boolean("insecure", False)
    url = _url(src, "url", insecure, required=True)
    deck_url = _url(src, "deck_url", True, required=False)
    assert url is not None
    application = (src.string("application", required=True, hint=" (the Spinnaker application)") or "").strip()
    pipeline = (src.string("pipeline", required=True, hint=" (the pipeline's name as Deck shows it)") or "").strip()
    username, password = src.string("username"), src.string("password")
    if (username is None) != (password is None):
        missing, given = ("password", "username") if password is None else ("username", "password")
        raise ResourceError(f"source.{missing}: required when source.{given} is set (basic/LDAP login needs both)")
    token = src.string("token")
    if token is not None and not token.strip():
        raise ResourceError("source.token: must not be empty; remove it or give the bearer token")
    if token is not None and username is not None:
        raise ResourceError("source.token: exclusive with source.username/password; keep one way of logging in")
    cert = _pem(src, "client_cert", "-----BEGIN CERTIFICATE-----")
    key = _pem(src, "client_key", "PRIVATE KEY-----")
    if (cert is None) != (key is None):
        missing = "client_key" if key is None else "client_cert"
        raise ResourceError(f"source.{missing}: required for x509 (give the certificate and its key as PEM)")
    statuses = src.strings("statuses")
    for index, status in enumerate(statuses):
        if status.upper() not in ALL_STATUSES:
            raise ResourceError(
                f"source.statuses[{index}]: {shown(status)} is not an execution status; use {', '.join(ALL_STATUSES)}"
            )
    ca_certs = src.strings("ca_certs")
    for index, pem in enumerate(ca_certs):
        if "-----BEGIN CERTIFICATE-----" not in pem:
            raise ResourceError(f"source.ca_certs[{index}]: must be a PEM certificate (-----BEGIN CERTIFICATE----- …)")
    return Source(
        url=url,
        application=application,
        pipeline=pipeline,
        auth=GateAuth(username=username, password=password, token=token, client_cert=cert, client_key=key),
        statuses=tuple(dict.fromkeys(s.upper() for s in statuses)) or FINAL_STATUSES,
        deck_url=deck_url,
        ca_certs=ca_certs,
        insecure=insecure,
        debug=src.boolean("debug", False),
    )


def _version(value: Any, required: bool) -> Version | None:
    if value is None or (isinstance(value, dict) and not value and not required):
        if required:
            raise ResourceError("version: required (Concourse passes the version to fetch)")
        return None
    obj = _Object(value, "version", VERSION_KEYS)
    execution_id = obj.string("id", required=True)
    assert execution_id is not None
    if len(execution_id.strip()) > MAX_ID:
        raise ResourceError(
            f"version.id: {shown(execution_id)} is not an execution id (at most {MAX_ID} characters; orca's are 26)"
        )
    return Version(execution_id.strip(), obj.string("start_time"))


def _payload(text: str, allowed: tuple[str, ...]) -> _Object:
    try:
        document = json.loads(text)
    except RecursionError:
        raise ResourceError('stdin: the JSON payload is nested too deeply; Concourse sends {"source": …}') from None
    except ValueError as problem:
        raise ResourceError(
            f'stdin: not a JSON payload ({plain(str(problem), 120)}); Concourse sends {{"source": …}}'
        ) from None
    payload = _Object(document, "payload", allowed)
    if payload.value.get("source") is None:
        raise ResourceError("source: required (the resource's source configuration)")
    return payload


def decode_check(text: str) -> CheckRequest:
    payload = _payload(text, ("source", "version"))
    return CheckRequest(_source(payload.value["source"]), _version(payload.value.get("version"), required=False))


def decode_in(text: str) -> InRequest:
    payload = _payload(text, ("source", "version", "params"))
    source = _source(payload.value["source"])
    _Object(payload.value.get("params"), "params", GET_PARAM_KEYS, required=False)
    version = _version(payload.value.get("version"), required=True)
    assert version is not None
    return InRequest(source, version)


MAX_WAIT_SECONDS = 7 * 24 * 3600  # the longest params.timeout / params.poll_interval: a typo, not a wait


def _duration(params: _Object, key: str, default: str) -> tuple[float, str]:
    text = (params.string(key, default) or default).strip()
    try:
        seconds = parse_duration(text)
    except ValueError:
        raise ResourceError(f"params.{key}: {shown(text)} is not a duration; write it like 30m, 90s or 1h") from None
    if seconds <= 0:
        raise ResourceError(f"params.{key}: must be more than 0 (got {shown(text)})")
    if seconds > MAX_WAIT_SECONDS:
        raise ResourceError(f"params.{key}: at most 168h (7 days; got {shown(text)}); a put holds its Concourse "
                            f"container while it waits — for a longer manual judgment set wait: false")
    return seconds, text


def decode_out(text: str) -> OutRequest:
    payload = _payload(text, ("source", "params"))
    source = _source(payload.value["source"])
    params = _Object(payload.value.get("params"), "params", PUT_PARAM_KEYS, required=False)
    values = {key: params.string(key) for key in ("image_dir", "registry", "repository", "digest", "tag")}
    for key, value in values.items():
        if value is not None and not value.strip():
            raise ResourceError(f"params.{key}: must not be empty; remove it or give a value")
    if values["digest"] is not None and not DIGEST_RE.fullmatch(values["digest"].strip()):
        raise ResourceError(f"params.digest: {shown(values['digest'])} is not a digest like sha256:<64 hex>")
    if values["tag"] is not None and not TAG_RE.fullmatch(values["tag"].strip()):
        raise ResourceError(f"params.tag: {shown(values['tag'])} is not a valid tag (letters, digits, '_', '.', '-')")
    raw_parameters = params.value.get("parameters")
    parameters: dict[str, str] = {}
    if raw_parameters is not None:
        if not isinstance(raw_parameters, dict):
            raise ResourceError("params.parameters: must be an object of pipeline parameter names to values")
        for name, value in raw_parameters.items():
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise ResourceError(
                    f"params.parameters.{plain(str(name), 60)}: must be a string (Spinnaker parameters are strings)"
                )
            if isinstance(value, str) and any("\ud800" <= char <= "\udfff" for char in value):
                raise ResourceError(f"params.parameters.{plain(str(name), 60)}: contains a lone surrogate; not text")
            parameters[str(name)] = value if isinstance(value, str) else json.dumps(value)
    timeout, timeout_text = _duration(params, "timeout", "30m")
    poll_interval, _ = _duration(params, "poll_interval", "10s")
    wait = params.boolean("wait", False)
    if not wait and (params.has("timeout") or params.has("poll_interval")):
        key = "timeout" if params.has("timeout") else "poll_interval"
        raise ResourceError(f"params.{key}: only applies with wait: true; add wait: true or remove it")
    strip = {key: (value.strip() if value is not None else None) for key, value in values.items()}
    return OutRequest(
        source,
        PutParams(
            image_dir=strip["image_dir"],
            registry=strip["registry"],
            repository=strip["repository"],
            digest=strip["digest"],
            tag=strip["tag"],
            parameters=parameters,
            wait=wait,
            timeout=timeout,
            timeout_text=timeout_text,
            poll_interval=poll_interval,
        ),
    )

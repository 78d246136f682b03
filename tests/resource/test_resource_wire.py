"""Strict payload decoding: every mistake is one line naming the key and the fix, exit 1."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from harbor_image.errors import ResourceError
from harbor_image.wire import decode_check, decode_in, decode_out, parse_duration

PASSWORD = "pa55-Word-never-printed"
SOURCE: dict[str, Any] = {
    "url": "https://harbor.example.com",
    "repository": "team/app",
    "username": "robot$team+ci",
    "password": PASSWORD,
}
DIGEST = "sha256:" + "ab" * 32
BIN = Path(sys.executable).parent


def check_payload(**source: Any) -> str:
    merged = {**copy.deepcopy(SOURCE), **source}
    return json.dumps({"source": {k: v for k, v in merged.items() if v is not None}})


def error_of(decoder: Any, text: str) -> str:
    with pytest.raises(ResourceError) as caught:
        decoder(text)
    message = str(caught.value)
    assert "\n" not in message
    assert PASSWORD not in message
    return message


def test_defaults() -> None:
    request = decode_check(check_payload())
    source = request.source
    assert request.version is None
    assert (source.selection.mode, source.selection.tag, source.selection.tag_explicit) == ("tag", "latest", False)
    assert (source.project, source.name, source.host) == ("team", "app", "harbor.example.com")
    policy = source.scan
    assert (policy.enabled, policy.fail_on, policy.ignore_unfixed, policy.trigger, policy.timeout) == (
        True,
        "high",
        False,
        True,
        600.0,
    )
    assert policy.allowlist == frozenset()
    assert "pa55" not in repr(source)


def test_nested_repository_and_modes() -> None:
    source = decode_check(check_payload(repository="team/apps/web", semver=True, semver_constraint="~1.2")).source
    assert (source.project, source.name) == ("team", "apps/web")
    assert source.selection.mode == "semver"
    assert source.selection.semver.constraint is not None
    regex = decode_check(check_payload(tag_regex="release-.*")).source.selection
    assert regex.mode == "regex" and regex.regex is not None and regex.regex.fullmatch("release-1")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"url": None}, "source.url: required"),
        ({"url": "harbor.example.com"}, "source.url: 'harbor.example.com' is not an http(s) URL"),
        ({"url": "https://harbor.example.com/harbor"}, "source.url: 'https://harbor.example.com/harbor' must be"),
        ({"url": "http://harbor.example.com"}, "source.url: plain http sends the password in clear"),
        ({"url": "https://u:" + PASSWORD + "@harbor.example.com"}, "source.url: must not contain credentials"),
        ({"repository": "app"}, "source.repository: 'app' must be project/name"),
        ({"repository": "Team/App"}, "source.repository: 'Team/App' must be project/name in lowercase"),
        ({"repository": "harbor.example.com/team/app"}, "starts with a registry host"),
        ({"password": None}, "source.password: required when source.username is set"),
        ({"password": 12345}, "source.password: must be a string (got a number); quote it in YAML"),
        ({"tag": 1.1}, "source.tag: must be a string (got the number 1.1); quote it in YAML"),
        ({"tag": "bad tag"}, "source.tag: 'bad tag' is not a valid tag"),
        ({"tag": "x", "semver": True}, "source: tag and semver are exclusive"),
        ({"tag_regex": "(unclosed"}, "source.tag_regex: '(unclosed' is not a valid regular expression"),
        ({"semver": True, "semver_constraint": ">= bar"}, "source.semver_constraint: improper constraint"),
        ({"semver_constraint": "1.2.x"}, "source.semver_constraint: only applies with semver: true"),
        ({"semver": True, "pre_release_prefixes": ["build"]}, "source.pre_release_prefixes: needs pre_releases: true"),
        ({"semver": "yes"}, 'source.semver: must be true or false (got a string "yes")'),
        (
            {"scan": {"fail_on": "severe"}},
            "source.scan.fail_on: must be one of negligible, low, medium, high, critical",
        ),
        ({"scan": {"timeout": "ten minutes"}}, "source.scan.timeout: 'ten minutes' is not a duration"),
        ({"scan": {"timeout": "0s"}}, "source.scan.timeout: must be more than 0"),
        ({"scan": {"timeout": "99999999999999999999h"}}, "source.scan.timeout: at most 24h"),
        ({"scan": {"allowlist": "CVE-1"}}, "source.scan.allowlist: must be a list of strings"),
        ({"scan": {"trigerr": False}}, "source.scan: unknown key 'trigerr' (did you mean 'trigger'?)"),
        ({"scan": []}, "source.scan: must be an object (got a list)"),
        ({"ca_certs": ["not a pem"]}, "source.ca_certs[0]: must be a PEM certificate"),
        ({"ca_certs": "-----BEGIN CERTIFICATE-----"}, "source.ca_certs: must be a list of strings"),
        ({"tag_regx": "x"}, "source: unknown key 'tag_regx' (did you mean 'tag_regex'?); remove it"),
    ],
)
def test_source_errors_name_the_key_and_the_fix(change: dict[str, Any], expected: str) -> None:
    assert expected in error_of(decode_check, check_payload(**change))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "stdin: not a JSON payload"),
        ("[]", "payload: must be an object (got a list)"),
        ("{}", "source: required"),
        (json.dumps({"source": SOURCE, "versions": {}}), "payload: unknown key 'versions' (did you mean 'version'?)"),
        (json.dumps({"source": SOURCE, "version": {"tag": "x"}}), "version.digest: required"),
        (
            json.dumps({"source": SOURCE, "version": {"tag": "x", "digest": "abc"}}),
            "version.digest: 'abc' is not a digest",
        ),
    ],
)
def test_payload_errors(text: str, expected: str) -> None:
    assert expected in error_of(decode_check, text)


def test_in_params() -> None:
    base = {"source": SOURCE, "version": {"tag": "1.0.0", "digest": DIGEST}}
    request = decode_in(json.dumps(base))
    assert (request.params.format, request.params.skip_download, request.params.gate) == ("rootfs", False, True)
    assert "version: required" in error_of(decode_in, json.dumps({"source": SOURCE}))
    assert "params.format: must be rootfs, oci or oci-layout (got 'tar')" in error_of(
        decode_in, json.dumps({**base, "params": {"format": "tar"}})
    )
    assert "params: unknown key 'platform'" in error_of(decode_in, json.dumps({**base, "params": {"platform": {}}}))


def test_out_params_and_scan_overrides() -> None:
    base = {
        "source": {**SOURCE, "scan": {"fail_on": "critical", "timeout": "5m"}},
        "params": {"image": "image/image.tar"},
    }
    request = decode_out(json.dumps(base))
    assert request.params.scan.fail_on == "critical" and request.params.scan.timeout == 300
    override = decode_out(json.dumps({**base, "params": {"image": "i", "scan": {"timeout": "90s", "enabled": False}}}))
    assert override.params.scan.timeout == 90 and not override.params.scan.enabled
    assert override.params.scan.fail_on == "critical"  # unchanged keys come from source.scan
    assert "params.image: required" in error_of(decode_out, json.dumps({"source": SOURCE, "params": {}}))
    assert "params.tag_prefix: only applies to additional_tags" in error_of(
        decode_out, json.dumps({"source": SOURCE, "params": {"image": "i", "tag_prefix": "v"}})
    )
    assert "params: unknown key 'bump_aliases'" in error_of(
        decode_out, json.dumps({"source": SOURCE, "params": {"image": "i", "bump_aliases": True}})
    )


@pytest.mark.parametrize(
    ("text", "seconds"), [("10m", 600), ("1h30m", 5400), ("90s", 90), ("1.5m", 90), ("250ms", 0.25)]
)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "10", "10 m", "m", "1d", "-5m", "\u0663h", "\uff11h", "1h\n"])
def test_bad_durations(text: str) -> None:
    # "\u0663h": an Arabic-Indic digit, which Python's \\d and float() take and Go's ParseDuration does not
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("timeout", "accepted"),
    [("24h", True), ("1440m", True), ("86400s", True), ("23h59m60s", True), ("24h0m1s", False),
     ("86400.001s", False), ("1441m", False), ("1e400h", False), ("9" * 400 + "h", False)],
)  # fmt: skip
def test_scan_timeout_upper_bound_is_24h_in_any_unit(timeout: str, accepted: bool) -> None:
    text = json.dumps({"source": {**SOURCE, "scan": {"timeout": timeout}}})
    if accepted:
        assert decode_check(text).source.scan.timeout == 86400
    else:
        assert "source.scan.timeout: " in error_of(decode_check, text)


# -- through the installed executables, exactly as Concourse runs them -------------------------------------------


def run(command: str, payload: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUILD_")}
    return subprocess.run(
        [str(BIN / command), *args], input=payload, capture_output=True, text=True, timeout=60, env=env, check=False
    )


@pytest.mark.parametrize("command", ["harbor-image-check", "harbor-image-in", "harbor-image-out"])
def test_executables_refuse_bad_payloads_with_exit_1(command: str, tmp_path: Path) -> None:
    payload = json.dumps({"source": {**SOURCE, "password": PASSWORD, "scan": {"fail_on": "severe"}}})
    done = run(command, payload, *([] if command.endswith("check") else [str(tmp_path)]))
    assert done.returncode == 1
    assert done.stdout == ""
    assert "source.scan.fail_on: must be one of" in done.stderr
    assert PASSWORD not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["harbor-image-in", "harbor-image-out"])
def test_missing_directory_argument_is_a_usage_error(command: str) -> None:
    done = run(command, json.dumps({"source": SOURCE}))
    assert done.returncode == 2
    assert "usage:" in done.stderr and done.stdout == ""


def test_a_mistyped_password_is_not_echoed() -> None:
    done = run("harbor-image-check", json.dumps({"source": {**SOURCE, "password": ["x" + PASSWORD]}}))
    assert done.returncode == 1 and PASSWORD not in done.stderr
    done = run("harbor-image-check", json.dumps({"source": {**SOURCE, "semver": PASSWORD}}))
    assert done.returncode == 1 and PASSWORD not in done.stderr

"""Issue 9 (resource half): one test per kind of broken promise, against the real executables where possible.

Kinds: redaction of echoed secrets; credentials on disk (SIGTERM/SIGKILL); image contents (device nodes,
setuid/setgid); paths outside the put's directory; every wait bounded (fault server: drip, chunked drip, header
drip, huge bodies, reset, 429/503; FIFO and /dev/zero images; catastrophic tag_regex); bad input is one line;
the small messages (plain http without a password, TLS with ca_certs, the 429 give-up).
"""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import stat
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fault_server import Fault, FaultServer
from harbor_double import Outcome
from harbor_image.errors import ResourceError, harbor_error_text
from harbor_image.tagregex import BoundedRegex
from resource_helpers import BUILD_ENV, Resource, Team
from shiplane_http.redact import Redactor

PASSWORD = "correct horse  battery staple-é€😀\"'<&>%/\\"
USER = "robot$team+ci"


Done = subprocess.CompletedProcess[str]


def check_with_deadline(payload: Any, deadline: float, tmp_path: Path) -> tuple[Done, float]:
    """harbor-image-check's own code (cli._main) with a short command deadline, as a separate process."""
    code = (
        "import sys, harbor_image.cli as c; "
        f"c.CHECK_DEADLINE = {deadline}; sys.exit(c._main('check', ['check'], c._check))"
    )
    env = {**os.environ, "HARBOR_IMAGE_CACHE_DIR": str(tmp_path / "cache")}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", code], input=json.dumps(payload), capture_output=True, text=True, timeout=120, env=env,
        check=False,
    )
    return done, time.monotonic() - started


def assert_one_line_failure(done: subprocess.CompletedProcess[str], *secrets: str) -> str:
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    assert not any(ch in done.stderr for ch in "\x1b\x00\r")
    for secret in secrets:
        assert secret not in done.stderr
    return lines[0]


# -- redaction -----------------------------------------------------------------------------------------------


def echoed_forms(password: str, username: str = USER) -> dict[str, str]:
    """The ways a server may echo the password (or the Basic credentials)."""
    basic = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {
        "raw": password,
        "json-ascii": json.dumps(password)[1:-1],
        "json-utf8": json.dumps(password, ensure_ascii=False)[1:-1],
        "json-upper-hex": json.dumps(password)[1:-1].replace("\\u00e9", "\\u00E9").replace("\\u20ac", "\\u20AC"),
        "repr": repr(password)[1:-1],
        "url": quote(password, safe=""),
        "url-lower": quote(password, safe="").lower(),
        "url-plus": quote(password, safe="").replace("%20", "+"),
        "basic": basic,
        "basic-unpadded": basic.rstrip("="),
        "collapsed": " ".join(password.split()),
        "json-in-json": json.dumps(json.dumps(password))[1:-1],
    }


@pytest.mark.parametrize("form", sorted(echoed_forms(PASSWORD)))
def test_every_echoed_form_is_redacted(form: str) -> None:
    redactor = Redactor()
    redactor.add(PASSWORD, USER)
    echoed = echoed_forms(PASSWORD)[form]
    text = redactor.one_line(f"unauthorized: user {USER} password [{echoed}] rejected")
    assert "***" in text
    for value in echoed_forms(PASSWORD).values():
        assert value not in text
    assert "battery" not in text and "horse" not in text


def test_redaction_before_the_cut_and_no_trailing_partial() -> None:
    redactor = Redactor()
    redactor.add(PASSWORD, USER)
    for offset in range(580, 610):  # the password straddles the 600-character cut
        body = json.dumps({"errors": [{"code": "UNAUTHORIZED", "message": "x" * offset + PASSWORD + " tail"}]})
        text = harbor_error_text(body.encode(), redactor)
        assert len(text) <= 600
        for length in range(3, len(PASSWORD)):
            assert not text.rstrip("…").endswith(PASSWORD[:length]), (offset, text[-30:])
        assert "correct" not in text[-40:] or "***" in text
    # a server that cut the password itself: its beginning is not printed either
    assert harbor_error_text(b"bad password: correct hor", redactor) == "bad password: ***"
    # a body larger than what is read: redacted whole, then cut
    big = b"y" * 70_000 + PASSWORD.encode()
    assert "correct" not in harbor_error_text(big, redactor)


def test_double_space_password_echoed_by_harbor_in_a_401(tmp_path: Path) -> None:
    body = json.dumps({"errors": [{"code": "UNAUTHORIZED", "message": f"invalid password {PASSWORD}"}]}).encode()
    server = FaultServer(Fault("status", status=401, body=body))
    try:
        source = {"url": server.url, "insecure": True, "repository": "team/app", "username": USER, "password": PASSWORD}
        done, _ = check_with_deadline({"source": source}, 20, tmp_path)
    finally:
        server.stop()
    line = assert_one_line_failure(done, *echoed_forms(PASSWORD).values())
    assert "401" in line and "***" in line and "check source.username and source.password" in line


# -- every wait bounded: the fault server --------------------------------------------------------------------

DEADLINE = 4.0
FAULTS = {
    "drip": (Fault("drip", interval=1.0), "before the command's deadline"),
    "chunked-drip": (Fault("chunked-drip", interval=1.0), "before the command's deadline"),
    "header-drip": (Fault("header-drip", interval=1.0), "before the command's deadline"),
    "huge-length": (Fault("huge-length"), "larger than 16 MiB (Content-Length 1500000000), the limit for an artifact"),
    "huge-chunked": (Fault("huge-chunked"), "larger than 16 MiB (more than 16777216 bytes read), the limit for"),
    "reset": (Fault("reset"), "Connection reset by peer; giving up"),
    "429": (Fault("status", status=429, headers={"Retry-After": "120"}), "Retry-After: '120'"),
    "503": (Fault("status", status=503, headers={"Retry-After": "1"}, body=b"{}"), "answered 503"),
}


@pytest.mark.parametrize("kind", sorted(FAULTS))
def test_fault_server_answers_end_in_one_line_within_the_deadline(kind: str, tmp_path: Path) -> None:
    fault, expected = FAULTS[kind]
    server = FaultServer(fault)
    try:
        source = {"url": server.url, "insecure": True, "repository": "team/app", "username": USER, "password": PASSWORD}
        done, elapsed = check_with_deadline({"source": source}, DEADLINE, tmp_path)
    finally:
        server.stop()
    line = assert_one_line_failure(done, PASSWORD)
    assert expected in line, line
    assert "GET http://127.0.0.1" in line  # the request is named
    assert elapsed < DEADLINE + 6, f"{kind} took {elapsed:.1f}s"


def test_a_dripping_http10_body_is_cut_at_the_request_budget() -> None:
    # an HTTP/1.0 answer (or Connection: close) makes http.client drop conn.sock while the body is still read from
    # it; the watchdog must still reach the socket, or a drip keeps the read alive far past every budget
    import http.server
    import threading

    from harbor_image.log import Log
    from shiplane_http import Transport, TransportError

    stop = threading.Event()

    class Drip(http.server.BaseHTTPRequestHandler):  # answers HTTP/1.0
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "10000000")
            self.end_headers()
            while not stop.wait(0.5):
                self.wfile.write(b" ")
                self.wfile.flush()

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Drip)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        transport = Transport(f"http://127.0.0.1:{server.server_address[1]}", Log(io.StringIO()),
                              time.monotonic() + 60, service="Gate", url_field="source.url",
                              ca_field="source.ca_certs", attempts=1, request_timeout=2.0)
        started = time.monotonic()
        with pytest.raises(TransportError) as caught:
            transport.request("GET", "/x")
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
    assert "no complete answer within 2s" in str(caught.value)
    assert elapsed < 10, f"took {elapsed:.1f}s"


def test_429_give_up_says_how_many_attempts_and_what_retry_after_asked(tmp_path: Path) -> None:
    server = FaultServer(Fault("status", status=429, headers={"Retry-After": "0"}, body=b"{}"))
    try:
        source = {"url": server.url, "insecure": True, "repository": "team/app"}
        done, _ = check_with_deadline({"source": source}, 30, tmp_path)
    finally:
        server.stop()
    line = assert_one_line_failure(done)
    assert "answered 429 to all 5 attempts (last Retry-After: '0')" in line and "rate-limiting" in line
    assert server.requests == 5


def test_a_warning_before_a_fatal_error_is_not_printed(tmp_path: Path) -> None:
    # a listing first reads the project's pull policy; a 404 there only warns ("cannot read project … project:read"),
    # the 404 on the listing that follows is fatal: the run's one line is the error, the warning is dropped
    server = FaultServer(Fault("status", status=404, body=b"{}"))
    try:
        source = {"url": server.url, "insecure": True, "repository": "team/app", "tag_regex": ".*"}
        done, _ = check_with_deadline({"source": source}, 30, tmp_path)
    finally:
        server.stop()
    line = assert_one_line_failure(done)
    assert line.startswith("check: repository team/app not found"), line
    assert server.requests >= 2  # the policy was read (and its warning held back) before the fatal request


def test_held_lines_are_written_on_success_dropped_on_failure_and_live_with_debug() -> None:
    from harbor_image.log import Log

    stream = io.StringIO()
    log = Log(stream)
    with log.held():
        log.info("a warning")
        log.debug("not shown")
        assert stream.getvalue() == ""
    assert stream.getvalue() == "a warning\n"
    stream.truncate(0)
    stream.seek(0)
    with pytest.raises(ResourceError), log.held():
        log.info("noise before the error")
        raise ResourceError("fatal")
    assert stream.getvalue() == ""
    log.info("after")  # nothing is held any longer
    assert stream.getvalue() == "after\n"
    debugging = Log(stream := io.StringIO(), debug=True)
    with debugging.held():
        debugging.info("live")
        assert stream.getvalue() == "live\n"


def test_catastrophic_tag_regex_is_stopped_with_a_clear_line(team: Team, resource: Resource) -> None:
    team.harbor.seed("team/app", 3, tags=lambda i: ["1" * 40 + "x" + str(i)], scan=Outcome.clean())
    started = time.monotonic()
    run = resource.check(team.source(tag_regex="(1+)+"))
    elapsed = time.monotonic() - started
    assert run.returncode == 1 and len(run.stderr.splitlines()) == 1
    assert run.stderr.startswith("check: source.tag_regex: '(1+)+' took more than 2s")
    assert elapsed < 30


def test_bounded_regex_budget_and_safe_patterns() -> None:
    import re

    safe = BoundedRegex(re.compile(r"[0-9]+(\.[0-9]+)*"))
    assert all(safe.fullmatch(f"1.{i}.{i}") for i in range(20_000))
    assert safe.fullmatch("1.x") is None
    evil = BoundedRegex(re.compile(r"(1+)+"), budget=0.3)
    started = time.monotonic()
    with pytest.raises(ResourceError, match=r"source\.tag_regex: .*backtracks catastrophically"):
        evil.fullmatch("1" * 64 + "x")
    assert time.monotonic() - started < 2
    with pytest.raises(ResourceError):  # the budget is spent for the rest of the command
        evil.fullmatch("1")


# -- credentials on disk -------------------------------------------------------------------------------------


def _files_with(root: Path, needles: list[bytes]) -> list[Path]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if any(needle in data for needle in needles):
                found.append(path)
    return found


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_put_interrupted_during_the_scan_wait_leaves_no_credentials(
    how: str, team: Team, resource: Resource, images: Any, tmp_path: Path
) -> None:
    team.harbor.scanner.set_default(Outcome.clean(duration=3600))
    image = images.build("interrupted-put")
    src = tmp_path / "build" / "image"
    src.mkdir(parents=True)
    import shutil

    shutil.copy(images.docker_archive(image), src / "image.tar")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    payload = {"source": team.source(), "params": {"image": "image/image.tar", "version": "1.0.0"}}
    token = base64.b64encode(f"{team.username}:{team.password}".encode())
    needles = [team.password.encode(), token]
    env = {**os.environ, **BUILD_ENV, "TMPDIR": str(tmp), "HARBOR_IMAGE_CACHE_DIR": str(tmp_path / "cache")}
    bin_dir = Path(sys.executable).parent
    stderr_path = tmp_path / "stderr"
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            [str(bin_dir / "harbor-image-out"), str(tmp_path / "build")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env, text=True,
        )  # fmt: skip
        assert process.stdin is not None
        process.stdin.write(json.dumps(payload))
        process.stdin.close()
        deadline = time.monotonic() + 120
        while "pushing" not in stderr_path.read_text() and time.monotonic() < deadline:
            # while skopeo runs, the credentials are in no file anywhere under TMPDIR or /dev/shm
            assert _files_with(tmp, needles) == []
            time.sleep(0.05)
        # now in the scan wait
        while not any(r.path.endswith("/scan") for r in team.harbor.requests) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert process.poll() is None, stderr_path.read_text()
        assert _files_with(tmp, needles) == [] and _files_with(Path("/dev/shm"), needles) == []
        process.send_signal(signal.SIGTERM if how == "SIGTERM" else signal.SIGKILL)
        returncode = process.wait(timeout=30)
        assert process.stdout is not None and process.stdout.read() == ""
    assert _files_with(tmp, needles) == [] and _files_with(Path("/dev/shm"), needles) == []
    if how == "SIGTERM":
        assert returncode == 143
        assert stderr_path.read_text().splitlines()[-1] == "out: terminated (SIGTERM)"
        assert list(tmp.iterdir()) == []  # the private directory went too
    else:
        assert returncode == -signal.SIGKILL


# -- image contents --------------------------------------------------------------------------------------------


def _hostile_layer(path: Path) -> None:
    with tarfile.open(path, "w") as tar:
        for name, kind, mode in (
            ("dev/", tarfile.DIRTYPE, 0o755),
            ("dev/mem", tarfile.CHRTYPE, 0o666),
            ("dev/sda", tarfile.BLKTYPE, 0o660),
            ("usr/", tarfile.DIRTYPE, 0o755),
            ("usr/bin/", tarfile.DIRTYPE, 0o755),
            ("usr/bin/su", tarfile.REGTYPE, 0o4755),
            ("usr/bin/wall", tarfile.REGTYPE, 0o2755),
            ("usr/bin/plain", tarfile.REGTYPE, 0o755),
        ):
            info = tarfile.TarInfo(name.rstrip("/"))
            info.type, info.mode = kind, mode
            if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
                info.devmajor, info.devminor = (1, 1) if kind == tarfile.CHRTYPE else (8, 0)
            data = b"#!/bin/sh\n" if kind == tarfile.REGTYPE else b""
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_get_rootfs_has_no_device_nodes_and_no_setuid(
    team: Team, resource: Resource, images: Any, tmp_path: Path
) -> None:
    team.harbor.scanner.set_default(Outcome.clean())
    base = images.build("hostile-rootfs")
    layout = tmp_path / "build" / "image" / "layout"
    import shutil

    shutil.copytree(base.layout, layout)
    _hostile_layer(tmp_path / "hostile.tar")
    subprocess.run(
        ["umoci", "raw", "add-layer", "--image", f"{layout}:{base.tag}", str(tmp_path / "hostile.tar")], check=True
    )
    subprocess.run(["umoci", "gc", "--layout", str(layout)], check=True)
    source = team.source(tag="hostile")
    put = resource.put(tmp_path / "build", source, image="image/layout")
    version = put.output["version"]
    dest = tmp_path / "get"
    run = resource.get(dest, source, version)
    assert run.returncode == 0, run.stderr
    rootfs = dest / "rootfs"
    assert (rootfs / "usr/bin/plain").is_file()
    assert not os.path.lexists(rootfs / "dev/mem") and not os.path.lexists(rootfs / "dev/sda")
    for name in ("su", "wall", "plain"):
        mode = (rootfs / "usr/bin" / name).stat().st_mode
        assert not mode & (stat.S_ISUID | stat.S_ISGID), name
    for path in rootfs.rglob("*"):
        mode = path.lstat().st_mode
        assert not (stat.S_ISCHR(mode) or stat.S_ISBLK(mode)), path
    assert "removed 2 device node(s) and cleared setuid/setgid on 2 file(s)" in run.stderr


def test_rootless_placeholders_of_device_nodes_are_removed_and_nothing_else(tmp_path: Path) -> None:
    # What a non-root `umoci raw unpack --rootless` leaves for a device node: an empty regular file with the header's
    # mode and a warning naming it (umoci oci/layer/tar_extract.go). The names come from umoci's log, so a name that
    # leads outside the rootfs, a file a later layer filled, or a directory must not be touched.
    from harbor_image.skopeo import remove_rootless_placeholders

    rootfs = tmp_path / "rootfs"
    (rootfs / "dev" / "dir").mkdir(parents=True)
    for name in ("mem", "sda", "brace}name"):
        (rootfs / "dev" / name).touch(mode=0o666)
    (rootfs / "dev" / "filled").write_text("a later layer put a real file here")
    outside = tmp_path / "outside"
    outside.touch()
    (rootfs / "escape").symlink_to(tmp_path)
    log = "\n".join(
        f"   \u2022 rootless{{{name}}} creating empty file in place of device 1:1"
        for name in ("dev/mem", "/dev/sda", "dev/brace}name", "dev/filled", "dev/dir", "../outside", "escape/outside",
                     "dev/missing")
    ) + "\n   \u2022 unpacked image rootfs: rootfs\n"
    assert remove_rootless_placeholders(str(rootfs), log) == 3
    assert sorted(p.name for p in (rootfs / "dev").iterdir()) == ["dir", "filled"]
    assert outside.exists() and (rootfs / "escape").is_symlink()
    assert remove_rootless_placeholders(str(rootfs), "") == 0


# -- paths outside the build directory -----------------------------------------------------------------------

CANARY = "root:$6$canary-first-line-never-printed"


def _put_dir(tmp_path: Path) -> tuple[Path, Path]:
    src = tmp_path / "build"
    (src / "image").mkdir(parents=True)
    outside = tmp_path / "shadow"
    outside.write_text(CANARY + "\nsecond\n")
    (src / "tags-link").symlink_to(outside)
    (src / "image" / "link.tar").symlink_to(outside)
    (src / "image" / "zero").symlink_to("/dev/zero")
    os.mkfifo(src / "image" / "fifo")
    os.mkfifo(src / "tags-fifo")
    (src / "bad-tags").write_text(CANARY + "\n")
    (src / "index-not-json").mkdir()
    return src, outside


def _out(src: Path, params: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    source = {"url": "https://127.0.0.1:1", "repository": "team/app", "username": USER, "password": PASSWORD}
    bin_dir = Path(sys.executable).parent
    return subprocess.run(  # noqa: PLW1510 - the return code is what is tested
        [str(bin_dir / "harbor-image-out"), str(src)],
        input=json.dumps({"source": source, "params": params}),
        capture_output=True, text=True, timeout=60, env={**os.environ, **BUILD_ENV},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"image": "/etc/hostname", "version": "1"}, "params.image: '/etc/hostname' is an absolute path"),
        ({"image": "../shadow", "version": "1"}, "params.image: '../shadow' resolves outside the put's directory"),
        ({"image": "image/link.tar", "version": "1"}, "resolves outside the put's directory"),
        ({"image": "image/zero", "version": "1"}, "resolves outside the put's directory"),
        ({"image": "image/fifo", "version": "1"}, "is not a regular file (a FIFO, socket or device)"),
        ({"image": "image/l*.tar", "version": "1"}, "resolves outside the put's directory"),
        ({"image": "x", "additional_tags": "/etc/shadow"}, "'/etc/shadow' resolves outside the put's directory"),
        ({"image": "x", "additional_tags": "../shadow"}, "resolves outside the put's directory"),
        ({"image": "x", "additional_tags": "tags-link"}, "resolves outside the put's directory"),
        ({"image": "x", "additional_tags": "tags-fifo"}, "is not a regular file (a FIFO, socket or device)"),
        ({"image": "x", "additional_tags": "bad-tags"}, "word 1 of 'bad-tags' is not a valid tag"),
    ],
)
def test_put_paths_stay_in_the_build_directory(params: dict[str, Any], expected: str, tmp_path: Path) -> None:
    src, _ = _put_dir(tmp_path)
    started = time.monotonic()
    done = _out(src, params)
    assert time.monotonic() - started < 30
    line = assert_one_line_failure(done, PASSWORD, CANARY, "canary")
    assert expected in line, line


def test_oci_archive_with_a_broken_index(tmp_path: Path) -> None:
    src = tmp_path / "build"
    (src / "image").mkdir(parents=True)
    for name, index in (("not-json.tar", b"{not json"), ("no-digest.tar", b'{"manifests": [{"size": 1}]}')):
        with tarfile.open(src / "image" / name, "w") as tar:
            for member, data in (("oci-layout", b'{"imageLayoutVersion": "1.0.0"}'), ("index.json", index)):
                info = tarfile.TarInfo(member)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    line = assert_one_line_failure(_out(src, {"image": "image/not-json.tar", "version": "1"}))
    assert "params.image: not-json.tar: index.json: not JSON" in line
    line = assert_one_line_failure(_out(src, {"image": "image/no-digest.tar", "version": "1"}))
    assert "params.image: no-digest.tar: index.json gives the image no valid digest" in line


# -- bad input: one clear line naming the key -------------------------------------------------------------------

BASE = {"url": "https://127.0.0.1:1", "repository": "team/app", "username": USER, "password": "s3cret-pw"}


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ('{"source": ' * 1000 + "{}" + "}" * 1000, "stdin: the JSON payload is nested too deeply"),
        (json.dumps({"source": {**BASE, "password": "\ud800"}}), "source.password: contains a lone surrogate"),
        (json.dumps({"source": {**BASE, "username": "a\ud800"}}), "source.username: contains a lone surrogate"),
        (json.dumps({"source": {**BASE, "url": "https://h:99999"}}), "source.url: 'https://h:99999' is not a valid"),
        (json.dumps({"source": {**BASE, "url": "https://h:abc"}}), "source.url: 'https://h:abc' is not a valid URL"),
        (json.dumps({"source": {**BASE, "url": "http://[::1"}}), "source.url: 'http://[::1' is not a valid URL"),
        (json.dumps({"source": {**BASE, "url": "https://h\u0000x"}}), "source.url: contains the control character"),
        (json.dumps({"source": {**BASE, "url": "https://" + "a" * 64 + ".com"}}), "is not a valid host name"),
        (json.dumps({"source": {**BASE, "url": "https://h:0"}}), "source.url: port 0"),
        (json.dumps({"source": {**BASE, "tag": "a\nb"}}), "source.tag: contains the control character \\x0a"),
        (json.dumps({"source": {**BASE, "\x1b[31mred": 1}}), "source: unknown key '\\x1b[31mred'"),
        (json.dumps({"source": {**BASE, **{f"k{i}": 1 for i in range(50)}}}), "and 47 more"),
        (json.dumps({"source": {**BASE, "repository": "x" * 5000}}), "must be project/name"),
        (json.dumps({"source": {**BASE, "tag_regex": "(" * 5000 + ")" * 5000}}), "source.tag_regex: '((((("),
        (json.dumps({"source": {**BASE, "tag_regex": "(a"}}), "source.tag_regex: '(a' is not a valid regular"),
        (json.dumps({"source": BASE, "version": {"tag": "../../x", "digest": "sha256:" + "a" * 64}}), "version.tag"),
    ],
)
def test_bad_input_is_one_clear_line(payload: str, expected: str, tmp_path: Path) -> None:
    resource = Resource(tmp_path / "cache")
    command = "harbor-image-in" if "version" in payload else "harbor-image-check"
    dest = tmp_path / "dest"
    dest.mkdir()
    args = [str(dest)] if command == "harbor-image-in" else []
    run = resource.raw(command, payload, *args)
    assert run.returncode == 1 and run.stdout == ""
    assert len(run.stderr.splitlines()) == 1, run.stderr
    assert expected in run.stderr, run.stderr
    assert "internal error" not in run.stderr and "\x1b" not in run.stderr and "s3cret-pw" not in run.stderr
    assert len(run.stderr) < 1200
    assert list(dest.iterdir()) == []  # nothing written before the payload is known to be good


def test_plain_http_without_a_password_does_not_mention_one(tmp_path: Path) -> None:
    run = Resource(tmp_path / "cache").raw(
        "harbor-image-check", json.dumps({"source": {"url": "http://h.example", "repository": "team/app"}})
    )
    assert "is neither encrypted nor authenticated" in run.stderr and "password" not in run.stderr
    run = Resource(tmp_path / "cache").raw("harbor-image-check", json.dumps({"source": {**BASE, "url": "http://h"}}))
    assert "plain http sends the password in clear" in run.stderr


def test_tls_failure_with_ca_certs_does_not_say_add_the_ca(team_tls: Team, resource: Resource, tmp_path: Path) -> None:
    from fixtures.tls import make_ca

    other = make_ca(tmp_path / "other-ca", common_name="some other CA")
    run = resource.check(team_tls.source(ca_certs=[other.ca_pem]))
    assert run.returncode == 1 and len(run.stderr.splitlines()) == 1
    assert "TLS verification failed" in run.stderr and "do not verify Harbor's" in run.stderr
    assert "add Harbor's CA" not in run.stderr

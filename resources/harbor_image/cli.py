"""The three Concourse executables: ``check``, ``in DEST`` and ``out SRC`` (console scripts harbor-image-*).

JSON payload on stdin, only the JSON response on stdout, everything else on stderr (redacted). A
:class:`ResourceError` exits 1, a wrong command line exits 2. Each command imports only what it needs, so check
stays on the standard library.

SIGTERM (how Concourse aborts a step: atc/worker/gardenruntime/process.go ``Process.Wait`` sends SIGTERM, then
SIGKILL 10 s later) is handled like SIGINT: the exception unwinds every ``finally`` (a running skopeo is killed by
``subprocess.run``, private files are removed) and the command exits 143 (130 for SIGINT) with one line.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from harbor_image.errors import ResourceError, UsageError, directory_argument
from harbor_image.log import Log

if TYPE_CHECKING:
    from harbor_image.harbor import Harbor
    from harbor_image.wire import Source

CHECK_DEADLINE = 600.0
TRANSFER_ALLOWANCE = 3600.0  # in/out: on top of scan.timeout, for pulls and pushes
MAX_PAYLOAD = 4 * 1024 * 1024  # bytes of stdin; Concourse payloads are a few KB


class Terminated(BaseException):
    """SIGTERM arrived: unwind like KeyboardInterrupt (so ``finally`` blocks clean up), then exit 143."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated()


def _read_payload() -> str:
    data = sys.stdin.buffer.read(MAX_PAYLOAD + 1)
    if len(data) > MAX_PAYLOAD:
        raise ResourceError(f"stdin: the payload is larger than {MAX_PAYLOAD // (1024 * 1024)} MiB; check the source")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as problem:
        raise ResourceError(f"stdin: the payload is not UTF-8 (byte {problem.start}); Concourse sends JSON") from None


def _register_secrets(text: str, log: Log) -> None:
    """Redact the password before strict decoding, whose errors could otherwise echo a malformed payload."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return
    source = document.get("source") if isinstance(document, dict) else None
    if isinstance(source, dict):
        password = source.get("password")
        username = source.get("username")
        if isinstance(password, str):
            log.add_secret(password, username if isinstance(username, str) else None)


def _main(name: str, argv: list[str], body: Callable[[str, list[str], Log], Any]) -> int:
    log = Log(sys.stderr)
    real_stdout = sys.stdout
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        text = _read_payload()
        _register_secrets(text, log)
        with contextlib.redirect_stdout(sys.stderr):
            result = body(text, argv, log)
        real_stdout.write(json.dumps(result) + "\n")
        real_stdout.flush()
        return 0
    except UsageError as problem:
        log.info(f"{name}: {problem}")
        return 2
    except ResourceError as problem:
        log.info(f"{name}: {problem}")
        return 1
    except KeyboardInterrupt:
        log.info(f"{name}: interrupted")
        return 130
    except Terminated:
        log.info(f"{name}: terminated (SIGTERM)")
        return 143
    except MemoryError:
        log.info(f"{name}: out of memory")
        return 1
    except Exception as problem:  # a bug: still one redacted line, the traceback only with debug
        log.info(f"{name}: internal error: {type(problem).__name__}: {log.redactor.one_line(str(problem), 300)}")
        if log.debug_enabled:
            log.info("".join(traceback.format_exception(problem)))
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)


def _check(text: str, argv: list[str], log: Log) -> Any:
    from harbor_image import check  # noqa: PLC0415 - per-command imports keep check light
    from harbor_image.harbor import Harbor  # noqa: PLC0415
    from harbor_image.wire import decode_check  # noqa: PLC0415

    request = decode_check(text)
    log.debug_enabled = request.source.debug
    client = Harbor(request.source, log, time.monotonic() + CHECK_DEADLINE)
    try:
        return check.run(request, log, client)
    finally:
        log.debug(f"check: {client.requests} HTTP request(s)")
        client.close()


def _in(text: str, argv: list[str], log: Log) -> Any:
    from harbor_image import in_  # noqa: PLC0415
    from harbor_image.wire import decode_in  # noqa: PLC0415

    dest = directory_argument(argv, "harbor-image-in", "DEST")
    request = decode_in(text)
    return _transfer(request.source, request.source.scan.timeout, log, lambda client, deadline: in_.run(
        request, dest, log, client, deadline))


def _out(text: str, argv: list[str], log: Log) -> Any:
    from harbor_image import out  # noqa: PLC0415
    from harbor_image.wire import decode_out  # noqa: PLC0415

    src = directory_argument(argv, "harbor-image-out", "SRC")
    request = decode_out(text)
    return _transfer(request.source, request.params.scan.timeout, log, lambda client, deadline: out.run(
        request, src, log, client, deadline))


def _transfer(source: Source, scan_timeout: float, log: Log, run: Callable[[Harbor, float], Any]) -> Any:
    """get and put: a Harbor client whose deadline covers the scan wait plus the image transfer."""
    from harbor_image.harbor import Harbor  # noqa: PLC0415

    log.debug_enabled = source.debug
    deadline = time.monotonic() + scan_timeout + TRANSFER_ALLOWANCE
    client = Harbor(source, log, deadline)
    try:
        return run(client, deadline)
    finally:
        client.close()


def check_main() -> None:
    sys.exit(_main("check", sys.argv, _check))


def in_main() -> None:
    sys.exit(_main("in", sys.argv, _in))


def out_main() -> None:
    sys.exit(_main("out", sys.argv, _out))

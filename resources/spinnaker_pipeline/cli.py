"""The three Concourse executables (console scripts spinnaker-pipeline-{check,in,out}).

As ``harbor_image.cli``: JSON payload on stdin, only the JSON response on stdout, everything else on stderr through
the redacting :class:`harbor_image.log.Log`; :class:`ResourceError` and Gate errors exit 1, a wrong command line 2.
Every Gate call lives inside one deadline per command.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from harbor_image.errors import ResourceError, UsageError, directory_argument
from harbor_image.log import Log

if TYPE_CHECKING:
    from spinnaker_gate import Gate

    from spinnaker_pipeline.wire import Source

CHECK_DEADLINE = 300.0
GET_DEADLINE = 300.0
PUT_ALLOWANCE = 300.0  # on top of params.timeout: the trigger, its lookups and the last reads


def _one_line(message: str) -> str:
    """An error is one line: a newline Gate put into an id, status or stage error is shown escaped."""
    return message.replace("\r", "\\r").replace("\n", "\\n")


def _redacted(value: Any, log: Log) -> Any:
    """The response with every string redacted (metadata carries Gate's text: stage errors, users, names)."""
    if isinstance(value, str):
        return log.redact(value)
    if isinstance(value, list):
        return [_redacted(item, log) for item in value]
    if isinstance(value, dict):
        return {key: _redacted(item, log) for key, item in value.items()}
    return value


def _main(name: str, argv: list[str], body: Callable[[str, list[str], Log], Any]) -> int:
    from spinnaker_gate.client import GateError  # noqa: PLC0415

    from spinnaker_pipeline.wire import secrets_of  # noqa: PLC0415

    log = Log(sys.stderr)
    real_stdout = sys.stdout
    try:
        text = sys.stdin.read()
        for secret, username in secrets_of(text):
            log.add_secret(secret, username)
        with contextlib.redirect_stdout(sys.stderr):
            result = _redacted(body(text, argv, log), log)
        real_stdout.write(json.dumps(result) + "\n")
        real_stdout.flush()
        return 0
    except UsageError as problem:
        log.info(_one_line(f"{name}: {problem}"))
        return 2
    except (ResourceError, GateError) as problem:
        log.info(_one_line(f"{name}: {problem}"))
        return 1
    except KeyboardInterrupt:
        log.info(f"{name}: interrupted")
        return 130
    except Exception as problem:  # a bug: still one redacted line, the traceback only with debug
        log.info(_one_line(f"{name}: internal error: {type(problem).__name__}: {problem}"))
        if log.debug_enabled:
            log.info("".join(traceback.format_exception(problem)))
        return 1


def _gate(source: Source, log: Log, deadline: float) -> Gate:
    from spinnaker_gate import Gate  # noqa: PLC0415

    log.debug_enabled = source.debug
    return Gate(
        source.url,
        source.auth,
        log,
        deadline,
        insecure=source.insecure,
        ca_certs=list(source.ca_certs),
        url_field="source.url",
        ca_field="source.ca_certs",
    )


def _with_gate(source: Source, log: Log, seconds: float, run: Callable[[Gate], Any]) -> Any:
    gate = _gate(source, log, time.monotonic() + seconds)
    try:
        return run(gate)
    finally:
        log.debug(f"{gate.requests} HTTP request(s) to Gate")
        gate.close()


def _check(text: str, argv: list[str], log: Log) -> Any:
    from spinnaker_pipeline import check  # noqa: PLC0415
    from spinnaker_pipeline.wire import decode_check  # noqa: PLC0415

    request = decode_check(text)
    return _with_gate(request.source, log, CHECK_DEADLINE, lambda gate: check.run(request, log, gate))


def _in(text: str, argv: list[str], log: Log) -> Any:
    from spinnaker_pipeline import in_  # noqa: PLC0415
    from spinnaker_pipeline.wire import decode_in  # noqa: PLC0415

    dest = directory_argument(argv, "spinnaker-pipeline-in", "DEST")
    request = decode_in(text)
    return _with_gate(request.source, log, GET_DEADLINE,
                      lambda gate: in_.run(request.source, request.version, dest, log, gate))


def _out(text: str, argv: list[str], log: Log) -> Any:
    from spinnaker_pipeline import out  # noqa: PLC0415
    from spinnaker_pipeline.wire import decode_out  # noqa: PLC0415

    src = directory_argument(argv, "spinnaker-pipeline-out", "SRC")
    request = decode_out(text)
    seconds = (request.params.timeout if request.params.wait else 0.0) + PUT_ALLOWANCE
    return _with_gate(request.source, log, seconds, lambda gate: out.run(request, src, log, gate))


def check_main() -> None:
    sys.exit(_main("check", sys.argv, _check))


def in_main() -> None:
    sys.exit(_main("in", sys.argv, _in))


def out_main() -> None:
    sys.exit(_main("out", sys.argv, _out))

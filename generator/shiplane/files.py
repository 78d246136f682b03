"""Reading the user's files (configs, pipelines to lint) with one kind of error, bounded in size."""

from __future__ import annotations

import os
import stat

from shiplane.errors import ShiplaneError

MAX_BYTES = 16 << 20
"""The largest file shiplane reads: a 5,000-app fleet config is about 1 MB."""


def read_text(path: str, *, missing_hint: str = "", limit: int = MAX_BYTES) -> str:
    """The UTF-8 text of the regular file `path`, at most `limit` bytes.

    Raises ShiplaneError naming the file, the reason and (when missing) the hint. A FIFO, device (/dev/zero),
    socket or directory is refused without reading from it: the file is opened with O_NONBLOCK, so even opening
    a FIFO that no one writes to does not wait.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except FileNotFoundError:
        raise ShiplaneError(f"{path}: no such file" + (f"; {missing_hint}" if missing_hint else "")) from None
    except OSError as exc:
        raise ShiplaneError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file (a pipe, device or socket)"
            raise ShiplaneError(f"{path}: is {kind}; give the path of a file")
        with os.fdopen(fd, "rb", closefd=False) as stream:
            data = stream.read(limit + 1)
    except OSError as exc:
        raise ShiplaneError(f"{path}: cannot read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ShiplaneError(f"{path}: larger than {limit >> 20} MiB, more than any config or pipeline needs; "
                            f"give the right file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ShiplaneError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8") from None

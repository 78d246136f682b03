"""Reading the user's files (configs, pipelines to lint) with one kind of error."""

from __future__ import annotations

from pathlib import Path

from shiplane.errors import ShiplaneError


def read_text(path: str, *, missing_hint: str = "") -> str:
    """The UTF-8 text of `path`, or a ShiplaneError naming the file, the reason and (when missing) the hint."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ShiplaneError(f"{path}: no such file" + (f"; {missing_hint}" if missing_hint else "")) from None
    except UnicodeDecodeError as exc:
        raise ShiplaneError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise ShiplaneError(f"{path}: cannot read ({exc.strerror or exc})") from None

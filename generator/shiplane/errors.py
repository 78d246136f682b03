"""The generator's one fatal error type.

Every problem a user can fix (a bad config, an invalid rendered document, a template bug) is raised as a
:class:`ShiplaneError` carrying one line per problem. The CLI prints the lines on stderr and exits 1.
"""

from __future__ import annotations

from collections.abc import Iterable


class ShiplaneError(Exception):
    """A fatal, user-facing error: one or more lines, each naming the place and the fix."""

    def __init__(self, problems: str | Iterable[str]) -> None:
        lines = [problems] if isinstance(problems, str) else list(problems)
        if not lines:
            raise ValueError("ShiplaneError needs at least one problem")
        self.problems: tuple[str, ...] = tuple(lines)
        super().__init__("\n".join(self.problems))


class UsageError(ShiplaneError):
    """The command line itself is wrong (exit 2)."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived. `committed`: the new output was already in place (the signal came during the
    commit, which finishes first); otherwise nothing was written. The CLI exits 128 + the signal number."""

    def __init__(self, signum: int, *, committed: bool = False) -> None:
        self.signum = signum
        self.committed = committed
        super().__init__(signum)


# Signals the CLI's handler received (shiplane.cli._interrupt). Python runs a signal handler between any two
# bytecodes, so its Interrupted can land where Python swallows exceptions (a weakref callback, a __del__: "Exception
# ignored in ..."); the render then goes on. OutputDir.commit() calls raise_if_interrupted() before its commit point,
# so such a signal still means "nothing was written".
_RECEIVED: list[int] = []


def note_signal(signum: int) -> None:
    _RECEIVED.append(signum)


def raise_if_interrupted() -> None:
    """Raise Interrupted for a SIGINT/SIGTERM whose exception was swallowed before it reached the CLI."""
    if _RECEIVED:
        raise Interrupted(_RECEIVED[-1])

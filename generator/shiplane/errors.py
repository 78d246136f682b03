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

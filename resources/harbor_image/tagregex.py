"""``source.tag_regex`` with a bound on matching time.

Python's ``re`` has no timeout, and a pattern such as ``(1+)+`` backtracks exponentially on a tag like ``111…1x``
(Docker tags are at most 128 characters — distribution reference/regexp.go ``tag`` — which is plenty for 2^127
steps). A :class:`BoundedRegex` gives every command a total matching budget (:data:`BUDGET` seconds over all
tags); when a match outlives it, the command fails with one line naming ``source.tag_regex``. The budget is
enforced with ``ITIMER_REAL``/``SIGALRM``, which the ``re`` engine honours while it runs (CPython's sre checks for
pending signals during long matches); outside the main thread (no signals) matching is unbounded, which never
happens in the executables. A safe pattern matches a tag in microseconds, so the budget only ever stops a
catastrophic one (figures: ``benchmarks/resource_hardening.py``). Standard library only (check's import rule).
"""

from __future__ import annotations

import re
import signal
import threading
import time

from harbor_image.errors import ResourceError

BUDGET = 2.0  # seconds of matching per command, over all tags


class _Expired(Exception):
    pass


class _Alarm:
    """The SIGALRM handler, installed once per process (installing it costs ~100 µs, arming the timer ~25 µs);
    it only interrupts while a match runs, so a late alarm elsewhere is ignored."""

    installed = False
    matching = False

    @classmethod
    def install(cls) -> None:
        if not cls.installed:
            signal.signal(signal.SIGALRM, cls.expire)
            cls.installed = True

    @classmethod
    def expire(cls, signum: int, frame: object) -> None:
        if cls.matching:
            raise _Expired()


class BoundedRegex:
    """A compiled ``tag_regex`` whose ``fullmatch`` shares one time budget per command (``re.Pattern``-like)."""

    def __init__(self, pattern: re.Pattern[str], budget: float | None = None, field: str = "source.tag_regex") -> None:
        self._compiled = pattern
        self.pattern = pattern.pattern
        self.field = field
        self.budget = BUDGET if budget is None else budget
        self.remaining = self.budget

    def fullmatch(self, tag: str) -> re.Match[str] | None:
        """Like ``re.Pattern.fullmatch``; ResourceError once this command's matching budget is spent."""
        if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
            return self._compiled.fullmatch(tag)
        if self.remaining <= 0:
            raise self._error(tag)
        _Alarm.install()
        started = time.monotonic()
        _Alarm.matching = True
        signal.setitimer(signal.ITIMER_REAL, self.remaining)
        try:
            return self._compiled.fullmatch(tag)
        except _Expired:
            self.remaining = 0.0
            raise self._error(tag) from None
        finally:
            _Alarm.matching = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            self.remaining -= time.monotonic() - started

    def _error(self, tag: str) -> ResourceError:
        from harbor_image.wire import shown  # noqa: PLC0415 - wire imports this module

        return ResourceError(
            f"{self.field}: {shown(self.pattern)} took more than {self.budget:g}s to match the tags "
            f"(stopped at {shown(tag, 40)}); it backtracks catastrophically — avoid nested or overlapping "
            f"repetition such as (a+)+ or (a|a)*, e.g. write [0-9]+(\\.[0-9]+)* instead of ([0-9]+\\.?)+"
        )

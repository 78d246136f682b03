"""The double's clock (push times, scan progress, token expiry) and Harbor's timestamp format.

Tests move time instead of sleeping: `clock.advance(30)` makes a 30-second scan finish; `clock.freeze()` pins
push times so ordering assertions are exact.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

ZERO_TIME = "0001-01-01T00:00:00.000Z"


def fmt_time(value: datetime | None) -> str:
    """Go's strfmt.DateTime (RFC 3339 with milliseconds, UTC): `2025-07-17T04:16:48.294Z`; None is Go's zero time."""
    if value is None:
        return ZERO_TIME
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def fmt_rfc3339(value: datetime) -> str:
    """time.RFC3339 (whole seconds), as in the token service's `issued_at`."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Clock:
    """Wall-clock time plus an offset, or a frozen instant. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta()
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> datetime:
        """Move time forward (frozen or not) and return the new now."""
        with self._lock:
            if self._frozen is not None:
                self._frozen += timedelta(seconds=seconds)
            else:
                self._offset += timedelta(seconds=seconds)
        return self.now()

    def freeze(self, at: datetime | None = None) -> datetime:
        """Stop time at `at` (default: now); `advance` still moves it."""
        now = self.now()
        with self._lock:
            self._frozen = (at or now).astimezone(UTC)
            return self._frozen

    def unfreeze(self) -> None:
        with self._lock:
            if self._frozen is not None:
                self._offset = self._frozen - datetime.now(UTC)
            self._frozen = None

    def reset(self) -> None:
        with self._lock:
            self._offset = timedelta()
            self._frozen = None

"""The double's state: Front50's applications and pipeline configs, Orca's executions, Gate's users.

Everything sits behind one lock; handlers mutate it through :class:`GateState` methods or directly under ``lock``.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class User:
    """A Gate user: basic/LDAP password, bearer token or x509 certificate CN; ``applications`` maps an application
    to the Fiat authorizations the user holds on it (``READ``, ``WRITE``, ``EXECUTE``); ``admin`` holds them all."""

    name: str
    password: str | None = None
    token: str | None = None
    cert_cn: str | None = None
    admin: bool = False
    applications: dict[str, set[str]] = field(default_factory=dict)

    def can(self, application: str, authorization: str) -> bool:
        return self.admin or authorization in self.applications.get(application, set())


@dataclass
class GateState:
    """applications: name → Front50 application; pipelines: id → pipeline config; executions: id → execution."""

    applications: dict[str, dict[str, Any]] = field(default_factory=dict)
    pipelines: dict[str, dict[str, Any]] = field(default_factory=dict)
    executions: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    anonymous: bool = False  # Gate without authentication (every caller is "anonymous" with every permission)
    lock: threading.RLock = field(default_factory=threading.RLock)
    clock_ms: int = 1_700_000_000_000
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def now(self) -> int:
        """Milliseconds since the epoch; advances 1 s per call so ordering is deterministic."""
        with self.lock:
            self.clock_ms += 1000
            return self.clock_ms

    def new_id(self, prefix: str = "") -> str:
        """A fresh id in Spinnaker's ULID-like shape (26 upper-case characters)."""
        with self.lock:
            number = next(self._ids)
        return f"{prefix}01{number:024d}"

    def add_user(self, user: User) -> User:
        with self.lock:
            self.users[user.name] = user
        return user

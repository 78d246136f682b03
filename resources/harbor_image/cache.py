"""The check's on-disk memory (Concourse reuses the check container, so this survives between checks).

One JSON file per resource configuration, named by a hash of (url, repository, username, tag selection, scan
policy) — never containing a secret. It holds the repository's last ``update_time``, every tagged artifact seen
(digest, push time, tags, scan summary), gate verdicts keyed by (digest, report id) so a vulnerability report is
fetched once per report, and the scans this resource triggered. Writes are atomic (temp file + rename); a corrupt,
foreign or old-format file is ignored, which only costs a cold check.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from typing import Any

from harbor_image.models import Artifact

FORMAT = 3
ENV_DIR = "HARBOR_IMAGE_CACHE_DIR"


def cache_dir() -> str:
    configured = os.environ.get(ENV_DIR)
    if configured:
        return configured
    return os.path.join(os.environ.get("TMPDIR") or "/tmp", "harbor-image-cache")  # noqa: S108


def cache_key(parts: list[object]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class State:
    """What one check leaves for the next (mutable; written back at the end of every check)."""

    __slots__ = ("artifacts", "key", "no_scanner_until", "settled", "triggered", "update_time", "verdicts")

    def __init__(
        self,
        key: str,
        *,
        update_time: str | None = None,
        settled: bool = False,
        artifacts: dict[str, Artifact] | None = None,
        verdicts: dict[str, list[str]] | None = None,
        triggered: dict[str, float] | None = None,
        no_scanner_until: float = 0.0,
    ) -> None:
        self.key = key
        self.update_time = update_time
        # False: the cache saw something update_time did not explain (an artifact gone); next check is cold
        self.settled = settled
        self.artifacts: dict[str, Artifact] = artifacts if artifacts is not None else {}
        # "digest report_id" -> [state, reason]
        self.verdicts: dict[str, list[str]] = verdicts if verdicts is not None else {}
        # digest -> epoch seconds of our POST scan
        self.triggered: dict[str, float] = triggered if triggered is not None else {}
        self.no_scanner_until = no_scanner_until

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "key": self.key,
            "update_time": self.update_time,
            "settled": self.settled,
            "artifacts": {digest: a.to_cache() for digest, a in self.artifacts.items()},
            "verdicts": self.verdicts,
            "triggered": self.triggered,
            "no_scanner_until": self.no_scanner_until,
        }

    @classmethod
    def from_json(cls, key: str, data: Any) -> State | None:
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != key:
            return None
        try:
            artifacts = {str(d): Artifact.from_cache(str(d), v) for d, v in dict(data["artifacts"]).items()}
            verdicts = {str(k): [str(v[0]), str(v[1])] for k, v in dict(data["verdicts"]).items()}
            triggered = {str(k): float(v) for k, v in dict(data["triggered"]).items()}
            update_time = data.get("update_time")
            return cls(
                key=key,
                update_time=str(update_time) if update_time is not None else None,
                settled=bool(data.get("settled")),
                artifacts=artifacts,
                verdicts=verdicts,
                triggered=triggered,
                no_scanner_until=float(data.get("no_scanner_until") or 0.0),
            )
        except (KeyError, TypeError, ValueError, IndexError):
            return None


class Cache:
    """Loads and atomically stores one :class:`State`."""

    def __init__(self, directory: str, key: str) -> None:
        self.directory = directory
        self.key = key
        self.path = os.path.join(directory, f"{key}.json")

    def load(self) -> State | None:
        try:
            with open(self.path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            return None
        return State.from_json(self.key, data)

    def store(self, state: State) -> None:
        """Best effort: a check never fails because its cache cannot be written."""
        temp = f"{self.path}.{os.getpid()}.tmp"
        try:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(state.to_json(), handle, separators=(",", ":"))
            os.replace(temp, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temp)

"""The check's on-disk memory (Concourse reuses the check container, so this survives between checks).

One JSON file per resource configuration, named by a hash of (url, repository, username, tag selection, scan
policy) — never containing a secret. It holds the repository's last ``update_time``, every tagged artifact seen
(digest, push time, tags, scan summary), gate verdicts keyed by (digest, report id) so a vulnerability report is
fetched once per report, the scans this resource triggered, when the last full listing ran, Harbor's version and
the project's pull policy (each with the time it was read), artifacts Harbor cannot scan and when each held-back
candidate was first seen unfinished. Writes are atomic (temp file + rename); a corrupt,
foreign or old-format file is ignored, which only costs a cold check.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from typing import Any

from harbor_image.models import Artifact, ProjectPolicy

FORMAT = 8  # 7: an index's children leave out attestation manifests; 8: only unknown/unknown ones
ENV_DIR = "HARBOR_IMAGE_CACHE_DIR"


def cache_dir() -> str:
    configured = os.environ.get(ENV_DIR)
    if configured:
        return configured
    return os.path.join(os.environ.get("TMPDIR") or "/tmp", "harbor-image-cache")  # noqa: S108


def cache_key(parts: list[object]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class State:
    """What one check leaves for the next.

    Artifacts stay in their stored list form until a check asks for one (a warm check on 10,000 artifacts looks at
    a handful), and ``order`` keeps the selection's tags as the last cold walk sorted them, so a warm check
    neither re-parses every artifact nor re-sorts every version. ``dirty`` says whether anything must be written.
    """

    __slots__ = (
        "_parsed",
        "_raw",
        "dirty",
        "harbor_version",
        "key",
        "listed_at",
        "no_scanner_until",
        "order",
        "policy_read_at",
        "project_policy",
        "scan_forbidden_until",
        "settled",
        "triggered",
        "unscannable",
        "update_time",
        "verdicts",
        "version_read_at",
        "waiting_since",
    )

    def __init__(self, key: str) -> None:
        self.key = key
        self.update_time: str | None = None
        # False: the cache saw something update_time did not explain (an artifact gone); next check is cold
        self.settled = False
        self._raw: dict[str, Any] = {}
        self._parsed: dict[str, Artifact] = {}
        # [[tag, digest], …] oldest first at the last cold walk: the versions (tag_regex), every selectable tag of
        # every digest (semver; check.order_of)
        self.order: list[list[str]] = []
        # "digest report_id" -> [state, reason]
        self.verdicts: dict[str, list[str]] = {}
        # digest -> epoch seconds of our POST scan
        self.triggered: dict[str, float] = {}
        self.no_scanner_until = 0.0
        self.scan_forbidden_until = 0.0
        # epoch seconds of the last full listing (the Redis repository cache can hold a stale update_time)
        self.listed_at = 0.0
        # /systeminfo harbor_version ("" when Harbor did not say) and when it was read (None: never)
        self.harbor_version = ""
        self.version_read_at: float | None = None
        # the project's pull policy (None: unknown, e.g. no project:read) and when it was read
        self.project_policy: ProjectPolicy | None = None
        self.policy_read_at: float | None = None
        # digest -> epoch seconds Harbor answered 400 to its scan request (a Helm chart, a CNAB bundle…)
        self.unscannable: dict[str, float] = {}
        # digest -> epoch seconds check first held later versions back for its unfinished scan
        self.waiting_since: dict[str, float] = {}
        self.dirty = True

    # -- artifacts -------------------------------------------------------------------------------------------

    def artifact(self, digest: str) -> Artifact | None:
        found = self._parsed.get(digest)
        if found is None and digest in self._raw:
            try:
                found = Artifact.from_cache(digest, self._raw[digest])
            except (TypeError, ValueError, IndexError, KeyError):
                self.forget(digest)
                return None
            self._parsed[digest] = found
        return found

    def digests(self) -> set[str]:
        return set(self._raw) | set(self._parsed)

    def all_artifacts(self) -> list[Artifact]:
        return [a for a in (self.artifact(d) for d in self.digests()) if a is not None]

    def replace_all(self, artifacts: dict[str, Artifact]) -> None:
        self._raw, self._parsed = {}, dict(artifacts)
        self.dirty = True

    def put(self, artifact: Artifact) -> None:
        stored = artifact.to_cache()
        previous = self._raw.get(artifact.digest)
        if previous is None and artifact.digest in self._parsed:
            previous = self._parsed[artifact.digest].to_cache()
        if previous != stored:
            self.dirty = True
        self._parsed[artifact.digest] = artifact
        self._raw[artifact.digest] = stored

    def forget(self, digest: str) -> None:
        self._raw.pop(digest, None)
        self._parsed.pop(digest, None)
        self.settled = False
        self.dirty = True

    # -- persistence -----------------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        artifacts = dict(self._raw)
        for digest, artifact in self._parsed.items():
            if digest not in artifacts:
                artifacts[digest] = artifact.to_cache()
        return {
            "format": FORMAT,
            "key": self.key,
            "update_time": self.update_time,
            "settled": self.settled,
            "artifacts": artifacts,
            "order": self.order,
            "verdicts": self.verdicts,
            "triggered": self.triggered,
            "no_scanner_until": self.no_scanner_until,
            "scan_forbidden_until": self.scan_forbidden_until,
            "listed_at": self.listed_at,
            "harbor_version": self.harbor_version,
            "version_read_at": self.version_read_at,
            "project_policy": self.project_policy.to_cache() if self.project_policy is not None else None,
            "policy_read_at": self.policy_read_at,
            "unscannable": self.unscannable,
            "waiting_since": self.waiting_since,
        }

    @classmethod
    def from_json(cls, key: str, data: Any) -> State | None:
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != key:
            return None
        try:
            state = cls(key)
            artifacts = data["artifacts"]
            order = data["order"]
            if not isinstance(artifacts, dict) or not isinstance(order, list):
                return None
            state._raw = artifacts
            state.order = [[str(tag), str(digest)] for tag, digest in order]
            state.verdicts = {str(k): [str(v[0]), str(v[1])] for k, v in dict(data["verdicts"]).items()}
            state.triggered = {str(k): float(v) for k, v in dict(data["triggered"]).items()}
            update_time = data.get("update_time")
            state.update_time = str(update_time) if update_time is not None else None
            state.settled = bool(data.get("settled"))
            state.no_scanner_until = float(data.get("no_scanner_until") or 0.0)
            state.scan_forbidden_until = float(data.get("scan_forbidden_until") or 0.0)
            state.listed_at = float(data.get("listed_at") or 0.0)
            state.harbor_version = str(data.get("harbor_version") or "")
            state.version_read_at = _optional_float(data.get("version_read_at"))
            policy = data.get("project_policy")
            state.project_policy = ProjectPolicy.from_cache(policy) if policy is not None else None
            state.policy_read_at = _optional_float(data.get("policy_read_at"))
            state.unscannable = {str(k): float(v) for k, v in dict(data.get("unscannable") or {}).items()}
            state.waiting_since = {str(k): float(v) for k, v in dict(data.get("waiting_since") or {}).items()}
            state.dirty = False
            return state
        except (KeyError, TypeError, ValueError, IndexError):
            return None


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


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
                # json.dumps runs the C encoder on the whole document; json.dump streams through Python code
                handle.write(json.dumps(state.to_json(), separators=(",", ":")))
            os.replace(temp, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temp)

"""check: the passing versions of the repository, oldest first, following Concourse's rules.

Tag mode (``tag``, default ``latest``) asks for the tag's artifact and, when the cursor's digest differs, for the
cursor by digest: at most 2 requests.

``tag_regex`` and ``semver`` modes meet the request budget with the repository's ``update_time`` where Harbor makes
it trustworthy (v2.15.2+, see :mod:`harbor_image.freshness`): it moves on artifact create/delete, tag
create/move/delete and pulls — but not on scan completion:

* listing (no cache, Harbor before v2.15.2 or version unknown, the last full listing older than 5 minutes): every
  page of ``listArtifacts?q=tags=*&with_tag&with_scan_overview&page_size=100`` plus, in place of the repository,
  the project's pull policy or Harbor's version when due — ceil(N/100) + 1 requests at most;
* cold (``update_time`` changed, no or invalid cursor): the repository (R1) and every page — ceil(N/100) + 1;
* warm (``update_time`` unchanged, valid cursor): R1 and one ``listArtifacts?q=digest={…}`` for the cursor and every
  cached digest with a selectable tag that orders after it (the held-back ones: pending or failing) — 2 requests
  whatever N is.

Only images whose scan passes the gate — every platform of an index — and that Harbor's own pull policy would
serve are emitted, in order: a version waits while an earlier candidate's scan is unfinished (at most
``scan.timeout``). Each held-back candidate gets one stderr line saying why. Those lines, and every other warning
of the run, are written when it succeeds: a failing check prints only its error (:meth:`harbor_image.log.Log.held`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

from harbor_image.cache import Cache, State, cache_dir, cache_key
from harbor_image.errors import ResourceError
from harbor_image.freshness import (
    FULL_LISTING_INTERVAL,
    POLICY_TTL,
    VERSION_TTL,
    update_time_reliable,
)
from harbor_image.gate import Policy
from harbor_image.harbor import DIGEST_CHUNK, PAGE_SIZE, Page, RepositoryState, ScanStart
from harbor_image.judge import TRIGGER_COOLDOWN, Judge, short
from harbor_image.log import Log
from harbor_image.models import Artifact, ProjectPolicy, Report
from harbor_image.semver_select import Version as Semver
from harbor_image.wire import CheckRequest, Selection, Source, Version

CHECK_DEADLINE = 600.0  # seconds; Concourse's own check_timeout is 1h
HELD_LINES = 20
_CANONICAL_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


class HarborAPI(Protocol):
    """What check needs from Harbor (the real client, or the property test's in-process model)."""

    def harbor_version(self) -> str | None: ...
    def project_policy(self) -> ProjectPolicy | None: ...
    def repository_update_time(self) -> tuple[RepositoryState, str | None]: ...
    def get_artifact(self, reference: str) -> Artifact | None: ...
    def walk_artifacts(self, q: str, sort: str | None = ...) -> Iterator[Page]: ...
    def artifacts_by_digest(self, digests: list[str], *, children: bool = ...) -> list[Artifact]: ...
    def scan(self, digest: str) -> ScanStart: ...
    def vulnerabilities(self, digest: str) -> Report | None: ...


def time_key(value: str) -> str:
    """Harbor timestamps as sortable strings (canonical ``YYYY-MM-DDThh:mm:ss.mmmZ``; anything else is normalised)."""
    if _CANONICAL_TIME.fullmatch(value):
        return value
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return ""
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{parsed.microsecond // 1000:03d}Z"


class Candidate(NamedTuple):
    """A version the selection would emit: (tag, digest) with its position in the mode's order."""

    tag: str
    digest: str
    key: tuple[Any, ...]
    artifact: Artifact

    @property
    def version(self) -> Version:
        return Version(self.tag, self.digest)


def candidates(artifacts: Iterable[Artifact], selection: Selection, *, above: Semver | None = None) -> list[Candidate]:
    """Every version of the selection, ordered oldest first (tag_regex: push time; semver: version).

    semver: one version per digest, the tag :meth:`SemverRules.best_tag` picks. With ``above`` (the cursor's
    version) it picks among the digest's tags newer than the cursor only, as registry-image does (it skips lesser
    tags before it reads their digests): a digest tagged ``1.0.0`` and ``2.0.0`` is version ``2.0.0`` after a cursor
    ``1.2.0``, not a ``1.0.0`` that orders before the cursor and would never come out.
    """
    found: list[Candidate] = []
    if selection.mode == "regex":
        assert selection.regex is not None
        for artifact in artifacts:
            pushed = time_key(artifact.push_time)
            for tag in artifact.tags:
                if selection.regex.fullmatch(tag.name):
                    key = _regex_key(tag.push_time, pushed, tag.name)
                    found.append(Candidate(tag.name, artifact.digest, key, artifact))
    elif selection.mode == "semver":
        rules = selection.semver
        for artifact in artifacts:
            names = list(artifact.tag_names)
            if above is not None:
                names = [t for t in names if (v := rules.version_of(t)) is not None and v > above]
            best = rules.best_tag(names)
            if best is not None:
                found.append(Candidate(best[0], artifact.digest, _semver_key(best[1], best[0]), artifact))
    found.sort(key=lambda c: (c.key, c.digest))
    return found


def order_of(artifacts: Iterable[Artifact], selection: Selection) -> list[list[str]]:
    """What a warm check walks from the cursor: ``[tag, digest]`` oldest first — the versions (tag_regex), or every
    selectable tag of every digest (semver), so that a digest with a tag newer than the cursor follows the cursor
    whatever tag represents it."""
    if selection.mode != "semver":
        return [[c.tag, c.digest] for c in candidates(artifacts, selection)]
    rules = selection.semver
    keyed = [
        ((_semver_key(version, tag), artifact.digest), tag, artifact.digest)
        for artifact in artifacts
        for tag in artifact.tag_names
        if (version := rules.version_of(tag)) is not None
    ]
    keyed.sort(key=lambda item: item[0])
    return [[tag, digest] for _, tag, digest in keyed]


def _regex_key(tag_time: str, artifact_time: str, tag: str) -> tuple[Any, ...]:
    # a version comes into existence when its tag is put on the digest; ties fall back to the artifact's push
    return (time_key(tag_time) or artifact_time, artifact_time, tag)


def _semver_key(version: Semver, tag: str) -> tuple[Any, ...]:
    return (version, tag.count("."), tag)


class Checker(Judge):
    """One check run: decides the path and the order, asks :class:`Judge` about each artifact, remembers what it
    saw."""

    def __init__(
        self,
        source: Source,
        client: HarborAPI,
        log: Log,
        cache_directory: str | None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.source = source
        self.client = client
        self.log = log
        self.now = now
        self.policy: Policy = source.scan
        super().__init__()
        self.path = ""  # "cold", "warm" or "tag": for logs and tests
        key = cache_key(
            [
                source.url,
                source.repository,
                source.username,
                source.selection.fingerprint(),
                self.policy.fingerprint(),
            ]
        )
        self.cache = Cache(cache_directory, key) if cache_directory is not None else None
        loaded = self.cache.load() if self.cache is not None else None
        self.state = loaded if loaded is not None else State(key=key)
        self.had_cache = loaded is not None

    # -- modes -------------------------------------------------------------------------------------------------

    def run(self, cursor: Version | None) -> list[Version]:
        """The versions to emit. Every stderr line of the run (held-back versions, a missing permission, a capped
        listing — the client's too) is written when it succeeds; a failing run's only line is its error."""
        with self.log.held():
            try:
                tag_mode = self.source.selection.mode == "tag"
                result = self.check_tag(cursor) if tag_mode else self.check_listing(cursor)
            finally:
                if self.cache is not None:
                    self._prune()
                    if self.state.dirty:
                        self.cache.store(self.state)
        return result

    def check_tag(self, cursor: Version | None) -> list[Version]:
        self.path = "tag"
        tag = self.source.selection.tag
        if cursor is not None and cursor.tag != tag:
            cursor = None  # a version of another tag (the source changed): start over
        current = self.client.get_artifact(tag)
        result: list[Version] = []
        if current is None:
            self.log.info(f"{self.source.repository}:{tag} does not exist (yet)")
            return result
        if cursor is not None and cursor.digest != current.digest:
            previous = self.client.get_artifact(cursor.digest)
            if previous is not None and self.verdict(previous).passed:
                result.append(cursor)
        verdict = self.verdict(current)
        if verdict.passed:
            result.append(Version(tag, current.digest))
        else:
            self.log.info(f"{short(current.digest)} {tag}: {self.held(current, verdict)[0]}")
        return result

    def check_listing(self, cursor: Version | None) -> list[Version]:
        state = self.state
        now = self.now()
        version_due = state.version_read_at is None or not 0 <= now - state.version_read_at < VERSION_TTL
        policy_due = state.policy_read_at is None or not 0 <= now - state.policy_read_at < POLICY_TTL
        listing_due = not 0 <= now - state.listed_at < FULL_LISTING_INTERVAL
        if version_due or listing_due or not update_time_reliable(state.harbor_version):
            # update_time cannot tell (Harbor before v2.15.2, or not known yet) or is not trusted any longer (the
            # Redis race): list everything. The request the repository would have cost refreshes, in turn, the
            # project's pull policy or Harbor's version, so a listing stays within ceil(N/100) + 1 requests.
            if policy_due:
                self.project_policy(due=0.0)
            elif version_due:
                state.harbor_version = self.client.harbor_version() or ""
                state.version_read_at = now
                state.dirty = True
                self.log.debug(f"Harbor version {state.harbor_version or '(not given)'}")
            if not update_time_reliable(state.harbor_version) and not version_due:
                self.log.debug(f"Harbor {state.harbor_version or '(version unknown)'}: update_time does not move "
                               f"on pushes before v2.15.2, so every check lists")  # fmt: skip
            return self.emit(self.cold(), cursor)
        repository, update_time = self.client.repository_update_time()
        if repository == "missing":
            self.log.info(f"repository {self.source.repository} does not exist (yet)")
            state.replace_all({})
            state.order = []
            state.update_time = None
            return []
        if repository == "forbidden":
            self.log.info(
                f"cannot read repository {self.source.repository} (no repository:read permission): every check "
                f"lists all artifacts; grant repository:read for 2-request checks"
            )
        warm = (
            self.had_cache
            and cursor is not None
            and update_time is not None
            and state.settled
            and state.update_time == update_time
        )
        found: list[Candidate] | None = None
        if warm:
            assert cursor is not None
            found = self.warm(cursor)
        if found is None:
            found = self.cold()
        if state.update_time != update_time:
            state.update_time = update_time
            state.dirty = True
        return self.emit(found, cursor)

    def cold(self) -> list[Candidate]:
        self.path = "cold"
        artifacts: dict[str, Artifact] = {}
        for page in self.client.walk_artifacts("tags=*"):
            for artifact in page.artifacts:
                artifacts.setdefault(artifact.digest, artifact)
        self.state.replace_all(artifacts)
        self.state.listed_at = self.now()
        self.state.settled = True
        if not artifacts:
            self.log.info(f"{self.source.repository} has no tagged artifacts (yet); Harbor lists nothing for a "
                          f"repository that does not exist either")  # fmt: skip
        found = self.versions(artifacts.values())
        self.state.order = order_of(self.images(artifacts.values()), self.source.selection)
        return found

    def images(self, artifacts: Iterable[Artifact]) -> Iterator[Artifact]:
        """The images Harbor can scan (charts, CNAB bundles… are never versions)."""
        unscannable = self.state.unscannable
        return (a for a in artifacts if a.is_image and a.digest not in unscannable)

    def versions(self, artifacts: Iterable[Artifact]) -> list[Candidate]:
        """The selection's candidates among images Harbor can scan."""
        return candidates(self.images(artifacts), self.source.selection)

    def after_cursor(self, found: list[Candidate], position: tuple[Any, ...], cursor: Version) -> list[Candidate]:
        """The candidates after a valid cursor, oldest first (semver: each digest by its tags newer than the
        cursor, see :func:`candidates`)."""
        if self.source.selection.mode == "semver":
            found = candidates((c.artifact for c in found), self.source.selection, above=position[0])
        return [c for c in found if self.after(c, position, cursor)]

    def warm(self, cursor: Version) -> list[Candidate] | None:
        """Re-read only the cursor and the versions after it; None when a cold walk is needed (or cheaper)."""
        state = self.state
        try:
            index = state.order.index([cursor.tag, cursor.digest])
        except ValueError:
            return self.warm_full(cursor)  # the cursor was not in the last walk's order (tag_regex: not its version)
        tail = state.order[index + 1 :]
        watched = {cursor.digest} | {digest for _, digest in tail}
        if not self.cheaper_than_cold(len(watched), len({digest for _, digest in state.order})):
            return None
        self.path = "warm"
        if not self.refresh(watched, cursor):
            return None
        wanted = [cursor.digest, *(digest for _, digest in tail)]
        subset = [a for a in (state.artifact(d) for d in dict.fromkeys(wanted)) if a is not None]
        return self.versions(subset)

    def warm_full(self, cursor: Version) -> list[Candidate] | None:
        found = self.versions(self.state.all_artifacts())
        position = self.cursor_position(found, cursor)
        if position is None:
            return None
        watched = {cursor.digest} | {c.digest for c in self.after_cursor(found, position, cursor)}
        if not self.cheaper_than_cold(len(watched), len(found)):
            return None
        self.path = "warm"
        if not self.refresh(watched, cursor):
            return None
        return self.versions(self.state.all_artifacts())

    @staticmethod
    def cheaper_than_cold(watched: int, known: int) -> bool:
        """Refreshing ``watched`` digests (50 a request) must not cost more than listing ``known`` (100 a page)."""
        return -(-watched // DIGEST_CHUNK) <= max(1, -(-known // PAGE_SIZE))

    def refresh(self, watched: set[str], cursor: Version) -> bool:
        """Re-read the watched artifacts; False when the cursor itself changed (then the check walks cold)."""
        fresh = {a.digest: a for a in self.client.artifacts_by_digest(sorted(watched))}
        for digest in watched:
            if digest in fresh:
                self.state.put(fresh[digest])
            else:
                self.state.forget(digest)  # gone without update_time moving: don't trust the cache
        current = self.state.artifact(cursor.digest)
        return current is not None and cursor.tag in current.tag_names

    # -- cursor and output -------------------------------------------------------------------------------------

    def cursor_position(self, found: list[Candidate], cursor: Version) -> tuple[Any, ...] | None:
        """The cursor's place in the order, or None when its tag no longer points at its digest."""
        artifact = next((c.artifact for c in found if c.digest == cursor.digest), None)
        if artifact is None:
            artifact = self.state.artifact(cursor.digest)
        if artifact is None or cursor.tag not in artifact.tag_names:
            return None
        selection = self.source.selection
        if selection.mode == "regex":
            assert selection.regex is not None
            if not selection.regex.fullmatch(cursor.tag):
                return None
            tag_time = next(t.push_time for t in artifact.tags if t.name == cursor.tag)
            return _regex_key(tag_time, time_key(artifact.push_time), cursor.tag)
        version = selection.semver.version_of(cursor.tag)
        if version is None:
            return None
        return _semver_key(version, cursor.tag)

    def after(self, candidate: Candidate, position: tuple[Any, ...], cursor: Version) -> bool:
        if candidate.tag == cursor.tag and candidate.digest == cursor.digest:
            return False
        if self.source.selection.mode == "semver":
            # registry-image skips versions equal to the cursor's (6.3 vs 6.3.0)
            return bool(candidate.key[0] > position[0])
        return candidate.key > position

    def emit(self, found: list[Candidate], cursor: Version | None) -> list[Version]:
        """The passing versions in order: a version is emitted only when no earlier candidate is still being
        scanned (Concourse cannot insert an older version later); a blocker is waited for at most scan.timeout."""
        position = self.cursor_position(found, cursor) if cursor is not None else None
        result: list[Version] = []
        if cursor is not None and position is not None:
            artifact = next((c.artifact for c in found if c.digest == cursor.digest), None)
            artifact = artifact or self.state.artifact(cursor.digest)
            assert artifact is not None
            # the indexes to judge: the cursor's and those after it, their platforms read in batches
            domain = self.after_cursor(found, position, cursor)
            self.prefetch_platforms([artifact, *(c.artifact for c in domain)])
            verdict = self.verdict(artifact)
            if verdict.passed:
                result.append(cursor)
            else:
                # an unscanned cursor is scanned too (it passes on a later check)
                reason, _ = self.held(artifact, verdict)
                self.log.info(f"{short(cursor.digest)} {cursor.tag}: {reason} (the current version)")
        else:
            if cursor is not None:
                self.log.info(f"{cursor.tag} no longer points at {short(cursor.digest)}: listing every version")
            domain = found
            self.prefetch_platforms([c.artifact for c in domain])
        held: list[str] = []
        blocker: tuple[Candidate, str] | None = None
        waiting = 0
        now = self.now()
        still_waiting: set[str] = set()
        for candidate in domain:
            verdict = self.verdict(candidate.artifact)
            if verdict.passed and blocker is None:
                result.append(candidate.version)
                continue
            if verdict.passed:
                waiting += 1
                continue
            reason, blocks = self.held(candidate.artifact, verdict)
            line = f"{short(candidate.digest)} {candidate.tag}: {reason}"
            if blocks and blocker is None:
                since = self.state.waiting_since.setdefault(candidate.digest, now)
                still_waiting.add(candidate.digest)
                if now - since <= self.policy.timeout:
                    blocker = (candidate, reason)
                    held.append(line)
                    continue
                line += f" (waited {int(now - since)}s, more than scan.timeout: later versions no longer wait)"
            elif blocks:
                still_waiting.add(candidate.digest)
                self.state.waiting_since.setdefault(candidate.digest, now)
            held.append(line)
        if blocker is not None and waiting:
            candidate, reason = blocker
            held.append(
                f"{waiting} newer passing version(s) wait for {short(candidate.digest)} {candidate.tag} "
                f"({reason}), so that versions come out in order"
            )
        waited = self.state.waiting_since
        in_domain = {c.digest for c in domain}
        finished = [d for d in waited if d in in_domain and d not in still_waiting]
        for digest in finished:
            del waited[digest]
        if finished or any(waited.get(d) == now for d in still_waiting):
            self.state.dirty = True
        shown = held if len(held) <= HELD_LINES else held[-HELD_LINES:]
        if len(held) > HELD_LINES:
            self.log.info(f"… {len(held) - HELD_LINES} older held-back version(s) not listed")
        for line in shown:
            self.log.info(line)
        return result

    def _prune(self) -> None:
        state = self.state
        before = (len(state.verdicts), len(state.triggered), len(state.unscannable), len(state.waiting_since))
        if self.source.selection.mode != "tag" and self.path == "cold":
            known = state.digests()
            state.verdicts = {k: v for k, v in state.verdicts.items() if k.split(" ", 1)[0] in known}
            state.triggered = {k: v for k, v in state.triggered.items() if k in known}
            state.unscannable = {k: v for k, v in state.unscannable.items() if k in known}
            state.waiting_since = {k: v for k, v in state.waiting_since.items() if k in known}
        horizon = self.now() - TRIGGER_COOLDOWN
        state.triggered = {k: v for k, v in state.triggered.items() if v >= horizon}
        if len(state.verdicts) > 5000:
            state.verdicts = dict(list(state.verdicts.items())[-5000:])
        after = (len(state.verdicts), len(state.triggered), len(state.unscannable), len(state.waiting_since))
        if after != before:
            state.dirty = True


def run(request: CheckRequest, log: Log, client: HarborAPI, cache_directory: str | None = None) -> list[dict[str, str]]:
    checker = Checker(request.source, client, log, cache_directory if cache_directory is not None else cache_dir())
    versions = checker.run(request.version)
    log.debug(f"check path: {checker.path}")
    return [v.to_json() for v in versions]


__all__ = ["Checker", "HarborAPI", "ResourceError", "candidates", "run", "short"]

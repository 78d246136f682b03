"""The only module that touches the output directory: staged writes, one commit point, a journal rolled forward.

`out/` stays a plain directory (`fly set-pipeline -c out/concourse/x.yml` works, and files a user keeps there that
shiplane did not write are never touched). A render changes it in three steps:

1. `stage()` is called for every validated document. Bytes equal to the file on disk are skipped; anything else is
   written to a new file in `out/.shiplane-staging/` (never over its target). Render workers stage into the same
   directory.
2. `commit()` writes `out/.shiplane-journal` (every rename, every removal and the new file list) beside the staging
   directory and renames it into place: that one rename is the commit point. Before it, the old output is whole
   and an interruption only leaves the staging directory, which the next run removes. After it, the render is
   decided: the journal is applied (renames, removals, `.shiplane-files`), then removed with the staging
   directory. SIGINT and SIGTERM that arrive during the commit are held until it is done.
3. A run that finds a journal (the process was killed while applying it) applies it first, which is idempotent,
   so the output is all-new before anything else happens; `--check` reports it instead ("interrupted render").

`.shiplane-files` lists every file shiplane wrote with its SHA-256, so a later run knows which files it may prune
(only those) and which of them were edited by hand since (reported; `--only` refuses to replace them unless
forced). Names that are not plain text are written as JSON strings, so any file name survives the list.

Safe against interruption of the process (signals, SIGKILL, a crash); data is not fsynced file by file, so a power
loss during a render may leave files the next render rewrites.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shiplane.errors import Interrupted, ShiplaneError, raise_if_interrupted

MANIFEST = ".shiplane-files"
STAGING = ".shiplane-staging"
JOURNAL = ".shiplane-journal"
_MANIFEST_HEADER = "# shiplane-files 2: sha256 and path of every file shiplane wrote here; do not edit"
_OLD_TEMP = re.compile(r"\.shiplane-[A-Za-z0-9_]{8}\.tmp")  # mkstemp names of shiplane before the journal


@dataclass
class Changes:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    edited: list[str] = field(default_factory=list)
    """Files shiplane wrote before that were changed by hand since (or a user's file at a path shiplane writes)."""
    pending: list[str] = field(default_factory=list)
    """Check mode: leftovers of an interrupted render (one message each) that the next render cleans up."""

    @property
    def changed(self) -> list[str]:
        return sorted([*self.written, *self.removed])


@dataclass
class Staged:
    """What one OutputDir staged, handed from a render worker process to the parent's OutputDir."""

    files: list[tuple[Path, Path]]
    created_dirs: list[Path]
    written: list[str]
    unchanged: list[str]
    edited: list[str]
    digests: dict[str, str]


class OutputDir:
    """One render's view of the output directory; see the module docstring for the protocol.

    `prune`: remove files of the previous render that this one does not produce (False for `--only`).
    `keep_edits`: refuse (ShiplaneError) to replace a file edited by hand since shiplane wrote it.
    Raises ShiplaneError when `root` is not a directory, cannot be written, or another render holds it.
    """

    def __init__(self, root: str, *, check: bool, prune: bool = True, keep_edits: bool = False) -> None:
        self.root = Path(root)
        self.check = check
        self.prune = prune
        self.keep_edits = keep_edits
        self.changes = Changes()
        self._staged: list[tuple[Path, Path]] = []
        self._created_dirs: list[Path] = []
        self._produced: dict[str, str] = {}  # relative path -> sha256 of what this render wants there
        self._mode = _default_mode()
        self._lock: int | None = None
        self._created_root = False
        if self.root.exists() and not self.root.is_dir():
            raise ShiplaneError(f"--out {self.root}: is not a directory; give a directory (created if missing)")
        if not check:
            self._open_for_writing()
        else:
            self.changes.pending = self._leftovers()
        self._previous = self._read_manifest()

    def worker(self) -> OutputDir:
        """An OutputDir for a forked render worker: stages into this one's staging directory, never commits."""
        child = OutputDir.__new__(OutputDir)
        child.__dict__.update(self.__dict__)
        child.changes, child._staged, child._created_dirs, child._produced = Changes(), [], [], {}
        child._lock, child._created_root = None, False
        return child

    # -- opening: lock, finish or clean up an interrupted render -------------------------------------------------

    def _open_for_writing(self) -> None:
        try:
            if not self.root.exists():
                self.root.mkdir(parents=True)
                self._created_root = True
            self._lock = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as exc:
            raise ShiplaneError(f"--out {self.root}: cannot create or open ({exc.strerror}); check the path") from None
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._release()
            raise ShiplaneError(f"--out {self.root}: another shiplane render is writing here; wait for it") from None
        try:
            journal = self.root / JOURNAL
            if journal.exists():
                _apply(self.root, _read_journal(journal))
            shutil.rmtree(self.root / STAGING, ignore_errors=True)
            for stale in self._old_temp_files():
                stale.unlink(missing_ok=True)
            (self.root / STAGING).mkdir()
        except OSError as exc:
            self._release()
            raise ShiplaneError(f"--out {self.root}: cannot write ({exc.strerror}); check its permissions") from None

    def _leftovers(self) -> list[str]:
        found = []
        if (self.root / JOURNAL).exists():
            found.append(f"{self.root}/{JOURNAL}: an interrupted render; run shiplane render to finish it")
        if (self.root / STAGING).exists():
            found.append(f"{self.root}/{STAGING}: left by an interrupted render; shiplane render removes it")
        old = self._old_temp_files()
        if old:
            found.append(f"{self.root}: {len(old)} temporary file(s) .shiplane-*.tmp left by an interrupted render "
                         f"(e.g. {old[0].relative_to(self.root)}); shiplane render removes them")
        return found

    def _old_temp_files(self) -> list[Path]:
        """Temporary files an older shiplane left beside its targets, in the directories it writes to."""
        directories = {self.root} | {(self.root / path).parent for path in self._read_manifest()}
        found: list[Path] = []
        for directory in sorted(directories):
            with contextlib.suppress(OSError):
                found.extend(entry for entry in directory.iterdir() if _OLD_TEMP.fullmatch(entry.name))
        return found

    def _read_manifest(self) -> dict[str, str | None]:
        path = self.root / MANIFEST
        try:
            text = path.read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError):
            return {}
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
            raise ShiplaneError(f"{path}: cannot read ({reason}); remove it (the next render rewrites it)") from None
        return parse_manifest(text)

    # -- staging -------------------------------------------------------------------------------------------------

    def stage(self, relative: str, data: bytes) -> None:
        if not is_safe_relative(relative):
            raise ShiplaneError(f"refusing to write {relative!r}: outside the output directory or reserved")
        if relative in self._produced:
            raise ShiplaneError(f"{relative}: two documents would be written to the same file")
        digest = hashlib.sha256(data).hexdigest()
        self._produced[relative] = digest
        target = self.root / relative
        mode = self._mode
        try:
            with target.open("rb") as existing:
                current = existing.read()
                if current == data:
                    self.changes.unchanged.append(relative)
                    return
                mode = os.stat(existing.fileno()).st_mode & 0o7777  # a rewrite keeps the file's permissions
            recorded = self._previous.get(relative, "")
            if recorded is not None and hashlib.sha256(current).hexdigest() != recorded:
                self.changes.edited.append(relative)
        except (FileNotFoundError, NotADirectoryError):
            pass
        except IsADirectoryError:
            raise ShiplaneError(f"{target}: is a directory; move it away") from None
        except OSError as exc:
            raise ShiplaneError(f"{target}: cannot read ({exc.strerror}); check the output directory") from None
        self.changes.written.append(relative)
        if self.check:
            return
        try:
            self._make_dirs(target.parent)
            handle, temp = tempfile.mkstemp(prefix="f", dir=self.root / STAGING)
            with os.fdopen(handle, "wb") as stream:
                os.fchmod(stream.fileno(), mode)  # mkstemp creates 0600; a rendered file is as readable as any other
                stream.write(data)
        except OSError as exc:
            raise ShiplaneError(f"{target}: cannot write ({exc.strerror}); check the output directory") from None
        self._staged.append((Path(temp), target))

    def export(self) -> Staged:
        """Hand everything staged so far to another OutputDir (see absorb); this one forgets it."""
        staged = Staged(self._staged, self._created_dirs, self.changes.written, self.changes.unchanged,
                        self.changes.edited, self._produced)
        self._staged, self._created_dirs, self.changes, self._produced = [], [], Changes(), {}
        return staged

    def absorb(self, staged: Staged) -> None:
        """Take over what another OutputDir on the same directory staged (a render worker's share)."""
        self._staged.extend(staged.files)
        self._created_dirs.extend(staged.created_dirs)
        for relative, digest in staged.digests.items():
            if relative in self._produced:
                raise ShiplaneError(f"{relative}: two documents would be written to the same file")
            self._produced[relative] = digest
        self.changes.written.extend(staged.written)
        self.changes.unchanged.extend(staged.unchanged)
        self.changes.edited.extend(staged.edited)

    def _make_dirs(self, directory: Path) -> None:
        """mkdir -p, remembering what it created so that abort() can leave no empty directory behind."""
        missing: list[Path] = []
        while not directory.exists():
            missing.append(directory)
            directory = directory.parent
        for path in reversed(missing):
            path.mkdir(exist_ok=True)
            self._created_dirs.append(path)

    # -- commit / abort ------------------------------------------------------------------------------------------

    def commit(self) -> Changes:
        """Make the staged render the output (see the module docstring); return what changed.

        Raises ShiplaneError (nothing changed) when `keep_edits` finds hand edits or the journal cannot be
        written, and Interrupted(committed=True) after the commit when SIGINT/SIGTERM arrived during it.
        """
        manifest: dict[str, str | None] = dict(self._produced)
        if not self.prune:
            # `render --only APP`: the other apps' files were not rendered this time, so none of them is stale.
            for path, digest in self._previous.items():
                if path not in manifest and (self.root / path).exists():
                    manifest[path] = digest
        stale = sorted(set(self._previous) - set(manifest))
        self.changes.removed = [path for path in stale if (self.root / path).is_file()]
        self.changes.edited.sort()
        if self.check:
            return self.changes
        if self.keep_edits and self.changes.edited:
            self.abort()
            raise ShiplaneError(
                f"{self.root}/{path}: edited since shiplane wrote it; move the change into the config or --templates, "
                f"or run again with --force to replace it" for path in self.changes.edited
            )
        try:
            raise_if_interrupted()  # a signal whose exception Python swallowed (a weakref callback): nothing written
        except Interrupted:
            self.abort()
            raise
        journal = {
            "moves": [[temp.name, str(target.relative_to(self.root))] for temp, target in self._staged],
            "remove": self.changes.removed,
            "manifest": None if manifest == self._previous and (self.root / MANIFEST).exists() else manifest,
        }
        with _signals_held() as held:
            try:
                temp = self.root / STAGING / "journal"
                _write_file(temp, json.dumps(journal, ensure_ascii=True).encode(), self._mode, sync=True)
                os.replace(temp, self.root / JOURNAL)  # the commit point
                _fsync_dir(self.root)
            except OSError as exc:
                self.abort()
                raise ShiplaneError(f"{self.root}: cannot update ({exc.strerror}); nothing was changed") from None
            self._staged.clear()
            self._created_dirs.clear()
            self._created_root = False
            try:
                _apply(self.root, journal)
            except OSError as exc:
                self._release()
                raise ShiplaneError(
                    f"{self.root}: cannot finish the update ({exc.strerror}); fix the directory and run shiplane "
                    f"render again to finish it"
                ) from None
            self._release()
        if held:
            raise Interrupted(held[0], committed=True)
        return self.changes

    def abort(self) -> None:
        """Forget everything staged: the output directory is as it was (idempotent)."""
        for temp, _ in self._staged:
            temp.unlink(missing_ok=True)
        self._staged.clear()
        if self._lock is not None:
            shutil.rmtree(self.root / STAGING, ignore_errors=True)
        for directory in reversed(self._created_dirs):
            with contextlib.suppress(OSError):
                directory.rmdir()
        self._created_dirs.clear()
        if self._created_root:
            with contextlib.suppress(OSError):
                self.root.rmdir()
        self._release()

    def _release(self) -> None:
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None


# -- the journal -------------------------------------------------------------------------------------------------


def _read_journal(path: Path) -> dict[str, Any]:
    """The journal at `path`. It is renamed into place whole, so it is never partial; anything else in its place
    (not ours, or naming a path outside the output directory) is refused, never applied."""
    try:
        journal = json.loads(path.read_bytes())
        moves, remove, manifest = journal["moves"], journal["remove"], journal["manifest"]
        if not (
            all(isinstance(name, str) and "/" not in name and is_safe_relative(target) for name, target in moves)
            and all(is_safe_relative(relative) for relative in remove)
            and (manifest is None or all(is_safe_relative(relative) for relative in manifest))
        ):
            raise ValueError("unsafe path")
    except (ValueError, TypeError, KeyError):
        raise ShiplaneError(f"{path}: not a shiplane journal; remove it") from None
    return {"moves": moves, "remove": remove, "manifest": manifest}


def _apply(root: Path, journal: dict[str, Any]) -> None:
    """Roll a committed journal forward: idempotent, so a run killed half-way is finished by the next one."""
    staging = root / STAGING
    for name, relative in journal["moves"]:
        source = staging / name
        if source.exists():
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
    for relative in journal["remove"]:
        (root / relative).unlink(missing_ok=True)
        _remove_empty_parents(root / relative, root)
    if journal["manifest"] is not None:
        temp = staging / "manifest"
        _write_file(temp, format_manifest(journal["manifest"]).encode("utf-8"), _default_mode(), sync=False)
        os.replace(temp, root / MANIFEST)
    (root / JOURNAL).unlink()
    shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def _signals_held() -> Iterator[list[int]]:
    """Hold SIGINT and SIGTERM until the block ends; yields the signals that arrived (main thread only)."""
    held: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield held
        return
    previous = {number: signal.signal(number, lambda n, _f: held.append(n)) for number in (signal.SIGINT,
                                                                                          signal.SIGTERM)}
    try:
        yield held
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


# -- the file list -----------------------------------------------------------------------------------------------


def parse_manifest(text: str) -> dict[str, str | None]:
    """`.shiplane-files` → {relative path: sha256 or None}. Reads version 1 (one path a line, no digest) too."""
    lines = text.splitlines()
    if not lines or lines[0] != _MANIFEST_HEADER:
        return {line: None for line in lines if line and is_safe_relative(line)}
    files: dict[str, str | None] = {}
    for line in lines[1:]:
        digest, _, name = line.partition(" ")
        if name.startswith('"'):
            with contextlib.suppress(ValueError):
                name = json.loads(name)
        if isinstance(name, str) and is_safe_relative(name) and re.fullmatch(r"[0-9a-f]{64}|-", digest):
            files[name] = None if digest == "-" else digest
    return files


def format_manifest(files: dict[str, str | None]) -> str:
    """The `.shiplane-files` text: a header, then `sha256 path` per file (a JSON string when not plain text)."""
    lines = [_MANIFEST_HEADER]
    for name in sorted(files):
        plain = name.isprintable() and not name.startswith(('"', " ")) and not name.endswith(" ")
        lines.append(f"{files[name] or '-'} {name if plain else json.dumps(name)}")
    return "\n".join(lines) + "\n"


def is_safe_relative(path: str) -> bool:
    """A relative path inside the output directory that is not one of shiplane's own bookkeeping files."""
    parts = Path(path).parts
    return (
        bool(parts)
        and not Path(path).is_absolute()
        and ".." not in parts
        and not parts[0].startswith(".shiplane")
        and "\x00" not in path
    )


def _write_file(path: Path, data: bytes, mode: int, *, sync: bool) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as stream:
        stream.write(data)
        if sync:
            stream.flush()
            os.fsync(stream.fileno())


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _default_mode() -> int:
    """0666 minus the process umask: the mode `open()` would give a new file."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def _remove_empty_parents(path: Path, root: Path) -> None:
    parent = path.parent
    while parent != root and root in parent.parents:
        try:
            parent.rmdir()
        except OSError:
            return
        parent = parent.parent

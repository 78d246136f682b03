"""The only module that touches the output directory.

Writing happens in two phases so that nothing is lost or half-written:

1. `stage()` is called for every validated document. Bytes equal to the file on disk are skipped; anything else is
   written to a temporary file beside its target (never over it).
2. `commit()` renames every staged file over its target (atomic per file), prunes the files shiplane wrote last
   time that are no longer produced, and records the new list in `.shiplane-files`. `abort()` removes the
   temporary files and leaves the directory exactly as it was.

In check mode nothing is written at all; `changes` lists what would be.

Only files listed in `.shiplane-files` are ever pruned, so a user's own files in the output directory are safe.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from shiplane.errors import ShiplaneError

MANIFEST = ".shiplane-files"


@dataclass
class Changes:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

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


class OutputDir:
    def __init__(self, root: str, *, check: bool, prune: bool = True) -> None:
        self.root = Path(root)
        self.check = check
        self.prune = prune
        self.changes = Changes()
        self._staged: list[tuple[Path, Path]] = []
        self._created_dirs: list[Path] = []
        self._produced: set[str] = set()
        self._previous = self._read_manifest()
        self._mode = _default_mode()

    def _read_manifest(self) -> set[str]:
        path = self.root / MANIFEST
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return set()
        except OSError as exc:
            raise ShiplaneError(f"{path}: cannot read ({exc.strerror}); fix the permissions") from None
        return {line for line in lines if line and _is_safe_relative(line)}

    def stage(self, relative: str, data: bytes) -> None:
        if not _is_safe_relative(relative) or relative == MANIFEST:
            raise ShiplaneError(f"refusing to write {relative!r}: outside the output directory")
        if relative in self._produced:
            raise ShiplaneError(f"{relative}: two documents would be written to the same file")
        self._produced.add(relative)
        target = self.root / relative
        mode = self._mode
        try:
            with target.open("rb") as existing:
                if existing.read() == data:
                    self.changes.unchanged.append(relative)
                    return
                mode = os.stat(existing.fileno()).st_mode & 0o7777  # a rewrite keeps the file's permissions
        except FileNotFoundError:
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
            handle, temp = tempfile.mkstemp(prefix=".shiplane-", suffix=".tmp", dir=target.parent)
            with os.fdopen(handle, "wb") as stream:
                os.fchmod(stream.fileno(), mode)  # mkstemp creates 0600; a rendered file is as readable as any other
                stream.write(data)
        except OSError as exc:
            self.abort()
            raise ShiplaneError(f"{target}: cannot write ({exc.strerror}); check the output directory") from None
        self._staged.append((Path(temp), target))

    def export(self) -> Staged:
        """Hand everything staged so far to another OutputDir (see absorb); this one forgets it."""
        staged = Staged(self._staged, self._created_dirs, self.changes.written, self.changes.unchanged)
        self._staged, self._created_dirs, self.changes = [], [], Changes()
        return staged

    def absorb(self, staged: Staged) -> None:
        """Take over what another OutputDir on the same directory staged (a render worker's share)."""
        self._staged.extend(staged.files)
        self._created_dirs.extend(staged.created_dirs)
        for relative in (*staged.written, *staged.unchanged):
            if relative in self._produced:
                self.abort()
                raise ShiplaneError(f"{relative}: two documents would be written to the same file")
            self._produced.add(relative)
        self.changes.written.extend(staged.written)
        self.changes.unchanged.extend(staged.unchanged)

    def _make_dirs(self, directory: Path) -> None:
        """mkdir -p, remembering what it created so that abort() can leave no empty directory behind."""
        missing: list[Path] = []
        while not directory.exists():
            missing.append(directory)
            directory = directory.parent
        for path in reversed(missing):
            path.mkdir(exist_ok=True)
            self._created_dirs.append(path)

    def commit(self) -> Changes:
        if not self.prune:
            # `render --only APP`: the other apps' files were not rendered this time, so none of them is stale.
            self._produced |= {path for path in self._previous if (self.root / path).exists()}
        stale = sorted(self._previous - self._produced)
        self.changes.removed = [path for path in stale if (self.root / path).exists()]
        if self.check:
            return self.changes
        try:
            for temp, target in self._staged:
                os.replace(temp, target)
            self._staged.clear()
            for relative in self.changes.removed:
                (self.root / relative).unlink(missing_ok=True)
                _remove_empty_parents(self.root / relative, self.root)
            if self._produced != self._previous or not (self.root / MANIFEST).exists():
                self._write_manifest()
        except OSError as exc:
            self.abort()
            raise ShiplaneError(f"{self.root}: cannot update ({exc.strerror}); check the output directory") from None
        return self.changes

    def _write_manifest(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=".shiplane-", suffix=".tmp", dir=self.root)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            os.fchmod(stream.fileno(), self._mode)
            stream.write("".join(f"{path}\n" for path in sorted(self._produced)))
        os.replace(temp, self.root / MANIFEST)

    def abort(self) -> None:
        for temp, _ in self._staged:
            temp.unlink(missing_ok=True)
        self._staged.clear()
        for directory in reversed(self._created_dirs):
            with contextlib.suppress(OSError):  # not empty: a file was renamed into it before the failure
                directory.rmdir()
        self._created_dirs.clear()


def _default_mode() -> int:
    """0666 minus the process umask: the mode `open()` would give a new file."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def _is_safe_relative(path: str) -> bool:
    parts = Path(path).parts
    return bool(parts) and not Path(path).is_absolute() and ".." not in parts


def _remove_empty_parents(path: Path, root: Path) -> None:
    parent = path.parent
    while parent != root and root in parent.parents:
        try:
            parent.rmdir()
        except OSError:
            return
        parent = parent.parent

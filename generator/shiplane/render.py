"""Render a fleet: model → documents → validation → output directory.

The renderers (`shiplane.concourse`, `shiplane.spinnaker`) turn the model into documents; this module validates
each one with the validator for its kind and hands the canonical bytes to :class:`shiplane.output.OutputDir`.
Nothing is renamed into place until every document of the run is valid.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TextIO

from shiplane import concourse, spinnaker
from shiplane.documents import Document, DocumentKind
from shiplane.errors import ShiplaneError, UsageError
from shiplane.model import App, Fleet
from shiplane.output import Changes, OutputDir, Staged
from shiplane.templates import TemplateSet

Validator = Callable[[Document, Fleet], list[str]]

VALIDATORS: dict[DocumentKind, Validator] = {
    "concourse-pipeline": concourse.validate_document,
    "spinnaker-application": spinnaker.validate_document,
    "spinnaker-pipeline": spinnaker.validate_document,
    "clouddriver-config": spinnaker.validate_document,
    "igor-config": spinnaker.validate_document,
    "operator-patch": spinnaker.validate_document,
    "halyard-script": spinnaker.validate_document,
}


def select_apps(fleet: Fleet, only: str | None) -> tuple[App, ...]:
    """All apps, or the one `--only` names (a usage error when there is none)."""
    if only is None:
        return fleet.apps
    apps = tuple(app for app in fleet.apps if app.name == only)
    if not apps:
        names = ", ".join(app.name for app in fleet.apps)
        raise UsageError(f"--only {only}: no such app in {fleet.source}; apps: {names}")
    return apps


def app_documents(fleet: Fleet, templates: TemplateSet, app: App) -> Iterator[Document]:
    yield from concourse.render_app(fleet, app, templates)
    yield from spinnaker.render_app(fleet, app, templates)


def fleet_documents(fleet: Fleet, templates: TemplateSet) -> Iterator[Document]:
    for part in (concourse, spinnaker):
        yield from part.render_fleet(fleet, templates)


def documents(fleet: Fleet, templates: TemplateSet, only: str | None = None) -> Iterator[Document]:
    """Every document of the fleet (or of one app plus the fleet-wide ones), app by app."""
    for app in select_apps(fleet, only):
        yield from app_documents(fleet, templates, app)
    yield from fleet_documents(fleet, templates)


def validate(document: Document, fleet: Fleet) -> None:
    """Raise ShiplaneError listing every problem of `document`."""
    problems = VALIDATORS[document.kind](document, fleet)
    if problems:
        raise ShiplaneError(f"{document.path} (from {document.origin}): {problem}" for problem in problems)


class Progress:
    """A one-line progress counter on stderr, only when stderr is a terminal."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.stream = stream
        self.enabled = stream.isatty() and total > 1

    def update(self, done: int, name: str) -> None:
        if self.enabled and (done == self.total or done % 10 == 0):
            self.stream.write(f"\rrendering {done}/{self.total} apps ({name})\x1b[K")
            self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.enabled = False


def render(
    fleet: Fleet,
    templates: TemplateSet,
    out_dir: str,
    *,
    check: bool = False,
    only: str | None = None,
    stderr: TextIO = sys.stderr,
    jobs: int | None = None,
    force: bool = False,
) -> Changes:
    """Render, validate and write (or, with `check`, compare) every document. All or nothing.

    With more than one job, the apps are rendered by forked worker processes in chunks; each worker validates and
    stages its documents as temporary files, and this process renames them into place only when every document of
    every worker is valid (see shiplane.output for the commit). `force`: with `only`, replace files edited by hand
    (without it they are a ShiplaneError; a full render replaces them and lists them in `Changes.edited`).
    """
    apps = select_apps(fleet, only)
    output = OutputDir(out_dir, check=check, prune=only is None, keep_edits=only is not None and not force)
    progress = Progress(len(apps), stderr)
    workers = _workers(jobs, len(apps))
    try:
        if workers == 1:
            for done, app in enumerate(apps, start=1):
                _stage(app_documents(fleet, templates, app), fleet, output)
                progress.update(done, app.name)
        else:
            _render_in_workers(fleet, templates, apps, output, workers=workers, progress=progress)
        _stage(fleet_documents(fleet, templates), fleet, output)
        progress.finish()
        return output.commit()
    except BaseException:
        output.abort()
        raise
    finally:
        progress.finish()


def _stage(documents: Iterable[Document], fleet: Fleet, output: OutputDir) -> None:
    for document in documents:
        validate(document, fleet)
        output.stage(document.path, document.to_bytes())


MIN_APPS_PER_WORKER = 25
"""Below this many apps per process, forking costs more than it saves."""


def _workers(jobs: int | None, apps: int) -> int:
    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs {jobs}: give 1 or more processes")
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    wanted = jobs if jobs is not None else len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    return max(1, min(wanted, apps // MIN_APPS_PER_WORKER))


# The state a forked worker renders with: set in the parent just before the fork, inherited by the children.
_WORKER_STATE: tuple[Fleet, TemplateSet, OutputDir] | None = None


def _worker_init(parent: int) -> None:
    """In a new worker: die quietly with the parent, leave Ctrl-C to the parent, and let Pool.terminate's SIGTERM
    end the worker without a traceback. PR_SET_PDEATHSIG (prctl(2)) is Linux's; elsewhere the worker ends when it
    next reads from the closed pipe (multiprocessing.pool.worker exits on EOFError/OSError)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1
    if os.getppid() != parent:  # the parent died before prctl took effect (we were re-parented)
        os._exit(0)


@dataclass(frozen=True)
class _ChunkResult:
    apps: int
    last: str
    staged: Staged | None
    problems: tuple[str, ...]
    usage_error: bool = False


def _render_chunk(names: tuple[str, ...]) -> _ChunkResult:
    """In a worker: render, validate and stage the documents of some apps. Never raises."""
    assert _WORKER_STATE is not None
    fleet, templates, parent = _WORKER_STATE
    output = parent.worker()
    try:
        for name in names:
            _stage(app_documents(fleet, templates, fleet.app(name)), fleet, output)
        return _ChunkResult(len(names), names[-1], output.export(), ())
    except ShiplaneError as exc:
        output.abort()
        return _ChunkResult(len(names), names[-1], None, exc.problems, isinstance(exc, UsageError))
    except (MemoryError, RecursionError) as exc:
        output.abort()
        what = "ran out of memory" if isinstance(exc, MemoryError) else "nested too deeply"
        return _ChunkResult(len(names), names[-1], None, (f"rendering apps {names[0]}..{names[-1]} {what}",))
    except BaseException as exc:  # a bug: report it in the parent, leave no temporary file behind
        output.abort()
        return _ChunkResult(len(names), names[-1], None, (f"internal error: {exc!r}",))


def _render_in_workers(
    fleet: Fleet,
    templates: TemplateSet,
    apps: tuple[App, ...],
    output: OutputDir,
    *,
    workers: int,
    progress: Progress,
) -> None:
    global _WORKER_STATE  # noqa: PLW0603 - handed to forked children, never read in this process
    size = max(1, min(50, len(apps) // (workers * 8)))
    chunks = [tuple(app.name for app in apps[i : i + size]) for i in range(0, len(apps), size)]
    _WORKER_STATE = (fleet, templates, output)
    problems: list[str] = []
    usage_error = False
    done = 0
    try:
        with multiprocessing.get_context("fork").Pool(
            workers, initializer=_worker_init, initargs=(os.getpid(),)
        ) as pool:
            for result in pool.imap(_render_chunk, chunks):
                done += result.apps
                progress.update(done, result.last)
                if result.staged is not None:
                    output.absorb(result.staged)
                problems.extend(problem for problem in result.problems if problem not in problems)
                usage_error = usage_error or result.usage_error
    finally:
        _WORKER_STATE = None
    if problems:
        raise (UsageError if usage_error else ShiplaneError)(problems)


def validate_fleet(fleet: Fleet, templates: TemplateSet) -> int:
    """Render every document in memory and validate it; return how many there were."""
    count = 0
    for document in documents(fleet, templates):
        validate(document, fleet)
        count += 1
    return count

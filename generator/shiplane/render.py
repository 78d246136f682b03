"""Render a fleet: model → documents → validation → output directory.

The renderers (`shiplane.concourse`, `shiplane.spinnaker`) turn the model into documents; this module validates
each one with the validator for its kind and hands the canonical bytes to :class:`shiplane.output.OutputDir`.
Nothing is renamed into place until every document of the run is valid.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import TextIO

from shiplane import concourse, spinnaker
from shiplane.documents import Document, DocumentKind
from shiplane.errors import ShiplaneError, UsageError
from shiplane.model import Fleet
from shiplane.output import Changes, OutputDir
from shiplane.templates import TemplateSet

Validator = Callable[[Document, Fleet], list[str]]

VALIDATORS: dict[DocumentKind, Validator] = {
    "concourse-pipeline": concourse.validate_document,
    "spinnaker-application": spinnaker.validate_document,
    "spinnaker-pipeline": spinnaker.validate_document,
    "clouddriver-config": spinnaker.validate_document,
}


def documents(fleet: Fleet, templates: TemplateSet, only: str | None = None) -> Iterator[Document]:
    """Every document of the fleet (or of one app plus the fleet-wide ones), app by app."""
    apps = fleet.apps
    if only is not None:
        apps = tuple(app for app in apps if app.name == only)
        if not apps:
            names = ", ".join(app.name for app in fleet.apps)
            raise UsageError(f"--only {only}: no such app in {fleet.source}; apps: {names}")
    for app in apps:
        yield from concourse.render_app(fleet, app, templates)
        yield from spinnaker.render_app(fleet, app, templates)
    for part in (concourse, spinnaker):
        yield from part.render_fleet(fleet, templates)


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


def render(
    fleet: Fleet,
    templates: TemplateSet,
    out_dir: str,
    *,
    check: bool = False,
    only: str | None = None,
    stderr: TextIO = sys.stderr,
) -> Changes:
    """Render, validate and write (or, with `check`, compare) every document. All or nothing."""
    output = OutputDir(out_dir, check=check, prune=only is None)
    progress = Progress(1 if only else len(fleet.apps), stderr)
    current_app: str | None = None
    done = 0
    try:
        for document in documents(fleet, templates, only):
            if document.app is not None and document.app != current_app:
                current_app = document.app
                done += 1
                progress.update(done, current_app)
            validate(document, fleet)
            output.stage(document.path, document.to_bytes())
    except BaseException:
        output.abort()
        raise
    finally:
        progress.finish()
    return output.commit()


def validate_fleet(fleet: Fleet, templates: TemplateSet) -> int:
    """Render every document in memory and validate it; return how many there were."""
    count = 0
    for document in documents(fleet, templates):
        validate(document, fleet)
        count += 1
    return count

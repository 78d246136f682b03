"""Concourse: pipelines per app, the meta pipeline, and a linter equal to `fly validate-pipeline --strict`.

Interface used by `shiplane.render` and `shiplane.cli`:

- `render_app(fleet, app, templates) -> list[Document]`: `concourse/<app>.yml` (kind `concourse-pipeline`).
- `render_fleet(fleet, templates) -> list[Document]`: the fleet-wide documents: `concourse/set-pipelines.yml`
  (the meta pipeline).
- `validate_document(document, fleet) -> list[str]`: the linter's problems (strict: warnings count).
- `lint_files(paths, strict, stderr) -> int`: `shiplane lint-pipeline`; exit code.

The modules: `render` (template context and documents), `parse` and `lint` (the linter), `goport` (the Go
functions Concourse's validation depends on).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from shiplane.concourse import lint, render
from shiplane.config.yamlsource import format_path
from shiplane.documents import Document
from shiplane.model import App, Fleet
from shiplane.templates import TemplateSet


def render_app(fleet: Fleet, app: App, templates: TemplateSet) -> list[Document]:
    return [render.pipeline(fleet, app, templates)]


def render_fleet(fleet: Fleet, templates: TemplateSet) -> list[Document]:
    return [render.meta_pipeline(fleet, templates)]


def validate_document(document: Document, fleet: Fleet) -> list[str]:
    """Strict lint of a rendered pipeline: every finding (warnings included) is a problem."""
    return [f"{format_path(finding.path)}: {finding.message}" for finding in lint.lint_data(document.content)]


def lint_files(paths: Sequence[str], strict: bool, stderr: TextIO) -> int:
    return lint.lint_files(paths, strict, stderr)

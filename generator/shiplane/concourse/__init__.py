"""Concourse: pipelines per app, the meta pipeline, and a linter equal to `fly validate-pipeline --strict`.

Interface used by `shiplane.render` and `shiplane.cli` (implemented in this package's modules):

- `render_app(fleet, app, templates) -> list[Document]`: `concourse/<app>.yml` (kind `concourse-pipeline`).
- `render_fleet(fleet, templates) -> list[Document]`: the fleet-wide documents: `concourse/set-pipelines.yml`
  (the meta pipeline).
- `validate_document(document, fleet) -> list[str]`: the linter's problems (strict: warnings count).
- `lint_files(paths, strict, stderr) -> int`: `shiplane lint-pipeline`; exit code.

ON THE `spinnaker` BRANCH ONLY: empty results, so that `shiplane render` runs end to end while the Concourse half
is built on its own branch (the lead takes that branch's version of this file at merge).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from shiplane.documents import Document
from shiplane.model import App, Fleet
from shiplane.templates import TemplateSet


def render_app(fleet: Fleet, app: App, templates: TemplateSet) -> list[Document]:
    return []


def render_fleet(fleet: Fleet, templates: TemplateSet) -> list[Document]:
    return []


def validate_document(document: Document, fleet: Fleet) -> list[str]:
    return []


def lint_files(paths: Sequence[str], strict: bool, stderr: TextIO) -> int:
    return 0

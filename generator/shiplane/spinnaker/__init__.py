"""Spinnaker: applications, deploy and rollback pipelines, their Kubernetes manifests, clouddriver accounts.

Interface used by `shiplane.render` and `shiplane.cli` (implemented in this package's modules):

- `render_app(fleet, app, templates) -> list[Document]`: `spinnaker/<app>/application.json`,
  `spinnaker/<app>/deploy-<env>.json`, `spinnaker/<app>/rollback-<env>.json`.
- `render_fleet(fleet, templates) -> list[Document]`: the fleet-wide documents: `spinnaker/clouddriver-local.yml`
  (the accounts).
- `validate_document(document, fleet) -> list[str]`: Orca/clouddriver rules + Kubernetes schemas.
- `lint_files(paths, clouddriver, stderr) -> int`: `shiplane lint-spinnaker`; exit code.

ON THE `concourse` BRANCH ONLY: an empty stand-in so that `shiplane render` runs end to end while the Spinnaker half
is built on its own branch; the lead takes that branch's version of this file at merge.
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


def lint_files(paths: Sequence[str], clouddriver: str | None, stderr: TextIO) -> int:
    return 0

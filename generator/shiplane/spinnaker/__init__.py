"""Spinnaker: applications, deploy and rollback pipelines, their Kubernetes manifests, clouddriver accounts.

Interface used by `shiplane.render` and `shiplane.cli` (implemented in this package's modules):

- `render_app(fleet, app, templates) -> list[Document]`: `spinnaker/<app>/application.json`,
  `spinnaker/<app>/deploy-<env>.json`, `spinnaker/<app>/rollback-<env>.json`, and `spinnaker/<app>/mysql-<env>.json`
  for environments with MySQL (`pipelines`; manifests in `manifests`, triggers in `triggers`).
- `render_fleet(fleet, templates) -> list[Document]`: the fleet-wide documents (`accounts`):
  `spinnaker/clouddriver-local.yml`, `spinnaker/igor-local.yml`, `spinnaker/operator-accounts-patch.yml`,
  `spinnaker/halyard-accounts.sh`.
- `validate_document(document, fleet) -> list[str]`: Orca/Echo/clouddriver rules (`lint`) + Kubernetes schemas
  (`kubeschema`).
- `lint_files(paths, clouddriver, stderr, kubernetes_version) -> int`: `shiplane lint-spinnaker`; exit code
  (`validate`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from shiplane.documents import Document
from shiplane.model import App, Fleet
from shiplane.spinnaker import pipelines, validate
from shiplane.templates import TemplateSet


def render_app(fleet: Fleet, app: App, templates: TemplateSet) -> list[Document]:
    return pipelines.app_documents(fleet, app, templates)


def render_fleet(fleet: Fleet, templates: TemplateSet) -> list[Document]:
    return pipelines.fleet_documents(fleet)


def validate_document(document: Document, fleet: Fleet) -> list[str]:
    return validate.validate_document(document, fleet)


def lint_files(paths: Sequence[str], clouddriver: str | None, stderr: TextIO,
               kubernetes_version: str | None = None) -> int:
    return validate.lint_files(paths, clouddriver, stderr, kubernetes_version)

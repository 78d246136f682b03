"""What a Spinnaker linter knows about the Spinnaker a document goes to (shared by every rule family)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shiplane.spinnaker.kubeschema import KubernetesSchemas
from shiplane.spinnaker.tags import TagPolicy


@dataclass(frozen=True)
class Accounts:
    """Spinnaker accounts that exist: docker registry names, and Kubernetes names with their namespaces."""

    docker: frozenset[str]
    kubernetes: Mapping[str, frozenset[str] | None]
    """Account → the namespaces it manages (None: any namespace)."""


@dataclass(frozen=True)
class Context:
    """What is known about the Spinnaker the pipeline goes to. Unknown parts are not checked."""

    accounts: Accounts | None = None
    kubernetes: KubernetesSchemas | None = None
    spinnaker_version: tuple[int, int, int] | None = None
    application: str | None = None
    """The application the pipeline must belong to."""
    tag_policy: TagPolicy | None = None
    """What the docker trigger must fire for (shiplane's own pipelines)."""
    docker_repository: tuple[str, str] | None = None
    """(docker account, repository) the docker trigger must watch (shiplane's own pipelines)."""
    traffic_strategy: str | None = None
    """The red/black strategy name every traffic-managed deploy must use (shiplane's own pipelines)."""
    strict: bool = False
    """shiplane's own pipelines: Services deployed in the same stage, explicit namespaces."""


@dataclass
class Manifest:
    """One Kubernetes object of a stage: its position, body and path for findings."""

    index: int
    body: dict[str, Any]
    path: str

    @property
    def kind(self) -> str:
        kind = self.body.get("kind")
        return kind if isinstance(kind, str) else ""

    @property
    def name(self) -> str | None:
        metadata = self.body.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        return name if isinstance(name, str) else None

    def namespace(self, override: str | None) -> str | None:
        if override:
            return override
        metadata = self.body.get("metadata")
        namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
        return namespace if isinstance(namespace, str) and namespace else None

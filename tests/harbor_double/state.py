"""Projects, repositories, artifacts and tags, with Harbor's rules for creating, moving and deleting them.

The rules are those of Harbor v2.15.2:
- `ensure_artifact` (controller/artifact/controller.go ensureArtifact): an artifact is created once per
  repository+digest, its push_time set only then; creation touches the repository's update_time.
- `ensure_tag` (controller/tag/controller.go Ensure): a tag already on the artifact is left alone; a tag on another
  artifact MOVES (its push_time is renewed, the repository touched) unless it is immutable (412); a new tag is
  created (repository touched).
- `delete_artifact` (deleteDeeply): refuses an artifact referenced by an index (412), deletes untagged children,
  deletes the tags (412 when one is immutable), touches the repository.
- pulls (event/handler/internal/artifact.go + repository dao AddPullCount) set pull_time on the artifact, the tag
  pulled and parent indexes, add one to the repository's pull_count and bump its update_time.
Scan reports live in the scanner, keyed by digest.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from .auth import Accounts
from .clock import Clock
from .errors import HarborError, not_found
from .query import AndList, Fuzzy, Keywords, OrList, field_matcher, parse_sort, snake_case
from .scanner import Report, Scanner

T = TypeVar("T")

ICON_IMAGE = "sha256:0048162a053eef4d4ce3fe7518615bef084403614f8bca43b40ae2e762e11e06"
ICON_DEFAULT = "sha256:da834479c923584f4cbcdecc0dac61f32bef1d51e8aae598cf16bd154efab49f"

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
IMAGE_CONFIG_TYPES = {"application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"}
# controller/artifact/processor: chart (config media type) -> CHART; cnab (the index's
# org.opencontainers.artifactType annotation, abstractor.go abstractIndexMetadata) -> CNAB
HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
CNAB_MEDIA_TYPE = "application/vnd.cnab.manifest.v1"
INDEX_TYPES = {OCI_INDEX, DOCKER_LIST}
MANIFEST_TYPES = {OCI_MANIFEST, DOCKER_MANIFEST}
UNSCANNABLE_LAYER_TYPES = {"application/vnd.in-toto+json"}  # controller/artifact/controller.go skippedContentTypes

TAG_NAME = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$")
DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")
SHA256 = re.compile(r"^sha256:[a-f0-9]{64}$")

# v1.ImageConfig fields in struct order; Go drops everything else when it decodes a config.
IMAGE_CONFIG_FIELDS = (
    "User", "ExposedPorts", "Env", "Entrypoint", "Cmd", "Volumes", "WorkingDir", "Labels", "StopSignal", "ArgsEscaped",
)  # fmt: skip


def is_digest(reference: str) -> bool:
    """digest.Parse: algorithm:encoded, and a well-formed sha256 when the algorithm is sha256."""
    if not DIGEST.match(reference):
        return False
    return not reference.startswith("sha256:") or bool(SHA256.match(reference))


def doublestar(pattern: str) -> re.Pattern[str]:
    """Harbor's immutable/retention selectors use doublestar globs: `**`, `*`, `?`, `{a,b}`."""
    out = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "{":
            end = pattern.find("}", i)
            if end < 0:
                out.append(re.escape(char))
            else:
                out.append("(?:" + "|".join(re.escape(alt) for alt in pattern[i + 1 : end].split(",")) + ")")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out) + r"\Z")


@dataclass
class ImmutableRule:
    """An immutable tag rule: tags matching `tag_pattern` in repositories matching `repo_pattern`."""

    id: int
    tag_pattern: str = "**"
    repo_pattern: str = "**"
    tag_decoration: str = "matches"  # or "excludes"
    repo_decoration: str = "repoMatches"  # or "repoExcludes"
    disabled: bool = False
    priority: int = 0

    def matches(self, repository: str, tag: str) -> bool:
        """`repository` without the project part, as Harbor's matcher sees it."""
        if self.disabled:
            return False
        repo_hit = bool(doublestar(self.repo_pattern).match(repository))
        tag_hit = bool(doublestar(self.tag_pattern).match(tag))
        if self.repo_decoration == "repoExcludes":
            repo_hit = not repo_hit
        if self.tag_decoration == "excludes":
            tag_hit = not tag_hit
        return repo_hit and tag_hit

    def to_json(self, project_id: int) -> dict[str, object]:
        return {
            "id": self.id,
            "project_id": project_id,
            "disabled": self.disabled,
            "priority": self.priority,
            "action": "immutable",
            "template": "immutable_template",
            "tag_selectors": [{"kind": "doublestar", "decoration": self.tag_decoration, "pattern": self.tag_pattern}],
            "scope_selectors": {
                "repository": [{"kind": "doublestar", "decoration": self.repo_decoration, "pattern": self.repo_pattern}]
            },
        }


@dataclass(eq=False)
class Project:
    id: int
    name: str
    metadata: dict[str, str]
    creation_time: datetime
    update_time: datetime
    cve_allowlist: list[str] = field(default_factory=list)
    allowlist_expires_at: int | None = None
    immutable_rules: list[ImmutableRule] = field(default_factory=list)

    def flag(self, key: str) -> bool:
        return self.metadata.get(key, "false").lower() == "true"

    @property
    def public(self) -> bool:
        return self.flag("public")

    @property
    def auto_scan(self) -> bool:
        return self.flag("auto_scan")

    @property
    def prevent_vul(self) -> bool:
        return self.flag("prevent_vul")

    def immutable(self, repository_name: str, tag: str) -> bool:
        short = repository_name.split("/", 1)[1] if "/" in repository_name else repository_name
        return any(rule.matches(short, tag) for rule in self.immutable_rules)


@dataclass(eq=False)
class Tag:
    id: int
    repository_id: int
    artifact_id: int
    name: str
    push_time: datetime
    pull_time: datetime | None = None


@dataclass(eq=False)
class Reference:
    parent_id: int
    child_id: int
    child_digest: str
    platform: dict[str, object] | None = None
    annotations: dict[str, str] | None = None
    urls: list[str] | None = None


@dataclass(eq=False)
class Artifact:
    id: int
    project_id: int
    repository_id: int
    repository_name: str
    digest: str
    type: str
    media_type: str
    manifest_media_type: str
    artifact_type: str
    size: int
    icon: str
    push_time: datetime
    pull_time: datetime | None = None
    extra_attrs: dict[str, object] | None = None
    annotations: dict[str, str] | None = None
    references: list[Reference] = field(default_factory=list)
    tags: dict[str, Tag] = field(default_factory=dict)
    history: list[dict[str, object]] | None = None
    labels: tuple[int, ...] = ()
    unscannable_layer: bool = False

    @property
    def is_index(self) -> bool:
        return self.manifest_media_type in INDEX_TYPES

    def sorted_tags(self) -> list[Tag]:
        """Tags as Harbor lists them for an artifact: default sort -push_time, -id."""
        return sorted(self.tags.values(), key=lambda tag: (tag.push_time, tag.id), reverse=True)


@dataclass(eq=False)
class Repository:
    id: int
    project_id: int
    name: str
    creation_time: datetime
    update_time: datetime
    description: str = ""
    pull_count: int = 0
    artifacts: dict[str, Artifact] = field(default_factory=dict)  # digest -> artifact
    tags: dict[str, Tag] = field(default_factory=dict)  # name -> tag


@dataclass
class Child:
    digest: str
    platform: dict[str, object] | None
    annotations: dict[str, str] | None
    urls: list[str] | None


@dataclass
class ManifestInfo:
    """What Harbor's abstractor and image processor read from a manifest and its config blob."""

    manifest_media_type: str
    media_type: str
    artifact_type: str
    size: int
    type: str
    annotations: dict[str, str] | None = None
    extra_attrs: dict[str, object] | None = None
    history: list[dict[str, object]] | None = None
    children: list[Child] = field(default_factory=list)
    unscannable_layer: bool = False  # a layer of media type application/vnd.in-toto+json (HasUnscannableLayer)


def parse_manifest(content: bytes, content_type: str, config_blob: Callable[[str], bytes] | None) -> ManifestInfo:
    """Abstract a manifest like src/controller/artifact/abstractor.go (+ the image processor's extra_attrs)."""
    try:
        manifest = json.loads(content)
    except ValueError:
        raise HarborError("MANIFEST_INVALID", "manifest invalid: not JSON") from None
    media_type = manifest.get("mediaType") or content_type.split(";", maxsplit=1)[0].strip()
    if media_type not in MANIFEST_TYPES | INDEX_TYPES:
        media_type = OCI_INDEX if "manifests" in manifest else OCI_MANIFEST
    if media_type in INDEX_TYPES:
        children = [
            Child(
                digest=str(entry["digest"]),
                platform=entry.get("platform"),
                annotations=entry.get("annotations"),
                urls=entry.get("urls"),
            )
            for entry in manifest.get("manifests", [])
        ]
        annotations = manifest.get("annotations") or None
        index_media_type = (annotations or {}).get("org.opencontainers.artifactType") or media_type
        return ManifestInfo(
            manifest_media_type=media_type,
            media_type=index_media_type,
            artifact_type=str(manifest.get("artifactType", "")),
            size=len(content),
            type="CNAB" if index_media_type == CNAB_MEDIA_TYPE else "IMAGE",
            annotations=annotations,
            children=children,
        )
    config = manifest.get("config") or {}
    config_type = str(config.get("mediaType", ""))
    size = len(content) + int(config.get("size", 0)) + sum(int(layer.get("size", 0)) for layer in manifest["layers"])
    info = ManifestInfo(
        manifest_media_type=media_type,
        media_type=config_type,
        artifact_type=str(manifest.get("artifactType") or config_type),
        size=size,
        type="IMAGE" if config_type in IMAGE_CONFIG_TYPES else "CHART" if config_type == HELM_CONFIG else "UNKNOWN",
        annotations=manifest.get("annotations") or None,
        unscannable_layer=any(
            isinstance(layer, dict) and layer.get("mediaType") in UNSCANNABLE_LAYER_TYPES
            for layer in manifest["layers"]
        ),
    )
    if info.type == "IMAGE" and config_blob is not None and int(config.get("size", 0)) > 0:
        image = json.loads(config_blob(str(config["digest"])))
        image_config = image.get("config") or {}
        author = image.get("author") or ""
        labels = image_config.get("Labels") or {}
        if not author:
            author = labels.get("org.opencontainers.image.authors") or labels.get("maintainer") or ""
        info.extra_attrs = {
            "created": image.get("created"),
            "architecture": image.get("architecture", ""),
            "os": image.get("os", ""),
            "config": {key: image_config[key] for key in IMAGE_CONFIG_FIELDS if image_config.get(key)},
            "author": author,
        }
        info.history = image.get("history") or None
    return info


ARTIFACT_COLUMNS = {
    "id": "id",
    "type": "type",
    "media_type": "media_type",
    "manifest_media_type": "manifest_media_type",
    "artifact_type": "artifact_type",
    "project_id": "project_id",
    "repository_id": "repository_id",
    "repository_name": "repository_name",
    "digest": "digest",
    "size": "size",
    "icon": "icon",
    "push_time": "push_time",
    "pull_time": "pull_time",
    "extra_attrs": "extra_attrs",
    "annotations": "annotations",
}
ARTIFACT_FIELDS = {
    "ID": "id", "Type": "type", "MediaType": "media_type", "ManifestMediaType": "manifest_media_type",
    "ArtifactType": "artifact_type", "ProjectID": "project_id", "RepositoryID": "repository_id",
    "RepositoryName": "repository_name", "Digest": "digest", "Size": "size", "Icon": "icon",
    "PushTime": "push_time", "PullTime": "pull_time", "ExtraAttrs": "extra_attrs", "Annotations": "annotations",
}  # fmt: skip
DEFAULT_ARTIFACT_SORT = [("push_time", True), ("id", True)]
DEFAULT_TAG_SORT = [("push_time", True), ("id", True)]
TAG_COLUMNS = {"id": "id", "repository_id": "repository_id", "artifact_id": "artifact_id", "name": "name",
               "push_time": "push_time", "pull_time": "pull_time"}  # fmt: skip
TAG_FIELDS = {"ID": "id", "RepositoryID": "repository_id", "ArtifactID": "artifact_id", "Name": "name",
              "PushTime": "push_time", "PullTime": "pull_time"}  # fmt: skip


def _column(key: str, columns: dict[str, str], fields: dict[str, str]) -> str | None:
    if key in columns:
        return columns[key]
    if key in fields:
        return fields[key]
    return columns.get(snake_case(key))


def _attribute(item: object, column: str) -> object:
    value = getattr(item, column)
    if isinstance(value, dict):
        return json.dumps(value)
    return value


def sort_items(
    items: list[T], sort: str, columns: dict[str, str], fields: dict[str, str], default: list[tuple[str, bool]]
) -> list[T]:
    """ORDER BY the sortable keys of `sort` (unknown ones dropped; none left -> the model's default sort)."""
    keys = [(column, desc) for key, desc in parse_sort(sort) if (column := _column(key, columns, fields))]
    if not keys:
        keys = default
    ordered = sorted(items, key=lambda item: getattr(item, "id"))  # noqa: B009 - ties in insertion order
    for column, desc in reversed(keys):
        ordered.sort(key=functools.partial(_sort_value, column=column), reverse=desc)
    return ordered


def _sort_value(item: object, *, column: str) -> tuple[int, Any]:
    return _sort_key(_attribute(item, column))


def _sort_key(value: object) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, datetime):
        return (1, value.timestamp())
    return (1, value)


class HarborState:
    """All of the double's mutable state. Every method expects `lock` to be held by the caller."""

    def __init__(self, clock: Clock, scanner: Scanner, accounts: Accounts) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.reset(scanner, accounts)

    def reset(self, scanner: Scanner, accounts: Accounts) -> None:
        """Forget everything (the lock stays: other threads may be waiting on it)."""
        self.scanner = scanner
        self.accounts = accounts
        self.projects: dict[str, Project] = {}
        self.repositories: dict[str, Repository] = {}
        self.artifacts: dict[int, Artifact] = {}
        self.parents: dict[int, set[int]] = {}  # child artifact id -> parent artifact ids
        self.known_blobs: set[str] = set()
        self.touch_repo = True  # v2.15.2's touchRepo (HarborDouble.version sets it)
        self.skip_unscannable_layers = True  # v2.11.0's HasUnscannableLayer in the scan walk (version sets it)
        self.version = 0  # bumped by every change that can alter a listing
        self._list_cache: dict[tuple[object, ...], list[Artifact]] = {}
        self._ids = {
            name: itertools.count(1)
            for name in ("project", "repository", "artifact", "tag", "rule", "synthetic", "robot")
        }

    def next_id(self, table: str) -> int:
        return next(self._ids[table])

    def changed(self) -> None:
        self.version += 1
        self._list_cache.clear()

    # --- projects and repositories -------------------------------------------------------------------------
    def create_project(self, name: str, metadata: dict[str, str]) -> Project:
        if name in self.projects:
            raise HarborError("CONFLICT", f"The project named {name} already exists")
        now = self.clock.now()
        project = Project(self.next_id("project"), name, {"public": "false", **metadata}, now, now)
        self.projects[name] = project
        return project

    def project(self, name: str) -> Project:
        project = self.projects.get(name)
        if project is None:
            raise not_found(f"project {name} not found")
        return project

    def project_by_id(self, project_id: int) -> Project:
        for project in self.projects.values():
            if project.id == project_id:
                return project
        raise not_found(f"project {project_id} not found")

    def repository(self, name: str) -> Repository:
        repository = self.repositories.get(name)
        if repository is None:
            raise not_found(f"repository {name} not found")
        return repository

    def ensure_repository(self, name: str) -> Repository:
        """repository.Ctl.Ensure: created (creation_time = update_time = now) on the first push."""
        repository = self.repositories.get(name)
        if repository is None:
            project = self.project(name.split("/", 1)[0])
            now = self.clock.now()
            repository = Repository(self.next_id("repository"), project.id, name, now, now)
            self.repositories[name] = repository
            self.changed()
        return repository

    def touch(self, repository: Repository) -> None:
        """touchRepo (v2.15.2 only: before it artifact and tag changes left update_time alone)."""
        if self.touch_repo:
            repository.update_time = self.clock.now()

    # --- artifacts -----------------------------------------------------------------------------------------
    def artifact_by_digest(self, repository_name: str, digest: str) -> Artifact:
        repository = self.repositories.get(repository_name)
        artifact = repository.artifacts.get(digest) if repository else None
        if artifact is None:
            raise not_found(f"artifact {repository_name}@{digest} not found")
        return artifact

    def artifact_by_reference(self, repository_name: str, reference: str) -> Artifact:
        """GetByReference: a digest, else a tag (404 "artifact p/r:tag not found")."""
        if is_digest(reference):
            return self.artifact_by_digest(repository_name, reference)
        repository = self.repository(repository_name)
        tag = repository.tags.get(reference)
        if tag is None:
            raise not_found(f"artifact {repository_name}:{reference} not found")
        return self.artifacts[tag.artifact_id]

    def ensure_artifact(self, repository_name: str, digest: str, info: ManifestInfo) -> tuple[bool, Artifact]:
        repository = self.ensure_repository(repository_name)
        existing = repository.artifacts.get(digest)
        if existing is not None:
            return False, existing
        references = []
        size = info.size
        for child in info.children:
            child_artifact = self.artifact_by_digest(repository_name, child.digest)
            size += child_artifact.size
            references.append(child_artifact)
        artifact = Artifact(
            id=self.next_id("artifact"),
            project_id=repository.project_id,
            repository_id=repository.id,
            repository_name=repository_name,
            digest=digest,
            type=info.type,
            media_type=info.media_type,
            manifest_media_type=info.manifest_media_type,
            artifact_type=info.artifact_type,
            size=size,
            icon=ICON_IMAGE if info.type == "IMAGE" else ICON_DEFAULT,
            push_time=self.clock.now(),
            extra_attrs=info.extra_attrs,
            annotations=info.annotations,
            history=info.history,
            unscannable_layer=info.unscannable_layer,
        )
        for child, child_artifact in zip(info.children, references, strict=True):
            artifact.references.append(
                Reference(artifact.id, child_artifact.id, child.digest, child.platform, child.annotations, child.urls)
            )
            self.parents.setdefault(child_artifact.id, set()).add(artifact.id)
        repository.artifacts[digest] = artifact
        self.artifacts[artifact.id] = artifact
        self.touch(repository)
        self.changed()
        return True, artifact

    def add_artifact(self, repository: Repository, artifact: Artifact) -> None:
        """Insert a ready-made artifact (used by `seed`; no rules run)."""
        repository.artifacts[artifact.digest] = artifact
        self.artifacts[artifact.id] = artifact

    # --- tags ----------------------------------------------------------------------------------------------
    def tag_immutable(self, repository_name: str, tag_name: str) -> bool:
        project = self.projects.get(repository_name.split("/", 1)[0])
        return bool(project and project.immutable(repository_name, tag_name))

    def ensure_tag(self, artifact: Artifact, name: str) -> Tag:
        """tag.Ctl.Ensure: leave, move (412 when immutable) or create."""
        repository = self.repositories[artifact.repository_name]
        tag = repository.tags.get(name)
        now = self.clock.now()
        if tag is not None:
            if tag.artifact_id == artifact.id:
                return tag
            if self.tag_immutable(artifact.repository_name, name):
                raise HarborError("PRECONDITION", f"the tag {name} configured as immutable, cannot be updated")
            previous = self.artifacts[tag.artifact_id]
            del previous.tags[name]
            tag.artifact_id = artifact.id
            tag.push_time = now
            artifact.tags[name] = tag
            self.touch(repository)
            self.changed()
            return tag
        return self._create_tag(repository, artifact, name)

    def create_tag(self, artifact: Artifact, name: str) -> Tag:
        """POST …/tags (tag.Ctl.Create): 400 on a bad name, 409 when the name exists anywhere in the repository."""
        repository = self.repositories[artifact.repository_name]
        if name in repository.tags:
            raise HarborError("CONFLICT", f"tag {name} already exists under the repository {repository.id}")
        return self._create_tag(repository, artifact, name)

    def _create_tag(self, repository: Repository, artifact: Artifact, name: str) -> Tag:
        if not TAG_NAME.match(name):
            raise HarborError("BAD_REQUEST", f"bad request: invalid tag name: {name}")
        tag = Tag(self.next_id("tag"), repository.id, artifact.id, name, self.clock.now())
        repository.tags[name] = tag
        artifact.tags[name] = tag
        self.touch(repository)
        self.changed()
        return tag

    def delete_tag(self, artifact: Artifact, name: str) -> None:
        tag = artifact.tags.get(name)
        if tag is None:
            raise not_found(f"tag {name} attached to artifact {artifact.id} not found")
        if self.tag_immutable(artifact.repository_name, name):
            raise HarborError("PRECONDITION", f"the tag {name} configured as immutable, cannot be deleted")
        repository = self.repositories[artifact.repository_name]
        del artifact.tags[name]
        del repository.tags[name]
        self.touch(repository)
        self.changed()

    def delete_artifact(self, artifact: Artifact) -> None:
        """deleteDeeply from the root (DELETE artifact API, DELETE /v2/…/manifests/<digest>)."""
        if self.parents.get(artifact.id):
            raise HarborError("VIOLATE_FOREIGN_KEY_CONSTRAINT", "the deleting artifact is referenced by others")
        for name in artifact.tags:
            if self.tag_immutable(artifact.repository_name, name):
                raise HarborError("PRECONDITION", f"the tag {name} configured as immutable, cannot be deleted")
        self._delete(artifact, root=True)
        self.changed()

    def _delete(self, artifact: Artifact, *, root: bool) -> None:
        if not root and (artifact.tags or self.parents.get(artifact.id)):
            return
        repository = self.repositories[artifact.repository_name]
        for reference in artifact.references:
            self.parents.get(reference.child_id, set()).discard(artifact.id)
            child = self.artifacts.get(reference.child_id)
            if child is not None:
                self._delete(child, root=False)
        for tag in artifact.sorted_tags():
            del repository.tags[tag.name]
            self.touch(repository)
        artifact.tags.clear()
        del repository.artifacts[artifact.digest]
        del self.artifacts[artifact.id]
        self.parents.pop(artifact.id, None)
        if root:
            self.touch(repository)
        if not any(artifact.digest in repo.artifacts for repo in self.repositories.values()):
            self.scanner.forget(artifact.digest)

    # --- pulls ---------------------------------------------------------------------------------------------
    def record_pull(self, artifact: Artifact, tag_name: str | None) -> None:
        now = self.clock.now()
        artifact.pull_time = now
        if tag_name and tag_name in artifact.tags:
            artifact.tags[tag_name].pull_time = now
        for parent_id in self.parents.get(artifact.id, ()):
            self.artifacts[parent_id].pull_time = now
        repository = self.repositories[artifact.repository_name]
        repository.pull_count += 1
        repository.update_time = now
        self.changed()

    # --- listing -------------------------------------------------------------------------------------------
    def in_base(self, artifact: Artifact) -> bool:
        """The default collection: tagged artifacts and untagged ones no index references."""
        return bool(artifact.tags) or not self.parents.get(artifact.id)

    def list_artifacts(self, repository_name: str, keywords: Keywords, sort: str) -> list[Artifact]:
        """Filter (artifact dao querySetter) and sort; cached per state version."""
        key = (repository_name, self.version, repr(sorted(keywords.items(), key=lambda kv: kv[0])), sort)
        cached = self._list_cache.get(key)
        if cached is not None:
            return cached
        predicate = self._artifact_filter(keywords)
        repository = self.repositories.get(repository_name)
        candidates = [a for a in (repository.artifacts.values() if repository else ()) if predicate(a)]
        result = sort_items(candidates, sort, ARTIFACT_COLUMNS, ARTIFACT_FIELDS, DEFAULT_ARTIFACT_SORT)
        if len(self._list_cache) > 64:
            self._list_cache.clear()
        self._list_cache[key] = result
        return result

    def _artifact_filter(self, keywords: Keywords) -> Callable[[Artifact], bool]:
        checks: list[Callable[[Artifact], bool]] = []
        base = keywords.get("base")
        if base is None:
            checks.append(self.in_base)
        elif base != "*":
            raise HarborError("BAD_REQUEST", 'the value of "base" query can only be exact match value with "*"')
        tags = keywords.get("tags", keywords.get("Tags"))
        if tags is not None:
            checks.append(_tag_check(tags))
        labels = keywords.get("labels", keywords.get("Labels"))
        if labels is not None:
            message = 'the value of "labels" query can only be integer list with intersetion relationship'
            if not isinstance(labels, AndList) or not all(isinstance(v, int) for v in labels.values):
                raise HarborError("BAD_REQUEST", message)
            wanted = set(labels.values)
            checks.append(lambda artifact: wanted <= set(artifact.labels))
        for key, value in keywords.items():
            if key in ("base", "tags", "Tags", "labels", "Labels") or "__" in key:
                continue
            column = _column(key, ARTIFACT_COLUMNS, ARTIFACT_FIELDS)
            if column is None:
                continue  # not a filterable field: Harbor's ORM ignores it
            matcher = field_matcher(value)
            checks.append(lambda artifact, c=column, m=matcher: m(_attribute(artifact, c)))  # type: ignore[misc]
        return lambda artifact: all(check(artifact) for check in checks)

    def list_tags(self, artifact: Artifact, keywords: Keywords, sort: str) -> list[Tag]:
        checks = []
        for key, value in keywords.items():
            column = _column(key, TAG_COLUMNS, TAG_FIELDS)
            if column is not None and "__" not in key:
                checks.append((column, field_matcher(value)))
        tags = [tag for tag in artifact.tags.values() if all(m(getattr(tag, c)) for c, m in checks)]
        return sort_items(tags, sort, TAG_COLUMNS, TAG_FIELDS, DEFAULT_TAG_SORT)

    def artifact_count(self, repository: Repository) -> int:
        return sum(1 for artifact in repository.artifacts.values() if self.in_base(artifact))

    # --- scans ---------------------------------------------------------------------------------------------
    def scan_targets(self, artifact: Artifact) -> list[Artifact]:
        """The artifacts a scan covers: the image itself, or an index's image children (collectScanningArtifacts).

        From v2.11.0 Harbor skips an artifact with an in-toto layer — a BuildKit attestation manifest, an SBOM — in
        that walk (controller/scan/base_controller.go collectScanningArtifacts -> artifact controller
        HasUnscannableLayer, skippedContentTypes): it gets no report placeholder, so it is not one of the children
        an index's complete_percent counts, and a scan request for it alone is 400. v2.10 scans it like any image."""
        if artifact.unscannable_layer and self.skip_unscannable_layers:
            return []
        if artifact.type == "IMAGE" and artifact.manifest_media_type in MANIFEST_TYPES:
            return [artifact]
        targets = []
        for reference in artifact.references:
            child = self.artifacts.get(reference.child_id)
            if child is not None:
                targets.extend(self.scan_targets(child))
        return targets

    def reports(self, artifact: Artifact) -> list[Report] | None:
        """Reports of every scan target, or None when one of them has none (no overview at all)."""
        targets = self.scan_targets(artifact)
        reports = [self.scanner.reports.get(target.digest) for target in targets]
        if not reports or any(report is None for report in reports):
            return None
        return [report for report in reports if report is not None]


def _tag_check(value: object) -> Callable[[Artifact], bool]:
    if isinstance(value, Fuzzy):
        needle = value.value
        return lambda artifact: any(needle in name for name in artifact.tags)
    if isinstance(value, str):
        if value == "*":
            return lambda artifact: bool(artifact.tags)
        if value == "nil":
            return lambda artifact: not artifact.tags
        return lambda artifact: value in artifact.tags
    if isinstance(value, OrList | AndList) or not isinstance(value, str):
        raise HarborError("BAD_REQUEST", 'the value of "tags" query can only be fuzzy match value or exact match value')
    raise AssertionError("unreachable")


def fake_digest(*parts: object) -> str:
    return "sha256:" + hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest()


def iter_tags(value: Iterable[str] | str | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)

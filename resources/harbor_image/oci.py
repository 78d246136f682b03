"""Local image files: recognise what put was given, and read OCI layouts written by skopeo.

put accepts exactly one of: a docker-archive tar (what oci-build-task writes as ``image/image.tar``), an
oci-archive tar, or an OCI layout directory (``OUTPUT_OCI: true``). The format is detected from the content, not
the file name.
"""

from __future__ import annotations

import json
import os
import tarfile
from dataclasses import dataclass
from typing import Any, Literal

from harbor_image.errors import ResourceError, one_line

Kind = Literal["docker-archive", "oci-archive", "oci-layout"]
INDEX_MEDIA_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)


@dataclass(frozen=True)
class LocalImage:
    path: str
    kind: Kind

    @property
    def transport(self) -> str:
        return f"{self.kind}:{self.path}"


def detect(path: str) -> LocalImage:
    """What kind of image ``path`` is, from its content."""
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "oci-layout")) and os.path.isfile(os.path.join(path, "index.json")):
            return LocalImage(path, "oci-layout")
        raise ResourceError(
            f"params.image: {path} is a directory but not an OCI layout (no oci-layout and index.json); "
            f"point it at the layout (oci-build-task OUTPUT_OCI: image/image) or at image.tar"
        )
    try:
        with tarfile.open(path, "r:*") as archive:
            names = {name.lstrip("./") for name in archive.getnames()}
    except (tarfile.TarError, OSError) as problem:
        reason = one_line(str(problem).splitlines()[0]) if str(problem) else type(problem).__name__
        raise ResourceError(f"params.image: {path} is not a tar archive or OCI layout ({reason})") from None
    if "oci-layout" in names and "index.json" in names:
        return LocalImage(path, "oci-archive")
    if "manifest.json" in names:
        return LocalImage(path, "docker-archive")
    raise ResourceError(
        f"params.image: {path} is a tar archive but neither a docker-archive (manifest.json) "
        f"nor an oci-archive (oci-layout + index.json)"
    )


def read_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as problem:
        raise ResourceError(f"reading {path}: {problem}") from None


def blob_path(layout: str, digest: str) -> str:
    algorithm, _, hexits = digest.partition(":")
    if not algorithm or not hexits or "/" in digest or ".." in digest:
        raise ResourceError(f"malformed digest {digest!r} in {layout}")
    return os.path.join(layout, "blobs", algorithm, hexits)


def single_manifest(layout: str) -> dict[str, Any]:
    """The one descriptor in ``index.json`` (skopeo's ``oci:DIR`` without a reference needs exactly one)."""
    index = read_json(os.path.join(layout, "index.json"))
    manifests = index.get("manifests") if isinstance(index, dict) else None
    if not isinstance(manifests, list) or not manifests:
        raise ResourceError(f"{layout}/index.json lists no image")
    if len(manifests) > 1:
        names = [
            str((m.get("annotations") or {}).get("org.opencontainers.image.ref.name", m.get("digest")))
            for m in manifests
            if isinstance(m, dict)
        ]
        raise ResourceError(
            f"{layout} holds {len(manifests)} images ({', '.join(names)}); push a layout with exactly one "
            f"(a multi-platform image is one image index)"
        )
    descriptor = manifests[0]
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("digest"), str):
        raise ResourceError(f"{layout}/index.json: the image has no digest")
    return descriptor


def image_config(layout: str) -> dict[str, Any]:
    """The image configuration of the layout's single (single-platform) image."""
    descriptor = single_manifest(layout)
    manifest = read_json(blob_path(layout, descriptor["digest"]))
    if isinstance(manifest, dict) and manifest.get("mediaType") in INDEX_MEDIA_TYPES:
        children = manifest.get("manifests") or []
        if not children:
            return {}
        manifest = read_json(blob_path(layout, children[0]["digest"]))
    config_descriptor = manifest.get("config") if isinstance(manifest, dict) else None
    if not isinstance(config_descriptor, dict) or not isinstance(config_descriptor.get("digest"), str):
        return {}
    config = read_json(blob_path(layout, config_descriptor["digest"]))
    return config if isinstance(config, dict) else {}


def oci_archive_digest(path: str) -> str:
    """The manifest digest inside an oci-archive tar (from its index.json)."""
    with tarfile.open(path, "r:*") as archive:
        for member in archive.getmembers():
            if member.name.lstrip("./") == "index.json":
                handle = archive.extractfile(member)
                if handle is None:
                    break
                index = json.load(handle)
                manifests = index.get("manifests") if isinstance(index, dict) else None
                if isinstance(manifests, list) and len(manifests) == 1 and isinstance(manifests[0], dict):
                    return str(manifests[0]["digest"])
                raise ResourceError(f"params.image: {path} must hold exactly one image (its index.json lists more)")
    raise ResourceError(f"params.image: {path} has no index.json")

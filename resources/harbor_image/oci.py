"""Local image files: recognise what put was given, and read OCI layouts written by skopeo.

put accepts exactly one of: a docker-archive tar (what oci-build-task writes as ``image/image.tar``), an
oci-archive tar, or an OCI layout directory (``OUTPUT_OCI: true``). The format is detected from the content, not
the file name.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tarfile
from dataclasses import dataclass
from typing import Any, Literal

from harbor_image.errors import ResourceError, one_line

Kind = Literal["docker-archive", "oci-archive", "oci-layout"]
JSON_MAX = 16 * 1024 * 1024  # an index, manifest or image configuration
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
        oci_archive_digest(path)  # a broken index.json fails here, before anything is logged or pushed
        return LocalImage(path, "oci-archive")
    if "manifest.json" in names:
        return LocalImage(path, "docker-archive")
    raise ResourceError(
        f"params.image: {path} is a tar archive but neither a docker-archive (manifest.json) "
        f"nor an oci-archive (oci-layout + index.json)"
    )


def read_json(path: str) -> Any:
    """A JSON file (a regular file, at most :data:`JSON_MAX` bytes); ResourceError naming it otherwise."""
    try:
        with open(path, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise ResourceError(f"reading {path}: not a regular file")
            data = handle.read(JSON_MAX + 1)
    except OSError as problem:
        raise ResourceError(f"reading {path}: {problem.strerror}") from None
    if len(data) > JSON_MAX:
        raise ResourceError(f"reading {path}: larger than {JSON_MAX // (1024 * 1024)} MiB; not an image's JSON")
    return _parse(data, path)


def _parse(data: bytes, where: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as problem:
        reason = one_line(str(problem), 120) if isinstance(problem, ValueError) else "nested too deeply"
        raise ResourceError(f"{where}: not JSON ({reason})") from None


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
            one_line(str(_annotations(m).get("org.opencontainers.image.ref.name", m.get("digest"))), 80)
            for m in manifests[:5]
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


def _annotations(descriptor: dict[str, Any]) -> dict[str, Any]:
    annotations = descriptor.get("annotations")
    return annotations if isinstance(annotations, dict) else {}


def image_config(layout: str) -> dict[str, Any]:
    """The image configuration of the layout's single (single-platform) image."""
    descriptor = single_manifest(layout)
    manifest = read_json(blob_path(layout, descriptor["digest"]))
    if isinstance(manifest, dict) and manifest.get("mediaType") in INDEX_MEDIA_TYPES:
        children = manifest.get("manifests") or []
        if not isinstance(children, list) or not children or not isinstance(children[0], dict):
            return {}
        if not isinstance(children[0].get("digest"), str):
            return {}
        manifest = read_json(blob_path(layout, children[0]["digest"]))
    config_descriptor = manifest.get("config") if isinstance(manifest, dict) else None
    if not isinstance(config_descriptor, dict) or not isinstance(config_descriptor.get("digest"), str):
        return {}
    config = read_json(blob_path(layout, config_descriptor["digest"]))
    return config if isinstance(config, dict) else {}


def oci_archive_digest(path: str) -> str:
    """The manifest digest inside an oci-archive tar (from its index.json); ResourceError naming ``params.image``
    when index.json is missing, not JSON, lists other than one image or has no usable digest."""
    name = os.path.basename(path)
    try:
        with tarfile.open(path, "r:*") as archive:
            for member in archive.getmembers():
                if member.name.lstrip("./") == "index.json":
                    handle = archive.extractfile(member) if member.size <= JSON_MAX else None
                    if handle is None:
                        raise ResourceError(f"params.image: {name}: index.json is not a regular file of ≤ 16 MiB")
                    index = _parse(handle.read(JSON_MAX + 1), f"params.image: {name}: index.json")
                    break
            else:
                raise ResourceError(f"params.image: {name} has no index.json; it is not an oci-archive")
    except (tarfile.TarError, OSError) as problem:
        reason = one_line(str(problem), 120)
        raise ResourceError(f"params.image: {name}: not a readable tar archive ({reason})") from None
    manifests = index.get("manifests") if isinstance(index, dict) else None
    if not isinstance(manifests, list) or len(manifests) != 1 or not isinstance(manifests[0], dict):
        raise ResourceError(f"params.image: {name} must hold exactly one image (its index.json lists none or more)")
    digest = manifests[0].get("digest")
    if not isinstance(digest, str) or not re.fullmatch(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}", digest):
        raise ResourceError(f"params.image: {name}: index.json gives the image no valid digest")
    return digest

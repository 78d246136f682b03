"""out (put): promote on pass.

1. Find exactly one image under SRC (``params.image``, a path or glob): docker-archive tar, oci-archive tar or OCI
   layout directory, recognised by content.
2. Push it BY DIGEST (``skopeo copy --preserve-digests … docker://host/p/r@sha256:…``), so none of the tags it will
   carry exists on it yet and nothing downstream can see it. A docker-archive is first converted to a local OCI
   layout (deterministically, so re-pushing an unchanged image uploads no layer bytes).
3. Trigger Harbor's scan (202; 409 = already running), wait for a final result within ``scan.timeout``, apply the
   gate. A failed gate prints the top vulnerabilities, applies no tag and exits 1.
4. Apply every tag by re-pushing the manifest from the local image under it (``skopeo copy oci:… docker://…:tag``):
   moving an existing tag such as ``latest`` works (Harbor's create-tag API would answer 409), no layer is uploaded
   and nothing is pulled through Harbor, whose pull policy (``prevent_vul``) could refuse the manifest.

The output version is the first applied tag and the MANIFEST digest (oci-build-task's ``digest`` file is the config
digest and is not used).

``params.image`` and ``params.additional_tags`` are resolved under the put's source directory (SRC): anything that
resolves outside it (an absolute path, ``..``, a symbolic link) is refused, only regular files and directories are
accepted (never a FIFO or ``/dev/zero``, which would block or never end), the tags file is capped at
:data:`TAGS_FILE_MAX` bytes, and no file content is ever echoed in an error.
"""

from __future__ import annotations

import glob
import os
import shutil
import stat
import tempfile
import time
from typing import Any

from harbor_image import oci
from harbor_image.check import HarborAPI, short
from harbor_image.errors import ResourceError
from harbor_image.in_ import ui_link
from harbor_image.log import Log
from harbor_image.models import SEVERITY_NAMES, Artifact
from harbor_image.scanning import Scanner, failure_lines
from harbor_image.semver_select import strip_v
from harbor_image.skopeo import Skopeo
from harbor_image.wire import TAG_RE, OutRequest, Source, shown

NO_TAG = "no tag specified - need either 'version:' in params or 'tag:' in source"
TAGS_FILE_MAX = 64 * 1024  # bytes of params.additional_tags


def inside(src: str, path: str, field: str, shown_path: str) -> str:
    """``path`` resolved (symbolic links followed) when it stays inside ``src``; ResourceError otherwise."""
    root = os.path.realpath(src)
    resolved = os.path.realpath(path)
    if os.path.commonpath([root, resolved]) != root:
        raise ResourceError(
            f"{field}: {shown(shown_path)} resolves outside the put's directory; give a path relative to it "
            f"(an output of an earlier step, e.g. image/image.tar)"
        )
    return resolved


def regular_or_directory(path: str, field: str, shown_path: str, directories: bool = True) -> os.stat_result:
    """The stat of ``path`` when it is a regular file (or a directory); a FIFO, socket or device is refused."""
    try:
        info = os.stat(path)
    except OSError as problem:
        raise ResourceError(f"{field}: cannot read {shown(shown_path)} ({problem.strerror})") from None
    if stat.S_ISREG(info.st_mode) or (directories and stat.S_ISDIR(info.st_mode)):
        return info
    kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file (a FIFO, socket or device)"
    wanted = "a regular file or directory" if directories else "a regular file"
    raise ResourceError(f"{field}: {shown(shown_path)} is {kind}; it must be {wanted}")


def read_tags_file(src: str, name: str) -> list[str]:
    """The whitespace-separated words of ``params.additional_tags`` (inside SRC, a regular file, ≤ 64 KiB)."""
    field = "params.additional_tags"
    path = inside(src, os.path.join(src, name), field, name)
    info = regular_or_directory(path, field, name, directories=False)
    if info.st_size > TAGS_FILE_MAX:
        raise ResourceError(f"{field}: {shown(name)} is larger than {TAGS_FILE_MAX // 1024} KiB; it lists tags")
    try:
        with open(path, "rb") as handle:
            data = handle.read(TAGS_FILE_MAX + 1)
    except OSError as problem:
        raise ResourceError(f"{field}: cannot read {shown(name)} ({problem.strerror})") from None
    if len(data) > TAGS_FILE_MAX:
        raise ResourceError(f"{field}: {shown(name)} is larger than {TAGS_FILE_MAX // 1024} KiB; it lists tags")
    try:
        return data.decode("utf-8").split()
    except UnicodeDecodeError:
        raise ResourceError(f"{field}: {shown(name)} is not UTF-8 text; it must list tags separated by spaces") from (
            None
        )


def tags_to_apply(request: OutRequest, src: str) -> list[str]:
    """source.tag, version (leading v of a semver dropped), additional tags (prefixed); the selection's tag first."""
    source, params = request.source, request.params
    named: list[tuple[str, str]] = []
    if source.selection.mode == "tag" and source.selection.tag_explicit:
        named.append((source.selection.tag, "source.tag"))
    if params.version is not None:
        named.append((strip_v(params.version), "params.version"))
    from_file = 0
    if params.additional_tags is not None:
        words = read_tags_file(src, params.additional_tags)
        from_file = len(named)
        named.extend((f"{params.tag_prefix or ''}{word}", "params.additional_tags") for word in words)
    tags: list[str] = []
    for index, (tag, origin) in enumerate(named):
        if not TAG_RE.fullmatch(tag):
            rule = "letters, digits, '_', '.', '-'; at most 128; not starting with '.' or '-'"
            if origin == "params.additional_tags":  # never echo the file's content
                raise ResourceError(
                    f"params.additional_tags: word {index - from_file + 1} of {shown(params.additional_tags)}"
                    f"{' (with tag_prefix)' if params.tag_prefix else ''} is not a valid tag ({rule})"
                )
            raise ResourceError(f"{origin}: {shown(tag)} is not a valid tag ({rule})")
        if tag not in tags:
            tags.append(tag)
    if not tags:
        raise ResourceError(NO_TAG)
    primary = next((t for t in tags if selects(source, t)), None)
    if primary is not None:
        tags.remove(primary)
        tags.insert(0, primary)
    return tags


def selects(source: Source, tag: str) -> bool:
    """Would check emit a version under this tag? (then it is the put's version, so check and put agree)"""
    selection = source.selection
    if selection.mode == "tag":
        return tag == selection.tag
    if selection.mode == "regex":
        return selection.regex is not None and selection.regex.fullmatch(tag) is not None
    return selection.semver.version_of(tag) is not None


def find_image(src: str, pattern: str) -> str:
    """The one regular file or directory under SRC that ``params.image`` (a path or glob) names."""
    if os.path.isabs(pattern):
        raise ResourceError(
            f"params.image: {shown(pattern)} is an absolute path; give a path relative to the put's directory "
            f"(e.g. image/image.tar)"
        )
    matches = sorted(glob.glob(os.path.join(glob.escape(src), pattern)))
    if not matches:
        raise ResourceError(
            f"params.image: nothing matches {shown(pattern)} in the put's directory; check the task's output name"
        )
    if len(matches) > 1:
        listed = ", ".join(shown(os.path.relpath(m, src), 60) for m in matches[:5])
        raise ResourceError(
            f"params.image: {shown(pattern)} matches {len(matches)} paths ({listed}); it must match one"
        )
    relative = os.path.relpath(matches[0], src)
    resolved = inside(src, matches[0], "params.image", relative)
    regular_or_directory(resolved, "params.image", relative)
    return resolved


def push_metadata(source: Source, tags: list[str], digest: str, artifact: Artifact | None) -> list[dict[str, str]]:
    fields = [("repository", source.repository), ("tags", " ".join(tags)), ("digest", digest)]
    if artifact is not None and artifact.scan is not None and artifact.scan.status == "Success":
        fields.append(("severity", artifact.scan.severity or "unknown"))
        fields.extend((name.lower(), str(artifact.scan.counts.get(name, 0))) for name in SEVERITY_NAMES[:-1])
        if artifact.scan.scanner:
            fields.append(("scanner", artifact.scan.scanner))
    if artifact is not None:
        link = ui_link(source, artifact)
        if link:
            fields.append(("url", link))
    return [{"name": name, "value": value} for name, value in fields]


def run(request: OutRequest, src: str, log: Log, client: HarborAPI, deadline: float) -> dict[str, Any]:
    source, params = request.source, request.params
    tags = tags_to_apply(request, src)
    image = oci.detect(find_image(src, params.image))
    log.info(f"image: {shown(os.path.relpath(image.path, os.path.realpath(src)))} ({image.kind})")
    staging: str | None = None
    with Skopeo(source, log, deadline) as skopeo:
        try:
            if image.kind == "docker-archive":
                staging = tempfile.mkdtemp(prefix="harbor-image-push-")
                skopeo.copy(image.transport, f"oci:{staging}:image", what="converting the docker-archive to OCI")
                push_from, digest = f"oci:{staging}:image", oci.single_manifest(staging)["digest"]
            elif image.kind == "oci-layout":
                push_from, digest = f"oci:{image.path}", oci.single_manifest(image.path)["digest"]
            else:
                push_from, digest = image.transport, oci.oci_archive_digest(image.path)
            by_digest = skopeo.reference(f"@{digest}")
            log.info(f"pushing {source.repository}@{digest} (untagged until the gate passes)")
            skopeo.copy(push_from, by_digest, multi_arch="all", preserve_digests=True, what="pushing the image")
            artifact = gate_pushed(request, client, log, digest, tags)
            apply_tags(skopeo, log, source, push_from, tags)
        finally:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
    final = client.get_artifact(digest) or artifact
    return {"version": {"tag": tags[0], "digest": digest}, "metadata": push_metadata(source, tags, digest, final)}


def gate_pushed(request: OutRequest, client: HarborAPI, log: Log, digest: str, tags: list[str]) -> Artifact:
    """Scan the pushed digest and apply the gate (Harbor's own pull policy included); ResourceError on failure."""
    source, params = request.source, request.params
    scanner = Scanner(client, source.repository, source.project, log)
    artifact = _wait_for_artifact(scanner, client, digest)
    if not params.scan.enabled:
        return artifact
    result = scanner.gate(digest, params.scan, params.scan_timeout_text, always_scan=params.scan.trigger)
    if not result.verdict.passed:
        lines = [
            f"{source.repository}@{short(digest)} does not pass the scan gate: {result.verdict.reason}; "
            f"no tag applied ({', '.join(tags)})"
        ]
        lines.extend(failure_lines(result, params.scan))
        raise ResourceError("\n".join(lines))
    log.info(f"{short(digest)} passes the scan gate ({result.verdict.reason})")
    return result.artifact


def apply_tags(skopeo: Skopeo, log: Log, source: Source, push_from: str, tags: list[str]) -> None:
    """Put the manifest under each tag FROM THE LOCAL IMAGE: no pull through Harbor, so Harbor's pull policy
    (prevent_vul: 412 PROJECTPOLICYVIOLATION on manifest GET, server/middleware/vulnerable) never blocks tagging,
    and the blobs are already there (only the manifest is sent)."""
    for tag in tags:
        log.info(f"tagging {source.repository}:{tag}")
        skopeo.copy(
            push_from, skopeo.reference(f":{tag}"), multi_arch="all", preserve_digests=True, what=f"applying tag {tag}"
        )


def _wait_for_artifact(scanner: Scanner, client: HarborAPI, digest: str) -> Artifact:
    """Harbor records the artifact when the manifest is put; allow it a few seconds to show up."""
    for delay in (0.5, 1.0, 2.0, 4.0):
        artifact = client.get_artifact(digest)
        if artifact is not None:
            return artifact
        time.sleep(delay)
    return scanner.fetch(digest)

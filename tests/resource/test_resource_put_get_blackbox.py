"""out (put) and in (get), black-box: real images pushed through the double into the real registry and back."""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
from fixtures import skopeo
from harbor_double import Outcome, Vulnerability
from resource_helpers import Resource, Team


def workspace(tmp_path: Path, image_path: Path, name: str = "image/image.tar") -> Path:
    """A put's SRC: the build directory with the task output ``image/`` in it (as oci-build-task writes)."""
    src = tmp_path / "build"
    target = src / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if image_path.is_dir():
        shutil.copytree(image_path, target)
    else:
        shutil.copy(image_path, target)
    return src


def metadata(run: Any) -> dict[str, str]:
    return {field["name"]: field["value"] for field in run.output["metadata"]}


def manifest_digest_of(harbor: Any, repository: str, reference: str) -> str:
    return harbor.artifact(repository, reference).digest


# -- put: promote on pass ------------------------------------------------------------------------------------


def test_put_check_get_round_trip(team: Team, resource: Resource, images: Any, tmp_path: Path) -> None:
    harbor = team.harbor
    harbor.scanner.set_default(Outcome.counts({"Low": 2, "Medium": 1}))
    image = images.build("round-trip", env={"PORT": "8080"}, user="65532", cmd=("/app",), labels={"team": "a"})
    src = workspace(tmp_path, images.docker_archive(image))
    (src / "tags").mkdir()
    (src / "tags" / "tags").write_text("sha-1234 \n release\n")
    source = team.source(semver=True)

    put = resource.put(src, source, image="image/*.tar", version="v1.4.0", additional_tags="tags/tags", tag_prefix="x-")
    version = put.output["version"]
    digest = version["digest"]
    assert version["tag"] == "1.4.0"  # the leading v of a semver is dropped, and the version tag comes first
    assert harbor.tags("team/app") == {"1.4.0": digest, "x-sha-1234": digest, "x-release": digest}
    assert metadata(put)["tags"] == "1.4.0 x-sha-1234 x-release"
    assert metadata(put)["severity"] == "Medium" and metadata(put)["medium"] == "1"
    project_id = harbor.artifact("team/app", digest).project_id
    assert (
        metadata(put)["url"]
        == f"{harbor.url}/harbor/projects/{project_id}/repositories/app/artifacts-tab/artifacts/{digest}"
    )
    # the version is the MANIFEST digest as the registry serves it
    raw = skopeo.inspect_raw(harbor.ref("team/app", tag="1.4.0"), endpoint=harbor.endpoint())
    assert digest == "sha256:" + __import__("hashlib").sha256(raw).hexdigest()
    assert "pushing team/app@" in put.stderr and "passes the scan gate" in put.stderr

    assert resource.check(source).output == [version]

    dest = tmp_path / "get"
    got = resource.get(dest, source, version)
    assert got.output["version"] == version
    assert (dest / "tag").read_text() == "1.4.0"
    assert (dest / "digest").read_text() == digest
    assert (dest / "repository").read_text() == "team/app"
    assert (dest / "tags").read_text().split() == ["1.4.0", "x-release", "x-sha-1234"]
    assert (dest / "rootfs").is_dir()
    assert json.loads((dest / "metadata.json").read_text())["user"] == "65532"
    assert "PORT=8080" in json.loads((dest / "metadata.json").read_text())["env"]
    assert json.loads((dest / "labels.json").read_text()) == {"team": "a"}
    assert json.loads((dest / "scan_overview.json").read_text())["scan_status"] == "Success"
    report = json.loads((dest / "vulnerabilities.json").read_text())
    assert len(report["vulnerabilities"]) == 3
    fields = metadata(got)
    assert (fields["severity"], fields["low"], fields["medium"], fields["critical"]) == ("Medium", "2", "1", "0")
    assert fields["scanner"] == "Trivy v0.64.1"
    assert fields["gate"].startswith("pass: Medium < high")
    assert not list(dest.glob(".harbor-image-*")), "staging directories are cleaned up"


def test_put_gate_failure_applies_no_tag(team: Team, resource: Resource, images: Any, tmp_path: Path) -> None:
    harbor = team.harbor
    old = harbor.push(images.build("gate-old"), "team/app", "latest")
    harbor.scanner.set_default(
        Outcome(
            vulnerabilities=(
                Vulnerability("CVE-2024-1111", "Critical", package="openssl", version="3.0.1", fix_version="3.0.2"),
                Vulnerability("CVE-2024-2222", "High", package="zlib", version="1.2.11", fix_version=""),
                Vulnerability("CVE-2024-3333", "Low", package="bash", version="5.1"),
            )
        )
    )
    image = images.build("gate-new")
    src = workspace(tmp_path, images.oci_archive(image), "image/image.tar")
    run = resource.put(src, team.source(tag="latest"), image="image/image.tar", version="2.0.0")
    assert run.returncode == 1
    assert f"team/app@{image.digest[:19]}… does not pass the scan gate: Critical ≥ high" in run.stderr
    assert "no tag applied (latest, 2.0.0)" in run.stderr
    assert "CVE-2024-1111 openssl 3.0.1 Critical (fixed in 3.0.2)" in run.stderr
    assert "CVE-2024-2222 zlib 1.2.11 High (no fix)" in run.stderr
    assert run.stderr.index("CVE-2024-1111") < run.stderr.index("CVE-2024-2222") < run.stderr.index("CVE-2024-3333")
    assert harbor.tags("team/app") == {"latest": old}  # latest did not move, 2.0.0 does not exist
    assert image.digest in harbor.digests("team/app")  # pushed by digest, untagged


def test_put_moves_latest_and_repushing_uploads_no_layer_bytes(
    team: Team, resource: Resource, images: Any, tmp_path: Path
) -> None:
    harbor = team.harbor
    harbor.scanner.set_default(Outcome.clean())
    old = harbor.push(images.build("move-old"), "team/app", "latest")
    image = images.build("move-new", layer_size=256 * 1024)
    src = workspace(tmp_path, images.docker_archive(image))
    source = team.source(tag="latest")

    first = resource.put(src, source, image="image/image.tar")
    digest = first.output["version"]["digest"]
    assert first.output["version"]["tag"] == "latest"
    assert digest != old and harbor.tags("team/app") == {"latest": digest}
    assert harbor.uploaded_bytes >= 256 * 1024

    harbor.reset_upload_counters()
    harbor.reset_requests()
    again = resource.put(src, source, image="image/image.tar")
    assert again.output["version"] == first.output["version"]  # deterministic conversion: same manifest
    assert harbor.uploaded_bytes == 0, "re-pushing an unchanged image uploaded layer bytes"
    assert not [r for r in harbor.registry_requests if r.method in ("PATCH", "POST") and "/blobs/" in r.path]
    assert all(r.cookies == () for r in harbor.requests)


@pytest.mark.parametrize("kind", ["oci-layout", "oci-archive", "index"])
def test_put_oci_inputs_keep_their_digest(
    team: Team, resource: Resource, images: Any, tmp_path: Path, kind: str
) -> None:
    harbor = team.harbor
    harbor.scanner.set_default(Outcome.clean())
    if kind == "index":
        image = images.index(images.build("idx-amd64"), images.build("idx-arm64", architecture="arm64"))
        path, name = images.oci_layout_copy(image), "image/image"
    elif kind == "oci-layout":
        image = images.build("layout")
        path, name = images.oci_layout_copy(image), "image/image"
    else:
        image = images.build("archive")
        path, name = images.oci_archive(image), "image/image.tar"
    src = workspace(tmp_path, path, name)
    run = resource.put(src, team.source(semver=True), image=name, version="1.0.0")
    assert run.output["version"] == {"tag": "1.0.0", "digest": image.digest}
    assert harbor.tags("team/app") == {"1.0.0": image.digest}


def test_put_without_scan_is_a_plain_push(team: Team, resource: Resource, images: Any, tmp_path: Path) -> None:
    harbor = team.harbor
    harbor.scanner.configured = False
    image = images.build("plain")
    src = workspace(tmp_path, images.oci_archive(image))
    run = resource.put(src, team.source(tag="edge", scan={"enabled": False}), image="image/image.tar")
    assert run.output["version"] == {"tag": "edge", "digest": image.digest}
    assert not [r for r in harbor.requests if r.method == "POST"]


def test_put_with_no_scanner_fails_clearly(team: Team, resource: Resource, images: Any, tmp_path: Path) -> None:
    team.harbor.scanner.configured = False
    src = workspace(tmp_path, images.oci_archive(images.build("noscanner")))
    run = resource.put(src, team.source(tag="edge"), image="image/image.tar")
    assert run.returncode == 1
    assert "no scanner is configured or active for project team (412)" in run.stderr
    assert team.harbor.tags("team/app") == {}


def test_put_scan_timeout(team: Team, resource: Resource, images: Any, tmp_path: Path) -> None:
    harbor = team.harbor
    harbor.scanner.set_default(Outcome.clean(duration=3600))
    src = workspace(tmp_path, images.oci_archive(images.build("slow")))
    run = resource.put(src, team.source(tag="edge"), image="image/image.tar", scan={"timeout": "3s"})
    assert run.returncode == 1
    assert "is still Running after 3s; raise scan.timeout" in run.stderr
    assert harbor.tags("team/app") == {}


def test_put_waits_for_a_scan_in_progress(team: Team, resource: Resource, images: Any, tmp_path: Path) -> None:
    team.harbor.scanner.set_default(Outcome.severity("Low", duration=2, pending=1))
    image = images.build("waits")
    src = workspace(tmp_path, images.oci_archive(image))
    run = resource.put(src, team.source(tag="edge"), image="image/image.tar")
    assert run.output["version"] == {"tag": "edge", "digest": image.digest}
    assert "waiting for the scan" in run.stderr


def test_put_immutable_tag(team: Team, resource: Resource, images: Any, tmp_path: Path) -> None:
    harbor = team.harbor
    harbor.scanner.set_default(Outcome.clean())
    harbor.push(images.build("immutable-old"), "team/app", "1.0.0")
    harbor.add_immutable_rule("team", tag_pattern="1.*")
    src = workspace(tmp_path, images.oci_archive(images.build("immutable-new")))
    run = resource.put(src, team.source(semver=True), image="image/image.tar", version="1.0.0")
    assert run.returncode == 1
    assert "applying tag 1.0.0: the tag is immutable in Harbor (412)" in run.stderr


@pytest.mark.parametrize(
    ("source_extra", "params", "expected"),
    [
        ({}, {}, "no tag specified - need either 'version:' in params or 'tag:' in source"),
        ({"semver": True}, {"version": "bad tag"}, "params.version: 'bad tag' is not a valid tag"),
        ({"tag": "x"}, {"image": "missing/*.tar"}, "params.image: nothing matches 'missing/*.tar'"),
        ({"tag": "x"}, {"image": "*/*"}, "params.image: '*/*' matches 2 paths"),
        ({"tag": "x"}, {"image": "notes/readme"}, "is not a tar archive or OCI layout"),
        ({"tag": "x"}, {"additional_tags": "nope"}, "params.additional_tags: cannot read"),
    ],
)
def test_put_usage_errors(
    team: Team, resource: Resource, tmp_path: Path, source_extra: dict[str, Any], params: dict[str, Any], expected: str
) -> None:
    src = tmp_path / "build"
    (src / "image").mkdir(parents=True)
    (src / "image" / "image.tar").write_bytes(b"")
    (src / "notes").mkdir()
    (src / "notes" / "readme").write_text("hello")
    run = resource.put(src, team.source(**source_extra), **{"image": "image/image.tar", **params})
    assert run.returncode == 1
    assert expected in run.stderr


def test_put_registry_down(team: Team, resource: Resource, images: Any, tmp_path: Path) -> None:
    src = workspace(tmp_path, images.oci_archive(images.build("down")))
    with team.harbor.registry_down():
        run = resource.put(src, team.source(tag="edge"), image="image/image.tar")
    assert run.returncode == 1
    assert "pushing the image:" in run.stderr
    assert "retrying in 1s" in run.stderr and "retrying in 3s" in run.stderr  # bounded: 3 attempts


def test_put_survives_a_registry_hiccup(team: Team, resource: Resource, images: Any, tmp_path: Path) -> None:
    harbor = team.harbor
    harbor.scanner.set_default(Outcome.clean())
    image = images.build("hiccup")
    fault = harbor.faults.add(r"/v2/team/app/manifests/", method="PUT", times=1, status=503)
    src = workspace(tmp_path, images.oci_archive(image))
    run = resource.put(src, team.source(tag="edge"), image="image/image.tar")
    assert run.output["version"] == {"tag": "edge", "digest": image.digest}
    assert fault.hits == 1 and "retrying in 1s" in run.stderr


# -- get -----------------------------------------------------------------------------------------------------


def test_get_formats(team: Team, resource: Resource, images: Any, tmp_path: Path) -> None:
    harbor = team.harbor
    harbor.scanner.set_default(Outcome.clean())
    image = images.build("formats", files={"etc/app.conf": "x=1"})
    digest = harbor.push(image, "team/app", "1.0.0")
    harbor.rescan("team/app", digest)
    source = team.source(semver=True)
    version = {"tag": "1.0.0", "digest": digest}

    rootfs = tmp_path / "rootfs"
    resource.get(rootfs, source, version).output  # noqa: B018
    assert (rootfs / "rootfs" / "etc" / "app.conf").read_text() == "x=1"

    oci = tmp_path / "oci"
    resource.get(oci, source, version, format="oci").output  # noqa: B018
    with tarfile.open(oci / "image.tar") as archive:  # a docker-archive, as registry-image's format: oci writes
        handle = archive.extractfile("manifest.json")
        assert handle is not None
        assert json.load(handle)[0]["RepoTags"] == [f"{harbor.host}/team/app:1.0.0"]
    inspected = subprocess.run(
        ["skopeo", "inspect", "--raw", f"docker-archive:{oci / 'image.tar'}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(inspected.stdout)["schemaVersion"] == 2

    layout = tmp_path / "layout"
    resource.get(layout, source, version, format="oci-layout").output  # noqa: B018
    index = json.loads((layout / "oci" / "index.json").read_text())
    assert index["manifests"][0]["digest"] == digest  # the exact manifest, digest preserved

    skipped = tmp_path / "skipped"
    resource.get(skipped, {**source, "debug": True}, version, skip_download=True).output  # noqa: B018
    assert sorted(p.name for p in skipped.iterdir()) == [
        "digest",
        "repository",
        "scan_overview.json",
        "tag",
        "tags",
        "vulnerabilities.json",
    ]


def test_get_fails_after_a_rescan_finds_new_cves(team: Team, resource: Resource, images: Any, tmp_path: Path) -> None:
    harbor = team.harbor
    harbor.scanner.set_default(Outcome.clean())
    digest = harbor.push(images.build("rescan"), "team/app", "1.0.0")
    harbor.rescan("team/app", digest)
    harbor.rescan("team/app", digest, Outcome.counts({"Critical": 2}, prefix="CVE-2031-"))
    dest = tmp_path / "get"
    run = resource.get(dest, team.source(semver=True), {"tag": "1.0.0", "digest": digest})
    assert run.returncode == 1
    assert "does not pass the scan gate: Critical ≥ high (2 Critical)" in run.stderr
    assert "CVE-2031-" in run.stderr
    assert len(json.loads((dest / "vulnerabilities.json").read_text())["vulnerabilities"]) == 2
    assert not (dest / "rootfs").exists()
    # gate: false fetches anyway and says why it would have failed
    run = resource.get(tmp_path / "forced", team.source(semver=True), {"tag": "1.0.0", "digest": digest}, gate=False)
    assert run.returncode == 0 and "gate not enforced" in run.stderr


def test_get_scans_an_unscanned_artifact_and_waits(team: Team, resource: Resource, images: Any, tmp_path: Path) -> None:
    harbor = team.harbor
    digest = harbor.push(images.build("unscanned"), "team/app", "1.0.0")
    harbor.scanner.set_default(Outcome.severity("Low", duration=1))
    run = resource.get(
        tmp_path / "get", team.source(semver=True), {"tag": "1.0.0", "digest": digest}, skip_download=True
    )
    assert run.returncode == 0
    assert "scan of" in run.stderr and "requested" in run.stderr
    assert harbor.scanner.history[-1][0] == digest


def test_get_digest_gone(team: Team, resource: Resource, images: Any, tmp_path: Path) -> None:
    harbor = team.harbor
    digest = harbor.push(images.build("gone"), "team/app", "1.0.0")
    harbor.delete_artifact("team/app", digest)
    run = resource.get(tmp_path / "get", team.source(semver=True), {"tag": "1.0.0", "digest": digest})
    assert run.returncode == 1
    assert f"team/app@{digest} is gone from Harbor" in run.stderr


def test_tls_put_and_get_with_ca_certs(team_tls: Team, resource: Resource, images: Any, tmp_path: Path) -> None:
    """ca_certs reach both the API client and skopeo (push, tag, pull)."""
    harbor = team_tls.harbor
    harbor.scanner.set_default(Outcome.clean())
    image = images.build("tls")
    src = workspace(tmp_path, images.oci_archive(image))
    source = team_tls.source(tag="edge")
    put = resource.put(src, source, image="image/image.tar")
    assert put.output["version"] == {"tag": "edge", "digest": image.digest}
    got = resource.get(tmp_path / "get", source, put.output["version"], format="oci-layout")
    assert got.returncode == 0
    untrusted = {k: v for k, v in source.items() if k != "ca_certs"}
    failed = resource.put(src, untrusted, image="image/image.tar")
    assert failed.returncode == 1 and "source.ca_certs" in failed.stderr


def test_debug_put_never_prints_secrets(team: Team, resource: Resource, images: Any, tmp_path: Path) -> None:
    team.harbor.scanner.set_default(Outcome.clean())
    src = workspace(tmp_path, images.oci_archive(images.build("debug")))
    run = resource.put(src, team.source(tag="edge", debug=True), image="image/image.tar")
    assert run.returncode == 0
    assert "debug: running skopeo copy" in run.stderr and "--dest-authfile=" in run.stderr
    # (the Resource runner asserts that neither the robot secret nor any Authorization header was printed)


def test_put_into_an_auto_scan_project(team: Team, resource: Resource, images: Any, tmp_path: Path) -> None:
    """Harbor scans on push already: put waits for that scan instead of starting another one."""
    harbor = team.harbor
    harbor.set_metadata("team", auto_scan=True)
    harbor.scanner.set_default(Outcome.severity("Low", duration=1))
    image = images.build("autoscan")
    src = workspace(tmp_path, images.oci_archive(image))
    run = resource.put(src, team.source(semver=True), image="image/image.tar", version="3.1.0")
    assert run.output["version"] == {"tag": "3.1.0", "digest": image.digest}
    assert "waiting for the scan of" in run.stderr
    assert not [r for r in harbor.requests if r.method == "POST"]
    assert harbor.tags("team/app") == {"3.1.0": image.digest}


def test_get_retries_transient_errors_and_reports_401(
    team: Team, resource: Resource, images: Any, tmp_path: Path
) -> None:
    harbor = team.harbor
    harbor.scanner.set_default(Outcome.clean())
    digest = harbor.push(images.build("flaky"), "team/app", "1.0.0")
    harbor.rescan("team/app", digest)
    version = {"tag": "1.0.0", "digest": digest}
    unavailable = harbor.faults.add(r"/artifacts/sha256:", method="GET", times=2, status=503, retry_after=1)
    reset = harbor.faults.add(r"/additions/vulnerabilities$", times=1, reset=True)
    run = resource.get(tmp_path / "get", team.source(semver=True), version, skip_download=True)
    assert run.returncode == 0, run.stderr
    assert (unavailable.hits, reset.hits) == (2, 1)

    wrong = team.source(semver=True, password="not-" + team.password)
    run = resource.get(tmp_path / "denied", wrong, version, skip_download=True)
    assert run.returncode == 1
    assert "Harbor refused the credentials (401 UNAUTHORIZED: unauthorized)" in run.stderr
    src = workspace(tmp_path, images.oci_archive(images.build("denied")))
    run = resource.put(src, {**wrong, "semver": True}, image="image/image.tar", version="9.9.9")
    assert run.returncode == 1
    assert "pushing the image: the registry refused the credentials" in run.stderr


def test_get_without_trigger_fails_at_once_on_an_unscanned_artifact(
    team: Team, resource: Resource, images: Any, tmp_path: Path
) -> None:
    digest = team.harbor.push(images.build("notrigger"), "team/app", "1.0.0")
    source = team.source(semver=True, scan={"trigger": False})
    run = resource.get(tmp_path / "get", source, {"tag": "1.0.0", "digest": digest}, skip_download=True)
    assert run.returncode == 1
    assert "does not pass the scan gate: not scanned" in run.stderr
    assert not [r for r in team.harbor.requests if r.method == "POST"]


def test_get_rootfs_of_a_multi_platform_image(team: Team, resource: Resource, images: Any, tmp_path: Path) -> None:
    harbor = team.harbor
    harbor.scanner.set_default(Outcome.clean())
    amd64 = images.build("multi-amd64", files={"arch": "amd64"})
    arm64 = images.build("multi-arm64", files={"arch": "arm64"}, architecture="arm64")
    index = images.index(amd64, arm64)
    digest = harbor.push(index, "team/app", "1.0.0")
    dest = tmp_path / "get"
    run = resource.get(dest, team.source(semver=True), {"tag": "1.0.0", "digest": digest})
    assert run.returncode == 0, run.stderr
    expected = "arm64" if platform.machine() in ("aarch64", "arm64") else "amd64"
    assert (dest / "rootfs" / "arch").read_text() == expected  # this machine's platform
    assert (dest / "digest").read_text() == digest  # the version stays the index digest

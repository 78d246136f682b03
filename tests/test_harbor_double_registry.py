"""Real skopeo pushes and pulls through the Harbor double to the real registry: the token flow, artifacts and tags
ensured like Harbor (push by tag and by digest, tag moves, re-pushes), pulls counted, policy middlewares, TLS.
"""

from __future__ import annotations

import base64
import http.client
import json
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fixtures import skopeo
from fixtures.images import Images, sha256_digest
from fixtures.registry import Registry
from fixtures.skopeo import SkopeoError
from fixtures.tls import TestCA
from harbor_double import GENERIC_MIME, HarborDouble, Outcome, Vulnerability

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
ACCEPT_OCI = {"Accept": OCI_MANIFEST}  # the registry hides OCI manifests from clients that do not accept them


def api_json(harbor: HarborDouble, path: str) -> Any:
    reply = harbor.request("GET", path)
    assert reply.status == 200, reply.body
    data = reply.json()
    assert isinstance(data, dict)
    return data


def registry_tags(registry: Registry, name: str) -> list[str]:
    """Tags the registry itself stores (Harbor keeps tags in its database, not in the registry)."""
    request = urllib.request.Request(
        f"{registry.url}/v2/{name}/tags/list", headers={"Authorization": registry.basic_auth()}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return list(json.load(response).get("tags") or [])
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return []
        raise


# --- auth and token flow -------------------------------------------------------------------------------------
def test_v2_challenge_and_token_service(harbor: HarborDouble) -> None:
    challenge = harbor.request("GET", "/v2/", auth=None)
    assert challenge.status == 401
    assert challenge.headers["Www-Authenticate"] == (
        f'Bearer realm="http://{harbor.host}/service/token",service="harbor-registry"'
    )
    assert challenge.headers["Docker-Distribution-Api-Version"] == "registry/2.0"
    assert challenge.json() == {"errors": [{"code": "UNAUTHORIZED", "message": "unauthorized: unauthorized"}]}

    harbor.create_project("p")
    token = harbor.request("GET", "/service/token?service=harbor-registry&scope=repository:p/r:pull,push")
    body = token.json()
    assert isinstance(body, dict)
    assert set(body) == {"token", "access_token", "expires_in", "issued_at"}
    assert body["expires_in"] == 1800 and body["access_token"] == ""
    datetime.strptime(str(body["issued_at"]), "%Y-%m-%dT%H:%M:%SZ")
    bearer = {"Authorization": f"Bearer {body['token']}"}
    assert harbor.request("GET", "/v2/", auth=None, headers=bearer).status == 200
    assert harbor.request("GET", "/v2/p/r/tags/list", auth=None, headers=bearer).status == 404  # no repository yet

    assert harbor.request("GET", "/service/token?service=harbor-registry", auth=("admin", "bad")).status == 401
    anonymous = harbor.request("GET", "/service/token?service=harbor-registry&scope=repository:p/r:pull", auth=None)
    anonymous_bearer = {"Authorization": f"Bearer {anonymous.json()['token']}"}
    assert harbor.request("GET", "/v2/", auth=None, headers=anonymous_bearer).status == 401
    wrong_service = harbor.request("GET", "/service/token?service=other")
    assert (wrong_service.status, wrong_service.body) == (400, b"Unable to handle service: other")


def test_unauthenticated_manifest_get_gets_a_scoped_challenge(harbor: HarborDouble) -> None:
    harbor.create_project("p")
    reply = harbor.request("GET", "/v2/p/r/manifests/latest", auth=None)
    assert reply.status == 401
    assert reply.headers["Www-Authenticate"].endswith(',scope="repository:p/r:pull"')


def test_push_to_a_project_that_does_not_exist_fails(harbor: HarborDouble, images: Images) -> None:
    with pytest.raises(SkopeoError, match=r"(?i)unauthorized|authentication required|denied"):
        harbor.push(images.build("nowhere"), "missing/app", "v1")
    assert "missing/app" not in harbor.state.repositories


def test_robot_without_push_permission_cannot_push(harbor: HarborDouble, images: Images) -> None:
    harbor.create_project("team")
    reader = harbor.add_robot("team", "reader", access=[("repository", "pull")])
    with pytest.raises(SkopeoError):
        harbor.push(images.build("robot"), "team/app", "v1", username=reader.name, password=reader.secret)
    ci = harbor.add_robot("team", "ci")
    digest = harbor.push(images.build("robot"), "team/app", "v1", username=ci.name, password=ci.secret)
    assert harbor.tags("team/app") == {"v1": digest}


# --- pushes become artifacts ---------------------------------------------------------------------------------
def test_push_by_tag_creates_artifact_and_tag_stored_only_in_harbor(
    harbor: HarborDouble, images: Images, registry: Registry
) -> None:
    harbor.create_project("p")
    image = images.build("push-by-tag", env={"A": "1"}, user="1000", cmd=("/bin/app",), labels={"maintainer": "me"})
    digest = harbor.push(image, "p/app", "1.0.0")
    assert digest == image.digest
    data = api_json(harbor, harbor.api_path("p/app", "/artifacts/1.0.0"))
    assert data["digest"] == digest and data["manifest_media_type"] == OCI_MANIFEST
    assert data["extra_attrs"] == {
        "created": "2024-01-01T00:00:00Z",
        "architecture": "amd64",
        "os": "linux",
        "config": {"User": "1000", "Env": ["A=1"], "Cmd": ["/bin/app"], "Labels": {"maintainer": "me"}},
        "author": "me",
    }
    assert [t["name"] for t in data["tags"]] == ["1.0.0"]
    assert registry_tags(registry, "p/app") == []  # Harbor v2.15 pushes tags to the registry by digest


def test_repushing_an_unchanged_image_uploads_no_layer_bytes_and_changes_nothing(
    harbor: HarborDouble, images: Images
) -> None:
    harbor.create_project("p")
    image = images.build("repush", layer_size=300_000)
    harbor.push(image, "p/app", "v1")
    first_bytes = harbor.uploaded_bytes
    assert first_bytes > 300_000
    before = api_json(harbor, harbor.api_path("p/app", f"/artifacts/{image.digest}"))
    repo_before = api_json(harbor, harbor.api_path("p/app"))
    harbor.clock.advance(60)
    harbor.push(image, "p/app", "v1")
    assert harbor.uploaded_bytes == first_bytes
    after = api_json(harbor, harbor.api_path("p/app", f"/artifacts/{image.digest}"))
    assert after["push_time"] == before["push_time"]
    assert after["tags"] == before["tags"]  # the tag's push_time did not move either
    assert api_json(harbor, harbor.api_path("p/app"))["update_time"] == repo_before["update_time"]


def test_pushing_another_image_onto_a_tag_moves_it(harbor: HarborDouble, images: Images) -> None:
    harbor.create_project("p")
    old, new = images.build("move-old"), images.build("move-new")
    harbor.push(old, "p/app", "latest")
    old_before = api_json(harbor, harbor.api_path("p/app", f"/artifacts/{old.digest}"))
    repo_before = api_json(harbor, harbor.api_path("p/app"))
    harbor.clock.advance(120)
    harbor.push(new, "p/app", "latest")
    assert harbor.tags("p/app") == {"latest": new.digest}
    old_after = api_json(harbor, harbor.api_path("p/app", f"/artifacts/{old.digest}"))
    assert old_after["tags"] is None and old_after["push_time"] == old_before["push_time"]
    new_data = api_json(harbor, harbor.api_path("p/app", "/artifacts/latest"))
    (tag,) = new_data["tags"]
    assert tag["push_time"] > old_before["tags"][0]["push_time"]
    assert tag["id"] == old_before["tags"][0]["id"]  # the same tag row, moved
    repo_after = api_json(harbor, harbor.api_path("p/app"))
    assert repo_after["update_time"] > repo_before["update_time"]
    assert repo_after["artifact_count"] == 2


def test_push_by_digest_then_retag_through_the_registry_uploads_nothing(harbor: HarborDouble, images: Images) -> None:
    harbor.create_project("p")
    image = images.build("by-digest", layer_size=100_000)
    digest = harbor.push(image, "p/app", by_digest=True)
    assert digest == image.digest
    untagged = api_json(harbor, harbor.api_path("p/app", f"/artifacts/{digest}"))
    assert untagged["tags"] is None
    harbor.reset_upload_counters()
    harbor.clock.advance(30)
    skopeo.copy(
        harbor.ref("p/app", digest=digest),
        harbor.ref("p/app", tag="1.2.3"),
        src_endpoint=harbor.endpoint(),
        dest_endpoint=harbor.endpoint(),
    )
    assert harbor.uploaded_bytes == 0
    assert harbor.tags("p/app") == {"1.2.3": digest}
    tagged = api_json(harbor, harbor.api_path("p/app", "/artifacts/1.2.3"))
    assert tagged["push_time"] == untagged["push_time"]
    assert tagged["pull_time"] != "0001-01-01T00:00:00.000Z"  # skopeo read the manifest: a pull


def test_pulls_set_pull_time_count_and_repository_update_time(harbor: HarborDouble, images: Images) -> None:
    harbor.create_project("p")
    image = images.build("pulls")
    harbor.push(image, "p/app", "v1")
    repo_before = api_json(harbor, harbor.api_path("p/app"))
    harbor.clock.advance(10)
    raw = skopeo.inspect_raw(harbor.ref("p/app", tag="v1"), endpoint=harbor.endpoint())
    assert json.loads(raw)["config"]["digest"] == image.config_digest
    data = api_json(harbor, harbor.api_path("p/app", "/artifacts/v1"))
    assert data["pull_time"] != "0001-01-01T00:00:00.000Z"
    assert data["tags"][0]["pull_time"] == data["pull_time"]
    repo_after = api_json(harbor, harbor.api_path("p/app"))
    assert repo_after["pull_count"] == 1
    # v2.15.2: AddPullCount sets update_time as well
    assert repo_after["update_time"] > repo_before["update_time"]
    head = harbor.request("HEAD", "/v2/p/app/manifests/v1", headers=ACCEPT_OCI)
    assert head.status == 200
    assert api_json(harbor, harbor.api_path("p/app"))["pull_count"] == 1  # HEAD is not a pull


def test_manifest_delete_by_digest_deletes_the_artifact_and_not_by_tag(harbor: HarborDouble, images: Images) -> None:
    harbor.create_project("p")
    image = images.build("delete-me")
    harbor.push(image, "p/app", "v1")
    by_tag = harbor.request("DELETE", "/v2/p/app/manifests/v1")
    assert by_tag.status == 400
    assert by_tag.json()["errors"][0]["code"] == "UNSUPPORTED"
    repo_before = api_json(harbor, harbor.api_path("p/app"))
    harbor.clock.advance(5)
    assert harbor.request("DELETE", f"/v2/p/app/manifests/{image.digest}").status == 202
    assert harbor.tags("p/app") == {} and harbor.digests("p/app") == []
    assert api_json(harbor, harbor.api_path("p/app"))["update_time"] > repo_before["update_time"]
    gone = harbor.request("GET", "/v2/p/app/manifests/v1")
    assert gone.status == 404 and gone.json()["errors"][0]["message"] == "artifact p/app:v1 not found"


def test_archive_formats_push_with_their_media_types(harbor: HarborDouble, images: Images) -> None:
    harbor.create_project("p")
    image = images.build("formats")
    oci_digest = harbor.push(f"oci-archive:{images.oci_archive(image)}", "p/app", "oci")
    docker_digest = harbor.push(f"docker-archive:{images.docker_archive(image)}", "p/app", "docker")
    assert oci_digest == image.digest
    assert docker_digest != image.digest  # converted to Docker schema 2 with gzip layers
    docker = api_json(harbor, harbor.api_path("p/app", "/artifacts/docker"))
    assert docker["manifest_media_type"] == DOCKER_MANIFEST
    assert docker["media_type"] == "application/vnd.docker.container.image.v1+json"


def test_image_index_references_children_and_hides_them_from_the_list(harbor: HarborDouble, images: Images) -> None:
    harbor.create_project("p")
    amd, arm = images.build("multi", architecture="amd64"), images.build("multi", architecture="arm64")
    index = images.index(amd, arm)
    digest = harbor.push(index, "p/multi", "1.0")
    assert digest == index.digest
    listed = harbor.request("GET", harbor.api_path("p/multi", "/artifacts")).json()
    assert [a["digest"] for a in listed] == [digest]
    (parent,) = listed
    assert {r["child_digest"] for r in parent["references"]} == {amd.digest, arm.digest}
    assert {r["platform"]["architecture"] for r in parent["references"]} == {"amd64", "arm64"}
    everything = harbor.request("GET", harbor.api_path("p/multi", "/artifacts?q=base%3D*")).json()
    assert len(everything) == 3
    assert api_json(harbor, harbor.api_path("p/multi"))["artifact_count"] == 1
    child = harbor.request("DELETE", harbor.api_path("p/multi", f"/artifacts/{amd.digest}"))
    assert (child.status, child.json()["errors"][0]["code"]) == (412, "VIOLATE_FOREIGN_KEY_CONSTRAINT")

    harbor.scanner.set_outcome(arm.digest, Outcome.severity("High"))
    assert harbor.request("POST", harbor.api_path("p/multi", "/artifacts/1.0/scan")).status == 202
    summary = api_json(harbor, harbor.api_path("p/multi", "/artifacts/1.0?with_scan_overview=true"))
    merged = summary["scan_overview"][GENERIC_MIME]
    assert merged["scan_status"] == "Success" and merged["severity"] == "High"
    assert harbor.request("DELETE", harbor.api_path("p/multi", "/artifacts/1.0")).status == 200
    assert harbor.digests("p/multi") == []


# --- policies ------------------------------------------------------------------------------------------------
def test_pushing_over_an_immutable_tag_is_412(harbor: HarborDouble, images: Images) -> None:
    harbor.create_project("p")
    harbor.add_immutable_rule("p", tag_pattern="release-*")
    harbor.push(images.build("immutable-1"), "p/app", "release-1")
    with pytest.raises(SkopeoError, match="configured as immutable"):
        harbor.push(images.build("immutable-2"), "p/app", "release-1")
    reply = harbor.request("PUT", "/v2/p/app/manifests/release-1", body=b"{}",
                           headers={"Content-Type": OCI_MANIFEST})  # fmt: skip
    assert reply.json() == {  # a new name under the rule is fine; an existing one never moves
        "errors": [
            {
                "code": "PRECONDITION",
                "message": "Failed to process request due to 'app:release-1' configured as immutable.",
            }
        ]
    }
    harbor.push(images.build("immutable-2"), "p/app", "release-2")
    assert set(harbor.tags("p/app")) == {"release-1", "release-2"}


def test_prevent_vul_blocks_pulls_with_harbors_messages(harbor: HarborDouble, images: Images) -> None:
    harbor.create_project("p", prevent_vul=True, severity="high")
    image = images.build("vulnerable")
    harbor.push(image, "p/app", "v1")

    def pull_error() -> Any:
        reply = harbor.request("GET", "/v2/p/app/manifests/v1", headers=ACCEPT_OCI)
        if reply.status == 200:
            return None
        assert reply.status == 412
        (item,) = reply.json()["errors"]
        return item

    policy = "'Prevent images with vulnerability severity of \"High\" or higher from running.'"
    assert pull_error() == {
        "code": "PROJECTPOLICYVIOLATION",
        "message": "current image without vulnerability scanning cannot be pulled due to configured policy in "
        f"{policy} To continue with pull, please contact your project administrator for help.",
    }
    high = Vulnerability("CVE-2024-0002", "High", fix_version="2.0")
    lows = (Vulnerability("CVE-2024-0003", "Low"), Vulnerability("CVE-2024-0004", "Low"))
    harbor.scanner.set_default(Outcome(vulnerabilities=(high, *lows), duration=30))
    harbor.request("POST", harbor.api_path("p/app", "/artifacts/v1/scan"))
    assert pull_error()["message"].startswith('current image with "Running" status of vulnerability scanning')
    harbor.complete_scans()
    assert pull_error()["message"] == (
        f"current image with 3 vulnerabilities cannot be pulled due to configured policy in {policy} To continue "
        "with pull, please contact your project administrator to exempt matched vulnerabilities through configuring "
        "the CVE allowlist."
    )
    harbor.set_cve_allowlist("p", ["CVE-2024-0003"])  # a Low one: still blocked, and counted without it
    assert pull_error()["message"].startswith("current image with 2 vulnerabilities")
    harbor.set_cve_allowlist("p", ["CVE-2024-0002"])  # the High one: only Lows remain, below the policy
    assert pull_error() is None
    harbor.set_cve_allowlist("p", ["CVE-2024-0002"], expires_at=1)  # an expired allowlist counts for nothing
    assert pull_error() is not None
    with pytest.raises(SkopeoError, match="cannot be pulled"):
        harbor.set_cve_allowlist("p", [])
        skopeo.inspect_raw(harbor.ref("p/app", tag="v1"), endpoint=harbor.endpoint())


def test_auto_scan_scans_every_push_including_repushes(harbor: HarborDouble, images: Images) -> None:
    harbor.create_project("p", auto_scan=True)
    harbor.scanner.set_default(Outcome.severity("Low", duration=5))
    image = images.build("autoscan")
    harbor.push(image, "p/app", "v1")
    assert harbor.scanner.history == [(image.digest, "EVENT")]
    assert harbor.scan_status(image.digest) == "Running"
    harbor.clock.advance(6)
    first = harbor.scanner.reports[image.digest].uuid
    harbor.push(image, "p/app", "v2")  # same digest, new tag: Harbor fires the push event and rescans
    assert harbor.scanner.reports[image.digest].uuid != first
    assert [trigger for _, trigger in harbor.scanner.history] == ["EVENT", "EVENT"]


# --- upstream and transport ----------------------------------------------------------------------------------
def test_registry_down_gives_502_on_registry_calls_only(harbor: HarborDouble, images: Images) -> None:
    harbor.create_project("p")
    harbor.push(images.build("down"), "p/app", "v1")
    with harbor.registry_down():
        assert harbor.request("GET", "/v2/p/app/manifests/v1", headers=ACCEPT_OCI).status == 502
        assert harbor.request("GET", harbor.api_path("p/app", "/artifacts")).status == 200
    assert harbor.request("GET", "/v2/p/app/manifests/v1", headers=ACCEPT_OCI).status == 200


def test_registry_requests_are_logged_separately(harbor: HarborDouble, images: Images) -> None:
    harbor.create_project("p")
    harbor.push(images.build("logged"), "p/app", "v1")
    paths = [(r.method, r.path) for r in harbor.registry_requests]
    assert paths[:2] == [("GET", "/v2/"), ("GET", "/service/token")]
    assert ("PUT", "/v2/p/app/manifests/v1") in paths
    assert harbor.requests == []
    assert all(r.cookies == () for r in harbor.registry_requests)  # skopeo keeps no cookies


def test_tls_double_works_with_the_ca_for_skopeo_and_http(harbor_tls: HarborDouble, images: Images) -> None:
    assert harbor_tls.url.startswith("https://127.0.0.1:")
    assert harbor_tls.ca_pem and "BEGIN CERTIFICATE" in harbor_tls.ca_pem
    harbor_tls.create_project("p")
    digest = harbor_tls.push(images.build("tls"), "p/app", "v1")
    reply = harbor_tls.request("GET", harbor_tls.api_path("p/app", "/artifacts/v1"))
    assert reply.json()["digest"] == digest
    untrusted = skopeo.Endpoint("admin", "Harbor12345", tls_verify=True)
    with pytest.raises(SkopeoError, match=r"(?i)certificate"):
        skopeo.inspect_raw(harbor_tls.ref("p/app", tag="v1"), endpoint=untrusted)


def test_basic_credentials_also_work_directly_on_v2(harbor: HarborDouble, images: Images) -> None:
    harbor.create_project("p")
    harbor.push(images.build("basic"), "p/app", "v1")
    token = base64.b64encode(b"admin:Harbor12345").decode()
    reply = harbor.request("GET", "/v2/p/app/tags/list", auth=None, headers={"Authorization": f"Basic {token}"})
    assert reply.json() == {"name": "p/app", "tags": ["v1"]}
    denied = harbor.request("GET", "/v2/p/app/tags/list", auth=("admin", "wrong"))
    assert denied.status == 401 and denied.headers["Www-Authenticate"] == 'Basic realm="harbor"'


def test_seeded_clock_and_push_times(harbor: HarborDouble, images: Images) -> None:
    harbor.create_project("p")
    harbor.clock.freeze(datetime(2025, 7, 17, 4, 16, 48, 294000, tzinfo=UTC))
    harbor.push(images.build("frozen"), "p/app", "v1")
    data = api_json(harbor, harbor.api_path("p/app", "/artifacts/v1"))
    assert data["push_time"] == "2025-07-17T04:16:48.294Z"


def test_chunked_uploads_stream_through_and_are_counted(harbor: HarborDouble) -> None:
    harbor.create_project("p")
    token = harbor.request("GET", "/service/token?service=harbor-registry&scope=repository:p/chunk:pull,push").json()
    bearer = {"Authorization": f"Bearer {token['token']}"}
    started = harbor.request("POST", "/v2/p/chunk/blobs/uploads/", auth=None, headers=bearer)
    assert started.status == 202
    location = started.headers["Location"]
    assert location.startswith("/v2/p/chunk/blobs/uploads/")  # relative, as the registry wrote it
    parts = [b"a" * 70_000, b"b" * 30_000, b"c"]
    connection = http.client.HTTPConnection("127.0.0.1", harbor.port, timeout=30)
    try:
        connection.request("PATCH", location, body=iter(parts), headers=bearer, encode_chunked=True)
        patched = connection.getresponse()
        patched.read()
        assert patched.status == 202
        location = patched.headers["Location"]
    finally:
        connection.close()
    digest = sha256_digest(b"".join(parts))
    separator = "&" if "?" in location else "?"
    finished = harbor.request("PUT", f"{location}{separator}digest={digest}", auth=None, headers=bearer)
    assert finished.status == 201
    assert harbor.uploaded_bytes == 100_001
    assert harbor.uploaded_blobs == [digest]
    blob = harbor.request("GET", f"/v2/p/chunk/blobs/{digest}", auth=None, headers=bearer)
    assert blob.body == b"".join(parts)


def test_absolute_registry_locations_are_rewritten_to_the_double(
    tmp_path: Path, images: Images, test_ca: TestCA
) -> None:
    upstream = Registry(tmp_path / "registry", relative_urls=False)
    upstream.start()
    double = HarborDouble(upstream, ca=test_ca)
    double.start()
    try:
        double.create_project("p")
        token = double.request("GET", "/service/token?service=harbor-registry&scope=repository:p/app:pull,push")
        bearer = {"Authorization": f"Bearer {token.json()['token']}"}
        started = double.request("POST", "/v2/p/app/blobs/uploads/", auth=None, headers=bearer)
        assert started.headers["Location"].startswith(f"{double.url}/v2/p/app/blobs/uploads/")
        digest = double.push(images.build("absolute", layer_size=50_000), "p/app", "v1")
        assert double.tags("p/app") == {"v1": digest}
    finally:
        double.stop()
        upstream.stop()

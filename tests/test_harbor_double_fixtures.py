"""The real parts behind the Harbor double: the docker-registry process, umoci-built images, the openssl test CA."""

from __future__ import annotations

import json
import ssl
import tarfile
import urllib.error
import urllib.request

import pytest
from fixtures import skopeo
from fixtures.images import OCI_INDEX, Images, manifest_digest, sha256_digest
from fixtures.registry import Registry
from fixtures.tls import TestCA


def get(url: str, authorization: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"Authorization": authorization} if authorization else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_registry_requires_its_htpasswd_credentials(registry: Registry) -> None:
    assert registry.host.startswith("127.0.0.1:")
    assert get(f"{registry.url}/v2/") == 401
    assert get(f"{registry.url}/v2/", registry.basic_auth()) == 200
    assert registry.data_dir.is_dir()


def test_registry_accepts_pushes_and_deletes(registry: Registry, images: Images) -> None:
    endpoint = skopeo.Endpoint(registry.username, registry.password, tls_verify=False)
    image = images.build("direct")
    digest = skopeo.copy(image.ref, f"docker://{registry.host}/direct/test:v1", dest_endpoint=endpoint)
    assert digest == image.digest
    skopeo.delete(f"docker://{registry.host}/direct/test@{digest}", endpoint=endpoint)  # storage delete is on
    with pytest.raises(skopeo.SkopeoError):
        skopeo.inspect_raw(f"docker://{registry.host}/direct/test@{digest}", endpoint=endpoint)


def test_images_are_deterministic_per_seed_and_carry_their_config(images: Images) -> None:
    one = images.build("seed-a", env={"PORT": "8080"}, user="65532", cmd=("/app", "serve"), layers=2)
    same = images.build("seed-a", env={"PORT": "8080"}, user="65532", cmd=("/app", "serve"), layers=2)
    other = images.build("seed-b", env={"PORT": "8080"}, user="65532", cmd=("/app", "serve"), layers=2)
    assert one is same and one.digest != other.digest
    raw = one.blob(one.digest)
    assert sha256_digest(raw) == one.digest
    manifest = one.manifest()
    assert len(manifest["layers"]) == 2
    assert one.config_digest is not None
    config = json.loads(one.blob(one.config_digest))
    assert config["config"] == {"User": "65532", "Env": ["PORT=8080"], "Cmd": ["/app", "serve"]}
    assert (config["architecture"], config["os"]) == ("amd64", "linux")
    assert skopeo.inspect_raw(one.ref) == raw


def test_layer_size_makes_big_incompressible_layers(images: Images) -> None:
    big = images.build("big", layer_size=2_000_000)
    (layer,) = big.manifest()["layers"]
    assert layer["size"] > 1_900_000


def test_archive_formats(images: Images) -> None:
    image = images.build("archives")
    oci = images.oci_archive(image)
    docker = images.docker_archive(image)
    with tarfile.open(oci) as tar:
        assert "index.json" in tar.getnames() and "oci-layout" in tar.getnames()
    with tarfile.open(docker) as tar:
        assert "manifest.json" in tar.getnames()
    assert skopeo.inspect_raw(f"oci-archive:{oci}") == image.blob(image.digest)
    assert json.loads(skopeo.inspect_raw(f"docker-archive:{docker}"))["config"]["digest"] == image.config_digest


def test_index_over_two_platforms(images: Images) -> None:
    amd, arm = images.build("idx", architecture="amd64"), images.build("idx", architecture="arm64")
    index = images.index(amd, arm)
    assert index.media_type == OCI_INDEX and index.is_index
    manifest = index.manifest()
    assert [m["digest"] for m in manifest["manifests"]] == [amd.digest, arm.digest]
    assert index.platforms == ("linux/amd64", "linux/arm64")
    with pytest.raises(ValueError, match="docker-archive"):
        images.docker_archive(index)


def test_ca_signs_a_server_certificate_for_127_0_0_1(test_ca: TestCA) -> None:
    assert test_ca.ca_pem.startswith("-----BEGIN CERTIFICATE-----")
    assert (test_ca.cert_dir / "ca.crt").read_text() == test_ca.ca_pem
    client = test_ca.client_context()
    assert client.verify_mode == ssl.CERT_REQUIRED
    server = test_ca.server_context()
    assert isinstance(server, ssl.SSLContext)


def test_manifest_digest_of_any_reference(images: Images) -> None:
    image = images.build("digest-of")
    assert manifest_digest(image.ref) == image.digest
    assert manifest_digest(f"oci-archive:{images.oci_archive(image)}") == image.digest

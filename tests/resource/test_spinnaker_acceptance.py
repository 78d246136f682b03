"""Issue 13's acceptance, end to end with real parts: the generated Concourse put pushes real images through
`harbor-image-out` into the Harbor double (a real `docker-registry` behind it), and the generated Spinnaker triggers
then see the tags the way clouddriver, igor and Echo do.

- clouddriver (kork-docker `DockerRegistryClient.getTags`, `RegistryService.getTags`): `GET /v2/<repo>/tags/list?n=100`
  with only `Docker-Distribution-API-Version: registry/2.0`, following `Link: rel="next"`. Without `trackDigests`
  that is all the caching agent asks (`AbstractDockerRegistryCachingAgent.buildCacheResult`).
- With `trackDigests` it would also `GET /v2/<repo>/manifests/<tag>` WITHOUT an Accept header
  (`RegistryService.getManifest`); distribution (`registry/handlers/manifests.go`) answers an OCI manifest with
  404 MANIFEST_UNKNOWN, and the agent drops the tag: shown here against the real registry.
- igor fires for tags it has not seen; Echo matches the trigger's `tag` as a Java regex against the whole tag and
  binds the artifact `<registry>/<repository>:<tag>` (echo `DockerEventMonitor`, igor `DockerMonitor.postEvent`).
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from harbor_double import Outcome
from resource_helpers import Resource, Team
from shiplane.concourse import render_app as render_concourse
from shiplane.config import load_text
from shiplane.model import Fleet
from shiplane.spinnaker import render_app as render_spinnaker
from shiplane.spinnaker import render_fleet as render_spinnaker_fleet
from shiplane.spinnaker.javaregex import echo_tag_matches
from shiplane.templates import TemplateSet

REVISIONS = ("0123456789abcdef0123456789abcdef01234567", "fedcba9876543210fedcba9876543210fedcba98")


def _fleet(team: Team) -> Fleet:
    config = {
        "version": 1,
        "harbor": {"url": team.harbor.url, "project": "team", "insecure": True},
        "concourse": {"config_repo": {"uri": "https://git.example.com/fleet.git"}},
        "spinnaker": {"owner_email": "team@example.com"},
        "environments": {
            "dev": {"image_tag": "latest", "replicas": 1, "storage": "ephemeral"},
            "prod": {"image_tag": "semver", "replicas": 2, "storage": "ephemeral"},
        },
        "clusters": {"dev": {"environment": "dev"}, "prod": {"environment": "prod"}},
        "apps": {"app": {"git": {"uri": "https://git.example.com/app.git"}}},
    }
    return load_text(yaml.safe_dump(config), "fleet.yaml")


def _substitute(value: Any, variables: dict[str, str]) -> Any:
    """Concourse's ((var)) interpolation of whole and embedded strings."""
    if isinstance(value, str):
        for name, replacement in variables.items():
            value = value.replace(f"(({name}))", replacement)
        return value
    if isinstance(value, dict):
        return {key: _substitute(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, variables) for item in value]
    return value


def _put_step(pipeline: dict[str, Any], job: str) -> dict[str, Any]:
    plan = next(j for j in pipeline["jobs"] if j["name"] == job)["plan"]
    return next(step for step in plan if "put" in step)


def _clouddriver_tags(team: Team, repository: str) -> list[str]:
    """kork-docker DockerRegistryClient.getTags: n=paginateSize (100), Link rel=next followed, basic auth."""
    tags: list[str] = []
    url: str | None = f"{team.harbor.url}/v2/{repository}/tags/list?n=100"
    for _ in range(100):  # bounded: a page per 100 tags
        if url is None:
            break
        request = urllib.request.Request(url, headers={"Docker-Distribution-API-Version": "registry/2.0"})
        request.add_unredirected_header("Authorization", _basic(team))
        with urllib.request.urlopen(request, timeout=30) as response:
            tags.extend(json.loads(response.read())["tags"] or [])
            link = response.headers.get("Link")
        url = f"{team.harbor.url}{link.split(';')[0].strip('<> ')}" if link else None
    return tags


def _basic(team: Team) -> str:

    return "Basic " + base64.b64encode(f"{team.username}:{team.password}".encode()).decode()


def _manifest_status(team: Team, repository: str, tag: str, accept: str | None) -> tuple[int, str]:
    headers = {"Docker-Distribution-API-Version": "registry/2.0"}
    if accept is not None:
        headers["Accept"] = accept
    request = urllib.request.Request(f"{team.harbor.url}/v2/{repository}/manifests/{tag}", headers=headers)
    request.add_unredirected_header("Authorization", _basic(team))
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers.get("Docker-Content-Digest", "")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _workspace(tmp_path: Path, archive: Path, name: str) -> Path:
    src = tmp_path / name
    (src / "image").mkdir(parents=True)
    (src / "image" / "image.tar").write_bytes(archive.read_bytes())
    return src


def test_generated_triggers_fire_on_what_the_generated_put_pushes(
    team: Team, resource: Resource, images: Any, tmp_path: Path
) -> None:
    harbor = team.harbor
    harbor.scanner.set_default(Outcome.counts({"Low": 1}))
    fleet = _fleet(team)
    app = fleet.app("app")
    (concourse,) = render_concourse(fleet, app, TemplateSet())
    pipeline = concourse.content
    sources = {r["name"]: r["source"] for r in pipeline["resources"]}
    spinnaker = {d.path: d.content for d in render_spinnaker(fleet, app, TemplateSet())}
    dev_trigger = spinnaker["spinnaker/app/deploy-dev.json"]["triggers"][0]
    prod_trigger = spinnaker["spinnaker/app/deploy-prod.json"]["triggers"][0]
    credentials = {"harbor-username": team.username, "harbor-password": team.password}

    # Two builds of two commits, pushed exactly as the generated build job's put does.
    build_put = _put_step(pipeline, "build")
    assert build_put["put"] == "image-latest"
    pushed: dict[str, str] = {}
    for number, revision in enumerate(REVISIONS):
        image = images.build(f"acceptance-{number}", env={"BUILD": str(number)})
        src = _workspace(tmp_path, images.docker_archive(image), f"build-{number}")
        source = _substitute(sources["image-latest"], credentials)
        params = _substitute(build_put["params"], {**credentials, ".:revision": revision})
        output = resource.put(src, source, **params).output
        pushed[revision] = output["version"]["digest"]
        assert output["version"]["tag"] == "latest"  # the resource's version; the unique tag is applied too
    # A release, pushed as the generated release job does.
    release_put = _put_step(pipeline, "release")
    image = images.build("acceptance-release", env={"BUILD": "release"})
    src = _workspace(tmp_path, images.docker_archive(image), "release")
    release = resource.put(src, _substitute(sources["image-release"], credentials),
                           **_substitute(release_put["params"], {**credentials, ".:version": "v1.4.0"})).output

    # clouddriver lists the tags; igor/Echo fire each trigger for the tags its pattern matches.
    tags = _clouddriver_tags(team, app.repository)
    assert sorted(tags) == sorted(["latest", "1.4.0", *(f"git-{r}" for r in REVISIONS)])
    dev_fires = [tag for tag in tags if echo_tag_matches(dev_trigger["tag"], tag)]
    prod_fires = [tag for tag in tags if echo_tag_matches(prod_trigger["tag"], tag)]
    assert sorted(dev_fires) == sorted(f"git-{r}" for r in REVISIONS)  # the tags the dev job applied
    assert "latest" not in dev_fires and "latest" not in prod_fires
    assert prod_fires == ["1.4.0"]

    # Every tag a trigger fires for is found when fetched, and binds to an immutable reference.
    registry = fleet.harbor.registry
    bound = {tag: f"{registry}/{app.repository}:{tag}" for tag in dev_fires + prod_fires}
    assert len(set(bound.values())) == len(bound)
    for revision in REVISIONS:
        status, digest = _manifest_status(team, app.repository, f"git-{revision}",
                                          "application/vnd.oci.image.manifest.v1+json")
        assert (status, digest) == (200, pushed[revision])
    assert pushed[REVISIONS[0]] != pushed[REVISIONS[1]]  # two builds: two references to two images
    status, digest = _manifest_status(team, app.repository, "1.4.0", "application/vnd.oci.image.manifest.v1+json")
    assert (status, digest) == (200, release["version"]["digest"])

    # Why trackDigests stays off: clouddriver's manifest GET (no Accept) is refused for the OCI manifests
    # harbor-image pushes, and the caching agent would drop every tag.
    status, body = _manifest_status(team, app.repository, f"git-{REVISIONS[0]}", None)
    assert status == 404 and "MANIFEST_UNKNOWN" in body and "accept header does not support OCI" in body
    clouddriver = next(d.content for d in render_spinnaker_fleet(fleet, TemplateSet())
                       if d.path == "spinnaker/clouddriver-local.yml")
    (account,) = clouddriver["dockerRegistry"]["accounts"]
    assert "trackDigests" not in account and account["name"] == dev_trigger["account"] == prod_trigger["account"]
    assert app.repository in account["repositories"]

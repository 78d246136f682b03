"""The gate's hard cases, run as Concourse runs the executables (a fresh process per check, the cache directory kept
between checks) against the Harbor double in front of a real registry, with real images pushed by skopeo:

- Harbor before v2.15.2 does not move update_time on pushes: a release pushed by a tool that never pulls is seen;
- scans finishing out of order never lose a release: later versions wait (bounded by scan.timeout);
- an image index passes only when every platform was scanned and passes (check, get and put);
- a Helm chart in the repository is never a version and breaks nothing;
- Harbor's own pull policy (prevent_vul) and the gate agree; put tags without pulling through Harbor;
- a registry 429 during put is retried; skopeo errors are classified by code, not by digits;
- 403 on a scan request holds the image back (naming scan:create) and emits the rest; an unscanned cursor is scanned.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from fixtures.artifacts import helm_chart_layout
from harbor_double import Outcome, Vulnerability
from harbor_double.errors import error_body
from resource_helpers import Resource, Team

OLD = "v2.14.4-1b3ec8a4"


def versions(run: Any) -> list[str]:
    return [v["tag"] for v in run.output]


def workspace(tmp_path: Path, layout: Path) -> Path:
    src = tmp_path / "build"
    shutil.copytree(layout, src / "image" / "image")
    return src


# -- 1. Harbor before v2.15.2 -----------------------------------------------------------------------------------


def test_old_harbor_sees_a_push_that_no_pull_follows(team: Team, resource: Resource, images: Any) -> None:
    harbor = team.harbor
    harbor.version = OLD
    harbor.scanner.set_default(Outcome.severity("Low"))
    source = team.source(semver=True)
    first = harbor.push(images.build("old-1"), "team/app", "1.0.0")
    harbor.rescan("team/app", first, Outcome.severity("Low"))
    cursor = resource.check(source).output[-1]
    assert cursor == {"tag": "1.0.0", "digest": first}
    for _ in range(2):  # settled: on v2.15.2 these would be 2-request checks
        assert resource.check(source, cursor).output == [cursor]
    before = harbor.repository("team/app").update_time
    second = harbor.push(images.build("old-2"), "team/app", "1.1.0")  # skopeo push, no pull afterwards
    harbor.rescan("team/app", second, Outcome.severity("Low"))
    assert harbor.repository("team/app").update_time == before  # v2.14: no touchRepo
    harbor.reset_requests()
    run = resource.check(source, cursor)
    assert run.output == [cursor, {"tag": "1.1.0", "digest": second}]
    assert not any(r.path.endswith("/repositories/app") for r in harbor.requests)  # update_time is useless here


def test_new_harbor_trusts_update_time_but_lists_every_five_minutes(team: Team, resource: Resource) -> None:
    harbor = team.harbor
    harbor.seed("team/app", 150, tags=lambda i: [f"1.0.{i}"], scan=Outcome.severity("Low"))
    source = team.source(semver=True)
    cursor = resource.check(source).output[-1]
    for _ in range(2):
        resource.check(source, cursor)
    harbor.reset_requests()
    assert resource.check(source, cursor).output == [cursor]
    assert len([r for r in harbor.requests if r.path.startswith("/api/")]) == 2
    # a stale update_time (Harbor's Redis repository cache) is trusted for at most FULL_LISTING_INTERVAL
    cache = next(resource.cache_dir.glob("*.json"))
    state = json.loads(cache.read_text())
    state["listed_at"] -= 301
    cache.write_text(json.dumps(state))
    harbor.reset_requests()
    assert resource.check(source, cursor).output == [cursor]
    listed = [r for r in harbor.requests if r.path.endswith("/artifacts") and r.params.get("q") == ["tags=*"]]
    assert len(listed) == 2  # every page, in place of the repository (which is not read)


# -- 2. scans finishing out of order ----------------------------------------------------------------------------


def test_out_of_order_scans_never_lose_a_release(team: Team, resource: Resource) -> None:
    harbor = team.harbor
    source = team.source(semver=True)
    first = harbor.seed("team/app", 1, tags=lambda i: ["1.0.0"], scan=Outcome.severity("Low"), salt="a")[0]
    cursor = resource.check(source).output[-1]
    assert cursor["digest"] == first.digest
    harbor.clock.advance(5)
    middle = harbor.seed("team/app", 1, tags=lambda i: ["1.1.0"], scan_status="Running", salt="b")[0]
    last = harbor.seed("team/app", 1, tags=lambda i: ["1.2.0"], scan=Outcome.severity("Low"), salt="c")[0]
    run = resource.check(source, cursor)
    assert versions(run) == ["1.0.0"]  # 1.2.0 passed, but 1.1.0 is still being scanned
    assert "1 newer passing version(s) wait for" in run.stderr and "1.1.0" in run.stderr
    harbor.complete_scans()
    run = resource.check(source, cursor)
    assert run.output == [cursor, {"tag": "1.1.0", "digest": middle.digest}, {"tag": "1.2.0", "digest": last.digest}]


def test_a_scan_that_never_finishes_holds_back_at_most_scan_timeout(team: Team, resource: Resource) -> None:
    harbor = team.harbor
    source = team.source(semver=True, scan={"timeout": "2s"})
    harbor.seed("team/app", 1, tags=lambda i: ["1.1.0"], scan_status="Pending", salt="stuck")
    newer = harbor.seed("team/app", 1, tags=lambda i: ["1.2.0"], scan=Outcome.clean(), salt="ok")[0]
    assert resource.check(source).output == []
    time.sleep(2.5)
    run = resource.check(source)
    assert run.output == [{"tag": "1.2.0", "digest": newer.digest}]
    assert "more than scan.timeout: later versions no longer wait" in run.stderr


# -- 3. image indexes -------------------------------------------------------------------------------------------


def test_an_index_passes_only_when_every_platform_passes(team: Team, resource: Resource, images: Any) -> None:
    harbor = team.harbor
    amd64 = images.build("idx-amd64", architecture="amd64")
    arm64 = images.build("idx-arm64", architecture="arm64")
    harbor.scanner.set_outcome(amd64.digest, Outcome.severity("Low"))
    harbor.scanner.set_outcome(arm64.digest, Outcome.severity("Low", pending=3600))
    index = harbor.push(images.index(amd64, arm64), "team/app", "2.0.0")
    harbor.rescan("team/app", index)
    overview = harbor.request(
        "GET", harbor.api_path("team/app", f"/artifacts/{index}?with_scan_overview=true"), auth=("admin", "Harbor12345")
    ).json()["scan_overview"]
    summary = next(iter(overview.values()))
    assert (summary["scan_status"], summary["complete_percent"]) == ("Success", 50)  # Harbor's merge
    source = team.source(semver=True)
    run = resource.check(source)
    assert run.output == []
    assert "1 of 2 platforms scanned" in run.stderr
    dest = Path(resource.cache_dir).parent / "get"
    get = resource.get(dest, team.source(semver=True, scan={"timeout": "1s"}), {"tag": "2.0.0", "digest": index})
    assert get.returncode == 1 and "still Pending" in get.stderr
    harbor.scanner.reports[arm64.digest].outcome = Outcome.error()  # the pending platform ends in Error
    harbor.complete_scans(arm64.digest, repository="team/app")
    run = resource.check(source)
    assert run.output == []
    assert "platform sha256:" in run.stderr and "scan Error" in run.stderr
    harbor.rescan("team/app", arm64.digest, Outcome.severity("Medium"))
    assert resource.check(source).output == [{"tag": "2.0.0", "digest": index}]
    get = resource.get(dest, source, {"tag": "2.0.0", "digest": index}, skip_download=True)
    assert get.returncode == 0, get.stderr


def test_put_of_an_index_with_a_failing_platform_applies_no_tag(
    team: Team, resource: Resource, images: Any, tmp_path: Path
) -> None:
    harbor = team.harbor
    amd64 = images.build("put-idx-amd64", architecture="amd64")
    arm64 = images.build("put-idx-arm64", architecture="arm64")
    harbor.scanner.set_outcome(amd64.digest, Outcome.severity("Low"))
    harbor.scanner.set_outcome(arm64.digest, Outcome.error())
    src = workspace(tmp_path, Path(images.index(amd64, arm64).layout))
    run = resource.put(src, team.source(), image="image/image", version="3.0.0")
    assert run.returncode == 1
    assert "platform sha256:" in run.stderr and "scan Error" in run.stderr and "no tag applied" in run.stderr
    assert harbor.tags("team/app") == {}


def _attestations(image: Any) -> list[str]:
    index = json.loads(image.blob(image.digest))
    return [m["digest"] for m in index["manifests"] if m.get("annotations", {}).get("vnd.docker.reference.type")]


def _merged(harbor: Any, digest: str) -> tuple[str, int]:
    path = harbor.api_path("team/app", f"/artifacts/{digest}?with_scan_overview=true")
    reply = harbor.request("GET", path, auth=("admin", "Harbor12345"))
    summary = next(iter(reply.json()["scan_overview"].values()))
    return summary["scan_status"], summary["complete_percent"]


def test_attestation_manifests_are_not_platforms(team: Team, resource: Resource, images: Any, tmp_path: Path) -> None:
    # docker buildx pushes an attestation manifest per platform (platform unknown/unknown, in-toto layer). Harbor
    # v2.11+ never scans it (400 for a scan of it alone), so waiting for its scan held the index back for ever.
    harbor = team.harbor
    amd64 = images.build("att-amd64", architecture="amd64")
    arm64 = images.build("att-arm64", architecture="arm64")
    harbor.scanner.set_outcome(amd64.digest, Outcome.severity("Low"))
    harbor.scanner.set_outcome(arm64.digest, Outcome.severity("Low", pending=3600))
    built = images.index(amd64, arm64, attestations=True)
    attestations = _attestations(built)
    assert len(attestations) == 2
    index = harbor.push(built, "team/app", "2.0.0")
    harbor.rescan("team/app", index)
    assert _merged(harbor, index) == ("Success", 50)  # 1 of the 2 platforms: attestations are not counted
    scan = harbor.request("POST", harbor.api_path("team/app", f"/artifacts/{attestations[0]}/scan"),
                          auth=("admin", "Harbor12345"), json_body={})
    assert scan.status == 400
    source = team.source(semver=True)
    run = resource.check(source)
    assert run.output == [] and "1 of 2 platforms scanned" in run.stderr, run.stderr
    harbor.complete_scans(arm64.digest, repository="team/app")
    harbor.reset_requests()
    run = resource.check(source)
    assert run.output == [{"tag": "2.0.0", "digest": index}], run.stderr
    assert not [r for r in harbor.requests if r.method == "POST"]  # no scan requested for an attestation
    harbor.scanner.set_outcome(arm64.digest, Outcome.severity("Low", pending=1))  # put's fresh scans: one lags
    put = resource.put(workspace(tmp_path, Path(built.layout)), team.source(), image="image/image", version="2.0.1")
    assert put.returncode == 0, put.stderr
    assert put.output["version"]["digest"] == index and "all 2 platforms pass" in put.stderr


def test_a_platform_harbor_never_scans_fails_the_index_at_100_percent(
    team: Team, resource: Resource, images: Any, tmp_path: Path
) -> None:
    # Harbor v2.11+ leaves a manifest with an in-toto layer out of its scan walk: that platform gets no report, the
    # merged index counts only the other one and shows Success at 100 % — with a Critical image inside.
    harbor = team.harbor
    amd64 = images.build("never-amd64", architecture="amd64")
    arm64 = images.with_in_toto_layer(images.build("never-arm64", architecture="arm64"))
    harbor.scanner.set_default(Outcome.severity("Low"))
    harbor.scanner.set_outcome(arm64.digest, Outcome.severity("Critical"))  # what a scan would find
    built = images.index(amd64, arm64)
    index = harbor.push(built, "team/app", "4.0.0")
    harbor.rescan("team/app", index)
    assert _merged(harbor, index) == ("Success", 100)
    source = team.source(semver=True)
    run = resource.check(source)
    assert run.output == [], run.stderr
    assert f"platform {arm64.digest[:19]}…: Harbor does not scan it" in run.stderr, run.stderr
    harbor.reset_requests()
    assert resource.check(source).output == []  # remembered: no platform listing on later checks
    assert not [r for r in harbor.requests if "base" in unquote(r.query)], [r.query for r in harbor.requests]
    get = resource.get(tmp_path / "get", source, {"tag": "4.0.0", "digest": index}, skip_download=True)
    assert get.returncode == 1 and "Harbor does not scan it" in get.stderr, get.stderr
    put = resource.put(workspace(tmp_path, Path(built.layout)), team.source(), image="image/image", version="4.0.1")
    assert put.returncode == 1 and "Harbor does not scan it" in put.stderr and "no tag applied" in put.stderr
    assert "4.0.1" not in harbor.tags("team/app")


def test_a_passing_index_costs_its_platforms_once(team: Team, resource: Resource, images: Any) -> None:
    harbor = team.harbor
    harbor.scanner.set_default(Outcome.severity("Low"))
    built = images.index(images.build("once-amd64", architecture="amd64"),
                         images.build("once-arm64", architecture="arm64"))
    index = harbor.push(built, "team/app", "5.0.0")
    harbor.rescan("team/app", index)
    assert _merged(harbor, index) == ("Success", 100)
    source = team.source(semver=True)
    cursor = resource.check(source).output[-1]
    assert cursor == {"tag": "5.0.0", "digest": index}
    for _ in range(2):
        harbor.reset_requests()
        assert resource.check(source, cursor).output == [cursor]
        assert len(harbor.requests) <= 2, [r.path for r in harbor.requests]


def test_attestation_manifests_scanned_by_harbor_2_10_do_not_fail_the_index(
    team: Team, resource: Resource, images: Any, tmp_path: Path
) -> None:
    # Before v2.11 Harbor scans an attestation manifest like an image; a scanner that cannot read an in-toto layer
    # ends in Error, and the merged index stays below 100 %. Only the platforms are judged.
    harbor = team.harbor
    harbor.version = "v2.10.3-b1a2c3d4"
    amd64 = images.build("att10-amd64", architecture="amd64")
    arm64 = images.build("att10-arm64", architecture="arm64")
    built = images.index(amd64, arm64, attestations=True)
    harbor.scanner.set_default(Outcome.severity("Low"))
    for digest in _attestations(built):
        harbor.scanner.set_outcome(digest, Outcome.error())
    index = harbor.push(built, "team/app", "3.0.0")
    harbor.rescan("team/app", index)
    assert _merged(harbor, index) == ("Success", 50)  # 2 of 4 children: the attestations errored
    run = resource.check(team.source(semver=True))
    assert run.output == [{"tag": "3.0.0", "digest": index}], run.stderr
    get = resource.get(tmp_path / "get", team.source(semver=True), {"tag": "3.0.0", "digest": index},
                       skip_download=True)
    assert get.returncode == 0 and "all 2 platforms pass" in get.stderr, get.stderr


# -- 4. non-image artifacts -------------------------------------------------------------------------------------


def test_a_helm_chart_in_the_repository_is_never_a_version(
    team: Team, resource: Resource, images: Any, tmp_path: Path
) -> None:
    harbor = team.harbor
    harbor.scanner.set_default(Outcome.severity("Low"))
    chart = harbor.push(f"oci:{helm_chart_layout(tmp_path)}:chart", "team/app", "0.1.0")
    assert harbor.artifact("team/app", chart).type == "CHART"
    scan = harbor.request(
        "POST", harbor.api_path("team/app", f"/artifacts/{chart}/scan"), auth=("admin", "Harbor12345"), json_body={}
    )
    assert scan.status == 400 and "does not support scanning artifact" in scan.json()["errors"][0]["message"]
    image = harbor.push(images.build("next-to-chart"), "team/app", "1.0.0")
    harbor.rescan("team/app", image)
    harbor.reset_requests()
    run = resource.check(team.source(semver=True))
    assert run.output == [{"tag": "1.0.0", "digest": image}]
    assert not [r for r in harbor.requests if r.method == "POST" and chart in r.path]  # never asked to scan it


# -- 5. Harbor's own pull policy --------------------------------------------------------------------------------


def test_prevent_vul_and_the_gate_agree(team: Team, resource: Resource, images: Any, tmp_path: Path) -> None:
    harbor = team.harbor
    harbor.set_metadata("team", prevent_vul=True, severity="high")
    unfixed = Outcome(vulnerabilities=(Vulnerability("CVE-2024-9", "High", fix_version=""),))
    harbor.scanner.set_default(unfixed)
    source = team.source(semver=True, scan={"ignore_unfixed": True})
    image = images.build("policy")
    src = workspace(tmp_path, Path(image.layout))
    run = resource.put(src, source, image="image/image", version="1.0.0")
    assert run.returncode == 1
    assert "Harbor refuses to serve it: project policy prevent_vul" in run.stderr
    assert "no tag applied" in run.stderr
    assert harbor.tags("team/app") == {}
    digest = image.digest
    harbor.tag("team/app", digest, "1.0.0")  # tagged by someone else: still not a version
    run = resource.check(source)
    assert run.output == [] and "prevent_vul" in run.stderr
    get = resource.get(tmp_path / "get", source, {"tag": "1.0.0", "digest": digest})
    assert get.returncode == 1 and "prevent_vul" in get.stderr
    harbor.set_metadata("team", prevent_vul=False)
    put = resource.put(src, source, image="image/image", version="1.0.1")
    assert put.returncode == 0, put.stderr


def test_put_tags_without_pulling_through_harbor(team: Team, resource: Resource, images: Any, tmp_path: Path) -> None:
    harbor = team.harbor
    harbor.scanner.set_default(Outcome.severity("Low"))
    harbor.set_metadata("team", prevent_vul=True, severity="critical")
    src = workspace(tmp_path, Path(images.build("no-pull").layout))
    harbor.reset_requests()
    run = resource.put(src, team.source(), image="image/image", version="1.0.0")
    assert run.returncode == 0, run.stderr
    pulls = [r for r in harbor.registry_requests if r.method == "GET" and "/manifests/" in r.path]
    assert pulls == []


# -- 6. registry errors -----------------------------------------------------------------------------------------


def test_a_registry_429_during_put_is_retried(team: Team, resource: Resource, images: Any, tmp_path: Path) -> None:
    harbor = team.harbor
    harbor.scanner.set_default(Outcome.severity("Low"))
    fault = harbor.faults.add(r"/manifests/1\.0\.0$", method="PUT", times=1, status=429)
    src = workspace(tmp_path, Path(images.build("rate-limited").layout))
    run = resource.put(src, team.source(), image="image/image", version="1.0.0")
    assert run.returncode == 0, run.stderr
    assert fault.hits == 1
    assert "rate-limiting (429 Too Many Requests)" in run.stderr and "retrying" in run.stderr
    assert "1.0.0" in harbor.tags("team/app")


def test_429_body_on_the_registry_is_distributions(team: Team) -> None:
    team.harbor.faults.add(r"^/v2/", times=1, status=429)
    reply = team.harbor.request("GET", "/v2/")
    assert reply.status == 429 and reply.body == error_body("TOOMANYREQUESTS", "too many requests")


# -- 7. permissions ---------------------------------------------------------------------------------------------


def test_403_on_scan_holds_the_image_back_and_emits_the_rest(harbor: Any, resource: Resource) -> None:
    harbor.create_project("team")
    access = [("project", "read"), ("repository", "read"), ("artifact", "list"), ("artifact", "read")]
    robot = harbor.add_robot("team", "noscan", access=access)
    resource.secrets.add(robot.secret)
    scanned = harbor.seed("team/app", 1, tags=lambda i: ["1.0.0"], scan=Outcome.clean(), salt="s")[0]
    harbor.seed("team/app", 1, tags=lambda i: ["1.1.0"], salt="u")  # never scanned
    newer = harbor.seed("team/app", 1, tags=lambda i: ["1.2.0"], scan=Outcome.clean(), salt="n")[0]
    source = harbor.source("team/app", username=robot.name, password=robot.secret, semver=True)
    run = resource.check(source)
    assert run.returncode == 0, run.stderr
    assert run.output == [{"tag": "1.0.0", "digest": scanned.digest}, {"tag": "1.2.0", "digest": newer.digest}]
    assert "scan:create" in run.stderr and run.stderr.count("Harbor refused to start a scan (403)") == 1


def test_403_on_the_report_names_artifact_addition_read(harbor: Any, resource: Resource) -> None:
    harbor.create_project("team")
    robot = harbor.add_robot("team", "noreport", access=[("artifact", "list"), ("artifact", "read")])
    resource.secrets.add(robot.secret)
    high = Outcome(vulnerabilities=(Vulnerability("CVE-2024-1", "High", fix_version="2"),))
    harbor.seed("team/app", 1, tags=lambda i: ["1.0.0"], scan=high)
    source = harbor.source("team/app", username=robot.name, password=robot.secret, semver=True)
    run = resource.check(source | {"scan": {"allowlist": ["CVE-2024-1"]}})
    assert run.returncode == 1
    assert "artifact-addition:read" in run.stderr


# -- 8. the cursor ----------------------------------------------------------------------------------------------


def test_an_unscanned_cursor_is_scanned(team: Team, resource: Resource) -> None:
    harbor = team.harbor
    seeded = harbor.seed("team/app", 1, tags=lambda i: ["1.0.0"])[0]  # never scanned
    run = resource.check(team.source(semver=True), {"tag": "1.0.0", "digest": seeded.digest})
    assert run.output == []
    assert [r.path for r in harbor.requests if r.method == "POST"] == [
        harbor.api_path("team/app", f"/artifacts/{seeded.digest}/scan")
    ]


# -- red team: attestation spoofing -------------------------------------------------------------------------------


def _spoofed_index(images: Any, tmp_path: Path, built: Any, spoof: dict[str, dict[str, Any]]) -> Any:
    """A copy of index `built` whose entries named in `spoof` (digest -> descriptor fields) are rewritten: e.g. a
    real platform image carrying the attestation annotation, as anyone who can push an index can write it."""
    from fixtures.images import OCI_INDEX, TestImage, sha256_digest

    layout = tmp_path / "spoofed" / "layout"
    shutil.copytree(built.layout, layout)
    index = json.loads(built.blob(built.digest))
    for entry in index["manifests"]:
        entry.update(spoof.get(entry["digest"], {}))
    data = json.dumps(index).encode()
    digest = sha256_digest(data)
    (layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).write_bytes(data)
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": OCI_INDEX, "digest": digest, "size": len(data),
        "annotations": {"org.opencontainers.image.ref.name": built.tag}}]}))  # fmt: skip
    return TestImage(layout, built.tag, digest, None, OCI_INDEX, built.platforms)


ATTESTATION = {"vnd.docker.reference.type": "attestation-manifest"}


def test_a_platform_annotated_as_an_attestation_is_still_a_platform(
    team: Team, resource: Resource, images: Any, tmp_path: Path
) -> None:
    # The annotation is the pusher's word: a linux/amd64 image annotated attestation-manifest is what a pull for
    # linux/amd64 gets (skopeo, containerd and docker choose by platform, not by annotation), and Harbor scans it
    # (HasUnscannableLayer looks at layers, not annotations). Its scan ending in Error must not let the index pass.
    harbor = team.harbor
    amd64 = images.build("spoof-amd64", architecture="amd64", files={"payload": "unscanned code"})
    arm64 = images.build("spoof-arm64", architecture="arm64")
    harbor.scanner.set_outcome(amd64.digest, Outcome.error())
    harbor.scanner.set_outcome(arm64.digest, Outcome.clean())
    spoofed = _spoofed_index(images, tmp_path, images.index(amd64, arm64), {amd64.digest: {"annotations": ATTESTATION}})
    index = harbor.push(spoofed, "team/app", "4.0.0")
    harbor.rescan("team/app", index)
    assert _merged(harbor, index) == ("Success", 50)  # Harbor scanned the spoofed platform: it errored
    source = team.source(semver=True)
    get = resource.get(tmp_path / "get", source, {"tag": "4.0.0", "digest": index})  # rootfs of linux/amd64
    assert get.returncode != 0 and "platform" in get.stderr, get.stderr
    assert not (tmp_path / "get" / "rootfs" / "payload").exists()
    run = resource.check(source)
    assert run.output == [], run.stderr


def test_a_vulnerable_platform_annotated_as_an_attestation_is_waited_for(
    team: Team, resource: Resource, images: Any, tmp_path: Path
) -> None:
    # Same spoof, the platform's scan still running: the index must wait, not pass on the other platform alone.
    harbor = team.harbor
    amd64 = images.build("spoofw-amd64", architecture="amd64")
    arm64 = images.build("spoofw-arm64", architecture="arm64")
    harbor.scanner.set_outcome(amd64.digest, Outcome.severity("Critical", pending=3600))
    harbor.scanner.set_outcome(arm64.digest, Outcome.clean())
    spoofed = _spoofed_index(images, tmp_path, images.index(amd64, arm64), {amd64.digest: {"annotations": ATTESTATION}})
    index = harbor.push(spoofed, "team/app", "5.0.0")
    harbor.rescan("team/app", index)
    assert _merged(harbor, index) == ("Success", 50)
    run = resource.check(team.source(semver=True))
    assert run.output == [] and "1 of 2 platforms scanned" in run.stderr, run.stderr


def test_an_index_of_attestations_only_is_not_a_version(
    team: Team, resource: Resource, images: Any, tmp_path: Path
) -> None:
    # Harbor v2.10 scans attestation manifests: one Success, one Error make the index Success at 50 %. With no
    # platform left there is nothing to pull by platform: "all 0 platforms pass" must not emit it.
    harbor = team.harbor
    harbor.version = "v2.10.3-b1a2c3d4"
    amd64 = images.build("attonly-amd64", architecture="amd64")
    arm64 = images.build("attonly-arm64", architecture="arm64")
    built = images.index(amd64, arm64, attestations=True)
    index = json.loads(built.blob(built.digest))
    attestations = [m["digest"] for m in index["manifests"] if m.get("annotations")]
    harbor.scanner.set_outcome(attestations[0], Outcome.clean())
    harbor.scanner.set_outcome(attestations[1], Outcome.error())
    # keep only the attestation entries
    spoofed = _spoofed_index(images, tmp_path, built, {})
    data = json.loads(spoofed.blob(spoofed.digest))
    data["manifests"] = [m for m in data["manifests"] if m.get("annotations")]
    from fixtures.images import OCI_INDEX, TestImage, sha256_digest

    raw = json.dumps(data).encode()
    digest = sha256_digest(raw)
    (spoofed.layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).write_bytes(raw)
    (spoofed.layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": OCI_INDEX, "digest": digest, "size": len(raw),
        "annotations": {"org.opencontainers.image.ref.name": built.tag}}]}))  # fmt: skip
    only = TestImage(spoofed.layout, built.tag, digest, None, OCI_INDEX, ())
    pushed = harbor.push(only, "team/app", "6.0.0")
    harbor.rescan("team/app", pushed)
    assert _merged(harbor, pushed) == ("Success", 50)
    source = team.source(semver=True)
    run = resource.check(source)
    assert run.output == [] and "no platform image" in run.stderr, run.stderr
    get = resource.get(tmp_path / "get", source, {"tag": "6.0.0", "digest": pushed}, skip_download=True)
    assert get.returncode != 0 and "no platform image" in get.stderr, get.stderr

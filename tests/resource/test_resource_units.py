"""Small pure parts: redaction, Harbor's error bodies and Link headers, timestamps, the check cache file."""

from __future__ import annotations

import io
import json
import stat
from base64 import b64encode
from pathlib import Path

from harbor_image.cache import FORMAT, Cache, State
from harbor_image.check import short, time_key
from harbor_image.errors import harbor_error_text
from harbor_image.harbor import Harbor
from harbor_image.log import Log
from harbor_image.models import Artifact, ScanSummary, Tag


def test_log_redacts_every_form_of_the_password() -> None:
    stream = io.StringIO()
    log = Log(stream, debug=True)
    log.add_secret("p@ss w0rd!", "robot$team+ci")
    basic = b64encode(b"robot$team+ci:p@ss w0rd!").decode()
    log.info(f"raw p@ss w0rd! quoted p%40ss%20w0rd%21 basic {basic}")
    log.debug("debug p@ss w0rd!")
    text = stream.getvalue()
    assert "w0rd" not in text and basic not in text
    assert text.count("***") == 4
    assert "debug: debug ***" in text


def test_debug_lines_only_with_debug() -> None:
    stream = io.StringIO()
    Log(stream).debug("hidden")
    assert stream.getvalue() == ""


def test_harbor_error_bodies_in_one_line() -> None:
    body = json.dumps(
        {
            "errors": [
                {"code": "UNPROCESSABLE_ENTITY", "message": "validation failure list:\npage_size in query should be"},
                {"code": "NOT_FOUND", "message": "artifact team/app:9 not found"},
            ]
        }
    ).encode()
    assert harbor_error_text(body) == (
        "UNPROCESSABLE_ENTITY: validation failure list: page_size in query should be; "
        "NOT_FOUND: artifact team/app:9 not found"
    )
    assert (
        harbor_error_text(b"<html>\r\n<h1>502 Bad Gateway</h1>\r\n</html>") == "<html> <h1>502 Bad Gateway</h1> </html>"
    )
    assert harbor_error_text(b"") == "(empty body)"


def test_next_page_from_harbors_unescaped_link_header() -> None:
    header = (
        "</api/v2.0/projects/team/repositories/a%252Fb/artifacts?page=1&page_size=100&q=digest={sha256:a sha256:b}"
        '&sort=-push_time,-id>; rel="prev" , '
        '</api/v2.0/projects/team/repositories/a%252Fb/artifacts?page=3&page_size=100&q=tags=*>; rel="next"'
    )
    assert Harbor._next_page(header) == 3
    assert Harbor._next_page('</api/v2.0/x?page=1&page_size=100>; rel="prev"') is None
    assert Harbor._next_page(None) is None


def test_time_keys_sort_like_time() -> None:
    assert time_key("2025-07-17T04:16:48.294Z") == "2025-07-17T04:16:48.294Z"
    assert time_key("2025-07-17T06:16:48+02:00") == "2025-07-17T04:16:48.000Z"
    assert time_key("garbage") == ""
    assert short("sha256:" + "ab" * 32) == "sha256:abababababab…"


def state_with_one_artifact(key: str) -> State:
    state = State(key)
    scan = ScanSummary("Success", "Low", "r-1", "", "2025-01-01T00:00:00.000Z", {"Low": 1}, 1, 1, "Trivy", {})
    artifact = Artifact("sha256:" + "1" * 64, "2025-01-01T00:00:00.000Z", (Tag("1.0.0", ""),), scan)
    state.replace_all({artifact.digest: artifact})
    state.order = [["1.0.0", artifact.digest]]
    state.update_time = "2025-01-01T00:00:00.000Z"
    return state


def test_cache_round_trip_is_atomic_private_and_lazy(tmp_path: Path) -> None:
    cache = Cache(str(tmp_path / "cache"), "k" * 64)
    cache.store(state_with_one_artifact("k" * 64))
    path = Path(cache.path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert not [p for p in path.parent.iterdir() if p.suffix == ".tmp"]
    loaded = cache.load()
    assert loaded is not None and not loaded.dirty
    artifact = loaded.artifact("sha256:" + "1" * 64)
    assert artifact is not None and artifact.scan is not None and artifact.scan.severity == "Low"
    assert loaded.order == [["1.0.0", artifact.digest]]
    loaded.put(artifact)
    assert not loaded.dirty  # the same data again is no change
    loaded.put(artifact._replace(tags=(Tag("1.0.1", ""),)))
    assert loaded.dirty


def test_corrupt_or_foreign_caches_are_ignored(tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    directory.mkdir()
    key = "a" * 64
    cache = Cache(str(directory), key)
    Path(cache.path).write_text("{not json")
    assert cache.load() is None
    Path(cache.path).write_text(json.dumps({"format": FORMAT, "key": "b" * 64, "artifacts": {}, "order": []}))
    assert cache.load() is None
    Path(cache.path).write_text(json.dumps({"format": FORMAT - 1, "key": key}))
    assert cache.load() is None
    broken = {
        "format": FORMAT,
        "key": key,
        "artifacts": {"sha256:x": [1]},
        "order": [],
        "verdicts": {},
        "triggered": {},
    }
    Path(cache.path).write_text(json.dumps(broken))
    state = cache.load()
    assert state is not None
    assert state.artifact("sha256:x") is None  # a malformed entry is dropped, and the next check walks again
    assert not state.settled


# -- skopeo error classification (texts as skopeo 1.9 prints them against the Harbor double) ----------------------

SKOPEO_429 = 'level=fatal msg="writing manifest: uploading manifest 2 to 127.0.0.1:42717/team/app: toomanyrequests"'
SKOPEO_429_BARE = "writing manifest: uploading manifest 3 to 127.0.0.1:42717/team/app: StatusCode: 429, "
SKOPEO_502 = "uploading manifest 4 to 127.0.0.1:42717/team/app: received unexpected HTTP status: 502 Bad Gateway"
SKOPEO_IMMUTABLE = (
    "uploading manifest 1.0.0 to 127.0.0.1:42717/team/app: unknown: Failed to process request due to 'app:1.0.0' "
    "configured as immutable."
)
SKOPEO_REFUSED = (
    'pinging container registry 127.0.0.1:41234: Get "http://127.0.0.1:41234/v2/": dial tcp 127.0.0.1:41234: '
    "connect: connection refused"
)
SKOPEO_POLICY = (
    "reading manifest sha256:84fc in 127.0.0.1:42717/team/app: unknown: current image with 1 vulnerability cannot be "
    "pulled due to configured policy in 'Prevent images with vulnerability severity of \"Low\" or higher from running.'"
)
SKOPEO_401 = "checking whether a blob sha256:0675 exists in 127.0.0.1:41209/team/app: unauthorized: authentication"


def test_skopeo_errors_are_classified_by_code_and_status_phrase_never_by_digits() -> None:
    from harbor_image.skopeo import classify, explain, transient

    assert classify(SKOPEO_429).status == 429 and transient(SKOPEO_429)
    assert classify(SKOPEO_429_BARE).status == 429 and transient(SKOPEO_429_BARE)
    assert "rate-limiting (429 Too Many Requests)" in explain(SKOPEO_429)
    assert classify(SKOPEO_502).status == 502 and transient(SKOPEO_502)
    assert not transient(SKOPEO_IMMUTABLE) and "immutable in Harbor" in explain(SKOPEO_IMMUTABLE)
    refused = explain(SKOPEO_REFUSED)
    assert "cannot reach the registry" in refused and "immutable" not in refused  # port 41234 is not a 412
    assert transient(SKOPEO_REFUSED)
    assert not transient(SKOPEO_POLICY) and "prevent_vul" in explain(SKOPEO_POLICY)
    assert classify(SKOPEO_401).code == "unauthorized" and not transient(SKOPEO_401)
    unknown = classify("reading manifest x in 127.0.0.1:4121/team/app: manifest unknown")
    assert (unknown.code, unknown.status, unknown.network) == ("manifest unknown", None, False)


def test_harbor_versions_that_move_update_time_on_pushes() -> None:
    from harbor_image.freshness import parse_version, update_time_reliable

    assert parse_version("v2.15.2-080b0220") == (2, 15, 2)
    assert update_time_reliable("v2.15.2-080b0220") and update_time_reliable("v2.16.0-abcdef12")
    assert not update_time_reliable("v2.15.1-1d4a9c1e") and not update_time_reliable("v2.14.4-1b3ec8a4")
    assert not update_time_reliable("") and not update_time_reliable("dev-1234")


def test_only_an_unknown_platform_attestation_entry_is_left_out_of_an_index() -> None:
    # The attestation annotation alone is the pusher's word: a pull by platform never looks at it.
    note = {"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": "sha256:" + "0" * 64}
    unknown = {"os": "unknown", "architecture": "unknown"}
    references = [
        {"child_digest": "sha256:a", "platform": {"os": "linux", "architecture": "amd64"}},
        {"child_digest": "sha256:b", "platform": unknown, "annotations": note},  # BuildKit's: left out
        {"child_digest": "sha256:c", "platform": {"os": "linux", "architecture": "arm64"}, "annotations": note},
        {"child_digest": "sha256:d", "annotations": note},  # no platform: matches any pull
        {"child_digest": "sha256:e", "platform": {"os": "unknown", "architecture": "amd64"}, "annotations": note},
        {"child_digest": "sha256:f", "platform": unknown},  # unknown/unknown without the annotation
    ]
    artifact = Artifact.from_api({"digest": "sha256:i", "references": references})
    assert artifact.children == ("sha256:a", "sha256:c", "sha256:d", "sha256:e", "sha256:f")


def _summary(status: str, report_id: str, severity: str = "Low", percent: int = 100) -> ScanSummary:
    return ScanSummary(status, severity, report_id, "", "", {severity: 1}, 1, 0, "Trivy", {}, percent)


def test_put_and_get_judge_the_platforms_of_an_index_inside_an_index() -> None:
    # An OCI index may list another index; check recurses through it (Judge.verdict -> index_verdict), and so must
    # put/get: the outer merged summary says Success 100 % while an inner platform errored.
    from harbor_image.gate import Policy
    from harbor_image.scanning import Scanner

    index_type = "application/vnd.oci.image.index.v1+json"
    artifacts = {
        "sha256:outer": Artifact("sha256:outer", "", (), _summary("Success", "r-outer"), media_type=index_type,
                                 children=("sha256:inner", "sha256:arm")),
        "sha256:inner": Artifact("sha256:inner", "", (), _summary("Success", "r-inner", percent=50),
                                 media_type=index_type, children=("sha256:amd", "sha256:broken")),
        "sha256:arm": Artifact("sha256:arm", "", (), _summary("Success", "r-arm")),
        "sha256:amd": Artifact("sha256:amd", "", (), _summary("Success", "r-amd")),
        "sha256:broken": Artifact("sha256:broken", "", (), _summary("Error", "r-broken")),
    }  # fmt: skip

    class Client:
        def get_artifact(self, digest: str) -> Artifact | None:
            return artifacts.get(digest)

        def vulnerabilities(self, digest: str) -> None:
            return None

        def project_policy(self) -> None:
            return None

    scanner = Scanner(Client(), "team/app", "team", Log(io.StringIO()), sleep=lambda _s: None)  # type: ignore[arg-type]
    policy = Policy(enabled=True, fail_on="critical", allowlist=frozenset(), ignore_unfixed=False, trigger=False,
                    timeout=60.0)
    result = scanner.index_gate(artifacts["sha256:outer"], policy, "1m")
    assert result.verdict.state == "fail"
    assert result.verdict.reason == "platform sha256:inner…: platform sha256:broken…: scan Error"
    artifacts["sha256:broken"] = Artifact("sha256:broken", "", (), _summary("Success", "r-fixed"))
    assert scanner.index_gate(artifacts["sha256:outer"], policy, "1m").verdict.passed

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

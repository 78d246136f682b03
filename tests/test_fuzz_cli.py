"""Fuzz `shiplane validate` with 5,000 seeded mutations of fleet configs: every run keeps the bad-input promise.

Exit 0, or exit 1 (2 for usage) with one `shiplane: ...` line per problem on stderr; nothing on stdout; never a
traceback or an "internal error". The payloads come from `tests/config_fuzzing.py` (seeded, so a failure reproduces);
`benchmarks/generator_faults.py` prints the same counts for any copy of shiplane.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from config_fuzzing import broken_promise, payloads, run_cli
from shiplane import cli
from shiplane.templates import TemplateSet

ROOT = Path(__file__).resolve().parent.parent
SEEDS = [
    (ROOT / "examples" / "petclinic" / "shiplane.yaml").read_text(),
    """\
version: 1
harbor: {url: "https://harbor.example.com", project: team}
concourse: {config_repo: {uri: "https://git.example.com/fleet.git"}}
environments:
  dev: &dev {image_tag: latest, replicas: 1, storage: ephemeral, env: {A: "1"}}
  prod: {<<: *dev, replicas: 2}
clusters:
  dev-1: &cluster {environment: dev, labels: {tier: "1"}}
  prod-1: {<<: *cluster, environment: prod}
apps:
  web: &app {git: {uri: "https://git.example.com/web.git"}, env: {B: "2"}}
  api: {<<: *app, git: {uri: "https://git.example.com/api.git"}}
""",
]
COUNT = 5000


def test_fuzzed_configs_keep_the_promise(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = TemplateSet()  # compiled once: the payloads that stay valid are rendered with it
    monkeypatch.setattr(cli, "TemplateSet", lambda directory=None: shared)
    config = tmp_path / "fleet.yaml"
    broken: list[tuple[int, str, str]] = []
    exits = {0: 0, 1: 0}
    started = time.monotonic()
    for index, text in enumerate(payloads(SEEDS, COUNT, seed=9)):
        config.write_bytes(text.encode("utf-8", "surrogatepass"))
        result = run_cli("validate", str(config))
        exits[result[0]] = exits.get(result[0], 0) + 1
        why = broken_promise(result)
        if why:
            broken.append((index, why, result[2][-400:]))
    assert broken == []
    # Both outcomes are exercised: the mutations are neither all fatal nor all harmless.
    assert exits[0] >= COUNT // 50 and exits[1] >= COUNT // 2, exits
    assert time.monotonic() - started < 900  # a bound on the whole run, not a speed target

"""The spinnaker-pipeline resource image, built for real with buildah and run from the inside against the Gate
double on 127.0.0.1 (host network), as Concourse runs /opt/resource/{check,in,out}.

Run with `pytest -m image` (root, buildah, debootstrap; tests/imagebuild.py makes the base).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gate_double import GateDouble
from gate_double.orca_routes import add_pipeline
from imagebuild import BUILDAH, ROOT, BuiltImage, _run, build_image, run_in_image

pytestmark = pytest.mark.image

DIGEST = "sha256:" + "cd" * 32
IMAGE = "harbor.example.com/team/app"
PASSWORD = "image-test-secret-1"


@pytest.fixture(scope="session")
def spinnaker_image() -> BuiltImage:
    missing = [tool for tool in ("buildah", "debootstrap") if shutil.which(tool) is None]
    if missing or os.geteuid() != 0:
        pytest.fail(f"building the image needs root, buildah and debootstrap (missing: {missing or 'root'})",
                    pytrace=False)
    image = build_image("localhost/spinnaker-pipeline:test", ROOT / "Dockerfiles" / "spinnaker-pipeline.Dockerfile")
    print(f"\nspinnaker-pipeline: {image.size_bytes / 1e6:.1f} MB (base included), built in "
          f"{image.build_seconds:.0f} s")
    return image


@pytest.fixture
def gate() -> Iterator[GateDouble]:
    with GateDouble() as double:
        double.add_user("ci", password=PASSWORD, applications={"app": {"READ", "EXECUTE"}})
        add_pipeline(double.state, "app", "deploy-dev")
        yield double


def run(image: BuiltImage, script: str, payload: dict[str, Any], workdir: Path | None = None) -> Any:
    argv = [f"/opt/resource/{script}"]
    volumes = {}
    if workdir is not None:
        volumes[str(workdir)] = "/tmp/build/work"
        argv.append("/tmp/build/work")
    result = run_in_image(image.name, argv, stdin=json.dumps(payload), volumes=volumes,
                          env={"BUILD_ID": "7", "BUILD_PIPELINE_NAME": "app"})
    assert PASSWORD not in result.stdout + result.stderr
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_image_contents_and_the_three_scripts(spinnaker_image: BuiltImage, gate: GateDouble, tmp_path: Path) -> None:
    listing = _run(*BUILDAH, "inspect", "--type", "image", "--format", "{{.OCIv1.Config.Env}}",
                   spinnaker_image.name).stdout
    assert "/opt/shiplane/bin" in listing
    source = {"url": gate.url, "insecure": True, "application": "app", "pipeline": "deploy-dev",
              "username": "ci", "password": PASSWORD}
    (tmp_path / "image").mkdir()
    for name, value in (("repository", "team/app"), ("digest", DIGEST), ("tag", "1.0.0")):
        (tmp_path / "image" / name).write_text(value)
    put = run(spinnaker_image, "out", {"source": source, "params": {"image_dir": "image",
                                                                    "registry": "harbor.example.com"}}, tmp_path)
    execution_id = put["version"]["id"]
    trigger = gate.state.executions[execution_id]["trigger"]
    assert trigger["artifacts"][0]["reference"] == f"{IMAGE}@{DIGEST}"
    assert run(spinnaker_image, "check", {"source": source}) == [put["version"]]
    (tmp_path / "get").mkdir()
    got = run(spinnaker_image, "in", {"source": source, "version": put["version"]}, tmp_path / "get")
    assert got["version"] == put["version"]
    assert (tmp_path / "get" / "status").read_text() == "SUCCEEDED\n"

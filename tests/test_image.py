"""The harbor-image resource image, built for real with buildah and exercised from the inside.

The image is built once per session from the working tree (tests/imagebuild.py: a debootstrapped Debian base
instead of Docker Hub's python image). Then /opt/resource/check, /opt/resource/in and /opt/resource/out run inside
it exactly as Concourse runs them — JSON on stdin, the destination/source directory as $1, BUILD_* variables in
get/put — against the real registry behind the Harbor double on 127.0.0.1.

Run alone with `make image` (pytest -m image). Needs root (debootstrap, buildah), like CI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fixtures import tools
from harbor_double import ADMIN_PASSWORD, Outcome, Vulnerability
from imagebuild import BUILDAH, BuiltImage, build_image, run_in_image

pytestmark = pytest.mark.image

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ("buildah", "debootstrap", "skopeo", "umoci")
BUILD_ENV = {
    "BUILD_ID": "42",
    "BUILD_NAME": "7",
    "BUILD_JOB_NAME": "build",
    "BUILD_PIPELINE_NAME": "petclinic",
    "BUILD_TEAM_NAME": "main",
    "ATC_EXTERNAL_URL": "https://ci.example.com",
}


@pytest.fixture(scope="session")
def built_image() -> BuiltImage:
    missing = tools.missing(TOOLS)
    if missing:
        pytest.fail(
            f"building the image needs {', '.join(missing)}, found in none of {tools.search_path()}: "
            "`make test` installs them",
            pytrace=False,
        )
    if os.geteuid() != 0:
        # debootstrap and buildah's vfs storage need root. `make test` and `make image` run these tests through
        # sudo for a non-root user; only a bare `pytest` as that user ends up here.
        pytest.fail(
            "building the image needs root: run `make image` (it uses sudo) or `sudo .venv/bin/pytest -m image`",
            pytrace=False,
        )
    image = build_image()
    print(
        f"\nharbor-image: {image.size_bytes / 1e6:.0f} MB, built in {image.build_seconds:.0f} s "
        f"(base {image.base}: {'cached' if not image.base_seconds else f'{image.base_seconds:.0f} s'})"
    )
    return image


# Runs argv[1:] with this process's stdin and prints its wall time on stderr after a marker: the time of the
# resource script itself, without the container set-up (which vfs makes slow: it copies the whole rootfs).
_MARK = "shiplane-test-seconds="
_TIMED = (
    "import subprocess, sys, time\n"
    "start = time.monotonic()\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    f"print('\\n{_MARK}' + format(time.monotonic() - start, '.3f'), file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def run_resource(
    image: BuiltImage,
    script: str,
    payload: dict[str, Any],
    *,
    workdir: Path | None = None,
    env: dict[str, str] | None = None,
) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run /opt/resource/<script> inside the image as Concourse does; return the process and the script's time."""
    argv = ["python3", "-c", _TIMED, f"/opt/resource/{script}"]
    volumes = {}
    if workdir is not None:
        volumes[str(workdir)] = "/tmp/build/work"
        argv.append("/tmp/build/work")
    result = run_in_image(image.name, argv, stdin=json.dumps(payload), env=env, volumes=volumes)
    # buildah adds its own lines after a failing command ("Error: exit status 1"); the script's stderr is before.
    script_stderr, _, timing = result.stderr.partition(f"\n{_MARK}")
    result.stderr = script_stderr
    return result, float(timing.split()[0])


def response(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, f"exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return json.loads(result.stdout)


def test_image_contents(built_image: BuiltImage) -> None:
    result = run_in_image(
        built_image.name,
        [
            "sh", "-c",
            "for s in check in out; do test -x /opt/resource/$s || echo missing $s; done;"
            "command -v skopeo umoci shiplane >/dev/null || echo missing tools;"
            "command -v gcc cc pip >/dev/null && echo has build tools;"
            "test -d /root/.cache/pip && echo has pip cache;"
            "ls /var/lib/apt/lists | grep -v -e lock -e partial | head -1;"
            "shiplane --help >/dev/null || echo shiplane broken",
        ],
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "", f"unexpected image contents:\n{result.stdout}"
    inspected = json.loads(
        subprocess.run(
            [*BUILDAH, "inspect", "--type", "image", built_image.name], capture_output=True, text=True, check=True
        ).stdout
    )
    labels = inspected["OCIv1"]["config"]["Labels"]
    for key in ("source", "version", "licenses", "title"):
        assert labels.get(f"org.opencontainers.image.{key}"), f"missing OCI label {key}"
    # Keep the image small: the figure is printed by the fixture; this bound catches a regression (a pip cache, a
    # compiler, the lax schema copies) well before it reaches a user.
    assert built_image.size_bytes < 300e6, f"image grew to {built_image.size_bytes / 1e6:.0f} MB"


def test_check_inside_the_image(built_image: BuiltImage, harbor: Any, images: Any) -> None:
    harbor.create_project("team")
    passing = harbor.push(images.build("image-check-1"), "team/app", "1.0.0")
    harbor.rescan("team/app", passing, Outcome.severity("Low"))
    failing = harbor.push(images.build("image-check-2"), "team/app", "1.1.0")
    harbor.rescan("team/app", failing, Outcome.severity("Critical"))
    harbor.complete_scans()
    harbor.reset_requests()
    source = harbor.source("team/app", semver=True)
    result, seconds = run_resource(built_image, "check", {"source": source, "version": None})
    print(f"\ncheck inside the image: {seconds:.2f} s (the check process, first run in a fresh container)")
    assert response(result) == [{"tag": "1.0.0", "digest": passing}]
    assert "1.1.0" in result.stderr and "Critical" in result.stderr  # why 1.1.0 was held back
    assert ADMIN_PASSWORD not in result.stdout + result.stderr


def test_get_rootfs_inside_the_image(built_image: BuiltImage, harbor: Any, images: Any, tmp_path: Path) -> None:
    harbor.create_project("team")
    image = images.build("image-get", files={"etc/greeting": "hello from the gate"}, env={"GREETING": "hi"})
    digest = harbor.push(image, "team/app", "2.0.0")
    harbor.rescan("team/app", digest, Outcome.clean())
    harbor.complete_scans()
    dest = tmp_path / "get"
    dest.mkdir()
    payload = {"source": harbor.source("team/app", tag="2.0.0"), "version": {"tag": "2.0.0", "digest": digest}}
    result, _ = run_resource(built_image, "in", payload, workdir=dest, env=BUILD_ENV)
    out = response(result)
    assert out["version"] == {"tag": "2.0.0", "digest": digest}
    assert (dest / "rootfs" / "etc" / "greeting").read_text() == "hello from the gate"
    assert "GREETING=hi" in json.loads((dest / "metadata.json").read_text())["env"]
    assert (dest / "digest").read_text().strip() == digest
    assert json.loads((dest / "scan_overview.json").read_text())  # the scan report summary is written
    assert ADMIN_PASSWORD not in result.stdout + result.stderr


def test_put_promotes_on_pass_inside_the_image(
    built_image: BuiltImage, harbor: Any, images: Any, tmp_path: Path
) -> None:
    harbor.create_project("team")
    harbor.scanner.set_default(Outcome.severity("Medium"))
    src = tmp_path / "put"
    (src / "image").mkdir(parents=True)
    shutil.copy(images.docker_archive(images.build("image-put")), src / "image" / "image.tar")
    payload = {
        "source": harbor.source("team/app", semver=True),
        "params": {"image": "image/image.tar", "version": "v3.1.0"},
    }
    result, _ = run_resource(built_image, "out", payload, workdir=src, env=BUILD_ENV)
    out = response(result)
    assert out["version"]["tag"] == "3.1.0"
    assert harbor.tags("team/app") == {"3.1.0": out["version"]["digest"]}

    # A build whose scan fails the gate gets no tag at all.
    harbor.scanner.set_default(
        Outcome(vulnerabilities=(Vulnerability("CVE-2026-0001", "Critical", package="openssl", fix_version="3.0.9"),))
    )
    shutil.copy(images.docker_archive(images.build("image-put-vulnerable")), src / "image" / "image.tar")
    payload["params"]["version"] = "3.2.0"
    failed, _ = run_resource(built_image, "out", payload, workdir=src, env=BUILD_ENV)
    assert failed.returncode == 1 and failed.stdout == ""
    assert "CVE-2026-0001" in failed.stderr
    assert "3.2.0" not in harbor.tags("team/app")


def test_render_task_runs_inside_the_image(built_image: BuiltImage, tmp_path: Path) -> None:
    """The meta pipeline's render task runs `shiplane render` in this image."""
    work = tmp_path / "fleet"
    shutil.copytree(ROOT / "examples" / "petclinic", work)
    result = run_in_image(
        built_image.name,
        ["shiplane", "render", "/fleet/shiplane.yaml", "--out", "/fleet/rendered"],
        volumes={str(work): "/fleet"},
    )
    assert result.returncode == 0, result.stderr
    assert (work / "rendered" / "concourse" / "petclinic.yml").is_file()
    assert (work / "rendered" / "spinnaker" / "petclinic" / "deploy-prod.json").is_file()

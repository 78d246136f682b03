"""Build the harbor-image container image for real, with buildah, without Docker Hub.

The Dockerfile's `ARG BASE` defaults to python:3.11-slim-bookworm from Docker Hub, which this machine (and CI)
cannot reach. The tests make an equivalent base instead: `debootstrap --variant=minbase bookworm` with python3,
python3-venv and ca-certificates, trimmed of docs, locales and apt caches, imported with `buildah from scratch`,
`buildah copy`, `buildah commit`. The base is tagged with a hash of its recipe and reused while the recipe is
unchanged, so only the first run on a machine pays for debootstrap (about a minute). The Debian mirror is the one
this machine's apt is configured with (`fixtures.aptsources`).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from fixtures import tools
from fixtures.aptsources import debian_mirror

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfiles" / "harbor-image.Dockerfile"
BUILDAH = ("buildah", "--storage-driver", "vfs")
SUITE = "bookworm"
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates")
# Removed from the debootstrapped tree: nothing in it is used at run time.
TRIM = (
    "var/cache/apt/archives",
    "var/lib/apt/lists",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/lib/x86_64-linux-gnu/gconv",  # glibc iconv modules; Python's codecs don't use them
)


def _run(*args: str, timeout: float = 900, **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:4])}… failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result  # type: ignore[no-any-return]


def base_recipe_hash() -> str:
    recipe = "\n".join([SUITE, "minbase", *BASE_PACKAGES, *TRIM, "locale-trim-v1"])
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def image_exists(name: str) -> bool:
    inspected = subprocess.run([*BUILDAH, "inspect", "--type", "image", name], capture_output=True, check=False)
    return inspected.returncode == 0


def ensure_base() -> tuple[str, float]:
    """The base image's name, and the seconds spent making it (0 when it was cached)."""
    name = f"localhost/shiplane-base:{SUITE}-{base_recipe_hash()}"
    if image_exists(name):
        return name, 0.0
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="shiplane-base-") as temp:
        rootfs = Path(temp) / "rootfs"
        # The mirror this machine's apt uses (DEBIAN_MIRROR overrides it); debootstrap lives in /usr/sbin.
        _run(
            tools.find("debootstrap") or "debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}",
            SUITE, str(rootfs), debian_mirror(SUITE), timeout=1200,
        )
        for relative in TRIM:
            target = rootfs / relative
            if target.is_dir():
                for child in target.iterdir():
                    if child.is_dir() and not child.is_symlink():
                        shutil.rmtree(child)
                    else:
                        child.unlink()
        locales = rootfs / "usr/share/locale"
        for child in locales.iterdir() if locales.is_dir() else ():
            if child.is_dir():
                shutil.rmtree(child)
        container = _run(*BUILDAH, "from", "scratch").stdout.strip()
        try:
            _run(*BUILDAH, "copy", "--quiet", container, str(rootfs), "/")
            _run(
                *BUILDAH, "config",
                "--env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "--env", "LANG=C.UTF-8",
                "--cmd", "/bin/bash",
                container,
            )
            _run(*BUILDAH, "commit", "--quiet", container, name)
        finally:
            subprocess.run([*BUILDAH, "rm", container], capture_output=True, check=False)
    return name, time.monotonic() - started


@dataclass(frozen=True)
class BuiltImage:
    name: str
    base: str
    base_seconds: float
    build_seconds: float
    size_bytes: int


def build_image(tag: str = "localhost/harbor-image:test", dockerfile: Path = DOCKERFILE) -> BuiltImage:
    """Build ``dockerfile`` (default Dockerfiles/harbor-image.Dockerfile) from the working tree on top of the
    debootstrapped base."""
    base, base_seconds = ensure_base()
    started = time.monotonic()
    _run(
        *BUILDAH, "bud", "--isolation", "chroot", "--layers=false", "--quiet",
        "--build-arg", f"BASE={base}",
        "--volume", "/etc/ssl/certs:/etc/ssl/certs:ro",
        "--file", str(dockerfile), "--tag", tag, str(ROOT),
        timeout=1800,
    )
    build_seconds = time.monotonic() - started
    return BuiltImage(tag, base, base_seconds, build_seconds, image_size(tag))


def image_size(name: str) -> int:
    """Sum of the image's layer sizes (uncompressed), as `buildah images` reports it."""
    out = _run(*BUILDAH, "images", "--format", "{{.Size}}", "--noheading", name).stdout.strip()
    number, _, unit = out.partition(" ")
    scale = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9}.get(unit.strip(), 1)
    return int(float(number) * scale)


def run_in_image(
    image: str, argv: list[str], *, stdin: str = "", env: dict[str, str] | None = None,
    volumes: dict[str, str] | None = None, timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """Run `argv` inside a fresh container of `image` (host network, chroot isolation), then remove it."""
    container = _run(*BUILDAH, "from", "--quiet", image).stdout.strip()
    try:
        command = [*BUILDAH, "run", "--isolation", "chroot", "--network", "host"]
        for key, value in (env or {}).items():
            command += ["--env", f"{key}={value}"]
        for host, inside in (volumes or {}).items():
            command += ["--volume", f"{host}:{inside}"]
        command += [container, "--", *argv]
        return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=timeout, check=False)
    finally:
        subprocess.run([*BUILDAH, "rm", container], capture_output=True, check=False)

"""Image transport through ``skopeo`` (push, pull, copy) and unpacking through ``umoci``.

Credentials never go on a command line (``ps`` would show them) and never rest on disk: the authfile exists only
while one skopeo runs. On Linux it is an anonymous ``memfd`` passed to skopeo as ``/proc/self/fd/N`` (the explicit
``--authfile`` override of containers-auth.json(5), only read by copy/inspect; tests/resource/test_resource_hardening
shows skopeo authenticating through it against the real registry). A memfd has no path: it is gone when the last
process holding it exits, even after SIGKILL. Elsewhere it is a 0600 file in a private 0700 directory
(under ``/dev/shm`` when there is one, so it never reaches a disk) written before and removed after each call.
``ca_certs`` are written to a temporary certificate directory for ``--src-cert-dir``/``--dest-cert-dir``;
``insecure`` becomes ``--*-tls-verify=false``. skopeo's output is captured and logged (redacted) on stderr, so
stdout only ever carries the resource's JSON.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
import time
from base64 import b64encode
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Literal, NamedTuple

from harbor_image.errors import ResourceError, one_line
from harbor_image.log import Log
from harbor_image.wire import Source

Side = Literal["src", "dest"]
SHM = "/dev/shm"  # noqa: S108 - tmpfs; mkdtemp makes a private 0700 directory in it
AUTHFILE = "\x00authfile\x00"  # stands for the per-call authfile path in an argument list


class Skopeo:
    """Runs skopeo against ``source``'s registry with private auth and certificate files."""

    def __init__(self, source: Source, log: Log, deadline: float, binary: str = "skopeo") -> None:
        self.source = source
        self.log = log
        self.deadline = deadline
        self.binary = binary
        self.private = tempfile.mkdtemp(prefix="harbor-image-")
        os.chmod(self.private, 0o700)
        self._auth: bytes | None = None
        if source.username is not None and source.password is not None:
            token = b64encode(f"{source.username}:{source.password}".encode()).decode("ascii")
            self._auth = json.dumps({"auths": {source.host: {"auth": token}}}).encode()
            log.add_secret(source.password, source.username)
            log.add_secret(token)
        self.cert_dir: str | None = None
        if source.ca_certs and not source.insecure:
            self.cert_dir = os.path.join(self.private, "certs")
            os.mkdir(self.cert_dir, 0o700)
            for index, pem in enumerate(source.ca_certs):
                with open(os.path.join(self.cert_dir, f"ca-{index}.crt"), "w", encoding="utf-8") as handle:
                    handle.write(pem.strip() + "\n")

    def __enter__(self) -> Skopeo:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        shutil.rmtree(self.private, ignore_errors=True)

    def reference(self, suffix: str) -> str:
        """``docker://host/project/name`` + ``@sha256:…`` or ``:tag``."""
        return f"docker://{self.source.host}/{self.source.repository}{suffix}"

    @property
    def authenticated(self) -> bool:
        return self._auth is not None

    @contextmanager
    def _authfile(self) -> Iterator[tuple[str | None, tuple[int, ...]]]:
        """The authfile path for one skopeo call and the descriptors to pass; nothing is left after the call."""
        if self._auth is None:
            yield None, ()
            return
        if hasattr(os, "memfd_create"):
            fd = os.memfd_create("harbor-image-auth", 0)
            try:
                os.write(fd, self._auth)
                yield f"/proc/self/fd/{fd}", (fd,)
            finally:
                os.close(fd)
            return
        parent = SHM if os.path.isdir(SHM) and os.access(SHM, os.W_OK) else None
        directory = tempfile.mkdtemp(prefix="harbor-image-auth-", dir=parent)
        path = os.path.join(directory, "auth.json")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(self._auth)
            yield path, ()
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    def registry_flags(self, side: Side) -> list[str]:
        flags = []
        if self._auth is not None:
            flags.append(f"--{side}-authfile={AUTHFILE}")
        else:
            flags.append(f"--{side}-no-creds")
        if self.source.insecure or self.source.scheme == "http":
            flags.append(f"--{side}-tls-verify=false")
        elif self.cert_dir is not None:
            flags.append(f"--{side}-cert-dir={self.cert_dir}")
        return flags

    def copy(
        self,
        source_ref: str,
        dest_ref: str,
        *,
        multi_arch: str | None = None,
        preserve_digests: bool = False,
        what: str,
    ) -> str:
        """``skopeo copy``; registry flags are added for each ``docker://`` side. Returns skopeo's output."""
        args = [self.binary, "copy"]
        if source_ref.startswith("docker://"):
            args += self.registry_flags("src")
        if dest_ref.startswith("docker://"):
            args += self.registry_flags("dest")
        if multi_arch:
            args.append(f"--multi-arch={multi_arch}")
        if preserve_digests:
            args.append("--preserve-digests")
        args += [source_ref, dest_ref]
        return self.run(args, what)

    def run(self, args: list[str], what: str) -> str:
        """Run skopeo; retry (twice, 1 s then 3 s) only what looks transient — skopeo's own --retry-times also
        retries permanent answers such as an immutable tag (412), which only delays the error."""
        for delay in RETRY_DELAYS:
            try:
                return self._run_once(args, what)
            except _Transient as problem:
                if time.monotonic() + delay >= self.deadline:
                    raise ResourceError(str(problem)) from None
                self.log.info(f"{problem}; retrying in {delay:.0f}s")
                time.sleep(delay)
        try:
            return self._run_once(args, what)
        except _Transient as problem:
            raise ResourceError(str(problem)) from None

    def _run_once(self, args: list[str], what: str) -> str:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise ResourceError(f"{what}: the command's deadline passed")
        env = dict(os.environ)
        env.pop("REGISTRY_AUTH_FILE", None)
        env["HOME"] = self.private  # no ~/.docker/config.json or containers/auth.json from the worker
        env["XDG_RUNTIME_DIR"] = self.private
        try:
            with self._authfile() as (authfile, fds):
                argv = [arg.replace(AUTHFILE, authfile or "") for arg in args]
                self.log.debug("running " + " ".join(argv))
                done = subprocess.run(
                    argv, capture_output=True, text=True, timeout=remaining, env=env, check=False, pass_fds=fds
                )
        except FileNotFoundError:
            raise ResourceError(f"{what}: {args[0]} is not installed (the resource image ships it)") from None
        except subprocess.TimeoutExpired:
            raise ResourceError(f"{what}: {args[0]} did not finish before the command's deadline") from None
        output = (done.stdout + done.stderr).strip()
        for line in output.splitlines():
            self.log.debug(f"{args[0]}: {line}")
        if done.returncode != 0:
            said = self.log.redact(done.stderr or done.stdout)  # before explain() reformats and cuts it
            message = f"{what}: {explain(said)}"
            if transient(said):
                raise _Transient(message)
            raise ResourceError(message)
        return output


RETRY_DELAYS = (1.0, 3.0)

# How skopeo (containers/image) reports a registry's answer, verified against skopeo 1.9 talking to the Harbor
# double: a registry error body becomes "<code>: <message>" with the code lower-cased (distribution's
# registry/api/errcode: TOOMANYREQUESTS → "toomanyrequests", DENIED → "denied", UNAUTHORIZED → "unauthorized",
# MANIFEST_UNKNOWN → "manifest unknown"; a code distribution does not register, such as Harbor's PRECONDITION or
# PROJECTPOLICYVIOLATION, becomes "unknown: <Harbor's message>"); a body without one becomes
# "StatusCode: 429, <body>" (containers/image docker/errors.go registryHTTPResponseToError) or "received unexpected
# HTTP status: 502 Bad Gateway" (distribution registry/client/errors.go UnexpectedHTTPStatusError). Statuses are
# only ever read from those phrases, never from bare digits (a port such as 41234 is not a 412).
_STATUS = re.compile(r"(?:StatusCode: |received unexpected HTTP status: |unexpected http code )(\d{3})", re.I)
_CODE = re.compile(r"(?:^|[\s:\"])(toomanyrequests|unauthorized|denied|manifest unknown|name unknown|blob unknown|"
                   r"name invalid|manifest invalid|unsupported|unknown)(?:[:\"]|\s*$)", re.I | re.M)  # fmt: skip
_PHRASES = {
    "Too Many Requests": 429,
    "Bad Gateway": 502,
    "Service Unavailable": 503,
    "Service Temporarily Unavailable": 503,
    "Gateway Timeout": 504,
    "Gateway Time-out": 504,
    "Precondition Failed": 412,
}
_TRANSIENT_STATUS = frozenset({429, 502, 503, 504})
_NETWORK = (
    "connection refused",
    "connection reset",
    "broken pipe",
    "i/o timeout",
    "tls handshake timeout",
    "timeout awaiting",
    "unexpected eof",
    ": eof",
    "no such host",
)
_IMMUTABLE = "configured as immutable"  # Harbor's message (server/middleware/immutable, controller/tag Ensure)
_POLICY = "cannot be pulled due to configured policy"  # server/middleware/vulnerable PROJECTPOLICYVIOLATION


class _Transient(Exception):
    """A skopeo failure worth another attempt (network, 429/502/503/504)."""


class Classified(NamedTuple):
    """What a skopeo failure means: the registry's error code, the HTTP status (from a status phrase) or a
    network failure."""

    code: str | None
    status: int | None
    network: bool


def classify(stderr: str) -> Classified:
    """skopeo's error text → the registry error code, the HTTP status and whether the network failed."""
    code_match = _CODE.search(stderr)
    code = code_match.group(1).lower() if code_match else None
    status_match = _STATUS.search(stderr)
    status = int(status_match.group(1)) if status_match else None
    if status is None:
        status = next((number for phrase, number in _PHRASES.items() if phrase.lower() in stderr.lower()), None)
    if code == "toomanyrequests":
        status = 429
    lowered = stderr.lower()
    network = code is None and status is None and any(n in lowered for n in _NETWORK)
    return Classified(code, status, network)


def transient(stderr: str) -> bool:
    """Worth retrying: 429 (toomanyrequests), 502/503/504, or a network failure — never a permanent answer."""
    found = classify(stderr)
    if found.code in ("unauthorized", "denied", "manifest unknown", "name unknown", "blob unknown"):
        return False
    if "x509" in stderr.lower() or _IMMUTABLE in stderr or _POLICY in stderr:
        return False
    return found.network or found.status in _TRANSIENT_STATUS


def explain(stderr: str) -> str:
    """skopeo's error as one line, with the likely cause first."""
    text = one_line(stderr.strip().splitlines()[-1] if stderr.strip() else "skopeo failed without a message")
    found = classify(stderr)
    lowered = stderr.lower()
    if _IMMUTABLE in stderr:
        return f"the tag is immutable in Harbor (412): {text}; use another tag or ask a project admin"
    if _POLICY in stderr:
        return (
            f"Harbor refuses to serve the image: the project's pull policy (prevent_vul) blocks it (412 "
            f"PROJECTPOLICYVIOLATION): {text}"
        )
    if found.status == 429:
        return f"the registry is rate-limiting (429 Too Many Requests): {text}"
    if found.code == "unauthorized" or found.status == 401:
        return f"the registry refused the credentials: {text}; check source.username and source.password"
    if found.code == "denied" or found.status == 403:
        return f"the registry denied access: {text}; the account needs repository:pull and repository:push"
    if found.code in ("manifest unknown", "name unknown", "blob unknown") or found.status == 404:
        return f"not found in the registry: {text}"
    if "x509" in lowered or "certificate" in lowered:
        return f"TLS verification failed: {text}; add Harbor's CA to source.ca_certs"
    if found.status == 412:
        return f"Harbor refused it (412 Precondition Failed): {text}"
    if found.network:
        return f"cannot reach the registry: {text}"
    return text


def unpack_rootfs(layout: str, ref: str, rootfs: str, log: Log, deadline: float) -> None:
    """``umoci raw unpack`` (``--rootless`` when not root) of ``layout:ref`` into ``rootfs``, then
    :func:`sanitise_rootfs` and, rootless, :func:`remove_rootless_placeholders`: no device node (nor the empty file
    umoci writes in its place) and no setuid/setgid file survives, as root or not."""
    args = ["umoci", "raw", "unpack"]
    if os.geteuid() != 0:
        args.append("--rootless")
    args += ["--image", f"{layout}:{ref}", rootfs]
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise ResourceError("unpacking the image: the command's deadline passed")
    log.debug("running " + " ".join(args))
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=remaining, check=False)
    except FileNotFoundError:
        raise ResourceError("unpacking the image: umoci is not installed (the resource image ships it)") from None
    except subprocess.TimeoutExpired:
        raise ResourceError("unpacking the image: umoci did not finish before the command's deadline") from None
    if done.returncode != 0:
        raise ResourceError(f"unpacking the image: {one_line(log.redact(done.stderr or done.stdout))}")
    removed, cleared = sanitise_rootfs(rootfs)
    removed += remove_rootless_placeholders(rootfs, done.stderr)
    if removed or cleared:
        log.info(
            f"rootfs: removed {removed} device node(s) and cleared setuid/setgid on {cleared} file(s) "
            f"(a fetched image never gets them)"
        )


# umoci cannot mknod(2) without root: with --rootless it writes an empty regular file (the header's mode, so 0666 for
# a /dev/mem look-alike) in place of each character or block device and logs
# "rootless{NAME} creating empty file in place of device MAJOR:MINOR" (opencontainers/umoci oci/layer/tar_extract.go,
# unpackEntry, case tar.TypeChar/TypeBlock with partialRootless; umoci 0.4.7 in Debian 12 prints the same line).
_ROOTLESS_PLACEHOLDER = re.compile(r"rootless\{(?P<name>.+)\} creating empty file in place of device \d+:\d+\s*$")


def remove_rootless_placeholders(rootfs: str, umoci_stderr: str) -> int:
    """Remove the empty files a rootless ``umoci raw unpack`` wrote in place of device nodes; returns how many.

    Best effort, and safe either way: a placeholder is an empty regular file, never a device, so one left behind
    grants nothing. The names come from umoci's log, which the image's tar names can shape (a name holding a newline
    prints a line of its own; umoci resolves a parent symlink with SecureJoin, this with the host's rules): at worst
    another empty regular file of the image goes or a placeholder stays — never anything outside ``rootfs``.

    ``umoci_stderr`` is umoci's log (the names come from its warnings). A placeholder is removed only when it is
    still an empty regular file inside ``rootfs`` (a later layer may have put a real file there); parent directories
    are resolved and must stay under ``rootfs``, the last component is never followed."""
    root = os.path.realpath(rootfs)
    removed = 0
    for line in umoci_stderr.splitlines():
        found = _ROOTLESS_PLACEHOLDER.search(line)
        if not found:
            continue
        relative = os.path.normpath(found.group("name").lstrip("/"))
        parent = os.path.realpath(os.path.join(root, os.path.dirname(relative)))
        if relative.startswith("..") or os.path.commonpath([root, parent]) != root:
            continue
        path = os.path.join(parent, os.path.basename(relative))
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode) and info.st_size == 0:
            os.unlink(path)
            removed += 1
    return removed


def sanitise_rootfs(rootfs: str) -> tuple[int, int]:
    """Remove device nodes and clear setuid/setgid bits of files under ``rootfs``; returns (removed, cleared).

    A task image is run by Concourse with the rootfs as its filesystem: a world-writable device node (a ``/dev/mem``
    look-alike) or a setuid-root binary from a hostile image must not reach it. Directories keep their setgid bit
    (group inheritance, not a privilege). Nothing is followed through symbolic links (``os.walk`` and ``lstat``).
    """
    removed = cleared = 0
    privileged = stat.S_ISUID | stat.S_ISGID
    for directory, subdirectories, files in os.walk(rootfs):
        for name in (*files, *subdirectories):
            path = os.path.join(directory, name)
            info = os.lstat(path)
            if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode):
                os.unlink(path)
                removed += 1
            elif stat.S_ISREG(info.st_mode) and info.st_mode & privileged:
                os.chmod(path, stat.S_IMODE(info.st_mode) & ~privileged)
                cleared += 1
    return removed, cleared

"""Seeded fuzzing of the three executables (check, in, out) and the promises each run must keep.

Shared by ``tests/resource/test_resource_fuzz.py`` (≥ 5,000 cases, asserts nothing is broken) and
``benchmarks/resource_hardening.py`` (prints cases tried / promises broken per kind, for any copy of the code).

Cases run in worker processes (``python fuzzing.py worker``) that call the executables' own entry point
(``harbor_image.cli._main``) in-process with stdin/stdout/stderr replaced — the same code the console scripts run,
~1,000 times faster than a process per case. A worker that does not answer within :data:`CASE_TIMEOUT` seconds is
killed and the case counts as a hang. Each worker runs a :class:`fault_server.FaultServer` on 127.0.0.1 whose
answer the case chooses (a 401 echoing the password in some encoding, garbage JSON, a huge body, a tag list for
``tag_regex``); the command deadline is shortened to :data:`COMMAND_DEADLINE` seconds. Nothing leaves 127.0.0.1.

Kinds: ``bad-input`` (mutated payloads), ``secret-echo`` (a server echoing the password), ``paths`` (out's
``image``/``additional_tags`` at hostile files), ``hostile-server`` (answers that are not what Harbor sends),
``regex`` (catastrophic ``tag_regex`` against long tags).

Promises checked per run: a failure exits 1 with exactly one line on stderr and nothing on stdout (a success prints
one JSON document); never ``internal error`` or a traceback; no raw control character (ESC, NUL, CR) on stderr;
the line is at most :data:`MAX_LINE` characters; no form of the password and no content of a file outside the
put's directory appears; the run ends within the timeout; a payload refused while decoding writes nothing to DEST.
"""

from __future__ import annotations

import base64
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
CASE_TIMEOUT = 8.0
COMMAND_DEADLINE = 3.0
MAX_LINE = 1500
CANARY = "CANARY-outside-content-7f3a"
KINDS = ("bad-input", "secret-echo", "paths", "hostile-server", "regex")
SHARE = {"bad-input": 0.55, "secret-echo": 0.22, "paths": 0.1, "hostile-server": 0.08, "regex": 0.05}
DIGEST = "sha256:" + "ab" * 32


@dataclass
class Case:
    kind: str
    command: str  # check, in, out
    payload: str  # stdin text (may be invalid JSON); "\udcxx" escapes stand for raw bytes (surrogateescape)
    secrets: list[str] = field(default_factory=list)
    answer: dict[str, Any] = field(default_factory=dict)  # what the fault server answers
    path_params: bool = False


# -- generation ------------------------------------------------------------------------------------------------

HOSTILE_STRINGS = [
    "", " ", "\n", "a\nb", "\x1b[31mred\x1b[0m", "\x00", "\r\n", "\u2028", "\ud800", "a\udfffb", "é", "😀",
    "x" * 5000, "../../etc/passwd", "/etc/shadow", "%00", "$(id)", "`id`", "'\"", "\\", "\t", "\x7f", "\x9b31m",
    "1e999", "-1", "0", "null", "{}", "[]", "*", "**/*", "[", "image/[", "~", "\ufeff",
]
HOSTILE_VALUES: list[Any] = [
    None, True, False, 0, -1, 1.5, 10**30, 1e308, [], {}, [1, 2], {"a": 1}, [[[[[]]]]], {"": {"": {}}},
    *HOSTILE_STRINGS,
]
URLS = [
    "https://h:99999", "https://h:abc", "http://[::1", "https://h\x00x", "https://" + "a" * 64 + ".com",
    "https://" + ".".join(["a" * 60] * 6), "https://h:0", "https://h:-1", "ftp://h", "https://", "https://u:p@h",
    "https://h/path", "https://h?q=1", "https://h#f", "https:// h", "https://h\nx", "https://xn--", "https://é.com",
    "https://[::1]:99999", "https://h:65536", "//h", "h", "https://h:", "https://\x1b[2Jh", "https://h\u2028",
]
TAGS = ["", ".x", "-x", "a" * 129, "a/b", "a:b", "a\nb", "é", "\ud800", "..", "x y", "\x1b[1m"]
DIGESTS = ["", "sha256:", "sha256:xyz", "md5:" + "a" * 32, "sha256:" + "a" * 64 + "\n", "\ud800", DIGEST + "/"]
PASSWORD_PARTS = [
    "correct horse  battery staple", "p@ss w0rd!", "é€😀", "\"quoted\"", "back\\slash", "per%cent+plus",
    "<html>&amp;", "tab\there", "new\nline", "robot$secret", "ünïcödé", "a" * 70, "  leading", "trailing  ",
    "/slash/", "{json}", "日本語パスワード",
]
REGEXES_EVIL = ["(1+)+", "(a|a)*x", "(a*)*b", "(.*a){12}", "((1|11)+)+", "(\\d+)+$", "(x+x+)+y", "^(1|1?)+$"]
REGEXES_OK = ["[0-9]+(\\.[0-9]+)*", "v?\\d+\\.\\d+\\.\\d+", "1\\..*", "latest|stable", "(a|b)+", ".*"]
LONG_TAGS = ["1" * 60 + "x", "a" * 40 + "!x", "1" * 100 + "y", "11111111111111111111111111111111111111"]


def password(rng: random.Random) -> str:
    return "".join(rng.sample(PASSWORD_PARTS, rng.randint(1, 3))) + str(rng.randint(100, 999))


def base_source(rng: random.Random, url: str, secret: str | None) -> dict[str, Any]:
    source: dict[str, Any] = {"url": url, "repository": "team/app", "insecure": True}
    if secret is not None:
        source["username"] = rng.choice(["robot$team+ci", "admin", "user name"])
        source["password"] = secret
    return source


def base_payload(rng: random.Random, command: str, url: str, secret: str | None) -> dict[str, Any]:
    payload: dict[str, Any] = {"source": base_source(rng, url, secret)}
    if command == "in":
        payload["version"] = {"tag": "1.0.0", "digest": DIGEST}
        payload["params"] = {"format": rng.choice(["rootfs", "oci", "oci-layout"])}
    elif command == "out":
        payload["params"] = {"image": "image/missing.tar", "version": "1.0.0"}
    elif rng.random() < 0.5:
        payload["version"] = {"tag": "1.0.0", "digest": DIGEST}
    return payload


def _set(target: dict[str, Any], path: list[str], value: Any) -> None:
    for key in path[:-1]:
        child = target.get(key)
        if not isinstance(child, dict):
            child = {}
            target[key] = child
        target = child
    target[path[-1]] = value


MUTATION_PATHS = [
    ["source", "url"], ["source", "repository"], ["source", "username"], ["source", "password"], ["source", "tag"],
    ["source", "tag_regex"], ["source", "semver"], ["source", "semver_constraint"], ["source", "pre_releases"],
    ["source", "pre_release_prefixes"], ["source", "scan"], ["source", "scan", "fail_on"],
    ["source", "scan", "timeout"], ["source", "scan", "allowlist"], ["source", "ca_certs"], ["source", "insecure"],
    ["source", "debug"], ["version"], ["version", "tag"], ["version", "digest"], ["params"], ["params", "format"],
    ["params", "image"], ["params", "additional_tags"], ["params", "tag_prefix"], ["params", "version"],
    ["params", "scan", "timeout"], ["params", "skip_download"], ["source"],
]


def mutate(rng: random.Random, payload: dict[str, Any]) -> str:
    """A payload made wrong in one to three places, or raw text that is not a payload at all."""
    roll = rng.random()
    if roll < 0.08:
        depth = rng.choice([100, 500, 1000, 5000])
        return rng.choice(['{"source": ', "[", '{"a": ']) * depth + "1" + rng.choice(["}", "]"]) * depth
    if roll < 0.14:
        text = json.dumps(payload)
        cut = rng.randint(0, len(text))
        return rng.choice([text[:cut], text[:cut] + "\udcff" + text[cut:], "\ufeff" + text, text + "garbage",
                           "", "null", "[]", "1e999999", '"\\ud800"', text.replace('"', "'")])  # fmt: skip
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(MUTATION_PATHS)
        choice = rng.random()
        if path[-1] == "url" and choice < 0.6:
            value: Any = rng.choice(URLS)
        elif path[-1] == "tag" and choice < 0.6:
            value = rng.choice(TAGS)
        elif path[-1] == "digest" and choice < 0.6:
            value = rng.choice(DIGESTS)
        elif path[-1] == "tag_regex" and choice < 0.5:
            value = rng.choice(["(", "[", "(?P<", "*", "a{99999999999}", "(" * 3000 + ")" * 3000, "\\", "(?<=a+)b"])
        elif path[-1] == "timeout" and choice < 0.6:
            value = rng.choice(["1e309h", "-5m", "0s", "9" * 400 + "h", "10", "10 m", "1h1h1h", "nan", "\x1bm"])
        elif choice < 0.75:
            value = rng.choice(HOSTILE_VALUES)
        else:
            key = rng.choice(["tag_regx", "\x1b[31mevil", "a\nb", "x" * 300, "\ud800", "ok"])
            value = rng.choice(HOSTILE_VALUES)
            path = [*path[:-1], key]
        if rng.random() < 0.1:
            _set(payload, ["source", *[f"extra{i}\x1b" for i in range(rng.randint(1, 40))][:1]], 1)
        _set(payload, path, value)
    return json.dumps(payload, ensure_ascii=rng.random() < 0.5)


def echo_body(rng: random.Random, secret: str, username: str) -> bytes:
    basic = base64.b64encode(f"{username}:{secret}".encode()).decode()
    forms = [
        secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1], repr(secret)[1:-1],
        quote(secret, safe=""), quote(secret, safe="").lower(), quote(secret, safe="").replace("%20", "+"),
        basic, basic.rstrip("="), " ".join(secret.split()), f"Basic {basic}", json.dumps(json.dumps(secret))[1:-1],
    ]  # fmt: skip
    form = rng.choice(forms)
    pad = "p" * rng.choice([0, 10, 560, 590, 598, 600, 605, 65_520])
    text = rng.choice(
        [
            json.dumps({"errors": [{"code": "UNAUTHORIZED", "message": f"{pad}bad credentials {form} for user"}]}),
            f"{pad}<html><body>denied: {form}</body></html>",
            f"{pad}password={form}",
            f"{pad}{form}"[:-rng.randint(1, 5)] if len(form) > 8 else f"{pad}{form}",
        ]
    )
    return text.encode("utf-8", "surrogatepass")


def generate(seed: int, count: int) -> list[Case]:
    rng = random.Random(seed)
    cases: list[Case] = []
    quotas = {kind: round(count * share) for kind, share in SHARE.items()}
    quotas["bad-input"] += count - sum(quotas.values())
    for kind, quota in quotas.items():
        for _ in range(quota):
            cases.append(_one(rng, kind))
    rng.shuffle(cases)
    return cases


def _one(rng: random.Random, kind: str) -> Case:
    command = rng.choice(["check", "in", "out"])
    url = "http://127.0.0.1:{port}"
    secret = password(rng)
    if kind == "bad-input":
        payload = base_payload(rng, command, url, secret)
        return Case(kind, command, mutate(rng, payload), [secret], {"status": 404, "body": "{}"})
    if kind == "secret-echo":
        payload = base_payload(rng, command, url, secret)
        body = echo_body(rng, secret, payload["source"]["username"])
        status = rng.choice([401, 403, 500, 400, 412])
        return Case(kind, command, json.dumps(payload), [secret], {"status": status, "body": body.decode("utf-8")})
    if kind == "paths":
        payload = base_payload(rng, "out", url, secret)
        params = payload["params"]
        params["image"] = rng.choice(
            ["/etc/hostname", "../outside", "image/link.tar", "image/zero", "image/fifo", "image/l*.tar",
             "image/not-json.tar", "image/no-digest.tar", "image/dir-not-layout", "image/*", "image/[", "nothing*"]
        )  # fmt: skip
        if rng.random() < 0.6:
            params["additional_tags"] = rng.choice(
                ["/etc/shadow", "../outside", "tags-link", "tags-fifo", "bad-tags", "binary-tags", "big-tags",
                 "image", "missing", "tags-zero"]
            )  # fmt: skip
            params.pop("version", None) if rng.random() < 0.3 else None
        return Case(kind, "out", json.dumps(payload), [secret, CANARY], {"status": 404, "body": "{}"}, True)
    if kind == "hostile-server":
        payload = base_payload(rng, command, url, secret)
        answer = rng.choice(
            [
                {"status": 200, "body": "not json"},
                {"status": 200, "body": "[" * 5000},
                {"status": 200, "body": json.dumps({"digest": 5, "tags": "x"})},
                {"status": 200, "body": json.dumps([{"digest": None}] * 3)},
                {"status": 200, "body": "\x1b[31m" + "a" * 2000},
                {"status": 500, "body": "\x1b]0;pwned\x07\r\nerror"},
                {"status": 404, "body": ""},
                {"status": 200, "body": json.dumps({"update_time": 5})},
                {"status": 302, "body": "", "headers": {"Location": "http://10.0.0.1/"}},
                {"kind": "huge-length"},
            ]
        )
        return Case(kind, command, json.dumps(payload), [secret], answer)
    payload = base_payload(rng, "check", url, secret)
    payload["source"]["tag_regex"] = rng.choice(REGEXES_EVIL + REGEXES_OK)
    payload.pop("version", None)
    tags = rng.sample(LONG_TAGS, 2)
    return Case(kind, "check", json.dumps(payload), [secret], {"regex_tags": tags})


# -- the worker ------------------------------------------------------------------------------------------------


def _harbor_lite(tags: list[str]) -> Any:
    """Answers for check in tag_regex mode: the repository, then one page of artifacts carrying ``tags``."""
    artifacts = [
        {
            "digest": "sha256:" + f"{i:02x}" * 32,
            "push_time": f"2026-01-0{i + 1}T00:00:00.000Z",
            "tags": [{"name": tag, "push_time": f"2026-01-0{i + 1}T00:00:00.000Z"}],
            "scan_overview": {},
        }
        for i, tag in enumerate(tags)
    ]

    def route(path: str) -> tuple[int, dict[str, str], bytes]:
        if path.split("?", maxsplit=1)[0].endswith("/artifacts"):
            return 200, {"X-Total-Count": str(len(artifacts))}, json.dumps(artifacts).encode()
        if path.split("?", maxsplit=1)[0].endswith("/repositories/app"):
            return 200, {}, json.dumps({"name": "team/app", "update_time": "2026-01-09T00:00:00.000Z"}).encode()
        return 404, {}, b'{"errors":[{"code":"NOT_FOUND","message":"not found"}]}'

    return route


def _prepare_src(root: Path) -> Path:
    """The put's directory with hostile entries, and a file outside it holding :data:`CANARY`."""
    src = root / "build"
    (src / "image" / "dir-not-layout").mkdir(parents=True)
    outside = root / "outside"
    outside.write_text(CANARY + "\n")
    (src / "tags-link").symlink_to(outside)
    (src / "image" / "link.tar").symlink_to(outside)
    (src / "image" / "zero").symlink_to("/dev/zero")
    (src / "tags-zero").symlink_to("/dev/zero")
    os.mkfifo(src / "image" / "fifo")
    os.mkfifo(src / "tags-fifo")
    (src / "bad-tags").write_text(CANARY + "\n")
    (src / "binary-tags").write_bytes(b"\xff\xfe" + CANARY.encode())
    (src / "big-tags").write_text(("t " * 100_000) + CANARY)
    import tarfile

    for name, index in (("not-json.tar", b"{" + CANARY.encode()), ("no-digest.tar", b'{"manifests": [{"size": 1}]}')):
        with tarfile.open(src / "image" / name, "w") as tar:
            for member, data in (("oci-layout", b'{"imageLayoutVersion": "1.0.0"}'), ("index.json", index)):
                info = tarfile.TarInfo(member)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return src


def worker() -> None:
    """Reads cases (JSON lines) on stdin, runs each through cli._main, writes one JSON result line per case."""
    import harbor_image.cli as cli
    from fault_server import Fault, FaultServer

    try:
        import harbor_image.tagregex as tagregex

        tagregex.BUDGET = 0.2
    except ImportError:  # the code before issue 9
        pass
    cli.CHECK_DEADLINE = COMMAND_DEADLINE
    cli.TRANSFER_ALLOWANCE = COMMAND_DEADLINE
    root = Path(tempfile.mkdtemp(prefix="fuzz-"))
    os.environ["HARBOR_IMAGE_CACHE_DIR"] = str(root / "cache")
    os.environ["TMPDIR"] = str(root / "tmp")
    (root / "tmp").mkdir()
    tempfile.tempdir = None
    src = _prepare_src(root)
    server = FaultServer(Fault("status", status=404, body=b"{}"))
    bodies = {"check": cli._check, "in": cli._in, "out": cli._out}
    real = sys.stdin, sys.stdout, sys.stderr
    for line in real[0]:
        case = json.loads(line)
        answer = case["answer"]
        if "regex_tags" in answer:
            server.fault = Fault("route", route=_harbor_lite(answer["regex_tags"]))
        elif answer.get("kind"):
            server.fault = Fault(answer["kind"])
        else:
            server.fault = Fault(
                "status", status=answer["status"], body=answer["body"].encode("utf-8", "surrogatepass"),
                headers=answer.get("headers", {}),
            )  # fmt: skip
        dest = Path(tempfile.mkdtemp(dir=root))
        argv = {"check": ["check"], "in": ["in", str(dest)], "out": ["out", str(src)]}[case["command"]]
        payload = case["payload"].replace("{port}", str(server.port)).encode("utf-8", "surrogatepass")
        sys.stdin = io.TextIOWrapper(io.BytesIO(payload), encoding="utf-8")
        sys.stdout, sys.stderr = io.StringIO(), io.StringIO()
        started = time.monotonic()
        try:
            code: Any = cli._main(case["command"], argv, bodies[case["command"]])
        except BaseException as problem:
            code = f"escaped: {type(problem).__name__}"
        elapsed = time.monotonic() - started
        out, err = sys.stdout.getvalue(), sys.stderr.getvalue()
        sys.stdin, sys.stdout, sys.stderr = real
        written = sorted(p.name for p in dest.iterdir())
        result = {"code": code, "stdout": out, "stderr": err, "elapsed": elapsed, "dest": written}
        real[1].write(json.dumps(result) + "\n")
        real[1].flush()
        import shutil

        shutil.rmtree(dest, ignore_errors=True)


# -- the promises ----------------------------------------------------------------------------------------------


def secret_forms(secret: str) -> list[str]:
    forms = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1], repr(secret)[1:-1],
             quote(secret, safe=""), quote(secret, safe="").lower(), " ".join(secret.split())}  # fmt: skip
    for user in ("robot$team+ci", "admin", "user name"):
        basic = base64.b64encode(f"{user}:{secret}".encode()).decode()
        forms.update({basic, basic.rstrip("=")})
    return [f for f in forms if len(f) >= 6]


def broken(case: Case, result: dict[str, Any] | None) -> list[str]:
    """The promises this run broke (empty: all kept)."""
    if result is None:
        return ["hang"]
    problems = []
    code, out, err = result["code"], result["stdout"], result["stderr"]
    if not isinstance(code, int):
        problems.append("crash")
        return problems
    if code == 0:
        try:
            json.loads(out)
        except ValueError:
            problems.append("stdout")
    else:
        if code != 1:
            problems.append(f"exit-{code}")
        if out:
            problems.append("stdout")
        if len(err.splitlines()) != 1:
            problems.append("lines")
    if "internal error" in err or "Traceback" in err:
        problems.append("internal-error")
    if any(ch in err for ch in "\x1b\x00\r\x07\x9b"):
        problems.append("control-chars")
    if any(len(line) > MAX_LINE for line in err.splitlines()):
        problems.append("long-line")
    for secret in case.secrets:
        forms = [secret] if secret == CANARY else secret_forms(secret)
        if any(form in out or form in err for form in forms):
            problems.append("secret" if secret != CANARY else "file-content")
    if case.kind == "bad-input" and code == 1 and result["dest"] and case.command == "in":
        problems.append("wrote-dest")
    if result["elapsed"] > COMMAND_DEADLINE + 3:
        problems.append("slow")
    return problems


@dataclass
class Report:
    tried: Counter[str] = field(default_factory=Counter)
    broken_cases: Counter[str] = field(default_factory=Counter)
    promises: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def lines(self) -> Iterator[str]:
        for kind in KINDS:
            yield f"  {kind:15} tried {self.tried[kind]:5}  broke a promise {self.broken_cases[kind]:5}"
        total = sum(self.tried.values())
        yield f"  {'all':15} tried {total:5}  broke a promise {sum(self.broken_cases.values()):5}"
        yield "  promises broken: " + (", ".join(f"{k} {v}" for k, v in self.promises.most_common()) or "none")


def run(cases: list[Case], code_path: Path | None = None, workers: int = 2) -> Report:
    """Run ``cases`` in ``workers`` processes against the package at ``code_path`` (default: the installed one)."""
    report = Report()
    started = time.monotonic()
    env = dict(os.environ)
    paths = [str(HERE)]
    if code_path is not None:
        paths.insert(0, str(code_path))
    env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")])
    shards = [cases[i::workers] for i in range(workers)]
    import threading

    def drive(shard: list[Case]) -> None:
        process: subprocess.Popen[str] | None = None
        for case in shard:
            if process is None:
                process = subprocess.Popen(
                    [sys.executable, str(HERE / "fuzzing.py"), "worker"],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
                )  # fmt: skip
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write(json.dumps(case.__dict__) + "\n")
            process.stdin.flush()
            result = _read_line(process, CASE_TIMEOUT)
            if result is None:
                process.kill()
                process.wait()
                process = None
            problems = broken(case, result)
            report.tried[case.kind] += 1
            if problems:
                report.broken_cases[case.kind] += 1
                for problem in set(problems):
                    report.promises[problem] += 1
                    if problem not in report.examples:
                        shown = (result or {}).get("stderr", "")[:300]
                        report.examples[problem] = f"{case.kind}/{case.command}: {case.payload[:200]!r} -> {shown!r}"
        if process is not None:
            assert process.stdin is not None
            process.stdin.close()
            process.wait(timeout=30)

    threads = [threading.Thread(target=drive, args=(shard,)) for shard in shards]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report.seconds = time.monotonic() - started
    return report


def _read_line(process: subprocess.Popen[str], timeout: float) -> dict[str, Any] | None:
    import selectors

    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            return None
    line = process.stdout.readline()
    if not line:
        return {"code": "worker died", "stdout": "", "stderr": "", "elapsed": 0.0, "dest": []}
    result: dict[str, Any] = json.loads(line)
    return result


if __name__ == "__main__":
    if sys.argv[1:] == ["worker"]:
        worker()

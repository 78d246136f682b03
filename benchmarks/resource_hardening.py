"""Issue 9 figures for the harbor-image resource: fuzzed promises, redaction and regex costs, memory under a huge body.

    .venv/bin/python benchmarks/resource_hardening.py [--cases 5200] [--seed 9] [--code DIR] [--skip-fuzz]

* fuzz: cases tried / cases that broke a promise, per kind, and which promises (tests/resource/fuzzing.py), for the
  installed code or for another copy of the ``resources/`` directory given with ``--code`` (e.g. the code before
  the hardening: ``git archive <commit> resources | tar -x -C /tmp/before``);
* redaction: the cost of building and applying the redactor for a typical password (check pays it once per run,
  only when a line is printed and the text may contain the secret);
* tag_regex: the cost of the time bound per match (safe pattern, 10,000 tags) and how long a catastrophic pattern
  runs before it is stopped;
* memory: peak RSS of a client refusing a 1.5 GB chunked body (the cap is 16 MiB per request).

Prints figures only; never asserts.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "resource"))


def fuzz(cases: int, seed: int, code: Path | None) -> None:
    import fuzzing  # noqa: PLC0415 - found through sys.path (tests/resource)

    report = fuzzing.run(fuzzing.generate(seed, cases), code)
    print(f"fuzz ({'code at ' + str(code) if code else 'this code'}; seed {seed}; {report.seconds:.0f}s):")
    for line in report.lines():
        print(line)
    for promise, example in sorted(report.examples.items()):
        print(f"  e.g. {promise}: {example[:400]}")


def redaction() -> None:
    from shiplane_http.redact import Redactor  # noqa: PLC0415

    secret = "correct horse  battery staple-é€😀"
    text = json.dumps({"errors": [{"code": "UNAUTHORIZED", "message": "x" * 500}]})
    started = time.perf_counter()
    for _ in range(100):
        redactor = Redactor()
        redactor.add(secret, "robot$team+ci")
        redactor.one_line(text)
    clean = (time.perf_counter() - started) / 100 * 1000
    echoed = text.replace("x" * 30, json.dumps(secret)[1:-1], 1)
    started = time.perf_counter()
    for _ in range(20):
        redactor = Redactor()
        redactor.add(secret, "robot$team+ci")
        redactor.one_line(echoed)
    dirty = (time.perf_counter() - started) / 20 * 1000
    print(f"redaction: {clean:.2f} ms per message without the secret, {dirty:.1f} ms with it (pattern built)")


def regex_bound() -> None:
    import harbor_image.tagregex as tagregex  # noqa: PLC0415

    tags = [f"1.{i}.{i % 7}" for i in range(10_000)]
    plain = re.compile(r"[0-9]+(\.[0-9]+)*")
    started = time.perf_counter()
    for tag in tags:
        plain.fullmatch(tag)
    bare = time.perf_counter() - started
    bounded = tagregex.BoundedRegex(plain)
    started = time.perf_counter()
    for tag in tags:
        bounded.fullmatch(tag)
    timed = time.perf_counter() - started
    print(
        f"tag_regex: 10,000 tags {bare * 1000:.1f} ms unbounded, {timed * 1000:.1f} ms with the time bound "
        f"({(timed - bare) / len(tags) * 1e6:.1f} µs per match)"
    )
    evil = tagregex.BoundedRegex(re.compile("(1+)+"))
    started = time.perf_counter()
    try:
        evil.fullmatch("1" * 60 + "x")
    except Exception as problem:
        print(f"tag_regex: '(1+)+' against 111…1x stopped after {time.perf_counter() - started:.2f}s: {problem}"[:200])


def memory() -> None:
    code = f"""
import resource, sys, time
sys.path.insert(0, {str(ROOT / "tests" / "resource")!r})
from fault_server import Fault, FaultServer
from shiplane_http import Transport, TransportError
class Log:
    def debug(self, message): pass
server = FaultServer(Fault("huge-chunked"))
transport = Transport(server.url, Log(), time.monotonic() + 60, service="Harbor", url_field="source.url",
                      ca_field="source.ca_certs", attempts=1)
started = time.monotonic()
try:
    transport.request("GET", "/api/v2.0/projects")
except TransportError as problem:
    print(f"{{time.monotonic() - started:.2f}}s {{problem}}")
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120)
    lines = done.stdout.strip().splitlines()
    if len(lines) == 2:
        print(f"memory: refusing an endless chunked body: {lines[0][:160]}")
        print(f"memory: peak RSS of that process {lines[1]} MiB (cap 16 MiB per request)")
    else:
        print(f"memory: measurement failed: {done.stderr.strip()[-300:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5200)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--code", type=Path, help="a resources/ directory to fuzz instead of the installed code")
    parser.add_argument("--skip-fuzz", action="store_true")
    args = parser.parse_args()
    if not args.skip_fuzz:
        fuzz(args.cases, args.seed, args.code)
    if args.code is None:
        redaction()
        regex_bound()
        memory()
    print(f"peak RSS of this script {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB")


if __name__ == "__main__":
    main()

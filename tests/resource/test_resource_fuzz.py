"""≥ 5,000 seeded fuzz cases through check, in and out (tests/resource/fuzzing.py): every promise kept.

The bulk runs the executables' own entry point in worker processes (fast); a sample also runs the installed
console scripts as Concourse does (a process per case, real stdin/stdout/stderr).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import fuzzing
from fault_server import Fault, FaultServer

SEED = 9
CASES = 5_000


def test_fuzzed_payloads_keep_every_promise() -> None:
    cases = fuzzing.generate(SEED, CASES)
    assert len(cases) >= 5_000 and {c.kind for c in cases} == set(fuzzing.KINDS)
    report = fuzzing.run(cases, workers=min(4, os.cpu_count() or 1))
    summary = "\n".join(report.lines())
    assert sum(report.tried.values()) == len(cases), summary
    assert not report.broken_cases, summary + "\n" + "\n".join(report.examples.values())


def test_a_sample_through_the_console_scripts(tmp_path: Path) -> None:
    cases = [c for c in fuzzing.generate(SEED + 1, 400) if c.kind in ("bad-input", "secret-echo")][:12]
    server = FaultServer(Fault("status", status=404, body=b"{}"))
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "HARBOR_IMAGE_CACHE_DIR": str(tmp_path / "cache")}
    try:
        for index, case in enumerate(cases):
            answer = case.answer
            body = answer["body"].encode("utf-8", "surrogatepass")
            server.fault = Fault("status", status=answer["status"], body=body)
            dest = tmp_path / f"dir-{index}"
            dest.mkdir()
            args = [] if case.command == "check" else [str(dest)]
            started = time.monotonic()
            done = subprocess.run(
                [str(bin_dir / f"harbor-image-{case.command}"), *args],
                input=case.payload.replace("{port}", str(server.port)).encode("utf-8", "surrogatepass"),
                capture_output=True, timeout=120, env=env, check=False,
            )  # fmt: skip
            result = {
                "code": done.returncode,
                "stdout": done.stdout.decode("utf-8", "replace"),
                "stderr": done.stderr.decode("utf-8", "replace"),
                "elapsed": 0.0,
                "dest": sorted(p.name for p in dest.iterdir()),
            }
            assert time.monotonic() - started < 60
            assert fuzzing.broken(case, result) == [], (case.payload[:300], result["stderr"][:300])
            assert json.loads(done.stdout) if done.returncode == 0 else done.stdout == b""
    finally:
        server.stop()

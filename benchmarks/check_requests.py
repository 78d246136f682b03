"""Requests and wall time of harbor-image's check at N = 100, 1,000 and 10,000 artifacts, on Harbor v2.15.2 and on
v2.14.4 behaviour (update_time does not move on pushes before v2.15.2: check lists on every check there).

Starts its own Harbor double (tests/harbor_double; API only, the seeded artifacts have no blobs) on 127.0.0.1, sets
its version, seeds N scanned artifacts tagged 1.0.<i>, and runs the installed ``harbor-image-check`` exactly as
Concourse does (JSON on stdin, a reused cache directory). Per version and N it prints the first check (cold), the two
checks after it (a new cache reads Harbor's version, then the repository's update_time, each in place of another
request while listing), the steady check, the full listing forced at least every 5 minutes (Harbor's Redis
repository cache; simulated by ageing the cache file's ``listed_at``) and the mean per check at one check a minute.
Then the check process's wall time next to ``python -c "import ssl, json"`` and the import time of the check path.

    .venv/bin/python benchmarks/check_requests.py [--sizes 100,1000,10000] [--repeat 3] [--versions v2.15.2,v2.14.4]
"""

from __future__ import annotations

import argparse
import compileall
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from harbor_double import HarborDouble, Outcome  # noqa: E402
from harbor_double.standalone import running_double  # noqa: E402

BIN = Path(sys.executable).parent
CHECK = (
    [str(BIN / "harbor-image-check")]
    if (BIN / "harbor-image-check").exists()
    else [
        sys.executable,
        "-c",
        "from harbor_image.cli import check_main; check_main()",
    ]
)


def run_check(payload: dict[str, Any], cache: Path) -> tuple[float, Any]:
    env = {**os.environ, "HARBOR_IMAGE_CACHE_DIR": str(cache)}
    started = time.perf_counter()
    done = subprocess.run(CHECK, input=json.dumps(payload), capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"check failed:\n{done.stderr}")
    return elapsed, json.loads(done.stdout)


def api_count(harbor: HarborDouble) -> int:
    return len([r for r in harbor.requests if r.path.startswith("/api/")])


VERSIONS = {"v2.15.2": "v2.15.2-080b0220", "v2.14.4": "v2.14.4-1b3ec8a4"}
LISTING_INTERVAL_CHECKS = 5  # FULL_LISTING_INTERVAL (300 s) at one check a minute


def age_listing(cache: Path) -> None:
    """Make the cache's last full listing older than FULL_LISTING_INTERVAL (as 5 minutes of checks would)."""
    for file in cache.glob("*.json"):
        state = json.loads(file.read_text())
        state["listed_at"] -= 301
        file.write_text(json.dumps(state))


def measure(harbor: HarborDouble, version: str, size: int, repeat: int, workdir: Path) -> dict[str, Any]:
    harbor.reset()
    harbor.version = VERSIONS[version]
    harbor.create_project("team")
    harbor.seed("team/app", size, tags=lambda i: [f"1.0.{i}"], scan=Outcome.severity("Low"))
    source = {
        "url": harbor.url,
        "repository": "team/app",
        "insecure": True,
        "username": "admin",
        "password": "Harbor12345",
        "semver": True,
    }
    cold_times: list[float] = []
    counts: dict[str, list[int]] = {"cold": [], "startup": [], "steady": [], "periodic": []}
    steady_times: list[float] = []
    for attempt in range(repeat):
        cache = workdir / f"cache-{version}-{size}-{attempt}"
        harbor.reset_requests()
        elapsed, versions = run_check({"source": source}, cache)
        assert len(versions) == size, f"expected {size} versions, got {len(versions)}"
        cold_times.append(elapsed)
        counts["cold"].append(api_count(harbor))
        cursor = versions[-1]
        for phase, runs in (("startup", 2), ("steady", 3)):
            for _ in range(runs):
                harbor.reset_requests()
                elapsed, versions = run_check({"source": source, "version": cursor}, cache)
                assert versions == [cursor]
                counts[phase].append(api_count(harbor))
                if phase == "steady":
                    steady_times.append(elapsed)
        age_listing(cache)
        harbor.reset_requests()
        assert run_check({"source": source, "version": cursor}, cache)[1] == [cursor]
        counts["periodic"].append(api_count(harbor))
    steady, periodic = max(counts["steady"]), max(counts["periodic"])
    return {
        "version": version,
        "size": size,
        "budget": math.ceil(size / 100) + 1,
        "cold_requests": max(counts["cold"]),
        "cold_seconds": statistics.median(cold_times),
        "startup_requests": max(counts["startup"]),
        "steady_requests": steady,
        "steady_seconds": statistics.median(steady_times),
        "periodic_requests": periodic,
        "mean_per_check": ((LISTING_INTERVAL_CHECKS - 1) * steady + periodic) / LISTING_INTERVAL_CHECKS,
    }


def process_times(repeat: int) -> tuple[float, float, float]:
    """Median wall times (ms), the three commands interleaved so machine noise hits them alike."""
    invalid = json.dumps({"source": {"url": "https://h.example", "repository": "p/r", "tag_regx": "x"}})
    commands = [
        ([sys.executable, "-c", "import ssl, json"], ""),
        ([sys.executable, "-c", "import harbor_image.cli, harbor_image.check, harbor_image.harbor"], ""),
        # the whole executable up to its first network call: a payload that fails decoding after the imports
        (CHECK, invalid),
    ]
    samples: list[list[float]] = [[], [], []]
    for _ in range(repeat):
        for index, (argv, stdin) in enumerate(commands):
            started = time.perf_counter()
            subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)
            samples[index].append(time.perf_counter() - started)
    baseline, imports, executable = (statistics.median(s) * 1000 for s in samples)
    return baseline, imports, executable


def import_breakdown() -> list[tuple[int, str]]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import ssl, json; import harbor_image.cli, harbor_image.check"],
        capture_output=True,
        text=True,
        check=False,
    )
    rows = []
    for line in done.stderr.splitlines():
        parts = [p.strip() for p in line.replace("import time:", "").split("|")]
        if len(parts) == 3 and parts[2].strip().startswith("harbor_image"):
            rows.append((int(parts[1]), parts[2].strip()))
    return sorted(rows, reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--versions", default="v2.15.2,v2.14.4")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    versions = args.versions.split(",")
    # an installed wheel has bytecode; this checkout may run with PYTHONDONTWRITEBYTECODE
    compileall.compile_dir(str(ROOT / "resources" / "harbor_image"), quiet=1)

    with tempfile.TemporaryDirectory(prefix="check-bench-") as temp, running_double(Path(temp) / "double") as harbor:
        # seeded artifacts have no blobs: check only talks to the API, so no registry is needed
        results = [measure(harbor, v, size, args.repeat, Path(temp)) for v in versions for size in sizes]

    print("check against the Harbor double (semver mode, every artifact scanned Low; wall time = whole process)")
    print()
    print(
        "| Harbor | N | budget ceil(N/100)+1 | cold (first check) | checks 2 and 3 | steady | every 5 min "
        "| mean per check at 1/min | cold wall time | steady wall time |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['version']} | {r['size']:,} | {r['budget']} | {r['cold_requests']} | {r['startup_requests']} "
            f"| {r['steady_requests']} | {r['periodic_requests']} | {r['mean_per_check']:.1f} "
            f"| {r['cold_seconds'] * 1000:.0f} ms | {r['steady_seconds'] * 1000:.0f} ms |"
        )
    baseline, imports, executable = process_times(max(21, args.repeat * 7))
    print()
    print(f"python -c 'import ssl, json'                  {baseline:6.1f} ms")
    print(f"python -c 'import harbor_image check path'    {imports:6.1f} ms")
    print(f"harbor-image-check up to its first request    {executable:6.1f} ms")
    print()
    print("import time of the check path's own modules (python -X importtime, cumulative µs):")
    for micros, module in import_breakdown()[:6]:
        print(f"  {micros:7d}  {module}")


if __name__ == "__main__":
    main()

"""Requests of harbor-image's check on a repository of multi-platform image indexes, against the request-level model
of Harbor used by the property tests (tests/resource/harbor_model.py: Harbor's listing pages, ``digest={…}`` OR
queries, ``base=*`` for platforms, merged index scans as pkg/scan/vuln/summary.go Merge).

An index is judged platform by platform (Harbor's merged ``complete_percent`` counts only the platforms its scan
collected); the platforms are read in batches of 50 digests and the verdict is remembered by merged report id. Per
size it prints the first check (every version emitted), the check after it, a check after one new index was pushed
and scanned, and the steady check. Never asserts: figures only.

    .venv/bin/python benchmarks/check_index_requests.py [--sizes 100,1000] [--platforms 2]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests" / "resource"), str(ROOT / "tests")]

from harbor_image.check import Checker  # noqa: E402
from harbor_image.log import Log  # noqa: E402
from harbor_image.wire import decode_check  # noqa: E402
from harbor_model import ModelHarbor  # noqa: E402


def measure(size: int, platforms: int) -> list[tuple[str, str, int, int]]:
    model = ModelHarbor()
    for number in range(size):
        model.finish_scan(model.push(f"1.{number}.0", platforms=platforms), "Low")
    source = decode_check(json.dumps({"source": {"url": "https://harbor.test", "repository": "team/app",
                                                 "semver": True}})).source  # fmt: skip
    rows = []
    cursor = None
    with tempfile.TemporaryDirectory() as cache:
        for label in ("first check", "next check", "after a new index", "steady"):
            if label == "after a new index":
                model.finish_scan(model.push("2.0.0", platforms=platforms), "Low")
            model.tick(60_000)
            before = model.requests
            checker = Checker(source, model, Log(io.StringIO()), cache, now=lambda: model.now_ms / 1000)
            out = checker.run(cursor)
            rows.append((label, checker.path, model.requests - before, len(out)))
            cursor = out[-1] if out else cursor
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--platforms", type=int, default=2)
    args = parser.parse_args()
    print(f"check on a repository of {args.platforms}-platform indexes (Harbor v2.15.2 model, semver, all scanned Low)")
    print()
    print("| indexes | check | path | requests | versions emitted |")
    print("|---:|---|---|---:|---:|")
    for size in (int(s) for s in args.sizes.split(",")):
        for label, path, requests, emitted in measure(size, args.platforms):
            print(f"| {size:,} | {label} | {path} | {requests} | {emitted} |")


if __name__ == "__main__":
    main()

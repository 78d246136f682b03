"""Fleet-scale benchmark of `shiplane render`: 1,000 apps x 100 clusters (10 dev, 90 prod in 3 waves).

Synthesises the fleet config in a temporary directory, then times each phase of what `shiplane render` does —
config load (YAML, JSON Schema with defaults, cross-references, model), render (templates -> data), validate
(the linters), serialise (canonical bytes) and write (staged files, renames) — and a second, no-op render that
must rewrite nothing. Prints the figures and the peak RSS (resource.getrusage); never asserts on time.

Run: .venv/bin/python benchmarks/render_fleet.py [--apps N] [--clusters N] [--teams N] [--profile]
With --teams N the apps are spread over N teams (own Harbor project, Concourse team, namespace, Slack channel),
every cluster sets a REGION env var and every app has a per-region label override, so each region's clusters get
their own manifests (the override layers at scale).
Target for the whole generator (Concourse + Spinnaker): <= 15 s and <= 1 GB RSS on a 2-core machine.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from shiplane import config
from shiplane.documents import Document
from shiplane.output import OutputDir
from shiplane.render import MIN_APPS_PER_WORKER, VALIDATORS, documents
from shiplane.templates import TemplateSet


def fleet_config(apps: int, clusters: int, teams: int = 0) -> dict[str, Any]:
    dev = max(1, clusters // 10)
    prod = clusters - dev
    cluster_map: dict[str, Any] = {"tooling": {"role": "tooling"}}
    for index in range(dev):
        cluster_map[f"dev-{index:03d}"] = {
            "environment": "dev",
            "namespace": "apps",
            "labels": {"region": f"r{index % 3}"},
        }
    for index in range(prod):
        cluster_map[f"prod-{index:03d}"] = {
            "environment": "prod",
            "namespace": "apps",
            "wave": 1 + index * 3 // prod,
            "labels": {"region": f"r{index % 3}", "tier": "production"},
        }
    app_map: dict[str, Any] = {}
    for index in range(apps):
        app: dict[str, Any] = {
            "git": {"uri": f"https://git.example.com/team-{index % 40}/app-{index:04d}.git", "branch": "main"},
            "env": {"JAVA_TOOL_OPTIONS": "-XX:MaxRAMPercentage=75", "APP_INDEX": str(index)},
            "resources": {"cpu": "500m", "memory": "768Mi"},
        }
        if index % 5 == 0:
            app["releases"] = {"from": "github-releases", "github": {"owner": f"team-{index % 40}",
                                                                     "repository": f"app-{index:04d}"}}
        if index % 7 == 0:
            app["git"]["uri"] = f"git@git.example.com:team-{index % 40}/app-{index:04d}.git"
            app["git"]["private"] = True
        if teams:
            app["team"] = f"team-{index % teams:02d}"
            app["label_overrides"] = [{"match": {"region": f"r{region}"}, "env": {"ZONE": f"zone-{region}"}}
                                      for region in range(3)]
        app_map[f"app-{index:04d}"] = app
    if teams:
        for name, cluster in cluster_map.items():
            if name != "tooling":
                cluster["env"] = {"REGION": cluster["labels"]["region"]}
    extra: dict[str, Any] = {}
    if teams:
        extra["teams"] = {
            f"team-{index:02d}": {"owner_email": f"team-{index:02d}@example.com",
                                  "notifications": {"slack_channel": f"#team-{index:02d}"}}
            for index in range(teams)
        }
    return {
        **extra,
        "version": 1,
        "harbor": {"url": "https://harbor.example.com", "project": "fleet", "ca_certs_var": "harbor-ca"},
        "concourse": {
            "team": "main" if teams else "fleet",
            "config_repo": {"uri": "git@git.example.com:platform/fleet.git", "private": True},
        },
        "spinnaker": {"version": "1.36.0"},
        "environments": {
            "dev": {"image_tag": "latest", "replicas": 1, "storage": "ephemeral"},
            "prod": {"image_tag": "semver", "replicas": 3, "storage": "mysql", "judgment_between_waves": True},
        },
        "clusters": cluster_map,
        "apps": app_map,
    }


class Phases:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def time(self, phase: str, call: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        try:
            return call()
        finally:
            self.seconds[phase] += time.perf_counter() - start


def render_once(config_path: Path, out: Path, phases: Phases) -> tuple[int, int, int, dict[str, int]]:
    """What `shiplane render CONFIG --out OUT` does, phase by phase; returns (documents, written, unchanged, kinds)."""
    fleet = phases.time("config load", lambda: config.load(str(config_path)))
    templates = TemplateSet()
    output = OutputDir(str(out), check=False)
    produced = iter(documents(fleet, templates))
    count = 0
    kinds: dict[str, int] = defaultdict(int)
    while True:
        document: Document | None = phases.time("render", lambda: next(produced, None))
        if document is None:
            break
        problems = phases.time(f"validate ({document.kind})", lambda d=document: VALIDATORS[d.kind](d, fleet))
        if problems:
            raise SystemExit(f"{document.path}: {problems[:3]}")
        data = phases.time("serialise", document.to_bytes)
        phases.time("write (stage)", lambda d=document, b=data: output.stage(d.path, b))
        count += 1
        kinds[document.kind] += 1
    changes = phases.time("write (commit)", output.commit)
    return count, len(changes.written), len(changes.unchanged), dict(kinds)


def default_jobs(apps: int) -> int:
    return max(1, min(len(os.sched_getaffinity(0)), apps // MIN_APPS_PER_WORKER))


# Runs a command and prints, last on stderr, the largest resident set (KiB) of it and its descendants.
_MEASURE = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def cli_runs(config_path: Path, out: Path, jobs: int | None) -> tuple[float, float, float] | None:
    """`shiplane render` twice in fresh processes (first render, no-op render): seconds, seconds, peak RSS MB."""
    command = [sys.executable, "-m", "shiplane", "render", str(config_path), "--out", str(out)]
    if jobs is not None:
        command += ["--jobs", str(jobs)]
    seconds, rss = [], 0.0
    for _ in range(2):
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-c", _MEASURE, *command], capture_output=True, text=True,
                                check=False)
        seconds.append(time.perf_counter() - start)
        if result.returncode != 0:
            print(f"FAIL: {' '.join(command)} exited {result.returncode}: {result.stderr[-2000:]}", file=sys.stderr)
            return None
        lines = result.stderr.splitlines()
        rss = max(rss, int(lines[-1]) / 1024)  # the largest process: the CLI or one of its render workers
    shutil.rmtree(out)  # 1 GB of dirty pages otherwise slows the next run's writes down
    if not lines[0].startswith("0 written"):
        print(f"FAIL: the no-op CLI render rewrote files: {result.stderr}", file=sys.stderr)
        return None
    return seconds[0], seconds[1], rss


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--clusters", type=int, default=100)
    parser.add_argument("--teams", type=int, default=0, help="spread the apps over N teams, with overrides")
    parser.add_argument("--profile", action="store_true", help="print the top functions of the first render")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="shiplane-bench-") as tmp:
        root = Path(tmp)
        config_path = root / "shiplane.yaml"
        start = time.perf_counter()
        config_path.write_text(yaml.safe_dump(fleet_config(args.apps, args.clusters, args.teams), sort_keys=False))
        synth = time.perf_counter() - start
        size = config_path.stat().st_size
        print(f"fleet: {args.apps} apps x {args.clusters} clusters; config {size / 1e6:.1f} MB "
              f"(synthesised in {synth:.2f} s)")

        profiler = cProfile.Profile() if args.profile else None
        first = Phases()
        start = time.perf_counter()
        if profiler:
            profiler.enable()
        count, written, unchanged, kinds = render_once(config_path, root / "out", first)
        if profiler:
            profiler.disable()
        first_total = time.perf_counter() - start
        rss_first = peak_rss_mb()

        second = Phases()
        start = time.perf_counter()
        count2, written2, unchanged2, _ = render_once(config_path, root / "out", second)
        second_total = time.perf_counter() - start

        shutil.rmtree(root / "out")
        cli = {jobs: cli_runs(config_path, root / f"out-cli-{jobs}", jobs) for jobs in (None, 1)}
        if any(run is None for run in cli.values()):
            return 1

        print(f"documents: {count} ({', '.join(f'{k}: {v}' for k, v in sorted(kinds.items()))})")
        print()
        print(f"{'phase':<40} {'first render':>14} {'no-op render':>14}")
        for phase in sorted(set(first.seconds) | set(second.seconds), key=lambda p: -first.seconds.get(p, 0)):
            print(f"{phase:<40} {first.seconds.get(phase, 0):>12.2f} s {second.seconds.get(phase, 0):>12.2f} s")
        print(f"{'total (wall)':<40} {first_total:>12.2f} s {second_total:>12.2f} s")
        print()
        print("shiplane render, the CLI as users run it (a fresh process each time):")
        print(f"{'':<40} {'first render':>14} {'no-op render':>14} {'peak RSS':>10}")
        for jobs, run in cli.items():
            assert run is not None
            label = f"--jobs {jobs}" if jobs else f"default ({default_jobs(args.apps)} processes)"
            print(f"{label:<40} {run[0]:>12.2f} s {run[1]:>12.2f} s {run[2]:>7.0f} MB")
        print()
        print(f"first render: {written} written, {unchanged} unchanged")
        print(f"no-op render: {written2} written, {unchanged2} unchanged (must be 0 written)")
        print(f"peak RSS: {rss_first:.0f} MB after the first render, {peak_rss_mb():.0f} MB at the end")
        if profiler:
            stats = pstats.Stats(profiler, stream=sys.stdout)
            stats.sort_stats("cumulative").print_stats(30)
        if written2 != 0 or count2 != count:
            print("FAIL: the no-op render rewrote files", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

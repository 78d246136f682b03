"""Time the Spinnaker half of `shiplane render` on a synthetic fleet and print the figures.

The fleet: 1,000 apps x 100 clusters (10 dev clusters in one wave, 90 prod clusters in 3 waves of 30, MySQL and a
manual judgment between waves in prod). Each app gets application.json, deploy-dev.json, rollback-dev.json,
deploy-prod.json (~180 deployManifest stages with their manifests) and rollback-prod.json; plus
clouddriver-local.yml. Timed: config load, render, validation (Spinnaker rules + Kubernetes schemas), canonical
serialisation and staged atomic writes; then a no-op second run, which must rewrite 0 files.

    python benchmarks/render_spinnaker.py [--apps 1000] [--dev 10] [--prod 90] [--waves 3] [--out DIR]
                                          [--processes N]

Peak RSS is the process's maximum resident set size (resource.getrusage), which covers both runs (with
--processes, the largest of the parent and its workers).

--processes N is an experiment, not what `shiplane render` does today: the apps are split between N forked
workers, each rendering, validating, serialising and staging (temporary files) its share; the parent then renames
everything into place. It shows what a parallel `shiplane.render` would gain on this 2-core machine.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from shiplane import config, spinnaker
from shiplane.model import Fleet
from shiplane.output import OutputDir
from shiplane.templates import TemplateSet


def fleet_yaml(apps: int, dev: int, prod: int, waves: int) -> str:
    lines = [
        "version: 1",
        "harbor: {url: 'https://harbor.example.com', project: fleet}",
        "concourse: {config_repo: {uri: 'https://git.example.com/fleet.git'}}",
        "spinnaker: {version: '1.36.0', kubernetes_version: '1.31', owner_email: platform@example.com}",
        "environments:",
        "  dev: {image_tag: latest, replicas: 1, storage: ephemeral}",
        "  prod: {image_tag: semver, replicas: 3, storage: mysql, judgment_between_waves: true,"
        " env: {SPRING_PROFILES_ACTIVE: mysql}}",
        "clusters:",
        "  tooling: {role: tooling}",
    ]
    for index in range(dev):
        lines.append(f"  dev-{index:02d}: {{environment: dev, namespace: apps, labels: {{region: r{index % 5}}}}}")
    per_wave = max(1, prod // waves)
    for index in range(prod):
        wave = min(waves, index // per_wave + 1)
        lines.append(f"  prod-{index:02d}: {{environment: prod, namespace: apps, wave: {wave}}}")
    lines.append("apps:")
    for index in range(apps):
        lines.append(
            f"  app-{index:04d}: {{git: {{uri: 'https://git.example.com/app-{index:04d}.git'}}, port: 8080, "
            f"env: {{JAVA_TOOL_OPTIONS: '-XX:MaxRAMPercentage=75', FEATURE_{index % 7}: 'on'}}, "
            f"resources: {{cpu: 250m, memory: 512Mi}}}}"
        )
    return "\n".join(lines) + "\n"


def _work(fleet: Fleet, out: str, apps: list[str | None], stats: dict[str, float]) -> tuple[OutputDir, int, int]:
    """Render, validate, serialise and stage the documents of `apps` (None: the fleet-wide documents)."""
    templates = TemplateSet()
    output = OutputDir(out, check=False)
    documents = size = 0
    for name in apps:
        t0 = time.perf_counter()
        if name is None:
            produced = spinnaker.render_fleet(fleet, templates)
        else:
            produced = spinnaker.render_app(fleet, fleet.app(name), templates)
        stats["render"] += time.perf_counter() - t0
        for document in produced:
            t1 = time.perf_counter()
            problems = spinnaker.validate_document(document, fleet)
            t2 = time.perf_counter()
            if problems:
                raise SystemExit(f"{document.path}: {problems[:3]}")
            data = document.to_bytes()
            t3 = time.perf_counter()
            output.stage(document.path, data)
            stats["validate"] += t2 - t1
            stats["serialise"] += t3 - t2
            stats["write"] += time.perf_counter() - t3
            documents += 1
            size += len(data)
    return output, documents, size


def _worker(args: tuple[str, str, list[str | None]]) -> tuple[Any, Any, int, int, dict[str, float], float]:
    config_path, out, apps = args
    stats = dict.fromkeys(("render", "validate", "serialise", "write"), 0.0)
    output, documents, size = _work(config.load(config_path), out, apps, stats)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return output._staged, output.changes, documents, size, stats, peak


def run(config_path: str, out: str, processes: int) -> tuple[dict[str, float], int, int, int, float]:
    timings: dict[str, float] = {}
    start = time.perf_counter()
    fleet = config.load(config_path)
    timings["load"] = time.perf_counter() - start
    stats = dict.fromkeys(("render", "validate", "serialise", "write"), 0.0)
    apps: list[str | None] = [app.name for app in fleet.apps] + [None]
    worker_peak = 0.0
    if processes <= 1:
        output, documents, size = _work(fleet, out, apps, stats)
    else:
        output = OutputDir(out, check=False)
        documents = size = 0
        shares = [(config_path, out, apps[index::processes]) for index in range(processes)]
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            for staged, changes, count, data, worker_stats, peak in pool.map(_worker, shares):
                output._staged.extend(staged)
                output._produced.update([*changes.written, *changes.unchanged])
                output.changes.written.extend(changes.written)
                output.changes.unchanged.extend(changes.unchanged)
                documents += count
                size += data
                worker_peak = max(worker_peak, peak)
                for key, value in worker_stats.items():
                    stats[key] = max(stats[key], value)  # wall time of the slowest worker, roughly
    t0 = time.perf_counter()
    changes = output.commit()
    stats["write"] += time.perf_counter() - t0
    timings.update(stats)
    timings["total"] = time.perf_counter() - start
    return timings, documents, len(changes.written) + len(changes.removed), size, worker_peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--dev", type=int, default=10)
    parser.add_argument("--prod", type=int, default=90)
    parser.add_argument("--waves", type=int, default=3)
    parser.add_argument("--out", help="output directory (default: a temporary directory, removed afterwards)")
    parser.add_argument("--processes", type=int, default=1, help="experiment: split the apps between N workers")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="shiplane-bench-"))
    try:
        config_path = workdir / "shiplane.yaml"
        config_path.write_text(fleet_yaml(args.apps, args.dev, args.prod, args.waves), encoding="utf-8")
        out = args.out or str(workdir / "out")
        print(f"fleet: {args.apps} apps x {args.dev + args.prod} clusters ({args.dev} dev, {args.prod} prod in "
              f"{args.waves} waves); Spinnaker documents only"
              + (f"; {args.processes} worker processes" if args.processes > 1 else ""))
        worker_peak = 0.0
        for label in ("first run", "no-op run"):
            timings, documents, changed, size, peak = run(str(config_path), out, args.processes)
            worker_peak = max(worker_peak, peak)
            figures = ", ".join(f"{key} {value:.2f}s" for key, value in timings.items())
            print(f"{label}: {documents} documents, {size / 1e6:.0f} MB, {changed} files written: {figures}")
        peak_rss = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, worker_peak)
        print(f"peak RSS: {peak_rss:.0f} MB")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Spinnaker output at scale: pipeline sizes, fleet output size, and what adding one prod cluster rewrites.

Prints (never asserts):

1. the size of one app's prod deploy pipeline (and its MySQL and rollback pipelines) at 10 and 90 prod clusters,
   against the 150 KB budget for 90 clusters;
2. the Spinnaker output of a 1,000-app x 100-cluster fleet (10 dev, 90 prod in 3 waves): files, total and largest
   sizes, the docker-registry accounts (largest repository count) and render time (`shiplane render` as users run it,
   Spinnaker and Concourse together);
3. the files that change when one prod cluster is added to that fleet (a second `shiplane render` into the same
   output directory): how many, and which kinds, against the files that must change.

Run: .venv/bin/python benchmarks/spinnaker_scale.py [--apps N] [--clusters N]
Uses benchmarks/render_fleet.py's synthetic fleet (MySQL in prod, judgments between waves).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml
from render_fleet import fleet_config
from shiplane.config import load_text
from shiplane.spinnaker import render_app, validate_document
from shiplane.templates import TemplateSet

BUDGET = 150 * 1024


def _kb(size: int) -> str:
    return f"{size / 1024:,.1f} KB"


def one_app_sizes(prod_clusters: int) -> dict[str, int]:
    config = fleet_config(1, 10)
    clusters = {name: value for name, value in config["clusters"].items() if not name.startswith("prod-")}
    for index in range(prod_clusters):
        clusters[f"prod-{index:03d}"] = {"environment": "prod", "namespace": "apps",
                                         "wave": 1 + index * 3 // prod_clusters}
    config["clusters"] = clusters
    fleet = load_text(yaml.safe_dump(config), "fleet.yaml")
    sizes = {}
    for document in render_app(fleet, fleet.apps[0], TemplateSet()):
        problems = validate_document(document, fleet)
        if problems:
            raise SystemExit(f"{document.path}: {problems[0]}")
        sizes[document.path.rsplit("/", 1)[-1]] = len(document.to_bytes())
    return sizes


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*") if p.is_file()}


def _render(config: dict[str, object], workdir: Path, out: Path) -> float:
    path = workdir / "fleet.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "shiplane", "render", str(path), "--out", str(out)], check=True,
                   stderr=subprocess.DEVNULL, timeout=3600)
    return time.perf_counter() - start


def fleet_figures(apps: int, clusters: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="shiplane-spinnaker-scale-"))
    try:
        out = workdir / "out"
        config = fleet_config(apps, clusters)
        seconds = _render(config, workdir, out)
        spinnaker = out / "spinnaker"
        files = [p for p in spinnaker.rglob("*") if p.is_file()]
        sizes = sorted((p.stat().st_size, p.relative_to(spinnaker).as_posix()) for p in files)
        total = sum(size for size, _ in sizes)
        clouddriver = yaml.safe_load((spinnaker / "clouddriver-local.yml").read_text(encoding="utf-8"))
        accounts = clouddriver["dockerRegistry"]["accounts"]
        prods = [size for size, name in sizes if name.endswith("/deploy-prod.json")]
        print(f"\n{apps:,} apps x {clusters} clusters: `shiplane render` (Concourse + Spinnaker) {seconds:.1f} s")
        print(f"  spinnaker/: {len(files):,} files, {total / 1024 / 1024:,.1f} MB in total")
        print(f"  deploy-prod.json: {_kb(min(prods))} .. {_kb(max(prods))} each")
        print(f"  largest file: {sizes[-1][1]} ({_kb(sizes[-1][0])})")
        print(f"  docker-registry accounts: {len(accounts)}, largest lists "
              f"{max(len(a['repositories']) for a in accounts)} repositories")

        before = _tree(out)
        dev = sum(1 for name in config["clusters"] if str(name).startswith("dev-"))  # type: ignore[union-attr]
        prod = clusters - dev
        clusters_map = dict(config["clusters"])  # type: ignore[call-overload]
        clusters_map[f"prod-{prod:03d}"] = {"environment": "prod", "namespace": "apps", "wave": 3}
        config["clusters"] = clusters_map
        seconds = _render(config, workdir, out)
        after = _tree(out)
        # .shiplane-files is the output directory's own record of what shiplane wrote (digests): it changes with
        # any rewritten file, so it is not one of the documents counted here
        changed = sorted(path for path in after if before.get(path) != after[path] and path != ".shiplane-files")
        kinds = Counter(path.rsplit("/", 1)[-1] if path.startswith("spinnaker/") and path.count("/") == 2
                        else path for path in changed)
        print(f"\nadding one prod cluster (wave 3) to that fleet: {len(changed):,} files rewritten "
              f"({seconds:.1f} s render)")
        for name, count in sorted(kinds.items()):
            print(f"  {count:>6,} x {name}")
        only_prod = all(p.startswith("spinnaker/") and "dev" not in p.rsplit("/", 1)[-1] for p in changed)
        must = apps * 3 + 3  # every app's deploy-prod, mysql-prod, rollback-prod; the three account files
        print(f"  that must change: {must:,} (each prod pipeline names the new cluster; its account and "
              f"kubeconfig join clouddriver-local.yml, the Operator patch and the Halyard script); "
              f"nothing else (Concourse pipelines, dev pipelines and applications untouched: "
              f"{'yes' if only_prod else 'NO'})")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--clusters", type=int, default=100)
    args = parser.parse_args()
    print("one app's pipelines (MySQL in prod, judgments between 3 waves):")
    for prod_clusters in (10, 90):
        sizes = one_app_sizes(prod_clusters)
        verdict = "within" if sizes["deploy-prod.json"] <= BUDGET else "OVER"
        print(f"  {prod_clusters:>3} prod clusters: deploy-prod.json {_kb(sizes['deploy-prod.json'])} "
              f"({verdict} the {_kb(BUDGET)} budget), mysql-prod.json {_kb(sizes['mysql-prod.json'])}, "
              f"rollback-prod.json {_kb(sizes['rollback-prod.json'])}")
    fleet_figures(args.apps, args.clusters)


if __name__ == "__main__":
    main()

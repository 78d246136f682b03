"""Hostile configs, fuzzed configs and interrupted renders against `shiplane`: cases tried / promises broken per kind.

The promises (README, HACKING.md): bad input → exit 1, one line per problem on stderr naming the field, nothing on
stdout, no traceback, nothing written, within a bounded time and memory; a render is all-or-nothing even when it
is interrupted (SIGTERM, SIGINT, SIGKILL at commit time) and the next render leaves no temporary file.

Kinds:
  single-line   every string value and key of the example config with a control character added (trailing `\\n`,
                `\\r`, `\\t`, ESC, NUL, DEL; environment variable values may hold `\\n` and `\\t`) → must be
                refused naming that field; nothing written
  bounded       alias bomb, merge-key bomb, /dev/zero, a FIFO, deep nesting, a 40 MB file → exit 1, one line,
                within 20 s and 1.5 GB
  merge         YAML merge keys with overrides (`prod-2: {<<: *prod, wave: 2}`) → accepted, the override wins
  messages      read-only --out, --out a file, an app named set-pipelines, an app key `yes:` → one precise line
  fuzz          seeded random mutations of the example config → exit 0/1/2, every stderr line `shiplane: ...`,
                no traceback or internal error, nothing on stdout
  interrupted   a 300-app render interrupted by SIGTERM / SIGINT / SIGKILL at its first, middle and last rename
                (the watcher pauses the process inside os.replace) → all-old or all-new (or a pending journal that
                the next run finishes and `--check` reports), a truthful message, no traceback; the next render
                leaves no `.shiplane-*` temporary file

Run: .venv/bin/python benchmarks/generator_faults.py [--seed 9] [--fuzz 5000] [--skip interrupted]
Point PYTHONPATH at another copy of `shiplane` to measure it (how the "before" figures were taken).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import shiplane  # noqa: E402 - from PYTHONPATH first: how another copy is measured
from config_fuzzing import broken_promise, payloads, run_cli  # noqa: E402
from shiplane import cli  # noqa: E402
from shiplane.templates import TemplateSet  # noqa: E402
from test_fuzz_cli import SEEDS  # noqa: E402

EXAMPLE = ROOT / "examples" / "petclinic" / "shiplane.yaml"
Result = tuple[int, str, str]


def clean_failure(result: Result, *, code: int = 1) -> str | None:
    """Why `result` breaks the bad-input promise, or None."""
    got, stdout, stderr = result
    if got != code:
        return f"exit {got}"
    if stdout:
        return "stdout not empty"
    lines = stderr.splitlines()
    if not lines or any(not line.startswith("shiplane: ") for line in lines):
        return "stderr not shiplane: lines"
    if "Traceback" in stderr or "internal error" in stderr:
        return "traceback"
    return None


def string_sites(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], bool]]:
    """(path, is_key) of every string of a plain YAML value."""
    if isinstance(value, str):
        yield path, False
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                yield (*path, key), True
            yield from string_sites(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from string_sites(item, (*path, index))


def with_suffix(data: Any, path: tuple[Any, ...], is_key: bool, suffix: str) -> Any:
    data = copy.deepcopy(data)
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if is_key:
        items = list(parent.items())
        parent.clear()
        parent.update((key + suffix if key == last else key, item) for key, item in items)
    else:
        parent[last] = parent[last] + suffix
    return data


def kind_single_line(work: Path) -> tuple[int, int, list[str]]:
    base = yaml.safe_load(EXAMPLE.read_text())
    tried = broken = 0
    examples: list[str] = []
    for path, is_key in string_sites(base):
        multiline = not is_key and "env" in path[:-1]  # environment variable values may hold \n and \t
        suffixes = ("\r", "\x1b[31m", "\x00", "\x7f")
        for suffix in suffixes if multiline else ("\n", "\t", *suffixes):
            tried += 1
            config = work / "single.yaml"
            config.write_text(yaml.safe_dump(with_suffix(base, path, is_key, suffix), sort_keys=False))
            out = work / "single-out"
            shutil.rmtree(out, ignore_errors=True)
            result = run_cli("render", str(config), "--out", str(out))
            why = clean_failure(result) or ("files written" if out.exists() else None)
            if why is None and not any(str(p) in result[2] for p in path if isinstance(p, str)):
                why = "the field is not named"
            if why:
                broken += 1
                if len(examples) < 4:
                    examples.append(f"{'key' if is_key else 'value'} {'.'.join(map(str, path))} + {suffix!r}: {why}")
    return tried, broken, examples


ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)
MERGE_BOMB = "a0: &a0 {k0: 1, k1: 1}\n" + "".join(
    f"a{i}: &a{i} {{<<: [*a{i - 1}, *a{i - 1}], m{i}a: 1, m{i}b: 1}}\n" for i in range(1, 28)
)


def bounded_cases(work: Path) -> list[tuple[str, list[str]]]:
    fifo = work / "fifo.yaml"
    if not fifo.exists():
        os.mkfifo(fifo)
    (work / "alias.yaml").write_text(ALIAS_BOMB)
    (work / "merge.yaml").write_text(MERGE_BOMB)
    (work / "deep.yaml").write_text("[" * 20000 + "]" * 20000)
    (work / "deepmap.yaml").write_text("a: " + "{a: " * 5000 + "1" + "}" * 5000)
    with (work / "big.yaml").open("w") as stream:
        stream.write("pad: '" + "x" * (40 << 20) + "'\n")
    out = str(work / "bounded-out")
    return [
        (name, ["render", str(work / file), "--out", out])
        for name, file in (("alias bomb", "alias.yaml"), ("merge-key bomb", "merge.yaml"),
                           ("fifo", "fifo.yaml"), ("deep list", "deep.yaml"), ("deep mapping", "deepmap.yaml"),
                           ("40 MB file", "big.yaml"))
    ] + [("/dev/zero", ["render", "/dev/zero", "--out", out]), ("a directory", ["render", str(work), "--out", out])]


def run_bounded(argv: list[str], *, timeout: float = 20, memory: int = 1536 << 20) -> tuple[Result, float]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-m", "shiplane", *argv], capture_output=True, text=True,
                              timeout=timeout, preexec_fn=limit, check=False)
        result: Result = (done.returncode, done.stdout, done.stderr)
    except subprocess.TimeoutExpired:
        result = (-9, "", f"timed out after {timeout} s")
    return result, time.monotonic() - started


def kind_bounded(work: Path) -> tuple[int, int, list[str]]:
    tried = broken = 0
    examples: list[str] = []
    for name, argv in bounded_cases(work):
        tried += 1
        result, seconds = run_bounded(argv)
        why = clean_failure(result)
        if why is None and len(result[2].splitlines()) != 1:
            why = f"{len(result[2].splitlines())} lines"
        if why:
            broken += 1
            examples.append(f"{name}: {why} ({seconds:.1f} s) {result[2].strip().splitlines()[-1:] }"[:200])
    return tried, broken, examples


def kind_merge(work: Path) -> tuple[int, int, list[str]]:
    text = EXAMPLE.read_text()
    anchored = text.replace("  prod:\n    environment: prod", "  prod: &prod\n    environment: prod")
    cases = {
        "cluster override": anchored.replace(
            "\napps:\n", "  prod-2: {<<: *prod, account: k8s-prod-2, wave: 2}\n\napps:\n"),
        "cluster override, block style": anchored.replace(
            "\napps:\n", "  prod-2:\n    <<: *prod\n    account: k8s-prod-2\n    wave: 2\n\napps:\n"),
        "two merges and an override": anchored.replace(
            "  dev:\n    environment: dev", "  dev: &dev\n    environment: dev").replace(
            "\napps:\n", "  prod-2: {<<: [*prod, *dev], account: k8s-prod-2, wave: 2}\n\napps:\n"),
    }
    tried = broken = 0
    examples: list[str] = []
    for name, config_text in cases.items():
        tried += 1
        config = work / "merge-case.yaml"
        config.write_text(config_text)
        out = work / "merge-out"
        shutil.rmtree(out, ignore_errors=True)
        code, _, stderr = run_cli("render", str(config), "--out", str(out))
        pipelines = list(out.glob("spinnaker/petclinic/deploy-prod.json")) if code == 0 else []
        if code != 0 or not pipelines or "k8s-prod-2" not in pipelines[0].read_text():
            broken += 1
            examples.append(f"{name}: exit {code} {stderr.strip().splitlines()[:1]}"[:200])
    return tried, broken, examples


def big_config(apps: int) -> dict[str, Any]:
    data = yaml.safe_load(EXAMPLE.read_text())
    for index in range(apps - 1):
        data["apps"][f"app-{index:03d}"] = {"git": {"uri": f"https://github.com/example/app-{index:03d}.git"}}
    return data


def kind_messages(work: Path) -> tuple[int, int, list[str]]:
    tried = broken = 0
    examples: list[str] = []

    def case(name: str, result: Result, want: str, lines: int = 1, unwanted: str = "") -> None:
        nonlocal tried, broken
        tried += 1
        why = clean_failure(result)
        if why is None and (want not in result[2] or len(result[2].splitlines()) != lines):
            why = f"{len(result[2].splitlines())} lines, wanted {want!r}: {result[2][:160]!r}"
        if why is None and unwanted and unwanted in result[2]:
            why = f"says {unwanted!r}"
        if why:
            broken += 1
            examples.append(f"{name}: {why}"[:240])

    big = work / "msg-big.yaml"
    big.write_text(yaml.safe_dump(big_config(60), sort_keys=False))
    readonly = work / "readonly"
    readonly.mkdir(exist_ok=True)
    readonly.chmod(0o555)
    # root writes anywhere: /sys/kernel is a directory no one may create files in
    target = readonly if os.geteuid() != 0 else Path("/sys/kernel")
    case("read-only --out", run_cli("render", str(big), "--out", str(target), "--jobs", "2"), str(target))
    afile = work / "afile"
    afile.write_text("x")
    case("--out a file", run_cli("render", str(EXAMPLE), "--out", str(afile)), "not a directory",
         unwanted="permissions")
    data = yaml.safe_load(EXAMPLE.read_text())
    data["apps"]["set-pipelines"] = {"git": {"uri": "https://github.com/example/x.git"}}
    clash = work / "clash.yaml"
    clash.write_text(yaml.safe_dump(data, sort_keys=False))
    case("app named set-pipelines", run_cli("render", str(clash), "--out", str(work / "clash-out")),
         "apps.set-pipelines")
    text = EXAMPLE.read_text().replace("\n  petclinic:\n", "\n  yes:\n")
    yes = work / "yes.yaml"
    yes.write_text(text)
    case("app key yes:", run_cli("render", str(yes), "--out", str(work / "yes-out")), "not a string",
         unwanted="must not be empty")
    return tried, broken, examples


def kind_fuzz(work: Path, count: int, seed: int) -> tuple[int, int, list[str]]:
    """The payloads of tests/test_fuzz_cli.py (same seeds, same count by default)."""
    shared = TemplateSet()
    cli.TemplateSet = lambda directory=None: shared  # type: ignore[assignment,misc]
    config = work / "fuzz.yaml"
    tried = broken = 0
    examples: list[str] = []
    for text in payloads(SEEDS, count, seed):
        config.write_bytes(text.encode("utf-8", "surrogatepass"))
        tried += 1
        result = run_cli("validate", str(config))
        why = broken_promise(result)
        if why:
            broken += 1
            if len(examples) < 4:
                examples.append(f"{why}: {result[2].strip().splitlines()[-1:]}"[:200])
    return tried, broken, examples


DRIVER = r"""
import os, signal, sys, time
# A shell starts background jobs with SIGINT ignored, and shiplane keeps an ignored signal ignored: undo that.
signal.signal(signal.SIGINT, signal.default_int_handler)
pause_at, marker, go = int(sys.argv[1]), sys.argv[2], sys.argv[3]
real = os.replace
calls = [0]
def replace(src, dst, *a, **k):
    calls[0] += 1
    if calls[0] == pause_at:
        open(marker, "w").close()
        deadline = time.monotonic() + 60
        while not os.path.exists(go) and time.monotonic() < deadline:
            time.sleep(0.01)
    return real(src, dst, *a, **k)
os.replace = replace
from shiplane.cli import main
sys.exit(main(sys.argv[4:]))
"""


def managed_state(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and not p.name.startswith(".shiplane")}


def leftovers(out: Path) -> list[str]:
    return [str(p.relative_to(out)) for p in out.rglob(".shiplane*") if p.name != ".shiplane-files"]


def kind_interrupted(work: Path, apps: int) -> tuple[int, int, list[str]]:
    old_cfg, new_cfg = work / "old.yaml", work / "new.yaml"
    data = big_config(apps)
    del data["environments"]["prod"], data["clusters"]["prod"]  # dev only: 4 files an app, as the test
    old_cfg.write_text(yaml.safe_dump(data, sort_keys=False))
    data["environments"]["dev"]["replicas"] = 2  # changes every app's deploy-dev.json
    new_cfg.write_text(yaml.safe_dump(data, sort_keys=False))
    reference = {}
    for name, cfg in (("old", old_cfg), ("new", new_cfg)):
        out = work / f"ref-{name}"
        shutil.rmtree(out, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "shiplane", "render", str(cfg), "--out", str(out)], check=True,
                       capture_output=True)
        reference[name] = managed_state(out)
    renames = len([p for p in reference["new"] if reference["new"][p] != reference["old"].get(p)])
    tried = broken = 0
    examples: list[str] = []
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGKILL):
        for point in (1, max(1, renames // 2), renames):
            tried += 1
            out = work / "int-out"
            shutil.rmtree(out, ignore_errors=True)
            shutil.copytree(work / "ref-old", out)
            marker, go = work / "marker", work / "go"
            marker.unlink(missing_ok=True)
            go.unlink(missing_ok=True)
            proc = subprocess.Popen([sys.executable, "-c", DRIVER, str(point), str(marker), str(go), "render",
                                     str(new_cfg), "--out", str(out)], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            deadline = time.monotonic() + 300
            while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            proc.send_signal(sig)
            time.sleep(0.2)
            go.touch()
            try:
                _, stderr = proc.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, stderr = proc.communicate()
            state = managed_state(out)
            whole = state == reference["old"] or state == reference["new"]
            check = subprocess.run([sys.executable, "-m", "shiplane", "render", str(new_cfg), "--out", str(out),
                                    "--check"], capture_output=True, text=True, check=False)
            problems = []
            if not whole and not (check.returncode == 1 and "interrupted render" in check.stderr):
                problems.append("mixed old/new files and --check does not say so")
            if "Traceback" in stderr:
                problems.append("traceback")
            if "nothing was written" in stderr and state != reference["old"]:
                problems.append("says nothing was written after files were replaced")
            nxt = subprocess.run([sys.executable, "-m", "shiplane", "render", str(new_cfg), "--out", str(out)],
                                 capture_output=True, text=True, check=False)
            if nxt.returncode != 0 or managed_state(out) != reference["new"]:
                problems.append(f"next render: exit {nxt.returncode}, not all-new")
            if leftovers(out):
                problems.append(f"{len(leftovers(out))} temporary files left after the next render")
            if problems:
                broken += 1
                examples.append(f"{signal.Signals(sig).name} at rename {point}: {'; '.join(problems)}"[:240])
    return tried, broken, examples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--fuzz", type=int, default=5000)
    parser.add_argument("--apps", type=int, default=300)
    parser.add_argument("--skip", action="append", default=[], help="a kind not to run")
    parser.add_argument("--only", action="append", default=[], help="run only this kind")
    args = parser.parse_args()
    print(f"shiplane from {Path(shiplane.__file__).parent}")
    kinds: dict[str, Callable[[Path], tuple[int, int, list[str]]]] = {
        "single-line": kind_single_line,
        "bounded": kind_bounded,
        "merge": kind_merge,
        "messages": kind_messages,
        "fuzz": lambda work: kind_fuzz(work, args.fuzz, args.seed),
        "interrupted": lambda work: kind_interrupted(work, args.apps),
    }
    total_tried = total_broken = 0
    with tempfile.TemporaryDirectory(prefix="shiplane-faults-") as scratch:
        for name, kind in kinds.items():
            if name in args.skip or (args.only and name not in args.only):
                continue
            work = Path(scratch) / name
            work.mkdir()
            started = time.monotonic()
            tried, broken, examples = kind(work)
            total_tried += tried
            total_broken += broken
            print(f"{name:12} {tried:6} tried {broken:6} broken  ({time.monotonic() - started:.1f} s)", flush=True)
            for example in examples:
                print(f"    e.g. {example}")
            for path in Path(scratch).rglob("*"):
                with contextlib.suppress(OSError):
                    if path.is_dir() and not path.is_symlink():
                        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    print(f"{'total':12} {total_tried:6} tried {total_broken:6} broken")
    return 0


if __name__ == "__main__":
    sys.exit(main())

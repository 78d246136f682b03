"""A 300-app render interrupted by SIGTERM, SIGINT or SIGKILL leaves `out/` all-old or all-new.

The render runs as a real process (`python -m shiplane` through a small driver). To interrupt it at a known point
of the commit, the driver wraps `os.replace` to pause before its N-th call until the test has sent the signal
(call 1 is the journal's rename, the commit point; later calls are the renames of the files); to interrupt it
while it renders, the test watches the staging directory fill up. Every wait is bounded.

SIGINT/SIGTERM during the commit are held until the commit is done (all-new, exit 128+n); before it they abort it
(all-old, "nothing was written"). SIGKILL before the commit point leaves the staging directory, after it a journal;
`--check` reports either, and the next render (even `--only` one app) removes the first and finishes the second.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "petclinic" / "shiplane.yaml"
APPS = 300
TIMEOUT = 240  # seconds for one 300-app render on a loaded 2-core machine

DRIVER = r"""
import os, signal, sys, time
# A shell starts background jobs with SIGINT ignored, and shiplane keeps an ignored signal ignored: undo that.
signal.signal(signal.SIGINT, signal.default_int_handler)
pause_at, marker, go = int(sys.argv[1]), sys.argv[2], sys.argv[3]
real, calls = os.replace, [0]
def replace(src, dst, *args, **kwargs):
    calls[0] += 1
    if calls[0] == pause_at:
        open(marker, "w").close()
        deadline = time.monotonic() + 60
        while not os.path.exists(go) and time.monotonic() < deadline:
            time.sleep(0.01)
    return real(src, dst, *args, **kwargs)
os.replace = replace
from shiplane.cli import main
sys.exit(main(sys.argv[4:]))
"""


def shiplane(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shiplane", *argv], capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)


def files(out: Path) -> dict[str, bytes]:
    """The rendered files (not shiplane's bookkeeping)."""
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and not str(p.relative_to(out)).startswith(".shiplane")}


def leftovers(out: Path) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob(".shiplane*") if p.name != ".shiplane-files")


class Fleet:
    def __init__(self, root: Path) -> None:
        data = yaml.safe_load(EXAMPLE.read_text())
        del data["environments"]["prod"], data["clusters"]["prod"]  # dev only: 4 files an app, a faster render
        for index in range(APPS - 1):
            data["apps"][f"app-{index:03d}"] = {"git": {"uri": f"https://github.com/example/app-{index:03d}.git"}}
        self.old, self.new = root / "old.yaml", root / "new.yaml"
        self.old.write_text(yaml.safe_dump(data, sort_keys=False))
        data["environments"]["dev"]["replicas"] = 2  # every app's deploy-dev.json changes
        self.new.write_text(yaml.safe_dump(data, sort_keys=False))
        self.root = root
        self.state = {}
        for name, config in (("old", self.old), ("new", self.new)):
            result = shiplane("render", str(config), "--out", str(root / name))
            assert result.returncode == 0, result.stderr
            self.state[name] = files(root / name)
        changed = [path for path, data in self.state["new"].items() if self.state["old"].get(path) != data]
        assert len(changed) >= APPS
        self.out = root / "out"

    def interrupt(self, signum: int, when: Callable[[subprocess.Popen[str]], None],
                  pause_at: int = 0) -> tuple[int, str]:
        """Render the new config over a copy of the old output, send `signum` once `when` returns."""
        shutil.rmtree(self.out, ignore_errors=True)
        shutil.copytree(self.root / "old", self.out)
        marker, go = self.root / "marker", self.root / "go"
        marker.unlink(missing_ok=True)
        go.unlink(missing_ok=True)
        process = subprocess.Popen(
            [sys.executable, "-c", DRIVER, str(pause_at), str(marker), str(go), "render", str(self.new), "--out",
             str(self.out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            when(process)
            process.send_signal(signum)
            time.sleep(0.2)
            go.touch()
            stdout, stderr = process.communicate(timeout=TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
        assert stdout == "" and "Traceback" not in stderr, stderr
        # Nothing of the render survives it: worker processes exit with their parent (PR_SET_PDEATHSIG).
        deadline = time.monotonic() + 10
        while _group_alive(process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _group_alive(process.pid)
        return process.returncode, stderr

    def paused_at_commit(self, marker_timeout: float = TIMEOUT) -> Callable[[subprocess.Popen[str]], None]:
        marker = self.root / "marker"

        def wait(process: subprocess.Popen[str]) -> None:
            deadline = time.monotonic() + marker_timeout
            while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            assert marker.exists(), "the render never reached its commit"

        return wait

    def staging_files(self, count: int) -> Callable[[subprocess.Popen[str]], None]:
        staging = self.out / ".shiplane-staging"

        def wait(process: subprocess.Popen[str]) -> None:
            deadline = time.monotonic() + TIMEOUT
            while process.poll() is None and time.monotonic() < deadline:
                if staging.is_dir() and len(os.listdir(staging)) >= count:
                    return
                time.sleep(0.01)
            raise AssertionError("the render never staged its files")

        return wait


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    return Fleet(tmp_path_factory.mktemp("interrupted"))


@pytest.mark.parametrize(("signum", "pause_at"), [(signal.SIGTERM, 1), (signal.SIGINT, 1 + APPS // 2)])
def test_sigterm_or_sigint_during_the_commit_lets_it_finish(fleet: Fleet, signum: int, pause_at: int) -> None:
    code, stderr = fleet.interrupt(signum, fleet.paused_at_commit(), pause_at=pause_at)
    name = signal.Signals(signum).name
    assert (code, stderr) == (128 + signum, f"shiplane: {name} arrived while the new files were put in place; "
                                            f"they are complete\n")
    assert files(fleet.out) == fleet.state["new"] and leftovers(fleet.out) == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_or_sigint_while_rendering_writes_nothing(fleet: Fleet, signum: int) -> None:
    code, stderr = fleet.interrupt(signum, fleet.staging_files(APPS))
    assert (code, stderr) == (128 + signum, f"shiplane: interrupted ({signal.Signals(signum).name}); nothing was "
                                            f"written\n")
    assert files(fleet.out) == fleet.state["old"] and leftovers(fleet.out) == []


@pytest.mark.parametrize(("when", "pause_at", "expected", "leftover"), [
    ("rendering", 0, "old", ".shiplane-staging"),
    ("before the commit point", 1, "old", ".shiplane-staging"),
    ("half-way through the renames", 1 + APPS // 2, None, ".shiplane-journal"),
])
def test_sigkill_is_finished_or_cleaned_by_the_next_run(fleet: Fleet, when: str, pause_at: int,
                                                        expected: str | None, leftover: str) -> None:
    wait = fleet.staging_files(APPS) if pause_at == 0 else fleet.paused_at_commit()
    code, _ = fleet.interrupt(signal.SIGKILL, wait, pause_at=pause_at)
    assert code == -signal.SIGKILL
    if expected is not None:
        assert files(fleet.out) == fleet.state[expected]
    else:  # killed while applying the journal: some files are new, and the journal says how to finish
        state = files(fleet.out)
        assert state not in (fleet.state["old"], fleet.state["new"])
    assert leftover in leftovers(fleet.out)[0]
    check = shiplane("render", str(fleet.new), "--out", str(fleet.out), "--check", "--only", "petclinic")
    assert check.returncode == 1 and f"{fleet.out}/{leftover}: " in check.stderr and "interrupted" in check.stderr
    # The next run, even of one app, finishes a committed render (or drops an uncommitted one) first.
    again = shiplane("render", str(fleet.new), "--out", str(fleet.out), "--only", "petclinic")
    assert again.returncode == 0, again.stderr
    assert leftovers(fleet.out) == []
    if expected is None:
        assert files(fleet.out) == fleet.state["new"]
    else:  # nothing had been committed: only petclinic's files are new
        assert files(fleet.out) == {path: fleet.state["new" if "petclinic" in path else "old"][path]
                                    for path in fleet.state["old"]}

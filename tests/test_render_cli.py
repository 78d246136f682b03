"""`shiplane render` / `validate` end to end: exit codes, streams, atomic writes, pruning, --check, --only.

The CLI runs in-process through `shiplane.cli.main` (the same function the console script calls) with a real
output directory; one test runs the installed console script to check the process-level contract.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from shiplane.cli import main
from shiplane.config import load
from shiplane.output import parse_manifest
from shiplane.render import Progress, render
from shiplane.templates import TemplateSet

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "petclinic" / "shiplane.yaml"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The example fleet with a second app, in a scratch directory."""
    data = yaml.safe_load(EXAMPLE.read_text())
    data["apps"]["owners"] = {"git": {"uri": "https://github.com/example/owners.git"}}
    path = tmp_path / "shiplane.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def app_files(app: str) -> list[str]:
    """What `shiplane render` writes for one app of the example fleet (dev and prod)."""
    return [f"concourse/{app}.yml", *(f"spinnaker/{app}/{name}" for name in APP_SPINNAKER_FILES)]


APP_SPINNAKER_FILES = ("application.json", "deploy-dev.json", "deploy-prod.json", "mysql-prod.json",
                       "rollback-dev.json", "rollback-prod.json")
ACCOUNT_FILES = ["spinnaker/clouddriver-local.yml", "spinnaker/halyard-accounts.sh",
                 "spinnaker/operator-accounts-patch.yml"]  # they list every app's repository
FLEET_FILES = ["concourse/set-pipelines.yml", *ACCOUNT_FILES, "spinnaker/igor-local.yml"]
ALL_FILES = sorted([*app_files("owners"), *app_files("petclinic"), *FLEET_FILES])  # 19


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def summary(stderr: str) -> tuple[str, str]:
    """The render's one summary line (its only line), split into the counts and the app count; the time is checked."""
    match = re.fullmatch(r"(.*) \((\d+ app\(s\)) rendered in \d+\.\d s\)\n", stderr)
    assert match, stderr
    return match[1], match[2]


def snapshot(directory: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file under `directory`: content, inode and mtime in nanoseconds."""
    return {
        str(path.relative_to(directory)): (path.read_bytes(), path.stat().st_ino, path.stat().st_mtime_ns)
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def test_render_writes_every_document_and_nothing_on_stdout(
    capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    code, stdout, stderr = run(capsys, "render", str(config), "--out", str(out))
    assert (code, stdout) == (0, "")
    assert summary(stderr) == (f"{len(ALL_FILES)} written, 0 unchanged, 0 removed in {out}", "2 app(s)")
    assert sorted(snapshot(out)) == sorted([".shiplane-files", *ALL_FILES])
    listed = parse_manifest((out / ".shiplane-files").read_text())
    assert listed == {path: hashlib.sha256((out / path).read_bytes()).hexdigest() for path in ALL_FILES}
    assert not list(out.rglob(".shiplane-*.tmp"))


def test_files_are_readable_like_any_file(capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        run(capsys, "render", str(config), "--out", str(tmp_path / "out"))
    finally:
        os.umask(old)
    assert (tmp_path / "out" / "concourse" / "petclinic.yml").stat().st_mode & 0o777 == 0o644


def test_a_second_render_rewrites_nothing(capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(capsys, "render", str(config), "--out", str(out))
    before = snapshot(out)
    code, _, stderr = run(capsys, "render", str(config), "--out", str(out))
    assert code == 0 and summary(stderr) == (f"0 written, {len(ALL_FILES)} unchanged, 0 removed in {out}", "2 app(s)")
    assert snapshot(out) == before  # same bytes, same inodes, same mtimes


def test_a_changed_file_is_replaced_atomically(capsys: pytest.CaptureFixture[str], config: Path,
                                               tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(capsys, "render", str(config), "--out", str(out))
    target = out / "concourse" / "petclinic.yml"
    good = target.read_bytes()
    inode = target.stat().st_ino
    target.write_bytes(b"edited by hand\n")
    os.chmod(target, 0o640)
    code, _, stderr = run(capsys, "render", str(config), "--out", str(out))
    assert code == 0 and stderr.splitlines()[0] == f"{out}/concourse/petclinic.yml: had been edited since the last " \
                                                   "render; replaced"
    assert stderr.splitlines()[1].startswith(f"1 written, {len(ALL_FILES) - 1} unchanged")
    assert target.read_bytes() == good
    assert target.stat().st_ino != inode  # a new file renamed over the old one, never rewritten in place
    assert target.stat().st_mode & 0o777 == 0o640  # the file's permissions are kept


def test_check_lists_changes_and_writes_nothing(capsys: pytest.CaptureFixture[str], config: Path,
                                                tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stdout, stderr = run(capsys, "render", str(config), "--out", str(out), "--check")
    assert (code, stdout) == (1, "")
    assert stderr.splitlines() == [
        *(f"{out}/{path}: would change" for path in ALL_FILES),
        f"{len(ALL_FILES)} file(s) out of date; run shiplane render without --check",
    ]
    assert not out.exists()
    run(capsys, "render", str(config), "--out", str(out))
    before = snapshot(out)
    code, _, stderr = run(capsys, "render", str(config), "--out", str(out), "--check")
    assert (code, stderr) == (0, f"{len(ALL_FILES)} file(s) up to date\n")
    (out / "concourse" / "owners.yml").write_text("stale\n")
    code, _, stderr = run(capsys, "render", str(config), "--out", str(out), "--check")
    assert code == 1 and stderr.splitlines()[0] == f"{out}/concourse/owners.yml: would change"
    assert (out / "concourse" / "owners.yml").read_text() == "stale\n"
    assert {k: v for k, v in snapshot(out).items() if k != "concourse/owners.yml"} == {
        k: v for k, v in before.items() if k != "concourse/owners.yml"
    }
    assert not list(out.rglob(".shiplane-*.tmp"))


def test_removed_apps_are_pruned_and_own_files_kept(capsys: pytest.CaptureFixture[str], config: Path,
                                                    tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(capsys, "render", str(config), "--out", str(out))
    (out / "README.txt").write_text("mine\n")
    (out / "concourse" / "notes.yml").write_text("mine too\n")
    data = yaml.safe_load(config.read_text())
    del data["apps"]["owners"]
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    code, _, stderr = run(capsys, "render", str(config), "--out", str(out), "--check")
    for path in app_files("owners"):
        assert f"{out}/{path}: would be removed" in stderr
        assert (out / path).exists()
    code, _, stderr = run(capsys, "render", str(config), "--out", str(out))
    # set-pipelines and the account files list one app fewer; the petclinic files and igor-local are unchanged
    removed = len(app_files("owners"))
    written = 1 + len(ACCOUNT_FILES)
    assert code == 0 and stderr.startswith(
        f"{written} written, {len(app_files('petclinic')) + 1} unchanged, {removed} removed")
    assert not (out / "concourse" / "owners.yml").exists() and not (out / "spinnaker" / "owners").exists()
    assert (out / "README.txt").read_text() == "mine\n" and (out / "concourse" / "notes.yml").exists()
    assert "owners" not in (out / ".shiplane-files").read_text()


def test_only_renders_one_app_and_prunes_nothing(capsys: pytest.CaptureFixture[str], config: Path,
                                                 tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(capsys, "render", str(config), "--out", str(out))
    (out / "concourse" / "owners.yml").write_text("stale\n")
    (out / "concourse" / "petclinic.yml").write_text("stale\n")
    before = snapshot(out)
    # Hand edits of the app's own files are not replaced by --only unless forced (nothing is written).
    code, stdout, stderr = run(capsys, "render", str(config), "--out", str(out), "--only", "petclinic")
    assert (code, stdout) == (1, "") and stderr == (
        f"shiplane: {out}/concourse/petclinic.yml: edited since shiplane wrote it; move the change into the config "
        f"or --templates, or run again with --force to replace it\n"
    )
    assert snapshot(out) == before and sorted(os.listdir(out)) == [".shiplane-files", "concourse", "spinnaker"]
    code, _, stderr = run(capsys, "render", str(config), "--out", str(out), "--only", "petclinic", "--force")
    unchanged = len(app_files("petclinic")) - 1 + len(FLEET_FILES)
    assert code == 0 and stderr.splitlines()[1].startswith(f"1 written, {unchanged} unchanged, 0 removed")
    assert (out / "concourse" / "owners.yml").read_text() == "stale\n"  # not rendered, not pruned
    assert (out / "concourse" / "petclinic.yml").read_text() != "stale\n"
    assert "concourse/owners.yml" in (out / ".shiplane-files").read_text()
    code, _, stderr = run(capsys, "render", str(config), "--out", str(out), "--only", "nope")
    assert code == 2 and "--only nope: no such app" in stderr and "apps: owners, petclinic" in stderr


def test_nothing_is_written_when_a_document_is_invalid(capsys: pytest.CaptureFixture[str], config: Path,
                                                       tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(capsys, "render", str(config), "--out", str(out))
    before = snapshot(out)
    templates = tmp_path / "templates" / "concourse"
    templates.mkdir(parents=True)
    # A team override that breaks the pipeline: the put names a resource that does not exist.
    steps = (ROOT / "templates" / "concourse" / "pipeline.yml.j2").read_text()
    (templates / "pipeline.yml.j2").write_text(steps.replace("- put: image-release", "- put: image-relase"))
    code, stdout, stderr = run(capsys, "render", str(config), "--out", str(out), "--templates",
                               str(templates.parent))
    assert (code, stdout) == (1, "")
    assert stderr.startswith(
        "shiplane: concourse/owners.yml (from template concourse/pipeline.yml.j2 (from --templates "
    )
    assert "jobs[1].plan[5].put: unknown resource 'image-relase'" in stderr
    assert snapshot(out) == before
    assert not list(out.rglob(".shiplane-*.tmp"))


def test_template_bug_names_the_template(capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path) -> None:
    templates = tmp_path / "templates" / "concourse"
    templates.mkdir(parents=True)
    (templates / "build-steps.yml.j2").write_text("  - task: maven\n    file: {{ build.gaols | json }}\n")
    code, _, stderr = run(capsys, "render", str(config), "--out", str(tmp_path / "out"), "--templates",
                          str(templates.parent))
    assert code == 1 and not (tmp_path / "out").exists()
    assert stderr.startswith("shiplane: template concourse/build-steps.yml.j2:2 (app owners): ")
    assert "gaols" in stderr


def test_invalid_config_exits_1_listing_every_problem(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(EXAMPLE.read_text().replace("fail_on: high", "fail_on: severe").replace("port: 8080",
                                                                                              "port: http"))
    code, stdout, stderr = run(capsys, "render", str(path), "--out", str(tmp_path / "out"))
    assert (code, stdout) == (1, "")
    lines = stderr.splitlines()
    assert len(lines) == 2 and all(line.startswith(f"shiplane: {path}:") for line in lines)
    assert "harbor.scan.fail_on" in lines[0] and "apps.petclinic.port" in lines[1]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "argv",
    [["render", "x.yaml"], ["render", "x.yaml", "--out", "o", "--bogus"], [], ["deploy"], ["lint-pipeline"]],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, stdout, stderr = run(capsys, *argv)
    assert (code, stdout) == (2, "")
    assert stderr.startswith("shiplane: ") and "--help" in stderr


def test_validate(capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path) -> None:
    code, stdout, stderr = run(capsys, "validate", str(config))
    assert (code, stdout, stderr) == (0, "", f"{config}: valid (2 apps, {len(ALL_FILES)} documents)\n")
    templates = tmp_path / "templates" / "concourse"
    templates.mkdir(parents=True)
    (templates / "set-pipelines.yml.j2").write_text("jobs: [{name: x, plan: [{get: nothing}]}]\n")
    code, _, stderr = run(capsys, "validate", str(config), "--templates", str(templates.parent))
    assert code == 1
    assert "concourse/set-pipelines.yml (from template concourse/set-pipelines.yml.j2" in stderr
    assert "jobs[0].plan[0].get: unknown resource 'nothing'" in stderr


def test_progress_only_on_a_terminal(config: Path, tmp_path: Path) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    fleet = load(str(config))
    terminal = Terminal()
    render(fleet, TemplateSet(), str(tmp_path / "a"), stderr=terminal)
    assert "\rrendering 2/2 apps (petclinic)" in terminal.getvalue() and terminal.getvalue().endswith("\r\x1b[K")
    pipe = io.StringIO()
    render(fleet, TemplateSet(), str(tmp_path / "b"), stderr=pipe)
    assert pipe.getvalue() == ""
    assert not Progress(1, Terminal()).enabled


def test_console_script(config: Path, tmp_path: Path) -> None:
    script = shutil.which("shiplane", path=str(Path(sys.executable).parent))
    assert script is not None
    result = subprocess.run([script, "render", str(config), "--out", str(tmp_path / "out")], capture_output=True,
                            text=True, check=False)
    assert (result.returncode, result.stdout) == (0, "")
    assert (tmp_path / "out" / "concourse" / "petclinic.yml").read_bytes() == (
        ROOT / "tests" / "golden" / "petclinic" / "concourse" / "petclinic.yml"
    ).read_bytes()


def test_an_invalid_document_leaves_no_new_directory(capsys: pytest.CaptureFixture[str], config: Path,
                                                     tmp_path: Path) -> None:
    # The first app renders (staged in out/concourse/), the second does not: the run is abandoned without a trace.
    templates = tmp_path / "templates" / "concourse"
    templates.mkdir(parents=True)
    text = (ROOT / "templates" / "concourse" / "pipeline.yml.j2").read_text()
    (templates / "pipeline.yml.j2").write_text(
        text.replace("- name: build\n", "- name: {{ ('build' if app.name == 'owners' else 'Build') | json }}\n")
    )
    out = tmp_path / "out"
    code, _, stderr = run(capsys, "render", str(config), "--out", str(out), "--templates", str(templates.parent))
    assert code == 1 and "concourse/petclinic.yml" in stderr and "'Build' is not a valid identifier" in stderr
    assert not out.exists()


@pytest.fixture
def big_config(tmp_path: Path) -> Path:
    """The example fleet with 60 apps: enough for two render processes (25 apps each at least)."""
    data = yaml.safe_load(EXAMPLE.read_text())
    for index in range(59):
        data["apps"][f"app-{index:02d}"] = {"git": {"uri": f"https://github.com/example/app-{index:02d}.git"}}
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_parallel_render_writes_the_same_bytes(capsys: pytest.CaptureFixture[str], big_config: Path,
                                               tmp_path: Path) -> None:
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    assert run(capsys, "render", str(big_config), "--out", str(serial), "--jobs", "1")[0] == 0
    code, stdout, stderr = run(capsys, "render", str(big_config), "--out", str(parallel), "--jobs", "2")
    assert (code, stdout) == (0, "") and stderr.startswith(f"{60 * 7 + len(FLEET_FILES)} written, 0 unchanged")
    files = {path: content for path, (content, _, _) in snapshot(serial).items()}
    assert {path: content for path, (content, _, _) in snapshot(parallel).items()} == files
    before = snapshot(parallel)
    code, _, stderr = run(capsys, "render", str(big_config), "--out", str(parallel), "--jobs", "2")
    assert code == 0 and stderr.startswith(f"0 written, {60 * 7 + len(FLEET_FILES)} unchanged")
    assert snapshot(parallel) == before


def test_parallel_render_writes_nothing_when_one_app_fails(capsys: pytest.CaptureFixture[str], big_config: Path,
                                                           tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(capsys, "render", str(big_config), "--out", str(out), "--jobs", "2")
    before = snapshot(out)
    templates = tmp_path / "templates" / "concourse"
    templates.mkdir(parents=True)
    steps = (ROOT / "templates" / "concourse" / "pipeline.yml.j2").read_text()
    # Breaks the pipeline of one app only (the last chunk); the other chunks stage their files first.
    broken = steps.replace("- put: image-release", "- put: {{ ('image-relase' if app.name == 'petclinic' "
                                                   "else 'image-release') | json }}")
    assert broken != steps
    (templates / "pipeline.yml.j2").write_text(broken)
    code, stdout, stderr = run(capsys, "render", str(big_config), "--out", str(out), "--jobs", "2",
                               "--templates", str(templates.parent))
    assert (code, stdout) == (1, "")
    assert "concourse/petclinic.yml" in stderr and "unknown resource 'image-relase'" in stderr
    assert "app-00" not in stderr
    assert snapshot(out) == before
    assert not list(out.rglob(".shiplane-*.tmp"))


def test_jobs_must_be_positive(capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path) -> None:
    code, stdout, stderr = run(capsys, "render", str(config), "--out", str(tmp_path / "out"), "--jobs", "0")
    assert (code, stdout) == (2, "") and "--jobs 0: give 1 or more processes" in stderr

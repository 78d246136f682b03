"""What a newcomer sees from the `shiplane` command: usage errors, --version, paths, one closing line per command."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from shiplane.cli import main, shown

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "petclinic" / "shiplane.yaml"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("argv", "hint"),
    [
        ([], "(see shiplane --help)"),
        (["deploy"], "(see shiplane --help)"),
        (["render", "x.yaml"], "(see shiplane render --help)"),
        (["lint-pipeline"], "(see shiplane lint-pipeline --help)"),
        (["lint-spinnaker", "--bogus", "f.json"], "(see shiplane lint-spinnaker --help)"),
    ],
)
def test_usage_errors_name_the_command_whose_help_to_read(
    capsys: pytest.CaptureFixture[str], argv: list[str], hint: str
) -> None:
    code, stdout, stderr = run(capsys, *argv)
    assert (code, stdout) == (2, "")
    assert stderr.startswith("shiplane: ") and stderr.endswith(f" {hint}\n"), stderr
    assert "shiplane shiplane" not in stderr


def test_version_is_the_installed_distributions() -> None:
    # argparse's version action prints on stdout and exits 0, like every `--version`.
    result = subprocess.run([sys.executable, "-m", "shiplane", "--version"], capture_output=True, text=True,
                            timeout=60, check=False)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == f"shiplane {metadata.version('shiplane')}\n"
    assert metadata.version("shiplane")[0].isdigit()


@pytest.mark.parametrize(("out", "expected"), [("out/", "out/a/b.yml"), ("out", "out/a/b.yml"),
                                               ("./out//", "./out//a/b.yml"), ("/tmp/o", "/tmp/o/a/b.yml")])
def test_output_paths_are_joined_without_a_doubled_slash(out: str, expected: str) -> None:
    assert shown(out, "a/b.yml") == expected


def test_check_with_a_trailing_slash(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, stderr = run(capsys, "render", str(EXAMPLE), "--out", "out/", "--check")
    assert code == 1
    assert "out/concourse/petclinic.yml: would change\n" in stderr and "//" not in stderr


def test_render_ends_with_one_summary_line_off_a_terminal(capsys: pytest.CaptureFixture[str],
                                                          tmp_path: Path) -> None:
    # capsys's stderr is no terminal (a CI log): no progress counter, one line that says what was done.
    code, _, stderr = run(capsys, "render", str(EXAMPLE), "--out", str(tmp_path / "out"))
    assert code == 0 and "\r" not in stderr and len(stderr.splitlines()) == 1
    assert stderr.startswith("12 written, 0 unchanged, 0 removed in ") and " (1 app(s) rendered in " in stderr


def test_lint_commands_say_what_they_checked(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    run(capsys, "render", str(EXAMPLE), "--out", str(tmp_path / "out"))
    out = tmp_path / "out"
    code, stdout, stderr = run(capsys, "lint-pipeline", *map(str, sorted((out / "concourse").glob("*.yml"))))
    assert (code, stdout) == (0, "")
    assert stderr == (
        "lint-pipeline: 2 file(s) clean by the rules of `fly validate-pipeline --strict` (Concourse v8.2.5)\n"
    )
    pipelines = sorted(str(p) for p in (out / "spinnaker" / "petclinic").glob("*.json"))
    clouddriver = out / "spinnaker" / "clouddriver-local.yml"
    assert yaml.safe_load(clouddriver.read_text())  # the accounts the pipelines may use
    code, stdout, stderr = run(capsys, "lint-spinnaker", "--clouddriver", str(clouddriver), *pipelines)
    assert (code, stdout) == (0, "")
    assert stderr == (
        f"lint-spinnaker: {len(pipelines)} file(s) clean: pipelines by Orca's rules, manifests against the "
        f"Kubernetes 1.31 schemas, the accounts of {clouddriver}\n"
    )
    broken = json.loads(Path(pipelines[1]).read_text())
    broken["stages"] = "none"
    Path(pipelines[1]).write_text(json.dumps(broken))
    code, _, stderr = run(capsys, "lint-spinnaker", *pipelines)
    assert code == 1 and "clean" not in stderr

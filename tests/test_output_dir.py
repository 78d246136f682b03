"""`shiplane.output` edges: the file list survives any name, leftovers are reported and swept, one render at a time,
errors are one line (a read-only --out, out of memory)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from shiplane import config
from shiplane.cli import main
from shiplane.output import OutputDir, format_manifest, parse_manifest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "petclinic" / "shiplane.yaml"


@pytest.mark.parametrize("name", ["plain/a.yml", "dev\n.json", 'x/"quoted".json', " lead", "trail ", "tab\tx",
                                  "ü/🚀\u2028.json", "back\\slash", "a b/c d"])
def test_the_file_list_keeps_any_file_name(name: str) -> None:
    files = {name: "ab" * 32, "other.yml": None}
    text = format_manifest(files)
    assert parse_manifest(text) == files
    assert len(text.splitlines()) == 3  # header + one line per file, whatever the name holds


def test_a_file_list_of_the_first_format_is_read() -> None:
    assert parse_manifest("concourse/a.yml\n../escape\n/abs\n.shiplane-journal\n") == {"concourse/a.yml": None}


def test_leftovers_of_older_and_interrupted_renders_are_reported_then_swept(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["render", str(EXAMPLE), "--out", str(out)]) == 0
    old_temp = out / "concourse" / ".shiplane-abc123_z.tmp"  # what shiplane before the journal left behind
    old_temp.write_text("half")
    (out / ".shiplane-staging").mkdir()
    (out / ".shiplane-staging" / "f123").write_text("staged")
    capsys.readouterr()
    assert main(["render", str(EXAMPLE), "--out", str(out), "--check"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"{out}/.shiplane-staging: left by an interrupted render; shiplane render removes it"
    assert err[1].startswith(f"{out}: 1 temporary file(s) .shiplane-*.tmp left by an interrupted render")
    assert old_temp.exists()
    assert main(["render", str(EXAMPLE), "--out", str(out)]) == 0
    assert not old_temp.exists() and not (out / ".shiplane-staging").exists()
    capsys.readouterr()
    assert main(["render", str(EXAMPLE), "--out", str(out), "--check"]) == 0


def test_one_render_at_a_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    holder = OutputDir(str(out), check=False)  # holds the lock like a render in progress would
    try:
        assert main(["render", str(EXAMPLE), "--out", str(out)]) == 1
        assert capsys.readouterr().err == (f"shiplane: --out {out}: another shiplane render is writing here; wait "
                                           f"for it\n")
    finally:
        holder.abort()
    assert not out.exists()  # the holder created it, and removed it again
    assert main(["render", str(EXAMPLE), "--out", str(out)]) == 0


def read_only_directory(tmp_path: Path) -> Path:
    """A directory this process cannot create files in: chmod 555, or for root (who ignores modes) sysfs."""
    if os.geteuid() != 0:
        directory = tmp_path / "read-only"
        directory.mkdir(mode=0o555)
        return directory
    return Path("/sys/kernel")


def test_a_read_only_out_is_one_line_even_with_many_workers(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    directory = read_only_directory(tmp_path)
    assert directory.is_dir() and not os.access(directory / "x", os.F_OK)
    data = yaml.safe_load(EXAMPLE.read_text())
    for index in range(59):
        data["apps"][f"app-{index:02d}"] = {"git": {"uri": f"https://github.com/example/app-{index:02d}.git"}}
    big = tmp_path / "big.yaml"
    big.write_text(yaml.safe_dump(data))
    assert main(["render", str(big), "--out", str(directory), "--jobs", "2"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.splitlines()) == 1
    assert captured.err.startswith(f"shiplane: --out {directory}: cannot write (")


@pytest.mark.parametrize(("error", "message"), [
    (MemoryError, "shiplane: out of memory; nothing was written (is the config unusually large?)\n"),
    (RecursionError, "shiplane: the config or a template nests too deeply; nothing was written\n"),
])
def test_memory_and_recursion_errors_are_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str], error: type[Exception],
                                                  message: str) -> None:
    def fail(path: str) -> None:
        raise error

    monkeypatch.setattr(config, "load", fail)
    assert main(["render", str(EXAMPLE), "--out", str(tmp_path / "out")]) == 1
    assert capsys.readouterr() == ("", message)


@pytest.mark.parametrize("journal", ["not json", "[]", '{"moves": [["a", "../../etc/passwd"]], "remove": [], '
                                                         '"manifest": null}'])
def test_a_journal_that_is_not_ours_is_not_applied(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   journal: str) -> None:
    out = tmp_path / "out"
    assert main(["render", str(EXAMPLE), "--out", str(out)]) == 0
    (out / ".shiplane-journal").write_text(journal)
    before = sorted(p.name for p in out.rglob("*"))
    capsys.readouterr()
    assert main(["render", str(EXAMPLE), "--out", str(out)]) == 1
    assert capsys.readouterr().err == f"shiplane: {out}/.shiplane-journal: not a shiplane journal; remove it\n"
    assert sorted(p.name for p in out.rglob("*")) == before


def test_a_signal_whose_exception_python_swallowed_still_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGTERM's Interrupted raised inside a weakref callback is "Exception ignored" by Python and the render goes on;
    the signal is still remembered, so the commit does not happen and nothing is written (exit 143, no traceback)."""
    from shiplane import errors

    monkeypatch.setattr(errors, "_RECEIVED", [])
    out = tmp_path / "out"
    errors.note_signal(15)  # what the handler does before its exception is swallowed
    assert main(["render", str(EXAMPLE), "--out", str(out)]) == 143
    err = capsys.readouterr().err
    assert "Traceback" not in err and "nothing was written" in err
    assert not out.exists() or not any(path.is_file() for path in out.rglob("*"))


def test_a_swallowed_interrupt_prints_no_traceback() -> None:
    from types import SimpleNamespace

    from shiplane.cli import _unraisable
    from shiplane.errors import Interrupted

    seen: list[SimpleNamespace] = []
    hook = _unraisable(seen.append)
    hook(SimpleNamespace(exc_value=Interrupted(15), object="a weakref callback"))  # sys.UnraisableHookArgs' fields
    hook(SimpleNamespace(exc_value=ValueError("x"), object="elsewhere"))
    assert [type(args.exc_value) for args in seen] == [ValueError]

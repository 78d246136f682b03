"""What the fresh-machine proof (.ci/run) relies on: the README's start block, tool lookup, the host's apt mirror."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures import tools
from fixtures.aptsources import MirrorError, debian_mirror

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
CI_RUN = ROOT / ".ci" / "run"


def readme_commands() -> list[str]:
    """The ```sh block after the fresh-machine marker, one command per non-empty line (as .ci/run reads it)."""
    text = README.read_text(encoding="utf-8")
    marker = text.index("<!-- fresh-machine commands")
    block = re.search(r"^```sh\n(.*?)^```$", text[marker:], re.MULTILINE | re.DOTALL)
    assert block, "README.md: no ```sh block after the fresh-machine marker"
    return [line for line in block[1].splitlines() if line.strip()]


def test_the_readme_starts_with_the_two_make_commands() -> None:
    assert readme_commands() == ["make example", "make test"]
    targets = re.findall(r"^([a-z-]+):", (ROOT / "Makefile").read_text(encoding="utf-8"), re.MULTILINE)
    assert {"example", "test"} <= set(targets)
    # On the first screen: the start block comes before the Requirements.
    text = README.read_text(encoding="utf-8")
    assert text.index("<!-- fresh-machine commands") < text.index("## Requirements")


def test_ci_run_reads_the_same_commands() -> None:
    script = CI_RUN.read_text(encoding="utf-8")
    program = re.search(r"mapfile -t COMMANDS < <\(awk '(.*?)' README\.md\)", script, re.DOTALL)
    assert program, ".ci/run no longer extracts the README's commands with awk"
    out = subprocess.run(["awk", program[1], str(README)], capture_output=True, text=True, check=True, timeout=30)
    assert out.stdout.splitlines() == readme_commands()
    assert CI_RUN.stat().st_mode & stat.S_IXUSR


def test_every_reference_document_is_linked_from_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [doc.name for doc in sorted((ROOT / "docs").glob("*.md")) if f"(docs/{doc.name}" not in text]
    assert not missing, f"link these from README.md's Reference table: {missing}"


def test_the_readme_lists_exactly_the_vars_the_example_needs() -> None:
    rendered = "".join(path.read_text(encoding="utf-8") for path in sorted((ROOT / "tests/golden").rglob("*.*")))
    needed = {name for name in re.findall(r"\(\(([^).]+?)\)\)", rendered) if not name.startswith(".")}
    table = README.read_text(encoding="utf-8").split("**The `((vars))`.**", 1)[1].split("\n\n", 2)[1]
    listed = set(re.findall(r"^\| `\(\(([^)]+)\)\)` \|", table, re.MULTILINE))
    assert needed and listed == needed


# --- tools are found where `make test` installed them ----------------------------------------------------------


def _program(directory: Path, name: str) -> Path:
    path = directory / name
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


def test_a_tool_in_the_venv_is_found_without_activating_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    venv_bin = tmp_path / "venv" / "bin"
    venv_bin.mkdir(parents=True)
    program = _program(venv_bin, "shiplane-test-tool")
    monkeypatch.setattr(sys, "executable", str(venv_bin / "python"))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert tools.find("shiplane-test-tool") == str(program)
    assert tools.missing(("shiplane-test-tool", "shiplane-no-such-tool")) == ["shiplane-no-such-tool"]


def test_sbin_tools_are_found_with_a_users_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # Debian's /etc/profile gives a non-root user PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games.
    monkeypatch.setenv("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games")
    sbin_program = next(
        (p for d in tools.SBIN_DIRS if Path(d).is_dir() for p in sorted(Path(d).iterdir()) if os.access(p, os.X_OK)),
        None,
    )
    assert sbin_program is not None, "no program in any sbin directory"
    found = tools.find(sbin_program.name)
    assert found is not None and Path(found).name == sbin_program.name
    assert tools.search_path().split(os.pathsep)[0] == str(Path(sys.executable).parent)


# --- the Debian mirror comes from apt's own configuration ------------------------------------------------------


def _apt_config(tmp_path: Path, sources_list: str, parts: dict[str, str]) -> dict[str, str]:
    """An APT_CONFIG that points apt at these sources only (apt.conf(5): Dir::Etc::sourcelist, sourceparts)."""
    parts_dir = tmp_path / "sources.list.d"
    parts_dir.mkdir()
    (tmp_path / "sources.list").write_text(sources_list)
    for name, text in parts.items():
        (parts_dir / name).write_text(text)
    config = tmp_path / "apt.conf"
    config.write_text(
        f'Dir::Etc::sourcelist "{tmp_path / "sources.list"}";\nDir::Etc::sourceparts "{parts_dir}";\n'
        f'Dir::State::lists "{tmp_path}/lists";\n'
    )
    return {"APT_CONFIG": str(config)}


DEB822 = """Types: deb
URIs: http://mirror.invalid/debian-security
Suites: bookworm-security
Components: main

Types: deb deb-src
URIs: http://mirror.invalid/debian/
Suites: bookworm bookworm-updates
Components: main
"""


@pytest.mark.parametrize(
    ("sources_list", "parts", "expected"),
    [
        ("deb [arch=amd64] http://one.invalid/debian bookworm main\n", {}, "http://one.invalid/debian"),
        ("", {"debian.sources": DEB822}, "http://mirror.invalid/debian"),
        # Another suite of a Debian archive: every suite lives in the same archive.
        ("deb http://two.invalid/debian trixie main\n", {}, "http://two.invalid/debian"),
        ("# deb http://off.invalid/debian bookworm main\ndeb http://on.invalid/debian bookworm main\n", {},
         "http://on.invalid/debian"),
    ],
)
def test_the_mirror_is_read_from_apts_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sources_list: str, parts: dict[str, str], expected: str
) -> None:
    for key, value in _apt_config(tmp_path, sources_list, parts).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("DEBIAN_MIRROR", raising=False)
    assert debian_mirror("bookworm") == expected


def test_no_debian_archive_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in _apt_config(tmp_path, "deb http://archive.invalid/ubuntu noble main\n", {}).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("DEBIAN_MIRROR", raising=False)
    with pytest.raises(MirrorError, match=r"no Debian archive configured for bookworm.*set DEBIAN_MIRROR"):
        debian_mirror("bookworm")
    monkeypatch.setenv("DEBIAN_MIRROR", "http://override.invalid/debian/")
    assert debian_mirror("bookworm") == "http://override.invalid/debian"


def test_the_script_form_prints_the_mirror_or_fails_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, **_apt_config(tmp_path, "deb http://one.invalid/debian bookworm main\n", {})}
    env.pop("DEBIAN_MIRROR", None)
    script = str(ROOT / "tests" / "fixtures" / "aptsources.py")
    done = subprocess.run([sys.executable, script], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, "http://one.invalid/debian\n", "")
    (tmp_path / "sources.list").write_text("")
    done = subprocess.run([sys.executable, script], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1 and done.stdout == "" and len(done.stderr.splitlines()) == 1


def _slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_the_readmes_links_resolve() -> None:
    text = README.read_text(encoding="utf-8")
    links = re.findall(r"\]\(((?:docs/[\w.-]+\.md)?)(?:#([\w-]+))?\)", text)
    assert len(links) > 10
    for target, anchor in links:
        document = (ROOT / target) if target else README
        assert document.is_file(), f"README.md links to {target}, which does not exist"
        if anchor:
            headings = re.findall(r"^#+ (.+)$", document.read_text(encoding="utf-8"), re.MULTILINE)
            assert anchor in {_slug(h) for h in headings}, f"README.md links to {target}#{anchor}: no such heading"


def test_ci_run_stays_inside_the_ci_time_limit() -> None:
    """Every timed step of .ci/run is bounded by what is left of SHIPLANE_CI_TOTAL_TIMEOUT (85 min: inside CI's 90
    with time to unmount): the per-step limits alone (debootstrap 15 min, each README command 45, the suite 40) add
    up to far more, and a hang used to outlast CI's limit, which kills without unmounting."""
    script = CI_RUN.read_text(encoding="utf-8")
    total = re.search(r"^TOTAL_TIMEOUT=\$\{SHIPLANE_CI_TOTAL_TIMEOUT:-(\d+)\}$", script, re.MULTILINE)
    assert total and int(total.group(1)) + 30 <= 90 * 60 - 60
    timed = re.findall(r"/usr/bin/timeout --kill-after=30 (\S+)", script)
    assert len(timed) == 4 and all(arg == '"$(limit' for arg in timed), timed
    function = re.search(r"^limit\(\) \{.*\}$", script, re.MULTILINE)
    assert function
    shell = f'START=$SECONDS; TOTAL_TIMEOUT=100; {function.group(0)}; limit 2700; limit 50; SECONDS=150; limit 2700'
    result = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, check=True, timeout=10)
    assert result.stdout.split() == ["100", "50", "1"]

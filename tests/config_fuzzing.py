"""Seeded mutations of fleet configs and the bad-input promise they are checked against (tests and benchmarks).

`mutate` edits a config's text the way a hurried or hostile user might: lines dropped, duplicated, re-indented,
anchors and aliases and merge keys sprinkled in, YAML tags, control characters, quotes, huge numbers.
"""

from __future__ import annotations

import contextlib
import io
import random
import traceback

PIECES = (
    "\x00", "\ufffd", "&a ", "*a", "<<: *a\n", "- ", ": ", "{", "}", "[", "]", "'", '"', "\\",
    "!!python/object:os.system ", "!!binary ", "!!set ", "~", "yes", "0x1F", "1e400", "\t", "((x))", "${x}",
    "\x1b[2J", "\x85", "\u2028", "é", "  ", "\n", "#", "%YAML 1.1\n", "---\n", "...", "? ", "|\n", ">-\n",
    "<<: [*a, *a]\n", "&b [*a, *a, *a]", "9" * 30, "-.inf", ".nan", "2001-12-14", "!!int '1'",
)


def mutate(text: str, rng: random.Random) -> str:
    """One random edit of `text` (deterministic for a seeded `rng`)."""
    lines = text.splitlines(keepends=True) or [""]
    choice = rng.randrange(8)
    index = rng.randrange(len(lines))
    line = lines[index]
    at = rng.randrange(len(line) + 1)
    if choice == 0:
        del lines[index]
    elif choice == 1:
        lines.insert(index, rng.choice(lines))
    elif choice == 2:
        lines[index] = line[:at] + rng.choice(PIECES) + line[at:]
    elif choice == 3:
        lines[index] = line[:at] + line[at + rng.randrange(1, 6) :]
    elif choice == 4:
        lines[index] = line.replace(":", rng.choice([": &a", ": *a", ":: ", ": []", ": {}", ": null"]), 1)
    elif choice == 5:
        lines[index] = "  " + line
    elif choice == 6:
        lines[index] = line.lstrip(" ")
    else:
        lines[index] = line.rstrip("\n") + rng.choice(PIECES) + "\n"
    return "".join(lines)


def payloads(seeds: list[str], count: int, seed: int) -> list[str]:
    """`count` mutated configs: each one to three edits of one of `seeds`."""
    rng = random.Random(seed)
    found = []
    for _ in range(count):
        text = rng.choice(seeds)
        for _ in range(rng.randrange(1, 4)):
            text = mutate(text, rng)
        found.append(text)
    return found


def run_cli(*argv: str) -> tuple[int, str, str]:
    """`shiplane ARGV` in this process: exit code, stdout, stderr (an escaping exception is code -1)."""
    from shiplane.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except BaseException:  # a traceback is exactly what is being looked for
            code = -1
            err.write(traceback.format_exc())
    return code, out.getvalue(), err.getvalue()


def broken_promise(result: tuple[int, str, str]) -> str | None:
    """Why a run breaks the promise (exit 0, or exit 1/2 with only `shiplane: ...` lines; nothing on stdout;
    no traceback or internal error), or None."""
    code, stdout, stderr = result
    if stdout:
        return "stdout not empty"
    if "Traceback" in stderr or "internal error" in stderr:
        return "traceback"
    if code not in (0, 1, 2):
        return f"exit {code}"
    if code and (not stderr or any(not line.startswith("shiplane: ") for line in stderr.splitlines())):
        return "stderr not one line per problem"
    return None

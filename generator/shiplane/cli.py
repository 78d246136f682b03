"""`shiplane` command line: render, validate, lint-pipeline, lint-spinnaker, plan, apply.

Exit codes: 0 done, 1 invalid config, invalid output or lint findings, 2 usage. Every message goes to stderr;
stdout stays empty (except `--help` and `--version`, argparse's own output). Each command ends with one line saying
what it did or checked, so a CI log shows it; a render on a terminal also shows a progress counter while it works.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from typing import Any, NoReturn, TextIO

from shiplane import concourse, config, render, spinnaker
from shiplane.errors import Interrupted, ShiplaneError, UsageError, note_signal
from shiplane.reconcile import run as reconcile
from shiplane.templates import TemplateSet

UnraisableHook = Callable[[Any], object]  # sys.UnraisableHookArgs -> None


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def version() -> str:
    """The installed distribution's version (pyproject.toml `version`), or `unknown` when run from a bare tree."""
    try:
        return metadata.version("shiplane")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def shown(out_dir: str, path: str) -> str:
    """A file of the output directory as the user would type it: `out/` + `a/b.yml` is `out/a/b.yml`."""
    return os.path.join(out_dir, path)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="shiplane",
        description="Render Concourse and Spinnaker pipelines for a fleet of apps, environments and clusters.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    render_cmd = commands.add_parser("render", help="render, validate and write every document")
    render_cmd.add_argument("config", help="the fleet config, e.g. examples/petclinic/shiplane.yaml")
    render_cmd.add_argument("--out", required=True, help="output directory (created if missing)")
    render_cmd.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 listing the files that would change"
    )
    render_cmd.add_argument("--only", metavar="APP", help="render one app (and the fleet-wide files)")
    render_cmd.add_argument("--templates", metavar="DIR", help="directory whose templates shadow the built-in ones")
    render_cmd.add_argument(
        "--force", action="store_true", help="with --only: replace files edited by hand since the last render"
    )
    render_cmd.add_argument(
        "--jobs",
        type=int,
        metavar="N",
        help="processes to render with (default: one per CPU for large fleets, 1 below 50 apps)",
    )

    validate_cmd = commands.add_parser("validate", help="validate the config and every rendered document")
    validate_cmd.add_argument("config")
    validate_cmd.add_argument("--templates", metavar="DIR")

    lint_pipeline = commands.add_parser(
        "lint-pipeline", help="check Concourse pipeline files like `fly validate-pipeline --strict`"
    )
    lint_pipeline.add_argument("files", nargs="+", metavar="FILE")
    lint_pipeline.add_argument("--no-strict", action="store_true", help="report warnings without failing on them")

    lint_spin = commands.add_parser("lint-spinnaker", help="check Spinnaker pipeline JSON against Orca's rules")
    lint_spin.add_argument("files", nargs="+", metavar="FILE")
    lint_spin.add_argument(
        "--clouddriver", metavar="FILE", help="clouddriver-local.yml whose accounts the pipelines may use"
    )
    versions = lint_spin.add_mutually_exclusive_group()
    versions.add_argument(
        "--kubernetes-version", metavar="X.Y", help="Kubernetes version whose schemas manifests are checked against"
    )
    versions.add_argument(
        "--config", metavar="FLEET", help="take the Kubernetes version from this fleet config's spinnaker section"
    )
    _reconcile_parsers(commands)
    return parser


def _reconcile_parsers(commands: argparse._SubParsersAction[_Parser]) -> None:
    """`plan` and `apply` (shiplane.reconcile): exit 0 no changes / 2 changes (plan), 1 error."""
    plan_cmd = commands.add_parser("plan", help="show what apply would change in Spinnaker and Harbor (exit 2)")
    apply_cmd = commands.add_parser("apply", help="make Spinnaker and Harbor match the fleet config")
    for sub in (plan_cmd, apply_cmd):
        sub.add_argument("config", help="the fleet config")
        sub.add_argument("--target", action="append", choices=("spinnaker", "harbor"),
                         help="reconcile only this system (repeatable; default both)")
        sub.add_argument("--only", metavar="APP", help="only this app's Spinnaker application and pipelines")
        sub.add_argument("--prune", action="store_true",
                         help="delete pipelines this fleet config manages that are no longer in it")
        sub.add_argument("--adopt", action="store_true",
                         help="take over existing pipelines of the config's names that shiplane did not create")
        sub.add_argument("--json", action="store_true", help="machine-readable output on stdout")
        sub.add_argument("--templates", metavar="DIR", help="directory whose templates shadow the built-in ones")
        sub.add_argument("--spin-config", metavar="FILE", help="spin's config file (default ~/.spin/config)")
        sub.add_argument("--gate-url", metavar="URL", help="Gate's URL (overrides gate.endpoint)")
        sub.add_argument("--gate-ca", metavar="FILE", help="PEM CA certificates that sign Gate's certificate")
        sub.add_argument("--harbor-credentials", metavar="FILE",
                         help="YAML with username and password (default: HARBOR_USERNAME, HARBOR_PASSWORD)")
        sub.add_argument("--harbor-ca", metavar="FILE", help="PEM CA certificates that sign Harbor's certificate")
        sub.add_argument("--timeout", type=float, default=3600.0, metavar="SECONDS",
                         help="give up after this long (default 3600)")
        sub.add_argument("--debug", action="store_true", help="log every request on stderr (secrets redacted)")
    apply_cmd.add_argument("--secrets-dir", metavar="DIR",
                           help="where new robot accounts' secrets are written (mode 0600)")
    apply_cmd.add_argument("--dry-run", action="store_true", help="only plan (same output and exit code)")
    apply_cmd.add_argument("--parallel", type=int, default=4, metavar="N",
                           help="pipelines saved at once, each on its own Gate connection (default 4)")


def _reconcile(args: argparse.Namespace, stderr: TextIO) -> int:
    options = reconcile.Options(
        config=args.config, targets=tuple(args.target or reconcile.TARGETS), only=args.only, prune=args.prune,
        adopt=args.adopt, templates=args.templates, spin_config=args.spin_config, gate_url=args.gate_url,
        gate_ca=args.gate_ca, harbor_credentials=args.harbor_credentials, harbor_ca=args.harbor_ca,
        secrets_dir=getattr(args, "secrets_dir", None), timeout=args.timeout, as_json=args.json, debug=args.debug,
        parallel=getattr(args, "parallel", 1),
    )
    if getattr(args, "parallel", 1) < 1:
        raise UsageError(f"--parallel {args.parallel}: give 1 or more")
    if not math.isfinite(args.timeout) or args.timeout <= 0:  # nan/inf would make every wait unbounded
        raise UsageError(f"--timeout {args.timeout}: give a finite number of seconds above 0")
    if args.command == "plan" or getattr(args, "dry_run", False):
        return reconcile.plan_command(options, sys.stdout, stderr)
    return reconcile.apply_command(options, sys.stdout, stderr)


def run(argv: Sequence[str], stderr: TextIO) -> int:
    # argparse reports a subcommand's unknown options from the top-level parser; name the subcommand's help instead.
    args, unknown = _parser().parse_known_args(argv)
    if unknown:
        raise UsageError(f"unrecognized arguments: {' '.join(unknown)} (see shiplane {args.command} --help)")
    if args.command == "render":
        fleet = config.load(args.config)
        started = time.monotonic()
        changes = render.render(
            fleet,
            TemplateSet(args.templates),
            args.out,
            check=args.check,
            only=args.only,
            jobs=args.jobs,
            force=args.force,
        )
        if args.check:
            for line in changes.pending:
                stderr.write(f"{line}\n")
            if changes.changed or changes.pending:
                for path in changes.changed:
                    state = "would be removed" if path in changes.removed else "would change"
                    stderr.write(f"{shown(args.out, path)}: {state}\n")
                stderr.write(f"{len(changes.changed)} file(s) out of date; run shiplane render without --check\n")
                return 1
            stderr.write(f"{len(changes.unchanged)} file(s) up to date\n")
            return 0
        for path in changes.edited:
            stderr.write(f"{shown(args.out, path)}: had been edited since the last render; replaced\n")
        apps = len(render.select_apps(fleet, args.only))
        stderr.write(
            f"{len(changes.written)} written, {len(changes.unchanged)} unchanged, {len(changes.removed)} removed "
            f"in {args.out} ({apps} app(s) rendered in {time.monotonic() - started:.1f} s)\n"
        )
        return 0
    if args.command == "validate":
        fleet = config.load(args.config)
        count = render.validate_fleet(fleet, TemplateSet(args.templates))
        stderr.write(f"{args.config}: valid ({len(fleet.apps)} apps, {count} documents)\n")
        return 0
    if args.command == "lint-pipeline":
        return concourse.lint_files(args.files, strict=not args.no_strict, stderr=stderr)
    if args.command == "lint-spinnaker":
        version = args.kubernetes_version
        if args.config is not None:
            version = config.load(args.config).spinnaker.kubernetes_version
        return spinnaker.lint_files(args.files, clouddriver=args.clouddriver, stderr=stderr,
                                    kubernetes_version=version)
    if args.command in ("plan", "apply"):
        return _reconcile(args, stderr)
    raise UsageError(f"unknown command {args.command}")


def printable(line: str) -> str:
    """`line` with every character that is not printable (newlines, ANSI escapes, U+2028, ...) escaped, so that
    one problem stays one line and a value echoed from a config cannot drive the terminal."""
    if line.isprintable():
        return line
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in line)


def _interrupt(signum: int, _frame: object) -> None:
    note_signal(signum)
    raise Interrupted(signum)


def _unraisable(hook: UnraisableHook) -> UnraisableHook:
    """sys.unraisablehook that stays silent about an Interrupted Python swallowed (no traceback on stderr: the signal
    is still acted on, see shiplane.errors.raise_if_interrupted) and hands anything else to `hook`."""

    def quiet(unraisable: Any) -> None:
        if not isinstance(unraisable.exc_value, Interrupted):
            hook(unraisable)

    return quiet


def main(argv: Sequence[str] | None = None) -> int:
    handlers = {}
    if threading.current_thread() is threading.main_thread():
        # SIGTERM is how Concourse and most supervisors stop a process: treat it like Ctrl-C (nothing half-written).
        # A signal the parent chose to ignore (`nohup`, a shell's background job) stays ignored.
        handlers = {
            number: signal.signal(number, _interrupt)
            for number in (signal.SIGINT, signal.SIGTERM)
            if signal.getsignal(number) is not signal.SIG_IGN
        }
    previous_hook = sys.unraisablehook
    sys.unraisablehook = _unraisable(previous_hook)
    try:
        return _main(argv)
    finally:
        sys.unraisablehook = previous_hook
        for number, handler in handlers.items():
            signal.signal(number, handler)


def _main(argv: Sequence[str] | None) -> int:
    try:
        return run(sys.argv[1:] if argv is None else argv, sys.stderr)
    except UsageError as exc:
        sys.stderr.write(f"shiplane: {printable(str(exc))}\n")
        return 2
    except ShiplaneError as exc:
        for line in exc.problems:
            sys.stderr.write(f"shiplane: {printable(line)}\n")
        return 1
    except (Interrupted, KeyboardInterrupt) as exc:
        signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
        name = signal.Signals(signum).name
        if isinstance(exc, Interrupted) and exc.committed:
            sys.stderr.write(f"shiplane: {name} arrived while the new files were put in place; they are complete\n")
        else:
            sys.stderr.write(f"shiplane: interrupted ({name}); nothing was written\n")
        return 128 + signum
    except MemoryError:
        sys.stderr.write("shiplane: out of memory; nothing was written (is the config unusually large?)\n")
        return 1
    except RecursionError:
        sys.stderr.write("shiplane: the config or a template nests too deeply; nothing was written\n")
        return 1

"""`shiplane` command line: render, validate, lint-pipeline, lint-spinnaker, plan, apply.

Exit codes: 0 done, 1 invalid config, invalid output or lint findings, 2 usage. Every message goes to stderr;
stdout stays empty.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn, TextIO

from shiplane import concourse, config, render, spinnaker
from shiplane.errors import ShiplaneError, UsageError
from shiplane.reconcile import run as reconcile
from shiplane.templates import TemplateSet


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see shiplane {self.prog.split()[-1]} --help)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="shiplane",
        description="Render Concourse and Spinnaker pipelines for a fleet of apps, environments and clusters.",
    )
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
    if args.timeout <= 0:
        raise UsageError(f"--timeout {args.timeout}: give a number of seconds above 0")
    if args.command == "plan" or getattr(args, "dry_run", False):
        return reconcile.plan_command(options, sys.stdout, stderr)
    return reconcile.apply_command(options, sys.stdout, stderr)


def run(argv: Sequence[str], stderr: TextIO) -> int:
    args = _parser().parse_args(argv)
    if args.command == "render":
        fleet = config.load(args.config)
        changes = render.render(
            fleet, TemplateSet(args.templates), args.out, check=args.check, only=args.only, jobs=args.jobs
        )
        if args.check:
            if changes.changed:
                for path in changes.changed:
                    state = "would be removed" if path in changes.removed else "would change"
                    stderr.write(f"{args.out}/{path}: {state}\n")
                stderr.write(f"{len(changes.changed)} file(s) out of date; run shiplane render without --check\n")
                return 1
            stderr.write(f"{len(changes.unchanged)} file(s) up to date\n")
            return 0
        stderr.write(
            f"{len(changes.written)} written, {len(changes.unchanged)} unchanged, {len(changes.removed)} removed "
            f"in {args.out}\n"
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
        return spinnaker.lint_files(args.files, clouddriver=args.clouddriver, stderr=stderr)
    if args.command in ("plan", "apply"):
        return _reconcile(args, stderr)
    raise UsageError(f"unknown command {args.command}")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(sys.argv[1:] if argv is None else argv, sys.stderr)
    except UsageError as exc:
        sys.stderr.write(f"shiplane: {exc}\n")
        return 2
    except ShiplaneError as exc:
        for line in exc.problems:
            sys.stderr.write(f"shiplane: {line}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("shiplane: interrupted; nothing was written\n")
        return 130

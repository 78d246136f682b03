"""`shiplane` command line: render, validate, lint-pipeline, lint-spinnaker.

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
    versions = lint_spin.add_mutually_exclusive_group()
    versions.add_argument(
        "--kubernetes-version", metavar="X.Y", help="Kubernetes version whose schemas manifests are checked against"
    )
    versions.add_argument(
        "--config", metavar="FLEET", help="take the Kubernetes version from this fleet config's spinnaker section"
    )
    return parser


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
        version = args.kubernetes_version
        if args.config is not None:
            version = config.load(args.config).spinnaker.kubernetes_version
        return spinnaker.lint_files(args.files, clouddriver=args.clouddriver, stderr=stderr,
                                    kubernetes_version=version)
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

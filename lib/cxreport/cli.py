"""Command line: ``cxreport report``, ``cxreport sample``, ``cxreport validate``.

Exit codes: 0 success, 1 a notebook failed (or publishing was refused, or
another run holds the output folder), 2 bad input data or parameters,
130/143 stopped by SIGINT/SIGTERM (nothing half-written is left behind).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .inputs import InputError
from .params import ParamsError, parse_override
from .safe_output import UnsafePath


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cxreport", description="Customer-experience reporting suite.")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("report", help="build every report of a year")
    r.add_argument("--year", type=int, required=True)
    r.add_argument("--data", type=Path, default=Path("data/sample"), help="input folder (default data/sample)")
    r.add_argument("--out", type=Path, default=Path("outputs"), help="output root (default outputs)")
    r.add_argument("--formats", default="html,pdf", help="comma-separated: html,pdf (the executed .ipynb is always kept)")
    r.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override a parameter (YAML value)")
    r.add_argument("--only", action="append", default=None, metavar="NOTEBOOK", help="build only this notebook (repeatable)")
    r.add_argument("--root", type=Path, default=Path("."), help="project folder holding notebooks/ and params/")
    r.add_argument("--force", action="store_true", help="execute every notebook again, even those whose inputs did not change")
    r.add_argument("--workers", type=int, default=None, help="notebooks run at once (default: the number of cores)")
    r.add_argument("--prune", action="store_true",
                   help="remove the earlier outputs of reports whose input is missing (by default they are kept)")

    s = sub.add_parser("sample", help="write the deterministic sample data")
    s.add_argument("--out", type=Path, default=Path("data/sample"))
    s.add_argument("--seed", type=int, default=2020)
    s.add_argument("--respondents", type=int, default=None, help="respondents per survey wave (for benchmarks)")

    v = sub.add_parser("validate", help="check input files against the input contract")
    v.add_argument("files", nargs="+", type=Path)

    pub = sub.add_parser("publish", help="copy a year's finished reports to a share or web folder, atomically")
    pub.add_argument("--year", type=int, required=True)
    pub.add_argument("--out", type=Path, default=Path("outputs"), help="output root the year was built in")
    pub.add_argument("--dest", type=Path, required=True, help="destination folder (the year lands in DEST/<YEAR>)")
    pub.add_argument("--include-notebooks", action="store_true", help="publish the executed notebooks too (scanned for personal data)")

    ny = sub.add_parser("new-year", help="start a year: write params/<YEAR>.yaml from the previous year's")
    ny.add_argument("--year", type=int, required=True)
    ny.add_argument("--root", type=Path, default=Path("."))
    ny.add_argument("--force", action="store_true", help="overwrite an existing params/<YEAR>.yaml")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "report":
            from .pipeline import NotebookFailed, build_year
            from .run_guard import Interrupted, RunLocked

            overrides = dict(parse_override(o) for o in args.overrides)
            formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
            try:
                build_year(args.root, args.year, args.data, args.out, formats, overrides, args.only, args.force,
                           args.workers, prune=args.prune)
            except (NotebookFailed, RunLocked) as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            except Interrupted as exc:
                print(f"stopped: {exc}; the previous build of {args.year} is unchanged", file=sys.stderr)
                return exc.exit_code
        elif args.command == "sample":
            from .sample import write_sample

            for name, path in write_sample(args.out, seed=args.seed, respondents=args.respondents).items():
                print(f"wrote {path}")
        elif args.command == "validate":
            from .inputs import CONTRACTS, load

            problems = []
            for path in args.files:
                if path.name not in CONTRACTS:
                    problems.append(f"{path}: no input contract for a file named {path.name}; known: {', '.join(sorted(CONTRACTS))}")
                    continue
                try:
                    frame = load(path, CONTRACTS[path.name])
                    print(f"{path}: {len(frame)} rows, valid")
                except InputError as exc:
                    problems.extend(exc.messages)
            if problems:
                raise InputError(problems)
        elif args.command == "publish":
            from .publish import PublishError, publish_year

            try:
                final = publish_year(args.out, args.year, args.dest, args.include_notebooks)
            except PublishError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            print(f"published {args.year} to {final}")
        elif args.command == "new-year":
            from .pipeline import discover
            from .publish import next_year_params

            try:
                target = next_year_params(args.root / "params", args.year, args.force)
            except FileExistsError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            print(f"wrote {target}: check the values that differ in {args.year}")
            print(f"the {args.year} reports read these files from the data folder (a report whose file is missing is skipped):")
            needs: dict[str, list[str]] = {}
            for nb in discover(args.root / "notebooks"):
                for name in nb.requires:
                    needs.setdefault(name, []).append(nb.name)
            for name, notebooks in sorted(needs.items()):
                print(f"  {name:32s} for {', '.join(notebooks)}")
    except (InputError, ParamsError, UnsafePath) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

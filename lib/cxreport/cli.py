"""Command line: ``cxreport report``, ``cxreport sample``, ``cxreport validate``.

Exit codes: 0 success, 1 a notebook failed (or publishing was refused, or
another run holds the output folder), 2 bad input data or parameters,
130/143 stopped by SIGINT/SIGTERM (nothing half-written is left behind).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .engine import DEFAULT_ENGINE, ENGINES
from .inputs import InputError
from .params import ParamsError, parse_override
from .safe_output import UnsafePath


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="cxreport", description="Customer-experience reporting suite: yearly reports from surveys, maturity "
        "assessments, revenue ledgers and partner-programme data.",
        epilog="Exit codes: 0 done, 1 a notebook failed (or publishing was refused, or another run holds OUT), "
               "2 invalid input data or settings, 130/143 stopped.")
    p.add_argument("--version", action="version", version=f"cxreport {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = sub.add_parser("report", help="build every report of a year",
                       description="Build every report of a year from the data folder into OUT/<YEAR>: only what "
                                   "changed since the last build, in parallel, swapped in when everything succeeded.")
    r.add_argument("--year", type=int, required=True, help="the report year, e.g. 2020 (params/<YEAR>.yaml applies)")
    r.add_argument("--data", type=Path, default=Path("data/sample"),
                   help="input folder (default data/sample; a relative path is taken from --root)")
    r.add_argument("--out", type=Path, default=Path("outputs"),
                   help="output root (default outputs; a relative path is taken from --root)")
    r.add_argument("--formats", default="html,pdf", help="comma-separated: html,pdf (the executed .ipynb is always kept)")
    r.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override a parameter (YAML value)")
    r.add_argument("--only", action="append", default=None, metavar="NOTEBOOK", help="build only this notebook (repeatable)")
    r.add_argument("--root", type=Path, default=Path("."), help="project folder holding notebooks/ and params/")
    r.add_argument("--force", action="store_true", help="execute every notebook again, even those whose inputs did not change")
    r.add_argument("--workers", type=int, default=None, help="notebooks run at once (default: the number of cores)")
    r.add_argument("--prune", action="store_true",
                   help="remove the earlier outputs of reports whose input is missing (by default they are kept)")
    r.add_argument("--engine", choices=ENGINES, default=DEFAULT_ENGINE,
                   help="where the reports' queries run: duckdb (default, embedded) or spark (local mode needs Java 17)")
    r.add_argument("--engine-url", default=None, metavar="URL",
                   help="with --engine spark: a cluster (spark://host:7077) or Spark Connect (sc://host:15002) URL")
    loud = r.add_mutually_exclusive_group()
    loud.add_argument("-q", "--quiet", action="store_true", help="show errors only (no progress)")
    loud.add_argument("-v", "--verbose", action="store_true",
                      help="show every step: one line per notebook run, reused or executed")

    s = sub.add_parser("sample", help="write the deterministic sample data")
    s.add_argument("--out", type=Path, default=Path("data/sample"), help="folder to write the CSV files to (default data/sample)")
    s.add_argument("--seed", type=int, default=2020, help="random seed (default 2020: the committed sample)")
    s.add_argument("--respondents", type=int, default=None, help="respondents per survey wave (for benchmarks)")

    v = sub.add_parser("validate", help="check input files against the input contract and against each other",
                       description="Check input files (CSV, any of , ; or tab, UTF-8 or Windows-1252; or .xlsx, its "
                                   "first sheet) against the input contract, then the cross-file rules between them "
                                   "(e.g. every customer_id of revenue.csv listed in accounts.csv), as `report` does. "
                                   "accounts.csv and partners.csv are read from beside a file that refers to them "
                                   "when not given. Exit code 2 when there is any problem.")
    v.add_argument("files", nargs="+", type=Path, metavar="FILE", help="an input file, e.g. data/sample/revenue.csv")

    pub = sub.add_parser("publish", help="copy a year's finished reports to a share or web folder, atomically")
    pub.add_argument("--year", type=int, required=True, help="the year to publish (OUT/<YEAR> must hold a finished build)")
    pub.add_argument("--out", type=Path, default=Path("outputs"), help="output root the year was built in")
    pub.add_argument("--dest", type=Path, required=True, help="destination folder (the year lands in DEST/<YEAR>)")
    pub.add_argument("--include-notebooks", action="store_true", help="publish the executed notebooks too (scanned for personal data)")

    ny = sub.add_parser("new-year", help="start a year: write params/<YEAR>.yaml from the previous year's")
    ny.add_argument("--year", type=int, required=True, help="the new year, e.g. 2021")
    ny.add_argument("--root", type=Path, default=Path("."), help="project folder holding params/ and notebooks/")
    ny.add_argument("--force", action="store_true", help="overwrite an existing params/<YEAR>.yaml")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "report":
            import logging

            from .build.execute import NotebookFailed
            from .build.progress import log, setup_logging
            from .build.run import build_year
            from .run_guard import Interrupted, RunLocked

            setup_logging(logging.ERROR if args.quiet else logging.DEBUG if args.verbose else logging.INFO)
            overrides = dict(parse_override(o) for o in args.overrides)
            formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
            # Relative folders are the project's: `cxreport report --root REPO` works from any folder.
            data = args.data if args.data.is_absolute() else args.root / args.data
            out = args.out if args.out.is_absolute() else args.root / args.out
            try:
                build_year(args.root, args.year, data, out, formats, overrides, args.only, args.force,
                           args.workers, prune=args.prune, engine=args.engine, engine_url=args.engine_url)
            except NotebookFailed as exc:
                # Built from the failures' fields: notebook, cell, error, where the notebook and its log are kept.
                log.error("error: %s", exc)
                return 1
            except RunLocked as exc:
                log.error("error: %s", exc)
                return 1
            except Interrupted as exc:
                log.error("stopped: %s; the previous build of %s is unchanged", exc, args.year)
                return exc.exit_code
        elif args.command == "sample":
            from .sample import write_sample

            for name, path in write_sample(args.out, seed=args.seed, respondents=args.respondents).items():
                print(f"wrote {path}")
        elif args.command == "validate":
            import warnings

            from .engine.load import Source, check_references, load_table
            from .inputs import CONTRACTS, REFERENCES, InputWarning, input_path

            def contract_name(path: Path) -> str | None:
                if path.name in CONTRACTS:
                    return path.name
                if path.suffix.lower() in (".xlsx", ".xlsm", ".parquet") and path.stem + ".csv" in CONTRACTS:
                    return path.stem + ".csv"
                return None

            problems: list[str] = []
            unlisted = 0
            given: list[tuple[Path, str]] = []
            for path in args.files:
                name = contract_name(path)
                if name is None:
                    problems.append(f"{path}: no input contract for a file named {path.name}; known: {', '.join(sorted(CONTRACTS))}"
                                    " (or the same name ending .xlsx or .parquet)")
                else:
                    given.append((path, name))
            # The files are cross-checked folder by folder, as `report` checks one data folder; a file another
            # refers to comes from the given files when given once, else from beside the file that refers to it.
            groups: dict[Path, dict[str, Path]] = {}
            for path, name in given:
                groups.setdefault(path.parent, {})[name] = path
            given_once = {name: path for path, name in given if sum(n == name for _, n in given) == 1}
            extra: set[Path] = set()
            for folder, files in groups.items():
                for ref in REFERENCES:
                    if ref.filename in files and ref.target not in files:
                        target = given_once.get(ref.target) or input_path(folder, ref.target)
                        if target is not None:
                            files[ref.target] = target
                            if target not in {p for p, _ in given}:
                                extra.add(target)
            loaded_of: dict[Path, object] = {}
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", InputWarning)
                for path in dict.fromkeys([p for p, _ in given] + sorted(extra)):
                    name = contract_name(path)
                    try:
                        # The same loader as `report`: a large file or Parquet is checked on the engine.
                        item = load_table(Source(name, path=path), CONTRACTS[name])
                    except InputError as exc:
                        problems.extend(exc.messages)
                        unlisted += exc.unlisted
                        continue
                    loaded_of[path] = item
                    how = item.info.describe() if item.info is not None else item.provenance.get("format", "Parquet")
                    note = ", read for the cross-file checks" if path in extra else ""
                    print(f"{path}: {item.rows} rows, valid ({how}{note})")
            for w in caught:
                if issubclass(w.category, InputWarning):
                    print(f"warning: {w.message}", file=sys.stderr)
                else:
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            for files in groups.values():
                found = check_references({name: loaded_of[p] for name, p in files.items() if p in loaded_of})
                if found is not None:
                    problems.extend(found.messages)
                    unlisted += found.unlisted
            if problems or unlisted:
                raise InputError(list(dict.fromkeys(problems)), unlisted)
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

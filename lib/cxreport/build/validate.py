"""Up-front checks: nothing runs, and nothing is written, until the parameters and every input file pass.

- :func:`parameters_for`: every setting is type- and range-checked, an unknown
  key (a typo) is refused, and each notebook receives the settings its report reads;
- :func:`check_input_files`: a data folder the run cannot use (a wrong
  ``--data``, an input saved as a workbook or under a name that differs in case);
- :func:`validate_inputs`: every input (a file in the data folder, or a database
  table named by the ``input_tables`` setting) against its contract, loaded once on
  the engine (:func:`cxreport.engine.load.load_table`) into the run database, then
  the cross-file rules and what the report year needs (:func:`year_coverage_problems`);
- :func:`validated`: the verdict cache: last build's verdict is reused when no
  input, no contract and not the year changed (and then nothing is loaded).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from ..engine import load as loader
from ..engine.load import (
    LoadedInput,
    Source,
    find_source,
    load_table,
    source_fingerprint,
)
from ..engine.rundb import RunDatabase, file_name
from ..inputs import CONTRACTS, EXCEL_SUFFIXES, InputError
from ..params import ParamsError
from ..settings import SETTING_NAMES, validate_settings
from . import cache
from .discover import PIPELINE_PARAMETERS, Notebook

KNOWN_FORMATS = ("html", "pdf")


def check_formats(formats: tuple[str, ...]) -> None:
    bad = [f for f in formats if f not in KNOWN_FORMATS]
    if bad:
        raise ParamsError(f"unknown format(s) {', '.join(bad)}; expected some of {', '.join(KNOWN_FORMATS)}")


def check_engine(name: str, url: str | None = None) -> None:
    """Stop (``ParamsError``) on an engine the run cannot use, before anything runs: an unknown name, or Spark in
    local mode without Java (a cluster or Spark Connect URL needs no local Java)."""
    import os
    import shutil

    from ..engine import ENGINES

    if name not in ENGINES:
        raise ParamsError(f"--engine {name!r}: expected one of {', '.join(ENGINES)}")
    if name == "spark" and not url and not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        raise ParamsError("--engine spark runs Spark in local mode, which needs Java 17: install it (Debian: "
                          "apt-get install openjdk-17-jre-headless) or set JAVA_HOME, or give --engine-url")


def input_tables(params: dict) -> dict[str, dict]:
    """The ``input_tables`` setting, checked (a table without a URL, an unknown input name: ``ParamsError``)."""
    return {name: spec.model_dump() for name, spec in validate_settings(params).input_tables.items()}


def check_only(only: list[str] | None, notebooks: list[Notebook]) -> None:
    unknown = sorted(set(only or ()) - {nb.name for nb in notebooks})
    if unknown:
        raise ParamsError(f"--only {', '.join(unknown)}: no such notebook; the notebooks are "
                          f"{', '.join(nb.name for nb in notebooks)}")


def report_settings(nb: Notebook) -> tuple[str, ...]:
    """The settings a notebook's report reads (``SETTINGS`` of its ``cxreport.reports`` module)."""
    module = importlib.import_module(f"cxreport.reports.{nb.report}")
    return tuple(module.SETTINGS)


def parameters_for(notebooks: list[Notebook], params: dict) -> dict[str, dict]:
    """Check the merged parameters and split them between notebooks.

    Every value is type- and range-checked first (:func:`cxreport.settings.validate_settings`):
    a bad one stops the run (``ParamsError``, exit code 2) before any notebook
    runs. A notebook built on a report model receives ``settings``: exactly
    the settings its report reads, so a change to another report's setting
    leaves its build key alone. An unknown key (a typo) is an error too:
    papermill would only warn, and the typo would silently change nothing.
    """
    known = set(SETTING_NAMES) | set(PIPELINE_PARAMETERS)
    for nb in notebooks:
        if not nb.report:
            known |= set(nb.parameters)
    unknown = sorted(k for k in params if k not in known)
    if unknown:
        raise ParamsError(
            f"unknown parameter(s) {', '.join(unknown)}: no report reads them. "
            f"Known settings: {', '.join(sorted(SETTING_NAMES))}"
        )
    validate_settings(params)
    out = {}
    for nb in notebooks:
        if nb.report:
            out[nb.name] = {"settings": {k: params[k] for k in report_settings(nb) if k in params}}
        else:
            out[nb.name] = {k: v for k, v in params.items() if k in nb.parameters}
    return out


def year_coverage_problems(frames: dict, year: int) -> list[str]:
    """What the report year needs of the inputs beyond their contract: the ledger must reach December of the year.

    ``frames`` maps input names to loaded inputs (:class:`~cxreport.engine.load.LoadedInput`, whose first and
    last month were found while validating) or to frames as :func:`cxreport.inputs.load` returns them.
    """
    import pandas as pd

    problems = []
    ledger = frames.get("revenue.csv")
    if ledger is None:
        return problems
    if isinstance(ledger, LoadedInput):
        first, last = ledger.ranges.get("month", (None, None))
        if first is None:
            return problems
        first, last = pd.Period(first, "M"), pd.Period(last, "M")
    elif len(ledger):
        first, last = ledger["month"].min(), ledger["month"].max()
    else:
        return problems
    if first > pd.Period(f"{year}-12", "M"):
        problems.append(f"revenue.csv: the ledger starts in {first}, after the report year {year}; "
                        f"expected months in or before {year}")
    elif last < pd.Period(f"{year}-12", "M"):
        problems.append(f"revenue.csv: the ledger ends in {last}; the {year} report needs every month up to "
                        f"{year}-12, since the year's figures close in December")
    return problems


def input_sources(data_dir: Path, files, tables: dict | None = None) -> dict[str, Source]:
    """Where each input is: a database table named in ``tables`` (the ``input_tables`` setting), else its file in
    ``data_dir`` (a name with neither gets a source at ``data_dir/<name>``, whose loading says it is missing)."""
    return {name: find_source(data_dir, name, tables) or Source(name, path=Path(data_dir) / name) for name in sorted(files)}


def fingerprints(sources: dict[str, Source]) -> dict[str, dict]:
    """Each input's fingerprint (:func:`cxreport.engine.load.source_fingerprint`): what the verdict cache compares."""
    out = {}
    for name, source in sources.items():
        try:
            out[name] = source_fingerprint(source)
        except (InputError, OSError):
            out[name] = {"file": source.label, "sha256": None}  # unreadable or absent: validation says why
    return out


def validate_inputs(data_dir: Path, files: set[str], year: int | None = None, *, tables: dict | None = None,
                    run_db: RunDatabase | None = None, prints: dict | None = None) -> dict[str, dict]:
    """Validate every input a notebook will read, loading each once; one InputError listing all problems.

    Each input is loaded and checked by :func:`cxreport.engine.load.load_table` (on the engine, or with
    pandas for the small and the survey files). Cross-file rules (:data:`cxreport.inputs.REFERENCES`,
    e.g. partner ids unknown to ``partners.csv``) are checked between the inputs read, one message
    per offending row (the first :data:`~cxreport.inputs.MAX_MESSAGES` listed, all counted); so is
    what the report ``year`` needs (:func:`year_coverage_problems`). With ``run_db`` every input is
    kept there once valid (the engine route writes its typed Parquet file straight into its folder).
    Returns each input's fingerprint and row count (``prints``: fingerprints already taken).
    """
    sources = input_sources(data_dir, files, tables)
    prints = dict(prints or {})
    problems, unlisted, out, loaded = [], 0, {}, {}
    for name, source in sources.items():
        try:
            if name in CONTRACTS:
                item = load_table(source, CONTRACTS[name], work_dir=run_db.folder if run_db else None,
                                  out_name=file_name(name) if run_db else None)
                loaded[name] = item
                out[name] = {**(prints.get(name) or source_fingerprint(source)), "rows": item.rows}
            else:
                out[name] = prints.get(name) or source_fingerprint(source)
        except InputError as exc:
            problems.extend(exc.messages)
            unlisted += exc.unlisted
    if not problems and not unlisted:
        found = loader.check_references(loaded)
        if found is not None:
            problems, unlisted = list(found.messages), found.unlisted
    if not problems and not unlisted and year is not None:
        problems.extend(year_coverage_problems(loaded, year))
    if problems or unlisted:
        if run_db is not None:
            for name in loaded:
                run_db.path_of(name).unlink(missing_ok=True)
        raise InputError(problems, unlisted)
    if run_db is not None:
        for name, item in loaded.items():
            run_db.add(item, out[name])
    return out


def validated(data_dir: Path, files: set[str], previous: dict, year: int, *, tables: dict | None = None,
              run_db: RunDatabase | None = None) -> dict:
    """Validate the inputs, or reuse last build's verdict when no input, no contract and not the year changed.

    ``previous`` is last build's manifest (empty to validate again); the
    verdict returned is stored in this build's manifest. When the inputs are
    validated, they are loaded into ``run_db``; a reused verdict loads nothing
    (a rebuild where every report is reused reads no input at all).
    """
    from .. import inputs as inputs_module

    contract_digest = (cache.file_digest(Path(inputs_module.__file__)) + cache.file_digest(Path(__file__))
                       + cache.file_digest(Path(loader.__file__)))
    prints = fingerprints(input_sources(data_dir, files, tables))
    old = previous.get("validated", {})
    if (old.get("contract") == contract_digest and old.get("year") == year and set(old.get("files", {})) == set(prints)
            and all(p.get("sha256") and old["files"][n].get("sha256") == p["sha256"] for n, p in prints.items())):
        return {"contract": contract_digest, "year": year, "files": old["files"]}
    files_checked = validate_inputs(data_dir, files, year, tables=tables, run_db=run_db, prints=prints)
    return {"contract": contract_digest, "year": year, "files": files_checked}


def load_into(run_db: RunDatabase, data_dir: Path, names, verdict_files: dict, tables: dict | None = None) -> None:
    """Load the inputs ``names`` that ``run_db`` does not hold yet (a reused verdict, and a notebook to run):
    validated already, so a problem now means an input changed during the run (InputError)."""
    todo = sorted(n for n in names if n not in run_db and n in CONTRACTS)
    if not todo:
        return
    sources = input_sources(data_dir, todo, tables)
    for name in todo:
        item = load_table(sources[name], CONTRACTS[name], work_dir=run_db.folder, out_name=file_name(name))
        run_db.add(item, verdict_files.get(name))


def check_input_files(data_dir: Path, notebooks: list[Notebook], tables: dict | None = None) -> None:
    """Stop (``InputError``) on a data folder the run cannot use, before anything is written.

    - An input saved in a format the suite does not read, or under a name that
      differs only in case (``survey_responses.xls``, ``Revenue.CSV`` where
      ``revenue.csv`` is expected), gets its own message: the user meant it as
      that input, and silently skipping its reports would lose them. An Excel
      workbook (``.xlsx``, its first sheet) is read under the CSV's contract.
    - A folder holding none of the input files any report reads is an error,
      not an empty year.
    """
    names = sorted({f for nb in notebooks for f in nb.inputs})
    present = {p.name: p for p in Path(data_dir).iterdir() if p.is_file()}
    problems = []
    for name in names:
        if find_source(data_dir, name, tables) is not None:
            continue
        stem = Path(name).stem.lower()
        for other in sorted(present):
            if Path(other).stem.lower() != stem:
                continue
            suffix = Path(other).suffix.lower()
            if suffix in (".xls", ".ods"):
                why = f"an old Excel or OpenDocument workbook, which is not read: save it as .xlsx or as a UTF-8 CSV file named {name}"
            elif suffix in EXCEL_SUFFIXES:
                why = f"file names are case-sensitive: rename it to {Path(name).stem}{suffix}"
            elif suffix == Path(name).suffix.lower():
                why = f"file names are case-sensitive: rename it to {name}"
            else:
                why = f"the {suffix or 'extensionless'} format is not read: save it as a comma-separated UTF-8 file named {name}"
            problems.append(f"{other}: found where {name} was expected; {why}")
    if problems:
        raise InputError(problems)
    if names and not any(find_source(data_dir, n, tables) is not None for n in names):
        raise InputError([(f"data folder {data_dir} holds none of the input files the reports read "
                           f"({', '.join(names)}); check --data")])

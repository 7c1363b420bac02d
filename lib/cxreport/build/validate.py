"""Up-front checks: nothing runs, and nothing is written, until the parameters and every input file pass.

- :func:`parameters_for`: every setting is type- and range-checked, an unknown
  key (a typo) is refused, and each notebook receives the settings its report reads;
- :func:`check_input_files`: a data folder the run cannot use (a wrong
  ``--data``, an input saved as a workbook or under a name that differs in case);
- :func:`validate_inputs`: every input file against its contract, the
  cross-file rules and what the report year needs (:func:`year_coverage_problems`);
- :func:`validated`: the verdict cache: last build's verdict is reused when no
  input file, no contract and not the year changed.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from ..inputs import CONTRACTS, EXCEL_SUFFIXES, InputError, check_references, fingerprint, input_path, load
from ..params import ParamsError
from ..settings import SETTING_NAMES, validate_settings
from . import cache
from .discover import PIPELINE_PARAMETERS, Notebook

KNOWN_FORMATS = ("html", "pdf")


def check_formats(formats: tuple[str, ...]) -> None:
    bad = [f for f in formats if f not in KNOWN_FORMATS]
    if bad:
        raise ParamsError(f"unknown format(s) {', '.join(bad)}; expected some of {', '.join(KNOWN_FORMATS)}")


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
    """What the report year needs of the files beyond their contract: the ledger must reach December of the year."""
    import pandas as pd

    problems = []
    ledger = frames.get("revenue.csv")
    if ledger is not None and len(ledger):
        first, last = ledger["month"].min(), ledger["month"].max()
        if first > pd.Period(f"{year}-12", "M"):
            problems.append(f"revenue.csv: the ledger starts in {first}, after the report year {year}; "
                            f"expected months in or before {year}")
        elif last < pd.Period(f"{year}-12", "M"):
            problems.append(f"revenue.csv: the ledger ends in {last}; the {year} report needs every month up to "
                            f"{year}-12, since the year's figures close in December")
    return problems


def validate_inputs(data_dir: Path, files: set[str], year: int | None = None) -> dict[str, dict]:
    """Validate every input file that a notebook will read; one InputError listing all problems.

    Cross-file rules (:data:`cxreport.inputs.REFERENCES`, e.g. partner ids
    unknown to ``partners.csv``) are checked between the files read, one
    message per offending row; so is what the report ``year`` needs
    (:func:`year_coverage_problems`). Returns each file's fingerprint (and row count).
    """
    problems, prints, frames = [], {}, {}
    for name in sorted(files):
        path = input_path(data_dir, name) or Path(data_dir) / name
        try:
            if name in CONTRACTS:
                frame = load(path, CONTRACTS[name])
                frames[name] = frame
                prints[name] = {**fingerprint(path), "rows": len(frame)}
            else:
                prints[name] = fingerprint(path)
        except InputError as exc:
            problems.extend(exc.messages)
    if not problems:
        problems.extend(check_references(frames))
    if not problems and year is not None:
        problems.extend(year_coverage_problems(frames, year))
    if problems:
        raise InputError(problems)
    return prints


def validated(data_dir: Path, files: set[str], previous: dict, year: int) -> dict:
    """Validate the input files, or reuse last build's verdict when no file, no contract and not the year changed.

    ``previous`` is last build's manifest (empty to validate again); the
    verdict returned is stored in this build's manifest.
    """
    from .. import inputs as inputs_module

    contract_digest = cache.file_digest(Path(inputs_module.__file__)) + cache.file_digest(Path(__file__))
    prints = {name: fingerprint(input_path(data_dir, name) or Path(data_dir) / name) for name in sorted(files)}
    old = previous.get("validated", {})
    if (old.get("contract") == contract_digest and old.get("year") == year and set(old.get("files", {})) == set(prints)
            and all(old["files"][n]["sha256"] == p["sha256"] for n, p in prints.items())):
        return {"contract": contract_digest, "year": year, "files": old["files"]}
    return {"contract": contract_digest, "year": year, "files": validate_inputs(data_dir, files, year)}


def check_input_files(data_dir: Path, notebooks: list[Notebook]) -> None:
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
        if input_path(data_dir, name) is not None:
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
    if names and not any(input_path(data_dir, n) is not None for n in names):
        raise InputError([f"data folder {data_dir} holds none of the input files the reports read "
                          f"({', '.join(names)}); check --data"])

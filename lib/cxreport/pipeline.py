"""The reporting pipeline behind ``make report`` and ``cxreport report``.

For one year:

1. read the parameters (``params/defaults.yaml``, ``params/<YEAR>.yaml``,
   command-line overrides) and check every key is a parameter some notebook
   takes;
2. find the notebooks (``notebooks/*.ipynb``, in name order) and the input
   files each one needs (notebook metadata ``cxreport.requires``); a notebook
   whose input is absent from the data folder is skipped, with the reason;
3. validate every needed input file up front: a bad file stops the run
   before anything is written;
4. execute each notebook with papermill into a staging folder, render HTML
   and PDF, merge the notebooks' headline figures into ``metrics.json``;
5. only when everything succeeded, swap the staging folder into
   ``OUT/<YEAR>`` and refresh ``OUT/index.html``. A failing notebook stops
   the run, is kept under ``OUT/_failed/<YEAR>/`` for debugging, and the
   previous good report of the year stays untouched.

Per-unit notebooks: a notebook whose metadata says ``"per": "partner"`` is
executed once per partner of ``partners.csv`` (papermill parameter
``partner_id``), in parallel processes (one kernel each, ``os.cpu_count()``
at a time), into ``OUT/<YEAR>/partners/<partner_id>.html`` (and ``.pdf``,
``.ipynb``). A failing scorecard does not stop the others: the year is
published with the scorecards that succeeded, the index lists the failed
partners, their executed notebooks are kept under
``OUT/_failed/<YEAR>/partners/``, and the run ends with
:class:`NotebookFailed` (exit code 1) naming them.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import multiprocessing
import os
import re
import shutil
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import papermill as pm

from . import buildcache
from .inputs import CONTRACTS, SAFE_ID, InputError, check_references, fingerprint, load
from .params import ParamsError, load_params
from .settings import SETTING_NAMES, validate_settings
from .render import render_html, render_pdf
from .run_guard import RunLock, die_with_parent, stop_on_signals
from .safe_output import neutralise_formulas, path_inside
from .site import data_fingerprint, write_site_index, write_year_index

# Parameters the pipeline itself supplies; a notebook receives those it declares.
PIPELINE_PARAMETERS = ("year", "data_dir", "tables_dir", "metrics_path", "metrics_dir", "out_dir")
KNOWN_FORMATS = ("html", "pdf")
# Per-unit notebooks (metadata ``cxreport.per``): the unit -> (file listing the units, id column = parameter name, label column, output folder).
PER_UNITS = {"partner": ("partners.csv", "partner_id", "name", "partners")}


class NotebookFailed(RuntimeError):
    """A notebook raised while executing; the message names the notebook, cell and error."""


@dataclass
class Notebook:
    """A report notebook of the suite, as the pipeline sees it."""

    path: Path
    title: str
    requires: list[str]
    parameters: dict
    per: str | None = None
    optional: list[str] = field(default_factory=list)
    runs_last: bool = False
    report: str | None = None  # the module of cxreport.reports whose build the notebook calls

    @property
    def name(self) -> str:
        return self.path.stem


@dataclass
class BuildResult:
    year: int
    year_dir: Path
    built: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def discover(notebooks_dir: Path) -> list[Notebook]:
    """The suite's notebooks in name order, with their declared inputs and parameters."""
    found = []
    for path in sorted(Path(notebooks_dir).glob("*.ipynb")):
        if not re.fullmatch(SAFE_ID, path.stem):
            raise ParamsError(f"{path.name}: a notebook name may hold only letters, digits, '-' and '_' (it names output files)")
        nb = nbformat.read(str(path), as_version=4)
        meta = nb.metadata.get("cxreport", {})
        params = pm.inspect_notebook(str(path))
        per = meta.get("per")
        if per is not None and per not in PER_UNITS:
            raise ParamsError(f"{path.name}: metadata cxreport.per is {per!r}; expected one of {', '.join(PER_UNITS)}")
        found.append(Notebook(path, nb.metadata.get("title", path.stem), list(meta.get("requires", [])), params, per,
                              list(meta.get("optional", [])), meta.get("runs") == "last", meta.get("report")))
    return found


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
    (:func:`year_coverage_problems`).
    """
    problems, prints, frames = [], {}, {}
    for name in sorted(files):
        path = Path(data_dir) / name
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


def units_for(nb: Notebook, data_dir: Path) -> list[tuple[str, str]]:
    """The (id, label) pairs a per-unit notebook runs for, in file order (e.g. every partner of partners.csv)."""
    filename, id_col, label_col, _ = PER_UNITS[nb.per]
    frame = load(Path(data_dir) / filename, CONTRACTS[filename])
    labels = frame[label_col] if label_col in frame.columns else frame[id_col]
    return list(zip(frame[id_col].astype(str), labels.fillna(frame[id_col]).astype(str)))


# The kernel of a worker process, kept between the units it runs (see _execute_unit_notebook).
_WORKER_KERNEL: dict = {}
RESET_SOURCE = 'get_ipython().run_line_magic("reset", "-f")\nimport matplotlib.pyplot as _plt; _plt.close("all"); del _plt'


def _shutdown_worker_kernel() -> None:
    km = _WORKER_KERNEL.pop("km", None)
    if km is not None:
        from jupyter_core.utils import run_sync

        try:
            run_sync(km.shutdown_kernel)(now=True)
        except Exception:  # the kernel is gone already
            pass


def _execute_unit_notebook(path: str, executed: Path, parameters: dict, cwd: str) -> None:
    """Execute one unit's notebook in this worker's long-lived kernel.

    Papermill injects the parameters (its ``injected-parameters`` cell, as in
    a papermill run); nbclient then runs the cells in a kernel the worker
    keeps between units, after clearing its namespace (``%reset -f``), so the
    imports are paid once per worker instead of once per unit. A dead kernel
    is replaced. The executed notebook is written to ``executed`` even when
    a cell fails (then a ``CellExecutionError`` is raised).
    """
    from multiprocessing.util import Finalize

    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError
    from papermill.parameterize import parameterize_notebook
    from papermill.iorw import load_notebook_node

    nb = parameterize_notebook(load_notebook_node(path), parameters, report_mode=False)  # papermill's reading and injection
    reset = nbformat.v4.new_code_cell(RESET_SOURCE)
    reset["id"] = "cxreport-reset"
    nb.cells.insert(0, reset)
    client = NotebookClient(nb, kernel_name="python3", resources={"metadata": {"path": cwd}}, timeout=None)
    if "km" not in _WORKER_KERNEL:
        _WORKER_KERNEL["km"] = client.create_kernel_manager()
        Finalize(None, _shutdown_worker_kernel, exitpriority=10)  # runs when the worker process exits
    client.km, client.owns_km = _WORKER_KERNEL["km"], False
    try:
        client.execute(cleanup_kc=False, cwd=cwd)
    except DeadKernelError:
        _shutdown_worker_kernel()
        raise
    finally:
        if client.kc is not None:
            client.kc.stop_channels()
        nb.cells = [c for c in nb.cells if c.get("id") != "cxreport-reset"]
        nbformat.write(nb, str(executed))


def _run_unit(job: dict) -> dict:
    """Execute and render one unit's notebook (runs in a worker process, in the worker's kernel).

    Returns the job with ``ok``, ``seconds`` and, on failure, ``error``; a
    failed executed notebook is copied to ``job["failed_dir"]``.
    """
    t0 = time.perf_counter()
    out_dir, unit = Path(job["out_dir"]), job["unit"]
    executed = out_dir / f"{unit}.ipynb"
    result = {"unit": unit, "label": job["label"], "ok": False}
    try:
        _execute_unit_notebook(job["path"], executed, job["parameters"], job["cwd"])
        nb = nbformat.read(str(executed), as_version=4)
        nb.metadata["title"] = f"{job['title']}: {job['label']}"
        nbformat.write(nb, str(executed))
        formats = job["formats"]
        if "html" in formats or "pdf" in formats:
            text = render_html(executed, out_dir / f"{unit}.html")
            if "pdf" in formats:
                render_pdf(text, out_dir / f"{unit}.pdf", out_dir)
            if "html" not in formats:
                (out_dir / f"{unit}.html").unlink()
        result["ok"] = True
    except Exception as exc:  # one unit's failure must not lose the others
        failed_dir = Path(job["failed_dir"])
        failed_dir.mkdir(parents=True, exist_ok=True)
        if executed.exists():
            shutil.copy2(executed, failed_dir / executed.name)
            executed.unlink()
        for ext in ("html", "pdf"):
            (out_dir / f"{unit}.{ext}").unlink(missing_ok=True)
        if hasattr(exc, "ename"):  # nbclient's CellExecutionError
            result["error"] = f"{exc.ename}: {exc.evalue}"
            if exc.ename == "InputError":
                result["input_error"] = exc.evalue
        else:
            result["error"] = f"{type(exc).__name__}: {exc}"
        result["kept"] = str(failed_dir / executed.name)
    result["seconds"] = time.perf_counter() - t0
    return result


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _run_notebook(job: dict) -> dict:
    """Execute one report notebook with papermill (fresh kernel) and render it; runs in a worker process.

    Never raises: returns the job's result with ``ok``, ``seconds`` and, on
    failure, ``error`` (notebook, cell and exception) and ``kept`` (where the
    failed executed notebook was copied).
    """
    t0 = time.perf_counter()
    staging, name = Path(job["staging"]), job["name"]
    executed = staging / f"{name}.ipynb"
    result = {"id": job["id"], "ok": False}
    try:
        pm.execute_notebook(job["path"], str(executed), parameters=job["parameters"], cwd=job["cwd"],
                            progress_bar=False, report_mode=False, log_output=False)
        if "html" in job["formats"] or "pdf" in job["formats"]:
            text = render_html(executed, staging / f"{name}.html")
            if "pdf" in job["formats"]:
                render_pdf(text, staging / f"{name}.pdf", staging)
            if "html" not in job["formats"]:
                (staging / f"{name}.html").unlink()
        result["ok"] = True
    except Exception as exc:
        failed_dir = Path(job["failed_dir"])
        failed_dir.mkdir(parents=True, exist_ok=True)
        kept = failed_dir / executed.name
        if executed.exists():
            shutil.copy2(executed, kept)
        if isinstance(exc, pm.PapermillExecutionError) and exc.ename == "InputError":
            result["input_error"] = exc.evalue  # a problem with the data found by the report: exit code 2
        if isinstance(exc, pm.PapermillExecutionError):
            # papermill's cell_index counts the executed notebook's cells, injected parameters included.
            result["error"] = (f"notebook {Path(job['path']).name} failed in cell {exc.cell_index} "
                               f"(execution {exc.exec_count}): {exc.ename}: {exc.evalue}")
        else:
            result["error"] = f"notebook {Path(job['path']).name} failed: {type(exc).__name__}: {exc}"
        result["kept"] = str(kept)
    result["seconds"] = time.perf_counter() - t0
    return result


def _run_job(job: dict) -> dict:
    """Worker entry point: a per-unit job (long-lived kernel) or a report notebook (papermill)."""
    if job.get("unit"):
        res = _run_unit(job)
        res["id"] = job["id"]
        return res
    return _run_notebook(job)


def merge_metrics(fragments: list[Path]) -> dict:
    """Merge the notebooks' metric fragments (each a dict of sections) into one dict."""
    merged: dict = {}
    for frag in sorted(fragments):
        for section, values in json.loads(frag.read_text(encoding="utf-8")).items():
            merged.setdefault(section, {}).update(values) if isinstance(values, dict) else merged.__setitem__(section, values)
    return merged


def write_workbook(tables_dir: Path, path: Path) -> None:
    """Every CSV table of the year as one Excel workbook, a sheet per table (names cut to Excel's 31 characters)."""
    import pandas as pd

    tables = sorted(Path(tables_dir).glob("*.csv"))
    if not tables:
        return
    used: set[str] = set()
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for csv in tables:
            sheet, k = csv.stem[:31], 2
            while sheet in used:  # two long names with the same start
                sheet, k = f"{csv.stem[:28]}~{k}", k + 1
            used.add(sheet)
            # Neutralised again: openpyxl writes any text that starts with "=" as a live formula.
            neutralise_formulas(pd.read_csv(csv)).to_excel(writer, sheet_name=sheet, index=False)


# Parameters that only say where this run writes or reads: not part of what a report depends on.
RUN_PATHS = ("data_dir", "tables_dir", "metrics_path", "metrics_dir", "out_dir")
MANIFEST = Path(".build") / "manifest.json"


def _read_manifest(year_dir: Path) -> dict:
    path = year_dir / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except json.JSONDecodeError:
        return {}


def _validated(data_dir: Path, files: set[str], previous: dict, year: int) -> dict[str, dict]:
    """Validate the input files, or reuse last build's verdict when no file, no contract and not the year changed."""
    from . import inputs as inputs_module

    contract_digest = buildcache.file_digest(Path(inputs_module.__file__)) + buildcache.file_digest(Path(__file__))
    prints = {name: fingerprint(Path(data_dir) / name) for name in sorted(files)}
    old = previous.get("validated", {})
    if (old.get("contract") == contract_digest and old.get("year") == year and set(old.get("files", {})) == set(prints)
            and all(old["files"][n]["sha256"] == p["sha256"] for n, p in prints.items())):
        return {"contract": contract_digest, "year": year, "files": old["files"]}
    return {"contract": contract_digest, "year": year, "files": validate_inputs(data_dir, files, year)}


def check_input_files(data_dir: Path, notebooks: list[Notebook]) -> None:
    """Stop (``InputError``) on a data folder the run cannot use, before anything is written.

    - An input saved in a format the suite does not read, or under a name that
      differs only in case (``survey_responses.xlsx``, ``Revenue.CSV`` where
      ``revenue.csv`` is expected), gets its own message: the user meant it as
      that input, and silently skipping its reports would lose them.
    - A folder holding none of the input files any report reads is an error,
      not an empty year.
    """
    names = sorted({f for nb in notebooks for f in (*nb.requires, *nb.optional)})
    present = {p.name: p for p in Path(data_dir).iterdir() if p.is_file()}
    problems = []
    for name in names:
        if name in present:
            continue
        stem = Path(name).stem.lower()
        for other in sorted(present):
            if Path(other).stem.lower() != stem:
                continue
            suffix = Path(other).suffix.lower()
            if suffix in (".xlsx", ".xlsm", ".xls", ".ods"):
                why = f"a spreadsheet workbook, which is not read: save its sheet as a UTF-8 CSV file named {name}"
            elif suffix == Path(name).suffix.lower():
                why = f"file names are case-sensitive: rename it to {name}"
            else:
                why = f"the {suffix or 'extensionless'} format is not read: save it as a comma-separated UTF-8 file named {name}"
            problems.append(f"{other}: found where {name} was expected; {why}")
    if problems:
        raise InputError(problems)
    if names and not any(n in present for n in names):
        raise InputError([f"data folder {data_dir} holds none of the input files the reports read "
                          f"({', '.join(names)}); check --data"])


def build_year(
    root: Path,
    year: int,
    data_dir: Path,
    out_dir: Path,
    formats: tuple[str, ...] = KNOWN_FORMATS,
    overrides: dict | None = None,
    only: list[str] | None = None,
    force: bool = False,
    workers: int | None = None,
    prune: bool = False,
) -> BuildResult:
    """Build every report of ``year``; see the module docstring for the steps.

    Incremental: each report (and each per-unit scorecard) has a build key
    (:func:`cxreport.buildcache.build_key`); when it equals the key stored
    with the year's current outputs, those outputs are reused instead of
    executing the notebook again. ``force`` rebuilds everything. Notebooks
    run in parallel on ``workers`` processes (default: the number of cores);
    a notebook marked ``"runs": "last"`` (the executive summary) runs after
    all the others, with their headline figures.

    No good report is lost: a report that is not built in this run (its input
    is missing from ``data_dir``, or ``only`` leaves it out) keeps its previous
    outputs byte for byte, and the index marks them with the date and data of
    their build. ``prune`` removes the reports whose input is missing instead.
    One run at a time per ``out_dir`` (:class:`cxreport.run_guard.RunLock`).

    Raises :class:`ParamsError` or :class:`InputError` before writing
    anything, :class:`cxreport.run_guard.RunLocked`, or :class:`NotebookFailed`.
    """
    started = time.perf_counter()
    root, data_dir, out_dir = Path(root).resolve(), Path(data_dir).resolve(), Path(out_dir).resolve()
    bad = [f for f in formats if f not in KNOWN_FORMATS]
    if bad:
        raise ParamsError(f"unknown format(s) {', '.join(bad)}; expected some of {', '.join(KNOWN_FORMATS)}")
    if not data_dir.is_dir():
        raise InputError([f"data folder {data_dir} does not exist"])
    params = load_params(root / "params", year, overrides)
    all_notebooks = discover(root / "notebooks")
    # Checked against every notebook, so that --only does not flag the other notebooks' parameters as unknown.
    per_notebook = parameters_for(all_notebooks, params)
    if only:
        unknown = sorted(set(only) - {nb.name for nb in all_notebooks})
        if unknown:
            raise ParamsError(f"--only {', '.join(unknown)}: no such notebook; the notebooks are "
                              f"{', '.join(nb.name for nb in all_notebooks)}")
    check_input_files(data_dir, all_notebooks)
    notebooks = [nb for nb in all_notebooks if not only or nb.name in only]

    result = BuildResult(year, out_dir / str(year))
    runnable = []
    for nb in notebooks:
        missing = [f for f in nb.requires if not (data_dir / f).is_file()]
        if missing:
            result.skipped[nb.name] = f"input {', '.join(missing)} not found in the data folder"
            _log(f"skip  {nb.name}: {result.skipped[nb.name]}")
        else:
            runnable.append(nb)
    # Validated before the lock is taken: a bad input stops the run without writing anything, not even OUT.
    read = {f for nb in runnable for f in nb.requires} | {f for nb in runnable for f in nb.optional if (data_dir / f).is_file()}
    validated = _validated(data_dir, read, {} if force else _read_manifest(result.year_dir), int(year))
    with RunLock(out_dir), stop_on_signals():
        return _build_locked(result, all_notebooks, runnable, per_notebook, year, data_dir, out_dir, formats,
                             force, workers, prune, started, validated)


def _build_locked(result: BuildResult, all_notebooks: list[Notebook], runnable: list[Notebook], per_notebook: dict,
                  year: int, data_dir: Path, out_dir: Path, formats: tuple[str, ...], force: bool,
                  workers: int | None, prune: bool, started: float, validated: dict) -> BuildResult:
    """The part of :func:`build_year` that writes, run while holding the output folder's lock."""
    manifest_now = _read_manifest(result.year_dir)
    previous = {} if force else manifest_now
    previous_reports = _previous_reports(result.year_dir)
    inputs = validated["files"]
    generated_at = dt.datetime.now().isoformat(timespec="seconds")

    staging = out_dir / f".staging-{year}-{uuid.uuid4().hex[:8]}"
    (staging / "tables").mkdir(parents=True)
    metrics_dir = staging / ".metrics"
    metrics_dir.mkdir()
    failed_dir = out_dir / "_failed" / str(year)
    manifest = {"jobs": {}, "validated": validated}
    entries: dict[str, dict] = {}
    unit_failures: list[str] = []
    kept: dict[str, str] = {}
    try:
        # Reports not built in this run keep what they had: carried over first, so the summary sees their figures.
        for nb in all_notebooks:
            if nb in runnable:
                continue
            reason = result.skipped.get(nb.name, "not rebuilt in this run (--only)")
            if nb.name in result.skipped and prune:
                continue
            entry = _keep_previous(nb, reason, staging, result.year_dir, manifest_now, previous_reports, manifest)
            if entry is not None:
                entries[nb.name] = entry
                kept[nb.name] = reason
                result.skipped.pop(nb.name, None)
                _log(f"keep  {nb.name}: {reason}; its outputs of {entry['kept'].get('built_at', '?')} stay")
        first = [nb for nb in runnable if not nb.runs_last]
        last = [nb for nb in runnable if nb.runs_last]
        for batch in (first, last):
            jobs = []
            for nb in batch:
                jobs.extend(_jobs_for(nb, year, data_dir, out_dir, staging, per_notebook[nb.name], formats, failed_dir))
            _run_batch(jobs, staging, result.year_dir, previous, manifest, workers, generated_at, inputs)
            for nb in batch:
                entries[nb.name] = _entry_for(nb, [j for j in jobs if j["nb"] is nb], manifest, formats, unit_failures)
                result.built.append(nb.name)

        metrics = merge_metrics(list(metrics_dir.glob("*.json")))
        run = {
            "year": int(year),
            "generated_at": generated_at,
            "data_dir": str(data_dir),
            "inputs": inputs,
            "reports": [entries[nb.name] for nb in all_notebooks if nb.name in entries],
            "skipped": result.skipped,
            "kept": kept,
            "failed": [f.split(" ", 1)[0] for f in unit_failures],
            "executed": sorted(k for k, v in manifest["jobs"].items() if not v.get("reused") and not v.get("kept")),
            "reused": sorted(k for k, v in manifest["jobs"].items() if v.get("reused")),
        }
        (staging / "metrics.json").write_text(json.dumps({"run": run, **metrics}, indent=2, sort_keys=True), encoding="utf-8")
        shutil.rmtree(metrics_dir, ignore_errors=True)
        tables_digest = buildcache.tables_digest(staging / "tables")
        old_book = result.year_dir / "tables.xlsx"
        if previous.get("tables") == tables_digest and old_book.is_file():
            shutil.copy2(old_book, staging / "tables.xlsx")  # no table changed: the workbook neither
        else:
            write_workbook(staging / "tables", staging / "tables.xlsx")
        manifest["tables"] = tables_digest
        if not any((staging / "tables").iterdir()):
            (staging / "tables").rmdir()
        (staging / MANIFEST).parent.mkdir(exist_ok=True)
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True, default=str), encoding="utf-8")
        write_year_index(staging, run)
        _swap_into_place(staging, result.year_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    write_site_index(out_dir)
    result.seconds = time.perf_counter() - started
    executed, reused = len(run["executed"]), len(run["reused"])
    _log(f"built {len(result.built)} report(s) for {year} in {result.seconds:.1f}s "
         f"({executed} notebook run(s) executed, {reused} reused, {len(kept)} report(s) kept) -> {result.year_dir}")
    if unit_failures:
        raise NotebookFailed(
            f"{len(unit_failures)} per-unit notebook(s) failed; the year was built without them "
            "(listed in its index; `make publish` refuses it until they are fixed):\n  " + "\n  ".join(unit_failures)
        )
    return result


def _previous_reports(year_dir: Path) -> dict[str, dict]:
    """The index entries of the year's current build, by notebook name (empty when there is none)."""
    try:
        run = json.loads((year_dir / "metrics.json").read_text(encoding="utf-8")).get("run", {})
    except (OSError, json.JSONDecodeError):
        return {}
    return {r["name"]: r for r in run.get("reports", []) if isinstance(r, dict) and "name" in r}


def _keep_previous(nb: Notebook, reason: str, staging: Path, year_dir: Path, previous: dict,
                   previous_reports: dict, manifest: dict) -> dict | None:
    """Carry a report's previous outputs into the new build unchanged; its index entry, marked kept, or None.

    None when the year holds no complete earlier build of that report (then
    there is nothing to keep). Files are copied byte for byte, with their
    metric fragment, so metrics.json and the summary still carry its figures.
    """
    jobs = {k: v for k, v in previous.get("jobs", {}).items() if k == nb.name or k.startswith(nb.name + "/")}
    jobs = {k: v for k, v in jobs.items() if not v.get("failed")}
    if not jobs or nb.name not in previous_reports:
        return None
    if not all(path_inside(year_dir, rel).is_file() for v in jobs.values() for rel in v.get("files", [])):
        return None
    for job_id, old in jobs.items():
        for rel in old["files"]:
            target = path_inside(staging, rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(year_dir / rel, target)
        if old.get("metrics") is not None and job_id == nb.name:
            (staging / ".metrics" / f"{nb.name}.json").write_text(
                json.dumps(old["metrics"], indent=2, sort_keys=True), encoding="utf-8")
        manifest["jobs"][job_id] = {**old, "kept": True, "reused": False}
    first = next(iter(jobs.values()))
    entry = dict(previous_reports[nb.name])
    entry["kept"] = {"built_at": first.get("built_at", "an earlier build"), "data": first.get("data", "?"), "reason": reason}
    return entry


def _jobs_for(nb: Notebook, year: int, data_dir: Path, out_dir: Path, staging: Path, nb_params: dict,
              formats: tuple[str, ...], failed_dir: Path) -> list[dict]:
    """The execution jobs of one notebook (one, or one per unit), each with its build key."""
    supplied = {
        "year": int(year),
        "data_dir": str(data_dir),
        "tables_dir": str(staging / ".jobs" / nb.name / "tables"),
        "metrics_path": str(staging / ".metrics" / f"{nb.name}.json"),
        "metrics_dir": str(staging / ".metrics"),
        "out_dir": str(out_dir),
    }
    parameters = {**nb_params, **{k: v for k, v in supplied.items() if k in nb.parameters}}
    data_files = [data_dir / f for f in (*nb.requires, *nb.optional)]
    if nb.runs_last:  # it reads the other reports' headline figures and earlier years' builds
        data_files += sorted((staging / ".metrics").glob("*.json"))
        data_files += [p for p in sorted(out_dir.glob("*/metrics.json")) if p.parent.name.isdigit() and p.parent.name != str(year)]
    base = {"nb": nb, "path": str(nb.path), "cwd": str(nb.path.parent), "title": nb.title, "formats": tuple(formats),
            "staging": str(staging), "inputs": [*nb.requires, *nb.optional]}
    if not nb.per:
        key_params = {k: v for k, v in parameters.items() if k not in RUN_PATHS}
        return [{**base, "id": nb.name, "name": nb.name, "parameters": parameters, "failed_dir": str(failed_dir),
                 "key": buildcache.build_key(nb.path, key_params, data_files, formats)}]
    _, id_col, _, folder = PER_UNITS[nb.per]
    (staging / folder).mkdir(parents=True, exist_ok=True)
    jobs = []
    for unit, label in units_for(nb, data_dir):
        path_inside(staging / folder, f"{unit}.ipynb")  # the contract refuses unsafe ids; the writer checks again
        unit_params = {**parameters, id_col: unit}
        key_params = {k: v for k, v in unit_params.items() if k not in RUN_PATHS}
        jobs.append({**base, "id": f"{nb.name}/{unit}", "unit": unit, "label": label, "parameters": unit_params,
                     "out_dir": str(staging / folder), "failed_dir": str(failed_dir / folder),
                     "key": buildcache.build_key(nb.path, key_params, data_files, formats)})
    return jobs


def _outputs_of(job: dict) -> list[str]:
    """Files (relative to the year folder) a finished job produced."""
    staging = Path(job["staging"])
    if job.get("unit"):
        folder = Path(job["out_dir"]).relative_to(staging)
        return [str(folder / f"{job['unit']}.{ext}") for ext in ("ipynb", "html", "pdf") if (staging / folder / f"{job['unit']}.{ext}").exists()]
    files = [f"{job['name']}.{ext}" for ext in ("ipynb", "html", "pdf") if (staging / f"{job['name']}.{ext}").exists()]
    return files + [f"tables/{p.name}" for p in sorted((staging / ".jobs" / job["name"] / "tables").glob("*.csv"))]


def _run_batch(jobs: list[dict], staging: Path, year_dir: Path, previous: dict, manifest: dict, workers: int | None,
               generated_at: str, inputs: dict) -> None:
    """Reuse what is up to date, execute the rest in parallel; record every job in the manifest.

    A failed report notebook stops the run (``NotebookFailed``) once the jobs
    already running have finished; a failed per-unit job is recorded and the
    others go on.
    """
    todo = []
    for job in jobs:
        old = previous.get("jobs", {}).get(job["id"])
        if old and old.get("key") == job["key"] and all(path_inside(year_dir, f).is_file() for f in old["files"]):
            for rel in old["files"]:
                target = path_inside(staging, rel)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(year_dir / rel, target)
            if old.get("metrics") is not None and not job.get("unit"):
                # Written as write_metrics writes it, so the summary's build key sees identical bytes.
                (staging / ".metrics" / f"{job['name']}.json").write_text(
                    json.dumps(old["metrics"], indent=2, sort_keys=True), encoding="utf-8")
            manifest["jobs"][job["id"]] = {**old, "reused": True, "kept": False}
            _log(f"reuse {job['id']}: inputs unchanged since the last build")
        else:
            todo.append(job)
    if not todo:
        return
    workers = max(1, min(workers or os.cpu_count() or 1, len(todo)))
    _log(f"run   {len(todo)} notebook(s) on {workers} worker(s)")
    failures, input_problems = [], []
    # Fresh interpreters ("spawn"): no kernel-client state is inherited from this process.
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=die_with_parent) as pool:
        futures = {pool.submit(_run_job, {k: v for k, v in job.items() if k != "nb"}): job for job in todo}
        for k, fut in enumerate(as_completed(futures), 1):
            if fut.cancelled():
                continue
            job, res = futures[fut], fut.result()
            if not res["ok"]:
                _log(f"[{k}/{len(todo)}] {job['id']}: FAILED ({res['error']})")
                if res.get("input_error"):
                    input_problems.append(f"{job['id']}: {res['input_error']}")
                if not job.get("unit"):
                    failures.append(f"{res['error']}\n  the executed notebook is kept for debugging at {res['kept']}")
                    for other in futures:  # a report failed: start nothing new
                        other.cancel()
                manifest["jobs"][job["id"]] = {"key": None, "files": [], "failed": res["error"], "kept": res.get("kept")}
                continue
            _log(f"[{k}/{len(todo)}] {job['id']}: done in {res['seconds']:.1f}s")
            if not job.get("unit"):
                for table in (staging / ".jobs" / job["name"] / "tables").glob("*.csv"):
                    shutil.copy2(table, staging / "tables" / table.name)
            metrics = None
            if not job.get("unit"):
                frag = staging / ".metrics" / f"{job['name']}.json"
                metrics = json.loads(frag.read_text(encoding="utf-8")) if frag.is_file() else None
            read = {n: inputs[n] for n in job["inputs"] if n in inputs}
            manifest["jobs"][job["id"]] = {"key": job["key"], "files": _outputs_of(job), "metrics": metrics,
                                           "built_at": generated_at, "data": data_fingerprint(read)}
    shutil.rmtree(staging / ".jobs", ignore_errors=True)
    if input_problems:
        raise InputError(input_problems)
    if failures:
        raise NotebookFailed("\n".join(failures))


def _entry_for(nb: Notebook, jobs: list[dict], manifest: dict, formats: tuple[str, ...], unit_failures: list[str]) -> dict:
    """The index entry of a built notebook (per-unit notebooks list their units, failed ones named)."""
    if not nb.per:
        entry = {"name": nb.name, "title": nb.title, "ipynb": f"{nb.name}.ipynb"}
        entry.update({ext: f"{nb.name}.{ext}" for ext in ("html", "pdf") if ext in formats})
        return entry
    folder = PER_UNITS[nb.per][3]
    built, failed = [], []
    for job in jobs:
        rec = manifest["jobs"][job["id"]]
        if rec.get("failed"):
            failed.append({"id": job["unit"], "label": job["label"], "error": rec["failed"], "kept": rec["kept"]})
            unit_failures.append(f"{nb.name}:{job['unit']} {nb.per} {job['unit']} ({job['label']}): {rec['failed']}; kept at {rec['kept']}")
        else:
            built.append({"id": job["unit"], "label": job["label"], "ipynb": f"{folder}/{job['unit']}.ipynb",
                          **{ext: f"{folder}/{job['unit']}.{ext}" for ext in ("html", "pdf") if ext in formats}})
    return {"name": nb.name, "title": nb.title, "per": nb.per, "units": built, "failed": failed}


def _swap_into_place(staging: Path, final: Path) -> None:
    """Replace ``final`` by ``staging`` with two renames, so a reader never sees a half-written year."""
    old = None
    if final.exists():
        old = final.with_name(f".old-{final.name}-{uuid.uuid4().hex[:8]}")
        final.rename(old)
    staging.rename(final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)

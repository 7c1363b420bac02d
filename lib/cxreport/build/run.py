"""``build_year``: one year's build, step by step; the steps themselves live in the sibling modules.

1. read the parameters and check them (:mod:`.validate`), find the notebooks
   and what they need (:mod:`.discover`); a notebook whose input is absent
   from the data folder is skipped, with the reason;
2. validate every needed input up front (:mod:`.validate`), each loaded once on
   the engine into the run database (:mod:`cxreport.engine.rundb`), in a
   temporary folder: a bad input stops the run before anything is written;
3. in a staging folder (:mod:`.stage`), once the output folder's lock is held:
   move the run database in beside the staged year (``.rundb``; the notebooks
   open it read-only, and it is removed before the swap, never published),
   keep the earlier outputs of reports
   not built in this run and reuse those whose build key did not change
   (:mod:`.cache`), execute and render the rest in worker processes
   (:mod:`.execute`, :mod:`.render`), the summary last;
4. merge the headline figures into ``metrics.json``, write ``tables.xlsx``
   (:mod:`.workbook`), the manifest and the year's index page (:mod:`.site`);
5. only when every report notebook succeeded, swap the staging folder into
   ``OUT/<YEAR>`` (:mod:`.stage`) and refresh ``OUT/index.html``. A failing
   notebook stops the run, is kept under ``OUT/_failed/<YEAR>/`` with its
   log, and the previous good build of the year stays untouched.

Per-unit notebooks (``"per": "partner"``) run once per partner of
``partners.csv`` into ``OUT/<YEAR>/partners/<partner_id>.*``. A failing
scorecard does not stop the others: the year is published with the
scorecards that succeeded, the index lists the failed partners, and the run
ends with :class:`NotebookFailed` (exit code 1) naming them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..engine import DEFAULT_ENGINE
from ..engine.load import find_source
from ..engine.rundb import RunDatabase
from ..inputs import InputError
from ..params import load_params
from ..run_guard import RunLock, stop_on_signals
from ..safe_output import path_inside
from . import cache, execute, progress, stage, validate
from .discover import PER_UNITS, Notebook, discover, units_for
from .execute import NotebookFailed, NotebookFailure
from .site import data_fingerprint, write_site_index, write_year_index
from .workbook import merge_metrics, workbook_for

log = progress.log
RUN_DB_DIR = ".rundb"  # the run database, inside the staging folder; removed before the swap


@dataclass
class BuildResult:
    year: int
    year_dir: Path
    built: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def index(self) -> Path:
        """The year's index page: what to open after a build."""
        return self.year_dir / "index.html"


def build_year(
    root: Path,
    year: int,
    data_dir: Path,
    out_dir: Path,
    formats: tuple[str, ...] = validate.KNOWN_FORMATS,
    overrides: dict | None = None,
    only: list[str] | None = None,
    force: bool = False,
    workers: int | None = None,
    prune: bool = False,
    engine: str = DEFAULT_ENGINE,
    engine_url: str | None = None,
) -> BuildResult:
    """Build every report of ``year``; see the module docstring for the steps.

    Incremental: each report (and each per-unit scorecard) has a build key
    (:func:`cxreport.build.cache.build_key`); when it equals the key stored
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
    ``engine`` (``duckdb`` or ``spark``, with ``engine_url``) is where the notebooks' queries run;
    it is recorded in ``metrics.json`` (``run.engine``) and is not part of the build keys.

    Raises :class:`ParamsError` or :class:`InputError` before writing
    anything, :class:`cxreport.run_guard.RunLocked`, or :class:`NotebookFailed`.
    """
    started = time.perf_counter()
    root, data_dir, out_dir = Path(root).resolve(), Path(data_dir).resolve(), Path(out_dir).resolve()
    validate.check_formats(formats)
    validate.check_engine(engine, engine_url)
    if not data_dir.is_dir():
        raise InputError([f"data folder {data_dir} does not exist"])
    params = load_params(root / "params", year, overrides)
    all_notebooks = discover(root / "notebooks")
    # Checked against every notebook, so that --only does not flag the other notebooks' parameters as unknown.
    per_notebook = validate.parameters_for(all_notebooks, params)
    tables = validate.input_tables(params)
    validate.check_only(only, all_notebooks)
    validate.check_input_files(data_dir, all_notebooks, tables)
    notebooks = [nb for nb in all_notebooks if not only or nb.name in only]

    result = BuildResult(year, out_dir / str(year))
    runnable = []
    for nb in notebooks:
        missing = [f for f in nb.requires if find_source(data_dir, f, tables) is None]
        if missing:
            result.skipped[nb.name] = f"input {', '.join(missing)} not found in the data folder"
            log.info(f"skip  {nb.name}: {result.skipped[nb.name]}")
        else:
            runnable.append(nb)
    # Validated before the lock is taken: a bad input stops the run without writing anything, not even OUT. The
    # inputs are loaded into a run database in a temporary folder, moved beside the staged year once the lock is held.
    read = ({f for nb in runnable for f in nb.requires}
            | {f for nb in runnable for f in nb.optional if find_source(data_dir, f, tables)})
    loading = Path(tempfile.mkdtemp(prefix="cxreport-rundb-"))
    try:
        loaded = RunDatabase.create(loading / RUN_DB_DIR)
        verdict = validate.validated(data_dir, read, {} if force else cache.read_manifest(result.year_dir), int(year),
                                     tables=tables, run_db=loaded)
        setup = RunSetup(loaded, tables, engine, engine_url)
        with RunLock(out_dir), stop_on_signals():
            return _build_locked(result, all_notebooks, runnable, per_notebook, year, data_dir, out_dir, formats,
                                 force, workers, prune, started, verdict, setup)
    finally:
        shutil.rmtree(loading, ignore_errors=True)


@dataclass
class RunSetup:
    """What a run's notebooks read from and compute on: the run database (filled by validation, or on demand when the
    verdict was reused and a notebook runs), where the inputs are (``input_tables``), and the engine."""

    run_db: RunDatabase
    tables: dict
    engine: str = DEFAULT_ENGINE
    engine_url: str | None = None

    def move_into(self, staging: Path) -> None:
        """Move the run database beside the staged year (the lock is held: nothing else writes there)."""
        target = staging / RUN_DB_DIR
        shutil.move(str(self.run_db.folder), str(target))
        self.run_db = RunDatabase.open(target)

    def provide(self, names, data_dir: Path, verdict_files: dict) -> None:
        """Make sure the run database holds ``names`` before a notebook that reads them runs."""
        validate.load_into(self.run_db, data_dir, names, verdict_files, self.tables)

    def remove(self) -> None:
        """Remove the run database (before the staging folder is swapped in: it is never published)."""
        shutil.rmtree(self.run_db.folder, ignore_errors=True)


def _build_locked(result: BuildResult, all_notebooks: list[Notebook], runnable: list[Notebook], per_notebook: dict,
                  year: int, data_dir: Path, out_dir: Path, formats: tuple[str, ...], force: bool,
                  workers: int | None, prune: bool, started: float, verdict: dict, setup: RunSetup) -> BuildResult:
    """The part of :func:`build_year` that writes, run while holding the output folder's lock."""
    manifest_now = cache.read_manifest(result.year_dir)
    previous = {} if force else manifest_now
    previous_reports = cache.previous_reports(result.year_dir)
    inputs = verdict["files"]
    generated_at = dt.datetime.now().isoformat(timespec="seconds")
    failed_dir = out_dir / "_failed" / str(year)
    manifest = {"jobs": {}, "validated": verdict}
    entries: dict[str, dict] = {}
    unit_failures: list[NotebookFailure] = []
    kept: dict[str, str] = {}

    with stage.staged(out_dir, str(year)) as staging:
        (staging / "tables").mkdir()
        (staging / ".metrics").mkdir()
        setup.move_into(staging)
        # Reports not built in this run keep what they had: carried over first, so the summary sees their figures.
        for nb in all_notebooks:
            if nb in runnable:
                continue
            reason = result.skipped.get(nb.name, "not rebuilt in this run (--only)")
            if nb.name in result.skipped and prune:
                continue
            entry = cache.keep_previous(nb.name, reason, staging, result.year_dir, manifest_now, previous_reports, manifest)
            if entry is not None:
                entries[nb.name] = entry
                kept[nb.name] = reason
                result.skipped.pop(nb.name, None)
                log.info(f"keep  {nb.name}: {reason}; its outputs of {entry['kept'].get('built_at', '?')} stay")
        for batch in ([nb for nb in runnable if not nb.runs_last], [nb for nb in runnable if nb.runs_last]):
            jobs = []
            for nb in batch:
                jobs.extend(_jobs_for(nb, year, data_dir, out_dir, staging, per_notebook[nb.name], formats, failed_dir,
                                      setup, inputs))
            _run_batch(jobs, staging, result.year_dir, previous, manifest, workers, generated_at, inputs,
                       lambda names: setup.provide(names, data_dir, inputs))
            for nb in batch:
                entries[nb.name] = _entry_for(nb, [j for j in jobs if j["nb"] is nb], manifest, formats, unit_failures)
                result.built.append(nb.name)

        metrics = merge_metrics(list((staging / ".metrics").glob("*.json")))
        run = {
            "year": int(year),
            "generated_at": generated_at,
            "data_dir": data_dir.name,  # the folder's name only: no local path in anything published
            "engine": setup.engine,
            "inputs": inputs,
            "reports": [entries[nb.name] for nb in all_notebooks if nb.name in entries],
            "skipped": result.skipped,
            "kept": kept,
            "failed": [f.name for f in unit_failures],
            "executed": sorted(k for k, v in manifest["jobs"].items() if not v.get("reused") and not v.get("kept")),
            "reused": sorted(k for k, v in manifest["jobs"].items() if v.get("reused")),
        }
        (staging / "metrics.json").write_text(json.dumps({"run": run, **metrics}, indent=2, sort_keys=True), encoding="utf-8")
        shutil.rmtree(staging / ".metrics", ignore_errors=True)
        workbook_for(staging, result.year_dir, previous, manifest)  # no table changed: the workbook neither
        if not any((staging / "tables").iterdir()):
            (staging / "tables").rmdir()
        cache.write_manifest(staging, manifest)
        write_year_index(staging, run)
        setup.remove()  # the run database is never published
        stage.swap_into_place(staging, result.year_dir)
    write_site_index(out_dir)
    progress.reused(run["reused"])  # one line for all of them, however many
    result.seconds = time.perf_counter() - started
    log.info(f"built {len(result.built)} report(s) for {year} in {result.seconds:.1f}s "
             f"({len(run['executed'])} notebook run(s) executed, {len(run['reused'])} reused, "
             f"{len(kept)} report(s) kept) in {result.year_dir}")
    if unit_failures:
        raise NotebookFailed(
            unit_failures,
            f"{len(unit_failures)} per-unit notebook(s) failed; the year was built without them "
            "(listed in its index; `make publish` refuses it until they are fixed):",
        )
    log.info(f"open {result.index}")
    return result


def _jobs_for(nb: Notebook, year: int, data_dir: Path, out_dir: Path, staging: Path, nb_params: dict,
              formats: tuple[str, ...], failed_dir: Path, setup: RunSetup, inputs: dict) -> list[dict]:
    """The execution jobs of one notebook (one, or one per unit), each with its build key.

    The key hashes the notebook's inputs by the digests validation took (``inputs``: a file's SHA-256, a
    Parquet folder's parts, a table's checksum; None for an optional input that is absent).
    """
    supplied = {
        "year": int(year),
        "data_dir": str(data_dir),
        "tables_dir": str(staging / ".jobs" / nb.name / "tables"),
        "metrics_path": str(staging / ".metrics" / f"{nb.name}.json"),
        "metrics_dir": str(staging / ".metrics"),
        "out_dir": str(out_dir),
        "run_db": str(staging / RUN_DB_DIR),
        "engine": setup.engine,
        "engine_url": setup.engine_url,
    }
    parameters = {**nb_params, **{k: v for k, v in supplied.items() if k in nb.parameters}}
    digests = {f: (inputs.get(f) or {}).get("sha256") for f in nb.inputs}
    data_files: list[Path] = []
    if nb.runs_last:  # it reads the other reports' headline figures and earlier years' builds
        data_files += sorted((staging / ".metrics").glob("*.json"))
        data_files += [p for p in sorted(out_dir.glob("*/metrics.json")) if p.parent.name.isdigit() and p.parent.name != str(year)]
    base = {"nb": nb, "path": str(nb.path), "cwd": str(nb.path.parent), "title": nb.title, "formats": tuple(formats),
            "staging": str(staging), "inputs": nb.inputs, "per": nb.per}
    if not nb.per:
        key_params = {k: v for k, v in parameters.items() if k not in cache.RUN_PATHS}
        return [{**base, "id": nb.name, "name": nb.name, "parameters": parameters, "failed_dir": str(failed_dir),
                 "key": cache.build_key(nb.path, key_params, data_files, formats, digests)}]
    _, id_col, _, folder = PER_UNITS[nb.per]
    (staging / folder).mkdir(parents=True, exist_ok=True)
    jobs = []
    for unit, label in units_for(nb, data_dir, setup.tables):
        path_inside(staging / folder, f"{unit}.ipynb")  # the contract refuses unsafe ids; the writer checks again
        unit_params = {**parameters, id_col: unit}
        key_params = {k: v for k, v in unit_params.items() if k not in cache.RUN_PATHS}
        jobs.append({**base, "id": f"{nb.name}/{unit}", "name": nb.name, "unit": unit, "label": label,
                     "parameters": unit_params, "out_dir": str(staging / folder), "failed_dir": str(failed_dir / folder),
                     "key": cache.build_key(nb.path, key_params, data_files, formats, digests)})
    return jobs


def _run_batch(jobs: list[dict], staging: Path, year_dir: Path, previous: dict, manifest: dict, workers: int | None,
               generated_at: str, inputs: dict, provide=None) -> None:
    """Reuse what is up to date, execute the rest in parallel; record every job in the manifest.

    ``provide(names)`` loads the inputs the jobs to execute read into the run database, when it does not
    hold them yet (a reused verdict): only then, so a batch whose jobs are all reused reads no input.

    A failed report notebook stops the run (``NotebookFailed``) once the jobs
    already running have finished; a failed per-unit job is recorded and the
    others go on. A report that found a problem with the data raises ``InputError``.
    """
    reused = [job["id"] for job in jobs if cache.reuse(job, previous, year_dir, staging, manifest)]
    for job_id in reused:
        progress.reused_one(job_id)
    todo = [job for job in jobs if job["id"] not in reused]
    if not todo:
        return
    if provide is not None:
        provide({name for job in todo for name in job["inputs"] if name in inputs})
    n_workers = execute.default_workers(workers, len(todo))
    failures: list[NotebookFailure] = []
    input_problems: list[str] = []

    with progress.Progress(len(todo), n_workers) as bar:
        def on_result(job: dict, res: dict) -> bool:
            failure: NotebookFailure | None = res["failure"]
            bar.finished(job["id"], res["seconds"], failure.error if failure else None)
            if failure is not None:
                if failure.is_input_problem:
                    input_problems.append(f"{job['id']}: {failure.evalue}")
                manifest["jobs"][job["id"]] = {"key": None, "files": [], "failed": failure.error, "kept": failure.kept,
                                               "failure": dataclasses.asdict(failure)}
                if not job.get("unit"):
                    failures.append(failure)
                    return False  # a report failed: start nothing new
                return True
            metrics = None
            if not job.get("unit"):
                for table in (staging / ".jobs" / job["name"] / "tables").glob("*.csv"):
                    shutil.copy2(table, staging / "tables" / table.name)
                frag = staging / ".metrics" / f"{job['name']}.json"
                metrics = json.loads(frag.read_text(encoding="utf-8")) if frag.is_file() else None
            read = {n: inputs[n] for n in job["inputs"] if n in inputs}
            manifest["jobs"][job["id"]] = {"key": job["key"], "files": cache.outputs_of(job), "metrics": metrics,
                                           "built_at": generated_at, "data": data_fingerprint(read)}
            return True

        execute.run_jobs(todo, n_workers, on_result, bar.running)
    shutil.rmtree(staging / ".jobs", ignore_errors=True)
    if input_problems:
        raise InputError(input_problems)
    if failures:
        raise NotebookFailed(failures)


def _entry_for(nb: Notebook, jobs: list[dict], manifest: dict, formats: tuple[str, ...],
               unit_failures: list[NotebookFailure]) -> dict:
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
            unit_failures.append(NotebookFailure(**rec["failure"]))
        else:
            built.append({"id": job["unit"], "label": job["label"], "ipynb": f"{folder}/{job['unit']}.ipynb",
                          **{ext: f"{folder}/{job['unit']}.{ext}" for ext in ("html", "pdf") if ext in formats}})
    return {"name": nb.name, "title": nb.title, "per": nb.per, "units": built, "failed": failed}

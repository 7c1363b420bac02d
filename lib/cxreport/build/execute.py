"""Executing notebooks: papermill runs, the per-unit long-lived kernel, worker processes and typed failures.

- A report notebook runs with papermill in a fresh kernel (:func:`run_notebook`).
- A per-unit notebook (one scorecard per partner) runs in a kernel its worker
  process keeps between units (:func:`run_unit`): papermill injects the
  parameters, nbclient executes the cells after clearing the namespace, so the
  imports are paid once per worker.
- Jobs run in worker processes (:func:`run_jobs`), fresh interpreters
  ("spawn") that die with the run's process.
- Every job writes a log next to its executed notebook (``<name>.log``: what
  ran, the cells' printed output and warnings, timings, the traceback of a
  failure); it is kept with the outputs and never published.
- A failure is a :class:`NotebookFailure` with typed fields, as papermill's
  ``PapermillExecutionError``: notebook, cell index, execution count, exception
  name and value, where the failed notebook is kept, the unit.
- Kernels are started with ``--IPKernelApp.log_level=CRITICAL``: the kernel's own
  log stays out of the build output. It holds nothing a reader of the build
  needs: "Kernel is running over TCP without encryption" (cosmetic for a kernel
  on 127.0.0.1 that only this run talks to), and "KeyboardInterrupt caught in
  kernel", logged at ERROR when jupyter_client interrupts a kernel before
  shutting it down (``KernelManager.shutdown_kernel``), at random as the
  shutdown races the log. A cell's error reaches the executed notebook and
  the job's log; a kernel that dies is a ``DeadKernelError``.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import re
import shutil
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, fields
from pathlib import Path

import nbformat

from ..run_guard import die_with_parent
from .render import render_html, render_pdf

# Arguments every kernel of a build starts with: its own log is silent (see the module docstring).
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL"]
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass(eq=False)
class NotebookFailure(Exception):
    """One notebook (or one unit's run of it) that failed, with the fields a message or a tool needs.

    ``cell_index`` counts the executed notebook's cells, papermill's injected
    parameters cell included (as papermill's ``PapermillExecutionError``);
    it is None when the failure was not in a cell (rendering, a dead kernel).
    """

    notebook: str  # file name of the notebook, e.g. 01_survey_scores.ipynb
    ename: str
    evalue: str
    cell_index: int | None = None
    exec_count: int | None = None
    kept: str | None = None  # where the failed executed notebook is kept for debugging
    unit: str | None = None  # the unit of a per-unit notebook (a partner id)
    label: str | None = None  # the unit's label (the partner's name)
    per: str | None = None  # what a unit is ("partner")
    log: str | None = None  # the job's log, kept beside the failed notebook

    def __post_init__(self) -> None:
        super().__init__(self.message())

    def __reduce__(self):  # picklable across worker processes despite the dataclass __init__
        return (type(self), tuple(getattr(self, f.name) for f in fields(self)))

    def __str__(self) -> str:
        return self.message()

    @property
    def name(self) -> str:
        """The failed job: ``01_survey_scores`` or ``05_partner_scorecard:P002``."""
        stem = Path(self.notebook).stem
        return f"{stem}:{self.unit}" if self.unit else stem

    @property
    def error(self) -> str:
        """The exception alone: ``ValueError: unknown NPS interval method 'bogus'``."""
        return f"{self.ename}: {self.evalue}"

    @property
    def is_input_problem(self) -> bool:
        """Whether the report found a problem with the data (exit code 2, not 1)."""
        return self.ename == "InputError"

    def message(self) -> str:
        """The message the command line shows, built from the fields."""
        if self.unit:
            return (f"{self.name} {self.per or 'unit'} {self.unit} ({self.label or self.unit}): {self.error}"
                    f"; kept at {self.kept}")
        where = f" in cell {self.cell_index} (execution {self.exec_count})" if self.cell_index is not None else ""
        text = f"notebook {self.notebook} failed{where}: {self.error}"
        if self.kept:
            text += f"\n  the executed notebook is kept for debugging at {self.kept}"
            if self.log:
                text += f" (log: {self.log})"
        return text


class NotebookFailed(RuntimeError):
    """A run ended with failed notebooks; ``failures`` holds one :class:`NotebookFailure` each."""

    def __init__(self, failures: list[NotebookFailure] | str, header: str = ""):
        if isinstance(failures, str):  # the earlier form: a message only
            header, failures = failures, []
        self.failures = list(failures)
        self.header = header
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = [f.message() for f in self.failures]
        if self.header:
            return self.header + "".join(f"\n  {line}" for line in lines)
        return "\n".join(lines)


# ----------------------------------------------------------------------------- the per-job log
@contextlib.contextmanager
def job_log(path: Path):
    """Send this process's log records (papermill, nbclient, cxreport) to ``path`` for the block."""
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S"))
    root = logging.getLogger()
    job = logging.getLogger("cxreport.job")  # the job's own lines, whatever the run's console logger is set to
    saved = (root.level, job.level, job.propagate)
    root.addHandler(handler)  # papermill, nbclient, nbconvert
    root.setLevel(logging.INFO)
    job.addHandler(handler)
    job.setLevel(logging.INFO)
    job.propagate = False
    try:
        yield job
    finally:
        root.removeHandler(handler)
        job.removeHandler(handler)
        root.setLevel(saved[0])
        job.setLevel(saved[1])
        job.propagate = saved[2]
        handler.close()


def _log_outputs(log: logging.Logger, executed: Path) -> None:
    """What the cells printed (stdout, stderr: warnings), cell by cell, into the job's log."""
    try:
        nb = nbformat.read(str(executed), as_version=4)
    except Exception:  # nothing was written
        return
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.output_type == "stream" and out.get("text", "").strip():
                log.info("cell %d %s:\n%s", index, out.name, out.text.rstrip())


# ----------------------------------------------------------------------------- the per-unit kernel
# The kernel of a worker process, kept between the units it runs (see execute_in_worker_kernel).
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


def execute_in_worker_kernel(path: str, executed: Path, parameters: dict, cwd: str) -> None:
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
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb = parameterize_notebook(load_notebook_node(path), parameters, report_mode=False)  # papermill's reading and injection
    reset = nbformat.v4.new_code_cell(RESET_SOURCE)
    reset["id"] = "cxreport-reset"
    nb.cells.insert(0, reset)
    client = NotebookClient(nb, kernel_name="python3", resources={"metadata": {"path": cwd}}, timeout=None,
                            extra_arguments=list(KERNEL_ARGUMENTS))
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


def _error_cell(executed: Path) -> tuple[int | None, int | None]:
    """Index and execution count of the first cell with an error output of an executed notebook."""
    try:
        nb = nbformat.read(str(executed), as_version=4)
    except Exception:
        return None, None
    for index, cell in enumerate(nb.cells):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return index, cell.get("execution_count")
    return None, None


# ----------------------------------------------------------------------------- jobs
def local_paths(job: dict) -> dict[str, str]:
    """The builder's own folders a job's executed notebook mentions, each with the neutral name it gets instead.

    Papermill records the parameters (``data_dir``, ``tables_dir``, ...) and the
    notebook's path in the executed notebook; published or shared, those would
    expose the builder's folders (and name a staging folder that no longer
    exists). Longest first, so a folder inside another is replaced as a whole.
    """
    params = job.get("parameters", {})
    year = params.get("year", "YEAR")
    notebooks = Path(job["path"]).resolve().parent
    names = {
        str(Path(job["staging"]).resolve()): f"OUT/{year}",
        str(notebooks): "notebooks",
        str(notebooks.parent): ".",
    }
    if params.get("data_dir"):
        names[str(Path(params["data_dir"]).resolve())] = Path(params["data_dir"]).name
    if params.get("out_dir"):
        names[str(Path(params["out_dir"]).resolve())] = "OUT"
    if params.get("run_db"):  # inside the staging folder, but never part of the year: say what it was
        names[str(Path(params["run_db"]).resolve())] = "the run database (removed after the run)"
    return dict(sorted(names.items(), key=lambda kv: len(kv[0]), reverse=True))


def scrub_local_paths(executed: Path, names: dict[str, str]) -> None:
    """Replace the builder's folders in an executed notebook by neutral names (:func:`local_paths`)."""
    if not executed.is_file():
        return
    text = original = executed.read_text(encoding="utf-8")
    for path, name in names.items():
        if path and path not in ("/", "."):
            text = text.replace(path, name)
    if text != original:
        executed.write_text(text, encoding="utf-8")


def _render(executed: Path, out_dir: Path, stem: str, formats: tuple[str, ...], log: logging.Logger,
            job: dict | None = None) -> None:
    if "html" not in formats and "pdf" not in formats:
        return
    t0 = time.perf_counter()
    # The page links the CSV tables its report wrote (a unit's tables are not published).
    tables_dir = (job or {}).get("parameters", {}).get("tables_dir")
    tables = [f"tables/{p.name}" for p in sorted(Path(tables_dir).glob("*.csv"))] if tables_dir and not job.get("unit") else []
    text = render_html(executed, out_dir / f"{stem}.html", report=(job or {}).get("name"), tables=tables)
    if "pdf" in formats:
        render_pdf(text, out_dir / f"{stem}.pdf")
    if "html" not in formats:
        (out_dir / f"{stem}.html").unlink()
    log.info("rendered %s in %.1fs", " and ".join(f for f in ("html", "pdf") if f in formats), time.perf_counter() - t0)


def _failure(exc: BaseException, job: dict, executed: Path) -> NotebookFailure:
    notebook = Path(job["path"]).name
    common = {"notebook": notebook, "unit": job.get("unit"), "label": job.get("label"), "per": job.get("per")}
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    if ename is not None:  # papermill's PapermillExecutionError, nbclient's CellExecutionError
        cell_index, exec_count = getattr(exc, "cell_index", None), getattr(exc, "exec_count", None)
        if cell_index is None:
            cell_index, exec_count = _error_cell(executed)
        return NotebookFailure(ename=ename, evalue=str(evalue), cell_index=cell_index, exec_count=exec_count, **common)
    return NotebookFailure(ename=type(exc).__name__, evalue=str(exc), **common)


# A kernel that dies before its first reply is started again, at most this many times in all.
KERNEL_START_ATTEMPTS = 3


def kernel_failed_to_start(exc: BaseException) -> bool:
    """Whether a job failed because its kernel died before answering at all (no cell has run).

    jupyter_client picks free ports, then the kernel binds them; another process can take one in
    between, and the kernel then dies with "Address already in use" before replying to
    ``kernel_info``. Two builds running at once (two output folders, or the test suite's builds on
    two workers) meet this now and then; starting the kernel again is safe, as nothing has run.
    """
    return isinstance(exc, RuntimeError) and "Kernel died before replying to kernel_info" in str(exc)


def _execute(job: dict, executed: Path) -> None:
    """Execute one job's notebook into ``executed``: a unit in the worker's kernel, a report with papermill."""
    if job.get("unit"):
        execute_in_worker_kernel(job["path"], executed, job["parameters"], job["cwd"])
        nb = nbformat.read(str(executed), as_version=4)
        nb.metadata["title"] = f"{job['title']}: {job['label']}"
        nbformat.write(nb, str(executed))
    else:
        import papermill as pm

        pm.execute_notebook(job["path"], str(executed), parameters=job["parameters"], cwd=job["cwd"],
                            progress_bar=False, report_mode=False, log_output=False,
                            extra_arguments=list(KERNEL_ARGUMENTS))


def run_job(job: dict) -> dict:
    """Execute and render one job; runs in a worker process and never raises.

    Returns ``{"id", "ok", "seconds", "failure"}``; on failure the executed
    notebook and its log are copied to ``job["failed_dir"]`` (and a unit's
    outputs removed from the staging folder, so the year is built without it).
    """
    t0 = time.perf_counter()
    unit = job.get("unit")
    out_dir = Path(job["out_dir"]) if unit else Path(job["staging"])
    stem = unit or job["name"]
    executed, log_path = out_dir / f"{stem}.ipynb", out_dir / f"{stem}.log"
    failure = None
    with job_log(log_path) as log:
        log.info("%s%s: executing %s", job["id"], f" ({job['label']})" if unit else "", job["path"])
        log.info("parameters: %s", job["parameters"])
        try:
            try:
                for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
                    try:
                        _execute(job, executed)
                        break
                    except Exception as exc:  # noqa: BLE001 - retried only when the kernel never started
                        if attempt == KERNEL_START_ATTEMPTS or not kernel_failed_to_start(exc):
                            raise
                        log.warning("the kernel died while starting (%s); starting another (attempt %d of %d)",
                                    exc, attempt + 1, KERNEL_START_ATTEMPTS)
                        if unit:
                            _shutdown_worker_kernel()
            finally:
                _log_outputs(log, executed)
                scrub_local_paths(executed, local_paths(job))
            log.info("executed in %.1fs", time.perf_counter() - t0)
            _render(executed, out_dir, stem, tuple(job["formats"]), log, job)
        except Exception as exc:  # one job's failure is reported, never raised: the others go on
            failure = _failure(exc, job, executed)
            trace = getattr(exc, "traceback", None)
            detail = ANSI.sub("", "\n".join(trace) if isinstance(trace, list) else str(trace or ""))
            log.error("failed: %s%s", failure.error, f"\n{detail}" if detail.strip() else "", exc_info=not detail.strip())
    scrub_local_paths(log_path, local_paths(job))
    if failure is not None:
        failed_dir = Path(job["failed_dir"])
        failed_dir.mkdir(parents=True, exist_ok=True)
        failure.kept = str(failed_dir / executed.name)
        failure.log = str(failed_dir / log_path.name)
        if executed.exists():
            shutil.copy2(executed, failure.kept)
        shutil.copy2(log_path, failure.log)
        if unit:  # the year is built without this unit: nothing of it stays in the staging folder
            for ext in ("ipynb", "html", "pdf", "log"):
                (out_dir / f"{stem}.{ext}").unlink(missing_ok=True)
    return {"id": job["id"], "ok": failure is None, "seconds": time.perf_counter() - t0, "failure": failure}


def run_jobs(jobs: list[dict], workers: int, on_result: Callable[[dict, dict], bool],
             on_running: Callable[[list[str]], None] | None = None) -> None:
    """Run ``jobs`` on ``workers`` worker processes, calling ``on_result(job, result)`` as each one ends.

    ``on_result`` returns False to start no further job (the jobs already
    running finish). ``on_running`` gets the ids of the jobs running now,
    about twice a second, for a progress display.
    """
    # Fresh interpreters ("spawn"): no kernel-client state is inherited from this process.
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=die_with_parent) as pool:
        futures = {pool.submit(run_job, {k: v for k, v in job.items() if k != "nb"}): job for job in jobs}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for fut in sorted(done, key=lambda f: list(futures).index(f)):
                if fut.cancelled():
                    continue
                if on_result(futures[fut], fut.result()) is False:
                    for other in pending:
                        other.cancel()
            if on_running is not None:
                on_running([futures[f]["id"] for f in futures if f.running()])


def default_workers(workers: int | None, jobs: int) -> int:
    return max(1, min(workers or os.cpu_count() or 1, jobs))

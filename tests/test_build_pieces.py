"""The build package's pieces, one at a time, without building the sample (fast)."""

import io
import json
import logging
import pickle
from pathlib import Path

import nbformat
import pytest
from cxreport.build import progress, stage
from cxreport.build.discover import discover
from cxreport.build.execute import (
    KERNEL_ARGUMENTS,
    NotebookFailed,
    NotebookFailure,
    _failure,
)
from cxreport.params import ParamsError
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


# ----------------------------------------------------------------------------- discover
def write_notebook(folder: Path, name: str, meta: dict | None = None, params: str = "year: int = 2020\n") -> Path:
    nb = new_notebook()
    cell = new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, new_markdown_cell("# text")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if meta is not None:
        nb.metadata["cxreport"] = meta
        nb.metadata["title"] = f"Title of {name}"
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_discover_reads_the_notebooks_in_name_order_with_their_metadata(tmp_path):
    write_notebook(tmp_path, "02_b", {"requires": ["b.csv"], "optional": ["c.csv"], "per": "partner", "report": "x"},
                   params="year: int = 2020\npartner_id: str = 'P1'\n")
    write_notebook(tmp_path, "01_a", {"requires": ["a.csv"]})
    write_notebook(tmp_path, "00_last", {"runs": "last"})
    (tmp_path / "notes.txt").write_text("not a notebook")
    found = discover(tmp_path)
    assert [nb.name for nb in found] == ["00_last", "01_a", "02_b"]
    last, a, b = found
    assert last.runs_last and not a.runs_last and a.requires == ["a.csv"] and a.title == "Title of 01_a"
    assert b.per == "partner" and b.report == "x" and b.inputs == ["b.csv", "c.csv"]
    assert set(b.parameters) == {"year", "partner_id"}


def test_discover_refuses_unsafe_names_and_unknown_units(tmp_path):
    write_notebook(tmp_path, "01 bad name", {})
    with pytest.raises(ParamsError, match="letters, digits"):
        discover(tmp_path)
    (tmp_path / "01 bad name.ipynb").unlink()
    write_notebook(tmp_path, "01_ok", {"per": "region"})
    with pytest.raises(ParamsError, match="cxreport.per is 'region'"):
        discover(tmp_path)


# ----------------------------------------------------------------------------- stage and swap
def year(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.html").write_text(text)
    return folder


def test_a_failed_run_leaves_the_good_outputs_and_no_staging(tmp_path):
    good = year(tmp_path / "2020", "good")
    with pytest.raises(RuntimeError), stage.staged(tmp_path, "2020") as staging:
        (staging / "report.html").write_text("half")
        raise RuntimeError("a notebook failed")
    assert (good / "report.html").read_text() == "good"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2020"]


def test_a_finished_run_replaces_the_year_in_one_swap(tmp_path):
    year(tmp_path / "2020", "old")
    (tmp_path / "2020" / "stale.html").write_text("gone after the swap")
    with stage.staged(tmp_path, "2020") as staging:
        assert staging.name.startswith(".staging-2020-")
        (staging / "report.html").write_text("new")
        final = stage.swap_into_place(staging, tmp_path / "2020")
    assert final == tmp_path / "2020" and (final / "report.html").read_text() == "new"
    assert not (final / "stale.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2020"]  # no staging, no .old- folder


def test_a_swap_that_cannot_move_the_new_year_in_puts_the_old_one_back(tmp_path, monkeypatch):
    year(tmp_path / "2020", "good")
    staging = stage.new_staging(tmp_path, "2020")
    real_rename = Path.rename

    def rename(self, target):
        if self == staging:
            raise OSError("disk full")
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(OSError, match="disk full"):
        stage.swap_into_place(staging, tmp_path / "2020")
    assert (tmp_path / "2020" / "report.html").read_text() == "good"
    assert not list(tmp_path.glob(".old-*"))


def test_a_year_set_aside_by_a_killed_swap_is_put_back(tmp_path):
    year(tmp_path / ".old-2020-0badcafe", "good")  # killed between the two renames: no 2020
    year(tmp_path / ".old-2019-deadbeef", "superseded")
    year(tmp_path / "2019", "current")
    (tmp_path / ".old-2018-00000000").mkdir()  # empty: nothing to keep
    assert stage.recover_interrupted_swaps(tmp_path) == [tmp_path / "2020"]
    assert (tmp_path / "2020" / "report.html").read_text() == "good"
    assert (tmp_path / "2019" / "report.html").read_text() == "current"


def test_the_run_lock_recovers_a_set_aside_year_before_removing_leftovers(tmp_path):
    from cxreport.run_guard import RunLock

    year(tmp_path / ".old-2020-0badcafe", "good")
    (tmp_path / ".staging-2020-12345678").mkdir()
    with RunLock(tmp_path):
        pass
    assert (tmp_path / "2020" / "report.html").read_text() == "good"
    assert not list(tmp_path.glob(".old-*")) and not list(tmp_path.glob(".staging-*"))


def test_publish_uses_the_same_swap_and_never_publishes_build_logs(tmp_path):
    from cxreport.publish import publish_year

    d = year(tmp_path / "out" / "2020", "<h1>report</h1>")
    (d / "report.log").write_text("2020-01-01 INFO executing /home/someone/notebooks/report.ipynb")
    (d / "metrics.json").write_text(json.dumps({"run": {"year": 2020, "reports": [], "skipped": {}}}))
    (tmp_path / "share" / "2020").mkdir(parents=True)
    (tmp_path / "share" / "2020" / "old.html").write_text("old")
    final = publish_year(tmp_path / "out", 2020, tmp_path / "share")
    assert sorted(p.name for p in final.iterdir()) == ["metrics.json", "report.html"]
    assert [p.name for p in (tmp_path / "share").iterdir() if p.name.startswith(".")] == []


# ----------------------------------------------------------------------------- typed failures
def test_a_failure_carries_typed_fields_and_its_message_is_built_from_them():
    f = NotebookFailure(notebook="01_survey_scores.ipynb", ename="ValueError", evalue="unknown NPS interval method 'x'",
                        cell_index=3, exec_count=2, kept="/out/_failed/2020/01_survey_scores.ipynb",
                        log="/out/_failed/2020/01_survey_scores.log")
    assert f.name == "01_survey_scores" and f.error == "ValueError: unknown NPS interval method 'x'"
    assert str(f) == ("notebook 01_survey_scores.ipynb failed in cell 3 (execution 2): ValueError: unknown NPS "
                      "interval method 'x'\n  the executed notebook is kept for debugging at "
                      "/out/_failed/2020/01_survey_scores.ipynb (log: /out/_failed/2020/01_survey_scores.log)")
    assert not f.is_input_problem
    back = pickle.loads(pickle.dumps(f))  # crosses from the worker process
    assert (back.cell_index, back.ename, back.kept) == (3, "ValueError", f.kept)
    unit = NotebookFailure(notebook="05_partner_scorecard.ipynb", ename="KeyError", evalue="'P002'", unit="P002",
                           label="Acme", per="partner", kept="/k/P002.ipynb")
    assert unit.name == "05_partner_scorecard:P002"
    assert str(unit) == "05_partner_scorecard:P002 partner P002 (Acme): KeyError: 'P002'; kept at /k/P002.ipynb"
    run = NotebookFailed([unit], "1 per-unit notebook(s) failed:")
    assert str(run) == "1 per-unit notebook(s) failed:\n  " + str(unit) and run.failures == [unit]
    assert str(NotebookFailed([f])) == str(f)


def test_a_papermill_error_becomes_a_failure_with_its_cell():
    from papermill.exceptions import PapermillExecutionError

    exc = PapermillExecutionError(cell_index=4, exec_count=3, source="x", ename="InputError", evalue="bad row",
                                  traceback=["tb"])
    f = _failure(exc, {"path": "/nb/01_a.ipynb", "id": "01_a"}, Path("/nowhere.ipynb"))
    assert (f.notebook, f.cell_index, f.exec_count, f.ename, f.evalue) == ("01_a.ipynb", 4, 3, "InputError", "bad row")
    assert f.is_input_problem
    other = _failure(RuntimeError("renderer broke"), {"path": "/nb/01_a.ipynb", "id": "01_a"}, Path("/nowhere.ipynb"))
    assert other.cell_index is None and str(other) == "notebook 01_a.ipynb failed: RuntimeError: renderer broke"


def test_kernels_start_with_their_own_log_silenced(tmp_path):
    """The kernel's own log stays out of the build output: its transport warning, and the "KeyboardInterrupt caught
    in kernel." it logs at ERROR when jupyter_client's interrupt-before-shutdown lands during a message handler (a
    race: the build once printed it at random). The kernel here logs that line itself, as it does in the race."""
    from jupyter_client import KernelManager

    stderr_path = tmp_path / "kernel.stderr"
    km = KernelManager(kernel_name="python3")
    with open(stderr_path, "w") as stderr:
        km.start_kernel(extra_arguments=list(KERNEL_ARGUMENTS), stderr=stderr)
        try:
            kc = km.client()
            kc.start_channels()
            kc.wait_for_ready(timeout=60)
            reply = kc.execute_interactive('get_ipython().kernel.log.error("KeyboardInterrupt caught in kernel.")', timeout=60)
            assert reply["content"]["status"] == "ok"
            kc.stop_channels()
        finally:
            km.shutdown_kernel(now=True)
    logged = stderr_path.read_text()
    assert "KeyboardInterrupt" not in logged and "without encryption" not in logged, logged


# ----------------------------------------------------------------------------- progress, --quiet, --verbose
class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def output():
    stream = io.StringIO()
    yield stream
    for h in list(progress.log.handlers):
        progress.log.removeHandler(h)


def run_batch(reused=("01_a", "05_p/P1", "05_p/P2")):
    for job_id in reused:
        progress.reused_one(job_id)
    with progress.Progress(3, 2) as bar:
        bar.running(["01_b", "02_c"])
        bar.finished("01_b", 1.0)
        bar.finished("02_c", 1.0, error="ValueError: boom")
        bar.finished("03_d", 1.0)
    progress.reused(list(reused))


def test_plain_output_counts_each_run_with_an_eta_and_sums_up_reuse_in_one_line(output):
    progress.setup_logging(logging.INFO, output)
    run_batch()
    lines = output.getvalue().splitlines()
    assert lines[0] == "run   3 notebook(s) on 2 worker(s)"
    assert lines[1].startswith("[1/3] 01_b: done in 1.0s, ETA ")
    assert lines[2] == "[2/3] 02_c: FAILED (ValueError: boom)"
    assert lines[3] == "[3/3] 03_d: done in 1.0s"
    assert [line for line in lines if line.startswith("reuse")] == [
        "reuse 3 notebook run(s) of 2 report(s), inputs unchanged since the last build: 01_a, 05_p"]


def test_verbose_adds_a_line_per_job_and_quiet_shows_errors_only(output):
    progress.setup_logging(logging.DEBUG, output)
    run_batch()
    assert "reuse 05_p/P2: inputs unchanged since the last build" in output.getvalue()
    quiet = io.StringIO()
    progress.setup_logging(logging.ERROR, quiet)
    run_batch()
    assert quiet.getvalue().splitlines() == ["[2/3] 02_c: FAILED (ValueError: boom)"]


def test_a_terminal_gets_a_live_bar_and_no_line_per_run(output):
    term = Terminal()
    progress.setup_logging(logging.INFO, term)
    bar = progress.Progress(3, 2)
    assert bar.live
    run_batch()
    text = term.getvalue()
    assert "[1/3] 01_b: done" not in text  # the bar counts; a line per run only with --verbose
    assert "FAILED (ValueError: boom)" in text and "reuse 3 notebook run(s)" in text
    progress.setup_logging(logging.INFO, io.StringIO())
    assert not progress.Progress(3, 2).live  # a pipe: plain lines


# ----------------------------------------------------------------------------- the command line
def test_cli_quiet_verbose_and_the_failure_message(monkeypatch, capsys):
    import cxreport.build.run as run_module
    from cxreport import cli

    seen = {}

    def fake_build(*args, **kwargs):
        seen["level"] = progress.log.level
        progress.log.info("an info line")
        raise NotebookFailed([NotebookFailure(notebook="01_a.ipynb", ename="ValueError", evalue="boom", cell_index=2,
                                              exec_count=1, kept="/k/01_a.ipynb")])

    monkeypatch.setattr(run_module, "build_year", fake_build)
    try:
        assert cli.main(["report", "--year", "2020", "--quiet"]) == 1
        err = capsys.readouterr().err
        assert seen["level"] == logging.ERROR and "an info line" not in err
        assert "error: notebook 01_a.ipynb failed in cell 2 (execution 1): ValueError: boom" in err
        assert cli.main(["report", "--year", "2020", "--verbose"]) == 1
        assert seen["level"] == logging.DEBUG and "an info line" in capsys.readouterr().err
        with pytest.raises(SystemExit):
            cli.main(["report", "--year", "2020", "--quiet", "--verbose"])
    finally:
        for h in list(progress.log.handlers):
            progress.log.removeHandler(h)

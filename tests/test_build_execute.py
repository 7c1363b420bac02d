"""One job through the executor, on a tiny notebook: its log, its typed failure, a quiet kernel (a few seconds)."""

from pathlib import Path

import nbformat
from cxreport.build.execute import run_job
from nbformat.v4 import new_code_cell, new_notebook


def tiny(folder: Path, *sources: str) -> Path:
    nb = new_notebook()
    params = new_code_cell("x: int = 1")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(new_code_cell(s) for s in sources)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "01_tiny.ipynb"
    nbformat.write(nb, str(path))
    return path


def job(path: Path, staging: Path, failed: Path) -> dict:
    staging.mkdir(exist_ok=True)
    return {"id": "01_tiny", "name": "01_tiny", "path": str(path), "cwd": str(path.parent), "title": "Tiny",
            "formats": (), "staging": str(staging), "parameters": {"x": 2}, "failed_dir": str(failed)}


def test_a_job_writes_its_log_beside_the_executed_notebook_and_the_kernel_stays_quiet(tmp_path, capfd):
    path = tiny(tmp_path, "import sys\nprint('hello from the cell')\nprint('a warning', file=sys.stderr)")
    res = run_job(job(path, tmp_path / "staging", tmp_path / "failed"))
    assert res["ok"] and res["failure"] is None, res
    log = (tmp_path / "staging" / "01_tiny.log").read_text()
    assert "01_tiny: executing" in log and "hello from the cell" in log and "a warning" in log and "executed in" in log
    assert (tmp_path / "staging" / "01_tiny.ipynb").exists()
    assert "without encryption" not in capfd.readouterr().err  # the kernel's transport warning is silenced


def test_a_failing_job_returns_typed_fields_and_keeps_notebook_and_log(tmp_path):
    path = tiny(tmp_path, "y = 1", "raise ValueError(f'bad value {x}')")
    res = run_job(job(path, tmp_path / "staging", tmp_path / "failed"))
    f = res["failure"]
    assert not res["ok"] and (f.notebook, f.ename, f.evalue) == ("01_tiny.ipynb", "ValueError", "bad value 2")
    # 0-based, as papermill counts: parameters, injected parameters, "y = 1", then the failing cell (4th run)
    assert f.cell_index == 3 and f.exec_count == 4
    assert Path(f.kept).exists() and Path(f.log).exists()
    assert "ValueError" in Path(f.log).read_text() and "\x1b[" not in Path(f.log).read_text()
    assert str(f).startswith("notebook 01_tiny.ipynb failed in cell 3 (execution 4): ValueError: bad value 2")


def test_a_kernel_that_dies_while_starting_is_started_again(tmp_path, monkeypatch):
    """Another process took the kernel's port ("Address already in use"): the kernel dies before its first reply,
    nothing has run, and the job starts another kernel; a kernel that keeps dying fails the job with that error."""
    import papermill as pm

    real, calls = pm.execute_notebook, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("Kernel died before replying to kernel_info")
        return real(*args, **kwargs)

    monkeypatch.setattr(pm, "execute_notebook", flaky)
    path = tiny(tmp_path, "y = x + 1")
    res = run_job(job(path, tmp_path / "staging", tmp_path / "failed"))
    assert res["ok"] and len(calls) == 2, res
    assert "the kernel died while starting" in (tmp_path / "staging" / "01_tiny.log").read_text()

    def dead(*args, **kwargs):
        raise RuntimeError("Kernel died before replying to kernel_info")

    monkeypatch.setattr(pm, "execute_notebook", dead)
    res = run_job(job(path, tmp_path / "staging2", tmp_path / "failed2"))
    assert not res["ok"] and res["failure"].ename == "RuntimeError" and "kernel_info" in res["failure"].evalue

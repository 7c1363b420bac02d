"""Loading and validating on the engine (issue 12, point 2), the run database, Parquet inputs and --engine.

The engine route (:func:`cxreport.engine.load.load_table`) must say exactly what the pandas route says
about a bad file; tests force it with ``small_csv_bytes=0`` (every CSV counts as large) and compare the
messages with :func:`cxreport.inputs.load`'s on the same file.
"""

from __future__ import annotations

import json
import subprocess
import warnings

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ROOT
from cxreport import engine, inputs
from cxreport.build import cache, run, validate
from cxreport.build.discover import discover
from cxreport.engine.load import check_references, find_source, load_table
from cxreport.engine.rundb import RunDatabase
from cxreport.inputs import CONTRACTS, MAX_MESSAGES, REVENUE, InputError
from cxreport.params import ParamsError
from cxreport.reports import clv_churn
from cxreport.reports.base import load_inputs
from shapes import write_folder
from test_report_clv import hand_frames

SETTINGS = {"min_group_size": 1}

# Bad files of every contract the engine route may read, with every kind of problem: numbers that do not
# parse, out of range or not whole, blank required values, bad months and dates, choices, patterns,
# duplicates (single column and combinations), a multi-line quoted value shifting the lines, a misspelt
# and a missing column, values with surrounding whitespace.
BAD = {
    "revenue.csv": "customer_id,month,revenue_type,product,amount,cost,extra\n"
                   'C1,2020-01,subscription,"multi\nline",10,5,x\n C2 ,2020-1,subscriptions,p,-5,abc,\n'
                   ",2020-13,managed,p,1_000,-1,\nC4,2020-02,ip,p,nan,,\nC5,2020-02,ip,p,inf,  ,\n"
                   "C6, 2020-03 ,license,p,1e3,2.5,\nC7,x,project,p,,,\n",
    "accounts.csv": "customer_id,name,customer_since,regon\nC1,a,2020-01-01,x\nC1,b,bad,y\n,c,,z\nC3,d,2020-02-30,\n"
                    "C4,e,2020-05,\nC5,f,20200105,\nC6,g,2020-01-05T10:00,\n",
    "usage.csv": "monthly_active_users,month,workload,partner_id,customer_id\n-1,2020-1,,,\n5,2020-01,x,P1,C1\n"
                 "5,2020-01,x,P1,C1\n4.5,2020-02,y,P1,\n",
    "maturity_assessments.csv": "customer_id,assessed_on,target_stage,m_a,m_b\nC1,2020-01-01,7,1.5,x\nC1,2020-01-01,,,\n"
                                "C2,2020-01-02,3.0,inf,\n",
    "partners.csv": "name,partner_id\nA,P 1\nB,P 1\n,P2\nC,../x\n",
}


def messages_of(load) -> list[str] | None:
    try:
        load()
    except InputError as exc:
        return exc.messages
    return None


@pytest.mark.parametrize("name", sorted(BAD))
def test_engine_messages_equal_the_pandas_messages(tmp_path, name):
    path = tmp_path / name
    path.write_text(BAD[name], encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", inputs.InputWarning)
        by_pandas = messages_of(lambda: inputs.load(path, CONTRACTS[name]))
        on_engine = messages_of(lambda: load_table(path, CONTRACTS[name], work_dir=tmp_path, small_csv_bytes=0))
    assert by_pandas and on_engine == by_pandas


def test_the_ledger_message_names_row_line_column_value_and_expectation(tmp_path):
    path = tmp_path / "revenue.csv"
    path.write_text(BAD["revenue.csv"], encoding="utf-8")
    found = messages_of(lambda: load_table(path, REVENUE, work_dir=tmp_path, small_csv_bytes=0))
    # row 2 starts on line 4: the quoted value of row 1 spans two lines
    assert "revenue.csv row 2 (line 4), column amount: '-5'; expected a number >= 0" in found
    assert "revenue.csv row 3 (line 5), column amount: '1_000'; expected a number >= 0" in found
    assert "revenue.csv row 7 (line 9), column amount: blank; expected a number >= 0, not blank" in found
    assert not any("C6" in m or "row 6 " in m for m in found)  # ' 2020-03 ' and '1e3' are fine


def test_a_missing_column_and_a_misspelt_one_as_the_pandas_route_says(tmp_path):
    path = tmp_path / "usage.csv"
    path.write_text("customer_id,partner_id,mnth,workload,monthly_active_users\nC1,P1,2020-01,x,1\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", inputs.InputWarning)
        found = messages_of(lambda: load_table(path, CONTRACTS["usage.csv"], work_dir=tmp_path, small_csv_bytes=0))
    assert found == [("usage.csv: column 'month' is missing; expected a column of a month (YYYY-MM); "
                      "the file has a column 'mnth': did you mean 'month'?")]


def test_messages_are_capped_with_the_total(tmp_path):
    # every third customer has a negative amount: 3000 rows, 1000 problems (rows 1, 4, 7, ...)
    rows = ["customer_id,month,revenue_type,amount"]
    rows += [f"C{i},2020-01,subscription,{-i - 1 if i % 3 == 0 else i}" for i in range(3000)]
    path = tmp_path / "revenue.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as on_engine:
        load_table(path, REVENUE, work_dir=tmp_path, small_csv_bytes=0)
    with pytest.raises(InputError) as by_pandas:
        inputs.load(path, REVENUE)
    err = on_engine.value
    assert err.total == 1000 and len(err.messages) == MAX_MESSAGES and err.unlisted == 1000 - MAX_MESSAGES
    assert str(err).startswith("1000 problem(s) in the input data:")
    assert str(err).endswith(f"... and {1000 - MAX_MESSAGES} more problems")
    assert err.messages[0] == "revenue.csv row 1 (line 2), column amount: '-1'; expected a number >= 0"
    assert str(err) == str(by_pandas.value)


def test_a_small_bad_file_takes_the_pandas_route_for_its_messages(tmp_path, monkeypatch):
    path = tmp_path / "revenue.csv"
    path.write_text(BAD["revenue.csv"], encoding="utf-8")
    calls = []
    real = inputs.load
    monkeypatch.setattr(inputs, "load", lambda *a, **k: calls.append(a) or real(*a, **k))
    with pytest.raises(InputError):
        load_table(path, REVENUE, work_dir=tmp_path)  # 64 MB threshold: this file is small
    assert len(calls) == 1
    assert not list(tmp_path.glob("*.parquet"))  # the typed file of a failed load is removed


@pytest.mark.parametrize("name", ["revenue.csv", "accounts.csv", "usage.csv", "maturity_assessments.csv", "partners.csv"])
def test_the_engine_route_types_the_sample_as_the_pandas_route(tmp_path, name):
    path = ROOT / "data" / "sample" / name
    loaded = load_table(path, CONTRACTS[name], work_dir=tmp_path, small_csv_bytes=0)
    assert loaded.route == "engine"
    pd.testing.assert_frame_equal(loaded.pandas(), inputs.load(path, CONTRACTS[name]), check_flags=False)


def test_whitespace_is_trimmed_as_python_trims_it(tmp_path):
    path = tmp_path / "revenue.csv"
    path.write_text("customer_id,month,revenue_type,amount\n\tC1\u00a0,2020-01 ,subscription,\t5\n", encoding="utf-8")
    typed = load_table(path, REVENUE, work_dir=tmp_path, small_csv_bytes=0).pandas()
    assert typed.loc[0, "customer_id"] == "C1" and typed.loc[0, "amount"] == 5.0
    assert str(typed.loc[0, "month"]) == "2020-01"


# ---------------------------------------------------------------- Parquet inputs
def ledger_table(frame: pd.DataFrame) -> pa.Table:
    """The hand ledger as a vendor's Parquet holds it: months as dates, amounts as numbers."""
    return pa.table({"customer_id": frame["customer_id"].astype(str), "month": pd.to_datetime(frame["month"]).dt.date,
                     "revenue_type": frame["revenue_type"], "amount": frame["amount"].astype(float),
                     "cost": pd.to_numeric(frame["cost"], errors="coerce")})


def test_input_path_finds_parquet_files_and_folders(tmp_path):
    pq.write_table(pa.table({"a": [1]}), tmp_path / "revenue.parquet")
    assert inputs.input_path(tmp_path, "revenue.csv") == tmp_path / "revenue.parquet"
    (tmp_path / "usage.parquet").mkdir()
    assert inputs.input_path(tmp_path, "usage.csv") is None  # an empty folder holds no input
    pq.write_table(pa.table({"a": [1]}), tmp_path / "usage.parquet" / "part-0.parquet")
    assert inputs.input_path(tmp_path, "usage.csv") == tmp_path / "usage.parquet"
    (tmp_path / "revenue.csv").write_text("x\n", encoding="utf-8")
    assert inputs.input_path(tmp_path, "revenue.csv") == tmp_path / "revenue.csv"  # the CSV wins


@pytest.mark.parametrize("layout", ["file", "folder"])
def test_a_parquet_ledger_builds_the_clv_report(tmp_path, layout):
    frames = hand_frames()
    folder = write_folder(tmp_path / "in", {"accounts.csv": frames["accounts.csv"]})
    table = ledger_table(frames["revenue.csv"])
    if layout == "file":
        pq.write_table(table, folder / "revenue.parquet")
    else:  # as Spark writes it: part files, a _SUCCESS marker, a partition folder
        parts = folder / "revenue.parquet"
        (parts / "year=2019").mkdir(parents=True)
        pq.write_table(table.slice(0, 5), parts / "year=2019" / "part-00000.parquet")
        pq.write_table(table.slice(5), parts / "part-00001.parquet")
        (parts / "_SUCCESS").write_text("", encoding="utf-8")
    model = clv_churn.build_from_folder(folder, 2020, SETTINGS)
    # test_report_clv's hand-computed figures: A 100 and B 50 at the start, C 30 new, B churned
    assert (model.mrr_start, model.mrr_end, model.customers_start) == (150, 130, 2)
    assert (model.bridge["new"], model.bridge["churned"]) == (30, -50)


def test_a_bad_value_in_parquet_is_named_by_its_row(tmp_path):
    frame = hand_frames()["revenue.csv"]
    table = ledger_table(frame)
    amounts = table.column("amount").to_pylist()
    amounts[3] = -5.0
    pq.write_table(table.set_column(3, "amount", pa.array(amounts)), tmp_path / "revenue.parquet")
    with pytest.raises(InputError) as err:
        load_table(tmp_path / "revenue.parquet", REVENUE, work_dir=tmp_path)
    assert err.value.messages == ["revenue.parquet row 4, column amount: '-5.0'; expected a number >= 0"]


def test_a_parquet_folder_is_fingerprinted_by_its_parts(tmp_path):
    folder = tmp_path / "revenue.parquet"
    folder.mkdir()
    pq.write_table(pa.table({"a": [1]}), folder / "part-0.parquet")
    first = inputs.fingerprint(folder)
    pq.write_table(pa.table({"a": [2]}), folder / "part-1.parquet")
    second = inputs.fingerprint(folder)
    assert first["sha256"] != second["sha256"] and second["parts"] == 2 and second["format"] == "parquet"


# ---------------------------------------------------------------- the run database
def sample_db(tmp_path, files=("revenue.csv", "accounts.csv", "survey_responses.csv")) -> tuple[RunDatabase, dict]:
    db = RunDatabase.create(tmp_path / "rundb")
    prints = validate.validate_inputs(ROOT / "data" / "sample", set(files), 2020, run_db=db)
    return db, prints


def test_the_run_database_holds_each_input_once_typed(tmp_path):
    db, prints = sample_db(tmp_path)
    again = RunDatabase.open(db.folder)
    assert again.names == ["accounts.csv", "revenue.csv", "survey_responses.csv"]
    assert sorted(p.name for p in db.folder.iterdir()) == ["accounts.parquet", "manifest.json", "revenue.parquet",
                                                           "survey_responses.parquet"]
    entry = again.inputs["revenue.csv"]
    assert entry["route"] == "engine" and entry["sha256"] == prints["revenue.csv"]["sha256"]
    assert (entry["delimiter"], entry["encoding"], entry["rows"]) == (",", "utf-8", prints["revenue.csv"]["rows"])
    sample = ROOT / "data" / "sample"  # pandas route: dtypes round-trip (the survey's comments redacted)
    pd.testing.assert_frame_equal(again.frame("accounts.csv"), inputs.load(sample / "accounts.csv", CONTRACTS["accounts.csv"]),
                                  check_flags=False)
    pd.testing.assert_frame_equal(again.frame("survey_responses.csv"), inputs.load_survey(sample / "survey_responses.csv"),
                                  check_flags=False)


def test_a_frame_read_again_comes_from_memory_as_a_copy(tmp_path, monkeypatch):
    """A worker reads the same inputs for every scorecard: the second read is not from the file, and a change to
    one copy does not reach the next."""
    from cxreport.engine import rundb

    db, _ = sample_db(tmp_path)
    first = db.frame("accounts.csv")
    monkeypatch.setattr(rundb.RunDatabase, "_read_frame", lambda *a, **k: pytest.fail("the file was read again"))
    first.loc[0, "customer_id"] = "changed"
    second = db.frame("accounts.csv")
    assert second.loc[0, "customer_id"] != "changed" and second.attrs == first.attrs
    third = db.frame("accounts.csv")
    pd.testing.assert_frame_equal(second, third)
    (db.folder / db.inputs["accounts.csv"]["parquet"]).touch()  # another file (a new run): read again
    with pytest.raises(pytest.fail.Exception, match="read again"):
        db.frame("accounts.csv")


def test_load_inputs_reads_the_run_database_and_parses_no_file(tmp_path, monkeypatch):
    db, prints = sample_db(tmp_path)
    from cxreport.reports import base

    monkeypatch.setattr(base, "load_table", lambda *a, **k: pytest.fail("a file was parsed again"))
    got = load_inputs(ROOT / "data" / "sample", ("revenue.csv", "accounts.csv"), ("survey_responses.csv",), run_db=db.folder)
    ledger = got["revenue.csv"]
    assert not isinstance(ledger, pd.DataFrame)  # the ledger stays on the engine
    assert engine.current().scalar(ledger.count()) == prints["revenue.csv"]["rows"]
    assert str(got["accounts.csv"]["customer_id"].dtype) == str(inputs.load(ROOT / "data" / "sample" / "accounts.csv",
                                                                            CONTRACTS["accounts.csv"])["customer_id"].dtype)


def test_a_reused_verdict_loads_nothing(tmp_path, monkeypatch):
    db = RunDatabase.create(tmp_path / "first")
    files = {"revenue.csv", "accounts.csv"}
    verdict = validate.validated(ROOT / "data" / "sample", files, {}, 2020, run_db=db)
    assert db.names == ["accounts.csv", "revenue.csv"]
    monkeypatch.setattr(validate, "load_table", lambda *a, **k: pytest.fail("loaded although nothing changed"))
    second = RunDatabase.create(tmp_path / "second")
    again = validate.validated(ROOT / "data" / "sample", files, {"validated": verdict}, 2020, run_db=second)
    assert again["files"] == verdict["files"] and second.names == []


def test_an_invalid_input_leaves_no_typed_file(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "revenue.csv").write_text(BAD["revenue.csv"], encoding="utf-8")
    db = RunDatabase.create(tmp_path / "rundb")
    with pytest.raises(InputError):
        validate.validate_inputs(data, {"revenue.csv"}, 2020, run_db=db)
    assert sorted(p.name for p in db.folder.iterdir()) == ["manifest.json"] and db.names == []


def test_the_report_year_coverage_comes_from_the_validation_pass(tmp_path):
    data = write_folder(tmp_path / "data", hand_frames())
    with pytest.raises(InputError, match="the ledger ends in 2020-12; the 2021 report needs every month up to 2021-12"):
        validate.validate_inputs(data, {"revenue.csv", "accounts.csv"}, 2021)


def test_an_unknown_customer_in_a_large_ledger_is_named_by_row_and_line(tmp_path):
    frames = hand_frames()
    frames["accounts.csv"] = frames["accounts.csv"][frames["accounts.csv"]["customer_id"] != "C"]
    data = write_folder(tmp_path / "data", frames)
    ledger = list(frames["revenue.csv"]["customer_id"])
    first_c = ledger.index("C")
    item = {n: load_table(data / n, CONTRACTS[n], work_dir=tmp_path, small_csv_bytes=0) for n in ("revenue.csv", "accounts.csv")}
    found = check_references(item)
    assert found.total == ledger.count("C")
    assert found.messages[0] == (f"revenue.csv row {first_c + 1} (line {first_c + 2}), column customer_id: 'C'; "
                                 f"expected a customer_id listed in accounts.csv")


# ---------------------------------------------------------------- --engine and the pipeline's parameters
def test_engine_choice_is_checked_before_anything_runs(monkeypatch):
    with pytest.raises(ParamsError, match="expected one of duckdb, spark"):
        validate.check_engine("polars")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(ParamsError, match="needs Java 17"):
        validate.check_engine("spark")
    validate.check_engine("spark", "sc://spark.example:15002")  # a remote Spark needs no local Java


def test_notebooks_get_the_run_database_and_engine_but_keys_ignore_them(tmp_path):
    nb = next(n for n in discover(ROOT / "notebooks") if n.name == "03_clv_churn")
    files = {"revenue.csv": {"sha256": "a" * 64}, "accounts.csv": {"sha256": "b" * 64}}
    jobs = {}
    for name in ("duckdb", "spark"):
        setup = run.RunSetup(RunDatabase(tmp_path / name), {}, name, None)
        jobs[name] = run._jobs_for(nb, 2020, tmp_path / "data", tmp_path / "out", tmp_path / f"staging-{name}", {"settings": {}},
                                   ("html",), tmp_path / "failed", setup, files)[0]
    params = jobs["spark"]["parameters"]
    assert params["engine"] == "spark" and params["engine_url"] is None
    assert params["run_db"] == str(tmp_path / "staging-spark" / run.RUN_DB_DIR)
    assert jobs["spark"]["key"] == jobs["duckdb"]["key"]  # the figures are the same on both engines
    assert {"run_db", "engine", "engine_url"} <= set(cache.RUN_PATHS)
    changed = run._jobs_for(nb, 2020, tmp_path / "data", tmp_path / "out", tmp_path / "s", {"settings": {}}, ("html",),
                            tmp_path / "failed", setup, {**files, "revenue.csv": {"sha256": "c" * 64}})[0]
    assert changed["key"] != jobs["spark"]["key"]


def test_every_notebook_declares_the_run_database_and_engine():
    for nb in discover(ROOT / "notebooks"):
        assert {"run_db", "engine", "engine_url"} <= set(nb.parameters), nb.name
        assert nb.parameters["engine"]["default"] == '"duckdb"'


def test_cli_and_make_pass_the_engine(monkeypatch):
    from cxreport import cli

    seen = {}
    monkeypatch.setattr("cxreport.build.run.build_year", lambda *a, **k: seen.update(k))
    assert cli.main(["report", "--year", "2020", "--engine", "spark", "--engine-url", "spark://h:7077"]) == 0
    assert (seen["engine"], seen["engine_url"]) == ("spark", "spark://h:7077")
    dry = subprocess.run(["make", "-n", "report", "ENGINE=spark"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "--engine spark" in dry.stdout


def test_input_tables_are_typed_settings():
    tables = validate.input_tables({**_params(), "input_tables": {"revenue.csv": {"url_env": "CX_URL", "table": "ledger"}}})
    assert tables == {"revenue.csv": {"url": None, "url_env": "CX_URL", "table": "ledger"}}
    with pytest.raises(ParamsError, match="a url or a url_env"):
        validate.input_tables({**_params(), "input_tables": {"revenue.csv": {"table": "ledger"}}})
    with pytest.raises(ParamsError, match="unknown: ledger.csv"):
        validate.input_tables({**_params(), "input_tables": {"ledger.csv": {"url": "duckdb://", "table": "t"}}})


def test_a_table_source_reads_its_url_from_the_environment(tmp_path, monkeypatch):
    import duckdb

    db_file = tmp_path / "cx.duckdb"
    con = duckdb.connect(str(db_file))
    con.execute("CREATE TABLE ledger AS SELECT 'A' AS customer_id, DATE '2020-12-01' AS month, "
                "'subscription' AS revenue_type, 10.0 AS amount")
    con.close()
    monkeypatch.setenv("CX_TEST_URL", f"duckdb://{db_file}")
    source = find_source(tmp_path, "revenue.csv", {"revenue.csv": {"url": None, "url_env": "CX_TEST_URL", "table": "ledger"}})
    assert (source.table, source.url) == ("ledger", f"duckdb://{db_file}")
    loaded = load_table(source, REVENUE, work_dir=tmp_path)
    assert loaded.rows == 1 and loaded.pandas().loc[0, "amount"] == 10.0
    assert loaded.source.label == "table ledger"


def _params() -> dict:
    from cxreport.params import load_params

    return load_params(ROOT / "params", 2020)


# ---------------------------------------------------------------- the shared sample build
def test_the_sample_build_records_the_engine_and_publishes_no_run_database(year_dir):
    metrics = json.loads((year_dir / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["run"]["engine"] == "duckdb"
    for name, entry in metrics["run"]["inputs"].items():  # the inputs' provenance as before the engine
        assert set(entry) == {"file", "bytes", "sha256", "delimiter", "encoding", "rows"}, name
    assert not [p for p in year_dir.parent.rglob("*") if p.name == run.RUN_DB_DIR or p.suffix == ".parquet"]


# ---------------------------------------------------------------- the pipeline: loaded once, never published
def _clv_only_project(tmp_path, fail: bool = False):
    """A copy of the project's params and notebooks (03_clv_churn only), its notebook failing when ``fail``."""
    import shutil

    import nbformat

    project = tmp_path / "project"
    shutil.copytree(ROOT / "params", project / "params")
    (project / "notebooks").mkdir(parents=True)
    path = project / "notebooks" / "03_clv_churn.ipynb"
    shutil.copy(ROOT / "notebooks" / "03_clv_churn.ipynb", path)
    if fail:
        nb = nbformat.read(str(path), as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell("raise ValueError('planted by the test')"))
        nbformat.write(nb, str(path))
    return project


@pytest.mark.slow
def test_a_build_loads_once_publishes_no_run_database_and_a_rebuild_loads_nothing(tmp_path, monkeypatch):
    import tempfile

    from cxreport.build.run import build_year

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the run database is validated into
    data = write_folder(tmp_path / "data", hand_frames())
    out, project = tmp_path / "out", _clv_only_project(tmp_path)
    loads = []
    real = validate.load_table
    monkeypatch.setattr(validate, "load_table", lambda *a, **k: loads.append(a[0].name) or real(*a, **k))
    build_year(project, 2020, data, out, ("html",), {"min_group_size": 1}, workers=1)
    assert sorted(loads) == ["accounts.csv", "revenue.csv"]  # each input loaded once, by the pipeline
    executed = (out / "2020" / "03_clv_churn.ipynb").read_text(encoding="utf-8")
    assert "the run database (removed after the run)" in executed  # the notebook read it
    assert not [p for p in out.rglob("*") if p.name == run.RUN_DB_DIR or p.suffix == ".parquet"]
    assert list(scratch.iterdir()) == []
    metrics = json.loads((out / "2020" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["run"]["engine"] == "duckdb" and metrics["revenue"]["mrr_start"] == 150

    loads.clear()
    build_year(project, 2020, data, out, ("html",), {"min_group_size": 1}, workers=1)
    assert loads == []  # nothing changed: every report reused, no input read
    assert json.loads((out / "2020" / "metrics.json").read_text(encoding="utf-8"))["run"]["reused"] == ["03_clv_churn"]


@pytest.mark.slow
def test_a_failed_run_leaves_no_run_database(tmp_path, monkeypatch):
    import tempfile

    from cxreport.build.execute import NotebookFailed
    from cxreport.build.run import build_year

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    data = write_folder(tmp_path / "data", hand_frames())
    out = tmp_path / "out"
    with pytest.raises(NotebookFailed, match="planted by the test"):
        build_year(_clv_only_project(tmp_path, fail=True), 2020, data, out, ("html",), {"min_group_size": 1}, workers=1)
    assert not list(out.glob(".staging-*")) and not (out / "2020").exists()
    assert not [p for p in out.rglob("*") if p.name == run.RUN_DB_DIR or p.suffix == ".parquet"]
    assert list(scratch.iterdir()) == []
    # a bad input stops the run before the lock: OUT is not even created, and no run database is left
    (data / "revenue.csv").write_text(BAD["revenue.csv"], encoding="utf-8")
    with pytest.raises(InputError):
        build_year(_clv_only_project(tmp_path / "again"), 2020, data, tmp_path / "out2", ("html",), workers=1)
    assert not (tmp_path / "out2").exists() and list(scratch.iterdir()) == []

"""The ledger metrics on the engine: lazy active months, only small results fetched, every month format, both engines.

The hand-computed figures are in test_revenue, test_cohorts and test_survival_clv (run on DuckDB and Spark
through the ``ledger_engine`` fixture); here: the shape of the computation (what stays on the engine, what
comes back), the ledger's month formats, an Ibis-table ledger building the CLV report like a pandas one, and
the sample year's figures on Spark equal to DuckDB's.
"""

from __future__ import annotations

import math

import ibis
import ibis.expr.operations as ops
import numpy as np
import pandas as pd
import pytest
from shapes import write_folder

from cxreport import cohorts, engine, survival
from cxreport import revenue as rv
from cxreport.reports import clv_churn
from cxreport.reports.base import Inputs, jsonable, load_inputs
from cxreport.settings import settings_for

from test_report_clv import hand_frames
from test_revenue import ledger_rows

# A ledger generated on the engine by SQL, never in pandas: CUSTOMERS customers over MONTHS months from 2016-01.
# Customer c pays a subscription of 10 * (c % 7 + 1) in month m unless (c + m) % 11 == 0 (a one-month gap: a churn and,
# the month after, a reactivation), plus a managed fee of 5 in even months (an expansion, then a contraction) and a
# project of 100 in January 2016. Customers with c % 13 == 0 only ever have projects (never active).
CUSTOMERS, MONTHS = 1500, 48
GENERATED_LEDGER = f"""
WITH grid AS (SELECT c, m FROM range({CUSTOMERS}) AS a(c), range({MONTHS}) AS b(m))
SELECT printf('C%05d', c) AS customer_id, (DATE '2016-01-01' + to_months(CAST(m AS INTEGER))) AS month,
       'subscription' AS revenue_type, CAST(10 * (c % 7 + 1) AS DOUBLE) AS amount, CAST(6 * (c % 7 + 1) AS DOUBLE) AS cost
FROM grid WHERE (c + m) % 11 <> 0 AND c % 13 <> 0
UNION ALL
SELECT printf('C%05d', c), (DATE '2016-01-01' + to_months(CAST(m AS INTEGER))), 'managed', 5.0, NULL
FROM grid WHERE m % 2 = 0 AND (c + m) % 11 <> 0 AND c % 13 <> 0
UNION ALL
SELECT printf('C%05d', c), DATE '2016-01-01', 'project', 100.0, 50.0 FROM range({CUSTOMERS}) AS a(c)
"""


@pytest.fixture
def duckdb_engine():
    """A DuckDB engine of its own, in use for the test."""
    with engine.use(engine.connect("duckdb")) as eng:
        yield eng


@pytest.fixture
def generated(duckdb_engine):
    """The generated ledger as a view on DuckDB (Ibis 12's ``con.sql`` fails on DuckDB 2: no ``fetch_arrow_table``)."""
    duckdb_engine.con.raw_sql(f"CREATE VIEW generated_ledger AS {GENERATED_LEDGER}")
    return duckdb_engine.con.table("generated_ledger")


def _tables(eng) -> set[str]:
    """The tables and views on a DuckDB engine (Ibis 12's ``list_tables`` fails on DuckDB 2 the same way as ``sql``)."""
    rows = eng.con.con.execute("SELECT table_name FROM duckdb_tables() UNION ALL "
                               "SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
    return {r[0] for r in rows}


def test_active_months_of_an_ibis_table_stay_on_the_engine(duckdb_engine, generated):
    tables_before = _tables(duckdb_engine)
    active = rv.active_months(generated, end="2019-12")
    assert isinstance(active, ibis.Table)
    assert not isinstance(active.op(), ops.PhysicalTable)  # an expression over the ledger, not a table filled with rows
    assert _tables(duckdb_engine) == tables_before  # nothing was written on the engine either
    assert set(active.columns) == {"customer_id", "month_index", "mrr"}


def test_only_small_results_come_back(duckdb_engine, generated, monkeypatch):
    """Movements, retention, cohorts and lifetimes of the generated ledger fetch at most one row per customer."""
    fetched = []
    fetch = duckdb_engine.fetch

    def counting_fetch(expr):
        out = fetch(expr)
        fetched.append(len(out))
        return out

    monkeypatch.setattr(duckdb_engine, "fetch", counting_fetch)
    with rv.kept(rv.active_months(generated, end="2019-12")) as active:
        mv = rv.mrr_movements(active, end="2019-12", start="2016-01")
        ret = rv.retention(active, "2018-12", "2019-12")
        logo, _ = cohorts.cohort_retention(active, end="2019-12")
        lives = survival.lifetimes(active, "2019-12")
        by_type = rv.revenue_by_type(generated, 2019)
    ledger_rows_n = duckdb_engine.scalar(generated.count())
    active_customers = CUSTOMERS - len(range(0, CUSTOMERS, 13))
    assert ledger_rows_n > 30 * CUSTOMERS and max(fetched) <= active_customers  # the per-customer lifetimes are the largest
    assert len(lives) == active_customers and len(mv) == MONTHS and ret["customers_start"] > 0
    # the bridge closes every month and its MRR is the ledger's recurring revenue
    assert np.allclose(mv["opening_mrr"] + mv[list(rv.MOVEMENTS)].sum(axis=1), mv["closing_mrr"])
    assert mv["closing_mrr"].sum() == pytest.approx(_recurring_total(duckdb_engine, generated))
    in_2019 = mv[mv["month"].dt.year == 2019]
    assert in_2019["closing_mrr"].sum() == pytest.approx(by_type.loc[by_type["recurring"], "revenue"].sum())
    assert (mv["reactivated_customers"].sum() > 0) and (mv["churned_customers"].sum() > 0) and (mv["contraction"] < 0).any()
    assert logo["customers"].sum() == active_customers


def _recurring_total(eng, ledger) -> float:
    """All recurring amounts of the generated ledger (every month with recurring revenue has MRR > 0)."""
    return float(eng.scalar(ledger.filter(ledger.revenue_type.isin(rv.RECURRING_TYPES)).amount.sum()))


def test_kept_drops_its_table_at_the_end(duckdb_engine, generated):
    before = _tables(duckdb_engine)
    with rv.kept(rv.active_months(generated)) as active:
        assert isinstance(active.op(), ops.PhysicalTable)
        assert duckdb_engine.scalar(active.count()) > 0
    assert _tables(duckdb_engine) == before


@pytest.mark.parametrize("form", ["period", "text", "timestamp", "date on the engine"])
def test_every_month_format_gives_the_same_active_months(duckdb_engine, form):
    ledger = ledger_rows()
    expected = rv.active_frame(rv.active_months(ledger, end="2020-06"))
    if form == "text":
        ledger = ledger.assign(month=ledger["month"].astype(str))
    elif form == "timestamp":
        ledger = ledger.assign(month=ledger["month"].dt.start_time)
    elif form == "date on the engine":
        t = duckdb_engine.table(ledger)
        ledger = t.mutate(month=t.month.cast("date"))
        assert ledger.month.type().is_date()
    got = rv.active_frame(rv.active_months(ledger, end="2020-06"))
    pd.testing.assert_frame_equal(got, expected)
    mv = rv.mrr_movements(rv.active_months(ledger, end="2020-06"), end="2020-06")
    assert mv["closing_mrr"].tolist() == [340, 340, 270, 270, 320, 240]  # A+B+E, A+B+E, A+D+E, A+D+E, A+B+D+E, A+B+E


def test_month_index_and_periods_agree():
    assert rv.month_index_of("2020-01") == 2020 * 12
    assert rv.month_index_of(pd.Period("1970-01", freq="M")) == rv.INDEX_OF_1970_01
    assert rv.periods([2020 * 12 + 11])[0] == pd.Period("2020-12", freq="M")


def test_an_ibis_ledger_builds_the_report_as_a_pandas_one(duckdb_engine, tmp_path):
    """The CLV report from the ledger as an Ibis table over Parquet (as the run database gives it) equals the pandas one."""
    folder = write_folder(tmp_path / "in", hand_frames())
    inputs = load_inputs(folder, clv_churn.INPUTS["requires"], clv_churn.INPUTS["optional"])
    settings = settings_for(2020, {"min_group_size": 1})
    ledger = inputs["revenue.csv"]
    if isinstance(ledger, pd.DataFrame):
        parquet = tmp_path / "revenue.parquet"
        plain = ledger.assign(month=ledger["month"].dt.start_time.dt.date)
        plain.attrs = {}  # how the file was read (not part of the table)
        plain.to_parquet(parquet)
        on_engine = duckdb_engine.read_parquet(parquet)
        from_pandas = clv_churn.build(inputs, settings, 2020)
    else:  # the loader already gives the ledger on the engine: compare with it fetched into pandas
        on_engine = ledger
        from_pandas = clv_churn.build(Inputs({**inputs.frames, "revenue.csv": duckdb_engine.fetch(ledger)}, inputs.data_dir),
                                      settings, 2020)
    from_engine = clv_churn.build(Inputs({**inputs.frames, "revenue.csv": on_engine}, inputs.data_dir), settings, 2020)
    assert jsonable(from_engine.headline()) == jsonable(from_pandas.headline())
    pd.testing.assert_frame_equal(from_engine.movements, from_pandas.movements)
    assert (from_engine.mrr_start, from_engine.mrr_end, from_engine.customers_start) == (150, 130, 2)  # test_report_clv's figures


# ---------------------------------------------------------------- Spark equals DuckDB on the sample year
def _close(a, b, path: str = "") -> None:
    """Equal up to float rounding: 1e-9 relative for floats, exact for everything else."""
    if isinstance(a, dict):
        assert set(a) == set(b), path
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, float) and isinstance(b, float):
        assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-9, abs=0), path
    else:
        assert a == b, path


@pytest.mark.slow
@pytest.mark.spark
def test_sample_year_on_spark_equals_duckdb(engine_pool):
    inputs = load_inputs("data/sample", clv_churn.INPUTS["requires"], clv_churn.INPUTS["optional"])
    if not isinstance(inputs["revenue.csv"], pd.DataFrame):  # a table on the loader's engine: the same rows for both
        inputs = Inputs({**inputs.frames, "revenue.csv": engine.current().fetch(inputs["revenue.csv"])}, inputs.data_dir)
    settings = settings_for(2020, None)
    models = {}
    for name in ("duckdb", "spark"):
        if name not in engine_pool:
            engine_pool[name] = engine.connect(name)
        with engine.use(engine_pool[name]):
            models[name] = clv_churn.build(inputs, settings, 2020)
    _close(jsonable(models["spark"].headline()), jsonable(models["duckdb"].headline()))
    for table in ("movements", "cohort_logo", "cohort_revenue", "clv_by_segment", "accounts", "revenue_by_type", "revenue_by_stage"):
        pd.testing.assert_frame_equal(getattr(models["spark"], table), getattr(models["duckdb"], table), rtol=1e-9)


@pytest.mark.parametrize("end", ["2020-02", "2020-03", "2020-04", "2020-05", "2020-06"])
def test_kept_neighbours_give_the_same_figures_at_an_earlier_end(ledger_engine, end):
    """Movements and lifetimes from active months kept with their neighbours (as a report keeps them, computed over
    the whole ledger) equal those computed from the active months up to ``end``."""
    ledger = ledger_rows()
    plain = rv.active_months(ledger, end=end)
    with rv.kept(rv.with_neighbours(rv.active_months(ledger))) as active:
        pd.testing.assert_frame_equal(rv.mrr_movements(active, end=end), rv.mrr_movements(plain, end=end))
        pd.testing.assert_frame_equal(survival.lifetimes(active, end), survival.lifetimes(plain, end))
        # a segment of whole customers keeps their neighbours: B and D's bridge is the one of their rows alone
        segments = pd.Series({"A": "other", "B": "bd", "D": "bd", "E": "other"})
        only_bd = rv.active_months(ledger[ledger["customer_id"].isin(["B", "D"])], end=end)
        pd.testing.assert_frame_equal(rv.mrr_movements_by_segment(active, segments, end=end)["bd"], rv.mrr_movements(only_bd, end=end))


def test_segments_in_one_query_by_hand(ledger_engine):
    ledger = ledger_rows()
    segments = pd.Series({"A": "ab", "B": "ab", "C": "c", "D": "de", "E": "de"})
    margins = rv.gross_margin_by_segment(ledger, segments, 2020)
    # A and B: subscriptions at cost 80%; D: 150 at cost 120 and 90 at 45; E: 240 at 120; C: no recurring revenue
    assert margins["ab"] == pytest.approx(0.2) and margins["de"] == pytest.approx(1 - (120 + 45 + 120) / (240 + 240))
    assert np.isnan(margins["c"])
    mv = rv.mrr_movements_by_segment(rv.active_months(ledger, end="2020-06"), segments, end="2020-06")
    # D (80, March to May) and E (40 every month); D leaves in June
    assert mv["de"]["closing_mrr"].tolist() == [40, 40, 120, 120, 120, 40]
    assert mv["de"]["churned"].tolist() == [0, 0, 0, 0, 0, -80] and mv["de"]["new"].tolist() == [40, 0, 80, 0, 0, 0]
    assert mv["c"].empty  # never active


def test_never_active_customers_by_hand(ledger_engine):
    # C has only a project and a licence; F only a zero subscription: neither is ever active
    never = rv.never_active(ledger_rows(), "2020-06")
    assert (never["customers"], never["nonrecurring_customers"], never["zero_recurring_customers"]) == (2, 1, 1)
    assert never["types"] == ["subscription", "project", "license"]
    assert rv.never_active(ledger_rows(), "2020-01")["customers"] == 0  # C's and F's rows come later

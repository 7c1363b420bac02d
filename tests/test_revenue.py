"""Revenue ledger metrics on a small hand-made ledger (every figure computed by hand in the comments).

The hand-computed cases run on both engines (the ``ledger_engine`` fixture of conftest.py): DuckDB in
`make test`, Spark local in `make test-all`.
"""

import numpy as np
import pandas as pd
import pytest

from cxreport import revenue as rv
from cxreport.inputs import ACCOUNTS, InputError, load
from cxreport.sample import generate_accounts, generate_maturity, generate_revenue, generate_survey


def ledger_rows():
    """Six months of 2020 (the ledger ends in June).

    A: subscription 100, 100, 150 (expansion), 150, 120 (contraction), 120.
    B: subscription 200 in Jan-Feb, gone Mar-Apr (churn in March), back with 80 in May-Jun (reactivation); a project in March.
    C: only project and licence revenue: never active.
    D: new in March with subscription 50 + managed 30 = MRR 80 for Mar-May; churns in June, the ledger's last month.
    E: managed 40 every month: active in the last month, so not churned (censored).
    F: a zero subscription row: not active.
    """
    rows = []
    for m, a in zip(range(1, 7), [100, 100, 150, 150, 120, 120]):
        rows.append(("A", m, "subscription", a, 0.8 * a))
    for m, a in ((1, 200), (2, 200), (5, 80), (6, 80)):
        rows.append(("B", m, "subscription", a, 0.8 * a))
    rows.append(("B", 3, "project", 500, 300))
    rows.append(("C", 2, "project", 1000, np.nan))
    rows.append(("C", 4, "license", 300, 200))
    for m in (3, 4, 5):
        rows.append(("D", m, "subscription", 50, 40))
        rows.append(("D", m, "managed", 30, 15))
    for m in range(1, 7):
        rows.append(("E", m, "managed", 40, 20))
    rows.append(("F", 2, "subscription", 0, 0))
    df = pd.DataFrame(rows, columns=["customer_id", "m", "revenue_type", "amount", "cost"])
    df["month"] = pd.PeriodIndex([f"2020-{m:02d}" for m in df["m"]], freq="M")
    return df.drop(columns="m").sample(frac=1, random_state=1).reset_index(drop=True)  # order must not matter


@pytest.fixture
def ledger(ledger_engine):
    return ledger_rows()


@pytest.fixture
def active(ledger):
    return rv.active_months(ledger, end="2020-06")


def test_active_months_are_months_with_recurring_revenue(active):
    active = rv.active_frame(active)
    got = active.assign(month=active["month"].astype(str)).set_index(["customer_id", "month"])["mrr"].to_dict()
    assert got[("A", "2020-03")] == 150
    assert got[("D", "2020-04")] == 80  # subscription + managed
    assert ("B", "2020-03") not in got  # project revenue only: not active
    assert set(active["customer_id"]) == {"A", "B", "D", "E"}  # C (project/licence only) and F (zero) never active
    assert len(active) == 6 + 4 + 3 + 6


def test_mrr_movements_by_hand(active):
    mv = rv.mrr_movements(active, end="2020-06").set_index(rv.mrr_movements(active, end="2020-06")["month"].astype(str))
    assert mv.loc["2020-01", ["new", "closing_mrr", "customers", "new_customers"]].tolist() == [340, 340, 3, 3]
    assert mv.loc["2020-02", ["new", "expansion", "contraction", "churned", "closing_mrr"]].tolist() == [0, 0, 0, 0, 340]
    mar = mv.loc["2020-03"]
    assert (mar["opening_mrr"], mar["new"], mar["expansion"], mar["churned"], mar["closing_mrr"]) == (340, 80, 50, -200, 270)
    assert (mar["churned_customers"], mar["new_customers"], mar["expanded_customers"]) == (1, 1, 1)
    may = mv.loc["2020-05"]
    assert (may["reactivation"], may["contraction"], may["closing_mrr"], may["reactivated_customers"]) == (80, -30, 320, 1)
    jun = mv.loc["2020-06"]  # D churns in the report's last month
    assert (jun["churned"], jun["churned_customers"], jun["closing_mrr"], jun["customers"]) == (-80, 1, 240, 3)
    moves = mv[list(rv.MOVEMENTS)].sum(axis=1)
    assert np.allclose(mv["opening_mrr"] + moves, mv["closing_mrr"])
    assert jun["arpa"] == pytest.approx(80)


def test_customer_active_in_last_month_is_not_churned(active):
    mv = rv.mrr_movements(active, end="2020-06")
    assert mv["churned_customers"].sum() == 2  # B in March, D in June; A and E are still customers
    # with a longer ledger A, B and E would churn in July; within the ledger nothing is seen
    longer = rv.mrr_movements(active, end="2020-07")
    assert longer.iloc[-1]["churned_customers"] == 3 and longer.iloc[-1]["churned"] == -240


def test_bridge_sums_the_year(active):
    br = rv.bridge(rv.mrr_movements(active, end="2020-06"), "2020-02", "2020-06")
    assert br == {"opening_mrr": 340, "new": 80, "reactivation": 80, "expansion": 50, "contraction": -30, "churned": -280, "closing_mrr": 240}


def test_retention_nrr_grr_by_hand(active):
    # Starting book in January: A 100, B 200, E 40. In June: A 120, B 80 (came back), E 40.
    r = rv.retention(active, "2020-01", "2020-06")
    assert (r["customers_start"], r["customers_retained"], r["logo_retention_pct"]) == (3, 3, 100)
    assert (r["start_mrr"], r["expansion"], r["contraction"], r["churned_mrr"]) == (340, 20, 120, 0)
    assert r["nrr_pct"] == pytest.approx(100 * 240 / 340)  # 70.59
    assert r["grr_pct"] == pytest.approx(100 * 220 / 340)  # 64.71
    # February to April: B is gone in April (churn 200), A expanded by 50.
    r = rv.retention(active, "2020-02", "2020-04")
    assert r["logo_retention_pct"] == pytest.approx(200 / 3) and r["logo_churn_pct"] == pytest.approx(100 / 3)
    assert r["nrr_pct"] == pytest.approx(100 * 190 / 340)
    assert r["grr_pct"] == pytest.approx(100 * 140 / 340)


def test_grr_is_capped_at_100_even_with_expansion(ledger_engine):
    df = pd.DataFrame({"customer_id": ["A", "A"], "month": pd.PeriodIndex(["2020-01", "2020-02"], freq="M"),
                       "revenue_type": "subscription", "amount": [100.0, 300.0]})
    r = rv.retention(rv.active_months(df), "2020-01", "2020-02")
    assert r["nrr_pct"] == 300 and r["grr_pct"] == 100


def test_monthly_churn_and_arpa(active):
    mv = rv.mrr_movements(active, end="2020-06")
    c = rv.monthly_logo_churn(mv, "2020-01", "2020-06")
    # churned 2 (B in Mar, D in Jun) over customers at the start of each month 0+3+3+3+3+4 = 16
    assert (c["churned_customers"], c["customer_months"]) == (2, 16)
    assert c["monthly_pct"] == pytest.approx(12.5)
    assert c["annualised_pct"] == pytest.approx(100 * (1 - 0.875 ** 12))
    a = rv.arpa(mv, "2020-01", "2020-06")
    assert a["end"] == pytest.approx(240 / 3)
    assert a["average"] == pytest.approx(1780 / 19)  # sum of closing MRR / sum of active customers


def test_recurring_share_counts_project_only_customers_in_total(ledger):
    s = rv.recurring_share(ledger, 2020)
    # recurring: subscription 740 + 560 + 150 = 1450, managed 90 + 240 = 330; non-recurring 500 + 1000 + 300
    assert (s["recurring_revenue"], s["total_revenue"]) == (1780, 3580)
    assert s["recurring_share_pct"] == pytest.approx(100 * 1780 / 3580)


def test_gross_profit_by_type(ledger):
    t = rv.revenue_by_type(ledger, 2020).set_index("revenue_type")
    assert t.loc["subscription", "margin_pct"] == pytest.approx(20)
    assert t.loc["managed", "margin_pct"] == pytest.approx(50)
    # projects: C's cost is blank, so only B's 500 with cost 300 counts: margin 40%, 1/3 of the revenue covered
    assert t.loc["project", "revenue"] == 1500 and t.loc["project", "margin_pct"] == pytest.approx(40)
    assert t.loc["project", "cost_coverage_pct"] == pytest.approx(100 / 3)
    assert t.loc["license", "gross_profit"] == 100
    assert t.loc["ip", "revenue"] == 0 and np.isnan(t.loc["ip", "margin_pct"])
    assert rv.gross_margin(ledger, 2020) == pytest.approx(1 - (0.8 * 1450 + 0.5 * 330) / 1780)


def test_one_aggregate_of_every_year_gives_each_years_figures(ledger):
    """type_sums over every year (one query) gives the same figures as each year's own; a year without rows is empty."""
    sums = rv.type_sums(ledger)
    assert set(sums.index.get_level_values("year")) == {2020}
    assert sums.loc[(2020, "subscription"), "revenue"] == 1450 and sums.loc[(2020, "managed"), "revenue"] == 330
    pd.testing.assert_frame_equal(rv.revenue_by_type(ledger, 2020, sums), rv.revenue_by_type(ledger, 2020))
    assert rv.gross_margin(ledger, 2020, sums=sums) == pytest.approx(rv.gross_margin(ledger, 2020))
    empty = rv.recurring_share(ledger, 2019, sums)
    assert (empty["total_revenue"], empty["recurring_revenue"]) == (0, 0) and np.isnan(empty["recurring_share_pct"])
    assert np.isnan(rv.gross_margin(ledger, 2019, sums=sums))


def test_revenue_by_segment(ledger, active):
    seg = pd.DataFrame({"customer_id": ["A", "B", "C", "D", "E"], "stage": ["x", "x", "y", "y", "y"]})
    t = rv.revenue_by_segment(ledger, seg, 2020, by="stage", min_n=1, active=active).set_index("stage")
    assert t.loc["x", "revenue"] == 740 + 560 + 500 and t.loc["x", "customers"] == 2
    # December has no data in this ledger: nobody is active then
    assert t.loc["y", "active_customers"] == 0
    assert t.loc["y", "recurring_share_pct"] == pytest.approx(100 * (240 + 240) / (1300 + 240 + 240))
    small = rv.revenue_by_segment(ledger, seg, 2020, by="stage", min_n=3, active=active).set_index("stage")
    assert small.loc["x", "suppressed"] and np.isnan(small.loc["x", "revenue"]) and small.loc["x", "customers"] == 2


def test_cloud_recurring_comparison(ledger_engine):
    rows = []
    for i in range(6):  # mostly cloud: 80 subscription + 20 project
        rows += [(f"c{i}", "subscription", 80.0), (f"c{i}", "project", 20.0)]
    for i in range(6):  # other: 20 managed + 80 licence
        rows += [(f"o{i}", "managed", 20.0), (f"o{i}", "license", 80.0)]
    df = pd.DataFrame(rows, columns=["customer_id", "revenue_type", "amount"])
    df["month"] = pd.Period("2020-03", freq="M")
    units = pd.Series({c: c for c in df["customer_id"].unique()})
    out = rv.cloud_recurring_comparison(df, units, 2020, ("subscription",), min_n=5)
    assert (out["units_mostly_cloud"], out["units_other"]) == (6, 6)
    assert out["ratio"] == pytest.approx(80 / 20)
    assert np.isnan(rv.cloud_recurring_comparison(df, units, 2020, ("subscription",), min_n=7)["ratio"])


def test_ten_thousand_customers_vectorised():
    rng = np.random.default_rng(0)
    n = 200_000
    df = pd.DataFrame({"customer_id": rng.integers(0, 10_000, n).astype(str),
                       "month": pd.PeriodIndex.from_ordinals(rng.integers(600, 660, n), freq="M"),
                       "revenue_type": rng.choice(list(rv.REVENUE_TYPES), n), "amount": rng.uniform(0, 100, n)})
    act = rv.active_months(df)
    mv = rv.mrr_movements(act)
    assert np.allclose(mv["opening_mrr"] + mv[list(rv.MOVEMENTS)].sum(axis=1), mv["closing_mrr"])
    assert mv["closing_mrr"].sum() == pytest.approx(df.loc[df["revenue_type"].isin(rv.RECURRING_TYPES), "amount"].sum())


# ---------------------------------------------------------------- input contract
def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_revenue_contract_messages(tmp_path):
    bad = _write(tmp_path / "revenue.csv", "customer_id,month,revenue_type,amount,cost\n"
                 "C1,2020-01,subscription,100,80\nC1,2020-13,subscription,100,80\nC1,2020-02,rental,100,\nC1,2020-03,managed,-5,1\n")
    with pytest.raises(InputError) as err:
        rv.load_revenue(bad)
    msgs = err.value.messages
    assert "revenue.csv row 2 (line 3), column month: '2020-13'; expected a month (YYYY-MM)" in msgs
    assert any("row 3 (line 4), column revenue_type: 'rental'; expected one of subscription, managed, project, license, ip" in m for m in msgs)
    assert any("row 4 (line 5), column amount: '-5'; expected a number >= 0" in m for m in msgs)
    assert len(msgs) == 3


def test_ledger_rows_for_unknown_customers_one_message_each(tmp_path):
    accounts = load(_write(tmp_path / "accounts.csv", "customer_id,company_size\nC1,1-49\n"), ACCOUNTS)
    led = _write(tmp_path / "revenue.csv", "customer_id,month,revenue_type,amount\nC1,2020-01,subscription,100\n"
                 "C9,2020-01,subscription,100\nC9,2020-02,project,5\n")
    with pytest.raises(InputError) as err:
        rv.load_revenue(led, accounts)
    assert err.value.messages == [
        "revenue.csv row 2 (line 3), column customer_id: 'C9'; expected a customer_id listed in accounts.csv",
        "revenue.csv row 3 (line 4), column customer_id: 'C9'; expected a customer_id listed in accounts.csv",
    ]
    ok = rv.load_revenue(_write(tmp_path / "ok.csv", "customer_id,month,revenue_type,amount\nC1,2020-01,subscription,100\n"), accounts)
    assert len(ok) == 1 and "cost" not in ok


# ---------------------------------------------------------------- sample
def test_committed_ledger_is_what_the_generator_writes(root):
    accounts = generate_accounts(2020)
    survey = generate_survey(2020, accounts=accounts)
    mat = generate_maturity(accounts, 2020, always_assessed=survey.loc[survey["survey_year"] == 2020, "customer_id"])
    ledger = generate_revenue(accounts, 2020, survey=survey, maturity=mat)
    assert ledger.to_csv(index=False).encode() == (root / "data" / "sample" / "revenue.csv").read_bytes()


def test_generator_scales_for_benchmarks():
    big = generate_revenue(customers=3000)
    assert big["customer_id"].nunique() <= 3000 and len(big) > 100_000
    assert set(big["revenue_type"]) == set(rv.REVENUE_TYPES)
    assert (big["amount"] >= 0).all()

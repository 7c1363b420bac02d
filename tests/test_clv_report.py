"""End-to-end checks of the CLV and churn report on the shared sample build (the `built_sample` fixture)."""

import json

import numpy as np
import pandas as pd
import pytest

from cxreport import revenue as rv
from cxreport.inputs import ACCOUNTS, load

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def year_dir(built_sample):
    out, _ = built_sample
    return out / "2020"


@pytest.fixture(scope="module")
def metrics(year_dir):
    return json.loads((year_dir / "metrics.json").read_text())["revenue"]


@pytest.fixture(scope="module")
def ledger(root):
    accounts = load(root / "data" / "sample" / "accounts.csv", ACCOUNTS)
    return rv.load_revenue(root / "data" / "sample" / "revenue.csv", accounts)


def test_report_built_with_its_tables(year_dir, built_formats):
    assert all((year_dir / f"03_clv_churn.{ext}").is_file() for ext in built_formats)
    for name in ("mrr_movements", "cohort_logo_retention", "cohort_revenue_retention", "clv_by_segment", "clv_accounts",
                 "revenue_by_type", "revenue_by_stage", "survival_by_segment", "cox_hazard_ratios", "revenue_benchmarks"):
        assert (year_dir / "tables" / f"{name}.csv").is_file(), name


def test_metrics_match_the_library_on_the_sample(metrics, ledger):
    active = rv.active_months(ledger, end="2020-12")
    mv = rv.mrr_movements(active, end="2020-12")
    h = rv.revenue_headline(ledger, active, mv, 2020)
    assert metrics["mrr_end"] == pytest.approx(h["mrr_end"])
    assert metrics["nrr_pct"] == pytest.approx(h["retention"]["nrr_pct"], abs=0.01)
    assert metrics["grr_pct"] <= 100
    assert metrics["recurring_share_pct"] == pytest.approx(h["recurring_share_pct"], abs=0.01)
    assert metrics["annual_logo_churn_pct"] == pytest.approx(100 - metrics["logo_retention_pct"], abs=0.02)
    for key in ("arpa", "monthly_logo_churn_pct", "clv_simple", "clv_sbg", "sbg_gamma", "sbg_delta", "expected_remaining_value"):
        assert metrics[key] is not None and metrics[key] > 0, key


def test_mrr_movements_table_adds_up(year_dir, metrics):
    mv = pd.read_csv(year_dir / "tables" / "mrr_movements.csv")
    moves = mv[["new", "reactivation", "expansion", "contraction", "churned"]].sum(axis=1)
    assert np.allclose(mv["opening_mrr"] + moves, mv["closing_mrr"])
    assert (mv["contraction"] <= 0).all() and (mv["churned"] <= 0).all()
    dec = mv.set_index("month").loc["2020-12"]
    assert dec["closing_mrr"] == pytest.approx(metrics["mrr_end"]) and dec["customers"] == metrics["active_customers"]
    year = mv[mv["month"].str.startswith("2020")]
    assert year["new"].sum() == pytest.approx(metrics["new_mrr"]) and year["churned"].sum() == pytest.approx(metrics["churned_mrr"])


def test_cohort_tables(year_dir):
    for name in ("cohort_logo_retention", "cohort_revenue_retention"):
        t = pd.read_csv(year_dir / "tables" / f"{name}.csv")
        assert list(t.columns[:4]) == ["cohort", "customers", "start_mrr", "0"]
        assert (t["0"] == 100).all() and t["customers"].gt(0).all()
        assert t.iloc[-1].iloc[4:].isna().all()  # the newest cohort is not observed beyond its start
    logo = pd.read_csv(year_dir / "tables" / "cohort_logo_retention.csv")
    assert logo.drop(columns=["cohort", "customers", "start_mrr"]).max().max() <= 100


def test_clv_tables(year_dir, metrics):
    seg = pd.read_csv(year_dir / "tables" / "clv_by_segment.csv")
    overall = seg[seg["dimension"] == "All"].iloc[0]
    assert overall["clv_sbg"] == pytest.approx(metrics["clv_sbg"], rel=1e-4)
    assert {"Company size", "Industry", "Region", "Maturity stage"} <= set(seg["dimension"])
    shown = seg[~seg["suppressed"]]
    assert shown["clv_simple"].to_numpy() == pytest.approx((shown["arpa"] * shown["gross_margin_pct"] / shown["monthly_churn_pct"]).to_numpy())
    assert (seg.loc[seg["suppressed"], "clv_sbg"].isna()).all() and (seg.loc[seg["suppressed"], "customers"] < 5).all()
    acc = pd.read_csv(year_dir / "tables" / "clv_accounts.csv")
    assert {"customer_id", "segment", "tenure_months", "mrr", "churn_risk_pct", "expected_remaining_value"} <= set(acc.columns)
    assert len(acc) == metrics["active_customers"] and acc["customer_id"].is_unique
    assert acc["churn_risk_pct"].between(0, 100).all() and (acc["expected_remaining_value"] > 0).all()
    assert acc["expected_remaining_value"].sum() == pytest.approx(metrics["expected_remaining_value"], rel=1e-6)
    assert not {"contact_name", "contact_email"} & set(acc.columns)


def test_satisfaction_and_maturity_really_predict_churn_in_the_sample(metrics, year_dir):
    assert metrics["logrank_p"]["maturity_stage"] < 0.001
    hr = pd.read_csv(year_dir / "tables" / "cox_hazard_ratios.csv")
    stage = hr[(hr["model"] == "assessed customers") & (hr["covariate"] == "stage")].iloc[0]
    assert stage["hr"] < 1 and stage["p"] < 0.05  # more mature customers leave more slowly
    assert metrics["cox"]["satisfaction"]["events"] < 30  # the linked sample is small: the report says so
    html = (year_dir / "03_clv_churn.html").read_text()
    assert "Only " in html and "linked customers" in html

"""The CLV and churn report model (cxreport.reports.clv_churn): hand-computed figures, the sample's figures, contract-valid shapes.

Fast: no kernel, no papermill. Shapes are written as CSV folders (tests/shapes.py) and loaded the way the pipeline loads them.
"""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1
from sample_models import sample_model as shared_sample_model
from shapes import assert_headline_clean, only_required, sample_frames, write_folder

from cxreport import clv
from cxreport.inputs import InputError
from cxreport.reports import clv_churn
from cxreport.reports.base import jsonable, load_inputs
from cxreport.settings import settings_for

YEAR = 2020
FILES = ("revenue.csv", "accounts.csv", "survey_responses.csv", "maturity_assessments.csv")
BAD_WORDS = re.compile(r"\b(nan|NaN|inf|None|NaT)\b")

# metrics.json "revenue" of the sample, 2020, from the notebook before the report model (rounded to 2 decimals as written)
SAMPLE_BEFORE = {
    "active_customers": 876, "annual_logo_churn_pct": 8.63, "arpa": 3121.75, "arpa_average": 3109.9, "churned_customers": 102,
    "churned_mrr": -211306.0, "cloud_recurring_ratio": 1.18, "clv_sbg": 76060.91, "clv_simple": 101024.86,
    "clv_simple_discounted": 57616.16, "contraction_mrr": -57613.0, "customers_start": 776, "discount_rate": 0.1,
    "expansion_mrr": 210250.0, "grr_pct": 93.14, "logo_retention_pct": 91.37, "monthly_logo_churn_pct": 1.04,
    "mrr_end": 2734656.0, "mrr_growth_pct": 16.83, "mrr_start": 2340796.0, "new_mrr": 400833.0, "nrr_pct": 100.26,
    "partners_mostly_cloud": 15, "reactivation_mrr": 51696.0, "recurring_gross_margin_pct": 33.76,
    "recurring_revenue": 30837765.0, "recurring_share_pct": 75.55, "sbg_delta": 14.7, "sbg_gamma": 0.31,
    "total_revenue": 40815085.0, "year": 2020,
    "cox": {"maturity": {"events": 89, "n": 814, "parameters": 2}, "satisfaction": {"events": 8, "n": 102, "parameters": 4}},
    "logrank_p": {"company_size": 0.010949070073126843, "industry": 0.28429414274978315, "maturity_stage": 2.220446049250313e-16,
                  "nps_category": 0.0010349593004398416},
}
# The one figure that moves: DERL now follows Fader & Hardie (2010) (next renewal undiscounted), so the remaining value is
# (1 + d_month) times the old 88,595,763.19.
SAMPLE_ERV_BEFORE = 88595763.19


@pytest.fixture(scope="module")
def settings():
    return settings_for(YEAR, None)


def build(tmp_path, frames, year=YEAR, **overrides):
    folder = write_folder(tmp_path / "in", frames)
    inputs = load_inputs(folder, clv_churn.INPUTS["requires"], clv_churn.INPUTS["optional"])
    return clv_churn.build(inputs, settings_for(year, overrides), year)


@pytest.fixture(scope="module")
def sample_model():
    return shared_sample_model("clv_churn")  # built once per test process, shared with the chart and format tests


@pytest.fixture(scope="module")
def small():
    """A contract-valid slice of the sample: 80 accounts, their ledger, assessments and survey answers."""
    f = sample_frames(*FILES)
    ids = set(f["accounts.csv"]["customer_id"].iloc[:80])
    out = {"accounts.csv": f["accounts.csv"][f["accounts.csv"]["customer_id"].isin(ids)]}
    for name in ("revenue.csv", "maturity_assessments.csv"):
        out[name] = f[name][f[name]["customer_id"].isin(ids)]
    s = f["survey_responses.csv"]
    out["survey_responses.csv"] = s[s["customer_id"].isin(ids) | (s["customer_id"] == "")]
    return out


def ledger(rows):
    return pd.DataFrame(rows, columns=["customer_id", "month", "revenue_type", "amount", "cost"]).astype(str)


def months(first, last):
    return [str(p) for p in pd.period_range(first, last, freq="M")]


def tiny_accounts(ids, **cols):
    return pd.DataFrame({"customer_id": list(ids), **cols}).astype(str)


# ---------------------------------------------------------------- invariants checked on every model
def check_model(model):
    h = model.headline()
    reasons = model.unknowns.reasons
    assert_headline_clean(jsonable(h), reasons)
    assert_headline_clean(h, reasons)
    # every None figure of the model has a reason; no NaN or inf among its numbers
    for f in dataclasses.fields(model):
        v = getattr(model, f.name)
        if isinstance(v, float):
            assert math.isfinite(v), f.name
        if v is None and f.name not in ("first_cohort_note", "account_segment_note", "stage_note", "stage_top", "top_segment",
                                        "bottom_segment", "sbg_observed", "sbg_projected", "revenue_by_stage", "survey_answers",
                                        "cohorts_shown_since", "first_cohort", "data_dir"):
            assert f.name in reasons or (f.name.startswith("customers_") and "customers_start" in reasons), f"{f.name} is None without a reason"
    for k, why in reasons.items():
        assert why and why.endswith(".") and not BAD_WORDS.search(why), (k, why)
    # the MRR bridge closes
    b = model.bridge
    assert b["opening_mrr"] + b["new"] + b["reactivation"] + b["expansion"] + b["contraction"] + b["churned"] == pytest.approx(b["closing_mrr"])
    mv = model.movements
    if len(mv):
        moves = mv[["new", "reactivation", "expansion", "contraction", "churned"]].sum(axis=1)
        assert np.allclose(mv["opening_mrr"] + moves, mv["closing_mrr"])
    # shares that should sum to 100 do
    if model.total_revenue > 0:
        assert model.revenue_by_type["share_pct"].sum() == pytest.approx(100)
    if model.logo_retention_pct is not None:
        assert model.logo_retention_pct + model.logo_churn_pct == pytest.approx(100)
        assert model.customers_retained + model.customers_churned == model.customers_start
    # every sentence reads without nan/None
    sentences = list(clv_churn.texts(model).values()) + [clv_churn.section_text(s, model.min_group_size) for s in model.survival_sections]
    sentences += [clv_churn.cox_text(c) for c in model.cox_models] + [" ".join(map(str, k)) for k in clv_churn.kpis(model)]
    for text in sentences:
        assert text is not None and not BAD_WORDS.search(text), text
    for name in ("movements", "by_type", "accounts", "stage"):
        clv_churn.view(model, name)
    assert set(model.tables()) >= {"mrr_movements", "revenue_by_type", "cohort_logo_retention", "clv_by_segment", "clv_accounts"}
    return h


# ---------------------------------------------------------------- the module's contract
def test_module_declares_inputs_and_settings():
    from cxreport.settings import Settings

    assert clv_churn.INPUTS == {"requires": ("revenue.csv", "accounts.csv"),
                                "optional": ("survey_responses.csv", "maturity_assessments.csv")}
    assert set(clv_churn.SETTINGS) <= set(Settings.model_fields)
    assert clv_churn.ClvChurnReport.SECTION == "revenue"


def test_derl_matches_fader_hardie_2010_closed_form():
    g, d, n, disc = 0.668, 3.806, 5, 0.10  # the "high end" segment
    derl = clv.discounted_expected_residual_lifetime(g, d, n, disc)
    assert float(derl) == pytest.approx(6.8971, abs=1e-4)
    assert float(derl) == pytest.approx((d + n - 1) / (g + d + n - 1) * hyp2f1(1, d + n, g + d + n, 1 / (1 + disc)), rel=1e-9)


# ---------------------------------------------------------------- the sample year
def test_sample_figures_unchanged(sample_model):
    h = jsonable(sample_model.headline())
    for key, before in SAMPLE_BEFORE.items():
        if isinstance(before, dict):
            assert h[key] == pytest.approx(before, rel=1e-9) if key == "logrank_p" else h[key] == before, key
        else:
            assert h[key] == pytest.approx(before, abs=0.006), key
    d_m = clv.monthly_rate(0.10)
    assert h["expected_remaining_value"] == pytest.approx(SAMPLE_ERV_BEFORE * (1 + d_m), rel=1e-6)
    # the new raw counts behind the rates
    assert (h["customers_start"], h["customers_retained"], h["customers_churned"]) == (776, 709, 67)
    assert h["customer_months"] == 9816 and h["mrr_start"] == pytest.approx(2340796.0)
    assert sample_model.unknowns.reasons == {}
    check_model(sample_model)


def test_sample_tables_and_sentences(sample_model):
    t = sample_model.tables()
    assert set(t) == {"mrr_movements", "cohort_logo_retention", "cohort_revenue_retention", "clv_by_segment", "clv_accounts",
                      "revenue_by_type", "revenue_by_stage", "survival_by_segment", "cox_hazard_ratios", "revenue_benchmarks"}
    assert t["clv_accounts"]["expected_remaining_value"].sum() == pytest.approx(sample_model.expected_remaining_value)
    text = clv_churn.texts(sample_model)
    assert "went from **€2,340,796** in December 2019 to **€2,734,656**" in text["bridge"]
    assert "161 customers in the ledger never had recurring revenue (161 with only project, licence or packaged IP revenue)" in text["never_active"]
    assert "since 2016Q1" in text["cohorts_shown"] and "2014Q1" in text["cohorts_shown"]


# ---------------------------------------------------------------- hand-computed
def hand_frames(cost=True):
    c = (lambda x: x) if cost else (lambda x: "")
    rows = [("A", m, "subscription", 100, c(60)) for m in months("2019-12", "2020-12")]
    rows += [("B", m, "managed", 50, c(25)) for m in months("2019-12", "2020-06")]
    rows += [("C", m, "subscription", 30, c(15)) for m in months("2020-03", "2020-12")]
    rows += [("C", "2020-05", "project", 1000, c(500))]
    return {"revenue.csv": ledger(rows), "accounts.csv": tiny_accounts("ABC")}


def test_hand_computed_ledger(tmp_path):
    m = build(tmp_path, hand_frames(), min_group_size=1)
    h = check_model(m)
    assert (m.mrr_start, m.mrr_end) == (150, 130)
    assert m.mrr_growth_pct == pytest.approx(100 * (130 / 150 - 1))
    assert (m.bridge["new"], m.bridge["churned"], m.bridge["expansion"], m.bridge["contraction"]) == (30, -50, 0, 0)
    assert (m.customers_start, m.customers_retained, m.customers_churned) == (2, 1, 1)
    assert m.logo_retention_pct == 50 and m.nrr_pct == pytest.approx(100 * 100 / 150) and m.grr_pct == pytest.approx(100 * 100 / 150)
    # exposure: 2 customers open Jan-Mar, 3 Apr-Jul, 2 Aug-Dec = 28 customer-months, one churn (B, July)
    assert (m.monthly_churned_customers, m.customer_months) == (1, 28)
    assert m.monthly_logo_churn_pct == pytest.approx(100 / 28)
    assert m.arpa == 65
    assert m.recurring_share_pct == pytest.approx(100 * 1800 / 2800)
    # recurring margin: (1200*0.4 + 300*0.5 + 300*0.5) / 1800
    assert m.recurring_gross_margin_pct == pytest.approx(100 * (480 + 150 + 150) / 1800)
    assert h["customers_churned"] == 1 and h["mrr_start"] == 150
    assert m.never_active == 0


# ---------------------------------------------------------------- known defects
def test_accounts_with_only_customer_id(tmp_path, small):
    frames = {**small, "accounts.csv": small["accounts.csv"][["customer_id"]]}
    m = build(tmp_path, frames)
    check_model(m)
    sec = {s.key: s for s in m.survival_sections}
    assert "no company_size column" in sec["company_size"].reason and "no industry column" in sec["industry"].reason
    assert m.account_segment_note and "company_size" in m.account_segment_note and m.account_segment == "all customers"
    assert [s.dimension for s in m.clv_segments] == ["Maturity stage"]


def test_clv_account_segment_names_a_missing_column(tmp_path, small):
    m = build(tmp_path, small, clv_account_segment="region_x")
    check_model(m)
    assert m.account_segment == "company_size" and "region_x" in m.account_segment_note


@pytest.mark.parametrize("first", ["2020-03", "2020-12"])
def test_ledger_starting_in_the_report_year(tmp_path, small, first):
    rev = small["revenue.csv"]
    frames = {**small, "revenue.csv": rev[rev["month"] >= first]}
    m = build(tmp_path, frames)
    check_model(m)
    for k in ("mrr_start", "mrr_growth_pct", "nrr_pct", "grr_pct", "logo_retention_pct", "annual_logo_churn_pct"):
        assert m.unknowns.get(k) == f"No December 2019 book: the ledger starts in {first}.", k
    assert m.mrr_start is None and m.nrr_pct is None and m.customers_start is None
    assert "No December 2019 book" in clv_churn.texts(m)["bridge"]


def test_blank_costs_make_margins_and_values_unknown(tmp_path, small):
    rev = small["revenue.csv"].assign(cost="")
    m = build(tmp_path, {**small, "revenue.csv": rev})
    h = check_model(m)
    assert h["recurring_gross_margin_pct"] is None and h["expected_remaining_value"] is None and h["clv_sbg"] is None
    assert "no costs in the ledger" in m.unknowns.get("recurring_gross_margin_pct").lower()
    assert "no costs in the ledger" in m.unknowns.get("expected_remaining_value").lower()
    assert "margin_pct" not in m.revenue_by_type
    assert h["sbg_gamma"] is not None  # the churn model does not need costs


def test_zero_recurring_customers_are_described_as_they_are(tmp_path):
    rows = [("A", m, "subscription", 100, 50) for m in months("2019-12", "2020-12")]
    rows += [("Z", m, "subscription", 0, 0) for m in months("2020-01", "2020-12")]
    m = build(tmp_path, {"revenue.csv": ledger(rows), "accounts.csv": tiny_accounts("AZ")}, min_group_size=1)
    check_model(m)
    assert (m.never_active, m.never_active_nonrecurring, m.never_active_zero_recurring) == (1, 0, 1)
    text = clv_churn.texts(m)["never_active"]
    assert "zero amount" in text and "project" not in text and "licence" not in text


def test_first_cohort_is_the_ledgers(tmp_path):
    rows = [(c, m, "subscription", 10, 5) for c in "ABCDEF" for m in months("1997-01", "1997-12")]
    m = build(tmp_path, {"revenue.csv": ledger(rows), "accounts.csv": tiny_accounts("ABCDEF")}, year=1997)
    check_model(m)
    assert m.first_cohort == "1997Q1" and m.cohorts_shown_since == "1997Q1"
    assert "1993" not in clv_churn.texts(m)["cohorts_shown"]


def test_ledger_ending_before_december_is_an_input_error(tmp_path, small):
    rev = small["revenue.csv"]
    with pytest.raises(InputError) as exc:
        build(tmp_path, {**small, "revenue.csv": rev[rev["month"] <= "2020-09"]})
    msg = " ".join(exc.value.messages)
    assert "revenue.csv" in msg and "2020-09" in msg and "2020-12" in msg


# ---------------------------------------------------------------- earlier years, for the executive summary
HISTORY_CASES = {
    "two earlier years": ("2017-06", {}),
    "one earlier year, no costs": ("2018-05", {"cost": ""}),
    "first year in the year before": ("2019-03", {}),
}


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.slow) if c == "two earlier years" else c
                                  for c in HISTORY_CASES])  # three more builds: make test-all
def test_history_states_each_earlier_year_as_its_own_report(tmp_path, small, case):
    """Each year of ``history`` equals that year's own report (figure by figure, None with the same reason)."""
    first, changes = HISTORY_CASES[case]
    rev = small["revenue.csv"]
    frames = {**small, "revenue.csv": rev[rev["month"] >= first].assign(**changes)}
    folder = write_folder(tmp_path / "in", frames)
    inputs = load_inputs(folder, clv_churn.INPUTS["requires"], clv_churn.INPUTS["optional"])
    history = clv_churn.build(inputs, settings_for(YEAR, {}), YEAR).headline()["history"]
    assert list(history) == [str(y) for y in range(int(first[:4]) + 1, YEAR)]
    for y, figures in history.items():
        own = clv_churn.build(inputs, settings_for(int(y), {}), int(y))
        expected = jsonable(own.headline())
        unknowns = figures.pop("unknowns")
        assert figures == {k: expected[k] for k in figures}, y
        assert unknowns == {k: own.unknowns.get(k) for k, v in figures.items() if v is None}, y
        assert ("clv_sbg" in figures) == (int(y) == YEAR - 1)
    if "no costs" in case:
        assert history["2019"]["clv_sbg"] is None


# ---------------------------------------------------------------- the shape matrix
WITH_SURVEY = {"only_required", "leading_zeros_non_ascii", "all_promoters", "blank_optional_values"}


def _shape(name, small):
    f = {k: v.copy() for k, v in small.items() if k != "survey_responses.csv" or name in WITH_SURVEY}
    rev, acc = f["revenue.csv"], f["accounts.csv"]
    if name == "only_required":
        return only_required(f)
    if name == "one_customer":
        cid = rev.loc[rev["month"] == "2020-12", "customer_id"].iloc[0]
        return {"revenue.csv": rev[rev["customer_id"] == cid], "accounts.csv": acc[acc["customer_id"] == cid]}
    if name == "no_churn":
        ids = sorted(set(rev["customer_id"]))[:12]
        rows = [(c, m, "subscription", 10 + i, 4) for i, c in enumerate(ids) for m in months("2018-01", "2020-12")]
        return {"revenue.csv": ledger(rows), "accounts.csv": acc[acc["customer_id"].isin(ids)]}
    if name == "everyone_churns":
        ids = sorted(set(rev["customer_id"]))[:12]
        rows = [(c, m, "subscription", 10, 4) for i, c in enumerate(ids) for m in months("2018-01", f"2020-{i % 11 + 1:02d}")]
        rows += [(ids[0], "2020-12", "project", 100, 50)]  # the ledger reaches December
        return {"revenue.csv": ledger(rows), "accounts.csv": acc[acc["customer_id"].isin(ids)]}
    if name == "only_non_recurring":
        return {**f, "revenue.csv": rev[~rev["revenue_type"].isin(["subscription", "managed"])]}
    if name == "zero_amount_rows":
        return {**f, "revenue.csv": rev.assign(amount=np.where(np.arange(len(rev)) % 3 == 0, "0", rev["amount"]))}
    if name == "blank_optional_values":
        acc = acc.assign(company_size=np.where(np.arange(len(acc)) % 2 == 0, "", acc["company_size"]), industry="", name="")
        return {**f, "accounts.csv": acc, "revenue.csv": rev.assign(cost=np.where(np.arange(len(rev)) % 2 == 0, "", rev["cost"]))}
    if name == "leading_zeros_non_ascii":
        ids = {c: f"0{i:03d}" for i, c in enumerate(sorted(set(acc["customer_id"])))}
        ids[next(iter(ids))] = "007"
        out = {}
        for k, v in f.items():
            out[k] = v.assign(customer_id=v["customer_id"].map(lambda c: ids.get(c, c)))
        names = ["Müller & Søn", "東京 Trading", "<b>Ærø</b>"]
        out["accounts.csv"] = out["accounts.csv"].assign(name=[names[i % 3] for i in range(len(acc))],
                                                         industry=[["Bäckerei", "東京"][i % 2] for i in range(len(acc))])
        return out
    if name == "tiny_groups":
        return f
    if name == "all_promoters":
        return {**f, "survey_responses.csv": f["survey_responses.csv"].assign(nps="10")}
    raise KeyError(name)


SHAPES = ["only_required", "one_customer", "no_churn", "everyone_churns", "only_non_recurring", "zero_amount_rows",
          "blank_optional_values", "leading_zeros_non_ascii", "tiny_groups", "all_promoters"]


@pytest.mark.parametrize("shape", SHAPES)
def test_shapes_build_clean(tmp_path, small, shape):
    overrides = {"min_group_size": 40, "small_sample_threshold": 40} if shape == "tiny_groups" else {}
    m = build(tmp_path, _shape(shape, small), **overrides)
    check_model(m)
    if shape == "only_non_recurring":
        assert m.active_customers == 0 and m.recurring_share_pct == 0 and m.arpa is None and m.clv_sbg is None
        assert m.mrr_end == 0 and "arpa" in m.unknowns
    if shape == "no_churn":
        assert m.logo_churn_pct == 0 and m.clv_simple is None and m.sbg_gamma is None
        assert "No customer" in m.unknowns.get("clv_simple") and "No customer has ever left" in m.unknowns.get("sbg_gamma")
    if shape == "everyone_churns":
        assert m.active_customers == 0 and m.logo_churn_pct == 100 and m.current_customers == 0
        assert m.expected_remaining_value == 0
    if shape == "one_customer":
        assert m.active_customers == 1 and m.clv_sbg is None and "Only 1 customers" in m.unknowns.get("clv_sbg")
    if shape == "leading_zeros_non_ascii":
        assert m.accounts["customer_id"].str.startswith("0").all()
        assert {"Müller & Søn", "東京 Trading"} <= set(m.accounts["name"])
    if shape == "tiny_groups":
        assert all(len(s.shown) < 2 for s in m.survival_sections if s.shown is not None) or any(s.hidden for s in m.survival_sections)
    if shape == "all_promoters":
        nps = {s.key: s for s in m.survival_sections}["nps_category"]
        assert nps.reason and nps.p is None


# ---------------------------------------------------------------- settings read, and the thin notebook
class _Recorder:
    """A Settings stand-in that records which fields build reads."""

    def __init__(self, settings):
        object.__setattr__(self, "_s", settings)
        object.__setattr__(self, "read", set())

    def __getattr__(self, name):
        self.read.add(name)
        return getattr(self._s, name)


def test_build_reads_exactly_the_declared_settings(tmp_path, small, settings):
    folder = write_folder(tmp_path / "in", small)
    inputs = load_inputs(folder, clv_churn.INPUTS["requires"], clv_churn.INPUTS["optional"])
    rec = _Recorder(settings)
    clv_churn.build(inputs, rec, YEAR)
    assert rec.read == set(clv_churn.SETTINGS)


def test_notebook_is_thin_narration():
    import nbformat

    nb = nbformat.read("notebooks/03_clv_churn.ipynb", as_version=4)
    assert nb.metadata["cxreport"]["report"] == "clv_churn"
    assert nb.metadata["cxreport"]["requires"] == list(clv_churn.INPUTS["requires"])
    assert nb.metadata["cxreport"]["optional"] == list(clv_churn.INPUTS["optional"])
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].metadata.get("tags") == ["parameters"] and 'data_dir: str = "data/sample"' in code[0].source
    lines = [l for c in code for l in c.source.splitlines() if l.strip() and not l.strip().startswith("#")]
    assert len(lines) <= 70 and not any(l.lstrip().startswith(("def ", "class ", "lambda")) for l in lines)
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    assert "build_from_folder(data_dir, year, settings" in code[1].source and "report.write(tables_dir, metrics_path)" in code[1].source

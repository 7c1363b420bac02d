"""The executive summary's model (cxreport.reports.summary): hand-made headlines, the sample year, and input shapes.

Fast tests build the model from hand-made report headlines (``current`` and
``earlier``), so they check the comparison, the unknowns and the headline
without running any report; the shape tests build small data folders; the
sample test (slow: it builds every report for every year the data covers)
checks the published figures are unchanged.
"""

import json

import pandas as pd
import pytest

from cxreport import summary as sm
from cxreport.inputs import CONTRACTS
from cxreport.reports import summary
from cxreport.reports.base import Inputs
from cxreport.settings import settings_for
from shapes import assert_headline_clean, only_required, sample_frames, write_folder

YEAR = 2020
SETTINGS = settings_for(YEAR, {})
EMPTY = Inputs({})

SURVEY = {  # as the survey model's headline gives them: published figures plus the raw counts
    2020: {"year": 2020, "n": 70, "csat": {"n": 70, "mean": 4.4, "sd": 0.6, "top2_pct": 95.7, "top2_count": 67},
           "nps": {"n": 70, "score": 57.142857, "promoters": 44, "passives": 22, "detractors": 4, "previous": 54.098361,
                   "previous_year": 2019, "change_p_value": 0.7751, "change_significant": False}},
    2019: {"year": 2019, "n": 61, "csat": {"n": 61, "mean": 4.278689, "sd": 0.8, "top2_pct": 91.8, "top2_count": 56},
           "nps": {"n": 61, "score": 54.098361, "promoters": 40, "passives": 14, "detractors": 7}},
}
PARTNERS = {
    2020: {"nps": {"n": 400, "score": 30.0, "promoters": 200, "passives": 120, "detractors": 80},
           "funnel": {"below_998": ["007"], "below_95": [], "above_95": [], "above_998": []},
           "csat_index": {"met": 20, "not_met": 16, "q4_share_pct": 40.5},
           "customer_success": {"consumption_value": 1200.0, "consumption_value_prev_year": None}},
    2019: {"nps": {"n": 400, "score": 20.0, "promoters": 180, "passives": 120, "detractors": 100},
           "csat_index": {"met": 18, "not_met": 18}},
}
OLD_SURVEY_2019 = {"year": 2019, "n": 61, "csat": {"n": 61, "mean": 4.278689, "ci95": [4.07, 4.48], "top2_pct": 91.8},
                   "nps": {"n": 61, "score": 54.098361, "ci95": [38.0, 70.2]}}


def clean(model):
    head = json.loads(json.dumps(summary.jsonable(model.headline())))
    assert_headline_clean(head, model.unknowns.reasons)
    return head


# ------------------------------------------------------------------ declarations
def test_settings_are_the_union_of_the_four_reports():
    union = set(summary.OWN_SETTINGS)
    for section in sm.SECTIONS:
        union |= set(summary.report_module(section).SETTINGS)
    assert set(summary.SETTINGS) == union and len(summary.SETTINGS) == len(set(summary.SETTINGS))
    assert set(summary.INPUTS["optional"]) == set(CONTRACTS) and summary.INPUTS["requires"] == ()


# ------------------------------------------------------------------ hand-made headlines
def test_figures_and_tests_from_the_raw_fields():
    model = summary.build(EMPTY, SETTINGS, YEAR, {"survey": SURVEY[2020]}, {2019: {"survey": SURVEY[2019]}}, source="this run")
    f = clean(model)["figures"]
    # Welch from mean, sd, n: SE = sqrt(0.36/70 + 0.64/61) = 0.12504, t = 0.121311 / 0.12504 = 0.9702, p = 0.3341
    assert f["csat"]["p_value"] == pytest.approx(0.3341, abs=1e-4) and f["csat"]["test"] == "Welch t-test"
    # 67 of 70 against 56 of 61: two-proportion z-test on the counts
    assert f["top2"]["value"] == 95.7 and f["top2"]["p_value"] == pytest.approx(0.3511, abs=1e-4)
    # the survey report's own test of the same two years
    assert f["nps"]["p_value"] == 0.7751 and f["nps"]["significant"] is False
    assert model.source == "this run" and model.reports_shown == ["Survey scores"]
    assert model.year_sources == {2019: {"survey": "build"}, 2020: {"survey": "this run"}}
    assert set(model.not_shown) == {"Cloud maturity", "Customer lifetime value and churn", "Partner programme"}
    assert model.links == [("Survey scores", "01_survey_scores.html")]


def test_an_earlier_year_from_an_older_build_is_not_back_solved():
    model = summary.build(EMPTY, SETTINGS, YEAR, {"survey": SURVEY[2020]}, {2019: {"survey": OLD_SURVEY_2019}})
    head = clean(model)
    assert head["figures"]["csat"]["test"] == sm.OLDER_BUILD and head["figures"]["csat"]["p_value"] is None
    assert head["figures"]["top2"]["test"] == sm.OLDER_BUILD
    assert head["figures"]["nps"]["p_value"] == 0.7751  # the survey's own test needs nothing from the old build
    assert "figures from an older build" in model.unknowns.get("figures.csat.p_value")
    assert list(model.display["Significant?"])[:2] == ["no test: older build"] * 2


def test_first_year_without_any_earlier_year():
    model = summary.build(EMPTY, SETTINGS, YEAR, {"survey": {**SURVEY[2020], "nps": {**SURVEY[2020]["nps"], "previous": None,
                                                                                       "change_p_value": None}}}, {})
    head = clean(model)
    assert all(v["previous"] is None for v in head["figures"].values())
    assert model.unknowns.get("figures.csat.previous") == "The survey scores report has no 2019 figures."
    assert model.untested_reasons[0] == "CSAT, average (1-5) has no 2019 figure: The survey scores report has no 2019 figures."
    assert head["trend_years"] == [2020] and model.findings == []


REVENUE_2020 = {"year": 2020, "mrr_end": 1200.0, "nrr_pct": 101.5, "grr_pct": 92.0, "annual_logo_churn_pct": 10.0,
                "customers_start": 40, "customers_retained": 36, "customers_churned": 4, "recurring_share_pct": 70.0,
                "clv_sbg": 5000.0}


def test_earlier_ledger_years_are_read_from_the_reports_history_not_rebuilt(monkeypatch):
    """The CLV report states its earlier years (``history``): the summary reads them, with their unknowns' reasons,
    and builds no report per earlier year."""
    history = {"2018": {"year": 2018, "mrr_end": 900.0, "nrr_pct": 99.0, "grr_pct": 90.0, "annual_logo_churn_pct": 12.0,
                        "customers_start": 30, "customers_retained": 26, "customers_churned": 4, "recurring_share_pct": 60.0,
                        "unknowns": {}},
               "2019": {"year": 2019, "mrr_end": 1000.0, "nrr_pct": None, "grr_pct": None, "annual_logo_churn_pct": None,
                        "customers_start": 0, "customers_retained": 0, "customers_churned": 0, "recurring_share_pct": 65.0,
                        "clv_sbg": 4000.0,
                        "unknowns": {"nrr_pct": "No customer had recurring revenue in December 2018, so there is no starting book to follow.",
                                     "grr_pct": "No customer had recurring revenue in December 2018, so there is no starting book to follow.",
                                     "annual_logo_churn_pct": "No customer had recurring revenue in December 2018, so there is no starting book to follow."}}}
    monkeypatch.setattr(summary, "section_headline", lambda *a, **k: pytest.fail("an earlier year was rebuilt from the data"))
    model = summary.build(EMPTY, SETTINGS, YEAR, {"revenue": {**REVENUE_2020, "history": history}}, {})
    head = clean(model)
    assert model.year_sources == {2018: {"revenue": "data"}, 2019: {"revenue": "data"}, 2020: {"revenue": "this run"}}
    assert "history" not in model.years[2020]["revenue"] and "unknowns" not in model.years[2019]["revenue"]
    assert head["figures"]["mrr"]["previous"] == 1000.0 and head["figures"]["clv"]["previous"] == 4000.0
    assert head["figures"]["nrr"]["previous"] is None
    assert model.unknowns.get("figures.nrr.previous") == history["2019"]["unknowns"]["nrr_pct"]
    trend = model.trends[model.trends["key"] == "recurring"]
    assert trend["year"].tolist() == [2018, 2019, 2020] and trend["value"].tolist() == [60.0, 65.0, 70.0]


def test_partners_non_ascii_names_leading_zeros_and_no_usage_a_year_earlier():
    partners = pd.DataFrame({"partner_id": ["007", "010"], "name": ["Müller & Søn", "東京"]})
    model = summary.build(Inputs({"partners.csv": partners}), SETTINGS, YEAR, {"partners": PARTNERS[2020]},
                          {2019: {"partners": PARTNERS[2019]}})
    head = clean(model)
    f = head["figures"]
    # 200/120/80 against 180/120/100 of 400: NPS z-test from the counts, p = 0.0759
    assert f["partner_nps"]["p_value"] == pytest.approx(0.0759, abs=1e-4)
    assert f["csat_index"]["value"] == pytest.approx(100 * 20 / 36)
    # no usage a year earlier: no previous consumption, with the reason
    assert f["consumption"]["previous"] is None and "consumption" in " ".join(model.untested_reasons).lower()
    assert any("Müller & Søn (007)" in text for text in model.findings)


def test_all_promoters_tiny_groups_and_zero_amounts():
    current = {"partners": {"nps": {"n": 3, "score": 100.0, "promoters": 3, "passives": 0, "detractors": 0}},
               "survey": {"n": 1, "csat": {"n": 1, "mean": 5.0, "sd": None, "top2_pct": 100.0, "top2_count": 1},
                          "nps": {"n": 1, "score": 100.0, "promoters": 1, "passives": 0, "detractors": 0}},
               "revenue": {"mrr_end": 0.0, "nrr_pct": None, "annual_logo_churn_pct": 0.0, "customers_start": 2, "customers_churned": 0}}
    earlier = {2019: {"partners": {"nps": {"n": 4, "score": 100.0, "promoters": 4, "passives": 0, "detractors": 0}},
                      "survey": {"n": 2, "csat": {"n": 2, "mean": 5.0, "sd": 0.0, "top2_pct": 100.0, "top2_count": 2},
                                 "nps": {"n": 2, "score": 100.0, "promoters": 2, "passives": 0, "detractors": 0}},
                      "revenue": {"mrr_end": 0.0, "annual_logo_churn_pct": 0.0, "customers_start": 2, "customers_churned": 0}}}
    model = summary.build(EMPTY, SETTINGS, YEAR, current, earlier)
    f = clean(model)["figures"]
    # all promoters both years: the adjusted Wald (under 30 answers, nps_ci_method auto) still gives an SE; z = 0, p = 1
    assert f["partner_nps"]["change"] == 0.0 and f["partner_nps"]["p_value"] == pytest.approx(1.0)
    assert f["csat"]["p_value"] is None and f["top2"]["p_value"] is None and f["churn"]["p_value"] is None
    assert f["mrr"]["change"] == 0.0 and "nrr" not in f  # an unstated figure is not shown
    assert model.unknowns.get("figures.top2.p_value").startswith("No test available")


def test_tables_and_metrics_written(tmp_path):
    model = summary.build(EMPTY, SETTINGS, YEAR, {"survey": SURVEY[2020]}, {2019: {"survey": SURVEY[2019]}})
    model.write(tmp_path / "tables", tmp_path / "m.json")
    assert {p.name for p in (tmp_path / "tables").iterdir()} == {"summary_headlines.csv", "summary_trends.csv", "summary_stage_mix.csv"}
    section = json.loads((tmp_path / "m.json").read_text())["summary"]
    assert set(section) >= {"year", "previous_year", "source", "reports", "trend_years", "figures", "findings"}
    assert set(section["figures"]["csat"]) == {"value", "previous", "change", "test", "p_value", "significant"}


def test_build_from_folder_prefers_this_run_then_the_build(tmp_path):
    frags, out = tmp_path / "frags", tmp_path / "out"
    frags.mkdir()
    (out / "2020").mkdir(parents=True)
    (out / "2019").mkdir(parents=True)
    (out / "2020" / "metrics.json").write_text(json.dumps({"run": {}, "survey": SURVEY[2020]}))
    (out / "2019" / "metrics.json").write_text(json.dumps({"run": {}, "survey": OLD_SURVEY_2019}))
    data = write_folder(tmp_path / "data", {})  # no input file: nothing from the data
    model = summary.build_from_folder(data, YEAR, {}, frags, out)
    assert model.source == "build" and model.year_sources[2019] == {"survey": "build"}
    (frags / "01_survey_scores.json").write_text(json.dumps({"survey": SURVEY[2020]}))
    model = summary.build_from_folder(data, YEAR, {}, frags, out)
    assert model.source == "this run" and model.changes.set_index("key").loc["csat", "test"] == sm.OLDER_BUILD
    clean(model)


# ------------------------------------------------------------------ data shapes (the reports' own builds)
def survey_only(tmp_path, frames):
    return summary.build_from_folder(write_folder(tmp_path, frames), YEAR, {})


def test_only_one_report_inputs_present(tmp_path):
    model = survey_only(tmp_path, only_required(sample_frames("survey_responses.csv")))
    head = clean(model)
    assert head["reports"] == ["survey"] and model.source == "data"
    assert set(model.not_shown) == {"Cloud maturity", "Customer lifetime value and churn", "Partner programme"}
    assert "accounts.csv" in model.not_shown["Cloud maturity"]
    assert head["figures"]["csat"]["previous"] is not None and head["figures"]["csat"]["test"] == "Welch t-test"
    assert head["year_sources"] == {"2019": {"survey": "data"}, "2020": {"survey": "data"}}


def test_survey_first_wave_in_the_report_year(tmp_path):
    frames = sample_frames("survey_responses.csv")
    frames["survey_responses.csv"] = frames["survey_responses.csv"].query("survey_year == '2020'")
    model = survey_only(tmp_path, frames)
    head = clean(model)
    assert head["figures"]["csat"]["previous"] is None and model.unknowns.get("figures.csat.previous")
    assert head["trend_years"] == [2020]


def test_partner_usage_only_in_the_report_year(tmp_path):
    frames = sample_frames("partner_survey_responses.csv", "partners.csv", "usage.csv", "accounts.csv")
    frames["usage.csv"] = frames["usage.csv"][frames["usage.csv"]["month"] >= "2020-01"]
    frames["partner_survey_responses.csv"] = frames["partner_survey_responses.csv"].query("survey_year == '2020'")
    model = summary.build_from_folder(write_folder(tmp_path, frames), YEAR, {})
    head = clean(model)
    assert head["reports"] == ["partners"]
    assert head["figures"]["consumption"]["previous"] is None
    assert model.unknowns.get("figures.consumption.previous")


# ------------------------------------------------------------------ the sample year
BASELINE = {  # today's published summary (before the report models), 2020 against 2019
    "csat": (4.4, 4.2787, 0.2683), "top2": (95.7, 91.8, 0.3511), "nps": (57.1429, 54.0984, 0.7751),
    "managed_plus": (38.2003, 31.0566, 0.0006), "churn": (8.63, 8.61, 0.9857), "partner_nps": (27.2605, 25.2585, 0.6252),
    "csat_index": (61.1111, 58.3333, 0.8101), "mrr": (2734656.0, 2340796.0, None), "nrr": (100.26, 100.04, None),
    "grr": (93.14, 93.32, None), "recurring": (75.55, 72.83, None), "clv": (76060.91, 73842.88, None),
    "consumption": (69299.9, 49782.85, None), "moved_up": (25.5, None, None),
}


@pytest.mark.slow
def test_sample_figures_unchanged(root):
    model = summary.build_from_folder(root / "data" / "sample", YEAR, {})
    head = clean(model)
    f = head["figures"]
    for key, (value, previous, p) in BASELINE.items():
        assert f[key]["value"] == pytest.approx(value, abs=0.01), key
        assert (f[key]["previous"] is None) if previous is None else f[key]["previous"] == pytest.approx(previous, abs=0.01), key
        assert (f[key]["p_value"] is None) if p is None else f[key]["p_value"] == pytest.approx(p, abs=1e-4), key
    assert f["stage_mix"]["p_value"] == pytest.approx(0.0015, abs=1e-4) and f["stage_mix"]["significant"] is True
    assert head["trend_years"] == [2015, 2016, 2017, 2018, 2019, 2020]
    assert 3 <= len(head["findings"]) <= 5
    assert head["findings"][0].startswith("The share of customers at the Managed or Optimized stage rose from 31.1% in 2019 to 38.2%")
    assert model.unknowns.get("figures.moved_up.previous") == "No customer has an assessment in 2018, so movement cannot be measured yet."

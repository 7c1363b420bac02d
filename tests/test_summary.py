"""Executive summary: changes, significance tests and findings on small made-up figures, checked by hand.

Every test runs on the raw figures the report headlines carry (mean, standard
deviation and n; counts and bases), never on figures back-solved from rounded
ones.
"""

import json
import math

import pandas as pd
import pytest

from cxreport import summary as sm
from cxreport.settings import RevenueBenchmarks

MEASURES = {m.key: m for m in sm.MEASURES}
BENCH = RevenueBenchmarks(recurring_share_top_quartile_pct=50, recurring_share_median_pct=30, best_annual_logo_churn_pct=2,
                          cloud_recurring_multiple=1.8)


# ------------------------------------------------------------------ change and significance per type
def test_proportion_change_two_proportion_z_test():
    # 60 of 100 against 50 of 100: pooled p = 0.55, SE = sqrt(0.55 x 0.45 x 2/100) = 0.07036,
    # z = 0.10 / 0.07036 = 1.4213, two-sided p = 0.1552
    row = sm.compare(MEASURES["top2"], {"value": 60.0, "n": 100, "count": 60}, {"value": 50.0, "n": 100, "count": 50})
    assert row["change"] == pytest.approx(10.0)
    assert row["p_value"] == pytest.approx(0.1552, abs=1e-4)
    assert row["significant"] is False and row["test"] == "two-proportion z-test"


def test_proportion_uses_the_counts_not_the_rounded_share():
    # 100 of 1000 against 150 of 1000: pooled 0.125, SE = 0.014790, z = -3.3806, p = 0.00072
    row = sm.compare(MEASURES["churn"], {"value": 10.0, "n": 1000, "count": 100}, {"value": 15.0, "n": 1000, "count": 150})
    assert row["p_value"] == pytest.approx(0.00072, abs=2e-5) and row["significant"] is True
    # the published share is rounded (56/61 = 91.80...): the test uses 56 whatever the share says
    a = sm.compare(MEASURES["top2"], {"value": 95.7, "n": 70, "count": 67}, {"value": 91.8, "n": 61, "count": 56})
    b = sm.compare(MEASURES["top2"], {"value": 99.0, "n": 70, "count": 67}, {"value": 10.0, "n": 61, "count": 56})
    assert a["p_value"] == b["p_value"]


def test_proportion_without_variation_has_no_test():
    row = sm.compare(MEASURES["top2"], {"value": 0.0, "n": 10, "count": 0}, {"value": 0.0, "n": 12, "count": 0})
    assert row["significant"] is None and row["p_value"] is None and row["test"].startswith("no test available")


def test_mean_change_welch_t_test_from_mean_sd_and_n():
    # 4.5 vs 4.0, both s = 1 and n = 50: SE of the difference sqrt(1/50 + 1/50) = 0.2, t = 2.5, df = 98, p = 0.0141
    row = sm.compare(MEASURES["csat"], {"value": 4.5, "n": 50, "sd": 1.0}, {"value": 4.0, "n": 50, "sd": 1.0})
    assert row["change"] == pytest.approx(0.5)
    assert row["p_value"] == pytest.approx(0.0141, abs=2e-4) and row["significant"] is True
    assert row["test"] == "Welch t-test"


def test_mean_without_spread_has_no_test():
    row = sm.compare(MEASURES["csat"], {"value": 5.0, "n": 3, "sd": 0.0}, {"value": 5.0, "n": 4, "sd": 0.0})
    assert row["p_value"] is None and row["test"].startswith("no test available")


def test_older_build_without_raw_fields_is_not_back_solved():
    # 2019 from a metrics.json written before the headlines carried csat.sd and the counts
    row = sm.compare(MEASURES["csat"], {"value": 4.5, "n": 50, "sd": 1.0}, {"value": 4.0, "n": 50, "sd": None}, before_source="build")
    assert row["test"] == sm.OLDER_BUILD and row["p_value"] is None and row["change"] == pytest.approx(0.5)
    assert sm.verdict(row) == "no test: older build"
    row = sm.compare(MEASURES["churn"], {"value": 10.0, "n": 1000, "count": 100}, {"value": 15.0, "n": 1000, "count": None},
                     before_source="build")
    assert row["test"] == sm.OLDER_BUILD


def test_nps_uses_the_test_the_survey_carries():
    now = {"value": 57.14, "n": 70, "counts": (44, 22, 4), "previous": 54.10, "p_value": 0.7751}
    row = sm.compare(MEASURES["nps"], now, {"value": 54.10, "n": 61, "counts": (40, 13, 8)})
    assert row["p_value"] == 0.7751 and row["significant"] is False
    assert row["change"] == pytest.approx(3.04)


def test_nps_z_test_from_the_counts():
    # 200/120/80 of 400 (NPS 30): Var = (0.5 + 0.2 - 0.3^2) / 400, SE = 3.9051 points;
    # 180/120/100 of 400 (NPS 20): SE = sqrt(0.66 / 400) = 4.0620; z = 10 / sqrt(3.9051^2 + 4.0620^2) = 1.7747, p = 0.0759
    row = sm.compare(MEASURES["partner_nps"], {"value": 30.0, "n": 400, "counts": (200, 120, 80)},
                     {"value": 20.0, "n": 400, "counts": (180, 120, 100)})
    assert row["p_value"] == pytest.approx(0.0759, abs=1e-4) and row["test"] == "NPS z-test"


def test_nps_all_promoters_both_years_has_no_test():
    row = sm.compare(MEASURES["partner_nps"], {"value": 100.0, "n": 40, "counts": (40, 0, 0)},
                     {"value": 100.0, "n": 40, "counts": (40, 0, 0)}, nps_method="wald")
    assert row["p_value"] is None and row["change"] == 0.0

def test_stage_mix_chi_square_of_homogeneity():
    # [[10, 30], [30, 10]]: expected 20 everywhere, chi2 = 4 x 10^2 / 20 = 20 on 1 df, p = 7.74e-6
    now = {"value": [25.0, 75.0], "counts": [10, 30], "names": ["Ad Hoc", "Managed"], "pct": [25.0, 75.0]}
    before = {"value": [75.0, 25.0], "counts": [30, 10], "names": ["Ad Hoc", "Managed"], "pct": [75.0, 25.0]}
    row = sm.compare(MEASURES["stage_mix"], now, before)
    assert row["p_value"] == pytest.approx(7.74e-6, rel=1e-2) and row["significant"] is True
    assert row["change"] is None
    assert row["largest_shift"] == {"name": "Ad Hoc", "previous": 75.0, "value": 25.0}


def test_census_and_model_figures_are_not_tested():
    row = sm.compare(MEASURES["mrr"], {"value": 110.0}, {"value": 100.0})
    assert (row["change"], row["relative"]) == (10.0, pytest.approx(0.10))
    assert row["significant"] is None and "census" in row["test"] and "no test available" in row["test"]
    assert "model" in sm.compare(MEASURES["clv"], {"value": 90.0}, {"value": 100.0})["test"]


def test_no_previous_year_and_a_previous_figure_inside_the_section():
    assert sm.compare(MEASURES["top2"], {"value": 60.0, "n": 10, "count": 6}, None)["test"] == "no previous-year figure"
    # the partner section carries last year's consumption itself
    row = sm.compare(MEASURES["consumption"], {"value": 120.0, "previous": 100.0}, None)
    assert row["change"] == 20.0 and row["relative"] == pytest.approx(0.2)


# ------------------------------------------------------------------ the table
SURVEY_2020 = {"n": 100, "csat": {"n": 100, "mean": 4.5, "sd": 1.0, "top2_pct": 60.0, "top2_count": 60},
               "nps": {"n": 400, "score": 30.0, "promoters": 200, "passives": 120, "detractors": 80,
                       "previous": 20.0, "previous_year": 2019, "change_p_value": 0.0759}}
SURVEY_2019 = {"n": 100, "csat": {"n": 100, "mean": 4.0, "sd": 1.0, "top2_pct": 50.0, "top2_count": 50},
               "nps": {"n": 400, "score": 20.0, "promoters": 180, "passives": 120, "detractors": 100}}
REVENUE_2020 = {"annual_logo_churn_pct": 10.0, "customers_start": 1000, "customers_churned": 100, "mrr_end": 1100.0,
                "recurring_share_pct": 40.0, "nrr_pct": 101.0}
REVENUE_2019 = {"annual_logo_churn_pct": 15.0, "customers_start": 1000, "customers_churned": 150, "mrr_end": 1000.0,
                "recurring_share_pct": 40.0, "nrr_pct": 101.0}


def test_change_table_shows_only_reports_present():
    table = sm.change_table({"survey": SURVEY_2020}, {"survey": SURVEY_2019, "revenue": REVENUE_2019}, 2020)
    assert list(table["key"]) == ["csat", "top2", "nps"]
    assert set(table["section"]) == {"survey"}
    shown = sm.display_table(table)
    assert list(shown.columns) == ["Report", "Measure", "2020", "2019", "Change", "Significant?"]
    assert list(shown["2020"]) == ["4.50", "60.0%", "30.0"]
    assert list(shown["Change"]) == ["+0.50", "+10.0 pts", "+10.0"]
    # CSAT: t = 0.5 / sqrt(2/100) = 3.536 on 198 df, p = 0.0005; top-2: p = 0.1552; NPS: the carried 0.0759
    assert list(shown["Significant?"]) == ["yes (p < 0.001)", "no (p = 0.16)", "no (p = 0.08)"]


def test_change_table_missing_values_are_none_not_nan():
    table = sm.change_table({"survey": SURVEY_2020}, None, 2020)
    assert list(table["previous"])[:2] == [None, None] and list(table["p_value"])[:2] == [None, None]
    assert list(table["test"])[:2] == ["no previous-year figure"] * 2
    # the survey carries last year's NPS and its own test of the change itself
    assert list(table["previous"])[2] == 20.0 and list(table["p_value"])[2] == 0.0759


def test_change_table_older_build_by_section():
    old = {"survey": {"n": 100, "csat": {"n": 100, "mean": 4.0, "ci95": [3.8, 4.2], "top2_pct": 50.0},
                      "nps": {"n": 400, "score": 20.0, "ci95": [12.0, 28.0]}}}
    current = {"survey": {**SURVEY_2020, "nps": {k: v for k, v in SURVEY_2020["nps"].items() if k != "change_p_value"}}}
    table = sm.change_table(current, old, 2020, previous_source={"survey": "build"})
    assert set(table["test"]) == {sm.OLDER_BUILD}
    assert list(sm.display_table(table)["Significant?"]) == ["no test: older build"] * 3
    assert "come from a build made before the reports stated the counts" in sm.method_note(table)


def test_formatting():
    assert sm.fmt_value(2734656.0, "money") == "2,734,656"
    assert sm.fmt_value([21.2, 24.0, 16.6, 27.3, 10.9], "mix") == "21/24/17/27/11%"
    assert sm.fmt_change(393860.0, 0.16826, "money") == "+16.8%"
    assert sm.fmt_change(-0.18, None, "pct") == "-0.2 pts"
    assert sm.fmt_p(0.0004) == "p < 0.001" and sm.fmt_p(0.0021) == "p = 0.002" and sm.fmt_p(0.2683) == "p = 0.27"


# ------------------------------------------------------------------ findings
def test_findings_are_generated_from_the_numbers():
    current = {"survey": SURVEY_2020, "revenue": REVENUE_2020}
    table = sm.change_table(current, {"survey": SURVEY_2019, "revenue": REVENUE_2019}, 2020)
    cands = sm.finding_candidates(table, current, BENCH).set_index("key")
    assert cands.loc["churn", "text"] == (
        "Annual logo churn (customers lost in the year) fell from 15.0% in 2019 to 10.0% in 2020 (-5.0 pts), an improvement; "
        "the change is statistically significant (p < 0.001).")
    assert cands.loc["churn", "tier"] == 1 and cands.loc["churn", "strength"] == pytest.approx(-math.log10(0.00072), abs=0.02)
    assert cands.loc["recurring_benchmark", "text"] == (
        "Recurring revenue is 40.0% of 2020 revenue, above the 30% median of partners but short of the 50% top quartile (IDC benchmark).")
    assert cands.loc["recurring_benchmark", "strength"] == pytest.approx(0.2)  # |40 / 50 - 1|
    assert cands.loc["churn_benchmark", "text"].endswith("5.0 times the under-2% of the best partners (IDC benchmark).")
    assert cands.loc["mrr", "tier"] == 2 and cands.loc["mrr", "strength"] == pytest.approx(0.1)  # +10% >= 5% material
    assert cands.loc["nps", "tier"] == 3 and "within what chance alone produces (p = 0.08)" in cands.loc["nps", "text"]
    assert "recurring" not in cands.index  # unchanged: nothing to say
    chosen = sm.findings(cands.reset_index())
    # tier 1: CSAT (p = 0.0005) before churn (p = 0.0007); churn's benchmark shares its topic; then tier 2 by strength
    assert list(chosen["key"]) == ["csat", "churn", "recurring_benchmark", "mrr"]


def test_no_benchmark_findings_without_benchmarks():
    table = sm.change_table({"revenue": REVENUE_2020}, None, 2020)
    assert sm.finding_candidates(table, {"revenue": REVENUE_2020}, None).empty

def test_findings_ranking_topics_and_limits():
    cands = pd.DataFrame([
        {"key": "a", "topic": "a", "tier": 1, "strength": 2.0, "text": "A"},
        {"key": "b", "topic": "b", "tier": 2, "strength": 0.5, "text": "B"},
        {"key": "c", "topic": "c", "tier": 1, "strength": 3.0, "text": "C"},
        {"key": "d", "topic": "d", "tier": 3, "strength": 1.0, "text": "D"},
        {"key": "e", "topic": "b", "tier": 2, "strength": 0.1, "text": "E"},
    ])
    assert list(sm.findings(cands)["text"]) == ["C", "A", "B"]  # E loses its topic to B; D not needed
    assert list(sm.findings(cands, least=4)["text"]) == ["C", "A", "B", "D"]  # reassurance fills up to the minimum
    assert list(sm.findings(cands, most=2)["text"]) == ["C", "A"]


def test_funnel_and_maturity_findings():
    table = sm.change_table({}, {}, 2020)
    sections = {
        "partners": {"funnel": {"below_998": ["P004"], "below_95": [], "above_95": ["P006", "P007"], "above_998": []},
                     "csat_index": {"met": 20, "not_met": 16, "q4_share_pct": 40.5}},
        "maturity": {"fit": {"p_value": 0.001, "significant": True},
                     "stages": {"1": {"name": "Ad Hoc", "pct": 30.0, "benchmark_pct": 23.0}, "5": {"name": "Optimized", "pct": 8.0, "benchmark_pct": 9.0}}},
    }
    cands = sm.finding_candidates(table, sections, partner_names={"P004": "Lumen IT"}).set_index("key")
    assert cands.loc["funnel_below", "text"].startswith("Partner Lumen IT (P004) scores below the 99.8% control limit")
    assert cands.loc["funnel_above", "text"].startswith("2 partners: P006, P007 score above the 95% control limit")
    assert cands.loc["funnel_below", "strength"] == pytest.approx(2.699, abs=1e-3)  # -log10(0.002)
    assert cands.loc["csat_index_short", "strength"] == pytest.approx(16 / 36)
    assert cands.loc["maturity_fit", "text"] == ("Our customers' cloud maturity differs from IDC's benchmark mix (p = 0.001): "
                                                 "Ad Hoc is over-represented (30.0% against 23.0%).")


# ------------------------------------------------------------------ sources, trends, links
def test_fragments_and_builds(tmp_path):
    frags, out = tmp_path / "frags", tmp_path / "out"
    frags.mkdir()
    (frags / "01_survey_scores.json").write_text(json.dumps({"survey": SURVEY_2020}))
    (frags / "00_summary.json").write_text(json.dumps({"summary": {}}))
    sections, notebooks = sm.read_fragments(frags)
    assert set(sections) == {"survey"} and notebooks == {"survey": "01_survey_scores"}
    assert sm.read_fragments(tmp_path / "nowhere") == ({}, {})
    for year, churn in ((2018, 20.0), (2019, 15.0), (2021, 1.0)):
        (out / str(year)).mkdir(parents=True)
        (out / str(year) / "metrics.json").write_text(json.dumps({"run": {}, "revenue": {"annual_logo_churn_pct": churn}}))
    builds = sm.earlier_builds(out, 2020)
    assert list(builds) == [2018, 2019]  # later years are not history
    # a section whose report the run did not list is not that build's figure
    (out / "2019" / "metrics.json").write_text(json.dumps({"run": {"reports": [{"name": "01_survey_scores"}]},
                                                            "revenue": {"annual_logo_churn_pct": 15.0}, "survey": SURVEY_2019}))
    assert set(sm.read_build(out / "2019" / "metrics.json")[0]) == {"survey"}


def test_trend_table_skips_missing_figures():
    years = {2018: {"revenue": {"annual_logo_churn_pct": None}}, 2019: {"revenue": REVENUE_2019, "survey": SURVEY_2019},
             2020: {"revenue": REVENUE_2020}}
    trend = sm.trend_table(years)
    churn = trend[trend["key"] == "churn"].set_index("year")["value"]
    assert churn.to_dict() == {2019: 15.0, 2020: 10.0}
    assert set(trend.loc[trend["year"] == 2019, "key"]) == {"churn", "csat", "nps", "nrr", "recurring"}


def test_trend_table_carries_the_survey_intervals_and_none_for_census_figures():
    survey = {"csat": {"mean": 4.2, "ci95": [4.1, 4.3]}, "nps": {"score": 20.0, "ci95": [12.5, 27.5]}}
    trend = sm.trend_table({2020: {"survey": survey, "revenue": REVENUE_2020},
                            2019: {"survey": {"nps": {"score": 10.0, "ci95": [float("nan"), 18.0]}}}})
    rows = trend.set_index(["year", "key"])
    assert (rows.loc[(2020, "nps"), "ci_low"], rows.loc[(2020, "nps"), "ci_high"]) == (12.5, 27.5)
    assert (rows.loc[(2020, "csat"), "ci_low"], rows.loc[(2020, "csat"), "ci_high"]) == (4.1, 4.3)
    # an interval with an unknown end is unknown as a whole (missing in the frame); ledger figures have none
    assert pd.isna(rows.loc[(2019, "nps"), "ci_low"]) and pd.isna(rows.loc[(2019, "nps"), "ci_high"])
    assert pd.isna(rows.loc[(2020, "churn"), "ci_low"]) and list(trend["year"]) == [2019, *[2020] * 5]


def test_stage_mix_table_and_links():
    mix = sm.stage_mix_table({2020: {"maturity": {"stages": {"1": {"name": "Ad Hoc", "n": 3, "pct": 30.0}, "2": {"name": "Opportunistic", "n": 7, "pct": 70.0}}}}})
    assert list(mix["pct"]) == [30.0, 70.0] and list(mix["stage"]) == [1, 2]
    links = sm.report_links({"survey": "01_survey_scores"}, {"survey": {}, "partners": {}})
    assert links == [("Survey scores", "01_survey_scores.html"), ("Partner programme", "04_partner_programme.html"),
                     ("Partner scorecards (one per partner, in the year's index)", "index.html")]


def test_method_note_names_the_tests_used():
    table = sm.change_table({"survey": SURVEY_2020, "revenue": REVENUE_2020}, {"survey": SURVEY_2019, "revenue": REVENUE_2019}, 2020)
    note = sm.method_note(table)
    assert note.startswith("Significant: a test of the change since 2019 gives p < 0.05; tests: Welch t-test (CSAT, average (1-5));")
    assert "MRR, December, Net revenue retention, Recurring share of revenue cover every customer" in note


def test_back_solving_helpers_are_gone():
    for name in ("sd_from_ci", "se_from_ci", "figures_from_data", "partner_section", "current_figures"):
        assert not hasattr(sm, name)

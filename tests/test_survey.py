"""Survey metrics against hand-computed values."""

import math

import numpy as np
import pandas as pd
import pytest

from cxreport import survey

Z95 = 1.959963984540054

# The settings of params/defaults.yaml that a survey headline takes.
HEADLINE = {"confidence": 0.95, "nps_method": "auto", "min_n": 5, "small_sample_threshold": 10}


def wilson(k, n, z=Z95):
    """Wilson interval written out from its formula (not statsmodels), for the check."""
    p = k / n
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return centre - half, centre + half


def test_csat_summary_by_hand():
    res = survey.csat_summary(pd.Series([3, 4, 5, 5, None]))
    assert res["n"] == 4
    assert res["mean"] == pytest.approx(4.25)
    # s = sqrt(2.75 / 3); t(0.975, 3) = 3.182446
    half = 3.182446305 * math.sqrt(2.75 / 3) / 2
    assert res["ci_low"] == pytest.approx(4.25 - half, abs=1e-6)
    assert res["ci_high"] == pytest.approx(4.25 + half, abs=1e-6)
    assert res["distribution"] == {1: 0, 2: 0, 3: 1, 4: 1, 5: 2}
    assert res["distribution_pct"][5] == pytest.approx(50.0)
    assert res["top2"] == 3 and res["top2_pct"] == pytest.approx(75.0)
    lo, hi = wilson(3, 4)
    assert res["top2_ci_low"] == pytest.approx(100 * lo, abs=1e-6)
    assert res["top2_ci_high"] == pytest.approx(100 * hi, abs=1e-6)


def test_csat_summary_empty():
    res = survey.csat_summary(pd.Series([None, None], dtype="Int64"))
    assert res["n"] == 0 and math.isnan(res["mean"]) and math.isnan(res["top2_pct"])


def test_nps_category_boundaries():
    cats = survey.nps_category(pd.Series([0, 6, 7, 8, 9, 10, None]))
    assert list(cats.astype(object).fillna("blank")) == ["Detractor", "Detractor", "Passive", "Passive", "Promoter", "Promoter", "blank"]


def test_nps_published_2020_counts():
    """44 promoters, 22 passives, 4 detractors: the published 2020 survey."""
    res = survey.nps_from_counts(44, 22, 4)
    assert res.n == 70
    assert res.score == pytest.approx(100 * 40 / 70)  # 57.142857
    assert (round(res.promoters_pct, 1), round(res.passives_pct, 1), round(res.detractors_pct, 1)) == (62.9, 31.4, 5.7)
    # Var = (pP + pD - (pP - pD)^2) / n
    var = (44 / 70 + 4 / 70 - (40 / 70) ** 2) / 70
    assert res.se == pytest.approx(100 * math.sqrt(var))
    assert res.ci_low == pytest.approx(100 * (40 / 70 - Z95 * math.sqrt(var)))
    assert res.ci_high == pytest.approx(100 * (40 / 70 + Z95 * math.sqrt(var)))
    assert res.method == "wald"
    assert survey.nps_from_rounded_shares(res) == pytest.approx(57.2)


def test_nps_adjusted_wald_small_sample():
    res = survey.nps_from_counts(5, 3, 2)  # n = 10 < 30: auto picks adjusted Wald
    assert res.method == "adjusted_wald"
    assert res.score == pytest.approx(30.0)  # the score itself is not adjusted
    p_p, p_d = 5.75 / 13, 2.75 / 13
    se = math.sqrt((p_p + p_d - (p_p - p_d) ** 2) / 13)
    assert res.ci_low == pytest.approx(100 * (p_p - p_d - Z95 * se))
    assert res.ci_high == pytest.approx(100 * (p_p - p_d + Z95 * se))


def test_nps_interval_clipped_and_empty():
    all_promoters = survey.nps_from_counts(50, 0, 0, method="wald")
    assert all_promoters.score == 100 and all_promoters.ci_high == 100 and all_promoters.ci_low == 100
    assert survey.nps_from_counts(0, 0, 0).n == 0
    with pytest.raises(ValueError, match="unknown NPS interval method"):
        survey.nps_from_counts(1, 1, 1, method="bogus")


def test_nps_change_z_test():
    cur, prev = survey.nps_from_counts(44, 22, 4), survey.nps_from_counts(37, 20, 4)
    ch = survey.nps_change(cur, prev)
    assert ch["change"] == pytest.approx(100 * (40 / 70 - 33 / 61))  # +3.04
    se = math.sqrt(cur.se**2 + prev.se**2)
    assert ch["z"] == pytest.approx(ch["change"] / se)
    assert ch["p_value"] == pytest.approx(0.775, abs=0.001)
    assert ch["significant"] is False
    big = survey.nps_change(survey.nps_from_counts(800, 100, 100), survey.nps_from_counts(400, 300, 300))
    assert big["significant"] is True


def test_nps_by_group_suppresses_small_groups():
    ltr = pd.Series([10, 9, 0, 8, 10, 10, 9])
    groups = pd.Series(["a", "a", "a", "a", "a", "b", "b"])
    t = survey.nps_by_group(ltr, groups, min_n=5, method="auto", confidence=0.95)
    assert t.loc["a", "score"] == pytest.approx(100 * (3 - 1) / 5)
    assert t.loc["b", "suppressed"] and math.isnan(t.loc["b", "score"])


def test_touchpoint_summary_blank_is_not_applicable():
    df = pd.DataFrame({"tp_trial": [5, 4, None, 3, 4, 4], "tp_support": [2, 2, 2, 2, None, None]})
    t = survey.touchpoint_summary(df, labels={"trial": "Using the trial"}, min_n=5, confidence=0.95, sort=False)
    trial = t.set_index("touchpoint").loc["tp_trial"]
    assert trial["label"] == "Using the trial" and trial["n"] == 5 and trial["mean"] == pytest.approx(4.0)
    assert trial["top2_pct"] == pytest.approx(80.0)
    support = t.set_index("touchpoint").loc["tp_support"]
    assert support["label"] == "Support" and support["suppressed"] and math.isnan(support["mean"])


def test_tenure_segment_and_comparison():
    seg = survey.tenure_segment(pd.Series([0.5, 0.99, 1.0, 3.0, None]))
    assert list(seg.astype(object).fillna("?")) == [survey.FIRST_YEAR, survey.FIRST_YEAR, survey.EXPERIENCED, survey.EXPERIENCED, "?"]
    df = pd.DataFrame({"tp_x": [3, 3, 2, 3, 2, 5, 5, 4, 5, 5], "tp_y": [4, 4, 4, 4, 4, 4, 4, 4, None, None]})
    tenure = pd.Series([0.2] * 5 + [2.0] * 5)
    t = survey.compare_segments(df, survey.tenure_segment(tenure), min_n=5, alpha=0.05).set_index("touchpoint")
    assert t.loc["tp_x", f"mean_{survey.FIRST_YEAR}"] == pytest.approx(2.6)
    assert t.loc["tp_x", f"mean_{survey.EXPERIENCED}"] == pytest.approx(4.8)
    assert t.loc["tp_x", "difference"] == pytest.approx(2.2)
    # Complete separation of 5 vs 5 with ties: U = 0, p well under 0.05.
    assert t.loc["tp_x", "p_value"] < 0.02 and bool(t.loc["tp_x", "significant"])
    assert bool(t.loc["tp_y", "suppressed"]) and math.isnan(t.loc["tp_y", "p_value"])


def test_shapley_r2_orthogonal_predictors():
    """With uncorrelated predictors each importance is that predictor's own R²."""
    X = pd.DataFrame({"a": [1, -1, 1, -1] * 3, "b": [1, 1, -1, -1] * 3})
    y = 2 * X["a"] + X["b"]
    imp = survey.shapley_r2(X, y)
    assert imp["a"] == pytest.approx(0.8) and imp["b"] == pytest.approx(0.2)


def test_shapley_r2_correlated_predictors_add_up():
    rng = np.random.default_rng(1)
    a = rng.normal(size=200)
    X = pd.DataFrame({"a": a, "b": a + rng.normal(size=200), "c": rng.normal(size=200)})
    y = X["a"] + 0.5 * X["b"] + rng.normal(size=200)
    import statsmodels.api as sm

    full = sm.OLS(y, sm.add_constant(X)).fit().rsquared
    imp = survey.shapley_r2(X, y)
    assert imp.sum() == pytest.approx(full)
    assert imp["c"] < imp["b"] < imp["a"]


def test_key_drivers_ranks_and_warns_on_small_samples():
    rng = np.random.default_rng(7)
    n = 40
    strong = rng.integers(1, 6, n)
    weak = rng.integers(1, 6, n)
    csat = np.clip(np.round(strong * 0.9 + rng.normal(0, 0.4, n)), 1, 5)
    df = pd.DataFrame({"csat": csat, "tp_strong": strong, "tp_weak": weak})
    table, summary = survey.key_drivers(df, "csat")
    assert list(table["touchpoint"]) == ["tp_strong", "tp_weak"]
    assert table["importance"].sum() == pytest.approx(summary["r2"])
    assert summary["n"] == n and summary["caveat"] is None
    _, small = survey.key_drivers(df.head(12), "csat")
    assert "small sample" in small["caveat"]
    empty, tiny = survey.key_drivers(df.head(3), "csat")
    assert empty.empty and "Too few" in tiny["caveat"]


def test_small_sample_warning():
    assert survey.small_sample_warning(9, 10) is not None
    assert survey.small_sample_warning(10, 10) is None


def test_survey_headline_and_metrics():
    rows = [(2020, 5, 10)] * 6 + [(2020, 4, 8)] * 3 + [(2020, 2, 3)] + [(2019, 4, 9)] * 5 + [(2019, 3, 5)] * 5
    df = pd.DataFrame(rows, columns=["survey_year", "csat", "nps"])
    head = survey.survey_headline(df, 2020, **HEADLINE)
    assert head["n"] == 10 and head["csat"]["mean"] == pytest.approx(4.4)  # (30 + 12 + 2) / 10
    assert head["nps"]["score"] == pytest.approx(50.0) and head["nps"]["previous"] == pytest.approx(0.0)
    assert head["nps"]["change"] == pytest.approx(50.0)
    m = survey.survey_metrics(head)
    assert m["nps"]["promoters_pct"] == 60.0 and m["csat"]["top2_pct"] == 90.0
    # No previous wave: no comparison rather than a made-up one.
    only = survey.survey_headline(df[df["survey_year"] == 2020], 2020, **HEADLINE)
    assert only["nps"]["change"] is None and only["nps"]["change_significant"] is None


def test_describe_change():
    text = survey.describe_change({"change": 3.04, "ci_low": -17.8, "ci_high": 23.9, "p_value": 0.775, "significant": False})
    assert text.startswith("up 3.0 points") and "not statistically significant" in text
    assert "too few" in survey.describe_change(None)

"""Cloud maturity: rubric, distribution test, segments, profile, movement, account list (hand-computed values)."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from cxreport import maturity as M
from cxreport.inputs import MATURITY, InputError, load, validate

NAMES = ["Ad Hoc", "Opportunistic", "Repeatable", "Managed", "Optimized"]
# The settings, written once in params/defaults.yaml: the library has no defaults of its own.
DEFAULTS = yaml.safe_load((Path(__file__).resolve().parents[1] / "params" / "defaults.yaml").read_text())
STAGES, DIMS, RUBRIC = DEFAULTS["maturity_stages"], DEFAULTS["maturity_dimensions"], DEFAULTS["maturity_rubric"]


def scores(rows, cols=("m_a", "m_b", "m_c")):
    return pd.DataFrame(rows, columns=list(cols), dtype="Float64").astype("Int64")


# ---------------------------------------------------------------- settings
def test_library_has_no_defaults_of_its_own():
    """Defaults are written once, in params/defaults.yaml: a missing setting is an error, not a silent copy."""
    assert not [n for n in dir(M) if n.startswith("DEFAULT")]
    with pytest.raises(ValueError, match="maturity_stages is required"):
        M.stage_table(None)
    with pytest.raises(ValueError, match="maturity_rubric needs thresholds"):
        M.rubric_settings({"method": "floor", "min_dimensions": 1})
    from cxreport.settings import load_settings

    s = load_settings(2020)  # the typed settings work as they are
    assert M.stage_table(s.maturity_stages)["name"].tolist() == NAMES


def test_stage_table_uses_idc_shares_and_checks_them():
    t = M.stage_table(STAGES)
    assert list(t["name"]) == NAMES and list(t.index) == [1, 2, 3, 4, 5]
    assert list(t["idc_pct"]) == [23, 24, 16, 28, 9]
    assert t["benchmark"].round(2).tolist() == [0.23, 0.24, 0.16, 0.28, 0.09]
    even = M.stage_table({n: {"idc_pct": 7} for n in "ABCDE"})  # rescaled to a distribution
    assert even["benchmark"].tolist() == [0.2] * 5 and (even["next_play"] == "").all()
    with pytest.raises(ValueError, match="exactly 5 stages"):
        M.stage_table({n: {"idc_pct": 1} for n in "ABCD"})
    with pytest.raises(ValueError, match="needs idc_pct"):
        M.stage_table({n: {"idc_pct": -1 if n == "C" else 1} for n in "ABCDE"})


def test_dimension_table_labels_and_weights():
    dims = M.dimension_table(["m_people", "m_data_platform"], {"people": {"label": "People and skills", "weight": 2}})
    assert dims.loc["m_people", ["label", "weight", "configured"]].tolist() == ["People and skills", 2.0, True]
    assert dims.loc["m_data_platform", ["label", "weight", "configured"]].tolist() == ["Data platform", 1.0, False]
    with pytest.raises(ValueError, match="weight of 'people'"):
        M.dimension_table(["m_people"], {"people": {"weight": -1}})
    with pytest.raises(ValueError, match="share the label"):
        M.dimension_table(["m_a", "m_b"], {"a": {"label": "X"}, "b": {"label": "X"}})


# ---------------------------------------------------------------- the rubric
RUBRIC_ROWS = [[3, 4, 2], [4, 5, None], [1, 2, 1], [None, None, 2]]
WEIGHTS = pd.Series({"m_a": 1.0, "m_b": 2.0, "m_c": 1.0})


def test_weighted_mean_drops_blanks_and_renormalises():
    s = M.weighted_mean_score(scores(RUBRIC_ROWS), WEIGHTS)
    # (3 + 2·4 + 2)/4 = 3.25; (4 + 2·5)/3 = 4.667; (1 + 2·2 + 1)/4 = 1.5; 2/1 = 2
    assert s.round(4).tolist() == [3.25, 4.6667, 1.5, 2.0]


def test_rubric_weighted_mean_thresholds():
    out = M.assign_stage(scores(RUBRIC_ROWS), WEIGHTS, "weighted_mean", (1.5, 2.5, 3.5, 4.5), min_dimensions=2)
    # 3.25 -> 3; 4.667 -> 5; 1.5 sits on the stage-2 threshold -> 2; one dimension only -> no stage
    assert out["stage"].tolist() == [3, 5, 2, pd.NA]
    assert out["n_dimensions"].tolist() == [3, 2, 3, 1]
    strict = M.assign_stage(scores(RUBRIC_ROWS), WEIGHTS, "weighted_mean", (2, 3, 4, 4.8), min_dimensions=1)
    assert strict["stage"].tolist() == [3, 4, 1, 2]


def test_rubric_floor_and_weakest():
    floor = M.assign_stage(scores(RUBRIC_ROWS), WEIGHTS, "floor", None, min_dimensions=1)
    assert floor["stage"].tolist() == [3, 4, 1, 2]  # 3.25, 4.667, 1.5, 2.0 rounded down
    weakest = M.assign_stage(scores(RUBRIC_ROWS), WEIGHTS, "weakest", None, min_dimensions=1)
    assert weakest["stage"].tolist() == [2, 4, 1, 2]
    # A dimension of weight 0 counts in no rule.
    zero = M.assign_stage(scores([[5, 5, 1]]), pd.Series({"m_a": 1, "m_b": 1, "m_c": 0}), "weakest", None, 1)
    assert zero["stage"].tolist() == [5] and zero["score"].tolist() == [5.0]


def test_rubric_refuses_bad_settings():
    with pytest.raises(ValueError, match="unknown maturity rubric method 'median'"):
        M.assign_stage(scores(RUBRIC_ROWS), None, "median", None, 1)
    with pytest.raises(ValueError, match="4 ascending numbers"):
        M.assign_stage(scores(RUBRIC_ROWS), None, "weighted_mean", (1.5, 3.5, 2.5, 4.5), 1)


def test_weakest_dimension_breaks_ties_by_weight_then_order():
    w = pd.Series({"m_a": 1.0, "m_b": 1.0, "m_c": 2.0})
    out = M.weakest_dimension(scores([[3, 2, 2], [1, 1, 4], [None, None, None], [5, None, 4]]), w)
    assert out["weakest"].tolist() == ["m_c", "m_a", pd.NA, "m_c"]
    assert out["weakest_score"].tolist()[:2] == [2.0, 1.0] and np.isnan(out["weakest_score"].iloc[2])


# ---------------------------------------------------------------- which assessment counts
def assessments():
    return pd.DataFrame(
        {
            "customer_id": pd.array(["A", "A", "A", "B", "C"], dtype="string"),
            "assessed_on": pd.to_datetime(["2019-05-01", "2020-03-01", "2020-09-01", "2020-06-01", "2020-02-02"]),
            "m_strategy": pd.array([1, 2, 3, 5, 4], dtype="Int64"),
            "m_people": pd.array([1, 2, 2, 4, None], dtype="Int64"),
            "m_cost_value": pd.array([2, 2, 3, 5, None], dtype="Int64"),
            "target_stage": pd.array([3, 4, 5, 5, None], dtype="Int64"),
        }
    )


def test_latest_assessment_in_the_year_counts():
    latest = M.latest_in_year(assessments(), 2020)
    assert latest["customer_id"].tolist() == ["A", "B", "C"]
    assert latest["assessed_on"].dt.strftime("%m-%d").tolist() == ["09-01", "06-01", "02-02"]
    assert M.latest_in_year(assessments(), 2019)["customer_id"].tolist() == ["A"]


def test_customer_stages():
    cs = M.customer_stages(assessments(), 2020, DIMS, RUBRIC, STAGES)
    # A: (3 + 2 + 3)/3 = 2.67 -> 3 Repeatable, weakest people (2), target 5 -> gap 2; B: 4.67 -> 5; C: one dimension -> not placed
    assert cs["customer_id"].tolist() == ["A", "B"]
    assert cs["stage"].tolist() == [3, 5] and cs["stage_name"].tolist() == ["Repeatable", "Optimized"]
    assert cs["score"].round(3).tolist() == [2.667, 4.667]
    assert cs["weakest"].tolist() == ["m_people", "m_people"] and cs["weakest_label"].tolist() == ["People and skills"] * 2
    assert cs["gap_to_target"].tolist() == [2, 0]
    kept = M.customer_stages(assessments(), 2020, DIMS, RUBRIC, STAGES, keep_unstaged=True)
    assert kept["customer_id"].tolist() == ["A", "B", "C"] and pd.isna(kept.loc[2, "stage"])
    weakest_rule = M.customer_stages(assessments(), 2020, DIMS, {**RUBRIC, "method": "weakest"}, STAGES)
    assert weakest_rule["stage"].tolist() == [2, 4]
    assert M.customer_stages(assessments(), 2018, DIMS, RUBRIC, STAGES).empty


# ---------------------------------------------------------------- distribution vs IDC
def test_goodness_of_fit_hand_computed():
    fit = M.goodness_of_fit(pd.Series([30, 20, 10, 25, 15], index=[1, 2, 3, 4, 5]), M.stage_table(STAGES)["benchmark"])
    # expected 23, 24, 16, 28, 9: 49/23 + 16/24 + 36/16 + 9/28 + 36/9
    chi2 = 49 / 23 + 16 / 24 + 36 / 16 + 9 / 28 + 36 / 9
    assert fit["statistic"] == pytest.approx(chi2) and fit["statistic"] == pytest.approx(9.36853, abs=1e-5)
    # chi-square with 4 df: P(X > x) = exp(-x/2) · (1 + x/2)
    assert fit["p_value"] == pytest.approx(math.exp(-chi2 / 2) * (1 + chi2 / 2))
    assert fit["df"] == 4 and fit["significant"] is False and fit["small_expected"] is False and fit["min_expected"] == 9


def test_goodness_of_fit_warns_on_small_expected_counts():
    fit = M.goodness_of_fit(pd.Series([3, 2, 2, 2, 1], index=[1, 2, 3, 4, 5]), M.stage_table(STAGES)["benchmark"])
    assert fit["small_expected"] and fit["min_expected"] == pytest.approx(0.9)
    assert "under 5" in fit["note"] and "indicative" in fit["note"]
    empty = M.goodness_of_fit(pd.Series([0] * 5, index=[1, 2, 3, 4, 5]), M.stage_table(STAGES)["benchmark"])
    assert empty["n"] == 0 and np.isnan(empty["p_value"]) and empty["significant"] is False


def test_stage_distribution_shares_and_residuals():
    stages = pd.Series([1] * 30 + [2] * 20 + [3] * 10 + [4] * 25 + [5] * 15 + [None])
    d = M.stage_distribution(stages, STAGES)
    assert d["n"].tolist() == [30, 20, 10, 25, 15] and d["share_pct"].tolist() == [30, 20, 10, 25, 15]
    assert d["expected"].round(6).tolist() == [23, 24, 16, 28, 9]
    assert d["residual"].round(4).tolist() == [round(7 / math.sqrt(23), 4), round(-4 / math.sqrt(24), 4), -1.5,
                                               round(-3 / math.sqrt(28), 4), 2.0]
    assert d["difference_pct"].round(6).tolist() == [7, -4, -6, -3, 6]
    assert d.loc[0, "ci_low"] < 30 < d.loc[0, "ci_high"]
    fit = M.goodness_of_fit(d.set_index("stage")["n"], M.stage_table(STAGES)["benchmark"])
    assert "consistent with IDC's benchmark" in M.describe_fit(fit, d)
    big = M.stage_distribution(pd.Series([1] * 300 + [2] * 200 + [3] * 100 + [4] * 250 + [5] * 150), STAGES)
    words = M.describe_fit(M.goodness_of_fit(big.set_index("stage")["n"], M.stage_table(STAGES)["benchmark"]), big)
    assert "differs from IDC's benchmark" in words and "more Optimized customers (15.0% vs 9%)" in words


# ---------------------------------------------------------------- segments
def test_stage_by_segment_suppresses_small_segments():
    stage = pd.Series([1, 2, 2, 3, 3, 3, 5, 5, 4])
    seg = pd.Series(["A"] * 6 + ["B"] * 3)
    t = M.stage_by_segment(stage, seg, STAGES, min_n=5).set_index("segment")
    assert t.loc["A", "n"] == 6 and not t.loc["A", "suppressed"]
    assert t.loc["A", ["n_Ad Hoc", "n_Opportunistic", "n_Repeatable", "n_Managed", "n_Optimized"]].tolist() == [1, 2, 3, 0, 0]
    assert t.loc["A", "pct_Repeatable"] == 50 and t.loc["A", "mean_stage"] == pytest.approx(14 / 6)
    assert t.loc["B", "suppressed"] and t.loc["B", "n"] == 3
    assert np.isnan(t.loc["B", "pct_Optimized"]) and np.isnan(t.loc["B", "mean_stage"])


def test_segment_association_hand_computed():
    stage = pd.Series([1] * 10 + [2] * 10 + [1] * 5 + [2] * 15)
    seg = pd.Series(["A"] * 20 + ["B"] * 20)
    res = M.segment_association(M.stage_by_segment(stage, seg, STAGES, 5), STAGES)
    # 2 x 2: chi² = n(ad − bc)² / (r1 r2 c1 c2) = 40 · (150 − 50)² / (20 · 20 · 15 · 25)
    chi2 = 40 * 100**2 / (20 * 20 * 15 * 25)
    assert res["statistic"] == pytest.approx(chi2) and res["df"] == 1
    assert res["p_value"] == pytest.approx(math.erfc(math.sqrt(chi2 / 2)))  # 1 df
    assert res["cramers_v"] == pytest.approx(math.sqrt(chi2 / 40)) and res["significant"] is False
    one = M.segment_association(M.stage_by_segment(stage, pd.Series(["A"] * 38 + ["B"] * 2), STAGES, 5), STAGES)
    assert np.isnan(one["p_value"]) and "Fewer than two segments" in one["note"]


# ---------------------------------------------------------------- dimension profile
def profile_customers():
    return pd.DataFrame(
        {
            "customer_id": list("ABCDFE"),
            "stage": pd.array([2, 2, 3, 3, 3, 4], dtype="Int64"),
            "m_a": pd.array([2, 3, 3, 2, 4, 4], dtype="Int64"),
            "m_b": pd.array([1, 2, 3, 4, 3, 4], dtype="Int64"),
            "weakest_label": ["B", "B", "A", "A", "B", "A"],
        }
    )


def test_dimension_profile_and_weakest_by_stage():
    dims = {"a": {"label": "A"}, "b": {"label": "B"}}
    prof = M.dimension_profile(profile_customers(), dims, STAGES, min_n=2)
    assert prof.loc[2, ["A", "B"]].tolist() == [2.5, 1.5]
    assert prof.loc[3, "A"] == 3.0 and prof.loc[3, "B"] == pytest.approx(10 / 3)
    assert prof.loc[4, "suppressed"] and np.isnan(prof.loc[4, "A"]) and prof.loc[4, "n"] == 1
    assert prof.loc[1, "n"] == 0 and prof["stage_name"].tolist() == NAMES
    weak = M.weakest_by_stage(profile_customers(), prof)
    assert weak.loc[2, "weakest_label"] == "B" and weak.loc[3, "weakest_label"] == "A"
    assert weak.loc[2, "shortfall"] == pytest.approx(0.5) and weak.loc[3, "stage_mean"] == pytest.approx((3 + 10 / 3) / 2)
    # stage 2: both customers' own minimum is B -> 100%; stage 3: C (3, 3 tie) and D (2 < 4) yes, F (4 > 3) no -> 2/3
    assert weak.loc[2, "share_weakest_pct"] == 100 and weak.loc[3, "share_weakest_pct"] == pytest.approx(200 / 3)
    assert pd.isna(weak.loc[4, "weakest_label"]) and np.isnan(weak.loc[4, "share_weakest_pct"])


# ---------------------------------------------------------------- movement
def test_transition_matrix_and_movement_shares():
    prev = pd.Series([1, 1, 2, 3, None, 4], dtype="Int64")
    cur = pd.Series([2, 1, 2, 2, 3, 5], dtype="Int64")
    m = M.transition_matrix(prev, cur)
    assert m.shape == (5, 5) and int(m.to_numpy().sum()) == 5
    assert (m.loc[1, 2], m.loc[1, 1], m.loc[2, 2], m.loc[3, 2], m.loc[4, 5]) == (1, 1, 1, 1, 1)
    assert M.row_shares(m).loc[1, 2] == 50 and M.row_shares(m).loc[5].isna().all()
    s = M.movement_summary(m)
    assert (s["n"], s["moved_up"], s["stayed"], s["moved_down"]) == (5, 2, 2, 1)
    assert (s["moved_up_pct"], s["stayed_pct"], s["moved_down_pct"]) == (40, 40, 20)
    assert s["mean_change"] == pytest.approx(0.2) and s["net_pct"] == 20
    # Wilson 95% interval of 2/5: centre (p + z²/2n)/(1 + z²/n), half-width z/(1 + z²/n)·√(p(1−p)/n + z²/4n²)
    z = 1.959963984540054
    centre = (0.4 + z**2 / 10) / (1 + z**2 / 5)
    half = z / (1 + z**2 / 5) * math.sqrt(0.4 * 0.6 / 5 + z**2 / 100)
    assert s["moved_up_ci95"] == pytest.approx([100 * (centre - half), 100 * (centre + half)])
    assert M.movement(prev, cur).tolist() == [M.UP, M.SAME, M.SAME, M.DOWN, M.NEW, M.UP]
    empty = M.movement_summary(M.transition_matrix(pd.Series([], dtype=float), pd.Series([], dtype=float)))
    assert empty["n"] == 0 and np.isnan(empty["moved_up_pct"])


def test_target_summary():
    cust = pd.DataFrame({"stage": pd.array([3, 5, 2, 1], dtype="Int64"), "target_stage": pd.array([5, 5, 4, None], dtype="Int64")})
    cust["gap_to_target"] = cust["target_stage"] - cust["stage"]
    t = M.target_summary(cust)
    assert t["n"] == 3 and t["expect_optimized"] == 2 and t["expect_optimized_pct"] == pytest.approx(200 / 3)
    assert t["mean_gap"] == pytest.approx(4 / 3) and t["gap_counts"] == {0: 1, 2: 2}
    assert t["above_pct"] == pytest.approx(200 / 3) and t["same_pct"] == pytest.approx(100 / 3) and t["below_pct"] == 0


# ---------------------------------------------------------------- links and account list
def test_satisfaction_by_stage_reuses_survey_scores_with_suppression():
    cust = pd.DataFrame({"customer_id": ["c1", "c2", "c3"], "stage": pd.array([1, 1, 2], dtype="Int64")})
    resp = pd.DataFrame({
        "survey_year": [2020, 2020, 2020, 2019, 2020],
        "customer_id": ["c1", "c2", "c3", "c3", "zz"],
        "csat": pd.array([4, 5, 2, 5, 1], dtype="Int64"),
        "nps": pd.array([9, 6, 3, 10, 0], dtype="Int64"),
    })
    t = M.satisfaction_by_stage(cust, resp, 2020, STAGES, min_n=2).set_index("stage")
    assert t.attrs["linked"] == 3
    assert t.loc[1, "csat_n"] == 2 and t.loc[1, "csat_mean"] == 4.5 and t.loc[1, "top2_pct"] == 100
    assert t.loc[1, "nps"] == 0  # one promoter (9), one detractor (6): (1 − 1)/2
    assert t.loc[2, "csat_n"] == 1 and np.isnan(t.loc[2, "csat_mean"]) and np.isnan(t.loc[2, "nps"]) and t.loc[2, "suppressed"]
    assert t.loc[5, "csat_n"] == 0


def test_account_list_columns_movement_play_and_order():
    cur = M.customer_stages(assessments(), 2020, DIMS, RUBRIC, STAGES, keep_unstaged=True)
    prev = M.customer_stages(assessments(), 2019, DIMS, RUBRIC, STAGES)
    accounts = pd.DataFrame({"customer_id": ["A", "B", "C"], "name": ["Alpha", "Beta", "Gamma"], "industry": ["Retail"] * 3})
    out = M.account_list(cur, prev, accounts, STAGES)
    assert list(out.columns) == M.ACCOUNT_COLUMNS
    assert out["customer_id"].tolist() == ["A", "B", "C"]  # gap 2, gap 0, no gap
    a = out.iloc[0]
    # A in 2019: (1 + 1 + 2)/3 = 1.33 -> Ad Hoc; 2020 Repeatable -> moved up
    assert (a["previous_stage"], a["stage"], a["movement"], a["weakest_dimension"], a["name"]) == (1, 3, M.UP, "People and skills", "Alpha")
    assert a["next_play"] == STAGES["Repeatable"]["next_play"]
    assert out.iloc[1]["movement"] == M.NEW and out.iloc[2]["next_play"] == M.INCOMPLETE_PLAY and pd.isna(out.iloc[2]["stage"])


def test_maturity_metrics_rounding_and_shape():
    d = M.stage_distribution(pd.Series([1] * 2 + [2] * 1), STAGES)
    fit = M.goodness_of_fit(d.set_index("stage")["n"], M.stage_table(STAGES)["benchmark"])
    moves = M.movement_summary(M.transition_matrix(pd.Series([1, 1, 2]), pd.Series([2, 1, 2])))
    cust = pd.DataFrame({"stage": [1, 2], "target_stage": [5, 3], "gap_to_target": [4, 1]})
    m = M.maturity_metrics(d, fit, moves, M.target_summary(cust), 2020, 2019, n_unstaged=1, rubric=RUBRIC)
    assert m["n_assessed"] == 3 and m["n_unstaged"] == 1
    assert m["stages"]["1"] == {"name": "Ad Hoc", "n": 2, "pct": 66.7, "benchmark_pct": 23.0}
    assert m["movement"]["moved_up_pct"] == 33.3 and m["movement"]["stayed_pct"] == 66.7 and m["movement"]["moved_down_pct"] == 0.0
    assert m["fit"]["small_expected"] is True and 0 <= m["fit"]["p_value"] <= 1
    assert m["target"] == {"n": 2, "expect_optimized_pct": 50.0, "mean_gap": 2.5}


# ---------------------------------------------------------------- the input contract
HEADER = "customer_id,assessed_on,m_strategy,m_people,target_stage\n"


def test_contract_messages(tmp_path):
    p = tmp_path / "maturity_assessments.csv"
    p.write_text(HEADER + "C1,2020-03-01,3,6,5\nC2,2020-13-01,2,,\nC1,2020-03-01,3,3,0\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load(p, MATURITY)
    msgs = err.value.messages
    assert "maturity_assessments.csv row 1 (line 2), column m_people: '6'; expected an integer 1-5 or blank" in msgs
    assert "maturity_assessments.csv row 2 (line 3), column assessed_on: '2020-13-01'; expected a date (YYYY-MM-DD)" in msgs
    assert "maturity_assessments.csv row 3 (line 4), column target_stage: '0'; expected an integer 1-5 or blank" in msgs
    assert sum("appears more than once" in m for m in msgs) == 2
    assert len(msgs) == 5


def test_load_inputs_cross_checks_accounts(tmp_path):
    (tmp_path / "accounts.csv").write_text("customer_id,industry\nC1,Retail\nC2,Retail\n", encoding="utf-8")
    (tmp_path / "maturity_assessments.csv").write_text(HEADER + "C1,2020-03-01,3,3,\nC9,2020-03-01,2,2,\nC8,2020-04-01,2,2,\n")
    with pytest.raises(InputError) as err:
        M.load_inputs(tmp_path)
    assert err.value.messages == [
        "maturity_assessments.csv row 2 (line 3), column customer_id: 'C9'; expected a customer_id listed in accounts.csv",
        "maturity_assessments.csv row 3 (line 4), column customer_id: 'C8'; expected a customer_id listed in accounts.csv",
    ]
    (tmp_path / "maturity_assessments.csv").write_text("customer_id,assessed_on\nC1,2020-03-01\n")
    with pytest.raises(InputError, match="no m_<name> column"):
        M.load_inputs(tmp_path)
    (tmp_path / "maturity_assessments.csv").write_text(HEADER + "C1,2020-03-01,3,3,\n")
    frames = M.load_inputs(tmp_path)
    assert frames["survey"] is None and frames["assessments"]["m_strategy"].tolist() == [3]


def test_validate_accepts_blank_dimensions():
    raw = pd.DataFrame({"customer_id": ["C1"], "assessed_on": ["2020-01-05"], "m_people": [None]}, dtype=object)
    typed = validate(raw, MATURITY)
    assert str(typed["m_people"].dtype) == "Int64" and typed["assessed_on"].dt.year.tolist() == [2020]


def test_stays_fast_on_large_books():
    import time

    rng = np.random.default_rng(1)
    n = 300_000
    big = pd.DataFrame({
        "customer_id": ("C" + pd.Series(rng.integers(0, n // 2, n)).astype(str).str.zfill(7)).astype("string"),
        "assessed_on": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D"),
        **{f"m_{k}": pd.array(rng.integers(1, 6, n), dtype="Int64") for k in DIMS},
        "target_stage": pd.array(rng.integers(1, 6, n), dtype="Int64"),
    })
    t0 = time.perf_counter()
    cs = M.customer_stages(big, 2020, DIMS, RUBRIC, STAGES)
    prof = M.dimension_profile(cs, DIMS, STAGES, 5)
    M.weakest_by_stage(cs, prof)
    M.account_list(cs, M.customer_stages(big, 2021, DIMS, RUBRIC, STAGES), None, STAGES)
    assert cs["customer_id"].is_unique and time.perf_counter() - t0 < 15


# ---------------------------------------------------------------- the sample
@pytest.fixture(scope="module")
def sample(root):
    from cxreport.inputs import ACCOUNTS, load_survey

    data = root / "data" / "sample"
    return load(data / "maturity_assessments.csv", MATURITY), load(data / "accounts.csv", ACCOUNTS), load_survey(data / "survey_responses.csv")


def test_committed_sample_is_what_the_generator_writes(root, tmp_path):
    from cxreport.sample import write_sample

    write_sample(tmp_path)
    name = "maturity_assessments.csv"
    assert (tmp_path / name).read_bytes() == (root / "data" / "sample" / name).read_bytes()


def test_sample_looks_like_idc_and_moves_realistically(sample):
    assessments, accounts, survey = sample
    now, before = M.customer_stages(assessments, 2020, DIMS, RUBRIC, STAGES), M.customer_stages(assessments, 2019, DIMS, RUBRIC, STAGES)
    assert 1100 <= len(now) <= 1300 and len(before) > 800
    d = M.stage_distribution(now["stage"], STAGES)
    assert (d["difference_pct"].abs() < 3).all()  # near IDC's shares
    moves = M.movement_summary(M.transition_matrix(*now.merge(before, on="customer_id")[["stage_y", "stage_x"]].T.to_numpy()))
    assert moves["stayed_pct"] > 55 and moves["moved_up_pct"] > 15 and moves["moved_up_pct"] > 2 * moves["moved_down_pct"]
    assert 40 <= M.target_summary(now)["expect_optimized_pct"] <= 52
    seg = now.merge(accounts, on="customer_id")
    assert M.segment_association(M.stage_by_segment(seg["stage"], seg["company_size"], STAGES, 5), STAGES)["p_value"] < 0.001
    assert M.segment_association(M.stage_by_segment(seg["stage"], seg["industry"], STAGES, 5), STAGES)["p_value"] < 0.001
    respondents = survey.loc[survey["survey_year"] == 2020, "customer_id"]
    assert respondents.isin(now["customer_id"]).all()  # the survey links to maturity
    assert (assessments["assessed_on"].dt.year == 2020).sum() > now.shape[0]  # some assessed twice in 2020

"""Lifetimes, Kaplan-Meier, log-rank, Cox and CLV (simple and shifted-beta-geometric) against hand computations."""

import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1

from cxreport import clv, survival
from cxreport import revenue as rv

from test_revenue import ledger_rows


@pytest.fixture
def lives(ledger_engine):
    return survival.lifetimes(rv.active_months(ledger_rows(), end="2020-06"), "2020-06").set_index("customer_id")


def test_lifetimes_by_hand(lives):
    a, b, d, e = (lives.loc[c] for c in "ABDE")
    assert (a["churned"], a["duration"], a["spell_tenure"], a["mrr_end"]) == (False, 5, 6, 120)  # censored at Jun - Jan
    # B paid January and February, churned in March, came back in May: first spell 2 months, reactivated
    assert (b["churned"], b["duration"], b["spells"], b["reactivated"], b["active_at_end"], b["spell_tenure"]) == (True, 2, 2, True, True, 2)
    assert str(b["churn_month"]) == "2020-03"
    # D churns in the ledger's last month: an event, not censored
    assert (d["churned"], d["duration"], d["active_at_end"]) == (True, 3, False)
    assert (e["churned"], e["duration"]) == (False, 5)
    assert "C" not in lives.index


def test_landmark_retimes_from_the_measurement(lives):
    measured = pd.DataFrame({"customer_id": ["A", "B", "D", "E"], "measured": pd.PeriodIndex(["2020-02", "2020-04", "2020-04", "2020-01"], freq="M")})
    lm = survival.landmark(lives.reset_index(), measured, "2020-06").set_index("customer_id")
    assert "B" not in lm.index  # not a customer (in its first spell) when measured
    assert (lm.loc["A", "duration"], lm.loc["A", "churned"], lm.loc["A", "tenure_at_measure"]) == (4, False, 1)
    assert (lm.loc["D", "duration"], lm.loc["D", "churned"]) == (2, True)  # churn month June - April
    assert lm.loc["E", "duration"] == 5


def test_kaplan_meier_by_hand():
    # times 1,2,2+,3,4+,5 with events at 1, 2, 3, 5
    km = survival.kaplan_meier([1, 2, 2, 3, 4, 5], [1, 1, 0, 1, 0, 1], confidence=0.95)
    assert km["time"].tolist() == [0, 1, 2, 3, 5]
    assert km["at_risk"].tolist() == [6, 6, 5, 3, 1]
    # 5/6; 5/6 * 4/5 = 2/3 (the censoring at 2 comes after the event); 2/3 * 2/3 = 4/9; then 0
    assert km["survival"].tolist() == pytest.approx([1, 5 / 6, 2 / 3, 4 / 9, 0])
    # Greenwood: se(S(1)) = S * sqrt(1 / (6 * 5))
    assert km["se"].iloc[1] == pytest.approx(5 / 6 * np.sqrt(1 / 30))
    se2 = 2 / 3 * np.sqrt(1 / 30 + 1 / 20)
    assert km["se"].iloc[2] == pytest.approx(se2)
    # log(-log) interval at S(2) = 2/3
    s, z = 2 / 3, 1.959963984540054
    sd = se2 / (s * abs(np.log(s)))
    assert km["ci_low"].iloc[2] == pytest.approx(s ** np.exp(z * sd))
    assert km["ci_high"].iloc[2] == pytest.approx(s ** np.exp(-z * sd))
    assert km["ci_low"].iloc[4] == 0 and km["ci_high"].iloc[0] == 1
    assert survival.survival_at(km, 2.5) == pytest.approx(2 / 3)


def test_km_on_the_hand_ledger(lives):
    km = survival.kaplan_meier(lives["duration"], lives["churned"], confidence=0.95)
    # B churns at 2 (4 at risk), D at 3 (3 at risk): 3/4, then 3/4 * 2/3 = 1/2
    assert km["survival"].tolist() == pytest.approx([1, 0.75, 0.5])
    assert km["se"].iloc[2] == pytest.approx(0.5 * np.sqrt(1 / 12 + 1 / 6))


def test_km_by_group_suppresses_small_groups_and_logrank():
    df = pd.DataFrame({"duration": [1, 2, 3, 4, 5, 6, 1, 1, 2, 2, 3, 9, 9],
                       "churned": [1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0, 0],
                       "seg": ["a"] * 6 + ["b"] * 5 + ["c"] * 2})
    curves, summary = survival.km_by_group(df, "seg", min_n=5, confidence=0.95, horizons=(2,))
    s = summary.set_index("group")
    assert s.loc["c", "suppressed"] and np.isnan(s.loc["c", "survival_2m"]) and set(curves["group"]) == {"a", "b"}
    assert s.loc["a", "survival_2m"] == pytest.approx(100 * 4 / 6)
    assert s.loc["b", "median_months"] == 2  # 5 -> 3 -> 1: S(2) = 1/5 <= 0.5, S(1) = 3/5
    test = survival.logrank(df, "seg", min_n=5, alpha=0.05)
    assert test["groups"] == 2 and test["df"] == 1 and 0 < test["p"] < 1


def test_cox_hazard_ratio_by_hand():
    # Partial likelihood: event at 1 (x=1) among {1, 0, 1}: u / (2u + 1); event at 2 (x=0) among {0, 1}: 1 / (1 + u).
    # Setting the score to zero gives 2u^2 = 1: HR = u = 1 / sqrt(2).
    df = pd.DataFrame({"duration": [1, 2, 3], "churned": [1, 1, 0], "x": [1.0, 0.0, 1.0]})
    table, info = survival.cox_hazard_ratios(df, numeric=["x"], confidence=0.95, labels={"x": "the flag"})
    assert table["hr"].iloc[0] == pytest.approx(1 / np.sqrt(2), rel=1e-4)
    assert info["n"] == 3 and info["events"] == 2
    text = survival.describe_hazard_ratio(table.iloc[0])
    assert text.startswith("Each one point more of the flag goes with customers leaving 0.71 times as fast as")


def test_cox_categorical_and_separation():
    rng = np.random.default_rng(1)
    n = 400
    grp = np.where(rng.random(n) < 0.5, "Detractor", "Promoter")
    t = rng.exponential(np.where(grp == "Detractor", 10, 30))
    df = pd.DataFrame({"g": grp, "duration": np.ceil(np.minimum(t, 24)), "churned": t < 24})
    table, info = survival.cox_hazard_ratios(df, {"g": "Promoter"}, confidence=0.95)
    assert table["level"].tolist() == ["Detractor"] and 2 < table["hr"].iloc[0] < 4.5  # true ratio 3
    assert "leave" in survival.describe_hazard_ratio(table.iloc[0]) and survival.cox_caveat(info) is None
    # no churn among promoters: no finite estimate, the covariate is dropped with a reason
    df.loc[df["g"] == "Promoter", "churned"] = False
    table, info = survival.cox_hazard_ratios(df, {"g": "Promoter"}, confidence=0.95)
    assert table.empty and "no churn in the reference group" in info["dropped"][0]
    assert "could not be estimated" in survival.cox_caveat(info)


# ---------------------------------------------------------------- CLV
def test_simple_clv():
    assert clv.simple_clv(100, 0.5, 0.02) == pytest.approx(2500)
    assert np.isnan(clv.simple_clv(100, 0.5, 0))


FH_REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]   # Fader & Hardie (2007), "regular" customers, years 0-7
FH_HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]  # and "high end"


def test_sbg_fit_reproduces_fader_hardie():
    fit = clv.sbg_fit_survivors(FH_REGULAR)
    assert fit["gamma"] == pytest.approx(0.704, abs=0.001) and fit["delta"] == pytest.approx(1.182, abs=0.001)
    high = clv.sbg_fit_survivors(FH_HIGH_END)
    assert high["gamma"] == pytest.approx(0.668, abs=0.001) and high["delta"] == pytest.approx(3.806, abs=0.001)
    # the same fit from one row per customer
    lost = -np.diff(FH_REGULAR)
    durations = np.concatenate([np.repeat(np.arange(1, 8), lost), np.full(241, 7)])
    churned = np.concatenate([np.ones(lost.sum(), bool), np.zeros(241, bool)])
    again = clv.sbg_fit(durations, churned)
    assert again["gamma"] == pytest.approx(fit["gamma"], rel=1e-4) and again["n"] == 1000


def test_sbg_formulas_by_hand():
    g, d = 0.704, 1.182
    assert clv.sbg_pmf(g, d, 1) == pytest.approx(g / (g + d))
    assert clv.sbg_survival(g, d, [0, 1, 2]) == pytest.approx([1, d / (g + d), d / (g + d) * (d + 1) / (g + d + 1)])
    assert clv.sbg_retention_rates(g, d, 2) == pytest.approx((d + 1) / (g + d + 1))
    assert clv.sbg_loglik(g, d, [1], [True]) == pytest.approx(np.log(g / (g + d)))
    assert clv.sbg_churn_probability(g, d, 1, within=1) == pytest.approx(g / (g + d))
    assert np.isnan(clv.sbg_fit([3, 4], [False, False])["gamma"])  # no churn: no estimate


def test_discounted_lifetimes_match_the_closed_form():
    g, d, disc = 0.704, 1.182, 0.10
    z = 1 / (1 + disc)
    assert clv.discounted_expected_lifetime(g, d, disc) == pytest.approx(hyp2f1(1, d, g + d, z), rel=1e-9)
    k = np.array([1, 2, 5])
    # Fader & Hardie (2010), eq. 6: the next renewal is not discounted
    expected = [(d + kk - 1) / (g + d + kk - 1) * hyp2f1(1, d + kk, g + d + kk, z) for kk in k]
    assert clv.discounted_expected_residual_lifetime(g, d, k, disc) == pytest.approx(expected, rel=1e-9)
    # without heterogeneity (huge gamma, delta; theta = 0.2) the lifetime is the constant-churn (1 + d) / (d + theta)
    assert clv.discounted_expected_lifetime(2e5, 8e5, disc) == pytest.approx(1.1 / 0.3, rel=1e-4)
    assert clv.monthly_rate(0.10) == pytest.approx(1.1 ** (1 / 12) - 1)


def test_clv_by_segment_on_the_hand_ledger(ledger_engine):
    ledger = ledger_rows()
    act = rv.active_months(ledger, end="2020-06")
    lives = survival.lifetimes(act, "2020-06")
    seg = pd.Series({"A": "s", "B": "s", "D": "s", "E": "s", "C": "s"})
    # this ledger ends in June: shift it so that June is "December" of 2020
    ledger = ledger.assign(month=ledger["month"] + 6)
    act = rv.active_months(ledger, end="2020-12")
    lives = survival.lifetimes(act, "2020-12")
    t = clv.clv_by_segment(ledger, lives, seg, 2020, 0.1, window_months=6, min_n=1, active=act)
    row = t.iloc[0]
    assert row["monthly_churn_pct"] == pytest.approx(12.5) and row["arpa"] == pytest.approx(1780 / 19)
    margin = 1 - (0.8 * 1450 + 0.5 * 330) / 1780
    assert row["gross_margin_pct"] == pytest.approx(100 * margin)
    assert row["clv_simple"] == pytest.approx(1780 / 19 * margin / 0.125)
    fit = clv.sbg_fit(lives["duration"], lives["churned"])
    assert row["gamma"] == pytest.approx(fit["gamma"])
    assert row["clv_sbg"] == pytest.approx(1780 / 19 * margin * clv.discounted_expected_lifetime(fit["gamma"], fit["delta"], clv.monthly_rate(0.1)))
    assert row["active_customers"] == 3 and row["rank"] == 1
    suppressed = clv.clv_by_segment(ledger, lives, seg, 2020, 0.1, window_months=12, min_n=10, active=act)
    assert suppressed["suppressed"].all()
    acc = clv.account_values(lives, seg, {"s": fit}, margin, 0.1, 12)
    assert set(acc["customer_id"]) == {"A", "B", "E"}
    b = acc.set_index("customer_id").loc["B"]
    assert b["tenure_months"] == 2
    assert b["expected_remaining_value"] == pytest.approx(80 * margin * clv.discounted_expected_residual_lifetime(fit["gamma"], fit["delta"], 2, clv.monthly_rate(0.1)))

"""Partner-programme metrics on small hand-made data; every expected value is worked out by hand in the comments."""

import math

import numpy as np
import pandas as pd
import pytest

from cxreport import customer_success as cs
from cxreport import partners as pt
from cxreport.inputs import PARTNERS, USAGE, InputError, check_references, read_raw, validate

# the settings these functions take (written once, in params/defaults.yaml; spelled out here for the hand-computed cases)
NSAT_MAPPING = {5: "very_satisfied", 4: "somewhat_satisfied", 3: "somewhat_dissatisfied", 2: "very_dissatisfied", 1: "very_dissatisfied"}
LEVELS = (0.95, 0.998)
CI = {"confidence": 0.95, "method": "auto"}



def answers(rows):
    """rows: (partner_id, customer_id, date, nps, csat)."""
    df = pd.DataFrame(rows, columns=["partner_id", "customer_id", "submitted_at", "nps", "csat"])
    df["submitted_at"] = pd.to_datetime(df["submitted_at"])
    df["respondent_id"] = [f"r{i:03d}" for i in range(len(df))]
    df["nps"] = df["nps"].astype("Int64")
    df["csat"] = df["csat"].astype("Int64")
    return df


# ------------------------------------------------------------------ NPS by partner and quarter
@pytest.fixture
def quarterly():
    return answers([
        # A, 2020 Q1: 10, 9 promoters; 7 passive; 3 detractor -> NPS 100*(2-1)/4 = 25; LTR 29/4 = 7.25; CSAT 14/4 = 3.5
        ("A", "c1", "2020-01-15", 10, 5), ("A", "c2", "2020-02-01", 9, 4), ("A", "c3", "2020-03-31", 7, 3), ("A", "c4", "2020-03-01", 3, 2),
        # A, 2020 Q2: 10 promoter, 6 detractor -> NPS 0
        ("A", "c1", "2020-04-01", 10, 5), ("A", "c5", "2020-06-30", 6, 3),
        # B: 2019 Q3 one promoter, 2020 Q2 one passive
        ("B", "c6", "2019-08-01", 9, 5), ("B", "c7", "2020-05-05", 8, 4),
    ])


def test_nps_by_partner_and_quarter(quarterly):
    t = pt.nps_by_partner_quarter(quarterly, **CI, min_n=1).set_index(["partner_id", "quarter"])
    assert list(t.index.get_level_values("quarter").unique().astype(str)) == ["2019Q3", "2019Q4", "2020Q1", "2020Q2"]
    a1 = t.loc[("A", pd.Period("2020Q1"))]
    assert (a1["n"], a1["promoters"], a1["passives"], a1["detractors"]) == (4, 2, 1, 1)
    assert a1["nps"] == pytest.approx(25.0) and a1["ltr"] == pytest.approx(7.25) and a1["csat"] == pytest.approx(3.5)
    # Adjusted Wald under 30 answers (Rocks 2016): p_P = 2.75/7, p_D = 1.75/7, centre 1/7,
    # var = (0.392857 + 0.25 - 0.142857²) / 7 = 0.0889213, se = 0.298197, half-width 1.959964 * 29.8197 = 58.4456.
    assert a1["nps_ci_low"] == pytest.approx(14.2857 - 58.4456, abs=1e-3)
    assert a1["nps_ci_high"] == pytest.approx(14.2857 + 58.4456, abs=1e-3)
    assert t.loc[("A", pd.Period("2020Q2")), "nps"] == pytest.approx(0.0)
    assert t.loc[("A", pd.Period("2019Q4")), "n"] == 0 and np.isnan(t.loc[("A", pd.Period("2019Q4")), "nps"])


def test_trailing_four_quarters_pool_the_counts(quarterly):
    t = pt.nps_by_partner_quarter(quarterly, **CI, min_n=1).set_index(["partner_id", "quarter"])
    a = t.loc[("A", pd.Period("2020Q2"))]
    # A's rolling year to 2020 Q2: 3 promoters, 1 passive, 2 detractors -> 100 * 1/6 = 16.67; LTR (29 + 16) / 6 = 7.5
    assert (a["t4q_n"], a["t4q_promoters"], a["t4q_detractors"]) == (6, 3, 2)
    assert a["t4q_nps"] == pytest.approx(100 / 6) and a["t4q_ltr"] == pytest.approx(7.5)
    # B's rolling year to 2020 Q2 reaches back to 2019 Q3: one promoter and one passive -> 50
    assert t.loc[("B", pd.Period("2020Q2")), "t4q_nps"] == pytest.approx(50.0)
    assert t.loc[("B", pd.Period("2020Q2")), "t4q_complete"] and not t.loc[("B", pd.Period("2020Q1")), "t4q_complete"]


def test_small_quarters_are_suppressed(quarterly):
    t = pt.nps_by_partner_quarter(quarterly, **CI, min_n=3).set_index(["partner_id", "quarter"])
    q2 = t.loc[("A", pd.Period("2020Q2"))]
    assert q2["suppressed"] and np.isnan(q2["nps"]) and np.isnan(q2["ltr"]) and q2["n"] == 2
    assert not q2["t4q_suppressed"] and q2["t4q_nps"] == pytest.approx(100 / 6)


def test_programme_by_quarter_pools_every_partner(quarterly):
    p = pt.programme_by_quarter(quarterly, **CI, min_n=1).set_index("quarter")
    # 2020 Q2: A 10, 6 and B 8 -> 1 promoter, 1 passive, 1 detractor -> 0
    assert p.loc[pd.Period("2020Q2"), "n"] == 3 and p.loc[pd.Period("2020Q2"), "nps"] == pytest.approx(0.0)


def test_trend_compares_non_overlapping_rolling_years():
    rows = [("A", f"c{i}", "2019-05-01", 10, 5) for i in range(6)] + [("A", f"d{i}", "2020-05-01", 3, 2) for i in range(6)]
    t = pt.nps_by_partner_quarter(answers(rows), **CI, min_n=1)
    trend = pt.nps_trend(t, "2020Q2", 0.95, min_n=5).set_index("partner_id").loc["A"]
    # 2019: six promoters (+100); 2020: six detractors (-100): down 200 points, significant
    assert trend["nps_before"] == 100 and trend["nps_now"] == -100 and trend["change"] == -200
    assert trend["significant"] and trend["direction"] == "down"
    few = pt.nps_trend(t, "2020Q2", 0.95, min_n=7).set_index("partner_id").loc["A"]
    assert few["direction"] == "too few answers" and np.isnan(few["change"])


# ------------------------------------------------------------------ funnel plot
def test_funnel_limits_by_hand():
    # target 20, sd 80, n 16: sd/sqrt(n) = 20; z 1.959964 (95%) and 3.090232 (99.8%)
    lim = pt.funnel_limits(20.0, 80.0, [16, 1], LEVELS).iloc[0]
    assert lim["lower_95"] == pytest.approx(20 - 39.19928, abs=1e-4) and lim["upper_95"] == pytest.approx(59.19928, abs=1e-4)
    assert lim["lower_99.8"] == pytest.approx(20 - 61.80465, abs=1e-4) and lim["upper_99.8"] == pytest.approx(81.80465, abs=1e-4)
    assert pt.funnel_limits(20.0, 80.0, [16, 1], LEVELS).iloc[1][["lower_95", "upper_95"]].tolist() == [-100, 100]  # clipped to the scale
    wide = pt.funnel_limits(20.0, 80.0, [16], LEVELS, phi=4.0).iloc[0]  # over-dispersion 4 doubles the half-width
    assert wide["upper_95"] == pytest.approx(20 + 2 * 39.19928, abs=1e-4)


def test_unit_sd_and_overdispersion_by_hand():
    # 5 promoters, 3 passives, 2 detractors: 100 * sqrt(0.5 + 0.2 - 0.3²) = 100 * sqrt(0.61) = 78.1025
    assert pt.nps_unit_sd(5, 3, 2) == pytest.approx(78.1025, abs=1e-4)
    d = pt.overdispersion(pd.Series([0, 1, -1, 2, -2]), winsor=0)
    assert d["phi"] == pytest.approx(2.0)  # (0 + 1 + 1 + 4 + 4) / 5
    assert d["p_value"] == pytest.approx(0.040428, abs=1e-6)  # chi2(4) upper tail at 10
    # Winsorised at the 10% / 90% quantiles (-1.6 and 1.6): (0 + 1 + 1 + 2.56 + 2.56) / 5 = 1.424
    assert pt.overdispersion(pd.Series([0, 1, -1, 2, -2]))["phi"] == pytest.approx(1.424)


def test_funnel_flags_and_never_ranks_small_partners():
    rows = ([("A", f"a{i}", "2020-03-01", 10, 5) for i in range(8)] + [("A", f"a{i}", "2020-03-01", 8, 4) for i in range(8, 10)]
            + [("B", f"b{i}", "2020-03-01", 9, 5) for i in range(2)] + [("B", f"b{i}", "2020-03-01", 7, 4) for i in range(2, 6)]
            + [("B", f"b{i}", "2020-03-01", 2, 1) for i in range(6, 10)]
            + [("C", "c1", "2020-03-01", 10, 5), ("C", "c2", "2020-03-01", 0, 1)])
    table, summary = pt.nps_funnel(answers(rows), None, LEVELS, adjust_overdispersion=False, min_rank_n=10, min_n=5)
    t = table.set_index("partner_id")
    # Programme: 11 promoters, 6 passives, 5 detractors of 22 -> 27.27; sd = 100 * sqrt(16/22 - (6/22)²) = 80.802
    assert summary["target"] == pytest.approx(600 / 22) and summary["sd"] == pytest.approx(80.8018, abs=1e-3)
    # A: NPS 80, z = (80 - 27.27) / (80.802 / sqrt(10)) = 2.0636 -> above the 95% limit, not the 99.8% one
    assert t.loc["A", "nps"] == 80 and t.loc["A", "z"] == pytest.approx(2.0636, abs=1e-3)
    assert t.loc["A", "position"] == pt.ABOVE_95 and t.loc["A", "action"] == "Recognise"
    # B: NPS -20, z = -1.850 -> within; C has 2 answers: never ranked or flagged
    assert t.loc["B", "position"] == pt.WITHIN and t.loc["B", "z"] == pytest.approx(-1.8502, abs=1e-3)
    assert t.loc["C", "position"] == pt.NOT_RANKED and np.isnan(t.loc["C", "rank"]) and np.isnan(t.loc["C", "z"])
    assert (t.loc["A", "rank"], t.loc["B", "rank"], t.loc["A", "percentile"], t.loc["B", "percentile"]) == (1, 2, 100, 0)
    assert t.loc["A", "upper_95"] == pytest.approx(600 / 22 + 1.959964 * 80.8018 / math.sqrt(10), abs=1e-3)
    assert summary["ranked"] == 2 and not summary["adjusted"]


# ------------------------------------------------------------------ Microsoft CSAT index
def test_nsat_by_hand_and_mapping_rule():
    csat = pd.Series([5, 5, 4, 3, 2, 1, None], dtype="Int64")
    levels = pt.nsat_level(csat, NSAT_MAPPING).value_counts()
    # default: 5 very satisfied (2), 4 somewhat satisfied (1), 3 somewhat dissatisfied (1), 1-2 very dissatisfied (2)
    assert [int(levels[k]) for k in pt.NSAT_LEVELS] == [2, 1, 1, 2]
    # NSAT = %VS - %DSAT + 100 = 33.33 - 50 + 100 = 83.33
    assert pt.nsat_from_counts(2, 1, 1, 2) == pytest.approx(100 * (2 - 3) / 6 + 100)
    assert pt.nsat_from_counts(4, 0, 0, 0) == 200 and pt.nsat_from_counts(0, 0, 0, 3) == 0 and math.isnan(pt.nsat_from_counts(0, 0, 0, 0))
    lenient = {5: "very_satisfied", 4: "very_satisfied", 3: "somewhat_satisfied", 2: "somewhat_dissatisfied", 1: "very_dissatisfied"}
    c = pt.nsat_level(csat, lenient).value_counts()
    assert pt.nsat_from_counts(*[int(c[k]) for k in pt.NSAT_LEVELS]) == pytest.approx(100 * (3 - 2) / 6 + 100)
    with pytest.raises(ValueError, match="unknown level"):
        pt.nsat_level(csat, {5: "delighted"})


def test_ten_response_rule_with_cap_of_eight_per_organisation():
    rows = (
        # A: organisation X answers 11 times (the first 8 rate 5, the last 3 rate 1), Y once -> 12 answers, 9 counted
        [("A", "X", f"2020-01-{d:02d}", 9, 5 if d <= 8 else 1) for d in range(1, 12)] + [("A", "Y", "2020-12-01", 9, 5)]
        # B: ten organisations once each -> 10 counted, met; ratings 5,5,5,5,4,4,3,3,2,1
        + [("B", f"o{i}", "2020-05-01", 8, r) for i, r in enumerate([5, 5, 5, 5, 4, 4, 3, 3, 2, 1])]
    )
    r = answers(rows)
    counted = pt.counted_responses(r, 8)
    assert counted.sum() == 19 and not counted[r["csat"].eq(1) & r["customer_id"].eq("X")].any()  # the latest 3 of X are capped
    ci = pt.csat_index(r, 2020, ["A", "B", "C"], NSAT_MAPPING, 10, 8, min_n=5).set_index("partner_id")
    assert ci.loc["A", ["responses", "organisations", "counted", "not_counted", "needed"]].tolist() == [12, 2, 9, 3, 1]
    assert ci.loc["A", "status"] == "missed" and ci.loc["A", "as_of"] == pd.Timestamp("2020-12-31")
    assert ci.loc["A", "nsat"] == 200  # the counted answers are all 5s; the capped 1s do not count
    assert ci.loc["B", "status"] == "met" and ci.loc["B", "counted"] == 10
    # B: 4 very satisfied, 2 somewhat satisfied, 2 somewhat dissatisfied (3s), 2 very dissatisfied -> 40 - 40 + 100
    assert ci.loc["B", "nsat"] == pytest.approx(100.0)
    assert ci.loc["C", "responses"] == 0 and ci.loc["C", "status"] == "missed" and np.isnan(ci.loc["C", "nsat"])


def test_at_risk_and_by_when():
    rows = [("C", f"c{i}", "2020-02-01", 9, 5) for i in range(3)] + [("D", f"d{i}", "2020-02-01", 9, 5) for i in range(2)]
    r = answers(rows)
    early = pt.csat_index(r, 2020, ["C", "D"], NSAT_MAPPING, 10, 8, as_of="2020-03-31", min_n=5).set_index("partner_id")
    # C: 3 counted in 91 days of 366 -> projected 3 / 91 * 366 = 12.07 -> on track
    assert early.loc["C", "projected"] == pytest.approx(3 / 91 * 366) and early.loc["C", "status"] == "on track"
    mid = pt.csat_index(r, 2020, ["C", "D"], NSAT_MAPPING, 10, 8, as_of="2020-06-30", min_n=5).set_index("partner_id")
    d = mid.loc["D"]
    # D: 2 counted in 182 days -> projected 4.02, at risk; reaches 10 after ceil(10 * 182 / 2) = 910 days: 28 June 2022
    assert d["status"] == "at risk" and d["projected"] == pytest.approx(2 / 182 * 366)
    assert d["projected_date"] == pd.Timestamp("2022-06-28")
    # 8 still needed over the 184 days left (6.045 months of 30.4375 days) -> 1.323 a month
    assert d["needed"] == 8 and d["needed_per_month"] == pytest.approx(8 / (184 / 30.4375))
    assert d["pace_per_month"] == pytest.approx(2 / 182 * 30.4375)


def test_responses_by_month_shows_the_fourth_quarter():
    r = answers([("A", "c", "2020-01-10", 9, 5)] + [("A", "c", f"2020-{m}-05", 9, 5) for m in (10, 11, 11, 12)] + [("A", "c", "2019-11-01", 9, 5)])
    by = pt.responses_by_month(r, 2020)
    assert by["responses"].tolist() == [1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 1] and by["share_pct"].sum() == pytest.approx(100)
    assert pt.quarter_shares(by) == {"Q1": 20.0, "Q2": 0.0, "Q3": 0.0, "Q4": 80.0}


# ------------------------------------------------------------------ Customer Success
RATES = {"Business Central": 1.0, "Power BI": 0.25}


@pytest.fixture
def usage():
    df = pd.DataFrame(
        [
            ("C1", "P1", "2019-12", "Business Central", 10),
            ("C1", "P1", "2020-11", "Business Central", 12),
            ("C1", "P1", "2020-12", "Business Central", 15),
            ("C1", "P1", "2020-12", "Power BI", 4),
            ("C2", "P1", "2020-12", "Not on the card", 100),
            ("C3", "P2", "2019-12", "Business Central", 3),
            ("C3", "P2", "2020-12", "Business Central", 6),
        ],
        columns=["customer_id", "partner_id", "month", "workload", "monthly_active_users"],
    )
    df["month"] = pd.PeriodIndex(df["month"], freq="M")
    return df


def test_consumption_value_is_users_times_rate(usage):
    v = cs.consumption_value(usage, RATES)
    assert v.tolist()[:4] == [10.0, 12.0, 15.0, 1.0] and np.isnan(v.iloc[4])  # 4 Power BI users x 0.25; no rate: not eligible
    m = cs.monthly_consumption(usage, RATES).set_index(["partner_id", "month"])["consumption_value"]
    assert m[("P1", pd.Period("2020-12"))] == 16.0  # 15 x 1.0 + 4 x 0.25


def test_usage_growth_month_and_year(usage):
    g = cs.usage_growth(cs.monthly_consumption(usage, RATES), "2020-12").set_index("partner_id")
    assert g.loc["P1", "mom_pct"] == pytest.approx(100 * (16 / 12 - 1))  # +33.3%
    assert g.loc["P1", "yoy_pct"] == pytest.approx(60.0)  # 16 vs 10
    assert g.loc["P2", "yoy_pct"] == pytest.approx(100.0) and np.isnan(g.loc["P2", "mom_pct"])  # no usage in Nov: no base
    assert g.loc["P2", "change_yoy"] == 3.0


def test_deployments_metric(usage):
    d = cs.eligible_deployments(usage, RATES, min_usage=5).set_index(["partner_id", "month"])["deployments"]
    # P1 Dec 2020: C1 Business Central (15 users) counts; Power BI (4 < 5) and the workload without a rate do not
    assert d[("P1", pd.Period("2020-12"))] == 1 and d[("P2", pd.Period("2020-12"))] == 1
    assert ("P2", pd.Period("2019-12")) not in d.index  # 3 users: below the minimum
    m = cs.deployments_metric(cs.eligible_deployments(usage, RATES, 5), "2020-12").set_index("partner_id")
    assert m.loc["P1", "deployments_metric"] == 0 and m.loc["P2", "deployments_metric"] == 1  # 1 - 1 and 1 - 0
    table = cs.customer_success(usage, RATES, 5, "2020-12", ["P1", "P2", "P3"]).set_index("partner_id")
    assert table.loc["P3", ["consumption_value", "deployments", "deployments_metric"]].tolist() == [0, 0, 0]
    assert table.loc["P2", "deployments_prev_year"] == 0


def test_data_as_of_and_report_month(usage):
    a = cs.data_as_of(usage, 20)
    assert a["last_month"] == pd.Period("2020-12") and a["refreshed_by"] == pd.Timestamp("2021-01-20")
    assert a["next_refresh"] == pd.Timestamp("2021-02-20")
    assert cs.report_month(usage, 2020) == pd.Period("2020-12") and cs.report_month(usage, 2021) == pd.Period("2020-12")
    assert cs.report_month(usage, 2019) == pd.Period("2019-12")


# ------------------------------------------------------------------ input contract
def test_partner_files_contracts(tmp_path):
    (tmp_path / "partners.csv").write_text("partner_id,name,tier\nP1,One,Gold\nP1,Again,\n")
    with pytest.raises(InputError) as err:
        validate(read_raw(tmp_path / "partners.csv"), PARTNERS)
    assert any("row 2 (line 3), column partner_id: 'P1'; expected a value that appears only once" in m for m in err.value.messages)
    (tmp_path / "usage.csv").write_text("customer_id,partner_id,month,workload,monthly_active_users\nC1,P1,2020-13,Power BI,3\nC1,P1,2020-12,Power BI,-1\n")
    with pytest.raises(InputError) as err:
        validate(read_raw(tmp_path / "usage.csv"), USAGE)
    assert err.value.messages == [
        "usage.csv row 1 (line 2), column month: '2020-13'; expected a month (YYYY-MM)",
        "usage.csv row 2 (line 3), column monthly_active_users: '-1'; expected a number >= 0",
    ]


def test_cross_file_checks_give_one_message_per_row():
    frames = {
        "partners.csv": pd.DataFrame({"partner_id": ["P1", "P2"]}),
        "accounts.csv": pd.DataFrame({"customer_id": ["C1"]}),
        "usage.csv": pd.DataFrame({"customer_id": ["C1", "C9", "C1"], "partner_id": ["P1", "P1", "P7"]}),
    }
    assert check_references(frames) == [
        "usage.csv row 3 (line 4), column partner_id: 'P7'; expected a partner_id listed in partners.csv",
        "usage.csv row 2 (line 3), column customer_id: 'C9'; expected a customer_id listed in accounts.csv",
    ]
    assert check_references({"usage.csv": frames["usage.csv"]}) == []  # only checked when both files are read


def test_load_programme_strips_personal_data_and_cross_checks(root, tmp_path):
    frames = pt.load_programme(root / "data" / "sample")
    survey = frames["partner_survey_responses.csv"]
    assert "contact_email" not in survey.columns and "contact_name" not in survey.columns
    for name in ("partners.csv", "usage.csv", "accounts.csv"):
        (tmp_path / name).write_bytes((root / "data" / "sample" / name).read_bytes())
    lines = (root / "data" / "sample" / "partner_survey_responses.csv").read_text().splitlines()
    cols = lines[0].split(",")
    row = lines[5].split(",")
    row[cols.index("partner_id")] = "P999"
    lines[5] = ",".join(row)
    (tmp_path / "partner_survey_responses.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as err:
        pt.load_programme(tmp_path)
    assert err.value.messages == ["partner_survey_responses.csv row 5 (line 6), column partner_id: 'P999'; expected a partner_id listed in partners.csv"]


def test_committed_partner_sample_is_what_the_generator_writes(root):
    from cxreport.sample import generate_accounts, generate_partner_programme

    for name, frame in generate_partner_programme(accounts=generate_accounts()).items():
        assert frame.to_csv(index=False).encode() == (root / "data" / "sample" / name).read_bytes(), name


def test_flagged_partners_lists_ids_per_limit():
    funnel = pd.DataFrame({"partner_id": ["A", "B", "C", "D", "E"],
                           "position": [pt.BELOW_998, pt.WITHIN, pt.ABOVE_95, pt.BELOW_998, pt.NOT_RANKED]})
    assert pt.flagged_partners(funnel) == {"below_998": ["A", "D"], "below_95": [], "above_95": ["C"], "above_998": []}

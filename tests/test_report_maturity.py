"""The cloud-maturity report model (cxreport.reports.cloud_maturity): hand-computed figures, the sample year, many input shapes.

Fast: no kernel, no papermill. Each shape is a contract-valid input folder
(tests/shapes.py) cut down to a few dozen customers so the matrix stays quick.
"""

import math
import re

import numpy as np
import pandas as pd
import pytest

from cxreport.inputs import InputError
from cxreport.reports import cloud_maturity as C
from cxreport.reports.base import jsonable, load_inputs
from cxreport.settings import load_settings
from sample_models import sample_model as shared_sample_model
from shapes import assert_headline_clean, only_required, sample_frames, write_folder

YEAR = 2020
SETTINGS = load_settings(YEAR)
BAD_WORDS = re.compile(r"\b(nan|NaN|inf|None|NaT)\b")
IDC = [0.23, 0.24, 0.16, 0.28, 0.09]


def build(folder, settings=SETTINGS, year=YEAR):
    return C.build(load_inputs(folder, C.INPUTS["requires"], C.INPUTS["optional"]), settings, year)


def texts(model) -> list[str]:
    """Every sentence the notebook prints from the model."""
    out = [model.fit_text, model.rubric_text, model.period, model.stage_list, model.weakest_text, model.movement_text,
           model.target_text, model.satisfaction_summary, model.revenue_text, model.plays_text]
    out += [seg.summary for seg in model.segments.values()]
    out += [part for card in model.kpis for part in card]
    return out


def check_model(model) -> None:
    """What must hold for every shape: clean headline, reasons for every None, shares that add up, clean prose."""
    head = jsonable(model.headline())
    assert_headline_clean(head, model.unknowns.reasons)
    assert set(head) >= {"year", "n_assessed", "n_unstaged", "rubric", "stages", "fit", "movement", "target"}
    assert [head["stages"][str(k)]["name"] for k in range(1, 6)] == model.stage_names
    assert sum(v["n"] for v in head["stages"].values()) == head["n_assessed"] == model.n_assessed > 0
    assert model.distribution["share_pct"].sum() == pytest.approx(100)
    assert model.distribution["benchmark_pct"].sum() == pytest.approx(100)
    assert abs(sum(v["pct"] for v in head["stages"].values()) - 100) <= 0.3
    mv = head["movement"]
    assert mv["moved_up"] + mv["stayed"] + mv["moved_down"] == mv["n"] == mv["n_both"]
    if mv["n"]:
        assert abs(mv["moved_up_pct"] + mv["stayed_pct"] + mv["moved_down_pct"] - 100) <= 0.2
    else:
        assert mv["moved_up_pct"] is None and "movement.moved_up_pct" in model.unknowns
    t = head["target"]
    assert t["expect_optimized_base"] == t["n"] and 0 <= t["expect_optimized"] <= t["n"]
    if not t["n"]:
        assert t["expect_optimized_pct"] is None and "target.expect_optimized_pct" in model.unknowns
    for seg in model.segments.values():
        if seg.table is None:
            assert seg.reason and "not available" in seg.reason
            continue
        shown = seg.table[~seg.table["suppressed"]]
        pct = shown[[f"pct_{n}" for n in model.stage_names]].sum(axis=1)
        assert np.allclose(pct, 100)
        hidden = seg.table[seg.table["suppressed"]]
        assert hidden[[f"pct_{n}" for n in model.stage_names] + ["mean_stage"]].isna().all().all()
        assert (shown["n"] >= model.min_group_size).all()
    for figure in ("satisfaction", "revenue_by_stage"):
        assert (getattr(model, figure) is None) == (figure in model.unknowns)
    if model.revenue_by_stage is not None:
        rev = model.revenue_by_stage
        assert rev["stage"].tolist() == [1, 2, 3, 4, 5] and rev["stage_name"].tolist() == model.stage_names
        assert str(rev["stage"].dtype).startswith("int")
        if not rev["suppressed"].any():
            assert rev["revenue_share_pct"].sum() == pytest.approx(100)
    for figure, reason in model.unknowns.reasons.items():
        assert reason and reason.endswith(".") and not BAD_WORDS.search(reason), figure
    for text in texts(model):
        assert isinstance(text, str) and not BAD_WORDS.search(text), text
    tables = model.tables()
    assert {"maturity_distribution", "maturity_dimension_profile", "maturity_weakest_by_stage", "maturity_next_plays",
            "maturity_accounts"} <= set(tables)
    assert model.accounts["customer_id"].is_unique and len(model.accounts) == model.n_latest


# ---------------------------------------------------------------- declarations
def test_declares_inputs_and_exactly_the_settings_it_reads(tmp_path):
    assert C.INPUTS == {"requires": ("maturity_assessments.csv", "accounts.csv"), "optional": ("survey_responses.csv", "revenue.csv")}
    assert C.CloudMaturity.SECTION == "maturity"

    class Recorder:
        def __init__(self, real):
            self.real, self.read = real, set()

        def __getattr__(self, name):
            self.read.add(name)
            return getattr(self.real, name)

    rec = Recorder(SETTINGS)
    build(write_folder(tmp_path, small_sample()), rec)  # with a survey and a ledger: every part of the report runs
    assert rec.read == set(C.SETTINGS)


# ---------------------------------------------------------------- hand-computed
def tiny_frames() -> dict[str, pd.DataFrame]:
    """Six accounts; 2019 and 2020 assessments on three dimensions, every figure known by hand."""
    accounts = pd.DataFrame({"customer_id": ["C1", "C2", "C3", "C4", "C5", "C6"], "name": list("ABCDEF"),
                             "industry": ["Retail"] * 6})
    rows = [  # customer, date, three dimension scores, target
        ("C1", "2019-04-01", 1, 1, 1, ""), ("C2", "2019-05-01", 2, 2, 2, ""),
        ("C1", "2020-04-01", 3, 3, 3, "5"),  # stage 3 (moved up from 1), target 5: gap 2
        ("C2", "2020-05-01", 2, 2, 2, "3"),  # stage 2 (stayed), target 3: gap 1
        ("C3", "2020-06-01", 5, 5, 5, "5"),  # stage 5, target 5: gap 0
        ("C4", "2020-02-01", 4, 4, 4, ""),  # stage 4, no target
        ("C5", "2020-03-01", 2, "", "", ""),  # one of three dimensions scored: not placed
    ]
    assessments = pd.DataFrame(rows, columns=["customer_id", "assessed_on", "m_strategy", "m_technology", "m_people", "target_stage"])
    return {"accounts.csv": accounts, "maturity_assessments.csv": assessments.astype(str)}


def test_hand_computed_tiny_book(tmp_path):
    m = build(write_folder(tmp_path, tiny_frames()))
    check_model(m)
    assert (m.n_latest, m.n_assessed, m.n_unstaged) == (5, 4, 1)
    assert m.distribution["n"].tolist() == [0, 1, 1, 1, 1] and m.distribution["share_pct"].tolist() == [0, 25, 25, 25, 25]
    expected = [4 * p for p in IDC]
    chi2 = sum((o - e) ** 2 / e for o, e in zip([0, 1, 1, 1, 1], expected))
    assert m.fit_statistic == pytest.approx(chi2) and m.fit_small_expected and m.fit_min_expected == pytest.approx(0.36)
    assert m.fit_p_value == pytest.approx(math.exp(-chi2 / 2) * (1 + chi2 / 2))  # chi-square, 4 df
    # movement: C1 1 -> 3 up, C2 2 -> 2 stayed
    assert (m.n_both, m.moved_up, m.stayed, m.moved_down) == (2, 1, 1, 0)
    assert (m.moved_up_pct, m.stayed_pct, m.moved_down_pct, m.mean_change) == (50, 50, 0, 1.0)
    # targets: C1 5 (gap 2), C2 3 (gap 1), C3 5 (gap 0)
    assert (m.target_n, m.expect_optimized) == (3, 2) and m.expect_optimized_pct == pytest.approx(200 / 3)
    assert m.mean_gap == 1.0 and m.mean_gap_sd == 1.0 and m.above_pct == pytest.approx(200 / 3)
    h = m.headline()
    assert h["target"] == {"n": 3, "expect_optimized": 2, "expect_optimized_base": 3, "expect_optimized_pct": 66.7,
                           "mean_gap": 1.0, "mean_gap_sd": 1.0}
    assert h["movement"]["moved_up_ci95"][0] < 50 < h["movement"]["moved_up_ci95"][1]
    # no survey, no ledger: reasons, not zeros
    assert m.satisfaction is None and "no survey file" in m.reason("satisfaction")
    assert m.revenue_by_stage is None and "revenue.csv" in m.reason("revenue_by_stage")
    # four customers: every segment and stage is under min_group_size (5)
    assert m.segments["industry"].hidden == ["Retail"] and m.segments["industry"].shown == 0
    assert m.profiled_stages.empty and "no stage is profiled" in m.weakest_text
    assert "company size information" in m.segments["company_size"].summary
    # the account list: biggest gap first, the unplaced customer last with the play to finish the assessment
    assert m.accounts["customer_id"].tolist()[:3] == ["C1", "C2", "C3"] and m.accounts["customer_id"].iloc[-1] == "C5"
    assert m.accounts.set_index("customer_id").loc["C5", "next_play"].startswith("Complete the maturity assessment")
    assert m.plays["next_play"].tolist() == [s.next_play for s in SETTINGS.maturity_stages.values()]


def test_no_assessment_in_the_year_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no assessment dated in 2021"):
        build(write_folder(tmp_path, tiny_frames()), year=2021)
    frames = tiny_frames()
    frames["maturity_assessments.csv"] = frames["maturity_assessments.csv"].assign(m_technology="", m_people="")
    with pytest.raises(InputError, match="none of the 5 customers assessed in 2020 has 3 or more scored dimensions"):
        build(write_folder(tmp_path / "b", frames))


def test_settings_come_from_params_and_overrides(tmp_path):
    folder = write_folder(tmp_path, tiny_frames())
    m = C.build_from_folder(folder, YEAR, {"min_group_size": 1, "maturity_accounts_shown": 2})
    assert m.min_group_size == 1 and m.accounts_shown == 2 and m.segments["industry"].shown == 1
    assert not m.profiled_stages.empty and "held back most by" in m.weakest_text


# ---------------------------------------------------------------- the sample year
# Before the report model (notebook run of 2020, metrics.json): every published figure.
SAMPLE_BEFORE = {
    "n_assessed": 1178, "n_unstaged": 2, "rubric": "weighted_mean",
    "stages": {"1": ("Ad Hoc", 250, 21.2, 23.0), "2": ("Opportunistic", 283, 24.0, 24.0), "3": ("Repeatable", 195, 16.6, 16.0),
               "4": ("Managed", 322, 27.3, 28.0), "5": ("Optimized", 128, 10.9, 9.0)},
    "fit": {"df": 4, "p_value": 0.1594, "significant": False, "small_expected": False, "statistic": 6.587},
    "movement": {"n": 864, "moved_up": 220, "stayed": 564, "moved_down": 80, "moved_up_pct": 25.5, "stayed_pct": 65.3,
                 "moved_down_pct": 9.3, "moved_up_ci95": [22.7, 28.5], "previous_year": 2019},
    "target": {"n": 1100, "expect_optimized_pct": 47.0, "mean_gap": 1.15},
}


@pytest.fixture(scope="module")
def sample_model(root):
    return shared_sample_model("cloud_maturity")  # built once per test process, shared with the chart and format tests


def test_sample_figures_unchanged(sample_model):
    m = sample_model
    check_model(m)
    h = jsonable(m.headline())
    assert h["year"] == YEAR
    for key in ("n_assessed", "n_unstaged", "rubric"):
        assert h[key] == SAMPLE_BEFORE[key]
    assert {k: (v["name"], v["n"], v["pct"], v["benchmark_pct"]) for k, v in h["stages"].items()} == SAMPLE_BEFORE["stages"]
    for section in ("fit", "movement", "target"):
        for key, value in SAMPLE_BEFORE[section].items():
            assert h[section][key] == value, f"{section}.{key}"
    # the raw figures added for comparisons
    assert h["movement"]["n_both"] == 864 and h["target"]["expect_optimized"] == 517 and h["target"]["expect_optimized_base"] == 1100
    assert h["fit"]["n"] == 1178 and 0 < h["target"]["mean_gap_sd"] < 2
    assert m.unknowns.reasons == {}
    # what the text says
    assert m.period == "assessed 15 January to 10 December 2020"
    assert m.fit_text.startswith("Our customers' spread over the stages is consistent with IDC's benchmark (chi-square test, p = 0.16)")
    assert m.survey_linked == 70 and m.satisfaction_text.startswith("Satisfaction rises with maturity")
    assert m.revenue_top_stage_name == "Managed" and round(m.revenue_top_share_pct, 1) == 43.1
    assert (round(m.arpa_min), round(m.arpa_max)) == (1163, 6291)
    assert set(m.tables()) == {
        "maturity_distribution", "maturity_by_industry", "maturity_by_company_size", "maturity_by_region",
        "maturity_dimension_profile", "maturity_weakest_by_stage", "maturity_transitions", "maturity_satisfaction_by_stage",
        "maturity_revenue_by_stage", "maturity_next_plays", "maturity_accounts"}
    rev = m.revenue_by_stage
    assert rev["stage"].tolist() == [1, 2, 3, 4, 5] and rev["stage_name"].tolist() == m.stage_names  # names, not 1.000000


# ---------------------------------------------------------------- shapes
def small_sample(n: int = 60, names=None) -> dict[str, pd.DataFrame]:
    """The sample cut to its first ``n`` accounts (accounts, assessments and ledger filtered to them), as text frames.

    The survey stays whole: its customer ids need not be accounts, so fewer respondents link.
    """
    frames = sample_frames("accounts.csv", "maturity_assessments.csv", "survey_responses.csv", "revenue.csv")
    keep = set(frames["accounts.csv"]["customer_id"].iloc[:n])
    return {name: f if name == "survey_responses.csv" else f[f["customer_id"].isin(keep)].reset_index(drop=True)
            for name, f in frames.items()}


def _only_required(f):
    return only_required(f)


def _one_dimension(f):
    a = f["maturity_assessments.csv"]
    f["maturity_assessments.csv"] = a.drop(columns=[c for c in a.columns if c.startswith("m_") and c != "m_strategy"])
    return f


def _only_report_year(f):
    a = f["maturity_assessments.csv"]
    f["maturity_assessments.csv"] = a[a["assessed_on"].str.startswith("2020")]
    return f


def _december_only(f):
    a = f["maturity_assessments.csv"]
    a = a[a["assessed_on"].str.startswith("2020")].drop_duplicates("customer_id", keep="last")
    f["maturity_assessments.csv"] = a.assign(assessed_on="2020-12-15")
    rev = f["revenue.csv"]
    f["revenue.csv"] = rev[rev["month"] == "2020-12"]
    f["survey_responses.csv"] = f["survey_responses.csv"][f["survey_responses.csv"]["survey_year"] == "2020"]
    return f


def _no_optimized(f):
    a = f["maturity_assessments.csv"]
    for c in [c for c in a.columns if c.startswith("m_")]:
        a[c] = a[c].replace("5", "3")
    return f


def _tiny_segments(f):
    return {k: v for k, v in small_sample(9).items()}


def _one_customer(f):
    frames = small_sample(400)
    a = frames["maturity_assessments.csv"]
    first = a.loc[a["assessed_on"].str.startswith("2020") & (a["m_strategy"] != ""), "customer_id"].iloc[0]
    return {k: v if k == "survey_responses.csv" else v[v["customer_id"] == first].reset_index(drop=True) for k, v in frames.items()}


def _no_survey_link(f):
    f["survey_responses.csv"] = f["survey_responses.csv"].drop(columns=["customer_id"])
    return f


def _no_survey(f):
    del f["survey_responses.csv"]
    return f


def _all_promoters(f):
    s = f["survey_responses.csv"]
    f["survey_responses.csv"] = s.assign(nps="10", csat="5")
    return f


def _blank_optionals(f):
    acc = f["accounts.csv"]
    for c in ("name", "partner_id", "industry", "company_size", "region"):
        acc.loc[acc.index % 2 == 0, c] = ""
    a = f["maturity_assessments.csv"]
    a["target_stage"] = ""
    a.loc[a.index % 3 == 0, "m_people"] = ""
    rev = f["revenue.csv"]
    rev.loc[rev.index % 2 == 0, ["product", "cost"]] = ""
    return f


def _ids_and_names(f):
    ids = {c: f"{i:03d}" for i, c in enumerate(f["accounts.csv"]["customer_id"], start=7)}  # 007, 008, ...
    for name, frame in f.items():
        frame["customer_id"] = frame["customer_id"].map(ids).fillna(frame["customer_id"])
    acc = f["accounts.csv"]
    acc["name"] = ["Müller & Søn", "東京 Cloud", "=SUM(A1)"] + acc["name"].iloc[3:].tolist()
    acc["industry"] = acc["industry"].where(acc.index % 2 == 0, "Öffentlicher Sektor & Co")
    return f


def _zero_amounts(f):
    rev = f["revenue.csv"]
    rev.loc[rev.index % 2 == 0, "amount"] = "0"
    return f


def _zero_revenue(f):
    f["revenue.csv"] = f["revenue.csv"].assign(amount="0")
    return f


SHAPES = {
    "only_required": _only_required, "one_dimension": _one_dimension, "only_report_year": _only_report_year,
    "december_only": _december_only, "stage_without_customers": _no_optimized, "tiny_segments": _tiny_segments,
    "one_customer": _one_customer, "no_survey_link": _no_survey_link, "no_survey": _no_survey,
    "all_promoters": _all_promoters, "blank_optionals": _blank_optionals, "ids_and_names": _ids_and_names,
    "zero_amounts": _zero_amounts, "zero_revenue": _zero_revenue,
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_shape_builds_clean(shape, tmp_path):
    frames = SHAPES[shape](small_sample())
    m = build(write_folder(tmp_path, frames))
    check_model(m)
    if shape == "only_required":
        assert all(seg.table is None for seg in m.segments.values())
        assert "accounts.csv has no industry information" in m.segments["industry"].summary
        assert m.target_n == 0 and "target stage" in m.target_text
        assert m.satisfaction is None and "customer_id" in m.reason("satisfaction")
        assert m.accounts["name"].isna().all()
    if shape == "one_dimension":
        assert m.dimensions.index.tolist() == ["m_strategy"] and "fewer than 1 scored dimensions" in m.rubric_text
    if shape in ("only_report_year", "december_only"):
        assert m.n_both == 0 and m.movement_detail is None and "2019" in m.movement_text
        assert "maturity_transitions" not in m.tables()
    if shape == "december_only":
        assert m.period == "assessed 15 December to 15 December 2020"
    if shape == "stage_without_customers":
        assert m.distribution["n"].iloc[4] == 0 and m.headline()["stages"]["5"]["pct"] == 0.0
        assert m.revenue_by_stage.loc[4, "customers"] == 0 and m.revenue_by_stage.loc[4, "suppressed"]
    if shape == "tiny_segments":
        assert any(seg.hidden for seg in m.segments.values()) and m.hidden_stages
    if shape == "one_customer":
        assert all(seg.shown == 0 for seg in m.segments.values() if seg.table is not None)
    if shape == "one_customer":
        assert m.n_assessed == 1 and m.distribution["n"].sum() == 1
    if shape in ("no_survey_link", "no_survey"):
        assert m.satisfaction is None and m.reason("satisfaction")
    if shape == "all_promoters" and m.satisfaction is not None:
        shown = m.satisfaction.dropna(subset=["nps"])
        assert (shown["nps"] == 100).all() and (shown["csat_mean"] == 5).all()
    if shape == "ids_and_names":
        assert "007" in set(m.accounts["customer_id"]) and "Müller & Søn" in set(m.accounts["name"])
        assert m.revenue_by_stage is not None
    if shape == "zero_revenue":
        assert m.revenue_by_stage is None and "no 2020 revenue" in m.reason("revenue_by_stage")


def test_unlabelled_dimension_is_named(tmp_path):
    frames = small_sample()
    frames["maturity_assessments.csv"]["m_data_platform"] = frames["maturity_assessments.csv"]["m_strategy"]
    m = build(write_folder(tmp_path, frames))
    check_model(m)
    assert m.unlabelled_dimensions == ["m_data_platform"] and m.dimensions.loc["m_data_platform", "label"] == "Data platform"

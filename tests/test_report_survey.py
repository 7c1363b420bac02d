"""The survey-scores report model: hand-computed figures, the published 2020 sample, and many contract-valid shapes.

Fast: no kernel, no papermill. Inputs are written with ``tests/shapes.py`` and
loaded as the pipeline loads them (:func:`cxreport.reports.base.load_inputs`).
"""

from __future__ import annotations

import dataclasses
import math
import re

import pandas as pd
import pytest
from sample_models import sample_model as shared_sample_model
from shapes import SAMPLE, assert_headline_clean, only_required, sample_frames, write_folder

from cxreport import survey
from cxreport.inputs import InputError
from cxreport.reports import survey_scores as ss
from cxreport.reports.base import jsonable, load_inputs
from cxreport.settings import settings_for

FILE = "survey_responses.csv"
YEAR = 2020
COLUMNS = ["respondent_id", "survey_year", "csat", "nps"]


@pytest.fixture(scope="module")
def settings():
    return settings_for(YEAR, {})


@pytest.fixture(scope="module")
def sample(settings):
    return shared_sample_model("survey_scores")  # default settings; built once per test process, shared


def build(tmp_path, frame: pd.DataFrame, settings, year: int = YEAR) -> ss.SurveyScores:
    folder = write_folder(tmp_path / "data", {FILE: frame.astype(str).replace({"nan": "", "None": ""})})
    return ss.build(load_inputs(folder, ss.INPUTS["requires"], ss.INPUTS["optional"]), settings, year)


def rows(year: int, csat, nps, start: int = 1, **extra) -> pd.DataFrame:
    out = pd.DataFrame({"respondent_id": [f"R{year}-{i:03d}" for i in range(start, start + len(csat))],
                        "survey_year": year, "csat": csat, "nps": nps})
    for k, v in extra.items():
        out[k] = v
    return out


# ---------------------------------------------------------------- the sample: the published 2020 survey
PUBLISHED = {  # today's metrics.json survey section (notebook before the report model), to the last digit
    "n": 70, "year": 2020, "warning": None,
    "csat": {"n": 70, "mean": 4.4, "ci95": [4.262935534978428, 4.537064465021572], "top2_pct": 95.7, "top2_ci95": [88.1, 98.5]},
    "nps": {"n": 70, "score": 57.142857142857146, "promoters_pct": 62.9, "passives_pct": 31.4, "detractors_pct": 5.7,
            "ci95": [43.103172110277434, 71.18254217543685], "ci_method": "wald", "previous_year": 2019,
            "previous": 54.09836065573771, "previous_n": 61, "change": 3.0444964871194387, "change_p_value": 0.7751,
            "change_significant": False},
}


def test_sample_reproduces_the_published_survey(sample):
    h = sample.headline()
    for key in ("n", "year", "warning"):
        assert h[key] == PUBLISHED[key]
    for section in ("csat", "nps"):
        for key, value in PUBLISHED[section].items():
            got = h[section][key]
            assert got == (pytest.approx(value, rel=1e-12) if isinstance(value, (float, list)) else value), f"{section}.{key}"
    assert round(h["csat"]["mean"], 1) == 4.4 and h["csat"]["top2_pct"] == 95.7
    assert round(h["nps"]["score"], 1) == 57.1 and round(h["nps"]["previous"], 1) == 54.1
    # the raw numbers a later comparison needs, unrounded
    assert h["csat"]["top2_count"] == 67 and h["csat"]["sd"] == pytest.approx(0.574834569775249)
    assert (h["nps"]["promoters"], h["nps"]["passives"], h["nps"]["detractors"]) == (44, 22, 4)
    assert (h["nps"]["previous_promoters"], h["nps"]["previous_passives"], h["nps"]["previous_detractors"]) == (37, 20, 4)
    assert h["nps"]["se"] == pytest.approx(7.163236234605814) and h["nps"]["previous_se"] == pytest.approx(7.887195318759082)
    assert h["nps"]["change_se"] == pytest.approx(math.hypot(h["nps"]["se"], h["nps"]["previous_se"]))
    assert_headline_clean(h)


def test_sample_model_facts(sample):
    m = sample
    assert (m.csat.n, m.nps.n, m.previous_n) == (70, 70, 61)
    assert m.csat.distribution["n"].tolist() == [0, 0, 3, 36, 31]
    assert (m.period_start.isoformat(), m.period_end.isoformat()) == ("2020-11-02", "2020-11-27")
    assert m.nps.rounded_shares_score == pytest.approx(57.2)
    assert (m.best_touchpoint, m.best_touchpoint_mean) == ("First few times using the service", 4.5)
    assert m.worst_touchpoint == "Handling invoices" and round(m.worst_touchpoint_mean, 1) == 3.7
    assert (m.first_year_n, m.experienced_n, m.tenure_lower, m.tenure_compared) == (17, 53, 5, 6)
    assert len(m.tenure_significant) == 5 and "Using the service trial" not in m.tenure_significant
    assert m.drivers_n == 57 and round(m.drivers_r2_pct) == 61 and m.top_driver == "First few times using the service"
    assert round(m.top_driver_pct) == 35 and m.drivers_caveat.startswith("Based on 57 respondents")
    assert (m.value_comments, m.improvement_comments) == (49, 32)
    assert list(m.value_quotes) == ["Ease of use", "Support", "Pricing and value"]
    assert m.change_text == "up 3.0 points (95% CI −17.8 to +23.9); not statistically significant (p = 0.775)"  # house number style
    assert m.unknowns.reasons == {}
    assert set(m.tables()) == {"survey_touchpoints", "survey_tenure_comparison", "survey_nps_by_year", "survey_key_drivers",
                               "survey_value_themes", "survey_improvement_themes"}
    assert m.tables()["survey_nps_by_year"]["survey_year"].tolist() == [2019, 2020]


def test_headline_matches_the_library_headline_the_summary_uses(sample, settings):
    """One definition: the model's headline is survey_metrics(survey_headline(...)), the summary's figures from data."""
    responses = sample.inputs[FILE]
    legacy = survey.survey_metrics(survey.survey_headline(
        responses, YEAR, confidence=settings.confidence, nps_method=settings.nps_ci_method,
        min_n=settings.min_group_size, small_sample_threshold=settings.small_sample_threshold))
    assert sample.headline() == jsonable(legacy)


def test_settings_are_exactly_what_the_model_reads():
    assert set(ss.SETTINGS) == {"organisation", "survey_title", "min_group_size", "small_sample_threshold", "confidence",
                                "nps_ci_method", "touchpoint_labels", "comment_themes", "quotes_per_theme", "quotes"}
    assert ss.SurveyScores.SECTION == "survey" and ss.INPUTS["requires"] == (FILE,)


def test_write_puts_tables_and_headline_where_the_pipeline_collects_them(sample, tmp_path):
    import json

    sample.write(tmp_path / "tables", tmp_path / "m.json")
    assert json.loads((tmp_path / "m.json").read_text())["survey"]["nps"]["promoters"] == 44
    assert (tmp_path / "tables" / "survey_touchpoints.csv").exists()


# ---------------------------------------------------------------- hand-computed figures on tiny frames
def test_hand_computed_wave(tmp_path, settings):
    frame = pd.concat([rows(2019, [4] * 5, [9, 9, 9, 7, 3]),
                       rows(2020, [5, 5, 4, 3, 2, None], [10, 9, 8, 6, 0, 9])])
    m = build(tmp_path, frame, settings)
    # CSAT: (5 + 5 + 4 + 3 + 2) / 5 = 3.8; 3 of 5 rated 4 or 5
    assert m.n == 6 and m.csat.n == 5 and m.csat.mean == pytest.approx(3.8) and m.csat.top2_count == 3
    assert m.csat.top2_pct == pytest.approx(60.0)
    assert m.csat.sd == pytest.approx(math.sqrt(((1.2**2) * 2 + 0.2**2 + 0.8**2 + 1.8**2) / 4))
    # NPS: 3 promoters, 1 passive, 2 detractors of 6 -> 100 * (3 - 2) / 6
    assert (m.nps.promoters, m.nps.passives, m.nps.detractors) == (3, 1, 2)
    assert m.nps.score == pytest.approx(100 / 6) and m.nps.method == "adjusted_wald"
    # previous: 3 promoters, 1 passive, 1 detractor of 5 -> 40; compared (both >= min_group_size 5)
    assert m.previous.score == pytest.approx(40.0) and m.change == pytest.approx(100 / 6 - 40)
    assert m.change_significant is False and 0 < m.change_p_value < 1
    h = m.headline()
    assert h["nps"]["change"] == pytest.approx(100 / 6 - 40) and h["nps"]["previous_promoters"] == 3
    assert h["warning"].startswith("Only 5 responses")  # the smaller base (CSAT 5) is under 10


def test_no_wave_in_the_year_is_an_input_error(tmp_path, settings):
    with pytest.raises(InputError) as err:
        build(tmp_path, rows(2019, [4] * 5, [9] * 5), settings)
    assert "survey_responses.csv: no responses with survey_year 2020 (column survey_year holds 2019)" in err.value.messages[0]


# ---------------------------------------------------------------- known defects, each fixed
def test_three_respondents_suppress_touchpoints_with_a_warning_not_a_crash(tmp_path, settings):
    """A 2020 wave of 3 respondents crashed cell 8 (every touchpoint suppressed -> shown.iloc[0])."""
    frame = sample_frames(FILE)[FILE]
    frame = pd.concat([frame[frame["survey_year"] == "2019"], frame[frame["survey_year"] == "2020"].head(3)])
    m = build(tmp_path, frame, settings)
    assert m.n == 3 and m.warning.startswith("Only 3 responses")
    assert m.touchpoints is not None and m.touchpoints["suppressed"].all() and m.touchpoints["mean"].isna().all()
    assert m.best_touchpoint is None and "No touchpoint has at least 5 answers" in m.unknowns.get("touchpoint_range")
    assert m.tenure_compared == 0 and m.unknowns.get("tenure_comparison")
    assert m.drivers is None and "Too few" in m.unknowns.get("key_drivers")
    assert m.previous is None and "fewer than the minimum group size of 5" in m.unknowns.get("nps.change")
    by_year = m.nps_by_year
    assert bool(by_year.loc[2020, "suppressed"]) and pd.isna(by_year.loc[2020, "promoters"])
    check_shape(m)


def test_all_promoters_no_detractors(tmp_path, settings):
    frame = pd.concat([rows(2019, [5] * 40, [10] * 40), rows(2020, [5] * 40, [9] * 20 + [10] * 20)])
    m = build(tmp_path, frame, settings)
    assert m.nps.score == 100 and m.nps.detractors == 0 and m.nps.detractors_pct == 0
    assert (m.nps.ci_low, m.nps.ci_high) == (100, 100)  # Wald at n >= 30: no spread
    assert m.change == 0 and m.change_significant is False and m.change_p_value is None
    assert "cannot be tested" in m.unknowns.get("nps.change_p_value")
    assert "no test is possible" in m.change_text and "nan" not in m.change_text
    assert m.csat.top2_pct == 100 and m.csat.sd == 0
    check_shape(m)
    small = build(tmp_path / "small", rows(2020, [5] * 12, [10] * 12), settings)  # adjusted Wald under 30
    assert small.nps.score == 100 and small.nps.ci_low < 100 and small.nps.ci_high == 100
    check_shape(small)


def test_only_required_columns_each_optional_section_says_it_is_not_available(tmp_path, settings):
    m = build(tmp_path, _bare(_sample_survey()), settings)
    assert m.n == 70 and round(m.nps.score, 1) == 57.1 and m.csat.top2_pct == pytest.approx(67 / 70 * 100)
    assert m.touchpoints is None and "no touchpoint ratings" in m.unknowns.get("touchpoints")
    assert m.tenure is None and "no touchpoint ratings" in m.unknowns.get("tenure")
    assert m.drivers is None and "no touchpoint ratings" in m.unknowns.get("key_drivers")
    assert m.value_themes is None and "no comment_value column" in m.unknowns.get("value_themes")
    assert m.improvement_themes is None and "no comment_improve column" in m.unknowns.get("improvement_themes")
    assert m.period_start is None and "submitted_at" in m.unknowns.get("period_start")
    assert set(m.tables()) == {"survey_nps_by_year"}
    check_shape(m)


def test_tenure_absent_but_touchpoints_present(tmp_path, settings):
    frame = sample_frames(FILE)[FILE].drop(columns=["tenure_years"])
    m = build(tmp_path, frame, settings)
    assert m.tenure is None and "no tenure information" in m.unknowns.get("tenure") and m.drivers is not None


def test_year_without_a_previous_wave(tmp_path, settings):
    frame = sample_frames(FILE)[FILE]
    m = build(tmp_path, frame[frame["survey_year"] == "2020"], settings)
    assert round(m.nps.score, 1) == 57.1
    assert m.previous is None and m.change is None and m.change_significant is None and m.previous_n == 0
    assert m.unknowns.get("nps.change") == "The survey file has no 2019 wave, so there is no year-over-year comparison."
    h = m.headline()
    assert h["nps"]["previous"] is None and h["nps"]["change_significant"] is None and h["nps"]["previous_n"] == 0
    check_shape(m)


def test_more_touchpoints_than_the_drivers_analysis_takes(tmp_path, settings):
    frame = rows(2020, [1, 2, 3, 4, 5] * 8, [0, 5, 7, 9, 10] * 8)
    for k in range(survey.MAX_DRIVERS + 1):
        frame[f"tp_t{k}"] = ([1, 2, 3, 4, 5] * 8)[k:] + ([1, 2, 3, 4, 5] * 8)[:k]
    m = build(tmp_path, frame, settings)
    assert m.drivers is None and "at most 15 touchpoints" in m.unknowns.get("key_drivers")
    assert len(m.touchpoints) == survey.MAX_DRIVERS + 1
    check_shape(m)


# ---------------------------------------------------------------- the shape matrix
def _sample_survey() -> pd.DataFrame:
    return sample_frames(FILE)[FILE]


def _bare(f):
    """The four required columns only: ``only_required`` keeps the tp_ family, which the survey contract makes optional."""
    f = only_required({FILE: f})[FILE]
    return f[[c for c in f.columns if not c.startswith("tp_")]]


def _first_year_only(f):
    return f[f["survey_year"] == "2020"]


def _first_year_december(f):
    f = f[f["survey_year"] == "2020"].copy()
    f["submitted_at"] = "2020-12-" + (f.reset_index().index % 28 + 1).map("{:02d}".format).to_numpy()
    return f


def _one_respondent(f):
    return f[f["survey_year"] == "2020"].head(1)


def _tiny_groups(f):  # 4 respondents in 2020, 4 in 2019: every group under min_group_size
    return pd.concat([f[f["survey_year"] == "2019"].head(4), f[f["survey_year"] == "2020"].head(4)])


def _all_promoters(f):
    f = f.copy()
    f["nps"] = "10"
    return f


def _blank_optional(f):
    f = f.copy()
    for col in [c for c in f.columns if c.startswith("tp_")] + ["tenure_years", "comment_value", "comment_improve",
                                                                "submitted_at", "customer_id"]:
        f[col] = ""
    return f


def _blank_answers(f):  # csat and nps may be blank: the year's answers skip both questions
    f = f.copy()
    f.loc[f["survey_year"] == "2020", ["csat", "nps"]] = ""
    return f


def _odd_ids_and_names(f):
    f = f.copy()
    f["respondent_id"] = [f"{i:03d}" for i in range(len(f))]  # leading zeros stay text
    f["customer_id"] = "007"
    f["comment_value"] = ["Müller & Søn: easy to use, 東京 support is great" if i % 2 else "東京のサポートは簡単" for i in range(len(f))]
    return f


def _one_tenure_group(f):  # every respondent experienced: the first-year group is empty
    f = f.copy()
    f["tenure_years"] = "3"
    return f


def _no_matching_comments(f):
    f = f.copy()
    f["comment_value"] = "Nothing to add"
    f["comment_improve"] = ""
    return f


SHAPES = {
    "sample": lambda f: f,
    "only required columns (and tp_)": lambda f: only_required({FILE: f})[FILE],
    "only the four required columns": _bare,
    "first year, no history": _first_year_only,
    "first year, answers in December": _first_year_december,
    "one respondent": _one_respondent,
    "tiny groups": _tiny_groups,
    "all promoters, no detractors": _all_promoters,
    "blank optional values": _blank_optional,
    "blank csat and nps in the year": _blank_answers,
    "ids with leading zeros, non-ASCII text": _odd_ids_and_names,
    "one tenure group": _one_tenure_group,
    "comments matching no theme": _no_matching_comments,
}

# Model fields that are None for "none to show", not for an unknown figure.
NOT_FIGURES = {"warning", "drivers_caveat", "inputs"}
# Model fields whose None is explained under another name.
REASON_NAMES = {
    "previous": ("nps.previous",), "change": ("nps.change",), "change_se": ("nps.change_se",),
    "change_ci_low": ("nps.change",), "change_ci_high": ("nps.change",), "change_p_value": ("nps.change_p_value",),
    "change_significant": ("nps.change_significant",), "change_text": ("nps.change",),
    "best_touchpoint": ("touchpoints", "touchpoint_range"), "best_touchpoint_mean": ("touchpoints", "touchpoint_range"),
    "worst_touchpoint": ("touchpoints", "touchpoint_range"), "worst_touchpoint_mean": ("touchpoints", "touchpoint_range"),
    "drivers": ("key_drivers",), "drivers_r2": ("key_drivers",), "drivers_r2_pct": ("key_drivers",),
    "top_driver": ("key_drivers",), "top_driver_pct": ("key_drivers",),
}
SUB = {"ci_low": "ci95", "ci_high": "ci95", "top2_ci_low": "top2_ci95", "top2_ci_high": "top2_ci95"}


def check_shape(m: ss.SurveyScores) -> None:
    """What every shape must give: a clean headline, shares that add up, and a reason for every None."""
    h = m.headline()
    assert_headline_clean(h)
    assert_headline_clean({k: v for k, v in h.items() if k != "warning"}, m.unknowns.reasons)
    assert h["warning"] is None or (isinstance(h["warning"], str) and h["warning"].startswith("Only "))
    if m.nps.n:
        assert m.nps.promoters_pct + m.nps.passives_pct + m.nps.detractors_pct == pytest.approx(100)
        assert m.nps.promoters + m.nps.passives + m.nps.detractors == m.nps.n
    if m.csat.n:
        assert m.csat.distribution["pct"].sum() == pytest.approx(100) and m.csat.distribution["n"].sum() == m.csat.n
    for f in dataclasses.fields(m):
        value = getattr(m, f.name)
        if f.name in NOT_FIGURES or f.name.startswith("_"):
            continue
        if value is None:
            names = REASON_NAMES.get(f.name, (f.name,))
            assert any(m.unknowns.get(n) for n in names), f"{f.name} is None without a reason"
        elif isinstance(value, float):
            assert math.isfinite(value), f"{f.name} is {value}"
    for part in ("csat", "nps", "previous"):
        obj = getattr(m, part)
        if obj is None:
            continue
        prefix = "nps" if part == "previous" else part
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if value is None:
                name = f"{prefix}.{SUB.get(f.name, f.name)}"
                assert m.unknowns.get(name), f"{part}.{f.name} is None without a reason"
            elif isinstance(value, float):
                assert math.isfinite(value), f"{part}.{f.name} is {value}"
    for reason in m.unknowns.reasons.values():
        assert reason.endswith(".") and not re.search(r"\b(nan|NaN|None|NaT|inf)\b", reason), reason
    for name, table in m.tables().items():
        assert isinstance(table, pd.DataFrame) and len(table.columns), name
    if m.touchpoints is not None:  # no touchpoint score under the minimum group size
        small = m.touchpoints["n"] < m.min_group_size
        assert m.touchpoints.loc[small, ["mean", "ci_low", "ci_high", "top2_pct"]].isna().all().all()
    shown = m.nps_by_year[~m.nps_by_year["suppressed"].astype(bool)]
    assert (shown["n"] >= m.min_group_size).all()


_SHAPE_MODELS: dict = {}


def shape_model(shape, tmp_path_factory, settings) -> ss.SurveyScores:
    """The model of a shape, built once per test process for the tests that only read it."""
    if shape not in _SHAPE_MODELS:
        _SHAPE_MODELS[shape] = build(tmp_path_factory.mktemp("shape"), SHAPES[shape](_sample_survey()), settings)
    return _SHAPE_MODELS[shape]


@pytest.mark.parametrize("shape", list(SHAPES))
def test_shape_builds_clean(shape, tmp_path_factory, settings):
    frame = SHAPES[shape](_sample_survey())
    m = shape_model(shape, tmp_path_factory, settings)
    check_shape(m)
    assert m.n == int((frame["survey_year"] == str(YEAR)).sum())


def test_shapes_with_a_smaller_group_size(tmp_path):
    """min_group_size 2 (small_sample_threshold 2): tiny groups are shown, the one respondent still is not."""
    s = settings_for(YEAR, {"min_group_size": 2, "small_sample_threshold": 2})
    tiny = build(tmp_path / "a", _tiny_groups(_sample_survey()), s)
    assert tiny.previous is not None and tiny.warning is None and tiny.best_touchpoint is not None
    check_shape(tiny)
    one = build(tmp_path / "b", _one_respondent(_sample_survey()), s)
    assert one.warning.startswith("Only 1 response:") and one.csat.ci_low is None and one.unknowns.get("csat.ci95")
    check_shape(one)


def test_quotes_off_shows_none(tmp_path):
    m = build(tmp_path, _sample_survey(), settings_for(YEAR, {"quotes": "off"}))
    assert m.value_quotes == {} and m.improvement_quotes == [] and m.value_themes is not None


def test_a_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="survey_responses.csv: file not found"):
        ss.build_from_folder(tmp_path, YEAR, {})


# ---------------------------------------------------------------- the notebook's sentences, cards and tables
TEXTS = ("title_text", "csat_text", "touchpoints_text", "touchpoints_hidden_text", "tenure_text", "tenure_hidden_text",
         "nps_text", "drivers_text", "value_text", "improvement_text", "rounding_text", "settings_text")
MAY_BE_EMPTY = {"touchpoints_hidden_text", "tenure_hidden_text", "rounding_text"}  # "" when there is nothing to say
# a missing value printed as text; "None of the gaps ..." is English, not a missing value
UNPRINTABLE = re.compile(r"\b(nan|NaN|NAN|NaT|inf|Inf|None(?! of the)|null)\b|<NA>")


def sentences(m: ss.SurveyScores) -> dict[str, str]:
    """Every sentence the notebook shows from the model: the text methods and each headline card."""
    out = {name: getattr(m, name)() for name in TEXTS}
    for label, value, detail in m.kpis():
        out[f"kpi {label}"] = f"{label}: {value} ({detail})"
    return out


def assert_sentences_clean(m: ss.SurveyScores) -> dict[str, str]:
    out = sentences(m)
    for name, text in out.items():
        assert isinstance(text, str), name
        assert text or name in MAY_BE_EMPTY, f"{name} is empty"
        assert not UNPRINTABLE.search(text), f"{name}: {text}"
    assert len(m.kpis()) == 4 and all(len(card) == 3 and all(card) for card in m.kpis())
    return out


# The sample's sentences exactly as the notebook showed them before they moved into the model.
SAMPLE_TEXTS = {
    "title_text": "# Partner Satisfaction Survey 2020\n**Contoso Cloud Services** · 70 respondents, collected 2 November to 27 "
                  "November 2020\n\nThis report shows how satisfied our partners are with the service overall and at each major "
                  "touchpoint, how likely they are to recommend it (Net Promoter Score), what drives their satisfaction, and what "
                  "they value most in their own words. Every figure comes with its sample size and, where it matters, a 95% "
                  "confidence interval: the range in which the true value for all partners most likely lies.",
    "csat_text": "**95.7%** of the 70 partners who answered rated their experience 4 or 5 (95% CI 88.1% to 98.5%), for an average "
                 "rating of **4.4 out of 5** (95% CI 4.26 to 4.54).",
    "touchpoints_text": "Average touchpoint ratings range from **3.7** (handling invoices) to **4.5** (first few times using the "
                        "service). Where two intervals overlap, the difference between those touchpoints may be chance.",
    "touchpoints_hidden_text": "",
    "tenure_text": "17 first-year and 53 experienced users answered. First-year users rate 5 of 6 touchpoints lower than experienced "
                   "users. The gap is statistically significant for: **understanding the service value and pricing, first few "
                   "times using the service, using the platform repeatedly, receiving support to solve issues, handling "
                   "invoices**, a clear pointer to the onboarding experience.",
    "tenure_hidden_text": "",
    "nps_text": "The NPS for 2020 is **57.1** (95% CI 43.1 to 71.2): 44 promoters (62.9%), 22 passives (31.4%) and 4 detractors "
                "(5.7%) among 70 answers. Compared with 2019 (54.1), the score is up 3.0 points (95% CI −17.8 to +23.9); not "
                "statistically significant (p = 0.775).",
    "drivers_text": "Together the touchpoints explain **61%** of the variation in overall satisfaction among the 57 partners who "
                    "rated all of them. The strongest driver is **first few times using the service** (35% of the explained "
                    "variation).",
    "value_text": "49 partners said what they value. **Ease of use** is mentioned most: by 41 of them (84%).",
    "improvement_text": "### What partners would improve\n32 partners suggested improvements. The themes they mention most: "
                        "onboarding and learning (11); monitoring and performance (10); automation and upgrades (4); support (4).",
    "rounding_text": "- **Rounding**: the NPS is computed from counts (44 − 4) / 70 = 57.14. Subtracting the rounded shares "
                     "(62.9% − 5.7%) would give 57.2, which is how some published reports arrive at a slightly different figure.",
    "settings_text": "- **Settings**: minimum group size 5; warning under 10 answers; confidence level 95%; NPS interval method: "
                     "wald.\n### Data used",
}
SAMPLE_KPIS = [("Overall satisfaction", "4.4 / 5", "95% CI 4.26–4.54, n = 70"), ("Rated 4 or 5", "95.7%", "95% CI 88.1–98.5%"),
               ("Net Promoter Score", "57.1", "95% CI 43.1 to 71.2, n = 70"), ("Change in NPS", "+3.0", "vs 2019 (not significant)")]


def test_sample_sentences_are_the_published_report(sample):
    assert {name: getattr(sample, name)() for name in TEXTS} == SAMPLE_TEXTS
    assert sample.kpis() == SAMPLE_KPIS
    assert sample.reason("nps.change") == "" and sample.tenure_groups == (survey.FIRST_YEAR, survey.EXPERIENCED)
    assert sample.value_lead["theme"] == "Ease of use" and sample.value_lead["mentions"] == 41
    assert_sentences_clean(sample)


def test_sample_tables_as_shown(sample):
    frame, caption, formats = sample.view("touchpoints")
    assert caption == "Confidence intervals at 95%"
    assert list(frame.columns) == ["Touchpoint", "n", "Average", "CI low", "CI high", "Rated 4-5 (%)"]
    assert formats == {"Average": "{:.2f}", "CI low": "{:.2f}", "CI high": "{:.2f}", "Rated 4-5 (%)": "{:.1f}"}
    assert frame["Touchpoint"].tolist() == sample.touchpoints["label"].tolist()
    assert frame["Average"].tolist() == sample.touchpoints["mean"].tolist()  # renamed, not recomputed
    frame, caption, formats = sample.view("drivers")
    assert list(frame.columns) == ["Touchpoint", "Importance (%)", "Correlation", "CI low", "CI high", "Average rating"]
    assert set(formats) == set(frame.columns) - {"Touchpoint"} and caption == "Confidence intervals at 95%"
    assert frame["Touchpoint"].iloc[0] == sample.top_driver and round(frame["Importance (%)"].iloc[0]) == 35
    with pytest.raises(KeyError):
        sample.view("nps_by_year")


def test_sentences_of_a_tiny_wave(tmp_path, settings):
    """Three answers, only the required columns, no earlier wave: numbers by hand, every section says why it is missing."""
    m = build(tmp_path, rows(2020, [5, 4, 2], [10, 8, 3]), settings)
    t = assert_sentences_clean(m)
    # CSAT: (5 + 4 + 2) / 3 = 3.67; 2 of 3 rated 4 or 5; Student-t interval on 2 degrees of freedom
    half = 4.302652729911275 * math.sqrt(((5 - 11 / 3) ** 2 + (4 - 11 / 3) ** 2 + (2 - 11 / 3) ** 2) / 2) / math.sqrt(3)
    low, high = f"{11 / 3 - half:.2f}", f"{11 / 3 + half:.2f}"
    assert (low, high) == ("-0.13", "7.46")
    assert t["csat_text"].startswith("**66.7%** of the 3 partners who answered rated their experience 4 or 5 (95% CI ")
    assert t["csat_text"].endswith(f"for an average rating of **3.7 out of 5** (95% CI {low.replace('-', '−')} to {high}).")
    assert "· 3 respondents\n\n" in t["title_text"] and "collected" not in t["title_text"]  # no submitted_at
    # NPS: one promoter (10), one passive (8), one detractor (3): 100 * (1 - 1) / 3 = 0
    assert t["nps_text"].startswith("The NPS for 2020 is **0.0** (95% CI ")
    assert ": 1 promoter (33.3%), 1 passive (33.3%) and 1 detractor (33.3%) among 3 answers. " in t["nps_text"]
    assert t["nps_text"].endswith("The survey file has no 2019 wave, so there is no year-over-year comparison.")
    assert t["rounding_text"].startswith("- **Rounding**: the NPS is computed from counts (1 − 1) / 3 = 0.00. ")
    assert "(33.3% − 33.3%) would give 0.0," in t["rounding_text"]
    assert m.kpis()[0] == ("Overall satisfaction", "3.7 / 5", f"95% CI {low.replace('-', '−')}–{high}, n = 3")
    assert m.kpis()[1][:2] == ("Rated 4 or 5", "66.7%") and m.kpis()[2][1] == "0.0"
    assert m.kpis()[3] == ("Change in NPS", "–", "no 2019 comparison")
    assert t["touchpoints_text"] == m.unknowns.get("touchpoints") and "no touchpoint ratings" in t["touchpoints_text"]
    assert t["tenure_text"] == m.unknowns.get("tenure") and t["drivers_text"] == m.unknowns.get("key_drivers")
    assert t["value_text"] == "The survey file has no comment_value column, so what they value is not available."
    assert t["improvement_text"] == ("### What partners would improve\nThe survey file has no comment_improve column, so what "
                                     "they would improve is not available.")
    assert t["settings_text"].endswith("NPS interval method: adjusted wald.\n### Data used")
    assert (t["touchpoints_hidden_text"], t["tenure_hidden_text"]) == ("", "")
    for name in ("touchpoints", "drivers"):
        with pytest.raises(ValueError, match="no touchpoint ratings"):
            m.view(name)


def test_sentences_of_three_sample_answers(tmp_path, settings):
    """The sample's 2019 wave and three 2020 answers: every breakdown suppressed, each sentence says so."""
    frame = sample_frames(FILE)[FILE]
    frame = pd.concat([frame[frame["survey_year"] == "2019"], frame[frame["survey_year"] == "2020"].head(3)])
    m = build(tmp_path, frame, settings)
    t = assert_sentences_clean(m)
    # CSAT 4, 5, 4: mean 4.3, all three rated 4 or 5; NPS 7, 10, 9: two promoters, one passive -> 100 * 2 / 3
    assert t["csat_text"].startswith("**100.0%** of the 3 partners who answered") and "**4.3 out of 5**" in t["csat_text"]
    assert t["nps_text"].startswith("The NPS for 2020 is **66.7** (95% CI ")
    assert "2 promoters (66.7%), 1 passive (33.3%) and 0 detractors (0.0%) among 3 answers." in t["nps_text"]
    assert t["nps_text"].endswith("The 2020 wave has 3 answers to the recommendation question, fewer than the minimum group "
                                  "size of 5, so it is not compared with 2019.")
    assert m.kpis()[3] == ("Change in NPS", "–", "no 2019 comparison")
    assert t["rounding_text"].startswith("- **Rounding**: the NPS is computed from counts (2 − 0) / 3 = 66.67.")
    assert t["touchpoints_text"] == "No touchpoint has at least 5 answers, so no touchpoint score is shown."
    labels = ", ".join(settings.touchpoint_labels.values())
    assert t["touchpoints_hidden_text"] == f"Not shown, fewer than 5 answers: {labels}."
    assert t["tenure_text"] == ("1 first-year and 2 experienced users answered. No touchpoint has at least 5 answers from "
                                "both first-year and experienced users, so none is compared.")  # tenure 4.3, 0.7, 5.1
    assert t["tenure_hidden_text"] == f"Touchpoints with fewer than 5 answers in a group are not compared: {labels}."
    assert t["drivers_text"] == m.unknowns.get("key_drivers") and "(2)" in t["drivers_text"]
    assert t["value_text"] == "2 partners said what they value. **Ease of use** is mentioned most: by 1 of them (50%)."
    assert t["improvement_text"].startswith("### What partners would improve\n2 partners suggested improvements. ")
    frame, _, _ = m.view("touchpoints")  # every row suppressed: shown blank, never a made-up 0
    assert frame["Average"].isna().all() and len(frame) == 6


def test_sentences_without_a_previous_wave(tmp_path, settings, sample):
    frame = sample_frames(FILE)[FILE]
    m = build(tmp_path, frame[frame["survey_year"] == "2020"], settings)
    t = assert_sentences_clean(m)
    assert t["nps_text"] == ("The NPS for 2020 is **57.1** (95% CI 43.1 to 71.2): 44 promoters (62.9%), 22 passives (31.4%) "
                             "and 4 detractors (5.7%) among 70 answers. The survey file has no 2019 wave, so there is no "
                             "year-over-year comparison.")
    assert m.kpis()[:3] == SAMPLE_KPIS[:3] and m.kpis()[3] == ("Change in NPS", "–", "no 2019 comparison")
    same = set(TEXTS) - {"nps_text"}  # nothing else depends on the earlier wave
    assert {k: t[k] for k in same} == {k: SAMPLE_TEXTS[k] for k in same}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_shape_sentences_clean(shape, tmp_path_factory, settings):
    """Every shape: each sentence is text with no missing value printed, and each table that exists can be shown."""
    m = shape_model(shape, tmp_path_factory, settings)
    t = assert_sentences_clean(m)
    assert bool(t["rounding_text"]) == bool(m.nps.n)
    for name, present in (("touchpoints", m.touchpoints is not None), ("drivers", m.drivers is not None)):
        if present:
            frame, caption, formats = m.view(name)
            assert set(formats) <= set(frame.columns) and "nan" not in caption
        else:
            with pytest.raises(ValueError):
                m.view(name)

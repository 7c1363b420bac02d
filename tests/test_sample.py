"""The sample data reproduces the published 2020 partner survey."""

import pandas as pd
import pytest

from cxreport import survey
from cxreport.inputs import load_survey
from cxreport.sample import generate_survey, write_sample


@pytest.fixture(scope="module")
def responses(root):
    return load_survey(root / "data" / "sample" / "survey_responses.csv")


def test_committed_sample_is_what_the_generator_writes(root, tmp_path):
    write_sample(tmp_path)
    assert (tmp_path / "survey_responses.csv").read_bytes() == (root / "data" / "sample" / "survey_responses.csv").read_bytes()


def test_2020_wave_reproduces_the_publication(responses):
    y = responses[responses["survey_year"] == 2020]
    assert len(y) == 70
    csat = survey.csat_summary(y["csat"])
    assert csat["distribution"] == {1: 0, 2: 0, 3: 3, 4: 36, 5: 31}
    assert round(csat["mean"], 1) == 4.4 and round(csat["top2_pct"], 1) == 95.7
    nps = survey.nps_summary(y["nps"])
    assert (nps.promoters, nps.passives, nps.detractors) == (44, 22, 4)
    assert round(nps.score, 1) == 57.1
    tp = survey.touchpoint_summary(y, min_n=5, confidence=0.95, sort=False).set_index("touchpoint")["mean"].round(1)
    assert tp.to_dict() == {
        "tp_value_pricing": 4.2, "tp_trial": 4.1, "tp_first_use": 4.5,
        "tp_repeated_use": 4.5, "tp_support": 3.9, "tp_invoicing": 3.7,
    }
    assert y["tp_trial"].isna().sum() > 0  # not everyone used the trial


def test_2019_wave_and_change(responses):
    prev = survey.nps_summary(responses.loc[responses["survey_year"] == 2019, "nps"])
    assert round(prev.score, 1) == 54.1
    head = survey.survey_headline(responses, 2020, confidence=0.95, nps_method="auto", min_n=5, small_sample_threshold=10)
    assert round(head["nps"]["change"], 1) == 3.0 and head["nps"]["change_significant"] is False


def test_first_year_users_rate_lower(responses):
    y = responses[responses["survey_year"] == 2020]
    seg = survey.tenure_segment(y["tenure_years"])
    tps = survey.touchpoint_columns(y)
    means = y[tps].mean(axis=1).groupby(seg, observed=True).mean()
    assert means[survey.FIRST_YEAR] < means[survey.EXPERIENCED]


def test_ease_dominates_value_comments(responses, root):
    from cxreport.comments import theme_counts
    from cxreport.params import read_yaml

    themes = read_yaml(root / "params" / "defaults.yaml")["comment_themes"]
    counts = theme_counts(responses.loc[responses["survey_year"] == 2020, "comment_value"], themes)
    assert counts.iloc[0]["theme"] == "Ease of use"


def test_sample_carries_personal_data_like_real_exports(root):
    raw = pd.read_csv(root / "data" / "sample" / "survey_responses.csv")
    assert raw["contact_email"].notna().sum() > 5
    assert raw["comment_improve"].str.contains("@", na=False).any() or raw["comment_value"].str.contains("@", na=False).any()
    assert raw["comment_improve"].str.contains(r"\+44", na=False).any()


def test_large_sets_keep_the_shape():
    big = generate_survey(respondents_per_year=7000)
    y = big[big["survey_year"] == 2020]
    assert len(y) == 7000 and y["respondent_id"].is_unique
    assert round(survey.nps_summary(y["nps"]).score, 1) == 57.1

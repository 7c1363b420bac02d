"""End to end on data shaped unlike the sample: every report builds, and no page shows "nan", "inf", "None" or "NaT"."""

import html as html_module
import json
import re

import pytest

from conftest import run_cli
from shapes import only_required, sample_frames, write_folder

pytestmark = pytest.mark.slow

# A value that leaked into prose or a table as Python or pandas would print it.
BAD_VALUE = re.compile(r"\b(nan|NaN|NaT|inf|Infinity)\b|\bNone\b(?! of)|-?\binf\b")


def visible_text(page: str) -> str:
    page = re.sub(r"(?is)<(style|script|svg)\b.*?</\1>", " ", page)
    page = re.sub(r'(?i)src="data:[^"]*"', " ", page)
    return html_module.unescape(re.sub(r"<[^>]+>", " ", page))


def hard_folder(path):
    """A first-year user's data: only required columns, a ledger that starts in the report year with no costs,
    a survey wave of three, one maturity dimension, one partner with no usage a year earlier."""
    frames = only_required(sample_frames())
    survey = frames["survey_responses.csv"]
    frames["survey_responses.csv"] = survey[survey["survey_year"] == "2020"].head(3)
    ledger = frames["revenue.csv"]
    frames["revenue.csv"] = ledger[ledger["month"] >= "2020-03"]
    mat = frames["maturity_assessments.csv"]
    frames["maturity_assessments.csv"] = mat[["customer_id", "assessed_on", "m_strategy"]]
    frames["partners.csv"] = frames["partners.csv"].head(1)
    pid = frames["partners.csv"]["partner_id"].iloc[0]
    ps = frames["partner_survey_responses.csv"]
    frames["partner_survey_responses.csv"] = ps[ps["partner_id"] == pid]
    usage = frames["usage.csv"]
    frames["usage.csv"] = usage[(usage["partner_id"] == pid) & (usage["month"] >= "2020-01")]
    return write_folder(path, frames)


@pytest.fixture(scope="module")
def hard_build(root, tmp_path_factory):
    data = hard_folder(tmp_path_factory.mktemp("hard"))
    out = tmp_path_factory.mktemp("out")
    proc = run_cli(root, "--year", "2020", "--data", str(data), "--out", str(out), "--formats", "html")
    assert proc.returncode == 0, proc.stderr[-4000:]
    return out / "2020"


def test_every_report_builds_on_a_first_year_with_minimal_columns(hard_build):
    run = json.loads((hard_build / "metrics.json").read_text())["run"]
    assert not run["skipped"] and not run["failed"]
    assert {r["name"] for r in run["reports"]} >= {"00_summary", "01_survey_scores", "02_cloud_maturity", "03_clv_churn",
                                                   "04_partner_programme", "05_partner_scorecard"}


def test_no_page_shows_an_undefined_value(hard_build):
    for page in sorted(hard_build.rglob("*.html")):
        text = visible_text(page.read_text(encoding="utf-8"))
        found = sorted({m.group(0) for m in BAD_VALUE.finditer(text)})
        assert not found, f"{page.relative_to(hard_build)} shows {found}"


def test_unknown_figures_are_null_not_zero(hard_build):
    metrics = json.loads((hard_build / "metrics.json").read_text())
    text = (hard_build / "metrics.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    revenue = metrics["revenue"]
    # No December 2019 book and no costs: growth, retention against last year and margins are unknown.
    assert revenue["mrr_growth_pct"] is None and revenue["nrr_pct"] is None
    assert revenue["expected_remaining_value"] is None or revenue["expected_remaining_value"] > 0

"""End to end: the executive summary in the shared sample build (runs last, links every report, one or two pages)."""

import json
import re

import pytest
from cxreport import summary as sm

pytestmark = pytest.mark.slow

YEAR = 2020


@pytest.fixture(scope="module")
def metrics(year_dir):
    return json.loads((year_dir / "metrics.json").read_text())


def test_summary_links_every_detailed_report(year_dir, metrics):
    html = (year_dir / "00_summary.html").read_text()
    reports = [r for r in metrics["run"]["reports"] if r["name"] != "00_summary" and "html" in r and "units" not in r]
    assert {r["name"] for r in reports} >= {"01_survey_scores", "02_cloud_maturity", "03_clv_churn", "04_partner_programme"}
    for r in reports:
        assert f'href="{r["html"]}"' in html and (year_dir / r["html"]).is_file()
    assert 'href="index.html"' in html  # the partner scorecards are listed in the year's index
    assert "Executive summary 2020" in html and "00_summary.html" in (year_dir / "index.html").read_text()


def test_summary_section_is_built_from_this_run(metrics):
    s = metrics["summary"]
    assert s["source"] == "this run" and s["year"] == YEAR and s["previous_year"] == YEAR - 1
    assert set(s["reports"]) == {"survey", "maturity", "revenue", "partners"}
    assert 3 <= len(s["findings"]) <= 5
    f = s["figures"]
    # the same figures as the reports (the summary computes nothing itself) and the survey's own NPS test
    assert f["nps"]["value"] == pytest.approx(metrics["survey"]["nps"]["score"], abs=1e-4)
    assert f["nps"]["p_value"] == metrics["survey"]["nps"]["change_p_value"] and f["nps"]["significant"] is False
    assert f["nrr"]["value"] == metrics["revenue"]["nrr_pct"] and "census" in f["nrr"]["test"]
    assert f["csat_index"]["value"] == pytest.approx(100 * 22 / 36, abs=1e-3) and f["churn"]["test"] == "two-proportion z-test"
    assert 2015 in s["trend_years"] and YEAR in s["trend_years"]  # the ledger's years


@pytest.mark.pdf
def test_summary_pdf_has_one_or_two_pages(year_dir):
    from pypdf import PdfReader

    reader = PdfReader(str(year_dir / "00_summary.pdf"))
    assert 1 <= len(reader.pages) <= 2
    text = "".join(p.extract_text() for p in reader.pages)
    assert "What stands out" in text and "Headline figures, 2020 against 2019" in text


def test_tables_written(year_dir):
    for name in ("summary_headlines", "summary_trends", "summary_stage_mix"):
        assert (year_dir / "tables" / f"{name}.csv").is_file()


def test_figures_rebuilt_from_the_data_equal_the_reports(root, metrics):
    """JupyterLab without a build: the report models built from the data give the reports' own figures."""
    from cxreport.reports import summary as report

    model = report.build_from_folder(root / "data" / "sample", YEAR, {})
    assert model.source == "data"
    for section in sm.SECTIONS:
        built = json.loads(json.dumps(report.jsonable(model.sections[section])))
        assert built == metrics[section], section  # the same model, the same headline
    assert re.match(r"P\d{3}", model.sections["partners"]["funnel"]["below_998"][0])

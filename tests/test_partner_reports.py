"""End to end: the partner-programme report and the per-partner scorecards of the shared sample build."""

import json
import re
import shutil

import nbformat
import pandas as pd
import pytest

from conftest import run_cli
from cxreport import partners as pt
from cxreport.survey import nps_summary

pytestmark = pytest.mark.slow

YEAR = 2020


@pytest.fixture(scope="module")
def sample(root):
    return pt.load_programme(root / "data" / "sample")


def test_headline_figures(year_dir, sample):
    m = json.loads((year_dir / "metrics.json").read_text())["partners"]
    survey = sample["partner_survey_responses.csv"]
    current = survey[survey["submitted_at"].dt.year == YEAR]
    assert m["responses"] == len(current) and m["partners"] == len(sample["partners.csv"]) == 36
    expected = nps_summary(current["nps"])
    assert m["nps"]["score"] == pytest.approx(expected.score) and m["nps"]["n"] == expected.n  # unrounded since the report model
    # the sample's designed outliers are the ones the funnel plot flags
    assert m["funnel"]["below_998"] == ["P004"] and m["funnel"]["above_998"] == ["P006"]
    assert m["csat_index"]["met"] + m["csat_index"]["not_met"] == 36 and 0 < m["csat_index"]["met"] < 36
    assert m["csat_index"]["answers_not_counted"] >= 4  # one customer of P002 answers a dozen times
    assert m["csat_index"]["q4_share_pct"] > 25  # the fourth-quarter crunch
    assert m["customer_success"]["month"] == "2020-12" and m["customer_success"]["refreshed_by"] == "2021-01-20"


def test_tables(year_dir):
    t = year_dir / "tables"
    by_quarter = pd.read_csv(t / "partners_nps_by_quarter.csv")
    assert len(by_quarter) == 36 * 8 and by_quarter["quarter"].min() == "2019Q1"
    ci = pd.read_csv(t / "partners_csat_index.csv").set_index("partner_id")
    assert (ci["counted"] <= ci["responses"]).all() and ci.loc["P002", "not_counted"] > 0
    assert set(ci["status"]) <= {"met", "missed"}  # the year is over
    success = pd.read_csv(t / "partners_customer_success.csv")
    assert len(success) == 36 and (success["deployments_metric"] == success["deployments"] - success["deployments_prev_year"]).all()
    funnel = pd.read_csv(t / "partners_funnel.csv")
    assert (funnel.loc[funnel["n"] < 10, "position"] == pt.NOT_RANKED).all()
    for name in ("partners_nps_trend", "partners_csat_index_checkpoint", "partners_responses_by_month"):
        assert (t / f"{name}.csv").exists()


def test_every_partner_gets_a_scorecard_linked_from_the_index(year_dir, built_formats, sample):
    ids = sample["partners.csv"]["partner_id"].tolist()
    for ext in ("ipynb", *built_formats):
        assert sorted(p.stem for p in (year_dir / "partners").glob(f"*.{ext}")) == ids
    index = (year_dir / "index.html").read_text()
    assert all(f'href="partners/{pid}.{ext}"' in index for pid in ids for ext in built_formats)
    assert "04_partner_programme.html" in index
    nb = nbformat.read(str(year_dir / "partners" / "P006.ipynb"), as_version=4)
    assert any("injected-parameters" in c.metadata.get("tags", []) and 'partner_id = "P006"' in c.source for c in nb.cells)


def test_scorecard_compares_without_naming_other_partners(year_dir, sample):
    names = dict(zip(sample["partners.csv"]["partner_id"], sample["partners.csv"]["name"]))
    html = (year_dir / "partners" / "P006.html").read_text()
    assert names["P006"] in html and "Programme" in html and "ranked partners" in html
    others = [n for pid, n in names.items() if pid != "P006" and n not in names["P006"]]
    assert not [n for n in others if n in html], "a scorecard must not name other partners"
    assert not re.search(r"P0(?!06)\d\d", html)


def test_small_partner_scorecard_says_so(year_dir, sample):
    survey = sample["partner_survey_responses.csv"]
    counts = survey[survey["submitted_at"].dt.year == YEAR]["partner_id"].value_counts()
    small = counts[counts < 10].index[0]
    html = (year_dir / "partners" / f"{small}.html").read_text()
    assert "too few for a stable score" in html and "Net Promoter Score" not in html


def test_partner_survey_contacts_never_reach_the_outputs(built_sample, root):
    raw = pd.read_csv(root / "data" / "sample" / "partner_survey_responses.csv", dtype=str)
    emails = set(raw["contact_email"].dropna())
    assert emails
    for path in built_sample[0].rglob("*"):
        if path.is_file() and path.suffix in (".html", ".ipynb", ".csv", ".json"):
            text = path.read_text(errors="ignore")
            assert not any(e in text for e in emails), f"contact data leaked into {path}"


def test_a_failing_scorecard_names_the_partner_and_keeps_the_others(root, tmp_path):
    """Three partners; the scorecard of P002 fails: the others are published, P002 is named and kept, exit code 1."""
    proj = tmp_path / "proj"
    (proj / "notebooks").mkdir(parents=True)
    (proj / "params").mkdir()
    nb = nbformat.read(str(root / "notebooks" / "05_partner_scorecard.ipynb"), as_version=4)
    boom = nbformat.v4.new_code_cell('if partner_id == "P002":\n    raise RuntimeError("scorecard broke for P002")')
    boom["id"] = "boom"
    nb.cells.insert(1, boom)
    nbformat.write(nb, str(proj / "notebooks" / "05_partner_scorecard.ipynb"))
    shutil.copy(root / "params" / "defaults.yaml", proj / "params" / "defaults.yaml")
    data = tmp_path / "data"
    data.mkdir()
    keep = ["P001", "P002", "P028"]
    for name in ("partners.csv", "partner_survey_responses.csv", "usage.csv"):
        df = pd.read_csv(root / "data" / "sample" / name, dtype=str, keep_default_na=False)
        df[df["partner_id"].isin(keep)].to_csv(data / name, index=False)
    shutil.copy(root / "data" / "sample" / "accounts.csv", data / "accounts.csv")
    out = tmp_path / "out"
    proc = run_cli(proj, "--year", str(YEAR), "--data", str(data), "--out", str(out), "--formats", "html")
    assert proc.returncode == 1
    assert "partner P002" in proc.stderr and "scorecard broke for P002" in proc.stderr
    year = out / str(YEAR)
    assert (year / "partners" / "P001.html").exists() and (year / "partners" / "P028.html").exists()
    assert not (year / "partners" / "P002.html").exists()
    assert (out / "_failed" / str(YEAR) / "partners" / "P002.ipynb").exists()
    index = (year / "index.html").read_text()
    assert "P002" in index and "failed" in index and "scorecard broke for P002" in index
    assert re.search(r"\[\d/3\] 05_partner_scorecard/P00\d: done", proc.stderr)  # progress per scorecard

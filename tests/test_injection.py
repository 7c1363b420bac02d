"""Hostile text in every text field of every input reaches the reports only as escaped text, never as markup or formulas."""

import re
import shutil
import zipfile

import openpyxl
import pandas as pd
import pytest

from conftest import run_cli

pytestmark = pytest.mark.slow

IMG = '<img src="http://attacker.example/pixel.png" onerror=alert(1)>'
SCRIPT = "<script>alert('x')</script>"
LINK = "[click me](javascript:alert(1))"
FORMULA = '=HYPERLINK("http://attacker.example","open")'
DDE = "=cmd|' /C calc'!A0"
PAYLOADS = (IMG, SCRIPT, LINK, FORMULA, DDE)
KEEP_PARTNERS = ["P001", "P002", "P003", "P004"]


def _poison(series: pd.Series) -> pd.Series:
    """Each value gets a payload appended (or replaced), cycling through them, so every field carries every kind."""
    out = series.astype("string").copy()
    for i, idx in enumerate(out.index):
        if pd.notna(out[idx]):
            p = PAYLOADS[i % len(PAYLOADS)]
            out[idx] = p if p in (FORMULA, DDE) else f"{out[idx]} {p}"
    return out


@pytest.fixture(scope="module")
def poisoned_build(root, tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    src = root / "data" / "sample"
    for name in ("survey_responses.csv", "maturity_assessments.csv", "revenue.csv"):
        shutil.copy(src / name, data / name)
    read = lambda n: pd.read_csv(src / n, dtype=str, keep_default_na=False)  # noqa: E731
    partners = read("partners.csv")
    partners = partners[partners["partner_id"].isin(KEEP_PARTNERS)].copy()
    for col in ("name", "region", "tier"):
        partners[col] = _poison(partners[col])
    partners.to_csv(data / "partners.csv", index=False)
    accounts = read("accounts.csv")
    for col in ("name", "industry", "company_size", "region"):
        accounts[col] = _poison(accounts[col])
    accounts.to_csv(data / "accounts.csv", index=False)
    survey = read("partner_survey_responses.csv")
    survey[survey["partner_id"].isin(KEEP_PARTNERS)].to_csv(data / "partner_survey_responses.csv", index=False)
    usage = read("usage.csv")
    usage = usage[usage["partner_id"].isin(KEEP_PARTNERS)].copy()
    usage.loc[usage["workload"] == "Power Apps", "workload"] = f"Power Apps {IMG}"
    usage.to_csv(data / "usage.csv", index=False)
    survey = read("survey_responses.csv")
    for col in ("comment_value", "comment_improve"):
        survey[col] = survey[col].where(survey[col] == "", survey[col] + " easy " + SCRIPT)
    survey.to_csv(data / "survey_responses.csv", index=False)
    out = tmp_path_factory.mktemp("out")
    proc = run_cli(root, "--year", "2020", "--data", str(data), "--out", str(out), "--formats", "html",
                   "--set", "quotes_per_theme=40")
    assert proc.returncode == 0, proc.stderr
    return out / "2020"


def test_no_payload_is_live_markup_in_any_page(poisoned_build):
    pages = sorted(poisoned_build.rglob("*.html"))
    assert len(pages) >= 6 + len(KEEP_PARTNERS)
    seen_escaped = 0
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert "<img src=\"http://attacker" not in html and "<script>alert" not in html, page.name
        assert not re.search(r"""(src|href)\s*=\s*["']?\s*(javascript:|https?:|//)""", html, re.I), page.name
        seen_escaped += html.count("&lt;img src=")
        assert 'http-equiv="Content-Security-Policy"' in html
    assert seen_escaped > 0  # the payloads are there, as text


def test_no_formula_from_data_in_the_tables(poisoned_build):
    for csv in (poisoned_build / "tables").glob("*.csv"):
        frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
        for col in frame.columns:
            assert not frame[col].str.startswith(("=", "@")).any(), (csv.name, col)
    book = openpyxl.load_workbook(poisoned_build / "tables.xlsx")
    formulas = [(ws.title, c.coordinate) for ws in book for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert not formulas
    with zipfile.ZipFile(poisoned_build / "tables.xlsx") as z:
        assert not any("<f>" in z.read(n).decode("utf-8", "ignore") for n in z.namelist() if n.startswith("xl/worksheets/"))

"""Small groups stay anonymous everywhere: one suppression rule, by hand and end to end.

A security review found that a partner with one answer in 2020 had its LTR (7.0) and NSAT (100) published in
the programme report's tables and CSVs, which says the answer was 7 and 4. The rule
(:func:`cxreport.suppression.suppress_small_groups`): a group under ``min_group_size`` answers shows no score
anywhere; headline warnings use ``small_sample_threshold``.
"""

import json
import math
import re
import shutil

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pandas as pd
import pytest

from cxreport import partner_charts as charts
from cxreport import partners as pt
from cxreport import survey
from cxreport.suppression import fewer_than, small_groups, suppress_small_groups

from conftest import run_cli

# the settings these functions take (written once, in params/defaults.yaml; spelled out here for the hand-computed cases)
NSAT_MAPPING = {5: "very_satisfied", 4: "somewhat_satisfied", 3: "somewhat_dissatisfied", 2: "very_dissatisfied", 1: "very_dissatisfied"}
LEVELS = (0.95, 0.998)
CI = {"confidence": 0.95, "method": "auto"}

# The settings of params/defaults.yaml that a survey headline takes.
HEADLINE = {"confidence": 0.95, "nps_method": "auto", "min_n": 5, "small_sample_threshold": 10}



def answers(rows):
    """rows: (partner_id, customer_id, date, nps, csat)."""
    df = pd.DataFrame(rows, columns=["partner_id", "customer_id", "submitted_at", "nps", "csat"])
    df["submitted_at"] = pd.to_datetime(df["submitted_at"])
    df["respondent_id"] = [f"r{i:03d}" for i in range(len(df))]
    df["nps"] = df["nps"].astype("Int64")
    df["csat"] = df["csat"].astype("Int64")
    return df


# ------------------------------------------------------------------ the rule, by hand
@pytest.fixture
def groups():
    return pd.DataFrame({
        "group": ["one", "none", "big", "four", "five"],
        "n": [1, 0, 12, 4, 5],
        "nps": [0.0, np.nan, 25.0, 50.0, -20.0],
        "ltr": [7.0, np.nan, 8.1, 9.0, 6.4],
        "promoters": [0, 0, 5, 2, 1],
        "position": ["not ranked", "not ranked", "within", "not ranked", "not ranked"],
    })


def test_scores_of_groups_under_the_threshold_are_blank(groups):
    out = suppress_small_groups(groups, "n", ["nps", "ltr", "promoters", "position"], 5)
    # threshold 5: n = 1, 0 and 4 are under it; 12 and 5 (exactly the threshold) are shown
    assert out["suppressed"].tolist() == [True, True, False, True, False]
    assert out["nps"].isna().tolist() == [True, True, False, True, False]
    assert out.loc[2, ["nps", "ltr", "promoters"]].tolist() == [25.0, 8.1, 5.0]
    assert out.loc[4, ["nps", "ltr", "promoters"]].tolist() == [-20.0, 6.4, 1.0]
    assert out["position"].tolist() == [None, None, "within", None, "not ranked"]
    assert out["n"].tolist() == [1, 0, 12, 4, 5]  # counts stay numbers unless asked
    assert out["group"].tolist() == groups["group"].tolist()
    assert groups["nps"].notna().sum() == 4 and "suppressed" not in groups  # the input is untouched


def test_counts_of_small_groups_read_fewer_than(groups):
    out = suppress_small_groups(groups, "n", ["nps"], 5, mark_count=True)
    assert out["n"].tolist() == ["fewer than 5", 0, 12, "fewer than 5", 5]  # a zero count stays 0: no one to protect
    assert fewer_than(10) == "fewer than 10"
    again = suppress_small_groups(out, "n", ["nps", "ltr"], 5, mark_count=True)  # applying it twice changes nothing more
    assert again["n"].tolist() == out["n"].tolist() and again["ltr"].isna().tolist() == [True, True, False, True, False]


def test_threshold_flag_and_missing_columns(groups):
    out = suppress_small_groups(groups, "n", ["ltr", "not_a_column"], 2, flag="hidden")
    # threshold 2: only n = 1 and n = 0 are under it
    assert out["hidden"].tolist() == [True, True, False, False, False] and "suppressed" not in out
    assert out["ltr"].tolist()[2:] == [8.1, 9.0, 6.4] and math.isnan(out["ltr"].iloc[0])
    flagged = groups.assign(suppressed=[False, False, True, False, False])  # an existing flag stays set
    assert suppress_small_groups(flagged, "n", ["nps"], 5)["suppressed"].tolist() == [True, True, True, True, False]
    assert suppress_small_groups(groups, "n", ["nps"], 0)["nps"].notna().sum() == 4  # threshold 0 hides nothing
    assert small_groups(pd.Series([3, None, "fewer than 5", 7]), 5).tolist() == [True, True, True, False]


# ------------------------------------------------------------------ headline warnings follow small_sample_threshold
def test_small_sample_warning_respects_the_threshold():
    assert survey.small_sample_warning(9, 10) and survey.small_sample_warning(10, 10) is None
    assert survey.small_sample_warning(50, 100).startswith("Only 50 responses")
    assert survey.small_sample_warning(100, 100) is None and survey.small_sample_warning(3, 2) is None


def test_survey_headline_warning_uses_the_parameter():
    responses = pd.DataFrame({"survey_year": [2020] * 20, "csat": [4] * 20, "nps": [9] * 10 + [5] * 10})
    assert survey.survey_headline(responses, 2020, **HEADLINE)["warning"] is None  # 20 answers, threshold 10
    assert "Only 20 responses" in survey.survey_headline(responses, 2020, **{**HEADLINE, "small_sample_threshold": 100})["warning"]
    assert survey.survey_headline(responses, 2020, **{**HEADLINE, "small_sample_threshold": 20})["warning"] is None


# ------------------------------------------------------------------ partners
@pytest.fixture
def programme():
    rows = ([("A", f"a{i}", "2020-03-01", 10, 5) for i in range(8)] + [("A", f"a{i}", "2020-03-01", 8, 4) for i in range(8, 10)]
            + [("B", f"b{i}", "2020-03-01", 9, 5) for i in range(2)] + [("B", f"b{i}", "2020-03-01", 7, 4) for i in range(2, 6)]
            + [("B", f"b{i}", "2020-03-01", 2, 1) for i in range(6, 10)]
            + [("C", "c1", "2020-03-01", 7, 4)])  # C: one answer, 7 and 4
    return answers(rows)


def test_funnel_suppresses_small_partners_but_keeps_the_programme(programme):
    table, summary = pt.nps_funnel(programme, ["A", "B", "C", "D"], LEVELS, adjust_overdispersion=False, min_rank_n=10, min_n=5)
    t = table.set_index("partner_id")
    # programme from all 21 answers: 10 promoters, 7 passives (A's two 8s, B's four 7s, C's 7), 4 detractors -> 100 * 6/21
    assert summary["target"] == pytest.approx(600 / 21) and summary["target_n"] == 21
    assert summary["suppressed"] == 1 and summary["min_n"] == 5  # C; D has no answers
    c = t.loc["C"]
    assert c["n"] == 1 and c["suppressed"] and c["position"] == pt.NOT_RANKED
    assert all(np.isnan(c[k]) for k in ("nps", "ltr", "z", "rank", "percentile", "lower_95", "upper_95", "lower_99.8", "upper_99.8"))
    assert t.loc["A", "nps"] == 80 and t.loc["A", "ltr"] == pytest.approx(9.6) and not t.loc["A", "suppressed"]
    # a ranking threshold under min_group_size does not rank (or flag) a small partner
    low, s = pt.nps_funnel(programme, None, LEVELS, adjust_overdispersion=False, min_rank_n=1, min_n=5)
    assert low.set_index("partner_id").loc["C", "position"] == pt.NOT_RANKED and s["ranked"] == 2


def test_funnel_chart_does_not_plot_small_partners(programme):
    table, summary = pt.nps_funnel(programme, ["A", "B", "C", "D"], LEVELS, adjust_overdispersion=False, min_rank_n=10, min_n=5)
    assert charts.plotted_partners(table)["partner_id"].tolist() == ["A", "B"]
    # a table without the flag: min_n applies the rule again
    raw, _ = pt.nps_funnel(programme, ["A", "B", "C"], LEVELS, adjust_overdispersion=False, min_rank_n=10, min_n=1)
    assert charts.plotted_partners(raw.drop(columns="suppressed"), 5)["partner_id"].tolist() == ["A", "B"]
    for highlight in (None, "A"):
        fig = charts.funnel_plot(table, summary, highlight=highlight)
        points = np.concatenate([c.get_offsets() for c in fig.axes[0].collections if len(c.get_offsets())])
        assert 1 not in points[:, 0].tolist()  # no dot at C's one answer
        plt.close(fig)


def test_csat_index_keeps_counts_and_suppresses_nsat(programme):
    ci = pt.csat_index(programme, 2020, ["A", "B", "C", "D"], NSAT_MAPPING, 10, 8, as_of="2020-12-31", min_n=5).set_index("partner_id")
    # C: one counted answer (4 -> somewhat satisfied): NSAT would be 0 - 0 + 100 = 100; suppressed
    c = ci.loc["C"]
    assert (c["responses"], c["counted"], c["nsat_n"], c["needed"], c["status"]) == (1, 1, 1, 9, "missed")
    assert c["suppressed"] and np.isnan(c["nsat"]) and np.isnan(c["very_satisfied_pct"]) and np.isnan(c["dissatisfied_pct"])
    # A: 8 fives and 2 fours -> 80% very satisfied, none dissatisfied -> NSAT 180; B: 2 fives, 4 fours, 4 ones -> 20 - 40 + 100 = 80
    assert ci.loc["A", "nsat"] == pytest.approx(180) and ci.loc["B", "nsat"] == pytest.approx(80)
    assert ci.loc["A", "status"] == "met" and not ci.loc["A", "suppressed"]
    assert pt.csat_index(programme, 2020, ["C"], NSAT_MAPPING, 10, 8, min_n=1).iloc[0]["nsat"] == pytest.approx(100)  # the leak the rule closes


def test_quarter_table_as_published_hides_the_answers_categories():
    rows = [("A", f"a{i}", "2020-02-01", 10, 5) for i in range(6)] + [("A", "a9", "2020-05-01", 7, 4)]
    t = pt.nps_by_partner_quarter(answers(rows), **CI, min_n=5)
    q2 = t.set_index("quarter").loc[pd.Period("2020Q2")]
    assert q2["suppressed"] and np.isnan(q2["nps"]) and q2["passives"] == 1  # kept for pooling, never published
    pub = pt.publishable(t, 5).set_index("quarter")
    q1, q2 = pub.loc[pd.Period("2020Q1")], pub.loc[pd.Period("2020Q2")]
    # Q2 has one answer: its n stays, its categories and scores go; Q1 (6 promoters) and the rolling year (7) are shown
    assert q2["n"] == 1 and all(np.isnan(q2[k]) for k in ("promoters", "passives", "detractors", "nps", "ltr", "csat"))
    assert q1["promoters"] == 6 and q1["nps"] == 100
    assert q2["t4q_n"] == 7 and q2["t4q_passives"] == 1 and q2["t4q_nps"] == pytest.approx(600 / 7)
    shown = pt.publishable(t, 5, mark_count=True).set_index("quarter")
    assert shown.loc[pd.Period("2020Q2"), "n"] == "fewer than 5" and shown.loc[pd.Period("2020Q1"), "n"] == 6


def test_trend_suppresses_each_year_on_its_own_base():
    rows = [("A", f"c{i}", "2019-05-01", 10, 5) for i in range(2)] + [("A", f"d{i}", "2020-05-01", 3, 2) for i in range(6)]
    t = pt.nps_by_partner_quarter(answers(rows), **CI, min_n=5)
    trend = pt.nps_trend(t, "2020Q2", 0.95, min_n=5).set_index("partner_id").loc["A"]
    # 2020: six detractors (-100, shown); 2019: two promoters (suppressed): no change, no test
    assert trend["nps_now"] == -100 and trend["n_before"] == 2 and np.isnan(trend["nps_before"])
    assert np.isnan(trend["change"]) and trend["direction"] == "too few answers"


# ------------------------------------------------------------------ parameters reach the notebooks
def call_arguments(code, start):
    """The text of a call's arguments, from just after its opening parenthesis to the matching one."""
    depth = 1
    for i in range(start, len(code)):
        depth += {"(": 1, ")": -1}.get(code[i], 0)
        if depth == 0:
            return code[start:i]
    return code[start:]


def test_every_report_reads_the_thresholds_from_its_settings(root):
    """The thresholds reach every report through its settings (params/defaults.yaml is their one home)."""
    needs = {"summary": ("min_group_size", "small_sample_threshold"), "survey_scores": ("min_group_size", "small_sample_threshold"),
             "cloud_maturity": ("min_group_size",), "partner_programme": ("min_group_size",),
             "partner_scorecard": ("min_group_size",), "clv_churn": ("min_group_size",)}
    for name in sorted((root / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(str(name), as_version=4)
        module = nb.metadata["cxreport"]["report"]
        settings = __import__(f"cxreport.reports.{module}", fromlist=["SETTINGS"]).SETTINGS
        assert set(needs[module]) <= set(settings), f"{name.name}: {module} does not read {needs[module]}"


# ------------------------------------------------------------------ end to end: nothing published gives them away
SMALL = {"P028": (1, 7, 4), "P032": (2, 7, 4), "P035": (4, 9, 5)}  # partner: (answers in 2020, nps, csat) -> LTR 7.0/9.0, NSAT 100/200
SCORE = re.compile(r"(^|_)(nps|ltr|csat|nsat|z|rank|percentile|change|p_value|promoters|passives|detractors|lower|upper)($|_)|_pct$")
COUNTS = {"csat_n", "t4q_csat_n", "nsat_n"}  # answer counts, not scores
NOT_SURVEY = {"partners_customer_success"}  # usage growth, not survey answers


def score_columns(columns):
    return [c for c in columns if SCORE.search(str(c)) and str(c) not in COUNTS]


def small_partner_data(tmp_path, root):
    """The sample, with P028, P032 and P035 answering exactly 1, 2 and 4 times, only in 2020, all alike."""
    data = tmp_path / "data"
    shutil.copytree(root / "data" / "sample", data)
    path = data / "partner_survey_responses.csv"
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    year = raw["submitted_at"].str[:4]
    keep = ~raw["partner_id"].isin(list(SMALL)) | (year == "2020")
    raw = raw[keep].copy()
    for pid, (k, nps, csat) in SMALL.items():
        rows = raw.index[raw["partner_id"] == pid]
        assert len(rows) >= k, f"{pid} has {len(rows)} answers in 2020"
        raw = raw.drop(rows[k:])
        raw.loc[rows[:k], ["nps", "csat"]] = [str(nps), str(csat)]
    raw.to_csv(path, index=False)
    check = pd.read_csv(path, parse_dates=["submitted_at"])
    got = check[check["partner_id"].isin(list(SMALL))].groupby("partner_id").size().to_dict()
    assert got == {pid: v[0] for pid, v in SMALL.items()} and (check.loc[check["partner_id"].isin(list(SMALL)), "submitted_at"].dt.year == 2020).all()
    return data


def leaked_values(pid):
    k, nps, csat = SMALL[pid]
    nsat = {5: "200", 4: "100"}[csat]
    return [f"{float(nps):.1f}", nsat] + (["100"] if nps >= 9 else [])  # LTR, NSAT, and an NPS of 100 for all-promoters


@pytest.mark.slow
def test_small_partners_have_no_score_in_any_published_file(root, tmp_path):
    data = small_partner_data(tmp_path, root)
    out = tmp_path / "out"
    proc = run_cli(root, "--year", "2020", "--data", str(data), "--out", str(out), "--formats", "html,pdf",
                   "--only", "04_partner_programme", "--only", "05_partner_scorecard")
    assert proc.returncode == 0, proc.stderr[-3000:]
    year_dir = out / "2020"
    names = dict(pd.read_csv(data / "partners.csv")[["partner_id", "name"]].itertuples(index=False))

    # every CSV: the small partners' rows have no score
    checked = 0
    for path in sorted((year_dir / "tables").glob("*.csv")):
        table = pd.read_csv(path)
        if "partner_id" not in table or path.stem in NOT_SURVEY:
            continue
        rows = table[table["partner_id"].isin(list(SMALL))]
        assert set(rows["partner_id"]) == set(SMALL), path.name
        for col in score_columns(table.columns):
            assert rows[col].isna().all(), f"{path.name}: {col} = {rows[col].dropna().tolist()} for a small partner"
        checked += 1
    assert checked >= 5  # funnel, quarters, trend, CSAT index and its checkpoint
    funnel = pd.read_csv(year_dir / "tables" / "partners_funnel.csv").set_index("partner_id")
    assert funnel.loc[list(SMALL), "n"].tolist() == [1, 2, 4] and funnel.loc[list(SMALL), "suppressed"].all()

    # the workbook, cell by cell
    from openpyxl import load_workbook

    book = load_workbook(year_dir / "tables.xlsx", read_only=True)
    for sheet in book.worksheets:
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        if not rows or "partner_id" not in rows[0] or "customer_success" in sheet.title:
            continue
        header = rows[0]
        for col in score_columns(header):
            i = header.index(col)
            leaked = [r[i] for r in rows[1:] if r[header.index("partner_id")] in SMALL and r[i] not in (None, "")]
            assert not leaked, f"workbook sheet {sheet.title}: {col} = {leaked}"

    # metrics.json: no per-partner score, and a small partner is never flagged
    metrics = json.loads((year_dir / "metrics.json").read_text())

    def walk(node, path=""):
        if isinstance(node, dict):
            for k, v in node.items():
                assert k not in SMALL and not any(names[p] in str(k) for p in SMALL), f"metrics.json {path}.{k}"
                walk(v, f"{path}.{k}")
        elif isinstance(node, list):
            for v in node:
                walk(v, path)

    walk(metrics)
    assert not any(p in ids for key, ids in metrics["partners"]["funnel"].items() if isinstance(ids, list) for p in SMALL)
    # the programme-level figures still use every answer
    survey_answers = pd.read_csv(data / "partner_survey_responses.csv", parse_dates=["submitted_at"])
    current = survey_answers[survey_answers["submitted_at"].dt.year == 2020]
    assert metrics["partners"]["responses"] == len(current)
    assert abs(metrics["partners"]["nps"]["ltr"] - float(current["nps"].mean())) < 1e-9  # headlines are unrounded

    # the programme report's tables (HTML): a small partner's row shows no score
    from bs4 import BeautifulSoup

    html = (year_dir / "04_partner_programme.html").read_text()
    soup = BeautifulSoup(html, "html.parser")
    for tbl in soup.find_all("table"):
        header = [th.get_text(strip=True) for th in tbl.find_all("tr")[0].find_all("th")] if tbl.find_all("tr") else []
        for tr in tbl.find_all("tr")[1:]:
            cells = [td.get_text(strip=True) for td in tr.find_all(["td", "th"])]
            for pid in SMALL:
                if names[pid] in cells:
                    for label, value in zip(header, cells):
                        if label in ("NPS", "LTR", "NSAT", "CSAT") or label.startswith("NPS "):
                            assert value in ("–", "", "nan"), f"04 HTML: {names[pid]} {label} = {value}"
    text = soup.get_text(" ")
    assert "not shown" in text and "fewer than 5" in text  # the funnel chart's note
    for tbl in soup.find_all("table"):  # checked row by row above; the prose is what is left
        tbl.decompose()
    prose = soup.get_text(" ")
    for pid in SMALL:
        for sentence in re.split(r"(?<=[.;])\s", prose):
            if names[pid] in sentence:
                assert not any(re.search(rf"(?<![\d.]){re.escape(v)}(?![\d])", sentence) for v in leaked_values(pid)), sentence

    # the programme report's PDF: the lines naming a small partner carry none of its scores
    from pypdf import PdfReader

    pdf_text = "\n".join(page.extract_text() or "" for page in PdfReader(year_dir / "04_partner_programme.pdf").pages)
    assert names["P028"] in pdf_text or "P028" not in html  # the PDF holds the same tables
    for pid in SMALL:
        for line in pdf_text.splitlines():
            if names[pid] in line:
                assert not any(re.search(rf"(?<![\d.]){re.escape(v)}(?![\d])", line) for v in leaked_values(pid)), line

    # each small partner's own scorecard (HTML and PDF): no score, says why
    for pid in SMALL:
        card = BeautifulSoup((year_dir / "partners" / f"{pid}.html").read_text(), "html.parser").get_text(" ")
        assert "too few for a stable score" in card
        assert "Net Promoter Score" not in card and "Likely to recommend" not in card and "/ 10" not in card
        kpis = re.findall(r"NSAT\s+(\d+)", card)
        assert not kpis, f"{pid} scorecard shows NSAT {kpis}"
        pdf = "\n".join(p.extract_text() or "" for p in PdfReader(year_dir / "partners" / f"{pid}.pdf").pages)
        assert "too few for a stable score" in pdf.replace("\n", " ") and "Likely to recommend" not in pdf

"""Incremental and parallel builds: exactly the reports whose inputs changed run again."""

import json
import os
import shutil

import pandas as pd
import pytest

from conftest import run_cli

pytestmark = pytest.mark.slow

ONLY = ("--only", "01_survey_scores", "--only", "02_cloud_maturity", "--formats", "html")


def executed(out):
    run = json.loads((out / "2020" / "metrics.json").read_text())["run"]
    return sorted(run["executed"]), sorted(run["reused"])


def test_rebuild_runs_exactly_what_changed(root, tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    shutil.copytree(root / "data" / "sample", data)
    build = lambda *extra: run_cli(root, "--year", "2020", "--data", str(data), "--out", str(out), *ONLY, *extra)  # noqa: E731

    first = build()
    assert first.returncode == 0, first.stderr
    assert executed(out) == (["01_survey_scores", "02_cloud_maturity"], [])
    html_before = (out / "2020" / "01_survey_scores.html").read_bytes()

    again = build()
    assert again.returncode == 0 and "0 notebook run(s) executed" in again.stderr
    assert [line for line in again.stderr.splitlines() if line.startswith("reuse")] == [  # one line, not one per report
        "reuse 2 notebook run(s) of 2 report(s), inputs unchanged since the last build: 01_survey_scores, 02_cloud_maturity"]
    assert executed(out) == ([], ["01_survey_scores", "02_cloud_maturity"])
    assert (out / "2020" / "01_survey_scores.html").read_bytes() == html_before
    assert (out / "2020" / "tables" / "survey_touchpoints.csv").exists()  # reused tables come along
    assert json.loads((out / "2020" / "metrics.json").read_text())["survey"]["n"] == 70  # and their figures

    # A parameter only the survey report takes re-runs only the survey report.
    retitled = build("--set", "survey_title=Customer Survey")
    assert retitled.returncode == 0, retitled.stderr
    assert executed(out) == (["01_survey_scores"], ["02_cloud_maturity"])
    assert "Customer Survey 2020" in (out / "2020" / "01_survey_scores.html").read_text()

    # A changed input file re-runs the reports that read it, and only those.
    path = data / "maturity_assessments.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[0, "m_strategy"] = "1" if frame.loc[0, "m_strategy"] != "1" else "2"
    frame.to_csv(path, index=False)
    changed = build("--set", "survey_title=Customer Survey")
    assert changed.returncode == 0, changed.stderr
    assert executed(out) == (["02_cloud_maturity"], ["01_survey_scores"])

    # FORCE=1 runs a report again even though nothing changed.
    forced = run_cli(root, "--year", "2020", "--data", str(data), "--out", str(out), "--only", "01_survey_scores",
                     "--formats", "html", "--set", "survey_title=Customer Survey", "--force")
    assert forced.returncode == 0, forced.stderr
    assert executed(out) == (["01_survey_scores"], [])


def test_full_build_runs_in_parallel_and_writes_the_workbook(built_sample):
    out, proc = built_sample
    if (os.cpu_count() or 1) >= 2:
        assert "on 2 worker(s)" in proc.stderr or "worker(s)" in proc.stderr
    from openpyxl import load_workbook

    tables = sorted(p.stem for p in (out / "2020" / "tables").glob("*.csv"))
    book = load_workbook(out / "2020" / "tables.xlsx", read_only=True)
    assert len(book.sheetnames) == len(tables) and len(tables) >= 10
    assert {name[:31] for name in tables} == set(book.sheetnames)
    first = pd.read_csv(out / "2020" / "tables" / "survey_touchpoints.csv")
    sheet = pd.read_excel(out / "2020" / "tables.xlsx", sheet_name="survey_touchpoints")
    assert len(sheet) == len(first) and list(sheet.columns) == list(first.columns)

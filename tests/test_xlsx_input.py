"""An input saved as an Excel workbook (its first sheet) builds the same report as the CSV."""

import json
import shutil

import pandas as pd
import pytest

from conftest import run_cli

pytestmark = pytest.mark.slow


def test_survey_workbook_builds_the_same_report(root, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    frame = pd.read_csv(root / "data" / "sample" / "survey_responses.csv", dtype=str, keep_default_na=False)
    frame.to_excel(data / "survey_responses.xlsx", index=False)
    shutil.copy(root / "data" / "sample" / "accounts.csv", data / "accounts.csv")
    out = tmp_path / "out"
    proc = run_cli(root, "--year", "2020", "--data", str(data), "--out", str(out), "--formats", "html",
                   "--only", "01_survey_scores")
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((out / "2020" / "metrics.json").read_text())
    assert metrics["survey"]["n"] == 70 and round(metrics["survey"]["nps"]["score"], 1) == 57.1
    assert metrics["run"]["inputs"]["survey_responses.csv"]["file"] == "survey_responses.xlsx"

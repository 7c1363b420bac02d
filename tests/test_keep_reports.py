"""No good report is lost: a partial data folder, a foreign format, an empty folder or --only never delete a built report."""

import hashlib
import json
import shutil

import pytest

from conftest import run_cli

pytestmark = pytest.mark.slow

YEAR = "2020"
# Files every build writes afresh: the run's own record of what it did.
RUN_RECORDS = {"index.html", "metrics.json", ".build/manifest.json"}


def hashes(year_dir):
    return {str(p.relative_to(year_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(year_dir.rglob("*")) if p.is_file()}


@pytest.fixture
def copy_of_build(built_sample, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(built_sample[0], out)
    return out, hashes(out / YEAR)


@pytest.fixture
def sample_copy(root, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(root / "data" / "sample", data)
    return data


def test_data_folder_without_accounts_keeps_the_reports_that_need_it(root, copy_of_build, sample_copy):
    out, before = copy_of_build
    (sample_copy / "accounts.csv").unlink()
    proc = run_cli(root, "--year", YEAR, "--data", str(sample_copy), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    after = hashes(out / YEAR)
    changed = {f for f in before if after.get(f) != before[f]}
    # Only the run's records and the summary (it reads the data folder, which changed) may differ.
    assert changed <= RUN_RECORDS | {"tables.xlsx"} | {f for f in before if "summary" in f}, sorted(changed)
    assert set(before) <= set(after)  # nothing removed
    run = json.loads((out / YEAR / "metrics.json").read_text())
    assert set(run["run"]["kept"]) == {"02_cloud_maturity", "03_clv_churn", "04_partner_programme", "05_partner_scorecard"}
    assert run["run"]["skipped"] == {}
    assert "maturity" in run and "revenue" in run and "partners" in run  # their figures stay in metrics.json
    index = (out / YEAR / "index.html").read_text()
    assert index.count("kept from the build of") == 4 and "accounts.csv not found in the data folder" in index


def test_prune_removes_what_can_no_longer_be_built(root, copy_of_build, sample_copy):
    out, _ = copy_of_build
    (sample_copy / "accounts.csv").unlink()
    proc = run_cli(root, "--year", YEAR, "--data", str(sample_copy), "--out", str(out), "--prune", "--formats", "html")
    assert proc.returncode == 0, proc.stderr
    assert not (out / YEAR / "03_clv_churn.html").exists() and not (out / YEAR / "partners").exists()
    assert (out / YEAR / "01_survey_scores.html").exists()


def test_only_leaves_every_other_report_byte_identical(root, copy_of_build):
    out, before = copy_of_build
    proc = run_cli(root, "--year", YEAR, "--out", str(out), "--only", "01_survey_scores", "--force")
    assert proc.returncode == 0, proc.stderr
    after = hashes(out / YEAR)
    assert set(after) == set(before)
    changed = {f for f in before if after[f] != before[f]}
    assert changed <= RUN_RECORDS | {f for f in before if f.startswith(("01_survey_scores", "tables/survey_"))} | {"tables.xlsx"}
    run = json.loads((out / YEAR / "metrics.json").read_text())["run"]
    assert run["executed"] == ["01_survey_scores"] and len(run["reports"]) == 6


@pytest.mark.parametrize("case", ["xls_instead_of_csv", "empty_folder"])
def test_unusable_data_folder_stops_with_exit_2_and_touches_nothing(root, copy_of_build, sample_copy, case):
    out, before = copy_of_build
    if case == "xls_instead_of_csv":
        (sample_copy / "survey_responses.csv").rename(sample_copy / "survey_responses.xls")
        expected = "survey_responses.xls: found where survey_responses.csv was expected"
    else:
        shutil.rmtree(sample_copy)
        sample_copy.mkdir()
        expected = "holds none of the input files"
    proc = run_cli(root, "--year", YEAR, "--data", str(sample_copy), "--out", str(out))
    assert proc.returncode == 2 and expected in proc.stderr
    assert hashes(out / YEAR) == before

"""End to end: the cloud-maturity report in the shared sample build, and how the pipeline treats its input."""

import json
import shutil

import pandas as pd
import pytest

from conftest import run_cli
from cxreport import maturity as M
from cxreport.inputs import ACCOUNTS, MATURITY, load

pytestmark = pytest.mark.slow

YEAR = 2020


@pytest.fixture(scope="module")
def expected(root):
    """What the library gives on the sample data, to check the report's figures against."""
    assessments = load(root / "data" / "sample" / "maturity_assessments.csv", MATURITY)
    from cxreport.settings import load_settings

    s = load_settings(YEAR)
    placed = M.customer_stages(assessments, YEAR, s.maturity_dimensions, s.maturity_rubric, s.maturity_stages, keep_unstaged=True)
    return assessments, placed


def test_metrics_maturity_section(year_dir, expected):
    _, placed = expected
    m = json.loads((year_dir / "metrics.json").read_text())["maturity"]
    staged = placed[placed["stage"].notna()]
    assert m["year"] == YEAR and m["n_assessed"] == len(staged) and m["n_unstaged"] == len(placed) - len(staged)
    counts = staged["stage"].value_counts()
    assert [m["stages"][str(k)]["n"] for k in M.STAGES] == [int(counts.get(k, 0)) for k in M.STAGES]
    assert [m["stages"][str(k)]["name"] for k in M.STAGES] == ["Ad Hoc", "Opportunistic", "Repeatable", "Managed", "Optimized"]
    assert [m["stages"][str(k)]["benchmark_pct"] for k in M.STAGES] == [23.0, 24.0, 16.0, 28.0, 9.0]
    pct = [m["stages"][str(k)]["pct"] for k in M.STAGES]
    assert pct == [round(100 * int(counts.get(k, 0)) / len(staged), 1) for k in M.STAGES]
    assert abs(sum(pct) - 100) < 0.3
    assert 0 <= m["fit"]["p_value"] <= 1 and m["fit"]["df"] == 4 and isinstance(m["fit"]["significant"], bool)
    mv = m["movement"]
    assert mv["previous_year"] == YEAR - 1 and mv["n"] > 500
    assert mv["moved_up"] + mv["stayed"] + mv["moved_down"] == mv["n"]
    assert abs(mv["moved_up_pct"] + mv["stayed_pct"] + mv["moved_down_pct"] - 100) < 0.2
    assert mv["moved_up_ci95"][0] < mv["moved_up_pct"] < mv["moved_up_ci95"][1]
    assert 0 < m["target"]["expect_optimized_pct"] < 100


def test_account_list_has_every_assessed_customer(year_dir, expected, root):
    assessments, _ = expected
    table = pd.read_csv(year_dir / "tables" / "maturity_accounts.csv", dtype={"customer_id": str})
    assert list(table.columns) == M.ACCOUNT_COLUMNS
    assessed = set(assessments.loc[assessments["assessed_on"].dt.year == YEAR, "customer_id"])
    assert table["customer_id"].is_unique and set(table["customer_id"]) == assessed
    known = load(root / "data" / "sample" / "accounts.csv", ACCOUNTS)
    assert table["name"].notna().all() and set(table["customer_id"]) <= set(known["customer_id"])
    staged = table[table["stage"].notna()]
    assert staged["stage"].between(1, 5).all() and staged["next_play"].notna().all() and staged["weakest_dimension"].notna().all()
    assert set(table["movement"].dropna()) <= {M.UP, M.SAME, M.DOWN, M.NEW}
    gaps = table["gap_to_target"].dropna()
    assert gaps.is_monotonic_decreasing  # the accounts to act on first come first
    for name in ("maturity_distribution", "maturity_by_industry", "maturity_transitions", "maturity_dimension_profile"):
        assert (year_dir / "tables" / f"{name}.csv").exists()


def test_report_rendered_with_its_sections(year_dir, built_formats):
    for ext in ("ipynb", *built_formats):
        assert (year_dir / f"02_cloud_maturity.{ext}").stat().st_size > 10_000
    html = (year_dir / "02_cloud_maturity.html").read_text()
    assert "Cloud Maturity of Our Customers 2020" in html
    assert "IDC does not publish the dimensions" in html  # the rubric is ours, and the report says so
    for heading in ("Where our customers stand", "What holds each stage back", "Are customers moving up?",
                    "Satisfaction by maturity stage", "Next plays by stage", "Accounts to act on first"):
        assert heading in html
    assert "load_inputs(" not in html and "import " not in html  # code hidden
    assert "02_cloud_maturity.html" in (year_dir / "index.html").read_text()


def test_no_assessments_file_skips_the_report(root, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("survey_responses.csv", "accounts.csv"):
        shutil.copy(root / "data" / "sample" / name, data / name)
    out = tmp_path / "out"
    proc = run_cli(root, "--year", "2020", "--data", str(data), "--out", str(out), "--formats", "html", "--only", "02_cloud_maturity")
    assert proc.returncode == 0, proc.stderr
    assert "skip  02_cloud_maturity: input maturity_assessments.csv not found" in proc.stderr
    index = (out / "2020" / "index.html").read_text()
    assert "02_cloud_maturity" in index and "maturity_assessments.csv not found" in index
    assert not (out / "2020" / "02_cloud_maturity.html").exists()


def test_assessment_of_unknown_customer_stops_the_run(root, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(root / "data" / "sample" / "accounts.csv", data / "accounts.csv")
    (data / "maturity_assessments.csv").write_text(
        "customer_id,assessed_on,m_strategy,m_people\nC00001,2020-03-02,3,4\nC99999,2020-03-02,2,2\n", encoding="utf-8"
    )
    out = tmp_path / "out"
    proc = run_cli(root, "--year", "2020", "--data", str(data), "--out", str(out), "--formats", "html", "--only", "02_cloud_maturity")
    assert proc.returncode == 2
    assert "maturity_assessments.csv row 2 (line 3), column customer_id: 'C99999'; expected a customer_id listed in accounts.csv" in proc.stderr
    assert not out.exists() or not any(out.iterdir())


def test_revenue_by_stage_links_the_ledger(built_sample):
    out, _ = built_sample
    import pandas as pd

    t = pd.read_csv(out / "2020" / "tables" / "maturity_revenue_by_stage.csv")
    assert list(t["stage"]) == [1, 2, 3, 4, 5]
    assert t["revenue_share_pct"].sum() == pytest.approx(100.0)
    assert (t["customers"] > 0).all()

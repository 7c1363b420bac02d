"""Publishing a year and starting a new one (no notebook runs: fast)."""

import json

import pytest

from cxreport.publish import PublishError, next_year_params, personal_data_in, publish_year


def fake_year(out, year=2020, run=None, extra=None):
    d = out / str(year)
    (d / "tables").mkdir(parents=True)
    (d / "report.html").write_text("<h1>NPS 57.142857142857146 on 2026-11-30, 2019 (54.1)</h1>")
    (d / "report.pdf").write_bytes(b"%PDF-1.7")
    (d / "report.ipynb").write_text("{}")
    (d / "tables" / "t.csv").write_text("a,b\n1,4.262935534978428\n")
    (d / "metrics.json").write_text(json.dumps({"run": run or {"year": year, "reports": [], "skipped": {}}}))
    for name, text in (extra or {}).items():
        (d / name).write_text(text)
    return d


def test_publish_copies_what_readers_need_and_replaces_atomically(tmp_path):
    fake_year(tmp_path / "out")
    dest = tmp_path / "share"
    (dest / "2020").mkdir(parents=True)
    (dest / "2020" / "stale.html").write_text("old")
    final = publish_year(tmp_path / "out", 2020, dest)
    names = sorted(p.relative_to(final).as_posix() for p in final.rglob("*") if p.is_file())
    assert names == ["metrics.json", "report.html", "report.pdf", "tables/t.csv"]  # no notebook, stale file gone
    assert (dest / "index.html").exists() and "2020/index.html" in (dest / "index.html").read_text()
    assert [p.name for p in dest.iterdir() if p.name.startswith(".")] == []


def test_publish_refuses_unbuilt_or_failed_years(tmp_path):
    with pytest.raises(PublishError, match="no finished build"):
        publish_year(tmp_path / "out", 2020, tmp_path / "share")
    fake_year(tmp_path / "out", 2019, run={"failed": ["05_partner_scorecard:P007"]})
    with pytest.raises(PublishError, match="recorded failures"):
        publish_year(tmp_path / "out", 2019, tmp_path / "share")
    assert not (tmp_path / "share" / "2019").exists()


def test_publish_refuses_personal_data(tmp_path):
    fake_year(tmp_path / "out", extra={"leak.ipynb": '{"text": "call +44 20 7946 0958, anna@partner.example.com"}'})
    # Notebooks are left out by default, so the leak is not published...
    publish_year(tmp_path / "out", 2020, tmp_path / "share")
    # ...and asking for them finds it and publishes nothing.
    with pytest.raises(PublishError, match=r"leak.ipynb: 1 phone number, 1 e-mail address") as err:
        publish_year(tmp_path / "out", 2020, tmp_path / "share2", include_notebooks=True)
    assert "7946" not in str(err.value) and "anna@" not in str(err.value)  # kinds, never values
    assert not (tmp_path / "share2" / "2020").exists()


def test_personal_data_scan_ignores_report_numbers(tmp_path):
    p = tmp_path / "x.html"
    p.write_text("57.142857142857146 2026-11-30 2019 (54.1) 17823 (555) 123-4567 bob@example.org +44 20 7946 0958")
    assert [f.kind for f in personal_data_in(p)] == ["phone", "e-mail", "phone"]


def test_next_year_params_moves_years_on(tmp_path):
    (tmp_path / "2020.yaml").write_text("# 2020 reports\nsurvey_title: Survey 2020\nbaseline_year: 2019\n")
    target = next_year_params(tmp_path, 2021)
    assert target.read_text() == "# 2021 reports\nsurvey_title: Survey 2021\nbaseline_year: 2020\n"
    with pytest.raises(FileExistsError):
        next_year_params(tmp_path, 2021)
    assert "2023 reports" in next_year_params(tmp_path, 2023).read_text()  # from 2021, moved on by two

"""End to end: the notebooks through the same pipeline as `make report`."""

import json
import re
import shutil

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

YEAR = 2020


from conftest import run_cli


@pytest.fixture(scope="module")
def built(built_sample):
    return built_sample


def test_metrics_match_the_published_report(built):
    out, _ = built
    m = json.loads((out / str(YEAR) / "metrics.json").read_text())
    s = m["survey"]
    assert s["n"] == 70
    assert round(s["csat"]["mean"], 1) == 4.4 and s["csat"]["top2_pct"] == 95.7
    assert round(s["nps"]["score"], 1) == 57.1
    assert (s["nps"]["promoters_pct"], s["nps"]["passives_pct"], s["nps"]["detractors_pct"]) == (62.9, 31.4, 5.7)
    assert len(s["nps"]["ci95"]) == 2 and s["nps"]["ci95"][0] < s["nps"]["score"] < s["nps"]["ci95"][1]
    assert round(s["nps"]["previous"], 1) == 54.1 and round(s["nps"]["change"], 1) == 3.0
    assert s["nps"]["change_significant"] is False
    assert m["run"]["inputs"]["survey_responses.csv"]["rows"] == 131
    assert len(m["run"]["inputs"]["survey_responses.csv"]["sha256"]) == 64


def test_outputs_and_indexes(built, built_formats):
    out, proc = built
    year = out / str(YEAR)
    for ext in ("ipynb", *built_formats):
        assert (year / f"01_survey_scores.{ext}").stat().st_size > 10_000
    assert "01_survey_scores.html" in (year / "index.html").read_text()
    assert f'href="{YEAR}/index.html"' in (out / "index.html").read_text()
    assert (year / "tables" / "survey_touchpoints.csv").exists()
    assert not list(out.glob(".staging-*")) and not (out / "_failed").exists()
    assert "[1/" in proc.stderr  # progress is shown


def test_html_is_self_contained_and_hides_code(built):
    out, _ = built
    html = (out / str(YEAR) / "01_survey_scores.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "the report must not load anything from outside"
    # Scripts: inline ones (allowed by hash) and the site's own data file beside the year, nothing else.
    assert re.findall(r"<script src=\"([^\"]*)\"", html) == ["../site.js"] and "@import" not in html
    images = re.findall(r'<img[^>]+src="([^"]{0,40})', html)
    assert len(images) >= 5 and all(src.startswith("data:image/svg+xml") for src in images)  # charts inline, vector
    assert "load_survey(" not in html and "import " not in html  # code hidden
    assert "Partner Satisfaction Survey 2020" in html and "57.1" in html


@pytest.mark.pdf
def test_pdf_is_a4_with_several_pages(built):
    from pypdf import PdfReader

    reader = PdfReader(str(out_pdf(built)))
    assert len(reader.pages) >= 3
    box = reader.pages[0].mediabox
    assert round(float(box.width)) == 595 and round(float(box.height)) == 842
    text = "".join(p.extract_text() for p in reader.pages)
    assert "Page 1 of" in text and "Net Promoter Score" in text


def out_pdf(built):
    return built[0] / str(YEAR) / "01_survey_scores.pdf"


def test_no_personal_data_anywhere_under_out(built, root):
    out, _ = built
    raw = pd.read_csv(root / "data" / "sample" / "survey_responses.csv", dtype=str)
    emails = set(raw["contact_email"].dropna())
    text = " ".join(raw[c].dropna().str.cat(sep=" ") for c in ("comment_value", "comment_improve"))
    emails |= set(re.findall(r"[\w.+-]+@[\w.-]+\.\w+", text))
    phones = set(re.findall(r"\+\d[\d ]{8,}\d", text))
    names = set(raw["contact_name"].dropna())
    assert emails and phones
    for path in out.rglob("*"):
        if path.is_file():
            content = path.read_bytes().decode("utf-8", "ignore")
            for secret in emails | phones | names:
                assert secret not in content, f"{secret!r} leaked into {path.relative_to(out)}"


def test_bad_input_stops_before_writing_anything(root, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    lines = (root / "data" / "sample" / "survey_responses.csv").read_text().splitlines()
    cols = lines[0].split(",")
    row = lines[42].split(",")
    row[cols.index("nps")] = "11"
    lines[42] = ",".join(row)
    (data / "survey_responses.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    proc = run_cli(root, "--year", "2020", "--data", str(data), "--out", str(out), "--formats", "html")
    assert proc.returncode == 2
    assert "survey_responses.csv row 42 (line 43), column nps: '11'; expected an integer 0-10 or blank" in proc.stderr
    assert not out.exists() or not any(out.iterdir())


def test_missing_input_skips_the_notebook(root, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "accounts.csv").write_bytes((root / "data" / "sample" / "accounts.csv").read_bytes())
    proc = run_cli(root, "--year", "2020", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "out"),
                   "--only", "01_survey_scores", "--only", "02_cloud_maturity", "--formats", "html")
    assert proc.returncode == 0, proc.stderr
    assert "skip  01_survey_scores: input survey_responses.csv not found" in proc.stderr
    index = (tmp_path / "out" / "2020" / "index.html").read_text()
    assert "skipped" in index and "survey_responses.csv not found" in index


def test_failing_notebook_keeps_previous_report(root, built, tmp_path):
    # A bad setting is refused before any notebook runs (exit 2), so the failure is planted in a copy of the project.
    import nbformat

    project = tmp_path / "project"
    shutil.copytree(root / "params", project / "params")
    shutil.copytree(root / "notebooks", project / "notebooks")
    path = project / "notebooks" / "01_survey_scores.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("raise ValueError('unknown NPS interval method: planted by the test')"))
    nbformat.write(nb, str(path))
    out = tmp_path / "out"
    shutil.copytree(built[0], out)
    before = (out / str(YEAR) / "01_survey_scores.html").read_bytes()
    proc = run_cli(project, "--year", str(YEAR), "--data", str(root / "data" / "sample"), "--out", str(out),
                   "--formats", "html")
    assert proc.returncode == 1
    assert "notebook 01_survey_scores.ipynb failed in cell" in proc.stderr and "unknown NPS interval method" in proc.stderr
    assert (out / str(YEAR) / "01_survey_scores.html").read_bytes() == before
    assert (out / "_failed" / str(YEAR) / "01_survey_scores.ipynb").exists()
    assert (out / "_failed" / str(YEAR) / "01_survey_scores.log").exists()  # its log is kept beside it
    assert not list(out.glob(".staging-*"))


def test_unknown_parameter_is_refused(root, tmp_path):
    proc = run_cli(root, "--year", "2020", "--out", str(tmp_path / "out"), "--set", "min_grup_size=3")
    assert proc.returncode == 2 and "unknown parameter(s) min_grup_size" in proc.stderr


def test_notebooks_run_top_to_bottom_with_their_defaults(root, tmp_path):
    """What an analyst gets in JupyterLab: each notebook, unparameterised, from the notebooks folder."""
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    import papermill as pm

    notebooks = sorted((root / "notebooks").glob("*.ipynb"))
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1, mp_context=multiprocessing.get_context("spawn")) as pool:
        runs = [pool.submit(pm.execute_notebook, str(nb), str(tmp_path / nb.name), cwd=str(nb.parent), progress_bar=False)
                for nb in notebooks]
        for nb, run in zip(notebooks, runs):
            run.result()  # raises, naming the cell, if a notebook fails with its defaults


def test_build_output_is_quiet_and_ends_with_the_page_to_open(built):
    """No kernel transport warnings, one line for reuse at most, a log per notebook, and the page to open last."""
    out, proc = built
    assert "without encryption" not in proc.stderr and "IPKernelApp" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == f"open {(out / str(YEAR) / 'index.html').resolve()}"
    assert sum(line.startswith("reuse") for line in proc.stderr.splitlines()) <= 1
    year = out / str(YEAR)
    for log in (year / "01_survey_scores.log", year / "partners" / "P001.log"):
        assert log.is_file() and "executed in" in log.read_text()


def _output_text(path):
    """What a reader or a tool can see in an output file: PDF link targets and metadata, workbook XML, else the text.

    A PDF's visible text is its HTML page's (scanned as a file of its own), so only what the PDF
    renderer adds is read from it: link targets (relative links become file:// URLs there) and metadata.
    """
    import zipfile

    if path.suffix == ".pdf":
        from pypdf import PdfReader

        reader = PdfReader(str(path))
        links = [str(a.get_object().get("/A")) for p in reader.pages for a in (p.get("/Annots") or [])]
        return " ".join(links) + " " + str(dict(reader.metadata or {}))
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as z:
            return " ".join(z.read(n).decode("utf-8", "ignore") for n in z.namelist())
    return path.read_text(encoding="utf-8", errors="ignore")


def test_no_local_path_in_any_output(built, root):
    """Nothing the build writes names the builder's folders: links are relative, inputs are named by file."""
    out, _ = built
    needles = [str(out), str(root), ".staging-", "file://"]
    for path in sorted((out / str(YEAR)).rglob("*")):
        if path.is_file():
            text = _output_text(path)
            found = [n for n in needles if n in text]
            assert not found, f"{path.relative_to(out)} names {found}"
    run = json.loads((out / str(YEAR) / "metrics.json").read_text())["run"]
    assert run["data_dir"] == "sample" and all("/" not in f["file"] for f in run["inputs"].values())

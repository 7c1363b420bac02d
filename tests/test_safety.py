"""Safety by default: ids never become paths, data never becomes markup or a formula, one run per folder."""

import json
import os
import subprocess
import sys
import time

import openpyxl
import pandas as pd
import psutil
import pytest

from conftest import run_cli
from cxreport import reporting
from cxreport.inputs import CONTRACTS, InputError, load
from cxreport.pipeline import check_input_files, discover, write_workbook
from cxreport.render import drop_absolute_urls
from cxreport.run_guard import TOKEN_VARIABLE, RunLock, RunLocked
from cxreport.safe_output import UnsafePath, neutralise_cell, neutralise_formulas, path_inside
from cxreport.site import CONTENT_SECURITY_POLICY, page, write_site_index, write_year_index

PAYLOAD_IMG = '<img src="http://attacker.example/pixel.png" onerror="alert(1)">'
PAYLOAD_FORMULAS = ['=HYPERLINK("http://attacker.example","click")', "=cmd|' /C calc'!A0", "+SUM(1,2)", "-2+3",
                    "@SUM(A1)", "\t=1+1", "\r=1+1"]


# ----------------------------------------------------------------- ids and paths
def test_path_inside_refuses_every_way_out(tmp_path):
    base = tmp_path / "partners"
    base.mkdir()
    assert path_inside(base, "P001.html") == base / "P001.html"
    for bad in ("../../../X.html", "/etc/passwd", "..", "a/../../b"):
        with pytest.raises(UnsafePath):
            path_inside(base, bad)
    (base / "link").symlink_to(tmp_path)
    with pytest.raises(UnsafePath):
        path_inside(base, "link/../../escape.html")


def test_partner_id_must_be_a_safe_id(tmp_path):
    path = tmp_path / "partners.csv"
    path.write_text("partner_id,name\nP001,Good\n../../../X,Evil\nP 2,Space\nP-3_x,Fine\n")
    with pytest.raises(InputError) as err:
        load(path, CONTRACTS["partners.csv"])
    msgs = err.value.messages
    assert len(msgs) == 2
    assert msgs[0].startswith("partners.csv row 2 (line 3), column partner_id: '../../../X'; expected an id of 1-64 letters")
    assert msgs[1].startswith("partners.csv row 3 (line 4), column partner_id: 'P 2'")


def test_crafted_partner_id_exits_2_and_writes_nothing_outside_out(root, tmp_path):
    data = tmp_path / "deep" / "er" / "data"
    data.mkdir(parents=True)
    for name in ("accounts.csv", "partners.csv", "partner_survey_responses.csv", "usage.csv"):
        (data / name).write_bytes((root / "data" / "sample" / name).read_bytes())
    partners = pd.read_csv(data / "partners.csv", dtype=str)
    partners.loc[0, "partner_id"] = "../../../X"
    partners.to_csv(data / "partners.csv", index=False)
    out = tmp_path / "deep" / "er" / "out"
    before = sorted(p for p in tmp_path.rglob("*"))
    proc = run_cli(root, "--year", "2020", "--data", str(data), "--out", str(out), "--formats", "html")
    assert proc.returncode == 2, proc.stderr
    assert "column partner_id: '../../../X'; expected an id of 1-64 letters" in proc.stderr
    assert sorted(p for p in tmp_path.rglob("*")) == before


def test_notebook_names_must_be_safe(tmp_path):
    (tmp_path / "0 bad;name.ipynb").write_text("{}")
    from cxreport.params import ParamsError

    with pytest.raises(ParamsError, match="letters, digits"):
        discover(tmp_path)


# ----------------------------------------------------------------- markup
def _shown(monkeypatch):
    shown = []
    monkeypatch.setattr(reporting, "display", lambda obj: shown.append(obj.data))
    return shown


def test_data_in_prose_tables_and_callouts_is_escaped(monkeypatch):
    shown = _shown(monkeypatch)
    reporting.md(f"Partner **{PAYLOAD_IMG}** leads.")
    reporting.callout(f"Not shown: {PAYLOAD_IMG}", "warning")
    reporting.table(pd.DataFrame({PAYLOAD_IMG: [PAYLOAD_IMG], "n": [1.25]}), caption=PAYLOAD_IMG, formats={"n": "{:.1f}"})
    reporting.table(pd.DataFrame({"name": [PAYLOAD_IMG], "customers": [1178], "share": [0.25]}))  # house number formats
    reporting.kpi_cards([(PAYLOAD_IMG, PAYLOAD_IMG, PAYLOAD_IMG)])
    reporting.quotes([PAYLOAD_IMG])
    for text in shown:
        assert "<img" not in text and "&lt;img" in text
    assert "**" in shown[0]  # markdown emphasis still works
    assert "1.2" in shown[2]


def test_absolute_links_are_dropped_from_report_html():
    body = ('<a href="javascript:alert(1)">x</a><img src="https://attacker.example/p.png"><a href="//evil.example">y</a>'
            '<img src="data:image/svg+xml;base64,AAAA"><a href="01_survey_scores.html">ok</a><a href="#intro">toc</a>')
    out = drop_absolute_urls(body)
    assert "javascript:" not in out and "attacker" not in out and "evil" not in out
    assert 'src="data:image/svg+xml;base64,AAAA"' in out and 'href="01_survey_scores.html"' in out and 'href="#intro"' in out


def test_every_page_forbids_loading_from_outside(tmp_path):
    html = page(PAYLOAD_IMG, "<p>body</p>", subtitle=PAYLOAD_IMG)
    import html as html_module

    assert f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">' in html_module.unescape(html)
    scripts = CONTENT_SECURITY_POLICY.split("script-src ", 1)[1].split(";")[0].split()
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY and "http" not in CONTENT_SECURITY_POLICY
    assert all(s == "'self'" or s.startswith("'sha256-") for s in scripts)  # the site's own files and hashed inline scripts
    assert "<img" not in html.replace("<p>body</p>", "")


def test_year_and_site_index_escape_data(tmp_path):
    year = tmp_path / "2020"
    year.mkdir()
    run = {"year": 2020, "generated_at": "2020-12-31T10:00:00", "inputs": {"partners.csv": {"rows": 2, "sha256": "ab" * 32}},
           "skipped": {}, "failed": [],
           "reports": [{"name": "05_partner_scorecard", "title": "Scorecards", "per": "partner",
                        "units": [{"id": "P001", "label": PAYLOAD_IMG, "html": "partners/P001.html"}],
                        "failed": [{"id": "P002", "label": "x", "error": PAYLOAD_IMG, "kept": "k"}]},
                       {"name": "01", "title": PAYLOAD_IMG, "html": "01.html",
                        "kept": {"built_at": "2020-11-01T09:00:00", "data": "0123456789ab", "reason": "input x not found"}}]}
    (year / "metrics.json").write_text(json.dumps({"run": run}))
    write_year_index(year, run)
    write_site_index(tmp_path)
    text = (year / "index.html").read_text()
    assert "<img" not in text and text.count("&lt;img") == 4  # the report's title twice: in the list and the header
    assert "kept from the build of 2020-11-01T09:00:00 (data 0123456789ab): input x not found" in text
    assert "<img" not in (tmp_path / "index.html").read_text()


# ----------------------------------------------------------------- formulas
def test_formula_cells_are_neutralised_but_figures_are_not():
    for payload in PAYLOAD_FORMULAS:
        assert neutralise_cell(payload) == "'" + payload.replace("\r", "\n")
    for figure in ("+3.0", "-12.5%", "-1,234", "+0.4 pts", "Partner A", "", "–"):
        assert neutralise_cell(figure) == figure
    assert neutralise_cell(-5) == -5
    frame = neutralise_formulas(pd.DataFrame({"=name": PAYLOAD_FORMULAS, "n": range(len(PAYLOAD_FORMULAS))}))
    assert list(frame.columns) == ["'=name", "n"] and frame["n"].tolist() == list(range(len(PAYLOAD_FORMULAS)))


def test_tables_and_workbook_carry_no_formula_from_data(tmp_path):
    tables = tmp_path / "tables"
    reporting.write_table(tables, "partners", pd.DataFrame({"name": PAYLOAD_FORMULAS, "nps": range(len(PAYLOAD_FORMULAS))}))
    names = pd.read_csv(tables / "partners.csv", dtype=str, keep_default_na=False)["name"]
    assert names.tolist() == ["'" + p.replace("\r", "\n") for p in PAYLOAD_FORMULAS]
    write_workbook(tables, tmp_path / "tables.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "tables.xlsx").active
    cells = [c for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert sheet["B2"].value == 0 and sheet["A2"].value.startswith("'=HYPERLINK")


# ----------------------------------------------------------------- data folders
def test_input_in_a_format_we_do_not_read_gets_its_own_message(root, tmp_path):
    nbs = discover(root / "notebooks")
    (tmp_path / "survey_responses.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    (tmp_path / "Revenue.CSV").write_text("x\n")
    (tmp_path / "accounts.csv").write_text("customer_id\nC1\n")
    with pytest.raises(InputError) as err:
        check_input_files(tmp_path, nbs)
    text = "\n".join(err.value.messages)
    assert "survey_responses.xls: found where survey_responses.csv was expected; an old Excel" in text
    assert "Revenue.CSV: found where revenue.csv was expected; file names are case-sensitive" in text


def test_a_folder_with_none_of_the_inputs_is_an_error(root, tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InputError, match="holds none of the input files"):
        check_input_files(tmp_path, discover(root / "notebooks"))
    proc = run_cli(root, "--year", "2020", "--data", str(tmp_path), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2 and "holds none of the input files" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_only_with_an_unknown_notebook_is_refused(root, tmp_path):
    proc = run_cli(root, "--year", "2020", "--out", str(tmp_path / "out"), "--only", "01_survey_score")
    assert proc.returncode == 2 and "--only 01_survey_score: no such notebook" in proc.stderr


# ----------------------------------------------------------------- one run at a time, clean stops
def test_second_run_into_the_same_out_is_refused(root, tmp_path):
    out = tmp_path / "out"
    with RunLock(out) as lock:
        assert os.environ[TOKEN_VARIABLE] == lock.token
        with pytest.raises(RunLocked, match=f"process {os.getpid()}"):
            RunLock(out).__enter__()
        proc = run_cli(root, "--year", "2020", "--out", str(out), "--only", "01_survey_scores", "--formats", "html")
    assert proc.returncode == 1 and f"another cxreport run is building into {out}: process {os.getpid()}" in proc.stderr
    assert TOKEN_VARIABLE not in os.environ
    assert not (out / "2020").exists()


def test_next_run_removes_what_a_killed_run_left(tmp_path):
    out = tmp_path / "out"
    (out / ".staging-2020-deadbeef" / "tables").mkdir(parents=True)
    (out / ".old-2020-cafe").mkdir()
    token = "killed-run-token"
    orphan = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                              env={**os.environ, TOKEN_VARIABLE: token})
    (out / ".cxreport.lock").write_text(json.dumps({"pid": 999999, "token": token}))
    try:
        with RunLock(out):
            assert orphan.wait(timeout=10) is not None  # the killed run's process was ended
            assert not list(out.glob(".staging-*")) and not list(out.glob(".old-*"))
    finally:
        if orphan.poll() is None:
            orphan.kill()


@pytest.mark.slow
def test_sigterm_stops_workers_and_kernels_and_removes_staging(root, tmp_path):
    import signal

    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "cxreport.cli", "report", "--root", str(root), "--year", "2020",
           "--out", str(out), "--formats", "html", "--only", "01_survey_scores", "--only", "02_cloud_maturity"]
    proc = subprocess.Popen(cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    main = psutil.Process(proc.pid)
    deadline = time.time() + 120
    kernels = []
    while time.time() < deadline and proc.poll() is None:
        kids = main.children(recursive=True)
        kernels = [k for k in kids if "ipykernel" in " ".join(k.cmdline())]
        if kernels and list(out.glob(".staging-*")):
            break
        time.sleep(0.2)
    assert kernels, "the build finished before a kernel could be seen"
    descendants = main.children(recursive=True)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "stopped: stopped by SIGTERM" in err
    gone, alive = psutil.wait_procs(descendants, timeout=10)
    assert not alive, [p.cmdline() for p in alive]
    assert not list(out.glob(".staging-*")) and not (out / "2020").exists()


# ----------------------------------------------------------------- publishing
@pytest.mark.parametrize("where", ["out", "out/2020", "out/share", "."])
def test_publish_refuses_a_destination_inside_or_around_out(tmp_path, where):
    from cxreport.publish import PublishError, publish_year

    out = tmp_path / "out"
    (out / "2020").mkdir(parents=True)
    (out / "2020" / "metrics.json").write_text(json.dumps({"run": {"year": 2020, "reports": [], "skipped": {}}}))
    (out / "2020" / "01.ipynb").write_text("{}")
    before = sorted(p for p in tmp_path.rglob("*"))
    with pytest.raises(PublishError, match="--dest"):
        publish_year(out, 2020, tmp_path / where, include_notebooks=True)
    assert sorted(p for p in tmp_path.rglob("*")) == before

"""The site pieces, fast: the navigation model, titles, contents and anchors, the search index, site.js, the policy.

The browser test (tests/test_browser.py) walks the built site; these check each piece on small hand-made pages.
"""

import base64
import hashlib
import json
import re
from pathlib import Path

import nbformat
import pytest
import yaml
from cxreport.build import render, site
from cxreport.build.site import (
    CONTENT_SECURITY_POLICY,
    Link,
    Nav,
    js_assignment,
    page,
    page_facts,
    page_sections,
    report_nav,
    tab_title,
    write_site_index,
    write_year_index,
    year_links,
)

ROOT = Path(__file__).resolve().parents[1]
PAYLOAD = '<img src="http://attacker.example/p.png" onerror="alert(1)">'


def _inline_scripts(html: str) -> list[str]:
    return re.findall(r"<script>(.*?)</script>", html, re.DOTALL)


def _loaded_scripts(html: str) -> list[str]:
    return re.findall(r'<script src="([^"]*)"></script>', html)


# ----------------------------------------------------------------------------- the Content-Security-Policy
def test_policy_allows_exactly_the_inline_scripts_and_nothing_remote():
    html = page("Name", "<p>body</p>", nav=report_nav("Org", 2020, "01_survey_scores"))
    inline = _inline_scripts(html)
    assert len(inline) == 2  # the vendored sorting library, then ours
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', html).group(1).replace("&#39;", "'")
    assert policy == CONTENT_SECURITY_POLICY
    directives = {d.split()[0]: d.split()[1:] for d in policy.split("; ")}
    assert directives["default-src"] == ["'none'"]
    hashes = {"'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'" for s in inline}
    assert set(directives["script-src"]) == {"'self'"} | hashes
    assert not any(word in policy for word in ("unsafe-inline'; script", "'unsafe-eval'", "http:", "https:", "*", "data: ;"))
    assert "'unsafe-inline'" not in directives["script-src"] and directives["img-src"] == ["data:"]
    assert _loaded_scripts(html) == ["../site.js"]  # the only file a page loads, from the site itself


def test_an_edited_script_is_no_longer_allowed():
    html = page("Name", "<p>body</p>")
    tampered = _inline_scripts(html)[1] + "\nalert(1);"
    assert site.script_hash(tampered) not in CONTENT_SECURITY_POLICY
    assert all(site.script_hash(s) in CONTENT_SECURITY_POLICY for s in _inline_scripts(html))


def test_inline_scripts_are_the_shipped_files_and_the_vendored_version_is_recorded():
    assert site.scripts() == tuple(p.read_text(encoding="utf-8") for p in site.SCRIPTS)
    vendor = site.TEMPLATES / "vendor" / "tablesort"
    banner = re.search(r"tablesort v(\d+\.\d+\.\d+)", (vendor / "tablesort.min.js").read_text(encoding="utf-8")).group(1)
    readme = (vendor / "README.md").read_text(encoding="utf-8")
    assert f"# tablesort {banner} " in readme and f"tablesort@{banner}" in readme
    assert "MIT" in (vendor / "LICENCE").read_text(encoding="utf-8") or "Permission is hereby granted" in (vendor / "LICENCE").read_text()
    for script in site.scripts():
        assert "</script" not in script.lower()


# ----------------------------------------------------------------------------- navigation and titles
def test_report_nav_links_index_summary_and_tables_from_its_folder():
    nav = report_nav("Contoso", 2020, "03_clv_churn", tables=["tables/mrr_movements.csv"])
    assert nav.root == "../" and nav.year_root == "../2020/" and nav.site_index == "../index.html"
    assert [(link.label, link.href) for link in nav.links] == [
        ("Index", "index.html"), ("Executive summary", "00_summary.html"), ("Tables", "index.html#tables")]
    assert [(link.label, link.href) for link in nav.tables] == [
        ("mrr_movements.csv", "tables/mrr_movements.csv"), ("All tables as one workbook (tables.xlsx)", "tables.xlsx")]
    card = report_nav("Contoso", 2020, "05_partner_scorecard", unit="P001", depth=2)
    assert card.root == "../../" and card.unit == "P001" and card.tables == ()
    assert [link.href for link in card.links] == ["../index.html", "../00_summary.html", "../index.html#tables"]
    assert not any(link.current for link in card.links)
    assert [link.current for link in report_nav("C", 2020, "00_summary").links] == [False, True, False]


def test_year_links_list_every_report_once_and_mark_the_current_page():
    reports = [{"name": "00_summary", "title": "Executive summary", "href": "00_summary.html"},
               {"name": "01_survey_scores", "title": "Partner Satisfaction Survey", "href": "01_survey_scores.html"},
               {"name": "05_partner_scorecard", "title": "Partner scorecards", "units": []}]
    links = year_links(reports)
    assert [(link.label, link.href, link.current) for link in links] == [
        ("Index", "index.html", True), ("Executive summary", "00_summary.html", False),
        ("Partner Satisfaction Survey", "01_survey_scores.html", False),
        ("Partner scorecards", "index.html#05_partner_scorecard", False), ("Tables", "index.html#tables", False)]
    assert [link.current for link in year_links(reports, "01_survey_scores")][:3] == [False, False, True]


@pytest.mark.parametrize("name, year, organisation, expected", [
    ("Customer Lifetime Value and Churn", 2020, "Contoso Cloud Services",
     "Customer Lifetime Value and Churn 2020 · Contoso Cloud Services"),
    ("Reports 2020", "2020", "Contoso", "Reports 2020 · Contoso"),  # the year is not said twice
    ("Customer-experience reports", None, "", "Customer-experience reports"),
])
def test_tab_title_is_name_year_and_organisation(name, year, organisation, expected):
    assert tab_title(name, year, organisation) == expected


@pytest.mark.parametrize("heading, expected", [
    ("Partner Satisfaction Survey 2020", "Partner Satisfaction Survey"),
    ("Fjord Systems: partner scorecard 2020", "Fjord Systems: partner scorecard"),
    ("2020 in review", "2020 in review"),  # only a trailing year is the year
    ("Survey 12020", "Survey 12020"),
    (None, "the notebook's title"),
])
def test_report_name_is_the_heading_without_the_year(heading, expected):
    assert render.report_name(heading, 2020, "the notebook's title") == expected


def test_notebook_titles_agree_with_the_headings_the_default_settings_give():
    defaults = yaml.safe_load((ROOT / "params" / "defaults.yaml").read_text(encoding="utf-8"))
    expected = {"00_summary": "Executive summary", "01_survey_scores": defaults["survey_title"],
                "02_cloud_maturity": defaults["maturity_title"], "03_clv_churn": defaults["clv_title"],
                "04_partner_programme": defaults["programme_name"], "05_partner_scorecard": "Partner scorecards"}
    for name, title in expected.items():
        assert nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4).metadata["title"] == title, name


# ----------------------------------------------------------------------------- the body: anchors, contents, tables
BODY = """<h1 id="Report-2020">Report 2020<a class="anchor-link" href="#Report-2020">¶</a></h1>
<h2 id="Method-notes">Method notes<a class="anchor-link" href="#Method-notes">¶</a></h2>
<h3>By region &amp; size</h3><p>Text</p>
<h2 id="Method-notes">Method notes<a class="anchor-link" href="#Method-notes">¶</a></h2>
<table id="T_1"><caption>MRR</caption><tr><td>1</td></tr></table><h4 id="Small">Small</h4>"""


def test_prepare_body_gives_unique_anchors_a_contents_and_scroll_boxes():
    body = render.prepare_body(BODY)
    assert body.heading == "Report 2020"
    assert body.toc == [(2, "Method-notes", "Method notes"), (3, "By-region-size", "By region & size"),
                        (2, "Method-notes-2", "Method notes")]
    assert body.html.count('id="Method-notes"') == 1 and 'id="Method-notes-2"' in body.html
    assert 'href="#Method-notes-2"' in body.html  # the heading's own anchor link follows its new id
    assert '<div class="cx-table"><table id="T_1">' in body.html and body.html.count("cx-table") == 1


def test_page_says_what_it_is_in_meta_tags_and_escapes_data():
    nav = report_nav(PAYLOAD, 2020, "01_survey_scores", tables=[f"tables/{PAYLOAD}.csv"])
    html = page(PAYLOAD, "<p>body</p>", nav=nav, toc=[(2, PAYLOAD, PAYLOAD)])
    assert "<img" not in html.replace("<p>body</p>", "")
    facts = page_facts(html)
    assert facts == {"name": PAYLOAD, "organisation": PAYLOAD, "year": "2020", "report": "01_survey_scores", "unit": "",
                     "root": "../"}
    assert f"<title>{PAYLOAD.replace('<', '&lt;').replace('>', '&gt;')}" in html.replace("&#34;", '"').replace("&quot;", '"')


def _executed_notebook(tmp_path: Path, heading: str, per: str | None = None) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["title"] = "Fallback title"
    nb.metadata["papermill"] = {"parameters": {"year": 2020, "settings": {"organisation": "Contoso Cloud Services"}},
                                "input_path": "notebooks/03_clv_churn.ipynb"}
    if per:
        nb.metadata["cxreport"] = {"per": per}
    cell = nbformat.v4.new_code_cell("md(...)")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/markdown": f"# {heading}\n**Contoso** · text"}),
                    nbformat.v4.new_output("display_data", data={"text/markdown": "## Monthly recurring revenue\nNet revenue retention"})]
    nb.cells = [cell]
    path = tmp_path / "executed.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_rendered_report_has_one_name_in_bar_heading_tab_and_meta(tmp_path):
    path = _executed_notebook(tmp_path, "Customer Lifetime Value and Churn 2020")
    html = render.render_html(path, tmp_path / "03_clv_churn.html", tables=["tables/mrr_movements.csv"])
    name = "Customer Lifetime Value and Churn"
    assert f"<title>{name} 2020 · Contoso Cloud Services</title>" in html
    assert f'<span class="cx-name">{name}</span>' in html and f'<meta name="cx-name" content="{name}">' in html
    assert page_facts(html)["report"] == "03_clv_churn"
    assert '<a href="#Monthly-recurring-revenue">Monthly recurring revenue</a>' in html
    assert '<a href="tables/mrr_movements.csv">mrr_movements.csv</a>' in html and 'href="tables.xlsx"' in html


def test_a_scorecard_page_sits_one_folder_deeper(tmp_path):
    path = _executed_notebook(tmp_path, "Fjord Systems: partner scorecard 2020", per="partner")
    (tmp_path / "partners").mkdir()
    html = render.render_html(path, tmp_path / "partners" / "P001.html", report="05_partner_scorecard")
    facts = page_facts(html)
    assert (facts["root"], facts["unit"], facts["report"], facts["name"]) == (
        "../../", "P001", "05_partner_scorecard", "Fjord Systems: partner scorecard")
    assert '<script src="../../site.js"></script>' in html and 'href="../00_summary.html"' in html


# ----------------------------------------------------------------------------- the search index and site.js
SECTIONED = """<html><head><title>T</title><style>p{}</style></head><body><header><a>Header words</a></header>
<main id="cx-main"><h1 id="R-2020">Report 2020<a class="anchor-link" href="#R-2020">¶</a></h1><p>Lead   text.</p>
<h2 id="Retention">Retention, churn</h2><p>Net revenue retention (NRR)</p><script>var hidden = 1;</script>
<svg><text>chart words</text></svg><table><tr><td>GRR</td><td>93.1%</td></tr></table>
<h3 id="Deeper">Deeper</h3><p>More &amp; more</p></main><aside>Contents words</aside></body></html>"""


def test_page_sections_cut_the_main_text_at_headings():
    sections = page_sections(SECTIONED)
    assert sections == [
        {"a": "R-2020", "t": "Report 2020", "x": "Lead text."},
        {"a": "Retention", "t": "Retention, churn", "x": "Net revenue retention (NRR) GRR 93.1%"},
        {"a": "Deeper", "t": "Deeper", "x": "More & more"},
    ]


def test_js_assignment_cannot_break_out_of_its_script():
    value = {"name": "</script><script>alert(1)</script> <!-- \u2028 & '\"", "n": [1, 2.5, None]}
    text = js_assignment("CX_SITE", value)
    assert text.startswith("window.CX_SITE = ") and text.endswith(";\n")
    assert not re.search(r"[<>&\u2028\u2029]", text)
    assert json.loads(text[len("window.CX_SITE = "):-2]) == value


def _small_site(tmp_path: Path) -> Path:
    """OUT with one year: a report page, a scorecard, a table in the manifest (as a build leaves them)."""
    year = tmp_path / "2020"
    (year / "partners").mkdir(parents=True)
    (year / "tables").mkdir()
    (year / "tables" / "mrr_movements.csv").write_text("a\n1\n")
    (year / "tables" / "orphan.csv").write_text("a\n1\n")
    (year / ".build").mkdir()
    (year / ".build" / "manifest.json").write_text(json.dumps({"jobs": {
        "03_clv_churn": {"files": ["03_clv_churn.html", "tables/mrr_movements.csv"]},
        "05_partner_scorecard/P001": {"files": ["partners/P001.html"]}}}))
    (year / "03_clv_churn.html").write_text(page(
        "Customer Lifetime Value and Churn", SECTIONED, nav=report_nav("Contoso", 2020, "03_clv_churn")), encoding="utf-8")
    (year / "partners" / "P001.html").write_text(page(
        f"Partner {PAYLOAD}", "<main><h1 id='x'>Card</h1><p>Score</p></main>",
        nav=report_nav("Contoso", 2020, "05_partner_scorecard", "P001", 2)), encoding="utf-8")
    run = {"year": 2020, "generated_at": "2020-12-31T10:00:00", "inputs": {}, "skipped": {}, "failed": [],
           "reports": [{"name": "03_clv_churn", "title": "Notebook title", "html": "03_clv_churn.html"},
                       {"name": "05_partner_scorecard", "title": "Partner scorecards", "per": "partner",
                        "units": [{"id": "P001", "label": PAYLOAD, "html": "partners/P001.html"}], "failed": []}]}
    (year / "metrics.json").write_text(json.dumps({"run": run}))
    write_year_index(year, run)
    write_site_index(tmp_path)
    return tmp_path


def _data(path: Path, name: str):
    text = path.read_text(encoding="utf-8")
    return json.loads(text[len(f"window.{name} = "):-2])


def test_site_files_list_years_reports_and_every_section(tmp_path):
    out = _small_site(tmp_path)
    data = _data(out / "site.js", "CX_SITE")
    assert data == {"organisation": "Contoso", "years": [{"year": "2020", "index": "2020/index.html", "reports": [
        {"name": "03_clv_churn", "title": "Customer Lifetime Value and Churn", "href": "2020/03_clv_churn.html"},
        {"name": "05_partner_scorecard", "title": "Partner scorecards",
         "units": [{"id": "P001", "label": PAYLOAD, "href": "2020/partners/P001.html"}]}]}]}
    assert "<img" not in (out / "site.js").read_text(encoding="utf-8")
    index = _data(out / "search-index.js", "CX_SEARCH")
    assert index["pages"] == [{"u": "2020/03_clv_churn.html", "n": "Customer Lifetime Value and Churn", "y": "2020"},
                              {"u": "2020/partners/P001.html", "n": f"Partner {PAYLOAD}", "y": "2020"}]
    assert [0, "Retention", "Retention, churn", "Net revenue retention (NRR) GRR 93.1%"] in index["sections"]
    assert [1, "x", "Card", "Score"] in index["sections"]


def test_year_index_uses_page_names_and_groups_tables_by_report(tmp_path):
    out = _small_site(tmp_path)
    html = (out / "2020" / "index.html").read_text(encoding="utf-8")
    assert '<a href="03_clv_churn.html"><strong>Customer Lifetime Value and Churn</strong></a>' in html
    assert "Notebook title" not in html
    assert '<li><strong>Customer Lifetime Value and Churn</strong>: <a href="tables/mrr_movements.csv">mrr_movements.csv</a></li>' in html
    assert '<strong>Other tables</strong>: <a href="tables/orphan.csv">orphan.csv</a>' in html
    assert 'id="tables"' in html and 'id="05_partner_scorecard"' in html
    assert "<img" not in html
    facts = page_facts(html)
    assert (facts["name"], facts["organisation"], facts["root"]) == ("Reports 2020", "Contoso", "../")
    top = (out / "index.html").read_text(encoding="utf-8")
    assert page_facts(top)["root"] == "" and '<script src="site.js"></script>' in top
    assert "<title>Customer-experience reports · Contoso</title>" in top


def test_nav_defaults_keep_index_pages_working_without_a_year():
    nav = Nav("Org", None, None, None, "", (Link("2020", "2020/index.html"),))
    html = page("All years", "<p>x</p>", nav=nav)
    assert 'class="cx-year"' not in html and '<a href="2020/index.html">2020</a>' in html

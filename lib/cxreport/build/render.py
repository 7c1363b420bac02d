"""Rendering executed notebooks: self-contained HTML with the code hidden, and A4 PDF.

HTML: nbconvert's ``basic`` template (cell content only) wrapped in our own
page (:mod:`.site`: the header with the site's navigation, the report's
contents from its h2/h3 headings, the tables it wrote) with the house
stylesheet, so the file loads nothing from outside: no MathJax, RequireJS or
web fonts, charts inline as SVG. The report's name is its own heading, the
h1 its model writes from the settings (``survey_title``, ...), without the
year: the bar, the browser tab, the year index and the search show that one
name. PDF: WeasyPrint lays out that same HTML with the print rules of the
stylesheet (A4, page numbers; no header, contents or scripts), offline and
without a browser.
"""

from __future__ import annotations

import copy
import functools
import html
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

from .site import page, report_nav

REMOVE_TAGS = {"remove-cell", "remove_cell"}
NBCONVERT_TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "nbconvert"
# A link or source with a scheme (http:, javascript:, file:, ...) can only have come from data in the
# prose (a markdown link in a partner name): the reports link to their own relative files only.
# Inline images (data:image/...) are what nbconvert writes for charts and stay.
ABSOLUTE_URL = re.compile(r"""\b(href|src)\s*=\s*(["'])\s*(?!data:image/|\#)[a-zA-Z][a-zA-Z0-9+.\-]*:[^"']*\2""")
PROTOCOL_RELATIVE_URL = re.compile(r"""\b(href|src)\s*=\s*(["'])\s*//[^"']*\2""")


def drop_absolute_urls(body: str) -> str:
    """Replace every absolute or protocol-relative link target in report HTML by ``#``.

    Defence in depth behind the escaping of data values and the page's
    Content-Security-Policy: a report never links out of the site.
    """
    body = ABSOLUTE_URL.sub(lambda m: f"{m.group(1)}={m.group(2)}#{m.group(2)}", body)
    return PROTOCOL_RELATIVE_URL.sub(lambda m: f"{m.group(1)}={m.group(2)}#{m.group(2)}", body)


def _clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Copy of the notebook without what a reader should not see.

    Drops cells tagged ``remove-cell``, stderr streams (library warnings) and
    error outputs; code is hidden by the exporter.
    """
    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        if REMOVE_TAGS & set(cell.get("metadata", {}).get("tags", [])):
            continue
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if not (o.output_type == "stream" and o.get("name") == "stderr")]
        cells.append(cell)
    nb.cells = cells
    return nb


@functools.cache
def _exporter() -> HTMLExporter:
    """One exporter per process: its Jinja templates compile once, not once per page (a worker renders every
    scorecard)."""
    # Our template extends nbconvert's basic one: it gives each chart its alt text (see templates/nbconvert/).
    exporter = HTMLExporter(template_name="cxreport", extra_template_basedirs=[str(NBCONVERT_TEMPLATES)])
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    return exporter


def notebook_body(nb: nbformat.NotebookNode) -> str:
    """The notebook's cells as HTML, inputs and prompts hidden."""
    body, _ = _exporter().from_notebook_node(_clean(nb))
    # nbconvert's placeholder alt text reads badly in a report; every chart carries its own title.
    body = body.replace('alt="No description has been provided for this image"', 'alt="Chart"')
    return drop_absolute_urls(body)


HEADING = re.compile(r"<h([1-6])((?:\s[^>]*)?)>(.*?)</h\1>", re.DOTALL)
ID_ATTRIBUTE = re.compile(r"""\sid\s*=\s*(["'])(.*?)\1""", re.DOTALL)
TABLE = re.compile(r"<table\b.*?</table>", re.DOTALL)
TAG = re.compile(r"<[^>]+>")


def heading_text(fragment: str) -> str:
    """The text a reader sees in a heading's inner HTML (tags and nbconvert's ``¶`` anchor dropped)."""
    return re.sub(r"\s+", " ", html.unescape(TAG.sub("", fragment)).replace("¶", "")).strip()


def _slug(text: str) -> str:
    return re.sub(r"[^\w\-]+", "-", text, flags=re.UNICODE).strip("-") or "section"


@dataclass
class Body:
    """A report's HTML body made ready for the page: headings with unique anchors, wide tables in scroll boxes."""

    html: str
    toc: list[tuple[int, str, str]] = field(default_factory=list)  # (level 2 or 3, anchor, text)
    heading: str | None = None  # the text of the first h1: the report's name and year


def prepare_body(body: str) -> Body:
    """Give every heading a unique anchor, list the h2/h3 headings for the contents, wrap each table.

    nbconvert anchors headings by their text (``Method-notes``); a repeated
    heading gets ``-2``, ``-3``. Each table goes into a ``.cx-table`` box that
    scrolls sideways when the table is wider than the page (a phone, many
    columns), so the page itself never does.
    """
    seen: dict[str, int] = {}
    prepared = Body(body)

    def anchor(match: re.Match) -> str:
        level, attrs, inner = int(match.group(1)), match.group(2), match.group(3)
        text = heading_text(inner)
        found = ID_ATTRIBUTE.search(attrs)
        old = html.unescape(found.group(2)) if found else None
        base = old or _slug(text)
        n = seen.get(base, 0) + 1
        seen[base] = n
        new = base if n == 1 else f"{base}-{n}"
        if new != old:
            attrs = (ID_ATTRIBUTE.sub(f' id="{html.escape(new)}"', attrs, count=1) if found
                     else f'{attrs} id="{html.escape(new)}"')
            if old:
                inner = inner.replace(f'href="#{html.escape(old)}"', f'href="#{html.escape(new)}"')
        if level == 1 and prepared.heading is None:
            prepared.heading = text
        elif level in (2, 3) and text:
            prepared.toc.append((level, new, text))
        return f"<h{level}{attrs}>{inner}</h{level}>"

    out = HEADING.sub(anchor, body)
    prepared.html = TABLE.sub(lambda m: f'<div class="cx-table">{m.group(0)}</div>', out)
    return prepared


def report_name(heading: str | None, year, fallback: str) -> str:
    """A report's one name: its heading without the year (``Customer Lifetime Value and Churn``), else ``fallback``.

    The heading is written by the report (from its settings, e.g. ``clv_title``),
    so the bar, the tab, the year index and the search show what the page shows.
    """
    if not heading:
        return fallback
    if year is not None:
        heading = re.sub(rf"\s*\b{re.escape(str(year))}$", "", heading).strip() or heading
    return heading


def page_context(nb: nbformat.NotebookNode, html_path: Path, report: str | None = None) -> dict:
    """Where an executed notebook's page sits: year, organisation, report and unit, folder depth below ``OUT``.

    From the notebook's metadata: papermill's parameters (``year``, the
    ``organisation`` setting), ``cxreport.per`` (a per-unit notebook's pages
    live one folder deeper, named by unit).
    """
    params = nb.metadata.get("papermill", {}).get("parameters", {}) or {}
    settings = params.get("settings") or {}
    per = nb.metadata.get("cxreport", {}).get("per")
    input_path = nb.metadata.get("papermill", {}).get("input_path")
    name = report or (Path(input_path).stem if input_path else Path(html_path).stem)
    return {"year": params.get("year"), "organisation": settings.get("organisation", "") if isinstance(settings, dict) else "",
            "report": name, "unit": Path(html_path).stem if per else None, "depth": 2 if per else 1}


def render_html(notebook_path: Path, html_path: Path, report: str | None = None,
                tables: list[str] | tuple[str, ...] = ()) -> str:
    """Render an executed notebook to a self-contained HTML report; returns the HTML.

    ``report`` is the notebook's name (default: from papermill's metadata or
    the file name); ``tables`` the CSV files the report wrote, relative to the
    year's folder (``tables/<name>.csv``): the page links them and the year's workbook.
    """
    nb = nbformat.read(str(notebook_path), as_version=4)
    body = prepare_body(notebook_body(nb))
    where = page_context(nb, html_path, report)
    name = report_name(body.heading, where["year"], nb.metadata.get("title") or Path(notebook_path).stem)
    nav = report_nav(where["organisation"], where["year"], where["report"], where["unit"], where["depth"], tables)
    text = page(name, body.html, nav=nav, toc=body.toc)
    Path(html_path).write_text(text, encoding="utf-8")
    return text


def render_pdf(html_text: str, pdf_path: Path) -> None:
    """Lay out the report HTML as an A4 PDF with WeasyPrint (offline, no browser).

    No base URL: the page holds everything inline (styles, charts as data
    URIs), and without one WeasyPrint keeps links between reports relative
    (``01_survey_scores.html``), so they work after publishing and never
    carry the builder's folder (``file:///.../.staging-2020-.../``).
    """
    import weasyprint

    # WeasyPrint logs every CSS property it ignores; those are not our errors.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    weasyprint.HTML(string=html_text, base_url=None).write_pdf(str(pdf_path))

"""Rendering executed notebooks: self-contained HTML with the code hidden, and A4 PDF.

HTML: nbconvert's ``basic`` template (cell content only) wrapped in our own
page with the house stylesheet, so the file loads nothing from outside: no
MathJax, RequireJS or web fonts, charts inline as SVG. PDF: WeasyPrint lays
out that same HTML with the print rules of the stylesheet (A4, page numbers),
offline and without a browser.
"""

from __future__ import annotations

import copy
import logging
import re
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

from .site import page

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


def notebook_body(nb: nbformat.NotebookNode) -> str:
    """The notebook's cells as HTML, inputs and prompts hidden."""
    # Our template extends nbconvert's basic one: it gives each chart its alt text (see templates/nbconvert/).
    exporter = HTMLExporter(template_name="cxreport", extra_template_basedirs=[str(NBCONVERT_TEMPLATES)])
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(_clean(nb))
    # nbconvert's placeholder alt text reads badly in a report; every chart carries its own title.
    body = body.replace('alt="No description has been provided for this image"', 'alt="Chart"')
    return drop_absolute_urls(body)


def render_html(notebook_path: Path, html_path: Path) -> str:
    """Render an executed notebook to a self-contained HTML report; returns the HTML."""
    nb = nbformat.read(str(notebook_path), as_version=4)
    title = nb.metadata.get("title") or Path(notebook_path).stem
    text = page(title, notebook_body(nb))
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

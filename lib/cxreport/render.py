"""Rendering executed notebooks: self-contained HTML with the code hidden, and A4 PDF.

HTML: nbconvert's ``basic`` template (cell content only) wrapped in our own
page with the house stylesheet, so the file loads nothing from outside: no
MathJax, RequireJS or web fonts, charts inline as SVG. PDF: WeasyPrint lays
out that same HTML with the print rules of the stylesheet (A4, page numbers),
offline and without a browser.
"""

from __future__ import annotations

import copy
import html
import logging
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

STYLESHEET = Path(__file__).with_name("templates") / "report.css"
REMOVE_TAGS = {"remove-cell", "remove_cell"}


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
    exporter = HTMLExporter(template_name="basic")
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(_clean(nb))
    # nbconvert's placeholder alt text reads badly in a report; every chart carries its own title.
    return body.replace('alt="No description has been provided for this image"', 'alt="Chart"')


def page(title: str, body: str, subtitle: str = "") -> str:
    """A complete, self-contained HTML page in the house style."""
    css = STYLESHEET.read_text(encoding="utf-8")
    sub = f'<div class="cx-subtitle">{html.escape(subtitle)}</div>' if subtitle else ""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{css}</style></head>"
        f'<body><header class="cx-running">{html.escape(title)}</header>{sub}<main class="cx-report">{body}</main></body></html>\n'
    )


def render_html(notebook_path: Path, html_path: Path) -> str:
    """Render an executed notebook to a self-contained HTML report; returns the HTML."""
    nb = nbformat.read(str(notebook_path), as_version=4)
    title = nb.metadata.get("title") or Path(notebook_path).stem
    text = page(title, notebook_body(nb))
    Path(html_path).write_text(text, encoding="utf-8")
    return text


def render_pdf(html_text: str, pdf_path: Path, base_url: Path | None = None) -> None:
    """Lay out the report HTML as an A4 PDF with WeasyPrint (offline, no browser)."""
    import weasyprint

    # WeasyPrint logs every CSS property it ignores; those are not our errors.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    weasyprint.HTML(string=html_text, base_url=str(base_url or Path.cwd())).write_pdf(str(pdf_path))

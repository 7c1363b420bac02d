"""The PDF pages of the shared sample build: nothing clipped, no caption or heading stranded at a page's foot.

Every PDF of the year (reports and scorecards), every page, read with pdfplumber's word boxes:

- every word lies inside the printable area: between the left and right page margins of
  ``report.css`` (16 mm; a wide table once ran to 714 pt on a 595 pt page) and at least 5 mm from
  the top and bottom edges (the page number sits in the bottom margin);
- the last line of the page's body is neither a table caption nor a heading of the page's HTML
  (a caption was once left at the foot of page 1, its table on page 2).

The two page checks are marked ``pdf``: in `make test-all` (the shared build renders PDF only when
such a test is selected).
"""

from __future__ import annotations

import re

import pytest

MM = 72 / 25.4
SIDE_MARGIN = 16 * MM  # report.css @page margin, left and right
EDGE = 5 * MM  # nothing closer to the top or bottom edge than this
FOOT = 20 * MM  # the bottom page margin: the page number and the report title live there
TOLERANCE = 1.0  # points


def _pdfs(year_dir):
    return sorted(year_dir.glob("*.pdf")) + sorted((year_dir / "partners").glob("*.pdf"))


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _titles(html_path) -> list[str]:
    """The page's table captions and headings (h1-h4), as text."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html_path.read_text(encoding="utf-8"), "html.parser")
    return [t for t in (_norm(el.get_text(" ")) for el in soup.find_all(["caption", "h1", "h2", "h3", "h4"])) if t]


def _lines(words: list[dict]) -> list[tuple[float, str]]:
    """Words grouped into lines by their top (3 pt apart at most), each ``(top, text)``, top to bottom."""
    lines: list[tuple[float, list[dict]]] = []
    for w in sorted(words, key=lambda w: (round(w["top"]), w["x0"])):
        if lines and abs(lines[-1][0] - w["top"]) < 3:
            lines[-1][1].append(w)
        else:
            lines.append((w["top"], [w]))
    return [(top, " ".join(x["text"] for x in sorted(ws, key=lambda x: x["x0"]))) for top, ws in lines]


def _is_title(line: str, titles: list[str]) -> bool:
    """The line is a caption or heading, or the first line of one that wraps."""
    line = _norm(line)
    return len(line) >= 4 and any(t == line or (len(line) >= 12 and t.startswith(line)) for t in titles)


@pytest.mark.pdf
def test_every_pdf_page_keeps_its_text_inside_the_printable_area(year_dir):
    import pdfplumber

    pdfs = _pdfs(year_dir)
    assert len(pdfs) >= 6, pdfs  # five reports and the scorecards
    outside = []
    for path in pdfs:
        with pdfplumber.open(path) as pdf:
            for number, page in enumerate(pdf.pages, 1):
                width, height = float(page.width), float(page.height)
                for w in page.extract_words():
                    if (w["x0"] < SIDE_MARGIN - TOLERANCE or w["x1"] > width - SIDE_MARGIN + TOLERANCE
                            or w["top"] < EDGE or w["bottom"] > height - EDGE):
                        outside.append(f"{path.name} page {number}: {w['text']!r} at x {w['x0']:.0f}-{w['x1']:.0f}, "
                                       f"y {w['top']:.0f}-{w['bottom']:.0f} (page {width:.0f} x {height:.0f})")
    assert not outside, "\n".join(outside[:30])


@pytest.mark.pdf
def test_no_page_ends_with_a_caption_or_a_heading(year_dir):
    import pdfplumber

    stranded = []
    for path in _pdfs(year_dir):
        titles = _titles(path.with_suffix(".html"))
        with pdfplumber.open(path) as pdf:
            for number, page in enumerate(pdf.pages[:-1], 1):  # the last page may end anywhere
                body = [w for w in page.extract_words() if w["bottom"] < float(page.height) - FOOT + 2]
                lines = _lines(body)
                if lines and _is_title(lines[-1][1], titles):
                    stranded.append(f"{path.name} page {number} ends with {lines[-1][1]!r}")
    assert not stranded, "\n".join(stranded)


def test_the_check_finds_a_stranded_caption():
    """The last-line check on hand-made words: lines grouped by their top, a caption (or a wrapped caption's first
    line) recognised, ordinary text and short words not."""
    titles = ["MRR movements by month, 2020 (EUR)", "Customer lifetime value by segment and what it rests on"]
    lines = _lines([{"text": "returning", "top": 700.0, "x0": 50.0}, {"text": "customers.", "top": 700.4, "x0": 95.0},
                    {"text": "MRR", "top": 720.0, "x0": 50.0}, {"text": "movements", "top": 720.0, "x0": 75.0},
                    {"text": "by", "top": 720.0, "x0": 130.0}, {"text": "month,", "top": 720.0, "x0": 142.0},
                    {"text": "2020", "top": 720.0, "x0": 172.0}, {"text": "(EUR)", "top": 720.0, "x0": 196.0}])
    assert [text for _, text in lines] == ["returning customers.", "MRR movements by month, 2020 (EUR)"]
    assert _is_title(lines[-1][1], titles) and not _is_title(lines[0][1], titles)
    assert _is_title("Customer lifetime value by segment and", titles)  # a wrapped caption's first line
    assert not _is_title("by", titles)

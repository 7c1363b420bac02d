"""Helpers the notebooks call to narrate: formatting, provenance, metrics and tables.

Nothing here computes a metric; it only presents what the domain modules
computed, so the numbers in a report's text are always the computed ones.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from pathlib import Path

import pandas as pd
from IPython.display import HTML, Markdown, display

from .inputs import fingerprint, input_path
from .present.format import number, percent
from .safe_output import neutralise_formulas


def md(text: str) -> None:
    """Show markdown built from computed figures.

    ``<``, ``>`` and ``&`` are escaped first: the prose carries names and labels
    from the data (partners, workloads, industries), and raw HTML in them must
    show as text, never as markup. Markdown emphasis and links still work.
    """
    display(Markdown(html.escape(text, quote=False)))


def fmt_num(x: float, digits: int = 1, signed: bool = False) -> str:
    """A number for prose (:func:`cxreport.present.format.number`, one decimal by default): ``1,178.2``, ``+3.0``, ``–`` when missing."""
    return number(x, digits, signed=signed)


def fmt_pct(x: float, digits: int = 1) -> str:
    """A 0-100 percentage for prose (:func:`cxreport.present.format.percent`): ``95.7%``."""
    return percent(x, digits)


def callout(text: str, kind: str = "note") -> None:
    """A boxed note in the report (kinds: note, warning); the text is shown as text, escaped."""
    display(HTML(f'<div class="cx-callout cx-{html.escape(kind)}">{html.escape(text, quote=False)}</div>'))


def round_floats(obj, digits: int = 1):
    """Round every float in a nested structure (for machine-readable headline figures)."""
    if isinstance(obj, float):
        return None if math.isnan(obj) else round(obj, digits)
    if isinstance(obj, dict):
        return {k: round_floats(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [round_floats(v, digits) for v in obj]
    if hasattr(obj, "item"):  # numpy scalars
        return round_floats(obj.item(), digits)
    return obj


def write_metrics(path: str | Path | None, metrics: dict) -> None:
    """Write a notebook's headline figures as JSON for the pipeline to merge.

    ``path`` is None when the notebook runs interactively: nothing is written.
    """
    if not path:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(metrics, indent=2, sort_keys=True, default=_json_default), encoding="utf-8")


def _json_default(obj):
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, (pd.Timestamp, dt.date)):
        return obj.isoformat()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_table(tables_dir: str | Path | None, name: str, table: pd.DataFrame) -> None:
    """Write a table the report shows as CSV under ``tables_dir`` (skipped when None).

    Text cells that a spreadsheet would run as formulas are neutralised
    (:func:`cxreport.safe_output.neutralise_formulas`).
    """
    if not tables_dir:
        return
    path = Path(tables_dir) / f"{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    neutralise_formulas(table).to_csv(path, index=False)


def provenance(data_dir: str | Path, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """What a report was built from: file (the CSV, or the workbook or Parquet read in its place), data rows
    used (an input on the engine, such as the ledger, is counted there), SHA-256 (first 12 characters) and run date."""
    rows = []
    for name, frame in frames.items():
        path = input_path(data_dir, name) or Path(data_dir) / name
        fp = fingerprint(path)
        n = len(frame) if isinstance(frame, pd.DataFrame) else int(frame.count().execute())
        rows.append({"File": path.name, "Rows": n, "SHA-256": fp["sha256"][:12]})
    out = pd.DataFrame(rows)
    out["Run date"] = dt.date.today().isoformat()
    return out


def kpi_cards(cards: list[tuple[str, str, str]]) -> None:
    """A row of headline figures: (label, value, detail) each."""
    items = "".join(
        f'<div class="cx-kpi"><div class="l">{html.escape(l)}</div><div class="v">{html.escape(v)}</div>'
        f'<div class="d">{html.escape(d)}</div></div>'
        for l, v, d in cards
    )
    display(HTML(f'<div class="cx-kpis">{items}</div>'))


def quotes(texts: list[str]) -> None:
    """Show quotes from respondents (already redacted by the comments module)."""
    display(HTML("".join(f'<blockquote class="cx-quote">“{html.escape(t)}”</blockquote>' for t in texts)))


def table(frame: pd.DataFrame, caption: str | None = None, formats: dict | None = None) -> None:
    """Show a table without its index, numbers formatted, with an optional caption (:func:`table_html`)."""
    display(HTML(table_html(frame, caption, formats)))


def table_html(frame: pd.DataFrame, caption: str | None = None, formats: dict | None = None) -> str:
    """A table as :func:`table` shows it, as HTML: without its index, numbers formatted, with an optional caption.

    Cell values, headers and the caption are HTML-escaped: they carry text from the data. A numeric
    column without a format of its own is written in house style (:func:`cxreport.present.format.number`):
    whole numbers with thousands separators ("2,159"; a stage stored as 1.0 shows "1", never "1.000000"),
    other numbers with two decimals; a column of years (its heading says "year", or every value lies in
    1900-2100) is left as it is.
    """
    styler = frame.style.hide(axis="index").format(na_rep="–", escape="html").format_index(escape="html", axis=1)
    defaults = {c: _default_format(frame[c]) for c in frame.columns if c not in (formats or {}) and not _holds_years(c, frame[c])}
    defaults = {c: f for c, f in defaults.items() if f is not None}
    if defaults:
        styler = styler.format(defaults, na_rep="–", escape="html")  # a dict re-formats every column: escape again
    if formats:  # each .format call with a dict sets every column's formatter again, so each one escapes
        styler = styler.format(formats, na_rep="–", escape="html")
    if caption:
        styler = styler.set_caption(html.escape(caption))
    return styler.to_html()


def _holds_years(header, values: pd.Series) -> bool:
    """Whether a whole-number column holds years, which are never written with a thousands separator."""
    if "year" in str(header).lower():
        return True
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return False
    return bool(len(values.dropna())) and bool(values.dropna().between(1900, 2100).all())


def _default_format(values: pd.Series):
    """The house format of a numeric column that has none: whole numbers without decimals, others with two; None for text."""
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return None
    if pd.api.types.is_integer_dtype(values):
        return number
    present = values.dropna()
    if len(present) and bool((present == present.round()).all()):
        return number
    return lambda x: number(x, 2)

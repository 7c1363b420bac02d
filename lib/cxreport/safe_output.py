"""What keeps data from becoming a path or a formula in anything a build writes.

Two rules, each with one home:

- :func:`path_inside`: a file name made from data (a partner id, a notebook
  name) is joined to its folder only when the result stays inside that
  folder; anything else (``../../X``, an absolute path, a symlink that leads
  out) raises :class:`UnsafePath`. The input contract already refuses such ids
  (``SAFE_ID`` in :mod:`cxreport.inputs`); this is the writer's own check.
- :func:`neutralise_formulas`: spreadsheet formula injection (OWASP, "CSV
  Injection"): a text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or
  a carriage return is run as a formula by Excel and LibreOffice. Such a cell
  is written with a leading apostrophe, which spreadsheets show as text.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

# Characters that make a spreadsheet read a cell as a formula (OWASP CSV-injection guidance).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A signed figure written as text ("+3.0", "-12.5%", "-1,234"): a spreadsheet reads it as a number, never a formula.
PLAIN_FIGURE = re.compile(r"[+-]?\d[\d,]*(?:\.\d+)?(?: ?(?:%|pts?|pp))?")


class UnsafePath(ValueError):
    """A file name made from data would resolve outside the folder it belongs in."""


def path_inside(folder: Path, *parts: str) -> Path:
    """``folder / parts...``, refused unless it resolves inside ``folder``.

    Resolves symlinks on both sides, so a link planted inside the folder
    cannot lead a write outside it either.
    """
    folder = Path(folder)
    target = folder.joinpath(*parts)
    base = folder.resolve()
    resolved = target.resolve()
    if resolved == base or base not in resolved.parents:
        raise UnsafePath(f"refusing to write {target}: it resolves outside {folder}")
    return target


def neutralise_cell(value):
    """A text value that a spreadsheet would run as a formula, made inert with a leading apostrophe.

    Numbers, blanks and other types pass unchanged, and so does a signed figure
    written as text (``+3.0``, ``-12.5%``); the text ``-5+cmd|' /C calc'!A0``
    becomes ``'-5+cmd|' /C calc'!A0``.
    """
    if not isinstance(value, str):
        return value
    # A lone carriage return is not quoted by the CSV writer and would start a new row: line breaks become "\n".
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    if value.startswith((*FORMULA_STARTS, "\n")) and not PLAIN_FIGURE.fullmatch(value):
        return "'" + value
    return value


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names cannot run as formulas (:func:`neutralise_cell`)."""
    out = frame.copy()
    text_columns = [c for c in out.columns if out[c].dtype == object or pd.api.types.is_string_dtype(out[c])]
    for col in text_columns:
        out[col] = out[col].map(neutralise_cell, na_action="ignore")
    out.columns = [neutralise_cell(c) if isinstance(c, str) else c for c in out.columns]
    return out

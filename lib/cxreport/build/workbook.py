"""The year's tables as one Excel workbook (``tables.xlsx``), and the merge of the reports' headline figures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..safe_output import neutralise_formulas
from . import cache


def write_workbook(tables_dir: Path, path: Path) -> None:
    """Every CSV table of the year as one Excel workbook, a sheet per table (names cut to Excel's 31 characters)."""
    import pandas as pd

    tables = sorted(Path(tables_dir).glob("*.csv"))
    if not tables:
        return
    used: set[str] = set()
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for csv in tables:
            sheet, k = csv.stem[:31], 2
            while sheet in used:  # two long names with the same start
                sheet, k = f"{csv.stem[:28]}~{k}", k + 1
            used.add(sheet)
            # Neutralised again: openpyxl writes any text that starts with "=" as a live formula.
            neutralise_formulas(pd.read_csv(csv)).to_excel(writer, sheet_name=sheet, index=False)


def workbook_for(staging: Path, year_dir: Path, previous: dict, manifest: dict) -> None:
    """Write ``tables.xlsx`` for the staged year, or carry the current one over when no table changed."""
    digest = cache.tables_digest(staging / "tables")
    old_book = Path(year_dir) / "tables.xlsx"
    if previous.get("tables") == digest and old_book.is_file():
        shutil.copy2(old_book, staging / "tables.xlsx")
    else:
        write_workbook(staging / "tables", staging / "tables.xlsx")
    manifest["tables"] = digest


def merge_metrics(fragments: list[Path]) -> dict:
    """Merge the notebooks' metric fragments (each a dict of sections) into one dict."""
    merged: dict = {}
    for frag in sorted(fragments):
        for section, values in json.loads(frag.read_text(encoding="utf-8")).items():
            if isinstance(values, dict):
                merged.setdefault(section, {}).update(values)
            else:
                merged[section] = values
    return merged

"""Discovery: the suite's notebooks, what their metadata declares, and the units a per-unit notebook runs for.

A report notebook lives in ``notebooks/`` and declares, in its notebook
metadata ``cxreport``: the input files it ``requires`` (it is skipped when one
is missing) and those it reads when present (``optional``), ``per`` (run once
per unit, e.g. per partner of ``partners.csv``), ``runs: last`` (after the
others) and ``report`` (its report model in :mod:`cxreport.reports`). Its
``parameters`` cell is read with papermill's ``inspect_notebook``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..inputs import CONTRACTS, SAFE_ID
from ..params import ParamsError

# Parameters the pipeline itself supplies; a notebook receives those it declares: ``run_db`` (the run database of
# validated inputs), ``engine`` and ``engine_url`` (where the queries run) among them.
PIPELINE_PARAMETERS = ("year", "data_dir", "tables_dir", "metrics_path", "metrics_dir", "out_dir", "run_db", "engine",
                       "engine_url")
# Per-unit notebooks (metadata ``cxreport.per``): the unit -> (file listing the units, id column = parameter name,
# label column, output folder).
PER_UNITS = {"partner": ("partners.csv", "partner_id", "name", "partners")}


@dataclass
class Notebook:
    """A report notebook of the suite, as the pipeline sees it."""

    path: Path
    title: str
    requires: list[str]
    parameters: dict
    per: str | None = None
    optional: list[str] = field(default_factory=list)
    runs_last: bool = False
    report: str | None = None  # the module of cxreport.reports whose build the notebook calls

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def inputs(self) -> list[str]:
        """Every input file the notebook reads: required ones, then optional ones."""
        return [*self.requires, *self.optional]


def discover(notebooks_dir: Path) -> list[Notebook]:
    """The suite's notebooks in name order, with their declared inputs and parameters."""
    import papermill as pm

    found = []
    for path in sorted(Path(notebooks_dir).glob("*.ipynb")):
        if not re.fullmatch(SAFE_ID, path.stem):
            raise ParamsError(f"{path.name}: a notebook name may hold only letters, digits, '-' and '_' (it names output files)")
        nb = nbformat.read(str(path), as_version=4)
        meta = nb.metadata.get("cxreport", {})
        params = pm.inspect_notebook(str(path))
        per = meta.get("per")
        if per is not None and per not in PER_UNITS:
            raise ParamsError(f"{path.name}: metadata cxreport.per is {per!r}; expected one of {', '.join(PER_UNITS)}")
        found.append(Notebook(path, nb.metadata.get("title", path.stem), list(meta.get("requires", [])), params, per,
                              list(meta.get("optional", [])), meta.get("runs") == "last", meta.get("report")))
    return found


def units_for(nb: Notebook, data_dir: Path, tables: dict | None = None) -> list[tuple[str, str]]:
    """The (id, label) pairs a per-unit notebook runs for, in file order (e.g. every partner of partners.csv)."""
    from ..engine.load import Source, find_source, load_table

    filename, id_col, label_col, _ = PER_UNITS[nb.per]
    source = find_source(data_dir, filename, tables) or Source(filename, path=Path(data_dir) / filename)
    frame = load_table(source, CONTRACTS[filename]).pandas()
    labels = frame[label_col] if label_col in frame.columns else frame[id_col]
    return list(zip(frame[id_col].astype(str), labels.fillna(frame[id_col]).astype(str)))

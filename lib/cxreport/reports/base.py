"""What every report model shares: loading its inputs once, unknown figures with reasons, JSON-safe headlines.

Unknown is never 0 and never NaN: a figure that cannot be computed is
``None`` in the model, and :class:`Unknowns` records in one plain sentence
what is missing and why; ``metrics.json`` then holds ``null`` for it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import engine as engines
from ..engine.load import (
    ENGINE_INPUTS,
    SURVEY_INPUTS,
    check_references,
    find_source,
    load_table,
)
from ..inputs import CONTRACTS, InputError
from ..reporting import write_metrics, write_table
from ..settings import Settings, settings_for

SURVEY_FILES = SURVEY_INPUTS
PROJECT_ROOT = Path(__file__).resolve().parents[3]


def project_path(path: str | Path) -> Path:
    """A folder a notebook names (``data/sample``): as given when it exists from here, else from the project root.

    So a notebook finds its data whether it runs from the repo root, from
    ``notebooks/`` (JupyterLab) or from the pipeline (absolute paths).
    """
    path = Path(path)
    if path.is_absolute() or path.exists():
        return path
    return PROJECT_ROOT / path


@dataclass(frozen=True)
class Inputs:
    """The validated input frames a report reads, by file name, and the folder they came from."""

    frames: dict[str, pd.DataFrame]
    data_dir: Path | None = None

    def __contains__(self, name: str) -> bool:
        return name in self.frames

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.frames[name]

    def get(self, name: str) -> pd.DataFrame | None:
        return self.frames.get(name)


def load_inputs(data_dir: str | Path, requires: tuple[str, ...], optional: tuple[str, ...] = (),
                run_db: str | Path | None = None) -> Inputs:
    """A report's inputs, validated (:class:`InputError` lists every problem): the ledger (``revenue.csv``,
    :data:`cxreport.engine.load.ENGINE_INPUTS`) as an Ibis table on the current engine, every other input
    as a pandas frame with the dtypes :func:`cxreport.inputs.load` gives.

    With ``run_db`` (the pipeline's run database, :mod:`cxreport.engine.rundb`) they are read from it,
    already validated and cross-checked by the pipeline, and no file is parsed again. Without it
    (JupyterLab, plain papermill) they are loaded from ``data_dir`` by the same loader the pipeline
    uses (:func:`cxreport.engine.load.load_table`: NAME.csv, NAME.xlsx or NAME.parquet; survey files
    with contact data dropped and comments redacted), and the cross-file references are checked between
    the inputs read. Required inputs must exist; optional ones are read when present.
    """
    if run_db is not None:
        return _from_run_database(data_dir, requires, optional, run_db)
    data_dir = project_path(data_dir)
    loaded, problems, unlisted = {}, [], 0
    for name in (*requires, *optional):
        source = find_source(data_dir, name)  # NAME.csv, else NAME.xlsx, else NAME.parquet
        if source is None:
            if name in requires:
                problems.append(f"{name}: file not found in {data_dir}")
            continue
        try:
            loaded[name] = load_table(source, CONTRACTS[name])
        except InputError as exc:
            problems.extend(exc.messages)
            unlisted += exc.unlisted
    if not problems and not unlisted:
        found = check_references(loaded)
        if found is not None:
            problems, unlisted = found.messages, found.unlisted
    if problems or unlisted:
        raise InputError(problems, unlisted)
    frames = {name: item.table() if name in ENGINE_INPUTS else item.pandas() for name, item in loaded.items()}
    return Inputs(frames, data_dir)


def _from_run_database(data_dir, requires, optional, run_db) -> Inputs:
    """:func:`load_inputs` from the pipeline's run database (validated and cross-checked there)."""
    from ..engine.rundb import RunDatabase

    db = RunDatabase.open(project_path(run_db))
    missing = [f"{name}: not in the run database {db.folder.name} (the pipeline loads every input a report reads)"
               for name in requires if name not in db]
    if missing:
        raise InputError(missing)
    frames = {name: db.read(name) for name in (*requires, *optional) if name in db}
    return Inputs(frames, project_path(data_dir))


@contextlib.contextmanager
def report_engine(name: str | None, url: str | None, inputs: dict):
    """Run a report's build on the engine ``name`` (``duckdb`` or ``spark``, with ``url``), started once per
    process (:func:`cxreport.engine.shared`); a report that reads no engine input (``inputs``, its ``INPUTS``)
    starts none. ``name`` None keeps the current engine."""
    reads_engine = any(n in ENGINE_INPUTS for n in (*inputs.get("requires", ()), *inputs.get("optional", ())))
    if name is None or not reads_engine:
        yield None
        return
    with engines.use(engines.shared(name, url)) as used:
        yield used


@dataclass
class Unknowns:
    """Figures that could not be computed, each with the reason in one plain sentence."""

    reasons: dict[str, str] = field(default_factory=dict)

    def add(self, figure: str, reason: str) -> None:
        self.reasons[figure] = reason

    def __contains__(self, figure: str) -> bool:
        return figure in self.reasons

    def get(self, figure: str) -> str | None:
        return self.reasons.get(figure)


def known(x) -> float | None:
    """A number, or None when it is missing, NaN or infinite (never NaN in a model)."""
    if x is None or x is pd.NA or x is pd.NaT:
        return None
    if isinstance(x, (np.integer,)):
        return int(x)
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def jsonable(obj):
    """A headline made JSON-safe: NaN and inf become None, numpy scalars Python numbers, dates ISO text."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return known(obj)
    if isinstance(obj, (pd.Timestamp, dt.date)):
        return obj.isoformat()
    if isinstance(obj, pd.Period):
        return str(obj)
    if obj is pd.NA or obj is pd.NaT:
        return None
    return obj


class ReportModel:
    """Mixin of every report model: ``headline()`` (the metrics.json section) and ``tables()`` (name -> frame)."""

    SECTION: str = ""

    def headline(self) -> dict:  # pragma: no cover - each model defines it
        raise NotImplementedError

    def tables(self) -> dict[str, pd.DataFrame]:
        return {}

    def write(self, tables_dir: str | Path | None, metrics_path: str | Path | None) -> None:
        """Write the report's tables (CSV) and its headline (``{SECTION: headline}``) where the pipeline collects them."""
        for name, frame in self.tables().items():
            write_table(tables_dir, name, frame)
        write_metrics(metrics_path, {self.SECTION: jsonable(self.headline())})


def resolve_settings(year: int, settings: Settings | dict | None) -> Settings:
    """A :class:`Settings` from what a notebook passes: a model as is, else the params files with overrides."""
    return settings if isinstance(settings, Settings) else settings_for(year, settings)


def build_from_data(build, inputs: dict, data_dir, year: int, settings: Settings | dict | None, run_db=None,
                    engine: str | None = None, engine_url: str | None = None, *args):
    """What every report's ``build_from_folder`` does: its declared ``inputs`` (``{"requires", "optional"}``)
    read from ``data_dir``, or from the pipeline's run database ``run_db`` (:func:`load_inputs`), on the
    run's engine (:func:`report_engine`), then ``build(inputs, settings, year, *args)`` with the params
    files' settings and the overrides given (:func:`resolve_settings`)."""
    with report_engine(engine, engine_url, inputs):
        loaded = load_inputs(data_dir, inputs["requires"], inputs.get("optional", ()), run_db)
        return build(loaded, resolve_settings(year, settings), year, *args)

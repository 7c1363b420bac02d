"""What every report model shares: loading its inputs once, unknown figures with reasons, JSON-safe headlines.

Unknown is never 0 and never NaN: a figure that cannot be computed is
``None`` in the model, and :class:`Unknowns` records in one plain sentence
what is missing and why; ``metrics.json`` then holds ``null`` for it.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..inputs import CONTRACTS, InputError, check_references, input_path, load, load_survey
from ..reporting import write_metrics, write_table
from ..settings import Settings, settings_for

SURVEY_FILES = ("survey_responses.csv", "partner_survey_responses.csv")
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


def load_inputs(data_dir: str | Path, requires: tuple[str, ...], optional: tuple[str, ...] = ()) -> Inputs:
    """Load and validate a report's input files from a folder (:class:`InputError` lists every problem).

    Required files must exist; optional ones are read when present. Survey
    files go through :func:`cxreport.inputs.load_survey` (contact data dropped,
    comments redacted). Cross-file references are checked between the files read.
    """
    data_dir = project_path(data_dir)
    frames, problems = {}, []
    for name in (*requires, *optional):
        path = input_path(data_dir, name)  # NAME.csv, else NAME.xlsx
        if path is None:
            if name in requires:
                problems.append(f"{name}: file not found in {data_dir}")
            continue
        try:
            if name in SURVEY_FILES:
                frames[name] = load_survey(path, contract=CONTRACTS[name])
            else:
                frames[name] = load(path, CONTRACTS[name])
        except InputError as exc:
            problems.extend(exc.messages)
    if not problems:
        problems.extend(check_references(frames))
    if problems:
        raise InputError(problems)
    return Inputs(frames, data_dir)


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

"""The run database: each input of a run, loaded and validated once, as Parquet in one folder.

The pipeline loads every input a run needs once (:func:`cxreport.engine.load.load_table`) and keeps
the typed result here; the notebooks open it read-only (:func:`cxreport.reports.base.load_inputs`
with ``run_db``) instead of parsing the files again. Parquet, because DuckDB and Spark both read it::

    <folder>/
      manifest.json        every input: its provenance (file, fingerprint, delimiter, encoding or sheet,
                           warnings), rows, route, typed columns and their kinds
      revenue.parquet      the ledger, written by DuckDB (COPY ... TO) while it was validated
      accounts.parquet     a pandas-route input, written by pandas (its dtypes round-trip)

The folder lives in the run's staging area beside the staged year, never inside it, and is removed
before the year is swapped in and when a run fails (:mod:`cxreport.build.run`): it is never published.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..inputs import READ_ATTR, ReadInfo
from .load import ENGINE_INPUTS, LoadedInput, as_loaded_dtypes, typed_view

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


def file_name(name: str) -> str:
    """The Parquet file of input ``name`` in the run database: ``revenue.csv`` -> ``revenue.parquet``."""
    return Path(name).stem + ".parquet"


# Frames read from a run database in this process (see RunDatabase.frame), by file, size and modification time.
_FRAMES: dict[tuple, pd.DataFrame] = {}
CACHED_FRAME_BYTES = 64 * 2**20


@dataclass
class RunDatabase:
    """A run database folder and its manifest (``inputs``: one entry per input name)."""

    folder: Path
    inputs: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def create(cls, folder: str | Path) -> RunDatabase:
        """An empty run database in ``folder`` (created; it must not hold one already)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        if (folder / MANIFEST).exists():
            raise FileExistsError(f"{folder} already holds a run database")
        db = cls(folder)
        db.save()
        return db

    @classmethod
    def open(cls, folder: str | Path) -> RunDatabase:
        """The run database in ``folder``, read-only (a notebook's view of it)."""
        folder = Path(folder)
        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise FileNotFoundError(f"no run database in {folder}: {exc}") from None
        return cls(folder, dict(manifest.get("inputs", {})))

    def __contains__(self, name: str) -> bool:
        return name in self.inputs

    @property
    def names(self) -> list[str]:
        return sorted(self.inputs)

    def path_of(self, name: str) -> Path:
        return self.folder / self.inputs[name]["parquet"] if name in self.inputs else self.folder / file_name(name)

    def add(self, loaded: LoadedInput, fingerprint: dict | None = None) -> None:
        """Store one loaded input (its Parquet file, unless :func:`load_table` wrote it here already) and record it."""
        target = self.folder / file_name(loaded.name)
        loaded.write(target)
        self.inputs[loaded.name] = {
            **(fingerprint or {}),
            **loaded.provenance,
            "file": (fingerprint or {}).get("file", loaded.label),
            "rows": loaded.rows,
            "route": loaded.route,
            "parquet": target.name,
            "columns": list(loaded.columns),
            "kinds": dict(loaded.kinds),
        }
        self.save()

    def save(self) -> None:
        """Write the manifest (atomically: a reader never sees half of it)."""
        tmp = self.folder / f".{MANIFEST}.tmp"
        tmp.write_text(json.dumps({"version": FORMAT_VERSION, "inputs": self.inputs}, indent=1, sort_keys=True,
                                  default=str), encoding="utf-8")
        os.replace(tmp, self.folder / MANIFEST)

    def read_info(self, name: str) -> ReadInfo:
        """How the input was read, as :func:`cxreport.inputs.load` records it (no line positions: rows are data rows)."""
        e = self.inputs[name]
        fmt = e.get("format", "csv")
        return ReadInfo(delimiter=e.get("delimiter"), encoding=e.get("encoding"), sheet=e.get("sheet"),
                        file=e.get("file", name), format=fmt,
                        warnings=tuple(e.get("warnings", ())))

    def table(self, name: str, engine=None):
        """Input ``name`` as an Ibis table on ``engine`` (default: the current engine), typed as the contract says."""
        from . import current

        engine = engine or current()
        e = self.inputs[name]
        return typed_view(engine.read_parquet(self.folder / e["parquet"]), e["columns"], e["kinds"])

    def frame(self, name: str) -> pd.DataFrame:
        """Input ``name`` as a pandas frame with the dtypes :func:`cxreport.inputs.load` gives.

        A frame of at most :data:`CACHED_FRAME_BYTES` is kept in this process and a copy handed out on the next
        call: a worker's kernel runs one scorecard per partner, each reading the same inputs, and the run
        database never changes while it exists (the key holds the file's size and modification time).
        """
        e = self.inputs[name]
        path = self.folder / e["parquet"]
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        if key in _FRAMES:
            return _FRAMES[key].copy(deep=True)
        frame = self._read_frame(name, e, path)
        if frame.memory_usage(index=True, deep=False).sum() <= CACHED_FRAME_BYTES:
            if len(_FRAMES) >= 32:
                _FRAMES.pop(next(iter(_FRAMES)))
            _FRAMES[key] = frame.copy(deep=True)
        return frame

    def _read_frame(self, name: str, e: dict, path: Path) -> pd.DataFrame:
        info = self.read_info(name)
        if e["route"] == "pandas":
            frame = pd.read_parquet(path)
            frame.index = pd.RangeIndex(len(frame))
            frame.attrs[READ_ATTR] = info
            return frame
        import pyarrow.parquet as pq

        return as_loaded_dtypes(pq.read_table(path, columns=e["columns"]).to_pandas(), e["columns"], e["kinds"], info)

    def read(self, name: str, engine=None):
        """What a report receives for input ``name``: an engine table for the ledger (:data:`ENGINE_INPUTS`), else
        a pandas frame."""
        return self.table(name, engine) if name in ENGINE_INPUTS else self.frame(name)

    def provenance(self) -> dict[str, dict]:
        """Each input's fingerprint and rows, as ``metrics.json`` records them under ``run.inputs``."""
        keep = ("file", "bytes", "sha256", "delimiter", "encoding", "sheet", "rows", "format", "parts", "table")
        return {n: {k: v for k, v in e.items() if k in keep} for n, e in self.inputs.items()}


__all__ = ["MANIFEST", "RunDatabase", "file_name"]

"""The data layer's engine: where the heavy queries run, through Ibis.

One run uses one engine, chosen with ``--engine`` (or ``make report ENGINE=...``):

- ``duckdb`` (default): DuckDB embedded in the process, no server, out of core
  (it spills to disk when a ledger is larger than memory);
- ``spark``: a Spark session, local (``local[2]``, needs Java 17) or on a cluster
  (``--engine-url spark://host:7077``) or Spark Connect (``--engine-url sc://host:15002``).

The metric functions (:mod:`cxreport.revenue`, :mod:`cxreport.cohorts`, ...) are
written once, as Ibis expressions, and take either a pandas frame (placed on the
current engine with :meth:`Engine.table`) or an Ibis table already on it. Only
small results (per month, per cohort, per customer) come back to pandas, with
:meth:`Engine.fetch`.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterator

import pandas as pd

ENGINES = ("duckdb", "spark")
DEFAULT_ENGINE = "duckdb"
ENGINE_ENV = "CXREPORT_ENGINE"          # the engine a notebook or test uses when none is passed
ENGINE_URL_ENV = "CXREPORT_ENGINE_URL"  # a Spark master or Spark Connect URL


class EngineError(RuntimeError):
    """The engine asked for cannot be started (unknown name, no Java for Spark, bad URL)."""


@dataclass
class Engine:
    """An Ibis backend and its name (``duckdb`` or ``spark``)."""

    name: str
    con: Any
    url: str | None = None
    _tables: dict = field(default_factory=dict, repr=False)

    def table(self, data, name: str | None = None):
        """``data`` as a table on this engine: an Ibis table is returned as it is; a pandas frame is
        registered (``Period`` columns as the first day of the period, categoricals as text)."""
        import ibis

        if isinstance(data, ibis.Table):
            return data
        if not isinstance(data, pd.DataFrame):
            raise TypeError(f"expected a pandas DataFrame or an Ibis table, got {type(data).__name__}")
        frame = _engine_ready(data)
        if self.name == "duckdb":
            # Registered as a view on the frame (no copy). Ibis 12's create_table from pandas fails
            # with sqlglot 30 ("DROP VIEW IF EXISTS" without a name), so DuckDB's own register is used.
            name = name or f"cx_{uuid.uuid4().hex[:12]}"
            self.con.con.register(name, frame)
            self._tables[name] = frame  # keeps the frame alive while the view exists
            return self.con.table(name)
        return self.con.create_view(name or f"cx_{uuid.uuid4().hex[:12]}", ibis.memtable(frame), overwrite=True)

    def fetch(self, expr) -> pd.DataFrame:
        """A (small) result as a pandas frame."""
        return self.con.to_pandas(expr)

    def scalar(self, expr):
        """One value (a count, a sum) as a Python value; None for SQL NULL."""
        value = self.con.execute(expr)
        if value is None:
            return None
        try:
            if pd.isna(value):
                return None
        except (TypeError, ValueError):
            pass
        return value.item() if hasattr(value, "item") else value

    def read_parquet(self, path, name: str | None = None):
        """A Parquet file, or a folder of part files, as a table on this engine."""
        path = os.fspath(path)
        if self.name == "duckdb" and os.path.isdir(path):
            path = os.path.join(path, "**", "*.parquet")
        return self.con.read_parquet(path, table_name=name)


def _engine_ready(frame: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for col in frame.columns:
        s = frame[col]
        if isinstance(s.dtype, pd.PeriodDtype):
            s = s.dt.start_time.dt.normalize().astype("datetime64[us]")
        elif isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object).where(s.notna(), None)
            s = s.map(lambda v: v if v is None else str(v))
        out[str(col)] = s.reset_index(drop=True)
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def spark_session(url: str | None = None):
    """A Spark session: local mode with 2 cores by default, else the master or Spark Connect URL."""
    import shutil

    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - pyspark is a dependency
        raise EngineError("--engine spark needs pyspark (pip install pyspark)") from exc
    builder = SparkSession.builder.appName("cxreport")
    if url and url.startswith("sc://"):
        return builder.remote(url).getOrCreate()
    if not url and not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        raise EngineError("--engine spark runs Spark in local mode, which needs Java 17: install it "
                          "(Debian: apt-get install openjdk-17-jre-headless) or set JAVA_HOME")
    if not url:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # local mode listens on loopback only
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    builder = builder.master(url or "local[2]")
    for key, value in {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",  # no progress bars in the build's output (kernels share its stderr)
        "spark.sql.shuffle.partitions": "4",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.ansi.enabled": "false",
        "spark.driver.memory": os.environ.get("CXREPORT_SPARK_DRIVER_MEMORY", "4g"),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
    }.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def connect(name: str | None = None, url: str | None = None) -> Engine:
    """Start an engine: ``duckdb`` (``url`` a database file, default in memory) or ``spark``."""
    import ibis

    name = (name or DEFAULT_ENGINE).lower()
    if name == "duckdb":
        return Engine("duckdb", ibis.duckdb.connect(url or ":memory:"), url)
    if name == "spark":
        return Engine("spark", ibis.pyspark.connect(spark_session(url)), url)
    raise EngineError(f"unknown engine {name!r}: expected one of {', '.join(ENGINES)}")


_lock = threading.Lock()
_current: list[Engine] = []
_default: dict[tuple, Engine] = {}


def default() -> Engine:
    """The process's engine when none is in use: ``$CXREPORT_ENGINE`` (default duckdb), started once."""
    key = (os.environ.get(ENGINE_ENV) or DEFAULT_ENGINE, os.environ.get(ENGINE_URL_ENV) or None)
    with _lock:
        if key not in _default:
            _default[key] = connect(*key)
        return _default[key]


_shared: dict[tuple, Engine] = {}


def shared(name: str | None = None, url: str | None = None) -> Engine:
    """The engine ``name`` (with ``url``) of this process, started on first use and reused after: a notebook
    kernel that builds several reports, or one report per partner, starts Spark once."""
    key = ((name or DEFAULT_ENGINE).lower(), url or None)
    with _lock:
        if key not in _shared:
            _shared[key] = connect(*key)
        return _shared[key]


def current() -> Engine:
    """The engine in use: the innermost :func:`use`, else :func:`default`."""
    return _current[-1] if _current else default()


@contextlib.contextmanager
def use(engine: Engine | str) -> Iterator[Engine]:
    """Run the metric functions on ``engine`` (an :class:`Engine` or an engine name) inside the block."""
    if isinstance(engine, str):
        engine = connect(engine)
    _current.append(engine)
    try:
        yield engine
    finally:
        _current.pop()


def table(data, name: str | None = None):
    """``data`` (pandas frame or Ibis table) as a table on the current engine."""
    return current().table(data, name)


def fetch(expr) -> pd.DataFrame:
    """A small result of the current engine as pandas."""
    return current().fetch(expr)


__all__ = ["ENGINES", "DEFAULT_ENGINE", "Engine", "EngineError", "connect", "current", "default", "fetch", "shared",
           "spark_session", "table", "use"]

"""Loading and validating an input on the engine: a CSV file, Parquet (a file or a folder of part files) or a
database table, read once into a typed table, with the input contract checked as engine queries.

:func:`load_table` is the one loader behind the pipeline (which writes what it loads into the run
database, :mod:`cxreport.engine.rundb`) and behind :func:`cxreport.reports.base.load_inputs` when a
notebook runs by hand. The contract is :mod:`cxreport.inputs` (``Field``, ``Contract``), and a problem
is reported exactly as the pandas loader reports it, one message per problem::

    revenue.csv row 7 (line 8), column amount: '-5'; expected a number >= 0

capped at :data:`cxreport.inputs.MAX_MESSAGES` messages with the total ("... and 31,204 more problems").

How a source is read (the *engine route*): DuckDB, embedded, whatever the run's engine (the inputs
are local files, and what it writes is Parquet, which DuckDB and Spark both read):

1. a CSV is read by DuckDB's ``read_csv`` with every column as text and the delimiter and encoding
   that :func:`cxreport.inputs._sniff` detects; one streaming pass trims the text (blank becomes
   missing) and types it (numbers DOUBLE, dates and months DATE, months at the first of the month)
   straight into a Parquet file, in file order. A value that does not parse keeps a mark the
   validation finds: NaN for a number, ``-infinity`` for a date or month (neither is a valid value);
   text, choices and patterns are checked on the trimmed text itself;
2. Parquet is read as it is typed: text columns are typed as a CSV's are, numbers and dates are
   taken as they are (a month given as a date or timestamp is its month);
3. a database table (an Ibis connection URL and a table name, e.g. PostgreSQL) is copied to a local
   Parquet file in batches (the database streams it, nothing holds it whole) and then read as Parquet;
4. every rule of the contract is counted in one aggregate query over the typed file (missing
   values, bad values, ranges, choices, patterns) plus one query per uniqueness rule; only when a
   count is not zero are the first offending rows fetched (``ORDER BY row LIMIT``), and for a CSV
   their physical lines and raw values are read back from the file by a streaming scan that stops
   at the last row it needs.

The pragmatic split (the *pandas route*, :func:`cxreport.inputs.load`, whose messages and types the
engine route reproduces): an ``.xlsx`` workbook; a CSV that is not UTF-8 (Windows-1252); the survey
files (their comments are redacted row by row with Presidio anyway, :func:`cxreport.inputs.load_survey`);
and a CSV under :data:`SMALL_CSV_BYTES` that is not an engine table (:data:`ENGINE_INPUTS`) or that
has problems, so every message a test or an analyst knows stays word for word what it was. A large
CSV, Parquet and database tables never go to pandas whole: a problem there is counted and its first
rows are named by the engine route.
"""

from __future__ import annotations

import atexit
import csv
import hashlib
import math
import os
import re
import shutil
import tempfile
import uuid
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from .. import inputs as contract
from ..inputs import (
    CONTRACTS,
    MAX_MESSAGES,
    READ_ATTR,
    Contract,
    Field,
    InputError,
    InputWarning,
    ReadInfo,
)

# Inputs a report receives as a table on the engine (never as a pandas frame): the ledger.
ENGINE_INPUTS = ("revenue.csv",)
# Inputs whose comments are redacted row by row (Presidio) while they are loaded: always the pandas route.
SURVEY_INPUTS = ("survey_responses.csv", "partner_survey_responses.csv")
# A CSV below this size that is not an engine input is read by pandas, and one with problems is read
# again by pandas for its messages; above it, everything happens on the engine.
SMALL_CSV_BYTES = 64 << 20
# What Python's str.strip() (and so the pandas route) removes from the ends of a value.
WHITESPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008" \
             "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
ROW_COLUMN = "file_row_number"  # DuckDB's row position in a Parquet file: the data row (from 0)


# ----------------------------------------------------------------------------- sources
@dataclass(frozen=True)
class Source:
    """Where an input is: a CSV, workbook or Parquet ``path``, or a database ``table`` reached through ``url``.

    ``name`` is the input's contract name (``revenue.csv``) whatever the source's own name is.
    """

    name: str
    path: Path | None = None
    url: str | None = None
    table: str | None = None

    def __post_init__(self):
        if (self.path is None) == (self.table is None):
            raise ValueError("a source is a path or a database table, not both")

    @property
    def format(self) -> str:
        """``csv``, ``xlsx``, ``parquet`` or ``table``."""
        if self.table is not None:
            return "table"
        if contract.is_parquet(self.path):
            return "parquet"
        if self.path.suffix.lower() in contract.EXCEL_SUFFIXES:
            return "xlsx"
        return "csv"

    @property
    def label(self) -> str:
        """How messages name the source: the file's name, or ``table revenue``."""
        return self.path.name if self.path is not None else f"table {self.table}"

    @property
    def contract(self) -> Contract:
        return CONTRACTS[self.name]


def find_source(data_dir: str | Path, name: str, tables: dict | None = None) -> Source | None:
    """Where input ``name`` is: a database table named for it in ``tables`` (the ``input_tables`` setting,
    ``{name: {"url": ..., "table": ...}}``), else its file in ``data_dir`` (:func:`cxreport.inputs.input_path`:
    NAME.csv, NAME.xlsx, NAME.parquet), else None."""
    spec = (tables or {}).get(name)
    if spec is not None:
        url, table = table_url(spec), _spec(spec, "table")
        return Source(name, url=url, table=table)
    path = contract.input_path(Path(data_dir), name)
    return Source(name, path=path) if path is not None else None


def _spec(spec, key: str):
    return spec.get(key) if isinstance(spec, dict) else getattr(spec, key, None)


def table_url(spec) -> str:
    """A table's connection URL: ``url``, or the environment variable ``url_env`` names (so a password
    need not be committed in params); :class:`InputError` when neither gives one."""
    url, env = _spec(spec, "url"), _spec(spec, "url_env")
    if env:
        url = os.environ.get(env) or url
    if not url:
        raise InputError([f"input table {_spec(spec, 'table')!r}: no connection URL (set url, or the environment "
                          f"variable {env!r} named by url_env)" if env else
                          f"input table {_spec(spec, 'table')!r}: no connection URL (set url or url_env)"])
    return url


def source_fingerprint(source: Source) -> dict:
    """What the cache compares: a file's or Parquet folder's :func:`cxreport.inputs.fingerprint`; for a
    database table its row count and an order-independent checksum of its rows, computed by the database."""
    if source.path is not None:
        return contract.fingerprint(source.path)
    rows, checksum = _table_checksum(source)
    digest = hashlib.sha256(f"{source.table}\n{rows}\n{checksum}".encode()).hexdigest()
    return {"file": source.label, "table": source.table, "format": "table", "rows_counted": rows, "sha256": digest}


def _table_checksum(source: Source) -> tuple[int, str]:
    """Row count and a checksum of every row, order-independent (a sum of row hashes) so the table's physical
    order does not matter. PostgreSQL: ``hashtextextended(row::text)``; DuckDB: ``hash(row)``; another backend:
    per-column counts, sums and extremes through Ibis."""
    con = _backend(source.url)
    name = getattr(con, "name", "")
    quoted = _ident(source.table)
    if name == "postgres":
        sql = (f"SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)::numeric), 0)::text FROM {quoted} AS t")
        with con.raw_sql(sql) as cur:
            rows, checksum = cur.fetchone()
        return int(rows), str(checksum)
    if name == "duckdb":
        rows, checksum = con.con.execute(f"SELECT count(*), coalesce(sum(hash(t.*)::HUGEINT), 0)::VARCHAR FROM {quoted} AS t").fetchall()[0]
        return int(rows), str(checksum)
    table = con.table(source.table)
    aggs = {"rows": table.count()}
    for col in table.columns:
        aggs[f"{col}_n"] = table[col].count()
        aggs[f"{col}_min"] = table[col].cast("string").min()
        aggs[f"{col}_max"] = table[col].cast("string").max()
    row = con.to_pandas(table.aggregate(**aggs)).iloc[0].to_dict()
    return int(row["rows"]), hashlib.sha256(repr(sorted(row.items())).encode()).hexdigest()


_BACKENDS: dict[str, object] = {}


def _backend(url: str):
    """An Ibis backend for a connection URL, opened once per process."""
    import ibis

    if url not in _BACKENDS:
        try:
            _BACKENDS[url] = ibis.connect(url)
        except Exception as exc:  # noqa: BLE001 - any driver error: the message names the URL's scheme only
            scheme = url.split(":", 1)[0]
            raise InputError([(f"cannot connect to the {scheme} database of an input table: {type(exc).__name__}: "
                               f"{_without_secrets(str(exc), url)}")]) from None
    return _BACKENDS[url]


def _without_secrets(text: str, url: str) -> str:
    """An error text without the URL's password."""
    password = re.match(r"^[a-z0-9+]+://[^:/@]*:([^@]*)@", url)
    return text.replace(password.group(1), "***") if password and password.group(1) else text


# ----------------------------------------------------------------------------- the loaded input
@dataclass
class LoadedInput:
    """An input read and validated once: typed, as a Parquet file (engine route) or a pandas frame (pandas route).

    ``columns`` are the typed columns (contract order, then column families in file order), ``kinds``
    their :class:`~cxreport.inputs.Field` kinds; ``ranges`` holds the first and last value of every
    date and month column (the report year's coverage check needs no second pass); ``provenance`` is
    what a run records (format, delimiter and encoding or sheet, warnings).
    """

    name: str
    source: Source
    route: str  # "engine" or "pandas"
    rows: int
    columns: tuple[str, ...]
    kinds: dict[str, str]
    provenance: dict
    info: ReadInfo | None = None
    frame: pd.DataFrame | None = None  # pandas route
    parquet: Path | None = None  # engine route: the typed file, int columns as DOUBLE (cast when read)
    ranges: dict[str, tuple] = field(default_factory=dict)
    engine: object | None = None  # where :meth:`table` places it when not told (None: the current engine)

    @property
    def label(self) -> str:
        return self.source.label

    def table(self, engine=None):
        """The typed input as an Ibis table on ``engine`` (default: the one :func:`load_table` was given, else the
        current engine)."""
        from . import current

        engine = engine or self.engine or current()
        if self.route == "pandas":
            return engine.table(self.frame)
        return typed_view(engine.read_parquet(self.parquet), self.columns, self.kinds)

    def pandas(self) -> pd.DataFrame:
        """The typed input as a pandas frame with the dtypes :func:`cxreport.inputs.load` gives (Int64 integers,
        float64 numbers, datetime64 dates, ``Period[M]`` months, string text); the index is the data row."""
        if self.route == "pandas":
            return self.frame
        return read_typed_parquet(self.parquet, self.columns, self.kinds, self.info)

    def write(self, path: Path) -> Path:
        """Store the typed input as one Parquet file at ``path`` (the run database): the engine route's file is
        moved (or copied when it stays in use), the pandas route's frame is written by pandas (its dtypes,
        Period months included, round-trip)."""
        path = Path(path)
        if self.route == "pandas":
            plain = self.frame.copy(deep=False)
            plain.attrs = {}  # how the file was read goes to the manifest, not into the Parquet metadata
            plain.to_parquet(path, index=False)
        elif Path(self.parquet).resolve() != path.resolve():
            shutil.copyfile(self.parquet, path)
        return path


def typed_view(table, columns, kinds: dict[str, str]):
    """The contract's columns of a typed table, integers as int64 (they are stored as DOUBLE while validated)."""
    return table.select(*[table[c].cast("int64").name(c) if kinds.get(c) == "int" else table[c] for c in columns])


def read_typed_parquet(path: Path, columns, kinds: dict[str, str], info: ReadInfo | None = None) -> pd.DataFrame:
    """A typed Parquet file of the engine route as pandas, with :func:`cxreport.inputs.load`'s dtypes."""
    import pyarrow.parquet as pq

    frame = pq.read_table(path, columns=list(columns)).to_pandas()
    return as_loaded_dtypes(frame, columns, kinds, info)


def as_loaded_dtypes(frame: pd.DataFrame, columns, kinds: dict[str, str], info: ReadInfo | None = None) -> pd.DataFrame:
    """``frame``'s columns in the dtypes :func:`cxreport.inputs.load` gives, the data row as index."""
    out = {}
    for col in columns:
        s, kind = frame[col], kinds.get(col, "text")
        if kind == "int":
            out[col] = pd.to_numeric(s).astype("Int64")
        elif kind == "float":
            out[col] = pd.to_numeric(s).astype(float)
        elif kind == "date":
            out[col] = pd.to_datetime(s).astype(_loaded_datetime_dtype())
        elif kind == "month":
            out[col] = pd.to_datetime(s).dt.to_period("M")
        else:
            out[col] = s.astype("string")
    typed = pd.DataFrame(out, index=pd.RangeIndex(len(frame)))
    if info is not None:
        typed.attrs[READ_ATTR] = info
    return typed


def _loaded_datetime_dtype():
    """The dtype the pandas route gives a date column (its resolution depends on the pandas version)."""
    return pd.to_datetime(pd.Series(["2020-01-01"]), errors="coerce", format="ISO8601").dtype


# ----------------------------------------------------------------------------- the entry point
_WORK: list[Path] = []


def _process_work_dir() -> Path:
    """A folder for the typed files of inputs loaded outside a pipeline run (removed when the process ends)."""
    if not _WORK:
        _WORK.append(Path(tempfile.mkdtemp(prefix="cxreport-load-")))
        atexit.register(shutil.rmtree, _WORK[0], True)
    return _WORK[0]


def route_for(source: Source, small_csv_bytes: int = SMALL_CSV_BYTES) -> str:
    """``engine`` or ``pandas``: which loader reads ``source`` first (see the module docstring)."""
    if source.name in SURVEY_INPUTS or source.format == "xlsx":
        return "pandas"
    if source.format in ("parquet", "table"):
        return "engine"
    if source.name in ENGINE_INPUTS or source.path.stat().st_size >= small_csv_bytes:
        return "engine"
    return "pandas"


def load_table(source: Source | str | Path, contract_: Contract | None = None, engine=None, *,
               work_dir: Path | None = None, out_name: str | None = None,
               small_csv_bytes: int | None = None) -> LoadedInput:
    """Read and validate one input, once; :class:`~cxreport.inputs.InputError` lists its problems.

    ``source`` is a :class:`Source`, or a path (a CSV, ``.xlsx`` or Parquet file, or a folder of
    Parquet part files) named for its contract. The typed Parquet file of the engine route is written
    to ``work_dir`` (default: a folder of this process) as ``out_name`` (default: a fresh name); the
    pipeline passes the run database's folder, so the file is written once, where it stays.
    ``engine`` is where :meth:`LoadedInput.table` places the result by default; the loading itself runs
    on DuckDB (see the module docstring). ``small_csv_bytes`` overrides :data:`SMALL_CSV_BYTES`.
    """
    if not isinstance(source, Source):
        path = Path(source)
        name = contract_.filename if contract_ is not None else (path.stem + ".csv")
        source = Source(name, path=path)
    contract_ = contract_ or source.contract
    small = SMALL_CSV_BYTES if small_csv_bytes is None else small_csv_bytes
    if source.path is not None and not source.path.exists():
        raise InputError([f"{source.label}: file not found at {source.path}"])
    if route_for(source, small) == "pandas":
        return replace(_load_with_pandas(source, contract_), engine=engine)
    work_dir = Path(work_dir) if work_dir is not None else _process_work_dir()
    target = work_dir / (out_name or f"{Path(source.name).stem}-{uuid.uuid4().hex[:8]}.parquet")
    try:
        if source.format == "csv":
            loaded = _load_csv(source, contract_, target, small)
        elif source.format == "parquet":
            loaded = _load_parquet(source, contract_, target)
        else:
            loaded = _load_database_table(source, contract_, target, work_dir)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return replace(loaded, engine=engine)


def _load_with_pandas(source: Source, contract_: Contract) -> LoadedInput:
    """The pandas route: :func:`cxreport.inputs.load` (survey files: :func:`~cxreport.inputs.load_survey`)."""
    if source.name in SURVEY_INPUTS:
        frame = contract.load_survey(source.path, contract=contract_)
    else:
        frame = contract.load(source.path, contract_)
    info = frame.attrs.get(READ_ATTR)
    fields = contract_.fields_for(list(frame.columns))
    kinds = {f.name: f.kind for f in fields if f.name in frame.columns}
    ranges = {c: _frame_range(frame[c]) for c, k in kinds.items() if k in ("date", "month")}
    return LoadedInput(source.name, source, "pandas", len(frame), tuple(frame.columns), kinds,
                       info.provenance() if info is not None else {"format": source.format}, info, frame=frame,
                       ranges=ranges)


def _frame_range(s: pd.Series) -> tuple:
    s = s.dropna()
    if s.empty:
        return (None, None)
    if isinstance(s.dtype, pd.PeriodDtype):
        return (s.min().start_time.date(), s.max().start_time.date())
    return (s.min().date(), s.max().date())


# ----------------------------------------------------------------------------- DuckDB, SQL pieces
def _duckdb(temp_dir: Path):
    import duckdb

    con = duckdb.connect()
    _quiet(con)
    con.execute("SET preserve_insertion_order = true")  # the typed file keeps the file's row order: row numbers
    con.execute(f"SET temp_directory = {_lit(str(temp_dir))}")
    return con


def _quiet(con) -> None:
    """No progress bar in a build's output. In a Jupyter kernel it is off already, and turning it off raises
    (DuckDB then wants ipywidgets), so it is turned off only where it is on."""
    if con.execute("SELECT current_setting('enable_progress_bar')").fetchall()[0][0]:
        con.execute("SET enable_progress_bar = false")


def _lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def _ident(name: str) -> str:
    """A SQL identifier, quoted."""
    return '"' + str(name).replace('"', '""') + '"'


def _trimmed(col: str) -> str:
    """The value trimmed as Python's str.strip() trims it, blank as NULL. The trim runs only on values whose
    first or last character is whitespace, a control character or not ASCII (two cheap comparisons; a
    reversed string compares by its last character): most values skip it."""
    edge = f"({col} < '!' OR {col} >= '\x7f' OR reverse({col}) < '!' OR reverse({col}) >= '\x7f')"
    return f"CASE WHEN {edge} THEN nullif(trim({col}, {_lit(WHITESPACE)}), '') ELSE nullif({col}, '') END"


BAD_NUMBER = "'NaN'::DOUBLE"
BAD_DATE = "'-infinity'::DATE"


def _typed_from_text(f: Field, raw: str) -> str:
    """A field's typed value from its text as read (SQL; ``raw`` untrimmed, NULL for an empty cell).

    Numbers: what DuckDB casts to DOUBLE, except digit groups with ``_`` (pandas refuses them); a value that
    does not parse is NaN, which is never valid. Dates: ISO 8601 as pandas reads it (``YYYY-MM-DD``, with or
    without a time; ``YYYY-MM``; ``YYYY``; ``YYYYMMDD``); months ``YYYY-MM`` at the first of the month; a
    value that does not parse is ``-infinity``, never valid either. Text, choices and patterns stay text,
    trimmed. Numbers and months first try the value as read, and trim only when that fails (a cast
    costs less than a trim, and almost every value is clean).
    """
    text = _trimmed(raw)
    if f.kind in ("int", "float"):
        slow = (f"CASE WHEN {text} IS NULL THEN NULL WHEN contains({text}, '_') THEN {BAD_NUMBER} "
                f"ELSE coalesce(TRY_CAST({text} AS DOUBLE), {BAD_NUMBER}) END")
        return (f"CASE WHEN {raw} IS NULL THEN NULL ELSE coalesce(CASE WHEN NOT contains({raw}, '_') "
                f"THEN TRY_CAST({raw} AS DOUBLE) END, {slow}) END")
    if f.kind == "month":
        def shaped(v):
            return f"length({v}) = 7 AND {v}[5] = '-' AND {v}[1] BETWEEN '0' AND '9'"
        slow = (f"CASE WHEN {text} IS NULL THEN NULL WHEN {shaped(text)} "
                f"THEN coalesce(TRY_CAST({text} || '-01' AS DATE), {BAD_DATE}) ELSE {BAD_DATE} END")
        return (f"CASE WHEN {raw} IS NULL THEN NULL WHEN {shaped(raw)} "
                f"THEN coalesce(TRY_CAST({raw} || '-01' AS DATE), {BAD_DATE}) ELSE {slow} END")
    if f.kind == "date":
        iso = (f"CASE WHEN length({text}) = 4 THEN TRY_CAST({text} || '-01-01' AS DATE) "
               f"WHEN length({text}) = 7 AND {text}[5] = '-' THEN TRY_CAST({text} || '-01' AS DATE) "
               f"WHEN length({text}) = 8 AND NOT contains({text}, '-') THEN TRY_CAST(TRY_STRPTIME({text}, '%Y%m%d') AS DATE) "
               f"ELSE coalesce(TRY_CAST({text} AS DATE), TRY_CAST(TRY_CAST({text} AS TIMESTAMP) AS DATE)) END")
        return (f"CASE WHEN {text} IS NULL THEN NULL WHEN {text}[1] BETWEEN '0' AND '9' "
                f"THEN coalesce({iso}, {BAD_DATE}) ELSE {BAD_DATE} END")
    return text


_NUMERIC = re.compile(r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|REAL|DECIMAL.*)$")
_TEMPORAL = re.compile(r"^(DATE|TIMESTAMP.*)$")


def _typed_from_column(f: Field, col: str, sql_type: str) -> str:
    """A field's typed value from a Parquet or database column of type ``sql_type`` (DuckDB's name)."""
    sql_type = sql_type.upper()
    if f.kind in ("int", "float") and _NUMERIC.match(sql_type):
        return f"CAST({col} AS DOUBLE)"
    if f.kind in ("date", "month") and _TEMPORAL.match(sql_type):
        value = f"CAST({col} AS DATE)"
        return f"CAST(date_trunc('month', {value}) AS DATE)" if f.kind == "month" else value
    return _typed_from_text(f, col if sql_type == "VARCHAR" else f"CAST({col} AS VARCHAR)")


def _bad_value(f: Field, col: str) -> str | None:
    """SQL that is true where a present typed value breaks the field's rule (None: text has no rule)."""
    parts = []
    if f.kind in ("int", "float"):
        parts.append(f"isnan({col})")
        if f.kind == "int":
            parts.append(f"isinf({col}) OR {col} <> floor({col})")
        if f.min is not None:
            parts.append(f"{col} < {_number(f.min)}")
        if f.max is not None:
            parts.append(f"{col} > {_number(f.max)}")
    elif f.kind in ("date", "month"):
        parts.append(f"isinf({col})")
    elif f.kind == "choice":
        parts.append(f"{col} NOT IN ({', '.join(_lit(c) for c in f.choices or ())})")
    if f.pattern is not None:
        parts.append(f"NOT regexp_full_match(CAST({col} AS VARCHAR), {_lit(f.pattern)})")
    return " OR ".join(f"({p})" for p in parts) if parts else None


def _number(x: float) -> str:
    return repr(float(x)) if math.isfinite(x) else ("'Infinity'::DOUBLE" if x > 0 else "'-Infinity'::DOUBLE")


# ----------------------------------------------------------------------------- the checks
@dataclass(frozen=True)
class _Check:
    """One rule of the contract on one column (or a column set), as SQL over the typed file."""

    order: tuple  # where its message sorts within a row, as pandera lists them: combinations, then fields in order
    kind: str  # "not_nullable", "unique", "value", "unique_together"
    columns: tuple[str, ...]
    where: str | None = None  # SQL: the rows that break it (row-wise rules)
    field: Field | None = None

    def expected(self) -> str:
        if self.kind == "unique_together":
            return contract._unique_error(self.columns)
        if self.kind == "unique":
            return "a value that appears only once in the file"
        if self.kind == "not_nullable":
            return f"{self.field.expected}, not blank"
        return self.field.expected


def _checks(contract_: Contract, fields: list[Field]) -> list[_Check]:
    out = []
    present = {f.name for f in fields}
    for i, cols in enumerate(contract_.unique_together):
        if all(c in present for c in cols):
            out.append(_Check((0, i), "unique_together", tuple(cols)))
    for i, f in enumerate(fields, start=1):
        col = _ident(f.name)
        if not f.nullable:
            out.append(_Check((i, 0), "not_nullable", (f.name,), f"{col} IS NULL", f))
        if f.unique:
            out.append(_Check((i, 1), "unique", (f.name,), None, f))
        bad = _bad_value(f, col)
        if bad is not None:
            out.append(_Check((i, 2), "value", (f.name,), f"{col} IS NOT NULL AND ({bad})", f))
    return out


def _duplicates_sql(relation: str, cols: tuple[str, ...], single: bool) -> str:
    """The key values that appear more than once (a single column's missing values are not duplicates:
    they have their own rule; a combination's are, as pandas' ``duplicated`` counts them)."""
    keys = ", ".join(_ident(c) for c in cols)
    not_null = f"WHERE {_ident(cols[0])} IS NOT NULL " if single else ""
    return f"SELECT {keys}, count(*) AS n FROM {relation} {not_null}GROUP BY ALL HAVING count(*) > 1"


def _dup_rows_where(relation: str, cols: tuple[str, ...], single: bool) -> str:
    keys = ", ".join(_ident(c) for c in cols)
    dup = _duplicates_sql(relation, cols, single)
    return f"({keys}) IN (SELECT ({keys}) FROM ({dup}))" if len(cols) > 1 else f"{keys} IN (SELECT {keys} FROM ({dup}))"


def _count_problems(con, relation: str, checks: list[_Check], ranges: list[str]) -> tuple[int, dict, dict]:
    """Rows, the number of rows breaking each check, and the (min, max) of the ``ranges`` columns: one aggregate
    query for the row-wise rules and the ranges, one per uniqueness rule."""
    aggs = ["count(*)"]
    for c in checks:
        if c.where is not None:
            aggs.append(f"count(*) FILTER (WHERE {c.where})")
    for col in ranges:
        aggs += [f"min({_ident(col)}) FILTER (WHERE NOT isinf({_ident(col)}))",
                 f"max({_ident(col)}) FILTER (WHERE NOT isinf({_ident(col)}))"]
    row = con.execute(f"SELECT {', '.join(aggs)} FROM {relation}").fetchall()[0]
    rows, counts, it = int(row[0]), {}, iter(row[1:])
    for c in checks:
        if c.where is not None:
            counts[c] = int(next(it))
    found = {col: (next(it), next(it)) for col in ranges}
    for c in checks:
        if c.where is None:
            dup = _duplicates_sql(relation, c.columns, c.kind == "unique")
            counts[c] = int(con.execute(f"SELECT coalesce(sum(n), 0) FROM ({dup})").fetchall()[0][0])
    return rows, counts, found


def _first_rows(con, relation: str, check: _Check, limit: int) -> list[int]:
    """The first ``limit`` rows (from 0) that break ``check``."""
    where = check.where if check.where is not None else _dup_rows_where(relation, check.columns, check.kind == "unique")
    return [int(r[0]) for r in con.execute(
        f"SELECT {ROW_COLUMN} FROM {relation} WHERE {where} ORDER BY {ROW_COLUMN} LIMIT {int(limit)}").fetchall()]


def _check_typed_file(con, target: Path, contract_: Contract, fields: list[Field], header: list[str],
                      label: str) -> tuple[str, list[_Check], int, dict, dict]:
    """The checks on an input's typed file (the CSV and Parquet routes): ``(relation, checks, rows, counts, ranges)``
    from :func:`_count_problems`; a file of the wrong shape (no rows, only a header) stops here."""
    relation = f"read_parquet({_lit(str(target))}, file_row_number = true)"
    checks = _checks(contract_, fields)
    ranges = [f.name for f in fields if f.kind in ("date", "month")]
    rows, counts, found = _count_problems(con, relation, checks, ranges)
    shape = contract.shape_problems(header, rows, contract_, label)
    if shape:
        raise InputError(shape)
    return relation, checks, rows, counts, found


def _problems(con, relation: str, checks: list[_Check], counts: dict, label: str,
              lookup, missing: list[str]) -> InputError:
    """One message per problem, the first :data:`MAX_MESSAGES` in the pandas route's order (by row, then as
    pandera lists a row's problems), the others counted. ``lookup(rows, columns)`` gives each row's
    place (``row 7 (line 8)``) and its values as they stand in the source."""
    failing = [c for c in checks if counts.get(c)]
    budget = max(MAX_MESSAGES - len(missing), 0)
    found = sorted(((row, c.order, c) for c in failing for row in _first_rows(con, relation, c, budget)),
                   key=lambda t: (t[0], t[1]))[:budget]
    columns = sorted({col for _, _, c in found for col in c.columns})
    places = lookup(sorted({row for row, _, _ in found}), columns)
    messages = list(missing)
    for row, _, c in found:
        where, values = places[row]
        if c.kind == "unique_together":
            shown = ", ".join(f"{col}={_raw_repr(values.get(col))}" for col in c.columns)
            messages.append(f"{where}: {shown} appears more than once; expected {c.expected()}")
        else:
            messages.append(f"{where}, column {c.columns[0]}: {contract._describe(values.get(c.columns[0]))}; "
                            f"expected {c.expected()}")
    total = len(missing) + sum(counts[c] for c in failing)
    return InputError(messages, unlisted=total - len(messages))


def _raw_repr(value) -> str:
    """A value of a combination as the pandas route shows it (``repr`` of the text; a blank is ``nan``)."""
    return "nan" if value is None else repr(value)


def _missing_columns(header: list[str], contract_: Contract, label: str, fields: list[Field]) -> list[str]:
    """The pandas route's messages for required columns the header lacks (with "did you mean" hints)."""
    present = set(header)
    hints = {name: col for col, name in contract._column_hints(header, contract_).items()}
    layout = contract._layout_hint(header)
    out = []
    for f in fields:
        if f.required and f.name not in present:
            hint = (f"; the file has a column {hints[f.name]!r}: did you mean {f.name!r}?" if f.name in hints else layout)
            out.append(f"{label}: column {f.name!r} is missing; expected a column of {f.expected}{hint}")
    return out


def _hints(header: list[str], contract_: Contract, label: str) -> list[str]:
    """The "did you mean" notes on the header (warned by :func:`_warn`, once the route that reads the file is known)."""
    return contract._hint_warnings(contract._column_hints(header, contract_), contract_, label)


def _warn(notes: list[str]) -> None:
    for text in notes:
        warnings.warn(InputWarning(text), stacklevel=4)


# ----------------------------------------------------------------------------- CSV
def _load_csv(source: Source, contract_: Contract, target: Path, small: int) -> LoadedInput:
    """The engine route for a CSV: one streaming pass into the typed file, then the checks on it."""
    path, label = source.path, source.label
    info = contract._sniff(path, label, contract_)
    if info.format != "csv" or info.encoding == "cp1252":
        return _load_with_pandas(source, contract_)  # Windows-1252: the pandas route reads and warns
    header, skip = _csv_header(path, info)
    if header is None:
        raise InputError([f"{label}: the file is empty; expected a header row"])
    positions = {}
    for i, name in enumerate(header):
        positions.setdefault(name, i)  # a repeated header name: the first column is the one read (pandas: "x", "x.1")
    fields = [f for f in contract_.fields_for(header) if f.name in positions and not f.personal]
    all_fields = contract_.fields_for(header)
    missing = _missing_columns(header, contract_, label, all_fields)
    notes = _hints(header, contract_, label)
    small_file = path.stat().st_size < small
    problems_route = (lambda: _load_with_pandas(source, contract_)) if small_file else None

    work = target.parent
    con = _duckdb(work)
    try:
        columns = "{" + ", ".join(f"{_lit(f'c{i}')}: 'VARCHAR'" for i in range(len(header))) + "}"
        select = ", ".join(f"{_typed_from_text(f, _ident(f'c{positions[f.name]}'))} AS {_ident(f.name)}"
                           for f in fields) or "NULL AS _none"
        options = (f"header = true, skip = {skip}, delim = {_lit(info.delimiter)}, quote = '\"', escape = '\"', "
                   f"columns = {columns}, auto_detect = false, encoding = 'utf-8'")
        copy = lambda extra: con.execute(
            f"COPY (SELECT {select} FROM read_csv({_lit(str(path))}, {options}{extra})) TO {_lit(str(target))} (FORMAT parquet)")
        try:
            try:
                copy("")
            except Exception as exc:
                if "Found:" not in str(exc) or _found_more(str(exc)):
                    raise
                # A row with fewer values than the header (pandas fills it with blanks): read again padded.
                copy(", null_padding = true, parallel = false")
        except Exception as exc:  # noqa: BLE001
            text = str(exc)
            if _found_more(text):
                if problems_route:
                    return problems_route()
                raise InputError([contract._parser_problem(path, label, info, exc)]) from None
            if "unicode" in text.lower() or "utf" in text.lower() or "encoding" in text.lower():
                return _load_with_pandas(source, contract_)  # a non-UTF-8 byte further on: Windows-1252, read by pandas
            if problems_route:
                return problems_route()
            raise InputError([f"{label}: not a readable CSV file: {text.splitlines()[0] if text else exc}"]) from None
        info = replace(info, source=contract._source_key(path), warnings=tuple(notes))
        relation, checks, rows, counts, found = _check_typed_file(con, target, contract_, fields, header, label)
        if missing or any(counts.values()):
            if problems_route:
                return problems_route()
            lookup = lambda rows_, cols: _csv_places(path, info, label, rows_, cols, positions)
            _warn(notes)
            raise _problems(con, relation, checks, counts, label, lookup, missing)
    finally:
        con.close()
    _warn(notes)
    kinds = {f.name: f.kind for f in fields}
    return LoadedInput(source.name, source, "engine", rows, tuple(f.name for f in fields), kinds,
                       info.provenance(), info, parquet=target, ranges=found)


def _found_more(text: str) -> bool:
    """Whether DuckDB's CSV error is a row with more values than the header."""
    m = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
    return bool(m) and int(m.group(2)) > int(m.group(1))


def _csv_header(path: Path, info: ReadInfo) -> tuple[list[str] | None, int]:
    """The header's names (trimmed) and how many blank lines come before it."""
    skip = 0
    with path.open(newline="", encoding=info.encoding) as fh:
        reader = csv.reader(fh, delimiter=info.delimiter)
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                skip = reader.line_num
                continue
            return [c.strip() for c in row], skip
    return None, skip


def _csv_places(path: Path, info: ReadInfo, label: str, rows: list[int], columns: list[str],
                positions: dict[str, int]) -> dict[int, tuple[str, dict]]:
    """For each wanted data row (from 0): ``row N (line L)`` and the raw values of ``columns`` (trimmed, blank
    None), read with Python's csv module like the pandas route counts lines. It stops at the last wanted row."""
    wanted, out = set(rows), {}
    if not wanted:
        return out
    last = max(wanted)
    with path.open(newline="", encoding=info.encoding) as fh:
        reader = csv.reader(fh, delimiter=info.delimiter)
        prev, data_row, seen_header = 0, -1, False
        for row in reader:
            start, prev = prev + 1, reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if not seen_header:
                seen_header = True
                continue
            data_row += 1
            if data_row in wanted:
                values = {}
                for col in columns:
                    i = positions.get(col)
                    v = row[i].strip() if i is not None and i < len(row) else ""
                    values[col] = v if v else None
                out[data_row] = (f"{label} row {data_row + 1} (line {start})", values)
            if data_row >= last:
                break
    return out


# ----------------------------------------------------------------------------- Parquet
def _load_parquet(source: Source, contract_: Contract, target: Path, label: str | None = None,
                  provenance: dict | None = None) -> LoadedInput:
    """The engine route for Parquet (a file or a folder of part files): checked where it lies, then written typed."""
    label = label or source.label
    parts = contract.parquet_parts(source.path)
    if not parts:
        raise InputError([f"{label}: no Parquet file found at {source.path}"])
    con = _duckdb(target.parent)
    try:
        files = "[" + ", ".join(_lit(str(p)) for p in parts) + "]"
        try:
            described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({files}, union_by_name = true)").fetchall()
        except Exception as exc:  # noqa: BLE001 - not Parquet, or unreadable
            raise InputError([f"{label}: not a readable Parquet file: {str(exc).splitlines()[0]}"]) from None
        types = {}
        for name, sql_type, *_ in described:
            types.setdefault(str(name).strip(), (name, sql_type))
        header = list(types)
        fields = [f for f in contract_.fields_for(header) if f.name in types and not f.personal]
        missing = _missing_columns(header, contract_, label, contract_.fields_for(header))
        notes = _hints(header, contract_, label)
        _warn(notes)
        source_rel = f"read_parquet({files}, union_by_name = true, filename = true, file_row_number = true)"
        select = ", ".join(f"{_typed_from_column(f, _ident(types[f.name][0]), types[f.name][1])} AS {_ident(f.name)}"
                           for f in fields) or "NULL AS _none"
        # Part files in name order, rows in file order: the typed file's row numbers are the input's.
        order = f"ORDER BY filename, {ROW_COLUMN}" if len(parts) > 1 else ""
        con.execute(f"COPY (SELECT {select} FROM {source_rel} {order}) TO {_lit(str(target))} (FORMAT parquet)")
        relation, checks, rows, counts, found = _check_typed_file(con, target, contract_, fields, header, label)
        if missing or any(counts.values()):
            offsets = _part_offsets(parts)
            lookup = lambda rows_, cols: _parquet_places(con, parts, offsets, types, label, rows_, cols)
            raise _problems(con, relation, checks, counts, label, lookup, missing)
    finally:
        con.close()
    kinds = {f.name: f.kind for f in fields}
    prov = provenance or {"format": "parquet", **({"parts": len(parts)} if source.path.is_dir() else {})}
    if notes:
        prov = {**prov, "warnings": notes}
    return LoadedInput(source.name, source, "engine", rows, tuple(f.name for f in fields), kinds, prov,
                       None, parquet=target, ranges=found)


def _part_offsets(parts: list[Path]) -> dict[str, int]:
    import pyarrow.parquet as pq

    offsets, total = {}, 0
    for p in parts:
        offsets[str(p)] = total
        total += pq.ParquetFile(p).metadata.num_rows
    return offsets


def _parquet_places(con, parts: list[Path], offsets: dict[str, int], types: dict, label: str,
                    rows: list[int], columns: list[str]) -> dict[int, tuple[str, dict]]:
    """Each wanted row's place (``row N``: Parquet has no lines) and its values as stored, as text."""
    out = {}
    if not rows:
        return out
    by_file: dict[str, list[int]] = {}
    starts = sorted(offsets.items(), key=lambda kv: kv[1])
    for r in rows:
        file, start = next((f, s) for f, s in reversed(starts) if s <= r)
        by_file.setdefault(file, []).append(r - start)
    cols = ", ".join(f"CAST({_ident(types[c][0])} AS VARCHAR)" for c in columns) or "NULL"
    for file, local in by_file.items():
        found = con.execute(f"SELECT {ROW_COLUMN}, {cols} FROM read_parquet({_lit(file)}, file_row_number = true) "
                            f"WHERE {ROW_COLUMN} IN ({', '.join(str(i) for i in local)})").fetchall()
        for rec in found:
            row = offsets[file] + int(rec[0])
            values = {c: (v.strip() or None) if isinstance(v, str) else v for c, v in zip(columns, rec[1:])}
            out[row] = (f"{label} row {row + 1}", values)
    return out


# ----------------------------------------------------------------------------- database tables
def _load_database_table(source: Source, contract_: Contract, target: Path, work_dir: Path) -> LoadedInput:
    """A database table: copied to a local Parquet file in batches through Ibis (only the contract's columns
    and the column families), then checked and typed as Parquet."""
    con = _backend(source.url)
    try:
        table = con.table(source.table)
    except Exception as exc:  # noqa: BLE001 - the driver's "relation does not exist"
        raise InputError([(f"{source.label}: not found in the database ({type(exc).__name__}: "
                           f"{_without_secrets(str(exc).splitlines()[0], source.url)})")]) from None
    header = [str(c) for c in table.columns]
    known = {f.name for f in contract_.fields_for([h.strip() for h in header])}
    keep = [c for c in header if c.strip() in known] or header  # none known: copied whole, so the messages say what is missing
    raw = work_dir / f".{Path(source.name).stem}-{uuid.uuid4().hex[:8]}.raw.parquet"
    try:
        _copy_to_parquet(con, table.select(*keep), raw)
        prov = {"format": "table", "table": source.table, "backend": getattr(con, "name", "")}
        return replace(_load_parquet(Source(source.name, path=raw), contract_, target, label=source.label,
                                     provenance=prov), source=source)
    finally:
        raw.unlink(missing_ok=True)


def _copy_to_parquet(con, expr, path: Path) -> None:
    """Stream a table of a database to a Parquet file: DuckDB's own ``COPY`` (Ibis 12's batch reader does not work
    with DuckDB 2), any other backend in Arrow batches of 200,000 rows."""
    import ibis
    import pyarrow.parquet as pq

    if getattr(con, "name", "") == "duckdb":
        con.con.execute(f"COPY ({ibis.to_sql(expr, dialect='duckdb')}) TO {_lit(str(path))} (FORMAT parquet)")
        return
    writer = None
    try:
        for batch in con.to_pyarrow_batches(expr, chunk_size=200_000):
            if writer is None:
                writer = pq.ParquetWriter(path, batch.schema)
            writer.write_batch(batch)
        if writer is None:  # no rows: an empty file of the table's schema
            pq.write_table(con.to_pyarrow(expr.limit(0)), path)
    finally:
        if writer is not None:
            writer.close()


# ----------------------------------------------------------------------------- cross-file rules on the engine
def check_references(loaded: dict[str, LoadedInput], references=contract.REFERENCES) -> InputError | None:
    """The cross-file rules (:data:`cxreport.inputs.REFERENCES`) between loaded inputs, as anti-joins on DuckDB:
    one message per offending row, as :func:`cxreport.inputs.check_references` writes it, the first
    :data:`MAX_MESSAGES` listed and the rest counted. None when every rule holds."""
    import duckdb

    messages: list[str] = []
    unlisted = 0
    con = duckdb.connect()
    try:
        _quiet(con)
        for ref in references:
            child, parent = loaded.get(ref.filename), loaded.get(ref.target)
            if child is None or parent is None or ref.column not in child.columns or ref.target_column not in parent.columns:
                continue
            if child.route == "pandas" and parent.route == "pandas":
                found = contract.check_references({ref.filename: child.frame, ref.target: parent.frame}, (ref,))
                listed = found[: max(MAX_MESSAGES - len(messages), 0)]
                messages += listed
                unlisted += len(found) - len(listed)
                continue
            child_rel = _relation(con, child, "child")
            parent_rel = _relation(con, parent, "parent")
            col, target_col = _ident(ref.column), _ident(ref.target_column)
            bad = (f"{child_rel} AS c WHERE c.{col} IS NOT NULL AND NOT EXISTS "
                   f"(SELECT 1 FROM {parent_rel} AS p WHERE p.{target_col} = c.{col})")
            count = int(con.execute(f"SELECT count(*) FROM {bad}").fetchall()[0][0])
            if not count:
                continue
            budget = max(MAX_MESSAGES - len(messages), 0)
            rows = con.execute(f"SELECT c.{ROW_COLUMN}, c.{col} FROM {bad} ORDER BY 1 LIMIT {budget}").fetchall()
            places = _places_of(child, [int(r[0]) for r in rows])
            target_name = parent.source.label if parent.source.path is not None else ref.target
            messages += [f"{places[int(r)]}, column {ref.column}: {v!r}; expected a {ref.target_column} listed in {target_name}"
                         for r, v in rows]
            unlisted += count - len(rows)
    finally:
        con.close()
    return InputError(messages, unlisted=unlisted) if messages or unlisted else None


def _relation(con, item: LoadedInput, alias: str) -> str:
    """A loaded input as a DuckDB relation with its row numbers (``file_row_number``)."""
    if item.route == "engine":
        return f"read_parquet({_lit(str(item.parquet))}, file_row_number = true)"
    name = f"{alias}_{uuid.uuid4().hex[:8]}"
    frame = item.frame.reset_index(drop=True)
    keep = [c for c in frame.columns if item.kinds.get(c) in ("text", "choice")]
    view = pd.DataFrame({c: frame[c].astype(object).where(frame[c].notna(), None) for c in keep})
    view[ROW_COLUMN] = range(len(frame))
    con.register(name, view)
    return name


def _places_of(item: LoadedInput, rows: list[int]) -> dict[int, str]:
    """``revenue.csv row 7 (line 8)`` for each row (from 0) of a loaded input."""
    if item.source.format == "csv" and item.info is not None:
        found = _csv_places(item.source.path, item.info, item.label, rows, [], {})
        return {r: found[r][0] if r in found else f"{item.label} row {r + 1} (line {r + 2})" for r in rows}
    if item.route == "pandas":
        where = contract._Where(item.frame, item.label)
        return {r: where(r) for r in rows}
    return {r: f"{item.label} row {r + 1}" for r in rows}


__all__ = ["ENGINE_INPUTS", "SMALL_CSV_BYTES", "SURVEY_INPUTS", "LoadedInput", "Source", "as_loaded_dtypes",
           "check_references", "find_source", "load_table", "read_typed_parquet", "route_for", "source_fingerprint",
           "table_url", "typed_view"]

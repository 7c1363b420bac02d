"""The input contract: what each input file must hold, validated with pandera.

An input is a CSV file (delimiter ``,``, ``;`` or tab and encoding UTF-8, with or
without BOM, detected; Windows-1252 read with an :class:`InputWarning`) or an
``.xlsx`` workbook (its first sheet) under the same contract. Files are read as text, validated on the raw text (so a bad value is reported
as it stands in the file), then converted to typed columns. Every problem
becomes one message naming the file, the row, the column, the bad value and
what was expected, e.g.::

    survey_responses.csv row 42 (line 43), column nps: '11'; expected an integer 0-10

Row numbers count data rows from 1; the line number is the physical line the
row starts on (header and line breaks inside quoted fields counted, as a text
editor shows it); a workbook's rows are named by their sheet row
(``survey_responses.xlsx row 4 (sheet row 5), column nps: ...``). Unknown extra
columns are dropped; one that looks like a misspelt contract column gets an
:class:`InputWarning` ("did you mean 'tenure_years'?").
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import difflib
import hashlib
import re
import warnings
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from . import privacy
from .comments import redact_personal_data

MAX_MESSAGES = 200
# An id that becomes part of a file name (a partner's scorecard): letters, digits, "-" and "_", at most 64.
SAFE_ID = r"[A-Za-z0-9_-]{1,64}"
SAFE_ID_EXPECTED = "an id of 1-64 letters, digits, '-' or '_' (it names the partner's scorecard files)"


class InputError(ValueError):
    """Raised when an input file breaks the contract; carries one message per problem.

    ``unlisted`` counts the problems found but not listed in ``messages``: validation on the engine
    counts every bad value but fetches only the first :data:`MAX_MESSAGES` offending rows, so a
    file with a million bad rows says how many there are without holding a million messages.
    ``total`` is every problem, listed or not.
    """

    def __init__(self, messages: list[str], unlisted: int = 0):
        self.messages = list(messages)
        self.unlisted = max(int(unlisted), 0)
        shown = self.messages[:MAX_MESSAGES]
        more = self.total - len(shown)
        text = "\n".join(f"  - {m}" for m in shown)
        if more > 0:
            text += f"\n  ... and {more} more problems"
        super().__init__(f"{self.total} problem(s) in the input data:\n{text}")

    @property
    def total(self) -> int:
        return len(self.messages) + self.unlisted


@dataclass(frozen=True)
class Field:
    """One column of an input file.

    ``kind`` is one of ``text``, ``int``, ``float``, ``date``, ``month``
    (YYYY-MM) or ``choice``. ``required`` columns must be present;
    ``nullable`` ones may be blank. ``personal`` columns hold contact data and
    are dropped on loading unless asked for. ``pattern`` (a regular
    expression the whole value must match) guards text that becomes part of a
    file name, such as :data:`SAFE_ID`.
    """

    name: str
    kind: str = "text"
    required: bool = True
    nullable: bool = False
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None
    unique: bool = False
    personal: bool = False
    pattern: str | None = None

    @property
    def expected(self) -> str:
        if self.pattern == SAFE_ID:
            return SAFE_ID_EXPECTED + (" or blank" if self.nullable else "")
        if self.kind == "int":
            what = "an integer"
        elif self.kind == "float":
            what = "a number"
        elif self.kind == "date":
            what = "a date (YYYY-MM-DD)"
        elif self.kind == "month":
            what = "a month (YYYY-MM)"
        elif self.kind == "choice":
            what = "one of " + ", ".join(self.choices or ())
        else:
            what = "text"
        if self.min is not None and self.max is not None:
            what += f" {self.min:g}-{self.max:g}"
        elif self.min is not None:
            what += f" >= {self.min:g}"
        elif self.max is not None:
            what += f" <= {self.max:g}"
        if self.nullable:
            what += " or blank"
        return what


@dataclass(frozen=True)
class Contract:
    """An input file: its name, its fixed fields, and column families by prefix.

    ``prefixed`` maps a column prefix (``tp_``) to the field every column with
    that prefix follows. ``unique_together`` lists column sets whose
    combination must be unique (e.g. respondent within a survey year).
    """

    filename: str
    fields: tuple[Field, ...]
    prefixed: dict[str, Field] = field(default_factory=dict)
    unique_together: tuple[tuple[str, ...], ...] = ()
    # Column families of which the file must hold at least one column (a maturity file needs a dimension score).
    requires_prefixed: tuple[str, ...] = ()

    def fields_for(self, columns: list[str]) -> list[Field]:
        out = list(self.fields)
        known = {f.name for f in out}
        for col in columns:
            if col in known:
                continue
            for prefix, template in self.prefixed.items():
                if col.startswith(prefix) and len(col) > len(prefix):
                    out.append(Field(col, template.kind, False, template.nullable, template.min, template.max, template.choices))
        return out


# ------------------------------------------------------------- vectorised checks
def _as_number(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce")


def _as_date(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, errors="coerce", format="ISO8601")


def _as_month(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s.where(s.str.fullmatch(r"\d{4}-\d{2}")), errors="coerce", format="%Y-%m")


def _value_check(f: Field) -> pa.Check:
    """A pandera check on the raw text that is True where the value is acceptable."""

    def check(s: pd.Series) -> pd.Series:
        present = s.notna()
        if f.kind in ("int", "float"):
            x = _as_number(s)
            ok = x.notna()
            if f.kind == "int":
                ok &= np.isclose(x.fillna(0) % 1, 0)
            if f.min is not None:
                ok &= x >= f.min
            if f.max is not None:
                ok &= x <= f.max
        elif f.kind == "date":
            ok = _as_date(s).notna()
        elif f.kind == "month":
            ok = _as_month(s).notna()
        elif f.kind == "choice":
            ok = s.isin(f.choices or ())
        else:
            ok = pd.Series(True, index=s.index)
        if f.pattern is not None:
            ok &= s.astype("string").str.fullmatch(f.pattern).fillna(False).astype(bool)
        return ok | ~present

    return pa.Check(check, error=f.expected, name=f"{f.name}_format")


def _schema(contract: Contract, fields: list[Field]) -> pa.DataFrameSchema:
    columns = {
        f.name: pa.Column(
            None,  # raw text, or numbers already parsed by the fast reader
            checks=[] if f.kind == "text" and f.pattern is None else [_value_check(f)],
            nullable=f.nullable,
            required=f.required,
            unique=f.unique,
            coerce=False,
        )
        for f in fields
    }
    checks = []
    for cols in contract.unique_together:

        def unique_rows(df: pd.DataFrame, cols=cols) -> pd.Series:
            if any(c not in df.columns for c in cols):  # a missing column has its own message
                return pd.Series(True, index=df.index)
            return ~df.duplicated(subset=list(cols), keep=False)

        checks.append(pa.Check(unique_rows, error=_unique_error(cols), name="unique_" + "_".join(cols)))
    return pa.DataFrameSchema(columns, checks=checks, strict=False)


def _describe(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return "blank"
    return repr(str(value))


def _unique_error(cols: tuple[str, ...]) -> str:
    return f"a unique combination of {', '.join(cols)}"


def _messages(errors: SchemaErrors, raw: pd.DataFrame, contract: Contract, fields: list[Field], label: str) -> list[str]:
    """Turn pandera's failure cases into one sorted message per (row, column, problem)."""
    by_name = {f.name: f for f in fields}
    unique_checks = {_unique_error(c): c for c in contract.unique_together}
    out: list[tuple[int, str]] = []
    seen = set()
    where_is = _Where(raw, label)
    hints = {name: col for col, name in _column_hints([str(c) for c in raw.columns], contract).items()}
    layout = _layout_hint([str(c) for c in raw.columns])
    for case in errors.failure_cases.itertuples(index=False):
        check, column, idx = str(case.check), case.column, case.index
        if check.startswith("column_in_dataframe"):
            f = by_name.get(case.failure_case)
            hint = f"; the file has a column {hints[case.failure_case]!r}: did you mean {case.failure_case!r}?" \
                if case.failure_case in hints else layout
            out.append((-1, (f"{label}: column {case.failure_case!r} is missing; expected a column of "
                             f"{f.expected if f else 'values'}{hint}")))
            continue
        if idx is None or pd.isna(idx):
            out.append((-1, f"{label}, column {column}: {check} ({case.failure_case})"))
            continue
        row = int(idx) + 1
        where = where_is(idx)
        if check in unique_checks:
            if (row, check) in seen:
                continue
            seen.add((row, check))
            cols = unique_checks[check]
            values = ", ".join(f"{c}={raw.at[idx, c]!r}" for c in cols if c in raw.columns)
            out.append((row, f"{where}: {values} appears more than once; expected {check}"))
            continue
        f = by_name.get(column)
        expected = f.expected if f else "a valid value"
        if check == "field_uniqueness":
            expected = "a value that appears only once in the file"
        elif check == "not_nullable":
            expected = f"{expected}, not blank"
        value = raw.at[idx, column] if column in raw.columns else case.failure_case
        out.append((row, f"{where}, column {column}: {_describe(value)}; expected {expected}"))
    out.sort(key=lambda t: t[0])
    return [m for _, m in out]


# ------------------------------------------------------------- reading: what the file is
class InputWarning(UserWarning):
    """Something about an input file worth knowing that does not stop the run: a guessed encoding,
    a column that looks like a misspelt contract column. Emitted with :func:`warnings.warn`."""


READ_ATTR = "cxreport_read"  # key of the ReadInfo in the .attrs of a frame that load/read_raw return
DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 with BOM", "cp1252": "Windows-1252"}
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
_SNIFF_BYTES = 1 << 16


@dataclass(frozen=True)
class ReadInfo:
    """How an input file was read: for a CSV its ``delimiter`` and ``encoding`` (a Python codec name:
    ``utf-8``, ``utf-8-sig`` when it starts with a BOM, ``cp1252`` for Windows-1252); for a workbook the
    ``sheet`` read (its first). ``warnings`` are the :class:`InputWarning` texts loading it raised.

    :func:`load` puts it in the returned frame's ``.attrs["cxreport_read"]``; :func:`read_info` and
    :func:`fingerprint` give it for a path. ``provenance()`` is what a run records.
    """

    delimiter: str | None = ","
    encoding: str | None = "utf-8"
    sheet: str | None = None
    file: str = ""
    format: str = "csv"  # "csv" or "xlsx"
    warnings: tuple[str, ...] = ()
    # Where the rows were read from (to find each data row's physical line); not part of provenance.
    source: tuple | None = field(default=None, compare=False, repr=False)

    def __deepcopy__(self, memo):  # immutable: pandas copies .attrs on every operation, keep that free
        return self

    def provenance(self) -> dict:
        out = {"format": self.format}
        if self.format == "csv":
            out.update(delimiter=self.delimiter, encoding=self.encoding)
        else:
            out["sheet"] = self.sheet
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out

    def describe(self) -> str:
        """In words, e.g. ``semicolon-separated, Windows-1252`` or ``sheet 'Responses'``."""
        if self.format != "csv":
            return f"Excel workbook, sheet {self.sheet!r}"
        return f"{DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))}-separated, {ENCODING_NAMES.get(self.encoding, self.encoding)}"


def _source_key(path: Path) -> tuple:
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns)


def _known_columns(contract: Contract | None) -> tuple[set[str], tuple[str, ...]]:
    if contract is None:
        return set(), ()
    return {f.name for f in contract.fields}, tuple(contract.prefixed)


def _contract_for(path: Path) -> Contract | None:
    return CONTRACTS.get(path.name) or CONTRACTS.get(path.stem + ".csv")


def _binary_problem(head: bytes, path: Path, label: str) -> str | None:
    """What a file that is not delimited text is, in words a spreadsheet user recognises."""
    if head.startswith(b"PK\x03\x04"):
        if path.suffix.lower() in EXCEL_SUFFIXES:
            return None
        return (f"{label}: this is an Excel workbook (.xlsx), not a CSV text file; save it from Excel as "
                f"'CSV UTF-8 (Comma delimited)', or name it {path.stem}.xlsx (its first sheet is read)")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return (f"{label}: this is an old Excel 97-2003 workbook (.xls); save it from Excel as "
                f"'Excel Workbook (.xlsx)' or 'CSV UTF-8 (Comma delimited)'")
    if path.suffix.lower() in EXCEL_SUFFIXES:
        return (f"{label}: not an Excel workbook, though named {path.suffix}; it looks like text: "
                f"name it {path.stem}.csv if it is a CSV file")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(head) >= 4 and head[1:4:2] == b"\x00\x00") \
            or (len(head) >= 4 and head[0:4:2] == b"\x00\x00"):
        return (f"{label}: the file is UTF-16 text (what Excel saves as 'Unicode Text'); save it as "
                f"'CSV UTF-8 (Comma delimited)' instead")
    if b"\x00" in head:
        return f"{label}: this is not a text file (it holds binary data); expected a CSV file"
    return None


def _utf8_prefix_ok(head: bytes, final: bool) -> bool:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=final)
        return True
    except UnicodeDecodeError:
        return False


def detect_delimiter(header_line: str, contract: Contract | None = None) -> str:
    """The delimiter (``,``, ``;`` or tab) that splits a header line into the most contract column
    names (with a contract), else into the most columns; a comma on a tie."""
    names, prefixes = _known_columns(contract)
    best, best_score = ",", None
    for d in DELIMITERS:
        cols = [c.strip() for c in next(csv.reader([header_line], delimiter=d), [])]
        known = sum(1 for c in cols if c in names or any(c.startswith(p) and len(c) > len(p) for p in prefixes))
        score = (known, len(cols))
        if best_score is None or score > best_score:
            best, best_score = d, score
    return best


def _sniff(path: Path, label: str, contract: Contract | None) -> ReadInfo:
    """How to read ``path``, from its first bytes; :class:`InputError` when it is not something we read."""
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
        at_end = not fh.read(1)
    problem = _binary_problem(head, path, label)
    if problem:
        raise InputError([problem])
    if head.startswith(b"PK\x03\x04"):
        return ReadInfo(delimiter=None, encoding=None, file=path.name, format="xlsx")
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif _utf8_prefix_ok(head, final=at_end):
        encoding = "utf-8"
    else:
        encoding = "cp1252"
    text = head.decode(encoding, errors="replace")
    header_line = text.lstrip("\ufeff").lstrip("\r\n").split("\n", 1)[0].rstrip("\r")
    return ReadInfo(delimiter=detect_delimiter(header_line, contract), encoding=encoding, file=path.name)


def _encodings(info: ReadInfo) -> tuple[str, ...]:
    """The encodings to try in order: UTF-8 falls back to Windows-1252 when a byte further on is not UTF-8."""
    return (info.encoding, "cp1252") if info.encoding in ("utf-8", "utf-8-sig") else (info.encoding,)


def _encoding_warning(label: str) -> str:
    return (f"{label} is not UTF-8 text; read it as Windows-1252 (Western European, what Excel writes on "
            f"Windows). Check that accented letters and symbols such as € came out right, or save the file "
            f"as 'CSV UTF-8' to be sure")


# ------------------------------------------------------------- reading: rows and their lines
_POSITIONS: dict[tuple, np.ndarray] = {}


def _csv_lines(path: str, delimiter: str, encoding: str) -> np.ndarray:
    """The physical line (1-based) on which each data row starts, counting line breaks inside quoted
    fields and skipping blank lines as pandas does."""
    starts, prev = [], 0
    with open(path, newline="", encoding=encoding) as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        for row in reader:
            start, prev = prev + 1, reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            starts.append(start)
    return np.asarray(starts[1:], dtype=np.int64)


def _positions(info: ReadInfo | None, n: int) -> np.ndarray | None:
    """Each data row's line (CSV) or sheet row (workbook), or None when unknown (then row + 1 is used)."""
    if info is None or info.source is None:
        return None
    pos = _POSITIONS.get(info.source)
    if pos is None and info.format == "csv":
        try:
            if _source_key(Path(info.source[0])) != info.source:
                return None  # the file changed since it was read
            pos = _csv_lines(info.source[0], info.delimiter, info.encoding)
        except (OSError, UnicodeDecodeError, csv.Error):
            return None
        if len(_POSITIONS) > 16:
            _POSITIONS.clear()
        _POSITIONS[info.source] = pos
    if pos is None or len(pos) != n:
        return None
    return pos


class _Where:
    """Names a data row in messages: ``survey_responses.csv row 42 (line 43)``, or
    ``survey_responses.xlsx row 4 (sheet row 5)`` for a workbook."""

    def __init__(self, frame: pd.DataFrame, label: str):
        self.label = label
        self.info = frame.attrs.get(READ_ATTR)
        self._n = len(frame)
        self._pos: np.ndarray | None | bool = False

    def __call__(self, idx: int) -> str:
        if self._pos is False:
            self._pos = _positions(self.info, self._n)
        row = int(idx) + 1
        line = int(self._pos[int(idx)]) if self._pos is not None and 0 <= int(idx) < self._n else row + 1
        what = "sheet row" if self.info is not None and self.info.format == "xlsx" else "line"
        return f"{self.label} row {row} ({what} {line})"


# ------------------------------------------------------------- reading: the text route
def _trimmed(raw: pd.DataFrame) -> pd.DataFrame:
    raw.columns = [str(c).strip() for c in raw.columns]
    raw = raw.apply(lambda s: s.str.strip()).replace("", np.nan)
    return raw.astype(object)


def _cell_text(v, kind: str = "text"):
    """A workbook cell as the text a CSV would hold: dates YYYY-MM-DD (YYYY-MM for a month column),
    whole numbers without ".0"."""
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not np.isfinite(v):
            return str(v)
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, dt.datetime):
        if v.time() == dt.time(0):
            if kind == "month" and v.day == 1:
                return v.strftime("%Y-%m")
            return v.date().isoformat()
        return v.isoformat(sep=" ")
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    return str(v)


def _read_xlsx(path: Path, label: str, contract: Contract | None, info: ReadInfo) -> tuple[pd.DataFrame, ReadInfo]:
    """The first sheet of a workbook as text, one row per non-blank sheet row; the header is its first non-blank row."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise InputError([f"{label}: not a readable Excel workbook (.xlsx): {exc}"]) from exc
    try:
        if not wb.worksheets:
            raise InputError([f"{label}: the workbook has no sheet; expected the data on its first sheet"])
        ws = wb.worksheets[0]
        sheet = ws.title
        header, rows, sheet_rows = None, [], []
        for r, values in enumerate(ws.iter_rows(values_only=True), start=1):
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                continue
            if header is None:
                header = list(values)
                continue
            rows.append(values)
            sheet_rows.append(r)
    finally:
        wb.close()
    if header is None:
        raise InputError([f"{label}: the first sheet ({sheet!r}) is empty; expected a header row"])
    width = max([len(header)] + [len(r) for r in rows])
    header += [None] * (width - len(header))
    names, seen = [], {}
    for i, h in enumerate(header):
        name = _cell_text(h).strip() if h is not None else ""
        name = name or f"Unnamed: {i}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        names.append(name)
    kinds = {f.name: f.kind for f in contract.fields_for(names)} if contract is not None else {}
    columns = {}
    for i, name in enumerate(names):
        kind = kinds.get(name, "text")
        columns[name] = [_cell_text(r[i] if i < len(r) else None, kind) for r in rows]
    raw = pd.DataFrame(columns, columns=names, dtype=object)
    # A column with neither a header nor a value is the sheet's empty margin.
    raw = raw[[c for i, c in enumerate(names) if header[i] is not None or raw[c].notna().any()]]
    raw = _trimmed(raw)
    source = _source_key(path)
    _POSITIONS[source] = np.asarray(sheet_rows, dtype=np.int64)
    return raw, replace(info, sheet=sheet, source=source)


def _parser_problem(path: Path, label: str, info: ReadInfo, exc: Exception) -> str:
    """A row the CSV reader could not split, named by its row and line: usually a row with more values than the header."""
    try:
        with path.open(newline="", encoding=info.encoding) as fh:
            reader = csv.reader(fh, delimiter=info.delimiter)
            width, row_no, prev = None, 0, 0
            for row in reader:
                start, prev = prev + 1, reader.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if width is None:
                    width = len(row)
                    continue
                row_no += 1
                if len(row) > width:
                    sep = DELIMITER_NAMES.get(info.delimiter, repr(info.delimiter))
                    return (f"{label} row {row_no} (line {start}): {len(row)} values but the header has {width} "
                            f"columns; a {sep} inside a value must be in double quotes")
    except (OSError, UnicodeDecodeError, csv.Error):
        pass
    return f"{label}: not a readable CSV file: {exc}"


def _read_text(path: Path, label: str, contract: Contract | None, info: ReadInfo) -> tuple[pd.DataFrame, ReadInfo]:
    """Read a file as text (every cell a trimmed string, blank cells missing), whatever its format."""
    if info.format == "xlsx":
        return _read_xlsx(path, label, contract, info)
    for encoding in _encodings(info):
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", pd.errors.ParserWarning)
                raw = pd.read_csv(path, sep=info.delimiter, dtype=str, keep_default_na=False, na_values=[],
                                  encoding=encoding, index_col=False)
        except UnicodeDecodeError:
            continue
        except pd.errors.ParserError as exc:
            raise InputError([_parser_problem(path, label, replace(info, encoding=encoding), exc)]) from exc
        except pd.errors.EmptyDataError as exc:
            raise InputError([f"{label}: the file is empty; expected a header row"]) from exc
        if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):  # the first row is too long
            raise InputError([_parser_problem(path, label, replace(info, encoding=encoding), caught[0].message)])
        info = replace(info, encoding=encoding, source=_source_key(path))
        return _trimmed(raw), info
    raise InputError([(f"{label}: not a readable text file: it is neither UTF-8 nor Windows-1252; "
                       f"save it as 'CSV UTF-8 (Comma delimited)'")])


def _column_hints(columns: list[str], contract: Contract) -> dict[str, str]:
    """Columns the contract does not know that look like one it does (odd case or spaces, a small
    misspelling), each with the contract column it probably means, when that one is absent."""
    names = [f.name for f in contract.fields]
    by_key = {n.lower(): n for n in names}
    present = set(columns)
    out = {}
    for col in columns:
        if col in by_key.values() or any(col.startswith(p) and len(col) > len(p) for p in contract.prefixed):
            continue
        key = re.sub(r"[\s\-]+", "_", col.strip().lower())
        match = by_key.get(key)
        if match is None:
            prefix = next((p for p in contract.prefixed if key.startswith(p) and len(key) > len(p)), None)
            match = key if prefix else None
        if match is None:
            close = difflib.get_close_matches(key, list(by_key), n=1, cutoff=0.8)
            match = by_key[close[0]] if close else None
        if match is not None and match not in present:
            out[col] = match
    return out


def _hint_warnings(hints: dict[str, str], contract: Contract, label: str) -> list[str]:
    required = {f.name for f in contract.fields if f.required}
    return [f"{label}: column {col!r} is not in the contract of {contract.filename}; did you mean {name!r}? "
            f"The column is ignored" for col, name in hints.items() if name not in required]


def _layout_hint(columns: list[str]) -> str:
    """Why a header may hold none of the expected columns: one column that still holds the delimiters."""
    if len(columns) == 1:
        for d in (";", "\t"):
            if d in columns[0]:
                return f"; the file looks {DELIMITER_NAMES[d]}-separated"
    return ""


def read_raw(path: Path, label: str | None = None, contract: Contract | None = None) -> pd.DataFrame:
    """Read an input file as text: headers and cells trimmed, blank cells missing.

    A CSV's delimiter (``,``, ``;`` or tab) and encoding (UTF-8 with or without BOM, else Windows-1252
    with an :class:`InputWarning`) are detected; an ``.xlsx`` workbook's first sheet is read with cells
    as a CSV would hold them. ``contract`` (default: the one named like the file) helps choose the
    delimiter. How the file was read is in the frame's ``.attrs["cxreport_read"]`` (:class:`ReadInfo`).
    """
    path = Path(path)
    label = label or path.name
    if not path.is_file():
        raise InputError([f"{label}: file not found at {path}"])
    contract = contract if contract is not None else _contract_for(path)
    raw, info = _read_text(path, label, contract, _sniff(path, label, contract))
    if info.encoding == "cp1252":
        text = _encoding_warning(label)
        warnings.warn(InputWarning(text), stacklevel=2)
        info = replace(info, warnings=(text,))
    raw.attrs[READ_ATTR] = info
    return raw


def _convert(raw: pd.DataFrame, fields: list[Field]) -> pd.DataFrame:
    out = {}
    for f in fields:
        if f.name not in raw.columns:
            continue
        s = raw[f.name]
        if f.kind == "int":
            out[f.name] = _as_number(s).astype("Int64")
        elif f.kind == "float":
            out[f.name] = _as_number(s).astype(float)
        elif f.kind == "date":
            out[f.name] = _as_date(s)
        elif f.kind == "month":
            out[f.name] = _as_month(s).dt.to_period("M")
        else:
            out[f.name] = s.astype("string")
    return pd.DataFrame(out, index=raw.index)


def validate(raw: pd.DataFrame, contract: Contract, label: str | None = None) -> pd.DataFrame:
    """Validate a raw text frame against a contract and return it typed.

    Raises :class:`InputError` with one message per problem. Columns the
    contract does not know are dropped.
    """
    label = label or contract.filename
    shape = _shape_problems(raw, contract, label)
    if shape:
        raise InputError(shape)
    fields = contract.fields_for(list(raw.columns))
    try:
        _schema(contract, fields).validate(raw, lazy=True)
    except SchemaErrors as errors:
        raise InputError(_messages(errors, raw, contract, fields, label)) from None
    return _convert(raw, fields)


def _shape_problems(raw: pd.DataFrame, contract: Contract, label: str) -> list[str]:
    """What no report can work with, whatever the values: no data rows, or no column of a required family."""
    return shape_problems(list(raw.columns), len(raw), contract, label)


def shape_problems(columns: list[str], rows: int, contract: Contract, label: str) -> list[str]:
    """:func:`_shape_problems` from a header and a row count (the engine route has no frame)."""
    problems = []
    if rows == 0:
        problems.append(f"{label}: no data rows under the header; expected at least one row")
    for prefix in contract.requires_prefixed:
        if not any(str(c).startswith(prefix) and len(str(c)) > len(prefix) for c in columns):
            problems.append(f"{label}: no {prefix}<name> column; expected at least one, such as {prefix}strategy "
                            f"({contract.prefixed[prefix].expected})")
    return problems


def _read_fast(path: Path, contract: Contract, info: ReadInfo) -> tuple[pd.DataFrame, list[str], ReadInfo] | None:
    """Read a well-formed CSV quickly: numbers parsed by the C reader, only known columns.

    Returns the frame, the file's header and how it was read, or None when
    anything is unusual (untrimmed headers, a value the number parser
    refuses, a bad encoding): the caller then takes the text route, which
    can name every bad value as it stands in the file.
    """
    for encoding in _encodings(info):
        try:
            header = list(pd.read_csv(path, nrows=0, sep=info.delimiter, encoding=encoding).columns)
        except UnicodeDecodeError:
            continue
        except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError, OSError):
            return None
        if any(not isinstance(c, str) or c != c.strip() for c in header):
            return None
        kinds = {f.name: f.kind for f in contract.fields_for(header)}
        known = [c for c in header if c in kinds]
        numeric = [c for c in known if kinds[c] in ("int", "float")]
        try:
            # Every column is parsed (no usecols), so that a row with more values than the header
            # stops this route instead of losing its last values in silence.
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", pd.errors.ParserWarning)
                df = pd.read_csv(
                    path,
                    sep=info.delimiter,
                    index_col=False,
                    dtype={c: ("float64" if c in numeric else str) for c in header},
                    keep_default_na=False,
                    na_values={c: [""] for c in numeric},
                    encoding=encoding,
                )
        except UnicodeDecodeError:
            continue
        except (ValueError, pd.errors.ParserError):
            return None
        if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught) or len(df.columns) != len(header):
            return None
        df = df[known]
        text = [c for c in known if c not in numeric]
        if text:
            df[text] = df[text].apply(lambda s: s.str.strip()).replace("", np.nan).astype(object)
        return df, header, replace(info, encoding=encoding, source=_source_key(path))
    return None


_READ: dict[str, tuple[tuple, ReadInfo]] = {}  # how each file was last loaded, by resolved path


def load(path: Path, contract: Contract, keep_personal: bool = False) -> pd.DataFrame:
    """Read, validate and type one input file; personal columns dropped unless asked for.

    The file is a CSV (delimiter and encoding detected, see :func:`read_raw`) or an ``.xlsx``
    workbook (its first sheet), under the same contract. A well-formed CSV takes the fast route
    (:func:`_read_fast`); a file with any problem is read again as text so that every message
    quotes the value as it stands in the file. Columns that look like a misspelt contract column
    raise an :class:`InputWarning` ("did you mean ...?"); a missing required one is an error
    whose message says the same. How the file was read is in ``.attrs["cxreport_read"]``
    (:class:`ReadInfo`) and in :func:`read_info`.
    """
    path = Path(path)
    label = path.name
    if not path.is_file():
        raise InputError([f"{label}: file not found at {path}"])
    info = _sniff(path, label, contract)
    notes: list[str] = []
    emitted = False

    def emit(info: ReadInfo, header: list[str]) -> ReadInfo:
        nonlocal emitted
        if not emitted:
            emitted = True
            if info.encoding == "cp1252":
                notes.append(_encoding_warning(label))
            notes.extend(_hint_warnings(_column_hints(header, contract), contract, label))
            for text in notes:
                warnings.warn(InputWarning(text), stacklevel=3)
        return replace(info, warnings=tuple(notes))

    df = None
    fast = _read_fast(path, contract, info) if info.format == "csv" else None
    if fast is not None:
        frame, header, fast_info = fast
        frame.attrs[READ_ATTR] = fast_info
        try:
            df = validate(frame, contract, label)
            info = emit(fast_info, header)
        except InputError:
            df = None
    if df is None:
        raw, info = _read_text(path, label, contract, info)
        info = emit(info, list(raw.columns))
        raw.attrs[READ_ATTR] = info
        df = validate(raw, contract, label)
    if not keep_personal:
        df = df.drop(columns=[f.name for f in contract.fields if f.personal and f.name in df.columns])
    df.attrs[READ_ATTR] = info
    if info.source is not None:
        if len(_READ) > 256:
            _READ.clear()
        _READ[info.source[0]] = (info.source, info)
    return df


def read_info(path: Path) -> ReadInfo:
    """How ``path`` is read: as the last :func:`load` of it read it, while the file is unchanged;
    else detected now (delimiter from the header, encoding from the whole file)."""
    path = Path(path)
    if not path.is_file():
        raise InputError([f"{path.name}: file not found at {path}"])
    key = _source_key(path)
    known = _READ.get(key[0])
    if known is not None and known[0] == key:
        return known[1]
    info = _sniff(path, path.name, _contract_for(path))
    if info.format == "csv" and info.encoding == "utf-8" and not _is_utf8(path):
        info = replace(info, encoding="cp1252")
    return info


def _is_utf8(path: Path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                if not (chunk.isascii() and not decoder.getstate()[0]):
                    decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


PARQUET_SUFFIX = ".parquet"


def input_path(data_dir: Path, name: str) -> Path | None:
    """Where input ``name`` (``survey_responses.csv``) is in ``data_dir``: the CSV when present, else a
    workbook of the same stem (``survey_responses.xlsx``), else Parquet (``revenue.parquet``: one file, or
    a folder of part files as Spark and DuckDB write them), else None."""
    data_dir = Path(data_dir)
    csv_path = data_dir / name
    if csv_path.is_file():
        return csv_path
    for suffix in EXCEL_SUFFIXES:
        xlsx = data_dir / (Path(name).stem + suffix)
        if xlsx.is_file():
            return xlsx
    parquet = data_dir / (Path(name).stem + PARQUET_SUFFIX)
    if parquet.is_file() or (parquet.is_dir() and any(parquet_parts(parquet))):
        return parquet
    return None


def is_parquet(path: Path) -> bool:
    """Whether ``path`` is a Parquet input: a ``.parquet`` file or a folder of part files."""
    return Path(path).suffix.lower() == PARQUET_SUFFIX


def parquet_parts(path: Path) -> list[Path]:
    """The Parquet files of an input, in name order: the file itself, or every ``*.parquet`` below a folder
    (Spark's and DuckDB's part files, also in ``key=value`` partition folders); hidden files and Spark's
    ``_SUCCESS`` markers are not data."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    return sorted(p for p in path.rglob("*.parquet") if p.is_file()
                  and not any(part.startswith((".", "_")) for part in p.relative_to(path).parts))


# ------------------------------------------------------------- the contracts
SURVEY = Contract(
    filename="survey_responses.csv",
    fields=(
        Field("respondent_id", "text"),
        Field("survey_year", "int", min=1900, max=2999),
        Field("csat", "int", nullable=True, min=1, max=5),
        Field("nps", "int", nullable=True, min=0, max=10),
        Field("submitted_at", "date", required=False, nullable=True),
        Field("partner_id", "text", required=False, nullable=True),
        Field("customer_id", "text", required=False, nullable=True),
        Field("tenure_years", "float", required=False, nullable=True, min=0),
        Field("comment_value", "text", required=False, nullable=True),
        Field("comment_improve", "text", required=False, nullable=True),
        Field("contact_name", "text", required=False, nullable=True, personal=True),
        Field("contact_email", "text", required=False, nullable=True, personal=True),
    ),
    prefixed={"tp_": Field("tp_", "int", nullable=True, min=1, max=5)},
    unique_together=(("survey_year", "respondent_id"),),
)

COMMENT_COLUMNS = ("comment_value", "comment_improve")


# Column names that hold contact data, whatever a survey tool calls them ("Name",
# "E-mail address", "phone", "Contact person"): their values are masked in comments.
CONTACT_COLUMN = r"(?i)(?:^|[\s_\-])(?:name|first.?name|last.?name|surname|e.?mail|mail|phone|telephone|telefon|tel|mobile|cell|contact|linkedin|twitter|handle)(?:$|[\s_\-])|^(?:name|e.?mail|phone|contact)"


def _contact_values(path: Path, contract: Contract, info: ReadInfo | None = None) -> list[str]:
    """Every value of the file's contact columns: the contract's ``personal`` fields and
    unknown columns whose name says contact data (the loader drops unknown columns, so
    they are read here, before anything is dropped)."""
    info = info or _sniff(path, path.name, contract)
    if info.format != "csv":
        raw, _ = _read_text(path, path.name, contract, info)
        header = list(raw.columns)
    else:
        try:
            header = [str(c).strip() for c in pd.read_csv(path, nrows=0, sep=info.delimiter, encoding=info.encoding).columns]
        except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError, OSError):
            return []
    known = {f.name: f for f in contract.fields_for(header)}
    cols = [c for c in header if (c in known and known[c].personal) or (c not in known and re.search(CONTACT_COLUMN, c))]
    if not cols:
        return []
    if info.format == "csv":
        raw = pd.read_csv(path, sep=info.delimiter, usecols=lambda c: str(c).strip() in cols, dtype=str,
                          keep_default_na=False, encoding=info.encoding)
    else:
        raw = raw[cols]
    values = pd.unique(raw.to_numpy().ravel())
    return [v.strip() for v in values if isinstance(v, str) and v.strip()]


def load_survey(path: Path, keep_personal: bool = False, contract: Contract | None = None) -> pd.DataFrame:
    """Load ``survey_responses.csv`` (see the README's input contract).

    Contact columns are dropped, and personal data in comments is masked (see
    :func:`cxreport.comments.redact_personal_data`), including every value of any
    contact column wherever it appears in a comment, so nothing personal reaches a
    notebook, let alone a published report, unless ``keep_personal`` is set.

    ``contract`` (default :data:`SURVEY`) lets another survey file of the same
    shape, such as ``partner_survey_responses.csv``, be read the same way.
    """
    contract = contract or SURVEY
    df = load(path, contract, keep_personal=keep_personal)
    if not keep_personal:
        comment_cols = [col for col in COMMENT_COLUMNS if col in df.columns]
        if comment_cols:
            # Collected from the file itself: the loader has dropped these columns already.
            known = privacy.KnownNames(_contact_values(Path(path), contract, df.attrs.get(READ_ATTR)))
            for col in comment_cols:
                df[col] = redact_personal_data(df[col], known_names=known)
    return df


ACCOUNTS = Contract(
    filename="accounts.csv",
    fields=(
        Field("customer_id", "text", unique=True),
        Field("name", "text", required=False, nullable=True),
        Field("partner_id", "text", required=False, nullable=True),
        Field("industry", "text", required=False, nullable=True),
        Field("company_size", "text", required=False, nullable=True),
        Field("region", "text", required=False, nullable=True),
        Field("customer_since", "date", required=False, nullable=True),
    ),
)

# --- partner programme (issue 5): a vendor's survey of many partners' customers, partners, usage
PARTNER_SURVEY = Contract(
    filename="partner_survey_responses.csv",
    # The survey contract with the columns a per-partner programme cannot do without made required.
    fields=tuple(
        replace(f, required=True, nullable=False) if f.name in ("submitted_at", "partner_id", "customer_id") else f
        for f in SURVEY.fields
    ),
    prefixed=SURVEY.prefixed,
    unique_together=SURVEY.unique_together,
)


def load_partner_survey(path: Path, keep_personal: bool = False) -> pd.DataFrame:
    """Load ``partner_survey_responses.csv``: :func:`load_survey` with :data:`PARTNER_SURVEY`."""
    return load_survey(path, keep_personal=keep_personal, contract=PARTNER_SURVEY)


PARTNERS = Contract(
    filename="partners.csv",
    fields=(
        Field("partner_id", "text", unique=True, pattern=SAFE_ID),
        Field("name", "text"),
        Field("region", "text", required=False, nullable=True),
        Field("tier", "text", required=False, nullable=True),
    ),
)

USAGE = Contract(
    filename="usage.csv",
    fields=(
        Field("customer_id", "text"),
        Field("partner_id", "text"),
        Field("month", "month"),
        Field("workload", "text"),
        Field("monthly_active_users", "float", min=0),
    ),
    unique_together=(("customer_id", "partner_id", "month", "workload"),),
)

# --- cloud maturity (issue 3): account teams' maturity assessments, m_<dimension> scored 1-5
MATURITY = Contract(
    filename="maturity_assessments.csv",
    fields=(
        Field("customer_id", "text"),
        Field("assessed_on", "date"),
        Field("target_stage", "int", required=False, nullable=True, min=1, max=5),
    ),
    prefixed={"m_": Field("m_", "int", nullable=True, min=1, max=5)},
    unique_together=(("customer_id", "assessed_on"),),
    requires_prefixed=("m_",),
)

# --- customer lifetime value and churn (issue 4): the monthly revenue ledger
REVENUE_TYPES = ("subscription", "managed", "project", "license", "ip")  # subscription and managed are recurring
REVENUE = Contract(
    filename="revenue.csv",
    fields=(
        Field("customer_id", "text"),
        Field("month", "month"),
        Field("revenue_type", "choice", choices=REVENUE_TYPES),
        Field("product", "text", required=False, nullable=True),
        Field("amount", "float", min=0),
        Field("cost", "float", required=False, nullable=True, min=0),
    ),
)

# Every input file the pipeline knows, by file name: validated before any notebook runs.
CONTRACTS = {c.filename: c for c in (SURVEY, ACCOUNTS, PARTNER_SURVEY, PARTNERS, USAGE, MATURITY, REVENUE)}


@dataclass(frozen=True)
class Reference:
    """A cross-file rule: every non-blank ``column`` of ``filename`` must appear in ``target_column`` of ``target``."""

    filename: str
    column: str
    target: str
    target_column: str


# Checked by the pipeline (and the notebooks) whenever both files are read.
REFERENCES = (
    Reference("partner_survey_responses.csv", "partner_id", "partners.csv", "partner_id"),
    Reference("partner_survey_responses.csv", "customer_id", "accounts.csv", "customer_id"),
    Reference("usage.csv", "partner_id", "partners.csv", "partner_id"),
    Reference("usage.csv", "customer_id", "accounts.csv", "customer_id"),
    Reference("maturity_assessments.csv", "customer_id", "accounts.csv", "customer_id"),
    Reference("revenue.csv", "customer_id", "accounts.csv", "customer_id"),
)


def check_references(frames: dict[str, pd.DataFrame], references: tuple[Reference, ...] = REFERENCES) -> list[str]:
    """One message per row whose id is unknown to the file it refers to (vectorised ``isin``).

    ``frames`` maps file names to frames as :func:`load` returns them (the
    index is the data-row position, so row numbers match the file, and the
    line each row starts on comes from the frame's :class:`ReadInfo`, so it
    is right after multi-line quoted fields too). A rule is checked only
    when both files are present. Example message::

        usage.csv row 7 (line 8), column partner_id: 'P099'; expected a partner_id listed in partners.csv
    """
    out = []
    for ref in references:
        if ref.filename not in frames or ref.target not in frames:
            continue
        frame, target = frames[ref.filename], frames[ref.target]
        if ref.column not in frame.columns or ref.target_column not in target.columns:
            continue
        values = frame[ref.column]
        bad = values.notna() & ~values.isin(set(target[ref.target_column].dropna()))
        if not bad.any():
            continue
        info = frame.attrs.get(READ_ATTR)
        where = _Where(frame, info.file if info is not None and info.file else ref.filename)
        target_info = target.attrs.get(READ_ATTR)
        target_name = target_info.file if target_info is not None and target_info.file else ref.target
        out.extend(
            f"{where(i)}, column {ref.column}: {v!r}; expected a {ref.target_column} listed in {target_name}"
            for i, v in zip(np.flatnonzero(bad.to_numpy()), values[bad].astype(str))
        )
    return out


def fingerprint(path: Path) -> dict:
    """File name, size and SHA-256 of an input file: what a report was built from.

    A CSV also gets its ``delimiter`` and ``encoding`` (:class:`ReadInfo`), a workbook the ``sheet``
    read, as the last :func:`load` of the unchanged file read it, else detected from the header
    and, for the encoding, the bytes hashed anyway (an ASCII chunk costs nothing to check).
    """
    path = Path(path)
    if is_parquet(path):
        return _parquet_fingerprint(path)
    key = _source_key(path)
    known = _READ.get(key[0])
    info = known[1] if known is not None and known[0] == key else None
    if info is None:
        try:
            info = _sniff(path, path.name, _contract_for(path))
        except InputError:
            info = None
    digest = hashlib.sha256()
    check_utf8 = info is not None and info.format == "csv" and info.encoding == "utf-8" and info.source is None
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
            if check_utf8 and not (chunk.isascii() and not decoder.getstate()[0]):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    check_utf8, info = False, replace(info, encoding="cp1252")
    if check_utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            info = replace(info, encoding="cp1252")
    out = {"file": path.name, "bytes": key[1], "sha256": digest.hexdigest()}
    if info is not None:
        if info.format == "csv":
            out.update(delimiter=info.delimiter, encoding=info.encoding)
        else:
            out["sheet"] = info.sheet if info.sheet is not None else _first_sheet(path)
    return out


def _parquet_fingerprint(path: Path) -> dict:
    """A Parquet input's fingerprint: one file hashed as a CSV is; a folder by its part files' names (relative),
    sizes and SHA-256s, hashed together, so adding, removing or changing a part changes it."""
    parts = parquet_parts(path)
    if not parts:
        raise InputError([f"{path.name}: no Parquet file found at {path}"])
    if path.is_file():
        digest, size = _file_sha256(path), path.stat().st_size
    else:
        listing = [(p.relative_to(path).as_posix(), p.stat().st_size, _file_sha256(p)) for p in parts]
        digest = hashlib.sha256(repr(listing).encode()).hexdigest()
        size = sum(n for _, n, _ in listing)
    return {"file": path.name, "bytes": size, "sha256": digest, "format": "parquet", "parts": len(parts)}


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _first_sheet(path: Path) -> str | None:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = openpyxl.load_workbook(path, read_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError):  # validation says why
        return None
    try:
        return wb.sheetnames[0] if wb.sheetnames else None
    finally:
        wb.close()

"""The input contract: what each input file must hold, validated with pandera.

Files are read as text, validated on the raw text (so a bad value is reported
as it stands in the file), then converted to typed columns. Every problem
becomes one message naming the file, the row, the column, the bad value and
what was expected, e.g.::

    survey_responses.csv row 42 (line 43), column nps: '11'; expected an integer 0-10

Row numbers count data rows from 1; the line number counts the header too,
so it matches what a text editor shows. Unknown extra columns are dropped.
"""

from __future__ import annotations

import hashlib
import re
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
    """Raised when an input file breaks the contract; carries one message per problem."""

    def __init__(self, messages: list[str]):
        self.messages = list(messages)
        shown = self.messages[:MAX_MESSAGES]
        more = len(self.messages) - len(shown)
        text = "\n".join(f"  - {m}" for m in shown)
        if more > 0:
            text += f"\n  ... and {more} more problems"
        super().__init__(f"{len(self.messages)} problem(s) in the input data:\n{text}")


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
            present = [c for c in cols if c in df.columns]
            return ~df.duplicated(subset=present, keep=False)

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
    for case in errors.failure_cases.itertuples(index=False):
        check, column, idx = str(case.check), case.column, case.index
        if check.startswith("column_in_dataframe"):
            f = by_name.get(case.failure_case)
            out.append((-1, f"{label}: column {case.failure_case!r} is missing; expected a column of {f.expected if f else 'values'}"))
            continue
        if idx is None or pd.isna(idx):
            out.append((-1, f"{label}, column {column}: {check} ({case.failure_case})"))
            continue
        row = int(idx) + 1
        where = f"{label} row {row} (line {row + 1})"
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


# ------------------------------------------------------------- reading
def read_raw(path: Path, label: str | None = None) -> pd.DataFrame:
    """Read a CSV as text: headers and cells trimmed, blank cells missing."""
    path = Path(path)
    label = label or path.name
    if not path.is_file():
        raise InputError([f"{label}: file not found at {path}"])
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[], encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError([f"{label}: not a readable UTF-8 CSV file: {exc}"]) from exc
    except pd.errors.EmptyDataError as exc:
        raise InputError([f"{label}: the file is empty; expected a header row"]) from exc
    raw.columns = [str(c).strip() for c in raw.columns]
    raw = raw.apply(lambda s: s.str.strip()).replace("", np.nan)
    return raw.astype(object)


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
    problems = []
    if len(raw) == 0:
        problems.append(f"{label}: no data rows under the header; expected at least one row")
    for prefix in contract.requires_prefixed:
        if not any(str(c).startswith(prefix) and len(str(c)) > len(prefix) for c in raw.columns):
            problems.append(f"{label}: no {prefix}<name> column; expected at least one, such as {prefix}strategy "
                            f"({contract.prefixed[prefix].expected})")
    return problems


def _read_fast(path: Path, contract: Contract) -> pd.DataFrame | None:
    """Read a well-formed file quickly: numbers parsed by the C reader, only known columns.

    Returns None when anything is unusual (untrimmed headers, a value the
    number parser refuses, a bad encoding): the caller then takes the text
    route, which can name every bad value as it stands in the file.
    """
    try:
        header = list(pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns)
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError):
        return None
    if any(not isinstance(c, str) or c != c.strip() for c in header):
        return None
    kinds = {f.name: f.kind for f in contract.fields_for(header)}
    known = [c for c in header if c in kinds]
    numeric = [c for c in known if kinds[c] in ("int", "float")]
    try:
        df = pd.read_csv(
            path,
            usecols=known,
            dtype={c: ("float64" if c in numeric else str) for c in known},
            keep_default_na=False,
            na_values={c: [""] for c in numeric},
            encoding="utf-8-sig",
        )
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError):
        return None
    text = [c for c in known if c not in numeric]
    if text:
        df[text] = df[text].apply(lambda s: s.str.strip()).replace("", np.nan).astype(object)
    return df


def load(path: Path, contract: Contract, keep_personal: bool = False) -> pd.DataFrame:
    """Read, validate and type one input file; personal columns dropped unless asked for.

    A well-formed file takes the fast route (:func:`_read_fast`); a file with
    any problem is read again as text so that every message quotes the value
    as it stands in the file.
    """
    path = Path(path)
    df = None
    fast = _read_fast(path, contract) if path.is_file() else None
    if fast is not None:
        try:
            df = validate(fast, contract, path.name)
        except InputError:
            df = None
    if df is None:
        df = validate(read_raw(path, path.name), contract, path.name)
    if not keep_personal:
        df = df.drop(columns=[f.name for f in contract.fields if f.personal and f.name in df.columns])
    return df


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


def _contact_values(path: Path, contract: Contract) -> list[str]:
    """Every value of the file's contact columns: the contract's ``personal`` fields and
    unknown columns whose name says contact data (the loader drops unknown columns, so
    they are read here, before anything is dropped)."""
    try:
        header = [str(c).strip() for c in pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns]
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError):
        return []
    known = {f.name: f for f in contract.fields_for(header)}
    cols = [c for c in header if (c in known and known[c].personal) or (c not in known and re.search(CONTACT_COLUMN, c))]
    if not cols:
        return []
    raw = pd.read_csv(path, usecols=lambda c: str(c).strip() in cols, dtype=str, keep_default_na=False, encoding="utf-8-sig")
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
            known = privacy.KnownNames(_contact_values(Path(path), contract))
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
    index is the data-row position, so row numbers match the file). A rule
    is checked only when both files are present. Example message::

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
        out.extend(
            f"{ref.filename} row {i + 1} (line {i + 2}), column {ref.column}: {v!r}; "
            f"expected a {ref.target_column} listed in {ref.target}"
            for i, v in zip(np.flatnonzero(bad.to_numpy()), values[bad].astype(str))
        )
    return out


def fingerprint(path: Path) -> dict:
    """File name, size and SHA-256 of an input file: what a report was built from."""
    path = Path(path)
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return {"file": path.name, "bytes": path.stat().st_size, "sha256": digest.hexdigest()}

"""Revenue ledger metrics: MRR, MRR movements, retention, churn, ARPA, recurring share, gross profit.

The input is ``revenue.csv`` (see the README's input contract): one row per
customer, month, revenue type (and optional product) with an ``amount`` and
an optional ``cost``. Definitions used throughout (the report's method notes
repeat them):

- **Recurring revenue** is revenue of type ``subscription`` or ``managed``;
  ``project``, ``license`` and ``ip`` are non-recurring.
- **MRR** (monthly recurring revenue) of a customer in a month is the sum of
  its recurring amounts in that month.
- A customer is **active** in a month when its MRR is > 0. A customer with
  only project, licence or IP revenue is never active: it is not counted in
  MRR, retention, churn, cohorts or lifetimes, but its revenue is counted in
  total revenue (the denominator of the recurring share) and in gross profit.
- A **spell** is a run of consecutive active months. The **churn month** is
  the month after the last active month of a spell. A customer whose last
  active month is the ledger's last month (``end``) has not churned: it is
  *censored* (still a customer as far as we know).
- A customer active again after a churn month has a **reactivation**.
- **MRR movements** in month *m* (Baremetrics/ChartMogul-style bridge):
  *new* = MRR of customers whose first active month is *m*; *reactivation* =
  MRR of customers active in *m*, not in *m-1*, but active at some earlier
  month; *expansion* / *contraction* = MRR change of customers active in both
  *m-1* and *m* (increase / decrease); *churned* = minus the *m-1* MRR of
  customers active in *m-1* but not in *m*. Contraction and churned are
  negative numbers, so ``closing = opening + new + reactivation + expansion +
  contraction + churned``.
- The ledger's first month has no previous month: every customer active in
  it counts as *new* (customers acquired earlier are not distinguishable).

Retention over a period (:func:`retention`) compares the customers active in
the month before the period (the *starting book*) with the period's last
month; see there for logo retention, NRR and GRR.

Where it runs: every computation over the ledger is one Ibis expression on
the current engine (:func:`cxreport.engine.current`: DuckDB by default, Spark
for scale). The ledger may be a pandas frame (placed on the engine with
:meth:`cxreport.engine.Engine.table`) or an Ibis table already there; its
``month`` may be a date or timestamp (the month's first day), a ``YYYY-MM``
string or a pandas ``Period``. Inside, a month is an integer *month index*
``year * 12 + month - 1`` (:func:`month_index`). The MRR movements and
spells use window functions, ``lag``/``lead`` over each customer's active
months in month order (as in dbt's mrr-playbook: *churn* when a customer's
next active month is not the following month). Only small results come back
to pandas: one row per month, cohort, segment or customer, with months as
``Period[M]``. :func:`active_months` stays on the engine (lazy); a report
computes it once, with each customer's neighbouring months
(:func:`with_neighbours`), and keeps it there with :func:`kept`.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import ibis
import numpy as np
import pandas as pd

from . import engine

REVENUE_TYPES = ("subscription", "managed", "project", "license", "ip")
RECURRING_TYPES = ("subscription", "managed")
TYPE_LABELS = {
    "subscription": "Subscriptions",
    "managed": "Managed services",
    "project": "Projects",
    "license": "Licences",
    "ip": "Packaged IP",
}
MOVEMENTS = ("new", "reactivation", "expansion", "contraction", "churned")
MOVEMENT_COLUMNS = ["month", "opening_mrr", *MOVEMENTS, "closing_mrr", "net_change", "customers_opening", "new_customers",
                    "reactivated_customers", "expanded_customers", "contracted_customers", "churned_customers", "customers", "arpa"]
INDEX_OF_1970_01 = 1970 * 12  # month index of January 1970, where pandas Period[M] ordinals start (ordinal 0)


# ---------------------------------------------------------------- months
def month_ordinal(months) -> np.ndarray:
    """Months as integer ordinals (pandas ``Period[M]`` ordinals: 1970-01 = 0), for small pandas series.

    Accepts a ``Period[M]`` series (as :func:`cxreport.inputs.load` returns),
    datetimes, or ``YYYY-MM`` strings.
    """
    s = pd.Series(months) if not isinstance(months, pd.Series) else months
    if isinstance(s.dtype, pd.PeriodDtype):
        if s.dtype.freq.freqstr != "M":
            s = s.dt.asfreq("M")
        return s.array.asi8.astype(np.int64)
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.dt.to_period("M").array.asi8.astype(np.int64)
    return pd.to_datetime(s.astype(str), format="%Y-%m").dt.to_period("M").array.asi8.astype(np.int64)


def to_period(ordinals) -> pd.PeriodIndex:
    """Integer month ordinals (1970-01 = 0) back to a ``PeriodIndex`` of months."""
    return pd.PeriodIndex.from_ordinals(np.asarray(ordinals, dtype=np.int64), freq="M")


def month_of(value) -> int:
    """One month (``"2020-12"``, a Period or a Timestamp) as a pandas ordinal (1970-01 = 0)."""
    return int(pd.Period(value, freq="M").ordinal)


def month_index_of(value) -> int:
    """One month (``"2020-12"``, a Period or a Timestamp) as a month index: ``year * 12 + month - 1``."""
    return month_of(value) + INDEX_OF_1970_01


def periods(indexes) -> pd.PeriodIndex:
    """Month indexes (``year * 12 + month - 1``, as the engine computes them) as a ``PeriodIndex`` of months."""
    return to_period(np.asarray(indexes, dtype=np.int64) - INDEX_OF_1970_01)


def month_index(column) -> ibis.Value:
    """The month index ``year * 12 + month - 1`` of a month column on the engine.

    ``column`` is a date or timestamp (the month's first day; a pandas
    ``Period`` column arrives so through :meth:`cxreport.engine.Engine.table`)
    or a ``YYYY-MM`` string (``YYYY-MM-DD`` works too: only the first seven
    characters are read).
    """
    kind = column.type()
    if kind.is_string():
        return column.substr(0, 4).cast("int64") * 12 + column.substr(5, 2).cast("int64") - 1
    if kind.is_date() or kind.is_timestamp():
        return (column.year().cast("int64") * 12 + column.month().cast("int64") - 1)
    raise TypeError(f"the ledger's month column has type {kind}; expected a date, a timestamp or 'YYYY-MM' text")


# ---------------------------------------------------------------- the ledger on the engine
def ledger_table(ledger) -> ibis.Table:
    """The ledger as an Ibis table on the current engine, with the columns the metrics read.

    ``ledger`` is a pandas frame or an Ibis table with ``customer_id``,
    ``month``, ``revenue_type``, ``amount`` and optionally ``cost``. Returns
    ``customer_id`` (text), ``month_index`` (:func:`month_index`),
    ``revenue_type``, ``amount`` (float) and ``cost`` (float, when the ledger
    has it). Nothing is computed yet: it is an expression.
    """
    t = engine.table(ledger)
    cols = {"customer_id": t.customer_id.cast("string"), "month_index": month_index(t.month),
            "revenue_type": t.revenue_type.cast("string"), "amount": t.amount.cast("float64")}
    if "cost" in t.columns:
        cols["cost"] = t.cost.cast("float64")
    return t.select(**cols)


def ledger_months(ledger) -> tuple[pd.Period, pd.Period] | None:
    """The ledger's first and last month (Periods); None when it has no rows."""
    t = ledger_table(ledger)
    row = engine.current().fetch(t.aggregate(rows=t.count(), first=t.month_index.min(), last=t.month_index.max()))
    if row.empty or int(row["rows"].iloc[0]) == 0:
        return None
    first, last = periods([int(row["first"].iloc[0]), int(row["last"].iloc[0])])
    return first, last


def has_costs(ledger) -> bool:
    """Whether the ledger has a ``cost`` column with at least one value (blank costs are unknown, not zero)."""
    t = engine.table(ledger)
    if "cost" not in t.columns:
        return False
    return bool(engine.current().scalar(t.cost.notnull().any()))


@contextlib.contextmanager
def kept(table) -> Iterator[ibis.Table]:
    """``table`` computed once and kept on the engine while the block runs (e.g. :func:`active_months`).

    A report reads the active months five times (movements, retention,
    cohorts, lifetimes, segments); keeping them saves recomputing the
    aggregate over the whole ledger each time. On DuckDB the result is a
    temporary table (dropped at the end of the block; Ibis 12's ``cache()``
    cannot drop it with sqlglot 30, whose ``DROP TABLE`` loses the name); on
    Spark it is Ibis' ``cache()`` (a cached DataFrame, released at the end).
    A pandas frame is placed on the engine and kept as it is.
    """
    eng = engine.current()
    t = eng.table(table)
    if eng.name == "duckdb":
        name = f"cx_kept_{uuid.uuid4().hex[:12]}"
        eng.con.raw_sql(f'CREATE TEMP TABLE "{name}" AS {eng.con.compile(t)}')
        try:
            yield eng.con.table(name)
        finally:
            eng.con.raw_sql(f'DROP TABLE IF EXISTS "{name}"')
    else:
        cached = t.cache()
        try:
            yield cached
        finally:
            cached.release()


# ---------------------------------------------------------------- active months
def active_months(ledger, end=None) -> ibis.Table:
    """Customer-months with recurring revenue, on the engine: ``customer_id``, ``month_index``, ``mrr``.

    MRR is the sum of the month's ``subscription`` and ``managed`` amounts;
    only months with MRR > 0 are kept (the definition of *active*). Rows
    after ``end`` (a month) are ignored. Customers with only non-recurring
    revenue do not appear. The result is an Ibis expression (lazy, never
    fetched here): one row per customer and active month; ``month_index`` is
    ``year * 12 + month - 1``. :func:`active_frame` fetches it as pandas for
    small data.
    """
    t = ledger_table(ledger)
    rec = t.filter(t.revenue_type.isin(RECURRING_TYPES))
    if end is not None:
        rec = rec.filter(rec.month_index <= month_index_of(end))
    monthly = rec.group_by(["customer_id", "month_index"]).aggregate(mrr=rec.amount.sum())
    return monthly.filter(monthly.mrr > 0)


def active_table(active) -> ibis.Table:
    """Active months (:func:`active_months`, or a pandas frame of ``customer_id``, ``month``, ``mrr``) on the engine.

    Returns ``customer_id``, ``month_index``, ``mrr``; a frame's ``month``
    may be a Period, a date or ``YYYY-MM`` text.
    """
    t = engine.table(active)
    if "month_index" in t.columns:
        return t.select("customer_id", "month_index", "mrr")
    return t.select(customer_id=t.customer_id.cast("string"), month_index=month_index(t.month), mrr=t.mrr.cast("float64"))


def active_frame(active) -> pd.DataFrame:
    """Active months fetched as pandas: ``customer_id``, ``month`` (Period[M]), ``mrr``, sorted by customer then month.

    For tests and small data only: on a vendor's ledger this is the largest
    table of the report (one row per customer-month).
    """
    t = active_table(active)
    got = engine.current().fetch(t)
    got = got.sort_values(["customer_id", "month_index"], kind="stable").reset_index(drop=True)
    return pd.DataFrame({"customer_id": got["customer_id"].astype(str), "month": periods(got["month_index"]),
                         "mrr": got["mrr"].astype(float)})


NEIGHBOURS = ("prev_month", "next_month", "prev_mrr")


def with_neighbours(active, end=None) -> ibis.Table:
    """Active months up to ``end`` with each customer's previous and next active month (window functions).

    Adds ``prev_month`` = ``lag(month_index)``, ``next_month`` =
    ``lead(month_index)`` and ``prev_mrr`` = ``lag(mrr)`` over the customer's
    active months in month order (NULL at the first / last one). A table
    that has these columns already (a report keeps ``with_neighbours`` of its
    active months, :func:`kept`) is used as it is, without a window, also
    for a subset of whole customers (:func:`mrr_movements_by_segment`); then a
    ``next_month`` may lie after ``end``. The metrics read the next month
    only where that makes no difference: a customer leaving after ``end``
    is seen in no month up to ``end``, and :func:`cxreport.survival.lifetimes`
    ends every spell at ``end``.
    """
    t = engine.table(active)
    if set(NEIGHBOURS) <= set(t.columns):
        a = t.select("customer_id", "month_index", "mrr", *NEIGHBOURS)
        return a if end is None else a.filter(a.month_index <= month_index_of(end))
    a = active_table(t)
    if end is not None:  # fewer rows to sort; the same figures (see above)
        a = a.filter(a.month_index <= month_index_of(end))
    w = ibis.window(group_by=a.customer_id, order_by=a.month_index)
    return a.mutate(prev_month=a.month_index.lag().over(w), next_month=a.month_index.lead().over(w), prev_mrr=a.mrr.lag().over(w))


# ---------------------------------------------------------------- movements
def mrr_movements(active, end=None, start=None) -> pd.DataFrame:
    """The monthly MRR bridge: one row per month from the first active month (or ``start``) to ``end``.

    ``active`` is :func:`active_months`; ``end`` is the ledger's last month
    (default: the last active month); a churn can be seen up to ``end``
    only. ``start`` (e.g. the ledger's first month) makes the table begin
    there even before the first active month; with ``start`` and ``end`` and no
    active month at all (a ledger of non-recurring revenue only) every month
    has zeros, so the bridge still closes. Columns:

    - ``month``; ``opening_mrr`` (MRR of the previous month), ``new``,
      ``reactivation``, ``expansion`` (>= 0), ``contraction`` (<= 0),
      ``churned`` (<= 0, minus the previous month's MRR of customers who
      left), ``closing_mrr`` (= opening + the five movements), ``net_change``;
    - counts: ``customers_opening``, ``new_customers``,
      ``reactivated_customers``, ``churned_customers``, ``expanded_customers``,
      ``contracted_customers``, ``customers`` (active at month end);
    - ``arpa`` = closing MRR / active customers (NaN with none).

    See the module docstring for the definitions. On the engine, each
    active month is compared with the customer's previous and next active
    month (:func:`with_neighbours`), in the words of the definitions: *new*
    when there is no previous month, *reactivation* when the previous one is
    earlier than ``m - 1``, *expansion* / *contraction* when it is ``m - 1``,
    and the customer *leaves* after ``m`` when there is no next month or it
    is later than ``m + 1`` (its MRR is churned in ``m + 1``). The sums per
    month come back to pandas, which lays them on the month spine (months
    without activity get zeros) and moves the leavers to the following month.
    """
    return _bridge(engine.current().fetch(_movement_sums(with_neighbours(active, end))), end, start)


def mrr_movements_by_segment(active, segments: pd.Series, end=None, start=None) -> dict:
    """:func:`mrr_movements` of each segment's customers, in one query: ``{segment: movements}``.

    ``segments`` maps ``customer_id`` (index) to a segment (blank: left out).
    Each segment's table is what :func:`mrr_movements` gives for the active
    months of its customers (from the segment's first active month, or
    ``start``, to ``end``); a segment without active months gets an empty
    table (or zeros from ``start`` to ``end``). The neighbouring months are
    the customer's own, so one window (or none, when ``active`` is kept with
    its neighbours) serves every segment; the sums are grouped by segment
    and month.
    """
    seg_map = _customer_map(segments, "segment_value")
    values = {str(v): v for v in pd.unique(seg_map["segment_value"])}
    if seg_map.empty:
        return {}
    rows = with_neighbours(active, end).join(engine.table(seg_map), "customer_id")
    got = engine.current().fetch(_movement_sums(rows, ("segment_value",)))
    per_segment = {str(k): g.drop(columns="segment_value") for k, g in got.groupby(got["segment_value"].astype(str), sort=False)}
    empty = got.drop(columns="segment_value").iloc[0:0]
    return {value: _bridge(per_segment.get(key, empty), end, start) for key, value in values.items()}


def _movement_sums(rows, by: tuple[str, ...] = ()) -> ibis.Table:
    """The per-month sums of :func:`mrr_movements` (by ``by`` and month) from active months with neighbours.

    A month *m* of a customer is *new* without a previous active month,
    *reactivation* when the previous one is before ``m - 1``, and
    *expansion* / *contraction* by its MRR change when it is ``m - 1``; the
    customer *leaves* after *m* without a next active month or when the next
    one is after ``m + 1`` (``leaving_mrr`` and ``leaving_customers``, churned
    in ``m + 1``).
    """
    m, mrr, prev, nxt = rows.month_index, rows.mrr, rows.prev_month, rows.next_month
    new = prev.isnull()
    reactivated = prev.notnull() & (prev < m - 1)
    continuing = prev.notnull() & (prev == m - 1)
    delta = ibis.ifelse(continuing, mrr - rows.prev_mrr, 0.0)
    expanded = continuing & (delta > 0)
    contracted = continuing & (delta < 0)
    leaves = nxt.isnull() | (nxt > m + 1)
    return rows.group_by([*by, "month_index"]).aggregate(
        closing_mrr=mrr.sum(), customers=rows.count(),
        new=mrr.sum(where=new), new_customers=rows.count(where=new),
        reactivation=mrr.sum(where=reactivated), reactivated_customers=rows.count(where=reactivated),
        expansion=delta.sum(where=expanded), expanded_customers=rows.count(where=expanded),
        contraction=delta.sum(where=contracted), contracted_customers=rows.count(where=contracted),
        leaving_mrr=mrr.sum(where=leaves), leaving_customers=rows.count(where=leaves),
    )


def _bridge(got: pd.DataFrame, end, start) -> pd.DataFrame:
    """The :func:`mrr_movements` table from the fetched per-month sums: the month spine, zeros, leavers a month later."""
    if got.empty and (end is None or start is None):
        return pd.DataFrame(columns=MOVEMENT_COLUMNS)
    first = int(got["month_index"].min()) if len(got) else None
    end_i = int(got["month_index"].max()) if end is None else month_index_of(end)
    m0 = first if start is None else (month_index_of(start) if first is None else min(first, month_index_of(start)))
    spine = pd.RangeIndex(m0, end_i + 1)
    got = got.set_index("month_index").reindex(spine)
    money = ["closing_mrr", "new", "reactivation", "expansion", "contraction", "leaving_mrr"]
    counts = ["customers", "new_customers", "reactivated_customers", "expanded_customers", "contracted_customers",
              "leaving_customers"]
    got[money] = got[money].astype(float).fillna(0.0)
    got[counts] = got[counts].fillna(0).astype(np.int64)

    out = pd.DataFrame({"month": periods(spine)})
    for col in ("new", "reactivation", "expansion", "contraction"):
        out[col] = got[col].to_numpy()
    # a customer leaving after month m is churned in m + 1 (leavers in ``end`` are not seen: no month after it)
    out["churned"] = 0.0 - got["leaving_mrr"].shift(1, fill_value=0.0).to_numpy()
    out["closing_mrr"] = got["closing_mrr"].to_numpy()
    out["opening_mrr"] = out["closing_mrr"].shift(1, fill_value=0.0)
    out["net_change"] = out["closing_mrr"] - out["opening_mrr"]
    out["customers"] = got["customers"].to_numpy()
    out["customers_opening"] = out["customers"].shift(1, fill_value=0)
    for col in ("new_customers", "reactivated_customers", "expanded_customers", "contracted_customers"):
        out[col] = got[col].to_numpy()
    out["churned_customers"] = got["leaving_customers"].shift(1, fill_value=0).to_numpy()
    out["arpa"] = out["closing_mrr"] / out["customers"].where(out["customers"] > 0)
    return out[MOVEMENT_COLUMNS]


def bridge(movements: pd.DataFrame, first=None, last=None) -> dict:
    """The MRR bridge over a period: opening MRR, the five movements summed, closing MRR.

    ``first``/``last`` are months (inclusive; default the whole table). The
    opening MRR is the first month's opening, the closing the last month's
    closing, so ``closing = opening + sum of movements``.
    """
    mv = movements
    if first is not None:
        mv = mv[mv["month"] >= pd.Period(first, freq="M")]
    if last is not None:
        mv = mv[mv["month"] <= pd.Period(last, freq="M")]
    if mv.empty:
        return {k: np.nan for k in ("opening_mrr", *MOVEMENTS, "closing_mrr")}
    out = {"opening_mrr": float(mv["opening_mrr"].iloc[0])}
    out.update({k: float(mv[k].sum()) for k in MOVEMENTS})
    out["closing_mrr"] = float(mv["closing_mrr"].iloc[-1])
    return out


# ---------------------------------------------------------------- retention and churn
def _number(value, default=0.0) -> float:
    """An engine aggregate as a float: SQL NULL (a sum over no rows) is ``default``."""
    return default if value is None or pd.isna(value) else float(value)


def retention(active, start, end) -> dict:
    """Logo and revenue retention of the starting book from month ``start`` to month ``end``.

    The starting book is every customer active in ``start`` (for a calendar
    year: December of the previous year) with its MRR then (``start_mrr``).
    At ``end`` each of them is retained (active) or churned (not active;
    customers who left and came back by ``end`` count as retained).

    - ``logo_retention_pct`` = retained customers / starting customers x 100;
      ``logo_churn_pct`` = 100 - logo retention.
    - ``expansion`` = sum of MRR increases of retained customers,
      ``contraction`` = sum of MRR decreases of retained customers (>= 0),
      ``churned_mrr`` = start MRR of customers not active at ``end``.
    - **NRR** (net revenue retention) = (start + expansion - contraction -
      churn) / start x 100 = the starting book's MRR at ``end`` / its start
      MRR. New customers acquired after ``start`` are not in it.
    - **GRR** (gross revenue retention) = (start - contraction - churn) /
      start x 100: each customer's MRR is capped at its start MRR, so GRR is
      at most 100%.

    Edge case: an empty starting book gives NaN percentages. One aggregate
    on the engine: the customers' MRR in ``start`` and ``end`` side by side.
    """
    s, e = month_index_of(start), month_index_of(end)
    a = active_table(active)
    rows = a.filter(a.month_index.isin([s, e]))
    per = rows.group_by("customer_id").aggregate(start_mrr=rows.mrr.sum(where=rows.month_index == s),
                                                 end_mrr=rows.mrr.sum(where=rows.month_index == e))
    book = per.filter(per.start_mrr.notnull())
    retained = book.end_mrr.notnull()
    diff = book.end_mrr.fill_null(0.0) - book.start_mrr
    got = engine.current().fetch(book.aggregate(
        customers_start=book.count(), customers_retained=book.count(where=retained), start_mrr=book.start_mrr.sum(),
        end_mrr=book.end_mrr.sum(), expansion=diff.sum(where=retained & (diff > 0)),
        contraction=(-diff).sum(where=retained & (diff < 0)), churned_mrr=book.start_mrr.sum(where=~retained))).iloc[0]
    n, kept_n = int(got["customers_start"]), int(got["customers_retained"])
    start_mrr, expansion = _number(got["start_mrr"]), _number(got["expansion"])
    contraction, churned = _number(got["contraction"]), _number(got["churned_mrr"])
    pct = (lambda x, d: 100.0 * x / d if d else np.nan)
    return {
        "start": str(pd.Period(start, freq="M")),
        "end": str(pd.Period(end, freq="M")),
        "customers_start": n,
        "customers_retained": kept_n,
        "customers_churned": n - kept_n,
        "logo_retention_pct": pct(kept_n, n),
        "logo_churn_pct": pct(n - kept_n, n),
        "start_mrr": start_mrr,
        "end_mrr_of_starting_book": _number(got["end_mrr"]),
        "expansion": expansion,
        "contraction": contraction,
        "churned_mrr": churned,
        "nrr_pct": pct(start_mrr + expansion - contraction - churned, start_mrr),
        "grr_pct": pct(start_mrr - contraction - churned, start_mrr),
    }


def monthly_logo_churn(movements: pd.DataFrame, first, last) -> dict:
    """Monthly logo churn over months ``first``..``last`` (inclusive), pooled.

    ``monthly_pct`` = customers churned in those months / customers active at
    the start of each month (summed over the months) x 100, i.e. the average
    monthly probability that an active customer leaves.
    ``annualised_pct`` = (1 - (1 - monthly)^12) x 100. Counts come from
    :func:`mrr_movements`. NaN when no customer was active.
    """
    mv = movements[(movements["month"] >= pd.Period(first, freq="M")) & (movements["month"] <= pd.Period(last, freq="M"))]
    churned = int(mv["churned_customers"].sum())
    exposure = int(mv["customers_opening"].sum())
    rate = churned / exposure if exposure else np.nan
    return {
        "churned_customers": churned,
        "customer_months": exposure,
        "monthly_pct": 100.0 * rate,
        "annualised_pct": 100.0 * (1 - (1 - rate) ** 12) if exposure else np.nan,
    }


def arpa(movements: pd.DataFrame, first, last) -> dict:
    """ARPA (average revenue per account): MRR per active customer.

    ``end`` = closing MRR / active customers in the last month;
    ``average`` = sum of monthly closing MRR / sum of monthly active
    customers over ``first``..``last`` (an MRR-weighted mean of the months).
    """
    mv = movements[(movements["month"] >= pd.Period(first, freq="M")) & (movements["month"] <= pd.Period(last, freq="M"))]
    if mv.empty:
        return {"end": np.nan, "average": np.nan}
    last_row = mv.iloc[-1]
    return {
        "end": float(last_row["closing_mrr"] / last_row["customers"]) if last_row["customers"] else np.nan,
        "average": float(mv["closing_mrr"].sum() / mv["customers"].sum()) if mv["customers"].sum() else np.nan,
    }


def never_active(ledger, end, active=None) -> dict:
    """Customers of the ledger (rows up to ``end``) that are never active: no month with MRR > 0.

    Returns ``customers`` (how many), ``nonrecurring_customers`` (those with
    a project, licence or IP row), ``zero_recurring_customers`` (the others:
    their recurring rows all sum to zero) and ``types`` (the revenue types
    of their rows, in :data:`REVENUE_TYPES` order). Their revenue is in the
    totals but not in MRR, retention, cohorts or lifetimes (module
    docstring). An anti-join of the ledger with :func:`active_months` (``active``
    when the caller has it, computed here otherwise).
    """
    end_i = month_index_of(end)
    t = ledger_table(ledger)
    rows = t.filter(t.month_index <= end_i)
    ever = active_table(active if active is not None else active_months(ledger, end=end)).select("customer_id").distinct()
    never = rows.anti_join(ever, "customer_id")
    eng = engine.current()
    counts = eng.fetch(never.aggregate(customers=never.customer_id.nunique(),
                                       nonrecurring=never.customer_id.nunique(where=~never.revenue_type.isin(RECURRING_TYPES))))
    present = set(eng.fetch(never.select("revenue_type").distinct())["revenue_type"].astype(str))
    n, nonrec = int(_number(counts["customers"].iloc[0])), int(_number(counts["nonrecurring"].iloc[0]))
    return {"customers": n, "nonrecurring_customers": nonrec, "zero_recurring_customers": n - nonrec,
            "types": [kind for kind in REVENUE_TYPES if kind in present]}


# ---------------------------------------------------------------- revenue totals
def _year_rows(ledger, year: int) -> ibis.Table:
    t = ledger_table(ledger)
    return t.filter(t.month_index.between(year * 12, year * 12 + 11))


def type_sums(ledger, years=None) -> pd.DataFrame:
    """The ledger's revenue by year and revenue type, in one aggregate on the engine.

    Index ``(year, revenue_type)``; columns ``revenue`` and, when the ledger
    has a ``cost`` column, ``revenue_with_cost`` (revenue of rows whose cost
    is given) and ``cost``. ``years``: the years wanted (None: every year).
    A year or type without rows is absent. :func:`revenue_by_type`,
    :func:`recurring_share` and :func:`gross_margin` read it (pass it as
    ``sums`` to compute several of them, or several years, from one query).
    """
    t = ledger_table(ledger)
    rows = t.mutate(year=(t.month_index // 12).cast("int64"))
    if years is not None:
        wanted = sorted({int(y) for y in years})
        rows = rows.filter(rows.month_index.between(wanted[0] * 12, wanted[-1] * 12 + 11)) if wanted else rows.limit(0)
        rows = rows.filter(rows.year.isin(wanted)) if wanted else rows
    sums = {"revenue": rows.amount.sum()}
    if "cost" in rows.columns:
        known_cost = rows.cost.notnull()
        sums.update(revenue_with_cost=rows.amount.sum(where=known_cost), cost=rows.cost.sum(where=known_cost))
    got = engine.current().fetch(rows.group_by(["year", "revenue_type"]).aggregate(**sums))
    got["year"] = got["year"].astype(int)
    return got.set_index(["year", "revenue_type"]).sort_index().astype(float)


def _of_year(ledger, year: int, sums: pd.DataFrame | None) -> pd.DataFrame:
    """The rows of ``year`` of :func:`type_sums` (queried here when ``sums`` is None), indexed by type."""
    sums = type_sums(ledger, [year]) if sums is None else sums
    columns = list(sums.columns)
    if year in sums.index.get_level_values("year"):
        return sums.xs(year, level="year")
    return pd.DataFrame(columns=columns, index=pd.Index([], name="revenue_type"), dtype=float)


def revenue_by_type(ledger, year: int, sums: pd.DataFrame | None = None) -> pd.DataFrame:
    """Revenue, cost and gross profit by revenue type in ``year``.

    Columns: ``revenue_type``, ``label``, ``recurring``, ``revenue``,
    ``share_pct`` (of total revenue), and when the ledger has a ``cost``
    column: ``revenue_with_cost`` (revenue of rows whose cost is given),
    ``cost``, ``gross_profit`` = revenue_with_cost - cost, ``margin_pct`` =
    gross profit / revenue_with_cost x 100 (NaN when no row has a cost) and
    ``cost_coverage_pct`` (share of the type's revenue with a known cost).
    Rows with a blank cost are left out of the margin, not counted as free.
    Every type appears, with zeros when absent. From :func:`type_sums`
    (``sums``, else one aggregate on the engine).
    """
    got = _of_year(ledger, year, sums)
    with_cost = "cost" in got.columns
    out = pd.DataFrame(index=pd.Index(REVENUE_TYPES, name="revenue_type"))
    out["label"] = [TYPE_LABELS[t] for t in REVENUE_TYPES]
    out["recurring"] = out.index.isin(RECURRING_TYPES)
    out["revenue"] = got["revenue"].astype(float).reindex(out.index).fillna(0.0)
    total = out["revenue"].sum()
    out["share_pct"] = 100 * out["revenue"] / total if total else np.nan
    if with_cost:
        out["revenue_with_cost"] = got["revenue_with_cost"].astype(float).reindex(out.index).fillna(0.0)
        out["cost"] = got["cost"].astype(float).reindex(out.index).fillna(0.0)
        out["gross_profit"] = out["revenue_with_cost"] - out["cost"]
        w = out["revenue_with_cost"].where(out["revenue_with_cost"] > 0)
        out["margin_pct"] = 100 * out["gross_profit"] / w
        out["cost_coverage_pct"] = 100 * out["revenue_with_cost"] / out["revenue"].where(out["revenue"] > 0)
    return out.reset_index()


def recurring_share(ledger, year: int, sums: pd.DataFrame | None = None) -> dict:
    """Share of recurring revenue (subscription + managed) in total revenue of ``year``, 0-100.

    Total revenue includes project, licence and IP revenue, also of customers
    who never have recurring revenue. NaN when the year has no revenue.
    ``sums``: :func:`type_sums` when already at hand.
    """
    by = revenue_by_type(ledger, year, sums)
    total = float(by["revenue"].sum())
    rec = float(by.loc[by["recurring"], "revenue"].sum())
    return {"total_revenue": total, "recurring_revenue": rec, "recurring_share_pct": 100 * rec / total if total else np.nan}


def gross_margin(ledger, year: int, types=RECURRING_TYPES, sums: pd.DataFrame | None = None) -> float:
    """Gross margin (0-1) of the given revenue types in ``year``: 1 - cost / revenue, over rows with a cost.

    NaN when the ledger has no cost column or no row of those types has a cost.
    ``sums``: :func:`type_sums` when already at hand.
    """
    got = _of_year(ledger, year, sums)
    if "cost" not in got.columns:
        return np.nan
    got = got[got.index.isin(tuple(types))]
    return _margin(float(got["revenue_with_cost"].sum()), float(got["cost"].sum()))


def _margin(revenue: float, cost: float) -> float:
    """1 - cost / revenue; NaN without revenue."""
    return 1 - cost / revenue if revenue > 0 else np.nan


def gross_margin_by_segment(ledger, segments: pd.Series, year: int, types=RECURRING_TYPES) -> pd.Series:
    """:func:`gross_margin` of each segment's customers, in one query: a Series ``segment -> margin (0-1)``.

    ``segments`` maps ``customer_id`` (index) to a segment (blank: left out);
    every segment is in the result, NaN when none of its rows of ``types``
    in ``year`` has a cost (or the ledger has no cost column).
    """
    seg_map = _customer_map(segments, "segment_value")
    values = {str(v): v for v in pd.unique(seg_map["segment_value"])}
    out = pd.Series(np.nan, index=pd.Index(list(values.values()), dtype=object), dtype=float)
    rows = _year_rows(ledger, year)
    if "cost" not in rows.columns or seg_map.empty:
        return out
    rows = rows.filter(rows.revenue_type.isin(tuple(types)) & rows.cost.notnull()).join(engine.table(seg_map), "customer_id")
    got = engine.current().fetch(rows.group_by("segment_value").aggregate(revenue=rows.amount.sum(), cost=rows.cost.sum()))
    for key, revenue, cost in zip(got["segment_value"].astype(str), got["revenue"], got["cost"]):
        out[values[key]] = _margin(_number(revenue), _number(cost))
    return out


def _customer_map(series: pd.Series, name: str) -> pd.DataFrame:
    """A pandas Series ``customer_id -> value`` as a two-column frame (blank values dropped, first value per customer)."""
    frame = pd.DataFrame({"customer_id": series.index.astype(str), name: series.to_numpy()})
    return frame.dropna(subset=[name]).drop_duplicates("customer_id").reset_index(drop=True)


def cloud_recurring_comparison(ledger, units: pd.Series, year: int, cloud_types, threshold_pct: float = 50.0, *,
                               min_n: int) -> dict:
    """Recurring-revenue share of mostly-cloud units versus the others (the source's "1.8x" benchmark).

    ``units`` maps ``customer_id`` (index) to a unit, e.g. the partner
    serving the account. Per unit, over ``year``: cloud share = revenue of
    ``cloud_types`` / total revenue x 100 and recurring share. Units with a
    cloud share above ``threshold_pct`` are *mostly cloud*. Each group's
    recurring share is pooled (its recurring revenue / its total revenue),
    and ``ratio`` = mostly-cloud share / other share. NaN ratio when either
    group has fewer than ``min_n`` units or no recurring revenue.
    ``cloud_types`` is the ``cloud_revenue_types`` setting and ``min_n`` the
    ``min_group_size`` setting (no defaults here: params/defaults.yaml holds them).
    The units are joined to the ledger on the engine; one row per unit comes back.
    """
    unit_map = _customer_map(units, "unit")
    if unit_map.empty:
        per = pd.DataFrame({"amount": [], "_ca": [], "_ra": []}, index=pd.Index([], name="unit", dtype=object))
    else:
        rows = _year_rows(ledger, year).join(engine.table(unit_map), "customer_id")
        amount = rows.amount
        per = engine.current().fetch(rows.group_by("unit").aggregate(
            amount=amount.sum(), _ca=amount.sum(where=rows.revenue_type.isin(tuple(cloud_types))),
            _ra=amount.sum(where=rows.revenue_type.isin(RECURRING_TYPES))))
        per = per.sort_values("unit", kind="stable").set_index("unit").astype(float).fillna(0.0)
    per = per[per["amount"] > 0]
    per["cloud_share_pct"] = 100 * per["_ca"] / per["amount"]
    per["recurring_share_pct"] = 100 * per["_ra"] / per["amount"]
    mostly = per["cloud_share_pct"] > threshold_pct
    out = {"units_mostly_cloud": int(mostly.sum()), "units_other": int((~mostly).sum())}
    for name, grp in (("mostly_cloud", per[mostly]), ("other", per[~mostly])):
        out[f"{name}_recurring_share_pct"] = 100 * grp["_ra"].sum() / grp["amount"].sum() if len(grp) else np.nan
    ok = out["units_mostly_cloud"] >= min_n and out["units_other"] >= min_n and out["other_recurring_share_pct"] > 0
    out["ratio"] = out["mostly_cloud_recurring_share_pct"] / out["other_recurring_share_pct"] if ok else np.nan
    out["table"] = per.rename(columns={"amount": "revenue", "_ca": "cloud_revenue", "_ra": "recurring_revenue"}).reset_index(names="unit")
    out["table"]["mostly_cloud"] = out["table"]["cloud_share_pct"] > threshold_pct
    return out


def revenue_by_segment(ledger, segments: pd.DataFrame, year: int, by: str = "segment", *, min_n: int,
                       active=None) -> pd.DataFrame:
    """Revenue of ``year`` by customer segment (e.g. maturity stage), for any report to show.

    ``segments`` has ``customer_id`` and the column ``by`` (one row per
    customer; customers without a segment are left out). Per segment:
    ``customers`` (with any revenue in the year), ``active_customers`` (active
    in December), ``revenue``, ``recurring_revenue``, ``recurring_share_pct``,
    ``mrr`` (December MRR), ``arpa`` (December MRR / active customers),
    ``revenue_per_customer`` and ``revenue_share_pct`` (of the segments'
    total). Segments with fewer than ``min_n`` customers keep their counts
    but have NaN figures and ``suppressed`` True. ``active`` is
    :func:`active_months` when the caller has it (computed here otherwise).
    The segments are joined to the ledger and the December active months on
    the engine; one row per segment comes back.

    The maturity report calls it as
    ``revenue_by_segment(ledger, stages[["customer_id", "stage_name"]], year, by="stage_name", min_n=settings.min_group_size)``.
    """
    kind = segments[by].dtype
    seg = segments.dropna(subset=[by]).drop_duplicates("customer_id")
    seg_map = pd.DataFrame({"customer_id": seg["customer_id"].astype(str).to_numpy(), "segment_value": seg[by].to_numpy()})
    cols = ["customers", "revenue", "recurring_revenue"]
    if seg_map.empty:
        out = pd.DataFrame({c: pd.Series(dtype=float) for c in cols}, index=pd.Index([], name="segment_value"))
        dec = pd.DataFrame({"size": pd.Series(dtype=np.int64), "sum": pd.Series(dtype=float)})
    else:
        seg_t = engine.table(seg_map)
        rows = _year_rows(ledger, year).join(seg_t, "customer_id")
        out = engine.current().fetch(rows.group_by("segment_value").aggregate(
            customers=rows.customer_id.nunique(), revenue=rows.amount.sum(),
            recurring_revenue=rows.amount.sum(where=rows.revenue_type.isin(RECURRING_TYPES))))
        out = out.sort_values("segment_value", kind="stable").set_index("segment_value")
        act = active_table(active if active is not None else active_months(ledger, end=f"{year}-12"))
        dec_rows = act.filter(act.month_index == month_index_of(f"{year}-12")).join(seg_t, "customer_id")
        dec = engine.current().fetch(dec_rows.group_by("segment_value").aggregate(size=dec_rows.count(), sum=dec_rows.mrr.sum()))
        dec = dec.set_index("segment_value")
    out["customers"] = out["customers"].astype(np.int64)
    out["revenue"] = out["revenue"].astype(float)
    out["recurring_revenue"] = out["recurring_revenue"].astype(float).fillna(0.0)
    out["active_customers"] = dec["size"].reindex(out.index).fillna(0).astype(int)
    out["mrr"] = dec["sum"].astype(float).reindex(out.index).fillna(0.0)
    out["recurring_share_pct"] = 100 * out["recurring_revenue"] / out["revenue"].where(out["revenue"] > 0)
    out["arpa"] = out["mrr"] / out["active_customers"].where(out["active_customers"] > 0)
    out["revenue_per_customer"] = out["revenue"] / out["customers"]
    out["revenue_share_pct"] = 100 * out["revenue"] / out["revenue"].sum() if out["revenue"].sum() else np.nan
    out["suppressed"] = out["customers"] < min_n
    figures = ["revenue", "recurring_revenue", "mrr", "recurring_share_pct", "arpa", "revenue_per_customer", "revenue_share_pct"]
    out.loc[out["suppressed"], figures] = np.nan
    out = out.reset_index().rename(columns={"segment_value": by})
    if isinstance(kind, pd.CategoricalDtype):  # back to the caller's categories, in their order
        out[by] = pd.Categorical(out[by], dtype=kind)
        out = out.sort_values(by, kind="stable").reset_index(drop=True)
    return out


# ---------------------------------------------------------------- headline
def revenue_headline(ledger, active, movements: pd.DataFrame, year: int, sums: pd.DataFrame | None = None) -> dict:
    """The year's headline figures (for the report's summary and ``metrics.json``).

    Retention compares December of ``year - 1`` with December of ``year``
    (:func:`retention`); churn and ARPA cover January-December of ``year``.
    ``sums``: :func:`type_sums` when already at hand (else one aggregate here).
    """
    first, last, before = f"{year}-01", f"{year}-12", f"{year - 1}-12"
    ret = retention(active, before, last)
    br = bridge(movements, first, last)
    sums = type_sums(ledger, [year]) if sums is None else sums
    rs = recurring_share(ledger, year, sums)
    return {
        "year": year,
        "mrr_end": br["closing_mrr"],
        "mrr_start": br["opening_mrr"],
        "mrr_growth_pct": 100 * (br["closing_mrr"] / br["opening_mrr"] - 1) if br["opening_mrr"] else np.nan,
        "bridge": br,
        "active_customers": int(movements.loc[movements["month"] == pd.Period(last, freq="M"), "customers"].sum()),
        "retention": ret,
        "monthly_churn": monthly_logo_churn(movements, first, last),
        "arpa": arpa(movements, first, last),
        **rs,
        "recurring_gross_margin_pct": 100 * gross_margin(ledger, year, sums=sums),
    }


# ---------------------------------------------------------------- loading
def load_revenue(path, accounts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Load ``revenue.csv`` (the README's input contract) and check it against ``accounts.csv``.

    Validation is :func:`cxreport.inputs.load` with the ``REVENUE`` contract
    (one message per bad value: unknown revenue type, bad month, negative
    amount...). With ``accounts`` (the loaded ``accounts.csv``), every ledger
    row whose ``customer_id`` is not an account gives one message. Raises
    :class:`cxreport.inputs.InputError` with all messages.
    """
    from .inputs import REFERENCES, REVENUE, InputError, check_references, load

    ledger = load(path, REVENUE)
    if accounts is not None:
        refs = tuple(r for r in REFERENCES if r.filename == REVENUE.filename)
        problems = check_references({REVENUE.filename: ledger, "accounts.csv": accounts}, refs)
        if problems:
            raise InputError(problems)
    return ledger


def revenue_metrics(headline: dict, extra: dict | None = None, digits: int = 2) -> dict:
    """The ``revenue`` section of ``metrics.json`` from :func:`revenue_headline` (flat keys, rounded).

    Percentages are 0-100; money in the ledger's currency; ``extra`` adds
    report-level figures (CLV, model results) as they are.
    """
    h = headline
    out = {
        "year": h["year"],
        "mrr_start": h["mrr_start"],
        "mrr_end": h["mrr_end"],
        "mrr_growth_pct": h["mrr_growth_pct"],
        "active_customers": h["active_customers"],
        **{f"{k}_mrr": h["bridge"][k] for k in MOVEMENTS},
        "customers_start": h["retention"]["customers_start"],
        "logo_retention_pct": h["retention"]["logo_retention_pct"],
        "annual_logo_churn_pct": h["retention"]["logo_churn_pct"],
        "nrr_pct": h["retention"]["nrr_pct"],
        "grr_pct": h["retention"]["grr_pct"],
        "monthly_logo_churn_pct": h["monthly_churn"]["monthly_pct"],
        "churned_customers": h["monthly_churn"]["churned_customers"],
        "arpa": h["arpa"]["end"],
        "arpa_average": h["arpa"]["average"],
        "total_revenue": h["total_revenue"],
        "recurring_revenue": h["recurring_revenue"],
        "recurring_share_pct": h["recurring_share_pct"],
        "recurring_gross_margin_pct": h["recurring_gross_margin_pct"],
        **(extra or {}),
    }

    def rnd(v):
        if isinstance(v, (float, np.floating)):
            return None if not np.isfinite(v) else round(float(v), digits)
        if isinstance(v, (np.integer,)):
            return int(v)
        if isinstance(v, (np.bool_,)):
            return bool(v)
        return v

    return {k: rnd(v) for k, v in out.items()}

"""Acquisition cohorts and cohort retention matrices (logo and revenue).

Definitions (see :mod:`cxreport.revenue` for *active*):

- A customer's **acquisition month** is its first active month; its
  **acquisition cohort** is the calendar quarter (or other period) of that
  month, e.g. ``2018Q3``.
- **Age** is counted from each customer's own acquisition month: age 0 is
  the acquisition month, age 3 three months later. Period *k* of the matrix
  (quarters since acquisition, with the default ``step=3``) looks at age
  ``k * step`` months.
- **Logo retention** of a cohort at period *k* = customers of the cohort
  active at age ``k * step`` / cohort size x 100. A customer that left and
  came back is counted again once active (so a row can rise).
- **Revenue retention** at period *k* = the cohort's MRR at age ``k * step``
  / the cohort's MRR at age 0 x 100 (can exceed 100 when expansion outweighs
  churn).
- A cell is shown only when every member of the cohort has reached that
  age by the ledger's last month ``end``; later cells are NaN (not yet
  observed), never zero.
- Customers whose first active month is the ledger's first month may have
  been acquired earlier (the ledger does not say); ``first_cohort_note``
  marks that cohort.

Where it runs: the ages and cohort sizes are computed on the engine (a
``min`` window over each customer's active months gives its acquisition
month); what comes back is one row per acquisition month and age, which
pandas groups into cohorts (quarters by default) and pivots.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from . import engine
from .revenue import active_table, month_index_of, periods


def acquisitions(active, freq: str = "Q") -> pd.DataFrame:
    """One row per customer: ``customer_id``, ``acquired`` (first active month), ``cohort`` (its period, e.g. quarter).

    ``active`` is :func:`cxreport.revenue.active_months` (or a pandas frame of
    active months). The first month is a ``min`` per customer on the engine;
    sorted by customer.
    """
    a = active_table(active)
    got = engine.current().fetch(a.group_by("customer_id").aggregate(acquired=a.month_index.min()))
    got = got.sort_values("customer_id", kind="stable").reset_index(drop=True)
    acquired = periods(got["acquired"])
    return pd.DataFrame(
        {
            "customer_id": got["customer_id"].astype(str),
            "acquired": acquired,
            "cohort": acquired.asfreq(freq) if freq != "M" else acquired,
        }
    )


def cohort_cells(active, end=None, step: int = 3) -> tuple[pd.DataFrame, int | None]:
    """Customers and MRR per acquisition month and age (months since acquisition), at ages ``0, step, 2*step...``.

    Returns ``(cells, end_index)``: ``cells`` has ``acquired`` (month index
    ``year * 12 + month - 1``), ``age``, ``customers`` (active at that age)
    and ``mrr`` (their MRR then), one row per pair with any active customer;
    ``end_index`` is ``end`` (default the last active month) as a month
    index, None without any active month. Computed on the engine: the
    acquisition month is the ``min`` of the customer's active months over a
    window per customer; at most (months x months / step) rows come back.
    """
    a = active_table(active)
    eng = engine.current()
    if end is None:
        last = eng.scalar(a.month_index.max())
        if last is None:
            return pd.DataFrame(columns=["acquired", "age", "customers", "mrr"]), None
        end_i = int(last)
    else:
        end_i = month_index_of(end)
        a = a.filter(a.month_index <= end_i)
    rows = a.mutate(acquired=a.month_index.min().over(ibis.window(group_by=a.customer_id)))
    rows = rows.mutate(age=rows.month_index - rows.acquired)
    rows = rows.filter(rows.age % step == 0)
    cells = eng.fetch(rows.group_by(["acquired", "age"]).aggregate(customers=rows.count(), mrr=rows.mrr.sum()))
    return cells, end_i


def cohort_retention(active, end=None, freq: str = "Q", step: int = 3, max_periods: int | None = None):
    """Logo and revenue retention matrices by acquisition cohort.

    Returns ``(logo, revenue)``: two frames, one row per cohort, with
    ``cohort`` (e.g. ``2018Q3``), ``customers`` (cohort size), ``start_mrr``
    (the cohort's MRR at age 0), and one column per period since acquisition
    ``0, 1, 2, ...`` (percentages 0-100; NaN where not yet observed). See
    the module docstring for the definitions. ``end`` defaults to the last
    active month. The counts per acquisition month and age come from the
    engine (:func:`cohort_cells`); grouping the months into cohorts and the
    pivot are pandas on that small table.
    """
    cells, end_i = cohort_cells(active, end, step)
    first = cells["acquired"].to_numpy(dtype=np.int64)
    cohort_p = periods(first).asfreq(freq) if freq != "M" else periods(first)
    c_codes, c_labels = pd.factorize(cohort_p, sort=True)  # cohort of each cell, as an integer
    n_c = len(c_labels)
    age = cells["age"].to_numpy(dtype=np.int64)
    customers = cells["customers"].to_numpy(dtype=np.int64)
    mrr = cells["mrr"].to_numpy(dtype=float)

    at_start = age == 0  # every customer is active at age 0, once: the cohort's size and start MRR
    size = np.bincount(c_codes[at_start], weights=customers[at_start], minlength=n_c).astype(np.int64)
    youngest = np.full(n_c, np.iinfo(np.int64).min, dtype=np.int64)  # latest acquisition month in each cohort
    np.maximum.at(youngest, c_codes, first)

    period = age // step
    n_periods = int(period.max()) + 1 if len(period) else 0
    if max_periods is not None:
        n_periods = min(n_periods, max_periods)
    sel = period < n_periods
    cell = c_codes[sel] * n_periods + period[sel]
    counts_a = np.bincount(cell, weights=customers[sel], minlength=n_c * n_periods).reshape(n_c, n_periods).astype(np.int64)
    sums_a = np.bincount(cell, weights=mrr[sel], minlength=n_c * n_periods).reshape(n_c, n_periods)
    cols = list(range(n_periods))
    index = pd.Index(c_labels.astype(str), name="cohort")
    counts = pd.DataFrame(counts_a, index=index, columns=cols)
    sums = pd.DataFrame(sums_a, index=index, columns=cols)
    size = pd.Series(size, index=index)
    observed = (youngest[:, None] + np.array(cols, dtype=np.int64)[None, :] * step) <= (end_i if end_i is not None else 0)

    start = sums[0] if 0 in sums.columns else pd.Series(0.0, index=size.index)
    logo = (100 * counts.div(size, axis=0)).where(observed)
    rev = (100 * sums.div(start.where(start > 0), axis=0)).where(observed)
    out = []
    for table in (logo, rev):
        t = table.copy()
        t.insert(0, "start_mrr", start.to_numpy())
        t.insert(0, "customers", size.to_numpy())
        t.index.name = "cohort"
        t.columns = [str(c) if isinstance(c, (int, np.integer)) else c for c in t.columns]
        out.append(t.sort_index().reset_index())
    return out[0], out[1]


def first_cohort_note(active, ledger_start, freq: str = "Q") -> str | None:
    """A note when customers were already active in the ledger's first month (their true acquisition is unknown).

    Counts the customers active in ``ledger_start`` on the engine.
    """
    a = active_table(active)
    n = int(engine.current().scalar(a.filter(a.month_index == month_index_of(ledger_start)).count()) or 0)
    if n == 0:
        return None
    cohort = pd.Period(ledger_start, freq="M").asfreq(freq)
    return (f"{n} customers were already active in the ledger's first month ({pd.Period(ledger_start, freq='M')}); "
            f"they may have been acquired earlier but are counted in cohort {cohort}.")


def average_retention_curve(table: pd.DataFrame) -> pd.Series:
    """Customer-weighted average of a retention matrix per period (observed cells only), 0-100."""
    periods = [c for c in table.columns if str(c).isdigit()]
    values = table[periods]
    w = table["customers"].to_numpy(dtype=float)[:, None] * values.notna().to_numpy()
    num = (values.fillna(0).to_numpy() * w).sum(axis=0)
    den = w.sum(axis=0)
    return pd.Series(np.where(den > 0, num / np.where(den > 0, den, 1), np.nan), index=[int(p) for p in periods])

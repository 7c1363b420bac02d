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

Vectorised: one pass over the active months with integer ages and a pivot.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .revenue import month_of, month_ordinal, to_period


def acquisitions(active: pd.DataFrame, freq: str = "Q") -> pd.DataFrame:
    """One row per customer: ``customer_id``, ``acquired`` (first active month), ``cohort`` (its period, e.g. quarter)."""
    m = month_ordinal(active["month"])
    codes, uniq = pd.factorize(active["customer_id"])
    first_o = np.full(len(uniq), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_o, codes, m)
    acquired = to_period(first_o)
    return pd.DataFrame(
        {
            "customer_id": np.asarray(uniq, dtype=object),
            "acquired": acquired,
            "cohort": acquired.asfreq(freq) if freq != "M" else acquired,
        }
    )


def cohort_retention(active: pd.DataFrame, end=None, freq: str = "Q", step: int = 3, max_periods: int | None = None):
    """Logo and revenue retention matrices by acquisition cohort.

    Returns ``(logo, revenue)``: two frames, one row per cohort, with
    ``cohort`` (e.g. ``2018Q3``), ``customers`` (cohort size), ``start_mrr``
    (the cohort's MRR at age 0), and one column per period since acquisition
    ``0, 1, 2, ...`` (percentages 0-100; NaN where not yet observed). See
    the module docstring for the definitions. ``end`` defaults to the last
    active month.
    """
    m = month_ordinal(active["month"])
    end_o = int(m.max()) if end is None else month_of(end)
    keep = m <= end_o
    m = m[keep]
    mrr = active["mrr"].to_numpy(dtype=float)[keep]
    codes, uniq = pd.factorize(active["customer_id"][keep])  # fast on the categorical ids of active_months
    first = np.full(len(uniq), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, codes, m)
    age = m - first[codes]
    first_p = to_period(first)
    cohort_p = first_p.asfreq(freq) if freq != "M" else first_p
    c_codes, c_labels = pd.factorize(cohort_p, sort=True)  # cohort of each customer, as an integer
    n_c = len(c_labels)

    youngest = np.full(n_c, np.iinfo(np.int64).min, dtype=np.int64)  # latest acquisition month in each cohort
    np.maximum.at(youngest, c_codes, first)
    size = np.bincount(c_codes, minlength=n_c)

    on_step = age % step == 0
    period = age[on_step] // step
    n_periods = int(period.max()) + 1 if len(period) else 0
    if max_periods is not None:
        n_periods = min(n_periods, max_periods)
    sel = period < n_periods
    cell = c_codes[codes[on_step][sel]] * n_periods + period[sel]
    counts_a = np.bincount(cell, minlength=n_c * n_periods).reshape(n_c, n_periods)
    sums_a = np.bincount(cell, weights=mrr[on_step][sel], minlength=n_c * n_periods).reshape(n_c, n_periods)
    cols = list(range(n_periods))
    index = pd.Index(c_labels.astype(str), name="cohort")
    counts = pd.DataFrame(counts_a, index=index, columns=cols)
    sums = pd.DataFrame(sums_a, index=index, columns=cols)
    size = pd.Series(size, index=index)
    observed = (youngest[:, None] + np.array(cols, dtype=np.int64)[None, :] * step) <= end_o

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


def first_cohort_note(active: pd.DataFrame, ledger_start, freq: str = "Q") -> str | None:
    """A note when customers were already active in the ledger's first month (their true acquisition is unknown)."""
    m = month_ordinal(active["month"])
    n = active.loc[m == month_of(ledger_start), "customer_id"].nunique()
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

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

Everything is vectorised (factorised ids, integer month ordinals, numpy and
pandas group-bys on integer keys): no loop over customers. A 10-million-row
ledger is handled in seconds (``scripts/bench_revenue.py``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

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


# ---------------------------------------------------------------- months
def month_ordinal(months) -> np.ndarray:
    """Months as integer ordinals (pandas ``Period[M]`` ordinals: 1970-01 = 0).

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
    """Integer month ordinals back to a ``PeriodIndex`` of months."""
    return pd.PeriodIndex.from_ordinals(np.asarray(ordinals, dtype=np.int64), freq="M")


def month_of(value) -> int:
    """One month (``"2020-12"``, a Period or a Timestamp) as an ordinal."""
    return int(pd.Period(value, freq="M").ordinal)


# ---------------------------------------------------------------- active months
def active_months(ledger: pd.DataFrame, end=None) -> pd.DataFrame:
    """One row per customer and active month: ``customer_id`` (categorical), ``month`` (Period[M]), ``mrr``.

    MRR is the sum of the month's ``subscription`` and ``managed`` amounts;
    only months with MRR > 0 are kept (the definition of *active*). Rows
    after ``end`` (a month) are ignored. Sorted by customer, then month.
    Customers with only non-recurring revenue do not appear.
    """
    rec = ledger["revenue_type"].isin(RECURRING_TYPES).to_numpy().copy()
    months = month_ordinal(ledger["month"])
    if end is not None:
        rec &= months <= month_of(end)
    amount = ledger["amount"].to_numpy(dtype=float)[rec]
    months = months[rec]
    # hash-factorise (fast), then renumber the few distinct ids in sorted order
    codes, ids = pd.factorize(ledger["customer_id"][rec])
    ids = np.asarray(ids, dtype=object)
    order = np.argsort(ids, kind="stable")
    rank = np.empty(len(ids), dtype=np.int64)
    rank[order] = np.arange(len(ids))
    codes = rank[codes]
    ids = ids[order]
    if len(amount) == 0:
        return pd.DataFrame({"customer_id": pd.Categorical([]), "month": to_period([]), "mrr": pd.Series([], dtype=float)})
    m0 = int(months.min())
    span = int(months.max()) - m0 + 1
    key = codes * span + (months - m0)
    if len(ids) * span <= 60_000_000:  # dense customer x month grid: one bincount, no sort
        grid = np.bincount(key, weights=amount, minlength=len(ids) * span)
        k = np.flatnonzero(grid > 0)
        mrr = grid[k]
    else:
        sums = pd.Series(amount).groupby(key, sort=True).sum()
        sums = sums[sums.to_numpy() > 0]
        k, mrr = sums.index.to_numpy(), sums.to_numpy()
    return pd.DataFrame(
        {
            "customer_id": pd.Categorical.from_codes(k // span, categories=pd.Index(ids, dtype=object)),
            "month": to_period(k % span + m0),
            "mrr": mrr,
        }
    )


def _arrays(active: pd.DataFrame):
    """Customer codes, month ordinals and MRR, rows sorted by customer then month (codes contiguous)."""
    codes = pd.factorize(active["customer_id"])[0].astype(np.int64)  # instant on the categorical ids of active_months
    m = month_ordinal(active["month"])
    mrr = active["mrr"].to_numpy(dtype=float)
    if len(m) > 1:
        dc, dm = np.diff(codes), np.diff(m)
        if not np.all((dc > 0) | ((dc == 0) & (dm > 0))):
            order = np.lexsort((m, codes))
            codes, m, mrr = codes[order], m[order], mrr[order]
    return codes, m, mrr


def _neighbours(codes: np.ndarray, m: np.ndarray):
    """For each row: does the same customer have a previous / next active row, and in which month."""
    n = len(codes)
    has_prev = np.zeros(n, dtype=bool)
    has_next = np.zeros(n, dtype=bool)
    if n > 1:
        same = codes[1:] == codes[:-1]
        has_prev[1:] = same
        has_next[:-1] = same
    prev_m = np.full(n, np.iinfo(np.int64).min // 2, dtype=np.int64)
    next_m = np.full(n, np.iinfo(np.int64).max // 2, dtype=np.int64)
    prev_m[1:] = np.where(has_prev[1:], m[:-1], prev_m[1:])
    next_m[:-1] = np.where(has_next[:-1], m[1:], next_m[:-1])
    return has_prev, prev_m, has_next, next_m


# ---------------------------------------------------------------- movements
def mrr_movements(active: pd.DataFrame, end=None, start=None) -> pd.DataFrame:
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

    See the module docstring for the definitions. Vectorised: each active
    row is compared with the same customer's previous and next active row.
    """
    codes, m, mrr = _arrays(active)
    if end is not None:
        keep = m <= month_of(end)
        codes, m, mrr = codes[keep], m[keep], mrr[keep]
    if len(m) == 0 and (end is None or start is None):
        return pd.DataFrame(columns=["month", "opening_mrr", *MOVEMENTS, "closing_mrr", "net_change", "customers_opening",
                                     "new_customers", "reactivated_customers", "expanded_customers", "contracted_customers",
                                     "churned_customers", "customers", "arpa"])
    end_o = int(m.max()) if end is None else month_of(end)
    m0 = (int(m.min()) if len(m) else month_of(start)) if start is None else min(int(m.min()) if len(m) else month_of(start), month_of(start))
    n_months = end_o - m0 + 1
    has_prev, prev_m, has_next, next_m = _neighbours(codes, m)
    prev_mrr = np.zeros_like(mrr)
    prev_mrr[1:] = np.where(has_prev[1:], mrr[:-1], 0.0)

    continuing = has_prev & (prev_m == m - 1)
    new = ~has_prev
    react = has_prev & (prev_m < m - 1)
    delta = np.where(continuing, mrr - prev_mrr, 0.0)
    churn = (~has_next | (next_m > m + 1)) & (m + 1 <= end_o)

    idx = m - m0
    cidx = idx[churn] + 1

    def tot(mask, weights=None):
        return np.bincount(idx[mask], weights=None if weights is None else weights[mask], minlength=n_months)[:n_months]

    out = pd.DataFrame({"month": to_period(np.arange(m0, end_o + 1))})
    out["new"] = tot(new, mrr)
    out["reactivation"] = tot(react, mrr)
    out["expansion"] = tot(continuing & (delta > 0), delta)
    out["contraction"] = tot(continuing & (delta < 0), delta)
    out["churned"] = 0.0 - np.bincount(cidx, weights=mrr[churn], minlength=n_months)[:n_months]
    out["closing_mrr"] = np.bincount(idx, weights=mrr, minlength=n_months)[:n_months]
    out["opening_mrr"] = out["closing_mrr"].shift(1, fill_value=0.0)
    out["net_change"] = out["closing_mrr"] - out["opening_mrr"]
    out["customers"] = np.bincount(idx, minlength=n_months)[:n_months]
    out["customers_opening"] = out["customers"].shift(1, fill_value=0)
    out["new_customers"] = np.bincount(idx[new], minlength=n_months)[:n_months]
    out["reactivated_customers"] = np.bincount(idx[react], minlength=n_months)[:n_months]
    out["churned_customers"] = np.bincount(cidx, minlength=n_months)[:n_months]
    out["expanded_customers"] = np.bincount(idx[continuing & (delta > 0)], minlength=n_months)[:n_months]
    out["contracted_customers"] = np.bincount(idx[continuing & (delta < 0)], minlength=n_months)[:n_months]
    out["arpa"] = out["closing_mrr"] / out["customers"].where(out["customers"] > 0)
    cols = ["month", "opening_mrr", *MOVEMENTS, "closing_mrr", "net_change", "customers_opening", "new_customers",
            "reactivated_customers", "expanded_customers", "contracted_customers", "churned_customers", "customers", "arpa"]
    return out[cols]


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
def retention(active: pd.DataFrame, start, end) -> dict:
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

    Edge case: an empty starting book gives NaN percentages.
    """
    s, e = month_of(start), month_of(end)
    m = month_ordinal(active["month"])
    a = active.loc[m == s, ["customer_id", "mrr"]].set_index("customer_id")["mrr"]
    b = active.loc[m == e, ["customer_id", "mrr"]].set_index("customer_id")["mrr"]
    end_mrr = b.reindex(a.index).fillna(0.0)
    retained = a.index.isin(b.index)
    diff = end_mrr - a
    start_mrr = float(a.sum())
    expansion = float(diff[retained & (diff > 0)].sum())
    contraction = float(-diff[retained & (diff < 0)].sum())
    churned = float(a[~retained].sum())
    n = int(len(a))
    pct = (lambda x, d: 100.0 * x / d if d else np.nan)
    return {
        "start": str(pd.Period(start, freq="M")),
        "end": str(pd.Period(end, freq="M")),
        "customers_start": n,
        "customers_retained": int(retained.sum()),
        "customers_churned": int(n - retained.sum()),
        "logo_retention_pct": pct(retained.sum(), n),
        "logo_churn_pct": pct(n - retained.sum(), n),
        "start_mrr": start_mrr,
        "end_mrr_of_starting_book": float(end_mrr.sum()),
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


# ---------------------------------------------------------------- revenue totals
def _year_rows(ledger: pd.DataFrame, year: int) -> pd.DataFrame:
    m = month_ordinal(ledger["month"])
    return ledger[(m >= month_of(f"{year}-01")) & (m <= month_of(f"{year}-12"))]


def revenue_by_type(ledger: pd.DataFrame, year: int) -> pd.DataFrame:
    """Revenue, cost and gross profit by revenue type in ``year``.

    Columns: ``revenue_type``, ``label``, ``recurring``, ``revenue``,
    ``share_pct`` (of total revenue), and when the ledger has a ``cost``
    column: ``revenue_with_cost`` (revenue of rows whose cost is given),
    ``cost``, ``gross_profit`` = revenue_with_cost - cost, ``margin_pct`` =
    gross profit / revenue_with_cost x 100 (NaN when no row has a cost) and
    ``cost_coverage_pct`` (share of the type's revenue with a known cost).
    Rows with a blank cost are left out of the margin, not counted as free.
    Every type appears, with zeros when absent.
    """
    rows = _year_rows(ledger, year)
    g = rows.groupby("revenue_type", observed=True)
    out = pd.DataFrame(index=pd.Index(REVENUE_TYPES, name="revenue_type"))
    out["label"] = [TYPE_LABELS[t] for t in REVENUE_TYPES]
    out["recurring"] = out.index.isin(RECURRING_TYPES)
    out["revenue"] = g["amount"].sum().reindex(out.index).fillna(0.0)
    total = out["revenue"].sum()
    out["share_pct"] = 100 * out["revenue"] / total if total else np.nan
    if "cost" in rows.columns:
        has_cost = rows["cost"].notna()
        rc = rows[has_cost].groupby("revenue_type", observed=True)
        out["revenue_with_cost"] = rc["amount"].sum().reindex(out.index).fillna(0.0)
        out["cost"] = rc["cost"].sum().reindex(out.index).fillna(0.0)
        out["gross_profit"] = out["revenue_with_cost"] - out["cost"]
        w = out["revenue_with_cost"].where(out["revenue_with_cost"] > 0)
        out["margin_pct"] = 100 * out["gross_profit"] / w
        out["cost_coverage_pct"] = 100 * out["revenue_with_cost"] / out["revenue"].where(out["revenue"] > 0)
    return out.reset_index()


def recurring_share(ledger: pd.DataFrame, year: int) -> dict:
    """Share of recurring revenue (subscription + managed) in total revenue of ``year``, 0-100.

    Total revenue includes project, licence and IP revenue, also of customers
    who never have recurring revenue. NaN when the year has no revenue.
    """
    by = revenue_by_type(ledger, year)
    total = float(by["revenue"].sum())
    rec = float(by.loc[by["recurring"], "revenue"].sum())
    return {"total_revenue": total, "recurring_revenue": rec, "recurring_share_pct": 100 * rec / total if total else np.nan}


def gross_margin(ledger: pd.DataFrame, year: int, types=RECURRING_TYPES) -> float:
    """Gross margin (0-1) of the given revenue types in ``year``: 1 - cost / revenue, over rows with a cost.

    NaN when the ledger has no cost column or no row of those types has a cost.
    """
    if "cost" not in ledger.columns:
        return np.nan
    rows = _year_rows(ledger, year)
    rows = rows[rows["revenue_type"].isin(types) & rows["cost"].notna()]
    rev = float(rows["amount"].sum())
    return 1 - float(rows["cost"].sum()) / rev if rev > 0 else np.nan


def cloud_recurring_comparison(ledger: pd.DataFrame, units: pd.Series, year: int, cloud_types, threshold_pct: float = 50.0, *,
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
    """
    rows = _year_rows(ledger, year)
    unit = rows["customer_id"].map(units)
    rows = rows.assign(_unit=unit.to_numpy(), _cloud=rows["revenue_type"].isin(cloud_types).to_numpy(),
                       _rec=rows["revenue_type"].isin(RECURRING_TYPES).to_numpy())
    rows = rows[rows["_unit"].notna()]
    rows = rows.assign(_ca=rows["amount"].where(rows["_cloud"], 0.0), _ra=rows["amount"].where(rows["_rec"], 0.0))
    per = rows.groupby("_unit")[["amount", "_ca", "_ra"]].sum()
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


def revenue_by_segment(ledger: pd.DataFrame, segments: pd.DataFrame, year: int, by: str = "segment", *, min_n: int,
                       active: pd.DataFrame | None = None) -> pd.DataFrame:
    """Revenue of ``year`` by customer segment (e.g. maturity stage), for any report to show.

    ``segments`` has ``customer_id`` and the column ``by`` (one row per
    customer; customers without a segment are left out). Per segment:
    ``customers`` (with any revenue in the year), ``active_customers`` (active
    in December), ``revenue``, ``recurring_revenue``, ``recurring_share_pct``,
    ``mrr`` (December MRR), ``arpa`` (December MRR / active customers),
    ``revenue_per_customer`` and ``revenue_share_pct`` (of the segments'
    total). Segments with fewer than ``min_n`` customers keep their counts
    but have NaN figures and ``suppressed`` True.

    The maturity report calls it as
    ``revenue_by_segment(ledger, stages[["customer_id", "stage_name"]], year, by="stage_name", min_n=settings.min_group_size)``.
    """
    seg = segments.dropna(subset=[by]).drop_duplicates("customer_id").set_index("customer_id")[by]
    rows = _year_rows(ledger, year)
    rows = rows.assign(_seg=rows["customer_id"].map(seg).to_numpy())
    rows = rows[rows["_seg"].notna()]
    rows = rows.assign(_rec=rows["amount"].where(rows["revenue_type"].isin(RECURRING_TYPES), 0.0))
    g = rows.groupby("_seg", observed=True)
    out = pd.DataFrame({"customers": g["customer_id"].nunique(), "revenue": g["amount"].sum(), "recurring_revenue": g["_rec"].sum()})
    act = active if active is not None else active_months(ledger, end=f"{year}-12")
    dec = act[month_ordinal(act["month"]) == month_of(f"{year}-12")]
    dec = dec.assign(_seg=dec["customer_id"].map(seg).to_numpy()).dropna(subset=["_seg"])
    d = dec.groupby("_seg", observed=True)["mrr"].agg(["size", "sum"])
    out["active_customers"] = d["size"].reindex(out.index).fillna(0).astype(int)
    out["mrr"] = d["sum"].reindex(out.index).fillna(0.0)
    out["recurring_share_pct"] = 100 * out["recurring_revenue"] / out["revenue"].where(out["revenue"] > 0)
    out["arpa"] = out["mrr"] / out["active_customers"].where(out["active_customers"] > 0)
    out["revenue_per_customer"] = out["revenue"] / out["customers"]
    out["revenue_share_pct"] = 100 * out["revenue"] / out["revenue"].sum() if out["revenue"].sum() else np.nan
    out["suppressed"] = out["customers"] < min_n
    figures = ["revenue", "recurring_revenue", "mrr", "recurring_share_pct", "arpa", "revenue_per_customer", "revenue_share_pct"]
    out.loc[out["suppressed"], figures] = np.nan
    out.index.name = by
    return out.reset_index()


# ---------------------------------------------------------------- headline
def revenue_headline(ledger: pd.DataFrame, active: pd.DataFrame, movements: pd.DataFrame, year: int) -> dict:
    """The year's headline figures (for the report's summary and ``metrics.json``).

    Retention compares December of ``year - 1`` with December of ``year``
    (:func:`retention`); churn and ARPA cover January-December of ``year``.
    """
    first, last, before = f"{year}-01", f"{year}-12", f"{year - 1}-12"
    ret = retention(active, before, last)
    br = bridge(movements, first, last)
    rs = recurring_share(ledger, year)
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
        "recurring_gross_margin_pct": 100 * gross_margin(ledger, year),
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

"""Customer Success metrics of a partner programme: consumption value, usage growth, deployments.

Source: ``shared/reference/customer-success-metric.txt`` (Microsoft's
Customer Success metric of the Business Applications solutions-partner
designation):

- monthly consumption value = (monthly active users or capacity) × the
  workload's consumption rate (the rate card lives in params);
- usage growth: growth of the monthly consumption value across a partner's
  customers and workloads (here month over month and year over year);
- deployments metric = eligible deployments last month − eligible
  deployments the same month last year, a deployment being a customer's
  eligible workload with at least the minimum monthly usage;
- the data is refreshed by the 20th of each month.

``usage`` is the frame of ``usage.csv`` (``customer_id``, ``partner_id``,
``month`` as a monthly Period, ``workload``, ``monthly_active_users``).
Workloads absent from the rate card are not eligible and count nowhere.
All functions are vectorised group-bys.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def consumption_value(usage: pd.DataFrame, rates: dict[str, float]) -> pd.Series:
    """Monthly consumption value of each row: ``monthly_active_users × rates[workload]``.

    NaN for a workload without a rate (not eligible). The rate card weights
    workloads (a Business Central user is worth more than a Power BI viewer)
    and lets capacity-based workloads (units instead of users) be added up
    with seat-based ones.
    """
    rate = usage["workload"].astype(object).map({str(k): float(v) for k, v in rates.items()}).astype(float)
    return usage["monthly_active_users"].astype(float) * rate


def monthly_consumption(usage: pd.DataFrame, rates: dict[str, float], by: tuple[str, ...] = ("partner_id",)) -> pd.DataFrame:
    """Consumption value per group and month over eligible workloads: columns ``*by``, ``month``, ``consumption_value``, ``users``.

    ``users`` sums the monthly active users (or units) of eligible workloads.
    """
    value = consumption_value(usage, rates)
    eligible = value.notna()
    frame = usage.loc[eligible, [*by, "month"]].assign(consumption_value=value[eligible], users=usage.loc[eligible, "monthly_active_users"].astype(float))
    return frame.groupby([*by, "month"], observed=True, sort=True)[["consumption_value", "users"]].sum().reset_index()


def growth_rates(now, before) -> np.ndarray:
    """Growth in percent, element-wise: ``100 · (now / before − 1)``; NaN where there is no base.

    The one implementation of growth in the suite (month over month, year
    over year, per partner or the whole programme; the executive summary
    uses it too, through :func:`growth_pct`). No base means ``before`` is 0,
    negative or missing: a partner with no usage a year earlier has new
    value but no growth rate (never an infinite one).
    """
    now = np.asarray(now, dtype=float)
    before = np.asarray(before, dtype=float)
    ok = np.isfinite(before) & (before > 0) & np.isfinite(now)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, 100 * (now / np.where(ok, before, 1.0) - 1), np.nan)


def growth_pct(now: float | None, before: float | None) -> float | None:
    """Growth of one figure in percent, ``100 · (now / before − 1)``, or None without a base (``before`` ≤ 0 or missing).

    Scalar form of :func:`growth_rates`; e.g. ``growth_pct(139, 100)`` is
    39.0, ``growth_pct(50, 0)`` None (no usage a year earlier: say so,
    never write infinity).
    """
    if now is None or before is None:
        return None
    value = float(growth_rates([now], [before])[0])
    return value if np.isfinite(value) else None


def _pivot(monthly: pd.DataFrame, column: str, key: str) -> pd.DataFrame:
    table = monthly.astype({column: float}).pivot_table(index=key, columns="month", values=column, aggfunc="sum", fill_value=0.0, observed=True)
    if len(table.columns):
        months = pd.period_range(table.columns.min(), table.columns.max(), freq="M")
        table = table.reindex(columns=months, fill_value=0.0)
    return table


def usage_growth(monthly: pd.DataFrame, month: pd.Period | str, key: str = "partner_id", column: str = "consumption_value") -> pd.DataFrame:
    """Growth of ``column`` per ``key`` at ``month``: month over month and year over year, in percent.

    ``mom_pct = 100 · (v(m) / v(m−1) − 1)``, ``yoy_pct = 100 · (v(m) / v(m−12)
    − 1)`` (:func:`growth_rates`); a month without usage counts as 0. Edge case: a zero base gives
    NaN growth (a partner new to a workload has no growth rate, only new
    value); ``change_yoy`` gives the absolute change in that case too.
    """
    m = pd.Period(month, freq="M")
    table = _pivot(monthly, column, key)

    def at(p):
        return table[p] if p in table.columns else pd.Series(0.0, index=table.index)

    now, prev, year_ago = at(m), at(m - 1), at(m - 12)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame(
            {
                column: now,
                f"{column}_prev_month": prev,
                f"{column}_prev_year": year_ago,
                "mom_pct": growth_rates(now, prev),
                "yoy_pct": growth_rates(now, year_ago),
                "change_yoy": now - year_ago,
            },
            index=table.index,
        )
    return out.reset_index()


def eligible_deployments(usage: pd.DataFrame, rates: dict[str, float], min_usage: float, key: str = "partner_id") -> pd.DataFrame:
    """Eligible deployments per ``key`` and month: customer-workload pairs with usage ≥ ``min_usage``.

    A deployment is one customer's use of one eligible workload (on the rate
    card) in a month; it is eligible when its monthly active users (or units)
    reach ``min_usage`` (params ``deployment_min_usage``). Columns ``key``,
    ``month``, ``deployments``.
    """
    value = consumption_value(usage, rates)
    ok = value.notna() & (usage["monthly_active_users"].astype(float) >= min_usage)
    pairs = usage.loc[ok, [key, "month", "customer_id", "workload"]].drop_duplicates()
    return pairs.groupby([key, "month"], observed=True).size().rename("deployments").reset_index()


def deployments_metric(deployments: pd.DataFrame, month: pd.Period | str, key: str = "partner_id") -> pd.DataFrame:
    """Microsoft's deployments metric at ``month``: eligible deployments that month − the same month a year before.

    ``deployments`` as returned by :func:`eligible_deployments`; a month
    without deployments counts 0. Columns ``key``, ``deployments``,
    ``deployments_prev_year``, ``deployments_metric``.
    """
    m = pd.Period(month, freq="M")
    table = _pivot(deployments, "deployments", key)

    def at(p):
        return table[p] if p in table.columns else pd.Series(0.0, index=table.index)

    now, before = at(m).astype(int), at(m - 12).astype(int)
    return pd.DataFrame({"deployments": now, "deployments_prev_year": before, "deployments_metric": now - before}).reset_index()


def data_as_of(usage: pd.DataFrame, refresh_day: int) -> dict:
    """The usage data's as-of month and when the next refresh is due.

    ``last_month``: the latest month in the data (the month the metrics are
    for); ``refreshed_by``: the ``refresh_day`` (params ``usage_refresh_day``, 20) of the month after
    it, when Microsoft's Customer Success data for that month is typically
    complete; ``next_refresh``: the same day a month later. Edge case: empty
    data gives None values.
    """
    if usage.empty:
        return {"last_month": None, "refreshed_by": None, "next_refresh": None}
    last = usage["month"].max()
    refreshed = (last + 1).to_timestamp() + pd.Timedelta(days=refresh_day - 1)
    return {"last_month": last, "refreshed_by": refreshed, "next_refresh": (last + 2).to_timestamp() + pd.Timedelta(days=refresh_day - 1)}


def report_month(usage: pd.DataFrame, year: int) -> pd.Period:
    """The month a year's report measures: December of ``year``, or the latest month in the data if earlier."""
    december = pd.Period(f"{year}-12", freq="M")
    months = usage.loc[usage["month"] <= december, "month"]
    return months.max() if len(months) else december


def customer_success(usage: pd.DataFrame, rates: dict[str, float], min_usage: float, month: pd.Period | str, partner_ids: list[str] | None = None) -> pd.DataFrame:
    """One row per partner at ``month``: consumption value and its growth, eligible deployments and the deployments metric.

    Combines :func:`monthly_consumption`, :func:`usage_growth`,
    :func:`eligible_deployments` and :func:`deployments_metric`; partners in
    ``partner_ids`` without usage get zeros (growth NaN).
    """
    growth = usage_growth(monthly_consumption(usage, rates), month).set_index("partner_id")
    deploy = deployments_metric(eligible_deployments(usage, rates, min_usage), month).set_index("partner_id")
    out = growth.join(deploy, how="outer")
    ids = sorted(out.index) if partner_ids is None else list(partner_ids)
    out = out.reindex(ids)
    zero = ["consumption_value", "consumption_value_prev_month", "consumption_value_prev_year", "change_yoy", "deployments", "deployments_prev_year", "deployments_metric"]
    out[zero] = out[zero].fillna(0)
    for c in ("deployments", "deployments_prev_year", "deployments_metric"):
        out[c] = out[c].astype(int)
    out.index.name = "partner_id"
    return out.reset_index()

"""Customer lifetimes and survival analysis: Kaplan-Meier, log-rank test, Cox proportional hazards.

Time is counted in months. Definitions (see :mod:`cxreport.revenue` for
*active* and *churn month*):

- A customer's **lifetime** is its first spell of consecutive active months,
  from the acquisition month ``acquired`` (first active month). If the spell
  ends before the ledger's last month ``end``, the customer **churned** at
  ``churn_month`` (the month after the last active month) and the event
  time is ``churn_month - acquired`` (= the number of months it paid). A
  customer still active at ``end`` is **censored** at ``end - acquired``: we
  only know it stayed longer than that. A later reactivation does not undo
  the first churn (it is counted in ``spells``).
- **Landmark frame** (:func:`landmark`): for a characteristic measured at a
  month (a survey answer, a maturity assessment), only customers in their
  first spell at that month count, and time runs from the measurement:
  event time ``churn_month - measured``, censoring time ``end - measured``.
  Customers who had already left cannot answer a survey, so measuring time
  from acquisition would flatter the answer (immortal-time bias); the
  landmark avoids it.

Group sizes (``min_n``), confidence levels and test levels are the
``min_group_size`` and ``confidence`` settings, passed by the caller: no
defaults here (params/defaults.yaml holds them).

Statistics come from statsmodels: ``SurvfuncRight`` (Kaplan-Meier with
Greenwood standard errors), ``survdiff`` (log-rank test) and ``PHReg`` (Cox
model, Efron ties).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats as sps
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

from . import engine
from .revenue import month_index_of, month_of, periods, with_neighbours


# ---------------------------------------------------------------- lifetimes
def lifetimes(active, end) -> pd.DataFrame:
    """One row per customer ever active: its first-spell lifetime and its state at ``end``.

    Columns: ``customer_id``, ``acquired`` (Period), ``first_spell_end``
    (last active month of the first spell), ``churned`` (bool: the first
    spell ended before ``end``), ``churn_month`` (Period, NaT if censored),
    ``duration`` (months: ``churn_month - acquired`` or, censored,
    ``end - acquired``), ``spells`` (number of spells up to ``end``),
    ``reactivated`` (bool), ``active_at_end`` (bool), ``mrr_end`` (MRR in
    ``end``, 0 when not active), ``spell_tenure`` (months active in the
    current spell at ``end``, counting ``end``; 0 when not active),
    ``active_months`` (all active months up to ``end``).

    ``active`` is :func:`cxreport.revenue.active_months` (or a pandas frame
    of active months). Computed on the engine, one customer per row: over
    each customer's active months in month order, a month *starts a spell*
    when there is no previous active month (``lag``) or it is earlier than
    the month before, and *ends a spell* when there is no next active month
    (``lead``) or it is later than the month after, or is ``end``
    (:func:`cxreport.revenue.with_neighbours`: one window). A
    customer active at ``end`` is in its last spell, so its ``spell_tenure``
    is ``end`` minus its latest spell start, plus one. Only the per-customer
    table comes back to pandas, sorted by customer.
    """
    end_i = month_index_of(end)
    a = with_neighbours(active, end)
    m, prev, nxt = a.month_index, a.prev_month, a.next_month
    # every spell ends at ``end`` at the latest: what follows is not observed
    rows = a.mutate(starts=prev.isnull() | (prev < m - 1), ends=nxt.isnull() | (nxt > m + 1) | (m == end_i))
    at_end = rows.month_index == end_i
    per = rows.group_by("customer_id").aggregate(
        acquired=rows.month_index.min(),
        first_spell_end=rows.month_index.min(where=rows.ends),
        spells=rows.count(where=rows.starts),
        active_months=rows.count(),
        at_end=rows.count(where=at_end),
        mrr_end=rows.mrr.sum(where=at_end),
        last_spell_start=rows.month_index.max(where=rows.starts),
    )
    got = engine.current().fetch(per).sort_values("customer_id", kind="stable").reset_index(drop=True)
    acquired = got["acquired"].to_numpy(dtype=np.int64)
    first_end = got["first_spell_end"].to_numpy(dtype=np.int64)  # never NULL: a customer's last active month ends a spell
    spells = got["spells"].to_numpy(dtype=np.int64)
    active_at_end = got["at_end"].to_numpy(dtype=np.int64) > 0
    churned = first_end < end_i
    churn_month = first_end + 1
    duration = np.where(churned, churn_month - acquired, end_i - acquired)
    return pd.DataFrame(
        {
            "customer_id": got["customer_id"].astype(str),
            "acquired": periods(acquired),
            "first_spell_end": periods(first_end),
            "churned": churned,
            "churn_month": pd.Series(periods(churn_month)).where(churned).array,
            "duration": duration.astype(np.int64),
            "spells": spells,
            "reactivated": spells > 1,
            "active_at_end": active_at_end,
            "mrr_end": got["mrr_end"].astype(float).fillna(0.0).to_numpy(),
            "spell_tenure": np.where(active_at_end, end_i - got["last_spell_start"].to_numpy(dtype=np.int64) + 1, 0),
            "active_months": got["active_months"].to_numpy(dtype=np.int64),
        }
    )


def landmark(lives: pd.DataFrame, measured: pd.DataFrame, end, month_col: str = "measured") -> pd.DataFrame:
    """Lifetimes re-timed from a measurement month (see the module docstring).

    ``measured`` has ``customer_id``, ``month_col`` (a month) and any
    characteristics (NPS category, stage...), one row per customer. Keeps
    customers in their first spell at that month (acquired on or before it,
    first spell ending on or after it); ``duration`` becomes months from the
    measurement to the churn month (event) or to ``end`` (censored), and
    ``tenure_at_measure`` the months since acquisition. Other customers are
    dropped (they were not customers when measured).
    """
    end_o = month_of(end)
    df = measured.merge(lives, on="customer_id", how="inner")
    meas = pd.PeriodIndex(df[month_col], freq="M").asi8
    acq = df["acquired"].array.asi8
    first_end = df["first_spell_end"].array.asi8
    ok = (acq <= meas) & (first_end >= meas) & (meas <= end_o)
    df = df[ok].copy()
    meas, acq = meas[ok], acq[ok]
    churn = np.where(df["churned"].to_numpy(), df["first_spell_end"].array.asi8 + 1, end_o)
    df["duration"] = churn - meas
    df["tenure_at_measure"] = meas - acq
    return df.reset_index(drop=True)


# ---------------------------------------------------------------- Kaplan-Meier
def kaplan_meier(time, event, confidence: float) -> pd.DataFrame:
    """Kaplan-Meier survival curve with pointwise confidence limits.

    S(t) = prod over event times t_i <= t of (1 - d_i / n_i), with d_i events
    and n_i customers at risk at t_i (Kaplan & Meier 1958); computed by
    statsmodels ``SurvfuncRight``. Standard errors are Greenwood's; the
    interval uses the log(-log) transform, which stays inside 0-1:
    ``S^exp(±z·se / (S·ln S))``. At S = 1 the interval is (1, 1); at S = 0
    it is (0, 0). Ties: events before censorings at the same time.

    Returns one row per event time, preceded by time 0 (S = 1): ``time``,
    ``at_risk``, ``events``, ``survival``, ``se``, ``ci_low``, ``ci_high``.
    Empty input gives an empty frame.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    cols = ["time", "at_risk", "events", "survival", "se", "ci_low", "ci_high"]
    if len(time) == 0:
        return pd.DataFrame(columns=cols)
    head = pd.DataFrame({"time": [0.0], "at_risk": [len(time)], "events": [0.0], "survival": [1.0], "se": [0.0],
                         "ci_low": [1.0], "ci_high": [1.0]})
    if event.sum() == 0:
        return head
    sf = SurvfuncRight(time, event)
    s, se = sf.surv_prob, sf.surv_prob_se
    z = sps.norm.ppf(0.5 + confidence / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        ls = np.log(s)
        sd = se / np.abs(s * ls)
        lo = np.exp(-np.exp(np.log(-ls) + z * sd))
        hi = np.exp(-np.exp(np.log(-ls) - z * sd))
    lo = np.where(s >= 1, 1.0, np.where(s <= 0, 0.0, lo))
    hi = np.where(s >= 1, 1.0, np.where(s <= 0, 0.0, hi))
    body = pd.DataFrame({"time": sf.surv_times, "at_risk": sf.n_risk, "events": sf.n_events, "survival": s, "se": se,
                         "ci_low": lo, "ci_high": hi})
    return pd.concat([head, body], ignore_index=True)


def survival_at(curve: pd.DataFrame, t: float) -> float:
    """The Kaplan-Meier survival at time ``t`` (step function); NaN beyond the last observed time."""
    if curve.empty:
        return np.nan
    upto = curve[curve["time"] <= t]
    return float(upto["survival"].iloc[-1]) if len(upto) else 1.0


def km_by_group(frame: pd.DataFrame, group: str, duration: str = "duration", event: str = "churned", *, min_n: int,
                confidence: float, horizons: tuple[int, ...] = (12, 24, 36)) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Kaplan-Meier curves per group and a summary table.

    Returns ``(curves, summary)``. ``curves``: the :func:`kaplan_meier` rows
    with a ``group`` column, for groups of at least ``min_n`` customers.
    ``summary``: per group ``customers``, ``churned``, ``suppressed`` (fewer
    than ``min_n``), ``median_months`` (first time S <= 0.5; NaN when the
    curve never gets there) and ``survival_<h>m`` at each horizon (0-100,
    NaN when suppressed or not observed that long). Groups in category order
    (or sorted); missing group values are left out.
    """
    df = frame.dropna(subset=[group])
    groups = df[group].cat.categories if isinstance(df[group].dtype, pd.CategoricalDtype) else sorted(df[group].unique())
    curves, rows = [], []
    for g in groups:  # a handful of segments
        sub = df[df[group] == g]
        n = len(sub)
        if n == 0:
            continue
        row = {"group": g, "customers": n, "churned": int(sub[event].sum()), "suppressed": n < min_n}
        if n >= min_n:
            c = kaplan_meier(sub[duration], sub[event], confidence).assign(group=g)
            curves.append(c)
            below = c[c["survival"] <= 0.5]
            row["median_months"] = float(below["time"].iloc[0]) if len(below) else np.nan
            max_t = float(sub[duration].max())
            for h in horizons:
                row[f"survival_{h}m"] = 100 * survival_at(c, h) if h <= max_t else np.nan
        else:
            row["median_months"] = np.nan
            for h in horizons:
                row[f"survival_{h}m"] = np.nan
        rows.append(row)
    curves_df = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=["time", "survival", "group"])
    return curves_df, pd.DataFrame(rows)


def logrank(frame: pd.DataFrame, group: str, duration: str = "duration", event: str = "churned", *, min_n: int,
            alpha: float) -> dict:
    """Log-rank test that the groups' survival curves are equal (statsmodels ``survdiff``).

    Only groups with at least ``min_n`` customers take part. Returns
    ``chi2``, ``df`` (groups - 1), ``p``, ``groups``, ``significant`` (p <
    ``alpha``); NaN with fewer than two groups or no event.
    """
    df = frame.dropna(subset=[group])
    sizes = df[group].value_counts()
    keep = sizes[sizes >= min_n].index
    df = df[df[group].isin(keep)]
    k = len(keep)
    out = {"groups": int(k), "df": max(k - 1, 0), "chi2": np.nan, "p": np.nan, "significant": False}
    if k < 2 or df[event].sum() == 0:
        return out
    chi2, p = survdiff(df[duration].to_numpy(float), df[event].to_numpy(float), df[group].astype(str).to_numpy())
    out.update({"chi2": float(chi2), "p": float(p), "significant": bool(p < alpha)})
    return out


# ---------------------------------------------------------------- Cox model
def cox_hazard_ratios(frame: pd.DataFrame, categorical: dict[str, str] | None = None, numeric: list[str] | None = None,
                      duration: str = "duration", event: str = "churned", *, confidence: float,
                      labels: dict[str, str] | None = None) -> tuple[pd.DataFrame, dict]:
    """A Cox proportional-hazards model of churn, reported as hazard ratios.

    h(t | x) = h0(t) · exp(x'β) (Cox 1972), fitted by statsmodels ``PHReg``
    (Efron ties) on the customers with every covariate present.
    ``categorical`` maps a column to its reference level (dummy-coded
    against it; levels without a customer are dropped), ``numeric`` lists
    per-unit covariates. Hazard ratio HR = exp(β) with Wald interval
    exp(β ± z·se): HR 2 means "leaves twice as fast".

    Returns ``(table, info)``: ``table`` has ``term``, ``covariate``,
    ``level``, ``reference``, ``hr``, ``ci_low``, ``ci_high``, ``p``;
    ``info`` has ``n``, ``events``, ``parameters``, ``events_per_parameter``
    and ``error`` (a message when the model could not be fitted, e.g. no
    event, in which case the table is empty). Rule of thumb: with fewer than
    10 events per parameter the estimates are unstable (Peduzzi et al. 1995).
    """
    categorical, numeric, labels = categorical or {}, numeric or [], labels or {}
    cols = list(categorical) + list(numeric)
    df = frame.dropna(subset=cols + [duration, event]).copy()
    df = df[df[duration] > 0]
    parts, meta = [], []
    for col, ref in categorical.items():
        values = df[col].astype(str)
        for level in sorted(values.unique(), key=lambda v: (v != ref, v)):
            if level == ref:
                continue
            parts.append((values == level).astype(float).rename(f"{col}[{level}]"))
            meta.append({"covariate": col, "level": level, "reference": ref})
    for col in numeric:
        parts.append(pd.to_numeric(df[col], errors="coerce").astype(float).rename(col))
        meta.append({"covariate": col, "level": None, "reference": None})
    X = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=df.index)
    ev = df[event].to_numpy(dtype=bool)
    keep, dropped = [], []
    for i, c in enumerate(X.columns):
        x = X[c].to_numpy()
        if len(x) == 0 or np.std(x) == 0:
            continue
        if meta[i]["level"] is not None:
            ref_rows = (df[meta[i]["covariate"]].astype(str) == meta[i]["reference"]).to_numpy()
            if ev[x == 1].sum() == 0 or ev[ref_rows].sum() == 0:  # complete separation: no finite estimate
                dropped.append(f"{labels.get(meta[i]['covariate'], meta[i]['covariate'])} {meta[i]['level']} vs {meta[i]['reference']} "
                               f"(no churn in {'that group' if ev[x == 1].sum() == 0 else 'the reference group'})")
                continue
        elif len(np.unique(x)) == 2 and min(ev[x == v].sum() for v in np.unique(x)) == 0:
            dropped.append(f"{labels.get(c, c)} (no churn in one of its two groups)")
            continue
        keep.append(i)
    X = X.iloc[:, keep]
    meta = [meta[i] for i in keep]
    events = int(ev.sum())
    info = {"n": int(len(df)), "events": events, "parameters": int(X.shape[1]),
            "events_per_parameter": events / X.shape[1] if X.shape[1] else np.nan, "error": None, "dropped": dropped}
    empty = pd.DataFrame(columns=["term", "covariate", "level", "reference", "hr", "ci_low", "ci_high", "p"])
    if events == 0 or X.shape[1] == 0:
        info["error"] = "no churn among these customers" if events == 0 else "no covariate varies"
        return empty, info
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = PHReg(df[duration].to_numpy(float), X.to_numpy(), status=df[event].to_numpy(float), ties="efron").fit()
        beta, se = np.asarray(res.params), np.asarray(res.bse)
        if not np.all(np.isfinite(se)) or np.any(se > 50):
            raise ValueError("the model did not converge (a covariate separates churners from stayers completely)")
    except (ValueError, np.linalg.LinAlgError) as exc:
        info["error"] = str(exc)
        return empty, info
    z = sps.norm.ppf(0.5 + confidence / 2)
    table = pd.DataFrame(meta)
    table.insert(0, "term", X.columns)
    table["hr"] = np.exp(beta)
    table["ci_low"] = np.exp(beta - z * se)
    table["ci_high"] = np.exp(beta + z * se)
    table["p"] = 2 * sps.norm.sf(np.abs(beta / se))
    table["label"] = [labels.get(c, c) for c in table["covariate"]]
    return table, info


def describe_hazard_ratio(row, confidence: float = 0.95, alpha: float = 0.05, unit: str = "one point") -> str:
    """Plain words for one hazard ratio, e.g.

    "Detractors leave 2.3 times as fast as Promoters (95% CI 0.9 to 6.1; p = 0.08, could be chance)."
    """
    ci = f"{confidence:.0%} CI {row['ci_low']:.2f} to {row['ci_high']:.2f}; p = {row['p']:.3f}"
    verdict = "statistically significant" if row["p"] < alpha else "could be chance"
    hr = row["hr"]
    speed = f"{hr:.1f} times as fast as" if hr >= 1 else f"{hr:.2f} times as fast as (that is {100 * (1 - hr):.0f}% slower than)"
    if isinstance(row.get("level"), str):
        return f"{row['label']} {row['level']}: these customers leave {speed} {row['reference']} customers ({ci}, {verdict})."
    return f"Each {unit} more of {row['label']} goes with customers leaving {speed} otherwise ({ci}, {verdict})."


def cox_caveat(info: dict, min_events_per_parameter: float = 10, min_n: int = 30) -> str | None:
    """A plain-words warning when the Cox model rests on few customers or events (None when fine)."""
    if info.get("error"):
        return f"The model could not be estimated: {info['error']}."
    if info["n"] < min_n or info["events_per_parameter"] < min_events_per_parameter:
        return (f"Only {info['n']} linked customers with {info['events']} churn events for {info['parameters']} "
                f"estimated effects ({info['events_per_parameter']:.1f} events per effect; at least "
                f"{min_events_per_parameter:g} are advisable): the hazard ratios are imprecise and the intervals wide. "
                "Treat them as a direction to check as more survey answers link to the ledger, not as a finding.")
    return None


def first_answers(responses: pd.DataFrame, year: int | None = None) -> pd.DataFrame:
    """Each linked customer's first survey answer (up to ``year``): the landmark for satisfaction.

    ``responses`` is ``survey_responses.csv`` loaded with
    :func:`cxreport.inputs.load_survey`. Returns ``customer_id``,
    ``measured`` (month of ``submitted_at``, or November of the survey year
    when the date is missing), ``survey_year``, ``nps``, ``csat`` and
    ``nps_category`` (:func:`cxreport.survey.nps_category`). The first answer
    gives the longest follow-up; rows without a customer are dropped.
    """
    from .survey import nps_category

    r = responses.dropna(subset=["customer_id"])
    if year is not None:
        r = r[r["survey_year"] <= year]
    when = pd.to_datetime(r["submitted_at"]) if "submitted_at" in r else pd.Series(pd.NaT, index=r.index)
    fallback = pd.to_datetime(r["survey_year"].astype(int).astype(str) + "-11-01")
    measured = when.fillna(fallback).dt.to_period("M")
    out = pd.DataFrame({"customer_id": r["customer_id"].astype(str).to_numpy(), "measured": measured.to_numpy(),
                        "survey_year": r["survey_year"].to_numpy(), "nps": r["nps"].to_numpy(), "csat": r["csat"].to_numpy()})
    out = out.sort_values(["measured", "customer_id"], kind="stable").drop_duplicates("customer_id").reset_index(drop=True)
    out["nps"] = pd.to_numeric(out["nps"]).astype(float)
    out["csat"] = pd.to_numeric(out["csat"]).astype(float)
    out["nps_category"] = nps_category(out["nps"])
    return out

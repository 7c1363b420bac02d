"""Sample revenue ledger (``revenue.csv``): seven years of monthly revenue for the sample accounts.

How the ledger is made (vectorised over customers, one step per month,
January 2014 to December 2020, one seed):

- Each account starts in the month of its ``customer_since``. Its partner
  has a propensity to sell cloud: most customers of cloud-minded partners,
  and more of the later ones, buy cloud **subscriptions**; the others buy
  on-premises **licences** (an annual licence fee) and, most of them,
  **managed** services (recurring). About one on-premises customer in four
  buys licences and projects only: it is never an *active* recurring
  customer.
- Subscription MRR scales with company size (lognormal spread); cloud
  customers add managed services with some probability, at the start or
  later (cross-sell, an expansion). Each month an active customer may expand
  or contract; healthier accounts expand more and contract less.
- Churn: a monthly hazard of about 0.75% (higher in the first year), lower
  for healthier accounts, lower for more mature customers (the mean of the
  dimension scores of their maturity assessments) and, after a survey
  answer, much higher for detractors and lower for promoters. Survey
  respondents were customers when they answered (no churn before it).
- A churned customer may come back within two years (a reactivation).
- **Projects** (onboarding and later work), **licences** and packaged
  **IP** sit beside the recurring revenue; every row carries a **cost**
  (subscriptions resold at a thin margin, services and IP at a good one).

``customers`` scales the ledger for benchmarks: the accounts are repeated
with new ids (and no survey or maturity links) until there are that many
customers; about 46 rows per customer, so 216,000 customers make about 10 million
rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .accounts import generate_accounts

FIRST_MONTH, LAST_MONTH = "2014-01", "2020-12"
SIZE_MRR = {"1-49": 350.0, "50-249": 1400.0, "250-999": 4200.0, "1000+": 11000.0}
COST_RATIO = {"subscription": 0.80, "managed": 0.45, "project": 0.62, "license": 0.84, "ip": 0.25}
BASE_HAZARD = 0.0075
FIRST_YEAR_HAZARD = 1.8
NPS_HAZARD = {"Promoter": 1.0, "Passive": 2.2, "Detractor": 4.5}
MATURITY_HAZARD = 0.4      # hazard x exp(-0.4 * (mean maturity score - 3))
HEALTH_HAZARD = 0.45       # hazard x exp(-0.45 * health)
REACTIVATION = 0.03        # monthly chance of coming back, for 24 months after churning


def _survey_links(survey: pd.DataFrame | None, ids: pd.Index, m0: int) -> tuple[np.ndarray, np.ndarray]:
    """Per account: month index of its first survey answer (-1 none) and the hazard multiplier after it."""
    at = np.full(len(ids), -1, dtype=np.int64)
    mult = np.ones(len(ids))
    if survey is None or "customer_id" not in survey:
        return at, mult
    from ..survey import nps_category

    s = survey.dropna(subset=["customer_id"]).copy()
    when = pd.to_datetime(s["submitted_at"]) if "submitted_at" in s else pd.to_datetime(s["survey_year"].astype(str) + "-11-15")
    s["_m"] = when.dt.to_period("M").array.asi8 - m0
    s["_mult"] = nps_category(s["nps"]).astype(object).map(NPS_HAZARD).fillna(1.0).to_numpy(dtype=float)
    s = s.sort_values("_m", kind="stable")
    first = s.groupby("customer_id").agg(m=("_m", "first"), mult=("_mult", "last"))
    pos = ids.get_indexer(first.index)
    ok = pos >= 0
    at[pos[ok]] = first["m"].to_numpy()[ok]
    mult[pos[ok]] = first["mult"].to_numpy()[ok]
    return at, mult


def _maturity_level(maturity: pd.DataFrame | None, ids: pd.Index) -> np.ndarray:
    """Mean dimension score (1-5) of each account's assessments; 3 when never assessed."""
    out = np.full(len(ids), 3.0)
    if maturity is None:
        return out
    dims = [c for c in maturity.columns if c.startswith("m_")]
    score = maturity[dims].apply(pd.to_numeric, errors="coerce").mean(axis=1)
    level = score.groupby(maturity["customer_id"].to_numpy()).mean().dropna()
    pos = ids.get_indexer(level.index)
    ok = pos >= 0
    out[pos[ok]] = level.to_numpy()[ok]
    return out


def _scaled_accounts(accounts: pd.DataFrame, customers: int, rng: np.random.Generator) -> pd.DataFrame:
    reps = int(np.ceil(customers / len(accounts)))
    big = pd.concat([accounts] * reps, ignore_index=True).iloc[:customers].copy()
    big["customer_id"] = [f"B{i:07d}" for i in range(1, customers + 1)]
    big["health"] = big["health"].to_numpy() + rng.normal(0, 0.3, customers)
    return big


def _simulate(acc: pd.DataFrame, survey_at: np.ndarray, survey_mult: np.ndarray, maturity: np.ndarray,
              rng: np.random.Generator, m0: int, n_months: int) -> pd.DataFrame:
    n = len(acc)
    start = pd.to_datetime(acc["customer_since"]).dt.to_period("M").array.asi8 - m0
    start = np.clip(start, 0, None)
    health = acc["health"].to_numpy(dtype=float)
    size_mrr = acc["company_size"].map(SIZE_MRR).fillna(1000.0).to_numpy()
    base = size_mrr * rng.lognormal(0, 0.45, n)

    partners = pd.factorize(acc["partner_id"], sort=True)
    p_rng = np.random.default_rng(len(partners[1]) + 7)
    cloud_pref = p_rng.uniform(0.2, 0.95, len(partners[1]))[partners[0]]
    year_since = start / 12.0
    cloud = rng.random(n) < np.clip(cloud_pref + 0.05 * (year_since - 3), 0.05, 0.98)
    project_only = ~cloud & (rng.random(n) < 0.25)
    managed_from = np.where(cloud, np.where(rng.random(n) < 0.3, start, start + rng.geometric(1 / 36, n)), start)
    managed_from = np.where(project_only, n_months + 1, managed_from)
    managed_size = np.where(cloud, 0.35, 0.6) * base * rng.lognormal(0, 0.3, n)

    hazard = BASE_HAZARD * np.exp(-HEALTH_HAZARD * health - MATURITY_HAZARD * (maturity - 3))
    p_exp = 0.022 * np.exp(0.35 * health)
    p_con = 0.011 * np.exp(-0.35 * health)

    sub = np.zeros((n, n_months), dtype=np.float32)
    man = np.zeros((n, n_months), dtype=np.float32)
    cur_sub = np.where(cloud, base, 0.0)
    cur_man = np.zeros(n)
    active = np.zeros(n, dtype=bool)
    churned_at = np.full(n, -10_000)
    recurring = ~project_only
    for t in range(n_months):  # one vectorised step per month
        starting = recurring & (start == t)
        active |= starting
        cont = active & ~starting
        h = hazard * np.where(t - start < 12, FIRST_YEAR_HAZARD, 1.0)
        after = (survey_at >= 0) & (t > survey_at)
        h = np.where(after, h * survey_mult, h)
        h = np.where((survey_at >= 0) & (t <= survey_at), 0.0, h)  # respondents were customers when they answered
        leave = cont & (rng.random(n) < h)
        active &= ~leave
        churned_at = np.where(leave, t, churned_at)
        back = ~active & recurring & (start < t) & (t - churned_at <= 24) & (churned_at >= 0) & (rng.random(n) < REACTIVATION)
        cur_sub = np.where(back, cur_sub * rng.uniform(0.6, 1.0, n), cur_sub)
        cur_man = np.where(back, cur_man * rng.uniform(0.6, 1.0, n), cur_man)
        active |= back
        cur_man = np.where(active & (managed_from == t) & (cur_man == 0), managed_size, cur_man)
        r = rng.random(n)
        grow = cont & ~leave & (r < p_exp)
        shrink = cont & ~leave & (r >= p_exp) & (r < p_exp + p_con)
        factor = np.where(grow, rng.uniform(1.05, 1.35, n), np.where(shrink, rng.uniform(0.7, 0.95, n), 1.0))
        on_sub = cur_sub > 0
        cur_sub = np.where(on_sub, cur_sub * factor, cur_sub)
        cur_man = np.where(~on_sub, cur_man * factor, cur_man)
        sub[:, t] = np.where(active, np.round(cur_sub), 0)
        man[:, t] = np.where(active, np.round(cur_man), 0)

    frames = []
    for kind, mat in (("subscription", sub), ("managed", man)):
        i, t = np.nonzero(mat > 0)
        frames.append(pd.DataFrame({"i": i, "t": t, "revenue_type": kind, "amount": mat[i, t].astype(float)}))
    last_active = np.where((sub + man) > 0, np.arange(n_months)[None, :], -1).max(axis=1)
    until = np.where(recurring, last_active, np.minimum(start + 36, n_months - 1))
    # Licences: on-premises customers pay an annual fee in their anniversary month while they are customers.
    months = np.arange(n_months)[None, :]
    lic = (~cloud)[:, None] & (months >= start[:, None]) & (months <= until[:, None]) & ((months - start[:, None]) % 12 == 0)
    i, t = np.nonzero(lic)
    frames.append(pd.DataFrame({"i": i, "t": t, "revenue_type": "license", "amount": np.round(base[i] * rng.uniform(3, 5, len(i)))}))
    # Projects: onboarding in the first month, then now and then while a customer.
    during = (months >= start[:, None]) & (months <= until[:, None])
    proj = during & ((months == start[:, None]) | (rng.random((n, n_months)) < np.where(project_only, 0.05, 0.03)[:, None]))
    i, t = np.nonzero(proj)
    frames.append(pd.DataFrame({"i": i, "t": t, "revenue_type": "project", "amount": np.round(base[i] * rng.uniform(1.5, 5, len(i)))}))
    ip = during & (rng.random((n, n_months)) < 0.006)
    i, t = np.nonzero(ip)
    frames.append(pd.DataFrame({"i": i, "t": t, "revenue_type": "ip", "amount": np.round(base[i] * rng.uniform(0.5, 2, len(i)))}))

    rows = pd.concat(frames, ignore_index=True)
    ratio = rows["revenue_type"].map(COST_RATIO).to_numpy(dtype=float)
    rows["cost"] = np.round(rows["amount"].to_numpy() * ratio * rng.uniform(0.9, 1.1, len(rows)))
    rows["customer_id"] = acc["customer_id"].to_numpy()[rows["i"].to_numpy()]
    rows["month"] = rows["t"].to_numpy() + m0
    return rows


def generate_revenue(accounts: pd.DataFrame | None = None, seed: int = 2020, survey: pd.DataFrame | None = None,
                     maturity: pd.DataFrame | None = None, customers: int | None = None,
                     first_month: str = FIRST_MONTH, last_month: str = LAST_MONTH, chunk: int = 20_000,
                     month_as: str = "text") -> pd.DataFrame:
    """The ``revenue.csv`` frame: ``customer_id``, ``month``, ``revenue_type``, ``amount``, ``cost``.

    ``accounts`` is :func:`cxreport.sample.accounts.generate_accounts` (with
    ``health``); ``survey`` the ``survey_responses.csv`` frame and
    ``maturity`` the ``maturity_assessments.csv`` frame of the same sample
    (their links make churn depend on satisfaction and maturity).
    ``customers`` scales the ledger for benchmarks (see the module
    docstring); large ledgers are simulated in chunks of ``chunk`` customers.
    ``month_as="period"`` returns months as ``Period[M]`` (as the loader
    does) instead of ``YYYY-MM`` text.
    """
    if accounts is None:
        accounts = generate_accounts(seed)
    rng = np.random.default_rng(seed + 11)
    m0 = pd.Period(first_month, freq="M").ordinal
    n_months = pd.Period(last_month, freq="M").ordinal - m0 + 1
    if customers is not None and customers != len(accounts):
        acc = _scaled_accounts(accounts, customers, rng)
        survey = maturity = None
    else:
        acc = accounts.reset_index(drop=True)
    ids = pd.Index(acc["customer_id"])
    survey_at, survey_mult = _survey_links(survey, ids, m0)
    level = _maturity_level(maturity, ids)
    parts = []
    for lo in range(0, len(acc), chunk):  # chunks of customers keep memory flat for big ledgers
        hi = min(lo + chunk, len(acc))
        parts.append(_simulate(acc.iloc[lo:hi].reset_index(drop=True), survey_at[lo:hi], survey_mult[lo:hi], level[lo:hi], rng, m0, n_months))
    rows = pd.concat(parts, ignore_index=True)
    order = np.lexsort((pd.Categorical(rows["revenue_type"], categories=["subscription", "managed", "license", "project", "ip"]).codes,
                        rows["customer_id"].to_numpy(), rows["month"].to_numpy()))
    rows = rows.iloc[order].reset_index(drop=True)
    ordinals = rows["month"].to_numpy()
    if month_as == "period":
        month_values = pd.PeriodIndex.from_ordinals(ordinals, freq="M")
    else:  # text through a lookup of the few distinct months (fast on millions of rows)
        labels = pd.PeriodIndex.from_ordinals(np.arange(m0, m0 + n_months), freq="M").strftime("%Y-%m").to_numpy(dtype=object)
        month_values = labels[ordinals - m0]
    return pd.DataFrame(
        {
            "customer_id": rows["customer_id"].to_numpy(),
            "month": month_values,
            "revenue_type": rows["revenue_type"].to_numpy(),
            "amount": rows["amount"].astype(np.int64).to_numpy(),
            "cost": rows["cost"].astype(np.int64).to_numpy(),
        }
    )

"""Customer lifetime value: the simple contractual formula and the shifted-beta-geometric (sBG) model.

**Simple contractual CLV** (the textbook formula the source's "customer
lifetime value" refers to): ``CLV = ARPA x gross margin / monthly churn
rate``. ``1 / churn`` is the expected lifetime in months when every customer
has the same constant churn rate; there is no discounting. It is NaN when no
customer churned (the formula would give infinity).

**Shifted-beta-geometric model** (Fader & Hardie 2007, "How to project
customer retention", *Journal of Interactive Marketing* 21(1)): each
customer has a constant churn probability θ per period, but θ varies across
customers following a beta(γ, δ) distribution. Then, with T the number of
periods a customer pays (T >= 1):

- ``P(T = t) = B(γ + 1, δ + t - 1) / B(γ, δ)``,
- ``S(t) = P(T > t) = B(γ, δ + t) / B(γ, δ)`` (S(0) = 1),
- retention rate ``r_t = S(t) / S(t-1) = (δ + t - 1) / (γ + δ + t - 1)``,
  which *rises* with tenure: the customers who churn easily leave first.

γ and δ are fitted by maximum likelihood: a churned customer with duration t
contributes ``ln P(T = t)``, a censored one (still a customer after c
periods) ``ln S(c)`` (the same likelihood as Fader & Hardie's for one
cohort; here any mix of cohorts and observation lengths). The optimiser is
``scipy.optimize.minimize`` (L-BFGS-B on log γ, log δ).

**Discounted expected lifetime** with discount rate d per period and
z = 1 / (1 + d) (Fader & Hardie 2010, "Customer-base valuation in a
contractual setting: the perils of ignoring heterogeneity"):

- a new customer, paying at the start of each period it is a customer:
  ``DEL = sum_{t>=0} S(t) z^t`` (= 2F1(1, δ; γ + δ; z));
- a customer who has paid k periods (k >= 1: it is in its k-th period, has
  made k - 1 renewals) and is about to decide on the next renewal: the
  expected discounted number of *future* payments, the next one undiscounted
  (Fader & Hardie 2010, eq. 6):
  ``DERL(k) = sum_{t>=k} S(t) / S(k-1) z^(t-k)
  = (δ + k - 1) / (γ + δ + k - 1) · 2F1(1, δ + k; γ + δ + k; z)``.
  For γ = 0.668, δ = 3.806 (the paper's "high end" segment), k = 5 and
  d = 10% this is 6.8971. (Earlier versions discounted the next
  renewal by one more period, i.e. returned DERL / (1 + d); the expected
  remaining values are now 1 + d times those figures.)

CLV (sBG) of a new customer = ARPA x gross margin x DEL; the expected
remaining value of a current customer = its MRR x gross margin x DERL(k).
Sums run to a long horizon (``horizon`` periods; the tail is negligible
with any positive discount rate).

Why the two differ: the simple formula applies today's average churn rate
to a customer's whole life. Today's churn is measured on the current book,
which is dominated by long-tenured, loyal customers, while a new customer
faces the higher churn of the early months; and with heterogeneity the
survivors' retention keeps rising, which a constant rate misses. Without
heterogeneity (very large γ and δ) the sBG reduces to the constant-churn
model: ``DEL = (1 + d) / (d + θ)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import betaln

from .revenue import active_months, arpa, gross_margin, gross_margin_by_segment, monthly_logo_churn, mrr_movements_by_segment

HORIZON = 2400  # periods summed for discounted lifetimes (200 years of months)


def monthly_rate(annual_rate: float) -> float:
    """The monthly discount rate equivalent to an annual one: (1 + d)^(1/12) - 1."""
    return (1 + annual_rate) ** (1 / 12) - 1


def simple_clv(arpa_value: float, margin: float, churn_rate: float) -> float:
    """Simple contractual CLV = ARPA x gross margin (0-1) / churn rate per period (0-1); NaN when churn is 0 or missing."""
    if churn_rate is None or not np.isfinite(churn_rate) or churn_rate <= 0:
        return np.nan
    return float(arpa_value * margin / churn_rate)


# ---------------------------------------------------------------- sBG
def sbg_survival(gamma: float, delta: float, t) -> np.ndarray:
    """S(t) = B(γ, δ + t) / B(γ, δ) for integer t >= 0."""
    t = np.asarray(t, dtype=float)
    return np.exp(betaln(gamma, delta + t) - betaln(gamma, delta))


def sbg_pmf(gamma: float, delta: float, t) -> np.ndarray:
    """P(T = t) = B(γ + 1, δ + t - 1) / B(γ, δ) for integer t >= 1."""
    t = np.asarray(t, dtype=float)
    return np.exp(betaln(gamma + 1, delta + t - 1) - betaln(gamma, delta))


def sbg_retention_rates(gamma: float, delta: float, t) -> np.ndarray:
    """Retention rate of period t (t >= 1): (δ + t - 1) / (γ + δ + t - 1)."""
    t = np.asarray(t, dtype=float)
    return (delta + t - 1) / (gamma + delta + t - 1)


def sbg_loglik(gamma: float, delta: float, durations, churned, weights=None) -> float:
    """Log-likelihood of the sBG model for customers with ``durations`` (periods) and churn flags."""
    d = np.asarray(durations, dtype=float)
    e = np.asarray(churned, dtype=bool)
    w = np.ones_like(d) if weights is None else np.asarray(weights, dtype=float)
    ll_event = betaln(gamma + 1, delta + d - 1) - betaln(gamma, delta)
    ll_cens = betaln(gamma, delta + d) - betaln(gamma, delta)
    return float(np.sum(w * np.where(e, ll_event, ll_cens)))


def sbg_fit(durations, churned, weights=None) -> dict:
    """Maximum-likelihood γ and δ of the sBG model (see the module docstring).

    ``durations`` are periods paid (>= 1 for a churned customer; a censored
    customer with duration c is known to pay more than c periods; c = 0
    carries no information and is ignored). Identical (duration, churned)
    pairs are pooled first, so millions of customers fit as fast as a few.

    Returns ``gamma``, ``delta``, ``loglik``, ``n`` (customers used),
    ``churned``, ``converged`` and ``first_period_churn`` = γ / (γ + δ) (the
    expected churn of a new customer in its first period). With no churn at
    all the maximum is at the boundary: NaN parameters, ``converged`` False.
    """
    d = np.asarray(durations, dtype=float)
    e = np.asarray(churned, dtype=bool)
    w = np.ones_like(d) if weights is None else np.asarray(weights, dtype=float)
    use = (d >= 1) | (~e & (d > 0))
    d, e, w = d[use], e[use], w[use]
    out = {"n": float(w.sum()), "churned": float(w[e].sum())}
    if out["churned"] == 0 or len(d) == 0:
        return {**out, "gamma": np.nan, "delta": np.nan, "loglik": np.nan, "converged": False, "first_period_churn": np.nan}
    pooled = pd.DataFrame({"d": d, "e": e, "w": w}).groupby(["d", "e"], as_index=False)["w"].sum()
    dd, ee, ww = pooled["d"].to_numpy(), pooled["e"].to_numpy(), pooled["w"].to_numpy()

    def nll(x):
        return -sbg_loglik(np.exp(x[0]), np.exp(x[1]), dd, ee, ww)

    best = None
    for start in ((0.0, 0.0), (-1.0, 1.0), (1.0, 3.0)):  # a few starts guard against a flat ridge
        res = optimize.minimize(nll, np.array(start), method="L-BFGS-B", bounds=[(-12, 12), (-12, 12)])
        if best is None or res.fun < best.fun:
            best = res
    g, dl = float(np.exp(best.x[0])), float(np.exp(best.x[1]))
    return {**out, "gamma": g, "delta": dl, "loglik": float(-best.fun), "converged": bool(best.success),
            "first_period_churn": g / (g + dl)}


def sbg_fit_survivors(survivors) -> dict:
    """Fit the sBG model to one cohort's survivor counts n_0, n_1, ..., n_T (Fader & Hardie's layout).

    n_{t-1} - n_t customers churned after paying t periods; n_T are still
    customers after T periods (censored).
    """
    n = np.asarray(survivors, dtype=float)
    lost = n[:-1] - n[1:]
    t = np.arange(1, len(n))
    durations = np.concatenate([t, [len(n) - 1]])
    churned = np.concatenate([np.ones(len(t), dtype=bool), [False]])
    return sbg_fit(durations, churned, np.concatenate([lost, [n[-1]]]))


def _discounted_tails(gamma: float, delta: float, discount: float, horizon: int = HORIZON) -> np.ndarray:
    """A(k) = sum_{t>=k} S(t) z^(t-k) for k = 0..horizon (backward recursion A(k) = S(k) + z·A(k+1))."""
    z = 1 / (1 + discount)
    s = sbg_survival(gamma, delta, np.arange(horizon + 1))
    zt = z ** np.arange(horizon + 1)
    tail = np.cumsum((s * zt)[::-1])[::-1]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return tail / zt


def discounted_expected_lifetime(gamma: float, delta: float, discount: float, horizon: int = HORIZON) -> float:
    """DEL = sum_{t>=0} S(t) z^t, z = 1/(1+d): expected discounted periods a new customer pays (first one undiscounted)."""
    if not (np.isfinite(gamma) and np.isfinite(delta)):
        return np.nan
    return float(_discounted_tails(gamma, delta, discount, horizon)[0])


def discounted_expected_residual_lifetime(gamma: float, delta: float, tenure, discount: float, horizon: int = HORIZON) -> np.ndarray:
    """DERL(k) = sum_{t>=k} S(t) / S(k-1) z^(t-k) for customers who have paid k periods (k >= 1; vectorised over k).

    Fader & Hardie (2010), eq. 6 with n = k: the expected discounted number
    of future payments of a customer who has made k - 1 renewals, evaluated
    just before its next renewal decision, so the next payment is not
    discounted. Equals r_k · A(k) with r_k the retention rate and A(k) =
    sum_{i>=0} S(k+i)/S(k) z^i, i.e. ``r_k · 2F1(1, δ+k; γ+δ+k; z)``; k
    beyond the horizon uses the horizon's value.
    """
    k = np.clip(np.asarray(tenure, dtype=np.int64), 1, horizon - 1)
    if not (np.isfinite(gamma) and np.isfinite(delta)):
        return np.full(k.shape, np.nan)
    a = _discounted_tails(gamma, delta, discount, horizon)  # sum_{t>=k} S(t) z^(t-k)
    s = sbg_survival(gamma, delta, np.arange(horizon + 1))
    return a[k] / s[k - 1]


def sbg_churn_probability(gamma: float, delta: float, tenure, within: int = 12) -> np.ndarray:
    """Probability that a customer in its k-th period has left within the next ``within`` periods: 1 - S(k-1+h)/S(k-1)."""
    k = np.maximum(np.asarray(tenure, dtype=float), 1)
    if not (np.isfinite(gamma) and np.isfinite(delta)):
        return np.full(k.shape, np.nan)
    return 1 - np.exp(betaln(gamma, delta + k - 1 + within) - betaln(gamma, delta + k - 1))


# ---------------------------------------------------------------- per segment
def clv_by_segment(ledger: pd.DataFrame, lives: pd.DataFrame, segments: pd.Series, year: int, annual_discount: float,
                   window_months: int, min_n: int, active: pd.DataFrame | None = None,
                   dimension: str | None = None) -> pd.DataFrame:
    """Simple and sBG lifetime value per segment.

    ``lives`` is :func:`cxreport.survival.lifetimes` at December of ``year``;
    ``segments`` maps ``customer_id`` (index) to a segment. Per segment
    (customers ever active):

    - ``arpa``: average MRR per active customer over the ``window_months``
      months ending December of ``year`` (:func:`cxreport.revenue.arpa`);
    - ``gross_margin_pct``: gross margin of the segment's recurring revenue
      in ``year`` (the whole ledger's when the segment has no costs);
    - ``monthly_churn_pct``: pooled monthly logo churn over the window
      (:func:`cxreport.revenue.monthly_logo_churn`);
    - ``clv_simple`` = ARPA x margin / churn (undiscounted);
      ``clv_simple_discounted`` = ARPA x margin x (1 + d) / (d + churn),
      the constant-churn model with the same monthly discount d as the sBG;
    - ``gamma``, ``delta`` (sBG fit on the segment's lifetimes in months),
      ``sbg_first_year_churn_pct`` (share of new customers gone within 12
      months), ``del_months`` (DEL), ``clv_sbg`` = ARPA x margin x DEL;
    - ``active_customers`` (active in December), ``mrr``,
      ``remaining_value`` = sum over active customers of MRR x margin x
      DERL(current spell tenure).

    Segments with fewer than ``min_n`` customers are listed with
    ``suppressed`` True and NaN figures. Ranked by ``clv_sbg``.
    ``annual_discount``, ``window_months`` and ``min_n`` are the
    ``clv_discount_rate``, ``clv_window_months`` and ``min_group_size``
    settings (no defaults here: params/defaults.yaml holds them). Without
    costs for the segment or the whole ledger the margin, and so every value
    figure, is NaN (unknown, never 0).
    """
    d_m = monthly_rate(annual_discount)
    end = f"{year}-12"
    first = (pd.Period(end, freq="M") - (window_months - 1)).strftime("%Y-%m")
    act = active if active is not None else active_months(ledger, end=end)
    overall_margin = gross_margin(ledger, year)
    seg = segments.dropna()
    movements = mrr_movements_by_segment(act, seg, end=end)  # one engine query for every segment
    margins = gross_margin_by_segment(ledger, seg, year)
    rows = []
    names = seg.cat.categories if isinstance(seg.dtype, pd.CategoricalDtype) else sorted(seg.unique())
    for name in names:  # a handful of segments
        ids = seg.index[seg == name]
        lv = lives[lives["customer_id"].isin(ids)]
        row = {"dimension": dimension, "segment": name, "customers": int(len(lv)), "suppressed": len(lv) < min_n}
        if row["suppressed"] or len(lv) == 0:
            rows.append(row)
            continue
        mv = movements[name]
        arpa_avg = arpa(mv, first, end)["average"]
        churn = monthly_logo_churn(mv, first, end)["monthly_pct"] / 100
        margin = margins[name]
        margin = overall_margin if not np.isfinite(margin) else margin
        fit = sbg_fit(lv["duration"], lv["churned"])
        dl = discounted_expected_lifetime(fit["gamma"], fit["delta"], d_m)
        now = lv[lv["active_at_end"]]
        derl = discounted_expected_residual_lifetime(fit["gamma"], fit["delta"], now["spell_tenure"], d_m)
        row.update({
            "active_customers": int(len(now)),
            "mrr": float(now["mrr_end"].sum()),
            "arpa": arpa_avg,
            "gross_margin_pct": 100 * margin,
            "monthly_churn_pct": 100 * churn,
            "expected_lifetime_months_simple": 1 / churn if churn > 0 else np.nan,
            "clv_simple": simple_clv(arpa_avg, margin, churn),
            "clv_simple_discounted": arpa_avg * margin * (1 + d_m) / (d_m + churn) if np.isfinite(churn) else np.nan,
            "gamma": fit["gamma"],
            "delta": fit["delta"],
            "sbg_first_year_churn_pct": 100 * (1 - float(sbg_survival(fit["gamma"], fit["delta"], 12))) if fit["converged"] or np.isfinite(fit["gamma"]) else np.nan,
            "del_months": dl,
            "clv_sbg": arpa_avg * margin * dl,
            "remaining_value": float(np.nansum(now["mrr_end"].to_numpy() * margin * derl)),
        })
        rows.append(row)
    out = pd.DataFrame(rows)
    if "clv_sbg" in out:
        out = out.sort_values(["suppressed", "clv_sbg"], ascending=[True, False], kind="stable", na_position="last")
        out["rank"] = np.where(out["suppressed"] | out["clv_sbg"].isna(), np.nan, np.arange(1, len(out) + 1))
    return out.reset_index(drop=True)


def account_values(lives: pd.DataFrame, segments: pd.Series, fits: dict, margin: float | dict, annual_discount: float,
                   horizon_months: int = 12) -> pd.DataFrame:
    """Per current customer: churn risk and expected remaining value from its segment's sBG fit.

    ``fits`` maps segment -> :func:`sbg_fit` result (a segment without a
    usable fit gets NaN); ``margin`` is the gross margin (0-1), one number or
    per segment. For customers active at the ledger's end (``lives``):
    ``tenure_months`` (current spell, counting the last month), ``mrr``,
    ``churn_risk_pct`` = probability of having left within ``horizon_months``
    (:func:`sbg_churn_probability`), ``expected_remaining_months`` =
    DERL (discounted) and ``expected_remaining_value`` = MRR x margin x DERL.
    Vectorised per segment (a handful). Sorted by expected remaining value.
    """
    d_m = monthly_rate(annual_discount)
    now = lives[lives["active_at_end"]].copy()
    now["segment"] = now["customer_id"].map(segments).astype(object)
    now["churn_risk_pct"] = np.nan
    now["expected_remaining_months"] = np.nan
    for name, fit in fits.items():
        sel = (now["segment"] == name).to_numpy()
        if not sel.any():
            continue
        k = now.loc[sel, "spell_tenure"].to_numpy()
        now.loc[sel, "churn_risk_pct"] = 100 * sbg_churn_probability(fit["gamma"], fit["delta"], k, horizon_months)
        now.loc[sel, "expected_remaining_months"] = discounted_expected_residual_lifetime(fit["gamma"], fit["delta"], k, d_m)
    m = now["segment"].astype(object).map(margin).astype(float) if isinstance(margin, dict) else margin
    now["expected_remaining_value"] = now["mrr_end"] * m * now["expected_remaining_months"]
    out = now.rename(columns={"spell_tenure": "tenure_months", "mrr_end": "mrr"})[
        ["customer_id", "segment", "acquired", "tenure_months", "mrr", "churn_risk_pct", "expected_remaining_months", "expected_remaining_value"]]
    return out.sort_values("expected_remaining_value", ascending=False, kind="stable").reset_index(drop=True)

"""Partner-programme survey metrics: per-partner NPS by quarter, funnel plot, CSAT index.

The user is a vendor's channel team: customers of many partners answer the
vendor's survey, and each partner is scored on its own customers' answers,
as Sage gives every partner its NPS and likely-to-recommend (LTR) score each
quarter and Microsoft scores partners on its CSAT index. Sources:
``shared/reference/sage-partner-nps-program.txt`` and
``microsoft-csat-index.txt``.

Every NPS here comes from :func:`cxreport.survey.nps_from_counts` (counts per
category, Rocks 2016 interval); this module only counts answers per partner
and period, in vectorised group-bys, and applies the rules of the programme.
Conventions as in :mod:`cxreport.survey`: percentages 0-100 and scores
unrounded; groups under ``min_n`` answers (params ``min_group_size``) are
suppressed by :func:`cxreport.suppression.suppress_small_groups`: their scores
are NaN, and the tables published from them (:func:`publishable`) also hide
their per-category counts and show the count as "fewer than N".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from .suppression import suppress_small_groups
from .survey import DETRACTOR, NPS_CATEGORIES, PASSIVE, PROMOTER, nps_category, nps_change, nps_from_counts

COUNT_COLUMNS = ("promoters", "passives", "detractors")
AVG_DAYS_PER_MONTH = 365.25 / 12


# ------------------------------------------------------------------ counting
def categories(ltr: pd.Series) -> pd.Series:
    """NPS category of each 0-10 answer (:func:`cxreport.survey.nps_category`); a blank answer (``<NA>``) stays missing.

    The answers go in as floats (blank = NaN), as the validated files hold
    them as nullable integers.
    """
    return nps_category(pd.to_numeric(pd.Series(ltr), errors="coerce").astype(float))


def category_counts(ltr: pd.Series) -> tuple[int, int, int]:
    """(promoters, passives, detractors) among the answers; blanks count nowhere."""
    cat = categories(ltr)
    return tuple(int((cat == c).sum()) for c in NPS_CATEGORIES)


def answer_counts(responses: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Counts per group: NPS categories, LTR and CSAT sums and bases (one vectorised group-by).

    Returns the columns ``promoters``, ``passives``, ``detractors``, ``n``
    (answers to the 0-10 question), ``ltr_sum``, ``csat_sum``, ``csat_n``,
    indexed by ``by``. Sums rather than means so that periods can be pooled
    exactly (trailing four quarters) before dividing.
    """
    cat = categories(responses["nps"])
    ltr = pd.to_numeric(responses["nps"], errors="coerce").astype(float)
    csat = pd.to_numeric(responses["csat"], errors="coerce").astype(float)
    frame = pd.DataFrame(
        {
            **{k: responses[k] for k in by},
            "promoters": (cat == PROMOTER).astype(int),
            "passives": (cat == PASSIVE).astype(int),
            "detractors": (cat == DETRACTOR).astype(int),
            "ltr_sum": ltr.fillna(0.0),
            "csat_sum": csat.fillna(0.0),
            "csat_n": csat.notna().astype(int),
        }
    )
    out = frame.groupby(by, observed=True, sort=True).sum()
    out["n"] = out[list(COUNT_COLUMNS)].sum(axis=1)
    return out


def _scores(counts: pd.DataFrame, confidence: float, method: str, min_n: int, prefix: str = "") -> pd.DataFrame:
    """NPS with interval, LTR and CSAT means from pooled counts; one :func:`nps_from_counts` per group."""
    p, pa, d = (counts[f"{prefix}{c}"].astype(int).to_numpy() for c in COUNT_COLUMNS)
    results = [nps_from_counts(int(a), int(b), int(c), confidence, method) for a, b, c in zip(p, pa, d)]  # one per group
    n = counts[f"{prefix}n"].to_numpy()
    csat_n = counts[f"{prefix}csat_n"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame(
            {
                f"{prefix}nps": [r.score for r in results],
                f"{prefix}nps_se": [r.se for r in results],
                f"{prefix}nps_ci_low": [r.ci_low for r in results],
                f"{prefix}nps_ci_high": [r.ci_high for r in results],
                f"{prefix}promoters_pct": [r.promoters_pct for r in results],
                f"{prefix}detractors_pct": [r.detractors_pct for r in results],
                f"{prefix}ltr": np.where(n > 0, counts[f"{prefix}ltr_sum"].to_numpy() / n, np.nan),
                f"{prefix}csat": np.where(csat_n > 0, counts[f"{prefix}csat_sum"].to_numpy() / csat_n, np.nan),
            },
            index=counts.index,
        )
    figures = list(out.columns)
    out["_n"] = n
    out = suppress_small_groups(out, "_n", figures, min_n, flag=f"{prefix}suppressed")
    return out.drop(columns="_n")


def quarter(dates: pd.Series) -> pd.Series:
    """Calendar quarter (a ``Period[Q]``) of each date; the unit of Sage's quarterly partner scores."""
    return pd.to_datetime(pd.Series(dates)).dt.to_period("Q")


# ------------------------------------------------------------------ NPS by partner and quarter
def nps_by_partner_quarter(
    responses: pd.DataFrame,
    partner_ids: list[str] | None = None,
    *,
    confidence: float,
    method: str,
    min_n: int,
    last_quarter: pd.Period | str | None = None,
) -> pd.DataFrame:
    """Per partner and quarter: answers, NPS with interval, LTR, CSAT, and the same over the trailing four quarters.

    ``responses`` needs ``partner_id``, ``submitted_at``, ``nps`` (0-10) and
    ``csat`` (1-5). The grid is complete: every partner (``partner_ids``, by
    default those in the data) times every quarter from the first answer to
    ``last_quarter`` (default the last answer's), with zero counts where no
    one answered. Without any answer the grid is the one quarter
    ``last_quarter`` (all counts zero, every score missing).

    ``confidence``, ``method`` and ``min_n`` are the settings
    ``confidence``, ``nps_ci_method`` and ``min_group_size`` (no defaults
    here: they are written once, in ``params/defaults.yaml``).

    Columns per quarter: ``n``, the category counts, ``nps``, ``nps_se``,
    ``nps_ci_low``/``nps_ci_high`` (Rocks 2016 interval, see
    :func:`cxreport.survey.nps_from_counts`), ``promoters_pct``,
    ``detractors_pct``, ``ltr`` (mean 0-10 answer: Sage's "likely to
    recommend" score), ``csat`` (mean 1-5), ``suppressed``. The ``t4q_``
    columns pool the counts of the quarter and the three before it (a
    rolling year, so a partner's quarterly score rests on a year of
    answers); ``t4q_complete`` is False while fewer than four quarters of
    data exist. Groups under ``min_n`` answers are suppressed.
    """
    r = responses.assign(quarter=quarter(responses["submitted_at"]))
    counts = answer_counts(r, ["partner_id", "quarter"])
    ids = sorted(r["partner_id"].dropna().unique()) if partner_ids is None else list(partner_ids)
    last = pd.Period(last_quarter, freq="Q") if last_quarter is not None else r["quarter"].max()
    first = r["quarter"].min() if r["quarter"].notna().any() else last
    quarters = pd.period_range(first, last, freq="Q")
    grid = pd.MultiIndex.from_product([ids, quarters], names=["partner_id", "quarter"])
    counts = counts.reindex(grid, fill_value=0)
    summed = ["promoters", "passives", "detractors", "n", "ltr_sum", "csat_sum", "csat_n"]
    rolling = counts[summed].groupby(level="partner_id", sort=False).rolling(4, min_periods=1).sum().droplevel(0)
    rolling = rolling.reindex(grid).add_prefix("t4q_")
    out = pd.concat(
        [
            counts[summed],
            _scores(counts, confidence, method, min_n),
            rolling,
            _scores(rolling, confidence, method, min_n, prefix="t4q_"),
        ],
        axis=1,
    )
    out["t4q_complete"] = np.tile(np.arange(len(quarters)) >= 3, len(ids))
    return out.drop(columns=["ltr_sum", "csat_sum", "t4q_ltr_sum", "t4q_csat_sum"]).reset_index()


def programme_by_quarter(responses: pd.DataFrame, **kwargs) -> pd.DataFrame:
    """The whole programme's quarterly figures: :func:`nps_by_partner_quarter` with every answer in one group."""
    table = nps_by_partner_quarter(responses.assign(partner_id="Programme"), partner_ids=["Programme"], **kwargs)
    return table.drop(columns="partner_id")


def nps_trend(table: pd.DataFrame, at_quarter: pd.Period | str, confidence: float, min_n: int) -> pd.DataFrame:
    """Each partner's trend: trailing-four-quarter NPS at ``at_quarter`` against four quarters earlier.

    The two rolling years do not overlap, so the change is tested as two
    independent samples with :func:`cxreport.survey.nps_change` (z-test on
    the two standard errors). Columns: ``nps_now``, ``n_now``,
    ``nps_before``, ``n_before``, ``change``, ``p_value``, ``significant``,
    ``direction`` ("up", "down", "no clear change", or "too few answers"
    when either year has under ``min_n`` answers).
    """
    at = pd.Period(at_quarter, freq="Q")
    t = table.set_index(["partner_id", "quarter"])
    cols = [f"t4q_{c}" for c in (*COUNT_COLUMNS, "n")]
    ids = t.index.get_level_values(0).unique()
    now = t.xs(at, level="quarter")[cols].reindex(ids, fill_value=0)
    before = t.xs(at - 4, level="quarter")[cols].reindex(ids, fill_value=0) if (at - 4) in t.index.get_level_values(1) else now * 0
    rows = []
    for pid in ids:  # one test per partner
        a = nps_from_counts(*(int(now.at[pid, c]) for c in cols[:3]), confidence=confidence)
        b = nps_from_counts(*(int(before.at[pid, c]) for c in cols[:3]), confidence=confidence)
        enough = a.n >= min_n and b.n >= min_n
        ch = nps_change(a, b, alpha=1 - confidence) if enough else None
        rows.append(
            {
                "partner_id": pid,
                "nps_now": a.score,
                "n_now": a.n,
                "nps_before": b.score,
                "n_before": b.n,
                "change": ch["change"] if ch else np.nan,
                "p_value": ch["p_value"] if ch else np.nan,
                "significant": bool(ch["significant"]) if ch else False,
                "direction": "too few answers" if not ch else ("no clear change" if not ch["significant"] else ("up" if ch["change"] > 0 else "down")),
            }
        )
    out = pd.DataFrame(rows, columns=TREND_COLUMNS)
    out = suppress_small_groups(out, "n_now", ["nps_now", "change", "p_value"], min_n, flag=None)
    return suppress_small_groups(out, "n_before", ["nps_before", "change", "p_value"], min_n, flag=None)


TREND_COLUMNS = ["partner_id", "nps_now", "n_now", "nps_before", "n_before", "change", "p_value", "significant", "direction"]


# ------------------------------------------------------------------ funnel plot
def funnel_z(level: float) -> float:
    """Two-sided normal quantile of a funnel limit: 1.960 for 95%, 3.090 for 99.8%."""
    return float(sps.norm.ppf(0.5 + level / 2))


def nps_unit_sd(promoters: int, passives: int, detractors: int) -> float:
    """Standard deviation of one answer scored +100/0/−100 (the NPS scale).

    ``σ = 100 · √(p_P + p_D − (p_P − p_D)²)`` from the programme's shares;
    the same variance as :func:`cxreport.survey.nps_from_counts` (Rocks 2016)
    for n = 1. Edge case: no answers gives NaN.
    """
    n = promoters + passives + detractors
    if n == 0:
        return float("nan")
    pp, pd_ = promoters / n, detractors / n
    return float(100 * np.sqrt(max(pp + pd_ - (pp - pd_) ** 2, 0.0)))


def funnel_limits(target: float, sd: float, n, levels, phi: float = 1.0) -> pd.DataFrame:
    """Funnel-plot control limits around ``target`` for groups of ``n`` answers.

    Spiegelhalter (2005), "Funnel plots for comparing institutional
    performance", Statistics in Medicine 24:1185-1202, normal approximation
    for an indicator with per-unit standard deviation ``sd``::

        limits = target ± z_p · √φ · sd / √n,   z_p = Φ⁻¹(1/2 + p/2)

    (z = 1.960 for p = 95%, 3.090 for 99.8%); ``φ`` is the multiplicative
    over-dispersion factor (1 = none, see :func:`overdispersion`); ``levels``
    are the settings ``funnel_levels``, e.g. (0.95, 0.998). Limits are
    clipped to the NPS scale −100..100. Returns one row per ``n`` with
    ``lower_95``/``upper_95``, ``lower_99.8``/``upper_99.8`` (named after the
    level in percent).
    """
    n = np.asarray(n, dtype=float)
    out = pd.DataFrame({"n": n})
    for level in levels:
        half = funnel_z(level) * np.sqrt(phi) * sd / np.sqrt(n)
        name = f"{100 * level:g}"
        out[f"lower_{name}"] = np.clip(target - half, -100, 100)
        out[f"upper_{name}"] = np.clip(target + half, -100, 100)
    return out


def overdispersion(z: pd.Series, winsor: float = 0.1) -> dict:
    """Multiplicative over-dispersion factor φ from the groups' z-scores (Spiegelhalter 2005, §6.1).

    The z-scores are Winsorised at the ``winsor`` and ``1 − winsor``
    quantiles (so the outliers being looked for do not inflate the
    estimate), then ``φ = Σ z_w² / I`` over the I groups. Under no
    over-dispersion ``I·φ`` follows χ² with I − 1 degrees of freedom; its
    upper-tail ``p_value`` is returned. Edge case: no group gives NaN.
    """
    z = pd.Series(z, dtype=float).dropna()
    if z.empty:
        return {"phi": float("nan"), "groups": 0, "p_value": float("nan")}
    lo, hi = z.quantile(winsor), z.quantile(1 - winsor)
    zw = z.clip(lo, hi)
    phi = float((zw**2).sum() / len(zw))
    return {"phi": phi, "groups": int(len(zw)), "p_value": float(sps.chi2.sf(len(zw) * phi, len(zw) - 1)) if len(zw) > 1 else float("nan")}


BELOW_998, BELOW_95, WITHIN, ABOVE_95, ABOVE_998, NOT_RANKED = (
    "below 99.8% limit", "below 95% limit", "within limits", "above 95% limit", "above 99.8% limit", "not ranked",
)
ACTIONS = {
    BELOW_998: "Regional manager to intervene",
    BELOW_95: "Watch: talk to the partner",
    WITHIN: "",
    ABOVE_95: "Recognise",
    ABOVE_998: "Recognise: share their practice",
    NOT_RANKED: "",
}


def nps_funnel(
    responses: pd.DataFrame,
    partner_ids: list[str] | None,
    levels: tuple[float, float],
    min_rank_n: int,
    adjust_overdispersion: bool,
    *,
    min_n: int,
    alpha: float = 0.05,
) -> tuple[pd.DataFrame, dict]:
    """Partner NPS against its number of answers, with funnel limits around the programme NPS.

    The target is the programme's NPS from all answers pooled, ``sd`` the
    per-answer standard deviation (:func:`nps_unit_sd`). Each partner with
    at least ``min_rank_n`` answers gets a z-score ``(NPS − target) /
    (sd/√n)`` and a ``position``: below/above the 95% or 99.8% limits, or
    within; partners with fewer answers are "not ranked" and never flagged
    (a handful of answers moves an NPS by tens of points). With
    ``adjust_overdispersion`` the limits widen by √φ when the ranked
    partners vary more than chance allows (φ > 1 with p < ``alpha``,
    :func:`overdispersion`), so that only partners that stand out from the
    usual partner-to-partner spread are flagged.

    Returns the per-partner table (``n``, ``nps``, ``z``, the limits at its
    n, ``position``, ``action``, ``rank`` 1 = best among ranked, and
    ``percentile``: share of ranked partners with a lower NPS, 0-100) and a
    summary (``target``, ``sd``, ``phi``, ``phi_p_value``, ``adjusted``,
    ``ranked``, ``levels``).

    Settings (no defaults here): ``levels`` = ``funnel_levels`` (two, the
    inner and the outer limit), ``min_rank_n`` =
    ``partner_min_ranked_responses``, ``adjust_overdispersion`` =
    ``funnel_adjust_overdispersion``, ``min_n`` = ``min_group_size``.
    ``alpha`` is the over-dispersion test's level, part of the method.
    Edge cases: no answers give a NaN target and no ranked partner; one
    ranked partner gives no over-dispersion test (φ's p-value NaN).
    """
    counts = answer_counts(responses, ["partner_id"])
    ids = sorted(counts.index) if partner_ids is None else list(partner_ids)
    counts = counts.reindex(ids, fill_value=0)
    total = counts[list(COUNT_COLUMNS)].sum()
    programme = nps_from_counts(int(total["promoters"]), int(total["passives"]), int(total["detractors"]))
    sd = nps_unit_sd(int(total["promoters"]), int(total["passives"]), int(total["detractors"]))
    n = counts["n"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        nps = np.where(n > 0, 100 * (counts["promoters"] - counts["detractors"]).to_numpy() / n, np.nan)
        z = (nps - programme.score) / (sd / np.sqrt(n))
    ranked = n >= max(min_rank_n, min_n)
    disp = overdispersion(pd.Series(z[ranked]))
    adjusted = bool(adjust_overdispersion and disp["phi"] > 1 and disp["p_value"] < alpha)
    phi = disp["phi"] if adjusted else 1.0
    limits = funnel_limits(programme.score, sd, np.where(n > 0, n, np.nan), levels, phi)
    lo, hi = levels
    name_lo, name_hi = f"{100 * lo:g}", f"{100 * hi:g}"
    zz = z / np.sqrt(phi)
    position = np.select(
        [~ranked, zz < -funnel_z(hi), zz < -funnel_z(lo), zz > funnel_z(hi), zz > funnel_z(lo)],
        [NOT_RANKED, BELOW_998, BELOW_95, ABOVE_998, ABOVE_95],
        WITHIN,
    )
    table = pd.DataFrame(
        {
            "partner_id": ids,
            "n": n,
            "nps": nps,
            "ltr": np.where(n > 0, counts["ltr_sum"].to_numpy() / np.where(n > 0, n, 1), np.nan),
            "z": np.where(ranked, zz, np.nan),
            f"lower_{name_hi}": limits[f"lower_{name_hi}"].to_numpy(),
            f"lower_{name_lo}": limits[f"lower_{name_lo}"].to_numpy(),
            f"upper_{name_lo}": limits[f"upper_{name_lo}"].to_numpy(),
            f"upper_{name_hi}": limits[f"upper_{name_hi}"].to_numpy(),
            "position": position,
        }
    )
    table["action"] = table["position"].map(ACTIONS)
    ranked_nps = table["nps"].where(ranked)
    table["rank"] = ranked_nps.rank(ascending=False, method="min")
    # Share of the other ranked partners scoring lower (0-100); NaN when not ranked.
    table["percentile"] = 100 * (ranked_nps.rank(method="min") - 1) / max(int(ranked.sum()) - 1, 1)
    summary = {
        "target": programme.score,
        "target_n": programme.n,
        "sd": sd,
        "phi": disp["phi"],
        "phi_p_value": disp["p_value"],
        "adjusted": adjusted,
        "phi_used": phi,
        "ranked": int(ranked.sum()),
        "min_rank_n": int(min_rank_n),
        "levels": list(levels),
        "min_n": int(min_n),
        "suppressed": int(((n > 0) & (n < min_n)).sum()),
    }
    return suppress_small_groups(table, "n", funnel_scores(table), min_n), summary


def funnel_scores(funnel: pd.DataFrame) -> list[str]:
    """The columns of :func:`nps_funnel`'s table that are scores of the partner (suppressed for small partners)."""
    return ["nps", "ltr", "z", "rank", "percentile", *[c for c in funnel.columns if c.startswith(("lower_", "upper_"))]]


QUARTER_SCORES = ("nps", "nps_se", "nps_ci_low", "nps_ci_high", "promoters_pct", "detractors_pct", "ltr", "csat")


def publishable(table: pd.DataFrame, min_n: int, kind: str | None = None, mark_count: bool = False) -> pd.DataFrame:
    """A partner table as it may be published (CSV, workbook, report table), small groups suppressed.

    One call of :func:`cxreport.suppression.suppress_small_groups` per group
    base in the table: every score of a group under ``min_n`` answers, and
    the per-category counts that would give its answers away, are blank.
    With ``mark_count`` (for tables shown in a report) its count reads
    "fewer than N"; CSVs keep the numeric count (the partner's scorecard
    states it anyway, and machine readers need numbers).
    ``kind`` says which table (guessed from its columns when None):
    ``"by_quarter"`` (:func:`nps_by_partner_quarter`, both the quarter and
    the ``t4q_`` rolling year), ``"trend"`` (:func:`nps_trend`),
    ``"funnel"`` (:func:`nps_funnel`) or ``"csat_index"``
    (:func:`csat_index`, whose answer counts stay: the 10-response rule is
    about counts; only the NSAT and its shares are suppressed).
    """
    cols = set(table.columns)
    kind = kind or ("by_quarter" if "t4q_n" in cols else "trend" if "n_now" in cols else "csat_index" if "nsat" in cols else "funnel")
    if kind == "by_quarter":
        out = table
        for prefix in ("", "t4q_"):
            scores = [f"{prefix}{c}" for c in (*COUNT_COLUMNS, *QUARTER_SCORES)]
            out = suppress_small_groups(out, f"{prefix}n", scores, min_n, mark_count=mark_count, flag=f"{prefix}suppressed")
        return out
    if kind == "trend":
        out = suppress_small_groups(table, "n_now", ["nps_now", "change", "p_value"], min_n, mark_count=mark_count, flag=None)
        return suppress_small_groups(out, "n_before", ["nps_before", "change", "p_value"], min_n, mark_count=mark_count, flag=None)
    if kind == "csat_index":
        return suppress_small_groups(table, "nsat_n", list(NSAT_SCORES), min_n)
    if kind == "funnel":
        return suppress_small_groups(table, "n", funnel_scores(table), min_n, mark_count=mark_count)
    raise ValueError(f"publishable: unknown kind {kind!r}")


FLAG_KEYS = (("below_998", BELOW_998), ("below_95", BELOW_95), ("above_95", ABOVE_95), ("above_998", ABOVE_998))


def flagged_partners(funnel: pd.DataFrame) -> dict[str, list[str]]:
    """The partner ids outside each funnel limit (``below_998``, ``below_95``, ``above_95``, ``above_998``),
    from the table :func:`nps_funnel` returns; the form the headline figures record them in."""
    return {key: funnel.loc[funnel["position"] == position, "partner_id"].tolist() for key, position in FLAG_KEYS}


# ------------------------------------------------------------------ Microsoft CSAT index
NSAT_LEVELS = ("very_satisfied", "somewhat_satisfied", "somewhat_dissatisfied", "very_dissatisfied")


def nsat_level(csat: pd.Series, mapping: dict) -> pd.Series:
    """Map 1-5 CSAT answers to the four satisfaction levels of Microsoft's NSAT.

    ``mapping`` (params ``nsat_mapping``, required) gives each answer its
    level; ``params/defaults.yaml`` treats 5 as very satisfied, 4 as somewhat
    satisfied, a neutral 3 as somewhat dissatisfied (Microsoft's four-point scale has no midpoint,
    so a customer who is not satisfied counts against) and 1-2 as very
    dissatisfied. Blank answers stay missing. Raises ValueError for a level
    name outside :data:`NSAT_LEVELS`.
    """
    mapping = {int(k): v for k, v in mapping.items()}
    bad = sorted(set(mapping.values()) - set(NSAT_LEVELS))
    if bad:
        raise ValueError(f"nsat_mapping: unknown level(s) {bad}; expected some of {list(NSAT_LEVELS)}")
    x = pd.to_numeric(pd.Series(csat), errors="coerce")
    return x.map(mapping).astype(pd.CategoricalDtype(list(NSAT_LEVELS), ordered=True))


def nsat_from_counts(very_satisfied: int, somewhat_satisfied: int, somewhat_dissatisfied: int, very_dissatisfied: int) -> float:
    """Microsoft's net satisfaction: ``NSAT = %VS − %DSAT + 100`` on 0-200.

    %VS is the share very satisfied, %DSAT the share in the bottom two of the
    four levels (somewhat or very dissatisfied). 100 means as many very
    satisfied as dissatisfied customers; 200 all very satisfied. Source:
    ``microsoft-csat-index.txt`` ("100% NSAT" quoted there is the share of
    satisfied answers some partners achieve). Edge case: no answer gives NaN.
    """
    n = very_satisfied + somewhat_satisfied + somewhat_dissatisfied + very_dissatisfied
    if n == 0:
        return float("nan")
    return 100 * (very_satisfied - somewhat_dissatisfied - very_dissatisfied) / n + 100


def counted_responses(responses: pd.DataFrame, max_per_organisation: int) -> pd.Series:
    """True for the answers that count toward a partner's CSAT index: at most ``max_per_organisation`` per customer.

    Microsoft counts no more than 8 responses from one customer
    organisation (``customer_id``) per partner; the earliest answers count
    (ordered by ``submitted_at``, then ``respondent_id``), later ones from
    the same organisation do not. Vectorised: a cumulative count per
    (partner, customer) after sorting.
    """
    keys = ["submitted_at", "respondent_id"] if "respondent_id" in responses else ["submitted_at"]
    order = responses.sort_values(keys, kind="stable")
    rank = order.groupby(["partner_id", "customer_id"], observed=True, sort=False).cumcount()
    return (rank < max_per_organisation).reindex(responses.index)


def csat_index(
    responses: pd.DataFrame,
    year: int,
    partner_ids: list[str] | None,
    mapping: dict,
    min_responses: int,
    max_per_organisation: int,
    as_of: pd.Timestamp | str | None = None,
    *,
    min_n: int,
) -> pd.DataFrame:
    """Microsoft's CSAT-index rules per partner for ``year``, as of a date.

    Rules (``microsoft-csat-index.txt``): a partner needs at least
    ``min_responses`` (10) customer responses in the year, counting no more
    than ``max_per_organisation`` (8) from one customer organisation
    (:func:`counted_responses`); NSAT (:func:`nsat_from_counts`) is computed
    on the counted answers with a CSAT answer, mapped by
    :func:`nsat_level`.

    ``as_of`` (default: the end of the month of the year's latest answer,
    survey exports being monthly, and at most 31 December) sets how much of
    the year has passed. Pace: ``counted / days elapsed``; ``projected``:
    the year total at that pace; ``projected_date``: when the partner
    reaches ``min_responses`` at that pace (NaT without any answer);
    ``needed``: answers still missing and ``needed_per_month`` over the
    months left. ``status``: "met" (counted ≥ min), "missed" (the year is
    over), "at risk" (projected short of the minimum, i.e. projected_date
    after 31 December) or "on track".

    Only answers submitted in ``year`` up to ``as_of`` are used. Partners
    in ``partner_ids`` without any answer appear with zero counts.

    ``nsat_n`` counts the answers behind the NSAT (counted, with a CSAT
    answer); a partner with fewer than ``min_n`` of them (params
    ``min_group_size``) has its NSAT and shares suppressed (NaN,
    ``suppressed`` True; :func:`cxreport.suppression.suppress_small_groups`):
    one answer's NSAT of 100 says that answer was 4. Its counts and
    status (the 10-response rule is about counts) are kept.

    Settings (no defaults here): ``mapping`` = ``nsat_mapping``,
    ``min_responses`` = ``csat_index_min_responses``,
    ``max_per_organisation`` = ``csat_index_max_per_organisation``,
    ``min_n`` = ``min_group_size``. Edge case: no answer in the year gives
    zero counts for every partner, no NSAT, and status "missed" once the
    year is over.
    """
    start, end = pd.Timestamp(year=year, month=1, day=1), pd.Timestamp(year=year, month=12, day=31)
    in_year = responses[responses["submitted_at"].dt.year == year]
    if as_of is None:
        latest = in_year["submitted_at"].max()
        as_of = end if pd.isna(latest) else min(latest + pd.offsets.MonthEnd(0), end)
    as_of = min(pd.Timestamp(as_of), end)
    r = in_year[in_year["submitted_at"] <= as_of].copy()
    r["counted"] = counted_responses(r, max_per_organisation)
    level = nsat_level(r["csat"], mapping)
    counted_levels = pd.crosstab(r["partner_id"].where(r["counted"]), level).reindex(columns=list(NSAT_LEVELS), fill_value=0)
    g = r.groupby("partner_id", observed=True)
    ids = sorted(r["partner_id"].unique()) if partner_ids is None else list(partner_ids)
    out = pd.DataFrame(index=pd.Index(ids, name="partner_id"))
    out["responses"] = g.size().reindex(ids, fill_value=0)
    out["organisations"] = g["customer_id"].nunique().reindex(ids, fill_value=0)
    out["counted"] = g["counted"].sum().reindex(ids, fill_value=0).astype(int)
    out["not_counted"] = out["responses"] - out["counted"]
    lv = counted_levels.reindex(ids, fill_value=0)
    n_lv = lv.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["very_satisfied_pct"] = np.where(n_lv > 0, 100 * lv["very_satisfied"] / n_lv, np.nan)
        out["dissatisfied_pct"] = np.where(n_lv > 0, 100 * (lv["somewhat_dissatisfied"] + lv["very_dissatisfied"]) / n_lv, np.nan)
    out["nsat"] = out["very_satisfied_pct"] - out["dissatisfied_pct"] + 100
    out["nsat_n"] = n_lv.astype(int)
    elapsed = (as_of - start).days + 1
    days_in_year = (end - start).days + 1
    closed = as_of >= end
    rate = out["counted"] / elapsed  # answers per day
    out["pace_per_month"] = rate * AVG_DAYS_PER_MONTH
    out["projected"] = rate * days_in_year
    days_to_min = np.ceil(min_responses / rate.where(rate > 0))
    out["projected_date"] = start + pd.to_timedelta(days_to_min - 1, unit="D")
    out["needed"] = (min_responses - out["counted"]).clip(lower=0)
    months_left = max((end - as_of).days, 0) / AVG_DAYS_PER_MONTH
    out["needed_per_month"] = out["needed"] / months_left if months_left > 0 else np.where(out["needed"] > 0, np.inf, 0.0)
    met = out["counted"] >= min_responses
    out["status"] = np.select([met, closed, out["projected"] < min_responses], ["met", "missed", "at risk"], "on track")
    out["as_of"] = as_of
    return suppress_small_groups(out.reset_index(), "nsat_n", list(NSAT_SCORES), min_n)


NSAT_SCORES = ("very_satisfied_pct", "dissatisfied_pct", "nsat")


def responses_by_month(responses: pd.DataFrame, year: int) -> pd.DataFrame:
    """Answers per calendar month of ``year`` (all twelve months), with share of the year (0-100) and quarter.

    Makes the fourth-quarter crunch visible: Microsoft's partners complained
    that the CSAT survey lands in October-December, when customers are also
    asked for renewal references.
    """
    months = responses.loc[responses["submitted_at"].dt.year == year, "submitted_at"].dt.month
    counts = months.value_counts().reindex(range(1, 13), fill_value=0)
    total = int(counts.sum())
    return pd.DataFrame(
        {
            "month": range(1, 13),
            "month_name": pd.to_datetime([f"{year}-{m:02d}-01" for m in range(1, 13)]).strftime("%b"),
            "quarter": [f"Q{(m - 1) // 3 + 1}" for m in range(1, 13)],
            "responses": counts.to_numpy(),
            "share_pct": 100 * counts.to_numpy() / total if total else np.nan,
        }
    )


def quarter_shares(by_month: pd.DataFrame) -> dict:
    """Share of the year's answers per quarter (0-100) from :func:`responses_by_month`."""
    q = by_month.groupby("quarter")["responses"].sum()
    total = q.sum()
    return {k: (100 * float(v) / total if total else float("nan")) for k, v in q.items()}


# ------------------------------------------------------------------ loading
PROGRAMME_FILES = ("partner_survey_responses.csv", "partners.csv", "usage.csv", "accounts.csv")


def load_programme(data_dir) -> dict[str, pd.DataFrame]:
    """Read the partner programme's input files that exist in ``data_dir``, validated and cross-checked.

    ``partner_survey_responses.csv`` goes through
    :func:`cxreport.inputs.load_partner_survey` (contact data dropped,
    comments redacted); the others through their contracts. Cross-file rules
    (:func:`cxreport.inputs.check_references`: partner ids unknown to
    ``partners.csv``, customers unknown to ``accounts.csv``) raise one
    :class:`cxreport.inputs.InputError` with one message per offending row.
    """
    from pathlib import Path

    from .inputs import CONTRACTS, InputError, check_references, load, load_partner_survey

    frames, problems = {}, []
    for name in PROGRAMME_FILES:
        path = Path(data_dir) / name
        if not path.is_file():
            continue
        try:
            frames[name] = load_partner_survey(path) if name == "partner_survey_responses.csv" else load(path, CONTRACTS[name])
        except InputError as exc:
            problems.extend(exc.messages)
    problems = problems or check_references(frames)
    if problems:
        raise InputError(problems)
    return frames

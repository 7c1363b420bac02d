"""Survey scores: CSAT, touchpoint satisfaction, Net Promoter Score and key drivers.

Conventions used throughout:

- Percentages are returned on a 0-100 scale, unrounded; rounding is for display.
- The NPS is returned on the -100..+100 scale, unrounded.
- Blank answers are missing values and are left out of every base (``n``).
- Breakdowns whose base is under ``min_n`` respondents are suppressed: their
  figures are NaN and ``suppressed`` is True, so a report can say so instead
  of printing unstable or identifying numbers.
"""

from __future__ import annotations

import itertools
from math import factorial
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from .stats import holm_adjust, mean_ci, two_sided_p, wilson_ci
from .suppression import suppress_small_groups

CSAT_SCALE = (1, 2, 3, 4, 5)
# Fallbacks for callers outside the reports (other modules' tests, scripts, the summary's
# from-data path). Reports never rely on them: ``cxreport.reports.survey_scores`` passes every
# setting from params/defaults.yaml (``min_group_size``, ``small_sample_threshold``,
# ``confidence``, ``nps_ci_method``) explicitly.
MAX_DRIVERS = 15  # key drivers: the Shapley decomposition visits all 2^k subsets of k touchpoints
FIRST_YEAR = "First-year users"
EXPERIENCED = "Experienced users"


# ---------------------------------------------------------------- CSAT
def csat_summary(csat: pd.Series, top_box: tuple[int, ...] = (4, 5), confidence: float = 0.95) -> dict:
    """Overall satisfaction on the 1-5 scale.

    Returns ``n``, ``mean`` with a Student-t interval (``ci_low``, ``ci_high``),
    ``distribution`` (count per scale point 1-5, zeros included),
    ``distribution_pct`` (share of n, 0-100), ``top2`` (count rating in
    ``top_box``, by default 4 or 5), ``top2_pct`` with a Wilson interval
    (``top2_ci_low``, ``top2_ci_high``, 0-100).

    Top-2-box is the share "satisfied or very satisfied", the figure the
    published 2020 partner survey quotes ("95% rated 4 or 5").

    Edge cases: blanks are not answers; with no answer n is 0 and the figures
    are NaN.
    """
    x = pd.to_numeric(pd.Series(csat), errors="coerce").dropna()
    est = mean_ci(x, confidence)
    counts = x.astype(int).value_counts().reindex(CSAT_SCALE, fill_value=0)
    n = est.n
    top2 = int(x.isin(top_box).sum())
    low, high = wilson_ci(top2, n, confidence)
    return {
        "n": n,
        "mean": est.mean,
        "sd": est.sd,
        "ci_low": est.ci_low,
        "ci_high": est.ci_high,
        "distribution": {int(k): int(v) for k, v in counts.items()},
        "distribution_pct": {int(k): (100 * v / n if n else np.nan) for k, v in counts.items()},
        "top2": top2,
        "top2_pct": 100 * top2 / n if n else np.nan,
        "top2_ci_low": 100 * low,
        "top2_ci_high": 100 * high,
    }


# ---------------------------------------------------------------- NPS
PROMOTER, PASSIVE, DETRACTOR = "Promoter", "Passive", "Detractor"
NPS_CATEGORIES = (PROMOTER, PASSIVE, DETRACTOR)


def nps_category(ltr: pd.Series) -> pd.Series:
    """Classify 0-10 likelihood-to-recommend answers.

    Promoters answer 9-10, passives 7-8, detractors 0-6 (Reichheld 2003,
    "The One Number You Need to Grow"). Blank answers stay missing (also
    when every answer is blank in a nullable integer column).
    Returns an ordered categorical (Promoter, Passive, Detractor).
    """
    x = pd.to_numeric(pd.Series(ltr), errors="coerce").astype("float64")  # nullable Int64 with NA: NaN, so the masks are plain booleans
    labels = np.select([x >= 9, x >= 7, x >= 0], [PROMOTER, PASSIVE, DETRACTOR], default="")
    out = pd.Series(labels, index=x.index).where(x.notna())
    return out.astype(pd.CategoricalDtype(list(NPS_CATEGORIES), ordered=True))


@dataclass(frozen=True)
class NpsResult:
    """An NPS with its counts, shares (0-100), score (-100..100) and interval."""

    n: int
    promoters: int
    passives: int
    detractors: int
    promoters_pct: float
    passives_pct: float
    detractors_pct: float
    score: float
    se: float
    ci_low: float
    ci_high: float
    method: str

    def as_dict(self) -> dict:
        return asdict(self)


def nps_from_counts(
    promoters: int, passives: int, detractors: int, confidence: float = 0.95, method: str = "auto"
) -> NpsResult:
    """Net Promoter Score and its confidence interval from category counts.

    Score: ``NPS = 100 · (P − D) / n``. Computed from the counts, not from
    rounded shares: 44 promoters and 4 detractors of 70 give 57.14, while the
    difference of the rounded shares (62.9 − 5.7) is 57.2.

    Interval: each answer is scored +1 (promoter), 0 (passive), −1
    (detractor); the NPS is their mean, with variance
    ``Var = (p_P + p_D − (p_P − p_D)²) / n`` and a normal interval
    ``NPS ± z · √Var`` (Rocks 2016, "Interval estimation for the 'Net
    Promoter Score'", The American Statistician 70(4); Lewis & Sauro,
    MeasuringU). ``method``:

    - ``"wald"``: the formula above on the raw counts.
    - ``"adjusted_wald"``: add 3/4 to promoters and to detractors and 3/2 to
      passives (n + 3) before applying it (Rocks 2016), which keeps coverage
      near the nominal level in small samples and near ±100.
    - ``"auto"`` (default): adjusted Wald under 30 answers, Wald otherwise.

    The interval is clipped to -100..100. Edge case: n = 0 gives NaN.
    """
    n = promoters + passives + detractors
    if n == 0:
        nan = float("nan")
        return NpsResult(0, 0, 0, 0, nan, nan, nan, nan, nan, nan, nan, method)
    if method == "auto":
        method = "adjusted_wald" if n < 30 else "wald"
    if method == "wald":
        p_p, p_d, n_eff = promoters / n, detractors / n, n
    elif method == "adjusted_wald":
        n_eff = n + 3
        p_p, p_d = (promoters + 0.75) / n_eff, (detractors + 0.75) / n_eff
    else:
        raise ValueError(f"unknown NPS interval method {method!r}; expected 'wald', 'adjusted_wald' or 'auto'")
    centre = p_p - p_d
    se = np.sqrt(max(p_p + p_d - centre**2, 0.0) / n_eff)
    z = sps.norm.ppf(0.5 + confidence / 2)
    score = 100 * (promoters - detractors) / n
    return NpsResult(
        n=n,
        promoters=promoters,
        passives=passives,
        detractors=detractors,
        promoters_pct=100 * promoters / n,
        passives_pct=100 * passives / n,
        detractors_pct=100 * detractors / n,
        score=score,
        se=100 * se,
        ci_low=max(-100.0, 100 * (centre - z * se)),
        ci_high=min(100.0, 100 * (centre + z * se)),
        method=method,
    )


def nps_summary(ltr: pd.Series, confidence: float = 0.95, method: str = "auto") -> NpsResult:
    """NPS of a series of 0-10 answers (blanks ignored); see :func:`nps_from_counts`."""
    counts = nps_category(ltr).value_counts()
    return nps_from_counts(int(counts[PROMOTER]), int(counts[PASSIVE]), int(counts[DETRACTOR]), confidence, method)


def nps_change(current: NpsResult, previous: NpsResult, alpha: float = 0.05) -> dict:
    """Change in NPS between two independent samples, with a z-test.

    ``z = (NPS₁ − NPS₀) / √(SE₁² + SE₀²)`` using each wave's standard error
    from :func:`nps_from_counts` (the −1/0/+1 variance; Rocks 2016, section
    on significance testing). Returns ``change`` (points), ``se``, ``z``,
    ``p_value`` (two-sided), ``ci_low``/``ci_high`` of the change, and
    ``significant`` (p < alpha).

    Assumes the two waves are independent samples; the same respondents
    answering twice makes the test conservative. Edge case: either wave
    empty gives NaN and ``significant`` False.
    """
    change = current.score - previous.score
    se = float(np.sqrt(current.se**2 + previous.se**2))
    z = change / se if se > 0 else np.nan
    p = two_sided_p(z)
    q = sps.norm.ppf(1 - alpha / 2)
    return {
        "change": change,
        "se": se,
        "z": z,
        "p_value": p,
        "ci_low": change - q * se,
        "ci_high": change + q * se,
        "significant": bool(np.isfinite(p) and p < alpha),
    }


def nps_by_group(
    ltr: pd.Series, groups: pd.Series, *, min_n: int, method: str, confidence: float
) -> pd.DataFrame:
    """NPS per group (e.g. per survey year), one row per group.

    Counts are taken in one vectorised crosstab; each group's score and
    interval come from :func:`nps_from_counts` at ``confidence``. Groups under
    ``min_n`` answers are suppressed (figures and category counts NaN,
    ``suppressed`` True), so a small group gives no answer away.
    """
    cat = nps_category(ltr)
    table = pd.crosstab(pd.Series(groups, index=cat.index), cat, dropna=True).reindex(columns=list(NPS_CATEGORIES), fill_value=0)
    rows = []
    for group, row in table.iterrows():  # one row per group, not per respondent
        res = nps_from_counts(int(row[PROMOTER]), int(row[PASSIVE]), int(row[DETRACTOR]), confidence, method).as_dict()
        res["group"] = group
        res["suppressed"] = res["n"] < min_n
        rows.append(res)
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    figures = [c for c in out.columns if c not in ("group", "n", "suppressed", "method")]
    return suppress_small_groups(out, "n", figures, min_n).set_index("group")


# ---------------------------------------------------------------- touchpoints
def touchpoint_columns(df: pd.DataFrame) -> list[str]:
    """The ``tp_<name>`` columns of a survey frame, in file order."""
    return [c for c in df.columns if c.startswith("tp_")]


def touchpoint_label(column: str, labels: dict | None = None) -> str:
    """Label of a touchpoint column: from ``labels`` (params) or made from its name.

    ``tp_first_use`` without a configured label becomes "First use".
    """
    labels = labels or {}
    key = column[3:] if column.startswith("tp_") else column
    if column in labels:
        return labels[column]
    if key in labels:
        return labels[key]
    return key.replace("_", " ").strip().capitalize()


def touchpoint_summary(
    df: pd.DataFrame,
    columns: list[str] | None = None,
    labels: dict | None = None,
    *,
    min_n: int,
    confidence: float,
    sort: bool = True,
) -> pd.DataFrame:
    """Satisfaction per touchpoint (1-5): n, mean with t-interval, top-2-box share.

    Blank means "not applicable" (e.g. the trial not used) and is left out of
    that touchpoint's base. Touchpoints under ``min_n`` answers are
    suppressed. Sorted by mean, best first, when ``sort``.
    """
    columns = columns if columns is not None else touchpoint_columns(df)
    rows = []
    for col in columns:  # one row per touchpoint
        est = mean_ci(df[col], confidence)
        answered = df[col].dropna()
        rows.append(
            {
                "touchpoint": col,
                "label": touchpoint_label(col, labels),
                "n": est.n,
                "mean": est.mean,
                "ci_low": est.ci_low,
                "ci_high": est.ci_high,
                "top2_pct": 100 * answered.isin((4, 5)).mean() if est.n else np.nan,
                "suppressed": est.n < min_n,
            }
        )
    out = pd.DataFrame(rows, columns=["touchpoint", "label", "n", "mean", "ci_low", "ci_high", "top2_pct", "suppressed"])
    out = suppress_small_groups(out, "n", ["mean", "ci_low", "ci_high", "top2_pct"], min_n)
    if sort:
        out = out.sort_values("mean", ascending=False, kind="stable")
    return out.reset_index(drop=True)


def tenure_segment(tenure_years: pd.Series) -> pd.Series:
    """First-year users (tenure under 1 year) versus experienced users.

    The published survey compares "first-year service users" with those who
    "have used the service for longer than one year". Missing tenure stays
    missing.
    """
    t = pd.to_numeric(pd.Series(tenure_years), errors="coerce")
    seg = pd.Series(np.where(t < 1, FIRST_YEAR, EXPERIENCED), index=t.index).where(t.notna())
    return seg.astype(pd.CategoricalDtype([FIRST_YEAR, EXPERIENCED], ordered=True))


def compare_segments(
    df: pd.DataFrame,
    segment: pd.Series,
    columns: list[str] | None = None,
    labels: dict | None = None,
    *,
    min_n: int,
    alpha: float,
) -> pd.DataFrame:
    """Compare two segments' ratings per touchpoint.

    For each touchpoint: n and mean in each segment, the difference
    (second − first), and a two-sided Mann-Whitney U test (the ratings are
    ordinal 1-5, so a rank test is appropriate; scipy ``mannwhitneyu``), with
    Holm-adjusted p-values across the touchpoints. ``significant`` uses the
    adjusted p-value.

    ``segment`` must have exactly two categories (its categories' order sets
    which is first). A touchpoint where either segment has under ``min_n``
    answers is suppressed: no means, no test.
    """
    seg = pd.Series(segment, index=df.index)
    cats = list(seg.cat.categories) if isinstance(seg.dtype, pd.CategoricalDtype) else sorted(seg.dropna().unique())
    if len(cats) != 2:
        raise ValueError(f"compare_segments needs exactly two segments, got {cats}")
    a, b = cats
    columns = columns if columns is not None else touchpoint_columns(df)
    rows = []
    for col in columns:  # one test per touchpoint
        xa = pd.to_numeric(df.loc[seg == a, col], errors="coerce").dropna()
        xb = pd.to_numeric(df.loc[seg == b, col], errors="coerce").dropna()
        suppressed = min(len(xa), len(xb)) < min_n
        p = np.nan
        if not suppressed and (xa.nunique() > 1 or xb.nunique() > 1 or xa.iloc[0] != xb.iloc[0]):
            p = float(sps.mannwhitneyu(xa, xb, alternative="two-sided").pvalue)
        rows.append(
            {
                "touchpoint": col,
                "label": touchpoint_label(col, labels),
                f"n_{a}": len(xa),
                f"mean_{a}": xa.mean(),
                f"n_{b}": len(xb),
                f"mean_{b}": xb.mean(),
                "difference": xb.mean() - xa.mean(),
                "p_value": p,
                "suppressed": suppressed,
            }
        )
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    figures = [f"mean_{a}", f"mean_{b}", "difference", "p_value"]
    out = suppress_small_groups(out, f"n_{a}", figures, min_n)  # either segment under min_n: no means, no test
    out = suppress_small_groups(out, f"n_{b}", figures, min_n)
    out["p_holm"] = holm_adjust(out["p_value"])
    out["significant"] = out["p_holm"] < alpha
    return out


# ---------------------------------------------------------------- key drivers
def shapley_r2(X: pd.DataFrame, y: pd.Series) -> pd.Series:
    """Relative importance of each predictor: its Shapley share of the OLS R².

    Also known as LMG (Lindeman, Merenda & Gold 1980; Grömping 2006, "Relative
    importance for linear regression in R: the package relaimpo"): each
    predictor's importance is its average gain in R² over all orders of
    entry. The importances add up to the full model's R², and unlike
    regression coefficients they stay meaningful when the predictors are
    correlated, as touchpoint ratings always are.

    The R² of every subset model (with intercept) comes from the correlation
    matrix, ``R²_S = r_yS' R_SS⁻¹ r_yS``, so the data is read once whatever
    its size; the 2^k subsets cost microseconds each. At most 15 predictors.
    """
    names = list(X.columns)
    k = len(names)
    if k > 15:
        raise ValueError(f"shapley_r2 handles at most 15 predictors, got {k}")
    corr = np.corrcoef(np.column_stack([X.to_numpy(dtype=float), y.to_numpy(dtype=float)]), rowvar=False)
    rxx, rxy = corr[:k, :k], corr[:k, k]
    r2 = {(): 0.0}
    for size in range(1, k + 1):
        for subset in itertools.combinations(range(k), size):
            idx = list(subset)
            coef = np.linalg.lstsq(rxx[np.ix_(idx, idx)], rxy[idx], rcond=None)[0]
            r2[subset] = float(rxy[idx] @ coef)
    importance = np.zeros(k)
    for subset, value in r2.items():
        s = len(subset)
        weight = factorial(s) * factorial(k - s - 1) / factorial(k) if s < k else 0.0
        for j in range(k):
            if j not in subset:
                importance[j] += weight * (r2[tuple(sorted(subset + (j,)))] - value)
    return pd.Series(importance, index=names)


def key_drivers(
    df: pd.DataFrame,
    outcome: str,
    drivers: list[str] | None = None,
    labels: dict | None = None,
    min_complete: int = 30,
    confidence: float = 0.95,
    min_n: int = 5,
) -> tuple[pd.DataFrame, dict]:
    """Which touchpoints move the outcome (overall CSAT or likelihood to recommend).

    For each driver, on the respondents who answered the outcome and every
    driver (complete cases; "not applicable" answers are left out):

    - ``importance``: Shapley share of R² (:func:`shapley_r2`), and
      ``importance_pct``, its share of the explained variance (0-100);
    - ``r``: Pearson correlation with the outcome, a Fisher-z interval
      (``r_ci_low``, ``r_ci_high``) and its p-value;
    - ``performance``: the driver's mean rating (all who answered it).

    Returns the table (most important first) and a summary dict with ``n``
    (complete cases), ``r2`` and ``caveat``: a plain-words warning when the
    complete sample is under ``min_complete`` or under 10 respondents per
    driver, where importances are indicative only.

    Edge cases: no table (and a ``caveat`` saying why) when there are fewer
    complete answers than ``max(min_n, drivers + 2, 5)`` (``min_n`` is the
    report's ``min_group_size``: fewer answers would show a group's ratings),
    when no driver varies, when the outcome does not vary, or when there are
    more than :data:`MAX_DRIVERS` drivers (2^k subset models).
    """
    drivers = drivers if drivers is not None else touchpoint_columns(df)
    data = df[[outcome, *drivers]].apply(pd.to_numeric, errors="coerce").dropna()
    n = len(data)
    # A constant column adds nothing and breaks correlations: leave it out.
    usable = [d for d in drivers if data[d].nunique() > 1]
    summary = {"n": n, "r2": np.nan, "caveat": None, "outcome": outcome}
    empty = pd.DataFrame(columns=["touchpoint", "label", "importance", "importance_pct", "r", "r_ci_low", "r_ci_high",
                                  "p_value", "performance"])
    if len(usable) > MAX_DRIVERS:
        summary["caveat"] = (f"Key drivers are estimated for at most {MAX_DRIVERS} touchpoints; "
                             f"this survey rates {len(usable)}.")
        return empty, summary
    if n < max(len(usable) + 2, 5, int(min_n)) or not usable:
        summary["caveat"] = (f"Too few partners rated every touchpoint ({n}) to estimate which touchpoints "
                             "drive overall satisfaction.")
        return empty, summary
    if data[outcome].nunique() < 2:
        summary["caveat"] = ("Every partner who rated all touchpoints gave the same overall rating, so there is no "
                             "variation for the touchpoints to explain.")
        return empty, summary
    imp = shapley_r2(data[usable], data[outcome])
    total = float(imp.sum())
    z = sps.norm.ppf(0.5 + confidence / 2)
    rows = []
    for d in usable:
        r, p = sps.pearsonr(data[d], data[outcome])
        fz, se = np.arctanh(np.clip(r, -0.999999, 0.999999)), 1 / np.sqrt(n - 3) if n > 3 else np.nan
        rows.append(
            {
                "touchpoint": d,
                "label": touchpoint_label(d, labels),
                "importance": imp[d],
                "importance_pct": 100 * imp[d] / total if total > 0 else np.nan,
                "r": float(r),
                "r_ci_low": float(np.tanh(fz - z * se)),
                "r_ci_high": float(np.tanh(fz + z * se)),
                "p_value": float(p),
                "performance": float(pd.to_numeric(df[d], errors="coerce").mean()),
            }
        )
    table = pd.DataFrame(rows).sort_values("importance", ascending=False).reset_index(drop=True)
    summary["r2"] = total
    if n < min_complete or n < 10 * len(usable):
        summary["caveat"] = (
            f"Based on {n} respondents who rated every touchpoint; with {len(usable)} touchpoints this is a small "
            "sample, so read the ranking as indicative: neighbouring drivers may swap places in another sample."
        )
    return table, summary


# ---------------------------------------------------------------- small samples
def small_sample_warning(n: int, threshold: int) -> str | None:
    """A plain-words warning when a headline score rests on fewer than ``threshold`` answers.

    ``threshold`` is the report's ``small_sample_threshold`` parameter (params
    default 10); breakdowns use the stricter rule of
    :func:`cxreport.suppression.suppress_small_groups` (``min_group_size``).
    """
    if n < int(threshold):
        return (
            f"Only {n} response{'s' if n != 1 else ''}: this score is too unstable to compare "
            "or act on; collect more answers before drawing conclusions."
        )
    return None


# ---------------------------------------------------------------- headline figures
def comparable_waves(current_n: int, previous_n: int, min_n: int) -> bool:
    """Whether two waves' NPS may be compared: both have at least ``min_n`` answers.

    ``min_n`` is the report's ``min_group_size``: a wave with fewer answers is
    a small group (its score would give answers away and is too unstable to
    test), so it gets no comparison rather than a misleading one.
    """
    return int(previous_n) >= int(min_n) and int(current_n) >= int(min_n)


def headline_base(csat_n: int, nps_n: int) -> int:
    """The answers the headline scores rest on, for the small-sample warning: the smaller base of a score that exists.

    A question nobody answered has no score to warn about, so a base of 0
    counts only when both are 0.
    """
    bases = [int(b) for b in (csat_n, nps_n) if int(b) > 0]
    return min(bases) if bases else 0


def survey_headline(
    responses: pd.DataFrame,
    year: int,
    previous_year: int | None = None,
    *,
    confidence: float,
    nps_method: str,
    min_n: int,
    small_sample_threshold: int,
) -> dict:
    """The survey's headline figures for ``metrics.json`` and the report's summary.

    ``n`` counts the year's respondents; each score's own base is in its
    section (a respondent may skip a question). The year-over-year NPS change
    and its z-test (:func:`nps_change`) are given when the previous year
    (default ``year - 1``) has at least ``min_n`` answers; otherwise
    ``previous``, ``change`` and ``change_significant`` are None.
    ``warning`` is :func:`small_sample_warning` of the smaller of the CSAT
    and NPS bases against ``small_sample_threshold`` (params, default 10).
    Percentages are 0-100; nothing is rounded here.

    Besides the published figures it carries the raw numbers a later
    comparison needs, so no one back-solves them from rounded shares or
    intervals: ``csat.sd`` and ``csat.top2_count``; ``nps.promoters``,
    ``passives``, ``detractors`` (counts) and ``se``; for the previous wave,
    when it is compared, ``previous_promoters``/``previous_passives``/
    ``previous_detractors`` and ``previous_se``; and ``change_se``.
    A figure that cannot be computed is NaN here (None in ``metrics.json``).
    """
    previous_year = year - 1 if previous_year is None else previous_year
    current = responses[responses["survey_year"] == year]
    before = responses[responses["survey_year"] == previous_year]
    csat = csat_summary(current["csat"], confidence=confidence)
    nps = nps_summary(current["nps"], confidence, nps_method)
    prev = nps_summary(before["nps"], confidence, nps_method) if len(before) else None
    comparable = prev is not None and comparable_waves(nps.n, prev.n, min_n)
    change = nps_change(nps, prev, alpha=1 - confidence) if comparable else None
    shown_prev = prev if comparable else None  # a previous wave under min_n shows no counts either
    return {
        "year": int(year),
        "n": int(len(current)),
        "csat": {
            "n": csat["n"],
            "mean": csat["mean"],
            "sd": csat["sd"],
            "ci95": [csat["ci_low"], csat["ci_high"]],
            "top2_count": csat["top2"],
            "top2_pct": csat["top2_pct"],
            "top2_ci95": [csat["top2_ci_low"], csat["top2_ci_high"]],
        },
        "nps": {
            "n": nps.n,
            "promoters": nps.promoters,
            "passives": nps.passives,
            "detractors": nps.detractors,
            "score": nps.score,
            "se": nps.se,
            "promoters_pct": nps.promoters_pct,
            "passives_pct": nps.passives_pct,
            "detractors_pct": nps.detractors_pct,
            "ci95": [nps.ci_low, nps.ci_high],
            "ci_method": nps.method,
            "previous_year": int(previous_year),
            "previous": shown_prev.score if shown_prev else None,
            "previous_n": prev.n if prev is not None else 0,
            "previous_promoters": shown_prev.promoters if shown_prev else None,
            "previous_passives": shown_prev.passives if shown_prev else None,
            "previous_detractors": shown_prev.detractors if shown_prev else None,
            "previous_se": shown_prev.se if shown_prev else None,
            "change": change["change"] if change else None,
            "change_se": change["se"] if change else None,
            "change_p_value": change["p_value"] if change else None,
            "change_significant": change["significant"] if change else None,
        },
        "warning": small_sample_warning(headline_base(csat["n"], nps.n), small_sample_threshold),
    }


def nps_from_rounded_shares(result: NpsResult, digits: int = 1) -> float:
    """The NPS a reader gets by subtracting the *rounded* shares (as many published reports do).

    Example: 62.9% − 5.7% = 57.2, while the counts (44 − 4) / 70 give 57.14.
    Shown in method notes to explain a published figure; never used as the score.
    """
    return round(round(result.promoters_pct, digits) - round(result.detractors_pct, digits), digits)


def describe_change(change: dict | None, unit: str = "points", digits: int = 1, confidence: float = 0.95) -> str:
    """Plain words for a year-over-year change and its test, e.g.
    "up 3.0 points (95% CI −17.8 to +23.9); not statistically significant (p = 0.78)".

    A change whose test is undefined (both waves without spread, so a zero
    standard error) says so instead of printing a p-value.
    """
    if not change:
        return "no comparison: the previous year has too few answers"
    direction = "up" if change["change"] > 0 else "down" if change["change"] < 0 else "unchanged at"
    p = change.get("p_value")
    if p is None or not np.isfinite(p):
        return (f"{direction} {abs(change['change']):.{digits}f} {unit}; no test is possible, since neither "
                "wave's answers vary")
    verdict = "statistically significant" if change["significant"] else "not statistically significant"
    return (
        f"{direction} {abs(change['change']):.{digits}f} {unit} "
        f"({confidence:.0%} CI {change['ci_low']:+.{digits}f} to {change['ci_high']:+.{digits}f}); "
        f"{verdict} (p = {p:.2f})"
    )


def survey_metrics(headline: dict) -> dict:
    """The ``survey`` section of ``metrics.json`` from :func:`survey_headline`.

    Percentages (and the percentage intervals) carry one decimal; scores,
    means, standard deviations and errors, counts and the NPS change are kept
    as computed (rounding is for display); p-values keep four decimals.
    """
    def r1(x):
        return None if x is None or not np.isfinite(x) else round(float(x), 1)

    def r4(x):
        return None if x is None or not np.isfinite(x) else round(float(x), 4)

    csat, nps = headline["csat"], headline["nps"]
    return {
        "year": headline["year"],
        "n": headline["n"],
        "warning": headline["warning"],
        "csat": {
            "n": csat["n"],
            "mean": csat["mean"],
            "sd": csat["sd"],
            "ci95": csat["ci95"],
            "top2_count": csat["top2_count"],
            "top2_pct": r1(csat["top2_pct"]),
            "top2_ci95": [r1(v) for v in csat["top2_ci95"]],
        },
        "nps": {
            "n": nps["n"],
            "promoters": nps["promoters"],
            "passives": nps["passives"],
            "detractors": nps["detractors"],
            "score": nps["score"],
            "se": nps["se"],
            "promoters_pct": r1(nps["promoters_pct"]),
            "passives_pct": r1(nps["passives_pct"]),
            "detractors_pct": r1(nps["detractors_pct"]),
            "ci95": nps["ci95"],
            "ci_method": nps["ci_method"],
            "previous_year": nps["previous_year"],
            "previous": nps["previous"],
            "previous_n": nps["previous_n"],
            "previous_promoters": nps["previous_promoters"],
            "previous_passives": nps["previous_passives"],
            "previous_detractors": nps["previous_detractors"],
            "previous_se": nps["previous_se"],
            "change": nps["change"],
            "change_se": nps["change_se"],
            "change_p_value": r4(nps["change_p_value"]),
            "change_significant": nps["change_significant"],
        },
    }

"""Generic interval estimates and tests used by every report.

Each function is pure: it takes counts or a series and returns plain numbers,
so the figures in a report can be checked by hand.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps
from statsmodels.stats.proportion import proportion_confint


@dataclass(frozen=True)
class MeanEstimate:
    """A mean with its sample size and a two-sided confidence interval."""

    n: int
    mean: float
    sd: float
    ci_low: float
    ci_high: float

    def as_dict(self) -> dict:
        return asdict(self)


def finite_or_none(x, *, bools: bool = True) -> float | None:
    """``x`` as a finite float, or None when it is missing (None, NaN, pd.NA, infinite or not a number).

    The one test of "is this figure known" for code that reads figures back
    (formatting, the summary's comparisons). ``bools=False`` also treats
    True/False as not a figure (a flag stored beside the numbers).
    """
    if x is None or (not bools and isinstance(x, (bool, np.bool_))):
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


def mean_ci(values: pd.Series, confidence: float = 0.95) -> MeanEstimate:
    """Mean of the non-missing values with a Student-t confidence interval.

    Formula: ``mean ± t(1-α/2, n-1) · s / √n`` with ``s`` the sample standard
    deviation (ddof=1).

    Edge cases: missing values are ignored; with no value every field is NaN
    and n is 0; with one value the interval is NaN (no spread to estimate).
    """
    x = pd.to_numeric(pd.Series(values), errors="coerce").dropna().astype(float)
    n = int(x.size)
    if n == 0:
        return MeanEstimate(0, np.nan, np.nan, np.nan, np.nan)
    mean = float(x.mean())
    if n == 1:
        return MeanEstimate(1, mean, np.nan, np.nan, np.nan)
    sd = float(x.std(ddof=1))
    half = float(sps.t.ppf(0.5 + confidence / 2, n - 1)) * sd / np.sqrt(n)
    return MeanEstimate(n, mean, sd, mean - half, mean + half)


def wilson_ci(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion, as fractions 0-1.

    Source: Wilson (1927); computed by statsmodels ``proportion_confint``
    (method ``"wilson"``). Preferred over the Wald interval because it stays
    inside 0-1 and keeps its coverage near 0% and 100%, where satisfaction
    shares usually sit.

    Edge case: n = 0 gives (NaN, NaN).
    """
    if n <= 0:
        return (np.nan, np.nan)
    low, high = proportion_confint(successes, n, alpha=1 - confidence, method="wilson")
    return (float(low), float(high))


def holm_adjust(p_values: pd.Series) -> pd.Series:
    """Holm-Bonferroni adjusted p-values (statsmodels ``multipletests``).

    Used when one table tests many things at once (a test per touchpoint), so
    that "significant" keeps its meaning across the table. Missing p-values
    stay missing.
    """
    from statsmodels.stats.multitest import multipletests

    p = pd.Series(p_values, dtype=float)
    out = pd.Series(np.nan, index=p.index, dtype=float)
    mask = p.notna()
    if mask.any():
        out[mask] = multipletests(p[mask].to_numpy(), method="holm")[1]
    return out


def two_sided_p(z: float) -> float:
    """Two-sided p-value of a standard-normal test statistic."""
    if not np.isfinite(z):
        return np.nan
    return float(2 * sps.norm.sf(abs(z)))

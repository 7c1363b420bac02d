"""Cloud-maturity segmentation: where each customer stands on IDC's Cloud MaturityScape.

Source: the "Understand the Cloud Buyer" part of Microsoft's *Deliver Customer
Lifetime Value* e-book (``shared/reference/customer-lifetime-value-ebook.txt``),
which describes IDC's five stages of cloud maturity, the share of customers at
each (23/24/16/28/9%), what partners can offer at each stage, and that 45% of
customers expect to be "Optimized" two years later.

IDC does not publish the dimensions behind its stages, so the **dimension
rubric is ours**: an account team scores a customer 1-5 on each dimension
(``m_<dimension>`` columns of ``maturity_assessments.csv``: the stage the
customer matches on that dimension), and a params-configurable rule
(:func:`assign_stage`) turns the dimension scores into one stage.

Conventions, as in :mod:`cxreport.survey`:

- Stages are integers 1-5; their names, the IDC benchmark share and the next
  play of each come from the ``maturity_stages`` parameter (:func:`stage_table`).
- Percentages are 0-100 and unrounded; rounding is for display and metrics.json.
- Breakdowns under ``min_n`` customers are suppressed (figures NaN,
  ``suppressed`` True).
- Everything is vectorised: loops only run over stages, dimensions or segments.

The public entry point other reports use is :func:`customer_stages`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

from .stats import mean_ci, wilson_ci
from .suppression import suppress_small_groups

PREFIX = "m_"
STAGES = (1, 2, 3, 4, 5)
UP, SAME, DOWN, NEW = "Moved up", "Stayed", "Moved down", "First assessment"
MOVEMENTS = (UP, SAME, DOWN)
RUBRIC_METHODS = ("weighted_mean", "floor", "weakest")

# IDC: "45% of customers expect to be Optimized two years from now" (the e-book's Cloud MaturityScape page).
# A published benchmark, not a setting: it is what the report compares the customers' own targets with.
IDC_EXPECT_OPTIMIZED_PCT = 45.0


def _plain(value):
    """A settings value as plain data: pydantic models (``cxreport.settings``) become dicts, recursively."""
    if hasattr(value, "model_dump"):
        return value.model_dump()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _required(value, name: str):
    if value is None:
        raise ValueError(f"{name} is required: pass the {name} setting (params/defaults.yaml is the only place defaults live)")
    return _plain(value)


def rubric_settings(rubric) -> dict:
    """The ``maturity_rubric`` setting as a dict with ``method``, ``thresholds`` and ``min_dimensions`` (all required)."""
    rubric = _required(rubric, "maturity_rubric")
    missing = [k for k in ("method", "thresholds", "min_dimensions") if k not in rubric]
    if missing:
        raise ValueError(f"maturity_rubric needs {', '.join(missing)} (see params/defaults.yaml)")
    return rubric


def effective_min_dimensions(rubric: dict, columns: list[str]) -> int:
    """How many scored dimensions place a customer: ``min_dimensions``, but never more than the file's ``m_*`` columns.

    A file that scores fewer dimensions than the rubric asks for (one
    ``m_`` column, while ``min_dimensions`` is 3) would otherwise place no
    one; the contract allows it ("at least one" dimension), so a customer
    scored on every dimension the file has is placed.
    """
    return max(1, min(int(rubric_settings(rubric)["min_dimensions"]), len(columns)))


# ---------------------------------------------------------------- settings
def stage_table(stages: dict) -> pd.DataFrame:
    """The five stages from the ``maturity_stages`` parameter, indexed 1-5.

    ``stages`` maps each stage name, in order from 1 to 5, to ``idc_pct``
    (IDC's share of customers at the stage, %) and ``next_play`` (the partner
    actions to run with a customer at that stage). Returns columns ``name``,
    ``idc_pct``, ``benchmark`` (the IDC shares rescaled to sum to 1, so
    shares that were rounded to whole percents still form a distribution) and
    ``next_play``.

    Raises ValueError with a plain message when there are not exactly five
    stages or a share is missing or negative.
    """
    stages = _required(stages, "maturity_stages")
    if len(stages) != len(STAGES):
        raise ValueError(f"maturity_stages must name exactly 5 stages (1 to 5, in order); got {len(stages)}: {', '.join(stages)}")
    rows = []
    for name, spec in stages.items():  # five stages
        spec = spec or {}
        pct = spec.get("idc_pct")
        if pct is None or not np.isfinite(float(pct)) or float(pct) < 0:
            raise ValueError(f"maturity_stages: stage {name!r} needs idc_pct, a share >= 0 (got {pct!r})")
        rows.append({"name": str(name), "idc_pct": float(pct), "next_play": str(spec.get("next_play") or "")})
    out = pd.DataFrame(rows, index=pd.Index(STAGES, name="stage"))
    total = out["idc_pct"].sum()
    if total <= 0:
        raise ValueError("maturity_stages: the idc_pct shares add up to 0")
    out["benchmark"] = out["idc_pct"] / total
    return out


def dimension_columns(df: pd.DataFrame) -> list[str]:
    """The ``m_<dimension>`` columns of an assessments frame, in file order."""
    return [c for c in df.columns if c.startswith(PREFIX) and len(c) > len(PREFIX)]


def dimension_table(columns: list[str], dimensions: dict) -> pd.DataFrame:
    """Label and weight of each dimension column, indexed by column (``m_people``).

    ``dimensions`` (the ``maturity_dimensions`` parameter) maps a dimension key
    (``people``, or the full column name) to ``label`` and ``weight``. A column
    without settings gets a label made from its name ("m_data_platform" →
    "Data platform") and weight 1. ``configured`` tells which had settings.

    Raises ValueError for a negative weight or when every weight is 0.
    """
    dimensions = _required(dimensions, "maturity_dimensions")
    rows = []
    for col in columns:  # one per dimension
        key = col[len(PREFIX):]
        spec = dimensions.get(col, dimensions.get(key))
        label = (spec or {}).get("label") or key.replace("_", " ").strip().capitalize()
        weight = float((spec or {}).get("weight", 1.0))
        if not np.isfinite(weight) or weight < 0:
            raise ValueError(f"maturity_dimensions: weight of {key!r} must be a number >= 0, got {weight!r}")
        rows.append({"column": col, "key": key, "label": label, "weight": weight, "configured": spec is not None})
    out = pd.DataFrame(rows, columns=["column", "key", "label", "weight", "configured"]).set_index("column")
    if out["label"].duplicated().any():
        raise ValueError(f"maturity_dimensions: two dimensions share the label {out.loc[out['label'].duplicated(), 'label'].iloc[0]!r}")
    if len(out) and out["weight"].sum() <= 0:
        raise ValueError("maturity_dimensions: every weight is 0; at least one dimension must count")
    return out


# ---------------------------------------------------------------- the rubric
def weighted_mean_score(scores: pd.DataFrame, weights: pd.Series) -> pd.Series:
    """Weighted mean of each row's assessed dimension scores.

    ``score = Σ w_d · x_d / Σ w_d`` over the dimensions scored in that row: a
    blank (not assessed) dimension drops out and the remaining weights are
    renormalised. A row with no assessed dimension of positive weight is NaN.
    """
    x = scores.apply(pd.to_numeric, errors="coerce").astype(float).to_numpy()
    w = np.broadcast_to(weights.reindex(scores.columns).fillna(0).to_numpy(dtype=float), x.shape)
    present = ~np.isnan(x)
    num = np.where(present, x * w, 0.0).sum(axis=1)
    den = np.where(present, w, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.Series(np.where(den > 0, num / den, np.nan), index=scores.index)


def assign_stage(
    scores: pd.DataFrame,
    weights: pd.Series | None,
    method: str,
    thresholds: list[float] | tuple[float, ...] | None,
    min_dimensions: int,
) -> pd.DataFrame:
    """Turn dimension scores (1-5, blank = not assessed) into one stage per row.

    ``scores`` has one column per dimension; ``weights`` (indexed like its
    columns; None = equal) weight the dimensions. ``method``, ``thresholds``
    and ``min_dimensions`` are the ``maturity_rubric`` setting. Rules (``method``):

    - ``"weighted_mean"``: ``stage = 1 + #{t in thresholds : score >= t}``
      with ``score`` the weighted mean (:func:`weighted_mean_score`). The four
      ascending ``thresholds`` are where stages 2, 3, 4 and 5 begin;
      1.5/2.5/3.5/4.5 (params/defaults.yaml) gives the nearest stage (a mean of 2.5 is stage 3).
    - ``"floor"``: ``stage = ⌊score⌋``: a stage is credited only once the
      weighted mean has fully reached it (3.9 is still stage 3). Thresholds are
      not used.
    - ``"weakest"``: ``stage = min_d x_d``, the weakest assessed dimension
      ("a chain is as strong as its weakest link"). Weights and thresholds are
      not used, except that a dimension of weight 0 does not count.

    A row with fewer than ``min_dimensions`` assessed dimensions gets no stage
    (NA): too little is known to place the customer. Returns columns
    ``score`` (the weighted mean, whatever the method), ``n_dimensions`` and
    ``stage`` (nullable Int64, 1-5).
    """
    if method not in RUBRIC_METHODS:
        raise ValueError(f"unknown maturity rubric method {method!r}; expected one of {', '.join(RUBRIC_METHODS)}")
    thresholds = np.asarray(list(thresholds or ()), dtype=float)
    if method == "weighted_mean" and (thresholds.size != 4 or np.any(np.diff(thresholds) <= 0)):
        raise ValueError(f"maturity rubric thresholds must be 4 ascending numbers (where stages 2-5 begin); got {list(thresholds)}")
    weights = pd.Series(1.0, index=scores.columns) if weights is None else pd.Series(weights, dtype=float).reindex(scores.columns).fillna(0.0)
    counted = scores.loc[:, weights[weights > 0].index].apply(pd.to_numeric, errors="coerce").astype(float)
    score = weighted_mean_score(counted, weights)
    n_dims = counted.notna().sum(axis=1)
    if method == "weighted_mean":
        raw = 1 + (score.to_numpy()[:, None] >= thresholds[None, :]).sum(axis=1)
    elif method == "floor":
        raw = np.floor(score.to_numpy() + 1e-9)
    else:
        raw = counted.min(axis=1).to_numpy()
    raw = np.where(score.notna() & (n_dims >= max(min_dimensions, 1)), np.clip(raw, 1, 5), np.nan)
    return pd.DataFrame({"score": score, "n_dimensions": n_dims.astype(int), "stage": pd.array(raw, dtype="Float64").astype("Int64")}, index=scores.index)


def weakest_dimension(scores: pd.DataFrame, weights: pd.Series | None = None) -> pd.DataFrame:
    """Each row's weakest assessed dimension: the column with the lowest score.

    Ties go to the dimension with the larger weight (it holds the stage back
    more), then to the one listed first. Dimensions of weight 0 and blanks are
    ignored. Returns ``weakest`` (column name, NA when nothing was assessed)
    and ``weakest_score``.
    """
    weights = pd.Series(1.0, index=scores.columns) if weights is None else pd.Series(weights, dtype=float).reindex(scores.columns).fillna(0.0)
    order = weights[weights > 0].sort_values(ascending=False, kind="stable").index
    x = scores.loc[:, order].apply(pd.to_numeric, errors="coerce").astype(float)
    values = x.to_numpy()
    has = ~np.isnan(values).all(axis=1) if values.size else np.zeros(len(x), dtype=bool)
    filled = np.where(np.isnan(values), np.inf, values)
    idx = filled.argmin(axis=1) if values.size else np.zeros(len(x), dtype=int)
    names = np.asarray(order, dtype=object)[idx] if len(order) else np.full(len(x), None, dtype=object)
    return pd.DataFrame(
        {
            "weakest": pd.Series(np.where(has, names, None), index=x.index, dtype="string"),
            "weakest_score": pd.Series(np.where(has, filled[np.arange(len(x)), idx] if values.size else np.nan, np.nan), index=x.index),
        }
    )


# ---------------------------------------------------------------- which assessment counts
def latest_in_year(assessments: pd.DataFrame, year: int) -> pd.DataFrame:
    """Each customer's latest assessment dated in ``year`` (one row per customer_id).

    Earlier assessments of the same year are superseded; assessments of other
    years are ignored. Sorted by customer_id.
    """
    dated = assessments[assessments["assessed_on"].dt.year == int(year)]
    latest = dated.sort_values(["customer_id", "assessed_on"], kind="stable").drop_duplicates("customer_id", keep="last")
    return latest.reset_index(drop=True)


def customer_stages(
    assessments: pd.DataFrame,
    year: int,
    dimensions: dict,
    rubric: dict,
    stages: dict,
    keep_unstaged: bool = False,
) -> pd.DataFrame:
    """The maturity stage of every customer assessed in ``year``: one row per ``customer_id``.

    This is the function other reports call (the CLV and churn report splits
    churn and lifetime value by stage with it)::

        stages = maturity.customer_stages(assessments, 2020, maturity_dimensions, maturity_rubric, maturity_stages)
        stages[["customer_id", "stage", "stage_name"]]

    - ``assessments``: ``maturity_assessments.csv`` as loaded by
      :func:`cxreport.inputs.load` with the ``MATURITY`` contract (typed:
      ``assessed_on`` datetime, ``m_*`` Int64, optional ``target_stage``).
    - The assessment that counts is the customer's **latest one dated in
      ``year``** (:func:`latest_in_year`).
    - ``dimensions``, ``rubric``, ``stages``: the ``maturity_dimensions``,
      ``maturity_rubric`` (``method``, ``thresholds``, ``min_dimensions``) and
      ``maturity_stages`` settings (dicts, or the :class:`cxreport.settings.Settings`
      fields as they are), all required. The rule is :func:`assign_stage`.

    Columns: ``customer_id``, ``assessed_on``, ``stage`` (int 1-5),
    ``stage_name``, ``score`` (weighted mean of the dimensions),
    ``n_dimensions`` (how many were assessed), ``weakest`` (column of the
    weakest dimension), ``weakest_label``, ``weakest_score``, the ``m_*``
    dimension scores, ``target_stage`` (Int64, NA when not given) and
    ``gap_to_target`` (target − stage; NA without a target).

    A customer whose latest assessment has fewer than ``min_dimensions``
    assessed dimensions (at most the number of ``m_*`` columns the file has,
    :func:`effective_min_dimensions`) has no stage and is left out, unless
    ``keep_unstaged`` (then ``stage`` is NA; the report counts them).
    A year without assessments gives an empty frame with these columns.
    """
    rubric = rubric_settings(rubric)
    table = stage_table(stages)
    latest = latest_in_year(assessments, year)
    cols = dimension_columns(assessments)
    dims = dimension_table(cols, dimensions)
    placed = assign_stage(latest[cols], dims["weight"], rubric["method"], rubric["thresholds"], effective_min_dimensions(rubric, cols))
    weak = weakest_dimension(latest[cols], dims["weight"])
    out = pd.DataFrame({"customer_id": latest["customer_id"], "assessed_on": latest["assessed_on"]})
    out["stage"] = placed["stage"]
    out["stage_name"] = out["stage"].map(table["name"]).astype("string")
    out["score"] = placed["score"]
    out["n_dimensions"] = placed["n_dimensions"]
    out["weakest"] = weak["weakest"]
    out["weakest_label"] = weak["weakest"].map(dims["label"]).astype("string")
    out["weakest_score"] = weak["weakest_score"]
    for c in cols:
        out[c] = latest[c]
    target = latest["target_stage"] if "target_stage" in latest else pd.Series(pd.NA, index=latest.index, dtype="Int64")
    out["target_stage"] = target.astype("Int64")
    out["gap_to_target"] = (out["target_stage"] - out["stage"]).astype("Int64")
    if not keep_unstaged:
        out = out[out["stage"].notna()].reset_index(drop=True)
    return out


# ---------------------------------------------------------------- distribution vs IDC
def stage_counts(stage: pd.Series) -> pd.Series:
    """Customers per stage 1-5, zeros included (missing stages ignored)."""
    s = pd.to_numeric(pd.Series(stage), errors="coerce").dropna().astype(int)
    return s.value_counts().reindex(STAGES, fill_value=0).rename("n").rename_axis("stage")


def goodness_of_fit(counts: pd.Series, benchmark: pd.Series, alpha: float = 0.05) -> dict:
    """Pearson chi-square goodness-of-fit test of observed stage counts against benchmark shares.

    ``χ² = Σ (O_k − E_k)² / E_k`` with ``E_k = n · p_k`` (``p_k`` the
    benchmark shares, rescaled to sum to 1), ``k − 1 = 4`` degrees of freedom
    (scipy ``chisquare``; Pearson 1900). Returns ``n``, ``statistic``,
    ``df``, ``p_value``, ``significant`` (p < alpha), ``min_expected`` and
    ``small_expected`` with a ``note`` when an expected count is under 5: the
    chi-square approximation is then unreliable (Cochran 1954), so the
    p-value is only indicative. Stages whose benchmark share is 0 and that
    have no customers are left out of the test (they carry no information).

    Edge case: n = 0 gives NaN statistic and p-value and ``significant`` False.
    """
    obs = pd.Series(counts, dtype=float).reindex(STAGES, fill_value=0)
    p = pd.Series(benchmark, dtype=float).reindex(STAGES, fill_value=0)
    p = p / p.sum()
    n = int(obs.sum())
    exp = n * p
    result = {"n": n, "statistic": np.nan, "df": int(len(STAGES) - 1), "p_value": np.nan, "significant": False,
              "min_expected": float(exp.min()) if n else np.nan, "small_expected": False, "note": None}
    if n == 0:
        result["note"] = "No assessed customers: nothing to compare with the benchmark."
        return result
    if ((exp == 0) & (obs > 0)).any():
        result.update(statistic=np.inf, p_value=0.0, significant=True,
                      note="Customers sit in a stage the benchmark says is empty, so the distributions differ by definition.")
        return result
    keep = exp > 0
    stat, pval = sps.chisquare(obs[keep].to_numpy(), exp[keep].to_numpy())
    result.update(statistic=float(stat), df=int(keep.sum() - 1), p_value=float(pval), significant=bool(pval < alpha),
                  min_expected=float(exp[keep].min()))
    if result["min_expected"] < 5:
        result["small_expected"] = True
        result["note"] = (f"The smallest expected count is {result['min_expected']:.1f} (under 5), so the chi-square "
                          "approximation is unreliable: read the p-value as indicative only.")
    return result


def stage_distribution(stage: pd.Series, stages: dict, confidence: float = 0.95) -> pd.DataFrame:
    """Count and share of customers per stage against the IDC benchmark.

    One row per stage 1-5: ``stage_name``, ``n``, ``share_pct`` (0-100) with
    a Wilson interval (``ci_low``, ``ci_high``), ``benchmark_pct`` (IDC's
    share, rescaled to sum to 100), ``expected`` (``n_total · benchmark``),
    ``difference_pct`` (share − benchmark, points) and ``residual``, the
    Pearson residual ``(O − E)/√E`` that shows which stages drive a
    significant chi-square (|residual| > 2 stands out).
    """
    table = stage_table(stages)
    counts = stage_counts(stage)
    n = int(counts.sum())
    out = pd.DataFrame({"stage": list(STAGES), "stage_name": table["name"].to_numpy(), "n": counts.to_numpy()})
    out["share_pct"] = 100 * out["n"] / n if n else np.nan
    cis = [wilson_ci(int(k), n, confidence) for k in out["n"]]  # five stages
    out["ci_low"] = [100 * lo for lo, _ in cis]
    out["ci_high"] = [100 * hi for _, hi in cis]
    out["benchmark_pct"] = 100 * table["benchmark"].to_numpy()
    out["expected"] = n * table["benchmark"].to_numpy()
    out["difference_pct"] = out["share_pct"] - out["benchmark_pct"]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["residual"] = np.where(out["expected"] > 0, (out["n"] - out["expected"]) / np.sqrt(out["expected"]), np.nan)
    return out


def format_p(p: float) -> str:
    """A p-value for prose: "p < 0.001", three decimals under 0.01, else two; an en dash when missing."""
    if p is None or not np.isfinite(p):
        return "p –"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"


def describe_fit(fit: dict, distribution: pd.DataFrame, benchmark_name: str = "IDC's") -> str:
    """Plain words for :func:`goodness_of_fit`, naming the stages that differ most."""
    if fit["n"] == 0:
        return "No customer was assessed, so there is nothing to compare."
    ptext = format_p(fit["p_value"])
    if not fit["significant"]:
        text = (f"Our customers' spread over the stages is consistent with {benchmark_name} benchmark "
                f"(chi-square test, {ptext}): the differences are within what chance gives with {fit['n']} customers.")
    else:
        d = distribution.assign(abs_res=distribution["residual"].abs()).sort_values("abs_res", ascending=False)
        big = d[d["abs_res"] > 2].head(2)
        if big.empty:
            big = d.head(1)
        parts = [f"{'more' if r.difference_pct > 0 else 'fewer'} {r.stage_name} customers ({r.share_pct:.1f}% vs {r.benchmark_pct:.0f}%)"
                 for r in big.itertuples()]
        text = (f"Our customers' spread over the stages differs from {benchmark_name} benchmark (chi-square test, {ptext}): "
                f"we have {' and '.join(parts)}.")
    if fit["note"]:
        text += " " + fit["note"]
    return text


# ---------------------------------------------------------------- segments
def stage_by_segment(
    stage: pd.Series, segment: pd.Series, stages: dict, min_n: int, confidence: float = 0.95
) -> pd.DataFrame:
    """Stage mix within each segment (industry, company size, region...).

    One row per segment value: ``n``, the count and share (0-100) of
    customers at each stage (columns ``n_<name>`` and ``pct_<name>`` for the
    five stage names), and the ``mean_stage`` with a Student-t interval
    (``ci_low``, ``ci_high``; stages treated as a 1-5 score, a summary only).
    Segments under ``min_n`` customers are suppressed: counts, shares and
    means NaN, ``suppressed`` True, so small, identifiable groups are not
    shown. Customers with a missing segment are left out.
    """
    names = stage_table(stages)["name"]
    s = pd.to_numeric(pd.Series(stage), errors="coerce")
    seg = pd.Series(segment, index=s.index)
    ok = s.notna() & seg.notna()
    s, seg = s[ok].astype(int), seg[ok]
    counts = pd.crosstab(seg, s).reindex(columns=list(STAGES), fill_value=0)
    counts.index.name = "segment"
    n = counts.sum(axis=1)
    out = pd.DataFrame({"n": n})
    for k in STAGES:
        out[f"n_{names[k]}"] = counts[k].astype(float)
    for k in STAGES:
        out[f"pct_{names[k]}"] = 100 * counts[k] / n
    means = [mean_ci(s[seg == g], confidence) for g in counts.index]  # one per segment
    out["mean_stage"] = [m.mean for m in means]
    out["ci_low"] = [m.ci_low for m in means]
    out["ci_high"] = [m.ci_high for m in means]
    figures = [c for c in out.columns if c != "n"]
    return suppress_small_groups(out, "n", figures, min_n).reset_index()


def segment_association(table: pd.DataFrame, stages: dict, alpha: float = 0.05) -> dict:
    """Does the stage mix differ between segments? Chi-square test of independence.

    On the segment × stage counts of :func:`stage_by_segment`, suppressed
    segments left out (scipy ``chi2_contingency``, no continuity correction;
    stages nobody is at are dropped). Returns ``statistic``, ``df``,
    ``p_value``, ``significant``, ``cramers_v`` (``√(χ² / (n · (min(r, c) − 1)))``,
    effect size 0-1; Cramér 1946), ``segments`` (tested), ``min_expected``
    and a ``note`` when an expected count is under 5. With fewer than two
    segments to compare, everything is NaN and ``note`` says why.
    """
    names = stage_table(stages)["name"]
    shown = table[~table["suppressed"]]
    counts = shown[[f"n_{names[k]}" for k in STAGES]].to_numpy(dtype=float)
    counts = counts[:, counts.sum(axis=0) > 0] if counts.size else counts
    res = {"statistic": np.nan, "df": 0, "p_value": np.nan, "significant": False, "cramers_v": np.nan,
           "segments": int(len(shown)), "min_expected": np.nan, "note": None}
    if len(shown) < 2 or counts.shape[1] < 2:
        res["note"] = "Fewer than two segments (or stages) to compare after suppression."
        return res
    stat, p, dof, expected = sps.chi2_contingency(counts, correction=False)
    n = counts.sum()
    res.update(statistic=float(stat), df=int(dof), p_value=float(p), significant=bool(p < alpha),
               cramers_v=float(np.sqrt(stat / (n * (min(counts.shape) - 1)))), min_expected=float(expected.min()))
    if expected.min() < 5:
        small = float((expected < 5).mean() * 100)
        res["note"] = f"{small:.0f}% of expected counts are under 5, so the p-value is approximate."
    return res


# ---------------------------------------------------------------- dimension profile
def dimension_profile(
    customers: pd.DataFrame, dimensions: dict, stages: dict, min_n: int
) -> pd.DataFrame:
    """Mean score of each dimension per stage: the heatmap behind "what holds each stage back".

    Rows are the five stages (index ``stage``), columns the dimension labels,
    values the mean of the assessed (non-blank) scores of that stage's
    customers; ``n`` counts the stage's customers. Stages under ``min_n``
    customers are suppressed (all means NaN, ``suppressed`` True).
    """
    cols = dimension_columns(customers)
    dims = dimension_table(cols, dimensions)
    names = stage_table(stages)["name"]
    stage = pd.to_numeric(customers["stage"], errors="coerce")
    x = customers[cols].apply(pd.to_numeric, errors="coerce").astype(float)
    means = x.groupby(stage).mean().reindex(list(STAGES))
    means.columns = [dims.at[c, "label"] for c in cols]
    means.index.name = "stage"
    n = stage.value_counts().reindex(list(STAGES), fill_value=0)
    labels = list(means.columns)
    means["n"] = n.to_numpy()
    means = suppress_small_groups(means, "n", labels, min_n)
    means.insert(0, "stage_name", names.to_numpy())
    return means


def weakest_by_stage(customers: pd.DataFrame, profile: pd.DataFrame) -> pd.DataFrame:
    """For each stage, the dimension that holds its customers back.

    ``weakest_label`` is the dimension with the lowest mean score in the stage
    (:func:`dimension_profile`), ``weakest_mean`` that mean,
    ``stage_mean`` the mean over all dimensions and ``shortfall`` the
    difference (how far the weakest lags the stage's own average).
    ``share_weakest_pct`` is the share of the stage's customers for whom that
    dimension is their own weakest assessed one, ties included (at stage 1
    many customers score 1 everywhere, so a strict "the one weakest" would
    depend on the tie-break). Suppressed stages give NaN.
    """
    labels = [c for c in profile.columns if c not in ("stage_name", "n", "suppressed")]
    means = profile[labels].astype(float)
    valid = means.notna().any(axis=1)
    weakest = means.where(valid, 0).idxmin(axis=1).where(valid)
    out = pd.DataFrame({"stage_name": profile["stage_name"], "n": profile["n"], "weakest_label": weakest})
    out["weakest_mean"] = means.min(axis=1)
    out["stage_mean"] = means.mean(axis=1)
    out["shortfall"] = out["stage_mean"] - out["weakest_mean"]
    cols = dimension_columns(customers)
    x = customers[cols].apply(pd.to_numeric, errors="coerce").astype(float).to_numpy()
    stage = pd.to_numeric(customers["stage"], errors="coerce")
    position = weakest.map({label: i for i, label in enumerate(labels)})  # stage -> column of its weakest dimension
    pick = stage.map(position)
    has = pick.notna().to_numpy() & (~np.isnan(x).all(axis=1) if x.size else False)
    idx = pick.fillna(0).astype(int).to_numpy()
    value = x[np.arange(len(x)), idx] if x.size else np.zeros(0)
    with np.errstate(invalid="ignore"):
        own_min = np.nanmin(np.where(np.isnan(x), np.inf, x), axis=1) if x.size else np.zeros(0)
    hit = pd.Series(np.where(has, value == own_min, np.nan), index=customers.index)
    share = hit.groupby(stage).mean().reindex(list(STAGES)) * 100
    out["share_weakest_pct"] = share.where(valid.to_numpy()).to_numpy()
    out["suppressed"] = profile["suppressed"]
    return out


# ---------------------------------------------------------------- movement
def transition_matrix(previous: pd.Series, current: pd.Series) -> pd.DataFrame:
    """Counts of customers by previous stage (rows) × current stage (columns), 5 × 5.

    Only customers with both stages count. Zeros are kept so the matrix is
    always 5 × 5; the diagonal holds those who stayed, cells right of it
    those who moved up.
    """
    prev = pd.to_numeric(pd.Series(previous), errors="coerce")
    cur = pd.to_numeric(pd.Series(current, index=prev.index), errors="coerce")
    both = prev.notna() & cur.notna()
    m = pd.crosstab(prev[both].astype(int), cur[both].astype(int))
    m = m.reindex(index=list(STAGES), columns=list(STAGES), fill_value=0)
    m.index.name, m.columns.name = "previous", "current"
    return m


def row_shares(matrix: pd.DataFrame) -> pd.DataFrame:
    """A transition matrix as row percentages: where each previous stage went (rows sum to 100; empty rows NaN)."""
    total = matrix.sum(axis=1)
    return 100 * matrix.div(total.where(total > 0), axis=0)


def movement(previous: pd.Series, current: pd.Series) -> pd.Series:
    """Per customer: "Moved up", "Stayed", "Moved down", or "First assessment" when there is no previous stage."""
    index = pd.Series(previous).index
    prev = pd.to_numeric(pd.Series(previous), errors="coerce").astype(float).to_numpy()
    cur = pd.to_numeric(pd.Series(current, index=index), errors="coerce").astype(float).to_numpy()
    with np.errstate(invalid="ignore"):
        out = np.select([np.isnan(cur), np.isnan(prev), cur > prev, cur == prev, cur < prev], [None, NEW, UP, SAME, DOWN], default=None)
    return pd.Series(out, index=index, dtype="string")


def movement_summary(matrix: pd.DataFrame, confidence: float = 0.95) -> dict:
    """Shares that moved up, stayed and moved down, from a transition matrix.

    ``up`` is the sum above the diagonal, ``stayed`` the diagonal, ``down``
    below it; each share (0-100) of the ``n`` customers assessed in both years
    comes with a Wilson interval (``<name>_ci95``). ``net_pct`` = up − down
    (points) and ``mean_change`` is the average number of stages moved.
    Edge case: n = 0 gives NaN shares.
    """
    m = matrix.to_numpy(dtype=float)
    n = int(m.sum())
    i, j = np.indices(m.shape)
    counts = {"moved_up": int(m[j > i].sum()), "stayed": int(m[i == j].sum()), "moved_down": int(m[j < i].sum())}
    out = {"n": n}
    for key, k in counts.items():
        lo, hi = wilson_ci(k, n, confidence)
        out[key] = k
        out[f"{key}_pct"] = 100 * k / n if n else np.nan
        out[f"{key}_ci95"] = [100 * lo, 100 * hi]
    out["net_pct"] = out["moved_up_pct"] - out["moved_down_pct"] if n else np.nan
    out["mean_change"] = float(((j - i) * m).sum() / n) if n else np.nan
    return out


def target_summary(customers: pd.DataFrame, confidence: float = 0.95) -> dict:
    """Where customers expect to be in two years (``target_stage``), against today.

    Among customers with a target: ``n``; ``expect_optimized`` (target 5)
    count and share (0-100) with a Wilson interval, to set against IDC's
    "45% expect to be Optimized two years from now"; ``mean_gap`` (mean of
    target − stage) with its standard deviation ``mean_gap_sd`` and a t-interval; ``above``/``same``/``below`` shares of
    targets above, at or below the current stage; ``gap_counts``
    (customers per gap value). With no target given, n is 0 and figures NaN.
    """
    t = customers[customers["target_stage"].notna()]
    n = len(t)
    opt = int((t["target_stage"] == 5).sum())
    lo, hi = wilson_ci(opt, n, confidence)
    gap = t["gap_to_target"].astype(float)
    est = mean_ci(gap, confidence)
    return {
        "n": n,
        "expect_optimized": opt,
        "expect_optimized_pct": 100 * opt / n if n else np.nan,
        "expect_optimized_ci95": [100 * lo, 100 * hi],
        "mean_gap": est.mean,
        "mean_gap_sd": est.sd,
        "mean_gap_ci95": [est.ci_low, est.ci_high],
        "above_pct": 100 * float((gap > 0).mean()) if n else np.nan,
        "same_pct": 100 * float((gap == 0).mean()) if n else np.nan,
        "below_pct": 100 * float((gap < 0).mean()) if n else np.nan,
        "gap_counts": {int(k): int(v) for k, v in gap.astype(int).value_counts().sort_index().items()},
    }


# ---------------------------------------------------------------- links to other reports
def satisfaction_by_stage(
    customers: pd.DataFrame,
    responses: pd.DataFrame,
    year: int,
    stages: dict,
    min_n: int,
    confidence: float = 0.95,
    nps_method: str = "auto",
) -> pd.DataFrame:
    """CSAT and NPS of the year's survey respondents, by their account's maturity stage.

    Survey responses of ``survey_year == year`` are linked to
    :func:`customer_stages` through ``customer_id`` (respondents without a
    staged account are left out). Per stage: CSAT with
    :func:`cxreport.survey.csat_summary` (``csat_n``, ``csat_mean`` with a
    t-interval, ``top2_pct``) and NPS with
    :func:`cxreport.survey.nps_by_group` (``nps_n``, ``nps`` with its
    interval). A stage with fewer than ``min_n`` answers is suppressed for
    that score. ``linked`` in ``attrs`` counts the respondents linked.
    """
    from . import survey

    names = stage_table(stages)["name"]
    if "customer_id" not in responses:
        out = pd.DataFrame(columns=["stage", "stage_name", "csat_n", "csat_mean", "csat_ci_low", "csat_ci_high",
                                    "top2_pct", "nps_n", "nps", "nps_ci_low", "nps_ci_high", "suppressed"])
        out.attrs["linked"] = 0
        return out
    wave = responses[responses["survey_year"] == int(year)]
    staged = customers.loc[customers["stage"].notna(), ["customer_id", "stage"]]
    joined = wave.merge(staged, on="customer_id", how="inner")
    rows = []
    for k in STAGES:  # five stages
        group = joined[joined["stage"] == k]
        c = survey.csat_summary(group["csat"], confidence=confidence)
        rows.append({"stage": k, "stage_name": names[k], "csat_n": c["n"], "csat_mean": c["mean"], "csat_ci_low": c["ci_low"],
                     "csat_ci_high": c["ci_high"], "top2_pct": c["top2_pct"]})
    out = suppress_small_groups(pd.DataFrame(rows), "csat_n", ["csat_mean", "csat_ci_low", "csat_ci_high", "top2_pct"], min_n, flag=None)
    nps = survey.nps_by_group(joined["nps"], joined["stage"].astype(int), min_n=min_n, method=nps_method, confidence=confidence)
    nps = nps.reindex(list(STAGES)) if len(nps) else pd.DataFrame(index=list(STAGES), columns=["n", "score", "ci_low", "ci_high"])
    out["nps_n"] = nps["n"].fillna(0).astype(int).to_numpy()
    out["nps"] = nps["score"].astype(float).to_numpy()
    out["nps_ci_low"] = nps["ci_low"].astype(float).to_numpy()
    out["nps_ci_high"] = nps["ci_high"].astype(float).to_numpy()
    out = suppress_small_groups(out, "nps_n", ["nps", "nps_ci_low", "nps_ci_high"], min_n, flag=None)
    out["suppressed"] = (out["csat_n"] < min_n) & (out["nps_n"] < min_n)
    out.attrs["linked"] = int(len(joined))
    return out


def satisfaction_trend(customers: pd.DataFrame, responses: pd.DataFrame, year: int) -> dict:
    """Spearman rank correlation between stage and CSAT among linked respondents of ``year``.

    A single test of "do more mature customers rate us higher?" that does not
    depend on how the stages are grouped (scipy ``spearmanr``). Returns
    ``n``, ``rho``, ``p_value``; NaN with fewer than 3 linked answers.
    """
    if "customer_id" not in responses:
        return {"n": 0, "rho": np.nan, "p_value": np.nan}
    wave = responses[responses["survey_year"] == int(year)]
    joined = wave.merge(customers.loc[customers["stage"].notna(), ["customer_id", "stage"]], on="customer_id", how="inner")
    pairs = joined[["stage", "csat"]].apply(pd.to_numeric, errors="coerce").dropna()
    if len(pairs) < 3 or pairs["stage"].nunique() < 2 or pairs["csat"].nunique() < 2:
        return {"n": int(len(pairs)), "rho": np.nan, "p_value": np.nan}
    rho, p = sps.spearmanr(pairs["stage"], pairs["csat"])
    return {"n": int(len(pairs)), "rho": float(rho), "p_value": float(p)}


def describe_trend(trend: dict, alpha: float = 0.05) -> str:
    """Plain words for :func:`satisfaction_trend`: rises, falls, or no clear change; a reason when it cannot be computed."""
    rho, p = trend.get("rho"), trend.get("p_value")
    if rho is None or p is None or not np.isfinite(rho) or not np.isfinite(p):
        return (f"With {trend.get('n', 0)} linked answers, or too little variety in stage or CSAT, "
                "the trend of satisfaction with maturity cannot be tested.")
    words = f"the rank correlation between stage and CSAT is {rho:.2f} ({format_p(p)})"
    if p < alpha:
        return f"Satisfaction {'rises' if rho > 0 else 'falls'} with maturity: {words}."
    return f"On these numbers satisfaction does not clearly change with maturity (rank correlation {rho:.2f}, {format_p(p)})."


# ---------------------------------------------------------------- the account list
INCOMPLETE_PLAY = "Complete the maturity assessment: too few dimensions were scored to place the customer on a stage."
ACCOUNT_COLUMNS = [
    "customer_id", "name", "partner_id", "industry", "company_size", "region", "assessed_on", "stage", "stage_name",
    "score", "weakest_dimension", "weakest_score", "previous_stage", "movement", "target_stage", "gap_to_target", "next_play",
]


def account_list(
    customers: pd.DataFrame,
    previous: pd.DataFrame | None,
    accounts: pd.DataFrame | None,
    stages: dict,
) -> pd.DataFrame:
    """Every assessed customer with what an account manager needs, one row each.

    Columns (:data:`ACCOUNT_COLUMNS`): the account's details from
    ``accounts.csv`` (when given), the current ``stage``/``stage_name`` and
    weighted ``score``, the ``weakest_dimension`` (label) and its score, the
    ``previous_stage`` (latest assessment of the previous year, from
    ``previous`` = :func:`customer_stages` of that year) and the
    :func:`movement`, the ``target_stage`` and ``gap_to_target``, and the
    ``next_play`` of the current stage (``maturity_stages`` parameter).

    A customer passed in without a stage (``customer_stages(...,
    keep_unstaged=True)``: too few dimensions scored) is listed with a blank
    stage and the play :data:`INCOMPLETE_PLAY`.

    Sorted for action: the biggest gap to target first, then lower stage,
    then customer_id; customers without a gap come last.
    """
    table = stage_table(stages)
    out = customers[["customer_id", "assessed_on", "stage", "stage_name", "score", "weakest_label", "weakest_score",
                     "target_stage", "gap_to_target"]].rename(columns={"weakest_label": "weakest_dimension"})
    prev = previous[["customer_id", "stage"]].rename(columns={"stage": "previous_stage"}) if previous is not None and len(previous) else \
        pd.DataFrame({"customer_id": pd.Series(dtype="string"), "previous_stage": pd.Series(dtype="Int64")})
    out = out.merge(prev, on="customer_id", how="left")
    out["previous_stage"] = out["previous_stage"].astype("Int64")
    out["movement"] = movement(out["previous_stage"], out["stage"])
    out["next_play"] = out["stage"].map(table["next_play"]).astype("string").fillna(INCOMPLETE_PLAY)
    if accounts is not None:
        info = [c for c in ("customer_id", "name", "partner_id", "industry", "company_size", "region") if c in accounts]
        out = out.merge(accounts[info], on="customer_id", how="left")
    for c in ACCOUNT_COLUMNS:
        if c not in out:
            out[c] = pd.NA
    out = out[ACCOUNT_COLUMNS]
    order = out.assign(_gap=out["gap_to_target"].astype(float).fillna(-np.inf))
    order = order.sort_values(["_gap", "stage", "customer_id"], ascending=[False, True, True], kind="stable")
    return order.drop(columns="_gap").reset_index(drop=True)


def plays_by_stage(customers: pd.DataFrame, weakest: pd.DataFrame, stages: dict) -> pd.DataFrame:
    """The next play of each stage with how many customers it concerns and the dimension to focus on."""
    table = stage_table(stages)
    counts = stage_counts(customers["stage"])
    return pd.DataFrame({
        "stage": list(STAGES),
        "stage_name": table["name"].to_numpy(),
        "customers": counts.to_numpy(),
        "focus": weakest["weakest_label"].to_numpy(),
        "next_play": table["next_play"].to_numpy(),
    })


def describe_rubric(rubric: dict, dimensions: pd.DataFrame) -> str:
    """Plain words for the stage rule in use (:func:`assign_stage`) and the dimension weights (:func:`dimension_table`)."""
    rubric = rubric_settings(rubric)
    t = list(rubric["thresholds"])
    rule = {
        "weighted_mean": (f"the weighted mean of its dimension scores: stage 2 from {t[0]:g}, stage 3 from {t[1]:g}, "
                          f"stage 4 from {t[2]:g} and stage 5 from {t[3]:g}" if len(t) == 4 else "the weighted mean of its dimension scores"),
        "floor": "the weighted mean of its dimension scores rounded down: a stage counts once it is reached on average",
        "weakest": "its weakest dimension: a customer is only as mature as its least mature dimension",
    }.get(rubric["method"], rubric["method"])
    w = dimensions["weight"]
    weights = ("all dimensions weigh the same" if w.nunique() <= 1 else
               "weights " + ", ".join(f"{label} {weight:g}" for label, weight in zip(dimensions["label"], w)))
    return (f"A customer's stage is {rule} ({weights}). A customer with fewer than {int(rubric['min_dimensions'])} "
            "scored dimensions is not placed on a stage.")


# ---------------------------------------------------------------- headline figures
def maturity_metrics(
    distribution: pd.DataFrame,
    fit: dict,
    moves: dict,
    target: dict,
    year: int,
    previous_year: int,
    *,
    n_unstaged: int = 0,
    rubric: dict,
) -> dict:
    """The ``maturity`` section of ``metrics.json``.

    ``n_assessed`` (customers with a stage), ``n_unstaged`` (latest
    assessment too incomplete to place), ``stages`` keyed "1".."5" with
    ``name``, ``n``, ``pct`` and ``benchmark_pct``; ``fit`` (chi-square
    statistic, df, p-value, significant, small_expected); ``movement``
    (customers assessed in both years and the moved up / stayed / moved down
    counts and shares); ``target`` (share expecting Optimized, mean gap).
    Percentages carry one decimal; p-values four.
    """
    def r(x, d=1):
        return None if x is None or (isinstance(x, float) and not np.isfinite(x)) else round(float(x), d)

    rubric = rubric_settings(rubric)
    return {
        "year": int(year),
        "n_assessed": int(distribution["n"].sum()),
        "n_unstaged": int(n_unstaged),
        "rubric": rubric["method"],
        "stages": {
            str(int(row.stage)): {"name": row.stage_name, "n": int(row.n), "pct": r(row.share_pct), "benchmark_pct": r(row.benchmark_pct)}
            for row in distribution.itertuples()
        },
        "fit": {
            "test": "chi-square goodness of fit vs IDC",
            "statistic": r(fit["statistic"], 3),
            "df": fit["df"],
            "p_value": r(fit["p_value"], 4),
            "significant": fit["significant"],
            "small_expected": fit["small_expected"],
        },
        "movement": {
            "previous_year": int(previous_year),
            "n": moves["n"],
            "moved_up": moves["moved_up"],
            "stayed": moves["stayed"],
            "moved_down": moves["moved_down"],
            "moved_up_pct": r(moves["moved_up_pct"]),
            "stayed_pct": r(moves["stayed_pct"]),
            "moved_down_pct": r(moves["moved_down_pct"]),
            "moved_up_ci95": [r(v) for v in moves["moved_up_ci95"]],
        },
        "target": {
            "n": target["n"],
            "expect_optimized_pct": r(target["expect_optimized_pct"]),
            "mean_gap": r(target["mean_gap"], 2),
        },
    }


# ---------------------------------------------------------------- loading
def load_inputs(data_dir: str | Path) -> dict[str, pd.DataFrame]:
    """Load and check what the maturity report reads from ``data_dir``.

    ``assessments`` (``maturity_assessments.csv``) and ``accounts``
    (``accounts.csv``) are validated against their contracts, and every
    assessment's customer must be in ``accounts.csv`` (one message per
    offending row, :func:`cxreport.inputs.check_references`; raises
    :class:`cxreport.inputs.InputError`). ``survey`` is the
    survey file (personal data stripped by
    :func:`cxreport.inputs.load_survey`) when ``survey_responses.csv`` is
    present, else None.
    """
    from .inputs import ACCOUNTS, MATURITY, InputError, check_references, load, load_survey

    data_dir = Path(data_dir)
    problems, frames = [], {}
    for key, contract in (("assessments", MATURITY), ("accounts", ACCOUNTS)):
        try:
            frames[key] = load(data_dir / contract.filename, contract)
        except InputError as exc:
            problems.extend(exc.messages)
    if not problems:
        problems = check_references({MATURITY.filename: frames["assessments"], ACCOUNTS.filename: frames["accounts"]})
        if not dimension_columns(frames["assessments"]):
            problems.append(f"{MATURITY.filename}: no m_<dimension> column; expected at least one dimension score column such as m_strategy")
    if problems:
        raise InputError(problems)
    survey_path = data_dir / "survey_responses.csv"
    frames["survey"] = load_survey(survey_path) if survey_path.is_file() else None
    return frames

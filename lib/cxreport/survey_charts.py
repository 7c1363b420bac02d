"""Charts of the survey-scores report, in the house style (:mod:`cxreport.style`).

Each function takes the tables the survey functions return and draws them;
none computes a figure of its own.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .style import ACCENT, GRID, INK, MUTED, NEGATIVE, NPS_COLOURS, POSITIVE, PRIMARY, finish


def csat_distribution(summary, title: str = "Overall satisfaction") -> plt.Figure:
    """Bars of the share answering 1-5, labelled, with the average marked.

    ``summary`` is the report model's ``csat``
    (:class:`cxreport.reports.survey_scores.Csat`: ``distribution`` with
    ``rating`` and ``pct``, ``mean``, ``n``) or the dict of
    :func:`cxreport.survey.csat_summary`. Needs at least one answer.
    """
    if isinstance(summary, dict):
        dist = pd.Series(summary["distribution_pct"]).sort_index()
        mean, n = summary["mean"], summary["n"]
    else:
        dist = summary.distribution.set_index("rating")["pct"].sort_index()
        mean, n = summary.mean, summary.n
    fig, ax = plt.subplots(figsize=(7.2, 3.2))
    colours = [NEGATIVE, NEGATIVE, "#b8c2cc", PRIMARY, PRIMARY]
    ax.bar(dist.index.astype(str), dist.values, color=colours, width=0.65)
    for x, v in zip(dist.index.astype(str), dist.values):
        ax.text(x, v + 1.2, f"{v:.1f}%", ha="center", va="bottom", fontsize=10, color=INK)
    ax.set_ylim(0, max(dist.max() * 1.25, 10))
    ax.set_ylabel("Share of respondents (%)")
    ax.set_xlabel("Rating (1 = worst, 5 = best)")
    ax.set_title(title)
    ax.text(
        0.99, 0.95, f"Avg. {mean:.1f}  (n = {n})", transform=ax.transAxes, ha="right", va="top",
        fontsize=11, fontweight="bold", color=PRIMARY,
    )
    return finish(fig)


def touchpoint_means(table: pd.DataFrame, title: str = "Satisfaction with major touchpoints") -> plt.Figure:
    """Horizontal bars of touchpoint means (1-5) with 95% intervals and bases."""
    t = table[~table["suppressed"]].iloc[::-1]
    fig, ax = plt.subplots(figsize=(7.2, 0.5 * len(t) + 1.2))
    y = np.arange(len(t))
    ax.barh(y, t["mean"], color=PRIMARY, height=0.6)
    ax.errorbar(t["mean"], y, xerr=[t["mean"] - t["ci_low"], t["ci_high"] - t["mean"]], fmt="none", ecolor=INK, capsize=3, lw=1)
    for yi, (m, n) in enumerate(zip(t["mean"], t["n"])):
        ax.text(0.08, yi, f"{m:.1f}", va="center", ha="left", color="white", fontweight="bold", fontsize=10)
        ax.text(5.08, yi, f"n={n}", va="center", ha="left", color=MUTED, fontsize=8)
    ax.set_yticks(y, t["label"])
    ax.set_xlim(0, 5.5)
    ax.set_xticks([1, 2, 3, 4, 5])
    ax.set_xlabel("Average rating (1-5) with 95% confidence interval")
    ax.set_title(title)
    ax.grid(axis="y", visible=False)
    return finish(fig)


def segment_comparison(table: pd.DataFrame, seg_a: str, seg_b: str, title: str) -> plt.Figure:
    """Dot plot: each touchpoint's mean in two segments, joined by a line."""
    t = table[~table["suppressed"]].iloc[::-1]
    fig, ax = plt.subplots(figsize=(7.2, 0.5 * len(t) + 1.3))
    y = np.arange(len(t))
    ax.hlines(y, t[f"mean_{seg_a}"], t[f"mean_{seg_b}"], color=GRID, lw=3)
    ax.scatter(t[f"mean_{seg_a}"], y, color=ACCENT, s=60, label=seg_a, zorder=3)
    ax.scatter(t[f"mean_{seg_b}"], y, color=PRIMARY, s=60, label=seg_b, zorder=3)
    for yi, sig in enumerate(t["significant"]):
        if sig:
            ax.text(5.05, yi, "significant", va="center", fontsize=8, color=NEGATIVE)
    ax.set_yticks(y, t["label"])
    ax.set_xlim(1, 5.6)
    ax.set_xlabel("Average rating (1-5)")
    ax.set_title(title)
    ax.legend(loc="upper center", ncols=2, bbox_to_anchor=(0.5, -0.22), fontsize=9)
    ax.grid(axis="y", visible=False)
    return finish(fig)


def nps_stacked(by_year: pd.DataFrame, title: str = "Likelihood to recommend") -> plt.Figure:
    """Stacked promoters/passives/detractors bar per year, with the NPS at the end."""
    t = by_year[~by_year["suppressed"]].sort_index(ascending=False)
    fig, ax = plt.subplots(figsize=(7.2, 0.7 * len(t) + 1.4))
    y = np.arange(len(t))
    left = np.zeros(len(t))
    for cat, col in (("Promoter", "promoters_pct"), ("Passive", "passives_pct"), ("Detractor", "detractors_pct")):
        vals = t[col].to_numpy()
        ax.barh(y, vals, left=left, color=NPS_COLOURS[cat], height=0.6, label=f"{cat}s")
        for yi, (l, v) in enumerate(zip(left, vals)):
            if v >= 4:
                ax.text(l + v / 2, yi, f"{v:.1f}%", ha="center", va="center", fontsize=9, color="white" if cat != "Passive" else INK)
        left += vals
    for yi, (score, n) in enumerate(zip(t["score"], t["n"])):
        ax.text(101.5, yi, f"NPS {score:.1f}\n(n={n})", va="center", fontsize=9, color=INK, fontweight="bold")
    ax.set_yticks(y, [str(i) for i in t.index])
    ax.set_xlim(0, 100)
    ax.set_xlabel("Share of respondents (%): promoters 9-10, passives 7-8, detractors 0-6")
    ax.set_title(title)
    ax.legend(loc="upper center", ncols=3, bbox_to_anchor=(0.5, -0.3), fontsize=9)
    ax.grid(visible=False)
    return finish(fig)


def nps_trend(by_year: pd.DataFrame, title: str = "Net Promoter Score over the years") -> plt.Figure:
    """NPS per year with its 95% interval as a band."""
    t = by_year[~by_year["suppressed"]].sort_index()
    fig, ax = plt.subplots(figsize=(7.2, 3.0))
    x = np.asarray(t.index, dtype=int)
    ax.fill_between(x, t["ci_low"], t["ci_high"], color=PRIMARY, alpha=0.15, lw=0, label="95% confidence interval")
    ax.plot(x, t["score"], marker="o", color=PRIMARY, lw=2, label="NPS")
    for xi, s in zip(x, t["score"]):
        ax.annotate(f"{s:.1f}", (xi, s), textcoords="offset points", xytext=(0, 8), ha="center", fontsize=10, color=INK)
    ax.set_xticks(x, [str(v) for v in x])
    ax.set_xlim(x.min() - 0.5, x.max() + 0.5)
    ax.set_ylim(max(-100, t["ci_low"].min() - 15), min(100, t["ci_high"].max() + 15))
    ax.axhline(0, color=MUTED, lw=0.8)
    ax.set_ylabel("NPS (-100 to +100)")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=9)
    return finish(fig)


def importance_performance(drivers: pd.DataFrame, title: str = "Key drivers: importance vs performance") -> plt.Figure:
    """Scatter of each touchpoint's importance (share of explained variance) against its mean rating.

    The dashed lines at the averages split the chart into quadrants; the
    top-left one (important, rated lower) is where improvement pays most.
    """
    fig, ax = plt.subplots(figsize=(7.2, 4.2))
    ax.scatter(drivers["performance"], drivers["importance_pct"], s=80, color=PRIMARY, zorder=3)
    for _, r in drivers.iterrows():
        ax.annotate(r["label"], (r["performance"], r["importance_pct"]), textcoords="offset points", xytext=(6, 4), fontsize=9, color=INK)
    ax.axvline(drivers["performance"].mean(), color=MUTED, ls="--", lw=0.8)
    ax.axhline(drivers["importance_pct"].mean(), color=MUTED, ls="--", lw=0.8)
    ax.text(0.01, 0.98, "Fix first: important, rated lower", transform=ax.transAxes, va="top", fontsize=8, color=NEGATIVE)
    ax.text(0.99, 0.98, "Keep up: important, rated high", transform=ax.transAxes, va="top", ha="right", fontsize=8, color=POSITIVE)
    lo, hi = drivers["performance"].min(), drivers["performance"].max()
    ax.set_xlim(lo - 0.25, hi + 0.9)
    ax.set_xlabel("Performance: average rating (1-5)")
    ax.set_ylabel("Importance: share of explained\nvariation in satisfaction (%)")
    ax.set_title(title)
    return finish(fig)


def theme_bars(counts: pd.DataFrame, title: str = "What customers value") -> plt.Figure:
    """Horizontal bars: share of comments mentioning each theme."""
    t = counts.iloc[::-1]
    fig, ax = plt.subplots(figsize=(7.2, 0.45 * len(t) + 1.2))
    ax.barh(t["theme"], t["share_pct"], color=PRIMARY, height=0.6)
    for yi, (v, m) in enumerate(zip(t["share_pct"], t["mentions"])):
        ax.text(v + 0.8, yi, f"{v:.0f}% ({m})", va="center", fontsize=9, color=INK)
    ax.set_xlim(0, max(t["share_pct"].max() * 1.25, 10))
    base = int(counts["comments"].iloc[0]) if len(counts) else 0
    ax.set_xlabel(f"Share of the {base} comments that mention the theme (%)")
    ax.set_title(title)
    ax.grid(axis="y", visible=False)
    return finish(fig)

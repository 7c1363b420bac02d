"""Charts of the survey-scores report, in the house style (:mod:`cxreport.style`).

Each function takes the tables the survey functions return and draws them;
none computes a figure of its own.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .style import (
    ACCENT,
    GRID,
    INK,
    LABEL_SIZE,
    MUTED,
    NEGATIVE,
    NEUTRAL,
    NPS,
    NPS_COLOURS,
    PCT,
    POSITIVE,
    PRIMARY,
    RATING,
    SMALL_SIZE,
    clip_interval,
    finish,
    fit_texts,
    headroom,
    lower_first,
    place_labels,
    set_scale,
)


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
    colours = [NEGATIVE, NEGATIVE, NEUTRAL, PRIMARY, PRIMARY]
    ax.bar(dist.index.astype(str), dist.values, color=colours, width=0.65)
    for x, v in zip(dist.index.astype(str), dist.values):
        ax.text(x, v + 1.2, f"{v:.1f}%", ha="center", va="bottom", fontsize=10, color=INK)
    set_scale(ax, PCT, hi=headroom(dist.max(), factor=1.3))
    ax.set_ylabel("Share of respondents (%)")
    ax.set_xlabel("Rating (1 = worst, 5 = best)")
    ax.set_title(title)
    ax.text(
        0.99, 0.95, f"Avg. {mean:.1f}  (n = {n})", transform=ax.transAxes, ha="right", va="top",
        fontsize=11, fontweight="bold", color=PRIMARY,
    )
    shares = ", ".join(f"{int(r)}: {v:.1f}%" for r, v in dist.items())
    return finish(fig, alt=f"Bar chart, {lower_first(title)}: share of respondents giving each rating from 1 (worst) to 5 (best) "
                           f"({shares}). Average {mean:.1f} of 5, n = {n}.")


def touchpoint_means(table: pd.DataFrame, title: str = "Satisfaction with major touchpoints") -> plt.Figure:
    """Horizontal bars of touchpoint means (1-5) with 95% intervals and bases."""
    t = table[~table["suppressed"]].iloc[::-1]
    fig, ax = plt.subplots(figsize=(7.2, 0.5 * len(t) + 1.2))
    y = np.arange(len(t))
    # Bars start at the scale's floor (1), so a bar's length is the distance from the worst rating.
    ax.barh(y, t["mean"] - RATING[0], left=RATING[0], color=PRIMARY, height=0.6)
    ax.errorbar(t["mean"], y, xerr=clip_interval(t["mean"], t["ci_low"], t["ci_high"], RATING), fmt="none", ecolor=INK,
                capsize=3, lw=1, clip_on=False)
    base = ax.get_yaxis_transform()  # x in axes fraction, y in data
    for yi, (m, n) in enumerate(zip(t["mean"], t["n"])):
        ax.text(RATING[0] + 0.05, yi, f"{m:.1f}", va="center", ha="left", color="white", fontweight="bold", fontsize=10)
        ax.text(1.015, yi, f"n={n}", va="center", ha="left", color=MUTED, fontsize=SMALL_SIZE, transform=base)
    ax.set_yticks(y, t["label"])
    set_scale(ax, RATING, axis="x")
    ax.set_xticks([1, 2, 3, 4, 5])
    ax.set_xlabel("Average rating (1-5) with 95% confidence interval")
    ax.set_title(title)
    ax.grid(axis="y", visible=False)
    if t["mean"].notna().any():
        best, worst = t.loc[t["mean"].idxmax()], t.loc[t["mean"].idxmin()]
        alt = (f"Bar chart, {lower_first(title)}: average rating (1-5) of {len(t)} touchpoints with 95% intervals; "
               f"highest {best['label']} {best['mean']:.1f}, lowest {worst['label']} {worst['mean']:.1f}.")
    else:
        alt = f"{title}: no touchpoint with enough answers (0 shown)."
    return finish(fig, alt=alt)


def segment_comparison(table: pd.DataFrame, seg_a: str, seg_b: str, title: str) -> plt.Figure:
    """Dot plot: each touchpoint's mean in two segments, joined by a line."""
    t = table[~table["suppressed"]].iloc[::-1]
    fig, ax = plt.subplots(figsize=(7.2, 0.5 * len(t) + 1.3))
    y = np.arange(len(t))
    ax.hlines(y, t[f"mean_{seg_a}"], t[f"mean_{seg_b}"], color=GRID, lw=3)
    ax.scatter(t[f"mean_{seg_a}"], y, color=ACCENT, s=60, label=seg_a, zorder=3, clip_on=False)
    ax.scatter(t[f"mean_{seg_b}"], y, color=PRIMARY, s=60, label=seg_b, zorder=3, clip_on=False)
    base = ax.get_yaxis_transform()
    for yi, sig in enumerate(t["significant"]):
        if sig:
            ax.text(1.02, yi, "significant", va="center", fontsize=SMALL_SIZE, color=NEGATIVE, transform=base)
    ax.set_yticks(y, t["label"])
    set_scale(ax, RATING, axis="x")
    ax.set_xlabel("Average rating (1-5)")
    ax.set_title(title)
    ax.legend(loc="upper center", ncols=2, bbox_to_anchor=(0.5, -0.22), fontsize=9)
    ax.grid(axis="y", visible=False)
    n_sig = int(t["significant"].sum())
    return finish(fig, alt=f"Dot plot, {lower_first(title)}: average rating (1-5) of {len(t)} touchpoints for {seg_a} and {seg_b}; "
                           f"{n_sig} of {len(t)} differences statistically significant.")


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
    years = "; ".join(f"{y}: NPS {r.score:.1f}, {r.promoters_pct:.1f}% promoters, {r.detractors_pct:.1f}% detractors (n={r.n})"
                      for y, r in t.sort_index().iterrows())
    return finish(fig, alt=f"Stacked bar chart, {lower_first(title)}: shares of promoters, passives and detractors per survey year. {years}.")


def nps_trend(by_year: pd.DataFrame, title: str = "Net Promoter Score over the years") -> plt.Figure:
    """NPS per year with its 95% interval as a band."""
    t = by_year[~by_year["suppressed"]].sort_index()
    fig, ax = plt.subplots(figsize=(7.2, 3.0))
    x = np.asarray(t.index, dtype=int)
    ax.fill_between(x, t["ci_low"].clip(*NPS), t["ci_high"].clip(*NPS), color=PRIMARY, alpha=0.15, lw=0, label="95% confidence interval")
    ax.plot(x, t["score"], marker="o", color=PRIMARY, lw=2, label="NPS")
    for xi, s in zip(x, t["score"]):
        ax.annotate(f"{s:.1f}", (xi, s), textcoords="offset points", xytext=(0, 8), ha="center", fontsize=10, color=INK)
    ax.set_xticks(x, [str(v) for v in x])
    ax.set_xlim(x.min() - 0.5, x.max() + 0.5)
    set_scale(ax, NPS, lo=t["ci_low"].min() - 15, hi=t["ci_high"].max() + 15)
    ax.axhline(0, color=MUTED, lw=0.8)
    ax.set_ylabel("NPS (-100 to +100)")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=9)
    years = "; ".join(f"{xi}: {s:.1f} (95% CI {lo:.1f} to {hi:.1f})" for xi, s, lo, hi in zip(x, t["score"], t["ci_low"], t["ci_high"]))
    return finish(fig, alt=f"Line chart, {lower_first(title)}: Net Promoter Score per survey year with its 95% confidence interval. {years}.")


def importance_performance(drivers: pd.DataFrame, title: str = "Key drivers: importance vs performance") -> plt.Figure:
    """Scatter of each touchpoint's importance (share of explained variance) against its mean rating.

    The dashed lines at the averages split the chart into quadrants; the
    top-left one (important, rated lower) is where improvement pays most.
    """
    fig, ax = plt.subplots(figsize=(7.2, 4.2))
    ax.scatter(drivers["performance"], drivers["importance_pct"], s=80, color=PRIMARY, zorder=3, clip_on=False)
    ax.axvline(drivers["performance"].mean(), color=MUTED, ls="--", lw=0.8)
    ax.axhline(drivers["importance_pct"].mean(), color=MUTED, ls="--", lw=0.8)
    quadrants = [
        ax.text(0.01, 0.98, "Fix first: important, rated lower", transform=ax.transAxes, va="top", fontsize=SMALL_SIZE, color=NEGATIVE),
        ax.text(0.99, 0.98, "Keep up: important, rated high", transform=ax.transAxes, va="top", ha="right", fontsize=SMALL_SIZE, color=POSITIVE),
    ]
    lo, hi = drivers["performance"].min(), drivers["performance"].max()
    span = max(hi - lo, 0.2)
    # Room for the labels, within the 1-5 scale; the labels are placed to miss each other and the quadrant names.
    set_scale(ax, RATING, axis="x", lo=lo - 0.35 * span, hi=hi + 0.35 * span)
    top = drivers["importance_pct"].max()
    ax.set_ylim(0, min(100, max(top * 1.3, top + 5)))
    ax.set_xlabel("Performance: average rating (1-5)")
    ax.set_ylabel("Importance: share of explained\nvariation in satisfaction (%)")
    ax.set_title(title)
    fig.tight_layout()
    place_labels(ax, drivers["performance"], drivers["importance_pct"], drivers["label"], avoid=quadrants, fontsize=LABEL_SIZE)
    if drivers["importance_pct"].notna().any():
        top_row = drivers.loc[drivers["importance_pct"].idxmax()]
        alt = (f"Scatter chart, {lower_first(title)}: {len(drivers)} touchpoints by average rating (1-5) and importance "
               f"(share of explained variation in satisfaction). Most important: {top_row['label']}, "
               f"{top_row['importance_pct']:.0f}% of the explained variation, rated {top_row['performance']:.1f}.")
    else:
        alt = f"{title}: no drivers (0 touchpoints)."
    return finish(fig, alt=alt)


def theme_bars(counts: pd.DataFrame, title: str = "What customers value") -> plt.Figure:
    """Horizontal bars: share of comments mentioning each theme."""
    t = counts.iloc[::-1]
    fig, ax = plt.subplots(figsize=(7.2, 0.45 * len(t) + 1.2))
    ax.barh(t["theme"], t["share_pct"], color=PRIMARY, height=0.6)
    labels = [ax.text(v + 0.8, yi, f"{v:.0f}% ({m})", va="center", fontsize=LABEL_SIZE, color=INK)
              for yi, (v, m) in enumerate(zip(t["share_pct"], t["mentions"]))]
    set_scale(ax, PCT, axis="x", hi=headroom(t["share_pct"].max() if len(t) else 0, factor=1.3))
    base = int(counts["comments"].iloc[0]) if len(counts) else 0
    ax.set_xlabel(f"Share of the {base} comments that mention the theme (%)")
    ax.set_title(title)
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    fit_texts(ax, labels)
    if len(counts):
        lead = counts.iloc[0]
        alt = (f"Bar chart, {lower_first(title)}: share of the {base} comments mentioning each of {len(counts)} themes; "
               f"most mentioned: {lead['theme']}, {lead['share_pct']:.0f}% ({lead['mentions']} comments).")
    else:
        alt = f"{title}: no comment themes (0 comments)."
    return finish(fig, alt=alt)

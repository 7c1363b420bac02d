"""Charts of the partner-programme report and the partner scorecards, in the house style.

Each function draws tables computed by :mod:`cxreport.partners` and
:mod:`cxreport.customer_success`; none computes a figure of its own. Charts
for a scorecard take ``highlight`` (one partner) and never label the others,
so a scorecard does not reveal other partners.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .partners import (
    ABOVE_95,
    ABOVE_998,
    BELOW_95,
    BELOW_998,
    NOT_RANKED,
    funnel_limits,
)
from .style import (
    ACCENT,
    GRID,
    INK,
    MUTED,
    NEGATIVE,
    NEUTRAL,
    NPS,
    POSITIVE,
    PRIMARY,
    SMALL_SIZE,
    finish,
    fit_texts,
    lower_first,
    place_labels,
    set_scale,
)
from .suppression import small_groups

POSITION_COLOURS = {BELOW_998: NEGATIVE, BELOW_95: ACCENT, ABOVE_95: POSITIVE, ABOVE_998: POSITIVE}


def nps_distribution(funnel: pd.DataFrame, target: float, title: str = "Partner NPS this year") -> plt.Figure:
    """Histogram of ranked partners' NPS, with the programme NPS marked."""
    ranked = funnel[funnel["position"] != NOT_RANKED]
    fig, ax = plt.subplots(figsize=(7.2, 3.0))
    bins = np.arange(-100, 101, 10)
    ax.hist(ranked["nps"], bins=bins, color=PRIMARY, edgecolor="white")
    ax.axvline(target, color=ACCENT, lw=2)
    top = ax.get_ylim()[1]
    ax.set_ylim(0, top * 1.15)
    ax.text(target - 2, top * 1.1, f"Programme {target:.1f}", color=ACCENT, ha="right", va="top", fontsize=9, fontweight="bold")
    set_scale(ax, NPS, axis="x")
    ax.set_xlabel(f"NPS of the {len(ranked)} ranked partners (-100 to +100)")
    ax.set_ylabel("Partners")
    ax.set_title(title)
    fig.tight_layout()
    fit_texts(ax, ax.texts)
    spread = f" Partner NPS ranges from {ranked['nps'].min():.0f} to {ranked['nps'].max():.0f}." if len(ranked) else ""
    return finish(fig, alt=f"Histogram, {lower_first(title)}: NPS of the {len(ranked)} ranked partners, with the programme NPS "
                           f"{target:.1f} marked.{spread}")


def plotted_partners(funnel: pd.DataFrame, min_n: int = 0) -> pd.DataFrame:
    """The partners a funnel chart may plot: with answers, and not suppressed as a small group.

    The small-group rule is :func:`cxreport.suppression.suppress_small_groups`
    (applied by :func:`cxreport.partners.nps_funnel`, flag ``suppressed``);
    ``min_n`` applies it again to a table without the flag.
    """
    suppressed = np.array(small_groups(funnel["n"], min_n), dtype=bool) if min_n else np.zeros(len(funnel), dtype=bool)
    if "suppressed" in funnel.columns:
        suppressed |= funnel["suppressed"].fillna(False).astype(bool).to_numpy()
    n = pd.to_numeric(funnel["n"], errors="coerce")
    return funnel[(n > 0).to_numpy() & ~suppressed & funnel["nps"].notna().to_numpy()]


def funnel_plot(funnel: pd.DataFrame, summary: dict, highlight: str | None = None, labels: dict | None = None,
                title: str = "Partner NPS against number of answers") -> plt.Figure:
    """Funnel plot: each partner's NPS against its answers, with the control limits around the programme NPS.

    Programme view (``highlight`` None): partners outside the limits are
    coloured and labelled (with ``labels``: id -> name). Scorecard view:
    only ``highlight`` is marked; every other partner is an unlabelled grey dot.

    Partners under the small-group threshold (``suppressed`` in
    :func:`cxreport.partners.nps_funnel`'s table, or ``min_n`` answers) are
    not plotted at all: their dot would show their score.
    """
    fig, ax = plt.subplots(figsize=(7.2, 4.0))
    lo, hi = summary["levels"]
    shown = plotted_partners(funnel, summary.get("min_n", 0))
    n_max = max(float(shown["n"].max()) if len(shown) else 10.0, 10.0) * 1.08
    grid = np.linspace(1, n_max, 300)
    lim = funnel_limits(summary["target"], summary["sd"], grid, (lo, hi), summary["phi_used"])
    for level, style in ((lo, "--"), (hi, "-")):
        name = f"{100 * level:g}"
        ax.plot(grid, lim[f"lower_{name}"], color=MUTED, ls=style, lw=1, label=f"{name}% limits")
        ax.plot(grid, lim[f"upper_{name}"], color=MUTED, ls=style, lw=1)
    ax.axhline(summary["target"], color=INK, lw=1)
    ranked = shown[shown["position"] != NOT_RANKED]
    small = shown[shown["position"] == NOT_RANKED]
    ax.scatter(small["n"], small["nps"], s=22, facecolors="none", edgecolors=NEUTRAL, label=f"not ranked (< {summary['min_rank_n']} answers)")
    if highlight is None:
        colours = ranked["position"].map(POSITION_COLOURS).fillna(PRIMARY)
        ax.scatter(ranked["n"], ranked["nps"], s=34, color=colours, zorder=3, label="ranked partner", clip_on=False)
    else:
        ax.scatter(ranked["n"], ranked["nps"], s=26, color=NEUTRAL, zorder=2, label="other partners", clip_on=False)
        me = shown[shown["partner_id"] == highlight]
        ax.scatter(me["n"], me["nps"], s=90, color=ACCENT, edgecolors=INK, zorder=4, label="this partner", clip_on=False)
    programme = ax.text(n_max, summary["target"] + 2, f"programme {summary['target']:.1f}", ha="right", va="bottom", fontsize=SMALL_SIZE, color=INK)
    ax.set_xlim(0, n_max)
    set_scale(ax, NPS)
    ax.set_xlabel("Answers in the year")
    ax.set_ylabel("NPS")
    ax.set_title(title)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncols=4, fontsize=8)
    fig.tight_layout()
    flagged = ranked[ranked["position"].isin(POSITION_COLOURS)] if highlight is None else ranked.iloc[:0]
    place_labels(ax, flagged["n"], flagged["nps"], [(labels or {}).get(p, p) for p in flagged["partner_id"]], avoid=[programme],
                 fontsize=SMALL_SIZE)
    if highlight is None:
        alt = (f"Funnel plot, {lower_first(title)}: NPS of {len(shown)} partners against their number of answers, with control limits "
               f"around the programme NPS {summary['target']:.1f}; {len(flagged)} partners fall outside the limits.")
    else:
        me = shown[shown["partner_id"] == highlight]
        mine = f"this partner: NPS {me['nps'].iloc[0]:.1f} on {int(me['n'].iloc[0])} answers" if len(me) else "this partner is not plotted"
        alt = (f"Funnel plot, {lower_first(title)}: NPS of the programme's partners against their number of answers, with control limits "
               f"around the programme NPS {summary['target']:.1f}; {mine}.")
    return finish(fig, alt=alt)


def quarterly_trend(programme: pd.DataFrame, partner: pd.DataFrame | None = None, partner_label: str = "This partner",
                    title: str = "NPS over the trailing four quarters") -> plt.Figure:
    """Trailing-four-quarter NPS by quarter: the programme, and optionally one partner with its 95% band."""
    fig, ax = plt.subplots(figsize=(7.2, 3.2))
    x_labels = programme["quarter"].astype(str).tolist()
    x = np.arange(len(x_labels))
    ax.plot(x, programme["t4q_nps"], color=MUTED, lw=2, marker="o", ms=4, label="Programme")
    if partner is not None:
        p = partner.set_index(partner["quarter"].astype(str)).reindex(x_labels)
        ax.fill_between(x, p["t4q_nps_ci_low"].clip(*NPS), p["t4q_nps_ci_high"].clip(*NPS), color=PRIMARY, alpha=0.15, lw=0, label="95% interval")
        ax.plot(x, p["t4q_nps"], color=PRIMARY, lw=2, marker="o", ms=5, label=partner_label)
    ax.set_xticks(x, x_labels, fontsize=9)
    ax.axhline(0, color=GRID, lw=1)
    if partner is None:  # the programme alone: zoom in on its range
        lo, hi = programme["t4q_nps"].min(), programme["t4q_nps"].max()
        set_scale(ax, NPS, lo=lo - 15, hi=hi + 15)
        for xi, v in zip(x, programme["t4q_nps"]):
            ax.annotate(f"{v:.1f}", (xi, v), textcoords="offset points", xytext=(0, 7), ha="center", fontsize=8, color=INK)
    else:
        set_scale(ax, NPS)
    ax.set_ylabel("NPS, trailing 4 quarters")
    ax.set_title(title)
    ax.legend(loc="lower left", ncols=3, fontsize=8)
    fig.tight_layout()
    fit_texts(ax, ax.texts)
    prog = programme["t4q_nps"].dropna()
    key = f"programme from {prog.iloc[0]:.1f} in {x_labels[0]} to {prog.iloc[-1]:.1f} in {x_labels[-1]}" if len(prog) else "no programme figure"
    if partner is not None:
        mine = p["t4q_nps"].dropna()
        key += f"; {partner_label} {mine.iloc[-1]:.1f} in the latest quarter with answers" if len(mine) else f"; no figure for {partner_label}"
    return finish(fig, alt=f"Line chart, {lower_first(title)}: trailing-four-quarter NPS by quarter; {key}.")


def responses_by_month(by_month: pd.DataFrame, title: str = "Survey answers by month") -> plt.Figure:
    """Bars of answers per month, the fourth quarter highlighted."""
    fig, ax = plt.subplots(figsize=(7.2, 2.8))
    colours = [ACCENT if q == "Q4" else PRIMARY for q in by_month["quarter"]]
    ax.bar(by_month["month_name"], by_month["responses"], color=colours, width=0.7)
    for x, v in zip(by_month["month_name"], by_month["responses"]):
        ax.text(x, v, f"{v}", ha="center", va="bottom", fontsize=8, color=INK)
    ax.set_ylabel("Answers")
    ax.set_ylim(0, max(by_month["responses"].max(), 1) * 1.18)
    ax.set_title(title)
    ax.grid(axis="x", visible=False)
    total = int(by_month["responses"].sum())
    q4 = int(by_month.loc[by_month["quarter"] == "Q4", "responses"].sum())
    return finish(fig, alt=f"Bar chart, {lower_first(title)}: survey answers per month, fourth quarter highlighted; {q4:,} of {total:,} "
                           "answers came in the fourth quarter.")


def growth_bars(table: pd.DataFrame, label: str, value: str = "yoy_pct", title: str = "Consumption growth, year over year") -> plt.Figure:
    """Horizontal bars of growth (%) per partner (rows of ``table``, labelled by ``label``), negatives in red."""
    t = table.iloc[::-1]
    fig, ax = plt.subplots(figsize=(7.2, 0.32 * len(t) + 1.2))
    colours = [NEGATIVE if v < 0 else PRIMARY for v in t[value]]
    ax.barh(t[label], t[value], color=colours, height=0.6)
    for yi, v in enumerate(t[value]):
        ax.text(v + (1 if v >= 0 else -1), yi, f"{v:+.0f}%", va="center", ha="left" if v >= 0 else "right", fontsize=8, color=INK)
    lo, hi = min(t[value].min(), 0), max(t[value].max(), 0)
    pad = 0.15 * (hi - lo or 10)
    ax.set_xlim(lo - pad, hi + pad)
    ax.axvline(0, color=MUTED, lw=0.8)
    ax.set_xlabel("Growth of monthly consumption value (%)")
    ax.set_title(title)
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    fit_texts(ax, ax.texts)
    if table[value].notna().any():  # a chart of unknowns has no highest or lowest
        top, low = table.loc[table[value].idxmax()], table.loc[table[value].idxmin()]
        alt = (f"Bar chart, {lower_first(title)}: growth of {len(table)} partners; highest {top[label]} {top[value]:+.0f}%, "
               f"lowest {low[label]} {low[value]:+.0f}%.")
    else:
        alt = f"{title}: no partners (0 shown)."
    return finish(fig, alt=alt)

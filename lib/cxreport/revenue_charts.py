"""Charts of the CLV and churn report, in the house style (:mod:`cxreport.style`).

Each function draws one figure from a table the library computed and returns
it; nothing is computed here beyond arranging values for display.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
import seaborn as sns

from .style import (
    ACCENT,
    INK,
    MUTED,
    NEGATIVE,
    NEUTRAL,
    PALETTE,
    PCT,
    POSITIVE,
    PRIMARY,
    SEQUENTIAL,
    finish,
    fit_texts,
    lower_first,
    set_scale,
)

_money = mticker.FuncFormatter(lambda x, _: f"{x / 1e6:.1f}M" if abs(x) >= 1e6 else f"{x / 1e3:.0f}k" if abs(x) >= 1e3 else f"{x:.0f}")


def mrr_over_time(movements: pd.DataFrame, year: int):
    """Closing MRR per month with the report year shaded, and active customers on a second axis."""
    fig, ax = plt.subplots(figsize=(7.2, 3.4))
    x = movements["month"].dt.to_timestamp()
    ax.plot(x, movements["closing_mrr"], color=PRIMARY, lw=2, label="MRR")
    ax.axvspan(pd.Timestamp(f"{year}-01-01"), pd.Timestamp(f"{year}-12-31"), color=NEUTRAL, alpha=0.25, lw=0)
    ax.yaxis.set_major_formatter(_money)
    ax.set_ylabel("MRR")
    ax2 = ax.twinx()
    ax2.plot(x, movements["customers"], color=ACCENT, lw=1.2, ls="--", label="Active customers")
    ax2.set_ylabel("Active customers", color=ACCENT)
    ax2.grid(False)
    ax2.spines["right"].set_visible(True)
    ax.set_title("Monthly recurring revenue and active customers")
    lines = ax.get_lines() + ax2.get_lines()
    ax.legend(lines, [l.get_label() for l in lines], loc="upper left")
    last = movements.iloc[-1]
    return finish(fig, f"Shaded: {year}.",
                  alt=f"Line chart, monthly recurring revenue (MRR) and active customers by month, {year} shaded. "
                      f"Latest month: MRR {_money(last['closing_mrr'], None)}, {int(last['customers']):,} active customers.")


def mrr_bridge(bridge: dict, year: int):
    """Waterfall from opening to closing MRR of the year through the five movements."""
    steps = [("Opening", bridge["opening_mrr"]), ("New", bridge["new"]), ("Reactivation", bridge["reactivation"]),
             ("Expansion", bridge["expansion"]), ("Contraction", bridge["contraction"]), ("Churned", bridge["churned"])]
    fig, ax = plt.subplots(figsize=(7.2, 3.4))
    level = 0.0
    for i, (name, v) in enumerate(steps):
        if i == 0:
            ax.bar(i, v, color=PRIMARY)
            level = v
        else:
            ax.bar(i, v, bottom=level, color=POSITIVE if v >= 0 else NEGATIVE)
            level += v
        ax.text(i, (level if i else v) + 0.01 * bridge["opening_mrr"], _money(v if i else v, None) if i == 0 else f"{v / 1e3:+,.0f}k",
                ha="center", va="bottom", fontsize=8, color=INK)
    ax.bar(len(steps), bridge["closing_mrr"], color=PRIMARY)
    ax.text(len(steps), bridge["closing_mrr"] * 1.01, _money(bridge["closing_mrr"], None), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(steps) + 1), [s for s, _ in steps] + ["Closing"], fontsize=9)
    ax.yaxis.set_major_formatter(_money)
    lo = min(bridge["opening_mrr"], bridge["closing_mrr"]) * 0.85
    ax.set_ylim(lo, max(bridge["opening_mrr"] + bridge["new"] + bridge["reactivation"] + bridge["expansion"], bridge["closing_mrr"]) * 1.06)
    ax.set_title(f"MRR bridge {year}: December {year - 1} to December {year}")
    fig.tight_layout()
    fit_texts(ax, ax.texts)
    moves = ", ".join(f"{name.lower()} {v / 1e3:+,.0f}k" for name, v in steps[1:])
    return finish(fig, "Axis does not start at zero; bars show the changes.",
                  alt=f"Waterfall chart, MRR bridge {year}: from {_money(bridge['opening_mrr'], None)} in December {year - 1} to "
                      f"{_money(bridge['closing_mrr'], None)} in December {year}; {moves}.")


def benchmark_bars(rows: pd.DataFrame):
    """Our figure against the source's benchmark, one panel row per metric (columns metric, ours, benchmark, better)."""
    fig, axes = plt.subplots(len(rows), 1, figsize=(7.2, 0.8 * len(rows) + 0.8))
    axes = np.atleast_1d(axes)
    for ax, r in zip(axes, rows.itertuples()):
        good = (r.ours >= r.benchmark) if r.better == "higher" else (r.ours <= r.benchmark)
        ax.barh([0], [r.ours], color=POSITIVE if good else NEGATIVE, height=0.5)
        ax.axvline(r.benchmark, color=INK, lw=1.5, ls="--")
        ax.set_yticks([0], [r.metric], fontsize=9)
        top = max(r.ours, r.benchmark) * 1.3
        ax.set_xlim(0, top)
        ax.text(r.ours + top * 0.01, 0, f"{r.ours:.1f}{r.unit}", va="center", fontsize=8)
        ax.text(r.benchmark + top * 0.01, -0.3, f"benchmark {r.benchmark:g}{r.unit}", fontsize=7, color=MUTED, ha="left", va="top")
        ax.grid(False)
        ax.set_xticks([])
    axes[0].set_title("Against the source's benchmarks")
    meets = sum(((r.ours >= r.benchmark) if r.better == "higher" else (r.ours <= r.benchmark)) for r in rows.itertuples())
    each = "; ".join(f"{r.metric} {r.ours:.1f}{r.unit} (benchmark {r.benchmark:g}{r.unit})" for r in rows.itertuples())
    return finish(fig, "Green: meets the benchmark; red: falls short. Dashed line: benchmark.",
                  alt=f"Bar chart, our figures against the source's benchmarks: {meets} of {len(rows)} meet the benchmark. {each}.")


def cohort_heatmap(table: pd.DataFrame, title: str, max_periods: int = 16):
    """Retention matrix by acquisition quarter (rows) and quarters since acquisition (columns), cohort sizes on the right."""
    periods = [c for c in table.columns if str(c).isdigit()][:max_periods]
    data = table.set_index("cohort")[periods].astype(float)
    fig, ax = plt.subplots(figsize=(7.4, 0.22 * len(data) + 1.2))
    sns.heatmap(data, ax=ax, cmap=SEQUENTIAL, vmin=40, vmax=110, annot=True, fmt=".0f", annot_kws={"fontsize": 6},
                cbar=False, linewidths=0.3, linecolor="white")
    ax.set_xlabel("Quarters since acquisition")
    ax.set_ylabel("Acquisition quarter")
    ax.tick_params(axis="y", labelsize=7)
    ax.tick_params(axis="x", labelsize=7)
    for i, n in enumerate(table["customers"]):
        ax.text(len(periods) + 0.2, i + 0.5, f"n={n}", va="center", fontsize=6, color=MUTED)
    ax.set_title(title)
    first = [c for c in periods if c != "0"][:4]
    key = ""
    if first and len(data):
        q = first[-1]
        key = f" After {q} quarters, cohorts keep between {data[q].min():.0f}% and {data[q].max():.0f}%." if data[q].notna().any() else ""
    return finish(fig, "Percent of the cohort's starting value; blank = not yet observed.",
                  alt=f"Heatmap, {lower_first(title)}: retention of {len(data)} acquisition-quarter cohorts over up to {len(periods)} quarters.{key}")


def km_curves(curves: pd.DataFrame, title: str, xlabel: str = "Months since acquisition", order=None):
    """Kaplan-Meier step curves per group with confidence bands."""
    fig, ax = plt.subplots(figsize=(7.2, 3.4))
    groups = order if order is not None else list(dict.fromkeys(curves["group"]))
    for colour, g in zip(PALETTE, groups):
        c = curves[curves["group"] == g]
        if c.empty:
            continue
        ax.step(c["time"], 100 * c["survival"], where="post", color=colour, lw=1.6, label=str(g))
        ax.fill_between(c["time"], 100 * c["ci_low"], 100 * c["ci_high"], step="post", color=colour, alpha=0.12, lw=0)
    ax.set_ylabel("Still customers (%)")
    ax.set_xlabel(xlabel)
    set_scale(ax, PCT, lo=100 * curves["ci_low"].min() - 5 if len(curves) else 0)
    ax.legend(loc="lower left", fontsize=8, ncol=2)
    ax.set_title(title)
    ends = "; ".join(f"{g}: {100 * curves[curves['group'] == g]['survival'].iloc[-1]:.0f}% after "
                     f"{curves[curves['group'] == g]['time'].iloc[-1]:.0f}" for g in groups if (curves["group"] == g).any())
    return finish(fig, "Kaplan-Meier estimates with 95% confidence bands.",
                  alt=f"Line chart, {lower_first(title)}: share of customers still with us by {lower_first(xlabel)}, per group, with 95% bands. "
                      f"Last estimate {ends}.")


def hazard_ratios(table: pd.DataFrame, title: str = "Hazard ratios of churn"):
    """Forest plot of hazard ratios with intervals on a log scale; 1 = no difference."""
    t = table.iloc[::-1]
    fig, ax = plt.subplots(figsize=(7.2, 0.45 * len(t) + 1.2))
    y = np.arange(len(t))
    ax.errorbar(t["hr"], y, xerr=[t["hr"] - t["ci_low"], t["ci_high"] - t["hr"]], fmt="o", color=PRIMARY, capsize=3)
    ax.axvline(1, color=MUTED, ls="--", lw=1)
    ax.set_xscale("log")
    ax.set_yticks(y, t["display"] if "display" in t else t["term"], fontsize=8)
    ax.set_xlabel("Hazard ratio (log scale): above 1 leaves faster")
    ax.set_title(title)
    names = t["display"] if "display" in t else t["term"]
    each = "; ".join(f"{n} {hr:.2f}" for n, hr in zip(names[::-1], t["hr"][::-1]))
    return finish(fig, alt=f"Forest plot, {lower_first(title)}: hazard ratio of each of {len(t)} terms with its interval, log scale, 1 = no difference. {each}.")


def sbg_projection(observed: pd.DataFrame, projected: pd.DataFrame, title: str):
    """Observed Kaplan-Meier survival against the fitted sBG projection, per segment."""
    fig, ax = plt.subplots(figsize=(7.2, 3.4))
    for colour, g in zip(PALETTE, list(dict.fromkeys(projected["group"]))):
        o = observed[observed["group"] == g]
        p = projected[projected["group"] == g]
        ax.step(o["time"], 100 * o["survival"], where="post", color=colour, lw=1.4, label=f"{g} observed")
        ax.plot(p["time"], 100 * p["survival"], color=colour, lw=1.2, ls="--")
    ax.set_ylabel("Still customers (%)")
    ax.set_xlabel("Months since acquisition")
    set_scale(ax, PCT)
    ax.legend(loc="lower left", fontsize=8, ncol=2)
    ax.set_title(title)
    groups = list(dict.fromkeys(projected["group"]))
    ends = "; ".join(f"{g} {100 * projected[projected['group'] == g]['survival'].iloc[-1]:.0f}% at month "
                     f"{projected[projected['group'] == g]['time'].iloc[-1]:.0f}" for g in groups)
    return finish(fig, "Solid: observed (Kaplan-Meier); dashed: shifted-beta-geometric model, projected beyond the data.",
                  alt=f"Line chart, {lower_first(title)}: observed retention and the shifted-beta-geometric projection for {len(groups)} segments. "
                      f"Projected: {ends}.")


def clv_comparison(table: pd.DataFrame, title: str = "Lifetime value of a new customer by segment"):
    """Simple (undiscounted) and discounted constant-churn CLV against sBG CLV per segment."""
    t = table[~table["suppressed"]]
    fig, ax = plt.subplots(figsize=(7.2, 0.5 * len(t) + 1.4))
    y = np.arange(len(t))
    h = 0.27
    ax.barh(y - h, t["clv_simple"], height=h, color=NEUTRAL, label="Simple: ARPA × margin / churn")
    ax.barh(y, t["clv_simple_discounted"], height=h, color=ACCENT, label="Constant churn, discounted")
    ax.barh(y + h, t["clv_sbg"], height=h, color=PRIMARY, label="Shifted-beta-geometric, discounted")
    ax.set_yticks(y, t["segment"].astype(str), fontsize=8)
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(_money)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(title)
    if t["clv_sbg"].notna().any():  # unknown (e.g. no costs in the ledger): no highest to name
        best = t.loc[t["clv_sbg"].idxmax()]
        key = f" Highest shifted-beta-geometric CLV: {best['segment']}, {_money(best['clv_sbg'], None)}."
    else:
        key = " No segment with a known shifted-beta-geometric CLV." if len(t) else " No segment with enough customers (0 shown)."
    return finish(fig, "Gross profit per customer.",
                  alt=f"Bar chart, {lower_first(title)}: three lifetime-value estimates for each of {len(t)} segments.{key}")


def revenue_by_segment_bars(table: pd.DataFrame, by: str, title: str):
    """Revenue of the year and recurring share per segment."""
    t = table[~table["suppressed"]]
    fig, ax = plt.subplots(figsize=(7.2, 3.2))
    ax.bar(t[by].astype(str), t["revenue"], color=PRIMARY)
    ax.yaxis.set_major_formatter(_money)
    for i, r in enumerate(t.itertuples()):
        ax.annotate(f"{r.recurring_share_pct:.0f}% recurring", (i, r.revenue), textcoords="offset points", xytext=(0, 2),
                    ha="center", va="bottom", fontsize=8, color=MUTED)
    ax.set_ylim(0, max(float(t["revenue"].max()), 1.0) * 1.15 if len(t) else 1.0)  # room for the labels above the bars
    ax.set_ylabel("Revenue")
    ax.tick_params(axis="x", labelsize=8)
    ax.set_title(title)
    fig.tight_layout()
    fit_texts(ax, ax.texts, margin_px=4)
    if t["revenue"].notna().any():
        top = t.loc[t["revenue"].idxmax()]
        alt = (f"Bar chart, {lower_first(title)}: revenue of each of {len(t)} segments with its recurring share. Largest: "
               f"{top[by]}, {_money(top['revenue'], None)}, {top['recurring_share_pct']:.0f}% recurring.")
    else:
        alt = f"{title}: no segment with enough customers (0 shown)."
    return finish(fig, alt=alt)

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

from .style import ACCENT, INK, MUTED, NEGATIVE, NEUTRAL, PALETTE, POSITIVE, PRIMARY, SEQUENTIAL, finish

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
    return finish(fig, f"Shaded: {year}.")


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
    return finish(fig, "Axis does not start at zero; bars show the changes.")


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
    return finish(fig, "Green: meets the benchmark; red: falls short. Dashed line: benchmark.")


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
    return finish(fig, "Percent of the cohort's starting value; blank = not yet observed.")


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
    ax.set_ylim(max(0, 100 * curves["ci_low"].min() - 5) if len(curves) else 0, 101)
    ax.legend(loc="lower left", fontsize=8, ncol=2)
    ax.set_title(title)
    return finish(fig, "Kaplan-Meier estimates with 95% confidence bands.")


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
    return finish(fig)


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
    ax.set_ylim(0, 101)
    ax.legend(loc="lower left", fontsize=8, ncol=2)
    ax.set_title(title)
    return finish(fig, "Solid: observed (Kaplan-Meier); dashed: shifted-beta-geometric model, projected beyond the data.")


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
    return finish(fig, "Gross profit per customer.")


def revenue_by_segment_bars(table: pd.DataFrame, by: str, title: str):
    """Revenue of the year and recurring share per segment."""
    t = table[~table["suppressed"]]
    fig, ax = plt.subplots(figsize=(7.2, 3.2))
    ax.bar(t[by].astype(str), t["revenue"], color=PRIMARY)
    ax.yaxis.set_major_formatter(_money)
    for i, r in enumerate(t.itertuples()):
        ax.text(i, r.revenue, f"{r.recurring_share_pct:.0f}% recurring", ha="center", va="bottom", fontsize=8, color=MUTED)
    ax.set_ylabel("Revenue")
    ax.tick_params(axis="x", labelsize=8)
    ax.set_title(title)
    return finish(fig)

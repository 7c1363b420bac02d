"""Charts of the cloud-maturity report, in the house style (:mod:`cxreport.style`).

Each function draws a table that :mod:`cxreport.maturity` computed; none
computes a figure of its own.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from .style import (
    ACCENT,
    INK,
    MUTED,
    NEGATIVE,
    NEUTRAL,
    NPS,
    PCT,
    POSITIVE,
    PRIMARY,
    RATING,
    SEQUENTIAL,
    SMALL_SIZE,
    clip_interval,
    finish,
    fit_texts,
    headroom,
    lower_first,
    set_scale,
)

# Stage 1 pale to stage 5 deep, so the order of the stages reads at a glance.
STAGE_COLOURS = sns.light_palette(PRIMARY, 7)[2:]
MOVEMENT_COLOURS = {"Moved up": POSITIVE, "Stayed": NEUTRAL, "Moved down": NEGATIVE}


def _text_colour(i: int) -> str:
    return "white" if i >= 2 else INK


def stage_distribution(dist: pd.DataFrame, title: str = "Customers by cloud-maturity stage") -> plt.Figure:
    """Bars of our share per stage (with 95% intervals) beside IDC's benchmark share."""
    fig, ax = plt.subplots(figsize=(7.2, 3.6))
    x = np.arange(len(dist))
    w = 0.38
    ax.bar(x - w / 2, dist["share_pct"], width=w, color=PRIMARY, label="Our customers")
    ax.errorbar(x - w / 2, dist["share_pct"], yerr=clip_interval(dist["share_pct"], dist["ci_low"], dist["ci_high"], PCT),
                fmt="none", ecolor=INK, capsize=3, lw=1)
    ax.bar(x + w / 2, dist["benchmark_pct"], width=w, color=ACCENT, alpha=0.85, label="IDC benchmark")
    for xi, v, hi in zip(x, dist["share_pct"], dist["ci_high"]):
        ax.text(xi - w / 2, hi + 0.8, f"{v:.1f}%", ha="center", va="bottom", fontsize=9, color=INK)
    for xi, v in zip(x, dist["benchmark_pct"]):
        ax.text(xi + w / 2, v + 0.8, f"{v:.0f}%", ha="center", va="bottom", fontsize=9, color=MUTED)
    ax.set_xticks(x, [f"{s}\n{n}" for s, n in zip(dist["stage"], dist["stage_name"])])
    set_scale(ax, PCT, hi=headroom(max(dist["ci_high"].max(), dist["benchmark_pct"].max())))
    ax.set_ylabel("Share of customers (%)")
    ax.set_title(title)
    ax.legend(loc="upper center", ncols=2, bbox_to_anchor=(0.5, -0.2), fontsize=9)
    ax.grid(axis="x", visible=False)
    fig.tight_layout()
    fit_texts(ax, ax.texts)
    shares = "; ".join(f"{s} {n}: {v:.1f}% (IDC {b:.0f}%)" for s, n, v, b in
                       zip(dist["stage"], dist["stage_name"], dist["share_pct"], dist["benchmark_pct"]))
    return finish(fig, alt=f"Bar chart, {lower_first(title)}: our share of customers at each of the five stages, with 95% intervals, "
                           f"beside IDC's benchmark share. {shares}.")


def stage_mix(table: pd.DataFrame, stage_names: list[str], title: str, segment_label: str = "") -> plt.Figure:
    """100% stacked bars: the stage mix of each (unsuppressed) segment, with its base and mean stage."""
    t = table[~table["suppressed"]].sort_values("mean_stage").reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7.2, 0.42 * len(t) + 1.6))
    y = np.arange(len(t))
    left = np.zeros(len(t))
    for i, name in enumerate(stage_names):
        vals = t[f"pct_{name}"].to_numpy(dtype=float)
        ax.barh(y, vals, left=left, color=STAGE_COLOURS[i], height=0.65, label=name)
        for yi, (l, v) in enumerate(zip(left, vals)):
            if v >= 7:
                ax.text(l + v / 2, yi, f"{v:.0f}", ha="center", va="center", fontsize=8, color=_text_colour(i))
        left += vals
    for yi, (n, m) in enumerate(zip(t["n"], t["mean_stage"])):
        ax.text(101.5, yi, f"n={int(n)}  avg {m:.1f}", va="center", fontsize=8, color=MUTED)
    ax.set_yticks(y, t["segment"].astype(str))
    ax.set_xlim(0, 100)
    ax.set_xlabel("Share of the segment's customers at each stage (%)")
    if segment_label:
        ax.set_ylabel(segment_label)
    ax.set_title(title)
    ax.legend(loc="upper center", ncols=5, bbox_to_anchor=(0.5, -0.5 / (0.42 * len(t) + 1.6) - 0.12), fontsize=8)
    ax.grid(visible=False)
    if len(t):
        hi_row, lo_row = t.iloc[-1], t.iloc[0]
        alt = (f"100% stacked bar chart, {lower_first(title)}: the share of each of {len(t)} segments' customers at each maturity stage. "
               f"Highest average stage: {hi_row['segment']} ({hi_row['mean_stage']:.1f}); lowest: {lo_row['segment']} ({lo_row['mean_stage']:.1f}).")
    else:
        alt = f"{title}: no segment with enough customers (0 shown)."
    return finish(fig, alt=alt)


def dimension_heatmap(profile: pd.DataFrame, title: str = "Average dimension score by stage") -> plt.Figure:
    """Heatmap of the mean score (1-5) of each dimension per stage; suppressed stages left blank."""
    labels = [c for c in profile.columns if c not in ("stage_name", "n", "suppressed")]
    data = profile[labels].astype(float)
    data.index = [f"{s}. {n} (n={c})" for s, n, c in zip(profile.index, profile["stage_name"], profile["n"])]
    fig, ax = plt.subplots(figsize=(7.2, 3.8))
    sns.heatmap(data, annot=True, fmt=".1f", cmap=SEQUENTIAL, vmin=1, vmax=5, cbar_kws={"label": "Average score (1-5)"},
                linewidths=1, linecolor="white", ax=ax, annot_kws={"fontsize": 9})
    row_min = data.to_numpy().argmin(axis=1) if data.notna().any().any() else []
    for r, c in enumerate(row_min):
        if data.iloc[r].notna().any():
            ax.add_patch(plt.Rectangle((c, r), 1, 1, fill=False, edgecolor=NEGATIVE, lw=2))
    ax.set_xticklabels([textwrap(label, 14) for label in labels], rotation=0, fontsize=8)
    ax.set_yticklabels(ax.get_yticklabels(), rotation=0, fontsize=9)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_title(title)
    values = data.to_numpy(dtype=float)
    if np.isfinite(values).any():
        r, c = np.unravel_index(np.nanargmin(values), values.shape)
        key = f" Lowest: {labels[c]} at stage {data.index[r]}, {values[r, c]:.1f}."
    else:
        key = " No stage has enough customers to profile (0 shown)."
    return finish(fig, "Red frame: the stage's weakest dimension.",
                  alt=f"Heatmap, {lower_first(title)}: average score (1-5) of each of {len(labels)} dimensions for each maturity stage, "
                      f"the weakest dimension of each stage framed.{key}")


def textwrap(text: str, width: int) -> str:
    import textwrap as _tw

    return "\n".join(_tw.wrap(str(text), width)) or str(text)


def transition_heatmap(counts: pd.DataFrame, shares: pd.DataFrame, stage_names: list[str], previous_year: int, year: int) -> plt.Figure:
    """Previous stage × current stage: row shares as colour, counts and shares as labels."""
    fig, ax = plt.subplots(figsize=(7.2, 4.0))
    annot = np.array([[f"{c}\n{s:.0f}%" if c else "" for c, s in zip(cr, sr)] for cr, sr in zip(counts.to_numpy(), shares.fillna(0).to_numpy())])
    ticks = [f"{i}. {n}" for i, n in enumerate(stage_names, 1)]
    sns.heatmap(shares.fillna(0), annot=annot, fmt="", cmap=SEQUENTIAL, vmin=0, vmax=100, cbar_kws={"label": "Share of the row (%)"},
                linewidths=1, linecolor="white", ax=ax, annot_kws={"fontsize": 8}, xticklabels=ticks, yticklabels=ticks)
    for i in range(len(stage_names)):
        ax.add_patch(plt.Rectangle((i, i), 1, 1, fill=False, edgecolor=MUTED, lw=1.2))
    ax.set_xlabel(f"Stage in {year}")
    ax.set_ylabel(f"Stage in {previous_year}")
    ax.set_xticklabels(ax.get_xticklabels(), rotation=0, fontsize=8)
    ax.set_yticklabels(ax.get_yticklabels(), rotation=0, fontsize=8)
    ax.set_title(f"Where customers moved, {previous_year} to {year}")
    total = int(np.nansum(counts.to_numpy(dtype=float)))
    stayed = int(np.nansum(np.diag(counts.to_numpy(dtype=float))))
    return finish(fig, alt=f"Heatmap, where customers moved from {previous_year} to {year}: customers by stage in {previous_year} (rows) "
                           f"and in {year} (columns), as counts and row shares. {stayed} of the {total} customers assessed in both years "
                           "stayed at their stage (the framed diagonal).")


def movement_bars(moves: dict, title: str = "Movement between the two assessments") -> plt.Figure:
    """Shares that moved up, stayed and moved down, with 95% intervals."""
    keys = [("Moved up", "moved_up"), ("Stayed", "stayed"), ("Moved down", "moved_down")]
    fig, ax = plt.subplots(figsize=(7.2, 2.3))
    y = np.arange(len(keys))[::-1]
    for yi, (label, key) in zip(y, keys):
        v, (lo, hi) = moves[f"{key}_pct"], moves[f"{key}_ci95"]
        ax.barh(yi, v, color=MOVEMENT_COLOURS[label], height=0.6)
        ax.errorbar(v, yi, xerr=clip_interval([v], [lo], [hi], PCT), fmt="none", ecolor=INK, capsize=3, lw=1)
        ax.text(min(hi, 100) + 1.5, yi, f"{v:.1f}%  ({moves[key]})", va="center", fontsize=9, color=INK)
    ax.set_yticks(y, [k for k, _ in keys])
    set_scale(ax, PCT, axis="x")
    ax.set_xlabel(f"Share of the {moves['n']} customers assessed in both years (%), with 95% CI")
    ax.set_title(title)
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    fit_texts(ax, ax.texts)
    return finish(fig, alt=f"Bar chart, {lower_first(title)}: of the {moves['n']} customers assessed in both years, "
                           f"{moves['moved_up_pct']:.1f}% moved up a stage, {moves['stayed_pct']:.1f}% stayed and "
                           f"{moves['moved_down_pct']:.1f}% moved down, with 95% intervals.")


def today_vs_target(current: pd.Series, target: pd.Series, stage_names: list[str], idc_optimized_target_pct: float | None = None,
                    title: str = "Where customers are today and where they expect to be") -> plt.Figure:
    """Shares of customers at each stage today and at their target stage (two years out)."""
    fig, ax = plt.subplots(figsize=(7.2, 3.3))
    x = np.arange(len(stage_names))
    w = 0.38
    cur = 100 * current / current.sum()
    tgt = 100 * target / target.sum()
    ax.bar(x - w / 2, cur, width=w, color=PRIMARY, label=f"Today (n={int(current.sum())})")
    ax.bar(x + w / 2, tgt, width=w, color=POSITIVE, label=f"Target in two years (n={int(target.sum())})")
    for xi, a, b in zip(x, cur, tgt):
        ax.text(xi - w / 2, a + 0.8, f"{a:.0f}%", ha="center", va="bottom", fontsize=SMALL_SIZE, color=INK)
        ax.text(xi + w / 2, b + 0.8, f"{b:.0f}%", ha="center", va="bottom", fontsize=SMALL_SIZE, color=INK)
    top = max(cur.max(), tgt.max(), idc_optimized_target_pct or 0)
    set_scale(ax, PCT, hi=headroom(top))
    if idc_optimized_target_pct is not None:
        # IDC's expected share at the last stage: a marker line over the target bar, labelled to the right of
        # the bars (clear of every bar), in the space past the last stage.
        ax.plot([x[-1] + 0.02, x[-1] + w - 0.02], [idc_optimized_target_pct] * 2, color=ACCENT, lw=2.5)
        ax.annotate(f"IDC {idc_optimized_target_pct:.0f}%", (x[-1] + w, idc_optimized_target_pct), textcoords="offset points",
                    xytext=(4, 0), ha="left", va="center", fontsize=SMALL_SIZE, color=ACCENT, fontweight="bold")
        ax.set_xlim(x[0] - 0.6, x[-1] + w + 0.75)
    ax.set_xticks(x, [f"{i}\n{n}" for i, n in enumerate(stage_names, 1)])
    ax.set_ylabel("Share of customers (%)")
    ax.set_title(title)
    ax.legend(loc="upper center", ncols=2, bbox_to_anchor=(0.5, -0.2), fontsize=9)
    ax.grid(axis="x", visible=False)
    fig.tight_layout()
    fit_texts(ax, ax.texts)
    idc = f" IDC expects {idc_optimized_target_pct:.0f}% at {stage_names[-1]}." if idc_optimized_target_pct is not None else ""
    return finish(fig, alt=f"Bar chart, {lower_first(title)}: share of customers at each stage today and at the stage they expect in two "
                           f"years. {stage_names[-1]}: {cur.iloc[-1]:.0f}% today, {tgt.iloc[-1]:.0f}% expected.{idc}")


def satisfaction_by_stage(table: pd.DataFrame, title: str = "Satisfaction by maturity stage") -> plt.Figure:
    """CSAT (1-5) and NPS per stage with 95% intervals; suppressed stages marked."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(7.2, 3.2), sharey=True)
    y = np.arange(len(table))[::-1]
    labels = [f"{s}. {n}" for s, n in zip(table["stage"], table["stage_name"])]
    for ax, (col, lo, hi, base, xlim, xlabel, fmt) in zip(
        (a1, a2),
        (("csat_mean", "csat_ci_low", "csat_ci_high", "csat_n", RATING, "Average CSAT (1-5)", "{:.1f}"),
         ("nps", "nps_ci_low", "nps_ci_high", "nps_n", NPS, "NPS (-100 to +100)", "{:.0f}")),
    ):
        # The value sits above its marker, so the label never needs room past the scale's end.
        for yi, (v, l, h, n) in enumerate(zip(table[col], table[lo], table[hi], table[base])):
            yy = y[yi]
            if pd.isna(v):
                ax.text(xlim[0] + 0.02 * (xlim[1] - xlim[0]), yy, f"too few answers (n={int(n)})", va="center", fontsize=SMALL_SIZE, color=MUTED)
                continue
            ax.errorbar(v, yy, xerr=clip_interval([v], [l], [h], xlim), fmt="o", color=PRIMARY, ecolor=INK, capsize=3, lw=1, ms=6, clip_on=False)
            ax.annotate(f"{fmt.format(v)} (n={int(n)})", (v, yy), textcoords="offset points", xytext=(0, 6), ha="center", va="bottom",
                        fontsize=7, color=INK)
        set_scale(ax, xlim, axis="x")
        ax.set_ylim(y.min() - 0.6, y.max() + 0.8)
        ax.set_xlabel(xlabel)
        ax.grid(axis="y", visible=False)
    a2.axvline(0, color=MUTED, lw=0.8)
    a1.set_yticks(y, labels)
    a1.set_title(title)
    fig.tight_layout()
    for ax in (a1, a2):
        fit_texts(ax, ax.texts)
    shown = table[table["csat_mean"].notna()]
    if len(shown):
        best = shown.loc[shown["csat_mean"].idxmax()]
        key = f" Highest CSAT: stage {best['stage']} {best['stage_name']}, {best['csat_mean']:.1f} (NPS {best['nps']:.0f})."
    else:
        key = " No stage has enough answers (0 shown)."
    return finish(fig, alt=f"Dot chart, {lower_first(title)}: average CSAT (1-5) and NPS (-100 to +100) of each maturity stage with 95% intervals.{key}")

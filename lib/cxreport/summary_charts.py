"""Charts of the executive summary, in the house style (:mod:`cxreport.style`)."""

from __future__ import annotations

import html

import matplotlib.pyplot as plt
import pandas as pd

from .style import INK, MUTED, PALETTE, SEQUENTIAL, finish

# Small multiples, in reading order: (title, [series keys of summary.trend_table]).
PANELS = (
    ("Net Promoter Score", ["nps", "partner_nps"]),
    ("CSAT, average (1-5)", ["csat"]),
    ("Logo churn, annual (%)", ["churn"]),
    ("Net revenue retention (%)", ["nrr"]),
    ("Recurring share (%)", ["recurring"]),
)


def _year_ticks(ax, years) -> None:
    """Whole years on the x axis: every year, or every second one (always the last) when there are more than four."""
    years = sorted(int(y) for y in years)
    ticks = years if len(years) <= 4 else years[::-1][::2][::-1]
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(y) for y in ticks])
SERIES_NAMES = {"nps": "Survey", "partner_nps": "Partner programme"}


def trend_grid(trends: pd.DataFrame, stage_mix: pd.DataFrame, title: str = "Trends") -> plt.Figure:
    """Small multiples of the multi-year series (:func:`cxreport.summary.trend_table`) and the stage mix by year.

    Panels without data are left out; a series with one year is a single
    labelled point. The stage mix is a 100% stacked bar per year.
    """
    panels = [(t, [k for k in keys if k in set(trends["key"])]) for t, keys in PANELS]
    panels = [(t, keys) for t, keys in panels if keys]
    n = len(panels) + (1 if len(stage_mix) else 0)
    if n == 0:
        fig, ax = plt.subplots(figsize=(7.2, 1))
        ax.axis("off")
        ax.text(0, 0.5, "No multi-year figures available.", color=MUTED)
        return fig
    cols = 3 if n > 4 else max(1, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(7.4, 2.15 * rows), squeeze=False)
    flat = list(axes.ravel())
    for ax, (panel_title, keys) in zip(flat, panels):
        for i, key in enumerate(keys):
            s = trends[trends["key"] == key].sort_values("year")
            ax.plot(s["year"], s["value"], marker="o", ms=3.5, lw=1.6, color=PALETTE[i], label=SERIES_NAMES.get(key, key))
            last = s.iloc[-1]
            ax.annotate(f"{last['value']:.2f}" if last["unit"] == "score2" else f"{last['value']:.1f}", (last["year"], last["value"]),
                        textcoords="offset points", xytext=(0, 5), ha="center", fontsize=7.5, color=PALETTE[i])
        ax.set_title(panel_title, fontsize=9)
        _year_ticks(ax, trends.loc[trends["key"].isin(keys), "year"].unique())
        ax.tick_params(labelsize=7.5)
        ax.margins(x=0.12, y=0.25)
        if len(keys) > 1:
            ax.legend(fontsize=7, loc="center left")
    used = len(panels)
    if len(stage_mix):
        ax = flat[used]
        mix = stage_mix.pivot_table(index="year", columns="stage", values="pct", aggfunc="sum").sort_index()
        names = stage_mix.drop_duplicates("stage").set_index("stage")["name"]
        bottom = pd.Series(0.0, index=mix.index)
        for j, stage in enumerate(mix.columns):
            colour = SEQUENTIAL(0.2 + 0.8 * j / max(1, len(mix.columns) - 1))
            ax.bar(mix.index.astype(str), mix[stage], bottom=bottom, color=colour, width=0.6, label=names.get(stage, stage))
            bottom += mix[stage].fillna(0)
        ax.set_title("Stage mix (%)", fontsize=9)
        ax.set_ylim(0, 100)
        ax.tick_params(labelsize=7.5)
        handles, labels = ax.get_legend_handles_labels()  # top stage first, as stacked
        ax.legend(handles[::-1], labels[::-1], fontsize=6.5, loc="upper left", bbox_to_anchor=(1.0, 1.0), handlelength=1)
        used += 1
    for ax in flat[used:]:
        ax.axis("off")
    fig.suptitle(title, x=0.01, ha="left", fontsize=11, fontweight="bold", color=INK)
    return finish(fig)


def headline_table(frame: pd.DataFrame, caption: str | None = None) -> str:
    """The headline table as compact HTML: one line per figure, small type, so the summary stays short.

    ``frame`` is :func:`cxreport.summary.display_table`; the first two
    columns (report, measure) are left-aligned, the figures right-aligned.
    """
    styler = frame.style.hide(axis="index").format(na_rep="–", escape="html").format_index(escape="html", axis=1)
    styler = styler.set_table_styles([
        {"selector": "", "props": "font-size: 11px; width: 100%;"},
        {"selector": "td, th", "props": "padding: 3px 6px; white-space: nowrap;"},
        {"selector": "td:nth-child(2), th:nth-child(2)", "props": "text-align: left;"},
        {"selector": "caption", "props": "font-size: 12px;"},
    ])
    if caption:
        styler = styler.set_caption(html.escape(caption))
    return styler.to_html()

"""Charts of the executive summary, in the house style (:mod:`cxreport.style`)."""

from __future__ import annotations

import html
import math

import matplotlib.pyplot as plt
import pandas as pd

from .style import (
    INK,
    MUTED,
    NPS,
    PALETTE,
    PCT,
    RATING,
    SEQUENTIAL,
    finish,
    lower_first,
    set_scale,
)

# Small multiples, in reading order: (title, [series keys of summary.trend_table], scale of the measure).
PANELS = (
    ("Net Promoter Score", ["nps", "partner_nps"], NPS),
    ("CSAT, average (1-5)", ["csat"], RATING),
    ("Logo churn, annual (%)", ["churn"], PCT),
    ("Net revenue retention (%)", ["nrr"], None),  # a share that can pass 100: from 0 to the next 25 above the data
    ("Recurring share (%)", ["recurring"], PCT),
)
SERIES_NAMES = {"nps": "Survey", "partner_nps": "Partner programme"}


def _year_ticks(ax, years) -> None:
    """Whole years on the x axis, only those with data: every year, or every second one (always the last) when there are more than four."""
    years = sorted(int(y) for y in years)
    ticks = years if len(years) <= 4 else years[::-1][::2][::-1]
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(y) for y in ticks])
    ax.set_xlim(years[0] - 0.5, years[-1] + 0.5)


def _span(years) -> str:
    years = sorted(int(y) for y in years)
    return str(years[0]) if years[0] == years[-1] else f"{years[0]}-{years[-1]}"


def _has_intervals(s: pd.DataFrame) -> bool:
    return {"ci_low", "ci_high"} <= set(s.columns) and s[["ci_low", "ci_high"]].notna().all(axis=None)


def _fmt(value: float, unit: str) -> str:
    return f"{value:.2f}" if unit == "score2" else f"{value:.1f}"


def trend_grid(trends: pd.DataFrame, stage_mix: pd.DataFrame, title: str = "Trends") -> plt.Figure:
    """Small multiples of the multi-year series (:func:`cxreport.summary.trend_table`) and the stage mix by year.

    Each panel shows only the years with data, and says them in its title.
    So that a change within the noise does not look like a climb, a panel's
    axis is honest about the measure: a sample estimate with its interval
    (columns ``ci_low``/``ci_high`` of ``trends``, when the table has them)
    gets the interval as a band, and the axis is zoomed around the bands but
    stays within the scale; without intervals the axis shows the full scale
    (1-5 for CSAT, -100 to +100 for NPS, 0-100 for shares). Panels without
    data are left out; a series with one year is a single labelled point. The
    stage mix is a 100% stacked bar per year.
    """
    present = set(trends["key"])
    panels = [(t, [k for k in keys if k in present], scale) for t, keys, scale in PANELS]
    panels = [p for p in panels if p[1]]
    n = len(panels) + (1 if len(stage_mix) else 0)
    if n == 0:
        fig, ax = plt.subplots(figsize=(7.2, 1))
        ax.axis("off")
        ax.text(0, 0.5, "No multi-year figures available.", color=MUTED)
        return finish(fig, alt=f"{title}: no multi-year figures available (0 series).")
    cols = 3 if n > 4 else max(1, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(7.4, 2.35 * rows), squeeze=False)
    flat = list(axes.ravel())
    described = []
    for ax, (panel_title, keys, scale) in zip(flat, panels):
        series = [trends[trends["key"] == key].sort_values("year") for key in keys]
        years = sorted(set().union(*(set(s["year"]) for s in series)))
        lows, highs = [], []
        for i, (key, s) in enumerate(zip(keys, series)):
            colour = PALETTE[i]
            if _has_intervals(s):
                lo_band = s["ci_low"].clip(*(scale or (-float("inf"), float("inf"))))
                hi_band = s["ci_high"].clip(*(scale or (-float("inf"), float("inf"))))
                if len(s) > 1:
                    ax.fill_between(s["year"], lo_band, hi_band, color=colour, alpha=0.15, lw=0)
                else:
                    ax.errorbar(s["year"], s["value"], yerr=[s["value"] - lo_band, hi_band - s["value"]], fmt="none", ecolor=colour, capsize=3)
                lows.append(lo_band.min())
                highs.append(hi_band.max())
            else:
                lows.append(None)
            ax.plot(s["year"], s["value"], marker="o", ms=3.5, lw=1.6, color=colour, label=SERIES_NAMES.get(key, key), clip_on=False)
            last = s.iloc[-1]
            ax.annotate(_fmt(last["value"], last["unit"]), (last["year"], last["value"]),
                        textcoords="offset points", xytext=(0, 5), ha="center", fontsize=7.5, color=colour)
            first = s.iloc[0]
            name = SERIES_NAMES.get(key, "")
            described.append(f"{panel_title}{' (' + name + ')' if name else ''} {_span(s['year'])}: "
                             + (f"{_fmt(first['value'], first['unit'])} to {_fmt(last['value'], last['unit'])}" if len(s) > 1
                                else _fmt(last["value"], last["unit"])))
        if scale is None:  # a share that can pass 100 (NRR): from 0 to the next 25 above the data
            top = max(float(s["value"].max()) for s in series)
            scale = (0.0, max(100.0, 25.0 * math.ceil(top * 1.1 / 25.0)))
        if all(v is not None for v in lows):  # every series has its interval: zoom around the bands, within the scale
            pad = 0.25 * max(max(highs) - min(lows), 1e-9)
            set_scale(ax, scale, lo=min(lows) - pad, hi=max(highs) + pad)
        else:  # no interval to judge the change by: the full scale
            set_scale(ax, scale)
        ax.set_title(f"{panel_title}\n{_span(years)}", fontsize=9)
        _year_ticks(ax, years)
        ax.tick_params(labelsize=7.5)
        if len(keys) > 1:
            ax.legend(fontsize=7, loc="lower left")
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
        ax.set_title(f"Stage mix (%)\n{_span(mix.index)}", fontsize=9)
        set_scale(ax, PCT)
        ax.tick_params(labelsize=7.5)
        handles, labels = ax.get_legend_handles_labels()  # top stage first, as stacked
        ax.legend(handles[::-1], labels[::-1], fontsize=6.5, loc="upper left", bbox_to_anchor=(1.0, 1.0), handlelength=1)
        last_year = mix.index[-1]
        described.append(f"stage mix {_span(mix.index)}, {last_year}: "
                         + ", ".join(f"{names.get(st, st)} {mix.loc[last_year, st]:.0f}%" for st in mix.columns if pd.notna(mix.loc[last_year, st])))
        used += 1
    for ax in flat[used:]:
        ax.axis("off")
    fig.suptitle(title, x=0.01, ha="left", fontsize=11, fontweight="bold", color=INK)
    return finish(fig, alt=f"Small multiples, {lower_first(title)}, each panel over the years it has data, on its full scale unless "
                           f"an interval is shown: " + "; ".join(described) + ".")


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

"""Charts that tell the truth and can be read (issue 13, point 2).

Every chart function is drawn with the sample data exactly as its notebook
calls it, then checked on the figure object:

- no two texts overlap and every text lies inside the figure
  (:func:`assert_readable`, the one generic helper);
- every axis stays within its measure's scale (1-5, -100..100, 0-100);
- every chart carries alt text that says what it shows and its key number.

The report models are built once per test session from ``data/sample``.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import matplotlib.text
import pandas as pd
import pytest
from cxreport import (
    maturity_charts,
    partner_charts,
    revenue_charts,
    style,
    summary_charts,
    survey_charts,
)
from sample_models import sample_model

ROOT = Path(__file__).resolve().parents[1]
DATA = str(ROOT / "data" / "sample")
YEAR = 2020
TOLERANCE_PX = 0.5  # boxes that merely touch do not overlap


# ---------------------------------------------------------------- the generic helper
def text_artists(fig):
    """The texts a reader sees: visible, with something to read, and (for tick labels) on a tick in view."""
    hidden = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            drawn = set(axis._update_ticks()) if axis.get_visible() else set()  # the ticks drawn: within the view
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if tick not in drawn:
                    hidden.update({id(tick.label1), id(tick.label2)})
    return [t for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text().strip() and id(t) not in hidden]


def assert_readable(fig, name: str = "chart") -> None:
    """Draw ``fig`` and assert that no two texts overlap and that every text is inside the figure."""
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    texts = text_artists(fig)
    boxes = [t.get_window_extent(r) for t in texts]
    frame = fig.bbox
    problems = []
    for t, b in zip(texts, boxes):
        if b.x0 < frame.x0 - TOLERANCE_PX or b.y0 < frame.y0 - TOLERANCE_PX or b.x1 > frame.x1 + TOLERANCE_PX or b.y1 > frame.y1 + TOLERANCE_PX:
            problems.append(f"outside the figure: {t.get_text()!r} {tuple(round(v) for v in b.extents)} (figure {tuple(round(v) for v in frame.extents)})")
    for (ta, a), (tb, b) in itertools.combinations(zip(texts, boxes), 2):
        w = min(a.x1, b.x1) - max(a.x0, b.x0)
        h = min(a.y1, b.y1) - max(a.y0, b.y0)
        if w > TOLERANCE_PX and h > TOLERANCE_PX:
            problems.append(f"overlap: {ta.get_text()!r} and {tb.get_text()!r}")
    assert not problems, f"{name}:\n" + "\n".join(problems)


# ---------------------------------------------------------------- the sample models, built once
def model(name: str):
    return sample_model(name)


def _survey():
    r, c = model("survey_scores"), survey_charts
    return [
        ("csat_distribution", lambda: c.csat_distribution(r.csat, "Overall satisfaction with the service"), "x", None),
        ("touchpoint_means", lambda: c.touchpoint_means(r.touchpoints), "x", style.RATING),
        ("segment_comparison", lambda: c.segment_comparison(r.tenure, *r.tenure_groups, "Touchpoint ratings: first-year vs experienced users"), "x", style.RATING),
        ("nps_stacked", lambda: c.nps_stacked(r.nps_by_year, "Promoters, passives and detractors by survey year"), "x", style.PCT),
        ("nps_trend", lambda: c.nps_trend(r.nps_by_year), "y", style.NPS),
        ("importance_performance", lambda: c.importance_performance(r.drivers), "x", style.RATING),
        ("theme_bars", lambda: c.theme_bars(r.value_themes_mentioned, "What partners value most"), "x", style.PCT),
    ]


def _maturity():
    r, c = model("cloud_maturity"), maturity_charts
    out = [("stage_distribution", lambda: c.stage_distribution(r.distribution, f"Customers by cloud-maturity stage, {r.year}"), "y", style.PCT)]
    for key, seg in r.segments.items():
        if seg.shown:
            out.append((f"stage_mix[{key}]", lambda seg=seg: c.stage_mix(seg.table, r.stage_names, f"Stage mix by {seg.label.lower()}"), "x", style.PCT))
    out += [
        ("dimension_heatmap", lambda: c.dimension_heatmap(r.profile, f"Average dimension score by stage, {r.year}"), None, None),
        ("transition_heatmap", lambda: c.transition_heatmap(r.transitions, r.transition_shares, r.stage_names, r.previous_year, r.year), None, None),
        ("movement_bars", lambda: c.movement_bars(r.movement_detail, f"Movement, {r.previous_year} to {r.year}"), "x", style.PCT),
        ("today_vs_target", lambda: c.today_vs_target(r.stage_counts_today, r.stage_counts_target, r.stage_names, r.idc_expect_optimized_pct), "y", style.PCT),
        ("satisfaction_by_stage", lambda: c.satisfaction_by_stage(r.satisfaction, f"Satisfaction by maturity stage, {r.year} survey"), "x", None),
    ]
    return out


def _revenue():
    r, c = model("clv_churn"), revenue_charts
    out = [
        ("mrr_over_time", lambda: c.mrr_over_time(r.movements, YEAR), None, None),
        ("mrr_bridge", lambda: c.mrr_bridge(r.bridge, YEAR), None, None),
        ("benchmark_bars", lambda: c.benchmark_bars(r.benchmark_rows), None, None),
        ("cohort_heatmap[logo]", lambda: c.cohort_heatmap(r.cohort_logo_shown, f"Logo retention by acquisition quarter (%), cohorts since {r.cohorts_shown_since}"), None, None),
        ("cohort_heatmap[revenue]", lambda: c.cohort_heatmap(r.cohort_revenue_shown, "Revenue retention by acquisition quarter (%)"), None, None),
    ]
    for sec in r.survival_sections:
        if sec.shown is not None and len(sec.shown) >= 2:
            out.append((f"km_curves[{sec.label}]", lambda sec=sec: c.km_curves(sec.curves, f"Customers still with us, by {sec.label.lower()}", sec.xlabel, sec.order), "y", style.PCT))
    for cox in r.cox_models:
        if cox.key == "satisfaction" and len(cox.table):
            out.append(("hazard_ratios", lambda cox=cox: c.hazard_ratios(cox.table, "Hazard ratios of churn: survey-linked customers"), None, None))
    out.append(("sbg_projection", lambda: c.sbg_projection(r.sbg_observed, r.sbg_projected, "Observed and projected retention by company size"), "y", style.PCT))
    for seg in r.clv_segments:
        if len(seg.shown):
            out.append((f"clv_comparison[{seg.dimension}]", lambda seg=seg: c.clv_comparison(seg.shown, f"Lifetime value of a new customer by {seg.dimension.lower()}"), None, None))
    out.append(("revenue_by_segment_bars", lambda: c.revenue_by_segment_bars(r.revenue_by_stage, "stage_name", f"Revenue {YEAR} by maturity stage (recurring share above the bars)"), None, None))
    return out


def _partners():
    r, c = model("partner_programme"), partner_charts
    s = model("partner_scorecard")
    return [
        ("nps_distribution", lambda: c.nps_distribution(r.funnel, r.funnel_target, r.chart_title("distribution")), "x", style.NPS),
        ("funnel_plot", lambda: c.funnel_plot(r.funnel, r.funnel_summary, labels=r.names, title=r.chart_title("funnel")), "y", style.NPS),
        ("quarterly_trend", lambda: c.quarterly_trend(r.programme_q, title=r.chart_title("trend")), "y", style.NPS),
        ("responses_by_month", lambda: c.responses_by_month(r.by_month, r.chart_title("by_month")), None, None),
        ("growth_bars", lambda: c.growth_bars(r.leaders_laggards, "name", title=r.chart_title("growth")), None, None),
        ("scorecard funnel_plot", lambda: c.funnel_plot(s.funnel, s.funnel_summary, highlight=s.partner_id, title=s.chart_title("funnel")), "y", style.NPS),
        ("scorecard quarterly_trend", lambda: c.quarterly_trend(s.programme_q, s.partner_q, s.name, s.chart_title("trend")), "y", style.NPS),
    ]


def _summary():
    r = model("summary")
    return [("trend_grid", lambda: summary_charts.trend_grid(r.trends, r.stage_mix, f"Trends {r.trend_years[0]}-{r.trend_years[-1]}"), None, None)]


GROUPS = {"survey": _survey, "maturity": _maturity, "revenue": _revenue, "partners": _partners, "summary": _summary}


def charts_of(group: str):
    return GROUPS[group]()


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _within(limits, scale) -> bool:
    lo, hi = sorted(limits)
    return lo >= scale[0] - 1e-9 and hi <= scale[1] + 1e-9


# ---------------------------------------------------------------- every chart, as its notebook draws it
@pytest.mark.parametrize("group", list(GROUPS))
def test_every_chart_is_readable_in_scale_and_described(group):
    failures = []
    for name, draw, axis, scale in charts_of(group):
        fig = draw()
        try:
            assert_readable(fig, name)
        except AssertionError as e:
            failures.append(str(e))
        if scale is not None:
            ax = fig.axes[0]
            limits = ax.get_ylim() if axis == "y" else ax.get_xlim()
            if not _within(limits, scale):
                failures.append(f"{name}: {axis} axis {limits} runs past its scale {scale}")
        alt = style.alt_text(fig)
        if not alt or alt.strip().lower() == "chart" or not any(ch.isdigit() for ch in alt):
            failures.append(f"{name}: alt text {alt!r} does not say what it shows and its key number")
        plt.close(fig)
    assert not failures, "\n".join(failures)


# ---------------------------------------------------------------- the defects of the issue, one by one
def test_rating_and_nps_axes_never_run_past_their_scale():
    r = model("cloud_maturity")
    fig = maturity_charts.satisfaction_by_stage(r.satisfaction, "Satisfaction by maturity stage")
    csat_ax, nps_ax = fig.axes[:2]
    assert _within(csat_ax.get_xlim(), style.RATING), csat_ax.get_xlim()  # was 1-5.9
    assert _within(nps_ax.get_xlim(), style.NPS), nps_ax.get_xlim()  # was -100..150
    s = model("survey_scores")
    fig = survey_charts.touchpoint_means(s.touchpoints)
    assert fig.axes[0].get_xlim()[1] <= 5, fig.axes[0].get_xlim()  # was 5.5
    fig = survey_charts.segment_comparison(s.tenure, *s.tenure_groups, "Tenure")
    assert fig.axes[0].get_xlim()[1] <= 5, fig.axes[0].get_xlim()  # was 5.6


def test_error_bars_are_clipped_to_the_scale():
    table = pd.DataFrame({"label": ["A", "B"], "mean": [4.9, 1.1], "ci_low": [4.7, 0.8], "ci_high": [5.15, 1.4],
                          "n": [12, 9], "suppressed": [False, False]})
    fig = survey_charts.touchpoint_means(table)
    assert_readable(fig)
    ax = fig.axes[0]
    for coll in ax.collections:  # the whiskers
        for seg in coll.get_segments():
            xs = [p[0] for p in seg]
            assert min(xs) >= 1 - 1e-9 and max(xs) <= 5 + 1e-9, xs


def test_key_driver_labels_clear_of_quadrant_names_and_each_other():
    drivers = model("survey_scores").drivers
    fig = survey_charts.importance_performance(drivers)
    assert_readable(fig, "importance_performance")
    texts = [t.get_text() for t in text_artists(fig)]
    assert "First few times using the service" in texts or "First few times using the service" in " ".join(texts)


def test_idc_label_sits_clear_of_the_bars():
    r = model("cloud_maturity")
    fig = maturity_charts.today_vs_target(r.stage_counts_today, r.stage_counts_target, r.stage_names, r.idc_expect_optimized_pct)
    fig.canvas.draw()
    rend = fig.canvas.get_renderer()
    ax = fig.axes[0]
    idc = [t for t in text_artists(fig) if t.get_text().startswith("IDC")]
    assert idc, "the IDC target is labelled"
    box = idc[0].get_window_extent(rend)
    for bar in ax.patches:
        b = bar.get_window_extent(rend)
        w = min(box.x1, b.x1) - max(box.x0, b.x0)
        h = min(box.y1, b.y1) - max(box.y0, b.y0)
        assert not (w > TOLERANCE_PX and h > TOLERANCE_PX), "the IDC label covers a bar"


def test_bar_labels_stay_inside_the_axes_with_margin():
    r = model("clv_churn")
    fig = revenue_charts.revenue_by_segment_bars(r.revenue_by_stage, "stage_name", "Revenue by maturity stage")
    fig.canvas.draw()
    rend = fig.canvas.get_renderer()
    ax = fig.axes[0]
    frame = ax.get_window_extent(rend)
    labels = [t for t in ax.texts if "recurring" in t.get_text()]
    assert labels
    for t in labels:
        b = t.get_window_extent(rend)
        assert b.y1 <= frame.y1 - 2, f"{t.get_text()!r} touches the top of the chart"


def test_summary_trend_panels_show_only_their_years_on_an_honest_axis():
    r = model("summary")
    fig = summary_charts.trend_grid(r.trends, r.stage_mix, "Trends")
    by_title = {ax.get_title(): ax for ax in fig.axes if ax.get_title()}
    csat = next(ax for t, ax in by_title.items() if t.startswith("CSAT"))
    nps = next(ax for t, ax in by_title.items() if t.startswith("Net Promoter"))
    csat_years = sorted(r.trends.loc[r.trends["key"] == "csat", "year"])
    assert f"{csat_years[0]}-{csat_years[-1]}" in csat.get_title() or str(csat_years[-1]) in csat.get_title()
    assert "2015" not in csat.get_title() and "2015" not in nps.get_title()
    # x axis: only the years with data
    ticks = {round(v) for v in csat.get_xticks() if csat.get_xlim()[0] <= v <= csat.get_xlim()[1]}
    assert ticks <= set(csat_years)
    # y axis: the survey estimates carry their 95% intervals, drawn as bands, and the axis holds every band
    # within the measure's scale, so a change inside the noise is seen against its interval
    for key, ax, scale in (("csat", csat, style.RATING), ("nps", nps, style.NPS)):
        rows = r.trends[r.trends["key"] == key]
        assert rows[["ci_low", "ci_high"]].notna().all(axis=None), f"{key}: the sample's trend has its intervals"
        assert ax.collections or ax.containers, f"{key}: the interval is drawn"
        lo, hi = ax.get_ylim()
        assert _within((lo, hi), scale), (key, lo, hi)
        assert lo <= max(rows["ci_low"].min(), scale[0]) and hi >= min(rows["ci_high"].max(), scale[1]), (key, lo, hi)
    for ax in fig.axes:
        if ax.get_title().endswith("%)") or "(%" in ax.get_title():
            assert ax.get_ylim()[0] >= 0


def test_summary_trend_uses_intervals_when_the_table_has_them():
    trends = pd.DataFrame({"year": [2019, 2020], "key": ["csat", "csat"], "label": ["CSAT"] * 2, "unit": ["score2"] * 2,
                           "value": [4.28, 4.40], "ci_low": [4.15, 4.25], "ci_high": [4.41, 4.55]})
    fig = summary_charts.trend_grid(trends, pd.DataFrame(columns=["year", "stage", "name", "n", "pct"]), "Trends")
    ax = fig.axes[0]
    assert ax.collections, "the interval is drawn as a band"
    lo, hi = ax.get_ylim()
    assert _within((lo, hi), style.RATING)
    assert lo <= 4.15 and hi >= 4.55  # the band is in view
    assert_readable(fig)


def test_alt_text_round_trip_and_display_metadata():
    fig, _ = plt.subplots()
    assert style.alt_text(fig) is None
    style.set_alt(fig, "Bar chart of  something,\n key number 42.")
    assert style.alt_text(fig) == "Bar chart of something, key number 42."
    assert style.lower_first("NPS by year") == "NPS by year" and style.lower_first("Stage mix") == "stage mix"


def test_notebook_output_carries_the_alt_text_where_nbconvert_reads_it():
    """In IPython, a figure's SVG output gets ``{"image/svg+xml": {"alt": ...}}`` as metadata (nbconvert: get_metadata('alt', mime))."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    saved = dict(matplotlib.rcParams)
    try:
        style.apply_house_style()
        fig, ax = plt.subplots()
        ax.plot([1, 2], [3, 4])
        style.set_alt(fig, "Line chart, key number 4.")
        data, metadata = shell.display_formatter.format(fig)
        assert "image/svg+xml" in data
        assert metadata["image/svg+xml"]["alt"] == "Line chart, key number 4."
        fig2, _ = plt.subplots()  # a figure without alt text is displayed as before
        data, metadata = shell.display_formatter.format(fig2)
        assert "image/svg+xml" in data and "image/svg+xml" not in metadata
    finally:
        InteractiveShell.clear_instance()
        matplotlib.rcParams.update(saved)


# ---------------------------------------------------------------- values on hover (issue 13, point 5)
def _saved(fig):
    import io

    fig.savefig(io.BytesIO(), format="svg", bbox_inches="tight")  # as the notebook's display saves it
    return style.hover_spots(fig)


def test_hover_spots_give_each_bar_its_box_and_value():
    fig, ax = plt.subplots()
    ax.bar(["Ease of use", "Support <b>", "Price"], [4.41, 3.92, 1250.0], label="2020")
    spots = _saved(fig)
    assert [s[4] for s in spots] == ["Ease of use, 2020: 4.4", "Support <b>, 2020: 3.9", "Price, 2020: 1,250"]
    for left, top, width, height, _ in spots:
        assert 0 <= left < left + width <= 1 and 0 <= top < top + height <= 1
    lefts = [s[0] for s in spots]
    assert lefts == sorted(lefts)  # left to right, as drawn
    assert spots[2][1] < spots[0][1] and spots[2][3] > spots[0][3]  # the tallest bar reaches highest
    fig, ax = plt.subplots()
    ax.barh(["North", "South"], [-12.5, 30.0])  # horizontal, a negative value, no series name
    assert [s[4] for s in _saved(fig)] == ["North: −12.5", "South: 30.0"]
    fig, ax = plt.subplots()
    ax.plot([1, 2], [3, 4])
    assert _saved(fig) == []  # no bars, nothing to hover


@pytest.mark.parametrize("name", ["touchpoint_means", "theme_bars"])
def test_main_bar_charts_show_their_values_on_hover(name):
    chart = next(draw for n, draw, _, _ in charts_of("survey") if n == name)
    spots = _saved(chart())
    assert spots and all(any(ch.isdigit() for ch in s[4]) and ":" in s[4] for s in spots), spots

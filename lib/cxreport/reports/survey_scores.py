"""The survey-scores report (``notebooks/01_survey_scores.ipynb``): every figure, table and fact it states.

``build(inputs, settings, year)`` composes the domain functions of
:mod:`cxreport.survey` (CSAT, NPS, touchpoints, tenure comparison, key
drivers) and :mod:`cxreport.comments` (themes, redacted quotes) into one
:class:`SurveyScores`; the notebook only narrates and charts it.

What the report states, and where it comes from:

What the notebook shows is built here too, so its cells only place it:
:meth:`SurveyScores.kpis` (the headline cards), the ``*_text`` methods (one
paragraph each, or the reason a figure is unknown) and
:meth:`SurveyScores.view` (a table's shown columns, caption and formats).

- the wave: respondents of ``survey_year == year`` (``n``), and the collection
  period from ``submitted_at`` when the file has it;
- overall satisfaction (CSAT, 1-5): mean with a Student-t interval, top-2-box
  share (rated 4 or 5) with a Wilson interval (:func:`cxreport.survey.csat_summary`);
- Net Promoter Score from the category counts, with the Rocks (2016) interval
  (:func:`cxreport.survey.nps_from_counts`), and its change against the
  previous wave with a z-test (:func:`cxreport.survey.nps_change`) when both
  waves have at least ``min_group_size`` answers;
- touchpoints (``tp_`` columns), first-year against experienced users
  (``tenure_years``), key drivers of CSAT, comment themes and quotes
  (``comment_value``, ``comment_improve``): each is optional in the input
  contract, so each section is ``None`` with a reason when its columns are absent.

Small samples: a breakdown (touchpoint, tenure group, survey year) under
``min_group_size`` answers shows no score (:mod:`cxreport.suppression`);
headline scores on fewer than ``small_sample_threshold`` answers carry
``warning``. A figure that cannot be computed is ``None`` with a one-sentence
reason in ``unknowns`` (never 0, never NaN).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import comments, survey
from ..inputs import InputError
from ..present.format import number, p_value, plural, sentence_case
from ..reporting import fmt_num, fmt_pct
from ..settings import Settings
from .base import (
    Inputs,
    ReportModel,
    Unknowns,
    build_from_data,
    jsonable,
    known,
)

INPUTS = {"requires": ("survey_responses.csv",), "optional": ()}
SETTINGS = (
    "organisation",
    "survey_title",
    "min_group_size",
    "small_sample_threshold",
    "confidence",
    "nps_ci_method",
    "touchpoint_labels",
    "comment_themes",
    "quotes_per_theme",
    "quotes",
)
FILE = "survey_responses.csv"
THEMES_SHOWN = 3  # themes whose quotes the report shows (the most mentioned)
IMPROVE_QUOTES_PER_THEME = 2  # improvement quotes per theme, at most quotes_per_theme


@dataclass(frozen=True, eq=False)
class Csat:
    """Overall satisfaction (1-5) of the wave: :func:`cxreport.survey.csat_summary`, unknowns as None.

    ``distribution`` has one row per rating 1-5: ``rating``, ``n``, ``pct``
    (share of ``n``, 0-100; NaN only when nobody answered).
    """

    n: int
    mean: float | None
    sd: float | None
    ci_low: float | None
    ci_high: float | None
    top2_count: int
    top2_pct: float | None
    top2_ci_low: float | None
    top2_ci_high: float | None
    distribution: pd.DataFrame


@dataclass(frozen=True)
class Nps:
    """A wave's Net Promoter Score: :func:`cxreport.survey.nps_from_counts`, unknowns as None.

    ``score`` = 100 · (promoters − detractors) / n, on −100..100; shares 0-100;
    ``se`` and the interval on the score's scale; ``method`` the interval
    used (``wald`` or ``adjusted_wald``). ``rounded_shares_score`` is what
    subtracting the rounded shares gives (method note only, never the score).
    """

    year: int
    n: int
    promoters: int
    passives: int
    detractors: int
    promoters_pct: float | None
    passives_pct: float | None
    detractors_pct: float | None
    score: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    method: str
    rounded_shares_score: float | None


@dataclass(eq=False)
class SurveyScores(ReportModel):
    """Everything the survey-scores report states about one wave.

    Sections absent from the input (no ``tp_`` columns, no tenure, no
    comments) are None with a reason in ``unknowns`` under the section name
    (``touchpoints``, ``tenure``, ``key_drivers``, ``value_themes``,
    ``improvement_themes``); so is any single figure that cannot be computed
    (the headline's dotted names, e.g. ``nps.previous``, ``csat.ci95``).
    """

    SECTION = "survey"

    year: int
    previous_year: int
    organisation: str
    title: str
    min_group_size: int
    small_sample_threshold: int
    confidence: float
    nps_ci_method: str
    quotes_mode: str
    n: int
    period_start: dt.date | None
    period_end: dt.date | None
    warning: str | None
    csat: Csat
    nps: Nps
    previous_n: int  # NPS answers in the previous wave (0 when there is none)
    previous: Nps | None  # the previous wave, when it is compared
    change: float | None
    change_se: float | None
    change_ci_low: float | None
    change_ci_high: float | None
    change_p_value: float | None
    change_significant: bool | None
    change_text: str | None  # plain words for the change and its test
    nps_by_year: pd.DataFrame  # every wave up to the year; waves under min_group_size suppressed
    nps_years_shown: int  # waves with a score shown (not suppressed)
    touchpoints: pd.DataFrame | None
    touchpoints_suppressed: list[str]
    best_touchpoint: str | None
    best_touchpoint_mean: float | None
    worst_touchpoint: str | None
    worst_touchpoint_mean: float | None
    tenure: pd.DataFrame | None  # compare_segments: first-year vs experienced users per touchpoint
    first_year_n: int
    experienced_n: int
    tenure_compared: int  # touchpoints with both groups at min_group_size or more
    tenure_lower: int  # of those, where first-year users rate lower
    tenure_significant: list[str]  # labels of touchpoints with a significant gap (Holm-adjusted)
    tenure_not_compared: list[str]
    drivers: pd.DataFrame | None
    drivers_n: int  # respondents who rated the outcome and every touchpoint
    drivers_r2: float | None  # R² of CSAT on the touchpoints (0-1)
    drivers_r2_pct: float | None  # the same as a share of the variation (0-100)
    drivers_caveat: str | None
    top_driver: str | None
    top_driver_pct: float | None
    value_themes: pd.DataFrame | None
    value_comments: int
    value_quotes: dict[str, list[str]]  # the most mentioned themes' quotes (empty lists left out)
    improvement_themes: pd.DataFrame | None
    improvement_comments: int
    improvement_quotes: list[str]
    unknowns: Unknowns = field(default_factory=Unknowns)
    inputs: Inputs | None = field(default=None, repr=False)
    _headline: dict = field(default_factory=dict, repr=False)

    @property
    def level(self) -> str:
        """The confidence level as a reader sees it: ``95%``."""
        return f"{self.confidence:.0%}"

    @property
    def value_themes_mentioned(self) -> pd.DataFrame | None:
        """The value themes at least one comment mentions, most mentioned first."""
        t = self.value_themes
        return None if t is None else t[t["mentions"] > 0]

    @property
    def improvement_themes_mentioned(self) -> pd.DataFrame | None:
        t = self.improvement_themes
        return None if t is None else t[t["mentions"] > 0]

    @property
    def value_lead(self) -> pd.Series | None:
        """The most mentioned value theme (``theme``, ``mentions``, ``share_pct``), or None when no comment mentions one."""
        t = self.value_themes_mentioned
        return None if t is None or t.empty else t.iloc[0]

    @property
    def tenure_groups(self) -> tuple[str, str]:
        """The two tenure groups the comparison puts side by side, as the ``tenure`` table names them."""
        return survey.FIRST_YEAR, survey.EXPERIENCED

    # ------------------------------------------------------------ the report's sentences
    def reason(self, figure: str) -> str:
        """Why ``figure`` is unknown (one sentence from ``unknowns``), or "" when it is known."""
        return self.unknowns.get(figure) or ""

    def title_text(self) -> str:
        """The title, the wave (organisation, respondents, collection period) and what the report shows."""
        period = (f", collected {self.period_start.day} {self.period_start:%B} to {self.period_end.day} {self.period_end:%B %Y}"
                  if self.period_start and self.period_end else "")
        return (f"# {self.title} {self.year}\n**{self.organisation}** · {self.n} respondents{period}\n\nThis report shows how "
                "satisfied our partners are with the service overall and at each major touchpoint, how likely they are to "
                "recommend it (Net Promoter Score), what drives their satisfaction, and what they value most in their own words. "
                "Every figure comes with its sample size and, where it matters, a "
                f"{self.level} confidence interval: the range in which the true value for all partners most likely lies.")

    def kpis(self) -> list[tuple[str, str, str]]:
        """The four headline cards (label, value, detail): CSAT, rated 4 or 5, NPS and its change; an unknown shows "–"."""
        c, p, lv = self.csat, self.nps, self.level
        change = (f"vs {self.previous_year} ({'' if self.change_significant else 'not '}significant)" if self.previous
                  else f"no {self.previous_year} comparison")
        return [
            ("Overall satisfaction", f"{fmt_num(c.mean)} / 5", f"{lv} CI {fmt_num(c.ci_low, 2)}–{fmt_num(c.ci_high, 2)}, n = {number(c.n)}"),
            ("Rated 4 or 5", fmt_pct(c.top2_pct), f"{lv} CI {fmt_num(c.top2_ci_low)}–{fmt_pct(c.top2_ci_high)}"),
            ("Net Promoter Score", fmt_num(p.score), f"{lv} CI {fmt_num(p.ci_low)} to {fmt_num(p.ci_high)}, n = {number(p.n)}"),
            ("Change in NPS", fmt_num(self.change, signed=True), change),
        ]

    def csat_text(self) -> str:
        """Top-2-box share and mean rating with their intervals, or why overall satisfaction is unknown."""
        c, lv = self.csat, self.level
        if not c.n:
            return self.reason("csat.mean")
        interval = (f" ({lv} CI {fmt_num(c.ci_low, 2)} to {fmt_num(c.ci_high, 2)})." if c.ci_low is not None
                    else f". {self.reason('csat.ci95')}")
        return (f"**{fmt_pct(c.top2_pct)}** of the {plural(c.n, 'partner')} who answered rated their experience 4 or 5 ({lv} CI "
                f"{fmt_pct(c.top2_ci_low)} to {fmt_pct(c.top2_ci_high)}), for an average rating of **{fmt_num(c.mean)} out of 5**"
                + interval)

    def touchpoints_text(self) -> str:
        """The range of touchpoint averages (lowest to highest), or why no touchpoint score is shown."""
        if not self.best_touchpoint:
            return self.reason("touchpoints") or self.reason("touchpoint_range")
        return (f"Average touchpoint ratings range from **{fmt_num(self.worst_touchpoint_mean)}** ({self.worst_touchpoint.lower()}) "
                f"to **{fmt_num(self.best_touchpoint_mean)}** ({self.best_touchpoint.lower()}). Where two intervals overlap, the "
                "difference between those touchpoints may be chance.")

    def touchpoints_hidden_text(self) -> str:
        """The touchpoints not shown for too few answers ("" when every touchpoint is shown)."""
        if not self.touchpoints_suppressed:
            return ""
        return f"Not shown, fewer than {self.min_group_size} answers: {', '.join(self.touchpoints_suppressed)}."

    def tenure_text(self) -> str:
        """First-year against experienced users: group sizes, touchpoints rated lower, significant gaps; or why not compared."""
        groups = (f"{number(self.first_year_n)} first-year and {plural(self.experienced_n, 'experienced user')} answered. "
                  if self.tenure is not None else "")
        if not self.tenure_compared:
            return groups + (self.reason("tenure") or self.reason("tenure_comparison"))
        lower = (f"First-year users rate {number(self.tenure_lower)} of {plural(self.tenure_compared, 'touchpoint')} lower than "
                 "experienced users. ")
        if self.tenure_significant:
            gaps = ", ".join(t.lower() for t in self.tenure_significant)
            return (groups + lower + f"The gap is statistically significant for: **{gaps}**, a clear pointer to the "
                    "onboarding experience.")
        return (groups + lower + "None of the gaps is statistically significant on these sample sizes, so treat them as a "
                "signal to watch rather than a finding.")

    def tenure_hidden_text(self) -> str:
        """The touchpoints not compared for too few answers in a group ("" when all are compared)."""
        if not self.tenure_not_compared:
            return ""
        return (f"Touchpoints with fewer than {self.min_group_size} answers in a group are not compared: "
                f"{', '.join(self.tenure_not_compared)}.")

    def nps_text(self) -> str:
        """The wave's NPS with its interval and categories, and its change against the previous wave (or why not)."""
        p, lv = self.nps, self.level
        if not p.n:
            return self.reason("nps.score")
        change = (f"Compared with {self.previous_year} ({fmt_num(self.previous.score)}), the score is {self.change_text}."
                  if self.previous else self.reason("nps.change"))
        return (f"The NPS for {self.year} is **{fmt_num(p.score)}** ({lv} CI {fmt_num(p.ci_low)} to {fmt_num(p.ci_high)}): "
                f"{plural(p.promoters, 'promoter')} ({fmt_pct(p.promoters_pct)}), {plural(p.passives, 'passive')} "
                f"({fmt_pct(p.passives_pct)}) and {plural(p.detractors, 'detractor')} ({fmt_pct(p.detractors_pct)}) among "
                f"{plural(p.n, 'answer')}. " + change)

    def drivers_text(self) -> str:
        """How much of the variation in CSAT the touchpoints explain and the strongest driver, or why not analysed."""
        if not self.top_driver:
            return self.reason("key_drivers")
        return (f"Together the touchpoints explain **{fmt_num(self.drivers_r2_pct, 0)}%** of the variation in overall "
                f"satisfaction among the {plural(self.drivers_n, 'partner')} who rated all of them. The strongest driver is "
                f"**{self.top_driver.lower()}** ({fmt_num(self.top_driver_pct, 0)}% of the explained variation).")

    def value_text(self) -> str:
        """How many said what they value and the most mentioned theme; or why not (no comments, no theme mentioned)."""
        lead = self.value_lead
        if lead is None:
            return self.reason("value_themes") or (f"{plural(self.value_comments, 'partner')} said what they value; none of the "
                                                   "comments mentions one of the report's themes.")
        return (f"{plural(self.value_comments, 'partner')} said what they value. **{lead['theme']}** is mentioned most: by "
                f"{number(lead['mentions'])} of them ({fmt_num(lead['share_pct'], 0)}%).")

    def improvement_text(self) -> str:
        """The improvements heading, how many suggested one and the four most mentioned themes; or why not."""
        head = "### What partners would improve\n"
        if self.improvement_themes is None:
            return head + self.reason("improvement_themes")
        asked = self.improvement_themes_mentioned
        if asked.empty:
            return head + (f"{sentence_case(plural(self.improvement_comments, 'partner'))} suggested improvements; none of the suggestions mentions one "
                           "of the report's themes.")
        themes = "; ".join(f"{t.theme.lower()} ({number(t.mentions)})" for t in asked.head(4).itertuples())
        return head + f"{plural(self.improvement_comments, 'partner')} suggested improvements. The themes they mention most: {themes}."

    def rounding_text(self) -> str:
        """Method note: the NPS from counts against subtracting rounded shares ("" when nobody answered)."""
        p = self.nps
        if not p.n:
            return ""
        return (f"- **Rounding**: the NPS is computed from counts ({number(p.promoters)} − {number(p.detractors)}) / {number(p.n)} = "
                f"{fmt_num(p.score, 2)}. "
                f"Subtracting the rounded shares ({fmt_pct(p.promoters_pct)} − {fmt_pct(p.detractors_pct)}) would give "
                f"{fmt_num(p.rounded_shares_score)}, which is how some published reports arrive at a slightly different figure.")

    def settings_text(self) -> str:
        """Method note: the settings the figures depend on, and the heading of the data-used table."""
        return (f"- **Settings**: minimum group size {self.min_group_size}; warning under {self.small_sample_threshold} answers; "
                f"confidence level {self.level}; NPS interval method: {self.nps.method.replace('_', ' ')}.\n### Data used")

    def view(self, name: str) -> tuple[pd.DataFrame, str, dict[str, str]]:
        """A table as the report shows it, ``(frame, caption, formats)`` for :func:`cxreport.reporting.table`.

        ``touchpoints``: each touchpoint's average with its interval and rated-4-5 share (suppressed rows blank);
        ``drivers``: each touchpoint's importance, correlation with CSAT (and interval) and average rating.
        Raises KeyError for another name, ValueError when the section has no data (it is None).
        """
        shown = _VIEWS[name]
        frame = getattr(self, name)
        if frame is None:
            raise ValueError(f"{name}: {self.reason('key_drivers' if name == 'drivers' else name)}")
        columns, formats = shown
        return frame[list(columns)].rename(columns=columns), f"Confidence intervals at {self.level}", dict(formats)

    def headline(self) -> dict:
        """The ``survey`` section of ``metrics.json``: :func:`cxreport.survey.survey_metrics` keys, JSON-safe.

        Today's keys (``n``, ``csat.mean``/``top2_pct``/``ci95``/``top2_ci95``,
        ``nps.score``/``promoters_pct``/``passives_pct``/``detractors_pct``/
        ``ci95``/``previous``/``change``/``change_significant``, ``warning``,
        ...) plus the raw numbers a later comparison needs, unrounded:
        ``csat.sd``, ``csat.top2_count``, ``nps.promoters``/``passives``/
        ``detractors``, ``nps.se``, ``nps.previous_promoters``/
        ``previous_passives``/``previous_detractors``/``previous_se`` and
        ``nps.change_se``.
        """
        return self._headline

    def tables(self) -> dict[str, pd.DataFrame]:
        """The report's CSV tables, by name (a section without data writes no table)."""
        out = {}
        if self.touchpoints is not None:
            out["survey_touchpoints"] = self.touchpoints
        if self.tenure is not None:
            out["survey_tenure_comparison"] = self.tenure
        out["survey_nps_by_year"] = self.nps_by_year.reset_index().rename(columns={"group": "survey_year"})
        if self.drivers is not None:
            out["survey_key_drivers"] = self.drivers
        if self.value_themes is not None:
            out["survey_value_themes"] = self.value_themes
        if self.improvement_themes is not None:
            out["survey_improvement_themes"] = self.improvement_themes
        return out


# The tables the report shows: model column -> heading, and heading -> format
_VIEWS = {
    "touchpoints": ({"label": "Touchpoint", "n": "n", "mean": "Average", "ci_low": "CI low", "ci_high": "CI high",
                     "top2_pct": "Rated 4-5 (%)"},
                    {"Average": "{:.2f}", "CI low": "{:.2f}", "CI high": "{:.2f}", "Rated 4-5 (%)": "{:.1f}"}),
    "drivers": ({"label": "Touchpoint", "importance_pct": "Importance (%)", "r": "Correlation", "r_ci_low": "CI low",
                 "r_ci_high": "CI high", "performance": "Average rating"},
                {"Importance (%)": "{:.0f}", "Correlation": "{:.2f}", "CI low": "{:.2f}", "CI high": "{:.2f}",
                 "Average rating": "{:.2f}"}),
}


# ---------------------------------------------------------------- pieces
def _date(x) -> dt.date | None:
    return None if pd.isna(x) else pd.Timestamp(x).date()


def _csat(values: pd.Series, confidence: float, year: int, unknowns: Unknowns) -> Csat:
    c = survey.csat_summary(values, confidence=confidence)
    n = int(c["n"])
    if n == 0:
        reason = f"No respondent answered the overall satisfaction question in {year}."
        for name in ("csat.mean", "csat.sd", "csat.ci95", "csat.top2_pct", "csat.top2_ci95"):
            unknowns.add(name, reason)
    elif n == 1:
        reason = "Only one respondent answered the overall satisfaction question, so there is no spread to give an interval."
        unknowns.add("csat.sd", reason)
        unknowns.add("csat.ci95", reason)
    dist = pd.DataFrame({"rating": list(survey.CSAT_SCALE),
                         "n": [c["distribution"][k] for k in survey.CSAT_SCALE],
                         "pct": [c["distribution_pct"][k] for k in survey.CSAT_SCALE]})
    return Csat(n, known(c["mean"]), known(c["sd"]), known(c["ci_low"]), known(c["ci_high"]), int(c["top2"]),
                known(c["top2_pct"]), known(c["top2_ci_low"]), known(c["top2_ci_high"]), dist)


def _nps(result: survey.NpsResult, year: int) -> Nps:
    r = result
    rounded = survey.nps_from_rounded_shares(r) if r.n else None
    return Nps(year, r.n, r.promoters, r.passives, r.detractors, known(r.promoters_pct), known(r.passives_pct),
               known(r.detractors_pct), known(r.score), known(r.se), known(r.ci_low), known(r.ci_high), r.method,
               known(rounded))


def _no_comparison_reason(year: int, previous_year: int, nps_n: int, previous: survey.NpsResult | None,
                          has_wave: bool, min_n: int) -> str:
    if not has_wave:
        return f"The survey file has no {previous_year} wave, so there is no year-over-year comparison."
    if previous is None or previous.n < min_n:
        k = 0 if previous is None else previous.n
        return (f"The {previous_year} wave has {k} answer{'s' if k != 1 else ''} to the recommendation question, "
                f"fewer than the minimum group size of {min_n}, so it is not compared.")
    return (f"The {year} wave has {nps_n} answer{'s' if nps_n != 1 else ''} to the recommendation question, "
            f"fewer than the minimum group size of {min_n}, so it is not compared with {previous_year}.")


def _themes(wave: pd.DataFrame, column: str, what: str, year: int, s: Settings, per_theme: int,
            unknowns: Unknowns, section: str):
    """Theme counts and the quotes of the most mentioned themes for one comment column (None when absent)."""
    if column not in wave.columns:
        unknowns.add(section, f"The survey file has no {column} column, so {what} is not available.")
        return None, 0, {}
    counts = comments.theme_counts(wave[column], s.comment_themes, min_n=s.min_group_size)
    base = int(counts["comments"].iloc[0]) if len(counts) else 0
    if base == 0:
        unknowns.add(section, f"No respondent wrote {what} in {year}.")
        return None, 0, {}
    top = counts.loc[counts["mentions"] > 0, "theme"].head(THEMES_SHOWN)
    quotes = comments.theme_quotes(wave[column], s.comment_themes, per_theme=per_theme, mode=s.quotes) if len(top) else {}
    return counts, base, {t: quotes[t] for t in top if quotes.get(t)}


# ---------------------------------------------------------------- build
def change_text(change: dict, unit: str = "points", digits: int = 1, confidence: float = 0.95) -> str:
    """A year-over-year change and its test in words (:func:`cxreport.survey.describe_change`'s wording, numbers in house style):
    "up 3.0 points (95% CI −17.8 to +23.9); not statistically significant (p = 0.780)"."""
    direction = "up" if change["change"] > 0 else "down" if change["change"] < 0 else "unchanged at"
    size = f"{number(abs(change['change']), digits)} {unit}"
    p = change.get("p_value")
    if p is None or not np.isfinite(p):
        return f"{direction} {size}; no test is possible, since neither wave's answers vary"
    verdict = "statistically significant" if change["significant"] else "not statistically significant"
    return (f"{direction} {size} ({confidence:.0%} CI {number(change['ci_low'], digits, signed=True)} to "
            f"{number(change['ci_high'], digits, signed=True)}); {verdict} ({p_value(p)})")


def build(inputs: Inputs, settings: Settings, year: int) -> SurveyScores:
    """The survey-scores report of ``year`` from validated inputs (pure: frames in, model out).

    Raises :class:`cxreport.inputs.InputError` when the survey file holds no
    response of ``year`` (the report has nothing to say).
    """
    s, year = settings, int(year)
    responses = inputs[FILE]
    wave = responses[responses["survey_year"] == year]
    if wave.empty:
        years = sorted(int(y) for y in responses["survey_year"].dropna().unique())
        held = ", ".join(map(str, years)) if years else "none"
        raise InputError([f"{FILE}: no responses with survey_year {year} (column survey_year holds {held}); "
                          f"expected the {year} wave"])
    unknowns = Unknowns()
    conf, method, min_n = s.confidence, s.nps_ci_method, s.min_group_size
    previous_year = year - 1

    # The wave and its collection period
    start = end = None
    if "submitted_at" in wave.columns and wave["submitted_at"].notna().any():
        start, end = _date(wave["submitted_at"].min()), _date(wave["submitted_at"].max())
    else:
        reason = "The survey file has no submission dates (submitted_at), so the collection period is not stated."
        unknowns.add("period_start", reason)
        unknowns.add("period_end", reason)

    # Headline scores: the same functions and keys as the summary's figures from data
    headline = jsonable(survey.survey_metrics(survey.survey_headline(
        responses, year, previous_year, confidence=conf, nps_method=method, min_n=min_n,
        small_sample_threshold=s.small_sample_threshold)))
    csat = _csat(wave["csat"], conf, year, unknowns)
    nps_result = survey.nps_summary(wave["nps"], conf, method)
    nps = _nps(nps_result, year)
    if nps.n == 0:
        reason = f"No respondent answered the recommendation question in {year}."
        for name in ("nps.score", "nps.se", "nps.ci95", "nps.promoters_pct", "nps.passives_pct", "nps.detractors_pct",
                     "nps.rounded_shares_score"):
            unknowns.add(name, reason)

    before = responses[responses["survey_year"] == previous_year]
    prev_result = survey.nps_summary(before["nps"], conf, method) if len(before) else None
    previous_n = prev_result.n if prev_result is not None else 0
    comparable = prev_result is not None and survey.comparable_waves(nps.n, previous_n, min_n)
    previous = change = None
    if comparable:
        previous = _nps(prev_result, previous_year)
        change = survey.nps_change(nps_result, prev_result, alpha=1 - conf)
        if known(change["p_value"]) is None:
            unknowns.add("nps.change_p_value", "Neither wave's answers vary (each wave's answers all fall in one category), "
                                               "so the change cannot be tested.")
    else:
        reason = _no_comparison_reason(year, previous_year, nps.n, prev_result, len(before) > 0, min_n)
        for name in ("nps.previous", "nps.previous_promoters", "nps.previous_passives", "nps.previous_detractors",
                     "nps.previous_se", "nps.change", "nps.change_se", "nps.change_p_value", "nps.change_significant"):
            unknowns.add(name, reason)

    by_year = survey.nps_by_group(responses["nps"], responses["survey_year"], min_n=min_n, method=method, confidence=conf)
    if by_year.empty:
        by_year = pd.DataFrame(columns=["n", "promoters", "passives", "detractors", "promoters_pct", "passives_pct",
                                        "detractors_pct", "score", "se", "ci_low", "ci_high", "method", "suppressed"],
                               index=pd.Index([], name="group"))
    by_year = by_year[by_year.index <= year]
    years_shown = int((~by_year["suppressed"].astype(bool)).sum())
    if years_shown == 0:
        unknowns.add("nps_by_year", f"No survey wave has at least {min_n} answers to the recommendation question, "
                                    "so no wave's score is shown.")

    # Touchpoints
    tp_cols = survey.touchpoint_columns(wave)
    labels = s.touchpoint_labels
    touchpoints, suppressed_tp, best, worst = None, [], None, None
    if not tp_cols:
        reason = "The survey file has no touchpoint ratings (tp_ columns), so {what} is not available."
        unknowns.add("touchpoints", reason.format(what="satisfaction by touchpoint"))
        unknowns.add("tenure", reason.format(what="the comparison of first-year and experienced users"))
        unknowns.add("key_drivers", reason.format(what="the analysis of what drives satisfaction"))
    else:
        touchpoints = survey.touchpoint_summary(wave, tp_cols, labels=labels, min_n=min_n, confidence=conf)
        suppressed_tp = touchpoints.loc[touchpoints["suppressed"], "label"].tolist()
        shown = touchpoints[~touchpoints["suppressed"]]
        if len(shown):
            best, worst = shown.iloc[0], shown.iloc[-1]
        else:
            unknowns.add("touchpoint_range", f"No touchpoint has at least {min_n} answers, so no touchpoint score is shown.")

    # First-year against experienced users
    tenure, fy_n, ex_n, compared, lower, significant, not_compared = None, 0, 0, 0, 0, [], []
    if tp_cols:
        if "tenure_years" not in wave.columns or wave["tenure_years"].notna().sum() == 0:
            unknowns.add("tenure", "The survey file has no tenure information (tenure_years), so first-year and "
                                   "experienced users are not compared.")
        else:
            segments = survey.tenure_segment(wave["tenure_years"])
            counts = segments.value_counts()
            fy_n, ex_n = int(counts[survey.FIRST_YEAR]), int(counts[survey.EXPERIENCED])
            tenure = survey.compare_segments(wave, segments, tp_cols, labels=labels, min_n=min_n, alpha=1 - conf)
            valid = tenure[~tenure["suppressed"]]
            compared, lower = len(valid), int((valid["difference"] > 0).sum())
            significant = valid.loc[valid["significant"], "label"].tolist()
            not_compared = tenure.loc[tenure["suppressed"], "label"].tolist()
            if compared == 0:
                unknowns.add("tenure_comparison", f"No touchpoint has at least {min_n} answers from both first-year "
                                                  "and experienced users, so none is compared.")

    # Key drivers of overall satisfaction
    drivers, drivers_n, r2, caveat, top, top_pct = None, 0, None, None, None, None
    if tp_cols:
        table, summary = survey.key_drivers(wave, "csat", tp_cols, labels=labels, confidence=conf, min_n=min_n)
        drivers_n, caveat = int(summary["n"]), summary["caveat"]
        if not table.empty and known(table["importance_pct"].iloc[0]) is None:
            table, caveat = table.iloc[0:0], ("The touchpoint ratings explain none of the variation in overall "
                                              "satisfaction, so no touchpoint stands out as a driver.")
        if table.empty:
            unknowns.add("key_drivers", caveat)
            caveat = None
        else:
            drivers, r2 = table, known(summary["r2"])
            top, top_pct = str(table["label"].iloc[0]), known(table["importance_pct"].iloc[0])

    # Comments
    value, value_n, value_quotes = _themes(wave, "comment_value", "what they value", year, s, s.quotes_per_theme,
                                           unknowns, "value_themes")
    improve, improve_n, improve_by_theme = _themes(wave, "comment_improve", "what they would improve", year, s,
                                                   min(IMPROVE_QUOTES_PER_THEME, s.quotes_per_theme), unknowns,
                                                   "improvement_themes")
    improve_quotes = list(dict.fromkeys(q for qs in improve_by_theme.values() for q in qs))  # a quote once

    return SurveyScores(
        year=year, previous_year=previous_year, organisation=s.organisation, title=s.survey_title,
        min_group_size=min_n, small_sample_threshold=s.small_sample_threshold, confidence=conf,
        nps_ci_method=method, quotes_mode=s.quotes, n=int(len(wave)), period_start=start, period_end=end,
        warning=headline["warning"], csat=csat, nps=nps, previous_n=previous_n, previous=previous,
        change=known(change["change"]) if change else None,
        change_se=known(change["se"]) if change else None,
        change_ci_low=known(change["ci_low"]) if change else None,
        change_ci_high=known(change["ci_high"]) if change else None,
        change_p_value=known(change["p_value"]) if change else None,
        change_significant=bool(change["significant"]) if change else None,
        change_text=change_text(change, confidence=conf) if change else None,
        nps_by_year=by_year, nps_years_shown=years_shown,
        touchpoints=touchpoints, touchpoints_suppressed=suppressed_tp,
        best_touchpoint=None if best is None else str(best["label"]),
        best_touchpoint_mean=None if best is None else known(best["mean"]),
        worst_touchpoint=None if worst is None else str(worst["label"]),
        worst_touchpoint_mean=None if worst is None else known(worst["mean"]),
        tenure=tenure, first_year_n=fy_n, experienced_n=ex_n, tenure_compared=compared, tenure_lower=lower,
        tenure_significant=significant, tenure_not_compared=not_compared,
        drivers=drivers, drivers_n=drivers_n, drivers_r2=r2, drivers_r2_pct=None if r2 is None else 100 * r2,
        drivers_caveat=caveat, top_driver=top, top_driver_pct=top_pct,
        value_themes=value, value_comments=value_n, value_quotes=value_quotes,
        improvement_themes=improve, improvement_comments=improve_n, improvement_quotes=improve_quotes,
        unknowns=unknowns, inputs=inputs, _headline=headline,
    )


def build_from_folder(data_dir: str | Path, year: int, settings: dict | Settings | None = None,
                      run_db: str | Path | None = None, engine: str | None = None,
                      engine_url: str | None = None) -> SurveyScores:
    """Load ``survey_responses.csv`` from ``data_dir`` (validated, contact data dropped, comments redacted) and build.

    ``settings``: a :class:`Settings`, or overrides of the year's params files
    (what the pipeline passes a notebook), or None for the params files as they are.
    ``run_db``, ``engine`` and ``engine_url`` come from the pipeline: its run database of validated inputs
    (:func:`.base.load_inputs`) and the engine the queries run on (:func:`.base.report_engine`).
    """
    return build_from_data(build, INPUTS, data_dir, year, settings, run_db, engine, engine_url)

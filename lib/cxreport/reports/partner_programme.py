"""The partner-programme report (``notebooks/04_partner_programme.ipynb``): every figure, table and fact it states.

Composes the pure domain modules :mod:`cxreport.partners` (NPS per partner and
quarter, funnel plot, Microsoft's CSAT index) and
:mod:`cxreport.customer_success` (consumption value, growth, deployments); the
small-group rule is :func:`cxreport.suppression.suppress_small_groups`, applied
by those modules and again by :func:`cxreport.partners.publishable` on every
table written.

Buildable for any year of the data (the executive summary builds earlier
years with :func:`programme_headline`): a figure the data cannot give is
``None`` with its reason in ``unknowns``, e.g. the year-on-year consumption
growth when ``usage.csv`` has no usage a year before the report month, or the
programme NPS of a year without answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import customer_success as cs
from .. import partners as pt
from ..params import ParamsError
from ..present.format import money, number, p_value, plural
from ..reporting import fmt_num, fmt_pct
from ..settings import Settings
from ..suppression import fewer_than
from .base import Inputs, ReportModel, Unknowns, build_from_data, known

INPUTS = {"requires": ("partner_survey_responses.csv", "partners.csv", "usage.csv", "accounts.csv"), "optional": ()}
SETTINGS = (
    "organisation", "programme_name", "min_group_size", "confidence", "currency", "nps_ci_method", "partner_min_ranked_responses",
    "funnel_levels", "funnel_adjust_overdispersion", "csat_index_min_responses", "csat_index_max_per_organisation",
    "csat_index_checkpoint", "nsat_mapping", "consumption_rates", "deployment_min_usage", "usage_refresh_day",
)
FLAGGED = (pt.BELOW_998, pt.BELOW_95, pt.ABOVE_95, pt.ABOVE_998)


@dataclass
class PartnerProgramme(ReportModel):
    """The partner-programme report of one year.

    Survey figures count the answers of ``partner_survey_responses.csv``
    submitted in ``year`` (every answer, small partners included: only the
    display of small partners' scores is suppressed). Percentages 0-100,
    scores unrounded; ``None`` = unknown, with the reason in ``unknowns``.
    """

    SECTION = "partners"

    year: int
    organisation: str
    programme_name: str
    settings: Settings
    names: dict[str, str]                     # partner id -> name, in partners.csv order
    responses: int                            # answers submitted in the year
    answered: int                             # partners with at least one answer in the year
    first_answer: pd.Timestamp | None
    last_answer: pd.Timestamp | None
    # programme NPS of the year's answers (= the rolling year at Q4)
    nps: float | None
    nps_ci95: tuple[float, float] | None
    nps_se: float | None
    nps_n: int
    promoters: int
    passives: int
    detractors: int
    ltr: float | None                         # mean 0-10 answer
    ltr_sd: float | None                      # its standard deviation (n − 1)
    # funnel plot
    funnel: pd.DataFrame                      # per partner, small partners suppressed, with ``name``
    funnel_summary: dict                      # target, sd, phi, phi_used, levels, ... (for the chart)
    funnel_target: float | None
    phi: float | None
    phi_p_value: float | None
    adjusted: bool
    ranked: int
    suppressed: int                           # partners with answers but under min_group_size
    ranked_nps_range: tuple[float, float] | None
    ranked_nps_quartiles: tuple[float, float] | None
    flagged: pd.DataFrame                     # partners outside a limit, most negative z first
    below_names: list[str]
    above_names: list[str]
    flagged_ids: dict[str, list[str]]         # below_998, below_95, above_95, above_998
    # quarter by quarter
    by_quarter: pd.DataFrame
    programme_q: pd.DataFrame
    programme_trend_shown: bool
    trend: pd.DataFrame
    moved: pd.DataFrame                       # partners whose rolling-year NPS changed significantly
    # Microsoft CSAT index
    csat_index: pd.DataFrame
    csat_short: pd.DataFrame                  # partners that did not meet the rule, fewest counted answers first
    met: int
    not_met: int
    short: int                                # missed or at risk (not "on track")
    answers_not_counted: int
    capped_names: list[str]
    nsat: float | None
    nsat_counts: dict[str, int]
    checkpoint: pd.Timestamp
    checkpoint_table: pd.DataFrame
    at_risk: pd.DataFrame                     # partners at risk at the checkpoint, by projected date
    at_risk_ids: list[str]                    # the same, in partners.csv order
    at_risk_made_it: int
    at_risk_needed_per_month: float | None
    by_month: pd.DataFrame
    q4_share_pct: float | None
    # Customer Success
    month: pd.Period
    success: pd.DataFrame
    consumption_value: float | None
    consumption_value_prev_year: float | None
    yoy_pct: float | None
    deployments: int | None
    deployments_prev_year: int | None
    deployments_metric: int | None
    last_month: pd.Period | None
    refreshed_by: pd.Timestamp | None
    next_refresh: pd.Timestamp | None
    ineligible_workloads: list[str]
    leaders_laggards: pd.DataFrame
    leaders_k: int
    data_dir: Path | None = None              # where the inputs came from (for the "Data used" table)
    input_frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    unknowns: Unknowns = field(default_factory=Unknowns)

    @property
    def partners(self) -> int:
        return len(self.names)

    def headline(self) -> dict:
        """The ``partners`` section of metrics.json: today's keys, unrounded, plus the raw counts a comparison needs."""
        return {
            "year": self.year,
            "partners": self.partners,
            "responses": self.responses,
            "nps": {"score": self.nps, "ci95": list(self.nps_ci95) if self.nps_ci95 else None, "n": self.nps_n, "ltr": self.ltr,
                    "se": self.nps_se, "promoters": self.promoters, "passives": self.passives, "detractors": self.detractors,
                    "ltr_sd": self.ltr_sd},
            "funnel": {"target": self.funnel_target, "phi": self.phi, "adjusted": self.adjusted, "ranked": self.ranked,
                       **self.flagged_ids, "phi_p_value": self.phi_p_value, "suppressed": self.suppressed,
                       "target_n": self.nps_n},
            "csat_index": {"met": self.met, "not_met": self.not_met, "nsat": self.nsat, "answers_not_counted": self.answers_not_counted,
                           "at_risk_at_checkpoint": list(self.at_risk_ids), "q4_share_pct": self.q4_share_pct,
                           "partners": len(self.csat_index), "nsat_n": sum(self.nsat_counts.values()), "nsat_counts": dict(self.nsat_counts),
                           "q4_responses": int(self.by_month.loc[self.by_month["quarter"] == "Q4", "responses"].sum()),
                           "year_responses": int(self.by_month["responses"].sum())},
            "customer_success": {"month": str(self.month), "consumption_value": self.consumption_value,
                                 "consumption_value_prev_year": self.consumption_value_prev_year, "yoy_pct": self.yoy_pct,
                                 "deployments": self.deployments, "deployments_prev_year": self.deployments_prev_year,
                                 "deployments_metric": self.deployments_metric,
                                 "refreshed_by": self.refreshed_by.date().isoformat() if self.refreshed_by is not None else None},
        }

    def tables(self) -> dict[str, pd.DataFrame]:
        """The CSVs the report writes, every one small-group suppressed (:func:`cxreport.partners.publishable`)."""
        n = self.settings.min_group_size
        return {
            "partners_funnel": pt.publishable(self.funnel, n, "funnel"),
            "partners_nps_by_quarter": pt.publishable(self.by_quarter, n, "by_quarter"),
            "partners_nps_trend": pt.publishable(self.trend, n, "trend"),
            "partners_csat_index": pt.publishable(self.csat_index, n, "csat_index"),
            "partners_csat_index_checkpoint": pt.publishable(self.checkpoint_table, n, "csat_index"),
            "partners_responses_by_month": self.by_month,
            "partners_customer_success": self.success,
        }

    def reason(self, figure: str) -> str:
        """The model's reason a figure is unknown (empty text when it is known)."""
        return self.unknowns.get(figure) or ""

    # ------------------------------------------------------------ the report's sentences, cards and tables
    # Each returns what notebook 04 shows, built from the figures above; an unknown figure gives the model's reason instead,
    # so no sentence ever says nan, None, inf or NaT.
    def title_text(self) -> str:
        """The title, the programme line (answers, partners, period) and the report's opening paragraph."""
        period = (f"{self.first_answer:%-d %B} to {self.last_answer:%-d %B %Y}" if self.responses
                  else f"none submitted in {self.year}")
        return (f"# {self.programme_name} {self.year}\n"
                f"**{self.organisation}** · {plural(self.responses, 'customer answer')} about {number(self.answered)} of "
                f"{plural(self.partners, 'partner')}, {period}\n\n"
                "Every year we ask each customer how likely they are to recommend us, and how satisfied they are, and score each\n"
                "partner on its own customers' answers, quarter by quarter, as Sage does for its partners. This overview shows how the\n"
                "partners compare (and which stand out beyond chance), whether they meet Microsoft's CSAT-index rules, and how their\n"
                "customers' use of the cloud grows (Microsoft's Customer Success metric). Every partner also gets its own scorecard.")

    def kpis(self) -> list[tuple[str, str, str]]:
        """The four headline cards (label, value, detail): programme NPS, LTR, CSAT index met, consumption growth."""
        s = self.settings
        return [
            ("Programme NPS", fmt_num(self.nps),
             f"95% CI {number(self.nps_ci95[0], 1)} to {number(self.nps_ci95[1], 1)}, n = {number(self.nps_n)}" if self.nps_ci95 else self.reason("nps.score")),
            ("Likely to recommend", f"{fmt_num(self.ltr)} / 10", "mean 0-10 answer" if self.ltr is not None else self.reason("nps.ltr")),
            ("CSAT index met", f"{number(self.met)} of {number(self.partners)}", f"partners with ≥ {s.csat_index_min_responses} counted answers"),
            ("Consumption growth", number(self.yoy_pct, 1, signed=True) + "%" if self.yoy_pct is not None else "–",
             f"{self.month:%b %Y} vs {self.month - 12:%b %Y}" if self.yoy_pct is not None else self.reason("customer_success.yoy_pct")),
        ]

    def compare_text(self) -> str:
        """How many partners are ranked and the spread of their NPS around the programme's, or why none is compared."""
        if not self.ranked_nps_range:
            return f"{self.reason('ranked_nps_range')} No partner is compared, and no distribution is drawn."
        (low, high), (q1, q3) = self.ranked_nps_range, self.ranked_nps_quartiles
        if self.ranked == 1:
            return (f"**1** of the {plural(self.answered, 'partner')} with answers has at least "
                    f"{self.settings.partner_min_ranked_responses} and is ranked. Its NPS is **{low:.0f}**, against a programme NPS "
                    f"of **{self.funnel_target:.1f}**.")
        return (f"**{number(self.ranked)}** of the {plural(self.answered, 'partner')} with answers have at least "
                f"{self.settings.partner_min_ranked_responses} and are ranked. Their NPS ranges from **{low:.0f}** to **{high:.0f}** "
                f"around a programme NPS of **{self.funnel_target:.1f}**; the middle half lies between {q1:.0f} and {q3:.0f}.")

    def funnel_text(self) -> str:
        """Whether the funnel limits are widened for over-dispersion, and the partners below and above them (by name)."""
        if self.adjusted and self.phi is not None and self.phi_p_value is not None:
            phi = (f"Partners differ more than chance alone explains (over-dispersion φ = {self.phi:.2f}, {p_value(self.phi_p_value)}), "
                   "so the limits are widened by √φ: only partners that stand out from the usual partner-to-partner spread are flagged.")
        elif self.phi is not None:
            phi = f"Partners differ about as much as chance explains (φ = {self.phi:.2f}), so the limits are not widened."
        else:
            phi = f"The limits are not widened: {self.reason('funnel.phi')}"
        below = f"Below the limits: **{', '.join(self.below_names)}**. " if self.below_names else "No partner falls below the limits. "
        above = f"Above: **{', '.join(self.above_names)}**." if self.above_names else "No partner is above the limits."
        return f"{phi} {below}{above}"

    def suppressed_text(self) -> str:
        """Why the partners under ``min_group_size`` answers are not shown (empty text when there are none)."""
        n = self.suppressed
        if not n:
            return ""
        return (f"{plural(n, 'partner')} with answers but {fewer_than(self.settings.min_group_size)} {'is' if n == 1 else 'are'} not shown: "
                "on so few answers a score would give individual customers' answers away, so no score is published for them "
                "anywhere in this report or its tables (their answers still count in the programme figures).")

    def quarters_text(self) -> str:
        """The programme NPS over the rolling year to Q4 and the partners whose score changed significantly."""
        moved = self.moved
        nps = (f"Over the rolling year to Q4 {self.year} the programme NPS is **{self.nps:.1f}** (n = {number(self.nps_n)}). "
               if self.nps is not None else f"{self.reason('nps.score')} ")
        if not len(moved):
            return nps + ("No partner's score changed significantly from the year before; with these sample sizes only large "
                          "moves can be told apart from chance.")
        return (nps + f"Among partners with at least {self.settings.min_group_size} answers in both years, {number(len(moved))} changed "
                "significantly: " + ", ".join(f"{m.name} ({m.change:+.0f})" for m in moved.itertuples()) + ".")

    def csat_text(self) -> str:
        """Partners meeting Microsoft's CSAT-index rule, the programme NSAT and the answers set aside by the cap."""
        s = self.settings
        nsat = f"The programme's NSAT is **{self.nsat:.0f}**. " if self.nsat is not None else f"{self.reason('csat_index.nsat')} "
        cap = (f"The cap of {s.csat_index_max_per_organisation} per organisation set aside "
               f"{plural(self.answers_not_counted, 'answer')} ({', '.join(self.capped_names)})." if self.capped_names
               else "No organisation answered more than the cap.")
        return (f"**{number(self.met)}** of {plural(self.partners, 'partner')} met the rule in {self.year}; **{number(self.short)}** "
                "did not (yet). " + nsat + cap)

    def risk_text(self) -> str:
        """The partners at risk at the checkpoint, how many still met the rule, and the answers a month they needed."""
        n = len(self.at_risk)
        if not n:
            return f"On {self.checkpoint:%-d %B} no partner was at risk."
        needed = (f" Those at risk needed on average {self.at_risk_needed_per_month:.1f} more answers a month for the rest of the year."
                  if self.at_risk_needed_per_month is not None else "")
        return (f"On {self.checkpoint:%-d %B} **{number(n)}** partner{_s(n)} {'was' if n == 1 else 'were'} at risk; "
                f"{number(self.at_risk_made_it)} of them still met the rule by year end, {number(n - self.at_risk_made_it)} "
                f"did not." + needed)

    def crunch_text(self) -> str:
        """The fourth quarter's share of the year's answers against an even spread, or why there is none."""
        if self.q4_share_pct is None:
            return f"No answers by month to show: {self.reason('csat_index.q4_share_pct')}"
        return (f"**The fourth-quarter crunch.** {fmt_pct(self.q4_share_pct)} of the year's answers arrived in October to December, "
                f"against {fmt_pct(100 / 4)} if they were spread evenly: the months when customers are also asked for renewal "
                "references. Spreading invitations over the year lowers the load on customers and the risk of missing the minimum "
                "at the last minute.")

    def success_text(self) -> str:
        """Customer Success: data freshness, the programme's consumption value, its growth and the deployments metric."""
        if self.last_month is None:
            return f"No Customer Success figures: {self.reason('last_month')}"
        fresh = (f"Usage data up to **{self.last_month:%B %Y}** (complete by {self.refreshed_by:%-d %B %Y}; the next refresh is due by "
                 f"{self.next_refresh:%-d %B %Y}). ")
        if self.consumption_value is None:
            return fresh + self.reason("customer_success.consumption_value")
        growth = (f"{number(self.yoy_pct, 1, signed=True)}% on {self.month - 12:%B %Y}; " if self.yoy_pct is not None else
                  f"with no growth rate to report ({self.reason('customer_success.yoy_pct').rstrip('.')}); ")
        deployments = (f"eligible deployments went from {number(self.deployments_prev_year)} to {number(self.deployments)} "
                       f"(deployments metric **{number(self.deployments_metric, signed=True)}**)." if self.deployments_metric is not None
                       else f"{plural(self.deployments, 'eligible deployment')}, with none to compare a year earlier.")
        value = money(self.consumption_value, self.settings.currency)
        return fresh + f"The programme's monthly consumption value is **{value}**, " + growth + deployments

    def ineligible_text(self) -> str:
        """The workloads of ``usage.csv`` not on the rate card (empty text when every workload has a rate)."""
        if not self.ineligible_workloads:
            return ""
        return f"Workloads without a rate on the rate card are not eligible and not counted: {', '.join(self.ineligible_workloads)}."

    def settings_text(self) -> str:
        """The settings in use, as a method-notes bullet."""
        s = self.settings
        return (f"- **Settings**: no score for a partner (or quarter) with fewer than {s.min_group_size} answers; ranking from "
                f"{s.partner_min_ranked_responses} answers; funnel limits {', '.join(f'{100 * v:g}%' for v in s.funnel_levels)}; "
                f"CSAT index: {s.csat_index_min_responses} answers, at most {s.csat_index_max_per_organisation} per organisation, "
                f"checkpoint {self.checkpoint:%-d %B}; eligible deployment from {s.deployment_min_usage:g} monthly users; NSAT mapping "
                + ", ".join(f"{k} → {v.replace('_', ' ')}" for k, v in sorted(s.nsat_mapping.items())) + ".")

    def chart_note(self, chart: str) -> str:
        """Why a chart is not drawn (``funnel``, ``trend``); empty text when it is."""
        if chart == "funnel":
            return f"No funnel plot: {self.reason('funnel.target')}" if self.funnel_target is None else ""
        if chart == "trend":
            return f"No trend chart: {self.reason('programme_trend')}" if not self.programme_trend_shown else ""
        raise KeyError(chart)

    def chart_title(self, chart: str) -> str:
        """The title of a chart: ``distribution``, ``funnel``, ``trend``, ``by_month`` or ``growth``."""
        return {
            "distribution": f"Partner NPS {self.year} (ranked partners)",
            "funnel": f"Partner NPS against number of answers, {self.year}",
            "trend": "Programme NPS, trailing four quarters",
            "by_month": f"Survey answers by month, {self.year} (fourth quarter highlighted)",
            "growth": f"Consumption growth leaders and laggards, {self.month:%b %Y} vs {self.month - 12:%b %Y}",
        }[chart]

    def view(self, name: str) -> dict:
        """A table as the report shows it, as keyword arguments of :func:`cxreport.reporting.table`: ``table(**report.view(name))``.

        ``flagged`` (partners outside the funnel limits), ``moved`` (significant changes on the year before),
        ``csat_short`` (partners short of the CSAT-index minimum), ``at_risk`` (at risk at the checkpoint) and
        ``leaders_laggards`` (consumption growth). Columns are renamed for the reader, numbers given their formats.
        """
        y, s = self.year, self.settings
        if name == "flagged":
            cols = {"name": "Partner", "n": "Answers", "nps": "NPS", "ltr": "LTR", "position": "Position", "action": "Action"}
            return _view(self.flagged, cols, {"NPS": "{:.1f}", "LTR": "{:.1f}"})
        if name == "moved":
            cols = {"name": "Partner", "n_now": f"Answers {y}", "nps_now": f"NPS {y}", "n_before": f"Answers {y - 1}",
                    "nps_before": f"NPS {y - 1}", "change": "Change", "direction": "Trend"}
            return _view(self.moved, cols, {f"NPS {y}": "{:.1f}", f"NPS {y - 1}": "{:.1f}", "Change": "{:+.1f}"},
                         f"Significant changes in rolling-year NPS, Q4 {y - 1} to Q4 {y} (every partner: table partners_nps_trend)")
        if name == "csat_short":
            cols = {"name": "Partner", "responses": "Answers", "organisations": "Organisations", "counted": "Counted",
                    "needed": "Missing", "nsat": "NSAT", "status": "Status"}
            return _view(self.csat_short, cols, {"NSAT": "{:.0f}"},
                         f"Partners short of {s.csat_index_min_responses} counted answers in {y} (no NSAT under {s.min_group_size} answers)")
        if name == "at_risk":
            cols = {"name": "Partner", "counted": f"Counted by {self.checkpoint:%-d %b}", "pace_per_month": "Answers / month",
                    "projected_date": "Reaches minimum", "needed": "Missing", "needed_per_month": "Needed / month", "year_end": "Year end"}
            return _view(self.at_risk, cols, {"Answers / month": "{:.1f}", "Needed / month": "{:.1f}", "Reaches minimum": "{:%-d %b %Y}"})
        if name == "leaders_laggards":
            cols = {"name": "Partner", "consumption_value": "Consumption value", "mom_pct": "Month on month (%)",
                    "yoy_pct": "Year on year (%)", "deployments": "Eligible deployments", "deployments_metric": "Deployments metric"}
            return _view(self.leaders_laggards, cols, {"Consumption value": lambda x: money(x, self.settings.currency), "Month on month (%)": "{:+.1f}",
                                                       "Year on year (%)": "{:+.1f}", "Deployments metric": "{:+d}"},
                         f"The {self.leaders_k} fastest- and {self.leaders_k} slowest-growing partners")
        raise KeyError(name)


def _s(n: int) -> str:
    """The plural ending for a count: "" for 1, "s" otherwise."""
    return "" if n == 1 else "s"


def _view(frame: pd.DataFrame, columns: dict, formats: dict, caption: str | None = None) -> dict:
    """Keyword arguments of :func:`cxreport.reporting.table`: ``columns`` of ``frame`` in order, renamed, with their formats."""
    shown = frame[list(columns)].rename(columns=columns)
    return {"frame": shown, "caption": caption, "formats": formats}


def _year_nps(current: pd.DataFrame, s: Settings, year: int, unknowns: Unknowns) -> dict:
    """The programme NPS of the year's answers (Rocks 2016 interval) and the mean LTR with its standard deviation."""
    counts = pt.category_counts(current["nps"])
    head = pt.nps_from_counts(*counts, s.confidence, s.nps_ci_method)
    ltr = pd.to_numeric(current["nps"], errors="coerce").dropna().astype(float)
    if head.n == 0:
        unknowns.add("nps.score", f"No answer to the recommendation question was submitted in {year}.")
        unknowns.add("nps.ci95", f"No answer to the recommendation question was submitted in {year}.")
        unknowns.add("nps.se", f"No answer to the recommendation question was submitted in {year}.")
        unknowns.add("nps.ltr", f"No answer to the recommendation question was submitted in {year}.")
    if len(ltr) < 2:
        unknowns.add("nps.ltr_sd", f"A standard deviation needs at least two answers; {year} has {len(ltr)}.")
    return {
        "nps": known(head.score), "nps_ci95": (float(head.ci_low), float(head.ci_high)) if known(head.ci_low) is not None else None,
        "nps_se": known(head.se), "nps_n": int(head.n), "promoters": counts[0], "passives": counts[1], "detractors": counts[2],
        "ltr": known(ltr.mean()) if len(ltr) else None, "ltr_sd": known(ltr.std()) if len(ltr) > 1 else None,
    }


def _funnel(current: pd.DataFrame, ids: list[str], names: dict, s: Settings, year: int, unknowns: Unknowns) -> dict:
    """Funnel plot of the year's partner NPS (:func:`cxreport.partners.nps_funnel`) and the facts the text states about it."""
    funnel, summary = pt.nps_funnel(current, ids, tuple(s.funnel_levels), s.partner_min_ranked_responses,
                                    s.funnel_adjust_overdispersion, min_n=s.min_group_size)
    funnel["name"] = funnel["partner_id"].map(names)
    ranked = funnel[funnel["position"] != pt.NOT_RANKED]
    flagged = funnel[funnel["position"].isin(FLAGGED)].sort_values("z")
    if summary["target"] != summary["target"]:
        unknowns.add("funnel.target", f"No answer was submitted in {year}, so there is no programme NPS to compare partners with.")
    if ranked.empty:
        unknowns.add("ranked_nps_range", f"No partner has the {s.partner_min_ranked_responses} answers in {year} needed to be ranked.")
    if known(summary["phi"]) is None:
        unknowns.add("funnel.phi", "Over-dispersion is estimated from the ranked partners' scores, and no partner is ranked.")
    if known(summary["phi_p_value"]) is None:
        unknowns.add("funnel.phi_p_value", f"Testing over-dispersion needs at least two ranked partners; {year} has {len(ranked)}.")
    return {
        "funnel": funnel, "funnel_summary": summary, "funnel_target": known(summary["target"]),
        "phi": known(summary["phi"]), "phi_p_value": known(summary["phi_p_value"]), "adjusted": bool(summary["adjusted"]),
        "ranked": int(summary["ranked"]), "suppressed": int(summary["suppressed"]),
        "ranked_nps_range": (float(ranked["nps"].min()), float(ranked["nps"].max())) if len(ranked) else None,
        "ranked_nps_quartiles": (float(ranked["nps"].quantile(0.25)), float(ranked["nps"].quantile(0.75))) if len(ranked) else None,
        "flagged": flagged, "below_names": flagged.loc[flagged["z"] < 0, "name"].tolist(),
        "above_names": flagged.loc[flagged["z"] > 0, "name"].tolist(), "flagged_ids": pt.flagged_partners(funnel),
    }


def _quarters(history: pd.DataFrame, ids: list[str], names: dict, s: Settings, year: int, unknowns: Unknowns) -> dict:
    """NPS per partner and quarter, the programme's rolling year, and each partner's change on the year before."""
    kw = {"confidence": s.confidence, "method": s.nps_ci_method, "min_n": s.min_group_size, "last_quarter": f"{year}Q4"}
    by_quarter = pt.nps_by_partner_quarter(history, ids, **kw)
    programme_q = pt.programme_by_quarter(history, **kw)
    trend = pt.nps_trend(by_quarter, f"{year}Q4", s.confidence, s.min_group_size)
    trend["name"] = trend["partner_id"].map(names)
    shown = bool(programme_q["t4q_nps"].notna().any())
    if not shown:
        unknowns.add("programme_trend", f"No rolling year up to Q4 {year} has the {s.min_group_size} answers a score needs.")
    return {"by_quarter": by_quarter, "programme_q": programme_q, "programme_trend_shown": shown, "trend": trend,
            "moved": trend[trend["significant"]].sort_values("change", ascending=False)}


def _csat(responses: pd.DataFrame, current: pd.DataFrame, ids: list[str], names: dict, s: Settings, year: int,
          unknowns: Unknowns) -> dict:
    """Microsoft's CSAT-index rules at year end and at the checkpoint, the programme NSAT and the fourth-quarter share."""
    mapping = s.nsat_mapping
    rules = (ids, mapping, s.csat_index_min_responses, s.csat_index_max_per_organisation)
    ci = pt.csat_index(responses, year, *rules, min_n=s.min_group_size)
    ci["name"] = ci["partner_id"].map(names)
    status = ci["status"].value_counts()
    met = int(status.get("met", 0))
    capped = ci[ci["not_counted"] > 0]
    levels = pt.nsat_level(current["csat"], mapping).value_counts()
    nsat_counts = {k: int(levels.get(k, 0)) for k in pt.NSAT_LEVELS}
    nsat = known(pt.nsat_from_counts(*nsat_counts.values()))
    if nsat is None:
        unknowns.add("csat_index.nsat", f"No customer answered the satisfaction question in {year}.")
    try:
        checkpoint = pd.Timestamp(f"{year}-{s.csat_index_checkpoint}")
    except ValueError:
        raise ParamsError(f"setting csat_index_checkpoint: {s.csat_index_checkpoint!r}; expected a month-day that exists in {year}, "
                          "such as '09-30'") from None
    early = pt.csat_index(responses, year, *rules, as_of=checkpoint, min_n=s.min_group_size)
    early["name"] = early["partner_id"].map(names)
    at_risk = early[early["status"] == "at risk"].merge(ci[["partner_id", "status"]].rename(columns={"status": "year_end"}),
                                                      on="partner_id")
    needed = known(at_risk["needed_per_month"].mean()) if len(at_risk) else None
    if needed is None:
        unknowns.add("at_risk_needed_per_month", f"No partner was at risk on {checkpoint:%-d %B %Y}.")
    by_month = pt.responses_by_month(responses, year)
    q4 = known(pt.quarter_shares(by_month).get("Q4"))
    if q4 is None:
        unknowns.add("csat_index.q4_share_pct", f"No answer was submitted in {year}, so there is no share per quarter.")
    return {
        "csat_index": ci, "csat_short": ci[ci["status"] != "met"].sort_values("counted"), "met": met, "not_met": int(len(ci) - met),
        "short": int(status.get("missed", 0) + status.get("at risk", 0)),
        "answers_not_counted": int(ci["not_counted"].sum()), "capped_names": capped["name"].tolist(),
        "nsat": nsat, "nsat_counts": nsat_counts, "checkpoint": checkpoint, "checkpoint_table": early,
        "at_risk": at_risk.sort_values("projected_date"), "at_risk_ids": at_risk["partner_id"].tolist(), "at_risk_made_it": int((at_risk["year_end"] == "met").sum()),
        "at_risk_needed_per_month": needed, "by_month": by_month, "q4_share_pct": q4,
    }


def _success(usage: pd.DataFrame, ids: list[str], names: dict, s: Settings, year: int, unknowns: Unknowns) -> dict:
    """Microsoft's Customer Success metric in the report month (:func:`cxreport.customer_success.customer_success`)."""
    rates = dict(s.consumption_rates)
    month = cs.report_month(usage, year)
    if month.year < year:  # the data ends before the report year: measure December, which has no usage
        month = pd.Period(f"{year}-12", freq="M")
    used = usage[usage["month"] <= month]
    success = cs.customer_success(used, rates, s.deployment_min_usage, month, ids)
    success["name"] = success["partner_id"].map(names)
    as_of = cs.data_as_of(used, s.usage_refresh_day)
    now, before = float(success["consumption_value"].sum()), float(success["consumption_value_prev_year"].sum())
    has_now = bool((used["month"] == month).any())
    has_before = bool((used["month"] == month - 12).any())
    if not has_now:
        now = None
        unknowns.add("customer_success.consumption_value", f"usage.csv has no usage for {month:%B %Y}.")
    if not has_before:
        before = None
        unknowns.add("customer_success.consumption_value_prev_year", f"usage.csv has no usage for {month - 12:%B %Y}, a year before the report month.")
    yoy = cs.growth_pct(now, before)
    if yoy is None:
        unknowns.add("customer_success.yoy_pct", unknowns.get("customer_success.consumption_value_prev_year") or unknowns.get("customer_success.consumption_value")
                     or f"No eligible consumption in {month - 12:%B %Y} to grow from.")
    if as_of["last_month"] is None:
        for key in ("customer_success.refreshed_by", "last_month"):
            unknowns.add(key, f"usage.csv has no usage up to {month:%B %Y}.")
    growth = success.dropna(subset=["yoy_pct"]).sort_values("yoy_pct", ascending=False)
    k = min(5, len(growth) // 2)
    if k == 0:
        unknowns.add("leaders_laggards", f"Growth leaders and laggards need usage a year earlier ({month - 12:%B %Y}) "
                     "for at least two partners.")
    ineligible = sorted(set(usage["workload"].astype(str)) - set(rates))
    deploy_now = int(success["deployments"].sum()) if has_now else None
    deploy_before = int(success["deployments_prev_year"].sum()) if has_before else None
    if deploy_now is None:
        unknowns.add("customer_success.deployments", unknowns.get("customer_success.consumption_value"))
    if deploy_now is None or deploy_before is None:
        unknowns.add("customer_success.deployments_metric", unknowns.get("customer_success.consumption_value")
                     or unknowns.get("customer_success.consumption_value_prev_year"))
    if deploy_before is None:
        unknowns.add("customer_success.deployments_prev_year", unknowns.get("customer_success.consumption_value_prev_year"))
    return {
        "month": month, "success": success, "consumption_value": now, "consumption_value_prev_year": before, "yoy_pct": yoy,
        "deployments": deploy_now, "deployments_prev_year": deploy_before, "deployments_metric": deploy_now - deploy_before if deploy_now is not None and deploy_before is not None else None,
        "last_month": as_of["last_month"], "refreshed_by": as_of["refreshed_by"], "next_refresh": as_of["next_refresh"],
        "ineligible_workloads": ineligible, "leaders_laggards": pd.concat([growth.head(k), growth.tail(k)]), "leaders_k": k,
    }


def build(inputs: Inputs, settings: Settings, year: int) -> PartnerProgramme:
    """The partner-programme report of ``year`` from validated input frames (pure: no file I/O).

    Answers count in the year of ``submitted_at``; the quarterly view pools
    every answer up to Q4 of ``year``; usage counts up to the report month
    (:func:`cxreport.customer_success.report_month`: December, or the data's
    last month if earlier). Partners are those of ``partners.csv``, in its order.
    """
    s = settings
    responses, partner_list, usage = inputs["partner_survey_responses.csv"], inputs["partners.csv"], inputs["usage.csv"]
    ids = [str(p) for p in partner_list["partner_id"]]
    names = dict(zip(ids, (str(n) for n in partner_list["name"])))
    unknowns = Unknowns()
    current = responses[responses["submitted_at"].dt.year == year]
    history = responses[responses["submitted_at"].dt.year <= year]
    return PartnerProgramme(
        year=int(year), organisation=s.organisation, programme_name=s.programme_name, settings=s, names=names,
        responses=int(len(current)), answered=int(current["partner_id"].nunique()),
        first_answer=current["submitted_at"].min() if len(current) else None,
        last_answer=current["submitted_at"].max() if len(current) else None,
        **_year_nps(current, s, year, unknowns),
        **_funnel(current, ids, names, s, year, unknowns),
        **_quarters(history, ids, names, s, year, unknowns),
        **_csat(responses, current, ids, names, s, year, unknowns),
        **_success(usage, ids, names, s, year, unknowns),
        data_dir=inputs.data_dir, input_frames=dict(inputs.frames), unknowns=unknowns,
    )


def build_from_folder(data_dir, year: int, settings: dict | Settings | None = None, run_db: str | Path | None = None,
                      engine: str | None = None, engine_url: str | None = None) -> PartnerProgramme:
    """Load the report's input files from ``data_dir`` (validated) and :func:`build` the report of ``year``.

    ``run_db``, ``engine`` and ``engine_url`` come from the pipeline: its run database of validated inputs
    (:func:`.base.load_inputs`) and the engine the queries run on (:func:`.base.report_engine`).
    """
    return build_from_data(build, INPUTS, data_dir, year, settings, run_db, engine, engine_url)


def programme_headline(inputs: Inputs, settings: Settings, year: int) -> dict:
    """The ``partners`` headline of any year with data, for the executive summary's earlier years.

    Replaces the summary's own sequence of library calls: the same
    :func:`build` the report runs, so both give the same figures.
    """
    return build(inputs, settings, year).headline()

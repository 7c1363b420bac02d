"""One partner's scorecard (``notebooks/05_partner_scorecard.ipynb``, run once per partner of ``partners.csv``).

The partner's own figures against the programme as a whole: its NPS, LTR and
place on the funnel plot (:func:`cxreport.partners.nps_funnel` over every
partner, so the limits and ranks are the programme report's), its quarters,
its CSAT-index status (:func:`cxreport.partners.csat_index`) and its Customer
Success figures against the programme median
(:func:`cxreport.customer_success.customer_success`).

A scorecard never names another partner: the model keeps no other partner's
id or name (the funnel table it charts gives them all an empty id), and
compares only with programme-wide figures (target, medians, ranks).

A partner with fewer answers than ``partner_min_ranked_responses`` (or than
``min_group_size``) gets no NPS, LTR, rank or NSAT: those are ``None`` with
the reason, and its quarters are not shown. The scorecard writes no metrics
and no tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import customer_success as cs
from .. import partners as pt
from ..inputs import InputError
from ..present.format import money, number, plural, sentence_case
from ..reporting import fmt_num
from ..settings import Settings
from .base import Inputs, ReportModel, Unknowns, build_from_data, known

INPUTS = {"requires": ("partner_survey_responses.csv", "partners.csv", "usage.csv", "accounts.csv"), "optional": ()}
SETTINGS = (
    "programme_name", "min_group_size", "confidence", "currency", "nps_ci_method", "partner_min_ranked_responses", "funnel_levels",
    "funnel_adjust_overdispersion", "csat_index_min_responses", "csat_index_max_per_organisation", "nsat_mapping",
    "consumption_rates", "deployment_min_usage", "usage_refresh_day",
)
OTHER = ""  # not a valid partner id (ids are 1-64 characters), so never the highlighted one
POSITION_TEXT = {
    pt.WITHIN: "within the range expected by chance around the programme average",
    pt.BELOW_95: "below the 95% limit: lower than the programme by more than chance usually explains",
    pt.BELOW_998: "below the 99.8% limit: clearly lower than the programme",
    pt.ABOVE_95: "above the 95% limit: higher than the programme by more than chance usually explains",
    pt.ABOVE_998: "above the 99.8% limit: clearly higher than the programme",
}
STATUS_TEXT = {"met": "met", "missed": "not met", "at risk": "at risk", "on track": "on track"}


@dataclass
class PartnerScorecard(ReportModel):
    """One partner's scorecard of one year; ``None`` = unknown or suppressed, with the reason in ``unknowns``."""

    SECTION = "partner_scorecard"

    year: int
    partner_id: str
    name: str
    details: str                          # "Nordics · Gold partner" (region, tier), or ""
    programme_name: str
    settings: Settings
    responses: int                        # the partner's answers in the year
    enough: bool                          # ranked and not a small group: its scores are shown
    nps: float | None
    nps_ci95: tuple[float, float] | None
    nps_n: int
    promoters: int | None                 # None when the partner's scores are not shown (they would give answers away)
    passives: int | None
    detractors: int | None
    ltr: float | None
    rank: int | None
    ranked: int                           # partners ranked in the programme
    percentile: float | None              # share of the other ranked partners scoring lower, 0-100
    position: str | None                  # funnel position (cxreport.partners constants)
    position_text: str | None
    programme_nps: float | None           # the funnel target: every answer of the year
    programme_n: int
    funnel: pd.DataFrame                  # every partner's dot, others anonymised as ""
    funnel_summary: dict
    quarters: pd.DataFrame | None         # the partner's quarters of the year, published form
    partner_q: pd.DataFrame | None        # the partner's rolling year by quarter (chart)
    programme_q: pd.DataFrame | None      # the programme's rolling year by quarter (chart)
    # CSAT index
    csat_status: str
    csat_status_text: str
    csat_responses: int
    organisations: int
    counted: int
    not_counted: int
    needed: int
    nsat: float | None
    pace_per_month: float
    projected_date: pd.Timestamp | None
    # Customer Success
    month: pd.Period
    consumption_value: float | None       # 0 when the partner's customers used nothing that month; None without data for it
    mom_pct: float | None
    yoy_pct: float | None
    deployments: int
    deployments_metric: int
    growth_rank_pct: float | None         # share of partners growing slower, 0-100
    median_consumption_value: float | None
    median_mom_pct: float | None
    median_yoy_pct: float | None
    median_deployments: float | None
    median_deployments_metric: float | None
    refreshed_by: pd.Timestamp | None
    unknowns: Unknowns = field(default_factory=Unknowns)

    def headline(self) -> dict:
        """The scorecard's own figures (not written to metrics.json: a scorecard writes no metrics)."""
        return {
            "year": self.year, "partner_id": self.partner_id, "responses": self.responses, "enough": self.enough,
            "nps": {"score": self.nps, "ci95": list(self.nps_ci95) if self.nps_ci95 else None, "n": self.nps_n,
                    "promoters": self.promoters, "passives": self.passives, "detractors": self.detractors, "ltr": self.ltr,
                    "rank": self.rank, "ranked": self.ranked, "percentile": self.percentile, "position": self.position},
            "programme": {"nps": self.programme_nps, "n": self.programme_n},
            "csat_index": {"status": self.csat_status, "responses": self.csat_responses, "counted": self.counted,
                           "not_counted": self.not_counted, "needed": self.needed, "nsat": self.nsat},
            "customer_success": {"month": str(self.month), "consumption_value": self.consumption_value, "mom_pct": self.mom_pct,
                                 "yoy_pct": self.yoy_pct, "deployments": self.deployments,
                                 "deployments_metric": self.deployments_metric, "growth_rank_pct": self.growth_rank_pct},
        }

    def write(self, tables_dir=None, metrics_path=None) -> None:
        """Nothing to write: a scorecard publishes no tables and no headline figures."""

    def reason(self, figure: str) -> str:
        """The model's reason a figure is unknown (empty text when it is known)."""
        return self.unknowns.get(figure) or ""

    # ------------------------------------------------------------ the scorecard's sentences, cards and tables
    # Each returns what notebook 05 shows, from this partner's figures and programme-wide ones only (never another
    # partner's name); an unknown figure gives the model's reason instead, so no sentence says nan, None, inf or NaT.
    def title_text(self) -> str:
        """The title, the partner's line (programme, id, region and tier, answers) and the scorecard's opening paragraph."""
        details = f" · {self.details}" if self.details else ""
        return (f"# {self.name}: partner scorecard {self.year}\n"
                f"**{self.programme_name}** · {self.partner_id}{details} · {plural(self.responses, 'customer answer')} in {self.year}\n\n"
                "How likely your customers are to recommend us (NPS and likely-to-recommend score), how satisfied they are under\n"
                "Microsoft's CSAT-index rules, and how their use of the cloud grows, compared with the programme as a whole.\n"
                "Other partners are never named.")

    def kpis(self) -> list[tuple[str, str, str]]:
        """The headline cards (label, value, detail): NPS, LTR, NSAT and CSAT index when the partner has enough answers;
        else its answers, the programme NPS and the CSAT index."""
        s = self.settings
        csat = ("CSAT index", self.csat_status_text,  # counted can exceed the minimum: "33 counted answers; 10 needed"
                f"{plural(self.counted, 'counted answer')}; {number(s.csat_index_min_responses)} needed")
        if not self.enough:
            return [
                ("Answers this year", number(self.responses), f"{number(s.partner_min_ranked_responses)} needed for a score"),
                ("Programme NPS", fmt_num(self.programme_nps), f"all partners, n = {number(self.programme_n)}"),
                csat,
            ]
        programme = f"programme {self.programme_nps:.1f}" if self.programme_nps is not None else self.reason("programme.nps")
        ci = f"95% CI {self.nps_ci95[0]:.0f} to {self.nps_ci95[1]:.0f}; " if self.nps_ci95 else ""
        return [
            ("Net Promoter Score", fmt_num(self.nps), ci + programme),
            ("Likely to recommend", f"{fmt_num(self.ltr)} / 10", f"mean answer, n = {number(self.nps_n)}"),
            ("NSAT", fmt_num(self.nsat, 0),
             "0-200; 100 = as many very satisfied as dissatisfied" if self.nsat is not None else self.reason("csat_index.nsat")),
            csat,
        ]

    def rank_text(self) -> str:
        """The partner's NPS, its rank among the ranked partners and its place on the funnel plot (needs ``enough``)."""
        if not self.enough:
            return self.reason("nps.score")
        if self.ranked == 1 or self.percentile is None:
            rank = "is the only ranked score in the programme"
        else:
            rank = f"ranks **{number(self.rank)} of {number(self.ranked)}** ranked partners (ahead of {self.percentile:.0f}% of them)"
        return f"Your NPS of **{self.nps:.1f}** {rank}; on the funnel plot it lies {self.position_text}."

    def too_few_text(self) -> str:
        """Why a partner with too few answers gets no score (empty text when it has enough)."""
        if self.enough:
            return ""
        return (f"{self.reason('nps.score')} That is too few for a stable score, so no NPS, ranking or NSAT is shown; "
                "encourage more of your customers to answer next year's survey.")

    def comparison_text(self) -> str:
        """The heading and the reading guide of the funnel plot (shown only with ``enough`` answers)."""
        return ("## Your score against the programme\nEach dot is a partner (others unnamed); the funnel lines show how far a score can "
                "stray from the programme average by chance for a given number of answers.")

    def chart_title(self, chart: str) -> str:
        """The title of a chart: ``funnel`` or ``trend``."""
        return {"funnel": f"NPS against number of answers, {self.year}", "trend": "Your NPS over the trailing four quarters"}[chart]

    def csat_text(self) -> str:
        """The partner's answers and organisations, the answers counted under the cap, and whether the rule is met."""
        s = self.settings
        text = (f"{sentence_case(plural(self.csat_responses, 'answer'))} from {plural(self.organisations, 'customer organisation')}; "
                f"**{number(self.counted)} counted** (at most {s.csat_index_max_per_organisation} per organisation; "
                f"{number(s.csat_index_min_responses)} needed)"
                + (f", {number(self.not_counted)} set aside by the cap. " if self.not_counted else ". "))
        if self.csat_status == "met":
            return text + "The rule is **met**."
        if self.csat_status == "missed":
            return text + f"**{number(self.needed)} more** counted answer{_s(self.needed)} {'was' if self.needed == 1 else 'were'} needed by 31 December."
        if self.projected_date is not None:
            return text + (f"At the current pace of {self.pace_per_month:.1f} a month the minimum is reached on "
                           f"{self.projected_date:%-d %B %Y}: **{self.csat_status}**.")
        return text + f"No answer counts yet, so the minimum is not in reach at the current pace: **{self.csat_status}**."

    def growth_text(self) -> str:
        """The growth of the partner's customers' consumption on a year earlier and its rank, or why there is none."""
        if self.yoy_pct is None:
            return f"No growth rate on a year earlier: {self.reason('customer_success.yoy_pct')}"
        faster = (f", faster than {self.growth_rank_pct:.0f}% of partners" if self.growth_rank_pct is not None else "")
        return f"Your customers' consumption grew {number(self.yoy_pct, 1, signed=True)}% on {self.month - 12:%B %Y}{faster}."

    def view(self, name: str) -> dict:
        """A table as the scorecard shows it, as keyword arguments of :func:`cxreport.reporting.table`: ``table(**card.view(name))``.

        ``quarters`` (the partner's quarters of the year; needs ``enough``) and ``success`` (its Customer Success
        figures against the programme median, as text: an unknown figure shows "–").
        """
        if name == "quarters":
            q = self.quarters.assign(quarter=self.quarters["quarter"].astype(str))
            cols = {"quarter": "Quarter", "n": "Answers", "nps": "NPS", "ltr": "LTR", "csat": "CSAT", "t4q_n": "Answers (4 quarters)",
                    "t4q_nps": "NPS (4 quarters)"}
            return {"frame": q[list(cols)].rename(columns=cols),
                    "caption": f"Quarter by quarter (a quarter with fewer than {self.settings.min_group_size} answers shows no score)",
                    "formats": {"NPS": "{:.0f}", "LTR": "{:.1f}", "CSAT": "{:.1f}", "Answers (4 quarters)": "{:.0f}",
                                "NPS (4 quarters)": "{:.0f}"}}
        if name == "success":
            frame = pd.DataFrame({
                "Measure": ["Monthly consumption value", "Growth, month on month (%)", "Growth, year on year (%)", "Eligible deployments",
                            "Deployments metric"],
                "You": [money(self.consumption_value, self.settings.currency), fmt_num(self.mom_pct, signed=True), fmt_num(self.yoy_pct, signed=True),
                        number(self.deployments), number(self.deployments_metric, signed=True)],
                "Programme median": [money(self.median_consumption_value, self.settings.currency),
                                     fmt_num(self.median_mom_pct, signed=True), fmt_num(self.median_yoy_pct, signed=True),
                                     number(self.median_deployments), number(self.median_deployments_metric, signed=True)]})
            fresh = f" (usage data complete by {self.refreshed_by:%-d %B %Y})" if self.refreshed_by is not None else ""
            return {"frame": frame, "caption": f"{self.month:%B %Y}{fresh}", "formats": None}
        raise KeyError(name)


def _partner(partner_list: pd.DataFrame, partner_id: str) -> pd.Series:
    rows = partner_list[partner_list["partner_id"].astype(str) == str(partner_id)]
    if rows.empty:
        raise InputError([f"partners.csv, column partner_id: no row for the scorecard's partner_id {partner_id!r}; "
                          "expected the id of a partner listed in partners.csv"])
    return rows.iloc[0]


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def _s(n: int) -> str:
    """The plural ending for a count: "" for 1, "s" otherwise."""
    return "" if n == 1 else "s"



def build(inputs: Inputs, settings: Settings, year: int, partner_id: str) -> PartnerScorecard:
    """The scorecard of ``partner_id`` for ``year`` from validated input frames (pure: no file I/O).

    Raises :class:`cxreport.inputs.InputError` when ``partner_id`` is not in
    ``partners.csv``.
    """
    s = settings
    responses, partner_list, usage = inputs["partner_survey_responses.csv"], inputs["partners.csv"], inputs["usage.csv"]
    me = _partner(partner_list, partner_id)
    pid = str(partner_id)
    ids = [str(p) for p in partner_list["partner_id"]]
    unknowns = Unknowns()
    current = responses[responses["submitted_at"].dt.year == year]
    mine = current[current["partner_id"].astype(str) == pid]

    # funnel over every partner (target, limits, ranks), then anonymised
    funnel, summary = pt.nps_funnel(current, ids, tuple(s.funnel_levels), s.partner_min_ranked_responses,
                                    s.funnel_adjust_overdispersion, min_n=s.min_group_size)
    row = funnel.set_index("partner_id").loc[pid]
    enough = bool(row["position"] != pt.NOT_RANKED and not row["suppressed"])
    funnel = funnel.assign(partner_id=funnel["partner_id"].where(funnel["partner_id"] == pid, OTHER))
    counts = pt.category_counts(mine["nps"])
    head = pt.nps_from_counts(*counts, s.confidence, s.nps_ci_method)
    if not enough:
        why = (f"Only {head.n} customer answer{'' if head.n == 1 else 's'} in {year}: a score needs at least "
               f"{max(s.partner_min_ranked_responses, s.min_group_size)}.")
        for key in ("nps.score", "nps.ci95", "nps.ltr", "nps.promoters", "nps.passives", "nps.detractors", "nps.rank", "nps.percentile", "nps.position", "csat_index.nsat"):
            unknowns.add(key, why)
    programme_nps = known(summary["target"])
    if programme_nps is None:
        unknowns.add("programme.nps", f"No answer was submitted in {year}.")

    quarters = partner_q = programme_q = None
    if enough:
        history = responses[responses["submitted_at"].dt.year <= year]
        kw = {"confidence": s.confidence, "method": s.nps_ci_method, "min_n": s.min_group_size, "last_quarter": f"{year}Q4"}
        programme_q = pt.programme_by_quarter(history, **kw)
        partner_q = pt.nps_by_partner_quarter(history[history["partner_id"].astype(str) == pid], [pid], **kw)
        partner_q = partner_q[partner_q["quarter"] >= programme_q["quarter"].min()]
        quarters = pt.publishable(partner_q[partner_q["quarter"].dt.year == year], s.min_group_size, "by_quarter")

    # CSAT index
    ci = pt.csat_index(responses, year, [pid], s.nsat_mapping, s.csat_index_min_responses, s.csat_index_max_per_organisation,
                       min_n=s.min_group_size).iloc[0]
    nsat = known(ci["nsat"]) if enough else None
    if enough and nsat is None:
        unknowns.add("csat_index.nsat", f"Fewer than {s.min_group_size} counted answers with a satisfaction score in {year}.")
    projected = ci["projected_date"] if pd.notna(ci["projected_date"]) else None

    # Customer Success against the programme median
    month = cs.report_month(usage, year)
    if month.year < year:  # the data ends before the report year: measure December, which has no usage
        month = pd.Period(f"{year}-12", freq="M")
    used = usage[usage["month"] <= month]
    has_now = bool((used["month"] == month).any())
    if not has_now:
        unknowns.add("customer_success.consumption_value", f"usage.csv has no usage for {month:%B %Y}.")
    success = cs.customer_success(used, dict(s.consumption_rates), s.deployment_min_usage, month, ids)
    mine_cs = success.set_index("partner_id").loc[pid]
    as_of = cs.data_as_of(used, s.usage_refresh_day)
    growth_rank = success["yoy_pct"].rank(pct=True)[success["partner_id"] == pid].iloc[0]
    if known(mine_cs["mom_pct"]) is None:
        unknowns.add("customer_success.mom_pct", f"Your customers had no eligible usage in {month - 1:%B %Y} to grow from.")
    if known(mine_cs["yoy_pct"]) is None:
        unknowns.add("customer_success.yoy_pct", f"Your customers had no eligible usage in {month - 12:%B %Y} to grow from.")
        unknowns.add("customer_success.growth_rank_pct", f"Your customers had no eligible usage in {month - 12:%B %Y} to grow from.")
    elif success["yoy_pct"].notna().sum() < 2:  # no other partner to be faster than
        unknowns.add("customer_success.growth_rank_pct", "No other partner's customers have a growth rate on a year earlier to compare with.")
    if as_of["refreshed_by"] is None:
        unknowns.add("refreshed_by", f"usage.csv has no usage up to {month:%B %Y}.")
    median = success[["consumption_value", "mom_pct", "yoy_pct", "deployments", "deployments_metric"]].median()
    for col in ("mom_pct", "yoy_pct"):
        if known(median[col]) is None:
            unknowns.add(f"median_{col}", "No partner has usage in the month compared with.")

    return PartnerScorecard(
        year=int(year), partner_id=pid, name=str(me["name"]),
        details=" · ".join(v for v in (_text(me.get("region")), f"{_text(me.get('tier'))} partner" if _text(me.get("tier")) else "") if v),
        programme_name=s.programme_name, settings=s, responses=int(len(mine)), enough=enough,
        nps=known(head.score) if enough else None,
        nps_ci95=(float(head.ci_low), float(head.ci_high)) if enough else None, nps_n=int(head.n),
        promoters=counts[0] if enough else None, passives=counts[1] if enough else None,
        detractors=counts[2] if enough else None,
        ltr=known(row["ltr"]) if enough else None, rank=int(row["rank"]) if enough else None, ranked=int(summary["ranked"]),
        percentile=known(row["percentile"]) if enough else None, position=str(row["position"]) if enough else None,
        position_text=POSITION_TEXT.get(row["position"]) if enough else None,
        programme_nps=programme_nps, programme_n=int(summary["target_n"]), funnel=funnel, funnel_summary=summary,
        quarters=quarters, partner_q=partner_q, programme_q=programme_q,
        csat_status=str(ci["status"]), csat_status_text=STATUS_TEXT[ci["status"]], csat_responses=int(ci["responses"]),
        organisations=int(ci["organisations"]), counted=int(ci["counted"]), not_counted=int(ci["not_counted"]),
        needed=int(ci["needed"]), nsat=nsat, pace_per_month=float(ci["pace_per_month"]), projected_date=projected,
        month=month, consumption_value=float(mine_cs["consumption_value"]) if has_now else None, mom_pct=known(mine_cs["mom_pct"]),
        yoy_pct=known(mine_cs["yoy_pct"]), deployments=int(mine_cs["deployments"]),
        deployments_metric=int(mine_cs["deployments_metric"]),
        growth_rank_pct=None if "customer_success.growth_rank_pct" in unknowns.reasons else known(100 * growth_rank),
        median_consumption_value=known(median["consumption_value"]), median_mom_pct=known(median["mom_pct"]),
        median_yoy_pct=known(median["yoy_pct"]), median_deployments=known(median["deployments"]),
        median_deployments_metric=known(median["deployments_metric"]), refreshed_by=as_of["refreshed_by"],
        unknowns=unknowns,
    )


def build_from_folder(data_dir, year: int, partner_id: str, settings: dict | Settings | None = None,
                      run_db: str | Path | None = None, engine: str | None = None,
                      engine_url: str | None = None) -> PartnerScorecard:
    """Load the input files from ``data_dir`` (validated) and :func:`build` the scorecard of ``partner_id`` for ``year``.

    ``run_db``, ``engine`` and ``engine_url`` come from the pipeline: its run database of validated inputs
    (:func:`.base.load_inputs`) and the engine the queries run on (:func:`.base.report_engine`).
    """
    return build_from_data(build, INPUTS, data_dir, year, settings, run_db, engine, engine_url, partner_id)

"""The cloud-maturity report (``notebooks/02_cloud_maturity.ipynb``): every figure it states, from the input frames.

``build(inputs, settings, year)`` composes the domain functions of
:mod:`cxreport.maturity` (stages, benchmark test, segments, dimension
profile, movement, targets, account list), :mod:`cxreport.survey` through
:func:`cxreport.maturity.satisfaction_by_stage` (when the survey file is
present) and :func:`cxreport.revenue.revenue_by_segment` (when the ledger is
present). It reads no file; :func:`build_from_folder` loads the inputs first.

Which assessment counts: each customer's latest assessment dated in the report
year; movement compares it with the customer's latest assessment of the year
before, placed with the same rule (:func:`cxreport.maturity.customer_stages`).

Unknown figures are ``None`` with a reason in ``unknowns`` (keyed by their
dotted path in the headline, e.g. ``movement.moved_up_pct``): no movement
without assessments in the previous year, no target figures without
``target_stage``, no satisfaction split without a survey file or linked
respondents, no revenue split without a ledger or revenue in the year.

Input problems only ``build`` can see raise :class:`cxreport.inputs.InputError`:
no assessment dated in the report year, or none that scores enough dimensions
to place a customer (``maturity_rubric.min_dimensions``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from .. import maturity as M
from ..inputs import InputError
from ..present.format import money, number, plural
from ..settings import Settings
from .base import Inputs, ReportModel, Unknowns, build_from_data, known

ASSESSMENTS, ACCOUNTS, SURVEY, REVENUE = "maturity_assessments.csv", "accounts.csv", "survey_responses.csv", "revenue.csv"
INPUTS = {"requires": (ASSESSMENTS, ACCOUNTS), "optional": (SURVEY, REVENUE)}
SETTINGS = (
    "organisation", "maturity_title", "min_group_size", "confidence", "currency", "nps_ci_method",
    "maturity_stages", "maturity_dimensions", "maturity_rubric", "maturity_accounts_shown",
)
# How the report shows its tables: column -> heading, and number formats (presentation only).
DISTRIBUTION_SHOWN = {"stage": "Stage", "stage_name": "Name", "n": "Customers", "share_pct": "Share (%)", "ci_low": "95% CI low",
                      "ci_high": "95% CI high", "benchmark_pct": "IDC (%)", "expected": "Expected at IDC shares", "residual": "Residual"}
DISTRIBUTION_FORMATS = {"Share (%)": "{:.1f}", "95% CI low": "{:.1f}", "95% CI high": "{:.1f}", "IDC (%)": "{:.0f}",
                        "Expected at IDC shares": "{:.0f}", "Residual": "{:+.1f}"}
REVENUE_SHOWN = {"stage_name": "Stage", "customers": "Customers", "revenue": "Revenue",  # stages by name, never 1.000000
                 "revenue_share_pct": "Share of revenue (%)", "recurring_share_pct": "Recurring (%)", "arpa": "ARPA (Dec MRR)"}
REVENUE_FORMATS = {"Customers": number, "Revenue": number, "Share of revenue (%)": lambda x: number(x, 1),
                   "Recurring (%)": lambda x: number(x, 1), "ARPA (Dec MRR)": number}  # house number style (present.format)
ACCOUNTS_SHOWN = {"name": "Account", "customer_id": "Customer", "partner_id": "Partner", "stage_name": "Stage",
                  "weakest_dimension": "Weakest dimension", "movement": "Since last year", "target_stage": "Target", "gap_to_target": "Gap"}
# accounts.csv columns the report segments the customers by, with their labels.
SEGMENTS = {"industry": "Industry", "company_size": "Company size", "region": "Region"}


@dataclass
class Segment:
    """The stage mix by one accounts.csv column (:func:`cxreport.maturity.stage_by_segment`) and its chi-square test.

    ``table`` is None when accounts.csv has no such column or no value in it
    (``reason`` says so). ``lowest``/``highest`` are the shown segments with
    the lowest and highest mean stage; ``hidden`` the segments suppressed
    (fewer customers than ``min_group_size``). The test figures are None with
    fewer than two shown segments (``note`` says why).
    """

    column: str
    label: str
    table: pd.DataFrame | None = None
    reason: str | None = None
    shown: int = 0
    hidden: list[str] = field(default_factory=list)
    lowest: str | None = None
    lowest_mean: float | None = None
    highest: str | None = None
    highest_mean: float | None = None
    p_value: float | None = None
    significant: bool = False
    cramers_v: float | None = None
    note: str | None = None

    @property
    def p_text(self) -> str:
        return M.format_p(self.p_value if self.p_value is not None else np.nan)

    @property
    def summary(self) -> str:
        """The segment's paragraph: range of the average stage and the test's verdict, or why there is none."""
        if self.table is None:
            return f"**{self.label}**: {self.reason}"
        head = f"### By {self.label.lower()}\n"
        if self.p_value is None or self.lowest_mean is None:
            return head + (self.note or "Too few segments to compare.")
        verdict = "differs significantly between" if self.significant else "does not differ significantly between"
        return (head + f"The average stage ranges from **{self.lowest_mean:.1f}** ({self.lowest}) to **{self.highest_mean:.1f}** "
                f"({self.highest}). The stage mix {verdict} {self.label.lower()} segments (chi-square test, {self.p_text}; "
                f"Cramér's V {self.cramers_v:.2f}; 0 = no association, 1 = complete)." + (f" *{self.note}*" if self.note else ""))


@dataclass
class CloudMaturity(ReportModel):
    """Every figure, table and fact of the cloud-maturity report; None figures have a reason in ``unknowns``."""

    SECTION: ClassVar[str] = "maturity"

    year: int
    previous_year: int
    organisation: str
    title: str
    min_group_size: int
    confidence: float
    currency: str  # ISO code of revenue and ARPA
    # settings as the report uses them: stage names and plays (maturity_stages), dimensions, rule
    stages: pd.DataFrame  # index 1-5: name, idc_pct, benchmark (0-1), next_play
    stage_names: list[str]
    dimensions: pd.DataFrame  # index m_<key>: key, label, weight, configured
    unlabelled_dimensions: list[str]
    rubric_method: str
    rubric_text: str
    # who was placed
    n_latest: int  # customers with an assessment dated in the year
    n_assessed: int  # of them placed on a stage
    n_unstaged: int  # too few dimensions scored to place
    first_assessed: dt.date
    last_assessed: dt.date
    # distribution vs IDC
    distribution: pd.DataFrame
    fit_statistic: float | None
    fit_df: int
    fit_p_value: float | None
    fit_significant: bool
    fit_small_expected: bool
    fit_min_expected: float | None
    fit_note: str | None
    fit_text: str
    largest_stage_name: str
    largest_stage_pct: float
    largest_stage_benchmark_pct: float
    # segments, dimensions, plays
    segments: dict[str, Segment]
    profile: pd.DataFrame
    weakest: pd.DataFrame
    plays: pd.DataFrame
    # movement since the previous year
    transitions: pd.DataFrame
    transition_shares: pd.DataFrame
    n_both: int
    moved_up: int
    stayed: int
    moved_down: int
    moved_up_pct: float | None
    stayed_pct: float | None
    moved_down_pct: float | None
    moved_up_ci: tuple[float, float] | None
    mean_change: float | None
    net_pct: float | None
    movement_detail: dict | None  # movement_summary with every interval, for the chart; None without movement
    # targets in two years
    target_n: int
    expect_optimized: int
    expect_optimized_pct: float | None
    expect_optimized_ci: tuple[float, float] | None
    idc_expect_optimized_pct: float
    mean_gap: float | None
    mean_gap_sd: float | None
    mean_gap_ci: tuple[float, float] | None
    above_pct: float | None
    same_pct: float | None
    below_pct: float | None
    stage_counts_today: pd.Series
    stage_counts_target: pd.Series
    # satisfaction by stage (survey_responses.csv)
    satisfaction: pd.DataFrame | None
    survey_linked: int
    satisfaction_rho: float | None
    satisfaction_p: float | None
    satisfaction_significant: bool
    satisfaction_hidden: list[str]
    satisfaction_text: str | None  # the trend in words (maturity.describe_trend)
    # revenue by stage (revenue.csv)
    revenue_by_stage: pd.DataFrame | None
    revenue_top_stage_name: str | None
    revenue_top_share_pct: float | None
    arpa_min: float | None
    arpa_max: float | None
    # the account list
    accounts: pd.DataFrame
    accounts_shown: int
    inputs_used: dict[str, pd.DataFrame]
    data_dir: Path | None
    unknowns: Unknowns = field(default_factory=Unknowns)

    # ------------------------------------------------------------ for the text
    @property
    def period(self) -> str:
        """The assessment dates of the year, as prose: "assessed 15 January to 10 December 2020"."""
        return f"assessed {self.first_assessed.day} {self.first_assessed:%B} to {self.last_assessed.day} {self.last_assessed:%B %Y}"

    @property
    def stage_list(self) -> str:
        return ", ".join(f"{i}. {n}" for i, n in enumerate(self.stage_names, 1))

    @property
    def profiled_stages(self) -> pd.DataFrame:
        """The stages with enough customers to profile (:func:`cxreport.maturity.weakest_by_stage`, not suppressed)."""
        return self.weakest[~self.weakest["suppressed"]]

    @property
    def hidden_stages(self) -> list[str]:
        return self.weakest.loc[self.weakest["suppressed"], "stage_name"].tolist()

    def reason(self, figure: str) -> str:
        return self.unknowns.get(figure) or ""

    @property
    def kpis(self) -> list[tuple[str, str, str]]:
        """The four headline cards: customers assessed, largest group, moved up, expect to reach the top stage."""
        return [
            ("Customers assessed", number(self.n_assessed),
             f"latest assessment in {self.year}" + (f"; {number(self.n_unstaged)} incomplete" if self.n_unstaged else "")),
            ("Largest group", self.largest_stage_name,
             f"{self.largest_stage_pct:.1f}% of customers (IDC {self.largest_stage_benchmark_pct:.0f}%)"),
            (f"Moved up since {self.previous_year}", f"{self.moved_up_pct:.1f}%" if self.moved_up_pct is not None else "–",
             f"95% CI {self.moved_up_ci[0]:.1f}–{self.moved_up_ci[1]:.1f}%, n = {number(self.n_both)}" if self.moved_up_ci
             else f"no customer assessed in both {self.previous_year} and {self.year}"),
            (f"Expect to be {self.stage_names[-1]}", f"{self.expect_optimized_pct:.1f}%" if self.expect_optimized_pct is not None else "–",
             f"in two years, n = {number(self.target_n)} (IDC {self.idc_expect_optimized_pct:.0f}%)" if self.target_n else "no target stages given"),
        ]

    @property
    def title_text(self) -> str:
        """The title and the report's line (organisation, customers assessed, dates), numbers in house style.

        For the notebook's opening cell, which today writes ``{r.n_assessed}`` bare ("1178 customers").
        """
        return f"# {self.title} {self.year}\n**{self.organisation}** · {plural(self.n_assessed, 'customer')} {self.period}"

    @property
    def accounts_text(self) -> str:
        """The heading and lead of the account list, numbers in house style (for the notebook's account-list cell)."""
        return (f"## Accounts to act on first\nThe {number(self.accounts_shown)} accounts with the largest gap between where they are "
                f"and where they expect to be in two years. The full list of {plural(len(self.accounts), 'assessed account')}, with "
                "stage, weakest dimension, movement and next play, is the table `maturity_accounts.csv`.")

    @property
    def weakest_text(self) -> str:
        """One bullet per profiled stage: the dimension that holds it back; the reason when no stage is profiled."""
        return "\n".join(
            f"- **{w.stage_name}** customers are held back most by **{str(w.weakest_label).lower()}** (average {w.weakest_mean:.1f} "
            f"against {w.stage_mean:.1f} over all dimensions; the weakest or tied-weakest dimension for {w.share_weakest_pct:.0f}% of them)."
            for w in self.profiled_stages.itertuples()) or self.reason("profile")

    @property
    def movement_text(self) -> str:
        """Moved up / stayed / moved down since the previous year, or why movement is unknown."""
        if not self.n_both:
            return self.reason("movement.moved_up_pct")
        return (f"Of the **{number(self.n_both)}** customers assessed in both {self.previous_year} and {self.year}, **{self.moved_up_pct:.1f}%** "
                f"moved up at least one stage (95% CI {self.moved_up_ci[0]:.1f}% to {self.moved_up_ci[1]:.1f}%), {self.stayed_pct:.1f}% "
                f"stayed and {self.moved_down_pct:.1f}% moved down: on average {self.mean_change:+.2f} stages per customer.")

    @property
    def target_text(self) -> str:
        """Where customers expect to be in two years against IDC's 45% "Optimized", or why it is unknown."""
        if not self.target_n:
            return self.reason("target.mean_gap")
        ci = f" (95% CI {self.mean_gap_ci[0]:.2f} to {self.mean_gap_ci[1]:.2f})" if self.mean_gap_ci else ""
        return (f"### Where customers expect to be in two years\n{plural(self.target_n, 'customer')} gave the stage they expect to reach in two "
                f"years. **{self.expect_optimized_pct:.1f}%** expect to be {self.stage_names[-1]} (95% CI {self.expect_optimized_ci[0]:.1f}% "
                f"to {self.expect_optimized_ci[1]:.1f}%; IDC found {self.idc_expect_optimized_pct:.0f}%), and on average they aim "
                f"**{self.mean_gap:.1f} stages** above where they are today{ci}. {self.above_pct:.1f}% aim higher than today, "
                f"{self.same_pct:.1f}% expect to stay.")

    @property
    def revenue_text(self) -> str:
        """The stage with the largest share of the year's revenue and the range of ARPA, or why revenue is unknown."""
        if self.revenue_by_stage is None:
            return self.reason("revenue_by_stage")
        arpa = (f"ARPA ranges from {money(self.arpa_min, self.currency)} to {money(self.arpa_max, self.currency)} a month across "
                "the stages."
                if self.arpa_min is not None else self.reason("arpa_min"))
        return (f"**{self.revenue_top_stage_name}** customers bring the largest share of {self.year} revenue "
                f"({self.revenue_top_share_pct:.1f}%). " + arpa)

    @property
    def satisfaction_summary(self) -> str:
        """How many respondents link to an assessed account and whether satisfaction changes with stage, or why not shown."""
        if self.satisfaction is None:
            return self.reason("satisfaction")
        return (f"{number(self.survey_linked)} of the {self.year} survey respondents belong to an assessed account. {self.satisfaction_text} "
                "With few respondents per stage the intervals are wide; compare stages only where they do not overlap.")

    @property
    def plays_text(self) -> str:
        """One bullet per stage: its customers, the dimension to focus on (where profiled) and its next play."""
        return "\n".join(f"- **{p.stage}. {p.stage_name}** ({plural(p.customers, 'customer')}"
                         + (f"; focus on {p.focus.lower()}" if isinstance(p.focus, str) else "") + f"): {p.next_play}"
                         for p in self.plays.itertuples())

    # ------------------------------------------------------------ outputs
    def headline(self) -> dict:
        """The ``maturity`` section of metrics.json: today's keys (rounded as before) plus the raw counts a comparison needs.

        Kept keys: ``year``, ``n_assessed``, ``n_unstaged``, ``rubric``,
        ``stages.<1-5>`` (``name``, ``n``, ``pct``, ``benchmark_pct``),
        ``fit`` (``test``, ``statistic``, ``df``, ``p_value``, ``significant``,
        ``small_expected``), ``movement`` (``previous_year``, ``n``, the
        ``moved_up``/``stayed``/``moved_down`` counts and ``_pct`` shares,
        ``moved_up_ci95``), ``target`` (``n``, ``expect_optimized_pct``,
        ``mean_gap``). Added raw figures (unrounded): ``fit.n``,
        ``fit.min_expected``, ``movement.n_both`` (customers assessed in both
        years, = ``movement.n``), ``movement.mean_change``,
        ``target.expect_optimized`` (count) and ``target.expect_optimized_base``
        (customers with a target, = ``target.n``), ``target.mean_gap_sd``.
        Percentages carry one decimal, p-values four; unknown figures are None.
        """
        def r(x, d=1):
            return None if x is None else round(float(x), d)

        return {
            "year": self.year,
            "n_assessed": self.n_assessed,
            "n_unstaged": self.n_unstaged,
            "rubric": self.rubric_method,
            "stages": {
                str(int(row.stage)): {"name": row.stage_name, "n": int(row.n), "pct": r(row.share_pct), "benchmark_pct": r(row.benchmark_pct)}
                for row in self.distribution.itertuples()
            },
            "fit": {
                "test": "chi-square goodness of fit vs IDC",
                "n": self.n_assessed,
                "statistic": r(self.fit_statistic, 3),
                "df": self.fit_df,
                "p_value": r(self.fit_p_value, 4),
                "significant": self.fit_significant,
                "small_expected": self.fit_small_expected,
                "min_expected": self.fit_min_expected,
            },
            "movement": {
                "previous_year": self.previous_year,
                "n": self.n_both,
                "n_both": self.n_both,
                "moved_up": self.moved_up,
                "stayed": self.stayed,
                "moved_down": self.moved_down,
                "moved_up_pct": r(self.moved_up_pct),
                "stayed_pct": r(self.stayed_pct),
                "moved_down_pct": r(self.moved_down_pct),
                "moved_up_ci95": None if self.moved_up_ci is None else [r(v) for v in self.moved_up_ci],
                "mean_change": self.mean_change,
            },
            "target": {
                "n": self.target_n,
                "expect_optimized": self.expect_optimized,
                "expect_optimized_base": self.target_n,
                "expect_optimized_pct": r(self.expect_optimized_pct),
                "mean_gap": r(self.mean_gap, 2),
                "mean_gap_sd": self.mean_gap_sd,
            },
        }

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table the report writes, by CSV name (as before the report model)."""
        out = {"maturity_distribution": self.distribution}
        for column, seg in self.segments.items():
            if seg.table is not None:
                out[f"maturity_by_{column}"] = seg.table
        out["maturity_dimension_profile"] = self.profile.reset_index()
        out["maturity_weakest_by_stage"] = self.weakest.reset_index()
        if self.n_both:
            out["maturity_transitions"] = self.transitions.reset_index()
        if self.satisfaction is not None:
            out["maturity_satisfaction_by_stage"] = self.satisfaction
        if self.revenue_by_stage is not None:
            out["maturity_revenue_by_stage"] = self.revenue_by_stage
        out["maturity_next_plays"] = self.plays
        out["maturity_accounts"] = self.accounts
        return out


# ---------------------------------------------------------------- building
def _ci(pair) -> tuple[float, float] | None:
    lo, hi = (known(v) for v in pair)
    return None if lo is None or hi is None else (lo, hi)


def _segment(column: str, label: str, staged: pd.DataFrame, accounts: pd.DataFrame, s: Settings, stages: dict) -> Segment:
    seg = Segment(column, label)
    if column not in accounts.columns or accounts[column].isna().all():
        seg.reason = f"accounts.csv has no {label.lower()} information, so the stage mix by {label.lower()} is not available."
        return seg
    profiled = staged[["customer_id", "stage"]].merge(accounts[["customer_id", column]], on="customer_id", how="left")
    table = M.stage_by_segment(profiled["stage"], profiled[column], stages, s.min_group_size, s.confidence)
    seg.table = table
    shown = table[~table["suppressed"]].sort_values("mean_stage", kind="stable")
    seg.shown = int(len(shown))
    seg.hidden = table.loc[table["suppressed"], "segment"].astype(str).tolist()
    if len(shown):
        seg.lowest, seg.lowest_mean = str(shown["segment"].iloc[0]), known(shown["mean_stage"].iloc[0])
        seg.highest, seg.highest_mean = str(shown["segment"].iloc[-1]), known(shown["mean_stage"].iloc[-1])
    test = M.segment_association(table, stages, alpha=1 - s.confidence)
    seg.p_value, seg.cramers_v, seg.significant, seg.note = known(test["p_value"]), known(test["cramers_v"]), bool(test["significant"]), test["note"]
    return seg


def _revenue_by_stage(ledger, staged: pd.DataFrame, table: pd.DataFrame, year: int, min_n: int) -> pd.DataFrame:
    """:func:`cxreport.revenue.revenue_by_segment` by stage (the ledger a pandas frame or an Ibis table), one row per stage 1-5, with its name.

    A stage without customers with revenue in the year keeps its row (counts 0,
    figures blank, ``suppressed`` True), so the table always lists the five stages.
    """
    from .. import revenue

    segments = pd.DataFrame({"customer_id": staged["customer_id"], "stage": staged["stage"].astype(int).to_numpy()})
    out = revenue.revenue_by_segment(ledger, segments, year, by="stage", min_n=min_n)
    out["stage"] = pd.to_numeric(out["stage"]).astype(int)
    out = out.set_index("stage").reindex(list(M.STAGES))
    for c in ("customers", "active_customers"):
        out[c] = out[c].fillna(0).astype(int)
    out["suppressed"] = out["suppressed"].astype("boolean").fillna(True).astype(bool)
    out.insert(0, "stage_name", table["name"].reindex(out.index).to_numpy())
    return out.reset_index()


def _fit_text(fit: dict, dist: pd.DataFrame) -> str:
    """:func:`cxreport.maturity.describe_fit` with its count in house style ("with 1,178 customers").

    The domain function writes the count bare; until it uses :mod:`cxreport.present.format` itself,
    the report states it with thousands separators here.
    """
    text = M.describe_fit(fit, dist)
    return text.replace(f"with {fit['n']} customers", f"with {plural(fit['n'], 'customer')}")


def build(inputs: Inputs, settings: Settings, year: int) -> CloudMaturity:
    """The cloud-maturity report of ``year`` from validated input frames (no file I/O).

    Reads ``maturity_assessments.csv`` and ``accounts.csv`` (required), and
    ``survey_responses.csv`` and ``revenue.csv`` when present. Settings: see
    :data:`SETTINGS`. Raises :class:`InputError` when no assessment is dated
    in ``year`` or none scores enough dimensions to place a customer.
    """
    s, year, unknowns = settings, int(year), Unknowns()
    assessments, accounts = inputs[ASSESSMENTS], inputs[ACCOUNTS]
    stages_cfg, dims_cfg, rubric = M._plain(s.maturity_stages), M._plain(s.maturity_dimensions), s.maturity_rubric.model_dump()
    table = M.stage_table(stages_cfg)
    names = list(table["name"])
    columns = M.dimension_columns(assessments)
    try:
        dims = M.dimension_table(columns, dims_cfg)
    except ValueError as exc:
        raise InputError([f"{ASSESSMENTS}: columns {', '.join(columns)}: {exc}; expected one label per dimension column"]) from None

    rubric = {**rubric, "min_dimensions": M.effective_min_dimensions(rubric, columns)}  # as customer_stages applies it
    placed = M.customer_stages(assessments, year, dims_cfg, rubric, stages_cfg, keep_unstaged=True)
    if placed.empty:
        raise InputError([f"{ASSESSMENTS}, column assessed_on: no assessment dated in {year}; "
                          f"expected at least one customer assessed in the report year"])
    staged = placed[placed["stage"].notna()].reset_index(drop=True)
    if staged.empty:
        raise InputError([f"{ASSESSMENTS}, columns {', '.join(columns)}: none of the {len(placed)} customers assessed in {year} "
                          f"has {rubric['min_dimensions']} or more scored dimensions; expected enough scores to place a customer on a stage"])
    previous = M.customer_stages(assessments, year - 1, dims_cfg, rubric, stages_cfg)
    account_list = M.account_list(placed, previous, accounts, stages_cfg)

    # distribution vs IDC
    dist = M.stage_distribution(staged["stage"], stages_cfg, s.confidence)
    fit = M.goodness_of_fit(dist.set_index("stage")["n"], table["benchmark"], alpha=1 - s.confidence)
    if known(fit["statistic"]) is None:
        unknowns.add("fit.statistic", "The chi-square statistic is infinite: customers sit in a stage whose IDC share is 0.")
    top = dist.sort_values("n", ascending=False, kind="stable").iloc[0]

    # segments, dimension profile, plays
    segments = {c: _segment(c, label, staged, accounts, s, stages_cfg) for c, label in SEGMENTS.items()}
    profile = M.dimension_profile(staged, dims_cfg, stages_cfg, s.min_group_size)
    weakest = M.weakest_by_stage(staged, profile)
    plays = M.plays_by_stage(staged, weakest, stages_cfg)
    if weakest["suppressed"].all():
        unknowns.add("profile", f"Every stage has fewer than {s.min_group_size} customers, so no stage is profiled.")

    # movement
    matrix = M.transition_matrix(account_list["previous_stage"], account_list["stage"])
    moves = M.movement_summary(matrix, s.confidence)
    if moves["n"] == 0:
        why = (f"No customer has an assessment in {year - 1}, so movement cannot be measured yet."
               if previous.empty else f"No customer assessed in {year} was also placed on a stage in {year - 1}.")
        for key in ("moved_up_pct", "stayed_pct", "moved_down_pct", "moved_up_ci95", "mean_change"):
            unknowns.add(f"movement.{key}", why)

    # targets
    target = M.target_summary(staged, s.confidence)
    if target["n"] == 0:
        why = "No assessment of the year gives a target stage, so the gap to target cannot be shown."
        for key in ("expect_optimized_pct", "mean_gap", "mean_gap_sd"):
            unknowns.add(f"target.{key}", why)
    elif known(target["mean_gap_sd"]) is None:
        unknowns.add("target.mean_gap_sd", "Only one customer gave a target stage, so the spread of the gap cannot be estimated.")

    # satisfaction by stage
    responses = inputs.get(SURVEY)
    satisfaction, linked, rho, p_sat, sat_hidden, sat_text = None, 0, None, None, [], None
    if responses is None:
        unknowns.add("satisfaction", "There is no survey file in the data folder, so satisfaction cannot be shown by stage.")
    elif "customer_id" not in responses.columns or responses["customer_id"].isna().all():
        unknowns.add("satisfaction", "The survey file has no customer_id, so respondents cannot be linked to an account's stage.")
    else:
        sat = M.satisfaction_by_stage(staged, responses, year, stages_cfg, s.min_group_size, s.confidence, s.nps_ci_method)
        linked = int(sat.attrs["linked"])
        if linked == 0:
            unknowns.add("satisfaction", f"No {year} survey respondent could be linked to an assessed account.")
        else:
            satisfaction = sat
            trend = M.satisfaction_trend(staged, responses, year)
            rho, p_sat = known(trend["rho"]), known(trend["p_value"])
            sat_text = M.describe_trend(trend, alpha=1 - s.confidence)
            if rho is None:
                unknowns.add("satisfaction_rho", sat_text)
            sat_hidden = sat.loc[sat["csat_n"] < s.min_group_size, "stage_name"].tolist()

    # revenue by stage
    ledger = inputs.get(REVENUE)
    by_stage, top_rev_name, top_rev_share, arpa_min, arpa_max = None, None, None, None, None
    if ledger is None:
        unknowns.add("revenue_by_stage", "There is no revenue ledger (revenue.csv) in the data folder, so revenue cannot be shown by stage.")
    else:
        candidate = _revenue_by_stage(ledger, staged, table, year, s.min_group_size)
        if not candidate["revenue"].fillna(0).gt(0).any():
            unknowns.add("revenue_by_stage", f"The revenue ledger holds no {year} revenue of the assessed customers "
                                             "(or every stage has too few of them to show), so revenue cannot be shown by stage.")
        else:
            by_stage = candidate
            best = candidate.loc[candidate["revenue_share_pct"].idxmax()]
            top_rev_name, top_rev_share = str(best["stage_name"]), known(best["revenue_share_pct"])
            arpa_min, arpa_max = known(candidate["arpa"].min()), known(candidate["arpa"].max())
            if arpa_min is None:
                unknowns.add("arpa_min", f"No stage with enough customers had an active customer in December {year}, so ARPA is not known.")
                unknowns.add("arpa_max", f"No stage with enough customers had an active customer in December {year}, so ARPA is not known.")

    used = {ASSESSMENTS: assessments, ACCOUNTS: accounts}
    for name in (SURVEY, REVENUE):
        if inputs.get(name) is not None:
            used[name] = inputs[name]

    return CloudMaturity(
        year=year, previous_year=year - 1, organisation=s.organisation, title=s.maturity_title,
        min_group_size=s.min_group_size, confidence=s.confidence, currency=s.currency,
        stages=table, stage_names=names, dimensions=dims, unlabelled_dimensions=dims.index[~dims["configured"]].tolist(),
        rubric_method=rubric["method"], rubric_text=M.describe_rubric(rubric, dims),
        n_latest=len(placed), n_assessed=len(staged), n_unstaged=len(placed) - len(staged),
        first_assessed=staged["assessed_on"].min().date(), last_assessed=staged["assessed_on"].max().date(),
        distribution=dist, fit_statistic=known(fit["statistic"]), fit_df=int(fit["df"]), fit_p_value=known(fit["p_value"]),
        fit_significant=bool(fit["significant"]), fit_small_expected=bool(fit["small_expected"]),
        fit_min_expected=known(fit["min_expected"]), fit_note=fit["note"], fit_text=_fit_text(fit, dist),
        largest_stage_name=str(top["stage_name"]), largest_stage_pct=float(top["share_pct"]),
        largest_stage_benchmark_pct=float(top["benchmark_pct"]),
        segments=segments, profile=profile, weakest=weakest, plays=plays,
        transitions=matrix, transition_shares=M.row_shares(matrix), n_both=int(moves["n"]),
        moved_up=int(moves["moved_up"]), stayed=int(moves["stayed"]), moved_down=int(moves["moved_down"]),
        moved_up_pct=known(moves["moved_up_pct"]), stayed_pct=known(moves["stayed_pct"]), moved_down_pct=known(moves["moved_down_pct"]),
        moved_up_ci=_ci(moves["moved_up_ci95"]), mean_change=known(moves["mean_change"]), net_pct=known(moves["net_pct"]),
        movement_detail=moves if moves["n"] else None,
        target_n=int(target["n"]), expect_optimized=int(target["expect_optimized"]),
        expect_optimized_pct=known(target["expect_optimized_pct"]), expect_optimized_ci=_ci(target["expect_optimized_ci95"]),
        idc_expect_optimized_pct=M.IDC_EXPECT_OPTIMIZED_PCT,
        mean_gap=known(target["mean_gap"]), mean_gap_sd=known(target["mean_gap_sd"]), mean_gap_ci=_ci(target["mean_gap_ci95"]),
        above_pct=known(target["above_pct"]), same_pct=known(target["same_pct"]), below_pct=known(target["below_pct"]),
        stage_counts_today=M.stage_counts(staged["stage"]), stage_counts_target=M.stage_counts(staged["target_stage"]),
        satisfaction=satisfaction, survey_linked=linked, satisfaction_rho=rho, satisfaction_p=p_sat,
        satisfaction_significant=p_sat is not None and p_sat < 1 - s.confidence, satisfaction_hidden=sat_hidden, satisfaction_text=sat_text,
        revenue_by_stage=by_stage, revenue_top_stage_name=top_rev_name, revenue_top_share_pct=top_rev_share,
        arpa_min=arpa_min, arpa_max=arpa_max,
        accounts=account_list, accounts_shown=min(s.maturity_accounts_shown, len(account_list)),
        inputs_used=used, data_dir=inputs.data_dir, unknowns=unknowns,
    )


def build_from_folder(data_dir: str | Path, year: int, settings: dict | Settings | None = None,
                      run_db: str | Path | None = None, engine: str | None = None,
                      engine_url: str | None = None) -> CloudMaturity:
    """Load the report's inputs from ``data_dir`` (validated, cross-checked) and :func:`build` the report of ``year``.

    ``run_db``, ``engine`` and ``engine_url`` come from the pipeline: its run database of validated inputs
    (:func:`.base.load_inputs`) and the engine the queries run on (:func:`.base.report_engine`).
    """
    return build_from_data(build, INPUTS, data_dir, year, settings, run_db, engine, engine_url)

"""The customer lifetime value and churn report (``notebooks/03_clv_churn.ipynb``) as one typed model.

``build(inputs, settings, year)`` composes the domain modules, frames in and
model out, no file I/O:

- :mod:`cxreport.revenue`: active months, the monthly MRR bridge, retention of
  the December ``year - 1`` book, monthly logo churn, ARPA, recurring share,
  revenue and gross profit by type, the mostly-cloud comparison, revenue by
  maturity stage;
- :mod:`cxreport.cohorts`: logo and revenue retention by acquisition quarter;
- :mod:`cxreport.survival`: first-spell lifetimes, Kaplan-Meier curves and
  log-rank tests by segment (company size, industry, and from a landmark:
  maturity stage, NPS category), Cox models of churn;
- :mod:`cxreport.clv`: simple and shifted-beta-geometric lifetime value per
  segment, churn risk and expected remaining value per current account.

Every figure the report states is a field of :class:`ClvChurnReport`. A figure
that cannot be computed from the data (no December book a year earlier, no
costs, no churn...) is ``None`` and ``unknowns`` says why in one sentence.
Input problems found here (a ledger that stops before December of the report
year, or that starts after it) raise :class:`cxreport.inputs.InputError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import clv, cohorts, engine, maturity, revenue, survival
from ..inputs import InputError
from ..present.format import money, number, p_value, percent, plural, sentence_case
from ..settings import Settings
from .base import Inputs, ReportModel, Unknowns, build_from_data, jsonable, known

INPUTS = {"requires": ("revenue.csv", "accounts.csv"), "optional": ("survey_responses.csv", "maturity_assessments.csv")}
SETTINGS = ("organisation", "clv_title", "min_group_size", "confidence", "currency", "clv_discount_rate", "clv_window_months",
            "clv_account_segment", "clv_accounts_shown", "cloud_revenue_types", "revenue_benchmarks", "maturity_stages",
            "maturity_dimensions", "maturity_rubric")

SIZE_ORDER = ["1-49", "50-249", "250-999", "1000+"]  # employee bands, smallest first
LARGER_SIZES = ("250-999", "1000+")  # "larger company" in the Cox models: 250 employees or more
SEGMENTS = (("company_size", "Company size"), ("industry", "Industry"), ("region", "Region"))
KM_HORIZONS = (12, 24, 36)
COX_LABELS = {"nps_category": "NPS category", "csat": "CSAT (1-5)", "stage": "maturity stage", "larger_company": "larger company (250+)"}


@dataclass
class SurvivalSection:
    """Kaplan-Meier curves of one segmentation with its log-rank test.

    ``summary`` holds every group (``suppressed`` for fewer than
    ``min_group_size`` customers), ``shown`` the others; ``best``/``worst`` are
    the shown groups with the highest and lowest share still customers after 12
    months. ``reason`` says, when set, why the section compares nothing.
    """

    key: str
    label: str
    xlabel: str
    order: list | None = None
    curves: pd.DataFrame | None = None
    summary: pd.DataFrame | None = None
    shown: pd.DataFrame | None = None
    hidden: list[str] = field(default_factory=list)
    chi2: float | None = None
    df: int | None = None
    p: float | None = None
    significant: bool = False
    best: str | None = None
    best_12m: float | None = None
    worst: str | None = None
    worst_12m: float | None = None
    reason: str | None = None
    intro: str | None = None


@dataclass
class CoxModel:
    """One Cox model of churn: hazard ratios (``table``), their plain-words ``lines``, size, left-out terms and caveat."""

    key: str
    title: str
    n: int
    events: int
    parameters: int
    table: pd.DataFrame
    lines: list[str]
    dropped: list[str]
    caveat: str | None


@dataclass
class ClvSegmentTable:
    """Lifetime value by the segments of one dimension: ``shown`` rows, ``hidden`` small segments."""

    dimension: str
    shown: pd.DataFrame
    hidden: list[str]

    @property
    def chartable(self) -> bool:
        """Whether any shown segment has a known lifetime value: no chart is drawn from unknowns alone (no costs)."""
        cols = [c for c in ("clv_simple", "clv_simple_discounted", "clv_sbg") if c in self.shown]
        return bool(len(self.shown) and cols and self.shown[cols].notna().any().any())


@dataclass
class ClvChurnReport(ReportModel):
    """Every figure, table and fact of the CLV and churn report (see the module docstring); None = unknown, see ``unknowns``."""

    SECTION = "revenue"

    year: int
    organisation: str
    title: str
    confidence: float
    currency: str  # ISO code of every amount (MRR, ARPA, CLV, remaining value)
    min_group_size: int
    discount_rate: float
    discount_rate_monthly: float
    window_months: int
    benchmarks: dict
    ledger_first_month: str
    ledger_last_month: str
    # MRR and the year's bridge (December year-1 to December year)
    active_customers: int
    mrr_start: float | None
    mrr_end: float
    mrr_growth_pct: float | None
    bridge: dict
    movements: pd.DataFrame
    movements_in_year: pd.DataFrame
    # retention of the December year-1 book
    customers_start: int | None
    customers_retained: int | None
    customers_churned: int | None
    logo_retention_pct: float | None
    logo_churn_pct: float | None
    nrr_pct: float | None
    grr_pct: float | None
    retention_expansion: float | None
    retention_contraction: float | None
    retention_churned_mrr: float | None
    # monthly churn, ARPA, revenue mix
    monthly_churned_customers: int
    customer_months: int
    monthly_logo_churn_pct: float | None
    annualised_churn_pct: float | None
    arpa: float | None
    arpa_average: float | None
    total_revenue: float
    recurring_revenue: float
    recurring_share_pct: float | None
    recurring_gross_margin_pct: float | None
    has_costs: bool
    cloud_units_mostly_cloud: int
    cloud_units_other: int
    cloud_recurring_share_pct: float | None
    other_recurring_share_pct: float | None
    cloud_recurring_ratio: float | None
    benchmark_rows: pd.DataFrame
    revenue_by_type: pd.DataFrame
    never_active: int
    never_active_nonrecurring: int
    never_active_zero_recurring: int
    never_active_types: list[str]
    # cohorts
    cohort_logo: pd.DataFrame
    cohort_revenue: pd.DataFrame
    cohorts_recent: list[str]
    cohorts_shown_since: str | None
    first_cohort: str | None
    cohort_logo_1y_pct: float | None
    cohort_logo_3y_pct: float | None
    cohort_revenue_1y_pct: float | None
    cohort_revenue_3y_pct: float | None
    first_cohort_note: str | None
    # survival and Cox
    survival_sections: list[SurvivalSection]
    survey_answers: int | None
    survey_linked: int | None
    cox_models: list[CoxModel]
    cox_notes: list[str]
    # lifetime value
    clv_by_segment: pd.DataFrame
    clv_segments: list[ClvSegmentTable]
    clv_arpa: float | None
    clv_gross_margin_pct: float | None
    clv_monthly_churn_pct: float | None
    clv_simple: float | None
    clv_simple_discounted: float | None
    expected_lifetime_months_simple: float | None
    sbg_gamma: float | None
    sbg_delta: float | None
    sbg_first_year_churn_pct: float | None
    clv_sbg: float | None
    del_months: float | None
    sbg_vs_simple_pct: float | None
    top_segment: dict | None
    bottom_segment: dict | None
    sbg_observed: pd.DataFrame | None
    sbg_projected: pd.DataFrame | None
    # accounts
    account_segment: str
    account_segment_note: str | None
    accounts: pd.DataFrame
    accounts_watch: pd.DataFrame
    current_customers: int
    expected_remaining_value: float | None
    # revenue by maturity stage
    revenue_by_stage: pd.DataFrame | None
    stage_top: dict | None
    stage_note: str | None
    # earlier years' census figures and CLV, for the executive summary (:func:`_history`)
    history: dict = field(default_factory=dict)
    unknowns: Unknowns = field(default_factory=Unknowns)
    input_frames: dict = field(default_factory=dict)
    data_dir: Path | None = None

    @property
    def cohort_logo_shown(self) -> pd.DataFrame:
        """The logo retention rows of the cohorts the charts show (``cohorts_recent``)."""
        return self.cohort_logo[self.cohort_logo["cohort"].isin(self.cohorts_recent)]

    @property
    def cohort_revenue_shown(self) -> pd.DataFrame:
        """The revenue retention rows of the cohorts the charts show (``cohorts_recent``)."""
        return self.cohort_revenue[self.cohort_revenue["cohort"].isin(self.cohorts_recent)]

    def headline(self) -> dict:
        """The ``revenue`` section of metrics.json: today's keys (rounded as before) plus the raw counts behind the rates,
        and ``history``: the earlier years' figures by year (:func:`_history`)."""
        sections = {s.key: s for s in self.survival_sections}
        out = {
            "year": self.year,
            "mrr_start": self.mrr_start,
            "mrr_end": self.mrr_end,
            "mrr_growth_pct": self.mrr_growth_pct,
            "active_customers": self.active_customers,
            **{f"{k}_mrr": self.bridge[k] for k in revenue.MOVEMENTS},
            "customers_start": self.customers_start,
            "customers_retained": self.customers_retained,
            "customers_churned": self.customers_churned,
            "logo_retention_pct": self.logo_retention_pct,
            "annual_logo_churn_pct": self.logo_churn_pct,
            "nrr_pct": self.nrr_pct,
            "grr_pct": self.grr_pct,
            "monthly_logo_churn_pct": self.monthly_logo_churn_pct,
            "churned_customers": self.monthly_churned_customers,
            "customer_months": self.customer_months,
            "arpa": self.arpa,
            "arpa_average": self.arpa_average,
            "total_revenue": self.total_revenue,
            "recurring_revenue": self.recurring_revenue,
            "recurring_share_pct": self.recurring_share_pct,
            "recurring_gross_margin_pct": self.recurring_gross_margin_pct,
            "cloud_recurring_ratio": self.cloud_recurring_ratio,
            "partners_mostly_cloud": self.cloud_units_mostly_cloud,
            "clv_simple": self.clv_simple,
            "clv_simple_discounted": self.clv_simple_discounted,
            "clv_sbg": self.clv_sbg,
            "sbg_gamma": self.sbg_gamma,
            "sbg_delta": self.sbg_delta,
            "discount_rate": self.discount_rate,
            "expected_remaining_value": self.expected_remaining_value,
            "logrank_p": {k: s.p for k, s in sections.items() if s.summary is not None},
            "cox": {m.key: {"n": m.n, "events": m.events, "parameters": m.parameters} for m in self.cox_models},
        }
        return {**_rounded(out), "history": {str(y): dict(v) for y, v in sorted(self.history.items())}}

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table the report writes, under today's CSV names."""
        out = {"mrr_movements": self.movements.assign(month=self.movements["month"].astype(str)),
               "revenue_benchmarks": self.benchmark_rows,
               "revenue_by_type": self.revenue_by_type,
               "cohort_logo_retention": self.cohort_logo,
               "cohort_revenue_retention": self.cohort_revenue}
        km = [s.summary.assign(dimension=s.label, logrank_chi2=s.chi2, logrank_p=s.p)
              for s in self.survival_sections if s.summary is not None and s.shown is not None and len(s.shown) >= 2]
        if km:
            out["survival_by_segment"] = pd.concat(km, ignore_index=True)
        if self.cox_models:
            out["cox_hazard_ratios"] = pd.concat([m.table.assign(model=m.title) for m in self.cox_models if len(m.table)] or
                                                 [pd.DataFrame()], ignore_index=True).drop(columns=["display"], errors="ignore")
            if out["cox_hazard_ratios"].empty:
                del out["cox_hazard_ratios"]
        out["clv_by_segment"] = self.clv_by_segment
        out["clv_accounts"] = self.accounts
        if self.revenue_by_stage is not None:
            out["revenue_by_stage"] = self.revenue_by_stage
        return out


# ---------------------------------------------------------------- helpers
def _check_ledger(ledger, year: int) -> tuple[pd.Period, pd.Period]:
    """The ledger's first and last month (one aggregate on the engine); InputError when it cannot serve the year's report."""
    end = pd.Period(f"{year}-12", freq="M")
    months = revenue.ledger_months(ledger)
    if months is None:
        raise InputError([f"revenue.csv: no rows; the {year} report needs a ledger that reaches {end} (column month)."])
    first, last = months
    if last < end:
        raise InputError([f"revenue.csv: the ledger's last month (column month) is {last}; the {year} report needs "
                          f"months up to {end}, so the ledger must reach December {year}."])
    if first > end:
        raise InputError([f"revenue.csv: the ledger starts in {first} (column month), after the report year; the {year} report "
                          f"needs months of {year}."])
    return first, last


def _segment_categories(accounts: pd.DataFrame) -> pd.DataFrame:
    """Company size as an ordered category (smallest band first) when every value is a known band."""
    accounts = accounts.copy()
    if "company_size" in accounts and set(accounts["company_size"].dropna()) <= set(SIZE_ORDER):
        accounts["company_size"] = pd.Categorical(accounts["company_size"], categories=SIZE_ORDER, ordered=True)
    return accounts


def larger_company(frame: pd.DataFrame) -> pd.Series:
    """1.0 for a company of 250 employees or more (``LARGER_SIZES``), 0.0 for a smaller one, NaN when unknown."""
    return frame["company_size"].isin(LARGER_SIZES).astype(float).where(frame["company_size"].notna())


def _km_section(frame: pd.DataFrame, key: str, label: str, xlabel: str, settings: Settings, order=None) -> SurvivalSection:
    """Kaplan-Meier curves by ``key`` with the log-rank test (:func:`survival.km_by_group`, :func:`survival.logrank`)."""
    sec = SurvivalSection(key=key, label=label, xlabel=xlabel, order=order)
    if frame[key].notna().sum() == 0:
        sec.reason = f"No customer has a value for {label.lower()} in the data, so there is nothing to compare."
        return sec
    curves, summary = survival.km_by_group(frame, key, min_n=settings.min_group_size, confidence=settings.confidence,
                                           horizons=KM_HORIZONS)
    test = survival.logrank(frame, key, min_n=settings.min_group_size, alpha=1 - settings.confidence)
    sec.curves, sec.summary = curves, summary
    shown = summary[~summary["suppressed"]]
    sec.shown = shown
    sec.hidden = summary.loc[summary["suppressed"], "group"].astype(str).tolist()
    sec.chi2, sec.p, sec.df, sec.significant = known(test["chi2"]), known(test["p"]), int(test["df"]), bool(test["significant"])
    if len(shown) < 2:
        sec.reason = (f"Too few customers to compare by {label.lower()}: fewer than two groups have "
                      f"{settings.min_group_size} customers or more.")
        return sec
    ranked = shown.dropna(subset=["survival_12m"]).sort_values("survival_12m", kind="stable")
    if len(ranked) >= 2:
        sec.best, sec.best_12m = str(ranked.iloc[-1]["group"]), known(ranked.iloc[-1]["survival_12m"])
        sec.worst, sec.worst_12m = str(ranked.iloc[0]["group"]), known(ranked.iloc[0]["survival_12m"])
    if sec.p is None:
        sec.reason = f"No customer in these groups has left yet, so the log-rank test by {label.lower()} has nothing to compare."
    return sec


def _cox(key: str, title: str, frame: pd.DataFrame, categorical: dict, numeric: list, settings: Settings) -> CoxModel:
    hr, info = survival.cox_hazard_ratios(frame, categorical, numeric, confidence=settings.confidence, labels=COX_LABELS)
    if len(hr):
        hr["display"] = [f"{r.label}: {r.level}" if isinstance(r.level, str) else r.label for r in hr.itertuples()]
    lines = [hazard_text(r, settings.confidence, 1 - settings.confidence) for _, r in hr.iterrows()]
    return CoxModel(key=key, title=title, n=int(info["n"]), events=int(info["events"]), parameters=int(info["parameters"]),
                    table=hr, lines=lines, dropped=list(info.get("dropped") or []), caveat=survival.cox_caveat(info))


def hazard_text(row, confidence: float = 0.95, alpha: float = 0.05, unit: str = "one point") -> str:
    """One hazard ratio in words (the wording of :func:`cxreport.survival.describe_hazard_ratio`, numbers in house style), e.g.

    "NPS category Detractor: these customers leave 4.9 times as fast as Promoter customers (95% CI 0.25 to 93.60; p = 0.294, could be chance)."
    """
    ci = f"{confidence:.0%} CI {number(row['ci_low'], 2)} to {number(row['ci_high'], 2)}; {p_value(row['p'])}"
    verdict = "statistically significant" if row["p"] < alpha else "could be chance"
    hr = row["hr"]
    speed = (f"{number(hr, 1)} times as fast as" if hr >= 1
             else f"{number(hr, 2)} times as fast as (that is {percent(100 * (1 - hr), 0)} slower than)")
    if isinstance(row.get("level"), str):
        return f"{row['label']} {row['level']}: these customers leave {speed} {row['reference']} customers ({ci}, {verdict})."
    return f"Each {unit} more of {row['label']} goes with customers leaving {speed} otherwise ({ci}, {verdict})."


def _row_value(row, col):
    return known(row[col]) if row is not None and col in row and row[col] is not None else None


# ---------------------------------------------------------------- build
def build(inputs: Inputs, settings: Settings, year: int) -> ClvChurnReport:
    """The CLV and churn report of ``year`` from validated inputs (see the module docstring).

    ``inputs["revenue.csv"]`` is an Ibis table on the current engine
    (:func:`cxreport.engine.current`; the pipeline's loader gives one) or a
    pandas frame (placed on the engine here). Every computation over the
    ledger runs on the engine; the active months are computed once, with
    each customer's previous and next active month, and kept there
    (:func:`cxreport.revenue.kept`) for the movements (also per segment),
    retention, cohorts, lifetimes and segments. The other inputs are pandas frames.
    """
    ledger = engine.table(inputs["revenue.csv"])
    first_month, last_month = _check_ledger(ledger, year)
    with revenue.kept(revenue.with_neighbours(revenue.active_months(ledger, end=f"{year}-12"))) as active:
        return _build(inputs, settings, year, ledger, active, first_month, last_month)


NO_COST_REASON = "No costs in the ledger (the cost column is blank or absent), so margins are unknown."


def _book(ledger, active, movements: pd.DataFrame, year: int, first_month: pd.Period,
          has_costs: bool, sums: pd.DataFrame | None = None) -> tuple[dict, dict, Unknowns]:
    """The year's MRR, bridge, retention of the December ``year - 1`` book, monthly churn, ARPA and revenue
    mix (:func:`cxreport.revenue.revenue_headline`) as the report states them: a figure without a value for
    the year is None, with its reason in the returned :class:`Unknowns`.

    Returns ``(headline, figures, unknowns)``: ``headline`` is ``revenue_headline``'s dict; ``figures`` holds
    ``mrr_start``, ``growth``, ``rates`` (logo retention and churn, NRR, GRR), ``counts`` (customers at the
    start, retained, churned), ``moneys`` (the book's expansion, contraction and churned MRR), ``monthly``
    (logo churn), ``arpa_end``, ``arpa_avg``, ``share`` (recurring share) and ``margin_pct``. Used for the
    report's year and for each earlier year of its history (:func:`_history`), from the same active months,
    movements and revenue sums (``sums``: :func:`cxreport.revenue.type_sums`).
    """
    u = Unknowns()
    before = pd.Period(f"{year - 1}-12", freq="M")
    h = revenue.revenue_headline(ledger, active, movements, year, sums)
    br, ret, churn = h["bridge"], h["retention"], h["monthly_churn"]
    has_book = first_month <= before
    book_reason = None
    if not has_book:
        book_reason = f"No December {year - 1} book: the ledger starts in {first_month}."
    elif ret["customers_start"] == 0:
        book_reason = f"No customer had recurring revenue in December {year - 1}, so there is no starting book to follow."
    mrr_start = float(br["opening_mrr"]) if has_book else None
    if not has_book:
        u.add("mrr_start", book_reason)
    growth = known(h["mrr_growth_pct"]) if has_book else None
    if growth is None:
        u.add("mrr_growth_pct", book_reason or f"No recurring revenue in December {year - 1}, so growth from it has no value.")
    rates = {k: (known(ret[k]) if book_reason is None else None)
             for k in ("logo_retention_pct", "logo_churn_pct", "nrr_pct", "grr_pct")}
    counts = {k: (int(ret[k]) if has_book else None) for k in ("customers_start", "customers_retained", "customers_churned")}
    moneys = {k: (float(ret[k]) if has_book else None) for k in ("expansion", "contraction", "churned_mrr")}
    if book_reason:
        for k in ("logo_retention_pct", "annual_logo_churn_pct", "logo_churn_pct", "nrr_pct", "grr_pct"):
            u.add(k, book_reason)
        if not has_book:
            for k in ("customers_start", "customers_retained", "customers_churned", "retention_expansion",
                      "retention_contraction", "retention_churned_mrr"):
                u.add(k, book_reason)
    monthly = known(churn["monthly_pct"])
    if monthly is None:
        u.add("monthly_logo_churn_pct", f"No customer was active at the start of any month of {year} in the ledger.")
        u.add("annualised_churn_pct", f"No customer was active at the start of any month of {year} in the ledger.")
    arpa_end, arpa_avg = known(h["arpa"]["end"]), known(h["arpa"]["average"])
    if arpa_end is None:
        u.add("arpa", f"No customer had recurring revenue in December {year}.")
    if arpa_avg is None:
        u.add("arpa_average", f"No customer had recurring revenue in {year}.")
    share = known(h["recurring_share_pct"])
    if share is None:
        u.add("recurring_share_pct", f"The ledger has no revenue in {year}.")
    margin_pct = known(h["recurring_gross_margin_pct"])
    if margin_pct is None:
        u.add("recurring_gross_margin_pct", NO_COST_REASON if not has_costs else
              f"No recurring revenue of {year} has a cost in the ledger, so its margin is unknown.")
    figures = {"mrr_start": mrr_start, "growth": growth, "rates": rates, "counts": counts, "moneys": moneys, "monthly": monthly,
               "arpa_end": arpa_end, "arpa_avg": arpa_avg, "share": share, "margin_pct": margin_pct}
    return h, figures, u


CLV_FIGURES = (("clv_arpa", "arpa"), ("clv_gross_margin_pct", "gross_margin_pct"), ("clv_monthly_churn_pct", "monthly_churn_pct"),
               ("clv_simple", "clv_simple"), ("clv_simple_discounted", "clv_simple_discounted"),
               ("expected_lifetime_months_simple", "expected_lifetime_months_simple"), ("sbg_gamma", "gamma"),
               ("sbg_delta", "delta"), ("sbg_first_year_churn_pct", "sbg_first_year_churn_pct"), ("clv_sbg", "clv_sbg"),
               ("del_months", "del_months"))


def _clv_reasons(clv_all: pd.DataFrame, year: int, s: Settings, has_costs: bool) -> dict[str, str]:
    """Why a lifetime value is unknown, by cause (too few customers, no margin, no churn, no fit, no ARPA)."""
    ever = int(clv_all.iloc[0]["customers"]) if len(clv_all) else 0
    return {
        "few": (f"Only {ever} customers ever had recurring revenue; lifetime values need at least {s.min_group_size}." if ever else
                "No customer ever had recurring revenue, so there is no lifetime to value."),
        "margin": NO_COST_REASON if not has_costs else f"No recurring revenue of {year} has a cost in the ledger, so margins are unknown.",
        "churn": f"No customer left in the last {s.clv_window_months} months, so the constant-churn formula has no finite value.",
        "sbg": "No customer has ever left, so the shifted-beta-geometric model cannot be fitted.",
        "arpa": f"No customer was active in the last {s.clv_window_months} months.",
    }


def _overall_clv(clv_all: pd.DataFrame, year: int, s: Settings, has_costs: bool) -> tuple[pd.Series | None, dict, Unknowns]:
    """The all-customers lifetime values (the first row of :func:`cxreport.clv.clv_by_segment`'s table):
    ``(row or None when suppressed, figures by name (:data:`CLV_FIGURES`), unknowns with their reasons)``."""
    u = Unknowns()
    overall = clv_all.iloc[0] if "clv_sbg" in clv_all and not clv_all.iloc[0]["suppressed"] else None
    figs = {k: _row_value(overall, c) for k, c in CLV_FIGURES}
    reasons = _clv_reasons(clv_all, year, s, has_costs)
    for k, v in figs.items():
        if v is not None:
            continue
        if overall is None:
            why = reasons["few"]
        elif k == "clv_arpa":
            why = reasons["arpa"]
        elif k in ("sbg_gamma", "sbg_delta", "sbg_first_year_churn_pct", "del_months") or (k == "clv_sbg" and figs["del_months"] is None):
            why = reasons["sbg"]
        elif k in ("clv_monthly_churn_pct",):
            why = reasons["arpa"]
        elif k in ("expected_lifetime_months_simple", "clv_simple") and not figs["clv_monthly_churn_pct"]:
            why = reasons["churn"]
        elif figs["clv_gross_margin_pct"] is None:
            why = reasons["margin"]
        else:
            why = reasons["arpa"]
        u.add(k, why)
    if figs["clv_gross_margin_pct"] is None and overall is not None:
        u.add("clv_gross_margin_pct", reasons["margin"])
    return overall, figs, u


# Counts and years are kept whole in metrics.json; other floats are rounded to 2 decimals.
RAW_KEYS = frozenset({"customers_start", "customers_retained", "customers_churned", "churned_customers", "customer_months",
                      "active_customers", "year", "partners_mostly_cloud"})


def _rounded(figures: dict) -> dict:
    """A headline's figures as metrics.json states them (:data:`RAW_KEYS` whole, other floats to 2 decimals)."""
    return {k: (v if k in RAW_KEYS or not isinstance(v, float) else round(v, 2)) for k, v in figures.items()}


def _history(ledger, active, movements: pd.DataFrame, year: int, first_month: pd.Period, has_costs: bool,
             customers: pd.Index, s: Settings, sums: pd.DataFrame | None = None) -> dict[int, dict]:
    """Earlier years' headline figures, from this report's active months and movements (no new pass over the ledger).

    For each year after the ledger's first (retention needs the December before) and before ``year``: the
    figures the executive summary compares and charts, as that year's own report states them (:func:`_book`;
    a test checks them against a build of each year): MRR at the start and end, growth, active customers, the
    December book's counts, logo retention and churn, NRR, GRR, total and recurring revenue, recurring share;
    for ``year - 1`` also ``clv_sbg`` (the summary compares it with this year's). ``unknowns`` maps each
    unknown figure to its reason. Returns ``{year: figures}``; empty for a ledger starting in ``year - 1`` or later.
    """
    out = {}
    for y in range(first_month.year + 1, year):
        h, book, u = _book(ledger, active, movements, y, first_month, has_costs, sums)
        rates = book["rates"]
        figures = {"year": y, "mrr_start": book["mrr_start"], "mrr_end": float(h["bridge"]["closing_mrr"]),
                   "mrr_growth_pct": book["growth"], "active_customers": int(h["active_customers"]), **book["counts"],
                   "logo_retention_pct": rates["logo_retention_pct"], "annual_logo_churn_pct": rates["logo_churn_pct"],
                   "nrr_pct": rates["nrr_pct"], "grr_pct": rates["grr_pct"], "total_revenue": float(h["total_revenue"]),
                   "recurring_revenue": float(h["recurring_revenue"]), "recurring_share_pct": book["share"]}
        if y == year - 1:
            lives = survival.lifetimes(active, f"{y}-12")
            table = clv.clv_by_segment(ledger, lives, pd.Series("All customers", index=customers), y, s.clv_discount_rate,
                                       s.clv_window_months, s.min_group_size, active, dimension="All")
            _, clv_figures, clv_unknowns = _overall_clv(table, y, s, has_costs)
            figures["clv_sbg"] = clv_figures["clv_sbg"]
            u.reasons.update(clv_unknowns.reasons)
        figures = jsonable(_rounded(figures))
        figures["unknowns"] = {k: v for k, v in u.reasons.items() if k in figures and figures[k] is None}
        out[y] = figures
    return out


def _build(inputs: Inputs, settings: Settings, year: int, ledger, active, first_month: pd.Period,
           last_month: pd.Period) -> ClvChurnReport:
    """:func:`build` once the ledger is on the engine, checked, and its active months kept there."""
    u = Unknowns()
    s = settings
    bench = s.revenue_benchmarks.model_dump()
    accounts = _segment_categories(inputs["accounts.csv"])
    responses = inputs.get("survey_responses.csv")
    assessments = inputs.get("maturity_assessments.csv")
    end = f"{year}-12"
    d_month = clv.monthly_rate(s.clv_discount_rate)

    # ---- MRR, bridge, retention, churn, ARPA, revenue mix
    movements = revenue.mrr_movements(active, end=end, start=str(first_month))
    has_costs = revenue.has_costs(ledger)
    sums = revenue.type_sums(ledger, range(first_month.year, year + 1))  # every year's revenue by type, one query
    h, book, book_unknowns = _book(ledger, active, movements, year, first_month, has_costs, sums)
    u.reasons.update(book_unknowns.reasons)
    br, churn = h["bridge"], h["monthly_churn"]
    mrr_start, growth, rates, counts, moneys = book["mrr_start"], book["growth"], book["rates"], book["counts"], book["moneys"]
    monthly, arpa_end, arpa_avg, share, margin_pct = (book[k] for k in ("monthly", "arpa_end", "arpa_avg", "share", "margin_pct"))
    history = _history(ledger, active, movements, year, first_month, has_costs, pd.Index(accounts["customer_id"]), s, sums)
    for y, figures in history.items():
        for k, why in figures["unknowns"].items():
            u.add(f"history.{y}.{k}", why)
    by_type = revenue.revenue_by_type(ledger, year, sums)
    if not has_costs and "margin_pct" in by_type:
        by_type = by_type.drop(columns=["revenue_with_cost", "cost", "gross_profit", "margin_pct", "cost_coverage_pct"])

    units = accounts.set_index("customer_id")["partner_id"] if "partner_id" in accounts else pd.Series(dtype=object)
    cloud = revenue.cloud_recurring_comparison(ledger, units, year, tuple(s.cloud_revenue_types), 50.0, min_n=s.min_group_size)
    ratio = known(cloud["ratio"])
    if ratio is None:
        u.add("cloud_recurring_ratio", "accounts.csv has no partner_id column, so customers cannot be grouped by partner."
              if "partner_id" not in accounts else
              f"The mostly-cloud comparison needs at least {s.min_group_size} partners on each side with recurring revenue; "
              f"the data has {cloud['units_mostly_cloud']} mostly-cloud and {cloud['units_other']} other partners.")
    for k, side in (("mostly_cloud_recurring_share_pct", "mostly-cloud"), ("other_recurring_share_pct", "other")):
        if known(cloud[k]) is None:
            u.add("cloud_recurring_share_pct" if side == "mostly-cloud" else k,
                  "accounts.csv has no partner_id column, so customers cannot be grouped by partner." if "partner_id" not in accounts
                  else f"No {side} partner has revenue in {year}.")
    bm_rows = [("Recurring share of revenue", share, bench["recurring_share_top_quartile_pct"], "higher", "%"),
               ("Customers lost in the year", rates["logo_churn_pct"], bench["best_annual_logo_churn_pct"], "lower", "%"),
               ("Recurring share, mostly-cloud vs other", ratio, bench["cloud_recurring_multiple"], "higher", "x")]
    benchmark_rows = pd.DataFrame([{"metric": m, "ours": o, "benchmark": b, "better": w, "unit": un}
                                   for m, o, b, w, un in bm_rows if o is not None],
                                  columns=["metric", "ours", "benchmark", "better", "unit"])

    never = revenue.never_active(ledger, end, active=active)
    words = {"project": "project", "license": "licence", "ip": "packaged IP"}
    never_types = [words[t] for t in never["types"] if t in words]
    n_never, n_nonrec = never["customers"], never["nonrecurring_customers"]

    # ---- cohorts
    logo, rev_ret = cohorts.cohort_retention(active, end=end)
    curve_logo, curve_rev = cohorts.average_retention_curve(logo), cohorts.average_retention_curve(rev_ret)
    cohort_figs = {}
    for name, curve, period, span in (("cohort_logo_1y_pct", curve_logo, 4, "a year"), ("cohort_logo_3y_pct", curve_logo, 12, "three years"),
                                      ("cohort_revenue_1y_pct", curve_rev, 4, "a year"), ("cohort_revenue_3y_pct", curve_rev, 12, "three years")):
        cohort_figs[name] = known(curve.get(period, np.nan))
        if cohort_figs[name] is None:
            u.add(name, f"No acquisition cohort has been observed for {span} yet (the ledger runs from {first_month} to {end}).")
    recent = logo[logo["cohort"] >= str(pd.Period(f"{year - 4}Q1", freq="Q"))]
    note = cohorts.first_cohort_note(active, first_month)

    # ---- lifetimes and survival by segment
    segment_cols = [c for c, _ in SEGMENTS if c in accounts.columns]
    lives = survival.lifetimes(active, end).merge(accounts[["customer_id", *segment_cols]], on="customer_id", how="left")
    size_order = [x for x in SIZE_ORDER if "company_size" in lives and x in set(lives["company_size"].dropna())]
    sections = []
    for col, label in SEGMENTS[:2]:
        if col in lives:
            sections.append(_km_section(lives, col, label, "Months since acquisition", s,
                                        (size_order or None) if col == "company_size" else None))
        else:
            sections.append(SurvivalSection(key=col, label=label, xlabel="", reason=f"accounts.csv has no {col} column, so "
                                            f"customers cannot be compared by {label.lower()}."))

    stages_now = both = by_stage = None
    stage_args = {"dimensions": {k: v.model_dump() for k, v in s.maturity_dimensions.items()},
                  "rubric": s.maturity_rubric.model_dump(), "stages": {k: v.model_dump() for k, v in s.maturity_stages.items()}}
    if assessments is not None:
        stages_now = maturity.customer_stages(assessments, year, **stage_args)
        # the earliest assessment in the two years gives the longest follow-up
        both = pd.concat([maturity.customer_stages(assessments, year - 1, **stage_args), stages_now], ignore_index=True)
        both = both.sort_values("assessed_on", kind="stable").drop_duplicates("customer_id")
        both["measured"] = pd.to_datetime(both["assessed_on"]).dt.to_period("M")
        names = [n for n in maturity.stage_table(stage_args["stages"])["name"] if n in set(both["stage_name"].dropna())]
        both["stage_name"] = pd.Categorical(both["stage_name"].astype(object), categories=names, ordered=True)
        by_stage = survival.landmark(lives, both[["customer_id", "measured", "stage", "stage_name"]], end)
        if len(by_stage):
            sections.append(_km_section(by_stage, "stage_name", "Maturity stage", "Months since the assessment", s, names))
        else:
            sections.append(SurvivalSection(key="maturity_stage", label="Maturity stage", xlabel="",
                                            reason=f"No customer assessed in {year - 1} or {year} was an active customer at the time."))
        sections[-1].key = "maturity_stage"
        if stages_now.empty:
            stages_now = None
    else:
        sections.append(SurvivalSection(key="maturity_stage", label="Maturity stage", xlabel="", reason=(
            "No maturity assessments in the data folder: the split by cloud-maturity stage is not available.")))

    answers = by_nps = None
    if responses is None:
        nps_reason = "No survey responses in the data folder: the split by satisfaction is not available."
    elif "customer_id" not in responses or responses["customer_id"].notna().sum() == 0:
        nps_reason = "The survey responses carry no customer_id, so no answer links to the ledger."
    else:
        nps_reason = None
        answers = survival.first_answers(responses, year)
        by_nps = survival.landmark(lives, answers, end)
    if nps_reason:
        u.add("survey_linked", nps_reason)
        sections.append(SurvivalSection(key="nps_category", label="NPS category", xlabel="", reason=nps_reason))
    elif len(by_nps):
        sections.append(_km_section(by_nps, "nps_category", "NPS category", "Months since the survey answer", s,
                                    ["Promoter", "Passive", "Detractor"]))
    else:
        sections.append(SurvivalSection(key="nps_category", label="NPS category", xlabel="",
                                        reason="No survey answer comes from a customer that was active in the ledger when it answered."))
    if answers is not None:
        sections[-1].intro = (f"{len(answers)} customers answered the survey; {len(by_nps)} of them link to an active customer in "
                              "the ledger at the time of their answer.")

    for sec in sections:
        if sec.p is None:
            sec.reason = sec.reason or f"The log-rank test by {sec.label.lower()} has no value: no customer in the compared groups has left."
            u.add(f"logrank_p.{sec.key}", sec.reason)

    # ---- Cox models
    cox_models, cox_notes = [], []
    has_size = "company_size" in lives
    if by_nps is not None and len(by_nps):
        linked = by_nps.copy()
        if both is not None:
            linked = linked.merge(both[["customer_id", "stage"]].drop_duplicates("customer_id"), on="customer_id", how="left")
        if has_size:
            linked["larger_company"] = larger_company(linked)
        numeric = [c for c in ("csat", "stage", "larger_company") if c in linked]
        cox_models.append(_cox("satisfaction", "survey-linked customers", linked, {"nps_category": "Promoter"}, numeric, s))
    else:
        cox_notes.append("No survey answers link to the ledger, so the model of satisfaction and churn is not available.")
    if by_stage is not None and len(by_stage):
        wide = by_stage.copy()
        numeric = ["stage"]
        if has_size:
            wide["larger_company"] = larger_company(wide)
            numeric.append("larger_company")
        cox_models.append(_cox("maturity", "assessed customers", wide, {}, numeric, s))

    # ---- lifetime value by segment
    acc_idx = accounts.set_index("customer_id")
    args = (year, s.clv_discount_rate, s.clv_window_months, s.min_group_size, active)
    clv_tables = [clv.clv_by_segment(ledger, lives, pd.Series("All customers", index=acc_idx.index), *args, dimension="All")]
    seg_dims = [(c, l) for c, l in SEGMENTS if c in accounts]
    for col, label in seg_dims:
        clv_tables.append(clv.clv_by_segment(ledger, lives, acc_idx[col], *args, dimension=label))
    if stages_now is not None:
        clv_tables.append(clv.clv_by_segment(ledger, lives, stages_now.set_index("customer_id")["stage_name"], *args,
                                             dimension="Maturity stage"))
    clv_all = pd.concat(clv_tables, ignore_index=True)
    overall, figs, clv_unknowns = _overall_clv(clv_all, year, s, has_costs)
    u.reasons.update(clv_unknowns.reasons)
    reasons = _clv_reasons(clv_all, year, s, has_costs)
    vs = None
    if figs["clv_sbg"] is not None and figs["clv_simple_discounted"]:
        vs = 100 * (figs["clv_sbg"] / figs["clv_simple_discounted"] - 1)
    else:
        u.add("sbg_vs_simple_pct", "One of the two lifetime values is unknown, so they cannot be compared.")
    clv_segments = []
    for dim in [d for d in clv_all["dimension"].unique() if d != "All"]:
        t = clv_all[clv_all["dimension"] == dim]
        shown = t[~t["suppressed"]] if "suppressed" in t else t.iloc[0:0]
        clv_segments.append(ClvSegmentTable(dim, shown, t.loc[t["suppressed"], "segment"].astype(str).tolist()))
    ranked = clv_all[(clv_all["dimension"] != "All") & ~clv_all["suppressed"]] if "clv_sbg" in clv_all else clv_all.iloc[0:0]
    ranked = ranked.dropna(subset=["clv_sbg"]).sort_values("clv_sbg", ascending=False, kind="stable") if len(ranked) else ranked
    top = bottom = None
    if len(ranked) >= 2:
        top, bottom = ({"segment": str(r["segment"]), "dimension": str(r["dimension"]), "clv_sbg": float(r["clv_sbg"])}
                       for r in (ranked.iloc[0], ranked.iloc[-1]))
    sbg_observed = sbg_projected = None
    sizes = clv_all[(clv_all["dimension"] == "Company size") & ~clv_all["suppressed"]].dropna(subset=["gamma"]) \
        if "gamma" in clv_all else clv_all.iloc[0:0]
    if len(sizes):
        sbg_observed, _ = survival.km_by_group(lives, "company_size", min_n=s.min_group_size, confidence=s.confidence)
        months = np.arange(0, 121)
        proj = pd.concat([pd.DataFrame({"group": r.segment, "time": months, "survival": clv.sbg_survival(r.gamma, r.delta, months)})
                          for r in sizes.itertuples()], ignore_index=True)
        order = [x for x in size_order if x in set(proj["group"])] or list(dict.fromkeys(proj["group"]))
        proj["group"] = pd.Categorical(proj["group"], categories=order, ordered=True)
        sbg_projected = proj.sort_values(["group", "time"]).reset_index(drop=True)

    # ---- accounts to look after
    seg_note = None
    seg_col = s.clv_account_segment
    if seg_col not in accounts:
        fallback = "company_size" if "company_size" in accounts else None
        seg_note = (f"accounts.csv has no {seg_col} column (the clv_account_segment setting); the account list uses "
                    + ("company size instead." if fallback else "one model for all customers instead."))
        seg_col = fallback or "all customers"
    labels = dict(seg_dims)
    if seg_col in accounts:
        seg_series = acc_idx[seg_col]
        seg_rows = clv_all[(clv_all["dimension"] == labels.get(seg_col, seg_col)) & ~clv_all["suppressed"]]
    else:
        seg_series = pd.Series("All customers", index=acc_idx.index)
        seg_rows = clv_all[(clv_all["dimension"] == "All") & ~clv_all["suppressed"]]
    if "gamma" not in seg_rows:
        seg_rows = seg_rows.assign(gamma=np.nan, delta=np.nan, gross_margin_pct=np.nan)
    # customers whose segment is unknown, too small or without a fitted model are valued with the all-customers model
    every = clv_all.iloc[[0]] if "gamma" in clv_all and not clv_all.iloc[0]["suppressed"] else seg_rows.iloc[0:0]
    usable = seg_rows.dropna(subset=["gamma", "delta", "gross_margin_pct"])
    fits = {r.segment: {"gamma": r.gamma, "delta": r.delta} for r in pd.concat([every, usable]).itertuples()}
    margins = {r.segment: r.gross_margin_pct / 100 for r in pd.concat([every, usable]).itertuples()}
    seg_series = seg_series.astype(object).where(seg_series.astype(object).isin(list(usable["segment"])), "All customers")
    acc_list = clv.account_values(lives, seg_series, fits, margins, s.clv_discount_rate, 12)
    acc_list = acc_list.merge(accounts[["customer_id", *[c for c in ("name", "partner_id") if c in accounts]]], on="customer_id", how="left")
    if by_nps is not None:
        acc_list = acc_list.merge(answers[["customer_id", "nps_category"]], on="customer_id", how="left")
    if stages_now is not None:
        acc_list = acc_list.merge(stages_now[["customer_id", "stage_name"]], on="customer_id", how="left")
    acc_list["acquired"] = acc_list["acquired"].astype(str)
    acc_list["value_at_risk"] = acc_list["expected_remaining_value"] * acc_list["churn_risk_pct"] / 100
    # the most value at risk first; when values are unknown (no costs, no fit), the largest MRR
    by = "value_at_risk" if acc_list["value_at_risk"].notna().all() else "mrr"
    watch = acc_list.sort_values(by, ascending=False, kind="stable").head(s.clv_accounts_shown).reset_index(drop=True)
    if "name" in watch:  # the sample's names end in the id, which the table already shows
        watch["name"] = watch["name"].astype("string").str.replace(r" \(C\d+\)$", "", regex=True)
    current = int(len(acc_list))
    erv = float(acc_list["expected_remaining_value"].sum()) if acc_list["expected_remaining_value"].notna().all() else None
    if erv is None:
        u.add("expected_remaining_value", reasons["few"] if overall is None else reasons["sbg"] if figs["sbg_gamma"] is None
              else reasons["margin"])

    # ---- revenue by maturity stage
    stage_rev = stage_top = None
    stage_note = None
    if stages_now is not None:
        stage_rev = revenue.revenue_by_segment(ledger, stages_now[["customer_id", "stage", "stage_name"]].sort_values("stage"), year,
                                               by="stage_name", min_n=s.min_group_size, active=active)
        order = stages_now.sort_values("stage")["stage_name"].drop_duplicates().tolist()
        stage_rev["stage_name"] = pd.Categorical(stage_rev["stage_name"], categories=order, ordered=True)
        stage_rev = stage_rev.sort_values("stage_name").reset_index(drop=True)
        shown = stage_rev[~stage_rev["suppressed"]].dropna(subset=["arpa"])
        if len(shown):
            hi = shown.sort_values("arpa", kind="stable").iloc[-1]
            stage_top = {"stage_name": str(hi["stage_name"]), "arpa": float(hi["arpa"])}
        else:
            stage_note = f"No maturity stage has {s.min_group_size} or more customers with recurring revenue in December {year}."
    else:
        stage_note = ("No maturity assessments in the data folder." if assessments is None
                      else f"No customer was assessed in {year}.")

    in_year = movements[movements["month"].dt.year == year].reset_index(drop=True)
    return ClvChurnReport(
        year=year, organisation=s.organisation, title=s.clv_title, confidence=s.confidence, currency=s.currency,
        min_group_size=s.min_group_size,
        discount_rate=s.clv_discount_rate, discount_rate_monthly=d_month, window_months=s.clv_window_months, benchmarks=bench,
        ledger_first_month=str(first_month), ledger_last_month=str(last_month),
        active_customers=int(h["active_customers"]), mrr_start=mrr_start, mrr_end=float(br["closing_mrr"]), mrr_growth_pct=growth,
        bridge={k: float(v) for k, v in br.items()}, movements=movements, movements_in_year=in_year,
        customers_start=counts["customers_start"], customers_retained=counts["customers_retained"],
        customers_churned=counts["customers_churned"], logo_retention_pct=rates["logo_retention_pct"],
        logo_churn_pct=rates["logo_churn_pct"], nrr_pct=rates["nrr_pct"], grr_pct=rates["grr_pct"],
        retention_expansion=moneys["expansion"], retention_contraction=moneys["contraction"], retention_churned_mrr=moneys["churned_mrr"],
        monthly_churned_customers=int(churn["churned_customers"]), customer_months=int(churn["customer_months"]),
        monthly_logo_churn_pct=monthly, annualised_churn_pct=known(churn["annualised_pct"]), arpa=arpa_end, arpa_average=arpa_avg,
        total_revenue=float(h["total_revenue"]), recurring_revenue=float(h["recurring_revenue"]), recurring_share_pct=share,
        recurring_gross_margin_pct=margin_pct, has_costs=has_costs,
        cloud_units_mostly_cloud=int(cloud["units_mostly_cloud"]), cloud_units_other=int(cloud["units_other"]),
        cloud_recurring_share_pct=known(cloud["mostly_cloud_recurring_share_pct"]),
        other_recurring_share_pct=known(cloud["other_recurring_share_pct"]), cloud_recurring_ratio=ratio,
        benchmark_rows=benchmark_rows, revenue_by_type=by_type, never_active=n_never, never_active_nonrecurring=n_nonrec,
        never_active_zero_recurring=n_never - n_nonrec, never_active_types=never_types,
        cohort_logo=logo, cohort_revenue=rev_ret, cohorts_recent=recent["cohort"].tolist(),
        cohorts_shown_since=str(recent["cohort"].min()) if len(recent) else None,
        first_cohort=str(logo["cohort"].min()) if len(logo) else None, **cohort_figs, first_cohort_note=note,
        survival_sections=sections, survey_answers=None if answers is None else int(len(answers)),
        survey_linked=None if by_nps is None else int(len(by_nps)), cox_models=cox_models, cox_notes=cox_notes,
        clv_by_segment=clv_all, clv_segments=clv_segments, **figs, sbg_vs_simple_pct=vs, top_segment=top, bottom_segment=bottom,
        sbg_observed=sbg_observed, sbg_projected=sbg_projected,
        account_segment=seg_col, account_segment_note=seg_note, accounts=acc_list, accounts_watch=watch,
        current_customers=current, expected_remaining_value=erv,
        revenue_by_stage=stage_rev, stage_top=stage_top, stage_note=stage_note, history=history, unknowns=u,
        input_frames=dict(inputs.frames), data_dir=inputs.data_dir,
    )


def build_from_folder(data_dir, year: int, settings: dict | Settings | None = None, run_db: str | Path | None = None,
                      engine: str | None = None, engine_url: str | None = None) -> ClvChurnReport:
    """Load the report's inputs from ``data_dir`` (validated) and :func:`build` the model of ``year``.

    ``run_db``, ``engine`` and ``engine_url`` come from the pipeline: its run database of validated inputs
    (:func:`.base.load_inputs`) and the engine the queries run on (:func:`.base.report_engine`).
    """
    return build_from_data(build, INPUTS, data_dir, year, settings, run_db, engine, engine_url)


__all__ = ["INPUTS", "SETTINGS", "ClvChurnReport", "SurvivalSection", "CoxModel", "ClvSegmentTable", "build", "build_from_folder",
           "larger_company"]


# ---------------------------------------------------------------- the report's sentences
def _pct(x: float, digits: int = 1) -> str:
    return percent(x, digits)


def kpis(r: ClvChurnReport) -> list[tuple[str, str, str]]:
    """The headline cards (label, value, detail); an unknown figure shows "unknown" and a short why."""
    b = r.benchmarks

    def _money(x):
        return money(x, r.currency)

    return [
        ("MRR, December", _money(r.mrr_end),
         f"{r.mrr_growth_pct:+.1f}% over the year" if r.mrr_growth_pct is not None else "growth unknown: see below"),
        ("Net revenue retention", _pct(r.nrr_pct) if r.nrr_pct is not None else "unknown",
         f"gross {_pct(r.grr_pct)}" if r.grr_pct is not None else f"no December {r.year - 1} book to follow"),
        ("Customers lost in the year", _pct(r.logo_churn_pct) if r.logo_churn_pct is not None else "unknown",
         (f"{number(r.customers_churned)} of {number(r.customers_start)}; " if r.logo_churn_pct is not None else "")
         + f"best partners < {b['best_annual_logo_churn_pct']:g}%"),
        ("Recurring share of revenue", _pct(r.recurring_share_pct) if r.recurring_share_pct is not None else "unknown",
         f"top quartile > {b['recurring_share_top_quartile_pct']:g}%"),
        ("ARPA, December", _money(r.arpa) if r.arpa is not None else "unknown", "MRR per active customer"),
    ]


def texts(r: ClvChurnReport) -> dict[str, str]:
    """The report's sentences built from the model's figures; an unknown figure gives the model's reason instead.

    Keys: ``bridge``, ``retention``, ``recurring``, ``never_active``, ``cohorts``, ``cohorts_shown``,
    ``survey_link``, ``clv``, ``clv_why``, ``clv_rank``, ``accounts``, ``stage``, ``settings``.
    """
    y, u, b = r.year, r.unknowns, r.benchmarks
    br = r.bridge
    out = {}

    def _money(x):
        return money(x, r.currency)

    moves = (f"New customers added {_money(br['new'])} and existing customers expanded by {_money(br['expansion'])}; contraction "
             f"took {_money(abs(br['contraction']))} and customers who left took {_money(abs(br['churned']))}. "
             f"{sentence_case(_money(br['reactivation']))} came back with returning customers.")
    if r.mrr_end == 0 and not r.mrr_start:
        out["bridge"] = (f"No customer had recurring revenue in December {y}"
                         + (" or a year earlier" if r.mrr_start == 0 else "") + ", so there is no MRR to follow."
                         + ("" if r.mrr_start is not None else f" {u.get('mrr_start')}"))
    elif r.mrr_start is None:
        out["bridge"] = (f"MRR stood at **{_money(r.mrr_end)}** in December {y}. {u.get('mrr_start')} So growth over the year and the "
                         f"bridge from December {y - 1} are unknown. Over the months in the ledger, {moves[0].lower()}{moves[1:]}")
    else:
        growth = f" ({r.mrr_growth_pct:+.1f}%)" if r.mrr_growth_pct is not None else f" ({u.get('mrr_growth_pct')})"
        out["bridge"] = f"MRR went from **{_money(r.mrr_start)}** in December {y - 1} to **{_money(r.mrr_end)}** in December {y}{growth}. {moves}"
    if r.logo_retention_pct is None:
        ret = f"{u.get('logo_retention_pct')} Logo retention, NRR and GRR are therefore unknown."
    else:
        ret = (f"Of the {plural(r.customers_start, 'customer')} active in December {y - 1}, **{number(r.customers_retained)}** "
               f"{'was a customer' if r.customers_retained == 1 else 'were still customers'} in "
               f"December {y} (logo retention {_pct(r.logo_retention_pct)}, so **{_pct(r.logo_churn_pct)}** were lost; the best "
               f"partners lose under {b['best_annual_logo_churn_pct']:g}% a year). NRR is **{_pct(r.nrr_pct)}** and GRR "
               f"**{_pct(r.grr_pct)}**: expansion of {_money(r.retention_expansion)} against contraction of "
               f"{_money(r.retention_contraction)} and lost MRR of {_money(r.retention_churned_mrr)}.")
    if r.monthly_logo_churn_pct is None:
        ret += f" Monthly churn is unknown: {u.get('monthly_logo_churn_pct')[0].lower()}{u.get('monthly_logo_churn_pct')[1:]}"
    else:
        ret += (f" Month by month, {_pct(r.monthly_logo_churn_pct, 2)} of active customers left ({number(r.monthly_churned_customers)} in "
                f"{plural(r.customer_months, 'customer-month')}, {_pct(r.annualised_churn_pct)} a year).")
    out["retention"] = ret
    if r.recurring_share_pct is None:
        rec = f"The recurring share of revenue is unknown: {u.get('recurring_share_pct')}"
    else:
        rec = (f"**{_pct(r.recurring_share_pct)}** of the year's revenue ({_money(r.total_revenue)}) is recurring: above "
               f"{b['recurring_share_top_quartile_pct']:g}% is the top quartile of partners, and half of partners earn more than "
               f"{b['recurring_share_median_pct']:g}%.")
    if r.cloud_recurring_ratio is not None:
        rec += (f" Partners whose customers' revenue is mostly cloud ({plural(r.cloud_units_mostly_cloud, 'partner')}) have a recurring "
                f"share of {_pct(r.cloud_recurring_share_pct)} against {_pct(r.other_recurring_share_pct)} for the other "
                f"{number(r.cloud_units_other)}: "
                f"**{r.cloud_recurring_ratio:.1f} times** as much (the source reports {b['cloud_recurring_multiple']:g}x).")
    else:
        rec += " " + u.get("cloud_recurring_ratio")
    out["recurring"] = rec
    if r.never_active == 0:
        out["never_active"] = "Every customer in the ledger had recurring revenue at some point."
    else:
        parts = []
        if r.never_active_nonrecurring:
            kinds = r.never_active_types
            kinds = ", ".join(kinds[:-1]) + " or " + kinds[-1] if len(kinds) > 1 else (kinds[0] if kinds else "non-recurring")
            parts.append(f"{number(r.never_active_nonrecurring)} with only {kinds} revenue")
        if r.never_active_zero_recurring:
            parts.append(f"{number(r.never_active_zero_recurring)} whose recurring rows all have a zero amount")
        out["never_active"] = (f"{plural(r.never_active, 'customer')} in the ledger never had recurring revenue ({'; '.join(parts)}): their "
                               "revenue is in the totals above, but they are never active customers and so are not in MRR, "
                               "retention, cohorts or lifetimes.")
    c = []
    if r.cohort_logo_1y_pct is None:
        c.append(u.get("cohort_logo_1y_pct"))
    else:
        c.append(f"On average **{_pct(r.cohort_logo_1y_pct)}** of a cohort's customers are still active a year after acquisition"
                 + (f" and {_pct(r.cohort_logo_3y_pct)} after three years" if r.cohort_logo_3y_pct is not None else "")
                 + f"; the cohorts' MRR stands at {_pct(r.cohort_revenue_1y_pct)} of its start after one year"
                 + (f" and {_pct(r.cohort_revenue_3y_pct)} after three" if r.cohort_revenue_3y_pct is not None else "")
                 + " (customer-weighted averages of the observed cohorts).")
        if r.cohort_logo_3y_pct is None:
            c.append(u.get("cohort_logo_3y_pct"))
    out["cohorts"] = " ".join(c)
    out["cohorts_shown"] = (f"The charts show the cohorts acquired since {r.cohorts_shown_since}; the CSV tables hold every cohort "
                            f"since the first, {r.first_cohort}." if r.cohorts_shown_since else
                            "No customer has had recurring revenue yet, so there are no cohorts to show.")
    out["cohorts_shown"] += f" {r.first_cohort_note}" if r.first_cohort_note else ""
    out["cox_notes"] = " ".join(r.cox_notes)
    out["by_type"] = "" if r.has_costs else u.get("recurring_gross_margin_pct")
    out["survey_link"] = (f"{plural(r.survey_answers, 'customer')} answered the survey; {number(r.survey_linked)} of them link to an active customer "
                          "in the ledger at the time of their answer." if r.survey_linked is not None else u.get("survey_linked"))
    def lower(text):
        return text[0].lower() + text[1:]

    if r.clv_arpa is None:
        out["clv"] = f"Lifetime value is unknown: {lower(u.get('clv_sbg') or u.get('clv_arpa'))}"
    else:
        churn = (f" and {_pct(r.clv_monthly_churn_pct, 2)} of customers leave each month" if r.clv_monthly_churn_pct is not None else "")
        if r.clv_gross_margin_pct is None:
            s = [f"Across all customers ARPA is {_money(r.clv_arpa)} a month{churn}. {u.get('clv_gross_margin_pct')} Without a margin "
                 "there is no money value of a customer's lifetime."]
        else:
            s = [f"Across all customers ARPA is {_money(r.clv_arpa)} a month at a recurring gross margin of "
                 f"{_pct(r.clv_gross_margin_pct)}{churn}."]
            if r.clv_simple is not None:
                s.append(f"The simple formula gives a lifetime value of **{_money(r.clv_simple)}** (an expected lifetime of "
                         f"{plural(round(r.expected_lifetime_months_simple), 'month')}, undiscounted); discounted at {r.discount_rate:.0%} a year with "
                         f"the same constant churn it is {_money(r.clv_simple_discounted)}.")
            else:
                s.append(f"The simple formula gives no value: {lower(u.get('clv_simple'))}")
        if r.sbg_gamma is None:
            s.append(f"The sBG model gives no value: {lower(u.get('sbg_gamma'))}")
        else:
            s.append(f"The sBG model (γ = {number(r.sbg_gamma, 2)}, δ = {number(r.sbg_delta, 2)}) expects {_pct(r.sbg_first_year_churn_pct)} of new "
                     "customers to leave within their first year"
                     + (f" and values a new customer at **{_money(r.clv_sbg)}** ({number(r.del_months)} discounted months)."
                        if r.clv_sbg is not None else f" ({number(r.del_months)} discounted months of lifetime)."))
        out["clv"] = " ".join(s)
    out["clv_why"] = "" if r.clv_simple is None or r.clv_sbg is None else ("Why they differ: today's churn rate is measured on the current book, which is mostly long-standing, loyal "
                      "customers, while a new customer faces the higher churn of the first months; and customers differ, so the "
                      "survivors' retention keeps rising, which a constant rate misses. "
                      + (f"Here the sBG value is {percent(abs(r.sbg_vs_simple_pct), 0)} {'above' if r.sbg_vs_simple_pct > 0 else 'below'} "
                         "the discounted constant-churn value. " if r.sbg_vs_simple_pct is not None else "")
                      + "The simple formula is also undiscounted: a profit ten years out counts as much as one today, which inflates "
                      "it whenever churn is low. Use the sBG figure to value a new customer of a segment, and the simple one as a "
                      "quick check.")
    out["clv_rank"] = (f"The highest potential is in **{r.top_segment['segment']}** ({r.top_segment['dimension'].lower()}): "
                       f"{_money(r.top_segment['clv_sbg'])} per new customer; the lowest in {r.bottom_segment['segment']} "
                       f"({r.bottom_segment['dimension'].lower()}): {_money(r.bottom_segment['clv_sbg'])}." if r.top_segment else
                       f"No two segments have a lifetime value to rank (each needs {r.min_group_size} customers, churn and costs).")
    if r.current_customers == 0:
        out["accounts"] = f"No customer had recurring revenue in December {y}, so there is no account to look after."
    elif r.expected_remaining_value is None:
        out["accounts"] = (f"{plural(r.current_customers, 'current customer')}; their expected remaining value is unknown: "
                           f"{u.get('expected_remaining_value')[0].lower()}{u.get('expected_remaining_value')[1:]} The "
                           f"{len(r.accounts_watch)} listed are those with the largest MRR among them.")
    else:
        out["accounts"] = (f"{plural(r.current_customers, 'current customer')} "
                           f"{'holds' if r.current_customers == 1 else 'hold'} an expected remaining value of "
                           f"**{_money(r.expected_remaining_value)}**. The {len(r.accounts_watch)} with the most value at risk "
                           "(remaining value × 12-month churn risk):")
    if r.account_segment_note:
        out["accounts"] = r.account_segment_note + " " + out["accounts"]
    out["stage"] = (f"Customers assessed in {y}, by stage: **{r.stage_top['stage_name']}** customers have the highest ARPA "
                    f"({_money(r.stage_top['arpa'])} a month)." if r.stage_top else r.stage_note)
    out["settings"] = (f"- **Settings**: minimum group size {r.min_group_size}; discount rate {r.discount_rate:.0%} a year "
                       f"({100 * r.discount_rate_monthly:.3f}% a month); confidence level {r.confidence:.0%}; account list segmented "
                       f"by `{r.account_segment}`; ledger {r.ledger_first_month} to {r.ledger_last_month}.")
    return out


def section_text(sec: SurvivalSection, min_group_size: int) -> str:
    """The sentence of one Kaplan-Meier section: best and worst group after 12 months and the log-rank verdict, or why not."""
    label = sec.label if sec.label.split()[0].isupper() else sec.label.lower()
    hidden = f" Not shown, fewer than {min_group_size} customers: {', '.join(sec.hidden)}." if sec.hidden else ""
    if sec.reason and (sec.shown is None or len(sec.shown) < 2):
        return (f"{sec.intro}\n\n" if sec.intro else "") + f"**By {label}**: {sec.reason}{hidden}"
    head = (f"**By {label}**: after 12 months {_pct(sec.best_12m)} of {sec.best} customers are still with us against "
            f"{_pct(sec.worst_12m)} of {sec.worst} customers." if sec.best is not None else
            f"**By {label}**: no group has been followed for 12 months yet.")
    head = f"{sec.intro}\n\n{head}" if sec.intro else head
    if sec.p is None:
        return f"{head} {sec.reason}{hidden}"
    return (f"{head} Log-rank test: chi² = {number(sec.chi2, 1)} on {sec.df} df, {p_value(sec.p)}: "
            + ("the segments differ by more than chance." if sec.significant else "the differences could be chance.") + hidden)


# ---------------------------------------------------------------- tables as the report shows them
# Cell formats, from the one home of number style (amounts are in the ``currency`` setting, named in the captions)
def _MONEY(x):
    return number(x)


def _ONE(x):
    return number(x, 1)


def _TWO(x):
    return number(x, 2)


def _INT(x):
    return number(x)



def _view(frame: pd.DataFrame, columns: dict, formats: dict, caption: str | None = None) -> dict:
    """Keyword arguments of :func:`cxreport.reporting.table`: the columns shown, renamed, with their formats."""
    cols = {k: v for k, v in columns.items() if k in frame}
    shown = frame[list(cols)].rename(columns=cols)
    return {"frame": shown, "caption": caption, "formats": {k: v for k, v in formats.items() if k in shown}}


def view(r: ClvChurnReport, name: str) -> dict:
    """A table of the report as shown (``movements``, ``by_type``, ``accounts``, ``stage``): ``table(**view(report, name))``."""
    if name == "movements":
        m = r.movements_in_year.assign(month=r.movements_in_year["month"].astype(str))
        cols = {"month": "Month", "opening_mrr": "Opening MRR", "new": "New", "reactivation": "Reactivation", "expansion": "Expansion",
                "contraction": "Contraction", "churned": "Churned", "closing_mrr": "Closing MRR", "customers": "Active customers",
                "churned_customers": "Customers lost"}
        return _view(m, cols, dict.fromkeys(list(cols.values())[1:8], _MONEY), f"MRR movements by month, {r.year} ({r.currency})")
    if name == "by_type":
        t = r.revenue_by_type.assign(recurring=r.revenue_by_type["recurring"].map({True: "yes", False: "no"}))
        cols = {"label": "Revenue type", "recurring": "Recurring", "revenue": "Revenue", "share_pct": "Share (%)",
                "gross_profit": "Gross profit", "margin_pct": "Margin (%)"}
        return _view(t, cols, {"Revenue": _MONEY, "Share (%)": _ONE, "Gross profit": _MONEY, "Margin (%)": _ONE},
                     f"Revenue by type, {r.year} ({r.currency})")
    if name == "accounts":
        cols = {"customer_id": "Customer", "name": "Name", "tenure_months": "Tenure (m)", "mrr": "MRR", "churn_risk_pct": "Risk 12 m (%)",
                "expected_remaining_value": "Remaining value", "nps_category": "NPS", "stage_name": "Stage"}
        return _view(r.accounts_watch, cols, {"MRR": _MONEY, "Risk 12 m (%)": _ONE, "Remaining value": _MONEY},
                     f"Segment: {r.account_segment.replace('_', ' ')} (in the CSV table)")
    if name == "stage":
        cols = {"stage_name": "Stage", "customers": "Customers", "active_customers": "Active in December", "revenue": "Revenue",
                "recurring_share_pct": "Recurring (%)", "arpa": "ARPA", "revenue_share_pct": "Share of revenue (%)"}
        shown = r.revenue_by_stage[~r.revenue_by_stage["suppressed"]] if r.revenue_by_stage is not None else pd.DataFrame()
        return _view(shown, cols, {"Revenue": _MONEY, "Recurring (%)": _ONE, "ARPA": _MONEY, "Share of revenue (%)": _ONE})
    raise KeyError(name)


def km_view(sec: SurvivalSection) -> dict:
    """The table of one Kaplan-Meier section (shown groups)."""
    cols = {"group": sec.label, "customers": "Customers", "churned": "Churned", "median_months": "Median lifetime (months)",
            "survival_12m": "Still customers at 12 m (%)", "survival_24m": "at 24 m (%)", "survival_36m": "at 36 m (%)"}
    return _view(sec.shown, cols, {"Median lifetime (months)": _INT, "Still customers at 12 m (%)": _ONE, "at 24 m (%)": _ONE,
                                   "at 36 m (%)": _ONE})


def clv_view(seg: ClvSegmentTable) -> dict:
    """The table of one dimension's lifetime values (shown segments; remaining value in millions)."""
    t = seg.shown.assign(remaining_value=seg.shown["remaining_value"] / 1e6) if "remaining_value" in seg.shown else seg.shown
    cols = {"rank": "Rank", "segment": seg.dimension, "customers": "Customers", "arpa": "ARPA", "gross_margin_pct": "Margin (%)",
            "monthly_churn_pct": "Churn / month (%)", "clv_simple": "CLV simple", "clv_sbg": "CLV sBG", "remaining_value": "Remaining (M)"}
    return _view(t, cols, {"Rank": _INT, "ARPA": _MONEY, "Margin (%)": _ONE, "Churn / month (%)": _TWO, "CLV simple": _MONEY,
                           "CLV sBG": _MONEY, "Remaining (M)": _ONE})


def cox_text(cox: CoxModel) -> str:
    """One Cox model in words: who it covers, each hazard ratio, and the terms left out."""
    lines = []
    if cox.key == "maturity" and cox.lines:
        lines.append(f"On the larger group of {plural(cox.n, 'assessed customer')} ({number(cox.events)} of whom left since their assessment), "
                     "maturity and size alone:\n")
    lines += [f"- {line}" for line in cox.lines]
    if cox.dropped:
        lines.append(("\n" if cox.lines else "") + "Left out of the model because no estimate is possible: " + "; ".join(cox.dropped) + ".")
    return "\n".join(lines)

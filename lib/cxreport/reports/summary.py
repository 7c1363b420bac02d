"""The executive summary's model: this year's report headlines against earlier years, trends and findings.

The summary computes no figure that a report model holds. Its inputs are
report headlines (``model.headline()``, the ``metrics.json`` sections):

- this year's: ``current``, the sections this run's reports wrote (the
  pipeline hands the notebook ``metrics_dir``, one ``<notebook>.json`` per
  report); without them (JupyterLab) the year's last build
  ``OUT/<year>/metrics.json``, else the reports' own ``build`` functions run
  on the data folder for the year;
- earlier years': ``earlier``, the sections of the years built in ``OUT``
  (``OUT/<YEAR>/metrics.json``); a year or report not built there comes
  from the same report ``build`` functions run on the data for that year
  (:data:`cxreport.summary.REPORTS`: :mod:`.survey_scores`,
  :mod:`.cloud_maturity`, :mod:`.clv_churn`, :mod:`.partner_programme`).
  A report whose inputs are absent, or which cannot be built for a year
  (an :class:`~cxreport.inputs.InputError`), is not shown for that year;
  the reason is kept in ``unknowns`` (``reports.<section>`` this year,
  ``years.<YEAR>.<section>`` earlier).

What the summary adds is the comparison (:mod:`cxreport.summary`): every
headline figure against last year with its test, computed from the raw
numbers the headlines carry (mean, standard deviation and n; counts and
bases), never back-solved from rounded figures; a figure whose earlier year
comes from an older build without those numbers is shown untested
("no test: figures from an older build"). Then the trends (only years with
data), three to five ranked findings, and the links to the reports.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import summary as sm
from ..inputs import InputError
from ..present.format import money
from ..settings import Settings
from .base import (
    Inputs,
    ReportModel,
    Unknowns,
    jsonable,
    load_inputs,
    project_path,
    report_engine,
    resolve_settings,
)

INPUTS = {
    "requires": (),
    "optional": ("survey_responses.csv", "maturity_assessments.csv", "accounts.csv", "revenue.csv",
                 "partner_survey_responses.csv", "partners.csv", "usage.csv"),
}
# What the summary reads itself; it also passes the settings to the four reports' builds, so it declares
# the union of their SETTINGS (a change to any of them can change a figure it shows). A test keeps this
# tuple equal to that union.
OWN_SETTINGS = ("organisation", "confidence", "currency", "nps_ci_method", "revenue_benchmarks")
SETTINGS = (
    # all reports
    "organisation", "min_group_size", "confidence", "currency",
    # survey scores
    "survey_title", "small_sample_threshold", "nps_ci_method", "touchpoint_labels", "comment_themes", "quotes_per_theme", "quotes",
    # cloud maturity
    "maturity_title", "maturity_stages", "maturity_dimensions", "maturity_rubric", "maturity_accounts_shown",
    # partner programme
    "programme_name", "partner_min_ranked_responses", "funnel_levels", "funnel_adjust_overdispersion", "csat_index_min_responses",
    "csat_index_max_per_organisation", "csat_index_checkpoint", "nsat_mapping", "consumption_rates", "deployment_min_usage",
    "usage_refresh_day",
    # customer lifetime value and churn
    "clv_title", "clv_discount_rate", "clv_window_months", "clv_account_segment", "clv_accounts_shown", "cloud_revenue_types",
    "revenue_benchmarks",
)
# Where each report's years are in the data: (file, column). Revenue years need December of the year before.
YEAR_COLUMNS = {
    "survey": ("survey_responses.csv", "survey_year"),
    "maturity": ("maturity_assessments.csv", "assessed_on"),
    "revenue": ("revenue.csv", "month"),
    "partners": ("partner_survey_responses.csv", "submitted_at"),
}
ORIGIN = {"this run": "this run of the reports", "build": "the year's last build", "data": "the data (no build of the year found)",
          "none": "nowhere: no report's input was found"}


def report_module(section: str):
    """The :mod:`cxreport.reports` module whose ``build`` gives a section's headline."""
    return importlib.import_module(f"cxreport.reports.{sm.REPORTS[section][2]}")


def data_years(inputs: Inputs, section: str, before: int) -> list[int]:
    """Years before ``before`` for which the data holds the section's input (survey waves, assessment years,
    answer years; ledger years whose previous December is in the ledger)."""
    name, column = YEAR_COLUMNS[section]
    frame = inputs.get(name)
    if frame is not None and not isinstance(frame, pd.DataFrame):  # the ledger on the engine: its years are queried there
        if column not in frame.columns:
            return []
        years = sorted(int(y) for y in frame.select(year=frame[column].year()).distinct().to_pandas()["year"].dropna())
        years = years[1:] if section == "revenue" else years  # retention needs December of the year before
        return [y for y in years if y < before]
    if frame is None or column not in frame or frame.empty:
        return []
    values = frame[column].dropna()
    if isinstance(values.dtype, pd.PeriodDtype):
        years = sorted({p.year for p in values})
        years = years[1:]  # retention compares with December of the year before: the ledger's first year has none
    elif pd.api.types.is_datetime64_any_dtype(values):
        years = sorted(set(values.dt.year.astype(int)))
    else:
        years = sorted({int(v) for v in values})
    return [y for y in years if y < before]


def _without_history(section: dict) -> dict:
    """A year's section without the earlier years it states (``history``): each year is in ``years`` once."""
    return {k: v for k, v in section.items() if k != "history"} if isinstance(section, dict) else section


def section_headline(inputs: Inputs, settings: Settings, year: int, section: str) -> tuple[dict | None, str | dict]:
    """A report's headline for ``year`` from the data (its own ``build``) and its unknowns' reasons;
    or None and why it cannot be built."""
    module = report_module(section)
    title = sm.REPORTS[section][1]
    requires, optional = tuple(module.INPUTS["requires"]), tuple(module.INPUTS.get("optional", ()))
    missing = [f for f in requires if f not in inputs]
    if missing:
        return None, f"The {title.lower()} report needs {', '.join(missing)}, which is not in the data."
    # A report must not change another's frames (an engine table cannot be changed: it is shared as it is).
    frames = {n: inputs[n].copy() if isinstance(inputs[n], pd.DataFrame) else inputs[n] for n in (*requires, *optional) if n in inputs}
    try:
        model = module.build(Inputs(frames, inputs.data_dir), settings, year)
    except InputError as exc:
        return None, f"The {title.lower()} report cannot be built for {year}: {'; '.join(exc.messages)}"
    return jsonable(model.headline()), dict(model.unknowns.reasons)


@dataclass
class SummaryModel(ReportModel):
    """Everything the executive summary states: the compared figures, findings, trends and links.

    ``changes`` is :func:`cxreport.summary.change_table` (one row per figure,
    None where unknown, the reason in ``unknowns`` under
    ``figures.<key>.<field>``); ``findings`` the chosen findings
    (:func:`cxreport.summary.findings`); ``trends`` and ``stage_mix`` the
    multi-year series; ``years`` every year's sections (this year's
    included) and ``year_sources`` where each came from ("this run",
    "build", "data").
    """

    SECTION = "summary"

    year: int
    previous_year: int
    organisation: str
    confidence: float
    currency: str  # ISO code of the amounts (MRR, CLV, consumption value)
    source: str
    sections: dict
    notebooks: dict
    years: dict
    year_sources: dict
    changes: pd.DataFrame
    candidates: pd.DataFrame
    chosen: pd.DataFrame
    trends: pd.DataFrame
    stage_mix: pd.DataFrame
    unknowns: Unknowns = field(default_factory=Unknowns)

    # ---- what the notebook narrates
    @property
    def reports_shown(self) -> list[str]:
        """Titles of this year's reports shown, in report order."""
        return [sm.REPORTS[s][1] for s in sm.SECTIONS if s in self.sections]

    @property
    def not_shown(self) -> dict[str, str]:
        """This year's reports not shown, by title, with the reason."""
        return {sm.REPORTS[s][1]: self.unknowns.get(f"reports.{s}") for s in sm.SECTIONS
                if s not in self.sections and f"reports.{s}" in self.unknowns}

    @property
    def findings(self) -> list[str]:
        return list(self.chosen["text"]) if len(self.chosen) else []

    @property
    def origin(self) -> str:
        """Where this year's figures come from, for a sentence: "this run of the reports"."""
        return ORIGIN[self.source]

    @property
    def trend_years(self) -> list[int]:
        """Years with at least one trend figure, oldest first."""
        return sorted(set(self.trends["year"]) | set(self.stage_mix["year"]))

    @property
    def display(self) -> pd.DataFrame:
        """The headline table as the reader sees it (:func:`cxreport.summary.display_table`), amounts with their currency."""
        shown = sm.display_table(self.changes)
        if len(self.changes):
            money_rows = (self.changes["unit"] == "money").to_numpy()
            for column, values in ((str(self.year), self.changes["value"]), (str(self.previous_year), self.changes["previous"])):
                shown.loc[money_rows, column] = [money(v, self.currency) for v in values[money_rows]]
        return shown

    @property
    def method_note(self) -> str:
        return sm.method_note(self.changes, self.confidence)

    @property
    def untested_reasons(self) -> list[str]:
        """One sentence per figure shown without last year's value: the figure and why."""
        return [f"{r['label']} has no {self.previous_year} figure: {self.unknowns.get('figures.' + r['key'] + '.previous')}"
                for r in self.changes.to_dict("records") if r["previous"] is None]

    @property
    def links(self) -> list[tuple[str, str]]:
        return sm.report_links(self.notebooks, self.sections)

    # ---- metrics.json and tables
    def headline(self) -> dict:
        """The ``summary`` section: ``figures.<key>`` (``value``, ``previous``, ``change``, ``test``, ``p_value``,
        ``significant``, unrounded), ``findings``, ``source``, ``reports``, ``trend_years``, and
        ``year_sources`` (per year and section, "this run", "build" or "data")."""
        figures = {r["key"]: {k: r[k] for k in ("value", "previous", "change", "test", "p_value", "significant")}
                   for r in self.changes.to_dict("records")}
        return {
            "year": self.year,
            "previous_year": self.previous_year,
            "source": self.source,
            "reports": sorted(self.sections),
            "trend_years": self.trend_years,
            "figures": figures,
            "findings": self.findings,
            "year_sources": {str(y): dict(v) for y, v in sorted(self.year_sources.items())},
        }

    def tables(self) -> dict[str, pd.DataFrame]:
        """``summary_headlines`` (the compared figures; a stage mix's shares as text), ``summary_trends``,
        ``summary_stage_mix``; each only when it has rows."""
        out = {}
        if len(self.changes):
            ch = self.changes.drop(columns=["largest_shift"])
            mix = ch["kind"] == "distribution"
            for col in ("value", "previous"):
                ch[col] = [str(v) if m and v is not None else v for v, m in zip(ch[col], mix)]
            out["summary_headlines"] = ch
        if len(self.trends) or len(self.stage_mix):
            out["summary_trends"] = self.trends
            out["summary_stage_mix"] = self.stage_mix
        return out


def _reason(text: str) -> str:
    """A test column's text as a sentence."""
    text = text[0].upper() + text[1:]
    return text if text.endswith(".") else text + "."


def build(inputs: Inputs, settings: Settings, year: int, current: dict[str, dict] | None = None,
          earlier: dict[int, dict] | None = None, *, source: str | None = None,
          notebooks: dict[str, str] | None = None) -> SummaryModel:
    """The executive summary of ``year``.

    ``current``: this year's sections by name (None: built here from
    ``inputs`` with each report's ``build``); ``earlier``: earlier years'
    sections from their builds (``{year: {section: headline}}``); a year or
    section missing there is built from ``inputs`` when the data covers it.
    ``source`` labels where ``current`` came from ("this run", "build";
    default "this run", or "data" when built here); ``notebooks`` names the
    notebook of each section (for the links).
    """
    unknowns = Unknowns()
    previous_year = year - 1
    reasons: dict[tuple[int, str], dict] = {}  # (year, section) -> the report model's own unknowns, when built here
    if current is None:
        current, source = {}, "data"
        for s in sm.SECTIONS:
            headline, why = section_headline(inputs, settings, year, s)
            if headline is not None:
                current[s], reasons[(year, s)] = headline, why
            else:
                unknowns.add(f"reports.{s}", why)
        if not current:
            source = "none"
    else:
        current = {s: v for s, v in current.items() if s in sm.SECTIONS}
        source = source or "this run"
        for s in sm.SECTIONS:
            if s not in current:
                unknowns.add(f"reports.{s}", f"The {sm.REPORTS[s][1].lower()} report was not built for {year}.")
    notebooks = {s: (notebooks or {}).get(s, sm.REPORTS[s][0]) for s in current}

    earlier = {int(y): v for y, v in (earlier or {}).items() if int(y) < year}
    years: dict[int, dict] = {}
    year_sources: dict[int, dict] = {}
    for s in sm.SECTIONS:
        # a report that states its earlier years (the CLV report's ``history``) is read, never rebuilt per year
        history = {int(y): dict(v) for y, v in ((current.get(s) or {}).get("history") or {}).items() if int(y) < year}
        in_data = set(history) if s in current and "history" in current[s] else set(data_years(inputs, s, year))
        for y in sorted(in_data | {y for y, v in earlier.items() if s in v}):
            if s in earlier.get(y, {}):
                years.setdefault(y, {})[s], how = _without_history(earlier[y][s]), "build"
            elif y in history:
                reasons[(y, s)] = history[y].pop("unknowns", {})
                years.setdefault(y, {})[s], how = history[y], "data"
            else:
                headline, why = section_headline(inputs, settings, y, s)
                if headline is None:
                    unknowns.add(f"years.{y}.{s}", why)
                    continue
                years.setdefault(y, {})[s], how = headline, "data"
                reasons[(y, s)] = why
            year_sources.setdefault(y, {})[s] = how
    years[year] = {s: _without_history(section) for s, section in current.items()}
    year_sources[year] = {s: source for s in current}
    years = dict(sorted(years.items()))

    previous = years.get(previous_year, {})
    changes = sm.change_table(current, previous, year, previous_year, settings.confidence, settings.nps_ci_method,
                              year_sources.get(previous_year, {}))
    for r in changes.to_dict("records"):
        key, section = r["key"], r["section"]
        title = sm.REPORTS[section][1].lower()
        if r["previous"] is None:
            if section not in previous:
                why = unknowns.get(f"years.{previous_year}.{section}") or f"The {title} report has no {previous_year} figures."
            else:
                path = next(m.path for m in sm.MEASURES if m.key == key)
                own = reasons.get((previous_year, section), {})
                why = own.get(path) or next((v for k, v in own.items() if k.startswith(path + ".")), None) \
                    or f"The {previous_year} {title} report does not state this figure."
            for f in ("previous", "change", "p_value", "significant"):
                unknowns.add(f"figures.{key}.{f}", why)
            continue
        if r["change"] is None:
            unknowns.add(f"figures.{key}.change", "A stage mix has no single change: the test compares the whole mix.")
        if r["p_value"] is None:
            why = _reason(r["test"])
            unknowns.add(f"figures.{key}.p_value", why)
            unknowns.add(f"figures.{key}.significant", why)

    partner_names = {}
    if "partners.csv" in inputs and "name" in inputs["partners.csv"]:
        partner_names = dict(zip(inputs["partners.csv"]["partner_id"], inputs["partners.csv"]["name"]))
    candidates = sm.finding_candidates(changes, current, settings.revenue_benchmarks, partner_names)
    chosen = sm.findings(candidates)
    return SummaryModel(
        year=int(year), previous_year=int(previous_year), organisation=settings.organisation, confidence=settings.confidence,
        currency=settings.currency, source=source, sections=current, notebooks=notebooks, years=years, year_sources=year_sources, changes=changes,
        candidates=candidates, chosen=chosen, trends=sm.trend_table(years), stage_mix=sm.stage_mix_table(years), unknowns=unknowns,
    )


def build_from_folder(data_dir, year: int, settings: dict | Settings | None = None, metrics_dir: str | Path | None = None,
                      out_dir: str | Path | None = None, run_db: str | Path | None = None, engine: str | None = None,
                      engine_url: str | None = None) -> SummaryModel:
    """The summary from a data folder, this run's report figures (``metrics_dir``) and earlier builds (``out_dir``).

    This year's figures, in order of preference: the fragments in
    ``metrics_dir`` (the pipeline's case); ``<out_dir>/<year>/metrics.json``
    (JupyterLab after ``make report``); the reports built from the data
    (JupyterLab on a fresh clone). Earlier years: ``<out_dir>/<YEAR>/metrics.json``,
    else the data. ``run_db``, ``engine`` and ``engine_url`` come from the pipeline: its run database of
    validated inputs (:func:`.base.load_inputs`; the ledger is read from it, never parsed again) and the
    engine the reports built here run on (:func:`.base.report_engine`).
    """
    settings = resolve_settings(year, settings)
    with report_engine(engine, engine_url, INPUTS):
        inputs = load_inputs(data_dir, INPUTS["requires"], INPUTS["optional"], run_db)
        current, notebooks = sm.read_fragments(project_path(metrics_dir) if metrics_dir else None)
        source = "this run"
        if not current and out_dir:
            current, notebooks = sm.read_build(project_path(out_dir) / str(year) / "metrics.json")
            source = "build"
        earlier = sm.earlier_builds(project_path(out_dir), year) if out_dir else {}
        return build(inputs, settings, year, current or None, earlier, source=source, notebooks=notebooks)

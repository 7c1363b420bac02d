"""The executive summary's comparisons: every report's headline figures against last year, trends and findings.

The summary (``notebooks/00_summary.ipynb``, model :mod:`cxreport.reports.summary`)
runs after the other reports of a year. It computes no metric of its own: it
reads the headline sections of the report models (``model.headline()``, as
written to ``metrics.json``) of this year and of earlier years. What this
module adds is the comparison, from the raw figures the headlines carry
(standard deviations, counts, bases), never back-solved from rounded ones:

- :func:`change_table`: per headline figure, this year's value, last year's,
  the change and whether it is statistically significant, with the test the
  figure's type allows (see :func:`compare`);
- :func:`trend_table` and :func:`stage_mix_table`: the multi-year series;
- :func:`finding_candidates` and :func:`findings`: three to five findings in
  plain words, generated from the numbers and ranked by significance and size.

Sections and their reports (:data:`REPORTS`): ``survey`` (01_survey_scores),
``maturity`` (02_cloud_maturity), ``revenue`` (03_clv_churn), ``partners``
(04_partner_programme). A report skipped in a year has no section and is
simply not shown.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from scipy import stats as sps
from statsmodels.stats.proportion import proportions_ztest

from .stats import finite_or_none

# Short names of the reports for the headline table.
SHORT = {"survey": "Survey", "maturity": "Maturity", "revenue": "Revenue", "partners": "Partners"}
# section -> (notebook stem, title, report module of cxreport.reports)
REPORTS = {
    "survey": ("01_survey_scores", "Survey scores", "survey_scores"),
    "maturity": ("02_cloud_maturity", "Cloud maturity", "cloud_maturity"),
    "revenue": ("03_clv_churn", "Customer lifetime value and churn", "clv_churn"),
    "partners": ("04_partner_programme", "Partner programme", "partner_programme"),
}
SECTIONS = tuple(REPORTS)
# A change of a whole-ledger figure (no sampling test) of at least this relative size is worth a finding.
MATERIAL_CHANGE = 0.05
MIN_FINDINGS, MAX_FINDINGS = 3, 5
# The test column of a figure whose earlier year was built before the headlines carried raw counts.
OLDER_BUILD = "no test: figures from an older build"


# ---------------------------------------------------------------- reading figures
def get(section: dict | None, path: str, default=None):
    """The value at a dotted ``path`` of a nested headline (``get(m, "nps.score")``); ``default`` when absent or None."""
    node = section
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return default if node is None else node


def read_fragments(metrics_dir: str | Path | None) -> tuple[dict, dict]:
    """The other reports' headline sections of this run: ``(sections, notebooks)``.

    ``metrics_dir`` holds one ``<notebook>.json`` per report, each
    ``{"<section>": headline}`` as :meth:`cxreport.reports.base.ReportModel.write`
    writes it (what the pipeline hands the summary). Returns the sections by
    name and, per section, the notebook that wrote it. The summary's own
    section and unknown sections are ignored. A missing or empty folder gives
    two empty dicts.
    """
    sections, notebooks = {}, {}
    if not metrics_dir or not Path(metrics_dir).is_dir():
        return sections, notebooks
    for frag in sorted(Path(metrics_dir).glob("*.json")):
        for name, values in json.loads(frag.read_text(encoding="utf-8")).items():
            if name in SECTIONS and isinstance(values, dict):
                sections[name] = values
                notebooks[name] = frag.stem
    return sections, notebooks


def read_build(path: str | Path) -> tuple[dict, dict]:
    """A built year's ``metrics.json``: ``(sections, notebooks)`` as :func:`read_fragments`.

    Notebook names come from the run's report list (``run.reports``); a
    section whose report is not listed there is left out (its figures are not
    that build's). A missing file gives two empty dicts.
    """
    path = Path(path)
    if not path.is_file():
        return {}, {}
    data = json.loads(path.read_text(encoding="utf-8"))
    run = data.get("run") if isinstance(data.get("run"), dict) else {}
    built = {r.get("name") for r in run.get("reports") or [] if isinstance(r, dict)}
    sections = {k: v for k, v in data.items() if k in SECTIONS and isinstance(v, dict)}
    notebooks = {k: REPORTS[k][0] for k in sections if not built or REPORTS[k][0] in built}
    return {k: v for k, v in sections.items() if k in notebooks}, notebooks


def earlier_builds(out_dir: str | Path | None, year: int) -> dict[int, dict]:
    """Sections of every earlier year built in ``out_dir`` (``<out_dir>/<YEAR>/metrics.json``, YEAR < ``year``)."""
    out = {}
    if not out_dir or not Path(out_dir).is_dir():
        return out
    for d in Path(out_dir).iterdir():
        if d.is_dir() and d.name.isdigit() and int(d.name) < year:
            sections, _ = read_build(d / "metrics.json")
            if sections:
                out[int(d.name)] = sections
    return dict(sorted(out.items()))


# ---------------------------------------------------------------- comparisons
@dataclass(frozen=True)
class Measure:
    """A headline figure the summary compares: where it sits and how it may be tested.

    ``kind`` decides the test (:func:`compare`): "mean", "proportion",
    "nps", "distribution", or "census"/"model" (no sampling test possible).
    ``extract(section)`` returns the figure's fields (``value`` and the raw
    numbers the test needs: ``n`` and ``sd``; ``n`` and ``count``; ``counts``)
    or None when the section does not state the figure. A raw field the
    section lacks is None (an older build): the figure is then shown, untested.
    ``better`` is "higher", "lower" or None.
    """

    key: str
    section: str
    label: str
    kind: str
    unit: str
    better: str | None
    extract: Callable[[dict], dict | None]
    why_untested: str | None = None
    prose: str | None = None  # the figure as the subject of a sentence ("The Net Promoter Score"); default: label
    topic: str | None = None  # findings on the same topic compete for one place; default: key
    path: str | None = None  # the figure's dotted path in its section (where the report's own unknowns name it)


def _number(x) -> float | None:
    return finite_or_none(x, bools=False)  # a stored flag (significant: true) is not a figure


def _count(x) -> int | None:
    f = _number(x)
    return None if f is None else int(f)


def _field(path: str, **extra_paths) -> Callable[[dict], dict | None]:
    """An extractor: the figure at ``path`` as ``value``, plus each ``name=path`` of ``extra_paths`` as is."""
    def extract(section: dict) -> dict | None:
        value = _number(get(section, path))
        if value is None:
            return None
        return {"value": value, **{name: get(section, p) for name, p in extra_paths.items()}}
    return extract


def _csat(section: dict) -> dict | None:
    out = _field("csat.mean")(section)
    if out:
        out.update(n=_count(get(section, "csat.n")), sd=_number(get(section, "csat.sd")))
    return out


def _top2(section: dict) -> dict | None:
    out = _field("csat.top2_pct")(section)
    if out:
        out.update(n=_count(get(section, "csat.n")), count=_count(get(section, "csat.top2_count")))
    return out


def _nps_counts(section: dict) -> tuple[int, int, int] | None:
    counts = tuple(_count(get(section, f"nps.{c}")) for c in ("promoters", "passives", "detractors"))
    return None if any(c is None for c in counts) else counts


def _survey_nps(section: dict) -> dict | None:
    out = _field("nps.score", previous="nps.previous", previous_year="nps.previous_year",
                 p_value="nps.change_p_value", significant="nps.change_significant")(section)
    if out:
        out.update(n=_count(get(section, "nps.n")), counts=_nps_counts(section))
    return out


def _partner_nps(section: dict) -> dict | None:
    out = _field("nps.score")(section)
    if out:
        out.update(n=_count(get(section, "nps.n")), counts=_nps_counts(section))
    return out


def _csat_index(section: dict) -> dict | None:
    met, not_met = _count(get(section, "csat_index.met")), _count(get(section, "csat_index.not_met"))
    if met is None or not_met is None or met + not_met == 0:
        return None
    return {"value": 100.0 * met / (met + not_met), "n": met + not_met, "count": met}


def _stage_counts(section: dict) -> tuple[list[str], list[int], list[str], list[float | None]] | None:
    stages = get(section, "stages")
    if not stages:
        return None
    keys = sorted(stages, key=int)
    counts = [_count(stages[k].get("n")) for k in keys]
    if any(c is None for c in counts) or sum(counts) == 0:
        return None
    return keys, counts, [stages[k].get("name", k) for k in keys], [_number(stages[k].get("pct")) for k in keys]


def _top_stages(section: dict) -> dict | None:
    """Customers at stage 4 or 5 (Managed, Optimized) of those assessed, from the stage counts."""
    got = _stage_counts(section)
    if not got:
        return None
    keys, counts, _, _ = got
    n = sum(counts)
    top = sum(c for k, c in zip(keys, counts) if int(k) >= 4)
    return {"value": 100.0 * top / n, "n": n, "count": top}


def _stage_mix(section: dict) -> dict | None:
    got = _stage_counts(section)
    if not got:
        return None
    _, counts, names, pct = got
    if any(p is None for p in pct):
        return None
    return {"value": pct, "counts": counts, "names": names, "pct": pct, "n": sum(counts)}


def _moved_up(section: dict) -> dict | None:
    out = _field("movement.moved_up_pct")(section)
    if out:
        out.update(n=_count(get(section, "movement.n")), count=_count(get(section, "movement.moved_up")))
    return out


def _revenue_churn(section: dict) -> dict | None:
    """Annual logo churn with its counts: the starting book and the customers of it lost by December."""
    out = _field("annual_logo_churn_pct")(section)
    if out:
        n = _count(get(section, "customers_start"))
        churned = _count(get(section, "customers_churned"))
        retained = _count(get(section, "customers_retained"))
        if churned is None and retained is not None and n is not None:
            churned = n - retained
        out.update(n=n, count=churned)
    return out


CENSUS = "no test available: a whole-ledger figure (census), not a sample"
MEASURES: tuple[Measure, ...] = (
    Measure("csat", "survey", "CSAT, average (1-5)", "mean", "score2", "higher", _csat, prose="Average overall satisfaction", path="csat.mean"),
    Measure("top2", "survey", "CSAT, rated 4 or 5", "proportion", "pct", "higher", _top2,
            prose="The share of respondents rating satisfaction 4 or 5", path="csat.top2_pct"),
    Measure("nps", "survey", "Net Promoter Score", "nps", "score", "higher", _survey_nps, prose="The Net Promoter Score", path="nps.score"),
    Measure("stage_mix", "maturity", "Stage mix (stages 1-5)", "distribution", "mix", None, _stage_mix, topic="stage_mix", path="stages"),
    Measure("managed_plus", "maturity", "Managed or Optimized", "proportion", "pct", "higher", _top_stages,
            prose="The share of customers at the Managed or Optimized stage", topic="stage_mix", path="stages"),
    Measure("moved_up", "maturity", "Moved up a stage", "proportion", "pct", "higher", _moved_up,
            prose="The share of customers moving up a maturity stage", path="movement.moved_up_pct"),
    Measure("mrr", "revenue", "MRR, December", "census", "money", "higher", _field("mrr_end"), CENSUS,
            prose="Monthly recurring revenue in December", path="mrr_end"),
    Measure("nrr", "revenue", "Net revenue retention", "census", "pct", "higher", _field("nrr_pct"), CENSUS, path="nrr_pct"),
    Measure("grr", "revenue", "Gross revenue retention", "census", "pct", "higher", _field("grr_pct"), CENSUS, path="grr_pct"),
    Measure("churn", "revenue", "Logo churn, annual", "proportion", "pct", "lower", _revenue_churn,
            prose="Annual logo churn (customers lost in the year)", topic="churn", path="annual_logo_churn_pct"),
    Measure("recurring", "revenue", "Recurring share of revenue", "census", "pct", "higher", _field("recurring_share_pct"), CENSUS,
            prose="The recurring share of revenue", topic="recurring", path="recurring_share_pct"),
    Measure("clv", "revenue", "CLV of a new customer (sBG)", "model", "money", "higher", _field("clv_sbg"),
            "no test available: a model estimate without a standard error (model)", prose="The lifetime value of a new customer (sBG model)", path="clv_sbg"),
    Measure("partner_nps", "partners", "Partner-programme NPS", "nps", "score", "higher", _partner_nps,
            prose="The partner-programme NPS", path="nps.score"),
    Measure("csat_index", "partners", "Partners meeting CSAT index", "proportion", "pct", "higher", _csat_index,
            prose="The share of partners meeting the CSAT index", topic="csat_index", path="csat_index.met"),
    Measure("consumption", "partners", "Consumption value, December", "census", "money", "higher",
            _field("customer_success.consumption_value", previous="customer_success.consumption_value_prev_year"),
            "no test available: total usage of every customer (census), not a sample", prose="The monthly consumption value", path="customer_success.consumption_value"),
)


# What each test needs from both years' figures, and how to say it is missing.
_RAW = {"mean": (("n", "sd"), "standard deviation"), "proportion": (("n", "count"), "counts"),
        "nps": (("counts",), "promoter, passive and detractor counts"), "distribution": (("counts",), "stage counts")}


def compare(measure: Measure, now: dict, before: dict | None, confidence: float = 0.95, nps_method: str = "auto",
            before_source: str | None = None) -> dict:
    """Change of one figure since the previous year and its significance test, from the raw figures both years carry.

    By ``measure.kind``:

    - "mean" (CSAT): Welch's t-test from each year's mean, standard deviation
      and n (scipy ``ttest_ind_from_stats(equal_var=False)``).
    - "proportion" (shares of respondents, customers or partners): the
      two-proportion z-test (statsmodels ``proportions_ztest``, pooled
      variance) on each year's count and base.
    - "nps": the test the survey report carries itself (its
      ``change_p_value``, when it compares with the same previous figure);
      otherwise the NPS z-test of :func:`cxreport.survey.nps_change`, each
      year's standard error from its promoter, passive and detractor counts
      (:func:`cxreport.survey.nps_from_counts`, the reports' ``nps_ci_method``).
    - "distribution" (stage mix): chi-square test of homogeneity of the two
      years' stage counts (scipy ``chi2_contingency``); ``change`` is None and
      ``largest_shift`` names the stage whose share moved most.
    - "census"/"model": no sampling test (``test`` says why).

    Nothing is recovered from rounded figures: when a year lacks a raw field
    the test needs (a ``metrics.json`` built before the headlines carried
    them, ``before_source == "build"``), ``test`` is :data:`OLDER_BUILD`.

    Returns ``value``, ``previous``, ``change`` (points for percentages and
    scores), ``relative`` (change / |previous|), ``test``, ``p_value``,
    ``significant`` (p < 1 − confidence; None without a test). Without a
    previous figure everything but ``value`` is None and ``test`` says so.
    """
    alpha = 1 - confidence
    row = {"value": now.get("value"), "previous": None, "change": None, "relative": None,
           "test": None, "p_value": None, "significant": None}
    prev_value = before.get("value") if before else None
    if prev_value is None and _number(now.get("previous")) is not None:  # the section carries last year's figure itself
        prev_value, before = float(now["previous"]), {"value": float(now["previous"])}
    if prev_value is None:
        row["test"] = "no previous-year figure"
        return row
    row["previous"] = prev_value
    if measure.kind != "distribution":
        row["change"] = row["value"] - prev_value
        row["relative"] = row["change"] / abs(prev_value) if prev_value else None
    if measure.kind in ("census", "model"):
        row["test"] = measure.why_untested or "no test available"
        return row
    names = {"mean": "Welch t-test", "proportion": "two-proportion z-test", "nps": "NPS z-test",
             "distribution": "chi-square test of homogeneity"}
    row["test"] = names[measure.kind]
    if measure.kind == "distribution":
        shifts = np.array(now["pct"]) - np.array(before["pct"])
        k = int(np.argmax(np.abs(shifts)))
        row["largest_shift"] = {"name": now["names"][k], "previous": before["pct"][k], "value": now["pct"][k]}
    p = None
    if measure.kind == "nps" and now.get("p_value") is not None and _number(now.get("previous")) is not None \
            and abs(float(now["previous"]) - prev_value) < 1e-9:
        p = float(now["p_value"])  # the survey report's own test of the same two years
    else:
        fields, what = _RAW[measure.kind]
        if any(before.get(f) is None for f in fields):
            row["test"] = OLDER_BUILD if before_source == "build" else f"no test available: last year's figures carry no {what}"
            return row
        if any(now.get(f) is None for f in fields):
            row["test"] = f"no test available: this year's figures carry no {what}"
            return row
        p = _p_value(measure.kind, now, before, alpha, confidence, nps_method)
    if p is None or not math.isfinite(p):
        row["test"] = f"no test available ({row['test']} undefined: no variation in the answers)"
        return row
    row["p_value"], row["significant"] = p, bool(p < alpha)
    return row


def _p_value(kind: str, now: dict, before: dict, alpha: float, confidence: float, nps_method: str) -> float | None:
    """The two-sided p-value of the change (see :func:`compare`); None when the test is undefined (no variation)."""
    if kind == "mean":
        if now["n"] < 2 or before["n"] < 2 or (now["sd"] == 0 and before["sd"] == 0):
            return None
        return float(sps.ttest_ind_from_stats(now["value"], now["sd"], now["n"], before["value"], before["sd"], before["n"],
                                              equal_var=False).pvalue)
    if kind == "proportion":
        n1, n0, c1, c0 = now["n"], before["n"], now["count"], before["count"]
        if n1 <= 0 or n0 <= 0 or not 0 < c1 + c0 < n1 + n0:  # no variation: the test is undefined
            return None
        return float(proportions_ztest([c1, c0], [n1, n0])[1])
    if kind == "nps":
        from .survey import nps_change, nps_from_counts

        a, b = nps_from_counts(*now["counts"], confidence, nps_method), nps_from_counts(*before["counts"], confidence, nps_method)
        if not (math.isfinite(a.se) and math.isfinite(b.se)) or a.se + b.se == 0:
            return None
        return float(nps_change(a, b, alpha)["p_value"])
    table = np.array([now["counts"], before["counts"]], dtype=float)  # distribution
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or len(now["counts"]) != len(before["counts"]):
        return None
    return float(sps.chi2_contingency(table, correction=False)[1])


TABLE_COLUMNS = ["key", "section", "label", "prose", "topic", "kind", "unit", "better", "value", "previous", "change", "relative",
                 "test", "p_value", "significant", "largest_shift", "year", "previous_year"]


def change_table(current: dict, previous: dict | None, year: int, previous_year: int | None = None,
                 confidence: float = 0.95, nps_method: str = "auto", previous_source: str | dict | None = None,
                 measures: tuple[Measure, ...] = MEASURES) -> pd.DataFrame:
    """One row per headline figure present this year: value, previous year's, change and its test (:func:`compare`).

    ``current`` and ``previous`` are the two years' sections;
    ``previous_source`` says where last year's came from ("build" for a
    ``metrics.json``, "data"), one for all sections or a dict by section. Figures of a report absent this year, or that the
    report does not state, are left out. Columns: :data:`TABLE_COLUMNS`
    (``largest_shift`` for the stage mix only). Missing values are None
    (object columns), never NaN.
    """
    previous_year = year - 1 if previous_year is None else previous_year
    rows = []
    for m in measures:
        if m.section not in current:
            continue
        now = m.extract(current[m.section])
        if now is None:
            continue
        before = m.extract(previous[m.section]) if previous and m.section in previous else None
        rows.append({"key": m.key, "section": m.section, "label": m.label, "prose": m.prose or m.label, "topic": m.topic or m.key,
                     "kind": m.kind, "unit": m.unit, "better": m.better, "largest_shift": None,
                     **compare(m, now, before, confidence, nps_method,
                               previous_source.get(m.section) if isinstance(previous_source, dict) else previous_source),
                     "year": int(year), "previous_year": int(previous_year)})
    return pd.DataFrame(rows, columns=TABLE_COLUMNS, dtype=object)


# ---------------------------------------------------------------- wording
def fmt_value(value, unit: str) -> str:
    """A figure for the table: ``pct`` → "95.7%", ``score`` → "57.1", ``score2`` → "4.40", ``money`` → "2,734,656", ``mix`` → "21/24/17/27/11%"."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if unit == "mix":
        return "/".join(f"{v:.0f}" for v in value) + "%"
    if unit == "pct":
        return f"{value:.1f}%"
    if unit == "score2":
        return f"{value:.2f}"
    if unit == "money":
        return f"{value:,.0f}"
    return f"{value:.1f}"


def fmt_change(change, relative, unit: str) -> str:
    """A change for the table: points for percentages and scores ("+3.0 pts", "+0.12"), percent for money ("+16.8%")."""
    if change is None or (isinstance(change, float) and not math.isfinite(change)):
        return "–"
    if unit == "money":
        return "–" if relative is None else f"{100 * relative:+.1f}%"
    if unit == "pct":
        return f"{change:+.1f} pts"
    if unit == "score2":
        return f"{change:+.2f}"
    return f"{change:+.1f}"


def fmt_p(p: float) -> str:
    """A p-value for prose: "p < 0.001" or "p = 0.04"."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"


def verdict(row) -> str:
    """The table's significance column, short: "yes (p < 0.001)", "no (p = 0.78)", "no test: census", "no test: model",
    "no test: older build", "no test", or "–" without a previous figure.

    The full test name and reason stay in the row's ``test`` (and the CSV table).
    """
    if row["significant"] is None:
        test = row["test"] or ""
        if test.startswith("no previous"):
            return "–"
        if test == OLDER_BUILD:
            return "no test: older build"
        for word in ("census", "model"):
            if f"({word})" in test:
                return f"no test: {word}"
        return "no test"
    return f"{'yes' if row['significant'] else 'no'} ({fmt_p(row['p_value'])})"


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """The change table as a reader sees it: report, measure, the two years' figures, change, significance."""
    if table.empty:
        return pd.DataFrame(columns=["Report", "Measure", "This year", "Last year", "Change", "Significant?"])
    year, prev = int(table["year"].iloc[0]), int(table["previous_year"].iloc[0])
    return pd.DataFrame({
        "Report": table["section"].map(SHORT),
        "Measure": table["label"],
        str(year): [fmt_value(v, u) for v, u in zip(table["value"], table["unit"])],
        str(prev): [fmt_value(v, u) for v, u in zip(table["previous"], table["unit"])],
        "Change": [fmt_change(c, r, u) for c, r, u in zip(table["change"], table["relative"], table["unit"])],
        "Significant?": [verdict(r) for _, r in table.iterrows()],
    })


def method_note(table: pd.DataFrame, confidence: float = 0.95) -> str:
    """How to read the significance column, from the tests the table actually used.

    Names each test with the figures it was applied to, and the figures
    without a test with the reason (census, model, or last year's figures
    from an older build). Empty for an empty table.
    """
    if table.empty:
        return ""
    prev = int(table["previous_year"].iloc[0])
    tested = table[table["significant"].notna()]
    parts = [f"{test} ({', '.join(g['label'])})" for test, g in tested.groupby("test", sort=False)]
    text = f"Significant: a test of the change since {prev} gives p < {1 - confidence:.2g}" + (f"; tests: {'; '.join(parts)}." if parts else ".")
    for word, why in (("census", "cover every customer or partner, not a sample, so no sampling test applies"),
                      ("model", "is a model estimate without a standard error, so no test is available")):
        rows = table[table["test"].fillna("").str.contains(f"({word})", regex=False)]
        if len(rows):
            text += f" {', '.join(rows['label'])} {why if len(rows) == 1 else why.replace('is a', 'are').replace('estimate', 'estimates')}."
    older = table[table["test"] == OLDER_BUILD]
    if len(older):
        text += (f" {', '.join(older['label'])}: the {prev} figures come from a build made before the reports stated the counts "
                 "and spreads a test needs, so no test is shown.")
    return text


def _direction(row) -> tuple[str, str]:
    """("rose", "an improvement") style words for a row's change and whether it is good news."""
    up = row["change"] > 0
    moved = "rose" if up else "fell"
    if row["better"] is None or row["change"] == 0:
        return moved, ""
    good = up == (row["better"] == "higher")
    return moved, "an improvement" if good else "a deterioration"


def finding_candidates(table: pd.DataFrame, sections: dict, benchmarks=None,
                       partner_names: dict | None = None) -> pd.DataFrame:
    """Every finding the figures support, with a rank: columns ``key``, ``topic``, ``tier``, ``strength``, ``text``.

    Tiers (lower is more important), and the strength that orders a tier:

    1. statistically significant: a significant year-over-year change
       (strength −log10 p), a stage mix that differs from IDC's benchmark
       (−log10 p of the report's chi-square), partners outside the NPS funnel
       limits (−log10 of the limit's two-sided tail: 2.7 for 99.8%, 1.3 for 95%);
    2. material facts without a sampling test: a whole-ledger change of at
       least :data:`MATERIAL_CHANGE` (strength |relative change|), a gap to a
       published benchmark (strength |ours / benchmark − 1|), partners short
       of the CSAT index (strength: share of partners);
    3. reassurance: a tested change that is not significant (strength
       −log10 p), a smaller whole-ledger change, a stage mix in line with the
       benchmark.

    ``benchmarks`` is the setting ``revenue_benchmarks``
    (:class:`cxreport.settings.RevenueBenchmarks`: recurring share median and
    top quartile, best annual logo churn; None: no benchmark findings); ``partner_names``
    (partner id -> name) names flagged partners. Candidates about the same
    ``topic`` (e.g. a change in churn and churn against the benchmark)
    compete for one place in :func:`findings`. Every sentence is built from
    the figures; none is written for a particular data set.
    """
    rows = []
    year = int(table["year"].iloc[0]) if len(table) else None
    prev = int(table["previous_year"].iloc[0]) if len(table) else None

    def add(key, tier, strength, text, topic=None):
        rows.append({"key": key, "topic": topic or key, "tier": tier, "strength": float(strength), "text": text})

    for _, r in table.iterrows():
        if r["previous"] is None or (r["kind"] != "distribution" and r["change"] is None):
            continue
        label, subject, topic = r["label"], r["prose"], r["topic"]
        if r["kind"] == "distribution":
            if r["significant"] is None:
                continue
            s = r["largest_shift"]
            if r["significant"]:
                add(r["key"], 1, -math.log10(max(r["p_value"], 1e-16)),
                    f"The {label.lower()} changed significantly since {prev} ({fmt_p(r['p_value'])}): the largest shift is "
                    f"{s['name']}, from {s['previous']:.1f}% to {s['value']:.1f}% of customers.", topic)
            else:
                add(r["key"], 3, -math.log10(max(r["p_value"], 1e-16)),
                    f"The {label.lower()} is stable: the shifts since {prev} (at most {abs(s['value'] - s['previous']):.1f} points, "
                    f"{s['name']}) are within chance ({fmt_p(r['p_value'])}).", topic)
            continue
        now, before = fmt_value(r["value"], r["unit"]), fmt_value(r["previous"], r["unit"])
        change = fmt_change(r["change"], r["relative"], r["unit"])
        if r["change"] == 0:
            continue
        moved, judgement = _direction(r)
        judged = f", {judgement}" if judgement else ""
        if r["significant"] is True:
            add(r["key"], 1, -math.log10(max(r["p_value"], 1e-16)),
                f"{subject} {moved} from {before} in {prev} to {now} in {year} ({change}){judged}; "
                f"the change is statistically significant ({fmt_p(r['p_value'])}).", topic)
        elif r["significant"] is False:
            add(r["key"], 3, -math.log10(max(r["p_value"], 1e-16)),
                f"{subject} is {now} ({before} in {prev}): the change of {change} is within what chance alone "
                f"produces ({fmt_p(r['p_value'])}), so read it as stable.", topic)
        elif r["relative"] is not None:
            rel = abs(r["relative"])
            add(r["key"], 2 if rel >= MATERIAL_CHANGE else 3, rel,
                f"{subject} {moved} from {before} in {prev} to {now} in {year} ({change}){judged}.", topic)

    rev = sections.get("revenue", {})
    b = benchmarks
    share = get(rev, "recurring_share_pct")
    if share is not None and b is not None:
        top_q, median = b.recurring_share_top_quartile_pct, b.recurring_share_median_pct
        if share > top_q:
            words, ref = f"above the {top_q:g}% that marks the top quartile of partners", top_q
        elif share > median:
            words, ref = f"above the {median:g}% median of partners but short of the {top_q:g}% top quartile", top_q
        else:
            words, ref = f"at or below the {median:g}% median of partners", median
        add("recurring_benchmark", 2, abs(share / ref - 1), f"Recurring revenue is {share:.1f}% of {year} revenue, {words} (IDC benchmark).", "recurring")
    churn = get(rev, "annual_logo_churn_pct")
    best = b.best_annual_logo_churn_pct if b is not None else None
    if churn is not None and best:
        words = (f"{churn / best:.1f} times the under-{best:g}% of the best partners" if churn > best
                 else f"within the under-{best:g}% of the best partners")
        add("churn_benchmark", 2, abs(churn / best - 1), f"{churn:.1f}% of the customers active at the start of {year} were lost by its end, {words} (IDC benchmark).", "churn")

    mat = sections.get("maturity", {})
    fit_p = get(mat, "fit.p_value")
    if fit_p is not None and get(mat, "stages"):
        stages = get(mat, "stages")
        gaps = {v["name"]: (v["pct"] - v["benchmark_pct"], v["pct"], v["benchmark_pct"]) for v in stages.values() if v.get("pct") is not None}
        name, (gap, ours, bench) = max(gaps.items(), key=lambda kv: abs(kv[1][0]))
        if get(mat, "fit.significant"):
            add("maturity_fit", 1, -math.log10(max(fit_p, 1e-16)),
                f"Our customers' cloud maturity differs from IDC's benchmark mix ({fmt_p(fit_p)}): {name} is "
                f"{'over' if gap > 0 else 'under'}-represented ({ours:.1f}% against {bench:.1f}%).")
        else:
            add("maturity_fit", 3, -math.log10(max(fit_p, 1e-16)),
                f"Our customers' cloud-maturity mix is in line with IDC's benchmark ({fmt_p(fit_p)}); the largest gap is "
                f"{name} ({ours:.1f}% against {bench:.1f}%).")

    part = sections.get("partners", {})
    names = partner_names or {}
    for side in ("below", "above"):
        strict, loose = get(part, f"funnel.{side}_998", []), get(part, f"funnel.{side}_95", [])
        ids = list(strict) + list(loose)
        if ids:
            level = "99.8%" if strict else "95%"
            tail = 0.002 if strict else 0.05
            one = len(ids) == 1
            who = ", ".join(f"{names[i]} ({i})" if i in names else str(i) for i in ids)
            action = ("further below the programme than chance explains; " + ("review it." if one else "review them.")) if side == "below" \
                else ("further above the programme than chance explains: " + ("a model" if one else "models") + " to learn from.")
            add(f"funnel_{side}", 1, -math.log10(tail),
                f"{'Partner' if one else f'{len(ids)} partners:'} {who} {'scores' if one else 'score'} {side} the {level} control limit "
                f"of the NPS funnel plot, {action}")
    met, not_met = get(part, "csat_index.met"), get(part, "csat_index.not_met")
    if met is not None and not_met:
        total = met + not_met
        q4 = get(part, "csat_index.q4_share_pct")
        add("csat_index_short", 2, not_met / total,
            f"{not_met} of {total} partners did not reach the CSAT-index minimum of answers in {year}"
            + (f"; {q4:.1f}% of the year's answers arrived in the fourth quarter." if q4 is not None else "."))
    return pd.DataFrame(rows, columns=["key", "topic", "tier", "strength", "text"])


def findings(candidates: pd.DataFrame, least: int = MIN_FINDINGS, most: int = MAX_FINDINGS) -> pd.DataFrame:
    """The findings to show: candidates ranked by tier, then strength (descending), at most ``most``.

    Tier-3 candidates (reassurances) are only used to reach ``least``
    findings. One finding per ``topic`` (the best-ranked). Fewer than
    ``least`` come back only when there are not enough candidates.
    """
    if candidates.empty:
        return candidates
    ranked = candidates.sort_values(["tier", "strength"], ascending=[True, False], kind="stable").drop_duplicates("topic")
    main = ranked[ranked["tier"] < 3].head(most)
    extra = ranked[ranked["tier"] >= 3].head(max(0, min(least, most) - len(main)))
    return pd.concat([main, extra]).reset_index(drop=True)


# ---------------------------------------------------------------- trends
TRENDS = (  # key, section, path, label, unit, interval path (a sample estimate's 95% CI; None for a census figure)
    ("nps", "survey", "nps.score", "Net Promoter Score (survey)", "score", "nps.ci95"),
    ("partner_nps", "partners", "nps.score", "Partner-programme NPS", "score", "nps.ci95"),
    ("csat", "survey", "csat.mean", "Overall satisfaction (1-5)", "score2", "csat.ci95"),
    # Churn, NRR and recurring share come from the whole ledger, not a sample: no interval.
    ("churn", "revenue", "annual_logo_churn_pct", "Customers lost in the year (%)", "pct", None),
    ("nrr", "revenue", "nrr_pct", "Net revenue retention (%)", "pct", None),
    ("recurring", "revenue", "recurring_share_pct", "Recurring share of revenue (%)", "pct", None),
)


def _interval(sections: dict, section: str, path: str | None) -> tuple[float | None, float | None]:
    """The ``[low, high]`` interval stored at ``path`` of a year's metrics section, or (None, None) when unknown."""
    pair = get(sections.get(section), path) if path else None
    if not isinstance(pair, (list, tuple)) or len(pair) != 2:
        return None, None
    low, high = (finite_or_none(v) for v in pair)
    return (low, high) if low is not None and high is not None else (None, None)


def trend_table(years: dict[int, dict]) -> pd.DataFrame:
    """The multi-year series in long form, one row per year and series with a figure.

    Columns ``year``, ``key``, ``label``, ``unit``, ``value``, and ``ci_low``/``ci_high``: the
    figure's 95% confidence interval as its report stored it (``ci95`` beside the score) for the
    survey estimates (NPS, CSAT), None for figures counted over the whole ledger or when unknown.
    Years without the figure are left out, so a series covers only the years with data.
    """
    rows = []
    for year, sections in sorted(years.items()):
        for key, section, path, label, unit, interval in TRENDS:
            v = finite_or_none(get(sections.get(section), path))
            if v is not None:
                low, high = _interval(sections, section, interval)
                rows.append({"year": int(year), "key": key, "label": label, "unit": unit, "value": v,
                             "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows, columns=["year", "key", "label", "unit", "value", "ci_low", "ci_high"])


def stage_mix_table(years: dict[int, dict]) -> pd.DataFrame:
    """Share of assessed customers per maturity stage and year: ``year``, ``stage``, ``name``, ``n``, ``pct``."""
    rows = []
    for year, sections in sorted(years.items()):
        for k, v in (get(sections.get("maturity"), "stages") or {}).items():
            rows.append({"year": int(year), "stage": int(k), "name": v.get("name", k), "n": int(v["n"]), "pct": v.get("pct")})
    return pd.DataFrame(rows, columns=["year", "stage", "name", "n", "pct"])


# ---------------------------------------------------------------- links
def report_links(notebooks: dict, sections_shown) -> list[tuple[str, str]]:
    """(title, relative href) of each detailed report shown, in report order, plus the year index for the scorecards."""
    links = [(REPORTS[s][1], f"{notebooks.get(s, REPORTS[s][0])}.html") for s in SECTIONS if s in sections_shown]
    if "partners" in sections_shown:
        links.append(("Partner scorecards (one per partner, in the year's index)", "index.html"))
    return links


"""The executive summary: every report's headline figures, their change since last year, trends and findings.

The summary (``notebooks/00_summary.ipynb``) runs after the other reports of
a year (notebook metadata ``"runs": "last"``). It computes no metric of its
own: it reads the headline figures the other reports wrote
(:func:`cxreport.reporting.write_metrics`, one ``{"<section>": {...}}``
fragment per report) and earlier years' ``OUT/<YEAR>/metrics.json``, or,
where those are missing, rebuilds the same figures from the data with each
domain's own headline functions (:func:`figures_from_data`). What this
module adds is the comparison:

- :func:`change_table`: per headline figure, this year's value, last year's,
  the change and whether it is statistically significant, with the test the
  figure's type allows (see :func:`compare`);
- :func:`trend_table` and :func:`stage_mix_table`: the multi-year series;
- :func:`findings`: three to five findings in plain words, generated from
  the numbers and ranked by significance and size (:func:`finding_candidates`).

Sections and their reports (:data:`REPORTS`): ``survey``
(01_survey_scores), ``maturity`` (02_cloud_maturity), ``revenue``
(03_clv_churn), ``partners`` (04_partner_programme). A report skipped in a
year has no section and is simply not shown.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import numpy as np
import pandas as pd
from scipy import stats as sps
from statsmodels.stats.proportion import proportions_ztest

# section -> (notebook stem, title); the notebooks' own names come from their fragments when available.
# Short names of the reports for the headline table.
SHORT = {"survey": "Survey", "maturity": "Maturity", "revenue": "Revenue", "partners": "Partners"}
REPORTS = {
    "survey": ("01_survey_scores", "Survey scores"),
    "maturity": ("02_cloud_maturity", "Cloud maturity"),
    "revenue": ("03_clv_churn", "Customer lifetime value and churn"),
    "partners": ("04_partner_programme", "Partner programme"),
}
SECTIONS = tuple(REPORTS)
# A change of a whole-ledger figure (no sampling test) of at least this relative size is worth a finding.
MATERIAL_CHANGE = 0.05
MIN_FINDINGS, MAX_FINDINGS = 3, 5


# ---------------------------------------------------------------- reading figures
def get(section: dict | None, path: str, default=None):
    """The value at a dotted ``path`` of a nested dict (``get(m, "nps.score")``); ``default`` when absent or None."""
    node = section
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return default if node is None else node


def read_fragments(metrics_dir: str | Path | None) -> tuple[dict, dict]:
    """The other reports' headline figures of this run: ``(sections, notebooks)``.

    ``metrics_dir`` holds one ``<notebook>.json`` per report, each
    ``{"<section>": {...}}`` (what the pipeline hands the summary). Returns
    the sections by name and, per section, the notebook that wrote it. The
    summary's own section and unknown sections are ignored. A missing or
    empty folder gives two empty dicts.
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
    section whose report is not listed gets its default notebook from
    :data:`REPORTS`. A missing file gives two empty dicts.
    """
    path = Path(path)
    if not path.is_file():
        return {}, {}
    data = json.loads(path.read_text(encoding="utf-8"))
    built = {r.get("name") for r in get(data, "run", {}).get("reports", [])}
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


def current_figures(year: int, metrics_dir: str | Path | None, out_dir: str | Path | None,
                    rebuild: Callable[[], dict] | None = None) -> dict:
    """This year's headline figures and where they come from, in order of preference:

    1. ``metrics_dir``: the fragments of this run (the pipeline's case);
    2. ``<out_dir>/<year>/metrics.json``: the year's last build (JupyterLab
       after ``make report``);
    3. ``rebuild()``: the figures computed from the data (JupyterLab on a
       fresh clone), a dict of sections.

    Returns ``{"sections", "notebooks", "source"}`` with ``source`` one of
    "this run", "build", "data" (or "none" when nothing was found).
    """
    sections, notebooks = read_fragments(metrics_dir)
    if sections:
        return {"sections": sections, "notebooks": notebooks, "source": "this run"}
    if out_dir:
        sections, notebooks = read_build(Path(out_dir) / str(year) / "metrics.json")
        if sections:
            return {"sections": sections, "notebooks": notebooks, "source": "build"}
    sections = rebuild() if rebuild else {}
    sections = {k: v for k, v in (sections or {}).items() if k in SECTIONS}
    return {"sections": sections, "notebooks": {k: REPORTS[k][0] for k in sections}, "source": "data" if sections else "none"}


def merge_years(*layers: dict[int, dict]) -> dict[int, dict]:
    """Sections per year from several sources; a later layer's section replaces an earlier one's for that year.

    Used as ``merge_years(from_data, from_builds, {year: current})``: the
    figures published in a year's report win over those recomputed from the
    data, and this run's figures win over both.
    """
    out: dict[int, dict] = {}
    for layer in layers:
        for year, sections in (layer or {}).items():
            out.setdefault(int(year), {}).update(sections)
    return dict(sorted(out.items()))


# ---------------------------------------------------------------- comparisons
@dataclass(frozen=True)
class Measure:
    """A headline figure the summary compares: where it sits and how it may be tested.

    ``kind`` decides the test (:func:`compare`): "mean", "proportion",
    "nps", "distribution", or "census"/"model" (no sampling test possible).
    ``extract(section)`` returns the figure's fields (``value`` and what the
    test needs: ``n``, ``ci95``, ``count``, ``counts``...) or None when the
    section lacks it. ``better`` is "higher", "lower" or None.
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


def _field(path: str, **extra_paths) -> Callable[[dict], dict | None]:
    def extract(section: dict) -> dict | None:
        value = get(section, path)
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return None
        out = {"value": float(value)}
        for name, p in extra_paths.items():
            out[name] = get(section, p)
        return out
    return extract


def _csat_index(section: dict) -> dict | None:
    met, not_met = get(section, "csat_index.met"), get(section, "csat_index.not_met")
    if met is None or not_met is None or met + not_met == 0:
        return None
    n = int(met + not_met)
    return {"value": 100.0 * met / n, "n": n, "count": int(met)}


def _top_stages(section: dict) -> dict | None:
    stages = get(section, "stages")
    if not stages:
        return None
    counts = {int(k): int(v["n"]) for k, v in stages.items()}
    n = sum(counts.values())
    if n == 0:
        return None
    top = counts.get(4, 0) + counts.get(5, 0)
    return {"value": 100.0 * top / n, "n": n, "count": top}


def _stage_mix(section: dict) -> dict | None:
    stages = get(section, "stages")
    if not stages:
        return None
    keys = sorted(stages, key=int)
    counts = [int(stages[k]["n"]) for k in keys]
    if sum(counts) == 0:
        return None
    return {"value": None, "counts": counts, "names": [stages[k].get("name", k) for k in keys],
            "pct": [100.0 * c / sum(counts) for c in counts], "n": sum(counts)}


def _survey_nps(section: dict) -> dict | None:
    out = _field("nps.score", n="nps.n", ci95="nps.ci95", previous="nps.previous", previous_year="nps.previous_year",
                 p_value="nps.change_p_value", significant="nps.change_significant")(section)
    return out


def _revenue_churn(section: dict) -> dict | None:
    out = _field("annual_logo_churn_pct", n="customers_start")(section)
    if out and out["n"]:
        out["count"] = int(round(out["value"] * out["n"] / 100))
    return out


CENSUS = "no test available: a whole-ledger figure (census), not a sample"
MEASURES: tuple[Measure, ...] = (
    Measure("csat", "survey", "CSAT, average (1-5)", "mean", "score2", "higher", _field("csat.mean", n="csat.n", ci95="csat.ci95"),
            prose="Average overall satisfaction"),
    Measure("top2", "survey", "CSAT, rated 4 or 5", "proportion", "pct", "higher", _field("csat.top2_pct", n="csat.n"),
            prose="The share of respondents rating satisfaction 4 or 5"),
    Measure("nps", "survey", "Net Promoter Score", "nps", "score", "higher", _survey_nps, prose="The Net Promoter Score"),
    Measure("stage_mix", "maturity", "Stage mix (stages 1-5)", "distribution", "mix", None, _stage_mix, topic="stage_mix"),
    Measure("managed_plus", "maturity", "Managed or Optimized", "proportion", "pct", "higher", _top_stages,
            prose="The share of customers at the Managed or Optimized stage", topic="stage_mix"),
    Measure("moved_up", "maturity", "Moved up a stage", "proportion", "pct", "higher",
            _field("movement.moved_up_pct", n="movement.n"), prose="The share of customers moving up a maturity stage"),
    Measure("mrr", "revenue", "MRR, December", "census", "money", "higher", _field("mrr_end"), CENSUS,
            prose="Monthly recurring revenue in December"),
    Measure("nrr", "revenue", "Net revenue retention", "census", "pct", "higher", _field("nrr_pct"), CENSUS),
    Measure("grr", "revenue", "Gross revenue retention", "census", "pct", "higher", _field("grr_pct"), CENSUS),
    Measure("churn", "revenue", "Logo churn, annual", "proportion", "pct", "lower", _revenue_churn,
            prose="Annual logo churn (customers lost in the year)", topic="churn"),
    Measure("recurring", "revenue", "Recurring share of revenue", "census", "pct", "higher", _field("recurring_share_pct"), CENSUS,
            prose="The recurring share of revenue", topic="recurring"),
    Measure("clv", "revenue", "CLV of a new customer (sBG)", "model", "money", "higher", _field("clv_sbg"),
            "no test available: a model estimate without a standard error (model)", prose="The lifetime value of a new customer (sBG model)"),
    Measure("partner_nps", "partners", "Partner-programme NPS", "nps", "score", "higher", _field("nps.score", n="nps.n", ci95="nps.ci95"),
            prose="The partner-programme NPS"),
    Measure("csat_index", "partners", "Partners meeting CSAT index", "proportion", "pct", "higher", _csat_index,
            prose="The share of partners meeting the CSAT index", topic="csat_index"),
    Measure("consumption", "partners", "Consumption value, December", "census", "money", "higher",
            _field("customer_success.consumption_value", previous="customer_success.consumption_value_prev_year"),
            "no test available: total usage of every customer (census), not a sample", prose="The monthly consumption value"),
)


def sd_from_ci(mean: float, ci: list[float], n: int, confidence: float = 0.95) -> float:
    """Standard deviation behind a Student-t interval ``mean ± t(1-α/2, n-1)·s/√n`` (:func:`cxreport.stats.mean_ci`).

    ``s = half-width · √n / t``. NaN when n < 2 or the interval is missing.
    """
    if not ci or n is None or n < 2 or ci[0] is None or ci[1] is None:
        return float("nan")
    half = (ci[1] - ci[0]) / 2
    return float(half * math.sqrt(n) / sps.t.ppf(0.5 + confidence / 2, n - 1))


def se_from_ci(ci: list[float], confidence: float = 0.95) -> float:
    """Standard error behind a normal interval ``estimate ± z·SE`` (the NPS intervals): ``SE = width / (2z)``.

    NaN when the interval is missing or was cut at ±100 (then it no longer
    tells the standard error).
    """
    if not ci or ci[0] is None or ci[1] is None or ci[0] <= -100 or ci[1] >= 100:
        return float("nan")
    return float((ci[1] - ci[0]) / (2 * sps.norm.ppf(0.5 + confidence / 2)))


def compare(measure: Measure, now: dict, before: dict | None, confidence: float = 0.95) -> dict:
    """Change of one figure since the previous year and its significance test.

    By ``measure.kind``:

    - "mean" (CSAT): Welch's t-test from each year's mean, n and standard
      deviation, the latter recovered from the reported t-interval
      (:func:`sd_from_ci`); scipy ``ttest_ind_from_stats(equal_var=False)``.
    - "proportion" (shares of respondents, customers or partners): the
      two-proportion z-test (statsmodels ``proportions_ztest``, pooled
      variance) on the counts, taken as given or recovered as
      ``round(pct · n / 100)``.
    - "nps": the test the survey figures carry (their own
      ``change_p_value`` for the same previous year), otherwise the NPS
      z-test of :func:`cxreport.survey.nps_change` with each year's standard
      error recovered from its interval (:func:`se_from_ci`).
    - "distribution" (stage mix): chi-square test of homogeneity of the two
      years' counts (scipy ``chi2_contingency``); ``change`` is None and
      ``largest_shift`` names the stage whose share moved most.
    - "census"/"model": no sampling test (``test`` says why).

    Returns ``value``, ``previous``, ``change`` (points for percentages and
    scores), ``relative`` (change / |previous|), ``test``, ``p_value``,
    ``significant`` (p < 1 − confidence; None without a test). Without a
    previous figure everything but ``value`` is None and ``test`` says so.
    """
    alpha = 1 - confidence
    row = {"value": now.get("value"), "previous": None, "change": None, "relative": None,
           "test": None, "p_value": None, "significant": None}
    if measure.kind == "distribution":
        row["value"] = now["pct"]
    prev_value = before.get("value") if before else None
    if measure.kind == "distribution" and before:
        prev_value = before["pct"]
    if prev_value is None and now.get("previous") is not None:  # the section carries last year's figure itself
        prev_value, before = float(now["previous"]), {"value": float(now["previous"])}
    if prev_value is None:
        row["test"] = "no previous-year figure"
        return row
    row["previous"] = prev_value
    if measure.kind != "distribution":
        row["change"] = row["value"] - prev_value
        row["relative"] = row["change"] / abs(prev_value) if prev_value else None
    p = None
    if measure.kind in ("census", "model"):
        row["test"] = measure.why_untested or "no test available"
        return row
    if measure.kind == "mean":
        sd1 = sd_from_ci(now["value"], now.get("ci95"), now.get("n"), confidence)
        sd0 = sd_from_ci(before["value"], before.get("ci95"), before.get("n"), confidence)
        if math.isfinite(sd1) and math.isfinite(sd0) and (sd1 > 0 or sd0 > 0):
            p = float(sps.ttest_ind_from_stats(now["value"], sd1, now["n"], before["value"], sd0, before["n"], equal_var=False).pvalue)
        row["test"] = "Welch t-test"
    elif measure.kind == "proportion":
        n1, n0 = now.get("n") or 0, before.get("n") or 0
        if n1 > 0 and n0 > 0:
            c1 = now["count"] if now.get("count") is not None else round(now["value"] * n1 / 100)
            c0 = before["count"] if before.get("count") is not None else round(before["value"] * n0 / 100)
            if 0 < c1 + c0 < n1 + n0:  # some variation, else the test is undefined
                p = float(proportions_ztest([c1, c0], [n1, n0])[1])
        row["test"] = "two-proportion z-test"
    elif measure.kind == "nps":
        from .survey import nps_change

        if now.get("p_value") is not None and now.get("previous") is not None and abs(float(now["previous"]) - prev_value) < 0.05:
            p = float(now["p_value"])
        else:
            se1, se0 = se_from_ci(now.get("ci95"), confidence), se_from_ci(before.get("ci95"), confidence)
            if math.isfinite(se1) and math.isfinite(se0) and se1 + se0 > 0:
                p = float(nps_change(SimpleNamespace(score=now["value"], se=se1), SimpleNamespace(score=prev_value, se=se0), alpha)["p_value"])
        row["test"] = "NPS z-test"
    elif measure.kind == "distribution":
        table = np.array([now["counts"], before["counts"]], dtype=float)
        table = table[:, table.sum(axis=0) > 0]
        if table.shape[1] > 1:
            p = float(sps.chi2_contingency(table, correction=False)[1])
        shifts = np.array(now["pct"]) - np.array(before["pct"])
        k = int(np.argmax(np.abs(shifts)))
        row["largest_shift"] = {"name": now["names"][k], "previous": before["pct"][k], "value": now["pct"][k]}
        row["test"] = "chi-square test of homogeneity"
    if p is None or not math.isfinite(p):
        row["test"] = f"no test available ({row['test']} undefined: no variation or no interval)"
        return row
    row["p_value"], row["significant"] = p, bool(p < alpha)
    return row


def change_table(current: dict, previous: dict | None, year: int, previous_year: int | None = None,
                 confidence: float = 0.95, measures: tuple[Measure, ...] = MEASURES) -> pd.DataFrame:
    """One row per headline figure present this year: value, previous year's, change and its test (:func:`compare`).

    ``current`` and ``previous`` are the two years' sections. Figures of a
    report absent this year are left out. Columns: ``key``, ``section``,
    ``label``, ``prose``, ``topic``, ``kind``, ``unit``, ``better``, ``value``, ``previous``,
    ``change``, ``relative``, ``test``, ``p_value``, ``significant``,
    ``largest_shift`` (stage mix only), ``year``, ``previous_year``.
    """
    previous_year = year - 1 if previous_year is None else previous_year
    rows = []
    for m in measures:
        if m.section not in current:
            continue
        now = m.extract(current[m.section])
        if now is None:
            continue
        before = m.extract((previous or {}).get(m.section, {})) if previous and m.section in previous else None
        row = {"key": m.key, "section": m.section, "label": m.label, "prose": m.prose or m.label, "topic": m.topic or m.key,
               "kind": m.kind, "unit": m.unit, "better": m.better, "largest_shift": None, **compare(m, now, before, confidence)}
        rows.append(row)
    cols = ["key", "section", "label", "prose", "topic", "kind", "unit", "better", "value", "previous", "change", "relative", "test",
            "p_value", "significant", "largest_shift"]
    out = pd.DataFrame(rows, columns=cols)
    out["year"], out["previous_year"] = int(year), int(previous_year)
    return out


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
    """The table's significance column, short: "yes (p < 0.001)", "no (p = 0.78)", "no test: census", "no test: model", "no test", or "–" without a previous figure.

    The full test name and reason stay in the row's ``test`` (and the CSV table).
    """
    if row["significant"] is None:
        test = row["test"] or ""
        if test.startswith("no previous"):
            return "–"
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
    without a test with the reason (census or model). Empty for an empty table.
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
    return text


def _direction(row) -> tuple[str, str]:
    """("rose", "an improvement") style words for a row's change and whether it is good news."""
    up = row["change"] > 0
    moved = "rose" if up else "fell"
    if row["better"] is None or row["change"] == 0:
        return moved, ""
    good = up == (row["better"] == "higher")
    return moved, "an improvement" if good else "a deterioration"


def finding_candidates(table: pd.DataFrame, sections: dict, benchmarks: dict | None = None,
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

    ``benchmarks`` are the report's ``revenue_benchmarks`` (recurring share
    median and top quartile, best annual logo churn); ``partner_names``
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
    b = benchmarks or {}
    share = get(rev, "recurring_share_pct")
    top_q, median = b.get("recurring_share_top_quartile_pct"), b.get("recurring_share_median_pct")
    if share is not None and top_q and median:
        if share > top_q:
            words, ref = f"above the {top_q:g}% that marks the top quartile of partners", top_q
        elif share > median:
            words, ref = f"above the {median:g}% median of partners but short of the {top_q:g}% top quartile", top_q
        else:
            words, ref = f"at or below the {median:g}% median of partners", median
        add("recurring_benchmark", 2, abs(share / ref - 1), f"Recurring revenue is {share:.1f}% of {year} revenue, {words} (IDC benchmark).", "recurring")
    churn, best = get(rev, "annual_logo_churn_pct"), b.get("best_annual_logo_churn_pct")
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
TRENDS = (  # key, section, path, label, unit
    ("nps", "survey", "nps.score", "Net Promoter Score (survey)", "score"),
    ("partner_nps", "partners", "nps.score", "Partner-programme NPS", "score"),
    ("csat", "survey", "csat.mean", "Overall satisfaction (1-5)", "score2"),
    ("churn", "revenue", "annual_logo_churn_pct", "Customers lost in the year (%)", "pct"),
    ("nrr", "revenue", "nrr_pct", "Net revenue retention (%)", "pct"),
    ("recurring", "revenue", "recurring_share_pct", "Recurring share of revenue (%)", "pct"),
)


def trend_table(years: dict[int, dict]) -> pd.DataFrame:
    """The multi-year series in long form: ``year``, ``key``, ``label``, ``unit``, ``value`` (one row per year and series with a figure)."""
    rows = []
    for year, sections in sorted(years.items()):
        for key, section, path, label, unit in TRENDS:
            v = get(sections.get(section), path)
            if v is not None and math.isfinite(float(v)):
                rows.append({"year": int(year), "key": key, "label": label, "unit": unit, "value": float(v)})
    return pd.DataFrame(rows, columns=["year", "key", "label", "unit", "value"])


def stage_mix_table(years: dict[int, dict]) -> pd.DataFrame:
    """Share of assessed customers per maturity stage and year: ``year``, ``stage``, ``name``, ``n``, ``pct``."""
    rows = []
    for year, sections in sorted(years.items()):
        for k, v in (get(sections.get("maturity"), "stages") or {}).items():
            rows.append({"year": int(year), "stage": int(k), "name": v.get("name", k), "n": int(v["n"]), "pct": v.get("pct")})
    return pd.DataFrame(rows, columns=["year", "stage", "name", "n", "pct"])


# ---------------------------------------------------------------- links and metrics
def report_links(notebooks: dict, sections_shown) -> list[tuple[str, str]]:
    """(title, relative href) of each detailed report shown, in report order, plus the year index for the scorecards."""
    links = [(REPORTS[s][1], f"{notebooks.get(s, REPORTS[s][0])}.html") for s in SECTIONS if s in sections_shown]
    if "partners" in sections_shown:
        links.append(("Partner scorecards (one per partner, in the year's index)", "index.html"))
    return links


def summary_metrics(table: pd.DataFrame, chosen: pd.DataFrame, source: str, years: list[int]) -> dict:
    """The ``summary`` section of ``metrics.json``: the compared figures, the findings and where the figures came from."""
    def clean(v):
        if isinstance(v, (float, np.floating)):
            return None if not math.isfinite(v) else round(float(v), 4)
        if isinstance(v, list):
            return [clean(x) for x in v]
        if isinstance(v, (np.bool_, bool)):
            return bool(v)
        return v

    figures = {r["key"]: {k: clean(r[k]) for k in ("value", "previous", "change", "test", "p_value", "significant")}
               for _, r in table.iterrows()}
    return {
        "year": int(table["year"].iloc[0]) if len(table) else None,
        "previous_year": int(table["previous_year"].iloc[0]) if len(table) else None,
        "source": source,
        "reports": sorted(set(table["section"])) if len(table) else [],
        "trend_years": [int(y) for y in years],
        "figures": figures,
        "findings": list(chosen["text"]) if len(chosen) else [],
    }


# ---------------------------------------------------------------- figures from the data
def figures_from_data(data_dir: str | Path, year: int, settings: dict | None = None) -> dict[int, dict]:
    """Every report's headline sections for ``year`` and the years before it that the data covers, from the data.

    Used when no build of a year exists (JupyterLab on a fresh clone) and for
    the multi-year trends. Each section comes from its domain's own headline
    functions, with the same calls as its report (nothing is re-implemented):
    survey :func:`cxreport.survey.survey_headline`/``survey_metrics`` per
    survey wave; maturity ``customer_stages``, ``stage_distribution``,
    ``goodness_of_fit``, ``movement_summary``, ``target_summary`` and
    ``maturity_metrics`` per assessment year; revenue
    ``revenue_headline``/``revenue_metrics`` per ledger year (CLV from
    :func:`cxreport.clv.clv_by_segment` for ``year`` and the year before);
    partners :func:`partner_section` per year with answers. A report whose
    input files are absent is left out. ``settings`` holds the reports'
    parameters (``confidence``, ``nps_ci_method``, ``min_group_size``, ``small_sample_threshold``,
    ``maturity_*``, ``clv_*``, the partner-programme settings); missing keys
    take the library defaults.
    """
    s = settings or {}
    data = Path(data_dir)
    out: dict[int, dict] = {}

    def put(y, section, values):
        out.setdefault(int(y), {})[section] = values

    conf, method, min_n = s.get("confidence", 0.95), s.get("nps_ci_method", "auto"), s.get("min_group_size", 5)
    if (data / "survey_responses.csv").is_file():
        from . import survey
        from .inputs import load_survey

        responses = load_survey(data / "survey_responses.csv")
        for y in sorted(int(v) for v in responses["survey_year"].dropna().unique() if v <= year):
            put(y, "survey", survey.survey_metrics(survey.survey_headline(
                responses, y, confidence=conf, nps_method=method, min_n=min_n,
                small_sample_threshold=s.get("small_sample_threshold", survey.SMALL_SAMPLE_WARNING_N))))
    if (data / "maturity_assessments.csv").is_file() and (data / "accounts.csv").is_file():
        from . import maturity

        inputs = maturity.load_inputs(data)
        st, dims, rubric = s.get("maturity_stages"), s.get("maturity_dimensions"), s.get("maturity_rubric")
        bench = maturity.stage_table(st)["benchmark"]
        for y in sorted(int(v) for v in inputs["assessments"]["assessed_on"].dt.year.unique() if v <= year):
            placed = maturity.customer_stages(inputs["assessments"], y, dims, rubric, st, keep_unstaged=True)
            customers = placed[placed["stage"].notna()].reset_index(drop=True)
            if customers.empty:
                continue
            previous = maturity.customer_stages(inputs["assessments"], y - 1, dims, rubric, st)
            accounts_list = maturity.account_list(placed, previous, inputs["accounts"], st)
            dist = maturity.stage_distribution(customers["stage"], st, conf)
            fit = maturity.goodness_of_fit(dist.set_index("stage")["n"], bench, alpha=1 - conf)
            moves = maturity.movement_summary(maturity.transition_matrix(accounts_list["previous_stage"], accounts_list["stage"]), conf)
            target = maturity.target_summary(customers, conf)
            put(y, "maturity", maturity.maturity_metrics(dist, fit, moves, target, y, y - 1, n_unstaged=len(placed) - len(customers), rubric=rubric))
    if (data / "revenue.csv").is_file() and (data / "accounts.csv").is_file():
        from . import clv, revenue, survival
        from .inputs import ACCOUNTS, load

        accounts = load(data / "accounts.csv", ACCOUNTS)
        ledger = revenue.load_revenue(data / "revenue.csv", accounts)
        months = revenue.to_period(np.unique(revenue.month_ordinal(ledger["month"])))
        last = min(months.max(), pd.Period(f"{year}-12", freq="M"))
        active = revenue.active_months(ledger, end=str(last))
        movements = revenue.mrr_movements(active, end=str(last))
        everyone = pd.Series("All customers", index=accounts["customer_id"])
        for y in range(months.min().year + 1, year + 1):  # retention needs December of the year before
            if pd.Period(f"{y}-12", freq="M") > last:
                break
            extra = {}
            if y >= year - 1:
                lives = survival.lifetimes(active, f"{y}-12")
                row = clv.clv_by_segment(ledger, lives, everyone, y, s.get("clv_discount_rate", 0.10), s.get("clv_window_months", 12),
                                         min_n, active, dimension="All").iloc[0]
                extra = {"clv_simple": row["clv_simple"], "clv_sbg": row["clv_sbg"]}
            put(y, "revenue", revenue.revenue_metrics(revenue.revenue_headline(ledger, active, movements, y), extra))
    files = ("partner_survey_responses.csv", "partners.csv", "usage.csv", "accounts.csv")
    if all((data / f).is_file() for f in files):
        from . import partners as pt

        frames = pt.load_programme(data)
        years = sorted(int(v) for v in frames["partner_survey_responses.csv"]["submitted_at"].dt.year.dropna().unique() if v <= year)
        for y in years:
            put(y, "partners", partner_section(frames, y, s))
    return dict(sorted(out.items()))


def partner_section(frames: dict, year: int, settings: dict | None = None) -> dict:
    """The partner programme's headline figures of ``year`` from its files, as ``04_partner_programme`` computes them.

    Programme NPS over the year's answers (the rolling year at Q4,
    :func:`cxreport.partners.programme_by_quarter`), the funnel plot's
    flagged partners (:func:`cxreport.partners.nps_funnel`), the CSAT index
    (:func:`cxreport.partners.csat_index`) and the consumption value in
    December against a year before (:func:`cxreport.customer_success.customer_success`).
    """
    from . import customer_success as cs, partners as pt

    s = settings or {}
    responses, partner_list, usage = frames["partner_survey_responses.csv"], frames["partners.csv"], frames["usage.csv"]
    ids = partner_list["partner_id"].tolist()
    conf, method, min_n = s.get("confidence", 0.95), s.get("nps_ci_method", "auto"), s.get("min_group_size", 5)
    history = responses[responses["submitted_at"].dt.year <= year]
    current = responses[responses["submitted_at"].dt.year == year]
    programme_q = pt.programme_by_quarter(history, confidence=conf, method=method, min_n=min_n, last_quarter=f"{year}Q4")
    last = programme_q[programme_q["quarter"].dt.year == year].iloc[-1]
    head = pt.nps_from_counts(*[int(last[f"t4q_{c}"]) for c in pt.COUNT_COLUMNS], conf, method)
    funnel, summary = pt.nps_funnel(current, ids, tuple(s.get("funnel_levels", (0.95, 0.998))), s.get("partner_min_ranked_responses", 10),
                                    s.get("funnel_adjust_overdispersion", True), min_n=min_n)
    ci = pt.csat_index(responses, year, ids, s.get("nsat_mapping"), s.get("csat_index_min_responses", 10),
                       s.get("csat_index_max_per_organisation", 8), min_n=min_n)
    met = int((ci["status"] == "met").sum())
    out = {
        "year": int(year),
        "partners": len(ids),
        "responses": int(len(current)),
        "nps": {"score": head.score, "ci95": [head.ci_low, head.ci_high], "n": head.n},
        "funnel": {"target": summary["target"], **pt.flagged_partners(funnel)},
        "csat_index": {"met": met, "not_met": int(len(ci) - met)},
    }
    month = cs.report_month(usage, year)
    if s.get("consumption_rates"):
        success = cs.customer_success(usage[usage["month"] <= month], s["consumption_rates"], s.get("deployment_min_usage", 5), month, ids)
        now, before = float(success["consumption_value"].sum()), float(success["consumption_value_prev_year"].sum())
        out["customer_success"] = {"month": str(month), "consumption_value": now,
                                   "consumption_value_prev_year": before if before > 0 else None}
    return out

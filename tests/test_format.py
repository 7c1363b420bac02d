"""Numbers in words (cxreport.present.format): one hand-checked test per rule, and a scan of every report's text on the sample.

The scan builds each report model from ``data/sample`` (2020), collects every
sentence its text methods give (the headline cards, the prose, the tables as
shown) and fails on a number of 4 or more digits without thousands separators
(years 1900-2100 and ids such as P001 excepted) and on raw floats with 6
decimals (``1.000000``).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from cxreport.present import format as F
from cxreport.reporting import fmt_num, fmt_pct
from sample_models import sample_model

YEAR = 2020
DATA = "data/sample"


# ---------------------------------------------------------------- the rules, hand-checked
def test_number_separates_thousands_and_marks_unknown():
    assert F.number(1178) == "1,178"
    assert F.number(2734656.0) == "2,734,656"
    assert F.number(999) == "999"
    assert F.number(1234.567, 2) == "1,234.57"
    assert F.number(4.4, 1) == "4.4"
    assert F.number(0.25, 1) == "0.2"  # Python's round-half-even at the binary value: 0.25 is exact, so to even
    assert F.number(-1500) == "−1,500"  # a true minus sign
    assert F.number(-0.04, 1) == "0.0" and F.number(-0.04, 1, signed=True) == "0.0"  # never "−0.0"
    assert F.number(3, 1, signed=True) == "+3.0"
    assert F.number(np.int64(12345)) == "12,345" and F.number(np.float64(1.5), 1) == "1.5"
    for missing in (None, float("nan"), np.nan, pd.NA, math.inf, "abc"):
        assert F.number(missing) == "–"


def test_money_takes_the_currency_from_its_code():
    assert F.money(1234, "EUR") == "€1,234"
    assert F.money(1234.4, "USD") == "$1,234"
    assert F.money(1234, "GBP") == "£1,234"
    assert F.money(1234, "CHF") == "1,234 CHF"
    assert F.money(-1234, "EUR") == "−€1,234"
    assert F.money(-1234, "CHF") == "−1,234 CHF"
    assert F.money(2734656, "EUR") == "€2,734,656"
    assert F.money(12.5, "EUR", 2) == "€12.50"
    assert F.money(-0.2, "EUR") == "€0"
    assert F.money(None, "EUR") == "–"


def test_percent_and_points():
    assert F.percent(95.66) == "95.7%"
    assert F.percent(95.7143, 0) == "96%"
    assert F.percent(1250) == "1,250.0%"
    assert F.percent(None) == "–"
    assert F.points(3) == "+3.0 points"
    assert F.points(-1.49) == "−1.5 points"
    assert F.points(0.0) == "0.0 points"
    assert F.points(2.04, signed=False) == "2.0 points"
    assert F.points(1, 0) == "+1 point" and F.points(-1, 0) == "−1 point" and F.points(2, 0) == "+2 points"
    assert F.points(None) == "–"


def test_p_value_never_reads_zero():
    assert F.p_value(0.0) == "p < 0.001"
    assert F.p_value(2.2e-16) == "p < 0.001"
    assert F.p_value(0.00049) == "p < 0.001"
    assert F.p_value(0.0005) == "p = 0.001"  # shows as 0.001, so it is stated
    assert F.p_value(0.02689) == "p = 0.027"
    assert F.p_value(0.27) == "p = 0.270"
    assert F.p_value(1.0000000002) == "p = 1.000"
    assert F.p_value(None) == "p unknown" and F.p_value(float("nan")) == "p unknown"


def test_plural():
    assert F.plural(1, "passive") == "1 passive"
    assert F.plural(2, "customer") == "2 customers"
    assert F.plural(0, "partner") == "0 partners"
    assert F.plural(1178, "customer") == "1,178 customers"
    assert F.plural(3, "company") == "3 companies" and F.plural(2, "day") == "2 days"
    assert F.plural(2, "business") == "2 businesses"
    assert F.plural(2, "analysis", "analyses") == "2 analyses" and F.plural(1, "analysis", "analyses") == "1 analysis"
    assert F.plural(np.int64(1), "answer") == "1 answer"


def test_sentence_case():
    assert F.sentence_case("onboarding and learning: 11") == "Onboarding and learning: 11"
    assert F.sentence_case("Already upper") == "Already upper"
    assert F.sentence_case("nPS by partner") == "NPS by partner"  # the rest untouched
    assert F.sentence_case("**support**: 4") == "**Support**: 4"
    assert F.sentence_case("3 partners") == "3 partners"
    assert F.sentence_case("") == ""


def test_stage_name():
    names = ["Ad Hoc", "Opportunistic", "Repeatable", "Managed", "Optimized"]
    assert F.stage_name(1, names) == "Ad Hoc"
    assert F.stage_name(5.0, names) == "Optimized"
    assert F.stage_name(np.float64(3.0), names) == "Repeatable"
    assert F.stage_name("2", names) == "Opportunistic"
    assert F.stage_name(2, {1: "Ad Hoc", 2: "Opportunistic"}) == "Opportunistic"
    stages = {n: {"idc_pct": 20} for n in names}  # the maturity_stages setting: names in order
    assert F.stage_name(4, stages) == "Managed"
    assert F.stage_name(None, names) == "–" and F.stage_name(float("nan"), names) == "–"
    assert F.stage_name(6, names) == "6"


def test_reporting_aliases_use_the_module():
    assert fmt_num(1178.25) == "1,178.2"  # notebooks' default: one decimal
    assert fmt_num(3, signed=True) == "+3.0"
    assert fmt_num(-2.5) == "−2.5"
    assert fmt_num(None) == "–" and fmt_num(float("nan")) == "–"
    assert fmt_pct(95.66) == "95.7%" and fmt_pct(None) == "–"


def test_tables_write_numbers_in_house_style():
    from cxreport.reporting import table_html

    def cells(html_text):
        return re.sub(r"<[^>]+>", " ", re.sub(r"<style.*?</style>", " ", html_text, flags=re.DOTALL)).split()

    frame = pd.DataFrame({"File": ["a.csv", "b.csv"], "Rows": [2159, 3], "Year": [2020, 2019], "Stage": [1.0, 2.0],
                          "Share": [1.5, None], "Met": [True, False]})
    assert cells(table_html(frame)) == ["File", "Rows", "Year", "Stage", "Share", "Met",
                                        "a.csv", "2,159", "2020", "1", "1.50", "True",
                                        "b.csv", "3", "2019", "2", "–", "False"]  # never 1.000000, years as they are
    assert cells(table_html(frame[["Rows"]], formats={"Rows": "{:.1f}"})) == ["Rows", "2159.0", "3.0"]  # an own format wins


def test_currency_is_a_checked_setting():
    from cxreport.params import ParamsError
    from cxreport.settings import Settings, load_settings, settings_for

    assert load_settings(YEAR).currency == "EUR"
    assert Settings.model_fields["currency"].is_required()  # the default lives in params/defaults.yaml only
    with pytest.raises(ParamsError, match="currency"):
        settings_for(YEAR, {"currency": "euro"})


# ---------------------------------------------------------------- every report's text on the sample
# 4+ digits in a row, not part of a word, an id or a separated number; a band label from the data ("1000+" employees) is text
UNSEPARATED = re.compile(r"(?<![\w.,])\d{4,}\b(?!\+)")
RAW_FLOAT = re.compile(r"\d\.\d{6}")
NAMES = re.compile(r"\b(P\d+|C\d+|[A-Z]+\d+)\b")


def _strings(obj):
    """Every string in a text method's result: a sentence, cards, a list or dict of sentences, a table as shown."""
    if obj is None:
        return
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, pd.DataFrame):
        yield from _frame_text(obj, None, None)
    elif isinstance(obj, dict) and "frame" in obj:  # keyword arguments of reporting.table
        yield from _frame_text(obj["frame"], obj.get("caption"), obj.get("formats"))
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(obj, (list, tuple)):
        if len(obj) in (2, 3) and isinstance(obj[0], pd.DataFrame):  # (frame, caption, formats)
            yield from _frame_text(*obj, *([None] * (3 - len(obj))))
        else:
            for v in obj:
                yield from _strings(v)


def _frame_text(frame: pd.DataFrame, caption, formats):
    """A table's text as the reader sees it: rendered by reporting.table's styler, tags stripped."""
    from cxreport.reporting import table_html

    html_text = table_html(frame, caption, formats)
    yield re.sub(r"<[^>]+>", " ", re.sub(r"<style.*?</style>", " ", html_text, flags=re.DOTALL))


def _texts_of(model, extra=()) -> list[str]:
    """Every sentence of a report model: its ``*_text`` methods and properties, ``kpis``, ``summary``, and ``extra``."""
    out = []
    for name in dir(model):  # methods, properties and dataclass fields (fit_text, rubric_text, ...)
        if name.startswith("_") or not (name.endswith("_text") or name in ("kpis", "findings", "method_note", "untested_reasons",
                                                                           "not_shown", "satisfaction_summary", "display")):
            continue
        value = getattr(model, name)
        if callable(value):
            try:
                value = value()
            except TypeError:
                continue
        out.extend(_strings(value))
    for value in extra:
        out.extend(_strings(value))
    return out


def _views(model, names) -> list:
    shown = []
    for n in names:
        try:
            shown.append(model.view(n))
        except (KeyError, ValueError):
            pass
    return shown


@pytest.fixture(scope="module")
def report_texts() -> dict[str, list[str]]:
    return collect_texts()


def collect_texts() -> dict[str, list[str]]:
    """Every report's sentences and shown tables on the sample, by report."""
    from cxreport.reports import (
        cloud_maturity,
        clv_churn,
    )

    texts = {}
    s = sample_model("survey_scores")
    texts["survey_scores"] = _texts_of(s, _views(s, ("touchpoints", "drivers")))
    m = sample_model("cloud_maturity")
    texts["cloud_maturity"] = _texts_of(m, [seg.summary for seg in m.segments.values()] + [
        {"frame": m.distribution[list(cloud_maturity.DISTRIBUTION_SHOWN)].rename(columns=cloud_maturity.DISTRIBUTION_SHOWN),
         "formats": cloud_maturity.DISTRIBUTION_FORMATS},
        {"frame": m.revenue_by_stage[list(cloud_maturity.REVENUE_SHOWN)].rename(columns=cloud_maturity.REVENUE_SHOWN),
         "formats": cloud_maturity.REVENUE_FORMATS},  # as the notebook shows it
    ])
    c = sample_model("clv_churn")
    texts["clv_churn"] = ([*_strings(clv_churn.kpis(c)), *_strings(clv_churn.texts(c))]
                          + [t for sec in c.survival_sections for t in _strings(clv_churn.section_text(sec, c.min_group_size))]
                          + [t for sec in c.survival_sections if sec.shown is not None and len(sec.shown)
                             for t in _strings(clv_churn.km_view(sec))]
                          + [t for cox in c.cox_models for t in _strings(clv_churn.cox_text(cox))]
                          + [t for seg in c.clv_segments if len(seg.shown) for t in _strings(clv_churn.clv_view(seg))]
                          + [t for n in ("movements", "by_type", "accounts", "stage") for t in _strings(clv_churn.view(c, n))])
    p = sample_model("partner_programme")
    texts["partner_programme"] = _texts_of(p, _views(p, ("flagged", "moved", "csat_short", "at_risk", "leaders_laggards"))
                                           + [p.chart_note(k) for k in ("funnel", "trend")])
    for pid in ("P006", "P028"):
        sc = sample_model("partner_scorecard", pid)
        texts[f"partner_scorecard {pid}"] = _texts_of(sc, _views(sc, ("quarters", "success") if sc.enough else ("success",)))  # as the notebook shows
    sm = sample_model("summary")
    texts["summary"] = _texts_of(sm)
    return texts


def unformatted(text: str) -> list[str]:
    """The numbers of ``text`` a reader should not see: 4+ digits without separators (not years or ids), raw 6-decimal floats."""
    text = NAMES.sub(" ", text)
    bad = [m.group() for m in UNSEPARATED.finditer(text) if not (len(m.group()) == 4 and 1900 <= int(m.group()) <= 2100)]
    return bad + RAW_FLOAT.findall(text)


def test_the_scan_finds_what_it_looks_for():
    assert unformatted("1178 customers, ARPA from 1163 to 6291") == ["1178", "1163", "6291"]
    assert unformatted("Stage 1.000000") == ["1.000000"]
    assert unformatted("1,178 customers in 2020, partner P0012, €1,234.50, 2019-2020, 0.25%") == []
    assert unformatted("2300 answers") == ["2300"]
    assert unformatted("customers of 1000+ employees") == []  # a company-size band from the data


def test_every_report_states_its_numbers_formatted(report_texts):
    assert set(report_texts) >= {"survey_scores", "cloud_maturity", "clv_churn", "partner_programme", "partner_scorecard P006",
                                 "partner_scorecard P028", "summary"}
    problems = []
    for report, texts in report_texts.items():
        assert texts, report
        for text in texts:
            for sentence in re.split(r"(?<=[.!?])\s+|\n", text):
                bad = unformatted(sentence)
                if bad:
                    problems.append(f"{report}: {bad} in {sentence.strip()[:160]!r}")
    assert not problems, "\n".join(problems)


def test_money_carries_the_currency(report_texts):
    import dataclasses

    from cxreport.reports import clv_churn

    c = dataclasses.replace(sample_model("clv_churn"), currency="CHF")  # the model's currency is the setting's
    text = " ".join(clv_churn.texts(c).values())
    assert re.search(r"\d CHF", text) and "€" not in text
    eur = " ".join(report_texts["clv_churn"])
    assert re.search(r"€\d{1,3}(,\d{3})+", eur)  # e.g. MRR €2,734,656
    assert "ARPA ranges from €" in " ".join(report_texts["cloud_maturity"])


def test_no_p_of_zero_and_no_one_plurals(report_texts):
    allt = " ".join(t for texts in report_texts.values() for t in texts)
    assert "p = 0.000" not in allt and "p = 0.00 " not in allt
    assert not re.search(r"(?<![\d.,])1 (customers|partners|answers|passives|promoters|detractors|respondents)\b", allt)

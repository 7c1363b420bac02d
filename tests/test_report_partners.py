"""The partner-programme and partner-scorecard report models: hand-computed figures, the sample year, contract-valid shapes.

Fast: no kernel, no papermill. Frames are written with ``tests/shapes.py``
and read back with ``load_inputs``, as the notebooks read them.
"""

from __future__ import annotations

import json
import math
import re

import pandas as pd
import pytest

from cxreport import customer_success as cs
from cxreport.inputs import InputError
from cxreport.reports import partner_programme as pp
from cxreport.reports import partner_scorecard as sc
from cxreport.reports.base import jsonable, load_inputs
from cxreport.settings import load_settings
from sample_models import sample_model as shared_sample_model
from shapes import assert_headline_clean, only_required, sample_frames, write_folder

FILES = pp.INPUTS["requires"]
YEAR = 2020


@pytest.fixture(scope="module")
def settings():
    return load_settings(YEAR)


def load(folder):
    return load_inputs(folder, pp.INPUTS["requires"], pp.INPUTS["optional"])


def check(model):
    """Every shape: a clean headline (no NaN, inf or bad text; every None explained) that JSON can write strictly."""
    head = model.headline()
    assert_headline_clean(head, model.unknowns.reasons)
    json.dumps(jsonable(head), allow_nan=False)
    for reason in model.unknowns.reasons.values():
        assert reason.endswith(".") and not any(bad in reason for bad in ("nan", "NaN", "inf", "None", "NaT"))
    return head


BAD_WORDS = re.compile(r"\b(nan|NaN|None|inf|Infinity|NaT)\b")
PROGRAMME_TEXTS = ("title_text", "compare_text", "funnel_text", "suppressed_text", "quarters_text", "csat_text", "risk_text",
                   "crunch_text", "success_text", "ineligible_text", "settings_text")
PROGRAMME_VIEWS = ("flagged", "moved", "csat_short", "at_risk", "leaders_laggards")
CARD_TEXTS = ("title_text", "rank_text", "too_few_text", "comparison_text", "csat_text", "growth_text")


def _view_text(view: dict) -> list[str]:
    frame = view["frame"]
    return [str(c) for c in frame.columns] + [view["caption"] or ""] + [x for x in frame.to_numpy().ravel() if isinstance(x, str)]


def programme_shown(m: pp.PartnerProgramme) -> list[str]:
    """Every text notebook 04 shows from the model: sentences, cards, chart notes and titles, table headers, captions, text cells."""
    out = [getattr(m, name)() for name in PROGRAMME_TEXTS] + [part for card in m.kpis() for part in card]
    out += [m.chart_note(c) for c in ("funnel", "trend")] + [m.chart_title(c) for c in ("distribution", "funnel", "trend", "by_month", "growth")]
    for name in PROGRAMME_VIEWS:
        out += _view_text(m.view(name))
    return out


def card_shown(card: sc.PartnerScorecard) -> list[str]:
    """Every text notebook 05 shows from the scorecard model."""
    out = [getattr(card, name)() for name in CARD_TEXTS] + [part for kpi in card.kpis() for part in kpi]
    out += [card.chart_title(c) for c in ("funnel", "trend")] + _view_text(card.view("success"))
    if card.enough:
        out += _view_text(card.view("quarters"))
    return out


def assert_clean(texts: list[str]) -> None:
    """No sentence, card or cell says nan, None, inf or NaT."""
    for text in texts:
        assert isinstance(text, str) and not BAD_WORDS.search(text), text


def assert_names_no_other_partner(card: sc.PartnerScorecard, partners: pd.DataFrame) -> None:
    """A scorecard's text is clean and names no other partner, by name or by id."""
    shown = card_shown(card)
    assert_clean(shown)
    text = "\n".join(shown)
    others = partners[partners["partner_id"].astype(str) != card.partner_id]
    for pid, name in zip(others["partner_id"].astype(str), others["name"].astype(str)):
        assert name not in text and not re.search(rf"(?<![\w-]){re.escape(pid)}(?![\w-])", text), (pid, name)


# ------------------------------------------------------------------ a tiny programme, by hand
def tiny(partners=(("P1", "Alpha"), ("P2", "Beta")), answers=(), usage=()):
    """Input frames: ``answers`` = (partner, customer, date, csat, nps); ``usage`` = (partner, customer, month, workload, users)."""
    customers = sorted({a[1] for a in answers} | {u[1] for u in usage} | {"C0"})
    return {
        "partners.csv": pd.DataFrame(list(partners), columns=["partner_id", "name"]),
        "accounts.csv": pd.DataFrame({"customer_id": customers}),
        "partner_survey_responses.csv": pd.DataFrame(
            [{"respondent_id": f"R{i}", "survey_year": d[:4], "submitted_at": d, "partner_id": p, "customer_id": c,
              "csat": str(csat), "nps": str(nps)} for i, (p, c, d, csat, nps) in enumerate(answers)],
            columns=["respondent_id", "survey_year", "submitted_at", "partner_id", "customer_id", "csat", "nps"]),
        "usage.csv": pd.DataFrame(list(usage), columns=["partner_id", "customer_id", "month", "workload", "monthly_active_users"]),
    }


def test_tiny_programme_by_hand(tmp_path, settings):
    # P1: 6 answers in 2020 (4 promoters, 1 passive, 1 detractor); P2: 4 answers (a small group).
    answers = [("P1", f"C{i}", f"2020-0{i + 1}-10", 5, 10) for i in range(4)] + [("P1", "C4", "2020-11-02", 4, 8), ("P1", "C5", "2020-12-01", 2, 3)]
    answers += [("P2", "C6", f"2020-1{i}-05", 3, 6) for i in range(3)] + [("P2", "C6", "2020-12-20", 5, 9)]
    usage = [("P1", "C0", "2019-12", "Power BI", "40"), ("P1", "C0", "2020-12", "Power BI", "60"),
             ("P2", "C6", "2020-12", "Business Central", "10"), ("P2", "C6", "2020-12", "Unknown workload", "99")]
    m = pp.build(load(write_folder(tmp_path, tiny(answers=answers, usage=usage))), settings, YEAR)
    head = check(m)
    # NPS of all 10 answers: promoters 5 (4 + P2's 9), passives 1, detractors 4 -> 100 * (5 - 4) / 10 = 10
    assert (m.promoters, m.passives, m.detractors, m.nps_n) == (5, 1, 4, 10) and m.nps == pytest.approx(10.0)
    assert m.ltr == pytest.approx((4 * 10 + 8 + 3 + 3 * 6 + 9) / 10)
    # NSAT on the year's CSAT: very satisfied 5 (4 + 1), somewhat sat. 1, dissatisfied 3 (three 3s) + 1 (a 2) -> 100 * (5 - 4) / 10 + 100
    assert m.nsat == pytest.approx(110.0) and head["csat_index"]["nsat_counts"]["very_dissatisfied"] == 1
    # consumption: Power BI 0.25/user, Business Central 1.0; the unknown workload is not eligible
    assert m.consumption_value == pytest.approx(60 * 0.25 + 10 * 1.0) and m.consumption_value_prev_year == pytest.approx(40 * 0.25)
    assert m.yoy_pct == pytest.approx(100 * (25 / 10 - 1)) and m.ineligible_workloads == ["Unknown workload"]
    # P2 has 4 answers (< min_group_size 5): no score anywhere it is published
    for name, table in m.tables().items():
        if "partner_id" in table.columns and name != "partners_customer_success":
            row = table[table["partner_id"] == "P2"]
            scores = [c for c in ("nps", "ltr", "nsat", "nps_now", "t4q_nps", "promoters") if c in row.columns]
            assert row[scores].isna().all().all(), name
    assert m.suppressed == 1 and m.ranked == 0 and m.ranked_nps_range is None and "ranked_nps_range" in m.unknowns
    assert head["funnel"]["phi"] is None and "funnel.phi" in m.unknowns.reasons
    # the notebook's sentences state the same figures
    assert_clean(programme_shown(m))
    assert m.kpis()[0] == ("Programme NPS", "10.0", f"95% CI {m.nps_ci95[0]:.1f} to {m.nps_ci95[1]:.1f}, n = 10".replace("-", "−"))  # a true minus
    assert "The programme's NSAT is **110**." in m.csat_text()
    assert m.ineligible_text() == "Workloads without a rate on the rate card are not eligible and not counted: Unknown workload."
    assert m.suppressed_text().startswith("1 partner with answers but fewer than 5 is not shown:")
    assert m.compare_text().startswith("No partner has the 10 answers in 2020 needed to be ranked.")
    assert "monthly consumption value is **€25**, +150.0% on December 2019;" in m.success_text()


def test_growth_has_one_implementation_and_no_infinity():
    assert cs.growth_pct(139.0, 100.0) == pytest.approx(39.0)
    assert cs.growth_pct(50.0, 0.0) is None and cs.growth_pct(50.0, None) is None and cs.growth_pct(None, 5.0) is None
    rates = cs.growth_rates([10, 10, 0, 5], [5, 0, 0, float("nan")])
    assert rates[0] == pytest.approx(100.0) and all(math.isnan(x) for x in rates[1:])


def test_partner_without_usage_a_year_earlier_writes_no_infinity(tmp_path, settings):
    """Notebook 04 used to write Infinity into metrics.json: consumption growth on a zero base."""
    answers = [("P1", f"C{i}", "2020-05-01", 5, 10) for i in range(6)]
    usage = [("P1", "C0", "2020-12", "Power BI", "40"), ("P2", "C9", "2020-11", "Power BI", "8")]
    m = pp.build(load(write_folder(tmp_path, tiny(answers=answers, usage=usage))), settings, YEAR)
    head = check(m)
    cs_head = head["customer_success"]
    assert cs_head["yoy_pct"] is None and cs_head["consumption_value_prev_year"] is None
    assert "December 2019" in m.unknowns.get("customer_success.yoy_pct")
    assert cs_head["consumption_value"] == pytest.approx(10.0) and m.leaders_k == 0 and "leaders_laggards" in m.unknowns
    assert m.success["yoy_pct"].isna().all()  # per partner: no base, no rate (blank in the CSV)
    assert_clean(programme_shown(m))
    assert m.kpis()[3] == ("Consumption growth", "–", "usage.csv has no usage for December 2019, a year before the report month.")
    assert m.success_text().endswith("is **€10**, with no growth rate to report (usage.csv has no usage for December 2019, a year before "
                                     "the report month); 1 eligible deployment, with none to compare a year earlier.")


def test_no_usage_rows_for_a_partner(tmp_path, settings):
    answers = [("P1", f"C{i}", "2020-05-01", 5, 10) for i in range(6)] + [("P2", f"C{i}", "2020-06-01", 4, 7) for i in range(6)]
    usage = [("P1", "C0", "2019-12", "Power BI", "40"), ("P1", "C0", "2020-12", "Power BI", "60")]
    folder = write_folder(tmp_path, tiny(answers=answers, usage=usage))
    m = pp.build(load(folder), settings, YEAR)
    check(m)
    p2 = m.success.set_index("partner_id").loc["P2"]
    assert p2["consumption_value"] == 0 and p2["deployments"] == 0 and math.isnan(p2["yoy_pct"])
    card = sc.build(load(folder), settings, YEAR, "P2")
    check(card)
    assert card.consumption_value == 0 and card.yoy_pct is None and "customer_success.yoy_pct" in card.unknowns.reasons
    assert_clean(card_shown(card))
    assert card.growth_text() == "No growth rate on a year earlier: Your customers had no eligible usage in December 2019 to grow from."
    assert card.view("success")["frame"]["You"].tolist() == ["€0", "–", "–", "0", "0"]  # the currency; a zero carries no sign


def test_a_year_without_answers_or_usage_is_buildable(tmp_path, settings):
    answers = [("P1", f"C{i}", "2019-05-01", 5, 10) for i in range(6)]
    usage = [("P1", "C0", "2019-12", "Power BI", "40")]
    folder = write_folder(tmp_path, tiny(answers=answers, usage=usage))
    for year in (2018, 2021):  # before any data, and after it
        m = pp.build(load(folder), load_settings(year), year)
        head = check(m)
        assert m.responses == 0 and head["nps"]["score"] is None and head["csat_index"]["q4_share_pct"] is None
        assert m.funnel_target is None and m.programme_trend_shown == (year == 2021)  # 2021's rolling years reach back into 2019
        assert head["customer_success"]["consumption_value"] is None and head["customer_success"]["deployments"] is None
        assert_clean(programme_shown(m))
        assert_clean(card_shown(sc.build(load(folder), load_settings(year), year, "P1")))
        assert "0 customer answers about 0 of 2 partners, none submitted in " + str(year) in m.title_text()
        assert m.chart_note("funnel") == f"No funnel plot: No answer was submitted in {year}, so there is no programme NPS to compare partners with."
    assert pp.programme_headline(load(folder), settings, 2021)["nps"]["n"] == 0
    # usage up to 2019 only: the 2021 report says how fresh the data is and why there is no consumption value
    m = pp.build(load(folder), load_settings(2021), 2021)
    assert m.success_text() == ("Usage data up to **December 2019** (complete by 20 January 2020; the next refresh is due by 20 February "
                                "2020). usage.csv has no usage for December 2021.")
    assert pp.build(load(folder), load_settings(2018), 2018).success_text() == "No Customer Success figures: usage.csv has no usage up to December 2018."


# ------------------------------------------------------------------ the sample year
@pytest.fixture(scope="module")
def sample_inputs(root):
    return load_inputs(root / "data" / "sample", FILES)


@pytest.fixture(scope="module")
def sample_model(sample_inputs, settings):
    return shared_sample_model("partner_programme")  # default settings; built once per test process, shared


def test_sample_year_figures_unchanged(sample_model):
    """Today's notebook 04 (rounded in metrics.json to one decimal) against the model, unrounded."""
    head = check(sample_model)
    assert head["year"] == 2020 and head["partners"] == 36 and head["responses"] == 741
    nps = head["nps"]
    assert nps["score"] == pytest.approx(100 * (355 - 153) / 741) and (nps["promoters"], nps["passives"], nps["detractors"]) == (355, 233, 153)
    assert nps["ci95"] == pytest.approx([21.6, 32.9], abs=0.05) and nps["n"] == 741 and nps["ltr"] == pytest.approx(8.1, abs=0.05)
    f = head["funnel"]
    assert f["target"] == pytest.approx(27.3, abs=0.05) and f["phi"] == pytest.approx(1.7, abs=0.05) and f["adjusted"] and f["ranked"] == 22
    assert (f["below_998"], f["below_95"], f["above_95"], f["above_998"]) == (["P004"], [], [], ["P006"])
    c = head["csat_index"]
    assert (c["met"], c["not_met"], c["answers_not_counted"]) == (22, 14, 4)
    assert c["nsat"] == pytest.approx(106.2, abs=0.05) and c["q4_share_pct"] == pytest.approx(40.5, abs=0.05)
    assert c["at_risk_at_checkpoint"] == ["P008", "P009", "P012", "P016", "P018", "P020", "P022", "P023", "P024", "P025", "P026",
                                          "P027", "P028", "P029", "P030", "P031", "P032", "P033", "P035", "P036"]
    s = head["customer_success"]
    assert s["consumption_value"] == pytest.approx(69299.9, abs=0.05) and s["consumption_value_prev_year"] == pytest.approx(49782.8, abs=0.05)
    assert s["yoy_pct"] == pytest.approx(39.2, abs=0.05) and (s["deployments"], s["deployments_metric"]) == (2190, 754)
    assert s["month"] == "2020-12" and s["refreshed_by"] == "2021-01-20"
    assert sample_model.unknowns.reasons == {}


def test_sample_tables_keep_their_names_and_shapes(sample_model):
    shapes = {name: t.shape for name, t in sample_model.tables().items()}
    assert shapes == {"partners_funnel": (36, 15), "partners_nps_by_quarter": (288, 31), "partners_nps_trend": (36, 10),
                      "partners_csat_index": (36, 18), "partners_csat_index_checkpoint": (36, 18),
                      "partners_responses_by_month": (12, 5), "partners_customer_success": (36, 11)}


def test_write_puts_the_section_and_the_tables_where_the_pipeline_collects_them(sample_model, tmp_path):
    sample_model.write(tmp_path / "tables", tmp_path / "metrics.json")
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert set(metrics) == {"partners"} and "Infinity" not in (tmp_path / "metrics.json").read_text()
    assert sorted(p.stem for p in (tmp_path / "tables").glob("*.csv")) == sorted(sample_model.tables())


def test_scorecard_of_the_sample(sample_inputs, settings, sample_model):
    card = sc.build(sample_inputs, settings, YEAR, "P006")
    check(card)
    assert card.enough and card.nps == pytest.approx(100 * 28 / 33) and card.rank == 1 and card.ranked == 22
    assert card.programme_nps == sample_model.nps and card.nsat == pytest.approx(178.8, abs=0.05) and card.csat_status == "met"
    assert card.yoy_pct == pytest.approx(60.8, abs=0.05) and card.growth_rank_pct == pytest.approx(80.6, abs=0.05)
    # never names other partners: every other partner's id is blanked in what it charts
    assert set(card.funnel["partner_id"]) == {"P006", ""} and "name" not in card.funnel.columns
    assert set(card.partner_q["partner_id"]) == {"P006"}
    assert card.write(None, None) is None  # writes nothing


def test_scorecard_of_a_partner_with_one_answer_shows_no_score(sample_inputs, settings):
    card = sc.build(sample_inputs, settings, YEAR, "P028")
    head = check(card)
    assert card.responses == 1 and not card.enough and card.quarters is None
    assert head["nps"]["score"] is None and head["nps"]["ltr"] is None and head["csat_index"]["nsat"] is None
    assert head["nps"]["promoters"] is None and head["nps"]["passives"] is None  # the counts would give the answer away
    assert "Only 1 customer answer in 2020" in card.reason("nps.score")


def test_programme_texts_of_the_sample(sample_model):
    """Notebook 04's sentences, cards and tables on the sample: the figures of test_sample_year_figures_unchanged, in words."""
    m = sample_model
    assert_clean(programme_shown(m))
    assert m.kpis() == [("Programme NPS", "27.3", "95% CI 21.6 to 32.9, n = 741"), ("Likely to recommend", "8.1 / 10", "mean 0-10 answer"),
                        ("CSAT index met", "22 of 36", "partners with ≥ 10 counted answers"),
                        ("Consumption growth", "+39.2%", "Dec 2020 vs Dec 2019")]
    assert "**Contoso Cloud Services** · 741 customer answers about 36 of 36 partners, 1 January to 31 December 2020\n" in m.title_text()
    assert m.compare_text() == ("**22** of the 36 partners with answers have at least 10 and are ranked. Their NPS ranges from **-46** to "
                                "**85** around a programme NPS of **27.3**; the middle half lies between 11 and 50.")
    assert m.funnel_text().startswith("Partners differ more than chance alone explains (over-dispersion φ = 1.72, p = 0.013)")
    assert m.funnel_text().endswith("Below the limits: **Lumen IT**. Above: **Quarry Digital**.")  # P004 and P006
    assert m.suppressed_text().startswith("3 partners with answers but fewer than 5 are not shown:")
    assert m.quarters_text() == ("Over the rolling year to Q4 2020 the programme NPS is **27.3** (n = 741). Among partners with at least 5 "
                                 "answers in both years, 2 changed significantly: Meridian Consulting (+67), Northwind Systems (+51).")
    assert m.csat_text() == ("**22** of 36 partners met the rule in 2020; **14** did not (yet). The programme's NSAT is **106**. "
                             "The cap of 8 per organisation set aside 4 answers (Northwind Solutions).")
    assert m.risk_text() == ("On 30 September **20** partners were at risk; 6 of them still met the rule by year end, 14 did not. "
                             "Those at risk needed on average 1.7 more answers a month for the rest of the year.")
    assert m.crunch_text().startswith("**The fourth-quarter crunch.** 40.5% of the year's answers arrived in October to December, against 25.0%")
    assert m.success_text() == ("Usage data up to **December 2020** (complete by 20 January 2021; the next refresh is due by 20 February "
                                "2021). The programme's monthly consumption value is **€69,300**, +39.2% on December 2019; eligible "
                                "deployments went from 1,436 to 2,190 (deployments metric **+754**).")
    assert m.ineligible_text() == "" and m.chart_note("funnel") == "" and m.chart_note("trend") == ""
    assert m.settings_text().startswith("- **Settings**: no score for a partner (or quarter) with fewer than 5 answers; ranking from 10 answers; "
                                        "funnel limits 95%, 99.8%; CSAT index: 10 answers, at most 8 per organisation, checkpoint 30 September")
    assert m.chart_title("growth") == "Consumption growth leaders and laggards, Dec 2020 vs Dec 2019"
    # the tables as shown: the flagged and moved partners of the text, every partner short of the rule, the 20 at risk
    assert m.view("flagged")["frame"]["Partner"].tolist() == ["Lumen IT", "Quarry Digital"]
    moved = m.view("moved")
    assert list(moved["frame"].columns) == ["Partner", "Answers 2020", "NPS 2020", "Answers 2019", "NPS 2019", "Change", "Trend"]
    assert moved["frame"]["Partner"].tolist() == ["Meridian Consulting", "Northwind Systems"] and "Q4 2019 to Q4 2020" in moved["caption"]
    assert len(m.view("csat_short")["frame"]) == 14 and len(m.view("at_risk")["frame"]) == 20
    assert "Counted by 30 Sep" in m.view("at_risk")["frame"].columns and len(m.view("leaders_laggards")["frame"]) == 10
    with pytest.raises(KeyError):
        m.view("nope")


def test_scorecard_texts_of_the_sample(sample_inputs, settings):
    card = sc.build(sample_inputs, settings, YEAR, "P006")
    assert_names_no_other_partner(card, sample_inputs["partners.csv"])
    assert "**Contoso Partner Programme** · P006 · Nordics · Gold partner · 33 customer answers in 2020\n" in card.title_text()
    assert card.kpis() == [("Net Promoter Score", "84.8", "95% CI 73 to 97; programme 27.3"), ("Likely to recommend", "9.7 / 10", "mean answer, n = 33"),
                           ("NSAT", "179", "0-200; 100 = as many very satisfied as dissatisfied"), ("CSAT index", "met", "33 counted answers; 10 needed")]
    assert card.rank_text() == ("Your NPS of **84.8** ranks **1 of 22** ranked partners (ahead of 100% of them); on the funnel plot it lies "
                                "above the 99.8% limit: clearly higher than the programme.")
    assert card.too_few_text() == ""
    assert card.csat_text() == "33 answers from 25 customer organisations; **33 counted** (at most 8 per organisation; 10 needed). The rule is **met**."
    assert card.growth_text() == "Your customers' consumption grew +60.8% on December 2019, faster than 81% of partners."
    success = card.view("success")
    assert success["frame"]["You"].tolist() == ["€3,294", "−8.8", "+60.8", "96", "+34"]  # the currency, a true minus
    assert success["caption"] == "December 2020 (usage data complete by 20 January 2021)"
    quarters = card.view("quarters")["frame"]
    assert quarters["Quarter"].tolist() == ["2020Q1", "2020Q2", "2020Q3", "2020Q4"] and quarters["Answers"].sum() == 33


def test_scorecard_texts_of_a_partner_with_one_answer(sample_inputs, settings):
    card = sc.build(sample_inputs, settings, YEAR, "P028")
    assert_names_no_other_partner(card, sample_inputs["partners.csv"])
    assert " · 1 customer answer in 2020\n" in card.title_text()
    assert card.kpis() == [("Answers this year", "1", "10 needed for a score"), ("Programme NPS", "27.3", "all partners, n = 741"),
                           ("CSAT index", "not met", "1 counted answer; 10 needed")]
    assert card.too_few_text() == ("Only 1 customer answer in 2020: a score needs at least 10. That is too few for a stable score, so no NPS, "
                                   "ranking or NSAT is shown; encourage more of your customers to answer next year's survey.")
    assert card.csat_text() == ("1 answer from 1 customer organisation; **1 counted** (at most 8 per organisation; 10 needed). "
                                "**9 more** counted answers were needed by 31 December.")


def test_texts_of_a_one_partner_programme(small_sample, settings, tmp_path):
    frames = _one_partner(small_sample)
    inputs = load(write_folder(tmp_path, frames))
    m = pp.build(inputs, settings, YEAR)
    assert_clean(programme_shown(m))
    assert m.compare_text() == ("**1** of the 1 partner with answers has at least 10 and is ranked. Its NPS is **85**, against a programme "
                                "NPS of **84.8**.")
    assert m.funnel_text().endswith("No partner falls below the limits. No partner is above the limits.")
    assert m.csat_text().startswith("**1** of 1 partner met the rule in 2020; **0** did not (yet).")
    assert m.risk_text() == "On 30 September no partner was at risk." and m.suppressed_text() == ""
    card = sc.build(inputs, settings, YEAR, "P006")
    check(card)
    assert_names_no_other_partner(card, frames["partners.csv"])
    assert card.rank_text().startswith("Your NPS of **84.8** is the only ranked score in the programme; on the funnel plot it lies within")
    # no other partner to be faster than: no share of partners, with the reason
    assert card.growth_rank_pct is None and "customer_success.growth_rank_pct" in card.unknowns.reasons
    assert card.growth_text() == "Your customers' consumption grew +60.8% on December 2019."


def test_texts_without_usage_a_year_earlier(small_sample, settings, tmp_path):
    inputs = load(write_folder(tmp_path, _first_year(small_sample, "2020-12")))
    m = pp.build(inputs, settings, YEAR)
    assert_clean(programme_shown(m))
    assert m.kpis()[3] == ("Consumption growth", "–", "usage.csv has no usage for December 2019, a year before the report month.")
    assert m.success_text().endswith(f"is **€{m.consumption_value:,.0f}**, with no growth rate to report (usage.csv has no usage for "
                                     f"December 2019, a year before the report month); {m.deployments:,} eligible "
                                     f"deployment{'' if m.deployments == 1 else 's'}, with none to compare a year earlier.")
    assert m.reason("leaders_laggards") and m.view("leaders_laggards")["frame"].empty
    card = sc.build(inputs, settings, YEAR, "P006")
    assert_names_no_other_partner(card, inputs["partners.csv"])
    assert card.growth_text() == "No growth rate on a year earlier: Your customers had no eligible usage in December 2019 to grow from."
    assert card.view("success")["frame"].loc[2, ["You", "Programme median"]].tolist() == ["–", "–"]


def test_unknown_partner_is_an_input_error(sample_inputs, settings):
    with pytest.raises(InputError) as exc:
        sc.build(sample_inputs, settings, YEAR, "P999")
    assert "partners.csv" in exc.value.messages[0] and "partner_id" in exc.value.messages[0]


# ------------------------------------------------------------------ contract-valid shapes
PARTNERS = ["P001", "P002", "P004", "P006", "P028"]


@pytest.fixture(scope="module")
def small_sample():
    """The sample cut to five partners (P028 has one answer in 2020), so each shape builds in a moment."""
    f = sample_frames(*FILES)
    out = {name: (frame[frame["partner_id"].isin(PARTNERS)] if name != "accounts.csv" else frame) for name, frame in f.items()}
    return {k: v.reset_index(drop=True) for k, v in out.items()}


def _first_year(frames, start):
    out = dict(frames)
    s = out["partner_survey_responses.csv"]
    out["partner_survey_responses.csv"] = s[s["submitted_at"] >= start]
    u = out["usage.csv"]
    out["usage.csv"] = u[u["month"] >= start[:7]]
    return out


def _one_partner(frames):
    out = {k: (v[v["partner_id"] == "P006"] if "partner_id" in v.columns and k != "accounts.csv" else v) for k, v in frames.items()}
    return out


def _tiny_groups(frames):
    out = dict(frames)
    s = out["partner_survey_responses.csv"]
    out["partner_survey_responses.csv"] = s.groupby(["partner_id", s["submitted_at"].str[:4]]).head(2)
    return out


def _all_promoters(frames):
    out = dict(frames)
    out["partner_survey_responses.csv"] = out["partner_survey_responses.csv"].assign(nps="10", csat="5")
    return out


def _blank_optional(frames):
    out = dict(frames)
    s = out["partner_survey_responses.csv"]
    out["partner_survey_responses.csv"] = s.assign(csat="", nps=s["nps"].where(s.index % 3 != 0, ""), contact_name="", contact_email="")
    out["partners.csv"] = out["partners.csv"].assign(region="", tier="")
    out["accounts.csv"] = out["accounts.csv"].assign(name="", partner_id="", industry="", company_size="", region="", customer_since="")
    return out


def _odd_ids(frames):
    ids = {"P001": "007", "P002": "MS-2", "P004": "P004", "P006": "P006", "P028": "028"}
    names = {"007": "007 Consulting", "MS-2": "Müller & Søn", "028": "東京 Cloud"}
    out = {}
    for name, frame in frames.items():
        f = frame.copy()
        if "partner_id" in f.columns and name != "accounts.csv":
            f["partner_id"] = f["partner_id"].map(ids)
        out[name] = f
    p = out["partners.csv"]
    out["partners.csv"] = p.assign(name=p["partner_id"].map(names).fillna(p["name"]))
    return out


def _zero_usage(frames):
    out = dict(frames)
    u = out["usage.csv"]
    out["usage.csv"] = u.assign(monthly_active_users=u["monthly_active_users"].where(u["month"] != "2019-12", "0"))
    return out


SHAPES = {
    "only_required": only_required,
    "first_year_in_report_year": lambda f: _first_year(f, "2020-01"),
    "first_year_in_december": lambda f: _first_year(f, "2020-12"),
    "one_partner": _one_partner,
    "tiny_groups": _tiny_groups,
    "all_promoters": _all_promoters,
    "blank_optional_values": _blank_optional,
    "odd_ids_and_names": _odd_ids,
    "zero_usage_a_year_earlier": _zero_usage,
}


_SHAPE_MODELS: dict = {}


def shape_model(shape, small_sample, settings, tmp_path_factory):
    """``(frames, inputs, model)`` of a shape, built once per test process for the tests that only read them."""
    if shape not in _SHAPE_MODELS:
        frames = SHAPES[shape](small_sample)
        inputs = load(write_folder(tmp_path_factory.mktemp("shape"), frames))
        _SHAPE_MODELS[shape] = (frames, inputs, pp.build(inputs, settings, YEAR))
    return _SHAPE_MODELS[shape]


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_shape_builds_clean(shape, small_sample, settings, tmp_path_factory):
    frames, inputs, m = shape_model(shape, small_sample, settings, tmp_path_factory)
    head = check(m)
    assert_clean(programme_shown(m))
    assert head["csat_index"]["met"] + head["csat_index"]["not_met"] == head["partners"] == len(frames["partners.csv"])
    if m.q4_share_pct is not None:
        assert m.by_month["share_pct"].sum() == pytest.approx(100)
    if m.nps_n:
        assert sum(head["nps"][k] for k in ("promoters", "passives", "detractors")) == m.nps_n
    # the small-group rule in every table written
    n = settings.min_group_size
    for name, table in m.tables().items():
        if name == "partners_nps_by_quarter":
            assert table.loc[table["n"] < n, "nps"].isna().all() and table.loc[table["t4q_n"] < n, "t4q_nps"].isna().all()
        if name == "partners_funnel":
            assert table.loc[table["n"] < n, ["nps", "ltr"]].isna().all().all()
        if name == "partners_csat_index":
            assert table.loc[table["nsat_n"] < n, "nsat"].isna().all()
    for pid in frames["partners.csv"]["partner_id"]:
        card = sc.build(inputs, settings, YEAR, pid)
        check(card)
        assert set(card.funnel["partner_id"]) <= {pid, ""}
        assert_names_no_other_partner(card, frames["partners.csv"])
        if card.responses < n:
            assert card.nps is None and card.ltr is None and card.nsat is None and card.promoters is None


def test_shape_expectations(small_sample, settings, tmp_path_factory):
    model = lambda shape: shape_model(shape, small_sample, settings, tmp_path_factory)[2]  # noqa: E731
    m = model("all_promoters")
    assert m.nps == 100 and m.detractors == 0 and m.nsat == 200
    m = model("first_year_in_december")
    assert m.yoy_pct is None and "December 2019" in m.reason("customer_success.yoy_pct")
    assert (m.trend["direction"] == "too few answers").all()
    m = model("odd_ids_and_names")
    assert {"007", "MS-2", "028"} <= set(m.funnel["partner_id"]) and m.names["MS-2"] == "Müller & Søn" and m.names["028"] == "東京 Cloud"
    m = model("one_partner")
    assert m.partners == 1 and m.ranked == 1 and m.phi_p_value is None and "funnel.phi_p_value" in m.unknowns.reasons
    m = model("zero_usage_a_year_earlier")
    assert m.yoy_pct is None and m.consumption_value_prev_year == 0 and "December 2019" in m.reason("customer_success.yoy_pct")


def test_settings_are_the_fields_the_model_reads():
    from cxreport.settings import SETTING_NAMES

    assert set(pp.SETTINGS) <= set(SETTING_NAMES) and set(sc.SETTINGS) <= set(pp.SETTINGS)
    assert "organisation" not in sc.SETTINGS and "csat_index_checkpoint" not in sc.SETTINGS

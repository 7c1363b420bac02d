"""The personal-data detector: planted contact data is found and masked, clean report text is not."""

import json
import re
import shutil
import socket
import subprocess
import sys
import time
import unicodedata
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from cxreport import comments, privacy
from cxreport.inputs import load_survey
from cxreport.publish import PublishError, publish_year

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).parent / "data" / "pii_corpus.txt"


def planted() -> list[tuple[str, str]]:
    """(kind, value) pairs of tests/data/pii_corpus.txt."""
    out = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            kind, value = line.split("|", 1)
            out.append((kind, value.replace("\\n", "\n")))
    return out


PLANTED = planted()
IDS = [f"{k}:{i}" for i, (k, _) in enumerate(PLANTED)]
# Each value inside a comment that names a theme, so it is a candidate quote.
TEMPLATES = (
    "Great support from the team, contact {} for details",
    "Easy to use. Ask for {} about the upgrade",
    "Pricing is fair; my details: {}",
)


def variants(value: str) -> list[re.Pattern]:
    """Patterns for a value and its normalised forms: NFKC, dashes, no line break, and
    for numbers the digits with any separators between them."""
    forms = {value, unicodedata.normalize("NFKC", value), value.replace("\n", ""), value.replace("–", "-")}
    pats = [re.compile(re.escape(f), re.IGNORECASE) for f in forms if len(f) >= 5]
    digits = re.sub(r"\D", "", value)
    if len(digits) >= 7:
        pats.append(re.compile(r"\D{0,3}".join(digits)))
    for word in re.findall(r"[^\W\d_]{6,}", unicodedata.normalize("NFKC", value)):
        if not privacy.is_common_word(word):  # the distinctive part of a name or an address
            pats.append(re.compile(re.escape(word), re.IGNORECASE))
    return pats


def leaked(text: str, value: str) -> bool:
    return any(p.search(text) for p in variants(value))


@pytest.mark.parametrize("kind,value", PLANTED, ids=IDS)
def test_planted_data_is_detected_and_masked(kind, value):
    for template in TEMPLATES:
        text = template.format(value)
        red = privacy.redact(text)
        assert not leaked(red.text, value), red.text
        if kind != "name":
            assert kind in [f.kind for f in privacy.detect(text)]


def test_findings_point_at_the_value_and_messages_hold_no_value():
    text = "Support desk: +49 30 1234567 or jan.vogel(at)firma-drei.de"
    found = privacy.detect(text)
    assert [(f.kind, text[f.start : f.end]) for f in found] == [("phone", "+49 30 1234567"), ("e-mail", "jan.vogel(at)firma-drei.de")]
    assert privacy.describe(found) == "1 phone number, 1 e-mail address"


def test_positions_map_back_through_normalisation():
    text = "Call \u200b+1 (555) 555\u20130199 or mail lisa@exa\nmple.de now"
    red = privacy.redact(text)
    assert red.text == "Call \u200b[phone removed] or mail [e-mail removed] now"


def test_known_contact_values_are_masked_anywhere():
    known = privacy.KnownNames(["Quirin Zwetschgenbaum", "gus.nilsen@customer.example.org", "Anna Berg"])
    red = privacy.redact("Thanks to Anna Berg and anna; Zwetschgenbaum and Nilsen helped", known)
    assert "Anna Berg" not in red.text and "Zwetschgenbaum" not in red.text and "Nilsen" not in red.text
    assert "and anna;" in red.text  # a first name alone is a common word: kept
    assert red.certain  # the capitalised pair is a known value, masked


def test_common_capitalised_pairs_are_uncertain_products_are_not():
    assert not privacy.redact("Great help from Maria Schneider in support").certain
    for text in ("The Power BI reports in Business Central are easy", "Customer Insights is useful", "Ease of use. Great Support"):
        red = privacy.redact(text)
        assert red.text == text and red.certain


def clean_corpus() -> list[str]:
    texts = []
    for name in ("survey_responses.csv", "partner_survey_responses.csv"):
        df = pd.read_csv(ROOT / "data" / "sample" / name, dtype=str)
        for col in ("comment_value", "comment_improve"):
            if col in df:
                # The sample plants contact data in a few comments on purpose: those are not clean.
                texts += [t for t in df[col].dropna().unique() if "@" not in t and "+" not in t]
    return texts + [
        "57.142857142857146", "4.262935534978428", "2026-11-30", "30.11.2026", "2019 2020", "2019  2020  2021",
        "P001", "CUST-000123", "C01264", "2,734,656", "1,234,567.89", "NPS 57.1 (54.1) 17823", "0.57  0.43  0.12",
        "Business Central", "Power BI", "Customer Insights", "Upgraded to Business Central 15 in 2020, 3 of 4 users happy",
        "n = 1,061; CI 95% [41.2, 63.9]", "Revenue 2734656 EUR", "R2020-00042", "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    ]


@pytest.mark.parametrize("text", clean_corpus())
def test_clean_text_has_no_findings(text):
    assert privacy.detect(text) == []
    red = privacy.redact(text)
    assert red.certain
    if not re.search(r"\d{7}", text):  # comments lose long bare numbers, better safe
        assert red.text == text


def _timed(fn, text) -> float:
    """CPU seconds of this process (not wall time: the tests share the machine with the shared build)."""
    start = time.process_time()
    fn(text)
    return time.process_time() - start


@pytest.mark.parametrize(
    "unit",
    ["a" * 50 + " ", "a." * 40 + " ", "a@" * 30, "1 " * 30 + "x ", "1.2 " * 20, "name at b dot " * 5, "DE89 " * 10,
     "Aaaa " * 20 + ". ", "linkedin.com/in/" * 5, "x-" * 40, "@" * 50, "0" * 60 + " "],
)
def test_detection_is_linear(unit):
    privacy.redact("warm up: +49 30 1234567 a@b.de Hildegard Wurzelbacher")
    small, large = unit * (50_000 // len(unit)), unit * (200_000 // len(unit))
    for fn in (privacy.detect, lambda t: privacy.redact(t)):
        t_small = min(_timed(fn, small) for _ in range(2))
        t_large = min(_timed(fn, large) for _ in range(2))
        assert t_large < 8 * t_small + 0.5, (unit, t_small, t_large)  # 4x the text: about 4x the time, not 16x
        assert t_large < 20


def test_no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for _kind, value in PLANTED:
        privacy.redact(f"Support: {value} and www.example.com")
    privacy.redact_series(pd.Series(["jan@firma.de", "https://example.org/x"]))


def test_series_redaction_keeps_missing_and_flags_uncertain():
    s = pd.Series(["Easy to use", None, "Support by Maria Schneider, call 0171-5550002", "Great, write to a.b@c.de"])
    out = privacy.redact_series(s, known_names=["Maria Schneider"])
    assert out["text"][0] == "Easy to use" and pd.isna(out["text"][1])
    assert "Schneider" not in out["text"][2] and "5550002" not in out["text"][2]
    assert out["text"][3] == "Great, write to [e-mail removed]"
    assert out["certain"].tolist() == [True, True, True, True]


def test_theme_quotes_leave_out_uncertain_and_can_be_off():
    themes = {"Support": ["support"]}
    c = pd.Series(["Great support from Maria Schneider", "Support is quick", "Support: call +49 30 1234567"])
    q = comments.theme_quotes(c, themes, per_theme=5)
    assert q["Support"] == ["Support is quick", "Support: call [phone removed]"]
    assert comments.theme_quotes(c, themes, mode="off") == {"Support": []}
    assert comments.theme_quotes(c, themes, mode=False) == {"Support": []}  # YAML's reading of `quotes: off`
    with pytest.raises(ValueError, match="redacted, off"):
        comments.theme_quotes(c, themes, mode="raw")


def test_load_survey_masks_values_of_contact_columns_under_any_name(tmp_path):
    p = tmp_path / "survey_responses.csv"
    pd.DataFrame(
        {
            "respondent_id": ["R1", "R2"],
            "survey_year": [2020, 2020],
            "csat": [5, 4],
            "nps": [9, 8],
            "comment_value": ["Great support from Quirin Zwetschgenbaum", "Easy; mail zwetschgi@kunde.example if needed"],
            "comment_improve": ["Call Ottilie on her mobile", None],
            "Name": ["Quirin Zwetschgenbaum", "Ottilie Brennessel"],
            "E-mail address": ["q@kunde.example", "zwetschgi@kunde.example"],
            "phone": ["+49 30 1234567", ""],
        }
    ).to_csv(p, index=False)
    df = load_survey(p)
    assert not {"Name", "E-mail address", "phone"} & set(df.columns)
    text = " ".join(df["comment_value"].dropna()) + " " + " ".join(df["comment_improve"].dropna())
    assert "Zwetschgenbaum" not in text and "zwetschgi" not in text
    assert "Ottilie" not in text  # the whole value "Ottilie Brennessel" is not there, but a word of it is uncommon


def _page(body: str) -> str:
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==" * 50
    return (
        "<html><head><style>@media print { a { color: #123 } } @page { size: A4 }</style>"
        "<script>var x = '+49 30 1234567';</script></head><body>"
        f'<img src="data:image/png;base64,{png}"><svg><path d="M 72.0 345.6 L 123.4567 891.2345 0171 5550002"/></svg>'
        f"<table><tr><td>57.142857142857146</td><td>2019 2020</td><td>2,734,656</td></tr></table>{body}</body></html>"
    )


def test_scan_file_reads_only_page_text(tmp_path):
    clean, leak = tmp_path / "clean.html", tmp_path / "leak.html"
    clean.write_text(_page("<p>NPS 54.1 in 2020, 17823 answers</p>"), encoding="utf-8")
    leak.write_text(_page("<p>call +44 20 7946 0958 or lisa_m&#252;ller@ex&auml;mple.de</p>"), encoding="utf-8")
    assert privacy.scan_file(clean) == []
    assert sorted(f.kind for f in privacy.scan_file(leak)) == ["e-mail", "phone"]


def _notebook(markdown: str, plain: str) -> dict:
    png = "iVBORw0KGgo" + "0123456789+/" * 500
    return {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": [markdown]},
            {"cell_type": "code", "metadata": {}, "source": "x = '+49 30 1234567'  # code is not published text", "execution_count": 1,
             "outputs": [{"output_type": "display_data", "metadata": {}, "data": {"image/png": png, "text/plain": [plain]}}]},
        ],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    }


def test_scan_file_reads_notebook_text_not_images_or_code(tmp_path):
    clean, leak = tmp_path / "clean.ipynb", tmp_path / "leak.ipynb"
    clean.write_text(json.dumps(_notebook("# NPS 2020", "   nps   n\n0  57.142857142857146  17823\n1  2019  2020")))
    leak.write_text(json.dumps(_notebook("Ask @jdoe_cx_support", "DE89 3704 0044 0532 0130 00")))
    assert privacy.scan_file(clean) == []
    assert sorted(f.kind for f in privacy.scan_file(leak)) == ["handle", "iban"]


def _fake_year(out: Path, notebook: dict) -> None:
    d = out / "2020"
    d.mkdir(parents=True)
    (d / "report.html").write_text(_page("<p>NPS 57.1</p>"), encoding="utf-8")
    (d / "report.ipynb").write_text(json.dumps(notebook))
    (d / "metrics.json").write_text(json.dumps({"run": {"year": 2020, "reports": [], "skipped": {}}}))


def test_publish_names_file_and_kind_never_the_value(tmp_path):
    _fake_year(tmp_path / "clean", _notebook("# NPS", "57.142857142857146 2019 2020"))
    assert (publish_year(tmp_path / "clean", 2020, tmp_path / "share", include_notebooks=True) / "report.ipynb").exists()
    _fake_year(tmp_path / "leak", _notebook("Call +1 (555) 555\u20130199 or +49 30 1234567", "ok"))
    with pytest.raises(PublishError) as err:
        publish_year(tmp_path / "leak", 2020, tmp_path / "share2", include_notebooks=True)
    assert "report.ipynb: 2 phone numbers" in str(err.value)
    assert "555" not in str(err.value) and "1234567" not in str(err.value)
    assert not (tmp_path / "share2" / "2020").exists()


# ---------------------------------------------------------------- end to end
def _texts_of(folder: Path) -> dict[str, str]:
    """Every file's text as a reader or analyst would get it: raw text, xlsx XML, PDF text."""
    from pypdf import PdfReader

    out = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        if path.suffix == ".pdf":
            out[name] = "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)
        elif path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                out[name] = "\n".join(z.read(n).decode("utf-8", "ignore") for n in z.namelist() if n.endswith(".xml"))
        elif path.suffix in (".html", ".ipynb", ".csv", ".json", ".md", ".txt", ".svg"):
            text = path.read_text(encoding="utf-8", errors="ignore")
            if path.suffix == ".ipynb":
                text += "\n" + json.dumps(json.loads(text), ensure_ascii=False)  # undo JSON's \u escapes
            out[name] = text
    return out


def _assert_nothing_planted(folder: Path) -> None:
    texts = _texts_of(folder)
    assert texts
    for name, text in texts.items():
        for _kind, value in PLANTED + [("name", CONTACT[0]), ("e-mail", CONTACT[1])]:
            assert not leaked(text, value), f"{name} holds a planted {_kind}"


CONTACT = ("Quirin Zwetschgenbaum", "q.zwetschgenbaum@kunde-eins.example.de")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cxreport.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=1800)


@pytest.mark.slow
def test_planted_comments_never_reach_reports_or_publication(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data" / "sample", data)
    survey = pd.read_csv(data / "survey_responses.csv", dtype=str, keep_default_na=False)
    template = survey[survey["survey_year"] == "2020"].iloc[0]
    rows = []
    for i, (_kind, value) in enumerate(PLANTED + [("name", CONTACT[0])]):
        row = template.copy()
        row["respondent_id"] = f"R2020-PII{i:03d}"
        row["comment_value"] = TEMPLATES[i % 3].format(value)
        row["comment_improve"] = f"Faster support response please, {value}"
        row["contact_name"], row["contact_email"] = CONTACT
        rows.append(row)
    pd.concat([survey, pd.DataFrame(rows)]).to_csv(data / "survey_responses.csv", index=False)

    out, dest = tmp_path / "out", tmp_path / "dest"
    proc = _cli("report", "--root", str(ROOT), "--year", "2020", "--data", str(data), "--out", str(out),
                "--only", "01_survey_scores", "--formats", "html,pdf", "--set", "quotes_per_theme=40")
    assert proc.returncode == 0, proc.stderr
    html = (out / "2020" / "01_survey_scores.html").read_text(encoding="utf-8")
    for mask in ("[phone removed]", "[e-mail removed]", "[IBAN removed]", "[card number removed]", "[profile removed]", "[name removed]"):
        assert mask in html  # planted comments were quoted, masked
    _assert_nothing_planted(out)

    proc = _cli("publish", "--year", "2020", "--out", str(out), "--dest", str(dest), "--include-notebooks")
    assert proc.returncode == 0, proc.stderr
    assert (dest / "2020" / "01_survey_scores.ipynb").exists()
    _assert_nothing_planted(dest)

    # A leak planted into the executed notebook is refused: file and kind named, value not.
    nb_path = out / "2020" / "01_survey_scores.ipynb"
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": ["Call +49 30 1234567 or mail jan.vogel(at)firma-drei.de"]})
    nb_path.write_text(json.dumps(nb), encoding="utf-8")
    proc = _cli("publish", "--year", "2020", "--out", str(out), "--dest", str(tmp_path / "dest2"), "--include-notebooks")
    assert proc.returncode == 1
    assert "01_survey_scores.ipynb: 1 phone number, 1 e-mail address" in proc.stderr + proc.stdout
    assert "1234567" not in proc.stderr + proc.stdout and "vogel" not in proc.stderr + proc.stdout
    assert not (tmp_path / "dest2" / "2020").exists()

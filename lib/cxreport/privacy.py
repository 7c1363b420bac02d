"""Personal-data detection: the one detector behind comment redaction and the publish scan.

What it finds, and from where:

- ``phone``: phone numbers, validated by libphonenumber (Presidio's ``PhoneRecognizer``)
  for the regions in :data:`PHONE_REGIONS`, after a cheap structural check that tells a
  phone from the decimals, dates, years and counts a report is full of;
- ``iban``: IBANs, ISO 13616 mod-97 checksum (Presidio's ``IbanRecognizer``);
- ``card``: payment card numbers, Luhn checksum (Presidio's ``CreditCardRecognizer``);
- ``e-mail``: e-mail addresses, Unicode ones too, and obfuscated ones
  (``name at domain dot com``, ``name(at)domain.de``), with our own patterns
  (Presidio's e-mail recogniser asks tldextract, which fetches the public-suffix list
  over the network);
- ``profile``: profile URLs (LinkedIn, XING, Facebook, GitHub, X ...) and ``handle``:
  social handles (``@name``);
- redaction only: ``url`` (Presidio's ``UrlRecognizer``), ``name`` (contact-column values,
  and probable personal names: two or more capitalised words one of which is not a
  common word in wordfreq's English or German lists), ``number`` (any other run of seven
  or more digits: in a comment, better masked than kept).

Text is normalised first (NFKC, Unicode dashes to ``-``, zero-width characters dropped,
a line break inside an e-mail address joined) and every pattern is linear: no nested
quantifiers that can backtrack, bounded repeats, cheap pre-filters before the
recognisers. Findings carry a kind and a position, never the value, so messages that
name them cannot leak it. Nothing here touches the network or downloads a model.
"""

from __future__ import annotations

import html as _html
import json
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import pandas as pd
from stdnum import iban, luhn

# Regions whose national formats (leading 0, no country code) are recognised.
PHONE_REGIONS = ("US", "GB", "DE", "FR", "NL", "IE", "ES", "IT", "AU", "CA", "AT", "CH", "BE", "DK", "SE", "NO", "PL", "PT", "FI", "LU", "NZ")

# Kinds the publish scan looks for (contact data); redaction also masks urls, names, long numbers.
CONTACT_KINDS = ("e-mail", "phone", "iban", "card", "profile", "handle")
REDACTED_KINDS = CONTACT_KINDS + ("url", "name", "number")

MASKS = {
    "e-mail": "[e-mail removed]",
    "phone": "[phone removed]",
    "iban": "[IBAN removed]",
    "card": "[card number removed]",
    "profile": "[profile removed]",
    "handle": "[handle removed]",
    "url": "[link removed]",
    "name": "[name removed]",
    "number": "[number removed]",
}
# Plural forms for messages such as "2 phone numbers".
KIND_LABELS = {
    "e-mail": ("e-mail address", "e-mail addresses"),
    "phone": ("phone number", "phone numbers"),
    "iban": ("IBAN", "IBANs"),
    "card": ("card number", "card numbers"),
    "profile": ("profile URL", "profile URLs"),
    "handle": ("social handle", "social handles"),
    "url": ("link", "links"),
    "name": ("name", "names"),
    "number": ("long number", "long numbers"),
}

# Product, partner-programme and report terms that are capitalised but never a person.
GLOSSARY = (
    "Business Central", "Power BI", "Power Apps", "Power Automate", "Power Platform", "Power Pages",
    "Power Virtual Agents", "Customer Insights", "Dynamics 365", "Dynamics NAV", "Dynamics AX", "Dynamics CRM",
    "Microsoft", "Microsoft Teams", "Microsoft 365", "Office 365", "Azure", "Azure DevOps", "Azure Active Directory",
    "SharePoint", "SharePoint Online", "Exchange Online", "OneDrive", "Outlook", "Copilot", "Fabric",
    "Partner Center", "Cloud Solution Provider", "Net Promoter Score", "Customer Success", "Service Desk",
    "Help Desk", "Knowledge Base", "Contoso", "Contoso Cloud Services", "Contoso Partner Programme",
    "Google Workspace", "Amazon Web Services", "Salesforce", "Windows Server", "SQL Server", "API",
)
# Theme names of params/defaults.yaml: capitalised in headings, never a person.
THEME_TERMS = (
    "Ease of use", "Support", "Stability and reliability", "Pricing and value", "Invoicing",
    "Onboarding and learning", "Automation and upgrades", "Monitoring and performance",
)

COMMON_ZIPF = 3.0  # a word seen at least once per 100,000 words (wordfreq's Zipf scale)


@dataclass(frozen=True)
class Finding:
    """One piece of personal data: its kind (see :data:`REDACTED_KINDS`) and position, never its value."""

    kind: str
    start: int
    end: int


@dataclass(frozen=True)
class Redaction:
    """Redacted text; ``certain`` is False when something that may be personal is left in it
    (a capitalised pair of common words mid-sentence, a stray ``@``, an ``(at)``)."""

    text: str
    certain: bool


# ------------------------------------------------------------------ normalisation
_DASHES = {ord(c): "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"}
_DROP = set("\u00ad\u200b\u200c\u200d\u2060\ufeff")
_LINE_BREAK = re.compile(r"[ \t]*(?:\r\n|\r|\n)[ \t]*")
_AT_MARK = re.compile(r"@|[(\[{<]at[)\]}>]", re.IGNORECASE)


def normalise(text: str) -> tuple[str, list[int] | None]:
    """NFKC text with Unicode dashes as ``-`` and no zero-width characters; a line break
    next to an e-mail-like token is joined (a CSV field wrapped inside an address), any
    other becomes a space. Returns the text and, per character, its index in the input
    (``None`` when nothing changed)."""
    if text.isascii() and "\n" not in text and "\r" not in text:
        return text, None
    out: list[str] = []
    idx: list[int] = []
    for i, ch in enumerate(text):
        if ch in _DROP:
            continue
        if ord(ch) > 127:
            ch = unicodedata.normalize("NFKC", ch).translate(_DASHES)
        for c in ch:
            out.append(c)
            idx.append(i)
    norm = "".join(out)
    if "\n" in norm or "\r" in norm:
        parts: list[str] = []
        pidx: list[int] = []
        pos = 0
        for m in _LINE_BREAK.finditer(norm):
            parts.append(norm[pos : m.start()])
            pidx.extend(idx[pos : m.start()])
            left = norm[max(0, m.start() - 64) : m.start()].rsplit(" ", 1)[-1]
            right = norm[m.end() : m.end() + 64].split(" ", 1)[0]
            if left and right and (_AT_MARK.search(left) or _AT_MARK.search(right)):
                pass  # joined: the address goes on after the break
            else:
                parts.append(" ")
                pidx.append(idx[m.start()])
            pos = m.end()
        parts.append(norm[pos:])
        pidx.extend(idx[pos:])
        norm, idx = "".join(parts), pidx
    return norm, idx


# ------------------------------------------------------------------ recognisers (lazy: Presidio imports take a second)
@lru_cache(maxsize=None)
def _presidio():
    """Presidio's recognisers, built once: phone (libphonenumber), IBAN (ISO 13616), card (Luhn), URL.
    Called directly: no AnalyzerEngine, no spaCy model, nothing downloaded."""
    from presidio_analyzer.predefined_recognizers import CreditCardRecognizer, IbanRecognizer, PhoneRecognizer, UrlRecognizer

    return {
        # POSSIBLE leniency (0): the structural check in _plausible_phone does the rest, and
        # fictional ranges such as 555 numbers must still count.
        "phone": PhoneRecognizer(supported_regions=PHONE_REGIONS, leniency=0),
        "iban": IbanRecognizer(),
        "card": CreditCardRecognizer(),
        "url": UrlRecognizer(),
    }


def _run(recogniser: str, text: str, entity: str) -> list[tuple[int, int]]:
    """Spans one Presidio recogniser finds in ``text``."""
    return [(r.start, r.end) for r in _presidio()[recogniser].analyze(text, [entity], None)]


# E-mail: local part, @, dotted domain, letters for the top-level domain; \w is Unicode.
EMAIL_RE = re.compile(r"(?<![\w.%+\-])[\w%+\-]{1,64}(?:\.[\w%+\-]{1,64}){0,8}@[\w\-]{1,63}(?:\.[\w\-]{1,63}){0,8}\.[^\W\d_]{2,24}(?![\w\-])")
_AT = r"(?:[ ]?[(\[{<][ ]?(?i:at)[ ]?[)\]}>][ ]?|[ ](?i:at)[ ]|[ ]@[ ]?|@[ ])"
_DOT = r"(?:[ ]?[(\[{<][ ]?(?i:dot)[ ]?[)\]}>][ ]?|[ ](?i:dot)[ ]|\.)"
# Obfuscated e-mail: "name at domain dot com", "name(at)domain.de", "name [at] domain [dot] org".
OBFUSCATED_EMAIL_RE = re.compile(
    rf"(?<![\w.%+\-])[\w%+\-]{{1,64}}(?:\.[\w%+\-]{{1,64}}){{0,8}}{_AT}[\w\-]{{1,63}}(?:{_DOT}[\w\-]{{1,63}}){{0,6}}?{_DOT}[^\W\d_]{{2,24}}(?![\w\-])"
)
# With a plain " at " and real dots, only well-known top-level domains count ("look at example.com").
COMMON_TLDS = frozenset(
    "com org net edu gov info biz io co uk de at ch fr nl be lu it es pt ie dk se no fi pl cz eu us ca au nz me tv app dev email".split()
)
_PROFILE_HOSTS = ("linkedin", "xing", "facebook", "fb.com", "instagram", "twitter", "x.com", "github", "gitlab", "t.me", "tiktok", "youtube", "medium.com", "threads.net", "bsky", "mastodon")
# Profile URL: a social network's host and a path naming a person.
PROFILE_RE = re.compile(
    r"(?i)(?<![\w.\-])(?:https?://)?(?:[a-z0-9\-]{1,20}\.)?"
    r"(?:linkedin\.com/(?:in|pub|profile)/|xing\.com/profile/|facebook\.com/|fb\.com/|instagram\.com/|twitter\.com/|x\.com/"
    r"|github\.com/|gitlab\.com/|t\.me/|tiktok\.com/@?|youtube\.com/(?:@|c/|user/)|medium\.com/@|threads\.net/@?|bsky\.app/profile/"
    r"|mastodon\.[a-z]{2,10}/@)[\w.\-%@]{1,100}"
)
# Social handle: @ then a letter, not part of an e-mail address.
HANDLE_RE = re.compile(r"(?<![\w@.\-/])@[^\W\d]\w{1,49}")
# A run of digits that may be a phone: optional +, optional (, then 7-17 digits with short separators.
PHONE_CANDIDATE_RE = re.compile(r"(?<![\w.,+\-/])(?:\+[ ]?)?(?:\([ ]?)?\d(?:[ \-./()]{0,3}\d){6,16}(?!\w)")
_NANP = re.compile(r"\(?\d{3}\)?[ .\-]?\d{3}[ .\-]\d{4}")
_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}")
CARD_CANDIDATE_RE = re.compile(r"(?<![\w.,\-])\d(?:[ \-]?\d){12,18}(?!\w|[.,]\d)")
IBAN_CANDIDATE_RE = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ \-]?[A-Z0-9]){10,32}")
URL_HINT_RE = re.compile(r"(?i)https?://|www\d{0,3}\.|[a-z0-9]\.(?:com|org|net|io|de|co|uk|eu|info|biz|me|app|dev)\b")
LONG_NUMBER_RE = re.compile(r"(?<!\w)(?:\+[ ]?)?\d(?:[ \-./()]{0,2}\d){6,}")
_WORD_RE = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")


def _emails(t: str) -> Iterable[tuple[str, int, int]]:
    """E-mail addresses (RFC 5322 shapes, Unicode letters allowed) and obfuscated ones."""
    if "@" in t:
        for m in EMAIL_RE.finditer(t):
            yield "e-mail", m.start(), m.end()
    low = t.lower()
    if "at" in low and ("." in t or "dot" in low):
        for m in OBFUSCATED_EMAIL_RE.finditer(t):
            s = m.group(0).lower()
            if re.search(r"[(\[{<] ?at|\bdot\b|@", s) or s.rsplit(".", 1)[-1] in COMMON_TLDS:
                yield "e-mail", m.start(), m.end()


def _report_number(s: str) -> bool:
    """A decimal, a date, a run of years or a row of a table: the numbers reports are made of."""
    if re.fullmatch(r"\d+[.,]\d+", s) or _DATE.search(s) or "  " in s:
        return True
    groups = re.findall(r"\d+", s)
    if all(len(g) == 4 and 1900 <= int(g) <= 2100 for g in groups):
        return True
    return "." in s and (" " in s or "(" in s) and not s.startswith("+")


def _plausible_phone(s: str) -> bool:
    """Structure of a written phone number, not a decimal, date, year run or table row."""
    digits = sum(c.isdigit() for c in s)
    if not 7 <= digits <= 15:
        return False
    if _report_number(s):
        return False
    groups = re.findall(r"\d+", s)
    if sum(len(g) == 1 for g in groups[1:]) >= 2:
        return False  # single digits in a row: a table, not a phone
    if s.startswith("+"):
        return digits >= 8
    if s.startswith("0"):
        return len(groups) > 1 or digits >= 9
    return bool(_NANP.fullmatch(s))  # no country code, no trunk 0: only the North American shape


_DECIMAL_TOKEN = re.compile(r"\(?\d+\.\d+\)?(?= |$)")
# Worth asking libphonenumber: a +, a trunk 0 or an area code in brackets, or the North American shape.
_PHONE_GATE = re.compile(r"\+|(?:^|[ (])0\d|\(\d|\d{3}[ .\-]?\d{3}[ .\-]\d{4}")


@lru_cache(maxsize=4096)
def _phone_spans(piece: str) -> tuple[tuple[int, int], ...]:
    """Phone numbers in one digit run: libphonenumber's matches that have a phone's shape (cached)."""
    out = []
    for a, b in _run("phone", piece, "PHONE_NUMBER"):
        # The matcher may glue a count to the phone after it ("17823 (555) 123-4567"):
        # drop leading groups until what is left has a phone's shape.
        for k in [a] + [k + 1 for k in range(a, b) if piece[k] == " "]:
            if _plausible_phone(piece[k:b]) and (k == a or _run("phone", piece[k:b], "PHONE_NUMBER")):
                out.append((k, b))
                break
    return tuple(out)


def _phones(t: str) -> Iterable[tuple[str, int, int]]:
    """Phone numbers: libphonenumber (PhoneRecognizer) on digit runs that look like one."""
    for m in PHONE_CANDIDATE_RE.finditer(t):
        cand = m.group(0)
        # Decimals split a run into pieces ("2019 (54.1) 17823 (555) 123-4567"): a phone has none.
        pos = 0
        bounds = [(d.start(), d.end()) for d in _DECIMAL_TOKEN.finditer(cand)] + [(len(cand), len(cand))]
        for d0, d1 in bounds:
            piece = cand[pos:d0].strip()
            offset = m.start() + pos + (len(cand[pos:d0]) - len(cand[pos:d0].lstrip()))
            pos = d1
            if sum(c.isdigit() for c in piece) >= 7 and _PHONE_GATE.search(piece):
                for a, b in _phone_spans(piece):
                    yield "phone", offset + a, offset + b


def _cards(t: str) -> Iterable[tuple[str, int, int]]:
    """Payment card numbers: CreditCardRecognizer (issuer prefixes), Luhn checksum (stdnum.luhn)."""
    for m in CARD_CANDIDATE_RE.finditer(t):
        for a, b in _run("card", m.group(0), "CREDIT_CARD"):
            if luhn.is_valid(re.sub(r"\D", "", m.group(0)[a:b])):
                yield "card", m.start() + a, m.start() + b


def _ibans(t: str) -> Iterable[tuple[str, int, int]]:
    """IBANs: IbanRecognizer (country formats), ISO 13616 mod-97 checksum (stdnum.iban)."""
    for m in IBAN_CANDIDATE_RE.finditer(t):
        for a, b in _run("iban", m.group(0), "IBAN_CODE"):
            if iban.is_valid(m.group(0)[a:b]):
                yield "iban", m.start() + a, m.start() + b


def _profiles(t: str) -> Iterable[tuple[str, int, int]]:
    """Profile URLs on social and professional networks, and @handles."""
    low = t.lower()
    if any(h in low for h in _PROFILE_HOSTS):
        for m in PROFILE_RE.finditer(t):
            yield "profile", m.start(), m.end()
    if "@" in t:
        for m in HANDLE_RE.finditer(t):
            yield "handle", m.start(), m.end()


def _urls(t: str) -> Iterable[tuple[str, int, int]]:
    """Any other web address (UrlRecognizer), for redaction only: a report cites sources."""
    if URL_HINT_RE.search(t):
        for a, b in _run("url", t, "URL"):
            yield "url", a, b


def _merge(found: Iterable[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Overlapping findings as one span, of the kind that covered the most of it."""
    out: list[list] = []
    for kind, a, b in sorted(found, key=lambda f: (f[1], -f[2])):
        if out and a < out[-1][2]:
            last = out[-1]
            if b - a > last[2] - last[1] and kind != last[0]:
                last[0] = kind
            last[2] = max(last[2], b)
        else:
            out.append([kind, a, b])
    return [tuple(f) for f in out]


def _to_original(found, idx: list[int] | None, n: int) -> list[Finding]:
    """Findings with positions moved from the normalised text back to the input."""
    if idx is None:
        return [Finding(k, a, b) for k, a, b in found]
    return [Finding(k, idx[a], idx[b - 1] + 1 if b - 1 < len(idx) else n) for k, a, b in found]


def detect(text: str, kinds: Iterable[str] = CONTACT_KINDS) -> list[Finding]:
    """Contact data in ``text``: e-mail addresses, phone numbers (libphonenumber), IBANs
    (ISO 13616 checksum), card numbers (Luhn), profile URLs and social handles.

    Positions refer to ``text`` as given. ``kinds`` narrows the search (``url`` may be
    asked for too). Names are not looked for here: see :func:`redact`.
    """
    if not text:
        return []
    kinds = set(kinds)
    norm, idx = normalise(text)
    found = _contact_findings(norm, kinds)
    return _to_original(_merge(found), idx, len(text))


def _contact_findings(norm: str, kinds: set[str]) -> list[tuple[str, int, int]]:
    """Every recogniser of ``kinds`` over normalised text, cheapest gates first."""
    found: list[tuple[str, int, int]] = []
    if "e-mail" in kinds:
        found += _emails(norm)
    if "profile" in kinds or "handle" in kinds:
        found += [f for f in _profiles(norm) if f[0] in kinds]
    if "iban" in kinds:
        found += _ibans(norm)
    if "card" in kinds:
        found += _cards(norm)
    if "phone" in kinds:
        found += _phones(norm)
    if "url" in kinds:
        found += _urls(norm)
    return found


# ------------------------------------------------------------------ names
@lru_cache(maxsize=200_000)
def is_common_word(word: str) -> bool:
    """A word that is frequent in English or German (wordfreq, Zipf >= 3), so not a surname by itself."""
    from wordfreq import zipf_frequency

    w = word.lower()
    return max(zipf_frequency(w, "en", wordlist="small"), zipf_frequency(w, "de", wordlist="small")) >= COMMON_ZIPF


@lru_cache(maxsize=1)
def _glossary_words() -> frozenset[str]:
    return frozenset(w.lower() for term in GLOSSARY + THEME_TERMS for w in _WORD_RE.findall(term))


class KnownNames:
    """Values of contact columns (names, e-mail addresses, phones), to mask wherever they appear.

    Matching is by words, so it stays linear with millions of values: a whole value
    (up to :attr:`MAX_WORDS` words) is masked, and so is any of its words that is not a
    common word (a surname such as ``Wurzelbacher``, not ``Anna``).
    """

    MAX_WORDS = 5

    def __init__(self, values: Iterable[str] = ()):
        """Index the values' whole word sequences and their uncommon words (wordfreq)."""
        self.phrases: set[str] = set()
        self.words: set[str] = set()
        for v in values:
            if not isinstance(v, str) or not v.strip():
                continue
            words = [w.lower() for w in re.findall(r"\w+", unicodedata.normalize("NFKC", v))]
            if 0 < len(words) <= self.MAX_WORDS:
                self.phrases.add(" ".join(words))
            for w in words:
                if len(w) >= 3 and not w.isdigit() and not is_common_word(w):
                    self.words.add(w)

    def __bool__(self) -> bool:
        """True when there is anything to look for."""
        return bool(self.phrases or self.words)

    def find(self, t: str) -> list[tuple[str, int, int]]:
        """Spans of ``t`` that hold a known value or one of its uncommon words."""
        toks = [(m.group(0).lower(), m.start(), m.end()) for m in re.finditer(r"\w+", t)]
        out = []
        for i, (w, a, b) in enumerate(toks):
            if w in self.words:
                out.append(("name", a, b))
            for n in range(2, self.MAX_WORDS + 1):
                if i + n > len(toks):
                    break
                if " ".join(x[0] for x in toks[i : i + n]) in self.phrases:
                    out.append(("name", a, toks[i + n - 1][2]))
        return out


def _capitalised(w: str) -> bool:
    """``Name``-shaped: an upper-case first letter and lower case after it (not an acronym)."""
    return w[0].isupper() and any(c.islower() for c in w[1:])


def _sentence_initial(t: str, start: int) -> bool:
    """Whether the word at ``start`` begins a sentence, so its capital says nothing."""
    before = t[max(0, start - 40) : start].rstrip(" \t\"'“‘(*•>-")
    return not before or before[-1] in ".!?:;\n\r"


def _probable_names(t: str) -> tuple[list[tuple[str, int, int]], list[tuple[int, int]]]:
    """Runs of two or more capitalised words: masked when one word is neither common
    (wordfreq) nor in the glossary; returns (findings, undecided spans of common words)."""
    words = [m for m in _WORD_RE.finditer(t) if _capitalised(m.group(0))]
    found, undecided = [], []
    runs: list[list[re.Match]] = []
    for m in words:
        if runs and t[runs[-1][-1].end() : m.start()] == " ":
            runs[-1].append(m)
        else:
            runs.append([m])
    gloss = _glossary_words()
    for run in runs:
        if len(run) < 2:
            continue
        cands = run[1:] if _sentence_initial(t, run[0].start()) else run
        unknown = [m for m in cands if m.group(0).lower() not in gloss]
        if not unknown:
            continue
        if any(not is_common_word(m.group(0)) for m in unknown):
            found.append(("name", cands[0].start(), cands[-1].end()))
        else:
            undecided.append((cands[0].start(), cands[-1].end()))  # common words, may still be a name ("Maria Schneider")
    return found, undecided


# Left after masking, these make a redaction uncertain: a stray @, an "(at)", a " dot com".
_RESIDUE_RE = re.compile(r"@|[(\[{<] ?(?i:at|dot) ?[)\]}>]|\b(?i:dot) (?i:com|org|net|de)\b")


def redact(text: str, known_names: Iterable[str] | KnownNames = ()) -> Redaction:
    """Mask contact data (see :func:`detect`), web links, long numbers, known contact
    values and probable personal names in ``text``.

    ``certain`` is False when something that may be personal could not be decided (a
    pair of capitalised common words mid-sentence, a leftover ``@`` or ``(at)``): such a
    text should not be quoted.
    """
    if not isinstance(text, str) or not text:
        return Redaction(text, True)
    known = known_names if isinstance(known_names, KnownNames) else KnownNames(known_names)
    norm, idx = normalise(text)
    found = _contact_findings(norm, set(CONTACT_KINDS) | {"url"})
    found += [("number", m.start(), m.end()) for m in LONG_NUMBER_RE.finditer(norm) if not _report_number(m.group(0))]
    names, undecided = _probable_names(norm)
    found += names
    if known:
        found += known.find(norm)
    # Undecided unless another finding (a known contact value) masks it.
    certain = all(any(a < fb and fa < b for _, fa, fb in found) for a, b in undecided)
    spans = _to_original(_merge(found), idx, len(text))
    parts, pos = [], 0
    for f in spans:
        parts.append(text[pos : f.start])
        parts.append(MASKS[f.kind])
        pos = f.end
    parts.append(text[pos:])
    out = "".join(parts)
    if certain:
        certain = not _RESIDUE_RE.search(normalise(re.sub(r"\[[a-zA-Z -]+ removed\]", " ", out))[0])
    return Redaction(out, certain)


# Cheap vectorised tests: a text none of them matches holds nothing to redact.
_PREFILTERS = (
    r"@|\d(?:\D{0,2}\d){6}",
    r"(?i)(?:\bat\b|[(\[{<] ?at ?[)\]}>])[^\n]{0,80}?(?:\.|\bdot\b)",
    r"[A-Z]{2}\d{2}",
    r"(?i)https?://|www\.|\.[a-z]{2,}\b|linkedin|xing|facebook|instagram|twitter|github|t\.me/",
    r"[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ'’\-]+ [A-ZÀ-ÖØ-Þ]",
    r"[^\x00-\x7f]",
)


def redact_series(text: pd.Series, known_names: Iterable[str] | KnownNames = ()) -> pd.DataFrame:
    """:func:`redact` over a column: a frame with ``text`` (redacted, missing stays missing)
    and ``certain``. Cheap vectorised pre-filters pick the candidates; only those (each
    distinct text once) go through the recognisers, so millions of comments stay fast."""
    s = pd.Series(text, dtype="string")
    known = known_names if isinstance(known_names, KnownNames) else KnownNames(known_names)
    cand = pd.Series(False, index=s.index)
    for pat in _PREFILTERS:
        cand |= s.str.contains(pat, regex=True).fillna(False).astype(bool)
    if known:
        rest = s[~cand & s.notna()]
        if len(rest):
            words = rest.str.lower().str.findall(r"\w+").explode()
            hit = words.isin(known.words) | words.isin(known.phrases)
            cand.loc[hit[hit].index.unique()] = True
    out = s.copy()
    certain = pd.Series(True, index=s.index)
    if cand.any():
        c = s[cand]
        codes, uniques = pd.factorize(c)
        done = [redact(u, known) for u in uniques]
        texts = pd.array([d.text for d in done] + [pd.NA], dtype="string")
        sure = [d.certain for d in done] + [True]
        out[cand] = texts[codes]
        certain[cand] = [sure[k] for k in codes]
    return pd.DataFrame({"text": out, "certain": certain})


# ------------------------------------------------------------------ published files
_HTML_DROP = re.compile(r"<!--.*?-->|<(script|style|svg)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_DATA_URI = re.compile(r"data:[\w/+.\-]+;base64,[A-Za-z0-9+/=]+")
_TEXT_MIME = ("text/plain", "text/html", "text/markdown")


def html_text(markup: str) -> str:
    """The visible text of an HTML page: no tags, styles, scripts, SVG, or ``data:`` URIs."""
    text = _TAG.sub(" ", _HTML_DROP.sub(" ", markup))
    return _DATA_URI.sub(" ", _html.unescape(text))


def _joined(src) -> str:
    """A notebook field as one string (nbformat stores text as a list of lines or a string)."""
    return "".join(src) if isinstance(src, list) else str(src or "")


def notebook_text(nb: dict) -> list[str]:
    """The reader-facing text of a notebook: markdown cells and text outputs (plain, HTML,
    markdown, streams); not code and not images."""
    texts = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            texts.append(_joined(cell.get("source")))
        for out in cell.get("outputs", []) or []:
            if out.get("output_type") == "stream":
                texts.append(_joined(out.get("text")))
            for mime in _TEXT_MIME:
                if mime in out.get("data", {}):
                    body = _joined(out["data"][mime])
                    texts.append(html_text(body) if mime == "text/html" else body)
    return texts


def file_text(path: Path) -> list[str]:
    """The text of a published file to scan: page text of .html, reader-facing text of
    .ipynb, cell text of .xlsx, whole .csv/.json/.md/.txt; nothing for other files."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        with zipfile.ZipFile(path) as z:
            return [html_text(z.read(n).decode("utf-8", "ignore")) for n in z.namelist() if n.endswith(".xml")]
    if suffix not in (".html", ".htm", ".ipynb", ".csv", ".json", ".md", ".txt"):
        return []
    raw = path.read_text(encoding="utf-8", errors="ignore")
    if suffix in (".html", ".htm"):
        return [html_text(raw)]
    if suffix == ".ipynb":
        try:
            nb = json.loads(raw)
        except ValueError:
            return [raw]
        # Not a notebook after all: scan all of it.
        return notebook_text(nb) if isinstance(nb, dict) and "cells" in nb else [raw]
    return [raw]


def scan_file(path: Path, kinds: Iterable[str] = CONTACT_KINDS) -> list[Finding]:
    """Contact data (see :func:`detect`) in the text readers see in a published file.

    Positions refer to the extracted text, not the file; use the kinds, not the values.
    """
    found: list[Finding] = []
    for text in file_text(path):
        found += detect(text, kinds)
    return found


def describe(findings: Iterable[Finding]) -> str:
    """``2 phone numbers, 1 e-mail address``: counts by kind, never a value."""
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.kind] = counts.get(f.kind, 0) + 1
    return ", ".join(f"{n} {KIND_LABELS[k][0 if n == 1 else 1]}" for k, n in counts.items())

"""Open comments: redaction of personal data, theme counts and representative quotes.

Themes come from a dictionary kept in params, so a business can add its own:
``{"Ease of use": ["eas(e|y|ily|iness)", "simple", "user.friendly"], ...}``.
Each pattern is a case-insensitive regular expression matched anywhere in the
comment; a comment mentions a theme when any of its patterns matches.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from . import privacy

# Kept for callers that import them; the masks come from :mod:`cxreport.privacy`.
EMAIL_MASK = privacy.MASKS["e-mail"]
PHONE_MASK = privacy.MASKS["phone"]
QUOTE_MODES = ("redacted", "off")


def redact_personal_data(text: pd.Series, known_names=()) -> pd.Series:
    """Mask personal data in free text: e-mail addresses (plain, Unicode, obfuscated),
    phone numbers (libphonenumber), IBANs (ISO 13616 checksum), card numbers (Luhn),
    profile URLs, handles, links, long numbers, ``known_names`` (values of contact
    columns) and probable personal names. See :func:`cxreport.privacy.redact`.

    Missing values stay missing. Anything quoted in a report passes through here first,
    because respondents do type their contact details into comment boxes.
    """
    return privacy.redact_series(text, known_names)["text"]


def _theme_regex(patterns: list[str] | str) -> str:
    if isinstance(patterns, str):
        patterns = [patterns]
    for p in patterns:
        try:
            re.compile(p)
        except re.error as exc:
            raise ValueError(f"theme pattern {p!r} is not a valid regular expression: {exc}") from exc
    return "|".join(f"(?:{p})" for p in patterns)


def theme_matches(comments: pd.Series, themes: dict[str, list[str]]) -> pd.DataFrame:
    """Boolean frame: one column per theme, True where the comment mentions it."""
    s = pd.Series(comments, dtype="string")
    # Match each distinct text once: short comments ("Easy to use") repeat a lot.
    codes, uniques = pd.factorize(s)
    u = pd.Series(uniques, dtype="string")
    with warnings.catch_warnings():
        # Users' patterns may contain groups; we only ask whether they match.
        warnings.filterwarnings("ignore", message="This pattern is interpreted as a regular expression")
        found = {}
        for name, pats in themes.items():  # one vectorised pass per theme
            hit = u.str.contains(_theme_regex(pats), case=False, regex=True).fillna(False).to_numpy(dtype=bool)
            found[name] = np.append(hit, False)[codes]  # code -1 (missing) maps to the appended False
    return pd.DataFrame(found, index=s.index)


def theme_counts(comments: pd.Series, themes: dict[str, list[str]], min_n: int = 0) -> pd.DataFrame:
    """How many comments mention each theme, and their share of all comments.

    The base (``comments``) is the number of non-blank comments; a comment can
    mention several themes, so shares do not add up to 100. Sorted by count,
    most mentioned first. Themes mentioned by fewer than ``min_n`` comments
    keep their count but are flagged ``small``.
    """
    s = pd.Series(comments, dtype="string").str.strip()
    s = s[s.notna() & (s != "")]
    matches = theme_matches(s, themes)
    counts = matches.sum()
    base = len(s)
    out = pd.DataFrame(
        {
            "theme": counts.index,
            "mentions": counts.to_numpy(dtype=int),
            "share_pct": 100 * counts.to_numpy() / base if base else np.nan,
        }
    )
    out["comments"] = base
    out["small"] = out["mentions"] < min_n
    return out.sort_values(["mentions", "theme"], ascending=[False, True]).reset_index(drop=True)


def theme_quotes(
    comments: pd.Series, themes: dict[str, list[str]], per_theme: int = 3, max_chars: int = 160, mode: str = "redacted"
) -> dict[str, list[str]]:
    """A few representative quotes per theme, redacted.

    Representative means: comments that mention the theme, the most specific
    first (those mentioning the fewest other themes), then the shortest; the
    choice is deterministic so a report rebuilds identically. Quotes are
    redacted (:func:`cxreport.privacy.redact`) and cut at ``max_chars``; a quote
    whose redaction is not certain is left out. ``mode="off"`` shows no quotes.
    """
    if mode is False:
        mode = "off"  # YAML reads a bare `off` (as in `--set quotes=off`) as false
    if mode not in QUOTE_MODES:
        raise ValueError(f"quotes must be one of {', '.join(QUOTE_MODES)}, not {mode!r}")
    if mode == "off":
        return {theme: [] for theme in themes}
    s = pd.Series(comments, dtype="string").str.strip()
    s = s[s.notna() & (s != "")].drop_duplicates()
    matches = theme_matches(s, themes)
    breadth = matches.sum(axis=1)
    length = s.str.len()
    quotes = {}
    for theme in themes:  # one pass per theme, vectorised within
        hit = matches[theme]
        order = pd.DataFrame({"breadth": breadth[hit], "length": length[hit]}).sort_values(["breadth", "length"], kind="stable")
        # Redact only the few candidates; drop uncertain ones, then any that became identical.
        red = privacy.redact_series(s.loc[order.index[: 4 * per_theme]])
        picked = red.loc[red["certain"], "text"].drop_duplicates().head(per_theme)
        quotes[theme] = [q if len(q) <= max_chars else q[: max_chars - 1].rstrip() + "…" for q in picked]
    return quotes

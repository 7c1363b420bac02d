"""Numbers in words: the only home of number style, for the prose, the tables and the charts.

Every report writes a figure through one of these functions, so one rule holds
everywhere:

- thousands separators: ``1,178``;
- a true minus sign (U+2212) for negatives: ``−3.0 points``, ``−€1,234``;
- an en dash ``–`` for a figure that is unknown (None, NaN);
- money with the currency of the ``currency`` setting (an ISO 4217 code):
  ``€1,234``, ``$1,234``, ``£1,234``, else the code after the amount: ``1,234 CHF``;
- percentages of 0-100 with one decimal (``95.7%``) and differences of
  percentages or scores in points (``+3.0 points``);
- ``p < 0.001`` rather than ``p = 0.000``;
- singular and plural: ``1 customer``, ``1,178 customers``;
- sentence case at a sentence start, and maturity stages by name.

The functions are pure: text in, text out; nothing here reads a setting or a file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..stats import finite_or_none

MINUS = "\u2212"  # the minus sign, not the hyphen
MISSING = "–"  # en dash: a figure that is unknown
SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}  # currencies written before the amount; any other code follows it


_value = finite_or_none  # a figure, or None when it is unknown


def _unsigned(f: float, digits: int) -> str:
    return f"{abs(f):,.{digits}f}"


def _is_zero(f: float, digits: int) -> bool:
    """Whether ``f`` shows as zero at ``digits`` decimals (so it carries no sign: never ``−0.0``)."""
    return float(f"{abs(f):.{digits}f}") == 0


def number(x, digits: int = 0, signed: bool = False) -> str:
    """A number with thousands separators and ``digits`` decimals; ``–`` when unknown.

    >>> number(1178), number(1234.567, 2), number(-3.14159, 1), number(None)
    ('1,178', '1,234.57', '−3.1', '–')
    >>> number(3, 1, signed=True), number(-0.04, 1, signed=True)
    ('+3.0', '0.0')
    """
    f = _value(x)
    if f is None:
        return MISSING
    if _is_zero(f, digits):
        return _unsigned(0.0, digits)
    sign = MINUS if f < 0 else ("+" if signed else "")
    return sign + _unsigned(f, digits)


def money(x, currency: str, digits: int = 0) -> str:
    """An amount of money in ``currency`` (ISO 4217): ``€1,234``, ``−$1,234``, ``1,234 CHF``; ``–`` when unknown.

    EUR, USD and GBP take their symbol before the amount; any other code is
    written after it, as in running text (``1,234 CHF``).

    >>> money(1234.4, "EUR"), money(-1234, "USD"), money(1234, "GBP"), money(1234, "CHF"), money(-5, "CHF")
    ('€1,234', '−$1,234', '£1,234', '1,234 CHF', '−5 CHF')
    """
    f = _value(x)
    if f is None:
        return MISSING
    sign = MINUS if f < 0 and not _is_zero(f, digits) else ""
    amount = _unsigned(f, digits)
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{amount}" if symbol else f"{sign}{amount} {currency}"


def percent(x, digits: int = 1) -> str:
    """A 0-100 percentage: ``95.7%`` (``1,250.0%`` above a thousand); ``–`` when unknown.

    >>> percent(95.66), percent(8.5, 0), percent(None)
    ('95.7%', '8%', '–')
    """
    shown = number(x, digits)
    return shown if shown == MISSING else shown + "%"


def points(x, digits: int = 1, signed: bool = True) -> str:
    """A difference of two percentages or scores: ``+3.0 points``, ``−1.5 points``; ``–`` when unknown.

    ``signed=False`` drops the plus sign (a gap stated with its direction in words).

    >>> points(3), points(-1.49), points(2.0, signed=False), points(1, 0)
    ('+3.0 points', '−1.5 points', '2.0 points', '+1 point')
    """
    shown = number(x, digits, signed=signed)
    if shown == MISSING:
        return shown
    return shown + (" point" if digits == 0 and abs(round(_value(x))) == 1 else " points")


def p_value(p) -> str:
    """A p-value as a reader reads it: ``p < 0.001`` below a thousandth, else ``p = 0.027`` (three decimals).

    >>> p_value(0.0000004), p_value(0.02689), p_value(0.27), p_value(None)
    ('p < 0.001', 'p = 0.027', 'p = 0.270', 'p unknown')
    """
    f = _value(p)
    if f is None:
        return "p unknown"
    if f < 0.0005:  # shows as 0.000 at three decimals
        return "p < 0.001"
    return f"p = {min(f, 1.0):.3f}"


def _plural_of(word: str) -> str:
    """The regular English plural: ``customer`` → ``customers``, ``company`` → ``companies``, ``business`` → ``businesses``."""
    if word.endswith("y") and len(word) > 1 and word[-2].lower() not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    return word + "s"


def plural(n, singular: str, plural: str | None = None) -> str:
    """A count with its noun in the right number: ``1 customer``, ``2 customers``, ``1,178 customers``.

    ``plural`` gives an irregular plural (``plural(3, "analysis", "analyses")``);
    otherwise the regular one is formed. ``n`` is shown as a whole number.

    >>> plural(1, "passive"), plural(0, "partner"), plural(1178, "customer"), plural(2, "company")
    ('1 passive', '0 partners', '1,178 customers', '2 companies')
    """
    f = _value(n)
    word = singular if f is not None and abs(f) == 1 else (plural or _plural_of(singular))
    return f"{number(n)} {word}"


def sentence_case(text: str) -> str:
    """The first letter upper case, the rest untouched: ``onboarding and learning: 11`` → ``Onboarding and learning: 11``.

    Leading markdown or punctuation is skipped (``**onboarding**`` → ``**Onboarding**``);
    a text that starts with a digit is returned as it is.

    >>> sentence_case("onboarding and learning: 11"), sentence_case("**nps** by partner"), sentence_case("3 partners")
    ('Onboarding and learning: 11', '**Nps** by partner', '3 partners')
    """
    for i, ch in enumerate(text):
        if ch.isalnum():
            return text[:i] + ch.upper() + text[i + 1:] if ch.isalpha() else text
    return text


def stage_name(stage, names: Sequence[str] | Mapping) -> str:
    """A maturity stage (1-5, also ``1.0`` or ``"1"``) by its name: ``1`` → ``Ad Hoc``; ``–`` when unknown.

    ``names`` is the stages in order (a list, or the ``maturity_stages`` setting,
    whose keys are the names in order from stage 1), or a mapping of stage
    number to name. A value that is no stage is shown as a number.

    >>> stage_name(1, ["Ad Hoc", "Opportunistic"]), stage_name(2.0, {1: "Ad Hoc", 2: "Opportunistic"}), stage_name(None, [])
    ('Ad Hoc', 'Opportunistic', '–')
    """
    f = _value(stage)
    if f is None:
        return MISSING
    if f != int(f):
        return number(f, 1)
    k = int(f)
    if isinstance(names, Mapping):
        if k in names:
            return str(names[k])
        if str(k) in names:
            return str(names[str(k)])
        ordered = list(names)  # the maturity_stages setting: names in order, stage 1 first
        if all(isinstance(key, str) and not key.isdigit() for key in ordered) and 1 <= k <= len(ordered):
            return ordered[k - 1]
        return number(k)
    return str(names[k - 1]) if 1 <= k <= len(names) else number(k)

"""Comment themes, quotes and redaction."""

import pandas as pd

from cxreport import comments

THEMES = {
    "Ease of use": [r"\beas(e|y|ily|iness)\b", "simple"],
    "Support": ["support"],
    "Pricing": ["pric"],
}


def test_redaction_masks_contacts_but_keeps_numbers_that_are_not_phones():
    s = pd.Series(
        [
            "Write to anna.berg@partner1.example.com please",
            "Call +44 20 7946 0958 or (555) 123-4567",
            "Upgraded to Business Central 15 in 2020, 3 of 4 users happy",
            None,
        ]
    )
    out = comments.redact_personal_data(s)
    assert out[0] == "Write to [e-mail removed] please"
    assert "7946" not in out[1] and "123-4567" not in out[1] and out[1].count("[phone removed]") == 2
    assert out[2] == s[2]
    assert pd.isna(out[3])


def test_theme_counts_by_hand():
    c = pd.Series(["Easy to use", "Great support, easy setup", "Fair price", "", None, "Nothing to add"])
    t = comments.theme_counts(c, THEMES).set_index("theme")
    assert t.loc["Ease of use", "mentions"] == 2
    assert t.loc["Support", "mentions"] == 1 and t.loc["Pricing", "mentions"] == 1
    assert (t["comments"] == 4).all()  # blank and missing comments are not in the base
    assert t.loc["Ease of use", "share_pct"] == 50.0


def test_theme_quotes_prefer_specific_short_comments_and_redact():
    c = pd.Series(
        [
            "Easy, simple, and support is great and prices fair",
            "Easy to use",
            "Easy deployment, mail me at bob@example.org",
        ]
    )
    q = comments.theme_quotes(c, THEMES, per_theme=2)
    assert q["Ease of use"][0] == "Easy to use"
    assert "bob@example.org" not in " ".join(q["Ease of use"])
    assert q["Pricing"] == ["Easy, simple, and support is great and prices fair"]


def test_bad_theme_pattern_is_a_clear_error():
    import pytest

    with pytest.raises(ValueError, match="not a valid regular expression"):
        comments.theme_counts(pd.Series(["x"]), {"Broken": ["(unclosed"]})

"""Sample survey waves: 2019 and 2020 partner-satisfaction surveys.

How a wave is made: each respondent gets a latent satisfaction (normal), lower
for first-year users. Every rating question has a fixed answer distribution
(the design of the wave, below); answers are handed out by rank of a noisy
copy of the latent, so the distribution is exact while ratings correlate
with each other the way real ones do. Touchpoints with a higher loading are
stronger drivers of overall satisfaction, which the key-driver analysis can
then find.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .accounts import generate_accounts

# Answer counts per scale point for each wave's design. The 2020 counts give
# the published figures: CSAT 3/36/31 on 3/4/5 (mean 4.4, 95.7% top-2-box),
# NPS 44/22/4 (57.1), touchpoint means 4.2/4.1/4.5/4.5/3.9/3.7.
WAVES = {
    2019: {
        "respondents": 61,
        "csat": {2: 1, 3: 4, 4: 33, 5: 23},
        "nps": {"promoters": 37, "passives": 20, "detractors": 4},
        "touchpoints": {
            "value_pricing": {2: 2, 3: 8, 4: 33, 5: 18},
            "trial": {2: 3, 3: 9, 4: 24, 5: 13},
            "first_use": {3: 6, 4: 27, 5: 28},
            "repeated_use": {2: 1, 3: 4, 4: 26, 5: 30},
            "support": {1: 2, 2: 4, 3: 13, 4: 25, 5: 17},
            "invoicing": {1: 2, 2: 7, 3: 16, 4: 22, 5: 12},
        },
        "first_year_share": 0.30,
        "submitted": ("2019-11-04", "2019-11-29"),
    },
    2020: {
        "respondents": 70,
        "csat": {3: 3, 4: 36, 5: 31},
        "nps": {"promoters": 44, "passives": 22, "detractors": 4},
        "touchpoints": {
            "value_pricing": {2: 1, 3: 8, 4: 37, 5: 24},
            "trial": {2: 2, 3: 8, 4: 29, 5: 19},
            "first_use": {3: 4, 4: 27, 5: 39},
            "repeated_use": {2: 1, 3: 3, 4: 26, 5: 40},
            "support": {1: 1, 2: 4, 3: 14, 4: 30, 5: 21},
            "invoicing": {1: 2, 2: 6, 3: 17, 4: 26, 5: 17},
        },
        "first_year_share": 0.26,
        "submitted": ("2020-11-02", "2020-11-27"),
    },
}

# How strongly each touchpoint follows overall satisfaction (0-1).
LOADINGS = {"value_pricing": 0.55, "trial": 0.35, "first_use": 0.75, "repeated_use": 0.8, "support": 0.7, "invoicing": 0.3}
# How much lower first-year users' latent satisfaction is, per touchpoint.
FIRST_YEAR_PENALTY = {"value_pricing": 0.2, "trial": 0.1, "first_use": 0.9, "repeated_use": 0.5, "support": 0.4, "invoicing": 0.3}

VALUE_COMMENTS = [
    "Easy panel, everything in one place",
    "Easiness, support, webinars",
    "Ease of use, stable",
    "Ease of use. Great customer service. Strong pricing model",
    "Easy to set up new customers. Very good support",
    "Easy to use, manage in general",
    "Easy to establish, speedy response in support",
    "Easy deployment, reduce of overhead cost",
    "Easy to install, professional support, high understanding of BC and Azure",
    "Easy to order licenses",
    "Easy implementation and maintenance of solutions",
    "Easy to use service, clear user interface, stability",
    "Ease of use, great customer support, convenient solutions, and support for a variety of hosting solutions",
    "Easy and structured process for setting up new environments",
    "Simple to deploy a new tenant in minutes",
    "Fast and professional support team",
    "Stable platform, hardly any downtime",
    "Reliable hosting and good uptime",
    "Good price for what we get",
    "Transparent pricing per user",
    "Automated upgrades save us a lot of time",
    "The webinars and knowledge base",
    "Quick response from the support desk",
    "Flexibility to host many customers on one platform",
]
IMPROVE_COMMENTS = [
    "More onboarding material for new colleagues",
    "Onboarding videos would help our new consultants",
    "Invoices are hard to reconcile with our customers",
    "Invoice format could show usage per customer",
    "Better performance monitoring for customer installations",
    "A monitoring dashboard with alerts",
    "Faster upgrades to the newest Business Central version",
    "Support response time at weekends",
    "Clearer documentation of the API",
    "Price for small customers is high",
]
FIRST_NAMES = ["Anna", "Lukas", "Sofia", "Jonas", "Mia", "Noah", "Emma", "Liam", "Olivia", "Elias", "Ida", "Matteo"]
LAST_NAMES = ["Berg", "Jensen", "Novak", "Kowalski", "Meyer", "Rossi", "Dubois", "Silva", "Horvat", "Larsen"]


def _counts_for(design: dict[int, int], n: int) -> dict[int, int]:
    """Scale a design's counts to n answers (largest remainder), keeping the shape."""
    total = sum(design.values())
    if n == total:
        return dict(design)
    raw = {k: v * n / total for k, v in design.items()}
    counts = {k: int(np.floor(v)) for k, v in raw.items()}
    short = n - sum(counts.values())
    for k in sorted(raw, key=lambda k: raw[k] - counts[k], reverse=True)[:short]:
        counts[k] += 1
    return counts


def _assign_by_rank(latent: np.ndarray, counts: dict, rng: np.random.Generator) -> np.ndarray:
    """Hand out answers with exactly ``counts`` per value: lowest latent gets the lowest value."""
    values = np.repeat(np.array(sorted(counts), dtype=float), [counts[k] for k in sorted(counts)])
    order = np.argsort(latent + rng.normal(0, 1e-9, latent.size), kind="stable")
    out = np.empty(latent.size, dtype=float)
    out[order] = values
    return out


def _customers_for(latent: np.ndarray, accounts: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Pick respondents' accounts so that happier respondents tend to sit at healthier accounts."""
    n = latent.size
    picked = accounts.iloc[rng.choice(len(accounts), size=n, replace=n > len(accounts))]
    by_health = picked["customer_id"].to_numpy()[np.argsort(picked["health"].to_numpy() + rng.normal(0, 0.8, n), kind="stable")]
    out = np.empty(n, dtype=object)
    out[np.argsort(latent, kind="stable")] = by_health
    return out


def _wave(year: int, design: dict, n: int, rng: np.random.Generator, accounts: pd.DataFrame) -> pd.DataFrame:
    first_year = rng.random(n) < design["first_year_share"]
    latent = rng.normal(0, 1, n) - 0.35 * first_year
    tenure = np.where(first_year, rng.uniform(0.1, 0.95, n), rng.uniform(1.0, 7.0, n)).round(1)
    frame = {
        "respondent_id": [f"R{year}-{i:05d}" for i in range(1, n + 1)],
        "survey_year": year,
        "submitted_at": pd.to_datetime(design["submitted"][0])
        + pd.to_timedelta(rng.integers(0, (pd.to_datetime(design["submitted"][1]) - pd.to_datetime(design["submitted"][0])).days + 1, n), unit="D"),
        "customer_id": _customers_for(latent, accounts, rng),
        "tenure_years": tenure,
    }
    frame["csat"] = _assign_by_rank(latent + rng.normal(0, 0.35, n), _counts_for(design["csat"], n), rng)

    nps_design = design["nps"]
    nps_counts = _counts_for({0: nps_design["detractors"], 1: nps_design["passives"], 2: nps_design["promoters"]}, n)
    category = _assign_by_rank(latent + rng.normal(0, 0.5, n), nps_counts, rng)
    detractor_scores = rng.choice([3, 4, 5, 6, 6, 6], n)
    frame["nps"] = np.select([category == 2, category == 1], [rng.choice([9, 10], n, p=[0.45, 0.55]), rng.choice([7, 8], n, p=[0.35, 0.65])], detractor_scores)

    for name, counts in design["touchpoints"].items():
        answered = sum(counts.values())
        n_answered = round(n * answered / design["respondents"])
        tp_latent = LOADINGS[name] * latent + np.sqrt(1 - LOADINGS[name] ** 2) * rng.normal(0, 1, n) - FIRST_YEAR_PENALTY[name] * first_year
        values = np.full(n, np.nan)
        # The trial and invoicing do not apply to everyone: blank = not applicable.
        idx = np.sort(rng.choice(n, size=n_answered, replace=False)) if n_answered < n else np.arange(n)
        values[idx] = _assign_by_rank(tp_latent[idx], _counts_for(counts, n_answered), rng)
        frame[f"tp_{name}"] = values
    df = pd.DataFrame(frame)
    for col in ["csat", "nps", *[f"tp_{k}" for k in design["touchpoints"]]]:
        df[col] = df[col].astype("Int64")

    # Comments: most respondents say what they value; "ease" dominates, as published.
    says_value = rng.random(n) < 0.7
    value_pick = rng.integers(0, len(VALUE_COMMENTS), n)
    ease_bias = rng.random(n) < 0.45  # nudge towards the ease comments (the first 14)
    value_pick = np.where(ease_bias, rng.integers(0, 14, n), value_pick)
    df["comment_value"] = pd.Series(np.array(VALUE_COMMENTS, dtype=object)[value_pick]).where(says_value)
    says_improve = rng.random(n) < 0.45
    df["comment_improve"] = pd.Series(np.array(IMPROVE_COMMENTS, dtype=object)[rng.integers(0, len(IMPROVE_COMMENTS), n)]).where(says_improve)

    # Some respondents leave contact details, as the published survey allowed.
    leaves_contact = rng.random(n) < 0.3
    first = np.array(FIRST_NAMES, dtype=object)[rng.integers(0, len(FIRST_NAMES), n)]
    last = np.array(LAST_NAMES, dtype=object)[rng.integers(0, len(LAST_NAMES), n)]
    names = pd.Series(first + " " + last)
    emails = (pd.Series(first).str.lower() + "." + pd.Series(last).str.lower() + "@partner" + pd.Series(np.arange(n) % 40).astype(str) + ".example.com")
    df["contact_name"] = names.where(leaves_contact)
    df["contact_email"] = emails.where(leaves_contact)
    # ...and, as in real exports, a couple type them into a comment box.
    if n >= 10:
        k1, k2 = 3, 7
        df.loc[k1, "comment_improve"] = f"Call me about onboarding on +44 20 7946 {year % 10000:04d} or write to {emails[k1]}"
        df.loc[k2, "comment_value"] = f"Great support, thanks to your team (reach me at {emails[k2]})"
    return df


def generate_survey(seed: int = 2020, respondents_per_year: int | None = None, accounts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Both survey waves as one ``survey_responses.csv`` frame.

    ``respondents_per_year`` overrides each wave's size (for benchmarks); the
    answer distributions are scaled to it. Respondents' ``customer_id`` come
    from the sample accounts (:func:`cxreport.sample.accounts.generate_accounts`),
    matched so that satisfaction follows account health.
    """
    if accounts is None:
        accounts = generate_accounts(seed)
    rng = np.random.default_rng(seed)
    waves = []
    for year, design in WAVES.items():
        n = respondents_per_year or design["respondents"]
        waves.append(_wave(year, design, n, rng, accounts))
    df = pd.concat(waves, ignore_index=True)
    df["submitted_at"] = df["submitted_at"].dt.strftime("%Y-%m-%d")
    return df

"""Sample customer accounts: the made-up business every sample file refers to.

1,300 customer accounts (``C00001``..``C01300``, the ids the survey's
respondents carry), served by a few dozen partners of very different sizes,
across industries, company sizes and regions. Each account also gets a
latent ``health`` (standard normal, not written to the file) that the other
generators use, so that maturity, satisfaction, usage and churn hang
together the way they do in a real book of business.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

N_ACCOUNTS = 1300
N_PARTNERS = 36
INDUSTRIES = {
    "Manufacturing": 0.24,
    "Wholesale and distribution": 0.18,
    "Professional services": 0.17,
    "Retail": 0.13,
    "Financial services": 0.10,
    "Healthcare": 0.08,
    "Public sector": 0.10,
}
SIZES = {"1-49": 0.38, "50-249": 0.34, "250-999": 0.19, "1000+": 0.09}
REGIONS = {"Nordics": 0.22, "DACH": 0.20, "UK and Ireland": 0.18, "Benelux": 0.14, "Southern Europe": 0.12, "North America": 0.14}
# Healthier accounts are a little more common among larger companies and in some industries.
SIZE_HEALTH = {"1-49": -0.25, "50-249": 0.0, "250-999": 0.2, "1000+": 0.35}
INDUSTRY_HEALTH = {
    "Manufacturing": 0.0, "Wholesale and distribution": -0.1, "Professional services": 0.25, "Retail": -0.25,
    "Financial services": 0.3, "Healthcare": -0.05, "Public sector": -0.3,
}
NAME_PARTS = (
    ["Nordic", "Alpine", "Harbour", "Summit", "Blue", "Iron", "Oak", "Silver", "North", "Bright", "Vista", "Delta", "Granite", "Maple", "Crown"],
    ["Foods", "Logistics", "Tools", "Textiles", "Systems", "Health", "Retail", "Metals", "Finance", "Works", "Labs", "Trading", "Energy", "Care"],
    ["AS", "GmbH", "Ltd", "BV", "AB", "SpA", "Inc", "Oy"],
)


def partner_ids(n: int = N_PARTNERS) -> list[str]:
    """Partner ids ``P001``..``Pnnn``."""
    return [f"P{i:03d}" for i in range(1, n + 1)]


def _pick(rng: np.random.Generator, shares: dict[str, float], n: int) -> np.ndarray:
    keys = list(shares)
    p = np.array([shares[k] for k in keys], dtype=float)
    return rng.choice(keys, size=n, p=p / p.sum())


def generate_accounts(seed: int = 2020, n_accounts: int = N_ACCOUNTS, n_partners: int = N_PARTNERS) -> pd.DataFrame:
    """The ``accounts.csv`` frame plus a ``health`` column (drop it before writing).

    Partner sizes follow a Zipf-like law: a few large partners serve
    hundreds of accounts, many small ones a handful.
    """
    rng = np.random.default_rng(seed + 1)
    ids = [f"C{i:05d}" for i in range(1, n_accounts + 1)]
    weights = 1 / np.arange(1, n_partners + 1) ** 0.9
    partner = rng.choice(partner_ids(n_partners), size=n_accounts, p=weights / weights.sum())
    industry = _pick(rng, INDUSTRIES, n_accounts)
    size = _pick(rng, SIZES, n_accounts)
    region = _pick(rng, REGIONS, n_accounts)
    since = pd.Timestamp("2014-01-01") + pd.to_timedelta(rng.integers(0, 7 * 365, n_accounts), unit="D")
    parts = [np.array(p, dtype=object)[rng.integers(0, len(p), n_accounts)] for p in NAME_PARTS]
    names = pd.Series(parts[0] + " " + parts[1] + " " + parts[2])
    # Names need not be unique in real life, but a suffix keeps account lists readable.
    names = names + pd.Series(np.where(names.duplicated(keep="first"), " (" + pd.Series(ids) + ")", ""))
    health = rng.normal(0, 1, n_accounts) + pd.Series(size).map(SIZE_HEALTH).to_numpy() + pd.Series(industry).map(INDUSTRY_HEALTH).to_numpy()
    return pd.DataFrame(
        {
            "customer_id": ids,
            "name": names,
            "partner_id": partner,
            "industry": industry,
            "company_size": size,
            "region": region,
            "customer_since": since.strftime("%Y-%m-%d"),
            "health": health.round(4),
        }
    )

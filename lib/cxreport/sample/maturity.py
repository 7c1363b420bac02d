"""Sample cloud-maturity assessments: account teams scoring their customers in 2019 and 2020.

How the sample is made (all vectorised, one seed):

- Each account gets a latent cloud maturity: its ``health`` (which already
  carries company size and industry) plus a further size and industry effect
  and noise. Ranked against IDC's shares (23/24/16/28/9%) it gives the
  customer's true stage in 2020, so the 2020 mix sits near IDC's.
- The 2019 stage is the 2020 stage minus a step: most customers stay, about
  a quarter moved up one stage (healthier accounts more often), a few moved
  up two or down one.
- Each dimension score is the true level plus a stage-typical strength or
  weakness (Ad Hoc customers lack a strategy, Repeatable ones skills,
  Managed ones cost transparency...) plus noise, rounded to 1-5; a few
  dimensions are left blank and a few assessments are too incomplete to
  place. So the rubric recovers the true stage for most customers, not all,
  as with real assessments.
- Most accounts are assessed each year (not those that joined too late);
  every account behind a 2020 survey response is assessed in 2020, and some
  are assessed twice in 2020 (only the later one counts).
- ``target_stage`` is mostly above the current stage; about 45% of customers
  expect to reach Optimized, as IDC found.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .accounts import generate_accounts

IDC_SHARES = (0.23, 0.24, 0.16, 0.28, 0.09)
DIMENSIONS = ("strategy", "technology", "people", "governance", "cost_value")
# Stage-typical strengths (+) and weaknesses (-) per dimension, rows = stages 1-5.
STAGE_PROFILE = np.array(
    [
        [-0.45, 0.35, 0.05, -0.10, 0.15],   # Ad Hoc: pilots without a cloud strategy
        [0.25, 0.15, 0.05, -0.45, 0.00],    # Opportunistic: buy-in, but no governance yet
        [0.20, 0.30, -0.50, 0.10, -0.10],   # Repeatable: processes formalised, skills lag
        [0.20, 0.25, 0.05, 0.15, -0.55],    # Managed: cloud at the core, cost and value unclear
        [0.05, 0.05, 0.00, 0.05, -0.15],    # Optimized
    ]
)
SIZE_MATURITY = {"1-49": -0.35, "50-249": 0.0, "250-999": 0.3, "1000+": 0.55}
INDUSTRY_MATURITY = {
    "Manufacturing": 0.0, "Wholesale and distribution": -0.1, "Professional services": 0.2, "Retail": 0.05,
    "Financial services": 0.35, "Healthcare": -0.15, "Public sector": -0.35,
}
# Targets: how many stages above today a customer aims (capped at 5).
TARGET_GAPS = {0: 0.10, 1: 0.47, 2: 0.28, 3: 0.15}
ASSESSED_SHARE = {2019: 0.84, 2020: 0.90}


def _stage_from_rank(latent: np.ndarray, shares=IDC_SHARES) -> np.ndarray:
    u = (np.argsort(np.argsort(latent, kind="stable"), kind="stable") + 0.5) / len(latent)
    return 1 + np.searchsorted(np.cumsum(shares)[:-1], u, side="right")


def _scores(level: np.ndarray, stage: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    raw = level[:, None] + STAGE_PROFILE[stage - 1] + rng.normal(0, 0.45, (len(level), len(DIMENSIONS)))
    scores = np.clip(np.rint(raw), 1, 5)
    scores[rng.random(scores.shape) < 0.03] = np.nan  # a dimension the team did not assess
    incomplete = rng.random(len(level)) < 0.006  # too little assessed to place the customer
    scores[incomplete, 2:] = np.nan
    return scores


def _targets(stage: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    gaps = rng.choice(list(TARGET_GAPS), size=len(stage), p=list(TARGET_GAPS.values()))
    target = np.minimum(stage + gaps, 5).astype(float)
    target[rng.random(len(stage)) < 0.06] = np.nan  # target not asked
    return target


def _earliest(since: pd.Series, year: int) -> pd.Series:
    """First possible assessment day: mid-January, and not before two weeks into the relationship."""
    return (since + pd.Timedelta(days=14)).clip(lower=pd.Timestamp(f"{year}-01-15"))


def _between(lo: pd.Series, hi: pd.Series, rng: np.random.Generator) -> pd.Series:
    """A uniformly drawn day from lo to hi (lo when hi is earlier)."""
    span = (hi - lo).dt.days.clip(lower=0).to_numpy()
    return lo + pd.to_timedelta(np.floor(rng.random(len(lo)) * (span + 1)), unit="D")


def generate_maturity(accounts: pd.DataFrame | None = None, seed: int = 2020, always_assessed=None) -> pd.DataFrame:
    """The ``maturity_assessments.csv`` frame for 2019 and 2020.

    ``accounts`` is :func:`cxreport.sample.accounts.generate_accounts` (with
    its latent ``health``); ``always_assessed`` lists customer ids that must
    be assessed in 2020 (the 2020 survey respondents' accounts).
    """
    if accounts is None:
        accounts = generate_accounts(seed)
    rng = np.random.default_rng(seed + 3)
    n = len(accounts)
    since = pd.to_datetime(accounts["customer_since"]).reset_index(drop=True)
    health = accounts["health"].to_numpy(dtype=float)
    latent = (health + accounts["company_size"].map(SIZE_MATURITY).fillna(0).to_numpy()
              + accounts["industry"].map(INDUSTRY_MATURITY).fillna(0).to_numpy() + rng.normal(0, 0.6, n))
    stage20 = _stage_from_rank(latent)

    # Movement 2019 -> 2020: healthier accounts move up more often.
    u = (np.argsort(np.argsort(health, kind="stable"), kind="stable") + 0.5) / n
    p_down, p_up, p_up2 = 0.10 - 0.07 * u, 0.13 + 0.20 * u, 0.03
    r = rng.random(n)
    step = np.select([r < p_down, r < p_down + p_up, r < p_down + p_up + p_up2], [-1, 1, 2], default=0)
    stage19 = np.clip(stage20 - step, 1, 5)

    frames = []
    must = pd.Series(accounts["customer_id"]).isin(set(always_assessed if always_assessed is not None else ()))
    for year, stage in ((2019, stage19), (2020, stage20)):
        joined_in_time = since <= pd.Timestamp(f"{year}-11-15")
        assessed = (joined_in_time & (rng.random(n) < ASSESSED_SHARE[year])) | (must & (year == 2020))
        level = stage + rng.uniform(-0.3, 0.3, n)
        first = _earliest(since, year)
        dates = _between(first, pd.Series(pd.Timestamp(f"{year}-12-10"), index=since.index), rng)
        frame = pd.DataFrame({"customer_id": accounts["customer_id"].to_numpy(), "assessed_on": dates})
        scores = _scores(level, stage, rng)
        for j, dim in enumerate(DIMENSIONS):
            frame[f"m_{dim}"] = pd.array(scores[:, j], dtype="Float64").astype("Int64")
        frame["target_stage"] = pd.array(_targets(stage, rng), dtype="Float64").astype("Int64")
        frames.append(frame[assessed.to_numpy()])
        if year == 2020:
            # Some accounts were assessed twice in 2020; the earlier, lower-scored one is superseded.
            again = assessed.to_numpy() & (rng.random(n) < 0.04) & ((dates - first).dt.days >= 30).to_numpy()
            early = frame[again].copy()
            early["assessed_on"] = _between(first[again], dates[again] - pd.Timedelta(days=21), rng)
            early_scores = _scores(np.maximum(level[again] - 0.6, 1), np.maximum(stage[again] - 1, 1), rng)
            for j, dim in enumerate(DIMENSIONS):
                early[f"m_{dim}"] = pd.array(early_scores[:, j], dtype="Float64").astype("Int64")
            frames.append(early)
    out = pd.concat(frames, ignore_index=True)
    out = out.sort_values(["assessed_on", "customer_id"], kind="stable").reset_index(drop=True)
    out["assessed_on"] = out["assessed_on"].dt.strftime("%Y-%m-%d")
    return out

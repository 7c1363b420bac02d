"""Sample partner-programme data: the vendor's view of many partners' customers.

Three files, all tied to the sample accounts (:mod:`cxreport.sample.accounts`)
and their 36 partners ``P001``..``P036`` of Zipf-like sizes:

- ``partners.csv``: each partner's name, region (where most of its customers
  are) and programme tier (by size).
- ``partner_survey_responses.csv``: the vendor surveys every customer once a
  year (as Sage does); about two in five customers answer, larger ones with
  a few contacts, all through the year with a fourth-quarter crunch. Answers
  follow the account's latent ``health`` plus a partner effect: P004 is a
  clear negative outlier and P006 a clear positive one; the smallest
  partners get fewer than ten answers a year. One customer of P002 sends a
  dozen answers in 2020, which the CSAT-index cap of eight per customer
  organisation then limits. Years 2019 and 2020.
- ``usage.csv``: monthly active users per customer and workload (Business
  Central, Power BI, Power Apps, Power Automate, and capacity units of
  Customer Insights), January 2019 to December 2020, growing at a pace that
  follows health and the partner.

This file is separate from ``survey_responses.csv``, whose 2020 wave must
keep reproducing the published 70-respondent partner survey.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .accounts import N_PARTNERS, generate_accounts, partner_ids

YEARS = (2019, 2020)
NEGATIVE_OUTLIER, POSITIVE_OUTLIER = "P004", "P006"
MANY_ANSWERS_PARTNER = "P002"  # one of its customers sends a dozen answers in 2020
RESPONSE_RATE = 0.42
# Share of a year's answers per month: the fourth-quarter crunch.
MONTH_WEIGHTS = np.array([6, 6, 7, 7, 7, 7, 5, 5, 8, 12, 15, 15], dtype=float)
WORKLOADS = {  # workload -> (share of accounts using it, users per seat-based company-size unit)
    "Business Central": (0.92, 1.0),
    "Power BI": (0.55, 0.6),
    "Power Apps": (0.32, 0.35),
    "Power Automate": (0.22, 0.3),
    "Customer Insights": (0.06, 0.15),
}
SIZE_USERS = {"1-49": 7, "50-249": 24, "250-999": 70, "1000+": 180}
FIRST_MONTH, LAST_MONTH = "2019-01", "2020-12"
PARTNER_WORDS = (
    ["Fjord", "Northwind", "Contour", "Lumen", "Meridian", "Quarry", "Beacon", "Atlas", "Cobalt", "Tandem", "Pinnacle", "Riverside"],
    ["Consulting", "Solutions", "Digital", "IT", "Advisory", "Systems"],
)


def partner_effects(seed: int = 2020) -> pd.Series:
    """Each partner's effect on its customers' answers (latent scale), with the two outliers set."""
    rng = np.random.default_rng(seed + 5)
    effect = pd.Series(rng.normal(0, 0.12, N_PARTNERS), index=partner_ids())
    effect["P001"] = 0.05  # the largest partner sits near the programme average
    effect[NEGATIVE_OUTLIER] = -1.3
    effect[POSITIVE_OUTLIER] = 1.4
    return effect


def generate_partners(accounts: pd.DataFrame, seed: int = 2020) -> pd.DataFrame:
    """``partners.csv``: id, a made-up name, main region and tier (Gold: 6 largest, Silver: next 12, else Member)."""
    rng = np.random.default_rng(seed + 6)
    ids = partner_ids()
    first = np.array(PARTNER_WORDS[0], dtype=object)[np.arange(len(ids)) % len(PARTNER_WORDS[0])]
    second = np.array(PARTNER_WORDS[1], dtype=object)[rng.integers(0, len(PARTNER_WORDS[1]), len(ids))]
    names = pd.Series(first + " " + second)
    names = names.where(~names.duplicated(), names + " " + pd.Series([f"{i % 7 + 2}" for i in range(len(ids))]))
    size = accounts["partner_id"].value_counts().reindex(ids, fill_value=0)
    rank = size.rank(ascending=False, method="first").to_numpy()
    region = accounts.groupby("partner_id")["region"].agg(lambda s: s.value_counts().index[0]).reindex(ids)
    return pd.DataFrame(
        {
            "partner_id": ids,
            "name": names.to_numpy(),
            "region": region.to_numpy(),
            "tier": np.select([rank <= 6, rank <= 18], ["Gold", "Silver"], "Member"),
        }
    )


def generate_partner_survey(accounts: pd.DataFrame, seed: int = 2020) -> pd.DataFrame:
    """``partner_survey_responses.csv`` for 2019 and 2020 (see the module docstring)."""
    rng = np.random.default_rng(seed + 7)
    effect = partner_effects(seed)
    waves = []
    for year in YEARS:
        n_acc = len(accounts)
        answers = rng.random(n_acc) < RESPONSE_RATE
        contacts = np.where(accounts["company_size"].isin(["250-999", "1000+"]), rng.integers(1, 4, n_acc), 1)
        acc = accounts[answers].loc[lambda d: d.index.repeat(contacts[answers])]
        if year == 2020:  # one customer organisation answers a dozen times
            one = accounts[accounts["partner_id"] == MANY_ANSWERS_PARTNER].iloc[[3]]
            acc = pd.concat([acc, one.loc[one.index.repeat(12)]])
        acc = acc.sort_index(kind="stable").reset_index(drop=True)
        n = len(acc)
        latent = acc["health"].to_numpy() * 0.6 + acc["partner_id"].map(effect).to_numpy() + rng.normal(0, 0.9, n) + 0.08 * (year - 2019)
        ltr = np.clip(np.round(8.2 + 1.7 * latent), 0, 10)
        csat = np.clip(np.round(4.0 + 0.8 * (latent + rng.normal(0, 0.4, n))), 1, 5)
        month = rng.choice(12, size=n, p=MONTH_WEIGHTS / MONTH_WEIGHTS.sum()) + 1
        start = pd.to_datetime(pd.DataFrame({"year": year, "month": month, "day": 1}))
        day = np.floor(rng.random(n) * start.dt.days_in_month.to_numpy()).astype(int)
        submitted = start + pd.to_timedelta(day, unit="D")
        contact = rng.random(n) < 0.25
        first = np.array(["Ada", "Bo", "Carla", "Dev", "Eli", "Femke", "Gus", "Hana"], dtype=object)[rng.integers(0, 8, n)]
        last = np.array(["Nilsen", "Weber", "Okafor", "Moreau", "Kaur", "Visser"], dtype=object)[rng.integers(0, 6, n)]
        waves.append(
            pd.DataFrame(
                {
                    "respondent_id": [f"V{year}-{i:05d}" for i in range(1, n + 1)],
                    "survey_year": year,
                    "submitted_at": submitted.dt.strftime("%Y-%m-%d").to_numpy(),
                    "partner_id": acc["partner_id"].to_numpy(),
                    "customer_id": acc["customer_id"].to_numpy(),
                    "csat": csat.astype(int),
                    "nps": ltr.astype(int),
                    "contact_name": pd.Series(first + " " + last).where(contact).to_numpy(),
                    "contact_email": pd.Series(pd.Series(first).str.lower() + "." + pd.Series(last).str.lower() + "@customer.example.org").where(contact).to_numpy(),
                }
            )
        )
    return pd.concat(waves, ignore_index=True)


def generate_usage(accounts: pd.DataFrame, seed: int = 2020) -> pd.DataFrame:
    """``usage.csv``: monthly active users (capacity units for Customer Insights) per customer and workload.

    Each account uses each workload with a fixed chance, from a start month
    (its first month as a customer, later for the add-on workloads), and
    grows at a monthly rate that rises with health and the partner's effect;
    the least healthy accounts shrink.
    """
    rng = np.random.default_rng(seed + 8)
    effect = partner_effects(seed)
    months = pd.period_range(FIRST_MONTH, LAST_MONTH, freq="M")
    n_months = len(months)
    frames = []
    since = pd.to_datetime(accounts["customer_since"])
    first_active = np.clip((since.dt.year * 12 + since.dt.month - (months[0].year * 12 + months[0].month)).to_numpy(), 0, None)
    growth = 0.008 + 0.01 * accounts["health"].to_numpy() + 0.012 * accounts["partner_id"].map(effect).to_numpy()
    base_users = accounts["company_size"].map(SIZE_USERS).to_numpy()
    for i, (workload, (share, per_user)) in enumerate(WORKLOADS.items()):  # five workloads
        uses = rng.random(len(accounts)) < share
        start = first_active if i == 0 else np.maximum(first_active, rng.integers(0, n_months, len(accounts)))
        uses &= start < n_months
        idx = np.flatnonzero(uses)
        length = n_months - start[idx]
        rows = np.repeat(idx, length)
        t = np.arange(len(rows)) - np.repeat(np.cumsum(length) - length, length)  # months since start
        level = base_users[rows] * per_user * np.repeat(rng.lognormal(0, 0.35, len(idx)), length)
        mau = np.round(level * (1 + growth[rows] + rng.normal(0, 0.01, len(rows))) ** t)
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": accounts["customer_id"].to_numpy()[rows],
                    "partner_id": accounts["partner_id"].to_numpy()[rows],
                    "month": months[start[rows] + t].strftime("%Y-%m"),
                    "workload": workload,
                    "monthly_active_users": np.maximum(mau, 0).astype(int),
                }
            )
        )
    usage = pd.concat(frames, ignore_index=True)
    return usage.sort_values(["customer_id", "workload", "month"], kind="stable").reset_index(drop=True)


def generate_partner_programme(seed: int = 2020, accounts: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """The three partner-programme files by name (see the module docstring)."""
    if accounts is None:
        accounts = generate_accounts(seed)
    return {
        "partners.csv": generate_partners(accounts, seed),
        "partner_survey_responses.csv": generate_partner_survey(accounts, seed),
        "usage.csv": generate_usage(accounts, seed),
    }

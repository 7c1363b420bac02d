"""Deterministic sample data for the reports (``cxreport sample`` / ``python -m cxreport.sample``).

The sample is a coherent made-up business whose 2020 partner survey
reproduces the published 2020 partner-satisfaction report
(``shared/reference/partner-satisfaction-survey-2020.txt``) to the decimal,
so the report can be checked against a known answer. The same seed always
writes the same files; larger sets (``--respondents 1000000``) keep the same
shape for benchmarks.
"""

from __future__ import annotations

from pathlib import Path

from .accounts import generate_accounts
from .maturity import generate_maturity
from .partners import generate_partner_programme
from .revenue import generate_revenue
from .survey import generate_survey

__all__ = ["generate_accounts", "generate_maturity", "generate_partner_programme", "generate_revenue", "generate_survey",
           "write_sample"]


def write_sample(out_dir: Path, seed: int = 2020, respondents: int | None = None) -> dict[str, Path]:
    """Write every sample input file into ``out_dir``; returns file name -> path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    accounts = generate_accounts(seed)
    frames = {
        "accounts.csv": accounts.drop(columns=["health"]),
        "survey_responses.csv": generate_survey(seed=seed, respondents_per_year=respondents, accounts=accounts),
        **generate_partner_programme(seed=seed, accounts=accounts),
    }
    survey = frames["survey_responses.csv"]
    # Every account behind a 2020 survey response is assessed in 2020, so satisfaction links to maturity.
    frames["maturity_assessments.csv"] = generate_maturity(accounts, seed, always_assessed=survey.loc[survey["survey_year"] == 2020, "customer_id"])
    # The ledger's churn follows the same accounts' survey answers and maturity (issue 4).
    frames["revenue.csv"] = generate_revenue(accounts, seed, survey=survey, maturity=frames["maturity_assessments.csv"])
    written = {}
    for name, frame in frames.items():
        path = out / name
        frame.to_csv(path, index=False)
        written[name] = path
    return written

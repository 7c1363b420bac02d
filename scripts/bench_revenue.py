"""Benchmark (not a test): the revenue library on a 10-million-row ledger.

Generates a ledger with :func:`cxreport.sample.revenue.generate_revenue`
(``--customers`` scales it; 216,000 customers give about 10 million rows),
then times the library's steps on it: active months, MRR movements,
retention, revenue by type, cohort matrices, lifetimes and one sBG fit.
Optionally writes the ledger to CSV and times loading and validating it.

    .venv/bin/python scripts/bench_revenue.py                 # about 10 million rows
    .venv/bin/python scripts/bench_revenue.py --customers 20000 --csv /tmp/revenue.csv
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

from cxreport import clv, cohorts, survival
from cxreport import revenue as rv
from cxreport.sample.revenue import generate_revenue


def timed(label: str, fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    print(f"{label:<38} {time.perf_counter() - t0:8.2f} s", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=216_000, help="customers in the generated ledger (default 216000, about 10M rows)")
    ap.add_argument("--csv", type=Path, default=None, help="also write the ledger here and time loading + validating it")
    ap.add_argument("--year", type=int, default=2020)
    args = ap.parse_args()

    ledger = timed(f"generate ledger ({args.customers:,} customers)", generate_revenue, customers=args.customers, month_as="period")
    print(f"ledger rows: {len(ledger):,}")
    if args.csv:
        timed("write CSV", ledger.assign(month=ledger["month"].astype(str)).to_csv, args.csv, index=False)
        from cxreport.inputs import REVENUE, load

        ledger = timed("load + validate CSV (revenue contract)", load, args.csv, REVENUE)
    end = f"{args.year}-12"
    t_all = time.perf_counter()
    active = timed("active_months", rv.active_months, ledger, end=end)
    print(f"active customer-months: {len(active):,}")
    mv = timed("mrr_movements", rv.mrr_movements, active, end=end)
    timed("retention (Dec to Dec)", rv.retention, active, f"{args.year - 1}-12", end)
    timed("revenue_by_type (gross profit)", rv.revenue_by_type, ledger, args.year)
    timed("revenue_headline", rv.revenue_headline, ledger, active, mv, args.year)
    timed("cohort_retention (logo + revenue)", cohorts.cohort_retention, active, end)
    lives = timed("lifetimes", survival.lifetimes, active, end)
    timed("sbg_fit (all customers)", clv.sbg_fit, lives["duration"], lives["churned"])
    timed("kaplan_meier (all customers)", survival.kaplan_meier, lives["duration"], lives["churned"], confidence=0.95)
    print(f"{'library total (after generation)':<38} {time.perf_counter() - t_all:8.2f} s")
    print(f"peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()

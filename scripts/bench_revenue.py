"""Benchmark (not a test): the revenue library's ledger steps on the engine, against a plain DuckDB query.

Generates a ledger in Parquet with DuckDB SQL straight to disk (``--customers``
customers over 60 months, 2016-01 to 2020-12; 216,000 customers give about
10 million rows; reused when the file exists), then in one process:

1. the references: a plain DuckDB query that reads the file and sums the amounts by month,
   and the active months and movements written by hand in DuckDB SQL (lag/lead);
2. the library on ``--engine`` (DuckDB by default): the active months with
   each customer's previous and next active month (kept on the engine, as
   the CLV report keeps them), the MRR movements, retention, revenue by
   type, the cohort matrices and the lifetimes, each timed;

and prints the library's total against the reference (the ratio) and the
process's peak memory. The whole-pipeline benchmark with the other engines
and references is ``scripts/bench_engine.py``.

    .venv/bin/python scripts/bench_revenue.py                        # /tmp/ledger10m.parquet, about 10M rows
    /usr/bin/time -v .venv/bin/python scripts/bench_revenue.py --customers 20000 --ledger /tmp/ledger1m.parquet
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

GENERATOR = """
WITH cust AS (
  SELECT c,
         CAST(hash(c) % 70 AS INTEGER) - 20 AS start,        -- some started before the ledger: active in its first month
         CAST(4 + hash(c * 7 + 1) % 80 AS INTEGER) AS life,   -- months of the first spell
         CAST(hash(c * 13 + 5) % 10 AS INTEGER) AS back,      -- 0-2: comes back after a gap of 2-4 months
         50 + CAST(hash(c * 31 + 3) % 400 AS DOUBLE) AS base
  FROM range({customers}) t(c)
), grid AS (
  SELECT c, m, base, start FROM cust, range(60) g(m)
  WHERE (m >= start AND m < start + life)
     OR (back < 3 AND m >= start + life + 2 + back AND m < start + life + 26)
)
SELECT printf('C%06d', c) AS customer_id, CAST(DATE '2016-01-01' + to_months(CAST(m AS INTEGER)) AS DATE) AS month,
       revenue_type, amount, round(amount * cost_share, 2) AS cost
FROM (
  SELECT c, m, 'subscription' AS revenue_type, base * (1 + 0.1 * ((m - start) // 6 % 4)) AS amount, 0.6 AS cost_share
  FROM grid WHERE c % 50 <> 0                                 -- every 50th customer has project revenue only
  UNION ALL SELECT c, m, 'managed', base / 2 + (m % 3) * 10, 0.7 FROM grid WHERE c % 3 = 0 AND c % 50 <> 0
  UNION ALL SELECT c, m, 'project', 1000 + (c % 7) * 100, 0.5 FROM grid WHERE (c + m) % 17 = 0 OR (c % 50 = 0 AND m % 4 = 0)
  UNION ALL SELECT c, m, 'license', 300 + (c % 5) * 50, 0.2 FROM grid WHERE (c + m) % 23 = 0
  UNION ALL SELECT c, m, 'ip', 2000.0, 0.1 FROM grid WHERE (c + m) % 41 = 0
)
"""


def generate(path: Path, customers: int) -> None:
    """The ledger as Parquet, written by DuckDB without holding it in Python."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"COPY ({GENERATOR.format(customers=customers)}) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)")


def timed(label: str, fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    seconds = time.perf_counter() - t0
    print(f"{label:<40} {seconds:8.2f} s", flush=True)
    return out, seconds


MOVEMENTS_SQL = """
WITH active AS (
  SELECT customer_id, month, sum(amount) AS mrr FROM read_parquet('{path}')
  WHERE revenue_type IN ('subscription', 'managed') GROUP BY ALL HAVING sum(amount) > 0
), rows AS (
  SELECT *, lag(month) OVER w AS prev, lead(month) OVER w AS next, lag(mrr) OVER w AS prev_mrr
  FROM active WINDOW w AS (PARTITION BY customer_id ORDER BY month)
)
SELECT month, sum(mrr), sum(mrr) FILTER (WHERE prev IS NULL),
       sum(mrr - prev_mrr) FILTER (WHERE prev = month - INTERVAL 1 MONTH),
       sum(mrr) FILTER (WHERE next IS NULL OR next > month + INTERVAL 1 MONTH)
FROM rows GROUP BY month ORDER BY month
"""


def plain_duckdb(path: Path) -> tuple[float, float]:
    """The references in plain DuckDB SQL: read the file and sum the amounts by month; and hand-written movements."""
    import duckdb

    con = duckdb.connect()
    _, aggregate = timed("plain DuckDB: sum(amount) by month", lambda: con.execute(
        f"SELECT month, sum(amount) FROM read_parquet('{path}') GROUP BY month ORDER BY month").fetchall())
    _, movements = timed("plain DuckDB: movements by hand (lag/lead)", lambda: con.execute(MOVEMENTS_SQL.format(path=path)).fetchall())
    con.close()
    return aggregate, movements


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ledger", type=Path, default=Path("/tmp/ledger10m.parquet"), help="the Parquet ledger (generated when missing)")
    ap.add_argument("--customers", type=int, default=216_000, help="customers of a generated ledger (216000: about 10M rows)")
    ap.add_argument("--engine", default="duckdb", choices=("duckdb", "spark"))
    ap.add_argument("--year", type=int, default=2020)
    args = ap.parse_args()

    from cxreport import cohorts, engine, survival
    from cxreport import revenue as rv

    if not args.ledger.exists():
        timed(f"generate {args.ledger} ({args.customers:,} customers)", generate, args.ledger, args.customers)
    reference, hand_movements = plain_duckdb(args.ledger)

    end, before = f"{args.year}-12", f"{args.year - 1}-12"
    steps = {}
    with engine.use(args.engine) as eng:
        t_all = time.perf_counter()
        ledger = eng.read_parquet(args.ledger)
        rows, _ = timed("ledger rows (count on the engine)", eng.scalar, ledger.count())
        # as the CLV report does: the active months with each customer's neighbouring months, computed once and kept
        with rv.kept(rv.with_neighbours(rv.active_months(ledger, end=end))) as active:
            steps["active months (kept)"] = time.perf_counter() - t_all
            print(f"{'active months + neighbours (kept)':<40} {steps['active months (kept)']:8.2f} s", flush=True)
            mv, steps["movements"] = timed("mrr_movements", rv.mrr_movements, active, end=end)
            _, steps["retention"] = timed("retention (Dec to Dec)", rv.retention, active, before, end)
            _, steps["revenue_by_type"] = timed("revenue_by_type", rv.revenue_by_type, ledger, args.year)
            _, steps["cohorts"] = timed("cohort_retention (logo + revenue)", cohorts.cohort_retention, active, end)
            lives, steps["lifetimes"] = timed("lifetimes", survival.lifetimes, active, end)
        total = time.perf_counter() - t_all
    core = sum(steps[k] for k in ("active months (kept)", "movements", "cohorts", "lifetimes"))
    print(f"ledger rows {rows:,}; months {len(mv)}; customers ever active {len(lives):,}")
    print(f"{'library total (' + args.engine + ')':<40} {total:8.2f} s")
    print(f"{'active months + movements + cohorts + lifetimes':<40} {core:8.2f} s = {core / reference:.1f} x the plain DuckDB query")
    moves = steps["active months (kept)"] + steps["movements"]
    print(f"{'active months + movements':<40} {moves:8.2f} s = {moves / hand_movements:.1f} x the same by hand in DuckDB SQL")
    print(f"peak memory (this process): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()

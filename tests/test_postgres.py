"""Inputs where vendors keep them (issue 12, point 3): a ledger table on a real PostgreSQL server.

The fixture starts a throwaway cluster with Debian's ``initdb`` and ``pg_ctl`` (``/usr/lib/postgresql/*/bin``)
in a temporary folder, listening on 127.0.0.1 only, and stops and removes it afterwards; it never touches a
system cluster. ``make postgres-deps`` installs the package (CI runs it from ``.ci/run``); without it the
tests are skipped, except in CI (``CI=true``), where that fails. As root, ``initdb`` refuses to run, so the
cluster runs as the ``postgres`` system user the Debian package creates.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import IN_CI
from cxreport.build import validate
from cxreport.engine.load import Source, load_table, source_fingerprint
from cxreport.engine.rundb import RunDatabase
from cxreport.inputs import REVENUE, InputError
from cxreport.reports import clv_churn
from shapes import write_folder
from test_report_clv import hand_frames

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SETTINGS = {"min_group_size": 1}


def _postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's programs, or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
                   if p.parent.parent.name.isdigit() else 0)
    return found[-1].parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_cluster_user(args: list[str]) -> list[str]:
    """``args`` run as the postgres system user when we are root (initdb refuses root), else as ourselves."""
    if os.geteuid() != 0:
        return args
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--", *args]
    return ["su", "-s", "/bin/sh", "postgres", "-c", shlex.join(args)]


@pytest.fixture(scope="module")
def postgres_url():
    """A URL of a fresh PostgreSQL cluster on 127.0.0.1 (trust authentication, user ``cx``)."""
    bindir = _postgres_bin()
    if bindir is None:
        message = "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run `make postgres-deps`"
        if IN_CI:
            pytest.fail(f"CI=true and {message}")
        pytest.skip(message)
    folder = Path(tempfile.mkdtemp(prefix="cxreport-pg-"))  # not pytest's tmp_path: the cluster's user must reach it
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", _free_port()
    run = lambda *args: subprocess.run(_as_cluster_user([str(a) for a in args]), check=True,
                                       capture_output=True, text=True, timeout=120)
    try:
        run(bindir / "initdb", "-D", data, "-A", "trust", "-U", "cx", "-E", "UTF8", "--locale=C", "--no-sync")
        run(bindir / "pg_ctl", "-D", data, "-l", folder / "server.log", "-w", "-t", "60", "start", "-o",
            f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off")
    except subprocess.CalledProcessError as exc:
        log = (folder / "server.log").read_text(errors="replace") if (folder / "server.log").exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {exc.stderr or exc.stdout}\n{log}")
    try:
        yield f"postgres://cx@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_cluster_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True, timeout=60, check=False)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture()
def ledger_table(postgres_url):
    """The hand ledger of test_report_clv as a table ``revenue`` (months as DATE, as a warehouse stores them)."""
    import psycopg

    ledger = hand_frames()["revenue.csv"]
    with psycopg.connect(postgres_url.replace("postgres://", "postgresql://"), autocommit=True) as con:
        con.execute("DROP TABLE IF EXISTS revenue")
        con.execute("CREATE TABLE revenue (customer_id text, month date, revenue_type text, product text, "
                    "amount double precision, cost double precision)")
        with con.cursor().copy("COPY revenue (customer_id, month, revenue_type, amount, cost) FROM STDIN") as copy:
            for r in ledger.itertuples(index=False):
                copy.write_row((r.customer_id, f"{r.month}-01", r.revenue_type, float(r.amount),
                                None if r.cost == "" else float(r.cost)))
    return postgres_url, ledger


def _execute(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as con:
        con.execute(sql)


def test_a_postgres_ledger_builds_the_clv_report(ledger_table, tmp_path):
    url, ledger = ledger_table
    tables = {"revenue.csv": {"url": url, "table": "revenue"}}
    data = write_folder(tmp_path / "data", {"accounts.csv": hand_frames()["accounts.csv"]})
    db = RunDatabase.create(tmp_path / "rundb")
    prints = validate.validate_inputs(data, {"revenue.csv", "accounts.csv"}, 2020, tables=tables, run_db=db)
    assert prints["revenue.csv"]["rows"] == len(ledger) and prints["revenue.csv"]["table"] == "revenue"
    model = clv_churn.build_from_folder(data, 2020, SETTINGS, run_db=db.folder)
    # test_report_clv's hand-computed figures: A 100 and B 50 at the start, C 30 new, B churned in July
    assert (model.mrr_start, model.mrr_end, model.customers_start) == (150, 130, 2)
    assert (model.bridge["new"], model.bridge["churned"]) == (30, -50)


def test_a_table_is_fingerprinted_by_count_and_checksum(ledger_table):
    url, _ = ledger_table
    source = Source("revenue.csv", url=url, table="revenue")
    first = source_fingerprint(source)
    assert source_fingerprint(source)["sha256"] == first["sha256"]  # the same rows, the same checksum
    _execute(url, "UPDATE revenue SET amount = amount + 1 WHERE customer_id = 'A' AND month = '2020-01-01'")
    assert source_fingerprint(source)["sha256"] != first["sha256"]


def test_a_bad_value_in_the_table_is_reported_with_its_row(ledger_table, tmp_path):
    url, _ = ledger_table
    _execute(url, "INSERT INTO revenue VALUES ('D', '2020-01-01', 'consulting', NULL, -5, NULL)")
    with pytest.raises(InputError) as err:
        load_table(Source("revenue.csv", url=url, table="revenue"), REVENUE, work_dir=tmp_path)
    found = err.value.messages
    assert len(found) == 2 and found[0].startswith("table revenue row ")
    assert found[0].endswith("column revenue_type: 'consulting'; expected one of subscription, managed, project, license, ip")
    assert found[1].endswith("column amount: '-5.0'; expected a number >= 0")
    assert not list(tmp_path.glob("*.parquet")) and not list(tmp_path.glob(".*.parquet"))  # nothing left behind

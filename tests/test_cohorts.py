"""Cohort retention matrices on the hand-made ledger of test_revenue (on both engines: the ``ledger_engine`` fixture)."""

import numpy as np
import pytest

from cxreport import cohorts
from cxreport import revenue as rv

from test_revenue import ledger_rows


@pytest.fixture
def active(ledger_engine):
    return rv.active_months(ledger_rows(), end="2020-06")


def test_acquisition_is_the_first_active_month(active):
    acq = cohorts.acquisitions(active).set_index("customer_id")
    assert acq.loc["D", "acquired"].strftime("%Y-%m") == "2020-03"
    assert str(acq.loc["B", "cohort"]) == "2020Q1"
    assert "C" not in acq.index  # project-only customers are never acquired as recurring customers


def test_quarterly_cohort_by_hand(active):
    logo, rev = cohorts.cohort_retention(active, end="2020-06")
    row = logo.set_index("cohort").loc["2020Q1"]
    # A, B, E acquired in January and D in March: 4 customers; 3 months after their own start A and E are active,
    # B is not (gone in April) and D is not (gone in June)
    assert row["customers"] == 4 and row["0"] == 100 and row["1"] == 50
    r = rev.set_index("cohort").loc["2020Q1"]
    assert r["start_mrr"] == 100 + 200 + 40 + 80
    assert r["1"] == pytest.approx(100 * (150 + 40) / 420)
    assert list(logo.columns) == ["cohort", "customers", "start_mrr", "0", "1"]


def test_monthly_cohorts_reactivation_and_unobserved_cells(active):
    logo, rev = cohorts.cohort_retention(active, end="2020-06", freq="M", step=1)
    jan = logo.set_index("cohort").loc["2020-01"]
    assert [jan[str(k)] for k in range(6)] == pytest.approx([100, 100, 200 / 3, 200 / 3, 100, 100])  # B comes back in May
    mar = logo.set_index("cohort").loc["2020-03"]
    assert [mar[str(k)] for k in range(4)] == [100, 100, 100, 0]  # D has churned by June
    assert np.isnan(mar["4"]) and np.isnan(mar["5"])  # not observed yet: blank, not zero
    jan_rev = rev.set_index("cohort").loc["2020-01"]
    assert jan_rev["4"] == pytest.approx(100 * 240 / 340)


def test_average_curve_and_first_cohort_note(active):
    logo, _ = cohorts.cohort_retention(active, end="2020-06", freq="M", step=1)
    curve = cohorts.average_retention_curve(logo)
    assert curve[3] == pytest.approx((3 * 200 / 3 + 1 * 0) / 4)
    assert curve[4] == pytest.approx(100)  # only the January cohort is observed at age 4
    assert "3 customers were already active" in cohorts.first_cohort_note(active, "2020-01")
    assert cohorts.first_cohort_note(active, "2019-12") is None

"""The report models of the sample year, each built once per test session and shared by the test modules.

Building them costs seconds each (the summary rebuilds earlier years); the tests only read them.
"""

from functools import cache
from importlib import import_module
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "sample"
YEAR = 2020


@cache
def sample_model(report: str, unit: str | None = None):
    """The model of ``report`` (a module of ``cxreport.reports``) on the sample data, default settings.

    ``unit`` is the partner of a scorecard. Do not change the model returned: other tests read it.
    """
    module = import_module(f"cxreport.reports.{report}")
    if report == "partner_scorecard":
        return module.build_from_folder(DATA, YEAR, unit or "P006")
    if report == "summary":
        return module.build_from_folder(DATA, YEAR, {}, None, None)
    return module.build_from_folder(DATA, YEAR)

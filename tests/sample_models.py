"""The report models of the sample year, each built once per test session and shared by the test modules.

Building them costs seconds each; the tests only read them. The summary is built from the other four
models' headlines, as the pipeline builds it from their metrics.
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
    from cxreport.reports.base import jsonable

    module = import_module(f"cxreport.reports.{report}")
    if report == "partner_scorecard":
        return module.build_from_folder(DATA, YEAR, unit or "P006")
    if report == "summary":
        # As the pipeline gives it: the four reports' headlines of this run (the models above, built once),
        # and the earlier years from the data.
        from cxreport import summary as sm
        from cxreport.reports.base import load_inputs
        from cxreport.settings import settings_for

        current = {section: jsonable(sample_model(sm.REPORTS[section][2]).headline()) for section in sm.SECTIONS}
        inputs = load_inputs(DATA, module.INPUTS["requires"], module.INPUTS["optional"])
        return module.build(inputs, settings_for(YEAR, {}), YEAR, current, {}, source="this run")
    return module.build_from_folder(DATA, YEAR)

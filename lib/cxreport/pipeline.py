"""Compatibility module: the build moved to the package :mod:`cxreport.build`, one concern a module.

Scripts and tests that import from ``cxreport.pipeline`` keep working; new
code imports from ``cxreport.build.<module>``.
"""

from __future__ import annotations

from .build.cache import MANIFEST, RUN_PATHS
from .build.discover import (
                             PER_UNITS,
                             PIPELINE_PARAMETERS,
                             Notebook,
                             discover,
                             units_for,
)
from .build.execute import NotebookFailed, NotebookFailure
from .build.run import BuildResult, build_year
from .build.validate import (
                             KNOWN_FORMATS,
                             check_input_files,
                             parameters_for,
                             report_settings,
                             validate_inputs,
                             year_coverage_problems,
)
from .build.workbook import merge_metrics, write_workbook

__all__ = [
                             "KNOWN_FORMATS",
                             "MANIFEST",
                             "PER_UNITS",
                             "PIPELINE_PARAMETERS",
                             "RUN_PATHS",
                             "BuildResult",
                             "Notebook",
                             "NotebookFailed",
                             "NotebookFailure",
                             "build_year",
                             "check_input_files",
                             "discover",
                             "merge_metrics",
                             "parameters_for",
                             "report_settings",
                             "units_for",
                             "validate_inputs",
                             "write_workbook",
                             "year_coverage_problems",
]

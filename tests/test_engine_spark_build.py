"""`make report ENGINE=spark`: the sample year built on Spark gives the metrics.json of the default (DuckDB) build.

One whole build on a local Spark session (Java 17; `make java-deps` installs it in CI), compared
figure by figure with the shared DuckDB build, up to float rounding (1e-9 relative).
"""

import json
import math
import shutil

import pytest
from conftest import IN_CI, ROOT, SAMPLE_YEAR, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.spark]


def _figures(tree, path=""):
    """Every leaf of a metrics section as (path, value)."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _figures(value, f"{path}.{key}" if path else str(key))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            yield from _figures(value, f"{path}[{i}]")
    else:
        yield path, tree


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def test_the_sample_year_on_spark_equals_the_duckdb_build(built_sample, tmp_path):
    if not shutil.which("java"):
        message = "Spark in local mode needs Java 17: run `make java-deps`"
        pytest.fail(message) if IN_CI else pytest.skip(message)
    proc = run_cli(ROOT, "--year", str(SAMPLE_YEAR), "--data", str(ROOT / "data" / "sample"), "--out", str(tmp_path),
                   "--formats", "html", "--engine", "spark")
    assert proc.returncode == 0, proc.stderr[-3000:]
    spark = json.loads((tmp_path / str(SAMPLE_YEAR) / "metrics.json").read_text())
    duck = json.loads((built_sample[0] / str(SAMPLE_YEAR) / "metrics.json").read_text())
    assert spark["run"]["engine"] == "spark" and duck["run"]["engine"] == "duckdb"
    sections = sorted(k for k in duck if k != "run")
    assert sections == sorted(k for k in spark if k != "run") and "revenue" in sections
    spark_figures = dict(_figures({k: spark[k] for k in sections}))
    duck_figures = dict(_figures({k: duck[k] for k in sections}))
    assert spark_figures.keys() == duck_figures.keys()
    differ = [(p, duck_figures[p], spark_figures[p]) for p in duck_figures if not _same(duck_figures[p], spark_figures[p])]
    assert not differ, differ[:20]

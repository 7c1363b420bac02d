"""Build keys for incremental builds."""

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from cxreport.build.cache import build_key, modules_used


def notebook(tmp_path, source, name="nb.ipynb"):
    nb = new_notebook()
    nb.cells = [new_code_cell(source)]
    path = tmp_path / name
    nbformat.write(nb, str(path))
    return path


def test_modules_used_follows_package_imports(tmp_path):
    only_stats = notebook(tmp_path, "from cxreport.stats import mean_ci\n%matplotlib inline")
    assert modules_used(only_stats) == {"cxreport", "cxreport.stats"}
    survey = notebook(tmp_path, "from cxreport import survey", "s.ipynb")
    assert {"cxreport.survey", "cxreport.stats"} <= modules_used(survey)
    assert "cxreport.pipeline" not in modules_used(survey)
    sample = notebook(tmp_path, "import cxreport.sample", "x.ipynb")
    assert {"cxreport.sample", "cxreport.sample.survey", "cxreport.sample.accounts"} <= modules_used(sample)


def test_build_key_changes_exactly_with_what_the_outputs_depend_on(tmp_path):
    nb = notebook(tmp_path, "from cxreport.stats import mean_ci")
    data = tmp_path / "in.csv"
    data.write_text("a\n1\n")
    key = build_key(nb, {"year": 2020}, [data], ("html",))
    assert build_key(nb, {"year": 2020}, [data], ("html",)) == key  # stable
    assert build_key(nb, {"year": 2021}, [data], ("html",)) != key  # parameters
    assert build_key(nb, {"year": 2020}, [data], ("html", "pdf")) != key  # formats
    data.write_text("a\n2\n")
    assert build_key(nb, {"year": 2020}, [data], ("html",)) != key  # data content
    data.write_text("a\n1\n")
    assert build_key(nb, {"year": 2020}, [data], ("html",)) == key  # content, not timestamps
    assert build_key(nb, {"year": 2020}, [data, tmp_path / "absent.csv"], ("html",)) != key  # a file appearing counts
    nb2 = notebook(tmp_path, "from cxreport.stats import mean_ci\nprint(1)")
    assert build_key(nb2, {"year": 2020}, [data], ("html",)) != key  # the notebook itself

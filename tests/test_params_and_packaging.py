"""Parameters, packaging and notebook hygiene."""

import re

import nbformat
import papermill as pm
import pytest
import yaml

from cxreport.params import ParamsError, deep_merge, load_params, parse_override
from cxreport.pipeline import PIPELINE_PARAMETERS, discover, parameters_for


def test_deep_merge_and_year_override(tmp_path):
    (tmp_path / "defaults.yaml").write_text("a: 1\nlabels: {x: X, y: Y}\n")
    (tmp_path / "2021.yaml").write_text("labels: {y: Why}\n")
    p = load_params(tmp_path, 2021, {"a": 2})
    assert p == {"a": 2, "labels": {"x": "X", "y": "Why"}, "year": 2021}
    assert deep_merge({"a": {"b": 1}}, {"a": 3}) == {"a": 3}


def test_broken_params_file_names_the_file(tmp_path):
    (tmp_path / "defaults.yaml").write_text("a: [1,\n")
    with pytest.raises(ParamsError, match="defaults.yaml: not valid YAML"):
        load_params(tmp_path, 2020)


def test_parse_override():
    assert parse_override("min_group_size=3") == ("min_group_size", 3)
    with pytest.raises(ParamsError):
        parse_override("oops")


def test_every_params_key_is_a_setting_some_report_reads(root):
    notebooks = discover(root / "notebooks")
    for path in sorted((root / "params").glob("*.yaml")):
        year = int(path.stem) if path.stem.isdigit() else 2020
        parameters_for(notebooks, load_params(root / "params", year))  # raises on an unknown key or a bad value
    with pytest.raises(ParamsError, match="unknown parameter"):
        parameters_for(notebooks, {**load_params(root / "params", 2020), "min_grup_size": 3})


def test_notebook_defaults_match_params_defaults(root):
    """Running a notebook in JupyterLab uses the same settings as the batch run."""
    defaults = yaml.safe_load((root / "params" / "defaults.yaml").read_text())
    for nb in discover(root / "notebooks"):
        for name, spec in nb.parameters.items():
            if name in defaults:
                value = eval(spec["default"], {})  # the parameters cell holds literals only
                assert value == defaults[name], f"{nb.name}: default of {name} differs from params/defaults.yaml"


def test_notebooks_committed_without_outputs_and_declare_inputs(root):
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{path.name} carries outputs"
        assert "requires" in nb.metadata.get("cxreport", {}), f"{path.name}: metadata cxreport.requires missing"
        params = pm.inspect_notebook(str(path))
        assert "year" in params and "data_dir" in params


def _names(deps):
    return {re.split(r"[<>=!~\[ ]", d.strip(), maxsplit=1)[0].lower() for d in deps}


def test_environment_yml_matches_pyproject(root):
    import tomllib

    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    pip_deps = _names(project["dependencies"]) | _names(project["optional-dependencies"]["dev"])
    env = yaml.safe_load((root / "environment.yml").read_text())
    conda = _names(d for d in env["dependencies"] if isinstance(d, str)) - {"python", "pip"}
    assert conda == pip_deps
    assert PIPELINE_PARAMETERS  # the pipeline's own parameters are documented in the module

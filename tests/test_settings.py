"""The typed settings model: params/defaults.yaml is the one home of defaults; bad values stop the run with exit 2."""

import importlib
import pkgutil

import papermill as pm
import pytest
import yaml

import cxreport.reports
from conftest import run_cli
from cxreport.params import ParamsError, load_params
from cxreport.pipeline import discover
from cxreport.settings import SETTING_NAMES, Settings, load_settings, validate_settings


def defaults(root):
    return load_params(root / "params", 2020)


def test_every_params_file_is_a_valid_settings_model(root):
    for path in sorted((root / "params").glob("*.yaml")):
        year = int(path.stem) if path.stem.isdigit() else 2020
        s = load_settings(year, params_dir=root / "params")
        assert isinstance(s, Settings)
    assert set(yaml.safe_load((root / "params" / "defaults.yaml").read_text())) == set(SETTING_NAMES)


@pytest.mark.parametrize("key, value, expected", [
    ("confidence", "abc", "setting confidence: 'abc'; expected a number"),
    ("confidence", 1.5, "setting confidence: 1.5; expected a number less than 1"),
    ("min_group_size", 0, "setting min_group_size: 0; expected a number greater than or equal to 1"),
    ("nps_ci_method", "bogus", "setting nps_ci_method: 'bogus'; expected one of 'auto', 'wald' or 'adjusted_wald'"),
    ("quotes", "maybe", "setting quotes: 'maybe'; expected one of 'redacted' or 'off'"),
    ("funnel_adjust_overdispersion", "perhaps", "setting funnel_adjust_overdispersion: 'perhaps'; expected true or false"),
    ("csat_index_checkpoint", "9/30", "setting csat_index_checkpoint: '9/30'"),
    ("csat_index_checkpoint", "02-30", "a day of the year as MM-DD; 02-30 is no day"),
    ("funnel_levels", [0.998, 0.95], "two increasing levels between 0.5 and 1"),
    ("funnel_levels", [0.95], "setting funnel_levels: [0.95]"),
    ("usage_refresh_day", 31, "setting usage_refresh_day: 31; expected a number less than or equal to 28"),
    ("comment_themes", {"Bad": ["(unclosed"]}, "theme 'Bad': '(unclosed' is not a valid regular expression"),
    ("nsat_mapping", {5: "very_satisfied"}, "a level for each answer 1, 2, 3, 4 and 5"),
])
def test_a_bad_value_names_the_key_the_value_and_what_was_expected(root, key, value, expected):
    values = {**defaults(root), key: value}
    with pytest.raises(ParamsError) as err:
        validate_settings(values)
    assert expected in str(err.value)


def test_nested_settings_are_checked_too(root):
    values = defaults(root)
    values["maturity_rubric"] = {**values["maturity_rubric"], "thresholds": [1.5, 2.5]}
    values["maturity_stages"] = {**values["maturity_stages"], "Ad Hoc": {"idc_pct": 230, "next_play": "x"}}
    with pytest.raises(ParamsError) as err:
        validate_settings(values)
    text = str(err.value)
    assert "setting maturity_rubric.thresholds: [1.5, 2.5]" in text
    assert "setting maturity_stages.Ad Hoc.idc_pct: 230; expected a number less than or equal to 100" in text


def test_yaml_off_means_quotes_off_and_thresholds_are_consistent(root):
    assert validate_settings({**defaults(root), "quotes": False}).quotes == "off"
    with pytest.raises(ParamsError, match="small_sample_threshold \\(3\\) must be at least min_group_size \\(5\\)"):
        validate_settings({**defaults(root), "small_sample_threshold": 3})


def test_unknown_and_missing_keys(root):
    values = defaults(root)
    values.pop("confidence")
    values["min_grup_size"] = 3
    with pytest.raises(ParamsError) as err:
        validate_settings(values)
    assert "setting confidence; expected a value (the key is missing from params/defaults.yaml)" in str(err.value)
    assert "setting min_grup_size: 3; expected a known setting" in str(err.value)


def test_bad_setting_on_the_command_line_exits_2_before_any_notebook(root, tmp_path):
    proc = run_cli(root, "--year", "2020", "--out", str(tmp_path / "out"), "--set", "confidence=abc")
    assert proc.returncode == 2, proc.stderr
    assert "setting confidence: 'abc'; expected a number" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_report_modules_declare_known_settings_and_inputs():
    modules = [m.name for m in pkgutil.iter_modules(cxreport.reports.__path__) if m.name != "base"]
    for name in modules:
        module = importlib.import_module(f"cxreport.reports.{name}")
        assert set(module.SETTINGS) <= set(SETTING_NAMES), name
        assert set(module.INPUTS) <= {"requires", "optional"}, name


def test_report_notebooks_take_settings_and_typed_parameters(root):
    for nb in discover(root / "notebooks"):
        if not nb.report:
            continue
        params = pm.inspect_notebook(str(nb.path))
        assert "settings" in params and params["settings"]["default"] in ("{}", "dict()"), nb.name
        untyped = [k for k, spec in params.items() if spec["inferred_type_name"] in ("None", "")]
        assert not untyped, f"{nb.name}: parameters without a type annotation: {untyped}"
        assert not set(params) & set(SETTING_NAMES), f"{nb.name}: settings belong in params/, not the parameters cell"

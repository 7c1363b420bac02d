"""The report settings: one typed model, read from ``params/defaults.yaml``, then ``params/<YEAR>.yaml``, then ``--set``.

``params/defaults.yaml`` is the only place a default is written. This module
says what each setting must be (its type and range) and checks every value
before any notebook runs: a bad value stops the run with exit code 2 and a
message naming the key, the value and what was expected, e.g.::

    setting confidence: 'abc'; expected a number between 0.5 and 1 (exclusive)

Each report module declares the settings it reads (``SETTINGS`` in
:mod:`cxreport.reports`); a notebook receives exactly those, so changing one
report's setting re-runs only that report.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .params import ParamsError, load_params

PARAMS_DIR = Path(__file__).resolve().parents[2] / "params"  # the project's params/, for notebooks run by hand
RECURRING_TYPES = ("subscription", "managed")
REVENUE_TYPES = ("subscription", "managed", "project", "license", "ip")
NSAT_LEVELS = ("very_satisfied", "somewhat_satisfied", "somewhat_dissatisfied", "very_dissatisfied")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Stage(_Strict):
    idc_pct: float = Field(ge=0, le=100, description="IDC's share of customers at this stage (%)")
    next_play: str = Field(description="what to offer a customer at this stage next")


class Dimension(_Strict):
    label: str
    weight: float = Field(gt=0)


class Rubric(_Strict):
    method: Literal["weighted_mean", "floor", "weakest"]
    thresholds: list[float] = Field(min_length=4, max_length=4)
    min_dimensions: int = Field(ge=1)

    @field_validator("thresholds")
    @classmethod
    def _increasing(cls, v: list[float]) -> list[float]:
        if any(b <= a for a, b in zip(v, v[1:])) or not all(1 <= t <= 5 for t in v):
            raise ValueError("four increasing numbers between 1 and 5 (where stages 2, 3, 4 and 5 begin)")
        return v


class RevenueBenchmarks(_Strict):
    recurring_share_top_quartile_pct: float = Field(ge=0, le=100)
    recurring_share_median_pct: float = Field(ge=0, le=100)
    best_annual_logo_churn_pct: float = Field(ge=0, le=100)
    cloud_recurring_multiple: float = Field(gt=0)


class InputTable(_Strict):
    """An input read from a database table instead of a file: an Ibis connection URL (``postgres://user@host:5432/db``,
    ``duckdb:///path.duckdb``, ...) or the environment variable holding it (so no password sits in params), and the table."""

    url: str | None = Field(default=None, description="Ibis connection URL of the database")
    url_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
                                description="environment variable holding the URL (it wins over url when set)")
    table: str = Field(min_length=1, description="the table (or view) holding the input's columns")

    @model_validator(mode="after")
    def _reachable(self) -> InputTable:
        if not self.url and not self.url_env:
            raise ValueError("a url or a url_env (the environment variable holding the URL)")
        return self


class Settings(_Strict):
    """Every setting of the suite, typed and range-checked; no defaults here (they live in params/defaults.yaml)."""

    # all reports
    organisation: str
    min_group_size: int = Field(ge=1, description="breakdowns with fewer answers show no score")
    confidence: float = Field(gt=0.5, lt=1, description="level of every confidence interval and test")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code of every amount of money, such as EUR")
    # survey scores
    survey_title: str
    small_sample_threshold: int = Field(ge=1, description="headline scores on fewer answers carry a warning")
    nps_ci_method: Literal["auto", "wald", "adjusted_wald"]
    touchpoint_labels: dict[str, str]
    comment_themes: dict[str, list[str]]
    quotes_per_theme: int = Field(ge=0)
    quotes: Literal["redacted", "off"]
    # cloud maturity
    maturity_title: str
    maturity_stages: dict[str, Stage] = Field(min_length=5, max_length=5)
    maturity_dimensions: dict[str, Dimension] = Field(min_length=1)
    maturity_rubric: Rubric
    maturity_accounts_shown: int = Field(ge=0)
    # partner programme
    programme_name: str
    partner_min_ranked_responses: int = Field(ge=1)
    funnel_levels: list[float] = Field(min_length=2, max_length=2)
    funnel_adjust_overdispersion: bool
    csat_index_min_responses: int = Field(ge=1)
    csat_index_max_per_organisation: int = Field(ge=1)
    csat_index_checkpoint: str = Field(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
    nsat_mapping: dict[int, Literal["very_satisfied", "somewhat_satisfied", "somewhat_dissatisfied", "very_dissatisfied"]]
    consumption_rates: dict[str, float]
    deployment_min_usage: float = Field(ge=0)
    usage_refresh_day: int = Field(ge=1, le=28)
    # customer lifetime value and churn
    clv_title: str
    clv_discount_rate: float = Field(ge=0, lt=1)
    clv_window_months: int = Field(ge=1, le=120)
    clv_account_segment: str
    clv_accounts_shown: int = Field(ge=0)
    cloud_revenue_types: list[Literal["subscription", "managed", "project", "license", "ip"]] = Field(min_length=1)
    revenue_benchmarks: RevenueBenchmarks
    # where the inputs are (the pipeline; no report reads it)
    input_tables: dict[str, InputTable]

    @field_validator("input_tables")
    @classmethod
    def _known_inputs(cls, v: dict[str, InputTable]) -> dict[str, InputTable]:
        from .inputs import CONTRACTS

        unknown = sorted(set(v) - set(CONTRACTS))
        if unknown:
            raise ValueError(f"input names of the contract ({', '.join(sorted(CONTRACTS))}); unknown: {', '.join(unknown)}")
        return v

    @field_validator("quotes", mode="before")
    @classmethod
    def _yaml_off(cls, v: Any) -> Any:
        return "off" if v is False else v  # YAML reads a bare `off` as false

    @field_validator("comment_themes")
    @classmethod
    def _regexes(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for theme, patterns in v.items():
            for p in patterns:
                try:
                    re.compile(p)
                except re.error as exc:
                    raise ValueError(f"theme {theme!r}: {p!r} is not a valid regular expression ({exc})") from None
        return v

    @field_validator("funnel_levels")
    @classmethod
    def _levels(cls, v: list[float]) -> list[float]:
        if not all(0.5 < x < 1 for x in v) or v[0] >= v[1]:
            raise ValueError("two increasing levels between 0.5 and 1: the inner and outer limits, such as [0.95, 0.998]")
        return v

    @field_validator("csat_index_checkpoint")
    @classmethod
    def _real_day(cls, v: str) -> str:
        import datetime as dt

        try:
            dt.date(2024, int(v[:2]), int(v[3:]))  # a leap year, so 02-29 is a day
        except ValueError:
            raise ValueError(f"a day of the year as MM-DD; {v} is no day") from None
        return v

    @field_validator("nsat_mapping")
    @classmethod
    def _all_answers(cls, v: dict) -> dict:
        if set(v) != {1, 2, 3, 4, 5}:
            raise ValueError("a level for each answer 1, 2, 3, 4 and 5")
        return v

    @field_validator("consumption_rates")
    @classmethod
    def _rates(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [k for k, r in v.items() if r < 0]
        if bad:
            raise ValueError(f"rates >= 0 (negative for {', '.join(bad)})")
        return v

    @model_validator(mode="after")
    def _groups(self) -> "Settings":
        if self.small_sample_threshold < self.min_group_size:
            raise ValueError(f"small_sample_threshold ({self.small_sample_threshold}) must be at least "
                             f"min_group_size ({self.min_group_size})")
        return self


SETTING_NAMES = tuple(Settings.model_fields)


def _expected(err: dict) -> str:
    """What a pydantic error says was expected, in the words of a parameter file."""
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return err["msg"].replace("Input should be", "a number").replace("Value should be", "a number")
    if kind == "literal_error":
        return "one of " + ctx.get("expected", "")
    if kind in ("float_parsing", "float_type"):
        return "a number"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "a whole number"
    if kind in ("bool_parsing", "bool_type"):
        return "true or false"
    if kind == "missing":
        return "a value (the key is missing from params/defaults.yaml)"
    if kind == "extra_forbidden":
        return "a known setting (no report reads this key; check its spelling)"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    return err["msg"][0].lower() + err["msg"][1:]


def validate_settings(values: dict) -> Settings:
    """A :class:`Settings` from merged parameter values; :class:`ParamsError` names every bad key, value and expectation."""
    values = {k: v for k, v in values.items() if k != "year"}
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        messages = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "settings"
            shown = "" if err["type"] == "missing" else f": {err.get('input')!r}"
            messages.append(f"setting {key}{shown}; expected {_expected(err)}")
        raise ParamsError("invalid settings:\n  " + "\n  ".join(messages)) from None


def load_settings(year: int, overrides: dict | None = None, params_dir: Path | None = None) -> Settings:
    """The settings of ``year``: ``defaults.yaml``, ``<year>.yaml``, then ``overrides``, validated."""
    return validate_settings(load_params(params_dir or PARAMS_DIR, year, overrides))


def settings_for(year: int, given: dict | None) -> Settings:
    """What a notebook's ``build`` call uses: the pipeline's validated values, or the params files when run by hand.

    ``given`` is the notebook's ``settings`` parameter: the pipeline passes the
    values it validated (only the keys that report reads); by hand it is empty,
    and the year's params files are read as ``make report`` reads them, with
    ``given`` as overrides.
    """
    base = load_params(PARAMS_DIR, year)
    return validate_settings({**base, **(given or {})})

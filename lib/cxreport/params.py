"""Report parameters: ``params/defaults.yaml``, then ``params/<YEAR>.yaml``, then overrides.

Dictionaries merge key by key (a year can relabel one touchpoint without
repeating the others); any other value replaces the one before it.
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml


class ParamsError(ValueError):
    """A parameters file is unreadable or names a parameter no notebook takes."""


def deep_merge(base: dict, override: dict) -> dict:
    """Merge ``override`` into a copy of ``base``: dicts recursively, other values replaced."""
    out = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def read_yaml(path: Path) -> dict:
    """Read one parameters file; a missing file is empty, a broken one is an error naming it."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: expected a mapping of parameter names to values, got {type(data).__name__}")
    return data


def load_params(params_dir: Path, year: int, overrides: dict | None = None) -> dict:
    """The parameters of a year: defaults, the year's file, then ``overrides``.

    ``year`` itself is always set from the argument, so a report can never
    run with a year other than the one asked for.
    """
    params_dir = Path(params_dir)
    merged = deep_merge(read_yaml(params_dir / "defaults.yaml"), read_yaml(params_dir / f"{year}.yaml"))
    merged = deep_merge(merged, overrides or {})
    merged["year"] = int(year)
    return merged


def parse_override(text: str) -> tuple[str, object]:
    """Parse a command-line ``key=value`` override; the value is read as YAML (``5``, ``true``, ``[a, b]``)."""
    if "=" not in text:
        raise ParamsError(f"override {text!r}: expected key=value")
    key, value = text.split("=", 1)
    return key.strip(), yaml.safe_load(value)

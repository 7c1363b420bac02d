"""Small contract-valid input folders of many shapes, made from the sample: the report-model test matrix uses them.

``sample_frames()`` gives the sample's files as text frames (every cell a
string, blanks ""), so a test changes a shape with plain pandas and writes it
with ``write_folder``. The shapes themselves live beside each report's tests.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


def sample_frames(*names: str) -> dict[str, pd.DataFrame]:
    """The sample's input files (all of them, or ``names``) as all-text frames."""
    names = names or tuple(sorted(p.name for p in SAMPLE.glob("*.csv")))
    return {n: pd.read_csv(SAMPLE / n, dtype=str, keep_default_na=False) for n in names}


def write_folder(folder: Path, frames: dict[str, pd.DataFrame]) -> Path:
    """Write frames as the CSV files of an input folder; returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        frame.to_csv(folder / name, index=False)
    return folder


def only_required(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Every file cut to the columns its contract requires (the README's minimum)."""
    from cxreport.inputs import CONTRACTS

    out = {}
    for name, frame in frames.items():
        contract = CONTRACTS[name]
        keep = [f.name for f in contract.fields if f.required]
        keep += [c for c in frame.columns if any(c.startswith(p) and len(c) > len(p) for p in contract.prefixed)]
        out[name] = frame[[c for c in frame.columns if c in keep]]
    return out


BAD_TEXT = ("nan", "NaN", "inf", "None", "NaT")


def assert_headline_clean(headline, unknown_reasons: dict | None = None, path: str = "") -> None:
    """No NaN or infinity anywhere in a headline; every None is a figure the model gives a reason for.

    ``unknown_reasons`` maps figure names (dotted paths, or their last part) to
    the model's reasons; pass None to check only the numbers.
    """
    import math

    if isinstance(headline, dict):
        for k, v in headline.items():
            assert_headline_clean(v, unknown_reasons, f"{path}.{k}" if path else str(k))
    elif isinstance(headline, (list, tuple)):
        for i, v in enumerate(headline):
            assert_headline_clean(v, unknown_reasons, f"{path}[{i}]")
    elif isinstance(headline, float):
        assert math.isfinite(headline), f"{path} is {headline}"
    elif isinstance(headline, str):
        assert headline not in BAD_TEXT, f"{path} is the text {headline!r}"
    elif headline is None and unknown_reasons is not None:
        name = path.split("[")[0]
        assert any(name == k or name.endswith("." + k) or k.endswith(name) for k in unknown_reasons), \
            f"{path} is None without a stated reason"

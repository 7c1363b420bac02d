"""Benchmark (not a test): the survey library on a large generated survey file.

Writes a survey file with ``--respondents`` per wave (two waves) using the
sample generator, then times loading and validating it and each survey
computation the report makes.

    .venv/bin/python scripts/bench_survey.py                      # 1,000,000 respondents a wave
    .venv/bin/python scripts/bench_survey.py --respondents 100000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from cxreport import comments, survey
from cxreport.inputs import load_survey
from cxreport.settings import load_settings
from cxreport.sample import generate_survey


def timed(label: str, fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    print(f"{label:<34} {time.perf_counter() - t0:8.2f} s", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, default=1_000_000, help="respondents per survey wave")
    args = parser.parse_args()
    settings = load_settings(2020)  # params/defaults.yaml and params/2020.yaml, as a report run reads them
    themes = settings.comment_themes
    conf, n_min = settings.confidence, settings.min_group_size
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "survey_responses.csv"
        frame = timed("generate", generate_survey, respondents_per_year=args.respondents)
        timed("write the CSV", frame.to_csv, path, index=False)
        df = timed("load and validate", load_survey, path)
    print(f"{len(df):,} rows")
    current = df[df["survey_year"] == 2020]
    timed("headline (CSAT, NPS, change)", survey.survey_headline, df, 2020, confidence=conf,
          nps_method=settings.nps_ci_method, min_n=n_min, small_sample_threshold=settings.small_sample_threshold)
    timed("touchpoints", survey.touchpoint_summary, current, min_n=n_min, confidence=conf)
    timed("first-year vs experienced", survey.compare_segments, current, survey.tenure_segment(current["tenure_years"]),
          min_n=n_min, alpha=1 - conf)
    timed("key drivers", survey.key_drivers, current, "csat", confidence=conf, min_n=n_min)
    timed("NPS by year", survey.nps_by_group, df["nps"], df["survey_year"], min_n=n_min, method=settings.nps_ci_method,
          confidence=conf)
    timed("comment themes", comments.theme_counts, current["comment_value"], themes)
    timed("theme quotes", comments.theme_quotes, current["comment_value"], themes)


if __name__ == "__main__":
    main()

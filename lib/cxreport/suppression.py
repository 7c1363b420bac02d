"""The one small-group rule: a group with too few answers shows no score anywhere.

A score on one or two answers gives those answers away: a partner with a
single answer and an LTR of 7.0 had a customer who answered 7. So every
breakdown (a partner, a partner's quarter, a segment, a stage, a touchpoint)
under ``min_group_size`` answers (params, default 5) is published without its
scores, in every table, CSV, workbook sheet, chart and sentence; its count
may still be shown, as "fewer than N" where the exact count would help
identify someone. Headline figures of a whole report are not suppressed but
carry a warning under ``small_sample_threshold`` answers
(:func:`cxreport.survey.small_sample_warning`).

Programme- or survey-level figures still use every answer: only the display
of the small groups is suppressed.

:func:`suppress_small_groups` is the rule; every module and notebook that
shows a per-group score calls it (library functions on their result tables,
notebooks once more on what they publish, with ``mark_count=True``).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

SUPPRESSED_TEXT = "suppressed"


def fewer_than(threshold: int) -> str:
    """The marker that replaces a small group's count: ``"fewer than 5"``."""
    return f"fewer than {int(threshold)}"


def small_groups(counts, threshold: int) -> pd.Series | np.ndarray:
    """True where a group's count is under ``threshold`` (the rows :func:`suppress_small_groups` blanks).

    A count that is missing or not a number (e.g. an earlier "fewer than N"
    marker) counts as small, so applying the rule twice changes nothing.
    """
    n = pd.to_numeric(pd.Series(counts), errors="coerce")
    small = n.isna() | (n < threshold)
    return small if isinstance(counts, pd.Series) else small.to_numpy()


def suppress_small_groups(
    frame: pd.DataFrame,
    count: str,
    scores: Iterable[str],
    threshold: int,
    *,
    mark_count: bool = False,
    flag: str | None = "suppressed",
) -> pd.DataFrame:
    """Blank the scores of the groups with fewer than ``threshold`` answers; return a new frame.

    ``frame`` has one row per group; ``count`` names its column of answers
    (the group's base, e.g. ``n``); ``scores`` the columns that must not be
    shown for a small group: every score, mean, share, interval and rank
    computed from the group's answers, and the per-category counts that
    would give its answers away (promoters/passives/detractors). Columns
    named in ``scores`` but absent from ``frame`` are ignored.

    For each row with ``count < threshold`` (or a count that is missing or
    not a number, see :func:`small_groups`):

    - every ``scores`` cell becomes missing: NaN in a numeric column
      (empty in a CSV, "–" in a report table), None in a text column.
      Numeric score columns are returned as floats in every row (as
      pandas' own blanking does), whether or not a group is small;
    - with ``mark_count``, a count above zero is replaced by
      :func:`fewer_than` ("fewer than 5"), so a published table does not
      say 1 or 2 either; a zero count stays 0 (no one to protect). The
      count column then holds text, so keep ``mark_count`` False for
      frames that are computed on or plotted;
    - ``flag`` (default ``"suppressed"``, None for none) is set True; an
      existing flag column stays True where it was already.

    Rows at or above the threshold, and the other columns, are unchanged;
    ``frame`` itself is not modified. Example with ``threshold`` 5::

        n  nps   ltr              n             nps   ltr   suppressed
        1  0.0   7.0    ->   "fewer than 5"     NaN   NaN   True
        0  NaN   NaN    ->        0             NaN   NaN   True
        12 25.0  8.1    ->        12            25.0  8.1   False
    """
    out = frame.copy()
    small = small_groups(out[count], threshold).to_numpy()
    for col in scores:
        if col == count or col not in out.columns:
            continue
        values = out[col]
        if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
            if small.any():
                out[col] = values.astype(object).where(~small, None)
        else:  # numeric scores are always floats, blank or not, so a column's type does not depend on the data
            out[col] = values.astype(float).where(~small, np.nan)
    if mark_count and small.any():
        n = pd.to_numeric(out[count], errors="coerce")
        marker = small & (n.fillna(1) > 0).to_numpy()
        if marker.any():
            out[count] = out[count].astype(object).where(~marker, fewer_than(threshold))
    if flag is not None:
        before = out[flag].fillna(False).astype(bool).to_numpy() if flag in out.columns else False
        out[flag] = before | small
    return out

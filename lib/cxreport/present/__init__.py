"""Presentation: how the report models' figures are shown (number style in :mod:`.format`).

This layer reads models and never computes a figure (see ``../shared/design.md``:
``present`` sits below ``reports`` in the arrows and imports nothing above it).
"""

from .format import (
    MINUS,
    SYMBOLS,
    money,
    number,
    p_value,
    percent,
    plural,
    points,
    sentence_case,
    stage_name,
)

__all__ = ["MINUS", "SYMBOLS", "money", "number", "p_value", "percent", "plural", "points", "sentence_case", "stage_name"]

"""Markdown tables and number formatting: the one way a report writes a table or a number.

Every document of the reporting layer (the leaderboard, the predictor report, the data
card, the fidelity frontier) renders its tables with :func:`table` and its numbers with
:func:`number`, :func:`mean_sd` and :func:`p_value`, so a cell is escaped the same way
everywhere and a value that is missing, not a number or not finite reads :data:`MISSING`
in all of them. Imports only numpy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["MISSING", "as_float", "escape_cell", "mean_sd", "number", "p_value", "table"]

#: What a table shows for a value that is missing, not a number, NaN or infinite.
MISSING = "—"


def escape_cell(text: str) -> str:
    """``text`` as one Markdown table cell: backslashes and pipes escaped, newlines as spaces."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _row(cells: Sequence[str]) -> str:
    """One table line; an empty cell is a single space (``| |``)."""
    return "|" + "|".join(f" {escape_cell(cell)} " if cell else " " for cell in cells) + "|"


def table(
    header: Sequence[str], rows: Sequence[Sequence[str]], *, numeric: Sequence[bool] | None = None
) -> str:
    """A GitHub-flavoured Markdown table, without a trailing newline; ``numeric`` marks the
    columns to right-align (default: none). Every row must have one cell per column."""
    aligned = tuple(numeric) if numeric is not None else (False,) * len(header)
    if len(aligned) != len(header):
        raise ValueError(f"numeric has {len(aligned)} flags for {len(header)} columns")
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"a row has {len(row)} cells for {len(header)} columns: {list(row)!r}")
    lines = [_row(header), "|" + "|".join("---:" if right else "---" for right in aligned) + "|"]
    lines.extend(_row(row) for row in rows)
    return "\n".join(lines)


def as_float(value: Any) -> float:
    """``value`` as a float; NaN when it is missing (None) or not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def number(value: Any, digits: int = 2, *, suffix: str = "") -> str:
    """``value`` with ``digits`` decimals and ``suffix`` (a unit such as ``" %"``);
    :data:`MISSING` when it is missing, not a number or not finite."""
    figure = as_float(value)
    return f"{figure:.{digits}f}{suffix}" if math.isfinite(figure) else MISSING


def mean_sd(values: np.ndarray, digits: int = 2) -> str:
    """``mean ± sd`` (sample standard deviation) of ``values``; the value alone when there
    is one, :data:`MISSING` when there are none."""
    if len(values) == 0:
        return MISSING
    if len(values) == 1:
        return number(values[0], digits)
    return f"{np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f}"


def p_value(value: Any) -> str:
    """A p-value: four decimals, or scientific notation below 0.001."""
    figure = as_float(value)
    if not math.isfinite(figure):
        return MISSING
    return f"{figure:.2e}" if figure < 1e-3 else f"{figure:.4f}"

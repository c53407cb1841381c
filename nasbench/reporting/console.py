"""Text for a terminal: JSON and tables of metric rows, as every command prints them.

Used by the ``nasbench`` command and by the commands plug-ins add, so one study prints the
same way whoever runs it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["json_text", "metric_rows_text"]


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_text(data: Any) -> str:
    """``data`` as indented JSON with sorted keys; numpy scalars and arrays as plain values."""
    return json.dumps(data, indent=2, sort_keys=True, default=_jsonable)


def metric_rows_text(title: str, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """The title, then one right-aligned line per row (floats to 4 significant digits)."""
    lines = [title, "  " + "  ".join(f"{c:>12}" for c in columns)]
    for row in rows:
        cells = []
        for column in columns:
            value = row.get(column)
            cells.append(f"{value:>12.4g}" if isinstance(value, float) else f"{value!s:>12}")
        lines.append("  " + "  ".join(cells))
    return "\n".join(lines)

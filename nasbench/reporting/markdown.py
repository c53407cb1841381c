"""Markdown text, tables and numbers: the one way a report writes them.

Every document of the reporting layer (the leaderboard, the predictor report, the data
card, the fidelity frontier) renders its tables with :func:`table` and its numbers with
:func:`number`, :func:`mean_sd` and :func:`p_value`, so a cell is escaped the same way
everywhere and a value that is missing, not a number or not finite reads :data:`MISSING`
in all of them. Imports only numpy.

Strings from outside the package (a table's name and attributes, architecture strings,
config.json, a plug-in's names, hyperparameters and error messages) are text, not
Markdown: :func:`text` escapes them (raw HTML, links, emphasis and code spans cannot
survive), :func:`code` puts one in a code span and :func:`fence` in a fenced block,
whatever it holds. A table cell is escaped as text unless it is :class:`Markdown` built
from these helpers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "MISSING",
    "Markdown",
    "as_float",
    "code",
    "escape_cell",
    "fence",
    "line",
    "mean_sd",
    "number",
    "p_value",
    "table",
    "text",
]

#: What a table shows for a value that is missing, not a number, NaN or infinite.
MISSING = "—"

#: Characters that Markdown always may read as syntax (code spans, emphasis, links, table
#: columns, headings), escaped by a backslash.
_ALWAYS = frozenset("\\`*[]|#")
#: ``<`` opens raw HTML or an autolink only when a letter, ``/``, ``!`` or ``?`` follows.
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
#: ``&`` matters only where it begins an entity (which would be decoded).
_ENTITY_START = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
#: What starts a block when a line begins with it: a blockquote, a list item, a heading
#: underline (after up to three spaces).
_BLOCK_START = re.compile(r"^(\s{0,3})(?:(>|[-+](?=\s|$)|=+\s*$)|(\d{1,9})([.)])(?=\s|$))")
_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x0b\x0c\x85]+")


class Markdown(str):
    """A string that is Markdown already (made by :func:`text`, :func:`code` and the
    like): :func:`table` does not escape it again. Joining it with a plain ``str`` gives a
    plain ``str``, which is escaped: a mistake shows backslashes, never raw HTML."""


def _escape_underscore(flat: str, index: int) -> bool:
    """Whether the ``_`` at ``index`` could delimit emphasis (not between two letters or
    digits, as in ``nor_conv_3x3``, where Markdown never reads it)."""
    before = flat[index - 1] if index > 0 else ""
    after = flat[index + 1] if index + 1 < len(flat) else ""
    return not (before.isalnum() and after.isalnum())


def text(value: object) -> Markdown:
    """``value`` (any string from outside: a table, config.json, a plug-in) as inline
    Markdown that reads exactly as the string: line breaks become spaces; backslashes,
    backticks, ``*``, ``[``, ``]``, ``|``, ``#`` and an ``_`` that could delimit emphasis are
    backslash-escaped; a ``<`` that could open a tag or an autolink and an ``&`` that could
    open an entity become ``&lt;`` and ``&amp;``. Raw HTML cannot survive; text that needs no
    escaping (``p < 0.05``, ``cells_per_stage``) stays as it is."""
    flat = _LINE_BREAKS.sub(" ", str(value))
    out = []
    for index, char in enumerate(flat):
        if char in _ALWAYS or (char == "_" and _escape_underscore(flat, index)):
            out.append("\\" + char)
        elif char == "<" and _TAG_START.match(flat, index):
            out.append("&lt;")
        elif char == "&" and _ENTITY_START.match(flat, index):
            out.append("&amp;")
        else:
            out.append(char)
    return Markdown("".join(out))


def line(value: object) -> Markdown:
    """``value`` as :func:`text`, to begin a paragraph or a list item: a leading ``>``,
    list marker or underline is escaped too, so the text cannot start a block of its own."""

    def escape(match: re.Match[str]) -> str:
        indent, marker, number, delimiter = match.groups()
        return f"{indent}\\{marker}" if marker else f"{indent}{number}\\{delimiter}"

    return Markdown(_BLOCK_START.sub(escape, text(value), count=1))


def code(value: object) -> Markdown:
    """``value`` as an inline code span, whatever it holds: the fence is one backtick longer
    than its longest run of backticks, line breaks become spaces. Raw HTML inside a code
    span is shown, never interpreted."""
    content = _LINE_BREAKS.sub(" ", str(value))
    runs = [len(run) for run in re.findall(r"`+", content)]
    ticks = "`" * (max(runs, default=0) + 1)
    if content.startswith("`") or content.endswith("`") or (content.startswith(" ") and content.strip()):
        content = f" {content} "
    return Markdown(f"{ticks}{content}{ticks}")


def fence(value: str, language: str = "") -> Markdown:
    """``value`` as a fenced code block that it cannot close: the fence is longer than any
    run of backticks in it."""
    runs = [len(run) for run in re.findall(r"`+", value)]
    ticks = "`" * max(3, max(runs, default=0) + 1)
    return Markdown(f"{ticks}{_LINE_BREAKS.sub(' ', language)}\n{value}\n{ticks}")


def escape_cell(cell: str) -> str:
    """``cell`` as one Markdown table cell: a plain string escaped as :func:`text`; a
    :class:`Markdown` one keeps its syntax, with only pipes escaped (GitHub reads a pipe
    as a column break even inside a code span) and line breaks as spaces."""
    if isinstance(cell, Markdown):
        return _LINE_BREAKS.sub(" ", _UNESCAPED_PIPE.sub(r"\\|", cell))
    return str(text(cell))


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

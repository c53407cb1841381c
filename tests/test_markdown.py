"""The reporting layer's one Markdown table writer and number formatting."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nasbench.reporting.markdown import MISSING, as_float, escape_cell, mean_sd, number, p_value, table


def test_table_aligns_numeric_columns_and_escapes_cells() -> None:
    text = table(("name", "value"), [("a|b", "1.00"), ("back\\slash\nnext", "2.00")], numeric=(False, True))
    assert text.splitlines() == [
        "| name | value |",
        "|---|---:|",
        "| a\\|b | 1.00 |",
        "| back\\\\slash next | 2.00 |",
    ]
    assert not text.endswith("\n")


def test_table_defaults_to_left_alignment_and_keeps_empty_cells_one_space() -> None:
    assert table(("", ""), [("key", "")]) == "| | |\n|---|---|\n| key | |"
    assert table(("only",), []) == "| only |\n|---|"


def test_table_refuses_rows_or_flags_of_the_wrong_width() -> None:
    with pytest.raises(ValueError, match="a row has 1 cells for 2 columns"):
        table(("a", "b"), [("x",)])
    with pytest.raises(ValueError, match="numeric has 1 flags for 2 columns"):
        table(("a", "b"), [], numeric=(True,))


def test_escape_cell() -> None:
    assert escape_cell("|x~0|+|y~1|") == "\\|x~0\\|+\\|y~1\\|"
    assert escape_cell("plain") == "plain"


@pytest.mark.parametrize("value", [None, math.nan, math.inf, -math.inf, "not a number", np.float32("nan")])
def test_every_missing_value_reads_the_same(value: object) -> None:
    assert number(value) == MISSING
    assert number(value, 3, suffix=" %") == MISSING
    assert p_value(value) == MISSING


def test_numbers() -> None:
    assert number(1.23456) == "1.23"
    assert number(np.float64(61.25), 1) == "61.2"
    assert number("0.5", 3) == "0.500"  # JSON numbers written as strings still format
    assert number(0.8123, 3, suffix=" %") == "0.812 %"
    assert number(2.5, 0) == "2"
    assert as_float(None) != as_float(None)  # NaN
    assert as_float(3) == 3.0


def test_mean_sd() -> None:
    assert mean_sd(np.asarray([])) == MISSING
    assert mean_sd(np.asarray([1.5])) == "1.50"
    values = np.asarray([1.0, 2.0, 4.0])
    assert mean_sd(values, 3) == f"{values.mean():.3f} ± {values.std(ddof=1):.3f}"


def test_p_value() -> None:
    assert p_value(0.04567) == "0.0457"
    assert p_value(0.001) == "0.0010"
    assert p_value(0.000123) == "1.23e-04"

"""The fidelity frontier: protocols cheapest first, the two-seed estimate, missing figures marked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nasbench.generation.fidelity import seed_mean_spearman
from nasbench.reporting.frontier import FRONTIER_FIELDS, frontier_markdown
from nasbench.reporting.markdown import MISSING


def _report(seconds: float, spearman: float | None) -> dict[str, object]:
    return {
        "archs": 100,
        "core_seconds_per_run": seconds,
        "table_core_hours": seconds * 12932 / 3600,
        "spearman": spearman,
        "kendall_tau": None if spearman is None else spearman - 0.15,
        "mean_abs_seed_difference_pct": 1.0,
        "protocol": {"resolution": 12, "epochs": 4},
    }


def test_frontier_markdown_orders_protocols_by_cost() -> None:
    text = frontier_markdown({"slow": _report(9.0, 0.8), "fast": _report(2.0, 0.5)})
    lines = text.splitlines()
    figures = ("archs", "core-s/run", "table core-h", "Spearman", "Kendall", "mean abs diff %",
               "2-seed-mean Spearman (est.)")  # fmt: skip
    assert lines[0] == "| " + " | ".join(("protocol", *FRONTIER_FIELDS, *figures)) + " |"
    assert lines[1] == "|" + "---|" * (len(FRONTIER_FIELDS) + 8)
    assert lines[2].startswith("| fast | 12 |") and lines[3].startswith("| slow | 12 |")
    assert "| 0.667 |" in lines[2]  # two-seed mean by Spearman-Brown: 2 * 0.5 / 1.5
    assert lines[3].endswith(f"| {seed_mean_spearman(0.8, 2):.3f} |")
    assert len(lines) == 4 and text.endswith("\n")


def test_frontier_marks_missing_fields_and_figures() -> None:
    """A field the protocol does not set and a correlation that could not be computed
    (None in the JSON report) read as the reports' one missing-value marker."""
    line = frontier_markdown({"flat": _report(1.0, None)}).splitlines()[2]
    cells = [cell.strip() for cell in line.strip("|").split("|")]
    assert cells[:5] == ["flat", "12", MISSING, MISSING, "4"]  # resolution, width, cells_per_stage, epochs
    assert cells[-4:] == [MISSING, MISSING, "1.000", MISSING]  # Spearman, Kendall, abs diff, two-seed
    negative = frontier_markdown({"noise": _report(1.0, -0.2)}).splitlines()[2]
    assert negative.endswith("| -0.200 |")  # Spearman-Brown is not defined for <= 0: passed through


def test_frontier_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from nasbench.cli.main import main

    assert main(["frontier", str(tmp_path)]) == 1
    assert capsys.readouterr().err.startswith("nasbench: error:")
    (tmp_path / "a.h5.json").write_text(
        json.dumps(
            {
                "archs": 3,
                "core_seconds_per_run": 1.0,
                "table_core_hours": 3.6,
                "spearman": 0.5,
                "kendall_tau": 0.4,
                "mean_abs_seed_difference_pct": 2.0,
                "protocol": {"epochs": 2},
            }
        )
    )
    assert main(["frontier", str(tmp_path)]) == 0
    assert "| a |" in capsys.readouterr().out

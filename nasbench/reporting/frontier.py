"""The fidelity frontier: one Markdown table of protocol fidelity reports, cheapest first.

Each report is the JSON that ``nasbench fidelity`` writes beside a table (see
:func:`nasbench.generation.fidelity.fidelity_report`); the table shows the protocol's
fields, what one run and the whole space cost, and how well two seeds agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nasbench.core.agreement import seed_mean_spearman
from nasbench.reporting.markdown import MISSING, number, table

__all__ = ["FRONTIER_FIELDS", "frontier_markdown"]

#: Protocol fields shown in a frontier row, in order.
FRONTIER_FIELDS = (
    "resolution",
    "width",
    "cells_per_stage",
    "epochs",
    "train_size",
    "val_size",
    "batch_size",
    "learning_rate",
    "label_smoothing",
    "bf16",
)


def _two_seed_mean_spearman(single_seed: float | None) -> float | None:
    """Spearman-Brown estimate of the agreement of a two-seed mean from the single-seed
    agreement; not defined for a coefficient <= 0, which is passed through."""
    if single_seed is None or single_seed <= 0:
        return single_seed
    return seed_mean_spearman(single_seed, 2)


def frontier_markdown(reports: Mapping[str, Mapping[str, Any]]) -> str:
    """A Markdown table of fidelity reports (name -> report), cheapest first: cost per run,
    projected table cost, single-seed and two-seed-mean Spearman, Kendall tau."""
    header = (
        "protocol",
        *FRONTIER_FIELDS,
        "archs",
        "core-s/run",
        "table core-h",
        "Spearman",
        "Kendall",
        "mean abs diff %",
        "2-seed-mean Spearman (est.)",
    )
    rows = []
    for name, report in sorted(reports.items(), key=lambda item: item[1]["core_seconds_per_run"]):
        protocol = report.get("protocol", {})
        fields = [str(protocol[key]) if key in protocol else MISSING for key in FRONTIER_FIELDS]
        figures = [
            str(report["archs"]),
            number(report["core_seconds_per_run"], 2),
            number(report["table_core_hours"], 1),
            number(report["spearman"], 3),
            number(report["kendall_tau"], 3),
            number(report["mean_abs_seed_difference_pct"], 3),
            number(_two_seed_mean_spearman(report["spearman"]), 3),
        ]
        rows.append((name, *fields, *figures))
    return table(header, rows) + "\n"

"""The main job: the standard comparison on the shipped default table, as a leaderboard.

Every built-in strategy runs for ``seeds`` seeds under one budget of simulated seconds
(``budget_runs`` times the mean cost of one full training run of the table, so the budget
means the same on any table), then the report is written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.bench.benchmark import Budget
from nasbench.core.errors import ConfigError, TableError
from nasbench.core.table import open_table
from nasbench.search.strategy import ENTRY_POINT_GROUP

__all__ = ["DEFAULT_TABLE", "builtin_strategies", "default_table", "full_run_seconds", "run_demo"]

#: File name of the shipped default table in ``tables/``.
DEFAULT_TABLE = "nb201-fmnist-cpu.h5"


def default_table() -> Path:
    """The shipped default table: ``tables/`` of the working directory, else of the checkout
    this package was installed from."""
    candidates = [
        Path("tables") / DEFAULT_TABLE,
        Path(__file__).resolve().parents[1] / "tables" / DEFAULT_TABLE,
    ]
    for path in candidates:
        if path.is_file():
            return path
    raise TableError(f"the shipped default table tables/{DEFAULT_TABLE} is missing; pass --table PATH")


def builtin_strategies() -> list[str]:
    """Names of the black-box strategies this package ships (its own entry points, the
    one-shot ones left out: they train supernets for minutes each), sorted."""
    names = []
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        builtin = entry.value.startswith("nasbench.strategies.")
        if builtin and not entry.value.startswith("nasbench.strategies.oneshot:"):
            names.append(entry.name)
    return sorted(set(names))


def full_run_seconds(table: Any) -> float:
    """Mean simulated seconds of one full training run (all epochs, one final evaluation)."""
    train = np.nansum(table.raw("train_seconds").astype(np.float64), axis=2)
    cost = train
    if "eval_seconds" in table.epoch_metrics:
        cost = train + np.nan_to_num(table.raw("eval_seconds")[:, :, -1].astype(np.float64))
    recorded = table.run_status != 0
    return float(np.mean(cost[recorded]))


@dataclass
class DemoSummary:
    """What :func:`run_demo` wrote."""

    table: str
    strategies: list[str]
    seeds: int
    budget_seconds: float
    results: str
    report_files: list[str]
    compare_wall_seconds: float
    runs_failed: int


def run_demo(
    *,
    table: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] = "reports/leaderboard",
    results: str | os.PathLike[str] = "build/leaderboard-results",
    seeds: int = 10,
    budget_runs: float = 100.0,
    strategies: list[str] | None = None,
    workers: int = 2,
    progress: bool = True,
) -> DemoSummary:
    """Compare the built-in strategies on ``table`` (default: the shipped one) and write the
    leaderboard ``out``.html / ``out``.md; the raw results go to ``results`` (replaced)."""
    from nasbench.reporting.leaderboard import write_report
    from nasbench.search.runner import compare

    if isinstance(budget_runs, bool) or not isinstance(budget_runs, (int, float)) or not budget_runs > 0:
        raise ConfigError(f"budget runs must be a positive number, got {budget_runs!r}")
    path = Path(table) if table is not None else default_table()
    opened = open_table(path)
    seconds = round(budget_runs * full_run_seconds(opened), 1)
    names = strategies if strategies is not None else builtin_strategies()
    if not names:
        raise ConfigError("no built-in strategies are registered (is the package installed?)")
    summary = compare(
        [path],
        names,
        seeds,
        Budget(seconds=seconds),
        results,
        workers=workers,
        overwrite=True,
        progress=progress,
    )
    files = write_report(results, out)
    return DemoSummary(
        table=str(path),
        strategies=list(summary.strategies),
        seeds=seeds,
        budget_seconds=seconds,
        results=str(results),
        report_files=[str(f) for f in files],
        compare_wall_seconds=summary.wall_seconds,
        runs_failed=summary.runs_failed,
    )

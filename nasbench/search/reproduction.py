"""The NAS-Bench-201 reproduction study: search strategies on the imported 12-epoch
tables, many seeds, final test accuracy at several evaluation budgets, beside random
search's closed-form expectation (:mod:`nasbench.bench.expected`).

One run per (table, strategy, seed) at the largest budget; the result at a smaller
budget ``b`` is the incumbent after ``b`` evaluations of that run (the strategies here
never look at the budget, so this equals a run stopped at ``b``). Runs are grouped in
chunks of seeds, each written by :func:`~nasbench.search.runner.compare` into its own
directory; a chunk already written with the same configuration is kept, so an
interrupted study goes on where it stopped.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.bench.benchmark import Budget
from nasbench.bench.expected import random_search_expectation
from nasbench.core.errors import ConfigError
from nasbench.core.table import open_table
from nasbench.search.runner import compare

__all__ = [
    "REPRODUCTION_PARAMS",
    "REPRODUCTION_STRATEGIES",
    "run_reproduction",
    "summarise_reproduction",
]

logger = logging.getLogger(__name__)

#: The strategies of the study, in report order.
REPRODUCTION_STRATEGIES: tuple[str, ...] = ("rs", "re", "reinforce", "bananas")
#: Settings: random search draws distinct indices uniformly (the closed form's model and
#: NAS-Bench-201's baseline, which samples cells, not classes); RE uses NAS-Bench-201's
#: population 10 and sample 3 (its defaults here too); REINFORCE and BANANAS their defaults.
REPRODUCTION_PARAMS: dict[str, dict[str, Any]] = {
    "rs": {"deduplicate": "index"},
    "re": {"population_size": 10, "sample_size": 3},
}


def _chunks(seeds: int, chunk: int) -> list[list[int]]:
    return [list(range(start, min(start + chunk, seeds))) for start in range(0, seeds, chunk)]


def run_reproduction(
    tables: Sequence[str | os.PathLike[str]],
    results: str | os.PathLike[str],
    *,
    seeds: int = 200,
    budgets: Sequence[int] = (50, 100, 200, 500),
    strategies: Sequence[str] = REPRODUCTION_STRATEGIES,
    chunk: int = 50,
    workers: int = 0,
    progress: bool = True,
) -> Path:
    """Run (or finish) the study into the directory ``results``; returns it."""
    if not tables:
        raise ConfigError("the reproduction needs at least one table")
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 2:
        raise ConfigError(f"seeds must be an integer >= 2, got {seeds!r}")
    checked = sorted({int(b) for b in budgets})
    if not checked or checked[0] < 1:
        raise ConfigError(f"budgets must be positive evaluation counts, got {list(budgets)}")
    root = Path(results)
    root.mkdir(parents=True, exist_ok=True)
    plan = {
        "tables": [Path(t).name for t in tables],
        "strategies": list(strategies),
        "seeds": seeds,
        "budgets": checked,
        "params": {name: REPRODUCTION_PARAMS.get(name, {}) for name in strategies},
    }
    plan_file = root / "plan.json"
    if plan_file.exists() and json.loads(plan_file.read_text()) != plan:
        raise ConfigError(f"{root} holds a study with another plan; use another directory")
    plan_file.write_text(json.dumps(plan, indent=2, sort_keys=True) + "\n")
    for strategy in strategies:
        for table in tables:
            for seed_chunk in _chunks(seeds, chunk):
                target = (
                    root / Path(table).stem / strategy / f"seeds-{seed_chunk[0]:04d}-{seed_chunk[-1]:04d}"
                )
                if (target / "runs.csv").exists():
                    continue
                logger.info("reproduction: %s on %s, seeds %s", strategy, Path(table).stem, target.name)
                compare(
                    [str(table)],
                    [strategy],
                    seed_chunk,
                    Budget(evaluations=checked[-1]),
                    target,
                    workers=workers,
                    params={strategy: REPRODUCTION_PARAMS[strategy]}
                    if strategy in REPRODUCTION_PARAMS
                    else None,
                    overwrite=True,
                    progress=progress,
                )
    return root


def _final_at(trajectories: Any, budgets: list[int]) -> dict[int, np.ndarray]:
    """Incumbent test accuracy after each budget, one value per seed."""
    out: dict[int, np.ndarray] = {}
    for budget in budgets:
        rows = trajectories[trajectories["evaluation"] == budget].sort_values("seed")
        out[budget] = rows["incumbent_test_acc"].to_numpy(dtype=np.float64)
    return out


def summarise_reproduction(
    results: str | os.PathLike[str], tables: Sequence[str | os.PathLike[str]]
) -> dict[str, Any]:
    """The study's figures (JSON-ready): per table, strategy and budget the mean, sample
    standard deviation and standard error of the final test accuracy over seeds; random
    search's closed form beside it with the z-score of the simulation against it."""
    import pandas as pd

    root = Path(results)
    plan = json.loads((root / "plan.json").read_text())
    budgets = [int(b) for b in plan["budgets"]]
    summary: dict[str, Any] = {"plan": plan, "tables": {}}
    for table_path in tables:
        table = open_table(table_path)
        stem = Path(table_path).stem
        entry: dict[str, Any] = {
            "file": Path(table_path).name,
            "checksum": table.checksum,
            "dataset": table.dataset.get("name"),
            "best_test_acc": float(np.nanmax(table.metric("test_acc"))),
            "strategies": {},
        }
        signal, test = table.metric("val_acc"), table.metric("test_acc")
        entry["random_search_closed_form"] = {
            str(b): dict(zip(("mean", "sd"), random_search_expectation(signal, test, b), strict=True))
            for b in budgets
        }
        for strategy in plan["strategies"]:
            directory = root / stem / strategy
            frames = [pd.read_csv(path) for path in sorted(directory.glob("seeds-*/trajectories.csv"))]
            runs = [pd.read_csv(path) for path in sorted(directory.glob("seeds-*/runs.csv"))]
            if not frames:
                raise ConfigError(f"{directory}: no results; run the study first")
            trajectories = pd.concat(frames, ignore_index=True)
            run_rows = pd.concat(runs, ignore_index=True)
            failed = int((run_rows["status"] != "ok").sum())
            figures: dict[str, Any] = {"runs": len(run_rows), "failed": failed}
            for budget, values in _final_at(trajectories, budgets).items():
                n = values.size
                sd = float(np.std(values, ddof=1)) if n > 1 else None
                figures[str(budget)] = {
                    "n": n,
                    "mean": float(np.mean(values)),
                    "sd": sd,
                    "se": None if sd is None else sd / np.sqrt(n),
                }
            entry["strategies"][strategy] = figures
        if "rs" in entry["strategies"]:
            for budget in budgets:
                simulated = entry["strategies"]["rs"][str(budget)]
                closed = entry["random_search_closed_form"][str(budget)]
                se = simulated["se"]
                closed["z_simulated"] = None if not se else (simulated["mean"] - closed["mean"]) / se
        summary["tables"][stem] = entry
    return summary

"""Fabricated results directories in the format ``nasbench compare`` writes, for report tests.

:func:`write_results` writes config.json, runs.csv, trajectories.csv, pareto.csv,
errors.json and timing.json for made-up but plausible runs: every run's incumbent improves
at random evaluations from a few percentage points of regret down to a target that the
strategy sets (``final_regret_pp``, times 1 ± 10 % per seed, or exactly the value given in
``final_regrets``), so the expected ranking is known. config.json carries what a comparison
records since issue 21 (the statistical protocol, and per table its scoring, seed noise,
best test accuracy per seed and hypervolume reference) unless ``legacy`` asks for results
written before. Nothing here runs a strategy or opens a table.
"""

from __future__ import annotations

import hashlib
import json
import math
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
LATENCY = "cpu-1t/latency_ms_b1"
TABLE_BEST_TEST_ACC = 93.5  # percent
FEASIBLE_BEST_TEST_ACC = 90.25  # percent, best under the fabricated constraint
NUM_EPOCHS = 12
MEAN_RUN_SECONDS = 61.25  # config.json's mean seconds of a full run of the table

RUN_HEADER = (
    "table,strategy,kind,seed,status,evaluations,sim_seconds,final_index,final_arch,final_val_acc,"
    "final_test_acc,final_regret,objective,constraint"
)
TRAJECTORY_HEADER = (
    "table,strategy,seed,evaluation,sim_seconds,index,epochs,val_acc,incumbent_index,"
    "incumbent_val_acc,incumbent_test_acc,regret"
)
PARETO_HEADER = "table,strategy,seed,objective,index,val_acc,test_acc,objective_value"
#: config.json's statistical protocol, as ``nasbench compare`` records it by default.
DEFAULT_STATISTICS: dict[str, Any] = {"protocol": "baseline", "baseline": "rs", "alpha": 0.05}
TEST_SEED_SD_PP = 0.35  # the tables' seed noise of one run's final test accuracy
#: The tables' fixed hypervolume reference: an accuracy floor and a ceiling per objective.
HYPERVOLUME_REFERENCE = {"test_acc": 80.0, LATENCY: 0.75, "params_m": 1.6, "flops_m": 220.0}
SCORING_TEXT = "each run is scored by the test accuracy of the training seeds it did not search on"


@dataclass(frozen=True)
class FakeStrategy:
    """A strategy to fabricate runs for: its runs end near ``final_regret_pp``."""

    name: str
    kind: str = "black-box"
    final_regret_pp: float = 1.0
    objective: str = ""
    constraint: str = ""
    hyperparameters: dict[str, Any] = field(default_factory=dict)


DEFAULT_STRATEGIES: tuple[FakeStrategy, ...] = (
    FakeStrategy("re", "black-box", 0.3, hyperparameters={"population_size": 20, "sample_size": 5}),
    FakeStrategy("rs", "black-box", 1.0),
    FakeStrategy("nsga2", "multi-objective", 2.0, objective=LATENCY, hyperparameters={"population_size": 16}),
    FakeStrategy(
        "constrained-re",
        "constrained",
        0.5,
        constraint=f"{LATENCY}<=0.25",
        hyperparameters={"limit_ms": 0.25},
    ),
)
FAILED_ERROR = "ValueError: population exhausted: no feasible architecture left to mutate"


@dataclass
class FabricatedResults:
    """What was written, for tests to compute expectations from."""

    directory: Path
    strategies: tuple[FakeStrategy, ...]
    seeds: list[int]
    tables: list[str]
    evaluations: int
    failed: list[tuple[str, str, int]]  # (table, strategy, seed)
    # (table, strategy, seed) -> final regret in percentage points, for runs that finished
    final_regret: dict[tuple[str, str, int], float] = field(default_factory=dict)


def _arch_string(index: int) -> str:
    """An NB201-style cell string made from the base-5 digits of ``index``."""
    digits = [(index // 5**edge) % 5 for edge in range(6)]
    ops = [NB201_OPS[d] for d in digits]
    return f"|{ops[0]}~0|+|{ops[1]}~0|{ops[2]}~1|+|{ops[3]}~0|{ops[4]}~1|{ops[5]}~2|"


def _cell(value: Any) -> str:
    """A CSV field the way the runner writes it: floats by repr, None and NaN empty."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return str(value)


def _rng(*parts: Any) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32("/".join(map(str, parts)).encode()))


def _fabricate_run(
    table: str, strategy: FakeStrategy, seed: int, evaluations: int, final_regret: float | None = None
) -> tuple[list[tuple[Any, ...]], float]:
    """Trajectory rows of one run (Benchmark.trajectory columns) and its final regret
    (``final_regret`` exactly when given)."""
    rng = _rng(table, strategy.name, seed)
    best = FEASIBLE_BEST_TEST_ACC if strategy.constraint else TABLE_BEST_TEST_ACC
    final = strategy.final_regret_pp * (1 + 0.1 * (2 * rng.random() - 1))
    if final_regret is not None:
        final = final_regret
    start = final + 4.0 + 4.0 * rng.random()
    # Constrained runs: the first evaluation is infeasible, so no incumbent yet.
    first = 2 if strategy.constraint else 1
    count = min(evaluations - first + 1, 8)
    later = rng.choice(np.arange(first + 1, evaluations + 1), size=count - 1, replace=False)
    improvements = [first, *sorted(int(e) for e in later)]
    levels = np.geomspace(start, final, count) if final > 0 else np.linspace(start, final, count)
    levels[-1] = final
    level_at = dict(zip(improvements, levels.tolist(), strict=True))
    rows: list[tuple[Any, ...]] = []
    sim_seconds = 0.0
    incumbent, regret = -1, math.nan
    for evaluation in range(1, evaluations + 1):
        sim_seconds += float(rng.uniform(20.0, 120.0))
        index = int(rng.integers(0, 5**6))
        if evaluation in level_at:
            incumbent, regret = index, float(level_at[evaluation])
            val_acc = best - regret - 0.5
        elif incumbent < 0:
            val_acc = best + 1.0  # infeasible and better than anything feasible
        else:
            val_acc = best - regret - 0.5 - float(rng.uniform(0.01, 5.0))
        if incumbent < 0:
            rows.append(
                (evaluation, sim_seconds, index, NUM_EPOCHS, val_acc, -1, math.nan, math.nan, math.nan)
            )
        else:
            test = best - regret
            rows.append(
                (evaluation, sim_seconds, index, NUM_EPOCHS, val_acc, incumbent, test - 0.5, test, regret)
            )
    return rows, float(levels[-1])


def _pareto_rows(table: str, strategy: FakeStrategy, seed: int) -> list[tuple[Any, ...]]:
    rng = _rng("pareto", table, strategy.name, seed)
    count = int(rng.integers(3, 8))
    latency = np.sort(rng.uniform(0.05, 0.6, size=count))
    val_acc = np.sort(80.0 + 12.0 * np.sqrt(latency) + rng.uniform(-0.3, 0.3, size=count))
    rows = []
    for value, accuracy in zip(latency.tolist(), val_acc.tolist(), strict=True):
        index = int(rng.integers(0, 5**6))
        test = accuracy + float(rng.uniform(-0.5, 0.5))
        rows.append((table, strategy.name, seed, strategy.objective, index, accuracy, test, value))
    return rows


def _recorded_since_issue_21(seeds: Sequence[int]) -> dict[str, Any]:
    """A table entry's keys that config.json holds since issue 21."""
    return {
        "scoring": {"mode": "holdout", "text": SCORING_TEXT},
        "test_seed_sd_pp": TEST_SEED_SD_PP,
        "best_test_acc_by_seed": {str(seed): TABLE_BEST_TEST_ACC for seed in seeds},
        "hypervolume_reference": dict(HYPERVOLUME_REFERENCE),
    }


def write_results(
    directory: str | Path,
    *,
    strategies: Sequence[FakeStrategy] = DEFAULT_STRATEGIES,
    seeds: Iterable[int] = range(5),
    tables: Sequence[str] = ("tiny-digits",),
    evaluations: int = 40,
    failed: Sequence[tuple[str, int]] = (("rs", 3),),
    final_regrets: Mapping[tuple[str, int], float] | None = None,
    statistics: dict[str, Any] | None = DEFAULT_STATISTICS,
    legacy: bool = False,
) -> FabricatedResults:
    """Write a results directory; ``failed`` lists (strategy, seed) runs that fail on every
    table; ``final_regrets`` sets the final regret of (strategy, seed) runs exactly;
    ``statistics`` is config.json's protocol (None: not recorded); ``legacy`` writes
    config.json as before issue 21 (no protocol, scoring, seed noise or reference)."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    seeds = list(seeds)
    fabricated = FabricatedResults(out, tuple(strategies), seeds, list(tables), evaluations, [])
    config = {
        "format": "nasbench-results/1",
        "nasbench_version": "0.1.0",
        "budget": {"evaluations": evaluations, "seconds": None},
        "isolation": "process",
        "seeds": seeds,
        "tables": [
            {
                "name": table,
                "path": f"tables/{table}.h5",
                "checksum": "sha256:" + hashlib.sha256(table.encode()).hexdigest(),  # as Table stores it
                "dataset": {"name": "digits", "split": {"train": 1000, "val": 397, "test": 400}},
                "protocol": {"epochs": NUM_EPOCHS, "optimizer": "sgd", "lr": 0.1, "batch_size": 64},
                "space": {"name": "nb201", "ops": list(NB201_OPS), "nodes": 4},
                "num_epochs": NUM_EPOCHS,
                "best_test_acc": TABLE_BEST_TEST_ACC,
                "mean_run_seconds": MEAN_RUN_SECONDS,
                **({} if legacy else _recorded_since_issue_21(seeds)),
            }
            for table in tables
        ],
        "strategies": [
            {"name": s.name, "kind": s.kind, "hyperparameters": dict(s.hyperparameters)} for s in strategies
        ],
    }
    if statistics is not None and not legacy:
        config["statistics"] = dict(statistics)
    (out / "config.json").write_text(json.dumps(config, sort_keys=True, indent=2) + "\n")
    failing = set(failed)
    run_lines, trajectory_lines, pareto_lines, errors = [RUN_HEADER], [TRAJECTORY_HEADER], [PARETO_HEADER], []
    for table in sorted(tables):
        for strategy in sorted(strategies, key=lambda s: s.name):
            for seed in sorted(seeds):
                key = (table, strategy.name, seed)
                if (strategy.name, seed) in failing:
                    fabricated.failed.append(key)
                    run = (table, strategy.name, strategy.kind, seed, "failed", 7, 512.5, *[None] * 5)
                    run_lines.append(",".join(map(_cell, (*run, strategy.objective, strategy.constraint))))
                    errors.append(
                        {
                            "table": table,
                            "strategy": strategy.name,
                            "seed": seed,
                            "error": FAILED_ERROR,
                            "traceback": "Traceback (most recent call last):\n"
                            '  File "strategies/evolution.py", line 88, in ask\n'
                            "    parent = self._tournament()\n" + FAILED_ERROR + "\n",
                        }
                    )
                    continue
                given = None if final_regrets is None else final_regrets.get((strategy.name, seed))
                rows, final = _fabricate_run(table, strategy, seed, evaluations, given)
                fabricated.final_regret[key] = final
                last = rows[-1]
                best = FEASIBLE_BEST_TEST_ACC if strategy.constraint else TABLE_BEST_TEST_ACC
                run = (
                    table, strategy.name, strategy.kind, seed, "ok", evaluations, last[1], last[5],
                    _arch_string(last[5]), last[6], last[7], best - last[7],
                    strategy.objective, strategy.constraint,
                )  # fmt: skip
                assert math.isclose(best - last[7], final)
                fabricated.final_regret[key] = best - last[7]
                run_lines.append(",".join(map(_cell, run)))
                for row in rows:
                    trajectory_lines.append(",".join(map(_cell, (table, strategy.name, seed, *row))))
                if strategy.objective:
                    for row in _pareto_rows(table, strategy, seed):
                        pareto_lines.append(",".join(map(_cell, row)))
    (out / "runs.csv").write_text("\n".join(run_lines) + "\n")
    (out / "trajectories.csv").write_text("\n".join(trajectory_lines) + "\n")
    (out / "pareto.csv").write_text("\n".join(pareto_lines) + "\n")
    (out / "errors.json").write_text(json.dumps(errors, sort_keys=True, indent=2) + "\n")
    timing = {"runs": [], "total_seconds": 1.0}
    (out / "timing.json").write_text(json.dumps(timing, indent=2) + "\n")
    return fabricated

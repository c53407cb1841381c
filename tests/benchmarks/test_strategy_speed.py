"""Per-evaluation overhead of search strategies, with the benchmark's bookkeeping included.

Run with ``pytest tests/benchmarks --benchmark-only``. Each strategy run is 2,000
evaluations on a complete synthetic NAS-Bench-201 table (15,625 architectures, 6,466
classes): ask, the simulated evaluation (clock, trained epochs, incumbent, trajectory
row) and tell. The baseline is the bare :meth:`Benchmark.evaluate` cost for the same
number of evaluations, so ``extra_info["strategy_overhead_us_per_evaluation"]`` is what
the strategy itself adds. Nothing is asserted about timings.
"""

from __future__ import annotations

import numpy as np
import pytest

from nasbench.benchmark import Benchmark, Budget
from nasbench.errors import ConfigError
from nasbench.strategy import Strategy, create_strategy, get_strategy_class
from nasbench.table import Table
from nasbench.testing import synthetic_table

EVALUATIONS = 2_000
ROUNDS = 5


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Table:
    return synthetic_table(tmp_path_factory.mktemp("strategy-speed") / "synthetic.h5")


@pytest.fixture(scope="module")
def evaluate_seconds(table: Table) -> dict[str, float]:
    """Filled by the baseline test, read by the strategy tests (when run after it)."""
    return {}


def _per_evaluation(benchmark: pytest.FixtureRequest, evaluations: int) -> float:
    return benchmark.stats.stats.median / evaluations


def test_bare_evaluate(
    benchmark: pytest.FixtureRequest, table: Table, evaluate_seconds: dict[str, float]
) -> None:
    """Baseline: Benchmark.evaluate alone on 2,000 random architectures (no strategy)."""
    indices = np.random.default_rng(0).integers(table.space.size, size=EVALUATIONS).tolist()

    def setup() -> tuple[tuple[Benchmark], dict[str, object]]:
        return (Benchmark(table, seed=0),), {}

    def evaluate_all(bench: Benchmark) -> Benchmark:
        for index in indices:
            bench.evaluate(index)
        return bench

    result = benchmark.pedantic(evaluate_all, setup=setup, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    assert result.evaluations == EVALUATIONS
    seconds = _per_evaluation(benchmark, EVALUATIONS)
    evaluate_seconds["evaluate"] = seconds
    benchmark.extra_info.update({"evaluations": EVALUATIONS, "us_per_evaluation": 1e6 * seconds})


def _strategy_run(
    benchmark: pytest.FixtureRequest,
    table: Table,
    name: str,
    evaluate_seconds: dict[str, float],
    **hyperparameters: object,
) -> None:
    try:
        get_strategy_class(name)
    except ConfigError as exc:
        pytest.skip(f"strategy {name!r} is not available: {exc}")
    budget = Budget(evaluations=EVALUATIONS)

    def setup() -> tuple[tuple[Strategy, Benchmark], dict[str, object]]:
        return (create_strategy(name, seed=0, **hyperparameters), Benchmark(table, seed=0)), {}

    def run(strategy: Strategy, bench: Benchmark) -> Benchmark:
        return strategy.run(bench, budget)

    result = benchmark.pedantic(run, setup=setup, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    assert result.evaluations == EVALUATIONS
    seconds = _per_evaluation(benchmark, EVALUATIONS)
    info: dict[str, object] = {
        "strategy": name,
        "hyperparameters": create_strategy(name, **hyperparameters).get_params(),
        "evaluations": EVALUATIONS,
        "us_per_evaluation": 1e6 * seconds,
    }
    if "evaluate" in evaluate_seconds:
        info["evaluate_us_per_evaluation"] = 1e6 * evaluate_seconds["evaluate"]
        info["strategy_overhead_us_per_evaluation"] = 1e6 * (seconds - evaluate_seconds["evaluate"])
    benchmark.extra_info.update(info)


def test_random_search_run(
    benchmark: pytest.FixtureRequest, table: Table, evaluate_seconds: dict[str, float]
) -> None:
    """Random search (no repeated class) for 2,000 evaluations, bookkeeping included."""
    _strategy_run(benchmark, table, "rs", evaluate_seconds)


def test_regularized_evolution_run(
    benchmark: pytest.FixtureRequest, table: Table, evaluate_seconds: dict[str, float]
) -> None:
    """Regularized evolution (default population and sample size) for 2,000 evaluations."""
    _strategy_run(benchmark, table, "re", evaluate_seconds)

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

from nasbench.core.errors import ConfigError
from nasbench.core.table import Table
from nasbench.search import Benchmark, Budget, Strategy, create_strategy, get_strategy_class
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


# --- Baseline named in the issue: Optuna's per-trial cost on the same kind of work --------
# The same lookup objective (six categorical edges -> Benchmark.evaluate -> val_acc) driven
# by an in-memory Optuna study. Optuna is not a dependency: `pip install -e ".[bench]"`.
OPTUNA_TRIALS = 200


def _optuna_run(benchmark: pytest.FixtureRequest, table: Table, sampler_name: str) -> None:
    optuna = pytest.importorskip("optuna", reason='Optuna baseline: pip install -e ".[bench]"')
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = table.space
    edges = [f"edge{i}" for i in range(space.num_edges)]

    def setup() -> tuple[tuple[object, Benchmark], dict[str, object]]:
        sampler = (
            optuna.samplers.RandomSampler(seed=0)
            if sampler_name == "random"
            else optuna.samplers.TPESampler(seed=0)
        )
        return (optuna.create_study(direction="maximize", sampler=sampler), Benchmark(table, seed=0)), {}

    def run(study: object, bench: Benchmark) -> Benchmark:
        def objective(trial: object) -> float:
            ops = [trial.suggest_categorical(edge, list(space.ops)) for edge in edges]  # type: ignore[attr-defined]
            return bench.evaluate(ops).val_acc

        study.optimize(objective, n_trials=OPTUNA_TRIALS)  # type: ignore[attr-defined]
        return bench

    result = benchmark.pedantic(run, setup=setup, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    assert result.evaluations == OPTUNA_TRIALS
    benchmark.extra_info.update(
        {
            "baseline": f"optuna {optuna.__version__} {sampler_name} sampler",
            "trials": OPTUNA_TRIALS,
            "us_per_evaluation": 1e6 * _per_evaluation(benchmark, OPTUNA_TRIALS),
        }
    )


def test_optuna_random_sampler(benchmark: pytest.FixtureRequest, table: Table) -> None:
    """Optuna's RandomSampler, 200 trials on the table lookup: the issue's baseline."""
    _optuna_run(benchmark, table, "random")


def test_optuna_tpe_sampler(benchmark: pytest.FixtureRequest, table: Table) -> None:
    """Optuna's TPESampler (defaults), 200 trials on the table lookup."""
    _optuna_run(benchmark, table, "tpe")

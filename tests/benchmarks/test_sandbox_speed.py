"""Cost of running a strategy in the sandbox (--benchmark-only).

Baseline: the same run in this process (``run_strategy``), which is how comparisons ran
before the sandbox. Measured on the shipped default table: random search and regularized
evolution with 100 evaluations, and one evaluation, so the fixed cost of a run (fork,
request, answer) and the cost per evaluation (one request and answer) can be told apart.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nasbench.bench.benchmark import Benchmark, Budget
from nasbench.core.table import open_table
from nasbench.search.sandbox import run_isolated
from nasbench.search.strategy import create_strategy, run_strategy

ROOT = Path(__file__).resolve().parents[2]
TABLE = open_table(ROOT / "tables" / "nb201-fmnist-cpu.h5")


def _in_process(name: str, evaluations: int) -> int:
    strategy = create_strategy(name, seed=0)
    return run_strategy(
        strategy, Benchmark(TABLE, seed=0), seed=0, budget=Budget(evaluations=evaluations)
    ).evaluations


def _sandboxed(name: str, evaluations: int) -> int:
    done = run_isolated(
        Benchmark(TABLE, seed=0), name, seed=0, budget=Budget(evaluations=evaluations), kind="black-box"
    )
    return done.benchmark.evaluations


@pytest.mark.parametrize("evaluations", [1, 100])
@pytest.mark.parametrize("name", ["rs", "re"])
def test_in_process(benchmark: pytest.FixtureRequest, name: str, evaluations: int) -> None:
    assert (
        benchmark.pedantic(_in_process, args=(name, evaluations), rounds=20, warmup_rounds=2) == evaluations
    )


@pytest.mark.parametrize("evaluations", [1, 100])
@pytest.mark.parametrize("name", ["rs", "re"])
def test_sandboxed(benchmark: pytest.FixtureRequest, name: str, evaluations: int) -> None:
    assert benchmark.pedantic(_sandboxed, args=(name, evaluations), rounds=20, warmup_rounds=2) == evaluations

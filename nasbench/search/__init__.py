"""Search layer: strategies and the runner that compares them.

Owns the strategy base classes (black-box, multi-fidelity, multi-objective, constrained
and one-shot, one ``run(benchmark, budget)`` contract for all), the strategy registry,
the runner (strategies x seeds x tables, in-process, local processes or Dask), the demo
and the NAS-Bench-201 reproduction study. Imports every layer below it; never reporting
or the command line.

This package is also the public API of strategy plug-ins: everything a strategy needs is
importable from here, lazily (PEP 562), so ``import nasbench.search`` imports no torch::

    from nasbench.search import Strategy, Trial, check_int, register_strategy
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nasbench.core.lazy import lazy_exports

if TYPE_CHECKING:
    from nasbench.bench.benchmark import Benchmark, Budget, Constraint, Result, Task
    from nasbench.core.signals import BudgetExhausted, SearchFinished
    from nasbench.core.validation import check_bool, check_choice, check_float, check_int
    from nasbench.nets.supernet_training import OneShotTask, SearchSession
    from nasbench.search.oneshot import OneShotBudget, OneShotResult, OneShotStrategy
    from nasbench.search.runner import CompareSummary, compare
    from nasbench.search.strategy import (
        ONE_SHOT_KIND,
        STRATEGY_KINDS,
        Strategy,
        StrategyInfo,
        Trial,
        create_strategy,
        get_strategy_class,
        is_one_shot,
        list_strategies,
        plugin_errors,
        register_strategy,
        run_strategy,
        strategy_info,
        strategy_registry,
    )

#: Public name -> module that defines it.
_HOMES: dict[str, str] = {
    # the strategy interface and registry
    "Strategy": "nasbench.search.strategy",
    "Trial": "nasbench.search.strategy",
    "STRATEGY_KINDS": "nasbench.search.strategy",
    "ONE_SHOT_KIND": "nasbench.search.strategy",
    "StrategyInfo": "nasbench.search.strategy",
    "register_strategy": "nasbench.search.strategy",
    "create_strategy": "nasbench.search.strategy",
    "get_strategy_class": "nasbench.search.strategy",
    "list_strategies": "nasbench.search.strategy",
    "is_one_shot": "nasbench.search.strategy",
    "plugin_errors": "nasbench.search.strategy",
    "run_strategy": "nasbench.search.strategy",
    "strategy_info": "nasbench.search.strategy",
    "strategy_registry": "nasbench.search.strategy",
    # hyperparameter validation
    "check_int": "nasbench.core.validation",
    "check_float": "nasbench.core.validation",
    "check_choice": "nasbench.core.validation",
    "check_bool": "nasbench.core.validation",
    # control-flow signals
    "SearchFinished": "nasbench.core.signals",
    "BudgetExhausted": "nasbench.core.signals",
    # what a strategy sees
    "Benchmark": "nasbench.bench.benchmark",
    "Budget": "nasbench.bench.benchmark",
    "Constraint": "nasbench.bench.benchmark",
    "Result": "nasbench.bench.benchmark",
    "Task": "nasbench.bench.benchmark",
    # one-shot strategies
    "OneShotStrategy": "nasbench.search.oneshot",
    "OneShotBudget": "nasbench.search.oneshot",
    "OneShotResult": "nasbench.search.oneshot",
    "OneShotTask": "nasbench.nets.supernet_training",
    "SearchSession": "nasbench.nets.supernet_training",
    # comparing strategies
    "compare": "nasbench.search.runner",
    "CompareSummary": "nasbench.search.runner",
}

__all__ = [
    "ONE_SHOT_KIND",
    "STRATEGY_KINDS",
    "Benchmark",
    "Budget",
    "BudgetExhausted",
    "CompareSummary",
    "Constraint",
    "OneShotBudget",
    "OneShotResult",
    "OneShotStrategy",
    "OneShotTask",
    "Result",
    "SearchFinished",
    "SearchSession",
    "Strategy",
    "StrategyInfo",
    "Task",
    "Trial",
    "check_bool",
    "check_choice",
    "check_float",
    "check_int",
    "compare",
    "create_strategy",
    "get_strategy_class",
    "is_one_shot",
    "list_strategies",
    "plugin_errors",
    "register_strategy",
    "run_strategy",
    "strategy_info",
    "strategy_registry",
]


__getattr__, __dir__ = lazy_exports(__name__, globals(), _HOMES)

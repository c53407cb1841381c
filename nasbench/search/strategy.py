"""The search-strategy interface and registry.

A strategy decides which architecture (and, for multi-fidelity ones, how many epochs) to
try next: :meth:`Strategy.ask` proposes a :class:`Trial`, :meth:`Strategy.tell` hands back
its :class:`~nasbench.bench.benchmark.Result`. :meth:`Strategy.run` is the loop on top, and
the one contract every kind shares: ``run(benchmark, budget) -> benchmark``. (One-shot
strategies, :class:`~nasbench.search.oneshot.OneShotStrategy`, override it: they train a
supernet for real and are charged its CPU seconds.) A strategy never opens a table: it
sees the :class:`~nasbench.bench.benchmark.Task` (space, epochs, free properties such as
latency, the training protocol) and the results of its own evaluations.

Strategies are found by name. Built-ins and third-party packages both register through
the entry-point group ``nasbench.strategies``::

    [project.entry-points."nasbench.strategies"]
    my-search = "my_package.module:MySearch"

and code that is not packaged uses the decorator ``@register_strategy("my-search")``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import numpy as np

from nasbench.bench.benchmark import Benchmark, Budget, Constraint, Result, Task
from nasbench.bench.results import ONE_SHOT_KIND
from nasbench.core.errors import ConfigError
from nasbench.core.params import ParamsMixin
from nasbench.core.registry import Registry
from nasbench.core.signals import BudgetExhausted, SearchFinished
from nasbench.core.space import Architecture
from nasbench.core.table import Table
from nasbench.core.validation import check_choice, check_float, check_int

__all__ = [
    "ENTRY_POINT_GROUP",
    "ONE_SHOT_KIND",
    "STRATEGY_KINDS",
    "SearchFinished",
    "Strategy",
    "StrategyInfo",
    "Trial",
    "check_choice",
    "check_float",
    "check_int",
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

ENTRY_POINT_GROUP = "nasbench.strategies"

#: black-box: full training runs only; multi-fidelity: asks for epochs too;
#: multi-objective: trades accuracy against a free property (latency, memory);
#: constrained: best accuracy under a limit on a free property;
#: one-shot: trains a weight-sharing supernet for real and returns one architecture.
STRATEGY_KINDS = ("black-box", "multi-fidelity", "multi-objective", "constrained", ONE_SHOT_KIND)


@dataclass(frozen=True, slots=True)
class Trial:
    """One proposal: an architecture by space index, and epochs (None = a full run)."""

    index: int
    epochs: int | None = None

    def arch(self, task: Task) -> Architecture:
        """The proposed architecture as a value."""
        return task.space.from_index(self.index)


class Strategy(ParamsMixin):
    """Base class of search strategies.

    Contract:

    - ``__init__`` takes the hyperparameters as keyword arguments with defaults, plus
      ``seed``; it stores them unchanged under the same names and validates them
      (:class:`~nasbench.core.errors.ConfigError` naming the hyperparameter on bad values;
      :func:`~nasbench.core.validation.check_int` and friends say it in one line).
      ``get_params``, ``set_params``, ``clone`` and the repr follow from that signature
      (:class:`~nasbench.core.params.ParamsMixin`; ``seed`` is not a hyperparameter).
    - :meth:`setup` is called once per run with the task, before the first ``ask``;
      it makes ``self.rng`` from ``seed``. Every random choice uses ``self.rng``.
    - :meth:`ask` returns the next :class:`Trial` (or raises
      :class:`~nasbench.core.signals.SearchFinished`); :meth:`tell` receives every trial's
      result, in order.
    - A strategy decides from the task and its results only, never from test metrics.

    Subclasses set ``kind`` (one of :data:`STRATEGY_KINDS`) and override :meth:`ask`,
    :meth:`tell` and optionally :meth:`_setup`.
    """

    kind: ClassVar[str] = "black-box"
    name: ClassVar[str] = ""
    _params_left_out: ClassVar[tuple[str, ...]] = ("seed",)

    def __init__(self, *, seed: int = 0) -> None:
        self.seed = seed
        check_int(self, "seed", seed, low=0)

    # ----------------------------------------------------------------- protocol
    def setup(self, task: Task) -> None:
        """Prepare for a run on ``task``: fresh random generator, empty history."""
        self.task = task
        self.rng = np.random.default_rng(self.seed)
        self._setup()

    def _setup(self) -> None:
        """Hook: per-run state (populations, models). Does nothing by default."""

    def ask(self) -> Trial:
        """The next trial to evaluate. Every ask/tell strategy overrides this."""
        raise NotImplementedError(f"{type(self).__name__} does not implement ask()")

    def tell(self, trial: Trial, result: Result) -> None:
        """Learn from one finished trial. Does nothing by default."""

    def constraint(self, task: Task) -> Constraint | None:
        """Hook: the constraint a ``constrained`` strategy is judged under on ``task``
        (e.g. latency on one device at most some limit). None for every other kind."""
        return None

    def objective(self, task: Task) -> str | None:
        """Hook: the free property (``task.values`` name, e.g. 'cpu-1t/latency_ms_b1') a
        ``multi-objective`` strategy minimises besides maximising accuracy. None otherwise."""
        return None

    def run_record(self) -> dict[str, Any] | None:
        """Hook: what the last :meth:`run` recorded beyond the benchmark's trajectory, for
        the runner's result files. None by default; a one-shot strategy returns
        ``search_seconds``, ``epochs`` (rows of ``nasbench.bench.results.ONE_SHOT_COLUMNS``
        after ``seed``) and ``weights`` (rows of ``ARCHITECTURE_WEIGHT_COLUMNS`` after ``seed``)."""
        return None

    # ----------------------------------------------------------------- the run contract
    def run(self, benchmark: Benchmark, budget: Budget | None = None) -> Benchmark:
        """Ask, evaluate and tell until the budget is spent or the strategy finishes.

        ``budget`` replaces the benchmark's own; one of them is needed. Returns the
        benchmark, which holds the run's trajectory.
        """
        if budget is not None:
            benchmark.budget = budget
        if benchmark.budget is None:
            raise ConfigError("run needs a budget (evaluations or seconds)")
        self.setup(benchmark.task)
        while not benchmark.exhausted:
            try:
                trial = self.ask()
            except SearchFinished:
                break
            try:
                result = benchmark.evaluate(trial.index, trial.epochs)
            except BudgetExhausted:
                break
            self.tell(trial, result)
        return benchmark


def run_strategy(
    strategy: Strategy, table: Table | str | Benchmark, *, seed: int, budget: Budget
) -> Benchmark:
    """One search run: a benchmark for ``seed`` (under the strategy's constraint, if it
    has one) and :meth:`Strategy.run` on it. Returns the benchmark with its trajectory.
    ``table`` may also be a fresh benchmark (a surrogate benchmark built for ``seed``)."""
    benchmark = table if isinstance(table, Benchmark) else Benchmark(table, seed=seed)
    constraint = strategy.constraint(benchmark.task)
    if constraint is not None:
        benchmark = benchmark.with_constraint(constraint)
    return strategy.run(benchmark, budget)


# --------------------------------------------------------------------- registry
S = TypeVar("S", bound=type[Strategy])

#: The strategy registry: tests and embedding code change it through its public methods
#: (``unregister``, ``scoped``), see :class:`~nasbench.core.registry.Registry`.
strategy_registry: Registry[Strategy] = Registry(
    "strategy", ENTRY_POINT_GROUP, (Strategy,), STRATEGY_KINDS, extra_hyperparameters=("seed",)
)


@dataclass(frozen=True)
class StrategyInfo:
    """What ``nasbench strategies`` prints about one strategy."""

    name: str
    kind: str
    hyperparameters: dict[str, Any]
    summary: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "kind": self.kind,
            "hyperparameters": self.hyperparameters,
            "summary": self.summary,
            "source": self.source,
        }


def register_strategy(name: str) -> Callable[[S], S]:
    """Class decorator: make a :class:`Strategy` subclass available under ``name``."""
    return strategy_registry.register(name)


def list_strategies(pattern: str = "*", *, kind: str | None = None) -> list[str]:
    """Registered strategy names matching a shell-style ``pattern`` (and ``kind``), sorted.

    Plugins that fail to import are left out; :func:`plugin_errors` says why.
    """
    return strategy_registry.names(pattern, kind=kind)


def is_one_shot(name: str) -> bool:
    """Whether strategy ``name`` is a one-shot (supernet) strategy, which trains for real
    instead of asking the benchmark; False for a plugin that fails to import."""
    try:
        return get_strategy_class(name).kind == ONE_SHOT_KIND
    except ConfigError:
        return False


def plugin_errors() -> dict[str, str]:
    """Plugins that failed to import so far, with the error."""
    return strategy_registry.plugin_errors()


def get_strategy_class(name: str) -> type[Strategy]:
    """The class registered under ``name`` (importing its plugin on first use)."""
    return strategy_registry.get(name)


def create_strategy(name: str, **hyperparameters: Any) -> Strategy:
    """An instance of strategy ``name`` with ``hyperparameters`` (and ``seed``)."""
    return strategy_registry.create(name, **hyperparameters)


def strategy_info(name: str) -> StrategyInfo:
    """Kind, default hyperparameters, one-line summary and origin of a strategy."""
    cls = get_strategy_class(name)
    return StrategyInfo(
        name, cls.kind, cls.hyperparameters(), strategy_registry.summary(name), strategy_registry.source(name)
    )

"""One-shot (weight-sharing) search: its budget, its result and the strategy base class.

A one-shot strategy is a :class:`~nasbench.search.strategy.Strategy` of kind
:data:`~nasbench.bench.results.ONE_SHOT_KIND` with the same contract,
``run(benchmark, budget) -> benchmark``. Inside, it trains a
:class:`~nasbench.nets.supernet.Supernet` on the data and network skeleton of the
benchmark's protocol (``benchmark.task.protocol``) and returns one architecture, which is
then evaluated in the table like any other strategy's incumbent. Unlike black-box
strategies it is not charged simulated time for the search but its real compute: process
CPU seconds (:func:`time.process_time`, core-seconds, the unit the tables use for
training), charged to the benchmark's clock before the tabulated training of its result.

The data are the protocol's: the training split is halved
(:func:`~nasbench.nets.supernet_training.split_search_data`), one half trains the
supernet's weights and the other the architecture; the protocol's validation and test
splits are never touched, so the table's metrics stay held out.

This module imports no torch (listing strategies stays light); the training machinery is
:mod:`nasbench.nets.supernet_training`, imported when a search starts.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from nasbench.bench.benchmark import Benchmark, Budget
from nasbench.bench.results import ONE_SHOT_KIND
from nasbench.core.errors import ConfigError
from nasbench.core.space import Architecture
from nasbench.core.validation import check_float, check_int
from nasbench.search.strategy import Strategy

if TYPE_CHECKING:
    from nasbench.nets.supernet_training import OneShotTask, SearchSession

__all__ = ["ONE_SHOT_KIND", "OneShotBudget", "OneShotResult", "OneShotStrategy"]


@dataclass(frozen=True)
class OneShotBudget:
    """Compute a one-shot search may spend: process CPU seconds, supernet epochs, or
    both (the first reached ends the search).

    A seconds budget is checked between epochs (an epoch is not started when the mean
    epoch so far would not fit) and during the first epoch, which must fit entirely: a
    budget too small for one epoch is a :class:`~nasbench.core.errors.ConfigError`. A final
    selection after training (RSPS, SPOS and ENAS evaluate a number of candidates set by
    their hyperparameters) is not cut short; it counts in the result's ``search_seconds``.
    """

    seconds: float | None = None
    epochs: int | None = None

    def __post_init__(self) -> None:
        if self.seconds is None and self.epochs is None:
            raise ConfigError("a one-shot budget needs seconds (process CPU time) or epochs")
        if self.epochs is not None:
            epochs = check_int("one-shot budget", "epochs", self.epochs)
            if epochs < 1:
                raise ConfigError(
                    f"one-shot budget: epochs must be >= 1, got {epochs}: too small for one epoch"
                )
            object.__setattr__(self, "epochs", epochs)
        if self.seconds is not None:
            seconds = check_float("one-shot budget", "seconds", self.seconds, 0.0, low_open=True)
            object.__setattr__(self, "seconds", seconds)

    @classmethod
    def from_budget(cls, budget: Budget, epochs: int | None, label: str) -> OneShotBudget:
        """The one-shot budget of a run under ``budget``: its seconds cap the search's CPU
        seconds; without seconds, the strategy's own ``epochs`` (a ConfigError naming
        ``label`` when it has none)."""
        if budget.seconds is not None:
            return cls(seconds=budget.seconds)
        if epochs is None:
            raise ConfigError(
                f"{label}: a one-shot strategy without an 'epochs' hyperparameter needs a seconds "
                "budget (Budget(seconds=...))"
            )
        return cls(epochs=epochs)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"seconds": self.seconds, "epochs": self.epochs}


@dataclass
class OneShotResult:
    """What a one-shot search returned and what it cost.

    ``trajectory`` is float64 [epochs, num_edges, num_ops]: the architecture distribution
    after every epoch (softmax of the architecture parameters, the controller's
    probabilities, or uniform for path-sampling methods), for plots.
    """

    arch: Architecture
    search_seconds: float
    epochs: int
    trajectory: np.ndarray = field(repr=False)
    train_loss: np.ndarray = field(repr=False)
    train_acc: np.ndarray = field(repr=False)
    epoch_seconds: np.ndarray = field(repr=False)
    info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "arch": str(self.arch),
            "search_seconds": self.search_seconds,
            "epochs": self.epochs,
            "trajectory": self.trajectory.tolist(),
            "train_loss": self.train_loss.tolist(),
            "train_acc": self.train_acc.tolist(),
            "epoch_seconds": self.epoch_seconds.tolist(),
            "info": self.info,
        }


class OneShotStrategy(Strategy, abc.ABC):
    """Base class of one-shot (weight-sharing) search strategies.

    Contract:

    - ``__init__`` takes the hyperparameters as keyword arguments with defaults, stores
      them unchanged under the same names and validates them with
      :func:`~nasbench.core.validation.check_int` / ``check_float`` / ``check_choice``
      (:class:`~nasbench.core.errors.ConfigError` naming the hyperparameter). ``seed``,
      when given, overrides the task's seed (the benchmark's); it is not a
      hyperparameter. A strategy with an ``epochs`` hyperparameter runs that many epochs
      under an evaluations budget.
    - :meth:`search` trains on a :class:`~nasbench.nets.supernet_training.OneShotTask`
      within a :class:`OneShotBudget` and returns an architecture of ``task.space``. It
      starts with :meth:`_begin`, which makes the
      :class:`~nasbench.nets.supernet_training.SearchSession` (clock, generators, data
      halves, records) kept in ``self.session_``; every random choice comes from the
      session's generators, so the same seed gives the same architecture and trajectory,
      bit for bit, on one CPU thread. ``self.info_`` may hold strategy-specific extras.
    - :meth:`search_result` is :meth:`search` plus its :class:`OneShotResult`;
      :meth:`run` (the contract of every strategy) is that on the benchmark's protocol and
      data, charged to the benchmark, with :meth:`run_record` for the runner.
    - Non-finite architecture weights raise
      :class:`~nasbench.nets.supernet.ArchitectureWeightsError`, a non-finite supernet loss
      :class:`~nasbench.nets.supernet.SearchDivergedError`: the run failed.
    """

    kind: ClassVar[str] = ONE_SHOT_KIND

    def __init__(self, *, seed: int | None = None) -> None:
        self.seed = seed  # type: ignore[assignment]
        if seed is not None:
            check_int(self, "seed", seed, low=0)

    @property
    def _label(self) -> str:
        return type(self).name or type(self).__name__

    @abc.abstractmethod
    def search(self, task: OneShotTask, budget: OneShotBudget) -> Architecture:
        """Search ``task`` within ``budget``; return the chosen architecture."""

    def search_result(self, task: OneShotTask, budget: OneShotBudget) -> OneShotResult:
        """:meth:`search` and its record: architecture, CPU seconds, epochs, trajectory."""
        arch = self.search(task, budget)
        task.space.check(arch)
        session = self.session_
        return OneShotResult(
            arch=arch,
            search_seconds=session.elapsed_seconds,
            epochs=len(session.trajectory),
            trajectory=session.trajectory_array(),
            train_loss=np.asarray(session.train_loss, dtype=np.float64),
            train_acc=np.asarray(session.train_acc, dtype=np.float64),
            epoch_seconds=np.asarray(session.epoch_seconds, dtype=np.float64),
            info=dict(self.info_ or {}),
        )

    def run(self, benchmark: Benchmark, budget: Budget | None = None) -> Benchmark:
        """Search for real on the benchmark's protocol and data, then evaluate the
        architecture found: the clock is charged the search's CPU seconds plus the
        tabulated training of that architecture (its accuracy is known only once trained).

        ``budget`` (else the benchmark's) caps the search: its seconds are the search's
        CPU seconds; without seconds, the strategy's own ``epochs`` are run. The
        evaluation of the result is never cut by the budget. A benchmark without a
        protocol (a surrogate benchmark) is a ConfigError.
        """
        from nasbench.nets.supernet_training import OneShotTask

        budget = budget if budget is not None else benchmark.budget
        if budget is None:
            raise ConfigError("run needs a budget (evaluations or seconds)")
        self._run_record: dict[str, Any] | None = None
        if benchmark.task.protocol is None:
            raise ConfigError(
                f"{self._label}: a one-shot strategy trains on a table's protocol and data, "
                "not on a surrogate benchmark"
            )
        task = OneShotTask.from_table(benchmark.task, seed=benchmark.seed)
        task.check_table(benchmark.task)
        one_shot_budget = OneShotBudget.from_budget(budget, getattr(self, "epochs", None), self._label)
        result = self.search_result(task, one_shot_budget)
        benchmark.charge(result.search_seconds)
        kept, benchmark.budget = benchmark.budget, None
        try:
            benchmark.evaluate(result.arch)
        finally:
            benchmark.budget = kept
        self._run_record = _record(result, task)
        return benchmark

    def run_record(self) -> dict[str, Any] | None:
        """The last :meth:`run`'s search: ``search_seconds``, per-epoch rows
        ``(epoch, train_loss, train_acc, epoch_seconds)`` and architecture-weight rows
        ``(epoch, edge, op, weight)``, edges named ``"target<-source"``."""
        return getattr(self, "_run_record", None)

    def _begin(self, task: OneShotTask, budget: OneShotBudget, epochs: int) -> SearchSession:
        """Start a search of ``epochs`` epochs (fewer if ``budget`` says so): check the
        inputs and make the session (``self.session_``)."""
        from nasbench.nets.supernet_training import OneShotTask, SearchSession

        if not isinstance(task, OneShotTask):
            raise ConfigError(f"{self._label}: task must be a OneShotTask, got {type(task).__name__}")
        if not isinstance(budget, OneShotBudget):
            raise ConfigError(f"{self._label}: budget must be a OneShotBudget, got {type(budget).__name__}")
        self.info_: dict[str, Any] = {}
        seed = task.seed if self.seed is None else self.seed
        planned = epochs if budget.epochs is None else min(epochs, budget.epochs)
        self.session_ = SearchSession(
            task, epochs=planned, seconds=budget.seconds, seed=seed, label=self._label
        )
        return self.session_


def _record(result: OneShotResult, task: OneShotTask) -> dict[str, Any]:
    """The runner's record of one search (see :meth:`OneShotStrategy.run_record`)."""
    space = task.space
    edges = [f"{target}<-{source}" for source, target in space.edges]
    epoch_rows = [
        [epoch, float(loss), float(accuracy), float(seconds)]
        for epoch, (loss, accuracy, seconds) in enumerate(
            zip(result.train_loss, result.train_acc, result.epoch_seconds, strict=True)
        )
    ]
    weights = [
        [epoch, edges[edge], space.ops[op], float(result.trajectory[epoch, edge, op])]
        for epoch in range(result.trajectory.shape[0])
        for edge in range(space.num_edges)
        for op in range(space.num_ops)
    ]
    return {"search_seconds": float(result.search_seconds), "epochs": epoch_rows, "weights": weights}

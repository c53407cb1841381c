"""The simulated benchmark a search strategy runs against.

:class:`Benchmark` answers an evaluation from a table the way a real training run
would have: validation metrics after ``epochs`` epochs for one training seed, and a
simulated clock that advances by the tabulated training time. It is the backend in
Syne Tune's sense; the strategy only decides what to try next and never sees the table.

Rules, chosen to be fair between black-box and multi-fidelity strategies:

- Each class of isomorphic architectures gets one training seed per benchmark run,
  drawn from the run's ``seed``; every evaluation of that class (and of every member)
  reads that seed's run, as continuing a real training run would.
- An evaluation at ``epochs`` costs the tabulated ``train_seconds`` of the epochs not yet
  trained for that class in this run, plus the ``eval_seconds`` of the epoch asked for. A
  model trained to epoch e and continued to e' > e pays only epochs e+1..e'.
- A seconds budget is hard: an evaluation that would end after it does not finish; the
  clock stops at the budget and :class:`BudgetExhausted` is raised.
- The incumbent is the evaluation with the best validation accuracy so far (ties: the
  earlier one). Its test accuracy and regret are recorded after every evaluation; test
  metrics never reach the strategy. ``scoring`` says which runs give that test accuracy
  (:mod:`nasbench.bench.scoring`): by default the class's seeds other than the one the
  search saw (``holdout``), at the epoch the run has trained the class to; the regret is
  against the run's best class on the same values.
- A run the table records as failed (training diverged) scores 0 validation accuracy.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from nasbench.bench.results import TRAJECTORY_COLUMNS
from nasbench.bench.scoring import Scoring, check_scoring, drawn_columns, score_curves, scoring_table
from nasbench.core.cost import run_seconds
from nasbench.core.errors import ConfigError, MetricError
from nasbench.core.signals import BudgetExhausted
from nasbench.core.space import Architecture, ArchLike, CellSpace
from nasbench.core.table import STATUS_FAILED, STATUS_PENDING, Table, open_table
from nasbench.core.validation import check_float, check_int

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "TRAJECTORY_COLUMNS",
    "Benchmark",
    "BenchmarkArrays",
    "Budget",
    "BudgetExhausted",
    "Constraint",
    "Result",
    "Scoring",
    "Task",
    "table_arrays",
]

#: Columns of :meth:`Benchmark.trajectory` that hold integers.
_INTEGER_COLUMNS = frozenset({"evaluation", "index", "epochs", "incumbent_index"})


_CONSTRAINT = re.compile(r"^\s*([\w.-]+/[\w.-]+|params_m|flops_m)\s*<=\s*([0-9.eE+-]+)\s*$")


@dataclass(frozen=True)
class Budget:
    """How much search a run may do: evaluations, simulated seconds, or both (first hit wins)."""

    evaluations: int | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        if self.evaluations is None and self.seconds is None:
            raise ConfigError("a budget needs evaluations or seconds")
        if self.evaluations is not None:
            evaluations = check_int("budget", "evaluations", self.evaluations, low=1)
            object.__setattr__(self, "evaluations", evaluations)
        if self.seconds is not None:
            seconds = check_float("budget", "seconds", self.seconds, 0.0, low_open=True)
            object.__setattr__(self, "seconds", seconds)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"evaluations": self.evaluations, "seconds": self.seconds}


@dataclass(frozen=True)
class Constraint:
    """An upper limit on a per-architecture property known without training, e.g.
    ``Constraint("cpu-1t/latency_ms_b1", 0.25)``: best accuracy with latency <= 0.25 ms."""

    metric: str
    max_value: float

    @classmethod
    def parse(cls, text: str) -> Constraint:
        """``"cpu-1t/latency_ms_b1<=0.25"`` -> Constraint."""
        match = _CONSTRAINT.match(text) if isinstance(text, str) else None
        value = math.nan
        if match is not None:
            try:
                value = float(match.group(2))
            except ValueError:
                match = None
        if match is None or not math.isfinite(value):
            raise ConfigError(
                f"constraint must look like 'DEVICE/METRIC<=VALUE' or 'params_m<=VALUE', got {text!r}"
            )
        return cls(match.group(1), value)

    def __str__(self) -> str:
        return f"{self.metric}<={self.max_value:g}"


@dataclass(frozen=True, slots=True)
class Result:
    """What one evaluation tells a strategy: training and validation metrics, no test."""

    index: int
    epochs: int
    val_acc: float
    val_loss: float
    train_acc: float
    train_loss: float
    cost_seconds: float
    sim_seconds: float
    failed: bool = False


@dataclass
class Task:
    """What a strategy may know before it trains anything: the space, the epoch budget
    of one full run, and the properties that cost nothing to look up (parameters, FLOPs,
    device latency and memory). It holds no training, validation or test results."""

    space: CellSpace
    num_epochs: int
    properties: Mapping[str, np.ndarray]
    constraint: Constraint | None = None
    #: Mean seconds of one full run (:func:`nasbench.core.cost.run_seconds`: training of
    #: every epoch plus the final evaluation) over the classes, for this run's seeds.
    mean_run_seconds: float = 0.0
    #: The table's training protocol (its JSON dict), for strategies that train for real
    #: (one-shot searches); None when the benchmark answers from a surrogate model.
    protocol: Mapping[str, Any] | None = field(default=None, repr=False)
    _feasible: np.ndarray | None = field(default=None, repr=False)

    def values(self, name: str) -> np.ndarray:
        """float64 [space.size]: a free property of every architecture, by space index."""
        try:
            return self.properties[name]
        except KeyError:
            raise MetricError(
                f"the table has no property {name!r} (known: {', '.join(sorted(self.properties))})"
            ) from None

    @property
    def devices(self) -> list[str]:
        """Device ids with measurements, in table order."""
        seen: dict[str, None] = {}
        for name in self.properties:
            if "/" in name:
                seen.setdefault(name.split("/", 1)[0], None)
        return list(seen)

    def feasible(self, index: int) -> bool:
        """Whether an architecture satisfies the constraint (always, without one)."""
        return True if self._feasible is None else bool(self._feasible[index])


@dataclass
class BenchmarkArrays:
    """What a benchmark answers from, for one run: per class [U, epochs] curves of the
    training seed this run uses, per index [N] test accuracy and free properties.

    A table fills it from its recorded runs; a surrogate model from its predictions
    (:mod:`nasbench.prediction.surrogate_benchmark`). ``class_row[i]`` is the class of index ``i``.
    """

    val_acc: np.ndarray
    val_loss: np.ndarray
    train_acc: np.ndarray
    train_loss: np.ndarray
    train_seconds: np.ndarray
    eval_seconds: np.ndarray
    failed: np.ndarray  # bool [U]
    class_row: np.ndarray  # int [N]
    test_acc: np.ndarray  # float64 [N]: the run's score of each index after a full run
    properties: dict[str, np.ndarray]  # float64 [N] each
    #: How ``test_acc`` was scored (:mod:`nasbench.bench.scoring`).
    scoring: Scoring
    #: float64 [U, epochs]: the run's score of each class after each epoch, so a partly
    #: trained incumbent is scored at the epoch reached; None: ``test_acc`` at any epoch.
    test_curve: np.ndarray | None = None


def table_arrays(table: Table, seed: int, scoring: str = "holdout") -> BenchmarkArrays:
    """A run's view of a table: each class reads one recorded seed, drawn from ``seed``,
    and is scored as ``scoring`` says (:func:`~nasbench.bench.scoring.score_curves`)."""
    status = table.run_status
    num_classes = status.shape[0]
    column = drawn_columns(status, seed)  # the seed each class trains with in this run
    rows = np.arange(num_classes)

    def pick(name: str) -> np.ndarray:
        if name not in table.epoch_metrics:  # an imported table holds what its source had
            return np.full((num_classes, table.num_epochs), np.nan)
        return table.raw(name)[rows, column, :].astype(np.float64)

    failed = status[rows, column] == STATUS_FAILED
    seconds = np.nan_to_num(pick("train_seconds"), nan=0.0)
    properties: dict[str, np.ndarray] = {"params_m": table.params / 1e6, "flops_m": table.flops / 1e6}
    for name in table.metric_names:
        if "/" in name:
            properties[name] = table.metric(name)
    curves, scored = score_curves(table, column, scoring)
    return BenchmarkArrays(
        val_acc=np.where(failed[:, None], 0.0, np.nan_to_num(pick("val_acc"), nan=0.0)),
        val_loss=pick("val_loss"),
        train_acc=pick("train_acc"),
        train_loss=pick("train_loss"),
        train_seconds=seconds,
        eval_seconds=(
            np.nan_to_num(pick("eval_seconds"), nan=0.0)
            if "eval_seconds" in table.epoch_metrics
            else np.zeros_like(seconds)
        ),
        failed=failed,
        class_row=table.class_row,
        test_acc=curves[:, -1][table.class_row],
        properties=properties,
        scoring=scored,
        test_curve=curves,
    )


class Benchmark:
    """A table seen through a simulated training backend, for one search run.

    ``Benchmark(table, seed=0)``; ``evaluate(arch, epochs=None)`` -> :class:`Result`.
    ``table`` is a :class:`~nasbench.core.table.Table` or a path; ``scoring`` is ``"holdout"``
    (default) or ``"all-seeds"`` (:mod:`nasbench.bench.scoring`). One instance serves one run:
    it keeps the clock, the epochs already trained per class, and the trajectory.
    :class:`~nasbench.prediction.surrogate_benchmark.SurrogateBenchmark` answers from a surrogate
    model instead, under the same rules.
    """

    def __init__(
        self,
        table: Table | str,
        *,
        seed: int = 0,
        budget: Budget | None = None,
        constraint: Constraint | str | None = None,
        scoring: str = "holdout",
    ) -> None:
        check_int("benchmark", "seed", seed, low=0)
        self._scoring_asked = check_scoring("benchmark", scoring)
        self.table = table if isinstance(table, Table) else open_table(table)
        table = self.table
        if table.num_archs != table.space.size:
            raise ConfigError(f"{table.path}: a benchmark needs a table with every architecture of its space")
        for name in ("val_acc", "test_acc"):
            if name not in table.epoch_metrics:
                raise MetricError(f"{table.path}: a benchmark needs the epoch metric {name!r}")
        unmeasured = int(np.sum(np.all(table.run_status == STATUS_PENDING, axis=1)))
        if unmeasured:
            raise ConfigError(
                f"{table.path}: {unmeasured} of {table.num_unique} classes have no recorded run; "
                "a benchmark needs every class measured"
            )
        self._set_up(
            table.space,
            str(table.path),
            table_arrays(table, int(seed), self._scoring_asked),
            seed,
            budget,
            constraint,
            protocol=dict(table.protocol),
            seconds_problem=table.seconds_problem(),
        )

    def with_constraint(self, constraint: Constraint | str | None) -> Benchmark:
        """A fresh benchmark on the same source and seed, under ``constraint``."""
        return Benchmark(
            self.table, seed=self.seed, budget=self.budget, constraint=constraint, scoring=self._scoring_asked
        )

    # ----------------------------------------------------------------- set-up
    def _set_up(
        self,
        space: CellSpace,
        label: str,
        arrays: BenchmarkArrays,
        seed: int,
        budget: Budget | None,
        constraint: Constraint | str | None,
        *,
        protocol: Mapping[str, Any] | None = None,
        seconds_problem: str | None = None,
    ) -> None:
        """Answer from ``arrays``; ``protocol`` is the table's (None for a surrogate model);
        ``seconds_problem`` says why the source cannot be given a seconds budget (None: it
        can)."""
        self.seed = int(seed)
        self._label = label
        self.seconds_problem = seconds_problem
        self.budget = budget
        self._space = space
        if isinstance(constraint, str):
            constraint = Constraint.parse(constraint)
        self.constraint = constraint
        num_classes = arrays.val_acc.shape[0]
        cumulative = np.concatenate(
            [np.zeros((num_classes, 1)), np.cumsum(arrays.train_seconds, axis=1)], axis=1
        )
        # Per-class curves as flat lists, class c's epoch e at c * width + e: a list lookup is
        # the fastest per-evaluation read, and flat lists allocate no inner list per class
        # (tens of thousands of them would trigger the garbage collector in a large process).
        self._num_epochs = int(arrays.val_acc.shape[1])
        self._val_acc: list[float] = arrays.val_acc.ravel().tolist()
        self._val_loss: list[float] = arrays.val_loss.ravel().tolist()
        self._train_acc: list[float] = arrays.train_acc.ravel().tolist()
        self._train_loss: list[float] = arrays.train_loss.ravel().tolist()
        self._cumulative: list[float] = cumulative.ravel().tolist()  # width num_epochs + 1
        self._eval_seconds: list[float] = arrays.eval_seconds.ravel().tolist()
        self._failed: list[bool] = arrays.failed.tolist()
        self._class_of: list[int] = arrays.class_row.tolist()

        properties = arrays.properties
        for values in properties.values():
            values.setflags(write=False)
        test_acc = arrays.test_acc
        test = test_acc
        self.scoring = arrays.scoring
        self._test_curve: list[float] | None = (
            None if arrays.test_curve is None else arrays.test_curve.ravel().tolist()
        )
        feasible = None
        if self.constraint is not None:
            limit = properties.get(self.constraint.metric)
            if limit is None:
                raise MetricError(
                    f"{label}: constraint on {self.constraint.metric!r}, which the table lacks "
                    f"(known: {', '.join(sorted(properties))})"
                )
            feasible = np.nan_to_num(limit, nan=np.inf) <= self.constraint.max_value
            if not feasible.any():
                raise ConfigError(f"no architecture of the table satisfies the constraint {self.constraint}")
            test = np.where(feasible, test, np.nan)
        self._test_acc: list[float] = test_acc.tolist()
        self.best_test_acc = float(np.nanmax(test))
        self.task = Task(
            space=space,
            num_epochs=self._num_epochs,
            properties=properties,
            constraint=self.constraint,
            mean_run_seconds=float(np.mean(run_seconds(arrays.train_seconds, arrays.eval_seconds))),
            protocol=protocol,
            _feasible=feasible,
        )
        self._feasible_list: list[bool] | None = None if feasible is None else feasible.tolist()
        self.reset()

    def reset(self) -> None:
        """Start the run again: clock to zero, nothing trained, empty trajectory."""
        self.sim_seconds = 0.0
        self.evaluations = 0
        self._trained_to: dict[int, int] = {}
        self._incumbent = -1
        self._incumbent_val = -math.inf
        self._rows: list[tuple[Any, ...]] = []

    def score_by(self, table: Table) -> None:
        """Score this run by another table's test accuracy (final epoch, mean over its
        seeds, however far this run trained the incumbent: the scoring table's runs are
        other trainings): search on one set of runs, report on another, as NAS-Bench-201
        searches with 12-epoch validation accuracy and reports 200-epoch test accuracy.
        ``table`` must hold every architecture of the same space with ``test_acc``; call
        before the first evaluation."""
        if self.evaluations:
            raise ConfigError("score_by must come before the first evaluation")
        if table.space != self._space or table.num_archs != self._space.size:
            raise ConfigError(
                f"{table.path}: a scoring table needs every architecture of the search table's space"
            )
        if "test_acc" not in table.epoch_metrics:
            raise MetricError(f"{table.path}: a scoring table needs the epoch metric 'test_acc'")
        test = table.metric("test_acc", -1)
        if np.isnan(test).all():
            raise ConfigError(f"{table.path}: the scoring table has no test accuracy")
        self._test_acc = test.tolist()
        self._test_curve = None
        self.scoring = scoring_table(str(table.path))
        scored = test if self.task._feasible is None else np.where(self.task._feasible, test, np.nan)
        self.best_test_acc = float(np.nanmax(scored))

    # ----------------------------------------------------------------- budget
    @property
    def budget(self) -> Budget | None:
        """The run's budget (None: unlimited, for stepping through by hand)."""
        return self._budget

    @budget.setter
    def budget(self, budget: Budget | None) -> None:
        if budget is not None and budget.seconds is not None and self.seconds_problem is not None:
            raise ConfigError(
                f"{self._label}: the table {self.seconds_problem}, so a seconds budget cannot be "
                "charged; use an evaluation budget (--budget-evals)"
            )
        self._budget = budget

    # ----------------------------------------------------------------- evaluation
    @property
    def space(self) -> CellSpace:
        """The search space."""
        return self._space

    @property
    def num_epochs(self) -> int:
        """Epochs of one full training run."""
        return self._num_epochs

    @property
    def exhausted(self) -> bool:
        """Whether the budget allows no further evaluation."""
        budget = self.budget
        if budget is None:
            return False
        if budget.evaluations is not None and self.evaluations >= budget.evaluations:
            return True
        return budget.seconds is not None and self.sim_seconds >= budget.seconds

    def charge(self, seconds: float) -> None:
        """Advance the clock by compute spent outside the benchmark (a one-shot search's
        CPU seconds), without an evaluation."""
        seconds = check_float("charge", "seconds", seconds, 0.0)
        self.sim_seconds += seconds

    def evaluate(self, arch: ArchLike, epochs: int | None = None) -> Result:
        """Train ``arch`` to ``epochs`` (default: all) in simulation and report its metrics."""
        if type(arch) is int and 0 <= arch < len(self._class_of):
            index = arch
        else:
            index = self._space.index(arch)
        if epochs is None:
            epochs = self._num_epochs
        elif type(epochs) is not int:
            if isinstance(epochs, np.integer):
                epochs = int(epochs)
            else:
                raise ConfigError(f"epochs must be an integer in 1..{self._num_epochs}, got {epochs!r}")
        if not 1 <= epochs <= self._num_epochs:
            raise ConfigError(f"epochs must be an integer in 1..{self._num_epochs}, got {epochs!r}")
        if self.exhausted:
            raise BudgetExhausted(f"budget spent after {self.evaluations} evaluations")
        klass = self._class_of[index]
        done = self._trained_to.get(klass, 0)
        width = self._num_epochs
        row = klass * width
        start = row + klass  # cumulative seconds have width + 1 columns
        cost = self._cumulative[start + epochs] - self._cumulative[start + done] if epochs > done else 0.0
        cost += self._eval_seconds[row + epochs - 1]
        budget = self.budget
        if budget is not None and budget.seconds is not None and self.sim_seconds + cost > budget.seconds:
            self.sim_seconds = float(budget.seconds)
            raise BudgetExhausted(f"budget of {budget.seconds:g} simulated seconds spent")
        if epochs > done:
            self._trained_to[klass] = epochs
        self.sim_seconds += cost
        self.evaluations += 1
        position = row + epochs - 1
        val_acc = self._val_acc[position]
        if val_acc > self._incumbent_val and (self._feasible_list is None or self._feasible_list[index]):
            self._incumbent_val = val_acc
            self._incumbent = index
        incumbent = self._incumbent
        if incumbent >= 0:
            if self._test_curve is None:
                test = self._test_acc[incumbent]
            else:  # the incumbent's class as far as this run has trained it
                incumbent_class = self._class_of[incumbent]
                test = self._test_curve[incumbent_class * width + self._trained_to[incumbent_class] - 1]
            self._rows.append(
                (self.evaluations, self.sim_seconds, index, epochs, val_acc, incumbent,
                 self._incumbent_val, test, self.best_test_acc - test)
            )  # fmt: skip
        else:
            self._rows.append(
                (self.evaluations, self.sim_seconds, index, epochs, val_acc, -1, math.nan, math.nan, math.nan)
            )
        return Result(
            index,
            epochs,
            val_acc,
            self._val_loss[position],
            self._train_acc[position],
            self._train_loss[position],
            cost,
            self.sim_seconds,
            self._failed[klass],
        )

    # ----------------------------------------------------------------- records
    @property
    def incumbent(self) -> Architecture | None:
        """Best architecture by validation accuracy so far (None before any evaluation)."""
        return None if self._incumbent < 0 else self._space.from_index(self._incumbent)

    @property
    def incumbent_index(self) -> int:
        """Space index of the incumbent, -1 before any evaluation."""
        return self._incumbent

    def test_acc(self, arch: ArchLike) -> float:
        """The run's score of ``arch`` after a full run (final epoch, as :attr:`scoring`
        says; for the runner)."""
        return self._test_acc[self._space.index(arch)]

    def trajectory(self) -> dict[str, np.ndarray]:
        """Column arrays (:data:`TRAJECTORY_COLUMNS`), one entry per evaluation."""
        if not self._rows:
            return {
                name: np.empty(0, dtype=np.int64 if name in _INTEGER_COLUMNS else np.float64)
                for name in TRAJECTORY_COLUMNS
            }
        columns = list(zip(*self._rows, strict=True))
        out: dict[str, np.ndarray] = {}
        for name, values in zip(TRAJECTORY_COLUMNS, columns, strict=True):
            integer = name in _INTEGER_COLUMNS
            out[name] = np.asarray(values, dtype=np.int64 if integer else np.float64)
        return out

    def trajectory_frame(self) -> pd.DataFrame:
        """:meth:`trajectory` as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.trajectory(), columns=list(TRAJECTORY_COLUMNS))

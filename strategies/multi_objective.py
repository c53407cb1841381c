"""Hardware-aware search: NSGA-II (accuracy against a device metric) and constrained
regularized evolution (best accuracy under a limit on a device metric).

Both read the device metric (e.g. ``cpu-1t/latency_ms_b1``) from the task's free
properties: it is known for every architecture without training. ``device=None`` picks
the task's first device. Device ids follow :mod:`nasbench.nets.hardware`: ``cpu-<threads>t``
or ``cuda<index>``; whether the task has the device and the metric is checked when a run
starts, with one :class:`~nasbench.core.errors.MetricError` naming what the table does have.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
from nasbench.strategies._common import ClassLedger

from nasbench.core.errors import ConfigError, MetricError
from nasbench.core.pareto import crowding_distance, non_dominated_fronts
from nasbench.core.validation import Constraint as Allowed
from nasbench.core.validation import owner_label, validate
from nasbench.search import Constraint, Result, SearchFinished, Strategy, Task, Trial, check_float, check_int

__all__ = ["NSGA2", "ConstrainedEvolution"]


@dataclass(frozen=True)
class _Matches(Allowed):
    """A string that ``pattern`` matches in full (or None, with ``none_allowed``)."""

    pattern: re.Pattern[str]
    description: str
    none_allowed: bool = False

    def accept(self, value: Any) -> tuple[bool, Any]:
        if value is None:
            return self.none_allowed, value
        return isinstance(value, str) and self.pattern.fullmatch(value) is not None, value

    def describe(self, value: Any) -> str:
        return self.description


#: Device ids as :mod:`nasbench.nets.hardware` writes them; None picks the task's first device.
_DEVICE = _Matches(
    re.compile(r"cpu-[0-9]+t|cuda[0-9]+"),
    "a device id such as 'cpu-1t' or 'cuda0' (None: the task's first device)",
    none_allowed=True,
)
_METRIC = _Matches(re.compile(r"[A-Za-z_][\w.-]*"), "a device metric name such as 'latency_ms_b1'")


def _property_name(strategy: Strategy, task: Task, device: str | None, metric: str) -> str:
    """``<device>/<metric>`` after checking the task has it; one MetricError otherwise."""
    label = owner_label(strategy)
    devices = task.devices
    if not devices:
        raise MetricError(
            f"{label}: the table has no device measurements, so no {metric!r} to search against"
        )
    chosen = devices[0] if device is None else device
    if chosen not in devices:
        raise MetricError(f"{label}: the table has no device {chosen!r} (devices: {', '.join(devices)})")
    name = f"{chosen}/{metric}"
    if name not in task.properties:
        known = sorted(key.split("/", 1)[1] for key in task.properties if key.startswith(f"{chosen}/"))
        raise MetricError(
            f"{label}: device {chosen!r} has no metric {metric!r} (metrics: {', '.join(known)})"
        )
    return name


# --------------------------------------------------------------------- NSGA-II
class NSGA2(Strategy):
    """NSGA-II: maximise validation accuracy and minimise a device metric (Deb et al., 2002).

    A population of ``population_size`` architectures (uniform random at first) produces
    as many offspring per generation: parents by binary tournament (lower non-domination
    rank wins, then larger crowding distance), uniform crossover of their edge ops with
    ``crossover_probability`` (else a copy of the first parent), then each edge mutated to
    another op with ``mutation_probability`` (None: 1 / number of edges). Parents and
    offspring together are sorted into non-dominated fronts and the next population is
    filled front by front, the last front cut by crowding distance. An isomorphism class
    is evaluated at most once per run.

    The second objective is ``<device>/<metric>`` of the task, e.g. ``cpu-1t/latency_ms_b1``
    (``device=None``: the task's first device). Deb et al. use crossover probability 0.9
    and mutation probability 1 / number of variables; their populations are 100, the
    default here is 20 so that a 150-evaluation run sees several generations.
    """

    kind = "multi-objective"

    def __init__(
        self,
        *,
        device: str | None = None,
        metric: str = "latency_ms_b1",
        population_size: int = 20,
        crossover_probability: float = 0.9,
        mutation_probability: float | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(seed=seed)
        self.device = device
        self.metric = metric
        self.population_size = population_size
        self.crossover_probability = crossover_probability
        self.mutation_probability = mutation_probability
        validate(self, "device", device, _DEVICE)
        validate(self, "metric", metric, _METRIC)
        check_int(self, "population_size", population_size, low=2)
        check_float(self, "crossover_probability", crossover_probability, 0.0, 1.0)
        if mutation_probability is not None:
            check_float(self, "mutation_probability", mutation_probability, 0.0, 1.0, low_open=True)

    def objective(self, task: Task) -> str:
        """The minimised free property, ``<device>/<metric>``."""
        return _property_name(self, task, self.device, self.metric)

    def _setup(self) -> None:
        task = self.task
        self._cost = np.nan_to_num(task.values(self.objective(task)), nan=np.inf)
        self._ledger = ClassLedger(task.space)
        self._mutation = (
            1.0 / task.space.num_edges if self.mutation_probability is None else self.mutation_probability
        )
        self._population: list[tuple[int, float]] = []  # (index, val_acc)
        self._rank = np.empty(0, dtype=np.int64)
        self._crowding = np.empty(0)
        self._new: list[tuple[int, float]] = []  # told since the last selection
        self._queue: deque[int] = deque()

    def ask(self) -> Trial:
        if not self._queue:
            self._select()
            batch = (
                self._offspring() if self._population else self._ledger.sample(self.rng, self.population_size)
            )
            if batch.size == 0:
                raise SearchFinished("every isomorphism class has been tried")
            for index in batch.tolist():
                self._ledger.mark(index)
            self._queue.extend(batch.tolist())
        return Trial(self._queue.popleft())

    def tell(self, trial: Trial, result: Result) -> None:
        self._new.append((trial.index, result.val_acc))

    def _objectives(self, members: list[tuple[int, float]]) -> np.ndarray:
        indices = np.array([index for index, _ in members], dtype=np.int64)
        accuracy = np.array([value for _, value in members])
        return np.stack([-accuracy, self._cost[indices]], axis=1)

    def _select(self) -> None:
        """Environmental selection of the population from parents and new offspring."""
        if not self._new:
            return
        combined = self._population + self._new
        self._new = []
        objectives = self._objectives(combined)
        chosen: list[int] = []
        rank: list[int] = []
        crowding: list[float] = []
        for level, front in enumerate(non_dominated_fronts(objectives)):
            distance = crowding_distance(objectives[front])
            room = self.population_size - len(chosen)
            if front.size > room:
                keep = np.argsort(-distance, kind="stable")[:room]
                front, distance = front[keep], distance[keep]
            chosen.extend(front.tolist())
            rank.extend([level] * front.size)
            crowding.extend(distance.tolist())
            if len(chosen) >= self.population_size:
                break
        self._population = [combined[k] for k in chosen]
        self._rank = np.asarray(rank, dtype=np.int64)
        self._crowding = np.asarray(crowding)

    def _tournament(self, count: int) -> np.ndarray:
        """``count`` parents (positions in the population) by binary tournament."""
        size = len(self._population)
        first = self.rng.integers(size, size=count)
        second = self.rng.integers(size, size=count)
        rank, crowding = self._rank, self._crowding
        second_wins = (rank[second] < rank[first]) | (
            (rank[second] == rank[first]) & (crowding[second] > crowding[first])
        )
        return np.where(second_wins, second, first)

    def _offspring(self) -> np.ndarray:
        space = self.task.space
        count = self.population_size
        parents = np.array([index for index, _ in self._population], dtype=np.int64)
        out = np.empty(0, dtype=np.int64)
        for _ in range(10):  # redraw children that repeat a class already tried
            mothers = space.ops_array(parents[self._tournament(count)])
            fathers = space.ops_array(parents[self._tournament(count)])
            children = space.crossover(
                mothers, fathers, self.rng, probability=self.crossover_probability, method="uniform"
            )
            children = space.mutate_ops(children, self.rng, self._mutation)
            out = self._ledger.fresh(np.concatenate([out, space.indices_from_ops(children)]))
            if out.size >= count:
                return out[:count]
        return self._ledger.fresh(np.concatenate([out, self._ledger.sample(self.rng, count)]))[:count]


# --------------------------------------------------------------------- constrained
class ConstrainedEvolution(Strategy):
    """Regularized evolution restricted to architectures within a device-metric limit.

    Once-for-All (Cai et al., 2020) specialises one network per hardware target by an
    evolutionary search that only keeps candidates meeting the target's latency limit;
    this strategy does the same over the table with regularized (aging) evolution (Real
    et al., 2019): ``population_size`` random feasible architectures first, then each step
    takes the best of ``sample_size`` random population members, changes one edge's op
    (to a feasible architecture of an untried class) and retires the oldest member.

    The constraint is ``<device>/<metric> <= limit`` (``device=None``: the task's first
    device). Without an absolute ``limit``, the limit is the ``limit_quantile`` quantile
    of the metric over the whole space (0.25: a quarter of the architectures qualify).
    Real et al. use populations of 100 and samples of 25 for long runs; 20 and 5 here
    suit a budget of about 150 evaluations.
    """

    kind = "constrained"

    def __init__(
        self,
        *,
        device: str | None = None,
        metric: str = "latency_ms_b1",
        limit_quantile: float = 0.25,
        limit: float | None = None,
        population_size: int = 20,
        sample_size: int = 5,
        seed: int = 0,
    ) -> None:
        super().__init__(seed=seed)
        self.device = device
        self.metric = metric
        self.limit_quantile = limit_quantile
        self.limit = limit
        self.population_size = population_size
        self.sample_size = sample_size
        validate(self, "device", device, _DEVICE)
        validate(self, "metric", metric, _METRIC)
        check_float(self, "limit_quantile", limit_quantile, 0.0, 1.0, low_open=True)
        if limit is not None:
            check_float(self, "limit", limit, 0.0, low_open=True)
        check_int(self, "population_size", population_size, low=1)
        check_int(self, "sample_size", sample_size, low=1, high=population_size)

    def constraint(self, task: Task) -> Constraint:
        """``<device>/<metric> <= limit``, the limit absolute or a quantile over the space."""
        name = _property_name(self, task, self.device, self.metric)
        if self.limit is not None:
            return Constraint(name, float(self.limit))
        values = task.values(name)
        return Constraint(name, float(np.nanquantile(values, self.limit_quantile)))

    def _setup(self) -> None:
        task = self.task
        constraint = self.constraint(task)
        values = np.nan_to_num(task.values(constraint.metric), nan=np.inf)
        self._feasible = values <= constraint.max_value
        if task.constraint is not None and task.constraint.metric == constraint.metric:
            self._feasible &= values <= task.constraint.max_value
        self._feasible_indices = np.flatnonzero(self._feasible)
        if self._feasible_indices.size == 0:
            raise ConfigError(f"{owner_label(self)}: no architecture satisfies {constraint}")
        self._ledger = ClassLedger(task.space)
        self._asked = 0
        self._population: deque[tuple[int, float]] = deque()

    def ask(self) -> Trial:
        index = None
        if self._asked >= self.population_size and self._population:
            index = self._child()
        if index is None:
            drawn = self._ledger.sample(self.rng, 1, among=self._feasible_indices)
            if drawn.size == 0:
                raise SearchFinished("every feasible isomorphism class has been tried")
            index = int(drawn[0])
        self._ledger.mark(index)
        self._asked += 1
        return Trial(index)

    def tell(self, trial: Trial, result: Result) -> None:
        self._population.append((trial.index, result.val_acc))
        if len(self._population) > self.population_size:
            self._population.popleft()

    def _child(self) -> int | None:
        """A feasible, untried one-edge mutation of the tournament winner (None if none)."""
        size = len(self._population)
        contestants = self.rng.choice(size, size=min(self.sample_size, size), replace=False)
        parent = max(contestants.tolist(), key=lambda k: (self._population[k][1], -k))
        neighbours = self.task.space.neighbour_indices([self._population[parent][0]])
        neighbours = self._ledger.fresh(self.rng.permutation(neighbours[self._feasible[neighbours]]))
        return int(neighbours[0]) if neighbours.size else None

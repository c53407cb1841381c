"""Evolutionary search: regularized (aging) evolution and a generational genetic algorithm.

Both work on integer space indices and leave the moves (one-edge mutation, crossover,
per-edge mutation) to :class:`~nasbench.core.space.CellSpace`; no architecture objects are
built while searching.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from nasbench.search import Result, Strategy, Trial, check_float, check_int

_BATCH = 256  # random draws made at once by RegularizedEvolution


class RegularizedEvolution(Strategy):
    """Regularized (aging) evolution (Real et al., 2019, the AmoebaNet search).

    The run starts with ``population_size`` architectures drawn uniformly at random.
    Then, per evaluation, ``sample_size`` members are drawn from the population (with
    replacement), the one with the best validation accuracy is the parent, and its child
    changes one randomly chosen edge to a different, uniformly chosen op. The child joins
    the population and the oldest member leaves, whatever its accuracy: age, not
    fitness, decides who dies. Duplicates are evaluated again, as in the original.

    Defaults are NAS-Bench-201's settings for this baseline on its cell space (Dong &
    Yang, 2020: population 10, sample 3), which suit budgets of a few hundred
    evaluations; Real et al.'s large-scale runs used a population of 100 and sample 25.
    """

    kind = "black-box"

    def __init__(self, *, population_size: int = 10, sample_size: int = 3, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.population_size = population_size
        self.sample_size = sample_size
        check_int(self, "population_size", population_size, low=1)
        check_int(self, "sample_size", sample_size, low=1, high=max(int(population_size), 1))

    def _setup(self) -> None:
        space = self.task.space
        size = self.population_size
        self._space = space
        self._size = space.size
        # The population is a ring buffer: slot ``_oldest`` holds the oldest member once full.
        self._indices = [0] * size
        self._fitness = [0.0] * size
        self._count = 0
        self._oldest = 0
        self._asked = 0
        # One row of draws per ask: sample_size population slots, then an edge and a new op.
        # Rows are drawn in batches: one generator call per ask would cost more than the rest.
        self._high = np.array(
            [size] * self.sample_size + [space.num_edges, max(space.num_ops - 1, 1)], dtype=np.int64
        )
        self._draws: list[list[int]] = []
        self._next_draw = 0

    @property
    def population(self) -> list[tuple[int, float]]:
        """(space index, validation accuracy) of every member, oldest first."""
        order = list(range(self._oldest, self._count)) + list(range(self._oldest))
        return [(self._indices[k], self._fitness[k]) for k in order]

    def ask(self) -> Trial:
        if self._asked < self.population_size or self._count == 0:
            self._asked += 1
            return Trial(int(self.rng.integers(self._size)))
        if self._count < self.population_size:  # asked ahead of the results coming back
            high = self._high.copy()
            high[: self.sample_size] = self._count
            draws = self.rng.integers(0, high).tolist()
        else:
            if self._next_draw >= len(self._draws):
                self._draws = self.rng.integers(0, self._high, size=(_BATCH, self._high.size)).tolist()
                self._next_draw = 0
            draws = self._draws[self._next_draw]
            self._next_draw += 1
        fitness = self._fitness
        parent = draws[0]
        for slot in draws[1 : self.sample_size]:
            if fitness[slot] > fitness[parent]:
                parent = slot
        index = self._indices[parent]
        if self._space.num_ops > 1:
            index = self._space.neighbour(index, draws[self.sample_size], draws[self.sample_size + 1])
        return Trial(index)

    def tell(self, trial: Trial, result: Result) -> None:
        if self._count < self.population_size:
            slot = self._count
            self._count += 1
        else:
            slot = self._oldest
            self._oldest = (slot + 1) % self.population_size
        self._indices[slot] = trial.index
        self._fitness[slot] = result.val_acc


class GeneticAlgorithm(Strategy):
    """A generational genetic algorithm on the edge-op vector, the classic evolutionary
    NAS baseline (Holland, 1975; in NAS e.g. Xie & Yuille, 2017, Genetic CNN).

    Generation 0 is ``population_size`` uniformly random architectures. Each next
    generation keeps the ``elitism`` best members unchanged (they are not trained again)
    and fills the rest with children: two parents picked by tournaments of
    ``tournament_size`` (best validation accuracy wins), single-point crossover of their op
    vectors with probability ``crossover_rate`` (otherwise the first parent is copied),
    then every edge independently takes a different, uniformly chosen op with probability
    ``mutation_rate``. Children are evaluated as they are proposed, duplicates included.

    Defaults are the textbook ones: tournaments of 3, crossover 0.9, one elite, and a
    per-edge mutation rate of ``1 / num_edges`` when ``mutation_rate`` is None (one
    expected change per child, the rate Bäck, 1993 argues for). A population of 20 gives
    about seven generations in a 150-evaluation budget.
    """

    kind = "black-box"

    def __init__(
        self,
        *,
        population_size: int = 20,
        tournament_size: int = 3,
        crossover_rate: float = 0.9,
        mutation_rate: float | None = None,
        elitism: int = 1,
        seed: int = 0,
    ) -> None:
        super().__init__(seed=seed)
        self.population_size = population_size
        self.tournament_size = tournament_size
        self.crossover_rate = crossover_rate
        self.mutation_rate = mutation_rate
        self.elitism = elitism
        check_int(self, "population_size", population_size, low=2)
        check_int(self, "tournament_size", tournament_size, low=1, high=max(int(population_size), 2))
        check_float(self, "crossover_rate", crossover_rate, 0.0, 1.0)
        if mutation_rate is not None:
            check_float(self, "mutation_rate", mutation_rate, 0.0, 1.0)
        check_int(self, "elitism", elitism, low=0, high=int(population_size) - 1)

    def _setup(self) -> None:
        space = self.task.space
        self._space = space
        self._size = space.size
        self._rate = 1.0 / space.num_edges if self.mutation_rate is None else float(self.mutation_rate)
        self.generation = 0
        self._population: list[tuple[int, float]] = []
        self._next: list[tuple[int, float]] = []
        self._queue: deque[int] = deque(self.rng.integers(self._size, size=self.population_size).tolist())

    @property
    def population(self) -> list[tuple[int, float]]:
        """(space index, validation accuracy) of the last complete generation."""
        return list(self._population)

    def ask(self) -> Trial:
        if not self._queue:
            self._advance()
        return Trial(self._queue.popleft())

    def tell(self, trial: Trial, result: Result) -> None:
        self._next.append((trial.index, result.val_acc))

    def _advance(self) -> None:
        """Close the generation being evaluated and queue the children of the next."""
        if not self._next:  # nothing came back yet: draw at random again
            self._queue.extend(self.rng.integers(self._size, size=self.population_size).tolist())
            return
        self._population = self._next
        self.generation += 1
        indices = np.array([index for index, _ in self._population], dtype=np.int64)
        fitness = np.array([value for _, value in self._population], dtype=np.float64)
        best_first = np.argsort(-fitness, kind="stable")
        self._next = [self._population[k] for k in best_first[: self.elitism].tolist()]
        count = self.population_size - len(self._next)
        rng = self.rng
        # Two tournaments per child; argmax keeps the first drawn among equals.
        entrants = rng.integers(indices.shape[0], size=(count, 2, self.tournament_size))
        winners = np.take_along_axis(entrants, np.argmax(fitness[entrants], axis=2)[:, :, None], axis=2)
        space = self._space
        first = space.ops_array(indices[winners[:, 0, 0]])
        second = space.ops_array(indices[winners[:, 1, 0]])
        children = space.crossover(first, second, rng, probability=self.crossover_rate)
        children = space.mutate_ops(children, rng, self._rate)
        self._queue.extend(space.indices_from_ops(children).tolist())

"""Grid search: every isomorphism class once, then stop."""

from __future__ import annotations

from nasbench.search import Result, SearchFinished, Strategy, Trial, check_choice


class GridSearch(Strategy):
    """Exhaustive search: one representative of every isomorphism class, each trained fully.

    ``order="shuffled"`` (default) visits the classes in a permutation drawn from
    ``seed``, so a run cut short by its budget is a random search without repeats;
    ``order="index"`` visits them by ascending representative index, the plain grid.
    :class:`~nasbench.search.strategy.SearchFinished` is raised once every class was proposed.
    """

    kind = "black-box"

    def __init__(self, *, order: str = "shuffled", seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.order = order
        check_choice(self, "order", order, ("shuffled", "index"))

    def _setup(self) -> None:
        unique = self.task.space.unique_indices()
        if self.order == "shuffled":
            unique = self.rng.permutation(unique)
        self._queue: list[int] = unique.tolist()
        self._next = 0

    def ask(self) -> Trial:
        if self._next >= len(self._queue):
            raise SearchFinished("every isomorphism class has been tried")
        index = self._queue[self._next]
        self._next += 1
        return Trial(index)

    def tell(self, trial: Trial, result: Result) -> None:
        """Grid search learns nothing."""

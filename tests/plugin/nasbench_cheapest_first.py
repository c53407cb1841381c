"""An example third-party nasbench strategy, registered through the entry point group."""

from __future__ import annotations

import numpy as np

from nasbench.search import SearchFinished, Strategy, Trial, check_int


class CheapestFirst(Strategy):
    """Cheapest first: the ``pool`` fewest-FLOPs architectures, in a seeded random order."""

    kind = "black-box"

    def __init__(self, *, pool: int = 100, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.pool = pool
        check_int(self, "pool", pool, low=1)

    def _setup(self) -> None:
        cheapest = np.argsort(self.task.values("flops_m"), kind="stable")[: self.pool]
        self._order = self.rng.permutation(cheapest).tolist()

    def ask(self) -> Trial:
        if not self._order:
            raise SearchFinished("every architecture of the pool has been tried")
        return Trial(int(self._order.pop()))

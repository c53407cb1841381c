"""Bookkeeping the built-in strategies share: a ledger of the isomorphism classes a run
has proposed, and uniform sampling of the others. (Moves through the space, such as
one-edge neighbours, mutation and crossover, are :class:`~nasbench.core.space.CellSpace`
methods.)"""

from __future__ import annotations

import numpy as np

from nasbench.core.space import CellSpace

__all__ = ["ClassLedger"]


class ClassLedger:
    """Which isomorphism classes a run has proposed, and uniform sampling of the others."""

    def __init__(self, space: CellSpace) -> None:
        self.canonical = space.canonical_indices()
        self.size = space.size
        self.limit = space.num_unique
        self.used = np.zeros(space.size, dtype=bool)  # by representative index
        self.count = 0

    @property
    def exhausted(self) -> bool:
        """Whether every class has been proposed."""
        return self.count >= self.limit

    def mark(self, index: int) -> None:
        """Record that ``index``'s class has been proposed."""
        representative = self.canonical[index]
        if not self.used[representative]:
            self.used[representative] = True
            self.count += 1

    def fresh(self, indices: np.ndarray) -> np.ndarray:
        """``indices`` whose class is unused, one per class, first occurrence kept, in order."""
        indices = np.asarray(indices, dtype=np.int64)
        representatives = self.canonical[indices]
        keep = ~self.used[representatives]
        indices, representatives = indices[keep], representatives[keep]
        _, first = np.unique(representatives, return_index=True)
        return indices[np.sort(first)]

    def sample(self, rng: np.random.Generator, count: int, among: np.ndarray | None = None) -> np.ndarray:
        """Up to ``count`` uniformly drawn indices of distinct unused classes (drawn from
        the indices ``among`` when given, else from the whole space)."""
        if count <= 0 or self.exhausted:
            return np.empty(0, dtype=np.int64)
        size = self.size if among is None else among.shape[0]
        out = np.empty(0, dtype=np.int64)
        for _ in range(8):  # rejection sampling while unused classes are plentiful
            draw = rng.integers(size, size=2 * count + 8)
            out = self.fresh(np.concatenate([out, draw if among is None else among[draw]]))
            if out.size >= count:
                return out[:count]
        pool = np.arange(self.size) if among is None else among
        left = pool[~self.used[self.canonical[pool]]]
        return self.fresh(np.concatenate([out, rng.permutation(left)]))[:count]

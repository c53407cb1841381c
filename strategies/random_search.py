"""Random search: the baseline every NAS method must beat (Li & Talwalkar, 2019)."""

from __future__ import annotations

from nasbench.search import Result, SearchFinished, Strategy, Trial, check_choice


class RandomSearch(Strategy):
    """Random search: architectures drawn uniformly, each trained fully.

    ``deduplicate="class"`` (default) never proposes a member of an isomorphism class it
    already tried, as NAS-Bench-201's random-search baseline compares unique cells;
    ``"index"`` skips exact repeats only; ``"none"`` samples with replacement.
    """

    kind = "black-box"

    def __init__(self, *, deduplicate: str = "class", seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.deduplicate = deduplicate
        check_choice(self, "deduplicate", deduplicate, ("class", "index", "none"))

    def _setup(self) -> None:
        space = self.task.space
        self._size = space.size
        self._key = space.canonical_indices() if self.deduplicate == "class" else None
        self._seen: set[int] = set()
        self._limit = space.num_unique if self.deduplicate == "class" else space.size

    def ask(self) -> Trial:
        if self.deduplicate == "none":
            return Trial(int(self.rng.integers(self._size)))
        if len(self._seen) >= self._limit:
            raise SearchFinished("every architecture has been tried")
        while True:
            index = int(self.rng.integers(self._size))
            key = index if self._key is None else int(self._key[index])
            if key not in self._seen:
                self._seen.add(key)
                return Trial(index)

    def tell(self, trial: Trial, result: Result) -> None:
        """Random search learns nothing."""

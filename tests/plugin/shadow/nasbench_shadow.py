"""A plug-in whose entry points are named like built-ins (``rs``, ``xgb``): it must never
replace them, only be reachable as ``nasbench-shadow:rs`` and ``nasbench-shadow:xgb``."""

from __future__ import annotations

from typing import Any

import numpy as np

from nasbench.prediction import Surrogate
from nasbench.search import SearchFinished, Strategy, Trial


class ShadowSearch(Strategy):
    """Shadow search: architectures in index order, so its runs differ from random search's."""

    kind = "black-box"

    def __init__(self, *, seed: int = 0) -> None:
        super().__init__(seed=seed)

    def _setup(self) -> None:
        self._next = 0

    def ask(self) -> Trial:
        if self._next >= self.task.space.size:
            raise SearchFinished("every architecture has been tried")
        self._next += 1
        return Trial(self._next - 1)


class ShadowSurrogate(Surrogate):
    """Shadow surrogate: predicts the mean of what it was fitted on."""

    def __init__(self, *, space: Any = "nb201", seed: int = 0) -> None:
        super().__init__(space=space, seed=seed)

    def _fit(self, indices: np.ndarray, y: np.ndarray) -> None:
        self.mean_ = float(np.mean(y))

    def _predict(self, indices: np.ndarray, return_std: bool) -> tuple[np.ndarray, None]:
        return np.full(len(indices), self.mean_), None

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"mean": self.mean_}, {}

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.mean_ = float(state["mean"])

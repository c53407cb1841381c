"""Learning-curve extrapolation: the final accuracy from the first epochs of training.

The idea follows Baker et al. (2018, "Accelerating neural architecture search using
performance prediction"): a regression model reads the first ``k`` values of a learning
curve (and simple statistics of it) together with an encoding of the architecture, and
predicts the final value; it is trained on architectures whose whole curve is known.
NAS-Bench-x11 (Yan et al., 2021) uses the same kind of predictor for multi-fidelity
search. Here the regressor is gradient-boosted trees that predict the gain still to
come after the last observed epoch, so that with no signal the prediction falls back to
"the last observed value".

Interface (``kind = "learning-curve"``):

- ``fit(archs, y, *, curves)``: ``y`` float [n] the final values to learn (e.g. the
  seed-mean accuracy at the last epoch), ``curves`` float [n, e] with ``e >=
  observed_epochs``: per-epoch values of the same metric, epoch 1 first; only the first
  ``observed_epochs`` columns are read. Full curves may be passed.
- ``predict(archs, *, curves)``: ``curves`` float [n, e >= observed_epochs], the
  partial curves observed so far (again only the first ``observed_epochs`` columns are
  read); returns float64 [n] predicted final values. No standard deviation.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from nasbench.surrogates.tree import import_xgboost, xgboost_booster

from nasbench.core.errors import ConfigError
from nasbench.core.space import CellSpace
from nasbench.core.validation import check_choice, check_float, check_int, owner_label
from nasbench.prediction import ENCODINGS, Surrogate, encode_archs

__all__ = ["LearningCurveExtrapolator"]


class LearningCurveExtrapolator(Surrogate):
    """Final value from the first ``observed_epochs`` of a learning curve plus the
    architecture's encoding (gradient-boosted trees on the remaining gain); no std.

    Features: the observed values, the last epoch-to-epoch change, and the ``encoding``
    of the architecture (``"none"`` for curves alone). Target: final value minus the last
    observed value.
    """

    kind = "learning-curve"
    has_std = False

    def __init__(
        self,
        *,
        observed_epochs: int = 3,
        encoding: str = "onehot",
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        max_depth: int = 4,
        n_jobs: int = 2,
        space: CellSpace | str = "nb201",
        seed: int = 0,
    ) -> None:
        super().__init__(space=space, seed=seed)
        self.observed_epochs = observed_epochs
        self.encoding = encoding
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.n_jobs = n_jobs
        check_int(self, "observed_epochs", observed_epochs, low=1, high=100_000)
        check_choice(self, "encoding", encoding, (*ENCODINGS, "none"))
        check_int(self, "n_estimators", n_estimators, low=1, high=100_000)
        check_float(self, "learning_rate", learning_rate, 0.0, 1.0, low_open=True)
        check_int(self, "max_depth", max_depth, low=1, high=64)
        check_int(self, "n_jobs", n_jobs, low=1, high=1024)

    # ----------------------------------------------------------------- curves in, features out
    def _observed(self, curves: Any, n: int) -> np.ndarray:
        values = np.asarray(curves, dtype=np.float64)
        k = self.observed_epochs
        if values.ndim != 2 or values.shape[0] != n or values.shape[1] < k:
            raise ConfigError(
                f"{owner_label(self)}: curves must have shape [{n}, >= {k}] (observed_epochs={k}), "
                f"got {values.shape}"
            )
        observed = values[:, :k]
        if not np.all(np.isfinite(observed)):
            raise ConfigError(f"{owner_label(self)}: curves must be finite over the first {k} epochs")
        return observed

    def _features(self, indices: np.ndarray, observed: np.ndarray) -> np.ndarray:
        parts = [observed]
        if observed.shape[1] >= 2:
            parts.append(observed[:, -1:] - observed[:, -2:-1])
        if self.encoding != "none":
            parts.append(encode_archs(self.space_, indices, self.encoding).astype(np.float64))
        return np.concatenate(parts, axis=1)

    # ----------------------------------------------------------------- protocol
    def fit(
        self, archs: Any, y: Any, *, curves: Any, space: CellSpace | str | None = None
    ) -> LearningCurveExtrapolator:
        """Learn from architectures, their final values and their (partial or full) curves."""
        indices, targets = self._prepare_fit(archs, y, space)
        observed = self._observed(curves, indices.shape[0])
        self._run_fit(self._fit_curves, indices, targets, observed)
        return self

    def predict(self, archs: Any, return_std: bool = False, *, curves: Any) -> Any:
        """float64 [n] predicted final values from the first ``observed_epochs`` of ``curves``."""
        indices = self._prepare_predict(archs, return_std)
        observed = self._observed(curves, indices.shape[0])
        if indices.size == 0:
            return np.zeros(0)
        raw = self.booster_.inplace_predict(self._features(indices, observed))
        return observed[:, -1] + np.asarray(raw, dtype=np.float64)

    def _fit(self, indices: np.ndarray, y: np.ndarray) -> None:
        raise ConfigError(f"{owner_label(self)} needs curves: fit(archs, y, curves=...)")

    def _predict(self, indices: np.ndarray, return_std: bool) -> tuple[np.ndarray, None]:
        raise ConfigError(f"{owner_label(self)} needs curves: predict(archs, curves=...)")

    def _fit_curves(self, indices: np.ndarray, y: np.ndarray, observed: np.ndarray) -> None:
        xgboost = import_xgboost()
        features = self._features(indices, observed)
        data = xgboost.DMatrix(features, label=y - observed[:, -1], nthread=self.n_jobs)
        params = {
            "objective": "reg:squarederror",
            "tree_method": "hist",
            "eta": self.learning_rate,
            "max_depth": self.max_depth,
            "subsample": 0.8,
            "colsample_bytree": 0.8,
            "min_child_weight": 2.0,
            "nthread": self.n_jobs,
            "seed": int(np.random.default_rng(self.seed).integers(2**31 - 1)),
            "verbosity": 0,
        }
        self.booster_ = xgboost.train(params, data, num_boost_round=self.n_estimators)

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        model = np.frombuffer(bytes(self.booster_.save_raw(raw_format="json")), dtype=np.uint8)
        return {}, {"xgboost_json": model}

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.booster_ = xgboost_booster(arrays["xgboost_json"], self.n_jobs)

"""Gaussian-process regression on a binary architecture encoding.

Every encoding here is a 0/1 vector, so the squared Euclidean distance between two
encodings is their Hamming distance ``h`` (for one-hot: twice the number of edges whose
op differs). The kernel is ``k(x, x') = s^2 * exp(-h / length_scale)``, the
exponentiated-Hamming kernel: a product of one kernel per bit, hence positive definite,
and the natural analogue of an exponential kernel for categorical inputs (as in
COMBO-style Bayesian optimisation over discrete spaces). Exact inference by Cholesky
factorisation; the length scale and noise are chosen by maximising the marginal
likelihood over a fixed grid (deterministic, no optimiser restarts), with the signal
variance profiled out. Linear algebra runs in one BLAS thread.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.linalg import cho_solve, solve_triangular

from nasbench.core.errors import ConfigError
from nasbench.core.space import CellSpace
from nasbench.core.validation import check_choice, check_float, check_int
from nasbench.prediction import ENCODINGS, Surrogate, encode_archs, one_blas_thread

__all__ = ["GaussianProcessSurrogate"]

_LENGTH_GRID = np.geomspace(0.25, 256.0, 11)
_NOISE_GRID = np.geomspace(1e-4, 1.0, 9)  # noise variance relative to the signal variance


def _hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamming distances between rows of two 0/1 float matrices."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    return np.maximum(a64.sum(1)[:, None] + b64.sum(1)[None, :] - 2.0 * (a64 @ b64.T), 0.0)


class GaussianProcessSurrogate(Surrogate):
    """Gaussian process with an exponentiated-Hamming kernel on a binary encoding; gives std.

    ``length_scale`` and ``noise`` (observation-noise variance as a fraction of the
    signal variance) are fitted by maximum marginal likelihood on a grid when left at
    None; the grid search uses at most ``max_optimize`` training points (a seeded
    subsample), the final posterior uses all of them. Targets are standardised. The std
    returned is that of the latent mean (observation noise excluded): close to 0 at
    training points, up to the prior's scale far from them. Cost is cubic in the
    number of training points; a few thousand are fine.
    """

    has_std = True

    def __init__(
        self,
        *,
        encoding: str = "onehot",
        length_scale: float | None = None,
        noise: float | None = None,
        max_optimize: int = 400,
        space: CellSpace | str = "nb201",
        seed: int = 0,
    ) -> None:
        super().__init__(space=space, seed=seed)
        self.encoding = encoding
        self.length_scale = length_scale
        self.noise = noise
        self.max_optimize = max_optimize
        check_choice(self, "encoding", encoding, ENCODINGS)
        if length_scale is not None:
            check_float(self, "length_scale", length_scale, 0.0, 1e6, low_open=True)
        if noise is not None:
            check_float(self, "noise", noise, 0.0, 1e3, low_open=True)
        check_int(self, "max_optimize", max_optimize, low=2, high=20_000)

    @staticmethod
    def _profile(distance: np.ndarray, y: np.ndarray, length: float, noise: float) -> float:
        """Log marginal likelihood with the signal variance at its maximum-likelihood value."""
        n = y.shape[0]
        matrix = np.exp(-distance / length)
        matrix[np.diag_indices(n)] += noise
        try:
            chol = np.linalg.cholesky(matrix)
        except np.linalg.LinAlgError:
            return -np.inf
        alpha = cho_solve((chol, True), y)
        scale = max(float(y @ alpha) / n, 1e-300)
        return -0.5 * n * np.log(scale) - np.log(np.diag(chol)).sum()

    def _fit(self, indices: np.ndarray, y: np.ndarray) -> None:
        with one_blas_thread():
            self._fit_posterior(indices, y)

    def _fit_posterior(self, indices: np.ndarray, y: np.ndarray) -> None:
        features = encode_archs(self.space_, indices, self.encoding)
        self.y_mean_ = float(y.mean())
        self.y_scale_ = float(y.std()) or 1.0
        target = (y - self.y_mean_) / self.y_scale_
        lengths = _LENGTH_GRID if self.length_scale is None else np.array([float(self.length_scale)])
        noises = _NOISE_GRID if self.noise is None else np.array([float(self.noise)])
        if lengths.size * noises.size > 1:
            subset = np.arange(len(target))
            if subset.size > self.max_optimize:
                rng = np.random.default_rng(self.seed)
                subset = np.sort(rng.choice(subset.size, size=self.max_optimize, replace=False))
            distance = _hamming(features[subset], features[subset])
            scores = [
                (self._profile(distance, target[subset], ln, nz), ln, nz) for ln in lengths for nz in noises
            ]
            best = max(scores, key=lambda item: item[0])
            length, noise = float(best[1]), float(best[2])
        else:
            length, noise = float(lengths[0]), float(noises[0])
        matrix = np.exp(-_hamming(features, features) / length)
        matrix[np.diag_indices(len(target))] += noise
        chol = np.linalg.cholesky(matrix)
        alpha = cho_solve((chol, True), target)
        self.signal_variance_ = float(target @ alpha) / len(target)
        self.length_scale_ = length
        self.noise_ = noise
        self.train_features_ = features.astype(np.uint8)
        self.cholesky_ = chol
        self.alpha_ = alpha

    def _predict(self, indices: np.ndarray, return_std: bool) -> tuple[np.ndarray, np.ndarray | None]:
        with one_blas_thread():
            return self._posterior(indices, return_std)

    def _posterior(self, indices: np.ndarray, return_std: bool) -> tuple[np.ndarray, np.ndarray | None]:
        features = encode_archs(self.space_, indices, self.encoding)
        cross = np.exp(-_hamming(features, self.train_features_) / self.length_scale_)
        mean = self.y_mean_ + self.y_scale_ * (cross @ self.alpha_)
        if not return_std:
            return mean, None
        solved = solve_triangular(self.cholesky_, cross.T, lower=True, check_finite=False)
        variance = np.maximum(1.0 - np.einsum("ij,ij->j", solved, solved), 0.0)
        return mean, self.y_scale_ * np.sqrt(self.signal_variance_ * variance)

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        state = {
            "y_mean": self.y_mean_,
            "y_scale": self.y_scale_,
            "signal_variance": self.signal_variance_,
            "length_scale": self.length_scale_,
            "noise": self.noise_,
        }
        arrays = {"train_features": self.train_features_, "cholesky": self.cholesky_, "alpha": self.alpha_}
        return state, arrays

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        n = arrays["alpha"].shape[0]
        if arrays["cholesky"].shape != (n, n) or arrays["train_features"].shape[0] != n:
            raise ConfigError("Gaussian-process arrays disagree in shape")
        for name in ("y_mean", "y_scale", "signal_variance", "length_scale", "noise"):
            setattr(self, f"{name}_", float(state[name]))
        self.train_features_ = arrays["train_features"]
        self.cholesky_ = arrays["cholesky"]
        self.alpha_ = arrays["alpha"]

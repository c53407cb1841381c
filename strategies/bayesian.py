"""Model-based black-box search: BANANAS (neural ensemble on the path encoding) and
Bayesian optimisation with a Gaussian process on the one-hot encoding.

Both follow the same loop: a few random architectures first, then, batch by batch, fit
a surrogate of validation accuracy to everything evaluated so far, score a pool of
candidates (single-edge mutations of the best architectures found, plus uniform random
ones) with an acquisition function, and propose the best-scoring candidates. An
isomorphism class that has been proposed once is never proposed again. The surrogates
are deliberately small and internal; the learned predictors of ``surrogates/`` are a
separate family.
"""

from __future__ import annotations

import itertools
import math
from collections import deque

import numpy as np
from nasbench.strategies._common import ClassLedger, neighbour_indices

from nasbench.bench.benchmark import Result
from nasbench.core.errors import ConfigError
from nasbench.search.strategy import SearchFinished, Strategy, Trial, check_choice, check_float, check_int

__all__ = ["Bananas", "GaussianProcessBO"]


class _ModelBasedSearch(Strategy):
    """Random start, then batches proposed by a surrogate over a mutation + random pool."""

    kind = "black-box"

    def __init__(
        self,
        *,
        initial_evaluations: int,
        batch_size: int,
        mutate_top: int,
        random_candidates: int,
        seed: int,
    ) -> None:
        super().__init__(seed=seed)
        self.initial_evaluations = initial_evaluations
        self.batch_size = batch_size
        self.mutate_top = mutate_top
        self.random_candidates = random_candidates
        check_int(self, "initial_evaluations", initial_evaluations, low=1)
        check_int(self, "batch_size", batch_size, low=1)
        check_int(self, "mutate_top", mutate_top, low=0)
        check_int(self, "random_candidates", random_candidates, low=0)
        if mutate_top == 0 and random_candidates == 0:
            raise ConfigError(
                f"{type(self).name or type(self).__name__}: mutate_top and random_candidates cannot both "
                "be 0 (the candidate pool would be empty)"
            )

    def _setup(self) -> None:
        self._ledger = ClassLedger(self.task.space)
        self._queue: deque[int] = deque()
        self._asked = 0
        self._indices: list[int] = []
        self._values: list[float] = []

    def ask(self) -> Trial:
        if not self._queue:
            if self._ledger.exhausted:
                raise SearchFinished("every isomorphism class has been proposed")
            if self._asked < self.initial_evaluations or len(self._indices) < 2:
                batch = self._ledger.sample(self.rng, 1)
            else:
                batch = self._propose()
            for index in batch.tolist():
                self._ledger.mark(index)
                self._queue.append(index)
        self._asked += 1
        return Trial(self._queue.popleft())

    def tell(self, trial: Trial, result: Result) -> None:
        self._indices.append(trial.index)
        self._values.append(result.val_acc)

    def _pool(self) -> np.ndarray:
        """Unused candidates: mutations of the best evaluated architectures, then random ones."""
        parts = []
        if self.mutate_top:
            order = np.argsort(-np.asarray(self._values), kind="stable")[: self.mutate_top]
            parts.append(neighbour_indices(self.task.space, np.asarray(self._indices)[order]))
        parts.append(self._ledger.sample(self.rng, self.random_candidates))
        pool = self._ledger.fresh(np.concatenate(parts))
        if pool.size == 0:
            pool = self._ledger.sample(self.rng, max(self.batch_size, 1))
        return pool

    def _propose(self) -> np.ndarray:
        """Fit the surrogate and return the next batch of indices (distinct, unused classes)."""
        pool = self._pool()
        scores = self._score(pool)
        order = np.argsort(-scores, kind="stable")
        return pool[order[: self.batch_size]]

    def _score(self, pool: np.ndarray) -> np.ndarray:
        """Acquisition value of every candidate (higher is better)."""
        raise NotImplementedError


# --------------------------------------------------------------------- BANANAS
class _MLPEnsemble:
    """``members`` ReLU regressors trained at once (stacked weights, full-batch Adam).

    All parameters live in one flat buffer (and the gradients in another) so an Adam step
    is a handful of array operations whatever the depth; each member differs only by its
    random initialisation, as in BANANAS.
    """

    def __init__(
        self,
        members: int,
        hidden_units: int,
        hidden_layers: int,
        epochs: int,
        learning_rate: float,
        rng: np.random.Generator,
    ) -> None:
        self.members = members
        self.hidden_units = hidden_units
        self.hidden_layers = hidden_layers
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.rng = rng

    def fit(self, x: np.ndarray, y: np.ndarray) -> _MLPEnsemble:
        m = self.members
        sizes = [x.shape[1], *([self.hidden_units] * self.hidden_layers), 1]
        shapes = [((m, a, b), (m, 1, b)) for a, b in itertools.pairwise(sizes)]
        total = sum(math.prod(w) + math.prod(b) for w, b in shapes)
        params = np.empty(total)
        grads = np.empty(total)
        self.weights_: list[np.ndarray] = []
        self.biases_: list[np.ndarray] = []
        grad_w: list[np.ndarray] = []
        grad_b: list[np.ndarray] = []
        offset = 0
        for w_shape, b_shape in shapes:
            pairs = ((self.weights_, grad_w, w_shape), (self.biases_, grad_b, b_shape))
            for store, grad_store, shape in pairs:
                size = math.prod(shape)
                store.append(params[offset : offset + size].reshape(shape))
                grad_store.append(grads[offset : offset + size].reshape(shape))
                offset += size
        for w, b in zip(self.weights_, self.biases_, strict=True):
            w[...] = self.rng.normal(0.0, math.sqrt(2.0 / w.shape[1]), w.shape)
            b[...] = 0.0
        first = np.ascontiguousarray(x.T)[None]  # [1, d, n]
        n = x.shape[0]
        moment1 = np.zeros(total)
        moment2 = np.zeros(total)
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        layers = len(self.weights_)
        for step in range(1, self.epochs + 1):
            activations = [x[None]]
            h = x[None]
            for k in range(layers - 1):
                h = np.maximum(h @ self.weights_[k] + self.biases_[k], 0.0)
                activations.append(h)
            out = h @ self.weights_[-1] + self.biases_[-1]  # [m, n, 1]
            g = np.sign(out[..., 0] - y)[..., None] / n  # mean absolute error, as BANANAS
            for k in range(layers - 1, -1, -1):
                source = first if k == 0 else activations[k].transpose(0, 2, 1)
                np.matmul(source, g, out=grad_w[k])
                grad_b[k][...] = g.sum(axis=1, keepdims=True)
                if k:
                    g = (g @ self.weights_[k].transpose(0, 2, 1)) * (activations[k] > 0.0)
            moment1 *= beta1
            moment1 += (1.0 - beta1) * grads
            moment2 *= beta2
            moment2 += (1.0 - beta2) * grads * grads
            scale = self.learning_rate * math.sqrt(1.0 - beta2**step) / (1.0 - beta1**step)
            params -= scale * moment1 / (np.sqrt(moment2) + eps)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        """float64 [members, n]: every member's prediction."""
        h = x[None]
        for k in range(len(self.weights_) - 1):
            h = np.maximum(h @ self.weights_[k] + self.biases_[k], 0.0)
        return (h @ self.weights_[-1] + self.biases_[-1])[..., 0]


class Bananas(_ModelBasedSearch):
    """BANANAS: Bayesian optimisation with a neural-network ensemble (White et al., 2021).

    The surrogate is an ensemble of small feed-forward networks, each trained from its
    own random initialisation on the path encoding (which op sequences occur along the
    cell's input-to-output paths) to predict validation accuracy. The spread of the
    ensemble stands in for predictive uncertainty. Each round fits the ensemble once and
    proposes ``batch_size`` architectures from a candidate pool: the single-edge
    mutations of the ``mutate_top`` best architectures evaluated so far plus
    ``random_candidates`` uniform ones. ``acquisition="its"`` (independent Thompson
    sampling, the paper's choice) scores every candidate with one draw from a normal
    with the ensemble's mean and standard deviation; ``"ucb"`` scores it with
    mean + ``exploration_weight`` x standard deviation.

    Literature settings (White et al.): 10 random initial architectures; an ensemble of 5
    networks of 10 layers x 20 units, trained 200 epochs with Adam at learning rate 0.01
    on mean absolute error in mini-batches of 32; independent Thompson sampling over
    candidates made by mutating the best architectures; 10 architectures per round. Here
    the networks have 3 hidden layers and train on the full batch by default, which fits
    a few hundred points as well and keeps a 150-evaluation run well under a second.
    """

    kind = "black-box"

    def __init__(
        self,
        *,
        initial_evaluations: int = 10,
        batch_size: int = 10,
        ensemble_size: int = 5,
        hidden_layers: int = 3,
        hidden_units: int = 20,
        training_epochs: int = 200,
        learning_rate: float = 0.01,
        acquisition: str = "its",
        exploration_weight: float = 1.0,
        mutate_top: int = 10,
        random_candidates: int = 100,
        seed: int = 0,
    ) -> None:
        super().__init__(
            initial_evaluations=initial_evaluations,
            batch_size=batch_size,
            mutate_top=mutate_top,
            random_candidates=random_candidates,
            seed=seed,
        )
        self.ensemble_size = ensemble_size
        self.hidden_layers = hidden_layers
        self.hidden_units = hidden_units
        self.training_epochs = training_epochs
        self.learning_rate = learning_rate
        self.acquisition = acquisition
        self.exploration_weight = exploration_weight
        check_int(self, "ensemble_size", ensemble_size, low=2)
        check_int(self, "hidden_layers", hidden_layers, low=1)
        check_int(self, "hidden_units", hidden_units, low=1)
        check_int(self, "training_epochs", training_epochs, low=1)
        check_float(self, "learning_rate", learning_rate, 0.0, 1.0, low_open=True)
        check_choice(self, "acquisition", acquisition, ("its", "ucb"))
        check_float(self, "exploration_weight", exploration_weight, 0.0)

    def _score(self, pool: np.ndarray) -> np.ndarray:
        space = self.task.space
        x = space.encode_path(self._indices).astype(np.float64)
        y = np.asarray(self._values)
        scale = float(np.std(y)) or 1.0
        target = (y - float(np.mean(y))) / scale
        model = _MLPEnsemble(
            self.ensemble_size,
            self.hidden_units,
            self.hidden_layers,
            self.training_epochs,
            self.learning_rate,
            self.rng,
        ).fit(x, target)
        predictions = model.predict(space.encode_path(pool.tolist()).astype(np.float64))
        mean = predictions.mean(axis=0)
        spread = predictions.std(axis=0)
        if self.acquisition == "its":
            return mean + spread * self.rng.standard_normal(mean.shape[0])
        return mean + self.exploration_weight * spread


# --------------------------------------------------------------------- GP-BO
class GaussianProcessBO(_ModelBasedSearch):
    """Bayesian optimisation with a Gaussian process and expected improvement.

    The surrogate is scikit-learn's ``GaussianProcessRegressor`` on the one-hot encoding
    (one indicator per edge and op) with a constant x Matérn-5/2 kernel plus a white-noise
    term, its hyperparameters fitted by maximum marginal likelihood at every round and the
    targets normalised. Candidates are scored by expected improvement over the best
    validation accuracy seen, less ``exploration_margin`` (Jones et al., 1998; the margin
    is the xi of Lizotte, 2008, whose usual value is 0.01 on a unit-scaled objective;
    here it is in units of the observed standard deviation). Each round proposes the
    ``batch_size`` candidates of highest expected improvement from a pool of single-edge
    mutations of the ``mutate_top`` best architectures plus ``random_candidates`` uniform
    ones. This is the plain GP baseline of the BANANAS comparisons (White et al., 2021);
    NASBOT (Kandasamy et al., 2018) uses a dedicated architecture distance in the kernel
    instead of the one-hot encoding. 10 random initial architectures, as BANANAS; 5 per
    round keeps the hyperparameter fits of a 150-evaluation run under a second.
    """

    kind = "black-box"

    def __init__(
        self,
        *,
        initial_evaluations: int = 10,
        batch_size: int = 5,
        exploration_margin: float = 0.01,
        mutate_top: int = 10,
        random_candidates: int = 200,
        seed: int = 0,
    ) -> None:
        super().__init__(
            initial_evaluations=initial_evaluations,
            batch_size=batch_size,
            mutate_top=mutate_top,
            random_candidates=random_candidates,
            seed=seed,
        )
        self.exploration_margin = exploration_margin
        check_float(self, "exploration_margin", exploration_margin, 0.0)

    def _score(self, pool: np.ndarray) -> np.ndarray:
        import warnings

        from scipy.stats import norm
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
        from threadpoolctl import threadpool_limits

        space = self.task.space
        x = space.encode_onehot(self._indices).astype(np.float64)
        y = np.asarray(self._values)
        kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(
            length_scale=2.0, length_scale_bounds=(0.1, 100.0), nu=2.5
        ) + WhiteKernel(0.1, (1e-5, 1.0))
        model = GaussianProcessRegressor(
            kernel, normalize_y=True, random_state=int(self.rng.integers(2**31 - 1))
        )
        candidates = space.encode_onehot(pool.tolist()).astype(np.float64)
        # Small matrices: BLAS threads only contend (several times slower on a busy machine).
        with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(x, y)
            mean, std = model.predict(candidates, return_std=True)
        std = np.maximum(std, 1e-12)
        margin = self.exploration_margin * (float(np.std(y)) or 1.0)
        z = (mean - float(np.max(y)) - margin) / std
        return (mean - float(np.max(y)) - margin) * norm.cdf(z) + std * norm.pdf(z)

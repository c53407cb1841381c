"""Model-based black-box search: BANANAS (neural ensemble on the path encoding) and
Bayesian optimisation with a Gaussian process on the one-hot encoding.

Both follow the same loop: a few random architectures first, then, batch by batch, fit
a surrogate of validation accuracy to everything evaluated so far, score a pool of
candidates (single-edge mutations of the best architectures found, plus uniform random
ones) with an acquisition function, and propose the best-scoring candidates. An
isomorphism class that has been proposed once is never proposed again. The surrogates
are the registered predictors ``mlp-ensemble`` and ``gp`` (:mod:`nasbench.surrogates`),
created through the public surrogate registry.
"""

from __future__ import annotations

import abc
from collections import deque

import numpy as np
from nasbench.strategies._common import ClassLedger

from nasbench.core.errors import ConfigError
from nasbench.core.validation import owner_label
from nasbench.prediction import create_surrogate
from nasbench.search import Result, SearchFinished, Strategy, Trial, check_choice, check_float, check_int

__all__ = ["Bananas", "GaussianProcessBO"]


class _ModelBasedSearch(Strategy, abc.ABC):
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
                f"{owner_label(self)}: mutate_top and random_candidates cannot both "
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
            parts.append(self.task.space.neighbour_indices(np.asarray(self._indices)[order]))
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

    @abc.abstractmethod
    def _score(self, pool: np.ndarray) -> np.ndarray:
        """Acquisition value of every candidate (higher is better)."""


# --------------------------------------------------------------------- BANANAS
class Bananas(_ModelBasedSearch):
    """BANANAS: Bayesian optimisation with a neural-network ensemble (White et al., 2021).

    The surrogate is the ``mlp-ensemble`` predictor: ``ensemble_size`` small feed-forward
    networks, each trained from its own random initialisation on the path encoding (which
    op sequences occur along the cell's input-to-output paths) to predict validation
    accuracy. The spread of the ensemble stands in for predictive uncertainty. Each round
    fits the ensemble once (on the full batch, from a seed drawn from the run's generator)
    and proposes ``batch_size`` architectures from a candidate pool: the single-edge
    mutations of the ``mutate_top`` best architectures evaluated so far plus
    ``random_candidates`` uniform ones. ``acquisition="its"`` (independent Thompson
    sampling, the paper's choice) scores every candidate with one draw from a normal
    with the ensemble's mean and standard deviation; ``"ucb"`` scores it with
    mean + ``exploration_weight`` x standard deviation.

    Literature settings (White et al.): 10 random initial architectures; an ensemble of 5
    networks of 10 layers x 20 units, trained 200 epochs with Adam at learning rate 0.01
    on mean absolute error in mini-batches of 32; independent Thompson sampling over
    candidates made by mutating the best architectures; 10 architectures per round. Here
    the networks have 3 hidden layers and train on the full batch, which fits a few
    hundred points as well and keeps a 150-evaluation run well under a second.
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
        # The bounds are the mlp-ensemble surrogate's, so a bad value fails here, not mid-run.
        check_int(self, "ensemble_size", ensemble_size, low=2, high=100)
        check_int(self, "hidden_layers", hidden_layers, low=1, high=20)
        check_int(self, "hidden_units", hidden_units, low=1, high=4096)
        check_int(self, "training_epochs", training_epochs, low=1, high=100_000)
        check_float(self, "learning_rate", learning_rate, 0.0, 1.0, low_open=True)
        check_choice(self, "acquisition", acquisition, ("its", "ucb"))
        check_float(self, "exploration_weight", exploration_weight, 0.0)

    def _score(self, pool: np.ndarray) -> np.ndarray:
        model = create_surrogate(
            "mlp-ensemble",
            encoding="path",
            n_members=self.ensemble_size,
            num_layers=self.hidden_layers,
            width=self.hidden_units,
            epochs=self.training_epochs,
            batch_size=len(self._values),  # full batch
            learning_rate=self.learning_rate,
            space=self.task.space,
            seed=int(self.rng.integers(2**31 - 1)),
        )
        model.fit(np.asarray(self._indices), np.asarray(self._values))
        mean, spread = model.predict(pool, return_std=True)
        if self.acquisition == "its":
            return mean + spread * self.rng.standard_normal(mean.shape[0])
        return mean + self.exploration_weight * spread


# --------------------------------------------------------------------- GP-BO
class GaussianProcessBO(_ModelBasedSearch):
    """Bayesian optimisation with a Gaussian process and expected improvement.

    The surrogate is the ``gp`` predictor on the one-hot encoding (one indicator per edge
    and op): an exponentiated-Hamming kernel whose length scale and noise are fitted by
    maximum marginal likelihood at every round, targets standardised. Candidates are
    scored by expected improvement over the best validation accuracy seen, less
    ``exploration_margin`` (Jones et al., 1998; the margin is the xi of Lizotte, 2008,
    whose usual value is 0.01 on a unit-scaled objective; here it is in units of the
    observed standard deviation). Each round proposes the ``batch_size`` candidates of
    highest expected improvement from a pool of single-edge mutations of the
    ``mutate_top`` best architectures plus ``random_candidates`` uniform ones. This is the
    plain GP baseline of the BANANAS comparisons (White et al., 2021); NASBOT (Kandasamy
    et al., 2018) uses a dedicated architecture distance in the kernel instead of the
    one-hot encoding. 10 random initial architectures, as BANANAS; 5 per round.
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
        from scipy.stats import norm

        y = np.asarray(self._values)
        model = create_surrogate(
            "gp", encoding="onehot", space=self.task.space, seed=int(self.rng.integers(2**31 - 1))
        )
        model.fit(np.asarray(self._indices), y)
        mean, std = model.predict(pool, return_std=True)
        std = np.maximum(std, 1e-12)
        improvement = mean - float(np.max(y)) - self.exploration_margin * (float(np.std(y)) or 1.0)
        z = improvement / std
        return improvement * norm.cdf(z) + std * norm.pdf(z)

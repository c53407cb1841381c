"""One-shot search strategies on a weight-sharing supernet: DARTS (first and second order),
GDAS, RSPS, SPOS and ENAS.

Every strategy trains a :class:`~nasbench.nets.supernet.Supernet` of the task's protocol on the
weights half of the protocol's training split and chooses its architecture with the other
half (:func:`~nasbench.nets.supernet_training.split_search_data`). Shared defaults, from DARTS
(Liu et al., 2019): SGD with learning rate 0.025 annealed per epoch by a cosine to 0.001,
momentum 0.9, weight decay 3e-4, gradient norm clipped at 5, batches of 64; architecture
parameters by Adam with learning rate 3e-4, betas (0.5, 0.999), weight decay 1e-3. The papers
search for 50 (DARTS) to 310 (ENAS, as NAS-Bench-201 runs it) epochs on CIFAR-10; ``epochs``
is a hyperparameter whose defaults here are scaled down for the small CPU protocols, keeping
the methods' ratios (path-sampling methods get about five times DARTS's epochs, as in
NAS-Bench-201's runs).

This module declares the strategies (hyperparameters, validation, documentation) and
imports no torch, so listing strategies stays light; each :meth:`search` runs in
:mod:`nasbench.strategies.oneshot_gradient` (DARTS, GDAS) or
:mod:`nasbench.strategies.oneshot_sampling` (RSPS, SPOS, ENAS). The registry names are in
:data:`ONE_SHOT_STRATEGIES`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from nasbench.core.errors import ConfigError
from nasbench.core.space import Architecture
from nasbench.search import OneShotBudget, OneShotStrategy, check_choice, check_float, check_int

if TYPE_CHECKING:
    from nasbench.nets.supernet_training import OneShotTask

__all__ = [
    "DARTS",
    "ENAS",
    "GDAS",
    "ONE_SHOT_STRATEGIES",
    "RSPS",
    "SPOS",
    "DARTSSecondOrder",
    "SupernetStrategy",
]


class SupernetStrategy(OneShotStrategy):
    """The hyperparameters every supernet strategy here shares (not registered itself):
    epochs, batch size, the weights' SGD (cosine learning rate from ``learning_rate`` to
    ``learning_rate_min``, momentum, weight decay) and gradient-norm clipping."""

    def __init__(
        self,
        *,
        epochs: int,
        batch_size: int,
        learning_rate: float,
        learning_rate_min: float,
        momentum: float,
        weight_decay: float,
        grad_clip_norm: float,
        seed: int | None,
    ) -> None:
        super().__init__(seed=seed)
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_min = learning_rate_min
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.grad_clip_norm = grad_clip_norm
        label = self._label
        check_int(label, "epochs", epochs, low=1, high=100_000)
        check_int(label, "batch_size", batch_size, low=1, high=1_000_000)
        check_float(label, "learning_rate", learning_rate, 0.0, 10.0, low_open=True)
        check_float(label, "learning_rate_min", learning_rate_min, 0.0, 10.0)
        check_float(label, "momentum", momentum, 0.0, 1.0)
        check_float(label, "weight_decay", weight_decay, 0.0, 1.0)
        check_float(label, "grad_clip_norm", grad_clip_norm, 0.0, 1e6, low_open=True)
        if learning_rate_min > learning_rate:
            raise ConfigError(
                f"{label}: learning_rate_min must be <= learning_rate, got {learning_rate_min!r}"
            )


# --------------------------------------------------------------------- DARTS
class DARTS(SupernetStrategy):
    """DARTS, first order (Liu et al., 2019, "DARTS-V1" in NAS-Bench-201).

    Every edge is the softmax(alpha)-weighted sum of all its ops. Each step first moves
    alpha by Adam along the validation loss gradient (on a batch of the architecture half),
    then the weights by SGD on a batch of the weights half; the result is the op of largest
    alpha per edge. Defaults: DARTS's (module docstring); the paper searches 50 epochs,
    scaled here to ``epochs=10``.
    """

    name = "darts-v1"
    unrolled: ClassVar[bool] = False

    def __init__(
        self,
        *,
        epochs: int = 10,
        batch_size: int = 64,
        learning_rate: float = 0.025,
        learning_rate_min: float = 0.001,
        momentum: float = 0.9,
        weight_decay: float = 3e-4,
        grad_clip_norm: float = 5.0,
        arch_learning_rate: float = 3e-4,
        arch_weight_decay: float = 1e-3,
        seed: int | None = None,
    ) -> None:
        super().__init__(
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_min=learning_rate_min,
            momentum=momentum,
            weight_decay=weight_decay,
            grad_clip_norm=grad_clip_norm,
            seed=seed,
        )
        self.arch_learning_rate = arch_learning_rate
        self.arch_weight_decay = arch_weight_decay
        check_float(self._label, "arch_learning_rate", arch_learning_rate, 0.0, 10.0, low_open=True)
        check_float(self._label, "arch_weight_decay", arch_weight_decay, 0.0, 1.0)

    def search(self, task: OneShotTask, budget: OneShotBudget) -> Architecture:
        from nasbench.strategies.oneshot_gradient import search_darts

        return search_darts(self, task, budget)


class DARTSSecondOrder(DARTS):
    """DARTS, second order (Liu et al., 2019, "DARTS-V2" in NAS-Bench-201).

    As :class:`DARTS`, but the architecture gradient is taken at the weights after one
    virtual SGD step (momentum and weight decay included, at the current learning rate),
    and corrected by the finite-difference Hessian-vector product with
    ``epsilon = 0.01 / ||grad_w' L_val||``
    (:func:`~nasbench.strategies.oneshot_gradient.darts_unrolled_gradient`).
    """

    name = "darts-v2"
    unrolled: ClassVar[bool] = True


# --------------------------------------------------------------------- GDAS
class GDAS(SupernetStrategy):
    """GDAS: gradient-based search with a differentiable sampler (Dong & Yang, 2019).

    Every step samples one op per edge by hard Gumbel-softmax
    (:func:`~nasbench.strategies.oneshot_gradient.gumbel_hard_sample`) and runs only those
    ops; the straight-through weights carry the gradient to alpha. Each step first trains
    the weights on a sample (weights half), then alpha on a fresh sample (architecture
    half), as NAS-Bench-201's implementation does. The temperature ``tau`` falls linearly
    from ``tau_max`` = 10 to ``tau_min`` = 0.1 over the planned epochs. Result: the op of
    largest alpha per edge. NAS-Bench-201 runs 240 epochs; scaled here to ``epochs=50``.
    Other defaults: DARTS's (module docstring).
    """

    name = "gdas"

    def __init__(
        self,
        *,
        epochs: int = 50,
        batch_size: int = 64,
        learning_rate: float = 0.025,
        learning_rate_min: float = 0.001,
        momentum: float = 0.9,
        weight_decay: float = 3e-4,
        grad_clip_norm: float = 5.0,
        arch_learning_rate: float = 3e-4,
        arch_weight_decay: float = 1e-3,
        tau_max: float = 10.0,
        tau_min: float = 0.1,
        seed: int | None = None,
    ) -> None:
        super().__init__(
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_min=learning_rate_min,
            momentum=momentum,
            weight_decay=weight_decay,
            grad_clip_norm=grad_clip_norm,
            seed=seed,
        )
        self.arch_learning_rate = arch_learning_rate
        self.arch_weight_decay = arch_weight_decay
        self.tau_max = tau_max
        self.tau_min = tau_min
        label = self._label
        check_float(label, "arch_learning_rate", arch_learning_rate, 0.0, 10.0, low_open=True)
        check_float(label, "arch_weight_decay", arch_weight_decay, 0.0, 1.0)
        check_float(label, "tau_max", tau_max, 0.0, 1000.0, low_open=True)
        check_float(label, "tau_min", tau_min, 0.0, 1000.0, low_open=True)
        if tau_min > tau_max:
            raise ConfigError(f"{label}: tau_min must be <= tau_max, got {tau_min!r}")

    def temperature(self, epoch: int, epochs: int) -> float:
        """tau at ``epoch`` of ``epochs``: linear from tau_max (first) to tau_min (last)."""
        return self.tau_max - (self.tau_max - self.tau_min) * epoch / max(1, epochs - 1)

    def search(self, task: OneShotTask, budget: OneShotBudget) -> Architecture:
        from nasbench.strategies.oneshot_gradient import search_gdas

        return search_gdas(self, task, budget)


# --------------------------------------------------------------------- RSPS and SPOS
class RSPS(SupernetStrategy):
    """Random search with parameter sharing (Li & Talwalkar, 2019; "RSPS" in NAS-Bench-201).

    Trains the supernet by uniform path sampling (one random architecture per batch), then
    draws ``num_candidates`` random architectures, measures each with the inherited
    weights on one fixed batch of ``eval_images`` images of the architecture half, and
    returns the best (first on ties). NAS-Bench-201's run: 250 epochs, 100 candidates, one
    batch of 64 images; epochs scaled here to ``epochs=50``. Other defaults: DARTS's.
    """

    name = "rsps"

    def __init__(
        self,
        *,
        epochs: int = 50,
        batch_size: int = 64,
        learning_rate: float = 0.025,
        learning_rate_min: float = 0.001,
        momentum: float = 0.9,
        weight_decay: float = 3e-4,
        grad_clip_norm: float = 5.0,
        num_candidates: int = 100,
        eval_images: int = 64,
        seed: int | None = None,
    ) -> None:
        super().__init__(
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_min=learning_rate_min,
            momentum=momentum,
            weight_decay=weight_decay,
            grad_clip_norm=grad_clip_norm,
            seed=seed,
        )
        self.num_candidates = num_candidates
        self.eval_images = eval_images
        check_int(self._label, "num_candidates", num_candidates, low=1, high=10_000_000)
        check_int(self._label, "eval_images", eval_images, low=1, high=10_000_000)

    def search(self, task: OneShotTask, budget: OneShotBudget) -> Architecture:
        from nasbench.strategies.oneshot_sampling import search_rsps

        return search_rsps(self, task, budget)


class SPOS(SupernetStrategy):
    """Single path one-shot (Guo et al., 2020): uniform single-path training, then
    evolutionary search over the trained supernet.

    Evolution as in the paper: a random population of ``population_size``, then for
    ``iterations`` rounds the ``parents`` best architectures seen so far breed
    ``population_size / 2`` mutants (each edge redrawn with ``mutation_probability``) and
    ``population_size / 2`` crossovers (each edge from one of two parents), new
    architectures only; fitness is accuracy with inherited weights on a fixed batch of
    ``eval_images`` images of the architecture half. Returns the fittest seen. Paper
    values: population 50, 20 iterations, 10 parents, mutation probability 0.1; supernet
    epochs scaled here to ``epochs=50``, DARTS's optimiser defaults.
    """

    name = "spos"

    def __init__(
        self,
        *,
        epochs: int = 50,
        batch_size: int = 64,
        learning_rate: float = 0.025,
        learning_rate_min: float = 0.001,
        momentum: float = 0.9,
        weight_decay: float = 3e-4,
        grad_clip_norm: float = 5.0,
        population_size: int = 50,
        iterations: int = 20,
        parents: int = 10,
        mutation_probability: float = 0.1,
        eval_images: int = 256,
        seed: int | None = None,
    ) -> None:
        super().__init__(
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_min=learning_rate_min,
            momentum=momentum,
            weight_decay=weight_decay,
            grad_clip_norm=grad_clip_norm,
            seed=seed,
        )
        self.population_size = population_size
        self.iterations = iterations
        self.parents = parents
        self.mutation_probability = mutation_probability
        self.eval_images = eval_images
        label = self._label
        check_int(label, "population_size", population_size, low=2, high=1_000_000)
        check_int(label, "iterations", iterations, low=0, high=1_000_000)
        check_int(label, "parents", parents, low=1, high=1_000_000)
        check_float(label, "mutation_probability", mutation_probability, 0.0, 1.0)
        check_int(label, "eval_images", eval_images, low=1, high=10_000_000)

    def search(self, task: OneShotTask, budget: OneShotBudget) -> Architecture:
        from nasbench.strategies.oneshot_sampling import search_spos

        return search_spos(self, task, budget)


# --------------------------------------------------------------------- ENAS
class ENAS(SupernetStrategy):
    """ENAS: efficient NAS via parameter sharing (Pham et al., 2018).

    Alternates, every epoch, one pass of the shared weights over the weights half, each
    batch with an architecture sampled from the controller, and ``controller_steps``
    controller updates, each averaging ``controller_aggregate`` REINFORCE samples. A
    sample's reward is its accuracy (fraction) with the shared weights on one batch of
    the architecture half plus ``entropy_weight`` times the sample's entropy; the baseline
    is an exponential moving average of rewards with decay ``baseline_decay``, updated with
    the current reward before it is used, as ENAS does. The controller (``controller``:
    ``lstm``, a 2-layer LSTM of ``hidden_size`` units, or ``categorical``, one softmax per
    edge) learns by Adam (betas (0, 0.999), eps 1e-3) with gradient norm clipped at 5.
    Finally ``num_candidates`` controller samples are measured with the shared weights on a
    fixed batch of ``eval_images`` images and the best is returned. Defaults are
    NAS-Bench-201's ENAS runs (controller learning rate 0.001, 50 steps of 20 samples,
    entropy weight 1e-4, baseline decay 0.99, 100 candidates, shared weights at learning
    rate 0.05, weight decay 2.5e-4, batches of 128, 310 epochs), epochs scaled here to
    ``epochs=60``.
    """

    name = "enas"

    def __init__(
        self,
        *,
        epochs: int = 60,
        batch_size: int = 128,
        learning_rate: float = 0.05,
        learning_rate_min: float = 0.0005,
        momentum: float = 0.9,
        weight_decay: float = 2.5e-4,
        grad_clip_norm: float = 5.0,
        controller: str = "lstm",
        hidden_size: int = 32,
        controller_learning_rate: float = 0.001,
        controller_steps: int = 50,
        controller_aggregate: int = 20,
        entropy_weight: float = 1e-4,
        baseline_decay: float = 0.99,
        num_candidates: int = 100,
        eval_images: int = 128,
        seed: int | None = None,
    ) -> None:
        super().__init__(
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_min=learning_rate_min,
            momentum=momentum,
            weight_decay=weight_decay,
            grad_clip_norm=grad_clip_norm,
            seed=seed,
        )
        self.controller = controller
        self.hidden_size = hidden_size
        self.controller_learning_rate = controller_learning_rate
        self.controller_steps = controller_steps
        self.controller_aggregate = controller_aggregate
        self.entropy_weight = entropy_weight
        self.baseline_decay = baseline_decay
        self.num_candidates = num_candidates
        self.eval_images = eval_images
        label = self._label
        check_choice(label, "controller", controller, ("lstm", "categorical"))
        check_int(label, "hidden_size", hidden_size, low=1, high=4096)
        check_float(label, "controller_learning_rate", controller_learning_rate, 0.0, 10.0, low_open=True)
        check_int(label, "controller_steps", controller_steps, low=0, high=1_000_000)
        check_int(label, "controller_aggregate", controller_aggregate, low=1, high=1_000_000)
        check_float(label, "entropy_weight", entropy_weight, 0.0, 10.0)
        check_float(label, "baseline_decay", baseline_decay, 0.0, 1.0)
        check_int(label, "num_candidates", num_candidates, low=1, high=10_000_000)
        check_int(label, "eval_images", eval_images, low=1, high=10_000_000)

    def search(self, task: OneShotTask, budget: OneShotBudget) -> Architecture:
        from nasbench.strategies.oneshot_sampling import search_enas

        return search_enas(self, task, budget)


#: Intended registry names of the one-shot strategies.
ONE_SHOT_STRATEGIES: dict[str, type[OneShotStrategy]] = {
    "darts-v1": DARTS,
    "darts-v2": DARTSSecondOrder,
    "gdas": GDAS,
    "rsps": RSPS,
    "spos": SPOS,
    "enas": ENAS,
}

"""One-shot search strategies on a weight-sharing supernet: DARTS (first and second order),
GDAS, RSPS, SPOS and ENAS.

Every strategy trains a :class:`~nasbench.nets.supernet.Supernet` of the task's protocol on the
weights half of the protocol's training split and chooses its architecture with the other
half (:func:`~nasbench.search.oneshot.split_search_data`). Shared defaults, from DARTS (Liu et al.,
2019): SGD with learning rate 0.025 annealed per epoch by a cosine to 0.001, momentum 0.9,
weight decay 3e-4, gradient norm clipped at 5, batches of 64; architecture parameters by
Adam with learning rate 3e-4, betas (0.5, 0.999), weight decay 1e-3. The papers search
for 50 (DARTS) to 310 (ENAS, as NAS-Bench-201 runs it) epochs on CIFAR-10; ``epochs`` is a
hyperparameter whose defaults here are scaled down for the small CPU protocols, keeping
the methods' ratios (path-sampling methods get about five times DARTS's epochs, as in
NAS-Bench-201's runs).

The registry names are in :data:`ONE_SHOT_STRATEGIES`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nasbench.core.errors import ConfigError
from nasbench.core.space import Architecture
from nasbench.nets.supernet import ArchitectureWeightsError, SearchDivergedError, Supernet, evaluate_path
from nasbench.search.oneshot import (
    OneShotBudget,
    OneShotStrategy,
    OneShotTask,
    SearchSession,
    cosine_learning_rate,
    train_uniform_paths,
)
from nasbench.search.strategy import check_choice, check_float, check_int

__all__ = [
    "DARTS",
    "ENAS",
    "GDAS",
    "ONE_SHOT_STRATEGIES",
    "RSPS",
    "SPOS",
    "DARTSSecondOrder",
    "darts_hessian_vector_product",
    "darts_unrolled_gradient",
    "gumbel_hard_sample",
]

#: DARTS / GDAS architecture optimiser: Adam betas (Liu et al., 2019).
ARCH_BETAS = (0.5, 0.999)
#: ENAS controller: Adam betas and eps, tanh constant and temperature of its logits
#: (NAS-Bench-201's ENAS configuration, after Pham et al., 2018).
CONTROLLER_BETAS = (0.0, 0.999)
CONTROLLER_EPS = 1e-3
CONTROLLER_TANH_CONSTANT = 2.5
CONTROLLER_TEMPERATURE = 5.0
CONTROLLER_GRAD_CLIP = 5.0
#: Finite-difference step of DARTS's second-order approximation: epsilon = 0.01 / ||v||.
HVP_STEP = 0.01


class _SupernetStrategy(OneShotStrategy):
    """Hyperparameters and helpers every supernet strategy shares."""

    default_epochs: ClassVar[int] = 10

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

    def _weight_optimizer(self, supernet: Supernet) -> torch.optim.SGD:
        return torch.optim.SGD(
            supernet.weight_parameters(),
            lr=self.learning_rate,
            momentum=self.momentum,
            weight_decay=self.weight_decay,
        )

    def _set_learning_rate(
        self, optimizer: torch.optim.Optimizer, session: SearchSession, epoch: int
    ) -> float:
        lr = cosine_learning_rate(epoch, session.planned_epochs, self.learning_rate, self.learning_rate_min)
        for group in optimizer.param_groups:
            group["lr"] = lr
        return lr

    def _weight_step(
        self,
        supernet: Supernet,
        weights: list[nn.Parameter],
        optimizer: torch.optim.Optimizer,
        logits: torch.Tensor,
        targets: torch.Tensor,
    ) -> tuple[float, int]:
        """One SGD step on the cross-entropy of ``logits``; (summed loss, correct)."""
        loss = F.cross_entropy(logits, targets)
        _check_loss(supernet, loss, self._label)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(weights, self.grad_clip_norm)
        optimizer.step()
        with torch.no_grad():
            return float(loss.detach()) * targets.shape[0], int((logits.argmax(1) == targets).sum())

    def _eval_batch(self, session: SearchSession, images: int) -> tuple[torch.Tensor, torch.Tensor]:
        """A fixed batch of the architecture half (drawn from the session's generator)."""
        data = session.data
        order = torch.randperm(data.arch_x.shape[0], generator=session.generator)[:images]
        return data.arch_x[order], data.arch_y[order]


def _check_loss(supernet: Supernet, loss: torch.Tensor, label: str) -> None:
    if not bool(torch.isfinite(loss)):
        supernet.check_architecture_weights()  # the dedicated error when alpha caused it
        raise SearchDivergedError(f"{label}: the supernet's training loss became {loss.item()}")


def _arch_optimizer(supernet: Supernet, learning_rate: float, weight_decay: float) -> torch.optim.Adam:
    return torch.optim.Adam([supernet.alpha], lr=learning_rate, betas=ARCH_BETAS, weight_decay=weight_decay)


# --------------------------------------------------------------------- DARTS
def darts_hessian_vector_product(
    supernet: Supernet,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    vector: Sequence[torch.Tensor],
    step: float = HVP_STEP,
) -> torch.Tensor:
    """DARTS's finite-difference approximation of ``d^2 L_train / (d alpha d w) . vector``:
    ``(grad_alpha L(w + eps v) - grad_alpha L(w - eps v)) / (2 eps)``, ``eps = step / ||v||``
    (Liu et al., 2019, eq. 8). ``vector`` is aligned with :meth:`Supernet.weight_parameters`;
    the weights are restored exactly afterwards."""
    weights = supernet.weight_parameters()
    if len(vector) != len(weights):
        raise ConfigError(f"vector has {len(vector)} tensors, the supernet {len(weights)} weights")
    norm = torch.sqrt(sum((v.detach().double() ** 2).sum() for v in vector))
    if float(norm) == 0.0:
        return torch.zeros_like(supernet.alpha)
    eps = step / float(norm)
    saved = [w.detach().clone() for w in weights]
    gradients = []
    try:
        for sign in (1.0, -1.0):
            with torch.no_grad():
                for w, w0, v in zip(weights, saved, vector, strict=True):
                    w.copy_(w0 + sign * eps * v)
            loss = F.cross_entropy(supernet(inputs), targets)
            gradients.append(torch.autograd.grad(loss, [supernet.alpha])[0])
    finally:
        with torch.no_grad():
            for w, w0 in zip(weights, saved, strict=True):
                w.copy_(w0)
    return (gradients[0] - gradients[1]) / (2.0 * eps)


def darts_unrolled_gradient(
    supernet: Supernet,
    optimizer: torch.optim.SGD,
    train_batch: tuple[torch.Tensor, torch.Tensor],
    val_batch: tuple[torch.Tensor, torch.Tensor],
    learning_rate: float,
    momentum: float,
    weight_decay: float,
    step: float = HVP_STEP,
) -> torch.Tensor:
    """Second-order DARTS's architecture gradient (Liu et al., 2019, eqs. 6-8):
    ``grad_alpha L_val(w', alpha) - xi * d^2 L_train / (d alpha d w) . grad_w' L_val(w', alpha)``
    with the virtual step ``w' = w - xi (momentum buffer * momentum + grad_w L_train + wd w)``
    and ``xi`` the weights' current learning rate. The weights are restored afterwards."""
    weights = supernet.weight_parameters()
    train_x, train_y = train_batch
    val_x, val_y = val_batch
    loss = F.cross_entropy(supernet(train_x), train_y)
    grads = torch.autograd.grad(loss, weights, allow_unused=True)
    saved = [w.detach().clone() for w in weights]
    try:
        with torch.no_grad():
            for w, w0, g in zip(weights, saved, grads, strict=True):
                buffer = optimizer.state.get(w, {}).get("momentum_buffer")
                moment = buffer * momentum if buffer is not None else torch.zeros_like(w0)
                direction = moment + weight_decay * w0 + (g if g is not None else 0.0)
                w.copy_(w0 - learning_rate * direction)
        val_loss = F.cross_entropy(supernet(val_x), val_y)
        found = torch.autograd.grad(val_loss, [supernet.alpha, *weights], allow_unused=True)
    finally:
        with torch.no_grad():
            for w, w0 in zip(weights, saved, strict=True):
                w.copy_(w0)
    alpha_gradient = found[0]
    vector = [g if g is not None else torch.zeros_like(w) for g, w in zip(found[1:], weights, strict=True)]
    hessian = darts_hessian_vector_product(supernet, train_x, train_y, vector, step)
    return alpha_gradient - learning_rate * hessian


class DARTS(_SupernetStrategy):
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
        session = self._begin(task, budget, self.epochs)
        supernet = session.supernet()
        weights = supernet.weight_parameters()
        optimizer = self._weight_optimizer(supernet)
        arch_optimizer = _arch_optimizer(supernet, self.arch_learning_rate, self.arch_weight_decay)
        for epoch in session.epochs():
            lr = self._set_learning_rate(optimizer, session, epoch)
            supernet.train()
            loss_sum, correct, count = 0.0, 0, 0
            for train_x, train_y, val_x, val_y in session.paired_batches(self.batch_size):
                if self.unrolled:
                    gradient = darts_unrolled_gradient(
                        supernet,
                        optimizer,
                        (train_x, train_y),
                        (val_x, val_y),
                        lr,
                        self.momentum,
                        self.weight_decay,
                    )
                else:
                    val_loss = F.cross_entropy(supernet(val_x), val_y)
                    gradient = torch.autograd.grad(val_loss, [supernet.alpha])[0]
                supernet.alpha.grad = gradient
                arch_optimizer.step()
                arch_weights = supernet.architecture_weights().detach()
                logits = supernet.forward_relaxed(train_x, arch_weights)
                batch_loss, batch_correct = self._weight_step(supernet, weights, optimizer, logits, train_y)
                loss_sum, correct, count = (
                    loss_sum + batch_loss,
                    correct + batch_correct,
                    count + len(train_y),
                )
            session.record(supernet.probabilities(), loss_sum / count, 100.0 * correct / count)
        return supernet.derive()


class DARTSSecondOrder(DARTS):
    """DARTS, second order (Liu et al., 2019, "DARTS-V2" in NAS-Bench-201).

    As :class:`DARTS`, but the architecture gradient is taken at the weights after one
    virtual SGD step (momentum and weight decay included, at the current learning rate),
    and corrected by the finite-difference Hessian-vector product with
    ``epsilon = 0.01 / ||grad_w' L_val||`` (:func:`darts_unrolled_gradient`).
    """

    name = "darts-v2"
    unrolled: ClassVar[bool] = True


# --------------------------------------------------------------------- GDAS
def gumbel_hard_sample(
    alpha: torch.Tensor, tau: float, generator: torch.Generator
) -> tuple[torch.Tensor, list[int]]:
    """GDAS's sample: per edge, the argmax of softmax((log_softmax(alpha) + Gumbel noise) / tau)
    as a hard one-hot with straight-through gradient (``one_hot - p.detach() + p``), and the
    sampled op positions. Draws again when the noise is infinite, as Dong & Yang do."""
    if not bool(torch.isfinite(alpha.detach()).all()):
        raise ArchitectureWeightsError("the architecture weights (alpha) became non-finite")
    for _ in range(100):
        gumbels = -torch.empty_like(alpha).exponential_(generator=generator).log()
        probabilities = F.softmax((alpha.log_softmax(dim=-1) + gumbels) / tau, dim=-1)
        if bool(torch.isfinite(gumbels).all()) and bool(torch.isfinite(probabilities).all()):
            index = probabilities.detach().argmax(dim=-1)
            one_hot = torch.zeros_like(probabilities).scatter_(-1, index[:, None], 1.0)
            return one_hot - probabilities.detach() + probabilities, index.tolist()
    raise ArchitectureWeightsError("Gumbel-softmax sampling kept producing non-finite values")


class GDAS(_SupernetStrategy):
    """GDAS: gradient-based search with a differentiable sampler (Dong & Yang, 2019).

    Every step samples one op per edge by hard Gumbel-softmax (:func:`gumbel_hard_sample`)
    and runs only those ops; the straight-through weights carry the gradient to alpha. Each
    step first trains the weights on a sample (weights half), then alpha on a fresh sample
    (architecture half), as NAS-Bench-201's implementation does. The temperature ``tau``
    falls linearly from ``tau_max`` = 10 to ``tau_min`` = 0.1 over the planned epochs.
    Result: the op of largest alpha per edge. NAS-Bench-201 runs 240 epochs; scaled here to
    ``epochs=50``. Other defaults: DARTS's (module docstring).
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
        session = self._begin(task, budget, self.epochs)
        supernet = session.supernet()
        weights = supernet.weight_parameters()
        optimizer = self._weight_optimizer(supernet)
        arch_optimizer = _arch_optimizer(supernet, self.arch_learning_rate, self.arch_weight_decay)
        generator = session.generator
        for epoch in session.epochs():
            self._set_learning_rate(optimizer, session, epoch)
            tau = self.temperature(epoch, session.planned_epochs)
            supernet.train()
            loss_sum, correct, count = 0.0, 0, 0
            for train_x, train_y, val_x, val_y in session.paired_batches(self.batch_size):
                hard, index = gumbel_hard_sample(supernet.alpha.detach(), tau, generator)
                logits = supernet.forward_hard(train_x, hard, index)
                batch_loss, batch_correct = self._weight_step(supernet, weights, optimizer, logits, train_y)
                loss_sum, correct, count = (
                    loss_sum + batch_loss,
                    correct + batch_correct,
                    count + len(train_y),
                )
                hard, index = gumbel_hard_sample(supernet.alpha, tau, generator)
                val_loss = F.cross_entropy(supernet.forward_hard(val_x, hard, index), val_y)
                supernet.alpha.grad = torch.autograd.grad(val_loss, [supernet.alpha])[0]
                arch_optimizer.step()
            session.record(supernet.probabilities(), loss_sum / count, 100.0 * correct / count)
        return supernet.derive()


# --------------------------------------------------------------------- RSPS and SPOS
class _PathSamplingStrategy(_SupernetStrategy):
    """Uniform single-path supernet training (weights half), then a selection on the
    architecture half with inherited weights."""

    def _train(self, session: SearchSession) -> Supernet:
        supernet = session.supernet()
        train_uniform_paths(
            session,
            supernet,
            session.data.weights_x,
            session.data.weights_y,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            learning_rate_min=self.learning_rate_min,
            momentum=self.momentum,
            weight_decay=self.weight_decay,
            grad_clip_norm=self.grad_clip_norm,
        )
        return supernet


class RSPS(_PathSamplingStrategy):
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
        session = self._begin(task, budget, self.epochs)
        supernet = self._train(session)
        space = task.space
        inputs, targets = self._eval_batch(session, self.eval_images)
        candidates = session.rng.integers(0, space.num_ops, size=(self.num_candidates, space.num_edges))
        accuracy = np.array([evaluate_path(supernet, ops, inputs, targets) for ops in candidates])
        best = int(np.argmax(accuracy))
        self.info_["candidate_indices"] = space.indices_from_ops(candidates).tolist()
        self.info_["candidate_accuracy"] = accuracy.tolist()
        return Architecture(tuple(space.ops[k] for k in candidates[best]))


class SPOS(_PathSamplingStrategy):
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
        session = self._begin(task, budget, self.epochs)
        supernet = self._train(session)
        space = task.space
        rng = session.rng
        inputs, targets = self._eval_batch(session, self.eval_images)
        fitness: dict[int, float] = {}  # space index -> accuracy, in evaluation order

        def evaluate(population: np.ndarray) -> None:
            for ops in population:
                index = int(space.indices_from_ops(ops[None, :])[0])
                if index not in fitness:
                    fitness[index] = evaluate_path(supernet, ops, inputs, targets)

        def fresh(candidates: list[np.ndarray], ops: np.ndarray) -> None:
            index = int(space.indices_from_ops(ops[None, :])[0])
            known = {int(space.indices_from_ops(c[None, :])[0]) for c in candidates}
            if index not in fitness and index not in known:
                candidates.append(ops)

        population = rng.integers(0, space.num_ops, size=(self.population_size, space.num_edges))
        evaluate(population)
        half = self.population_size // 2
        for _ in range(self.iterations):
            ranked = sorted(fitness, key=lambda i: -fitness[i])[: self.parents]
            parents = space.ops_array(np.asarray(ranked, dtype=np.int64)).astype(np.int64)
            children: list[np.ndarray] = []
            for _attempt in range(10 * half):
                if len(children) >= half:
                    break
                parent = parents[rng.integers(len(parents))]
                redraw = rng.random(space.num_edges) < self.mutation_probability
                fresh(children, np.where(redraw, rng.integers(0, space.num_ops, space.num_edges), parent))
            for _attempt in range(10 * half):
                if len(children) >= 2 * half:
                    break
                first, second = parents[rng.integers(len(parents))], parents[rng.integers(len(parents))]
                fresh(children, np.where(rng.random(space.num_edges) < 0.5, first, second))
            while len(children) < self.population_size:
                children.append(rng.integers(0, space.num_ops, space.num_edges))
            evaluate(np.stack(children))
        best = max(fitness, key=lambda i: fitness[i])  # first evaluated on ties
        self.info_["evaluated_indices"] = list(fitness)
        self.info_["evaluated_accuracy"] = list(fitness.values())
        return space.from_index(best)


# --------------------------------------------------------------------- ENAS
class _Controller(nn.Module):
    """ENAS's controller: an LSTM choosing the edges' ops in turn (each choice embedded
    and fed back), logits squashed to ``2.5 * tanh(logit / 5)``, or one independent
    softmax per edge (``categorical``)."""

    def __init__(self, policy: str, num_edges: int, num_ops: int, hidden_size: int) -> None:
        super().__init__()
        self.policy = policy
        self.num_edges = num_edges
        if policy == "lstm":
            self.start = nn.Parameter(torch.empty(1, 1, hidden_size))
            self.lstm = nn.LSTM(hidden_size, hidden_size, num_layers=2)
            self.embedding = nn.Embedding(num_ops, hidden_size)
            self.head = nn.Linear(hidden_size, num_ops)
            for parameter in self.parameters():
                nn.init.uniform_(parameter, -0.1, 0.1)
        else:
            self.logits = nn.Parameter(torch.zeros(num_edges, num_ops))

    def _step_logits(self, state: Any, previous: int | None) -> tuple[torch.Tensor, Any]:
        inputs = self.start if previous is None else self.embedding(torch.tensor([[previous]]))
        output, state = self.lstm(inputs, state)
        raw = self.head(output[-1, 0]) / CONTROLLER_TEMPERATURE
        return CONTROLLER_TANH_CONSTANT * torch.tanh(raw), state

    def sample(self, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
        """(summed log-probability, summed entropy, op positions) of one sample."""
        log_prob = torch.zeros(())
        entropy = torch.zeros(())
        ops: list[int] = []
        state: Any = None
        for edge in range(self.num_edges):
            if self.policy == "lstm":
                logits, state = self._step_logits(state, ops[-1] if ops else None)
            else:
                logits = self.logits[edge]
            log_p = F.log_softmax(logits, dim=-1)
            op = int(torch.multinomial(log_p.detach().exp(), 1, generator=generator))
            log_prob = log_prob + log_p[op]
            entropy = entropy - (log_p.exp() * log_p).sum()
            ops.append(op)
        return log_prob, entropy, ops

    def probabilities(self) -> np.ndarray:
        """float64 [num_edges, num_ops]: per-edge op probabilities (LSTM: along its most
        likely sequence)."""
        rows = []
        with torch.no_grad():
            state: Any = None
            previous: int | None = None
            for edge in range(self.num_edges):
                if self.policy == "lstm":
                    logits, state = self._step_logits(state, previous)
                else:
                    logits = self.logits[edge]
                row = F.softmax(logits.double(), dim=-1)
                rows.append(row.numpy())
                previous = int(row.argmax())
        return np.stack(rows)


class ENAS(_SupernetStrategy):
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
        session = self._begin(task, budget, self.epochs)
        space = task.space
        supernet = session.supernet()
        weights = supernet.weight_parameters()
        optimizer = self._weight_optimizer(supernet)
        generator = session.generator
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(session.rng.integers(2**63 - 1)))
            controller = _Controller(self.controller, space.num_edges, space.num_ops, self.hidden_size)
        controller_optimizer = torch.optim.Adam(
            controller.parameters(),
            lr=self.controller_learning_rate,
            betas=CONTROLLER_BETAS,
            eps=CONTROLLER_EPS,
        )
        baseline: float | None = None
        data = session.data
        rewards: list[float] = []
        for epoch in session.epochs():
            self._set_learning_rate(optimizer, session, epoch)
            supernet.train()
            loss_sum, correct, count = 0.0, 0, 0
            for inputs, targets in session.batches(data.weights_x, data.weights_y, self.batch_size):
                with torch.no_grad():
                    ops = controller.sample(generator)[2]
                logits = supernet.forward_path(inputs, ops)
                batch_loss, batch_correct = self._weight_step(supernet, weights, optimizer, logits, targets)
                loss_sum, correct, count = (
                    loss_sum + batch_loss,
                    correct + batch_correct,
                    count + len(targets),
                )
            supernet.eval()
            controller_optimizer.zero_grad(set_to_none=True)
            reward_batches = self._cycle(session)
            for step in range(self.controller_steps * self.controller_aggregate):
                session.tick()
                val_x, val_y = next(reward_batches)
                log_prob, entropy, ops = controller.sample(generator)
                with torch.no_grad():
                    accuracy = float((supernet.forward_path(val_x, ops).argmax(1) == val_y).double().mean())
                reward = accuracy + self.entropy_weight * float(entropy.detach())
                baseline = (
                    reward if baseline is None else baseline - (1 - self.baseline_decay) * (baseline - reward)
                )
                rewards.append(reward)
                loss = -log_prob * (reward - baseline) / self.controller_aggregate
                loss.backward()
                if (step + 1) % self.controller_aggregate == 0:
                    torch.nn.utils.clip_grad_norm_(controller.parameters(), CONTROLLER_GRAD_CLIP)
                    controller_optimizer.step()
                    controller_optimizer.zero_grad(set_to_none=True)
            session.record(controller.probabilities(), loss_sum / count, 100.0 * correct / count)
        inputs, targets = self._eval_batch(session, self.eval_images)
        candidates: list[list[int]] = []
        with torch.no_grad():
            for _ in range(self.num_candidates):
                candidates.append(controller.sample(generator)[2])
        accuracy = np.array([evaluate_path(supernet, ops, inputs, targets) for ops in candidates])
        best = int(np.argmax(accuracy))
        self.info_["candidate_indices"] = space.indices_from_ops(np.asarray(candidates)).tolist()
        self.info_["candidate_accuracy"] = accuracy.tolist()
        self.info_["mean_reward"] = float(np.mean(rewards)) if rewards else None
        return Architecture(tuple(space.ops[k] for k in candidates[best]))

    def _cycle(self, session: SearchSession) -> Any:
        """Endless shuffled batches of the architecture half."""
        data = session.data
        while True:
            order = torch.randperm(data.arch_x.shape[0], generator=session.generator)
            for start in range(0, order.shape[0], self.batch_size):
                index = order[start : start + self.batch_size]
                yield data.arch_x[index], data.arch_y[index]


#: Intended registry names of the one-shot strategies.
ONE_SHOT_STRATEGIES: dict[str, type[OneShotStrategy]] = {
    "darts-v1": DARTS,
    "darts-v2": DARTSSecondOrder,
    "gdas": GDAS,
    "rsps": RSPS,
    "spos": SPOS,
    "enas": ENAS,
}

"""Gradient-based one-shot search: DARTS (first and second order) and GDAS.

The searches of :class:`~nasbench.strategies.oneshot.DARTS`,
:class:`~nasbench.strategies.oneshot.DARTSSecondOrder` and
:class:`~nasbench.strategies.oneshot.GDAS` (whose classes declare the hyperparameters),
with DARTS's second-order architecture gradient and GDAS's Gumbel-softmax sampler.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from nasbench.strategies.oneshot_steps import set_learning_rate, weight_optimizer, weight_step

from nasbench.core.errors import ConfigError
from nasbench.core.space import Architecture
from nasbench.nets.supernet import ArchitectureWeightsError, Supernet
from nasbench.nets.supernet_training import OneShotTask
from nasbench.search import OneShotBudget

if TYPE_CHECKING:
    from nasbench.strategies.oneshot import DARTS, GDAS

__all__ = [
    "ARCH_BETAS",
    "HVP_STEP",
    "darts_hessian_vector_product",
    "darts_unrolled_gradient",
    "gumbel_hard_sample",
    "search_darts",
    "search_gdas",
]

#: DARTS / GDAS architecture optimiser: Adam betas (Liu et al., 2019).
ARCH_BETAS = (0.5, 0.999)
#: Finite-difference step of DARTS's second-order approximation: epsilon = 0.01 / ||v||.
HVP_STEP = 0.01


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


def search_darts(strategy: DARTS, task: OneShotTask, budget: OneShotBudget) -> Architecture:
    """:meth:`DARTS.search <nasbench.strategies.oneshot.DARTS.search>` (second order when
    the strategy's class says ``unrolled``)."""
    session = strategy._begin(task, budget, strategy.epochs)
    supernet = session.supernet()
    weights = supernet.weight_parameters()
    optimizer = weight_optimizer(strategy, supernet)
    arch_optimizer = _arch_optimizer(supernet, strategy.arch_learning_rate, strategy.arch_weight_decay)
    for epoch in session.epochs():
        lr = set_learning_rate(strategy, optimizer, session, epoch)
        supernet.train()
        loss_sum, correct, count = 0.0, 0, 0
        for train_x, train_y, val_x, val_y in session.paired_batches(strategy.batch_size):
            if strategy.unrolled:
                gradient = darts_unrolled_gradient(
                    supernet,
                    optimizer,
                    (train_x, train_y),
                    (val_x, val_y),
                    lr,
                    strategy.momentum,
                    strategy.weight_decay,
                )
            else:
                val_loss = F.cross_entropy(supernet(val_x), val_y)
                gradient = torch.autograd.grad(val_loss, [supernet.alpha])[0]
            supernet.alpha.grad = gradient
            arch_optimizer.step()
            arch_weights = supernet.architecture_weights().detach()
            logits = supernet.forward_relaxed(train_x, arch_weights)
            batch_loss, batch_correct = weight_step(strategy, supernet, weights, optimizer, logits, train_y)
            loss_sum, correct, count = (
                loss_sum + batch_loss,
                correct + batch_correct,
                count + len(train_y),
            )
        session.record(supernet.probabilities(), loss_sum / count, 100.0 * correct / count)
    return supernet.derive()


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


def search_gdas(strategy: GDAS, task: OneShotTask, budget: OneShotBudget) -> Architecture:
    """:meth:`GDAS.search <nasbench.strategies.oneshot.GDAS.search>`."""
    session = strategy._begin(task, budget, strategy.epochs)
    supernet = session.supernet()
    weights = supernet.weight_parameters()
    optimizer = weight_optimizer(strategy, supernet)
    arch_optimizer = _arch_optimizer(supernet, strategy.arch_learning_rate, strategy.arch_weight_decay)
    generator = session.generator
    for epoch in session.epochs():
        set_learning_rate(strategy, optimizer, session, epoch)
        tau = strategy.temperature(epoch, session.planned_epochs)
        supernet.train()
        loss_sum, correct, count = 0.0, 0, 0
        for train_x, train_y, val_x, val_y in session.paired_batches(strategy.batch_size):
            hard, index = gumbel_hard_sample(supernet.alpha.detach(), tau, generator)
            logits = supernet.forward_hard(train_x, hard, index)
            batch_loss, batch_correct = weight_step(strategy, supernet, weights, optimizer, logits, train_y)
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

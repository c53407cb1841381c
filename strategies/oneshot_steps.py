"""Training steps the supernet strategies share: the weights' SGD, its per-epoch learning
rate, one weight step, and the check that the loss stayed finite."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from nasbench.core.validation import owner_label
from nasbench.nets.supernet import SearchDivergedError, Supernet
from nasbench.nets.supernet_training import SearchSession, cosine_learning_rate

if TYPE_CHECKING:
    from nasbench.strategies.oneshot import SupernetStrategy

__all__ = ["check_loss", "set_learning_rate", "weight_optimizer", "weight_step"]


def weight_optimizer(strategy: SupernetStrategy, supernet: Supernet) -> torch.optim.SGD:
    """SGD over the supernet's weights with the strategy's learning rate, momentum and decay."""
    return torch.optim.SGD(
        supernet.weight_parameters(),
        lr=strategy.learning_rate,
        momentum=strategy.momentum,
        weight_decay=strategy.weight_decay,
    )


def set_learning_rate(
    strategy: SupernetStrategy, optimizer: torch.optim.Optimizer, session: SearchSession, epoch: int
) -> float:
    """Set (and return) ``epoch``'s cosine learning rate over the session's planned epochs."""
    lr = cosine_learning_rate(
        epoch, session.planned_epochs, strategy.learning_rate, strategy.learning_rate_min
    )
    for group in optimizer.param_groups:
        group["lr"] = lr
    return lr


def weight_step(
    strategy: SupernetStrategy,
    supernet: Supernet,
    weights: list[nn.Parameter],
    optimizer: torch.optim.Optimizer,
    logits: torch.Tensor,
    targets: torch.Tensor,
) -> tuple[float, int]:
    """One SGD step on the cross-entropy of ``logits`` (gradient norm clipped); returns
    (summed loss, correct predictions) of the batch."""
    loss = F.cross_entropy(logits, targets)
    check_loss(supernet, loss, owner_label(strategy))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(weights, strategy.grad_clip_norm)
    optimizer.step()
    with torch.no_grad():
        return float(loss.detach()) * targets.shape[0], int((logits.argmax(1) == targets).sum())


def check_loss(supernet: Supernet, loss: torch.Tensor, label: str) -> None:
    """A non-finite loss ends the search: the dedicated error when alpha caused it,
    :class:`~nasbench.nets.supernet.SearchDivergedError` otherwise."""
    if not bool(torch.isfinite(loss)):
        supernet.check_architecture_weights()
        raise SearchDivergedError(f"{label}: the supernet's training loss became {loss.item()}")

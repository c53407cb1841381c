"""Training a weight-sharing supernet on a protocol's data: the task, the session, the halves.

What a one-shot search (:mod:`nasbench.search.oneshot`) and the weight-sharing estimator
(the ``weight-sharing`` surrogate) both need to train a
:class:`~nasbench.nets.supernet.Supernet`:

- :class:`OneShotTask`: the space, the protocol (data and network skeleton), the
  protocol's data splits and the seed every random choice derives from;
- :func:`split_search_data`: the protocol's training split halved (a fixed permutation
  seeded by the protocol's ``split_seed``): one half trains the supernet's weights, the
  other the architecture (as DARTS does with CIFAR-10's training set). The protocol's
  validation and test splits are never touched, so a table's metrics stay held out;
- :class:`SearchSession`: one training's CPU clock and limits (process CPU seconds,
  :func:`time.process_time`, the unit the tables use for training; and epochs), random
  generators, data halves and per-epoch records;
- :func:`train_uniform_paths` (uniform single-path training) and
  :func:`cosine_learning_rate` (DARTS's per-epoch schedule).

Imports only :mod:`nasbench.core` and the nets layer.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nasbench.core.errors import ConfigError
from nasbench.core.space import CellSpace, get_space
from nasbench.core.validation import check_int
from nasbench.nets.datasets import DataSplits
from nasbench.nets.supernet import (
    ArchitectureWeightsError,
    SearchDivergedError,
    Supernet,
    check_table_compatible,
)
from nasbench.nets.train import Protocol, get_protocol

__all__ = [
    "OneShotTask",
    "SearchData",
    "SearchSession",
    "cosine_learning_rate",
    "split_search_data",
    "train_uniform_paths",
]


@dataclass(frozen=True, eq=False)
class OneShotTask:
    """What a one-shot search gets: the space, the protocol (data and network skeleton),
    the protocol's data splits and the seed every random choice derives from."""

    space: CellSpace
    protocol: Protocol
    data: DataSplits = field(repr=False)
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.space, CellSpace):
            raise ConfigError(f"task space must be a CellSpace, got {type(self.space).__name__}")
        if not isinstance(self.protocol, Protocol):
            raise ConfigError(f"task protocol must be a Protocol, got {type(self.protocol).__name__}")
        if not isinstance(self.data, DataSplits):
            raise ConfigError(f"task data must be DataSplits, got {type(self.data).__name__}")
        check_int("one-shot task", "seed", self.seed, low=0)
        config = self.protocol.model_config()
        if (self.data.resolution, self.data.input_channels) != (config.resolution, config.input_channels):
            raise ConfigError(
                f"task data are {self.data.input_channels}x{self.data.resolution}px, the protocol "
                f"trains on {config.input_channels}x{config.resolution}px"
            )
        if self.data.train_x.shape[0] < 2:
            raise ConfigError("the protocol's training split needs at least 2 images to be halved")

    @classmethod
    def from_protocol(
        cls,
        protocol: str | Protocol,
        *,
        space: CellSpace | str | None = None,
        seed: int = 0,
        data_dir: str | os.PathLike[str] | None = None,
    ) -> OneShotTask:
        """A task on a protocol (preset name or Protocol), its data loaded by the protocol."""
        recipe = get_protocol(protocol)
        return cls(get_space(space), recipe, recipe.load_data(data_dir), seed)

    @classmethod
    def from_table(
        cls, table: Any, *, seed: int = 0, data_dir: str | os.PathLike[str] | None = None
    ) -> OneShotTask:
        """A task on the space and protocol of ``table``: anything with a ``space`` and a
        ``protocol`` dict (a :class:`~nasbench.core.table.Table`, a benchmark's
        :class:`~nasbench.bench.benchmark.Task`). A protocol that is not a
        :class:`~nasbench.nets.train.Protocol` is a ConfigError."""
        try:
            recipe = Protocol.from_dict(dict(table.protocol))
        except (ConfigError, TypeError, ValueError) as exc:
            raise ConfigError(f"the table's protocol cannot be trained by a supernet ({exc})") from None
        return cls(table.space, recipe, recipe.load_data(data_dir), seed)

    def check_table(self, table: Any) -> None:
        """ConfigError unless this task searches ``table``'s space and protocol."""
        check_table_compatible(table, self.space, self.protocol)


@dataclass(frozen=True, eq=False)
class SearchData:
    """The protocol's training split halved: supernet weights vs architecture."""

    weights_x: torch.Tensor = field(repr=False)
    weights_y: torch.Tensor = field(repr=False)
    arch_x: torch.Tensor = field(repr=False)
    arch_y: torch.Tensor = field(repr=False)


def split_search_data(
    data: DataSplits, split_seed: int = 0, layout: torch.memory_format = torch.contiguous_format
) -> SearchData:
    """Halve the training split by a permutation seeded with ``split_seed``: one half
    trains the weights (the larger one for an odd count), the other the architecture;
    each keeps the split's order, images in memory ``layout``."""
    count = int(data.train_x.shape[0])
    order = np.random.default_rng(split_seed).permutation(count)
    half = count // 2
    weights = torch.from_numpy(np.sort(order[half:]))
    arch = torch.from_numpy(np.sort(order[:half]))
    return SearchData(
        data.train_x[weights].contiguous(memory_format=layout),
        data.train_y[weights],
        data.train_x[arch].contiguous(memory_format=layout),
        data.train_y[arch],
    )


def cosine_learning_rate(epoch: int, epochs: int, maximum: float, minimum: float) -> float:
    """DARTS's per-epoch cosine schedule: ``maximum`` at epoch 0 down towards ``minimum``."""
    return minimum + 0.5 * (maximum - minimum) * (1.0 + math.cos(math.pi * epoch / max(1, epochs)))


class SearchSession:
    """One supernet training's state: CPU clock and limits, random generators, data
    halves and the per-epoch records (architecture distribution, training loss and
    accuracy, CPU seconds).

    ``epochs`` epochs are planned (the length of the learning-rate and temperature
    schedules); ``seconds`` (process CPU seconds, or None) may end training earlier. A
    seconds limit is checked between epochs (an epoch is not started when the mean epoch
    so far would not fit) and during the first epoch, which must fit entirely (a limit
    too small for one epoch is a :class:`~nasbench.core.errors.ConfigError`). ``rng``
    (numpy) and ``generator`` (torch) both derive from ``seed``, as does ``init_seed`` for
    the supernet's initial weights; nothing touches global random state. ``label`` names
    the trainer in messages.
    """

    def __init__(
        self, task: OneShotTask, *, epochs: int, seconds: float | None = None, seed: int, label: str
    ) -> None:
        self.started_seconds = time.process_time()
        self.task = task
        self.seconds = seconds
        self.label = label
        self.planned_epochs = epochs
        self.rng = np.random.default_rng(seed)
        self.generator = torch.Generator().manual_seed(int(self.rng.integers(2**63 - 1)))
        self.init_seed = int(self.rng.integers(2**63 - 1))
        #: Memory layout of images and weights: the protocol's (channels-last made the
        #: relaxed supernet about 1.5x faster on one CPU thread, measured on fmnist-cpu).
        self.layout = torch.channels_last if task.protocol.channels_last else torch.contiguous_format
        self.data = split_search_data(task.data, task.protocol.split_seed, self.layout)
        self.trajectory: list[np.ndarray] = []
        self.train_loss: list[float] = []
        self.train_acc: list[float] = []
        self.epoch_seconds: list[float] = []
        self._epoch = -1

    @property
    def elapsed_seconds(self) -> float:
        """Process CPU seconds since the session started."""
        return time.process_time() - self.started_seconds

    def supernet(self, *, track_running_stats: bool = False) -> Supernet:
        """A freshly initialised supernet for the task (weights from ``init_seed``)."""
        supernet = Supernet.for_protocol(
            self.task.protocol, self.task.space, track_running_stats=track_running_stats, seed=self.init_seed
        )
        return supernet.to(memory_format=self.layout)

    def epochs(self) -> Iterator[int]:
        """Epoch numbers 0, 1, ... while the limits allow; call :meth:`record` in each.

        With a seconds limit, the number of planned epochs is cut after the first epoch
        to what the limit fits at that epoch's cost, and no epoch starts that the mean
        epoch would not fit.
        """
        epoch = 0
        while epoch < self.planned_epochs:
            seconds = self.seconds
            if epoch > 0 and seconds is not None:
                per_epoch = float(np.mean(self.epoch_seconds))
                if epoch == 1:
                    fits = int(seconds // per_epoch) if per_epoch > 0 else self.planned_epochs
                    self.planned_epochs = max(1, min(self.planned_epochs, fits))
                    if epoch >= self.planned_epochs:
                        break
                if self.elapsed_seconds + per_epoch > seconds:
                    break
            self._epoch = epoch
            started = time.process_time()
            yield epoch
            self.epoch_seconds.append(time.process_time() - started)
            if len(self.trajectory) != epoch + 1:
                raise RuntimeError(f"{self.label}: epoch {epoch} ended without SearchSession.record()")
            epoch += 1

    def tick(self) -> None:
        """Call once per step: fails if the first epoch outruns a seconds limit."""
        seconds = self.seconds
        if self._epoch == 0 and seconds is not None and self.elapsed_seconds > seconds:
            raise ConfigError(
                f"{self.label}: the budget of {seconds:g} CPU seconds is too small for one epoch "
                f"(over {self.elapsed_seconds:.3g} s spent before the first epoch finished)"
            )

    def batches(
        self, x: torch.Tensor, y: torch.Tensor, batch_size: int
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One shuffled pass over ``x``/``y`` in batches (order from ``generator``), ticking the clock."""
        order = torch.randperm(x.shape[0], generator=self.generator)
        for start in range(0, x.shape[0], batch_size):
            self.tick()
            index = order[start : start + batch_size]
            yield x[index].contiguous(memory_format=self.layout), y[index]

    def paired_batches(
        self, batch_size: int
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]:
        """One pass over the weights half, each batch paired with a batch of the
        architecture half (both shuffled; the architecture half cycles if shorter)."""
        data = self.data
        count = data.weights_x.shape[0]
        order = torch.randperm(count, generator=self.generator)
        arch_order = torch.randperm(data.arch_x.shape[0], generator=self.generator)
        if arch_order.shape[0] < count:
            repeats = -(-count // arch_order.shape[0])
            arch_order = arch_order.repeat(repeats)
        for start in range(0, count, batch_size):
            self.tick()
            index = order[start : start + batch_size]
            arch_index = arch_order[start : start + batch_size]
            yield (
                data.weights_x[index].contiguous(memory_format=self.layout),
                data.weights_y[index],
                data.arch_x[arch_index].contiguous(memory_format=self.layout),
                data.arch_y[arch_index],
            )

    def eval_batch(self, images: int) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch of ``images`` images of the architecture half (drawn from ``generator``),
        fixed for a final selection among candidates."""
        data = self.data
        order = torch.randperm(data.arch_x.shape[0], generator=self.generator)[:images]
        return data.arch_x[order], data.arch_y[order]

    def record(self, probabilities: np.ndarray, train_loss: float, train_acc: float) -> None:
        """Close an epoch: the architecture distribution [num_edges, num_ops] and the
        supernet's running training loss and accuracy (percent) over the epoch."""
        values = np.asarray(probabilities, dtype=np.float64)
        space = self.task.space
        if values.shape != (space.num_edges, space.num_ops):
            raise ConfigError(
                f"{self.label}: architecture distribution has shape {values.shape}, expected "
                f"{(space.num_edges, space.num_ops)}"
            )
        if not np.all(np.isfinite(values)):
            raise ArchitectureWeightsError(f"{self.label}: the architecture weights became non-finite")
        self.trajectory.append(values.copy())
        self.train_loss.append(float(train_loss))
        self.train_acc.append(float(train_acc))

    def trajectory_array(self) -> np.ndarray:
        """float64 [epochs, num_edges, num_ops]: the distributions recorded so far."""
        space = self.task.space
        if not self.trajectory:
            return np.zeros((0, space.num_edges, space.num_ops), dtype=np.float64)
        return np.stack(self.trajectory)


def train_uniform_paths(
    session: SearchSession,
    supernet: Supernet,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    batch_size: int,
    learning_rate: float,
    learning_rate_min: float,
    momentum: float,
    weight_decay: float,
    grad_clip_norm: float | None,
) -> None:
    """Train ``supernet``'s weights by uniform path sampling (one architecture drawn per
    batch, only its ops run) for the session's epochs, with SGD, per-epoch cosine learning
    rate and gradient clipping; records a uniform distribution per epoch."""
    space = session.task.space
    optimizer = torch.optim.SGD(
        supernet.weight_parameters(), lr=learning_rate, momentum=momentum, weight_decay=weight_decay
    )
    uniform = np.full((space.num_edges, space.num_ops), 1.0 / space.num_ops)
    for epoch in session.epochs():
        for group in optimizer.param_groups:
            group["lr"] = cosine_learning_rate(
                epoch, session.planned_epochs, learning_rate, learning_rate_min
            )
        supernet.train()
        loss_sum = torch.zeros((), dtype=torch.float64)
        correct = torch.zeros((), dtype=torch.int64)
        count = 0
        for inputs, targets in session.batches(x, y, batch_size):
            ops = session.rng.integers(0, space.num_ops, size=space.num_edges)
            logits = supernet.forward_path(inputs, ops)
            loss = F.cross_entropy(logits, targets)
            if not torch.isfinite(loss):
                raise SearchDivergedError(f"{session.label}: the supernet's loss became {loss.item()}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if grad_clip_norm is not None:
                torch.nn.utils.clip_grad_norm_(supernet.weight_parameters(), grad_clip_norm)
            optimizer.step()
            with torch.no_grad():
                loss_sum += loss.detach().double() * targets.shape[0]
                correct += (logits.argmax(1) == targets).sum()
            count += int(targets.shape[0])
        session.record(uniform, float(loss_sum) / max(1, count), 100.0 * float(correct) / max(1, count))

"""One-shot (weight-sharing) search: its task, budget, result and strategy base class.

A one-shot strategy trains a :class:`~nasbench.nets.supernet.Supernet` on the same data and
network skeleton as a table's protocol and returns one architecture, which is then looked
up in the table like any other strategy's incumbent. Unlike black-box strategies it is
not charged simulated time: its budget is real compute, in seconds of process CPU time
(:func:`time.process_time`, core-seconds, the unit the tables use for training) and/or
supernet epochs, and its result records the CPU seconds it spent.

The data are the protocol's: the protocol's training split is halved (a fixed permutation
seeded by the protocol's ``split_seed``), one half trains the supernet's weights and the
other the architecture (as DARTS does with CIFAR-10's training set); the protocol's
validation and test splits are never touched, so the table's metrics stay held out.
"""

from __future__ import annotations

import abc
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from nasbench.core.errors import ConfigError
from nasbench.core.registry import signature_defaults
from nasbench.core.space import Architecture, CellSpace, get_space
from nasbench.nets.datasets import DataSplits
from nasbench.nets.supernet import (
    ArchitectureWeightsError,
    SearchDivergedError,
    Supernet,
    check_table_compatible,
)
from nasbench.nets.train import Protocol, get_protocol
from nasbench.search.strategy import check_int, strategy_registry

__all__ = [
    "ONE_SHOT_KIND",
    "OneShotBudget",
    "OneShotResult",
    "OneShotStrategy",
    "OneShotTask",
    "SearchData",
    "SearchSession",
    "cosine_learning_rate",
    "split_search_data",
    "train_uniform_paths",
]

ONE_SHOT_KIND = "one-shot"


@dataclass(frozen=True)
class OneShotBudget:
    """Compute a one-shot search may spend: process CPU seconds, supernet epochs, or
    both (the first reached ends the search).

    A seconds budget is checked between epochs (an epoch is not started when the mean
    epoch so far would not fit) and during the first epoch, which must fit entirely: a
    budget too small for one epoch is a :class:`~nasbench.core.errors.ConfigError`. A final
    selection after training (RSPS, SPOS and ENAS evaluate a number of candidates set by
    their hyperparameters) is not cut short; it counts in the result's ``search_seconds``.
    """

    seconds: float | None = None
    epochs: int | None = None

    def __post_init__(self) -> None:
        if self.seconds is None and self.epochs is None:
            raise ConfigError("a one-shot budget needs seconds (process CPU time) or epochs")
        if self.epochs is not None:
            if isinstance(self.epochs, bool) or not isinstance(self.epochs, (int, np.integer)):
                raise ConfigError(f"budget epochs must be an integer, got {self.epochs!r}")
            if self.epochs < 1:
                raise ConfigError(f"budget epochs must be >= 1, got {self.epochs}: too small for one epoch")
            object.__setattr__(self, "epochs", int(self.epochs))
        if self.seconds is not None and (
            isinstance(self.seconds, bool)
            or not isinstance(self.seconds, (int, float, np.floating, np.integer))
            or not math.isfinite(self.seconds)
            or self.seconds <= 0
        ):
            raise ConfigError(f"budget seconds must be a positive number, got {self.seconds!r}")
        if self.seconds is not None:
            object.__setattr__(self, "seconds", float(self.seconds))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"seconds": self.seconds, "epochs": self.epochs}


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
        """A task on a table's space and protocol (a table whose protocol is not a
        :class:`~nasbench.nets.train.Protocol` is a ConfigError)."""
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


@dataclass
class OneShotResult:
    """What a one-shot search returned and what it cost.

    ``trajectory`` is float64 [epochs, num_edges, num_ops]: the architecture distribution
    after every epoch (softmax of the architecture parameters, the controller's
    probabilities, or uniform for path-sampling methods), for plots.
    """

    arch: Architecture
    search_seconds: float
    epochs: int
    trajectory: np.ndarray = field(repr=False)
    train_loss: np.ndarray = field(repr=False)
    train_acc: np.ndarray = field(repr=False)
    epoch_seconds: np.ndarray = field(repr=False)
    info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "arch": str(self.arch),
            "search_seconds": self.search_seconds,
            "epochs": self.epochs,
            "trajectory": self.trajectory.tolist(),
            "train_loss": self.train_loss.tolist(),
            "train_acc": self.train_acc.tolist(),
            "epoch_seconds": self.epoch_seconds.tolist(),
            "info": self.info,
        }


class SearchSession:
    """One search's state: CPU clock and budget, random generators, data halves and the
    per-epoch records a :class:`OneShotResult` is made of.

    ``rng`` (numpy) and ``generator`` (torch) both derive from ``seed``, as does
    ``init_seed`` for the supernet's initial weights; nothing touches global random state.
    """

    def __init__(self, task: OneShotTask, budget: OneShotBudget, epochs: int, seed: int, label: str) -> None:
        self.started_seconds = time.process_time()
        self.task = task
        self.budget = budget
        self.label = label
        self.planned_epochs = epochs if budget.epochs is None else min(epochs, budget.epochs)
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
        """Process CPU seconds since the search started."""
        return time.process_time() - self.started_seconds

    def supernet(self, *, track_running_stats: bool = False) -> Supernet:
        """A freshly initialised supernet for the task (weights from ``init_seed``)."""
        supernet = Supernet.for_protocol(
            self.task.protocol, self.task.space, track_running_stats=track_running_stats, seed=self.init_seed
        )
        return supernet.to(memory_format=self.layout)

    def epochs(self) -> Iterator[int]:
        """Epoch numbers 0, 1, ... while the budget allows; call :meth:`record` in each.

        With a seconds budget, the number of planned epochs (the length of the learning
        rate and temperature schedules) is cut after the first epoch to what the budget
        fits at that epoch's cost, and no epoch starts that the mean epoch would not fit.
        """
        epoch = 0
        while epoch < self.planned_epochs:
            seconds = self.budget.seconds
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
        """Call once per step: fails if the first epoch outruns a seconds budget."""
        seconds = self.budget.seconds
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

    def result(self, arch: Architecture, info: dict[str, Any] | None = None) -> OneShotResult:
        """The :class:`OneShotResult` of the search so far, returning ``arch``."""
        space = self.task.space
        trajectory = (
            np.stack(self.trajectory)
            if self.trajectory
            else np.zeros((0, space.num_edges, space.num_ops), dtype=np.float64)
        )
        return OneShotResult(
            arch=arch,
            search_seconds=self.elapsed_seconds,
            epochs=len(self.trajectory),
            trajectory=trajectory,
            train_loss=np.asarray(self.train_loss, dtype=np.float64),
            train_acc=np.asarray(self.train_acc, dtype=np.float64),
            epoch_seconds=np.asarray(self.epoch_seconds, dtype=np.float64),
            info=dict(info or {}),
        )


class OneShotStrategy(abc.ABC):
    """Base class of one-shot (weight-sharing) search strategies.

    Contract:

    - ``__init__`` takes the hyperparameters as keyword arguments with defaults, stores
      them unchanged under the same names and validates them with
      :func:`~nasbench.search.strategy.check_int` / ``check_float`` / ``check_choice``
      (:class:`~nasbench.core.errors.ConfigError` naming the hyperparameter). ``seed``, when
      given, overrides the task's seed (for registries that pass ``seed=`` to every
      strategy); it is not a hyperparameter.
    - :meth:`search` trains on ``task`` within ``budget`` and returns an architecture of
      ``task.space``. It starts with :meth:`_begin`, which makes the
      :class:`SearchSession` (clock, generators, data halves, records) kept in
      ``self.session_``; every random choice comes from the session's generators, so the
      same seed gives the same architecture and trajectory, bit for bit, on one CPU thread.
    - :meth:`run` is :meth:`search` plus the :class:`OneShotResult` (CPU seconds, epochs,
      trajectory); ``self.info_`` may hold strategy-specific extras for it.
    - Non-finite architecture weights raise
      :class:`~nasbench.nets.supernet.ArchitectureWeightsError`, a non-finite supernet loss
      :class:`~nasbench.nets.supernet.SearchDivergedError`: the run failed.
    """

    kind: ClassVar[str] = ONE_SHOT_KIND
    name: ClassVar[str] = ""

    def __init__(self, *, seed: int | None = None) -> None:
        self.seed = seed
        if seed is not None:
            check_int(self._label, "seed", seed, low=0)

    @property
    def _label(self) -> str:
        return type(self).name or type(self).__name__

    @abc.abstractmethod
    def search(self, task: OneShotTask, budget: OneShotBudget) -> Architecture:
        """Search ``task`` within ``budget``; return the chosen architecture."""

    def run(self, task: OneShotTask, budget: OneShotBudget) -> OneShotResult:
        """:meth:`search` and its record: architecture, CPU seconds, epochs, trajectory."""
        arch = self.search(task, budget)
        task.space.check(arch)
        return self.session_.result(arch, self.info_)

    def _begin(self, task: OneShotTask, budget: OneShotBudget, epochs: int) -> SearchSession:
        """Start a search: check the inputs and make the session (``self.session_``)."""
        if not isinstance(task, OneShotTask):
            raise ConfigError(f"{self._label}: task must be a OneShotTask, got {type(task).__name__}")
        if not isinstance(budget, OneShotBudget):
            raise ConfigError(f"{self._label}: budget must be a OneShotBudget, got {type(budget).__name__}")
        self.info_: dict[str, Any] = {}
        seed = task.seed if self.seed is None else self.seed
        self.session_ = SearchSession(task, budget, epochs, seed, self._label)
        return self.session_

    @classmethod
    def hyperparameters(cls) -> dict[str, Any]:
        """Hyperparameter names and defaults, from ``__init__``'s signature (``seed`` excluded)."""
        return signature_defaults(cls, skip=("seed",))

    def get_params(self) -> dict[str, Any]:
        """Current hyperparameters (scikit-learn style), ``seed`` excluded."""
        return {name: getattr(self, name) for name in self.hyperparameters()}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params}{', ' if params else ''}seed={self.seed!r})"


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


# One-shot strategies register in the strategy registry (entry-point group
# ``nasbench.strategies``) beside the black-box ones, under their own kind.
strategy_registry.allow(OneShotStrategy, ONE_SHOT_KIND)

"""The training protocol: one (architecture, seed, protocol) -> per-epoch metrics.

Every knob of the recipe lives in :class:`Protocol`, which is stored in the table, so a
table says exactly how its numbers were made. Defaults follow NAS-Bench-201: SGD with
Nesterov momentum 0.9, learning rate 0.1 annealed to zero by a per-step cosine, weight
decay 5e-4, cross-entropy. Data are in-memory tensors; the seed fixes the initial
weights, the batch order and the augmentation, so the same seed on the same CPU build with
one torch thread (as the generator runs every job) gives the same numbers. With several
threads, reductions may be ordered differently and the last digits can change.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from nasbench.core.errors import ConfigError
from nasbench.core.schema import EPOCH_METRICS, MAX_EPOCHS, MAX_SEEDS
from nasbench.core.space import ArchLike, CellSpace, get_space
from nasbench.core.validation import (
    Boolean,
    Constraint,
    Instance,
    Integer,
    Optional,
    Options,
    Real,
    validate,
)

__all__ = [
    "PROTOCOL_PRESETS",
    "Protocol",
    "RunResult",
    "get_protocol",
    "train_architecture",
]

_SCHEDULES = ("cosine", "constant")
_AUGMENTATIONS = ("flip", "crop")

#: Range of one seed: a table stores seeds as int64.
SEED_RANGE = (-(2**63), 2**63 - 1)

#: What each checked field of a :class:`Protocol` may hold (validated in ``__post_init__``).
#: The upper bounds are sanity limits, far above any protocol in use (NAS-Bench-201: 32 px,
#: width 16, 5 cells per stage, 200 epochs), so that a typo such as ``resolution=100000``
#: is refused in one line instead of allocating terabytes; ``epochs`` and the number of
#: seeds are the table schema's limits (:data:`~nasbench.core.schema.MAX_EPOCHS`, ``MAX_SEEDS``).
_FIELD_CONSTRAINTS: dict[str, Constraint] = {
    "dataset": Instance((str,), "a dataset name"),
    "resolution": Integer(1, 1024),
    "width": Integer(1, 1024),
    "cells_per_stage": Integer(0, 100),
    "epochs": Integer(1, MAX_EPOCHS),
    "batch_size": Integer(1, 65_536),
    "eval_batch_size": Integer(1, 65_536),
    "val_size": Integer(1, 10_000_000),
    "train_size": Optional(Integer(1, 100_000_000)),
    "split_seed": Integer(0, 2**32 - 1),
    "learning_rate": Real(0.0),
    "momentum": Real(0.0),
    "nesterov": Boolean(),
    "weight_decay": Real(0.0),
    "warmup_epochs": Real(0.0),
    "label_smoothing": Real(0.0),
    "schedule": Options(_SCHEDULES),
    "crop_padding": Integer(0, 1024),
    "grad_clip_norm": Optional(Real(0.0, low_open=True)),
    "bf16": Boolean(),
    "channels_last": Boolean(),
}


@dataclass(frozen=True)
class Protocol:
    """A complete training recipe: data, network skeleton, optimiser and schedule."""

    dataset: str = "fashion-mnist"
    resolution: int = 16
    width: int = 8
    cells_per_stage: int = 1
    epochs: int = 10
    batch_size: int = 256
    eval_batch_size: int = 2048
    learning_rate: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    warmup_epochs: float = 0.0
    label_smoothing: float = 0.0
    augment: tuple[str, ...] = ()
    crop_padding: int = 2
    train_size: int | None = None
    val_size: int = 10_000
    split_seed: int = 0
    bf16: bool = False
    channels_last: bool = True
    grad_clip_norm: float | None = None
    seeds: tuple[int, ...] = (0, 1)

    def __post_init__(self) -> None:
        augment = self.augment
        if isinstance(augment, str):
            augment = tuple(part.strip() for part in augment.split(",") if part.strip())
        if not isinstance(augment, (list, tuple)) or not all(isinstance(a, str) for a in augment):
            raise ConfigError(f"protocol: augment must be a list of names, got {augment!r}")
        object.__setattr__(self, "augment", tuple(augment))
        seeds = self.seeds
        if not isinstance(seeds, (list, tuple)) or len(seeds) > MAX_SEEDS:
            raise ConfigError(f"protocol: seeds must be a list of at most {MAX_SEEDS} integers")
        low, high = SEED_RANGE
        for seed in seeds:
            validate("protocol", "seeds[]", seed, Integer(low, high))
        object.__setattr__(self, "seeds", tuple(int(s) for s in seeds))
        for name, constraint in _FIELD_CONSTRAINTS.items():
            validate("protocol", name, getattr(self, name), constraint)
        if self.label_smoothing >= 1:
            raise ConfigError(f"protocol: label_smoothing must be < 1, got {self.label_smoothing}")
        if self.warmup_epochs > self.epochs:
            raise ConfigError("protocol: warmup_epochs cannot exceed epochs")
        unknown = [a for a in self.augment if a not in _AUGMENTATIONS]
        if unknown:
            raise ConfigError(f"unknown augmentation {unknown[0]!r} (known: {', '.join(_AUGMENTATIONS)})")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(
                f"protocol: seeds must be a non-empty list without repeats, got {list(self.seeds)}"
            )

    def model_config(self) -> Any:
        """The :class:`~nasbench.nets.models.MacroConfig` this protocol trains."""
        from nasbench.nets.datasets import dataset_shape
        from nasbench.nets.models import MacroConfig

        channels, classes = dataset_shape(self.dataset)
        return MacroConfig(
            width=self.width,
            cells_per_stage=self.cells_per_stage,
            input_channels=channels,
            resolution=self.resolution,
            num_classes=classes,
        )

    def load_data(self, data_dir: str | os.PathLike[str] | None = None) -> Any:
        """The :class:`~nasbench.nets.datasets.DataSplits` this protocol trains and measures on
        (cached per process)."""
        from nasbench.nets.datasets import load_dataset

        return load_dataset(
            self.dataset,
            resolution=self.resolution,
            val_size=self.val_size,
            train_size=self.train_size,
            split_seed=self.split_seed,
            data_dir=data_dir,
        )

    def replace(self, **changes: Any) -> Protocol:
        """A copy with some fields changed (validated); unknown fields are an error."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ConfigError(f"unknown protocol field {unknown[0]!r} (known: {', '.join(sorted(known))})")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; :meth:`from_dict` inverts it."""
        data = dataclasses.asdict(self)
        data["augment"] = list(self.augment)
        data["seeds"] = list(self.seeds)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Protocol:
        """Rebuild a protocol from :meth:`to_dict` output."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown protocol field {unknown[0]!r}")
        values = dict(data)
        if "augment" in values:
            values["augment"] = tuple(values["augment"])
        if "seeds" in values:
            values["seeds"] = tuple(values["seeds"])
        return cls(**values)


PROTOCOL_PRESETS: dict[str, Protocol] = {
    # Seconds per architecture on scikit-learn's digits: for tests and the README.
    "tiny": Protocol(
        dataset="digits",
        resolution=8,
        width=4,
        cells_per_stage=1,
        epochs=5,
        batch_size=128,
        learning_rate=0.1,
        val_size=360,
        seeds=(0, 1),
    ),
    # A small CPU network on Fashion-MNIST at 16 px.
    "cpu-small": Protocol(
        dataset="fashion-mnist",
        resolution=16,
        width=8,
        cells_per_stage=1,
        epochs=10,
        batch_size=256,
        train_size=10_000,
        val_size=10_000,
        seeds=(0, 1),
    ),
    # The shipped default table: chosen on the measured fidelity frontier (tables/README.md),
    # single-seed Spearman 0.83 at about 3 core-seconds per (class, seed).
    "fmnist-cpu": Protocol(
        dataset="fashion-mnist",
        resolution=8,
        width=8,
        cells_per_stage=1,
        epochs=4,
        batch_size=256,
        train_size=10_000,
        val_size=5_000,
        bf16=True,
        seeds=(0, 1),
    ),
    # NAS-Bench-201's recipe (its 200-epoch table), CIFAR-10 at 32 px, C=16, N=5.
    "nb201": Protocol(
        dataset="cifar10",
        resolution=32,
        width=16,
        cells_per_stage=5,
        epochs=200,
        batch_size=256,
        augment=("crop", "flip"),
        crop_padding=4,
        val_size=5_000,
        seeds=(0, 1, 2),
    ),
}


def get_protocol(name_or_protocol: str | Protocol) -> Protocol:
    """A protocol preset by name, or the protocol itself."""
    if isinstance(name_or_protocol, Protocol):
        return name_or_protocol
    try:
        return PROTOCOL_PRESETS[name_or_protocol]
    except KeyError:
        raise ConfigError(
            f"unknown preset {name_or_protocol!r} (known: {', '.join(PROTOCOL_PRESETS)})"
        ) from None


@dataclass
class RunResult:
    """Per-epoch metrics of one run; ``failed`` says why a run stopped early."""

    metrics: dict[str, list[float]]
    failed: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"metrics": self.metrics, "failed": self.failed}


def _learning_rate(protocol: Protocol, step: int, total_steps: int, steps_per_epoch: int) -> float:
    warmup_steps = round(protocol.warmup_epochs * steps_per_epoch)
    if step < warmup_steps:
        return protocol.learning_rate * (step + 1) / warmup_steps
    if protocol.schedule == "constant":
        return protocol.learning_rate
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * protocol.learning_rate * (1.0 + math.cos(math.pi * progress))


def _augment(batch: torch.Tensor, protocol: Protocol, generator: torch.Generator) -> torch.Tensor:
    if "crop" in protocol.augment and protocol.crop_padding > 0:
        pad = protocol.crop_padding
        count, channels, size = batch.shape[0], batch.shape[1], batch.shape[-1]
        padded = F.pad(batch, (pad, pad, pad, pad))
        offsets = torch.randint(0, 2 * pad + 1, (2, count), generator=generator)
        window = torch.arange(size)
        rows = (offsets[0][:, None] + window)[:, None, :, None]
        cols = (offsets[1][:, None] + window)[:, None, None, :]
        batch = padded[
            torch.arange(count)[:, None, None, None], torch.arange(channels)[None, :, None, None], rows, cols
        ]
    if "flip" in protocol.augment:
        flip = torch.rand(batch.shape[0], generator=generator) < 0.5
        if flip.any():
            batch = batch.clone()
            batch[flip] = batch[flip].flip(-1)
    return batch


def _evaluate(
    model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int, bf16: bool
) -> tuple[float, float]:
    """(accuracy in percent, mean cross-entropy) of ``model`` on a split."""
    model.eval()
    loss_sum = 0.0
    correct = 0
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for start in range(0, x.shape[0], batch_size):
            logits = model(x[start : start + batch_size]).float()
            target = y[start : start + batch_size]
            loss_sum += float(F.cross_entropy(logits, target, reduction="sum"))
            correct += int((logits.argmax(1) == target).sum())
    count = max(1, x.shape[0])
    return 100.0 * correct / count, loss_sum / count


def train_architecture(
    arch: ArchLike,
    seed: int,
    protocol: Protocol,
    *,
    data: Any = None,
    space: CellSpace | str | None = None,
    data_dir: str | None = None,
) -> RunResult:
    """Train one architecture from scratch and measure it after every epoch.

    Returns per-epoch ``train_acc``/``train_loss`` (running over the epoch, as NAS-Bench-201
    reports them), ``val_*`` and ``test_*`` (after the epoch), ``train_seconds`` (CPU time
    of this process over the epoch's training steps only) and ``eval_seconds`` (CPU time of
    measuring val and test after it). CPU time is core-seconds: for a single-threaded run
    it equals the wall time on an idle core, and unlike wall time it does not grow when
    other work shares the machine or the run is paused. A non-finite loss stops the run; it comes back
    with the epochs completed and ``failed`` set.
    """
    from nasbench.nets.models import build_model

    cell_space = get_space(space)
    if data is None:
        data = protocol.load_data(data_dir)
    model = build_model(arch, protocol.model_config(), cell_space, seed=seed)
    layout = torch.channels_last if protocol.channels_last else torch.contiguous_format
    model = model.to(memory_format=layout)
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=protocol.learning_rate,
        momentum=protocol.momentum,
        nesterov=protocol.nesterov and protocol.momentum > 0,
        foreach=True,
        weight_decay=protocol.weight_decay,
    )
    generator = torch.Generator().manual_seed(int(seed))
    train_x, train_y = data.train_x, data.train_y
    count = train_x.shape[0]
    steps_per_epoch = math.ceil(count / protocol.batch_size)
    total_steps = protocol.epochs * steps_per_epoch
    names = EPOCH_METRICS  # the values below are appended in this order
    metrics: dict[str, list[float]] = {name: [] for name in names}
    step = 0
    for epoch in range(protocol.epochs):
        model.train()
        started = time.process_time()
        order = torch.randperm(count, generator=generator)
        loss_sum = torch.zeros((), dtype=torch.float64)
        correct = torch.zeros((), dtype=torch.int64)
        for start in range(0, count, protocol.batch_size):
            index = order[start : start + protocol.batch_size]
            inputs = train_x[index].contiguous(memory_format=layout)
            targets = train_y[index]
            if protocol.augment:
                inputs = _augment(inputs, protocol, generator)
            for group in optimizer.param_groups:
                group["lr"] = _learning_rate(protocol, step, total_steps, steps_per_epoch)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=protocol.bf16):
                logits = model(inputs)
            loss = F.cross_entropy(logits.float(), targets, label_smoothing=protocol.label_smoothing)
            if not torch.isfinite(loss):
                return RunResult(metrics, failed=f"loss became {loss.item()} at epoch {epoch}, step {step}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if protocol.grad_clip_norm is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), protocol.grad_clip_norm)
            optimizer.step()
            with torch.no_grad():
                loss_sum += loss.detach().double() * targets.shape[0]
                correct += (logits.argmax(1) == targets).sum()
            step += 1
        train_seconds = time.process_time() - started
        val_acc, val_loss = _evaluate(model, data.val_x, data.val_y, protocol.eval_batch_size, protocol.bf16)
        test_acc, test_loss = _evaluate(
            model, data.test_x, data.test_y, protocol.eval_batch_size, protocol.bf16
        )
        eval_seconds = time.process_time() - started - train_seconds
        values = (
            100.0 * float(correct) / count,
            float(loss_sum) / count,
            val_acc,
            val_loss,
            test_acc,
            test_loss,
            train_seconds,
            eval_seconds,
        )
        for name, value in zip(names, values, strict=True):
            metrics[name].append(value)
        if not (math.isfinite(val_loss) and math.isfinite(test_loss)):
            return RunResult(metrics, failed=f"evaluation loss became non-finite at epoch {epoch}")
    return RunResult(metrics)

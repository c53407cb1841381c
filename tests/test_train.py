"""Tests of the training protocol: :class:`Protocol`, the presets, the learning-rate schedule,
augmentation and :func:`train_architecture` on scikit-learn's digits (the ``tiny`` preset).

Training runs with one torch thread (restored afterwards): the generator's jobs train that
way, and on a small shared machine OpenMP's spinning threads can stall a run for seconds.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from typing import Any

import pytest
import torch

from nasbench.core.errors import ConfigError
from nasbench.core.table import EPOCH_METRICS
from nasbench.nets.datasets import DataSplits, load_dataset
from nasbench.nets.train import (
    PROTOCOL_PRESETS,
    Protocol,
    RunResult,
    _augment,
    _learning_rate,
    get_protocol,
    train_architecture,
)

ALL_CONV3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
TINY = PROTOCOL_PRESETS["tiny"]
TIMING_METRICS = ("train_seconds", "eval_seconds")  # wall-clock time: never equal between two runs


@pytest.fixture(scope="module")
def digits() -> DataSplits:
    return load_dataset(
        TINY.dataset,
        resolution=TINY.resolution,
        val_size=TINY.val_size,
        train_size=TINY.train_size,
        split_seed=TINY.split_seed,
    )


def train(arch: str, seed: int, protocol: Protocol, data: DataSplits) -> RunResult:
    """``train_architecture`` with one torch thread, restored afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return train_architecture(arch, seed, protocol, data=data)
    finally:
        torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def conv_run(digits: DataSplits) -> RunResult:
    """The all-``nor_conv_3x3`` cell, seed 0, tiny preset."""
    return train(ALL_CONV3, 0, TINY, digits)


def without_timing(metrics: dict[str, list[float]]) -> dict[str, list[float]]:
    return {name: values for name, values in metrics.items() if name not in TIMING_METRICS}


# --------------------------------------------------------------------- Protocol
def test_defaults_follow_nas_bench_201() -> None:
    protocol = Protocol()
    assert protocol.learning_rate == 0.1
    assert protocol.momentum == 0.9
    assert protocol.nesterov is True
    assert protocol.weight_decay == 5e-4
    assert protocol.schedule == "cosine"
    assert protocol.warmup_epochs == 0.0
    assert protocol.label_smoothing == 0.0
    nb201 = PROTOCOL_PRESETS["nb201"]
    assert (nb201.dataset, nb201.resolution, nb201.width, nb201.cells_per_stage) == ("cifar10", 32, 16, 5)
    assert (nb201.epochs, nb201.batch_size) == (200, 256)
    assert set(nb201.augment) == {"crop", "flip"}
    assert (nb201.learning_rate, nb201.momentum, nb201.nesterov, nb201.weight_decay) == (0.1, 0.9, True, 5e-4)
    assert nb201.schedule == "cosine"


@pytest.mark.parametrize("name", sorted(PROTOCOL_PRESETS))
def test_preset_round_trips_through_json(name: str) -> None:
    protocol = PROTOCOL_PRESETS[name]
    data = protocol.to_dict()
    assert set(data) == {f.name for f in dataclasses.fields(Protocol)}
    text = json.dumps(data, sort_keys=True)  # JSON-serialisable, no tuples or custom types needed
    back = Protocol.from_dict(json.loads(text))
    assert back == protocol
    assert isinstance(back.seeds, tuple) and isinstance(back.augment, tuple)
    assert back.to_dict() == data


def test_from_dict_rejects_unknown_field() -> None:
    data = {**TINY.to_dict(), "optimiser": "adam"}
    with pytest.raises(ConfigError, match="optimiser"):
        Protocol.from_dict(data)


def test_replace_changes_only_what_it_is_asked() -> None:
    changed = TINY.replace(epochs=3, seeds=(4, 5, 6))
    assert (changed.epochs, changed.seeds) == (3, (4, 5, 6))
    assert dataclasses.replace(changed, epochs=TINY.epochs, seeds=TINY.seeds) == TINY
    assert TINY.epochs == 5  # the preset itself is untouched


def test_replace_rejects_unknown_field_by_name() -> None:
    with pytest.raises(ConfigError, match="unknown protocol field 'lerning_rate'"):
        TINY.replace(lerning_rate=0.2)


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"epochs": 0}, "epochs"),
        ({"epochs": True}, "epochs"),
        ({"batch_size": -1}, "batch_size"),
        ({"schedule": "step"}, "schedule"),
        ({"augment": ("rotate",)}, "rotate"),
        ({"augment": ["rotate"]}, "rotate"),
        ({"label_smoothing": 1.0}, "label_smoothing"),
        ({"learning_rate": math.nan}, "learning_rate"),
        ({"weight_decay": -1e-4}, "weight_decay"),
        ({"warmup_epochs": 6.0}, "warmup_epochs"),
        ({"grad_clip_norm": 0.0}, "grad_clip_norm"),
        ({"train_size": 0}, "train_size"),
        ({"seeds": ()}, "seeds"),
        ({"seeds": (1, 1)}, "seeds"),
    ],
)
def test_replace_validates_values(changes: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment) as info:
        TINY.replace(**changes)
    assert "\n" not in str(info.value)


def test_replace_rejects_negative_crop_padding() -> None:
    with pytest.raises(ConfigError, match="crop_padding"):
        TINY.replace(augment=("crop",), crop_padding=-1)


def test_tiny_model_config() -> None:
    config = TINY.model_config()
    assert (config.input_channels, config.resolution, config.num_classes) == (1, 8, 10)
    assert (config.width, config.cells_per_stage) == (TINY.width, TINY.cells_per_stage)


def test_get_protocol_names_presets_when_unknown() -> None:
    assert get_protocol("tiny") is TINY
    custom = TINY.replace(epochs=1)
    assert get_protocol(custom) is custom
    with pytest.raises(ConfigError, match="'nope'") as info:
        get_protocol("nope")
    for name in PROTOCOL_PRESETS:
        assert name in str(info.value)


# --------------------------------------------------------------------- learning-rate schedule
def test_cosine_schedule_starts_at_the_rate_and_anneals_to_zero() -> None:
    steps_per_epoch, epochs = 9, 5
    total = steps_per_epoch * epochs
    protocol = TINY.replace(epochs=epochs)
    rates = [_learning_rate(protocol, step, total, steps_per_epoch) for step in range(total)]
    assert rates[0] == protocol.learning_rate
    assert all(a >= b for a, b in itertools.pairwise(rates)), "cosine must not increase"
    # Per-step cosine: the last step runs at lr * (1 - cos(pi / total)) / 2, ~0; one past it is 0.
    assert rates[-1] < 1e-2 * protocol.learning_rate
    assert rates[-1] == pytest.approx(protocol.learning_rate * (1 - math.cos(math.pi / total)) / 2)
    assert _learning_rate(protocol, total, total, steps_per_epoch) == pytest.approx(0.0, abs=1e-15)
    middle = _learning_rate(protocol, total // 2, total, steps_per_epoch)
    assert middle == pytest.approx(
        0.5 * protocol.learning_rate * (1 + math.cos(math.pi * (total // 2) / total))
    )


def test_warmup_ramps_linearly_then_follows_the_schedule() -> None:
    steps_per_epoch, epochs = 10, 4
    total = steps_per_epoch * epochs
    protocol = TINY.replace(epochs=epochs, warmup_epochs=1.0, learning_rate=0.2)
    ramp = [_learning_rate(protocol, step, total, steps_per_epoch) for step in range(steps_per_epoch)]
    assert ramp == pytest.approx([0.2 * (k + 1) / steps_per_epoch for k in range(steps_per_epoch)])
    after = [_learning_rate(protocol, step, total, steps_per_epoch) for step in range(steps_per_epoch, total)]
    assert after[0] == pytest.approx(0.2)  # cosine starts where the warmup ends
    assert all(a >= b for a, b in itertools.pairwise(after))
    assert after[-1] < 1e-2 * 0.2


def test_constant_schedule_keeps_the_rate() -> None:
    protocol = TINY.replace(schedule="constant", learning_rate=0.05)
    assert {_learning_rate(protocol, step, 30, 6) for step in range(30)} == {0.05}


# --------------------------------------------------------------------- augmentation
def random_batch(count: int = 32, channels: int = 2, size: int = 8) -> torch.Tensor:
    return torch.randn((count, channels, size, size), generator=torch.Generator().manual_seed(123))


def test_crop_keeps_shape_shifts_within_padding_and_is_seeded() -> None:
    protocol = TINY.replace(augment=("crop",), crop_padding=2)
    batch = random_batch()
    original = batch.clone()
    first = _augment(batch, protocol, torch.Generator().manual_seed(5))
    again = _augment(batch, protocol, torch.Generator().manual_seed(5))
    other = _augment(batch, protocol, torch.Generator().manual_seed(6))
    assert torch.equal(batch, original), "the input (shared with the dataset cache) must not change"
    assert first.shape == batch.shape and first.dtype == batch.dtype
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
    pad = protocol.crop_padding
    padded = torch.nn.functional.pad(batch, (pad, pad, pad, pad))
    size = batch.shape[-1]
    shifts = set()
    for k in range(batch.shape[0]):
        matches = [
            (dy, dx)
            for dy in range(2 * pad + 1)
            for dx in range(2 * pad + 1)
            if torch.equal(first[k], padded[k, :, dy : dy + size, dx : dx + size])
        ]
        assert matches, f"image {k} is not a window of its padded original"
        shifts.add(matches[0])
    assert len(shifts) > 1, "every image got the same crop"


def test_flip_mirrors_exactly_the_selected_rows() -> None:
    protocol = TINY.replace(augment=("flip",))
    batch = random_batch()
    original = batch.clone()
    out = _augment(batch, protocol, torch.Generator().manual_seed(9))
    selected = torch.rand(batch.shape[0], generator=torch.Generator().manual_seed(9)) < 0.5
    assert 0 < int(selected.sum()) < batch.shape[0]
    assert torch.equal(batch, original), "the input (shared with the dataset cache) must not change"
    assert torch.equal(out[selected], original[selected].flip(-1))
    assert torch.equal(out[~selected], original[~selected])


def test_no_augmentation_returns_the_batch_unchanged() -> None:
    batch = random_batch()
    assert torch.equal(_augment(batch, TINY, torch.Generator().manual_seed(0)), batch)


# --------------------------------------------------------------------- train_architecture
def test_same_seed_gives_identical_metrics(digits: DataSplits, conv_run: RunResult) -> None:
    rng_state = torch.random.get_rng_state()
    again = train(ALL_CONV3, 0, TINY, digits)
    assert torch.equal(torch.random.get_rng_state(), rng_state), "training touched torch's global RNG"
    assert conv_run.failed is None and again.failed is None
    assert without_timing(again.metrics) == without_timing(conv_run.metrics)


def test_other_seed_gives_other_numbers(digits: DataSplits, conv_run: RunResult) -> None:
    other = train(ALL_CONV3, 1, TINY, digits)
    assert other.failed is None
    for name in ("train_loss", "val_loss", "test_loss"):
        assert other.metrics[name] != conv_run.metrics[name], name


def test_metrics_have_every_epoch_and_valid_ranges(conv_run: RunResult) -> None:
    assert set(conv_run.metrics) == set(EPOCH_METRICS)
    for name, values in conv_run.metrics.items():
        assert len(values) == TINY.epochs, name
        assert all(isinstance(v, float) and math.isfinite(v) for v in values), name
        if name.endswith("_acc"):
            assert all(0.0 <= v <= 100.0 for v in values), name
        elif name.endswith("_loss"):
            assert all(v >= 0.0 for v in values), name
        else:
            assert all(v > 0.0 for v in values), name
    assert json.loads(json.dumps(conv_run.to_dict())) == conv_run.to_dict()


def test_conv_cell_learns_digits(conv_run: RunResult) -> None:
    val_acc = conv_run.metrics["val_acc"]
    assert val_acc[-1] > 60.0
    assert conv_run.metrics["test_acc"][-1] > 60.0
    assert conv_run.metrics["train_loss"][-1] < conv_run.metrics["train_loss"][0]


def test_all_none_cell_stays_at_chance(digits: DataSplits) -> None:
    """Every edge is ``none``: the last cell outputs zeros, so the classifier sees a constant."""
    run = train(ALL_NONE, 0, TINY, digits)
    assert run.failed is None
    assert len(run.metrics["val_acc"]) == TINY.epochs
    assert max(run.metrics["val_acc"][1:]) < 25.0
    assert max(run.metrics["test_acc"][1:]) < 25.0
    assert run.metrics["val_loss"][-1] == pytest.approx(math.log(10), abs=0.1)


# torch warns when the failure message converts the (grad-requiring) NaN loss to a float.
@pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad=True:UserWarning")
def test_huge_learning_rate_diverges_and_reports_it(digits: DataSplits) -> None:
    protocol = TINY.replace(learning_rate=1e6, weight_decay=0.0)
    run = train(ALL_CONV3, 0, protocol, digits)
    assert run.failed is not None
    assert "loss" in run.failed
    assert "\n" not in run.failed
    lengths = {len(values) for values in run.metrics.values()}
    assert len(lengths) == 1, "every metric must hold the same completed epochs"
    completed = lengths.pop()
    assert completed < protocol.epochs
    for values in run.metrics.values():
        assert all(math.isfinite(v) for v in values)


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="bf16 on CPU needs oneDNN")
def test_bf16_protocol_trains_to_finite_numbers(digits: DataSplits) -> None:
    protocol = TINY.replace(bf16=True, epochs=2)
    run = train(ALL_CONV3, 0, protocol, digits)
    assert run.failed is None
    for name, values in run.metrics.items():
        assert len(values) == 2, name
        assert all(math.isfinite(v) for v in values), name
    assert all(0.0 <= v <= 100.0 for v in run.metrics["val_acc"])

"""Supernet training throughput against training the largest stand-alone architecture.

Run with ``pytest tests/benchmarks --benchmark-only``. Every test trains on the same
random batches shaped like the default protocol's data (``fmnist-cpu``: 1 x 8 x 8 images,
10 classes) on one torch thread, as a worker process of the generator or the runner does:
the stand-alone network is the largest cell of the space (``nor_conv_3x3`` on every
edge), once as the supernet strategies train (batch 64, float32) and once as the table
was trained (the protocol's batch and bfloat16 autocast); the supernet is trained by
uniform path sampling (RSPS, SPOS, ENAS's shared weights), by the continuous relaxation
(DARTS's weight step) and by hard Gumbel samples (GDAS). ``extra_info["images_per_second"]``
is the figure; ratios come from one run. Timings are not asserted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nasbench.core.space import CellSpace
from nasbench.nets.models import build_model
from nasbench.nets.supernet import Supernet
from nasbench.nets.train import Protocol, get_protocol

IMAGES = 2_048
ONE_SHOT_BATCH = 64
ROUNDS = 5
LARGEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def protocol() -> Protocol:
    return get_protocol("fmnist-cpu")


@pytest.fixture(scope="module")
def data(protocol: Protocol) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    size = protocol.resolution
    x = torch.randn(IMAGES, 1, size, size, generator=generator)
    y = torch.randint(0, 10, (IMAGES,), generator=generator)
    return x.contiguous(memory_format=torch.channels_last), y


def _train(
    model: torch.nn.Module,
    parameters: list[torch.nn.Parameter],
    forward: Callable[[torch.Tensor, int], torch.Tensor],
    data: tuple[torch.Tensor, torch.Tensor],
    batch_size: int,
    bf16: bool = False,
) -> int:
    """One pass over the images with SGD; returns the images trained on."""
    x, y = data
    optimizer = torch.optim.SGD(parameters, lr=0.025, momentum=0.9, weight_decay=3e-4)
    model.train()
    for step, start in enumerate(range(0, x.shape[0], batch_size)):
        inputs, targets = x[start : start + batch_size], y[start : start + batch_size]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = forward(inputs, step)
        loss = F.cross_entropy(logits.float(), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return int(x.shape[0])


def _record(benchmark: pytest.FixtureRequest, images: int, what: str) -> None:
    benchmark.extra_info.update(
        {"what": what, "images": images, "images_per_second": images / benchmark.stats.stats.median}
    )


def _standalone(protocol: Protocol) -> torch.nn.Module:
    model = build_model(LARGEST, protocol.model_config(), CellSpace(), seed=0)
    return model.to(memory_format=torch.channels_last)


def test_standalone_largest_at_one_shot_batch(
    benchmark: pytest.FixtureRequest, protocol: Protocol, data: tuple[torch.Tensor, torch.Tensor]
) -> None:
    """The largest cell alone, batch 64, float32: the same conditions as the supernet."""
    model = _standalone(protocol)
    images = benchmark.pedantic(
        _train,
        args=(model, list(model.parameters()), lambda x, _: model(x), data, ONE_SHOT_BATCH),
        rounds=ROUNDS,
        warmup_rounds=1,
    )
    _record(benchmark, images, "stand-alone largest cell, batch 64, float32")


def test_standalone_largest_as_tabulated(
    benchmark: pytest.FixtureRequest, protocol: Protocol, data: tuple[torch.Tensor, torch.Tensor]
) -> None:
    """The largest cell alone with the table's batch size and bfloat16 autocast."""
    model = _standalone(protocol)
    batch, bf16 = protocol.batch_size, protocol.bf16
    images = benchmark.pedantic(
        _train,
        args=(model, list(model.parameters()), lambda x, _: model(x), data, batch, bf16),
        rounds=ROUNDS,
        warmup_rounds=1,
    )
    _record(benchmark, images, f"stand-alone largest cell, batch {protocol.batch_size}, bf16={protocol.bf16}")


@pytest.mark.parametrize("mode", ["path", "relaxed", "gumbel-hard"])
def test_supernet_training(
    benchmark: pytest.FixtureRequest,
    protocol: Protocol,
    data: tuple[torch.Tensor, torch.Tensor],
    mode: str,
) -> None:
    """The supernet's weight step, batch 64, float32: one sampled path per batch (RSPS,
    SPOS, ENAS), every op weighted (DARTS) or one hard Gumbel sample per edge (GDAS)."""
    supernet = Supernet.for_protocol(protocol, "nb201", seed=0).to(memory_format=torch.channels_last)
    space = supernet.space
    paths = np.random.default_rng(0).integers(0, space.num_ops, size=(IMAGES, space.num_edges))
    weights = supernet.architecture_weights().detach()

    def forward(x: torch.Tensor, step: int) -> torch.Tensor:
        if mode == "path":
            return supernet.forward_path(x, paths[step])
        if mode == "relaxed":
            return supernet.forward_relaxed(x, weights)
        hard = F.one_hot(torch.as_tensor(paths[step]), space.num_ops).float()
        return supernet.forward_hard(x, hard, paths[step])

    images = benchmark.pedantic(
        _train,
        args=(supernet, supernet.weight_parameters(), forward, data, ONE_SHOT_BATCH),
        rounds=ROUNDS,
        warmup_rounds=1,
    )
    _record(benchmark, images, f"supernet, {mode}, batch 64, float32")

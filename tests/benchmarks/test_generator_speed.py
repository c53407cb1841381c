"""Generator throughput against a textbook training loop, and achieved training FLOP/s.

Run with ``pytest tests/benchmarks --benchmark-only``. Both loops train the same
architectures on the same Fashion-MNIST subset with the same epochs and optimiser; the
textbook loop is what NAS tutorials write: a DataLoader over a TensorDataset, batch 32,
one architecture after another in one process (torch's default threads). The generator
runs its protocol (batch 256, in-memory batches) in one single-threaded worker process per
core. ``extra_info`` carries seconds per architecture, so the ratio comes from one run.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from nasbench.core.space import CellSpace
from nasbench.generation.generate import generate, select_classes
from nasbench.nets.datasets import SYSTEM_DATA_DIR
from nasbench.nets.models import build_model, cost_arrays
from nasbench.nets.train import Protocol, get_protocol, train_architecture

pytestmark = pytest.mark.skipif(
    not (SYSTEM_DATA_DIR / "fashion-mnist").exists(),
    reason="needs Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)",
)

NUM_CLASSES_TIMED = 8
#: Architectures of the NAS-Bench-201 space answered per canonical class trained.
ARCHS_PER_CLASS = 15_625 / 6_466


def _protocol() -> Protocol:
    return get_protocol("cpu-small").replace(epochs=2, train_size=4_000, val_size=2_000, seeds=(0,))


def _sample() -> list[int]:
    space = CellSpace()
    return [int(i) for i in select_classes(space.unique_indices(), NUM_CLASSES_TIMED, None)]


def _textbook_loop(arch: int, protocol: Protocol, seed: int = 0) -> float:
    """Train one architecture the way tutorials do; returns the final val accuracy."""
    data = protocol.load_data()
    torch.manual_seed(seed)
    model = build_model(arch, protocol.model_config())
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=protocol.learning_rate,
        momentum=protocol.momentum,
        nesterov=True,
        weight_decay=protocol.weight_decay,
    )
    loader = DataLoader(TensorDataset(data.train_x, data.train_y), batch_size=32, shuffle=True)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=protocol.epochs * len(loader))
    accuracy = 0.0
    for _ in range(protocol.epochs):
        model.train()
        for inputs, targets in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(inputs), targets)
            loss.backward()
            optimizer.step()
            scheduler.step()
        model.eval()
        for split_x, split_y in ((data.val_x, data.val_y), (data.test_x, data.test_y)):
            correct = 0
            with torch.no_grad():
                for inputs, targets in DataLoader(TensorDataset(split_x, split_y), batch_size=32):
                    correct += int((model(inputs).argmax(1) == targets).sum())
            accuracy = 100.0 * correct / len(split_y)
    return accuracy


def test_textbook_loop_baseline(benchmark: pytest.FixtureRequest) -> None:
    protocol = _protocol()
    archs = _sample()

    def train_all() -> list[float]:
        return [_textbook_loop(arch, protocol) for arch in archs]

    accuracies = benchmark.pedantic(train_all, rounds=1, iterations=1, warmup_rounds=0)
    seconds = benchmark.stats.stats.median
    benchmark.extra_info.update(
        {
            "archs": len(archs),
            "seconds_per_arch": seconds / len(archs),
            "archs_per_core_hour": 3600 * len(archs) / (seconds * torch.get_num_threads()),
            "cores": torch.get_num_threads(),
        }
    )
    assert all(0 <= a <= 100 for a in accuracies)


@pytest.mark.parametrize("bf16", [False, True], ids=["fp32", "bf16"])
def test_generator_throughput(benchmark: pytest.FixtureRequest, tmp_path: Path, bf16: bool) -> None:
    """The generator on the baseline's protocol; the bf16 variant changes the protocol
    (bfloat16 autocast), a lever only where the CPU has bf16 units."""
    protocol = _protocol().replace(bf16=bf16)
    workers = 2
    rounds: list[Path] = []

    def run_generator() -> float:
        out = tmp_path / f"round{len(rounds)}.h5"
        rounds.append(out)
        summary = generate(
            out, protocol, limit=NUM_CLASSES_TIMED, workers=workers, probes=False, progress=False
        )
        assert summary.runs_done == NUM_CLASSES_TIMED
        return summary.job_seconds

    job_seconds = benchmark.pedantic(run_generator, rounds=1, iterations=1, warmup_rounds=0)
    seconds = benchmark.stats.stats.median
    archs_per_core_hour = 3600 * NUM_CLASSES_TIMED / (seconds * workers)
    benchmark.extra_info.update(
        {
            "classes": NUM_CLASSES_TIMED,
            "workers": workers,
            "seconds_per_class_wall": seconds / NUM_CLASSES_TIMED,
            "seconds_per_class_in_worker": job_seconds / NUM_CLASSES_TIMED,
            "networks_per_core_hour": archs_per_core_hour,
            "archs_answered_per_core_hour": archs_per_core_hour * ARCHS_PER_CLASS,
        }
    )


def _matmul_flops_per_second(size: int = 1024, repeats: int = 10) -> float:
    a = torch.randn(size, size, generator=torch.Generator().manual_seed(0))
    b = torch.randn(size, size, generator=torch.Generator().manual_seed(1))
    torch.mm(a, b)
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        torch.mm(a, b)
        timings.append(time.perf_counter() - started)
    return 2 * size**3 / float(np.median(timings))


@pytest.mark.parametrize("bf16", [False, True], ids=["fp32", "bf16"])
def test_training_flops_against_single_core_matmul(benchmark: pytest.FixtureRequest, bf16: bool) -> None:
    """Training FLOP/s (2 x 3 x forward MACs per sample: forward, input and weight
    gradients) over a random sample of the canonical classes, one thread, against
    one-thread fp32 matmul."""
    protocol = _protocol().replace(epochs=1, bf16=bf16)
    space = CellSpace()
    # Class representatives, as the generator trains them: they carry the zero op on edges
    # that cannot reach the output, so the counted FLOPs are work the network really does.
    archs = [int(i) for i in np.random.default_rng(0).choice(space.unique_indices(), size=8, replace=False)]
    _, macs = cost_arrays(space, protocol.model_config(), np.asarray(archs))
    data = protocol.load_data()
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        peak = _matmul_flops_per_second()

        def train_sample() -> list[float]:
            rates = []
            for arch, arch_macs in zip(archs, macs, strict=True):
                result = train_architecture(arch, 0, protocol, data=data, space=space)
                seconds = sum(result.metrics["train_seconds"])
                rates.append(6.0 * float(arch_macs) * data.train_x.shape[0] * protocol.epochs / seconds)
            return rates

        rates = benchmark.pedantic(train_sample, rounds=1, iterations=1, warmup_rounds=0)
    finally:
        torch.set_num_threads(previous)
    mean_rate = float(np.mean(rates))
    benchmark.extra_info.update(
        {
            "matmul_gflops_1_thread": peak / 1e9,
            "training_gflops_mean": mean_rate / 1e9,
            "training_gflops_per_arch": [r / 1e9 for r in rates],
            "fraction_of_matmul": mean_rate / peak,
        }
    )
    assert all(math.isfinite(r) and r > 0 for r in rates)

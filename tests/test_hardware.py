"""Hardware probes: device discovery, latency timing and peak-memory accounting."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch
from torch import nn

from nasbench.core.errors import ConfigError
from nasbench.nets import hardware
from nasbench.nets.hardware import (
    PROBE_METRICS,
    Device,
    available_devices,
    measure_latency_ms,
    measure_peak_memory_mb,
    probe,
    probe_metric_names,
    usable_cpu_cores,
)
from nasbench.nets.models import build_model, get_model_config

ALL_CONV3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
TINY = get_model_config("tiny")
TINY_SHAPE = (TINY.input_channels, TINY.resolution, TINY.resolution)
CPU_1T = Device.cpu(1)
MIB = 2**20


@pytest.fixture(autouse=True)
def keep_thread_count() -> Iterator[None]:
    """Tests change torch's thread count on purpose; put it back after each."""
    previous = torch.get_num_threads()
    yield
    torch.set_num_threads(previous)


class Recorder(nn.Module):
    """Identity network that records how it was called."""

    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.fail = fail
        self.calls = 0
        self.seen: list[tuple[bool, bool, int]] = []  # (training, inference mode, threads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        self.seen.append((self.training, torch.is_inference_mode_enabled(), torch.get_num_threads()))
        if self.fail:
            raise RuntimeError("boom")
        return x


# ----------------------------------------------------------------- devices


def test_available_devices_on_this_machine() -> None:
    """cpu-1t first, then cpu-<n>t with n the usable cores (CPU affinity) when n > 1."""
    cores = usable_cpu_cores()
    if hasattr(os, "sched_getaffinity"):
        assert cores == len(os.sched_getaffinity(0))
    devices = available_devices(include_cuda=False)
    assert devices[0] == Device("cpu-1t", "cpu", 1)
    expected = ["cpu-1t"] + ([f"cpu-{cores}t"] if cores > 1 else [])
    assert [d.device_id for d in devices] == expected
    assert [d.threads for d in devices] == [1] + ([cores] if cores > 1 else [])
    assert all(d.kind == "cpu" for d in devices)
    with_cuda = [d.device_id for d in available_devices()]
    assert with_cuda == expected + (["cuda0"] if torch.cuda.is_available() else [])


def test_describe_is_json_with_cpu_model_and_no_paths() -> None:
    for device in available_devices():
        description = device.describe()
        text = json.dumps(description)
        assert json.loads(text) == description
        assert description["kind"] == device.kind and description["threads"] == device.threads
        assert isinstance(description["cpu_model"], str) and description["cpu_model"].strip()
        assert description["torch_version"] == torch.__version__
        assert description["logical_cores"] == os.cpu_count()
        assert '"/' not in text and str(Path.home()) not in text and os.getcwd() not in text


@pytest.mark.parametrize(
    ("device_id", "kind", "threads"),
    [
        ("cpu-0t", "cpu", 0),
        ("cpu", "cpu", None),
        ("gpu0", "gpu", None),
        ("cuda0", "cuda", 2),
        ("gpu", "cuda", None),
    ],
)
def test_bad_device_is_config_error(device_id: str, kind: str, threads: int | None) -> None:
    with pytest.raises(ConfigError):
        Device(device_id, kind, threads)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_device_without_cuda_is_config_error() -> None:
    assert Device.cuda(0).device_id == "cuda0"
    with pytest.raises(ConfigError, match="CUDA"):
        measure_latency_ms(Recorder(), (1, 2, 2), 1, Device.cuda(0))


# ----------------------------------------------------------------- latency


def test_latency_is_median_of_timed_runs_after_warmup(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clock reads start only after the warm-up passes, bracket each timed pass, and the
    median (not mean or minimum) of the durations is returned, in milliseconds."""
    model = Recorder()
    durations_ns = [5_000_000, 1_000_000, 100_000_000]  # median 5 ms, mean 35.3 ms, min 1 ms
    readings = [t for k, d in enumerate(durations_ns) for t in (10**9 * k, 10**9 * k + d)]
    reads_at_call: list[int] = []

    def fake_clock() -> int:
        reads_at_call.append(model.calls)
        return readings[len(reads_at_call) - 1]

    monkeypatch.setattr(hardware.time, "perf_counter_ns", fake_clock)
    model.train()
    latency_ms = measure_latency_ms(model, (1, 2, 2), 4, CPU_1T, warmup=2, repeats=3)
    assert latency_ms == 5.0
    assert model.calls == 5
    assert reads_at_call == [2, 3, 3, 4, 4, 5]  # no read around the two warm-up passes
    assert all(not training and inference for training, inference, _ in model.seen)
    assert model.training  # mode restored


def test_latency_sets_threads_and_restores_them() -> None:
    torch.set_num_threads(1)
    model = Recorder()
    measure_latency_ms(model, (1, 2, 2), 1, Device.cpu(2), warmup=1, repeats=2)
    assert {threads for _, _, threads in model.seen} == {2}
    assert torch.get_num_threads() == 1
    with pytest.raises(RuntimeError, match="boom"):
        measure_latency_ms(Recorder(fail=True), (1, 2, 2), 1, Device.cpu(2), warmup=1, repeats=2)
    assert torch.get_num_threads() == 1
    model = Recorder()
    measure_peak_memory_mb(model, (1, 2, 2), 1, Device.cpu(2), mode="inference")
    assert {threads for _, _, threads in model.seen} == {2}
    assert torch.get_num_threads() == 1


def test_latency_of_a_real_network_is_positive() -> None:
    model = build_model(ALL_CONV3, TINY, seed=0)
    latency_ms = measure_latency_ms(model, TINY_SHAPE, 8, CPU_1T, warmup=1, repeats=3)
    assert math.isfinite(latency_ms) and 0.0 < latency_ms < 1000.0


# ----------------------------------------------------------------- memory


@pytest.mark.parametrize("batch", [256, 1024])
def test_memory_of_a_linear_layer_matches_hand_count(batch: int) -> None:
    """Linear(1000 -> 1000, no bias), float32, batch B, input not requiring grad.

    Inference: only the logits Z, 4000*B bytes. Training (forward, cross-entropy, backward):
    forward keeps the log-softmax output L (Z is freed: matmul saves the input, not Z);
    backward makes dL (4000*B) then dZ (4000*B) while L is still saved, i.e. 12000*B live,
    then frees L and dL and allocates the weight gradient (4,000,000) next to dZ. So the
    peak is max(12000*B, 4e6 + 4000*B) bytes, plus a few scalars (loss, its gradient).
    B = 256 peaks at the gradient (5.024 MB), B = 1024 at the backward chain (12.288 MB).
    Tolerance 1%.
    """
    model = nn.Sequential(nn.Flatten(), nn.Linear(1000, 1000, bias=False))  # flatten is a view
    train_bytes = measure_peak_memory_mb(model, (1000, 1, 1), batch, CPU_1T, mode="train") * MIB
    infer_bytes = measure_peak_memory_mb(model, (1000, 1, 1), batch, CPU_1T, mode="inference") * MIB
    assert train_bytes == pytest.approx(max(12_000 * batch, 4_000_000 + 4_000 * batch), rel=0.01)
    assert infer_bytes == pytest.approx(4_000 * batch, rel=0.01)
    assert model[1].weight.grad is None  # the training step ran on a copy
    # A gradient already there is neither counted nor accumulated into: the step starts without one.
    model[1].weight.grad = torch.ones_like(model[1].weight)
    again_bytes = measure_peak_memory_mb(model, (1000, 1, 1), batch, CPU_1T, mode="train") * MIB
    assert again_bytes == train_bytes
    assert torch.equal(model[1].weight.grad, torch.ones_like(model[1].weight))
    measure_peak_memory_mb(model, (1000, 1, 1), batch, CPU_1T, mode="inference")
    assert torch.equal(model[1].weight.grad, torch.ones_like(model[1].weight))


def test_train_memory_exceeds_inference_and_leaves_model_untouched() -> None:
    model = build_model(ALL_CONV3, TINY, seed=0)
    state = {name: value.clone() for name, value in model.state_dict().items()}
    train_mb = measure_peak_memory_mb(model, TINY_SHAPE, 64, CPU_1T, mode="train")
    infer_mb = measure_peak_memory_mb(model, TINY_SHAPE, 64, CPU_1T, mode="inference")
    assert train_mb > 1.5 * infer_mb > 0.0
    assert all(p.grad is None for p in model.parameters())
    for name, value in model.state_dict().items():
        assert torch.equal(value, state[name]), name  # BN running statistics included
    assert model.training  # a fresh model is in train mode and stays there
    assert measure_peak_memory_mb(model, TINY_SHAPE, 64, CPU_1T, mode="train") == train_mb  # repeatable


@pytest.mark.parametrize("mode", ["train", "inference"])
def test_memory_grows_with_batch_size(mode: str) -> None:
    model = build_model(ALL_CONV3, TINY, seed=0)
    peaks = [measure_peak_memory_mb(model, TINY_SHAPE, batch, CPU_1T, mode=mode) for batch in (16, 64, 256)]
    assert 0.0 < peaks[0] < peaks[1] < peaks[2]


# ----------------------------------------------------------------- probe


def test_probe_conv_network_costs_more_than_empty_cell() -> None:
    """The all-conv3x3 cell outweighs the all-zero cell in memory and batch-256 latency."""
    rng_state = torch.random.get_rng_state()
    conv = probe(ALL_CONV3, "tiny", device=CPU_1T, warmup=2, repeats=7)
    empty = probe(ALL_NONE, "tiny", device=CPU_1T, warmup=2, repeats=7)
    assert torch.equal(torch.random.get_rng_state(), rng_state)  # global RNG untouched
    assert tuple(conv) == PROBE_METRICS == probe_metric_names((1, 256))
    assert PROBE_METRICS == (
        "latency_ms_b1",
        "latency_ms_b256",
        "train_peak_memory_mb",
        "infer_peak_memory_mb",
    )
    for result in (conv, empty):
        assert all(isinstance(v, float) and math.isfinite(v) and v > 0.0 for v in result.values())
    assert conv["train_peak_memory_mb"] > empty["train_peak_memory_mb"]
    assert conv["infer_peak_memory_mb"] > empty["infer_peak_memory_mb"]
    assert conv["latency_ms_b256"] > empty["latency_ms_b256"]
    assert conv["latency_ms_b256"] > conv["latency_ms_b1"]


def test_probe_uses_given_batch_sizes() -> None:
    result = probe(ALL_CONV3, TINY, "nb201", CPU_1T, batch_sizes=(2, 32), train_batch_size=8, repeats=2)
    assert tuple(result) == (
        "latency_ms_b2",
        "latency_ms_b32",
        "train_peak_memory_mb",
        "infer_peak_memory_mb",
    )
    model = build_model(ALL_CONV3, TINY, seed=0)
    assert result["infer_peak_memory_mb"] == measure_peak_memory_mb(
        model, TINY_SHAPE, 32, CPU_1T, mode="inference"
    )
    assert result["train_peak_memory_mb"] == measure_peak_memory_mb(
        model, TINY_SHAPE, 8, CPU_1T, mode="train"
    )


@pytest.mark.parametrize(
    "options",
    [
        {"batch_sizes": ()},
        {"batch_sizes": (0,)},
        {"batch_sizes": (1, -4)},
        {"batch_sizes": (4, 4)},
        {"batch_sizes": (2.5,)},
        {"train_batch_size": 0},
        {"repeats": 0},
        {"warmup": -1},
        {"seed": -1},
        {"device": "cpu-1t"},
    ],
)
def test_probe_bad_arguments_are_config_errors(options: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        probe(ALL_NONE, "tiny", **options)  # type: ignore[arg-type]


def test_measure_bad_arguments_are_config_errors() -> None:
    model = Recorder()
    with pytest.raises(ConfigError, match="mode"):
        measure_peak_memory_mb(model, (1, 2, 2), 2, CPU_1T, mode="eval")
    with pytest.raises(ConfigError):
        measure_peak_memory_mb(model, (1, 2, 2), 0, CPU_1T, mode="train")
    with pytest.raises(ConfigError):
        measure_latency_ms(model, (1, 2, 2), 0, CPU_1T)
    with pytest.raises(ConfigError):
        measure_latency_ms(model, (1, 0, 2), 1, CPU_1T)
    with pytest.raises(ConfigError):
        measure_latency_ms(model, (1, 2, 2), 1, CPU_1T, repeats=0)
    assert model.calls == 0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: probe(ALL_NONE, "tiny", warmup=-1), "probe: warmup must be >= 0, got -1"),
        (lambda: probe(ALL_NONE, "tiny", batch_sizes=(1, 0)), "probe: batch_sizes[1] must be >= 1, got 0"),
        (lambda: probe(ALL_NONE, "tiny", batch_sizes=(2, 2)), "probe: batch_sizes has repeats: (2, 2)"),
        (
            lambda: measure_latency_ms(Recorder(), (1, 0, 2), 1, CPU_1T),
            "measure_latency_ms: input_shape[1] must be >= 1, got 0",
        ),
        (
            lambda: measure_peak_memory_mb(Recorder(), (1, 2, 2), 2, CPU_1T, mode="eval"),
            "measure_peak_memory_mb: mode must be one of 'train', 'inference', got 'eval'",
        ),
        (
            lambda: measure_latency_ms(Recorder(), (1, 2, 2), 1, "cpu-1t"),  # type: ignore[arg-type]
            "measure_latency_ms: device must be a nasbench.nets.hardware.Device, got 'cpu-1t'",
        ),
    ],
)
def test_bad_argument_messages_name_the_function_and_parameter(
    call: Callable[[], object], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        call()
    assert str(info.value) == message

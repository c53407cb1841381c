"""Hardware probes: inference latency and peak memory of one network on one device.

The generator stores what :func:`probe` returns under ``devices/<device-id>/<name>`` of the
table, one float32 per row, with :meth:`Device.describe` as the group's ``description``.

Latency is the median wall time of ``repeats`` forward passes in eval mode under
``torch.inference_mode()``, after ``warmup`` untimed passes, on a fixed seeded input.

Peak memory is the most tensor memory that torch allocates *during* one step above what
existed before it, in MiB (bytes / 2**20). Weights, buffers and the input batch (and the
labels) exist before the step and are excluded; everything the step allocates is included:
activations, activations saved for backward, the loss and, for a training step, the
parameter gradients (the step starts with every ``.grad`` unset) and the backward
temporaries. A training step is forward, cross-entropy against seeded labels and backward,
with no optimizer; an inference step is one forward under ``inference_mode`` (its logits
included). On CPU the allocations and frees come from the torch profiler's memory events
(``profile_memory=True``), summed in time order; on CUDA from the caching allocator's
``max_memory_allocated`` minus ``memory_allocated`` before the step. Memory that the math
libraries allocate outside torch's allocator (oneDNN scratch pads, BLAS buffers) is not
counted on CPU.
"""

from __future__ import annotations

import copy
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional
from torch.profiler import DeviceType, ProfilerActivity, profile

from nasbench.core.errors import ConfigError
from nasbench.core.space import ArchLike, CellSpace
from nasbench.core.validation import Instance, check_choice, check_int, validate
from nasbench.nets.models import MacroConfig, build_model, get_model_config

__all__ = [
    "DEFAULT_BATCH_SIZES",
    "DEFAULT_DEVICE",
    "MEMORY_MODES",
    "PROBE_METRICS",
    "Device",
    "available_devices",
    "measure_latency_ms",
    "measure_peak_memory_mb",
    "probe",
    "probe_metric_names",
    "usable_cpu_cores",
]

#: Batch sizes :func:`probe` times by default: single-image latency and throughput-style.
DEFAULT_BATCH_SIZES: tuple[int, ...] = (1, 256)
#: ``mode`` values of :func:`measure_peak_memory_mb`.
MEMORY_MODES: tuple[str, ...] = ("train", "inference")
#: Seed of the input batch and labels every probe feeds the network.
INPUT_SEED = 0

_BYTES_PER_MB = 2**20
_CUDA_ID = re.compile(r"cuda([0-9]+)")


@dataclass(frozen=True)
class Device:
    """Where a network is measured: a CPU with a fixed intra-op thread count, or one GPU.

    ``device_id`` is the table's group name: ``cpu-<threads>t`` or ``cuda<index>``.
    """

    device_id: str
    kind: str
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.kind == "cpu":
            if isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 1:
                raise ConfigError(f"a CPU device needs a positive thread count, got {self.threads!r}")
        elif self.kind == "cuda":
            if self.threads is not None:
                raise ConfigError(f"a CUDA device takes no thread count, got {self.threads!r}")
            if not _CUDA_ID.fullmatch(self.device_id):
                raise ConfigError(f"a CUDA device id is 'cuda<index>', got {self.device_id!r}")
        else:
            raise ConfigError(f"device kind must be 'cpu' or 'cuda', got {self.kind!r}")

    @classmethod
    def cpu(cls, threads: int) -> Device:
        """The CPU running ``threads`` intra-op threads, id ``cpu-<threads>t``."""
        return cls(f"cpu-{threads}t", "cpu", threads)

    @classmethod
    def cuda(cls, index: int = 0) -> Device:
        """GPU number ``index``, id ``cuda<index>``."""
        return cls(f"cuda{index}", "cuda", None)

    @property
    def torch_device(self) -> torch.device:
        """The ``torch.device`` tensors go to."""
        if self.kind == "cpu":
            return torch.device("cpu")
        match = _CUDA_ID.fullmatch(self.device_id)
        assert match is not None  # checked in __post_init__
        return torch.device("cuda", int(match.group(1)))

    def describe(self) -> dict[str, Any]:
        """JSON-ready description for the table: what was measured, with which software.

        Holds no paths or host names, only hardware and version facts.
        """
        info: dict[str, Any] = {
            "device_id": self.device_id,
            "kind": self.kind,
            "threads": self.threads,
            "cpu_model": _cpu_model(),
            "logical_cores": os.cpu_count(),
            "usable_cores": usable_cpu_cores(),
            "machine": platform.machine(),
            "torch_version": torch.__version__,
        }
        if self.kind == "cuda":
            props = torch.cuda.get_device_properties(self.torch_device)
            info.update(
                gpu_name=props.name,
                gpu_capability=f"{props.major}.{props.minor}",
                gpu_memory_mb=round(props.total_memory / _BYTES_PER_MB),
                cuda_version=torch.version.cuda,
            )
        return info


#: The device :func:`probe` measures on unless told otherwise.
DEFAULT_DEVICE = Device.cpu(1)


def usable_cpu_cores() -> int:
    """Logical cores this process may run on (its CPU affinity, which containers and
    ``taskset`` restrict), falling back to ``os.cpu_count()`` where affinity is unknown."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def available_devices(include_cuda: bool = True) -> list[Device]:
    """The devices to measure on this machine: ``cpu-1t``; ``cpu-<n>t`` with ``n`` the
    usable cores (:func:`usable_cpu_cores`) when ``n > 1``; ``cuda0`` when CUDA works."""
    devices = [Device.cpu(1)]
    cores = usable_cpu_cores()
    if cores > 1:
        devices.append(Device.cpu(cores))
    if include_cuda and torch.cuda.is_available():
        devices.append(Device.cuda(0))
    return devices


def probe_metric_names(batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES) -> tuple[str, ...]:
    """The names :func:`probe` returns for ``batch_sizes``, in order."""
    return (*(f"latency_ms_b{size}" for size in batch_sizes), "train_peak_memory_mb", "infer_peak_memory_mb")


#: The names :func:`probe` returns with the default batch sizes, in order.
PROBE_METRICS: tuple[str, ...] = probe_metric_names(DEFAULT_BATCH_SIZES)


def probe(
    arch: ArchLike,
    config: str | MacroConfig | None,
    space: CellSpace | str | None = None,
    device: Device = DEFAULT_DEVICE,
    *,
    batch_sizes: tuple[int, ...] = DEFAULT_BATCH_SIZES,
    train_batch_size: int = 256,
    warmup: int = 3,
    repeats: int = 10,
    seed: int = 0,
) -> dict[str, float]:
    """Latency and peak memory of one architecture's network on ``device``.

    Returns ``latency_ms_b<size>`` for every batch size (median of ``repeats``),
    ``train_peak_memory_mb`` (one training step at ``train_batch_size``) and
    ``infer_peak_memory_mb`` (one forward at the largest batch size), in the order of
    :func:`probe_metric_names`. The network is built with weights from ``seed``.
    """
    sizes = _check_batch_sizes("probe", batch_sizes)
    check_int("probe", "train_batch_size", train_batch_size, 1)
    check_int("probe", "warmup", warmup, 0)
    check_int("probe", "repeats", repeats, 1)
    check_int("probe", "seed", seed, 0)
    _check_device("probe", device)
    macro = get_model_config(config)
    model = build_model(arch, macro, space, seed=seed)
    input_shape = (macro.input_channels, macro.resolution, macro.resolution)
    results: dict[str, float] = {}
    for size in sizes:
        results[f"latency_ms_b{size}"] = measure_latency_ms(
            model, input_shape, size, device, warmup=warmup, repeats=repeats
        )
    results["train_peak_memory_mb"] = measure_peak_memory_mb(
        model, input_shape, train_batch_size, device, mode="train"
    )
    results["infer_peak_memory_mb"] = measure_peak_memory_mb(
        model, input_shape, max(sizes), device, mode="inference"
    )
    return results


def measure_latency_ms(
    model: nn.Module,
    input_shape: tuple[int, ...],
    batch_size: int,
    device: Device,
    *,
    warmup: int = 3,
    repeats: int = 10,
) -> float:
    """Median milliseconds of one forward pass of a ``batch_size`` batch on ``device``.

    ``input_shape`` is one example's shape (channels, height, width). Runs in eval mode
    under ``inference_mode``; ``warmup`` passes are not timed; each timed pass is bracketed
    by CUDA synchronisation on a GPU. The model is moved to the device and keeps its
    train/eval mode; on CPU torch's thread count is set for the call and then restored.
    """
    owner = "measure_latency_ms"
    shape = _check_input_shape(owner, input_shape)
    check_int(owner, "batch_size", batch_size, 1)
    check_int(owner, "warmup", warmup, 0)
    check_int(owner, "repeats", repeats, 1)
    _check_device(owner, device)
    with _running_on(device):
        model.to(device.torch_device)
        inputs = _seeded_inputs(shape, batch_size, device)
        was_training = model.training
        durations_ns: list[int] = []
        try:
            model.eval()
            with torch.inference_mode():
                for _ in range(warmup):
                    model(inputs)
                _synchronize(device)
                for _ in range(repeats):
                    start_ns = time.perf_counter_ns()
                    model(inputs)
                    _synchronize(device)
                    durations_ns.append(time.perf_counter_ns() - start_ns)
        finally:
            model.train(was_training)
    return statistics.median(durations_ns) / 1e6


def measure_peak_memory_mb(
    model: nn.Module,
    input_shape: tuple[int, ...],
    batch_size: int,
    device: Device,
    *,
    mode: str,
) -> float:
    """Peak tensor memory (MiB) that one step allocates above what existed before it.

    ``mode="train"``: forward in train mode, cross-entropy against seeded labels, backward,
    no optimizer, starting with no gradients; includes activations, saved tensors, the
    loss, parameter gradients and backward temporaries. ``mode="inference"``: one forward
    in eval mode under ``inference_mode``, logits included. Excluded in both: weights,
    buffers, the input batch and labels. The model must return logits ``[batch, classes]``.
    A training step runs on a copy, so the model's buffers and gradients stay untouched;
    the model itself is moved to the device.
    """
    owner = "measure_peak_memory_mb"
    check_choice(owner, "mode", mode, MEMORY_MODES)
    shape = _check_input_shape(owner, input_shape)
    check_int(owner, "batch_size", batch_size, 1)
    _check_device(owner, device)
    with _running_on(device):
        model.to(device.torch_device)
        was_training = model.training
        try:
            if mode == "train":
                network = copy.deepcopy(model)
                network.train()
                network.zero_grad(set_to_none=True)  # gradients are allocated inside the step
            else:
                network = model.eval()
            inputs = _seeded_inputs(shape, batch_size, device)
            with torch.inference_mode():
                num_classes = int(network(inputs).shape[-1])  # also warms up lazy state
            generator = torch.Generator().manual_seed(INPUT_SEED)
            labels = torch.randint(num_classes, (batch_size,), generator=generator).to(device.torch_device)

            def step() -> None:
                if mode == "train":
                    functional.cross_entropy(network(inputs), labels).backward()
                else:
                    with torch.inference_mode():
                        network(inputs)

            peak_bytes = _cuda_peak_bytes(step, device) if device.kind == "cuda" else _cpu_peak_bytes(step)
        finally:
            model.train(was_training)
    return peak_bytes / _BYTES_PER_MB


def _cpu_peak_bytes(step: Callable[[], None]) -> int:
    """Peak of the running sum of CPU allocations minus frees the profiler records during
    ``step``; frees of memory allocated before profiling are not reported by torch."""
    with _native_stderr_silenced(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    try:
        events = prof.profiler.kineto_results.events()
    except AttributeError as exc:  # the profiler's result layout changed
        raise RuntimeError(
            f"torch {torch.__version__} does not expose the profiler's memory events; "
            "CPU peak memory cannot be measured"
        ) from exc
    changes = [
        (_start_ns(event), int(event.nbytes()))
        for event in events
        if event.name() == "[memory]" and event.device_type() == DeviceType.CPU
    ]
    changes.sort(key=lambda change: change[0])  # stable: same-time events keep their order
    running = peak = 0
    for _, nbytes in changes:
        running += nbytes
        peak = max(peak, running)
    return peak


@contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null: the profiler's native logger prints a
    ``profiler_start``/``profiler_stop`` line per use that no setting turns off."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as sink:
            os.dup2(sink.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)


def _start_ns(event: Any) -> int:
    """Start of a profiler event in ns (``start_ns`` in recent torch, ``start_us`` before)."""
    if hasattr(event, "start_ns"):
        return int(event.start_ns())
    return int(event.start_us()) * 1000


def _cuda_peak_bytes(step: Callable[[], None], device: Device) -> int:
    """Caching-allocator peak during ``step`` minus what was allocated before it."""
    torch_device = device.torch_device
    torch.cuda.synchronize(torch_device)
    torch.cuda.reset_peak_memory_stats(torch_device)
    before = torch.cuda.memory_allocated(torch_device)
    step()
    torch.cuda.synchronize(torch_device)
    return max(0, torch.cuda.max_memory_allocated(torch_device) - before)


@contextmanager
def _running_on(device: Device) -> Iterator[None]:
    """Set torch's intra-op thread count for a CPU device, restoring it afterwards."""
    if device.kind != "cpu":
        yield
        return
    previous = torch.get_num_threads()
    assert device.threads is not None  # checked by Device
    torch.set_num_threads(device.threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _synchronize(device: Device) -> None:
    if device.kind == "cuda":
        torch.cuda.synchronize(device.torch_device)


def _seeded_inputs(shape: tuple[int, ...], batch_size: int, device: Device) -> torch.Tensor:
    """A standard-normal batch from a private generator (the global RNG is untouched)."""
    generator = torch.Generator().manual_seed(INPUT_SEED)
    return torch.randn((batch_size, *shape), generator=generator).to(device.torch_device)


def _cpu_model() -> str:
    """The CPU's marketing name: /proc/cpuinfo's "model name", else platform.processor()."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _check_device(owner: str, device: Device) -> None:
    """A :class:`Device` that works on this machine (CUDA available for a GPU)."""
    validate(owner, "device", device, Instance((Device,), "a nasbench.nets.hardware.Device"))
    if device.kind == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"{owner}: device {device.device_id} asked for, but CUDA is not available")


def _check_batch_sizes(owner: str, batch_sizes: Sequence[int]) -> tuple[int, ...]:
    """Batch sizes as a tuple of distinct integers >= 1 (at least one)."""
    sizes = tuple(batch_sizes)
    if not sizes:
        raise ConfigError(f"{owner}: batch_sizes must name at least one batch size")
    sizes = tuple(check_int(owner, f"batch_sizes[{k}]", size, 1) for k, size in enumerate(sizes))
    if len(set(sizes)) != len(sizes):
        raise ConfigError(f"{owner}: batch_sizes has repeats: {sizes}")
    return sizes


def _check_input_shape(owner: str, input_shape: Sequence[int]) -> tuple[int, ...]:
    """One example's shape as a non-empty tuple of integers >= 1."""
    shape = tuple(input_shape)
    if not shape:
        raise ConfigError(f"{owner}: input_shape must not be empty")
    return tuple(check_int(owner, f"input_shape[{k}]", extent, 1) for k, extent in enumerate(shape))

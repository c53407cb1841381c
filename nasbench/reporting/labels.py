"""Human labels, with units, for the metric names that results and tables use.

One map for every figure axis and table header of the reports: ``test_acc`` becomes
"Test accuracy (%)", ``cpu-1t/latency_ms_b1`` "Latency, CPU 1 thread, batch 1 (ms)",
``params_m`` "Parameters (M)". A name the map does not know is returned unchanged, so a
plug-in's own metric still shows, under its own name.
"""

from __future__ import annotations

import re

__all__ = ["METRIC_LABELS", "constraint_label", "device_label", "in_sentence", "metric_label"]

#: Metrics without a device, by name.
METRIC_LABELS: dict[str, str] = {
    "test_acc": "Test accuracy (%)",
    "val_acc": "Validation accuracy (%)",
    "train_acc": "Training accuracy (%)",
    "test_loss": "Test loss (nats)",
    "val_loss": "Validation loss (nats)",
    "train_loss": "Training loss (nats)",
    "train_seconds": "Training time per epoch (s)",
    "eval_seconds": "Evaluation time per epoch (s)",
    "params_m": "Parameters (M)",
    "flops_m": "FLOPs (M)",
    "params": "Parameters (count)",
    "flops": "FLOPs (count)",
    "regret": "Test regret (percentage points)",
    "sim_seconds": "Simulated time (s)",
    "evaluations": "Evaluations",
    "epoch": "Epoch",
    "weight": "Architecture weight",
}

_LATENCY = re.compile(r"latency_ms_b(\d+)")
_MEMORY = {"train_peak_memory_mb": "training", "infer_peak_memory_mb": "inference"}


def device_label(device: str) -> str:
    """``cpu-1t`` → "CPU 1 thread", ``cuda0`` → "GPU cuda0"; other ids unchanged."""
    cpu = re.fullmatch(r"cpu-(\d+)t", device)
    if cpu:
        threads = int(cpu.group(1))
        return f"CPU {threads} thread{'s' if threads != 1 else ''}"
    if re.fullmatch(r"cuda\d+", device):
        return f"GPU {device}"
    if device == "nb201-gpu":
        return "GPU (NAS-Bench-201's)"
    return device


def metric_label(name: str) -> str:
    """The label of a metric name, with its unit; the name itself when it is not known."""
    if name in METRIC_LABELS:
        return METRIC_LABELS[name]
    device, _, metric = name.rpartition("/")
    latency = _LATENCY.fullmatch(metric)
    where = f", {device_label(device)}" if device else ""
    if latency:
        return f"Latency{where}, batch {int(latency.group(1))} (ms)"
    if metric in _MEMORY:
        return f"Peak memory, {_MEMORY[metric]}{where} (MB)"
    return name


def in_sentence(label: str) -> str:
    """A label inside a sentence: its first letter in lower case, unless it starts an
    acronym ("Test accuracy (%)" → "test accuracy (%)", "FLOPs (M)" unchanged)."""
    return label if len(label) > 1 and label[1].isupper() else label[:1].lower() + label[1:]


def constraint_label(constraint: str) -> str:
    """``cpu-1t/latency_ms_b1<=0.25`` → "latency, CPU 1 thread, batch 1 (ms) ≤ 0.25"; any other
    text unchanged."""
    metric, separator, limit = constraint.partition("<=")
    if not separator or not metric.strip() or not limit.strip():
        return constraint
    return f"{in_sentence(metric_label(metric.strip()))} \u2264 {limit.strip()}"

"""NASLib's NAS-Bench-201 pickles (``nb201_cifar10_full_training.pickle``,
``nb201_cifar100_full_training.pickle``, ``nb201_ImageNet16_full_training.pickle``,
``nb201_ninapro_full_training.pickle``) as tables, one per dataset the file holds.

Layout (read from NASLib's ``NasBench201SearchSpace.query`` and
``scripts/prestore_nasbench360.py``): a plain pickle ``{arch string: {dataset:
{train_losses, eval_losses, train_acc1es, eval_acc1es: lists by epoch, cost_info: {flops,
params, latency, train_time}}}}``; CIFAR-10 is under ``cifar10-valid``. One run per
architecture, its seed not recorded: one seed column labelled 0.

NASLib keeps one evaluation curve per dataset (``eval_acc1es``) and answers both its
validation and its test accuracy from it. These tables do the same, so that searches
reproduce NASLib's numbers: ``val_*`` and ``test_*`` are that curve (the very same
array) and ``dataset`` says the test is not held out. Which NAS-Bench-201 set the curve
is, the file does not say. ``cost_info.train_time`` is one per-epoch training time
(NASLib's conversion takes the first epoch's) and fills every epoch of
``train_seconds``; the latency (seconds per batch of 256, NAS-Bench-201's) becomes device
``nb201-gpu``. The file is small enough to load whole (restricted unpickler, nothing
executed).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.core.errors import ArchitectureError, TableError
from nasbench.core.space import CellSpace
from nasbench.generation.importers.nb201 import NB201_DEVICE, nb201_protocol
from nasbench.generation.importers.records import ImportedBenchmark
from nasbench.generation.importers.safe_pickle import DATA_GLOBALS, load_restricted, open_maybe_bz2
from nasbench.generation.importers.tabular import NB201_CITATION
from nasbench.generation.importers.write import file_sha256

__all__ = ["NASLIB_DATASETS", "read_naslib"]

NASLIB_CITATION = (
    "Colin White, Arber Zela, Robin Ru, Yang Liu and Frank Hutter. How Powerful are Performance "
    "Predictors in Neural Architecture Search? NeurIPS 2021 (NASLib)."
)
#: NASLib's dataset keys -> (table dataset name, classes, resolution, input channels).
NASLIB_DATASETS: dict[str, tuple[str, int, int, int]] = {
    "cifar10-valid": ("cifar10-valid", 10, 32, 3),
    "cifar100": ("cifar100", 100, 32, 3),
    "ImageNet16-120": ("ImageNet16-120", 120, 16, 3),
    "ninapro": ("ninapro", 18, 32, 1),
}
_CURVES = {
    "train_acc": "train_acc1es",
    "train_loss": "train_losses",
    "val_acc": "eval_acc1es",
    "val_loss": "eval_losses",
}


def _floats(values: Any, what: str) -> list[float]:
    if not isinstance(values, (list, tuple)):
        raise TypeError(f"{what} is not a list by epoch")
    return [float("nan") if value is None else float(value) for value in values]


def _latency_seconds(value: Any) -> float:
    """NASLib stores NAS-Bench-201's latency as a number, NinaPro's as the source's list."""
    if isinstance(value, (list, tuple)):
        values = [float(item) for item in value if item is not None and float(item) > 0]
        return sum(values) / len(values) if values else float("nan")
    return float("nan") if value is None or float(value) <= 0 else float(value)


class _Dataset:
    """One dataset's arrays, filled architecture by architecture."""

    def __init__(self, rows: int, epochs: int) -> None:
        self.epochs = epochs
        self.curves = {name: np.full((rows, 1, epochs), np.nan, dtype=np.float32) for name in _CURVES}
        self.train_seconds = np.full((rows, 1, epochs), np.nan, dtype=np.float32)
        self.params_m = np.full(rows, np.nan)
        self.flops_m = np.full(rows, np.nan)
        self.latency_s = np.full(rows, np.nan)

    def add(self, row: int, entry: dict[str, Any]) -> None:
        for name, key in _CURVES.items():
            series = _floats(entry.get(key), key)
            if len(series) != self.epochs:
                raise ValueError(f"{key} has {len(series)} epochs, others {self.epochs}")
            self.curves[name][row, 0, :] = series
        costs = entry.get("cost_info") or {}
        if not isinstance(costs, dict):
            raise TypeError("cost_info is not a dict")
        if costs.get("train_time") is not None:
            self.train_seconds[row, 0, :] = float(costs["train_time"])
        if costs.get("params") is not None:
            self.params_m[row] = float(costs["params"])
        if costs.get("flops") is not None:
            self.flops_m[row] = float(costs["flops"])
        self.latency_s[row] = _latency_seconds(costs.get("latency"))


def read_naslib(path: str | os.PathLike[str], *, progress: bool = False) -> list[ImportedBenchmark]:
    """Read a NASLib NAS-Bench-201 pickle into one :class:`ImportedBenchmark` per dataset
    it holds (validation and test are NASLib's one evaluation curve; module docstring)."""
    file = Path(path)
    source = str(file)
    if not file.is_file():
        raise TableError(f"{source}: no such file")
    with open_maybe_bz2(file, source) as stream:
        data = load_restricted(stream, source, allowed=DATA_GLOBALS)
    if not isinstance(data, dict) or not data:
        raise TableError(
            f"{source}: not a NASLib NAS-Bench-201 file (expected {{arch string: {{dataset: ...}}}})"
        )
    space = CellSpace()
    tables: dict[str, _Dataset] = {}
    items: Any = data.items()
    if progress:
        from tqdm import tqdm

        items = tqdm(items, total=len(data), desc=f"reading {file.name}", unit=" archs", leave=False)
    for arch, entries in items:
        try:
            row = space.index(arch)
        except ArchitectureError as exc:
            raise TableError(f"{source}: key {arch!r} is not a NAS-Bench-201 cell: {exc}") from None
        if not isinstance(entries, dict):
            raise TableError(f"{source}: {arch} maps to {type(entries).__name__}, expected {{dataset: data}}")
        for dataset, entry in entries.items():
            if dataset not in NASLIB_DATASETS:
                raise TableError(
                    f"{source}: unknown dataset {dataset!r} (known: {', '.join(NASLIB_DATASETS)})"
                )
            if not isinstance(entry, dict):
                raise TableError(f"{source}: {arch} / {dataset} is not a dict of curves")
            try:
                target = tables.get(dataset)
                if target is None:
                    epochs = len(entry.get("eval_acc1es") or ())
                    if epochs < 1:
                        raise ValueError("eval_acc1es holds no epoch")
                    target = tables[dataset] = _Dataset(space.size, epochs)
                target.add(row, entry)
            except (TypeError, ValueError) as exc:
                raise TableError(f"{source}: {arch} / {dataset} is malformed: {exc}") from None
    digest = file_sha256(file)
    return [_table(space, dataset, values, file.name, digest) for dataset, values in tables.items()]


def _table(space: CellSpace, key: str, values: _Dataset, file_name: str, digest: str) -> ImportedBenchmark:
    name, classes, resolution, channels = NASLIB_DATASETS[key]
    metrics = dict(values.curves)
    metrics["test_acc"], metrics["test_loss"] = metrics["val_acc"], metrics["val_loss"]
    if not np.isnan(values.train_seconds).all():
        metrics["train_seconds"] = values.train_seconds
    complete = not (np.isnan(values.params_m).any() or np.isnan(values.flops_m).any())
    devices: dict[str, tuple[dict[str, Any], dict[str, np.ndarray]]] = {}
    if not np.isnan(values.latency_s).all():
        device = (
            ("nb360-gpu", {"name": "NAS-Bench-360's GPU"})
            if key == "ninapro"
            else ("nb201-gpu", NB201_DEVICE)
        )
        devices[device[0]] = (dict(device[1]), {"latency_ms_b256": values.latency_s * 1000.0})
    dataset: dict[str, Any] = {
        "name": name,
        "classes": classes,
        "val": "NASLib's one evaluation curve ('eval_acc1es'); the file does not say which set it is",
        "test": "the same curve as val (NASLib reports it as both): not held out from the search signal",
    }
    if key == "ninapro":
        dataset["model_note"] = "input_channels/resolution are placeholders (sEMG windows, not square images)"
    return ImportedBenchmark(
        space=space,
        dataset=dataset,
        protocol=nb201_protocol("NASLib NAS-Bench-201", str(values.epochs), [0]),
        model={
            "width": 16,
            "cells_per_stage": 5,
            "input_channels": channels,
            "resolution": resolution,
            "num_classes": classes,
        },
        source={
            "format": "naslib",
            "benchmark": "NAS-Bench-201 as converted by NASLib",
            "file": file_name,
            "sha256": digest,
            "dataset_key": key,
            "citation": f"{NB201_CITATION} Converted by NASLib: {NASLIB_CITATION}",
            "licence": "MIT (NAS-Bench-201 data); NASLib: Apache-2.0",
            "url": "https://github.com/automl/NASLib",
        },
        epochs=list(range(1, values.epochs + 1)),
        seeds=[0],
        seed_axis={"kind": "runs", "note": "one run per architecture; NASLib's file does not say which seed"},
        metrics=metrics,
        params=np.rint(values.params_m * 1e6).astype(np.int64) if complete else None,
        flops=np.rint(values.flops_m * 1e6).astype(np.int64) if complete else None,
        devices=devices,
    )

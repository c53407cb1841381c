"""The table schema: names, codes, units and storage types of a table file, without h5py.

One file holds one (space, dataset, protocol). Schema version 2 (also in tables/README.md);
version 1 files (generated tables before imports existed) still open, with the defaults
noted below for what they lack:

root attributes (JSON strings unless noted)
    ``format`` "nasbench-table" (str), ``schema_version`` 1 (int), ``space``, ``model``
    (macro skeleton), ``dataset`` (name and splits), ``protocol`` (training recipe),
    ``provenance`` (package, torch, numpy, h5py and Python versions, ``created``),
    ``fidelity`` (optional, seed-to-seed agreement figures), ``checksum``
    ("sha256:<hex>" of the content, see :func:`nasbench.core.table_file.content_checksum`).
    Since version 2, all optional: ``source`` (an imported table's origin: format, file
    name, its sha256, citation, licence, url), ``values_per`` ("class", the default: one
    metric row per isomorphism class; "architecture": one row per index, for benchmarks
    such as NAS-Bench-201 that trained isomorphic cells separately), ``seed_axis``
    (``{"kind": "runs"}``, the default: one column per training seed; ``{"kind": "mean"}``:
    one column labelled -1 holding the mean over the benchmark's seeds).
``archs/index`` int64 [N]
    space index of every row, ascending (``arange(size)`` for a complete table).
``archs/ops`` int8 [N, edges]
    op index of every edge.
``archs/canonical`` int64 [N]
    space index of the row's class representative (smallest index of the class among the
    rows, see :func:`canonical_within`).
``archs/unique`` int64 [U]
    representatives, ascending: row ``u`` of every metric belongs to ``unique[u]``; with
    ``values_per="architecture"`` it equals ``archs/index`` (each row its own values).
``archs/source_index`` int64 [N] (optional, version 2)
    the imported benchmark's own index of every row; its ``order`` attribute names the
    benchmark ("nb201"), whose indices may be a shuffle of this space's order.
``epochs`` int64 [E] (optional, version 2; default ``1..E``)
    the 1-based training epoch each position of a metric's epoch axis records (``[12]``
    for a table holding only 12-epoch results).
``seeds`` int64 [S]
    training seeds; axis 1 of every metric.
``metrics/<name>`` float16/float32 [U, S, E]
    per class, seed and epoch (axis 2 is the epoch, 0 = after the first epoch):
    ``train_acc``, ``val_acc``, ``test_acc`` (percent), ``train_loss``, ``val_loss``,
    ``test_loss`` (mean cross-entropy, nats), ``train_seconds`` (CPU seconds spent training
    that epoch), ``eval_seconds`` (CPU seconds spent measuring val and test after it).
    NaN where not (yet) measured. A generated table holds all eight; an imported one
    holds what its source has (at least ``val_acc`` and ``test_acc`` for a benchmark;
    without ``train_seconds`` a search can have an evaluation budget, not a seconds one).
``runs/status`` int8 [U, S]
    :data:`STATUS_PENDING`, :data:`STATUS_DONE` or :data:`STATUS_FAILED`;
    ``runs/message`` str [U, S] says why a run failed.
``cost/params``, ``cost/flops`` int64 [N]
    parameters and multiply-accumulates of one image, as NAS-Bench-201 counts them, for
    every row (members of a class can differ in cost).
``devices/<device-id>/<name>`` float32 [N]
    per-device measurements such as ``latency_ms_b1`` or ``train_peak_memory_mb``; the
    group's ``description`` attribute (JSON) says what the device is.

Every numeric dataset is gzip-compressed with HDF5's Fletcher-32 checksum filter, so a
flipped bit fails loudly when it is read instead of answering a wrong value.

Declared shapes are bounded before anything is read (:data:`MAX_EPOCHS`, :data:`MAX_SEEDS`,
:data:`MAX_ROWS`, :data:`MAX_RUNS`, :data:`MAX_DATASET_BYTES`, :data:`MAX_TABLE_BYTES`):
a small crafted file can declare datasets of any size (unwritten chunks take no space), so
a reader that trusted the shapes would allocate whatever the file claims. The limits admit
NAS-Bench-201's 200-epoch tables with room to spare.

This module imports neither h5py nor torch, so code that only needs the constants (run
cost, reports, the training loop) does not load the HDF5 library.
"""

from __future__ import annotations

import re

import numpy as np

from nasbench.core.space import CellSpace

__all__ = [
    "COMPACT_DTYPES",
    "COST_METRICS",
    "EPOCH_METRICS",
    "FORMAT_NAME",
    "MAX_CHUNK_BYTES",
    "MAX_DATASET_BYTES",
    "MAX_EPOCHS",
    "MAX_OBJECTS",
    "MAX_ROWS",
    "MAX_RUNS",
    "MAX_SEEDS",
    "MAX_TABLE_BYTES",
    "MEAN_SEED",
    "METRIC_UNITS",
    "READABLE_SCHEMA_VERSIONS",
    "SCHEMA_VERSION",
    "SEED_AXIS_KINDS",
    "STATUS_CODES",
    "STATUS_DONE",
    "STATUS_FAILED",
    "STATUS_PENDING",
    "VALUES_PER",
    "canonical_within",
    "is_valid_name",
    "metric_unit",
]

#: The root ``format`` attribute of every table file.
FORMAT_NAME = "nasbench-table"
#: The schema version this package reads and writes.
SCHEMA_VERSION = 2
#: Schema versions this package opens (older ones read with the defaults documented above).
READABLE_SCHEMA_VERSIONS: tuple[int, ...] = (1, 2)
#: ``values_per`` attribute values: one metric row per isomorphism class, or per index.
VALUES_PER: tuple[str, ...] = ("class", "architecture")
#: ``seed_axis`` kinds: one column per training seed, or one column of seed means.
SEED_AXIS_KINDS: tuple[str, ...] = ("runs", "mean")
#: The seed label of a ``seed_axis`` of kind "mean" (it is no training seed).
MEAN_SEED = -1
#: The per-(class, seed, epoch) metrics the generator records, in the order it records them.
EPOCH_METRICS: tuple[str, ...] = (
    "train_acc",
    "train_loss",
    "val_acc",
    "val_loss",
    "test_acc",
    "test_loss",
    "train_seconds",
    "eval_seconds",
)
#: Storage types for a compact table: losses and seconds in float16 (about 3 significant
#: digits); accuracies stay float32, since float16's step near 1 (0.00049) is coarser than
#: one image of a 5,000-image validation split (0.0002) and would merge distinct results.
COMPACT_DTYPES: dict[str, str] = {
    "train_acc": "float32",
    "val_acc": "float32",
    "test_acc": "float32",
    "train_loss": "float16",
    "val_loss": "float16",
    "test_loss": "float16",
    "train_seconds": "float16",
    "eval_seconds": "float16",
}
#: Unit of an epoch metric by the suffix of its name (stored as the dataset's ``unit``).
METRIC_UNITS: dict[str, str] = {"acc": "percent", "loss": "nats", "seconds": "seconds"}
#: Per-row cost metrics every table answers (``*_m`` in millions).
COST_METRICS: tuple[str, ...] = ("params", "flops", "params_m", "flops_m")
#: ``runs/status`` codes: not yet recorded, recorded, recorded as failed (diverged).
STATUS_PENDING, STATUS_DONE, STATUS_FAILED = 0, 1, 2
STATUS_CODES: tuple[int, ...] = (STATUS_PENDING, STATUS_DONE, STATUS_FAILED)

# Sane limits on what a table file may declare, checked before any dataset is read.
#: Positions of the epoch axis (NAS-Bench-201's long protocol has 200).
MAX_EPOCHS = 1_000
#: Seed columns (benchmarks have 1-5).
MAX_SEEDS = 100
#: Rows (architectures); also at most the space's size (the 7-op cell has 117,649).
MAX_ROWS = 1 << 24
#: (class, seed) runs, U x S: the size of ``runs/status`` and ``runs/message``.
MAX_RUNS = 1 << 24
#: Declared bytes of one dataset (128 MiB; a 200-epoch, 3-seed float32 metric of all
#: 15,625 NAS-Bench-201 cells is 37.5 MB).
MAX_DATASET_BYTES = 1 << 27
#: Declared bytes of all datasets together (512 MiB).
MAX_TABLE_BYTES = 1 << 29
#: Bytes of one storage chunk (HDF5 decompresses a whole chunk to read any part of it).
MAX_CHUNK_BYTES = 1 << 26
#: Groups and datasets in one file.
MAX_OBJECTS = 10_000

_NAME = re.compile(r"[A-Za-z0-9_.\-]+")


def metric_unit(metric: str) -> str:
    """The unit of a metric by its suffix (``val_acc`` -> "percent"), "" when unknown."""
    for suffix, unit in METRIC_UNITS.items():
        if metric.endswith(suffix):
            return unit
    return ""


def is_valid_name(name: object) -> bool:
    """Whether ``name`` may name a metric, a device or a device metric: letters, digits,
    ``_``, ``.`` and ``-`` (it becomes an HDF5 path component)."""
    return isinstance(name, str) and _NAME.fullmatch(name) is not None


def canonical_within(space: CellSpace, indices: np.ndarray) -> np.ndarray:
    """Representative of each row among the given space indices (the smallest index of
    its class that the rows hold), for a table that holds only part of a space."""
    first: dict[str, int] = {}
    out = np.empty_like(indices)
    for position, index in enumerate(indices.tolist()):
        out[position] = first.setdefault(space.canonical_key(index), index)
    return out

"""What every importer produces: :class:`ImportedBenchmark`, the numbers read from a
public benchmark file laid out in this package's space index order, ready to be written
as a table by :func:`nasbench.generation.importers.write.write_imported`.

Readers never write HDF5 themselves: they fill one of these (values per architecture
index, NaN where the source has no value), and one writer turns it into a table, so
every importer shares the same checks, atomic write and provenance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nasbench.core.errors import TableError
from nasbench.core.schema import STATUS_DONE, STATUS_PENDING
from nasbench.core.space import CellSpace

__all__ = ["ImportedBenchmark"]


@dataclass
class ImportedBenchmark:
    """One (dataset, training setting) of a public benchmark, per architecture index.

    Rows follow ``space``'s index order (``0..space.size-1``, every architecture), never
    the source's own order; ``source_index[row]`` keeps the benchmark's own index.

    - ``metrics[name]``: float32 [rows, seeds, epochs], NaN where the source has no value
      (e.g. evaluation sets only at the last epoch); names follow the table schema
      (``train_acc``, ``val_acc``, ``test_acc`` in percent, ``*_loss``, ``train_seconds``,
      ``eval_seconds``); leave out what the source does not hold (no times -> no
      ``train_seconds``).
    - ``epochs``: the 1-based training epoch each position of axis 2 records (``[12]``,
      ``[1..200]``).
    - ``seeds`` with ``seed_axis={"kind": "runs"}``: the benchmark's seeds, one column
      each; with ``{"kind": "mean", "note": ...}``: ``seeds == [-1]``, one column holding
      the mean over the seeds the source had averaged.
    - ``status``: int8 [rows, seeds], ``STATUS_DONE`` where a run was read; computed
      from the metrics when None.
    - ``params`` / ``flops``: int64 [rows] as NAS-Bench-201 counts them (parameters, MACs
      of one image); None means compute them with this package's builder for ``model``.
    - ``source``: provenance: ``format``, ``file`` (name only, never a path), ``sha256``,
      ``citation``, ``licence``, ``url``; readers add what else they know.
    - ``devices``: device id -> (description, {metric name: float [rows]}).
    """

    space: CellSpace
    dataset: dict[str, Any]
    protocol: dict[str, Any]
    model: dict[str, Any]
    source: dict[str, Any]
    epochs: list[int]
    seeds: list[int]
    seed_axis: dict[str, Any]
    metrics: dict[str, np.ndarray]
    status: np.ndarray | None = None
    params: np.ndarray | None = None
    flops: np.ndarray | None = None
    source_index: np.ndarray | None = None
    source_order: str | None = None
    devices: dict[str, tuple[dict[str, Any], dict[str, np.ndarray]]] = field(default_factory=dict)

    def run_status(self) -> np.ndarray:
        """int8 [rows, seeds]: the given status, else done where any metric has a value."""
        if self.status is not None:
            return np.asarray(self.status, dtype=np.int8)
        measured = np.zeros((self.space.size, len(self.seeds)), dtype=bool)
        for values in self.metrics.values():
            measured |= ~np.all(np.isnan(values), axis=2)
        return np.where(measured, STATUS_DONE, STATUS_PENDING).astype(np.int8)

    def check(self) -> None:
        """Refuse inconsistent shapes with one clear line (before anything is written)."""
        rows, num_seeds, num_epochs = self.space.size, len(self.seeds), len(self.epochs)
        if not self.metrics:
            raise TableError("the import holds no metrics")
        if num_epochs < 1 or list(self.epochs) != sorted(set(self.epochs)) or min(self.epochs) < 1:
            raise TableError(f"epochs must be ascending positive epoch numbers, got {self.epochs}")
        if self.seed_axis.get("kind") == "mean" and list(self.seeds) != [-1]:
            raise TableError("a 'mean' seed axis holds one column labelled -1")
        for name, values in self.metrics.items():
            if np.shape(values) != (rows, num_seeds, num_epochs):
                raise TableError(
                    f"metric {name!r} has shape {np.shape(values)}, expected {(rows, num_seeds, num_epochs)}"
                )
        for name in ("params", "flops", "source_index"):
            values = getattr(self, name)
            if values is not None and np.shape(values) != (rows,):
                raise TableError(f"{name} needs one value per architecture ({rows}), got {np.shape(values)}")
        if self.source_index is not None:
            if self.source_order is None:
                raise TableError("source_index needs source_order (the benchmark's name, e.g. 'nb201')")
            if np.unique(self.source_index).size != rows:
                raise TableError("source_index repeats an index")

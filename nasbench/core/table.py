"""Reading a table file: the read-only :class:`Table`, :func:`open_table` and
:func:`validate_table`.

This is also the table API's one import place: the schema names
(:mod:`nasbench.core.schema`), the writer (:mod:`nasbench.core.table_writer`) and the
content checksum (:mod:`nasbench.core.table_file`) are re-exported here, so
``from nasbench.core.table import Table, TableWriter, STATUS_DONE`` serves users and
plug-ins. Library code that needs only constants imports :mod:`nasbench.core.schema`,
which loads no h5py.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from nasbench.core.errors import ArchitectureError, MetricError, NotMeasuredError, TableError, one_line
from nasbench.core.ranking import RankedClass, top_classes
from nasbench.core.schema import (
    COMPACT_DTYPES,
    COST_METRICS,
    EPOCH_METRICS,
    FORMAT_NAME,
    MAX_ROWS,
    SCHEMA_VERSION,
    STATUS_CODES,
    STATUS_DONE,
    STATUS_FAILED,
    STATUS_PENDING,
    VALUES_PER,
    canonical_within,
)
from nasbench.core.space import Architecture, ArchLike, CellSpace
from nasbench.core.table_file import (
    NO_VERIFY_ENV,
    check_header,
    check_shapes,
    content_checksum,
    file_identity,
    is_verified,
    json_attr,
    open_h5,
    plain,
    stored_checksum,
    verify_by_default,
    verify_content,
)
from nasbench.core.table_writer import TableWriter

__all__ = [
    "COMPACT_DTYPES",
    "EPOCH_METRICS",
    "FORMAT_NAME",
    "NO_VERIFY_ENV",
    "SCHEMA_VERSION",
    "STATUS_DONE",
    "STATUS_FAILED",
    "STATUS_PENDING",
    "Table",
    "TableWriter",
    "content_checksum",
    "open_table",
    "validate_table",
]


class Table:
    """Read-only, in-memory view of a table file. Open with :func:`open_table`.

    Every array is read once when the table opens, so queries are answered from numpy
    without touching the file again.
    """

    def __init__(self, path: str | os.PathLike[str], *, verify: bool | None = None) -> None:
        """Read the table at ``path``. ``verify`` (default: yes, unless the environment sets
        ``NASBENCH_NO_VERIFY=1``) checks the content checksum, so an edit made after the
        table was sealed is refused instead of answered; the hash is taken from the arrays
        read anyway, and an unchanged file verified once in this process is not hashed again."""
        self.path = Path(path)
        where = str(self.path)
        check = verify_by_default(verify)
        identity = file_identity(self.path) if check else None
        with open_h5(self.path, "r") as handle:
            try:
                check_header(handle, where)
                loaded: dict[str, Any] | None = None
                stored = stored_checksum(handle, where) if check else ""
                if check and not is_verified(identity, stored):
                    loaded = {}
                self._load(handle, where, loaded)
                if loaded is not None:
                    verify_content(handle, where, stored, loaded=loaded, identity=identity)
            except (TableError, ArchitectureError):
                raise
            except Exception as exc:  # h5py raises many types on damaged files
                raise TableError(f"{where}: corrupt table ({one_line(exc) or type(exc).__name__})") from None
        #: Whether the content was checked against the checksum when the table opened.
        self.verified = check
        self._means: dict[tuple[str, int | None], np.ndarray] = {}
        self._memo: dict[object, int] = {}

    @staticmethod
    def _read(handle: h5py.File, name: str, loaded: dict[str, Any] | None) -> Any:
        """A dataset's values as stored; kept in ``loaded`` (when given) for the checksum."""
        data = handle[name]
        values = data.asstr()[()] if h5py.check_string_dtype(data.dtype) is not None else data[()]
        if loaded is not None:
            loaded[name] = values
        return values

    def _need(self, handle: h5py.File, name: str, where: str, loaded: dict[str, Any] | None) -> np.ndarray:
        if name not in handle:
            raise TableError(f"{where}: missing dataset {name!r}")
        return self._read(handle, name, loaded)

    def _load(self, handle: h5py.File, where: str, loaded: dict[str, Any] | None) -> None:
        try:
            self.space = CellSpace.from_dict(json_attr(handle.attrs, "space", where))
        except ArchitectureError as exc:
            raise TableError(f"{where}: {exc}") from None
        check_shapes(handle, where, max_rows=min(self.space.size, MAX_ROWS))
        self.model: dict[str, Any] = json_attr(handle.attrs, "model", where)
        self.dataset: dict[str, Any] = json_attr(handle.attrs, "dataset", where)
        self.protocol: dict[str, Any] = json_attr(handle.attrs, "protocol", where)
        self.provenance: dict[str, Any] = json_attr(handle.attrs, "provenance", where)
        self.fidelity: dict[str, Any] | None = (
            json_attr(handle.attrs, "fidelity", where) if "fidelity" in handle.attrs else None
        )
        self.checksum: str | None = plain(handle.attrs.get("checksum"))
        self.schema_version = int(plain(handle.attrs["schema_version"]))
        #: Where an imported table's numbers came from (None for a generated table).
        self.source: dict[str, Any] | None = (
            json_attr(handle.attrs, "source", where) if "source" in handle.attrs else None
        )
        #: "class" (one metric row per isomorphism class) or "architecture" (per index).
        self.values_per: str = str(plain(handle.attrs.get("values_per", "class")))
        if self.values_per not in VALUES_PER:
            raise TableError(f"{where}: values_per must be one of {', '.join(VALUES_PER)}")
        #: ``{"kind": "runs"}`` (a column per training seed) or ``{"kind": "mean", ...}``.
        self.seed_axis: dict[str, Any] = (
            json_attr(handle.attrs, "seed_axis", where) if "seed_axis" in handle.attrs else {"kind": "runs"}
        )
        self.indices = self._need(handle, "archs/index", where, loaded).astype(np.int64)
        self.ops = self._need(handle, "archs/ops", where, loaded)
        self.canonical = self._need(handle, "archs/canonical", where, loaded).astype(np.int64)
        self.unique = self._need(handle, "archs/unique", where, loaded).astype(np.int64)
        self.seeds = self._need(handle, "seeds", where, loaded).astype(np.int64)
        rows = self.indices.shape[0]
        if self.ops.shape != (rows, self.space.num_edges) or self.canonical.shape != (rows,):
            raise TableError(f"{where}: archs datasets disagree in shape")
        if rows and (
            np.any(np.diff(self.indices) <= 0) or self.indices[0] < 0 or self.indices[-1] >= self.space.size
        ):
            raise TableError(f"{where}: archs/index is not ascending within the space")
        self._complete = rows == self.space.size
        if self.values_per == "architecture":
            if not np.array_equal(self.unique, self.indices):
                raise TableError(
                    f"{where}: a table with values per architecture needs archs/unique = archs/index"
                )
            self.class_row = np.arange(rows, dtype=np.int64)
        else:
            self.class_row = np.searchsorted(self.unique, self.canonical)
            if np.any(self.class_row >= self.unique.shape[0]) or np.any(
                self.unique[np.minimum(self.class_row, self.unique.shape[0] - 1)] != self.canonical
            ):
                raise TableError(f"{where}: archs/canonical names a class missing from archs/unique")
        self.source_index: np.ndarray | None = None
        self.source_order: str | None = None
        self._source_row: dict[int, int] = {}
        if "archs/source_index" in handle:
            self.source_index = self._read(handle, "archs/source_index", loaded).astype(np.int64)
            self.source_order = str(plain(handle["archs/source_index"].attrs.get("order", "source")))
            if self.source_index.shape != (rows,):
                raise TableError(f"{where}: archs/source_index needs one value per row")
            self._source_row = {int(k): row for row, k in enumerate(self.source_index.tolist())}
            if len(self._source_row) != rows:
                raise TableError(f"{where}: archs/source_index repeats an index")
        self._class_row_list: list[int] = self.class_row.tolist()
        self.params = self._need(handle, "cost/params", where, loaded).astype(np.int64)
        self.flops = self._need(handle, "cost/flops", where, loaded).astype(np.int64)
        if self.params.shape != (rows,) or self.flops.shape != (rows,):
            raise TableError(f"{where}: cost datasets need one value per row")
        if "metrics" not in handle or not len(handle["metrics"]):
            raise TableError(f"{where}: missing group 'metrics'")
        expected = (self.unique.shape[0], self.seeds.shape[0])
        self._metrics: dict[str, np.ndarray] = {}
        for name in handle["metrics"]:
            values = np.asarray(self._read(handle, f"metrics/{name}", loaded)).astype(np.float32)
            if values.ndim != 3 or values.shape[:2] != expected:
                raise TableError(
                    f"{where}: metrics/{name} has shape {values.shape}, expected {expected} + (epochs,)"
                )
            self._metrics[name] = values
        epochs = {v.shape[2] for v in self._metrics.values()}
        if len(epochs) != 1:
            raise TableError(f"{where}: metrics disagree on the number of epochs")
        self.num_epochs = epochs.pop()
        #: The 1-based training epoch each position of the epoch axis records.
        self.epochs = (
            np.asarray(self._read(handle, "epochs", loaded)).astype(np.int64)
            if "epochs" in handle
            else np.arange(1, self.num_epochs + 1, dtype=np.int64)
        )
        if self.epochs.shape != (self.num_epochs,) or np.any(np.diff(self.epochs) <= 0) or self.epochs[0] < 1:
            raise TableError(f"{where}: epochs must be {self.num_epochs} ascending positive epoch numbers")
        self.run_status = self._need(handle, "runs/status", where, loaded)
        if self.run_status.shape != expected:
            raise TableError(f"{where}: runs/status has shape {self.run_status.shape}, expected {expected}")
        self.run_messages = self._read(handle, "runs/message", loaded) if "runs/message" in handle else None
        self.devices: dict[str, dict[str, Any]] = {}
        self._device_metrics: dict[str, np.ndarray] = {}
        for device_id, group in handle.get("devices", {}).items():
            self.devices[device_id] = json_attr(group.attrs, "description", f"{where}: device {device_id}")
            for name in group:
                values = np.asarray(self._read(handle, f"devices/{device_id}/{name}", loaded)).astype(
                    np.float64
                )
                if values.shape != (rows,):
                    raise TableError(f"{where}: devices/{device_id}/{name} needs one value per row")
                self._device_metrics[f"{device_id}/{name}"] = values
        self._seed_position = {int(s): k for k, s in enumerate(self.seeds)}

    # ----------------------------------------------------------------- facts
    @property
    def num_archs(self) -> int:
        """Rows (architectures) the table answers for."""
        return int(self.indices.shape[0])

    @property
    def num_unique(self) -> int:
        """Isomorphism classes with their own metric rows."""
        return int(self.unique.shape[0])

    @property
    def metric_names(self) -> tuple[str, ...]:
        """Every name :meth:`query` and :meth:`metric` accept."""
        return tuple(self._metrics) + COST_METRICS + tuple(self._device_metrics)

    @property
    def epoch_metrics(self) -> tuple[str, ...]:
        """Names of the per-(class, seed, epoch) metrics."""
        return tuple(self._metrics)

    @property
    def has_training_times(self) -> bool:
        """Whether the table records training seconds (a seconds budget needs them)."""
        if "train_seconds" not in self._metrics:
            return False
        done = self.run_status == STATUS_DONE
        return bool(done.any() and not np.all(np.isnan(self._metrics["train_seconds"][done])))

    def seconds_problem(self) -> str | None:
        """Why a seconds budget cannot be charged on this table, or None when it can: every
        run marked done needs finite, non-negative ``train_seconds`` for every epoch and
        ``eval_seconds`` at least at the last one (with NaN or negative seconds the clock
        would stand still or run backwards, and a search would never end). Computed once
        per table: every benchmark of it asks."""
        if not hasattr(self, "_seconds_problem"):
            self._seconds_problem = self._find_seconds_problem()
        return self._seconds_problem

    def _find_seconds_problem(self) -> str | None:
        if not self.has_training_times:
            return "records no training times"
        if "eval_seconds" not in self._metrics:
            return "records no evaluation seconds (evaluations would cost nothing)"
        done = self.run_status == STATUS_DONE
        train = self._metrics["train_seconds"][done]
        final_eval = self._metrics["eval_seconds"][done][:, -1]
        bad_train = int(np.sum(~np.all(np.isfinite(train) & (train >= 0), axis=1)))
        bad_eval = int(np.sum(~(np.isfinite(final_eval) & (final_eval >= 0))))
        if bad_train or bad_eval:
            return (
                f"has {bad_train:,} runs with missing, negative or infinite training seconds and "
                f"{bad_eval:,} without a final evaluation time"
            )
        return None

    def source_row(self, order: str, index: int) -> int:
        """Row of the architecture the imported benchmark ``order`` (e.g. "nb201") calls
        ``index``; its own indices are not this space's order, so never mix the two."""
        if self.source_index is None:
            raise MetricError(f"{self.path}: the table keeps no benchmark's own index (it was not imported)")
        if order != self.source_order:
            raise MetricError(f"{self.path}: the table keeps {self.source_order!r} indices, not {order!r}")
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise ArchitectureError(f"{order} index must be an integer, got {index!r}")
        row = self._source_row.get(int(index))
        if row is None:
            raise ArchitectureError(f"{order} index {index} is not in this table")
        return row

    def source_arch(self, order: str, index: int) -> Architecture:
        """The architecture the imported benchmark ``order`` calls ``index``."""
        return self.space.from_index(int(self.indices[self.source_row(order, index)]))

    def __repr__(self) -> str:
        return (
            f"Table({str(self.path)!r}, archs={self.num_archs}, unique={self.num_unique}, "
            f"seeds={self.seeds.tolist()}, epochs={self.num_epochs})"
        )

    # ----------------------------------------------------------------- lookups
    def row(self, arch: ArchLike) -> int:
        """Row of an architecture (index, string, op sequence or Architecture)."""
        if type(arch) is int:
            if self._complete and 0 <= arch < self.indices.shape[0]:
                return arch
            return self._row_of_index(arch)
        row = self._memo.get(arch) if isinstance(arch, (str, Architecture)) else None
        if row is not None:
            return row
        row = self._row_of_index(self.space.index(arch))
        if isinstance(arch, (str, Architecture)):
            self._memo[arch] = row
        return row

    def _row_of_index(self, index: int) -> int:
        index = self.space.index(index)
        if self._complete:
            return index
        position = int(np.searchsorted(self.indices, index))
        if position >= self.indices.shape[0] or self.indices[position] != index:
            raise ArchitectureError(f"architecture {self.space.from_index(index)} is not in this table")
        return position

    def canonical_index(self, arch: ArchLike) -> int:
        """Space index of the representative of ``arch``'s class."""
        return int(self.canonical[self.row(arch)])

    def _epoch_position(self, epoch: int) -> int:
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)):
            raise MetricError(f"epoch must be an integer, got {epoch!r}")
        if not -self.num_epochs <= epoch < self.num_epochs:
            raise MetricError(
                f"epoch {epoch} out of range: the table has {self.num_epochs} epochs "
                f"(0..{self.num_epochs - 1}, or -1 for the last)"
            )
        return int(epoch) % self.num_epochs

    def _per_class(self, metric: str, seed: int | None) -> np.ndarray:
        """[U, E] float64 values of one epoch metric: one seed, or the mean over seeds."""
        if seed is not None and (
            isinstance(seed, bool)
            or not isinstance(seed, (int, np.integer))
            or int(seed) not in self._seed_position
        ):
            raise MetricError(f"seed {seed!r} is not in this table (seeds: {self.seeds.tolist()})")
        key = (metric, None if seed is None else int(seed))
        cached = self._means.get(key)
        if cached is not None:
            return cached
        if metric not in self._metrics:
            if metric in self.metric_names:
                raise MetricError(
                    f"{metric!r} has no epochs or seeds; per-epoch metrics are: {', '.join(self._metrics)}"
                )
            raise MetricError(f"unknown metric {metric!r} (known: {', '.join(self.metric_names)})")
        values = self._metrics[metric]
        if seed is None:
            counts = np.sum(~np.isnan(values), axis=1)
            sums = np.nansum(values.astype(np.float64), axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                result = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        else:
            result = values[:, self._seed_position[int(seed)], :].astype(np.float64)
        result.setflags(write=False)
        self._means[key] = result
        return result

    def _per_row(self, metric: str) -> np.ndarray:
        if metric == "params":
            return self.params
        if metric == "flops":
            return self.flops
        if metric == "params_m":
            return self.params / 1e6
        if metric == "flops_m":
            return self.flops / 1e6
        if metric in self._device_metrics:
            return self._device_metrics[metric]
        raise MetricError(f"unknown metric {metric!r} (known: {', '.join(self.metric_names)})")

    def query(
        self, arch: ArchLike, metric: str = "val_acc", epoch: int = -1, seed: int | None = None
    ) -> float:
        """One value for one architecture; isomorphic members answer from their class.

        ``epoch`` is a 0-based position (0 = after the first epoch, -1 = the last);
        ``seed=None`` averages over the seeds measured. Cost (``params_m``,
        ``flops_m``, ``params``, ``flops``) and device metrics (``<device>/<name>``)
        ignore ``epoch`` and ``seed``. Raises :class:`NotMeasuredError` rather than
        returning NaN.
        """
        row = self.row(arch)
        cached = self._means.get((metric, seed)) if seed is None or type(seed) is int else None
        if cached is not None and type(epoch) is int and -self.num_epochs <= epoch < self.num_epochs:
            value = float(cached[self._class_row_list[row], epoch])
        elif metric in self._metrics:
            value = float(
                self._per_class(metric, seed)[self._class_row_list[row], self._epoch_position(epoch)]
            )
        else:
            value = float(self._per_row(metric)[row])
        if value != value:
            raise NotMeasuredError(
                f"{metric} is not measured for {self.space.from_index(int(self.indices[row]))}"
                + (f" at epoch {epoch}" if metric in self._metrics else "")
                + (f", seed {seed}" if seed is not None else "")
            )
        return value

    def curve(self, arch: ArchLike, metric: str = "val_acc", seed: int | None = None) -> np.ndarray:
        """float64 [epochs]: the learning curve of ``metric`` (NaN where not measured)."""
        return self._per_class(metric, seed)[self._class_row_list[self.row(arch)]].copy()

    def metric(self, name: str, epoch: int = -1, seed: int | None = None) -> np.ndarray:
        """float64 [num_archs]: ``name`` for every row in index order (NaN where not
        measured); isomorphic members share their class's value."""
        if name in self._metrics:
            return self._per_class(name, seed)[:, self._epoch_position(epoch)][self.class_row]
        return np.asarray(self._per_row(name), dtype=np.float64).copy()

    def class_metric(self, name: str, epoch: int = -1, seed: int | None = None) -> np.ndarray:
        """float64 [num_unique]: an epoch metric per class, aligned with :attr:`unique`."""
        if name not in self._metrics:
            raise MetricError(f"unknown epoch metric {name!r} (known: {', '.join(self._metrics)})")
        return self._per_class(name, seed)[:, self._epoch_position(epoch)].copy()

    def raw(self, name: str) -> np.ndarray:
        """float32 [U, S, E] copy of an epoch metric as stored."""
        if name not in self._metrics:
            raise MetricError(f"unknown epoch metric {name!r} (known: {', '.join(self._metrics)})")
        return self._metrics[name].copy()

    def measured_fraction(self) -> float:
        """Share of (class, seed) runs recorded, done or failed."""
        return float(np.mean(self.run_status != STATUS_PENDING)) if self.run_status.size else 0.0

    def top(
        self, k: int = 10, metric: str = "test_acc", *, epoch: int = -1, higher_is_better: bool | None = None
    ) -> list[RankedClass]:
        """The ``k`` best measured classes by the seed mean of ``metric`` at ``epoch``, best
        first; ties go to the smaller space index, losses rank ascending by default
        (:func:`~nasbench.core.ranking.top_classes`)."""
        return top_classes(self, k, metric, epoch=epoch, higher_is_better=higher_is_better)

    def to_pandas(self, epoch: int = -1) -> Any:
        """One row per architecture: index (and the imported benchmark's own index, e.g.
        ``nb201_index``), string, class, cost, device metrics and every epoch metric at
        ``epoch`` averaged over seeds."""
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover - pandas is a core dependency
            raise ImportError("to_pandas needs pandas: pip install 'pandas>=2'") from None
        columns: dict[str, Any] = {"index": self.indices}
        if self.source_index is not None:
            columns[f"{self.source_order}_index"] = self.source_index
        columns |= {
            "arch": [str(self.space.from_index(int(i))) for i in self.indices],
            "canonical_index": self.canonical,
            "params_m": self.params / 1e6,
            "flops_m": self.flops / 1e6,
        }
        for name in self._metrics:
            columns[name] = self.metric(name, epoch)
        for name, values in self._device_metrics.items():
            columns[name] = values
        return pd.DataFrame(columns)


def open_table(path: str | os.PathLike[str], *, verify: bool | None = None) -> Table:
    """Open a table file for reading: every array is loaded once, the file is closed.

    The content checksum is verified unless ``verify=False`` (or, with ``verify`` left
    None, the environment sets ``NASBENCH_NO_VERIFY=1``): a table edited after it was
    sealed raises one :class:`TableError` instead of answering edited values.
    """
    return Table(path, verify=verify)


def validate_table(path: str | os.PathLike[str]) -> list[str]:
    """Every problem found in a table file (empty when it is valid).

    Always verifies, whatever ``NASBENCH_NO_VERIFY`` says. Beyond what opening checks: the
    checksum (streamed in bounded blocks), the op and canonical arrays against the space,
    physically impossible values (:func:`_value_problems`), run status codes, cost
    positivity.
    """
    problems: list[str] = []
    try:
        table = Table(path, verify=False)
    except (TableError, ArchitectureError) as exc:
        return [str(exc)]
    try:
        with open_h5(path, "r") as handle:
            actual = content_checksum(handle)
    except TableError as exc:
        return [str(exc)]
    except Exception as exc:  # h5py raises many types on damaged files
        return [f"{path}: corrupt content ({one_line(exc) or type(exc).__name__})"]
    if not table.checksum:
        problems.append("no checksum: the writer was not closed")
    elif table.checksum != actual:
        problems.append(
            f"checksum mismatch: the table was changed after it was sealed (stored {table.checksum}, "
            f"content {actual})"
        )
    space = table.space
    if not np.array_equal(space.indices_from_ops(table.ops), table.indices):
        problems.append("archs/ops does not encode archs/index")
    if table.num_archs == space.size:
        expected = space.canonical_indices()
    else:
        expected = canonical_within(space, table.indices)
    if not np.array_equal(expected, table.canonical):
        wrong = int(np.sum(expected != table.canonical))
        problems.append(f"archs/canonical disagrees with the space's canonical form for {wrong} rows")
    if table.values_per == "class" and not np.array_equal(np.unique(table.canonical), table.unique):
        problems.append("archs/unique is not the set of representatives")
    problems.extend(_value_problems(table))
    if np.any(~np.isin(table.run_status, STATUS_CODES)):
        problems.append("runs/status holds unknown codes")
    if np.any(table.params <= 0) or np.any(table.flops <= 0):
        problems.append("cost/params and cost/flops must be positive")
    for name in table.metric_names:
        if "/" in name:
            values = table.metric(name)
            if np.any(values[~np.isnan(values)] < 0):
                problems.append(f"device metric {name} has negative values")
    if not math.isfinite(table.num_epochs) or table.num_epochs < 1:
        problems.append("no epochs")
    return problems


def _runs(table: Table, name: str, bad: np.ndarray, what: str) -> list[str]:
    """One problem naming the metric, how many (class, seed) runs have a value ``what``
    says, and the first of them; nothing when ``bad`` ([U, S]) is all false."""
    count = int(np.count_nonzero(bad))
    if not count:
        return []
    row, column = (int(k) for k in np.argwhere(bad)[0])
    arch = table.space.from_index(int(table.unique[row]))
    return [
        f"{name} {what} in {count:,} run{'s' if count != 1 else ''} "
        f"(first: {arch}, seed {int(table.seeds[column])})"
    ]


def _value_problems(table: Table) -> list[str]:
    """Physically impossible values, per metric, each one line with a count and the first
    run: accuracies outside [0, 100] percent; negative losses; negative or infinite
    seconds; in runs marked done, a loss missing where its accuracy was measured, and for
    a generated table (which measures every epoch) NaN at the last epoch of any metric and
    NaN training seconds at any epoch. An imported table keeps NaN wherever its source had
    no value (times, sets evaluated at some epochs only), but its search signal
    ``val_acc`` must be there at the last epoch of a done run."""
    problems: list[str] = []
    done = table.run_status == STATUS_DONE
    generated = table.source is None
    required = EPOCH_METRICS if generated else ("val_acc",)
    for name in table.epoch_metrics:
        values = table._metrics[name]
        nan = np.isnan(values)
        with np.errstate(invalid="ignore"):
            if name.endswith("_acc"):
                outside = ~nan & ((values < 0) | (values > 100))
                problems += _runs(table, name, outside.any(axis=2), "outside [0, 100] percent")
            elif name.endswith("_loss"):
                problems += _runs(table, name, (values < 0).any(axis=2), "negative")
            elif name.endswith("seconds"):
                impossible = (values < 0) | np.isinf(values)
                problems += _runs(table, name, impossible.any(axis=2), "negative or infinite")
            else:
                problems += _runs(table, name, np.isinf(values).any(axis=2), "infinite")
        accuracy = name.removesuffix("_loss") + "_acc"
        if name.endswith("_loss") and accuracy in table.epoch_metrics:
            measured = ~np.isnan(table._metrics[accuracy])
            problems += _runs(
                table, name, done & (nan & measured).any(axis=2), "NaN where its accuracy was measured"
            )
        if generated and name == "train_seconds":
            problems += _runs(table, name, done & nan.any(axis=2), "NaN at some epoch of runs marked done")
        elif name in required:
            problems += _runs(table, name, done & nan[:, :, -1], "NaN at the last epoch of runs marked done")
    return problems

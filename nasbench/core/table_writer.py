"""Writing a table file: create the skeleton, record runs and device measurements, seal.

:class:`TableWriter` is the one way a table file is written (the generator, shard merges,
imports and tests all go through it); :class:`~nasbench.core.table.Table` reads it back.
Provenance (package versions, creation time) is recorded at creation; the content
checksum is sealed on :meth:`TableWriter.close`.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import importlib.metadata
import json
import os
import platform
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from nasbench.core.errors import ArchitectureError, MetricError, TableError
from nasbench.core.schema import (
    EPOCH_METRICS,
    FORMAT_NAME,
    MAX_DATASET_BYTES,
    MAX_EPOCHS,
    MAX_RUNS,
    MAX_SEEDS,
    MAX_TABLE_BYTES,
    MEAN_SEED,
    SCHEMA_VERSION,
    SEED_AXIS_KINDS,
    STATUS_CODES,
    STATUS_DONE,
    STATUS_FAILED,
    STATUS_PENDING,
    VALUES_PER,
    canonical_within,
    is_valid_name,
    metric_unit,
)
from nasbench.core.space import ArchLike, CellSpace
from nasbench.core.table_file import (
    COMPRESSION,
    check_header,
    check_shapes,
    content_checksum,
    json_attr,
    open_h5,
    plain,
    require_space,
)

__all__ = ["TableWriter"]


def _torch_version() -> str | None:
    """The installed torch's version, read from its package metadata: the core layer
    records it without importing torch."""
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return None


def _provenance(created: str | None, extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``provenance`` attribute: versions of the software that wrote the table, the
    creation time (``$SOURCE_DATE_EPOCH`` when set, for reproducible files) and ``extra``."""
    from nasbench import __version__

    if created is None:
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        moment = _dt.datetime.fromtimestamp(int(epoch), _dt.UTC) if epoch else _dt.datetime.now(_dt.UTC)
        created = moment.replace(microsecond=0).isoformat()
    info: dict[str, Any] = {
        "nasbench_version": __version__,
        "torch_version": _torch_version(),
        "numpy_version": np.__version__,
        "h5py_version": h5py.__version__,
        "python_version": platform.python_version(),
        "created": created,
    }
    info.update(extra or {})
    return info


class TableWriter:
    """Creates a table file and fills it run by run; :meth:`close` seals the checksum.

    Use :meth:`create` for a new file (written to a temporary name, then moved into
    place, so an existing file is never half-overwritten) and ``TableWriter(path)`` to
    append to an existing one. Metrics of a class are written by its representative or
    any member.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._file = open_h5(self.path, "r")
        try:
            check_header(self._file, str(self.path))
            check_shapes(self._file, str(self.path))
        finally:
            self._file.close()
        self._file = open_h5(self.path, "r+")
        self.space = CellSpace.from_dict(json_attr(self._file.attrs, "space", str(self.path)))
        self._indices = self._file["archs/index"][()]
        self._canonical = self._file["archs/canonical"][()]
        self._unique = self._file["archs/unique"][()]
        self._seeds = [int(s) for s in self._file["seeds"][()]]
        self.values_per = str(plain(self._file.attrs.get("values_per", "class")))
        self.metric_names = tuple(self._file["metrics"].keys())
        self.num_epochs = int(self._file[f"metrics/{self.metric_names[0]}"].shape[2])

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        *,
        space: CellSpace,
        model: Mapping[str, Any],
        dataset: Mapping[str, Any],
        protocol: Mapping[str, Any],
        seeds: Sequence[int],
        num_epochs: int,
        params: np.ndarray,
        flops: np.ndarray,
        indices: np.ndarray | None = None,
        metrics: Sequence[str] = EPOCH_METRICS,
        dtype: str | Mapping[str, str] = "float32",
        overwrite: bool = False,
        created: str | None = None,
        provenance: Mapping[str, Any] | None = None,
        values_per: str = "class",
        epochs: Sequence[int] | None = None,
        seed_axis: Mapping[str, Any] | None = None,
        source: Mapping[str, Any] | None = None,
        source_index: np.ndarray | None = None,
        source_order: str | None = None,
    ) -> TableWriter:
        """Write an empty table (every metric NaN, every run pending) and open it.

        ``indices`` are the space indices to hold (all when None); ``params`` and
        ``flops`` give their cost, aligned with ``indices``. ``dtype`` is the storage type
        of every metric, or a mapping metric -> type (float32 for metrics it omits).

        For imported benchmarks: ``values_per="architecture"`` keeps one metric row per
        index instead of per class; ``epochs`` names the training epoch of each position
        of the epoch axis (default ``1..num_epochs``); ``seed_axis={"kind": "mean"}``
        marks the one seed column (labelled -1) as a mean over the benchmark's seeds;
        ``source`` records where the numbers came from; ``source_index`` (aligned with
        ``indices``) keeps the benchmark's own index, ``source_order`` names it.
        """
        target = Path(path)
        if target.exists() and not overwrite:
            raise TableError(f"{target}: file exists (pass overwrite=True to replace it)")
        if not 1 <= num_epochs <= MAX_EPOCHS:
            raise TableError(f"num_epochs must be in 1..{MAX_EPOCHS:,}, got {num_epochs}")
        seeds = [int(s) for s in seeds]
        if not seeds or len(set(seeds)) != len(seeds):
            raise TableError(f"seeds must be a non-empty list without repeats, got {seeds}")
        if len(seeds) > MAX_SEEDS or any(not -(2**63) <= s < 2**63 for s in seeds):
            raise TableError(f"seeds must be at most {MAX_SEEDS} 64-bit integers, got {len(seeds)} seeds")
        if values_per not in VALUES_PER:
            raise TableError(f"values_per must be one of {', '.join(VALUES_PER)}, got {values_per!r}")
        axis = dict(seed_axis or {"kind": "runs"})
        if axis.get("kind") not in SEED_AXIS_KINDS:
            raise TableError(f"seed_axis kind must be one of {', '.join(SEED_AXIS_KINDS)}, got {axis!r}")
        if axis["kind"] == "mean" and seeds != [MEAN_SEED]:
            raise TableError(f"a seed axis of kind 'mean' has the one seed label {MEAN_SEED}, got {seeds}")
        epoch_numbers = np.arange(1, num_epochs + 1, dtype=np.int64) if epochs is None else np.asarray(epochs)
        if (
            epoch_numbers.shape != (num_epochs,)
            or not np.issubdtype(epoch_numbers.dtype, np.integer)
            or epoch_numbers[0] < 1
            or np.any(np.diff(epoch_numbers) <= 0)
        ):
            raise TableError(f"epochs must be {num_epochs} ascending positive integers, got {epochs!r}")
        extra: dict[str, Any] = {
            "values_per": values_per,
            "seed_axis": axis,
            "epochs": epoch_numbers.astype(np.int64),
            "source": None if source is None else dict(source),
            "source_index": None,
            "source_order": source_order,
        }
        metrics = list(metrics)
        dtypes = {name: dtype for name in metrics} if isinstance(dtype, str) else dict(dtype)
        for name, kind in dtypes.items():
            if kind not in ("float16", "float32"):
                raise TableError(f"dtype of {name!r} must be float16 or float32, got {kind!r}")
        if not metrics or len(set(metrics)) != len(metrics):
            raise TableError(f"metrics must be a non-empty list without repeats, got {metrics}")
        for name in metrics:
            if not is_valid_name(name):
                raise TableError(f"invalid metric name {name!r}")
        params = np.asarray(params, dtype=np.int64)
        flops = np.asarray(flops, dtype=np.int64)
        if indices is None:
            indices = np.arange(space.size, dtype=np.int64)
            canonical = space.canonical_indices()
        else:
            indices = np.asarray(indices, dtype=np.int64)
            if indices.ndim != 1 or indices.size == 0:
                raise TableError("indices must be a non-empty 1-d array of space indices")
            if np.unique(indices).shape != indices.shape:
                raise TableError("indices must not repeat")
            if indices.min() < 0 or indices.max() >= space.size:
                raise TableError(f"indices must lie in [0, {space.size - 1}]")
        if params.shape != indices.shape or flops.shape != indices.shape:
            raise TableError(
                f"params and flops must have one value per row ({indices.shape[0]}), "
                f"got {params.shape} and {flops.shape}"
            )
        if source_index is not None:
            source_index = np.asarray(source_index)
            if source_index.shape != indices.shape or not np.issubdtype(source_index.dtype, np.integer):
                raise TableError(f"source_index needs one integer per row ({indices.shape[0]})")
            if np.unique(source_index).shape != source_index.shape:
                raise TableError("source_index must not repeat")
            if not is_valid_name(source_order):
                raise TableError(f"source_index needs a source_order such as 'nb201', got {source_order!r}")
            extra["source_index"] = source_index.astype(np.int64)
        if not (indices.shape[0] == space.size and np.array_equal(indices, np.arange(space.size))):
            order = np.argsort(indices, kind="stable")
            indices, params, flops = indices[order], params[order], flops[order]
            if extra["source_index"] is not None:
                extra["source_index"] = extra["source_index"][order]
            canonical = canonical_within(space, indices)
        unique = np.unique(canonical) if values_per == "class" else indices.copy()
        cls._check_size(
            unique.shape[0], len(seeds), num_epochs, [dtypes.get(name, "float32") for name in metrics]
        )
        temporary = target.with_name(target.name + ".tmp")
        if target.is_dir():
            raise TableError(f"{target}: is a directory")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            # HDF5 may crash, not raise, on a write that fails halfway: check for room first
            # (the skeleton: per-index arrays, attributes and chunk indices).
            require_space(temporary, 64 * int(indices.shape[0]) + (1 << 20))
            cls._write_skeleton(
                temporary,
                space,
                model,
                dataset,
                protocol,
                seeds,
                num_epochs,
                metrics,
                {name: dtypes.get(name, "float32") for name in metrics},
                created,
                provenance,
                indices,
                canonical,
                unique,
                params,
                flops,
                extra,
            )
            os.replace(temporary, target)
        except OSError as exc:
            raise TableError(f"{target}: cannot write the table ({exc.strerror or exc})") from None
        finally:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
        return cls(target)

    @staticmethod
    def _check_size(classes: int, seeds: int, epochs: int, dtypes: Sequence[str]) -> None:
        """Refuse a table that readers would refuse: its metrics over the schema's limits."""
        per_metric = [classes * seeds * epochs * np.dtype(kind).itemsize for kind in dtypes]
        if (
            classes * seeds > MAX_RUNS
            or max(per_metric) > MAX_DATASET_BYTES
            or sum(per_metric) > MAX_TABLE_BYTES
        ):
            raise TableError(
                f"a table of {classes:,} classes x {seeds} seeds x {epochs:,} epochs x {len(per_metric)} "
                f"metrics exceeds the size limits of the schema (see nasbench.core.schema)"
            )

    @staticmethod
    def _write_skeleton(
        temporary: Path,
        space: CellSpace,
        model: Mapping[str, Any],
        dataset: Mapping[str, Any],
        protocol: Mapping[str, Any],
        seeds: list[int],
        num_epochs: int,
        metrics: list[str],
        dtypes: dict[str, str],
        created: str | None,
        provenance: Mapping[str, Any] | None,
        indices: np.ndarray,
        canonical: np.ndarray,
        unique: np.ndarray,
        params: np.ndarray,
        flops: np.ndarray,
        extra: dict[str, Any],
    ) -> None:
        with h5py.File(temporary, "w", track_order=False) as handle:
            handle.attrs["format"] = FORMAT_NAME
            handle.attrs["schema_version"] = SCHEMA_VERSION
            handle.attrs["space"] = json.dumps(space.to_dict(), sort_keys=True)
            handle.attrs["model"] = json.dumps(dict(model), sort_keys=True)
            handle.attrs["dataset"] = json.dumps(dict(dataset), sort_keys=True)
            handle.attrs["protocol"] = json.dumps(dict(protocol), sort_keys=True)
            handle.attrs["provenance"] = json.dumps(_provenance(created, provenance), sort_keys=True)
            handle.attrs["values_per"] = extra["values_per"]
            handle.attrs["seed_axis"] = json.dumps(extra["seed_axis"], sort_keys=True)
            if extra["source"] is not None:
                handle.attrs["source"] = json.dumps(extra["source"], sort_keys=True)
            handle.create_dataset("epochs", data=extra["epochs"], **COMPRESSION)
            if extra["source_index"] is not None:
                data = handle.create_dataset("archs/source_index", data=extra["source_index"], **COMPRESSION)
                data.attrs["order"] = extra["source_order"]
            handle.create_dataset("archs/index", data=indices, **COMPRESSION)
            handle.create_dataset("archs/ops", data=space.ops_array(indices), **COMPRESSION)
            handle.create_dataset("archs/canonical", data=canonical, **COMPRESSION)
            handle.create_dataset("archs/unique", data=unique, **COMPRESSION)
            handle.create_dataset("seeds", data=np.asarray(seeds, dtype=np.int64), **COMPRESSION)
            handle.create_dataset("cost/params", data=params, **COMPRESSION)
            handle.create_dataset("cost/flops", data=flops, **COMPRESSION)
            shape = (unique.shape[0], len(seeds), num_epochs)
            chunk = (min(shape[0], 256), len(seeds), num_epochs)
            for name in metrics:
                data = handle.create_dataset(
                    f"metrics/{name}",
                    shape=shape,
                    dtype=dtypes[name],
                    chunks=chunk,
                    fillvalue=np.nan,
                    **COMPRESSION,
                )
                data.attrs["unit"] = metric_unit(name)
            handle.create_dataset(
                "runs/status", shape=shape[:2], dtype=np.int8, fillvalue=STATUS_PENDING, **COMPRESSION
            )
            handle.create_dataset(
                "runs/message", shape=shape[:2], dtype=h5py.string_dtype("utf-8"), track_times=False
            )
            handle.attrs["checksum"] = content_checksum(handle)

    # ----------------------------------------------------------------- reading back
    @property
    def indices(self) -> np.ndarray:
        """Space index of every row."""
        return self._indices.copy()

    @property
    def canonical(self) -> np.ndarray:
        """Representative space index of every row."""
        return self._canonical.copy()

    @property
    def unique(self) -> np.ndarray:
        """Representatives, in metric row order."""
        return self._unique.copy()

    @property
    def seeds(self) -> list[int]:
        """Seeds, in metric column order."""
        return list(self._seeds)

    def device_values(self, device_id: str) -> dict[str, np.ndarray]:
        """The stored per-row measurements of one device (empty when it has none)."""
        group = self._file.get(f"devices/{device_id}")
        if group is None:
            return {}
        return {name: data[()] for name, data in group.items()}

    # ----------------------------------------------------------------- writing
    def _class_row(self, arch: ArchLike) -> int:
        index = self.space.index(arch)
        position = int(np.searchsorted(self._indices, index))
        if position >= self._indices.shape[0] or self._indices[position] != index:
            raise ArchitectureError(f"architecture {self.space.from_index(index)} is not in this table")
        if self.values_per == "architecture":
            return position
        representative = self._canonical[position]
        return int(np.searchsorted(self._unique, representative))

    def _seed_column(self, seed: int) -> int:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or int(seed) not in self._seeds:
            raise MetricError(f"seed {seed!r} is not in this table (seeds: {self._seeds})")
        return self._seeds.index(int(seed))

    def write_run(
        self,
        arch: ArchLike,
        seed: int,
        values: Mapping[str, Sequence[float] | np.ndarray],
        *,
        failed: str | None = None,
    ) -> None:
        """Record one (architecture, seed) run: per-epoch values of each metric.

        Metrics left out stay NaN; ``failed`` marks the run failed with a reason (its
        values, such as the epochs before divergence, are still stored).
        """
        row = self._class_row(arch)
        column = self._seed_column(seed)
        checked: dict[str, np.ndarray] = {}
        for name, series in values.items():
            if name not in self.metric_names:
                raise MetricError(
                    f"metric {name!r} is not in this table (metrics: {', '.join(self.metric_names)})"
                )
            try:
                data = np.asarray(series, dtype=np.float64)
            except (TypeError, ValueError):
                raise MetricError(f"metric {name!r} values are not numbers") from None
            if data.ndim != 1 or data.shape[0] > self.num_epochs:
                raise MetricError(
                    f"metric {name!r} needs at most {self.num_epochs} per-epoch values, "
                    f"got shape {data.shape}"
                )
            padded = np.full(self.num_epochs, np.nan)
            padded[: data.shape[0]] = data
            checked[name] = padded
        for name, padded in checked.items():
            self._file[f"metrics/{name}"][row, column, :] = padded
        self._file["runs/status"][row, column] = STATUS_FAILED if failed else STATUS_DONE
        self._file["runs/message"][row, column] = failed or ""

    def write_metric_block(self, name: str, values: np.ndarray, status: np.ndarray | None = None) -> None:
        """Write a whole epoch metric at once, [U, S, E] aligned with ``archs/unique``
        and ``seeds`` (for merging shards or importing results computed elsewhere).

        ``status`` ([U, S] int8), when given, replaces the run status array.
        """
        if name not in self.metric_names:
            raise MetricError(
                f"metric {name!r} is not in this table (metrics: {', '.join(self.metric_names)})"
            )
        data = np.asarray(values, dtype=np.float64)
        expected = (self._unique.shape[0], len(self._seeds), self.num_epochs)
        if data.shape != expected:
            raise MetricError(f"metric {name!r} block must have shape {expected}, got {data.shape}")
        self._file[f"metrics/{name}"][...] = data
        if status is not None:
            codes = np.asarray(status, dtype=np.int8)
            if codes.shape != expected[:2]:
                raise MetricError(f"status must have shape {expected[:2]}, got {codes.shape}")
            self._file["runs/status"][...] = codes

    def write_status_block(self, status: np.ndarray, messages: np.ndarray | None = None) -> None:
        """Replace the run status [U, S] (and, when given, the failure messages) at once."""
        expected = (self._unique.shape[0], len(self._seeds))
        codes = np.asarray(status, dtype=np.int8)
        if codes.shape != expected:
            raise MetricError(f"status must have shape {expected}, got {codes.shape}")
        if np.any(~np.isin(codes, STATUS_CODES)):
            raise MetricError("status holds unknown codes")
        if messages is not None:
            texts = np.asarray(messages, dtype=object)
            if texts.shape != expected:
                raise MetricError(f"messages must have shape {expected}, got {texts.shape}")
            self._file["runs/message"][...] = texts.astype(str).astype(object)
        self._file["runs/status"][...] = codes

    def run_status(self) -> np.ndarray:
        """int8 [U, S] status of every (class, seed) run."""
        return self._file["runs/status"][()]

    def pending_runs(self) -> list[tuple[int, int]]:
        """(representative index, seed) of every run not yet recorded."""
        status = self.run_status()
        rows, columns = np.nonzero(status == STATUS_PENDING)
        return [(int(self._unique[r]), self._seeds[c]) for r, c in zip(rows, columns, strict=False)]

    def write_device(
        self,
        device_id: str,
        description: Mapping[str, Any],
        values: Mapping[str, Sequence[float] | np.ndarray],
    ) -> None:
        """Store per-architecture measurements of one device (one value per row)."""
        if not is_valid_name(device_id):
            raise TableError(f"invalid device id {device_id!r} (letters, digits, '_', '-', '.')")
        checked: dict[str, np.ndarray] = {}
        for name, series in values.items():
            if not is_valid_name(name):
                raise TableError(f"invalid device metric name {name!r}")
            try:
                data = np.asarray(series, dtype=np.float32)
            except (TypeError, ValueError):
                raise MetricError(f"device metric {name!r} values are not numbers") from None
            if data.shape != self._indices.shape:
                raise MetricError(
                    f"device metric {name!r} needs one value per row "
                    f"({self._indices.shape[0]}), got {data.shape}"
                )
            checked[name] = data
        description_json = json.dumps(dict(description), sort_keys=True)
        group = self._file.require_group(f"devices/{device_id}")
        group.attrs["description"] = description_json
        for name, data in checked.items():
            if name in group:
                del group[name]
            group.create_dataset(name, data=data, **COMPRESSION)

    def set_attr(self, name: str, value: Any) -> None:
        """Store a JSON attribute at the root (for example ``fidelity``)."""
        if name in ("format", "schema_version", "checksum", "values_per", "seed_axis"):
            raise TableError(f"attribute {name!r} is managed by the writer")
        self._file.attrs[name] = json.dumps(value, sort_keys=True)

    def flush(self) -> None:
        """Push buffered writes to disk."""
        self._file.flush()

    def close(self) -> None:
        """Seal the checksum and close the file."""
        if self._file.id.valid:
            self._file.attrs["checksum"] = content_checksum(self._file)
            self._file.close()

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

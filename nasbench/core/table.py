"""The HDF5 table: schema, writer, read-only query API and validation.

One file holds one (space, dataset, protocol). Schema version 1 (also in tables/README.md):

root attributes (JSON strings unless noted)
    ``format`` "nasbench-table" (str), ``schema_version`` 1 (int), ``space``, ``model``
    (macro skeleton), ``dataset`` (name and splits), ``protocol`` (training recipe),
    ``provenance`` (package, torch, numpy, h5py and Python versions, ``created``),
    ``fidelity`` (optional, seed-to-seed agreement figures), ``checksum``
    ("sha256:<hex>" of the content, see :func:`content_checksum`).
``archs/index`` int64 [N]
    space index of every row, ascending (``arange(size)`` for a complete table).
``archs/ops`` int8 [N, edges]
    op index of every edge.
``archs/canonical`` int64 [N]
    space index of the row's class representative (smallest index of the class).
``archs/unique`` int64 [U]
    representatives, ascending: row ``u`` of every metric belongs to ``unique[u]``.
``seeds`` int64 [S]
    training seeds; axis 1 of every metric.
``metrics/<name>`` float16/float32 [U, S, E]
    per class, seed and epoch (axis 2 is the epoch, 0 = after the first epoch):
    ``train_acc``, ``val_acc``, ``test_acc`` (percent), ``train_loss``, ``val_loss``,
    ``test_loss`` (mean cross-entropy, nats), ``train_seconds`` (CPU seconds spent training
    that epoch), ``eval_seconds`` (CPU seconds spent measuring val and test after it).
    NaN where not (yet) measured.
``runs/status`` int8 [U, S]
    0 pending, 1 done, 2 failed; ``runs/message`` str [U, S] says why a run failed.
``cost/params``, ``cost/flops`` int64 [N]
    parameters and multiply-accumulates of one image, as NAS-Bench-201 counts them, for
    every row (members of a class can differ in cost).
``devices/<device-id>/<name>`` float32 [N]
    per-device measurements such as ``latency_ms_b1`` or ``train_peak_memory_mb``; the
    group's ``description`` attribute (JSON) says what the device is.

Every numeric dataset is gzip-compressed with HDF5's Fletcher-32 checksum filter, so a
flipped bit fails loudly when it is read instead of answering a wrong value.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import platform
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from nasbench.core.errors import (
    ArchitectureError,
    MetricError,
    NotMeasuredError,
    SchemaVersionError,
    TableError,
)
from nasbench.core.space import Architecture, ArchLike, CellSpace

__all__ = [
    "COMPACT_DTYPES",
    "EPOCH_METRICS",
    "FORMAT_NAME",
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

FORMAT_NAME = "nasbench-table"
SCHEMA_VERSION = 1
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
METRIC_UNITS = {"acc": "percent", "loss": "nats", "seconds": "seconds"}
COST_METRICS: tuple[str, ...] = ("params", "flops", "params_m", "flops_m")
STATUS_PENDING, STATUS_DONE, STATUS_FAILED = 0, 1, 2
_JSON_ATTRS = ("space", "model", "dataset", "protocol", "provenance")
_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
_COMPRESSION: dict[str, Any] = {
    "compression": "gzip",
    "compression_opts": 4,
    "fletcher32": True,
    "shuffle": True,
    "track_times": False,
}


def _unit(metric: str) -> str:
    for suffix, unit in METRIC_UNITS.items():
        if metric.endswith(suffix):
            return unit
    return ""


def _json_attr(source: Mapping[str, Any], name: str, where: str) -> Any:
    if name not in source:
        raise TableError(f"{where}: missing attribute {name!r}")
    raw = source[name]
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        raise TableError(f"{where}: attribute {name!r} is not valid JSON") from None


def _walk_content(handle: h5py.File) -> Iterator[tuple[str, bytes]]:
    """(label, bytes) pairs that define a table's content, in a fixed order."""
    for name in sorted(handle.attrs):
        if name == "checksum":
            continue
        yield f"@{name}", json.dumps(_plain(handle.attrs[name]), sort_keys=True).encode()
    paths: list[str] = []
    handle.visit(paths.append)
    for path in sorted(paths):
        item = handle[path]
        for name in sorted(item.attrs):
            yield f"{path}@{name}", json.dumps(_plain(item.attrs[name]), sort_keys=True).encode()
        if isinstance(item, h5py.Dataset):
            if h5py.check_string_dtype(item.dtype) is not None:
                values = item.asstr()[()]
                flat = np.asarray(values, dtype=object).ravel().tolist()
                data = json.dumps([str(x) for x in flat]).encode()
            else:
                data = np.ascontiguousarray(item[()]).tobytes()
            yield f"{path}:{item.dtype.str}:{item.shape}", data


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def content_checksum(handle: h5py.File) -> str:
    """sha256 over every attribute and dataset of an open table except ``checksum``."""
    digest = hashlib.sha256()
    for label, data in _walk_content(handle):
        digest.update(label.encode())
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return "sha256:" + digest.hexdigest()


def _open_h5(path: str | os.PathLike[str], mode: str) -> h5py.File:
    target = Path(path)
    if mode == "r" and not target.exists():
        raise TableError(f"{target}: no such table file")
    if target.is_dir():
        raise TableError(f"{target}: is a directory, not a table file")
    try:
        return h5py.File(target, mode)
    except Exception as exc:  # h5py raises OSError, RuntimeError, ... on damaged files
        text = _one_line(exc)
        reason = text.split("(")[-1].rstrip(")") if "(" in text else text
        raise TableError(f"{target}: not a readable HDF5 table ({reason})") from None


def _one_line(exc: BaseException) -> str:
    """An exception's message folded onto one line."""
    return " ".join(str(exc).split()) or type(exc).__name__


def _check_header(handle: h5py.File, where: str) -> None:
    fmt = _plain(handle.attrs.get("format"))
    if fmt != FORMAT_NAME:
        raise TableError(f"{where}: not a nasbench table (format attribute {fmt!r})")
    version = _plain(handle.attrs.get("schema_version"))
    if not isinstance(version, int):
        raise TableError(f"{where}: missing or invalid schema_version")
    if version != SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{where}: schema version {version} is not supported by this nasbench "
            f"(it reads version {SCHEMA_VERSION}); "
            + ("upgrade nasbench" if version > SCHEMA_VERSION else "regenerate the table")
        )


def _provenance(created: str | None, extra: Mapping[str, Any] | None) -> dict[str, Any]:
    from nasbench import __version__

    try:
        import torch

        torch_version: str | None = torch.__version__
    except ImportError:  # pragma: no cover - torch is a core dependency
        torch_version = None
    if created is None:
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        moment = _dt.datetime.fromtimestamp(int(epoch), _dt.UTC) if epoch else _dt.datetime.now(_dt.UTC)
        created = moment.replace(microsecond=0).isoformat()
    info: dict[str, Any] = {
        "nasbench_version": __version__,
        "torch_version": torch_version,
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
        self._file = _open_h5(self.path, "r")
        try:
            _check_header(self._file, str(self.path))
        finally:
            self._file.close()
        self._file = _open_h5(self.path, "r+")
        self.space = CellSpace.from_dict(_json_attr(self._file.attrs, "space", str(self.path)))
        self._indices = self._file["archs/index"][()]
        self._canonical = self._file["archs/canonical"][()]
        self._unique = self._file["archs/unique"][()]
        self._seeds = [int(s) for s in self._file["seeds"][()]]
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
    ) -> TableWriter:
        """Write an empty table (every metric NaN, every run pending) and open it.

        ``indices`` are the space indices to hold (all when None); ``params`` and
        ``flops`` give their cost, aligned with ``indices``. ``dtype`` is the storage type
        of every metric, or a mapping metric -> type (float32 for metrics it omits).
        """
        target = Path(path)
        if target.exists() and not overwrite:
            raise TableError(f"{target}: file exists (pass overwrite=True to replace it)")
        if num_epochs < 1:
            raise TableError(f"num_epochs must be >= 1, got {num_epochs}")
        seeds = [int(s) for s in seeds]
        if not seeds or len(set(seeds)) != len(seeds):
            raise TableError(f"seeds must be a non-empty list without repeats, got {seeds}")
        metrics = list(metrics)
        dtypes = {name: dtype for name in metrics} if isinstance(dtype, str) else dict(dtype)
        for name, kind in dtypes.items():
            if kind not in ("float16", "float32"):
                raise TableError(f"dtype of {name!r} must be float16 or float32, got {kind!r}")
        if not metrics or len(set(metrics)) != len(metrics):
            raise TableError(f"metrics must be a non-empty list without repeats, got {metrics}")
        for name in metrics:
            if not isinstance(name, str) or not _NAME.fullmatch(name):
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
        if not (indices.shape[0] == space.size and np.array_equal(indices, np.arange(space.size))):
            order = np.argsort(indices, kind="stable")
            indices, params, flops = indices[order], params[order], flops[order]
            canonical = _canonical_within(space, indices)
        unique = np.unique(canonical)
        temporary = target.with_name(target.name + ".tmp")
        if target.is_dir():
            raise TableError(f"{target}: is a directory")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
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
            )
            os.replace(temporary, target)
        except OSError as exc:
            try:
                temporary.unlink(missing_ok=True)
            except OSError:
                pass
            raise TableError(f"{target}: cannot write the table ({exc.strerror or exc})") from None
        return cls(target)

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
    ) -> None:
        with h5py.File(temporary, "w", track_order=False) as handle:
            handle.attrs["format"] = FORMAT_NAME
            handle.attrs["schema_version"] = SCHEMA_VERSION
            handle.attrs["space"] = json.dumps(space.to_dict(), sort_keys=True)
            handle.attrs["model"] = json.dumps(dict(model), sort_keys=True)
            handle.attrs["dataset"] = json.dumps(dict(dataset), sort_keys=True)
            handle.attrs["protocol"] = json.dumps(dict(protocol), sort_keys=True)
            handle.attrs["provenance"] = json.dumps(_provenance(created, provenance), sort_keys=True)
            handle.create_dataset("archs/index", data=indices, **_COMPRESSION)
            handle.create_dataset("archs/ops", data=space.ops_array(indices), **_COMPRESSION)
            handle.create_dataset("archs/canonical", data=canonical, **_COMPRESSION)
            handle.create_dataset("archs/unique", data=unique, **_COMPRESSION)
            handle.create_dataset("seeds", data=np.asarray(seeds, dtype=np.int64), **_COMPRESSION)
            handle.create_dataset("cost/params", data=params, **_COMPRESSION)
            handle.create_dataset("cost/flops", data=flops, **_COMPRESSION)
            shape = (unique.shape[0], len(seeds), num_epochs)
            chunk = (min(shape[0], 256), len(seeds), num_epochs)
            for name in metrics:
                data = handle.create_dataset(
                    f"metrics/{name}",
                    shape=shape,
                    dtype=dtypes[name],
                    chunks=chunk,
                    fillvalue=np.nan,
                    **_COMPRESSION,
                )
                data.attrs["unit"] = _unit(name)
            handle.create_dataset(
                "runs/status", shape=shape[:2], dtype=np.int8, fillvalue=STATUS_PENDING, **_COMPRESSION
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

    def attr(self, name: str) -> Any:
        """A JSON root attribute, decoded (None when absent)."""
        if name not in self._file.attrs:
            return None
        return _json_attr(self._file.attrs, name, str(self.path))

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
        if np.any(~np.isin(codes, (STATUS_PENDING, STATUS_DONE, STATUS_FAILED))):
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
        if not _NAME.fullmatch(device_id):
            raise TableError(f"invalid device id {device_id!r} (letters, digits, '_', '-', '.')")
        checked: dict[str, np.ndarray] = {}
        for name, series in values.items():
            if not isinstance(name, str) or not _NAME.fullmatch(name):
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
            group.create_dataset(name, data=data, **_COMPRESSION)

    def set_attr(self, name: str, value: Any) -> None:
        """Store a JSON attribute at the root (for example ``fidelity``)."""
        if name in ("format", "schema_version", "checksum"):
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


def _canonical_within(space: CellSpace, indices: np.ndarray) -> np.ndarray:
    """Representative of each row among the given indices (smallest index of the class)."""
    first: dict[str, int] = {}
    out = np.empty_like(indices)
    for position, index in enumerate(indices.tolist()):
        out[position] = first.setdefault(space.canonical_key(index), index)
    return out


class Table:
    """Read-only, in-memory view of a table file. Open with :func:`open_table`.

    Every array is read once when the table opens, so queries are answered from numpy
    without touching the file again.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        where = str(self.path)
        with _open_h5(self.path, "r") as handle:
            try:
                _check_header(handle, where)
                self._load(handle, where)
            except (TableError, ArchitectureError):
                raise
            except Exception as exc:  # h5py raises many types on damaged files
                raise TableError(f"{where}: corrupt table ({_one_line(exc)})") from None
        self._means: dict[tuple[str, int | None], np.ndarray] = {}
        self._memo: dict[object, int] = {}

    def _need(self, handle: h5py.File, name: str, where: str) -> np.ndarray:
        if name not in handle:
            raise TableError(f"{where}: missing dataset {name!r}")
        return handle[name][()]

    def _load(self, handle: h5py.File, where: str) -> None:
        self.space = CellSpace.from_dict(_json_attr(handle.attrs, "space", where))
        self.model: dict[str, Any] = _json_attr(handle.attrs, "model", where)
        self.dataset: dict[str, Any] = _json_attr(handle.attrs, "dataset", where)
        self.protocol: dict[str, Any] = _json_attr(handle.attrs, "protocol", where)
        self.provenance: dict[str, Any] = _json_attr(handle.attrs, "provenance", where)
        self.fidelity: dict[str, Any] | None = (
            _json_attr(handle.attrs, "fidelity", where) if "fidelity" in handle.attrs else None
        )
        self.checksum: str | None = _plain(handle.attrs.get("checksum"))
        self.indices = self._need(handle, "archs/index", where).astype(np.int64)
        self.ops = self._need(handle, "archs/ops", where)
        self.canonical = self._need(handle, "archs/canonical", where).astype(np.int64)
        self.unique = self._need(handle, "archs/unique", where).astype(np.int64)
        self.seeds = self._need(handle, "seeds", where).astype(np.int64)
        rows = self.indices.shape[0]
        if self.ops.shape != (rows, self.space.num_edges) or self.canonical.shape != (rows,):
            raise TableError(f"{where}: archs datasets disagree in shape")
        if rows and (
            np.any(np.diff(self.indices) <= 0) or self.indices[0] < 0 or self.indices[-1] >= self.space.size
        ):
            raise TableError(f"{where}: archs/index is not ascending within the space")
        self._complete = rows == self.space.size
        self.class_row = np.searchsorted(self.unique, self.canonical)
        if np.any(self.class_row >= self.unique.shape[0]) or np.any(
            self.unique[np.minimum(self.class_row, self.unique.shape[0] - 1)] != self.canonical
        ):
            raise TableError(f"{where}: archs/canonical names a class missing from archs/unique")
        self._class_row_list: list[int] = self.class_row.tolist()
        self.params = self._need(handle, "cost/params", where).astype(np.int64)
        self.flops = self._need(handle, "cost/flops", where).astype(np.int64)
        if self.params.shape != (rows,) or self.flops.shape != (rows,):
            raise TableError(f"{where}: cost datasets need one value per row")
        if "metrics" not in handle or not len(handle["metrics"]):
            raise TableError(f"{where}: missing group 'metrics'")
        expected = (self.unique.shape[0], self.seeds.shape[0])
        self._metrics: dict[str, np.ndarray] = {}
        for name, data in handle["metrics"].items():
            values = data[()].astype(np.float32)
            if values.ndim != 3 or values.shape[:2] != expected:
                raise TableError(
                    f"{where}: metrics/{name} has shape {values.shape}, expected {expected} + (epochs,)"
                )
            self._metrics[name] = values
        epochs = {v.shape[2] for v in self._metrics.values()}
        if len(epochs) != 1:
            raise TableError(f"{where}: metrics disagree on the number of epochs")
        self.num_epochs = epochs.pop()
        self.run_status = self._need(handle, "runs/status", where)
        if self.run_status.shape != expected:
            raise TableError(f"{where}: runs/status has shape {self.run_status.shape}, expected {expected}")
        self.run_messages = handle["runs/message"].asstr()[()] if "runs/message" in handle else None
        self.devices: dict[str, dict[str, Any]] = {}
        self._device_metrics: dict[str, np.ndarray] = {}
        for device_id, group in handle.get("devices", {}).items():
            self.devices[device_id] = _json_attr(group.attrs, "description", f"{where}: device {device_id}")
            for name, data in group.items():
                values = data[()].astype(np.float64)
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

    def to_pandas(self, epoch: int = -1) -> Any:
        """One row per architecture: index, string, class, cost, device metrics and
        every epoch metric at ``epoch`` averaged over seeds."""
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover - pandas is a core dependency
            raise ImportError("to_pandas needs pandas: pip install 'pandas>=2'") from None
        columns: dict[str, Any] = {
            "index": self.indices,
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


def open_table(path: str | os.PathLike[str]) -> Table:
    """Open a table file for reading: every array is loaded once, the file is closed."""
    return Table(path)


def validate_table(path: str | os.PathLike[str]) -> list[str]:
    """Every problem found in a table file (empty when it is valid).

    Beyond what opening checks: the checksum, the op and canonical arrays against the
    space, value ranges of the metrics, run status against the values, cost positivity.
    """
    problems: list[str] = []
    try:
        table = open_table(path)
    except (TableError, ArchitectureError) as exc:
        return [str(exc)]
    try:
        with _open_h5(path, "r") as handle:
            actual = content_checksum(handle)
    except TableError as exc:
        return [str(exc)]
    except Exception as exc:  # h5py raises many types on damaged files
        return [f"{path}: corrupt content ({_one_line(exc)})"]
    if not table.checksum:
        problems.append("no checksum: the writer was not closed")
    elif table.checksum != actual:
        problems.append(f"checksum mismatch: stored {table.checksum}, content {actual}")
    space = table.space
    if not np.array_equal(space.indices_from_ops(table.ops), table.indices):
        problems.append("archs/ops does not encode archs/index")
    if table.num_archs == space.size:
        expected = space.canonical_indices()
    else:
        expected = _canonical_within(space, table.indices)
    if not np.array_equal(expected, table.canonical):
        wrong = int(np.sum(expected != table.canonical))
        problems.append(f"archs/canonical disagrees with the space's canonical form for {wrong} rows")
    if not np.array_equal(np.unique(table.canonical), table.unique):
        problems.append("archs/unique is not the set of representatives")
    for name in table.epoch_metrics:
        values = table.raw(name)
        finite = values[~np.isnan(values)]
        if name.endswith("_acc") and finite.size and (finite.min() < 0 or finite.max() > 100):
            problems.append(f"{name} outside [0, 100] percent")
        if (name.endswith("_loss") or name.endswith("seconds")) and finite.size and finite.min() < 0:
            problems.append(f"{name} has negative values")
        if np.isinf(values).any() and not name.endswith("_loss"):
            problems.append(f"{name} has infinite values")
        done = table.run_status == STATUS_DONE
        if done.any() and np.isnan(values[done][:, -1]).any() and name in EPOCH_METRICS:
            problems.append(f"{name} is NaN at the last epoch of runs marked done")
    if np.any(~np.isin(table.run_status, (STATUS_PENDING, STATUS_DONE, STATUS_FAILED))):
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

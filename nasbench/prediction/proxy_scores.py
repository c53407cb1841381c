"""The zero-cost proxy scores file: per-class scores of a table, stored beside it.

Computing the scores needs torch and the networks (the ``zero-cost`` surrogate plug-in,
:mod:`nasbench.surrogates.zero_cost`, does it); reading them does not, so predictor
evaluation (``surrogate eval --proxies``) reads them through this module without torch.

A table ``X.h5`` keeps its scores in ``X.proxies.h5`` (HDF5, no pickle). Layout (schema
version 1): root attributes ``format`` ("nasbench-proxies"), ``schema_version``,
``proxies`` (JSON list), ``batch_size``, ``seed``, ``torch_version``, ``table_checksum``,
``table_file``, ``settings`` (JSON), ``scores_checksum`` (sha256 of ``archs/unique`` and
the scores); datasets ``archs/unique`` int64 [U] and ``scores/<proxy>`` float64 [U],
aligned with the table's ``archs/unique``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from nasbench.core.errors import ConfigError, NasbenchError, TableError
from nasbench.core.table import Table, open_table

__all__ = [
    "PROXY_FORMAT",
    "PROXY_SCHEMA_VERSION",
    "ProxyScores",
    "proxy_scores_path",
    "read_proxy_scores",
    "write_proxy_scores",
]

PROXY_FORMAT = "nasbench-proxies"
PROXY_SCHEMA_VERSION = 1
_SUFFIX = ".proxies.h5"
_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
_COMPRESSION: dict[str, Any] = {"compression": "gzip", "fletcher32": True, "track_times": False}


def proxy_scores_path(table_path: str | os.PathLike[str]) -> Path:
    """Where a table's proxy scores live: ``<table stem>.proxies.h5`` beside it."""
    table = Path(table_path)
    return table.with_name(table.stem + _SUFFIX)


def _table_path_for(scores_path: Path) -> Path:
    name = scores_path.name
    if not name.endswith(_SUFFIX):
        raise TableError(f"{scores_path}: cannot tell its table (the name does not end in {_SUFFIX})")
    return scores_path.with_name(name[: -len(_SUFFIX)] + ".h5")


def _scores_checksum(unique: np.ndarray, scores: Mapping[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(unique, dtype="<i8").tobytes())
    for name, values in scores.items():
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(values, dtype="<f8").tobytes())
    return "sha256:" + digest.hexdigest()


def _open_table(table: Table | str | os.PathLike[str]) -> Table:
    return table if isinstance(table, Table) else open_table(table)


def _installed_torch_version() -> str:
    """The installed torch's version, read from its metadata (without importing torch)."""
    try:
        return metadata.version("torch")
    except metadata.PackageNotFoundError:
        return "unknown"


def write_proxy_scores(
    table_path: str | os.PathLike[str] | Table,
    scores: Mapping[str, np.ndarray],
    settings: Mapping[str, Any],
    *,
    torch_version: str | None = None,
) -> Path:
    """Store per-class scores (aligned with the table's ``archs/unique``) beside the table.

    ``settings`` (JSON-ready) must name ``batch_size`` and ``seed``; it is stored whole.
    ``torch_version`` is the torch that computed the scores (default: the installed one).
    The file is written under a temporary name and renamed into place, so a reader never
    sees half a file. Returns its path.
    """
    table = _open_table(table_path)
    if not table.checksum:
        raise TableError(f"{table.path}: the table has no checksum (its writer was not closed)")
    arrays: dict[str, np.ndarray] = {}
    for name, values in scores.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ConfigError(f"invalid proxy name {name!r}")
        array = np.asarray(values, dtype=np.float64)
        if array.shape != table.unique.shape:
            raise ConfigError(
                f"scores of {name!r} have shape {array.shape}; the table has {table.num_unique} classes"
            )
        arrays[name] = array
    if not arrays:
        raise ConfigError("no scores to write")
    missing = [key for key in ("batch_size", "seed") if key not in settings]
    if missing:
        raise ConfigError(f"settings must name {', '.join(missing)}")
    try:
        settings_json = json.dumps(dict(settings), sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"settings are not JSON-serialisable: {exc}") from None
    target = proxy_scores_path(table.path)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with h5py.File(temporary, "w") as handle:
            handle.attrs["format"] = PROXY_FORMAT
            handle.attrs["schema_version"] = PROXY_SCHEMA_VERSION
            handle.attrs["proxies"] = json.dumps(list(arrays))
            handle.attrs["batch_size"] = int(settings["batch_size"])
            handle.attrs["seed"] = int(settings["seed"])
            handle.attrs["torch_version"] = torch_version or _installed_torch_version()
            handle.attrs["table_checksum"] = table.checksum
            handle.attrs["table_file"] = table.path.name
            handle.attrs["settings"] = settings_json
            handle.attrs["scores_checksum"] = _scores_checksum(table.unique, arrays)
            handle.create_dataset("archs/unique", data=table.unique.astype(np.int64), **_COMPRESSION)
            for name, array in arrays.items():
                handle.create_dataset(f"scores/{name}", data=array, **_COMPRESSION)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target


@dataclass(frozen=True)
class ProxyScores:
    """Proxy scores of a table's classes, read by :func:`read_proxy_scores`."""

    path: Path
    scores: dict[str, np.ndarray] = field(repr=False)  # name -> float64 [U]
    unique: np.ndarray = field(repr=False)  # the table's archs/unique
    settings: dict[str, Any]
    table_checksum: str
    torch_version: str

    @property
    def proxies(self) -> tuple[str, ...]:
        """The proxy names, in stored order."""
        return tuple(self.scores)

    def per_row(self, table: Table | str | os.PathLike[str]) -> dict[str, np.ndarray]:
        """name -> float64 [N]: every row of ``table`` (a Table or path) gets its class's score."""
        opened = _open_table(table)
        if opened.checksum != self.table_checksum:
            raise TableError(f"{self.path}: these scores belong to another table than {opened.path}")
        return {name: values[opened.class_row] for name, values in self.scores.items()}


def _attr(handle: h5py.File, name: str, where: str) -> Any:
    if name not in handle.attrs:
        raise TableError(f"{where}: missing attribute {name!r}")
    value = handle.attrs[name]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.generic):
        return value.item()
    return value


def read_proxy_scores(
    path: str | os.PathLike[str], table: Table | str | os.PathLike[str] | None = None
) -> ProxyScores:
    """Read a proxy scores file and check it belongs to its table.

    ``table`` (a Table or a path) defaults to the file beside it (``X.proxies.h5`` ->
    ``X.h5``). A missing, truncated or tampered file, or scores of another table (the
    table's checksum or classes differ), raise one :class:`~nasbench.core.errors.TableError`.
    """
    source = Path(path)
    where = str(source)
    if not source.is_file():
        raise TableError(f"{where}: no such proxy scores file")
    try:
        handle = h5py.File(source, "r")
    except Exception as exc:  # h5py raises OSError and others on damaged files
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise TableError(f"{where}: not a readable proxy scores file ({reason})") from None
    try:
        with handle:
            if _attr(handle, "format", where) != PROXY_FORMAT:
                raise TableError(f"{where}: not a nasbench proxy scores file")
            version = _attr(handle, "schema_version", where)
            if version != PROXY_SCHEMA_VERSION:
                raise TableError(
                    f"{where}: proxy scores schema version {version} is not supported "
                    f"(this nasbench reads version {PROXY_SCHEMA_VERSION})"
                )
            names = json.loads(_attr(handle, "proxies", where))
            settings = json.loads(_attr(handle, "settings", where))
            stored_checksum = _attr(handle, "table_checksum", where)
            torch_version = _attr(handle, "torch_version", where)
            content_checksum = _attr(handle, "scores_checksum", where)
            unique = handle["archs/unique"][()].astype(np.int64)
            scores = {name: handle[f"scores/{name}"][()].astype(np.float64) for name in names}
    except NasbenchError:
        raise
    except Exception as exc:  # truncated datasets, Fletcher-32 failures, bad JSON, missing keys
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise TableError(f"{where}: corrupt proxy scores file ({reason})") from None
    if _scores_checksum(unique, scores) != content_checksum:
        raise TableError(f"{where}: the scores do not match their checksum (file changed after writing)")
    table_source = _table_path_for(source) if table is None else table
    opened = _open_table(table_source)
    if opened.checksum != stored_checksum or not np.array_equal(opened.unique, unique):
        raise TableError(
            f"{where}: scores were computed for another table (table checksum {stored_checksum}), "
            f"not for {opened.path} (checksum {opened.checksum}); "
            f"recompute them with `nasbench proxies {opened.path}`"
        )
    return ProxyScores(
        path=source,
        scores=scores,
        unique=unique,
        settings=settings,
        table_checksum=stored_checksum,
        torch_version=torch_version,
    )

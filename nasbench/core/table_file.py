"""HDF5 access shared by the table reader, writer and validation.

Owns opening a table file with one-line errors, the header check (format name and schema
version), decoding JSON attributes, the content checksum and the storage filters every
dataset is written with. The layout itself is documented in :mod:`nasbench.core.schema`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from nasbench.core.errors import SchemaVersionError, TableError, one_line
from nasbench.core.schema import FORMAT_NAME, READABLE_SCHEMA_VERSIONS, SCHEMA_VERSION

__all__ = ["COMPRESSION", "check_header", "content_checksum", "json_attr", "open_h5", "plain"]

#: Filters of every numeric dataset: gzip, byte shuffle and the Fletcher-32 checksum (a
#: flipped bit fails the read); no timestamps, so equal content gives equal bytes.
COMPRESSION: dict[str, Any] = {
    "compression": "gzip",
    "compression_opts": 4,
    "fletcher32": True,
    "shuffle": True,
    "track_times": False,
}


def open_h5(path: str | os.PathLike[str], mode: str) -> h5py.File:
    """An open HDF5 file, or a one-line TableError saying why it cannot be opened."""
    target = Path(path)
    if mode == "r" and not target.exists():
        raise TableError(f"{target}: no such table file")
    if target.is_dir():
        raise TableError(f"{target}: is a directory, not a table file")
    try:
        return h5py.File(target, mode)
    except Exception as exc:  # h5py raises OSError, RuntimeError, ... on damaged files
        text = one_line(exc) or type(exc).__name__
        reason = text.split("(")[-1].rstrip(")") if "(" in text else text
        raise TableError(f"{target}: not a readable HDF5 table ({reason})") from None


def plain(value: Any) -> Any:
    """An attribute value as plain Python (str for bytes, lists for arrays, scalars)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def json_attr(source: Mapping[str, Any], name: str, where: str) -> Any:
    """The JSON attribute ``name`` of ``source`` decoded, or a TableError naming ``where``."""
    if name not in source:
        raise TableError(f"{where}: missing attribute {name!r}")
    raw = source[name]
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        raise TableError(f"{where}: attribute {name!r} is not valid JSON") from None


def check_header(handle: h5py.File, where: str) -> None:
    """Refuse a file that is not a nasbench table or has another schema version."""
    fmt = plain(handle.attrs.get("format"))
    if fmt != FORMAT_NAME:
        raise TableError(f"{where}: not a nasbench table (format attribute {fmt!r})")
    version = plain(handle.attrs.get("schema_version"))
    if not isinstance(version, int):
        raise TableError(f"{where}: missing or invalid schema_version")
    if version not in READABLE_SCHEMA_VERSIONS:
        raise SchemaVersionError(
            f"{where}: schema version {version} is not supported by this nasbench "
            f"(it reads versions {', '.join(map(str, READABLE_SCHEMA_VERSIONS))}); "
            + ("upgrade nasbench" if version > SCHEMA_VERSION else "regenerate the table")
        )


def _walk_content(handle: h5py.File) -> Iterator[tuple[str, bytes]]:
    """(label, bytes) pairs that define a table's content, in a fixed order."""
    for name in sorted(handle.attrs):
        if name == "checksum":
            continue
        yield f"@{name}", json.dumps(plain(handle.attrs[name]), sort_keys=True).encode()
    paths: list[str] = []
    handle.visit(paths.append)
    for path in sorted(paths):
        item = handle[path]
        for name in sorted(item.attrs):
            yield f"{path}@{name}", json.dumps(plain(item.attrs[name]), sort_keys=True).encode()
        if isinstance(item, h5py.Dataset):
            if h5py.check_string_dtype(item.dtype) is not None:
                values = item.asstr()[()]
                flat = np.asarray(values, dtype=object).ravel().tolist()
                data = json.dumps([str(x) for x in flat]).encode()
            else:
                data = np.ascontiguousarray(item[()]).tobytes()
            yield f"{path}:{item.dtype.str}:{item.shape}", data


def content_checksum(handle: h5py.File) -> str:
    """sha256 over every attribute and dataset of an open table except ``checksum``."""
    digest = hashlib.sha256()
    for label, data in _walk_content(handle):
        digest.update(label.encode())
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return "sha256:" + digest.hexdigest()

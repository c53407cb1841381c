"""HDF5 access shared by the table reader, writer and validation.

Owns opening a table file with one-line errors (regular files only: a FIFO would block
forever, a device would be read without end), the header check (format name and schema
version), the bounds on declared shapes (checked before anything is read), decoding JSON
attributes, the content checksum (streamed in bounded blocks) and its verification with a
per-process cache, and the storage filters every dataset is written with. The layout
itself is documented in :mod:`nasbench.core.schema`.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import resource
import stat
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from nasbench.core.errors import SchemaVersionError, TableError, one_line
from nasbench.core.schema import (
    FORMAT_NAME,
    MAX_CHUNK_BYTES,
    MAX_DATASET_BYTES,
    MAX_EPOCHS,
    MAX_OBJECTS,
    MAX_ROWS,
    MAX_RUNS,
    MAX_SEEDS,
    MAX_TABLE_BYTES,
    READABLE_SCHEMA_VERSIONS,
    SCHEMA_VERSION,
)

__all__ = [
    "COMPRESSION",
    "NO_VERIFY_ENV",
    "check_header",
    "check_shapes",
    "clear_checksum_cache",
    "content_checksum",
    "file_identity",
    "is_verified",
    "json_attr",
    "open_h5",
    "plain",
    "stored_checksum",
    "verify_by_default",
    "verify_content",
]

#: Filters of every numeric dataset: gzip, byte shuffle and the Fletcher-32 checksum (a
#: flipped bit fails the read); no timestamps, so equal content gives equal bytes.
COMPRESSION: dict[str, Any] = {
    "compression": "gzip",
    "compression_opts": 4,
    "fletcher32": True,
    "shuffle": True,
    "track_times": False,
}

#: Environment variable that turns checksum verification on open off by default
#: (``NASBENCH_NO_VERIFY=1``), for trusted huge tables; an explicit ``verify=`` wins.
NO_VERIFY_ENV = "NASBENCH_NO_VERIFY"
#: Bytes of one block when the checksum streams a dataset (memory never grows with shapes).
BLOCK_BYTES = 1 << 23
#: A file modified this recently is verified every time (its timestamp may not yet show a
#: change made within the same clock tick, as git's "racy" index entries).
RACY_SECONDS = 2.0
#: Verified files, (path, device, inode, size, mtime, ctime) -> stored checksum.
_VERIFIED: dict[tuple[Any, ...], str] = {}
_VERIFIED_LIMIT = 256
_KINDS = (
    (stat.S_ISDIR, "is a directory"),
    (stat.S_ISFIFO, "is a FIFO (named pipe)"),
    (stat.S_ISCHR, "is a character device"),
    (stat.S_ISBLK, "is a block device"),
    (stat.S_ISSOCK, "is a socket"),
)


def _stat(target: Path, mode: str) -> os.stat_result | None:
    """``target``'s status (following links), None when a writing mode may create it."""
    try:
        return os.stat(target)
    except FileNotFoundError:
        if mode in ("r", "r+"):
            raise TableError(f"{target}: no such table file") from None
        return None
    except (OSError, ValueError) as exc:  # permission, name too long, NUL byte in the name
        reason = getattr(exc, "strerror", None) or one_line(exc)
        raise TableError(f"{target}: cannot open the table ({reason})") from None


def open_h5(path: str | os.PathLike[str], mode: str) -> h5py.File:
    """An open HDF5 file, or a one-line TableError saying why it cannot be opened. Only a
    regular file (or a link to one) is opened: a FIFO, a directory or a device is refused
    before HDF5 touches it."""
    target = Path(path)
    info = _stat(target, mode)
    if info is not None and not stat.S_ISREG(info.st_mode):
        kind = next((text for test, text in _KINDS if test(info.st_mode)), "is not a regular file")
        raise TableError(f"{target}: {kind}, not a table file")
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


def _mib(size: int) -> str:
    return f"{size / 2**20:,.0f} MiB"


def _shape_problem(name: str, shape: tuple[int, ...], max_rows: int) -> str | None:
    """Why a dataset's declared shape exceeds what its role in the layout allows."""
    first = shape[0] if shape else 0
    size = math.prod(shape)
    if name.startswith(("archs/", "cost/", "devices/")) and first > max_rows:
        return f"{name} declares {first:,} rows, more than the {max_rows:,} allowed"
    if name.startswith("metrics/") and len(shape) == 3:
        rows, seeds, epochs = shape
        if rows > max_rows or seeds > MAX_SEEDS or epochs > MAX_EPOCHS:
            return (
                f"{name} declares shape {shape}, beyond the limits ({max_rows:,} rows, "
                f"{MAX_SEEDS} seeds, {MAX_EPOCHS:,} epochs)"
            )
    if name == "seeds" and first > MAX_SEEDS:
        return f"seeds declares {first:,} seeds, more than {MAX_SEEDS}"
    if name == "epochs" and first > MAX_EPOCHS:
        return f"epochs declares {first:,} epochs, more than {MAX_EPOCHS:,}"
    if name.startswith("runs/") and size > MAX_RUNS:
        return f"{name} declares {size:,} runs, more than {MAX_RUNS:,}"
    return None


def check_shapes(handle: h5py.File, where: str, max_rows: int = MAX_ROWS) -> None:
    """Refuse a file whose declared datasets exceed the schema's limits, before any of
    them is read: a few kilobytes can declare gigabytes (unwritten chunks take no space),
    so neither the file's size nor its shapes can be trusted. ``max_rows`` is the most
    architectures the table may hold (the space's size when known)."""
    found: list[tuple[str, h5py.Dataset]] = []
    count = 0

    def visit(name: str, item: Any) -> bool | None:
        nonlocal count
        count += 1
        if isinstance(item, h5py.Dataset):
            found.append((name, item))
        return True if count > MAX_OBJECTS else None

    handle.visititems(visit)
    if count > MAX_OBJECTS:
        raise TableError(f"{where}: more than {MAX_OBJECTS:,} groups and datasets")
    limit = min(max_rows, MAX_ROWS)
    total = 0
    for name, item in found:
        shape = item.shape
        if shape is None:  # an empty dataspace holds nothing
            continue
        dtype = item.dtype
        if dtype.kind not in "biuf" and h5py.check_string_dtype(dtype) is None:
            raise TableError(f"{where}: {name} has unsupported type {dtype} (numbers or strings only)")
        problem = _shape_problem(name, shape, limit)
        if problem is not None:
            raise TableError(f"{where}: {problem}")
        size = math.prod(shape) * dtype.itemsize
        if size > MAX_DATASET_BYTES:
            raise TableError(
                f"{where}: {name} declares shape {shape} ({_mib(size)}), over the "
                f"{_mib(MAX_DATASET_BYTES)} limit of one dataset"
            )
        chunks = item.chunks
        if chunks is not None and math.prod(chunks) * dtype.itemsize > MAX_CHUNK_BYTES:
            raise TableError(f"{where}: {name} declares chunks {chunks}, over {_mib(MAX_CHUNK_BYTES)}")
        total += size
    if total > MAX_TABLE_BYTES:
        raise TableError(
            f"{where}: the datasets declare {_mib(total)}, over the {_mib(MAX_TABLE_BYTES)} limit of a table"
        )


def _blocks(item: h5py.Dataset) -> Iterator[np.ndarray]:
    """A numeric dataset's values in C order, in slabs of at most :data:`BLOCK_BYTES`
    (or one row of the innermost axis), so hashing never holds the whole dataset."""
    shape = item.shape
    if shape is None:  # an empty dataspace has no bytes
        return
    if not shape:
        yield np.asarray(item[()])
        return
    inner = item.dtype.itemsize
    axis = len(shape)
    while axis > 0 and inner * shape[axis - 1] <= BLOCK_BYTES:
        inner *= shape[axis - 1]
        axis -= 1
    if axis == 0:
        yield np.asarray(item[()])
        return
    step = max(1, BLOCK_BYTES // max(inner, 1))
    for lead in np.ndindex(*shape[: axis - 1]):
        for start in range(0, shape[axis - 1], step):
            yield np.asarray(item[(*lead, slice(start, start + step))])


def _as_bytes(values: Any) -> np.ndarray:
    """A flat uint8 view of an array's bytes in C order (no copy when contiguous)."""
    return np.ascontiguousarray(values).reshape(-1).view(np.uint8)


def _strings_json(values: Any) -> str:
    """The JSON list of a string array's elements (``str`` each, as ``asstr`` reads
    them), as the checksum covers them."""
    return json.dumps(np.asarray(values, dtype=object).ravel().tolist())


def _update(digest: Any, label: str, length: int, pieces: Iterator[Any] | list[Any]) -> None:
    digest.update(label.encode())
    digest.update(length.to_bytes(8, "little"))
    for piece in pieces:
        digest.update(piece)


def _streamed_strings(item: h5py.Dataset) -> bytes:
    """A string dataset's JSON, read 4,096 rows at a time."""
    strings = item.asstr()
    if not item.shape:
        return _strings_json(strings[()]).encode()
    parts = [_strings_json(strings[k : k + 4096])[1:-1] for k in range(0, item.shape[0], 4096)]
    return ("[" + ", ".join(part for part in parts if part) + "]").encode()


def content_checksum(handle: h5py.File, loaded: Mapping[str, Any] | None = None) -> str:
    """sha256 over every attribute and dataset of an open table except ``checksum``:
    names, dtypes, shapes and bytes, in a fixed order. Datasets are streamed in bounded
    blocks; those in ``loaded`` (path -> the array exactly as read, what a reader holds
    anyway) are hashed from memory instead of being read again."""
    digest = hashlib.sha256()
    for name in sorted(handle.attrs):
        if name != "checksum":
            data = json.dumps(plain(handle.attrs[name]), sort_keys=True).encode()
            _update(digest, f"@{name}", len(data), [data])
    items: list[tuple[str, Any]] = []
    handle.visititems(lambda name, item: items.append((name, item)))
    known = loaded or {}
    for path, item in sorted(items, key=lambda pair: pair[0]):
        attrs = item.attrs
        for name in sorted(attrs):
            data = json.dumps(plain(attrs[name]), sort_keys=True).encode()
            _update(digest, f"{path}@{name}", len(data), [data])
        if not isinstance(item, h5py.Dataset):
            continue
        values = known.get(path)
        if isinstance(values, np.ndarray | np.generic) and values.dtype.kind in "biuf":
            data = _as_bytes(values)  # as read: the dataset's own dtype and shape
            _update(digest, f"{path}:{values.dtype.str}:{values.shape}", int(data.nbytes), [data])
            continue
        label = f"{path}:{item.dtype.str}:{item.shape}"
        if h5py.check_string_dtype(item.dtype) is not None:
            text = _strings_json(values).encode() if values is not None else _streamed_strings(item)
            _update(digest, label, len(text), [text])
        else:
            length = 0 if item.shape is None else math.prod(item.shape) * item.dtype.itemsize
            _update(digest, label, length, (_as_bytes(block) for block in _blocks(item)))
    return "sha256:" + digest.hexdigest()


# --------------------------------------------------------------------- verification
def verify_by_default(verify: bool | None) -> bool:
    """Whether to verify a table's checksum on open: ``verify`` when given, else yes
    unless ``NASBENCH_NO_VERIFY`` is ``1`` (or ``true``/``yes``)."""
    if verify is not None:
        return bool(verify)
    return os.environ.get(NO_VERIFY_ENV, "").strip().lower() not in ("1", "true", "yes")


def file_identity(path: str | os.PathLike[str]) -> tuple[Any, ...] | None:
    """What the verification cache keys a file by: resolved path, device, inode, size,
    modification and change times (None when the file cannot be stat'ed)."""
    try:
        info = os.stat(path)
        return (
            os.path.realpath(path),
            info.st_dev,
            info.st_ino,
            info.st_size,
            info.st_mtime_ns,
            info.st_ctime_ns,
        )
    except (OSError, ValueError):
        return None


def clear_checksum_cache() -> None:
    """Forget which files were verified (for benchmarks and tests)."""
    _VERIFIED.clear()


def stored_checksum(handle: h5py.File, where: str) -> str:
    """The checksum a sealed table carries, or a TableError for a table never sealed."""
    stored = plain(handle.attrs.get("checksum"))
    if not isinstance(stored, str) or not stored.startswith("sha256:"):
        raise TableError(
            f"{where}: no checksum: the table was never sealed by a writer "
            f"(open it with verify=False, --no-verify or {NO_VERIFY_ENV}=1 only if you trust it)"
        )
    return stored


def is_verified(identity: tuple[Any, ...] | None, stored: str) -> bool:
    """Whether the file with ``identity`` was verified in this process with this checksum
    and has not changed since."""
    return identity is not None and _VERIFIED.get(identity) == stored


def verify_content(
    handle: h5py.File,
    where: str,
    stored: str,
    *,
    loaded: Mapping[str, Any] | None = None,
    identity: tuple[Any, ...] | None = None,
) -> None:
    """Raise one TableError unless the content hashes to the ``stored`` checksum; on
    success remember ``identity`` (taken before the file was read) unless the file changed
    too recently for its timestamps to tell a later edit apart."""
    actual = content_checksum(handle, loaded)
    if actual != stored:
        raise TableError(
            f"{where}: checksum mismatch: the table was changed after it was sealed (stored "
            f"{stored[:19]}..., content {actual[:19]}...); open it with verify=False, --no-verify "
            f"or {NO_VERIFY_ENV}=1 only if you trust the change"
        )
    if identity is None or file_identity(identity[0]) != identity:
        return
    newest = max(identity[4], identity[5])
    if time.time_ns() - newest > RACY_SECONDS * 1e9:
        if len(_VERIFIED) >= _VERIFIED_LIMIT:
            _VERIFIED.pop(next(iter(_VERIFIED)))
        _VERIFIED[identity] = stored


def require_space(path: Path, needed: int) -> None:
    """Raise ``OSError`` (ENOSPC or EFBIG, naming ``path``) unless a file of ``needed``
    bytes fits in ``path``'s directory and under this process's file-size limit.

    HDF5 copes badly with a write that fails halfway (errors at garbage collection, at
    worst a crash that no ``finally`` survives), so the generator checks for room before
    letting it write and fails cleanly, with nothing written, when there is none.
    """
    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    if soft != resource.RLIM_INFINITY and needed > soft:
        reason = f"{os.strerror(errno.EFBIG)} (needs about {needed:,} bytes; the file-size limit is {soft:,})"
        raise OSError(errno.EFBIG, reason, str(path))
    stats = os.statvfs(path.parent)
    free = stats.f_bavail * stats.f_frsize
    if needed > free:
        reason = f"{os.strerror(errno.ENOSPC)} (needs about {needed:,} bytes, {free:,} free)"
        raise OSError(errno.ENOSPC, reason, str(path))

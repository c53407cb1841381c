"""Dataset files: what is known about each dataset, where its files are found, and
readers for the official formats.

- ``fashion-mnist``, ``mnist``: the four IDX files, gzipped or not. Debian/Ubuntu ship
  Fashion-MNIST as ``dataset-fashion-mnist`` (under ``/usr/share/datasets/fashion-mnist``).
- ``cifar10``: the official binary batches (preferred) or the official python batches.
- ``digits``: scikit-learn's bundled 8x8 digits; no files.

Files are looked up in ``data_dir``, ``data_dir/<name>``, ``$NASBENCH_DATA``,
``$NASBENCH_DATA/<name>`` and ``/usr/share/datasets/<name>``, in that order. Nothing is
ever downloaded. Readers return the official train and test splits as numpy arrays with
the sha256 of every file read (never a path); :mod:`nasbench.nets.datasets` splits,
resizes and normalises them. This module needs no torch.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.core.errors import DatasetError

__all__ = [
    "CIFAR_BINARY_FILES",
    "CIFAR_PYTHON_FILES",
    "DATASETS",
    "DATA_ENV_VAR",
    "DIGITS_TEST_SIZE",
    "IDX_STEMS",
    "SYSTEM_DATA_DIR",
    "DatasetSpec",
    "RawData",
    "dataset_shape",
    "dataset_spec",
    "find_data_dir",
    "locate_files",
    "read_official_splits",
]

DATASETS: tuple[str, ...] = ("fashion-mnist", "mnist", "cifar10", "digits")

#: Where Debian's ``dataset-*`` packages install data (``<SYSTEM_DATA_DIR>/fashion-mnist``).
SYSTEM_DATA_DIR = Path("/usr/share/datasets")

#: Environment variable naming a directory of datasets (or of one dataset's files).
DATA_ENV_VAR = "NASBENCH_DATA"

#: Images of scikit-learn's digits held out (seeded) as the test split.
DIGITS_TEST_SIZE = 360

#: The four IDX files of (Fashion-)MNIST, each found plain or with ``.gz``.
IDX_STEMS: tuple[str, ...] = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
_IDX_UBYTE = 0x08
_CIFAR_TRAIN_BATCHES: tuple[str, ...] = tuple(f"data_batch_{k}" for k in range(1, 6))
#: CIFAR-10's official python batches (``cifar-10-batches-py``), test batch last.
CIFAR_PYTHON_FILES: tuple[str, ...] = (*_CIFAR_TRAIN_BATCHES, "test_batch")
#: CIFAR-10's official binary batches (``cifar-10-batches-bin``), test batch last.
CIFAR_BINARY_FILES: tuple[str, ...] = tuple(f"{stem}.bin" for stem in CIFAR_PYTHON_FILES)
_CIFAR_SUBDIRS: tuple[str, ...] = ("cifar-10-batches-bin", "cifar-10-batches-py")
_CIFAR_PIXELS = 3 * 32 * 32


@dataclass(frozen=True)
class DatasetSpec:
    """What is known about a dataset without reading it."""

    input_channels: int
    num_classes: int
    native_resolution: int
    how_to_get: str


_IDX_HELP = (
    "put the four IDX files {files} (gzipped or not) in a directory and pass data_dir=DIR "
    f"or set {DATA_ENV_VAR}=DIR"
).format(files=", ".join(IDX_STEMS))

_SPECS: dict[str, DatasetSpec] = {
    "fashion-mnist": DatasetSpec(
        1,
        10,
        28,
        "on Debian/Ubuntu `apt-get install dataset-fashion-mnist` (installs "
        f"{SYSTEM_DATA_DIR / 'fashion-mnist'}); or {_IDX_HELP}",
    ),
    "mnist": DatasetSpec(1, 10, 28, _IDX_HELP),
    "cifar10": DatasetSpec(
        3,
        10,
        32,
        "put the official CIFAR-10 binary batches (data_batch_1.bin .. data_batch_5.bin, "
        "test_batch.bin, as in cifar-10-batches-bin) or python batches (data_batch_1 .. "
        "data_batch_5, test_batch, as in cifar-10-batches-py) in a directory and pass "
        f"data_dir=DIR or set {DATA_ENV_VAR}=DIR",
    ),
    "digits": DatasetSpec(1, 10, 8, "bundled with scikit-learn"),
}


@dataclass(frozen=True)
class RawData:
    """A dataset's official splits as read from its source, before any splitting."""

    train_images: np.ndarray  # uint8 [n, C, R, R] (digits: float64 in [0, 1])
    train_labels: np.ndarray  # int64 [n]
    test_images: np.ndarray
    test_labels: np.ndarray
    source: dict[str, Any]


def dataset_spec(name: str) -> DatasetSpec:
    """The spec of a known dataset, or a DatasetError listing the known names."""
    if not isinstance(name, str) or name not in _SPECS:
        raise DatasetError(f"unknown dataset {name!r} (known: {', '.join(DATASETS)})")
    return _SPECS[name]


def dataset_shape(name: str) -> tuple[int, int]:
    """``(input_channels, num_classes)`` of a dataset, without reading any data."""
    spec = dataset_spec(name)
    return spec.input_channels, spec.num_classes


# --------------------------------------------------------------------------- lookup


def _candidate_dirs(name: str, data_dir: str | os.PathLike[str] | None) -> list[Path]:
    """Directories to search, in lookup order, without repeats."""
    bases: list[Path] = []
    if data_dir is not None:
        bases += [Path(data_dir), Path(data_dir) / name]
    env_dir = os.environ.get(DATA_ENV_VAR, "")
    if env_dir:
        bases += [Path(env_dir), Path(env_dir) / name]
    bases.append(SYSTEM_DATA_DIR / name)
    if name == "cifar10":
        bases = [d for base in bases for d in (base, *(base / sub for sub in _CIFAR_SUBDIRS))]
    return list(dict.fromkeys(bases))


def _dataset_files(name: str, directory: Path) -> tuple[str, list[Path]] | list[str]:
    """``(format, files)`` when ``directory`` holds all of a dataset's files, else the missing names."""
    if name == "cifar10":
        missing_bin = [f for f in CIFAR_BINARY_FILES if not (directory / f).is_file()]
        if not missing_bin:
            return "cifar10-binary", [directory / f for f in CIFAR_BINARY_FILES]
        missing_py = [f for f in CIFAR_PYTHON_FILES if not (directory / f).is_file()]
        if not missing_py:
            return "cifar10-python", [directory / f for f in CIFAR_PYTHON_FILES]
        return missing_bin if len(missing_bin) <= len(missing_py) else missing_py
    files: list[Path] = []
    missing: list[str] = []
    for stem in IDX_STEMS:
        # The uncompressed file wins when both exist: it is what a user unpacked on purpose.
        found = next((p for p in (directory / stem, directory / f"{stem}.gz") if p.is_file()), None)
        if found is None:
            missing.append(f"{stem}[.gz]")
        else:
            files.append(found)
    return ("idx", files) if not missing else missing


def locate_files(name: str, data_dir: str | os.PathLike[str] | None) -> tuple[Path, str, list[Path]]:
    """The first directory holding all of a dataset's files, its format and the files."""
    spec = dataset_spec(name)
    if name == "digits":
        raise DatasetError("dataset 'digits' is bundled with scikit-learn and has no data directory")
    looked: list[str] = []
    for directory in _candidate_dirs(name, data_dir):
        if not directory.is_dir():
            looked.append(f"{directory} (no such directory)")
            continue
        found = _dataset_files(name, directory)
        if isinstance(found, tuple):
            return directory, found[0], found[1]
        looked.append(f"{directory} (missing {', '.join(found)})")
    raise DatasetError(
        f"dataset {name!r} not found; looked in: {'; '.join(looked)}. To get it: {spec.how_to_get}"
    )


def find_data_dir(name: str, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The directory :func:`load_dataset` reads ``name``'s files from.

    Lookup order: ``data_dir``, ``data_dir/<name>``, ``$NASBENCH_DATA``,
    ``$NASBENCH_DATA/<name>``, ``SYSTEM_DATA_DIR/<name>`` (for ``cifar10`` each also with
    its ``cifar-10-batches-bin``/``-py`` subdirectory); the first holding every file wins.
    Raises one DatasetError listing every place looked and how to get the files; also for
    ``digits``, which has no files.
    """
    return locate_files(name, data_dir)[0]


# --------------------------------------------------------------------------- readers


def _read_bytes(path: Path) -> tuple[bytes, str]:
    """A file's content (gunzipped when it ends in ``.gz``) and the sha256 of its bytes on disk."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    digest = hashlib.sha256(raw).hexdigest()
    if path.suffix != ".gz":
        return raw, digest
    try:
        return gzip.decompress(raw), digest
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetError(f"{path}: corrupt or truncated gzip file ({exc})") from exc


def _parse_idx(data: bytes, path: Path, ndim: int) -> np.ndarray:
    """An IDX array of unsigned bytes with ``ndim`` dimensions (a read-only view of ``data``).

    Layout: two zero bytes, the element type code (0x08 = unsigned byte), the number of
    dimensions, each dimension as a big-endian uint32, then the elements in C order.
    """
    header_bytes = 4 + 4 * ndim
    if len(data) < header_bytes:
        raise DatasetError(f"{path}: truncated IDX header ({len(data)} bytes, need {header_bytes})")
    if data[0] != 0 or data[1] != 0:
        raise DatasetError(f"{path}: bad IDX magic number 0x{data[:4].hex()} (must start with 0x0000)")
    if data[2] != _IDX_UBYTE:
        raise DatasetError(
            f"{path}: IDX element type 0x{data[2]:02x} is not supported (only unsigned byte 0x08)"
        )
    if data[3] != ndim:
        raise DatasetError(f"{path}: IDX array has {data[3]} dimensions, expected {ndim}")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(dims, dtype=np.int64))
    found = len(data) - header_bytes
    if found != expected:
        problem = "truncated" if found < expected else "has trailing bytes"
        raise DatasetError(
            f"{path}: {problem}: dimensions {'x'.join(map(str, dims))} need {expected} bytes of data, "
            f"found {found}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_bytes).reshape(dims)


def _check_labels(labels: np.ndarray, num_classes: int, where: str) -> np.ndarray:
    """Labels as int64, or a DatasetError when one is outside ``0 .. num_classes - 1``."""
    labels = np.asarray(labels).astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise DatasetError(
            f"{where}: labels must lie in 0..{num_classes - 1}, found {labels.min()}..{labels.max()}"
        )
    return labels


def _read_idx_split(
    images_path: Path, labels_path: Path, num_classes: int
) -> tuple[np.ndarray, np.ndarray, str, str]:
    """Images ``uint8 [n, 1, R, R]``, labels ``int64 [n]`` and both files' sha256."""
    images_data, images_sha = _read_bytes(images_path)
    labels_data, labels_sha = _read_bytes(labels_path)
    images = _parse_idx(images_data, images_path, 3)
    labels = _parse_idx(labels_data, labels_path, 1)
    if images.shape[1] != images.shape[2]:
        raise DatasetError(f"{images_path}: images are {images.shape[1]}x{images.shape[2]}, not square")
    if images.shape[0] != labels.shape[0]:
        raise DatasetError(
            f"{images_path} holds {images.shape[0]} images but {labels_path} holds {labels.shape[0]} labels"
        )
    labels = _check_labels(labels, num_classes, str(labels_path))
    return images[:, None], labels, images_sha, labels_sha


def _read_idx_dataset(files: list[Path], num_classes: int) -> RawData:
    """The official train and test splits from the four IDX files (in ``IDX_STEMS`` order)."""
    train_x, train_y, *train_sha = _read_idx_split(files[0], files[1], num_classes)
    test_x, test_y, *test_sha = _read_idx_split(files[2], files[3], num_classes)
    if train_x.shape[2:] != test_x.shape[2:]:
        raise DatasetError(
            f"{files[0]} holds {train_x.shape[2]} px images but {files[2]} holds {test_x.shape[2]} px"
        )
    hashes = [*train_sha, *test_sha]
    return RawData(
        train_x,
        train_y,
        test_x,
        test_y,
        {"format": "idx", "files": {p.name: h for p, h in zip(files, hashes, strict=True)}},
    )


def _read_cifar_binary(path: Path, num_classes: int) -> tuple[np.ndarray, np.ndarray, str]:
    """One binary batch: records of 1 label byte and 3072 pixel bytes (R, G, B planes)."""
    data, sha = _read_bytes(path)
    record_bytes = 1 + _CIFAR_PIXELS
    if not data or len(data) % record_bytes:
        raise DatasetError(
            f"{path}: {len(data)} bytes is not a whole number of {record_bytes}-byte CIFAR-10 records "
            "(truncated or not a CIFAR-10 binary batch)"
        )
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, record_bytes)
    labels = _check_labels(records[:, 0], num_classes, str(path))
    return records[:, 1:].reshape(-1, 3, 32, 32), labels, sha


def _numpy_reconstructors() -> dict[tuple[str, str], Any]:
    """The globals a pickled numpy array needs, under every module name numpy has used."""
    try:
        from numpy._core.multiarray import _reconstruct
        from numpy._core.numeric import _frombuffer
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct
        from numpy.core.numeric import _frombuffer
    allowed: dict[tuple[str, str], Any] = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
    for package in ("numpy.core", "numpy._core"):
        allowed[(f"{package}.multiarray", "_reconstruct")] = _reconstruct
        allowed[(f"{package}.numeric", "_frombuffer")] = _frombuffer
    return allowed


class _CifarUnpickler(pickle.Unpickler):
    """Reads CIFAR-10's official python batches, which are pickles of numpy arrays.

    This exists only to read that official input format; nasbench itself stores no
    pickles. ``find_class`` resolves nothing but numpy's array reconstruction functions,
    ``numpy.ndarray`` and ``numpy.dtype``; any other global (a function a crafted file
    would call) is refused with a DatasetError before anything runs.
    """

    def __init__(self, file: io.BytesIO, path: Path) -> None:
        super().__init__(file, encoding="bytes")
        self._path = path
        self._allowed = _numpy_reconstructors()

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise DatasetError(
                f"{self._path}: refusing to load global {module}.{name}; a CIFAR-10 python batch "
                "holds only numpy arrays"
            ) from None


def _read_cifar_python(path: Path, num_classes: int) -> tuple[np.ndarray, np.ndarray, str]:
    """One python batch: a pickled dict with ``data`` uint8 [n, 3072] and ``labels`` [n]."""
    data, sha = _read_bytes(path)
    try:
        batch = _CifarUnpickler(io.BytesIO(data), path).load()
    except DatasetError:
        raise
    except Exception as exc:  # a corrupt pickle can raise almost anything
        raise DatasetError(f"{path}: corrupt or truncated CIFAR-10 python batch ({exc!r})") from exc
    if not isinstance(batch, dict):
        raise DatasetError(f"{path}: a CIFAR-10 python batch is a dict, found {type(batch).__name__}")
    pixels = batch.get(b"data", batch.get("data"))
    labels = batch.get(b"labels", batch.get("labels"))
    if not isinstance(pixels, np.ndarray) or pixels.dtype != np.uint8 or pixels.ndim != 2:
        raise DatasetError(f"{path}: 'data' must be a uint8 array [n, {_CIFAR_PIXELS}]")
    if pixels.shape[1] != _CIFAR_PIXELS or labels is None or len(labels) != pixels.shape[0]:
        raise DatasetError(
            f"{path}: expected 'data' [n, {_CIFAR_PIXELS}] and n 'labels', found data "
            f"{list(pixels.shape)} and {'no' if labels is None else len(labels)} labels"
        )
    labels = _check_labels(np.asarray(labels), num_classes, str(path))
    return pixels.reshape(-1, 3, 32, 32), labels, sha


def _read_cifar_dataset(files: list[Path], form: str, num_classes: int) -> RawData:
    """The 50k official training images (five batches) and the 10k test images."""
    read = _read_cifar_binary if form == "cifar10-binary" else _read_cifar_python
    batches = [read(path, num_classes) for path in files]
    train = batches[:-1]
    return RawData(
        np.concatenate([b[0] for b in train]),
        np.concatenate([b[1] for b in train]),
        batches[-1][0],
        batches[-1][1],
        {"format": form, "files": {p.name: b[2] for p, b in zip(files, batches, strict=True)}},
    )


def _read_digits(split_seed: int) -> RawData:
    """scikit-learn's digits with a seeded held-out test split standing in for an official one."""
    import sklearn
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (np.asarray(bunch.images, dtype=np.float64) / 16.0)[:, None]
    labels = np.asarray(bunch.target, dtype=np.int64)
    order = np.random.default_rng(split_seed).permutation(images.shape[0])
    test = np.sort(order[:DIGITS_TEST_SIZE])
    rest = np.sort(order[DIGITS_TEST_SIZE:])
    return RawData(
        images[rest],
        labels[rest],
        images[test],
        labels[test],
        {"loader": "scikit-learn load_digits", "scikit_learn_version": sklearn.__version__},
    )


def read_official_splits(name: str, form: str, files: list[Path], split_seed: int) -> RawData:
    """The official train and test splits of ``name`` from the ``files`` that
    :func:`locate_files` found in format ``form`` (``digits``: from scikit-learn, its test
    split held out with ``split_seed``)."""
    spec = dataset_spec(name)
    if name == "digits":
        return _read_digits(split_seed)
    if form == "idx":
        return _read_idx_dataset(files, spec.num_classes)
    return _read_cifar_dataset(files, form, spec.num_classes)

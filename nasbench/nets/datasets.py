"""Image classification datasets, loaded once into memory as normalised tensors.

Every architecture of a table is trained on the same splits, so a split is a pure function
of its arguments: ``val_size`` images are held out of the official training set by a
seeded permutation, the test split is the official test set, and all three are resized
once at load and normalised with the training split's per-channel statistics. Data stays
in tensors (no DataLoader, no worker processes): the datasets are small and each
generator job trains one small network on them.

Which datasets exist, where their files are looked up and how the official formats are
read is :mod:`nasbench.nets.dataset_files` (its public names are re-exported here).
Nothing is ever downloaded. ``info["source"]`` records the sha256 of every file read,
never a path.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nasbench.core.errors import DatasetError
from nasbench.core.validation import check_int
from nasbench.nets.dataset_files import (
    DATA_ENV_VAR,
    DATASETS,
    SYSTEM_DATA_DIR,
    dataset_shape,
    dataset_spec,
    find_data_dir,
    locate_files,
    read_official_splits,
)

__all__ = [
    "DATASETS",
    "DATA_ENV_VAR",
    "SYSTEM_DATA_DIR",
    "DataSplits",
    "dataset_shape",
    "find_data_dir",
    "load_dataset",
]

#: Smallest resolution a dataset is resized to (the network reduces twice by stride 2).
MIN_RESOLUTION = 4
_CACHE_SIZE = 4
_STATS_CHUNK_IMAGES = 8192

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class DataSplits:
    """Train, validation and test splits of one dataset as in-memory tensors.

    ``*_x`` are float32 ``[n, input_channels, resolution, resolution]``, contiguous,
    normalised with the training split's per-channel mean and std; ``*_y`` are int64 ``[n]``.
    ``info`` is a JSON-ready description of the splits (sizes, seed, normalisation, the
    sha256 of every source file) for a table's data card.

    The tensors are shared with :func:`load_dataset`'s per-process cache: never modify
    them in place (``clone()`` first), or later loads in the process see the change.
    """

    name: str
    train_x: torch.Tensor = field(repr=False)
    train_y: torch.Tensor = field(repr=False)
    val_x: torch.Tensor = field(repr=False)
    val_y: torch.Tensor = field(repr=False)
    test_x: torch.Tensor = field(repr=False)
    test_y: torch.Tensor = field(repr=False)
    num_classes: int
    input_channels: int
    resolution: int
    info: dict[str, Any] = field(repr=False)


# --------------------------------------------------------------------------- splitting


def _split_indices(
    num_images: int, val_size: int, train_size: int | None, split_seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (train, val) indices into the official training set.

    A permutation seeded by ``split_seed`` puts ``val_size`` images in val and takes the
    train split from the start of the remainder, so a smaller ``train_size`` is a subset of
    a larger one and val does not depend on ``train_size``.
    """
    available = num_images - val_size
    if available < 1:
        raise DatasetError(
            f"val_size {val_size} leaves no training images (the training set holds {num_images})"
        )
    if train_size is not None and train_size > available:
        raise DatasetError(
            f"train_size {train_size} is more than the {available} images left after holding out "
            f"val_size {val_size} of {num_images}"
        )
    order = np.random.default_rng(split_seed).permutation(num_images)
    val = order[:val_size]
    train = order[val_size:] if train_size is None else order[val_size : val_size + train_size]
    return np.sort(train), np.sort(val)


def _to_float(images: np.ndarray, resolution: int) -> torch.Tensor:
    """float32 in [0, 1], resized to ``resolution`` (antialiased bilinear) when it differs."""
    if images.dtype == np.uint8:
        tensor = torch.from_numpy(images.astype(np.float32)).div_(255.0)
    else:
        tensor = torch.from_numpy(images.astype(np.float32))
    if images.shape[0] and images.shape[-1] != resolution:
        tensor = F.interpolate(
            tensor, size=(resolution, resolution), mode="bilinear", antialias=True, align_corners=False
        )
    return tensor.contiguous()


def _channel_stats(images: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per-channel mean and (population) std, accumulated in float64 chunk by chunk."""
    channels = images.shape[1]
    total = torch.zeros(channels, dtype=torch.float64)
    total_sq = torch.zeros(channels, dtype=torch.float64)
    for start in range(0, images.shape[0], _STATS_CHUNK_IMAGES):
        chunk = images[start : start + _STATS_CHUNK_IMAGES].to(torch.float64)
        total += chunk.sum(dim=(0, 2, 3))
        total_sq += chunk.square().sum(dim=(0, 2, 3))
    count = images.shape[0] * images.shape[2] * images.shape[3]
    mean = total / count
    std = (total_sq / count - mean.square()).clamp_min(0.0).sqrt()
    return mean.tolist(), std.tolist()


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _load_cached(
    name: str,
    resolution: int,
    val_size: int,
    train_size: int | None,
    split_seed: int,
    form: str,
    files: tuple[tuple[str, int, int], ...],
) -> DataSplits:
    """Loads and splits one dataset; ``files`` (path, size, mtime) keys the cache to the bytes read."""
    spec = dataset_spec(name)
    raw = read_official_splits(name, form, [Path(entry[0]) for entry in files], split_seed)
    train_idx, val_idx = _split_indices(raw.train_images.shape[0], val_size, train_size, split_seed)
    train_x = _to_float(raw.train_images[train_idx], resolution)
    val_x = _to_float(raw.train_images[val_idx], resolution)
    test_x = _to_float(raw.test_images, resolution)
    mean, std = _channel_stats(train_x)
    if min(std) <= 0.0:
        raise DatasetError(
            f"{name}: the training split is constant in a channel (std {std}); cannot normalise"
        )
    mean_t = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    std_t = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
    for split in (train_x, val_x, test_x):
        split.sub_(mean_t).div_(std_t)
    info: dict[str, Any] = {
        "name": name,
        "resolution": resolution,
        "native_resolution": int(raw.train_images.shape[-1]),
        "input_channels": spec.input_channels,
        "num_classes": spec.num_classes,
        "train_size": int(train_x.shape[0]),
        "val_size": int(val_x.shape[0]),
        "test_size": int(test_x.shape[0]),
        "official_train_size": int(raw.train_images.shape[0]),
        "split_seed": split_seed,
        "normalisation": {"mean": mean, "std": std},
        "source": raw.source,
    }

    logger.debug(
        "loaded %s at %d px: %d train, %d val, %d test images (%s)",
        name,
        resolution,
        info["train_size"],
        info["val_size"],
        info["test_size"],
        form,
    )

    def labels(values: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(values, dtype=np.int64))

    return DataSplits(
        name=name,
        train_x=train_x,
        train_y=labels(raw.train_labels[train_idx]),
        val_x=val_x,
        val_y=labels(raw.train_labels[val_idx]),
        test_x=test_x,
        test_y=labels(raw.test_labels),
        num_classes=spec.num_classes,
        input_channels=spec.input_channels,
        resolution=resolution,
        info=info,
    )


def load_dataset(
    name: str,
    *,
    resolution: int,
    val_size: int,
    train_size: int | None = None,
    split_seed: int = 0,
    data_dir: str | os.PathLike[str] | None = None,
) -> DataSplits:
    """Train/val/test splits of ``name`` at ``resolution`` px, normalised by the train split.

    ``val_size`` images of the official training set are held out by a permutation seeded
    with ``split_seed``; train is the rest, or its first ``train_size`` images. Test is
    the official test set (``digits``: 360 images held out first with the same seed).
    The same arguments give identical tensors.

    Results are cached per process (generator workers call this once per job): the
    returned tensors are shared with the cache and must not be modified in place; ``info``
    is a fresh copy each call. Arguments of the wrong type or out of range raise
    ConfigError; unknown names, splits larger than the data and missing or corrupt files
    raise DatasetError.
    """
    dataset_spec(name)
    resolution = check_int("load_dataset", "resolution", resolution, MIN_RESOLUTION)
    val_size = check_int("load_dataset", "val_size", val_size, 1)
    if train_size is not None:
        train_size = check_int("load_dataset", "train_size", train_size, 1)
    split_seed = check_int("load_dataset", "split_seed", split_seed, 0)
    form = "sklearn"
    files: tuple[tuple[str, int, int], ...] = ()
    if name != "digits":
        _, form, paths = locate_files(name, data_dir)
        stamps = []
        for path in paths:
            resolved = path.resolve()
            stat = resolved.stat()
            stamps.append((str(resolved), stat.st_size, stat.st_mtime_ns))
        files = tuple(stamps)
    cached = _load_cached(name, resolution, val_size, train_size, split_seed, form, files)
    return dataclasses.replace(cached, info=copy.deepcopy(cached.info))

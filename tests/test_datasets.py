"""Dataset loading: splits, normalisation, resizing, file formats, lookup and refusals.

File datasets are tested on small synthetic files written here in each official format
(IDX gzipped and plain, CIFAR-10 binary and python batches, including a pickle laid out
as Python 2 wrote the official ones); the real Debian Fashion-MNIST is checked when
installed.
"""

from __future__ import annotations

import gzip
import json
import os
import pickle
import struct
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nasbench.core.errors import ConfigError, DatasetError
from nasbench.nets import dataset_files, datasets
from nasbench.nets.datasets import DATASETS, DataSplits, dataset_shape, find_data_dir, load_dataset

REAL_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
HAVE_REAL_FASHION = all(
    (REAL_FASHION_DIR / f"{stem}.gz").is_file() or (REAL_FASHION_DIR / stem).is_file()
    for stem in dataset_files.IDX_STEMS
)


@pytest.fixture(autouse=True)
def isolated_lookup(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No $NASBENCH_DATA, an empty system directory and an empty cache, so no test sees this machine."""
    system_dir = tmp_path_factory.mktemp("system")
    monkeypatch.delenv(datasets.DATA_ENV_VAR, raising=False)
    monkeypatch.setattr(dataset_files, "SYSTEM_DATA_DIR", system_dir)
    datasets._load_cached.cache_clear()
    return system_dir


def unnormalise(x: torch.Tensor, info: dict) -> torch.Tensor:
    """Pixels in [0, 1] back from a normalised split, with the mean/std that ``info`` records."""
    mean = torch.tensor(info["normalisation"]["mean"], dtype=torch.float64).view(1, -1, 1, 1)
    std = torch.tensor(info["normalisation"]["std"], dtype=torch.float64).view(1, -1, 1, 1)
    return x.to(torch.float64) * std + mean


def to_bytes255(x: torch.Tensor, info: dict) -> list[bytes]:
    """Each image of a normalised split as the uint8 bytes it was loaded from."""
    pixels = torch.round(unnormalise(x, info) * 255).to(torch.uint8).numpy()
    return [image.tobytes() for image in pixels]


# --------------------------------------------------------------------------- names and arguments


def test_dataset_shape() -> None:
    assert dataset_shape("fashion-mnist") == (1, 10)
    assert dataset_shape("mnist") == (1, 10)
    assert dataset_shape("cifar10") == (3, 10)
    assert dataset_shape("digits") == (1, 10)
    assert set(DATASETS) == {"fashion-mnist", "mnist", "cifar10", "digits"}


@pytest.mark.parametrize(
    "call", [dataset_shape, find_data_dir, lambda n: load_dataset(n, resolution=8, val_size=1)]
)
def test_unknown_name_lists_known(call) -> None:
    with pytest.raises(DatasetError) as info:
        call("imagenet")
    message = str(info.value)
    assert "imagenet" in message
    assert all(name in message for name in DATASETS)


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"resolution": 3, "val_size": 100}, ConfigError, "load_dataset: resolution must be >= 4"),
        ({"resolution": 8.0, "val_size": 100}, ConfigError, "resolution must be an integer"),
        ({"resolution": True, "val_size": 100}, ConfigError, "resolution must be an integer"),
        ({"resolution": 8, "val_size": 0}, ConfigError, "val_size must be >= 1"),
        ({"resolution": 8, "val_size": 10.5}, ConfigError, "val_size must be an integer"),
        ({"resolution": 8, "val_size": 1437}, DatasetError, "val_size 1437 leaves no training images"),
        ({"resolution": 8, "val_size": 100, "train_size": 0}, ConfigError, "train_size must be >= 1"),
        ({"resolution": 8, "val_size": 100, "train_size": 1338}, DatasetError, "train_size 1338 is more"),
        ({"resolution": 8, "val_size": 100, "train_size": "5"}, ConfigError, "train_size must be an integer"),
        ({"resolution": 8, "val_size": 100, "split_seed": -1}, ConfigError, "split_seed must be >= 0"),
    ],
)
def test_bad_arguments(kwargs: dict, error: type[Exception], fragment: str) -> None:
    """Arguments out of range are ConfigErrors; splits the data cannot hold are DatasetErrors."""
    with pytest.raises(error, match=fragment):
        load_dataset("digits", **kwargs)


def test_train_size_exactly_available_is_allowed() -> None:
    data = load_dataset("digits", resolution=8, val_size=100, train_size=1337)
    assert data.train_x.shape[0] == 1337


def test_digits_has_no_data_dir() -> None:
    with pytest.raises(DatasetError, match="scikit-learn"):
        find_data_dir("digits")


# --------------------------------------------------------------------------- digits


def digits_raw() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits as uint8 0..16 [1797, 8, 8] and labels, read independently."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.images.astype(np.uint8), bunch.target.astype(np.int64)


def digits_keys(x: torch.Tensor, info: dict) -> list[bytes]:
    """Each image of a normalised digits split as its 0..16 bytes."""
    levels = torch.round(unnormalise(x, info) * 16).to(torch.uint8).numpy()
    return [image[0].tobytes() for image in levels]


@pytest.mark.parametrize("train_size", [None, 500])
def test_digits_shapes_and_sizes(train_size: int | None) -> None:
    data = load_dataset("digits", resolution=8, val_size=200, train_size=train_size)
    assert isinstance(data, DataSplits)
    expected_train = 1797 - 360 - 200 if train_size is None else train_size
    sizes = {"train": expected_train, "val": 200, "test": 360}
    for split, size in sizes.items():
        x, y = getattr(data, f"{split}_x"), getattr(data, f"{split}_y")
        assert x.shape == (size, 1, 8, 8)
        assert x.dtype == torch.float32 and x.is_contiguous()
        assert y.shape == (size,) and y.dtype == torch.int64
        assert int(y.min()) >= 0 and int(y.max()) <= 9
        assert data.info[f"{split}_size"] == size
    assert (data.num_classes, data.input_channels, data.resolution) == (10, 1, 8)
    info = data.info
    assert info["name"] == "digits" and info["native_resolution"] == 8 and info["split_seed"] == 0
    assert info["source"]["loader"] == "scikit-learn load_digits"
    assert info["source"]["scikit_learn_version"]
    assert json.loads(json.dumps(info)) == info


def test_digits_deterministic_and_seed_dependent() -> None:
    first = load_dataset("digits", resolution=8, val_size=200, split_seed=3)
    datasets._load_cached.cache_clear()  # recompute rather than read the cache
    second = load_dataset("digits", resolution=8, val_size=200, split_seed=3)
    assert first.train_x is not second.train_x
    for field in ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y"):
        assert torch.equal(getattr(first, field), getattr(second, field)), field
    other = load_dataset("digits", resolution=8, val_size=200, split_seed=4)
    assert not torch.equal(first.val_y, other.val_y) or not torch.equal(first.val_x, other.val_x)
    assert set(digits_keys(first.test_x, first.info)) != set(digits_keys(other.test_x, other.info))
    assert set(digits_keys(first.val_x, first.info)) != set(digits_keys(other.val_x, other.info))


@pytest.mark.parametrize("train_size", [None, 400])
def test_digits_splits_are_disjoint_and_exact(train_size: int | None) -> None:
    images, labels = digits_raw()
    label_of: dict[bytes, set[int]] = {}
    for image, label in zip(images, labels, strict=True):
        label_of.setdefault(image.tobytes(), set()).add(int(label))
    everything = Counter(image.tobytes() for image in images)

    data = load_dataset("digits", resolution=8, val_size=250, train_size=train_size, split_seed=11)
    seen: Counter[bytes] = Counter()
    for split in ("train", "val", "test"):
        keys = digits_keys(getattr(data, f"{split}_x"), data.info)
        for key, label in zip(keys, getattr(data, f"{split}_y").tolist(), strict=True):
            assert key in label_of, f"{split}: an image that is not in scikit-learn's digits"
            assert label in label_of[key], f"{split}: image carries the wrong label"
        seen.update(keys)
    # No image is used more often than it occurs in the dataset: the splits are disjoint.
    assert all(count <= everything[key] for key, count in seen.items())
    if train_size is None:
        assert seen == everything


def test_digits_train_split_is_normalised_and_others_use_its_statistics() -> None:
    data = load_dataset("digits", resolution=8, val_size=200)
    train = data.train_x.to(torch.float64)
    assert abs(float(train.mean())) < 1e-3
    assert abs(float(train.std(correction=0)) - 1.0) < 1e-3
    raw_train = unnormalise(data.train_x, data.info)
    assert float(raw_train.min()) > -1e-6 and float(raw_train.max()) < 1 + 1e-6
    assert data.info["normalisation"]["mean"][0] == pytest.approx(float(raw_train.mean()), abs=1e-6)
    # Test is normalised with train's statistics, so its own are not exactly 0 and 1.
    assert abs(float(data.test_x.mean())) > 1e-6


def test_digits_resize() -> None:
    native = load_dataset("digits", resolution=8, val_size=200)
    data = load_dataset("digits", resolution=16, val_size=200)
    assert data.train_x.shape == (1797 - 560, 1, 16, 16)
    assert data.test_x.shape == (360, 1, 16, 16) and data.resolution == 16
    assert data.info["resolution"] == 16 and data.info["native_resolution"] == 8
    assert torch.equal(native.test_y, data.test_y)
    expected = F.interpolate(
        unnormalise(native.test_x, native.info).float(),
        size=(16, 16),
        mode="bilinear",
        antialias=True,
        align_corners=False,
    )
    assert torch.allclose(unnormalise(data.test_x, data.info).float(), expected, atol=1e-5)
    assert abs(float(data.train_x.mean())) < 1e-3


def test_cache_shares_tensors_but_not_info() -> None:
    first = load_dataset("digits", resolution=8, val_size=200)
    second = load_dataset("digits", resolution=8, val_size=200)
    assert second.train_x is first.train_x
    first.info["normalisation"]["mean"][0] = 123.0
    assert second.info["normalisation"]["mean"][0] != 123.0
    assert load_dataset("digits", resolution=8, val_size=200).info == second.info


# --------------------------------------------------------------------------- IDX


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx(path: Path, array: np.ndarray, compress: bool) -> Path:
    data = idx_bytes(array)
    if compress:
        path = path.with_name(path.name + ".gz")
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def make_idx_dataset(
    directory: Path, compress: bool, seed: int = 0, num_train: int = 40, num_test: int = 12, size_px: int = 6
) -> dict[str, np.ndarray]:
    """Random (so every image is unique) IDX files in ``directory``; returns what was written."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (num_train, size_px, size_px), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, num_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (num_test, size_px, size_px), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, num_test, dtype=np.uint8),
    }
    for stem, array in arrays.items():
        write_idx(directory / stem, array, compress)
    return arrays


def test_parse_idx_roundtrip(tmp_path: Path) -> None:
    array = np.arange(2 * 3 * 5, dtype=np.uint8).reshape(2, 3, 5)
    parsed = dataset_files._parse_idx(idx_bytes(array), tmp_path / "x", 3)
    assert parsed.dtype == np.uint8 and np.array_equal(parsed, array)
    assert np.array_equal(dataset_files._parse_idx(idx_bytes(np.arange(7)), tmp_path / "y", 1), np.arange(7))


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize("name", ["fashion-mnist", "mnist"])
def test_idx_dataset_loads_exactly(tmp_path: Path, compress: bool, name: str) -> None:
    arrays = make_idx_dataset(tmp_path, compress)
    data = load_dataset(name, resolution=6, val_size=10, data_dir=tmp_path, split_seed=5)
    assert data.train_x.shape == (30, 1, 6, 6) and data.val_x.shape == (10, 1, 6, 6)
    assert data.test_x.shape == (12, 1, 6, 6)
    # Test: official order, exact pixels and labels.
    test_images = arrays["t10k-images-idx3-ubyte"]
    assert to_bytes255(data.test_x, data.info) == [image.tobytes() for image in test_images]
    assert data.test_y.tolist() == arrays["t10k-labels-idx1-ubyte"].tolist()
    # Train + val: exactly the official training set, each image with its label.
    train_images, train_labels = arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"]
    label_of = {image.tobytes(): int(label) for image, label in zip(train_images, train_labels, strict=True)}
    assert len(label_of) == len(train_images)
    loaded = {}
    for split in ("train", "val"):
        keys = to_bytes255(getattr(data, f"{split}_x"), data.info)
        loaded.update(zip(keys, getattr(data, f"{split}_y").tolist(), strict=True))
    assert loaded == label_of
    source = data.info["source"]
    suffix = ".gz" if compress else ""
    assert sorted(source["files"]) == sorted(stem + suffix for stem in arrays)
    assert all(len(h) == 64 for h in source["files"].values())
    assert str(tmp_path) not in json.dumps(data.info)


def test_idx_resize_up_and_down(tmp_path: Path) -> None:
    arrays = make_idx_dataset(tmp_path, compress=True, size_px=12)
    raw = torch.from_numpy(arrays["t10k-images-idx3-ubyte"].astype(np.float32) / 255)[:, None]
    for resolution in (5, 20):
        data = load_dataset("fashion-mnist", resolution=resolution, val_size=8, data_dir=tmp_path)
        assert data.train_x.shape == (32, 1, resolution, resolution)
        expected = F.interpolate(
            raw, size=(resolution, resolution), mode="bilinear", antialias=True, align_corners=False
        )
        assert torch.allclose(unnormalise(data.test_x, data.info).float(), expected, atol=1e-5)


def corrupt_truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-5])


def corrupt_magic(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[0] = 0x1F
    path.write_bytes(bytes(data))


def corrupt_type_code(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[2] = 0x0D  # float32
    path.write_bytes(bytes(data))


def corrupt_header(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:6])


@pytest.mark.parametrize(
    ("stem", "corrupt", "fragment"),
    [
        ("train-images-idx3-ubyte", corrupt_truncated, "truncated"),
        ("t10k-labels-idx1-ubyte", corrupt_truncated, "truncated"),
        ("train-images-idx3-ubyte", corrupt_magic, "magic"),
        ("train-labels-idx1-ubyte", corrupt_type_code, "0x0d"),
        ("t10k-images-idx3-ubyte", corrupt_header, "header"),
    ],
)
def test_corrupt_idx_names_the_file(tmp_path: Path, stem: str, corrupt, fragment: str) -> None:
    make_idx_dataset(tmp_path, compress=False)
    corrupt(tmp_path / stem)
    with pytest.raises(DatasetError, match=fragment) as info:
        load_dataset("fashion-mnist", resolution=6, val_size=5, data_dir=tmp_path)
    assert str(tmp_path / stem) in str(info.value)


def test_truncated_gzip_names_the_file(tmp_path: Path) -> None:
    make_idx_dataset(tmp_path, compress=True)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(DatasetError, match="gzip") as info:
        load_dataset("mnist", resolution=6, val_size=5, data_dir=tmp_path)
    assert str(path) in str(info.value)


def test_count_mismatch_names_both_files(tmp_path: Path) -> None:
    make_idx_dataset(tmp_path, compress=False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(11, dtype=np.uint8), compress=False)
    with pytest.raises(DatasetError, match="12 images") as info:
        load_dataset("fashion-mnist", resolution=6, val_size=5, data_dir=tmp_path)
    assert str(tmp_path / "t10k-labels-idx1-ubyte") in str(info.value)
    assert str(tmp_path / "t10k-images-idx3-ubyte") in str(info.value)


def test_label_out_of_range(tmp_path: Path) -> None:
    make_idx_dataset(tmp_path, compress=False)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.full(40, 10, dtype=np.uint8), compress=False)
    with pytest.raises(DatasetError, match=r"labels must lie in 0\.\.9"):
        load_dataset("fashion-mnist", resolution=6, val_size=5, data_dir=tmp_path)


def test_missing_files_one_error_listing_every_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_lookup: Path
) -> None:
    given = tmp_path / "given"
    env_dir = tmp_path / "env"
    partial = env_dir / "fashion-mnist"
    make_idx_dataset(partial, compress=True)
    (partial / "t10k-labels-idx1-ubyte.gz").unlink()
    monkeypatch.setenv(datasets.DATA_ENV_VAR, str(env_dir))
    with pytest.raises(DatasetError) as info:
        load_dataset("fashion-mnist", resolution=8, val_size=5, data_dir=given)
    message = str(info.value)
    places = [given, given / "fashion-mnist", env_dir, partial, isolated_lookup / "fashion-mnist"]
    positions = [message.index(f"{place} (") for place in places]
    assert positions == sorted(positions)
    assert "missing t10k-labels-idx1-ubyte[.gz]" in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "data_dir=DIR" in message and datasets.DATA_ENV_VAR in message

    with pytest.raises(DatasetError) as info:
        find_data_dir("mnist", given)
    assert "dataset-fashion-mnist" not in str(info.value)
    assert "t10k-labels-idx1-ubyte" in str(info.value) and str(given) in str(info.value)


def test_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_lookup: Path) -> None:
    system = isolated_lookup / "fashion-mnist"
    make_idx_dataset(system, compress=True, seed=1)
    assert find_data_dir("fashion-mnist") == system
    env_dir = tmp_path / "env"
    make_idx_dataset(env_dir / "fashion-mnist", compress=True, seed=2)
    monkeypatch.setenv(datasets.DATA_ENV_VAR, str(env_dir))
    assert find_data_dir("fashion-mnist") == env_dir / "fashion-mnist"
    make_idx_dataset(env_dir, compress=False, seed=3)
    assert find_data_dir("fashion-mnist") == env_dir
    given = tmp_path / "given"
    make_idx_dataset(given / "fashion-mnist", compress=False, seed=4)
    assert find_data_dir("fashion-mnist", given) == given / "fashion-mnist"
    make_idx_dataset(given, compress=True, seed=5)
    assert find_data_dir("fashion-mnist", str(given)) == given
    # The data really comes from the directory found.
    from_env = load_dataset("fashion-mnist", resolution=6, val_size=5)
    from_given = load_dataset("fashion-mnist", resolution=6, val_size=5, data_dir=given)
    assert not torch.equal(from_env.test_x, from_given.test_x)
    assert from_env.info["source"]["files"] != from_given.info["source"]["files"]


# --------------------------------------------------------------------------- real Fashion-MNIST


@pytest.mark.skipif(not HAVE_REAL_FASHION, reason="Debian's dataset-fashion-mnist is not installed")
def test_real_fashion_mnist() -> None:
    data = load_dataset("fashion-mnist", resolution=16, val_size=10000, data_dir=REAL_FASHION_DIR)
    assert data.train_x.shape == (50000, 1, 16, 16)
    assert data.val_x.shape == (10000, 1, 16, 16)
    assert data.test_x.shape == (10000, 1, 16, 16)
    assert data.info["official_train_size"] == 60000 and data.info["native_resolution"] == 28
    assert torch.bincount(data.test_y, minlength=10).tolist() == [1000] * 10
    assert torch.bincount(torch.cat([data.train_y, data.val_y]), minlength=10).tolist() == [6000] * 10
    hashes = data.info["source"]["files"]
    assert len(hashes) == 4
    assert all(len(h) == 64 and set(h) <= set("0123456789abcdef") for h in hashes.values())
    assert abs(float(data.train_x.mean())) < 1e-3


# --------------------------------------------------------------------------- CIFAR-10


def cifar_batches(seed: int = 0, records: int = 20) -> list[tuple[np.ndarray, list[int]]]:
    """Six (data uint8 [n, 3072], labels) batches: five training batches and the test batch."""
    rng = np.random.default_rng(seed)
    return [
        (rng.integers(0, 256, (records, 3072), dtype=np.uint8), rng.integers(0, 10, records).tolist())
        for _ in range(6)
    ]


def write_cifar_binary(directory: Path, batches: list[tuple[np.ndarray, list[int]]]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, (data, labels) in zip(dataset_files.CIFAR_BINARY_FILES, batches, strict=True):
        records = np.concatenate([np.asarray(labels, dtype=np.uint8)[:, None], data], axis=1)
        (directory / name).write_bytes(records.tobytes())


def py2_cifar_pickle(data: np.ndarray, labels: list[int]) -> bytes:
    """A batch pickled the way Python 2 + numpy wrote the official files (str as BINSTRING)."""

    def s(value: bytes) -> bytes:  # SHORT_BINSTRING: Python 2's str
        return b"U" + bytes([len(value)]) + value

    def i4(value: int) -> bytes:  # BININT
        return b"J" + struct.pack("<i", value)

    dtype = b"cnumpy\ndtype\n" + s(b"u1") + b"K\x00K\x01\x87R" + b"(K\x03" + s(b"|") + b"NNN"
    dtype += i4(-1) + i4(-1) + b"K\x00tb"
    array = b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85" + s(b"b") + b"\x87R"
    array += b"(K\x01" + i4(data.shape[0]) + i4(data.shape[1]) + b"\x86" + dtype + b"\x89"
    array += b"T" + struct.pack("<I", data.nbytes) + data.tobytes() + b"tb"
    label_list = b"](" + b"".join(b"K" + bytes([v]) for v in labels) + b"e"
    return (
        b"\x80\x02}("
        + s(b"batch_label")
        + s(b"batch")
        + s(b"data")
        + array
        + s(b"labels")
        + label_list
        + b"u."
    )


def write_cifar_python(
    directory: Path, batches: list[tuple[np.ndarray, list[int]]], protocol: int | str
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, (data, labels) in zip(dataset_files.CIFAR_PYTHON_FILES, batches, strict=True):
        if protocol == "py2":
            payload = py2_cifar_pickle(data, labels)
        else:
            batch = {b"batch_label": b"synthetic", b"labels": labels, b"data": data, b"filenames": []}
            payload = pickle.dumps(batch, protocol=protocol)
        (directory / name).write_bytes(payload)


def test_py2_pickle_helper_is_a_valid_pickle() -> None:
    data = np.arange(2 * 3072, dtype=np.int64).astype(np.uint8).reshape(2, 3072)
    batch = pickle.loads(py2_cifar_pickle(data, [3, 7]), encoding="bytes")
    assert np.array_equal(batch[b"data"], data) and batch[b"labels"] == [3, 7]


@pytest.mark.parametrize("protocol", ["py2", 4, 5])
def test_cifar_binary_and_python_agree(tmp_path: Path, protocol: int | str) -> None:
    batches = cifar_batches()
    write_cifar_binary(tmp_path / "bin" / "cifar-10-batches-bin", batches)
    write_cifar_python(tmp_path / "py" / "cifar-10-batches-py", batches, protocol)
    from_bin = load_dataset("cifar10", resolution=32, val_size=15, data_dir=tmp_path / "bin", split_seed=2)
    from_py = load_dataset("cifar10", resolution=32, val_size=15, data_dir=tmp_path / "py", split_seed=2)
    assert from_bin.info["source"]["format"] == "cifar10-binary"
    assert from_py.info["source"]["format"] == "cifar10-python"
    assert from_bin.train_x.shape == (85, 3, 32, 32) and from_bin.test_x.shape == (20, 3, 32, 32)
    assert (from_bin.input_channels, from_bin.num_classes) == (3, 10)
    for field in ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y"):
        assert torch.equal(getattr(from_bin, field), getattr(from_py, field)), field
    test_data, test_labels = batches[-1]
    assert to_bytes255(from_bin.test_x, from_bin.info) == [row.tobytes() for row in test_data]
    assert from_bin.test_y.tolist() == test_labels
    mean = from_bin.train_x.to(torch.float64).mean(dim=(0, 2, 3))
    assert torch.allclose(mean, torch.zeros(3, dtype=torch.float64), atol=1e-3)
    assert len(from_bin.info["normalisation"]["std"]) == 3


def test_cifar_binary_preferred_in_one_directory(tmp_path: Path) -> None:
    write_cifar_python(tmp_path, cifar_batches(seed=1), 4)
    write_cifar_binary(tmp_path, cifar_batches(seed=2))
    data = load_dataset("cifar10", resolution=8, val_size=10, data_dir=tmp_path)
    assert data.info["source"]["format"] == "cifar10-binary"
    assert data.train_x.shape == (90, 3, 8, 8)


class RunsCommand:
    """Pickles as a call to ``os.system`` (what a crafted file would do)."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class RunsEval:
    def __init__(self, source: str) -> None:
        self.source = source

    def __reduce__(self):
        return (eval, (self.source,))


@pytest.mark.parametrize("kind", ["system", "eval", "frombuffer"])
def test_malicious_pickle_is_refused_and_not_run(tmp_path: Path, kind: str) -> None:
    batches = cifar_batches()
    write_cifar_python(tmp_path, batches, 4)
    marker = tmp_path / "pwned"
    if kind == "system":
        payload: object = RunsCommand(f"touch {marker}")
    elif kind == "eval":
        payload = RunsEval(f"open({str(marker)!r}, 'w').close()")
    else:  # a numpy function, but not one the unpickler allows
        payload = np.frombuffer  # pickled by reference as numpy.frombuffer
    batch = {b"data": batches[0][0], b"labels": batches[0][1], b"extra": payload}
    (tmp_path / "data_batch_3").write_bytes(pickle.dumps(batch, protocol=4))
    with pytest.raises(DatasetError, match="refusing") as info:
        load_dataset("cifar10", resolution=32, val_size=5, data_dir=tmp_path)
    assert str(tmp_path / "data_batch_3") in str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize("form", ["binary", "python"])
def test_truncated_cifar_names_the_file(tmp_path: Path, form: str) -> None:
    batches = cifar_batches()
    if form == "binary":
        write_cifar_binary(tmp_path, batches)
        path = tmp_path / "test_batch.bin"
    else:
        write_cifar_python(tmp_path, batches, 4)
        path = tmp_path / "test_batch"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DatasetError) as info:
        load_dataset("cifar10", resolution=32, val_size=5, data_dir=tmp_path)
    assert str(path) in str(info.value)


def test_cifar_missing_lists_subdirectories(tmp_path: Path, isolated_lookup: Path) -> None:
    with pytest.raises(DatasetError) as info:
        find_data_dir("cifar10", tmp_path)
    message = str(info.value)
    for place in (tmp_path, tmp_path / "cifar-10-batches-bin", tmp_path / "cifar10" / "cifar-10-batches-py"):
        assert f"{place} (" in message
    assert str(isolated_lookup / "cifar10") in message
    assert "data_batch_1.bin" in message

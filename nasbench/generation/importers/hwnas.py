"""HW-NAS-Bench's NAS-Bench-201 measurements (``HW-NAS-Bench-v1_0.pickle``) as devices of
an existing NAS-Bench-201 table.

Layout (read from ``hw_nas_bench_api``): a plain pickle; ``['nasbench201'][dataset]
[metric][index]`` for datasets ``cifar10``, ``cifar100``, ``ImageNet16-120`` and metrics
``<device>_latency`` (ms), ``<device>_energy`` (mJ) and ``eyeriss_arithmetic_intensity``,
indexed by NAS-Bench-201's architecture index; ``[dataset]['config'][index]`` is that
architecture's network config, whose ``arch_str`` maps the index to this package's index
(NAS-Bench-201's order is a shuffle: never assumed). ``['fbnet']`` (FBNet space lookup
tables) is not read. Metric series may be lists or numpy arrays (numpy's array
reconstruction is allowed for this file, nothing else beyond plain data).

Devices become ``hwnas-<device>`` with ``latency_ms``, ``energy_mj`` and (Eyeriss)
``arithmetic_intensity``. A value that is not a positive finite number is no measurement:
it is stored as NaN and counted in the device description (``not_measured``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.core.errors import ArchitectureError, ConfigError, TableError
from nasbench.core.space import CellSpace
from nasbench.generation.importers.safe_pickle import ARRAY_GLOBALS, load_restricted, open_maybe_bz2
from nasbench.generation.importers.write import file_sha256

__all__ = ["HWNAS_DATASETS", "HWNAS_DEVICES", "read_hwnas"]

HWNAS_DATASETS: tuple[str, ...] = ("cifar10", "cifar100", "ImageNet16-120")
HWNAS_CITATION = (
    "Chaojian Li, Zhongzhi Yu, Yonggan Fu, Yongan Zhang, Yang Zhao, Haoran You, Qixuan Yu, Yue Wang, "
    "Cong Hao and Yingyan Lin. HW-NAS-Bench: Hardware-Aware Neural Architecture Search Benchmark. "
    "ICLR 2021."
)
#: HW-NAS-Bench's device prefix -> (our device id, what it is).
HWNAS_DEVICES: dict[str, tuple[str, str]] = {
    "edgegpu": ("hwnas-edgegpu", "edge GPU (measured)"),
    "raspi4": ("hwnas-raspi4", "Raspberry Pi 4 (measured)"),
    "edgetpu": ("hwnas-edgetpu", "Edge TPU (measured)"),
    "pixel3": ("hwnas-pixel3", "Pixel 3 phone (measured)"),
    "eyeriss": ("hwnas-eyeriss", "Eyeriss ASIC accelerator (estimated)"),
    "fpga": ("hwnas-fpga", "FPGA (estimated)"),
}
#: HW-NAS-Bench's metric suffix -> our metric name (units in the name).
_METRICS = {"latency": "latency_ms", "energy": "energy_mj", "arithmetic_intensity": "arithmetic_intensity"}


def _series(values: Any, size: int, what: str, source: str) -> np.ndarray:
    try:
        if isinstance(values, dict):
            array = np.full(size, np.nan)
            for index, value in values.items():
                array[int(index)] = np.nan if value is None else float(value)
        else:
            numbers = [np.nan if value is None else float(value) for value in values]
            array = np.asarray(numbers, dtype=np.float64)
    except (TypeError, ValueError, IndexError) as exc:
        raise TableError(f"{source}: {what} is not a series of numbers ({exc})") from None
    if array.shape != (size,):
        raise TableError(f"{source}: {what} has {array.shape[0]} values, NAS-Bench-201 has {size} cells")
    return array


def read_hwnas(
    path: str | os.PathLike[str], *, dataset: str
) -> dict[str, tuple[dict[str, Any], dict[str, np.ndarray]]]:
    """HW-NAS-Bench's devices for ``dataset`` (cifar10, cifar100 or ImageNet16-120):
    device id -> (description, {metric: float [15625] in this package's index order})."""
    if dataset not in HWNAS_DATASETS:
        raise ConfigError(f"HW-NAS-Bench has no dataset {dataset!r} (known: {', '.join(HWNAS_DATASETS)})")
    file = Path(path)
    source = str(file)
    if not file.is_file():
        raise TableError(f"{source}: no such file")
    with open_maybe_bz2(file, source) as stream:
        data = load_restricted(stream, source, allowed=ARRAY_GLOBALS)
    space = CellSpace()
    if not isinstance(data, dict) or not isinstance(data.get("nasbench201"), dict):
        raise TableError(f"{source}: not an HW-NAS-Bench file (no 'nasbench201' section)")
    section = data["nasbench201"].get(dataset)
    if not isinstance(section, dict):
        raise TableError(f"{source}: no NAS-Bench-201 measurements for {dataset}")
    configs = section.get("config")
    if not isinstance(configs, (list, tuple, dict)) or len(configs) != space.size:
        raise TableError(f"{source}: {dataset} needs one network config per cell ({space.size})")
    rows = np.empty(space.size, dtype=np.int64)
    for position in range(space.size):
        config = configs[position]
        try:
            rows[position] = space.index(config["arch_str"])
        except (KeyError, TypeError, ArchitectureError) as exc:
            raise TableError(
                f"{source}: {dataset} config {position} names no NAS-Bench-201 cell ({exc})"
            ) from None
    if np.unique(rows).size != space.size:
        raise TableError(f"{source}: {dataset} configs name some cell twice")
    digest = file_sha256(file)
    devices: dict[str, tuple[dict[str, Any], dict[str, np.ndarray]]] = {}
    for key, values in section.items():
        if key == "config":
            continue
        prefix, _, kind = str(key).partition("_")
        if prefix not in HWNAS_DEVICES or kind not in _METRICS:
            raise TableError(f"{source}: unknown HW-NAS-Bench metric {key!r}")
        by_source_index = _series(values, space.size, f"{dataset}/{key}", source)
        measured = np.isfinite(by_source_index) & (by_source_index > 0)
        ours = np.full(space.size, np.nan, dtype=np.float64)
        ours[rows] = np.where(measured, by_source_index, np.nan)
        device, description = HWNAS_DEVICES[prefix]
        entry = devices.setdefault(
            device,
            (
                {
                    "name": description,
                    "benchmark": "HW-NAS-Bench v1.0, NAS-Bench-201 space",
                    "dataset": dataset,
                    "source_metrics": {},
                    "not_measured": {},
                    "file": file.name,
                    "sha256": digest,
                    "citation": HWNAS_CITATION,
                    "licence": "MIT",
                    "url": "https://github.com/GATECH-EIC/HW-NAS-Bench",
                },
                {},
            ),
        )
        name = _METRICS[kind]
        entry[0]["source_metrics"][name] = str(key)
        entry[0]["not_measured"][name] = int((~measured).sum())
        entry[1][name] = ours
    if not devices:
        raise TableError(f"{source}: {dataset} holds no device metrics")
    return devices

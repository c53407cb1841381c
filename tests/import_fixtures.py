"""Small files in the exact layouts of public benchmark files, for the importers' tests.

The real files (NAS-Bench-201's 2-5 GB ``.pth``, NATS-Bench's bz2 pickles, NAS-Bench-360,
NASLib's and HW-NAS-Bench's pickles) are not available here, so these builders write the
same structures, read from the loaders' source (``nas_201_api``, ``nats_bench``,
NAS-Bench-360's ``tss-collect.py``, NASLib's ``graph.py`` and ``prestore_nasbench360.py``,
``hw_nas_bench_api``), with the same containers: ``torch.save`` legacy and zip, bz2
pickle protocol 4, plain pickles. Every number is :func:`value` of where it sits, so a
test can say exactly what must land in which row. Only the architectures asked for get
records; ``meta_archs`` always lists all 15,625 in a fixed shuffle (NAS-Bench-201's index
0 first, as in the real file).
"""

from __future__ import annotations

import bz2
import pickle
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.core.space import CellSpace

SPACE = CellSpace()
#: NAS-Bench-201's architecture 0 (its ``meta_archs[0]``).
NB201_FIRST = (
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
)
#: Evaluation sets per dataset, in the order NAS-Bench-201's records list them.
EVAL_SETS: dict[str, tuple[str, ...]] = {
    "cifar10-valid": ("x-valid", "ori-test"),
    "cifar10": ("ori-test",),
    "cifar100": ("x-valid", "x-test", "ori-test"),
    "ImageNet16-120": ("x-valid", "x-test", "ori-test"),
}
CLASSES = {
    "cifar10-valid": 10,
    "cifar10": 10,
    "cifar100": 100,
    "ImageNet16-120": 120,
    "ninapro": 18,
    "darcyflow": 1,
}
_KIND = {"acc": 0, "loss": 1, "seconds": 2}
_SET = {"train": 0, "x-valid": 1, "x-test": 2, "ori-test": 3}
_DATASET = {
    "cifar10-valid": 0,
    "cifar10": 1,
    "cifar100": 2,
    "ImageNet16-120": 3,
    "ninapro": 4,
    "darcyflow": 5,
}


def meta_archs() -> list[str]:
    """All 15,625 cell strings in NAS-Bench-201-like shuffled order (a fixed permutation)."""
    order = np.random.default_rng(201).permutation(SPACE.size)
    first = SPACE.index(NB201_FIRST)
    order = np.concatenate([[first], order[order != first]])
    return [str(SPACE.from_index(int(i))) for i in order]


META = meta_archs()
NB201_INDEX = {text: position for position, text in enumerate(META)}


def nb201_index(row: int) -> int:
    """NAS-Bench-201's index of this package's row ``row``."""
    return NB201_INDEX[str(SPACE.from_index(row))]


def value(kind: str, where: str, index: int, dataset: str, seed: int, epoch: int) -> float:
    """The number a fixture stores: ``kind`` acc/loss/seconds of set ``where`` (or
    'train') for benchmark index ``index``, ``dataset``, ``seed``, 0-based ``epoch``."""
    base = {"acc": 10.0, "loss": 0.5, "seconds": 1.0}[kind]
    return (
        base
        + (index % 997) * 0.05
        + epoch * 0.125
        + _SET[where] * 3.0
        + _DATASET[dataset] * 0.75
        + (seed % 1000) * 0.001
        + _KIND[kind] * 0.0001
    )


def params_m(index: int, dataset: str) -> float:
    """The fixture's parameter count (millions): index-dependent, so a test can see it."""
    return 0.1 + index * 1e-6 + _DATASET[dataset] * 1e-3


def flop_m(index: int, dataset: str) -> float:
    return 10.0 + index * 1e-3 + _DATASET[dataset] * 0.5


def latency_s(index: int, dataset: str, seed: int) -> float:
    return 0.01 + index * 1e-7 + (seed % 1000) * 1e-6


# Key strings and the eval-names lists are shared objects across records and architectures
# (as in the real files), so the pickles fetch memoised objects across architectures.
_KEYS: dict[tuple[str, int], str] = {}
_NAMES: dict[str, list[str]] = {name: list(sets) for name, sets in EVAL_SETS.items()}


def _key(where: str, epoch: int) -> str:
    return _KEYS.setdefault((where, epoch), f"{where}@{epoch}")


def run_record(
    index: int,
    arch: str,
    dataset: str,
    seed: int,
    epochs: int,
    *,
    eval_epochs: dict[str, Sequence[int]],
    times: bool,
    sets: Sequence[str] | None = None,
) -> dict[str, Any]:
    """One ``ResultsCount`` state dict (a training run), NAS-Bench-201's field names."""
    sets = tuple(sets) if sets is not None else EVAL_SETS[dataset]

    def train(kind: str) -> dict[int, float]:
        return {e: value(kind, "train", index, dataset, seed, e) for e in range(epochs)}

    evals: dict[str, dict[str, Any]] = {"acc": {}, "loss": {}, "seconds": {}}
    for where in sets:
        for e in eval_epochs.get(where, ()):
            evals["acc"][_key(where, e)] = value("acc", where, index, dataset, seed, e)
            evals["loss"][_key(where, e)] = np.float64(value("loss", where, index, dataset, seed, e))
        if times:
            for e in range(epochs):
                evals["seconds"][_key(where, e)] = value("seconds", where, index, dataset, seed, e)
    return {
        "name": dataset,
        "net_state_dict": None,
        "train_acc1es": train("acc"),
        "train_acc5es": train("acc") if epochs == 12 else None,  # as in the real files
        "train_losses": train("loss"),
        "train_times": OrderedDict(train("seconds")) if times else None,
        "arch_config": {"channel": 16, "num_cells": 5, "arch_str": arch, "class_num": CLASSES[dataset]},
        "params": np.float64(params_m(index, dataset)),
        "flop": flop_m(index, dataset),
        "seed": f"{seed:04d}",
        "epochs": epochs,
        "latency": [np.float64(latency_s(index, dataset, seed))],
        "eval_names": _NAMES.get(dataset, list(sets)),
        "eval_acc1es": evals["acc"],
        "eval_times": evals["seconds"] if times else {},
        "eval_losses": evals["loss"],
    }


def arch_state(index: int, runs: dict[tuple[str, int], dict[str, Any]]) -> dict[str, Any]:
    """One ``ArchResults`` state dict."""
    seeds: dict[str, list[int]] = {}
    for dataset, seed in runs:
        seeds.setdefault(dataset, []).append(seed)
    return {
        "arch_index": index,
        "arch_str": META[index],
        "all_results": dict(runs),
        "dataset_seed": seeds,
        "clear_net_done": True,
    }


#: Seeds of the 12-epoch and 200-epoch runs in the v1.1 fixture, per dataset.
SEEDS_12 = {"cifar10-valid": (111, 777), "cifar10": (111,), "cifar100": (111,), "ImageNet16-120": (111,)}


def seeds_200(index: int) -> tuple[int, ...]:
    """1-3 seeds per architecture, as NAS-Bench-201's 200-epoch runs have."""
    return ((777,), (777, 888), (777, 888, 999))[index % 3]


def nb201_states(index: int, version: str, hps: Iterable[str] = ("less", "full")) -> dict[str, Any]:
    """``{'less': state, 'full': state}`` of one architecture, v1.0 or v1.1 style.

    v1.0: 12-epoch runs on cifar10-valid only; 200-epoch runs without times, sets
    evaluated at the last epoch. v1.1: 12-epoch runs on every dataset with times and every
    set every epoch; 200-epoch runs with times, sets evaluated at the last epoch only.
    """
    arch = META[index]
    out: dict[str, Any] = {}
    if "less" in hps:
        runs = {}
        for dataset, seeds in SEEDS_12.items():
            if version == "v1.0" and dataset != "cifar10-valid":
                continue
            every = {where: range(12) for where in EVAL_SETS[dataset]}
            for seed in seeds:
                runs[(dataset, seed)] = run_record(
                    index, arch, dataset, seed, 12, eval_epochs=every, times=True
                )
        out["less"] = arch_state(index, runs)
    if "full" in hps:
        runs = {}
        for dataset in EVAL_SETS:
            last = {where: (199,) for where in EVAL_SETS[dataset]}
            for seed in seeds_200(index):
                runs[(dataset, seed)] = run_record(
                    index, arch, dataset, seed, 200, eval_epochs=last, times=version != "v1.0"
                )
        out["full"] = arch_state(index, runs)
    return out


def nb201_object(
    rows: Iterable[int], *, version: str = "v1.1", hps: Iterable[str] = ("less", "full")
) -> dict:
    """The object ``torch.save`` wrote to NAS-Bench-201's file, for this package's ``rows``."""
    indices = sorted(nb201_index(row) for row in rows)
    hps = tuple(hps)
    return {
        "meta_archs": list(META),
        "total_archs": len(META),
        "arch2infos": {index: nb201_states(index, version, hps) for index in indices},
        "evaluated_indexes": list(indices),
    }


def write_nb201_pth(
    path: Path, rows: Iterable[int], *, version: str = "v1.1", zip_format: bool = False, **kw: Any
) -> Path:
    """NAS-Bench-201's ``.pth``: ``torch.save`` in the legacy container (as the 2020
    files were written) or the zip one."""
    import torch

    torch.save(nb201_object(rows, version=version, **kw), path, _use_new_zipfile_serialization=zip_format)
    return path


def _nats_hp(states: dict[str, Any]) -> OrderedDict:
    return OrderedDict((("12" if hp == "less" else "200"), state) for hp, state in states.items())


def write_nats_tss(path: Path, rows: Iterable[int], *, fast: bool = False) -> Path:
    """NATS-Bench's topology space: a whole ``.pickle.pbz2`` (``fast=False``) or a
    fast-mode directory (``meta.pickle.pbz2`` and ``{index:06d}.pickle.pbz2``)."""
    indices = sorted(nb201_index(row) for row in rows)
    if not fast:
        whole = {
            "meta_archs": list(META),
            "total_archs": len(META),
            "arch2infos": {index: _nats_hp(nb201_states(index, "v1.1")) for index in indices},
            "evaluated_indexes": set(indices),
        }
        with bz2.open(path, "wb") as handle:
            pickle.dump(whole, handle, protocol=4)
        return path
    path.mkdir(parents=True, exist_ok=True)
    meta = {
        "meta_archs": list(META),
        "total_archs": len(META),
        "arch2infos": None,
        "evaluated_indexes": set(),
    }
    with bz2.open(path / "meta.pickle.pbz2", "wb") as handle:
        pickle.dump(meta, handle, protocol=4)
    for index in indices:
        with bz2.open(path / f"{index:06d}.pickle.pbz2", "wb") as handle:
            pickle.dump(_nats_hp(nb201_states(index, "v1.1")), handle, protocol=4)
    return path


def write_nats_sss(path: Path) -> Path:
    """NATS-Bench's size space: 32,768 'c1:c2:c3:c4:c5' architectures, hp '01'/'12'/'90'."""
    import itertools

    channels = range(8, 65, 8)
    archs = [":".join(map(str, combo)) for combo in itertools.product(channels, repeat=5)]
    state = {
        "arch_index": 0,
        "arch_str": archs[0],
        "all_results": {("cifar10", 777): {"name": "cifar10", "train_acc1es": {0: 1.0}}},
        "dataset_seed": {"cifar10": [777]},
        "clear_net_done": True,
    }
    whole = {
        "meta_archs": archs,
        "total_archs": len(archs),
        "arch2infos": {0: OrderedDict([("01", state), ("12", state), ("90", state)])},
        "evaluated_indexes": {0},
    }
    with bz2.open(path, "wb") as handle:
        pickle.dump(whole, handle, protocol=4)
    return path


def nb360_states(index: int, dataset: str, hps: Sequence[str]) -> OrderedDict:
    """NAS-Bench-360 (``tss-collect.py``): runs on ``dataset``, set ``ori-test`` every epoch, seed 777."""
    arch = META[index]
    out = OrderedDict()
    for hp in hps:
        epochs = int(hp)
        every = {"ori-test": range(epochs)}
        run = run_record(index, arch, dataset, 777, epochs, eval_epochs=every, times=True, sets=("ori-test",))
        out[hp] = arch_state(index, {(dataset, 777): run})
    return out


def write_nb360(
    path: Path,
    rows: Iterable[int],
    *,
    dataset: str = "ninapro",
    hps: Sequence[str] = ("12",),
    compress: bool = True,
) -> Path:
    """NAS-Bench-360's NinaPro / Darcy Flow benchmark: NATS tss whole-file format, bz2 or plain."""
    indices = sorted(nb201_index(row) for row in rows)
    whole = {
        "meta_archs": list(META),
        "total_archs": len(META),
        "arch2infos": {index: nb360_states(index, dataset, hps) for index in indices},
        "evaluated_indexes": set(indices),
    }
    if compress:
        with bz2.open(path, "wb") as handle:
            pickle.dump(whole, handle, protocol=4)
    else:
        path.write_bytes(pickle.dumps(whole, protocol=4))
    return path


def naslib_entry(index: int, dataset: str, epochs: int = 200) -> dict[str, Any]:
    """One architecture's data on one dataset in NASLib's NB201 pickle."""
    return {
        "train_losses": [value("loss", "train", index, dataset, 0, e) for e in range(epochs)],
        "eval_losses": [value("loss", "x-valid", index, dataset, 0, e) for e in range(epochs)],
        "train_acc1es": [value("acc", "train", index, dataset, 0, e) for e in range(epochs)],
        "eval_acc1es": [value("acc", "x-valid", index, dataset, 0, e) for e in range(epochs)],
        "cost_info": {
            "flops": flop_m(index, dataset),
            "params": params_m(index, dataset),
            "latency": latency_s(index, dataset, 0),
            "train_time": value("seconds", "train", index, dataset, 0, 0),
        },
    }


def write_naslib(
    path: Path, rows: Iterable[int], *, datasets: Sequence[str] = ("cifar10-valid",), epochs: int = 200
) -> Path:
    """NASLib's ``nb201_<dataset>_full_training.pickle``: {arch string: {dataset: data}}."""
    data = {
        META[nb201_index(row)]: {
            dataset: naslib_entry(nb201_index(row), dataset, epochs) for dataset in datasets
        }
        for row in rows
    }
    path.write_bytes(pickle.dumps(data))
    return path


HWNAS_METRICS = (
    "edgegpu_latency",
    "edgegpu_energy",
    "raspi4_latency",
    "edgetpu_latency",
    "pixel3_latency",
    "eyeriss_latency",
    "eyeriss_energy",
    "eyeriss_arithmetic_intensity",
    "fpga_latency",
    "fpga_energy",
)


def hwnas_value(metric: str, index: int, dataset: str) -> float:
    return 1.0 + HWNAS_METRICS.index(metric) + index * 1e-4 + _DATASET[dataset] * 0.01


def write_hwnas(path: Path, *, arrays: bool = False, missing: tuple[str, int] | None = None) -> Path:
    """HW-NAS-Bench's pickle: ``['nasbench201'][dataset][metric][index]`` (lists, or numpy
    arrays with ``arrays``), ``[dataset]['config'][index]`` NAS-Bench-201's net config,
    ``['fbnet']`` per-op lookup tables. ``missing=(metric, index)`` stores 0 there."""
    data: dict[str, Any] = {"nasbench201": {}, "fbnet": {"edgegpu_latency": {"ConvBlock_H32": 0.5}}}
    for dataset in ("cifar10", "cifar100", "ImageNet16-120"):
        entry: dict[str, Any] = {}
        for metric in HWNAS_METRICS:
            series = [hwnas_value(metric, index, dataset) for index in range(len(META))]
            if missing is not None and missing[0] == metric:
                series[missing[1]] = 0.0
            entry[metric] = np.asarray(series) if arrays else series
        entry["config"] = [
            {"name": "infer.tiny", "C": 16, "N": 5, "arch_str": text, "num_classes": CLASSES[dataset]}
            for text in META
        ]
        data["nasbench201"][dataset] = entry
    path.write_bytes(pickle.dumps(data, protocol=4))
    return path


def write_malicious(path: Path, *, wrap: str = "plain", marker: Path | None = None) -> Path:
    """A pickle that would run a shell command: ``plain``, ``bz2`` or ``torch`` (legacy ``.pth``)."""
    command = f"touch {marker}" if marker is not None else "true"

    class Payload:
        def __reduce__(self) -> tuple[Any, ...]:
            import os

            return (os.system, (command,))

    obj = {"meta_archs": [NB201_FIRST], "arch2infos": {0: {"less": Payload()}}}
    if wrap == "torch":
        import torch

        torch.save(obj, path, _use_new_zipfile_serialization=False)
    elif wrap == "bz2":
        with bz2.open(path, "wb") as handle:
            pickle.dump(obj, handle, protocol=4)
    else:
        path.write_bytes(pickle.dumps(obj))
    return path

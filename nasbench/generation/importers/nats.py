"""NATS-Bench's topology space (``NATS-tss-v1_0-3ffb9.pickle.pbz2`` or its fast-mode
directory ``NATS-tss-v1_0-3ffb9-simple``) and NAS-Bench-360 (NinaPro, Darcy Flow, same
format) as tables.

Layout (read from ``nats_bench``): a bz2-compressed pickle (protocol 4) of ``{meta_archs,
total_archs, arch2infos, evaluated_indexes}`` with ``arch2infos[index]`` an
``OrderedDict{hp: state}`` (hp '12' and '200'); or a directory holding
``meta.pickle.pbz2`` (the same dict, ``arch2infos`` None) and one
``{index:06d}.pickle.pbz2`` per architecture holding its ``OrderedDict{hp: state}``. A
state is NAS-Bench-201's (see :mod:`nasbench.generation.importers.nb201`), so the tables,
the val/test convention and the value mapping are NAS-Bench-201's; the topology space's
indices and strings are NAS-Bench-201's. NATS-Bench's times are its estimates (the same
value every epoch), recorded as given. The size space (sss, 'c1:c2:c3:c4:c5' channel
counts) needs a space this package does not have yet and is refused with one error.

NAS-Bench-360 (``tss-collect.py``) holds runs on ``ninapro`` or ``darcyflow`` (seed 777)
with one evaluation set, ``ori-test``: the task's test split (training used the training
and validation splits together). There is no validation set. NAS-Bench-360's own search
scripts use the ``ori-test`` accuracy as the search signal (NATS-Bench's
``valtest-accuracy``), which selects on the test set; this importer does not repeat that:
``ori-test`` becomes ``test_*`` only and the tables have no ``val_*`` (so they cannot
drive a search until a validation signal exists; they serve as test look-ups, surrogate
training data and cost tables). Darcy Flow is a regression task: its "accuracy" is
1 - relative L2 error (a fraction, below 0 for errors above 1), which fits no percentage,
so the tables keep the relative L2 error as ``train_loss`` / ``test_loss`` (not
cross-entropy; said in ``dataset``) and leave the accuracies out, which hold the same
information.
"""

from __future__ import annotations

import bz2
import hashlib
import io
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from nasbench.core.errors import TableError
from nasbench.core.space import CellSpace
from nasbench.generation.importers.nb201 import (
    Describe,
    Nb201Collector,
    TableSpec,
    nb201_protocol,
    nb201_specs,
    normalise_hps,
    select_specs,
)
from nasbench.generation.importers.records import ImportedBenchmark
from nasbench.generation.importers.safe_pickle import (
    DATA_GLOBALS,
    load_restricted,
    open_maybe_bz2,
    read_errors,
    stream_records,
)
from nasbench.generation.importers.write import file_sha256

__all__ = ["NATS_CITATION", "NB360_CITATION", "read_nats_tss", "read_nb360"]

NATS_CITATION = (
    "Xuanyi Dong, Lu Liu, Katarzyna Musial and Bogdan Gabrys. NATS-Bench: Benchmarking NAS "
    "Algorithms for Architecture Topology and Size. IEEE TPAMI 2021."
)
NATS_URL = "https://github.com/D-X-Y/NATS-Bench"
NB360_CITATION = (
    "Renbo Tu, Nicholas Roberts, Mikhail Khodak, Junhong Shen, Frederic Sala and Ameet Talwalkar. "
    "NAS-Bench-360: Benchmarking Neural Architecture Search on Diverse Tasks. NeurIPS 2022 "
    "Datasets and Benchmarks."
)
NB360_URL = "https://github.com/rtu715/NAS-Bench-360"
_ARCH_FILE = re.compile(r"(\d+)\.pickle\.pbz2")
_NB360_MODEL = {"width": 16, "cells_per_stage": 5}
_NO_VAL = (
    "none: the file holds one evaluation set, ori-test (the test split). NAS-Bench-360's search "
    "scripts use it as the search signal, which selects on the test set; it is kept as test only"
)
NB360_SPECS: dict[str, TableSpec] = {
    "ninapro": TableSpec(
        "ninapro",
        "ninapro",
        None,
        "ninapro",
        "ori-test",
        {
            "name": "ninapro",
            "task": "NinaPro DB5 hand-gesture classification from sEMG windows (not square images)",
            "classes": 18,
            "train": "the training and validation splits together",
            "val": _NO_VAL,
            "test": "ori-test: the NinaPro DB5 test split",
            "model_note": "input_channels/resolution are placeholders; params and flops are the file's",
        },
        {**_NB360_MODEL, "input_channels": 1, "num_classes": 18},
    ),
    "darcyflow": TableSpec(
        "darcyflow",
        "darcyflow",
        None,
        "darcyflow",
        "ori-test",
        {
            "name": "darcyflow",
            "task": "Darcy Flow PDE solution (dense regression)",
            "train": "the Darcy Flow training split",
            "val": _NO_VAL,
            "test": "ori-test: the Darcy Flow test split",
            "losses": "relative L2 error (a fraction), not cross-entropy",
            "accuracy": "left out: the file's 'accuracy' is 1 - relative L2 error, no percentage",
            "model_note": "a dense-output network; input_channels/resolution/num_classes are "
            "placeholders; params and flops are the file's",
        },
        {**_NB360_MODEL, "input_channels": 1, "num_classes": 1},
        accuracy=False,
    ),
}
#: NAS-Bench-360's training settings besides the epochs (its hyper-opts configs).
_NB360_TRAINING: dict[str, dict[str, Any]] = {
    "ninapro": {"batch_size": 256, "loss": "cross-entropy"},
    "darcyflow": {"batch_size": 16, "loss": "relative L2 error"},
}


def _check_meta(collector: Nb201Collector, meta: Any, source: str) -> Any:
    if not isinstance(meta, dict) or "meta_archs" not in meta:
        raise TableError(f"{source}: not a NATS-Bench file (no meta_archs)")
    return collector.source_index(meta["meta_archs"])


def _tree_digest(lines: list[str]) -> str:
    return "sha256-tree:" + hashlib.sha256("".join(sorted(lines)).encode()).hexdigest()


def _read_directory(directory: Path, collector: Nb201Collector, progress: bool) -> tuple[Any, str]:
    """Fast mode: ``meta.pickle.pbz2`` plus one file per architecture. Returns the
    benchmark's index of every row and a digest of every file read."""
    meta_file = directory / "meta.pickle.pbz2"
    if not meta_file.is_file():
        raise TableError(f"{directory}: not a NATS-Bench fast-mode directory (no meta.pickle.pbz2)")
    lines = [f"{meta_file.name} {file_sha256(meta_file)}\n"]
    with open_maybe_bz2(meta_file, str(meta_file)) as stream:
        meta = load_restricted(stream, str(meta_file), allowed=DATA_GLOBALS)
    index = _check_meta(collector, meta, str(meta_file))
    files = sorted(
        (int(match.group(1)), path)
        for path in directory.iterdir()
        if (match := _ARCH_FILE.fullmatch(path.name)) is not None
    )
    if not files:
        raise TableError(f"{directory}: no architecture files (NNNNNN.pickle.pbz2)")
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(files), desc=f"reading {directory.name}", unit=" archs", leave=False)
    try:
        for number, path in files:
            source = str(path)
            with read_errors(source):
                data = path.read_bytes()
            lines.append(f"{path.name} sha256:{hashlib.sha256(data).hexdigest()}\n")
            with read_errors(source), bz2.open(io.BytesIO(data), "rb") as stream:
                states = load_restricted(stream, source, allowed=DATA_GLOBALS)
            if not isinstance(states, dict):
                raise TableError(f"{source}: not a NATS-Bench architecture file (no settings dict)")
            for hp, state in states.items():
                if not Nb201Collector.is_state(state):
                    raise TableError(f"{source}: setting {hp!r} holds no architecture record")
                if state.get("arch_index") not in (None, number):
                    raise TableError(f"{source}: holds the record of architecture {state.get('arch_index')}")
                collector.consume(state, hp)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return index, _tree_digest(lines)


def _read_any(path: Path, collector: Nb201Collector, progress: bool, source: str) -> tuple[Any, str, str]:
    """A whole file (bz2 or plain pickle, streamed) or a fast-mode directory: (benchmark
    index per row, digest, form)."""
    if path.is_dir():
        index, digest = _read_directory(path, collector, progress)
        return index, digest, "fast-mode directory"
    if not path.is_file():
        raise TableError(f"{source}: no such file or directory")

    top, _ = stream_records(
        lambda: open_maybe_bz2(path, source),
        source,
        is_record=Nb201Collector.is_state,
        consume=collector.consume,
        allowed=DATA_GLOBALS,
        progress=progress,
    )
    if not isinstance(top, dict) or "arch2infos" not in top:
        raise TableError(f"{source}: not a NATS-Bench file (no meta_archs and arch2infos)")
    index = _check_meta(collector, top, source)
    return index, file_sha256(path), "whole file"


def read_nats_tss(
    path: str | os.PathLike[str],
    *,
    datasets: Iterable[str] | None = None,
    hps: Iterable[str] | None = None,
    progress: bool = False,
) -> list[ImportedBenchmark]:
    """Read NATS-Bench's topology space (whole ``.pickle.pbz2`` or fast-mode directory)
    into one :class:`ImportedBenchmark` per (dataset, setting): NAS-Bench-201's datasets
    and conventions; ``hps`` some of '12', '200'. A size-space file raises
    :class:`TableError`."""
    file = Path(path)
    source = str(file)
    specs = select_specs(nb201_specs(), datasets, "NATS-Bench (topology)")
    collector = Nb201Collector(CellSpace(), specs, normalise_hps(hps), source)
    index, digest, form = _read_any(file, collector, progress, source)

    def provenance(spec: TableSpec, hp: str) -> dict[str, Any]:
        return {
            "format": "nats-tss",
            "benchmark": "NATS-Bench, topology search space",
            "form": form,
            "file": file.name,
            "sha256": digest,
            "setting": f"hp {hp}",
            "train": spec.search,
            "val": None if spec.val_set is None else f"{spec.search}/{spec.val_set}",
            "test": f"{spec.test}/{spec.test_set}",
            "times": "NATS-Bench's estimates (the same value every epoch)",
            "citation": NATS_CITATION,
            "licence": "MIT",
            "url": NATS_URL,
        }

    def protocol(spec: TableSpec, hp: str, seeds: list[int]) -> dict[str, Any]:
        return nb201_protocol("NATS-Bench tss", hp, seeds)

    device = {
        "name": "NATS-Bench's GPU",
        "batch_size": 256,
        "source": "the benchmark's 'latency' field: seconds per batch of 256 images, mean over its seeds",
    }
    return collector.tables(Describe(index, provenance, protocol, "nats-gpu", device))


def read_nb360(path: str | os.PathLike[str], *, progress: bool = False) -> list[ImportedBenchmark]:
    """Read a NAS-Bench-360 benchmark file (NinaPro or Darcy Flow, NATS-Bench tss format,
    bz2 or plain pickle, or a fast-mode directory): one :class:`ImportedBenchmark` per
    (task, setting) it holds, ``ori-test`` as test, no validation set (module docstring)."""
    file = Path(path)
    source = str(file)
    specs = list(NB360_SPECS.values())
    collector = Nb201Collector(CellSpace(), specs, None, source)
    index, digest, form = _read_any(file, collector, progress, source)

    def provenance(spec: TableSpec, hp: str) -> dict[str, Any]:
        return {
            "format": "nb360",
            "benchmark": "NAS-Bench-360 (NAS-Bench-201 cell, NATS-Bench tss format)",
            "form": form,
            "file": file.name,
            "sha256": digest,
            "setting": f"hp {hp}",
            "train": spec.search,
            "val": None,
            "test": f"{spec.test}/{spec.test_set}",
            "citation": NB360_CITATION,
            "licence": "MIT (benchmark code and data); NinaPro DB5 itself: CC BY-ND",
            "url": NB360_URL,
        }

    def protocol(spec: TableSpec, hp: str, seeds: list[int]) -> dict[str, Any]:
        return {
            **nb201_protocol("NAS-Bench-360", hp, seeds),
            **_NB360_TRAINING[spec.name],
            "augmentation": None,
        }

    device = {
        "name": "NAS-Bench-360's GPU",
        "source": "the benchmark's 'latency' field: seconds per evaluation batch, mean over its seeds",
    }
    tables = collector.tables(Describe(index, provenance, protocol, "nb360-gpu", device))
    if not tables:
        raise TableError(f"{source}: holds no NinaPro or Darcy Flow runs (is it a NAS-Bench-360 file?)")
    return tables

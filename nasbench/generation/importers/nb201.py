"""NAS-Bench-201's official ``.pth`` files (v1.0 ``NAS-Bench-201-v1_0-e61699.pth``, v1.1
``NAS-Bench-201-v1_1-096897.pth``) as tables: one per (dataset, training setting).

Layout (read from ``nas_201_api``): ``torch.save`` of a dict ``{meta_archs, total_archs,
arch2infos, evaluated_indexes}``; ``arch2infos[index]`` is ``{'less': state, 'full':
state}`` (hp '12' and '200'); a state is an ``ArchResults`` state dict whose
``all_results[(dataset, seed)]`` holds one training run: ``train_acc1es`` /
``train_losses`` / ``train_times`` per epoch, ``eval_acc1es`` / ``eval_losses`` /
``eval_times`` keyed ``'<set>@<epoch>'``, ``params`` (millions), ``flop`` (MFLOPs) and
``latency`` (seconds per batch of 256). The file is read with
:func:`~nasbench.generation.importers.safe_pickle.stream_records`: one state at a time,
nothing from the file executed; both torch containers (legacy and zip) are read.

Which evaluation set becomes which metric follows NAS-Bench-201's own API
(``get_more_info``) and its search protocol:

- ``cifar10-valid`` (trained on 25k training images): ``val_*`` = ``x-valid`` (the other
  25k), ``test_*`` = ``ori-test`` (the 10k test images).
- ``cifar10``: NAS-Bench-201 searches on ``cifar10-valid``/``x-valid`` and reports
  ``cifar10``/``ori-test`` (trained on all 50k). The ``cifar10`` table therefore takes
  ``train_*``, ``val_*``, ``eval_seconds`` and run status from the ``cifar10-valid`` run
  and ``test_*`` from the ``cifar10`` run with the same seed (NaN where that seed has no
  ``cifar10`` run; the benchmark's test is a mean over seeds, as NAS-Bench-201's is).
- ``cifar100`` and ``ImageNet16-120``: ``val_*`` = ``x-valid``, ``test_*`` = ``x-test``
  (two halves of the original test set).

Every value keeps its architecture index (isomorphic cells were trained separately) and
its seed (one column per seed, NaN where a cell lacks it); epochs are the training epochs
the setting has (12 or 200), NaN where a set was not evaluated (in 200-epoch runs most
sets exist only at the last epoch). ``train_seconds`` / ``eval_seconds`` (time to
evaluate the val set) appear only where the file has times (v1.0's 200-epoch runs have
none). Costs are the file's (``params`` x 1e6, ``flop`` x 1e6 as MACs) when it holds
every architecture, else left to the writer's builder (which counts as NAS-Bench-201
does); the latency (mean over seeds) becomes device ``nb201-gpu``, ``latency_ms_b256``.
Reading the 4.7 GB v1.1 file takes on the order of 15-40 minutes (pure-Python
unpickling, two passes); memory is the output arrays (about 1 GB for every dataset and
both settings, mostly the 200-epoch ones; ``datasets``/``hps`` select fewer) plus one
architecture's objects and the memo bookkeeping (about 1.5 KiB per architecture measured
on fixtures).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.core.errors import ArchitectureError, ConfigError, TableError
from nasbench.core.schema import STATUS_DONE, STATUS_PENDING
from nasbench.core.space import CellSpace
from nasbench.generation.importers.records import ImportedBenchmark
from nasbench.generation.importers.safe_pickle import (
    TORCH_GLOBALS,
    stream_records,
    torch_object_pickle,
)
from nasbench.generation.importers.tabular import NB201_CITATION
from nasbench.generation.importers.write import file_sha256

__all__ = ["NB201_DATASETS", "Describe", "Nb201Collector", "TableSpec", "nb201_specs", "read_nb201"]

#: The datasets a NAS-Bench-201 table can be made for (``cifar10`` pairs two runs).
NB201_DATASETS: tuple[str, ...] = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")
#: NAS-Bench-201's names of its two training settings.
HP_ALIASES: dict[str, str] = {"less": "12", "full": "200"}
NB201_URL = "https://github.com/D-X-Y/NAS-Bench-201"
#: NAS-Bench-201's training hyper-parameters (configs 12E / 200E, all but the epochs).
NB201_TRAINING: dict[str, Any] = {
    "optimizer": "SGD, Nesterov momentum 0.9, weight decay 5e-4",
    "learning_rate": "0.1, cosine annealing to 0",
    "batch_size": 256,
    "loss": "cross-entropy",
    "augmentation": "random crop + horizontal flip",
}
_SIZE_SPACE = re.compile(r"\d+(:\d+)+")


@dataclass(frozen=True)
class TableSpec:
    """One table to make from a benchmark's runs: which run gives ``train_*``, ``val_*``
    and the status (``search``, set ``val_set``; None: no validation set), which gives
    ``test_*`` (``test``, set ``test_set``), and how to describe it."""

    name: str
    search: str
    val_set: str | None
    test: str
    test_set: str
    dataset: dict[str, Any]
    model: dict[str, Any]
    accuracy: bool = True
    loss: bool = True

    def channels(self) -> dict[str, set[str]]:
        """Source dataset -> the value channels (``train/acc``, ``x-valid/loss``, ...) needed."""
        kinds = [kind for kind, wanted in (("acc", self.accuracy), ("loss", self.loss)) if wanted]
        needed: dict[str, set[str]] = {self.search: set(), self.test: set()}
        needed[self.search] |= {f"train/{kind}" for kind in kinds} | {"train/seconds"}
        if self.val_set is not None:
            needed[self.search] |= {f"{self.val_set}/{kind}" for kind in kinds} | {f"{self.val_set}/seconds"}
        needed[self.test] |= {f"{self.test_set}/{kind}" for kind in kinds}
        return needed


def _spec(
    name: str, runs: tuple[str, str], sets: tuple[str, str], classes: int, resolution: int, **texts: str
) -> TableSpec:
    """A NAS-Bench-201 table: (search run, test run) datasets, (val set, test set)."""
    model = {"width": 16, "cells_per_stage": 5, "input_channels": 3, "resolution": resolution}
    described = {"name": name, "classes": classes, **texts}
    return TableSpec(name, runs[0], sets[0], runs[1], sets[1], described, {**model, "num_classes": classes})


def nb201_specs() -> dict[str, TableSpec]:
    """NAS-Bench-201's tables (also NATS-Bench's topology space): dataset name -> spec."""
    specs = (
        _spec(
            "cifar10-valid", ("cifar10-valid", "cifar10-valid"), ("x-valid", "ori-test"), 10, 32,
            train="cifar10-valid: 25k of the CIFAR-10 training images",
            val="x-valid: the other 25k training images",
            test="ori-test: the 10k CIFAR-10 test images",
        ),
        _spec(
            "cifar10", ("cifar10-valid", "cifar10"), ("x-valid", "ori-test"), 10, 32,
            train="cifar10-valid run (25k training images): the run the search signal comes from",
            val="cifar10-valid / x-valid: trained on 25k of the training images, accuracy on the other "
            "25k (NAS-Bench-201's search signal)",
            test="cifar10 / ori-test: trained on all 50k training images, accuracy on the 10k test "
            "images; the run with the same seed, NaN where the seed has none",
        ),
        _spec(
            "cifar100", ("cifar100", "cifar100"), ("x-valid", "x-test"), 100, 32,
            val="cifar100 / x-valid: one 5k half of the test images",
            test="cifar100 / x-test: the other 5k half",
        ),
        _spec(
            "ImageNet16-120", ("ImageNet16-120", "ImageNet16-120"), ("x-valid", "x-test"), 120, 16,
            val="ImageNet16-120 / x-valid: one 3k half of the test images",
            test="ImageNet16-120 / x-test: the other 3k half",
        ),
    )  # fmt: skip
    return {spec.name: spec for spec in specs}


def select_specs(
    specs: dict[str, TableSpec], datasets: Iterable[str] | None, benchmark: str
) -> list[TableSpec]:
    """The specs named by ``datasets`` (all when None); unknown names: :class:`ConfigError`."""
    if datasets is None:
        return list(specs.values())
    chosen = list(dict.fromkeys(datasets))
    unknown = [name for name in chosen if name not in specs]
    if unknown:
        raise ConfigError(f"{benchmark} has no dataset {', '.join(unknown)} (known: {', '.join(specs)})")
    return [specs[name] for name in chosen]


def normalise_hps(hps: Iterable[str] | None) -> set[str] | None:
    """Training-setting names as the files key them ('less' -> '12', 'full' -> '200')."""
    return None if hps is None else {HP_ALIASES.get(str(hp), str(hp)) for hp in hps}


def _epochs_of(hp: str, record: dict[str, Any]) -> int:
    if hp.isdigit() and int(hp) > 0:
        return int(hp)
    epochs = record.get("epochs")
    if isinstance(epochs, int) and epochs > 0:
        return epochs
    raise TableError(f"cannot tell how many epochs training setting {hp!r} has")


def _number(value: Any) -> float:
    if value is None:
        return float("nan")
    return float(value)


class _Grid:
    """Values of one (source dataset, training setting) as they stream in.

    Kept per (channel, seed) as float32 [rows, epochs], allocated when the first value
    arrives (a new seed costs no copy), and stacked into [rows, seeds, epochs] once, when
    the tables are made.
    """

    def __init__(self, rows: int, epochs: int, channels: set[str]) -> None:
        self.rows, self.epochs, self.channels = rows, epochs, channels
        self._pieces: dict[str, dict[int, np.ndarray]] = {}
        self._stacked: dict[str, np.ndarray | None] = {}
        self._done: dict[int, np.ndarray] = {}
        self.params_m = np.full(rows, np.nan)
        self.flops_m = np.full(rows, np.nan)
        self.latency_sum = np.zeros(rows)
        self.latency_count = np.zeros(rows, dtype=np.int64)
        self.arch_config: dict[str, Any] | None = None

    @property
    def seeds(self) -> list[int]:
        """The seeds read so far, ascending."""
        return sorted(self._done)

    def mark_done(self, row: int, seed: int) -> None:
        done = self._done.get(seed)
        if done is None:
            done = self._done[seed] = np.zeros(self.rows, dtype=bool)
        done[row] = True

    def put(self, channel: str, row: int, seed: int, series: list[float]) -> None:
        if channel not in self.channels:
            return
        pieces = self._pieces.setdefault(channel, {})
        piece = pieces.get(seed)
        if piece is None:
            piece = pieces[seed] = np.full((self.rows, self.epochs), np.nan, dtype=np.float32)
        piece[row, :] = series

    def _stack(self, channel: str) -> np.ndarray | None:
        """[rows, seeds, epochs] in :attr:`seeds` order, built once (the pieces are freed)."""
        if channel in self._stacked:
            return self._stacked[channel]
        pieces = self._pieces.pop(channel, {})
        seeds = self.seeds
        stacked: np.ndarray | None = None
        if pieces:
            stacked = np.empty((self.rows, len(seeds), self.epochs), dtype=np.float32)
            for position, seed in enumerate(seeds):
                piece = pieces.pop(seed, None)
                stacked[:, position, :] = np.nan if piece is None else piece
                del piece
            if np.isnan(stacked).all():
                stacked = None
        self._stacked[channel] = stacked
        return stacked

    def aligned(self, channel: str, seeds: list[int]) -> np.ndarray | None:
        """The channel with columns in ``seeds`` order (the stacked array when it already is)."""
        stacked = self._stack(channel)
        own = self.seeds
        if stacked is None or seeds == own:
            return stacked
        out = np.full((self.rows, len(seeds), self.epochs), np.nan, dtype=np.float32)
        for position, seed in enumerate(seeds):
            if seed in self._done:
                out[:, position, :] = stacked[:, own.index(seed), :]
        return out

    def aligned_done(self, seeds: list[int]) -> np.ndarray:
        out = np.zeros((self.rows, len(seeds)), dtype=bool)
        for position, seed in enumerate(seeds):
            if seed in self._done:
                out[:, position] = self._done[seed]
        return out


@dataclass
class Nb201Collector:
    """Turns NAS-Bench-201-layout architecture states (also NATS-Bench's topology space
    and NAS-Bench-360's) into per-(dataset, setting) arrays in this space's order."""

    space: CellSpace
    specs: list[TableSpec]
    hps: set[str] | None
    source: str
    grids: dict[tuple[str, str], _Grid] = field(default_factory=dict)
    own_index: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.own_index = np.full(self.space.size, -1, dtype=np.int64)
        self._needed: dict[str, set[str]] = {}
        for spec in self.specs:
            for dataset, channels in spec.channels().items():
                self._needed.setdefault(dataset, set()).update(channels)

    def _size_space(self, arch: str) -> TableError:
        return TableError(
            f"{self.source}: is NATS-Bench's size space (sss, architectures like {arch!r}); only the "
            "topology space (tss) can be imported yet: the size space needs a channel-count space"
        )

    @staticmethod
    def is_state(value: Any) -> bool:
        """Whether ``value`` is an architecture state (an ``ArchResults`` state dict)."""
        return isinstance(value, dict) and "all_results" in value and "arch_str" in value

    def consume(self, state: dict[str, Any], key: Any) -> None:
        """Record one architecture state stored under training-setting ``key``."""
        if not isinstance(key, str):
            raise TableError(f"{self.source}: an architecture record is not stored under a training setting")
        hp = HP_ALIASES.get(key, key)
        arch_str = state.get("arch_str")
        if isinstance(arch_str, str) and _SIZE_SPACE.fullmatch(arch_str):
            raise self._size_space(arch_str)
        try:
            row = self.space.index(arch_str)
        except ArchitectureError as exc:
            raise TableError(f"{self.source}: record of architecture {arch_str!r}: {exc}") from None
        own = state.get("arch_index")
        if isinstance(own, (int, np.integer)) and not isinstance(own, bool):
            if self.own_index[row] not in (-1, int(own)):
                raise TableError(f"{self.source}: {arch_str} is stored under two indices")
            self.own_index[row] = int(own)
        if self.hps is not None and hp not in self.hps:
            return
        runs = state.get("all_results")
        if not isinstance(runs, dict):
            raise TableError(f"{self.source}: record of {arch_str} has no run results")
        for run_key, record in runs.items():
            if not (isinstance(run_key, tuple) and len(run_key) == 2 and isinstance(record, dict)):
                raise TableError(f"{self.source}: record of {arch_str} has a malformed run {run_key!r}")
            dataset, seed = run_key
            channels = self._needed.get(dataset)
            if channels is None:
                continue
            try:
                self._record(dataset, int(seed), hp, row, record, channels)
            except (TypeError, ValueError, IndexError, AttributeError) as exc:
                raise TableError(
                    f"{self.source}: run {dataset}/{seed} of {arch_str} (setting {hp}) is malformed: {exc}"
                ) from None

    def _record(
        self, dataset: str, seed: int, hp: str, row: int, record: dict[str, Any], channels: set[str]
    ) -> None:
        grid = self.grids.get((dataset, hp))
        if grid is None:
            grid = self.grids[(dataset, hp)] = _Grid(self.space.size, _epochs_of(hp, record), channels)
        epochs = grid.epochs
        grid.mark_done(row, seed)
        if grid.arch_config is None and isinstance(record.get("arch_config"), dict):
            grid.arch_config = record["arch_config"]
        for field_name, channel in (
            ("train_acc1es", "train/acc"),
            ("train_losses", "train/loss"),
            ("train_times", "train/seconds"),
        ):
            values = record.get(field_name)
            if not values or channel not in channels:
                continue
            series = [float("nan")] * epochs
            items = values.items() if isinstance(values, dict) else enumerate(values)
            for epoch, value in items:
                if not 0 <= int(epoch) < epochs:
                    raise IndexError(f"{field_name} has epoch {epoch}, the setting has {epochs}")
                series[int(epoch)] = _number(value)
            grid.put(channel, row, seed, series)
        for field_name, kind in (("eval_acc1es", "acc"), ("eval_losses", "loss"), ("eval_times", "seconds")):
            values = record.get(field_name)
            if not values:
                continue
            by_set: dict[str, list[float]] = {}
            for key, value in values.items():
                name, _, epoch_text = key.rpartition("@")
                channel = f"{name}/{kind}"
                if channel not in channels:
                    continue
                epoch = int(epoch_text)
                if not 0 <= epoch < epochs:
                    raise IndexError(f"{field_name} has {key!r}, the setting has {epochs} epochs")
                series = by_set.get(channel)
                if series is None:
                    series = by_set[channel] = [float("nan")] * epochs
                series[epoch] = _number(value)
            for channel, series in by_set.items():
                grid.put(channel, row, seed, series)
        if record.get("params") is not None:
            grid.params_m[row] = _number(record["params"])
        if record.get("flop") is not None:
            grid.flops_m[row] = _number(record["flop"])
        latency = [_number(value) for value in record.get("latency") or ()]
        latency = [value for value in latency if value > 0]
        if latency:
            grid.latency_sum[row] += sum(latency) / len(latency)
            grid.latency_count[row] += 1

    # ------------------------------------------------------------------ results
    def source_index(self, meta_archs: Any) -> np.ndarray:
        """The benchmark's index of every row, from its ``meta_archs`` list (checked
        against the indices the records carry)."""
        if isinstance(meta_archs, (list, tuple)) and meta_archs and isinstance(meta_archs[0], str):
            if _SIZE_SPACE.fullmatch(meta_archs[0]):
                raise self._size_space(meta_archs[0])
        if not isinstance(meta_archs, (list, tuple)) or len(meta_archs) != self.space.size:
            got = len(meta_archs) if isinstance(meta_archs, (list, tuple)) else type(meta_archs).__name__
            raise TableError(
                f"{self.source}: meta_archs must list all {self.space.size} architectures, got {got}"
            )
        out = np.full(self.space.size, -1, dtype=np.int64)
        for position, text in enumerate(meta_archs):
            try:
                row = self.space.index(text)
            except ArchitectureError as exc:
                raise TableError(f"{self.source}: meta_archs[{position}]: {exc}") from None
            if out[row] != -1:
                raise TableError(f"{self.source}: meta_archs lists {text} twice")
            out[row] = position
        mismatch = np.flatnonzero((self.own_index >= 0) & (self.own_index != out))
        if mismatch.size:
            row = int(mismatch[0])
            raise TableError(
                f"{self.source}: {self.space.from_index(row)} is record {self.own_index[row]} "
                f"but meta_archs[{out[row]}]"
            )
        return out

    def tables(self, describe: Describe) -> list[ImportedBenchmark]:
        """One :class:`ImportedBenchmark` per spec and setting the runs cover."""
        hps = sorted(
            {hp for _, hp in self.grids}, key=lambda hp: (not hp.isdigit(), int(hp) if hp.isdigit() else 0)
        )
        tables = (self._table(spec, hp, describe) for spec in self.specs for hp in hps)
        return [table for table in tables if table is not None]

    def _table(self, spec: TableSpec, hp: str, describe: Describe) -> ImportedBenchmark | None:
        search, test = self.grids.get((spec.search, hp)), self.grids.get((spec.test, hp))
        if search is None or test is None:
            return None
        seeds = sorted(set(search.seeds) | set(test.seeds))
        plan = [(f"train_{kind}", search, f"train/{kind}") for kind in ("acc", "loss", "seconds")]
        if spec.val_set is not None:
            plan += [(f"val_{kind}", search, f"{spec.val_set}/{kind}") for kind in ("acc", "loss")]
            plan.append(("eval_seconds", search, f"{spec.val_set}/seconds"))
        plan += [(f"test_{kind}", test, f"{spec.test_set}/{kind}") for kind in ("acc", "loss")]
        metrics = {
            name: values
            for name, grid, channel in plan
            if (values := grid.aligned(channel, seeds)) is not None
        }
        if not metrics:
            return None
        protocol = describe.protocol(spec, hp, seeds)
        devices: dict[str, tuple[dict[str, Any], dict[str, np.ndarray]]] = {}
        if describe.device is not None and search.latency_count.any():
            count = search.latency_count
            latency_ms = np.where(count > 0, search.latency_sum / np.maximum(count, 1) * 1000.0, np.nan)
            name = f"latency_ms_b{int(protocol.get('batch_size', 256))}"
            devices[describe.device] = (dict(describe.device_description), {name: latency_ms})
        params, flops = _costs(search)
        return ImportedBenchmark(
            space=self.space,
            dataset=dict(spec.dataset),
            protocol=protocol,
            model=_model_of(spec, search),
            source=describe.source(spec, hp),
            epochs=list(range(1, search.epochs + 1)),
            seeds=seeds,
            seed_axis={"kind": "runs"},
            metrics=metrics,
            status=np.where(search.aligned_done(seeds), STATUS_DONE, STATUS_PENDING).astype(np.int8),
            params=params,
            flops=flops,
            source_index=describe.source_index,
            source_order=None if describe.source_index is None else "nb201",
            devices=devices,
        )


@dataclass(frozen=True)
class Describe:
    """How a reader describes its tables: the benchmark's own index per row (order
    "nb201"), provenance and protocol per (spec, setting), the latency's device."""

    source_index: np.ndarray | None
    source: Callable[[TableSpec, str], dict[str, Any]]
    protocol: Callable[[TableSpec, str, list[int]], dict[str, Any]]
    device: str | None = None
    device_description: dict[str, Any] = field(default_factory=dict)


def _model_of(spec: TableSpec, grid: _Grid) -> dict[str, Any]:
    """The spec's network skeleton, with width, cells and outputs as the runs record them."""
    model = dict(spec.model)
    config = grid.arch_config or {}
    for ours, theirs in (
        ("width", "channel"),
        ("cells_per_stage", "num_cells"),
        ("num_classes", "class_num"),
    ):
        value = config.get(theirs)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            model[ours] = value
    return model


def _costs(grid: _Grid) -> tuple[np.ndarray | None, np.ndarray | None]:
    """int64 parameters and MACs per row from the file, or (None, None) when the file
    lacks some architecture: the writer then counts every one with this package's
    builder, whose counting matches NAS-Bench-201's."""
    if np.isnan(grid.params_m).any() or np.isnan(grid.flops_m).any():
        return None, None
    return np.rint(grid.params_m * 1e6).astype(np.int64), np.rint(grid.flops_m * 1e6).astype(np.int64)


def read_nb201(
    path: str | os.PathLike[str],
    *,
    datasets: Iterable[str] | None = None,
    hps: Iterable[str] | None = None,
    progress: bool = False,
) -> list[ImportedBenchmark]:
    """Read NAS-Bench-201's ``.pth`` (v1.0 or v1.1) into one :class:`ImportedBenchmark`
    per (dataset, training setting) it holds.

    ``datasets``: some of :data:`NB201_DATASETS` (default all); ``hps``: some of '12',
    '200' (or 'less', 'full'; default all). The file is streamed (two passes, one
    architecture in memory at a time) and never executed.
    """
    file = Path(path)
    source = str(file)
    if not file.is_file():
        raise TableError(f"{source}: no such file")
    specs = select_specs(nb201_specs(), datasets, "NAS-Bench-201")
    collector = Nb201Collector(CellSpace(), specs, normalise_hps(hps), source)
    container: list[str] = ["torch legacy"]
    top, _ = stream_records(
        lambda: torch_object_pickle(file, source, container),
        source,
        is_record=Nb201Collector.is_state,
        consume=collector.consume,
        allowed=TORCH_GLOBALS,
        progress=progress,
    )
    if not isinstance(top, dict) or "arch2infos" not in top or "meta_archs" not in top:
        raise TableError(f"{source}: not a NAS-Bench-201 file (no meta_archs and arch2infos)")
    index = collector.source_index(top["meta_archs"])
    digest = file_sha256(file)

    def provenance(spec: TableSpec, hp: str) -> dict[str, Any]:
        return {
            "format": "nb201-pth",
            "benchmark": "NAS-Bench-201",
            "container": container[0],
            "file": file.name,
            "sha256": digest,
            "setting": f"hp {hp} ('{'less' if hp == '12' else 'full' if hp == '200' else hp}')",
            "train": spec.search,
            "val": None if spec.val_set is None else f"{spec.search}/{spec.val_set}",
            "test": f"{spec.test}/{spec.test_set}",
            "citation": NB201_CITATION,
            "licence": "MIT",
            "url": NB201_URL,
        }

    def protocol(spec: TableSpec, hp: str, seeds: list[int]) -> dict[str, Any]:
        return nb201_protocol("NAS-Bench-201", hp, seeds)

    return collector.tables(Describe(index, provenance, protocol, "nb201-gpu", NB201_DEVICE))


#: The device NAS-Bench-201's ``latency`` field was measured on.
NB201_DEVICE: dict[str, Any] = {
    "name": "NAS-Bench-201's GPU",
    "batch_size": 256,
    "source": "the benchmark's 'latency' field: seconds per batch of 256 images, mean over its seeds",
}


def nb201_protocol(benchmark: str, hp: str, seeds: list[int]) -> dict[str, Any]:
    """The training protocol of NAS-Bench-201's setting ``hp`` (also NATS-Bench tss)."""
    epochs = int(hp) if hp.isdigit() else hp
    return {"name": f"{benchmark} hp {hp}", "hp": hp, "epochs": epochs, **NB201_TRAINING, "seeds": seeds}

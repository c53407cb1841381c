"""Zero-cost proxies as a predictor, and scoring a whole table with them.

The proxies themselves (what each computes, after which paper) live in
:mod:`nasbench.surrogates.proxies`. This module scores architectures with them:
:func:`score_architectures` builds every network with a protocol's macro skeleton and
scores it on one seeded batch of the protocol's data, in one torch thread per process and
optionally in worker processes (the scores do not depend on how many), sharing one
forward pass among the proxies of a network; :func:`score_table` scores every class of a
table and stores the scores beside it (the file format is the library's:
:mod:`nasbench.prediction.proxy_scores`); :class:`ZeroCostProxy` is one proxy as a
registered surrogate (``zero-cost``).

Scores are per isomorphism class: :func:`score_architectures` scores one member per class
(the smallest index among those asked), so ``params``/``flops`` here are the
representative's; the table's ``cost/`` arrays hold every member's own cost. A proxy
whose value is not finite is recorded as NaN; the caller decides how to rank it.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import math
import multiprocessing
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from nasbench.surrogates.proxies import (
    DEFAULT_PROXIES,
    PROXIES,
    check_proxy_names,
    run_proxy,
    shared_computation,
)

from nasbench.core.errors import ConfigError, TableError
from nasbench.core.space import ArchLike, CellSpace, get_space
from nasbench.core.table import Table, open_table
from nasbench.core.validation import check_choice, check_int, owner_label
from nasbench.nets.models import MacroConfig, build_model
from nasbench.nets.train import Protocol, get_protocol
from nasbench.prediction import Surrogate, write_proxy_scores

__all__ = [
    "DEFAULT_PROXIES",
    "PROXIES",
    "ZeroCostProxy",
    "proxy_batch",
    "score_architectures",
    "score_table",
]


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def proxy_batch(data: Any, batch_size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets): ``batch_size`` training images drawn without replacement with ``seed``."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 2:
        raise ConfigError(f"batch_size must be an integer >= 2, got {batch_size!r}")
    count = int(data.train_x.shape[0])
    if batch_size > count:
        raise ConfigError(f"batch_size {batch_size} exceeds the {count} training images")
    rows = np.random.default_rng(seed).choice(count, size=batch_size, replace=False)
    index = torch.from_numpy(np.asarray(rows, dtype=np.int64))
    inputs = data.train_x[index].to(torch.float32).contiguous()
    targets = data.train_y[index].to(torch.int64).contiguous()
    return inputs, targets


def _representatives(space: CellSpace, indices: np.ndarray) -> np.ndarray:
    """For every index, the smallest index among ``indices`` of its isomorphism class."""
    keys = [space.canonical_key(int(i)) for i in indices]
    first: dict[str, int] = {}
    for key, index in sorted(zip(keys, indices.tolist(), strict=True), key=lambda pair: pair[1]):
        first.setdefault(key, index)
    return np.asarray([first[key] for key in keys], dtype=np.int64)


def _score_chunk(
    space: dict[str, Any],
    config: dict[str, int],
    indices: list[int],
    names: list[str],
    inputs: np.ndarray,
    targets: np.ndarray,
    seed: int,
) -> tuple[np.ndarray, dict[str, float]]:
    """float64 [len(indices), len(names)] and the CPU seconds spent per proxy (and build).

    Plain arguments only, so a worker process can run it; one thread, deterministic.
    """
    cell_space = CellSpace.from_dict(space)
    macro = MacroConfig.from_dict(config)
    x = torch.from_numpy(inputs)
    y = torch.from_numpy(targets)
    out = np.full((len(indices), len(names)), np.nan, dtype=np.float64)
    spent = dict.fromkeys(["build", *names], 0.0)
    with _one_thread():
        for row, index in enumerate(indices):
            started = time.process_time()
            model = build_model(int(index), macro, cell_space, seed=seed)
            spent["build"] += time.process_time() - started
            with shared_computation():
                for column, name in enumerate(names):
                    started = time.process_time()
                    out[row, column] = run_proxy(name, model, x, y)
                    spent[name] += time.process_time() - started
    return out, spent


def score_architectures(
    indices: Sequence[ArchLike] | np.ndarray,
    protocol: str | Protocol,
    proxies: str | Sequence[str] = DEFAULT_PROXIES,
    batch_size: int = 64,
    seed: int = 0,
    data: Any = None,
    space: CellSpace | str | None = None,
    progress: bool = False,
    workers: int = 1,
    timings: dict[str, float] | None = None,
) -> dict[str, np.ndarray]:
    """Score architectures with zero-cost proxies: name -> float64 [len(indices)].

    Every network is built by :func:`~nasbench.nets.models.build_model` with the protocol's
    macro skeleton and ``seed``; every proxy sees the same batch of ``batch_size``
    training images of the protocol's data (``data``, or ``protocol.load_data()``) drawn
    with ``seed``. Members of one isomorphism class get the score of the smallest index
    among them. Torch runs on one thread per process, so the same arguments give the same
    scores bit for bit, whatever ``workers`` is (worker processes are spawned, so a script
    that asks for more than one needs the ``if __name__ == "__main__":`` guard).
    Non-finite scores are NaN.
    ``timings``, when given, receives the CPU seconds spent in each proxy, summed over the
    architectures (``build``: building the networks).
    """
    cell_space = get_space(space)
    recipe = get_protocol(protocol)
    names = check_proxy_names(proxies)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ConfigError(f"seed must be an integer, got {seed!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers must be a positive integer, got {workers!r}")
    seed = int(seed)
    wanted = np.asarray([cell_space.index(value) for value in indices], dtype=np.int64).reshape(-1)
    representatives = _representatives(cell_space, wanted)
    unique, inverse = np.unique(representatives, return_inverse=True)
    if data is None:
        data = recipe.load_data()
    inputs, targets = proxy_batch(data, batch_size, seed)
    config: MacroConfig = recipe.model_config()
    if tuple(inputs.shape[1:]) != (config.input_channels, config.resolution, config.resolution):
        raise ConfigError(
            f"data images have shape {tuple(inputs.shape[1:])}, the protocol's network takes "
            f"{(config.input_channels, config.resolution, config.resolution)}"
        )
    fixed = (cell_space.to_dict(), config.to_dict())
    batch = (inputs.numpy(), targets.numpy())
    # Several chunks per worker balance the load; a chunk is one task for a process.
    chunk_size = 64 if workers == 1 else max(1, min(32, math.ceil(unique.shape[0] / (4 * workers))))
    chunks = [unique[k : k + chunk_size].tolist() for k in range(0, unique.shape[0], chunk_size)]
    values = np.full((unique.shape[0], len(names)), np.nan, dtype=np.float64)
    spent = dict.fromkeys(["build", *names], 0.0)
    bar: Any = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=unique.shape[0], desc="zero-cost proxies", unit="arch")

    def collect(position: int, result: tuple[np.ndarray, dict[str, float]]) -> None:
        start = position * chunk_size
        values[start : start + result[0].shape[0]] = result[0]
        for key, seconds in result[1].items():
            spent[key] += seconds
        if bar is not None:
            bar.update(result[0].shape[0])

    try:
        if workers == 1 or len(chunks) == 1:
            for position, chunk in enumerate(chunks):
                collect(position, _score_chunk(*fixed, chunk, names, *batch, seed))
        else:
            context = multiprocessing.get_context("spawn")
            with concurrent.futures.ProcessPoolExecutor(
                min(workers, len(chunks)), mp_context=context
            ) as pool:
                futures = {
                    pool.submit(_score_chunk, *fixed, chunk, names, *batch, seed): position
                    for position, chunk in enumerate(chunks)
                }
                for future in concurrent.futures.as_completed(futures):
                    collect(futures[future], future.result())
    finally:
        if bar is not None:
            bar.close()
    if timings is not None:
        timings.update(spent)
    return {name: values[inverse, column] for column, name in enumerate(names)}


def score_table(
    table_path: str | os.PathLike[str] | Table,
    proxies: str | Sequence[str] = DEFAULT_PROXIES,
    batch_size: int = 64,
    seed: int = 0,
    data_dir: str | os.PathLike[str] | None = None,
    progress: bool = False,
    workers: int = 1,
) -> Path:
    """Score every class of a table (a Table or a path) with its own protocol and store the
    scores beside it.

    The protocol, macro skeleton and space are the table's; the data are the protocol's
    (looked up as :func:`nasbench.nets.datasets.load_dataset` does, ``data_dir`` first).
    ``workers`` processes share the classes (the scores do not depend on it). Returns
    the path of the scores file.
    """
    table = table_path if isinstance(table_path, Table) else open_table(table_path)
    try:
        recipe = Protocol.from_dict(table.protocol)
    except (ConfigError, TypeError) as exc:
        raise TableError(f"{table.path}: its protocol cannot be rebuilt ({exc})") from None
    try:
        stored_model = MacroConfig.from_dict(table.model)
    except ConfigError:
        stored_model = None
    if stored_model is not None and stored_model != recipe.model_config():
        raise TableError(f"{table.path}: its model attribute disagrees with its protocol")
    names = check_proxy_names(proxies)
    scores = score_architectures(
        table.unique,
        recipe,
        names,
        batch_size=batch_size,
        seed=seed,
        data=recipe.load_data(data_dir),
        space=table.space,
        progress=progress,
        workers=workers,
    )
    settings = {
        "batch_size": batch_size,
        "seed": seed,
        "proxies": names,
        "dataset": recipe.dataset,
        "batch": "training split, drawn without replacement with the seed",
        "model_seed": seed,
        "threads": 1,
    }
    return write_proxy_scores(table, scores, settings, torch_version=str(torch.__version__))


# --------------------------------------------------------------------------- as a predictor


class ZeroCostProxy(Surrogate):
    """One zero-cost proxy as a predictor: the score of each network at initialisation.

    Nothing is learned, so ``fit`` only records the space (its targets are checked and
    ignored) and ``predict`` scores the architectures asked for, with the protocol's
    macro skeleton and data (one batch of ``batch_size`` training images drawn with
    ``seed``). Scores are on the proxy's own scale: judge them by rank correlation.
    """

    kind = "zero-cost"
    has_std = False

    def __init__(
        self,
        *,
        proxy: str = "synflow",
        protocol: str = "fmnist-cpu",
        batch_size: int = 64,
        data_dir: str | None = None,
        space: CellSpace | str = "nb201",
        seed: int = 0,
    ) -> None:
        super().__init__(space=space, seed=seed)
        self.proxy = proxy
        self.protocol = protocol
        self.batch_size = batch_size
        self.data_dir = data_dir
        check_choice(self, "proxy", proxy, tuple(PROXIES))
        check_int(self, "batch_size", batch_size, low=2, high=65_536)
        try:
            get_protocol(protocol)
        except ConfigError as exc:
            raise ConfigError(f"{owner_label(self)}: protocol: {exc}") from None

    def _fit(self, indices: np.ndarray, y: np.ndarray) -> None:
        self.protocol_ = get_protocol(self.protocol)
        self.data_ = self.protocol_.load_data(self.data_dir)

    def _predict(self, indices: np.ndarray, return_std: bool) -> tuple[np.ndarray, None]:
        scores = score_architectures(
            indices, self.protocol_, [self.proxy], self.batch_size, self.seed, self.data_, self.space_
        )
        return scores[self.proxy], None

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {}, {}

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._fit(np.zeros(0, dtype=np.int64), np.zeros(0))

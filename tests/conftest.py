"""Shared fixtures: small but real tables written through :class:`nasbench.core.table.TableWriter`.

``complete_table``: the whole NAS-Bench-201 space (15,625 rows, 6,466 classes), tiny-preset
costs, seeds [0, 1], 4 epochs; 200 classes measured on both seeds (half of them written
through a non-representative member), one class measured on seed 0 only, one failed run,
every other run pending. ``sampled_table``: 300 sorted random indices of ``nb201-7op``.
Both keep what was written so tests can compare exactly.
"""

from __future__ import annotations

import os

# OpenMP threads (torch, XGBoost, scikit-learn each bundle a runtime) spin while they wait by
# default; on a loaded 2-core machine that made one small XGBoost fit take 35 s instead of
# 0.1 s. Set before any of them is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from nasbench.core.space import CellSpace, get_space
from nasbench.core.table import TableWriter
from nasbench.nets.models import cost_arrays

CREATED = "2024-05-01T12:00:00+00:00"
FAILED_MESSAGE = "diverged: loss is nan at epoch 3"


@dataclass
class TableCase:
    """A table file and everything that was written into it."""

    path: Path
    space: CellSpace
    indices: np.ndarray  # space index of every row
    params: np.ndarray  # aligned with indices
    flops: np.ndarray
    canonical: np.ndarray  # representative of every row, aligned with indices
    seeds: tuple[int, ...]
    num_epochs: int
    # (representative index, seed) -> metric -> float64 [epochs] (float32-exact; NaN unwritten)
    runs: dict[tuple[int, int], dict[str, np.ndarray]] = field(default_factory=dict)
    done: list[int] = field(default_factory=list)  # representatives measured on every seed
    half: int | None = None  # representative measured on the first seed only
    failed: tuple[int, int, str] | None = None  # (representative, seed, message)
    pending: list[int] = field(default_factory=list)  # representatives never written
    member_pair: tuple[int, int] | None = None  # two members of one measured class, costs differ

    def expected(self, rep: int, metric: str, epoch: int, seed: int | None) -> float:
        """The value a query must answer (mean over the seeds measured when seed is None)."""
        if seed is not None:
            return float(self.runs[(rep, seed)][metric][epoch])
        values = [self.runs[(rep, s)][metric][epoch] for s in self.seeds if (rep, s) in self.runs]
        values = [v for v in values if not np.isnan(v)]
        return float(np.sum(np.asarray(values, dtype=np.float64)) / len(values))


def synthetic_run(rng: np.random.Generator, num_epochs: int) -> dict[str, np.ndarray]:
    """Plausible per-epoch values of every epoch metric, float32-exact float64 arrays."""
    out: dict[str, np.ndarray] = {}
    for split in ("train", "val", "test"):
        start = rng.uniform(15.0, 55.0)
        gains = rng.uniform(0.5, 9.0, num_epochs)
        acc = np.minimum(start + np.cumsum(gains), 99.5)
        loss = rng.uniform(0.8, 2.3) * np.cumprod(rng.uniform(0.6, 0.95, num_epochs))
        out[f"{split}_acc"] = acc
        out[f"{split}_loss"] = loss
    out["train_seconds"] = rng.uniform(0.5, 4.0, num_epochs)
    out["eval_seconds"] = rng.uniform(0.1, 1.0, num_epochs)
    return {name: np.asarray(values, dtype=np.float32).astype(np.float64) for name, values in out.items()}


def _pick_member_pair(canonical: np.ndarray, params: np.ndarray, rng: np.random.Generator) -> tuple[int, int]:
    """Two distinct members of one class whose parameter counts differ."""
    order = np.lexsort((params, canonical))
    c, p = canonical[order], params[order]
    same_class = c[1:] == c[:-1]
    differ = p[1:] != p[:-1]
    candidates = np.nonzero(same_class & differ)[0]
    k = int(rng.choice(candidates))
    return int(order[k]), int(order[k + 1])


def build_complete_table(path: Path, seed: int = 20240501, num_measured: int = 200) -> TableCase:
    rng = np.random.default_rng(seed)
    space = CellSpace()
    params, flops = cost_arrays(space, "tiny")
    canonical = space.canonical_indices()
    unique = np.unique(canonical)
    seeds = (0, 1)
    num_epochs = 4
    case = TableCase(
        path=path,
        space=space,
        indices=np.arange(space.size),
        params=params,
        flops=flops,
        canonical=canonical,
        seeds=seeds,
        num_epochs=num_epochs,
    )
    member_a, member_b = _pick_member_pair(canonical, params, rng)
    case.member_pair = (member_a, member_b)
    pair_rep = int(canonical[member_a])

    others = rng.permutation(unique[unique != pair_rep])
    done = [pair_rep, *(int(r) for r in others[: num_measured - 1])]
    half = int(others[num_measured - 1])
    failed_rep = int(others[num_measured])
    case.done, case.half = done, half
    case.failed = (failed_rep, 1, FAILED_MESSAGE)
    case.pending = [int(r) for r in others[num_measured + 1 :]]

    writer = TableWriter.create(
        path,
        space=space,
        model={"preset": "tiny", "width": 4},
        dataset={"name": "synthetic", "splits": {"train": 1000, "val": 200, "test": 200}},
        protocol={"epochs": num_epochs, "seeds": list(seeds), "optimiser": "sgd"},
        seeds=seeds,
        num_epochs=num_epochs,
        params=params,
        flops=flops,
        created=CREATED,
    )
    members_of: dict[int, np.ndarray] = {}
    for k, rep in enumerate(done):
        for s in seeds:
            run = synthetic_run(rng, num_epochs)
            target = rep
            if k % 2 == 1:  # write through another member of the class when it has one
                members = members_of.setdefault(rep, np.nonzero(canonical == rep)[0])
                target = int(members[-1])
            writer.write_run(target, s, run)
            case.runs[(rep, s)] = run
    run = synthetic_run(rng, num_epochs)
    writer.write_run(half, seeds[0], run)
    case.runs[(half, seeds[0])] = run
    partial = synthetic_run(rng, num_epochs)
    partial = {name: values[:2] for name, values in partial.items()}
    writer.write_run(failed_rep, 1, partial, failed=FAILED_MESSAGE)
    case.runs[(failed_rep, 1)] = {
        name: np.concatenate([values, np.full(num_epochs - 2, np.nan)]) for name, values in partial.items()
    }
    writer.close()
    return case


def build_sampled_table(path: Path, seed: int = 7, created: str = CREATED) -> TableCase:
    """300 sorted random indices of nb201-7op, seeds [3, 11], 3 epochs, 20 classes measured,
    one device; deterministic given ``seed`` and ``created``."""
    rng = np.random.default_rng(seed)
    space = get_space("nb201-7op")
    indices = np.sort(rng.choice(space.size, size=300, replace=False)).astype(np.int64)
    params, flops = cost_arrays(space, "tiny", indices)
    seeds = (3, 11)
    num_epochs = 3
    writer = TableWriter.create(
        path,
        space=space,
        model={"preset": "tiny"},
        dataset={"name": "synthetic"},
        protocol={"epochs": num_epochs},
        seeds=seeds,
        num_epochs=num_epochs,
        params=params,
        flops=flops,
        indices=indices,
        created=created,
    )
    # Representatives within the table: the smallest table index of each class.
    first: dict[str, int] = {}
    canonical = np.array([first.setdefault(space.canonical_key(int(i)), int(i)) for i in indices])
    case = TableCase(
        path=path,
        space=space,
        indices=indices,
        params=params,
        flops=flops,
        canonical=canonical,
        seeds=seeds,
        num_epochs=num_epochs,
    )
    reps = np.unique(canonical)
    chosen = rng.choice(reps, size=20, replace=False)
    for rep in chosen:
        for s in seeds:
            run = synthetic_run(rng, num_epochs)
            writer.write_run(int(rep), s, run)
            case.runs[(int(rep), s)] = run
    case.done = [int(r) for r in chosen]
    case.pending = [int(r) for r in reps if r not in set(chosen.tolist())]
    writer.write_device(
        "cpu-1t", {"cpu": "synthetic", "threads": 1}, {"latency_ms_b1": rng.uniform(0.1, 2.0, indices.size)}
    )
    writer.set_attr("fidelity", {"spearman_seed_to_seed": 0.9})
    writer.close()
    return case


@pytest.fixture(scope="session")
def complete_case(tmp_path_factory: pytest.TempPathFactory) -> TableCase:
    return build_complete_table(tmp_path_factory.mktemp("complete") / "nb201-tiny.h5")


@pytest.fixture(scope="session")
def complete_table(complete_case: TableCase):
    from nasbench.core.table import open_table

    return open_table(complete_case.path)


@pytest.fixture(scope="session")
def sampled_case(tmp_path_factory: pytest.TempPathFactory) -> TableCase:
    return build_sampled_table(tmp_path_factory.mktemp("sampled") / "nb201-7op-sample.h5")


@pytest.fixture(scope="session")
def sampled_table(sampled_case: TableCase):
    from nasbench.core.table import open_table

    return open_table(sampled_case.path)


@pytest.fixture(scope="session")
def tablelib() -> SimpleNamespace:
    """The builders and constants above, for tests (conftest is not imported by name)."""
    return SimpleNamespace(
        CREATED=CREATED,
        FAILED_MESSAGE=FAILED_MESSAGE,
        build_sampled_table=build_sampled_table,
        synthetic_run=synthetic_run,
    )

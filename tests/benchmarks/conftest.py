"""Fixtures for the speed benchmarks: a complete NAS-Bench-201-sized table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nasbench.core.space import CellSpace
from nasbench.core.table import EPOCH_METRICS, STATUS_DONE, TableWriter
from nasbench.nets.models import cost_arrays

SEEDS = (0, 1, 2)
EPOCHS = 20


@pytest.fixture(scope="session")
def full_table_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every class of the NB201 space with 3 seeds x 20 epochs of every metric filled
    (seeded synthetic values: speed does not depend on what the numbers are)."""
    space = CellSpace()
    params, flops = cost_arrays(space, "cpu-small")
    path = tmp_path_factory.mktemp("bench") / "full.h5"
    writer = TableWriter.create(
        path,
        space=space,
        model={"preset": "cpu-small"},
        dataset={"name": "synthetic"},
        protocol={"epochs": EPOCHS},
        seeds=SEEDS,
        num_epochs=EPOCHS,
        params=params,
        flops=flops,
        created="2026-01-01T00:00:00+00:00",
    )
    rng = np.random.default_rng(0)
    shape = (space.num_unique, len(SEEDS), EPOCHS)
    for name in EPOCH_METRICS:
        if name.endswith("_acc"):
            values = np.sort(rng.uniform(10, 95, size=shape), axis=2)
        elif name.endswith("_loss"):
            values = np.sort(rng.uniform(0.1, 2.5, size=shape), axis=2)[:, :, ::-1]
        else:
            values = rng.uniform(1, 5, size=shape)
        writer.write_metric_block(name, values, status=np.full(shape[:2], STATUS_DONE, dtype=np.int8))
    writer.write_device(
        "cpu-1t", {"kind": "cpu", "threads": 1}, {"latency_ms_b1": rng.uniform(0.5, 5, size=space.size)}
    )
    writer.close()
    return path

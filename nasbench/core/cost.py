"""What one training run costs, in seconds: the one definition every layer uses.

Two questions have two names:

- **run seconds** — what a search pays for one full training run of an architecture:
  the training seconds of every epoch plus one evaluation at the end. The benchmark's
  clock charges exactly this for a full run from scratch; the demo sizes its budget in
  it and the runner records its mean.
- **generation seconds** — what producing one (architecture, seed) row of a table cost:
  training plus the evaluation after every epoch (the generator evaluates each epoch to
  record learning curves). Fidelity studies and data cards report it.

Both read a table's ``train_seconds`` and ``eval_seconds`` [classes, seeds, epochs]
(an epoch metric missing or not measured counts 0 seconds: an imported table without
training times costs nothing, and only evaluation budgets apply to it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nasbench.core.schema import STATUS_PENDING

__all__ = ["full_run_seconds", "generation_seconds", "mean_run_seconds", "run_seconds"]


def run_seconds(train_seconds: np.ndarray, eval_seconds: np.ndarray) -> np.ndarray:
    """Seconds of full runs from per-epoch seconds [..., epochs]: the sum of training
    seconds plus the last epoch's evaluation. NaN counts as 0."""
    train = np.nan_to_num(np.asarray(train_seconds, dtype=np.float64), nan=0.0)
    final_eval = np.nan_to_num(np.asarray(eval_seconds, dtype=np.float64)[..., -1], nan=0.0)
    return train.sum(axis=-1) + final_eval


def _epoch_seconds(table: Any, name: str) -> np.ndarray:
    if name in table.epoch_metrics:
        return table.raw(name).astype(np.float64)
    rows, seeds = np.shape(table.run_status)
    return np.zeros((rows, seeds, table.num_epochs), dtype=np.float64)


def full_run_seconds(table: Any) -> np.ndarray:
    """float64 [classes, seeds]: run seconds of each recorded run of a table."""
    return run_seconds(_epoch_seconds(table, "train_seconds"), _epoch_seconds(table, "eval_seconds"))


def mean_run_seconds(table: Any) -> float:
    """Mean run seconds over the runs a table has recorded (done or failed)."""
    recorded = np.asarray(table.run_status) != STATUS_PENDING
    return float(np.mean(full_run_seconds(table)[recorded]))


def generation_seconds(table: Any) -> np.ndarray:
    """float64 [classes, seeds]: core-seconds each (class, seed) row cost to generate,
    training plus the evaluation after every epoch."""
    train = np.nansum(_epoch_seconds(table, "train_seconds"), axis=2)
    return train + np.nansum(_epoch_seconds(table, "eval_seconds"), axis=2)

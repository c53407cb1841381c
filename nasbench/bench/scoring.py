"""How a benchmark run is scored: which training runs give the incumbent's test accuracy.

A run of :class:`~nasbench.bench.benchmark.Benchmark` draws one recorded training seed per
class and shows the strategy that seed's validation metrics. Scoring the incumbent by the
mean test accuracy of *all* seeds, the seen one included, rewards a search for selecting
on that seed's noise (validation and test deviations of one training run correlate). The
default, ``holdout``, scores a class by the mean test accuracy of its *other* done seeds,
and the run's best (the reference of its regret) is the best class on those same values.

Modes, as recorded in config.json (``Scoring.mode``):

- ``holdout``: the other seeds of each class (a class whose only done seed is the drawn
  one is scored by that seed, and counted in the text);
- ``all-seeds``: the mean over every recorded seed, the seen one included (the score
  before hold-out scoring existed, kept to measure its bias);
- ``same-seed``: hold-out scoring was asked for but the table has no class with two done
  seeds, so the score is the run the search saw;
- ``source-mean``: an imported table whose one value per architecture is the mean over
  its source's seeds (``seed_axis`` kind ``mean``): nothing to hold out, scored by that mean;
- ``scoring-table``: another table's test accuracy (search on 12-epoch runs, report
  200-epoch ones: :meth:`~nasbench.bench.benchmark.Benchmark.score_by`);
- ``surrogate-mean``: a surrogate model's noise-free predicted test accuracy.

In the table modes an incumbent trained to fewer epochs than a full run is scored at the
test accuracy of the epoch its class has been trained to in the run (the scores are
curves, one value per epoch).

Also here: the figures config.json records per table (:func:`seed_sd_pp`,
:func:`hypervolume_reference`, :func:`non_degenerate`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from nasbench.core.space import CellSpace
from nasbench.core.table import STATUS_DONE, STATUS_PENDING, Table
from nasbench.core.validation import check_choice

__all__ = [
    "SCORING_CHOICES",
    "Scoring",
    "check_scoring",
    "done_seed_mean",
    "drawn_columns",
    "hypervolume_reference",
    "non_degenerate",
    "score_curves",
    "scoring_table",
    "seed_sd_pp",
    "surrogate_scoring",
]

#: What a caller may ask for; the other modes follow from the source (see the module doc).
SCORING_CHOICES: tuple[str, ...] = ("holdout", "all-seeds")

_PARTIAL = " An incumbent trained to fewer epochs is scored at the test accuracy of that epoch."


@dataclass(frozen=True)
class Scoring:
    """How a run's incumbent is scored: ``mode`` (see the module doc) and ``text``, one
    or two sentences a reader of the results understands."""

    mode: str
    text: str

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form, as config.json records it."""
        return {"mode": self.mode, "text": self.text}


def check_scoring(owner: str, scoring: object) -> str:
    """``scoring`` if it is one of :data:`SCORING_CHOICES`, else one ConfigError."""
    return str(check_choice(owner, "scoring", scoring, SCORING_CHOICES))


def drawn_columns(status: np.ndarray, seed: int) -> np.ndarray:
    """int [U]: the seed column each class trains with in the run ``seed``: a random
    recorded one (done or failed), drawn reproducibly from ``seed``."""
    num_classes, num_seeds = status.shape
    rng = np.random.default_rng(seed)
    recorded = status != STATUS_PENDING
    draw = rng.random((num_classes, num_seeds)) + np.where(recorded, 0.0, -2.0)
    return np.argmax(draw, axis=1)


def _seed_mean(values: np.ndarray) -> np.ndarray:
    """float64 [U, E]: the mean over seeds of [U, S, E] values, NaN ignored (as
    :meth:`~nasbench.core.table.Table.class_metric` averages)."""
    counts = np.sum(~np.isnan(values), axis=1)
    sums = np.nansum(values, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def _done_final(table: Table) -> np.ndarray:
    """bool [U, S]: runs marked done with a finite final test accuracy."""
    final = table.raw("test_acc")[:, :, -1]
    return (table.run_status == STATUS_DONE) & np.isfinite(final)


def done_seed_mean(table: Table) -> np.ndarray:
    """float64 [U]: each class's final test accuracy, mean over its done runs (NaN when
    none is done: a diverged run's stored values are no accuracy)."""
    done = _done_final(table)
    final = np.where(done, table.raw("test_acc")[:, :, -1].astype(np.float64), 0.0)
    counts = np.sum(done, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, np.sum(final, axis=1) / np.maximum(counts, 1), np.nan)


def score_curves(table: Table, column: np.ndarray, scoring: str) -> tuple[np.ndarray, Scoring]:
    """(float64 [U, E] score of every class after every epoch, how it was scored) for the
    run whose class ``c`` trains with seed column ``column[c]``, under ``scoring``."""
    test = table.raw("test_acc").astype(np.float64)
    num_classes, num_seeds, _ = test.shape
    done = _done_final(table)
    with_holdout = np.sum(done, axis=1) >= 2
    if scoring == "all-seeds":
        text = (
            "Scored by the mean test accuracy over all recorded seeds, including the seed the "
            "search saw (biased towards classes whose seen seed was lucky; kept to measure that "
            "bias and to reproduce earlier results)."
        )
        return _seed_mean(test), Scoring("all-seeds", text + _PARTIAL)
    if not with_holdout.any() and table.seed_axis.get("kind") == "mean":
        text = (
            "The table holds one value per architecture, the mean over its source's training "
            "seeds, so no seed can be held out: runs are scored by that mean test accuracy. "
            "Whether the search signal and the score share training runs depends on the source "
            "(its data card says how val and test were measured)."
        )
        return _seed_mean(test), Scoring("source-mean", text + _PARTIAL)
    if not with_holdout.any():
        why = (
            "The table records one training seed"
            if num_seeds == 1
            else "No class of the table has two done training seeds"
        )
        text = (
            f"{why}, so hold-out scoring is impossible: runs are scored by the test accuracy of "
            "the same training run the search saw, which keeps its selection bias."
        )
        return _seed_mean(test), Scoring("same-seed", text + _PARTIAL)
    rows = np.arange(num_classes)
    other = done.copy()
    other[rows, column] = False
    finite = np.isfinite(test)
    usable = other[:, :, None] & finite
    counts = np.sum(usable, axis=1)
    sums = np.sum(np.where(usable, test, 0.0), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        holdout = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    # A class without another done seed is scored by the seed the run drew, if that is done.
    own = np.where(done[rows, column][:, None], test[rows, column, :], np.nan)
    curves = np.where(np.any(other, axis=1)[:, None], holdout, own)
    single = int(np.sum(~with_holdout & np.any(done, axis=1)))
    text = (
        "Each run's search sees one training seed per class; the incumbent is scored by the "
        "mean test accuracy of the class's other done seeds, and the run's best (for regret) "
        "is the best class on the same hold-out values."
    )
    if single:
        text += (
            f" {single:,} of {num_classes:,} classes have one done seed and are scored by it "
            "when the run drew it."
        )
    return curves, Scoring("holdout", text + _PARTIAL)


def scoring_table(path: str) -> Scoring:
    """The scoring of a run scored by the table at ``path`` (search and score on different runs)."""
    return Scoring(
        "scoring-table",
        f"Scored by the final test accuracy of another table ({path}), mean over its seeds: the "
        "search and the score come from different training runs.",
    )


def surrogate_scoring() -> Scoring:
    """The scoring of a run against a surrogate model (no training seeds to hold out)."""
    return Scoring(
        "surrogate-mean",
        "Scored by the surrogate model's noise-free predicted final test accuracy (no training "
        "seed to hold out; a partly trained incumbent is credited with the full-training prediction).",
    )


def seed_sd_pp(table: Table) -> float | None:
    """The table's seed noise of one run's final test accuracy, in percentage points: the
    square root of the mean, over classes with at least two done seeds, of the sample
    variance across those seeds; None with fewer than two seeds."""
    done = _done_final(table)
    keep = np.sum(done, axis=1) >= 2
    if table.run_status.shape[1] < 2 or not keep.any():
        return None
    final = np.where(done, table.raw("test_acc")[:, :, -1].astype(np.float64), np.nan)[keep]
    variance = np.nanvar(final, axis=1, ddof=1)
    return float(math.sqrt(float(np.mean(variance))))


def non_degenerate(space: CellSpace) -> np.ndarray:
    """bool [space.size]: whether a cell's output depends on its input, i.e. some path
    from the input node to the output node has no zero op (a degenerate cell computes a
    constant, and its network sits at chance accuracy)."""
    ops = space.ops_array()
    if space.zero_op is None:
        return np.ones(ops.shape[0], dtype=bool)
    live = ops != space.ops.index(space.zero_op)
    reached = [np.ones(ops.shape[0], dtype=bool)]
    for k, (source, target) in enumerate(space.edges):
        if len(reached) <= target:
            reached.append(np.zeros(ops.shape[0], dtype=bool))
        reached[target] |= reached[source] & live[:, k]
    return reached[-1]


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def hypervolume_reference(
    space: CellSpace, test_acc: np.ndarray, properties: Mapping[str, np.ndarray]
) -> dict[str, float | None]:
    """A hypervolume reference point fixed by the table: the lowest final test accuracy
    (``test_acc``, float [space.size], seed mean) and the largest value of every free
    property, both over non-degenerate cells (:func:`non_degenerate`), so a chance-level
    cell never sets the floor. None where no cell has a value."""
    keep = non_degenerate(space)
    with np.errstate(invalid="ignore"):
        accuracy = np.asarray(test_acc, dtype=np.float64)[keep]
        out: dict[str, float | None] = {
            "test_acc": _finite_or_none(np.nanmin(accuracy)) if np.isfinite(accuracy).any() else None
        }
        for name in sorted(properties):
            values = np.asarray(properties[name], dtype=np.float64)[keep]
            out[name] = _finite_or_none(np.nanmax(values)) if np.isfinite(values).any() else None
    return out

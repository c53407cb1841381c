"""The best classes of a table: :func:`top_classes`, behind :meth:`Table.top
<nasbench.core.table.Table.top>` and ``nasbench top``.

A leaderboard says how well a strategy searched; this says what there was to find. One
place ranks, so the method, the command and the reports agree on order, ties and units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from nasbench.core.errors import ConfigError
from nasbench.core.validation import check_int

if TYPE_CHECKING:
    from nasbench.core.table import Table

__all__ = ["LOWER_IS_BETTER_SUFFIXES", "RankedClass", "lower_is_better", "metric_unit", "top_classes"]

#: Metric name endings ranked ascending by default: losses, and seconds (cheaper is better).
LOWER_IS_BETTER_SUFFIXES = ("_loss", "_seconds")


@dataclass(frozen=True)
class RankedClass:
    """One canonical class of a table at its place in a ranking."""

    #: 1-based place in the ranking.
    rank: int
    #: Space index of the class representative (the index ``nasbench query`` accepts).
    index: int
    #: The representative in the NAS-Bench-201 string form.
    arch: str
    #: The metric at the ranked epoch, mean over the seeds measured.
    value: float
    #: Architectures of the space in this class (1 in a table with values per architecture).
    members: int
    #: Parameters and FLOPs of the representative, in millions.
    params_m: float
    flops_m: float
    #: The table's seeds and the metric of each (NaN where that run is missing or failed).
    seeds: tuple[int, ...]
    seed_values: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: per-seed values keyed by seed, NaN as None (valid JSON)."""
        return {
            "rank": self.rank,
            "index": self.index,
            "arch": self.arch,
            "value": _finite(self.value),
            "members": self.members,
            "params_m": _finite(self.params_m),
            "flops_m": _finite(self.flops_m),
            "seed_values": {str(s): _finite(v) for s, v in zip(self.seeds, self.seed_values, strict=True)},
        }


def lower_is_better(metric: str) -> bool:
    """Whether ``metric`` ranks ascending by default (see :data:`LOWER_IS_BETTER_SUFFIXES`)."""
    return metric.endswith(LOWER_IS_BETTER_SUFFIXES)


def metric_unit(metric: str) -> str:
    """The unit a metric's values are stored in: ``%`` for accuracies (the schema stores
    percent), ``s`` for seconds, ``""`` otherwise (losses)."""
    if metric.endswith("_acc"):
        return "%"
    if metric.endswith("_seconds"):
        return "s"
    return ""


def top_classes(
    table: Table,
    k: int = 10,
    metric: str = "test_acc",
    *,
    epoch: int = -1,
    higher_is_better: bool | None = None,
) -> list[RankedClass]:
    """The ``k`` best canonical classes of ``table`` by the seed mean of the epoch metric
    ``metric`` at ``epoch`` (a 0-based position, -1 the last), best first.

    Classes with no measured value (pending or failed on every seed) are left out, so
    fewer than ``k`` come back when fewer are measured. Equal values rank by the smaller
    space index of their representative, so the order never depends on storage order.
    Names ending in ``_loss`` or ``_seconds`` rank ascending, others descending, unless
    ``higher_is_better`` says otherwise. Raises :class:`ConfigError` for a ``k`` that is
    not an integer >= 1, :class:`MetricError` for a metric or epoch the table lacks.
    """
    k = check_int("Table.top", "k", k, low=1)
    if higher_is_better is not None and not isinstance(higher_is_better, (bool, np.bool_)):
        raise ConfigError(
            f"Table.top: higher_is_better must be True, False or None, got {higher_is_better!r}"
        )
    values = table.class_metric(metric, epoch)  # validates the metric and the epoch
    higher = not lower_is_better(metric) if higher_is_better is None else bool(higher_is_better)
    measured = np.flatnonzero(~np.isnan(values))
    representatives = table.unique[measured]
    keys = -values[measured] if higher else values[measured]
    chosen = measured[np.lexsort((representatives, keys))[:k]]
    if not chosen.size:
        return []
    members = np.bincount(table.class_row, minlength=table.num_unique)
    # the representative's own row: a writer keeps every class's representative among the rows
    rows = [table.row(int(table.unique[klass])) for klass in chosen.tolist()]
    per_seed = [table.class_metric(metric, epoch, seed=int(s)) for s in table.seeds]
    seeds = tuple(int(s) for s in table.seeds)
    return [
        RankedClass(
            rank=rank,
            index=int(table.unique[klass]),
            arch=str(table.space.from_index(int(table.unique[klass]))),
            value=float(values[klass]),
            members=int(members[klass]),
            params_m=float(table.params[row]) / 1e6,
            flops_m=float(table.flops[row]) / 1e6,
            seeds=seeds,
            seed_values=tuple(float(column[klass]) for column in per_seed),
        )
        for rank, (klass, row) in enumerate(zip(chosen.tolist(), rows, strict=True), start=1)
    ]


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None

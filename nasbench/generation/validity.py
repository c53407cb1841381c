"""External validity of a table: does it rank architectures the way a reference benchmark does?

Seed-to-seed agreement (:mod:`nasbench.generation.fidelity`) says a table is consistent;
this module says whether conclusions drawn on it hold on another table, typically one of
the NAS-Bench-201 tables the field uses. The two tables are matched by architecture string,
never by index, since their spaces and index orders may differ.

Every figure is computed twice:

* **per architecture**: every shared index counts once. This is how cross-benchmark
  correlations are published (over all 15,625 NAS-Bench-201 cells) and what a search that
  draws architectures by index sees, but it weights an isomorphism class by its size, and a
  table holding one value per class repeats that value over all its members.
* **per class**: one entry per isomorphism class of the *table* (its representative), each
  side the mean over the class's shared members; every distinct network counts once.

Imports :mod:`nasbench.core` and scipy only.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from nasbench.core.errors import ConfigError
from nasbench.core.table import Table

__all__ = [
    "MIN_STRATUM_SIZE",
    "STRATUM_TOP_K_FRACTION",
    "TIE_BREAKING",
    "TOP_K_FRACTIONS",
    "higher_is_better",
    "top_k_inclusion",
    "top_k_overlap",
    "validity",
]

logger = logging.getLogger(__name__)

#: Shares of the shared architectures whose top sets are compared (k = ceil(fraction * n)).
TOP_K_FRACTIONS: tuple[float, ...] = (0.01, 0.05, 0.10)
#: The top-k share compared inside each op-composition stratum.
STRATUM_TOP_K_FRACTION = 0.05
#: Strata with fewer shared entries than this are left out (their correlations are noise).
MIN_STRATUM_SIZE = 30

#: How ties are broken, in the words the report prints.
TIE_BREAKING = {
    "correlations": "Spearman uses average ranks for ties; Kendall's tau is tau-b (corrected for ties).",
    "top_k": (
        "k = ceil(fraction * n); entries tied at a top-k cut-off count fractionally: "
        "the overlap is the expected one had ties been broken uniformly at random."
    ),
    "best": (
        "the table's best is the first of its tied best entries in the table's index order "
        "(for a table with values per class: the class representative, the member with the "
        "smallest index); its reference rank is 1 + the number of entries with a strictly "
        "better reference value, its percentile the share of the others with a strictly worse one."
    ),
}


def higher_is_better(metric: str) -> bool:
    """Whether a larger value of ``metric`` is better: every metric except losses
    (names ending in ``_loss``). Costs count as higher-is-better so that a cost can be
    judged as a proxy of accuracy."""
    return not metric.endswith("_loss")


def _finite(value: float) -> float | None:
    """``value`` as a float, or None when it is NaN or infinite (JSON has no NaN)."""
    value = float(value)
    return value if math.isfinite(value) else None


def top_k_inclusion(scores: np.ndarray, k: int) -> np.ndarray:
    """float64 [n]: the probability that each entry is among the ``k`` highest ``scores``
    when ties at the cut-off are broken uniformly at random (1 above it, 0 below it)."""
    scores = np.asarray(scores, dtype=np.float64)
    n = scores.shape[0]
    if not 1 <= k <= n:
        raise ConfigError(f"k must be in [1, {n}], got {k}")
    threshold = np.partition(scores, n - k)[n - k]
    above = scores > threshold
    tied = scores == threshold
    inclusion = above.astype(np.float64)
    inclusion[tied] = (k - int(above.sum())) / int(tied.sum())
    return inclusion


def top_k_overlap(table_scores: np.ndarray, reference_scores: np.ndarray, fraction: float) -> dict[str, Any]:
    """Share (in %) of the reference's top ``fraction`` that is also in the table's top
    ``fraction``; both score arrays are aligned and higher is better."""
    n = int(np.asarray(table_scores).shape[0])
    k = max(1, math.ceil(fraction * n - 1e-9))
    expected = float(np.dot(top_k_inclusion(table_scores, k), top_k_inclusion(reference_scores, k)))
    return {"fraction": fraction, "k": k, "overlap_percent": 100.0 * expected / k}


def _correlations(a: np.ndarray, b: np.ndarray) -> dict[str, dict[str, float | None]]:
    """Spearman rho and Kendall tau-b with two-sided p-values; None where undefined
    (fewer than 3 entries, or one side constant)."""
    if a.shape[0] < 3:
        missing = {"statistic": None, "p_value": None}
        return {"spearman": dict(missing), "kendall": dict(missing)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        spearman = stats.spearmanr(a, b)
        kendall = stats.kendalltau(a, b, variant="b")
    return {
        "spearman": {"statistic": _finite(spearman.statistic), "p_value": _finite(spearman.pvalue)},
        "kendall": {"statistic": _finite(kendall.statistic), "p_value": _finite(kendall.pvalue)},
    }


def _best(
    names: Sequence[str],
    table_raw: np.ndarray,
    reference_raw: np.ndarray,
    table_scores: np.ndarray,
    reference_scores: np.ndarray,
) -> dict[str, Any]:
    """Where the table's best entry ranks on the reference (see :data:`TIE_BREAKING`)."""
    n = table_scores.shape[0]
    best = int(np.argmax(table_scores))  # the first maximum: table index order breaks ties
    tied = np.nonzero(table_scores == table_scores[best])[0]
    ordered = np.sort(reference_scores)
    better = n - np.searchsorted(ordered, reference_scores[tied], side="right")  # strictly better
    worse = int(np.searchsorted(ordered, reference_scores[best], side="left"))  # strictly worse
    reference_best = int(np.argmax(reference_scores))
    return {
        "arch": names[best],
        "table_value": _finite(table_raw[best]),
        "reference_value": _finite(reference_raw[best]),
        "reference_rank": int(better[tied == best][0]) + 1,
        "reference_percentile": _finite(100.0 * worse / (n - 1)) if n > 1 else None,
        "reference_best_arch": names[reference_best],
        "reference_best_value": _finite(reference_raw[reference_best]),
        "reference_regret": _finite(reference_scores[reference_best] - reference_scores[best]),
        "tied": int(tied.shape[0]),
        "tied_reference_rank_range": [int(better.min()) + 1, int(better.max()) + 1],
    }


def _stratum_labels(ops: np.ndarray, op_names: Sequence[str]) -> list[str]:
    """One label per cell: the multiset of its ops, e.g. ``"2 none, 1 skip_connect, 3 nor_conv_3x3"``
    (ops in the space's order, zero counts left out)."""
    counts = np.stack([(ops == k).sum(axis=1) for k in range(len(op_names))], axis=1)
    unique, inverse = np.unique(counts, axis=0, return_inverse=True)
    labels = [", ".join(f"{c} {op}" for c, op in zip(row, op_names, strict=True) if c) for row in unique]
    return [labels[i] for i in np.asarray(inverse).reshape(-1)]


def _strata(
    labels: Sequence[str], table_scores: np.ndarray, reference_scores: np.ndarray, min_size: int
) -> dict[str, Any]:
    """Spearman, Kendall and top-5 % overlap inside every stratum of at least ``min_size``
    entries, and their size-weighted mean Spearman."""
    groups: dict[str, list[int]] = {}
    for position, label in enumerate(labels):
        groups.setdefault(label, []).append(position)
    rows: list[dict[str, Any]] = []
    for label, members in sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])):
        if len(members) < min_size:
            continue
        where = np.asarray(members)
        a, b = table_scores[where], reference_scores[where]
        rows.append(
            {
                "ops": label,
                "n": len(members),
                **_correlations(a, b),
                "top_k": top_k_overlap(a, b, STRATUM_TOP_K_FRACTION),
            }
        )
    weighted = [
        (row["n"], row["spearman"]["statistic"]) for row in rows if row["spearman"]["statistic"] is not None
    ]
    weight = sum(n for n, _ in weighted)
    return {
        "min_size": min_size,
        "strata_total": len(groups),
        "strata_reported": len(rows),
        "entries_reported": sum(row["n"] for row in rows),
        "weighted_mean_spearman": _finite(sum(n * rho for n, rho in weighted) / weight) if weight else None,
        "rows": rows,
    }


def _view(
    names: Sequence[str],
    labels: Sequence[str],
    table_raw: np.ndarray,
    reference_raw: np.ndarray,
    table_scores: np.ndarray,
    reference_scores: np.ndarray,
    min_stratum_size: int,
) -> dict[str, Any]:
    """Every figure of one view (per architecture or per class)."""
    return {
        "n": int(table_scores.shape[0]),
        **_correlations(table_scores, reference_scores),
        "top_k": [top_k_overlap(table_scores, reference_scores, f) for f in TOP_K_FRACTIONS],
        "best": _best(names, table_raw, reference_raw, table_scores, reference_scores),
        "strata": _strata(labels, table_scores, reference_scores, min_stratum_size),
    }


def _describe(table: Table, metric: str, epoch: int) -> dict[str, Any]:
    """What the result records about one side: file name (never a full path), dataset,
    metric, epoch, how values are kept, checksum."""
    epoch_number = int(table.epochs[epoch % table.num_epochs]) if metric in table.epoch_metrics else None
    return {
        "file": table.path.name,
        "dataset": table.dataset.get("name"),
        "metric": metric,
        "higher_is_better": higher_is_better(metric),
        "epoch": epoch if epoch_number is not None else None,
        "epoch_number": epoch_number,
        "values_per": table.values_per,
        "seed_axis": table.seed_axis.get("kind"),
        "seeds": table.seeds.tolist(),
        "archs": table.num_archs,
        "checksum": table.checksum,
    }


def validity(
    table: Table,
    reference: Table,
    *,
    metric: str = "test_acc",
    reference_metric: str = "test_acc",
    epoch: int = -1,
    reference_epoch: int = -1,
    min_stratum_size: int = MIN_STRATUM_SIZE,
    classes: np.ndarray | None = None,
) -> dict[str, Any]:
    """How well ``table``'s ``metric`` at ``epoch`` (mean over its seeds) ranks the
    architectures it shares with ``reference`` the way ``reference_metric`` at
    ``reference_epoch`` does.

    Architectures are matched by string; those not measured on either side are dropped.
    The result (JSON-clean: None, never NaN) holds both sides' description, the shared
    count, and per view (``per_architecture``, ``per_class``) Spearman and Kendall tau-b
    with two-sided p-values, top-k overlap for :data:`TOP_K_FRACTIONS`, the reference rank
    of the table's best entry, and the same per op-composition stratum. Raises
    :class:`ConfigError` when fewer than 2 architectures are shared and measured.
    """
    if isinstance(min_stratum_size, bool) or not isinstance(min_stratum_size, int) or min_stratum_size < 3:
        raise ConfigError(f"min_stratum_size must be an integer >= 3, got {min_stratum_size!r}")
    table_values = table.metric(metric, epoch)
    reference_values = reference.metric(reference_metric, reference_epoch)
    reference_row = {str(reference.space.from_index(int(i))): row for row, i in enumerate(reference.indices)}
    table_names = [str(table.space.from_index(int(i))) for i in table.indices]
    pairs = [(row, reference_row[name]) for row, name in enumerate(table_names) if name in reference_row]
    if classes is not None:
        wanted = np.isin(table.canonical, np.asarray(classes, dtype=np.int64))
        pairs = [(row, other) for row, other in pairs if wanted[row]]
    table_rows = np.asarray([t for t, _ in pairs], dtype=np.int64)
    reference_rows = np.asarray([r for _, r in pairs], dtype=np.int64)
    table_raw = table_values[table_rows] if pairs else np.zeros(0)
    reference_raw = reference_values[reference_rows] if pairs else np.zeros(0)
    measured = np.isfinite(table_raw) & np.isfinite(reference_raw)
    sides = f"{table.path.name} ({metric}) and {reference.path.name} ({reference_metric})"
    if int(measured.sum()) < 2:
        raise ConfigError(
            f"{sides} share {int(measured.sum())} measured architecture(s) "
            f"({len(pairs)} matched by string); at least 2 are needed"
        )
    if int(measured.sum()) < len(pairs):
        logger.info(
            "validity of %s: %d shared architectures not measured on both sides",
            sides,
            len(pairs) - int(measured.sum()),
        )
    table_rows, table_raw, reference_raw = table_rows[measured], table_raw[measured], reference_raw[measured]
    table_sign = 1.0 if higher_is_better(metric) else -1.0
    reference_sign = 1.0 if higher_is_better(reference_metric) else -1.0
    op_names = list(table.space.ops)

    per_architecture = _view(
        [table_names[row] for row in table_rows],
        _stratum_labels(table.ops[table_rows], op_names),
        table_raw,
        reference_raw,
        table_sign * table_raw,
        reference_sign * reference_raw,
        min_stratum_size,
    )

    # Per class of the table: both sides averaged over the class's shared members (for a
    # table with values per class the table side is the class value itself).
    representatives, member_class = np.unique(table.canonical[table_rows], return_inverse=True)
    members = np.bincount(member_class)
    class_table = np.bincount(member_class, weights=table_raw) / members
    class_reference = np.bincount(member_class, weights=reference_raw) / members
    representative_rows = np.searchsorted(table.indices, representatives)
    per_class = _view(
        [str(table.space.from_index(int(i))) for i in representatives],
        _stratum_labels(table.ops[representative_rows], op_names),
        class_table,
        class_reference,
        table_sign * class_table,
        reference_sign * class_reference,
        min_stratum_size,
    )
    per_class["best"]["members"] = int(members[int(np.argmax(table_sign * class_table))])

    return {
        "table": _describe(table, metric, epoch),
        "reference": _describe(reference, reference_metric, reference_epoch),
        "matched": len(pairs),
        "n_shared": int(table_rows.shape[0]),
        "not_measured": len(pairs) - int(table_rows.shape[0]),
        "classes": int(representatives.shape[0]),
        "class_sizes": {
            "largest": int(members.max()),
            "single_member": int(np.sum(members == 1)),
            "archs_in_classes_of_10_or_more": int(members[members >= 10].sum()),
        },
        "headline": "per_architecture",
        "tie_breaking": dict(TIE_BREAKING),
        "per_architecture": per_architecture,
        "per_class": per_class,
    }

"""How well a protocol ranks architectures the way a second training run would.

A protocol's worth as ground truth is first its seed-to-seed agreement: train the same
random sample of canonical classes with two seeds and compare the rankings of their final
validation accuracy. The sample is the first N classes of the generator's seeded order, so
every protocol is judged on the same architectures. Agreement with itself is not yet
agreement with the benchmark the field uses, so a report can also carry the sample's
external validity against reference tables (NAS-Bench-201's, imported): how the seed mean
of the final test accuracy ranks the sample's classes against each reference.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from nasbench.core.agreement import seed_mean_spearman
from nasbench.core.cost import generation_seconds
from nasbench.core.errors import ConfigError, MetricError
from nasbench.core.schema import STATUS_DONE
from nasbench.core.space import CellSpace
from nasbench.core.table import Table, open_table
from nasbench.core.table_writer import TableWriter
from nasbench.core.validation import check_int

__all__ = ["external_report", "fidelity_report", "run_fidelity", "seed_mean_spearman"]

#: The table's metric judged against a reference: the seed mean of the final test accuracy.
EXTERNAL_METRIC = "test_acc"
#: Top-k shares kept in a report's external figures.
EXTERNAL_TOP_K = (0.01, 0.05)

logger = logging.getLogger(__name__)


def fidelity_report(
    table: Table, metric: str = "val_acc", classes: np.ndarray | None = None
) -> dict[str, Any]:
    """Seed-to-seed agreement of ``metric`` over the classes measured with every seed
    (only among ``classes``, representative indices, when given).

    Figures: Spearman and Kendall tau of the final value between seeds (averaged over seed
    pairs), mean absolute seed difference, spread between architectures (sd of the seed
    mean), Spearman of every epoch against the final epoch (averaged over seeds), and the
    core-seconds of one (architecture, seed) run (train plus eval seconds, one thread).
    """
    if len(table.seeds) < 2:
        raise MetricError("fidelity needs a table with at least two seeds")
    values = table.raw(metric).astype(np.float64)
    rows = np.nonzero(_complete(table, metric, classes))[0]
    candidates = int(table.num_unique if classes is None else np.isin(table.unique, classes).sum())
    if rows.shape[0] < candidates:
        logger.info(
            "fidelity of %s: %d of %d classes left out (not measured with every seed)",
            metric,
            candidates - rows.shape[0],
            candidates,
        )
    if rows.shape[0] < 3:
        raise MetricError(
            f"fidelity needs at least 3 classes measured with every seed, found {rows.shape[0]}"
        )
    final = values[rows, :, -1]
    pairs = list(itertools.combinations(range(final.shape[1]), 2))
    spearman = _seed_spearman(table, metric, rows)
    kendall = float(np.mean([stats.kendalltau(final[:, a], final[:, b]).statistic for a, b in pairs]))
    mean_abs = float(np.mean([np.mean(np.abs(final[:, a] - final[:, b])) for a, b in pairs]))
    epoch_spearman = []
    for epoch in range(table.num_epochs):
        per_seed = [
            stats.spearmanr(values[rows, s, epoch], values[rows, s, -1]).statistic
            for s in range(values.shape[1])
        ]
        finite = [value for value in per_seed if np.isfinite(value)]
        epoch_spearman.append(float(np.mean(finite)) if finite else float("nan"))
    seconds_per_run = float(np.mean(generation_seconds(table)[rows]))
    num_seeds = int(table.seeds.shape[0])
    return {
        "metric": metric,
        "archs": int(rows.shape[0]),
        "seeds": table.seeds.tolist(),
        "epochs": table.num_epochs,
        "spearman": spearman,
        "kendall_tau": kendall,
        "mean_abs_seed_difference_pct": mean_abs,
        "between_arch_sd_pct": float(np.std(final.mean(axis=1), ddof=1)),
        "final_mean_pct": float(final.mean()),
        "epoch_spearman_to_final": epoch_spearman,
        "core_seconds_per_run": seconds_per_run,
        "table_core_hours": seconds_per_run * table.num_unique * num_seeds / 3600.0,
        "seed_mean_spearman_estimate": seed_mean_spearman(spearman, num_seeds) if spearman > 0 else spearman,
        "protocol": table.protocol,
    }


def _complete(table: Table, metric: str, classes: np.ndarray | None) -> np.ndarray:
    """bool [U]: classes done with every seed and a final ``metric`` on each (only among
    ``classes``, representative indices, when given)."""
    final = table.raw(metric)[:, :, -1]
    done = np.all(table.run_status == STATUS_DONE, axis=1) & np.all(~np.isnan(final), axis=1)
    if classes is not None:
        done &= np.isin(table.unique, np.asarray(classes, dtype=np.int64))
    return done


def _seed_spearman(table: Table, metric: str, rows: np.ndarray) -> float:
    """Mean seed-to-seed Spearman of the final ``metric`` over ``rows`` (NaN when undefined)."""
    final = table.raw(metric).astype(np.float64)[rows, :, -1]
    pairs = itertools.combinations(range(final.shape[1]), 2)
    return float(np.mean([stats.spearmanr(final[:, a], final[:, b]).statistic for a, b in pairs]))


def external_report(
    table: Table,
    reference: Table,
    *,
    classes: np.ndarray | None = None,
    reference_metric: str = EXTERNAL_METRIC,
) -> dict[str, Any]:
    """How the seed mean of ``table``'s final test accuracy ranks its classes (those among
    ``classes`` and measured with every seed) against ``reference``'s ``reference_metric``.

    Per class (every distinct network once; the reference side is the mean over the
    class's members) and per architecture (what a search drawing indices sees): Spearman,
    Kendall tau-b and the overlap of the top 1 % and 5 %. ``per_class_spearman_noiseless``
    divides the per-class Spearman by the square root of the seed mean's own reliability
    (Spearman-Brown from the seed-to-seed Spearman of test accuracy): an estimate of what
    the protocol would reach with many seeds, and so whether more seeds or a different
    protocol is what closes a gap.
    """
    from nasbench.generation.validity import validity

    done = _complete(table, EXTERNAL_METRIC, classes)
    measured = table.unique[done]
    result = validity(
        table, reference, metric=EXTERNAL_METRIC, reference_metric=reference_metric, classes=measured
    )
    num_seeds = int(table.seeds.shape[0])
    test_spearman = (
        _seed_spearman(table, EXTERNAL_METRIC, np.nonzero(done)[0]) if num_seeds > 1 else float("nan")
    )
    reliability = seed_mean_spearman(test_spearman, num_seeds) if test_spearman > 0 else float("nan")

    def view(name: str) -> dict[str, Any]:
        figures = result[name]
        overlaps = {item["fraction"]: item["overlap_percent"] for item in figures["top_k"]}
        return {
            "n": figures["n"],
            "spearman": figures["spearman"]["statistic"],
            "kendall_tau": figures["kendall"]["statistic"],
            **{f"top_{round(share * 100)}pct_overlap": overlaps[share] for share in EXTERNAL_TOP_K},
        }

    per_class = view("per_class")
    noiseless = (
        per_class["spearman"] / math.sqrt(reliability)
        if per_class["spearman"] is not None and np.isfinite(reliability)
        else None
    )
    return {
        "reference": result["reference"]["file"],
        "reference_dataset": result["reference"]["dataset"],
        "reference_metric": reference_metric,
        "metric": EXTERNAL_METRIC,
        "test_seed_spearman": test_spearman,
        "test_seed_mean_reliability": reliability,
        "per_class": per_class,
        "per_architecture": view("per_architecture"),
        "per_class_spearman_noiseless": noiseless,
    }


def run_fidelity(
    out: str | os.PathLike[str],
    protocol: Any,
    *,
    space: CellSpace | str | None = None,
    archs: int = 100,
    workers: int | None = None,
    data_dir: str | None = None,
    progress: bool = True,
    against: Sequence[str | os.PathLike[str]] = (),
    offset: int = 0,
) -> dict[str, Any]:
    """Train the first ``archs`` classes of ``space`` (default NAS-Bench-201) with every
    seed of ``protocol`` into ``out`` (resumable, like ``generate``), then report and
    store the figures; with ``against`` (reference tables), also the sample's external
    validity against each (:func:`external_report`), under ``external`` keyed by the
    reference's file stem. ``offset=N`` takes the sample after the first ``N`` classes of
    the seeded order: with ``N = archs``, a second sample disjoint from the first, to
    re-measure the leading protocols of a study.

    The report is written beside the table as ``<out>.json`` and into the table's
    ``fidelity`` attribute.
    """
    from nasbench.generation.generate import generate, select_classes
    from nasbench.nets.train import get_protocol

    recipe = get_protocol(protocol)
    archs = check_int("run_fidelity", "archs", archs, 3)
    # References are opened (and verified) before any training, so a bad path fails fast.
    references = _open_references(against)
    if len(recipe.seeds) < 2:
        raise ConfigError(
            f"fidelity needs a protocol with at least two seeds, got seeds {list(recipe.seeds)}"
        )
    summary = generate(
        out,
        recipe,
        space=space,
        limit=archs,
        offset=offset,
        workers=workers,
        data_dir=data_dir,
        probes=False,
        progress=progress,
    )
    if summary.runs_errored:
        raise ConfigError(f"{summary.runs_errored} training jobs raised: {summary.errors[0]}")
    table = open_table(out)
    sample = select_classes(table.unique, archs, None, offset=offset)
    report = fidelity_report(table, classes=sample)
    if offset:
        report["sample_offset"] = offset
    if references:
        report["external"] = {
            name: external_report(table, reference, classes=sample) for name, reference in references.items()
        }
    report = _finite(report)
    target = Path(out)
    # Into a copy that replaces the table once sealed: a kill mid-write must not leave a
    # table whose checksum no longer matches (it would be refused on open).
    staging = target.with_name(f".{target.name}.fidelity-{os.getpid()}.tmp")
    try:
        shutil.copyfile(target, staging)
        with TableWriter(staging) as writer:
            writer.set_attr("fidelity", {k: v for k, v in report.items() if k != "protocol"})
        os.replace(staging, target)
    finally:
        staging.unlink(missing_ok=True)
    text = json.dumps(report, indent=2, sort_keys=True, allow_nan=False)
    report_path = target.with_name(target.name + ".json")
    staged_report = report_path.with_name(f".{report_path.name}.tmp")
    try:
        staged_report.write_text(text + "\n")
        os.replace(staged_report, report_path)
    finally:
        staged_report.unlink(missing_ok=True)
    return report


def _open_references(paths: Sequence[str | os.PathLike[str]]) -> dict[str, Table]:
    """Reference tables by file stem; two references with one stem are an error."""
    references: dict[str, Table] = {}
    for path in paths:
        name = Path(path).name.removesuffix(".h5")
        if name in references:
            raise ConfigError(f"two references named {name!r}: give each --against a different file name")
        references[name] = open_table(path)
    return references


def _finite(value: Any) -> Any:
    """NaN (a constant ranking has no correlation) becomes None, so the report is valid JSON."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value

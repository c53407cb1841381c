"""How well a performance predictor ranks architectures, judged against a whole table.

NAS-Bench-301 could judge its surrogates only on held-out samples of a space it never
tabulated. Here the space is tabulated, so a surrogate fitted on N classes is scored
on every other measured class of the table, and a zero-cost proxy on all of them.

The protocol (:func:`evaluate_surrogate`):

- The truth of a class is its final-epoch ``val_acc`` (or another epoch metric), the mean
  over the table's seeds. Only classes whose every seed finished are used (failed or
  pending runs are left out and counted).
- For each training-set size N and each seed s, N classes are drawn without replacement
  from :class:`numpy.random.SeedSequence` ``(s, N)``; the surrogate (created from the
  registry, its ``seed`` hyperparameter set to s unless given) is fitted on them (on the
  seed mean, or with ``train_target="seed0"`` on the first seed's run only) and predicts
  the representative index of every other class.
- Metrics over those held-out classes (:func:`ranking_metrics`): Kendall tau, sparse
  Kendall tau (predictions rounded to 0.1 percentage points, as NAS-Bench-301 reports
  it), Spearman, R², MAE, precision@10 and @50 (share of the true top k among the
  predicted top k), Kendall tau within the true top 10 %.
- Cost: wall-clock seconds of ``fit``, and milliseconds to predict every index of the
  space (15,625 for NAS-Bench-201; at most the first 200,000 indices of a larger space).

The NAS-Bench-301 question (:func:`noise_comparison`): trained on seed-0 accuracies, does
the surrogate predict the seeds it never saw better than seed 0 itself does? With two
seeds the held-out truth is seed 1, an independent training run; the seed mean is also
reported, as asked, but it contains seed 0 and so favours it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats

from nasbench.core.errors import ConfigError, MetricError
from nasbench.core.table import STATUS_DONE, Table
from nasbench.core.validation import check_choice, check_int
from nasbench.prediction.registry import create_surrogate, get_surrogate_class

__all__ = [
    "RANKING_METRICS",
    "TRAIN_TARGETS",
    "class_targets",
    "evaluate_scores",
    "evaluate_surrogate",
    "noise_comparison",
    "ranking_metrics",
    "summarise_rows",
    "tune_surrogate",
]

#: Keys of :func:`ranking_metrics`, in report order.
RANKING_METRICS: tuple[str, ...] = (
    "kendall_tau",
    "sparse_kendall_tau",
    "spearman",
    "r2",
    "mae",
    "precision_at_10",
    "precision_at_50",
    "kendall_tau_top10pct",
)
#: ``mean``: fit on the seed mean; ``seed0``: fit on the table's first seed only.
TRAIN_TARGETS: tuple[str, ...] = ("mean", "seed0")
_PREDICT_ALL_LIMIT = 200_000


def _finite_pair(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    truth = np.asarray(y_true, dtype=np.float64).reshape(-1)
    pred = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    if truth.shape != pred.shape:
        raise ConfigError(f"truth and prediction differ in length ({truth.shape[0]} vs {pred.shape[0]})")
    keep = np.isfinite(truth) & np.isfinite(pred)
    return truth[keep], pred[keep]


def _precision_at(truth: np.ndarray, pred: np.ndarray, k: int) -> float:
    if truth.shape[0] < k:
        return math.nan
    # Stable orders, so ties resolve by position and the figure is reproducible.
    top_true = np.argsort(-truth, kind="stable")[:k]
    top_pred = np.argsort(-pred, kind="stable")[:k]
    return float(np.intersect1d(top_true, top_pred).shape[0] / k)


def _correlation(function: Any, truth: np.ndarray, pred: np.ndarray) -> float:
    if truth.shape[0] < 2 or np.ptp(truth) == 0 or np.ptp(pred) == 0:
        return math.nan
    return float(function(truth, pred)[0])


def ranking_metrics(y_true: Any, y_pred: Any, *, correlation_only: bool = False) -> dict[str, float]:
    """The predictor metrics of :data:`RANKING_METRICS` over pairs where both are finite.

    ``y_true`` and ``y_pred`` are in the table's units (accuracy in percent, so the sparse
    Kendall tau rounds predictions to one decimal). ``correlation_only`` (for zero-cost
    scores, which are not on the accuracy scale) leaves out sparse tau, R² and MAE.
    Undefined figures (constant input, fewer than k points) are NaN.
    """
    truth, pred = _finite_pair(np.asarray(y_true), np.asarray(y_pred))
    out: dict[str, float] = {"n": float(truth.shape[0])}
    out["kendall_tau"] = _correlation(stats.kendalltau, truth, pred)
    if not correlation_only:
        out["sparse_kendall_tau"] = _correlation(stats.kendalltau, truth, np.round(pred, 1))
    out["spearman"] = _correlation(stats.spearmanr, truth, pred)
    if not correlation_only:
        residual = float(np.sum((truth - pred) ** 2))
        total = float(np.sum((truth - truth.mean()) ** 2)) if truth.shape[0] else 0.0
        out["r2"] = 1.0 - residual / total if total > 0 else math.nan
        out["mae"] = float(np.mean(np.abs(truth - pred))) if truth.shape[0] else math.nan
    out["precision_at_10"] = _precision_at(truth, pred, 10)
    out["precision_at_50"] = _precision_at(truth, pred, 50)
    top = np.argsort(-truth, kind="stable")[: math.ceil(0.1 * truth.shape[0])]
    out["kendall_tau_top10pct"] = _correlation(stats.kendalltau, truth[top], pred[top])
    return out


def class_targets(table: Table, metric: str = "val_acc", epoch: int = -1) -> dict[str, Any]:
    """Per-class truths for predictor evaluation.

    Returns ``indices`` (int64 representative space index of each usable class),
    ``per_seed`` (float64 [n, seeds]), ``mean`` (float64 [n]), ``curves`` (float64
    [n, epochs], the seed-mean learning curve, for learning-curve surrogates) and
    ``left_out``: classes not usable because a run is pending or failed or the value
    is missing.
    """
    if metric not in table.epoch_metrics:
        raise MetricError(
            f"{table.path}: unknown epoch metric {metric!r} (known: {', '.join(table.epoch_metrics)})"
        )
    position = table._epoch_position(epoch)
    values = table.raw(metric)[:, :, position].astype(np.float64)
    usable = np.all(table.run_status == STATUS_DONE, axis=1) & np.all(np.isfinite(values), axis=1)
    if int(usable.sum()) < 3:
        raise MetricError(f"{table.path}: fewer than 3 classes have every seed measured")
    per_seed = values[usable]
    curves = table.raw(metric)[usable].astype(np.float64).mean(axis=1)
    return {
        "indices": table.unique[usable].astype(np.int64),
        "per_seed": per_seed,
        "mean": per_seed.mean(axis=1),
        "curves": curves,
        "left_out": int(table.num_unique - usable.sum()),
    }


def _check_sizes(train_sizes: Sequence[int], available: int) -> list[int]:
    sizes = [int(n) for n in train_sizes]
    if not sizes:
        raise ConfigError("give at least one training-set size")
    for n in sizes:
        if n < 2:
            raise ConfigError(f"training-set size must be >= 2, got {n}")
        if n > available - 3:
            raise ConfigError(
                f"training-set size {n} leaves fewer than 3 of the table's {available} usable "
                "classes to test on"
            )
    return sizes


def _draw(available: int, size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(np.random.SeedSequence([seed, size]))
    chosen = np.zeros(available, dtype=bool)
    chosen[rng.choice(available, size=size, replace=False)] = True
    return chosen


def _create(model: str, hyperparameters: Mapping[str, Any], seed: int, table: Table) -> Any:
    cls = get_surrogate_class(model)
    if cls.kind not in ("architecture", "learning-curve"):
        raise ConfigError(
            f"surrogate {model!r} is of kind {cls.kind!r}; this protocol fits architecture and "
            "learning-curve surrogates (zero-cost proxies are scored with evaluate_scores)"
        )
    params = dict(hyperparameters)
    known = cls.hyperparameters()
    if "seed" in known and "seed" not in params:
        params["seed"] = seed
    if "space" in known and "space" not in params:
        params["space"] = table.space
    if "protocol" in known and "protocol" not in params:  # a surrogate that trains: the table's recipe
        params["protocol"] = dict(table.protocol)
    return create_surrogate(model, **params)


def _predict_all_ms(surrogate: Any, size: int) -> float:
    indices = np.arange(min(size, _PREDICT_ALL_LIMIT), dtype=np.int64)
    started = time.perf_counter()
    surrogate.predict(indices)
    return (time.perf_counter() - started) * 1e3


def _fit_predict(
    surrogate: Any, targets: dict[str, Any], chosen: np.ndarray, y: np.ndarray, space: Any
) -> tuple[np.ndarray, float]:
    """Fit on the chosen classes, predict the others: (prediction, fit wall seconds).
    A learning-curve surrogate also reads each class's seed-mean curve."""
    indices = targets["indices"]
    extra_fit: dict[str, Any] = {}
    extra_predict: dict[str, Any] = {}
    if surrogate.kind == "learning-curve":
        epochs = targets["curves"].shape[1]
        if surrogate.observed_epochs >= epochs:
            raise ConfigError(
                f"{surrogate.name}: observed_epochs={surrogate.observed_epochs} would show it the final "
                f"epoch of the table's {epochs}; use fewer"
            )
        extra_fit["curves"] = targets["curves"][chosen]
        extra_predict["curves"] = targets["curves"][~chosen]
    started = time.perf_counter()
    surrogate.fit(indices[chosen], y[chosen], space=space, **extra_fit)
    fit_seconds = time.perf_counter() - started
    return surrogate.predict(indices[~chosen], **extra_predict), fit_seconds


def evaluate_surrogate(
    table: Table,
    model: str,
    train_sizes: Sequence[int] = (10, 100, 1000),
    seeds: Sequence[int] = (0, 1, 2),
    *,
    hyperparameters: Mapping[str, Any] | None = None,
    train_target: str = "mean",
    metric: str = "val_acc",
    epoch: int = -1,
    time_predict_all: bool = True,
    progress: Any = None,
) -> dict[str, Any]:
    """Fit ``model`` on seeded training sets of each size; score it on every other class.

    Returns a JSON-ready dict: the settings, ``rows`` (one per size and seed: metrics,
    ``fit_seconds``, ``predict_all_ms``, ``n_train``, ``n_test``) and ``summary`` (median
    over seeds per size, see :func:`summarise_rows`). ``progress`` is called with a short
    label after each fit.
    """
    check_choice("evaluate_surrogate", "train_target", train_target, TRAIN_TARGETS)
    seed_list = [int(s) for s in seeds]
    if not seed_list or any(s < 0 for s in seed_list):
        raise ConfigError(f"seeds must be non-negative integers, got {list(seeds)}")
    targets = class_targets(table, metric, epoch)
    indices = targets["indices"]
    sizes = _check_sizes(train_sizes, indices.shape[0])
    fit_values = targets["mean"] if train_target == "mean" else targets["per_seed"][:, 0]
    rows: list[dict[str, Any]] = []
    for size in sizes:
        for seed in seed_list:
            chosen = _draw(indices.shape[0], size, seed)
            surrogate = _create(model, hyperparameters or {}, seed, table)
            prediction, fit_seconds = _fit_predict(surrogate, targets, chosen, fit_values, table.space)
            row: dict[str, Any] = {"train_size": size, "seed": seed, "fit_seconds": fit_seconds}
            row.update(ranking_metrics(targets["mean"][~chosen], prediction))
            row["n_train"] = size
            row["n_test"] = int((~chosen).sum())
            if time_predict_all and surrogate.kind == "architecture" and surrogate.learns_from_targets:
                row["predict_all_ms"] = _predict_all_ms(surrogate, table.space.size)
            rows.append(row)
            if progress is not None:
                progress(f"{model} n={size} seed={seed}")
    return {
        "table": str(table.path),
        "table_checksum": table.checksum,
        "model": model,
        "hyperparameters": dict(hyperparameters or {}),
        "metric": metric,
        "epoch": epoch,
        "train_target": train_target,
        "truth": "mean over the table's seeds",
        "classes_usable": int(indices.shape[0]),
        "classes_left_out": targets["left_out"],
        "seeds": seed_list,
        "rows": rows,
        "summary": summarise_rows(rows),
    }


def summarise_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Median over seeds of every numeric figure, one entry per training-set size."""
    out: list[dict[str, Any]] = []
    for size in sorted({int(r["train_size"]) for r in rows}):
        group = [r for r in rows if int(r["train_size"]) == size]
        entry: dict[str, Any] = {"train_size": size, "runs": len(group)}
        for key in group[0]:
            if key in {"train_size", "seed"}:
                continue
            values = np.asarray([float(r[key]) for r in group], dtype=np.float64)
            entry[key] = float(np.nanmedian(values)) if np.isfinite(values).any() else math.nan
        out.append(entry)
    return out


def noise_comparison(
    table: Table,
    model: str,
    train_size: int = 1000,
    seeds: Sequence[int] = (0, 1, 2),
    *,
    hyperparameters: Mapping[str, Any] | None = None,
    metric: str = "val_acc",
    epoch: int = -1,
) -> dict[str, Any]:
    """NAS-Bench-301's question: fitted on the first seed's accuracies, does the surrogate
    predict other training runs better than the first seed's own run does?

    For each seed, the surrogate is fitted on ``train_size`` classes with the first seed's
    values and predicts the other classes. Both it and the first seed's values of those
    classes are scored against the second seed (an independent run) and against the mean
    of all seeds (which contains the first seed, so it favours the first seed).
    """
    if len(table.seeds) < 2:
        raise MetricError(f"{table.path}: the comparison needs a table with at least two seeds")
    if get_surrogate_class(model).kind != "architecture":
        raise ConfigError(f"the seed comparison fits architecture surrogates; {model!r} is not one")
    targets = class_targets(table, metric, epoch)
    indices = targets["indices"]
    (size,) = _check_sizes([train_size], indices.shape[0])
    first, second = targets["per_seed"][:, 0], targets["per_seed"][:, 1]
    rows = []
    for seed in [int(s) for s in seeds]:
        chosen = _draw(indices.shape[0], size, seed)
        surrogate = _create(model, hyperparameters or {}, seed, table)
        prediction, _ = _fit_predict(surrogate, targets, chosen, first, table.space)
        held = ~chosen
        rows.append(
            {
                "seed": seed,
                "surrogate_vs_other_seed": ranking_metrics(second[held], prediction),
                "first_seed_vs_other_seed": ranking_metrics(second[held], first[held]),
                "surrogate_vs_seed_mean": ranking_metrics(targets["mean"][held], prediction),
                "first_seed_vs_seed_mean": ranking_metrics(targets["mean"][held], first[held]),
            }
        )
    summary: dict[str, dict[str, float]] = {}
    for key in rows[0]:
        if key == "seed":
            continue
        summary[key] = {
            name: float(np.nanmedian([r[key][name] for r in rows]))
            for name in ("kendall_tau", "spearman", "mae", "r2")
        }
    return {
        "table": str(table.path),
        "model": model,
        "train_size": size,
        "table_seeds": [int(s) for s in table.seeds],
        "fit_on": f"seed {int(table.seeds[0])}",
        "other_seed": int(table.seeds[1]),
        "rows": rows,
        "summary": summary,
    }


def evaluate_scores(
    table: Table, scores: Mapping[str, np.ndarray], *, metric: str = "val_acc", epoch: int = -1
) -> dict[str, dict[str, float]]:
    """Correlation of per-class scores (aligned with ``table.unique``, e.g. zero-cost
    proxies) with the seed-mean truth, over every usable class: proxy -> metrics."""
    targets = class_targets(table, metric, epoch)
    position = np.searchsorted(table.unique, targets["indices"])
    out = {}
    for name, values in scores.items():
        array = np.asarray(values, dtype=np.float64)
        if array.shape != (table.num_unique,):
            raise ConfigError(
                f"scores of {name!r} need one value per class ({table.num_unique}), got {array.shape}"
            )
        out[name] = ranking_metrics(targets["mean"], array[position], correlation_only=True)
    return out


def _sample_config(space: Mapping[str, tuple[Any, ...]], rng: np.random.Generator) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for name, spec in space.items():
        kind, *values = spec
        if kind == "choice":
            config[name] = values[int(rng.integers(len(values)))]
        elif kind == "int":
            config[name] = int(rng.integers(int(values[0]), int(values[1]) + 1))
        elif kind == "float":
            config[name] = float(rng.uniform(values[0], values[1]))
        elif kind == "log":
            config[name] = float(np.exp(rng.uniform(np.log(values[0]), np.log(values[1]))))
        else:
            raise ConfigError(f"tuning space of {name!r}: unknown kind {kind!r}")
    return config


def tune_surrogate(
    table: Table,
    model: str,
    *,
    configs: int = 20,
    train_size: int = 1000,
    seeds: Sequence[int] = (100, 101),
    seed: int = 0,
    progress: Any = None,
) -> dict[str, Any]:
    """Seeded random search over a surrogate's :attr:`~nasbench.prediction.base.Surrogate.tuning_space`.

    Configuration 0 is the surrogate's current defaults; the others are drawn from
    ``seed``. Each is fitted on ``train_size`` classes drawn with every one of ``seeds``
    (by default other draws than :func:`evaluate_surrogate`'s 0, 1, 2, so the figures
    reported afterwards are not the ones tuned on) and scored on the other classes.
    Returns the rows sorted by median Kendall tau (best first) and ``best``.
    """
    cls = get_surrogate_class(model)
    if not cls.tuning_space:
        raise ConfigError(f"surrogate {model!r} declares no tuning space")
    check_int("tune_surrogate", "configs", configs, low=1)
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for number in range(int(configs)):
        config = {} if number == 0 else _sample_config(cls.tuning_space, rng)
        report = evaluate_surrogate(
            table, model, [train_size], seeds, hyperparameters=config, time_predict_all=False
        )
        summary = report["summary"][0]
        rows.append(
            {
                "config": number,
                "hyperparameters": config,
                "kendall_tau": summary["kendall_tau"],
                "spearman": summary["spearman"],
                "precision_at_10": summary["precision_at_10"],
                "fit_seconds": summary["fit_seconds"],
            }
        )
        if progress is not None:
            progress(f"config {number}: tau {summary['kendall_tau']:.4f}")
    rows.sort(key=lambda row: (-row["kendall_tau"], row["config"]))
    return {
        "table": str(table.path),
        "table_checksum": table.checksum,
        "model": model,
        "train_size": int(train_size),
        "seeds": [int(s) for s in seeds],
        "search_seed": int(seed),
        "rows": rows,
        "best": rows[0],
    }

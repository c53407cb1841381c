"""One comparison job (table x strategy x seed) and running many of them.

:func:`run_job` runs one job and never raises: a job that fails is returned with a
one-line error and its traceback. :func:`execute` runs a list of jobs in this process or
on a Dask cluster (local worker processes, or a running scheduler) and yields their
outcomes as they finish. Each process keeps the tables it opened, keyed by path and
checksum (:func:`open_cached`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.bench.benchmark import Benchmark, Budget
from nasbench.bench.results import TRAJECTORY_COLUMNS
from nasbench.core.errors import TableError
from nasbench.core.pareto import pareto_front
from nasbench.core.table import Table, open_table
from nasbench.search.sandbox import (
    DEFAULT_RUN_TIMEOUT_SECONDS,
    RunFailed,
    error_line,
    run_isolated,
    traceback_text,
)

__all__ = ["benchmark_for", "cache_table", "error_line", "execute", "open_cached", "open_source", "run_job"]

#: Tables opened by this process, by (resolved path, checksum); each worker process keeps
#: its own. The checksum in the key keeps a table rewritten at the same path from being
#: answered from a stale copy by a long-lived worker.
_TABLES: dict[tuple[str, str | None], Any] = {}


# --------------------------------------------------------------------- sources
def open_source(path: str) -> Any:
    """A table file, or a surrogate benchmark directory (``model.json`` inside)."""
    if Path(path).is_dir():
        from nasbench.prediction.surrogate_benchmark import load_surrogate_model

        return load_surrogate_model(path)
    return open_table(path)


def cache_table(path: str, table: Any) -> None:
    """Keep ``table`` (opened from ``path``) for the jobs of this process."""
    _TABLES[(path, table.checksum)] = table


def open_cached(path: str, checksum: str | None) -> Any:
    """The source at ``path`` with ``checksum``, opened once per process; a TableError if
    the file changed since the comparison started."""
    table = _TABLES.get((path, checksum))
    if table is None:
        table = open_source(path)
        if table.checksum != checksum:
            raise TableError(f"{path}: the table changed after compare started (checksum {table.checksum})")
        _TABLES[(path, checksum)] = table
    return table


def benchmark_for(source: Any, seed: int, noise: bool, scoring: str = "holdout") -> Benchmark:
    """A benchmark of ``source`` (a table scored as ``scoring`` says, or a surrogate model
    answered with ``noise``) for ``seed``."""
    if isinstance(source, Table):
        return Benchmark(source, seed=seed, scoring=scoring)
    from nasbench.prediction.surrogate_benchmark import SurrogateBenchmark

    return SurrogateBenchmark(source, seed=seed, noise=noise)


# --------------------------------------------------------------------- errors
def _failed(
    key: tuple[str, str, int], kind: str, error: str, traceback_text: str, seconds: float
) -> dict[str, Any]:
    return {
        "key": key,
        "kind": kind,
        "status": "failed",
        "error": error,
        "traceback": traceback_text,
        "seconds": seconds,
    }


# --------------------------------------------------------------------- one job
def _pareto(benchmark: Benchmark, objective: str) -> list[tuple[int, float, float, float]]:
    """(index, val_acc, test_acc, objective value) of the non-dominated architectures the
    run evaluated at full epochs (the first such evaluation of each; test_acc scored as the
    run's incumbents are, :attr:`Benchmark.scoring`): maximise val_acc,
    minimise the objective; equal points all kept, by increasing objective, then index."""
    values = benchmark.task.values(objective)
    data = benchmark.trajectory()
    seen: dict[int, float] = {}
    for index, epochs, val_acc in zip(
        data["index"].tolist(), data["epochs"].tolist(), data["val_acc"].tolist(), strict=True
    ):
        if epochs == benchmark.num_epochs and index not in seen:
            seen[index] = val_acc
    indices = sorted(seen)
    costs = np.asarray([float(values[i]) for i in indices], dtype=np.float64)
    accuracies = np.asarray([seen[i] for i in indices], dtype=np.float64)
    front = pareto_front(costs, accuracies, ties=True).tolist()
    return [(indices[p], seen[indices[p]], benchmark.test_acc(indices[p]), float(costs[p])) for p in front]


def run_job(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Run one (table, strategy, seed) job; never raises.

    The strategy runs in a sandbox (:func:`~nasbench.search.sandbox.run_isolated`): a child
    process that never holds test data, under ``payload["run_timeout"]`` seconds; this
    process answers its evaluations, enforces the budget and scores the trajectory.
    Returns ``{"key", "seconds", "kind", "status": "ok", "run", "trajectory", "pareto",
    "record"}`` (``record``: the strategy's :meth:`~nasbench.search.strategy.Strategy.run_record`)
    or, when the job failed, ``{"key", "seconds", "kind", "status": "failed", "error",
    "traceback"}``. Called in this process or in a Dask worker.
    """
    started = time.perf_counter()
    key = (payload["table"], payload["strategy"], payload["seed"])
    kind = payload.get("kind", "")
    try:
        table = open_cached(payload["path"], payload["checksum"])
        seed = payload["seed"]
        budget = Budget(**payload["budget"])
        source = benchmark_for(
            table, seed, bool(payload.get("surrogate_noise", False)), payload.get("scoring", "holdout")
        )
        score = None
        if payload.get("score_path"):
            score = open_cached(payload["score_path"], payload["score_checksum"])
            source.score_by(score)
        done = run_isolated(
            source,
            payload["strategy"],
            seed=seed,
            budget=budget,
            params=payload["params"],
            kind=kind,
            strategy_class=payload.get("strategy_class"),
            timeout_seconds=float(payload.get("run_timeout", DEFAULT_RUN_TIMEOUT_SECONDS)),
            rescore=None if score is None else (lambda benchmark: benchmark.score_by(score)),
        )
        kind, benchmark, objective, record = done.kind, done.benchmark, done.objective, done.record
        trajectory = benchmark.trajectory()
        rows = list(zip(*(trajectory[column].tolist() for column in TRAJECTORY_COLUMNS), strict=True))
        run: dict[str, Any] = {
            "evaluations": benchmark.evaluations,
            "sim_seconds": float(benchmark.sim_seconds),
            "objective": "" if objective is None else str(objective),
            "constraint": "" if benchmark.constraint is None else str(benchmark.constraint),
            "search_seconds": None if record is None else record.get("search_seconds"),
        }
        if rows and rows[-1][TRAJECTORY_COLUMNS.index("incumbent_index")] >= 0:
            last = dict(zip(TRAJECTORY_COLUMNS, rows[-1], strict=True))
            run.update(
                final_index=last["incumbent_index"],
                final_arch=str(table.space.from_index(last["incumbent_index"])),
                final_val_acc=last["incumbent_val_acc"],
                final_test_acc=last["incumbent_test_acc"],
                final_regret=last["regret"],
            )
        pareto = [] if objective is None else _pareto(benchmark, objective)
    except RunFailed as failure:  # the strategy failed, timed out or its process died
        return _failed(key, kind, failure.error, failure.traceback, time.perf_counter() - started)
    except Exception as exc:  # a job that raises fails only its own run
        return _failed(key, kind, error_line(exc), traceback_text(exc), time.perf_counter() - started)
    return {
        "key": key,
        "kind": kind,
        "status": "ok",
        "run": run,
        "trajectory": rows,
        "pareto": pareto,
        "record": record,
        "seconds": time.perf_counter() - started,
    }


# --------------------------------------------------------------------- many jobs
def execute(payloads: list[dict[str, Any]], workers: int, scheduler: str | None) -> Iterator[dict[str, Any]]:
    """The outcomes of :func:`run_job` on every payload, as they finish: in this process
    (``workers=0`` and no ``scheduler``), on a local Dask cluster of ``workers`` processes,
    or on the cluster at ``scheduler``. A job that cannot even start is a failed outcome."""
    if workers == 0 and scheduler is None:
        for payload in payloads:
            yield run_job(payload)
        return
    from nasbench.generation.cluster import run_on_cluster

    tag = uuid.uuid4().hex[:8]
    for payload, outcome, error in run_on_cluster(
        run_job,
        payloads,
        workers=workers,
        scheduler=scheduler,
        key=lambda p: f"compare-{tag}-{p['table']}-{p['strategy']}-{p['seed']}",
        slots_per_thread=4,
    ):
        if error is None:
            yield outcome
        else:  # the job could not even start (e.g. an unpicklable payload)
            key = (payload["table"], payload["strategy"], payload["seed"])
            yield _failed(key, payload.get("kind", ""), error_line(error), traceback_text(error), 0.0)

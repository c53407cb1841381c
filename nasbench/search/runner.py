"""The runner: every strategy on every table for every seed, written as one results directory.

:func:`compare` runs the jobs (table x strategy x seed) in this process (``workers=0``),
on a local Dask cluster of single-threaded worker processes (``workers=K``), or on an
existing Dask cluster (``scheduler="tcp://host:8786"``), and writes::

    DIR/config.json        what was compared: tables, strategies with every hyperparameter, budget, seeds
    DIR/runs.csv           one row per run: status, incumbent, its test accuracy and regret
    DIR/trajectories.csv   one row per evaluation of every successful run
    DIR/pareto.csv         multi-objective runs: the non-dominated architectures they found
    DIR/one_shot.csv       one-shot runs: the supernet's training loss, accuracy and CPU seconds per epoch
    DIR/architecture_weights.csv  one-shot runs: the architecture distribution per epoch, edge and op
    DIR/errors.json        the runs that raised, with a one-line error and the traceback
    DIR/timing.json        wall seconds per run and in total

Everything except ``timing.json`` is byte-identical for the same configuration and seeds,
whichever way the jobs ran (one-shot runs excepted: they train a supernet for real and are
charged its measured CPU seconds): floats are written with ``repr`` (round-trip exact), rows are
sorted, and a missing value (a NaN, or a final incumbent a failed run never had) is an
empty field. Rows of a failed run leave ``evaluations``, ``sim_seconds`` and every
``final_*`` field empty.

Everything that can be checked before a job starts is checked first (strategy names,
hyperparameters, budget, seeds, tables, the output directory) and raises one
:class:`~nasbench.core.errors.NasbenchError`. A job that raises while it runs (a strategy bug, a
plugin that fails to import, a property a table lacks) fails only that run. The directory
is written under a temporary name and renamed into place, so an existing ``DIR`` is never
left half-written.
"""

from __future__ import annotations

import csv
import difflib
import importlib
import io
import json
import math
import os
import shutil
import sys
import time
import traceback
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.bench.benchmark import Benchmark, Budget
from nasbench.bench.results import (
    ARCHITECTURE_WEIGHT_COLUMNS,
    ERRORS_FILE,
    FORMAT,
    ONE_SHOT_COLUMNS,
    PARETO_COLUMNS,
    RESULT_FILES,
    RUNS_COLUMNS,
    TRAJECTORY_COLUMNS,
    TRAJECTORY_FILE_COLUMNS,
)
from nasbench.core.errors import ConfigError, NasbenchError, TableError
from nasbench.core.table import STATUS_PENDING, Table, open_table
from nasbench.search.strategy import (
    ENTRY_POINT_GROUP,
    Strategy,
    create_strategy,
    get_strategy_class,
    is_one_shot,
    list_strategies,
    register_strategy,
    run_strategy,
)

__all__ = [
    "ARCHITECTURE_WEIGHT_COLUMNS",
    "ERRORS_FILE",
    "FORMAT",
    "ONE_SHOT_COLUMNS",
    "PARETO_COLUMNS",
    "RESULT_FILES",
    "RUNS_COLUMNS",
    "TRAJECTORY_FILE_COLUMNS",
    "CompareSummary",
    "compare",
    "run_job",
]

#: Tables opened by this process, by (resolved path, checksum); each worker process keeps
#: its own. The checksum in the key keeps a table rewritten at the same path from being
#: answered from a stale copy by a long-lived worker.
_TABLES: dict[tuple[str, str | None], Table] = {}


@dataclass
class CompareSummary:
    """What :func:`compare` did."""

    out: str
    tables: list[str]
    strategies: list[str]
    seeds: list[int]
    runs: int = 0
    runs_ok: int = 0
    runs_failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    wall_seconds: float = 0.0
    files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (errors without their tracebacks)."""
        return {
            "out": self.out,
            "tables": self.tables,
            "strategies": self.strategies,
            "seeds": self.seeds,
            "runs": self.runs,
            "runs_ok": self.runs_ok,
            "runs_failed": self.runs_failed,
            "errors": [{k: v for k, v in e.items() if k != "traceback"} for e in self.errors],
            "wall_seconds": self.wall_seconds,
            "files": self.files,
        }


# --------------------------------------------------------------------- one job
def _open_source(path: str) -> Any:
    """A table file, or a surrogate benchmark directory (``model.json`` inside)."""
    if Path(path).is_dir():
        from nasbench.prediction.surrogate_benchmark import load_surrogate_model

        return load_surrogate_model(path)
    return open_table(path)


def _open_cached(path: str, checksum: str | None) -> Any:
    table = _TABLES.get((path, checksum))
    if table is None:
        table = _open_source(path)
        if table.checksum != checksum:
            raise TableError(f"{path}: the table changed after compare started (checksum {table.checksum})")
        _TABLES[(path, checksum)] = table
    return table


def _benchmark(source: Any, seed: int, noise: bool) -> Benchmark:
    if isinstance(source, Table):
        return Benchmark(source, seed=seed)
    from nasbench.prediction.surrogate_benchmark import SurrogateBenchmark

    return SurrogateBenchmark(source, seed=seed, noise=noise)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _error_line(exc: BaseException) -> str:
    message = _one_line(str(exc))
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


_IMPORT_MACHINERY = (os.path.dirname(importlib.__file__) + os.sep, f"{os.sep}importlib_metadata{os.sep}")


def _traceback_text(exc: BaseException) -> str:
    """The formatted exception chain without frames of Python's import machinery.

    Which of ``importlib.metadata`` and its backport ``importlib_metadata`` loads a plugin
    depends on what the process imported before (Dask imports the backport), so their
    frames would make errors.json differ between in-process and worker runs.
    """
    details = traceback.TracebackException.from_exception(exc)
    pending = [details]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        kept = [
            frame
            for frame in current.stack
            if not frame.filename.startswith("<frozen ")
            and not any(part in frame.filename for part in _IMPORT_MACHINERY)
        ]
        current.stack = traceback.StackSummary.from_list(kept)
        pending.extend(other for other in (current.__cause__, current.__context__) if other is not None)
    return "".join(details.format())


def _pareto(benchmark: Benchmark, objective: str) -> list[tuple[int, float, float, float]]:
    """(index, val_acc, test_acc, objective value) of the non-dominated architectures the
    run evaluated at full epochs: maximise val_acc, minimise the objective."""
    values = benchmark.task.values(objective)
    data = benchmark.trajectory()
    seen: dict[int, float] = {}
    for index, epochs, val_acc in zip(
        data["index"].tolist(), data["epochs"].tolist(), data["val_acc"].tolist(), strict=True
    ):
        if epochs == benchmark.num_epochs and index not in seen:
            seen[index] = val_acc
    points = [(float(values[i]), -v, i) for i, v in seen.items() if not math.isnan(float(values[i]))]
    points.sort()
    front: list[tuple[int, float, float, float]] = []
    best_before = -math.inf  # best val_acc among strictly smaller objective values
    position = 0
    while position < len(points):
        cost = points[position][0]
        group = []
        while position < len(points) and points[position][0] == cost:
            group.append(points[position])
            position += 1
        top = -group[0][1]
        if top > best_before:
            for _, negative, index in group:
                if -negative == top:
                    front.append((index, top, benchmark.test_acc(index), cost))
            best_before = top
    return front


def _run_one_shot(strategy: Any, table: Any, seed: int, budget: Budget) -> tuple[Benchmark, dict[str, Any]]:
    """A one-shot search for real on the table's protocol and data, then the architecture
    it returns evaluated in the table: the clock is charged the search's CPU seconds plus
    the tabulated training of that architecture (its accuracy is known only once trained).
    A seconds budget caps the search's CPU seconds; without one, the strategy's own epochs.

    Returns the benchmark and the search's record: ``search_seconds``, per-epoch rows
    ``(epoch, train_loss, train_acc, epoch_seconds)`` and architecture-weight rows
    ``(epoch, edge, op, weight)``; edges are named ``"target<-source"``.
    """
    from nasbench.search.oneshot import OneShotBudget, OneShotTask

    if not isinstance(table, Table):
        raise ConfigError(
            f"{strategy.name}: a one-shot strategy trains on a table's protocol and data, "
            "not on a surrogate benchmark"
        )
    task = OneShotTask.from_table(table, seed=seed)
    task.check_table(table)
    if budget.seconds is not None:
        one_shot_budget = OneShotBudget(seconds=budget.seconds)
    else:
        epochs = getattr(strategy, "epochs", None)
        if epochs is None:
            raise ConfigError(
                f"{strategy.name}: a one-shot strategy without an 'epochs' hyperparameter needs a seconds "
                "budget (--budget-seconds)"
            )
        one_shot_budget = OneShotBudget(epochs=epochs)
    result = strategy.run(task, one_shot_budget)
    benchmark = Benchmark(table, seed=seed)
    benchmark.charge(result.search_seconds)
    benchmark.evaluate(result.arch)
    space = table.space
    edges = [f"{target}<-{source}" for source, target in space.edges]
    epoch_rows = [
        [epoch, float(loss), float(accuracy), float(seconds)]
        for epoch, (loss, accuracy, seconds) in enumerate(
            zip(result.train_loss, result.train_acc, result.epoch_seconds, strict=True)
        )
    ]
    weights = [
        [epoch, edges[edge], space.ops[op], float(result.trajectory[epoch, edge, op])]
        for epoch in range(result.trajectory.shape[0])
        for edge in range(space.num_edges)
        for op in range(space.num_ops)
    ]
    record = {"search_seconds": float(result.search_seconds), "epochs": epoch_rows, "weights": weights}
    return benchmark, record


def run_job(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Run one (table, strategy, seed) job; never raises.

    Returns ``{"key", "seconds", "kind", "status": "ok", "run", "trajectory", "pareto"}`` or,
    when the job raised, ``{"key", "seconds", "kind", "status": "failed", "error", "traceback"}``.
    Called in this process or in a Dask worker.
    """
    started = time.perf_counter()
    key = (payload["table"], payload["strategy"], payload["seed"])
    kind = payload.get("kind", "")
    try:
        name = payload["strategy"]
        cls = payload.get("strategy_class")
        if cls is not None:  # a class registered by decorator: make it known in this process
            try:
                get_strategy_class(name)
            except ConfigError:
                register_strategy(name)(cls)
        table = _open_cached(payload["path"], payload["checksum"])
        seed = payload["seed"]
        budget = Budget(**payload["budget"])
        strategy = create_strategy(name, seed=seed, **payload["params"])
        kind = strategy.kind
        one_shot: dict[str, Any] | None = None
        if kind == "one-shot":
            benchmark, one_shot = _run_one_shot(strategy, table, seed, budget)
            objective = None
        else:
            source = _benchmark(table, seed, bool(payload.get("surrogate_noise", False)))
            benchmark = run_strategy(strategy, source, seed=seed, budget=budget)
            objective = strategy.objective(benchmark.task)
        trajectory = benchmark.trajectory()
        rows = list(zip(*(trajectory[column].tolist() for column in TRAJECTORY_COLUMNS), strict=True))
        run: dict[str, Any] = {
            "evaluations": benchmark.evaluations,
            "sim_seconds": float(benchmark.sim_seconds),
            "objective": "" if objective is None else str(objective),
            "constraint": "" if benchmark.constraint is None else str(benchmark.constraint),
            "search_seconds": None if one_shot is None else one_shot["search_seconds"],
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
    except Exception as exc:  # a job that raises fails only its own run
        return {
            "key": key,
            "kind": kind,
            "status": "failed",
            "error": _error_line(exc),
            "traceback": _traceback_text(exc),
            "seconds": time.perf_counter() - started,
        }
    return {
        "key": key,
        "kind": kind,
        "status": "ok",
        "run": run,
        "trajectory": rows,
        "pareto": pareto,
        "one_shot": one_shot,
        "seconds": time.perf_counter() - started,
    }


# --------------------------------------------------------------------- validation
@dataclass
class _TableEntry:
    name: str
    given: str
    path: str
    table: Any  # a Table, or a SurrogateModel
    best_test_acc: float
    mean_train_seconds: float


def _check_tables(
    tables: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], surrogate_noise: bool = False
) -> list[_TableEntry]:
    items = [tables] if isinstance(tables, (str, os.PathLike)) else list(tables)
    if not items:
        raise ConfigError("compare needs at least one table")
    entries: dict[str, _TableEntry] = {}
    paths: set[str] = set()
    for item in items:
        given = os.fspath(item)
        path = str(Path(given).resolve())
        if path in paths:
            raise ConfigError(f"table {given} is given twice")
        paths.add(path)
        name = Path(given).stem
        if name in entries:
            raise ConfigError(
                f"tables {entries[name].given} and {given} share the name {name!r}; results name tables by "
                "file stem, so rename one"
            )
        table = _open_source(path)
        probe = _benchmark(table, 0, surrogate_noise)  # checks the source can serve a benchmark
        if isinstance(table, Table):
            status = table.run_status
            totals = np.nansum(table.raw("train_seconds").astype(np.float64), axis=2)[
                status != STATUS_PENDING
            ]
            mean_seconds = float(np.mean(totals))
        else:
            mean_seconds = probe.task.mean_train_seconds
        entries[name] = _TableEntry(name, given, path, table, probe.best_test_acc, mean_seconds)
        _TABLES[(path, table.checksum)] = table
    return [entries[name] for name in sorted(entries)]


def _check_names(strategies: str | Sequence[str]) -> list[str]:
    if isinstance(strategies, str):
        items = [part.strip() for part in strategies.split(",")]
    else:
        items = [str(part).strip() for part in strategies]
    if not items or any(not part for part in items):
        raise ConfigError(f"strategies must be a non-empty comma-separated list of names, got {strategies!r}")
    known = list_strategies()
    names: set[str] = set()
    for item in items:
        if item == "all":  # every black-box strategy; one-shot ones train for real, so by name only
            names.update(name for name in known if not is_one_shot(name))
            continue
        if item not in known:
            get_strategy_class(item)  # raises the registry's error, with a closest match
        names.add(item)
    if not names:
        raise ConfigError("no strategy is registered")
    return sorted(names)


def _check_seeds(seeds: int | Iterable[int]) -> list[int]:
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ConfigError(f"seeds must be at least 1 (runs seeds 0..N-1), got {seeds}")
        return list(range(int(seeds)))
    try:
        items = list(seeds)  # type: ignore[arg-type]
    except TypeError:
        raise ConfigError(f"seeds must be a count or a list of integers, got {seeds!r}") from None
    if not items:
        raise ConfigError("seeds must not be empty")
    for seed in items:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ConfigError(f"seeds must be non-negative integers, got {seed!r}")
    return sorted({int(seed) for seed in items})


def _check_budget(budget: Budget | Mapping[str, Any]) -> Budget:
    if isinstance(budget, Mapping):
        unknown = set(budget) - {"evaluations", "seconds"}
        if unknown:
            raise ConfigError(f"budget keys are 'evaluations' and 'seconds', got {sorted(unknown)}")
        budget = Budget(**budget)
    if not isinstance(budget, Budget):
        raise ConfigError(f"budget must be a Budget, got {budget!r}")
    seconds = budget.seconds
    return Budget(evaluations=budget.evaluations, seconds=None if seconds is None else float(seconds))


def _entry_point_names() -> set[str]:
    return {entry.name for entry in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def _plain_json(value: Any, where: str) -> Any:
    try:
        return json.loads(json.dumps(value, sort_keys=True, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where} cannot be recorded as JSON: {exc}") from None


@dataclass
class _StrategyEntry:
    name: str
    kind: str
    params: dict[str, Any]
    hyperparameters: dict[str, Any]  # full get_params(); those given if the plugin fails to import
    strategy_class: type[Strategy] | None = None


def _check_strategies(
    names: list[str], params: Mapping[str, Mapping[str, Any]] | None
) -> list[_StrategyEntry]:
    params = dict(params or {})
    for name, values in params.items():
        if name not in names:
            close = difflib.get_close_matches(str(name), names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"hyperparameters given for strategy {name!r}, which is not compared{hint} "
                f"(compared: {', '.join(names)})"
            )
        if not isinstance(values, Mapping):
            raise ConfigError(f"hyperparameters of {name!r} must be a mapping, got {values!r}")
    entry_points = _entry_point_names()
    out = []
    for name in names:
        given = dict(params.get(name, {}))
        if "seed" in given:
            raise ConfigError(
                f"strategy {name!r}: the seed comes from the seeds compared, not a hyperparameter"
            )
        try:
            cls = get_strategy_class(name)
        except ConfigError:  # a plugin that fails to import fails its own runs only
            out.append(_StrategyEntry(name, "", given, _plain_json(given, f"hyperparameters of {name!r}")))
            continue
        try:
            strategy = create_strategy(name, seed=0, **given)
        except NasbenchError:
            raise
        except Exception as exc:
            raise ConfigError(
                f"strategy {name!r} cannot be created with {given}: {_error_line(exc)}"
            ) from None
        hyperparameters = _plain_json(strategy.get_params(), f"hyperparameters of strategy {name!r}")
        # A class registered by decorator travels with its jobs: Dask pickles it by reference
        # (its module is imported in the worker) or, from __main__, by value.
        shipped = None if name in entry_points else cls
        out.append(_StrategyEntry(name, cls.kind, given, hyperparameters, strategy_class=shipped))
    return out


def _check_out(out: Path, overwrite: bool) -> None:
    if out.exists():
        if not out.is_dir():
            raise ConfigError(f"--out {out}: exists and is not a directory")
        if any(out.iterdir()) and not overwrite:
            raise ConfigError(
                f"--out {out}: directory exists and is not empty (--overwrite or overwrite=True replaces it)"
            )


# --------------------------------------------------------------------- execution
def _execute(payloads: list[dict[str, Any]], workers: int, scheduler: str | None) -> Iterator[dict[str, Any]]:
    if workers == 0 and scheduler is None:
        for payload in payloads:
            yield run_job(payload)
        return
    from distributed import as_completed

    from nasbench.generation.cluster import connect

    client, cluster = connect(workers, scheduler)
    try:
        pending = iter(payloads)
        slots = 4 * max(1, sum(client.nthreads().values()))
        futures = as_completed()
        payload_of: dict[str, dict[str, Any]] = {}
        tag = uuid.uuid4().hex[:8]

        def submit_next() -> bool:
            payload = next(pending, None)
            if payload is None:
                return False
            table, strategy, seed = payload["table"], payload["strategy"], payload["seed"]
            future = client.submit(
                run_job, payload, pure=False, key=f"compare-{tag}-{table}-{strategy}-{seed}"
            )
            payload_of[future.key] = payload
            futures.add(future)
            return True

        for _ in range(slots):
            if not submit_next():
                break
        for future in futures:
            payload = payload_of.pop(future.key)
            try:
                yield future.result()
            except Exception as exc:  # the job could not even start (e.g. unpicklable payload)
                yield {
                    "key": (payload["table"], payload["strategy"], payload["seed"]),
                    "kind": payload.get("kind", ""),
                    "status": "failed",
                    "error": _error_line(exc),
                    "traceback": _traceback_text(exc),
                    "seconds": 0.0,
                }
            submit_next()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# --------------------------------------------------------------------- writing
def _field(value: Any) -> str:
    """One CSV field: floats by repr (round-trip exact), NaN and None as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return "" if math.isnan(number) else repr(number)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(value)


def _csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_field(value) for value in row])
    return buffer.getvalue()


def _json_text(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _install(temporary: Path, out: Path, overwrite: bool) -> None:
    """Move the finished ``temporary`` directory to ``out`` (replacing it if allowed)."""
    if out.exists():
        if not out.is_dir():
            raise ConfigError(f"--out {out}: exists and is not a directory")
        if any(out.iterdir()):
            if not overwrite:
                raise ConfigError(f"--out {out}: directory became non-empty while comparing")
            old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(out, old)
            os.replace(temporary, out)
            shutil.rmtree(old, ignore_errors=True)
            return
        out.rmdir()
    os.replace(temporary, out)


def compare(
    tables: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    strategies: str | Sequence[str],
    seeds: int | Iterable[int],
    budget: Budget | Mapping[str, Any],
    out: str | os.PathLike[str],
    *,
    workers: int = 0,
    scheduler: str | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    overwrite: bool = False,
    progress: bool = True,
    surrogate_noise: bool = False,
) -> CompareSummary:
    """Run every strategy on every table for every seed and write the results directory ``out``.

    ``strategies``: names, a comma-separated string, or ``"all"`` (every registered one);
    ``seeds``: a count N (seeds 0..N-1) or a list; ``budget``: per run; ``params``:
    hyperparameters by strategy name. ``workers=0`` runs in this process, ``workers=K`` on a
    local Dask cluster of K single-threaded processes, ``scheduler`` on an existing cluster.
    A "table" may also be a surrogate benchmark directory (see
    :mod:`nasbench.prediction.surrogate_benchmark`), answered with noise when ``surrogate_noise``.
    ``out`` must not exist or be empty unless ``overwrite``. Raises a
    :class:`~nasbench.core.errors.NasbenchError` before any run starts on bad input; a run that
    raises is recorded as failed and the others go on.
    """
    started = time.perf_counter()
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 0:
        raise ConfigError(f"workers must be a non-negative integer, got {workers!r}")
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
        raise ConfigError(f"scheduler must be an address such as tcp://host:8786, got {scheduler!r}")
    target = Path(out)
    _check_out(target, overwrite)
    checked_budget = _check_budget(budget)
    seed_list = _check_seeds(seeds)
    names = _check_names(strategies)
    entries = _check_strategies(names, params)
    if not isinstance(surrogate_noise, bool):
        raise ConfigError(f"surrogate_noise must be True or False, got {surrogate_noise!r}")
    table_entries = _check_tables(tables, surrogate_noise)

    from nasbench import __version__

    config = {
        "format": FORMAT,
        "nasbench_version": __version__,
        "budget": checked_budget.to_dict(),
        "seeds": seed_list,
        "tables": [
            {
                "name": entry.name,
                "path": entry.given,
                "checksum": entry.table.checksum,
                "dataset": entry.table.dataset,
                "protocol": entry.table.protocol,
                "space": entry.table.space.to_dict(),
                "num_epochs": int(entry.table.num_epochs),
                "best_test_acc": entry.best_test_acc,
                "mean_train_seconds": entry.mean_train_seconds,
                **(
                    {}
                    if isinstance(entry.table, Table)
                    else {
                        "surrogate": entry.table.model,
                        "surrogate_noise": surrogate_noise,
                        "surrogate_quality": entry.table.quality,
                    }
                ),
            }
            for entry in table_entries
        ],
        "strategies": [
            {"name": entry.name, "kind": entry.kind, "hyperparameters": entry.hyperparameters}
            for entry in entries
        ],
    }
    config_text = _json_text(_plain_json(config, "the configuration"))

    payloads: list[dict[str, Any]] = []
    for table_entry in table_entries:
        for entry in entries:
            for seed in seed_list:
                payload: dict[str, Any] = {
                    "table": table_entry.name,
                    "path": table_entry.path,
                    "checksum": table_entry.table.checksum,
                    "strategy": entry.name,
                    "kind": entry.kind,
                    "seed": seed,
                    "budget": checked_budget.to_dict(),
                    "params": entry.params,
                    "surrogate_noise": surrogate_noise,
                }
                if entry.strategy_class is not None:
                    payload["strategy_class"] = entry.strategy_class
                payloads.append(payload)

    summary = CompareSummary(
        out=str(target),
        tables=[entry.name for entry in table_entries],
        strategies=names,
        seeds=seed_list,
        runs=len(payloads),
    )
    from tqdm import tqdm

    outcomes: dict[tuple[str, str, int], dict[str, Any]] = {}
    failed = 0
    bar = tqdm(
        total=len(payloads),
        desc="compare",
        unit="run",
        disable=not progress,
        file=sys.stderr,
        dynamic_ncols=True,
    )
    try:
        for outcome in _execute(payloads, int(workers), scheduler):
            outcomes[tuple(outcome["key"])] = outcome  # type: ignore[index]
            bar.update(1)
            if outcome["status"] != "ok":
                failed += 1
                bar.set_postfix_str(f"{failed} failed")
    finally:
        bar.close()

    runs_rows: list[list[Any]] = []
    trajectory_rows: list[list[Any]] = []
    pareto_rows: list[list[Any]] = []
    one_shot_rows: list[list[Any]] = []
    weight_rows: list[list[Any]] = []
    errors: list[dict[str, Any]] = []
    timing_runs: list[dict[str, Any]] = []
    for key in sorted(outcomes):
        outcome = outcomes[key]
        table_name, strategy_name, seed = key
        timing_runs.append(
            {"table": table_name, "strategy": strategy_name, "seed": seed, "seconds": outcome["seconds"]}
        )
        if outcome["status"] != "ok":
            summary.runs_failed += 1
            runs_rows.append(
                [
                    table_name,
                    strategy_name,
                    outcome["kind"],
                    seed,
                    "failed",
                    *[None] * (len(RUNS_COLUMNS) - 5),
                ]
            )
            errors.append(
                {
                    "table": table_name,
                    "strategy": strategy_name,
                    "seed": seed,
                    "error": outcome["error"],
                    "traceback": outcome["traceback"],
                }
            )
            continue
        summary.runs_ok += 1
        run = outcome["run"]
        runs_rows.append(
            [
                table_name,
                strategy_name,
                outcome["kind"],
                seed,
                "ok",
                run["evaluations"],
                run["sim_seconds"],
                run.get("final_index"),
                run.get("final_arch"),
                run.get("final_val_acc"),
                run.get("final_test_acc"),
                run.get("final_regret"),
                run["objective"],
                run["constraint"],
                run.get("search_seconds"),
            ]
        )
        trajectory_rows.extend([table_name, strategy_name, seed, *row] for row in outcome["trajectory"])
        pareto_rows.extend(
            [table_name, strategy_name, seed, run["objective"], *point] for point in outcome["pareto"]
        )
        if outcome.get("one_shot"):
            record = outcome["one_shot"]
            one_shot_rows.extend([table_name, strategy_name, seed, *row] for row in record["epochs"])
            weight_rows.extend([table_name, strategy_name, seed, *row] for row in record["weights"])
    summary.errors = errors
    summary.wall_seconds = time.perf_counter() - started
    timing = {
        "runs": timing_runs,
        "total_seconds": summary.wall_seconds,
        "workers": int(workers),
        "scheduler": scheduler,
    }
    files = {
        "config.json": config_text,
        "runs.csv": _csv(RUNS_COLUMNS, runs_rows),
        "trajectories.csv": _csv(TRAJECTORY_FILE_COLUMNS, trajectory_rows),
        "pareto.csv": _csv(PARETO_COLUMNS, pareto_rows),
        "one_shot.csv": _csv(ONE_SHOT_COLUMNS, one_shot_rows),
        "architecture_weights.csv": _csv(ARCHITECTURE_WEIGHT_COLUMNS, weight_rows),
        ERRORS_FILE: _json_text(errors),
        "timing.json": _json_text(timing),
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    temporary.mkdir()
    try:
        for name, text in files.items():
            with open(temporary / name, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        _install(temporary, target, overwrite)
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)
    summary.files = [str(target / name) for name in RESULT_FILES]
    return summary

"""The runner: every strategy on every table for every seed, written as one results directory.

:func:`compare` runs the jobs (table x strategy x seed) in this process (``workers=0``),
on a local Dask cluster of single-threaded worker processes (``workers=K``), or on an
existing Dask cluster (``scheduler="tcp://host:8786"``), and writes::

    DIR/config.json        what was compared: tables (with how runs are scored), strategies with
                           every hyperparameter, budget, seeds, the statistical protocol
    DIR/runs.csv           one row per run: status, incumbent, its test accuracy and regret
    DIR/trajectories.csv   one row per evaluation of every successful run
    DIR/pareto.csv         multi-objective runs: the non-dominated architectures they found
    DIR/one_shot.csv       one-shot runs: the supernet's training loss, accuracy and CPU seconds per epoch
    DIR/architecture_weights.csv  one-shot runs: the architecture distribution per epoch, edge and op
    DIR/errors.json        the runs that raised, with a one-line error and the traceback
    DIR/timing.json        wall seconds per run and in total

(file names and columns: :mod:`nasbench.bench.results`)

Everything except ``timing.json`` is byte-identical for the same configuration and seeds,
whichever way the jobs ran (one-shot runs excepted: they train a supernet for real and are
charged its measured CPU seconds): floats are written with ``repr`` (round-trip exact), rows are
sorted, and a missing value (a NaN, or a final incumbent a failed run never had) is an
empty field. Rows of a failed run leave ``evaluations``, ``sim_seconds`` and every
``final_*`` field empty.

Everything that can be checked before a job starts is checked first
(:mod:`nasbench.search.checks`: strategy names, hyperparameters, budget, seeds, tables,
the output directory) and raises one :class:`~nasbench.core.errors.NasbenchError`. A job
that raises while it runs (a strategy bug, a plugin that fails to import, a property a
table lacks) fails only that run (:mod:`nasbench.search.jobs`), and is logged. The
directory is written under a temporary name and renamed into place
(:mod:`nasbench.search.results_files`), so an existing ``DIR`` is never left half-written.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nasbench.bench.benchmark import Budget
from nasbench.bench.results import FORMAT, RESULT_FILES
from nasbench.bench.scoring import check_scoring
from nasbench.core.errors import ConfigError
from nasbench.core.table import Table
from nasbench.core.validation import Integer, Real, check_bool, validate
from nasbench.search.checks import (
    StrategyEntry,
    TableEntry,
    check_budget,
    check_out,
    check_score_tables,
    check_seeds,
    check_statistics,
    check_tables,
    describe_strategies,
    plain_json,
    score_entries,
)
from nasbench.search.jobs import execute
from nasbench.search.partial import PartialRuns, normalised
from nasbench.search.results_files import install, json_text, result_files
from nasbench.search.sandbox import DEFAULT_RUN_TIMEOUT_SECONDS

__all__ = ["CompareSummary", "compare"]

logger = logging.getLogger(__name__)

#: The longest per-run wall-clock limit accepted (a week).
MAX_RUN_TIMEOUT_SECONDS = 7 * 24 * 3600.0


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
    resumed: int = 0
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
            "resumed": self.resumed,
            "errors": [{k: v for k, v in e.items() if k != "traceback"} for e in self.errors],
            "wall_seconds": self.wall_seconds,
            "files": self.files,
        }


def _config(
    budget: Budget,
    seeds: list[int],
    tables: list[TableEntry],
    strategies: list[StrategyEntry],
    surrogate_noise: bool,
    run_timeout: float,
    scoring: str,
    statistics: dict[str, Any],
) -> str:
    """The text of config.json. Per table: ``scoring`` ({"mode", "text"}: how runs are
    scored, :mod:`nasbench.bench.scoring`), ``best_test_acc_by_seed`` (the run's best on
    those values, the reference of its regret; unconstrained), ``best_test_acc`` (their
    mean), ``test_seed_sd_pp`` (the table's seed noise of one run's final test accuracy)
    and ``hypervolume_reference``; at the top, the scoring asked for and ``statistics``,
    the protocol the report applies, fixed before any run."""
    from nasbench import __version__

    config = {
        "format": FORMAT,
        "nasbench_version": __version__,
        "budget": budget.to_dict(),
        "run_timeout_seconds": run_timeout,
        # every run in a sandbox process without test data (nasbench.search.sandbox)
        "isolation": "process",
        "seeds": seeds,
        "scoring": scoring,
        "statistics": statistics,
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
                "best_test_acc_by_seed": entry.best_test_acc_by_seed,
                "scoring": entry.scoring,
                "test_seed_sd_pp": entry.test_seed_sd_pp,
                "hypervolume_reference": entry.hypervolume_reference,
                "mean_run_seconds": entry.mean_run_seconds,
                **(
                    {}
                    if entry.score_table is None
                    else {"scored_by": {"path": entry.score_given, "checksum": entry.score_table.checksum}}
                ),
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
            for entry in tables
        ],
        "strategies": [
            {
                "name": entry.name,
                "kind": entry.kind,
                "hyperparameters": entry.hyperparameters,
                "provider": entry.provider or {"distribution": "", "version": "", "module": ""},
            }
            for entry in strategies
        ],
    }
    return json_text(plain_json(config, "the configuration"))


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
    score_tables: Mapping[str, str | os.PathLike[str]] | None = None,
    run_timeout: float = DEFAULT_RUN_TIMEOUT_SECONDS,
    scoring: str = "holdout",
    statistics: str = "baseline",
    baseline: str | None = None,
    alpha: float = 0.05,
) -> CompareSummary:
    """Run every strategy on every table for every seed and write the results directory ``out``.

    ``strategies``: names, a comma-separated string, or ``"all"`` (every registered one
    but the one-shot ones); ``seeds``: a count N (seeds 0..N-1) or a list; ``budget``: per
    run; ``params``: hyperparameters by strategy name. ``workers=0`` runs in this process,
    ``workers=K`` on a local Dask cluster of K single-threaded processes, ``scheduler`` on
    an existing cluster. ``score_tables`` maps a table (result name or path as given) to
    another table of the same space whose test accuracy scores its runs (search on
    12-epoch results, report 200-epoch ones). A "table" may also be a surrogate benchmark directory (see
    :mod:`nasbench.prediction.surrogate_benchmark`), answered with noise when ``surrogate_noise``.
    ``scoring`` is how a run's incumbent is scored (:mod:`nasbench.bench.scoring`):
    ``"holdout"`` (default: the test accuracy of the seeds the search did not see) or
    ``"all-seeds"`` (every seed, the seen one included, to measure that bias). The
    statistical protocol the report applies is fixed here, before any run: ``statistics``
    ``"baseline"`` (Wilcoxon-Holm of every strategy against ``baseline``, default ``rs``,
    which must then be compared) or ``"demsar"`` (Friedman, then Nemenyi), at level ``alpha``.
    ``out`` must not exist or be empty unless ``overwrite``. Raises a
    :class:`~nasbench.core.errors.NasbenchError` before any run starts on bad input.

    Each run executes in a sandbox (:mod:`nasbench.search.sandbox`) that holds no test
    data, under ``run_timeout`` wall-clock seconds; a run that raises (anything, SystemExit
    included), times out or whose process dies is recorded as failed (and logged) and the
    others go on. Finished runs are kept in ``out.partial/`` as they finish
    (:mod:`nasbench.search.partial`): the same comparison run again after a crash resumes.
    """
    started = time.perf_counter()
    validate("compare", "workers", workers, Integer(low=0))
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
        raise ConfigError(f"scheduler must be an address such as tcp://host:8786, got {scheduler!r}")
    validate(
        "compare", "run_timeout", run_timeout, Real(low=0.0, high=MAX_RUN_TIMEOUT_SECONDS, low_open=True)
    )
    target = Path(out)
    check_out(target, overwrite)
    resolved = target.resolve()
    checked_budget = check_budget(budget)
    seed_list = check_seeds(seeds)
    check_scoring("compare", scoring)
    names, entries = describe_strategies(strategies, params)
    chosen_statistics = check_statistics(statistics, baseline, alpha, names)
    check_bool("compare", "surrogate_noise", surrogate_noise)
    table_entries = check_tables(tables, surrogate_noise)
    check_score_tables(table_entries, score_tables)
    score_entries(table_entries, seed_list, scoring, surrogate_noise)
    config_text = _config(
        checked_budget,
        seed_list,
        table_entries,
        entries,
        surrogate_noise,
        float(run_timeout),
        scoring,
        chosen_statistics,
    )
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
                    "scoring": scoring,
                    "run_timeout": float(run_timeout),
                }
                if table_entry.score_table is not None:
                    payload["score_path"] = table_entry.score_path
                    payload["score_checksum"] = table_entry.score_table.checksum
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
    partial = PartialRuns(resolved, config_text, overwrite)
    outcomes = partial.load([(p["table"], p["strategy"], p["seed"]) for p in payloads])
    summary.resumed = len(outcomes)
    if outcomes:
        logger.info(
            "%s: resuming, %d of %d runs already finished", partial.path, len(outcomes), len(payloads)
        )
    pending = [p for p in payloads if (p["table"], p["strategy"], p["seed"]) not in outcomes]
    partial.open()
    try:
        outcomes.update(_run(pending, int(workers), scheduler, progress, partial))
    except BaseException:
        if not outcomes and not partial.added:  # nothing finished: leave nothing behind
            partial.discard()
        raise
    finally:
        partial.close()
    timing_runs: list[dict[str, Any]] = []
    for key in sorted(outcomes):
        outcome = outcomes[key]
        table_name, strategy_name, seed = key
        timing_runs.append(
            {"table": table_name, "strategy": strategy_name, "seed": seed, "seconds": outcome["seconds"]}
        )
        if outcome["status"] == "ok":
            summary.runs_ok += 1
        else:
            summary.runs_failed += 1
            summary.errors.append(
                {
                    "table": table_name,
                    "strategy": strategy_name,
                    "seed": seed,
                    "error": outcome["error"],
                    "traceback": outcome["traceback"],
                }
            )
    summary.wall_seconds = time.perf_counter() - started
    timing = {
        "runs": timing_runs,
        "total_seconds": summary.wall_seconds,
        "workers": int(workers),
        "scheduler": scheduler,
    }
    files = {"config.json": config_text, **result_files(outcomes), "timing.json": json_text(timing)}
    install(files, resolved, overwrite)
    partial.discard()
    summary.files = [str(target / name) for name in RESULT_FILES]
    return summary


def _run(
    payloads: list[dict[str, Any]],
    workers: int,
    scheduler: str | None,
    progress: bool,
    partial: PartialRuns,
) -> dict[tuple[str, str, int], dict[str, Any]]:
    """Every job's outcome by (table, strategy, seed), each kept in ``partial`` as it
    finishes, with a progress bar; failures logged."""
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
        for finished in execute(payloads, workers, scheduler):
            outcome = normalised(finished)
            partial.add(outcome)
            key = outcome["key"]
            outcomes[key] = outcome
            bar.update(1)
            if outcome["status"] != "ok":
                failed += 1
                bar.set_postfix_str(f"{failed} failed")
                logger.info("run %s / %s / seed %s failed: %s", *key, outcome["error"])
    finally:
        bar.close()
    return outcomes

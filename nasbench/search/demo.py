"""The main job: the standard comparison of the built-in strategies on the shipped table.

Every built-in black-box strategy runs for ``seeds`` seeds under one budget of simulated
seconds: ``budget_runs`` times the mean cost of one full training run of the table
(:func:`nasbench.core.cost.mean_run_seconds`), so the budget means the same on any
table. :func:`run_demo` runs the comparison and returns its summary; the leaderboard is
written from its results directory by the reporting layer (``nasbench demo`` does both).

Runs are scored as :func:`~nasbench.search.runner.compare` scores by default (hold-out
seeds); the statistical protocol is the default one (every strategy against random
search), or Demšar's when a chosen subset of strategies leaves random search out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from nasbench.bench.benchmark import Budget
from nasbench.core.cost import mean_run_seconds
from nasbench.core.errors import ConfigError, TableError
from nasbench.core.table import open_table
from nasbench.core.validation import check_float, check_int
from nasbench.search.results_files import check_only_results
from nasbench.search.runner import compare
from nasbench.search.strategy import ENTRY_POINT_GROUP

__all__ = [
    "DEFAULT_TABLE",
    "NB201_TABLES",
    "TABLES_ENVIRONMENT_VARIABLE",
    "DemoSummary",
    "builtin_strategies",
    "check_results_directory",
    "default_table",
    "nb201_tables",
    "run_demo",
    "run_nb201_demo",
]

#: File name of the shipped default table in ``tables/``.
DEFAULT_TABLE = "nb201-fmnist-cpu.h5"
#: File names of the shipped NAS-Bench-201 12-epoch tables (imported, no training times).
NB201_TABLES: tuple[str, ...] = (
    "nb201-cifar10-hp12.h5",
    "nb201-cifar100-hp12.h5",
    "nb201-imagenet16-hp12.h5",
)
#: Environment variable naming a folder that holds the shipped tables.
TABLES_ENVIRONMENT_VARIABLE = "NASBENCH_TABLES"
#: Entry points of this package's own one-shot strategies (left out of the demo).
_ONE_SHOT_MODULE = "nasbench.strategies.oneshot:"


def default_table() -> Path:
    """The shipped default table :data:`DEFAULT_TABLE`: in ``./tables/`` (a checkout's
    working directory), else in the folder the environment variable ``NASBENCH_TABLES``
    names (for an installed package, whose wheel ships no tables). A TableError saying
    how to pass a table otherwise."""
    candidates = [Path("tables") / DEFAULT_TABLE]
    folder = os.environ.get(TABLES_ENVIRONMENT_VARIABLE)
    if folder:
        candidates.append(Path(folder) / DEFAULT_TABLE)
    for path in candidates:
        if path.is_file():
            return path
    raise TableError(
        f"the default table {DEFAULT_TABLE} is neither in ./tables/ nor in ${TABLES_ENVIRONMENT_VARIABLE}"
        f" ({folder or 'not set'}); pass table=PATH or set {TABLES_ENVIRONMENT_VARIABLE} to its folder"
    )


def nb201_tables() -> list[Path]:
    """The shipped NAS-Bench-201 tables found beside the default table (./tables/, then
    ``$NASBENCH_TABLES``); empty when they are not there."""
    folders = [Path("tables")]
    if os.environ.get(TABLES_ENVIRONMENT_VARIABLE):
        folders.append(Path(os.environ[TABLES_ENVIRONMENT_VARIABLE]))
    for folder in folders:
        paths = [folder / name for name in NB201_TABLES]
        if all(path.is_file() for path in paths):
            return paths
    return []


def builtin_strategies() -> list[str]:
    """Names of the black-box strategies this package ships (the entry points of the
    ``nasbench`` distribution itself, never a plug-in's of the same name; the one-shot
    ones left out: they train supernets for minutes each), sorted."""
    names = []
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        builtin = entry.dist is not None and entry.dist.name == "nasbench"
        if builtin and not entry.value.startswith(_ONE_SHOT_MODULE):
            names.append(entry.name)
    return sorted(set(names))


def check_results_directory(results: str | os.PathLike[str]) -> None:
    """ConfigError unless the demo may write its results directory ``results`` (replaced
    on every run): absent, empty, or written by an earlier comparison and unchanged since
    (:func:`~nasbench.search.results_files.check_only_results`). Called before anything
    runs, so a refusal costs no comparison."""
    path = Path(results)
    if path.exists():
        if not path.is_dir():
            raise ConfigError(f"results {path}: exists and is not a directory")
        check_only_results(path)


@dataclass
class DemoSummary:
    """What :func:`run_demo` compared and where the results are."""

    table: str
    strategies: list[str]
    seeds: int
    budget_seconds: float
    results: str
    compare_wall_seconds: float
    runs_failed: int


def _statistics(names: list[str]) -> str:
    """The demo's statistical protocol, from what it compares (never from results)."""
    return "baseline" if {"rs", "all"} & set(names) else "demsar"


def run_demo(
    *,
    table: str | os.PathLike[str] | None = None,
    results: str | os.PathLike[str] = "build/leaderboard-results",
    seeds: int = 10,
    budget_runs: float = 100.0,
    strategies: list[str] | None = None,
    workers: int = 2,
    progress: bool = True,
) -> DemoSummary:
    """Compare the built-in strategies (or ``strategies``) on ``table`` (default:
    :func:`default_table`) for ``seeds`` seeds, each run under ``budget_runs`` mean full
    runs of simulated seconds; the results directory ``results`` is replaced if an earlier
    comparison wrote it (a directory holding anything else is refused, see
    :func:`check_results_directory`)."""
    check_int("demo", "seeds", seeds, low=1)
    check_float("demo", "budget_runs", budget_runs, 0.0, low_open=True)
    path = Path(table) if table is not None else default_table()
    seconds = round(budget_runs * mean_run_seconds(open_table(path)), 1)
    names = strategies if strategies is not None else builtin_strategies()
    if not names:
        raise ConfigError("no built-in strategies are registered (is the package installed?)")
    summary = compare(
        [path],
        names,
        seeds,
        Budget(seconds=seconds),
        results,
        workers=workers,
        overwrite=True,
        progress=progress,
        statistics=_statistics(names),
    )
    return DemoSummary(
        table=str(path),
        strategies=list(summary.strategies),
        seeds=seeds,
        budget_seconds=seconds,
        results=str(results),
        compare_wall_seconds=summary.wall_seconds,
        runs_failed=summary.runs_failed,
    )


def run_nb201_demo(
    *,
    tables: list[str | os.PathLike[str]] | None = None,
    results: str | os.PathLike[str] = "build/leaderboard-nb201-results",
    seeds: int = 10,
    budget_evaluations: int = 100,
    strategies: list[str] | None = None,
    workers: int = 2,
    progress: bool = True,
) -> DemoSummary:
    """The comparison on the shipped NAS-Bench-201 12-epoch tables (default
    :func:`nb201_tables`): the built-in black-box strategies (the tables hold one epoch
    and no devices, so multi-fidelity, multi-objective and constrained ones have nothing
    to work with), ``budget_evaluations`` evaluations per run, since the tables record no
    training times. The results directory ``results`` is replaced as :func:`run_demo`'s is."""
    from nasbench.search.strategy import strategy_info

    check_int("demo", "seeds", seeds, low=1)
    check_int("demo", "budget_evaluations", budget_evaluations, low=1)
    paths = [Path(t) for t in tables] if tables is not None else nb201_tables()
    if not paths:
        raise TableError(f"the NAS-Bench-201 tables ({', '.join(NB201_TABLES)}) are not in ./tables/")
    if strategies is None:
        strategies = [name for name in builtin_strategies() if strategy_info(name).kind == "black-box"]
    summary = compare(
        paths,
        strategies,
        seeds,
        Budget(evaluations=budget_evaluations),
        results,
        workers=workers,
        overwrite=True,
        progress=progress,
        statistics=_statistics(strategies),
    )
    return DemoSummary(
        table=", ".join(str(p) for p in paths),
        strategies=list(summary.strategies),
        seeds=seeds,
        budget_seconds=0.0,
        results=str(results),
        compare_wall_seconds=summary.wall_seconds,
        runs_failed=summary.runs_failed,
    )

"""What :func:`~nasbench.search.runner.compare` checks before any job starts.

Strategy names and hyperparameters, seeds, the budget, the tables (or surrogate
benchmark directories) and the output directory: each check returns the normalised value
or raises one :class:`~nasbench.core.errors.NasbenchError` naming the parameter, so a
comparison with bad input never starts.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.bench.benchmark import Budget
from nasbench.bench.scoring import check_scoring, done_seed_mean, hypervolume_reference, seed_sd_pp
from nasbench.core.cost import mean_run_seconds
from nasbench.core.errors import ConfigError, NasbenchError
from nasbench.core.table import Table
from nasbench.core.validation import Real, check_int, validate
from nasbench.search.jobs import benchmark_for, cache_table, error_line, open_source
from nasbench.search.results_files import check_only_results
from nasbench.search.strategy import (
    ENTRY_POINT_GROUP,
    Strategy,
    create_strategy,
    get_strategy_class,
    is_one_shot,
    list_strategies,
    strategy_registry,
)

__all__ = [
    "StrategyEntry",
    "TableEntry",
    "check_budget",
    "check_names",
    "check_out",
    "check_score_tables",
    "check_seeds",
    "check_statistics",
    "check_strategies",
    "check_tables",
    "plain_json",
    "score_entries",
]

#: The statistical protocols a comparison may be reported under (chosen before it runs):
#: Wilcoxon-Holm against a baseline strategy, or Demšar's Friedman-Nemenyi.
STATISTICS_PROTOCOLS: tuple[str, ...] = ("baseline", "demsar")
DEFAULT_BASELINE = "rs"


@dataclass
class TableEntry:
    """A checked table: its result name (file stem), the path as given and resolved, the
    opened source, and the figures config.json records."""

    name: str
    given: str
    path: str
    table: Any  # a Table, or a SurrogateModel
    best_test_acc: float
    mean_run_seconds: float
    #: The table runs are scored by when not this one (path as given, path, opened).
    score_given: str | None = None
    score_path: str | None = None
    score_table: Any = None
    #: Set by :func:`score_entries`: how runs are scored ({"mode", "text"}), the best
    #: score of the run of each seed (by seed as a string), the seed noise of one run's
    #: final test accuracy in percentage points, and the hypervolume reference point.
    scoring: dict[str, str] | None = None
    best_test_acc_by_seed: dict[str, float] | None = None
    test_seed_sd_pp: float | None = None
    hypervolume_reference: dict[str, float | None] | None = None


@dataclass
class StrategyEntry:
    """A checked strategy: the hyperparameters given, all of them (``get_params()``; those
    given if the plugin fails to import), and the class to ship to workers when it was
    registered by decorator."""

    name: str
    kind: str
    params: dict[str, Any]
    hyperparameters: dict[str, Any]
    strategy_class: type[Strategy] | None = None
    #: Who provides the class: ``{"distribution", "version", "module"}`` (empty when the
    #: plugin fails to import), recorded in config.json beside the name.
    provider: dict[str, str] | None = None


def check_tables(
    tables: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], surrogate_noise: bool = False
) -> list[TableEntry]:
    """Open every table once (kept for this process's jobs), sorted by name; names are
    file stems and must be unique."""
    items = [tables] if isinstance(tables, (str, os.PathLike)) else list(tables)
    if not items:
        raise ConfigError("compare needs at least one table")
    entries: dict[str, TableEntry] = {}
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
        table = open_source(path)
        probe = benchmark_for(table, 0, surrogate_noise)  # checks the source can serve a benchmark
        run_seconds = mean_run_seconds(table) if isinstance(table, Table) else probe.task.mean_run_seconds
        entries[name] = TableEntry(name, given, path, table, probe.best_test_acc, run_seconds)
        cache_table(path, table)
    return [entries[name] for name in sorted(entries)]


def check_names(strategies: str | Sequence[str]) -> list[str]:
    """Strategy names, sorted: a list or a comma-separated string; ``all`` is every
    registered strategy except the one-shot ones (they train for real: by name only)."""
    if isinstance(strategies, str):
        items = [part.strip() for part in strategies.split(",")]
    else:
        items = [str(part).strip() for part in strategies]
    if not items or any(not part for part in items):
        raise ConfigError(f"strategies must be a non-empty comma-separated list of names, got {strategies!r}")
    known = list_strategies()
    names: set[str] = set()
    for item in items:
        if item == "all":
            names.update(name for name in known if not is_one_shot(name))
            continue
        if item not in known:
            get_strategy_class(item)  # raises the registry's error, with a closest match
        names.add(item)
    if not names:
        raise ConfigError("no strategy is registered")
    return sorted(names)


def check_seeds(seeds: int | Iterable[int]) -> list[int]:
    """A count N (seeds 0..N-1) or a list of seeds, sorted and unique."""
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
    return sorted({check_int("compare", "seeds", seed, low=0) for seed in items})


def check_budget(budget: Budget | Mapping[str, Any]) -> Budget:
    """A :class:`~nasbench.bench.benchmark.Budget`, or a mapping of its fields; seconds as a float."""
    if isinstance(budget, Mapping):
        unknown = set(budget) - {"evaluations", "seconds"}
        if unknown:
            raise ConfigError(f"budget keys are 'evaluations' and 'seconds', got {sorted(unknown)}")
        budget = Budget(**budget)
    if not isinstance(budget, Budget):
        raise ConfigError(f"budget must be a Budget, got {budget!r}")
    seconds = budget.seconds
    return Budget(evaluations=budget.evaluations, seconds=None if seconds is None else float(seconds))


def plain_json(value: Any, where: str) -> Any:
    """``value`` as JSON would read it back (a ConfigError naming ``where`` if it cannot be)."""
    try:
        return json.loads(json.dumps(value, sort_keys=True, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where} cannot be recorded as JSON: {exc}") from None


def check_strategies(names: list[str], params: Mapping[str, Mapping[str, Any]] | None) -> list[StrategyEntry]:
    """Every strategy created once with its hyperparameters (``params`` by name); a plugin
    that fails to import is kept (its runs fail), any other error raises."""
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
    entry_points = {entry.name for entry in metadata.entry_points(group=ENTRY_POINT_GROUP)}
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
            out.append(StrategyEntry(name, "", given, plain_json(given, f"hyperparameters of {name!r}")))
            continue
        try:
            strategy = create_strategy(name, seed=0, **given)
        except NasbenchError:
            raise
        except Exception as exc:
            raise ConfigError(
                f"strategy {name!r} cannot be created with {given}: {error_line(exc)}"
            ) from None
        hyperparameters = plain_json(strategy.get_params(), f"hyperparameters of strategy {name!r}")
        # A class registered by decorator travels with its jobs: Dask pickles it by reference
        # (its module is imported in the worker) or, from __main__, by value.
        shipped = None if name in entry_points else cls
        provider = strategy_registry.provider(name)
        out.append(
            StrategyEntry(name, cls.kind, given, hyperparameters, strategy_class=shipped, provider=provider)
        )
    return out


def describe_strategies(
    strategies: str | Sequence[str], params: Mapping[str, Mapping[str, Any]] | None
) -> tuple[list[str], list[StrategyEntry]]:
    """:func:`check_names` and :func:`check_strategies`, done in a sandbox child
    (:func:`~nasbench.search.sandbox.describe_isolated`): third-party plug-ins are imported
    there, never in the process that answers and scores the runs. Strategies registered
    by decorator in this process are shipped to it, and to the runs."""
    from nasbench.search.sandbox import describe_isolated

    if isinstance(params, Mapping):
        for name, values in params.items():
            if not isinstance(values, Mapping):
                raise ConfigError(f"hyperparameters of {name!r} must be a mapping, got {values!r}")
    if not isinstance(strategies, str):
        try:
            strategies = [str(part) for part in strategies]
        except TypeError:
            raise ConfigError(f"strategies must be a list of names, got {strategies!r}") from None
    entry_points = {entry.name for entry in metadata.entry_points(group=ENTRY_POINT_GROUP)}
    classes = {
        name: cls
        for name, cls in strategy_registry.registered.items()
        if name not in entry_points and ":" not in name
    }
    names, described = describe_isolated(strategies, params, classes)
    entries = [
        StrategyEntry(
            item["name"],
            item["kind"],
            dict((params or {}).get(item["name"], {})),
            item["hyperparameters"],
            strategy_class=classes.get(item["name"]),
            provider=item["provider"],
        )
        for item in described
    ]
    return names, entries


def check_out(out: Path, overwrite: bool) -> None:
    """``out`` must not exist, or be an empty directory, or — with ``overwrite`` — a results
    directory: ``overwrite`` never replaces a directory holding files compare did not write."""
    if out.exists():
        if not out.is_dir():
            raise ConfigError(f"out {out}: exists and is not a directory")
        if any(out.iterdir()) and not overwrite:
            raise ConfigError(f"out {out}: directory exists and is not empty (overwrite=True replaces it)")
        check_only_results(out)


def check_score_tables(
    entries: list[TableEntry], score_tables: Mapping[str, str | os.PathLike[str]] | None
) -> None:
    """Attach scoring tables to the entries they score: keys name a search table by its
    result name (file stem) or its path as given; each scoring table must hold every
    architecture of the same space with ``test_acc``. Updates the entries' best test
    accuracy to the scoring table's."""
    if not score_tables:
        return
    by_key = {entry.name: entry for entry in entries} | {entry.given: entry for entry in entries}
    for key, given in score_tables.items():
        entry = by_key.get(os.fspath(key))
        if entry is None:
            raise ConfigError(
                f"--score-table names {key!r}, which is not a compared table "
                f"(tables: {', '.join(e.name for e in entries)})"
            )
        if not isinstance(entry.table, Table):
            raise ConfigError(
                f"{entry.given}: only a table, not a surrogate model, can be scored by another table"
            )
        path = str(Path(given).resolve())
        score = open_source(path)
        if not isinstance(score, Table):
            raise ConfigError(f"{given}: a scoring table must be a table file")
        probe = benchmark_for(entry.table, 0, False)
        probe.score_by(score)  # checks space, completeness and test_acc
        entry.score_given, entry.score_path, entry.score_table = os.fspath(given), path, score
        entry.best_test_acc = probe.best_test_acc
        cache_table(path, score)


def score_entries(entries: list[TableEntry], seeds: list[int], scoring: str, surrogate_noise: bool) -> None:
    """Fill each entry's scoring figures (see :class:`TableEntry`) for the runs of ``seeds``
    under ``scoring`` (:mod:`nasbench.bench.scoring`); ``best_test_acc`` becomes the mean of
    the runs' bests (their common value when the scoring does not depend on the seed)."""
    scoring = check_scoring("compare", scoring)
    for entry in entries:
        bests: dict[str, float] = {}
        for seed in seeds:
            probe = benchmark_for(entry.table, seed, surrogate_noise, scoring)
            if entry.score_table is not None:
                probe.score_by(entry.score_table)
            bests[str(seed)] = probe.best_test_acc
        values = list(bests.values())
        entry.best_test_acc = values[0] if len(set(values)) == 1 else float(np.mean(values))
        entry.best_test_acc_by_seed = bests
        entry.scoring = probe.scoring.to_dict()
        scored_by = entry.score_table if entry.score_table is not None else entry.table
        if isinstance(scored_by, Table):
            entry.test_seed_sd_pp = seed_sd_pp(scored_by)
            test_acc = done_seed_mean(scored_by)[scored_by.class_row]
        else:  # a surrogate model: its noise-free prediction, no seeds
            entry.test_seed_sd_pp = None
            predicted = np.asarray(scored_by.predictions()["test_acc"][0], dtype=np.float64)
            test_acc = predicted[scored_by.classes()[1]]
        entry.hypervolume_reference = hypervolume_reference(probe.space, test_acc, probe.task.properties)


def check_statistics(statistics: str, baseline: str | None, alpha: float, names: list[str]) -> dict[str, Any]:
    """The statistical protocol config.json records, fixed before any run: ``{"protocol",
    "baseline", "alpha"}``. Protocol ``baseline`` tests every strategy against ``baseline``
    (default random search, ``rs``), which must be compared when more than one strategy is;
    ``demsar`` takes no baseline."""
    if statistics not in STATISTICS_PROTOCOLS:
        raise ConfigError(f"statistics must be one of {', '.join(STATISTICS_PROTOCOLS)}, got {statistics!r}")
    alpha = validate("compare", "alpha", alpha, Real(0.0, 0.5, low_open=True))
    if statistics == "demsar":
        if baseline is not None:
            raise ConfigError(
                f"a baseline ({baseline!r}) is for the statistics protocol 'baseline', not 'demsar'"
            )
        return {"protocol": "demsar", "baseline": None, "alpha": alpha}
    if baseline is None:
        baseline = DEFAULT_BASELINE
    if not isinstance(baseline, str) or not baseline:
        raise ConfigError(f"baseline must be a strategy name, got {baseline!r}")
    if len(names) > 1 and baseline not in names:
        raise ConfigError(
            f"the statistics protocol 'baseline' tests every strategy against {baseline!r}, which is "
            f"not compared (compared: {', '.join(names)}); compare it, name another baseline, "
            "or choose the protocol 'demsar'"
        )
    return {"protocol": "baseline", "baseline": baseline, "alpha": alpha}

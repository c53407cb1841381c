"""Commands that compare search strategies: ``compare``, ``demo``, ``strategies`` and
``report``.

``strategies`` and ``report`` never import torch: the search and reporting modules are
imported inside the handlers, and listing strategies imports no strategy's module.
The search layer never writes reports (it may not import reporting), so ``demo`` runs the
comparison and then writes the leaderboard itself.
"""

from __future__ import annotations

import argparse
import sys
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from nasbench.cli.args import (
    Subcommands,
    assignment,
    count,
    print_json,
    real,
    scheduler_address,
    strategy_assignment,
    strategy_params,
)
from nasbench.core.errors import ConfigError, NasbenchError, TableError, one_line

__all__ = ["add_compare", "add_demo", "add_report", "add_strategies"]


# --------------------------------------------------------------------- compare
def add_compare(commands: Subcommands) -> None:
    p = commands.add_parser(
        "compare",
        help="run search strategies x seeds on tables and write a results directory",
        description="Run every strategy on every table for seeds 0..N-1 under one budget per run, "
        "in this process or on Dask workers, and write DIR/config.json, runs.csv, trajectories.csv, "
        "pareto.csv, errors.json and timing.json (all but timing.json byte-identical on a rerun). "
        "A run that raises is recorded in errors.json and the others go on.",
    )
    p.add_argument(
        "--table",
        action="append",
        required=True,
        metavar="TABLE",
        help="an .h5 table, or a surrogate benchmark directory from `nasbench surrogate fit` (repeatable)",
    )
    p.add_argument(
        "--surrogate-noise",
        action="store_true",
        help="surrogate benchmarks answer with their noise model (default: the noise-free mean)",
    )
    p.add_argument(
        "--strategies",
        required=True,
        help="comma-separated strategy names, or 'all' (see `nasbench strategies`)",
    )
    p.add_argument(
        "--seeds",
        type=count("--seeds", 1),
        required=True,
        metavar="N",
        help="number of seeds: runs seeds 0..N-1",
    )
    p.add_argument(
        "--budget-evals",
        type=count("--budget-evals", 1),
        default=None,
        metavar="M",
        help="evaluations per run",
    )
    p.add_argument(
        "--budget-seconds",
        type=real("--budget-seconds"),
        default=None,
        metavar="S",
        help="simulated training seconds per run",
    )
    p.add_argument(
        "--score-table",
        type=assignment("--score-table", "TABLE"),
        action="append",
        metavar="TABLE=SCORE",
        help="score the runs on TABLE (its name or path) by the test accuracy of the table SCORE, "
        "e.g. search on NAS-Bench-201's 12-epoch table, report its 200-epoch test accuracy (repeat)",
    )
    p.add_argument(
        "--scoring",
        choices=("holdout", "all-seeds"),
        default="holdout",
        help="test accuracy a run is scored by: 'holdout' (default), each class's seeds other than "
        "the one the search saw; 'all-seeds', every seed, the seen one included (biased; to measure "
        "that bias or reproduce earlier results)",
    )
    p.add_argument(
        "--stats",
        choices=("baseline", "demsar"),
        default="baseline",
        help="statistical protocol of the report, fixed before the runs: 'baseline' (default), "
        "Wilcoxon-Holm of every strategy against --baseline; 'demsar', Friedman then Nemenyi",
    )
    p.add_argument(
        "--baseline",
        default=None,
        metavar="NAME",
        help="the compared strategy every other is tested against with --stats baseline (default rs)",
    )
    p.add_argument(
        "--alpha",
        type=real("--alpha", positive=True),
        default=None,
        metavar="A",
        help="significance level of the report's tests, in (0, 0.5] (default 0.05)",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="results directory to write")
    p.add_argument(
        "--workers",
        type=count("--workers", 0),
        default="0",
        metavar="K",
        help="local Dask worker processes, one thread each (default 0: in this process)",
    )
    p.add_argument(
        "--scheduler",
        type=scheduler_address("--scheduler"),
        default=None,
        help="address of an existing Dask scheduler (tcp://host:8786)",
    )
    p.add_argument(
        "--run-timeout",
        type=real("--run-timeout", positive=True),
        default=None,
        metavar="SECONDS",
        help="wall-clock limit of one run; a run past it is stopped and recorded as failed (default 3600)",
    )
    p.add_argument(
        "--param",
        action="append",
        type=strategy_assignment,
        metavar="NAME.KEY=VALUE",
        help="a hyperparameter of one strategy, e.g. --param re.population_size=20 (VALUE read as JSON)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing non-empty DIR")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_compare)


def _check_out(out: Path, overwrite: bool) -> None:
    """Refuse an ``--out`` that is a file, or a non-empty directory without ``--overwrite``
    (the runner refuses them too; here the message names the flags)."""
    if out.exists():
        if not out.is_dir():
            raise ConfigError(f"--out {out}: exists and is not a directory")
        if any(out.iterdir()) and not overwrite:
            raise ConfigError(f"--out {out}: directory exists and is not empty (--overwrite replaces it)")


def cmd_compare(args: argparse.Namespace) -> int:
    from nasbench.bench.benchmark import Budget
    from nasbench.search.runner import compare

    if args.budget_evals is None and args.budget_seconds is None:
        raise ConfigError("compare needs a budget: --budget-evals M and/or --budget-seconds S")
    _check_out(Path(args.out), args.overwrite)
    summary = compare(
        args.table,
        args.strategies,
        args.seeds,
        Budget(evaluations=args.budget_evals, seconds=args.budget_seconds),
        args.out,
        workers=args.workers,
        scheduler=args.scheduler,
        params=strategy_params(args.param),
        overwrite=args.overwrite,
        progress=not args.quiet,
        surrogate_noise=args.surrogate_noise,
        score_tables={key: str(value) for key, value in (args.score_table or ())},
        **({} if args.run_timeout is None else {"run_timeout": args.run_timeout}),
        scoring=args.scoring,
        statistics=args.stats,
        baseline=args.baseline,
        **({} if args.alpha is None else {"alpha": args.alpha}),
    )
    resumed = f" ({summary.resumed} resumed from an earlier attempt)" if summary.resumed else ""
    print(
        f"{summary.out}: {summary.runs} runs ({len(summary.tables)} tables x {len(summary.strategies)} "
        f"strategies x {len(summary.seeds)} seeds): {summary.runs_ok} ok, {summary.runs_failed} failed"
        f"{resumed}; {summary.wall_seconds:.1f} s"
    )
    if summary.runs_failed:
        first = summary.errors[0]
        print(
            f"nasbench: error: {summary.runs_failed} runs failed (first: {first['strategy']} on "
            f"{first['table']}, seed {first['seed']}: {one_line(first['error'])}); "
            f"see {Path(summary.out) / 'errors.json'}",
            file=sys.stderr,
        )
        return 1
    return 0


# --------------------------------------------------------------------- demo
def add_demo(commands: Subcommands) -> None:
    p = commands.add_parser(
        "demo",
        help="the standard comparison on the shipped default table, as a leaderboard",
        description="Run every built-in strategy for N seeds on the shipped default table (or --table) "
        "under a budget of B full training runs' worth of simulated seconds, and write the leaderboard "
        "OUT.html and OUT.md.",
    )
    p.add_argument("--table", default=None, help="table to compare on (default: the shipped default table)")
    p.add_argument("--out", default="reports/leaderboard", metavar="PATH", help="report prefix")
    p.add_argument(
        "--results",
        default="build/leaderboard-results",
        metavar="DIR",
        help="where the raw results go (replaced on every run; a directory holding anything a "
        "comparison did not write is refused)",
    )
    p.add_argument(
        "--seeds", type=count("--seeds", 1), default="10", metavar="N", help="seeds per strategy (default 10)"
    )
    p.add_argument(
        "--budget-runs",
        type=real("--budget-runs", positive=True),
        default="100",
        metavar="B",
        help="budget per run, in mean full-training runs of the table (default 100)",
    )
    p.add_argument("--strategies", default=None, help="comma-separated subset (default: every built-in)")
    p.add_argument(
        "--workers",
        type=count("--workers", 0),
        default="2",
        metavar="K",
        help="local worker processes (default 2)",
    )
    p.add_argument(
        "--no-nb201",
        action="store_true",
        help="skip the second comparison, on the shipped NAS-Bench-201 12-epoch tables",
    )
    p.add_argument(
        "--nb201-out", default="reports/leaderboard-nb201", metavar="PATH", help="its report prefix"
    )
    p.add_argument(
        "--nb201-evaluations",
        type=count("--nb201-evaluations", 1),
        default="100",
        metavar="M",
        help="its budget per run in evaluations (the tables hold no training times; default 100)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_demo)


def _write_and_say(summary: Any, out: str, headline: str) -> None:
    """Write the leaderboard of a demo comparison and say what was compared and written."""
    from nasbench.reporting.leaderboard import write_report

    files = write_report(summary.results, out)
    failures = (
        f"; {summary.runs_failed} runs failed (see {summary.results}/errors.json)"
        if summary.runs_failed
        else ""
    )
    print(f"{headline}; compared in {summary.compare_wall_seconds:.1f} s{failures}")
    for path in map(str, files):
        if path.endswith((".html", ".md")):
            print(f"wrote {path}")


def cmd_demo(args: argparse.Namespace) -> int:
    from nasbench.reporting.leaderboard import check_report_out
    from nasbench.search.demo import (
        check_results_directory,
        default_table,
        nb201_tables,
        run_demo,
        run_nb201_demo,
    )

    table = args.table
    if table is None:
        try:
            table = default_table()
        except TableError as exc:
            raise TableError(f"{exc} (on the command line: --table PATH)") from None
    with_nb201 = args.table is None and not args.no_nb201 and bool(nb201_tables())
    nb201_results = f"{args.results.rstrip('/')}-nb201"
    # Every output is checked before the comparisons run (minutes): a directory or a report
    # holding anything the suite did not write is refused now, not after the work.
    outputs = [(args.results, args.out)] + ([(nb201_results, args.nb201_out)] if with_nb201 else [])
    for results, out in outputs:
        check_results_directory(results)
        check_report_out(out)
    strategies = None if args.strategies is None else [s for s in args.strategies.split(",") if s]
    summary = run_demo(
        table=table,
        results=args.results,
        seeds=args.seeds,
        budget_runs=args.budget_runs,
        strategies=strategies,
        workers=args.workers,
        progress=not args.quiet,
    )
    _write_and_say(
        summary,
        args.out,
        f"{summary.table}: {len(summary.strategies)} strategies x {summary.seeds} seeds, "
        f"{summary.budget_seconds:g} simulated seconds each",
    )
    failed = summary.runs_failed
    if with_nb201:
        nb201 = run_nb201_demo(
            results=nb201_results,
            seeds=args.seeds,
            budget_evaluations=args.nb201_evaluations,
            strategies=strategies,
            workers=args.workers,
            progress=not args.quiet,
        )
        _write_and_say(
            nb201,
            args.nb201_out,
            f"NAS-Bench-201 tables: {len(nb201.strategies)} black-box strategies x {nb201.seeds} seeds, "
            f"{args.nb201_evaluations} evaluations each",
        )
        failed += nb201.runs_failed
    return 1 if failed else 0


# --------------------------------------------------------------------- strategies
def add_strategies(commands: Subcommands) -> None:
    p = commands.add_parser(
        "strategies",
        help="list registered search strategies (built-in and plugins)",
        description="List every registered search strategy, built-in or from a plugin package, with its "
        "kind, default hyperparameters and summary; plugins that fail to import are listed with the error.",
    )
    p.add_argument("pattern", metavar="PATTERN", nargs="?", default="*", help="shell-style name pattern")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_strategies)


def cmd_strategies(args: argparse.Namespace) -> int:
    from nasbench.search.strategy import list_strategies, plugin_errors, strategy_info

    infos = []
    for name in list_strategies(args.pattern):
        try:
            infos.append(strategy_info(name).to_dict())
        except NasbenchError:  # a plugin that fails to import is listed below, not fatal
            continue
    failed = {name: message for name, message in plugin_errors().items() if fnmatchcase(name, args.pattern)}
    if not infos and not failed:
        known = ", ".join(list_strategies()) or "none"
        raise ConfigError(f"no strategy matches {args.pattern!r} (known: {known})")
    if args.json:
        print_json(
            {
                "strategies": infos,
                "failed_plugins": [{"name": name, "error": failed[name]} for name in sorted(failed)],
            }
        )
        return 0
    width = max([len(info["name"]) for info in infos] + [len(name) for name in failed] + [4])
    for info in infos:
        defaults = ", ".join(f"{key}={value!r}" for key, value in info["hyperparameters"].items())
        print(f"{info['name']:<{width}}  {info['kind']:<15}  {info['summary']}")
        print(f"{'':<{width}}  {'':<15}  defaults: {defaults or '(no hyperparameters)'}; {info['source']}")
    for name in sorted(failed):
        print(f"{name:<{width}}  {'FAILED':<15}  {one_line(failed[name])}")
    return 0


# --------------------------------------------------------------------- report
def add_report(commands: Subcommands) -> None:
    p = commands.add_parser(
        "report",
        help="leaderboard report (HTML, Markdown, plots) of a results directory",
        description="Write the leaderboard report of a directory written by `nasbench compare`. The "
        "result files are checked first: against the directory's manifest (sizes and sha256), and "
        "every run config.json asks for must be in runs.csv once, with a complete trajectory.",
    )
    p.add_argument("results", metavar="RESULTS_DIR", help="directory written by `nasbench compare`")
    p.add_argument(
        "--out",
        required=True,
        metavar="PATH",
        help="output prefix, e.g. reports/NAME: writes NAME.html, NAME.md and figures in NAME_files/ "
        "(files there that an earlier report did not write are never replaced)",
    )
    p.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="report results that lack some of the runs config.json asks for, listing them "
        "(default: refused)",
    )
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from nasbench.reporting.leaderboard import write_report

    for path in write_report(args.results, args.out, allow_incomplete=args.allow_incomplete):
        print(path)
    return 0

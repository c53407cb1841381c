"""Commands the built-in surrogates add to ``nasbench``: ``proxies`` and
``surrogate weight-sharing``.

Registered through the entry-point groups ``nasbench.commands`` and
``nasbench.surrogate_commands`` (see pyproject.toml), exactly as a third-party package
would add a command: each entry point names a function that adds one subcommand with
``func`` set to its handler. Importing this module imports neither torch nor the
scorers; the handlers do.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from nasbench.core.errors import NasbenchError, one_line
from nasbench.core.options import count, int_list
from nasbench.reporting.console import json_text, metric_rows_text

__all__ = ["add_proxies_command", "add_weight_sharing_command"]

#: Columns of the printed correlation rows.
_COLUMNS = ("proxy", "n", "kendall_tau", "spearman", "precision_at_10", "precision_at_50")


def add_proxies_command(commands: Any) -> None:
    """Add ``nasbench proxies`` to ``commands`` (what ``add_subparsers`` returned)."""
    p = commands.add_parser(
        "proxies",
        help="score every class of a table with zero-cost proxies, stored beside it",
        description="Score every canonical architecture of a table with zero-cost proxies on its "
        "network at initialisation (the table's protocol and data) and store the scores beside the "
        "table as <stem>.proxies.h5; then print their correlation with the table.",
    )
    p.add_argument("table", metavar="TABLE", help="table file")
    p.add_argument("--proxies", default="all", help="comma-separated proxy names, or all (default)")
    p.add_argument("--batch-size", type=int, default=64, help="images in the scoring batch (default 64)")
    p.add_argument("--seed", type=int, default=0, help="seed of the batch and the initialisation (default 0)")
    p.add_argument(
        "--workers", type=count("--workers", 1), default="2", metavar="K", help="worker processes (default 2)"
    )
    p.add_argument("--data-dir", default=None, help="directory holding the dataset files")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run_proxies_command)


def run_proxies_command(args: argparse.Namespace) -> int:
    """Score the table, store the scores beside it and print their correlation with it."""
    from nasbench.surrogates.zero_cost import DEFAULT_PROXIES, score_table

    from nasbench.core.table import open_table
    from nasbench.prediction import evaluate_scores, read_proxy_scores

    table = open_table(args.table)
    names = list(DEFAULT_PROXIES) if args.proxies == "all" else [p.strip() for p in args.proxies.split(",")]
    workers = args.workers
    started = time.perf_counter()
    path = score_table(
        table.path,
        names,
        batch_size=args.batch_size,
        seed=args.seed,
        data_dir=args.data_dir,
        progress=not args.quiet,
        workers=workers,
    )
    wall_seconds = time.perf_counter() - started
    stored = read_proxy_scores(path, table)
    result: dict[str, Any] = {
        "scores": str(path),
        "classes": int(table.num_unique),
        "wall_seconds": wall_seconds,
        "workers": workers,
    }
    try:
        result["correlation"] = evaluate_scores(table, stored.scores)
    except NasbenchError as exc:  # a table with too few measured classes: scores still written
        result["correlation"] = None
        result["correlation_skipped"] = one_line(exc)
    if args.json:
        print(json_text(result))
        return 0
    print(f"wrote {path}: {len(names)} proxies x {table.num_unique} classes in {wall_seconds:.1f} s")
    if result["correlation"]:
        rows = [{"proxy": name, **values} for name, values in result["correlation"].items()]
        print(metric_rows_text("against the seed-mean final val_acc", rows, _COLUMNS))
    return 0


def add_weight_sharing_command(commands: Any) -> None:
    """Add ``nasbench surrogate weight-sharing`` to ``commands``."""
    q = commands.add_parser(
        "weight-sharing",
        help="rank a table's classes by inherited supernet weights, by training length and BatchNorm mode",
        description="Train a supernet of the table's protocol by uniform path sampling for each "
        "--epochs value and seed, score every usable class with inherited weights in each BatchNorm "
        "mode (batch statistics, training's running statistics, re-calibrated per architecture) and "
        "compare with the seed-mean final validation accuracy: Kendall tau, Spearman, precision@k, "
        "tau within the top 10 %%, CPU seconds.",
    )
    q.add_argument("--table", required=True, help="table to judge against (its protocol is trained)")
    q.add_argument(
        "--epochs",
        type=int_list("--epochs", 1),
        default="5,20,50",
        help="comma-separated supernet training lengths",
    )
    q.add_argument(
        "--seeds",
        type=count("--seeds", 1),
        default="1",
        metavar="S",
        help="number of seeds: 0..S-1 (default 1)",
    )
    q.add_argument("--bn-modes", default="batch,running,recalibrated", help="BatchNorm modes to score")
    q.add_argument(
        "--eval-images",
        type=count("--eval-images", 1),
        default="256",
        help="validation images per architecture (256)",
    )
    q.add_argument(
        "--max-classes",
        type=count("--max-classes", 3),
        default=None,
        help="score a seeded sample of this many classes",
    )
    q.add_argument("--quiet", action="store_true", help="no progress lines")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(func=run_weight_sharing_command)


def run_weight_sharing_command(args: argparse.Namespace) -> int:
    """Train the supernets, score every class, print the ranking figures."""
    from nasbench.surrogates.weight_sharing import weight_sharing_study

    from nasbench.core.table import open_table

    table = open_table(args.table)
    report = weight_sharing_study(
        table,
        epochs=args.epochs,
        seeds=list(range(args.seeds)),
        bn_modes=[part.strip() for part in args.bn_modes.split(",")],
        eval_images=args.eval_images,
        max_classes=args.max_classes,
        progress=None if args.quiet or args.json else (lambda text: print(text, file=sys.stderr)),
    )
    if args.json:
        print(json_text(report))
        return 0
    print(metric_rows_text(
        f"{table.path}: weight-sharing scores of {report['classes_scored']} classes against the "
        "seed-mean final val_acc",
        report["rows"],
        ["epochs", "seed", "bn_mode", "kendall_tau", "spearman", "precision_at_10", "precision_at_50",
         "kendall_tau_top10pct", "fit_seconds", "score_seconds"],
    ))  # fmt: skip
    return 0

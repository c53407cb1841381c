"""``nasbench reproduce``: the NAS-Bench-201 reproduction study and its report.

Runs (or finishes: chunks already written are kept) the study of
:mod:`nasbench.search.reproduction` on the shipped 12-epoch tables, then writes the
report and its figures as JSON beside it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

from nasbench.cli.args import Subcommands, count, int_list
from nasbench.reporting.console import json_text

__all__ = ["add_reproduce"]

DEFAULT_TABLES = ",".join(f"tables/nb201-{name}-hp12.h5" for name in ("cifar10", "cifar100", "imagenet16"))


def add_reproduce(commands: Subcommands) -> None:
    p = commands.add_parser(
        "reproduce",
        help="reproduce NAS-Bench-201's search results on the imported 12-epoch tables",
        description=(
            "Run random search, regularized evolution, REINFORCE and BANANAS on NAS-Bench-201's "
            "12-epoch tables for many seeds and write the report beside random search's closed-form "
            "expectation and NAS-Bench-201's published numbers. Interrupted runs go on where they stopped."
        ),
    )
    p.add_argument(
        "--tables", default=DEFAULT_TABLES, help="comma-separated tables (default the three shipped)"
    )
    p.add_argument("--results", type=Path, default=Path("build/reproduction"), help="directory of the runs")
    p.add_argument("--seeds", type=count("--seeds", 2), default=200, help="seeds per strategy and table")
    p.add_argument(
        "--budgets", type=int_list("--budgets", 1), default=[50, 100, 200, 500], help="evaluation budgets"
    )
    p.add_argument("--workers", type=count("--workers", 0), default=0, help="local worker processes")
    p.add_argument(
        "--out", type=Path, default=Path("reports/nb201-reproduction.md"), help="report file (Markdown)"
    )
    p.add_argument("--report-only", action="store_true", help="write the report from the runs already made")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_reproduce)


def _write(path: Path, text: str) -> None:
    """Write via a temporary file, so a failure (a full disk, say) never leaves half a
    report nor the temporary file; the earlier report stays as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)


def cmd_reproduce(args: argparse.Namespace) -> int:
    from nasbench.core.errors import ConfigError
    from nasbench.reporting.reproduction import render_reproduction
    from nasbench.search.reproduction import run_reproduction, summarise_reproduction

    tables = [part.strip() for part in args.tables.split(",") if part.strip()]
    if not tables:
        raise ConfigError("--tables needs at least one table")
    if args.out.suffix != ".md":
        raise ConfigError(f"--out must be a Markdown file ending in .md, got {args.out}")
    if not args.report_only:
        run_reproduction(
            tables,
            args.results,
            seeds=args.seeds,
            budgets=args.budgets,
            workers=args.workers,
            progress=not args.quiet and sys.stderr.isatty(),
        )
    summary = summarise_reproduction(args.results, tables)
    _write(args.out, render_reproduction(summary))
    _write(args.out.with_suffix(".json"), json_text(summary) + "\n")
    print(f"wrote {args.out} and {args.out.with_suffix('.json')}")
    return 0

"""Commands that produce tables: ``generate``, ``fidelity``, ``frontier`` and ``merge``.

The generation layer (and with it torch) is imported inside the handlers, so building
the parser stays cheap.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from nasbench.cli.args import (
    OptionError,
    Subcommands,
    assignment,
    count,
    echo,
    minimum,
    print_json,
    scheduler_address,
    seed_list,
)
from nasbench.core.errors import ConfigError, TableError
from nasbench.core.space import SPACE_PRESETS

__all__ = ["MAX_SHARDS", "add_fidelity", "add_frontier", "add_generate", "add_merge"]

#: Most shards ``--shard i/n`` may split a table into (a space has at most ~10^5 classes).
MAX_SHARDS = 1_000_000


# --------------------------------------------------------------------- protocol options
def _add_protocol_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", default="tiny", help="protocol preset: tiny, cpu-small, nb201 (default tiny)")
    p.add_argument(
        "--dataset", default=None, help="fashion-mnist, mnist, cifar10 or digits (default: preset's)"
    )
    p.add_argument(
        "--seeds",
        type=seed_list("--seeds"),
        default=None,
        help="comma-separated training seeds (default: preset's)",
    )
    p.add_argument(
        "--epochs", type=count("--epochs", 1), default=None, help="epochs per run (default: preset's)"
    )
    p.add_argument(
        "--set",
        action="append",
        type=assignment("--set"),
        metavar="KEY=VALUE",
        help="override a protocol field, e.g. --set batch_size=128",
    )
    p.add_argument("--data-dir", default=None, help="directory holding the dataset files")


def _protocol_from_args(args: argparse.Namespace) -> Any:
    """The preset named by ``--preset`` with ``--dataset``, ``--epochs``, ``--seeds`` and
    ``--set`` applied, validated."""
    from nasbench.nets.datasets import DATASETS
    from nasbench.nets.train import get_protocol

    protocol = get_protocol(args.preset)
    changes: dict[str, Any] = dict(args.set or ())
    if args.dataset is not None:
        changes["dataset"] = args.dataset
    if args.epochs is not None:
        changes["epochs"] = args.epochs
    if args.seeds is not None:
        changes["seeds"] = tuple(args.seeds)
    for key in ("augment", "seeds"):
        if key in changes and isinstance(changes[key], list):
            changes[key] = tuple(changes[key])
    if changes:
        try:
            protocol = protocol.replace(**changes)
        except TypeError as exc:
            raise ConfigError(f"invalid protocol setting: {exc}") from None
    if protocol.dataset not in DATASETS:
        raise ConfigError(f"unknown dataset {protocol.dataset!r} (known: {', '.join(DATASETS)})")
    return protocol


def shard(text: str) -> tuple[int, int]:
    """Type of ``--shard i/n``: ``(i, n)`` with ``0 <= i < n``."""
    parts = text.strip().split("/")
    if len(parts) != 2 or not all(part.isascii() and part.isdigit() and len(part) <= 20 for part in parts):
        raise OptionError(f"--shard must look like i/n (for example 0/4), got {echo(text)}")
    index, total = int(parts[0]), int(parts[1])
    if total > MAX_SHARDS:
        raise OptionError(f"--shard: n must be in 1..{MAX_SHARDS:,}, got {total}")
    if total < 1 or not 0 <= index < total:
        raise OptionError(f"--shard {echo(text)[1:-1]}: need 0 <= i < n (shards are numbered from 0)")
    return index, total


# --------------------------------------------------------------------- generate
def add_generate(commands: Subcommands) -> None:
    p = commands.add_parser(
        "generate",
        help="train every canonical architecture and record it (resumable)",
        description="Train the canonical architectures of a space under a protocol preset and record "
        "per-epoch metrics, then probe latency and memory per device. Kill it at any moment and "
        "re-run the same command: it resumes.",
    )
    p.add_argument("--out", required=True, help="path of the .h5 table to write or resume")
    _add_protocol_options(p)
    p.add_argument("--space", default="nb201", choices=sorted(SPACE_PRESETS), help="space preset")
    p.add_argument(
        "--limit",
        type=minimum("--limit", 0),
        default=None,
        help="train the first N classes in a seeded random order (0 = all; default: preset's)",
    )
    p.add_argument(
        "--shard", type=shard, default=None, help="i/n: run the i-th of n shards (numbered from 0)"
    )
    p.add_argument(
        "--workers",
        type=minimum("--workers", 0),
        default=None,
        help="local worker processes, one thread each (default: one per core; 0 = in this process)",
    )
    p.add_argument(
        "--scheduler",
        type=scheduler_address("--scheduler"),
        default=None,
        help="address of an existing Dask scheduler (tcp://host:8786)",
    )
    p.add_argument("--no-probes", action="store_true", help="skip latency and memory probes")
    p.add_argument(
        "--checkpoint-seconds",
        type=minimum("--checkpoint-seconds", 0, float),
        default=30.0,
        help="seconds between checkpoints of the table (default 30)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_generate)


def cmd_generate(args: argparse.Namespace) -> int:
    from nasbench.generation.generate import GENERATOR_DEFAULTS, generate

    protocol = _protocol_from_args(args)
    defaults = GENERATOR_DEFAULTS.get(args.preset, {})
    limit = args.limit if args.limit is not None else defaults.get("limit")
    summary = generate(
        args.out,
        protocol,
        space=args.space,
        limit=limit,
        shard=args.shard,
        workers=args.workers,
        scheduler=args.scheduler,
        data_dir=args.data_dir,
        probes=not args.no_probes,
        probe_settings=defaults.get("probe"),
        checkpoint_seconds=args.checkpoint_seconds,
        progress=not args.quiet,
        log=lambda message: print(f"nasbench: {message}", file=sys.stderr),
    )
    if args.json:
        print_json(summary.to_dict())
    else:
        print(
            f"{summary.out}: {summary.classes_selected} classes selected, "
            f"{summary.runs_scheduled} runs to do; {summary.runs_done} done, "
            f"{summary.runs_failed} failed (diverged), {summary.runs_errored} errored; "
            f"{summary.probes_done} device probes; {summary.wall_seconds:.1f} s"
        )
    if summary.runs_errored:
        print(
            f"nasbench: error: {summary.runs_errored} jobs raised and stay pending; re-run to retry",
            file=sys.stderr,
        )
        return 1
    return 0


# --------------------------------------------------------------------- fidelity
def add_fidelity(commands: Subcommands) -> None:
    p = commands.add_parser(
        "fidelity",
        help="seed-to-seed agreement of a protocol on a fixed random sample",
        description="Train the first N classes of the generator's seeded order with every seed of a "
        "protocol (resumable) and report seed-to-seed Spearman and Kendall tau of final val accuracy, "
        "mean |seed difference|, Spearman of each epoch with the final one and core-seconds per run; "
        "with --against, also how the seed mean ranks the sample against reference tables.",
    )
    p.add_argument("--out", required=True, help="path of the .h5 table to write or resume")
    p.add_argument("--space", default="nb201", choices=sorted(SPACE_PRESETS), help="space preset")
    _add_protocol_options(p)
    p.add_argument(
        "--archs", type=minimum("--archs", 3), default=100, help="architectures in the sample (default 100)"
    )
    p.add_argument(
        "--offset",
        type=minimum("--offset", 0),
        default=0,
        metavar="N",
        help="start the sample after the first N classes of the seeded order (--offset 300 with "
        "--archs 300: a second sample, disjoint from the first; default 0)",
    )
    p.add_argument(
        "--workers",
        type=minimum("--workers", 0),
        default=None,
        help="local worker processes (default: one per core)",
    )
    p.add_argument(
        "--against",
        action="append",
        default=[],
        metavar="REF",
        help="reference table (e.g. tables/nb201-cifar10-hp12.h5) to judge the sample's seed-mean "
        "test accuracy against; repeatable",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_fidelity)


def cmd_fidelity(args: argparse.Namespace) -> int:
    from nasbench.generation.fidelity import run_fidelity

    protocol = _protocol_from_args(args)
    if len(protocol.seeds) < 2:
        raise ConfigError("fidelity needs a protocol with at least two seeds (--seeds 0,1)")
    report = run_fidelity(
        args.out,
        protocol,
        space=args.space,
        archs=args.archs,
        workers=args.workers,
        data_dir=args.data_dir,
        progress=not args.quiet,
        against=args.against,
        offset=args.offset,
    )
    if args.json:
        print_json(report)
        return 0
    print(f"{args.out}: {report['archs']} architectures x seeds {report['seeds']}, {report['epochs']} epochs")
    print(
        f"seed-to-seed Spearman {report['spearman']:.3f}, Kendall tau {report['kendall_tau']:.3f}; "
        f"mean |seed difference| {report['mean_abs_seed_difference_pct']:.2f} %, "
        f"between-architecture sd {report['between_arch_sd_pct']:.2f} %"
    )
    print(
        "Spearman of each epoch with the final one: "
        + " ".join(f"{value:.2f}" for value in report["epoch_spearman_to_final"])
    )
    print(
        f"{report['core_seconds_per_run']:.2f} core-seconds per (architecture, seed); the whole table "
        f"would take {report['table_core_hours']:.1f} core-hours; seed-mean Spearman estimate "
        f"{report['seed_mean_spearman_estimate']:.3f}"
    )
    for name, external in report.get("external", {}).items():
        per_class = external["per_class"]
        print(
            f"against {name} ({per_class['n']} classes, seed-mean test accuracy): Spearman "
            f"{_figure(per_class['spearman'])}, Kendall tau {_figure(per_class['kendall_tau'])}, "
            f"top-5 % overlap {_figure(per_class['top_5pct_overlap'], 1)} %; with many seeds "
            f"(est.) {_figure(external['per_class_spearman_noiseless'])}"
        )
    return 0


def _figure(value: float | None, digits: int = 3) -> str:
    """A report figure for the terminal; None (undefined) prints as n/a."""
    return "n/a" if value is None else f"{value:.{digits}f}"


# --------------------------------------------------------------------- frontier
def add_frontier(commands: Subcommands) -> None:
    p = commands.add_parser(
        "frontier",
        help="Markdown table of fidelity reports, cheapest protocol first",
        description="Read the *.json reports `nasbench fidelity` wrote in a directory and print the "
        "cost-versus-agreement frontier as a Markdown table.",
    )
    p.add_argument("directory", metavar="DIR", help="directory holding fidelity *.json reports")
    p.set_defaults(func=cmd_frontier)


def cmd_frontier(args: argparse.Namespace) -> int:
    from nasbench.reporting.frontier import frontier_markdown

    folder = Path(args.directory)
    if not folder.is_dir():
        raise ConfigError(f"{folder}: not a directory of fidelity reports")
    reports = {}
    for path in sorted(folder.glob("*.json")):
        try:
            reports[path.stem.removesuffix(".h5")] = json.loads(path.read_text())
        except ValueError:
            raise ConfigError(f"{path}: not a JSON fidelity report") from None
    if not reports:
        raise ConfigError(f"{folder}: holds no *.json fidelity reports")
    print(frontier_markdown(reports), end="")
    return 0


# --------------------------------------------------------------------- merge
def add_merge(commands: Subcommands) -> None:
    p = commands.add_parser(
        "merge",
        help="merge shard tables of one protocol into one table",
        description="Combine tables of the same space, dataset and protocol (for example shards) into one.",
    )
    p.add_argument("out", metavar="OUT", help="path of the merged table")
    p.add_argument("inputs", metavar="TABLE", nargs="+", help="tables to merge")
    p.add_argument("--overwrite", action="store_true", help="replace an existing OUT")
    p.add_argument(
        "--compact",
        action="store_true",
        help="store losses and seconds as float16 (accuracies stay float32)",
    )
    p.set_defaults(func=cmd_merge)


def cmd_merge(args: argparse.Namespace) -> int:
    from nasbench.core.schema import COMPACT_DTYPES
    from nasbench.generation.merge import merge_tables

    target = Path(args.out)
    if target.exists() and not args.overwrite:  # worded with the flag, before any input is read
        raise TableError(f"{target}: file exists (pass --overwrite to replace it)")
    counts = merge_tables(
        args.out, args.inputs, overwrite=args.overwrite, dtype=COMPACT_DTYPES if args.compact else None
    )
    print(
        f"wrote {args.out}: {counts['runs_done']} runs done, {counts['runs_failed']} failed, "
        f"{counts['runs_pending']} pending ({counts['runs_in_several_inputs']} runs found in several "
        f"inputs, taken from the first)"
    )
    return 0

"""``nasbench import``: public benchmark files into this package's table format.

``import csv|parquet FILE --out T.h5`` reads a flat per-architecture file;
``import nb201|nats-tss|nb360|naslib SOURCE --out DIR`` writes one table per (dataset,
training setting) the source holds into DIR; ``import hw-nas-bench FILE --into T.h5``
adds HW-NAS-Bench's device measurements to an existing NAS-Bench-201 table. Every
import is all or nothing: tables are built under temporary names and moved into place
only when complete, and an existing file is replaced only with ``--overwrite``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from nasbench.cli.args import Subcommands, assignment, count
from nasbench.core.errors import ConfigError, TableError

__all__ = ["add_import"]

#: Formats that hold several (dataset, training setting) tables: ``--out`` is a directory.
MULTI_TABLE_FORMATS = ("nb201", "nats-tss", "nb360", "naslib")
FORMATS = ("csv", "parquet", *MULTI_TABLE_FORMATS, "hw-nas-bench")


def add_import(commands: Subcommands) -> None:
    from nasbench.generation.importers.tabular import TABULAR_PRESETS

    p = commands.add_parser(
        "import",
        help="import a public benchmark file (NAS-Bench-201, NATS-Bench, CSV, ...) as tables",
        description=(
            "Read a public benchmark file into this package's HDF5 table format, values per "
            "architecture index, with the file's checksum, citation and licence recorded. "
            "csv/parquet: one table (--out T.h5). nb201, nats-tss, nb360, naslib: one table per "
            "(dataset, training setting) in the directory --out. hw-nas-bench: device "
            "measurements added to the NAS-Bench-201 table --into. Nothing is written unless the "
            "whole import succeeds; pickled sources are read without running any code from them."
        ),
    )
    p.add_argument("format", choices=FORMATS, help="source format")
    p.add_argument("source", type=Path, help="the benchmark file (or NATS fast-mode directory)")
    p.add_argument("--out", type=Path, help="table file (csv, parquet) or directory (other formats)")
    p.add_argument("--into", type=Path, help="hw-nas-bench: the NAS-Bench-201 table to add devices to")
    p.add_argument("--overwrite", action="store_true", help="replace existing output tables")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    flat = p.add_argument_group("csv and parquet")
    flat.add_argument(
        "--preset",
        choices=sorted(TABULAR_PRESETS),
        help="column mapping and provenance of a known file (the shipped NAS-Bench-201 tables)",
    )
    flat.add_argument(
        "--metric",
        type=assignment("--metric", "NAME"),
        action="append",
        metavar="NAME=COLUMN",
        help="map a table metric to a column, e.g. val_acc=cifar100_val_acc (repeat)",
    )
    flat.add_argument("--epoch", type=count("--epoch", 1), help="training epoch the values are from")
    flat.add_argument("--arch-column", help="column with architecture strings (default 'arch')")
    flat.add_argument(
        "--index-column", help="column with the benchmark's own index (or ours, without --arch-column)"
    )
    flat.add_argument(
        "--index-order", help="name of the benchmark whose index --index-column holds, e.g. nb201"
    )
    flat.add_argument(
        "--seed",
        type=count("--seed", 0),
        help="the values are one training seed's (default: a mean over seeds)",
    )
    flat.add_argument("--dataset", dest="dataset_name", help="dataset name to record")
    flat.add_argument(
        "--model",
        type=assignment("--model", "FIELD"),
        action="append",
        metavar="FIELD=VALUE",
        help="network skeleton for costs: width, cells_per_stage, input_channels, resolution, "
        "num_classes (default NAS-Bench-201's CIFAR-10 network)",
    )
    flat.add_argument("--citation", help="how to cite the benchmark")
    flat.add_argument("--licence", help="the data's licence")
    public = p.add_argument_group("nb201, nats-tss, nb360, naslib, hw-nas-bench")
    public.add_argument(
        "--datasets", help="comma-separated datasets to import (default all; hw-nas-bench: exactly one)"
    )
    public.add_argument("--hp", help="comma-separated training settings to import, e.g. 12,200 (default all)")
    p.set_defaults(func=cmd_import)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-").lower()


def _list(text: str | None) -> list[str] | None:
    return None if text is None else [item.strip() for item in text.split(",") if item.strip()]


def _flat(args: argparse.Namespace) -> int:
    from nasbench.generation.importers.tabular import TABULAR_PRESETS, read_tabular
    from nasbench.generation.importers.write import write_imported

    if args.out is None:
        raise ConfigError(f"import {args.format} needs --out T.h5")
    options: dict[str, Any] = dict(TABULAR_PRESETS[args.preset]) if args.preset else {}
    options["metrics"] = dict(args.metric) if args.metric else options.get("metrics", {})
    if args.epoch is not None:
        options["epoch"] = args.epoch
    if "epoch" not in options:
        raise ConfigError("say which training epoch the values are from: --epoch N")
    if args.arch_column is not None:
        options["arch_column"] = args.arch_column
    if args.index_column is not None:
        options["index_column"] = args.index_column
        if args.arch_column is None and not args.preset:
            options["arch_column"] = None
    if args.index_order is not None:
        options["index_order"] = args.index_order
    if args.seed is not None:
        options["seed"] = args.seed
    if args.dataset_name is not None:
        options["dataset"] = {**options.get("dataset", {}), "name": args.dataset_name}
    if args.model:
        options["model"] = {**options.get("model", {}), **dict(args.model)}
    source = dict(options.get("source", {}))
    if args.citation is not None:
        source["citation"] = args.citation
    if args.licence is not None:
        source["licence"] = args.licence
    options["source"] = source
    if args.overwrite is False and args.out.exists():
        raise TableError(f"{args.out}: file exists (pass --overwrite to replace it)")
    imported = read_tabular(args.source, **options, file_format=args.format)
    path = write_imported(imported, args.out, overwrite=args.overwrite)
    measured = int((imported.run_status() != 0).sum())
    print(
        f"wrote {path}: {measured:,} of {imported.space.size:,} architectures, "
        f"metrics {', '.join(imported.metrics)} at epoch {imported.epochs[0]}"
    )
    return 0


def _multi(args: argparse.Namespace) -> int:
    from nasbench.generation.importers.write import write_all

    if args.out is None:
        raise ConfigError(f"import {args.format} needs --out DIR (one table per dataset and setting)")
    if args.out.exists() and not args.out.is_dir():
        raise ConfigError(f"{args.out}: --out must be a directory for {args.format}")
    progress = not args.quiet and sys.stderr.isatty()
    datasets, hps = _list(args.datasets), _list(args.hp)
    if args.format == "nb201":
        from nasbench.generation.importers.nb201 import read_nb201

        tables = read_nb201(args.source, datasets=datasets, hps=hps, progress=progress)
    elif args.format == "nats-tss":
        from nasbench.generation.importers.nats import read_nats_tss

        tables = read_nats_tss(args.source, datasets=datasets, hps=hps, progress=progress)
    elif args.format == "nb360":
        from nasbench.generation.importers.nats import read_nb360

        tables = read_nb360(args.source, progress=progress)
    else:
        from nasbench.generation.importers.naslib import read_naslib

        tables = read_naslib(args.source, progress=progress)
    if not tables:
        raise TableError(f"{args.source}: nothing to import (no dataset or setting matched)")
    pairs = []
    for imported in tables:
        epochs = imported.protocol.get("epochs", imported.epochs[-1])
        name = f"{args.format}-{_slug(str(imported.dataset.get('name', 'data')))}-hp{epochs}.h5"
        pairs.append((imported, args.out / name))
    for path in write_all(pairs, overwrite=args.overwrite):
        print(f"wrote {path}")
    return 0


def _hardware(args: argparse.Namespace) -> int:
    from nasbench.generation.importers.hwnas import read_hwnas
    from nasbench.generation.importers.write import add_devices

    if args.into is None:
        raise ConfigError("import hw-nas-bench needs --into T.h5 (a NAS-Bench-201 table to add devices to)")
    datasets = _list(args.datasets)
    if not datasets or len(datasets) != 1:
        raise ConfigError(
            "import hw-nas-bench needs --datasets with exactly one of cifar10, cifar100, ImageNet16-120"
        )
    devices = read_hwnas(args.source, dataset=datasets[0])
    add_devices(args.into, devices, overwrite=args.overwrite)
    names = sorted({f"{device}/{metric}" for device, (_, values) in devices.items() for metric in values})
    print(f"added to {args.into}: {', '.join(names)}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    if args.format in ("csv", "parquet"):
        return _flat(args)
    if args.format == "hw-nas-bench":
        return _hardware(args)
    return _multi(args)

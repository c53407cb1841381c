"""Commands on spaces and single tables: ``space``, ``cost``, ``info``, ``query``,
``validate``, ``init-table`` and ``card``.

``info`` and ``card`` never import torch (the model builders are imported inside the
handlers that need them). The commands that read a table verify its checksum unless
``--no-verify`` is given (or ``NASBENCH_NO_VERIFY=1`` is set); ``validate`` always does.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

from nasbench.cli.args import Subcommands, minimum, print_json, seed_list
from nasbench.core.errors import ConfigError, TableError
from nasbench.core.space import MAX_ENUMERABLE_SIZE, SPACE_PRESETS, clipped, get_space, parse_index

__all__ = [
    "add_card",
    "add_cost",
    "add_info",
    "add_init_table",
    "add_no_verify",
    "add_query",
    "add_space",
    "add_validate",
]

#: Dataset each model preset's input shape stands for, recorded by ``init-table``.
PRESET_DATASETS = {"nb201": "cifar10", "cpu-small": "fashion-mnist", "tiny": "digits"}


def add_no_verify(parser: argparse.ArgumentParser) -> None:
    """The ``--no-verify`` flag of a command that opens a table."""
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="skip the checksum check on open, for a trusted huge table (or set NASBENCH_NO_VERIFY=1)",
    )


def _open(args: argparse.Namespace) -> Any:
    """``args.table`` opened, its checksum verified unless ``--no-verify``."""
    from nasbench.core.table import open_table

    return open_table(args.table, verify=False if args.no_verify else None)


# --------------------------------------------------------------------- space
def add_space(commands: Subcommands) -> None:
    p = commands.add_parser(
        "space",
        help="describe a search space (size, unique classes)",
        description="Describe a cell search space: ops, size and the number of isomorphism classes.",
    )
    p.add_argument(
        "--preset", default="nb201", choices=sorted(SPACE_PRESETS), help="space preset (default nb201)"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_space)


def cmd_space(args: argparse.Namespace) -> int:
    space = get_space(args.preset)
    unique = space.num_unique if space.size <= MAX_ENUMERABLE_SIZE else None
    data = {
        "preset": args.preset,
        "ops": list(space.ops),
        "num_nodes": space.num_nodes,
        "num_edges": space.num_edges,
        "size": space.size,
        "unique": unique,
        "zero_op": space.zero_op,
        "identity_op": space.identity_op,
    }
    if args.json:
        print_json(data)
    else:
        print(
            f"space {args.preset}: {space.num_nodes} nodes, {space.num_edges} edges, "
            f"{space.num_ops} ops ({', '.join(space.ops)})"
        )
        print(f"architectures: {space.size:,}")
        print(
            f"unique (isomorphism classes): {unique:,}"
            if unique is not None
            else "unique: not enumerated (space too large)"
        )
    return 0


# --------------------------------------------------------------------- cost
def add_cost(commands: Subcommands) -> None:
    p = commands.add_parser(
        "cost",
        help="params and FLOPs of one architecture",
        description="Build an architecture's network and count params and FLOPs "
        "as NAS-Bench-201 does (conv + linear MACs, one image).",
    )
    p.add_argument("arch", metavar="ARCH", help="NAS-Bench-201 string or integer index")
    p.add_argument("--preset", default="nb201", help="model preset (nb201, cpu-small, tiny)")
    p.add_argument("--space", default="nb201", choices=sorted(SPACE_PRESETS), help="space preset")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_cost)


def cmd_cost(args: argparse.Namespace) -> int:
    from nasbench.nets.models import arch_cost, get_model_config

    space = get_space(args.space)
    config = get_model_config(args.preset)
    arch = space.parse(args.arch)
    params_m, flops_m = arch_cost(arch, config, space)
    data = {
        "arch": str(arch),
        "index": space.index(arch),
        "preset": args.preset,
        "params_m": params_m,
        "flops_m": flops_m,
    }
    if args.json:
        print_json(data)
    else:
        print(f"{arch}\nindex {data['index']}  params {params_m:.6f} M  FLOPs {flops_m:.5f} M")
    return 0


# --------------------------------------------------------------------- info
def add_info(commands: Subcommands) -> None:
    p = commands.add_parser(
        "info",
        help="summarise a table file",
        description="Summarise a table: space, classes, seeds, epochs, runs "
        "recorded, protocol, devices, fidelity, provenance.",
    )
    p.add_argument("table", metavar="TABLE", help="path of an .h5 table")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_no_verify(p)
    p.set_defaults(func=cmd_info)


def cmd_info(args: argparse.Namespace) -> int:
    table = _open(args)
    status = table.run_status
    data = {
        "path": str(table.path),
        "space": table.space.to_dict(),
        "archs": table.num_archs,
        "space_size": table.space.size,
        "unique": table.num_unique,
        "seeds": table.seeds.tolist(),
        "epochs": table.num_epochs,
        "epoch_numbers": table.epochs.tolist(),
        "values_per": table.values_per,
        "seed_axis": table.seed_axis,
        "source": table.source,
        "source_order": table.source_order,
        "metrics": list(table.epoch_metrics),
        "runs_done": int(np.sum(status == 1)),
        "runs_failed": int(np.sum(status == 2)),
        "runs_total": int(status.size),
        "model": table.model,
        "dataset": table.dataset,
        "protocol": table.protocol,
        "provenance": table.provenance,
        "fidelity": table.fidelity,
        "devices": table.devices,
        "checksum": table.checksum,
    }
    if table.num_archs:
        data["params_m_range"] = [float(table.params.min() / 1e6), float(table.params.max() / 1e6)]
        data["flops_m_range"] = [float(table.flops.min() / 1e6), float(table.flops.max() / 1e6)]
    if args.json:
        print_json(data)
        return 0
    print(f"table      {data['path']}")
    print(
        f"space      {', '.join(table.space.ops)}; {table.space.num_nodes} nodes; "
        f"{table.space.size:,} architectures"
    )
    if table.values_per == "architecture":
        print(
            f"archs      {table.num_archs:,} rows, values per architecture (isomorphic cells trained apart)"
        )
    else:
        print(f"archs      {table.num_archs:,} rows, {table.num_unique:,} unique classes")
    if table.source is not None:
        source = table.source
        print(f"source     {source.get('file')} ({source.get('format')}), {source.get('sha256')}")
        citation = source.get("citation", "no citation recorded")
        print(f"           {citation} Licence: {source.get('licence', 'not recorded')}")
    if table.source_order is not None:
        order = table.source_order
        print(f"index      the benchmark's own {order} index is kept (query --index-order {order})")
    print(f"dataset    {json.dumps(table.dataset, sort_keys=True)}")
    print(f"model      {json.dumps(table.model, sort_keys=True)}")
    print(f"protocol   {json.dumps(table.protocol, sort_keys=True)}")
    if table.seed_axis.get("kind") == "mean":
        seeds = "one column: the mean over the benchmark's seeds"
    else:
        seeds = str(table.seeds.tolist())
    epochs = table.epochs.tolist()
    shown = ", ".join(map(str, epochs)) if len(epochs) <= 4 else f"{epochs[0]}..{epochs[-1]}"
    print(f"seeds      {seeds}   epochs {table.num_epochs} (training epochs {shown})")
    print(
        f"runs       {data['runs_done']:,} done, {data['runs_failed']:,} failed, "
        f"{data['runs_total']:,} in all"
    )
    print(f"metrics    {', '.join(table.epoch_metrics)}")
    if table.num_archs:
        print(
            f"cost       params {data['params_m_range'][0]:.6f}-{data['params_m_range'][1]:.6f} M, "
            f"FLOPs {data['flops_m_range'][0]:.5f}-{data['flops_m_range'][1]:.5f} M"
        )
    for device_id, description in table.devices.items():
        print(f"device     {device_id}: {json.dumps(description, sort_keys=True)}")
    if table.fidelity:
        print(f"fidelity   {json.dumps(table.fidelity, sort_keys=True)}")
    print(
        f"created    {table.provenance.get('created')} by nasbench "
        f"{table.provenance.get('nasbench_version')}, torch {table.provenance.get('torch_version')}"
    )
    print(f"checksum   {table.checksum}")
    return 0


# --------------------------------------------------------------------- query
def add_query(commands: Subcommands) -> None:
    p = commands.add_parser(
        "query",
        help="look up one metric of one architecture",
        description="Look up one metric of one architecture in a table; "
        "isomorphic architectures answer from their class.",
    )
    p.add_argument("table", metavar="TABLE", help="path of an .h5 table")
    p.add_argument("arch", metavar="ARCH", help="NAS-Bench-201 string or integer index")
    p.add_argument(
        "--index-order",
        metavar="NAME",
        help="ARCH is the imported benchmark's own index (e.g. nb201), not this space's index",
    )
    p.add_argument("--metric", default="val_acc", help="metric name (default val_acc)")
    p.add_argument("--epoch", type=int, default=-1, help="0-based epoch position, -1 for the last (default)")
    p.add_argument("--seed", type=int, default=None, help="one seed (default: mean over seeds)")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_no_verify(p)
    p.set_defaults(func=cmd_query)


def cmd_query(args: argparse.Namespace) -> int:
    table = _open(args)
    if args.index_order is not None:
        source_index = parse_index(args.arch)
        if source_index is None:
            raise ConfigError(
                f"with --index-order, ARCH must be an index in ASCII digits, got {clipped(args.arch)!r}"
            )
        if abs(source_index) >= 2**63:
            raise ConfigError(f"{args.index_order} index {clipped(args.arch.strip())} is not in this table")
        arch = table.source_arch(args.index_order, source_index)
    else:
        arch = table.space.parse(args.arch)
    value = table.query(arch, args.metric, epoch=args.epoch, seed=args.seed)
    data: dict[str, Any] = {
        "arch": str(arch),
        "index": table.space.index(arch),
        "canonical_index": table.canonical_index(arch),
        "metric": args.metric,
        "epoch": args.epoch,
        "seed": args.seed,
        "value": value,
    }
    if table.source_index is not None:
        data[f"{table.source_order}_index"] = int(table.source_index[table.row(arch)])
    if args.json:
        print_json(data)
    else:
        print(f"{value:.6g}")
    return 0


# --------------------------------------------------------------------- validate
def add_validate(commands: Subcommands) -> None:
    p = commands.add_parser(
        "validate",
        help="check a table file against the schema",
        description="Check a table: schema, checksum (always, whatever NASBENCH_NO_VERIFY says), "
        "canonical classes, physically impossible values. Exit status 1 if anything is wrong.",
    )
    p.add_argument("table", metavar="TABLE", help="path of an .h5 table")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_validate)


def cmd_validate(args: argparse.Namespace) -> int:
    from nasbench.core.table import validate_table

    problems = validate_table(args.table)
    shown_path = clipped(args.table.encode("unicode_escape").decode("ascii"), 120)
    if args.json:
        print_json({"path": args.table, "valid": not problems, "problems": problems})
    elif problems:
        # a TableError: the command line prints it as its one short, escaped line
        raise TableError(f"invalid table {shown_path}: " + "; ".join(problems))
    else:
        print(f"{shown_path}: valid")
    return 0 if not problems else 1


# --------------------------------------------------------------------- init-table
def add_init_table(commands: Subcommands) -> None:
    p = commands.add_parser(
        "init-table",
        help="write an empty table with every architecture's cost",
        description="Write a table holding every architecture of a space, its "
        "canonical class and its params/FLOPs; every training run "
        "is pending until the generator fills it.",
    )
    p.add_argument("--out", required=True, help="path of the .h5 file to write")
    p.add_argument("--space", default="nb201", choices=sorted(SPACE_PRESETS), help="space preset")
    p.add_argument("--preset", default="nb201", help="model preset for the costs")
    p.add_argument("--dataset", default=None, help="dataset name to record (default: the preset's)")
    p.add_argument(
        "--seeds", type=seed_list("--seeds"), default="0", help="comma-separated seeds (default 0)"
    )
    p.add_argument("--epochs", type=minimum("--epochs", 1), default=1, help="epochs per run (default 1)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing file")
    p.add_argument("--record-command", action="store_true", help="store the command line in the provenance")
    p.set_defaults(func=cmd_init_table)


def cmd_init_table(args: argparse.Namespace) -> int:
    from nasbench.core.table import TableWriter
    from nasbench.nets.models import cost_arrays, get_model_config

    space = get_space(args.space)
    config = get_model_config(args.preset)
    params, flops = cost_arrays(space, config)
    dataset = {"name": args.dataset or PRESET_DATASETS.get(args.preset, "unspecified")}
    writer = TableWriter.create(
        args.out,
        space=space,
        model=config.to_dict(),
        dataset=dataset,
        protocol={"epochs": args.epochs, "seeds": args.seeds, "model_preset": args.preset},
        seeds=args.seeds,
        num_epochs=args.epochs,
        params=params,
        flops=flops,
        overwrite=args.overwrite,
        provenance={"command": "nasbench " + " ".join(args.argv)} if args.record_command else None,
    )
    writer.close()
    print(
        f"wrote {args.out}: {space.size:,} architectures, {space.num_unique:,} classes, "
        f"costs under model preset {args.preset}; every run pending"
    )
    return 0


# --------------------------------------------------------------------- card
def add_card(commands: Subcommands) -> None:
    p = commands.add_parser(
        "card",
        help="Markdown data card of a table",
        description="Print a table's data card (protocol, splits, cost, fidelity, devices, provenance) "
        "as Markdown, read from the table itself.",
    )
    p.add_argument("table", metavar="TABLE", help="an .h5 table")
    p.add_argument("--title", default=None, help="heading (default: the file name)")
    p.add_argument("--command", default=None, help="the command that regenerates the table")
    add_no_verify(p)
    p.set_defaults(func=cmd_card)


def cmd_card(args: argparse.Namespace) -> int:
    from nasbench.reporting.card import data_card

    print(data_card(_open(args), title=args.title, command=args.command), end="")
    return 0

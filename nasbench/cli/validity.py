"""The ``validity`` command: how well a table ranks architectures the way a reference
table does (rank correlations, top-k overlap, the reference rank of the table's best, per
op-composition stratum), as Markdown or JSON.

The computation is :func:`nasbench.generation.validity.validity`, the document
:func:`nasbench.reporting.validity.render_validity`; both are imported inside the handler
so ``nasbench --help`` stays light.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from nasbench.cli.args import Subcommands, count, minimum, print_json
from nasbench.core.errors import ConfigError
from nasbench.core.schema import MAX_EPOCHS

__all__ = ["add_validity"]

#: Largest ``--epoch`` position either way: a table holds at most this many epochs.
MAX_EPOCH_POSITION = MAX_EPOCHS


def add_validity(commands: Subcommands) -> None:
    p = commands.add_parser(
        "validity",
        help="external validity: agreement of a table's ranking with a reference table",
        description="Compare how TABLE and a reference table (e.g. a NAS-Bench-201 table) rank the "
        "architectures they share, matched by string: Spearman and Kendall tau-b, top-1/5/10 %% "
        "overlap, the reference rank of the table's best architecture, and the same per "
        "op-composition stratum; per architecture and per isomorphism class of TABLE.",
    )
    p.add_argument("table", metavar="TABLE", help="path of the .h5 table to judge")
    p.add_argument("--against", required=True, metavar="REF", help="path of the reference .h5 table")
    p.add_argument("--metric", default="test_acc", help="metric of TABLE (default test_acc, mean over seeds)")
    p.add_argument("--against-metric", default="test_acc", help="metric of REF (default test_acc)")
    p.add_argument(
        "--epoch",
        type=count("--epoch", -MAX_EPOCH_POSITION, MAX_EPOCH_POSITION),
        default=-1,
        help="epoch position in TABLE (default -1, the last)",
    )
    p.add_argument(
        "--against-epoch",
        type=count("--against-epoch", -MAX_EPOCH_POSITION, MAX_EPOCH_POSITION),
        default=-1,
        help="epoch position in REF (default -1, the last)",
    )
    p.add_argument(
        "--min-stratum-size",
        type=minimum("--min-stratum-size", 3),
        default=30,
        help="report strata with at least this many shared entries (default 30)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON instead of Markdown")
    p.add_argument("--out", metavar="FILE.md", help="also write the Markdown to this file")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.set_defaults(func=cmd_validity)


def cmd_validity(args: argparse.Namespace) -> int:
    from nasbench.core.table import open_table
    from nasbench.generation.validity import validity
    from nasbench.reporting.validity import render_validity

    out = Path(args.out) if args.out else None
    if out is not None:  # refused before any table is read
        if out.is_dir():
            raise ConfigError(f"--out {out}: is a directory")
        if out.exists() and not args.overwrite:
            raise ConfigError(f"--out {out}: file exists (pass --overwrite to replace it)")
    table = open_table(args.table)
    reference = open_table(args.against)
    result = validity(
        table,
        reference,
        metric=args.metric,
        reference_metric=args.against_metric,
        epoch=args.epoch,
        reference_epoch=args.against_epoch,
        min_stratum_size=args.min_stratum_size,
    )
    markdown = render_validity(result)
    if out is not None:
        temporary = out.with_name(out.name + ".tmp")
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(markdown, encoding="utf-8")
            os.replace(temporary, out)
        except OSError as exc:
            try:
                temporary.unlink(missing_ok=True)
            except OSError:
                pass
            raise ConfigError(f"--out {out}: cannot write ({exc.strerror or exc})") from None
    if args.json:
        print_json(result)
    else:
        print(markdown, end="")
    return 0

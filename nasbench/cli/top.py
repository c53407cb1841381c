"""The ``top`` command: a table's best architectures (:meth:`Table.top
<nasbench.core.table.Table.top>`), as an aligned text table or JSON.

It answers "what was there to find" beside the leaderboard's "how well was it found".
"""

from __future__ import annotations

import argparse
import math
from typing import Any

import numpy as np

from nasbench.cli.args import Subcommands, minimum, print_json
from nasbench.cli.tables import add_no_verify
from nasbench.core.ranking import RankedClass, lower_is_better, metric_unit

__all__ = ["TEXT_WIDTH", "add_top", "top_text"]

#: Widest line of the text table; an architecture string that would pass it goes on a line of its own.
TEXT_WIDTH = 100


def add_top(commands: Subcommands) -> None:
    p = commands.add_parser(
        "top",
        help="a table's k best architectures by one metric",
        description="The k best canonical classes of a table by the seed mean of an epoch metric "
        "(unmeasured classes left out, ties to the smaller index; losses and seconds rank ascending).",
    )
    p.add_argument("table", metavar="TABLE", help="path of an .h5 table")
    p.add_argument("-k", type=minimum("-k", 1), default=10, help="how many classes (default 10)")
    p.add_argument("--metric", default="test_acc", help="epoch metric to rank by (default test_acc)")
    p.add_argument("--epoch", type=int, default=-1, help="0-based epoch position, -1 for the last (default)")
    p.add_argument("--json", action="store_true", help="print JSON (missing values as null)")
    add_no_verify(p)
    p.set_defaults(func=cmd_top)


def cmd_top(args: argparse.Namespace) -> int:
    from nasbench.core.table import open_table

    table = open_table(args.table, verify=False if args.no_verify else None)
    ranked = table.top(args.k, args.metric, epoch=args.epoch)
    values = table.class_metric(args.metric, args.epoch)
    data: dict[str, Any] = {
        "table": str(table.path),
        "metric": args.metric,
        "unit": metric_unit(args.metric),
        "epoch": args.epoch,
        "training_epoch": int(table.epochs[args.epoch]),
        "higher_is_better": not lower_is_better(args.metric),
        "classes": table.num_unique,
        "measured": int(np.count_nonzero(~np.isnan(values))),
        "seeds": table.seeds.tolist(),
        "seed_axis": table.seed_axis.get("kind", "runs"),
        "top": [item.to_dict() for item in ranked],
    }
    if args.json:
        print_json(data)
    else:
        print(top_text(data, ranked))
    return 0


def top_text(data: dict[str, Any], ranked: list[RankedClass]) -> str:
    """The ranking as text at most :data:`TEXT_WIDTH` columns wide: a heading line, then one
    aligned row per class (rank, value with its unit, members, params, index) ending in the
    architecture string, or followed by it on its own indented line when the row would be
    too wide (NAS-Bench-201 strings are 96 characters)."""
    order = "higher" if data["higher_is_better"] else "lower"
    if data["seed_axis"] == "mean":  # an imported table keeps one column: its source's seed mean
        seeds = "the source's mean over its seeds"
    else:
        seeds = "mean of seeds " + ", ".join(map(str, data["seeds"]))
    heading = (
        f"{data['metric']} after epoch {data['training_epoch']}, {seeds}"
        f" ({order} is better): top {len(ranked)} of {data['measured']:,} measured classes"
    )
    if data["measured"] < data["classes"]:
        heading += f" ({data['classes']:,} in the table)"
    if not ranked:
        return heading
    unit = data["unit"]
    cells = [
        (
            str(item.rank),
            _value(item.value, unit),
            f"{item.members:,}",
            "-" if math.isnan(item.params_m) else f"{item.params_m:.4f}",
            str(item.index),
        )
        for item in ranked
    ]
    header = ("rank", data["metric"], "members", "params M", "index")
    widths = [max(len(header[c]), *(len(row[c]) for row in cells)) for c in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        return "  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True))

    numbers_width = len(line(header))
    inline = numbers_width + 2 + max(len(item.arch) for item in ranked) <= TEXT_WIDTH
    lines = [
        heading,
        line(header) + "  architecture" if inline else line(header),
        *([] if inline else ["  architecture"]),
    ]
    for row, item in zip(cells, ranked, strict=True):
        if inline:
            lines.append(f"{line(row)}  {item.arch}")
        else:
            lines += [line(row), f"  {item.arch}"]
    return "\n".join(lines)


def _value(value: float, unit: str) -> str:
    """A metric value for reading: accuracies to 2 decimals in %, seconds to 3 significant
    digits, anything else (losses) to 4."""
    if unit == "%":
        return f"{value:.2f} %"
    if unit == "s":
        return f"{value:.3g} s"
    return f"{value:.4g}"

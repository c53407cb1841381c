"""The ``nasbench`` command: the parser assembled from the command groups, plug-in
commands, and the one-line error handling.

Every error caused by bad input (a :class:`~nasbench.core.errors.NasbenchError`, raised by
the library or by an option type of :mod:`nasbench.cli.args`) is printed as one line on
stderr and the command exits with status 1; argparse's own usage errors exit with 2.

Plug-in packages add commands through entry points (see :mod:`nasbench.cli.plugins`).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from nasbench.cli.args import Subcommands
from nasbench.cli.compare import add_compare, add_demo, add_report, add_strategies
from nasbench.cli.generation import add_fidelity, add_frontier, add_generate, add_merge
from nasbench.cli.importing import add_import
from nasbench.cli.plugins import add_plugin_commands
from nasbench.cli.reproduce import add_reproduce
from nasbench.cli.surrogates import add_surrogate
from nasbench.cli.tables import (
    add_card,
    add_cost,
    add_info,
    add_init_table,
    add_query,
    add_space,
    add_validate,
)
from nasbench.cli.validity import add_validity
from nasbench.core.errors import NasbenchError, NotMeasuredError, one_line

__all__ = ["build_parser", "main"]

logger = logging.getLogger(__name__)

#: The built-in commands, in the order ``nasbench --help`` lists them.
BUILTIN_COMMANDS: tuple[Callable[[Subcommands], None], ...] = (
    add_space,
    add_cost,
    add_info,
    add_query,
    add_validate,
    add_init_table,
    add_generate,
    add_fidelity,
    add_frontier,
    add_merge,
    add_import,
    add_validity,
    add_compare,
    add_card,
    add_demo,
    add_strategies,
    add_surrogate,
    add_reproduce,
)


def build_parser() -> argparse.ArgumentParser:
    """The ``nasbench`` parser: built-in commands, then plug-in commands."""
    from nasbench import __version__

    parser = argparse.ArgumentParser(
        prog="nasbench",
        description="NAS benchmark tables: search spaces, costs, table queries and validation.",
    )
    parser.add_argument("--version", action="version", version=f"nasbench {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in BUILTIN_COMMANDS:
        add(commands)
    add_plugin_commands(commands)
    # The leaderboard report comes last, after every command that produces results.
    add_report(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(arguments)
        args.argv = arguments
        return int(args.func(args))
    except NotMeasuredError as exc:
        print(f"nasbench: not measured: {one_line(exc)}", file=sys.stderr)
        return 1
    except NasbenchError as exc:
        print(f"nasbench: error: {one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("nasbench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``nasbench strategies | head``): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

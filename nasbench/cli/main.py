"""The ``nasbench`` command: the parser assembled from the command groups, plug-in
commands, and the one-line error handling.

Every error ends the command with one line on stderr that starts with ``nasbench:``:

- bad input (a :class:`~nasbench.core.errors.NasbenchError`, raised by the library or by
  an option type of :mod:`nasbench.core.options`): ``nasbench: error: ...``, status 1;
- argparse's usage errors (unknown option, missing argument, invalid choice):
  ``nasbench: error: COMMAND: ... (see 'nasbench COMMAND --help')``, status 2;
- an operating-system error (disk full, file too large, permission denied, not a
  directory...): ``nasbench: error: PATH: REASON``, status 1;
- a number too large, memory exhausted (``MemoryError``, or torch's allocator refusing a
  tensor), input nested too deeply: one line, status 1;
- Ctrl-C: ``nasbench: interrupted``, status 130;
- anything else is a bug: ``nasbench: unexpected error: Type: message (set
  NASBENCH_DEBUG=1 for the traceback)``, status 2; with ``NASBENCH_DEBUG=1`` the
  traceback is printed above that line.

Lines are cut to :data:`MAX_LINE` characters, so a 5,000-character argument quoted in a
message cannot make a 5,000-character line.

Plug-in packages add commands through entry points (see :mod:`nasbench.cli.plugins`).
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import NoReturn

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
from nasbench.cli.top import add_top
from nasbench.cli.validity import add_validity
from nasbench.core.errors import NasbenchError, NotMeasuredError, one_line
from nasbench.core.options import shorten

__all__ = ["MAX_LINE", "CommandParser", "build_parser", "error_line", "main"]

logger = logging.getLogger(__name__)

#: Longest error line printed; a longer message keeps its start and end.
MAX_LINE = 300
#: Environment variable that makes an unexpected error print its traceback.
DEBUG_VARIABLE = "NASBENCH_DEBUG"
#: The line of an exhausted memory (Python's MemoryError, torch's allocator refusing).
OUT_OF_MEMORY = "out of memory (ask for less: fewer seeds, epochs or architectures, a smaller resolution)"

#: The built-in commands, in the order ``nasbench --help`` lists them.
BUILTIN_COMMANDS: tuple[Callable[[Subcommands], None], ...] = (
    add_space,
    add_cost,
    add_info,
    add_query,
    add_top,
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


class CommandParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one ``nasbench: error:`` line (status 2).

    Subcommand parsers (plug-ins' too) are made of the same class: ``add_subparsers``
    defaults to the parent parser's type.
    """

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("nasbench").strip()
        where = f"{command}: " if command else ""
        hint = f" (see '{self.prog} --help')"
        text = error_line(f"{where}{message}", prefix="nasbench: error: ", suffix=hint)
        self.exit(2, text + "\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``nasbench`` parser: built-in commands, then plug-in commands."""
    from nasbench import __version__

    parser = CommandParser(
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


def error_line(message: str, prefix: str = "nasbench: error: ", suffix: str = "") -> str:
    """``prefix + message + suffix`` on one line of at most :data:`MAX_LINE` characters: a
    long message keeps its first and last part, joined by `` ... ``; control characters
    (a terminal escape in a file name, say) are shown escaped, never sent to the terminal."""
    text = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in one_line(message))
    room = MAX_LINE - len(prefix) - len(suffix)
    if len(text) > room:
        tail = room // 4
        text = f"{text[: room - tail - 5]} ... {text[-tail:]}"
    return f"{prefix}{text}{suffix}"


def _os_error_text(exc: OSError) -> str:
    """``PATH: REASON`` of an OS error (``REASON`` alone when it names no file)."""
    reason = exc.strerror or (errno.errorcode.get(exc.errno, "") if exc.errno else "") or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        reason += " (free some space and run it again)"
    names = [name for name in (exc.filename, exc.filename2) if name is not None]
    if not names:
        return reason
    shown = [shorten(os.fsdecode(name) if isinstance(name, bytes) else str(name), 160) for name in names]
    return f"{' -> '.join(shown)}: {reason}"


def _fail(message: str, status: int, prefix: str = "nasbench: error: ", debug: bool = False) -> int:
    """Print one error line (the traceback above it when ``debug``) and return ``status``."""
    if debug and _debugging():
        traceback.print_exc(file=sys.stderr)
    print(error_line(message, prefix=prefix), file=sys.stderr)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (argparse's usage errors and ``--help`` end it
    with ``SystemExit``, as argparse does)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(arguments)
        args.argv = arguments
        return int(args.func(args))
    except NotMeasuredError as exc:
        return _fail(str(exc), 1, prefix="nasbench: not measured: ")
    except NasbenchError as exc:
        return _fail(str(exc), 1)
    except KeyboardInterrupt:
        print("nasbench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``nasbench strategies | head``): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except OSError as exc:
        return _fail(_os_error_text(exc), 1, debug=True)
    except MemoryError:
        return _fail(OUT_OF_MEMORY, 1, debug=True)
    except RecursionError:
        return _fail("input nested too deeply to read (maximum recursion depth exceeded)", 1, debug=True)
    except OverflowError as exc:
        return _fail(f"a number is too large: {exc}", 1, debug=True)
    except RuntimeError as exc:
        if "can't allocate memory" in str(exc):  # torch's CPU allocator refusing a huge tensor
            return _fail(OUT_OF_MEMORY, 1, debug=True)
        return _unexpected(exc)
    except Exception as exc:  # a bug: still one line, the traceback on request
        return _unexpected(exc)


def _unexpected(exc: Exception) -> int:
    """An exception no handler expects (a bug): one line, status 2, the traceback only with
    ``NASBENCH_DEBUG=1``."""
    hint = f" (set {DEBUG_VARIABLE}=1 for the traceback)"
    message = f"{type(exc).__name__}: {one_line(exc)}"
    if _debugging():
        traceback.print_exc(file=sys.stderr)
    print(error_line(message, prefix="nasbench: unexpected error: ", suffix=hint), file=sys.stderr)
    return 2


def _debugging() -> bool:
    """Whether ``NASBENCH_DEBUG`` asks for tracebacks (set, and not ``0``)."""
    return os.environ.get(DEBUG_VARIABLE, "") not in ("", "0")


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

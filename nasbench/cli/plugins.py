"""Commands plug-in packages add to ``nasbench``, through entry points.

Two groups: ``nasbench.commands`` adds top-level commands (``nasbench NAME``) and
``nasbench.surrogate_commands`` subcommands of ``nasbench surrogate``. Each entry point
names a callable ``add_command(subparsers) -> None`` that adds one subcommand, named as
the entry point, with ``set_defaults(func=handler)``; the handler takes the parsed
arguments and returns the exit status. Option types for such commands are in
:mod:`nasbench.core.options`, text output in :mod:`nasbench.reporting.console`. A
plug-in that fails to load does not break the other commands: its command is listed as
unavailable and running it prints why, in one line.
"""

from __future__ import annotations

import argparse
import logging

from nasbench.core.errors import ConfigError, one_line
from nasbench.core.options import Subcommands
from nasbench.core.registry import installed_entry_points

__all__ = ["COMMANDS_GROUP", "SURROGATE_COMMANDS_GROUP", "add_plugin_commands"]

logger = logging.getLogger(__name__)

#: Entry-point group of the top-level commands plug-in packages add.
COMMANDS_GROUP = "nasbench.commands"
#: Entry-point group of the ``nasbench surrogate`` subcommands plug-in packages add.
SURROGATE_COMMANDS_GROUP = "nasbench.surrogate_commands"


def add_plugin_commands(commands: Subcommands, group: str = COMMANDS_GROUP) -> None:
    """Add the commands of every entry point of ``group``, sorted by name.

    A built-in command's name is never taken over (the plug-in is skipped with a logged
    warning). A plug-in whose module fails to import, or whose ``add_command`` raises, is
    listed as an unavailable command that says why when run; the others work as usual.
    """
    for name, entry in sorted(installed_entry_points(group).items()):
        if name in commands.choices:
            logger.warning("plug-in command %r (%s) skipped: the name is taken", name, entry.value)
            continue
        try:
            entry.load()(commands)
        except Exception as exc:  # a broken plug-in must not break every other command
            logger.debug("plug-in command %r (%s) failed to load", name, entry.value, exc_info=True)
            _add_unavailable(commands, name, f"{entry.value} failed: {type(exc).__name__}: {one_line(exc)}")
            continue
        if name not in commands.choices:
            logger.warning("plug-in command %r (%s) added no command of that name", name, entry.value)


def _add_unavailable(commands: Subcommands, name: str, why: str) -> None:
    """Make ``name`` a command that only explains, as a one-line error, why it is unavailable."""

    def unavailable(args: argparse.Namespace) -> int:
        raise ConfigError(f"command {name!r} is unavailable: {why}")

    parser = commands.choices.get(name)
    if parser is None:  # the plug-in failed before adding its parser
        # No character starts an option here, so every argument (--help included) is taken
        # as data and running the command, however it is called, says why it is unavailable.
        parser = commands.add_parser(
            name, help="unavailable: its plug-in failed to load", add_help=False, prefix_chars="\0"
        )
        parser.add_argument("ignored", nargs="*", help=argparse.SUPPRESS)
    parser.set_defaults(func=unavailable)

"""Types of command-line options, shared by the ``nasbench`` command and the commands
plug-ins add (entry-point groups ``nasbench.commands`` and ``nasbench.surrogate_commands``).

The ``type=`` factories validate an option while argparse parses it and word the error
with the option's flag (``--seeds must be >= 1, got 0``): the library's own messages name
Python parameters, a command line names flags. They raise :class:`OptionError`, which
argparse lets through (it catches only ``ArgumentTypeError``, ``TypeError`` and
``ValueError``), so the command prints it as one ``nasbench: error: ...`` line with exit
status 1, as every other bad input, instead of argparse's usage text with status 2.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any, TypeAlias

from nasbench.core.errors import NasbenchError

__all__ = [
    "OptionError",
    "Subcommands",
    "assignment",
    "count",
    "int_list",
    "json_or_text",
    "minimum",
    "parse_arch",
    "real",
    "seed_list",
]

#: What ``add_subparsers`` returns: an ``add_<command>(commands)`` function adds one command to it.
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class OptionError(NasbenchError):
    """A command-line option's value is malformed or out of range.

    Deliberately not a ``ValueError``: argparse would turn that into a usage error.
    """


def parse_arch(text: str) -> str | int:
    """An ARCH argument: a decimal index or a NAS-Bench-201 string."""
    stripped = text.strip()
    return int(stripped) if stripped.isdecimal() and stripped.isascii() else stripped


def json_or_text(raw: str) -> Any:
    """VALUE of a KEY=VALUE option: JSON when it parses, else the string itself."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


# --------------------------------------------------------------------- option types
def seed_list(option: str) -> Callable[[str], list[int]]:
    """Type of a comma-separated list of seeds (``0,1,2``), at least one."""

    def parse(text: str) -> list[int]:
        try:
            seeds = [int(part) for part in text.split(",") if part.strip() != ""]
        except ValueError:
            raise OptionError(f"{option} must be comma-separated integers, got {text!r}") from None
        if not seeds:
            raise OptionError(f"{option} needs at least one seed")
        return seeds

    return parse


def count(option: str, low: int) -> Callable[[str], int]:
    """Type of an integer option that must be ``>= low``."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise OptionError(f"{option} must be an integer, got {text!r}") from None
        if value < low:
            raise OptionError(f"{option} must be >= {low}, got {value}")
        return value

    return parse


def minimum(option: str, low: float, convert: Callable[[str], Any] = int) -> Callable[[str], Any]:
    """Type of an option read by ``convert`` (``int``, ``float``) that must be ``>= low``.

    A value ``convert`` cannot read stays argparse's usage error (``invalid int value``),
    as with a plain ``type=int``; only the range check words a one-line error.
    """

    def parse(text: str) -> Any:
        value = convert(text)
        if value < low:
            raise OptionError(f"{option} must be >= {low}, got {value}")
        return value

    parse.__name__ = getattr(convert, "__name__", "value")
    return parse


def real(option: str, positive: bool = False) -> Callable[[str], float]:
    """Type of a number option; with ``positive``, one that must be ``> 0``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise OptionError(f"{option} must be a number, got {text!r}") from None
        if positive and not value > 0:
            raise OptionError(f"{option} must be > 0, got {text}")
        return value

    return parse


def int_list(option: str, low: int) -> Callable[[str], list[int]]:
    """Type of a comma-separated list of integers, each ``>= low``, at least one."""

    def parse(text: str) -> list[int]:
        try:
            values = [int(part) for part in text.split(",") if part.strip()]
        except ValueError:
            raise OptionError(f"{option} must be comma-separated integers, got {text!r}") from None
        if not values or any(value < low for value in values):
            raise OptionError(f"{option} needs integers >= {low}, got {text!r}")
        return values

    return parse


def assignment(option: str, key_name: str = "KEY") -> Callable[[str], tuple[str, Any]]:
    """Type of one ``KEY=VALUE`` item of a repeatable option: ``(KEY, VALUE)``, VALUE read
    as JSON when it parses, else as a string. ``dict(args.option or ())`` collects them."""

    def parse(item: str) -> tuple[str, Any]:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise OptionError(f"{option} needs {key_name}=VALUE, got {item!r}")
        return key.strip(), json_or_text(raw)

    return parse

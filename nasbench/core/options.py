"""Types of command-line options, shared by the ``nasbench`` command and the commands
plug-ins add (entry-point groups ``nasbench.commands`` and ``nasbench.surrogate_commands``).

The ``type=`` factories validate an option while argparse parses it and word the error
with the option's flag (``--seeds must be >= 1, got 0``): the library's own messages name
Python parameters, a command line names flags. They raise :class:`OptionError`, which
argparse lets through (it catches only ``ArgumentTypeError``, ``TypeError`` and
``ValueError``), so the command prints it as one ``nasbench: error: ...`` line with exit
status 1, as every other bad input, instead of argparse's usage text with status 2.

Every numeric option is bounded above as well as below, so a typo such as
``--seeds 1180591620717411303424`` or ``--epochs 1000000000`` is refused while parsing,
before anything is allocated or written. The upper bounds live in one table,
:data:`OPTION_LIMITS`, keyed by flag, so every command (plug-in commands included) that
names an option the same way gets the same range; a flag not in it gets
:data:`DEFAULT_INTEGER_LIMIT`. Integers are read strictly: ASCII digits with an optional
sign (no ``²``, no Arabic-Indic digits, no ``1_000``); reals must be finite. Messages
echo at most :data:`ECHO_CHARACTERS` characters of what the user typed.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from collections.abc import Callable
from typing import Any, TypeAlias

from nasbench.core.errors import NasbenchError
from nasbench.core.schema import MAX_EPOCHS, MAX_SEEDS

__all__ = [
    "DEFAULT_INTEGER_LIMIT",
    "ECHO_CHARACTERS",
    "MAX_SEED",
    "MAX_TABLE_SEEDS",
    "OPTION_LIMITS",
    "OptionError",
    "Subcommands",
    "assignment",
    "count",
    "echo",
    "int_list",
    "json_or_text",
    "minimum",
    "parse_arch",
    "real",
    "scheduler_address",
    "seed_list",
    "shorten",
]

#: What ``add_subparsers`` returns: an ``add_<command>(commands)`` function adds one command to it.
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

#: Characters of a user's input quoted back in an error message; the rest is elided.
ECHO_CHARACTERS = 80

#: Largest magnitude of one seed value: seeds are stored as int64 in a table.
MAX_SEED = 2**63 - 1
#: Most seeds in one ``--seeds 0,1,2`` list: the table schema's limit of its seed axis.
MAX_TABLE_SEEDS = MAX_SEEDS
#: Upper bound of an integer option whose flag is not in :data:`OPTION_LIMITS` (a C int).
DEFAULT_INTEGER_LIMIT = 2**31 - 1

#: Largest value of each integer option, by flag. Generous for real use, small enough that
#: a typo fails at once instead of allocating gigabytes or running for years.
OPTION_LIMITS: dict[str, int] = {
    "--seeds": 100_000,  # seeds per strategy (compare, demo, reproduce, surrogate eval/tune)
    "--seed": 2**32 - 1,  # one seed of a sampler or a split
    "--epochs": MAX_EPOCHS,  # epochs per training run: the table schema's limit (1,000)
    "--epoch": MAX_EPOCHS,  # which training epoch imported values are from
    "--workers": 1_024,  # worker processes
    "--budget-evals": 10_000_000,  # evaluations per run
    "--nb201-evaluations": 10_000_000,
    "--budgets": 10_000_000,
    "--limit": 1 << 24,  # architectures (classes) of a space
    "--archs": 1 << 24,
    "--train-size": 1 << 24,
    "--min-stratum-size": 1 << 24,
    "--configs": 100_000,  # surrogate configurations tried
    "--batch-size": 65_536,
}

_INTEGER = re.compile(r"[+-]?[0-9]+")
_SCHEDULER = re.compile(r"(?:(?:tcp|tls|ws|wss|ucx)://)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):([0-9]{1,5})")


class OptionError(NasbenchError):
    """A command-line option's value is malformed or out of range.

    Deliberately not a ``ValueError``: argparse would turn that into a usage error.
    """


def shorten(text: object, limit: int = ECHO_CHARACTERS) -> str:
    """``text`` cut to about ``limit`` characters: its start and end with the length
    between, so a 5,000-character argument does not make a 5,000-character error line."""
    text = str(text)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 30]}...{text[-10:]} ({len(text):,} characters)"


def echo(text: object, limit: int = ECHO_CHARACTERS) -> str:
    """``repr`` of what the user typed, cut like :func:`shorten`."""
    text = str(text)
    if len(text) <= limit:
        return repr(text)
    return f"{text[: limit - 30]!r}...{text[-10:]!r} ({len(text):,} characters)"


def _limit(option: str, high: int | None) -> int:
    """The upper bound of ``option``: ``high`` when given, else its entry in
    :data:`OPTION_LIMITS`, else :data:`DEFAULT_INTEGER_LIMIT`."""
    if high is not None:
        return high
    return OPTION_LIMITS.get(option, DEFAULT_INTEGER_LIMIT)


def _typed(text: str) -> str:
    """What the user typed (blanks stripped), cut by :func:`shorten` when it is long."""
    return shorten(text.strip())


def _integer(text: str) -> int | None:
    """``text`` as an integer: ASCII digits with an optional sign, surrounding blanks
    allowed; None for anything else (``²``, ``٣``, ``1_000``, ``1e3``, ``10^30``). A
    number of more than 100 digits is read as +-10**100: past every bound, and cheap."""
    stripped = text.strip()
    if not _INTEGER.fullmatch(stripped):
        return None
    if len(stripped.lstrip("+-")) > 100:
        return -(10**100) if stripped.startswith("-") else 10**100
    return int(stripped)


def _check_range(option: str, value: int, text: str, low: float, high: int) -> int:
    """``value`` (read from ``text``) if ``low <= value <= high``; else an
    :class:`OptionError` naming the option and its range."""
    if value < low:
        raise OptionError(f"{option} must be >= {low}, got {_typed(text)}")
    if value > high:
        raise OptionError(f"{option} must be in {low:,}..{high:,}, got {_typed(text)}")
    return value


def parse_arch(text: str) -> str | int:
    """An ARCH argument: a decimal index (ASCII digits) or a NAS-Bench-201 string.

    Digits past Python's int-to-text limit stay text (refused as a malformed string)
    rather than raising while the argument is parsed.
    """
    stripped = text.strip()
    if stripped.isdecimal() and stripped.isascii() and len(stripped) <= 4_000:
        return int(stripped)
    return stripped


def json_or_text(raw: str) -> Any:
    """VALUE of a KEY=VALUE option: JSON when it parses, else the string itself.

    JSON that is too deeply nested to read, or a number too large to hold, stays text:
    the setting it is given to then refuses it in one line.
    """
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return raw


# --------------------------------------------------------------------- option types
def seed_list(option: str) -> Callable[[str], list[int]]:
    """Type of a comma-separated list of seeds (``0,1,2``): at least one, at most
    :data:`MAX_TABLE_SEEDS`, each a 64-bit integer (a table stores them as int64)."""

    def parse(text: str) -> list[int]:
        parts = [part for part in text.split(",") if part.strip() != ""]
        if len(parts) > MAX_TABLE_SEEDS:
            raise OptionError(f"{option} takes at most {MAX_TABLE_SEEDS} seeds, got {len(parts):,}")
        seeds = [_integer(part) for part in parts]
        if any(seed is None for seed in seeds):
            raise OptionError(f"{option} must be comma-separated integers, got {echo(text)}")
        if not seeds:
            raise OptionError(f"{option} needs at least one seed")
        for seed, part in zip(seeds, parts, strict=True):
            if seed is not None and not -MAX_SEED - 1 <= seed <= MAX_SEED:
                raise OptionError(f"{option}: each seed must be in -2**63..2**63-1, got {_typed(part)}")
        return [seed for seed in seeds if seed is not None]

    return parse


def count(option: str, low: int, high: int | None = None) -> Callable[[str], int]:
    """Type of an integer option in ``low..high`` (``high`` defaults to the flag's entry in
    :data:`OPTION_LIMITS`)."""
    upper = _limit(option, high)

    def parse(text: str) -> int:
        value = _integer(text)
        if value is None:
            raise OptionError(f"{option} must be an integer, got {echo(text)}")
        return _check_range(option, value, text, low, upper)

    return parse


def minimum(
    option: str, low: float, convert: Callable[[str], Any] = int, high: float | None = None
) -> Callable[[str], Any]:
    """Type of an option read by ``convert`` (``int``, ``float``) that must be ``>= low``
    (and ``<= high``; integers default to the flag's entry in :data:`OPTION_LIMITS`).

    A value ``convert`` cannot read stays argparse's usage error (``invalid int value``),
    as with a plain ``type=int``; only the range check words a one-line error. Integers are
    read strictly (ASCII digits), reals must be finite.
    """

    def parse(text: str) -> Any:
        if convert is int:
            number = _integer(text)
            if number is None:  # argparse words it: "invalid int value: 'two'"
                raise ValueError(f"invalid literal for int(): {echo(text)}")
            upper = _limit(option, None if high is None else int(high))
            return _check_range(option, number, text, low, upper)
        value = convert(text)
        if isinstance(value, float) and not math.isfinite(value):
            raise OptionError(f"{option} must be a finite number, got {echo(text)}")
        if value < low:
            raise OptionError(f"{option} must be >= {low}, got {_typed(text)}")
        if high is not None and value > high:
            raise OptionError(f"{option} must be in {low:,}..{high:,}, got {_typed(text)}")
        return value

    parse.__name__ = getattr(convert, "__name__", "value")
    return parse


def real(option: str, positive: bool = False) -> Callable[[str], float]:
    """Type of a finite number option; with ``positive``, one that must be ``> 0``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise OptionError(f"{option} must be a number, got {echo(text)}") from None
        if positive and not value > 0:
            raise OptionError(f"{option} must be > 0, got {_typed(text)}")
        if not math.isfinite(value):
            raise OptionError(f"{option} must be a finite number, got {echo(text)}")
        return value

    return parse


def int_list(option: str, low: int, high: int | None = None) -> Callable[[str], list[int]]:
    """Type of a comma-separated list of integers, each in ``low..high`` (``high`` defaults
    to the flag's entry in :data:`OPTION_LIMITS`), at least one, at most 1,000."""
    upper = _limit(option, high)

    def parse(text: str) -> list[int]:
        parts = [part for part in text.split(",") if part.strip()]
        if len(parts) > 1_000:
            raise OptionError(f"{option} takes at most 1,000 values, got {len(parts):,}")
        values = [_integer(part) for part in parts]
        if any(value is None for value in values):
            raise OptionError(f"{option} must be comma-separated integers, got {echo(text)}")
        checked = [int(value) for value in values if value is not None]
        if not checked or any(value < low for value in checked):
            raise OptionError(f"{option} needs integers >= {low}, got {echo(text)}")
        for value, part in zip(checked, parts, strict=True):
            _check_range(option, value, part, low, upper)
        return checked

    return parse


def scheduler_address(option: str) -> Callable[[str], str]:
    """Type of a Dask scheduler address, ``[tcp://]HOST:PORT`` (or tls, ws, wss, ucx): a
    malformed one is refused while parsing, before any table is created (Dask itself
    raises a bare ``ValueError`` for it only when connecting)."""

    def parse(text: str) -> str:
        stripped = text.strip()
        match = _SCHEDULER.fullmatch(stripped)
        if match is None or not 0 < int(match.group(1)) < 65_536:
            raise OptionError(f"{option} must look like tcp://HOST:PORT, got {echo(text)}")
        return stripped

    return parse


def assignment(option: str, key_name: str = "KEY") -> Callable[[str], tuple[str, Any]]:
    """Type of one ``KEY=VALUE`` item of a repeatable option: ``(KEY, VALUE)``, VALUE read
    as JSON when it parses, else as a string. ``dict(args.option or ())`` collects them."""

    def parse(item: str) -> tuple[str, Any]:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise OptionError(f"{option} needs {key_name}=VALUE, got {echo(item)}")
        return key.strip(), json_or_text(raw)

    return parse

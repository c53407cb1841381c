"""What only the ``nasbench`` command's own groups share: ``compare``'s ``--param`` items and
JSON printing. The option types every command uses (plug-in commands too) are in
:mod:`nasbench.core.options`; the text formatting in :mod:`nasbench.reporting.console`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nasbench.core.options import (
    OptionError,
    Subcommands,
    assignment,
    count,
    echo,
    int_list,
    json_or_text,
    minimum,
    parse_arch,
    real,
    scheduler_address,
    seed_list,
)
from nasbench.reporting.console import json_text

__all__ = [
    "OptionError",
    "Subcommands",
    "assignment",
    "count",
    "echo",
    "int_list",
    "minimum",
    "parse_arch",
    "print_json",
    "real",
    "scheduler_address",
    "seed_list",
    "strategy_assignment",
    "strategy_params",
]


def print_json(data: Any) -> None:
    """``data`` as indented JSON with sorted keys (see :func:`~nasbench.reporting.console.json_text`)."""
    print(json_text(data))


def strategy_assignment(item: str) -> tuple[str, str, Any]:
    """One ``--param NAME.KEY=VALUE`` item of ``compare``: ``(NAME, KEY, VALUE)``."""
    left, sep, raw = item.partition("=")
    name, dot, key = left.strip().rpartition(".")
    if not sep or not dot or not name or not key:
        raise OptionError(f"--param needs STRATEGY.HYPERPARAMETER=VALUE, got {item!r}")
    return name, key, json_or_text(raw)


def strategy_params(items: Iterable[tuple[str, str, Any]] | None) -> dict[str, dict[str, Any]]:
    """``compare``'s ``--param`` items as ``{strategy: {hyperparameter: value}}``."""
    params: dict[str, dict[str, Any]] = {}
    for name, key, value in items or ():
        params.setdefault(name, {})[key] = value
    return params

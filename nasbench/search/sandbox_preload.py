"""Imported once by the sandbox's server process (:mod:`nasbench.search.sandbox`), so a
run's child, forked from it, starts without importing the library, the built-in
strategies and their numeric dependencies again. It opens no table."""

from __future__ import annotations

import contextlib
from importlib import metadata

import numpy  # noqa: F401

import nasbench.bench.benchmark  # noqa: F401
import nasbench.search.strategy as _strategy
from nasbench.core.space import get_space

with contextlib.suppress(ImportError):  # the strategies' models; optional for the core
    import torch  # noqa: F401


def _load_built_in_strategies() -> None:
    """Import the library's own strategies (a third-party plug-in is imported by the run
    that uses it, so one that hangs on import cannot stop the server)."""
    for entry in metadata.entry_points(group=_strategy.ENTRY_POINT_GROUP):
        if entry.dist is not None and entry.dist.name == "nasbench":
            with contextlib.suppress(Exception):
                _strategy.get_strategy_class(entry.name)


_load_built_in_strategies()
_ = get_space("nb201").num_unique  # its isomorphism classes, computed once for every run

"""Lazy public names for a package (PEP 562), the one mechanism every public ``__init__`` uses.

A package lists its public names with the module that defines each; a name is imported
on first use, so importing the package stays cheap (no torch, no h5py) and an API can be
re-exported without importing everything behind it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, namespace: dict[str, Any], homes: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` whose module globals are ``namespace``:
    each name of ``homes`` is imported from its module on first use and then cached."""

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *homes})

    return __getattr__, __dir__

"""Surrogates by name: the registry, fed by entry points and a decorator.

Built-ins and third-party packages register through the entry-point group
``nasbench.surrogates``::

    [project.entry-points."nasbench.surrogates"]
    my-model = "my_package.module:MyModel"

and code that is not packaged uses the decorator ``@register_surrogate("my-model")``.
The machinery is :class:`nasbench.core.registry.Registry`: tests and embedding code change
the registry through its public methods (``unregister``, ``scoped``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from nasbench.core.registry import Registry
from nasbench.prediction.base import SURROGATE_KINDS, Surrogate, param_to_json

__all__ = [
    "ENTRY_POINT_GROUP",
    "SURROGATE_KINDS",
    "SurrogateInfo",
    "create_surrogate",
    "get_surrogate_class",
    "list_surrogates",
    "plugin_errors",
    "register_surrogate",
    "surrogate_info",
    "surrogate_registry",
]

ENTRY_POINT_GROUP = "nasbench.surrogates"

S = TypeVar("S", bound=type[Surrogate])

#: The surrogate registry (see :class:`~nasbench.core.registry.Registry`).
surrogate_registry: Registry[Surrogate] = Registry(
    "surrogate", ENTRY_POINT_GROUP, (Surrogate,), SURROGATE_KINDS
)


@dataclass(frozen=True)
class SurrogateInfo:
    """What a listing prints about one surrogate."""

    name: str
    kind: str
    has_std: bool
    hyperparameters: dict[str, Any]
    summary: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "kind": self.kind,
            "has_std": self.has_std,
            "hyperparameters": {k: param_to_json(v) for k, v in self.hyperparameters.items()},
            "summary": self.summary,
            "source": self.source,
        }


def register_surrogate(name: str) -> Callable[[S], S]:
    """Class decorator: make a :class:`~nasbench.prediction.base.Surrogate` subclass available
    under ``name``."""
    return surrogate_registry.register(name)


def list_surrogates(pattern: str = "*", *, kind: str | None = None) -> list[str]:
    """Registered surrogate names matching a shell-style ``pattern`` (and ``kind``), sorted.

    Plugins that fail to import are left out; :func:`plugin_errors` says why.
    """
    return surrogate_registry.names(pattern, kind=kind)


def plugin_errors() -> dict[str, str]:
    """Surrogate plugins that failed to import so far, with the error."""
    return surrogate_registry.plugin_errors()


def get_surrogate_class(name: str) -> type[Surrogate]:
    """The class registered under ``name`` (importing its plugin on first use)."""
    return surrogate_registry.get(name)


def create_surrogate(name: str, **hyperparameters: Any) -> Surrogate:
    """An unfitted instance of surrogate ``name`` with ``hyperparameters``."""
    return surrogate_registry.create(name, **hyperparameters)


def surrogate_info(name: str) -> SurrogateInfo:
    """Kind, uncertainty, default hyperparameters, one-line summary and origin of a surrogate."""
    cls = get_surrogate_class(name)
    return SurrogateInfo(
        name,
        cls.kind,
        cls.has_std,
        cls.hyperparameters(),
        surrogate_registry.summary(name),
        surrogate_registry.source(name),
    )

"""Hyperparameters of plug-ins, scikit-learn style: read from ``__init__``, never stored twice.

Every plug-in family (search strategies, one-shot strategies, surrogates) takes its
hyperparameters as keyword arguments of ``__init__`` with defaults, stores them unchanged
under the same names and validates them there. :class:`ParamsMixin` derives the rest
from that signature: the names and defaults (:meth:`~ParamsMixin.hyperparameters`), the
current values (:meth:`~ParamsMixin.get_params`), changing some
(:meth:`~ParamsMixin.set_params`, validated by ``__init__`` again) and an unfitted copy
(:meth:`~ParamsMixin.clone`).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any, ClassVar, Self

from nasbench.core.errors import ConfigError

__all__ = ["ParamsMixin", "signature_defaults"]


def signature_defaults(cls: type, skip: Iterable[str] = ()) -> dict[str, Any]:
    """Keyword names and defaults of ``cls.__init__`` (``self``, ``*args``/``**kwargs``
    and ``skip`` left out; a parameter without a default maps to None)."""
    left_out = {"self", *skip}
    out: dict[str, Any] = {}
    for parameter in inspect.signature(cls.__init__).parameters.values():  # type: ignore[misc]
        if parameter.name in left_out or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        out[parameter.name] = None if parameter.default is parameter.empty else parameter.default
    return out


class ParamsMixin:
    """``hyperparameters`` / ``get_params`` / ``set_params`` / ``clone`` / ``repr`` from
    ``__init__``'s keywords.

    ``_params_left_out`` names ``__init__`` keywords that are not hyperparameters in the
    family's sense (strategies leave out ``seed``: it is given per run); they still
    travel through :meth:`set_params` and :meth:`clone`.
    """

    _params_left_out: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def hyperparameters(cls) -> dict[str, Any]:
        """Hyperparameter names and their defaults."""
        return signature_defaults(cls, skip=cls._params_left_out)

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        """Current hyperparameter values (``deep`` is accepted for scikit-learn's sake)."""
        return {name: getattr(self, name) for name in self.hyperparameters()}

    def _init_arguments(self) -> dict[str, Any]:
        """Every ``__init__`` keyword with its current value."""
        return {name: getattr(self, name) for name in signature_defaults(type(self))}

    def set_params(self, **params: Any) -> Self:
        """Change hyperparameters (validated as ``__init__`` does) and return self.

        The object is re-initialised from its merged parameters: learned or per-run
        state is dropped, so a fitted model must be fitted again.
        """
        known = signature_defaults(type(self))
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ConfigError(
                f"{type(self).__name__}: unknown hyperparameter {unknown[0]!r} "
                f"(known: {', '.join(sorted(known)) or 'none'})"
            )
        fresh = type(self)(**{**self._init_arguments(), **params})
        self.__dict__.clear()
        self.__dict__.update(fresh.__dict__)
        return self

    def clone(self) -> Self:
        """A new, unfitted object with the same parameters."""
        return type(self)(**self._init_arguments())

    def __repr__(self) -> str:
        shown = {**self.get_params(), **{name: getattr(self, name) for name in self._params_left_out}}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in shown.items())})"

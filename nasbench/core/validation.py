"""Declarative validation of hyperparameters and options, one family for every plug-in.

Constraints are small values (:class:`Integer`, :class:`Real`, :class:`Options`,
:class:`Boolean`, :class:`Instance`, :class:`Optional`) in the manner of
scikit-learn's parameter constraints; :func:`validate` checks one value against one of
them and returns it normalised (``numpy.int64`` → ``int``), or raises a
:class:`~nasbench.core.errors.ConfigError` that names the owner, the parameter, what was
expected and what was given. Strategies, surrogates, budgets, dataset loaders and device
probes all validate through it, so one bad value reads the same everywhere.
:func:`check_int`, :func:`check_float`, :func:`check_choice` and :func:`check_bool` are
the one-line forms plug-ins use inside ``__init__``.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nasbench.core.errors import ConfigError

__all__ = [
    "Boolean",
    "Constraint",
    "Instance",
    "Integer",
    "Optional",
    "Options",
    "Real",
    "check_bool",
    "check_choice",
    "check_float",
    "check_int",
    "owner_label",
    "validate",
]


def owner_label(owner: object) -> str:
    """How messages name the owner of a parameter: a string as given, a plug-in by its
    registered ``name`` (else its class name)."""
    if isinstance(owner, str):
        return owner
    cls = owner if isinstance(owner, type) else type(owner)
    return getattr(cls, "name", "") or cls.__name__


class Constraint(abc.ABC):
    """One allowed set of values. Subclasses implement :meth:`accept` and :meth:`describe`."""

    @abc.abstractmethod
    def accept(self, value: Any) -> tuple[bool, Any]:
        """(whether ``value`` is allowed, its normalised form)."""

    @abc.abstractmethod
    def describe(self, value: Any) -> str:
        """What the value must be, completing "<name> must be ..."."""


def _is_integer(value: Any) -> bool:
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, np.integer))


def _is_number(value: Any) -> bool:
    numeric = (int, float, np.integer, np.floating)
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, numeric)


@dataclass(frozen=True)
class Integer(Constraint):
    """An integer (not a bool) in ``low..high`` (either bound may be None)."""

    low: int | None = None
    high: int | None = None

    def accept(self, value: Any) -> tuple[bool, Any]:
        if not _is_integer(value):
            return False, value
        inside = (self.low is None or value >= self.low) and (self.high is None or value <= self.high)
        return inside, int(value)

    def describe(self, value: Any) -> str:
        if not _is_integer(value) or (self.low is None and self.high is None):
            return "an integer"
        if self.high is None:
            return f">= {self.low}"
        if self.low is None:
            return f"<= {self.high}"
        return f"in {self.low}..{self.high}"


@dataclass(frozen=True)
class Real(Constraint):
    """A finite real number (never NaN or infinite) in ``[low, high]`` (``(low, high]`` with
    ``low_open``)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False

    def accept(self, value: Any) -> tuple[bool, Any]:
        if not _is_number(value):
            return False, value
        number = float(value)
        if not math.isfinite(number):
            return False, number
        if self.low is not None and (number < self.low or (self.low_open and number == self.low)):
            return False, number
        if self.high is not None and number > self.high:
            return False, number
        return True, number

    def describe(self, value: Any) -> str:
        if not _is_number(value):
            return "a number"
        opening = ">" if self.low_open else ">="
        if self.low is None and self.high is None:
            return "a finite number"
        if self.high is None:
            return f"{opening} {self.low}"
        if self.low is None:
            return f"<= {self.high}"
        return f"in {'(' if self.low_open else '['}{self.low}, {self.high}]"


@dataclass(frozen=True)
class Options(Constraint):
    """One of a fixed set of values (compared with ``==``)."""

    choices: tuple[Any, ...]

    def accept(self, value: Any) -> tuple[bool, Any]:
        try:
            return any(value is choice or bool(value == choice) for choice in self.choices), value
        except (TypeError, ValueError):  # an incomparable value (an array, say) is not a choice
            return False, value

    def describe(self, value: Any) -> str:
        return f"one of {', '.join(map(repr, self.choices))}"


@dataclass(frozen=True)
class Boolean(Constraint):
    """``True`` or ``False`` (not 0 or 1)."""

    def accept(self, value: Any) -> tuple[bool, Any]:
        is_bool = isinstance(value, (bool, np.bool_))
        return is_bool, bool(value) if is_bool else value

    def describe(self, value: Any) -> str:
        return "True or False"


@dataclass(frozen=True)
class Instance(Constraint):
    """An instance of one of ``types``, described as ``description``."""

    types: tuple[type, ...]
    description: str

    def accept(self, value: Any) -> tuple[bool, Any]:
        return isinstance(value, self.types), value

    def describe(self, value: Any) -> str:
        return self.description


@dataclass(frozen=True)
class Optional(Constraint):
    """None, or a value allowed by ``inner``."""

    inner: Constraint

    def accept(self, value: Any) -> tuple[bool, Any]:
        return (True, None) if value is None else self.inner.accept(value)

    def describe(self, value: Any) -> str:
        return f"None or {self.inner.describe(value)}"


def validate(owner: object, name: str, value: Any, constraint: Constraint) -> Any:
    """``value`` normalised if ``constraint`` allows it; one ConfigError naming ``owner``
    (a string or a plug-in), ``name``, the expectation and the value otherwise."""
    ok, normalised = constraint.accept(value)
    if not ok:
        raise ConfigError(f"{owner_label(owner)}: {name} must be {constraint.describe(value)}, got {value!r}")
    return normalised


def check_int(owner: object, name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """An integer parameter in ``low..high``."""
    return validate(owner, name, value, Integer(low, high))


def check_float(
    owner: object,
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
) -> float:
    """A real parameter in ``[low, high]`` (``(low, high]`` with ``low_open``)."""
    return validate(owner, name, value, Real(low, high, low_open))


def check_choice(owner: object, name: str, value: Any, choices: Sequence[Any]) -> Any:
    """A categorical parameter."""
    return validate(owner, name, value, Options(tuple(choices)))


def check_bool(owner: object, name: str, value: Any) -> bool:
    """A boolean parameter (``True``/``False`` only, not 0/1)."""
    return validate(owner, name, value, Boolean())

"""Name → class registries fed by a decorator and by entry points.

Strategies and surrogates are both found by name the same way: built-ins and third-party
packages declare an entry point in a group (``nasbench.strategies``,
``nasbench.surrogates``), imported only when the name is first asked for, and code that is
not packaged uses a decorator. :class:`Registry` is that machinery once, parametrised by
the family word used in messages, the entry-point group, the accepted base classes with
their kinds, and the hyperparameter names accepted besides a class's own. The family
modules (:mod:`nasbench.search.strategy`, :mod:`nasbench.prediction.surrogate`) wrap one instance each.

A registered class has a ``kind`` class attribute (one of the kinds allowed for its
base), a ``name`` class attribute (set to its registered name) and a ``hyperparameters()``
class method returning the names and defaults of its ``__init__`` keywords.
"""

from __future__ import annotations

import difflib
import fnmatch
import inspect
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata
from typing import Any, Generic, TypeVar

from nasbench.core.errors import ConfigError

__all__ = ["Registry", "installed_entry_points"]

C = TypeVar("C")
K = TypeVar("K", bound=type)


def installed_entry_points(group: str) -> dict[str, metadata.EntryPoint]:
    """The entry points of ``group`` in the installed distributions, by name."""
    return {ep.name: ep for ep in metadata.entry_points(group=group)}


def _hint(word: str, known: Iterable[str]) -> str:
    """``; did you mean 'x'?`` for the closest known word, or nothing."""
    close = difflib.get_close_matches(word, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def signature_defaults(cls: type, skip: Iterable[str] = ()) -> dict[str, Any]:
    """Hyperparameter names and defaults of a plug-in class, read from ``__init__``'s
    keyword signature (``self``, ``*args``/``**kwargs`` and ``skip`` left out; a parameter
    without a default maps to None)."""
    left_out = {"self", *skip}
    out: dict[str, Any] = {}
    for parameter in inspect.signature(cls.__init__).parameters.values():  # type: ignore[misc]
        if parameter.name in left_out or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        out[parameter.name] = None if parameter.default is parameter.empty else parameter.default
    return out


class Registry(Generic[C]):
    """Classes of one family by name: registered with a decorator or found as entry points.

    ``family`` ("strategy", "surrogate") words every message; ``group`` is the entry-point
    group; every class of ``bases`` may have any of ``kinds``; ``extra_hyperparameters``
    are keywords :meth:`create` accepts besides ``hyperparameters()`` (strategies: ``seed``).

    A later base with its own kinds (say a one-shot strategy base that is not a
    :class:`~nasbench.search.strategy.Strategy` subclass) joins with :meth:`allow`; a class is
    then accepted if it subclasses any base, with a kind allowed for that base.

    The state lives by default in the registry. ``classes``, ``errors`` and
    ``entry_points`` may instead be zero-argument callables returning the live registered
    classes, the live plugin-error record and the entry points by name: the family modules
    pass lambdas over their module attributes so that those stay the state (tests swap
    them). Tests of the registry itself may also replace :meth:`entry_points` on an instance.
    """

    def __init__(
        self,
        family: str,
        group: str,
        bases: tuple[type, ...],
        kinds: Iterable[str],
        *,
        extra_hyperparameters: Iterable[str] = (),
        classes: Callable[[], dict[str, type[C]]] | None = None,
        errors: Callable[[], dict[str, str]] | None = None,
        entry_points: Callable[[], Mapping[str, metadata.EntryPoint]] | None = None,
    ) -> None:
        if not bases:
            raise ValueError("a registry needs at least one base class")
        self.family = family
        self.group = group
        self.extra_hyperparameters = tuple(extra_hyperparameters)
        self._allowed: dict[type, tuple[str, ...]] = {}
        for base in bases:
            self.allow(base, *kinds)
        own_classes: dict[str, type[C]] = {}
        own_errors: dict[str, str] = {}
        self._classes = classes if classes is not None else lambda: own_classes
        self._errors = errors if errors is not None else lambda: own_errors
        self._entry_points = entry_points

    # ----------------------------------------------------------------- configuration
    def allow(self, base: type, *kinds: str) -> None:
        """Accept subclasses of ``base`` with one of ``kinds`` (added to those it already has).

        This is how a second, unrelated base class (e.g. one-shot strategies) and its kind
        join an existing registry without touching the classes registered so far.
        """
        if not inspect.isclass(base):
            raise TypeError(f"{self.family} registry: base must be a class, got {base!r}")
        if not kinds:
            raise ValueError(f"{self.family} registry: {base.__name__} needs at least one kind")
        self._allowed[base] = tuple(dict.fromkeys((*self._allowed.get(base, ()), *kinds)))

    @property
    def bases(self) -> tuple[type, ...]:
        """The accepted base classes, in the order they were allowed."""
        return tuple(self._allowed)

    @property
    def kinds(self) -> tuple[str, ...]:
        """Every allowed kind, over all bases, in the order they were allowed."""
        return tuple(dict.fromkeys(kind for kinds in self._allowed.values() for kind in kinds))

    @property
    def registered(self) -> dict[str, type[C]]:
        """The live name → class record of the classes registered or imported so far."""
        return self._classes()

    def entry_points(self) -> dict[str, metadata.EntryPoint]:
        """Entry points of the group, by name (not imported)."""
        if self._entry_points is not None:
            return dict(self._entry_points())
        return installed_entry_points(self.group)

    # ----------------------------------------------------------------- registration
    def register(self, name: str) -> Callable[[K], K]:
        """Class decorator: make a class available under ``name``."""
        if not isinstance(name, str) or not name:
            raise ConfigError(f"register_{self.family} needs a non-empty name")

        def decorate(cls: K) -> K:
            self._add(name, cls)
            return cls

        return decorate

    def _check(self, name: str, cls: Any) -> None:
        """ConfigError unless ``cls`` subclasses an allowed base and has a kind allowed for it."""
        matching = [
            kinds for base, kinds in self._allowed.items() if inspect.isclass(cls) and issubclass(cls, base)
        ]
        if not matching:
            wanted = " or ".join(base.__name__ for base in self._allowed)
            raise ConfigError(f"{self.family} {name!r} is not a {wanted} subclass (got {cls!r})")
        kinds = tuple(dict.fromkeys(kind for group in matching for kind in group))
        kind = getattr(cls, "kind", None)
        if kind not in kinds:
            raise ConfigError(f"{self.family} {name!r} has kind {kind!r}; known kinds: {', '.join(kinds)}")

    def _add(self, name: str, cls: Any) -> type[C]:
        self._check(name, cls)
        cls.name = name
        self.registered[name] = cls
        return cls

    def _load(self, name: str, entry: metadata.EntryPoint) -> type[C]:
        """Import an entry point; an import failure is recorded in :meth:`plugin_errors`."""
        try:
            cls = entry.load()
        except Exception as exc:  # a plugin may fail in any way on import
            message = (
                f"{self.family} plugin {name!r} ({entry.value}) failed to import: {type(exc).__name__}: {exc}"
            )
            self._errors()[name] = message
            raise ConfigError(message) from exc
        return self._add(name, cls)

    # ----------------------------------------------------------------- lookup
    def _all_names(self) -> list[str]:
        return sorted(set(self.registered) | set(self.entry_points()))

    def get(self, name: str) -> type[C]:
        """The class registered under ``name``, importing its plugin on first use."""
        cls = self.registered.get(name)
        if cls is not None:
            return cls
        entry = self.entry_points().get(name)
        if entry is not None:
            return self._load(name, entry)
        known = self._all_names()
        raise ConfigError(
            f"unknown {self.family} {name!r}{_hint(name, known)} (known: {', '.join(known) or 'none'})"
        )

    def names(self, pattern: str = "*", *, kind: str | None = None) -> list[str]:
        """Names matching a shell-style, case-sensitive ``pattern`` (and ``kind``), sorted.

        Plugins that failed to import are left out (:meth:`plugin_errors` says why);
        filtering by kind imports the plugins it has to look at.
        """
        errors = self._errors()
        names = [n for n in self._all_names() if fnmatch.fnmatchcase(n, pattern) and n not in errors]
        if kind is None:
            return names
        if kind not in self.kinds:
            raise ConfigError(f"unknown {self.family} kind {kind!r} (known: {', '.join(self.kinds)})")
        out = []
        for name in names:
            try:
                if getattr(self.get(name), "kind", None) == kind:
                    out.append(name)
            except ConfigError:
                continue
        return out

    def plugin_errors(self) -> dict[str, str]:
        """Plugins that failed to import so far, with the error (a copy)."""
        return dict(self._errors())

    def create(self, name: str, **hyperparameters: Any) -> C:
        """An instance of ``name``; an unknown hyperparameter is a ConfigError naming it."""
        cls = self.get(name)
        known: dict[str, Any] = cls.hyperparameters()  # type: ignore[attr-defined]
        for key in hyperparameters:
            if key not in known and key not in self.extra_hyperparameters:
                raise ConfigError(
                    f"{self.family} {name!r} has no hyperparameter {key!r}{_hint(key, known)}"
                    f" (known: {', '.join(known) or 'none'})"
                )
        return cls(**hyperparameters)

    def source(self, name: str) -> str:
        """Where ``name`` comes from: ``registered in <module>`` or ``entry point of <dist>``."""
        cls = self.get(name)
        entry = self.entry_points().get(name)
        if entry is None:
            return f"registered in {cls.__module__}"
        return f"entry point of {entry.dist.name if entry.dist is not None else 'unknown'}"

    def summary(self, name: str) -> str:
        """The first paragraph of the class docstring, on one line."""
        doc = inspect.getdoc(self.get(name)) or ""
        return doc.split("\n\n")[0].replace("\n", " ")

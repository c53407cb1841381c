"""Name → class registries fed by a decorator and by entry points.

Strategies and surrogates are both found by name the same way: built-ins and third-party
packages declare an entry point in a group (``nasbench.strategies``,
``nasbench.surrogates``), imported only when the name is first asked for, and code that is
not packaged uses a decorator. :class:`Registry` is that machinery once, parametrised by
the family word used in messages, the entry-point group, the accepted base classes with
their kinds, and the hyperparameter names accepted besides a class's own. The family
modules (:mod:`nasbench.search.strategy`, :mod:`nasbench.prediction`) wrap one instance each.

A registered class has a ``kind`` class attribute (one of the kinds allowed for its
base), a ``name`` class attribute (set to its registered name) and a ``hyperparameters()``
class method returning the names and defaults of its ``__init__`` keywords.

Tests and embedding code change a registry only through its public methods:
:meth:`Registry.unregister`, and :meth:`Registry.scoped`, a block after which the
registered classes, the plugin-import errors and the entry points are what they were
before (optionally starting empty, or with substitute entry points).
"""

from __future__ import annotations

import contextlib
import difflib
import fnmatch
import inspect
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Generic, TypeVar

from nasbench.core.errors import ConfigError
from nasbench.core.params import signature_defaults  # noqa: F401  (its old home: importers move to core.params)

__all__ = ["Registry", "installed_entry_points"]

logger = logging.getLogger(__name__)

C = TypeVar("C")
K = TypeVar("K", bound=type)

_NO_NAME = object()  # a class without a ``name`` of its own (it inherits one)


def installed_entry_points(group: str) -> dict[str, metadata.EntryPoint]:
    """The entry points of ``group`` in the installed distributions, by name."""
    return {ep.name: ep for ep in metadata.entry_points(group=group)}


def _hint(word: str, known: Iterable[str]) -> str:
    """``; did you mean 'x'?`` for the closest known word, or nothing."""
    close = difflib.get_close_matches(word, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


@dataclass
class _Scope:
    """What :meth:`Registry.scoped` restores: the state at the start of the block and the
    ``name`` each class registered inside it had before."""

    classes: dict[str, Any]
    errors: dict[str, str]
    entry_points: Mapping[str, metadata.EntryPoint] | None
    names: list[tuple[type, Any]] = field(default_factory=list)


class Registry(Generic[C]):
    """Classes of one family by name: registered with a decorator or found as entry points.

    ``family`` ("strategy", "surrogate") words every message; ``group`` is the entry-point
    group; every class of ``bases`` may have any of ``kinds``; ``extra_hyperparameters``
    are keywords :meth:`create` accepts besides ``hyperparameters()`` (strategies: ``seed``).
    A further base with kinds of its own joins with :meth:`allow`; a class is accepted if
    it subclasses any base, with a kind allowed for that base.

    The state (registered classes, plugin-import errors) lives in the registry.
    ``classes``, ``errors`` and ``entry_points`` may instead be zero-argument callables
    returning the live registered classes, the live plugin-error record and the entry
    points by name (a family module that keeps its state in module attributes passes
    lambdas over them).
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
        #: Entry points substituted by :meth:`scoped` (read live), or None.
        self._substitute: Mapping[str, metadata.EntryPoint] | None = None
        self._scopes: list[_Scope] = []

    # ----------------------------------------------------------------- configuration
    def allow(self, base: type, *kinds: str) -> None:
        """Accept subclasses of ``base`` with one of ``kinds`` (added to those it already has)."""
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
        if self._substitute is not None:
            return dict(self._substitute)
        if self._entry_points is not None:
            return dict(self._entry_points())
        return installed_entry_points(self.group)

    # ----------------------------------------------------------------- registration
    def register(self, name: str) -> Callable[[K], K]:
        """Class decorator: make a class available under ``name`` (replacing any class
        registered under it before)."""
        if not isinstance(name, str) or not name:
            raise ConfigError(f"register_{self.family} needs a non-empty name")

        def decorate(cls: K) -> K:
            self._add(name, cls)
            return cls

        return decorate

    def unregister(self, name: str) -> type[C] | None:
        """Forget ``name``: its registered class (returned; None if there was none) and any
        import error recorded for it. An entry point of that name stays findable."""
        self._errors().pop(name, None)
        return self.registered.pop(name, None)

    @contextlib.contextmanager
    def scoped(
        self, *, clear: bool = False, entry_points: Mapping[str, metadata.EntryPoint] | None = None
    ) -> Iterator[Registry[C]]:
        """A block after which the registry is as before it: the registered classes, the
        plugin-import errors, the entry points, and the ``name`` of every class
        registered inside the block.

        ``clear`` starts the block with no registered class and no recorded error;
        ``entry_points`` (a mapping read at every lookup, so the block may add to it)
        replaces the installed entry points inside the block. Yields the registry.
        """
        scope = _Scope(dict(self.registered), dict(self._errors()), self._substitute)
        self._scopes.append(scope)
        if clear:
            self.registered.clear()
            self._errors().clear()
        if entry_points is not None:
            self._substitute = entry_points
        try:
            yield self
        finally:
            self._scopes.remove(scope)
            self._substitute = scope.entry_points
            registered, errors = self.registered, self._errors()
            registered.clear()
            registered.update(scope.classes)
            errors.clear()
            errors.update(scope.errors)
            for cls, name in reversed(scope.names):
                if name is _NO_NAME:
                    with contextlib.suppress(AttributeError):
                        delattr(cls, "name")
                else:
                    cls.name = name  # type: ignore[attr-defined]

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
        for scope in self._scopes:
            scope.names.append((cls, cls.__dict__.get("name", _NO_NAME)))
        cls.name = name
        self.registered[name] = cls
        return cls

    def _load(self, name: str, entry: metadata.EntryPoint) -> type[C]:
        """Import an entry point; an import failure is logged and recorded in :meth:`plugin_errors`."""
        try:
            cls = entry.load()
        except Exception as exc:  # a plugin may fail in any way on import
            message = (
                f"{self.family} plugin {name!r} ({entry.value}) failed to import: {type(exc).__name__}: {exc}"
            )
            logger.info("%s", message)
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

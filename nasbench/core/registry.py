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

A plug-in cannot take a built-in's name. When entry points of several distributions share
a name, the one of the ``nasbench`` distribution itself keeps it; the others are reached
only by asking for them explicitly as ``DIST:NAME`` (``myplugin:rs``), and a warning names
both, once. A name that several plug-ins share, and no built-in, belongs to none of them
(each is ``DIST:NAME``). Code cannot register a class under a built-in's name either.
:meth:`Registry.provider` and :func:`class_provider` say which distribution (and version)
a class comes from, for the record of a comparison.

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
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Generic, TypeVar

from nasbench.core.errors import ConfigError
from nasbench.core.params import signature_defaults  # noqa: F401  (its old home: importers move to core.params)

__all__ = [
    "BUILTIN_DISTRIBUTION",
    "EntryPoints",
    "Registry",
    "class_provider",
    "distribution_key",
    "installed_entry_points",
    "qualified_name",
    "resolve_entry_points",
]

logger = logging.getLogger(__name__)

#: The distribution whose entry points are the built-ins: a plug-in never takes their names.
BUILTIN_DISTRIBUTION = "nasbench"
#: (group, name, distribution) of every shadowed entry point already warned about.
_WARNED: set[tuple[str, str, str]] = set()

C = TypeVar("C")
K = TypeVar("K", bound=type)

_NO_NAME = object()  # a class without a ``name`` of its own (it inherits one)


def distribution_key(name: str) -> str:
    """A distribution name as PEP 503 compares them: lower case, runs of ``-_.`` as ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def qualified_name(name: str) -> str:
    """``DIST:NAME`` with the distribution name normalised (:func:`distribution_key`);
    any other name unchanged."""
    if ":" not in name:
        return name
    distribution, _, plain = name.partition(":")
    return f"{distribution_key(distribution)}:{plain}"


def _distribution(entry: metadata.EntryPoint) -> tuple[str, str]:
    """(name, version) of the distribution declaring ``entry``; ("", "") when unknown."""
    dist = getattr(entry, "dist", None)
    if dist is None:
        return "", ""
    try:
        return str(dist.name or ""), str(dist.version or "")
    except Exception:  # broken metadata: no name to give
        return "", ""


def _is_builtin(entry: metadata.EntryPoint) -> bool:
    return distribution_key(_distribution(entry)[0]) == BUILTIN_DISTRIBUTION


@dataclass(frozen=True)
class EntryPoints:
    """Entry points of a group resolved by name: ``plain`` maps a name to the entry point
    it means (the built-in one when a built-in has it); ``qualified`` maps ``DIST:NAME``
    (the distribution name normalised) to every entry point of a known distribution;
    ``ambiguous`` lists the entry points of each name that several plug-ins, and no
    built-in, declare."""

    plain: dict[str, metadata.EntryPoint]
    qualified: dict[str, metadata.EntryPoint]
    ambiguous: dict[str, list[metadata.EntryPoint]]


def resolve_entry_points(
    entries: Iterable[metadata.EntryPoint], *, family: str = "plug-in", group: str = ""
) -> EntryPoints:
    """Resolve entry points that may share names (see :class:`EntryPoints`); a shadowed or
    ambiguous name is logged as a warning once per process, naming both sides."""
    by_name: dict[str, list[metadata.EntryPoint]] = {}
    qualified: dict[str, metadata.EntryPoint] = {}
    for entry in entries:
        by_name.setdefault(entry.name, []).append(entry)
        distribution = _distribution(entry)[0]
        if distribution:
            qualified.setdefault(f"{distribution_key(distribution)}:{entry.name}", entry)
    plain: dict[str, metadata.EntryPoint] = {}
    ambiguous: dict[str, list[metadata.EntryPoint]] = {}
    for name, found in by_name.items():
        if len(found) == 1:
            plain[name] = found[0]
            continue
        builtin = [entry for entry in found if _is_builtin(entry)]
        if builtin:
            plain[name] = builtin[0]
            others = [entry for entry in found if entry is not builtin[0]]
            for entry in others:
                _warn_once(
                    group,
                    name,
                    entry,
                    f"{family} plug-in {name!r} of {_describe(entry)} has the name of the built-in "
                    f"{family} of {_describe(builtin[0])}: {name!r} stays the built-in; ask for "
                    f"'{distribution_key(_distribution(entry)[0]) or '?'}:{name}' to use the plug-in",
                )
        else:
            ambiguous[name] = found
            _warn_once(
                group,
                name,
                None,
                f"{family} {name!r} is declared by several plug-ins "
                f"({', '.join(map(_describe, found))}): the name is left to none of them; "
                "ask for one as DIST:NAME",
            )
    return EntryPoints(plain, qualified, ambiguous)


def _describe(entry: metadata.EntryPoint) -> str:
    """``dist version (module:attr)``."""
    distribution, version = _distribution(entry)
    return f"{distribution or 'an unknown distribution'} {version}".rstrip() + f" ({entry.value})"


def _warn_once(group: str, name: str, entry: metadata.EntryPoint | None, message: str) -> None:
    """Log ``message`` unless it was logged for this name (and shadowed ``entry``) before."""
    key = (group, name, "" if entry is None else f"{_distribution(entry)[0]}={entry.value}")
    if key not in _WARNED:
        _WARNED.add(key)
        logger.warning("%s", message)


def installed_entry_points(group: str) -> dict[str, metadata.EntryPoint]:
    """The entry points of ``group`` in the installed distributions, by name; where several
    distributions declare a name, the built-in one (a plug-in never takes a built-in's
    name; see :func:`resolve_entry_points`)."""
    return resolve_entry_points(metadata.entry_points(group=group), group=group).plain


def class_provider(cls: type, group: str) -> dict[str, str]:
    """Which distribution provides ``cls``: ``{"distribution", "version", "module"}``, from
    the installed entry point of ``group`` that names it; ``distribution`` and ``version``
    are "" for a class registered in code that no entry point names (``module`` says where).
    For the record of a comparison (config.json) and of a saved surrogate."""
    module = str(getattr(cls, "__module__", ""))
    naming = [entry for entry in metadata.entry_points(group=group) if _names_class(entry, cls)]
    if not naming:
        return {"distribution": "", "version": "", "module": module}
    shipping = [entry for entry in naming if _ships_module(entry, module)]
    distribution, version = _distribution((shipping or naming)[0])
    return {"distribution": distribution, "version": version, "module": module}


def _ships_module(entry: metadata.EntryPoint, module: str) -> bool:
    """Whether the distribution declaring ``entry`` installed the files of ``module``
    (several distributions may name one class; the one that ships it provides it)."""
    top = module.split(".", 1)[0]
    try:
        files = entry.dist.files if entry.dist is not None else None
    except Exception:  # unreadable metadata ships nothing
        return False
    return any(str(path).split("/", 1)[0] in (top, f"{top}.py") for path in files or ())


def _names_class(entry: metadata.EntryPoint, cls: type) -> bool:
    """Whether ``entry`` names ``cls`` (never importing a module that is not loaded yet)."""
    if entry.module == cls.__module__ and entry.attr == cls.__qualname__:
        return True
    if entry.module not in sys.modules:
        return False
    try:
        return entry.load() is cls
    except Exception:  # a plug-in that fails to load names nothing
        return False


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

    def _resolved(self) -> EntryPoints:
        """The entry points by name and by ``DIST:NAME``; substitutes and family-module
        callables are used as given (a mapping cannot hold a name twice)."""
        if self._substitute is not None:
            return EntryPoints(dict(self._substitute), {}, {})
        if self._entry_points is not None:
            return EntryPoints(dict(self._entry_points()), {}, {})
        installed = metadata.entry_points(group=self.group)
        return resolve_entry_points(installed, family=self.family, group=self.group)

    def entry_points(self) -> dict[str, metadata.EntryPoint]:
        """Entry points of the group, by name (not imported); a built-in's name always
        means the built-in."""
        return self._resolved().plain

    def _entry_for(self, name: str) -> metadata.EntryPoint | None:
        """The entry point ``name`` means: by its name, or ``DIST:NAME`` for any."""
        resolved = self._resolved()
        if ":" in name:
            return resolved.qualified.get(qualified_name(name))
        return resolved.plain.get(name)

    # ----------------------------------------------------------------- registration
    def register(self, name: str) -> Callable[[K], K]:
        """Class decorator: make a class available under ``name`` (replacing any class
        registered under it before)."""
        if not isinstance(name, str) or not name:
            raise ConfigError(f"register_{self.family} needs a non-empty name")
        if ":" in name:
            raise ConfigError(
                f"register_{self.family}({name!r}): ':' is reserved for DIST:NAME, a plug-in's entry point"
            )

        def decorate(cls: K) -> K:
            builtin = self.entry_points().get(name)
            if builtin is not None and _is_builtin(builtin) and not _names_class(builtin, cls):
                raise ConfigError(
                    f"register_{self.family}({name!r}): {name!r} is a built-in {self.family} of "
                    f"{BUILTIN_DISTRIBUTION}; register {cls.__name__} under another name"
                )
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
        """Every name by which a class is found, but ``DIST:NAME`` ones (a plug-in reached
        that way is used only when asked for by that name)."""
        return sorted(name for name in set(self.registered) | set(self.entry_points()) if ":" not in name)

    def get(self, name: str) -> type[C]:
        """The class registered under ``name``, importing its plugin on first use;
        ``DIST:NAME`` is the entry point ``NAME`` of the distribution ``DIST`` (how a plug-in
        whose name a built-in has is reached)."""
        name = qualified_name(name)
        cls = self.registered.get(name)
        if cls is not None:
            return cls
        entry = self._entry_for(name)
        if entry is not None:
            return self._load(name, entry)
        ambiguous = self._resolved().ambiguous.get(name)
        if ambiguous:
            choices = ", ".join(
                f"'{distribution_key(_distribution(entry)[0])}:{name}'" for entry in ambiguous
            )
            raise ConfigError(
                f"{self.family} {name!r} is declared by several plug-ins and no built-in: ask for one "
                f"of {choices}"
            )
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
        entry = self._entry_for(name)
        if entry is None:
            return f"registered in {cls.__module__}"
        return f"entry point of {_distribution(entry)[0] or 'unknown'}"

    def provider(self, name: str) -> dict[str, str]:
        """Which distribution provides ``name``: ``{"distribution", "version", "module"}``;
        ``distribution`` and ``version`` are "" for a class registered in code (``module``
        says which). Recorded beside the name, since a name alone does not say whose class ran."""
        cls = self.get(name)
        module = str(cls.__module__)
        entry = self._entry_for(name)
        if entry is not None and _names_class(entry, cls):
            distribution, version = _distribution(entry)
            return {"distribution": distribution, "version": version, "module": module}
        return {"distribution": "", "version": "", "module": module}

    def summary(self, name: str) -> str:
        """The first paragraph of the class docstring, on one line."""
        doc = inspect.getdoc(self.get(name)) or ""
        return doc.split("\n\n")[0].replace("\n", " ")

"""The search-strategy interface and registry.

A strategy decides which architecture (and, for multi-fidelity ones, how many epochs) to
try next: :meth:`Strategy.ask` proposes a :class:`Trial`, :meth:`Strategy.tell` hands back
its :class:`~nasbench.benchmark.Result`. :meth:`Strategy.run` is the loop on top. A
strategy never opens a table: it sees the :class:`~nasbench.benchmark.Task` (space,
epochs, free properties such as latency) and the results of its own evaluations.

Strategies are found by name. Built-ins and third-party packages both register through
the entry-point group ``nasbench.strategies``::

    [project.entry-points."nasbench.strategies"]
    my-search = "my_package.module:MySearch"

and code that is not packaged uses the decorator ``@register_strategy("my-search")``.
"""

from __future__ import annotations

import difflib
import fnmatch
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any, ClassVar, TypeVar

import numpy as np

from nasbench.benchmark import Benchmark, Budget, BudgetExhausted, Constraint, Result, Task
from nasbench.errors import ConfigError, NasbenchError
from nasbench.space import Architecture
from nasbench.table import Table

__all__ = [
    "ENTRY_POINT_GROUP",
    "STRATEGY_KINDS",
    "SearchFinished",
    "Strategy",
    "StrategyInfo",
    "Trial",
    "check_choice",
    "check_float",
    "check_int",
    "create_strategy",
    "get_strategy_class",
    "list_strategies",
    "plugin_errors",
    "register_strategy",
    "run_strategy",
    "strategy_info",
]

ENTRY_POINT_GROUP = "nasbench.strategies"

#: black-box: full training runs only; multi-fidelity: asks for epochs too;
#: multi-objective: trades accuracy against a free property (latency, memory);
#: constrained: best accuracy under a limit on a free property.
STRATEGY_KINDS = ("black-box", "multi-fidelity", "multi-objective", "constrained")


class SearchFinished(NasbenchError):
    """Raised by :meth:`Strategy.ask` when a strategy has nothing left to propose."""


@dataclass(frozen=True, slots=True)
class Trial:
    """One proposal: an architecture by space index, and epochs (None = a full run)."""

    index: int
    epochs: int | None = None

    def arch(self, task: Task) -> Architecture:
        """The proposed architecture as a value."""
        return task.space.from_index(self.index)


class Strategy:
    """Base class of search strategies.

    Contract:

    - ``__init__`` takes the hyperparameters as keyword arguments with defaults, plus
      ``seed``; it stores them unchanged under the same names and validates them
      (:class:`~nasbench.errors.ConfigError` naming the hyperparameter on bad values).
    - :meth:`setup` is called once per run with the task, before the first ``ask``;
      it makes ``self.rng`` from ``seed``. Every random choice uses ``self.rng``.
    - :meth:`ask` returns the next :class:`Trial` (or raises :class:`SearchFinished`);
      :meth:`tell` receives every trial's result, in order.
    - A strategy decides from the task and its results only, never from test metrics.

    Subclasses set ``kind`` (one of :data:`STRATEGY_KINDS`) and override :meth:`ask`,
    :meth:`tell` and optionally :meth:`_setup`.
    """

    kind: ClassVar[str] = "black-box"
    name: ClassVar[str] = ""

    def __init__(self, *, seed: int = 0) -> None:
        self.seed = seed
        check_int(self, "seed", seed, low=0)

    # ----------------------------------------------------------------- protocol
    def setup(self, task: Task) -> None:
        """Prepare for a run on ``task``: fresh random generator, empty history."""
        self.task = task
        self.rng = np.random.default_rng(self.seed)
        self._setup()

    def _setup(self) -> None:
        """Hook: per-run state (populations, models). Does nothing by default."""

    def ask(self) -> Trial:
        """The next trial to evaluate. Every strategy overrides this."""
        raise NotImplementedError(f"{type(self).__name__} does not implement ask()")

    def tell(self, trial: Trial, result: Result) -> None:
        """Learn from one finished trial. Does nothing by default."""

    def constraint(self, task: Task) -> Constraint | None:
        """Hook: the constraint a ``constrained`` strategy is judged under on ``task``
        (e.g. latency on one device at most some limit). None for every other kind."""
        return None

    def objective(self, task: Task) -> str | None:
        """Hook: the free property (``task.values`` name, e.g. 'cpu-1t/latency_ms_b1') a
        ``multi-objective`` strategy minimises besides maximising accuracy. None otherwise."""
        return None

    # ----------------------------------------------------------------- helpers
    def run(self, benchmark: Benchmark, budget: Budget | None = None) -> Benchmark:
        """Ask, evaluate and tell until the budget is spent or the strategy finishes."""
        if budget is not None:
            benchmark.budget = budget
        if benchmark.budget is None:
            raise ConfigError("run needs a budget (evaluations or seconds)")
        self.setup(benchmark.task)
        while not benchmark.exhausted:
            try:
                trial = self.ask()
            except SearchFinished:
                break
            try:
                result = benchmark.evaluate(trial.index, trial.epochs)
            except BudgetExhausted:
                break
            self.tell(trial, result)
        return benchmark

    @classmethod
    def hyperparameters(cls) -> dict[str, Any]:
        """Hyperparameter names and defaults, from ``__init__``'s signature (``seed`` excluded)."""
        out: dict[str, Any] = {}
        for parameter in inspect.signature(cls.__init__).parameters.values():
            if parameter.name in ("self", "seed") or parameter.kind in (
                parameter.VAR_POSITIONAL,
                parameter.VAR_KEYWORD,
            ):
                continue
            out[parameter.name] = None if parameter.default is parameter.empty else parameter.default
        return out

    def get_params(self) -> dict[str, Any]:
        """Current hyperparameters (scikit-learn style), ``seed`` excluded."""
        return {name: getattr(self, name) for name in self.hyperparameters()}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params}{', ' if params else ''}seed={self.seed!r})"


def run_strategy(strategy: Strategy, table: Table | str, *, seed: int, budget: Budget) -> Benchmark:
    """One search run: a benchmark for ``seed`` (under the strategy's constraint, if it
    has one) and :meth:`Strategy.run` on it. Returns the benchmark with its trajectory."""
    benchmark = Benchmark(table, seed=seed)
    constraint = strategy.constraint(benchmark.task)
    if constraint is not None:
        benchmark = Benchmark(benchmark.table, seed=seed, constraint=constraint)
    return strategy.run(benchmark, budget)


# --------------------------------------------------------------------- validation helpers
def _label(strategy: Strategy | str) -> str:
    return strategy if isinstance(strategy, str) else (type(strategy).name or type(strategy).__name__)


def check_int(
    strategy: Strategy | str, name: str, value: Any, low: int | None = None, high: int | None = None
) -> int:
    """Validate an integer hyperparameter; ConfigError naming it otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ConfigError(f"{_label(strategy)}: {name} must be an integer, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f">= {low}" if high is None else (f"<= {high}" if low is None else f"in {low}..{high}")
        raise ConfigError(f"{_label(strategy)}: {name} must be {bounds}, got {value!r}")
    return int(value)


def check_float(
    strategy: Strategy | str,
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
) -> float:
    """Validate a real hyperparameter in [low, high] (or (low, high] with ``low_open``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ConfigError(f"{_label(strategy)}: {name} must be a number, got {value!r}")
    number = float(value)
    if (
        number != number
        or (low is not None and (number < low or (low_open and number == low)))
        or (high is not None and number > high)
    ):
        if low is None and high is None:
            bounds = "a finite number"
        elif high is None:
            bounds = f"{'>' if low_open else '>='} {low}"
        elif low is None:
            bounds = f"<= {high}"
        else:
            bounds = f"in {'(' if low_open else '['}{low}, {high}]"
        raise ConfigError(f"{_label(strategy)}: {name} must be {bounds}, got {value!r}")
    return number


def check_choice(strategy: Strategy | str, name: str, value: Any, choices: tuple[str, ...]) -> str:
    """Validate a categorical hyperparameter."""
    if value not in choices:
        raise ConfigError(
            f"{_label(strategy)}: {name} must be one of {', '.join(map(repr, choices))}, got {value!r}"
        )
    return str(value)


# --------------------------------------------------------------------- registry
S = TypeVar("S", bound=type[Strategy])

_REGISTERED: dict[str, type[Strategy]] = {}
_PLUGIN_ERRORS: dict[str, str] = {}


@dataclass(frozen=True)
class StrategyInfo:
    """What ``nasbench strategies`` prints about one strategy."""

    name: str
    kind: str
    hyperparameters: dict[str, Any]
    summary: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "kind": self.kind,
            "hyperparameters": self.hyperparameters,
            "summary": self.summary,
            "source": self.source,
        }


def register_strategy(name: str) -> Callable[[S], S]:
    """Class decorator: make a :class:`Strategy` subclass available under ``name``."""
    if not isinstance(name, str) or not name:
        raise ConfigError("register_strategy needs a non-empty name")

    def decorate(cls: S) -> S:
        _check_class(name, cls)
        cls.name = name
        _REGISTERED[name] = cls
        return cls

    return decorate


def _check_class(name: str, cls: Any) -> None:
    if not (inspect.isclass(cls) and issubclass(cls, Strategy)):
        raise ConfigError(f"strategy {name!r} is not a Strategy subclass (got {cls!r})")
    if cls.kind not in STRATEGY_KINDS:
        raise ConfigError(
            f"strategy {name!r} has kind {cls.kind!r}; known kinds: {', '.join(STRATEGY_KINDS)}"
        )


def _entry_points() -> dict[str, metadata.EntryPoint]:
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def _load(name: str, entry: metadata.EntryPoint) -> type[Strategy]:
    try:
        cls = entry.load()
    except Exception as exc:  # a plugin may fail in any way on import
        message = f"strategy plugin {name!r} ({entry.value}) failed to import: {type(exc).__name__}: {exc}"
        _PLUGIN_ERRORS[name] = message
        raise ConfigError(message) from exc
    _check_class(name, cls)
    cls.name = name
    _REGISTERED[name] = cls
    return cls


def _all_names() -> list[str]:
    return sorted(set(_REGISTERED) | set(_entry_points()))


def list_strategies(pattern: str = "*", *, kind: str | None = None) -> list[str]:
    """Registered strategy names matching a shell-style ``pattern`` (and ``kind``), sorted.

    Plugins that fail to import are left out; :func:`plugin_errors` says why.
    """
    names = [n for n in _all_names() if fnmatch.fnmatchcase(n, pattern) and n not in _PLUGIN_ERRORS]
    if kind is None:
        return names
    if kind not in STRATEGY_KINDS:
        raise ConfigError(f"unknown strategy kind {kind!r} (known: {', '.join(STRATEGY_KINDS)})")
    out = []
    for name in names:
        try:
            if get_strategy_class(name).kind == kind:
                out.append(name)
        except ConfigError:
            continue
    return out


def plugin_errors() -> dict[str, str]:
    """Plugins that failed to import so far, with the error."""
    return dict(_PLUGIN_ERRORS)


def get_strategy_class(name: str) -> type[Strategy]:
    """The class registered under ``name`` (importing its plugin on first use)."""
    cls = _REGISTERED.get(name)
    if cls is not None:
        return cls
    entry = _entry_points().get(name)
    if entry is not None:
        return _load(name, entry)
    known = _all_names()
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ConfigError(f"unknown strategy {name!r}{hint} (known: {', '.join(known) or 'none'})")


def create_strategy(name: str, **hyperparameters: Any) -> Strategy:
    """An instance of strategy ``name`` with ``hyperparameters`` (and ``seed``)."""
    cls = get_strategy_class(name)
    known = cls.hyperparameters()
    for key in hyperparameters:
        if key != "seed" and key not in known:
            close = difflib.get_close_matches(key, list(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"strategy {name!r} has no hyperparameter {key!r}{hint} (known: {', '.join(known) or 'none'})"
            )
    return cls(**hyperparameters)


def strategy_info(name: str) -> StrategyInfo:
    """Kind, default hyperparameters, one-line summary and origin of a strategy."""
    cls = get_strategy_class(name)
    doc = inspect.getdoc(cls) or ""
    entry = _entry_points().get(name)
    if entry is None:
        source = f"registered in {cls.__module__}"
    else:
        dist = entry.dist.name if entry.dist is not None else "unknown"
        source = f"entry point of {dist}"
    return StrategyInfo(
        name, cls.kind, cls.hyperparameters(), doc.split("\n\n")[0].replace("\n", " "), source
    )

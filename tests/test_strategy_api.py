"""The strategy interface (:mod:`nasbench.search.strategy`, public as :mod:`nasbench.search`):
registry, plugins, base class, run loop, params and hyperparameter validation helpers."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nasbench.search
from nasbench.core.errors import ConfigError, NasbenchError
from nasbench.core.signals import SearchSignal
from nasbench.core.table import Table
from nasbench.search import (
    STRATEGY_KINDS,
    Benchmark,
    Budget,
    BudgetExhausted,
    Constraint,
    Result,
    SearchFinished,
    Strategy,
    Task,
    Trial,
    check_choice,
    check_float,
    check_int,
    create_strategy,
    get_strategy_class,
    list_strategies,
    plugin_errors,
    register_strategy,
    run_strategy,
    strategy_info,
    strategy_registry,
)
from nasbench.search.strategy import ENTRY_POINT_GROUP
from nasbench.testing import synthetic_table

NUM_EPOCHS = 4
LATENCY = "cpu-1t/latency_ms_b1"


# --------------------------------------------------------------------- test strategies
class Counting(Strategy):
    """Proposes random architectures; stops after ``limit`` trials (0: never).

    Second paragraph, not part of the summary.
    """

    kind = "black-box"

    def __init__(self, *, limit: int = 0, epochs: int | None = None, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.limit = limit
        self.epochs = epochs
        check_int(self, "limit", limit, low=0)
        self.setups = 0

    def _setup(self) -> None:
        self.setups += 1
        self.asked: list[Trial] = []
        self.told: list[tuple[Trial, Result]] = []
        self.finished = False

    def ask(self) -> Trial:
        if self.limit and len(self.asked) >= self.limit:
            assert not self.finished, "asked again after SearchFinished"
            self.finished = True
            raise SearchFinished("limit reached")
        trial = Trial(int(self.rng.integers(self.task.space.size)), self.epochs)
        self.asked.append(trial)
        return trial

    def tell(self, trial: Trial, result: Result) -> None:
        self.told.append((trial, result))


class UnderLatency(Counting):
    """Judged under a latency limit: the 30 % quantile of the task's latency."""

    kind = "constrained"

    def constraint(self, task: Task) -> Constraint | None:
        self.constraint_task = task
        return Constraint(LATENCY, float(np.quantile(task.values(LATENCY), 0.3, method="lower")))


class MultiFidelity(Counting):
    """Asks for two epochs."""

    kind = "multi-fidelity"


class WithParams(Strategy):
    """Hyperparameters of every flavour."""

    def __init__(self, *, alpha: float = 0.5, mode: str = "fast", width: int, seed: int = 0, **extra: Any):
        super().__init__(seed=seed)
        self.alpha = alpha
        self.mode = mode
        self.width = width


class PluginStrategy(Strategy):
    """Loaded through a fake entry point in the tests."""


# --------------------------------------------------------------------- fixtures
def _real_entry_points() -> dict[str, metadata.EntryPoint]:
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


@pytest.fixture
def registry() -> Iterator[dict[str, type[Strategy]]]:
    """An empty registry and plugin-error record for one test; the real ones (and the
    classes' names) come back after."""
    with strategy_registry.scoped(clear=True):
        yield strategy_registry.registered


@pytest.fixture
def plugins(registry: dict[str, type[Strategy]]) -> Iterator[dict[str, Any]]:
    """Entry points limited to the built-in ``rs`` plus whatever a test adds."""
    entries: dict[str, metadata.EntryPoint] = {"rs": _real_entry_points()["rs"]}
    with strategy_registry.scoped(entry_points=entries):
        yield entries


@pytest.fixture
def test_strategies(plugins: dict[str, Any]) -> dict[str, type[Strategy]]:
    register_strategy("rtest-count")(Counting)
    register_strategy("ztest-constrained")(UnderLatency)
    register_strategy("ztest-mf")(MultiFidelity)
    return strategy_registry.registered


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Table:
    return synthetic_table(tmp_path_factory.mktemp("strategy") / "table.h5", num_epochs=NUM_EPOCHS, seed=3)


# --------------------------------------------------------------------- registration
def test_register_makes_a_strategy_creatable_and_listable(plugins: dict[str, Any]) -> None:
    decorated = register_strategy("rtest-count")(Counting)
    assert decorated is Counting and Counting.name == "rtest-count"
    assert strategy_registry.registered["rtest-count"] is Counting
    assert get_strategy_class("rtest-count") is Counting
    assert "rtest-count" in list_strategies()
    made = create_strategy("rtest-count", limit=3, seed=5)
    assert isinstance(made, Counting) and made.limit == 3 and made.seed == 5
    info = strategy_info("rtest-count")
    assert info.kind == "black-box"
    assert info.hyperparameters == {"limit": 0, "epochs": None}
    assert info.summary == "Proposes random architectures; stops after ``limit`` trials (0: never)."
    assert info.source == f"registered in {Counting.__module__}"
    assert info.to_dict()["name"] == "rtest-count"


def test_registry_fixture_restores_the_real_registry() -> None:
    assert "rtest-count" not in strategy_registry.registered
    assert "rtest-count" not in list_strategies()
    assert Counting.name == ""


@pytest.mark.parametrize("thing", [dict, int, Counting(), "Counting", None])
def test_register_rejects_non_strategies(plugins: dict[str, Any], thing: Any) -> None:
    with pytest.raises(ConfigError, match="is not a Strategy"):
        register_strategy("bad-thing")(thing)
    assert "bad-thing" not in strategy_registry.registered
    assert "bad-thing" not in list_strategies()


def test_register_rejects_unknown_kind(plugins: dict[str, Any]) -> None:
    class Gradient(Strategy):
        kind = "gradient-based"

    with pytest.raises(ConfigError, match="gradient-based") as info:
        register_strategy("grad")(Gradient)
    assert all(kind in str(info.value) for kind in STRATEGY_KINDS)
    assert "grad" not in strategy_registry.registered


@pytest.mark.parametrize("name", ["", None, 3])
def test_register_needs_a_name(name: Any) -> None:
    with pytest.raises(ConfigError, match="name"):
        register_strategy(name)


# --------------------------------------------------------------------- lookup
def test_unknown_strategy_suggests_the_closest() -> None:
    with pytest.raises(ConfigError, match="did you mean 'rs'") as info:
        create_strategy("rs_")
    assert "'rs_'" in str(info.value)
    with pytest.raises(ConfigError, match="known:") as info:
        get_strategy_class("qqqqqqqq-zz")
    assert "did you mean" not in str(info.value)


def test_unknown_hyperparameter_names_it_and_suggests_the_closest() -> None:
    with pytest.raises(ConfigError, match="did you mean 'deduplicate'") as info:
        create_strategy("rs", deduplicat="index")
    assert "'deduplicat'" in str(info.value) and "'rs'" in str(info.value)
    with pytest.raises(ConfigError, match="no_such_thing"):
        create_strategy("rs", no_such_thing=1)


def test_bad_hyperparameter_values_name_the_parameter() -> None:
    with pytest.raises(ConfigError, match="deduplicate"):
        create_strategy("rs", deduplicate="bogus")
    for seed in (-1, True, 1.5):
        with pytest.raises(ConfigError, match="seed"):
            create_strategy("rs", seed=seed)


def test_list_strategies_pattern(test_strategies: dict[str, Any]) -> None:
    assert list_strategies() == ["rs", "rtest-count", "ztest-constrained", "ztest-mf"]
    assert list_strategies("r*") == ["rs", "rtest-count"]
    assert list_strategies("?s") == ["rs"]
    assert list_strategies("*-mf") == ["ztest-mf"]
    assert list_strategies("R*") == [], "patterns are case-sensitive"
    assert list_strategies("nothing*") == []


def test_list_strategies_kind(test_strategies: dict[str, Any]) -> None:
    assert list_strategies(kind="black-box") == ["rs", "rtest-count"]
    assert list_strategies(kind="multi-fidelity") == ["ztest-mf"]
    assert list_strategies(kind="constrained") == ["ztest-constrained"]
    assert list_strategies(kind="multi-objective") == []
    assert list_strategies("z*", kind="black-box") == []
    assert list_strategies("r*", kind="black-box") == ["rs", "rtest-count"]
    with pytest.raises(ConfigError, match="kind") as info:
        list_strategies(kind="blackbox")
    assert "black-box" in str(info.value)


def test_real_listing_filters_by_pattern() -> None:
    names = list_strategies()
    assert names == sorted(names) and "rs" in names
    starting = list_strategies("r*")
    assert "rs" in starting and all(name.startswith("r") for name in starting)
    assert set(starting) == {name for name in names if name.startswith("r")}


# --------------------------------------------------------------------- entry points
def test_builtin_rs_comes_from_the_entry_point_group(registry: dict[str, Any]) -> None:
    entries = _real_entry_points()
    assert entries["rs"].value == "nasbench.strategies.random_search:RandomSearch"
    assert "rs" not in registry
    from nasbench.strategies.random_search import RandomSearch

    assert get_strategy_class("rs") is RandomSearch
    assert registry["rs"] is RandomSearch and RandomSearch.name == "rs"
    info = strategy_info("rs")
    assert info.source == f"entry point of {entries['rs'].dist.name}"
    assert info.source.startswith("entry point of")
    assert info.kind == "black-box"
    assert info.hyperparameters == {"deduplicate": "class"}
    assert info.summary == "Random search: architectures drawn uniformly, each trained fully."
    made = create_strategy("rs", deduplicate="index", seed=4)
    assert isinstance(made, RandomSearch)
    assert made.get_params() == {"deduplicate": "index"}
    assert repr(made) == "RandomSearch(deduplicate='index', seed=4)"


def test_broken_plugin(plugins: dict[str, Any]) -> None:
    plugins["broken-xyz"] = metadata.EntryPoint("broken-xyz", "no_such_module_xyz:Thing", ENTRY_POINT_GROUP)
    assert plugin_errors() == {}
    with pytest.raises(ConfigError) as info:
        get_strategy_class("broken-xyz")
    message = str(info.value)
    assert "broken-xyz" in message and "no_such_module_xyz" in message
    assert "ModuleNotFoundError" in message
    errors = plugin_errors()
    assert list(errors) == ["broken-xyz"] and errors["broken-xyz"] == message
    errors.clear()
    assert "broken-xyz" in plugin_errors(), "plugin_errors() must hand out a copy"
    with pytest.raises(ConfigError, match="broken-xyz"):
        create_strategy("broken-xyz")
    with pytest.raises(ConfigError, match="broken-xyz"):
        strategy_info("broken-xyz")
    assert "rs" in list_strategies()
    assert list_strategies(kind="black-box") == ["rs"]
    assert isinstance(create_strategy("rs"), Strategy)


def test_broken_plugin_left_out_of_listing(plugins: dict[str, Any]) -> None:
    plugins["broken-xyz"] = metadata.EntryPoint("broken-xyz", "no_such_module_xyz:Thing", ENTRY_POINT_GROUP)
    with pytest.raises(ConfigError):
        get_strategy_class("broken-xyz")
    assert "broken-xyz" in plugin_errors()
    assert "broken-xyz" not in list_strategies()


def test_plugin_that_is_not_a_strategy(plugins: dict[str, Any]) -> None:
    plugins["odd-dict"] = metadata.EntryPoint("odd-dict", "collections:OrderedDict", ENTRY_POINT_GROUP)
    plugins["no-attr"] = metadata.EntryPoint(
        "no-attr", "nasbench.strategies.random_search:Nope", ENTRY_POINT_GROUP
    )
    with pytest.raises(ConfigError, match="is not a Strategy"):
        get_strategy_class("odd-dict")
    with pytest.raises(ConfigError, match="AttributeError"):
        get_strategy_class("no-attr")
    assert "odd-dict" not in strategy_registry.registered
    assert "no-attr" in plugin_errors()


def test_working_plugin_without_distribution(plugins: dict[str, Any]) -> None:
    plugins["plugged"] = metadata.EntryPoint("plugged", f"{__name__}:PluginStrategy", ENTRY_POINT_GROUP)
    assert "plugged" in list_strategies()
    cls = get_strategy_class("plugged")
    assert cls.__name__ == "PluginStrategy" and cls.name == "plugged"
    assert strategy_info("plugged").source == "entry point of unknown"
    assert list_strategies(kind="black-box") == ["plugged", "rs"]


# --------------------------------------------------------------------- base class
def test_hyperparameters_from_the_signature() -> None:
    assert WithParams.hyperparameters() == {"alpha": 0.5, "mode": "fast", "width": None}
    assert Strategy.hyperparameters() == {}
    assert Counting.hyperparameters() == {"limit": 0, "epochs": None}


def test_get_params_and_repr(registry: dict[str, Any]) -> None:
    made = WithParams(alpha=0.25, width=8, seed=7)
    assert made.get_params() == {"alpha": 0.25, "mode": "fast", "width": 8}
    assert repr(made) == "WithParams(alpha=0.25, mode='fast', width=8, seed=7)"
    assert repr(Strategy(seed=2)) == "Strategy(seed=2)"
    made.alpha = 0.75
    assert made.get_params()["alpha"] == 0.75, "get_params reports current values"
    again = WithParams(**made.get_params(), seed=made.seed)
    assert repr(again) == repr(made)


def test_base_strategy_validates_seed_and_has_no_ask() -> None:
    with pytest.raises(ConfigError, match="seed"):
        Strategy(seed=-1)
    with pytest.raises(NotImplementedError):
        Strategy().ask()
    base = Strategy()
    assert base.kind == "black-box"
    assert base.constraint(None) is None and base.objective(None) is None  # type: ignore[arg-type]


def test_trial_arch(table: Table) -> None:
    task = Benchmark(table, seed=0).task
    assert Trial(1234).arch(task) == table.space.from_index(1234)
    assert Trial(5).epochs is None


# --------------------------------------------------------------------- the run loop
def test_run_stops_when_the_strategy_finishes(table: Table) -> None:
    strategy = Counting(limit=3, seed=1)
    bench = strategy.run(Benchmark(table, seed=0), Budget(evaluations=10))
    assert bench.evaluations == 3 and len(strategy.asked) == 3
    trajectory = bench.trajectory()
    assert trajectory["index"].tolist() == [t.index for t in strategy.asked]
    assert trajectory["epochs"].tolist() == [NUM_EPOCHS] * 3
    assert [trial for trial, _ in strategy.told] == strategy.asked
    assert [result.index for _, result in strategy.told] == [t.index for t in strategy.asked]
    assert [result.sim_seconds for _, result in strategy.told] == trajectory["sim_seconds"].tolist()


def test_run_stops_on_the_evaluation_budget(table: Table) -> None:
    strategy = Counting(seed=2)
    bench = Benchmark(table, seed=0)
    assert strategy.run(bench, Budget(evaluations=5)) is bench
    assert bench.evaluations == 5 and len(strategy.told) == 5
    assert bench.budget == Budget(evaluations=5)
    assert bench.exhausted


def test_run_stops_on_the_seconds_budget(table: Table) -> None:
    strategy = Counting(seed=3)
    bench = strategy.run(Benchmark(table, seed=0), Budget(seconds=40.0))
    assert bench.sim_seconds == 40.0
    assert 1 <= bench.evaluations == len(strategy.told)
    # the trial that would have passed the budget was asked but neither recorded nor told
    assert len(strategy.asked) == bench.evaluations + 1
    assert bench.trajectory()["sim_seconds"][-1] <= 40.0


def test_run_uses_the_benchmarks_budget_or_needs_one(table: Table) -> None:
    bench = Counting(seed=0).run(Benchmark(table, seed=0, budget=Budget(evaluations=2)))
    assert bench.evaluations == 2
    with pytest.raises(ConfigError, match="budget"):
        Counting(seed=0).run(Benchmark(table, seed=0))


def test_run_sets_up_each_run_from_the_seed(table: Table) -> None:
    strategy = Counting(epochs=2, seed=11)
    first = strategy.run(Benchmark(table, seed=0), Budget(evaluations=6))
    assert strategy.task is first.task and strategy.setups == 1
    again = strategy.run(Benchmark(table, seed=0), Budget(evaluations=6))
    assert strategy.setups == 2
    other = Counting(epochs=2, seed=12).run(Benchmark(table, seed=0), Budget(evaluations=6))
    indices = first.trajectory()["index"].tolist()
    assert indices == again.trajectory()["index"].tolist()
    assert indices != other.trajectory()["index"].tolist()
    assert first.trajectory()["epochs"].tolist() == [2] * 6


def test_run_strategy_applies_the_constraint_hook(table: Table) -> None:
    latency = table.metric(LATENCY)
    limit = float(np.quantile(latency, 0.3, method="lower"))
    feasible = latency <= limit
    strategy = UnderLatency(seed=4)
    bench = run_strategy(strategy, table, seed=6, budget=Budget(evaluations=40))
    assert isinstance(strategy.constraint_task, Task)
    assert bench.constraint == Constraint(LATENCY, limit)
    assert bench.seed == 6 and bench.evaluations == 40
    assert strategy.task is bench.task and strategy.task.constraint == Constraint(LATENCY, limit)
    assert strategy.task.feasible(int(np.argmax(~feasible))) is False
    # the run's score of every architecture (hold-out seeds: nasbench.bench.scoring), unconstrained
    probe = Benchmark(table, seed=6)
    test_acc = np.array([probe.test_acc(i) for i in range(table.num_archs)])
    assert bench.best_test_acc == pytest.approx(float(test_acc[feasible].max()), rel=1e-12)
    assert bench.best_test_acc < float(test_acc.max())
    incumbents = bench.trajectory()["incumbent_index"]
    assert all(i == -1 or feasible[i] for i in incumbents.tolist())

    plain = run_strategy(Counting(seed=4), table, seed=6, budget=Budget(evaluations=5))
    assert plain.constraint is None and plain.task.constraint is None
    assert plain.best_test_acc == pytest.approx(float(test_acc.max()), rel=1e-12)


def test_run_strategy_accepts_a_path(table: Table) -> None:
    bench = run_strategy(Counting(seed=0), str(table.path), seed=1, budget=Budget(evaluations=2))
    assert bench.evaluations == 2 and Path(bench.table.path) == Path(table.path)


# --------------------------------------------------------------------- validation helpers
@pytest.mark.parametrize("value", [True, False, 1.5, 2.0, "3", None, float("nan")])
def test_check_int_rejects_non_integers(value: Any) -> None:
    with pytest.raises(ConfigError, match=r"^mystrat: population must be an integer"):
        check_int("mystrat", "population", value)


def test_check_int_bounds_and_labels(registry: dict[str, Any]) -> None:
    assert check_int("s", "n", np.int64(4), low=1) == 4 and type(check_int("s", "n", np.int64(4))) is int
    assert check_int("s", "n", 3, low=3, high=3) == 3
    with pytest.raises(ConfigError, match=r"s: n must be >= 10, got 5"):
        check_int("s", "n", 5, low=10)
    with pytest.raises(ConfigError, match=r"s: n must be <= 3, got 4"):
        check_int("s", "n", 4, high=3)
    with pytest.raises(ConfigError, match=r"s: n must be in 1\.\.3, got 0"):
        check_int("s", "n", 0, low=1, high=3)
    with pytest.raises(ConfigError, match=r"^Counting: limit must be >= 0"):
        Counting(limit=-1)
    register_strategy("counter")(Counting)
    with pytest.raises(ConfigError, match=r"^counter: limit must be >= 0"):
        Counting(limit=-1)


@pytest.mark.parametrize("value", [True, "0.5", None, [0.5], float("nan"), np.float32("nan")])
def test_check_float_rejects_bools_nan_and_non_numbers(value: Any) -> None:
    with pytest.raises(ConfigError, match=r"^mystrat: rate must be "):
        check_float("mystrat", "rate", value, 0.0, 1.0)


def test_check_float_bounds() -> None:
    assert check_float("s", "p", 0, 0.0, 1.0) == 0.0 and type(check_float("s", "p", 1)) is float
    assert check_float("s", "p", np.float32(0.5), 0.0, 1.0) == 0.5
    assert check_float("s", "p", 1.0, 0.0, 1.0) == 1.0
    with pytest.raises(ConfigError, match=r"s: p must be in \(0\.0, 1\.0\], got 0"):
        check_float("s", "p", 0, 0.0, 1.0, low_open=True)
    with pytest.raises(ConfigError, match=r"s: p must be in \[0\.0, 1\.0\], got 1\.5"):
        check_float("s", "p", 1.5, 0.0, 1.0)
    with pytest.raises(ConfigError, match="p"):
        check_float("s", "p", -0.1, 0.0, 1.0)
    with pytest.raises(ConfigError, match="p"):
        check_float("s", "p", float("inf"), 0.0, 1.0)


def test_check_float_message_without_bounds_is_readable() -> None:
    for low, value in ((None, float("nan")), (0.0, -1.0)):
        with pytest.raises(ConfigError) as info:
            check_float("s", "x", value, low)
        assert "None" not in str(info.value), str(info.value)


@pytest.mark.parametrize("value", ["slow", "FAST", True, None, 1, ["fast"]])
def test_check_choice(value: Any) -> None:
    assert check_choice("s", "mode", "fast", ("fast", "exact")) == "fast"
    with pytest.raises(ConfigError, match=r"^s: mode must be one of 'fast', 'exact', got "):
        check_choice("s", "mode", value, ("fast", "exact"))


def test_signals_are_not_errors() -> None:
    """Ending a search is control flow: ``except NasbenchError`` never swallows it."""
    for signal in (SearchFinished, BudgetExhausted):
        assert issubclass(signal, SearchSignal) and not issubclass(signal, NasbenchError)
    assert issubclass(ConfigError, NasbenchError)


# --------------------------------------------------------------------- params
def test_set_params_validates_and_returns_self(table: Table) -> None:
    strategy = Counting(limit=2, seed=4)
    strategy.run(Benchmark(table, seed=0), Budget(evaluations=5))
    assert strategy.set_params(limit=3, epochs=2) is strategy
    assert strategy.get_params() == {"limit": 3, "epochs": 2} and strategy.seed == 4
    assert not hasattr(strategy, "asked"), "per-run state is dropped"
    assert strategy.set_params(seed=9).seed == 9
    with pytest.raises(ConfigError, match=r"^Counting: limit must be >= 0"):
        strategy.set_params(limit=-1)
    with pytest.raises(ConfigError, match="unknown hyperparameter 'limitt'"):
        strategy.set_params(limitt=1)
    assert strategy.get_params() == {"limit": 3, "epochs": 2}, "a rejected change changes nothing"


def test_clone_is_a_fresh_strategy_with_equal_params(table: Table) -> None:
    strategy = Counting(limit=4, epochs=2, seed=6)
    first = strategy.run(Benchmark(table, seed=0), Budget(evaluations=5)).trajectory()
    twin = strategy.clone()
    assert type(twin) is Counting and twin is not strategy
    assert twin.get_params() == strategy.get_params() and twin.seed == 6
    assert repr(twin) == repr(strategy) == "Counting(limit=4, epochs=2, seed=6)"
    assert twin.setups == 0 and not hasattr(twin, "asked"), "nothing of the run travels"
    again = twin.run(Benchmark(table, seed=0), Budget(evaluations=5)).trajectory()
    np.testing.assert_array_equal(again["index"], first["index"])
    made = create_strategy("rs", deduplicate="index", seed=2)
    assert repr(made.clone()) == repr(made)


# --------------------------------------------------------------------- the public plug-in API
def test_public_api_for_plugins() -> None:
    from nasbench.core import signals, validation
    from nasbench.search import strategy as strategy_module

    assert nasbench.search.check_int is validation.check_int
    assert nasbench.search.SearchFinished is signals.SearchFinished is strategy_module.SearchFinished
    assert nasbench.search.Strategy is strategy_module.Strategy
    for name in nasbench.search.__all__:
        assert getattr(nasbench.search, name) is not None, name
    with pytest.raises(AttributeError):
        nasbench.search.no_such_name  # noqa: B018


def test_importing_the_plugin_api_imports_no_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from nasbench.search import Strategy, Trial, check_int, register_strategy, "
        "OneShotStrategy, list_strategies, strategy_info; "
        "[strategy_info(n) for n in ('rs', 'darts-v1', 'darts-v2', 'gdas', 'rsps', 'spos', 'enas')]; "
        "list_strategies(); print('torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"

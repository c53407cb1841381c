"""Test helpers: a synthetic complete table and the strategy conformance suite.

The conformance suite is what every strategy, built-in or plugin, must pass::

    from nasbench.testing import StrategyConformance

    class TestMySearch(StrategyConformance):
        strategy_name = "my-search"

It checks that the budget is respected, that a seed reproduces a run exactly, that the
strategy's choices do not depend on test metrics, that every hyperparameter is validated,
that ``clone`` and ``set_params`` keep the hyperparameters, and that its proposals are
valid trials. Runs go through the runner's sandbox (:mod:`nasbench.search.sandbox`), as in
a comparison; with the strategy's module imported there, probes check that no test metric
is reachable from inside a run (module globals, ``gc.get_objects()``, what the strategy is
given) and that a strategy overriding ``run`` cannot evaluate past its budget.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from nasbench.bench.benchmark import Benchmark, Budget
from nasbench.core.errors import ConfigError
from nasbench.core.space import CellSpace, get_space
from nasbench.core.table import STATUS_DONE, STATUS_FAILED, Table, TableWriter, open_table
from nasbench.search.sandbox import run_isolated
from nasbench.search.strategy import (
    Strategy,
    create_strategy,
    get_strategy_class,
    run_strategy,
)

__all__ = ["StrategyConformance", "SurrogateConformance", "synthetic_table"]

# Relative cost of each op in the synthetic table, by name (unknown ops cost 1).
_OP_COST = {"none": 0.0, "skip_connect": 0.0, "avg_pool_3x3": 0.2, "nor_conv_1x1": 1.0, "nor_conv_3x3": 9.0}


def synthetic_table(
    path: str | os.PathLike[str],
    *,
    space: CellSpace | str = "nb201",
    seeds: tuple[int, ...] = (0, 1),
    num_epochs: int = 4,
    seed: int = 0,
    test_shift: float = 0.0,
    failed_fraction: float = 0.0,
    devices: tuple[str, ...] = ("cpu-1t", "cpu-2t"),
    protocol: str | None = None,
) -> Table:
    """Write and open a complete table with made-up but structured metrics.

    Accuracy rises with per-(edge, op) effects drawn from ``seed`` plus an interaction
    term, so search has something to find; each seed adds noise; curves saturate with
    epochs; seconds, latency and memory grow with the cells' convolutions. ``test_shift``
    perturbs only the test metrics (a strategy's choices must not change with it), and
    ``failed_fraction`` of the runs are recorded as diverged. ``protocol`` (a preset name)
    records that protocol, its network and dataset as the table's, so one-shot strategies
    can train a supernet on its real data and look their result up here (the metrics stay
    made up).
    """
    space = get_space(space) if isinstance(space, str) else space
    rng = np.random.default_rng(seed)
    ops = space.ops_array()
    op_cost = np.array([_OP_COST.get(name, 1.0) for name in space.ops])
    conv = op_cost[ops].sum(axis=1)
    params = (20_000 + 1_500 * conv).astype(np.int64)
    flops = (400_000 + 90_000 * conv).astype(np.int64)
    unique = space.unique_indices()
    num_classes, num_seeds = unique.shape[0], len(seeds)
    unique_ops = ops[unique]
    effect = rng.normal(0.0, 0.02, size=(space.num_edges, space.num_ops))
    pair = rng.normal(0.0, 0.01, size=(space.num_ops, space.num_ops))
    edges = np.arange(space.num_edges)
    score = effect[edges, unique_ops].sum(axis=1) + pair[unique_ops[:, 0], unique_ops[:, -1]]
    final = 0.86 + score - 0.04 * (unique_ops == 0).sum(axis=1) / space.num_edges
    epochs = np.arange(1, num_epochs + 1)
    shape = (num_classes, num_seeds, num_epochs)
    rate = rng.uniform(0.5, 1.5, size=(num_classes, 1, 1))
    curve = 1.0 - np.exp(-epochs[None, None, :] * rate / 1.5)
    val_acc = np.clip(final[:, None, None] * (0.7 + 0.3 * curve) + rng.normal(0, 0.006, shape), 0.05, 0.99)
    test_acc = np.clip(
        val_acc + rng.normal(0, 0.004, shape) + test_shift * rng.normal(0, 1, (num_classes, 1, 1)), 0.05, 0.99
    )
    train_acc = np.clip(val_acc + 0.02, 0.05, 0.995)
    class_seconds = 0.5 + 0.08 * op_cost[unique_ops].sum(axis=1)
    train_seconds = class_seconds[:, None, None] * rng.uniform(0.95, 1.05, shape)
    status = np.full((num_classes, num_seeds), STATUS_DONE, dtype=np.int8)
    if failed_fraction > 0:
        status[rng.random((num_classes, num_seeds)) < failed_fraction] = STATUS_FAILED
    failed = (status == STATUS_FAILED)[:, :, None]
    values = {  # accuracies in percent, as the schema stores them
        "train_acc": 100.0 * train_acc,
        "train_loss": -np.log(train_acc),
        "val_acc": 100.0 * val_acc,
        "val_loss": -np.log(val_acc),
        "test_acc": 100.0 * test_acc,
        "test_loss": -np.log(test_acc),
        "train_seconds": train_seconds,
        "eval_seconds": 0.2 * train_seconds,
    }
    target = Path(path)
    model: dict[str, Any] = {"name": "synthetic"}
    dataset: dict[str, Any] = {"name": "synthetic", "seed": seed}
    recorded: dict[str, Any] = {"name": "synthetic", "epochs": num_epochs, "seeds": list(seeds)}
    if protocol is not None:
        from nasbench.nets.train import get_protocol

        recipe = get_protocol(protocol)
        model = recipe.model_config().to_dict()
        dataset = {"name": recipe.dataset, "synthetic_metrics_seed": seed}
        recorded = {**recipe.to_dict(), "epochs": num_epochs, "seeds": list(seeds)}
    writer = TableWriter.create(
        target,
        space=space,
        model=model,
        dataset=dataset,
        protocol=recorded,
        seeds=seeds,
        num_epochs=num_epochs,
        params=params,
        flops=flops,
        created="2000-01-01T00:00:00+00:00",
    )
    with writer:
        for name, block in values.items():
            block = np.where(failed & (name != "train_seconds"), np.nan, block)
            writer.write_metric_block(name, block, status)
        for k, device in enumerate(devices):
            writer.write_device(
                device,
                {"name": device, "synthetic": True},
                {
                    "latency_ms_b1": 0.2 + 0.02 * conv / (k + 1),
                    "latency_ms_b256": 2.0 + 0.9 * conv / (k + 1),
                    "train_peak_memory_mb": 3.0 + 0.3 * conv,
                    "infer_peak_memory_mb": 2.0 + 0.1 * conv,
                },
            )
    return open_table(target)


def _check_bad_hyperparameters(label: str, defaults: dict[str, Any], create: Any) -> None:
    """Every hyperparameter rejects a wrong type (and a stray string where the default is
    not free text) with a ConfigError naming it; an unknown name is rejected too."""
    for name, default in defaults.items():
        bad_values: list[Any] = [object()]
        if default is not None and not isinstance(default, str):  # None may mean free text
            bad_values.append("no-such-value")
        for bad in bad_values:
            try:
                create(label, **{name: bad})
            except ConfigError as exc:
                assert name in str(exc), f"the error does not name {name!r}: {exc}"
            else:
                raise AssertionError(f"{label}: {name}={bad!r} was accepted")
    try:
        create(label, no_such_hyperparameter=1)
    except ConfigError as exc:
        assert "no_such_hyperparameter" in str(exc)
    else:
        raise AssertionError("an unknown hyperparameter was accepted")


class TestDataProbe(Strategy):
    """A strategy that looks for test metrics from inside its run, by every route the
    suite knows, and reports what it found in its run record (it evaluates nothing).

    ``module``: a module to import first (the strategy under test's), so whatever its
    import leaves behind is searched too."""

    __test__ = False  # not a pytest test class
    kind = "black-box"

    def __init__(self, *, module: str = "", seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.module = module

    def run(self, benchmark: Benchmark, budget: Budget | None = None) -> Benchmark:
        import gc
        import importlib
        import sys
        import warnings

        from nasbench.bench.benchmark import BenchmarkArrays

        if self.module:
            importlib.import_module(self.module)
        found: list[str] = []
        for name in ("best_test_acc", "table"):
            try:
                getattr(benchmark, name)
                found.append(f"benchmark.{name}")
            except Exception:
                pass
        for call in ("trajectory", "reset"):
            try:
                getattr(benchmark, call)()
                found.append(f"benchmark.{call}()")
            except Exception:
                pass
        try:
            benchmark.test_acc(0)
            found.append("benchmark.test_acc()")
        except Exception:
            pass
        jobs = sys.modules.get("nasbench.search.jobs")
        if jobs is not None and getattr(jobs, "_TABLES", None):
            found.append("nasbench.search.jobs._TABLES")
        holders = (Table, BenchmarkArrays)
        warnings.simplefilter("ignore")  # deprecated module attributes warn when read
        for module_name, module in list(sys.modules.items()):
            for attribute, value in list(getattr(module, "__dict__", {}).items()):
                if isinstance(value, holders):
                    found.append(f"{module_name}.{attribute}")
        for item in gc.get_objects():
            if isinstance(item, holders) or (
                isinstance(item, Benchmark) and "_test_acc" in getattr(item, "__dict__", {})
            ):
                found.append(f"gc: {type(item).__name__}")
        self._found = sorted(set(found))
        return benchmark

    def run_record(self) -> dict[str, Any] | None:
        return {"found": getattr(self, "_found", ["(not run)"])}


class Overspender(Strategy):
    """A strategy that overrides ``run``, drops its budget and evaluates 50 times more
    than it may, ignoring the benchmark's refusals."""

    kind = "black-box"

    def run(self, benchmark: Benchmark, budget: Budget | None = None) -> Benchmark:
        planned = 50 * (budget.evaluations or 1) if budget is not None else 50
        benchmark.budget = None
        for index in range(planned):
            try:
                benchmark.evaluate(index % benchmark.space.size)
            except Exception:
                continue
        return benchmark


def _trials(benchmark: Benchmark) -> list[tuple[int, int]]:
    data = benchmark.trajectory()
    return list(zip(data["index"].tolist(), data["epochs"].tolist(), strict=True))


class StrategyConformance:
    """pytest mix-in: subclass it and set ``strategy_name`` (and optionally ``hyperparameters``)."""

    strategy_name: ClassVar[str] = ""
    hyperparameters: ClassVar[dict[str, Any]] = {}
    budget_evaluations: ClassVar[int] = 40

    # The two tables are made once per test class, in a temporary directory.
    _tables: ClassVar[dict[str, Table]] = {}

    def _table(self, tmp_path_factory: Any, variant: str) -> Table:
        key = f"{type(self).__name__}:{variant}"
        if key not in self._tables:
            folder = tmp_path_factory.mktemp("conformance")
            shift = 0.05 if variant == "shifted" else 0.0
            type(self)._tables[key] = synthetic_table(
                folder / f"{variant}.h5", test_shift=shift, failed_fraction=0.02
            )
        return self._tables[key]

    #: Run in the sandbox, as a comparison does (False: in this process, where the table
    #: is reachable; only for showing that the test-metric check can fail).
    isolated: ClassVar[bool] = True

    def _run(self, table: Table, seed: int, budget: Budget) -> Benchmark:
        if not self.isolated:
            strategy = create_strategy(self.strategy_name, seed=seed, **self.hyperparameters)
            return run_strategy(strategy, table, seed=seed, budget=budget)
        cls = get_strategy_class(self.strategy_name)
        return run_isolated(
            Benchmark(table, seed=seed),
            self.strategy_name,
            seed=seed,
            budget=budget,
            params=self.hyperparameters,
            kind=cls.kind,
            strategy_class=cls,
        ).benchmark

    def test_no_test_metric_reachable_in_a_run(self, tmp_path_factory: Any) -> None:
        """Inside a sandboxed run, with this strategy's module imported, nothing holds a
        test metric: no table, benchmark with test data or runner cache in any module or
        in ``gc.get_objects()``, and the benchmark given refuses test metrics."""
        get_strategy_class(self.strategy_name)
        table = self._table(tmp_path_factory, "base")
        done = run_isolated(
            Benchmark(table, seed=0),
            "conformance-test-data-probe",
            seed=0,
            budget=Budget(evaluations=3),
            strategy_class=TestDataProbe,
            params={"module": get_strategy_class(self.strategy_name).__module__},
        )
        assert done.record is not None
        assert done.record["found"] == [], f"test data reachable from a run: {done.record['found']}"

    def test_budget_enforced_outside_the_strategy(self, tmp_path_factory: Any) -> None:
        """A strategy that overrides ``run``, drops its budget and evaluates 50 times too
        often has only its budget's evaluations recorded."""
        table = self._table(tmp_path_factory, "base")
        done = run_isolated(
            Benchmark(table, seed=0),
            "conformance-overspender",
            seed=0,
            budget=Budget(evaluations=self.budget_evaluations),
            strategy_class=Overspender,
        )
        assert done.benchmark.evaluations == self.budget_evaluations
        assert len(done.benchmark.trajectory()["index"]) == self.budget_evaluations

    def test_registered(self) -> None:
        cls = get_strategy_class(self.strategy_name)
        assert issubclass(cls, Strategy)
        assert cls.name == self.strategy_name

    def test_evaluation_budget_respected(self, tmp_path_factory: Any) -> None:
        table = self._table(tmp_path_factory, "base")
        benchmark = self._run(table, 0, Budget(evaluations=self.budget_evaluations))
        assert 1 <= benchmark.evaluations <= self.budget_evaluations

    def test_seconds_budget_respected(self, tmp_path_factory: Any) -> None:
        table = self._table(tmp_path_factory, "base")
        seconds = 20.0 * float(np.nanmean(table.class_metric("train_seconds", 0)))
        benchmark = self._run(table, 1, Budget(seconds=seconds))
        assert benchmark.evaluations >= 1
        assert benchmark.sim_seconds <= seconds

    def test_same_seed_same_run(self, tmp_path_factory: Any) -> None:
        table = self._table(tmp_path_factory, "base")
        budget = Budget(evaluations=self.budget_evaluations)
        first = self._run(table, 3, budget).trajectory()
        second = self._run(table, 3, budget).trajectory()
        for name, values in first.items():
            np.testing.assert_array_equal(values, second[name], err_msg=name)

    def test_choices_ignore_test_metrics(self, tmp_path_factory: Any) -> None:
        base = self._table(tmp_path_factory, "base")
        shifted = self._table(tmp_path_factory, "shifted")
        assert not np.allclose(base.class_metric("test_acc"), shifted.class_metric("test_acc"))
        budget = Budget(evaluations=self.budget_evaluations)
        assert _trials(self._run(base, 5, budget)) == _trials(self._run(shifted, 5, budget))

    def test_trials_are_valid(self, tmp_path_factory: Any) -> None:
        table = self._table(tmp_path_factory, "base")
        benchmark = self._run(table, 7, Budget(evaluations=self.budget_evaluations))
        data = benchmark.trajectory()
        assert np.all((data["index"] >= 0) & (data["index"] < table.space.size))
        assert np.all((data["epochs"] >= 1) & (data["epochs"] <= table.num_epochs))
        cls = get_strategy_class(self.strategy_name)
        if cls.kind != "multi-fidelity":
            assert np.all(data["epochs"] == table.num_epochs)

    def test_bad_hyperparameters_rejected(self) -> None:
        _check_bad_hyperparameters(
            self.strategy_name, get_strategy_class(self.strategy_name).hyperparameters(), create_strategy
        )

    def test_params_round_trip(self) -> None:
        strategy = create_strategy(self.strategy_name, seed=2, **self.hyperparameters)
        again = create_strategy(self.strategy_name, seed=2, **strategy.get_params())
        assert repr(again) == repr(strategy)

    def test_clone_and_set_params(self, tmp_path_factory: Any) -> None:
        strategy = create_strategy(self.strategy_name, seed=3, **self.hyperparameters)
        twin = strategy.clone()
        assert type(twin) is type(strategy) and twin is not strategy
        assert repr(twin) == repr(strategy), "clone keeps every hyperparameter and the seed"
        table = self._table(tmp_path_factory, "base")
        budget = Budget(evaluations=self.budget_evaluations)
        first = _trials(run_strategy(strategy, table, seed=3, budget=budget))
        assert strategy.set_params(**strategy.get_params()) is strategy
        assert repr(strategy) == repr(twin)
        assert _trials(run_strategy(twin, table, seed=3, budget=budget)) == first


# --------------------------------------------------------------------- surrogate conformance
@dataclass
class _SurrogateData:
    """Held-out split of a synthetic table's seed-mean final val_acc (percent)."""

    space: CellSpace
    train: np.ndarray  # representative indices
    test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    curves_train: np.ndarray  # seed-mean val_acc curves, [n, epochs]
    curves_test: np.ndarray


_SURROGATE_DATA: dict[tuple[int, int], _SurrogateData] = {}
_SURROGATE_TABLE: list[tuple[CellSpace, np.ndarray, np.ndarray, np.ndarray]] = []


class SurrogateConformance:
    """pytest mix-in: subclass it and set ``surrogate_name`` (and optionally ``hyperparameters``).

    Every surrogate, built-in or plugin, must: be registered under its name; refuse to
    predict or save before ``fit``; return ``self`` from ``fit`` and keep learned state in
    attributes ending in ``_`` without touching its hyperparameters; give finite float64
    predictions of the right shape (and a std where ``has_std``, a
    :class:`~nasbench.core.errors.ConfigError` otherwise); accept strings and Architectures as
    well as indices; predict identically after a second fit with the same seed and after
    a save/load round trip; fail with :class:`~nasbench.prediction.artifacts.ArtifactError` on a
    tampered or truncated artifact; reject bad hyperparameters with a ConfigError naming
    them; ``clone`` to an unfitted copy with equal parameters and drop the fit on
    ``set_params``; and rank held-out classes of a synthetic table better than a constant
    (Kendall tau above ``min_kendall_tau``), having been fitted on ``train_size`` classes
    of the seed-mean final validation accuracy. Learning-curve surrogates get the
    seed-mean validation curves as ``curves=``.
    """

    surrogate_name: ClassVar[str] = ""
    hyperparameters: ClassVar[dict[str, Any]] = {}
    train_size: ClassVar[int] = 300
    test_size: ClassVar[int] = 600
    min_kendall_tau: ClassVar[float] = 0.3

    _fitted: ClassVar[dict[str, Any]] = {}

    # ----------------------------------------------------------------- fixtures
    def _data(self, tmp_path_factory: Any) -> _SurrogateData:
        key = (self.train_size, self.test_size)
        if key not in _SURROGATE_DATA:
            if not _SURROGATE_TABLE:  # one synthetic table per session, shared read-only
                table = synthetic_table(tmp_path_factory.mktemp("surrogate-conformance") / "synthetic.h5")
                curves = np.nanmean(table.raw("val_acc").astype(np.float64), axis=1)
                _SURROGATE_TABLE.append((table.space, table.unique, table.class_metric("val_acc"), curves))
            space, unique, y, curves = _SURROGATE_TABLE[0]
            order = np.random.default_rng(2024).permutation(unique.shape[0])
            train, test = order[: self.train_size], order[self.train_size : self.train_size + self.test_size]
            _SURROGATE_DATA[key] = _SurrogateData(
                space, unique[train], unique[test], y[train], y[test], curves[train], curves[test]
            )
        return _SURROGATE_DATA[key]

    def _create(self, **overrides: Any) -> Any:
        from nasbench.prediction import create_surrogate

        return create_surrogate(self.surrogate_name, **{**self.hyperparameters, **overrides})

    def _is_curve_model(self) -> bool:
        from nasbench.prediction import get_surrogate_class

        return get_surrogate_class(self.surrogate_name).kind == "learning-curve"

    def _fit(self, model: Any, data: _SurrogateData) -> Any:
        extra = {"curves": data.curves_train} if self._is_curve_model() else {}
        return model.fit(data.train, data.y_train, **extra)

    def _predict(self, model: Any, data: _SurrogateData, archs: Any = None, **kwargs: Any) -> Any:
        archs = data.test if archs is None else archs
        extra = {"curves": data.curves_test[: len(archs)]} if self._is_curve_model() else {}
        return model.predict(archs, **kwargs, **extra)

    def _fitted_model(self, tmp_path_factory: Any) -> Any:
        key = type(self).__name__
        if key not in self._fitted:
            type(self)._fitted[key] = self._fit(self._create(seed=1), self._data(tmp_path_factory))
        return self._fitted[key]

    # ----------------------------------------------------------------- tests
    def test_registered(self) -> None:
        import json

        from nasbench.prediction import (
            SURROGATE_KINDS,
            Surrogate,
            get_surrogate_class,
            surrogate_info,
        )

        cls = get_surrogate_class(self.surrogate_name)
        assert issubclass(cls, Surrogate)
        assert cls.name == self.surrogate_name
        assert cls.kind in SURROGATE_KINDS
        info = surrogate_info(self.surrogate_name)
        assert info.summary, "the class needs a docstring whose first paragraph summarises it"
        json.dumps(info.to_dict())

    def test_predict_before_fit_raises(self, tmp_path: Path) -> None:
        from nasbench.prediction import NotFittedError

        model = self._create()
        for call in (lambda: self._predict(model, _EMPTY_DATA, [0, 1]), lambda: model.save(tmp_path / "m")):
            try:
                call()
            except NotFittedError as exc:
                assert "fit" in str(exc)
            else:
                raise AssertionError("an unfitted surrogate answered")

    def test_fit_returns_self_and_keeps_hyperparameters(self, tmp_path_factory: Any) -> None:
        data = self._data(tmp_path_factory)
        model = self._create(seed=1)
        before = repr(model.get_params())
        assert self._fit(model, data) is model
        assert repr(model.get_params()) == before, "fit changed a hyperparameter"
        assert model.is_fitted
        learned = [name for name in vars(model) if name.endswith("_")]
        assert learned, "fit must set learned attributes ending in '_'"

    def test_predictions_finite_with_right_shape(self, tmp_path_factory: Any) -> None:
        data = self._data(tmp_path_factory)
        model = self._fitted_model(tmp_path_factory)
        mean = self._predict(model, data)
        assert isinstance(mean, np.ndarray) and mean.dtype == np.float64
        assert mean.shape == data.test.shape and np.all(np.isfinite(mean))
        if model.has_std:
            mean2, std = self._predict(model, data, return_std=True)
            assert std.shape == data.test.shape and std.dtype == np.float64
            assert np.all(np.isfinite(std)) and np.all(std >= 0)
            if not getattr(model, "noise", False):
                np.testing.assert_array_equal(mean2, mean)
        else:
            try:
                self._predict(model, data, return_std=True)
            except ConfigError as exc:
                assert "std" in str(exc) or "standard deviation" in str(exc)
            else:
                raise AssertionError("has_std is False but predict returned a std")

    def test_accepts_strings_and_architectures(self, tmp_path_factory: Any) -> None:
        data = self._data(tmp_path_factory)
        model = self._fitted_model(tmp_path_factory)
        if getattr(model, "noise", False):
            return  # every call draws anew; the round-trip test covers this model
        indices = data.test[:20]
        strings = [str(data.space.from_index(int(i))) for i in indices]
        archs = [data.space.from_index(int(i)) for i in indices]
        by_index = self._predict(model, data, indices)
        np.testing.assert_array_equal(self._predict(model, data, strings), by_index)
        np.testing.assert_array_equal(self._predict(model, data, archs), by_index)
        np.testing.assert_array_equal(self._predict(model, data, indices.tolist()), by_index)

    def test_same_seed_same_predictions(self, tmp_path_factory: Any) -> None:
        data = self._data(tmp_path_factory)
        first = self._fitted_model(tmp_path_factory)
        second = self._fit(self._create(seed=1), data)
        if getattr(first, "noise", False):  # compare fresh generators: refit the first too
            first = self._fit(self._create(seed=1), data)
        np.testing.assert_array_equal(self._predict(first, data), self._predict(second, data))

    def test_save_load_round_trip(self, tmp_path_factory: Any, tmp_path: Path) -> None:
        from nasbench.prediction import ArtifactError, load_surrogate

        data = self._data(tmp_path_factory)
        model = self._fitted_model(tmp_path_factory)
        path = tmp_path / "model.nbs"
        model.save(path)
        loaded = load_surrogate(path)
        assert type(loaded) is type(model)
        assert repr(loaded) == repr(model)
        kwargs = {"return_std": True} if model.has_std else {}
        expected, got = self._predict(model, data, **kwargs), self._predict(loaded, data, **kwargs)
        for a, b in zip(
            expected if model.has_std else [expected], got if model.has_std else [got], strict=True
        ):
            np.testing.assert_array_equal(a, b)
        raw = path.read_bytes()
        for name, damaged in (("truncated", raw[: len(raw) - 7]), ("tampered", _flip(raw, len(raw) // 2))):
            (tmp_path / name).write_bytes(damaged)
            try:
                load_surrogate(tmp_path / name)
            except ArtifactError:
                pass
            else:
                raise AssertionError(f"a {name} artifact loaded")

    def test_bad_hyperparameters_rejected(self) -> None:
        from nasbench.prediction import create_surrogate, get_surrogate_class

        _check_bad_hyperparameters(
            self.surrogate_name, get_surrogate_class(self.surrogate_name).hyperparameters(), create_surrogate
        )

    def test_params_round_trip(self) -> None:
        model = self._create(seed=2)
        again = self._create(**model.get_params())
        assert repr(again) == repr(model)

    def test_clone_and_set_params_drop_the_fitted_state(self, tmp_path_factory: Any) -> None:
        model = self._fit(self._create(seed=1), self._data(tmp_path_factory))
        copy = model.clone()
        assert type(copy) is type(model) and not copy.is_fitted
        assert repr(copy.get_params()) == repr(model.get_params())
        assert model.set_params(seed=2) is model
        assert model.get_params()["seed"] == 2 and not model.is_fitted, "set_params must drop the fit"
        try:
            model.set_params(seed=-1)
        except ConfigError as exc:
            assert "seed" in str(exc)
        else:
            raise AssertionError("set_params accepted a bad seed")

    def test_better_than_constant(self, tmp_path_factory: Any) -> None:
        import pytest
        from scipy.stats import kendalltau

        from nasbench.prediction import get_surrogate_class

        if not get_surrogate_class(self.surrogate_name).learns_from_targets:
            pytest.skip(f"{self.surrogate_name} does not learn from targets; judged against real tables")
        data = self._data(tmp_path_factory)
        model = self._fitted_model(tmp_path_factory)
        tau = float(kendalltau(self._predict(model, data), data.y_test)[0])
        assert tau > self.min_kendall_tau, f"Kendall tau {tau:.3f} on held-out classes"


_EMPTY_DATA = _SurrogateData(
    get_space("nb201"),
    np.zeros(0, np.int64),
    np.zeros(0, np.int64),
    np.zeros(0),
    np.zeros(0),
    np.zeros((2, 4)),
    np.zeros((2, 4)),
)


def _flip(raw: bytes, position: int) -> bytes:
    """``raw`` with one bit flipped at ``position``."""
    return raw[:position] + bytes([raw[position] ^ 0x01]) + raw[position + 1 :]

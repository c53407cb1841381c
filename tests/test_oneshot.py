"""One-shot strategies and the weight-sharing surrogate on the digits ``tiny`` protocol:
mechanics only (tiny budgets), not search quality."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from nasbench.strategies.oneshot import DARTS, GDAS, ONE_SHOT_STRATEGIES
from nasbench.surrogates.weight_sharing import WeightSharingSurrogate, score_architectures

from nasbench.core.errors import ConfigError
from nasbench.core.space import get_space
from nasbench.nets.supernet import Supernet
from nasbench.nets.train import get_protocol
from nasbench.prediction import NotFittedError, get_surrogate_class, load_surrogate
from nasbench.search import OneShotBudget, OneShotResult, OneShotStrategy, OneShotTask, Strategy

PROTOCOL = get_protocol("tiny")
SPACE = get_space("nb201")
ONE_EPOCH = OneShotBudget(epochs=1)
# Small enough that every strategy runs one epoch of the tiny protocol in about a second.
SMALL: dict[str, dict[str, object]] = {
    "darts-v1": {"batch_size": 128},
    "darts-v2": {"batch_size": 128},
    "gdas": {"batch_size": 128},
    "rsps": {"batch_size": 128, "num_candidates": 8},
    "spos": {"batch_size": 128, "population_size": 6, "iterations": 2, "parents": 3, "eval_images": 64},
    "enas": {
        "batch_size": 128,
        "controller_steps": 2,
        "controller_aggregate": 2,
        "num_candidates": 4,
        "eval_images": 64,
    },
}


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def task():
    return OneShotTask.from_protocol(PROTOCOL, space=SPACE, seed=0)


@pytest.fixture(scope="module")
def results(task) -> dict[str, tuple[OneShotResult, OneShotResult, OneShotStrategy]]:
    """Two one-epoch runs of every strategy with the same seed, and the strategy that made
    the second (shared by the tests)."""
    out = {}
    for name, cls in ONE_SHOT_STRATEGIES.items():
        first = cls(**SMALL[name]).search_result(task, ONE_EPOCH)
        strategy = cls(**SMALL[name])
        out[name] = (first, strategy.search_result(task, ONE_EPOCH), strategy)
    return out


def test_registry_names_and_kind():
    assert set(ONE_SHOT_STRATEGIES) == {"darts-v1", "darts-v2", "gdas", "rsps", "spos", "enas"}
    for name, cls in ONE_SHOT_STRATEGIES.items():
        assert issubclass(cls, OneShotStrategy) and cls.kind == "one-shot" and cls.name == name
        assert issubclass(cls, Strategy), "one registry base, one run contract"
        assert (cls.__doc__ or "").strip(), name


@pytest.mark.parametrize("name", sorted(ONE_SHOT_STRATEGIES))
def test_result_is_valid_and_reproducible(name, results, complete_table):
    first, second, _ = results[name]
    SPACE.check(first.arch)
    assert complete_table.row(first.arch) >= 0  # every architecture of the space has a row
    assert first.epochs == 1 and first.trajectory.shape == (1, SPACE.num_edges, SPACE.num_ops)
    np.testing.assert_allclose(first.trajectory.sum(axis=2), 1.0)
    assert first.search_seconds > 0 and first.epoch_seconds.shape == (1,)
    assert second.arch == first.arch
    np.testing.assert_array_equal(second.trajectory, first.trajectory)
    np.testing.assert_array_equal(second.train_loss, first.train_loss)
    assert second.info == first.info
    assert first.to_dict()["arch"] == str(first.arch)


def test_seed_changes_the_run(task):
    a = DARTS(batch_size=128, seed=1).search_result(task, ONE_EPOCH)
    b = DARTS(batch_size=128, seed=2).search_result(task, ONE_EPOCH)
    assert not np.array_equal(a.trajectory, b.trajectory)


@pytest.mark.parametrize("name", ["darts-v1", "darts-v2", "gdas"])
def test_architecture_weights_move(name, results, task):
    result, _, strategy = results[name]
    initial = Supernet.for_protocol(PROTOCOL, SPACE, seed=strategy.session_.init_seed).probabilities()
    # a few Adam steps of 3e-4 move alpha by about 1e-3; the distribution follows
    assert np.abs(result.trajectory[-1] - initial).max() > 1e-5
    # with a larger step the search leaves uniform quickly
    cls = ONE_SHOT_STRATEGIES[name]
    fast = cls(**SMALL[name], arch_learning_rate=0.05).search_result(task, ONE_EPOCH)
    assert np.abs(fast.trajectory[-1] - 1.0 / SPACE.num_ops).max() > 0.02


def test_path_sampling_records_uniform_and_enas_its_policy(results):
    for name in ("rsps", "spos"):
        np.testing.assert_array_equal(results[name][0].trajectory, 1.0 / SPACE.num_ops)
    assert len(results["rsps"][0].info["candidate_accuracy"]) == SMALL["rsps"]["num_candidates"]
    enas = results["enas"][0]
    assert not np.allclose(enas.trajectory, 1.0 / SPACE.num_ops)  # the controller's own
    assert len(enas.info["candidate_indices"]) == SMALL["enas"]["num_candidates"]


def test_trajectory_has_one_row_per_epoch_and_gdas_anneals(task):
    strategy = GDAS(batch_size=256, epochs=5, tau_max=10.0, tau_min=0.1)
    result = strategy.search_result(task, OneShotBudget(epochs=2))
    assert result.trajectory.shape[0] == 2 and strategy.session_.planned_epochs == 2
    assert strategy.temperature(0, 2) == 10.0 and strategy.temperature(1, 2) == pytest.approx(0.1)
    assert strategy.temperature(2, 5) == pytest.approx(5.05)


def test_seconds_budget_ends_the_search(task):
    result = DARTS(batch_size=256, epochs=1000).search_result(task, OneShotBudget(seconds=3.0))
    assert 1 <= result.epochs < 1000
    assert result.epoch_seconds.sum() <= 3.0 + result.epoch_seconds[0]


def test_hyperparameters_are_validated(task):
    for name, cls in ONE_SHOT_STRATEGIES.items():
        defaults = cls.hyperparameters()
        assert "seed" not in defaults and defaults["epochs"] >= 1, name
        assert repr(cls(**cls().get_params())) == repr(cls())
        for key, default in defaults.items():
            bad = [object()] + ([] if isinstance(default, str) else ["no-such-value"])
            for value in bad:
                with pytest.raises(ConfigError, match=key):
                    cls(**{key: value})
    with pytest.raises(ConfigError, match="seed"):
        DARTS(seed=-1)
    with pytest.raises(ConfigError, match="learning_rate_min"):
        DARTS(learning_rate=0.01, learning_rate_min=0.1)
    with pytest.raises(ConfigError, match="OneShotBudget"):
        DARTS().search(task, None)  # type: ignore[arg-type]


def test_params_of_one_shot_strategies():
    darts = DARTS(epochs=3, seed=1)
    assert repr(darts).startswith("DARTS(epochs=3, batch_size=64,") and repr(darts).endswith(", seed=1)")
    assert repr(DARTS()).endswith("seed=None)"), "no seed: the task's"
    twin = darts.clone()
    assert twin is not darts and twin.get_params() == darts.get_params() and twin.seed == 1
    assert darts.set_params(epochs=4) is darts and darts.epochs == 4
    with pytest.raises(ConfigError, match="learning_rate_min"):
        darts.set_params(learning_rate_min=1.0)
    assert darts.epochs == 4 and darts.learning_rate_min == 0.001


# --------------------------------------------------------------------- weight-sharing surrogate
SURROGATE = {"epochs": 2, "eval_images": 64, "batch_size": 128}


@pytest.fixture(scope="module")
def surrogate() -> WeightSharingSurrogate:
    model = WeightSharingSurrogate(**SURROGATE, seed=3)
    assert model.fit([0, 1, 2], [1.0, 2.0, 3.0]) is model
    return model


def test_surrogate_registered():
    assert get_surrogate_class("weight-sharing") is WeightSharingSurrogate
    assert WeightSharingSurrogate.kind == "architecture" and not WeightSharingSurrogate.has_std


def test_surrogate_fit_predict_save_load(surrogate, tmp_path):
    with pytest.raises(NotFittedError):
        WeightSharingSurrogate(**SURROGATE).predict([0])
    indices = SPACE.unique_indices()[:: SPACE.num_unique // 12][:12]
    predicted = surrogate.predict(indices)
    assert predicted.dtype == np.float64 and predicted.shape == (12,)
    assert np.all((predicted >= 0) & (predicted <= 100))
    strings = [str(SPACE.from_index(int(i))) for i in indices]
    np.testing.assert_array_equal(surrogate.predict(strings), predicted)
    np.testing.assert_array_equal(surrogate.predict(indices[::-1]), predicted[::-1])
    surrogate.save(tmp_path / "ws.nbs")
    loaded = load_surrogate(tmp_path / "ws.nbs")
    assert repr(loaded) == repr(surrogate)
    np.testing.assert_array_equal(loaded.predict(indices), predicted)
    again = WeightSharingSurrogate(**SURROGATE, seed=3).fit([5, 6], [0.0, 0.0])
    np.testing.assert_array_equal(again.predict(indices), predicted)
    with pytest.raises(ConfigError, match="std"):
        surrogate.predict(indices, return_std=True)
    with pytest.raises(ConfigError, match="y has shape"):
        WeightSharingSurrogate(**SURROGATE).fit([0, 1], [1.0])


def test_surrogate_scores_report_timing(surrogate):
    scores = surrogate.score(SPACE.unique_indices()[:5])
    assert scores.indices.shape == (5,) and scores.images == SURROGATE["eval_images"]
    assert scores.seconds > 0 and scores.seconds_per_arch == pytest.approx(scores.seconds / 5)


def test_surrogate_bn_recalibration_is_repeatable(task):
    model = WeightSharingSurrogate(**SURROGATE, bn_recalibration=True, recalibration_batches=2)
    model.fit([0, 1], [0.0, 0.0])
    buffers = {k: v.clone() for k, v in model.supernet_.named_buffers()}
    indices = SPACE.unique_indices()[100:104]
    first = model.predict(indices)
    np.testing.assert_array_equal(model.predict(indices[::-1])[::-1], first)
    for name, value in model.supernet_.named_buffers():
        assert torch.equal(value, buffers[name]), f"{name} changed by scoring"
    data = task.data
    plain = score_architectures(model.supernet_, indices, data.val_x[:64], data.val_y[:64])
    assert plain.accuracy.shape == (4,)


def test_surrogate_hyperparameters_are_validated():
    for key, bad in (
        ("protocol", "no-such-preset"),
        ("protocol", {"no_such_field": 1}),
        ("epochs", 0),
        ("bn_recalibration", 1),
        ("track_running_stats", "yes"),
        ("eval_images", 0),
    ):
        with pytest.raises(ConfigError, match=key):
            WeightSharingSurrogate(**{key: bad})
    WeightSharingSurrogate(protocol=PROTOCOL.to_dict())
    with pytest.raises(ConfigError, match="bn_recalibration=True needs track_running_stats"):
        WeightSharingSurrogate(bn_recalibration=True, track_running_stats=False)
    modes = [
        WeightSharingSurrogate(**options).bn_mode
        for options in ({}, {"track_running_stats": True}, {"bn_recalibration": True})
    ]
    assert modes == ["batch", "running", "recalibrated"]


def test_one_tracked_supernet_serves_every_batchnorm_mode(surrogate):
    # Tracking running statistics does not change training (train mode normalises with the
    # batch's statistics), so a tracked supernet scored in batch mode is the untracked one.
    tracked = WeightSharingSurrogate(**SURROGATE, seed=3, track_running_stats=True).fit([0, 1], [0.0, 0.0])
    indices = SPACE.unique_indices()[200:206]
    as_batch = WeightSharingSurrogate.from_supernet(tracked.supernet_, **SURROGATE, seed=3)
    np.testing.assert_array_equal(as_batch.predict(indices), surrogate.predict(indices))
    running = tracked.predict(indices)
    recalibrated = WeightSharingSurrogate.from_supernet(
        tracked.supernet_, **SURROGATE, seed=3, bn_recalibration=True
    ).predict(indices)
    assert not np.array_equal(running, recalibrated)  # the statistics differ, so do the scores
    with pytest.raises(ConfigError, match="track_running_stats=True"):
        WeightSharingSurrogate.from_supernet(surrogate.supernet_, **SURROGATE, track_running_stats=True)


def test_weight_sharing_study_scores_every_mode_from_one_training(tmp_path):
    from nasbench.surrogates.weight_sharing import BN_MODES, weight_sharing_study

    from nasbench.testing import synthetic_table

    table = synthetic_table(tmp_path / "tiny.h5", protocol="tiny")
    study = weight_sharing_study(table, epochs=(1,), eval_images=32, batch_size=128, max_classes=24)
    assert study["classes_scored"] == 24 and [row["bn_mode"] for row in study["rows"]] == list(BN_MODES)
    assert len({row["fit_seconds"] for row in study["rows"]}) == 1  # one supernet for the three
    for row in study["rows"]:
        assert row["n"] == 24 and -1 <= row["kendall_tau"] <= 1 and row["score_seconds"] > 0
        assert 0 <= row["precision_at_10"] <= 1 and 0 <= row["mean_score"] <= 100
    for bad, match in (({"bn_modes": ["batch", "foo"]}, "BatchNorm modes"), ({"epochs": [0]}, "epochs"),
                       ({"seeds": []}, "seeds"), ({"max_classes": 2}, "max_classes")):  # fmt: skip
        with pytest.raises(ConfigError, match=match):
            weight_sharing_study(table, **bad)


# --------------------------------------------------------------------------- registry and runner


def test_one_shot_strategies_are_registered_beside_the_black_box_ones() -> None:
    from nasbench.search import get_strategy_class, is_one_shot, list_strategies, strategy_info
    from nasbench.search.demo import builtin_strategies

    assert list_strategies(kind="one-shot") == sorted(ONE_SHOT_STRATEGIES)
    for name, cls in ONE_SHOT_STRATEGIES.items():
        assert get_strategy_class(name) is cls and is_one_shot(name)
    assert strategy_info("darts-v1").kind == "one-shot"
    assert not is_one_shot("re") and not is_one_shot("no-such-strategy")
    assert not set(builtin_strategies()) & set(ONE_SHOT_STRATEGIES)  # the demo stays black-box


def test_runner_puts_a_one_shot_search_on_the_leaderboard(tmp_path) -> None:
    import csv

    from nasbench.search import Budget, compare
    from nasbench.search.checks import check_names
    from nasbench.testing import synthetic_table

    table = synthetic_table(tmp_path / "tiny.h5", protocol="tiny")
    assert not set(check_names("all")) & set(ONE_SHOT_STRATEGIES)  # by name only
    summary = compare(
        [table.path],
        ["rsps", "rs"],
        1,
        Budget(evaluations=10),
        tmp_path / "out",
        params={"rsps": {"epochs": 1, "num_candidates": 4, "batch_size": 128}},
        progress=False,
    )
    assert summary.runs_ok == 2, summary.errors
    with open(tmp_path / "out" / "runs.csv", newline="") as handle:
        runs = {row["strategy"]: row for row in csv.DictReader(handle)}
    row = runs["rsps"]
    assert row["kind"] == "one-shot" and row["status"] == "ok" and row["evaluations"] == "1"
    index = int(row["final_index"])
    assert table.space.index(row["final_arch"]) == index
    # Charged the search's CPU seconds on top of the tabulated training of its result.
    from nasbench.bench.benchmark import Benchmark

    result = Benchmark(table, seed=0).evaluate(index)
    assert float(row["sim_seconds"]) > result.cost_seconds + 0.05
    # Scored like every run: the test accuracy of the table's other seed (hold-out scoring).
    klass = int(table.class_row[index])
    [seen] = [s for s in range(2) if table.raw("val_acc")[klass, s, -1] == result.val_acc]
    assert float(row["final_test_acc"]) == pytest.approx(float(table.raw("test_acc")[klass, 1 - seen, -1]))


def test_runner_records_architecture_weights_and_the_report_plots_them(tmp_path) -> None:
    import csv

    from nasbench.bench.results import ARCHITECTURE_WEIGHT_COLUMNS, ONE_SHOT_COLUMNS
    from nasbench.reporting.leaderboard import write_report
    from nasbench.search import Budget, compare
    from nasbench.testing import synthetic_table

    table = synthetic_table(tmp_path / "tiny.h5", protocol="tiny")
    params = {"darts-v1": {"epochs": 2, "batch_size": 128}, "rsps": {"epochs": 1, **SMALL["rsps"]}}
    summary = compare(
        [table.path], ["darts-v1", "rsps", "rs"], 2, Budget(evaluations=10), tmp_path / "out",
        params=params, progress=False,
    )  # fmt: skip
    assert summary.runs_ok == 6, summary.errors
    with open(tmp_path / "out" / "one_shot.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == ONE_SHOT_COLUMNS
    assert sorted((r["strategy"], r["seed"], r["epoch"]) for r in rows) == sorted(
        [("darts-v1", s, e) for s in "01" for e in "01"] + [("rsps", s, "0") for s in "01"]
    )
    with open(tmp_path / "out" / "architecture_weights.csv", newline="") as handle:
        weights = list(csv.DictReader(handle))
    assert tuple(weights[0]) == ARCHITECTURE_WEIGHT_COLUMNS
    assert len(weights) == (2 * 2 + 2 * 1) * SPACE.num_edges * SPACE.num_ops
    assert {w["edge"] for w in weights} == {"1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2"}
    assert {w["op"] for w in weights} == set(SPACE.ops)
    sums: dict[tuple[str, ...], float] = {}
    for w in weights:
        key = (w["strategy"], w["seed"], w["epoch"], w["edge"])
        sums[key] = sums.get(key, 0.0) + float(w["weight"])
    assert all(abs(total - 1.0) < 1e-9 for total in sums.values())  # a distribution per edge
    darts = {float(w["weight"]) for w in weights if w["strategy"] == "darts-v1"}
    assert len(darts) > 1  # moved away from uniform
    with open(tmp_path / "out" / "runs.csv", newline="") as handle:
        runs = list(csv.DictReader(handle))
    for run in runs:
        if run["kind"] == "one-shot":
            assert 0 < float(run["search_seconds"]) < float(run["sim_seconds"])
        else:
            assert run["search_seconds"] == ""

    written = write_report(tmp_path / "out", tmp_path / "report" / "board")
    page = written[0].read_text(encoding="utf-8")
    assert "One-shot strategies" in page and "Architecture-weight trajectories" in page
    plots = [path.name for path in written[2:]]
    assert sum("darts-v1" in name and "weights" in name for name in plots) == 1
    assert not any("rsps" in name for name in plots)  # uniform sampling: nothing to draw
    markdown = written[1].read_text(encoding="utf-8")
    assert "| tiny | darts-v1 | 2 / 2 | 2 |" in markdown


def test_a_search_whose_weights_turn_nan_is_a_failed_run_and_the_others_go_on(tmp_path) -> None:
    import csv
    import json

    from nasbench.search import Budget, compare, register_strategy, strategy_registry
    from nasbench.testing import synthetic_table

    class Diverging(OneShotStrategy):
        """Trains nothing; its architecture weights are NaN after the first epoch."""

        epochs = 1

        def search(self, task, budget):
            session = self._begin(task, budget, epochs=1)
            for _ in session.epochs():
                session.record(np.full((task.space.num_edges, task.space.num_ops), np.nan), 0.0, 0.0)
            return task.space.from_index(0)

    with strategy_registry.scoped():  # keeps other modules' registry clean
        register_strategy("diverging-test")(Diverging)
        table = synthetic_table(tmp_path / "tiny.h5", protocol="tiny")
        summary = compare([table.path], ["diverging-test", "rs"], 1, Budget(evaluations=5), tmp_path / "out",
                          progress=False)  # fmt: skip
    assert summary.runs_ok == 1 and summary.runs_failed == 1
    with open(tmp_path / "out" / "runs.csv", newline="") as handle:
        status = {row["strategy"]: row["status"] for row in csv.DictReader(handle)}
    assert status == {"diverging-test": "failed", "rs": "ok"}
    errors = json.loads((tmp_path / "out" / "errors.json").read_text())
    assert len(errors) == 1 and "ArchitectureWeightsError" in errors[0]["error"]
    assert "non-finite" in errors[0]["error"]


def test_run_is_the_strategy_contract_on_a_benchmark(tmp_path) -> None:
    """``run(benchmark, budget)``: the search on the benchmark's protocol and data, its CPU
    seconds charged before the tabulated training of its result, its record kept."""
    from nasbench.search import Benchmark, Budget
    from nasbench.testing import synthetic_table

    table = synthetic_table(tmp_path / "tiny.h5", protocol="tiny")
    strategy = ONE_SHOT_STRATEGIES["rsps"](**SMALL["rsps"], epochs=1)
    assert strategy.run_record() is None
    benchmark = Benchmark(table, seed=0)
    assert benchmark.task.protocol == table.protocol
    assert strategy.run(benchmark, Budget(evaluations=3)) is benchmark
    assert benchmark.evaluations == 1 and benchmark.budget is None, "the budget caps the search only"
    # the same search by hand: the table's protocol and data, seed 0 (the benchmark's), one epoch
    searched = strategy.clone().search_result(OneShotTask.from_table(table, seed=0), ONE_EPOCH)
    assert benchmark.incumbent == searched.arch
    training = Benchmark(table, seed=0).evaluate(searched.arch).cost_seconds
    record = strategy.run_record()
    assert benchmark.sim_seconds == pytest.approx(record["search_seconds"] + training, rel=1e-12)
    assert [row[0] for row in record["epochs"]] == [0] and record["epochs"][0][1] == searched.train_loss[0]
    assert len(record["weights"]) == SPACE.num_edges * SPACE.num_ops
    assert record["weights"][0] == [0, "1<-0", SPACE.ops[0], 1.0 / SPACE.num_ops]
    # seconds cap the search's CPU time; the result is evaluated even past them
    capped = Benchmark(table, seed=0, budget=Budget(seconds=1e6))
    strategy.run(capped)
    assert capped.evaluations == 1 and capped.budget == Budget(seconds=1e6)


def test_a_one_shot_run_needs_a_protocol_and_a_budget(tmp_path) -> None:
    from nasbench.search import Benchmark, Budget
    from nasbench.testing import synthetic_table

    darts = DARTS(epochs=1)
    with pytest.raises(ConfigError, match="budget"):
        darts.run(Benchmark(synthetic_table(tmp_path / "tiny.h5", protocol="tiny"), seed=0))
    synthetic = Benchmark(synthetic_table(tmp_path / "synthetic.h5"), seed=0)
    with pytest.raises(ConfigError, match="cannot be trained by a supernet"):
        darts.run(synthetic, Budget(evaluations=1))
    synthetic.task.protocol = None  # as a surrogate benchmark's task has
    with pytest.raises(ConfigError, match="darts-v1: a one-shot strategy trains on a table's protocol"):
        darts.run(synthetic, Budget(evaluations=1))

    class NoEpochs(OneShotStrategy):
        """A one-shot strategy without an epochs hyperparameter."""

        def search(self, task, budget):
            raise AssertionError("not reached")

    tiny = Benchmark(synthetic_table(tmp_path / "tiny2.h5", protocol="tiny"), seed=0)
    with pytest.raises(ConfigError, match=r"needs a seconds budget \(Budget\(seconds=\.\.\.\)\)"):
        NoEpochs().run(tiny, Budget(evaluations=1))
    assert tiny.evaluations == 0 and tiny.sim_seconds == 0.0

"""The predictor evaluation protocol: metrics, held-out scoring, the seed comparison,
zero-cost scores, and the ``surrogate`` / ``proxies`` commands."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from nasbench.cli.main import main
from nasbench.core.errors import ConfigError, MetricError
from nasbench.core.table import Table
from nasbench.prediction import Surrogate, create_surrogate, get_surrogate_class, register_surrogate
from nasbench.prediction.evaluation import (
    RANKING_METRICS,
    class_targets,
    evaluate_scores,
    evaluate_surrogate,
    noise_comparison,
    ranking_metrics,
)
from nasbench.prediction.registry import surrogate_registry
from nasbench.testing import synthetic_table

FAST_XGB = {"n_estimators": 60, "learning_rate": 0.2}


@pytest.fixture
def scoped_surrogates() -> Iterator[None]:
    """Surrogates registered inside the test are gone after it."""
    with surrogate_registry.scoped():
        yield


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Table:
    return synthetic_table(tmp_path_factory.mktemp("predictors") / "synthetic.h5")


# --------------------------------------------------------------------- metrics
def test_perfect_and_reversed_predictions() -> None:
    truth = np.linspace(50.0, 90.0, 200)
    perfect = ranking_metrics(truth, truth)
    assert perfect["kendall_tau"] == pytest.approx(1.0)
    assert perfect["sparse_kendall_tau"] == pytest.approx(1.0)
    assert perfect["spearman"] == pytest.approx(1.0)
    assert perfect["r2"] == pytest.approx(1.0)
    assert perfect["mae"] == 0.0
    assert perfect["precision_at_10"] == perfect["precision_at_50"] == 1.0
    assert perfect["kendall_tau_top10pct"] == pytest.approx(1.0)
    reversed_ = ranking_metrics(truth, -truth)
    assert reversed_["kendall_tau"] == pytest.approx(-1.0)
    assert reversed_["precision_at_10"] == 0.0
    assert reversed_["r2"] < 0


def test_precision_at_k_counts_the_shared_top_k() -> None:
    truth = np.arange(100, dtype=float)
    pred = truth.copy()
    pred[[99, 98, 97]] = -1.0  # three of the true top 10 fall out of the predicted top 10
    assert ranking_metrics(truth, pred)["precision_at_10"] == pytest.approx(0.7)
    assert ranking_metrics(truth, pred)["precision_at_50"] == pytest.approx(47 / 50)


def test_sparse_kendall_tau_ties_predictions_within_a_tenth_of_a_point() -> None:
    rng = np.random.default_rng(0)
    truth = rng.normal(80.0, 2.0, size=300)
    # Predictions right in rank, but only by hundredths of a point within each tenth.
    jitter = np.round(truth, 1) + (truth - np.round(truth, 1)) * 0.5
    metrics = ranking_metrics(truth, jitter)
    assert metrics["kendall_tau"] == pytest.approx(1.0)
    assert metrics["sparse_kendall_tau"] < 1.0
    assert metrics["sparse_kendall_tau"] == pytest.approx(stats.kendalltau(truth, np.round(jitter, 1))[0])


def test_non_finite_pairs_are_dropped_and_constant_input_is_nan() -> None:
    truth = np.array([1.0, 2.0, np.nan, 4.0, 5.0])
    pred = np.array([1.0, 2.0, 3.0, np.inf, 5.0])
    metrics = ranking_metrics(truth, pred)
    assert metrics["n"] == 3
    assert metrics["kendall_tau"] == pytest.approx(1.0)
    assert math.isnan(metrics["precision_at_10"])  # fewer than 10 points
    assert math.isnan(ranking_metrics(truth, np.ones(5))["spearman"])
    only = ranking_metrics(truth, pred, correlation_only=True)
    assert "r2" not in only and "mae" not in only and "sparse_kendall_tau" not in only
    with pytest.raises(ConfigError, match="differ in length"):
        ranking_metrics(np.ones(3), np.ones(4))


# --------------------------------------------------------------------- protocol
def test_class_targets_use_every_seed_of_finished_classes(tmp_path: Path) -> None:
    broken = synthetic_table(tmp_path / "failed.h5", failed_fraction=0.05)
    targets = class_targets(broken)
    assert targets["left_out"] > 0
    assert targets["indices"].shape[0] + targets["left_out"] == broken.num_unique
    assert np.allclose(targets["mean"], targets["per_seed"].mean(axis=1))
    assert np.array_equal(targets["curves"][:, -1], targets["mean"])


def test_more_training_data_ranks_better_and_runs_reproduce(table: Table) -> None:
    report = evaluate_surrogate(table, "xgb", [30, 600], [0, 1], hyperparameters=FAST_XGB)
    assert [(r["train_size"], r["seed"]) for r in report["rows"]] == [(30, 0), (30, 1), (600, 0), (600, 1)]
    usable = report["classes_usable"]
    assert usable == table.num_unique
    for row in report["rows"]:
        assert row["n_test"] == usable - row["train_size"] == row["n"]
        assert set(RANKING_METRICS) <= set(row)
        assert row["fit_seconds"] > 0 and row["predict_all_ms"] > 0
    small, large = report["summary"]
    assert large["kendall_tau"] > small["kendall_tau"] + 0.05
    assert large["kendall_tau"] > 0.5
    again = evaluate_surrogate(table, "xgb", [30, 600], [0, 1], hyperparameters=FAST_XGB)
    for first, second in zip(report["rows"], again["rows"], strict=True):
        for key in RANKING_METRICS:
            assert first[key] == second[key] or (math.isnan(first[key]) and math.isnan(second[key]))


class _Memoriser(Surrogate):
    """Predicts its training targets for seen classes and a constant elsewhere."""

    def _fit(self, indices: np.ndarray, y: np.ndarray) -> None:
        self.seen_ = dict(zip(indices.tolist(), y.tolist(), strict=True))

    def _predict(self, indices: np.ndarray, return_std: bool) -> tuple[np.ndarray, None]:
        return np.array([self.seen_.get(int(i), 0.0) for i in indices]), None

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {}, {}

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.seen_ = {}


def test_training_classes_are_never_scored(table: Table, scoped_surrogates: None) -> None:
    # Registered for this test only, so registry-wide suites never see it.
    register_surrogate("test-memoriser")(_Memoriser)
    report = evaluate_surrogate(table, "test-memoriser", [100], [0], time_predict_all=False)
    (row,) = report["rows"]
    # Every scored class is unseen, so the memoriser predicts a constant there.
    assert math.isnan(row["kendall_tau"]) and math.isnan(row["spearman"])
    assert "predict_all_ms" not in row


def test_fitting_on_the_first_seed_uses_its_values(table: Table) -> None:
    mean = evaluate_surrogate(table, "xgb", [300], [0], hyperparameters=FAST_XGB, time_predict_all=False)
    first = evaluate_surrogate(
        table, "xgb", [300], [0], hyperparameters=FAST_XGB, train_target="seed0", time_predict_all=False
    )
    assert first["train_target"] == "seed0"
    assert first["rows"][0]["kendall_tau"] != mean["rows"][0]["kendall_tau"]


def test_learning_curve_surrogates_read_the_first_epochs(table: Table) -> None:
    report = evaluate_surrogate(
        table, "lc-extrapolation", [200], [0], hyperparameters={"observed_epochs": 2, "n_estimators": 50}
    )
    assert report["rows"][0]["kendall_tau"] > 0.5
    with pytest.raises(ConfigError, match="final epoch"):
        evaluate_surrogate(table, "lc-extrapolation", [200], [0], hyperparameters={"observed_epochs": 4})


def test_noise_comparison_scores_both_against_the_other_seed(table: Table) -> None:
    result = noise_comparison(table, "xgb", 500, [0], hyperparameters=FAST_XGB)
    (row,) = result["rows"]
    targets = class_targets(table)
    # The first seed's own run, scored directly, over the same held-out classes.
    n_test = int(row["first_seed_vs_other_seed"]["n"])
    assert n_test == targets["indices"].shape[0] - 500
    assert -1.0 <= row["surrogate_vs_other_seed"]["kendall_tau"] <= 1.0
    assert set(result["summary"]) == {
        "surrogate_vs_other_seed",
        "first_seed_vs_other_seed",
        "surrogate_vs_seed_mean",
        "first_seed_vs_seed_mean",
    }
    # The seed mean contains the first seed, so the first seed agrees with it more than
    # with the other seed alone.
    assert row["first_seed_vs_seed_mean"]["kendall_tau"] > row["first_seed_vs_other_seed"]["kendall_tau"]


def test_scores_correlate_over_every_usable_class(table: Table) -> None:
    truth = table.class_metric("val_acc")
    result = evaluate_scores(table, {"truth": truth, "negated": -truth})
    assert result["truth"]["kendall_tau"] == pytest.approx(1.0)
    assert result["negated"]["spearman"] == pytest.approx(-1.0)
    assert result["truth"]["n"] == table.num_unique
    with pytest.raises(ConfigError, match="one value per class"):
        evaluate_scores(table, {"short": truth[:10]})


def test_bad_settings_fail_clearly(table: Table) -> None:
    with pytest.raises(ConfigError, match="leaves fewer than 3"):
        evaluate_surrogate(table, "xgb", [table.num_unique], [0])
    with pytest.raises(ConfigError, match=">= 2"):
        evaluate_surrogate(table, "xgb", [1], [0])
    with pytest.raises(ConfigError, match="did you mean 'xgb'"):
        evaluate_surrogate(table, "xbg", [10], [0])
    with pytest.raises(ConfigError, match="train_target"):
        evaluate_surrogate(table, "xgb", [10], [0], train_target="seed7")
    with pytest.raises(ConfigError, match="kind 'zero-cost'"):
        evaluate_surrogate(table, "zero-cost", [10], [0])
    with pytest.raises(MetricError, match="unknown epoch metric"):
        evaluate_surrogate(table, "xgb", [10], [0], metric="val_accuracy")


def test_one_seed_tables_cannot_answer_the_seed_comparison(tmp_path: Path) -> None:
    single = synthetic_table(tmp_path / "one-seed.h5", seeds=(0,))
    with pytest.raises(MetricError, match="at least two seeds"):
        noise_comparison(single, "xgb", 100, [0])


# --------------------------------------------------------------------- command line
def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_surrogate_eval_command(table: Table, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _cli(
        capsys, "surrogate", "eval", "--table", table.path, "--model", "xgb", "--train-size", "20,200",
        "--seeds", "2", "--param", "n_estimators=40", "--noise-comparison", "--json",
    )  # fmt: skip
    assert code == 0
    report = json.loads(out)
    assert [s["train_size"] for s in report["summary"]] == [20, 200]
    assert report["hyperparameters"] == {"n_estimators": 40}
    assert report["noise_comparison"]["train_size"] == 200
    code, out, _ = _cli(
        capsys, "surrogate", "eval", "--table", table.path, "--model", "xgb", "--train-size", "50"
    )
    assert code == 0 and "kendall_tau" in out and "50" in out


def test_surrogate_commands_report_bad_input_in_one_line(
    table: Table, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _cli(
        capsys, "surrogate", "eval", "--table", table.path, "--model", "xgb", "--param", "depth"
    )
    assert code == 1 and err.count("\n") == 1 and "HYPERPARAMETER=VALUE" in err
    code, _, err = _cli(
        capsys, "surrogate", "eval", "--table", table.path, "--model", "xgb", "--train-size", "a"
    )
    assert code == 1 and "--train-size" in err
    code, _, err = _cli(capsys, "surrogate", "eval", "--table", table.path)
    assert code == 1 and "--model" in err
    code, _, err = _cli(capsys, "surrogate", "eval", "--table", table.path, "--proxies", "synflow")
    assert code == 1 and "nasbench proxies" in err and err.count("\n") == 1
    # A table without a trainable protocol: nothing for a supernet to train on.
    code, _, err = _cli(capsys, "surrogate", "weight-sharing", "--table", table.path, "--epochs", "1")
    assert code == 1 and "protocol" in err and err.count("\n") == 1
    code, _, err = _cli(capsys, "surrogate", "eval", "--table", table.path, "--model", "weight-sharing")
    assert code == 1 and "protocol" in err and err.count("\n") == 1
    code, _, err = _cli(capsys, "surrogate", "weight-sharing", "--table", table.path, "--epochs", "x")
    assert code == 1 and "--epochs" in err


def test_surrogate_list_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _cli(capsys, "surrogate", "list", "--json")
    assert code == 0
    listed = {s["name"]: s for s in json.loads(out)["surrogates"]}
    assert listed["xgb"]["kind"] == "architecture"
    assert listed["zero-cost"]["kind"] == "zero-cost"
    assert listed["lc-extrapolation"]["kind"] == "learning-curve"
    code, _, err = _cli(capsys, "surrogate", "list", "no-such-*")
    assert code == 1 and "no surrogate matches" in err


def test_zero_cost_proxy_is_a_registered_predictor() -> None:
    cls = get_surrogate_class("zero-cost")
    assert cls.kind == "zero-cost"
    with pytest.raises(ConfigError, match="proxy"):
        create_surrogate("zero-cost", proxy="no-such-proxy")


def test_tuning_starts_from_the_defaults_and_ranks_configurations(table: Table) -> None:
    from nasbench.prediction.evaluation import tune_surrogate

    report = tune_surrogate(table, "xgb", configs=3, train_size=200, seeds=[100], seed=4)
    rows = report["rows"]
    assert sorted(row["config"] for row in rows) == [0, 1, 2]
    assert [row["kendall_tau"] for row in rows] == sorted((row["kendall_tau"] for row in rows), reverse=True)
    by_number = {row["config"]: row["hyperparameters"] for row in rows}
    assert by_number[0] == {} and by_number[1] != by_number[2]
    space = get_surrogate_class("xgb").tuning_space
    for number in (1, 2):
        assert set(by_number[number]) == set(space)
        low, high = space["max_depth"][1:]
        assert low <= by_number[number]["max_depth"] <= high
    again = tune_surrogate(table, "xgb", configs=3, train_size=200, seeds=[100], seed=4)

    def measured(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:  # fit seconds vary
        return [(row["config"], row["hyperparameters"], row["kendall_tau"]) for row in rows]

    assert measured(again["rows"]) == measured(rows) and report["best"] == rows[0]
    with pytest.raises(ConfigError, match="no tuning space"):
        tune_surrogate(table, "rf", configs=2)
    with pytest.raises(ConfigError, match="configs"):
        tune_surrogate(table, "xgb", configs=0)

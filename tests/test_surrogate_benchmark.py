"""Surrogate-backed benchmarks: fitting with stated hold-out quality, noise on and off,
the benchmark's rules, strategies running on it, and safe storage."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nasbench.bench.benchmark import Budget
from nasbench.core.errors import ConfigError, MetricError, TableError
from nasbench.core.table import Table
from nasbench.nets.models import get_model_config
from nasbench.prediction.surrogate_benchmark import (
    SurrogateBenchmark,
    SurrogateModel,
    fit_surrogate_model,
    load_surrogate_model,
)
from nasbench.search.strategy import create_strategy, run_strategy
from nasbench.testing import synthetic_table

ENSEMBLE = {"n_members": 3, "base_params": {"n_estimators": 40, "learning_rate": 0.2}}


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Table:
    return synthetic_table(tmp_path_factory.mktemp("surrogate-benchmark") / "synthetic.h5")


@pytest.fixture(scope="module")
def model(table: Table) -> SurrogateModel:
    return fit_surrogate_model(table, "ensemble", hyperparameters=ENSEMBLE, seed=0)


def test_fit_states_its_hold_out_quality(model: SurrogateModel, table: Table) -> None:
    quality = model.quality
    assert quality["holdout_classes"] + quality["train_classes"] == table.num_unique
    assert quality["val_acc_final"]["kendall_tau"] > 0.5
    assert quality["run_seconds"]["spearman"] > 0.5
    assert set(model.surrogates) == {
        "val_acc_0",
        "val_acc_1",
        "val_acc_2",
        "val_acc_3",
        "test_acc",
        "run_seconds",
    }
    assert model.has_std


def test_noise_off_answers_the_model_mean(model: SurrogateModel) -> None:
    benchmark = SurrogateBenchmark(model, seed=3, noise=False)
    _, class_row = model.classes()
    predictions = model.predictions()
    arch = 1234
    klass = class_row[arch]
    first = benchmark.evaluate(arch, epochs=2)
    assert first.val_acc == pytest.approx(np.clip(predictions["val_acc_1"][0][klass], 0, 100))
    assert np.isnan(first.val_loss) and np.isnan(first.train_acc)
    full = benchmark.evaluate(arch)
    # Continuing to the last epoch pays only epochs 3 and 4: all training once, plus the
    # two evaluations asked for (a run's seconds split into training and one evaluation).
    run_seconds = max(predictions["run_seconds"][0][klass], 0.0)
    eval_seconds = run_seconds * model.eval_fraction
    assert first.cost_seconds + full.cost_seconds == pytest.approx(
        run_seconds * (1 - model.eval_fraction) + 2 * eval_seconds, rel=1e-9
    )
    # A full run from scratch costs the predicted run seconds, as on a table.
    fresh = SurrogateBenchmark(model, seed=3, noise=False).evaluate(arch)
    assert fresh.cost_seconds == pytest.approx(run_seconds, rel=1e-9)
    assert benchmark.test_acc(arch) == pytest.approx(predictions["test_acc"][0][klass])
    other = SurrogateBenchmark(model, seed=4, noise=False)
    assert other.evaluate(arch).val_acc == full.val_acc


def test_the_clock_charges_what_the_tabular_benchmark_charges(model: SurrogateModel, table: Table) -> None:
    """The run-seconds target is a full run's cost (training plus the final evaluation),
    and eval_fraction the final evaluation's share of it, over the measured runs."""
    from nasbench.core.cost import full_run_seconds
    from nasbench.prediction.surrogate_benchmark import _targets, _usable

    _, rows = _usable(table)
    run = full_run_seconds(table)[rows]
    np.testing.assert_allclose(_targets(table, rows)["run_seconds"], run.mean(axis=1))
    final_eval = table.raw("eval_seconds")[rows, :, -1].astype(np.float64)
    assert model.eval_fraction == pytest.approx(final_eval.sum() / run.sum(), rel=1e-12)
    # The synthetic table evaluates in 0.2 of an epoch's training: one evaluation per run.
    assert model.eval_fraction == pytest.approx(0.2 / (table.num_epochs + 0.2), rel=0.05)


def test_noise_on_is_one_seeded_draw_per_class(model: SurrogateModel) -> None:
    runs = [SurrogateBenchmark(model, seed=s, noise=True) for s in (0, 0, 1)]
    arch = 777
    values = [[b.evaluate(arch, epochs=e).val_acc for e in (1, 2, 3, 4)] for b in runs]
    assert values[0] == values[1]
    assert values[0] != values[2]
    _, class_row = model.classes()
    predictions = model.predictions()
    klass = class_row[arch]
    z = [
        (values[0][e] - predictions[f"val_acc_{e}"][0][klass]) / predictions[f"val_acc_{e}"][1][klass]
        for e in range(4)
    ]
    assert np.allclose(z, z[0])  # the same draw at every epoch: a curve stays a curve
    # Test accuracy never carries noise.
    assert runs[0].test_acc(arch) == runs[2].test_acc(arch)


def test_noise_needs_a_spread(table: Table) -> None:
    plain = fit_surrogate_model(table, "xgb", hyperparameters={"n_estimators": 30})
    assert not plain.has_std
    SurrogateBenchmark(plain, noise=False)
    with pytest.raises(ConfigError, match="spread"):
        SurrogateBenchmark(plain, noise=True)
    with pytest.raises(ConfigError, match="True or False"):
        SurrogateBenchmark(plain, noise="yes")  # type: ignore[arg-type]


def test_strategies_run_on_it_within_budget(model: SurrogateModel) -> None:
    budget = Budget(evaluations=60)
    benchmark = run_strategy(
        create_strategy("re", seed=1), SurrogateBenchmark(model, seed=1), seed=1, budget=budget
    )
    trajectory = benchmark.trajectory()
    assert trajectory["evaluation"].shape[0] == 60
    assert np.all(np.diff(trajectory["incumbent_val_acc"]) >= 0)
    again = run_strategy(
        create_strategy("re", seed=1), SurrogateBenchmark(model, seed=1), seed=1, budget=budget
    )
    assert np.array_equal(trajectory["index"], again.trajectory()["index"])
    with pytest.raises(MetricError, match="params_m"):  # the synthetic table has no macro skeleton
        SurrogateBenchmark(model, seed=1).with_constraint("params_m<=0.05")
    costed = SurrogateModel(
        model.space,
        model.num_epochs,
        model.surrogates,
        model=model.model,
        source=model.source,
        quality=model.quality,
        macro=get_model_config("tiny").to_dict(),
        eval_fraction=model.eval_fraction,
    )
    free = SurrogateBenchmark(costed, seed=1)
    params_m = free.task.values("params_m")
    test = np.array([free.test_acc(i) for i in range(free.space.size)])
    limit = float(params_m[int(np.argmax(test))]) - 1e-6  # rules out the best architecture
    constrained = free.with_constraint(f"params_m<={limit}")
    assert isinstance(constrained, SurrogateBenchmark)
    assert constrained.best_test_acc < free.best_test_acc
    best = create_strategy("re", seed=0).run(constrained, budget)
    assert params_m[best.incumbent_index] <= limit


def test_saved_model_round_trips_and_detects_changes(model: SurrogateModel, tmp_path: Path) -> None:
    folder = model.save(tmp_path / "model")
    loaded = load_surrogate_model(folder)
    assert loaded.checksum == model.checksum
    assert loaded.quality == json.loads(json.dumps(model.quality))
    for name, (mean, _) in model.predictions().items():
        assert np.array_equal(loaded.predictions()[name][0], mean)
    a = SurrogateBenchmark(folder, seed=2, noise=True).evaluate(99).val_acc
    assert a == SurrogateBenchmark(model, seed=2, noise=True).evaluate(99).val_acc
    with pytest.raises(ConfigError, match="not empty"):
        model.save(folder)
    manifest = json.loads((folder / "model.json").read_text())
    manifest["num_epochs"] = 3
    (folder / "model.json").write_text(json.dumps(manifest))
    with pytest.raises(TableError, match="checksum"):
        load_surrogate_model(folder)
    with pytest.raises(TableError, match="not a surrogate benchmark"):
        load_surrogate_model(tmp_path)
    manifest["version"] = 1  # charged per-epoch evaluations: refused, not misread
    (folder / "model.json").write_text(json.dumps(manifest))
    with pytest.raises(TableError, match="version 1 is not supported"):
        load_surrogate_model(folder)


def test_bad_fits_fail_clearly(table: Table) -> None:
    with pytest.raises(ConfigError, match="architecture surrogate"):
        fit_surrogate_model(table, "lc-extrapolation")
    with pytest.raises(ConfigError, match="holdout"):
        fit_surrogate_model(table, "xgb", holdout_fraction=1.0)


def test_compare_runs_strategies_on_a_saved_model(model: SurrogateModel, tmp_path: Path) -> None:
    from nasbench.search.runner import compare

    folder = model.save(tmp_path / "nb201-surrogate")
    budget = Budget(evaluations=25)
    compare([folder], ["rs", "re"], 2, budget, tmp_path / "off", progress=False)
    compare([folder], ["rs", "re"], 2, budget, tmp_path / "again", progress=False)
    compare([folder], ["rs", "re"], 2, budget, tmp_path / "noisy", progress=False, surrogate_noise=True)
    config = json.loads((tmp_path / "off" / "config.json").read_text())
    (entry,) = config["tables"]
    assert entry["checksum"] == model.checksum and entry["surrogate_noise"] is False
    assert entry["surrogate_quality"]["val_acc_final"]["kendall_tau"] > 0.5
    for name in ("runs.csv", "trajectories.csv"):
        assert (tmp_path / "off" / name).read_bytes() == (tmp_path / "again" / name).read_bytes()
    assert (tmp_path / "off" / "trajectories.csv").read_text() != (
        tmp_path / "noisy" / "trajectories.csv"
    ).read_text()
    runs = (tmp_path / "off" / "runs.csv").read_text()
    assert runs.count("\n") == 5 and ",ok," in runs


def test_saving_is_atomic_and_replaces_only_a_saved_model(
    model: SurrogateModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before, a full disk left a partial model directory, and overwrite wrote into any directory."""
    import errno

    from nasbench.prediction import artifacts

    out = tmp_path / "model"
    model.save(out)
    before = {entry.name: entry.read_bytes() for entry in out.iterdir()}
    calls = {"n": 0}
    real = artifacts._write_synced

    def full_disk(path: Path, data: bytes) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, data)

    monkeypatch.setattr(artifacts, "_write_synced", full_disk)
    with pytest.raises(ConfigError, match="No space left"):
        model.save(out, overwrite=True)
    monkeypatch.undo()
    assert {entry.name: entry.read_bytes() for entry in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    (out / "notes.md").write_text("mine")
    with pytest.raises(ConfigError, match="notes"):
        model.save(out, overwrite=True)
    assert (out / "notes.md").read_text() == "mine"

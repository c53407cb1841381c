"""Tests of :mod:`nasbench.generation.fidelity`: Spearman-Brown, the report on hand-made tables, the
resumable ``run_fidelity`` on the tiny protocol and the ``fidelity`` subcommand."""

from __future__ import annotations

import functools
import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nasbench.cli.main import main
from nasbench.core.errors import ConfigError, MetricError, NasbenchError
from nasbench.core.space import CellSpace, get_space
from nasbench.core.table import (
    STATUS_DONE,
    STATUS_FAILED,
    STATUS_PENDING,
    TableWriter,
    open_table,
    validate_table,
)
from nasbench.generation.fidelity import fidelity_report, run_fidelity, seed_mean_spearman
from nasbench.nets.train import Protocol, get_protocol

CREATED = "2024-05-01T12:00:00+00:00"
NUM_EPOCHS = 3
# Final val accuracy of five classes on seed 0, in increasing order.
FINAL = np.array([10.0, 20.0, 40.0, 75.0, 90.0])  # unevenly spaced: Pearson != Spearman
SWAPPED = np.array([10.0, 40.0, 20.0, 75.0, 90.0])  # classes 1 and 2 swapped
REPORT_KEYS = {
    "metric",
    "archs",
    "seeds",
    "epochs",
    "spearman",
    "kendall_tau",
    "mean_abs_seed_difference_pct",
    "between_arch_sd_pct",
    "final_mean_pct",
    "epoch_spearman_to_final",
    "core_seconds_per_run",
    "table_core_hours",
    "seed_mean_spearman_estimate",
    "protocol",
}


# --------------------------------------------------------------------- helpers
@functools.cache
def _representatives() -> np.ndarray:
    """Class representatives of the full NAS-Bench-201 space, ascending."""
    return np.unique(CellSpace().canonical_indices())


def falling(final: np.ndarray) -> np.ndarray:
    """A decreasing, non-linear function of ``final`` (Spearman -1, Pearson > -1)."""
    return 100.0 - final**2 / 100.0


def rising(final: np.ndarray) -> np.ndarray:
    """An increasing, non-linear function of ``final`` (Spearman 1, Pearson < 1)."""
    return final**2 / 100.0


def curves(final: np.ndarray) -> np.ndarray:
    """[U, S, 3] val accuracy ending at ``final`` [U, S]: epoch 0 ranks the classes in the
    reverse order of the final epoch (per seed), epoch 1 in the same order."""
    final = np.asarray(final, dtype=np.float64)
    return np.stack([falling(final), rising(final), final], axis=2)


def seconds_blocks(num_classes: int, num_seeds: int) -> tuple[np.ndarray, np.ndarray]:
    """train_seconds[u, s, e] = e + 1 + u and eval_seconds[u, s, e] = 0.5 * (s + 1)."""
    train = np.zeros((num_classes, num_seeds, NUM_EPOCHS))
    train += np.arange(1, NUM_EPOCHS + 1)[None, None, :]
    train += np.arange(num_classes)[:, None, None]
    evals = np.zeros((num_classes, num_seeds, NUM_EPOCHS))
    evals += 0.5 * (np.arange(num_seeds)[None, :, None] + 1)
    return train, evals


def write_table(
    path: Path,
    val_acc: np.ndarray,
    *,
    seeds: tuple[int, ...] = (0, 1),
    status: np.ndarray | None = None,
    train_seconds: np.ndarray | None = None,
    eval_seconds: np.ndarray | None = None,
) -> Path:
    """A table of the first U classes of nb201 holding ``val_acc`` [U, S, E] and timings."""
    num_classes = val_acc.shape[0]
    indices = _representatives()[:num_classes]
    writer = TableWriter.create(
        path,
        space=CellSpace(),
        model={"preset": "tiny"},
        dataset={"name": "synthetic"},
        protocol={"epochs": NUM_EPOCHS, "seeds": list(seeds)},
        seeds=seeds,
        num_epochs=NUM_EPOCHS,
        params=np.full(num_classes, 1000),
        flops=np.full(num_classes, 20000),
        indices=indices,
        created=CREATED,
    )
    with writer:
        assert np.array_equal(writer.unique, indices)
        if status is None:
            status = np.full(val_acc.shape[:2], STATUS_DONE, dtype=np.int8)
        default_train, default_eval = seconds_blocks(num_classes, len(seeds))
        writer.write_metric_block("val_acc", val_acc, status)
        writer.write_metric_block("train_seconds", default_train if train_seconds is None else train_seconds)
        writer.write_metric_block("eval_seconds", default_eval if eval_seconds is None else eval_seconds)
    return path


def report_for(path: Path, final: np.ndarray, **kwargs: Any) -> dict[str, Any]:
    return fidelity_report(open_table(write_table(path, curves(final), **kwargs)))


def strict_json(text: str) -> Any:
    """json.loads that refuses NaN and Infinity (not JSON)."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def tiny_protocol() -> Protocol:
    return get_protocol("tiny").replace(epochs=2)


# --------------------------------------------------------------------- seed_mean_spearman
@pytest.mark.parametrize(
    ("rho", "seeds", "expected"),
    [
        (0.5, 2, 2.0 / 3.0),
        (0.5, 3, 0.75),
        (0.3, 1, 0.3),
        (0.8, 1, 0.8),
        (1.0, 2, 1.0),
        (1.0, 5, 1.0),
        (0.0, 4, 0.0),
    ],
)
def test_seed_mean_spearman_is_spearman_brown(rho: float, seeds: int, expected: float) -> None:
    assert seed_mean_spearman(rho, seeds) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("seeds", [0, -1])
def test_seed_mean_spearman_needs_a_seed(seeds: int) -> None:
    with pytest.raises(ConfigError, match="seeds"):
        seed_mean_spearman(0.5, seeds)


# --------------------------------------------------------------------- fidelity_report
def test_report_identical_seeds_agree_perfectly(tmp_path: Path) -> None:
    report = report_for(tmp_path / "same.h5", np.stack([FINAL, FINAL], axis=1))
    assert set(report) == REPORT_KEYS
    assert report["metric"] == "val_acc"
    assert report["archs"] == 5
    assert report["seeds"] == [0, 1]
    assert report["epochs"] == NUM_EPOCHS
    assert report["spearman"] == pytest.approx(1.0)
    assert report["kendall_tau"] == pytest.approx(1.0)
    assert report["mean_abs_seed_difference_pct"] == 0.0
    assert report["final_mean_pct"] == pytest.approx(47.0)
    assert report["between_arch_sd_pct"] == pytest.approx(np.std(FINAL, ddof=1))
    assert report["seed_mean_spearman_estimate"] == pytest.approx(1.0)
    assert report["protocol"] == {"epochs": NUM_EPOCHS, "seeds": [0, 1]}


def test_report_reversed_ranking(tmp_path: Path) -> None:
    report = report_for(tmp_path / "reversed.h5", np.stack([FINAL, FINAL[::-1]], axis=1))
    assert report["spearman"] == pytest.approx(-1.0)
    assert report["kendall_tau"] == pytest.approx(-1.0)
    assert report["mean_abs_seed_difference_pct"] == pytest.approx(54.0)  # |80|, |55|, 0, |55|, |80|
    assert report["final_mean_pct"] == pytest.approx(47.0)
    # Seed means 50, 47.5, 40, 47.5, 50: squared deviations from 47 sum to 67.5.
    assert report["between_arch_sd_pct"] == pytest.approx(math.sqrt(67.5 / 4.0))
    # Spearman-Brown is not applied to a negative agreement.
    assert report["seed_mean_spearman_estimate"] == pytest.approx(-1.0)


def test_report_one_swapped_pair(tmp_path: Path) -> None:
    report = report_for(tmp_path / "swap.h5", np.stack([FINAL, SWAPPED], axis=1))
    # Spearman: 1 - 6 * sum(d^2) / (n (n^2 - 1)) = 1 - 6 * 2 / (5 * 24); Kendall: (9 - 1) / 10.
    assert report["spearman"] == pytest.approx(0.9)
    assert report["kendall_tau"] == pytest.approx(0.8)
    assert report["mean_abs_seed_difference_pct"] == pytest.approx(8.0)
    assert report["final_mean_pct"] == pytest.approx(47.0)
    # Seed means 10, 30, 30, 75, 90 (mean 47): squared deviations 4580 over 4.
    assert report["between_arch_sd_pct"] == pytest.approx(math.sqrt(4580.0 / 4.0))
    assert report["seed_mean_spearman_estimate"] == pytest.approx(2 * 0.9 / 1.9)
    assert report["seed_mean_spearman_estimate"] == pytest.approx(seed_mean_spearman(0.9, 2))


def test_report_epoch_spearman_to_final(tmp_path: Path) -> None:
    report = report_for(tmp_path / "epochs.h5", np.stack([FINAL, SWAPPED], axis=1))
    values = report["epoch_spearman_to_final"]
    assert len(values) == NUM_EPOCHS
    assert values == pytest.approx([-1.0, 1.0, 1.0])
    assert values[-1] == pytest.approx(1.0)


def test_report_epoch_spearman_averages_over_seeds(tmp_path: Path) -> None:
    final = np.stack([FINAL, FINAL], axis=1)
    val_acc = curves(final)
    val_acc[:, 1, 1] = falling(final[:, 1])  # seed 1: epoch 1 reversed too (-1); seed 0: +1
    report = fidelity_report(open_table(write_table(tmp_path / "mixed.h5", val_acc)))
    assert report["epoch_spearman_to_final"] == pytest.approx([-1.0, 0.0, 1.0])


def test_report_core_seconds(tmp_path: Path) -> None:
    report = report_for(tmp_path / "seconds.h5", np.stack([FINAL, FINAL], axis=1))
    # Per run: sum of train (6 + 3u) plus eval (1.5 on seed 0, 3.0 on seed 1); mean u = 2.
    assert report["core_seconds_per_run"] == pytest.approx(14.25)
    assert report["table_core_hours"] == pytest.approx(14.25 * 5 * 2 / 3600.0)


def test_report_core_seconds_ignores_unwritten_epochs(tmp_path: Path) -> None:
    train, evals = seconds_blocks(5, 2)
    train[:, :, 1] = np.nan  # one epoch's timings missing: counted as 0
    report = report_for(
        tmp_path / "gaps.h5", np.stack([FINAL, FINAL], axis=1), train_seconds=train, eval_seconds=evals
    )
    # Mean of the epoch-1 train seconds (2 + u, mean 4) drops out.
    assert report["core_seconds_per_run"] == pytest.approx(14.25 - 4.0)


def test_report_excludes_classes_not_measured_with_every_seed(tmp_path: Path) -> None:
    final = np.concatenate(
        [
            np.stack([FINAL, SWAPPED], axis=1),
            # 5: seed 1 pending; 6: seed 1 failed (values kept); 7: seed 1 "done" without a final value
            np.array([[99.0, 1.0], [1.0, 99.0], [99.0, 1.0]]),
        ]
    )
    val_acc = curves(final)
    val_acc[5, 1, :] = np.nan
    val_acc[7, 1, -1] = np.nan
    status = np.full((8, 2), STATUS_DONE, dtype=np.int8)
    status[5, 1] = STATUS_PENDING
    status[6, 1] = STATUS_FAILED
    train, evals = seconds_blocks(8, 2)
    train[5:] = 1000.0
    path = write_table(
        tmp_path / "partial.h5", val_acc, status=status, train_seconds=train, eval_seconds=evals
    )
    table = open_table(path)
    assert table.num_unique == 8
    report = fidelity_report(table)
    assert report["archs"] == 5
    assert report["spearman"] == pytest.approx(0.9)
    assert report["kendall_tau"] == pytest.approx(0.8)
    assert report["mean_abs_seed_difference_pct"] == pytest.approx(8.0)
    assert report["final_mean_pct"] == pytest.approx(47.0)
    assert report["epoch_spearman_to_final"] == pytest.approx([-1.0, 1.0, 1.0])
    assert report["core_seconds_per_run"] == pytest.approx(14.25)
    # The whole table: every class of it, not only the measured ones.
    assert report["table_core_hours"] == pytest.approx(14.25 * 8 * 2 / 3600.0)


def test_report_three_seeds_averages_seed_pairs(tmp_path: Path) -> None:
    final = np.stack([FINAL, FINAL, FINAL[::-1]], axis=1)
    train, evals = seconds_blocks(5, 3)
    report = report_for(
        tmp_path / "three.h5", final, seeds=(0, 1, 2), train_seconds=train, eval_seconds=evals
    )
    assert report["seeds"] == [0, 1, 2]
    # Pairs (0, 1) = 1, (0, 2) = -1, (1, 2) = -1.
    assert report["spearman"] == pytest.approx(-1.0 / 3.0)
    assert report["kendall_tau"] == pytest.approx(-1.0 / 3.0)
    assert report["mean_abs_seed_difference_pct"] == pytest.approx(2.0 / 3.0 * 54.0)
    assert report["seed_mean_spearman_estimate"] == pytest.approx(-1.0 / 3.0)
    # Eval sums 1.5, 3.0, 4.5 per seed: mean 3.0, plus mean train 12.
    assert report["core_seconds_per_run"] == pytest.approx(15.0)
    assert report["table_core_hours"] == pytest.approx(15.0 * 5 * 3 / 3600.0)


def test_report_three_seeds_positive_uses_spearman_brown(tmp_path: Path) -> None:
    final = np.stack([FINAL, FINAL, SWAPPED], axis=1)
    train, evals = seconds_blocks(5, 3)
    report = report_for(
        tmp_path / "three.h5", final, seeds=(0, 1, 2), train_seconds=train, eval_seconds=evals
    )
    assert report["spearman"] == pytest.approx((1.0 + 0.9 + 0.9) / 3.0)
    assert report["seed_mean_spearman_estimate"] == pytest.approx(seed_mean_spearman(2.8 / 3.0, 3))


def test_report_three_complete_classes_is_enough(tmp_path: Path) -> None:
    final = np.stack([FINAL, FINAL], axis=1)
    status = np.full((5, 2), STATUS_DONE, dtype=np.int8)
    status[3:, 1] = STATUS_PENDING
    val_acc = curves(final)
    val_acc[3:, 1, :] = np.nan
    report = fidelity_report(open_table(write_table(tmp_path / "three.h5", val_acc, status=status)))
    assert report["archs"] == 3


def test_report_needs_two_seeds(tmp_path: Path) -> None:
    path = write_table(tmp_path / "one-seed.h5", curves(FINAL[:, None]), seeds=(0,))
    with pytest.raises(MetricError, match="two seeds"):
        fidelity_report(open_table(path))


def test_report_needs_three_complete_classes(tmp_path: Path) -> None:
    final = np.stack([FINAL, FINAL], axis=1)
    status = np.full((5, 2), STATUS_DONE, dtype=np.int8)
    status[2:, 1] = STATUS_PENDING
    val_acc = curves(final)
    val_acc[2:, 1, :] = np.nan
    path = write_table(tmp_path / "two.h5", val_acc, status=status)
    with pytest.raises(MetricError, match="3 classes"):
        fidelity_report(open_table(path))


# --------------------------------------------------------------------- run_fidelity
@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """run_fidelity on the tiny protocol, 2 epochs, 4 classes, in this process."""
    out = tmp_path_factory.mktemp("fidelity") / "tiny.h5"
    report = run_fidelity(out, tiny_protocol(), archs=4, workers=0, progress=False)
    return out, report


def test_run_fidelity_report(tiny_run: tuple[Path, dict[str, Any]]) -> None:
    out, report = tiny_run
    assert set(report) == REPORT_KEYS
    assert report["archs"] == 4
    assert report["seeds"] == [0, 1]
    assert report["epochs"] == 2
    assert report["metric"] == "val_acc"
    assert report["protocol"] == tiny_protocol().to_dict()
    for key in (
        "spearman",
        "kendall_tau",
        "mean_abs_seed_difference_pct",
        "between_arch_sd_pct",
        "final_mean_pct",
        "core_seconds_per_run",
        "table_core_hours",
        "seed_mean_spearman_estimate",
    ):
        assert isinstance(report[key], float), key
        assert math.isfinite(report[key]), key
    assert -1.0 <= report["spearman"] <= 1.0
    assert -1.0 <= report["kendall_tau"] <= 1.0
    assert 0.0 <= report["final_mean_pct"] <= 100.0
    assert report["core_seconds_per_run"] > 0
    assert len(report["epoch_spearman_to_final"]) == 2
    assert all(math.isfinite(v) for v in report["epoch_spearman_to_final"])
    assert report["epoch_spearman_to_final"][-1] == pytest.approx(1.0)
    table = open_table(out)
    assert int(np.sum(np.all(table.run_status == STATUS_DONE, axis=1))) == 4
    assert report["table_core_hours"] == pytest.approx(
        report["core_seconds_per_run"] * table.num_unique * 2 / 3600.0
    )
    recomputed = fidelity_report(table)
    assert recomputed == report


def test_run_fidelity_writes_json(tiny_run: tuple[Path, dict[str, Any]]) -> None:
    out, report = tiny_run
    target = out.with_name(out.name + ".json")
    assert target.is_file()
    data = strict_json(target.read_text())
    assert data["spearman"] == report["spearman"]
    assert data == report


def test_run_fidelity_writes_table_attribute(tiny_run: tuple[Path, dict[str, Any]]) -> None:
    out, report = tiny_run
    table = open_table(out)
    assert table.fidelity is not None
    assert table.fidelity["spearman"] == report["spearman"]
    assert table.fidelity == {k: v for k, v in report.items() if k != "protocol"}
    assert validate_table(out) == []  # the checksum was sealed after the attribute


def test_run_fidelity_resume_is_a_no_op(tiny_run: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    source, report = tiny_run
    out = tmp_path / "resume.h5"
    shutil.copyfile(source, out)
    before = open_table(out)
    again = run_fidelity(out, tiny_protocol(), archs=4, workers=0, progress=False)
    assert again == report
    after = open_table(out)
    for name in ("val_acc", "train_seconds", "eval_seconds"):
        np.testing.assert_array_equal(after.raw(name), before.raw(name))
    np.testing.assert_array_equal(after.run_status, before.run_status)
    assert after.fidelity == {k: v for k, v in report.items() if k != "protocol"}


def test_run_fidelity_reports_only_the_requested_sample(
    tiny_run: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    source, _ = tiny_run
    out = tmp_path / "smaller.h5"
    shutil.copyfile(source, out)  # the first 3 classes are the first 3 of the 4 already trained
    report = run_fidelity(out, tiny_protocol(), archs=3, workers=0, progress=False)
    assert report["archs"] == 3


@pytest.mark.parametrize("archs", [2, 0, -1])
def test_run_fidelity_needs_three_archs(tmp_path: Path, archs: int) -> None:
    out = tmp_path / "few.h5"
    with pytest.raises(ConfigError, match=f"run_fidelity: archs must be >= 3, got {archs}"):
        run_fidelity(out, tiny_protocol(), archs=archs, workers=0, progress=False)
    assert not out.exists()


def test_run_fidelity_needs_two_seeds(tmp_path: Path) -> None:
    out = tmp_path / "one-seed.h5"
    with pytest.raises(ConfigError, match="two seeds"):
        run_fidelity(out, tiny_protocol().replace(seeds=(0,)), archs=4, workers=0, progress=False)
    assert not out.exists()


def test_run_fidelity_unknown_preset(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown preset"):
        run_fidelity(tmp_path / "x.h5", "no-such-preset", archs=4, workers=0, progress=False)


# --------------------------------------------------------------------- CLI
def test_cli_fidelity_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cli.h5"
    argv = ["fidelity", "--preset", "tiny", "--epochs", "2", "--archs", "3", "--workers", "0"]
    code = main([*argv, "--quiet", "--out", str(path), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    data = strict_json(captured.out)
    assert set(data) == REPORT_KEYS
    assert data["archs"] == 3
    assert data["epochs"] == 2
    assert data["seeds"] == [0, 1]
    assert math.isfinite(data["spearman"])
    assert data["protocol"] == tiny_protocol().to_dict()
    assert strict_json(path.with_name(path.name + ".json").read_text()) == data
    assert open_table(path).fidelity["spearman"] == data["spearman"]


def test_cli_fidelity_text_resumes(
    tiny_run: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, report = tiny_run
    path = tmp_path / "text.h5"
    shutil.copyfile(source, path)
    argv = ["fidelity", "--epochs", "2", "--archs", "4", "--workers", "0", "--quiet", "--out", str(path)]
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    lines = captured.out.splitlines()
    assert len(lines) == 4
    assert lines[0] == f"{path}: 4 architectures x seeds [0, 1], 2 epochs"
    assert f"Spearman {report['spearman']:.3f}" in lines[1]
    assert f"Kendall tau {report['kendall_tau']:.3f}" in lines[1]
    assert lines[2].endswith(" ".join(f"{v:.2f}" for v in report["epoch_spearman_to_final"]))
    assert f"{report['core_seconds_per_run']:.2f} core-seconds" in lines[3]


def test_cli_fidelity_bad_setting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.h5"
    code = main(["fidelity", "--out", str(path), "--archs", "3", "--workers", "0", "--set", "foo=1"])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    assert captured.err.startswith("nasbench: ")
    assert captured.err.endswith("\n")
    assert captured.err.count("\n") == 1
    assert "foo" in captured.err
    assert not path.exists()


def test_run_fidelity_on_another_space(tmp_path: Path) -> None:
    """A sample of a larger space is measured in that space; resuming it as NB201 is refused."""
    out = tmp_path / "seven-ops.h5"
    report = run_fidelity(out, tiny_protocol(), space="nb201-7op", archs=3, workers=0, progress=False)
    table = open_table(out)
    assert table.space.ops == get_space("nb201-7op").ops and table.space.size == 7**6
    assert report["archs"] == 3 and table.fidelity["archs"] == 3
    assert int((table.run_status == 1).sum()) == 3 * 2
    with pytest.raises(NasbenchError, match="space"):
        run_fidelity(out, tiny_protocol(), archs=3, workers=0, progress=False)

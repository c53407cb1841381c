"""External validity in fidelity reports: the sample's seed mean judged against reference
tables (``fidelity --against``), and the frontier's external columns."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from nasbench.cli.main import main
from nasbench.core.errors import TableError
from nasbench.core.space import CellSpace
from nasbench.core.table import STATUS_DONE, TableWriter, open_table
from nasbench.generation.fidelity import external_report, run_fidelity, seed_mean_spearman
from nasbench.nets.train import get_protocol
from nasbench.reporting.frontier import frontier_markdown
from nasbench.reporting.markdown import MISSING

FINAL = np.array([10.0, 20.0, 40.0, 75.0, 90.0])
SWAPPED = np.array([10.0, 40.0, 20.0, 75.0, 90.0])
CREATED = "2024-05-01T12:00:00+00:00"


def _representatives(count: int) -> np.ndarray:
    return np.unique(CellSpace().canonical_indices())[:count]


def write_test_acc(path: Path, test_acc: np.ndarray, *, dataset: str = "synthetic") -> Path:
    """A table of the first U classes of nb201 whose final test accuracy is ``test_acc`` [U, S]."""
    count, seeds = test_acc.shape
    indices = _representatives(count)
    writer = TableWriter.create(
        path,
        space=CellSpace(),
        model={"preset": "tiny"},
        dataset={"name": dataset},
        protocol={"epochs": 1},
        seeds=tuple(range(seeds)),
        num_epochs=1,
        params=np.full(count, 1000),
        flops=np.full(count, 20000),
        indices=indices,
        created=CREATED,
    )
    with writer:
        status = np.full((count, seeds), STATUS_DONE, dtype=np.int8)
        writer.write_metric_block("test_acc", test_acc[:, :, None].astype(np.float64), status)
    return path


def test_identical_ranking_agrees_perfectly(tmp_path: Path) -> None:
    table = open_table(write_test_acc(tmp_path / "t.h5", np.stack([FINAL, FINAL], axis=1)))
    reference = open_table(write_test_acc(tmp_path / "ref.h5", FINAL[:, None] / 2, dataset="cifar10"))
    report = external_report(table, reference)
    assert report["reference"] == "ref.h5" and report["reference_dataset"] == "cifar10"
    assert report["per_class"] == {
        "n": 5,
        "spearman": pytest.approx(1.0),
        "kendall_tau": pytest.approx(1.0),
        "top_1pct_overlap": pytest.approx(100.0),
        "top_5pct_overlap": pytest.approx(100.0),
    }
    assert report["test_seed_spearman"] == pytest.approx(1.0)
    assert report["per_class_spearman_noiseless"] == pytest.approx(1.0)


def test_reversed_reference_disagrees(tmp_path: Path) -> None:
    table = open_table(write_test_acc(tmp_path / "t.h5", np.stack([FINAL, FINAL], axis=1)))
    reference = open_table(write_test_acc(tmp_path / "ref.h5", FINAL[::-1, None]))
    report = external_report(table, reference)
    assert report["per_class"]["spearman"] == pytest.approx(-1.0)
    assert report["per_class"]["top_5pct_overlap"] == 0.0  # k = 1: the best differs


def test_seed_noise_is_corrected_for(tmp_path: Path) -> None:
    """Seeds disagree on one pair (Spearman 0.9): the seed mean ties them; the 'many seeds'
    figure divides by the square root of the seed mean's Spearman-Brown reliability."""
    table = open_table(write_test_acc(tmp_path / "t.h5", np.stack([FINAL, SWAPPED], axis=1)))
    reference = open_table(write_test_acc(tmp_path / "ref.h5", FINAL[:, None]))
    report = external_report(table, reference)
    # Seed mean 10, 30, 30, 75, 90 (ranks 1, 2.5, 2.5, 4, 5) against ranks 1..5: 9.5 / sqrt(9.5 * 10).
    rho = 9.5 / math.sqrt(95.0)
    assert report["per_class"]["spearman"] == pytest.approx(rho)
    assert report["test_seed_spearman"] == pytest.approx(0.9)
    reliability = seed_mean_spearman(0.9, 2)
    assert report["test_seed_mean_reliability"] == pytest.approx(reliability)
    assert report["per_class_spearman_noiseless"] == pytest.approx(rho / math.sqrt(reliability))


def test_only_the_sample_is_judged(tmp_path: Path) -> None:
    """Classes outside the sample do not count, even when measured on both sides."""
    table = open_table(write_test_acc(tmp_path / "t.h5", np.stack([FINAL, FINAL], axis=1)))
    # The reference agrees on the first three classes and reverses the last two.
    reference = open_table(write_test_acc(tmp_path / "ref.h5", np.array([[1.0], [2.0], [3.0], [5.0], [4.0]])))
    assert external_report(table, reference)["per_class"]["spearman"] < 1.0
    sample = _representatives(3)
    report = external_report(table, reference, classes=sample)
    assert report["per_class"]["n"] == 3
    assert report["per_class"]["spearman"] == pytest.approx(1.0)


def test_run_fidelity_against_a_reference(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The report carries the external figures keyed by the reference's stem, in the JSON
    beside the table and on the terminal."""
    # Every class of the space, since the sample is drawn in the generator's seeded order.
    values = np.linspace(10.0, 90.0, _representatives(10**6).shape[0])[:, None]
    reference = write_test_acc(tmp_path / "ref-table.h5", values, dataset="cifar10")
    out = tmp_path / "tiny.h5"
    argv = ["fidelity", "--preset", "tiny", "--epochs", "1", "--archs", "3", "--workers", "0", "--quiet"]
    assert main([*argv, "--out", str(out), "--against", str(reference)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].startswith("against ref-table (3 classes, seed-mean test accuracy): Spearman ")
    report = json.loads(out.with_name(out.name + ".json").read_text())
    external = report["external"]["ref-table"]
    assert external["per_class"]["n"] == 3 and external["reference_dataset"] == "cifar10"
    again = external_report(open_table(out), open_table(reference))
    assert external["per_class"] == again["per_class"]
    assert external["per_architecture"] == again["per_architecture"]


def test_a_missing_reference_fails_before_training(tmp_path: Path) -> None:
    out = tmp_path / "never.h5"
    with pytest.raises(TableError, match=r"no-such\.h5"):
        run_fidelity(
            out, get_protocol("tiny"), archs=3, workers=0, progress=False, against=[tmp_path / "no-such.h5"]
        )
    assert not out.exists()


def _report(seconds: float, external: dict | None = None) -> dict:
    report = {
        "archs": 300,
        "core_seconds_per_run": seconds,
        "table_core_hours": 1.0,
        "spearman": 0.8,
        "kendall_tau": 0.6,
        "mean_abs_seed_difference_pct": 1.0,
        "protocol": {"resolution": 8, "augment": ["crop", "flip"]},
    }
    if external is not None:
        report["external"] = external
    return report


def _external(dataset: str, rho: float) -> dict:
    return {
        "reference_dataset": dataset,
        "per_class": {"spearman": rho, "top_5pct_overlap": 40.0},
        "per_class_spearman_noiseless": rho + 0.05,
    }


def test_frontier_shows_external_columns() -> None:
    text = frontier_markdown(
        {
            "old": _report(1.0),
            "new": _report(2.0, {"nb201-cifar10-hp12": _external("cifar10", 0.75)}),
        }
    )
    header, _, old, new = text.splitlines()
    assert header.endswith(
        "| Spearman vs CIFAR-10 | top-5 % vs CIFAR-10 | Spearman vs CIFAR-10, many seeds (est.) |"
    )
    assert new.endswith("| 0.750 | 40.0 | 0.800 |")
    assert old.endswith(f"| {MISSING} | {MISSING} | {MISSING} |")
    assert "| crop+flip |" in new


def test_a_second_sample_is_disjoint_from_the_first() -> None:
    """``offset=N`` with ``limit=N`` picks the next N classes of the same seeded order."""
    from nasbench.generation.generate import select_classes

    unique = _representatives(10**6)
    first = select_classes(unique, 300, None)
    second = select_classes(unique, 300, None, offset=300)
    assert second.shape == (300,) and not set(first.tolist()) & set(second.tolist())
    np.testing.assert_array_equal(np.concatenate([first, second]), select_classes(unique, 600, None))


def test_run_fidelity_on_a_second_sample(tmp_path: Path) -> None:
    out = tmp_path / "second.h5"
    report = run_fidelity(
        out, get_protocol("tiny").replace(epochs=1), archs=3, offset=3, workers=0, progress=False
    )
    assert report["archs"] == 3 and report["sample_offset"] == 3
    table = open_table(out)
    from nasbench.generation.generate import select_classes

    trained = table.unique[np.all(table.run_status == STATUS_DONE, axis=1)]
    np.testing.assert_array_equal(np.sort(trained), np.sort(select_classes(table.unique, 3, None, offset=3)))

"""The data card reads everything from the table and says it plainly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nasbench.cli.main import main
from nasbench.core.cost import generation_seconds
from nasbench.core.table import TableWriter, open_table
from nasbench.reporting.card import data_card
from nasbench.reporting.markdown import MISSING
from nasbench.testing import synthetic_table


@pytest.fixture(scope="module")
def table_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("card") / "synthetic.h5"
    synthetic_table(path, failed_fraction=0.01)
    with TableWriter(path) as writer:
        writer.set_attr(
            "fidelity", {"archs": 6466, "spearman": 0.8123, "epoch_spearman_to_final": [0.5, 1.0]}
        )
    return path


def test_card_counts_cost_and_fidelity(table_path: Path) -> None:
    table = open_table(table_path)
    card = data_card(table, command="make default-table")
    status = table.run_status
    assert f"{int((status == 1).sum()):,} runs done, {int((status == 2).sum()):,} failed, 0 pending" in card
    measured = status != 0
    seconds = np.nansum(table.raw("train_seconds"), axis=2) + np.nansum(table.raw("eval_seconds"), axis=2)
    assert f"{seconds[measured].sum() / 3600:.2f} CPU core-hours" in card
    assert "| seed-to-seed Spearman, final val accuracy | 0.812 |" in card
    assert f"| seed-to-seed Kendall τ | {MISSING} |" in card  # not in the stored figures
    assert f"| mean absolute seed difference | {MISSING} |" in card
    per_run = generation_seconds(table)[measured]
    assert f"| one run (train + eval), mean / median | {per_run.mean():.2f} / " in card
    assert "0.500, 1.000" in card
    assert "`cpu-1t`" in card and "`latency_ms_b1`" in card
    assert "```sh\nmake default-table\n```" in card
    assert table.checksum in card


class _TableLike:
    """Not a Table: an object with the same read API, as the card asks for nothing more."""

    def __init__(self, table: object) -> None:
        self._table = table

    def __getattr__(self, name: str) -> object:
        return getattr(self._table, name)


def test_card_takes_any_object_with_the_table_read_api(table_path: Path) -> None:
    table = open_table(table_path)
    assert data_card(_TableLike(table), title="x") == data_card(table, title="x")


def test_card_escapes_pipes_in_architecture_strings(table_path: Path) -> None:
    card = data_card(open_table(table_path))
    best_line = next(line for line in card.splitlines() if line.startswith("| best class"))
    assert best_line.count("|") - best_line.count("\\|") == 3, best_line


def test_card_without_fidelity_says_so(tmp_path: Path) -> None:
    card = data_card(synthetic_table(tmp_path / "t.h5"))
    assert "Not measured yet (`nasbench fidelity`)." in card


def test_cli_card(table_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["card", str(table_path), "--title", "Synthetic"]) == 0
    assert capsys.readouterr().out.startswith("### Synthetic\n")
    assert main(["card", str(table_path.with_name("missing.h5"))]) == 1
    err = capsys.readouterr().err
    assert err.startswith("nasbench: error:") and err.count("\n") == 1


def test_card_shows_external_validity(tmp_path: Path) -> None:
    """Figures measured with ``fidelity --against`` appear per reference and view; the
    many-seed estimate only on the per-class row it was computed for."""
    path = tmp_path / "t.h5"
    synthetic_table(path)
    per_architecture = {"n": 15625, "spearman": 0.7412, "kendall_tau": 0.55}
    per_architecture |= {"top_1pct_overlap": 20.0, "top_5pct_overlap": 38.0}
    per_class = {"n": 6466, "spearman": 0.731, "kendall_tau": 0.54}
    per_class |= {"top_1pct_overlap": None, "top_5pct_overlap": 41.25}
    external = {
        "nb201-cifar10-hp12": {
            "reference_metric": "test_acc",
            "per_architecture": per_architecture,
            "per_class": per_class,
            "per_class_spearman_noiseless": 0.79,
        }
    }
    with TableWriter(path) as writer:
        writer.set_attr("fidelity", {"archs": 6466, "spearman": 0.74, "external": external})
    card = data_card(open_table(path))
    assert "**External validity**" in card
    reference = "| nb201-cifar10-hp12 (test_acc) |"
    assert f"{reference} per architecture | 15625 | 0.741 | 0.550 | 20.0 % | 38.0 % | {MISSING} |" in card
    assert f"{reference} per class | 6466 | 0.731 | 0.540 | {MISSING} | 41.2 % | 0.790 |" in card
    assert "**External validity**" not in data_card(synthetic_table(tmp_path / "u.h5"))

"""Tests of a table's best classes: :meth:`Table.top`, ``nasbench top`` and the README's
Python example (run here as it stands, so it cannot go stale)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from nasbench.cli.main import main
from nasbench.cli.top import TEXT_WIDTH
from nasbench.core.errors import ConfigError, MetricError
from nasbench.core.ranking import RankedClass
from nasbench.core.space import CellSpace
from nasbench.core.table import STATUS_DONE, STATUS_FAILED, STATUS_PENDING, Table, TableWriter, open_table

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "tables" / "nb201-fmnist-cpu.h5"  # the shipped default table: 6,466 classes, 2 seeds
#: The comment that marks the README's runnable Python example.
README_MARKER = "# readme-example:"


@pytest.fixture(scope="module")
def table() -> Table:
    return open_table(TABLE)


def _strict_json(text: str) -> object:
    """``text`` parsed as JSON that refuses NaN and infinities (RFC 8259)."""

    def refuse(constant: str) -> None:
        raise ValueError(f"not valid JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


# --------------------------------------------------------------------- Table.top
def test_top_one_is_the_argmax_of_the_seed_mean(table: Table) -> None:
    raw = table.raw("test_acc")[:, :, -1].astype(np.float64)  # [classes, seeds] as stored
    counts = np.sum(~np.isnan(raw), axis=1)
    mean = np.where(counts > 0, np.nansum(raw, axis=1) / np.maximum(counts, 1), np.nan)
    best = int(np.nanargmax(mean))
    np.testing.assert_allclose(mean, table.class_metric("test_acc"))
    (top,) = table.top(1)
    assert isinstance(top, RankedClass)
    assert (top.rank, top.index) == (1, int(table.unique[best]))
    assert top.value == pytest.approx(mean[best])
    assert top.arch == str(table.space.from_index(top.index))
    assert top.seeds == (0, 1) and top.seed_values == pytest.approx(tuple(raw[best]))
    members = int(np.sum(table.canonical == top.index))
    assert top.members == members >= 1
    row = table.row(top.index)
    assert (top.params_m, top.flops_m) == (table.params[row] / 1e6, table.flops[row] / 1e6)


def test_top_is_sorted_and_defaults_to_ten(table: Table) -> None:
    ranked = table.top()
    assert [r.rank for r in ranked] == list(range(1, 11))
    values = [r.value for r in ranked]
    assert values == sorted(values, reverse=True)
    assert len({r.index for r in ranked}) == 10


def test_k_beyond_the_measured_classes_returns_them_all(table: Table) -> None:
    ranked = table.top(100_000)
    assert len(ranked) == table.num_unique == 6466
    assert sorted(r.index for r in ranked) == table.unique.tolist()
    assert sum(r.members for r in ranked) == table.num_archs


def test_a_loss_ranks_ascending_unless_told(table: Table) -> None:
    loss = table.class_metric("test_loss", epoch=0)
    ranked = table.top(5, "test_loss", epoch=0)
    assert ranked[0].index == int(table.unique[np.nanargmin(loss)])
    assert [r.value for r in ranked] == sorted(r.value for r in ranked)
    worst = table.top(1, "test_loss", epoch=0, higher_is_better=True)[0]
    assert worst.index == int(table.unique[np.nanargmax(loss)])
    assert table.top(1, "test_acc", higher_is_better=False)[0].value == np.nanmin(
        table.class_metric("test_acc")
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"k": 0}, ConfigError, "k must be >= 1, got 0"),
        ({"k": 2.5}, ConfigError, "k must be an integer"),
        ({"k": True}, ConfigError, "k must be an integer"),
        ({"metric": "accuracy"}, MetricError, "unknown epoch metric 'accuracy'"),
        ({"metric": "params_m"}, MetricError, "unknown epoch metric 'params_m'"),
        ({"epoch": 4}, MetricError, "epoch 4 out of range"),
        ({"higher_is_better": "yes"}, ConfigError, "higher_is_better must be True, False or None"),
    ],
)
def test_bad_arguments_raise_one_clear_error(table: Table, kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=re.escape(message)):
        table.top(**kwargs)


# --------------------------------------------------------------------- a crafted table
#: A 3-op, 3-node space (27 cells) small enough to give every class a value by hand.
SMALL = CellSpace(ops=("none", "skip_connect", "nor_conv_3x3"), num_nodes=3)


def _crafted(path: Path, acc: dict[int, tuple[float, float]], indices: np.ndarray | None = None) -> Table:
    """A table of :data:`SMALL` where class ``c`` (position in ``archs/unique``) has the
    final test accuracies ``acc[c]`` per seed (NaN: failed) and every other class is pending."""
    rows = np.arange(SMALL.size) if indices is None else indices
    writer = TableWriter.create(
        path,
        space=SMALL,
        model={"name": "crafted"},
        dataset={"name": "crafted"},
        protocol={"epochs": 2},
        seeds=[0, 1],
        num_epochs=2,
        params=1000 * (rows + 1),
        flops=2000 * (rows + 1),
        indices=indices,
        metrics=("test_acc", "test_loss"),
        created="2000-01-01T00:00:00+00:00",
    )
    with writer:
        shape = (writer.unique.shape[0], 2, 2)
        values, status = np.full(shape, np.nan), np.full(shape[:2], STATUS_PENDING, dtype=np.int8)
        for klass, per_seed in acc.items():
            for seed, value in enumerate(per_seed):
                status[klass, seed] = STATUS_FAILED if np.isnan(value) else STATUS_DONE
                values[klass, seed] = [value - 5.0, value]
        writer.write_metric_block("test_acc", values, status)
        writer.write_metric_block("test_loss", 1.0 - values / 100.0)
    return open_table(path)


def test_ties_go_to_the_smaller_index_and_unmeasured_classes_are_left_out(tmp_path: Path) -> None:
    # classes 4 and 1 tie at 90 (class 4 written first), class 2 reaches 90 on one seed only
    # (the other failed), class 3 is lower; every other class is pending
    crafted = _crafted(
        tmp_path / "ties.h5", {4: (89.0, 91.0), 1: (90.0, 90.0), 2: (np.nan, 90.0), 3: (80.0, 80.0)}
    )
    ranked = crafted.top(10)
    assert [r.index for r in ranked] == [int(crafted.unique[c]) for c in (1, 2, 4, 3)]
    assert [r.value for r in ranked] == [90.0, 90.0, 90.0, 80.0]
    assert ranked[1].seed_values[0] != ranked[1].seed_values[0] and ranked[1].seed_values[1] == 90.0
    by_loss = [r.index for r in crafted.top(4, "test_loss")]  # ascending: the worst accuracy last
    assert by_loss[-1] == int(crafted.unique[3]) and by_loss[:2] == [int(crafted.unique[c]) for c in (1, 2)]
    assert [r.index for r in crafted.top(2, epoch=0)] == [int(crafted.unique[c]) for c in (1, 2)]
    assert sum(r.members for r in crafted.top(10, higher_is_better=False)) == sum(
        int(np.sum(crafted.canonical == crafted.unique[c])) for c in (1, 2, 3, 4)
    )


def test_a_partial_table_ranks_its_own_classes_with_their_rows_cost(tmp_path: Path) -> None:
    keep = np.array([1, 2, 4, 5, 10, 13, 20])  # no all-`none` cell: classes re-formed within the rows
    crafted = _crafted(
        tmp_path / "partial.h5", {0: (50.0, 50.0), 1: (60.0, 60.0), 2: (55.0, 57.0)}, indices=keep
    )
    ranked = crafted.top(5)
    assert [r.value for r in ranked] == [60.0, 56.0, 50.0]
    for item in ranked:
        assert item.index in keep and item.members == int(np.sum(crafted.canonical == item.index))
        assert item.params_m == 1000 * (item.index + 1) / 1e6  # the representative's own row


def test_no_measured_class_gives_an_empty_ranking(tmp_path: Path) -> None:
    assert _crafted(tmp_path / "empty.h5", {}).top(3) == []


# --------------------------------------------------------------------- nasbench top
def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["top", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_text_is_an_aligned_table_within_the_width(
    table: Table, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, str(TABLE), "-k", "3")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert max(map(len, lines)) <= TEXT_WIDTH
    assert lines[0].startswith(
        "test_acc after epoch 4, mean of seeds 0, 1 (higher is better): top 3 of 6,466"
    )
    assert lines[1].split() == ["rank", "test_acc", "members", "params", "M", "index"]
    best = table.top(3)
    for k, ranked in enumerate(best):
        numbers, arch = lines[3 + 2 * k], lines[4 + 2 * k]
        assert numbers.split()[:3] == [str(ranked.rank), f"{ranked.value:.2f}", "%"]
        assert arch.strip() == ranked.arch
    widths = {len(lines[3 + 2 * k]) for k in range(3)}
    assert widths == {len(lines[1])}, "rows align with the header"


def test_cli_text_keeps_a_short_architecture_on_its_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    crafted = _crafted(tmp_path / "short.h5", {1: (70.0, 72.0)})
    code, out, _ = _run(capsys, str(crafted.path), "--metric", "test_loss")
    lines = out.splitlines()
    assert code == 0 and "(lower is better): top 1 of 1 measured classes (" in lines[0]
    assert lines[1].endswith("architecture") and lines[2].endswith(
        str(SMALL.from_index(int(crafted.unique[1])))
    )


def test_cli_json_is_valid_json_with_null_for_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, str(TABLE), "-k", "2", "--metric", "val_loss", "--epoch", "0", "--json")
    data = _strict_json(out)
    assert code == 0 and isinstance(data, dict)
    header = {key: data[key] for key in ("metric", "unit", "epoch", "training_epoch", "higher_is_better")}
    assert header == {
        "metric": "val_loss",
        "unit": "",
        "epoch": 0,
        "training_epoch": 1,
        "higher_is_better": False,
    }
    assert (data["measured"], data["classes"], data["seeds"], data["seed_axis"]) == (
        6466,
        6466,
        [0, 1],
        "runs",
    )
    assert [r["rank"] for r in data["top"]] == [1, 2]
    expected = open_table(TABLE).top(2, "val_loss", epoch=0)
    assert [r["index"] for r in data["top"]] == [r.index for r in expected]
    crafted = _crafted(tmp_path / "failed.h5", {2: (np.nan, 90.0)})
    code, out, _ = _run(capsys, str(crafted.path), "--json")
    (only,) = _strict_json(out)["top"]  # type: ignore[index]
    assert only["seed_values"] == {"0": None, "1": 90.0}


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["missing.h5"], "missing.h5"),
        ([str(TABLE), "--metric", "accuracy"], "unknown epoch metric 'accuracy'"),
        ([str(TABLE), "-k", "0"], "-k must be >= 1, got 0"),
        ([str(TABLE), "--epoch", "7"], "epoch 7 out of range"),
    ],
)
def test_cli_bad_input_is_one_error_line(
    argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, *argv)
    assert (code, out) == (1, "")
    assert len(err.splitlines()) == 1 and err.startswith("nasbench: error: ") and fragment in err


def test_cli_text_names_an_imported_seed_mean(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, str(ROOT / "tables" / "nb201-cifar10-hp12.h5"), "-k", "1")
    assert code == 0 and out.startswith("test_acc after epoch 12, the source's mean over its seeds (higher")


# --------------------------------------------------------------------- README
def test_readme_python_example_runs_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    """The README's marked example, executed from the repository root exactly as it stands."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.DOTALL)
    marked = [block for block in blocks if block.startswith(README_MARKER)]
    assert len(marked) == 1, f"README.md needs exactly one ```python block starting with {README_MARKER!r}"
    assert "table.top(" in marked[0] and ".run(" in marked[0]
    here = os.getcwd()
    os.chdir(ROOT)
    try:
        exec(compile(marked[0], "README.md", "exec"), {"__name__": "readme_example"})
    finally:
        os.chdir(here)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4  # the incumbent, then the table's 3 best
    incumbent, accuracy = lines[0].split()
    assert incumbent.startswith("|") and 0.0 < float(accuracy) <= 100.0
    assert lines[1].startswith("1 |") and lines[3].startswith("3 |")

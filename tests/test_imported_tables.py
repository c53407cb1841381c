"""Imported tables: schema version 2 (values per architecture, epoch numbers, a seed axis
of means, the benchmark's own index, provenance), the CSV/Parquet importer, the shipped
NAS-Bench-201 12-epoch tables and random search's closed form.

The shipped tables are checked against the reference file they were built from, value by
value, by architecture string and by NAS-Bench-201 index.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from nasbench.bench.benchmark import Benchmark, Budget
from nasbench.bench.expected import random_search_expectation
from nasbench.cli.main import main
from nasbench.core.errors import ArchitectureError, ConfigError, MetricError, TableError
from nasbench.core.space import CellSpace
from nasbench.core.table import open_table, validate_table
from nasbench.generation.importers.tabular import TABULAR_PRESETS, read_tabular
from nasbench.generation.importers.write import write_imported
from nasbench.search import create_strategy

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "tables" / "sources" / "nb201-hp12.csv"
SHIPPED = {
    "cifar10": ("nb201-cifar10-hp12.h5", "cifar10_valid_val_acc", "cifar10_test_acc", 10, 32),
    "cifar100": ("nb201-cifar100-hp12.h5", "cifar100_val_acc", "cifar100_test_acc", 100, 32),
    "imagenet16": ("nb201-imagenet16-hp12.h5", "imagenet16_val_acc", "imagenet16_test_acc", 120, 16),
}
SPACE = CellSpace()


def _reference() -> list[dict[str, str]]:
    with SOURCE.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _small_csv(path: Path, rows: list[dict[str, object]], columns: list[str] | None = None) -> Path:
    columns = columns or list(rows[0])
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


# --------------------------------------------------------------------- shipped tables
@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_table_holds_the_reference_values_by_string_and_by_nb201_index(name: str) -> None:
    file_name, val_column, test_column, classes, resolution = SHIPPED[name]
    table = open_table(ROOT / "tables" / file_name)
    assert validate_table(table.path) == []
    assert table.schema_version == 2 and table.values_per == "architecture"
    assert table.seed_axis["kind"] == "mean" and table.seeds.tolist() == [-1]
    assert table.epochs.tolist() == [12] and table.source_order == "nb201"
    assert table.source["file"] == "nb201-hp12.csv" and table.source["licence"] == "MIT"
    assert table.model["num_classes"] == classes and table.model["resolution"] == resolution
    assert not table.has_training_times
    reference = _reference()
    assert len(reference) == table.num_archs == 15_625
    val, test = table.metric("val_acc"), table.metric("test_acc")
    for row in reference:
        by_string = table.row(row["arch"])
        assert by_string == table.source_row("nb201", int(row["nb201_index"]))
        assert val[by_string] == pytest.approx(float(row[val_column]), abs=2e-5)
        assert test[by_string] == pytest.approx(float(row[test_column]), abs=2e-5)


def test_isomorphic_cells_keep_their_own_values() -> None:
    """NAS-Bench-201 trained isomorphic cells apart: a class's members answer differently."""
    table = open_table(ROOT / "tables" / "nb201-cifar10-hp12.h5")
    test = table.metric("test_acc")
    canonical = table.canonical
    differing = 0
    for representative in np.unique(canonical)[:500]:
        members = np.nonzero(canonical == representative)[0]
        if members.size > 1 and np.ptp(test[members]) > 0:
            differing += 1
            assert table.query(int(table.indices[members[0]]), "test_acc") != table.query(
                int(table.indices[members[int(np.argmax(test[members] != test[members[0]]))]]), "test_acc"
            )
    assert differing > 50


def test_shipped_costs_are_nb201s_published_figures() -> None:
    """All-conv3x3 and all-none cells: NAS-Bench-201's CIFAR-10 MFLOPs and parameters."""
    table = open_table(ROOT / "tables" / "nb201-cifar10-hp12.h5")
    conv = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    none = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    assert table.query(conv, "flops_m") == pytest.approx(220.11969, abs=1e-5)
    assert table.query(conv, "params_m") == pytest.approx(1.531546, abs=1e-6)
    assert table.query(none, "flops_m") == pytest.approx(7.78305, abs=1e-5)
    assert table.query(none, "params_m") == pytest.approx(0.073306, abs=1e-6)


def test_query_by_nb201_index_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    reference = {int(r["nb201_index"]): r for r in _reference()}
    path = ROOT / "tables" / "nb201-cifar100-hp12.h5"
    code, out, err = _cli(capsys, "query", path, 0, "--index-order", "nb201", "--metric", "test_acc")
    assert (code, err) == (0, "") and float(out) == float(reference[0]["cifar100_test_acc"])
    code, out, _ = _cli(
        capsys, "query", path, 1554, "--index-order", "nb201", "--metric", "val_acc", "--json"
    )
    data = json.loads(out)
    assert data["nb201_index"] == 1554 and data["arch"] == reference[1554]["arch"]
    assert data["value"] == pytest.approx(float(reference[1554]["cifar100_val_acc"]), abs=2e-5)
    code, out, err = _cli(capsys, "query", path, 15_625, "--index-order", "nb201")
    assert (
        code == 1 and out == "" and err.count("\n") == 1 and "nb201 index 15625 is not in this table" in err
    )
    code, out, err = _cli(capsys, "query", path, 0, "--index-order", "nb101")
    assert code == 1 and "keeps 'nb201' indices, not 'nb101'" in err


def test_to_pandas_has_the_nb201_index_column() -> None:
    frame = open_table(ROOT / "tables" / "nb201-imagenet16-hp12.h5").to_pandas()
    reference = {r["arch"]: int(r["nb201_index"]) for r in _reference()}
    assert list(frame.columns[:3]) == ["index", "nb201_index", "arch"]
    assert all(
        reference[a] == i for a, i in zip(frame["arch"][:2000], frame["nb201_index"][:2000], strict=True)
    )


def test_seconds_budget_is_refused_and_evaluation_budget_runs() -> None:
    table = open_table(ROOT / "tables" / "nb201-cifar10-hp12.h5")
    with pytest.raises(ConfigError, match="no training times"):
        Benchmark(table, seed=0, budget=Budget(seconds=12_000))
    benchmark = create_strategy("re", seed=3).run(Benchmark(table, seed=0), Budget(evaluations=60))
    trajectory = benchmark.trajectory()
    assert benchmark.evaluations == 60 and np.all(trajectory["sim_seconds"] == 0)
    assert trajectory["incumbent_test_acc"][-1] == table.metric("test_acc")[benchmark.incumbent_index]


def test_old_schema_version_1_tables_still_open() -> None:
    table = open_table(ROOT / "tables" / "nb201-fmnist-cpu.h5")
    assert table.schema_version == 1 and table.values_per == "class" and table.source is None
    assert table.epochs.tolist() == list(range(1, table.num_epochs + 1))
    assert table.seed_axis == {"kind": "runs"} and table.source_index is None
    with pytest.raises(MetricError, match="not imported"):
        table.source_row("nb201", 0)


# --------------------------------------------------------------------- importer
def test_import_is_fast_enough_and_byte_identical(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1577836800")
    first, second = tmp_path / "a.h5", tmp_path / "b.h5"
    for out in (first, second):
        write_imported(read_tabular(SOURCE, **TABULAR_PRESETS["nb201-hp12-cifar10"]), out)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() == (ROOT / "tables" / "nb201-cifar10-hp12.h5").read_bytes()


def test_csv_by_our_index_without_own_index_and_a_seed_label(tmp_path: Path) -> None:
    rows = [{"idx": i, "acc": 50 + i / 100, "loss": 1.5} for i in (5, 17, 4000)]
    path = _small_csv(tmp_path / "mine.csv", rows)
    imported = read_tabular(
        path,
        metrics={"val_acc": "acc", "val_loss": "loss"},
        epoch=3,
        arch_column=None,
        index_column="idx",
        seed=7,
    )
    out = write_imported(imported, tmp_path / "mine.h5")
    table = open_table(out)
    assert (
        table.seeds.tolist() == [7] and table.seed_axis == {"kind": "runs"} and table.epochs.tolist() == [3]
    )
    assert table.query(17, "val_acc", seed=7) == pytest.approx(50.17, abs=1e-5)
    assert table.source_index is None and validate_table(out) == []
    assert float(np.sum(table.run_status == 1)) == 3


@pytest.mark.parametrize(
    ("rows", "options", "message"),
    [
        ([{"arch": "|nope~0|", "a": 1}], {}, "data row 1"),
        ([{"arch": SPACE.from_index(3), "a": "x"}], {}, "'x' is not a number"),
        ([{"arch": SPACE.from_index(3), "a": 140}], {}, "outside [0, 100]"),
        (
            [{"arch": SPACE.from_index(3), "a": 1}, {"arch": SPACE.from_index(3), "a": 2}],
            {},
            "repeats architecture",
        ),
        ([{"arch": SPACE.from_index(3), "a": 1}], {"metrics": {"val_acc": "b"}}, "no column 'b'"),
        (
            [{"arch": SPACE.from_index(3), "a": 1}],
            {"metrics": {"accuracy": "a"}},
            "unknown metric 'accuracy'",
        ),
        ([{"arch": SPACE.from_index(3), "a": 1}], {"epoch": 0}, "epoch must be a positive integer"),
        (
            [{"arch": SPACE.from_index(3), "a": 1}],
            {"index_column": "a", "index_order": "nb201"},
            "every architecture",
        ),
    ],
)
def test_bad_flat_files_get_one_clear_error(
    tmp_path: Path, rows: list[dict[str, object]], options: dict[str, object], message: str
) -> None:
    rows = [{k: str(v) for k, v in row.items()} for row in rows]
    path = _small_csv(tmp_path / "bad.csv", rows)
    arguments: dict[str, object] = {"metrics": {"val_acc": "a"}, "epoch": 12} | options
    with pytest.raises((TableError, ConfigError)) as caught:
        read_tabular(path, **arguments)  # type: ignore[arg-type]
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_cli_import_never_replaces_or_leaves_partial_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "t.h5"
    out.write_bytes(b"precious")
    code, _, err = _cli(capsys, "import", "csv", SOURCE, "--preset", "nb201-hp12-cifar100", "--out", out)
    assert code == 1 and "file exists" in err and out.read_bytes() == b"precious"
    broken = tmp_path / "broken.csv"
    text = SOURCE.read_text().splitlines()
    broken.write_text("\n".join([*text[:500], text[500].replace(",", ",x", 1)]) + "\n")
    target = tmp_path / "new.h5"
    code, _, err = _cli(capsys, "import", "csv", broken, "--preset", "nb201-hp12-cifar100", "--out", target)
    assert code == 1 and err.count("\n") == 1 and not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.csv", "t.h5"]
    code, _, err = _cli(capsys, "import", "csv", SOURCE, "--out", target, "--epoch", "12")
    assert code == 1 and "--metric val_acc=COLUMN" in err


def test_cli_import_with_explicit_mapping(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "c100.h5"
    code, stdout, err = _cli(
        capsys, "import", "csv", SOURCE, "--out", out, "--epoch", "12",
        "--metric", "val_acc=cifar100_val_acc", "--metric", "test_acc=cifar100_test_acc",
        "--index-column", "nb201_index", "--index-order", "nb201", "--arch-column", "arch",
        "--model", "num_classes=100", "--licence", "MIT", "--dataset", "cifar100",
    )  # fmt: skip
    assert (code, err) == (0, "") and "15,625 of 15,625" in stdout
    mine, shipped = open_table(out), open_table(ROOT / "tables" / "nb201-cifar100-hp12.h5")
    assert np.array_equal(mine.metric("test_acc"), shipped.metric("test_acc"))
    assert np.array_equal(mine.source_index, shipped.source_index)
    assert np.array_equal(mine.params, shipped.params) and mine.dataset["name"] == "cifar100"


def test_parquet_reads_like_csv(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    import pandas as pd

    frame = pd.read_csv(SOURCE)
    frame.to_parquet(tmp_path / "ref.parquet")
    imported = read_tabular(tmp_path / "ref.parquet", **TABULAR_PRESETS["nb201-hp12-imagenet16"])
    from_csv = read_tabular(SOURCE, **TABULAR_PRESETS["nb201-hp12-imagenet16"])
    assert imported.source["format"] == "parquet"
    with pytest.raises(TableError, match="cannot read as CSV"):
        read_tabular(tmp_path / "ref.parquet", **TABULAR_PRESETS["nb201-hp12-imagenet16"], file_format="csv")
    with pytest.raises(TableError, match="cannot read as Parquet"):
        read_tabular(SOURCE, **TABULAR_PRESETS["nb201-hp12-imagenet16"], file_format="parquet")
    for name in ("val_acc", "test_acc"):
        assert np.array_equal(imported.metrics[name], from_csv.metrics[name], equal_nan=True)


def test_writer_refuses_inconsistent_version_2_attributes(tmp_path: Path) -> None:
    from nasbench.core.table import TableWriter

    common = {
        "space": SPACE, "model": {}, "dataset": {}, "protocol": {}, "num_epochs": 1,
        "params": np.ones(3), "flops": np.ones(3), "indices": np.array([1, 2, 3]),
    }  # fmt: skip
    with pytest.raises(TableError, match="kind 'mean'"):
        TableWriter.create(tmp_path / "a.h5", seeds=[0], seed_axis={"kind": "mean"}, **common)
    with pytest.raises(TableError, match="epochs must be 1 ascending"):
        TableWriter.create(tmp_path / "b.h5", seeds=[0], epochs=[0], **common)
    with pytest.raises(TableError, match="values_per"):
        TableWriter.create(tmp_path / "c.h5", seeds=[0], values_per="cell", **common)
    with pytest.raises(TableError, match="must not repeat"):
        TableWriter.create(
            tmp_path / "d.h5", seeds=[0], source_index=np.array([4, 4, 5]), source_order="x", **common
        )
    assert list(tmp_path.iterdir()) == []


def test_a_tampered_per_architecture_table_fails_to_open(tmp_path: Path) -> None:
    path = shutil.copyfile(ROOT / "tables" / "nb201-cifar10-hp12.h5", tmp_path / "t.h5")
    with h5py.File(path, "r+") as handle:
        del handle["archs/unique"]
        handle["archs/unique"] = np.arange(15_625)[::-1]
    with pytest.raises(TableError, match="values per architecture"):
        open_table(path)
    with pytest.raises(ArchitectureError):
        open_table(ROOT / "tables" / "nb201-cifar10-hp12.h5").source_row("nb201", -1)


# --------------------------------------------------------------------- closed form
def test_closed_form_of_a_tiny_population_by_enumeration() -> None:
    """Three draws from five architectures with a tie: every subset enumerated."""
    from itertools import combinations, permutations

    signal = np.array([1.0, 3.0, 3.0, 2.0, 0.5])
    test = np.array([10.0, 40.0, 20.0, 30.0, 50.0])
    outcomes = []
    for subset in combinations(range(5), 3):
        for order in permutations(subset):
            best = max(order, key=lambda i: (signal[i], -order.index(i)))
            outcomes.append(test[best])
    mean, sd = random_search_expectation(signal, test, 3)
    assert mean == pytest.approx(np.mean(outcomes)) and sd == pytest.approx(np.std(outcomes))
    with pytest.raises(ConfigError, match=r"1\.\.5"):
        random_search_expectation(signal, test, 6)


def test_simulated_random_search_agrees_with_its_closed_form() -> None:
    """400 seeded runs of ``rs`` (distinct cells) at 20 evaluations on the CIFAR-100 table:
    the mean final test accuracy is within 3 standard errors of the closed form."""
    table = open_table(ROOT / "tables" / "nb201-cifar100-hp12.h5")
    finals = []
    benchmark = Benchmark(table, seed=0)  # one seed column (means): every seed reads the same
    for seed in range(400):
        benchmark.reset()
        create_strategy("rs", deduplicate="index", seed=seed).run(benchmark, Budget(evaluations=20))
        finals.append(benchmark.trajectory()["incumbent_test_acc"][-1])
    mean, sd = random_search_expectation(table.metric("val_acc"), table.metric("test_acc"), 20)
    standard_error = np.std(finals, ddof=1) / np.sqrt(len(finals))
    assert abs(np.mean(finals) - mean) < 3 * standard_error
    assert np.std(finals, ddof=1) == pytest.approx(sd, rel=0.15)


def test_many_strings_parse_like_one_at_a_time() -> None:
    rng = np.random.default_rng(5)
    indices = rng.integers(0, SPACE.size, 500)
    texts = [f" {SPACE.from_index(int(i))} " for i in indices]
    assert np.array_equal(SPACE.indices_of_strings(texts), indices)
    for bad in (
        "||none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|",
    ):
        with pytest.raises(ArchitectureError):
            SPACE.indices_of_strings([texts[0], bad])


def test_search_on_one_table_scored_by_another(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """NAS-Bench-201's protocol: the search sees one table's validation accuracy, the run
    is reported by another table's test accuracy (here CIFAR-100's, as a stand-in)."""
    search = open_table(ROOT / "tables" / "nb201-cifar10-hp12.h5")
    score = open_table(ROOT / "tables" / "nb201-cifar100-hp12.h5")
    benchmark = Benchmark(search, seed=0)
    benchmark.score_by(score)
    create_strategy("re", seed=1).run(benchmark, Budget(evaluations=40))
    incumbent = benchmark.incumbent_index
    trajectory = benchmark.trajectory()
    assert trajectory["incumbent_test_acc"][-1] == score.metric("test_acc")[incumbent]
    assert benchmark.best_test_acc == np.max(score.metric("test_acc"))
    assert trajectory["incumbent_val_acc"][-1] == search.metric("val_acc")[incumbent]
    with pytest.raises(ConfigError, match="before the first evaluation"):
        benchmark.score_by(score)
    with pytest.raises(ConfigError, match="every architecture"):
        Benchmark(search, seed=0).score_by(open_table(ROOT / "tables" / "nb201-7op-fmnist-cpu-sample.h5"))
    out = tmp_path / "scored"
    code, _, err = _cli(
        capsys, "compare", "--table", search.path, "--strategies", "re", "--seeds", "2",
        "--budget-evals", "40", "--score-table", f"nb201-cifar10-hp12={score.path}", "--out", out, "--quiet",
    )  # fmt: skip
    assert (code, err) == (0, "")
    config = json.loads((out / "config.json").read_text())
    assert config["tables"][0]["scored_by"]["checksum"] == score.checksum
    assert config["tables"][0]["best_test_acc"] == pytest.approx(float(np.max(score.metric("test_acc"))))
    runs = list(csv.DictReader((out / "runs.csv").open()))
    for run in runs:
        assert float(run["final_test_acc"]) == pytest.approx(
            score.metric("test_acc")[int(run["final_index"])]
        )
    code, _, err = _cli(
        capsys, "compare", "--table", search.path, "--strategies", "re", "--seeds", "1",
        "--budget-evals", "5", "--score-table", f"other={score.path}", "--out", tmp_path / "x",
    )  # fmt: skip
    assert code == 1 and "not a compared table" in err and not (tmp_path / "x").exists()


def test_demo_compares_on_the_nb201_tables_too(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``nasbench demo`` from a checkout: the default table, then the three NAS-Bench-201
    tables with an evaluation budget, each with its leaderboard."""
    monkeypatch.chdir(ROOT)
    argv = [
        "demo", "--strategies", "rs,re", "--seeds", "1", "--budget-runs", "3", "--workers", "0", "--quiet",
        "--results", tmp_path / "results", "--out", tmp_path / "lb",
        "--nb201-out", tmp_path / "lb-nb201", "--nb201-evaluations", "7",
    ]  # fmt: skip
    code, out, err = _cli(capsys, *argv)
    assert (code, err) == (0, ""), err
    assert "NAS-Bench-201 tables: 2 black-box strategies x 1 seeds, 7 evaluations each" in out
    runs = list(csv.DictReader((tmp_path / "results-nb201" / "runs.csv").open()))
    assert sorted({r["table"] for r in runs}) == [
        "nb201-cifar10-hp12",
        "nb201-cifar100-hp12",
        "nb201-imagenet16-hp12",
    ]
    assert all(r["evaluations"] == "7" for r in runs) and (tmp_path / "lb-nb201.md").is_file()
    code, out, _ = _cli(capsys, *argv, "--no-nb201")
    assert code == 0 and "NAS-Bench-201" not in out

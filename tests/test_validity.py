"""External validity (``nasbench validity``): a table judged against a reference table.

Small tables written through :class:`TableWriter`: known monotone and reversed transforms,
a hand-computed top-k / best-rank case, tables in different spaces matched by string,
per-class figures of a table with values per class, strata, and the command line.
"""

from __future__ import annotations

import importlib
import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from nasbench.cli.validity import add_validity
from nasbench.core.errors import ConfigError, MetricError
from nasbench.core.schema import STATUS_DONE, STATUS_PENDING, canonical_within
from nasbench.core.space import CellSpace, get_space
from nasbench.core.table import Table, TableWriter, open_table
from nasbench.generation.validity import top_k_inclusion, top_k_overlap, validity
from nasbench.reporting.validity import render_validity

NB201 = get_space("nb201")
#: The command-line module (``nasbench.cli.main`` the attribute is the function ``main``).
cli_main = importlib.import_module("nasbench.cli.main")


def write_table(
    path: Path,
    space: CellSpace,
    indices: Sequence[int],
    values: np.ndarray,
    *,
    values_per: str = "architecture",
    metric: str = "test_acc",
    dataset: str = "synthetic",
) -> Table:
    """A table holding the ascending ``indices`` of ``space`` with ``values`` ([rows] or
    [rows, epochs], aligned with ``indices``; NaN leaves a run pending), one seed. With
    values per class, a class takes the values of its first row."""
    indices = np.asarray(indices, dtype=np.int64)
    assert np.all(np.diff(indices) > 0)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    writer = TableWriter.create(
        path,
        space=space,
        model={"preset": "tiny"},
        dataset={"name": dataset},
        protocol={"epochs": values.shape[1]},
        seeds=[0],
        num_epochs=values.shape[1],
        params=np.ones(indices.shape[0], dtype=np.int64),
        flops=np.ones(indices.shape[0], dtype=np.int64),
        indices=indices,
        metrics=[metric],
        values_per=values_per,
        created="2024-05-01T12:00:00+00:00",
    )
    if values_per == "class":  # one row per class (archs/unique is ascending, as np.unique gives)
        _, first_rows = np.unique(canonical_within(space, indices), return_index=True)
        values = values[first_rows]
    measured = ~np.all(np.isnan(values), axis=1)
    status = np.where(measured, STATUS_DONE, STATUS_PENDING).astype(np.int8)[:, None]
    writer.write_metric_block(metric, values[:, None, :], status)
    writer.close()
    return open_table(path)


def sample_indices(count: int, seed: int = 0) -> np.ndarray:
    return np.sort(np.random.default_rng(seed).choice(NB201.size, size=count, replace=False))


def strings(space: CellSpace, indices: Sequence[int]) -> list[str]:
    return [str(space.from_index(int(i))) for i in indices]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Table, np.ndarray, np.ndarray]:
    """A 400-architecture reference with distinct values: (table, indices, values)."""
    indices = sample_indices(400)
    values = np.random.default_rng(1).permutation(400) * 0.1 + 10.0
    path = tmp_path_factory.mktemp("validity") / "reference.h5"
    return write_table(path, NB201, indices, values, dataset="ref-data"), indices, values


# --------------------------------------------------------------------- known transforms
def test_monotone_transform_agrees_perfectly(reference, tmp_path: Path) -> None:
    ref, indices, values = reference
    table = write_table(tmp_path / "t.h5", NB201, indices, 2.0 * values + 5.0)
    result = validity(table, ref)
    view = result["per_architecture"]
    assert result["n_shared"] == view["n"] == 400
    assert view["spearman"]["statistic"] == pytest.approx(1.0)
    assert view["kendall"]["statistic"] == pytest.approx(1.0)
    assert [e["k"] for e in view["top_k"]] == [4, 20, 40]
    assert [e["overlap_percent"] for e in view["top_k"]] == pytest.approx([100.0, 100.0, 100.0])
    best = view["best"]
    assert best["reference_rank"] == 1
    assert best["reference_percentile"] == pytest.approx(100.0)
    assert best["reference_regret"] == pytest.approx(0.0)
    assert best["arch"] == strings(NB201, [indices[np.argmax(values)]])[0]


def test_reversed_ranking_disagrees_perfectly(reference, tmp_path: Path) -> None:
    ref, indices, values = reference
    table = write_table(tmp_path / "t.h5", NB201, indices, -values)
    view = validity(table, ref)["per_architecture"]
    assert view["spearman"]["statistic"] == pytest.approx(-1.0)
    assert view["kendall"]["statistic"] == pytest.approx(-1.0)
    assert [e["overlap_percent"] for e in view["top_k"]] == pytest.approx([0.0, 0.0, 0.0])
    assert view["best"]["reference_rank"] == 400
    assert view["best"]["reference_percentile"] == pytest.approx(0.0)
    assert view["best"]["reference_regret"] == pytest.approx(values.max() - values.min())


def test_correlations_match_scipy_with_ties(reference, tmp_path: Path) -> None:
    ref, indices, values = reference
    rng = np.random.default_rng(2)
    noisy = np.round(values + rng.normal(0, 8, values.shape[0]))  # rounding makes ties
    table = write_table(tmp_path / "t.h5", NB201, indices, noisy)
    view = validity(table, ref)["per_architecture"]
    spearman = stats.spearmanr(noisy, values)
    kendall = stats.kendalltau(noisy, values)
    assert view["spearman"]["statistic"] == pytest.approx(spearman.statistic, abs=1e-12)
    assert view["spearman"]["p_value"] == pytest.approx(spearman.pvalue, rel=1e-9)
    assert view["kendall"]["statistic"] == pytest.approx(kendall.statistic, abs=1e-12)
    assert view["kendall"]["p_value"] == pytest.approx(kendall.pvalue, rel=1e-9)
    assert 0.3 < view["spearman"]["statistic"] < 0.99


def test_loss_metric_is_ranked_lower_is_better(reference, tmp_path: Path) -> None:
    ref, indices, values = reference
    table = write_table(tmp_path / "t.h5", NB201, indices, 100.0 - values, metric="test_loss")
    result = validity(table, ref, metric="test_loss")
    assert result["table"]["higher_is_better"] is False
    assert result["per_architecture"]["spearman"]["statistic"] == pytest.approx(1.0)
    assert result["per_architecture"]["best"]["reference_rank"] == 1


# --------------------------------------------------------------------- hand-computed case
def test_hand_computed_top_k_and_best(tmp_path: Path) -> None:
    """40 architectures; k = 1, 2, 4. Reference ranks r0 > r1 > ... > r39 (values 40..1).

    The table's order puts reference #2 first, then #0, then #5, #1, then the rest in
    reference order: top-1 {2} vs {0} -> 0 %; top-2 {2, 0} vs {0, 1} -> 50 %;
    top-4 {2, 0, 5, 1} vs {0, 1, 2, 3} -> 75 %. The table's best is reference #2: rank 3,
    percentile 100 * 37 / 39, regret 40 - 38 = 2.
    """
    indices = sample_indices(40, seed=3)
    reference_values = 40.0 - np.arange(40)
    table_order = [2, 0, 5, 1, *[i for i in range(40) if i not in (2, 0, 5, 1)]]
    table_values = np.empty(40)
    table_values[table_order] = 100.0 - np.arange(40)
    ref = write_table(tmp_path / "ref.h5", NB201, indices, reference_values)
    table = write_table(tmp_path / "t.h5", NB201, indices, table_values)
    view = validity(table, ref)["per_architecture"]
    assert [(e["k"], e["overlap_percent"]) for e in view["top_k"]] == [(1, 0.0), (2, 50.0), (4, 75.0)]
    best = view["best"]
    assert best["arch"] == strings(NB201, [indices[2]])[0]
    assert best["reference_rank"] == 3
    assert best["reference_percentile"] == pytest.approx(100.0 * 37 / 39)
    assert best["reference_regret"] == pytest.approx(2.0)
    assert best["reference_best_value"] == 40.0
    assert best["tied"] == 1


def test_ties_at_the_cut_off_count_fractionally() -> None:
    assert top_k_inclusion(np.array([3.0, 2.0, 2.0, 1.0]), 2).tolist() == [1.0, 0.5, 0.5, 0.0]
    assert top_k_inclusion(np.array([5.0, 5.0, 5.0]), 1).tolist() == pytest.approx([1 / 3] * 3)
    # Table ties {a, b} for first place; the reference's top 1 is a: expected overlap 1/2.
    result = top_k_overlap(np.array([9.0, 9.0, 1.0, 0.0]), np.array([4.0, 3.0, 2.0, 1.0]), 0.25)
    assert result == {"fraction": 0.25, "k": 1, "overlap_percent": 50.0}
    with pytest.raises(ConfigError, match="k must be"):
        top_k_inclusion(np.array([1.0]), 2)


def test_tied_best_takes_the_first_in_table_order(tmp_path: Path) -> None:
    indices = sample_indices(30, seed=4)
    reference_values = np.arange(30, dtype=np.float64)
    table_values = np.arange(30, dtype=np.float64)
    table_values[[5, 20]] = 100.0  # tied best: rows 5 and 20 (reference ranks 25 and 10)
    ref = write_table(tmp_path / "ref.h5", NB201, indices, reference_values)
    table = write_table(tmp_path / "t.h5", NB201, indices, table_values)
    best = validity(table, ref)["per_architecture"]["best"]
    assert best["arch"] == strings(NB201, [indices[5]])[0]
    assert best["reference_rank"] == 25
    assert best["tied"] == 2
    assert best["tied_reference_rank_range"] == [10, 25]


# --------------------------------------------------------------------- matching
def test_tables_in_different_spaces_match_by_string(reference, tmp_path: Path) -> None:
    """The reference lives in the 7-op space (other indices for the same cells) and holds
    cells the table lacks; the table holds cells the reference lacks."""
    _, indices, values = reference
    seven = get_space("nb201-7op")
    names = strings(NB201, indices)
    seven_indices = np.asarray([seven.index(name) for name in names])
    assert not np.array_equal(seven_indices, indices)
    extra = np.asarray([seven.index(("sep_conv_3x3",) * 6), seven.index(("max_pool_3x3",) * 6)])
    order = np.argsort(np.concatenate([seven_indices, extra]))
    seven_ref = write_table(
        tmp_path / "ref7.h5",
        seven,
        np.concatenate([seven_indices, extra])[order],
        np.concatenate([values, [99.0, 98.0]])[order],
    )
    others = np.setdiff1d(np.arange(NB201.size), indices)[:7]
    table_indices = np.concatenate([indices, others])
    order = np.argsort(table_indices)
    table = write_table(
        tmp_path / "t.h5", NB201, table_indices[order], np.concatenate([values, np.zeros(7)])[order]
    )
    result = validity(table, seven_ref)
    assert result["matched"] == result["n_shared"] == 400
    assert result["per_architecture"]["spearman"]["statistic"] == pytest.approx(1.0)
    assert result["reference"]["file"] == "ref7.h5"


def test_unmeasured_architectures_are_dropped(reference, tmp_path: Path) -> None:
    ref, indices, values = reference
    table_values = values.copy()
    table_values[:50] = np.nan
    table = write_table(tmp_path / "t.h5", NB201, indices, table_values)
    result = validity(table, ref)
    assert (result["matched"], result["n_shared"], result["not_measured"]) == (400, 350, 50)
    assert result["per_architecture"]["spearman"]["statistic"] == pytest.approx(1.0)


def test_fewer_than_two_shared_is_refused(reference, tmp_path: Path) -> None:
    ref, indices, _ = reference
    outside = np.setdiff1d(np.arange(NB201.size), indices)
    only_one = np.sort(np.concatenate([outside[:5], indices[:1]]))
    table = write_table(tmp_path / "t.h5", NB201, only_one, np.arange(6.0))
    with pytest.raises(ConfigError, match=r"share 1 measured architecture\(s\).*at least 2"):
        validity(table, ref)


def test_epoch_and_metric_choice(reference, tmp_path: Path) -> None:
    ref, indices, values = reference
    table = write_table(tmp_path / "t.h5", NB201, indices, np.stack([-values, values], axis=1))
    assert validity(table, ref)["per_architecture"]["spearman"]["statistic"] == pytest.approx(1.0)
    early = validity(table, ref, epoch=0)
    assert early["per_architecture"]["spearman"]["statistic"] == pytest.approx(-1.0)
    assert (early["table"]["epoch"], early["table"]["epoch_number"]) == (0, 1)
    with pytest.raises(MetricError, match="out of range"):
        validity(table, ref, epoch=2)
    with pytest.raises(MetricError, match="unknown metric"):
        validity(table, ref, reference_metric="val_acc")
    cost = validity(table, ref, metric="params_m")  # a cost as a (constant) proxy: undefined correlation
    assert cost["table"]["epoch"] is None
    assert cost["per_architecture"]["spearman"]["statistic"] is None


# --------------------------------------------------------------------- per class and strata
def class_sample(num_classes: int, seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Indices of ``num_classes`` classes of 3 to 20 members (all their members), and each
    index's representative."""
    canonical = NB201.canonical_indices()
    representatives, counts = np.unique(canonical, return_counts=True)
    eligible = representatives[(counts >= 3) & (counts <= 20)]
    chosen = np.random.default_rng(seed).choice(eligible, num_classes, replace=False)
    indices = np.nonzero(np.isin(canonical, chosen))[0]
    return indices, canonical[indices]


def test_per_class_averages_the_reference_over_members(tmp_path: Path) -> None:
    indices, representatives = class_sample(60)
    rng = np.random.default_rng(6)
    class_value = {
        int(r): float(v) for r, v in zip(np.unique(representatives), rng.permutation(60), strict=True)
    }
    table_values = np.asarray([class_value[int(r)] for r in representatives])
    reference_values = table_values + rng.normal(0, 10, indices.shape[0])
    ref = write_table(tmp_path / "ref.h5", NB201, indices, reference_values)
    table = write_table(tmp_path / "t.h5", NB201, indices, table_values, values_per="class")
    result = validity(table, ref)
    assert result["classes"] == result["per_class"]["n"] == 60
    sizes = np.unique(representatives, return_counts=True)[1]
    assert result["class_sizes"] == {
        "largest": int(sizes.max()),
        "single_member": 0,
        "archs_in_classes_of_10_or_more": int(sizes[sizes >= 10].sum()),
    }
    assert result["per_architecture"]["n"] == indices.shape[0]

    classes = np.unique(representatives)
    class_table = np.asarray([class_value[int(r)] for r in classes])
    class_reference = np.asarray([reference_values[representatives == r].mean() for r in classes])
    view = result["per_class"]
    assert view["spearman"]["statistic"] == pytest.approx(
        stats.spearmanr(class_table, class_reference).statistic
    )
    assert view["kendall"]["statistic"] == pytest.approx(
        stats.kendalltau(class_table, class_reference).statistic
    )
    arch_view = result["per_architecture"]
    expected = stats.spearmanr(table_values, reference_values).statistic
    assert arch_view["spearman"]["statistic"] == pytest.approx(expected)

    best_class = classes[np.argmax(class_table)]
    assert view["best"]["arch"] == str(NB201.from_index(int(best_class)))
    assert view["best"]["members"] == int(np.sum(representatives == best_class))
    assert view["best"]["reference_value"] == pytest.approx(class_reference[np.argmax(class_table)])
    # Per architecture the whole best class ties; the first member in index order is the representative.
    assert arch_view["best"]["tied"] == view["best"]["members"]
    assert arch_view["best"]["arch"] == view["best"]["arch"]


def test_strata_by_op_composition(reference, tmp_path: Path) -> None:
    ref, indices, values = reference
    rng = np.random.default_rng(7)
    noisy = values + rng.normal(0, 5, values.shape[0])
    table = write_table(tmp_path / "t.h5", NB201, indices, noisy)
    strata = validity(table, ref, min_stratum_size=5)["per_architecture"]["strata"]

    labels: dict[str, list[int]] = {}
    for position, index in enumerate(indices):
        ops = NB201.from_index(int(index)).ops
        label = ", ".join(f"{ops.count(op)} {op}" for op in NB201.ops if ops.count(op))
        labels.setdefault(label, []).append(position)
    large = {label: rows for label, rows in labels.items() if len(rows) >= 5}
    assert strata["strata_total"] == len(labels)
    assert {row["ops"] for row in strata["rows"]} == set(large)
    assert [row["n"] for row in strata["rows"]] == sorted((len(r) for r in large.values()), reverse=True)
    weights, total = 0.0, 0
    for row in strata["rows"]:
        where = large[row["ops"]]
        rho = stats.spearmanr(noisy[where], values[where]).statistic
        assert row["spearman"]["statistic"] == pytest.approx(rho)
        assert row["top_k"]["k"] == math.ceil(0.05 * len(where))
        weights += len(where) * rho
        total += len(where)
    assert strata["weighted_mean_spearman"] == pytest.approx(weights / total)
    with pytest.raises(ConfigError, match="min_stratum_size"):
        validity(table, ref, min_stratum_size=2)


# --------------------------------------------------------------------- JSON and Markdown
def strict_json(text: str) -> object:
    def refuse(name: str) -> None:
        raise AssertionError(f"JSON holds {name}")

    return json.loads(text, parse_constant=refuse)


def test_result_is_json_clean_and_markdown_names_files_only(reference, tmp_path: Path) -> None:
    ref, indices, _ = reference
    table = write_table(tmp_path / "t.h5", NB201, indices, np.full(400, 50.0))  # constant: no Spearman
    result = validity(table, ref)
    assert result["per_architecture"]["spearman"]["statistic"] is None
    strict_json(json.dumps(result, allow_nan=False))
    markdown = render_validity(result)
    assert str(tmp_path) not in markdown and str(tmp_path) not in json.dumps(result)
    assert markdown.startswith("# External validity of t.h5 against reference.h5\n")
    assert "**Headline: per architecture.**" in markdown
    assert "| per architecture (headline) |" in markdown
    assert "nan" not in markdown.lower()


# --------------------------------------------------------------------- command line
@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """``nasbench ARGV`` in-process, with ``validity`` registered if main does not list it yet."""
    if add_validity not in cli_main.BUILTIN_COMMANDS:
        monkeypatch.setattr(cli_main, "BUILTIN_COMMANDS", (*cli_main.BUILTIN_COMMANDS, add_validity))

    def run(*argv: object) -> tuple[int, str, str]:
        code = cli_main.main([str(a) for a in argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def test_cli_markdown_json_and_out(reference, tmp_path: Path, run_cli) -> None:
    ref, indices, values = reference
    write_table(tmp_path / "t.h5", NB201, indices, values + 1.0)
    code, out, err = run_cli("validity", tmp_path / "t.h5", "--against", ref.path)
    assert (code, err) == (0, "")
    assert out.startswith("# External validity of t.h5 against reference.h5")
    assert "| per architecture (headline) | 400 | 1.000 (p < 1e-300) |" in out

    code, out, err = run_cli("validity", tmp_path / "t.h5", "--against", ref.path, "--json")
    assert (code, err) == (0, "")
    data = strict_json(out)
    assert data["per_architecture"]["spearman"]["statistic"] == pytest.approx(1.0)
    assert data["table"]["file"] == "t.h5" and data["reference"]["file"] == "reference.h5"

    target = tmp_path / "report.md"
    code, out, _ = run_cli("validity", tmp_path / "t.h5", "--against", ref.path, "--out", target)
    assert code == 0 and target.read_text() == out
    code, out, err = run_cli("validity", tmp_path / "t.h5", "--against", ref.path, "--out", target)
    assert code == 1 and out == "" and err.count("\n") == 1 and "--overwrite" in err
    code, _, _ = run_cli("validity", tmp_path / "t.h5", "--against", ref.path, "--out", target, "--overwrite")
    assert code == 0


@pytest.mark.parametrize("case", ["missing", "no-shared", "metric"])
def test_cli_errors_are_one_line(reference, tmp_path: Path, run_cli, case: str) -> None:
    ref, indices, _ = reference
    outside = np.setdiff1d(np.arange(NB201.size), indices)[:10]
    write_table(tmp_path / "t.h5", NB201, outside, np.arange(10.0))
    argv: list[object] = ["validity", tmp_path / "t.h5", "--against", ref.path]
    fragment = {"missing": "no such table file", "no-shared": "share 0", "metric": "unknown metric"}[case]
    if case == "missing":
        argv[1] = tmp_path / "nope.h5"
    elif case == "metric":
        argv += ["--metric", "bogus"]
    code, out, err = run_cli(*argv)
    assert (code, out) == (1, "")
    assert err.startswith("nasbench: error: ") and err.count("\n") == 1 and fragment in err

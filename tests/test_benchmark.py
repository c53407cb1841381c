"""Behaviour of the simulated benchmark (:mod:`nasbench.bench.benchmark`).

Every expected value is computed here from the table's own arrays (``Table.raw``,
``run_status``, ``class_row``, ``unique``, ``canonical``, device metrics), never by asking
the benchmark the same question twice.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from nasbench.bench.benchmark import (
    TRAJECTORY_COLUMNS,
    Benchmark,
    Budget,
    BudgetExhausted,
    Constraint,
    Result,
    Task,
)
from nasbench.core.errors import ArchitectureError, ConfigError, MetricError, NasbenchError, TableError
from nasbench.core.signals import SearchSignal
from nasbench.core.table import STATUS_DONE, STATUS_FAILED, STATUS_PENDING, Table, TableWriter, open_table
from nasbench.search import create_strategy
from nasbench.testing import synthetic_table

NUM_EPOCHS = 5
LATENCY = "cpu-1t/latency_ms_b1"
INT_COLUMNS = ("evaluation", "index", "epochs", "incumbent_index")


# --------------------------------------------------------------------- reference values
@dataclasses.dataclass
class Ref:
    """A table and the expected values derived from its raw arrays."""

    table: Table
    raw: dict[str, np.ndarray]  # float64 [U, S, E], as stored
    status: np.ndarray  # int8 [U, S]
    class_row: np.ndarray  # [N] metric row of every architecture
    final_test: np.ndarray  # [U] mean over recorded seeds of the last-epoch test accuracy

    @classmethod
    def of(cls, table: Table) -> Ref:
        raw = {name: table.raw(name).astype(np.float64) for name in table.epoch_metrics}
        final = raw["test_acc"][:, :, -1]
        counts = np.sum(~np.isnan(final), axis=1)
        with np.errstate(invalid="ignore"):
            mean = np.where(counts > 0, np.nansum(final, axis=1) / np.maximum(counts, 1), np.nan)
        return cls(table, raw, np.asarray(table.run_status), np.asarray(table.class_row), mean)

    @property
    def num_seeds(self) -> int:
        return self.status.shape[1]

    def klass(self, index: int) -> int:
        return int(self.class_row[index])

    def column(self, result: Result) -> int:
        """The table seed column a (non-failed) result was read from: the only one whose
        stored values at that epoch are the result's."""
        c, e = self.klass(result.index), result.epochs - 1
        hits = [
            s
            for s in range(self.num_seeds)
            if self.raw["val_acc"][c, s, e] == result.val_acc
            and self.raw["train_loss"][c, s, e] == result.train_loss
        ]
        assert len(hits) == 1, f"result {result} matches table seed columns {hits}"
        return hits[0]

    def train_seconds(self, klass: int, column: int, first: int, last: int) -> float:
        """Seconds of training epochs first..last (1-based, inclusive)."""
        return float(np.sum(self.raw["train_seconds"][klass, column, first - 1 : last]))

    def eval_seconds(self, klass: int, column: int, epochs: int) -> float:
        value = self.raw["eval_seconds"][klass, column, epochs - 1]
        return 0.0 if math.isnan(value) else float(value)

    def first_cost(self, klass: int, column: int, epochs: int) -> float:
        return self.train_seconds(klass, column, 1, epochs) + self.eval_seconds(klass, column, epochs)

    def multi_member_classes(self) -> list[np.ndarray]:
        """Space indices of the members of every class with at least three members."""
        canonical = self.table.canonical
        order = np.argsort(canonical, kind="stable")
        groups = np.split(order, np.nonzero(np.diff(canonical[order]))[0] + 1)
        return [g for g in groups if g.size >= 3]


def _copy(source: Path, target: Path) -> Path:
    shutil.copyfile(source, target)
    return target


def _with_status(source: Table, target: Path, status: np.ndarray) -> Table:
    path = _copy(source.path, target)
    with TableWriter(path) as writer:
        writer.write_status_block(status)
    return open_table(path)


@pytest.fixture(scope="module")
def ref(tmp_path_factory: pytest.TempPathFactory) -> Ref:
    folder = tmp_path_factory.mktemp("benchmark")
    return Ref.of(synthetic_table(folder / "base.h5", num_epochs=NUM_EPOCHS, seed=11))


@pytest.fixture(scope="module")
def failed_ref(tmp_path_factory: pytest.TempPathFactory) -> Ref:
    folder = tmp_path_factory.mktemp("benchmark-failed")
    table = synthetic_table(folder / "failed.h5", num_epochs=NUM_EPOCHS, seed=12, failed_fraction=0.3)
    return Ref.of(table)


@pytest.fixture(scope="module")
def sample_classes(ref: Ref) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.sort(rng.choice(ref.table.num_unique, size=300, replace=False))


def _columns(ref: Ref, seed: int, classes: np.ndarray, table: Table | None = None) -> np.ndarray:
    """The table seed column a fresh benchmark run with ``seed`` uses for each class."""
    bench = Benchmark(table or ref.table, seed=seed)
    unique = ref.table.unique
    return np.array([ref.column(bench.evaluate(int(unique[c]))) for c in classes])


def _holdout(ref: Ref, seed: int) -> np.ndarray:
    """float64 [U, E]: the hold-out score of every class in the run ``seed``: the test
    accuracy of the seed column the run did not draw (``ref``'s table has two seeds, every
    run done), after every epoch."""
    assert ref.num_seeds == 2 and np.all(ref.status == STATUS_DONE)
    classes = np.arange(ref.table.num_unique)
    return ref.raw["test_acc"][classes, 1 - _columns(ref, seed, classes), :]


# --------------------------------------------------------------------- the seed drawn per class
def test_seed_is_reproducible_and_varies_with_the_benchmark_seed(
    ref: Ref, sample_classes: np.ndarray
) -> None:
    first = _columns(ref, 5, sample_classes)
    np.testing.assert_array_equal(first, _columns(ref, 5, sample_classes))
    other = _columns(ref, 6, sample_classes)
    assert np.any(first != other), "two benchmark seeds drew the same table seed for every class"
    assert np.any(first == other)


def test_seed_draw_uses_every_recorded_seed(ref: Ref, sample_classes: np.ndarray) -> None:
    draws = np.stack([_columns(ref, seed, sample_classes) for seed in range(12)])
    assert set(np.unique(draws).tolist()) == set(range(ref.num_seeds))
    share = float(np.mean(draws == 0))
    assert 0.4 < share < 0.6, f"table seed 0 drawn for {share:.0%} of (class, run) pairs"
    # every class sees both table seeds over twelve benchmark seeds
    assert np.all(draws.min(axis=0) == 0) and np.all(draws.max(axis=0) == 1)


def test_seed_is_one_of_the_recorded_seeds(ref: Ref, sample_classes: np.ndarray, tmp_path: Path) -> None:
    # Mark seed column 1 pending for half the classes; its values stay in the file, so a
    # benchmark that read them would be caught by the exact match in Ref.column.
    status = ref.status.copy()
    half = sample_classes[::2]
    status[half, 1] = STATUS_PENDING
    table = _with_status(ref.table, tmp_path / "half-pending.h5", status)
    draws = np.stack([_columns(ref, seed, sample_classes, table) for seed in range(6)])
    assert np.all(draws[:, ::2] == 0), "a class was read from a pending (unrecorded) run"
    assert np.any(draws[:, 1::2] == 1)


def test_every_member_and_epoch_reads_the_class_seed(ref: Ref) -> None:
    bench = Benchmark(ref.table, seed=3)
    groups = ref.multi_member_classes()[:40]
    assert len(groups) == 40
    for k, members in enumerate(groups):
        columns = set()
        for j, index in enumerate(members[:3].tolist()):
            epochs = 1 + (k + 2 * j) % NUM_EPOCHS
            result = bench.evaluate(index, epochs)
            columns.add(ref.column(result))
            c, s = ref.klass(index), ref.column(result)
            assert result.index == index and result.epochs == epochs
            for name in ("val_acc", "val_loss", "train_acc", "train_loss"):
                assert getattr(result, name) == ref.raw[name][c, s, epochs - 1], name
            assert result.failed is False
        assert len(columns) == 1, f"members of class {members[0]} read table seeds {columns}"


def test_metrics_at_every_epoch_follow_one_curve(ref: Ref, sample_classes: np.ndarray) -> None:
    bench = Benchmark(ref.table, seed=4)
    for c in sample_classes[:30].tolist():
        index = int(ref.table.unique[c])
        results = [bench.evaluate(index, e) for e in range(1, NUM_EPOCHS + 1)]
        columns = {ref.column(r) for r in results}
        assert len(columns) == 1
        s = columns.pop()
        got = [r.val_acc for r in results]
        np.testing.assert_array_equal(got, ref.raw["val_acc"][c, s, :])
        np.testing.assert_array_equal([r.val_loss for r in results], ref.raw["val_loss"][c, s, :])
    # the default is a full run
    index = int(ref.table.unique[sample_classes[0]])
    assert bench.evaluate(index).epochs == NUM_EPOCHS


def test_architecture_forms_are_equivalent(ref: Ref) -> None:
    bench = Benchmark(ref.table, seed=0)
    index = 4321
    arch = ref.table.space.from_index(index)
    results = [bench.evaluate(form, 2) for form in (index, np.int64(index), str(arch), arch)]
    assert {r.index for r in results} == {index}
    assert len({r.val_acc for r in results}) == 1


# --------------------------------------------------------------------- simulated cost
def test_cost_of_first_run_continuation_reevaluation_and_members(ref: Ref) -> None:
    members = ref.multi_member_classes()[0]
    a, b = int(members[0]), int(members[1])
    bench = Benchmark(ref.table, seed=9)
    c = ref.klass(a)

    first = bench.evaluate(a, 2)
    s = ref.column(first)
    assert first.cost_seconds == pytest.approx(ref.train_seconds(c, s, 1, 2) + ref.eval_seconds(c, s, 2))
    clock = first.cost_seconds
    assert first.sim_seconds == pytest.approx(clock)

    steps = [
        (a, 4, ref.train_seconds(c, s, 3, 4) + ref.eval_seconds(c, s, 4)),  # continue 2 -> 4
        (a, 3, ref.eval_seconds(c, s, 3)),  # lower: evaluation only
        (a, 4, ref.eval_seconds(c, s, 4)),  # equal: evaluation only
        (b, 1, ref.eval_seconds(c, s, 1)),  # another member shares the trained state
        (b, 5, ref.train_seconds(c, s, 5, 5) + ref.eval_seconds(c, s, 5)),  # member continues
        (a, 5, ref.eval_seconds(c, s, 5)),
    ]
    for index, epochs, expected in steps:
        result = bench.evaluate(index, epochs)
        assert result.cost_seconds == pytest.approx(expected, rel=1e-9), (index, epochs)
        clock += expected
        assert result.sim_seconds == pytest.approx(clock, rel=1e-9)
        assert bench.sim_seconds == result.sim_seconds

    # another class starts from scratch
    other = int(ref.table.unique[ref.klass(a) + 1])
    result = bench.evaluate(other, 3)
    o, t = ref.klass(other), ref.column(result)
    assert result.cost_seconds == pytest.approx(ref.first_cost(o, t, 3), rel=1e-9)


def test_table_without_eval_seconds_charges_training_only(ref: Ref, tmp_path: Path) -> None:
    path = _copy(ref.table.path, tmp_path / "no-eval.h5")
    with h5py.File(path, "r+") as handle:
        del handle["metrics/eval_seconds"]
    TableWriter(path).close()  # re-seal the deliberate edit
    table = open_table(path)
    bench = Benchmark(table, seed=0)
    result = bench.evaluate(100, 3)
    c, s = ref.klass(100), ref.column(result)
    assert result.cost_seconds == pytest.approx(ref.train_seconds(c, s, 1, 3), rel=1e-9)


def test_task_knows_the_run_cost_and_the_protocol(ref: Ref) -> None:
    """``mean_run_seconds``: training of every epoch plus the final evaluation (the clock's
    charge for a full run from scratch), averaged over the classes for this run's seeds."""
    bench = Benchmark(ref.table, seed=2)
    costs = [bench.evaluate(int(index)).cost_seconds for index in ref.table.unique]
    assert bench.task.mean_run_seconds == pytest.approx(float(np.mean(costs)), rel=1e-12)
    assert bench.task.protocol == ref.table.protocol and bench.task.protocol is not ref.table.protocol
    assert bench.with_constraint(f"{LATENCY}<=10").task.protocol == ref.table.protocol


def test_charge_advances_the_clock_without_an_evaluation(ref: Ref) -> None:
    bench = Benchmark(ref.table, seed=0)
    bench.charge(2)
    bench.charge(np.float64(0.5))
    assert bench.sim_seconds == 2.5 and bench.evaluations == 0 and bench.trajectory()["evaluation"].size == 0
    for bad in (-1.0, float("inf"), float("nan"), True, "3"):
        with pytest.raises(ConfigError, match="seconds"):
            bench.charge(bad)
    assert bench.sim_seconds == 2.5


# --------------------------------------------------------------------- budgets
def test_evaluation_budget_stops_exactly(ref: Ref) -> None:
    bench = Benchmark(ref.table, seed=0, budget=Budget(evaluations=7))
    for k in range(7):
        assert not bench.exhausted
        bench.evaluate(k * 11, 1)
    assert bench.exhausted and bench.evaluations == 7
    clock = bench.sim_seconds
    with pytest.raises(BudgetExhausted):
        bench.evaluate(0, 1)
    assert bench.evaluations == 7 and bench.sim_seconds == clock
    assert len(bench.trajectory()["evaluation"]) == 7


def test_seconds_budget_is_hard(ref: Ref) -> None:
    a, b, c = (int(ref.table.unique[k]) for k in (3, 2000, 4000))  # three classes
    probe = Benchmark(ref.table, seed=1)
    ca = probe.evaluate(a).cost_seconds
    cb = probe.evaluate(b).cost_seconds
    # independent check of the probe's costs
    for index, cost in ((a, ca), (b, cb)):
        result = Benchmark(ref.table, seed=1).evaluate(index)
        assert cost == pytest.approx(ref.first_cost(ref.klass(index), ref.column(result), NUM_EPOCHS))

    limit = ca + 0.5 * cb
    bench = Benchmark(ref.table, seed=1, budget=Budget(seconds=limit))
    first = bench.evaluate(a)
    assert not bench.exhausted
    with pytest.raises(BudgetExhausted):
        bench.evaluate(b)
    assert bench.sim_seconds == limit
    assert bench.evaluations == 1
    assert bench.incumbent_index == a
    trajectory = bench.trajectory()
    assert trajectory["index"].tolist() == [a]
    assert trajectory["sim_seconds"].tolist() == [first.sim_seconds]
    assert bench.exhausted
    with pytest.raises(BudgetExhausted):
        bench.evaluate(a, 1)  # even a cheap re-evaluation
    assert bench.sim_seconds == limit and bench.evaluations == 1

    # An evaluation that ends exactly at the budget finishes.
    exact = Benchmark(ref.table, seed=1, budget=Budget(seconds=ca + cb))
    exact.evaluate(a)
    exact.evaluate(b)
    assert exact.evaluations == 2 and exact.exhausted
    with pytest.raises(BudgetExhausted):
        exact.evaluate(c)


def test_budget_with_both_limits_stops_at_the_first(ref: Ref) -> None:
    by_count = Benchmark(ref.table, seed=0, budget=Budget(evaluations=3, seconds=1e9))
    for k in range(3):
        by_count.evaluate(k)
    assert by_count.exhausted
    by_time = Benchmark(ref.table, seed=0, budget=Budget(evaluations=1000, seconds=60.0))
    with pytest.raises(BudgetExhausted):
        for k in range(1000):
            by_time.evaluate(k * 7)
    assert by_time.sim_seconds == 60.0 and 1 <= by_time.evaluations < 1000
    assert Budget(evaluations=3, seconds=2.5).to_dict() == {"evaluations": 3, "seconds": 2.5}


# --------------------------------------------------------------------- failed runs
def test_failed_runs_score_zero(failed_ref: Ref) -> None:
    ref = failed_ref
    bench = Benchmark(ref.table, seed=2)
    counts = {"failed": 0, "done": 0, "mixed-failed": 0}
    for c, rep in enumerate(ref.table.unique.tolist()):
        result = bench.evaluate(rep)
        # identify the seed column by the training time charged (kept for failed runs)
        costs = [ref.first_cost(c, s, NUM_EPOCHS) for s in range(ref.num_seeds)]
        errors = [abs(cost - result.cost_seconds) for cost in costs]
        s = int(np.argmin(errors))
        assert errors[s] <= 1e-9 * result.cost_seconds and sorted(errors)[1] > 1e-6
        if ref.status[c, s] == STATUS_FAILED:
            assert result.failed is True and result.val_acc == 0.0
            counts["failed"] += 1
            counts["mixed-failed"] += int(np.any(ref.status[c] != STATUS_FAILED))
        else:
            assert result.failed is False
            assert result.val_acc == ref.raw["val_acc"][c, s, -1] > 0
            counts["done"] += 1
    assert counts["failed"] > 100 and counts["done"] > 1000 and counts["mixed-failed"] > 50


def test_failed_run_with_stored_values_scores_zero(
    ref: Ref, sample_classes: np.ndarray, tmp_path: Path
) -> None:
    # A failed run keeps the values it recorded before diverging; they must not score.
    status = ref.status.copy()
    both, one = sample_classes[:50], sample_classes[50:150]
    status[both, :] = STATUS_FAILED
    status[one, 0] = STATUS_FAILED
    table = _with_status(ref.table, tmp_path / "failed-kept.h5", status)
    assert not np.isnan(table.raw("val_acc")[both]).any()
    bench = Benchmark(table, seed=1)
    for c in both.tolist():
        result = bench.evaluate(int(ref.table.unique[c]))
        assert result.failed is True and result.val_acc == 0.0
    outcomes = set()
    for c in one.tolist():
        result = bench.evaluate(int(ref.table.unique[c]), 2)
        assert result.failed is (result.val_acc == 0.0)
        if not result.failed:
            assert result.val_acc == ref.raw["val_acc"][c, 1, 1]
        outcomes.add(result.failed)
    assert outcomes == {True, False}
    assert bench.incumbent_index not in set(ref.table.unique[both].tolist())


def test_test_accuracy_is_the_mean_over_recorded_seeds(failed_ref: Ref) -> None:
    ref = failed_ref
    bench = Benchmark(ref.table, seed=0, scoring="all-seeds")
    all_failed = np.all(ref.status == STATUS_FAILED, axis=1)
    assert all_failed.any() and (~all_failed).any()
    for index in range(0, ref.table.num_archs, 97):
        expected = ref.final_test[ref.klass(index)]
        got = bench.test_acc(index)
        assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected, rel=1e-12)
    assert bench.best_test_acc == pytest.approx(float(np.nanmax(ref.final_test)), rel=1e-12)


# --------------------------------------------------------------------- incumbent and regret
def _expected_incumbents(results: list[Result], feasible: np.ndarray | None = None) -> list[int]:
    best, incumbent, out = -math.inf, -1, []
    for r in results:
        if (feasible is None or feasible[r.index]) and r.val_acc > best:
            best, incumbent = r.val_acc, r.index
        out.append(incumbent)
    return out


def test_incumbent_and_regret(ref: Ref) -> None:
    rng = np.random.default_rng(21)
    bench = Benchmark(ref.table, seed=8)
    indices = rng.integers(ref.table.num_archs, size=60).tolist()
    epochs = rng.integers(1, NUM_EPOCHS + 1, size=60).tolist()
    results = [bench.evaluate(i, e) for i, e in zip(indices, epochs, strict=True)]
    # ties: the incumbent again, and another member of its class, at the same epochs
    top = max(r.val_acc for r in results)
    leading = next(r for r in results if r.val_acc == top)
    leader = leading.index
    mates = np.nonzero(ref.table.canonical == ref.table.canonical[leader])[0]
    mate = int(mates[mates != leader][0]) if mates.size > 1 else leader
    results.append(bench.evaluate(leader, leading.epochs))
    results.append(bench.evaluate(mate, leading.epochs))
    assert results[-1].val_acc == results[-2].val_acc == top

    incumbents = _expected_incumbents(results)
    assert incumbents[-1] == leader
    # Scored on the seed the run did not draw, at the epochs its class was trained to so far.
    holdout = _holdout(ref, 8)
    best_test = float(np.nanmax(holdout[:, -1]))
    assert bench.best_test_acc == pytest.approx(best_test, rel=1e-12)
    trained: dict[int, int] = {}
    expected_test_list = []
    for r, incumbent in zip(results, incumbents, strict=True):
        trained[ref.klass(r.index)] = max(trained.get(ref.klass(r.index), 0), r.epochs)
        klass = ref.klass(incumbent)
        expected_test_list.append(holdout[klass, trained[klass] - 1])
    trajectory = bench.trajectory()
    assert trajectory["evaluation"].tolist() == list(range(1, len(results) + 1))
    assert trajectory["index"].tolist() == [r.index for r in results]
    assert trajectory["epochs"].tolist() == [r.epochs for r in results]
    assert trajectory["val_acc"].tolist() == [r.val_acc for r in results]
    assert trajectory["sim_seconds"].tolist() == [r.sim_seconds for r in results]
    assert trajectory["incumbent_index"].tolist() == incumbents
    expected_val = [max(r.val_acc for r in results[: k + 1]) for k in range(len(results))]
    assert trajectory["incumbent_val_acc"].tolist() == expected_val
    expected_test = np.array(expected_test_list)
    np.testing.assert_allclose(trajectory["incumbent_test_acc"], expected_test, rtol=1e-12)
    np.testing.assert_allclose(trajectory["regret"], best_test - expected_test, rtol=1e-9, atol=1e-12)
    assert np.all(trajectory["regret"] >= 0)
    assert any(r.epochs < NUM_EPOCHS for r in results), "the sequence should train some cells partly"
    assert bench.incumbent_index == leader
    assert bench.incumbent == ref.table.space.from_index(leader)
    assert len(set(incumbents)) > 3, "the sequence should change the incumbent several times"


def _assert_regret_moves_with_incumbent(trajectory: dict[str, np.ndarray]) -> None:
    """Regret is a function of the incumbent: it changes only when the incumbent does."""
    same = np.diff(trajectory["incumbent_index"]) == 0
    steps = np.diff(trajectory["regret"])
    assert np.all(steps[same & ~np.isnan(steps)] == 0)


@pytest.mark.parametrize("scoring", ["holdout", "all-seeds"])
def test_regret_decreases_as_the_incumbent_improves(ref: Ref, scoring: str) -> None:
    # Classes chained so that each one's final validation accuracy on every seed beats the
    # previous one's on every seed, and so does its final test accuracy: full runs in this
    # order make each a new incumbent with a higher score, whatever seeds are drawn.
    final_val = ref.raw["val_acc"][:, :, -1]
    final_test = ref.raw["test_acc"][:, :, -1]
    chain: list[int] = []
    for c in np.argsort(ref.final_test).tolist():
        if not chain or (
            final_val[c].min() > final_val[chain[-1]].max() + 0.002
            and final_test[c].min() > final_test[chain[-1]].max()
        ):
            chain.append(c)
    assert len(chain) >= 8
    bench = Benchmark(ref.table, seed=0, scoring=scoring)
    for c in chain:
        bench.evaluate(int(ref.table.unique[c]))
    trajectory = bench.trajectory()
    assert trajectory["incumbent_index"].tolist() == ref.table.unique[chain].tolist()
    regret = trajectory["regret"]
    score = _holdout(ref, 0)[:, -1] if scoring == "holdout" else ref.final_test
    np.testing.assert_allclose(regret, float(np.nanmax(score)) - score[chain], rtol=1e-9)
    assert np.all(np.diff(regret) < 0), regret


def test_constraint_keeps_infeasible_architectures_out(ref: Ref) -> None:
    latency = ref.table.metric(LATENCY)
    limit = float(np.quantile(latency, 0.3, method="lower"))
    feasible = latency <= limit
    assert 0.05 < feasible.mean() < 0.6
    # Full runs only, so each class's score is its final one; under the run seed 1 (not every
    # seed) the best class on the hold-out values is infeasible, which the test needs.
    score = _holdout(ref, 1)[:, -1]
    best_feasible = float(np.nanmax(score[ref.class_row[feasible]]))
    assert best_feasible < float(np.nanmax(score))

    final_val = np.nanmean(ref.raw["val_acc"][:, :, -1], axis=1)[ref.class_row]
    strong_infeasible = np.argsort(np.where(feasible, -np.inf, final_val))[::-1][:5]
    rng = np.random.default_rng(5)
    sequence = [*strong_infeasible.tolist(), *rng.integers(ref.table.num_archs, size=60).tolist()]

    for constraint in (Constraint(LATENCY, limit), f"{LATENCY}<={limit!r}"):
        bench = Benchmark(ref.table, seed=1, constraint=constraint)
        assert bench.constraint == Constraint(LATENCY, limit)
        assert bench.task.constraint == Constraint(LATENCY, limit)
        assert bench.best_test_acc == pytest.approx(best_feasible, rel=1e-12)
        assert [bench.task.feasible(i) for i in range(0, ref.table.num_archs, 50)] == feasible[::50].tolist()
        results = [bench.evaluate(int(i)) for i in sequence]
        incumbents = _expected_incumbents(results, feasible)
        trajectory = bench.trajectory()
        assert trajectory["incumbent_index"].tolist() == incumbents
        assert incumbents[0] == -1
        assert math.isnan(trajectory["incumbent_val_acc"][0]) and math.isnan(trajectory["regret"][0])
        assert all(i == -1 or feasible[i] for i in incumbents)
        incumbent_val = trajectory["incumbent_val_acc"][-1]
        assert any(r.val_acc > incumbent_val and not feasible[r.index] for r in results), (
            "the test needs an infeasible evaluation that beats the feasible incumbent"
        )
        defined = trajectory["regret"][np.array(incumbents) >= 0]
        np.testing.assert_allclose(
            defined,
            best_feasible - score[ref.class_row[[i for i in incumbents if i >= 0]]],
            rtol=1e-9,
        )
        assert np.all(defined >= 0)
        _assert_regret_moves_with_incumbent(trajectory)

    assert Benchmark(ref.table, seed=2).task.feasible(int(strong_infeasible[0])) is True


# --------------------------------------------------------------------- what a strategy sees
def _reachable(value: Any, depth: int = 0) -> list[Any]:
    """Objects reachable from ``value`` through attributes, mappings and sequences."""
    out = [value]
    if depth >= 3 or isinstance(value, (str, bytes, int, float, np.ndarray, type)):
        return out
    children: list[Any] = []
    if isinstance(value, dict):
        children = list(value.values())
    elif isinstance(value, (list, tuple)):
        children = list(value)
    else:
        children = list(getattr(value, "__dict__", {}).values())
        for slot in getattr(type(value), "__slots__", ()):
            if hasattr(value, slot):
                children.append(getattr(value, slot))
        if dataclasses.is_dataclass(value):
            children += [getattr(value, f.name) for f in dataclasses.fields(value)]
    for child in children:
        out += _reachable(child, depth + 1)
    return out


def test_task_exposes_free_properties_only(ref: Ref) -> None:
    bench = Benchmark(ref.table, seed=0)
    task = bench.task
    assert isinstance(task, Task)
    assert task.space == ref.table.space and task.num_epochs == NUM_EPOCHS
    assert task.devices == ["cpu-1t", "cpu-2t"]
    np.testing.assert_array_equal(task.values("params_m"), ref.table.params / 1e6)
    np.testing.assert_array_equal(task.values("flops_m"), ref.table.flops / 1e6)
    np.testing.assert_array_equal(task.values(LATENCY), ref.table.metric(LATENCY))
    devices = {name for name in ref.table.metric_names if "/" in name}
    assert set(task.properties) == {"params_m", "flops_m", *devices}
    for name in ("test_acc", "val_acc", "train_seconds", "no-such/thing"):
        with pytest.raises(MetricError, match="params_m"):
            task.values(name)
    with pytest.raises(ValueError):
        task.values(LATENCY)[0] = 0.0  # read-only: a strategy cannot alter the table's view
    assert not hasattr(task, "table") and not hasattr(task, "benchmark")
    for item in _reachable(task):
        assert not isinstance(item, (Table, Benchmark)), f"the task reaches {type(item).__name__}"


def test_result_has_no_test_metric(ref: Ref) -> None:
    names = {f.name for f in dataclasses.fields(Result)}
    assert not any("test" in name for name in names), names
    result = Benchmark(ref.table, seed=0).evaluate(3)
    assert not hasattr(result, "test_acc") and not hasattr(result, "test_loss")
    with pytest.raises((AttributeError, TypeError, dataclasses.FrozenInstanceError)):
        result.test_acc = 1.0  # type: ignore[attr-defined]


# --------------------------------------------------------------------- trajectory and reset
def test_trajectory_columns_and_dtypes(ref: Ref) -> None:
    bench = Benchmark(ref.table, seed=0)
    empty = bench.trajectory()
    assert tuple(empty) == TRAJECTORY_COLUMNS and all(v.shape == (0,) for v in empty.values())
    for k in range(4):
        bench.evaluate(k * 13, 1 + k % NUM_EPOCHS)
    trajectory = bench.trajectory()
    assert tuple(trajectory) == TRAJECTORY_COLUMNS
    for name, values in trajectory.items():
        assert values.shape == (4,), name
        assert values.dtype == (np.int64 if name in INT_COLUMNS else np.float64), name
    frame = bench.trajectory_frame()
    assert list(frame.columns) == list(TRAJECTORY_COLUMNS) and len(frame) == 4
    assert all(frame[name].dtype == np.int64 for name in INT_COLUMNS)
    assert frame["index"].tolist() == trajectory["index"].tolist()


def test_empty_trajectory_keeps_integer_dtypes(ref: Ref) -> None:
    empty = Benchmark(ref.table, seed=0).trajectory()
    for name in INT_COLUMNS:
        assert empty[name].dtype == np.int64, name


def test_reset_clears_clock_trained_state_and_trajectory(ref: Ref) -> None:
    bench = Benchmark(ref.table, seed=6, budget=Budget(evaluations=3))
    first = bench.evaluate(50, 3)
    bench.evaluate(50, 4)
    bench.evaluate(777)
    assert bench.exhausted
    bench.reset()
    assert bench.sim_seconds == 0.0 and bench.evaluations == 0 and not bench.exhausted
    assert bench.incumbent is None and bench.incumbent_index == -1
    assert all(v.size == 0 for v in bench.trajectory().values())
    again = bench.evaluate(50, 3)  # nothing trained any more: the full cost again
    assert again == first
    c, s = ref.klass(50), ref.column(again)
    assert again.cost_seconds == pytest.approx(ref.first_cost(c, s, 3), rel=1e-9)
    assert bench.trajectory()["evaluation"].tolist() == [1]


# --------------------------------------------------------------------- bad input
@pytest.mark.parametrize("epochs", [0, -1, NUM_EPOCHS + 1, 2.0, 2.5, "2", True])
def test_bad_epochs(ref: Ref, epochs: Any) -> None:
    bench = Benchmark(ref.table, seed=0)
    with pytest.raises(ConfigError, match="epochs"):
        bench.evaluate(0, epochs)
    assert bench.evaluations == 0 and bench.sim_seconds == 0.0


@pytest.mark.parametrize("arch", [-1, 15_625, 3.0, True, "garbage", "|none~0|", None])
def test_bad_architecture(ref: Ref, arch: Any) -> None:
    bench = Benchmark(ref.table, seed=0)
    with pytest.raises(ArchitectureError):
        bench.evaluate(arch, 1)
    assert bench.evaluations == 0 and bench.trajectory()["index"].size == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"evaluations": 0},
        {"evaluations": -3},
        {"evaluations": 2.5},
        {"evaluations": True},
        {"seconds": -1},
        {"seconds": 0},
        {"seconds": float("nan")},
        {"seconds": float("inf")},
        {"seconds": True},
        {"seconds": "10"},
        {"evaluations": 0, "seconds": 10.0},
    ],
)
def test_bad_budget(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="budget"):
        Budget(**kwargs)


def test_budget_normalises_its_numbers() -> None:
    budget = Budget(evaluations=np.int64(3), seconds=40)
    assert budget.evaluations == 3 and type(budget.evaluations) is int
    assert budget.seconds == 40.0 and type(budget.seconds) is float
    assert budget.to_dict() == {"evaluations": 3, "seconds": 40.0}
    with pytest.raises(ConfigError, match=r"^budget: evaluations must be >= 1, got 0$"):
        Budget(evaluations=0)


@pytest.mark.parametrize("seed", [-1, True, 1.5, "0", None])
def test_bad_seed(ref: Ref, seed: Any) -> None:
    with pytest.raises(ConfigError, match="seed"):
        Benchmark(ref.table, seed=seed)


def test_numpy_seed_accepted(ref: Ref) -> None:
    assert Benchmark(ref.table, seed=np.int64(3)).seed == 3


@pytest.mark.parametrize(
    "text",
    [
        "",
        "latency",
        "cpu-1t/latency_ms_b1 < 0.3",
        "cpu-1t/latency_ms_b1>=0.3",
        "cpu-1t/latency_ms_b1<=abc",
        "params<=3",
        "<=3",
    ],
)
def test_constraint_parse_garbage(text: str) -> None:
    with pytest.raises(ConfigError, match="constraint"):
        Constraint.parse(text)


@pytest.mark.parametrize("text", ["params_m<=1.2.3", "params_m<=e", "cpu-1t/latency_ms_b1<=+-"])
def test_constraint_parse_malformed_number(text: str) -> None:
    with pytest.raises(ConfigError):
        Constraint.parse(text)


def test_constraint_parse_round_trip() -> None:
    parsed = Constraint.parse(" cpu-1t/latency_ms_b1 <= 2.5e-1 ")
    assert parsed == Constraint("cpu-1t/latency_ms_b1", 0.25)
    assert Constraint.parse(str(parsed)) == parsed
    assert Constraint.parse("params_m<=1.5") == Constraint("params_m", 1.5)


def test_constraint_on_missing_property(ref: Ref) -> None:
    with pytest.raises(MetricError, match="gpu-9/latency_ms_b1"):
        Benchmark(ref.table, seed=0, constraint="gpu-9/latency_ms_b1<=1")
    with pytest.raises(ConfigError, match="constraint"):
        Benchmark(ref.table, seed=0, constraint="latency below one")


def test_constraint_nothing_satisfies(ref: Ref) -> None:
    lowest = float(np.min(ref.table.metric(LATENCY)))
    with pytest.raises(ConfigError, match="satisfies"):
        Benchmark(ref.table, seed=0, constraint=Constraint(LATENCY, lowest / 2))
    # the boundary is inclusive
    bench = Benchmark(ref.table, seed=0, constraint=Constraint(LATENCY, lowest))
    assert bench.task.feasible(int(np.argmin(ref.table.metric(LATENCY))))


def test_table_with_an_unmeasured_class(ref: Ref, tmp_path: Path) -> None:
    status = ref.status.copy()
    status[17, :] = STATUS_PENDING
    status[400, :] = STATUS_PENDING
    table = _with_status(ref.table, tmp_path / "pending.h5", status)
    with pytest.raises(ConfigError, match="2 of"):
        Benchmark(table, seed=0)


def test_table_with_mostly_pending_runs(ref: Ref, tmp_path: Path) -> None:
    space = ref.table.space
    writer = TableWriter.create(
        tmp_path / "sparse.h5",
        space=space,
        model={},
        dataset={},
        protocol={},
        seeds=(0,),
        num_epochs=2,
        params=ref.table.params,
        flops=ref.table.flops,
    )
    run = {name: [0.5, 0.6] for name in ("train_acc", "val_acc", "test_acc", "train_seconds")}
    run |= {name: [1.0, 0.9] for name in ("train_loss", "val_loss", "test_loss", "eval_seconds")}
    with writer:
        writer.write_run(0, 0, run)
        writer.write_run(space.size - 1, 0, run)
    with pytest.raises(ConfigError, match="no recorded run"):
        Benchmark(tmp_path / "sparse.h5", seed=0)


def test_partial_table(ref: Ref, tmp_path: Path) -> None:
    # every run of every class it holds is recorded, but it holds only 300 architectures
    indices = np.arange(300)
    writer = TableWriter.create(
        tmp_path / "partial.h5",
        space=ref.table.space,
        model={},
        dataset={},
        protocol={},
        seeds=(0,),
        num_epochs=2,
        params=ref.table.params[indices],
        flops=ref.table.flops[indices],
        indices=indices,
    )
    with writer:
        shape = (len(writer.pending_runs()), 1, 2)  # every (class, seed) is still pending
        for name in writer.metric_names:
            writer.write_metric_block(name, np.full(shape, 0.5), np.full(shape[:2], STATUS_DONE))
    table = open_table(tmp_path / "partial.h5")
    assert table.num_archs == 300 and np.all(table.run_status == STATUS_DONE)
    with pytest.raises(ConfigError, match="every architecture"):
        Benchmark(table, seed=0)


@pytest.mark.parametrize("missing", ["test_acc", "val_acc"])
def test_table_lacking_a_metric(ref: Ref, tmp_path: Path, missing: str) -> None:
    path = _copy(ref.table.path, tmp_path / f"no-{missing}.h5")
    with h5py.File(path, "r+") as handle:
        del handle[f"metrics/{missing}"]
    TableWriter(path).close()  # re-seal the deliberate edit
    with pytest.raises(MetricError, match=missing):
        Benchmark(str(path), seed=0)


def test_table_without_losses_answers_nan_for_them(ref: Ref, tmp_path: Path) -> None:
    path = _copy(ref.table.path, tmp_path / "no-loss.h5")
    with h5py.File(path, "r+") as handle:
        del handle["metrics/train_loss"]
    TableWriter(path).close()  # re-seal the deliberate edit
    result = Benchmark(str(path), seed=0).evaluate(7)
    assert math.isnan(result.train_loss)
    assert result.val_acc == Benchmark(ref.table, seed=0).evaluate(7).val_acc


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("nan-train", "1 runs with missing, negative or infinite training seconds"),
        ("negative-train", "1 runs with missing, negative or infinite training seconds"),
        ("nan-eval", "1 without a final evaluation time"),
        ("no-eval", "records no evaluation seconds"),
    ],
)
def test_seconds_budget_needs_finite_non_negative_seconds(
    ref: Ref, tmp_path: Path, change: str, message: str
) -> None:
    """NaN seconds stopped the clock (regularized evolution never ended) and negative ones
    ran it backwards: such a table takes evaluation budgets only."""
    path = _copy(ref.table.path, tmp_path / f"{change}.h5")
    with h5py.File(path, "r+") as handle:
        done = np.argwhere(handle["runs/status"][()] == STATUS_DONE)[0]
        if change == "no-eval":
            del handle["metrics/eval_seconds"]
        else:
            name = "metrics/eval_seconds" if change == "nan-eval" else "metrics/train_seconds"
            values = handle[name][()]
            values[done[0], done[1], -1] = -5.0 if change == "negative-train" else np.nan
            handle[name][...] = values
    TableWriter(path).close()  # re-seal the deliberate edit
    with pytest.raises(ConfigError, match=message) as caught:
        Benchmark(str(path), seed=0, budget=Budget(seconds=100.0))
    assert "\n" not in str(caught.value) and "--budget-evals" in str(caught.value)
    benchmark = create_strategy("re", seed=0).run(Benchmark(str(path), seed=0), Budget(evaluations=30))
    assert benchmark.evaluations == 30


def test_table_without_training_times_refuses_a_seconds_budget(ref: Ref, tmp_path: Path) -> None:
    path = _copy(ref.table.path, tmp_path / "no-times.h5")
    with h5py.File(path, "r+") as handle:
        del handle["metrics/train_seconds"], handle["metrics/eval_seconds"]
    TableWriter(path).close()  # re-seal the deliberate edit
    assert not open_table(path).has_training_times
    with pytest.raises(ConfigError, match=r"no training times.*--budget-evals"):
        Benchmark(str(path), seed=0, budget=Budget(seconds=100.0))
    benchmark = Benchmark(str(path), seed=0)
    with pytest.raises(ConfigError, match="no training times"):
        benchmark.budget = Budget(evaluations=5, seconds=100.0)
    benchmark.budget = Budget(evaluations=3)
    for index in range(3):
        assert benchmark.evaluate(index).cost_seconds == 0.0
    with pytest.raises(BudgetExhausted):
        benchmark.evaluate(3)


def test_missing_table_file(tmp_path: Path) -> None:
    with pytest.raises(TableError):
        Benchmark(str(tmp_path / "nope.h5"))


def test_errors_are_nasbench_errors() -> None:
    for error in (ConfigError, MetricError, ArchitectureError, TableError):
        assert issubclass(error, NasbenchError)
    # the end of a budget is a control-flow signal, which ``except NasbenchError`` never swallows
    assert issubclass(BudgetExhausted, SearchSignal) and not issubclass(BudgetExhausted, NasbenchError)

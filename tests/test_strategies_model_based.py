"""Behaviour of the model-based, multi-fidelity and hardware-aware strategies on a
synthetic table: they must do what their papers say they do, measurably better than
random search where they claim to."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from nasbench.bench.benchmark import Benchmark, Budget, Constraint
from nasbench.core.errors import ConfigError, MetricError
from nasbench.core.table import Table
from nasbench.search.strategy import create_strategy, run_strategy
from nasbench.testing import synthetic_table

SEEDS = range(10)
LATENCY = "cpu-1t/latency_ms_b1"


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Table:
    return synthetic_table(tmp_path_factory.mktemp("strategies") / "t.h5")


def run(table: Table, name: str, seed: int, evaluations: int, **hyperparameters: object) -> Benchmark:
    strategy = create_strategy(name, seed=seed, **hyperparameters)
    return run_strategy(strategy, table, seed=seed, budget=Budget(evaluations=evaluations))


def trials(benchmark: Benchmark) -> list[tuple[int, int]]:
    data = benchmark.trajectory()
    return list(zip(data["index"].tolist(), data["epochs"].tolist(), strict=True))


def median_final_regret(table: Table, name: str, evaluations: int) -> float:
    """Median over seeds of the final regret, scored by every seed: this measures whether a
    search finds good classes. Hold-out scoring (tests/test_scoring.py) adds the held-out
    seed's noise to every strategy alike, a floor under every regret that would blur the
    margin this was calibrated for."""
    regrets = []
    for seed in SEEDS:
        benchmark = Benchmark(table, seed=seed, scoring="all-seeds")
        strategy = create_strategy(name, seed=seed)
        finished = run_strategy(strategy, benchmark, seed=seed, budget=Budget(evaluations=evaluations))
        regrets.append(finished.trajectory()["regret"][-1])
    return float(np.median(regrets))


def pareto_front(accuracy: np.ndarray, cost: np.ndarray) -> list[tuple[float, float]]:
    """(cost, accuracy) of the non-dominated points, cost ascending (maximise accuracy)."""
    front: list[tuple[float, float]] = []
    for c, a in sorted(zip(cost.tolist(), accuracy.tolist(), strict=True), key=lambda p: (p[0], -p[1])):
        if not front or a > front[-1][1]:
            front.append((c, a))
    return front


def hypervolume(front: list[tuple[float, float]], max_cost: float) -> float:
    """Area dominated by the front above accuracy 0 and below cost ``max_cost``."""
    edges = [c for c, _ in front[1:]] + [max_cost]
    return sum((right - c) * a for (c, a), right in zip(front, edges, strict=True))


# --------------------------------------------------------------------- black-box, model-based
@pytest.fixture(scope="module")
def random_search_regret(table: Table) -> float:
    return median_final_regret(table, "rs", 100)


@pytest.mark.parametrize("name", ["bananas", "gp-bo"])
def test_model_based_search_beats_random_search(table: Table, random_search_regret: float, name: str) -> None:
    # The margin is wide enough that scoring the same candidate pool at random fails it.
    model_based = median_final_regret(table, name, 100)
    assert model_based < 0.4 * random_search_regret, (name, model_based, random_search_regret)


@pytest.mark.parametrize("name", ["bananas", "gp-bo", "nsga2", "constrained-re"])
def test_no_isomorphism_class_is_evaluated_twice(table: Table, name: str) -> None:
    indices = run(table, name, 1, 60).trajectory()["index"]
    classes = table.space.canonical_indices()[indices]
    assert len(set(classes.tolist())) == len(classes)


@pytest.mark.parametrize(
    ("name", "variant"),
    [("bananas", {"acquisition": "ucb"}), ("gp-bo", {"exploration_margin": 1.0})],
)
def test_model_based_search_starts_at_random(table: Table, name: str, variant: dict[str, object]) -> None:
    # The first initial_evaluations proposals do not depend on the model; the rest do.
    default = trials(run(table, name, 2, 30, initial_evaluations=8))
    other = trials(run(table, name, 2, 30, initial_evaluations=8, **variant))
    assert default[:8] == other[:8]
    assert default[8:] != other[8:]


@pytest.mark.parametrize("name", ["bananas", "gp-bo"])
def test_model_based_search_is_seeded(table: Table, name: str) -> None:
    first = trials(run(table, name, 3, 30))
    assert trials(run(table, name, 3, 30)) == first
    assert trials(run(table, name, 4, 30)) != first


@pytest.mark.parametrize(
    ("name", "hyperparameters", "surrogate", "expected"),
    [
        (
            "bananas",
            {"ensemble_size": 3, "hidden_layers": 2, "hidden_units": 8, "training_epochs": 50},
            "mlp-ensemble",
            {"encoding": "path", "n_members": 3, "num_layers": 2, "width": 8, "epochs": 50},
        ),
        ("gp-bo", {}, "gp", {"encoding": "onehot"}),
    ],
)
def test_model_based_search_fits_the_registered_surrogate(
    table: Table,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    hyperparameters: dict[str, object],
    surrogate: str,
    expected: dict[str, object],
) -> None:
    """The surrogate is the registered one, made from the strategy's hyperparameters and
    refitted every round on everything evaluated so far."""
    import nasbench.strategies.bayesian as bayesian

    made: list[tuple[str, dict[str, object], int]] = []
    registered = bayesian.create_surrogate

    def create(model: str, **given: object) -> object:
        instance = registered(model, **given)
        fit = instance.fit

        def recording_fit(archs: np.ndarray, y: np.ndarray) -> object:
            made.append((model, given, len(archs)))
            return fit(archs, y)

        instance.fit = recording_fit  # type: ignore[method-assign]
        return instance

    with monkeypatch.context() as patch:
        patch.setattr(bayesian, "create_surrogate", create)
        run(table, name, 0, 31, initial_evaluations=10, **hyperparameters)
    assert len(made) >= 3
    for model, given, _ in made:
        assert model == surrogate
        assert given.items() >= expected.items()
        assert given["space"] == table.space
    sizes = [size for _, _, size in made]
    assert sizes[0] == 10 and sizes == sorted(sizes) and len(set(sizes)) == len(sizes)


def test_bananas_checks_its_surrogate_hyperparameters_when_made() -> None:
    with pytest.raises(ConfigError, match=r"ensemble_size must be in 2..100, got 101"):
        create_strategy("bananas", ensemble_size=101)
    with pytest.raises(ConfigError, match=r"hidden_layers must be in 1..20, got 21"):
        create_strategy("bananas", hidden_layers=21)
    with pytest.raises(ConfigError, match="mutate_top and random_candidates cannot both be 0"):
        create_strategy("gp-bo", mutate_top=0, random_candidates=0)


# --------------------------------------------------------------------- multi-fidelity
# Li et al. (2018) with R = 4 epochs, eta = 2, 1 epoch at least: s_max = 2 and brackets
# 4 x 1 -> 2 x 2 -> 1 x 4, then 3 x 2 -> 1 x 4, then 3 x 4, repeated.
HYPERBAND_CYCLE = [1, 1, 1, 1, 2, 2, 4, 2, 2, 2, 4, 4, 4, 4]


def test_hyperband_follows_its_bracket_schedule(table: Table) -> None:
    data = run(table, "hyperband", 0, 2 * len(HYPERBAND_CYCLE) + 3).trajectory()
    epochs = data["epochs"].tolist()
    assert epochs[: 2 * len(HYPERBAND_CYCLE)] == HYPERBAND_CYCLE * 2
    assert epochs[2 * len(HYPERBAND_CYCLE) :] == HYPERBAND_CYCLE[:3]
    assert Counter(epochs[: 2 * len(HYPERBAND_CYCLE)]) == {1: 8, 2: 10, 4: 10}
    index, score = data["index"].tolist(), data["val_acc"].tolist()
    # Successive halving: the best half of a rung is continued, by validation accuracy.
    best_two = sorted(range(4), key=lambda k: -score[k])[:2]
    assert sorted(index[4:6]) == sorted(index[k] for k in best_two)
    assert index[6] == index[4 + int(np.argmax(score[4:6]))]
    assert index[10] == index[7 + int(np.argmax(score[7:10]))]
    # New brackets start from untried classes.
    starts = index[0:4] + index[7:10] + index[11:14]
    assert len(set(table.space.canonical_indices()[starts].tolist())) == 10


def test_hyperband_schedule_follows_eta(table: Table) -> None:
    # eta = 3: s_max = 1; brackets 3 x 1 -> 1 x 4 and 2 x 4.
    epochs = run(table, "hyperband", 0, 12, eta=3).trajectory()["epochs"].tolist()
    assert epochs == [1, 1, 1, 4, 4, 4] * 2


def test_hyperband_charges_only_the_extra_epochs_of_a_promotion(table: Table) -> None:
    benchmark = run(table, "hyperband", 0, 7)
    data = benchmark.trajectory()
    seconds = np.diff(data["sim_seconds"], prepend=0.0)
    for k in range(4, 7):  # the promotions of the first bracket
        index, epochs = int(data["index"][k]), int(data["epochs"][k])
        from_scratch = Benchmark(table, seed=0).evaluate(index, epochs).cost_seconds
        assert seconds[k] < from_scratch - 1e-9, (k, seconds[k], from_scratch)


def test_bohb_samples_at_random_until_its_model_has_enough_points(table: Table) -> None:
    hyperband = trials(run(table, "hyperband", 4, 60))
    # A model that never gets enough points: BOHB is exactly Hyperband.
    assert trials(run(table, "bohb", 4, 60, min_points_in_model=10**6)) == hyperband
    # By default a budget needs 6 edges + 1 = 7 results. The first to have them is 2 epochs,
    # after 21 evaluations (see HYPERBAND_CYCLE); the bracket starting next uses the model.
    bohb = trials(run(table, "bohb", 4, 60))
    assert bohb[:21] == hyperband[:21]
    assert [index for index, _ in bohb[21:24]] != [index for index, _ in hyperband[21:24]]
    assert [epochs for _, epochs in bohb] == [epochs for _, epochs in hyperband]


def test_bohb_model_beats_hyperband(table: Table) -> None:
    assert median_final_regret(table, "bohb", 100) < 0.5 * median_final_regret(table, "hyperband", 100)


# --------------------------------------------------------------------- hardware-aware
def test_nsga2_front_beats_random_search_by_hypervolume(table: Table) -> None:
    latency = Benchmark(table).task.values(LATENCY)
    max_cost = float(latency.max())
    volumes: dict[str, list[float]] = {"nsga2": [], "rs": []}
    for name, runs in volumes.items():
        for seed in SEEDS:
            data = run(table, name, seed, 100).trajectory()
            front = pareto_front(data["val_acc"], latency[data["index"]])
            if name == "nsga2":
                assert len(front) >= 3, f"seed {seed}: front of {len(front)} points"
            runs.append(hypervolume(front, max_cost))
    assert np.median(volumes["nsga2"]) > np.median(volumes["rs"])
    assert sum(a > b for a, b in zip(volumes["nsga2"], volumes["rs"], strict=True)) >= 7


def test_nsga2_objective_names_device_and_metric(table: Table) -> None:
    task = Benchmark(table).task
    assert create_strategy("nsga2").objective(task) == LATENCY
    other = create_strategy("nsga2", device="cpu-2t", metric="infer_peak_memory_mb")
    assert other.objective(task) == "cpu-2t/infer_peak_memory_mb"


def test_constrained_evolution_evaluates_only_feasible_architectures(table: Table) -> None:
    latency = Benchmark(table).task.values(LATENCY)
    limit = float(np.quantile(latency, 0.25))
    for seed in range(3):
        benchmark = run(table, "constrained-re", seed, 80)
        assert benchmark.constraint == Constraint(LATENCY, limit)
        index = benchmark.trajectory()["index"]
        assert np.all(latency[index] <= limit)
        assert benchmark.task.feasible(benchmark.incumbent_index)
        assert latency[benchmark.incumbent_index] <= limit
    # An absolute limit replaces the quantile.
    benchmark = run(table, "constrained-re", 0, 40, limit=0.25)
    assert benchmark.constraint == Constraint(LATENCY, 0.25)
    assert np.all(latency[benchmark.trajectory()["index"]] <= 0.25)
    # Without the constraint in the benchmark, the strategy still keeps to its limit.
    unconstrained = Benchmark(table, seed=0, budget=Budget(evaluations=40))
    create_strategy("constrained-re", seed=0).run(unconstrained)
    assert np.all(latency[unconstrained.trajectory()["index"]] <= limit)


@pytest.mark.parametrize("name", ["nsga2", "constrained-re"])
def test_unknown_device_or_metric_is_one_clear_error(table: Table, name: str) -> None:
    with pytest.raises(MetricError, match=r"no device 'cuda7' \(devices: cpu-1t, cpu-2t\)") as caught:
        run(table, name, 0, 5, device="cuda7")
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    with pytest.raises(
        MetricError, match=r"'cpu-2t' has no metric 'latency_ms_b3' \(metrics: .*latency_ms_b1"
    ):
        run(table, name, 0, 5, device="cpu-2t", metric="latency_ms_b3")
    with pytest.raises(ConfigError, match="device must be a device id"):
        create_strategy(name, device="gpu")
    with pytest.raises(ConfigError, match="metric must be a device metric name"):
        create_strategy(name, metric="latency ms")

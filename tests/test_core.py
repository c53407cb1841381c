"""Behaviour of the small core modules and of the lazy top-level package."""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from nasbench.core import options
from nasbench.core.agreement import seed_mean_spearman
from nasbench.core.cost import full_run_seconds, generation_seconds, mean_run_seconds, run_seconds
from nasbench.core.errors import ConfigError, NasbenchError
from nasbench.core.lazy import lazy_exports
from nasbench.core.options import OptionError
from nasbench.core.params import ParamsMixin
from nasbench.core.pareto import crowding_distance, hypervolume, non_dominated_fronts, pareto_front
from nasbench.core.schema import STATUS_DONE, STATUS_FAILED, STATUS_PENDING
from nasbench.core.validation import (
    Boolean,
    Instance,
    Integer,
    Optional,
    Options,
    Real,
    check_bool,
    check_choice,
    check_float,
    check_int,
    owner_label,
    validate,
)

TABLE = Path(__file__).resolve().parents[1] / "tables" / "nb201-fmnist-cpu.h5"


# ------------------------------------------------------------------------------ validation
@pytest.mark.parametrize(
    ("value", "constraint", "expected"),
    [
        (np.int64(3), Integer(0, 5), 3),
        (5, Integer(0, 5), 5),
        (np.float32(0.5), Real(0.0, 1.0), 0.5),
        (2, Real(), 2.0),
        (1.0, Real(0.0, 1.0, low_open=True), 1.0),
        (np.bool_(True), Boolean(), True),
        ("b", Options(("a", "b")), "b"),
        (None, Optional(Integer(1)), None),
        (np.int32(4), Optional(Integer(1)), 4),
        ("x", Instance((str, bytes), "text"), "x"),
    ],
)
def test_validate_accepts_and_normalises(value, constraint, expected) -> None:
    out = validate("owner", "p", value, constraint)
    assert out == expected
    assert type(out) is type(expected)


@pytest.mark.parametrize(
    ("value", "constraint", "message"),
    [
        (True, Integer(0, 5), "o: p must be an integer, got True"),
        (np.bool_(False), Integer(), f"o: p must be an integer, got {np.bool_(False)!r}"),
        (2.0, Integer(0, 5), "o: p must be an integer, got 2.0"),
        ("3", Integer(), "o: p must be an integer, got '3'"),
        (-1, Integer(0), "o: p must be >= 0, got -1"),
        (9, Integer(high=5), "o: p must be <= 5, got 9"),
        (6, Integer(0, 5), "o: p must be in 0..5, got 6"),
        (math.nan, Real(), "o: p must be a finite number, got nan"),
        (math.inf, Real(), "o: p must be a finite number, got inf"),
        (-math.inf, Real(0.0, 1.0), "o: p must be in [0.0, 1.0], got -inf"),
        (0.0, Real(0.0, low_open=True), "o: p must be > 0.0, got 0.0"),
        (0.0, Real(0.0, 1.0, low_open=True), "o: p must be in (0.0, 1.0], got 0.0"),
        (1.5, Real(high=1.0), "o: p must be <= 1.0, got 1.5"),
        (-0.1, Real(0.0), "o: p must be >= 0.0, got -0.1"),
        (True, Real(), "o: p must be a number, got True"),
        ("1", Real(), "o: p must be a number, got '1'"),
        (1, Boolean(), "o: p must be True or False, got 1"),
        ("c", Options(("a", "b")), "o: p must be one of 'a', 'b', got 'c'"),
        ([1], Options((1, 2)), "o: p must be one of 1, 2, got [1]"),
        (0, Optional(Integer(1)), "o: p must be None or >= 1, got 0"),
        (3, Instance((str,), "a string"), "o: p must be a string, got 3"),
    ],
)
def test_validate_rejects_with_one_line_message(value, constraint, message) -> None:
    with pytest.raises(ConfigError) as info:
        validate("o", "p", value, constraint)
    assert str(info.value) == message
    assert isinstance(info.value, NasbenchError) and isinstance(info.value, ValueError)


def test_check_helpers() -> None:
    assert check_int("o", "n", np.uint8(7), 1, 10) == 7 and type(check_int("o", "n", np.uint8(7))) is int
    assert check_float("o", "lr", np.float64(1e-3), 0, low_open=True) == 1e-3
    assert check_choice("o", "mode", "max", ["min", "max"]) == "max"
    assert check_bool("o", "flag", np.bool_(False)) is False
    with pytest.raises(ConfigError, match=r"^o: n must be in 1\.\.10, got 11$"):
        check_int("o", "n", 11, 1, 10)
    with pytest.raises(ConfigError, match=r"^o: lr must be > 0, got 0$"):
        check_float("o", "lr", 0, 0, low_open=True)
    with pytest.raises(ConfigError, match=r"^o: flag must be True or False, got 0$"):
        check_bool("o", "flag", 0)


def test_options_rejects_an_array_with_config_error() -> None:
    with pytest.raises(ConfigError, match=r"^o: mode must be one of 'a', 'b', got array"):
        check_choice("o", "mode", np.array([1, 2]), ("a", "b"))


def test_owner_label() -> None:
    Named = type("Named", (), {"name": "my-plugin"})
    Unnamed, Plain = type("Unnamed", (), {"name": ""}), type("Plain", (), {})
    assert owner_label("budget") == "budget"
    assert owner_label(Named()) == owner_label(Named) == "my-plugin"
    assert owner_label(Unnamed()) == "Unnamed"
    assert owner_label(Plain) == owner_label(Plain()) == "Plain"
    with pytest.raises(ConfigError, match=r"^my-plugin: k must be >= 1, got 0$"):
        check_int(Named(), "k", 0, 1)


# ------------------------------------------------------------------------------ params
class Model(ParamsMixin):
    name = "model"

    def __init__(self, depth: int = 3, rate: float = 0.1, mode: str = "a", seed: int | None = None) -> None:
        self.depth = check_int(self, "depth", depth, 1)
        self.rate = check_float(self, "rate", rate, 0, 1)
        self.mode = check_choice(self, "mode", mode, ("a", "b"))
        self.seed = seed


class SeededModel(Model):
    _params_left_out = ("seed",)


def test_params_read_from_init() -> None:
    assert Model.hyperparameters() == {"depth": 3, "rate": 0.1, "mode": "a", "seed": None}
    assert SeededModel.hyperparameters() == {"depth": 3, "rate": 0.1, "mode": "a"}
    model = Model(depth=np.int64(5), mode="b")
    assert model.get_params() == {"depth": 5, "rate": 0.1, "mode": "b", "seed": None}
    assert type(model.get_params(deep=True)["depth"]) is int
    assert repr(model) == "Model(depth=5, rate=0.1, mode='b', seed=None)"
    assert repr(SeededModel(seed=4)) == "SeededModel(depth=3, rate=0.1, mode='a', seed=4)"


def test_set_params_validates_returns_self_and_drops_state() -> None:
    model = Model(depth=2)
    model.weights_ = [1, 2, 3]
    assert model.set_params(rate=0.5, depth=np.int32(4)) is model
    assert model.get_params() == {"depth": 4, "rate": 0.5, "mode": "a", "seed": None}
    assert type(model.depth) is int and not hasattr(model, "weights_")
    with pytest.raises(ConfigError, match=r"^model: rate must be in \[0, 1\], got 2\.0$"):
        model.set_params(rate=2.0, depth=9)
    assert model.get_params() == {"depth": 4, "rate": 0.5, "mode": "a", "seed": None}
    with pytest.raises(ConfigError) as info:
        model.set_params(dept=5)
    assert str(info.value) == "Model: unknown hyperparameter 'dept' (known: depth, mode, rate, seed)"


def test_left_out_params_still_travel_and_clone() -> None:
    model = SeededModel(depth=6, seed=1)
    model.fitted_ = True
    assert "seed" not in model.get_params()
    assert model.set_params(seed=9).seed == 9
    assert not hasattr(model, "fitted_")
    twin = model.clone()
    assert twin is not model and type(twin) is SeededModel and twin.__dict__ is not model.__dict__
    assert twin.get_params() == model.get_params() == {"depth": 6, "rate": 0.1, "mode": "a"}
    assert twin.seed == 9
    twin.set_params(depth=1)
    assert model.depth == 6


# ------------------------------------------------------------------------------ pareto
def brute_front(costs: np.ndarray, accs: np.ndarray, ties: bool) -> list[int]:
    keep = []
    for i in range(len(costs)):
        if np.isnan(costs[i]) or np.isnan(accs[i]):
            continue
        dominated = any(
            costs[j] <= costs[i] and accs[j] >= accs[i] and (costs[j] < costs[i] or accs[j] > accs[i])
            for j in range(len(costs))
            if not (np.isnan(costs[j]) or np.isnan(accs[j]))
        )
        duplicate_before = any(costs[j] == costs[i] and accs[j] == accs[i] for j in range(i))
        if not dominated and (ties or not duplicate_before):
            keep.append(i)
    return sorted(keep, key=lambda i: (costs[i], i))


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("ties", [False, True])
def test_pareto_front_matches_brute_force(seed: int, ties: bool) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    costs = rng.integers(0, 6, n).astype(float)  # few distinct values: many ties
    accs = rng.integers(0, 6, n).astype(float)
    costs[rng.random(n) < 0.1] = np.nan
    accs[rng.random(n) < 0.1] = np.nan
    front = pareto_front(costs, accs, ties=ties)
    assert front.dtype == np.int64 and front.tolist() == brute_front(costs, accs, ties)


def test_pareto_front_small_cases() -> None:
    costs = [3.0, 1.0, 2.0, 1.0, 2.0, np.nan, 0.5]
    accs = [90.0, 50.0, 80.0, 50.0, 80.0, 99.0, np.nan]
    assert pareto_front(costs, accs).tolist() == [1, 2, 0]
    assert pareto_front(costs, accs, ties=True).tolist() == [1, 3, 2, 4, 0]
    assert pareto_front([], []).tolist() == []


def test_hypervolume_hand_computed() -> None:
    # Front (1, .5), (2, .8); (3, .6) dominated; reference (4, 0): 1 * .5 + 2 * .8.
    assert hypervolume([3.0, 1.0, 2.0], [0.6, 0.5, 0.8], (4.0, 0.0)) == pytest.approx(2.1)
    # Only the part above the reference accuracy counts: 1 * .3 + 2 * .6.
    assert hypervolume([1.0, 2.0], [0.5, 0.8], (4.0, 0.2)) == pytest.approx(1.5)
    assert hypervolume([1.0], [0.1], (4.0, 0.2)) == hypervolume([], [], (1.0, 0.0)) == 0.0


def test_hypervolume_ignores_points_beyond_reference_cost() -> None:
    # (1, .5) dominates [1, 4] x [0, .5] = 1.5 inside the box; (5, .9) lies outside it.
    assert hypervolume([1.0, 5.0], [0.5, 0.9], (4.0, 0.0)) == pytest.approx(1.5)


def test_non_dominated_fronts() -> None:
    objectives = np.array([[1, 1], [2, 2], [1, 3], [3, 1], [3, 3], [1, 1]], dtype=float)
    assert [f.tolist() for f in non_dominated_fronts(objectives)] == [[0, 5], [1, 2, 3], [4]]
    assert non_dominated_fronts(np.zeros((0, 2))) == []
    rng = np.random.default_rng(0)
    costs, accs = rng.integers(0, 5, 30).astype(float), rng.integers(0, 5, 30).astype(float)
    first = non_dominated_fronts(np.column_stack([costs, -accs]))[0]
    assert sorted(first.tolist()) == sorted(pareto_front(costs, accs, ties=True).tolist())


def test_crowding_distance() -> None:
    values = np.array([[0, 10], [1, 9], [5, 2], [10, 0]], dtype=float)
    # Objective 0 (span 10): row 1 (5-0)/10, row 2 (10-1)/10; objective 1: row 1 (10-2)/10, row 2 (9-0)/10.
    np.testing.assert_allclose(crowding_distance(values), [np.inf, 1.3, 1.8, np.inf])
    np.testing.assert_array_equal(crowding_distance(values[:2]), [np.inf, np.inf])
    flat = crowding_distance(np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 3.0]]))
    np.testing.assert_allclose(flat, [np.inf, 1.0, np.inf])  # a flat objective adds nothing


# ------------------------------------------------------------------------------ cost
def fake_table(train: np.ndarray, evals: np.ndarray | None, status: np.ndarray) -> SimpleNamespace:
    metrics = {"train_seconds": np.asarray(train, dtype=np.float32)}
    if evals is not None:
        metrics["eval_seconds"] = np.asarray(evals, dtype=np.float32)
    metrics["val_acc"] = np.zeros_like(metrics["train_seconds"])
    return SimpleNamespace(
        raw=lambda n: metrics[n].copy(),
        epoch_metrics=tuple(metrics),
        run_status=status,
        num_epochs=metrics["val_acc"].shape[2],
    )


def test_run_seconds() -> None:
    train = np.array([[1.0, 2.0, np.nan], [0.5, 0.5, 0.5]])
    evals = np.array([[9.0, 9.0, 0.25], [9.0, 9.0, np.nan]])
    np.testing.assert_allclose(run_seconds(train, evals), [3.25, 1.5])
    assert run_seconds([1.0, 2.0], [5.0, 0.5]) == pytest.approx(3.5)


def test_cost_of_a_fake_table() -> None:
    train = np.array([[[1, 2], [3, np.nan]], [[0, 0], [4, 4]]])  # [classes, seeds, epochs]
    evals = np.array([[[0.5, 1], [0.5, 2]], [[9, 9], [np.nan, 0.5]]])
    status = np.array([[STATUS_DONE, STATUS_FAILED], [STATUS_PENDING, STATUS_DONE]], dtype=np.int8)
    table = fake_table(train, evals, status)
    assert full_run_seconds(table).dtype == np.float64
    np.testing.assert_allclose(full_run_seconds(table), [[4, 5], [9, 8.5]])
    assert mean_run_seconds(table) == pytest.approx((4 + 5 + 8.5) / 3)
    np.testing.assert_allclose(generation_seconds(table), [[4.5, 5.5], [18, 8.5]])
    without_eval = fake_table(train, None, status)
    np.testing.assert_allclose(full_run_seconds(without_eval), [[3, 3], [0, 8]])
    np.testing.assert_allclose(generation_seconds(without_eval), [[3, 3], [0, 8]])
    without_times = fake_table(train, None, status)  # an imported table: no seconds at all
    del without_times.epoch_metrics
    without_times.epoch_metrics = ("val_acc",)
    np.testing.assert_array_equal(full_run_seconds(without_times), np.zeros((2, 2)))
    assert mean_run_seconds(without_times) == 0.0


def test_mean_run_seconds_of_shipped_table() -> None:
    import nasbench

    table = nasbench.open_table(TABLE)
    train, evals = (table.raw(name).astype(np.float64) for name in ("train_seconds", "eval_seconds"))
    per_run = np.nansum(train, axis=-1) + evals[..., -1]
    recorded = table.run_status != STATUS_PENDING
    assert recorded.any() and mean_run_seconds(table) > 0
    assert mean_run_seconds(table) == pytest.approx(float(per_run[recorded].mean()), rel=1e-12)


# ------------------------------------------------------------------------------ lazy
def test_lazy_exports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "lazy_home_for_test.py").write_text("ANSWER = object()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "lazy_home_for_test", raising=False)
    namespace: dict[str, object] = {"__name__": "pkg", "present": 1}
    getattr_, dir_ = lazy_exports("pkg", namespace, {"ANSWER": "lazy_home_for_test"})
    assert "lazy_home_for_test" not in sys.modules
    assert dir_() == ["ANSWER", "__name__", "present"]
    value = getattr_("ANSWER")
    assert value is sys.modules["lazy_home_for_test"].ANSWER  # imported now
    assert namespace["ANSWER"] is value and getattr_("ANSWER") is value  # and cached
    with pytest.raises(AttributeError, match=r"^module 'pkg' has no attribute 'missing'$"):
        getattr_("missing")


def test_import_nasbench_is_light_and_complete() -> None:
    script = textwrap.dedent(
        """
        import sys
        import nasbench
        heavy = sorted(m for m in ("torch", "h5py") if m in sys.modules)
        assert not heavy, heavy
        assert set(nasbench.__all__) <= set(dir(nasbench))
        missing = [n for n in nasbench.__all__ if getattr(nasbench, n, None) is None]
        assert not missing, missing
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


# ------------------------------------------------------------------------------ options
def test_option_error_is_nasbench_error_not_value_error() -> None:
    assert issubclass(OptionError, NasbenchError) and not issubclass(OptionError, ValueError)
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=options.count("--seeds", 1))
    with pytest.raises(OptionError, match=r"^--seeds must be >= 1, got 0$"):
        parser.parse_args(["--seeds", "0"])  # argparse lets it through: no SystemExit
    assert parser.parse_args(["--seeds", "3"]).seeds == 3
    parse = options.minimum("--f", 0.0, float)  # an unreadable value stays argparse's usage error
    assert parse.__name__ == "float"
    with pytest.raises(ValueError, match="could not convert") as info:
        parse("abc")
    assert not isinstance(info.value, OptionError)


@pytest.mark.parametrize(
    ("factory", "text", "expected"),
    [
        (options.count("--n", 4), " 4 ", 4),  # the bound itself is allowed
        (options.int_list("--epochs", 1), "1, 2,,3", [1, 2, 3]),
        (options.seed_list("--seeds"), "0,1,-2", [0, 1, -2]),
        (options.real("--lr"), "-1e-3", -1e-3),
        (options.minimum("--k", 2), "2", 2),
        (options.minimum("--f", 0.5, float), "0.75", 0.75),
        (options.assignment("--set"), "lr=0.1", ("lr", 0.1)),
        (options.assignment("--set"), " name =abc", ("name", "abc")),
        (options.assignment("--set"), 'k={"a": [1]}', ("k", {"a": [1]})),
        (options.assignment("--set"), "k=", ("k", "")),
        (options.assignment("--set"), "k=a=b", ("k", "a=b")),
    ],
)
def test_option_types_accept(factory, text, expected) -> None:
    out = factory(text)
    assert out == expected and type(out) is type(expected)


@pytest.mark.parametrize(
    ("factory", "text", "message"),
    [
        (options.count("--n", 1), "x", "--n must be an integer, got 'x'"),
        (options.count("--n", 2), "1", "--n must be >= 2, got 1"),
        (options.int_list("--epochs", 1), "1,a", "--epochs must be comma-separated integers, got '1,a'"),
        (options.int_list("--epochs", 1), "1,0", "--epochs needs integers >= 1, got '1,0'"),
        (options.seed_list("--seeds"), "0;1", "--seeds must be comma-separated integers, got '0;1'"),
        (options.seed_list("--seeds"), ",", "--seeds needs at least one seed"),
        (options.real("--lr"), "fast", "--lr must be a number, got 'fast'"),
        (options.real("--lr", positive=True), "0", "--lr must be > 0, got 0"),
        (options.real("--lr", positive=True), "nan", "--lr must be > 0, got nan"),
        (options.minimum("--k", 2), "1", "--k must be >= 2, got 1"),
        (options.assignment("--set", "NAME"), "lr", "--set needs NAME=VALUE, got 'lr'"),
        (options.assignment("--set"), " =1", "--set needs KEY=VALUE, got ' =1'"),
    ],
)
def test_option_types_reject(factory, text, message) -> None:
    with pytest.raises(OptionError) as info:
        factory(text)
    assert str(info.value) == message


def test_parse_arch() -> None:
    arch = "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|"
    assert options.parse_arch(" 42 ") == 42 and type(options.parse_arch("42")) is int
    assert options.parse_arch(f"  {arch}\n") == arch
    assert options.parse_arch("-1") == "-1"
    assert options.parse_arch("²") == "²"  # a superscript digit is text, not an index


# ------------------------------------------------------------------------------ agreement
def test_seed_mean_spearman() -> None:
    assert seed_mean_spearman(0.5, 1) == pytest.approx(0.5)
    assert seed_mean_spearman(0.5, 3) == pytest.approx(0.75)
    assert seed_mean_spearman(0.6, 2) == pytest.approx(1.2 / 1.6)
    assert seed_mean_spearman(1.0, 7) == pytest.approx(1.0)
    assert seed_mean_spearman(0.8, 4) > seed_mean_spearman(0.8, 2) > 0.8
    with pytest.raises(ConfigError, match=r"^seeds must be >= 1, got 0$"):
        seed_mean_spearman(0.5, 0)

"""The runner (``nasbench.search.runner.compare``), its results directory, and the ``compare``,
``strategies`` and ``report`` subcommands, including a third-party plugin package."""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nasbench import __version__
from nasbench.bench.results import RESULT_FILES, RUNS_COLUMNS, TRAJECTORY_FILE_COLUMNS
from nasbench.cli.main import main
from nasbench.core.errors import ConfigError, NasbenchError
from nasbench.search import (
    Budget,
    Constraint,
    Result,
    Strategy,
    Task,
    Trial,
    compare,
    register_strategy,
    strategy_registry,
)
from nasbench.testing import synthetic_table

REPRODUCIBLE = tuple(name for name in RESULT_FILES if name != "timing.json")
PLUGIN_SOURCE = Path(__file__).parent / "plugin"
BUDGET = Budget(evaluations=25)


# --------------------------------------------------------------------- test strategies
class UniformRandom(Strategy):
    """Uniform random proposals, repeats allowed (a test helper)."""

    kind = "black-box"

    def ask(self) -> Trial:
        return Trial(int(self.rng.integers(self.task.space.size)))


class TellRaises(UniformRandom):
    """A strategy with a bug: its third ``tell`` raises."""

    def _setup(self) -> None:
        self._told = 0

    def tell(self, trial: Trial, result: Result) -> None:
        self._told += 1
        if self._told == 3:
            raise RuntimeError("tell exploded on purpose")


class LatencyTradeoff(UniformRandom):
    """Multi-objective: accuracy against single-thread CPU latency."""

    kind = "multi-objective"

    def objective(self, task: Task) -> str | None:
        return "cpu-1t/latency_ms_b1"


class TwoThreadConstrained(UniformRandom):
    """Constrained by two-thread CPU latency, which only some tables measure."""

    kind = "constrained"

    def constraint(self, task: Task) -> Constraint | None:
        return Constraint("cpu-2t/latency_ms_b1", 0.5)


TEST_STRATEGIES: dict[str, type[Strategy]] = {
    "test-uniform": UniformRandom,
    "test-tell-raises": TellRaises,
    "test-latency-tradeoff": LatencyTradeoff,
    "test-cpu2-constrained": TwoThreadConstrained,
}


@pytest.fixture(scope="module", autouse=True)
def test_strategies() -> Iterator[None]:
    """Register the strategies above for this module only (other modules, such as the
    conformance suite, must not see them)."""
    with strategy_registry.scoped():
        for name, cls in TEST_STRATEGIES.items():
            register_strategy(name)(cls)
        yield


# --------------------------------------------------------------------- fixtures and helpers
@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("runner-tables")
    synthetic_table(folder / "synth.h5", failed_fraction=0.02)
    synthetic_table(folder / "one-device.h5", seed=1, devices=("cpu-1t",))
    return {"synth": folder / "synth.h5", "one-device": folder / "one-device.h5"}


@pytest.fixture(scope="module")
def results(tables: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runner-results") / "base"
    compare(
        [tables["synth"]],
        ["rs", "test-latency-tradeoff", "test-tell-raises"],
        2,
        BUDGET,
        out,
        progress=False,
    )
    return out


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def run_cli(capsys: pytest.CaptureFixture[str], *argv: Any) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 1, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("nasbench: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, err)


# --------------------------------------------------------------------- the results directory
def test_results_files_and_config(results: Path, tables: dict[str, Path]) -> None:
    assert sorted(p.name for p in results.iterdir()) == sorted(RESULT_FILES)
    config = json.loads((results / "config.json").read_text())
    assert (results / "config.json").read_text().endswith("}\n")
    assert config["format"] == "nasbench-results/1"
    assert config["budget"] == {"evaluations": 25, "seconds": None}
    assert config["seeds"] == [0, 1]
    [table] = config["tables"]
    assert table["name"] == "synth" and table["path"] == str(tables["synth"])
    assert table["num_epochs"] == 4 and 0 < table["best_test_acc"] <= 100
    # the mean cost of one full run: training of every epoch plus the final evaluation
    from nasbench.core.table import open_table

    synth = open_table(tables["synth"])
    recorded = synth.run_status != 0
    train, evaluation = (synth.raw(name).astype(np.float64) for name in ("train_seconds", "eval_seconds"))
    runs = np.nansum(train, axis=2) + np.nan_to_num(evaluation[:, :, -1])
    assert table["mean_run_seconds"] == pytest.approx(float(np.mean(runs[recorded])), rel=1e-12)
    assert "mean_train_seconds" not in table
    assert [s["name"] for s in config["strategies"]] == ["rs", "test-latency-tradeoff", "test-tell-raises"]
    assert config["strategies"][0] == {
        "name": "rs",
        "kind": "black-box",
        "hyperparameters": {"deduplicate": "class"},
        "provider": {
            "distribution": "nasbench",
            "module": "nasbench.strategies.random_search",
            "version": __version__,
        },
    }
    assert config["strategies"][1]["provider"] == {"distribution": "", "module": __name__, "version": ""}
    with open(results / "runs.csv", newline="") as handle:
        assert tuple(next(csv.reader(handle))) == RUNS_COLUMNS
    with open(results / "trajectories.csv", newline="") as handle:
        assert tuple(next(csv.reader(handle))) == TRAJECTORY_FILE_COLUMNS


def test_rerun_is_byte_identical(results: Path, tables: dict[str, Path], tmp_path: Path) -> None:
    again = tmp_path / "again"
    compare(
        [str(tables["synth"])],
        "test-tell-raises,rs,test-latency-tradeoff",  # another order: the same configuration
        [1, 0],
        {"evaluations": 25},
        again,
        progress=False,
    )
    for name in REPRODUCIBLE:
        assert (again / name).read_bytes() == (results / name).read_bytes(), name
    assert (again / "timing.json").exists()


def test_failed_runs_are_logged(
    tables: dict[str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="nasbench.search.runner"):
        summary = compare(
            [tables["synth"]], ["test-tell-raises"], 1, BUDGET, tmp_path / "out", progress=False
        )
    assert summary.runs_failed == 1
    [record] = [r for r in caplog.records if r.name == "nasbench.search.runner"]
    assert "synth / test-tell-raises / seed 0 failed" in record.getMessage()
    assert "RuntimeError: tell exploded on purpose" in record.getMessage()


def test_failing_strategy_is_recorded_and_others_go_on(results: Path) -> None:
    runs = read_csv(results / "runs.csv")
    assert [(r["strategy"], r["seed"], r["status"]) for r in runs] == [
        ("rs", "0", "ok"),
        ("rs", "1", "ok"),
        ("test-latency-tradeoff", "0", "ok"),
        ("test-latency-tradeoff", "1", "ok"),
        ("test-tell-raises", "0", "failed"),
        ("test-tell-raises", "1", "failed"),
    ]
    for row in runs:
        if row["status"] == "failed":
            assert row["kind"] == "black-box"
            assert all(row[c] == "" for c in RUNS_COLUMNS[5:]), row
        else:
            assert int(row["evaluations"]) == 25
    errors = json.loads((results / "errors.json").read_text())
    assert [(e["table"], e["strategy"], e["seed"]) for e in errors] == [
        ("synth", "test-tell-raises", 0),
        ("synth", "test-tell-raises", 1),
    ]
    for error in errors:
        assert error["error"] == "RuntimeError: tell exploded on purpose"
        assert "\n" not in error["error"]
        assert error["traceback"].startswith("Traceback (most recent call last):")
        assert "in tell" in error["traceback"] and "tell exploded on purpose" in error["traceback"]
    trajectories = read_csv(results / "trajectories.csv")
    assert {r["strategy"] for r in trajectories} == {"rs", "test-latency-tradeoff"}


def _by_run(rows: list[dict[str, str]]) -> dict[tuple[str, str, str], list[dict[str, str]]]:
    out: dict[tuple[str, str, str], list[dict[str, str]]] = {}
    for row in rows:
        out.setdefault((row["table"], row["strategy"], row["seed"]), []).append(row)
    return out


def _check_runs_against_trajectories(folder: Path, seconds_budget: float | None = None) -> None:
    config = json.loads((folder / "config.json").read_text())
    # each run's regret is against its own best (hold-out scoring: it depends on the seed)
    best = {t["name"]: t["best_test_acc_by_seed"] for t in config["tables"]}
    trajectories = _by_run(read_csv(folder / "trajectories.csv"))
    ok_runs = [r for r in read_csv(folder / "runs.csv") if r["status"] == "ok"]
    assert ok_runs
    for run in ok_runs:
        key = (run["table"], run["strategy"], run["seed"])
        rows = trajectories[key]
        assert [int(r["evaluation"]) for r in rows] == list(range(1, len(rows) + 1))
        assert int(run["evaluations"]) == len(rows)
        if not run["constraint"]:  # a constrained run's regret is against the feasible best
            run_best = best[run["table"]][run["seed"]]
            assert float(run["final_regret"]) == run_best - float(run["final_test_acc"])
        last = rows[-1]
        assert run["final_index"] == last["incumbent_index"]
        assert run["final_val_acc"] == last["incumbent_val_acc"]
        assert run["final_test_acc"] == last["incumbent_test_acc"]
        assert run["final_regret"] == last["regret"]
        assert run["final_arch"].startswith("|")
        seconds = np.array([float(r["sim_seconds"]) for r in rows])
        regret = np.array([float(r["regret"]) if r["regret"] else math.inf for r in rows])
        incumbent_val = np.array(
            [float(r["incumbent_val_acc"]) if r["incumbent_val_acc"] else -1 for r in rows]
        )
        assert np.all(np.diff(seconds) >= 0)
        assert np.all(np.diff(regret) <= 0)
        assert np.all(np.diff(incumbent_val) >= 0)
        assert float(run["sim_seconds"]) >= seconds[-1]
        if seconds_budget is not None:
            assert seconds[-1] <= seconds_budget
            assert float(run["sim_seconds"]) <= seconds_budget


def test_runs_agree_with_trajectories(results: Path) -> None:
    _check_runs_against_trajectories(results)


def test_seconds_budget_and_run_time_failure(tables: dict[str, Path], tmp_path: Path) -> None:
    """A strategy that needs a device one table lacks fails on that table only; a seconds
    budget is never exceeded."""
    seconds = 12.0
    summary = compare(
        [tables["synth"], tables["one-device"]],
        ["test-cpu2-constrained", "test-uniform"],
        1,
        Budget(seconds=seconds),
        tmp_path / "out",
        progress=False,
        statistics="demsar",  # random search, the default baseline, is not compared
    )
    assert (summary.runs, summary.runs_ok, summary.runs_failed) == (4, 3, 1)
    runs = {(r["table"], r["strategy"]): r for r in read_csv(tmp_path / "out" / "runs.csv")}
    assert runs[("one-device", "test-cpu2-constrained")]["status"] == "failed"
    assert runs[("synth", "test-cpu2-constrained")]["status"] == "ok"
    assert runs[("synth", "test-cpu2-constrained")]["constraint"] == "cpu-2t/latency_ms_b1<=0.5"
    assert runs[("synth", "test-cpu2-constrained")]["kind"] == "constrained"
    assert float(runs[("synth", "test-cpu2-constrained")]["final_regret"]) >= 0
    [error] = json.loads((tmp_path / "out" / "errors.json").read_text())
    assert error["table"] == "one-device" and error["error"].startswith("MetricError: ")
    assert "cpu-2t/latency_ms_b1" in error["error"]
    _check_runs_against_trajectories(tmp_path / "out", seconds_budget=seconds)


def test_pareto_front_is_the_non_dominated_set(results: Path, tables: dict[str, Path]) -> None:
    from nasbench.core.table import open_table

    latency = open_table(tables["synth"]).metric("cpu-1t/latency_ms_b1")
    pareto = _by_run(read_csv(results / "pareto.csv"))
    assert {key[1] for key in pareto} == {"test-latency-tradeoff"}
    runs = {(r["table"], r["strategy"], r["seed"]): r for r in read_csv(results / "runs.csv")}
    for key, rows in _by_run(read_csv(results / "trajectories.csv")).items():
        if key[1] != "test-latency-tradeoff":
            continue
        assert runs[key]["objective"] == "cpu-1t/latency_ms_b1"
        seen = {int(r["index"]): float(r["val_acc"]) for r in rows}
        front = {int(r["index"]) for r in pareto[key]}
        for row in pareto[key]:
            assert row["objective"] == "cpu-1t/latency_ms_b1"
            assert float(row["objective_value"]) == float(latency[int(row["index"])])
            assert float(row["val_acc"]) == seen[int(row["index"])]
        for index, val in seen.items():
            dominated = any(
                v >= val and latency[i] <= latency[index] and (v > val or latency[i] < latency[index])
                for i, v in seen.items()
            )
            assert dominated == (index not in front), index


def test_dask_workers_write_the_same_bytes(results: Path, tables: dict[str, Path], tmp_path: Path) -> None:
    """Two local Dask worker processes; the failing strategy is a class registered in this
    module, which travels with its jobs to the workers."""
    out = tmp_path / "dask"
    compare(
        [tables["synth"]],
        ["rs", "test-latency-tradeoff", "test-tell-raises"],
        2,
        BUDGET,
        out,
        workers=2,
        progress=False,
    )
    for name in REPRODUCIBLE:
        assert (out / name).read_bytes() == (results / name).read_bytes(), name
    timing = json.loads((out / "timing.json").read_text())
    assert timing["workers"] == 2 and len(timing["runs"]) == 6


def test_existing_scheduler(results: Path, tables: dict[str, Path], tmp_path: Path) -> None:
    """``scheduler=ADDRESS`` sends the jobs to a running cluster (here an in-process one)."""
    import logging

    from distributed import LocalCluster

    cluster = LocalCluster(
        n_workers=1,
        processes=False,
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": ":0"},  # not 8787, which may be taken
        silence_logs=logging.ERROR,
    )
    try:
        out = tmp_path / "scheduler"
        compare(
            [tables["synth"]],
            ["rs", "test-latency-tradeoff", "test-tell-raises"],
            2,
            BUDGET,
            out,
            scheduler=cluster.scheduler_address,
            progress=False,
        )
    finally:
        cluster.close()
    for name in REPRODUCIBLE:
        assert (out / name).read_bytes() == (results / name).read_bytes(), name
    assert json.loads((out / "timing.json").read_text())["scheduler"] == cluster.scheduler_address


def test_interrupted_compare_leaves_existing_results_untouched(
    results: Path, tables: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nasbench.search.jobs as jobs

    out = tmp_path / "kept"
    shutil.copytree(results, out)
    before = snapshot(out)
    calls = []
    real = jobs.run_job

    def interrupted(payload: dict[str, Any]) -> dict[str, Any]:
        calls.append(payload)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(payload)

    monkeypatch.setattr(jobs, "run_job", interrupted)
    with pytest.raises(KeyboardInterrupt):
        compare([tables["synth"]], ["rs"], 3, BUDGET, out, overwrite=True, progress=False)
    assert snapshot(out) == before
    assert leftovers(tmp_path) == []


def test_overwrite_replaces_a_results_directory_and_nothing_else(
    tables: dict[str, Path], tmp_path: Path
) -> None:
    """``overwrite`` replaces an earlier results directory, but never one holding files a
    comparison did not write (a user's notes, the input table): those stay, untouched."""
    out = tmp_path / "out"
    compare([tables["synth"]], ["rs"], 2, BUDGET, out, progress=False)
    first = (out / "runs.csv").read_text()
    compare([tables["synth"]], ["rs"], 1, BUDGET, out, overwrite=True, progress=False)
    assert sorted(p.name for p in out.iterdir()) == sorted(RESULT_FILES)
    assert (out / "runs.csv").read_text() != first  # one seed now, not two
    (out / "notes.md").write_text("mine")
    shutil.copyfile(tables["synth"], out / "synth.h5")
    before = snapshot(out)
    with pytest.raises(ConfigError, match="not empty"):
        compare([tables["synth"]], ["rs"], 1, BUDGET, out, progress=False)
    with pytest.raises(ConfigError, match=r"did not write \(notes.md, synth.h5\)"):
        compare([out / "synth.h5"], ["rs"], 1, BUDGET, out, overwrite=True, progress=False)
    assert snapshot(out) == before
    assert leftovers(tmp_path) == []


def test_files_put_in_the_directory_during_a_comparison_are_kept(
    tables: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file that appears in DIR while comparing is not deleted: the new results go beside it."""
    out = tmp_path / "out"
    compare([tables["synth"]], ["rs"], 1, BUDGET, out, progress=False)
    import nasbench.search.jobs as jobs

    real = jobs.run_job

    def meanwhile(payload: dict[str, Any]) -> dict[str, Any]:
        (out / "notes.md").write_text("written while comparing")
        return real(payload)

    monkeypatch.setattr(jobs, "run_job", meanwhile)
    with pytest.raises(ConfigError, match="the new results are in") as info:
        compare([tables["synth"]], ["rs"], 1, BUDGET, out, overwrite=True, progress=False)
    assert (out / "notes.md").read_text() == "written while comparing"
    kept = Path(str(info.value).rsplit("the new results are in ", 1)[1])
    assert kept.parent == tmp_path and sorted(p.name for p in kept.iterdir()) == sorted(RESULT_FILES)


def test_api_rejects_bad_input_before_running(tables: dict[str, Path], tmp_path: Path) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"strategies": ["rs_"]}, "did you mean 'rs'"),
        ({"strategies": []}, "non-empty"),
        ({"params": {"rs": {"dedup": "class"}}}, "did you mean 'deduplicate'"),
        ({"params": {"rs": {"deduplicate": 3}}}, "deduplicate"),
        ({"params": {"rs": {"seed": 3}}}, "seed"),
        ({"seeds": 0}, "seeds"),
        ({"seeds": [-1]}, "seeds"),
        ({"budget": {"evaluations": 0}}, "evaluations"),
        ({"budget": {"seconds": -2.0}}, "seconds"),
        ({"tables": [tmp_path / "missing.h5"]}, "missing.h5"),
        ({"tables": [tables["synth"], tables["synth"]]}, "twice"),
        ({"workers": -1}, "workers"),
    ]
    for change, fragment in cases:
        arguments: dict[str, Any] = {
            "tables": [tables["synth"]],
            "strategies": ["rs"],
            "seeds": 1,
            "budget": BUDGET,
            "out": tmp_path / "never",
            "progress": False,
        }
        arguments.update(change)
        with pytest.raises(NasbenchError, match=fragment):
            compare(**arguments)
        assert not (tmp_path / "never").exists()
    assert leftovers(tmp_path) == []


# --------------------------------------------------------------------- the command line
def test_cli_compare(tables: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    common = ["compare", "--table", tables["synth"], "--seeds", "2", "--budget-evals", "10", "--quiet"]
    code, stdout, err = run_cli(
        capsys, *common, "--strategies", "rs,test-uniform", "--param", "rs.deduplicate=none", "--out", out
    )
    assert code == 0, err
    assert err == ""
    assert stdout.startswith(f"{out}: 4 runs") and "4 ok, 0 failed" in stdout
    config = json.loads((out / "config.json").read_text())
    assert config["strategies"][0]["hyperparameters"] == {"deduplicate": "none"}
    code, stdout, err = run_cli(
        capsys, *common, "--strategies", "test-tell-raises", "--out", out, "--overwrite"
    )
    assert_one_line_error(code, err, "2 runs failed", "RuntimeError: tell exploded on purpose", "errors.json")
    assert "0 ok, 2 failed" in stdout


@pytest.fixture
def bad_inputs(tables: dict[str, Path], tmp_path: Path) -> list[tuple[list[Any], tuple[str, ...]]]:
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"this is not an HDF5 file\n" * 10)
    synth = tables["synth"]
    return [
        (["--strategies", "rs_"], ("unknown strategy 'rs_'", "did you mean 'rs'")),
        (["--param", "rs.dedup=class"], ("no hyperparameter 'dedup'", "did you mean 'deduplicate'")),
        (["--param", "rs.deduplicate=sometimes"], ("deduplicate", "sometimes")),
        (["--param", "re.population_size=5"], ("'re'", "not compared")),
        (["--param", "rs=3"], ("--param",)),
        (["--budget-evals", "0"], ("--budget-evals",)),
        (["--budget-evals", "-3"], ("--budget-evals",)),
        (["--budget-evals", "many"], ("--budget-evals",)),
        (["--budget-evals", None, "--budget-seconds", "0"], ("budget: seconds",)),
        (["--budget-evals", None, "--budget-seconds", "-1.5"], ("budget: seconds",)),
        (["--budget-evals", None, "--budget-seconds", "soon"], ("--budget-seconds",)),
        (["--budget-evals", None], ("needs a budget",)),
        (["--seeds", "0"], ("--seeds",)),
        (["--seeds", "two"], ("--seeds",)),
        (["--workers", "-1"], ("--workers",)),
        (["--table", tmp_path / "missing.h5"], ("missing.h5",)),
        (["--table", garbage], ("garbage.h5",)),
        (["--table", synth, "--table", synth], ("twice",)),
    ]


def _compare_argv(table: Path, out: Path, changes: list[Any]) -> list[Any]:
    options: dict[str, Any] = {
        "--strategies": "rs",
        "--seeds": "1",
        "--budget-evals": "5",
        "--out": out,
    }
    tables_given: list[Any] = []
    extra: list[Any] = []
    for option, value in zip(changes[::2], changes[1::2], strict=True):
        if option == "--table":
            tables_given.append(value)
        elif option == "--param":
            extra += [option, value]
        else:
            options[option] = value
    argv: list[Any] = ["compare", "--quiet", "--overwrite"]
    for table_path in tables_given or [table]:
        argv += ["--table", table_path]
    for option, value in options.items():
        if value is not None:
            argv += [option, value]
    return argv + extra


def test_cli_bad_input_is_one_line_and_leaves_results_untouched(
    results: Path,
    tables: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    bad_inputs: list[tuple[list[Any], tuple[str, ...]]],
) -> None:
    out = tmp_path / "existing"
    shutil.copytree(results, out)
    before = snapshot(out)
    for changes, fragments in bad_inputs:
        code, stdout, err = run_cli(capsys, *_compare_argv(tables["synth"], out, changes))
        assert stdout == "", changes
        assert_one_line_error(code, err, *fragments)
        assert snapshot(out) == before, changes
    # a non-empty DIR without --overwrite, and a DIR that is a file
    argv = [
        "compare",
        "--table",
        tables["synth"],
        "--strategies",
        "rs",
        "--seeds",
        "1",
        "--budget-evals",
        "5",
    ]
    code, _, err = run_cli(capsys, *argv, "--out", out)
    assert_one_line_error(code, err, "not empty", "--overwrite")
    assert snapshot(out) == before
    code, _, err = run_cli(capsys, *argv, "--out", out / "runs.csv")
    assert_one_line_error(code, err, "not a directory")
    assert snapshot(out) == before
    assert leftovers(tmp_path) == []


def test_cli_strategies(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "strategies")
    assert code == 0, err
    rs_line = next(line for line in out.splitlines() if line.startswith("rs "))
    assert "black-box" in rs_line and "Random search" in rs_line
    assert "deduplicate='class'" in out
    assert "test-latency-tradeoff" in out and "multi-objective" in out
    code, out, err = run_cli(capsys, "strategies", "test-*", "--json")
    assert code == 0, err
    data = json.loads(out)
    by_name = {entry["name"]: entry for entry in data["strategies"]}
    assert set(by_name) == set(TEST_STRATEGIES)
    assert by_name["test-cpu2-constrained"]["kind"] == "constrained"
    assert by_name["test-uniform"]["hyperparameters"] == {}
    assert by_name["test-uniform"]["summary"].startswith("Uniform random proposals")
    assert data["failed_plugins"] == []
    code, _, err = run_cli(capsys, "strategies", "no-such-*")
    assert_one_line_error(code, err, "no strategy matches 'no-such-*'")


def test_cli_report(results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "report", results, "--out", tmp_path / "report")
    assert code == 0, err
    paths = out.split()
    assert paths and all(Path(p).exists() for p in paths)
    code, _, err = run_cli(capsys, "report", tmp_path / "no-results", "--out", tmp_path / "report2")
    assert_one_line_error(code, err)


# --------------------------------------------------------------------- a third-party plugin
BROKEN_ENTRY_POINTS = "[nasbench.strategies]\nbroken-plugin = nasbench_broken_plugin:Missing\n"


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/plugin installed with pip into a folder, plus a broken plugin whose module
    raises on import (a hand-written .dist-info, as pip would have left it)."""
    work = tmp_path_factory.mktemp("plugin")
    source = work / "source"
    shutil.copytree(
        PLUGIN_SOURCE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    target = work / "site"
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index"]
    command += ["--quiet", "--disable-pip-version-check", "--target", str(target), str(source)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        pytest.fail(f"pip could not install tests/plugin: {done.stderr[-2000:]}")
    broken = target / "nasbench_broken_plugin-0.1.dist-info"
    broken.mkdir()
    (broken / "METADATA").write_text("Metadata-Version: 2.1\nName: nasbench-broken-plugin\nVersion: 0.1\n")
    (broken / "entry_points.txt").write_text(BROKEN_ENTRY_POINTS)
    (target / "nasbench_broken_plugin.py").write_text('raise RuntimeError("this plugin is broken")\n')
    return target


def run_nasbench(plugin_path: Path, *argv: Any) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugin_path), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "nasbench", *(str(a) for a in argv)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


def test_plugin_is_listed_and_compared(plugin_path: Path, tables: dict[str, Path], tmp_path: Path) -> None:
    listed = run_nasbench(plugin_path, "strategies", "--json")
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    plugin = next(entry for entry in data["strategies"] if entry["name"] == "cheapest-first")
    assert plugin["kind"] == "black-box"
    assert plugin["hyperparameters"] == {"pool": 100}
    assert plugin["source"] == "entry point of nasbench-cheapest-first"
    broken = {entry["name"]: entry["error"] for entry in data["failed_plugins"]}
    assert "RuntimeError: this plugin is broken" in broken["broken-plugin"]
    text = run_nasbench(plugin_path, "strategies", "*-plugin")
    assert text.returncode == 0 and "broken-plugin" in text.stdout and "FAILED" in text.stdout

    out = tmp_path / "plugin-results"
    argv = ["compare", "--table", tables["synth"], "--strategies", "rs,cheapest-first,broken-plugin"]
    argv += [
        "--seeds",
        "2",
        "--budget-evals",
        "8",
        "--param",
        "cheapest-first.pool=20",
        "--out",
        out,
        "--quiet",
    ]
    compared = run_nasbench(plugin_path, *argv)
    assert compared.returncode == 1
    assert len(compared.stderr.splitlines()) == 1 and "2 runs failed" in compared.stderr
    runs = {(r["strategy"], r["seed"]): r for r in read_csv(out / "runs.csv")}
    assert {key: row["status"] for key, row in runs.items()} == {
        ("broken-plugin", "0"): "failed",
        ("broken-plugin", "1"): "failed",
        ("cheapest-first", "0"): "ok",
        ("cheapest-first", "1"): "ok",
        ("rs", "0"): "ok",
        ("rs", "1"): "ok",
    }
    assert int(runs[("cheapest-first", "0")]["evaluations"]) == 8
    errors = json.loads((out / "errors.json").read_text())
    assert {e["strategy"] for e in errors} == {"broken-plugin"}
    assert "this plugin is broken" in errors[0]["error"]


def test_plugin_in_compare_all(plugin_path: Path, tables: dict[str, Path], tmp_path: Path) -> None:
    """``--strategies all`` runs every registered strategy: the plugin's runs succeed, the
    broken plugin fails its own runs only. Built-ins whose module is not written yet are
    the only other failures tolerated."""
    out = tmp_path / "all"
    argv = ["compare", "--table", tables["synth"], "--strategies", "all", "--seeds", "1"]
    compared = run_nasbench(plugin_path, *argv, "--budget-evals", "5", "--out", out, "--quiet")
    assert compared.returncode == 1, compared.stderr
    runs = {r["strategy"]: r for r in read_csv(out / "runs.csv")}
    assert runs["cheapest-first"]["status"] == "ok" and runs["rs"]["status"] == "ok"
    assert runs["broken-plugin"]["status"] == "failed"
    errors = {e["strategy"]: e["error"] for e in json.loads((out / "errors.json").read_text())}
    assert set(errors) == {name for name, row in runs.items() if row["status"] == "failed"}
    for name, error in errors.items():
        if name != "broken-plugin":
            assert "No module named 'nasbench.strategies." in error, (name, error)


# --------------------------------------------------------------------- the demo
def test_default_table_is_found_in_tables_or_nasbench_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nasbench.core.errors import TableError
    from nasbench.search.demo import DEFAULT_TABLE, default_table

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NASBENCH_TABLES", raising=False)
    with pytest.raises(TableError, match=r"pass table=PATH or set NASBENCH_TABLES") as info:
        default_table()
    assert "--table" not in str(info.value), "library messages name parameters, not flags"
    elsewhere = tmp_path / "shipped"
    elsewhere.mkdir()
    (elsewhere / DEFAULT_TABLE).write_bytes(b"")
    monkeypatch.setenv("NASBENCH_TABLES", str(elsewhere))
    assert default_table() == elsewhere / DEFAULT_TABLE
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / DEFAULT_TABLE).write_bytes(b"")
    assert default_table() == Path("tables") / DEFAULT_TABLE, "./tables/ first"


def test_run_demo_compares_and_writes_no_report(tables: dict[str, Path], tmp_path: Path) -> None:
    from nasbench.core.cost import mean_run_seconds
    from nasbench.core.table import open_table
    from nasbench.search.demo import run_demo

    results = tmp_path / "results"
    summary = run_demo(
        table=tables["synth"], results=results, seeds=2, budget_runs=4, strategies=["rs", "re"], workers=0,
        progress=False,
    )  # fmt: skip
    assert summary.budget_seconds == round(4 * mean_run_seconds(open_table(tables["synth"])), 1)
    assert (summary.strategies, summary.seeds, summary.runs_failed) == (["re", "rs"], 2, 0)
    assert sorted(p.name for p in results.iterdir()) == sorted(RESULT_FILES)
    config = json.loads((results / "config.json").read_text())
    assert config["budget"] == {"evaluations": None, "seconds": summary.budget_seconds}
    assert not list(tmp_path.glob("*.md")) and not list(tmp_path.glob("*.html"))
    for bad, match in (({"budget_runs": 0}, "budget_runs"), ({"seeds": 0}, "seeds")):
        with pytest.raises(ConfigError, match=match):
            run_demo(table=tables["synth"], results=tmp_path / "never", **bad)  # type: ignore[arg-type]
    assert not (tmp_path / "never").exists()


def test_demo_never_deletes_what_the_user_put_in_its_results_directory(
    tables: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "results"
    results.mkdir()
    (results / "notes.md").write_text("mine")
    argv = ["demo", "--table", tables["synth"], "--results", results, "--out", tmp_path / "lb"]
    code, out, err = run_cli(capsys, *argv, "--seeds", "1", "--budget-runs", "2")
    assert code == 1 and out == "" and err.count("\n") == 1, err
    assert "holds files a comparison did not write (notes.md)" in err
    assert sorted(p.name for p in results.iterdir()) == ["notes.md"] and not (tmp_path / "lb.md").exists()

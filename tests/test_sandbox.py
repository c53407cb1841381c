"""The strategy sandbox: runs that cannot read test data, overspend, hang or take the
comparison down with them; finished runs kept and resumed (issue 18, parts 2 and 3)."""

from __future__ import annotations

import csv
import gc
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nasbench.bench.benchmark import Benchmark, Budget
from nasbench.core.errors import ConfigError
from nasbench.search import Strategy, Trial, compare, register_strategy, strategy_registry
from nasbench.search.sandbox import run_isolated
from nasbench.search.strategy import run_strategy
from nasbench.testing import TestDataProbe, synthetic_table


# --------------------------------------------------------------------- hostile strategies
def _test_values_in_reach(task: Any) -> np.ndarray | None:
    """Test accuracy of every architecture, if anything in this process holds it: the
    benchmark serving ``task``, the runner's table cache, any table."""
    from nasbench.core.table import Table
    from nasbench.search import jobs

    objects = gc.get_objects()
    warnings.simplefilter("ignore", FutureWarning)  # deprecated torch names warn when inspected
    for item in objects:
        if isinstance(item, Benchmark) and item.__dict__.get("task") is task and "_test_acc" in item.__dict__:
            return np.asarray(item.__dict__["_test_acc"])
    for table in list(jobs._TABLES.values()):
        if isinstance(table, Table):
            return table.metric("test_acc", -1)
    for item in objects:
        if isinstance(item, Table):
            return item.metric("test_acc", -1)
    return None


class Cheat(Strategy):
    """Evaluates the architecture with the best test accuracy, if it can find one."""

    kind = "black-box"

    def _setup(self) -> None:
        self._rng = np.random.default_rng(self.seed)
        test = _test_values_in_reach(self.task)
        self._best = None if test is None else int(np.nanargmax(test))

    def ask(self) -> Trial:
        index = self._best if self._best is not None else int(self._rng.integers(self.task.space.size))
        return Trial(index)


class Vandal(Strategy):
    """Zeroes the arrays it is given (and any table it can reach), then searches at random."""

    kind = "black-box"

    def _setup(self) -> None:
        self._rng = np.random.default_rng(self.seed)
        for values in self.task.properties.values():
            try:  # read-only; and were it written, a copy of its own
                values[:] = 0.0
            except ValueError:
                self.read_only = True
        for item in gc.get_objects():
            if isinstance(item, Benchmark) and "_val_acc" in item.__dict__:
                item.__dict__["_val_acc"] = [[100.0] * len(row) for row in item.__dict__["_val_acc"]]

    def ask(self) -> Trial:
        return Trial(int(self._rng.integers(self.task.space.size)))


class Sleeper(Strategy):
    """Never returns from its first ask."""

    kind = "black-box"

    def ask(self) -> Trial:
        time.sleep(3600)
        return Trial(0)


class Exits(Strategy):
    """Ends its process the way ``how`` says, on its first ask."""

    kind = "black-box"

    def __init__(self, *, how: str = "systemexit", seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.how = how

    def ask(self) -> Trial:
        if self.how == "systemexit":
            raise SystemExit(0)
        if self.how == "keyboardinterrupt":
            raise KeyboardInterrupt
        if self.how == "os_exit":
            os._exit(0)
        os.kill(os.getpid(), signal.SIGKILL)
        return Trial(0)


class Slow(Strategy):
    """Random search that takes a while per run (for killing a comparison midway)."""

    kind = "black-box"

    def _setup(self) -> None:
        self._rng = np.random.default_rng(self.seed)
        time.sleep(0.4)

    def ask(self) -> Trial:
        return Trial(int(self._rng.integers(self.task.space.size)))


HOSTILE = {
    "t-cheat": Cheat,
    "t-vandal": Vandal,
    "t-sleeper": Sleeper,
    "t-exits": Exits,
    "t-slow": Slow,
}


@pytest.fixture(scope="module", autouse=True)
def hostile_strategies() -> Iterator[None]:
    with strategy_registry.scoped():
        for name, cls in HOSTILE.items():
            register_strategy(name)(cls)
        yield


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("sandbox-tables")
    synthetic_table(folder / "base.h5")
    synthetic_table(folder / "shifted.h5", test_shift=0.05)
    return {"base": folder / "base.h5", "shifted": folder / "shifted.h5"}


def _runs(out: Path) -> dict[tuple[str, str], dict[str, str]]:
    with open(out / "runs.csv", newline="") as handle:
        return {(row["strategy"], row["seed"]): row for row in csv.DictReader(handle)}


def _choices(out: Path, strategy: str) -> list[tuple[str, str, str]]:
    with open(out / "trajectories.csv", newline="") as handle:
        return [
            (row["seed"], row["index"], row["epochs"])
            for row in csv.DictReader(handle)
            if row["strategy"] == strategy
        ]


# --------------------------------------------------------------------- test data out of reach
def test_a_cheat_finds_no_test_data_in_a_comparison(tables: dict[str, Path], tmp_path: Path) -> None:
    """Before the sandbox, reading the runner's table cache gave regret 0 on every seed."""
    for name in ("base", "shifted"):
        summary = compare(
            [tables[name]], ["t-cheat"], 3, Budget(evaluations=10), tmp_path / name, progress=False
        )
        assert summary.runs_ok == 3
    regrets = [float(row["final_regret"]) for row in _runs(tmp_path / "base").values()]
    assert min(regrets) > 0, "the cheat found the best architecture: test data was reachable"
    assert _choices(tmp_path / "base", "t-cheat") == _choices(tmp_path / "shifted", "t-cheat")


def test_the_same_cheat_succeeds_where_the_table_is_reachable(tables: dict[str, Path]) -> None:
    """The check above can fail: run in this process, the cheat finds the answer."""
    benchmark = run_strategy(Cheat(seed=0), str(tables["base"]), seed=0, budget=Budget(evaluations=5))
    assert benchmark.trajectory()["regret"][-1] == 0.0
    probe = TestDataProbe()
    probe.run(Benchmark(str(tables["base"]), seed=0))
    assert probe.run_record()["found"], "the probe finds the in-process benchmark's test data"


def test_the_probe_finds_nothing_in_a_sandboxed_run(tables: dict[str, Path]) -> None:
    done = run_isolated(
        Benchmark(str(tables["base"]), seed=0),
        "probe",
        seed=0,
        budget=Budget(evaluations=2),
        strategy_class=TestDataProbe,
    )
    assert done.record == {"found": []}


def test_a_vandal_cannot_change_other_runs(tables: dict[str, Path], tmp_path: Path) -> None:
    """Before, a plug-in writing into the shared arrays made rs/re report val/test 1.0."""
    alone = compare(
        [tables["base"]], ["rs", "re"], 2, Budget(evaluations=15), tmp_path / "alone", progress=False
    )
    mixed = compare(
        [tables["base"]],
        ["t-vandal", "rs", "re"],
        2,
        Budget(evaluations=15),
        tmp_path / "mixed",
        progress=False,
    )
    assert alone.runs_failed == 0 and mixed.runs_failed == 0
    with pytest.raises(ValueError, match="read-only"):
        Benchmark(str(tables["base"]), seed=0).task.properties["params_m"][:] = 0.0
    for key, row in _runs(tmp_path / "alone").items():
        assert _runs(tmp_path / "mixed")[key] == row
    vandal = [row for (strategy, _), row in _runs(tmp_path / "mixed").items() if strategy == "t-vandal"]
    assert all(float(row["final_val_acc"]) < 100.0 for row in vandal)


def test_an_overriding_run_cannot_spend_more_than_its_budget(tables: dict[str, Path], tmp_path: Path) -> None:
    """Before, a plug-in overriding run() spent 50x its budget and ranked first."""
    from nasbench.testing import Overspender

    with strategy_registry.scoped():
        register_strategy("t-overspender")(Overspender)
        summary = compare(
            [tables["base"]], ["t-overspender"], 2, Budget(evaluations=7), tmp_path / "o", progress=False
        )
    assert summary.runs_ok == 2
    for row in _runs(tmp_path / "o").values():
        assert row["evaluations"] == "7"
    with open(tmp_path / "o" / "trajectories.csv", newline="") as handle:
        assert sum(1 for _ in csv.DictReader(handle)) == 14


def test_what_a_strategy_is_given_holds_no_test_metric(tables: dict[str, Path]) -> None:
    done = run_isolated(
        Benchmark(str(tables["base"]), seed=0), "rs", seed=0, budget=Budget(evaluations=3), kind="black-box"
    )
    assert done.benchmark.evaluations == 3  # the parent's benchmark: scored here, not in the run
    assert np.isfinite(done.benchmark.trajectory()["regret"]).all()


# --------------------------------------------------------------------- isolation and time limits
@pytest.mark.parametrize("how", ["systemexit", "keyboardinterrupt", "os_exit", "sigkill"])
def test_a_run_that_ends_its_process_fails_alone(how: str, tables: dict[str, Path], tmp_path: Path) -> None:
    """Before: SystemExit(0) ended compare with exit 0 and no results; os._exit killed it."""
    summary = compare(
        [tables["base"]],
        ["t-exits", "rs"],
        1,
        Budget(evaluations=5),
        tmp_path / "out",
        params={"t-exits": {"how": how}},
        progress=False,
    )
    assert (summary.runs_ok, summary.runs_failed) == (1, 1)
    runs = _runs(tmp_path / "out")
    assert runs[("rs", "0")]["status"] == "ok" and runs[("t-exits", "0")]["status"] == "failed"
    [error] = json.loads((tmp_path / "out" / "errors.json").read_text())
    expected = {"systemexit": "SystemExit", "keyboardinterrupt": "KeyboardInterrupt"}.get(how, "RunDied")
    assert error["error"].startswith(expected)


def test_a_hung_run_is_stopped_at_its_time_limit(tables: dict[str, Path], tmp_path: Path) -> None:
    """Before, a strategy that sleeps hung compare and nothing was written."""
    started = time.perf_counter()
    summary = compare(
        [tables["base"]],
        ["t-sleeper", "rs"],
        1,
        Budget(evaluations=5),
        tmp_path / "out",
        progress=False,
        run_timeout=2,
    )
    assert time.perf_counter() - started < 60
    assert (summary.runs_ok, summary.runs_failed) == (1, 1)
    [error] = json.loads((tmp_path / "out" / "errors.json").read_text())
    assert error["strategy"] == "t-sleeper" and error["error"].startswith("RunTimeout")
    assert json.loads((tmp_path / "out" / "config.json").read_text())["run_timeout_seconds"] == 2.0


def test_hung_and_dying_runs_on_dask_workers(tables: dict[str, Path], tmp_path: Path) -> None:
    summary = compare(
        [tables["base"]],
        ["t-sleeper", "t-exits", "rs"],
        1,
        Budget(evaluations=5),
        tmp_path / "out",
        params={"t-exits": {"how": "os_exit"}},
        workers=2,
        progress=False,
        run_timeout=8,
    )
    assert (summary.runs_ok, summary.runs_failed) == (1, 2), summary.errors
    errors = {e["strategy"]: e["error"] for e in json.loads((tmp_path / "out" / "errors.json").read_text())}
    assert errors["t-sleeper"].startswith("RunTimeout") and errors["t-exits"].startswith("RunDied")


def test_run_timeout_is_validated(tables: dict[str, Path], tmp_path: Path) -> None:
    for bad in (0, -1, float("nan"), 1e12):
        with pytest.raises(ConfigError, match="run_timeout"):
            compare([tables["base"]], ["rs"], 1, Budget(evaluations=2), tmp_path / "x", run_timeout=bad)
    assert not (tmp_path / "x").exists()


# --------------------------------------------------------------------- finished runs kept, resumed
_KILLED = textwrap.dedent(
    """
    import sys
    from nasbench.search import Budget, compare, register_strategy
    sys.path.insert(0, {tests!r})
    from test_sandbox import Slow
    register_strategy("t-slow")(Slow)
    compare([{table!r}], ["t-slow"], 8, Budget(evaluations=5), {out!r}, progress=False)
    """
)


def test_a_killed_comparison_keeps_its_finished_runs_and_resumes(
    tables: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    code = _KILLED.format(tests=str(Path(__file__).parent), table=str(tables["base"]), out=str(out))
    process = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    journal = tmp_path / "out.partial" / "runs.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if journal.exists() and len(journal.read_text().splitlines()) >= 2:
            break
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not out.exists()
    kept = len(journal.read_text().splitlines())
    assert 2 <= kept < 8
    with open(journal, "a") as handle:
        handle.write('{"key": ["base", "t-slow"')  # a line cut short by the kill
    summary = compare([tables["base"]], ["t-slow"], 8, Budget(evaluations=5), out, progress=False)
    assert summary.resumed == kept and summary.runs_ok == 8
    assert not (tmp_path / "out.partial").exists()
    fresh = compare(
        [tables["base"]], ["t-slow"], 8, Budget(evaluations=5), tmp_path / "fresh", progress=False
    )
    assert fresh.resumed == 0
    for name in ("config.json", "runs.csv", "trajectories.csv", "errors.json"):
        assert (out / name).read_bytes() == (tmp_path / "fresh" / name).read_bytes(), name


def test_finished_runs_of_another_comparison_are_not_mixed_in(
    tables: dict[str, Path], tmp_path: Path
) -> None:
    partial = tmp_path / "out.partial"
    partial.mkdir()
    (partial / "config.json").write_text("{}\n")
    (partial / "runs.jsonl").write_text("")
    with pytest.raises(ConfigError, match="different comparison"):
        compare([tables["base"]], ["rs"], 1, Budget(evaluations=2), tmp_path / "out", progress=False)
    assert (partial / "config.json").read_text() == "{}\n"
    (partial / "notes.md").write_text("mine")
    with pytest.raises(ConfigError, match=r"notes\.md"):
        compare(
            [tables["base"]],
            ["rs"],
            1,
            Budget(evaluations=2),
            tmp_path / "out",
            progress=False,
            overwrite=True,
        )
    (partial / "notes.md").unlink()
    summary = compare(
        [tables["base"]], ["rs"], 1, Budget(evaluations=2), tmp_path / "out", progress=False, overwrite=True
    )
    assert summary.runs_ok == 1 and summary.resumed == 0 and not partial.exists()


def test_records_from_a_run_are_checked(tables: dict[str, Path]) -> None:
    class BadRecord(Strategy):
        kind = "black-box"

        def ask(self) -> Trial:
            return Trial(0)

        def run_record(self) -> dict[str, Any] | None:
            return {"epochs": [["not", "a", "row"]]}

    from nasbench.search.sandbox import RunFailed

    with pytest.raises(RunFailed, match="run_record"):
        run_isolated(
            Benchmark(str(tables["base"]), seed=0),
            "bad",
            seed=0,
            budget=Budget(evaluations=2),
            strategy_class=BadRecord,
        )


def test_run_timeout_on_the_command_line(
    tables: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nasbench.cli.main import main

    base = ["compare", "--table", str(tables["base"]), "--strategies", "t-sleeper,rs", "--seeds", "1"]
    assert main([*base, "--budget-evals", "3", "--out", str(tmp_path / "bad"), "--run-timeout", "0"]) != 0
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("nasbench:") and "--run-timeout" in error[0]
    code = main(
        [*base, "--budget-evals", "3", "--out", str(tmp_path / "ok"), "--run-timeout", "2", "--quiet"]
    )
    assert code == 1  # the sleeper's run failed, and the command says so
    captured = capsys.readouterr()
    assert "1 ok, 1 failed" in captured.out and "RunTimeout" in captured.err


_PLUGIN = '''
import os
import pathlib

with open(pathlib.Path(__file__).with_suffix(".pids"), "a") as handle:
    handle.write(f"{os.getpid()}\\n")

from nasbench.search import Strategy, Trial


class PidMark(Strategy):
    """Random search whose module notes which processes import it."""

    kind = "black-box"

    def ask(self):
        return Trial(int(self.rng.integers(self.task.space.size)))
'''


def test_a_plugin_is_imported_only_in_sandboxes(
    tables: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before, compare imported every plug-in in its own process to check it, where its
    import could patch the runner that scores the runs."""
    site = tmp_path / "site"
    info = site / "nasbench_pidmark-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: nasbench-pidmark\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[nasbench.strategies]\nt-pidmark = nasbench_pidmark:PidMark\n")
    (site / "nasbench_pidmark.py").write_text(_PLUGIN)
    monkeypatch.syspath_prepend(str(site))
    summary = compare(
        [tables["base"]], ["t-pidmark", "rs"], 2, Budget(evaluations=4), tmp_path / "out", progress=False
    )
    assert summary.runs_ok == 4, summary.errors
    assert "nasbench_pidmark" not in sys.modules
    pids = {int(line) for line in (site / "nasbench_pidmark.pids").read_text().split()}
    assert pids and os.getpid() not in pids
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    provider = {s["name"]: s["provider"] for s in config["strategies"]}["t-pidmark"]
    assert provider == {"distribution": "nasbench-pidmark", "version": "0.1", "module": "nasbench_pidmark"}


def test_a_comparison_that_cannot_start_leaves_no_partial_directory(
    tables: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nasbench.search import runner

    def unreachable(*args: Any) -> Iterator[dict[str, Any]]:
        raise ConfigError("cannot reach the Dask scheduler at tcp://127.0.0.1:1")
        yield {}

    monkeypatch.setattr(runner, "execute", unreachable)
    with pytest.raises(ConfigError, match="Dask scheduler"):
        compare([tables["base"]], ["rs"], 1, Budget(evaluations=2), tmp_path / "out", progress=False)
    assert list(tmp_path.iterdir()) == []

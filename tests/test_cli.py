"""Tests of the ``nasbench`` command line: in-process through ``main`` and as a console script."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from nasbench.cli.main import build_parser, main
from nasbench.cli.plugins import COMMANDS_GROUP, SURROGATE_COMMANDS_GROUP
from nasbench.core.registry import installed_entry_points
from nasbench.core.table import open_table
from nasbench.nets.models import cost_arrays

if TYPE_CHECKING:
    from conftest import TableCase

ALL_CONV3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
SCRIPT = Path(sys.executable).with_name("nasbench")
if not SCRIPT.exists():  # an interpreter outside the virtualenv: fall back to PATH
    SCRIPT = Path(shutil.which("nasbench") or SCRIPT)
SUBCOMMANDS = (
    "space",
    "cost",
    "info",
    "query",
    "top",
    "validate",
    "init-table",
    "generate",
    "fidelity",
    "frontier",
    "merge",
    "import",
    "compare",
    "strategies",
    "report",
    "demo",
    "card",
    "surrogate",
    "reproduce",
    "proxies",
    "validity",
)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of ``nasbench argv`` run in-process."""
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, out: str, err: str, *fragments: str) -> None:
    assert code == 1
    assert out == ""
    assert err.endswith("\n")
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("nasbench: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, err)


@pytest.fixture(scope="module")
def tiny_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty table written by ``init-table`` (tiny preset costs, seeds 0 and 1, 2 epochs)."""
    path = tmp_path_factory.mktemp("cli") / "tiny.h5"
    assert (
        main(["init-table", "--out", str(path), "--preset", "tiny", "--seeds", "0,1", "--epochs", "2"]) == 0
    )
    return path


# --------------------------------------------------------------------- space
def test_space_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "space", "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["size"] == 15625
    assert data["unique"] == 6466
    assert data["num_nodes"] == 4 and data["num_edges"] == 6
    assert data["ops"] == ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


def test_space_7op_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "space", "--preset", "nb201-7op", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["size"] == 117649 == 7**6
    assert data["preset"] == "nb201-7op"
    assert 0 < data["unique"] < 117649


def test_space_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "space")
    assert code == 0
    assert "15,625" in out and "6,466" in out


def test_space_unknown_preset_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["space", "--preset", "nb101"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


# --------------------------------------------------------------------- cost
@pytest.mark.parametrize(
    "arch,params_m,flops_m",
    [(ALL_CONV3, 1.531546, 220.11969), (ALL_NONE, 0.073306, 7.78305)],
)
def test_cost_matches_nas_bench_201(
    capsys: pytest.CaptureFixture[str], arch: str, params_m: float, flops_m: float
) -> None:
    code, out, err = run_cli(capsys, "cost", arch, "--preset", "nb201", "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["arch"] == arch
    assert round(data["params_m"], 6) == params_m
    assert round(data["flops_m"], 5) == flops_m
    assert data["params_m"] == pytest.approx(params_m, abs=5e-7)
    assert data["flops_m"] == pytest.approx(flops_m, abs=5e-6)


def test_cost_accepts_an_index(capsys: pytest.CaptureFixture[str]) -> None:
    _, by_string, _ = run_cli(capsys, "cost", ALL_CONV3, "--json")
    code, by_index, _ = run_cli(capsys, "cost", "11718", "--json")
    assert code == 0
    assert json.loads(by_index) == json.loads(by_string)
    assert json.loads(by_index)["index"] == 11718
    code, out, _ = run_cli(capsys, "cost", "0", "--json")
    assert code == 0 and json.loads(out)["arch"] == ALL_NONE


def test_cost_tiny_preset_agrees_with_cost_arrays(capsys: pytest.CaptureFixture[str]) -> None:
    params, flops = cost_arrays("nb201", "tiny")
    for index in (0, 4321, 15624):
        code, out, _ = run_cli(capsys, "cost", str(index), "--preset", "tiny", "--json")
        assert code == 0
        data = json.loads(out)
        assert data["params_m"] == params[index] / 1e6
        assert data["flops_m"] == flops[index] / 1e6


def test_cost_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "cost", ALL_CONV3)
    assert code == 0
    assert ALL_CONV3 in out and "1.531546" in out and "220.11969" in out


# --------------------------------------------------------------------- init-table, info, validate, query
def test_info_json(capsys: pytest.CaptureFixture[str], tiny_table: Path) -> None:
    code, out, err = run_cli(capsys, "info", tiny_table, "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["archs"] == 15625
    assert data["unique"] == 6466
    assert data["space_size"] == 15625
    assert data["seeds"] == [0, 1]
    assert data["epochs"] == 2
    assert data["runs_done"] == 0 and data["runs_failed"] == 0 and data["runs_total"] == 6466 * 2
    assert data["dataset"] == {"name": "digits"}
    assert data["model"]["width"] == 4
    assert data["checksum"].startswith("sha256:")
    params, _ = cost_arrays("nb201", "tiny")
    assert data["params_m_range"] == [params.min() / 1e6, params.max() / 1e6]


def test_info_text(capsys: pytest.CaptureFixture[str], tiny_table: Path) -> None:
    code, out, _ = run_cli(capsys, "info", tiny_table)
    assert code == 0
    assert "15,625 rows, 6,466 unique classes" in out
    assert "0 done, 0 failed, 12,932 in all" in out


def test_validate_fresh_table(capsys: pytest.CaptureFixture[str], tiny_table: Path) -> None:
    code, out, err = run_cli(capsys, "validate", tiny_table)
    assert (code, err) == (0, "")
    assert out.strip().endswith("valid")
    code, out, _ = run_cli(capsys, "validate", tiny_table, "--json")
    assert code == 0
    assert json.loads(out) == {"path": str(tiny_table), "valid": True, "problems": []}


def test_validate_tampered_table(
    capsys: pytest.CaptureFixture[str], tiny_table: Path, tmp_path: Path
) -> None:
    import h5py

    path = tmp_path / "tampered.h5"
    shutil.copyfile(tiny_table, path)
    with h5py.File(path, "r+") as handle:
        handle["cost/flops"][3] += 1
    code, out, err = run_cli(capsys, "validate", path)
    assert code == 1 and out == ""
    assert len(err.splitlines()) == 1 and "checksum mismatch" in err
    code, out, _ = run_cli(capsys, "validate", path, "--json")
    data = json.loads(out)
    assert code == 1 and data["valid"] is False and any("checksum" in p for p in data["problems"])


def test_query_cost(capsys: pytest.CaptureFixture[str], tiny_table: Path) -> None:
    params, flops = cost_arrays("nb201", "tiny")
    code, out, err = run_cli(capsys, "query", tiny_table, "0", "--metric", "params_m", "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["value"] == params[0] / 1e6
    assert data["index"] == 0 and data["canonical_index"] == 0 and data["metric"] == "params_m"
    code, out, _ = run_cli(capsys, "query", tiny_table, ALL_CONV3, "--metric", "flops")
    assert code == 0 and float(out) == pytest.approx(flops[11718], rel=1e-6)


def test_query_measured_values(capsys: pytest.CaptureFixture[str], complete_case: TableCase) -> None:
    rep = complete_case.done[1]
    member = int(np.nonzero(complete_case.canonical == rep)[0][-1])
    arch = str(complete_case.space.from_index(member))
    code, out, _ = run_cli(
        capsys,
        "query",
        complete_case.path,
        arch,
        "--metric",
        "test_acc",
        "--epoch",
        "1",
        "--seed",
        "1",
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert data["value"] == complete_case.expected(rep, "test_acc", 1, 1)
    assert data["index"] == member and data["canonical_index"] == rep
    assert (data["epoch"], data["seed"]) == (1, 1)
    code, out, _ = run_cli(capsys, "query", complete_case.path, str(member), "--json")
    assert json.loads(out)["value"] == complete_case.expected(rep, "val_acc", -1, None)


def test_query_pending_metric(capsys: pytest.CaptureFixture[str], tiny_table: Path) -> None:
    code, out, err = run_cli(capsys, "query", tiny_table, "0")
    assert_one_line_error(code, out, err, "not measured", "val_acc")
    code, out, err = run_cli(capsys, "query", tiny_table, ALL_CONV3, "--metric", "test_loss", "--seed", "1")
    assert_one_line_error(code, out, err, "not measured", "test_loss", ALL_CONV3)


def test_init_table_refuses_to_overwrite(capsys: pytest.CaptureFixture[str], tiny_table: Path) -> None:
    before = tiny_table.read_bytes()
    mtime = tiny_table.stat().st_mtime_ns
    code, out, err = run_cli(capsys, "init-table", "--out", tiny_table, "--preset", "tiny", "--epochs", "3")
    assert_one_line_error(code, out, err, "exists")
    assert tiny_table.read_bytes() == before
    assert tiny_table.stat().st_mtime_ns == mtime


def test_init_table_overwrite(capsys: pytest.CaptureFixture[str], tiny_table: Path, tmp_path: Path) -> None:
    path = tmp_path / "over.h5"
    shutil.copyfile(tiny_table, path)
    code, out, err = run_cli(
        capsys,
        "init-table",
        "--out",
        path,
        "--preset",
        "tiny",
        "--epochs",
        "3",
        "--seeds",
        "5",
        "--overwrite",
        "--dataset",
        "mnist",
    )
    assert (code, err) == (0, "")
    assert "15,625 architectures" in out and "6,466 classes" in out
    table = open_table(path)
    assert table.num_epochs == 3 and table.seeds.tolist() == [5]
    assert table.dataset == {"name": "mnist"}
    assert table.protocol["model_preset"] == "tiny"


def test_record_command_uses_argv(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["python", "-m", "pytest"])
    path = tmp_path / "recorded.h5"
    code, _, _ = run_cli(capsys, "init-table", "--out", path, "--preset", "tiny", "--record-command")
    assert code == 0
    assert str(path) in open_table(path).provenance["command"]


# --------------------------------------------------------------------- bad input
@pytest.fixture(scope="module")
def truncated_table(tiny_table: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tiny_table.read_bytes()
    path = tmp_path_factory.mktemp("cli-bad") / "truncated.h5"
    path.write_bytes(data[: len(data) // 2])
    return path


BAD_INPUT = {
    "malformed-arch-cost": (["cost", "|nor_conv_3x3~0|+|none~1|"], "malformed architecture string"),
    "malformed-arch-query": (["query", "{table}", "|nor_conv_3x3~1|"], "malformed architecture string"),
    "unknown-op-cost": (["cost", ALL_CONV3.replace("nor_conv_3x3~2", "conv_7x7~2")], "op 'conv_7x7'"),
    "unknown-op-query": (["query", "{table}", ALL_NONE.replace("none~2", "sep_conv_3x3~2")], "sep_conv_3x3"),
    "index-out-of-range-cost": (["cost", "15625"], "out of range"),
    "index-out-of-range-query": (["query", "{table}", "99999999"], "out of range"),
    "unknown-model-preset": (["cost", "0", "--preset", "huge"], "huge"),
    "missing-file-query": (["query", "{missing}", "0"], "no such table file"),
    "missing-file-info": (["info", "{missing}"], "no such table file"),
    "truncated-file-info": (["info", "{truncated}"], "truncated"),
    "truncated-file-query": (["query", "{truncated}", "0"], "not a readable HDF5 table"),
    "text-file-info": (["info", "{text}"], "not a readable HDF5 table"),
    "unknown-metric": (["query", "{table}", "0", "--metric", "accuracy"], "'accuracy'"),
    "epoch-out-of-range": (["query", "{table}", "0", "--epoch", "9"], "epoch 9 out of range"),
    "seed-not-in-table": (["query", "{table}", "0", "--seed", "42"], "seed 42"),
    "bad-seeds-letters": (["init-table", "--out", "{new}", "--preset", "tiny", "--seeds", "a,b"], "--seeds"),
    "bad-seeds-empty": (["init-table", "--out", "{new}", "--preset", "tiny", "--seeds", ","], "--seeds"),
    "bad-seeds-repeated": (["init-table", "--out", "{new}", "--preset", "tiny", "--seeds", "1,1"], "seeds"),
    "bad-epochs": (["init-table", "--out", "{new}", "--preset", "tiny", "--epochs", "0"], "--epochs"),
    "bad-init-preset": (["init-table", "--out", "{new}", "--preset", "huge"], "huge"),
    # Option values checked while parsing: one line naming the flag, exit status 1.
    "compare-seeds-zero": (
        ["compare", "--table", "{table}", "--strategies", "rs", "--seeds", "0", "--budget-evals", "5",
         "--out", "{new}"],
        "--seeds must be >= 1, got 0",
    ),
    "compare-budget-seconds-letters": (
        ["compare", "--table", "{table}", "--strategies", "rs", "--seeds", "1", "--budget-seconds", "ten",
         "--out", "{new}"],
        "--budget-seconds must be a number, got 'ten'",
    ),
    "compare-param-without-strategy": (
        ["compare", "--table", "{table}", "--strategies", "rs", "--seeds", "1", "--budget-evals", "5",
         "--out", "{new}", "--param", "population_size=3"],
        "--param needs STRATEGY.HYPERPARAMETER=VALUE",
    ),
    "compare-without-budget": (
        ["compare", "--table", "{table}", "--strategies", "rs", "--seeds", "1", "--out", "{new}"],
        "--budget-evals M and/or --budget-seconds S",
    ),
    "demo-budget-runs-letters": (["demo", "--budget-runs", "many", "--table", "{table}"], "--budget-runs"),
    "demo-budget-runs-zero": (["demo", "--budget-runs", "0", "--table", "{table}"], "must be > 0, got 0"),
    "demo-workers-negative": (["demo", "--workers", "-1", "--table", "{table}"], "--workers must be >= 0"),
    "generate-shard-malformed": (["generate", "--out", "{new}", "--shard", "1of4"], "--shard must look like"),
    "generate-shard-out-of-range": (["generate", "--out", "{new}", "--shard", "4/4"], "--shard 4/4"),
    "generate-checkpoint-negative": (
        ["generate", "--out", "{new}", "--checkpoint-seconds", "-1"],
        "--checkpoint-seconds must be >= 0",
    ),
    "fidelity-archs-too-few": (["fidelity", "--out", "{new}", "--archs", "2"], "--archs must be >= 3, got 2"),
    "fidelity-one-seed": (["fidelity", "--out", "{new}", "--seeds", "0"], "at least two seeds (--seeds"),
    "generate-set-without-value": (["generate", "--out", "{new}", "--set", "batch_size"], "--set needs KEY="),
    "tune-configs-zero": (["surrogate", "tune", "--table", "{table}", "--configs", "0"], "--configs must"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_is_one_line(
    capsys: pytest.CaptureFixture[str], case: str, tiny_table: Path, truncated_table: Path, tmp_path: Path
) -> None:
    argv, fragment = BAD_INPUT[case]
    text = tmp_path / "notes.h5"
    text.write_text("these are not the tables you are looking for\n")
    places = {
        "table": tiny_table,
        "missing": tmp_path / "missing.h5",
        "truncated": truncated_table,
        "text": text,
        "new": tmp_path / "new.h5",
    }
    code, out, err = run_cli(capsys, *(a.format(**places) for a in argv))
    assert_one_line_error(code, out, err, fragment)
    assert not (tmp_path / "new.h5").exists()


def test_validate_bad_files(
    capsys: pytest.CaptureFixture[str], truncated_table: Path, tmp_path: Path
) -> None:
    for path in (truncated_table, tmp_path / "missing.h5"):
        code, out, err = run_cli(capsys, "validate", path)
        assert code == 1 and out == ""
        assert len(err.splitlines()) == 1 and "invalid" in err and "Traceback" not in err


def test_directory_as_table_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    directory = tmp_path / "adir.h5"
    directory.mkdir()
    code, out, err = run_cli(capsys, "info", directory)
    assert_one_line_error(code, out, err, "is a directory")


def test_init_table_out_under_a_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    blocker = tmp_path / "plain-file"
    blocker.write_text("x")
    code, out, err = run_cli(capsys, "init-table", "--out", blocker / "t.h5", "--preset", "tiny")
    assert_one_line_error(code, out, err)


def test_init_table_overwrite_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    directory = tmp_path / "out.h5"
    directory.mkdir()
    code, out, err = run_cli(capsys, "init-table", "--out", directory, "--preset", "tiny", "--overwrite")
    assert_one_line_error(code, out, err)
    assert not (tmp_path / "out.h5.tmp").exists()


def test_structurally_corrupt_table_is_one_line(
    capsys: pytest.CaptureFixture[str], tiny_table: Path, tmp_path: Path
) -> None:
    data = bytearray(tiny_table.read_bytes())
    position = data.find(b"HEAP")
    assert position > 0
    data[position] ^= 0xFF
    path = tmp_path / "corrupt.h5"
    path.write_bytes(bytes(data))
    code, out, err = run_cli(capsys, "info", path)
    assert_one_line_error(code, out, err)


# --------------------------------------------------------------------- help
@pytest.mark.parametrize("argv", [["--help"], ["-h"], *([name, "--help"] for name in SUBCOMMANDS)])
def test_help(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code in (0, None)
    out = capsys.readouterr().out
    assert out.startswith("usage: nasbench")
    if len(argv) == 2:
        assert argv[0] in out.splitlines()[0]
    else:
        for name in SUBCOMMANDS:
            assert name in out


def test_parser_lists_every_subcommand() -> None:
    parser = build_parser()
    actions = [a for a in parser._actions if a.dest == "command"]
    assert set(actions[0].choices) == set(SUBCOMMANDS)


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2


def test_malformed_integer_stays_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """An option that argparse reads as an int reports a non-integer as usage (exit 2), as before;
    only its range check is a one-line error."""
    with pytest.raises(SystemExit) as info:
        main(["init-table", "--out", str(tmp_path / "t.h5"), "--epochs", "two"])
    assert info.value.code == 2
    assert "invalid int value: 'two'" in capsys.readouterr().err


# --------------------------------------------------------------------- plug-in commands
@dataclass
class FakeEntryPoint:
    """What ``installed_entry_points`` returns, with ``load`` answering ``target``."""

    name: str
    value: str
    target: Any

    def load(self) -> Any:
        return self.target


def _add_hello(commands: Any) -> None:
    p = commands.add_parser("hello", help="greet from a plug-in")
    p.add_argument("--name", default="world")
    p.set_defaults(func=lambda args: print(f"hello {args.name}") or 0)


def _add_half_then_fail(commands: Any) -> None:
    commands.add_parser("half", help="added, then its plug-in raised")
    raise RuntimeError("plug-in bug\nwith a second line")


def _add_shadow_info(commands: Any) -> None:  # pragma: no cover - never called: the name is taken
    raise AssertionError("a plug-in may not replace a built-in command")


@pytest.fixture
def plugin_commands(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The ``nasbench.commands`` group replaced by a working, two broken and one clashing plug-in."""
    entries = {
        "hello": FakeEntryPoint("hello", "hello_plugin.cli:add_hello", _add_hello),
        "missing": metadata.EntryPoint("missing", "nasbench_no_such_plugin.cli:add", COMMANDS_GROUP),
        "half": FakeEntryPoint("half", "half_plugin.cli:add", _add_half_then_fail),
        "info": FakeEntryPoint("info", "shadow_plugin.cli:add", _add_shadow_info),
    }
    monkeypatch.setattr(
        importlib.import_module("nasbench.cli.plugins"),
        "installed_entry_points",
        lambda group: entries if group == COMMANDS_GROUP else {},
    )
    return entries


def test_plugin_commands_are_added_after_the_builtin_ones(
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    plugin_commands: dict[str, Any],
    tiny_table: Path,
) -> None:
    choices = next(a for a in build_parser()._actions if a.dest == "command").choices
    assert "plug-in command 'info' (shadow_plugin.cli:add) skipped: the name is taken" in caplog.text
    assert {"hello", "missing", "half"} <= set(choices) and set(SUBCOMMANDS) - {"proxies"} <= set(choices)
    code, out, err = run_cli(capsys, "hello", "--name", "plug-in")
    assert (code, out, err) == (0, "hello plug-in\n", "")
    # A clashing name leaves the built-in command in place.
    code, out, err = run_cli(capsys, "info", tiny_table, "--json")
    assert (code, err) == (0, "") and json.loads(out)["unique"] == 6466


def test_a_broken_plugin_command_says_why_and_breaks_nothing_else(
    capsys: pytest.CaptureFixture[str], plugin_commands: dict[str, Any]
) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    listing = capsys.readouterr().out
    assert "missing" in listing and "unavailable" in listing and "space" in listing
    for argv, fragments in (
        (["missing"], ["'missing' is unavailable", "nasbench_no_such_plugin.cli:add", "ModuleNotFoundError"]),
        (["missing", "--help", "x"], ["'missing' is unavailable"]),
        (["half"], ["'half' is unavailable", "RuntimeError: plug-in bug with a second line"]),
    ):
        code, out, err = run_cli(capsys, *argv)
        assert_one_line_error(code, out, err, *fragments)
    code, out, _ = run_cli(capsys, "space", "--json")
    assert code == 0 and json.loads(out)["size"] == 15625


def test_surrogate_eval_reads_stored_proxy_scores_without_the_registry(
    capsys: pytest.CaptureFixture[str],
    complete_case: TableCase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``surrogate eval --proxies`` reads the scores file itself: it never asks the registry
    for "the first zero-cost surrogate" (a third-party proxy sorting first broke that)."""
    from nasbench.prediction import registry, write_proxy_scores

    path = tmp_path / "scored.h5"
    shutil.copyfile(complete_case.path, path)
    table = open_table(path)
    rng = np.random.default_rng(0)
    scores = {"synflow": rng.normal(size=table.unique.size), "params": table.params[table.unique] / 1e6}
    write_proxy_scores(table, scores, {"batch_size": 8, "seed": 0}, torch_version="none")

    def consulted(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the surrogate registry was consulted")

    monkeypatch.setattr(registry, "list_surrogates", consulted)
    monkeypatch.setattr(registry, "get_surrogate_class", consulted)
    code, out, err = run_cli(capsys, "surrogate", "eval", "--table", path, "--proxies", "all", "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert sorted(data["proxies"]) == ["params", "synflow"]
    assert data["scores"] == str(path.with_name("scored.proxies.h5"))
    code, out, err = run_cli(capsys, "surrogate", "eval", "--table", path, "--proxies", "snip")
    assert_one_line_error(code, out, err, "holds no scores of 'snip'", "synflow, params")


def test_demo_without_the_default_table_names_the_flag(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NASBENCH_TABLES", raising=False)
    code, out, err = run_cli(capsys, "demo", "--results", tmp_path / "results", "--out", tmp_path / "lb")
    assert_one_line_error(code, out, err, "--table PATH")
    assert not (tmp_path / "results").exists()


def test_builtin_plugin_commands_are_registered_by_their_plugin() -> None:
    """``proxies`` and ``surrogate weight-sharing`` come through the entry-point groups, and
    neither they nor the parser import torch."""
    entry = installed_entry_points(COMMANDS_GROUP)["proxies"]
    assert entry.value == "nasbench.surrogates.commands:add_proxies_command"
    entry = installed_entry_points(SURROGATE_COMMANDS_GROUP)["weight-sharing"]
    assert entry.value == "nasbench.surrogates.commands:add_weight_sharing_command"
    script = (
        "import sys\n"
        "from nasbench.cli.main import build_parser\n"
        "parser = build_parser()\n"
        "choices = next(a for a in parser._actions if a.dest == 'command').choices\n"
        "assert 'proxies' in choices, sorted(choices)\n"
        "surrogate = next(a for a in choices['surrogate']._actions if a.dest == 'surrogate_command')\n"
        "assert list(surrogate.choices)[-2:] == ['weight-sharing', 'report'], list(surrogate.choices)\n"
        "assert 'nasbench.surrogates.commands' in sys.modules\n"
        "print('torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout.strip()) == (0, "False"), done.stderr


# --------------------------------------------------------------------- console script
def _script(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    assert SCRIPT.exists(), SCRIPT
    return subprocess.run(
        [str(SCRIPT), *(str(a) for a in argv)], capture_output=True, text=True, timeout=120, check=False
    )


def test_console_script_errors(tmp_path: Path, truncated_table: Path) -> None:
    for argv, fragment in (
        (("query", tmp_path / "missing.h5", "0"), "no such table file"),
        (("info", truncated_table), "truncated"),
    ):
        result = _script(*argv)
        assert result.returncode == 1
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("nasbench: error: ") and fragment in lines[0]


def test_console_script_success(tiny_table: Path) -> None:
    result = _script("validate", tiny_table)
    assert (result.returncode, result.stderr) == (0, "")
    assert "valid" in result.stdout
    result = _script("--version")
    assert result.returncode == 0 and result.stdout.startswith("nasbench ")

"""Tests of the ``nasbench`` command line: in-process through ``main`` and as a console script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from nasbench.cli.main import build_parser, main
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
    "validate",
    "init-table",
    "generate",
    "fidelity",
    "frontier",
    "merge",
    "compare",
    "strategies",
    "report",
    "demo",
    "card",
    "surrogate",
    "proxies",
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
}


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

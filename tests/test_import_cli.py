"""``nasbench import`` end to end on fixture files: one table per (dataset, setting) in a
directory, all or nothing; HW-NAS-Bench's devices merged into an existing table without
ever leaving it half written; one-line errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import import_fixtures as fx
import numpy as np
import pytest

from nasbench.cli.main import main
from nasbench.core.table import open_table, validate_table

ROOT = Path(__file__).resolve().parents[1]
ROWS = [0, 5, 4_000, fx.SPACE.index(fx.NB201_FIRST)]


def _cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_nb201_pth_to_a_directory_of_tables(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    source = fx.write_nb201_pth(tmp_path / "NAS-Bench-201-v1_1-096897.pth", ROWS, hps=("less",))
    out = tmp_path / "nb201"
    code, stdout, err = _cli(
        capsys, "import", "nb201", source, "--out", out, "--datasets", "cifar100,cifar10"
    )
    assert (code, err) == (0, ""), err
    names = sorted(p.name for p in out.iterdir())
    assert names == ["nb201-cifar10-hp12.h5", "nb201-cifar100-hp12.h5"], names
    for name in names:
        assert validate_table(out / name) == [], name
        table = open_table(out / name)
        assert table.source_row("nb201", 0) == fx.SPACE.index(fx.NB201_FIRST)
        assert table.source["sha256"].startswith("sha256:") and table.epochs.tolist() == list(range(1, 13))
    assert stdout.count("wrote ") == 2
    # again, without --overwrite: refused, files untouched
    before = {name: (out / name).read_bytes() for name in names}
    code, _, err = _cli(capsys, "import", "nb201", source, "--out", out, "--datasets", "cifar100")
    assert code == 1 and "file exists" in err and err.count("\n") == 1
    assert {name: (out / name).read_bytes() for name in names} == before


def test_a_failing_multi_table_import_writes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = fx.write_nb201_pth(tmp_path / "nb201.pth", ROWS, hps=("less",))
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    out = tmp_path / "out"
    code, stdout, err = _cli(capsys, "import", "nb201", truncated, "--out", out)
    assert code == 1 and stdout == "" and err.count("\n") == 1 and "truncated.pth" in err
    assert not out.exists() or list(out.iterdir()) == []
    code, _, err = _cli(capsys, "import", "nb201", source)
    assert code == 1 and "--out DIR" in err


def test_nats_fast_directory_import(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    source = fx.write_nats_tss(tmp_path / "NATS-tss-v1_0-3ffb9-simple", ROWS, fast=True)
    out = tmp_path / "nats"
    code, _, err = _cli(
        capsys, "import", "nats-tss", source, "--out", out, "--hp", "12", "--datasets", "cifar100"
    )
    assert (code, err) == (0, ""), err
    table = open_table(out / "nats-tss-cifar100-hp12.h5")
    assert validate_table(table.path) == [] and table.source_order == "nb201"


def test_hw_nas_bench_devices_into_a_copy_of_a_shipped_table(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = fx.write_hwnas(tmp_path / "HW-NAS-Bench-v1_0.pickle")
    target = shutil.copyfile(ROOT / "tables" / "nb201-cifar10-hp12.h5", tmp_path / "c10.h5")
    code, stdout, err = _cli(
        capsys, "import", "hw-nas-bench", source, "--into", target, "--datasets", "cifar10"
    )
    assert (code, err) == (0, ""), err
    assert "hwnas-edgegpu/latency_ms" in stdout
    table = open_table(target)
    assert validate_table(target) == []
    for row in (0, 321, 15_624):  # the fixture's own shuffle of NAS-Bench-201 indices
        assert table.query(row, "hwnas-fpga/energy_mj") == pytest.approx(
            fx.hwnas_value("fpga_energy", fx.nb201_index(row), "cifar10"), rel=1e-6
        )
    shipped = open_table(ROOT / "tables" / "nb201-cifar10-hp12.h5")
    assert np.array_equal(table.metric("test_acc"), shipped.metric("test_acc"))
    before = target.read_bytes()
    code, _, err = _cli(capsys, "import", "hw-nas-bench", source, "--into", target, "--datasets", "cifar10")
    assert code == 1 and "already has" in err and target.read_bytes() == before
    broken = tmp_path / "broken.pickle"
    broken.write_bytes(source.read_bytes()[:1000])
    code, _, err = _cli(capsys, "import", "hw-nas-bench", broken, "--into", target, "--datasets", "cifar10")
    assert code == 1 and err.count("\n") == 1 and target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "HW-NAS-Bench-v1_0.pickle",
        "broken.pickle",
        "c10.h5",
    ]

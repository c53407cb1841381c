"""Speed of importing and reading the NAS-Bench-201 12-epoch tables (--benchmark-only).

Targets from the importer issue: ``nasbench import csv`` of the 15,625-row reference file
in at most 5 s (measured in a fresh interpreter, as a user runs it, so the torch import
and the cost computation are included), and an imported table read as fast as a
generated one: open < 100 ms, one query < 5 us. The generated default table is measured
in the same run as the baseline.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nasbench.core.table import Table, open_table

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "tables" / "sources" / "nb201-hp12.csv"
IMPORTED = ROOT / "tables" / "nb201-cifar10-hp12.h5"
GENERATED = ROOT / "tables" / "nb201-fmnist-cpu.h5"
EXAMPLE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def _import_in_a_fresh_process(out: Path) -> int:
    command = [
        str(Path(sys.executable).with_name("nasbench")), "import", "csv", str(SOURCE),
        "--preset", "nb201-hp12-cifar10", "--out", str(out), "--overwrite", "--quiet",
    ]  # fmt: skip
    return subprocess.run(command, check=True, capture_output=True).returncode


def test_import_csv_command(benchmark: pytest.FixtureRequest, tmp_path: Path) -> None:
    out = tmp_path / "cifar10.h5"
    code = benchmark.pedantic(_import_in_a_fresh_process, args=(out,), rounds=3, iterations=1)
    assert code == 0 and open_table(out).num_archs == 15_625


@pytest.mark.parametrize("path", [IMPORTED, GENERATED], ids=["imported", "generated"])
def test_open(benchmark: pytest.FixtureRequest, path: Path) -> None:
    table = benchmark(open_table, path)
    assert table.num_archs == 15_625


@pytest.mark.parametrize("path", [IMPORTED, GENERATED], ids=["imported", "generated"])
def test_query_by_string(benchmark: pytest.FixtureRequest, path: Path) -> None:
    table: Table = open_table(path)
    table.query(EXAMPLE, "test_acc")
    value = benchmark(table.query, EXAMPLE, "test_acc")
    assert 10 <= value <= 95


@pytest.mark.parametrize("path", [IMPORTED, GENERATED], ids=["imported", "generated"])
def test_query_by_nb201_index(benchmark: pytest.FixtureRequest, path: Path) -> None:
    table: Table = open_table(path)
    if table.source_index is None:
        pytest.skip("a generated table keeps no benchmark's own index")
    row = table.source_row("nb201", 1554)
    value = benchmark(table.query, int(table.indices[row]), "test_acc")
    assert 10 <= value <= 95

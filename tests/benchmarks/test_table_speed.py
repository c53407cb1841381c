"""Read-path speed of a complete 15,625-architecture table (run with --benchmark-only).

Targets from the core issue: open < 100 ms and < 200 MB resident, one query < 5 us,
one metric over all architectures < 1 ms.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nasbench.core.space import CellSpace
from nasbench.core.table import Table, open_table

EXAMPLE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


@pytest.fixture(scope="module")
def table(full_table_path: Path) -> Table:
    return open_table(full_table_path)


def test_open_table(benchmark: pytest.FixtureRequest, full_table_path: Path) -> None:
    result = benchmark(open_table, full_table_path)
    assert result.num_archs == 15_625 and result.num_unique == 6_466


def test_query_by_index(benchmark: pytest.FixtureRequest, table: Table) -> None:
    table.query(11791, "val_acc")
    value = benchmark(table.query, 11791, "val_acc")
    assert value == table.query(EXAMPLE, "val_acc")


def test_query_by_string(benchmark: pytest.FixtureRequest, table: Table) -> None:
    table.query(EXAMPLE, "val_acc")
    value = benchmark(table.query, EXAMPLE, "val_acc")
    assert 10 <= value <= 95


def test_query_by_architecture(benchmark: pytest.FixtureRequest, table: Table) -> None:
    arch = CellSpace().arch(EXAMPLE)
    table.query(arch, "val_acc", epoch=5, seed=1)
    value = benchmark(table.query, arch, "val_acc", 5, 1)
    assert 10 <= value <= 95


def test_metric_over_all_architectures(benchmark: pytest.FixtureRequest, table: Table) -> None:
    table.metric("val_acc")
    values = benchmark(table.metric, "val_acc", -1)
    assert values.shape == (15_625,)


_RSS_SCRIPT = """
import json, sys

def peak_rss_mb():
    # VmHWM: peak resident set of this process image (not inherited across exec).
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

import nasbench
before = peak_rss_mb()
table = nasbench.open_table(sys.argv[1])
table.query(0, "val_acc"); table.metric("val_acc")
print(json.dumps({"rss_after_import_mb": before, "rss_after_open_mb": peak_rss_mb()}))
"""


def test_resident_memory_after_open(benchmark: pytest.FixtureRequest, full_table_path: Path) -> None:
    """Peak resident memory of a fresh interpreter that imports nasbench and opens the table."""

    def measure() -> dict[str, float]:
        out = subprocess.run(
            [sys.executable, "-c", _RSS_SCRIPT, str(full_table_path)],
            check=True,
            capture_output=True,
            text=True,
        )
        return json.loads(out.stdout)

    figures = benchmark.pedantic(measure, rounds=3, iterations=1)
    benchmark.extra_info.update(figures)
    assert figures["rss_after_open_mb"] >= figures["rss_after_import_mb"]


def test_baseline_query_reading_hdf5_each_time(
    benchmark: pytest.FixtureRequest, full_table_path: Path, table: Table
) -> None:
    """Baseline for the query ratio: answer each query by reading the file with h5py,
    as an API that does not load its arrays up front would."""
    import h5py

    row = int(table.class_row[11791])
    with h5py.File(full_table_path, "r") as handle:
        data = handle["metrics/val_acc"]

        def query() -> float:
            return float(data[row, :, -1].mean())

        value = benchmark(query)
    assert value == pytest.approx(table.query(11791, "val_acc"), rel=1e-6)

"""What verifying the checksum on open costs (run with --benchmark-only).

Opens the shipped default table and the largest imported table three ways: without
verification (``verify=False``), verified with an empty cache (the first open of a file
in a process: the content is hashed from the arrays the reader loads anyway) and verified
again (an unchanged file verified once is not hashed again). The issue asks for the ratio
of verified to unverified open time; the synthetic 20-epoch table of ``conftest`` shows a
larger one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nasbench.core import table_file
from nasbench.core.table import open_table

ROOT = Path(__file__).resolve().parents[2]
TABLES = {
    "default": ROOT / "tables" / "nb201-fmnist-cpu.h5",
    "imported": ROOT / "tables" / "nb201-cifar10-hp12.h5",
}


@pytest.fixture(params=["default", "imported", "synthetic-20-epochs"])
def table_path(request: pytest.FixtureRequest) -> Path:
    if request.param in TABLES:
        return TABLES[request.param]
    return request.getfixturevalue("full_table_path")


def test_open_unverified(benchmark: pytest.FixtureRequest, table_path: Path) -> None:
    table = benchmark(open_table, table_path, verify=False)
    assert table.verified is False


def test_open_verified_first_time(benchmark: pytest.FixtureRequest, table_path: Path) -> None:
    table = benchmark.pedantic(
        open_table,
        args=(table_path,),
        kwargs={"verify": True},
        setup=table_file.clear_checksum_cache,
        rounds=40,
        iterations=1,
        warmup_rounds=2,
    )
    assert table.verified is True


def test_open_verified_cached(
    benchmark: pytest.FixtureRequest, table_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(table_file, "RACY_SECONDS", -1.0)  # the synthetic table was just written
    table_file.clear_checksum_cache()
    open_table(table_path, verify=True)
    table = benchmark(open_table, table_path, verify=True)
    assert table.verified is True

"""Integrity of tables (issue 18): checksum verified on open, physically impossible values
refused by validate, declared shapes and spaces bounded before anything is allocated,
only regular files opened, and architecture arguments parsed strictly with short errors.

Every test here fails on the code before these checks existed: tampered tables opened
and answered edited values, ``merge`` re-sealed them, crafted shapes were allocated,
a FIFO hung, ``-1`` was "malformed" and ``٣`` an index.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pytest

from nasbench.cli.main import main
from nasbench.core import table_file
from nasbench.core.errors import ArchitectureError, TableError
from nasbench.core.schema import MAX_EPOCHS, STATUS_DONE
from nasbench.core.space import CellSpace
from nasbench.core.table import Table, TableWriter, open_table, validate_table
from nasbench.generation.merge import merge_tables

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ROOT / "tables" / "nb201-fmnist-cpu.h5"  # the shipped default table
IMPORTED = ROOT / "tables" / "nb201-cifar10-hp12.h5"  # the largest imported table
SHIPPED = sorted(p for p in (ROOT / "tables").glob("*.h5") if not p.name.endswith(".proxies.h5"))


# --------------------------------------------------------------------- helpers
@contextlib.contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail (instead of hanging the suite) when the block runs longer than ``seconds``."""

    def expire(*_: object) -> None:
        raise TimeoutError(f"took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def copy_table(source: Path, tmp_path: Path, name: str = "copy.h5") -> Path:
    target = tmp_path / name
    shutil.copyfile(source, target)
    return target


def tamper(path: Path, value: float = 99.5) -> None:
    """Edit one stored accuracy through HDF5 itself, leaving the checksum as it was."""
    with h5py.File(path, "r+") as handle:
        handle["metrics/val_acc"][0, 0, -1] = value


def reseal(path: Path) -> None:
    """Seal the checksum again through the writer (a deliberate edit, not tampering)."""
    TableWriter(path).close()


def cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nasbench:"), err
    assert len(lines[0]) < 400, lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(table_file.NO_VERIFY_ENV, raising=False)
    table_file.clear_checksum_cache()
    yield
    table_file.clear_checksum_cache()


# --------------------------------------------------------------------- checksum on open
def test_open_refuses_a_tampered_table(tmp_path: Path) -> None:
    path = copy_table(GENERATED, tmp_path)
    tamper(path)
    for opener in (open_table, Table):
        with pytest.raises(
            TableError, match="checksum mismatch: the table was changed after it was sealed"
        ) as info:
            opener(path)
        assert str(path) in str(info.value) and "\n" not in str(info.value)
    trusted = open_table(path, verify=False)  # the explicit opt-out
    assert trusted.verified is False
    assert trusted.raw("val_acc")[0, 0, -1] == pytest.approx(99.5)


def test_tampered_cost_and_attribute_are_refused(tmp_path: Path) -> None:
    cost = copy_table(GENERATED, tmp_path, "cost.h5")
    with h5py.File(cost, "r+") as handle:
        handle["cost/params"][5] += 1
    attribute = copy_table(GENERATED, tmp_path, "attribute.h5")
    with h5py.File(attribute, "r+") as handle:
        handle.attrs["dataset"] = handle.attrs["dataset"].replace("fashion", "fashion ")
    for path in (cost, attribute):
        with pytest.raises(TableError, match="checksum mismatch"):
            open_table(path)


def test_environment_variable_turns_verification_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = copy_table(GENERATED, tmp_path)
    tamper(path)
    monkeypatch.setenv("NASBENCH_NO_VERIFY", "1")
    assert open_table(path).raw("val_acc")[0, 0, -1] == pytest.approx(99.5)
    with pytest.raises(TableError, match="checksum mismatch"):
        open_table(path, verify=True)  # an explicit request wins over the environment
    monkeypatch.setenv("NASBENCH_NO_VERIFY", "0")
    with pytest.raises(TableError, match="checksum mismatch"):
        open_table(path)


def test_validate_always_verifies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = copy_table(GENERATED, tmp_path)
    tamper(path)
    monkeypatch.setenv("NASBENCH_NO_VERIFY", "1")
    problems = validate_table(path)
    assert len(problems) == 1 and problems[0].startswith("checksum mismatch")


def test_shipped_tables_verify_and_validate() -> None:
    for path in SHIPPED:
        assert open_table(path).verified is True
        assert validate_table(path) == [], path


def test_unsealed_table_needs_the_opt_out(tmp_path: Path) -> None:
    path = copy_table(GENERATED, tmp_path)
    with h5py.File(path, "r+") as handle:
        del handle.attrs["checksum"]
    with pytest.raises(TableError, match="no checksum: the table was never sealed"):
        open_table(path)
    assert open_table(path, verify=False).checksum is None


def test_pending_table_of_the_writer_opens(tmp_path: Path) -> None:
    """A new table, every run pending (what the generator resumes), is sealed at creation
    and after every checkpoint, so it opens with verification."""
    source = open_table(IMPORTED)
    path = tmp_path / "pending.h5"
    TableWriter.create(
        path,
        space=source.space,
        model={"name": "m"},
        dataset={"name": "d"},
        protocol={"epochs": 3},
        seeds=[0, 1],
        num_epochs=3,
        params=source.params,
        flops=source.flops,
    ).close()
    table = open_table(path)
    assert table.verified and not np.any(table.run_status == STATUS_DONE)
    with TableWriter(path) as writer:
        writer.write_run(0, 0, {"val_acc": [1.0, 2.0, 3.0]})
    assert open_table(path).query(0, "val_acc", seed=0) == 3.0


def test_verification_hashes_once_per_unchanged_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = copy_table(GENERATED, tmp_path)
    calls = []
    original = table_file.content_checksum

    def counting(handle: h5py.File, loaded: object = None) -> str:
        calls.append(loaded is not None)
        return original(handle, loaded)  # type: ignore[arg-type]

    monkeypatch.setattr(table_file, "content_checksum", counting)
    open_table(path)
    open_table(path)
    assert calls == [True, True]  # just written: too recent to trust its timestamps
    monkeypatch.setattr(table_file, "RACY_SECONDS", -1.0)
    open_table(path)
    open_table(path)
    assert calls == [True, True, True]  # hashed from the arrays read anyway, then cached
    tamper(path)
    with pytest.raises(TableError, match="checksum mismatch"):
        open_table(path)  # the edit changed the file's identity: hashed again


def test_checksum_streams_in_bounded_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(table_file, "BLOCK_BYTES", 256)
    sizes: list[int] = []
    original = table_file._blocks

    def recording(item: h5py.Dataset) -> Iterator[np.ndarray]:
        for block in original(item):
            sizes.append(block.nbytes)
            yield block

    monkeypatch.setattr(table_file, "_blocks", recording)
    with h5py.File(GENERATED, "r") as handle:
        assert table_file.content_checksum(handle) == handle.attrs["checksum"]
    assert sizes and max(sizes) <= 256


def test_cli_commands_refuse_a_tampered_table(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = copy_table(GENERATED, tmp_path)
    tamper(path)
    for argv in (("query", path, "0"), ("info", path), ("card", path)):
        code, out, err = cli(capsys, *argv)
        assert out == ""
        assert_one_line_error(code, err, "checksum mismatch", str(path))
    code, out, err = cli(capsys, "query", path, "0", "--no-verify", "--seed", "0")
    assert code == 0 and out.strip() == "99.5"
    assert cli(capsys, "info", path, "--no-verify")[0] == 0
    assert cli(capsys, "card", path, "--no-verify")[0] == 0
    code, _, err = cli(capsys, "validate", path)
    assert_one_line_error(code, err, "checksum mismatch")


def test_compare_refuses_a_tampered_table(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = copy_table(GENERATED, tmp_path)
    tamper(path)
    code, _, err = cli(
        capsys,
        "compare",
        "--table",
        path,
        "--strategies",
        "rs",
        "--seeds",
        "1",
        "--budget-evals",
        "3",
        "--out",
        tmp_path / "out",
    )
    assert_one_line_error(code, err, "checksum mismatch")


def test_merge_refuses_a_tampered_input(tmp_path: Path) -> None:
    good = copy_table(GENERATED, tmp_path, "good.h5")
    bad = copy_table(GENERATED, tmp_path, "bad.h5")
    tamper(bad)
    out = tmp_path / "merged.h5"
    for inputs in ([bad, good], [good, bad]):
        with pytest.raises(TableError, match="checksum mismatch"):
            merge_tables(out, inputs)
        assert not out.exists() and not out.with_name("merged.h5.tmp").exists()
    merge_tables(out, [good])
    assert validate_table(out) == []


def test_merge_cli_refuses_a_tampered_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = copy_table(GENERATED, tmp_path, "bad.h5")
    tamper(bad)
    code, _, err = cli(capsys, "merge", tmp_path / "merged.h5", bad)
    assert_one_line_error(code, err, "checksum mismatch")
    assert not (tmp_path / "merged.h5").exists()


# --------------------------------------------------------------------- impossible values
@pytest.mark.parametrize(
    "metric,position,value,expected",
    [
        ("train_seconds", (0, 0, 1), -3.0, "train_seconds negative or infinite in 1 run"),
        ("eval_seconds", (0, 1, 0), np.inf, "eval_seconds negative or infinite in 1 run"),
        ("train_seconds", (0, 0, 1), np.nan, "train_seconds NaN at some epoch of runs marked done in 1 run"),
        (
            "eval_seconds",
            (0, 0, -1),
            np.nan,
            "eval_seconds NaN at the last epoch of runs marked done in 1 run",
        ),
        ("test_acc", (0, 0, 2), 100.5, "test_acc outside [0, 100] percent in 1 run"),
        ("train_acc", (0, 1, 0), -0.5, "train_acc outside [0, 100] percent in 1 run"),
        ("val_loss", (0, 0, 0), -0.1, "val_loss negative in 1 run"),
        ("train_loss", (0, 0, 1), np.nan, "train_loss NaN where its accuracy was measured in 1 run"),
    ],
)
def test_validate_names_metric_count_and_first_run(
    tmp_path: Path, metric: str, position: tuple[int, int, int], value: float, expected: str
) -> None:
    path = copy_table(GENERATED, tmp_path)
    with h5py.File(path, "r+") as handle:
        data = handle[f"metrics/{metric}"]
        data[position] = value
        unique = int(handle["archs/unique"][position[0]])
        seed = int(handle["seeds"][position[1]])
    reseal(path)  # written on purpose: only the values are wrong, not the checksum
    first = str(CellSpace().from_index(unique))
    problems = validate_table(path)
    assert problems == [f"{expected} (first: {first}, seed {seed})"]


def test_validate_counts_every_offending_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = copy_table(GENERATED, tmp_path)
    with h5py.File(path, "r+") as handle:
        seconds = handle["metrics/train_seconds"][()]
        seconds[3:10, :, 0] = -1.0
        handle["metrics/train_seconds"][...] = seconds
    reseal(path)
    (problem,) = validate_table(path)
    assert problem.startswith("train_seconds negative or infinite in 14 runs (first: ")
    code, _, err = cli(capsys, "validate", path)
    assert_one_line_error(code, err, "train_seconds negative or infinite in 14 runs")


def test_imported_table_keeps_nan_where_its_source_had_none(tmp_path: Path) -> None:
    """An imported table without times or losses validates; a NaN where the source had no
    value (a set evaluated at some epochs, a seed without a run) is no error there, while
    an impossible accuracy still is."""
    path = copy_table(IMPORTED, tmp_path)
    with h5py.File(path, "r+") as handle:
        handle["metrics/test_acc"][7, 0, 0] = np.nan
    reseal(path)
    assert validate_table(path) == []
    with h5py.File(path, "r+") as handle:
        handle["metrics/val_acc"][9, 0, 0] = 140.0
        arch = CellSpace().from_index(int(handle["archs/unique"][9]))
    reseal(path)
    assert validate_table(path) == [f"val_acc outside [0, 100] percent in 1 run (first: {arch}, seed -1)"]


# --------------------------------------------------------------------- bounded shapes
def _declare_metrics(path: Path, epochs: int) -> None:
    """Replace every metric by an unwritten dataset of ``epochs`` epochs (no bytes on disk)."""
    with h5py.File(path, "r+") as handle:
        for name in list(handle["metrics"]):
            old = handle[f"metrics/{name}"]
            rows, seeds = old.shape[:2]
            dtype = old.dtype
            del handle[f"metrics/{name}"]
            handle.create_dataset(
                f"metrics/{name}",
                shape=(rows, seeds, epochs),
                dtype=dtype,
                chunks=(64, seeds, 64),
                fillvalue=np.nan,
                compression="gzip",
            )


def test_crafted_epoch_count_is_refused_before_reading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = copy_table(GENERATED, tmp_path)
    _declare_metrics(path, 10_000)  # 6,466 x 2 x 10,000: 0.5 GB per metric as declared
    assert path.stat().st_size < 3_000_000
    started = time.perf_counter()
    with deadline(20):
        with pytest.raises(TableError, match="beyond the limits"):
            open_table(path, verify=False)
        problems = validate_table(path)
        code, _, err = cli(capsys, "validate", path)
    assert len(problems) == 1 and "10000" in problems[0] and f"{MAX_EPOCHS:,} epochs" in problems[0]
    assert_one_line_error(code, err, "beyond the limits")
    assert time.perf_counter() - started < 5


def test_just_over_the_epoch_limit_is_refused(tmp_path: Path) -> None:
    path = copy_table(IMPORTED, tmp_path)
    _declare_metrics(path, MAX_EPOCHS + 1)
    with pytest.raises(TableError, match="beyond the limits"):
        open_table(path, verify=False)


@pytest.mark.parametrize(
    "name,shape,dtype,fragment",
    [
        ("extra/blob", (1 << 25,), "int64", "over the 128 MiB limit of one dataset"),
        ("archs/index", (20_000,), "int64", "more than the 15,625 allowed"),
        ("seeds", (500,), "int64", "more than 100"),
        ("devices/x/huge", (15_625, 4096), "float32", "over the 128 MiB limit"),
    ],
)
def test_declared_shapes_are_bounded(
    tmp_path: Path, name: str, shape: tuple[int, ...], dtype: str, fragment: str
) -> None:
    path = copy_table(IMPORTED, tmp_path)
    with h5py.File(path, "r+") as handle:
        if name in handle:
            del handle[name]
        handle.create_dataset(name, shape=shape, dtype=dtype, chunks=True, compression="gzip")
    with deadline(20):
        with pytest.raises(TableError, match=fragment):
            open_table(path, verify=False)
        (problem,) = validate_table(path)
    assert fragment in problem


def test_total_declared_size_is_bounded(tmp_path: Path) -> None:
    path = copy_table(IMPORTED, tmp_path)
    with h5py.File(path, "r+") as handle:  # each under the per-dataset limit, together over 512 MiB
        for k in range(6):
            handle.create_dataset(f"devices/d/m{k}", shape=(15_625, 1000), dtype="float64", chunks=True)
    with pytest.raises(TableError, match="over the 512 MiB limit of a table"):
        open_table(path, verify=False)


def test_writer_refuses_tables_readers_would_refuse(tmp_path: Path) -> None:
    source = open_table(IMPORTED)
    common = dict(
        space=source.space, model={}, dataset={}, protocol={}, params=source.params, flops=source.flops
    )
    with pytest.raises(TableError, match=r"num_epochs must be in 1\.\.1,000"):
        TableWriter.create(tmp_path / "a.h5", seeds=[0], num_epochs=1_000_000_000, **common)
    with pytest.raises(TableError, match="64-bit"):
        TableWriter.create(tmp_path / "b.h5", seeds=[1180591620717411303424], num_epochs=1, **common)
    with pytest.raises(TableError, match="size limits"):
        TableWriter.create(tmp_path / "c.h5", seeds=list(range(90)), num_epochs=900, **common)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------- only regular files
def test_fifo_is_refused_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "pipe.h5"
    os.mkfifo(fifo)
    with deadline(10):
        with pytest.raises(TableError, match="is a FIFO"):
            open_table(fifo)
        assert "is a FIFO" in validate_table(fifo)[0]
        code, _, err = cli(capsys, "info", fifo)
    assert_one_line_error(code, err, "is a FIFO (named pipe), not a table file")


def test_fifo_does_not_hang_the_command(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.h5"
    os.mkfifo(fifo)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from nasbench.cli.main import main; sys.exit(main())",
            "query",
            str(fifo),
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert_one_line_error(done.returncode, done.stderr, "is a FIFO")


@pytest.mark.parametrize("kind", ["directory", "device", "symlink-to-fifo"])
def test_other_non_regular_files_are_refused(tmp_path: Path, kind: str) -> None:
    if kind == "directory":
        path, fragment = tmp_path, "is a directory"
    elif kind == "device":
        path, fragment = Path(os.devnull), "is a character device"
        assert stat.S_ISCHR(os.stat(path).st_mode)
    else:
        fifo = tmp_path / "pipe"
        os.mkfifo(fifo)
        path, fragment = tmp_path / "link.h5", "is a FIFO"
        path.symlink_to(fifo)
    with deadline(10):
        with pytest.raises(TableError, match=fragment):
            open_table(path)
        with pytest.raises(TableError, match=fragment):
            TableWriter(path)


# --------------------------------------------------------------------- bounded spaces
@pytest.mark.parametrize(
    "space,fragment",
    [
        ({"ops": ["none", "skip_connect"], "num_nodes": 1_000_000, "zero_op": "none"}, "at most 16 nodes"),
        (
            {"ops": [f"op{k}" for k in range(100_000)], "num_nodes": 4, "zero_op": None, "identity_op": None},
            "at most 127",
        ),
        (
            {"ops": ["none", "x" * 100_000], "num_nodes": 4, "zero_op": "none", "identity_op": None},
            "invalid op name",
        ),
        ({"ops": "none", "num_nodes": 4}, "must be a list"),
        (
            {"ops": ["none"], "num_nodes": "4" * 5000, "zero_op": "none", "identity_op": None},
            "must be an integer",
        ),
        ([1, 2, 3], "not a JSON object"),
    ],
)
def test_space_attribute_is_bounded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], space: object, fragment: str
) -> None:
    import json

    path = copy_table(IMPORTED, tmp_path)
    with h5py.File(path, "r+") as handle:
        handle.attrs["space"] = json.dumps(space)
    with deadline(10):
        with pytest.raises(TableError, match=fragment):
            open_table(path, verify=False)
        code, _, err = cli(capsys, "info", path, "--no-verify")
    assert_one_line_error(code, err, "invalid space description", fragment)


def test_cell_space_bounds() -> None:
    with deadline(10):
        with pytest.raises(ArchitectureError, match="at most 16 nodes"):
            CellSpace(num_nodes=1_000_000)
        with pytest.raises(ArchitectureError, match="at most 127 ops"):
            CellSpace(ops=tuple(f"op{k}" for k in range(1_000_000)), zero_op=None, identity_op=None)
        with pytest.raises(ArchitectureError, match="at most 16 nodes"):
            CellSpace().arch(("none",) * 5_000_000)
    assert CellSpace(num_nodes=16, ops=("a", "b"), zero_op=None, identity_op=None).num_edges == 120


# --------------------------------------------------------------------- parsing arguments
def test_index_parsing_takes_ascii_digits_only() -> None:
    space = CellSpace()
    assert space.parse(" 12 ") == space.from_index(12)
    assert space.parse("+7") == space.from_index(7)
    assert space.parse(str(space.from_index(42))) == space.from_index(42)
    for text in ("²", "٣", "١٢", "\uff11\uff12", "1_0", "0x10", "1e3"):
        with pytest.raises(ArchitectureError, match="malformed architecture string"):
            space.parse(text)
    with pytest.raises(ArchitectureError, match=r"architecture index -1 out of range \[0, 15624\]"):
        space.parse("-1")
    with pytest.raises(ArchitectureError, match=r"index 15625 out of range"):
        space.parse("15625")
    with pytest.raises(ArchitectureError, match="malformed architecture string"):
        space.arch("12")  # the library API keeps strings for NAS-Bench-201 strings, ints for indices


@pytest.mark.parametrize(
    "argument,fragments",
    [
        ("²", ("malformed architecture string '²'", "ASCII digits")),
        ("٣", ("malformed architecture string '٣'",)),
        ("-1", ("architecture index -1 out of range [0, 15624]",)),
        ("7" * 5000, ("out of range [0, 15624]", "(5,000 characters)")),
        ("0" * 4999 + "5", ()),
        ("|" + "a" * 5000 + "~0|", ("malformed architecture string", "(5,004 characters)")),
        ("|" + "none~0|" * 3000, ("malformed architecture string",)),
    ],
)
def test_query_arguments_give_one_short_line(
    capsys: pytest.CaptureFixture[str], argument: str, fragments: tuple[str, ...]
) -> None:
    code, out, err = cli(capsys, "query", GENERATED, argument)
    if not fragments:  # leading zeros spell index 5
        assert code == 0 and out.strip()
        return
    assert out == ""
    assert_one_line_error(code, err, *fragments)


@pytest.mark.parametrize("argument", ["٣", "²", "1_0", "7" * 5000, "-1"])
def test_index_order_takes_ascii_digits_only(capsys: pytest.CaptureFixture[str], argument: str) -> None:
    code, _, err = cli(capsys, "query", IMPORTED, argument, "--index-order", "nb201")
    assert_one_line_error(code, err)
    assert "ASCII digits" in err or "is not in this table" in err


def test_cost_arguments_give_one_short_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "cost", "9" * 5000)
    assert_one_line_error(code, err, "out of range")
    code, _, err = cli(capsys, "cost", "-1")
    assert_one_line_error(code, err, "architecture index -1 out of range")

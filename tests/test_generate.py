"""Tests of the generator: shard and class selection, in-process generation and resume, device
probes, the journal and its checkpoint, refusals (API and CLI), shards and merging, a local
Dask cluster, and a job that raises.

Kills (SIGKILL of the command or of a Dask worker) are tested in test_generate_reliability.py.
Every table here is trained under the tiny preset with 2 epochs (``FAST``) to stay quick;
``train_seconds`` is wall-clock time, so it is never compared between two runs.
"""

from __future__ import annotations

import gzip
import json
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import torch

import nasbench.generation.generate
import nasbench.nets.dataset_files
import nasbench.nets.train
from nasbench.cli.main import main
from nasbench.core.errors import ConfigError, NotMeasuredError, TableError
from nasbench.core.space import CellSpace
from nasbench.core.table import (
    COMPACT_DTYPES,
    EPOCH_METRICS,
    STATUS_DONE,
    STATUS_PENDING,
    Table,
    TableWriter,
    open_table,
    validate_table,
)
from nasbench.generation.generate import (
    GENERATOR_DEFAULTS,
    GenerateSummary,
    _table_id,
    generate,
    parse_shard,
    select_classes,
)
from nasbench.generation.journal import Journal, checkpoint
from nasbench.generation.merge import merge_tables
from nasbench.nets.datasets import DATA_ENV_VAR, load_dataset
from nasbench.nets.hardware import available_devices, usable_cpu_cores
from nasbench.nets.train import PROTOCOL_PRESETS, Protocol, RunResult, train_architecture

FAST = PROTOCOL_PRESETS["tiny"].replace(epochs=2)
LIMIT = 4
SEEDS = len(FAST.seeds)
TIMING_METRICS = ("train_seconds", "eval_seconds")  # wall-clock: differ between any two runs
COMPARED = tuple(name for name in EPOCH_METRICS if name not in TIMING_METRICS)
# The tiny preset's probe (batch sizes 1 and 64), with the fewest timed passes: quick on a busy machine.
TINY_PROBE = {**GENERATOR_DEFAULTS["tiny"]["probe"], "warmup": 0, "repeats": 1}


# --------------------------------------------------------------------- helpers
@pytest.fixture(autouse=True)
def _keep_torch_threads() -> Iterator[None]:
    """In-process jobs set torch's thread count; give the other tests theirs back."""
    previous = torch.get_num_threads()
    yield
    torch.set_num_threads(previous)


def run_generate(out: Path, protocol: Protocol = FAST, **options: Any) -> GenerateSummary:
    """``generate`` in this process, no probes, no progress bars (unless overridden)."""
    settings: dict[str, Any] = {"limit": LIMIT, "workers": 0, "probes": False, "progress": False}
    settings.update(options)
    return generate(out, protocol, **settings)


def cli_generate_args(out: Path, *extra: str) -> list[str]:
    """``nasbench generate`` arguments equal to :func:`run_generate`'s defaults, then ``extra``."""
    return [
        "generate",
        "--out",
        str(out),
        "--preset",
        "tiny",
        "--epochs",
        str(FAST.epochs),
        "--limit",
        str(LIMIT),
        "--workers",
        "0",
        "--no-probes",
        "--quiet",
        *extra,
    ]


def run_cli(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 1, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("nasbench: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, err)


def chosen_classes(table: Table, limit: int, shard: tuple[int, int] | None = None) -> np.ndarray:
    return select_classes(table.unique, limit, shard)


def class_rows(table: Table, classes: np.ndarray) -> np.ndarray:
    return np.searchsorted(table.unique, classes)


def table_id_of(table: Table) -> str:
    return _table_id(table.space.to_dict(), table.protocol, table.dataset)


def digits_data() -> Any:
    return load_dataset(
        FAST.dataset,
        resolution=FAST.resolution,
        val_size=FAST.val_size,
        train_size=FAST.train_size,
        split_seed=FAST.split_seed,
    )


def write_idx(path: Path, array: np.ndarray) -> None:
    """An IDX file of unsigned bytes, gzipped."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(gzip.compress(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()))


def fake_fashion_mnist(folder: Path) -> Path:
    """Four small IDX files in the Fashion-MNIST layout (600 train, 100 test images of 28 px)."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for stem, count in (("train", 600), ("t10k", 100)):
        write_idx(folder / f"{stem}-images-idx3-ubyte.gz", rng.integers(0, 256, (count, 28, 28)))
        write_idx(folder / f"{stem}-labels-idx1-ubyte.gz", rng.integers(0, 10, count))
    return folder


# --------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerateSummary]:
    """An uninterrupted in-process run of the first ``LIMIT`` classes. Never modified: copy it."""
    out = tmp_path_factory.mktemp("base") / "base.h5"
    previous = torch.get_num_threads()
    try:
        summary = run_generate(out)
    finally:
        torch.set_num_threads(previous)
    return out, summary


@pytest.fixture(scope="module")
def base_table(base: tuple[Path, GenerateSummary]) -> Table:
    return open_table(base[0])


@pytest.fixture
def table_copy(base: tuple[Path, GenerateSummary], tmp_path: Path) -> Path:
    out = tmp_path / "copy.h5"
    shutil.copyfile(base[0], out)
    return out


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Shards 0/2 and 1/2 of the first ``LIMIT`` classes, in two files."""
    folder = tmp_path_factory.mktemp("shards")
    previous = torch.get_num_threads()
    try:
        for index in range(2):
            summary = run_generate(folder / f"shard{index}.h5", shard=(index, 2))
            assert summary.runs_done == LIMIT // 2 * SEEDS, summary
    finally:
        torch.set_num_threads(previous)
    return folder / "shard0.h5", folder / "shard1.h5"


# --------------------------------------------------------------------- parse_shard
def test_parse_shard_accepts_i_of_n() -> None:
    assert parse_shard("0/2") == (0, 2)
    assert parse_shard("1/2") == (1, 2)
    assert parse_shard("0/1") == (0, 1)
    assert parse_shard(None) is None


@pytest.mark.parametrize("text", ["2/2", "3/2", "-1/2", "0/0", "a/b", "1", "1/2/3", ""])
def test_parse_shard_rejects_in_one_clear_line(text: str) -> None:
    with pytest.raises(ConfigError, match=r"^shard ") as info:
        parse_shard(text)
    message = str(info.value)
    assert "\n" not in message
    assert "i/n" in message or "0 <= i < n" in message


# --------------------------------------------------------------------- select_classes
@pytest.fixture(scope="module")
def unique() -> np.ndarray:
    return CellSpace().unique_indices()


def test_select_classes_is_deterministic_and_a_prefix(unique: np.ndarray) -> None:
    first = select_classes(unique, 20, None)
    assert np.array_equal(first, select_classes(unique, 20, None))
    assert first.shape == (20,)
    assert np.unique(first).shape == (20,)
    assert np.isin(first, unique).all()
    assert np.array_equal(select_classes(unique, 10, None), first[:10])
    assert not np.array_equal(first, np.sort(first)), "the order is a seeded shuffle, not sorted"


@pytest.mark.parametrize("count", [2, 3, 5])
def test_shards_partition_the_selection(unique: np.ndarray, count: int) -> None:
    whole = select_classes(unique, 20, None)
    parts = [select_classes(unique, 20, (index, count)) for index in range(count)]
    joined = np.concatenate(parts)
    assert joined.shape == whole.shape, "shards overlap or miss classes"
    assert np.array_equal(np.sort(joined), np.sort(whole))
    assert max(p.shape[0] for p in parts) - min(p.shape[0] for p in parts) <= 1


def test_limit_zero_and_none_select_every_class(unique: np.ndarray) -> None:
    every = select_classes(unique, 0, None)
    assert np.array_equal(np.sort(every), unique)
    assert np.array_equal(select_classes(unique, None, None), every)
    assert np.array_equal(select_classes(unique, 10, None), every[:10])


def test_negative_limit_is_refused(unique: np.ndarray) -> None:
    with pytest.raises(ConfigError, match="select_classes: limit must be None or >= 0, got -1"):
        select_classes(unique, -1, None)


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"workers": -1}, "generate: workers must be None or >= 0, got -1"),
        ({"limit": -1}, "generate: limit must be None or >= 0, got -1"),
        ({"limit": 2.5}, "generate: limit must be None or an integer, got 2.5"),
        ({"checkpoint_seconds": -1.0}, "generate: checkpoint_seconds must be >= 0, got -1.0"),
        ({"shard": (2, 2)}, "generate: shard must be (i, n) with 0 <= i < n, got (2, 2)"),
    ],
)
def test_generate_refuses_bad_parameters_by_their_python_names(
    tmp_path: Path, options: dict[str, Any], fragment: str
) -> None:
    out = tmp_path / "refused.h5"
    with pytest.raises(ConfigError) as info:
        run_generate(out, **options)
    assert str(info.value) == fragment
    assert "--" not in str(info.value), "library messages name parameters, not command-line flags"
    assert not out.exists()


# --------------------------------------------------------------------- generate in-process
def test_generate_summary_counts(base: tuple[Path, GenerateSummary]) -> None:
    out, summary = base
    assert summary.out == str(out)
    assert summary.classes_selected == LIMIT
    assert summary.runs_scheduled == LIMIT * SEEDS
    assert summary.runs_done == LIMIT * SEEDS
    assert (summary.runs_failed, summary.runs_errored, summary.errors) == (0, 0, [])
    assert (summary.probes_scheduled, summary.probes_done) == (0, 0)
    assert summary.wall_seconds >= summary.job_seconds > 0
    assert json.loads(json.dumps(summary.to_dict()))["runs_done"] == LIMIT * SEEDS


def test_generated_table_validates_and_records_the_chosen_runs(
    base: tuple[Path, GenerateSummary], base_table: Table
) -> None:
    out, _ = base
    assert validate_table(out) == []
    assert Journal(out.with_name(out.name + ".journal")).read() == []
    assert not out.with_name(out.name + ".tmp").exists()
    table = base_table
    assert table.protocol == FAST.to_dict()
    assert table.seeds.tolist() == list(FAST.seeds)
    assert table.num_epochs == FAST.epochs
    assert table.dataset["name"] == "digits"
    rows = class_rows(table, chosen_classes(table, LIMIT))
    expected = np.full(table.run_status.shape, STATUS_PENDING)
    expected[rows] = STATUS_DONE
    assert np.array_equal(table.run_status, expected)


def test_info_json_shows_the_runs(
    base: tuple[Path, GenerateSummary], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, ["info", base[0], "--json"])
    assert (code, err) == (0, "")
    info = json.loads(out)
    assert info["runs_done"] == LIMIT * SEEDS
    assert info["runs_failed"] == 0
    assert info["runs_total"] == info["unique"] * SEEDS
    assert info["epochs"] == FAST.epochs
    assert info["protocol"] == FAST.to_dict()


def test_recorded_values_equal_direct_training(base_table: Table) -> None:
    """The generator's numbers are exactly what train_architecture gives (one thread, same data)."""
    table = base_table
    data = digits_data()
    torch.set_num_threads(1)
    for cls in chosen_classes(table, LIMIT).tolist():
        row = int(np.searchsorted(table.unique, cls))
        for column, seed in enumerate(table.seeds.tolist()):
            run = train_architecture(cls, seed, FAST, data=data)
            assert run.failed is None
            for name in COMPARED:
                stored = table.raw(name)[row, column]
                assert np.array_equal(stored, np.asarray(run.metrics[name], dtype=np.float32)), (
                    cls,
                    seed,
                    name,
                )
            for name in TIMING_METRICS:
                timing = table.raw(name)[row, column]
                assert np.all(np.isfinite(timing) & (timing > 0)), name


def test_pending_classes_raise_not_measured(base_table: Table) -> None:
    table = base_table
    measured = set(chosen_classes(table, LIMIT).tolist())
    pending = next(int(c) for c in table.unique if int(c) not in measured)
    with pytest.raises(NotMeasuredError):
        table.query(pending, "val_acc")
    with pytest.raises(NotMeasuredError):
        table.query(pending, "test_loss", epoch=0, seed=FAST.seeds[0])
    done = int(next(iter(measured)))
    assert 0.0 <= table.query(done, "val_acc") <= 100.0


def test_resume_with_the_same_call_is_a_no_op(table_copy: Path, caplog: pytest.LogCaptureFixture) -> None:
    before = table_copy.read_bytes()
    caplog.set_level(logging.INFO, logger="nasbench.generation")
    summary = run_generate(table_copy)
    assert summary.classes_selected == LIMIT
    assert (summary.runs_scheduled, summary.runs_done) == (0, 0)
    assert table_copy.read_bytes() == before
    runs = LIMIT * SEEDS
    expected = f"{LIMIT} classes selected; {runs} of their {runs} runs already recorded, 0 to train"
    assert any(expected in message for message in caplog.messages), caplog.text


def test_raising_the_limit_trains_only_the_new_classes(table_copy: Path, base_table: Table) -> None:
    summary = run_generate(table_copy, limit=LIMIT + 2)
    assert summary.classes_selected == LIMIT + 2
    assert summary.runs_scheduled == summary.runs_done == 2 * SEEDS
    assert validate_table(table_copy) == []
    table = open_table(table_copy)
    old = class_rows(table, chosen_classes(table, LIMIT))
    new = class_rows(table, chosen_classes(table, LIMIT + 2)[LIMIT:])
    assert (table.run_status[new] == STATUS_DONE).all()
    assert int(np.sum(table.run_status == STATUS_DONE)) == (LIMIT + 2) * SEEDS
    for name in EPOCH_METRICS:  # old runs untouched bit for bit, their timings included
        assert table.raw(name)[old].tobytes() == base_table.raw(name)[old].tobytes(), name
        assert np.isfinite(table.raw(name)[new]).all(), name


# --------------------------------------------------------------------- probes
def test_probes_fill_every_device_for_the_trained_rows(table_copy: Path) -> None:
    summary = run_generate(table_copy, limit=2, probes=True, probe_settings=TINY_PROBE)
    assert summary.runs_scheduled == 0  # the classes are already trained
    table = open_table(table_copy)
    devices = {device.device_id for device in available_devices()}
    assert "cpu-1t" in devices
    if usable_cpu_cores() > 1:
        assert f"cpu-{usable_cpu_cores()}t" in devices
    assert set(table.devices) == devices
    selected = np.isin(table.canonical, chosen_classes(table, 2))
    groups: dict[tuple[int, int, int], list[int]] = {}
    for row in np.nonzero(selected)[0].tolist():
        key = (int(table.canonical[row]), int(table.params[row]), int(table.flops[row]))
        groups.setdefault(key, []).append(row)
    assert summary.probes_scheduled == summary.probes_done == len(groups) * len(devices)
    names = ("latency_ms_b1", "latency_ms_b64", "train_peak_memory_mb", "infer_peak_memory_mb")
    for device_id in devices:
        assert table.devices[device_id]["device_id"] == device_id
        for name in names:
            values = table.metric(f"{device_id}/{name}")
            assert np.all(np.isfinite(values[selected]) & (values[selected] > 0)), (device_id, name)
            assert np.isnan(values[~selected]).all(), (device_id, name)
            for rows in groups.values():
                assert np.unique(values[rows]).shape == (1,), (device_id, name, rows)
    assert validate_table(table_copy) == []
    again = run_generate(table_copy, limit=2, probes=True, probe_settings=TINY_PROBE)
    assert again.probes_scheduled == 0


def test_members_of_one_class_with_one_cost_share_one_probe(table_copy: Path, base_table: Table) -> None:
    """The first class (in the selection order) with several same-cost members, alone as a shard."""
    table = base_table
    order = chosen_classes(table, 50)
    position, rows = next(
        (k, members)
        for k, cls in enumerate(order.tolist())
        if (members := np.nonzero(table.canonical == cls)[0]).shape[0] > 1
        and np.unique(table.params[members]).shape == (1,)
        and np.unique(table.flops[members]).shape == (1,)
    )
    summary = run_generate(
        table_copy, limit=position + 1, shard=(position, position + 1), probes=True, probe_settings=TINY_PROBE
    )
    assert summary.classes_selected == 1
    devices = {device.device_id for device in available_devices()}
    assert summary.probes_done == len(devices), "one measurement per device for the whole class"
    probed = open_table(table_copy)
    for device_id in devices:
        for name in ("latency_ms_b1", "train_peak_memory_mb"):
            values = probed.metric(f"{device_id}/{name}")
            assert np.isfinite(values[rows]).all()
            assert np.unique(values[rows]).shape == (1,), (device_id, name)
            assert int(np.sum(~np.isnan(values))) == rows.shape[0]


# --------------------------------------------------------------------- journal and checkpoint
def fake_entry(table_id: str, index: int, seed: int, value: float = 50.0) -> dict[str, Any]:
    metrics = {name: [value / 2, value] for name in EPOCH_METRICS}
    metrics["train_seconds"] = [0.25, 0.5]
    metrics["eval_seconds"] = [0.125, 0.25]
    return {
        "kind": "run",
        "table_id": table_id,
        "index": index,
        "seed": seed,
        "metrics": metrics,
        "failed": None,
    }


def test_journal_appends_and_reads_back(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "x.journal")
    assert journal.read() == []
    entries = [fake_entry("a", 1, 0), fake_entry("a", 2, 1, value=60.0)]
    for entry in entries:
        journal.append(entry)
    assert journal.read() == entries
    assert journal.path.read_text().count("\n") == 2
    journal.clear()
    assert journal.read() == []
    assert journal.path.read_bytes() == b""


def test_journal_ignores_a_torn_last_line(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "x.journal")
    first = fake_entry("a", 1, 0)
    journal.append(first)
    torn = json.dumps(fake_entry("a", 2, 0), sort_keys=True)[:50]
    with open(journal.path, "a", encoding="utf-8") as handle:
        handle.write(torn)
    assert journal.read() == [first]


def test_journal_append_after_a_torn_line_is_read_back(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "x.journal")
    journal.path.write_text(json.dumps(fake_entry("a", 2, 0), sort_keys=True)[:50])
    entry = fake_entry("a", 3, 1)
    journal.append(entry)
    assert journal.read() == [entry]


def test_checkpoint_applies_entries_and_empties_the_journal(table_copy: Path, base_table: Table) -> None:
    table_id = table_id_of(base_table)
    measured = set(chosen_classes(base_table, LIMIT).tolist())
    pending = [int(c) for c in base_table.unique if int(c) not in measured][:2]
    journal = Journal(table_copy.with_name(table_copy.name + ".journal"))
    mine = fake_entry(table_id, pending[0], FAST.seeds[1], value=42.0)
    foreign = fake_entry("0123456789abcdef", pending[1], FAST.seeds[0])
    journal.append(mine)
    journal.append(foreign)
    assert checkpoint(table_copy, journal, table_id) == 1
    assert journal.read() == []
    assert journal.path.read_bytes() == b""
    assert not table_copy.with_name(table_copy.name + ".tmp").exists()
    assert validate_table(table_copy) == []
    table = open_table(table_copy)
    row_mine, row_foreign = class_rows(table, np.asarray(pending))
    assert table.run_status[row_mine, 1] == STATUS_DONE
    assert table.run_status[row_foreign, 0] == STATUS_PENDING, "an entry of another table was applied"
    assert np.isnan(table.raw("val_acc")[row_foreign]).all()
    for name in EPOCH_METRICS:
        assert np.array_equal(table.raw(name)[row_mine, 1], np.float32(mine["metrics"][name])), name
    # Everything else is as it was.
    status = table.run_status.copy()
    status[row_mine, 1] = STATUS_PENDING
    assert np.array_equal(status, base_table.run_status)
    assert checkpoint(table_copy, journal, table_id) == 0


# --------------------------------------------------------------------- refusals
def test_another_protocol_on_the_same_out_is_refused(table_copy: Path) -> None:
    before = table_copy.read_bytes()
    with pytest.raises(TableError, match="another protocol") as info:
        run_generate(table_copy, FAST.replace(epochs=3))
    assert "epochs" in str(info.value) and "\n" not in str(info.value)
    assert table_copy.read_bytes() == before


def test_another_dataset_on_the_same_out_is_refused(table_copy: Path, tmp_path: Path) -> None:
    data_dir = fake_fashion_mnist(tmp_path / "fmnist")
    before = table_copy.read_bytes()
    with pytest.raises(TableError, match="dataset") as info:
        run_generate(table_copy, FAST.replace(dataset="fashion-mnist"), data_dir=str(data_dir))
    assert "refusing" in str(info.value) and "\n" not in str(info.value)
    assert table_copy.read_bytes() == before


@pytest.mark.parametrize(
    ("extra", "fragments"),
    [
        (["--epochs", "3"], ["another protocol", "epochs"]),
        (["--seeds", "0,1,2"], ["another protocol", "seeds"]),
        (["--shard", "3/2"], ["--shard 3/2"]),
        (["--preset", "nope"], ["unknown preset 'nope'", "tiny"]),
        (["--dataset", "nope"], ["unknown dataset 'nope'", "fashion-mnist"]),
        (["--set", "foo=1"], ["unknown protocol field 'foo'"]),
        (["--set", "batch_size=0"], ["batch_size"]),
        (["--workers", "-1"], ["--workers"]),
        (["--limit", "-1"], ["--limit"]),
    ],
)
def test_cli_refusals_are_one_line_and_leave_the_table_alone(
    table_copy: Path, capsys: pytest.CaptureFixture[str], extra: list[str], fragments: list[str]
) -> None:
    before = table_copy.read_bytes()
    code, _, err = run_cli(capsys, cli_generate_args(table_copy, *extra))
    assert_one_line_error(code, err, *fragments)
    assert table_copy.read_bytes() == before


def test_cli_generate_resumes_and_prints_a_json_summary(
    table_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = table_copy.read_bytes()
    code, out, err = run_cli(capsys, [*cli_generate_args(table_copy), "--json"])
    assert (code, err) == (0, "")
    summary = json.loads(out)
    assert summary["classes_selected"] == LIMIT
    assert (summary["runs_scheduled"], summary["runs_done"], summary["runs_errored"]) == (0, 0, 0)
    assert table_copy.read_bytes() == before


def test_cli_missing_dataset_files_say_where_it_looked(
    table_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.delenv(DATA_ENV_VAR, raising=False)
    monkeypatch.setattr(nasbench.nets.dataset_files, "SYSTEM_DATA_DIR", tmp_path / "system")
    before = table_copy.read_bytes()
    argv = cli_generate_args(table_copy, "--dataset", "fashion-mnist", "--data-dir", str(empty))
    code, _, err = run_cli(capsys, argv)
    assert_one_line_error(code, err, "fashion-mnist", str(empty), "not found")
    assert table_copy.read_bytes() == before


def test_cli_refused_limit_creates_no_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "new.h5"
    code, _, err = run_cli(capsys, cli_generate_args(out, "--limit", "-1"))
    assert_one_line_error(code, err, "--limit")
    assert not out.exists()


def test_cli_set_augment_takes_a_single_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Protocol] = {}

    def fake_generate(out: str, protocol: Protocol, **options: Any) -> GenerateSummary:
        seen["protocol"] = protocol
        return GenerateSummary(out=str(out), classes_selected=0, runs_scheduled=0)

    monkeypatch.setattr(nasbench.generation.generate, "generate", fake_generate)
    code, _, err = run_cli(capsys, cli_generate_args(tmp_path / "t.h5", "--set", "augment=flip"))
    assert code == 0, err
    assert seen["protocol"].augment == ("flip",)


# --------------------------------------------------------------------- shards and merge
def test_each_shard_holds_its_share(shards: tuple[Path, Path]) -> None:
    for index, path in enumerate(shards):
        assert validate_table(path) == []
        table = open_table(path)
        rows = class_rows(table, chosen_classes(table, LIMIT, (index, 2)))
        expected = np.full(table.run_status.shape, STATUS_PENDING)
        expected[rows] = STATUS_DONE
        assert np.array_equal(table.run_status, expected)


def test_merged_shards_equal_the_unsharded_run(
    shards: tuple[Path, Path], base_table: Table, tmp_path: Path
) -> None:
    out = tmp_path / "merged.h5"
    counts = merge_tables(out, list(shards))
    total = base_table.run_status.size
    assert counts == {
        "runs_done": LIMIT * SEEDS,
        "runs_failed": 0,
        "runs_pending": total - LIMIT * SEEDS,
        "runs_in_several_inputs": 0,
    }
    assert validate_table(out) == []
    merged = open_table(out)
    assert np.array_equal(merged.run_status, base_table.run_status)
    done = base_table.run_status != STATUS_PENDING
    for name in COMPARED:
        assert np.array_equal(merged.raw(name)[done], base_table.raw(name)[done]), name
        assert np.isnan(merged.raw(name)[~done]).all(), name
    for name in TIMING_METRICS:
        assert np.isfinite(merged.raw(name)[done]).all(), name
    assert merged.protocol == FAST.to_dict()
    assert merged.provenance["merged_from"] == [p.name for p in shards]


def test_tables_of_other_seeds_merge_into_their_seed_union(base_table: Table, tmp_path: Path) -> None:
    """A table extended by a new seed (generated into its own file) merges with the old one
    into the table the seeds would have made together, in the order the inputs name them."""
    parts = []
    for seed in (1, 0):
        parts.append(tmp_path / f"seed{seed}.h5")
        assert run_generate(parts[-1], FAST.replace(seeds=(seed,))).runs_done == LIMIT
    with TableWriter(parts[1]) as writer:  # a study on one seed does not describe the union
        writer.set_attr("fidelity", {"seed_spearman": 0.5})
    out = tmp_path / "union.h5"
    counts = merge_tables(out, [parts[1], parts[0]])
    assert counts["runs_done"] == LIMIT * SEEDS and counts["runs_in_several_inputs"] == 0
    assert validate_table(out) == []
    merged = open_table(out)
    assert merged.seeds.tolist() == [0, 1] and merged.protocol == FAST.to_dict()
    assert merged.fidelity is None
    assert np.array_equal(merged.run_status, base_table.run_status)
    done = base_table.run_status != STATUS_PENDING
    for name in COMPARED:
        assert np.array_equal(merged.raw(name)[done], base_table.raw(name)[done]), name
    with h5py.File(out, "r") as handle, h5py.File(parts[1], "r") as source:
        assert handle["metrics/test_loss"].dtype == source["metrics/test_loss"].dtype
    merge_tables(tmp_path / "r.h5", parts)
    reversed_order = open_table(tmp_path / "r.h5")
    assert reversed_order.seeds.tolist() == [1, 0]
    assert np.array_equal(reversed_order.raw("test_acc")[:, 0], merged.raw("test_acc")[:, 1], equal_nan=True)


def test_a_seed_union_of_another_protocol_is_refused(
    tmp_path: Path, base: tuple[Path, GenerateSummary]
) -> None:
    other = tmp_path / "other.h5"
    run_generate(other, FAST.replace(seeds=(2,), learning_rate=0.05), limit=1)
    with pytest.raises(TableError, match="another protocol"):
        merge_tables(tmp_path / "out.h5", [base[0], other])
    assert not (tmp_path / "out.h5").exists()


def test_compact_merge_keeps_accuracies_exact_and_shrinks_the_rest(
    shards: tuple[Path, Path], tmp_path: Path
) -> None:
    import h5py

    plain = tmp_path / "plain.h5"
    compact = tmp_path / "compact.h5"
    merge_tables(plain, list(shards))
    first = tmp_path / "first.h5"
    shutil.copyfile(shards[0], first)
    with TableWriter(first) as writer:  # the fidelity figures travel with a compact merge
        writer.set_attr("fidelity", {"seed_spearman": 0.5})
    merge_tables(compact, [first, shards[1]], dtype=COMPACT_DTYPES)
    assert validate_table(compact) == []
    a, b = open_table(plain), open_table(compact)
    assert b.fidelity == {"seed_spearman": 0.5}
    assert np.array_equal(a.run_status, b.run_status)
    with h5py.File(compact, "r") as handle:
        stored = {name: handle[f"metrics/{name}"].dtype.name for name in handle["metrics"]}
    assert stored == {name: COMPACT_DTYPES[name] for name in a.epoch_metrics}
    for name in a.epoch_metrics:
        x, y = a.raw(name), b.raw(name)
        assert np.array_equal(np.isnan(x), np.isnan(y)), name
        if COMPACT_DTYPES[name] == "float32":
            assert np.array_equal(x[~np.isnan(x)], y[~np.isnan(y)]), name
        else:
            np.testing.assert_allclose(y, x, rtol=1e-3, atol=1e-6, err_msg=name)
            assert not np.array_equal(x[~np.isnan(x)], y[~np.isnan(y)]), f"{name} was not rounded"


def test_merge_refuses_tables_of_another_protocol(shards: tuple[Path, Path], tmp_path: Path) -> None:
    other = tmp_path / "other.h5"
    summary = run_generate(other, FAST.replace(epochs=3), limit=1, shard=(1, 2))  # no runs: an empty table
    assert summary.runs_scheduled == 0 and other.exists()
    out = tmp_path / "merged.h5"
    with pytest.raises(TableError, match="another protocol"):
        merge_tables(out, [shards[0], other])
    assert not out.exists()
    assert not out.with_name(out.name + ".tmp").exists()


def test_merge_refuses_to_overwrite_unless_asked(shards: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "merged.h5"
    out.write_bytes(b"precious")
    with pytest.raises(TableError, match=r"exists \(pass overwrite=True to replace it\)"):
        merge_tables(out, list(shards))
    assert out.read_bytes() == b"precious"
    merge_tables(out, list(shards), overwrite=True)
    assert validate_table(out) == []


def test_cli_merge(shards: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "merged.h5"
    code, stdout, err = run_cli(capsys, ["merge", out, *shards])
    assert (code, err) == (0, "")
    assert f"{LIMIT * SEEDS} runs done" in stdout
    assert validate_table(out) == []
    before = out.read_bytes()
    code, _, err = run_cli(capsys, ["merge", out, *shards])
    assert_one_line_error(code, err, "exists", "--overwrite")
    assert out.read_bytes() == before
    code, _, err = run_cli(capsys, ["merge", "--overwrite", out, *shards])
    assert (code, err) == (0, "")


def test_merge_accepts_the_same_runs_recorded_twice(
    base: tuple[Path, GenerateSummary], base_table: Table, shards: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "merged.h5"
    counts = merge_tables(out, [base[0], shards[0]])
    assert counts["runs_done"] == LIMIT * SEEDS
    merged = open_table(out)
    assert np.array_equal(merged.run_status, base_table.run_status)
    for name in EPOCH_METRICS:  # the first input's values win
        assert merged.raw(name).tobytes() == base_table.raw(name).tobytes(), name


def test_merge_takes_a_run_recorded_twice_from_the_first_input(
    base: tuple[Path, GenerateSummary], base_table: Table, tmp_path: Path
) -> None:
    altered = tmp_path / "altered.h5"
    shutil.copyfile(base[0], altered)
    table_id = table_id_of(base_table)
    cls = int(chosen_classes(base_table, LIMIT)[0])
    journal = Journal(tmp_path / "altered.journal")
    journal.append(fake_entry(table_id, cls, FAST.seeds[0], value=12.5))
    assert checkpoint(altered, journal, table_id) == 1
    out = tmp_path / "merged.h5"
    counts = merge_tables(out, [base[0], altered])
    assert counts["runs_in_several_inputs"] == LIMIT * SEEDS
    merged = open_table(out)
    assert merged.query(cls, "val_acc", seed=FAST.seeds[0]) == base_table.query(
        cls, "val_acc", seed=FAST.seeds[0]
    )
    reversed_out = tmp_path / "reversed.h5"
    merge_tables(reversed_out, [altered, base[0]])
    assert open_table(reversed_out).query(cls, "val_acc", seed=FAST.seeds[0]) == 12.5


# --------------------------------------------------------------------- a local Dask cluster
def test_dask_workers_give_the_in_process_numbers(base_table: Table, tmp_path: Path) -> None:
    out = tmp_path / "dask.h5"
    summary = run_generate(out, limit=3, workers=2)
    assert (summary.runs_scheduled, summary.runs_done, summary.runs_errored) == (3 * SEEDS, 3 * SEEDS, 0)
    assert validate_table(out) == []
    table = open_table(out)
    rows = class_rows(table, chosen_classes(table, 3))
    expected = np.full(table.run_status.shape, STATUS_PENDING)
    expected[rows] = STATUS_DONE
    assert np.array_equal(table.run_status, expected)
    for name in COMPARED:
        assert np.array_equal(table.raw(name)[rows], base_table.raw(name)[rows]), name


# --------------------------------------------------------------------- a job that raises
def test_a_raising_job_is_reported_and_stays_pending(
    table_copy: Path, base_table: Table, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    new_class = int(chosen_classes(base_table, LIMIT + 1)[LIMIT])
    failing_seed = FAST.seeds[1]
    real_job = nasbench.generation.generate.run_training_job

    def job(payload: dict[str, Any]) -> dict[str, Any]:
        if (payload["index"], payload["seed"]) == (new_class, failing_seed):
            raise RuntimeError("worker exploded\nwith a second line")
        return real_job(payload)

    monkeypatch.setattr(nasbench.generation.generate, "run_training_job", job)
    logged: list[str] = []
    caplog.set_level(logging.INFO, logger="nasbench.generation.generate")
    summary = run_generate(table_copy, limit=LIMIT + 1, log=logged.append)
    assert summary.runs_scheduled == SEEDS
    assert (summary.runs_done, summary.runs_failed, summary.runs_errored) == (SEEDS - 1, 0, 1)
    assert len(summary.errors) == 1
    message = summary.errors[0]
    assert "\n" not in message
    assert f"arch {new_class}" in message and f"seed {failing_seed}" in message
    assert "RuntimeError" in message and "worker exploded with a second line" in message
    assert logged == summary.errors
    assert f"{message} (it stays pending)" in caplog.messages
    assert validate_table(table_copy) == []
    table = open_table(table_copy)
    row = int(np.searchsorted(table.unique, new_class))
    assert table.run_status[row].tolist() == [STATUS_DONE, STATUS_PENDING]
    assert np.isnan(table.raw("val_acc")[row, 1]).all()
    assert int(np.sum(table.run_status == STATUS_DONE)) == LIMIT * SEEDS + 1


def test_cli_exits_1_when_a_job_raises(
    table_copy: Path, base_table: Table, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def job(payload: dict[str, Any]) -> dict[str, Any]:
        raise ValueError(f"no luck for {payload['index']}")

    monkeypatch.setattr(nasbench.generation.generate, "run_training_job", job)
    code, out, err = run_cli(capsys, cli_generate_args(table_copy, "--limit", str(LIMIT + 1)))
    assert code == 1
    assert "0 done" in out and "2 errored" in out
    lines = err.splitlines()
    assert all(line.startswith("nasbench: ") for line in lines), err
    assert sum("raised ValueError" in line for line in lines) == SEEDS
    assert "stay pending" in lines[-1]
    assert "Traceback" not in err
    table = open_table(table_copy)
    assert np.array_equal(table.run_status, base_table.run_status)


# --------------------------------------------------------------------- side effects
def test_in_process_generate_leaves_torch_threads_alone(
    table_copy: Path, base_table: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    def quick(arch: Any, seed: int, protocol: Protocol, **_: Any) -> RunResult:
        metrics = {name: [1.0] * protocol.epochs for name in EPOCH_METRICS}
        return RunResult(metrics)

    monkeypatch.setattr(nasbench.nets.train, "train_architecture", quick)
    torch.set_num_threads(2)
    summary = run_generate(table_copy, limit=LIMIT + 1)
    assert summary.runs_done == SEEDS
    assert torch.get_num_threads() == 2


def test_the_lock_cannot_be_bypassed_through_a_symlink(tmp_path: Path) -> None:
    """Two generators on one table, one of them through a symlink: the second is refused."""
    import fcntl

    from nasbench.core.errors import TableError
    from nasbench.generation.generate import _exclusive

    real = tmp_path / "real" / "t.h5"
    real.parent.mkdir()
    real.write_bytes(b"")
    link = tmp_path / "link.h5"
    link.symlink_to(real)
    with _exclusive(real):
        with pytest.raises(TableError, match="another nasbench generate"):
            with _exclusive(link):
                pass
    with _exclusive(link):  # released: the link may take it now, and holds the real file's lock
        with open(real.with_name("t.h5.lock"), "a+") as handle:
            with pytest.raises(OSError):
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

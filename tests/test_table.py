"""Tests of the HDF5 table: round trip, isomorphism, cost, errors, corruption, writer."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import h5py
import numpy as np
import pytest

from nasbench.core.errors import (
    ArchitectureError,
    MetricError,
    NasbenchError,
    NotMeasuredError,
    SchemaVersionError,
    TableError,
    one_line,
)
from nasbench.core.space import Architecture, CellSpace
from nasbench.core.table import (
    EPOCH_METRICS,
    STATUS_DONE,
    STATUS_FAILED,
    STATUS_PENDING,
    TableWriter,
    open_table,
    validate_table,
)
from nasbench.nets.models import cost_arrays

if TYPE_CHECKING:
    from conftest import TableCase

CREATED = "2024-05-01T12:00:00+00:00"  # the fixtures' `created`, see conftest.py


# --------------------------------------------------------------------- helpers
def _copy(case: TableCase, tmp_path: Path, name: str = "copy.h5") -> Path:
    target = tmp_path / name
    shutil.copyfile(case.path, target)
    return target


def _new_writer(path: Path, space: CellSpace | None = None, **kwargs) -> TableWriter:
    space = space or CellSpace()
    params, flops = cost_arrays(space, "tiny")
    options = {
        "space": space,
        "model": {"preset": "tiny"},
        "dataset": {"name": "synthetic"},
        "protocol": {"epochs": 2},
        "seeds": [0, 1],
        "num_epochs": 2,
        "params": params,
        "flops": flops,
        "created": CREATED,
    }
    options.update(kwargs)
    return TableWriter.create(path, **options)


def _full_run(num_epochs: int, offset: float = 0.0) -> dict[str, list[float]]:
    return {name: [10.0 + offset + e for e in range(num_epochs)] for name in EPOCH_METRICS}


def _assert_same_content(table, original) -> None:
    for name in original.epoch_metrics:
        np.testing.assert_array_equal(table.raw(name), original.raw(name))
    for attr in ("indices", "ops", "canonical", "unique", "seeds", "params", "flops", "run_status"):
        np.testing.assert_array_equal(getattr(table, attr), getattr(original, attr))
    assert list(table.run_messages.ravel()) == list(original.run_messages.ravel())
    assert (table.space, table.model, table.dataset, table.protocol, table.provenance) == (
        original.space,
        original.model,
        original.dataset,
        original.protocol,
        original.provenance,
    )


# --------------------------------------------------------------------- facts
def test_table_facts(complete_case: TableCase, complete_table) -> None:
    t = complete_table
    assert t.num_archs == 15625
    assert t.num_unique == 6466
    assert t.seeds.tolist() == [0, 1]
    assert t.num_epochs == 4
    assert t.epoch_metrics == tuple(sorted(EPOCH_METRICS))
    assert set(t.metric_names) == {*EPOCH_METRICS, "params", "flops", "params_m", "flops_m"}
    assert t.devices == {}
    assert t.provenance["created"] == CREATED
    assert t.dataset["name"] == "synthetic"
    assert t.checksum.startswith("sha256:")
    assert t.space == complete_case.space


def test_fresh_tables_validate(complete_case: TableCase, sampled_case: TableCase) -> None:
    assert validate_table(complete_case.path) == []
    assert validate_table(sampled_case.path) == []


# --------------------------------------------------------------------- round trip
@pytest.mark.parametrize("epoch", [-1, 1, 0, 3])
def test_query_per_seed_returns_written_values(complete_case: TableCase, complete_table, epoch: int) -> None:
    for rep in complete_case.done:
        for seed in complete_case.seeds:
            for metric in EPOCH_METRICS:
                expected = complete_case.expected(rep, metric, epoch, seed)
                assert complete_table.query(rep, metric, epoch=epoch, seed=seed) == expected


@pytest.mark.parametrize("epoch", [-1, 1])
def test_query_mean_over_seeds(complete_case: TableCase, complete_table, epoch: int) -> None:
    for rep in complete_case.done:
        for metric in ("val_acc", "test_loss", "train_seconds"):
            a = complete_case.runs[(rep, 0)][metric][epoch]
            b = complete_case.runs[(rep, 1)][metric][epoch]
            assert complete_table.query(rep, metric, epoch=epoch) == (a + b) / 2
            assert complete_table.query(rep, metric, epoch=epoch, seed=None) == (a + b) / 2


def test_mean_uses_only_measured_seeds(complete_case: TableCase, complete_table) -> None:
    half = complete_case.half
    written = complete_case.runs[(half, 0)]["val_acc"][-1]
    assert complete_table.query(half, "val_acc") == written
    with pytest.raises(NotMeasuredError):
        complete_table.query(half, "val_acc", seed=1)


def test_curve_equals_written_series(complete_case: TableCase, complete_table) -> None:
    for rep in complete_case.done[:50]:
        for seed in complete_case.seeds:
            for metric in EPOCH_METRICS:
                curve = complete_table.curve(rep, metric, seed=seed)
                assert curve.dtype == np.float64 and curve.shape == (4,)
                np.testing.assert_array_equal(curve, complete_case.runs[(rep, seed)][metric])
        mean = (complete_case.runs[(rep, 0)]["val_acc"] + complete_case.runs[(rep, 1)]["val_acc"]) / 2
        np.testing.assert_array_equal(complete_table.curve(rep, "val_acc"), mean)
    rep = complete_case.done[0]
    # val_acc increases per epoch in the synthetic data: the curve keeps epoch order.
    assert np.all(np.diff(complete_table.curve(rep, "val_acc", seed=0)) >= 0)


@pytest.mark.parametrize("epoch,seed", [(-1, None), (1, 0), (2, 1)])
def test_metric_array_is_class_value_in_every_row(
    complete_case: TableCase, complete_table, epoch: int, seed: int | None
) -> None:
    values = complete_table.metric("val_acc", epoch=epoch, seed=seed)
    assert values.shape == (15625,) and values.dtype == np.float64
    canonical = complete_case.canonical
    np.testing.assert_array_equal(values, values[canonical])
    for rep in complete_case.done:
        members = np.nonzero(canonical == rep)[0]
        expected = complete_case.expected(rep, "val_acc", epoch, seed)
        assert np.all(values[members] == expected)
    assert np.all(np.isnan(values[complete_case.pending]))
    measured = np.isin(canonical, [*complete_case.done, complete_case.half, complete_case.failed[0]])
    measured_rows = int(np.sum(~np.isnan(values)))
    assert measured_rows <= int(np.sum(measured))
    class_values = complete_table.class_metric("val_acc", epoch=epoch, seed=seed)
    assert class_values.shape == (6466,)
    np.testing.assert_array_equal(class_values[np.searchsorted(complete_table.unique, canonical)], values)


def test_isomorphic_members_answer_from_their_class(complete_case: TableCase, complete_table) -> None:
    canonical = complete_case.canonical
    checked = 0
    for rep in complete_case.done[:40]:
        members = np.nonzero(canonical == rep)[0]
        if members.size < 2:
            continue
        a, b = int(members[0]), int(members[-1])
        assert a != b and complete_case.space.canonical(a) == complete_case.space.canonical(b)
        assert complete_table.canonical_index(a) == complete_table.canonical_index(b) == rep
        for seed in (None, 0, 1):
            assert complete_table.query(a, "val_acc", seed=seed) == complete_table.query(
                b, "val_acc", seed=seed
            )
            assert complete_table.query(b, "val_acc", seed=seed) == complete_case.expected(
                rep, "val_acc", -1, seed
            )
        np.testing.assert_array_equal(
            complete_table.curve(a, "test_acc"), complete_table.curve(b, "test_acc")
        )
        checked += 1
    assert checked >= 5


def test_every_arch_form_agrees(complete_case: TableCase, complete_table) -> None:
    space = complete_case.space
    for rep in complete_case.done[:25]:
        member = int(np.nonzero(complete_case.canonical == rep)[0][-1])
        arch = space.from_index(member)
        forms = [
            member,
            np.int64(member),
            np.int32(member),
            str(arch),
            "  " + str(arch) + "\n",
            arch.ops,
            list(arch.ops),
            arch,
        ]
        expected = complete_case.expected(rep, "val_acc", -1, 0)
        for form in forms:
            assert complete_table.row(form) == member
            assert complete_table.query(form, "val_acc", seed=0) == expected
            assert complete_table.query(form, "val_acc", epoch=-1, seed=0) == expected
            assert complete_table.canonical_index(form) == rep
            assert complete_table.query(form, "params_m") == complete_case.params[member] / 1e6


def test_query_epoch_accepts_numpy_integers(complete_case: TableCase, complete_table) -> None:
    rep = complete_case.done[3]
    expected = complete_case.expected(rep, "val_loss", 1, 1)
    assert complete_table.query(rep, "val_loss", epoch=np.int64(1), seed=np.int64(1)) == expected
    assert complete_table.query(rep, "val_loss", epoch=-3, seed=1) == expected


# --------------------------------------------------------------------- cost
def test_cost_metrics_match_cost_arrays(complete_case: TableCase, complete_table) -> None:
    rng = np.random.default_rng(5)
    for index in rng.choice(15625, size=300, replace=False).tolist():
        assert complete_table.query(index, "params_m") == complete_case.params[index] / 1e6
        assert complete_table.query(index, "flops_m") == complete_case.flops[index] / 1e6
        assert complete_table.query(index, "params") == complete_case.params[index]
        assert complete_table.query(index, "flops") == complete_case.flops[index]
    np.testing.assert_array_equal(complete_table.metric("params_m"), complete_case.params / 1e6)
    np.testing.assert_array_equal(complete_table.metric("flops"), complete_case.flops.astype(np.float64))
    # cost ignores epoch and seed
    assert complete_table.query(11, "params_m", epoch=2, seed=1) == complete_case.params[11] / 1e6


def test_class_members_can_differ_in_cost_but_share_metrics(complete_case: TableCase, complete_table) -> None:
    a, b = complete_case.member_pair
    assert a != b
    assert complete_case.canonical[a] == complete_case.canonical[b]
    assert complete_table.query(a, "params_m") != complete_table.query(b, "params_m")
    assert complete_table.query(a, "params_m") == complete_case.params[a] / 1e6
    assert complete_table.query(b, "params_m") == complete_case.params[b] / 1e6
    assert complete_table.query(a, "val_acc") == complete_table.query(b, "val_acc")
    assert complete_table.query(a, "val_acc", seed=1) == complete_table.query(b, "val_acc", seed=1)


# --------------------------------------------------------------------- pending and failed
def test_pending_class_raises_not_measured(complete_case: TableCase, complete_table) -> None:
    space = complete_case.space
    for rep in complete_case.pending[:30]:
        member = int(np.nonzero(complete_case.canonical == rep)[0][-1])
        for arch in (rep, member, str(space.from_index(member))):
            for seed in (None, 0, 1):
                with pytest.raises(NotMeasuredError, match="not measured"):
                    complete_table.query(arch, "val_acc", seed=seed)
        with pytest.raises(NotMeasuredError) as info:
            complete_table.query(rep, "test_loss", epoch=1, seed=0)
        assert isinstance(info.value, MetricError)
        assert str(space.from_index(rep)) in str(info.value)
    # arrays answer NaN for pending rows, as documented
    assert np.isnan(complete_table.curve(complete_case.pending[0], "val_acc")).all()


def test_failed_run_is_recorded(complete_case: TableCase, complete_table) -> None:
    rep, seed, message = complete_case.failed
    assert message.startswith("diverged")
    row = int(np.searchsorted(complete_table.unique, rep))
    column = complete_case.seeds.index(seed)
    assert complete_table.run_status[row, column] == STATUS_FAILED
    assert complete_table.run_messages[row, column] == message
    assert complete_table.run_status[row, 1 - column] == STATUS_PENDING
    # the epochs before the failure are stored; later ones are not measured
    assert (
        complete_table.query(rep, "val_acc", epoch=1, seed=seed)
        == complete_case.runs[(rep, seed)]["val_acc"][1]
    )
    with pytest.raises(NotMeasuredError):
        complete_table.query(rep, "val_acc", epoch=-1, seed=seed)
    done_rows = np.searchsorted(complete_table.unique, complete_case.done)
    assert np.all(complete_table.run_status[done_rows] == STATUS_DONE)
    assert np.all(complete_table.run_messages[done_rows] == "")
    expected_runs = 2 * len(complete_case.done) + 2
    assert complete_table.measured_fraction() == expected_runs / (6466 * 2)


# --------------------------------------------------------------------- bad queries
@pytest.mark.parametrize(
    "kwargs,error,pattern",
    [
        (
            {"metric": "val_accuracy"},
            MetricError,
            r"unknown metric 'val_accuracy'(?=.*\bval_acc\b)(?=.*test_loss)(?=.*params_m)",
        ),
        ({"metric": ""}, MetricError, r"unknown metric"),
        ({"seed": 7}, MetricError, r"seed 7 .*not in this table.*\[0, 1\]"),
        ({"seed": -1}, MetricError, r"seed -1"),
        ({"epoch": 4}, MetricError, r"epoch 4 out of range.*4 epochs"),
        ({"epoch": -5}, MetricError, r"epoch -5 out of range"),
        ({"epoch": 1.5}, MetricError, r"epoch must be an integer"),
    ],
)
def test_bad_query_arguments(complete_case: TableCase, complete_table, kwargs, error, pattern) -> None:
    rep = complete_case.done[0]
    with pytest.raises(error, match=pattern) as info:
        complete_table.query(rep, **kwargs)
    assert not isinstance(info.value, NotMeasuredError)
    assert isinstance(info.value, NasbenchError)


@pytest.mark.parametrize(
    "arch,pattern",
    [
        ("|nor_conv_3x3~0|+|none~0|", r"malformed architecture string"),
        ("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~3|", r"malformed.*input from node 3"),
        ("not an arch", r"malformed architecture string"),
        ("", r"empty architecture string"),
        ("|sep_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", r"op 'sep_conv_3x3' is not in the space"),
        (("none",) * 5 + ("conv_9x9",), r"op 'conv_9x9' is not in the space"),
        (("none",) * 3, r"3 nodes, the space has 4"),
        (15625, r"index 15625 out of range \[0, 15624\]"),
        (-1, r"index -1 out of range"),
        (np.int64(10**9), r"out of range"),
        (True, r"cannot read an architecture from bool"),
        (3.0, r"cannot read an architecture from float"),
    ],
)
def test_bad_architectures(complete_table, arch, pattern) -> None:
    with pytest.raises(ArchitectureError, match=pattern):
        complete_table.query(arch)
    with pytest.raises(ArchitectureError):
        complete_table.row(arch)


def test_cost_metric_has_no_curve(complete_table) -> None:
    with pytest.raises(MetricError):
        complete_table.curve(0, "params_m")
    with pytest.raises(MetricError):
        complete_table.class_metric("params_m")


def test_curve_error_does_not_list_rejected_name_as_known(complete_table) -> None:
    with pytest.raises(MetricError) as info:
        complete_table.curve(0, "params_m")
    message = str(info.value)
    assert "unknown" not in message and "no epochs" in message


def test_bool_seed_rejected_even_after_cache_warm(complete_case: TableCase) -> None:
    table = open_table(complete_case.path)
    rep = complete_case.done[0]
    with pytest.raises(MetricError):
        table.query(rep, "val_acc", seed=True)  # cold cache: rejected
    table.query(rep, "val_acc", seed=1)  # warms the cache for (val_acc, 1)
    with pytest.raises(MetricError):
        table.query(rep, "val_acc", seed=True)


# --------------------------------------------------------------------- sampled table
def test_sampled_table_round_trip(sampled_case: TableCase, sampled_table) -> None:
    t = sampled_table
    assert t.num_archs == 300
    np.testing.assert_array_equal(t.indices, sampled_case.indices)
    np.testing.assert_array_equal(t.canonical, sampled_case.canonical)
    assert t.num_unique == len(np.unique(sampled_case.canonical))
    assert t.seeds.tolist() == [3, 11]
    assert t.fidelity == {"spearman_seed_to_seed": 0.9}
    for rep in sampled_case.done:
        for seed in sampled_case.seeds:
            for epoch in (-1, 1):
                assert t.query(rep, "val_acc", epoch=epoch, seed=seed) == sampled_case.expected(
                    rep, "val_acc", epoch, seed
                )
        assert t.query(rep, "test_acc") == sampled_case.expected(rep, "test_acc", -1, None)
    for position in (0, 17, 299):
        index = int(sampled_case.indices[position])
        assert t.row(index) == position
        assert t.row(str(sampled_case.space.from_index(index))) == position
        assert t.query(index, "params") == sampled_case.params[position]
        assert t.query(index, "flops_m") == sampled_case.flops[position] / 1e6
    for rep in sampled_case.pending[:10]:
        with pytest.raises(NotMeasuredError):
            t.query(rep, "val_acc")
    values = t.metric("val_acc")
    assert values.shape == (300,)
    np.testing.assert_array_equal(values, values[np.searchsorted(t.indices, t.canonical)])


def test_sampled_table_rejects_archs_it_does_not_hold(sampled_case: TableCase, sampled_table) -> None:
    space = sampled_case.space
    absent = int(np.setdiff1d(np.arange(1000), sampled_case.indices)[0])
    for arch in (absent, np.int64(absent), str(space.from_index(absent)), space.from_index(absent)):
        with pytest.raises(ArchitectureError, match="not in this table"):
            sampled_table.query(arch, "params_m")
    with pytest.raises(ArchitectureError, match="out of range"):
        sampled_table.query(space.size, "params_m")


# --------------------------------------------------------------------- bad files
def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TableError, match="no such table file"):
        open_table(tmp_path / "absent.h5")
    problems = validate_table(tmp_path / "absent.h5")
    assert len(problems) == 1 and "no such table file" in problems[0]
    with pytest.raises(TableError):
        TableWriter(tmp_path / "absent.h5")


@pytest.mark.parametrize(
    "content", [b"", b"hello, this is not HDF5\n" * 20, b"\x89HDF\r\n\x1a\n" + b"\0" * 64]
)
def test_non_hdf5_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "table.h5"
    path.write_bytes(content)
    with pytest.raises(TableError, match="not a readable HDF5 table"):
        open_table(path)
    assert validate_table(path)


def test_plain_hdf5_file_is_not_a_table(tmp_path: Path) -> None:
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as handle:
        handle["x"] = np.arange(3)
    with pytest.raises(TableError, match="not a nasbench table"):
        open_table(path)


@pytest.mark.parametrize("fraction", [0.5, 0.9, 0.1])
def test_truncated_file(complete_case: TableCase, tmp_path: Path, fraction: float) -> None:
    data = complete_case.path.read_bytes()
    path = tmp_path / "truncated.h5"
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(TableError):
        open_table(path)
    problems = validate_table(path)
    assert problems and "truncated" in problems[0]
    with pytest.raises(TableError):
        TableWriter(path)


def _chunk_byte_range(path: Path, dataset: str) -> tuple[int, int]:
    with h5py.File(path, "r") as handle:
        info = handle[dataset].id.get_chunk_info(0)
    return info.byte_offset, info.size


@pytest.mark.parametrize(
    "dataset",
    [
        "metrics/val_acc",
        "metrics/train_seconds",
        "cost/params",
        "archs/canonical",
        "archs/ops",
        "runs/status",
    ],
)
@pytest.mark.parametrize("where", [0.5, 0.0, 0.999])
def test_flipped_bytes_in_dataset_data_fail_loudly(
    complete_case: TableCase, complete_table, tmp_path: Path, dataset: str, where: float
) -> None:
    path = _copy(complete_case, tmp_path)
    offset, size = _chunk_byte_range(path, dataset)
    data = bytearray(path.read_bytes())
    start = offset + int(size * where)
    for k in range(start, min(start + 3, offset + size)):
        data[k] ^= 0x5A
    path.write_bytes(bytes(data))
    try:
        table = open_table(path)
    except TableError:
        return
    # opened: then validate must object, or every value must be unchanged
    if validate_table(path):
        return
    _assert_same_content(table, complete_table)


@pytest.mark.parametrize(
    "needle,replacement",
    [
        (b"loss is nan at epoch 3", b"loss is NaN at epoch 3"),  # runs/message data
        (b'"width": 4', b'"width": 8'),  # the model attribute
        (b'"name": "synthetic"', b'"name": "symthetic"'),  # the dataset attribute
    ],
)
def test_flipped_string_bytes_are_detected(
    complete_case: TableCase, complete_table, tmp_path: Path, needle: bytes, replacement: bytes
) -> None:
    path = _copy(complete_case, tmp_path)
    data = path.read_bytes()
    assert data.count(needle) == 1 and len(needle) == len(replacement)
    path.write_bytes(data.replace(needle, replacement))
    try:
        table = open_table(path)
    except TableError:
        return
    problems = validate_table(path)
    if problems:
        assert any("checksum mismatch" in p for p in problems)
        return
    _assert_same_content(table, complete_table)


@pytest.mark.parametrize("signature", [b"HEAP", b"SNOD", b"TREE"])
def test_corrupt_hdf5_structure_raises_table_error(
    complete_case: TableCase, tmp_path: Path, signature: bytes
) -> None:
    data = complete_case.path.read_bytes()
    positions = [m.start() for m in re.finditer(re.escape(signature), data)][:4]
    assert positions
    for position in positions:
        corrupt = bytearray(data)
        corrupt[position] ^= 0xFF
        path = tmp_path / f"corrupt-{position}.h5"
        path.write_bytes(bytes(corrupt))
        try:
            open_table(path)
        except TableError:
            continue
        except Exception as exc:  # the bug: anything but TableError escapes
            pytest.fail(f"flipping byte {position} ({signature!r}) raised {type(exc).__name__}: {exc}")
        assert validate_table(path)


def test_schema_version_from_the_future(complete_case: TableCase, tmp_path: Path) -> None:
    path = _copy(complete_case, tmp_path)
    with h5py.File(path, "r+") as handle:
        handle.attrs["schema_version"] = 99
    with pytest.raises(SchemaVersionError, match=r"\b99\b") as info:
        open_table(path)
    assert "upgrade" in str(info.value)
    assert isinstance(info.value, TableError)
    problems = validate_table(path)
    assert len(problems) == 1 and "99" in problems[0]
    with pytest.raises(SchemaVersionError):
        TableWriter(path)


def test_schema_version_not_an_integer(complete_case: TableCase, tmp_path: Path) -> None:
    path = _copy(complete_case, tmp_path)
    with h5py.File(path, "r+") as handle:
        handle.attrs["schema_version"] = "1"
    with pytest.raises(TableError, match="schema_version"):
        open_table(path)


def test_format_attribute_removed(complete_case: TableCase, tmp_path: Path) -> None:
    path = _copy(complete_case, tmp_path)
    with h5py.File(path, "r+") as handle:
        del handle.attrs["format"]
    with pytest.raises(TableError, match="not a nasbench table") as info:
        open_table(path)
    assert not isinstance(info.value, SchemaVersionError)
    with pytest.raises(TableError):
        TableWriter(path)


@pytest.mark.parametrize(
    "name",
    [
        "cost/params",
        "cost/flops",
        "archs/index",
        "archs/ops",
        "archs/canonical",
        "archs/unique",
        "seeds",
        "runs/status",
    ],
)
def test_missing_dataset(complete_case: TableCase, tmp_path: Path, name: str) -> None:
    path = _copy(complete_case, tmp_path)
    with h5py.File(path, "r+") as handle:
        del handle[name]
    with pytest.raises(TableError, match=re.escape(name)):
        open_table(path)
    problems = validate_table(path)
    assert len(problems) == 1 and name in problems[0]


def test_missing_metrics_group(complete_case: TableCase, tmp_path: Path) -> None:
    path = _copy(complete_case, tmp_path)
    with h5py.File(path, "r+") as handle:
        del handle["metrics"]
    with pytest.raises(TableError, match="metrics"):
        open_table(path)


def test_missing_json_attribute(complete_case: TableCase, tmp_path: Path) -> None:
    path = _copy(complete_case, tmp_path)
    with h5py.File(path, "r+") as handle:
        del handle.attrs["protocol"]
    with pytest.raises(TableError, match="protocol"):
        open_table(path)


def test_tampered_value_breaks_checksum(complete_case: TableCase, complete_table, tmp_path: Path) -> None:
    path = _copy(complete_case, tmp_path)
    rep = complete_case.done[0]
    row = int(np.searchsorted(complete_table.unique, rep))
    with h5py.File(path, "r+") as handle:
        handle["metrics/val_acc"][row, 0, -1] = 12.5
    with pytest.raises(TableError, match="checksum mismatch"):
        open_table(path)  # refused on open: an edited value is never answered
    table = open_table(path, verify=False)  # the opt-out for trusted tables
    assert table.query(rep, "val_acc", seed=0) == 12.5
    problems = validate_table(path)
    assert any("checksum mismatch" in p for p in problems)


def test_tampered_cost_breaks_checksum(complete_case: TableCase, tmp_path: Path) -> None:
    path = _copy(complete_case, tmp_path)
    with h5py.File(path, "r+") as handle:
        handle["cost/params"][5] += 1
    assert any("checksum mismatch" in p for p in validate_table(path))


def test_validate_reports_out_of_range_values(
    complete_case: TableCase, complete_table, tmp_path: Path
) -> None:
    path = _copy(complete_case, tmp_path)
    with TableWriter(path) as writer:  # written through the writer: the checksum is resealed
        run = _full_run(4)
        run["val_acc"] = [10.0, 20.0, 30.0, 140.0]
        writer.write_run(complete_case.pending[0], 0, run)
    problems = validate_table(path)
    assert len(problems) == 1 and problems[0].startswith("val_acc outside [0, 100] percent")


# --------------------------------------------------------------------- writer
def test_create_refuses_to_overwrite(complete_case: TableCase, tmp_path: Path) -> None:
    path = _copy(complete_case, tmp_path)
    before = path.read_bytes()
    with pytest.raises(TableError, match="exists"):
        _new_writer(path)
    assert path.read_bytes() == before
    assert not path.with_name(path.name + ".tmp").exists()
    writer = _new_writer(path, overwrite=True)
    writer.close()
    assert path.read_bytes() != before
    table = open_table(path)
    assert table.num_epochs == 2 and table.measured_fraction() == 0.0
    assert validate_table(path) == []


@pytest.mark.parametrize(
    "kwargs,pattern",
    [
        ({"num_epochs": 0}, "num_epochs"),
        ({"seeds": []}, "seeds"),
        ({"seeds": [1, 1]}, "seeds"),
        ({"dtype": "float64"}, "dtype"),
        ({"metrics": ["val_acc", "bad name"]}, "invalid metric name"),
        ({"params": np.ones(10, dtype=np.int64)}, "one value per row"),
    ],
)
def test_create_rejects_bad_arguments(tmp_path: Path, kwargs, pattern: str) -> None:
    path = tmp_path / "bad.h5"
    with pytest.raises(TableError, match=pattern):
        _new_writer(path, **kwargs)
    assert not path.exists()


def test_create_with_no_metrics_is_a_table_error(tmp_path: Path) -> None:
    path = tmp_path / "nometrics.h5"
    with pytest.raises(TableError):
        _new_writer(path, metrics=[])


def test_create_with_unsorted_indices_keeps_costs_aligned(tmp_path: Path) -> None:
    from nasbench.core.space import get_space

    space = get_space("nb201-7op")
    indices = np.random.default_rng(3).choice(space.size, size=50, replace=False)
    assert np.any(np.diff(indices) < 0)
    params, flops = cost_arrays(space, "tiny", indices)
    path = tmp_path / "unsorted.h5"
    _new_writer(path, space=space, indices=indices, params=params, flops=flops).close()
    table = open_table(path)
    for index, p, f in zip(indices.tolist(), params.tolist(), flops.tolist(), strict=True):
        assert (table.query(index, "params"), table.query(index, "flops")) == (p, f)


def test_write_run_rejects_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "w.h5"
    with _new_writer(path) as writer:
        with pytest.raises(MetricError, match=r"'val_accuracy'(?=.*\bval_acc\b)"):
            writer.write_run(0, 0, {"val_accuracy": [1.0, 2.0]})
        with pytest.raises(MetricError, match="at most 2"):
            writer.write_run(0, 0, {"val_acc": [1.0, 2.0, 3.0]})
        with pytest.raises(MetricError, match="at most 2"):
            writer.write_run(0, 0, {"val_acc": [[1.0, 2.0]]})
        with pytest.raises(MetricError, match="seed 5"):
            writer.write_run(0, 5, {"val_acc": [1.0, 2.0]})
        with pytest.raises(ArchitectureError):
            writer.write_run(15625, 0, {"val_acc": [1.0, 2.0]})
        with pytest.raises(ArchitectureError):
            writer.write_run("|bogus~0|", 0, {"val_acc": [1.0, 2.0]})
        assert len(writer.pending_runs()) == 6466 * 2
    table = open_table(path)
    assert table.measured_fraction() == 0.0
    assert np.isnan(table.raw("val_acc")).all()


def test_write_run_rejects_arch_outside_sampled_table(sampled_case: TableCase, tmp_path: Path) -> None:
    path = _copy(sampled_case, tmp_path)
    absent = int(np.setdiff1d(np.arange(1000), sampled_case.indices)[0])
    with TableWriter(path) as writer, pytest.raises(ArchitectureError, match="not in this table"):
        writer.write_run(absent, 3, {"val_acc": [1.0]})
    assert validate_table(path) == []


def test_rejected_write_run_leaves_no_values(tmp_path: Path) -> None:
    path = tmp_path / "partial.h5"
    with _new_writer(path) as writer, pytest.raises(MetricError):
        writer.write_run(0, 0, {"val_acc": [1.0, 2.0], "val_accuracy": [1.0, 2.0]})
    with pytest.raises(NotMeasuredError):
        open_table(path).query(0, "val_acc", seed=0)


def test_pending_runs_shrink_and_reopen_appends(complete_case: TableCase, tablelib, tmp_path: Path) -> None:
    path = _copy(complete_case, tmp_path)
    writer = TableWriter(path)
    pending = writer.pending_runs()
    total = 6466 * 2
    assert len(pending) == total - 2 * len(complete_case.done) - 2
    assert set(pending) >= {(rep, s) for rep in complete_case.pending for s in (0, 1)}
    assert (complete_case.half, 1) in pending and (complete_case.half, 0) not in pending
    assert (complete_case.failed[0], 1) not in pending and (complete_case.failed[0], 0) in pending
    assert all((rep, s) not in pending for rep in complete_case.done for s in (0, 1))
    assert pending == sorted(pending)

    rng = np.random.default_rng(99)
    appended: dict[tuple[int, int], dict[str, np.ndarray]] = {}
    for k, (rep, seed) in enumerate(pending[:5]):
        run = tablelib.synthetic_run(rng, 4)
        writer.write_run(rep, seed, run)
        appended[(rep, seed)] = run
        assert len(writer.pending_runs()) == len(pending) - k - 1
        assert (rep, seed) not in writer.pending_runs()
    writer.close()
    writer.close()  # idempotent

    assert validate_table(path) == []
    table = open_table(path)
    for (rep, seed), run in appended.items():
        np.testing.assert_array_equal(table.curve(rep, "val_loss", seed=seed), run["val_loss"])
    # what was there before is untouched
    rep = complete_case.done[0]
    assert table.query(rep, "val_acc", seed=0) == complete_case.expected(rep, "val_acc", -1, 0)
    assert table.checksum != open_table(complete_case.path).checksum


def test_unclosed_writer_leaves_stale_checksum(complete_case: TableCase, tmp_path: Path) -> None:
    path = _copy(complete_case, tmp_path)
    writer = TableWriter(path)
    writer.write_run(complete_case.pending[0], 0, _full_run(4))
    writer.flush()
    try:
        assert any("checksum mismatch" in p for p in validate_table(path))
    finally:
        writer.close()
    assert validate_table(path) == []


def test_write_run_through_member_fills_the_class(tmp_path: Path) -> None:
    space = CellSpace()
    canonical = space.canonical_indices()
    counts = np.bincount(canonical, minlength=space.size)
    rep = int(np.nonzero(counts >= 3)[0][5])
    members = np.nonzero(canonical == rep)[0]
    path = tmp_path / "member.h5"
    with _new_writer(path) as writer:
        writer.write_run(str(space.from_index(int(members[-1]))), 1, _full_run(2, offset=3.0))
        assert (rep, 1) not in writer.pending_runs()
    table = open_table(path)
    for member in members.tolist():
        assert table.query(member, "val_acc", seed=1) == 14.0
    assert validate_table(path) == []


def test_set_attr(tmp_path: Path) -> None:
    path = tmp_path / "attr.h5"
    with _new_writer(path) as writer:
        writer.set_attr("fidelity", {"kendall_tau": 0.75})
        for reserved in ("format", "schema_version", "checksum"):
            with pytest.raises(TableError, match=reserved):
                writer.set_attr(reserved, 2)
    assert open_table(path).fidelity == {"kendall_tau": 0.75}
    assert validate_table(path) == []


def test_float16_table(tmp_path: Path) -> None:
    path = tmp_path / "half.h5"
    with _new_writer(path, dtype="float16") as writer:
        writer.write_run(0, 0, {name: [33.3333, 66.6666] for name in EPOCH_METRICS})
    table = open_table(path)
    assert table.query(0, "val_acc", seed=0) == float(np.float16(66.6666))
    assert table.query(0, "val_acc", epoch=0, seed=0) == float(np.float16(33.3333))


def test_tables_written_separately_are_byte_identical(tablelib, tmp_path: Path) -> None:
    build_sampled_table = tablelib.build_sampled_table
    first = build_sampled_table(tmp_path / "one" / "t.h5", seed=11)
    second = build_sampled_table(tmp_path / "two" / "t.h5", seed=11)
    assert first.path.read_bytes() == second.path.read_bytes()
    third = build_sampled_table(tmp_path / "three" / "t.h5", seed=11, created="2024-05-02T00:00:00+00:00")
    assert third.path.read_bytes() != first.path.read_bytes()
    assert open_table(third.path).provenance["created"] == "2024-05-02T00:00:00+00:00"


def test_no_pickled_or_opaque_data(complete_case: TableCase, sampled_case: TableCase) -> None:
    for path in (complete_case.path, sampled_case.path):
        seen: list[str] = []
        with h5py.File(path, "r") as handle:

            def check(name: str, item, seen=seen) -> None:
                for attr in item.attrs:
                    value = item.attrs[attr]
                    assert isinstance(value, (str, np.integer)), (name, attr, type(value))
                    assert attr in ("format", "checksum", "unit", "description") or not isinstance(
                        value, bytes
                    )
                if isinstance(item, h5py.Dataset):
                    seen.append(name)
                    if name == "runs/message":
                        assert h5py.check_string_dtype(item.dtype).encoding == "utf-8"
                    else:
                        assert item.dtype.kind in "iuf", (name, item.dtype)
                        assert h5py.check_dtype(vlen=item.dtype) is None
                        assert h5py.check_opaque_dtype(item.dtype) is False

            check("/", handle)
            handle.visititems(check)
        assert "runs/message" in seen and "metrics/val_acc" in seen


# --------------------------------------------------------------------- devices
def test_write_device(complete_case: TableCase, tmp_path: Path) -> None:
    path = _copy(complete_case, tmp_path)
    latency = np.random.default_rng(4).uniform(0.2, 3.0, 15625)
    description = {"cpu": "synthetic", "threads": 1, "torch": "2.x"}
    with TableWriter(path) as writer:
        writer.write_device("cpu-1t", description, {"latency_ms_b1": latency})
        with pytest.raises(MetricError, match="one value per row"):
            writer.write_device("cpu-1t", description, {"latency_ms_b8": latency[:-1]})
        with pytest.raises(TableError, match="device id"):
            writer.write_device("cpu 1t", description, {"latency_ms_b1": latency})
    assert validate_table(path) == []
    table = open_table(path)
    name = "cpu-1t/latency_ms_b1"
    assert table.devices["cpu-1t"] == description
    assert name in table.metric_names
    stored = latency.astype(np.float32).astype(np.float64)
    for index in (0, 1234, 15624):
        assert table.query(index, name) == stored[index]
    np.testing.assert_array_equal(table.metric(name), stored)
    frame = table.to_pandas()
    np.testing.assert_array_equal(frame[name].to_numpy(), stored)
    with pytest.raises(MetricError):
        table.query(0, "cpu-1t/latency_ms_b8")


def test_rejected_write_device_leaves_no_device(complete_case: TableCase, tmp_path: Path) -> None:
    path = _copy(complete_case, tmp_path)
    with TableWriter(path) as writer, pytest.raises(MetricError):
        writer.write_device("gpu-0", {"gpu": "x"}, {"latency_ms_b1": np.ones(3)})
    assert open_table(path).devices == {}


def test_sampled_device_metric(sampled_case: TableCase, sampled_table) -> None:
    assert sampled_table.devices == {"cpu-1t": {"cpu": "synthetic", "threads": 1}}
    values = sampled_table.metric("cpu-1t/latency_ms_b1")
    assert values.shape == (300,) and np.all(values > 0)
    index = int(sampled_case.indices[10])
    assert sampled_table.query(index, "cpu-1t/latency_ms_b1") == values[10]


# --------------------------------------------------------------------- pandas
def test_to_pandas(complete_case: TableCase, complete_table) -> None:
    frame = complete_table.to_pandas()
    assert len(frame) == 15625
    assert list(frame.columns[:5]) == ["index", "arch", "canonical_index", "params_m", "flops_m"]
    assert set(frame.columns[5:]) == set(EPOCH_METRICS)
    np.testing.assert_array_equal(frame["index"].to_numpy(), np.arange(15625))
    np.testing.assert_array_equal(frame["canonical_index"].to_numpy(), complete_case.canonical)
    np.testing.assert_array_equal(frame["params_m"].to_numpy(), complete_case.params / 1e6)
    space = complete_case.space
    for row in (0, 1, 777, 11718, 15624):
        assert space.index(frame["arch"].iloc[row]) == row
    assert [space.index(a) for a in frame["arch"].iloc[::97]] == list(range(0, 15625, 97))
    np.testing.assert_array_equal(frame["val_acc"].to_numpy(), complete_table.metric("val_acc"))
    middle = complete_table.to_pandas(epoch=1)
    np.testing.assert_array_equal(middle["test_loss"].to_numpy(), complete_table.metric("test_loss", epoch=1))
    rep = complete_case.done[0]
    assert frame["val_acc"].iloc[rep] == complete_case.expected(rep, "val_acc", -1, None)


def test_repr(complete_table) -> None:
    text = repr(complete_table)
    assert "archs=15625" in text and "unique=6466" in text and "epochs=4" in text


def test_architecture_type_round_trip(complete_table) -> None:
    arch = Architecture(("nor_conv_3x3",) * 6)
    assert complete_table.row(arch) == complete_table.space.index(str(arch)) == 11718


# --------------------------------------------------------------------- provenance and helpers
def test_provenance_records_the_installed_versions(tmp_path: Path) -> None:
    """The core layer reads torch's version from package metadata (it never imports torch);
    the value is the one torch itself reports."""
    import importlib.metadata

    import nasbench

    with _new_writer(tmp_path / "p.h5") as writer:
        pass
    provenance = open_table(writer.path).provenance
    assert provenance["torch_version"] == importlib.metadata.version("torch")
    assert provenance["nasbench_version"] == nasbench.__version__
    assert provenance["numpy_version"] == np.__version__
    assert provenance["h5py_version"] == h5py.__version__


def test_one_line_folds_messages() -> None:
    assert one_line(ValueError("first line\n  second\tline ")) == "first line second line"
    assert one_line("already one line") == "already one line"
    assert one_line(KeyError()) == ""

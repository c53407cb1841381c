"""The pickle-family importers (NAS-Bench-201 ``.pth``, NATS-Bench tss, NAS-Bench-360,
NASLib, HW-NAS-Bench) on fixture files in each exact layout (``import_fixtures``):
values land in the right row by architecture string, seeds and epochs are kept, NaN
where the source has nothing, nothing in a file is ever run, damaged files raise one
clear error, and streaming keeps memory flat however many architectures a file holds.
"""

from __future__ import annotations

import bz2
import hashlib
import io
import json
import pickle
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import import_fixtures as fx
import numpy as np
import pytest

from nasbench.core.errors import ConfigError, TableError
from nasbench.core.schema import STATUS_DONE, STATUS_PENDING
from nasbench.core.table import open_table, validate_table
from nasbench.generation.importers.hwnas import read_hwnas
from nasbench.generation.importers.naslib import read_naslib
from nasbench.generation.importers.nats import read_nats_tss, read_nb360
from nasbench.generation.importers.nb201 import read_nb201
from nasbench.generation.importers.safe_pickle import (
    ARRAY_GLOBALS,
    DATA_GLOBALS,
    TORCH_GLOBALS,
    load_restricted,
    stream_records,
)
from nasbench.generation.importers.write import write_imported

SPACE = fx.SPACE
Reader = Callable[[Path], object]
#: Rows of this package's space that the fixtures hold (NAS-Bench-201's index 0 among them).
ROWS = sorted({0, 1, 777, 3_125, 9_999, 15_624, SPACE.index(fx.NB201_FIRST)})
ABSENT = 2  # a row no fixture holds


def _by_name(tables: list, hp: str | None = None) -> dict:
    return {(t.dataset["name"], t.protocol["hp"]): t for t in tables if hp is None or t.protocol["hp"] == hp}


def _sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("import-fixtures")
    return {
        "legacy": fx.write_nb201_pth(root / "NAS-Bench-201-v1_1-096897.pth", ROWS),
        "zip": fx.write_nb201_pth(root / "nb201-zip.pth", ROWS, zip_format=True, hps=("less",)),
        "v1.0": fx.write_nb201_pth(root / "NAS-Bench-201-v1_0-e61699.pth", ROWS[:3], version="v1.0"),
        "nats": fx.write_nats_tss(root / "NATS-tss-v1_0-3ffb9.pickle.pbz2", ROWS),
        "nats-dir": fx.write_nats_tss(root / "NATS-tss-v1_0-3ffb9-simple", ROWS, fast=True),
    }


# ------------------------------------------------------------------------ NAS-Bench-201
def test_nb201_12_epoch_values_land_in_their_rows_by_string(files: dict[str, Path]) -> None:
    tables = _by_name(read_nb201(files["legacy"], hps=["12"]))
    assert set(tables) == {
        (name, "12") for name in ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")
    }
    c100 = tables[("cifar100", "12")]
    assert c100.epochs == list(range(1, 13)) and c100.seeds == [111] and c100.seed_axis == {"kind": "runs"}
    assert set(c100.metrics) == {
        f"{part}_{kind}" for part in ("train", "val", "test") for kind in ("acc", "loss")
    } | {
        "train_seconds",
        "eval_seconds",
    }
    for row in ROWS:
        index = fx.nb201_index(row)
        for epoch in (0, 5, 11):
            expect = {
                "train_acc": fx.value("acc", "train", index, "cifar100", 111, epoch),
                "train_seconds": fx.value("seconds", "train", index, "cifar100", 111, epoch),
                "val_acc": fx.value("acc", "x-valid", index, "cifar100", 111, epoch),
                "val_loss": fx.value("loss", "x-valid", index, "cifar100", 111, epoch),
                "eval_seconds": fx.value("seconds", "x-valid", index, "cifar100", 111, epoch),
                "test_acc": fx.value("acc", "x-test", index, "cifar100", 111, epoch),
                "test_loss": fx.value("loss", "x-test", index, "cifar100", 111, epoch),
            }
            for name, number in expect.items():
                assert c100.metrics[name][row, 0, epoch] == np.float32(number), (name, row, epoch)
    absent = [row for row in range(SPACE.size) if row not in ROWS]
    assert np.isnan(c100.metrics["val_acc"][absent]).all()
    assert (c100.status[ROWS] == STATUS_DONE).all() and (c100.status[absent] == STATUS_PENDING).all()
    # the benchmark's own index, read from meta_archs (a shuffle), by string
    assert c100.source_order == "nb201"
    assert c100.source_index[SPACE.index(fx.NB201_FIRST)] == 0
    assert all(c100.source_index[row] == fx.nb201_index(row) for row in [*ROWS, ABSENT])
    assert sorted(c100.source_index.tolist()) == list(range(SPACE.size))
    assert c100.model == {
        "width": 16,
        "cells_per_stage": 5,
        "input_channels": 3,
        "resolution": 32,
        "num_classes": 100,
    }
    assert tables[("ImageNet16-120", "12")].model["resolution"] == 16
    assert c100.protocol["epochs"] == 12 and c100.protocol["batch_size"] == 256
    c100.check()


def test_nb201_provenance_costs_and_latency(files: dict[str, Path]) -> None:
    table = _by_name(read_nb201(files["legacy"], datasets=["cifar100"], hps=["less"]))[("cifar100", "12")]
    source = table.source
    assert source["file"] == files["legacy"].name and "/" not in source["file"]
    assert source["sha256"] == _sha256(files["legacy"])
    assert (
        source["container"] == "torch legacy"
        and source["licence"] == "MIT"
        and "NAS-Bench-201" in source["citation"]
    )
    assert source["val"] == "cifar100/x-valid" and source["test"] == "cifar100/x-test"
    # a file without every cell leaves the costs to this package's builder (the writer)
    assert table.params is None and table.flops is None
    description, values = table.devices["nb201-gpu"]
    assert description["batch_size"] == 256
    row = ROWS[3]
    assert values["latency_ms_b256"][row] == pytest.approx(
        1000 * fx.latency_s(fx.nb201_index(row), "cifar100", 111)
    )
    assert np.isnan(values["latency_ms_b256"][ABSENT])


def test_nb201_cifar10_pairs_the_search_run_with_the_cifar10_test_run(files: dict[str, Path]) -> None:
    tables = _by_name(read_nb201(files["legacy"], datasets=["cifar10", "cifar10-valid"], hps=["12"]))
    paired, valid = tables[("cifar10", "12")], tables[("cifar10-valid", "12")]
    assert paired.seeds == valid.seeds == [111, 777]
    row = ROWS[2]
    index = fx.nb201_index(row)
    for column, seed in enumerate([111, 777]):
        assert paired.metrics["val_acc"][row, column, 11] == np.float32(
            fx.value("acc", "x-valid", index, "cifar10-valid", seed, 11)
        )
        assert paired.metrics["train_loss"][row, column, 3] == np.float32(
            fx.value("loss", "train", index, "cifar10-valid", seed, 3)
        )
        assert valid.metrics["test_acc"][row, column, 11] == np.float32(
            fx.value("acc", "ori-test", index, "cifar10-valid", seed, 11)
        )
    assert paired.metrics["test_acc"][row, 0, 11] == np.float32(
        fx.value("acc", "ori-test", index, "cifar10", 111, 11)
    )
    assert np.isnan(paired.metrics["test_acc"][row, 1]).all()  # cifar10 has no seed-777 run
    assert (paired.status[row] == STATUS_DONE).all()  # both search runs were read
    assert paired.source["val"] == "cifar10-valid/x-valid" and paired.source["test"] == "cifar10/ori-test"
    assert paired.metrics["val_acc"] is valid.metrics["val_acc"]  # shared, not copied


def test_nb201_200_epochs_keep_every_seed_and_nan_where_sets_were_not_evaluated(
    files: dict[str, Path],
) -> None:
    table = _by_name(read_nb201(files["legacy"], datasets=["cifar100"], hps=["200"]))[("cifar100", "200")]
    assert table.epochs == list(range(1, 201)) and table.seeds == [777, 888, 999]
    for row in ROWS:
        index = fx.nb201_index(row)
        have = fx.seeds_200(index)
        for column, seed in enumerate(table.seeds):
            if seed not in have:
                assert np.isnan(table.metrics["train_acc"][row, column]).all()
                assert table.status[row, column] == STATUS_PENDING
                continue
            assert table.status[row, column] == STATUS_DONE
            assert table.metrics["train_acc"][row, column, 150] == np.float32(
                fx.value("acc", "train", index, "cifar100", seed, 150)
            )
            assert table.metrics["val_acc"][row, column, 199] == np.float32(
                fx.value("acc", "x-valid", index, "cifar100", seed, 199)
            )
            assert np.isnan(table.metrics["val_acc"][row, column, :199]).all()  # only the last epoch
            assert table.metrics["eval_seconds"][row, column, 20] == np.float32(
                fx.value("seconds", "x-valid", index, "cifar100", seed, 20)
            )


def test_nb201_zip_container_reads_like_the_legacy_one(files: dict[str, Path]) -> None:
    legacy = _by_name(read_nb201(files["legacy"], hps=["12"]))
    zipped = _by_name(read_nb201(files["zip"]))
    assert set(zipped) == set(legacy)
    for key, table in zipped.items():
        assert table.source["container"] == "torch zip"
        assert table.seeds == legacy[key].seeds
        for name, values in table.metrics.items():
            np.testing.assert_array_equal(values, legacy[key].metrics[name])


def test_nb201_v1_0_has_12_epochs_on_cifar10_valid_only_and_no_200_epoch_times(
    files: dict[str, Path],
) -> None:
    tables = _by_name(read_nb201(files["v1.0"], datasets=["cifar10-valid", "cifar10", "cifar100"]))
    assert (
        ("cifar10-valid", "12") in tables
        and ("cifar100", "12") not in tables
        and ("cifar10", "12") not in tables
    )
    full = tables[("cifar100", "200")]
    assert "train_seconds" not in full.metrics and "eval_seconds" not in full.metrics
    row = ROWS[1]
    index = fx.nb201_index(row)
    assert full.metrics["test_acc"][row, 0, 199] == np.float32(
        fx.value("acc", "x-test", index, "cifar100", 777, 199)
    )
    assert "train_seconds" in tables[("cifar10-valid", "12")].metrics


def test_nb201_filters_are_checked(files: dict[str, Path]) -> None:
    with pytest.raises(ConfigError, match="no dataset cifar11"):
        read_nb201(files["legacy"], datasets=["cifar11"])
    assert read_nb201(files["legacy"], hps=["90"]) == []


def test_an_imported_nb201_table_writes_and_validates(files: dict[str, Path], tmp_path: Path) -> None:
    table = _by_name(read_nb201(files["legacy"], datasets=["cifar100"], hps=["12"]))[("cifar100", "12")]
    table.params = np.full(SPACE.size, 1000, dtype=np.int64)  # skip computing real costs: not the point here
    table.flops = np.full(SPACE.size, 2000, dtype=np.int64)
    path = write_imported(table, tmp_path / "nb201-cifar100-hp12.h5")
    assert validate_table(path) == []
    opened = open_table(path)
    assert opened.source_row("nb201", 0) == SPACE.index(fx.NB201_FIRST)
    assert opened.source["file"] == files["legacy"].name


# ------------------------------------------------------------------------ NATS-Bench tss
def test_nats_whole_file_and_fast_directory_read_like_nb201(files: dict[str, Path]) -> None:
    reference = _by_name(read_nb201(files["legacy"], hps=["12"]))
    whole = _by_name(read_nats_tss(files["nats"], hps=["12"]))
    fast = _by_name(read_nats_tss(files["nats-dir"], hps=["12"]))
    assert set(whole) == set(fast) == set(reference)
    for key, table in whole.items():
        for name, values in table.metrics.items():
            np.testing.assert_array_equal(values, reference[key].metrics[name])
            np.testing.assert_array_equal(fast[key].metrics[name], values)
        np.testing.assert_array_equal(table.source_index, reference[key].source_index)
    assert whole[("cifar10", "12")].source["form"] == "whole file"
    assert whole[("cifar10", "12")].source["sha256"] == _sha256(files["nats"])
    assert fast[("cifar10", "12")].source["form"] == "fast-mode directory"
    assert fast[("cifar10", "12")].source["sha256"].startswith("sha256-tree:")
    assert "nats-gpu" in whole[("cifar100", "12")].devices


def test_nats_size_space_is_refused_with_one_clear_error(tmp_path: Path) -> None:
    path = fx.write_nats_sss(tmp_path / "NATS-sss-v1_0-50262.pickle.pbz2")
    with pytest.raises(TableError, match="size space") as error:
        read_nats_tss(path)
    assert "\n" not in str(error.value)
    directory = tmp_path / "NATS-sss-v1_0-50262-simple"
    directory.mkdir()
    with bz2.open(path, "rb") as handle:
        archs = pickle.load(handle)["meta_archs"]
    assert len(archs) == 32_768
    meta = {"meta_archs": archs, "total_archs": len(archs), "arch2infos": None, "evaluated_indexes": set()}
    with bz2.open(directory / "meta.pickle.pbz2", "wb") as handle:
        pickle.dump(meta, handle, protocol=4)
    with pytest.raises(TableError, match="size space"):
        read_nats_tss(directory)


def test_nats_fast_directory_names_a_damaged_architecture_file(tmp_path: Path) -> None:
    directory = fx.write_nats_tss(tmp_path / "simple", ROWS[:2], fast=True)
    victim = directory / f"{fx.nb201_index(ROWS[1]):06d}.pickle.pbz2"
    victim.write_bytes(victim.read_bytes()[:200])
    with pytest.raises(TableError, match=victim.name):
        read_nats_tss(directory, hps=["12"])
    (directory / "meta.pickle.pbz2").unlink()
    with pytest.raises(TableError, match="fast-mode"):
        read_nats_tss(directory, hps=["12"])


# ------------------------------------------------------------------------ NAS-Bench-360
@pytest.mark.parametrize("compress", [True, False])
def test_nb360_ninapro_keeps_ori_test_as_test_and_has_no_validation(tmp_path: Path, compress: bool) -> None:
    path = fx.write_nb360(tmp_path / "NATS-tss-v1_0-daa55.pickle.pbz2", ROWS, compress=compress)
    (table,) = read_nb360(path)
    assert table.dataset["name"] == "ninapro" and table.seeds == [777] and table.epochs == list(range(1, 13))
    assert set(table.metrics) == {"train_acc", "train_loss", "train_seconds", "test_acc", "test_loss"}
    assert "ori-test" in table.dataset["val"] and table.source["val"] is None
    row = ROWS[4]
    index = fx.nb201_index(row)
    assert table.metrics["test_acc"][row, 0, 7] == np.float32(
        fx.value("acc", "ori-test", index, "ninapro", 777, 7)
    )
    assert table.model["num_classes"] == 18 and table.protocol["batch_size"] == 256
    assert "latency_ms_b256" in table.devices["nb360-gpu"][1]


def test_nb360_darcyflow_keeps_the_relative_l2_error_as_loss_and_no_accuracy(tmp_path: Path) -> None:
    path = fx.write_nb360(
        tmp_path / "NATS-tss-v1_0-48858.pickle.pbz2", ROWS[:3], dataset="darcyflow", hps=("12", "200")
    )
    tables = _by_name(read_nb360(path))
    assert set(tables) == {("darcyflow", "12"), ("darcyflow", "200")}
    table = tables[("darcyflow", "200")]
    assert set(table.metrics) == {"train_loss", "train_seconds", "test_loss"}
    assert "relative L2" in table.dataset["losses"] and table.protocol["batch_size"] == 16
    row = ROWS[0]
    expect = fx.value("loss", "ori-test", fx.nb201_index(row), "darcyflow", 777, 123)
    assert table.metrics["test_loss"][row, 0, 123] == np.float32(expect)


def test_nb360_refuses_a_file_without_its_tasks(files: dict[str, Path]) -> None:
    with pytest.raises(TableError, match="NinaPro or Darcy Flow"):
        read_nb360(files["nats-dir"])


# ------------------------------------------------------------------------ NASLib
def test_naslib_curves_land_by_string_and_val_is_its_one_eval_curve(tmp_path: Path) -> None:
    path = fx.write_naslib(
        tmp_path / "nb201_cifar10_full_training.pickle", ROWS, datasets=("cifar10-valid", "cifar100")
    )
    tables = {t.dataset["name"]: t for t in read_naslib(path)}
    assert set(tables) == {"cifar10-valid", "cifar100"}
    table = tables["cifar100"]
    assert table.epochs == list(range(1, 201)) and table.seeds == [0]
    assert table.metrics["test_acc"] is table.metrics["val_acc"] and "not held out" in table.dataset["test"]
    row = ROWS[5]
    index = fx.nb201_index(row)
    assert table.metrics["val_acc"][row, 0, 42] == np.float32(
        fx.value("acc", "x-valid", index, "cifar100", 0, 42)
    )
    assert table.metrics["train_loss"][row, 0, 199] == np.float32(
        fx.value("loss", "train", index, "cifar100", 0, 199)
    )
    per_epoch = fx.value("seconds", "train", index, "cifar100", 0, 0)
    assert (table.metrics["train_seconds"][row, 0] == np.float32(per_epoch)).all()
    assert np.isnan(table.metrics["val_acc"][ABSENT]).all() and table.source_index is None
    assert table.params is None  # not every cell: the writer counts them
    assert table.devices["nb201-gpu"][1]["latency_ms_b256"][row] == pytest.approx(
        1000 * fx.latency_s(index, "cifar100", 0)
    )
    assert table.source["sha256"] == _sha256(path)


def test_naslib_refuses_unknown_layouts(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.pickle"
    wrong.write_bytes(pickle.dumps({fx.NB201_FIRST: {"mnist": {}}}))
    with pytest.raises(TableError, match="unknown dataset 'mnist'"):
        read_naslib(wrong)
    wrong.write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(TableError, match="not a NASLib"):
        read_naslib(wrong)
    wrong.write_bytes(pickle.dumps({"|bogus~0|": {}}))
    with pytest.raises(TableError, match="not a NAS-Bench-201 cell"):
        read_naslib(wrong)


# ------------------------------------------------------------------------ HW-NAS-Bench
@pytest.mark.parametrize("arrays", [False, True])
def test_hwnas_devices_map_by_architecture_string(tmp_path: Path, arrays: bool) -> None:
    missing = fx.nb201_index(ROWS[2])
    path = fx.write_hwnas(
        tmp_path / "HW-NAS-Bench-v1_0.pickle", arrays=arrays, missing=("pixel3_latency", missing)
    )
    devices = read_hwnas(path, dataset="cifar100")
    assert set(devices) == {
        f"hwnas-{name}" for name in ("edgegpu", "raspi4", "edgetpu", "pixel3", "eyeriss", "fpga")
    }
    assert set(devices["hwnas-eyeriss"][1]) == {"latency_ms", "energy_mj", "arithmetic_intensity"}
    for row in ROWS:
        index = fx.nb201_index(row)
        assert devices["hwnas-edgegpu"][1]["energy_mj"][row] == fx.hwnas_value(
            "edgegpu_energy", index, "cifar100"
        )
        assert devices["hwnas-fpga"][1]["latency_ms"][row] == fx.hwnas_value(
            "fpga_latency", index, "cifar100"
        )
    description, values = devices["hwnas-pixel3"]
    assert np.isnan(values["latency_ms"][ROWS[2]]) and description["not_measured"] == {"latency_ms": 1}
    assert description["file"] == path.name and description["sha256"] == _sha256(path)
    assert all(values.shape == (SPACE.size,) for _, series in devices.values() for values in series.values())


def test_hwnas_checks_dataset_and_layout(tmp_path: Path) -> None:
    path = fx.write_hwnas(tmp_path / "hw.pickle")
    with pytest.raises(ConfigError, match="ImageNet16-120"):
        read_hwnas(path, dataset="imagenet")
    wrong = tmp_path / "wrong.pickle"
    wrong.write_bytes(pickle.dumps({"nasbench201": {"cifar10": {"edgegpu_latency": [1.0] * 15_625}}}))
    with pytest.raises(TableError, match="network config"):
        read_hwnas(wrong, dataset="cifar10")
    wrong.write_bytes(pickle.dumps({"fbnet": {}}))
    with pytest.raises(TableError, match="not an HW-NAS-Bench file"):
        read_hwnas(wrong, dataset="cifar10")


def test_naslib_complete_file_gives_the_files_costs(tmp_path: Path) -> None:
    path = fx.write_naslib(tmp_path / "nb201_ImageNet16_full_training.pickle", range(SPACE.size), epochs=2,
                           datasets=("ImageNet16-120",))  # fmt: skip
    (table,) = read_naslib(path)
    assert table.epochs == [1, 2] and table.model["resolution"] == 16 and table.model["num_classes"] == 120
    for row in (0, 4_321, 15_624):
        index = fx.nb201_index(row)
        assert table.params[row] == round(fx.params_m(index, "ImageNet16-120") * 1e6)
        assert table.flops[row] == round(fx.flop_m(index, "ImageNet16-120") * 1e6)
    assert (table.run_status() == STATUS_DONE).all()


def test_nb201_complete_costs_are_the_files_rounded() -> None:
    from nasbench.generation.importers.nb201 import _costs, _Grid

    grid = _Grid(SPACE.size, 12, set())
    grid.params_m[:] = 0.802426
    grid.flops_m[:] = np.linspace(7.78305, 220.11969, SPACE.size)
    params, flops = _costs(grid)
    assert params is not None and flops is not None
    assert (params == 802_426).all() and flops[0] == 7_783_050 and flops[-1] == 220_119_690
    grid.params_m[5] = np.nan
    assert _costs(grid) == (None, None)


def test_progress_bars_are_optional(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    read_nb201(files["zip"], datasets=["cifar100"], progress=True)
    read_nats_tss(files["nats-dir"], datasets=["cifar100"], hps=["12"], progress=True)
    err = capsys.readouterr().err
    assert "scanning nb201-zip.pth" in err and "reading NATS-tss-v1_0-3ffb9-simple" in err
    read_nb201(files["zip"], datasets=["cifar100"])
    assert capsys.readouterr().err == ""


# ------------------------------------------------------------------------ safety
@pytest.mark.parametrize(
    ("wrap", "reader"),
    [
        ("torch", lambda p: read_nb201(p)),
        ("bz2", lambda p: read_nats_tss(p)),
        ("plain", lambda p: read_nb360(p)),
        ("plain", lambda p: read_naslib(p)),
        ("plain", lambda p: read_hwnas(p, dataset="cifar10")),
    ],
)
def test_a_pickle_that_would_run_a_command_is_refused_and_nothing_runs(
    tmp_path: Path, wrap: str, reader: Reader
) -> None:
    marker = tmp_path / "RAN"
    path = fx.write_malicious(tmp_path / "evil.pkl", wrap=wrap, marker=marker)
    if wrap == "plain":  # control: a plain unpickle really runs the command
        control = "import pickle, sys; pickle.loads(open(sys.argv[1], 'rb').read())"
        subprocess.run([sys.executable, "-c", control, str(path)], check=False, capture_output=True)
        assert marker.exists()
        marker.unlink()
    assert b"system" in (path.read_bytes() if wrap != "bz2" else bz2.decompress(path.read_bytes()))
    with pytest.raises(TableError, match=r"refused to load global '(posix|os|nt)\.system'") as error:
        reader(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)
    assert not marker.exists()


def test_allow_lists_are_minimal_and_codecs_encode_is_latin1_only() -> None:
    assert DATA_GLOBALS == {
        ("collections", "OrderedDict"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "dtype"),
    }
    assert TORCH_GLOBALS - DATA_GLOBALS == {("_codecs", "encode")}
    sneaky = pickle.dumps(b"x", protocol=2).replace(b"latin1", b"base64")  # _codecs.encode('x', 'base64')
    with pytest.raises(TableError, match="corrupt or not a pickle"):
        load_restricted(io.BytesIO(sneaky), "f", allowed=TORCH_GLOBALS)
    for module, name in [("builtins", "eval"), ("numpy", "load"), ("collections", "Counter")]:
        evil = b"\x80\x02c" + f"{module}\n{name}\n".encode() + b"."
        with pytest.raises(TableError, match=f"refused to load global '{module}.{name}'"):
            load_restricted(io.BytesIO(evil), "f", allowed=ARRAY_GLOBALS)


# ------------------------------------------------------------------------ damaged files
def _damaged(tmp_path: Path, files: dict[str, Path]) -> list[tuple[Path, str]]:
    import torch

    data = files["legacy"].read_bytes()
    cases = {
        "truncated.pth": (data[: len(data) // 2], "truncated|corrupt"),
        "garbage.pth": (b"\x00\x01not a pickle at all" * 10, "corrupt|torch"),
        "empty.pth": (b"", "truncated|corrupt|torch"),
        "flipped.pth": (data[:5000] + bytes([data[5000] ^ 0xFF]) + data[5001:20000], "."),
    }
    out = []
    for name, (content, pattern) in cases.items():
        (tmp_path / name).write_bytes(content)
        out.append((tmp_path / name, pattern))
    torch.save([1, 2, 3], tmp_path / "a-list.pth", _use_new_zipfile_serialization=False)
    out.append((tmp_path / "a-list.pth", "not a NAS-Bench-201 file"))
    torch.save({"meta_archs": ["x"], "arch2infos": {}}, tmp_path / "short-meta.pth")
    out.append((tmp_path / "short-meta.pth", "meta_archs must list all 15625"))
    return out


def test_damaged_or_wrong_nb201_files_raise_one_clear_error(files: dict[str, Path], tmp_path: Path) -> None:
    for path, pattern in _damaged(tmp_path, files):
        with pytest.raises(TableError, match=pattern) as error:
            read_nb201(path, hps=["12"])
        message = str(error.value)
        assert message.startswith(str(path)) and "\n" not in message, message
    with pytest.raises(TableError, match="no such file"):
        read_nb201(tmp_path / "missing.pth")


@pytest.mark.parametrize(
    "reader",
    [lambda p: read_naslib(p), lambda p: read_hwnas(p, dataset="cifar10"), lambda p: read_nb360(p)],
)
def test_truncated_plain_pickles_raise_one_clear_error(tmp_path: Path, reader: Reader) -> None:
    path = fx.write_naslib(tmp_path / "whole.pickle", ROWS[:2], epochs=3)
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(TableError, match=r"truncated|corrupt") as error:
        reader(path)
    assert str(error.value).startswith(str(path)) and "\n" not in str(error.value)


def test_damaged_nats_files_raise_one_clear_error(files: dict[str, Path], tmp_path: Path) -> None:
    data = files["nats"].read_bytes()
    truncated = tmp_path / "truncated.pickle.pbz2"
    truncated.write_bytes(data[: len(data) // 2])
    plain_truncated = tmp_path / "truncated.pickle"
    plain_truncated.write_bytes(bz2.decompress(data)[:30_000])
    wrong = tmp_path / "wrong.pickle.pbz2"
    wrong.write_bytes(bz2.compress(pickle.dumps({"hello": "world"}, protocol=4)))
    for path, pattern in [
        (truncated, "truncated|corrupt"),
        (plain_truncated, "truncated"),
        (wrong, "not a NATS"),
    ]:
        with pytest.raises(TableError, match=pattern) as error:
            read_nats_tss(path)
        assert str(error.value).startswith(str(path)) and "\n" not in str(error.value)


# ------------------------------------------------------------------------ streaming
def test_streaming_matches_plain_unpickling_for_every_protocol_and_shared_objects() -> None:
    shared_key, shared_list = "x-valid@0", [1.5, 2.5]
    records = {
        index: {
            "all_results": {"k": index},
            "arch_str": f"a{index}",
            "names": shared_list,
            shared_key: index * 0.5,
        }
        for index in range(30)
    }
    records[29]["names"] = shared_list  # fetched after 28 records were released
    obj = {"meta": list(range(10)), "arch2infos": records, "big": "z" * (5 << 20), "tail": shared_list}
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        data = pickle.dumps(obj, protocol=protocol)
        seen: list = []
        top, stats = stream_records(
            lambda data=data: io.BytesIO(data),
            "mem",
            is_record=lambda value: isinstance(value, dict) and "all_results" in value,
            consume=lambda record, key, seen=seen: seen.append((key, record)),
        )
        assert [key for key, _ in seen] == list(range(30)), protocol
        assert [record for _, record in seen] == [records[i] for i in range(30)], protocol
        assert top["arch2infos"] == dict.fromkeys(range(30)) and top["tail"] == shared_list
        assert top["big"] == obj["big"] and stats.records == 30
        assert stats.kept_fetches > 0  # shared objects were fetched after records were released


#: Reads a fixture in a fresh interpreter; prints its peak RSS (KiB: VmHWM, which unlike
#: ru_maxrss does not start from the forking parent's) and the most memo slots held at once.
_MEASURE = """
import json, resource, sys
from nasbench.core.space import CellSpace
from nasbench.generation.importers.nb201 import Nb201Collector, nb201_specs
from nasbench.generation.importers.safe_pickle import TORCH_GLOBALS, stream_records, torch_object_pickle
path = sys.argv[1]
collector = Nb201Collector(CellSpace(), list(nb201_specs().values()), {"12"}, path)
_, stats = stream_records(lambda: torch_object_pickle(path, path, []), path,
                          is_record=Nb201Collector.is_state, consume=collector.consume, allowed=TORCH_GLOBALS)
try:
    peak = int(next(line for line in open("/proc/self/status") if line.startswith("VmHWM")).split()[1])
except OSError:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rss_kib": peak, "memo": stats.memo_peak, "kept_fetches": stats.kept_fetches}))
"""


def _measure(path: Path) -> dict[str, int]:
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path)], capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_streaming_memory_does_not_grow_with_the_number_of_architectures(tmp_path: Path) -> None:
    """Both settings of every architecture are parsed (only hp 12 is kept, so the output
    arrays are small): 30 more architectures of about 1 MB each in memory must not show."""
    rng = np.random.default_rng(0)
    large = sorted(rng.choice(SPACE.size, 36, replace=False).tolist())
    small = large[:6]
    measured = {}
    for name, rows in (("small", small), ("large", large)):
        path = fx.write_nb201_pth(tmp_path / f"{name}.pth", rows)
        measured[name] = _measure(path)
    # memo slots: meta_archs' strings plus one architecture's worth, whatever the count;
    # key strings shared across architectures were kept and fetched after releases
    assert measured["large"]["memo"] - measured["small"]["memo"] < 5_000, measured
    assert measured["large"]["kept_fetches"] > measured["small"]["kept_fetches"] > 0, measured
    # peak RSS: flat (holding the 30 extra architectures would add about 30 MiB)
    assert measured["large"]["rss_kib"] - measured["small"]["rss_kib"] < 8 * 1024, measured


def test_the_readers_import_no_higher_layer() -> None:
    code = (
        "import sys; import nasbench.generation.importers.nb201, nasbench.generation.importers.nats, "
        "nasbench.generation.importers.naslib, nasbench.generation.importers.hwnas; "
        "bad = [m for m in sys.modules if m.startswith(('nasbench.bench', 'nasbench.search', "
        "'nasbench.reporting', 'nasbench.cli'))]; print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr

"""Writing an :class:`~nasbench.generation.importers.records.ImportedBenchmark` as a table.

One writer for every importer: shapes are checked before anything is written, costs the
source lacks are computed with this package's model builder, and the table is built
under a temporary name and moved into place only when complete and sealed, so a failed
import leaves no partial output and never touches an existing file it was not told to
replace.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.core.errors import TableError
from nasbench.core.schema import COMPACT_DTYPES
from nasbench.core.table_writer import TableWriter
from nasbench.generation.importers.records import ImportedBenchmark

__all__ = ["add_devices", "file_sha256", "write_all", "write_imported"]


def file_sha256(path: str | os.PathLike[str], chunk_bytes: int = 1 << 20) -> str:
    """``sha256:<hex>`` of a file's bytes, read in chunks (sources can be gigabytes)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while block := handle.read(chunk_bytes):
                digest.update(block)
    except OSError as exc:
        raise TableError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return "sha256:" + digest.hexdigest()


def _model(imported: ImportedBenchmark) -> dict[str, Any]:
    """The macro skeleton, completed with the defaults (NAS-Bench-201's CIFAR-10 network)."""
    from nasbench.nets.models import MacroConfig

    return MacroConfig.from_dict(dict(imported.model)).to_dict()


def _costs(imported: ImportedBenchmark, model: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    if imported.params is not None and imported.flops is not None:
        return np.asarray(imported.params, dtype=np.int64), np.asarray(imported.flops, dtype=np.int64)
    from nasbench.nets.models import MacroConfig, cost_arrays

    params, flops = cost_arrays(imported.space, MacroConfig.from_dict(model))
    if imported.params is not None:
        params = np.asarray(imported.params, dtype=np.int64)
    if imported.flops is not None:
        flops = np.asarray(imported.flops, dtype=np.int64)
    return params, flops


def write_imported(
    imported: ImportedBenchmark,
    out: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    created: str | None = None,
) -> Path:
    """Write ``imported`` as the table ``out`` (values per architecture index) and
    return its path. Refuses an existing ``out`` unless ``overwrite``."""
    target = Path(out)
    if target.is_dir():
        raise TableError(f"{target}: is a directory")
    if target.exists() and not overwrite:
        raise TableError(f"{target}: file exists (pass --overwrite to replace it)")
    imported.check()
    model = _model(imported)
    params, flops = _costs(imported, model)
    temporary = target.with_name(f".{target.name}.importing")
    dtypes: dict[str, Any] = {name: COMPACT_DTYPES.get(name, "float32") for name in imported.metrics}
    dtypes.update({name: "float32" for name in imported.metrics if name.endswith("_acc")})
    try:
        writer = TableWriter.create(
            temporary,
            space=imported.space,
            model=model,
            dataset=imported.dataset,
            protocol=imported.protocol,
            seeds=imported.seeds,
            num_epochs=len(imported.epochs),
            params=params,
            flops=flops,
            metrics=list(imported.metrics),
            dtype=dtypes,
            overwrite=True,
            created=created,
            values_per="architecture",
            epochs=imported.epochs,
            seed_axis=imported.seed_axis,
            source=imported.source,
            source_index=imported.source_index,
            source_order=imported.source_order,
        )
        try:
            status = imported.run_status()
            for name, values in imported.metrics.items():
                writer.write_metric_block(name, values)
            writer.write_status_block(status)
            for device_id, (description, values) in imported.devices.items():
                writer.write_device(device_id, description, values)
        finally:
            writer.close()
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target


def write_all(
    pairs: list[tuple[ImportedBenchmark, Path]], *, overwrite: bool = False, created: str | None = None
) -> list[Path]:
    """Write several tables from one source all or nothing: each is built under a
    temporary name, and only when every one succeeded are they moved into place."""
    for _, target in pairs:
        if target.exists() and not overwrite:
            raise TableError(f"{target}: file exists (pass --overwrite to replace it)")
    if len({target.resolve() for _, target in pairs}) != len(pairs):
        raise TableError("two imported tables would get the same file name")
    staged: list[tuple[Path, Path]] = []
    try:
        for imported, target in pairs:
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = target.with_name(f".{target.name}.staged")
            write_imported(imported, staging, overwrite=True, created=created)
            staged.append((staging, target))
        for staging, target in staged:
            os.replace(staging, target)
    finally:
        for staging, _ in staged:
            staging.unlink(missing_ok=True)
    return [target for _, target in pairs]


def add_devices(
    table_path: str | os.PathLike[str],
    devices: dict[str, tuple[dict[str, Any], dict[str, np.ndarray]]],
    *,
    overwrite: bool = False,
) -> Path:
    """Add per-architecture device measurements (in the space's index order, every
    architecture) to an existing table: written into a copy that replaces the table
    only when complete and re-sealed, so a failure leaves the table as it was."""
    import shutil

    from nasbench.core.table import open_table

    target = Path(table_path)
    table = open_table(target)
    if table.num_archs != table.space.size:
        raise TableError(f"{target}: device measurements need a table of every architecture of its space")
    for device_id, (_, values) in devices.items():
        for name in values:
            if f"{device_id}/{name}" in table.metric_names and not overwrite:
                raise TableError(f"{target}: already has {device_id}/{name} (pass --overwrite to replace it)")
    staging = target.with_name(f".{target.name}.adding")
    try:
        shutil.copyfile(target, staging)
        with TableWriter(staging) as writer:
            for device_id, (description, values) in devices.items():
                writer.write_device(device_id, description, values)
        os.replace(staging, target)
    finally:
        staging.unlink(missing_ok=True)
    return target

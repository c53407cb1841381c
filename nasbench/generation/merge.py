"""Merging shard tables: tables of one space, model, dataset and protocol into one.

Shards come from ``generate(..., shard=(i, n))`` runs on several machines; each holds the
same rows and seeds with a different part of the runs recorded. Merging can also rewrite
the metrics in a compact storage type (:data:`~nasbench.core.schema.COMPACT_DTYPES`).
Every input's checksum is verified before anything is written, so a table edited after it
was sealed is refused rather than re-sealed with a new, valid checksum.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nasbench.core.errors import ConfigError, TableError
from nasbench.core.schema import STATUS_DONE, STATUS_FAILED, STATUS_PENDING
from nasbench.core.table import Table, open_table
from nasbench.core.table_file import open_h5, verify_content
from nasbench.core.table_writer import TableWriter

__all__ = ["merge_tables"]

logger = logging.getLogger(__name__)


def merge_tables(
    out: str | os.PathLike[str],
    inputs: Sequence[str | os.PathLike[str]],
    *,
    overwrite: bool = False,
    dtype: str | dict[str, str] | None = None,
) -> dict[str, int]:
    """Combine tables of the same space, model, dataset and protocol (shards) into one.

    A run recorded in several inputs is taken from the first that has it (its wall-clock
    ``train_seconds`` differ between runs anyway); device rows likewise. ``dtype`` (a
    type, or a mapping metric -> type such as :data:`~nasbench.core.schema.COMPACT_DTYPES`)
    rewrites the metrics in that storage type; None keeps the first input's.
    """
    if len(inputs) < 1:
        raise ConfigError("inputs must name at least one table to merge")
    target = Path(out)
    if target.exists() and not overwrite:
        raise TableError(f"{target}: file exists (pass overwrite=True to replace it)")
    if target.is_dir():
        raise TableError(f"{target}: is a directory, not a table file")
    # Every input's checksum is verified, whatever NASBENCH_NO_VERIFY says: a table edited
    # after it was sealed is refused here, never re-sealed by the writer below.
    tables = [open_table(path, verify=True) for path in inputs]
    first = tables[0]
    for other in tables[1:]:
        for key in ("space", "model", "dataset", "protocol"):
            a = first.space.to_dict() if key == "space" else getattr(first, key)
            b = other.space.to_dict() if key == "space" else getattr(other, key)
            if a != b:
                raise TableError(
                    f"{other.path} holds a table of another {key} than {first.path}; cannot merge"
                )
        if not (np.array_equal(first.indices, other.indices) and np.array_equal(first.seeds, other.seeds)):
            raise TableError(
                f"{other.path} covers other architectures or seeds than {first.path}; cannot merge"
            )
    status = first.run_status.copy()
    messages = (
        first.run_messages if first.run_messages is not None else np.full(status.shape, "", dtype=object)
    ).astype(object)
    values = {name: first.raw(name) for name in first.epoch_metrics}
    overlapping = 0
    for other in tables[1:]:
        incoming = other.run_status != STATUS_PENDING
        overlapping += int(np.sum(incoming & (status != STATUS_PENDING)))
        take = incoming & (status == STATUS_PENDING)
        for name in first.epoch_metrics:
            values[name][take] = other.raw(name)[take]
        if other.run_messages is not None:
            messages[take] = other.run_messages[take]
        status[take] = other.run_status[take]
    if overlapping:
        logger.info("%d runs recorded in several inputs: each taken from the first that has it", overlapping)
    temporary = target.with_name(target.name + ".tmp")
    try:
        _write_merged(temporary, first, tables, values, status, messages, dtype)
        os.replace(temporary, target)
    except OSError as exc:
        raise TableError(f"{target}: cannot write the merged table ({exc.strerror or exc})") from None
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
    return {
        "runs_done": int(np.sum(status == STATUS_DONE)),
        "runs_failed": int(np.sum(status == STATUS_FAILED)),
        "runs_pending": int(np.sum(status == STATUS_PENDING)),
        "runs_in_several_inputs": overlapping,
    }


def _write_merged(
    temporary: Path,
    first: Table,
    tables: Sequence[Table],
    values: dict[str, np.ndarray],
    status: np.ndarray,
    messages: np.ndarray,
    dtype: str | dict[str, str] | None,
) -> None:
    """Write the merged table at ``temporary``: a copy of the first input (checked to be
    the content that was verified when it was opened) or a new file in ``dtype``, then
    every run, device and the provenance."""
    if dtype is None:
        shutil.copyfile(first.path, temporary)
        with open_h5(temporary, "r") as handle:
            verify_content(handle, f"{first.path} (changed while merging)", str(first.checksum))
    else:
        TableWriter.create(
            temporary,
            space=first.space,
            model=first.model,
            dataset=first.dataset,
            protocol=first.protocol,
            seeds=first.seeds.tolist(),
            num_epochs=first.num_epochs,
            params=first.params,
            flops=first.flops,
            indices=None if first.num_archs == first.space.size else first.indices,
            metrics=first.epoch_metrics,
            dtype=dtype,
            overwrite=True,
            created=first.provenance.get("created"),
            provenance=first.provenance,
        ).close()
    with TableWriter(temporary) as writer:
        for name, block in values.items():
            writer.write_metric_block(name, block)
        writer.write_status_block(status, messages)
        for device_id in sorted({d for t in tables for d in t.devices}):
            owners = [t for t in tables if device_id in t.devices]
            merged: dict[str, np.ndarray] = {}
            for table in owners:
                for name in table.metric_names:
                    if not name.startswith(device_id + "/"):
                        continue
                    column = name.split("/", 1)[1]
                    data = table.metric(name)
                    if column not in merged:
                        merged[column] = data.copy()
                    else:
                        gap = np.isnan(merged[column])
                        merged[column][gap] = data[gap]
            writer.write_device(device_id, owners[0].devices[device_id], merged)
        provenance = dict(first.provenance)
        provenance["merged_from"] = [Path(t.path).name for t in tables]
        writer.set_attr("provenance", provenance)
        if first.fidelity is not None and dtype is not None:
            writer.set_attr("fidelity", first.fidelity)

"""Merging shard tables: tables of one space, model, dataset and protocol into one.

Shards come from ``generate(..., shard=(i, n))`` runs on several machines; each holds the
same rows and seeds with a different part of the runs recorded. Tables of the same rows
that differ only in their seeds (a table extended by ``generate --seeds 2`` into a new
file) merge into one table holding the union of the seeds, in the order the inputs name
them; its protocol lists them all, and a stored fidelity study (measured on fewer seeds)
is dropped: run ``nasbench fidelity`` on the merged table. Merging can also rewrite
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
from typing import Any

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
        _check_compatible(first, other)
    seeds = _seed_union(tables)
    status = np.full((first.unique.shape[0], len(seeds)), STATUS_PENDING, dtype=np.int8)
    messages = np.full(status.shape, "", dtype=object)
    shape = (*status.shape, first.num_epochs)
    values = {name: np.full(shape, np.nan) for name in first.epoch_metrics}
    overlapping = 0
    for table in tables:
        columns = [seeds.index(int(seed)) for seed in table.seeds]
        incoming = table.run_status != STATUS_PENDING
        overlapping += int(np.sum(incoming & (status[:, columns] != STATUS_PENDING)))
        take = incoming & (status[:, columns] == STATUS_PENDING)
        for name in first.epoch_metrics:
            block = values[name][:, columns]
            block[take] = table.raw(name)[take]
            values[name][:, columns] = block
        if table.run_messages is not None:
            block = messages[:, columns]
            block[take] = table.run_messages[take]
            messages[:, columns] = block
        block = status[:, columns]
        block[take] = table.run_status[take]
        status[:, columns] = block
    if overlapping:
        logger.info("%d runs recorded in several inputs: each taken from the first that has it", overlapping)
    temporary = target.with_name(target.name + ".tmp")
    try:
        if seeds == [int(seed) for seed in first.seeds]:
            _write_merged(temporary, first, tables, values, status, messages, dtype)
        else:
            _write_merged(temporary, first, tables, values, status, messages, dtype or {}, seeds)
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


def _check_compatible(first: Table, other: Table) -> None:
    """Refuse ``other`` unless it holds the rows of ``first`` under the same space, model,
    dataset and protocol (the protocol's seeds may differ)."""
    for key in ("space", "model", "dataset", "protocol"):
        a = first.space.to_dict() if key == "space" else getattr(first, key)
        b = other.space.to_dict() if key == "space" else getattr(other, key)
        if key == "protocol":
            a, b = _without_seeds(a), _without_seeds(b)
        if a != b:
            raise TableError(f"{other.path} holds a table of another {key} than {first.path}; cannot merge")
    if not np.array_equal(first.indices, other.indices):
        raise TableError(f"{other.path} covers other architectures than {first.path}; cannot merge")
    if other.num_epochs != first.num_epochs or other.epoch_metrics != first.epoch_metrics:
        raise TableError(f"{other.path} records other epochs or metrics than {first.path}; cannot merge")
    kinds = {str(t.seed_axis.get("kind", "runs")) for t in (first, other)}
    if kinds != {"runs"} and not np.array_equal(first.seeds, other.seeds):
        raise TableError(f"{other.path}: seed columns of kind {sorted(kinds)} cannot be merged by seed")


def _without_seeds(protocol: Any) -> Any:
    """A protocol mapping without its ``seeds`` (the one entry a seed union may change)."""
    return {k: v for k, v in protocol.items() if k != "seeds"} if isinstance(protocol, dict) else protocol


def _seed_union(tables: Sequence[Table]) -> list[int]:
    """Every input's seeds, each once, in the order the inputs name them."""
    seeds: list[int] = []
    for table in tables:
        seeds += [int(seed) for seed in table.seeds if int(seed) not in seeds]
    return seeds


def _write_merged(
    temporary: Path,
    first: Table,
    tables: Sequence[Table],
    values: dict[str, np.ndarray],
    status: np.ndarray,
    messages: np.ndarray,
    dtype: str | dict[str, str] | None,
    seeds: list[int] | None = None,
) -> None:
    """Write the merged table at ``temporary``: a copy of the first input (checked to be
    the content that was verified when it was opened) or a new file in ``dtype`` (an
    empty mapping keeps the first input's storage types), then every run, device and the
    provenance. ``seeds``, when given, are the merged table's seeds (a seed union)."""
    if dtype == {}:
        with open_h5(first.path, "r") as handle:
            dtype = {name: str(handle[f"metrics/{name}"].dtype) for name in first.epoch_metrics}
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
            protocol=first.protocol if seeds is None else {**first.protocol, "seeds": seeds},
            seeds=first.seeds.tolist() if seeds is None else seeds,
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
        if first.fidelity is not None and dtype is not None and seeds is None:
            writer.set_attr("fidelity", first.fidelity)

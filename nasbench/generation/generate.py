"""The generator: train every canonical architecture of a space and record it.

Jobs are (class representative, seed) pairs. They run in local worker processes (a Dask
``LocalCluster``, one thread each), on an existing Dask cluster, or in this process; this
process is the one writer.

Crash safety: every finished job is appended to a journal next to the table
(``OUT.journal``, one JSON line each, flushed and fsynced). At checkpoints the journal is
applied to a copy of the table, the copy is sealed and moved over the table in one rename,
and only then is the journal emptied. A kill at any moment leaves a table that opens and
validates plus a journal whose complete lines are replayed on the next run; replaying an
entry already in the table writes the same values again, and a job is scheduled only if
neither the table nor the journal holds it.

Device probes (latency, peak memory) run in this process after training, with nothing else
running, once per distinct (class, params, FLOPs) and shared by the rows that have it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.core.errors import ConfigError, TableError
from nasbench.core.space import CellSpace, get_space
from nasbench.core.table import STATUS_DONE, STATUS_FAILED, STATUS_PENDING, TableWriter, open_table
from nasbench.nets.train import Protocol, get_protocol

__all__ = [
    "GENERATOR_DEFAULTS",
    "GenerateSummary",
    "generate",
    "merge_tables",
    "parse_shard",
    "run_training_job",
    "select_classes",
]

#: Probe settings used unless a preset says otherwise.
DEFAULT_PROBE: dict[str, Any] = {"batch_sizes": (1, 256), "train_batch_size": 256, "warmup": 3, "repeats": 10}

#: Per-preset generator defaults: how many classes to train (None = all) and probe settings.
GENERATOR_DEFAULTS: dict[str, dict[str, Any]] = {
    "tiny": {
        "limit": 48,
        "probe": {"batch_sizes": (1, 64), "train_batch_size": 64, "warmup": 2, "repeats": 5},
    },
    "cpu-small": {"limit": None, "probe": DEFAULT_PROBE},
    "fmnist-cpu": {"limit": None, "probe": DEFAULT_PROBE},
    "nb201": {"limit": None, "probe": DEFAULT_PROBE},
}

ORDER_SEED = 0


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"i/n"`` -> (i, n) with 0 <= i < n; None stays None."""
    if text is None:
        return None
    parts = text.split("/")
    try:
        index, count = (int(part) for part in parts)
    except ValueError:
        raise ConfigError(f"--shard must look like i/n (for example 0/4), got {text!r}") from None
    if count < 1 or not 0 <= index < count:
        raise ConfigError(f"--shard {text}: need 0 <= i < n (shards are numbered from 0)")
    return index, count


def select_classes(
    unique: np.ndarray, limit: int | None, shard: tuple[int, int] | None, order_seed: int = ORDER_SEED
) -> np.ndarray:
    """Representatives to train: the first ``limit`` classes in a seeded random order,
    then every n-th of them for shard i/n. A larger limit extends a smaller one."""
    order = np.random.default_rng(order_seed).permutation(unique.shape[0])
    chosen = unique[order]
    if limit is not None:
        if limit < 0:
            raise ConfigError(f"--limit must be >= 0, got {limit}")
        if limit > 0:
            chosen = chosen[:limit]
    if shard is not None:
        index, count = shard
        chosen = chosen[index::count]
    return chosen


def _table_id(space: dict[str, Any], protocol: dict[str, Any], dataset: dict[str, Any]) -> str:
    text = json.dumps({"space": space, "protocol": protocol, "dataset": dataset}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --------------------------------------------------------------------- worker side
def run_training_job(payload: dict[str, Any]) -> dict[str, Any]:
    """Train one (architecture, seed); runs on a worker. One torch thread per job."""
    import torch

    from nasbench.nets.train import train_architecture

    protocol = Protocol.from_dict(payload["protocol"])
    space = CellSpace.from_dict(payload["space"])
    data = protocol.load_data(payload.get("data_dir"))
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    started = time.perf_counter()
    try:
        result = train_architecture(payload["index"], payload["seed"], protocol, data=data, space=space)
    finally:
        torch.set_num_threads(previous_threads)
    return {
        "kind": "run",
        "table_id": payload["table_id"],
        "index": payload["index"],
        "seed": payload["seed"],
        "metrics": result.metrics,
        "failed": result.failed,
        "job_seconds": time.perf_counter() - started,
    }


# --------------------------------------------------------------------- journal
class Journal:
    """Append-only JSON-lines record of finished jobs; a torn last line is ignored."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, sort_keys=True) + "\n"
        with open(self.path, "a+b") as handle:
            handle.seek(0, os.SEEK_END)
            if handle.tell() > 0:
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) != b"\n":
                    line = "\n" + line  # close a line torn by a kill; read() skips it
            handle.seek(0, os.SEEK_END)
            handle.write(line.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        entries = []
        with open(self.path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.endswith("\n"):
                    break  # torn write from a kill: the job reruns
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue  # a torn line closed by a later append
                if isinstance(entry, dict) and "kind" in entry:
                    entries.append(entry)
        return entries

    def clear(self) -> None:
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text("")
        os.replace(temporary, self.path)


def _fsync_path(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())
    with contextlib.suppress(OSError):
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def _apply_entries(writer: TableWriter, entries: Sequence[dict[str, Any]], table_id: str) -> int:
    """Write journal entries into an open writer; returns how many applied."""
    applied = 0
    devices: dict[str, tuple[dict[str, Any], dict[str, np.ndarray]]] = {}
    for entry in entries:
        if entry.get("table_id") != table_id:
            continue
        if entry["kind"] == "run":
            writer.write_run(entry["index"], entry["seed"], entry["metrics"], failed=entry["failed"])
            applied += 1
        elif entry["kind"] == "probe":
            device_id = entry["device"]
            if device_id not in devices:
                stored = {k: v.astype(np.float64) for k, v in writer.device_values(device_id).items()}
                devices[device_id] = (entry["description"], stored)
            _, stored = devices[device_id]
            rows = np.asarray(entry["rows"], dtype=np.int64)
            for name, value in entry["values"].items():
                if name not in stored:
                    stored[name] = np.full(writer.indices.shape[0], np.nan)
                stored[name][rows] = value
            applied += 1
    for device_id, (description, stored) in devices.items():
        writer.write_device(device_id, description, stored)
    return applied


def checkpoint(out: Path, journal: Journal, table_id: str) -> int:
    """Apply the journal to the table atomically; returns the entries applied."""
    entries = journal.read()
    if not entries:
        if journal.path.exists() and journal.path.stat().st_size:
            journal.clear()  # only torn fragments: nothing to keep
        return 0
    temporary = out.with_name(out.name + ".tmp")
    shutil.copyfile(out, temporary)
    try:
        with TableWriter(temporary) as writer:
            applied = _apply_entries(writer, entries, table_id)
        _fsync_path(temporary)
        os.replace(temporary, out)
    finally:
        temporary.unlink(missing_ok=True)
    journal.clear()
    return applied


# --------------------------------------------------------------------- driver
@dataclass
class GenerateSummary:
    """What one ``generate`` call did."""

    out: str
    classes_selected: int
    runs_scheduled: int
    runs_done: int = 0
    runs_failed: int = 0
    runs_errored: int = 0
    probes_scheduled: int = 0
    probes_done: int = 0
    wall_seconds: float = 0.0
    job_seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dict(self.__dict__)


@contextlib.contextmanager
def _exclusive(out: Path) -> Iterator[None]:
    lock_path = out.with_name(out.name + ".lock")
    handle = open(lock_path, "a+")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise TableError(f"{out}: another nasbench generate is writing this table") from None
        yield
    finally:
        handle.close()


def _open_or_create(out: Path, space: CellSpace, protocol: Protocol, dataset_info: dict[str, Any]) -> None:
    from nasbench.nets.models import cost_arrays

    model = protocol.model_config()
    wanted = {
        "space": space.to_dict(),
        "model": model.to_dict(),
        "dataset": dataset_info,
        "protocol": protocol.to_dict(),
    }
    if out.exists():
        table = open_table(out)
        held = {
            "space": table.space.to_dict(),
            "model": table.model,
            "dataset": table.dataset,
            "protocol": table.protocol,
        }
        for key in ("space", "model", "protocol", "dataset"):
            if held[key] != wanted[key]:
                differing = sorted(
                    k for k in set(held[key]) | set(wanted[key]) if held[key].get(k) != wanted[key].get(k)
                )
                raise TableError(
                    f"{out} holds a table of another {key} (differs in: {', '.join(differing)}); "
                    f"refusing to mix results: choose another --out"
                )
        return
    params, flops = cost_arrays(space, model)
    TableWriter.create(
        out,
        space=space,
        model=model.to_dict(),
        dataset=dataset_info,
        protocol=protocol.to_dict(),
        seeds=protocol.seeds,
        num_epochs=protocol.epochs,
        params=params,
        flops=flops,
    ).close()


def _progress(total: int, desc: str, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit="run" if desc == "train" else "net",
        disable=not enabled,
        file=sys.stderr,
        dynamic_ncols=True,
        smoothing=0.1,
    )


def generate(
    out: str | os.PathLike[str],
    protocol: str | Protocol = "tiny",
    *,
    space: CellSpace | str | None = None,
    limit: int | None = None,
    shard: tuple[int, int] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    data_dir: str | None = None,
    probes: bool = True,
    probe_settings: dict[str, Any] | None = None,
    checkpoint_seconds: float = 30.0,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> GenerateSummary:
    """Train the selected classes x seeds not yet in ``out`` and record them (resumable).

    ``workers=0`` trains in this process; ``workers=N`` starts a local Dask cluster of N
    single-threaded processes (default: one per core); ``scheduler`` uses an existing
    Dask cluster instead (its workers must see the same data files).
    """

    started = time.perf_counter()
    target = Path(out)
    cell_space = get_space(space)
    recipe = get_protocol(protocol)
    if isinstance(protocol, str):
        defaults = GENERATOR_DEFAULTS.get(protocol, {})
        limit = defaults.get("limit") if limit is None else limit
        probe_settings = defaults.get("probe") if probe_settings is None else probe_settings
    if workers is not None and workers < 0:
        raise ConfigError(f"--workers must be >= 0, got {workers}")
    if limit is not None and limit < 0:
        raise ConfigError(f"--limit must be >= 0, got {limit}")
    if shard is not None and not (isinstance(shard, tuple) and len(shard) == 2 and 0 <= shard[0] < shard[1]):
        raise ConfigError(f"shard must be (i, n) with 0 <= i < n, got {shard!r}")
    if checkpoint_seconds < 0:
        raise ConfigError(f"--checkpoint-seconds must be >= 0, got {checkpoint_seconds}")
    data = recipe.load_data(data_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    journal = Journal(target.with_name(target.name + ".journal"))
    with _exclusive(target):
        target.with_name(target.name + ".tmp").unlink(missing_ok=True)
        _open_or_create(target, cell_space, recipe, data.info)
        table_id = _table_id(cell_space.to_dict(), recipe.to_dict(), data.info)
        checkpoint(target, journal, table_id)
        table = open_table(target)
        chosen = select_classes(table.unique, limit, shard)
        row_of_class = {int(c): k for k, c in enumerate(table.unique)}
        jobs = [
            (int(c), int(s))
            for c in chosen
            for k, s in enumerate(table.seeds)
            if table.run_status[row_of_class[int(c)], k] == STATUS_PENDING
        ]
        summary = GenerateSummary(
            out=str(target), classes_selected=int(chosen.shape[0]), runs_scheduled=len(jobs)
        )
        payload_base = {
            "protocol": recipe.to_dict(),
            "space": cell_space.to_dict(),
            "table_id": table_id,
            "data_dir": None if data_dir is None else str(data_dir),
        }
        last_checkpoint = time.perf_counter()

        def record(entry: dict[str, Any]) -> None:
            nonlocal last_checkpoint
            journal.append(entry)
            if time.perf_counter() - last_checkpoint >= checkpoint_seconds:
                checkpoint(target, journal, table_id)
                last_checkpoint = time.perf_counter()

        bar = _progress(len(jobs), "train", progress)
        try:
            for outcome in _execute(jobs, payload_base, workers, scheduler):
                if isinstance(outcome, str):
                    summary.runs_errored += 1
                    summary.errors.append(outcome)
                else:
                    record(outcome)
                    summary.job_seconds += outcome.pop("job_seconds", 0.0)
                    if outcome["failed"]:
                        summary.runs_failed += 1
                    else:
                        summary.runs_done += 1
                bar.update(1)
        finally:
            bar.close()
            checkpoint(target, journal, table_id)
        if probes:
            settings = dict(probe_settings or DEFAULT_PROBE)
            _run_probes(
                target, journal, table_id, chosen, cell_space, recipe, settings, summary, record, progress
            )
            checkpoint(target, journal, table_id)
    summary.wall_seconds = time.perf_counter() - started
    if log is not None and summary.errors:
        for message in summary.errors[:5]:
            log(message)
    return summary


def _execute(
    jobs: Sequence[tuple[int, int]], payload_base: dict[str, Any], workers: int | None, scheduler: str | None
) -> Iterator[dict[str, Any] | str]:
    """Run jobs, yielding each result as it arrives, or a one-line error for a job that raised."""
    if not jobs:
        return
    payloads = ({**payload_base, "index": index, "seed": seed} for index, seed in jobs)
    if workers == 0 and scheduler is None:
        for payload in payloads:
            try:
                yield run_training_job(payload)
            except Exception as exc:  # a job that raises is reported, the others go on
                yield _job_error(payload, exc)
        return
    from distributed import as_completed

    from nasbench.generation.cluster import connect

    client, cluster = connect(workers or os.cpu_count() or 1, scheduler)
    try:
        slots = 2 * max(1, sum(client.nthreads().values()))
        futures = as_completed()
        payload_of: dict[str, dict[str, Any]] = {}

        def submit_next() -> bool:
            payload = next(payloads, None)
            if payload is None:
                return False
            future = client.submit(
                run_training_job,
                payload,
                pure=False,
                key=f"train-{payload['index']}-{payload['seed']}-{time.monotonic_ns()}",
            )
            payload_of[future.key] = payload
            futures.add(future)
            return True

        for _ in range(slots):
            if not submit_next():
                break
        for future in futures:
            payload = payload_of.pop(future.key)
            try:
                yield future.result()
            except Exception as exc:
                yield _job_error(payload, exc)
            submit_next()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _job_error(payload: dict[str, Any], exc: BaseException) -> str:
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    place = f" ({Path(where.filename).name}:{where.lineno})" if where else ""
    text = " ".join(str(exc).split())
    return f"job (arch {payload['index']}, seed {payload['seed']}) raised {type(exc).__name__}: {text}{place}"


def _run_probes(
    out: Path,
    journal: Journal,
    table_id: str,
    chosen: np.ndarray,
    space: CellSpace,
    protocol: Protocol,
    settings: dict[str, Any],
    summary: GenerateSummary,
    record: Callable[[dict[str, Any]], None],
    progress: bool,
) -> None:
    """Measure latency and memory on every device, once per distinct (class, cost)."""
    from nasbench.nets.hardware import available_devices, probe

    table = open_table(out)
    selected = np.isin(table.canonical, chosen)
    config = protocol.model_config()
    groups: dict[tuple[int, int, int], list[int]] = {}
    for row in np.nonzero(selected)[0].tolist():
        key = (int(table.canonical[row]), int(table.params[row]), int(table.flops[row]))
        groups.setdefault(key, []).append(row)
    work: list[tuple[Any, list[int]]] = []
    for device in available_devices():
        measured = f"{device.device_id}/latency_ms_b{settings['batch_sizes'][0]}"
        have = table.metric(measured) if measured in table.metric_names else None
        for rows in groups.values():
            if have is None or np.isnan(have[rows[0]]):
                work.append((device, rows))
    summary.probes_scheduled = len(work)
    bar = _progress(len(work), "probe", progress)
    try:
        for device, rows in work:
            index = int(table.indices[rows[0]])
            values = probe(
                index,
                config,
                space,
                device,
                batch_sizes=tuple(settings["batch_sizes"]),
                train_batch_size=settings["train_batch_size"],
                warmup=settings["warmup"],
                repeats=settings["repeats"],
            )
            record(
                {
                    "kind": "probe",
                    "table_id": table_id,
                    "device": device.device_id,
                    "description": device.describe(),
                    "rows": rows,
                    "values": {k: float(v) for k, v in values.items()},
                }
            )
            summary.probes_done += 1
            bar.update(1)
    finally:
        bar.close()


# --------------------------------------------------------------------- merging shards
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
    type, or a mapping metric -> type such as :data:`~nasbench.core.table.COMPACT_DTYPES`)
    rewrites the metrics in that storage type; None keeps the first input's.
    """
    if len(inputs) < 1:
        raise ConfigError("merge needs at least one input table")
    target = Path(out)
    if target.exists() and not overwrite:
        raise TableError(f"{target}: file exists (pass --overwrite to replace it)")
    tables = [open_table(path) for path in inputs]
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
    temporary = target.with_name(target.name + ".tmp")
    if dtype is None:
        shutil.copyfile(first.path, temporary)
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
    try:
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
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return {
        "runs_done": int(np.sum(status == STATUS_DONE)),
        "runs_failed": int(np.sum(status == STATUS_FAILED)),
        "runs_pending": int(np.sum(status == STATUS_PENDING)),
        "runs_in_several_inputs": overlapping,
    }

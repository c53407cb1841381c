"""The generator: train every canonical architecture of a space and record it.

Jobs are (class representative, seed) pairs. They run in local worker processes (a Dask
``LocalCluster``, one thread each), on an existing Dask cluster, or in this process; this
process is the one writer.

Crash safety: every finished job is appended to a journal next to the table and applied
at checkpoints (:mod:`nasbench.generation.journal`), so a kill at any moment leaves a table
that opens and validates; a job is scheduled only if neither the table nor the journal
holds it. Shards of one table generated apart are combined by
:func:`~nasbench.generation.merge.merge_tables` (re-exported here).

Device probes (latency, peak memory) run in this process after training, with nothing else
running, once per distinct (class, params, FLOPs) and shared by the rows that have it.

Diagnostics (resumed work, failed or errored runs, probes skipped) go to the
``nasbench.generation.generate`` logger; progress bars go to stderr.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.core.errors import ConfigError, TableError, one_line
from nasbench.core.options import shorten
from nasbench.core.schema import STATUS_PENDING
from nasbench.core.space import CellSpace, get_space
from nasbench.core.table import open_table
from nasbench.core.table_writer import TableWriter
from nasbench.core.validation import Integer, Optional, Real, validate
from nasbench.generation.journal import HEADROOM_BYTES, Journal, checkpoint, require_space
from nasbench.generation.merge import merge_tables
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

#: Seed of the order in which classes are selected (a larger limit extends a smaller one).
ORDER_SEED = 0

logger = logging.getLogger(__name__)


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"i/n"`` -> (i, n) with 0 <= i < n; None stays None."""
    if text is None:
        return None
    parts = text.split("/")
    try:
        index, count = (int(part) for part in parts)
    except ValueError:
        raise ConfigError(f"shard must look like i/n (for example 0/4), got {text!r}") from None
    if count < 1 or not 0 <= index < count:
        raise ConfigError(f"shard {text}: need 0 <= i < n (shards are numbered from 0)")
    return index, count


def select_classes(
    unique: np.ndarray,
    limit: int | None,
    shard: tuple[int, int] | None,
    order_seed: int = ORDER_SEED,
    *,
    offset: int = 0,
) -> np.ndarray:
    """Representatives to train: the first ``limit`` classes in a seeded random order after
    the first ``offset`` of it (so ``offset=N`` with ``limit=N`` is a second sample, disjoint
    from the first), then every n-th of them for shard i/n. A larger limit extends a smaller
    one."""
    limit = validate("select_classes", "limit", limit, Optional(Integer(0)))
    offset = validate("select_classes", "offset", offset, Integer(0))
    order = np.random.default_rng(order_seed).permutation(unique.shape[0])
    chosen = unique[order][offset:]
    if limit:
        chosen = chosen[:limit]
    if shard is not None:
        index, count = shard
        chosen = chosen[index::count]
    return chosen


def _table_id(space: dict[str, Any], protocol: dict[str, Any], dataset: dict[str, Any]) -> str:
    """A short hash of what a table holds; journal entries carry it so that entries of
    another table are never applied."""
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
    """Hold ``OUT.lock`` for the block: one generator writes a table at a time. The lock
    sits beside the resolved path, so a second generator reaching the same file through a
    symlink (or another relative path) finds it taken. When the block fails before any
    table exists, the lock file goes too (still held, so no other generator is inside):
    a failed first run leaves nothing behind."""
    real = out.resolve()
    lock_path = real.with_name(real.name + ".lock")
    handle = open(lock_path, "a+")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise TableError(f"{out}: another nasbench generate is writing this table") from None
        try:
            yield
        except BaseException:
            if not real.exists():
                with contextlib.suppress(OSError):
                    lock_path.unlink()
            raise
    finally:
        handle.close()


def _open_or_create(out: Path, space: CellSpace, protocol: Protocol, dataset_info: dict[str, Any]) -> None:
    """Create an empty table at ``out``, or check that the one there holds the same space,
    model, protocol and dataset (resuming never mixes results of two recipes)."""
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
                    f"refusing to mix results: write to another file"
                )
        return
    # An empty table takes a few dozen bytes per architecture; ask for plenty more.
    require_space(out.with_name(out.name + ".tmp"), 64 * space.size + HEADROOM_BYTES)
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
    """A tqdm bar on stderr (disabled when ``enabled`` is false)."""
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
    offset: int = 0,
    workers: int | None = None,
    scheduler: str | None = None,
    data_dir: str | None = None,
    probes: bool = True,
    probe_settings: dict[str, Any] | None = None,
    checkpoint_seconds: float = 30.0,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> GenerateSummary:
    """Train the selected classes x seeds not yet in ``out`` and record them (resumable):
    ``limit`` classes of the seeded order after its first ``offset`` (all when None), or
    shard i/n of them.

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
    workers = validate("generate", "workers", workers, Optional(Integer(0)))
    limit = validate("generate", "limit", limit, Optional(Integer(0)))
    offset = validate("generate", "offset", offset, Integer(0))
    if shard is not None and not (isinstance(shard, tuple) and len(shard) == 2 and 0 <= shard[0] < shard[1]):
        raise ConfigError(f"generate: shard must be (i, n) with 0 <= i < n, got {shard!r}")
    checkpoint_seconds = validate("generate", "checkpoint_seconds", checkpoint_seconds, Real(0))
    _check_target(target)
    data = recipe.load_data(data_dir)
    journal = Journal(target.with_name(target.name + ".journal"))
    created: list[Path] = []
    try:
        created = _make_parent(target)
        summary = _generate_locked(
            target,
            journal,
            cell_space,
            recipe,
            data,
            limit=limit,
            shard=shard,
            offset=offset,
            workers=workers,
            scheduler=scheduler,
            data_dir=data_dir,
            probes=probes,
            probe_settings=probe_settings,
            checkpoint_seconds=checkpoint_seconds,
            progress=progress,
        )
    except OSError as exc:  # a full disk, a file-size limit, a permission: one line, nothing lost
        _remove_empty(created, target)
        if not target.exists():
            raise TableError(f"{target}: not created: {_os_reason(exc)}") from exc
        raise TableError(
            f"{target}: stopped: {_os_reason(exc)}; the table is as of its last checkpoint and "
            f"finished runs are kept in {journal.path.name}: re-run to resume"
        ) from exc
    except BaseException:
        _remove_empty(created, target)
        raise
    summary.wall_seconds = time.perf_counter() - started
    if log is not None and summary.errors:
        for message in summary.errors[:5]:
            log(message)
    return summary


def _os_reason(exc: OSError) -> str:
    """``FILE: REASON`` of an OS error, the file name cut to 160 characters."""
    reason = exc.strerror or str(exc)
    if exc.filename is None:
        return reason
    name = exc.filename
    return f"{shorten(os.fsdecode(name) if isinstance(name, (str, bytes)) else name, 160)}: {reason}"


def _check_target(target: Path) -> None:
    """Refuse, before anything is written, a table path that cannot be a table: a
    directory, something other than a regular file, or a path under a plain file."""
    if target.is_dir():
        raise TableError(f"{target}: is a directory, not a table file")
    if target.exists() and not target.is_file():
        raise TableError(f"{target}: not a regular file (a table is an HDF5 file)")
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise TableError(f"{target}: {parent} is not a directory")
            break


def _make_parent(target: Path) -> list[Path]:
    """Create the table's directory (and its parents) if missing; returns those created,
    deepest first."""
    missing = [parent for parent in target.parents if not parent.exists()]
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _remove_empty(missing, target)
        raise TableError(f"{target}: cannot create its directory ({_os_reason(exc)})") from None
    return missing


def _remove_empty(directories: Sequence[Path], target: Path) -> None:
    """After a failed first run (no table at ``target``), remove the directories it made,
    deepest first, if they are still empty."""
    if target.exists():
        return
    for directory in directories:
        with contextlib.suppress(OSError):
            directory.rmdir()


def _generate_locked(
    target: Path,
    journal: Journal,
    cell_space: CellSpace,
    recipe: Protocol,
    data: Any,
    *,
    limit: int | None,
    shard: tuple[int, int] | None,
    offset: int,
    workers: int | None,
    scheduler: str | None,
    data_dir: str | None,
    probes: bool,
    probe_settings: dict[str, Any] | None,
    checkpoint_seconds: float,
    progress: bool,
) -> GenerateSummary:
    """The body of :func:`generate`, holding the table's lock: create or check the table,
    replay the journal, train, probe. Temporary files are removed on every way out."""
    with _exclusive(target):
        target.with_name(target.name + ".tmp").unlink(missing_ok=True)
        _open_or_create(target, cell_space, recipe, data.info)
        table_id = _table_id(cell_space.to_dict(), recipe.to_dict(), data.info)
        replayed = checkpoint(target, journal, table_id)
        if replayed:
            logger.info("%s: replayed %d journal entries left by an interrupted run", target, replayed)
        table = open_table(target)
        chosen = select_classes(table.unique, limit, shard, offset=offset)
        row_of_class = {int(c): k for k, c in enumerate(table.unique)}
        jobs = [
            (int(c), int(s))
            for c in chosen
            for k, s in enumerate(table.seeds)
            if table.run_status[row_of_class[int(c)], k] == STATUS_PENDING
        ]
        selected_runs = int(chosen.shape[0]) * len(table.seeds)
        logger.info(
            "%s: %d classes selected; %d of their %d runs already recorded, %d to train",
            target,
            chosen.shape[0],
            selected_runs - len(jobs),
            selected_runs,
            len(jobs),
        )
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
                    # reported to the caller through the summary (and ``log``): INFO, not a warning
                    logger.info("%s (it stays pending)", outcome)
                    summary.runs_errored += 1
                    summary.errors.append(outcome)
                else:
                    record(outcome)
                    summary.job_seconds += outcome.pop("job_seconds", 0.0)
                    if outcome["failed"]:
                        logger.info(
                            "run (arch %d, seed %d) recorded as failed: %s",
                            outcome["index"],
                            outcome["seed"],
                            outcome["failed"],
                        )
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
    from nasbench.generation.cluster import run_on_cluster

    for payload, result, error in run_on_cluster(
        run_training_job,
        payloads,
        workers=workers or os.cpu_count() or 1,
        scheduler=scheduler,
        key=lambda payload: f"train-{payload['index']}-{payload['seed']}-{time.monotonic_ns()}",
        slots_per_thread=2,
    ):
        yield result if error is None else _job_error(payload, error)


def _job_error(payload: dict[str, Any], exc: BaseException) -> str:
    """One line naming the job, the exception and where it was raised."""
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    place = f" ({Path(where.filename).name}:{where.lineno})" if where else ""
    text = one_line(exc)
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
        missing = [rows for rows in groups.values() if have is None or np.isnan(have[rows[0]])]
        if len(missing) < len(groups):
            logger.info(
                "%s: %d of %d (class, cost) groups already measured, skipped",
                device.device_id,
                len(groups) - len(missing),
                len(groups),
            )
        work.extend((device, rows) for rows in missing)
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

"""Reliability of the generator under kills: SIGKILL of the whole command, of one Dask worker.

The promise (``nasbench.generation.generate``'s module docstring and ``nasbench generate --help``): kill
it at any moment, re-run the same command, and it resumes; no job lost, none recorded twice,
and the table file always opens and validates. These tests kill a real ``nasbench generate``
process group at seeded random moments (with a checkpoint after every job, so kills land in
the copy/replace of a checkpoint too), resume it, and compare the result with an uninterrupted
run exactly. ``train_seconds`` is wall-clock time, so only its presence is compared.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest
import torch

from nasbench.core.table import EPOCH_METRICS, STATUS_DONE, STATUS_PENDING, Table, open_table, validate_table
from nasbench.generation.generate import _table_id, generate, select_classes
from nasbench.generation.journal import Journal, checkpoint
from nasbench.nets.hardware import available_devices

LIMIT = 12  # classes of the reference run; smaller limits select a prefix of the same classes
SEEDS = 2  # the tiny preset's seeds (0, 1)
TIMING_METRICS = ("train_seconds", "eval_seconds")  # wall-clock: differ between any two runs
WAIT_S = 240.0  # upper bound for any subprocess to finish: a hang fails instead of blocking CI
KILL_SEED = 20240611


# --------------------------------------------------------------------- helpers
def journal_of(out: Path) -> Path:
    return out.with_name(out.name + ".journal")


def leftover_temporaries(out: Path) -> list[str]:
    """Names of stale temporary files next to ``out`` (the table's and the journal's)."""
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(out.name) and p.suffix == ".tmp")


def cli_args(out: Path, limit: int, workers: int, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "nasbench",
        "generate",
        "--out",
        str(out),
        "--preset",
        "tiny",
        "--limit",
        str(limit),
        "--workers",
        str(workers),
        "--checkpoint-seconds",
        "0",
        *extra,
    ]


def start(argv: list[str], stdout: Path, stderr: Path) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a new session (its own process group), output to files."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with open(stdout, "ab") as out, open(stderr, "ab") as err:
        return subprocess.Popen(
            argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True, env=env
        )


def live_group_members(pgid: int) -> list[int]:
    """Pids of the processes of group ``pgid`` that are not yet dead (zombies count as dead)."""
    members = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                members.append(process.pid)
        except (OSError, psutil.Error):
            continue
    return members


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the whole process group of ``proc`` (Dask workers included) and wait for it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 30
    while live_group_members(proc.pid):
        assert time.monotonic() < deadline, f"processes of group {proc.pid} survived SIGKILL"
        time.sleep(0.05)


def run_to_end(argv: list[str], folder: Path, name: str) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of ``argv`` run to completion, killed after WAIT_S."""
    stdout, stderr = folder / f"{name}.out", folder / f"{name}.err"
    proc = start(argv, stdout, stderr)
    try:
        proc.wait(timeout=WAIT_S)
    finally:
        if proc.poll() is None:
            kill_group(proc)
    return proc.returncode, stdout.read_text(), stderr.read_text()


def position(reference: Table, index: int, seed: int) -> tuple[int, int]:
    """(class row, seed column) of the run of representative ``index`` with ``seed``."""
    row = int(np.searchsorted(reference.unique, index))
    assert row < reference.unique.shape[0] and reference.unique[row] == index, index
    return row, int(np.nonzero(reference.seeds == seed)[0][0])


def recorded_runs(out: Path, reference: Table) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    """(class row, seed column) of every run the table holds, and of every run a complete
    journal line holds. Every value found is checked against the reference: nothing recorded
    is wrong."""
    in_table: set[tuple[int, int]] = set()
    if out.exists():
        table = open_table(out)
        rows, columns = np.nonzero(table.run_status != STATUS_PENDING)
        for row, column in zip(rows.tolist(), columns.tolist(), strict=True):
            for name in reference.epoch_metrics:
                if name not in TIMING_METRICS:
                    assert np.array_equal(
                        table.raw(name)[row, column], reference.raw(name)[row, column], equal_nan=True
                    ), (name, row, column)
            in_table.add((row, column))
        assert np.all(table.run_status[rows, columns] == STATUS_DONE)
    in_journal: set[tuple[int, int]] = set()
    for entry in Journal(journal_of(out)).read():
        if entry["kind"] != "run":
            continue
        row, column = position(reference, entry["index"], entry["seed"])
        assert entry["failed"] is None
        for name, values in entry["metrics"].items():
            if name not in TIMING_METRICS:
                stored = np.asarray(values, dtype=np.float64).astype(np.float32)
                assert np.array_equal(stored, reference.raw(name)[row, column], equal_nan=True), name
        in_journal.add((row, column))
    return in_table, in_journal


def wait_for_checkpoint(out: Path, proc: subprocess.Popen[bytes], timeout: float) -> bool:
    """Spin until the table's temporary copy exists (a checkpoint, or the table's creation,
    is under way); False when it did not appear in time or the process ended."""
    temporary = out.with_name(out.name + ".tmp")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if temporary.exists():
            return True
    return False


def assert_matches_reference(table: Table, reference: Table, limit: int) -> None:
    """The runs of the first ``limit`` classes equal the reference exactly; all others pending."""
    assert np.array_equal(table.unique, reference.unique)
    assert np.array_equal(table.seeds, reference.seeds)
    assert set(table.epoch_metrics) == set(reference.epoch_metrics)
    chosen = np.isin(reference.unique, select_classes(reference.unique, limit, None))
    assert np.all(reference.run_status[chosen] == STATUS_DONE)
    assert np.array_equal(table.run_status[chosen], reference.run_status[chosen])
    assert np.all(table.run_status[~chosen] == STATUS_PENDING)
    assert int(np.sum(table.run_status == STATUS_DONE)) == limit * SEEDS
    for name in reference.epoch_metrics:
        got, want = table.raw(name), reference.raw(name)
        assert np.isnan(got[~chosen]).all(), name
        if name in TIMING_METRICS:
            assert np.array_equal(np.isnan(got[chosen]), np.isnan(want[chosen]))
            assert np.all(got[chosen][~np.isnan(got[chosen])] >= 0)
        else:
            assert np.array_equal(got[chosen], want[chosen], equal_nan=True), name


def assert_clean_finish(out: Path) -> None:
    """After a complete run: the journal is empty and no temporary file is left."""
    assert leftover_temporaries(out) == []
    journal = journal_of(out)
    assert not journal.exists() or journal.stat().st_size == 0
    assert Journal(journal).read() == []


@pytest.fixture(autouse=True)
def _keep_torch_threads() -> Iterator[None]:
    """In-process generation may change torch's thread count; give the other tests theirs back."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Table, float]:
    """An uninterrupted in-process run of ``LIMIT`` classes (the ``--workers 0`` path) and its
    mean seconds per job."""
    threads = torch.get_num_threads()
    out = tmp_path_factory.mktemp("reference") / "ref.h5"
    try:
        summary = generate(out, "tiny", limit=LIMIT, workers=0, probes=False, progress=False)
    finally:
        torch.set_num_threads(threads)
    assert summary.runs_done == LIMIT * SEEDS, summary
    assert summary.runs_failed == summary.runs_errored == 0, summary
    assert validate_table(out) == []
    return open_table(out), summary.job_seconds / summary.runs_done


@pytest.fixture(scope="module")
def reference(reference_run: tuple[Table, float]) -> Table:
    return reference_run[0]


@pytest.fixture(scope="module")
def pace(reference_run: tuple[Table, float]) -> float:
    """This machine's speed against the one the kill moments were tuned on (0.5 s a job)."""
    return float(np.clip(reference_run[1] / 0.5, 0.5, 3.0))


# --------------------------------------------------------------------- SIGKILL of the command
@pytest.mark.parametrize(
    ("workers", "limit", "kills", "delays"),
    [
        # In-process: the first launch creates the table at about 1.5-4 s, a resumed one records
        # its first job at about 2-3 s, then about 0.5 s a job. About 25 s in all.
        pytest.param(0, LIMIT, 6, (1.0, 5.5), id="in-process"),
        # Local Dask cluster: its start-up and the workers' first imports take about 4-5 s a
        # launch, so most kills land there. About 35 s in all.
        pytest.param(2, 8, 5, (2.0, 6.0), id="dask-2-workers", marks=pytest.mark.slow),
    ],
)
def test_sigkill_then_resume_equals_uninterrupted_run(
    tmp_path: Path,
    reference: Table,
    pace: float,
    workers: int,
    limit: int,
    kills: int,
    delays: tuple[float, float],
) -> None:
    """Odd-numbered kills wait for the next checkpoint (or the table's creation) after their
    moment and land inside it; the others land wherever the moment falls."""
    out = tmp_path / "victim.h5"
    argv = cli_args(out, limit, workers, "--no-probes", "--quiet")
    rng = np.random.default_rng(KILL_SEED + workers)
    moments = rng.uniform(*delays, size=kills) * pace
    settle = rng.uniform(0.0, 0.015, size=kills)  # a checkpoint takes about 15 ms here
    held: set[tuple[int, int]] = set()
    killed, inside_checkpoint, replayed = 0, 0, 0
    for attempt, delay in enumerate(moments.tolist()):
        proc = start(argv, tmp_path / f"kill{attempt}.out", tmp_path / f"kill{attempt}.err")
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            if attempt % 2 == 1 and wait_for_checkpoint(out, proc, timeout=10 * pace):
                time.sleep(float(settle[attempt]))
        finally:
            kill_group(proc)
        if proc.returncode == -signal.SIGKILL:
            killed += 1
        else:  # it ended on its own: it must have ended well
            assert proc.returncode == 0, (tmp_path / f"kill{attempt}.err").read_text()
        stale = leftover_temporaries(out)
        inside_checkpoint += f"{out.name}.tmp" in stale
        if out.exists():
            assert validate_table(out) == [], f"after kill {attempt} at {delay:.2f} s"
        in_table, in_journal = recorded_runs(out, reference)
        replayed += bool(in_table & in_journal)  # killed between the rename and the journal's reset
        now = in_table | in_journal
        assert held <= now, f"kill {attempt} at {delay:.2f} s lost runs {sorted(held - now)}"
        held = now
        print(
            f"kill {attempt}: {delay:.2f} s{' + next checkpoint' if attempt % 2 else ''}, "
            f"rc {proc.returncode}, {len(in_table)} runs in the table, {len(in_journal)} in the "
            f"journal, temporaries {stale}"
        )
    print(
        f"pace {pace:.2f}: {killed} kills of a live process, {inside_checkpoint} left a checkpoint's "
        f"copy, {replayed} left a journal already applied"
    )
    assert killed >= 4, "the kills must interrupt a running generator"
    assert len(held) < limit * SEEDS, "the kills left nothing to resume: make them earlier"

    code, stdout, stderr = run_to_end([*argv, "--json"], tmp_path, "final")
    assert code == 0, stderr
    summary = json.loads(stdout)
    # Each job exactly once: the resumed run schedules precisely what no kill had recorded.
    assert summary["runs_scheduled"] == limit * SEEDS - len(held), summary
    assert summary["runs_done"] == summary["runs_scheduled"], summary
    assert summary["runs_errored"] == summary["runs_failed"] == 0, summary
    assert validate_table(out) == []
    assert_matches_reference(open_table(out), reference, limit)
    assert_clean_finish(out)


# --------------------------------------------------------------------- SIGKILL during probes
def probe_groups(table: Table, limit: int) -> dict[tuple[int, int, int], list[int]]:
    """Rows sharing one probe: (class, params, FLOPs) -> rows, as the generator groups them."""
    chosen = select_classes(table.unique, limit, None)
    groups: dict[tuple[int, int, int], list[int]] = {}
    for row in np.nonzero(np.isin(table.canonical, chosen))[0].tolist():
        key = (int(table.canonical[row]), int(table.params[row]), int(table.flops[row]))
        groups.setdefault(key, []).append(row)
    return groups


def recorded_probes(out: Path, limit: int, measured: str) -> set[tuple[str, tuple[int, int, int]]]:
    """(device, group) of every probe held by the table or a complete journal line."""
    table = open_table(out)
    groups = probe_groups(table, limit)
    group_of_row = {rows[0]: key for key, rows in groups.items()}
    held = set()
    for device in table.devices:
        values = table.metric(f"{device}/{measured}")
        held |= {(device, key) for key, rows in groups.items() if not np.isnan(values[rows[0]])}
    for entry in Journal(journal_of(out)).read():
        if entry["kind"] == "probe":
            held.add((entry["device"], group_of_row[entry["rows"][0]]))
    return held


def test_sigkill_during_probes_then_resume_completes_them(tmp_path: Path, reference: Table) -> None:
    limit = 3
    out = tmp_path / "probed.h5"
    argv = cli_args(out, limit, 0)  # progress bars on: the probe bar says when probing began
    stderr = tmp_path / "probe-kill.err"
    proc = start(argv, tmp_path / "probe-kill.out", stderr)
    bar = re.compile(r"probe:[^|\r\n]*\|[^|\r\n]*\|\s*(\d+)/(\d+)")
    try:
        deadline = time.monotonic() + WAIT_S
        while True:
            assert proc.poll() is None, f"generator ended before probing: {stderr.read_text()[-2000:]}"
            assert time.monotonic() < deadline, "no probe progress seen"
            counts = [(int(a), int(b)) for a, b in bar.findall(stderr.read_text(errors="replace"))]
            if counts and max(counts)[0] >= 1:
                break
            time.sleep(0.02)
        time.sleep(float(np.random.default_rng(KILL_SEED).uniform(0.0, 0.3)))
    finally:
        kill_group(proc)
    assert proc.returncode == -signal.SIGKILL, "the probes finished before the kill"
    assert validate_table(out) == []
    in_table, _ = recorded_runs(out, reference)
    assert len(in_table) == limit * SEEDS  # training checkpointed before probing

    measured = "latency_ms_b1"  # the first of the tiny preset's probe batch sizes
    devices = {device.device_id for device in available_devices()}
    groups = probe_groups(open_table(out), limit)
    total = len(groups) * len(devices)
    before = recorded_probes(out, limit, measured)
    print(f"probe kill: {len(before)} of {total} probes held")
    assert 1 <= len(before) < total, (len(before), total)

    code, stdout, err = run_to_end([*argv, "--quiet", "--json"], tmp_path, "probe-final")
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["runs_scheduled"] == 0, summary
    # No probe repeated, none lost: the resumed run measures exactly the groups not yet held.
    assert summary["probes_scheduled"] == total - len(before), (summary, len(before), total)
    assert summary["probes_done"] == summary["probes_scheduled"], summary
    assert validate_table(out) == []
    table = open_table(out)
    assert_matches_reference(table, reference, limit)
    assert set(table.devices) == devices
    selected = np.zeros(table.num_archs, dtype=bool)
    selected[[row for rows in groups.values() for row in rows]] = True
    device_metrics = [name for name in table.metric_names if name.split("/")[0] in devices]
    assert {name.split("/", 1)[1] for name in device_metrics} >= {measured, "latency_ms_b64"}
    for name in device_metrics:
        values = table.metric(name)
        assert np.all(np.isfinite(values[selected])), name
        assert np.all(np.isnan(values[~selected])), name
    assert recorded_probes(out, limit, measured) == {(d, key) for d in devices for key in groups}
    assert_clean_finish(out)


# --------------------------------------------------------------------- a Dask worker killed
def dask_worker_processes() -> list[psutil.Process]:
    """This process's Dask worker processes (the nannies live in this process and spawn them)."""
    workers = []
    for child in psutil.Process().children(recursive=True):
        try:
            command = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if "spawn_main" in command and "resource_tracker" not in command:
            workers.append(child)
    return workers


def is_dead(process: psutil.Process) -> bool:
    """Gone or a zombie; never reaps it (the nanny's multiprocessing does that)."""
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.slow
def test_dask_worker_sigkilled_mid_run_loses_nothing(tmp_path: Path, reference: Table) -> None:
    out = tmp_path / "dask.h5"
    journal = journal_of(out)
    seen: dict[str, Any] = {}
    finished = threading.Event()

    def killer() -> None:
        deadline = time.monotonic() + WAIT_S
        while not finished.is_set() and time.monotonic() < deadline:
            workers = dask_worker_processes()
            lines = len(Journal(journal).read())
            if lines >= 1 and len(workers) == 2:  # the cluster is up and a result is recorded
                victim = workers[0]
                seen.update(pid=victim.pid, results_before=lines, others={w.pid for w in workers})
                victim.send_signal(signal.SIGKILL)  # psutil refuses a reused pid
                seen["killed"] = True
                while not is_dead(victim) and time.monotonic() < deadline:
                    time.sleep(0.02)
                seen["dead"] = is_dead(victim)
                while not finished.is_set() and time.monotonic() < deadline:  # the nanny's restart
                    fresh = {w.pid for w in dask_worker_processes()} - seen["others"]
                    if fresh:
                        seen["restarted"] = sorted(fresh)
                        return
                    time.sleep(0.05)
                return
            time.sleep(0.05)

    thread = threading.Thread(target=killer, name="worker-killer", daemon=True)
    thread.start()
    try:
        summary = generate(out, "tiny", limit=LIMIT, workers=2, probes=False, progress=False)
    finally:
        finished.set()
        thread.join(timeout=60)
    print(f"worker kill: {seen}")
    assert seen.get("killed"), "no worker was killed"
    assert seen["dead"], f"worker {seen['pid']} survived SIGKILL"
    assert seen["results_before"] < LIMIT * SEEDS, "the kill came after the last job"
    assert seen.get("restarted"), "the nanny did not start a new worker"
    assert summary.runs_errored == 0, summary.errors
    assert summary.runs_done == LIMIT * SEEDS, summary
    assert summary.runs_failed == 0, summary
    assert validate_table(out) == []
    assert_matches_reference(open_table(out), reference, LIMIT)
    assert_clean_finish(out)


# --------------------------------------------------------------------- a journal already applied
def test_journal_already_in_table_is_replayed_without_change(tmp_path: Path, reference: Table) -> None:
    """A kill between a checkpoint's rename and the journal's reset leaves a journal whose
    entries the table already holds (the SIGKILL tests rarely land in that instant, so it is
    made here): the next run replays them, the table stays exactly the same and none reruns."""
    out = tmp_path / "replayed.h5"
    shutil.copyfile(reference.path, out)
    table_id = _table_id(reference.space.to_dict(), reference.protocol, reference.dataset)
    journal = Journal(journal_of(out))
    rows, columns = np.nonzero(reference.run_status == STATUS_DONE)
    for row, column in list(zip(rows.tolist(), columns.tolist(), strict=True))[:5]:
        metrics = {name: reference.raw(name)[row, column].astype(float).tolist() for name in EPOCH_METRICS}
        index, seed = int(reference.unique[row]), int(reference.seeds[column])
        journal.append(
            {
                "kind": "run",
                "table_id": table_id,
                "index": index,
                "seed": seed,
                "failed": None,
                "metrics": metrics,
            }
        )
    spare = tmp_path / "spare.h5"  # the entries are this table's: a checkpoint applies all 5
    shutil.copyfile(out, spare)
    shutil.copyfile(journal.path, journal_of(spare))
    assert checkpoint(spare, Journal(journal_of(spare)), table_id) == 5
    summary = generate(out, "tiny", limit=LIMIT, workers=0, probes=False, progress=False)
    assert summary.runs_scheduled == 0, summary
    assert validate_table(out) == []
    replayed = open_table(out)
    assert np.array_equal(replayed.run_status, reference.run_status)
    for name in reference.epoch_metrics:  # the very same values, wall-clock ones included
        assert np.array_equal(replayed.raw(name), reference.raw(name), equal_nan=True), name
    assert_clean_finish(out)


# --------------------------------------------------------------------- a torn journal line
def test_torn_first_journal_line_does_not_swallow_later_results(tmp_path: Path) -> None:
    """A kill (or power loss) inside the journal's first append after a checkpoint leaves a torn
    line; the docstring promises it is ignored and only that job reruns.

    Regression: the journal was never cleared while it held only a torn line (a checkpoint
    returned early when it read no complete entry), so every later entry was appended onto the
    torn line, never parsed, and was dropped: the table never received those runs."""
    out = tmp_path / "torn.h5"
    entry = {"kind": "run", "table_id": "0" * 16, "index": 0, "seed": 0, "failed": None, "metrics": {}}
    torn = json.dumps(entry, sort_keys=True)[:40]  # no newline: the write was cut short
    journal_of(out).write_text(torn)
    summary = generate(out, "tiny", limit=1, workers=0, probes=False, progress=False)
    assert summary.runs_done == SEEDS
    table = open_table(out)
    assert int(np.sum(table.run_status == STATUS_DONE)) == SEEDS, "results reported done are not in the table"
    assert_clean_finish(out)

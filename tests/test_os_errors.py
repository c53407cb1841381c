"""One line, always: OS errors, huge numbers and hostile paths end every command in one
``nasbench:`` line, and a failed command leaves no partial file and never touches a table.

A full disk is simulated by running the command in a subprocess under
``RLIMIT_FSIZE`` with ``SIGXFSZ`` ignored: a write past the limit fails with EFBIG, as one
on a full disk fails with ENOSPC. Each case here printed a traceback, left a ``.tmp`` file
or accepted a value it should have refused before.
"""

from __future__ import annotations

import errno
import hashlib
import importlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import nasbench.generation.journal
from nasbench.cli.main import MAX_LINE, main
from nasbench.core import options
from nasbench.core.errors import ConfigError, TableError
from nasbench.core.options import OptionError
from nasbench.core.table import open_table
from nasbench.generation.generate import _table_id, generate, run_training_job
from nasbench.generation.journal import Journal, checkpoint, require_space
from nasbench.nets.train import PROTOCOL_PRESETS, Protocol

#: The module (``nasbench.cli.main`` the attribute is the function it defines).
CLI_MAIN = importlib.import_module("nasbench.cli.main")

#: The protocol of the generated tables here: one epoch, one seed (``--epochs 1 --seeds 0``).
ONE_RUN = PROTOCOL_PRESETS["tiny"].replace(epochs=1, seeds=(0,))
GENERATE_ANY_SEEDS = ["generate", "--preset", "tiny", "--epochs", "1", "--workers", "0", "--no-probes"]
GENERATE = [*GENERATE_ANY_SEEDS, "--seeds", "0"]
WAIT_S = 240.0  # a subprocess that hangs fails the test instead of blocking CI
OUT_OF_MEMORY = "nasbench: error: " + CLI_MAIN.OUT_OF_MEMORY
DEBUG_HINT = " (set NASBENCH_DEBUG=1 for the traceback)"


# --------------------------------------------------------------------- helpers
def run_cli(capsys: pytest.CaptureFixture[str], *argv: Any) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's usage errors
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line(code: int, err: str, *fragments: str, status: int = 1) -> str:
    assert code == status, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("nasbench: ") and len(lines[0]) <= MAX_LINE, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, err)
    return lines[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def limited_run(argv: list[str], file_size_limit: int, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``nasbench argv`` in a subprocess whose writes fail with EFBIG past ``file_size_limit``
    bytes of any file, as they would on a full disk."""

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    return subprocess.run(
        [sys.executable, "-m", "nasbench", *argv],
        cwd=cwd,
        preexec_fn=limit_file_size,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A table ``generate`` made: one class trained for one epoch on one seed."""
    out = tmp_path_factory.mktemp("generated") / "g.h5"
    generate(out, ONE_RUN, limit=1, workers=0, probes=False, progress=False)
    return out


@pytest.fixture
def table(generated: Path, tmp_path: Path) -> Path:
    """A private copy of the generated table (nothing else beside it)."""
    folder = tmp_path / "work"
    folder.mkdir()
    copy = folder / "T.h5"
    shutil.copyfile(generated, copy)
    return copy


def pending_entry(table: Path) -> dict[str, Any]:
    """A journal entry of a real run of the second class of the generator's order."""
    from nasbench.generation.generate import select_classes

    opened = open_table(table)
    second = int(select_classes(opened.unique, 2, None)[1])
    entry = run_training_job(
        {
            "protocol": ONE_RUN.to_dict(),
            "space": opened.space.to_dict(),
            "table_id": _table_id(opened.space.to_dict(), opened.protocol, opened.dataset),
            "data_dir": None,
            "index": second,
            "seed": 0,
        }
    )
    entry.pop("job_seconds")
    return entry


# --------------------------------------------------------------------- numeric options bounded
BOUNDED = {
    "init-table-huge-seed": (
        ["init-table", "--out", "{new}", "--seeds", "1180591620717411303424"],
        "--seeds",
    ),
    "init-table-many-seeds": (
        ["init-table", "--out", "{new}", "--seeds", ",".join(map(str, range(101)))],
        "at most 100 seeds",
    ),
    "init-table-huge-epochs": (
        ["init-table", "--out", "{new}", "--epochs", "1000000000"],
        "--epochs must be in 1..1,000",
    ),
    "generate-huge-epochs": (
        [*GENERATE, "--out", "{new}", "--epochs", "1000000000"],
        "--epochs must be in 1..1,000",
    ),
    "generate-huge-workers": (
        [*GENERATE, "--out", "{new}", "--workers", "1000000000"],
        "--workers must be in 0..1,024",
    ),
    "generate-huge-limit": (
        [*GENERATE, "--out", "{new}", "--limit", "9" * 40],
        "--limit must be in 0..16,777,216",
    ),
    "generate-huge-shard": ([*GENERATE, "--out", "{new}", "--shard", "0/" + "9" * 30], "--shard"),
    "generate-nan-checkpoint": (
        [*GENERATE, "--out", "{new}", "--checkpoint-seconds", "nan"],
        "--checkpoint-seconds must be a finite number",
    ),
    "generate-resolution": (
        [*GENERATE, "--out", "{new}", "--set", "resolution=100000"],
        "resolution must be in 1..1024, got 100000",
    ),
    "generate-scheduler-garbage": (
        [*GENERATE, "--out", "{new}", "--scheduler", "garbage"],
        "--scheduler must look like tcp://HOST:PORT, got 'garbage'",
    ),
    "generate-width": ([*GENERATE, "--out", "{new}", "--set", "width=1000000"], "width must be in 1..1024"),
    "generate-batch": (
        [*GENERATE, "--out", "{new}", "--set", "batch_size=10000000000"],
        "batch_size must be in",
    ),
    "generate-seed-text": (
        [*GENERATE_ANY_SEEDS, "--out", "{new}", "--set", "seeds=abc"],
        "seeds must be a list",
    ),
    "generate-seed-float": (
        [*GENERATE_ANY_SEEDS, "--out", "{new}", "--set", "seeds=[1.5]"],
        "seeds[] must be an integer",
    ),
    "generate-dataset-list": (
        [*GENERATE, "--out", "{new}", "--set", "dataset=[1]"],
        "dataset must be a dataset name",
    ),
    "compare-seeds-31-digits": (
        [
            "compare",
            "--table",
            "{table}",
            "--strategies",
            "rs",
            "--seeds",
            "1" + "0" * 30,
            "--budget-evals",
            "3",
            "--out",
            "{new}",
        ],
        "--seeds must be in 1..100,000",
    ),
    "compare-budget-seconds-nan": (
        [
            "compare",
            "--table",
            "{table}",
            "--strategies",
            "rs",
            "--seeds",
            "1",
            "--budget-seconds",
            "nan",
            "--out",
            "{new}",
        ],
        "--budget-seconds must be a finite",
    ),
    "demo-workers": (
        ["demo", "--table", "{table}", "--workers", "1000000000"],
        "--workers must be in 0..1,024",
    ),
    "tune-arabic-indic-digits": (
        ["surrogate", "tune", "--table", "{table}", "--configs", "٣"],
        "--configs must be an integer, got '٣'",
    ),
    "eval-huge-seeds": (
        ["surrogate", "eval", "--table", "{table}", "--model", "xgb", "--seeds", "99999999"],
        "--seeds must be in 1..100,000",
    ),
    "fit-holdout-nan": (
        ["surrogate", "fit", "--table", "{table}", "--out", "{new}", "--holdout", "nan"],
        "--holdout",
    ),
    "fit-huge-seed": (
        ["surrogate", "fit", "--table", "{table}", "--out", "{new}", "--seed", "9" * 30],
        "--seed",
    ),
    "reproduce-budgets": (["reproduce", "--budgets", "50," + "9" * 30], "--budgets must be in 1..10,000,000"),
    "validity-epoch": (
        ["validity", "{table}", "--against", "{table}", "--epoch", "1180591620717411303424"],
        "--epoch must be in -1,000..1,000",
    ),
    "import-seed": (
        ["import", "csv", "{table}", "--out", "{new}", "--epoch", "1", "--seed", "-1"],
        "--seed must be >= 0",
    ),
    "import-epoch": (
        ["import", "csv", "{table}", "--out", "{new}", "--epoch", "1000000000"],
        "--epoch must be in 1..1,000",
    ),
    "query-arch-5000-digits": (["query", "{table}", "9" * 5000], "characters"),
}


@pytest.mark.parametrize("case", sorted(BOUNDED))
def test_numeric_options_are_bounded_before_anything_is_written(
    case: str, capsys: pytest.CaptureFixture[str], generated: Path, tmp_path: Path
) -> None:
    argv, fragment = BOUNDED[case]
    places = {"new": tmp_path / "new.h5", "table": generated}
    before = digest(generated)
    code, out, err = run_cli(capsys, *(a.format(**places) for a in argv))
    assert_one_line(code, err, fragment)
    assert out == "" and files_under(tmp_path) == []
    assert digest(generated) == before


def test_option_types_read_integers_strictly_and_echo_little() -> None:
    count = options.count("--n", 0)
    assert count(" +7 ") == 7
    for text in ("²", "٣", "1_000", "0x10", "1e3", "10^30", "", "nan"):
        with pytest.raises(OptionError, match="must be an integer"):
            count(text)
    with pytest.raises(
        OptionError, match=r"^--n must be in 0\.\.2,147,483,647, got 9{50}\.\.\.9{10} \(5,000 characters\)$"
    ):
        count("9" * 5000)
    with pytest.raises(ValueError, match="invalid literal"):  # argparse words it as a usage error
        options.minimum("--k", 0)("٣")
    with pytest.raises(OptionError, match="finite"):
        options.real("--x")("inf")
    with pytest.raises(OptionError) as info:
        options.assignment("--set")("x" * 5000)
    assert len(str(info.value)) < 150
    assert options.seed_list("--seeds")(f"0,{2**63 - 1},-{2**63}") == [0, 2**63 - 1, -(2**63)]
    with pytest.raises(OptionError, match="each seed"):
        options.seed_list("--seeds")(str(2**63))
    assert options.parse_arch("9" * 5000) == "9" * 5000  # past int's text limit: text, refused later


# --------------------------------------------------------------------- usage errors
def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "space", "--preset", "nb101")
    line = assert_one_line(code, err, "space: argument --preset: invalid choice", status=2)
    assert line.endswith("(see 'nasbench space --help')")
    code, _, err = run_cli(capsys, "x" * 5000)
    assert_one_line(code, err, "invalid choice", status=2)
    code, _, err = run_cli(capsys, "surrogate", "fit", "--table")
    assert_one_line(code, err, "surrogate fit: argument --table: expected one argument", status=2)


# --------------------------------------------------------------------- exceptions -> one line
@pytest.fixture
def raising_command(monkeypatch: pytest.MonkeyPatch) -> Callable[[BaseException], None]:
    """Add a command ``boom`` that raises the exception given."""
    holder: dict[str, BaseException] = {}

    def add_boom(commands: Any) -> None:
        p = commands.add_parser("boom")

        def run(args: Any) -> int:
            raise holder["error"]

        p.set_defaults(func=run)

    monkeypatch.setattr(CLI_MAIN, "BUILTIN_COMMANDS", (*CLI_MAIN.BUILTIN_COMMANDS, add_boom))
    monkeypatch.delenv("NASBENCH_DEBUG", raising=False)
    return lambda error: holder.__setitem__("error", error)


@pytest.mark.parametrize(
    ("error", "expected", "status"),
    [
        (
            OSError(errno.ENOSPC, "No space left on device", "out/t.h5.tmp"),
            "nasbench: error: out/t.h5.tmp: No space left on device (free some space and run it again)",
            1,
        ),
        (OSError(errno.EFBIG, "File too large", "t.h5"), "nasbench: error: t.h5: File too large", 1),
        (
            PermissionError(errno.EACCES, "Permission denied", "locked/x"),
            "nasbench: error: locked/x: Permission denied",
            1,
        ),
        (
            NotADirectoryError(errno.ENOTDIR, "Not a directory", "afile/x"),
            "nasbench: error: afile/x: Not a directory",
            1,
        ),
        (
            IsADirectoryError(errno.EISDIR, "Is a directory", "adir"),
            "nasbench: error: adir: Is a directory",
            1,
        ),
        (
            FileNotFoundError(errno.ENOENT, "No such file or directory", "a", None, "b"),
            "nasbench: error: a -> b: No such file or directory",
            1,
        ),
        (
            OverflowError("Python int too large to convert to C long"),
            "nasbench: error: a number is too large: Python int too large to convert to C long",
            1,
        ),
        (MemoryError(), OUT_OF_MEMORY, 1),
        (
            RuntimeError("[enforce fail at alloc_cpu.cpp:127] DefaultCPUAllocator: can't allocate memory"),
            OUT_OF_MEMORY,
            1,
        ),
        (
            RecursionError("maximum recursion depth exceeded"),
            "nasbench: error: input nested too deeply to read (maximum recursion depth exceeded)",
            1,
        ),
        (KeyboardInterrupt(), "nasbench: interrupted", 130),
        (
            ValueError("boom\nsecond line"),
            "nasbench: unexpected error: ValueError: boom second line" + DEBUG_HINT,
            2,
        ),
        (
            RuntimeError("\x1b[31mred\x1b[0m"),
            "nasbench: unexpected error: RuntimeError: \\x1b[31mred\\x1b[0m" + DEBUG_HINT,
            2,
        ),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else None,
)
def test_every_exception_is_one_line(
    raising_command: Callable[[BaseException], None],
    capsys: pytest.CaptureFixture[str],
    error: BaseException,
    expected: str,
    status: int,
) -> None:
    raising_command(error)
    code, out, err = run_cli(capsys, "boom")
    assert (code, out, err) == (status, "", expected + "\n")


def test_a_long_message_is_cut_and_the_traceback_is_there_on_request(
    raising_command: Callable[[BaseException], None],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    raising_command(ConfigError("start " + "x" * 5000 + " end"))
    code, _, err = run_cli(capsys, "boom")
    line = assert_one_line(code, err, "nasbench: error: start xxx", " ... ")
    assert line.endswith("x end")
    raising_command(OSError(errno.ENOSPC, "No space left on device", "d/" + "n" * 5000))
    code, _, err = run_cli(capsys, "boom")
    assert_one_line(code, err, "(5,002 characters): No space left on device")
    raising_command(KeyError("k"))
    monkeypatch.setenv("NASBENCH_DEBUG", "1")
    code, _, err = run_cli(capsys, "boom")
    assert code == 2 and err.startswith("Traceback") and "KeyError: 'k'" in err
    assert err.splitlines()[-1].startswith("nasbench: unexpected error: KeyError: 'k'")


# --------------------------------------------------------------------- paths that cannot be written
def test_generate_out_under_a_file_or_a_directory_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "afile").write_text("x\n")
    (tmp_path / "adir").mkdir()
    os.mkfifo(tmp_path / "fifo")
    before = files_under(tmp_path)
    for out, fragment in (
        ("afile/x.h5", "afile is not a directory"),
        ("afile/sub/x.h5", "afile is not a directory"),
        ("adir", "is a directory"),
        ("fifo", "not a regular file"),
    ):
        code, _, err = run_cli(capsys, *GENERATE, "--out", tmp_path / out)
        assert_one_line(code, err, fragment)
    assert files_under(tmp_path) == before


def test_surrogate_fit_onto_a_file_is_refused_before_fitting(
    capsys: pytest.CaptureFixture[str], generated: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "model"
    blocker.write_text("mine\n")
    for out in (blocker, blocker / "sub"):
        started = time.perf_counter()
        code, _, err = run_cli(capsys, "surrogate", "fit", "--table", generated, "--out", out, "--overwrite")
        assert_one_line(code, err, "not a directory")
        assert time.perf_counter() - started < 5  # refused before the fit
    assert blocker.read_text() == "mine\n"


def test_a_study_that_is_a_fifo_is_refused_not_read(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    os.mkfifo(tmp_path / "study.json")
    code, _, err = run_cli(capsys, "surrogate", "report", tmp_path / "study.json", "--out", tmp_path / "r.md")
    assert_one_line(code, err, "not a regular file")


# --------------------------------------------------------------------- a failed command never touches a table
def test_failed_commands_leave_the_table_byte_for_byte(
    capsys: pytest.CaptureFixture[str], table: Path
) -> None:
    before = digest(table)
    failing = [
        [*GENERATE, "--out", table, "--set", "resolution=100000"],
        ["generate", "--preset", "tiny", "--epochs", "2", "--out", table, "--no-probes", "--workers", "0"],
        ["init-table", "--out", table],
        ["init-table", "--out", table, "--overwrite", "--epochs", "1000000000"],
        ["init-table", "--out", table, "--overwrite", "--seeds", "1180591620717411303424"],
        ["merge", table, table],
        ["merge", table, table.with_name("missing.h5"), "--overwrite"],
        ["surrogate", "fit", "--table", table, "--out", table, "--overwrite"],
        ["validity", table, "--against", table, "--out", table],
    ]
    for argv in failing:
        code, _, err = run_cli(capsys, *argv)
        assert_one_line(code, err)
        assert digest(table) == before, argv
    assert files_under(table.parent) == ["T.h5", "T.h5.lock"]  # the generator's lock file stays


# --------------------------------------------------------------------- a full disk
def test_checkpoint_on_a_full_disk_leaves_no_partial_copy(
    table: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The copy of the table failed halfway on ENOSPC and its half stayed on disk."""
    journal = Journal(table.with_name("T.h5.journal"))
    entry = pending_entry(table)
    journal.append(entry)
    before = digest(table)

    def half_copy(source: Path, target: Path) -> None:
        Path(target).write_bytes(Path(source).read_bytes()[:1000])
        raise OSError(errno.ENOSPC, "No space left on device", str(target))

    monkeypatch.setattr(nasbench.generation.journal.shutil, "copyfile", half_copy)
    with pytest.raises(OSError, match="No space left"):
        checkpoint(table, journal, entry["table_id"])
    assert digest(table) == before and journal.read() == [entry]
    assert files_under(table.parent) == ["T.h5", "T.h5.journal"]


def test_require_space_refuses_before_hdf5_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_space(tmp_path / "t.h5.tmp", 1000)

    class Stats:
        f_bavail, f_frsize = 10, 4096

    monkeypatch.setattr(nasbench.generation.journal.os, "statvfs", lambda path: Stats())
    with pytest.raises(OSError) as info:
        require_space(tmp_path / "t.h5.tmp", 1 << 20)
    assert info.value.errno == errno.ENOSPC and "40,960 free" in str(info.value)
    assert info.value.filename == str(tmp_path / "t.h5.tmp")


def test_generate_on_a_full_disk_keeps_the_table_and_the_finished_runs(table: Path) -> None:
    """Replaying a finished run into a table on a full disk: one line, the table byte for
    byte, the run still in the journal, no temporary file."""
    journal = Journal(table.with_name("T.h5.journal"))
    journal.append(pending_entry(table))
    before, entries = digest(table), journal.path.read_bytes()
    for extra_bytes in (100, 300_000):  # the copy would fail, or HDF5's writes into the copy
        done = limited_run([*GENERATE, "--limit", "2", "--quiet", "--out", "T.h5"],
                           table.stat().st_size + extra_bytes, table.parent)  # fmt: skip
        assert done.returncode == 1, done.stderr
        line = assert_one_line(1, done.stderr, "T.h5: stopped", "File too large", "re-run to resume")
        assert "T.h5.journal" in line
        assert digest(table) == before and journal.path.read_bytes() == entries
        assert files_under(table.parent) == ["T.h5", "T.h5.journal", "T.h5.lock"]
    done = subprocess.run(
        [sys.executable, "-m", "nasbench", *GENERATE, "--limit", "2", "--quiet", "--out", "T.h5"],
        cwd=table.parent, capture_output=True, text=True, timeout=WAIT_S,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr  # with room again, the kept run is applied, none retrained
    assert "0 runs to do" in done.stdout and open_table(table).run_status.sum() == 2


def test_generate_of_a_new_table_on_a_full_disk_leaves_nothing(tmp_path: Path) -> None:
    done = limited_run([*GENERATE, "--limit", "1", "--quiet", "--out", "new/deeper/n.h5"], 20_000, tmp_path)
    assert_one_line(done.returncode, done.stderr, "new/deeper/n.h5: not created", "n.h5.tmp: File too large")
    assert files_under(tmp_path) == []


def test_init_table_on_a_full_disk_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    done = limited_run(["init-table", "--out", "new.h5", "--preset", "tiny"], 20_000, tmp_path)
    assert_one_line(done.returncode, done.stderr, "new.h5")
    assert files_under(tmp_path) == []


# --------------------------------------------------------------------- Ctrl-C
def test_ctrl_c_during_generate_is_one_line_and_keeps_the_finished_runs(table: Path) -> None:
    # 30 classes: the interrupt lands while runs are left (with 6, the few tiny runs after
    # the first could all finish between the poll and the signal, and the command exit 0).
    argv = [sys.executable, "-m", "nasbench", *GENERATE, "--limit", "30", "--quiet", "--out", "T.h5"]
    journal = table.with_name("T.h5.journal")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        argv, cwd=table.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
    )
    try:
        deadline = time.monotonic() + WAIT_S
        while not (journal.exists() and journal.stat().st_size > 0):  # the first new run is finished
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no run finished"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=WAIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert err.splitlines()[-1] == "nasbench: interrupted" and "Traceback" not in err, err
    assert files_under(table.parent) == ["T.h5", "T.h5.journal", "T.h5.lock"]
    assert open_table(table).run_status.sum() >= 2  # the finished run reached the table
    assert journal.read_text() == ""


def test_interrupted_first_run_removes_its_lock_and_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import nasbench.generation.generate as module

    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(module, "_open_or_create", interrupted)
    with pytest.raises(KeyboardInterrupt):
        generate(tmp_path / "a" / "b" / "t.h5", ONE_RUN, limit=1, workers=0, probes=False, progress=False)
    assert files_under(tmp_path) == []


def test_generate_reports_an_os_error_as_a_table_error(monkeypatch: pytest.MonkeyPatch, table: Path) -> None:
    import nasbench.generation.generate as module

    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(table) + ".tmp")

    monkeypatch.setattr(module, "_open_or_create", full)
    with pytest.raises(TableError, match=r"T\.h5: stopped: .*T\.h5\.tmp: No space left on device; "):
        generate(table, ONE_RUN, limit=1, workers=0, probes=False, progress=False)


def test_protocol_bounds() -> None:
    base = Protocol()
    for change, fragment in (
        ({"resolution": 100_000}, "resolution must be in 1..1024"),
        ({"epochs": 1_001}, "epochs must be in 1..1000"),
        ({"seeds": tuple(range(101))}, "at most 100"),
        ({"seeds": (2**63,)}, "seeds[] must be"),
        ({"augment": 5}, "augment must be a list"),
        ({"nesterov": "yes"}, "nesterov must be True or False"),
    ):
        with pytest.raises(ConfigError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
            base.replace(**change)
    assert base.replace(resolution=1024, epochs=1_000).epochs == 1_000

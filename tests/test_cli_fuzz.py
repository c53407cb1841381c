"""Fuzz test of the ``nasbench`` command line: every command, hostile arguments, one line.

Every leaf command of :func:`nasbench.cli.main.build_parser` (plug-in commands and
``surrogate`` subcommands included, so a new command is covered without touching this
file) is driven in-process through :func:`nasbench.cli.main.main` with arguments drawn by
hypothesis from a hostile pool: huge and negative integers, ``²``, Arabic-Indic digits,
NaN and infinities, empty and 5,000-character strings, option-looking strings, unicode,
``.`` and ``..``, and paths that are a file, a directory, missing, a FIFO, or under a file.
Whatever the arguments, the command must end with an int status, no exception may escape
(argparse's ``SystemExit`` for usage and ``--help`` is its status), stderr holds no
traceback and no ``unexpected error`` line (an unexpected exception type is a bug), and a
failure's last stderr line starts with ``nasbench:`` and is at most 300 characters.

Commands that do real work when their arguments are valid (training, searching, fitting,
importing, computing costs of a whole space) are listed in :data:`HEAVY`, and so is every
command not known to be light: each of their fuzzed command lines carries one value that
fails parsing, so they are fuzzed up to the end of argument parsing; their hostile
validation-level cases (files for tables, FIFOs, directories) are the fixed list
:data:`HEAVY_CASES`. Light commands get the whole pool. A watchdog fails any command line
that runs longer than :data:`WATCHDOG_SECONDS`. Hypothesis is derandomized, so a run is
reproducible.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nasbench.cli.main import MAX_LINE, build_parser, main
from nasbench.testing import synthetic_table

#: Seconds one command line may run before the watchdog fails it.
WATCHDOG_SECONDS = 20.0
#: Examples per light command and per heavy one (hypothesis, derandomized).
EXAMPLES_LIGHT, EXAMPLES_HEAVY = 60, 15

#: Commands that are fast whatever their arguments (microseconds to a second on a small table).
LIGHT = {
    ("space",),
    ("cost",),
    ("info",),
    ("query",),
    ("top",),
    ("validate",),
    ("card",),
    ("merge",),
    ("frontier",),
    ("strategies",),
    ("report",),
    ("surrogate", "list"),
    ("surrogate", "report"),
}

#: Values that no typed option accepts: a heavy command's line carries one of them.
POISON = ("²", "nan", "", "x" * 5000, "10^30", "٣")

HOSTILE = (
    "1180591620717411303424",
    "10^30",
    "10**9",
    "1e309",
    "-1",
    "0",
    "-0",
    "²",
    "٣٤",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "",
    " ",
    "x" * 5000,
    "9" * 5000,
    "-" + "9" * 5000,
    "..",
    ".",
    "ünïcødé ☃",
    "--",
    "-x",
    "--out",
    "--help",
    "-1e3",
    "1_000",
    "0x10",
    "a=b",
    "=",
    "k=" + "[" * 3000,
    "seeds=[1.5]",
    "resolution=100000",
    "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|x~0|",
    "null",
    "[1]",
    "rs",
    "0/0",
    "1/100000000000",
)

#: Values many options accept, so that hostile values elsewhere reach the command's handler.
PLAUSIBLE = ("0", "1", "2", "-1", "3", "val_acc", "test_acc", "rs", "nb201", "tiny", "digits", "0,1")

#: Option destinations that name a path; they draw from the places as well.
PATH_WORDS = (
    "table",
    "out",
    "into",
    "source",
    "against",
    "results",
    "directory",
    "inputs",
    "studies",
    "tables",
)


#: How many values a positional of each ``nargs`` gets.
POSITIONAL_COUNTS = {"None": (1, 1), "+": (1, 2), "*": (0, 2), "?": (0, 1)}


class Overtime(BaseException):
    """Raised by the watchdog: a command line ran past :data:`WATCHDOG_SECONDS`."""


def leaf_commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> Iterator[Any]:
    """``(command path, parser)`` of every command that has no subcommands."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from leaf_commands(sub, (*prefix, name))
            return
    yield prefix, parser


LEAVES = dict(leaf_commands(build_parser()))


def rejects_poison(action: argparse.Action) -> bool:
    """Whether the option's type refuses every :data:`POISON` value."""
    if action.type is None or action.nargs == 0 or not action.option_strings:
        return False
    for value in POISON:
        try:
            action.type(value)  # type: ignore[misc,operator]
        except Exception:
            continue
        return False
    return True


# --------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def pristine_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fuzz-table") / "pristine.h5"
    synthetic_table(path, num_epochs=2)
    return path


@pytest.fixture
def places(tmp_path: Path, pristine_table: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A working directory (relative default outputs land in it) holding a copy of the
    table, a text file, a directory, a FIFO; plus a missing path and one under a file."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NASBENCH_DEBUG", raising=False)
    table = tmp_path / "T.h5"
    shutil.copyfile(pristine_table, table)
    (tmp_path / "afile").write_text("not a table\n")
    (tmp_path / "adir").mkdir()
    os.mkfifo(tmp_path / "fifo")
    return {
        "table": str(table),
        "file": str(tmp_path / "afile"),
        "under_file": str(tmp_path / "afile" / "x.h5"),
        "dir": str(tmp_path / "adir"),
        "fifo": str(tmp_path / "fifo"),
        "missing": str(tmp_path / "missing" / "m.h5"),
        "new": str(tmp_path / "new.h5"),
        "json": str(tmp_path / "afile"),
    }


def restore(places: dict[str, str], pristine: Path) -> None:
    """Put the places back as the fixture made them: a command may legitimately replace or
    remove them (``merge T.h5 ... --overwrite``)."""
    root = Path(places["dir"]).parent
    table = Path(places["table"])
    if not table.is_file() or _digest(table) != _digest(pristine):
        if table.is_dir():
            shutil.rmtree(table)
        shutil.copyfile(pristine, table)
    afile, adir, fifo = root / "afile", root / "adir", root / "fifo"
    if not afile.is_file():
        if afile.is_dir():
            shutil.rmtree(afile)
        else:
            afile.unlink(missing_ok=True)
        afile.write_text("not a table\n")
    if not adir.is_dir():
        adir.unlink(missing_ok=True)
        adir.mkdir()
    if not fifo.exists() or fifo.is_file() or fifo.is_dir():
        if fifo.is_dir():
            shutil.rmtree(fifo)
        else:
            fifo.unlink(missing_ok=True)
        os.mkfifo(fifo)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------- running one line
def run_guarded(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    """(status, stdout, stderr) of ``main(argv)`` under the watchdog; argparse's
    ``SystemExit`` is its status, any other exception escapes (and fails the test)."""

    def overtime(signum: int, frame: FrameType | None) -> None:
        raise Overtime(f"ran longer than {WATCHDOG_SECONDS} s: {argv!r}"[:500])

    previous = signal.signal(signal.SIGALRM, overtime)
    signal.setitimer(signal.ITIMER_REAL, WATCHDOG_SECONDS)
    try:
        try:
            code: Any = main(argv)
        except SystemExit as exc:
            code = exc.code if exc.code is not None else 0
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def check_outcome(argv: list[str], code: Any, out: str, err: str) -> None:
    """The contract: an int status, no traceback, no unexpected error, and a failure's
    last stderr line is one short ``nasbench:`` line. The one exception is a verdict, not
    an error: ``validate --json`` on an invalid table prints its JSON report on stdout."""
    shown = repr([a if len(a) < 60 else a[:30] + f"...({len(a)} chars)" for a in argv])
    assert isinstance(code, int), (shown, code)
    assert "Traceback" not in err, (shown, err[-3000:])
    assert "unexpected error" not in err, (shown, err[-3000:])
    if code == 1 and not err and argv[:1] == ["validate"] and "--json" in argv:
        assert json.loads(out)["valid"] is False, (shown, out[:1000])
        return
    if code != 0:
        lines = err.splitlines()
        assert lines, (shown, "exit status", code, "with nothing on stderr")
        assert lines[-1].startswith("nasbench:"), (shown, err[-3000:])
        assert len(lines[-1]) <= MAX_LINE, (shown, len(lines[-1]), lines[-1][:400])


# --------------------------------------------------------------------- drawing command lines
@st.composite
def command_line(draw: st.DrawFn, path: tuple[str, ...], places: dict[str, str]) -> list[str]:
    """A hostile command line of the command at ``path``."""
    parser = LEAVES[path]
    place_values = sorted(set(places.values()))
    free_text = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=12)

    def value(action: argparse.Action) -> str:
        pools: list[st.SearchStrategy[str]] = [st.sampled_from(HOSTILE), free_text]
        pools += [st.sampled_from(PLAUSIBLE)] * 2  # often enough valid to reach the handler
        if action.choices:
            pools.append(st.sampled_from([str(choice) for choice in action.choices]))
            pools.append(st.sampled_from([str(choice) for choice in action.choices]))
        if "table" in action.dest.lower() or action.metavar == "TABLE":
            pools += [st.just(places["table"])] * 4  # the real table: on to the other arguments
        if any(word in action.dest.lower() for word in PATH_WORDS) or action.type is Path:
            pools += [st.sampled_from(place_values)] * 3
        else:
            pools.append(st.sampled_from(place_values))
        return draw(st.one_of(*pools))

    argv = list(path)
    actions = [
        a for a in parser._actions if not isinstance(a, (argparse._HelpAction, argparse._VersionAction))
    ]
    for action in actions:
        if action.option_strings:
            if not action.required and draw(st.integers(0, 2)) > 0:
                continue
            flag = draw(st.sampled_from(action.option_strings))
            if action.nargs == 0:
                argv.append(flag)
            else:
                argv += [flag, value(action)]
        else:
            low, high = POSITIONAL_COUNTS.get(str(action.nargs), (1, 1))
            for _ in range(draw(st.integers(low, high))):
                argv.append(value(action))
    if draw(st.integers(0, 9)) == 0:  # a stray argument somewhere
        argv.insert(draw(st.integers(len(path), len(argv))), draw(st.sampled_from(HOSTILE)))
    if path not in LIGHT:
        poisonable = [a for a in actions if rejects_poison(a)]
        if poisonable:
            action = draw(st.sampled_from(poisonable))
            argv += [action.option_strings[0], draw(st.sampled_from(POISON))]
        else:
            argv.append("--no-such-option-" + draw(st.sampled_from(["x", "²", "x" * 500])))
    return argv


# --------------------------------------------------------------------- the tests
def test_every_command_is_fuzzed() -> None:
    """The enumeration sees the built-in commands and the nested ``surrogate`` ones."""
    names = {path[0] for path in LEAVES}
    assert {"space", "query", "generate", "compare", "init-table", "merge", "surrogate"} <= names
    assert ("surrogate", "fit") in LEAVES and ("surrogate", "eval") in LEAVES


@pytest.mark.parametrize("path", sorted(LEAVES), ids=" ".join)
def test_hostile_arguments_end_in_one_line(
    path: tuple[str, ...],
    places: dict[str, str],
    pristine_table: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    @settings(
        max_examples=EXAMPLES_LIGHT if path in LIGHT else EXAMPLES_HEAVY,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        argv = data.draw(command_line(path, places), label="argv")
        code, out, err = run_guarded(capsys, argv)
        check_outcome(argv, code, out, err)
        restore(places, pristine_table)

    fuzz()


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["²"],
        ["x" * 5000],
        ["--no-such-option"],
        ["--", "space"],
        ["space", "--preset", "x" * 5000],
        ["query", "{table}", "9" * 5000],
        ["query", "{table}", "x" * 5000],
        ["query", "{table}", "٣"],
        ["query", "{table}", "0", "--epoch", "1180591620717411303424"],
        ["query", "{table}", "0", "--seed", "1180591620717411303424"],
        ["cost", "9" * 5000],
        ["cost", "1180591620717411303424"],
    ],
    ids=lambda argv: " ".join(a[:12] for a in argv) or "no-arguments",
)
def test_top_level_and_arch_arguments(
    argv: list[str], places: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    line = [a.format(**places) for a in argv]
    code, out, err = run_guarded(capsys, line)
    assert code != 0
    check_outcome(line, code, out, err)


COMPARE = ["compare", "--strategies", "rs", "--budget-evals", "3"]

#: Hostile validation-level lines of heavy commands: each must fail before any real work.
HEAVY_CASES: list[list[str]] = [
    ["generate", "--out", "{under_file}", "--quiet"],
    ["generate", "--out", "{dir}", "--quiet"],
    ["generate", "--out", "{fifo}", "--quiet"],
    ["generate", "--out", "{file}", "--quiet"],
    ["generate", "--out", "{new}", "--set", "resolution=100000"],
    ["generate", "--out", "{new}", "--set", "seeds=abc"],
    ["generate", "--out", "{new}", "--set", "seeds=[1.5]"],
    ["generate", "--out", "{new}", "--set", "dataset=[1]"],
    ["generate", "--out", "{new}", "--set", "augment=5"],
    ["generate", "--out", "{new}", "--set", "k=" + "[" * 3000],
    ["generate", "--out", "{new}", "--dataset", "ünïcødé"],
    ["generate", "--out", "{new}", "--preset", ".."],
    ["generate", "--out", "{new}", "--epochs", "1000000000"],
    ["generate", "--out", "{new}", "--seeds", "1180591620717411303424"],
    ["generate", "--out", "{new}", "--workers", "1000000000"],
    ["fidelity", "--out", "{under_file}", "--seeds", "0,1", "--quiet"],
    ["fidelity", "--out", "{new}", "--seeds", "0"],
    ["init-table", "--out", "{new}", "--seeds", "1180591620717411303424"],
    ["init-table", "--out", "{new}", "--epochs", "1000000000"],
    ["init-table", "--out", "{new}", "--seeds", ",".join(map(str, range(200)))],
    [*COMPARE, "--table", "{table}", "--seeds", "10^30", "--out", "{dir}"],
    [*COMPARE, "--table", "{table}", "--seeds", "1" * 40, "--out", "{dir}"],
    [*COMPARE, "--table", "{fifo}", "--seeds", "1", "--out", "{new}"],
    [*COMPARE, "--table", "{file}", "--seeds", "1", "--out", "{new}"],
    [*COMPARE, "--table", "{table}", "--seeds", "1", "--budget-seconds", "nan", "--out", "{new}"],
    ["demo", "--table", "{fifo}"],
    ["demo", "--table", "{table}", "--budget-runs", "inf"],
    ["proxies", "{fifo}"],
    ["proxies", "{dir}"],
    ["surrogate", "eval", "--table", "{fifo}", "--model", "xgb"],
    ["surrogate", "fit", "--table", "{table}", "--out", "{file}", "--overwrite"],
    ["surrogate", "fit", "--table", "{table}", "--out", "{under_file}"],
    ["surrogate", "fit", "--table", "{table}", "--out", "{new}", "--holdout", "nan"],
    ["surrogate", "tune", "--table", "{dir}"],
    ["surrogate", "report", "{fifo}", "--out", "r.md"],
    ["surrogate", "report", "{dir}", "--out", "r.md"],
    ["surrogate", "report", "{table}", "--out", "r.md"],
    ["import", "csv", "{fifo}", "--out", "{new}", "--epoch", "1"],
    ["import", "csv", "{dir}", "--out", "{new}", "--epoch", "1"],
    ["import", "nb201", "{missing}", "--out", "{dir}"],
    ["import", "csv", "{file}", "--out", "{new}", "--epoch", "1000000000"],
    ["reproduce", "--tables", "{fifo}", "--results", "{dir}", "--out", "r.md"],
    ["reproduce", "--tables", "{table}", "--out", "r.txt"],
    ["reproduce", "--tables", "{table}", "--seeds", "10^30"],
    ["validity", "{fifo}", "--against", "{table}"],
    ["validity", "{table}", "--against", "{table}", "--out", "{dir}"],
    ["validity", "{table}", "--against", "{table}", "--epoch", "1180591620717411303424"],
    ["frontier", "{fifo}"],
]  # fmt: skip


@pytest.mark.parametrize("argv", HEAVY_CASES, ids=lambda argv: " ".join(a[:16] for a in argv))
def test_heavy_commands_refuse_hostile_input_before_working(
    argv: list[str], places: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    line = [a.format(**places) for a in argv]
    code, out, err = run_guarded(capsys, line)
    assert code != 0, (line, out)
    check_outcome(line, code, out, err)
    assert len(err.splitlines()) == 1, err[-2000:]
    assert not Path(places["new"]).exists()


def test_compare_refuses_a_malformed_scheduler_address(
    capsys: pytest.CaptureFixture[str], places: dict[str, str]
) -> None:
    argv = [
        *COMPARE,
        "--table",
        places["table"],
        "--seeds",
        "1",
        "--out",
        places["new"],
        "--scheduler",
        "garbage",
    ]
    code, out, err = run_guarded(capsys, argv)
    check_outcome(argv, code, out, err)
    assert code == 1 and not list(Path(places["dir"]).parent.glob("new.h5*"))


@pytest.mark.parametrize("path", ["x" * 5000, "\r"], ids=["5000-characters", "carriage-return"])
def test_validate_of_a_hostile_path_is_one_short_line(
    path: str, capsys: pytest.CaptureFixture[str], places: dict[str, str]
) -> None:
    argv = ["validate", path]
    code, out, err = run_guarded(capsys, argv)
    assert code == 1 and len(err.splitlines()) == 1
    check_outcome(["not-validate", *argv[1:]], code, out, err)

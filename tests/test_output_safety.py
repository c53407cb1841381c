"""Nothing lost: the suite replaces only what it wrote, and a failure leaves no partial output.

Results directories carry a manifest (``.nasbench-results.json``) of the files a comparison
wrote; reports carry one of their own; surrogate artifacts are written through temporary
siblings. Each case here is a way a user's data was lost or left half-written before.
"""

from __future__ import annotations

import builtins
import errno
import hashlib
import io
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from report_fixtures import FakeStrategy, write_results

from nasbench.bench.results import FORMAT, MANIFEST_FILE, MANIFEST_FORMAT, RESULT_FILES
from nasbench.cli.main import main
from nasbench.core.errors import ConfigError, NasbenchError
from nasbench.reporting.leaderboard import MANIFEST_NAME, ResultsError, write_report
from nasbench.search import Budget, compare
from nasbench.search.results_files import install, json_text
from nasbench.testing import synthetic_table

BUDGET = Budget(evaluations=6)


# --------------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("safety-table") / "T.h5"
    synthetic_table(path)
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path -> bytes)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def hidden(folder: Path) -> list[str]:
    """Temporary or replaced siblings left in ``folder`` (their names start with a dot)."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def run_cli(capsys: pytest.CaptureFixture[str], *argv: Any) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 1, err
    assert err.count("\n") == 1 and err.startswith("nasbench: error: "), err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def full_disk_after(
    monkeypatch: pytest.MonkeyPatch,
    matches: Callable[[str], bool],
    allowed: int = 0,
    error: int = errno.ENOSPC,
) -> None:
    """Make writing a file whose name ``matches`` fail as a full disk does, after
    ``allowed`` such writes succeeded: the file is created, nothing is written into it, and
    ``OSError(error)`` is raised. Patches both ``open`` and ``io.open`` (``Path.write_bytes``)."""
    real_open = builtins.open
    calls = {"count": 0}

    def failing_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, (str, Path)) and any(c in mode for c in "wxa") and matches(Path(file).name):
            calls["count"] += 1
            if calls["count"] > allowed:
                real_open(file, mode, *args, **kwargs).close()  # the file exists, empty
                raise OSError(error, "No space left on device")
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", failing_open)
    monkeypatch.setattr(io, "open", failing_open)


# --------------------------------------------------------------------- results directories
def test_a_results_directory_lists_its_files_in_a_manifest(table: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    compare([table], ["rs"], 2, BUDGET, out, progress=False)
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    assert manifest["format"] == MANIFEST_FORMAT
    listed = {entry["name"]: entry for entry in manifest["files"]}
    assert set(listed) == set(RESULT_FILES) - {MANIFEST_FILE, "timing.json"}
    for name, entry in listed.items():
        data = (out / name).read_bytes()
        assert entry["bytes"] == len(data) and entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["unverified"] == ["timing.json"]  # its wall seconds differ on every run
    again = tmp_path / "again"
    compare([table], ["rs"], 2, BUDGET, again, progress=False)
    assert (again / MANIFEST_FILE).read_bytes() == (out / MANIFEST_FILE).read_bytes()


def test_compare_never_deletes_its_input_table_or_notes_in_the_out_directory(
    table: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``mkdir proj; cp T.h5 proj/; echo notes > proj/notes.md;
    compare --table proj/T.h5 --out proj --overwrite``: refused, both files kept."""
    project = tmp_path / "proj"
    project.mkdir()
    shutil.copyfile(table, project / "T.h5")
    (project / "notes.md").write_text("notes\n")
    before = snapshot(project)
    argv = ["compare", "--table", project / "T.h5", "--strategies", "rs", "--seeds", "1"]
    code, _, err = run_cli(capsys, *argv, "--budget-evals", "4", "--out", project, "--overwrite", "--quiet")
    assert_one_line_error(code, err, "did not write", "T.h5")
    assert snapshot(project) == before and hidden(tmp_path) == []


def test_a_file_named_like_a_result_is_not_ours_without_a_manifest(table: Path, tmp_path: Path) -> None:
    """A user's own runs.csv (no config.json of a comparison, no manifest) is never replaced."""
    out = tmp_path / "mine"
    out.mkdir()
    (out / "runs.csv").write_text("my,own,numbers\n")
    with pytest.raises(ConfigError, match=r"did not write \(runs\.csv\)"):
        compare([table], ["rs"], 1, BUDGET, out, overwrite=True, progress=False)
    assert (out / "runs.csv").read_text() == "my,own,numbers\n" and hidden(tmp_path) == []


def test_a_result_file_changed_after_compare_wrote_it_is_not_replaced(table: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    compare([table], ["rs"], 1, BUDGET, out, progress=False)
    edited = (out / "runs.csv").read_text() + "my annotation\n"
    (out / "runs.csv").write_text(edited)
    before = snapshot(out)
    with pytest.raises(ConfigError, match=r"runs\.csv was changed after nasbench compare wrote it"):
        compare([table], ["rs"], 1, BUDGET, out, overwrite=True, progress=False)
    assert snapshot(out) == before and hidden(tmp_path) == []
    (out / "runs.csv").unlink()  # the user moved it away: the rest is the suite's own
    compare([table], ["rs"], 2, BUDGET, out, overwrite=True, progress=False)
    assert sorted(p.name for p in out.iterdir()) == sorted(RESULT_FILES)


def test_results_written_before_manifests_are_still_replaced(tmp_path: Path) -> None:
    out = tmp_path / "old"
    out.mkdir()
    (out / "config.json").write_text(json.dumps({"format": FORMAT}))
    (out / "runs.csv").write_text("table\n")
    install({"config.json": json_text({"format": FORMAT}), "runs.csv": "new\n"}, out, True)
    assert (out / "runs.csv").read_text() == "new\n" and (out / MANIFEST_FILE).is_file()
    assert hidden(tmp_path) == []


def test_a_full_disk_leaves_the_earlier_results_and_no_temporary_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    install({"config.json": json_text({"format": FORMAT}), "runs.csv": "first\n"}, out, False)
    before = snapshot(out)
    full_disk_after(monkeypatch, lambda name: name.endswith(".csv"))
    with pytest.raises(ConfigError, match="cannot write the results") as info:
        install({"config.json": json_text({"format": FORMAT}), "runs.csv": "second\n"}, out, True)
    assert "\n" not in str(info.value)
    monkeypatch.undo()
    assert snapshot(out) == before and hidden(tmp_path) == []


# --------------------------------------------------------------------- demo
def test_demo_never_replaces_a_directory_it_did_not_write(
    table: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``demo --results DIR`` holding a user's file, even one named like a result: refused
    before anything runs, the file kept."""
    for name in ("notes.md", "runs.csv"):
        results = tmp_path / f"results-{name}"
        results.mkdir()
        (results / name).write_text("mine\n")
        argv = ["demo", "--table", table, "--results", results, "--out", tmp_path / "lb", "--seeds", "1"]
        code, out, err = run_cli(capsys, *argv, "--budget-runs", "2", "--strategies", "rs", "--quiet")
        assert_one_line_error(code, err, name)
        assert out == "" and snapshot(results) == {name: b"mine\n"}
    assert not (tmp_path / "lb.md").exists() and hidden(tmp_path) == []


def test_demo_checks_its_report_before_comparing(
    table: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A report prefix that would replace a user's file is refused before the comparison
    runs: no results directory is written for nothing."""
    (tmp_path / "lb.md").write_text("my notes\n")
    results = tmp_path / "results"
    argv = ["demo", "--table", table, "--results", results, "--out", tmp_path / "lb", "--seeds", "1"]
    code, _, err = run_cli(capsys, *argv, "--budget-runs", "2", "--strategies", "rs", "--quiet")
    assert_one_line_error(code, err, "lb.md", "not written by nasbench report")
    assert not results.exists() and (tmp_path / "lb.md").read_text() == "my notes\n"


# --------------------------------------------------------------------- reports
@pytest.fixture(scope="module")
def two_results(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two results directories whose reports differ in every figure."""
    folder = tmp_path_factory.mktemp("two-results")
    strategies = (
        FakeStrategy("re", final_regret_pp=0.3),
        FakeStrategy("rs"),
        FakeStrategy("ls", final_regret_pp=2),
    )
    # Demšar's protocol: Friedman rejects (every seed ranks re < rs < ls), so each report
    # draws a critical-difference diagram beside its anytime curves: two figures.
    demsar = {"protocol": "demsar", "alpha": 0.05}
    first = write_results(
        folder / "a", strategies=strategies, seeds=range(3), evaluations=12, failed=(), statistics=demsar
    )
    second = write_results(
        folder / "b", strategies=strategies, seeds=range(4), evaluations=15, failed=(), statistics=demsar
    )
    return first.directory, second.directory


def test_a_readme_titled_like_a_report_is_not_taken_for_one(
    two_results: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``report --out README`` beside a README.md whose title starts with "nasbench": the
    user's file, never replaced."""
    readme = tmp_path / "README.md"
    readme.write_text("# nasbench experiments\n\nmy notes\n")
    code, _, err = run_cli(capsys, "report", two_results[0], "--out", tmp_path / "README")
    assert_one_line_error(code, err, "README.md", "not written by nasbench report")
    assert readme.read_text() == "# nasbench experiments\n\nmy notes\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md"]


def test_a_report_file_edited_since_is_not_replaced(
    two_results: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = write_report(two_results[0], tmp_path / "README")
    markdown = paths[1]
    markdown.write_text(markdown.read_text() + "\nMy own conclusions.\n")
    before = snapshot(tmp_path)
    code, _, err = run_cli(capsys, "report", two_results[1], "--out", tmp_path / "README")
    assert_one_line_error(code, err, "README.md", "changed after nasbench report wrote it")
    assert snapshot(tmp_path) == before


def test_a_crafted_manifest_cannot_make_a_report_delete_other_files(
    two_results: tuple[Path, Path], tmp_path: Path
) -> None:
    board = tmp_path / "reports" / "board"
    paths = write_report(two_results[0], board)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    manifest_path = paths[0].parent / "board_files" / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text())
    manifest["files"] += ["../victim.txt", "board_files/../../victim.txt", str(victim)]
    manifest_path.write_text(json.dumps(manifest))
    write_report(two_results[1], board)
    assert victim.read_text() == "precious\n"


def test_a_full_disk_while_writing_figures_leaves_the_earlier_report(
    two_results: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC on the second figure: the earlier report stays byte for byte, and no empty
    PNG or temporary file is left behind."""
    folder = tmp_path / "reports"
    write_report(two_results[0], folder / "board")
    before = snapshot(folder)
    full_disk_after(monkeypatch, lambda name: ".png" in name, allowed=1)
    with pytest.raises(ResultsError, match="cannot write the report") as info:
        write_report(two_results[1], folder / "board")
    monkeypatch.undo()
    assert "\n" not in str(info.value)
    assert snapshot(folder) == before
    assert hidden(folder) == [] and hidden(folder / "board_files") == [MANIFEST_NAME]
    assert all(path.stat().st_size > 0 for path in (folder / "board_files").iterdir())


def test_an_interrupt_while_writing_a_report_leaves_the_earlier_one(
    two_results: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "reports"
    write_report(two_results[0], folder / "board")
    before = snapshot(folder)
    real_open = builtins.open

    def interrupted(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, (str, Path)) and "board.md" in Path(file).name and any(c in mode for c in "wx"):
            raise KeyboardInterrupt
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", interrupted)
    monkeypatch.setattr(io, "open", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_report(two_results[1], folder / "board")
    monkeypatch.undo()
    assert snapshot(folder) == before and hidden(folder) == []


def test_a_report_prefix_under_a_file_is_one_line(
    two_results: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "afile").write_text("x")
    code, _, err = run_cli(capsys, "report", two_results[0], "--out", tmp_path / "afile" / "r")
    assert_one_line_error(code, err, "cannot write the report")
    assert (tmp_path / "afile").read_text() == "x"


# --------------------------------------------------------------------- surrogate artifacts
@pytest.fixture
def fitted() -> Iterator[Any]:
    from nasbench.prediction import Surrogate, register_surrogate
    from nasbench.prediction.registry import surrogate_registry

    class Mean(Surrogate):
        """The mean of the training targets."""

        def _fit(self, indices: np.ndarray, y: np.ndarray) -> None:
            self.mean_ = float(np.mean(y))

        def _predict(self, indices: np.ndarray, return_std: bool) -> tuple[np.ndarray, None]:
            return np.full(len(indices), self.mean_), None

        def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
            return {"mean": self.mean_}, {}

        def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
            self.mean_ = float(state["mean"])

    with surrogate_registry.scoped():
        register_surrogate("safety-mean")(Mean)
        yield Mean().fit(np.arange(20), np.linspace(0.0, 1.0, 20))


def test_a_full_disk_while_saving_a_surrogate_keeps_the_earlier_file(
    fitted: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nasbench.prediction import load_surrogate

    path = tmp_path / "model.nbs"
    fitted.save(path)
    before = path.read_bytes()
    full_disk_after(monkeypatch, lambda name: "model.nbs" in name)
    with pytest.raises(NasbenchError, match="cannot write the surrogate artifact"):
        fitted.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before and hidden(tmp_path) == []
    assert load_surrogate(path).predict(np.arange(3)).tolist() == [0.5, 0.5, 0.5]


def test_a_surrogate_directory_is_written_whole_and_replaces_only_its_own(
    fitted: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nasbench.prediction.artifacts import (
        artifact_bytes,
        check_artifact_directory,
        write_artifact_directory,
    )

    manifest = json.dumps({"format": "test-surrogates"}).encode()
    files = {"a.surrogate": artifact_bytes(fitted), "model.json": manifest}
    options = {"manifest_name": "model.json", "manifest_format": "test-surrogates"}
    out = tmp_path / "surrogate"
    write_artifact_directory(files, out, overwrite=False, **options)
    assert snapshot(out) == files
    with pytest.raises(ConfigError, match="not empty"):
        write_artifact_directory(files, out, overwrite=False, **options)
    write_artifact_directory({**files, "b.surrogate": files["a.surrogate"]}, out, overwrite=True, **options)
    assert sorted(snapshot(out)) == ["a.surrogate", "b.surrogate", "model.json"]
    # a full disk half-way: the earlier directory as it was, nothing partial beside it
    before = snapshot(out)
    full_disk_after(monkeypatch, lambda name: name == "model.json")
    with pytest.raises(ConfigError, match="cannot write the surrogate directory"):
        write_artifact_directory(files, out, overwrite=True, **options)
    monkeypatch.undo()
    assert snapshot(out) == before and hidden(tmp_path) == []
    # a file the save did not write: refused, in one line
    (out / "notes.md").write_text("mine")
    with pytest.raises(ConfigError, match=r"holds notes\.md, which a surrogate save did not write"):
        write_artifact_directory(files, out, overwrite=True, **options)
    assert (out / "notes.md").read_text() == "mine"
    # ``surrogate fit --out FILE --overwrite``: a regular file is never taken for a directory
    regular = tmp_path / "FILE"
    regular.write_text("data")
    for call in (check_artifact_directory, lambda *a, **k: write_artifact_directory(files, *a, **k)):
        with pytest.raises(ConfigError, match="exists and is not a directory") as info:
            call(regular, overwrite=True, **options)
        assert "\n" not in str(info.value)
    assert regular.read_text() == "data"

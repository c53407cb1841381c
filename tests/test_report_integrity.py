"""A leaderboard never ranks broken results, and never carries raw HTML from its inputs.

``report`` checks each file against the results directory's manifest and runs.csv against
config.json and trajectories.csv; every string from a table, config.json or a plug-in is
escaped in the Markdown (and the HTML).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any, ClassVar

import pytest
from report_fixtures import FakeStrategy, write_results

from nasbench.bench.results import MANIFEST_FILE
from nasbench.cli.main import main
from nasbench.reporting.leaderboard import ResultsError, load_results, write_report
from nasbench.search import Budget, compare
from nasbench.testing import synthetic_table

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A results directory written by compare (so with a manifest): 2 strategies x 2 seeds."""
    folder = tmp_path_factory.mktemp("integrity")
    synthetic_table(folder / "T.h5")
    out = folder / "results"
    compare([folder / "T.h5"], ["rs", "re"], 2, Budget(evaluations=6), out, progress=False)
    return out


@pytest.fixture(scope="module")
def legacy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Fabricated results without a manifest, as written before manifests existed."""
    strategies = (
        FakeStrategy("re", final_regret_pp=0.3),
        FakeStrategy("rs"),
        FakeStrategy("ls", final_regret_pp=2.0),
    )
    made = write_results(
        tmp_path_factory.mktemp("legacy") / "r",
        strategies=strategies,
        seeds=range(3),
        evaluations=10,
        failed=(("rs", 1),),
    )
    return made.directory


def copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def report_cli(capsys: pytest.CaptureFixture[str], *argv: Any) -> tuple[int, str, str]:
    code = main(["report", *(str(a) for a in argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_refused(code: int, err: str, *fragments: str) -> None:
    assert code == 1 and err.count("\n") == 1 and err.startswith("nasbench: error: "), err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


# --------------------------------------------------------------------- the manifest
def test_verified_results_say_so(results: Path, tmp_path: Path) -> None:
    assert load_results(results).verified
    markdown = write_report(results, tmp_path / "board")[1].read_text()
    assert f"checked against the manifest {MANIFEST_FILE}" in markdown
    assert "Not verified" not in markdown


def test_a_truncated_runs_csv_is_refused_in_one_line(
    results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = copy(results, tmp_path / "broken")
    runs = broken / "runs.csv"
    runs.write_bytes(runs.read_bytes()[:200])
    code, _, err = report_cli(capsys, broken, "--out", tmp_path / "board")
    assert_refused(code, err, "runs.csv", "200 bytes", "truncated")
    assert not (tmp_path / "board.md").exists()


def test_an_edited_file_of_the_same_size_is_refused(results: Path, tmp_path: Path) -> None:
    broken = copy(results, tmp_path / "broken")
    text = (broken / "trajectories.csv").read_text()
    digit = re.search(r"\d", text.splitlines()[1])
    assert digit is not None
    lines = text.splitlines(keepends=True)
    position = digit.start()
    lines[1] = lines[1][:position] + str((int(lines[1][position]) + 1) % 10) + lines[1][position + 1 :]
    (broken / "trajectories.csv").write_text("".join(lines))
    with pytest.raises(ResultsError, match=r"trajectories\.csv: sha256 differs from the manifest"):
        load_results(broken)


def test_a_file_beside_the_manifest_that_it_does_not_list_is_refused(results: Path, tmp_path: Path) -> None:
    broken = copy(results, tmp_path / "broken")
    (broken / "pareto.csv").unlink()
    shutil.copy(results / "pareto.csv", broken / "pareto.csv")  # unchanged: still fine
    load_results(broken)
    manifest = json.loads((broken / MANIFEST_FILE).read_text())
    manifest["files"] = [entry for entry in manifest["files"] if entry["name"] != "pareto.csv"]
    (broken / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ResultsError, match=r"pareto\.csv: not in the manifest"):
        load_results(broken)


def test_results_without_a_manifest_are_read_but_marked_not_verified(legacy: Path, tmp_path: Path) -> None:
    assert not load_results(legacy).verified
    markdown = write_report(legacy, tmp_path / "board")[1].read_text()
    assert "Not verified: this results directory has no manifest" in markdown
    assert "Result files not verified" in markdown


# --------------------------------------------------------------------- runs against config.json
def _edit_runs(directory: Path, edit: Any) -> None:
    lines = (directory / "runs.csv").read_text().splitlines(keepends=True)
    (directory / "runs.csv").write_text("".join(edit(lines)))


def test_duplicated_runs_are_refused(
    legacy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = copy(legacy, tmp_path / "broken")
    _edit_runs(broken, lambda lines: [*lines, *lines[1:]])  # every run twice: "N of N runs" before
    code, _, err = report_cli(capsys, broken, "--out", tmp_path / "board")
    assert_refused(code, err, "runs.csv", "is listed 2 times")


def test_a_run_config_json_does_not_ask_for_is_refused(legacy: Path, tmp_path: Path) -> None:
    broken = copy(legacy, tmp_path / "broken")
    _edit_runs(
        broken, lambda lines: [*lines, next(x for x in lines if ",re," in x).replace(",re,", ",ghost,")]
    )
    with pytest.raises(ResultsError, match=r"the run ghost on .*, seed 0 is not one config\.json asks for"):
        load_results(broken)


def test_missing_runs_are_refused_unless_allowed_and_then_listed(
    legacy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = copy(legacy, tmp_path / "broken")
    rows = (broken / "runs.csv").read_text().splitlines(keepends=True)[1:]
    dropped = next(row for row in rows if ",ls," in row and ",ok," in row)
    table, strategy, _, seed = dropped.split(",")[:4]
    _edit_runs(broken, lambda lines: [line for line in lines if line != dropped])
    kept = [line for line in (broken / "trajectories.csv").read_text().splitlines(keepends=True)]
    prefix = f"{table},{strategy},{seed},"
    (broken / "trajectories.csv").write_text("".join(line for line in kept if not line.startswith(prefix)))
    code, _, err = report_cli(capsys, broken, "--out", tmp_path / "board")
    assert_refused(
        code, err, "runs.csv", "1 of 9 runs config.json asks for are missing", "--allow-incomplete"
    )
    assert not (tmp_path / "board.md").exists()
    code, _, err = report_cli(capsys, broken, "--out", tmp_path / "board", "--allow-incomplete")
    assert code == 0, err
    markdown = (tmp_path / "board.md").read_text()
    assert "## Incomplete results" in markdown
    assert "1 of the 9 runs that config.json asks for are missing from runs.csv" in markdown
    assert f"| {table} | {strategy} | {seed} |" in markdown
    assert "7 of 8 runs finished; 1 more that config.json asks for are missing" in markdown
    html = (tmp_path / "board.html").read_text()
    assert '<a href="#incomplete-results">Incomplete results</a>' in html  # in the contents


def test_an_incomplete_trajectory_is_refused(legacy: Path, tmp_path: Path) -> None:
    broken = copy(legacy, tmp_path / "broken")
    lines = (broken / "trajectories.csv").read_text().splitlines(keepends=True)
    (broken / "trajectories.csv").write_text("".join(lines[:-1]))
    with pytest.raises(
        ResultsError, match=r"trajectories\.csv: 9 rows for .*runs\.csv records 10 evaluations"
    ):
        load_results(broken)


def test_a_trajectory_of_a_failed_run_is_refused(legacy: Path, tmp_path: Path) -> None:
    broken = copy(legacy, tmp_path / "broken")
    failed = next(line for line in (broken / "runs.csv").read_text().splitlines() if ",failed," in line)
    table, strategy, _, seed = failed.split(",")[:4]
    lines = (broken / "trajectories.csv").read_text().splitlines(keepends=True)
    row = lines[1].split(",")
    row[:3] = [table, strategy, seed]
    (broken / "trajectories.csv").write_text("".join([*lines, ",".join(row)]))
    with pytest.raises(ResultsError, match=r"which runs\.csv does not list as finished"):
        load_results(broken)


# --------------------------------------------------------------------- escaping
@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Results whose table, strategies, hyperparameters and errors carry HTML, Markdown and
    TeX: what a crafted table or plug-in could put there."""
    strategies = (
        FakeStrategy(HOSTILE, final_regret_pp=0.3, hyperparameters={"note": "<script>alert(2)</script>"}),
        FakeStrategy("rs`</code><b>x</b>"),
        FakeStrategy(r"tex $\frac$ [link](javascript:alert(3))", final_regret_pp=2.0),
    )
    made = write_results(
        tmp_path_factory.mktemp("hostile") / "r",
        strategies=strategies,
        seeds=range(3),
        tables=("<svg onload=alert(4)>",),
        evaluations=8,
        failed=(("rs`</code><b>x</b>", 1),),
    )
    errors = json.loads((made.directory / "errors.json").read_text())
    for error in errors:
        error["error"] = f"ValueError: {HOSTILE}"
        error["traceback"] = "```\n</details><img src=y onerror=alert(5)>\n```"
    (made.directory / "errors.json").write_text(json.dumps(errors))
    return made.directory


def _outside_code(markdown: str) -> str:
    """The Markdown with fenced blocks and code spans removed (where HTML is shown as is)."""
    without_fences = re.sub(r"(?ms)^(`{3,})[^\n]*\n.*?^\1\s*$", "", markdown)
    return re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", without_fences)


def test_strings_from_tables_and_plugins_are_escaped_in_markdown_and_html(
    hostile: Path, tmp_path: Path
) -> None:
    paths = write_report(hostile, tmp_path / "board")
    markdown, html = paths[1].read_text(), paths[0].read_text()
    prose = _outside_code(markdown)
    for raw in ("<img", "<script", "<svg", "<b>", "</code>"):
        assert raw not in prose, raw
    assert not re.search(r"(?<!\\)\]\(javascript", prose)  # escaped: no link
    assert "&lt;img src=x onerror=alert(1)>" in markdown  # a "<" that opens no tag stays as is
    assert "&lt;svg onload=alert(4)>" in markdown
    for raw in ("<img src", "<script", "<svg", "<b>x"):
        assert raw not in html, raw
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    # the traceback's fence cannot be closed by the text it holds
    assert "````text\n```\n</details><img src=y onerror=alert(5)>\n```\n````" in markdown


def test_rendered_markdown_holds_no_live_html(hostile: Path, tmp_path: Path) -> None:
    """Rendered as GitHub does (raw HTML allowed), the report has no element from its inputs."""
    markdown_it = pytest.importorskip("markdown_it")
    markdown = write_report(hostile, tmp_path / "board")[1].read_text()
    rendered = markdown_it.MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
    for raw in ("<img src=x", "<img src=y", "<script", "<svg", "<b>x", 'href="javascript'):
        assert raw not in rendered, raw
    assert "onerror=alert(1)" in rendered  # shown, as text


def test_the_data_card_escapes_what_a_table_says(tmp_path: Path) -> None:
    from nasbench.core.table import open_table
    from nasbench.reporting.card import data_card

    table = open_table(synthetic_table(tmp_path / "t.h5").path)

    class Crafted:
        """A table whose attributes carry HTML."""

        dataset: ClassVar = {"name": HOSTILE, "normalisation": "<script>alert(2)</script>"}
        protocol: ClassVar = {"optimizer": "[click](javascript:alert(3))"}
        provenance: ClassVar = {"host": "<iframe src=//evil>"}

        def __getattr__(self, name: str) -> Any:
            return getattr(table, name)

    card = data_card(Crafted(), title=HOSTILE)
    prose = _outside_code(card)
    for raw in ("<img", "<script", "<iframe"):
        assert raw not in prose, raw
    assert not re.search(r"(?<!\\)\]\(javascript", prose)
    assert card.startswith("### &lt;img src=x onerror=alert(1)>\n")

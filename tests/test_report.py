"""The leaderboard report: files, figures, statistics, determinism, errors, and the page in a browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from report_fixtures import FAILED_ERROR, MEAN_RUN_SECONDS, FabricatedResults, FakeStrategy, write_results
from scipy import stats

from nasbench.core.errors import NasbenchError
from nasbench.reporting.leaderboard import (
    MANIFEST_NAME,
    Comparison,
    ResultsError,
    analyse,
    load_results,
    write_report,
)

# One report of the default fabricated results: re < rs < nsga2 by final regret on every
# seed, rs fails on seed 3, nsga2 is multi-objective, constrained-re runs alone under a constraint.
# config.json chose the baseline protocol (against rs), which draws no critical-difference
# diagram (tests/test_report_statistics.py checks the diagram under Demšar's protocol).
EXPECTED_PLOTS = {"anytime": 2, "pareto": 1}


@pytest.fixture(scope="module")
def fabricated(tmp_path_factory: pytest.TempPathFactory) -> FabricatedResults:
    return write_results(tmp_path_factory.mktemp("results") / "compare")


@pytest.fixture(scope="module")
def report(fabricated: FabricatedResults, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_report(fabricated.directory, tmp_path_factory.mktemp("report") / "leaderboard")


@pytest.fixture(scope="module")
def comparisons(fabricated: FabricatedResults) -> list[Comparison]:
    return analyse(load_results(fabricated.directory))


def _main(comparisons: list[Comparison]) -> Comparison:
    return next(c for c in comparisons if not c.constraint)


def _markdown_table_rows(markdown: str, first_header: str) -> list[list[str]]:
    """Cells of the rows of the first Markdown table whose header starts with ``first_header``."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


# --------------------------------------------------------------------- files and figures
def test_writes_html_markdown_and_one_png_per_figure(report: list[Path]) -> None:
    html_path, markdown_path, *pngs = report
    assert html_path.name == "leaderboard.html" and markdown_path.name == "leaderboard.md"
    assert all(path.is_file() and path.stat().st_size > 0 for path in report)
    assert len(pngs) == sum(EXPECTED_PLOTS.values())
    assert {path.parent.name for path in pngs} == {"leaderboard_files"}
    assert all(path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") for path in pngs)
    # Markdown links every figure relatively, and each link resolves next to the file.
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown_path.read_text())
    assert sorted(links) == sorted(f"leaderboard_files/{path.name}" for path in pngs)
    assert all((markdown_path.parent / link).is_file() for link in links)


def test_html_is_self_contained_with_one_image_per_plot(report: list[Path]) -> None:
    page = report[0].read_text()
    images = re.findall(r"<img [^>]*>", page)
    kinds = [re.search(r'data-plot="([^"]+)"', tag).group(1) for tag in images]  # type: ignore[union-attr]
    assert {kind: kinds.count(kind) for kind in set(kinds)} == EXPECTED_PLOTS
    assert all('src="data:image/png;base64,' in tag for tag in images)
    assert "<script" not in page
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)
    assert re.search(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", page) is None  # no timestamps


def test_final_table_ranks_strategies_as_the_data_dictates(
    report: list[Path], comparisons: list[Comparison], fabricated: FabricatedResults
) -> None:
    """rs failed on seed 3: scored there as the worst of the seed (nsga2's regret, last rank),
    and seed 3 stays a block for every strategy."""
    main = _main(comparisons)
    assert [s.strategy for s in main.summaries] == ["re", "rs", "nsga2"]
    assert [s.average_rank for s in main.summaries] == [1.0, 2.2, 2.8]
    assert main.seeds_used == [0, 1, 2, 3, 4] and main.seeds_left_out == []
    rs = main.summaries[1]
    assert (rs.runs_total, rs.runs_failed, len(rs.final_regret), rs.runs_scored_worst) == (5, 1, 4, 1)
    finished = [fabricated.final_regret[("tiny-digits", "rs", seed)] for seed in (0, 1, 2, 4)]
    np.testing.assert_allclose(rs.final_regret, finished)
    scored = [*finished[:3], fabricated.final_regret[("tiny-digits", "nsga2", 3)], finished[3]]
    np.testing.assert_array_equal(rs.scored_regret, scored)
    rows = _markdown_table_rows(report[1].read_text(), "position")
    assert [(row[0], row[1], row[2], row[4], row[5]) for row in rows[:3]] == [
        ("1", "1.00", "re", "5 / 5", "0"),
        ("2", "2.20", "rs", "4 / 5", "1"),
        ("3", "2.80", "nsga2", "5 / 5", "0"),
    ]
    assert rows[1][9] == f"{np.mean(scored):.3f} ± {np.std(scored, ddof=1):.3f}"


def test_wilcoxon_against_the_baseline_and_friedman_equal_scipy(
    report: list[Path], comparisons: list[Comparison], fabricated: FabricatedResults
) -> None:
    """The baseline protocol config.json chose: each strategy against rs (not against the
    best-ranked re), Pratt, Holm; under Demšar's protocol the same runs give scipy's
    tie-corrected Friedman test on the ranks with rs's failure ranked last."""
    main = _main(comparisons)
    regret = {
        name: [fabricated.final_regret.get(("tiny-digits", name, seed), np.inf) for seed in range(5)]
        for name in ("nsga2", "re", "rs")
    }
    scored_rs = np.asarray(regret["rs"])
    scored_rs[3] = max(regret["re"][3], regret["nsga2"][3])  # the worst of its seed
    by_name = {test.strategy: test for test in main.wilcoxon}
    assert set(by_name) == {"re", "nsga2"} and {t.reference for t in main.wilcoxon} == {"rs"}
    p_values = []
    for name in ("re", "nsga2"):
        expected = stats.wilcoxon(np.subtract(regret[name], scored_rs), zero_method="pratt")
        assert by_name[name].num_pairs == 5
        assert by_name[name].statistic == pytest.approx(expected.statistic, rel=1e-12)
        assert by_name[name].p_value == pytest.approx(expected.pvalue, rel=1e-12)
        p_values.append(expected.pvalue)
    assert by_name["nsga2"].num_zero == 1  # seed 3: rs scored as nsga2's regret there
    holm = sorted(p_values)
    holm = [min(1.0, 2 * holm[0]), min(1.0, max(2 * holm[0], holm[1]))]
    assert sorted(test.p_value_holm for test in main.wilcoxon) == pytest.approx(holm, rel=1e-12)
    results = load_results(fabricated.directory)
    results.config["statistics"] = {"protocol": "demsar", "alpha": 0.05}
    demsar = _main(analyse(results))
    friedman = stats.friedmanchisquare(*regret.values())  # inf: rs's failure ranks last
    assert demsar.friedman.statistic == pytest.approx(friedman.statistic, rel=1e-12)
    assert demsar.friedman.p_value == pytest.approx(friedman.pvalue, rel=1e-12)
    if friedman.pvalue < 0.05:
        critical = stats.studentized_range.ppf(0.95, 3, np.inf) / np.sqrt(2) * np.sqrt(3 * 4 / (6 * 5))
        assert demsar.critical_difference == pytest.approx(critical, rel=1e-9)
    markdown = report[1].read_text()
    section = markdown[markdown.index("## Table tiny-digits") : markdown.index("## Multi-objective")]
    assert "### Statistics" in section and "Friedman" not in section  # not part of the baseline protocol


def test_constrained_runs_have_their_own_section_and_skip_tests_with_a_reason(
    report: list[Path], comparisons: list[Comparison]
) -> None:
    constrained = [c for c in comparisons if c.constraint]
    assert [(c.constraint, [s.strategy for s in c.summaries]) for c in constrained] == [
        ("cpu-1t/latency_ms_b1<=0.25", ["constrained-re"])
    ]
    assert "constrained-re" not in [s.strategy for s in _main(comparisons).summaries]
    assert not constrained[0].wilcoxon and not constrained[0].tested
    assert constrained[0].baseline_skipped == "the baseline rs has no runs in this comparison"
    markdown = report[1].read_text()
    section = markdown[markdown.index("## Constrained runs") : markdown.index("## Failed runs")]
    assert "Verdict: No test against the baseline: the baseline rs has no runs in this comparison." in section
    assert "| 1 | 1.00 | constrained-re | constrained |" in section


def test_failed_runs_pareto_checklist_and_provenance(
    report: list[Path], fabricated: FabricatedResults
) -> None:
    markdown = report[1].read_text()
    assert f"| tiny-digits | rs | 3 | {FAILED_ERROR} |" in markdown
    assert "## Multi-objective runs: Pareto fronts" in markdown
    assert re.search(r"\| nsga2 \| 5 \| \d+ \| \d+ \| 0\.\d{3} ± 0\.\d{3} \|", markdown)
    checklist = {row[0]: row[1] for row in _markdown_table_rows(markdown, "item")}
    assert checklist["Random-search baseline included"] == "✔ met"
    assert checklist["At least 5 seeds per strategy"] == "✔ met"
    assert checklist["Test data not used for search"] == "✔ met"
    assert "sandbox process holding no test data" in markdown
    assert checklist["Failed runs reported, not dropped"] == "✔ met"
    assert checklist["Table checksums recorded"] == "✔ met"
    assert checklist["More than one table (dataset)"] == "✘ not met"
    config = json.loads((fabricated.directory / "config.json").read_text())
    assert config["tables"][0]["checksum"] in markdown
    assert json.dumps(config, sort_keys=True, indent=2) in markdown
    assert "timing.json" not in markdown


def test_provenance_shows_the_mean_seconds_of_a_full_run(
    report: list[Path], fabricated: FabricatedResults, tmp_path: Path
) -> None:
    """Read from ``mean_run_seconds``, or ``mean_train_seconds`` in results written before."""
    markdown = report[1].read_text()
    header = next(line for line in markdown.splitlines() if line.startswith("| table | path |"))
    assert header.endswith("| epochs | best test acc % | mean s per full run |")
    (row,) = _markdown_table_rows(markdown, "table | path")
    assert row[0] == "tiny-digits" and row[-3:] == ["12", "93.50", f"{MEAN_RUN_SECONDS:.1f}"]
    older = tmp_path / "older"
    shutil.copytree(fabricated.directory, older)
    config = json.loads((older / "config.json").read_text())
    for entry in config["tables"]:
        entry["mean_train_seconds"] = 42.0
        del entry["mean_run_seconds"]
    (older / "config.json").write_text(json.dumps(config, sort_keys=True, indent=2) + "\n")
    (row,) = _markdown_table_rows(write_report(older, tmp_path / "report")[1].read_text(), "table | path")
    assert row[-1] == "42.0"


def test_checklist_follows_the_configuration(tmp_path: Path) -> None:
    strategies = (FakeStrategy("re", final_regret_pp=0.3), FakeStrategy("bananas", final_regret_pp=0.6))
    fabricated = write_results(
        tmp_path / "results",
        strategies=strategies,
        seeds=range(3),
        tables=("a", "b"),
        evaluations=12,
        failed=(),
        statistics={"protocol": "baseline", "baseline": "bananas", "alpha": 0.05},
    )
    (fabricated.directory / "errors.json").write_text("[]\n")
    markdown = write_report(fabricated.directory, tmp_path / "report")[1].read_text()
    checklist = {row[0]: row[1] for row in _markdown_table_rows(markdown, "item")}
    assert checklist["Random-search baseline included"] == "✘ not met"
    assert checklist["At least 5 seeds per strategy"] == "✘ not met"
    assert checklist["More than one table (dataset)"] == "✔ met"
    assert checklist["Statistical tests over seeds"] == "✔ met"  # Wilcoxon for two strategies
    assert checklist["Statistical protocol fixed before the runs"] == "✔ met"
    assert markdown.count("| re | bananas | 3 | 0 |") == 2  # tested on both tables, 3 pairs each
    assert "## Overview across tables" in markdown
    assert "## Constrained runs" not in markdown and "Pareto" not in markdown


def test_identical_samples_and_single_strategies_are_skipped_with_reasons(
    fabricated: FabricatedResults,
) -> None:
    """Every strategy ties on every seed: against the baseline every pair is a zero difference
    (tested, p = 1); Friedman is skipped with the reason. rs's run that failed is removed, so
    that seed is left out as a block (no run of rs on it), not scored."""
    results = load_results(fabricated.directory)
    runs = results.runs[results.runs["status"] == "ok"].copy()
    runs["final_regret"] = 0.25  # every strategy ties on every seed
    results.runs = runs
    main = _main(analyse(results))
    assert [s.average_rank for s in main.summaries] == [2.0, 2.0, 2.0]
    assert {s.position for s in main.summaries} == {"1\u20133 (tie)"}
    assert main.seeds_left_out == [3]
    assert [(t.num_pairs, t.num_zero, t.p_value, t.p_value_holm) for t in main.wilcoxon] == [
        (4, 4, 1.0, 1.0)
    ] * 2
    assert main.verdict.startswith("No strategy's final regret differs significantly from the baseline rs")
    results.config["statistics"] = {"protocol": "demsar", "alpha": 0.05}
    main = _main(analyse(results))
    assert main.friedman.skipped == "every strategy has the same final regret on every seed"
    assert main.nemenyi == [] and main.wilcoxon == []
    results.runs = runs[runs["strategy"] == "re"]
    main = _main(analyse(results))
    assert [s.strategy for s in main.summaries] == ["re"] and main.wilcoxon == []
    assert "this comparison has 1" in main.friedman.skipped


def test_results_without_any_finished_run_still_give_a_report(tmp_path: Path) -> None:
    strategies = (FakeStrategy("rs"), FakeStrategy("re"))
    everything = [(name, seed) for name in ("rs", "re") for seed in range(2)]
    fabricated = write_results(
        tmp_path / "results", strategies=strategies, seeds=range(2), evaluations=5, failed=everything
    )
    (fabricated.directory / "pareto.csv").unlink()  # optional file
    paths = write_report(fabricated.directory, tmp_path / "report")
    assert [path.suffix for path in paths] == [".html", ".md"]  # no figure to draw
    markdown = paths[1].read_text()
    assert "No run recorded a trajectory, so there is nothing to plot." in markdown
    assert (
        "Verdict: No test against the baseline: the baseline rs has no run with a final result here."
        in markdown
    )
    assert "rs: no run with a final result, so nothing to score its failures against; excluded." in markdown
    assert markdown.count(f"| {FAILED_ERROR} |") == 4  # one table row per failed run


def test_same_results_give_byte_identical_files(fabricated: FabricatedResults, tmp_path: Path) -> None:
    first = write_report(fabricated.directory, tmp_path / "leaderboard")
    before = [path.read_bytes() for path in first]
    figures = first[-1].parent
    manifest = figures / MANIFEST_NAME
    listed = json.loads(manifest.read_text())
    assert listed["files"] == [str(path.relative_to(tmp_path)) for path in first]
    # a figure an earlier report drew and this one does not: listed in the manifest, deleted
    (figures / "99-stale.png").write_bytes(b"stale")
    listed["files"].append("leaderboard_files/99-stale.png")
    manifest.write_text(json.dumps(listed))
    second = write_report(fabricated.directory, tmp_path / "leaderboard")
    assert second == first
    assert [path.read_bytes() for path in second] == before
    assert sorted(figures.iterdir()) == sorted([*first[2:], manifest])  # the stale figure is gone


def test_a_report_never_replaces_or_deletes_what_it_did_not_write(
    fabricated: FabricatedResults, tmp_path: Path
) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# my project\n")
    notes = tmp_path / "README_files"
    notes.mkdir()
    (notes / "diagram.png").write_bytes(b"mine")
    with pytest.raises(ResultsError, match=r"README\.md: not written by nasbench report"):
        write_report(fabricated.directory, tmp_path / "README")
    assert readme.read_text() == "# my project\n" and (notes / "diagram.png").read_bytes() == b"mine"
    readme.unlink()
    with pytest.raises(ResultsError, match=r"diagram\.png: not written by nasbench report"):
        write_report(fabricated.directory, tmp_path / "README")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README_files"]
    assert [p.name for p in notes.iterdir()] == ["diagram.png"]
    # a foreign file beside an earlier report: refused, the earlier report kept as it was
    first = write_report(fabricated.directory, tmp_path / "board")
    before = {path: path.read_bytes() for path in first}
    (first[-1].parent / "my-notes.txt").write_text("mine")
    with pytest.raises(ResultsError, match=r"my-notes\.txt"):
        write_report(fabricated.directory, tmp_path / "board")
    assert {path: path.read_bytes() for path in first} == before


def test_report_prefix_given_with_a_suffix_is_not_doubled(
    fabricated: FabricatedResults, tmp_path: Path
) -> None:
    paths = write_report(fabricated.directory, tmp_path / "x.html")
    assert [p.name for p in paths[:2]] == ["x.html", "x.md"]
    assert not (tmp_path / "x.html.html").exists()


def test_a_report_written_before_manifests_is_recognised_and_replaced(
    fabricated: FabricatedResults, tmp_path: Path
) -> None:
    first = write_report(fabricated.directory, tmp_path / "old")
    (first[-1].parent / MANIFEST_NAME).unlink()  # as reports were written before manifests
    assert write_report(fabricated.directory, tmp_path / "old") == first
    assert (first[-1].parent / MANIFEST_NAME).is_file()


# --------------------------------------------------------------------- layer
_IMPORT_PROBE = """
import importlib.util, sys, types
package = types.ModuleType("nasbench")  # the package without its __init__ (which loads the table API)
package.__path__ = list(importlib.util.find_spec("nasbench").submodule_search_locations)
sys.modules["nasbench"] = package
import nasbench.reporting.leaderboard, nasbench.reporting.card, nasbench.reporting.predictors
import nasbench.reporting.frontier, nasbench.reporting.markdown
print(" ".join(sorted({m.split(".")[0] if not m.startswith("nasbench") else ".".join(m.split(".")[:2])
                       for m in sys.modules})))
"""


def test_the_reporting_layer_loads_without_torch_h5py_or_higher_layers() -> None:
    """Reports read result files: importing them loads no torch, no h5py, no matplotlib or
    scipy (imported when a report is drawn), and of nasbench only core, the results schema
    and reporting itself."""
    done = subprocess.run([sys.executable, "-c", _IMPORT_PROBE], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split())
    assert not loaded & {"torch", "h5py", "matplotlib", "scipy"}
    assert {m for m in loaded if m.startswith("nasbench.")} <= {
        "nasbench.core", "nasbench.bench", "nasbench.reporting"
    }  # fmt: skip


# --------------------------------------------------------------------- errors
def test_missing_or_invalid_results_directory_raises(tmp_path: Path, fabricated: FabricatedResults) -> None:
    with pytest.raises(NasbenchError, match="not a results directory"):
        write_report(tmp_path / "nowhere", tmp_path / "out")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(NasbenchError, match=r"config\.json: missing"):
        load_results(empty)
    broken = tmp_path / "broken"
    shutil.copytree(fabricated.directory, broken)
    (broken / "config.json").write_text('{"format": "something-else/2"}')
    with pytest.raises(NasbenchError, match="format 'something-else/2'"):
        load_results(broken)
    shutil.copy(fabricated.directory / "config.json", broken / "config.json")
    (broken / "runs.csv").unlink()
    with pytest.raises(NasbenchError, match=r"runs\.csv: missing"):
        load_results(broken)
    (broken / "runs.csv").write_text("table,strategy\nx,y\n")
    with pytest.raises(NasbenchError, match="missing columns kind, seed"):
        load_results(broken)
    lines = (fabricated.directory / "trajectories.csv").read_text().splitlines()
    lines[1] = lines[1].replace(lines[1].split(",")[4], "soon")
    shutil.copy(fabricated.directory / "runs.csv", broken / "runs.csv")
    (broken / "trajectories.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(NasbenchError, match="'sim_seconds' holds a value that is not a number"):
        load_results(broken)
    assert not (tmp_path / "out.html").exists()


# --------------------------------------------------------------------- browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="needs Debian's chromium and chromium-driver (.ci/run installs them)",
)
def test_page_renders_in_headless_chromium(report: list[Path], tmp_path: Path) -> None:
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (the dev extra)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,1000",
    ):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        driver.get(report[0].resolve().as_uri())
        assert driver.execute_script("return document.readyState") == "complete"
        assert driver.title.startswith("nasbench leaderboard")
        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight])"
        )
        assert len(images) == sum(EXPECTED_PLOTS.values())
        assert all(complete and width > 0 and height > 0 for complete, width, height in images), images
        problems = [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]
        assert problems == []
        assert driver.find_element("tag name", "table").is_displayed()
    finally:
        driver.quit()


def test_report_command_refuses_to_overwrite_a_readme_in_one_line(
    fabricated: FabricatedResults, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nasbench.cli.main import main

    (tmp_path / "README.md").write_text("keep me\n")
    code = main(["report", str(fabricated.directory), "--out", str(tmp_path / "README")])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and err.startswith("nasbench: error: ")
    assert (tmp_path / "README.md").read_text() == "keep me\n"

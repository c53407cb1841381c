"""The leaderboard's statistics on crafted results whose right answer is known (issue 21).

One protocol, chosen in config.json and stated; zero differences kept by Pratt and counted;
Holm over the strategies compared with a baseline fixed before the runs; caption, diagram
and table agreeing under both protocols; ties declared; a failed run scored as the worst of
its seed; reproducible bootstrap intervals; hypervolume against the table's fixed
reference; and every printed figure recomputed independently with scipy and numpy.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest
from report_fixtures import LATENCY, TABLE_BEST_TEST_ACC, TEST_SEED_SD_PP, FakeStrategy, write_results
from scipy import stats

from nasbench.reporting.leaderboard import Comparison, ResultsError, analyse, load_results, write_report
from nasbench.reporting.leaderboard.figures import critical_difference_groups
from nasbench.reporting.leaderboard.inference import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    EXACT_MAX_PAIRS,
    bootstrap_mean,
    signed_rank_pratt,
)

BASELINE = {"protocol": "baseline", "baseline": "rs", "alpha": 0.05}
DEMSAR = {"protocol": "demsar", "alpha": 0.05}


def _crafted(
    directory: Path,
    regrets: Mapping[str, Sequence[float]],
    *,
    failed: Sequence[tuple[str, int]] = (),
    statistics: dict[str, object] | None = BASELINE,
    legacy: bool = False,
    objectives: Mapping[str, str] | None = None,
) -> Path:
    """Results whose final regret of (strategy, seed) is exactly ``regrets[strategy][seed]``."""
    objectives = objectives or {}
    strategies = [
        FakeStrategy(name, "multi-objective", objective=objectives[name])
        if name in objectives
        else FakeStrategy(name)
        for name in regrets
    ]
    seeds = range(len(next(iter(regrets.values()))))
    given = {(name, seed): float(values[seed]) for name, values in regrets.items() for seed in seeds}
    made = write_results(
        directory, strategies=strategies, seeds=seeds, evaluations=10, failed=failed,
        final_regrets=given, statistics=statistics, legacy=legacy,
    )  # fmt: skip
    return made.directory


def _recorded(directory: Path) -> dict[str, list[float]]:
    """Final regret per strategy by seed as runs.csv records it (NaN for a failed run)."""
    runs = load_results(directory).runs.sort_values(["strategy", "seed"])
    return {str(name): list(group["final_regret"]) for name, group in runs.groupby("strategy")}


def _main(directory: Path) -> Comparison:
    return next(c for c in analyse(load_results(directory)) if not c.constraint)


def _rows(markdown: str, header_start: str) -> list[list[str]]:
    """Cells of the rows of every Markdown table whose header starts with ``header_start``."""
    lines = markdown.splitlines()
    rows = []
    for start, line in enumerate(lines):
        if line.startswith(f"| {header_start} |"):
            for row in lines[start + 2 :]:
                if not row.startswith("|"):
                    break
                rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]])
    return rows


def _section(markdown: str, start: str, end: str) -> str:
    return markdown[markdown.index(start) : markdown.index(end, markdown.index(start))]


def _holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment, written out independently of the report's."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted, running = [0.0] * len(p_values), 0.0
    for step, index in enumerate(order):
        running = max(running, (len(p_values) - step) * p_values[index])
        adjusted[index] = min(1.0, running)
    return adjusted


# --------------------------------------------------------------------- the signed-rank test
@pytest.mark.parametrize("size", [5, 9, 11])
def test_signed_rank_pratt_equals_scipy_with_zeros_and_ties(size: int) -> None:
    """Up to 13 pairs scipy enumerates every sign flip too: the same statistic and p-value."""
    generator = np.random.default_rng(size)
    for _ in range(20):
        differences = np.round(generator.normal(0.2, 1.0, size), 1)  # ties and zeros
        differences[: size // 4] = 0.0
        ours = signed_rank_pratt(differences)
        theirs = stats.wilcoxon(differences, zero_method="pratt")
        assert ours.statistic == pytest.approx(float(theirs.statistic), abs=1e-12)
        assert ours.p_value == pytest.approx(float(theirs.pvalue), rel=1e-9)
        assert (ours.num_pairs, ours.num_zero) == (size, int(np.sum(differences == 0)))


def test_signed_rank_is_exact_without_ties_and_normal_beyond_its_exact_range() -> None:
    generator = np.random.default_rng(7)
    differences = generator.normal(0.3, 1.0, 30)
    ours, theirs = signed_rank_pratt(differences), stats.wilcoxon(differences, method="exact")
    assert ours.method == "exact" and ours.p_value == pytest.approx(float(theirs.pvalue), rel=1e-9)
    large = np.round(generator.normal(0.05, 1.0, EXACT_MAX_PAIRS + 50), 2)
    large[:10] = 0.0
    ours = signed_rank_pratt(large)
    theirs = stats.wilcoxon(large, zero_method="pratt", method="asymptotic")
    assert ours.method == "normal approximation"
    assert ours.p_value == pytest.approx(float(theirs.pvalue), rel=1e-9)
    assert signed_rank_pratt(np.zeros(6)).p_value == 1.0  # no signed difference at all


def test_zero_differences_are_ranked_by_pratt_and_counted(tmp_path: Path) -> None:
    """ls equals rs on 3 of 10 seeds: all 10 pairs are tested (Wilcoxon's own method would
    drop the 3 and test 7), and the table says 10 pairs, 3 zero differences."""
    rs = [1.0, 1.2, 0.9, 1.1, 1.3, 0.8, 1.0, 1.4, 1.2, 0.95]
    ls = [0.7, 1.2, 1.0, 1.1, 1.0, 0.8, 0.85, 1.5, 0.9, 0.9]
    directory = _crafted(tmp_path / "r", {"ls": ls, "rs": rs})
    (test,) = _main(directory).wilcoxon
    recorded = _recorded(directory)
    differences = np.subtract(recorded["ls"], recorded["rs"])
    pratt = stats.wilcoxon(differences, zero_method="pratt")
    dropped = stats.wilcoxon(differences, zero_method="wilcox")
    assert (test.num_pairs, test.num_zero) == (10, 3)
    assert test.p_value == pytest.approx(float(pratt.pvalue), rel=1e-9)
    assert test.p_value != pytest.approx(float(dropped.pvalue), rel=1e-3)  # not the zeros-dropped test
    markdown = write_report(directory, tmp_path / "board")[1].read_text()
    (row,) = _rows(markdown, "strategy | against")
    assert row[:4] == ["ls", "rs", "10", "3"]
    assert "zero differences included (Pratt)" in markdown


# --------------------------------------------------------------------- the baseline protocol
def _five_strategies() -> dict[str, list[float]]:
    """re and bananas clearly below rs on 10 seeds, ls barely, grid above."""
    generator = np.random.default_rng(21)
    noise = generator.normal(0.0, 0.05, (4, 10))
    rs = 1.0 + generator.normal(0.0, 0.05, 10)
    return {
        "bananas": list(rs - 0.4 + noise[0]),
        "grid": list(rs + 0.3 + noise[1]),
        "ls": list(rs - 0.01 + noise[2]),
        "re": list(rs - 0.5 + noise[3]),
        "rs": list(rs),
    }


def test_holm_against_the_baseline_fixed_by_config_not_the_best_ranked(tmp_path: Path) -> None:
    regrets = _five_strategies()
    main = _main(_crafted(tmp_path / "r", regrets))
    assert main.protocol.name == "baseline" and main.protocol.baseline == "rs"
    assert main.protocol.source.startswith("Chosen before the runs: config.json records the protocol")
    assert main.ranked[0].strategy == "re"  # the best-ranked is not the reference
    assert {t.reference for t in main.wilcoxon} == {"rs"}
    assert sorted(t.strategy for t in main.wilcoxon) == ["bananas", "grid", "ls", "re"]
    names = [t.strategy for t in main.wilcoxon]
    raw = [
        float(stats.wilcoxon(np.subtract(regrets[n], regrets["rs"]), zero_method="pratt").pvalue)
        for n in names
    ]
    assert [t.p_value for t in main.wilcoxon] == pytest.approx(raw, rel=1e-9)
    assert [t.p_value_holm for t in main.wilcoxon] == pytest.approx(_holm(raw), rel=1e-9)
    differ = {t.strategy: t.differs(0.05) for t in main.wilcoxon}
    assert differ == {"re": True, "bananas": True, "grid": True, "ls": False}
    assert [(t.strategy, t.lower) for t in main.wilcoxon if t.differs(0.05)] == [
        ("re", True), ("bananas", True), ("grid", False)
    ]  # fmt: skip
    assert main.verdict == (
        "3 of 4 strategies differ significantly from the baseline rs (Holm-adjusted p < 0.05): lower final "
        "regret: re, bananas; higher: grid; the others do not differ significantly from it."
    )
    # Another baseline named in config.json: the tests follow it.
    other = _main(_crafted(tmp_path / "s", regrets, statistics={**BASELINE, "baseline": "ls"}))
    assert {t.reference for t in other.wilcoxon} == {"ls"} and "rs" in {t.strategy for t in other.wilcoxon}


def test_baseline_protocol_gives_one_verdict_and_no_diagram(tmp_path: Path) -> None:
    directory = _crafted(tmp_path / "r", _five_strategies())
    paths = write_report(directory, tmp_path / "board")
    markdown, main = paths[1].read_text(), _main(directory)
    assert not any("cd-" in path.name for path in paths[2:])
    section = _section(markdown, "## Table", "## Failed runs")
    assert "Friedman" not in section and "critical difference" not in section.lower().replace(
        "no critical-difference diagram", ""
    )
    assert section.count(f"Verdict: {main.verdict}") == 1  # the statistics' own paragraph
    assert f"Verdict of the statistics below: {main.verdict}" in section  # beside the final table
    rows = _rows(markdown, "strategy | against")
    differing = [row[0] for row in rows if row[-1].startswith("differs")]
    assert differing == ["re", "bananas", "grid"] and main.verdict.startswith("3 of 4 strategies differ")
    assert "lower final regret: re, bananas; higher: grid;" in main.verdict
    protocol = next(line for line in section.splitlines() if line.startswith("Protocol:"))
    assert "alpha = 0.05" in protocol and "Chosen before the runs" in protocol and "Pratt" in protocol


# --------------------------------------------------------------------- Demšar's protocol
def test_demsar_without_rejection_draws_no_diagram_and_declares_no_pair(tmp_path: Path) -> None:
    """Ranks rotate over the seeds: Friedman does not reject, so no CD bars, no Nemenyi
    table, no Wilcoxon table, and every statement says no pair differs."""
    base = [0.5, 0.6, 0.7, 0.8]
    regrets = {
        name: [base[(i + seed) % 4] + 0.01 * (seed % 3) for seed in range(8)] for i, name in enumerate("abcd")
    }
    regrets["a"][0] = 0.45  # not a perfect rotation: ranks differ a little
    directory = _crafted(tmp_path / "r", regrets, statistics=DEMSAR)
    main = _main(directory)
    ranks = stats.rankdata(np.asarray([regrets[n] for n in "abcd"]).T, axis=1)
    friedman = stats.friedmanchisquare(*ranks.T)
    assert main.friedman.p_value == pytest.approx(friedman.pvalue, rel=1e-12) and friedman.pvalue >= 0.05
    assert main.nemenyi == [] and math.isnan(main.critical_difference) and main.wilcoxon == []
    paths = write_report(directory, tmp_path / "board")
    assert not any("cd-" in path.name for path in paths[2:])
    markdown = paths[1].read_text()
    section = _section(markdown, "## Table", "## Failed runs")
    assert "Wilcoxon" not in section and "| better rank |" not in section
    assert "The Friedman test does not reject equal average ranks (p >= 0.05), so no pair" in main.verdict
    assert section.count(main.verdict) == 2  # beside the final table and in the statistics
    assert "no critical-difference diagram is drawn and no pair is tested" in section


def test_demsar_with_rejection_diagram_caption_and_table_agree(tmp_path: Path) -> None:
    generator = np.random.default_rng(3)
    levels = {"a": 0.2, "b": 0.3, "c": 0.9, "d": 1.0, "e": 1.6}
    regrets = {name: list(level + generator.normal(0.0, 0.12, 10)) for name, level in levels.items()}
    directory = _crafted(tmp_path / "r", regrets, statistics=DEMSAR)
    main = _main(directory)
    matrix = np.asarray([regrets[name] for name in levels]).T
    average = dict(zip(levels, stats.rankdata(matrix, axis=1).mean(axis=0), strict=True))
    friedman = stats.friedmanchisquare(*matrix.T)
    assert friedman.pvalue < 0.05 and main.friedman.p_value == pytest.approx(friedman.pvalue, rel=1e-12)
    critical = stats.studentized_range.ppf(0.95, 5, np.inf) / math.sqrt(2) * math.sqrt(5 * 6 / (6 * 10))
    assert main.critical_difference == pytest.approx(critical, rel=1e-9)
    separated = {(p.first, p.second) for p in main.nemenyi if p.differs}
    expected = {
        (x, y)
        for x in levels
        for y in levels
        if average[x] < average[y] and average[y] - average[x] >= critical
    }
    assert separated == expected and 0 < len(separated) < len(main.nemenyi) == 10
    for pair in main.nemenyi:  # the p-value says what the critical difference says
        assert (pair.p_value < 0.05) == pair.differs
    names = [s.strategy for s in main.ranked]
    groups = critical_difference_groups(names, separated)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            joined = any(s <= i and names.index(second) <= e for s, e in groups)
            assert joined == ((first, second) not in separated)
    paths = write_report(directory, tmp_path / "board")
    assert sum("cd-" in path.name for path in paths[2:]) == 1
    markdown = paths[1].read_text()
    caption = next(line for line in markdown.splitlines() if line.startswith("*Critical-difference diagram"))
    assert f"the {len(separated)} pair(s) not joined by any bar differ" in caption
    rows = _rows(markdown, "better rank")
    assert {(row[0], row[1]) for row in rows if row[-1].startswith("differs")} == separated
    for first, second in separated:
        assert f"{first} ranks better than {second}" in main.verdict
    chi2 = float(friedman.statistic)
    concordance = chi2 / (10 * (5 - 1))  # Kendall's W from the tie-corrected statistic
    assert (
        f"chi² = {chi2:.4f}, p = {float(friedman.pvalue):.2e}. Effect size: Kendall's W = {concordance:.3f}"
        in (markdown)
    )
    assert main.concordance.contains(concordance)


# --------------------------------------------------------------------- one verdict
def _disagreeing() -> dict[str, list[float]]:
    """Results on which the two protocols disagree: good beats rs on every seed by 0.05 pp
    (Wilcoxon p = 2/1024, significant after Holm), yet among five strategies it is on
    average only one rank ahead of rs, closer than Nemenyi's critical difference (1.93)."""
    rs = [1.0 + 0.03 * seed for seed in range(10)]
    return {
        "best": [0.1 + 0.01 * seed for seed in range(10)],
        "good": [value - 0.05 for value in rs],
        "rs": rs,
        "mid": [value + (0.2 if seed % 2 else -0.2) for seed, value in enumerate(rs)],
        "bad": [5.0 + 0.01 * seed for seed in range(10)],
    }


def _claims(section: str, comparison: Comparison) -> dict[frozenset[str], set[bool]]:
    """Every statement a statistics section makes about whether two strategies differ:
    table verdict columns, verdict and caption sentences, and blanket 'no pair' sentences."""
    claims: dict[frozenset[str], set[bool]] = {}

    def claim(first: str, second: str, differs: bool) -> None:
        claims.setdefault(frozenset((first, second)), set()).add(differs)

    for header in ("strategy | against", "better rank"):
        for row in _rows(section, header):
            claim(row[0], row[1], row[-1].startswith("differs"))
    for first, second in re.findall(r"(\w+) ranks better than (\w+)", section):
        claim(first, second, True)
    caption = re.search(r"pair\(s\) not joined by any bar differ \(([^)]*)\)", section)
    for pair in caption.group(1).split("; ") if caption else []:
        claim(*pair.split(" vs "), True)
    baseline = comparison.protocol.baseline
    listed = re.search(r"lower final regret: ([^;]*); higher: ([^;.]*)", section)
    for names in listed.groups() if listed else ():
        for name in names.split(", "):
            if name != "none":
                claim(name, baseline, True)
    names = [s.strategy for s in comparison.ranked]
    if "No strategy's final regret differs significantly from the baseline" in section:
        for name in names:
            if name != baseline:
                claim(name, baseline, False)
    blanket = ("so none differs", "separates no pair", "no pair of strategies is declared different")
    if any(phrase in section for phrase in blanket):
        for i, first in enumerate(names):
            for second in names[i + 1 :]:
                claim(first, second, False)
    return claims


@pytest.mark.parametrize("protocol", [BASELINE, DEMSAR], ids=["baseline", "demsar"])
def test_when_the_protocols_disagree_the_report_states_one_verdict(
    tmp_path: Path, protocol: dict[str, object]
) -> None:
    """Wilcoxon-Holm against rs says good differs; Friedman-Nemenyi says it does not. The
    report follows the protocol config.json chose, and every sentence, caption, diagram and
    table of it says the same about every pair."""
    regrets = _disagreeing()
    directory = _crafted(tmp_path / "r", regrets, statistics=protocol)
    results = load_results(directory)
    both = {
        name: _main_of(results, {"protocol": name, "baseline": "rs", "alpha": 0.05})
        for name in ("baseline", "demsar")
    }
    assert both["baseline"].declares("good", "rs") and not both["demsar"].declares(
        "good", "rs"
    )  # they disagree
    assert both["demsar"].friedman.p_value < 0.05 and both["demsar"].declares("best", "bad")
    chosen = both[str(protocol["protocol"])]
    paths = write_report(directory, tmp_path / "board")
    markdown = paths[1].read_text()
    section = _section(markdown, "## Table", "## Failed runs")
    claims = _claims(section, chosen)
    assert frozenset(("good", "rs")) in claims  # the disputed pair is spoken about...
    for pair, said in claims.items():  # ...and no statement contradicts the protocol's outcome
        assert said == {chosen.declares(*pair)}, (sorted(pair), said)
    assert section.count(f"Verdict: {chosen.verdict}") == 1
    assert f"Verdict of the statistics below: {chosen.verdict}" in section
    diagrams = [path for path in paths[2:] if "-cd-" in path.name]
    if protocol is BASELINE:
        assert diagrams == [] and "Friedman" not in section and "Nemenyi" not in section
        assert "lower final regret: best, good; higher: bad" in chosen.verdict
    else:
        assert len(diagrams) == 1 and "Wilcoxon" not in section.replace("no Wilcoxon", "")
        assert "good ranks better than rs" not in section
        assert {(d.better, d.worse) for d in chosen.differences} == {
            (p.first, p.second) for p in chosen.nemenyi if p.differs
        }


def _main_of(results: object, statistics: dict[str, object]) -> Comparison:
    results.config["statistics"] = statistics  # type: ignore[attr-defined]
    return next(c for c in analyse(results) if not c.constraint)  # type: ignore[arg-type]


def test_too_few_seeds_to_detect_anything_is_said_in_the_verdict(tmp_path: Path) -> None:
    """Three seeds: an exact signed-rank test cannot go below p = 0.25, so the verdict says
    no difference could have been detected (and the intervals that exclude 0 are explained)."""
    regrets = {"re": [0.2, 0.3, 0.25], "bananas": [0.5, 0.55, 0.45], "rs": [1.0, 1.1, 0.9]}
    directory = _crafted(tmp_path / "r", regrets)
    main = _main(directory)
    assert main.differences == [] and [t.p_value for t in main.wilcoxon] == pytest.approx([0.25, 0.25])
    assert main.verdict.endswith(
        "with 3 seed(s) the smallest Holm-adjusted p-value these tests can give is 0.5, so no difference "
        "could have been detected."
    )
    markdown = write_report(directory, tmp_path / "board")[1].read_text()
    assert "The bootstrap intervals of re, bananas exclude 0 although the Holm-adjusted test" in markdown
    many = _main(_crafted(tmp_path / "many", _five_strategies()))
    assert "could have been detected" not in many.verdict


# --------------------------------------------------------------------- ties and failures
def test_equal_average_ranks_are_declared_ties(tmp_path: Path) -> None:
    regrets = {"b": [0.2, 0.4, 0.2, 0.4], "a": [0.4, 0.2, 0.4, 0.2], "rs": [0.9, 0.9, 0.9, 0.9]}
    directory = _crafted(tmp_path / "r", regrets)
    main = _main(directory)
    assert [(s.strategy, s.position, s.average_rank) for s in main.summaries] == [
        ("a", "1\u20132 (tie)", 1.5), ("b", "1\u20132 (tie)", 1.5), ("rs", "3", 3.0)
    ]  # fmt: skip
    markdown = write_report(directory, tmp_path / "board")[1].read_text()
    assert [row[:3] for row in _rows(markdown, "position")] == [
        ["1\u20132 (tie)", "1.50", "a"], ["1\u20132 (tie)", "1.50", "b"], ["3", "3.00", "rs"]
    ]  # fmt: skip
    assert "the order within a tie is arbitrary" in markdown


def test_a_failed_run_is_scored_as_the_worst_of_its_seed(tmp_path: Path) -> None:
    """The issue's grid example: failing on its four worst seeds must not improve grid's
    rank (dropping those seeds, as reports did, would), and no seed is dropped for the others."""
    generator = np.random.default_rng(11)
    levels = {"bananas": 0.6, "grid": 1.0, "re": 0.7, "rs": 0.8}
    regrets = {name: list(level + generator.normal(0.0, 0.25, 10)) for name, level in levels.items()}
    worst = [int(seed) for seed in np.argsort(regrets["grid"])[-4:]]
    before = _main(_crafted(tmp_path / "all", regrets))
    after = _main(_crafted(tmp_path / "failing", regrets, failed=[("grid", seed) for seed in worst]))
    rank = {s.strategy: s.average_rank for s in before.summaries}
    failing = {s.strategy: s for s in after.summaries}
    assert failing["grid"].average_rank >= rank["grid"]
    kept = [seed for seed in range(10) if seed not in worst]
    matrix = np.asarray([[regrets[name][seed] for name in sorted(levels)] for seed in kept])
    dropped = stats.rankdata(matrix, axis=1).mean(axis=0)[sorted(levels).index("grid")]
    assert dropped < rank["grid"]  # what dropping the seeds would have done
    assert after.seeds_used == list(range(10)) and after.seeds_left_out == []
    assert failing["grid"].runs_scored_worst == 4 and after.runs_scored_worst == 4
    recorded = _recorded(tmp_path / "failing")
    for seed in worst:
        others = max(recorded[name][seed] for name in levels if name != "grid")
        assert failing["grid"].scored_regret[seed] == others
    matrix = np.asarray([[regrets[name][seed] for name in sorted(levels)] for seed in range(10)])
    matrix[worst, sorted(levels).index("grid")] = np.inf  # last rank on those seeds
    expected = stats.rankdata(matrix, axis=1).mean(axis=0)
    assert [failing[name].average_rank for name in sorted(levels)] == pytest.approx(list(expected), abs=1e-12)
    markdown = write_report(tmp_path / "failing", tmp_path / "board")[1].read_text()
    assert "4 run(s) without a final result scored as the worst outcome of their seed" in markdown
    (grid,) = [row for row in _rows(markdown, "position") if row[2] == "grid"]
    assert grid[4:6] == ["6 / 10", "4"]


def test_a_strategy_without_any_result_is_excluded_with_the_reason(tmp_path: Path) -> None:
    regrets = {"bad": [1.0] * 4, "re": [0.3, 0.4, 0.2, 0.3], "rs": [0.9, 0.8, 1.0, 0.7]}
    directory = _crafted(tmp_path / "r", regrets, failed=[("bad", seed) for seed in range(4)])
    main = _main(directory)
    bad = next(s for s in main.summaries if s.strategy == "bad")
    assert math.isnan(bad.average_rank) and bad.excluded and main.summaries[-1] is bad
    assert [t.strategy for t in main.wilcoxon] == ["re"] and main.seeds_used == [0, 1, 2, 3]
    markdown = write_report(directory, tmp_path / "board")[1].read_text()
    assert "bad: no run with a final result, so nothing to score its failures against; excluded." in markdown


# --------------------------------------------------------------------- effect sizes
def test_bootstrap_intervals_are_reproducible_and_contain_the_mean(tmp_path: Path) -> None:
    values = np.random.default_rng(5).normal(0.2, 0.3, 10)
    first, second = bootstrap_mean(values), bootstrap_mean(values.copy())
    assert first == second and first.contains(float(values.mean()))
    draws = np.random.default_rng(BOOTSTRAP_SEED).integers(0, 10, size=(BOOTSTRAP_RESAMPLES, 10))
    low, high = np.percentile(values[draws].mean(axis=1), [2.5, 97.5])
    assert (first.low, first.high) == (low, high)
    regrets = _five_strategies()
    main = _main(_crafted(tmp_path / "r", regrets))
    smaller = _main(_crafted(tmp_path / "s", {name: regrets[name] for name in ("re", "rs")}))
    assert main.wilcoxon[0].mean_difference == smaller.wilcoxon[0].mean_difference  # re vs rs either way
    for test in main.wilcoxon:
        assert test.mean_difference.contains(test.mean_difference.estimate)
    paths = write_report(tmp_path / "r", tmp_path / "one" / "board")
    again = write_report(tmp_path / "r", tmp_path / "two" / "board")
    assert [p.read_bytes() for p in paths] == [p.read_bytes() for p in again]


def test_differences_within_the_seed_noise_are_said_to_be(tmp_path: Path) -> None:
    regrets = _five_strategies()
    markdown = write_report(_crafted(tmp_path / "r", regrets), tmp_path / "board")[1].read_text()
    assert f"sd {TEST_SEED_SD_PP:.3f} pp" in markdown
    assert "Smaller than that, within the table's own seed noise: ls, grid." in markdown  # |Δ| < 0.35
    legacy = write_report(_crafted(tmp_path / "old", regrets, legacy=True), tmp_path / "old-board")
    assert "results written before nasbench recorded it), so the differences cannot be compared" in (
        legacy[1].read_text()
    )


# --------------------------------------------------------------------- older results
def test_older_results_fall_back_to_the_documented_default_and_say_so(tmp_path: Path) -> None:
    regrets = {"re": [0.3, 0.4, 0.2], "rs": [0.9, 0.8, 1.0], "ls": [0.5, 0.6, 0.4]}
    main = _main(_crafted(tmp_path / "old", regrets, legacy=True))
    assert (main.protocol.name, main.protocol.baseline, main.protocol.alpha) == ("baseline", "rs", 0.05)
    assert "records no statistical protocol" in main.protocol.source
    assert "fixed by its name, not by the results" in main.protocol.source
    without = {"re": regrets["re"], "ls": regrets["ls"], "ga": regrets["rs"]}
    main = _main(_crafted(tmp_path / "old-no-rs", without, legacy=True))
    assert (
        main.protocol.name == "demsar"
        and "Demšar's protocol, which needs no baseline" in main.protocol.source
    )
    markdown = write_report(tmp_path / "old", tmp_path / "board")[1].read_text()
    assert "config.json does not record how these runs were scored" in markdown
    checklist = {row[0]: row[1] for row in _rows(markdown, "item")}
    assert checklist["Statistical protocol fixed before the runs"] == "✘ not met"


@pytest.mark.parametrize(
    ("statistics", "message"),
    [
        ({"protocol": "bayes"}, "must name a protocol"),
        ({"protocol": "baseline", "alpha": 0.05}, "needs the name of its baseline"),
        ({"protocol": "demsar", "alpha": 2}, "alpha must be a number between 0 and 1"),
    ],
)
def test_a_malformed_protocol_is_refused(tmp_path: Path, statistics: dict[str, object], message: str) -> None:
    directory = _crafted(tmp_path / "r", {"re": [0.3, 0.4], "rs": [0.9, 0.8]}, statistics=statistics)
    with pytest.raises(ResultsError, match=message):
        load_results(directory)


# --------------------------------------------------------------------- hypervolume
def _box_fraction(points: np.ndarray, ceiling: float, floor: float, ideal: float) -> float:
    """Hypervolume of (cost, accuracy) points by a sweep over a fine grid of costs: an
    independent check of the report's exact sweep."""
    grid = np.linspace(0.0, ceiling, 200_001)[:-1] + ceiling / 400_000
    best = np.full(grid.shape, floor)
    for cost, accuracy in points:
        if cost <= ceiling:
            best = np.where(grid >= cost, np.maximum(best, accuracy), best)
    return float(np.sum(best - floor) * (ceiling / 200_000) / (ceiling * (ideal - floor)))


def _hypervolume_rows(directory: Path, out: Path) -> dict[str, list[str]]:
    markdown = write_report(directory, out)[1].read_text()
    return {row[0]: row for row in _rows(markdown, "strategy | seeds")}


def test_hypervolume_is_fixed_per_table_and_ignores_chance_level_points(tmp_path: Path) -> None:
    regrets = {"nsga2": [0.5, 0.6, 0.4], "rs": [0.9, 0.8, 1.0]}
    alone = _crafted(tmp_path / "alone", regrets, objectives={"nsga2": LATENCY})
    rows = _hypervolume_rows(alone, tmp_path / "a")
    more = _crafted(
        tmp_path / "more", {**regrets, "mo2": [0.7, 0.7, 0.7]}, objectives={"nsga2": LATENCY, "mo2": LATENCY}
    )
    assert set(_hypervolume_rows(more, tmp_path / "b")) == {"nsga2", "mo2"}
    assert (
        _hypervolume_rows(more, tmp_path / "b")["nsga2"] == rows["nsga2"]
    )  # other strategies change nothing
    # an independent recomputation of the first seed's value against the fixed reference
    config = json.loads((alone / "config.json").read_text())
    reference = config["tables"][0]["hypervolume_reference"]
    pareto = np.genfromtxt(alone / "pareto.csv", delimiter=",", names=True, dtype=None, encoding="utf-8")
    volumes = []
    for seed in range(3):
        on_seed = pareto["seed"] == seed
        points = np.column_stack([pareto["objective_value"][on_seed], pareto["test_acc"][on_seed]])
        volumes.append(_box_fraction(points, reference[LATENCY], reference["test_acc"], TABLE_BEST_TEST_ACC))
    assert rows["nsga2"][4] == f"{np.mean(volumes):.3f} ± {np.std(volumes, ddof=1):.3f}"
    # a chance-level cell on a run's front: below the floor, so it adds nothing
    with (alone / "pareto.csv").open("a") as handle:
        handle.write(f"tiny-digits,nsga2,0,{LATENCY},0,10.0,10.0,0.01\n")
    chance = _hypervolume_rows(alone, tmp_path / "c")["nsga2"]
    assert chance[4] == rows["nsga2"][4] and chance[2] == str(int(rows["nsga2"][2]) + 1)


def test_hypervolume_counts_a_failed_run_as_zero(tmp_path: Path) -> None:
    regrets = {"nsga2": [0.5, 0.6, 0.4], "rs": [0.9, 0.8, 1.0]}
    directory = _crafted(tmp_path / "r", regrets, objectives={"nsga2": LATENCY}, failed=[("nsga2", 1)])
    row = _hypervolume_rows(directory, tmp_path / "board")["nsga2"]
    finished = _crafted(tmp_path / "all", regrets, objectives={"nsga2": LATENCY})
    full = _hypervolume_rows(finished, tmp_path / "all-board")["nsga2"]
    mean_all = float(full[4].split(" ± ")[0])
    assert row[1] == "3" and float(row[4].split(" ± ")[0]) < mean_all


def test_older_results_get_the_older_hypervolume_with_a_note(tmp_path: Path) -> None:
    regrets = {"nsga2": [0.5, 0.6, 0.4], "rs": [0.9, 0.8, 1.0]}
    directory = _crafted(tmp_path / "r", regrets, objectives={"nsga2": LATENCY}, legacy=True)
    markdown = write_report(directory, tmp_path / "board")[1].read_text()
    assert "records no hypervolume reference for cpu-1t/latency_ms_b1" in markdown
    assert "| hypervolume, val acc (mean ± sd) |" in markdown


# --------------------------------------------------------------------- independent recomputation
def test_every_printed_statistic_matches_an_independent_recomputation(tmp_path: Path) -> None:
    """From runs.csv alone, with scipy and numpy: the final table's ranks and regrets, and
    every column of the Wilcoxon table, under failures and zero differences."""
    regrets = _five_strategies()
    regrets["ls"][4] = regrets["rs"][4]  # a zero difference
    failed = [("grid", 2), ("re", 7)]
    directory = _crafted(tmp_path / "r", regrets, failed=failed)
    markdown = write_report(directory, tmp_path / "board")[1].read_text()
    runs = np.genfromtxt(directory / "runs.csv", delimiter=",", names=True, dtype=None, encoding="utf-8")
    names = sorted(regrets)
    matrix = np.full((10, len(names)), np.nan)
    for row in runs:
        if row["status"] == "ok":
            matrix[int(row["seed"]), names.index(str(row["strategy"]))] = float(row["final_regret"])
    lost = np.isnan(matrix)
    scored = np.where(lost, np.nanmax(matrix, axis=1, keepdims=True), matrix)
    ranks = stats.rankdata(np.where(lost, np.inf, matrix), axis=1).mean(axis=0)
    table = {row[2]: row for row in _rows(markdown, "position")}
    for column, name in enumerate(names):
        values = scored[:, column]
        assert table[name][1] == f"{ranks[column]:.2f}"
        assert table[name][9] == f"{values.mean():.3f} ± {values.std(ddof=1):.3f}"
        assert table[name][10] == f"{np.median(values):.3f}"
    baseline = scored[:, names.index("rs")]
    tests = {row[0]: row for row in _rows(markdown, "strategy | against")}
    others = [name for name in names if name != "rs"]
    p_values = {}
    for name in others:
        difference = scored[:, names.index(name)] - baseline
        result = stats.wilcoxon(difference, zero_method="pratt")
        p_values[name] = float(result.pvalue)
        draws = np.random.default_rng(BOOTSTRAP_SEED).integers(0, 10, size=(BOOTSTRAP_RESAMPLES, 10))
        low, high = np.percentile(difference[draws].mean(axis=1), [2.5, 97.5])
        row = tests[name]
        assert row[2:4] == ["10", str(int(np.sum(difference == 0)))]
        assert row[4] == f"{difference.mean():.3f}" and row[5] == f"\\[{low:.3f}, {high:.3f}\\]"
        assert row[6] == f"{np.median(difference):.3f}" and row[7] == f"{float(result.statistic):.1f}"
        assert float(row[8]) == pytest.approx(p_values[name], abs=5e-5)
    adjusted = dict(zip(others, _holm([p_values[n] for n in others]), strict=True))
    for name in others:
        assert float(tests[name][9]) == pytest.approx(adjusted[name], abs=5e-5)
    assert tests["ls"][3] == "1"

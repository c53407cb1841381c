"""The statistics of the leaderboard: :func:`analyse` results into one :class:`Comparison`
per table and constraint, under one protocol chosen before the runs.

Blocks are seeds. A run that failed, or finished without a final result, is scored as the
worst outcome of its block: the largest final regret among the strategies that finished on
that seed, and the last rank. It is never dropped, and a seed where one strategy failed
stays a block for all; a strategy with no finished run at all is excluded, with the reason.

Two protocols (``statistics`` in config.json, :func:`statistics_protocol`):

- ``baseline`` (Benavoli et al. 2016, the default): each strategy's final regret against a
  baseline fixed before the runs (random search), with the two-sided Wilcoxon signed-rank
  test, Pratt's treatment of zero differences, Holm-adjusted over the strategies compared;
- ``demsar`` (Demšar 2006): the tie-corrected Friedman test, and only when it rejects, the
  Nemenyi post-hoc test with its critical-difference diagram.

Every p-value comes with an effect size and a seeded bootstrap 95 % interval; average ranks
are descriptive, with ties declared. The pairs the protocol declares different are decided
once, :attr:`Comparison.differences`; the verdict sentence (:attr:`Comparison.verdict`),
the critical-difference diagram and its caption, and every table's verdict column are
written from that list (:meth:`Comparison.declares`), so no two of them can disagree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from nasbench.reporting.leaderboard.inference import (
    NO_INTERVAL,
    Interval,
    block_ranks,
    bootstrap_mean,
    critical_difference,
    friedman,
    holm,
    kendall_w_interval,
    nemenyi_p_value,
    signed_rank_pratt,
)
from nasbench.reporting.leaderboard.load import Results, table_names

__all__ = [
    "ALPHA",
    "PROTOCOLS",
    "RANDOM_SEARCH_NAMES",
    "Comparison",
    "Difference",
    "NemenyiPair",
    "PairedTest",
    "Protocol",
    "StrategySummary",
    "TestOutcome",
    "analyse",
    "critical_difference",
    "holm",
    "smallest_holm_p",
    "statistics_protocol",
]

#: Significance level when config.json records none.
ALPHA = 0.05
#: The protocols a comparison can choose; the first is the default.
PROTOCOLS = ("baseline", "demsar")
#: Strategy names that count as the random-search baseline.
RANDOM_SEARCH_NAMES = ("rs", "random", "random-search", "random_search")


@dataclass(frozen=True)
class Protocol:
    """The statistical protocol of a report, and where the choice came from."""

    name: str  # "baseline" or "demsar"
    alpha: float
    baseline: str  # the reference strategy under "baseline"; "" under "demsar"
    source: str  # a sentence: chosen in config.json, or the fallback for older results

    @property
    def title(self) -> str:
        if self.name == "baseline":
            return "Wilcoxon signed-rank tests against a pre-specified baseline (Benavoli et al. 2016)"
        return "Friedman test, then the Nemenyi post-hoc test (Demšar 2006)"


@dataclass(frozen=True)
class TestOutcome:
    """One omnibus test: its statistic and p-value, or why it was not run."""

    __test__ = False  # not a pytest test class

    name: str
    statistic: float = math.nan
    p_value: float = math.nan
    skipped: str = ""

    @property
    def ran(self) -> bool:
        """Whether the test was computed."""
        return not self.skipped


@dataclass(frozen=True)
class PairedTest:
    """Wilcoxon signed-rank test (Pratt) of one strategy's final regret against the baseline's,
    with the effect size: the mean difference (strategy minus baseline) and its interval."""

    strategy: str
    reference: str
    num_pairs: int  # seeds tested, zero differences included
    num_zero: int  # seeds on which both had the same final regret
    mean_difference: Interval  # percentage points of regret, strategy minus reference
    median_difference_pp: float
    statistic: float = math.nan  # W = min(R+, R-)
    p_value: float = math.nan
    p_value_holm: float = math.nan
    method: str = ""
    lower: bool = False  # the strategy's regret tends lower than the reference's (R+ < R-)

    def differs(self, alpha: float) -> bool:
        """Whether the Holm-adjusted p-value is below ``alpha``."""
        return self.p_value_holm < alpha


@dataclass(frozen=True)
class NemenyiPair:
    """Nemenyi's post-hoc comparison of two strategies (``first`` has the lower average rank)."""

    first: str
    second: str
    rank_difference: float  # second's average rank minus first's, >= 0
    p_value: float
    differs: bool  # rank difference at least the critical difference
    mean_difference: Interval  # final regret, first minus second, percentage points


@dataclass(frozen=True)
class Difference:
    """A pair of strategies the comparison's protocol declares different: ``better`` has
    the lower final regret (Wilcoxon-Holm against the baseline), or the better average rank
    (Nemenyi)."""

    better: str
    worse: str
    test: str  # "Wilcoxon signed-rank, Holm" or "Nemenyi"


@dataclass(frozen=True)
class StrategySummary:
    """Final results of one strategy on one table (one group), over its seeds."""

    strategy: str
    kind: str
    runs_total: int
    runs_failed: int  # status "failed"
    evaluations_mean: float
    final_test_acc: np.ndarray  # percent, one per finished run with a result, by seed
    final_regret: np.ndarray  # percentage points, aligned with final_test_acc
    runs_without_result: int = 0  # finished, but without a final result (no incumbent)
    #: Final regret per block (Comparison.seeds_used), a failed run scored as the worst of its block.
    scored_regret: np.ndarray = field(default_factory=lambda: np.zeros(0))
    runs_scored_worst: int = 0  # runs in the blocks scored as the worst of their block
    average_rank: float = math.nan  # over the blocks; NaN when unranked
    position: str = ""  # "3", or "2\u20134 (tie)" (an en dash); "" when unranked
    mean_regret: Interval = NO_INTERVAL  # over the blocks, bootstrap
    excluded: str = ""  # why the strategy is not ranked


@dataclass
class Comparison:
    """Strategies on one table under one constraint ('' for the unconstrained comparison)."""

    table: str
    constraint: str
    protocol: Protocol
    summaries: list[StrategySummary]  # best average rank first (ties alphabetical), unranked last
    seeds_used: list[int]  # blocks
    seeds_left_out: list[int]
    notes: list[str]
    friedman: TestOutcome
    critical_difference: float = math.nan  # Nemenyi, average-rank units; NaN unless Friedman rejected
    concordance: Interval = NO_INTERVAL  # Kendall's W, Friedman's effect size
    nemenyi: list[NemenyiPair] = field(default_factory=list)  # only when Friedman rejected
    wilcoxon: list[PairedTest] = field(default_factory=list)  # "baseline" protocol only
    baseline_skipped: str = ""  # why there are no tests against the baseline
    seed_noise_pp: float | None = None  # sd of one run's final test accuracy over seeds
    seed_noise_unknown: str = ""  # why seed_noise_pp is None
    #: The pairs the protocol declares different: the one outcome every sentence, caption,
    #: diagram and verdict column is written from.
    differences: list[Difference] = field(default_factory=list)
    verdict: str = ""  # one sentence: what the protocol found

    @property
    def ranked(self) -> list[StrategySummary]:
        """The summaries that have an average rank, best first."""
        return [summary for summary in self.summaries if not math.isnan(summary.average_rank)]

    @property
    def runs_scored_worst(self) -> int:
        """Runs scored as the worst outcome of their block."""
        return sum(summary.runs_scored_worst for summary in self.summaries)

    def declares(self, first: str, second: str) -> bool:
        """Whether the protocol declares ``first`` and ``second`` different (either order)."""
        return any({d.better, d.worse} == {first, second} for d in self.differences)

    @property
    def tested(self) -> bool:
        """Whether the protocol's test ran."""
        if self.protocol.name == "demsar":
            return self.friedman.ran
        return bool(self.wilcoxon)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def statistics_protocol(config: dict[str, Any], strategies: Sequence[str]) -> Protocol:
    """The protocol config.json records (``statistics``), or for results written before it
    did, the documented default: the baseline protocol against a strategy named as random
    search (:data:`RANDOM_SEARCH_NAMES`), or Demšar's when there is none. A malformed
    ``statistics`` entry is refused by :func:`~nasbench.reporting.leaderboard.load.load_results`."""
    chosen = config.get("statistics")
    if isinstance(chosen, dict) and chosen.get("protocol") in PROTOCOLS:
        alpha = float(chosen["alpha"]) if _number(chosen.get("alpha")) else ALPHA
        baseline = str(chosen.get("baseline") or "") if chosen["protocol"] == "baseline" else ""
        recorded = "and alpha" if _number(chosen.get("alpha")) else f"(alpha not recorded: {ALPHA:g})"
        options = "--stats, --baseline" if chosen["protocol"] == "baseline" else "--stats"
        return Protocol(
            str(chosen["protocol"]),
            alpha,
            baseline,
            f"Chosen before the runs: config.json records the protocol {recorded} "
            f"(nasbench compare {options}).",
        )
    older = (
        "config.json records no statistical protocol (the results were written before nasbench recorded one)"
    )
    found = sorted(name for name in set(strategies) if name.lower() in RANDOM_SEARCH_NAMES)
    if found:
        return Protocol(
            "baseline",
            ALPHA,
            found[0],
            f"{older}, so the documented default applies: the baseline protocol against the "
            f"random-search strategy {found[0]}, fixed by its name, not by the results.",
        )
    return Protocol(
        "demsar",
        ALPHA,
        "",
        f"{older} and no strategy is named as random search "
        f"({'/'.join(RANDOM_SEARCH_NAMES)}), so Demšar's protocol, which needs no baseline, applies.",
    )


def _table_entry(config: dict[str, Any], table: str) -> dict[str, Any]:
    return next((e for e in config["tables"] if str(e.get("name")) == table), {})


def seed_noise(config: dict[str, Any], table: str) -> tuple[float | None, str]:
    """The table's seed noise of one run's final test accuracy (``test_seed_sd_pp``), or
    None and why it is not known."""
    entry = _table_entry(config, table)
    value = entry.get("test_seed_sd_pp")
    if _number(value) and value >= 0:
        return float(value), ""
    if "test_seed_sd_pp" in entry:
        return None, (
            "config.json records no seed noise for this table (it could not be measured: fewer than two "
            "training seeds per architecture, or a surrogate without seeds)"
        )
    return None, (
        "config.json records no seed noise for this table (results written before nasbench recorded it)"
    )


#: Final (test accuracy, regret) of every run with a result: strategy -> seed -> pair.
_Finals = dict[str, dict[int, tuple[float, float]]]


def _summaries(runs: pd.DataFrame) -> tuple[_Finals, dict[str, set[int]], dict[str, StrategySummary]]:
    """Final results per strategy and seed, the seeds each strategy has a run on (finished
    or not), and unranked summaries."""
    finals: _Finals = {}
    present: dict[str, set[int]] = {}
    summaries: dict[str, StrategySummary] = {}
    for strategy, frame in runs.groupby("strategy", sort=True):
        name = str(strategy)
        ok = frame[(frame["status"] == "ok") & np.isfinite(frame["final_regret"])]
        finals[name] = {
            int(seed): (float(acc), float(regret))
            for seed, acc, regret in zip(ok["seed"], ok["final_test_acc"], ok["final_regret"], strict=True)
        }
        present[name] = {int(seed) for seed in frame["seed"]}
        ok_runs = frame[frame["status"] == "ok"]
        seeds = sorted(finals[name])
        summaries[name] = StrategySummary(
            strategy=name,
            kind=str(frame["kind"].iloc[0]),
            runs_total=len(frame),
            runs_failed=int((frame["status"] == "failed").sum()),
            evaluations_mean=float(ok_runs["evaluations"].mean()) if len(ok_runs) else math.nan,
            final_test_acc=np.asarray([finals[name][s][0] for s in seeds]),
            final_regret=np.asarray([finals[name][s][1] for s in seeds]),
            runs_without_result=len(ok_runs) - len(ok),
        )
    return finals, present, summaries


def _positions(names: Sequence[str], rank_sums: np.ndarray) -> dict[str, str]:
    """Position of each strategy by rank sum (equal sums: equal average ranks, a tie)."""
    order = sorted(range(len(names)), key=lambda i: (rank_sums[i], names[i]))
    out: dict[str, str] = {}
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and rank_sums[order[end + 1]] == rank_sums[order[start]]:
            end += 1
        text = str(start + 1) if end == start else f"{start + 1}\u2013{end + 1} (tie)"
        for index in order[start : end + 1]:
            out[names[index]] = text
        start = end + 1
    return out


def _blocks(
    all_seeds: list[int], candidates: list[str], finals: _Finals, present: dict[str, set[int]]
) -> tuple[list[int], list[str]]:
    """Seeds that are blocks (every candidate has a run on it and one of them a result), and
    notes on the others."""
    blocks, notes = [], []
    for seed in all_seeds:
        absent = [name for name in candidates if seed not in present[name]]
        if absent:
            notes.append(
                f"Seed {seed} left out for every strategy: no run of {', '.join(absent)} on it "
                "(missing from runs.csv, so neither finished nor failed)."
            )
        elif not any(seed in finals[name] for name in candidates):
            notes.append(f"Seed {seed} left out: no strategy has a final result on it, so it ranks none.")
        else:
            blocks.append(seed)
    return blocks, notes


def _scored(candidates: list[str], blocks: list[int], finals: _Finals) -> tuple[np.ndarray, np.ndarray]:
    """Final regret [blocks, candidates], a missing result scored as the worst of its block,
    and the mask of those scored so."""
    failed = np.asarray([[seed not in finals[name] for name in candidates] for seed in blocks], dtype=bool)
    regret = np.zeros(failed.shape)
    for row, seed in enumerate(blocks):
        done = [finals[name][seed][1] for name in candidates if seed in finals[name]]
        worst = max(done)
        for column, name in enumerate(candidates):
            regret[row, column] = finals[name][seed][1] if seed in finals[name] else worst
    return regret, failed


def _compare(
    table: str,
    constraint: str,
    runs: pd.DataFrame,
    seeds: list[int],
    protocol: Protocol,
    noise: tuple[float | None, str],
) -> Comparison:
    """Final table and statistics of the runs of one group."""
    finals, present, summaries = _summaries(runs)
    notes: list[str] = []
    candidates = [name for name in sorted(finals) if finals[name]]
    for name in sorted(set(finals) - set(candidates)):
        reason = "no run with a final result, so nothing to score its failures against; excluded"
        summaries[name] = replace(summaries[name], excluded=reason)
        notes.append(f"{name}: {reason}.")
    all_seeds = sorted(set(seeds) | {int(s) for s in runs["seed"]})
    blocks, block_notes = _blocks(all_seeds, candidates, finals, present)
    notes += block_notes
    regret, failed = _scored(candidates, blocks, finals)
    if len(blocks) and candidates:
        ranks = block_ranks(regret, failed)
        rank_sums = ranks.sum(axis=0)
        positions = _positions(candidates, rank_sums)
        for column, name in enumerate(candidates):
            summaries[name] = replace(
                summaries[name],
                scored_regret=regret[:, column].copy(),
                runs_scored_worst=int(failed[:, column].sum()),
                average_rank=float(rank_sums[column] / len(blocks)),
                position=positions[name],
                mean_regret=bootstrap_mean(regret[:, column]),
            )
    else:
        ranks = np.zeros((0, len(candidates)))
    scored = int(failed.sum())
    if scored:
        who = ", ".join(
            f"{name} {int(failed[:, i].sum())}" for i, name in enumerate(candidates) if failed[:, i].any()
        )
        notes.append(
            f"{scored} run(s) without a final result scored as the worst outcome of their seed (the "
            f"largest final regret among the strategies that finished on it, and the last rank): {who}."
        )
    ordered = sorted(
        summaries.values(), key=lambda s: (math.isnan(s.average_rank), s.average_rank, s.strategy)
    )
    comparison = Comparison(
        table, constraint, protocol, ordered, blocks, [s for s in all_seeds if s not in blocks], notes,
        TestOutcome("Friedman", skipped="not part of the baseline protocol"), seed_noise_pp=noise[0],
        seed_noise_unknown=noise[1],
    )  # fmt: skip
    if protocol.name == "demsar":
        _demsar(comparison, candidates, ranks, regret)
    else:
        _against_baseline(comparison, candidates, regret)
    comparison.differences = _differences(comparison)
    comparison.verdict = _verdict(comparison)
    return comparison


def _differences(comparison: Comparison) -> list[Difference]:
    """The pairs the comparison's protocol declares different, and nothing else: under the
    baseline protocol the Holm-adjusted Wilcoxon tests below alpha, under Demšar's the
    Nemenyi pairs at least the critical difference apart (tested only when Friedman rejects)."""
    if comparison.protocol.name == "baseline":
        alpha = comparison.protocol.alpha
        return [
            Difference(*((t.strategy, t.reference) if t.lower else (t.reference, t.strategy)), test=_WILCOXON)
            for t in comparison.wilcoxon
            if t.differs(alpha)
        ]
    return [Difference(pair.first, pair.second, _NEMENYI) for pair in comparison.nemenyi if pair.differs]


_WILCOXON = "Wilcoxon signed-rank, Holm"
_NEMENYI = "Nemenyi"


def _demsar(comparison: Comparison, candidates: list[str], ranks: np.ndarray, regret: np.ndarray) -> None:
    """Friedman over the blocks; Nemenyi's pairs only when it rejects."""
    count, blocks = len(candidates), ranks.shape[0]
    if count < 3:
        skipped = f"needs at least 3 strategies with results, this comparison has {count}"
    elif blocks < 2:
        skipped = f"needs at least 2 seeds as blocks, found {blocks}"
    elif np.all(ranks == ranks[:, :1]):
        skipped = "every strategy has the same final regret on every seed"
    else:
        skipped = ""
    if skipped:
        comparison.friedman = TestOutcome("Friedman", skipped=skipped)
        return
    statistic, p = friedman(ranks)
    comparison.friedman = TestOutcome("Friedman", statistic, p)
    comparison.concordance = kendall_w_interval(ranks)
    if not p < comparison.protocol.alpha:
        return
    comparison.critical_difference = critical_difference(count, blocks, comparison.protocol.alpha)
    order = [candidates.index(summary.strategy) for summary in comparison.ranked]
    average = ranks.mean(axis=0)
    for a, first in enumerate(order):
        for second in order[a + 1 :]:
            difference = float(average[second] - average[first])
            comparison.nemenyi.append(
                NemenyiPair(
                    candidates[first],
                    candidates[second],
                    difference,
                    nemenyi_p_value(difference, count, blocks),
                    difference >= comparison.critical_difference,
                    bootstrap_mean(regret[:, first] - regret[:, second]),
                )
            )


def _against_baseline(comparison: Comparison, candidates: list[str], regret: np.ndarray) -> None:
    """Every candidate against the baseline, Holm-adjusted over them."""
    baseline = comparison.protocol.baseline
    if baseline not in candidates:
        names = {summary.strategy: summary for summary in comparison.summaries}
        if baseline in names:
            comparison.baseline_skipped = f"the baseline {baseline} has no run with a final result here"
        else:
            comparison.baseline_skipped = f"the baseline {baseline} has no runs in this comparison"
        return
    if len(candidates) < 2:
        comparison.baseline_skipped = "no other strategy with results to compare with the baseline"
        return
    reference = regret[:, candidates.index(baseline)]
    tests = []
    for summary in comparison.ranked:
        if summary.strategy == baseline:
            continue
        difference = regret[:, candidates.index(summary.strategy)] - reference
        result = signed_rank_pratt(difference)
        tests.append(
            PairedTest(
                summary.strategy, baseline, result.num_pairs, result.num_zero, bootstrap_mean(difference),
                float(np.median(difference)), result.statistic, result.p_value, method=result.method,
                lower=result.rank_sum_positive < result.rank_sum_negative,
            )
        )  # fmt: skip
    adjusted = holm([test.p_value for test in tests])
    comparison.wilcoxon = [replace(t, p_value_holm=p) for t, p in zip(tests, adjusted, strict=True)]


def _names(items: Sequence[str]) -> str:
    return ", ".join(items) if items else "none"


def smallest_holm_p(comparison: Comparison) -> float:
    """The smallest Holm-adjusted p-value the baseline protocol's exact signed-rank tests
    could give with these seeds (NaN without exact tests): 2 / 2^n for n non-zero
    differences, times the number of tests. At or above alpha, no difference is detectable."""
    exact = [test for test in comparison.wilcoxon if test.method == "exact"]
    if not exact or len(exact) < len(comparison.wilcoxon):
        return math.nan
    smallest = min(2.0 / 2.0 ** max(test.num_pairs - test.num_zero, 0) for test in exact)
    return min(1.0, len(comparison.wilcoxon) * smallest)


def _verdict(comparison: Comparison) -> str:
    """One sentence: what the comparison's protocol found, written from
    :attr:`Comparison.differences` alone."""
    alpha, differences = comparison.protocol.alpha, comparison.differences
    if comparison.protocol.name == "baseline":
        if not comparison.wilcoxon:
            return f"No test against the baseline: {comparison.baseline_skipped}."
        baseline, tested = comparison.protocol.baseline, len(comparison.wilcoxon)
        if not differences:
            floor = smallest_holm_p(comparison)
            power = (
                f"; with {len(comparison.seeds_used)} seed(s) the smallest Holm-adjusted p-value these "
                f"tests can give is {floor:.3g}, so no difference could have been detected"
                if floor >= alpha
                else ""
            )
            return (
                f"No strategy's final regret differs significantly from the baseline {baseline}'s "
                f"(Holm-adjusted p >= {alpha:g} for all {tested}){power}."
            )
        better = [d.better for d in differences if d.worse == baseline]
        worse = [d.worse for d in differences if d.better == baseline]
        rest = "; the others do not differ significantly from it" if len(differences) < tested else ""
        return (
            f"{len(differences)} of {tested} strategies differ significantly from the baseline {baseline} "
            f"(Holm-adjusted p < {alpha:g}): lower final regret: {_names(better)}; higher: "
            f"{_names(worse)}{rest}."
        )
    friedman = comparison.friedman
    if not friedman.ran:
        return f"No test: the Friedman test was skipped ({friedman.skipped}); no pair is declared different."
    if not friedman.p_value < alpha:
        return (
            f"The Friedman test does not reject equal average ranks (p >= {alpha:g}), so no pair of "
            "strategies is declared different and the order of average ranks is not evidence of a difference."
        )
    if not differences:
        return (
            f"The Friedman test rejects equal average ranks (p < {alpha:g}), but the Nemenyi post-hoc "
            "test separates no pair: every pair is closer than the critical difference."
        )
    return (
        f"The Friedman test rejects equal average ranks (p < {alpha:g}); the Nemenyi post-hoc test "
        f"separates {len(differences)} of {len(comparison.nemenyi)} pairs: "
        + "; ".join(f"{d.better} ranks better than {d.worse}" for d in differences)
        + "; no other pair differs significantly."
    )


def analyse(results: Results) -> list[Comparison]:
    """One :class:`Comparison` per table (unconstrained runs) and per (table, constraint)."""
    config = results.config
    seeds = [int(seed) for seed in config["seeds"]]
    names = [str(entry["name"]) for entry in config["strategies"]] + list(results.runs["strategy"])
    protocol = statistics_protocol(config, names)
    out: list[Comparison] = []
    runs = results.runs
    for table in table_names(results):
        on_table = runs[runs["table"] == table]
        for constraint in ["", *sorted(set(on_table["constraint"]) - {""})]:
            group = on_table[on_table["constraint"] == constraint]
            if len(group):
                out.append(_compare(table, constraint, group, seeds, protocol, seed_noise(config, table)))
    return out

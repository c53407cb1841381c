"""The statistics of the leaderboard (Demšar 2006): :func:`analyse` results into one
:class:`Comparison` per table and constraint.

Final regret per run; average ranks over the seeds on which every ranked strategy
finished (the blocks); Friedman test over strategies with seeds as blocks, Nemenyi
critical difference, and a Wilcoxon signed-rank test of every strategy against the
best-ranked one with Holm-adjusted p-values. scipy is imported on first use.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from nasbench.reporting.leaderboard.load import Results, table_names

__all__ = [
    "ALPHA",
    "Comparison",
    "PairedTest",
    "StrategySummary",
    "TestOutcome",
    "analyse",
    "critical_difference",
    "holm",
]

#: Significance level of every test in the report.
ALPHA = 0.05


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
    """Wilcoxon signed-rank test of one strategy's final regret against the reference's."""

    strategy: str
    reference: str
    num_pairs: int
    median_difference_pp: float  # strategy minus reference, percentage points of regret
    statistic: float = math.nan
    p_value: float = math.nan
    p_value_holm: float = math.nan
    skipped: str = ""


@dataclass(frozen=True)
class StrategySummary:
    """Final results of one strategy on one table (one group), over its seeds."""

    strategy: str
    kind: str
    runs_total: int
    runs_failed: int
    evaluations_mean: float
    final_test_acc: np.ndarray  # percent, one per run with a result, by seed
    final_regret: np.ndarray  # percentage points, aligned with final_test_acc
    average_rank: float = math.nan  # over the complete blocks; NaN when unranked


@dataclass
class Comparison:
    """Strategies on one table under one constraint ('' for the unconstrained comparison)."""

    table: str
    constraint: str
    summaries: list[StrategySummary]  # best average rank first, unranked last
    seeds_used: list[int]  # blocks: seeds on which every ranked strategy has a final result
    seeds_left_out: list[int]
    notes: list[str]
    friedman: TestOutcome
    critical_difference: float  # Nemenyi, in average-rank units; NaN when Friedman was skipped
    wilcoxon: list[PairedTest] = field(default_factory=list)

    @property
    def ranked(self) -> list[StrategySummary]:
        """The summaries that have an average rank, best first."""
        return [summary for summary in self.summaries if not math.isnan(summary.average_rank)]


#: Final (test accuracy, regret) of every run with a result: strategy -> seed -> pair.
_Finals = dict[str, dict[int, tuple[float, float]]]


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order."""
    order = np.argsort(p_values, kind="stable")
    count = len(p_values)
    adjusted = [0.0] * count
    running = 0.0
    for position, index in enumerate(order):
        running = max(running, min(1.0, (count - position) * p_values[index]))
        adjusted[index] = running
    return adjusted


def critical_difference(num_strategies: int, num_blocks: int, alpha: float = ALPHA) -> float:
    """Nemenyi critical difference of average ranks (Demšar 2006, eq. 5)."""
    from scipy.stats import studentized_range

    q_alpha = float(studentized_range.ppf(1.0 - alpha, num_strategies, np.inf)) / math.sqrt(2.0)
    return q_alpha * math.sqrt(num_strategies * (num_strategies + 1) / (6.0 * num_blocks))


def _summaries(runs: pd.DataFrame) -> tuple[_Finals, dict[str, StrategySummary], list[str]]:
    """Final results per strategy and seed, unranked summaries, and notes on runs without one."""
    notes: list[str] = []
    finals: _Finals = {}
    summaries: dict[str, StrategySummary] = {}
    for strategy, frame in runs.groupby("strategy", sort=True):
        ok = frame[(frame["status"] == "ok") & np.isfinite(frame["final_regret"])]
        finals[str(strategy)] = {
            int(seed): (float(acc), float(regret))
            for seed, acc, regret in zip(ok["seed"], ok["final_test_acc"], ok["final_regret"], strict=True)
        }
        ok_runs = frame[frame["status"] == "ok"]
        summaries[str(strategy)] = StrategySummary(
            strategy=str(strategy),
            kind=str(frame["kind"].iloc[0]),
            runs_total=len(frame),
            runs_failed=int((frame["status"] == "failed").sum()),
            evaluations_mean=float(ok_runs["evaluations"].mean()) if len(ok_runs) else math.nan,
            final_test_acc=np.asarray([finals[str(strategy)][s][0] for s in sorted(finals[str(strategy)])]),
            final_regret=np.asarray([finals[str(strategy)][s][1] for s in sorted(finals[str(strategy)])]),
        )
        without = len(ok_runs) - len(ok)
        if without:
            notes.append(f"{strategy}: {without} finished run(s) without a final result (no incumbent).")
    return finals, summaries, notes


def _friedman(regret: np.ndarray, count: int, num_blocks: int) -> tuple[TestOutcome, float]:
    """Friedman test of ``regret`` [blocks, strategies] and the Nemenyi critical difference,
    or why the test cannot run (critical difference NaN)."""
    from scipy.stats import friedmanchisquare

    if count < 3:
        skipped = f"needs at least 3 strategies with results, this comparison has {count}"
        return TestOutcome("Friedman", skipped=skipped), math.nan
    if num_blocks < 2:
        skipped = f"needs at least 2 seeds on which every strategy finished, found {num_blocks}"
        return TestOutcome("Friedman", skipped=skipped), math.nan
    if np.all(regret == regret[:, :1]):
        skipped = "every strategy has the same final regret on every seed"
        return TestOutcome("Friedman", skipped=skipped), math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = friedmanchisquare(*regret.T)
    outcome = TestOutcome("Friedman", float(result.statistic), float(result.pvalue))
    return outcome, critical_difference(count, num_blocks)


def _compare(table: str, constraint: str, runs: pd.DataFrame, seeds: list[int]) -> Comparison:
    """Final table and statistics of the runs of one group."""
    from scipy.stats import rankdata

    finals, summaries, notes = _summaries(runs)
    candidates = [name for name in sorted(finals) if finals[name]]
    for name in sorted(set(finals) - set(candidates)):
        notes.append(f"{name}: no run with a final result; not ranked.")
    all_seeds = sorted(set(seeds) | {int(s) for s in runs["seed"]})
    blocks = [seed for seed in all_seeds if candidates and all(seed in finals[name] for name in candidates)]
    left_out = [seed for seed in all_seeds if seed not in blocks]
    if left_out and candidates:
        notes.append(
            "Ranks and tests use the seeds on which every ranked strategy finished; "
            f"left out: {', '.join(map(str, left_out))}."
        )
    regret = np.asarray([[finals[name][seed][1] for name in candidates] for seed in blocks], dtype=np.float64)
    if len(blocks):
        average = rankdata(regret, axis=1).mean(axis=0)  # rank 1 = lowest regret; ties share
        for name, rank in zip(candidates, average, strict=True):
            summaries[name] = replace(summaries[name], average_rank=float(rank))
    friedman, critical = _friedman(regret, len(candidates), len(blocks))
    ordered = sorted(
        summaries.values(), key=lambda s: (math.isnan(s.average_rank), s.average_rank, s.strategy)
    )
    comparison = Comparison(table, constraint, ordered, blocks, left_out, notes, friedman, critical)
    comparison.wilcoxon = _wilcoxon_against_best(comparison, finals)
    return comparison


def _wilcoxon_against_best(comparison: Comparison, finals: _Finals) -> list[PairedTest]:
    """Wilcoxon signed-rank test of every ranked strategy against the best-ranked one."""
    from scipy.stats import wilcoxon

    ranked = comparison.ranked
    if len(ranked) < 2:
        return []
    reference = ranked[0].strategy
    tests: list[PairedTest] = []
    for summary in ranked[1:]:
        name = summary.strategy
        common = sorted(set(finals[name]) & set(finals[reference]))
        difference = np.asarray([finals[name][s][1] - finals[reference][s][1] for s in common])
        median = float(np.median(difference)) if len(difference) else math.nan
        if len(common) < 2:
            tests.append(
                PairedTest(name, reference, len(common), median, skipped="fewer than 2 paired seeds")
            )
        elif np.all(difference == 0):
            skipped = f"identical final regret on all {len(common)} seeds"
            tests.append(PairedTest(name, reference, len(common), median, skipped=skipped))
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = wilcoxon(difference)
            tests.append(
                PairedTest(
                    name, reference, len(common), median, float(result.statistic), float(result.pvalue)
                )
            )
    ran = [index for index, test in enumerate(tests) if not test.skipped]
    adjusted = holm([tests[index].p_value for index in ran])
    for index, value in zip(ran, adjusted, strict=True):
        tests[index] = replace(tests[index], p_value_holm=value)
    return tests


def analyse(results: Results) -> list[Comparison]:
    """One :class:`Comparison` per table (unconstrained runs) and per (table, constraint)."""
    seeds = [int(seed) for seed in results.config["seeds"]]
    out: list[Comparison] = []
    runs = results.runs
    for table in table_names(results):
        on_table = runs[runs["table"] == table]
        for constraint in ["", *sorted(set(on_table["constraint"]) - {""})]:
            group = on_table[on_table["constraint"] == constraint]
            if len(group):
                out.append(_compare(table, constraint, group, seeds))
    return out

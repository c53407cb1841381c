"""The final-results table and the statistics of one comparison, as report blocks.

The statistics section opens with one paragraph stating the protocol, its alpha and where
the choice came from, then one verdict sentence (:attr:`Comparison.verdict`). The verdict,
every table's verdict column, and under Demšar's protocol the critical-difference diagram
and its caption are all written from one list, :attr:`Comparison.differences` (the pairs
the protocol declares different), so none can contradict another. Every p-value has the
effect size and its bootstrap interval beside it; where an interval excludes 0 without the
test rejecting, a sentence says why that is no contradiction; and a sentence compares the
differences with the table's own seed noise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from nasbench.reporting.leaderboard.document import Document
from nasbench.reporting.leaderboard.figures import critical_difference_figure
from nasbench.reporting.leaderboard.inference import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, Interval
from nasbench.reporting.leaderboard.stats import Comparison
from nasbench.reporting.markdown import MISSING, mean_sd, number, p_value

__all__ = ["cd_caption", "final_table", "interval_text", "statistics_section"]


def interval_text(interval: Interval, digits: int = 3) -> str:
    """``[low, high]``; :data:`MISSING` without data."""
    if not (math.isfinite(interval.low) and math.isfinite(interval.high)):
        return MISSING
    return f"[{interval.low:.{digits}f}, {interval.high:.{digits}f}]"


def _median(values: np.ndarray) -> float:
    return float(np.median(values)) if len(values) else math.nan


def final_table(document: Document, comparison: Comparison) -> None:
    """One row per strategy, by average rank: ties share a position; failures are scored."""
    header = (
        "position", "avg rank", "strategy", "kind", "runs ok / total", "scored worst", "evaluations",
        "test acc % (mean ± sd)", "test acc % (median)", "regret pp (mean ± sd)", "regret pp (median)",
        "regret pp, 95 % CI of mean",
    )  # fmt: skip
    rows = []
    for summary in comparison.summaries:
        ok = summary.runs_total - summary.runs_failed
        regret = summary.scored_regret
        rows.append(
            (
                summary.position or MISSING,
                number(summary.average_rank),
                summary.strategy,
                summary.kind,
                f"{ok} / {summary.runs_total}",
                str(summary.runs_scored_worst),
                number(summary.evaluations_mean, 1),
                mean_sd(summary.final_test_acc),
                number(_median(summary.final_test_acc)),
                mean_sd(regret, 3),
                number(_median(regret), 3),
                interval_text(summary.mean_regret),
            )
        )
    numeric = (True, True, False, False, True, True, True, True, True, True, True, True)
    document.table(header, rows, numeric)


def _methods(comparison: Comparison) -> str:
    """How the signed-rank p-values were computed."""
    methods = sorted({test.method for test in comparison.wilcoxon})
    if methods == ["normal approximation"]:
        return "from the normal approximation (more pairs than the exact computation takes)"
    if "normal approximation" in methods:
        return "exact, from the normal approximation where there are too many pairs"
    return "exact: the distribution of the statistic over every sign flip"


def _protocol_paragraph(document: Document, comparison: Comparison) -> None:
    protocol = comparison.protocol
    blocks = len(comparison.seeds_used)
    if protocol.name == "baseline":
        method = (
            f"each strategy's final regret is compared with that of the baseline {protocol.baseline}, "
            "fixed before the runs, by a two-sided Wilcoxon signed-rank test over the seeds (paired by "
            "seed; zero differences handled by Pratt's method: ranked with the others, then counted for "
            f"neither sign; p-values {_methods(comparison)}); the p-values are Holm-adjusted over the "
            "strategies compared. No "
            "omnibus test and no critical-difference diagram belong to this protocol."
        )
    else:
        method = (
            "the Friedman test (corrected for ties) of the strategies' ranks over the seeds; only if it "
            "rejects equal ranks, the Nemenyi post-hoc test and its critical-difference diagram. "
            "No pairwise test is run when Friedman does not reject."
        )
    document.paragraph(
        f"Protocol: {protocol.title}, alpha = {protocol.alpha:g}. {protocol.source} Blocks: {blocks} "
        f"seed(s); a run without a final result is scored as the worst outcome of its seed "
        f"({comparison.runs_scored_worst} run(s) here). Method: {method} Effect sizes are mean "
        f"differences of final regret in percentage points with percentile bootstrap 95 % intervals "
        f"over seeds ({BOOTSTRAP_RESAMPLES:,} resamples, seed {BOOTSTRAP_SEED}); they describe the size "
        "of a difference and are not adjusted for multiplicity: the verdict is the test's."
    )


def _noise_sentence(comparison: Comparison, differences: Sequence[tuple[str, float]], what: str) -> str:
    """Which ``differences`` (label, pp) are smaller than the table's seed noise."""
    noise = comparison.seed_noise_pp
    if noise is None:
        return f"{comparison.seed_noise_unknown}, so the differences cannot be compared with it."
    small = [label for label, value in differences if math.isfinite(value) and abs(value) < noise]
    intro = (
        f"Seed noise of this table: one run's final test accuracy varies with the training seed by "
        f"sd {noise:.3f} pp."
    )
    if not differences:
        return intro
    if not small:
        return f"{intro} Every {what} is at least that large."
    if len(small) == len(differences):
        return f"{intro} Every {what} is smaller than that: within the table's own seed noise."
    return f"{intro} Smaller than that, within the table's own seed noise: {', '.join(small)}."


def _excludes_zero(interval: Interval) -> bool:
    """Whether a finite interval lies wholly on one side of 0."""
    return (
        math.isfinite(interval.low)
        and math.isfinite(interval.high)
        and (interval.low > 0 or interval.high < 0)
    )


def _interval_sentence(labels: Sequence[str], tests: int, what: str) -> str:
    """Why intervals that exclude 0 for pairs the test does not declare different are no
    contradiction ('' when there are none)."""
    if not labels:
        return ""
    subject = "interval" if len(labels) == 1 else "intervals"
    verb = "excludes" if len(labels) == 1 else "exclude"
    return (
        f" The bootstrap {subject} of {', '.join(labels)} {verb} 0 although the {what} does not declare "
        f"a difference: an interval describes the size of one difference, unadjusted for the {tests} "
        "comparison(s) made and, over few seeds, narrower than its coverage claims; the verdict is the "
        "test's."
    )


#: Most separated pairs a critical-difference caption names (more: the table lists them).
_CAPTION_PAIRS = 6


def cd_caption(comparison: Comparison) -> str:
    """The critical-difference diagram's caption, from :attr:`Comparison.differences`."""
    differences = comparison.differences
    if differences:
        pairs = (
            "; ".join(f"{d.better} vs {d.worse}" for d in differences)
            if len(differences) <= _CAPTION_PAIRS
            else "listed in the table below"
        )
        verdict = f"the {len(differences)} pair(s) not joined by any bar differ ({pairs}); no other pair does"
    else:
        verdict = "every pair is joined by a bar, so none differs"
    return (
        "Critical-difference diagram (Demšar 2006), drawn because the Friedman test rejected equal "
        "ranks: average rank over seeds, lower is better; strategies joined by a bar are closer than "
        f"the Nemenyi critical difference and do not differ significantly; {verdict}."
    )


def _baseline_section(document: Document, comparison: Comparison) -> None:
    alpha = comparison.protocol.alpha
    if not comparison.wilcoxon:
        return
    rows = []
    for test in comparison.wilcoxon:
        if comparison.declares(test.strategy, test.reference):
            outcome = f"differs (Holm p < {alpha:g}): {'lower' if test.lower else 'higher'} regret"
        else:
            outcome = "no significant difference"
        rows.append(
            (
                test.strategy,
                test.reference,
                str(test.num_pairs),
                str(test.num_zero),
                number(test.mean_difference.estimate, 3),
                interval_text(test.mean_difference),
                number(test.median_difference_pp, 3),
                number(test.statistic, 1),
                p_value(test.p_value),
                p_value(test.p_value_holm),
                outcome,
            )
        )
    document.table(
        ("strategy", "against", "pairs tested", "zero differences", "mean Δ regret pp", "95 % CI (bootstrap)",
         "median Δ regret pp", "W", "p", "p (Holm)", "verdict"),
        rows,
        (False, False, True, True, True, True, True, True, True, True, False),
    )  # fmt: skip
    differences = [(t.strategy, t.mean_difference.estimate) for t in comparison.wilcoxon]
    undeclared = [
        t.strategy
        for t in comparison.wilcoxon
        if _excludes_zero(t.mean_difference) and not comparison.declares(t.strategy, t.reference)
    ]
    document.paragraph(
        f"Δ: strategy minus {comparison.protocol.baseline}, so a negative Δ is a lower final regret than "
        "the baseline's. Pairs tested: every seed, zero differences included (Pratt); W is the smaller "
        f"of the two signed-rank sums. {_noise_sentence(comparison, differences, 'mean Δ')}"
        + _interval_sentence(undeclared, len(comparison.wilcoxon), "Holm-adjusted test")
    )


def _demsar_section(document: Document, comparison: Comparison, title: str) -> None:
    friedman, alpha = comparison.friedman, comparison.protocol.alpha
    if not friedman.ran:
        return
    blocks, concordance = len(comparison.seeds_used), comparison.concordance
    document.paragraph(
        f"Friedman test over {len(comparison.ranked)} strategies with {blocks} seeds as blocks: "
        f"chi² = {friedman.statistic:.4f}, p = {p_value(friedman.p_value)}. Effect size: Kendall's W = "
        f"{concordance.estimate:.3f} (95 % CI {interval_text(concordance)}; 0: the seeds do not agree on "
        "any order, 1: every seed ranks the strategies the same)."
    )
    if not friedman.p_value < alpha:
        means = [s.mean_regret.estimate for s in comparison.ranked]
        gap = max(means) - min(means) if means else math.nan
        document.paragraph(
            "Friedman does not reject, so no critical-difference diagram is drawn and no pair is tested. "
            f"The mean final regrets span {number(gap, 3)} pp. "
            + _noise_sentence(comparison, [("that span", gap)], "gap")
        )
        return
    separated = {(d.better, d.worse) for d in comparison.differences}
    document.paragraph(
        f"Nemenyi critical difference at alpha = {alpha:g}: {comparison.critical_difference:.3f} "
        f"average ranks; {len(separated)} of {len(comparison.nemenyi)} pairs differ by at least that."
    )
    png = critical_difference_figure(title, comparison.ranked, comparison.critical_difference, separated)
    document.image(
        f"cd-{title}",
        f"Critical-difference diagram: {title}",
        cd_caption(comparison),
        png,
        "critical-difference",
    )
    rows = [
        (
            pair.first,
            pair.second,
            number(pair.rank_difference, 3),
            p_value(pair.p_value),
            number(pair.mean_difference.estimate, 3),
            interval_text(pair.mean_difference),
            f"differs (Δ rank ≥ CD, p < {alpha:g})"
            if comparison.declares(pair.first, pair.second)
            else "no significant difference",
        )
        for pair in comparison.nemenyi
    ]
    document.table(
        ("better rank", "worse rank", "Δ avg rank", "Nemenyi p", "mean Δ regret pp", "95 % CI (bootstrap)",
         "verdict"),
        rows,
        (False, False, True, True, True, True, False),
    )  # fmt: skip
    differences = [
        (f"{pair.first} vs {pair.second}", pair.mean_difference.estimate)
        for pair in comparison.nemenyi
        if comparison.declares(pair.first, pair.second)
    ]
    undeclared = [
        f"{pair.first} vs {pair.second}"
        for pair in comparison.nemenyi
        if _excludes_zero(pair.mean_difference) and not comparison.declares(pair.first, pair.second)
    ]
    document.paragraph(
        "Δ regret: the better-ranked strategy minus the other, percentage points. "
        + _noise_sentence(comparison, differences, "mean Δ of a separated pair")
        + _interval_sentence(undeclared, len(comparison.nemenyi), "Nemenyi test")
    )


def statistics_section(document: Document, comparison: Comparison, title: str) -> None:
    """Protocol, verdict, then the protocol's table (and diagram)."""
    _protocol_paragraph(document, comparison)
    document.paragraph(f"Verdict: {comparison.verdict}")
    if comparison.protocol.name == "baseline":
        _baseline_section(document, comparison)
    else:
        _demsar_section(document, comparison, title)

"""The statistical arithmetic of the leaderboard, free of any report: ranks within blocks
with failures last, the tie-corrected Friedman test and Kendall's W, Nemenyi's critical
difference and pairwise p-values, the Wilcoxon signed-rank test with Pratt's treatment of
zero differences, Holm's adjustment, and seeded percentile bootstrap intervals.

Every function is deterministic: the bootstrap draws from a ``numpy.random.Generator``
made from a fixed seed, and the signed-rank p-value is exact (the null distribution of
the statistic over all sign flips, computed by dynamic programming) rather than dependent
on which approximation a scipy version picks. scipy is imported on first use.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "BOOTSTRAP_RESAMPLES",
    "BOOTSTRAP_SEED",
    "EXACT_MAX_PAIRS",
    "NO_INTERVAL",
    "Interval",
    "SignedRank",
    "block_ranks",
    "bootstrap_mean",
    "critical_difference",
    "friedman",
    "holm",
    "kendall_w_interval",
    "nemenyi_p_value",
    "signed_rank_pratt",
]

#: Resamples of every bootstrap interval.
BOOTSTRAP_RESAMPLES = 10_000
#: Seed of every bootstrap interval: each interval starts a new generator from it, so an
#: interval depends only on its own data (not on the other strategies of a report).
BOOTSTRAP_SEED = 20_160_921
#: Largest number of pairs whose signed-rank p-value is exact; above it, the normal
#: approximation (Pratt-adjusted mean and variance, tie-corrected).
EXACT_MAX_PAIRS = 200


@dataclass(frozen=True)
class Interval:
    """An estimate with a 95 % interval (NaN bounds when there is no data)."""

    estimate: float
    low: float
    high: float

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in the closed interval."""
        return self.low <= value <= self.high


#: The interval of no data.
NO_INTERVAL = Interval(math.nan, math.nan, math.nan)


@dataclass(frozen=True)
class SignedRank:
    """One two-sided Wilcoxon signed-rank test with Pratt's treatment of zero differences."""

    num_pairs: int  # every pair tested, zero differences included (Pratt ranks them)
    num_zero: int  # pairs whose difference is exactly zero
    rank_sum_positive: float  # R+: sum of the ranks of the positive differences
    rank_sum_negative: float  # R-: the same for the negative differences
    statistic: float  # W = min(R+, R-), as scipy reports it
    p_value: float
    method: str  # "exact" or "normal approximation"


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order."""
    order = np.argsort(np.asarray(p_values, dtype=np.float64), kind="stable")
    count = len(p_values)
    adjusted = [0.0] * count
    running = 0.0
    for position, index in enumerate(order):
        running = max(running, min(1.0, (count - position) * float(p_values[index])))
        adjusted[index] = running
    return adjusted


def block_ranks(values: np.ndarray, failed: np.ndarray) -> np.ndarray:
    """Ranks within each row (block) of ``values`` [blocks, strategies], 1 = lowest value,
    ties sharing their average rank; entries marked ``failed`` rank after every other entry
    of their block (tied with each other), whatever their value."""
    from scipy.stats import rankdata

    values = np.asarray(values, dtype=np.float64)
    failed = np.asarray(failed, dtype=bool)
    ranks = np.empty_like(values)
    for row in range(values.shape[0]):
        done = ~failed[row]
        ranks[row, done] = rankdata(values[row, done])
        finished = int(done.sum())
        ranks[row, ~done] = finished + (values.shape[1] - finished + 1) / 2.0
    return ranks


def friedman(ranks: np.ndarray) -> tuple[float, float]:
    """Friedman's chi-square statistic and p-value of a rank matrix [blocks, strategies],
    corrected for ties (scipy's ``friedmanchisquare``, which re-ranks the ranks unchanged)."""
    from scipy.stats import friedmanchisquare

    result = friedmanchisquare(*np.asarray(ranks, dtype=np.float64).T)
    return float(result.statistic), float(result.pvalue)


def _tie_terms(ranks: np.ndarray) -> np.ndarray:
    """Per block, the sum of t^3 - t over its groups of tied ranks."""
    terms = np.zeros(ranks.shape[0])
    for row in range(ranks.shape[0]):
        _, counts = np.unique(ranks[row], return_counts=True)
        terms[row] = float(np.sum(counts.astype(np.float64) ** 3 - counts))
    return terms


def _kendall_w(rank_sums: np.ndarray, ties: np.ndarray, blocks: int, count: int) -> np.ndarray:
    """Kendall's W (tie-corrected, = Friedman chi-square / (n (k - 1))) for rows of rank sums."""
    spread = 12.0 * np.sum(rank_sums**2, axis=-1) - 3.0 * blocks**2 * count * (count + 1) ** 2
    denominator = blocks**2 * count * (count**2 - 1) - blocks * ties
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, spread / denominator, np.nan)


def kendall_w_interval(ranks: np.ndarray) -> Interval:
    """Kendall's coefficient of concordance W of a rank matrix [blocks, strategies] (0: the
    strategies' ranks are unrelated across seeds, 1: every seed ranks them the same), the
    effect size of the Friedman test, with a percentile bootstrap 95 % interval over blocks."""
    ranks = np.asarray(ranks, dtype=np.float64)
    blocks, count = ranks.shape
    ties = _tie_terms(ranks)
    estimate = float(_kendall_w(ranks.sum(axis=0), np.asarray(ties.sum()), blocks, count))
    draws = np.random.default_rng(BOOTSTRAP_SEED).integers(0, blocks, size=(BOOTSTRAP_RESAMPLES, blocks))
    resampled = _kendall_w(ranks[draws].sum(axis=1), ties[draws].sum(axis=1), blocks, count)
    resampled = resampled[np.isfinite(resampled)]
    if not len(resampled):
        return Interval(estimate, math.nan, math.nan)
    low, high = np.percentile(resampled, [2.5, 97.5])
    return Interval(estimate, float(low), float(high))


def critical_difference(num_strategies: int, num_blocks: int, alpha: float) -> float:
    """Nemenyi critical difference of average ranks (Demšar 2006, eq. 5)."""
    from scipy.stats import studentized_range

    q_alpha = float(studentized_range.ppf(1.0 - alpha, num_strategies, np.inf)) / math.sqrt(2.0)
    return q_alpha * math.sqrt(num_strategies * (num_strategies + 1) / (6.0 * num_blocks))


def nemenyi_p_value(rank_difference: float, num_strategies: int, num_blocks: int) -> float:
    """Nemenyi p-value of a difference of average ranks: the studentized range's tail at
    sqrt(2) |difference| / sqrt(k (k + 1) / (6 n)); below alpha exactly when the difference
    exceeds :func:`critical_difference`."""
    from scipy.stats import studentized_range

    scale = math.sqrt(num_strategies * (num_strategies + 1) / (6.0 * num_blocks))
    q = math.sqrt(2.0) * abs(rank_difference) / scale
    return float(min(1.0, max(0.0, studentized_range.sf(q, num_strategies, np.inf))))


def signed_rank_pratt(differences: np.ndarray) -> SignedRank:
    """Two-sided Wilcoxon signed-rank test of paired ``differences`` with Pratt's treatment
    of zeros: every difference, zeros included, is ranked by its absolute value; the zeros'
    ranks then count for neither sign. The p-value is exact (the distribution of R+ over all
    equally likely sign flips of the non-zero differences, their tied ranks kept) up to
    :data:`EXACT_MAX_PAIRS` pairs, else the normal approximation; scipy's
    ``wilcoxon(differences, zero_method="pratt")`` gives the same statistic and, for the
    sample sizes where it enumerates sign flips, the same p-value."""
    from scipy.stats import norm, rankdata

    values = np.asarray(differences, dtype=np.float64)
    count = len(values)
    zero = values == 0
    ranks = rankdata(np.abs(values)) if count else np.zeros(0)
    positive = float(ranks[values > 0].sum())
    negative = float(ranks[values < 0].sum())
    statistic = min(positive, negative)
    nonzero = ranks[~zero]
    if not len(nonzero):
        return SignedRank(count, int(zero.sum()), positive, negative, statistic, 1.0, "exact")
    if len(nonzero) <= EXACT_MAX_PAIRS:
        doubled = np.rint(2.0 * nonzero).astype(np.int64)  # average ranks are halves
        distribution = np.zeros(int(doubled.sum()) + 1)
        distribution[0] = 1.0
        for rank in doubled:
            shifted = np.zeros_like(distribution)
            shifted[rank:] = distribution[: len(distribution) - rank]
            distribution = 0.5 * distribution + 0.5 * shifted
        observed = round(2.0 * positive)
        lower = float(distribution[: observed + 1].sum())
        upper = float(distribution[observed:].sum())
        p = min(1.0, 2.0 * min(lower, upper))
        return SignedRank(count, int(zero.sum()), positive, negative, statistic, p, "exact")
    zeros = float(zero.sum())
    mean = (count * (count + 1) - zeros * (zeros + 1)) / 4.0
    _, ties = np.unique(nonzero, return_counts=True)
    variance = (
        count * (count + 1) * (2 * count + 1)
        - zeros * (zeros + 1) * (2 * zeros + 1)
        - float(np.sum(ties.astype(np.float64) ** 3 - ties)) / 2.0
    ) / 24.0
    z = (positive - mean) / math.sqrt(variance)
    p = float(min(1.0, 2.0 * norm.sf(abs(z))))
    return SignedRank(count, int(zero.sum()), positive, negative, statistic, p, "normal approximation")


def bootstrap_mean(values: np.ndarray) -> Interval:
    """Mean of ``values`` with a percentile bootstrap 95 % interval (resampling the values
    with replacement, :data:`BOOTSTRAP_RESAMPLES` times, from :data:`BOOTSTRAP_SEED`)."""
    values = np.asarray(values, dtype=np.float64)
    if not len(values):
        return NO_INTERVAL
    generator = np.random.default_rng(BOOTSTRAP_SEED)
    draws = generator.integers(0, len(values), size=(BOOTSTRAP_RESAMPLES, len(values)))
    low, high = np.percentile(values[draws].mean(axis=1), [2.5, 97.5])
    return Interval(float(values.mean()), float(low), float(high))

"""What random search is expected to find, in closed form from a table.

Random search that draws ``n`` distinct architectures uniformly (without replacement,
``rs`` with ``deduplicate="index"``) and keeps the best by its search signal returns,
in expectation, a weighted mean of the test values: the architectures are grouped by
search-signal value, best first; the sample's best group is group ``j`` with
probability ``[C(N - a_j, n) - C(N - a_j - g_j, n)] / C(N, n)`` (``a_j`` architectures
rank above the group, ``g_j`` are in it), and, the incumbent being the first-drawn of
the tied best, it is a uniform member of that group. The same weights give the exact
second moment, so the standard deviation of one run is exact too. A simulation must
agree with it within its standard error; the test suite and the reproduction report
check that it does.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln

from nasbench.core.errors import ConfigError

__all__ = ["random_search_expectation"]


def _log_choose_ratio(available: np.ndarray, total: int, draws: int) -> np.ndarray:
    """log(C(available, draws) / C(total, draws)), -inf where available < draws."""
    available = np.asarray(available, dtype=np.float64)
    out = np.full(available.shape, -np.inf)
    ok = available >= draws
    m = available[ok]
    out[ok] = gammaln(m + 1) - gammaln(m - draws + 1) - gammaln(total + 1) + gammaln(total - draws + 1)
    return out


def random_search_expectation(
    search_signal: np.ndarray, test: np.ndarray, evaluations: int
) -> tuple[float, float]:
    """(mean, standard deviation) of the test value random search returns after
    ``evaluations`` distinct uniform draws, selecting by ``search_signal`` (higher is
    better; ties go to the first drawn). Architectures with a NaN in either array are
    left out of the population."""
    signal = np.asarray(search_signal, dtype=np.float64)
    values = np.asarray(test, dtype=np.float64)
    if signal.shape != values.shape or signal.ndim != 1:
        raise ConfigError("search_signal and test need the same 1-d shape")
    keep = ~(np.isnan(signal) | np.isnan(values))
    signal, values = signal[keep], values[keep]
    total = int(signal.size)
    if isinstance(evaluations, bool) or not isinstance(evaluations, (int, np.integer)):
        raise ConfigError(f"evaluations must be an integer, got {evaluations!r}")
    if not 1 <= evaluations <= total:
        raise ConfigError(
            f"evaluations must be in 1..{total} (the architectures with values), got {evaluations}"
        )
    levels, group = np.unique(-signal, return_inverse=True)  # level 0 = the best signal
    sizes = np.bincount(group, minlength=levels.size).astype(np.float64)
    sums = np.bincount(group, weights=values, minlength=levels.size)
    squares = np.bincount(group, weights=values * values, minlength=levels.size)
    above = np.concatenate([[0.0], np.cumsum(sizes)[:-1]])
    none_above = np.exp(_log_choose_ratio(total - above, total, evaluations))
    none_above_or_in = np.exp(_log_choose_ratio(total - above - sizes, total, evaluations))
    weight = np.clip(none_above - none_above_or_in, 0.0, None)
    mean = float(np.sum(weight * sums / sizes))
    second = float(np.sum(weight * squares / sizes))
    return mean, math.sqrt(max(second - mean * mean, 0.0))

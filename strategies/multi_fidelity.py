"""Multi-fidelity search over the epoch budget: Hyperband and BOHB.

Both run successive-halving brackets: train many architectures for a few epochs, continue
the best fraction ``1/eta`` of them ``eta`` times longer, and so on up to the task's full
``num_epochs``. The benchmark charges a continued model only the epochs it has not yet
trained, as resuming a real run would. Brackets run one after another (every result of a
rung is told before the next rung starts) and the cycle of brackets repeats until the
budget ends. Hyperband fills each bracket with uniform random architectures; BOHB draws
most of them from a density model of the good and the bad architectures seen so far.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from nasbench.strategies._common import ClassLedger

from nasbench.core.errors import ConfigError, NasbenchError
from nasbench.core.validation import owner_label
from nasbench.search import Result, SearchFinished, Strategy, Trial, check_float, check_int

__all__ = ["BOHB", "Hyperband", "bracket_schedule"]


def bracket_schedule(max_epochs: int, min_epochs: int, eta: int) -> list[list[tuple[int, int]]]:
    """Hyperband's brackets, most exploratory first: for each bracket, its rungs as
    (architectures, epochs).

    With ``s_max = floor(log_eta(max_epochs / min_epochs))``, bracket ``s`` (from ``s_max``
    down to 0) starts ``ceil((s_max + 1) / (s + 1) * eta**s)`` architectures at
    ``max_epochs * eta**-s`` epochs and keeps ``1/eta`` of them at each next rung (Li et
    al., 2018, algorithm 1). Epochs are rounded half up and kept within
    ``min_epochs..max_epochs``; the last rung always trains fully.
    """
    s_max = math.floor(math.log(max_epochs / min_epochs) / math.log(eta) + 1e-9)
    brackets = []
    for s in range(s_max, -1, -1):
        count = math.ceil((s_max + 1) / (s + 1) * eta**s)
        rungs = []
        for i in range(s + 1):
            epochs = max_epochs if i == s else math.floor(max_epochs * float(eta) ** (i - s) + 0.5)
            survivors = max(1, math.floor(count * float(eta) ** -i))
            rungs.append((survivors, min(max(epochs, min_epochs), max_epochs)))
        brackets.append(rungs)
    return brackets


@dataclass
class _Rung:
    """The architectures of one rung and what they scored."""

    indices: list[int]
    epochs: int
    scores: dict[int, float] = field(default_factory=dict)  # index -> val_acc


class Hyperband(Strategy):
    """Hyperband: successive halving over several exploration/exploitation trade-offs
    (Li et al., 2018).

    ``eta`` is the reduction factor (the best ``1/eta`` of a rung are continued ``eta``
    times longer) and ``min_epochs`` the shortest training; the longest is the task's
    ``num_epochs``. Each bracket starts with uniform random architectures, never from an
    isomorphism class already tried in the run. Li et al. recommend ``eta`` = 3 for long
    resource ranges (their maximum resource R is often 81 or more units); the defaults
    here, ``eta`` = 2 and ``min_epochs`` = 1, suit tables with few epochs: with 4 epochs
    they give three brackets, 4 x 1 -> 2 x 2 -> 1 x 4 epochs, 3 x 2 -> 1 x 4 and 3 x 4.
    """

    kind = "multi-fidelity"

    def __init__(self, *, eta: int = 2, min_epochs: int = 1, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.eta = eta
        self.min_epochs = min_epochs
        check_int(self, "eta", eta, low=2)
        check_int(self, "min_epochs", min_epochs, low=1)

    def _setup(self) -> None:
        max_epochs = self.task.num_epochs
        if self.min_epochs > max_epochs:
            raise ConfigError(
                f"{owner_label(self)}: min_epochs={self.min_epochs} exceeds the task's {max_epochs} epochs"
            )
        self._brackets = bracket_schedule(max_epochs, self.min_epochs, self.eta)
        self._ledger = ClassLedger(self.task.space)
        self._bracket_count = 0
        self._bracket: list[tuple[int, int]] = []
        self._rung: _Rung | None = None
        self._rung_number = 0
        self._queue: deque[int] = deque()  # positions in the current rung still to ask
        self._pending = 0

    def ask(self) -> Trial:
        if not self._queue:
            if self._pending:
                raise NasbenchError(
                    f"{type(self).__name__} is synchronous: tell every trial of a rung before asking again"
                )
            self._next_rung()
        position = self._queue.popleft()
        self._pending += 1
        assert self._rung is not None
        return Trial(self._rung.indices[position], self._rung.epochs)

    def tell(self, trial: Trial, result: Result) -> None:
        rung = self._rung
        if rung is not None and self._pending and trial.index in rung.indices:
            self._pending -= 1
            rung.scores[trial.index] = result.val_acc

    # ----------------------------------------------------------------- schedule
    def _next_rung(self) -> None:
        rung = self._rung
        if rung is not None and self._rung_number + 1 < len(self._bracket):
            self._rung_number += 1
            keep, epochs = self._bracket[self._rung_number]
            keep = min(keep, len(rung.indices))
            scores = np.array([rung.scores.get(index, -np.inf) for index in rung.indices])
            best = np.argsort(-scores, kind="stable")[:keep]
            self._rung = _Rung([rung.indices[k] for k in best], epochs)
        else:
            self._bracket = self._brackets[self._bracket_count % len(self._brackets)]
            self._bracket_count += 1
            self._rung_number = 0
            count, epochs = self._bracket[0]
            indices = self._sample(count, epochs)
            if not indices:
                raise SearchFinished("every isomorphism class has been tried")
            for index in indices:
                self._ledger.mark(index)
            self._rung = _Rung(indices, epochs)
        self._queue.extend(range(len(self._rung.indices)))

    def _sample(self, count: int, epochs: int) -> list[int]:
        """``count`` architectures of unused classes to start a bracket at ``epochs``."""
        return self._ledger.sample(self.rng, count).tolist()


class BOHB(Hyperband):
    """BOHB: Hyperband whose brackets start from a TPE-style density model (Falkner et
    al., 2018).

    Every result is kept per epoch budget. When some budget has at least
    ``min_points_in_model`` results (by default the number of edges + 1, Falkner et al.'s
    d + 1), a new bracket architecture comes, with probability ``1 - random_fraction``,
    from the model of the largest such budget; otherwise, and always before that, it is
    uniform random as in Hyperband. The model splits that budget's architectures into the
    best ``top_fraction`` ("good") and the rest ("bad") and builds a categorical kernel
    density over the one-hot encoding for each (one Aitchison-Aitken kernel per edge: keep
    the op with weight 1 - lambda, else any other). It draws ``num_samples`` candidates
    from the good density with bandwidths widened by ``bandwidth_factor`` and proposes the
    unused one with the highest ratio good / bad density. Per-edge bandwidths follow a
    Scott-style rule, 1.06 x spread x n^(-1/5), with spread the root Gini impurity of the
    edge's ops, floored at ``min_bandwidth``.

    Literature settings (Falkner et al.): top 15 %, 64 samples, random fraction 1/3,
    bandwidth factor 3, minimum bandwidth 1e-3. The floor here is 0.1: the space is small
    and categorical, and an already-tried class is never proposed again, so a sharper
    density would mostly sample repeats.
    """

    kind = "multi-fidelity"

    def __init__(
        self,
        *,
        eta: int = 2,
        min_epochs: int = 1,
        min_points_in_model: int | None = None,
        top_fraction: float = 0.15,
        num_samples: int = 64,
        random_fraction: float = 1 / 3,
        bandwidth_factor: float = 3.0,
        min_bandwidth: float = 0.1,
        seed: int = 0,
    ) -> None:
        super().__init__(eta=eta, min_epochs=min_epochs, seed=seed)
        self.min_points_in_model = min_points_in_model
        self.top_fraction = top_fraction
        self.num_samples = num_samples
        self.random_fraction = random_fraction
        self.bandwidth_factor = bandwidth_factor
        self.min_bandwidth = min_bandwidth
        if min_points_in_model is not None:
            check_int(self, "min_points_in_model", min_points_in_model, low=2)
        check_float(self, "top_fraction", top_fraction, 0.0, 1.0, low_open=True)
        check_int(self, "num_samples", num_samples, low=1)
        check_float(self, "random_fraction", random_fraction, 0.0, 1.0)
        check_float(self, "bandwidth_factor", bandwidth_factor, 0.0, low_open=True)
        check_float(self, "min_bandwidth", min_bandwidth, 0.0, 1.0, low_open=True)

    def _setup(self) -> None:
        super()._setup()
        space = self.task.space
        self._min_points = (
            space.num_edges + 1 if self.min_points_in_model is None else self.min_points_in_model
        )
        self._observed: dict[int, tuple[list[int], list[float]]] = {}

    def tell(self, trial: Trial, result: Result) -> None:
        super().tell(trial, result)
        indices, values = self._observed.setdefault(result.epochs, ([], []))
        indices.append(trial.index)
        values.append(result.val_acc)

    def _model_budget(self) -> int | None:
        """The largest budget with enough results for a model, if any."""
        ready = [epochs for epochs, (seen, _) in self._observed.items() if len(seen) >= self._min_points]
        return max(ready) if ready else None

    def _sample(self, count: int, epochs: int) -> list[int]:
        budget = self._model_budget()
        if budget is None:
            return super()._sample(count, epochs)
        out: list[int] = []
        for _ in range(count):
            index = None
            if self.rng.random() >= self.random_fraction:
                index = self._from_model(budget)
            if index is None:
                drawn = self._ledger.sample(self.rng, 1)
                if drawn.size == 0:
                    break
                index = int(drawn[0])
            self._ledger.mark(index)
            out.append(index)
        return out

    def _from_model(self, budget: int) -> int | None:
        """The best of ``num_samples`` draws from the good density by good/bad ratio."""
        space = self.task.space
        num_ops = space.num_ops
        indices, values = self._observed[budget]
        order = np.argsort(-np.asarray(values), kind="stable")
        num_good = max(1, math.ceil(self.top_fraction * len(order)))
        ops = space.ops_array(np.asarray(indices)).astype(np.int64)
        good, bad = ops[order[:num_good]], ops[order[num_good:]]
        if bad.shape[0] == 0:
            return None
        good_bandwidth = self._bandwidths(good)
        bad_bandwidth = self._bandwidths(bad)
        # A draw: a random good architecture whose every edge is re-drawn uniformly with the
        # probability that gives the widened Aitchison-Aitken kernel.
        widened = np.minimum(good_bandwidth * self.bandwidth_factor, (num_ops - 1) / num_ops)
        rows = good[self.rng.integers(good.shape[0], size=self.num_samples)]
        redraw = self.rng.random(rows.shape) < (widened * num_ops / (num_ops - 1))[None, :]
        samples = np.where(redraw, self.rng.integers(num_ops, size=rows.shape), rows)
        candidates = self._ledger.fresh(space.indices_from_ops(samples))
        if candidates.size == 0:
            return None
        x = space.ops_array(candidates).astype(np.int64)
        ratio = self._log_density(x, good, good_bandwidth) - self._log_density(x, bad, bad_bandwidth)
        return int(candidates[int(np.argmax(ratio))])

    def _bandwidths(self, ops: np.ndarray) -> np.ndarray:
        """Per-edge Aitchison-Aitken lambda for a set of architectures (op indices [n, E])."""
        num_ops = self.task.space.num_ops
        counts = np.stack([(ops == k).sum(axis=0) for k in range(num_ops)], axis=1) / ops.shape[0]
        spread = np.sqrt(np.clip(1.0 - (counts**2).sum(axis=1), 0.0, None))
        bandwidth = 1.06 * spread * ops.shape[0] ** (-1 / 5)
        return np.clip(bandwidth, self.min_bandwidth, (num_ops - 1) / num_ops)

    def _log_density(self, x: np.ndarray, data: np.ndarray, bandwidth: np.ndarray) -> np.ndarray:
        """Log of the product-kernel density of ``data`` at every row of ``x``."""
        num_ops = self.task.space.num_ops
        same = x[:, None, :] == data[None, :, :]  # [m, n, E]
        log_kernel = np.where(same, np.log1p(-bandwidth), np.log(bandwidth / (num_ops - 1))).sum(axis=2)
        peak = log_kernel.max(axis=1, keepdims=True)
        return peak[:, 0] + np.log(np.exp(log_kernel - peak).mean(axis=1))

"""REINFORCE: a policy over architectures trained by the score-function gradient."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from nasbench.core.errors import ConfigError
from nasbench.search import Result, Strategy, Trial, check_choice, check_float, check_int

_ADAM_BETAS = (0.9, 0.999)
_ADAM_EPS = 1e-8
# The LSTM's logits are squashed to c * tanh(logit / T), as ENAS does (Pham et al., 2018).
_TANH_CONSTANT = 2.5
_TEMPERATURE = 5.0


class Reinforce(Strategy):
    """Policy-gradient search (Williams, 1992, REINFORCE; for NAS, Zoph & Le, 2017).

    A policy samples one op per edge; the reward of a sample is its validation accuracy.
    After each evaluation the policy takes one Adam step (Kingma & Ba, 2015) along
    ``(reward - baseline) * grad log p(sample)``, plus ``entropy_weight`` times the gradient
    of the policy's entropy; the baseline is an exponential moving average of the rewards
    with decay ``ema_decay``, started at the first reward.

    ``policy="categorical"`` (default) is an independent softmax over the ops of every
    edge, its logits starting at zero (uniform), kept in numpy: the form NAS-Bench-201's
    REINFORCE baseline uses (Dong & Yang, 2020). ``policy="lstm"`` is Zoph & Le's
    controller in small: an LSTM of ``hidden_size`` units that picks the edges' ops in
    order, each choice fed back as the next input, with one softmax head per edge; its
    logits are squashed to ``2.5 * tanh(logit / 5)`` as in ENAS (Pham et al., 2018), which
    keeps it from collapsing onto one architecture within a few dozen updates. It needs
    torch, imported only then, and runs on one torch thread; its weights are initialised
    from ``seed`` without touching torch's global random state.

    Defaults follow NAS-Bench-201's REINFORCE runs as released with NATS-Bench (Dong et
    al., 2021): Adam, learning rate 0.01, moving-average decay 0.9, no entropy bonus.
    The baseline here averages the rewards before the current one, so it never depends
    on the sample it judges. :attr:`entropy_history` records the policy's entropy (in
    nats, summed over edges) at every proposal: exact for the categorical policy; for the
    LSTM, the sampled sequence's summed per-step entropies (an unbiased estimate).
    """

    kind = "black-box"

    def __init__(
        self,
        *,
        policy: str = "categorical",
        learning_rate: float = 0.01,
        ema_decay: float = 0.9,
        entropy_weight: float = 0.0,
        hidden_size: int = 32,
        seed: int = 0,
    ) -> None:
        super().__init__(seed=seed)
        self.policy = policy
        self.learning_rate = learning_rate
        self.ema_decay = ema_decay
        self.entropy_weight = entropy_weight
        self.hidden_size = hidden_size
        check_choice(self, "policy", policy, ("categorical", "lstm"))
        check_float(self, "learning_rate", learning_rate, 0.0, 10.0, low_open=True)
        check_float(self, "ema_decay", ema_decay, 0.0, 1.0)
        check_float(self, "entropy_weight", entropy_weight, 0.0, 10.0)
        check_int(self, "hidden_size", hidden_size, low=1, high=4096)

    def _setup(self) -> None:
        space = self.task.space
        self._space = space
        self._num_edges = space.num_edges
        self._num_ops = space.num_ops
        self._baseline: float | None = None
        #: Policy entropy (nats, summed over edges) at every proposal.
        self.entropy_history: list[float] = []
        if self.policy == "categorical":
            self._logits = np.zeros((self._num_edges, self._num_ops))
            self._adam_m = np.zeros_like(self._logits)
            self._adam_v = np.zeros_like(self._logits)
            self._steps = 0
            self._probabilities = _softmax(self._logits)
            self._policy_entropy = _entropy(self._probabilities)
        else:
            self._controller = _LstmPolicy(
                self._num_edges, self._num_ops, self.hidden_size, self.learning_rate,
                int(self.rng.integers(2**63 - 1)),
            )  # fmt: skip

    # ----------------------------------------------------------------- protocol
    def ask(self) -> Trial:
        uniform = self.rng.random(self._num_edges)
        if self.policy == "categorical":
            probabilities = self._probabilities
            self.entropy_history.append(self._policy_entropy)
            below = np.cumsum(probabilities, axis=1) < uniform[:, None]
            ops = np.minimum(below.sum(axis=1), self._num_ops - 1)
        else:
            ops, entropy = self._controller.sample(uniform)
            self.entropy_history.append(entropy)
        return Trial(int(self._space.indices_from_ops(ops[None, :])[0]))

    def tell(self, trial: Trial, result: Result) -> None:
        reward = float(result.val_acc)
        if not math.isfinite(reward):
            reward = 0.0
        if self._baseline is None:
            self._baseline = reward
        advantage = reward - self._baseline
        self._baseline = self.ema_decay * self._baseline + (1.0 - self.ema_decay) * reward
        ops = self._space.ops_array([trial.index])[0].astype(np.int64)
        if self.policy == "categorical":
            self._step_categorical(ops, advantage)
        else:
            self._controller.step(ops, advantage, self.entropy_weight)

    # ----------------------------------------------------------------- categorical policy
    def _step_categorical(self, ops: np.ndarray, advantage: float) -> None:
        probabilities = self._probabilities
        # d log p(ops) / d logits = onehot(ops) - p, edge by edge.
        gradient = -advantage * probabilities
        gradient[np.arange(self._num_edges), ops] += advantage
        if self.entropy_weight > 0:
            log_p = np.log(np.maximum(probabilities, 1e-300))
            row_entropy = -(probabilities * log_p).sum(axis=1, keepdims=True)
            gradient -= self.entropy_weight * probabilities * (log_p + row_entropy)
        beta1, beta2 = _ADAM_BETAS
        self._steps += 1
        self._adam_m = beta1 * self._adam_m + (1 - beta1) * gradient
        self._adam_v = beta2 * self._adam_v + (1 - beta2) * gradient * gradient
        m_hat = self._adam_m / (1 - beta1**self._steps)
        v_hat = self._adam_v / (1 - beta2**self._steps)
        self._logits += self.learning_rate * m_hat / (np.sqrt(v_hat) + _ADAM_EPS)  # ascent
        self._probabilities = _softmax(self._logits)
        self._policy_entropy = _entropy(self._probabilities)

    def policy_probabilities(self) -> np.ndarray:
        """float64 [num_edges, num_ops]: the categorical policy's op probabilities per edge
        (for the LSTM, the probabilities of its most likely sequence's steps)."""
        if self.policy == "categorical":
            return self._probabilities.copy()
        return self._controller.greedy_probabilities()


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _entropy(probabilities: np.ndarray) -> float:
    return float(-(probabilities * np.log(np.maximum(probabilities, 1e-300))).sum())


class _LstmPolicy:
    """The LSTM controller and its optimiser; sampling randomness comes from the caller.

    Its tensors are tiny, so torch runs it on one thread: on a busy machine, thread
    hand-offs made a 150-evaluation run ten times slower. The thread count is restored
    after every call.
    """

    def __init__(self, num_edges: int, num_ops: int, hidden_size: int, learning_rate: float, seed: int):
        try:
            import torch
        except ImportError as exc:  # torch is a core dependency, but keep the hint
            raise ConfigError("Reinforce(policy='lstm') needs torch: pip install torch") from exc
        self._torch = torch
        self._num_edges = num_edges
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self._embedding = torch.nn.Embedding(num_ops + 1, hidden_size)  # last row: start token
            self._cell = torch.nn.LSTMCell(hidden_size, hidden_size)
            self._heads = torch.nn.Parameter(torch.randn(num_edges, hidden_size, num_ops) * 0.1)
        self._parameters: list[Any] = [
            *self._embedding.parameters(),
            *self._cell.parameters(),
            self._heads,
        ]
        self._start = num_ops
        self._optimizer = torch.optim.Adam(
            self._parameters, lr=learning_rate, betas=_ADAM_BETAS, eps=_ADAM_EPS
        )

    @contextlib.contextmanager
    def _one_thread(self) -> Iterator[None]:
        torch = self._torch
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(threads)

    def _logits(self, hidden: tuple[Any, Any] | None, previous: int, edge: int) -> tuple[Any, Any]:
        torch = self._torch
        token = self._embedding(torch.tensor([previous]))
        hidden = self._cell(token, hidden)
        raw = hidden[0][0] @ self._heads[edge]
        return hidden, _TANH_CONSTANT * torch.tanh(raw / _TEMPERATURE)

    def sample(self, uniform: np.ndarray) -> tuple[np.ndarray, float]:
        """Ops drawn by inverting each step's distribution at ``uniform``; summed entropy."""
        torch = self._torch
        ops = np.empty(self._num_edges, dtype=np.int64)
        entropy = 0.0
        with torch.no_grad(), self._one_thread():
            hidden, previous = None, self._start
            for edge in range(self._num_edges):
                hidden, logits = self._logits(hidden, previous, edge)
                probabilities = torch.softmax(logits.double(), dim=0).numpy()
                entropy += _entropy(probabilities[None, :])
                op = int(min((np.cumsum(probabilities) < uniform[edge]).sum(), probabilities.size - 1))
                ops[edge] = previous = op
        return ops, entropy

    def greedy_probabilities(self) -> np.ndarray:
        torch = self._torch
        rows = []
        with torch.no_grad(), self._one_thread():
            hidden, previous = None, self._start
            for edge in range(self._num_edges):
                hidden, logits = self._logits(hidden, previous, edge)
                probabilities = torch.softmax(logits.double(), dim=0).numpy()
                rows.append(probabilities)
                previous = int(np.argmax(probabilities))
        return np.stack(rows)

    def step(self, ops: np.ndarray, advantage: float, entropy_weight: float) -> None:
        """One Adam step on -(advantage * log p(ops) + entropy_weight * entropy)."""
        with self._one_thread():
            self._step(ops, advantage, entropy_weight)

    def _step(self, ops: np.ndarray, advantage: float, entropy_weight: float) -> None:
        torch = self._torch
        log_prob = torch.zeros(())
        entropy = torch.zeros(())
        hidden, previous = None, self._start
        for edge in range(self._num_edges):
            hidden, logits = self._logits(hidden, previous, edge)
            log_p = torch.log_softmax(logits, dim=0)
            log_prob = log_prob + log_p[int(ops[edge])]
            entropy = entropy - (log_p.exp() * log_p).sum()
            previous = int(ops[edge])
        loss = -(advantage * log_prob + entropy_weight * entropy)
        self._optimizer.zero_grad()
        loss.backward()
        self._optimizer.step()

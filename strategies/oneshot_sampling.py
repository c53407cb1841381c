"""Path-sampling one-shot search: RSPS, SPOS and ENAS.

The searches of :class:`~nasbench.strategies.oneshot.RSPS`,
:class:`~nasbench.strategies.oneshot.SPOS` (uniform single-path supernet training, then a
selection with inherited weights) and :class:`~nasbench.strategies.oneshot.ENAS` (a
controller that learns which paths to sample), whose classes declare the hyperparameters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from nasbench.strategies.oneshot_steps import set_learning_rate, weight_optimizer, weight_step
from torch import nn

from nasbench.core.space import Architecture
from nasbench.nets.supernet import Supernet, evaluate_path
from nasbench.nets.supernet_training import OneShotTask, SearchSession, train_uniform_paths
from nasbench.search import OneShotBudget

if TYPE_CHECKING:
    from nasbench.strategies.oneshot import ENAS, RSPS, SPOS, SupernetStrategy

__all__ = ["Controller", "search_enas", "search_rsps", "search_spos"]

#: ENAS controller: Adam betas and eps, tanh constant and temperature of its logits
#: (NAS-Bench-201's ENAS configuration, after Pham et al., 2018).
CONTROLLER_BETAS = (0.0, 0.999)
CONTROLLER_EPS = 1e-3
CONTROLLER_TANH_CONSTANT = 2.5
CONTROLLER_TEMPERATURE = 5.0
CONTROLLER_GRAD_CLIP = 5.0


# --------------------------------------------------------------------- RSPS and SPOS
def _train_paths(strategy: SupernetStrategy, session: SearchSession) -> Supernet:
    """Uniform single-path training of a fresh supernet on the weights half."""
    supernet = session.supernet()
    train_uniform_paths(
        session,
        supernet,
        session.data.weights_x,
        session.data.weights_y,
        batch_size=strategy.batch_size,
        learning_rate=strategy.learning_rate,
        learning_rate_min=strategy.learning_rate_min,
        momentum=strategy.momentum,
        weight_decay=strategy.weight_decay,
        grad_clip_norm=strategy.grad_clip_norm,
    )
    return supernet


def search_rsps(strategy: RSPS, task: OneShotTask, budget: OneShotBudget) -> Architecture:
    """:meth:`RSPS.search <nasbench.strategies.oneshot.RSPS.search>`."""
    session = strategy._begin(task, budget, strategy.epochs)
    supernet = _train_paths(strategy, session)
    space = task.space
    inputs, targets = session.eval_batch(strategy.eval_images)
    candidates = session.rng.integers(0, space.num_ops, size=(strategy.num_candidates, space.num_edges))
    accuracy = np.array([evaluate_path(supernet, ops, inputs, targets) for ops in candidates])
    best = int(np.argmax(accuracy))
    strategy.info_["candidate_indices"] = space.indices_from_ops(candidates).tolist()
    strategy.info_["candidate_accuracy"] = accuracy.tolist()
    return Architecture(tuple(space.ops[k] for k in candidates[best]))


def search_spos(strategy: SPOS, task: OneShotTask, budget: OneShotBudget) -> Architecture:
    """:meth:`SPOS.search <nasbench.strategies.oneshot.SPOS.search>`."""
    session = strategy._begin(task, budget, strategy.epochs)
    supernet = _train_paths(strategy, session)
    space = task.space
    rng = session.rng
    inputs, targets = session.eval_batch(strategy.eval_images)
    fitness: dict[int, float] = {}  # space index -> accuracy, in evaluation order

    def evaluate(population: np.ndarray) -> None:
        for ops in population:
            index = int(space.indices_from_ops(ops[None, :])[0])
            if index not in fitness:
                fitness[index] = evaluate_path(supernet, ops, inputs, targets)

    def fresh(candidates: list[np.ndarray], ops: np.ndarray) -> None:
        index = int(space.indices_from_ops(ops[None, :])[0])
        known = {int(space.indices_from_ops(c[None, :])[0]) for c in candidates}
        if index not in fitness and index not in known:
            candidates.append(ops)

    population = rng.integers(0, space.num_ops, size=(strategy.population_size, space.num_edges))
    evaluate(population)
    half = strategy.population_size // 2
    for _ in range(strategy.iterations):
        ranked = sorted(fitness, key=lambda i: -fitness[i])[: strategy.parents]
        parents = space.ops_array(np.asarray(ranked, dtype=np.int64)).astype(np.int64)
        children: list[np.ndarray] = []
        for _attempt in range(10 * half):
            if len(children) >= half:
                break
            parent = parents[rng.integers(len(parents))]
            redraw = rng.random(space.num_edges) < strategy.mutation_probability
            fresh(children, np.where(redraw, rng.integers(0, space.num_ops, space.num_edges), parent))
        for _attempt in range(10 * half):
            if len(children) >= 2 * half:
                break
            first, second = parents[rng.integers(len(parents))], parents[rng.integers(len(parents))]
            fresh(children, np.where(rng.random(space.num_edges) < 0.5, first, second))
        while len(children) < strategy.population_size:
            children.append(rng.integers(0, space.num_ops, space.num_edges))
        evaluate(np.stack(children))
    best = max(fitness, key=lambda i: fitness[i])  # first evaluated on ties
    strategy.info_["evaluated_indices"] = list(fitness)
    strategy.info_["evaluated_accuracy"] = list(fitness.values())
    return space.from_index(best)


# --------------------------------------------------------------------- ENAS
class Controller(nn.Module):
    """ENAS's controller: an LSTM choosing the edges' ops in turn (each choice embedded
    and fed back), logits squashed to ``2.5 * tanh(logit / 5)``, or one independent
    softmax per edge (``categorical``)."""

    def __init__(self, policy: str, num_edges: int, num_ops: int, hidden_size: int) -> None:
        super().__init__()
        self.policy = policy
        self.num_edges = num_edges
        if policy == "lstm":
            self.start = nn.Parameter(torch.empty(1, 1, hidden_size))
            self.lstm = nn.LSTM(hidden_size, hidden_size, num_layers=2)
            self.embedding = nn.Embedding(num_ops, hidden_size)
            self.head = nn.Linear(hidden_size, num_ops)
            for parameter in self.parameters():
                nn.init.uniform_(parameter, -0.1, 0.1)
        else:
            self.logits = nn.Parameter(torch.zeros(num_edges, num_ops))

    def _step_logits(self, state: Any, previous: int | None) -> tuple[torch.Tensor, Any]:
        inputs = self.start if previous is None else self.embedding(torch.tensor([[previous]]))
        output, state = self.lstm(inputs, state)
        raw = self.head(output[-1, 0]) / CONTROLLER_TEMPERATURE
        return CONTROLLER_TANH_CONSTANT * torch.tanh(raw), state

    def sample(self, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
        """(summed log-probability, summed entropy, op positions) of one sample."""
        log_prob = torch.zeros(())
        entropy = torch.zeros(())
        ops: list[int] = []
        state: Any = None
        for edge in range(self.num_edges):
            if self.policy == "lstm":
                logits, state = self._step_logits(state, ops[-1] if ops else None)
            else:
                logits = self.logits[edge]
            log_p = F.log_softmax(logits, dim=-1)
            op = int(torch.multinomial(log_p.detach().exp(), 1, generator=generator))
            log_prob = log_prob + log_p[op]
            entropy = entropy - (log_p.exp() * log_p).sum()
            ops.append(op)
        return log_prob, entropy, ops

    def probabilities(self) -> np.ndarray:
        """float64 [num_edges, num_ops]: per-edge op probabilities (LSTM: along its most
        likely sequence)."""
        rows = []
        with torch.no_grad():
            state: Any = None
            previous: int | None = None
            for edge in range(self.num_edges):
                if self.policy == "lstm":
                    logits, state = self._step_logits(state, previous)
                else:
                    logits = self.logits[edge]
                row = F.softmax(logits.double(), dim=-1)
                rows.append(row.numpy())
                previous = int(row.argmax())
        return np.stack(rows)


def search_enas(strategy: ENAS, task: OneShotTask, budget: OneShotBudget) -> Architecture:
    """:meth:`ENAS.search <nasbench.strategies.oneshot.ENAS.search>`."""
    session = strategy._begin(task, budget, strategy.epochs)
    space = task.space
    supernet = session.supernet()
    weights = supernet.weight_parameters()
    optimizer = weight_optimizer(strategy, supernet)
    generator = session.generator
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(session.rng.integers(2**63 - 1)))
        controller = Controller(strategy.controller, space.num_edges, space.num_ops, strategy.hidden_size)
    controller_optimizer = torch.optim.Adam(
        controller.parameters(),
        lr=strategy.controller_learning_rate,
        betas=CONTROLLER_BETAS,
        eps=CONTROLLER_EPS,
    )
    baseline: float | None = None
    data = session.data
    rewards: list[float] = []
    for epoch in session.epochs():
        set_learning_rate(strategy, optimizer, session, epoch)
        supernet.train()
        loss_sum, correct, count = 0.0, 0, 0
        for inputs, targets in session.batches(data.weights_x, data.weights_y, strategy.batch_size):
            with torch.no_grad():
                ops = controller.sample(generator)[2]
            logits = supernet.forward_path(inputs, ops)
            batch_loss, batch_correct = weight_step(strategy, supernet, weights, optimizer, logits, targets)
            loss_sum, correct, count = (
                loss_sum + batch_loss,
                correct + batch_correct,
                count + len(targets),
            )
        supernet.eval()
        controller_optimizer.zero_grad(set_to_none=True)
        reward_batches = _cycle(session, strategy.batch_size)
        for step in range(strategy.controller_steps * strategy.controller_aggregate):
            session.tick()
            val_x, val_y = next(reward_batches)
            log_prob, entropy, ops = controller.sample(generator)
            with torch.no_grad():
                accuracy = float((supernet.forward_path(val_x, ops).argmax(1) == val_y).double().mean())
            reward = accuracy + strategy.entropy_weight * float(entropy.detach())
            baseline = (
                reward if baseline is None else baseline - (1 - strategy.baseline_decay) * (baseline - reward)
            )
            rewards.append(reward)
            loss = -log_prob * (reward - baseline) / strategy.controller_aggregate
            loss.backward()
            if (step + 1) % strategy.controller_aggregate == 0:
                torch.nn.utils.clip_grad_norm_(controller.parameters(), CONTROLLER_GRAD_CLIP)
                controller_optimizer.step()
                controller_optimizer.zero_grad(set_to_none=True)
        session.record(controller.probabilities(), loss_sum / count, 100.0 * correct / count)
    inputs, targets = session.eval_batch(strategy.eval_images)
    candidates: list[list[int]] = []
    with torch.no_grad():
        for _ in range(strategy.num_candidates):
            candidates.append(controller.sample(generator)[2])
    accuracy = np.array([evaluate_path(supernet, ops, inputs, targets) for ops in candidates])
    best = int(np.argmax(accuracy))
    strategy.info_["candidate_indices"] = space.indices_from_ops(np.asarray(candidates)).tolist()
    strategy.info_["candidate_accuracy"] = accuracy.tolist()
    strategy.info_["mean_reward"] = float(np.mean(rewards)) if rewards else None
    return Architecture(tuple(space.ops[k] for k in candidates[best]))


def _cycle(session: SearchSession, batch_size: int) -> Any:
    """Endless shuffled batches of the architecture half."""
    data = session.data
    while True:
        order = torch.randperm(data.arch_x.shape[0], generator=session.generator)
        for start in range(0, order.shape[0], batch_size):
            index = order[start : start + batch_size]
            yield data.arch_x[index], data.arch_y[index]

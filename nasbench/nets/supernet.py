"""A one-shot supernet over a cell space: every edge holds every candidate op.

The macro skeleton is :class:`~nasbench.nets.models.Network`'s, built from the same
:class:`~nasbench.nets.models.MacroConfig` (``Protocol.model_config()``) and the same modules
(stem conv + BN, ``cells_per_stage`` cells per stage, :class:`~nasbench.nets.models.ResidualReduction`
blocks, BN-ReLU, global pooling, linear classifier), so a supernet trained for a table's
protocol sees exactly the images, widths and depths its stand-alone networks saw. Only the
cells differ: each edge is a :class:`MixedOp` holding one module per op of the space
(:data:`~nasbench.nets.models.OPS`), and all cells share one architecture, as in NAS-Bench-201.

Three forward modes:

- :meth:`Supernet.forward_relaxed`: DARTS's continuous relaxation, each edge the
  weighted sum of its ops (weights: the softmax of :attr:`Supernet.alpha` by default);
- :meth:`Supernet.forward_hard`: GDAS's hard straight-through sample, where only the
  sampled op of each edge runs and the gradient reaches the weights through the sampled
  op's (value 1) weight and the other ops' (value 0) weights, as Dong & Yang (2019) do;
- :meth:`Supernet.forward_path`: one fixed architecture, only its ops run (path sampling).

Ops of the zero function (``none``) are never computed: they add exactly zero, and their
gradient with respect to any weight is zero too. Cell BatchNorms have no affine
parameters (as in DARTS and NAS-Bench-201's one-shot networks) and, by default, do not track
running statistics, so evaluation also normalises with the batch's statistics; with
``track_running_stats=True`` they keep running statistics, which
:func:`recalibrate_batchnorm` recomputes for one architecture.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nasbench.core.errors import ArchitectureError, ConfigError, NasbenchError
from nasbench.core.space import Architecture, ArchLike, CellSpace, get_space
from nasbench.nets.models import OPS, MacroConfig, Zero, build_skeleton, get_model_config

__all__ = [
    "ALPHA_INIT_SCALE",
    "PROTOCOL_MATCH_FIELDS",
    "ArchitectureWeightsError",
    "MixedOp",
    "SearchCell",
    "SearchDivergedError",
    "Supernet",
    "check_table_compatible",
    "evaluate_path",
    "recalibrate_batchnorm",
]

#: Architecture parameters start at ``1e-3 * N(0, 1)``, as in DARTS and NAS-Bench-201.
ALPHA_INIT_SCALE = 1e-3

#: Protocol fields that define the data and the network a table's numbers come from; a
#: one-shot search must match the table on all of them (its own training recipe may differ).
PROTOCOL_MATCH_FIELDS: tuple[str, ...] = (
    "dataset",
    "resolution",
    "width",
    "cells_per_stage",
    "train_size",
    "val_size",
    "split_seed",
)


class SearchDivergedError(NasbenchError):
    """A one-shot search produced non-finite values; the run failed (a runner records it so)."""


class ArchitectureWeightsError(SearchDivergedError):
    """The architecture weights (or the policy's probabilities) became NaN or infinite."""


def _configure_batchnorm(module: nn.Module, track_running_stats: bool) -> None:
    """Make every BatchNorm under ``module`` track running statistics, or not at all."""
    for bn in module.modules():
        if isinstance(bn, nn.modules.batchnorm._BatchNorm) and not track_running_stats:
            bn.track_running_stats = False
            bn.running_mean = None
            bn.running_var = None
            bn.num_batches_tracked = None


class MixedOp(nn.Module):
    """One edge of a search cell: a module for every op of the space, in space order."""

    def __init__(self, ops: Sequence[str], channels: int, track_running_stats: bool) -> None:
        super().__init__()
        self.candidates = nn.ModuleList(OPS[op](channels, False) for op in ops)
        _configure_batchnorm(self.candidates, track_running_stats)
        #: Positions of the ops that compute something (every op but the zero function).
        self.live = tuple(k for k, module in enumerate(self.candidates) if not isinstance(module, Zero))

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """The weighted sum of every op's output (``weights``: [num_ops])."""
        out = torch.zeros_like(x)
        for k in self.live:
            out = out + weights[k] * self.candidates[k](x)
        return out


# One edge's work in a forward pass: (op position, weight or None) for each op to run,
# and a scalar (GDAS's value-0 straight-through weights) to add, or None.
_EdgePlan = tuple[list[tuple[int, torch.Tensor | None]], torch.Tensor | None]


class SearchCell(nn.Module):
    """A NAS-Bench-201 cell whose every edge is a :class:`MixedOp`."""

    def __init__(self, ops: Sequence[str], channels: int, num_nodes: int, track_running_stats: bool) -> None:
        super().__init__()
        self.num_nodes = num_nodes
        num_edges = num_nodes * (num_nodes - 1) // 2
        self.edges = nn.ModuleList(MixedOp(ops, channels, track_running_stats) for _ in range(num_edges))

    def forward(self, x: torch.Tensor, plan: Sequence[_EdgePlan]) -> torch.Tensor:
        """Node j sums its incoming edges, each computing only the ops ``plan`` names."""
        nodes = [x]
        k = 0
        for j in range(1, self.num_nodes):
            total: torch.Tensor | None = None
            scalar: torch.Tensor | None = None
            for i in range(j):
                terms, extra = plan[k]
                edge = self.edges[k]
                k += 1
                for position, weight in terms:
                    value = edge.candidates[position](nodes[i])
                    if weight is not None:
                        value = weight * value
                    total = value if total is None else total + value
                if extra is not None:
                    scalar = extra if scalar is None else scalar + extra
            if total is None:
                total = torch.zeros_like(x)
            nodes.append(total if scalar is None else total + scalar)
        return nodes[-1]


class Supernet(nn.Module):
    """NAS-Bench-201's macro skeleton with a :class:`SearchCell` in every cell position.

    ``alpha`` ([num_edges, num_ops]) holds the architecture parameters; every other
    parameter is a network weight (:meth:`weight_parameters`). ``seed`` makes the initial
    weights and ``alpha`` reproducible without touching torch's global random state.
    """

    def __init__(
        self,
        space: CellSpace | str | None = None,
        config: MacroConfig | str | None = None,
        *,
        track_running_stats: bool = False,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        cell_space = get_space(space)
        macro = get_model_config(config)
        unknown = [op for op in cell_space.ops if op not in OPS]
        if unknown:
            raise ConfigError(f"no module for op {unknown[0]!r} (known ops: {', '.join(OPS)})")
        if not isinstance(track_running_stats, bool):
            raise ConfigError(f"track_running_stats must be True or False, got {track_running_stats!r}")
        self.space = cell_space
        self.config = macro
        self.track_running_stats = track_running_stats
        if seed is None:
            self._build()
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(seed))
                self._build()

    def _build(self) -> None:
        space = self.space
        build_skeleton(
            self,
            self.config,
            lambda channels: SearchCell(space.ops, channels, space.num_nodes, self.track_running_stats),
        )
        self.alpha = nn.Parameter(ALPHA_INIT_SCALE * torch.randn(space.num_edges, space.num_ops))

    @classmethod
    def for_protocol(
        cls,
        protocol: Any,
        space: CellSpace | str | None = None,
        *,
        track_running_stats: bool = False,
        seed: int | None = None,
    ) -> Supernet:
        """The supernet of a :class:`~nasbench.nets.train.Protocol`'s network skeleton."""
        return cls(space, protocol.model_config(), track_running_stats=track_running_stats, seed=seed)

    # ----------------------------------------------------------------- parameters
    def weight_parameters(self) -> list[nn.Parameter]:
        """Every parameter except the architecture parameters ``alpha``."""
        return [p for name, p in self.named_parameters() if name != "alpha"]

    def architecture_weights(self) -> torch.Tensor:
        """softmax(alpha) per edge, [num_edges, num_ops] (differentiable)."""
        return F.softmax(self.alpha, dim=-1)

    def probabilities(self) -> np.ndarray:
        """float64 [num_edges, num_ops]: softmax(alpha), checked finite."""
        self.check_architecture_weights()
        with torch.no_grad():
            return F.softmax(self.alpha.detach().double(), dim=-1).numpy().copy()

    def check_architecture_weights(self) -> None:
        """Raise :class:`ArchitectureWeightsError` if ``alpha`` holds NaN or infinity."""
        if not bool(torch.isfinite(self.alpha.detach()).all()):
            raise ArchitectureWeightsError(
                "the architecture weights (alpha) became non-finite: the search diverged "
                "(try a smaller architecture learning rate)"
            )

    def derive(self) -> Architecture:
        """The discrete architecture: the op of largest ``alpha`` on every edge (ties: first op)."""
        self.check_architecture_weights()
        best = self.alpha.detach().argmax(dim=-1).tolist()
        return Architecture(tuple(self.space.ops[k] for k in best))

    def op_indices(self, arch: ArchLike | Sequence[int] | np.ndarray) -> tuple[int, ...]:
        """Op positions of every edge of an architecture given in any form the space
        accepts, or as op positions already."""
        if isinstance(arch, np.ndarray) or (
            isinstance(arch, Sequence)
            and not isinstance(arch, str)
            and len(arch) > 0
            and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in arch)
        ):
            positions = tuple(int(v) for v in np.asarray(arch).reshape(-1))
            if len(positions) != self.space.num_edges or not all(
                0 <= v < self.space.num_ops for v in positions
            ):
                raise ArchitectureError(
                    f"expected {self.space.num_edges} op positions in "
                    f"0..{self.space.num_ops - 1}, got {positions}"
                )
            return positions
        return self.space.op_indices(arch)

    # ----------------------------------------------------------------- forward modes
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Continuous relaxation with softmax(alpha)."""
        return self.forward_relaxed(x, self.architecture_weights())

    def forward_relaxed(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Every edge the ``weights``-weighted sum of its ops (``weights``: [num_edges, num_ops])."""
        self._check_weights_shape(weights)
        plan: list[_EdgePlan] = []
        rows = weights.unbind(0)
        for edge in range(self.space.num_edges):
            row = rows[edge].unbind(0)
            plan.append(([(k, row[k]) for k in self._live], None))
        return self._run(x, plan)

    def forward_hard(self, x: torch.Tensor, weights: torch.Tensor, indices: Sequence[int]) -> torch.Tensor:
        """GDAS: run only op ``indices[e]`` on edge ``e``, scaled by its straight-through
        weight (value 1); the other ops' weights (value 0) are added as scalars so the
        gradient reaches all of them, as in Dong & Yang's implementation."""
        self._check_weights_shape(weights)
        chosen = [int(k) for k in indices]
        if len(chosen) != self.space.num_edges:
            raise ArchitectureError(f"expected {self.space.num_edges} op indices, got {len(chosen)}")
        plan: list[_EdgePlan] = []
        rows = weights.unbind(0)
        live = set(self._live)
        num_ops = self.space.num_ops
        for edge, k in enumerate(chosen):
            row = rows[edge].unbind(0)
            terms: list[tuple[int, torch.Tensor | None]] = [(k, row[k])] if k in live else []
            others = [row[i] for i in range(num_ops) if i != k]
            extra = torch.stack(others).sum() if others else None
            plan.append((terms, extra))
        return self._run(x, plan)

    def forward_path(self, x: torch.Tensor, arch: ArchLike | Sequence[int] | np.ndarray) -> torch.Tensor:
        """One fixed architecture: only its ops run, unweighted."""
        live = set(self._live)
        plan: list[_EdgePlan] = [([(k, None)] if k in live else [], None) for k in self.op_indices(arch)]
        return self._run(x, plan)

    @property
    def _live(self) -> tuple[int, ...]:
        for module in self.cells:
            if isinstance(module, SearchCell):
                return module.edges[0].live
        return tuple(range(self.space.num_ops))

    def _check_weights_shape(self, weights: torch.Tensor) -> None:
        expected = (self.space.num_edges, self.space.num_ops)
        if tuple(weights.shape) != expected:
            raise ConfigError(f"architecture weights must have shape {expected}, got {tuple(weights.shape)}")

    def _run(self, x: torch.Tensor, plan: Sequence[_EdgePlan]) -> torch.Tensor:
        x = self.stem(x)
        for layer in self.cells:
            x = layer(x, plan) if isinstance(layer, SearchCell) else layer(x)
        x = self.head(x)
        return self.classifier(torch.flatten(self.pool(x), 1))


# --------------------------------------------------------------------- helpers
def evaluate_path(
    supernet: Supernet,
    arch: ArchLike | Sequence[int] | np.ndarray,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    batch_size: int = 1024,
) -> float:
    """Accuracy (percent) of one architecture with the supernet's weights (inherited
    weights), in evaluation mode, on ``inputs``/``targets``."""
    was_training = supernet.training
    supernet.eval()
    correct = 0
    try:
        with torch.no_grad():
            for start in range(0, inputs.shape[0], batch_size):
                logits = supernet.forward_path(inputs[start : start + batch_size], arch)
                correct += int((logits.argmax(1) == targets[start : start + batch_size]).sum())
    finally:
        supernet.train(was_training)
    return 100.0 * correct / max(1, inputs.shape[0])


def recalibrate_batchnorm(
    supernet: Supernet, arch: ArchLike | Sequence[int] | np.ndarray, batches: Iterable[torch.Tensor]
) -> None:
    """Reset every BatchNorm's running statistics and recompute them for ``arch`` as the
    exact average over ``batches`` (training-mode forward passes, no gradient).

    Needs a supernet built with ``track_running_stats=True`` (otherwise the cells use
    batch statistics anyway and there is nothing to recalibrate).
    """
    if not supernet.track_running_stats:
        raise ConfigError("recalibrate_batchnorm needs a supernet built with track_running_stats=True")
    norms = [
        m
        for m in supernet.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats
    ]
    momenta = [m.momentum for m in norms]
    was_training = supernet.training
    try:
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the batches
        supernet.train()
        with torch.no_grad():
            for batch in batches:
                supernet.forward_path(batch, arch)
    finally:
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum
        supernet.train(was_training)


def check_table_compatible(table: Any, space: CellSpace, protocol: Any) -> None:
    """Raise :class:`~nasbench.core.errors.ConfigError` unless a search on ``space`` under
    ``protocol`` searches the table's benchmark: the same cell space, and the same data
    and network skeleton (:data:`PROTOCOL_MATCH_FIELDS`); its training recipe may differ.

    ``table`` is anything with the :class:`~nasbench.core.table.Table` attributes ``space``
    (a CellSpace) and ``protocol`` (the protocol's dict): a table, or a benchmark's task.
    """
    from nasbench.nets.train import Protocol

    if not isinstance(space, CellSpace):
        raise ConfigError(f"space must be a CellSpace, got {type(space).__name__}")
    table_space = getattr(table, "space", None)
    if table_space != space:
        raise ConfigError(
            f"the search space {space.to_dict()} is not the table's "
            f"{table_space.to_dict() if isinstance(table_space, CellSpace) else table_space!r}"
        )
    raw = getattr(table, "protocol", None)
    try:
        table_protocol = Protocol.from_dict(dict(raw))  # type: ignore[arg-type]
    except (ConfigError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"the table's protocol is not a training protocol a supernet can be built for ({exc})"
        ) from None
    if not isinstance(protocol, Protocol):
        raise ConfigError(f"protocol must be a nasbench.nets.train.Protocol, got {type(protocol).__name__}")
    differing = [
        f"{name} {getattr(protocol, name)!r} (table: {getattr(table_protocol, name)!r})"
        for name in PROTOCOL_MATCH_FIELDS
        if getattr(protocol, name) != getattr(table_protocol, name)
    ]
    if differing:
        raise ConfigError("the search protocol is not the table's: " + "; ".join(differing))

"""Build the network of an architecture and count its cost the way NAS-Bench-201 does.

The macro skeleton is NAS-Bench-201's: a 3x3 stem conv + BN, ``cells_per_stage`` cells
at width C, a residual reduction block to 2C, more cells, a reduction to 4C, more cells,
then BN-ReLU, global average pooling and a linear classifier. Cell ops follow
NAS-Bench-201 exactly (ReLU -> Conv (no bias) -> BN; 3x3 average pooling, stride 1,
padding 1, not counting padding; identity; zero).

Cost counting follows NAS-Bench-201's ``get_model_infos``: FLOPs are the
multiply-accumulates of Conv2d and Linear layers (Linear's bias included) for one image,
in millions; params are all parameters, BN affine included, in millions.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from nasbench.core.errors import ArchitectureError, ConfigError
from nasbench.core.space import ArchLike, CellSpace, get_space
from nasbench.core.validation import Integer, validate

__all__ = [
    "MODEL_PRESETS",
    "OPS",
    "Cell",
    "MacroConfig",
    "Network",
    "arch_cost",
    "build_model",
    "cost_arrays",
    "count_cost",
    "get_model_config",
]


@dataclass(frozen=True)
class MacroConfig:
    """The macro skeleton around the cells: width, depth, input and output shape."""

    width: int = 16
    cells_per_stage: int = 5
    input_channels: int = 3
    resolution: int = 32
    num_classes: int = 10

    def __post_init__(self) -> None:
        for name in ("width", "input_channels", "num_classes"):
            validate("model config", name, getattr(self, name), Integer(1))
        validate("model config", "cells_per_stage", self.cells_per_stage, Integer(0))
        validate("model config", "resolution (two stride-2 reductions)", self.resolution, Integer(4))

    def to_dict(self) -> dict[str, int]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, int]) -> MacroConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        try:
            return cls(**data)
        except TypeError as exc:
            raise ConfigError(f"invalid model config {data!r}: {exc}") from None


MODEL_PRESETS: dict[str, MacroConfig] = {
    # NAS-Bench-201's network on CIFAR-10.
    "nb201": MacroConfig(width=16, cells_per_stage=5, input_channels=3, resolution=32, num_classes=10),
    # Small CPU network on 1-channel 28x28 images resized to 16 px (Fashion-MNIST, MNIST).
    "cpu-small": MacroConfig(width=8, cells_per_stage=1, input_channels=1, resolution=16, num_classes=10),
    # Tiny network for scikit-learn's 8x8 digits: seconds per architecture, for tests.
    "tiny": MacroConfig(width=4, cells_per_stage=1, input_channels=1, resolution=8, num_classes=10),
}


def get_model_config(name_or_config: str | MacroConfig | None = None) -> MacroConfig:
    """A model preset by name (default ``nb201``), or the config itself."""
    if name_or_config is None:
        return MODEL_PRESETS["nb201"]
    if isinstance(name_or_config, MacroConfig):
        return name_or_config
    try:
        return MODEL_PRESETS[name_or_config]
    except KeyError:
        raise ConfigError(
            f"unknown model preset {name_or_config!r} (known: {', '.join(MODEL_PRESETS)})"
        ) from None


class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv2d (no bias) -> BatchNorm, NAS-Bench-201's ``nor_conv`` op."""

    def __init__(
        self,
        channels_in: int,
        channels_out: int,
        kernel: int,
        stride: int,
        padding: int,
        dilation: int = 1,
        affine: bool = True,
    ) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(
                channels_in,
                channels_out,
                kernel,
                stride=stride,
                padding=padding,
                dilation=dilation,
                bias=False,
            ),
            nn.BatchNorm2d(channels_out, affine=affine),
        )


class SepConv(nn.Sequential):
    """ReLU -> depthwise conv -> pointwise conv -> BN (DARTS / NAS-Bench-201 ``sep_conv``)."""

    def __init__(
        self, channels: int, kernel: int, padding: int, dilation: int = 1, affine: bool = True
    ) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(
                channels,
                channels,
                kernel,
                stride=1,
                padding=padding,
                dilation=dilation,
                groups=channels,
                bias=False,
            ),
            nn.Conv2d(channels, channels, 1, bias=False),
            nn.BatchNorm2d(channels, affine=affine),
        )


class Zero(nn.Module):
    """The ``none`` op: multiplies by zero, as NAS-Bench-201 does."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


#: Op name -> factory(channels, affine) for a stride-1 op that keeps the channel count.
OPS: dict[str, Callable[[int, bool], nn.Module]] = {
    "none": lambda c, affine: Zero(),
    "skip_connect": lambda c, affine: nn.Identity(),
    "nor_conv_1x1": lambda c, affine: ReLUConvBN(c, c, 1, 1, 0, affine=affine),
    "nor_conv_3x3": lambda c, affine: ReLUConvBN(c, c, 3, 1, 1, affine=affine),
    "nor_conv_5x5": lambda c, affine: ReLUConvBN(c, c, 5, 1, 2, affine=affine),
    "dil_conv_3x3": lambda c, affine: ReLUConvBN(c, c, 3, 1, 2, dilation=2, affine=affine),
    "sep_conv_3x3": lambda c, affine: SepConv(c, 3, 1, affine=affine),
    "avg_pool_3x3": lambda c, affine: nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
    "max_pool_3x3": lambda c, affine: nn.MaxPool2d(3, stride=1, padding=1),
}


class Cell(nn.Module):
    """One NAS-Bench-201 cell: node j = sum over i < j of op_{i->j}(node i)."""

    def __init__(self, ops: tuple[str, ...], channels: int, num_nodes: int, affine: bool = True) -> None:
        super().__init__()
        self.num_nodes = num_nodes
        self.edge_ops = tuple(ops)
        self.edges = nn.ModuleList(OPS[op](channels, affine) for op in ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Edges of the zero op add nothing (and pass no gradient), so they are skipped; a
        # node with no other input is a zero tensor, as x * 0 would be for finite x.
        nodes = [x]
        k = 0
        for j in range(1, self.num_nodes):
            total: torch.Tensor | None = None
            for i in range(j):
                edge = self.edges[k]
                k += 1
                if isinstance(edge, Zero):
                    continue
                value = edge(nodes[i])
                total = value if total is None else total + value
            nodes.append(torch.zeros_like(x) if total is None else total)
        return nodes[-1]


class ResidualReduction(nn.Module):
    """NAS-Bench-201's reduction block: two ReLU-conv3x3-BN (first with stride 2) plus an
    avg-pool 2x2 + 1x1 conv shortcut."""

    def __init__(self, channels_in: int, channels_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(channels_in, channels_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(channels_out, channels_out, 3, 1, 1)
        self.shortcut = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(channels_in, channels_out, kernel_size=1, stride=1, padding=0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


def build_skeleton(module: nn.Module, config: MacroConfig, make_cell: Callable[[int], nn.Module]) -> None:
    """Give ``module`` NAS-Bench-201's macro skeleton: ``stem``, ``cells`` (three stages of
    ``config.cells_per_stage`` cells from ``make_cell(channels)``, a residual reduction
    doubling the channels between stages), ``head``, ``pool`` and ``classifier``. Modules
    are made in this order, so a seeded build draws the same weights whoever calls it
    (the network of one cell and the weight-sharing supernet)."""
    c = config.width
    module.stem = nn.Sequential(
        nn.Conv2d(config.input_channels, c, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(c),
    )
    layers: list[nn.Module] = []
    channels = c
    for stage in range(3):
        if stage > 0:
            layers.append(ResidualReduction(channels, channels * 2))
            channels *= 2
        layers.extend(make_cell(channels) for _ in range(config.cells_per_stage))
    module.cells = nn.Sequential(*layers)
    module.head = nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(inplace=True))
    module.pool = nn.AdaptiveAvgPool2d(1)
    module.classifier = nn.Linear(channels, config.num_classes)


class Network(nn.Module):
    """NAS-Bench-201's macro skeleton around one cell architecture."""

    def __init__(self, ops: tuple[str, ...], num_nodes: int, config: MacroConfig) -> None:
        super().__init__()
        self.config = config
        build_skeleton(self, config, lambda channels: Cell(ops, channels, num_nodes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(self.cells(self.stem(x)))
        return self.classifier(torch.flatten(self.pool(x), 1))


def build_model(
    arch: ArchLike,
    config: str | MacroConfig | None = None,
    space: CellSpace | str | None = None,
    seed: int | None = None,
) -> Network:
    """Build the network of ``arch`` under a macro config (preset name or MacroConfig).

    ``seed`` makes the initial weights reproducible without touching global state.
    """
    cell_space = get_space(space)
    architecture = cell_space.arch(arch)
    macro = get_model_config(config)
    unknown = [op for op in architecture.ops if op not in OPS]
    if unknown:
        raise ArchitectureError(f"no module for op {unknown[0]!r} (known ops: {', '.join(OPS)})")
    if seed is None:
        return Network(architecture.ops, cell_space.num_nodes, macro)
    generator_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        return Network(architecture.ops, cell_space.num_nodes, macro)
    finally:
        torch.random.set_rng_state(generator_state)


def count_cost(model: nn.Module, input_shape: tuple[int, int, int]) -> tuple[int, int]:
    """(parameters, multiply-accumulates for one image) of ``model``, counted as
    NAS-Bench-201 counts them: conv and linear MACs only, linear bias included."""
    macs = 0

    def on_conv(module: nn.Conv2d, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal macs
        kh, kw = module.kernel_size
        positions = output.shape[2] * output.shape[3]
        per_position = kh * kw * module.in_channels * module.out_channels // module.groups
        macs += per_position * positions + (module.out_channels * positions if module.bias is not None else 0)

    def on_linear(module: nn.Linear, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal macs
        macs += module.in_features * module.out_features + (
            module.out_features if module.bias is not None else 0
        )

    handles = []
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            handles.append(module.register_forward_hook(on_conv))
        elif isinstance(module, nn.Linear):
            handles.append(module.register_forward_hook(on_linear))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros((1, *input_shape)))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    params = sum(p.numel() for p in model.parameters())
    return int(params), int(macs)


def arch_cost(
    arch: ArchLike, config: str | MacroConfig | None = None, space: CellSpace | str | None = None
) -> tuple[float, float]:
    """(params in millions, FLOPs in millions) of one architecture, by building it."""
    macro = get_model_config(config)
    model = build_model(arch, macro, space)
    params, macs = count_cost(model, (macro.input_channels, macro.resolution, macro.resolution))
    return params / 1e6, macs / 1e6


def cost_arrays(
    space: CellSpace | str | None = None,
    config: str | MacroConfig | None = None,
    indices: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """int64 (params, MACs) for ``indices`` of the space (all when None), vectorised.

    A network's cost is the cost of its skeleton plus a per-(edge, op) term, since every
    edge op of a stage sees the same shape; the terms are measured on real built networks
    (one per (edge, op)), then summed, so this matches :func:`count_cost` exactly.
    """
    cell_space = get_space(space)
    macro = get_model_config(config)
    base, delta = _cost_terms(cell_space, macro)
    ops = cell_space.ops_array(indices).astype(np.int64)
    edge_index = np.arange(cell_space.num_edges)
    total = base[None, :] + delta[edge_index[None, :], ops].sum(axis=1)
    return total[:, 0].copy(), total[:, 1].copy()


@functools.lru_cache(maxsize=16)
def _cost_terms(space: CellSpace, config: MacroConfig) -> tuple[np.ndarray, np.ndarray]:
    shape = (config.input_channels, config.resolution, config.resolution)
    reference = space.ops[0]
    base = np.asarray(
        count_cost(Network((reference,) * space.num_edges, space.num_nodes, config), shape), dtype=np.int64
    )
    delta = np.zeros((space.num_edges, space.num_ops, 2), dtype=np.int64)
    for edge in range(space.num_edges):
        for k, op in enumerate(space.ops[1:], start=1):
            ops = [reference] * space.num_edges
            ops[edge] = op
            if op not in OPS:
                raise ArchitectureError(f"no module for op {op!r} (known ops: {', '.join(OPS)})")
            cost = np.asarray(count_cost(Network(tuple(ops), space.num_nodes, config), shape), dtype=np.int64)
            delta[edge, k] = cost - base
    return base, delta

"""Zero-cost proxies: scores of a freshly initialised network that rank architectures.

Every proxy is a function ``(model, inputs, targets) -> float`` on the real network that
:func:`nasbench.nets.models.build_model` builds, at initialisation, in training mode (batch
statistics), with one real batch where the proxy needs data. A proxy never changes the
model's parameters (gradients are taken with :func:`torch.autograd.grad`, so no ``.grad``
is left behind); synflow works on a copy. Each is oriented as its paper uses it: a higher
score predicts a better network (how well it does so depends on the table).

The proxies, as their papers define them ("weights" are the weight tensors of the Conv2d
and Linear layers, the prunable layers of the pruning-at-initialisation papers; ``L`` is
the mean cross-entropy of the batch):

``synflow``   Tanaka et al. 2020: on a copy with every BatchNorm removed (as Abdelfattah et
              al. 2021 score NAS-Bench-201), in float64 with every parameter replaced by
              its absolute value, ``R`` = sum of the network's outputs for one all-ones
              input; score = sum of ``theta * dR/dtheta`` over the weights. It needs no
              data, and it is exactly 0 for a network with no path from input to output.
``snip``      Lee et al. 2019: sum of ``|theta * dL/dtheta|``.
``grad_norm`` sum over layers of the Euclidean norm of ``dL/dW``.
``grasp``     Wang et al. 2020: ``-sum theta * (H g)``, ``g = dL/dtheta``, ``H`` the
              Hessian of ``L`` (a Hessian-vector product; temperature 1, as Abdelfattah
              et al. use it).
``fisher``    Turner et al. 2020 (Fisher potential, as Abdelfattah et al. place it): for
              the output ``a`` of every Conv2d/Linear layer and each of its channels,
              ``0.5 * mean over the batch of (sum over positions of a * dL/da)^2``, summed.
``jacob_cov`` Mellor et al. 2021 (v1): ``J`` = gradient of the summed outputs with respect
              to each input image; with ``lambda`` the eigenvalues of the correlation
              matrix of the rows of ``J`` and ``k = 1e-5``:
              ``-sum(log(lambda + k) + 1 / (lambda + k))``.
``nwot``      Mellor et al. 2021 (v2, NASWOT): each ReLU unit gives every image a binary
              code (active or not); ``K[i, j]`` = number of units on which images i and j
              agree (summed over every ReLU module of the network); score = ``log det K``.
``params``    parameters, as :func:`nasbench.nets.models.count_cost` counts them.
``flops``     multiply-accumulates of one image, as :func:`nasbench.nets.models.count_cost`
              counts them.

Within :func:`shared_computation` (as :func:`nasbench.surrogates.zero_cost.score_architectures`
uses it, once per network) the proxies that read the loss gradient, the input gradient or
the ReLU codes (snip, grad_norm, fisher, jacob_cov, nwot) share one forward pass of the
batch, and params/flops one cost count; called directly, each computes its own, with the
same code and so the same value. A proxy whose value is not finite (a singular kernel, a
zero Jacobian, an overflow) is NaN in :func:`run_proxy`; the caller decides how to rank it.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nasbench.core.errors import ConfigError
from nasbench.nets.models import count_cost

__all__ = [
    "DEFAULT_PROXIES",
    "PROXIES",
    "ProxyFunction",
    "check_proxy_names",
    "fisher",
    "flops",
    "grad_norm",
    "grasp",
    "jacob_cov",
    "nwot",
    "params",
    "run_proxy",
    "shared_computation",
    "snip",
    "synflow",
]

#: A proxy: (network at initialisation, input batch, integer targets) -> score.
ProxyFunction = Callable[[nn.Module, torch.Tensor, torch.Tensor], float]

_JACOB_COV_K = 1e-5


# --------------------------------------------------------------------------- helpers


def _weighted_layers(model: nn.Module) -> list[nn.Module]:
    """The Conv2d and Linear layers, in module order."""
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def _grads(
    output: torch.Tensor,
    tensors: Sequence[torch.Tensor],
    create_graph: bool = False,
    retain_graph: bool | None = None,
) -> list[Any]:
    """d output / d tensors; None for a tensor the output does not depend on."""
    if not output.requires_grad:
        return [None] * len(tensors)
    return list(
        torch.autograd.grad(
            output, list(tensors), allow_unused=True, create_graph=create_graph, retain_graph=retain_graph
        )
    )


def _float(value: torch.Tensor | float) -> float:
    number = float(value.detach()) if isinstance(value, torch.Tensor) else float(value)
    return number if math.isfinite(number) else math.nan


# Within shared_computation() the proxies of one network share its forward pass and its
# cost count; a proxy called directly computes its own.
_SHARED: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("_SHARED", default=None)


@contextlib.contextmanager
def shared_computation() -> Iterator[None]:
    """Inside the block, proxies share one forward pass and one cost count: enter it once
    per network (the shared values belong to the first network scored inside)."""
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


def _shared(kind: str, compute: Callable[[], Any]) -> Any:
    memo = _SHARED.get()
    if memo is None:
        return compute()
    if kind not in memo:
        memo[kind] = compute()
    return memo[kind]


@dataclass
class _Pass:
    """One forward pass of the batch in training mode and what the proxies read from it."""

    weights: list[torch.Tensor]  # Conv2d/Linear weights
    weight_grads: list[torch.Tensor | None]  # dL/dW
    outputs: list[torch.Tensor]  # Conv2d/Linear outputs (detached)
    output_grads: list[torch.Tensor | None]  # dL/d output
    input_grad: torch.Tensor | None  # d(sum of logits)/d inputs
    kernel: torch.Tensor  # ReLU code agreement kernel, float64 [B, B]


def _agreement_kernel(codes: torch.Tensor) -> torch.Tensor:
    """K[i, j] = units (columns) on which binary codes i and j agree, float64 [B, B]."""
    c = codes.reshape(codes.shape[0], -1).double()
    return c @ c.T + (1.0 - c) @ (1.0 - c).T


def _forward_backward(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> _Pass:
    batch = inputs.shape[0]
    kernel = torch.zeros((batch, batch), dtype=torch.float64)
    outputs: list[torch.Tensor] = []

    def keep_output(module: nn.Module, args: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        outputs.append(output)

    def add_codes(module: nn.Module, args: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal kernel
        kernel = kernel + _agreement_kernel(output.detach() > 0)

    layers = _weighted_layers(model)
    handles = [layer.register_forward_hook(keep_output) for layer in layers]
    handles += [m.register_forward_hook(add_codes) for m in model.modules() if isinstance(m, nn.ReLU)]
    x = inputs.detach().clone().requires_grad_(True)
    try:
        logits = model(x)
    finally:
        for handle in handles:
            handle.remove()
    (input_grad,) = _grads(logits.sum(), [x], retain_graph=True)
    weights = [layer.weight for layer in layers]
    grads = _grads(F.cross_entropy(logits, targets), [*weights, *outputs])
    return _Pass(
        weights=weights,
        weight_grads=grads[: len(weights)],
        outputs=[o.detach() for o in outputs],
        output_grads=grads[len(weights) :],
        input_grad=input_grad,
        kernel=kernel,
    )


def _first_order(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> _Pass:
    return _shared("pass", lambda: _forward_backward(model, inputs, targets))


def _cost(model: nn.Module, inputs: torch.Tensor) -> tuple[int, int]:
    return _shared("cost", lambda: count_cost(model, tuple(inputs.shape[1:])))


# --------------------------------------------------------------------------- proxies


def synflow(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Synaptic flow (Tanaka et al. 2020) of a BN-free, absolute-valued float64 copy."""
    net = copy.deepcopy(model)
    for module in list(net.modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(module, child_name, nn.Identity())
            elif isinstance(child, nn.ReLU):
                child.inplace = False  # without BN an in-place ReLU could overwrite a saved tensor
    net = net.double()
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.abs_()
    ones = torch.ones((1, *inputs.shape[1:]), dtype=torch.float64)
    weights = [layer.weight for layer in _weighted_layers(net)]
    total = torch.zeros((), dtype=torch.float64)
    for weight, grad in zip(weights, _grads(net(ones).sum(), weights), strict=True):
        if grad is not None:
            total += (weight.detach() * grad).sum()
    return _float(total)


def snip(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """SNIP connection sensitivity (Lee et al. 2019): sum |theta * dL/dtheta|."""
    found = _first_order(model, inputs, targets)
    total = torch.zeros((), dtype=torch.float64)
    for weight, grad in zip(found.weights, found.weight_grads, strict=True):
        if grad is not None:
            total += (weight.detach() * grad).abs().sum(dtype=torch.float64)
    return _float(total)


def grad_norm(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Sum over Conv2d/Linear layers of the Euclidean norm of the loss gradient."""
    total = torch.zeros((), dtype=torch.float64)
    for grad in _first_order(model, inputs, targets).weight_grads:
        if grad is not None:
            total += torch.linalg.vector_norm(grad.double())
    return _float(total)


def grasp(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """GraSP (Wang et al. 2020): -sum theta * (H g), with a Hessian-vector product."""
    weights = [layer.weight for layer in _weighted_layers(model)]
    grads = _grads(F.cross_entropy(model(inputs), targets), weights, create_graph=True)
    products = [(g.detach() * g).sum() for g in grads if g is not None and g.requires_grad]
    if not products:
        return 0.0
    hessian_grads = _grads(torch.stack(products).sum(), weights)
    total = torch.zeros((), dtype=torch.float64)
    for weight, hg in zip(weights, hessian_grads, strict=True):
        if hg is not None:
            total -= (weight.detach() * hg).sum(dtype=torch.float64)
    return _float(total)


def fisher(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Fisher potential (Turner et al. 2020) of every Conv2d/Linear output channel."""
    found = _first_order(model, inputs, targets)
    total = torch.zeros((), dtype=torch.float64)
    for activation, grad in zip(found.outputs, found.output_grads, strict=True):
        if grad is None:
            continue
        product = (activation * grad).double()
        per_channel = product.sum(dim=(2, 3)) if product.dim() == 4 else product
        total += 0.5 * per_channel.pow(2).mean(dim=0).sum()
    return _float(total)


def jacob_cov(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Jacobian covariance (Mellor et al. 2021, v1); NaN when a Jacobian row is constant."""
    jacobian = _first_order(model, inputs, targets).input_grad
    if jacobian is None:
        return math.nan
    rows = jacobian.reshape(jacobian.shape[0], -1).double()
    correlation = torch.corrcoef(rows)
    if not bool(torch.isfinite(correlation).all()):
        return math.nan
    shifted = torch.linalg.eigvalsh(correlation) + _JACOB_COV_K
    return _float(-(torch.log(shifted) + 1.0 / shifted).sum())


def nwot(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """NASWOT (Mellor et al. 2021, v2): log det of the ReLU activation-code kernel."""
    sign, log_abs = torch.linalg.slogdet(_first_order(model, inputs, targets).kernel)
    return _float(log_abs) if float(sign) > 0 else math.nan


def params(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Parameter count (BN affine included), as nasbench counts it."""
    return float(_cost(model, inputs)[0])


def flops(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Conv2d and Linear multiply-accumulates for one image, as nasbench counts them."""
    return float(_cost(model, inputs)[1])


#: Every proxy by name, in the order they are computed and stored.
PROXIES: dict[str, ProxyFunction] = {
    "synflow": synflow,
    "snip": snip,
    "grad_norm": grad_norm,
    "grasp": grasp,
    "fisher": fisher,
    "jacob_cov": jacob_cov,
    "nwot": nwot,
    "params": params,
    "flops": flops,
}
DEFAULT_PROXIES: tuple[str, ...] = tuple(PROXIES)

#: Errors a proxy may raise on a degenerate network; they are recorded as NaN.
_NUMERICAL_ERRORS: tuple[type[BaseException], ...] = (
    torch.linalg.LinAlgError,
    np.linalg.LinAlgError,
    FloatingPointError,
    OverflowError,
)


def check_proxy_names(proxies: str | Sequence[str]) -> list[str]:
    """The proxy names asked for (one name or a sequence): known, not repeated, not none."""
    names = [proxies] if isinstance(proxies, str) else list(proxies)
    if not names:
        raise ConfigError("no proxies asked for")
    unknown = [name for name in names if name not in PROXIES]
    if unknown:
        raise ConfigError(f"unknown proxy {unknown[0]!r} (known: {', '.join(PROXIES)})")
    if len(set(names)) != len(names):
        raise ConfigError(f"proxies must not repeat, got {names}")
    return names


def run_proxy(name: str, model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """One proxy by name, on the model in training mode; NaN when it is not finite or
    fails numerically."""
    if name not in PROXIES:
        raise ConfigError(f"unknown proxy {name!r} (known: {', '.join(PROXIES)})")
    function = PROXIES[name]
    model.train()
    try:
        with torch.enable_grad():
            value = function(model, inputs, targets)
    except _NUMERICAL_ERRORS:
        return math.nan
    return _float(value)

"""Zero-cost proxies: rank architectures from their freshly initialised network.

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

Within :func:`score_architectures` the proxies that read the loss gradient, the input
gradient or the ReLU codes (snip, grad_norm, fisher, jacob_cov, nwot) share one forward
pass of the batch, and params/flops one cost count; called directly, each computes its
own, with the same code and so the same value.

A proxy whose value is not finite (a singular kernel, a zero Jacobian, an overflow) is
recorded as NaN; the caller decides how to rank it. Scores are per isomorphism class:
:func:`score_architectures` scores one member per class (the smallest index among those
asked), so ``params``/``flops`` here are the representative's; the table's ``cost/``
arrays hold every member's own cost.

The scores of a table are stored beside it as ``<table stem>.proxies.h5`` (HDF5, no
pickle), see :func:`write_proxy_scores` / :func:`read_proxy_scores`.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import contextvars
import copy
import hashlib
import json
import math
import multiprocessing
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nasbench.core.errors import ConfigError, NasbenchError, TableError
from nasbench.core.space import ArchLike, CellSpace, get_space
from nasbench.core.table import Table, open_table
from nasbench.nets.models import MacroConfig, build_model, count_cost
from nasbench.nets.train import Protocol, get_protocol
from nasbench.prediction.surrogate import Surrogate, check_choice, check_int

__all__ = [
    "DEFAULT_PROXIES",
    "PROXIES",
    "PROXY_FORMAT",
    "PROXY_SCHEMA_VERSION",
    "ProxyFunction",
    "ProxyScores",
    "ZeroCostProxy",
    "fisher",
    "flops",
    "grad_norm",
    "grasp",
    "jacob_cov",
    "nwot",
    "params",
    "proxy_batch",
    "proxy_scores_path",
    "read_proxy_scores",
    "run_proxy",
    "score_architectures",
    "score_table",
    "snip",
    "synflow",
    "write_proxy_scores",
]

#: A proxy: (network at initialisation, input batch, integer targets) -> score.
ProxyFunction = Callable[[nn.Module, torch.Tensor, torch.Tensor], float]

PROXY_FORMAT = "nasbench-proxies"
PROXY_SCHEMA_VERSION = 1
_SUFFIX = ".proxies.h5"
_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
_COMPRESSION: dict[str, Any] = {"compression": "gzip", "fletcher32": True, "track_times": False}
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


# Within :func:`score_architectures` the proxies of one network share its forward pass and
# its cost count (cleared for every network); a proxy called directly computes its own.
_SHARED: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("_SHARED", default=None)


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


def _proxy_names(proxies: str | Sequence[str]) -> list[str]:
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


# --------------------------------------------------------------------------- scoring


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def proxy_batch(data: Any, batch_size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets): ``batch_size`` training images drawn without replacement with ``seed``."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 2:
        raise ConfigError(f"batch_size must be an integer >= 2, got {batch_size!r}")
    count = int(data.train_x.shape[0])
    if batch_size > count:
        raise ConfigError(f"batch_size {batch_size} exceeds the {count} training images")
    rows = np.random.default_rng(seed).choice(count, size=batch_size, replace=False)
    index = torch.from_numpy(np.asarray(rows, dtype=np.int64))
    inputs = data.train_x[index].to(torch.float32).contiguous()
    targets = data.train_y[index].to(torch.int64).contiguous()
    return inputs, targets


def _representatives(space: CellSpace, indices: np.ndarray) -> np.ndarray:
    """For every index, the smallest index among ``indices`` of its isomorphism class."""
    keys = [space.canonical_key(int(i)) for i in indices]
    first: dict[str, int] = {}
    for key, index in sorted(zip(keys, indices.tolist(), strict=True), key=lambda pair: pair[1]):
        first.setdefault(key, index)
    return np.asarray([first[key] for key in keys], dtype=np.int64)


def _score_chunk(
    space: dict[str, Any],
    config: dict[str, int],
    indices: list[int],
    names: list[str],
    inputs: np.ndarray,
    targets: np.ndarray,
    seed: int,
) -> tuple[np.ndarray, dict[str, float]]:
    """float64 [len(indices), len(names)] and the CPU seconds spent per proxy (and build).

    Plain arguments only, so a worker process can run it; one thread, deterministic.
    """
    cell_space = CellSpace.from_dict(space)
    macro = MacroConfig.from_dict(config)
    x = torch.from_numpy(inputs)
    y = torch.from_numpy(targets)
    out = np.full((len(indices), len(names)), np.nan, dtype=np.float64)
    spent = dict.fromkeys(["build", *names], 0.0)
    with _one_thread():
        for row, index in enumerate(indices):
            started = time.process_time()
            model = build_model(int(index), macro, cell_space, seed=seed)
            spent["build"] += time.process_time() - started
            token = _SHARED.set({})
            try:
                for column, name in enumerate(names):
                    started = time.process_time()
                    out[row, column] = run_proxy(name, model, x, y)
                    spent[name] += time.process_time() - started
            finally:
                _SHARED.reset(token)
    return out, spent


def score_architectures(
    indices: Sequence[ArchLike] | np.ndarray,
    protocol: str | Protocol,
    proxies: str | Sequence[str] = DEFAULT_PROXIES,
    batch_size: int = 64,
    seed: int = 0,
    data: Any = None,
    space: CellSpace | str | None = None,
    progress: bool = False,
    workers: int = 1,
    timings: dict[str, float] | None = None,
) -> dict[str, np.ndarray]:
    """Score architectures with zero-cost proxies: name -> float64 [len(indices)].

    Every network is built by :func:`~nasbench.nets.models.build_model` with the protocol's
    macro skeleton and ``seed``; every proxy sees the same batch of ``batch_size``
    training images of the protocol's data (``data``, or ``protocol.load_data()``) drawn
    with ``seed``. Members of one isomorphism class get the score of the smallest index
    among them. Torch runs on one thread per process, so the same arguments give the same
    scores bit for bit, whatever ``workers`` is (worker processes are spawned, so a script
    that asks for more than one needs the ``if __name__ == "__main__":`` guard).
    Non-finite scores are NaN.
    ``timings``, when given, receives the CPU seconds spent in each proxy, summed over the
    architectures (``build``: building the networks).
    """
    cell_space = get_space(space)
    recipe = get_protocol(protocol)
    names = _proxy_names(proxies)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ConfigError(f"seed must be an integer, got {seed!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers must be a positive integer, got {workers!r}")
    seed = int(seed)
    wanted = np.asarray([cell_space.index(value) for value in indices], dtype=np.int64).reshape(-1)
    representatives = _representatives(cell_space, wanted)
    unique, inverse = np.unique(representatives, return_inverse=True)
    if data is None:
        data = recipe.load_data()
    inputs, targets = proxy_batch(data, batch_size, seed)
    config: MacroConfig = recipe.model_config()
    if tuple(inputs.shape[1:]) != (config.input_channels, config.resolution, config.resolution):
        raise ConfigError(
            f"data images have shape {tuple(inputs.shape[1:])}, the protocol's network takes "
            f"{(config.input_channels, config.resolution, config.resolution)}"
        )
    fixed = (cell_space.to_dict(), config.to_dict())
    batch = (inputs.numpy(), targets.numpy())
    # Several chunks per worker balance the load; a chunk is one task for a process.
    chunk_size = 64 if workers == 1 else max(1, min(32, math.ceil(unique.shape[0] / (4 * workers))))
    chunks = [unique[k : k + chunk_size].tolist() for k in range(0, unique.shape[0], chunk_size)]
    values = np.full((unique.shape[0], len(names)), np.nan, dtype=np.float64)
    spent = dict.fromkeys(["build", *names], 0.0)
    bar: Any = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=unique.shape[0], desc="zero-cost proxies", unit="arch")

    def collect(position: int, result: tuple[np.ndarray, dict[str, float]]) -> None:
        start = position * chunk_size
        values[start : start + result[0].shape[0]] = result[0]
        for key, seconds in result[1].items():
            spent[key] += seconds
        if bar is not None:
            bar.update(result[0].shape[0])

    try:
        if workers == 1 or len(chunks) == 1:
            for position, chunk in enumerate(chunks):
                collect(position, _score_chunk(*fixed, chunk, names, *batch, seed))
        else:
            context = multiprocessing.get_context("spawn")
            with concurrent.futures.ProcessPoolExecutor(
                min(workers, len(chunks)), mp_context=context
            ) as pool:
                futures = {
                    pool.submit(_score_chunk, *fixed, chunk, names, *batch, seed): position
                    for position, chunk in enumerate(chunks)
                }
                for future in concurrent.futures.as_completed(futures):
                    collect(futures[future], future.result())
    finally:
        if bar is not None:
            bar.close()
    if timings is not None:
        timings.update(spent)
    return {name: values[inverse, column] for column, name in enumerate(names)}


# --------------------------------------------------------------------------- storage


def proxy_scores_path(table_path: str | os.PathLike[str]) -> Path:
    """Where a table's proxy scores live: ``<table stem>.proxies.h5`` beside it."""
    table = Path(table_path)
    return table.with_name(table.stem + _SUFFIX)


def _table_path_for(scores_path: Path) -> Path:
    name = scores_path.name
    if not name.endswith(_SUFFIX):
        raise TableError(f"{scores_path}: cannot tell its table (the name does not end in {_SUFFIX})")
    return scores_path.with_name(name[: -len(_SUFFIX)] + ".h5")


def _scores_checksum(unique: np.ndarray, scores: Mapping[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(unique, dtype="<i8").tobytes())
    for name, values in scores.items():
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(values, dtype="<f8").tobytes())
    return "sha256:" + digest.hexdigest()


def _open_table(table: Table | str | os.PathLike[str]) -> Table:
    return table if isinstance(table, Table) else open_table(table)


def write_proxy_scores(
    table_path: str | os.PathLike[str], scores: Mapping[str, np.ndarray], settings: Mapping[str, Any]
) -> Path:
    """Store per-class scores (aligned with the table's ``archs/unique``) beside the table.

    ``settings`` (JSON-ready) must name ``batch_size`` and ``seed``; it is stored whole.
    The file is written under a temporary name and renamed into place, so a reader never
    sees half a file. Layout (schema version 1): root attributes ``format``
    ("nasbench-proxies"), ``schema_version``, ``proxies`` (JSON list), ``batch_size``,
    ``seed``, ``torch_version``, ``table_checksum``, ``table_file``, ``settings`` (JSON),
    ``scores_checksum`` (sha256 of ``archs/unique`` and the scores); datasets
    ``archs/unique`` int64 [U] and ``scores/<proxy>`` float64 [U].
    """
    table = _open_table(table_path)
    if not table.checksum:
        raise TableError(f"{table.path}: the table has no checksum (its writer was not closed)")
    arrays: dict[str, np.ndarray] = {}
    for name, values in scores.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ConfigError(f"invalid proxy name {name!r}")
        array = np.asarray(values, dtype=np.float64)
        if array.shape != table.unique.shape:
            raise ConfigError(
                f"scores of {name!r} have shape {array.shape}; the table has {table.num_unique} classes"
            )
        arrays[name] = array
    if not arrays:
        raise ConfigError("no scores to write")
    missing = [key for key in ("batch_size", "seed") if key not in settings]
    if missing:
        raise ConfigError(f"settings must name {', '.join(missing)}")
    try:
        settings_json = json.dumps(dict(settings), sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"settings are not JSON-serialisable: {exc}") from None
    target = proxy_scores_path(table.path)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with h5py.File(temporary, "w") as handle:
            handle.attrs["format"] = PROXY_FORMAT
            handle.attrs["schema_version"] = PROXY_SCHEMA_VERSION
            handle.attrs["proxies"] = json.dumps(list(arrays))
            handle.attrs["batch_size"] = int(settings["batch_size"])
            handle.attrs["seed"] = int(settings["seed"])
            handle.attrs["torch_version"] = str(torch.__version__)
            handle.attrs["table_checksum"] = table.checksum
            handle.attrs["table_file"] = table.path.name
            handle.attrs["settings"] = settings_json
            handle.attrs["scores_checksum"] = _scores_checksum(table.unique, arrays)
            handle.create_dataset("archs/unique", data=table.unique.astype(np.int64), **_COMPRESSION)
            for name, array in arrays.items():
                handle.create_dataset(f"scores/{name}", data=array, **_COMPRESSION)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target


@dataclass(frozen=True)
class ProxyScores:
    """Proxy scores of a table's classes, read by :func:`read_proxy_scores`."""

    path: Path
    scores: dict[str, np.ndarray] = field(repr=False)  # name -> float64 [U]
    unique: np.ndarray = field(repr=False)  # the table's archs/unique
    settings: dict[str, Any]
    table_checksum: str
    torch_version: str

    @property
    def proxies(self) -> tuple[str, ...]:
        """The proxy names, in stored order."""
        return tuple(self.scores)

    def per_row(self, table: Table | str | os.PathLike[str]) -> dict[str, np.ndarray]:
        """name -> float64 [N]: every row of ``table`` (a Table or path) gets its class's score."""
        opened = _open_table(table)
        if opened.checksum != self.table_checksum:
            raise TableError(f"{self.path}: these scores belong to another table than {opened.path}")
        return {name: values[opened.class_row] for name, values in self.scores.items()}


def _attr(handle: h5py.File, name: str, where: str) -> Any:
    if name not in handle.attrs:
        raise TableError(f"{where}: missing attribute {name!r}")
    value = handle.attrs[name]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.generic):
        return value.item()
    return value


def read_proxy_scores(
    path: str | os.PathLike[str], table: Table | str | os.PathLike[str] | None = None
) -> ProxyScores:
    """Read a proxy scores file and check it belongs to its table.

    ``table`` (a Table or a path) defaults to the file beside it (``X.proxies.h5`` ->
    ``X.h5``). A missing, truncated or tampered file, or scores of another table (the
    table's checksum or classes differ), raise one :class:`~nasbench.core.errors.TableError`.
    """
    source = Path(path)
    where = str(source)
    if not source.is_file():
        raise TableError(f"{where}: no such proxy scores file")
    try:
        handle = h5py.File(source, "r")
    except Exception as exc:  # h5py raises OSError and others on damaged files
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise TableError(f"{where}: not a readable proxy scores file ({reason})") from None
    try:
        with handle:
            if _attr(handle, "format", where) != PROXY_FORMAT:
                raise TableError(f"{where}: not a nasbench proxy scores file")
            version = _attr(handle, "schema_version", where)
            if version != PROXY_SCHEMA_VERSION:
                raise TableError(
                    f"{where}: proxy scores schema version {version} is not supported "
                    f"(this nasbench reads version {PROXY_SCHEMA_VERSION})"
                )
            names = json.loads(_attr(handle, "proxies", where))
            settings = json.loads(_attr(handle, "settings", where))
            stored_checksum = _attr(handle, "table_checksum", where)
            torch_version = _attr(handle, "torch_version", where)
            content_checksum = _attr(handle, "scores_checksum", where)
            unique = handle["archs/unique"][()].astype(np.int64)
            scores = {name: handle[f"scores/{name}"][()].astype(np.float64) for name in names}
    except NasbenchError:
        raise
    except Exception as exc:  # truncated datasets, Fletcher-32 failures, bad JSON, missing keys
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise TableError(f"{where}: corrupt proxy scores file ({reason})") from None
    if _scores_checksum(unique, scores) != content_checksum:
        raise TableError(f"{where}: the scores do not match their checksum (file changed after writing)")
    table_source = _table_path_for(source) if table is None else table
    opened = _open_table(table_source)
    if opened.checksum != stored_checksum or not np.array_equal(opened.unique, unique):
        raise TableError(
            f"{where}: scores were computed for another table (table checksum {stored_checksum}), "
            f"not for {opened.path} (checksum {opened.checksum}); "
            f"recompute them with `nasbench proxies {opened.path}`"
        )
    return ProxyScores(
        path=source,
        scores=scores,
        unique=unique,
        settings=settings,
        table_checksum=stored_checksum,
        torch_version=torch_version,
    )


def score_table(
    table_path: str | os.PathLike[str],
    proxies: str | Sequence[str] = DEFAULT_PROXIES,
    batch_size: int = 64,
    seed: int = 0,
    data_dir: str | os.PathLike[str] | None = None,
    progress: bool = False,
    workers: int = 1,
) -> Path:
    """Score every class of a table with its own protocol and store the scores beside it.

    The protocol, macro skeleton and space are the table's; the data are the protocol's
    (looked up as :func:`nasbench.nets.datasets.load_dataset` does, ``data_dir`` first).
    ``workers`` processes share the classes (the scores do not depend on it). Returns
    the path of the scores file.
    """
    table = _open_table(table_path)
    try:
        recipe = Protocol.from_dict(table.protocol)
    except (ConfigError, TypeError) as exc:
        raise TableError(f"{table.path}: its protocol cannot be rebuilt ({exc})") from None
    try:
        stored_model = MacroConfig.from_dict(table.model)
    except ConfigError:
        stored_model = None
    if stored_model is not None and stored_model != recipe.model_config():
        raise TableError(f"{table.path}: its model attribute disagrees with its protocol")
    names = _proxy_names(proxies)
    scores = score_architectures(
        table.unique,
        recipe,
        names,
        batch_size=batch_size,
        seed=seed,
        data=recipe.load_data(data_dir),
        space=table.space,
        progress=progress,
        workers=workers,
    )
    settings = {
        "batch_size": batch_size,
        "seed": seed,
        "proxies": names,
        "dataset": recipe.dataset,
        "batch": "training split, drawn without replacement with the seed",
        "model_seed": seed,
        "threads": 1,
    }
    return write_proxy_scores(table.path, scores, settings)


# --------------------------------------------------------------------------- as a predictor


class ZeroCostProxy(Surrogate):
    """One zero-cost proxy as a predictor: the score of each network at initialisation.

    Nothing is learned, so ``fit`` only records the space (its targets are checked and
    ignored) and ``predict`` scores the architectures asked for, with the protocol's
    macro skeleton and data (one batch of ``batch_size`` training images drawn with
    ``seed``). Scores are on the proxy's own scale: judge them by rank correlation.
    ``score_table`` / ``read_scores`` / ``scores_path`` let the command line score a
    whole table and store the scores beside it without importing this module.
    """

    kind = "zero-cost"
    has_std = False
    score_table = staticmethod(score_table)
    read_scores = staticmethod(read_proxy_scores)
    scores_path = staticmethod(proxy_scores_path)
    proxy_names: tuple[str, ...] = DEFAULT_PROXIES

    def __init__(
        self,
        *,
        proxy: str = "synflow",
        protocol: str = "fmnist-cpu",
        batch_size: int = 64,
        data_dir: str | None = None,
        space: CellSpace | str = "nb201",
        seed: int = 0,
    ) -> None:
        super().__init__(space=space, seed=seed)
        self.proxy = proxy
        self.protocol = protocol
        self.batch_size = batch_size
        self.data_dir = data_dir
        check_choice(self._label, "proxy", proxy, tuple(PROXIES))
        check_int(self._label, "batch_size", batch_size, low=2, high=65_536)
        try:
            get_protocol(protocol)
        except ConfigError as exc:
            raise ConfigError(f"{self._label}: protocol: {exc}") from None

    def _fit(self, indices: np.ndarray, y: np.ndarray) -> None:
        self.protocol_ = get_protocol(self.protocol)
        self.data_ = self.protocol_.load_data(self.data_dir)

    def _predict(self, indices: np.ndarray, return_std: bool) -> tuple[np.ndarray, None]:
        scores = score_architectures(
            indices, self.protocol_, [self.proxy], self.batch_size, self.seed, self.data_, self.space_
        )
        return scores[self.proxy], None

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {}, {}

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._fit(np.zeros(0, dtype=np.int64), np.zeros(0))

"""Neural surrogates: a BANANAS-style MLP ensemble (numpy) and a graph isomorphism
network (plain torch).

``mlp-ensemble`` follows the predictor of BANANAS (White et al., 2021): several small
fully-connected networks, identical but for their random initialisation and data order,
trained on the path encoding; the prediction is the members' mean and the uncertainty
their spread. It is written in numpy, all members trained at once as stacked weight
tensors in one BLAS thread, so it needs no torch and is bit-for-bit reproducible.

``gin`` is a graph isomorphism network (Xu et al., 2019), the graph learner NAS-Bench-301
found most accurate for cell spaces, on the op-on-node graph of
:meth:`nasbench.core.space.CellSpace.encode_adjacency`. Torch is imported on first use;
training runs in one thread, with torch's global random state forked and seeded, so it
is reproducible and leaves the caller's random state untouched.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np

from nasbench.core.errors import ConfigError
from nasbench.core.space import CellSpace
from nasbench.core.validation import check_choice, check_float, check_int
from nasbench.prediction import ENCODINGS, Surrogate, encode_archs, encode_graphs, one_blas_thread

__all__ = ["GINSurrogate", "MLPEnsembleSurrogate"]


# --------------------------------------------------------------------- MLP ensemble
class MLPEnsembleSurrogate(Surrogate):
    """Ensemble of small ReLU networks on the path encoding (BANANAS-style); gives std.

    Each of ``n_members`` networks has ``num_layers`` hidden layers of ``width`` units
    and is trained with Adam on the mean absolute error of standardised targets for
    ``epochs`` passes in minibatches of ``batch_size``. The members differ only in
    their initialisation and minibatch order, both drawn from ``seed``. std is the
    (population) standard deviation of the members' predictions.
    """

    has_std = True

    def __init__(
        self,
        *,
        encoding: str = "path",
        n_members: int = 5,
        num_layers: int = 3,
        width: int = 32,
        epochs: int = 150,
        batch_size: int = 32,
        learning_rate: float = 0.005,
        weight_decay: float = 0.0,
        space: CellSpace | str = "nb201",
        seed: int = 0,
    ) -> None:
        super().__init__(space=space, seed=seed)
        self.encoding = encoding
        self.n_members = n_members
        self.num_layers = num_layers
        self.width = width
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        check_choice(self, "encoding", encoding, ENCODINGS)
        check_int(self, "n_members", n_members, low=1, high=100)
        check_int(self, "num_layers", num_layers, low=1, high=20)
        check_int(self, "width", width, low=1, high=4096)
        check_int(self, "epochs", epochs, low=1, high=100_000)
        check_int(self, "batch_size", batch_size, low=1)
        check_float(self, "learning_rate", learning_rate, 0.0, 1.0, low_open=True)
        check_float(self, "weight_decay", weight_decay, 0.0, 1.0)

    def _forward(self, x: np.ndarray, keep: bool = False) -> tuple[np.ndarray, list[np.ndarray]]:
        """x [M, B, d] -> outputs [M, B] (and the hidden activations when ``keep``)."""
        activations = [x]
        h = x
        for layer in range(self.num_layers):
            h = np.maximum(h @ self.weights_[layer] + self.biases_[layer], 0.0)
            activations.append(h)
        out = (h @ self.weights_[-1] + self.biases_[-1])[..., 0]
        return out, activations if keep else []

    def _fit(self, indices: np.ndarray, y: np.ndarray) -> None:
        with one_blas_thread():
            self._train(indices, y)

    def _train(self, indices: np.ndarray, y: np.ndarray) -> None:
        rng = np.random.default_rng(self.seed)
        features = encode_archs(self.space_, indices, self.encoding).astype(np.float64)
        self.y_mean_ = float(y.mean())
        self.y_scale_ = float(y.std()) or 1.0
        target = (y - self.y_mean_) / self.y_scale_
        members, n = self.n_members, features.shape[0]
        sizes = [features.shape[1]] + [self.width] * self.num_layers + [1]
        self.weights_ = []
        self.biases_ = []
        for fan_in, fan_out in itertools.pairwise(sizes):
            bound = np.sqrt(6.0 / fan_in)  # He-uniform, suited to ReLU
            self.weights_.append(rng.uniform(-bound, bound, size=(members, fan_in, fan_out)))
            self.biases_.append(np.zeros((members, 1, fan_out)))
        params = self.weights_ + self.biases_
        first = [np.zeros_like(p) for p in params]
        second = [np.zeros_like(p) for p in params]
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        batch = min(self.batch_size, n)
        step = 0
        for _ in range(self.epochs):
            order = np.argsort(rng.random((members, n)), axis=1)
            for start in range(0, n, batch):
                rows = order[:, start : start + batch]
                x, t = features[rows], target[rows]
                out, acts = self._forward(x, keep=True)
                grad_out = np.sign(out - t)[..., None] / rows.shape[1]
                grads_w: list[np.ndarray] = [np.empty(0)] * (self.num_layers + 1)
                grads_b: list[np.ndarray] = [np.empty(0)] * (self.num_layers + 1)
                delta = grad_out
                for layer in range(self.num_layers, -1, -1):
                    grads_w[layer] = acts[layer].transpose(0, 2, 1) @ delta
                    grads_b[layer] = delta.sum(axis=1, keepdims=True)
                    if layer:
                        delta = (delta @ self.weights_[layer].transpose(0, 2, 1)) * (acts[layer] > 0)
                step += 1
                correction1, correction2 = 1.0 - beta1**step, 1.0 - beta2**step
                for k, (param, grad) in enumerate(zip(params, grads_w + grads_b, strict=True)):
                    if self.weight_decay and k < len(self.weights_):
                        grad = grad + self.weight_decay * param
                    first[k] *= beta1
                    first[k] += (1.0 - beta1) * grad
                    second[k] *= beta2
                    second[k] += (1.0 - beta2) * grad * grad
                    param -= (
                        self.learning_rate
                        * (first[k] / correction1)
                        / (np.sqrt(second[k] / correction2) + eps)
                    )

    def _members(self, indices: np.ndarray) -> np.ndarray:
        features = encode_archs(self.space_, indices, self.encoding).astype(np.float64)
        with one_blas_thread():
            out, _ = self._forward(np.broadcast_to(features, (self.n_members, *features.shape)))
        return self.y_mean_ + self.y_scale_ * out

    def _predict(self, indices: np.ndarray, return_std: bool) -> tuple[np.ndarray, np.ndarray | None]:
        members = self._members(indices)
        return members.mean(axis=0), (members.std(axis=0) if return_std else None)

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays = {f"weight{k}": w for k, w in enumerate(self.weights_)}
        arrays.update({f"bias{k}": b for k, b in enumerate(self.biases_)})
        return {"y_mean": self.y_mean_, "y_scale": self.y_scale_}, arrays

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        layers = self.num_layers + 1
        self.weights_ = [arrays[f"weight{k}"] for k in range(layers)]
        self.biases_ = [arrays[f"bias{k}"] for k in range(layers)]
        for w, b in zip(self.weights_, self.biases_, strict=True):
            if w.ndim != 3 or w.shape[0] != self.n_members or b.shape != (self.n_members, 1, w.shape[2]):
                raise ConfigError("MLP ensemble weights disagree with its hyperparameters")
        self.y_mean_ = float(state["y_mean"])
        self.y_scale_ = float(state["y_scale"])


# --------------------------------------------------------------------- graph isomorphism network
def _torch() -> Any:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a core dependency
        raise ConfigError("the gin surrogate needs torch: pip install torch") from None
    return torch


@contextlib.contextmanager
def _torch_sandbox(torch: Any, seed: int) -> Iterator[None]:
    """One thread and a forked, seeded global random state; both restored on exit."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield
    finally:
        torch.set_num_threads(threads)


def _build_gin(torch: Any, in_features: int, hidden: int, num_layers: int) -> Any:
    nn = torch.nn

    class GIN(nn.Module):
        """GIN layers ``h <- MLP((1 + eps) h + sum of predecessors' h)`` along the cell's
        data flow, a sum readout of every layer's vertex states, and a linear head."""

        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Linear(in_features, hidden)
            self.eps = nn.Parameter(torch.zeros(num_layers))
            self.mlps = nn.ModuleList(
                nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
                for _ in range(num_layers)
            )
            self.head = nn.Sequential(
                nn.Linear(hidden * (num_layers + 1), hidden), nn.ReLU(), nn.Linear(hidden, 1)
            )

        def forward(self, adjacency: Any, labels: Any) -> Any:
            h = self.embed(labels)
            incoming = adjacency.transpose(1, 2)
            readouts = [h.sum(dim=1)]
            for k, mlp in enumerate(self.mlps):
                h = mlp((1.0 + self.eps[k]) * h + torch.bmm(incoming, h))
                readouts.append(h.sum(dim=1))
            return self.head(torch.cat(readouts, dim=1)).squeeze(-1)

    return GIN()


class GINSurrogate(Surrogate):
    """Graph isomorphism network on the op-on-node cell graph (plain torch); no std.

    Vertices are the cell input, one vertex per edge labelled with its op, and the cell
    output; messages follow the data flow (a vertex sums its predecessors), zero-op
    vertices are disconnected. ``num_layers`` GIN layers of ``hidden`` units with a
    learned epsilon, a sum readout of every layer (so the network sees the cell at every
    depth), then a two-layer head; Adam on the squared error of standardised targets.
    No standard deviation (``has_std`` is False); wrap it in ``ensemble`` for one.
    """

    has_std = False

    def __init__(
        self,
        *,
        hidden: int = 64,
        num_layers: int = 4,
        epochs: int = 120,
        batch_size: int = 32,
        learning_rate: float = 0.003,
        weight_decay: float = 1e-5,
        space: CellSpace | str = "nb201",
        seed: int = 0,
    ) -> None:
        super().__init__(space=space, seed=seed)
        self.hidden = hidden
        self.num_layers = num_layers
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        check_int(self, "hidden", hidden, low=1, high=4096)
        check_int(self, "num_layers", num_layers, low=1, high=32)
        check_int(self, "epochs", epochs, low=1, high=100_000)
        check_int(self, "batch_size", batch_size, low=1)
        check_float(self, "learning_rate", learning_rate, 0.0, 1.0, low_open=True)
        check_float(self, "weight_decay", weight_decay, 0.0, 1.0)

    def _network(self, torch: Any) -> Any:
        return _build_gin(torch, self.space_.num_ops + 2, self.hidden, self.num_layers)

    def _tensors(self, torch: Any, indices: np.ndarray) -> tuple[Any, Any]:
        adjacency, labels = encode_graphs(self.space_, indices)
        return torch.from_numpy(adjacency.astype(np.float32)), torch.from_numpy(labels)

    def _fit(self, indices: np.ndarray, y: np.ndarray) -> None:
        torch = _torch()
        rng = np.random.default_rng(self.seed)
        self.y_mean_ = float(y.mean())
        self.y_scale_ = float(y.std()) or 1.0
        target = torch.from_numpy(((y - self.y_mean_) / self.y_scale_).astype(np.float32))
        with _torch_sandbox(torch, int(rng.integers(2**31 - 1))):
            adjacency, labels = self._tensors(torch, indices)
            network = self._network(torch)
            optimiser = torch.optim.Adam(
                network.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay
            )
            n = target.shape[0]
            batch = min(self.batch_size, n)
            network.train()
            for _ in range(self.epochs):
                order = torch.from_numpy(rng.permutation(n))
                for start in range(0, n, batch):
                    rows = order[start : start + batch]
                    optimiser.zero_grad()
                    loss = torch.mean((network(adjacency[rows], labels[rows]) - target[rows]) ** 2)
                    loss.backward()
                    optimiser.step()
            network.eval()
            self.network_ = network
        self.state_arrays_ = {k: v.detach().numpy().copy() for k, v in network.state_dict().items()}

    def _predict(self, indices: np.ndarray, return_std: bool) -> tuple[np.ndarray, np.ndarray | None]:
        torch = _torch()
        with _torch_sandbox(torch, 0), torch.no_grad():
            adjacency, labels = self._tensors(torch, indices)
            out = torch.cat(
                [
                    self.network_(adjacency[start : start + 4096], labels[start : start + 4096])
                    for start in range(0, adjacency.shape[0], 4096)
                ]
            )
        return self.y_mean_ + self.y_scale_ * out.numpy().astype(np.float64), None

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"y_mean": self.y_mean_, "y_scale": self.y_scale_}, dict(self.state_arrays_)

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        torch = _torch()
        with _torch_sandbox(torch, 0):
            network = self._network(torch)
            network.load_state_dict(
                {k: torch.from_numpy(np.array(v)) for k, v in arrays.items()}, strict=True
            )
            network.eval()
        self.network_ = network
        self.state_arrays_ = {k: np.array(v) for k, v in arrays.items()}
        self.y_mean_ = float(state["y_mean"])
        self.y_scale_ = float(state["y_scale"])

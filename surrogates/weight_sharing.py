"""Weight-sharing estimator: a supernet trained once scores any architecture by its
accuracy with inherited weights.

A :class:`~nasbench.nets.supernet.Supernet` of the protocol's network skeleton is trained by
uniform path sampling (one random architecture per batch, only its ops run) on the
protocol's training split; an architecture's score is then its accuracy (percent, like
a table's ``val_acc``) with the supernet's weights on a fixed subset of the protocol's
validation split. With ``bn_recalibration`` the supernet keeps BatchNorm running
statistics, and before scoring an architecture they are reset and recomputed on a few
fixed training batches (as SPOS does); otherwise the cells normalise with the scored
batch's own statistics (NAS-Bench-201's one-shot setting).

The score does not learn from targets: :meth:`WeightSharingSurrogate.fit` trains the
supernet and ignores ``y`` (beyond its shape), which is why the estimator ranks
architectures of the real benchmark but not of an unrelated synthetic table.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch

from nasbench.core.errors import ConfigError
from nasbench.core.space import CellSpace
from nasbench.core.validation import check_bool, check_float, check_int
from nasbench.nets.supernet import Supernet, evaluate_path, recalibrate_batchnorm
from nasbench.nets.supernet_training import OneShotTask, SearchSession, train_uniform_paths
from nasbench.nets.train import PROTOCOL_PRESETS, Protocol
from nasbench.prediction import Surrogate

__all__ = [
    "BN_MODES",
    "WeightSharingScores",
    "WeightSharingSurrogate",
    "score_architectures",
    "weight_sharing_study",
]

#: How the supernet's cell BatchNorm normalises when an architecture is scored: the scored
#: batch's statistics, the running statistics of training (every path mixed), or running
#: statistics re-computed for that architecture.
BN_MODES: tuple[str, ...] = ("batch", "running", "recalibrated")


@dataclass
class WeightSharingScores:
    """Inherited-weights accuracy (percent) of architectures and what scoring cost."""

    indices: np.ndarray  # int64 [n] space indices
    accuracy: np.ndarray = field(repr=False)  # float64 [n], percent
    seconds: float  # process CPU seconds for all of them
    images: int  # validation images per architecture

    @property
    def seconds_per_arch(self) -> float:
        """Mean CPU seconds per architecture."""
        return self.seconds / max(1, self.indices.shape[0])


@contextlib.contextmanager
def _kept_batchnorm_buffers(supernet: Supernet) -> Iterator[None]:
    """Restore every BatchNorm buffer after the block (scoring leaves no trace)."""
    saved = {name: buffer.clone() for name, buffer in supernet.named_buffers()}
    try:
        yield
    finally:
        with torch.no_grad():
            for name, buffer in supernet.named_buffers():
                buffer.copy_(saved[name])


def score_architectures(
    supernet: Supernet,
    indices: Sequence[int] | np.ndarray,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    *,
    batch_size: int = 1024,
    recalibration_batches: Sequence[torch.Tensor] | None = None,
) -> WeightSharingScores:
    """Accuracy (percent) of every space index on ``inputs``/``targets`` with the
    supernet's weights, timed in process CPU seconds.

    Score one index per isomorphism class (``table.unique`` or
    ``space.unique_indices()``; members of a class compute the same function, up to the
    weights of edges that cannot reach the output). With ``recalibration_batches`` (a
    supernet with ``track_running_stats=True``), every architecture's BatchNorm
    statistics are recomputed on those batches first; the supernet's buffers are
    restored afterwards, so a score never depends on what was scored before.
    """
    space = supernet.space
    index_array = np.asarray(indices, dtype=np.int64).reshape(-1)
    ops = space.ops_array(index_array).astype(np.int64)
    accuracy = np.empty(index_array.shape[0], dtype=np.float64)
    started = time.process_time()
    with _kept_batchnorm_buffers(supernet):
        for row, arch_ops in enumerate(ops):
            if recalibration_batches is not None:
                recalibrate_batchnorm(supernet, arch_ops, recalibration_batches)
            accuracy[row] = evaluate_path(supernet, arch_ops, inputs, targets, batch_size)
    return WeightSharingScores(index_array, accuracy, time.process_time() - started, int(inputs.shape[0]))


@contextlib.contextmanager
def _one_torch_thread() -> Iterator[None]:
    """One torch thread inside the block (restored after): the same numbers on any machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class WeightSharingSurrogate(Surrogate):
    """Weight-sharing estimator: validation accuracy with a supernet's inherited weights.

    ``fit`` trains a supernet of ``protocol`` (a preset name or a protocol's dict) by
    uniform path sampling for ``epochs`` epochs on the protocol's training split (SGD,
    DARTS's defaults: learning rate 0.025 cosine to 0.001, momentum 0.9, weight decay
    3e-4, gradient norm clipped at 5, batches of 64); ``y`` is not used. ``predict`` is
    each architecture's accuracy (percent) on ``eval_images`` fixed images of the
    protocol's validation split. BatchNorm in the cells, three ways (:data:`BN_MODES`):
    the scored batch's own statistics (default, ``track_running_stats=False``); the running
    statistics accumulated over every sampled path during training
    (``track_running_stats=True``); or those re-computed for each architecture on
    ``recalibration_batches`` training batches (``bn_recalibration=True``, which needs
    tracking and turns it on when ``track_running_stats`` is left None). Everything runs
    on one torch thread and is seeded from ``seed``; the artifact holds the supernet's
    weights as plain arrays.
    """

    kind = "architecture"
    has_std = False
    #: Predictions come from the supernet, not from ``y``: a suite that checks ranking on
    #: synthetic targets has nothing to measure here.
    learns_from_targets: ClassVar[bool] = False

    def __init__(
        self,
        *,
        protocol: str | dict[str, Any] = "tiny",
        epochs: int = 10,
        batch_size: int = 64,
        learning_rate: float = 0.025,
        learning_rate_min: float = 0.001,
        momentum: float = 0.9,
        weight_decay: float = 3e-4,
        grad_clip_norm: float = 5.0,
        eval_images: int = 256,
        bn_recalibration: bool = False,
        track_running_stats: bool | None = None,
        recalibration_batches: int = 4,
        space: CellSpace | str = "nb201",
        seed: int = 0,
    ) -> None:
        super().__init__(space=space, seed=seed)
        self.protocol = protocol
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_min = learning_rate_min
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.grad_clip_norm = grad_clip_norm
        self.eval_images = eval_images
        self.bn_recalibration = bn_recalibration
        self.track_running_stats = track_running_stats
        self.recalibration_batches = recalibration_batches
        label = self._label
        self._protocol()
        check_int(label, "epochs", epochs, low=1, high=100_000)
        check_int(label, "batch_size", batch_size, low=1, high=1_000_000)
        check_float(label, "learning_rate", learning_rate, 0.0, 10.0, low_open=True)
        check_float(label, "learning_rate_min", learning_rate_min, 0.0, 10.0)
        check_float(label, "momentum", momentum, 0.0, 1.0)
        check_float(label, "weight_decay", weight_decay, 0.0, 1.0)
        check_float(label, "grad_clip_norm", grad_clip_norm, 0.0, 1e6, low_open=True)
        check_int(label, "eval_images", eval_images, low=1, high=10_000_000)
        check_bool(label, "bn_recalibration", bn_recalibration)
        if track_running_stats is not None:
            check_bool(label, "track_running_stats", track_running_stats)
            if bn_recalibration and not track_running_stats:
                raise ConfigError(
                    f"{label}: bn_recalibration=True needs track_running_stats=True (or None), got False"
                )
        check_int(label, "recalibration_batches", recalibration_batches, low=1, high=100_000)
        if learning_rate_min > learning_rate:
            raise ConfigError(
                f"{label}: learning_rate_min must be <= learning_rate, got {learning_rate_min!r}"
            )

    @property
    def bn_mode(self) -> str:
        """How the cells' BatchNorm normalises when scoring: one of :data:`BN_MODES`."""
        if self.bn_recalibration:
            return "recalibrated"
        return "running" if self.track_running_stats else "batch"

    def _tracks(self) -> bool:
        return self.bn_mode != "batch"

    def _protocol(self) -> Protocol:
        value = self.protocol
        if isinstance(value, str) and value in PROTOCOL_PRESETS:
            return PROTOCOL_PRESETS[value]
        if isinstance(value, dict):
            try:
                return Protocol.from_dict(value)
            except (ConfigError, TypeError, ValueError) as exc:
                raise ConfigError(f"{self._label}: protocol is not a valid protocol dict ({exc})") from None
        raise ConfigError(
            f"{self._label}: protocol must be a preset name ({', '.join(PROTOCOL_PRESETS)}) or a "
            f"protocol's dict, got {value!r}"
        )

    @classmethod
    def from_supernet(cls, supernet: Supernet, **hyperparameters: Any) -> WeightSharingSurrogate:
        """A fitted surrogate around an already trained supernet (its space and skeleton
        must be the protocol's); ``hyperparameters`` as for ``__init__``. A supernet that
        tracks running statistics serves every BatchNorm mode (for ``batch`` its weights are
        copied into a supernet without them); one that does not serves ``batch`` only."""
        model = cls(**hyperparameters)
        if supernet.config != model._protocol().model_config():
            raise ConfigError(f"{model._label}: the supernet's skeleton is not the protocol's")
        model.space_ = supernet.space
        model.fit_seconds_ = 0.0
        if model._tracks() and not supernet.track_running_stats:
            raise ConfigError(
                f"{model._label}: BatchNorm mode {model.bn_mode!r} needs a supernet built with "
                "track_running_stats=True"
            )
        if not model._tracks() and supernet.track_running_stats:
            untracked = Supernet(supernet.space, supernet.config, track_running_stats=False, seed=0)
            names = set(untracked.state_dict())
            untracked.load_state_dict(
                {name: value for name, value in supernet.state_dict().items() if name in names}, strict=True
            )
            supernet = untracked.to(memory_format=model._layout()).eval()
        model.supernet_ = supernet
        return model

    # ----------------------------------------------------------------- fit / predict
    def _task(self) -> OneShotTask:
        protocol = self._protocol()
        return OneShotTask(self.space_, protocol, protocol.load_data(), self.seed)

    def _fit(self, indices: np.ndarray, y: np.ndarray) -> None:
        task = self._task()
        with _one_torch_thread():
            session = SearchSession(task, epochs=self.epochs, seed=self.seed, label=self._label)
            supernet = session.supernet(track_running_stats=self._tracks())
            train_uniform_paths(
                session,
                supernet,
                task.data.train_x,
                task.data.train_y,
                batch_size=self.batch_size,
                learning_rate=self.learning_rate,
                learning_rate_min=self.learning_rate_min,
                momentum=self.momentum,
                weight_decay=self.weight_decay,
                grad_clip_norm=self.grad_clip_norm,
            )
        supernet.eval()
        self.supernet_ = supernet
        self.fit_seconds_ = session.elapsed_seconds

    def _layout(self) -> torch.memory_format:
        return torch.channels_last if self._protocol().channels_last else torch.contiguous_format

    def _scoring_data(self) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor] | None]:
        data = self._protocol().load_data()
        layout = self._layout()
        rng = np.random.default_rng(self.seed)
        chosen = torch.from_numpy(np.sort(rng.permutation(data.val_x.shape[0])[: self.eval_images]))
        batches = None
        if self.bn_recalibration:
            order = torch.from_numpy(rng.permutation(data.train_x.shape[0]))
            batches = [
                data.train_x[order[start : start + self.batch_size]].contiguous(memory_format=layout)
                for start in range(
                    0, min(order.shape[0], self.recalibration_batches * self.batch_size), self.batch_size
                )
            ]
        return data.val_x[chosen].contiguous(memory_format=layout), data.val_y[chosen], batches

    def score(self, archs: Any) -> WeightSharingScores:
        """Inherited-weights accuracy of ``archs`` (any form ``predict`` accepts) with
        the CPU seconds it took."""
        indices = self._prepare_predict(archs, False)
        inputs, targets, batches = self._scoring_data()
        with _one_torch_thread():
            return score_architectures(
                self.supernet_, indices, inputs, targets, recalibration_batches=batches
            )

    def _predict(self, indices: np.ndarray, return_std: bool) -> tuple[np.ndarray, np.ndarray | None]:
        inputs, targets, batches = self._scoring_data()
        with _one_torch_thread():
            scores = score_architectures(
                self.supernet_, indices, inputs, targets, recalibration_batches=batches
            )
        return scores.accuracy, None

    # ----------------------------------------------------------------- artifacts
    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays = {
            name: value.detach().cpu().numpy().copy() for name, value in self.supernet_.state_dict().items()
        }
        return {"fit_seconds": float(self.fit_seconds_)}, arrays

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        protocol = self._protocol()
        supernet = Supernet.for_protocol(protocol, self.space_, track_running_stats=self._tracks(), seed=0)
        supernet.load_state_dict(
            {name: torch.from_numpy(np.array(value)) for name, value in arrays.items()}, strict=True
        )
        self.supernet_ = supernet.to(memory_format=self._layout()).eval()
        self.fit_seconds_ = float(state["fit_seconds"])


def weight_sharing_study(
    table: Any,
    *,
    epochs: Sequence[int] = (5, 20, 50),
    seeds: Sequence[int] = (0,),
    bn_modes: Sequence[str] = BN_MODES,
    eval_images: int = 256,
    batch_size: int = 64,
    max_classes: int | None = None,
    progress: Any = None,
) -> dict[str, Any]:
    """How well inherited weights rank the table's architectures, by training length and
    BatchNorm handling.

    For every ``epochs`` value and seed one supernet of the table's protocol is trained by
    uniform path sampling (with running statistics tracked, which does not change
    training); every usable class of the table is then scored in each of ``bn_modes`` and
    compared with the table's seed-mean final validation accuracy
    (:func:`nasbench.prediction.evaluation.ranking_metrics`: Kendall tau, Spearman, precision@k,
    tau within the true top 10 %). Returns a JSON-ready dict with one row per (epochs,
    seed, mode) holding the metrics, ``fit_seconds`` (CPU seconds of supernet training)
    and ``score_seconds`` (CPU seconds to score every class). ``max_classes`` scores a
    seeded random sample of the classes instead (for a quick look; the figures of record
    use them all).
    """
    from nasbench.prediction import class_targets, ranking_metrics

    modes = list(bn_modes)
    unknown = [mode for mode in modes if mode not in BN_MODES]
    if not modes or unknown:
        raise ConfigError(f"BatchNorm modes must be among {', '.join(BN_MODES)}, got {modes!r}")
    epoch_list = [int(value) for value in epochs]
    if not epoch_list or any(value < 1 for value in epoch_list):
        raise ConfigError(f"epochs must be positive integers, got {list(epochs)}")
    seed_list = [int(value) for value in seeds]
    if not seed_list or any(value < 0 for value in seed_list):
        raise ConfigError(f"seeds must be non-negative integers, got {list(seeds)}")
    protocol = dict(table.protocol)
    try:
        Protocol.from_dict(protocol)
    except (ConfigError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"{table.path}: the table's protocol cannot be trained by a supernet ({exc})"
        ) from None
    targets = class_targets(table)
    truth = targets["mean"]
    indices = targets["indices"]
    if max_classes is not None:
        check_int("weight_sharing_study", "max_classes", max_classes, low=3, high=10**9)
        if max_classes < indices.shape[0]:
            keep = np.sort(np.random.default_rng(0).choice(indices.shape[0], max_classes, replace=False))
            indices, truth = indices[keep], truth[keep]
    rows: list[dict[str, Any]] = []
    for epoch_count in epoch_list:
        for seed in seed_list:
            common = {
                "protocol": protocol,
                "epochs": epoch_count,
                "batch_size": batch_size,
                "eval_images": eval_images,
                "space": table.space,
                "seed": seed,
            }
            trained = WeightSharingSurrogate(**common, track_running_stats=True)
            trained.fit(indices[:2], truth[:2])  # y is not used
            for mode in modes:
                model = WeightSharingSurrogate.from_supernet(
                    trained.supernet_,
                    **common,
                    track_running_stats=mode != "batch",
                    bn_recalibration=mode == "recalibrated",
                )
                scores = model.score(indices)
                row: dict[str, Any] = {
                    "epochs": epoch_count,
                    "seed": seed,
                    "bn_mode": mode,
                    "fit_seconds": float(trained.fit_seconds_),
                    "score_seconds": float(scores.seconds),
                    "ms_per_arch": 1e3 * scores.seconds_per_arch,
                }
                row.update(ranking_metrics(truth, scores.accuracy, correlation_only=True))
                row["mean_score"] = float(np.mean(scores.accuracy))
                rows.append(row)
                if progress is not None:
                    progress(f"epochs={epoch_count} seed={seed} {mode}")
    return {
        "table": str(table.path),
        "table_checksum": table.checksum,
        "truth": "mean over the table's seeds of the final validation accuracy",
        "classes_scored": int(indices.shape[0]),
        "eval_images": eval_images,
        "batch_size": batch_size,
        "rows": rows,
    }

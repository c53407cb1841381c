"""The surrogate interface, its registry, architecture encodings and safe artifacts.

A surrogate predicts a number (usually final validation accuracy) for architectures
that were never trained. Surrogates follow scikit-learn's contract:

- ``__init__`` takes keyword hyperparameters with defaults (``space`` and ``seed``
  among them), stores them unchanged under the same names and validates them
  (:class:`~nasbench.core.errors.ConfigError` naming the hyperparameter);
- ``fit(archs, y)`` learns from architectures (space indices, NAS-Bench-201 strings,
  :class:`~nasbench.core.space.Architecture` values or op sequences) and targets, and
  returns ``self``; the space is the ``space`` hyperparameter unless ``fit`` is given
  ``space=``; every learned attribute ends in ``_``;
- ``predict(archs)`` returns float64 [n] means and, with ``return_std=True``, a pair
  (mean, std). A surrogate that has no notion of uncertainty (``has_std`` is False)
  raises :class:`~nasbench.core.errors.ConfigError` when asked for a std, rather than
  returning a made-up one; wrap it in the ``ensemble`` surrogate to get a spread.
  Predicting before fitting raises :class:`NotFittedError`.
- Every random choice comes from a :class:`numpy.random.Generator` made from ``seed``
  (torch models also seed a local generator); the same seed and data give the same
  predictions, bit for bit.

Learning-curve surrogates (``kind = "learning-curve"``) also take ``curves=`` in ``fit``
and ``predict``: the first epochs of each architecture's learning curve.

Surrogates are found by name. Built-ins and third-party packages register through the
entry-point group ``nasbench.surrogates``::

    [project.entry-points."nasbench.surrogates"]
    my-model = "my_package.module:MyModel"

and code that is not packaged uses the decorator ``@register_surrogate("my-model")``.

Artifacts (:meth:`Surrogate.save`, :func:`load_surrogate`) never use pickle: a file is
one line of JSON (format, version, surrogate name, hyperparameters, space, learned
scalars, payload size, SHA-256) followed by an ``.npz`` archive of plain numeric arrays,
read with ``allow_pickle=False`` (an XGBoost booster travels as its own JSON model,
stored as bytes in the archive). The checksum covers the payload and the rest of the
header, so a tampered or truncated file fails with one :class:`ArtifactError`.
"""

from __future__ import annotations

import abc
import contextlib
import hashlib
import io
import json
import os
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np

from nasbench.core.errors import ArchitectureError, ConfigError, NasbenchError
from nasbench.core.registry import Registry, installed_entry_points, signature_defaults
from nasbench.core.space import SPACE_PRESETS, Architecture, CellSpace
from nasbench.search.strategy import check_choice, check_float, check_int

__all__ = [
    "ARTIFACT_FORMAT",
    "ARTIFACT_VERSION",
    "ENCODINGS",
    "ENTRY_POINT_GROUP",
    "SURROGATE_KINDS",
    "ArtifactError",
    "NotFittedError",
    "Surrogate",
    "SurrogateInfo",
    "as_indices",
    "check_bool",
    "check_choice",
    "check_float",
    "check_int",
    "create_surrogate",
    "encode_archs",
    "encode_graphs",
    "get_surrogate_class",
    "list_surrogates",
    "load_surrogate",
    "one_blas_thread",
    "plugin_errors",
    "register_surrogate",
    "surrogate_info",
    "surrogate_registry",
]

ENTRY_POINT_GROUP = "nasbench.surrogates"

#: architecture: predicts from the architecture alone; learning-curve: also reads the
#: first epochs of each architecture's learning curve; zero-cost: scores an architecture
#: from its network at initialisation, without training data of the table.
SURROGATE_KINDS = ("architecture", "learning-curve", "zero-cost")

#: Vector encodings of a cell: one-hot op per edge; the op-on-node graph flattened
#: (upper triangle of the adjacency plus the op of every edge vertex); BANANAS paths.
ENCODINGS = ("onehot", "adjacency", "path")

ARTIFACT_FORMAT = "nasbench-surrogate"
ARTIFACT_VERSION = 1


class NotFittedError(NasbenchError, ValueError):
    """A surrogate was asked to predict (or save) before it was fitted."""


class ArtifactError(NasbenchError):
    """A surrogate artifact is missing, truncated, tampered with or of an unknown format."""


# --------------------------------------------------------------------- validation helpers
def check_bool(owner: str, name: str, value: Any) -> bool:
    """Validate a boolean hyperparameter (``True``/``False`` only, not 0/1)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ConfigError(f"{owner}: {name} must be True or False, got {value!r}")
    return bool(value)


def _check_space(owner: str, value: Any) -> CellSpace:
    if isinstance(value, CellSpace):
        return value
    if isinstance(value, str) and value in SPACE_PRESETS:
        return SPACE_PRESETS[value]
    raise ConfigError(
        f"{owner}: space must be a CellSpace or a preset name ({', '.join(SPACE_PRESETS)}), got {value!r}"
    )


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run numpy's BLAS/LAPACK in one thread inside the block (restored after).

    Surrogates factorise and multiply many small matrices, which gain nothing from
    more threads; a multi-threaded BLAS can also spin for seconds on a busy machine
    (measured here: a 300-point GP fit took 23 s of CPU with 2 OpenBLAS threads under
    load, 0.1 s with one), and results then do not depend on the core count.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


# --------------------------------------------------------------------- architectures and encodings
def as_indices(space: CellSpace, archs: Any) -> np.ndarray:
    """int64 [n] space indices of a sequence of architectures in any form
    :meth:`CellSpace.arch` accepts (an integer array is checked without a Python loop)."""
    if isinstance(archs, (str, Architecture)):
        raise ArchitectureError("give a sequence of architectures, not a single one")
    if isinstance(archs, np.ndarray) and archs.dtype.kind in "iu":
        if archs.ndim != 1:
            raise ArchitectureError(f"architecture indices must be 1-D, got shape {archs.shape}")
        indices = archs.astype(np.int64)
        if indices.size and (indices.min() < 0 or indices.max() >= space.size):
            raise ArchitectureError(f"architecture index out of range [0, {space.size - 1}]")
        return indices
    if not isinstance(archs, (Sequence, np.ndarray)):
        raise ArchitectureError(
            "architectures must be a sequence (indices, strings or Architectures), "
            f"got {type(archs).__name__}"
        )
    return np.fromiter((space.index(a) for a in archs), dtype=np.int64, count=len(archs))


def _onehot(space: CellSpace, ops: np.ndarray) -> np.ndarray:
    n, edges = ops.shape
    out = np.zeros((n, edges, space.num_ops), dtype=np.float32)
    out[np.arange(n)[:, None], np.arange(edges)[None, :], ops] = 1.0
    return out.reshape(n, edges * space.num_ops)


def _path(space: CellSpace, ops: np.ndarray) -> np.ndarray:
    letters = np.full(space.num_ops, -1, dtype=np.int64)
    alphabet = [k for k, op in enumerate(space.ops) if op != space.zero_op]
    letters[alphabet] = np.arange(len(alphabet))
    base = len(alphabet)
    offsets = [0]
    for length in range(1, space.num_nodes):
        offsets.append(offsets[-1] + base**length)
    out = np.zeros((ops.shape[0], space.path_encoding_size), dtype=np.float32)
    rows = np.arange(ops.shape[0])
    for path in space._paths:
        letter = letters[ops[:, list(path)]]
        valid = np.all(letter >= 0, axis=1)
        code = np.zeros(ops.shape[0], dtype=np.int64)
        for position in range(len(path)):
            code = code * base + np.maximum(letter[:, position], 0)
        out[rows[valid], offsets[len(path) - 1] + code[valid]] = 1.0
    return out


def _graph_template(space: CellSpace) -> np.ndarray:
    """uint8 [V, V]: the op-on-node adjacency of a cell whose every op is live."""
    edges = space.edges
    num_vertices = space.num_edges + 2
    last = space.num_nodes - 1
    template = np.zeros((num_vertices, num_vertices), dtype=np.uint8)
    for k, (i, j) in enumerate(edges):
        if i == 0:
            template[0, k + 1] = 1
        for m, (_, j2) in enumerate(edges):
            if j2 == i:
                template[m + 1, k + 1] = 1
        if j == last:
            template[k + 1, num_vertices - 1] = 1
    return template


def encode_graphs(space: CellSpace, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :meth:`CellSpace.encode_adjacency` for many architectures: uint8
    adjacency [n, V, V] (row feeds column) and float32 vertex labels [n, V, num_ops + 2]."""
    ops = space.ops_array(np.asarray(indices, dtype=np.int64)).astype(np.int64)
    n, edges = ops.shape
    num_vertices = edges + 2
    live = np.ones((n, num_vertices), dtype=np.uint8)
    if space.zero_op is not None:
        live[:, 1:-1] = ops != space.ops.index(space.zero_op)
    adjacency = _graph_template(space)[None, :, :] * live[:, :, None] * live[:, None, :]
    labels = np.zeros((n, num_vertices, space.num_ops + 2), dtype=np.float32)
    labels[np.arange(n)[:, None], np.arange(1, edges + 1)[None, :], ops] = 1.0
    labels[:, 0, space.num_ops] = 1.0
    labels[:, -1, space.num_ops + 1] = 1.0
    return adjacency.astype(np.uint8), labels


def encode_archs(space: CellSpace, indices: np.ndarray, encoding: str) -> np.ndarray:
    """float32 [n, d]: a vector encoding (one of :data:`ENCODINGS`) of space indices.

    ``onehot`` and ``path`` equal :meth:`CellSpace.encode_onehot` and
    :meth:`CellSpace.encode_path`; ``adjacency`` flattens the op-on-node graph of
    :meth:`CellSpace.encode_adjacency` (strict upper triangle, since vertices are in
    topological order, then the op one-hot of every edge vertex). Vectorised, so the
    whole NAS-Bench-201 space encodes in milliseconds.
    """
    indices = np.asarray(indices, dtype=np.int64)
    if encoding == "onehot":
        return _onehot(space, space.ops_array(indices).astype(np.int64))
    if encoding == "path":
        return _path(space, space.ops_array(indices).astype(np.int64))
    if encoding == "adjacency":
        adjacency, labels = encode_graphs(space, indices)
        upper = np.triu_indices(adjacency.shape[1], k=1)
        return np.concatenate(
            [
                adjacency[:, upper[0], upper[1]].astype(np.float32),
                labels[:, 1:-1, : space.num_ops].reshape(len(indices), -1),
            ],
            axis=1,
        )
    raise ConfigError(f"unknown encoding {encoding!r} (known: {', '.join(ENCODINGS)})")


# --------------------------------------------------------------------- the base class
class Surrogate(abc.ABC):
    """Base class of performance predictors (see the module docstring for the contract).

    Subclasses set ``kind`` (one of :data:`SURROGATE_KINDS`) and ``has_std``, define
    ``__init__`` (keyword hyperparameters, stored unchanged and validated, ``space`` and
    ``seed`` passed to ``super().__init__``) and implement:

    - ``_fit(indices, y)``: learn from int64 space indices and float64 targets, using
      ``self.space_``; set learned attributes ending in ``_``;
    - ``_predict(indices, return_std)`` -> (mean [n], std [n] or None);
    - ``_get_state()`` -> (JSON-ready dict, dict of numeric arrays) and
      ``_set_state(state, arrays)``, the inverse, for artifacts.
    """

    kind: ClassVar[str] = "architecture"
    name: ClassVar[str] = ""
    has_std: ClassVar[bool] = False
    #: False for estimators that score architectures without learning from ``y`` (a
    #: weight-sharing supernet trained on images): conformance then skips the check that
    #: they rank a synthetic table's made-up targets.
    learns_from_targets: ClassVar[bool] = True
    #: Ranges :func:`nasbench.prediction.evaluation.tune_surrogate` samples hyperparameters from:
    #: name -> ``("int", low, high)``, ``("float", low, high)``, ``("log", low, high)``
    #: (log-uniform) or ``("choice", value, ...)``. Empty: the surrogate is not tunable.
    tuning_space: ClassVar[dict[str, tuple[Any, ...]]] = {}

    def __init__(self, *, space: CellSpace | str = "nb201", seed: int = 0) -> None:
        self.space = space
        self.seed = seed
        _check_space(self._label, space)
        check_int(self._label, "seed", seed, low=0)

    @property
    def _label(self) -> str:
        return type(self).name or type(self).__name__

    # ----------------------------------------------------------------- scikit-learn protocol
    def fit(self, archs: Any, y: Any, *, space: CellSpace | str | None = None) -> Surrogate:
        """Learn from architectures and their targets; returns ``self``."""
        indices, targets = self._prepare_fit(archs, y, space)
        self._run_fit(self._fit, indices, targets)
        return self

    def _run_fit(self, fit: Callable[..., None], *args: Any, **kwargs: Any) -> None:
        """Call ``fit``; if it fails, leave the surrogate unfitted rather than half-fitted."""
        try:
            fit(*args, **kwargs)
        except BaseException:
            for attribute in [a for a in vars(self) if a.endswith("_") and not a.startswith("__")]:
                delattr(self, attribute)
            raise

    def predict(self, archs: Any, return_std: bool = False) -> Any:
        """float64 [n] predicted means, or (mean, std) with ``return_std=True``."""
        indices = self._prepare_predict(archs, return_std)
        if indices.size == 0:
            mean, std = np.zeros(0), np.zeros(0)
        else:
            mean, std = self._predict(indices, return_std)
        return (mean, std) if return_std else mean

    @abc.abstractmethod
    def _fit(self, indices: np.ndarray, y: np.ndarray) -> None:
        """Learn from space indices and targets; set the fitted ``*_`` attributes."""

    @abc.abstractmethod
    def _predict(self, indices: np.ndarray, return_std: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """Mean (and std when asked and the model has one) for space indices."""

    def _prepare_fit(
        self, archs: Any, y: Any, space: CellSpace | str | None
    ) -> tuple[np.ndarray, np.ndarray]:
        resolved = _check_space(self._label, self.space if space is None else space)
        indices = as_indices(resolved, archs)
        targets = np.asarray(y, dtype=np.float64)
        if targets.shape != indices.shape:
            raise ConfigError(
                f"{self._label}: y has shape {targets.shape}, expected one value per architecture "
                f"({indices.shape[0]})"
            )
        if indices.shape[0] < 2:
            raise ConfigError(f"{self._label}: fit needs at least 2 architectures, got {indices.shape[0]}")
        if not np.all(np.isfinite(targets)):
            raise ConfigError(f"{self._label}: y must be finite (drop unmeasured architectures first)")
        for attribute in [a for a in vars(self) if a.endswith("_") and not a.startswith("__")]:
            delattr(self, attribute)  # a refit starts from nothing
        self.space_ = resolved
        return indices, targets

    def _prepare_predict(self, archs: Any, return_std: bool) -> np.ndarray:
        self._check_fitted()
        if return_std and not self.has_std:
            raise ConfigError(
                f"{self._label} gives no standard deviation (has_std is False); "
                "wrap it in the 'ensemble' surrogate for a member spread"
            )
        return as_indices(self.space_, archs)

    @property
    def is_fitted(self) -> bool:
        """Whether :meth:`fit` (or :func:`load_surrogate`) has set the learned state."""
        return hasattr(self, "space_")

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"{self._label} is not fitted yet: call fit(archs, y) before predict")

    # ----------------------------------------------------------------- parameters
    @classmethod
    def hyperparameters(cls) -> dict[str, Any]:
        """Hyperparameter names and defaults, from ``__init__``'s signature (``space`` and
        ``seed`` included)."""
        return signature_defaults(cls)

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        """Current hyperparameters (scikit-learn style)."""
        return {name: getattr(self, name) for name in self.hyperparameters()}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    # ----------------------------------------------------------------- artifacts
    @abc.abstractmethod
    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Learned state for an artifact: JSON-ready scalars and numeric arrays."""

    @abc.abstractmethod
    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`_get_state` returned."""

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write a fitted surrogate to ``path`` (see the module docstring for the format).

        The bytes depend only on the model, so the same fit saves to the same file.
        """
        self._check_fitted()
        if not type(self).name:
            raise ConfigError(
                f"{type(self).__name__} is not registered: only registered surrogates can be saved"
            )
        state, arrays = self._get_state()
        payload = _npz_bytes(arrays)
        header: dict[str, Any] = {
            "format": ARTIFACT_FORMAT,
            "version": ARTIFACT_VERSION,
            "surrogate": type(self).name,
            "hyperparameters": {k: _param_to_json(v) for k, v in self.get_params().items()},
            "space": self.space_.to_dict(),
            "state": state,
            "payload": {"type": "npz", "bytes": len(payload)},
        }
        header["sha256"] = _digest(header, payload)
        target = Path(path)
        target.write_bytes(_canonical_json(header) + b"\n" + payload)
        return target


def _canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False).encode("utf-8")


def _digest(header: dict[str, Any], payload: bytes) -> str:
    body = {k: v for k, v in header.items() if k != "sha256"}
    return hashlib.sha256(_canonical_json(body) + b"\n" + payload).hexdigest()


def _param_to_json(value: Any) -> Any:
    if isinstance(value, CellSpace):
        return {"cell_space": value.to_dict()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _param_from_json(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"cell_space"}:
        return CellSpace.from_dict(value["cell_space"])
    return value


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An .npz archive with fixed timestamps (reproducible bytes), numeric arrays only."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key in sorted(arrays):
            array = np.ascontiguousarray(arrays[key])
            if array.dtype.hasobject or array.dtype.kind not in "biufc":
                raise ConfigError(
                    f"artifact array {key!r} has dtype {array.dtype}; only numeric arrays are saved"
                )
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, array, allow_pickle=False)
    return buffer.getvalue()


def load_surrogate(path: str | os.PathLike[str]) -> Surrogate:
    """Read a surrogate written by :meth:`Surrogate.save`; it predicts exactly as the saved one.

    Raises :class:`ArtifactError` for a missing, truncated, tampered or foreign file.
    """
    where = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ArtifactError(f"{where}: cannot read surrogate artifact ({exc.strerror or exc})") from None
    end = raw.find(b"\n")
    try:
        header = json.loads(raw[:end].decode("utf-8")) if end >= 0 else None
    except (UnicodeDecodeError, ValueError):
        header = None
    if not isinstance(header, dict) or header.get("format") != ARTIFACT_FORMAT:
        raise ArtifactError(f"{where}: not a nasbench surrogate artifact (no valid header line)")
    if header.get("version") != ARTIFACT_VERSION:
        raise ArtifactError(
            f"{where}: artifact version {header.get('version')!r}, "
            f"this package reads version {ARTIFACT_VERSION}"
        )
    payload = raw[end + 1 :]
    expected = header.get("payload", {}).get("bytes") if isinstance(header.get("payload"), dict) else None
    if expected != len(payload):
        raise ArtifactError(
            f"{where}: truncated or damaged artifact "
            f"(payload has {len(payload)} bytes, header says {expected})"
        )
    try:
        digest = _digest(header, payload)
    except (TypeError, ValueError):
        digest = None
    if digest is None or digest != header.get("sha256"):
        raise ArtifactError(f"{where}: checksum mismatch: the artifact was modified or damaged")
    try:
        cls = get_surrogate_class(str(header["surrogate"]))
        params = {k: _param_from_json(v) for k, v in header["hyperparameters"].items()}
        model = cls(**params)
        space = CellSpace.from_dict(header["space"])
        with np.load(io.BytesIO(payload), allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
        model.space_ = space
        model._set_state(header["state"], arrays)
    except ArtifactError:
        raise
    except Exception as exc:  # a consistent checksum but unusable content
        raise ArtifactError(f"{where}: cannot rebuild the surrogate ({type(exc).__name__}: {exc})") from None
    return model


# --------------------------------------------------------------------- registry
S = TypeVar("S", bound=type[Surrogate])

_REGISTERED: dict[str, type[Surrogate]] = {}
_PLUGIN_ERRORS: dict[str, str] = {}


def _entry_points() -> dict[str, metadata.EntryPoint]:
    return installed_entry_points(ENTRY_POINT_GROUP)


#: The surrogate registry. Its state stays in the module attributes above, read at every
#: call (tests swap them).
surrogate_registry: Registry[Surrogate] = Registry(
    "surrogate",
    ENTRY_POINT_GROUP,
    (Surrogate,),
    SURROGATE_KINDS,
    classes=lambda: _REGISTERED,
    errors=lambda: _PLUGIN_ERRORS,
    entry_points=lambda: _entry_points(),
)


@dataclass(frozen=True)
class SurrogateInfo:
    """What a listing prints about one surrogate."""

    name: str
    kind: str
    has_std: bool
    hyperparameters: dict[str, Any]
    summary: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "kind": self.kind,
            "has_std": self.has_std,
            "hyperparameters": {k: _param_to_json(v) for k, v in self.hyperparameters.items()},
            "summary": self.summary,
            "source": self.source,
        }


def register_surrogate(name: str) -> Callable[[S], S]:
    """Class decorator: make a :class:`Surrogate` subclass available under ``name``."""
    return surrogate_registry.register(name)


def list_surrogates(pattern: str = "*", *, kind: str | None = None) -> list[str]:
    """Registered surrogate names matching a shell-style ``pattern`` (and ``kind``), sorted.

    Plugins that fail to import are left out; :func:`plugin_errors` says why.
    """
    return surrogate_registry.names(pattern, kind=kind)


def plugin_errors() -> dict[str, str]:
    """Surrogate plugins that failed to import so far, with the error."""
    return surrogate_registry.plugin_errors()


def get_surrogate_class(name: str) -> type[Surrogate]:
    """The class registered under ``name`` (importing its plugin on first use)."""
    return surrogate_registry.get(name)


def create_surrogate(name: str, **hyperparameters: Any) -> Surrogate:
    """An unfitted instance of surrogate ``name`` with ``hyperparameters``."""
    return surrogate_registry.create(name, **hyperparameters)


def surrogate_info(name: str) -> SurrogateInfo:
    """Kind, uncertainty, default hyperparameters, one-line summary and origin of a surrogate."""
    cls = get_surrogate_class(name)
    return SurrogateInfo(
        name,
        cls.kind,
        cls.has_std,
        cls.hyperparameters(),
        surrogate_registry.summary(name),
        surrogate_registry.source(name),
    )

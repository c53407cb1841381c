"""The surrogate interface: the :class:`Surrogate` base class and its contract.

A surrogate predicts a number (usually final validation accuracy) for architectures
that were never trained. Surrogates follow scikit-learn's contract:

- ``__init__`` takes keyword hyperparameters with defaults (``space`` and ``seed``
  among them), stores them unchanged under the same names and validates them
  (:class:`~nasbench.core.errors.ConfigError` naming the hyperparameter, through
  :mod:`nasbench.core.validation`); ``get_params`` / ``set_params`` / ``clone`` come from
  :class:`~nasbench.core.params.ParamsMixin`, and ``set_params`` drops the fitted state;
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

Finding surrogates by name is :mod:`nasbench.prediction.registry`'s job; writing and
reading them is :mod:`nasbench.prediction.artifacts`'.
"""

from __future__ import annotations

import abc
import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from nasbench.core.encodings import as_indices
from nasbench.core.errors import ConfigError, NasbenchError
from nasbench.core.params import ParamsMixin
from nasbench.core.space import SPACE_PRESETS, CellSpace
from nasbench.core.validation import Constraint, check_int, validate

__all__ = [
    "SPACE",
    "SURROGATE_KINDS",
    "NotFittedError",
    "SpaceLike",
    "Surrogate",
    "one_blas_thread",
    "param_from_json",
    "param_to_json",
]

#: architecture: predicts from the architecture alone; learning-curve: also reads the
#: first epochs of each architecture's learning curve; zero-cost: scores an architecture
#: from its network at initialisation, without training data of the table.
SURROGATE_KINDS = ("architecture", "learning-curve", "zero-cost")


class NotFittedError(NasbenchError, ValueError):
    """A surrogate was asked to predict (or save) before it was fitted."""


@dataclass(frozen=True)
class SpaceLike(Constraint):
    """A :class:`~nasbench.core.space.CellSpace` or the name of a preset; normalised to the space."""

    def accept(self, value: Any) -> tuple[bool, Any]:
        if isinstance(value, CellSpace):
            return True, value
        if isinstance(value, str) and value in SPACE_PRESETS:
            return True, SPACE_PRESETS[value]
        return False, value

    def describe(self, value: Any) -> str:
        return f"a CellSpace or a preset name ({', '.join(SPACE_PRESETS)})"


#: The constraint of every surrogate's ``space`` hyperparameter.
SPACE = SpaceLike()


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


def param_to_json(value: Any) -> Any:
    """The JSON form of a hyperparameter value (a space as ``{"cell_space": ...}``)."""
    if isinstance(value, CellSpace):
        return {"cell_space": value.to_dict()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def param_from_json(value: Any) -> Any:
    """Inverse of :func:`param_to_json`."""
    if isinstance(value, dict) and set(value) == {"cell_space"}:
        return CellSpace.from_dict(value["cell_space"])
    return value


class Surrogate(ParamsMixin, abc.ABC):
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
        validate(self, "space", space, SPACE)
        check_int(self, "seed", seed, low=0)

    @property
    def _label(self) -> str:
        return type(self).name or type(self).__name__

    # ----------------------------------------------------------------- scikit-learn protocol
    def fit(self, archs: Any, y: Any, *, space: CellSpace | str | None = None) -> Surrogate:
        """Learn from architectures and their targets; returns ``self``."""
        indices, targets = self._prepare_fit(archs, y, space)
        self._run_fit(self._fit, indices, targets)
        return self

    def _forget(self) -> None:
        """Drop every learned attribute (those ending in ``_``)."""
        for attribute in [a for a in vars(self) if a.endswith("_") and not a.startswith("__")]:
            delattr(self, attribute)

    def _run_fit(self, fit: Callable[..., None], *args: Any, **kwargs: Any) -> None:
        """Call ``fit``; if it fails, leave the surrogate unfitted rather than half-fitted."""
        try:
            fit(*args, **kwargs)
        except BaseException:
            self._forget()
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
        resolved = validate(self, "space", self.space if space is None else space, SPACE)
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
        self._forget()  # a refit starts from nothing
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
        """Whether :meth:`fit` (or :func:`~nasbench.prediction.artifacts.load_surrogate`) has
        set the learned state."""
        return hasattr(self, "space_")

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"{self._label} is not fitted yet: call fit(archs, y) before predict")

    # ----------------------------------------------------------------- artifacts
    @abc.abstractmethod
    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Learned state for an artifact: JSON-ready scalars and numeric arrays."""

    @abc.abstractmethod
    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`_get_state` returned."""

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write a fitted surrogate to ``path`` (format: :mod:`nasbench.prediction.artifacts`).

        The bytes depend only on the model, so the same fit saves to the same file.
        """
        from nasbench.prediction.artifacts import save_surrogate

        return save_surrogate(self, path)

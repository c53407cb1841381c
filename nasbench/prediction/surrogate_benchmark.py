"""Benchmarks backed by a surrogate: every strategy on spaces too large to tabulate.

A :class:`SurrogateModel` is fitted on a table that holds a (seeded random) sample of a
space's classes: one surrogate per epoch for the validation accuracy, one for the final
test accuracy and one for the run seconds of a class (training of every epoch plus the
final evaluation, :func:`nasbench.core.cost.full_run_seconds`: what the tabular benchmark
charges for a full run). Before the final fit on every measured class, a seeded hold-out
split states its quality (:attr:`SurrogateModel.quality`), so nobody runs strategies on a
surrogate without knowing how well it ranks.

A :class:`SurrogateBenchmark` answers ``evaluate`` from the model under the rules of
:class:`~nasbench.bench.benchmark.Benchmark` (simulated clock, continuation pays only the new
epochs, test accuracy hidden). The clock splits a class's predicted run seconds as the
table it was fitted on does on average: ``eval_fraction`` of them is the evaluation (paid
once per ``evaluate``), the rest training, spread evenly over the epochs; so a full run
from scratch costs exactly the predicted run seconds, as on a table.

Noise is explicit, as NAS-Bench-301 made it: with ``noise=True`` each class gets, per run
seed, one standard-normal draw ``z`` and reads ``mean + z * std`` at every epoch (the
surrogates' spread, so a curve stays a curve); with ``noise=False`` it reads the mean.
Test accuracy (for regret) is always the noise-free mean of the final epoch (scoring mode
``surrogate-mean``: there are no training seeds to hold out).
Losses are not modelled (NaN in :class:`~nasbench.bench.benchmark.Result`).

Saved models are a directory: ``model.json`` (space, epochs, provenance, quality,
checksum) and one pickle-free surrogate artifact per target.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.bench.benchmark import Benchmark, BenchmarkArrays, Budget, Constraint
from nasbench.bench.scoring import surrogate_scoring
from nasbench.core.cost import full_run_seconds
from nasbench.core.errors import ConfigError, TableError
from nasbench.core.space import MAX_ENUMERABLE_SIZE, CellSpace
from nasbench.core.table import STATUS_DONE, Table
from nasbench.core.validation import Boolean, Optional, check_int, validate
from nasbench.nets.models import MacroConfig, cost_arrays
from nasbench.prediction.artifacts import ArtifactError, load_surrogate
from nasbench.prediction.evaluation import ranking_metrics
from nasbench.prediction.registry import create_surrogate, get_surrogate_class

__all__ = [
    "MODEL_FORMAT",
    "SurrogateBenchmark",
    "SurrogateModel",
    "fit_surrogate_model",
    "load_surrogate_model",
]

MODEL_FORMAT = "nasbench-surrogate-benchmark"
#: 2: ``run_seconds`` is training plus the final evaluation and ``eval_fraction`` the share
#: of one evaluation in it (version 1 predicted training plus an evaluation after every epoch).
_MODEL_VERSION = 2
_MANIFEST = "model.json"


def _usable(table: Table) -> tuple[np.ndarray, np.ndarray]:
    """Representative indices of classes with every seed finished, and their rows."""
    values = table.raw("val_acc")
    done = np.all(table.run_status == STATUS_DONE, axis=1) & np.all(np.isfinite(values), axis=(1, 2))
    rows = np.nonzero(done)[0]
    return table.unique[rows].astype(np.int64), rows


def _targets(table: Table, rows: np.ndarray) -> dict[str, np.ndarray]:
    val = table.raw("val_acc")[rows].astype(np.float64).mean(axis=1)  # [n, E]
    out = {f"val_acc_{e}": val[:, e] for e in range(val.shape[1])}
    out["test_acc"] = table.raw("test_acc")[rows, :, -1].astype(np.float64).mean(axis=1)
    out["run_seconds"] = full_run_seconds(table)[rows].mean(axis=1)
    return out


def _eval_fraction(table: Table, rows: np.ndarray) -> float:
    """The share of the final evaluation in the run seconds of the measured runs."""
    run = full_run_seconds(table)[rows]
    if "eval_seconds" not in table.epoch_metrics:
        return 0.0
    final_eval = np.nan_to_num(table.raw("eval_seconds")[rows, :, -1].astype(np.float64), nan=0.0)
    return float(np.sum(final_eval) / max(float(np.sum(run)), 1e-12))


class SurrogateModel:
    """Fitted surrogates of one table's targets, with their hold-out quality.

    Build with :func:`fit_surrogate_model`, reload with :func:`load_surrogate_model`.
    ``surrogates`` maps target names (``val_acc_<epoch>``, ``test_acc``,
    ``run_seconds``) to fitted surrogates.
    """

    def __init__(
        self,
        space: CellSpace,
        num_epochs: int,
        surrogates: Mapping[str, Any],
        *,
        model: Mapping[str, Any],
        source: Mapping[str, Any],
        quality: Mapping[str, Any],
        macro: Mapping[str, Any] | None,
        eval_fraction: float,
        checksum: str | None = None,
    ) -> None:
        if space.size > MAX_ENUMERABLE_SIZE:  # every class is predicted once per model (cached)
            raise ConfigError(
                f"a surrogate benchmark predicts every class; {space.size} architectures is too many"
            )
        self.space = space
        self.num_epochs = int(num_epochs)
        self.surrogates = dict(surrogates)
        self.model = dict(model)
        self.source = dict(source)
        self.quality = dict(quality)
        self.macro = None if macro is None else dict(macro)
        self.eval_fraction = float(eval_fraction)
        self.checksum = checksum
        self.path: Path | None = None
        self._predictions: dict[str, tuple[np.ndarray, np.ndarray | None]] | None = None
        self._classes: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def dataset(self) -> dict[str, Any]:
        """The dataset record of the table the model was fitted on."""
        return dict(self.source.get("dataset") or {})

    @property
    def protocol(self) -> dict[str, Any]:
        """The training protocol of the table the model was fitted on."""
        return dict(self.source.get("protocol") or {})

    @property
    def has_std(self) -> bool:
        """Whether the validation surrogates give a spread (needed for ``noise=True``)."""
        return all(self.surrogates[f"val_acc_{e}"].has_std for e in range(self.num_epochs))

    def classes(self) -> tuple[np.ndarray, np.ndarray]:
        """(representative index of every class, class row of every index) of the space."""
        if self._classes is None:
            canonical = self.space.canonical_indices()
            unique, row = np.unique(canonical, return_inverse=True)
            self._classes = (unique.astype(np.int64), row.astype(np.int64))
        return self._classes

    def predictions(self) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
        """target -> (mean, std or None) for every class, computed once."""
        if self._predictions is None:
            unique, _ = self.classes()
            out = {}
            for name, surrogate in self.surrogates.items():
                wants_std = name.startswith("val_acc_") and surrogate.has_std
                result = surrogate.predict(unique, return_std=wants_std)
                out[name] = result if wants_std else (result, None)
            self._predictions = out
        return self._predictions

    def arrays(self, seed: int, noise: bool) -> BenchmarkArrays:
        """One run's view: validation curves (with this seed's noise when asked), times, costs."""
        if noise and not self.has_std:
            raise ConfigError(
                f"noise needs validation surrogates with a spread; {self.model['name']!r} has none "
                "(fit the model with an ensemble or another surrogate that has a std)"
            )
        predictions = self.predictions()
        unique, class_row = self.classes()
        num = unique.shape[0]
        val = np.stack([predictions[f"val_acc_{e}"][0] for e in range(self.num_epochs)], axis=1)
        if noise:
            std = np.stack([predictions[f"val_acc_{e}"][1] for e in range(self.num_epochs)], axis=1)
            z = np.random.default_rng(np.random.SeedSequence([seed, 301])).standard_normal(num)
            val = val + z[:, None] * std
        val = np.clip(val, 0.0, 100.0)
        run_seconds = np.maximum(predictions["run_seconds"][0], 0.0)
        per_epoch = run_seconds * (1.0 - self.eval_fraction) / self.num_epochs
        eval_seconds = run_seconds * self.eval_fraction
        nan = np.full((num, self.num_epochs), np.nan)
        properties: dict[str, np.ndarray] = {}
        if self.macro is not None:
            params, flops = cost_arrays(self.space, MacroConfig.from_dict(self.macro))
            properties = {"params_m": params / 1e6, "flops_m": flops / 1e6}
        return BenchmarkArrays(
            val_acc=val,
            val_loss=nan,
            train_acc=nan.copy(),
            train_loss=nan.copy(),
            train_seconds=np.repeat(per_epoch[:, None], self.num_epochs, axis=1),
            eval_seconds=np.repeat(eval_seconds[:, None], self.num_epochs, axis=1),
            failed=np.zeros(num, dtype=bool),
            class_row=class_row,
            test_acc=np.asarray(predictions["test_acc"][0], dtype=np.float64)[class_row],
            properties=properties,
            scoring=surrogate_scoring(),
        )

    # ----------------------------------------------------------------- storage
    def _manifest(self) -> dict[str, Any]:
        return {
            "format": MODEL_FORMAT,
            "version": _MODEL_VERSION,
            "space": self.space.to_dict(),
            "num_epochs": self.num_epochs,
            "targets": sorted(self.surrogates),
            "model": self.model,
            "source": self.source,
            "quality": self.quality,
            "macro": self.macro,
            "eval_fraction": self.eval_fraction,
        }

    def save(self, directory: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write the model to ``directory`` (``model.json`` plus one artifact per target),
        atomically: a failure (a full disk, say) leaves no partial directory and an earlier
        model as it was. An existing directory is replaced only with ``overwrite`` and only
        if it holds nothing but a saved model's files."""
        from nasbench.prediction.artifacts import artifact_bytes, write_artifact_directory

        files: dict[str, bytes] = {}
        digest = hashlib.sha256()
        for name in sorted(self.surrogates):
            data = artifact_bytes(self.surrogates[name])
            files[f"{name}.surrogate"] = data
            digest.update(name.encode() + b"\0" + data)
        manifest = self._manifest()
        digest.update(json.dumps(manifest, sort_keys=True).encode())
        manifest["checksum"] = "sha256:" + digest.hexdigest()
        files[_MANIFEST] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
        folder = write_artifact_directory(
            files, directory, overwrite=overwrite, manifest_name=_MANIFEST, manifest_format=MODEL_FORMAT
        )
        self.checksum = manifest["checksum"]
        self.path = folder
        return folder


def _split_quality(
    indices: np.ndarray,
    targets: Mapping[str, np.ndarray],
    create: Any,
    holdout_fraction: float,
    seed: int,
    space: CellSpace,
) -> dict[str, Any]:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 17]))
    order = rng.permutation(indices.shape[0])
    held = max(3, round(holdout_fraction * indices.shape[0]))
    test, train = order[:held], order[held:]
    quality: dict[str, Any] = {"holdout_classes": int(held), "train_classes": int(train.shape[0])}
    final = max(k for k in targets if k.startswith("val_acc_"))
    for name, key in (("val_acc_final", final), ("test_acc", "test_acc"), ("run_seconds", "run_seconds")):
        surrogate = create(key)
        surrogate.fit(indices[train], targets[key][train], space=space)
        metrics = ranking_metrics(targets[key][test], surrogate.predict(indices[test]))
        quality[name] = {
            k: (metrics[k] if np.isfinite(metrics[k]) else None)  # JSON has no NaN
            for k in ("kendall_tau", "spearman", "r2", "mae", "precision_at_10")
        }
    return quality


def fit_surrogate_model(
    table: Table,
    model: str = "ensemble",
    *,
    hyperparameters: Mapping[str, Any] | None = None,
    holdout_fraction: float = 0.2,
    seed: int = 0,
) -> SurrogateModel:
    """Fit a :class:`SurrogateModel` on every measured class of ``table``.

    ``model`` names a registered architecture surrogate (default ``ensemble``: bagged
    XGBoost with a member spread, so noise can be switched on). First a seeded
    ``holdout_fraction`` of the classes is held out to measure quality (Kendall tau,
    Spearman, R², MAE, precision@10 of final val accuracy, test accuracy and run
    seconds); then every target is refitted on all measured classes.
    """
    check_int("fit_surrogate_model", "seed", seed, low=0)
    if not 0.0 < holdout_fraction < 1.0:
        raise ConfigError(f"holdout_fraction must be in (0, 1), got {holdout_fraction!r}")
    cls = get_surrogate_class(model)
    if cls.kind != "architecture":
        raise ConfigError(f"a surrogate benchmark needs an architecture surrogate; {model!r} is {cls.kind!r}")
    for name in ("val_acc", "test_acc", "train_seconds"):
        if name not in table.epoch_metrics:
            raise TableError(f"{table.path}: a surrogate benchmark needs the epoch metric {name!r}")
    indices, rows = _usable(table)
    if indices.shape[0] < 20:
        raise ConfigError(f"{table.path}: only {indices.shape[0]} classes are measured; fit on at least 20")
    targets = _targets(table, rows)
    params = dict(hyperparameters or {})
    known = cls.hyperparameters()

    def create(name: str) -> Any:
        chosen = dict(params)
        if "seed" in known and "seed" not in chosen:
            chosen["seed"] = seed
        if "space" in known:
            chosen["space"] = table.space
        return create_surrogate(model, **chosen)

    started = time.perf_counter()
    quality = _split_quality(indices, targets, create, holdout_fraction, seed, table.space)
    surrogates = {}
    for name, values in targets.items():
        surrogates[name] = create(name).fit(indices, values, space=table.space)
    quality["fit_seconds"] = time.perf_counter() - started
    source = {
        "table": table.path.name,
        "table_checksum": table.checksum,
        "dataset": table.dataset,
        "protocol": table.protocol,
        "measured_classes": int(indices.shape[0]),
    }
    try:  # parameters and FLOPs of every index come from the macro skeleton, when it has one
        macro: dict[str, Any] | None = MacroConfig.from_dict(table.model).to_dict()
    except (ConfigError, TypeError):
        macro = None
    return SurrogateModel(
        table.space,
        table.num_epochs,
        surrogates,
        model={"name": model, "hyperparameters": params, "seed": int(seed)},
        source=source,
        quality=quality,
        macro=macro,
        eval_fraction=_eval_fraction(table, rows),
    )


def load_surrogate_model(directory: str | os.PathLike[str]) -> SurrogateModel:
    """Read a model written by :meth:`SurrogateModel.save`; a changed or missing part
    raises one :class:`~nasbench.core.errors.TableError`."""
    folder = Path(directory)
    where = str(folder)
    manifest_path = folder / _MANIFEST
    if not manifest_path.is_file():
        raise TableError(f"{where}: not a surrogate benchmark (no {_MANIFEST})")
    try:
        manifest = json.loads(manifest_path.read_text())
    except ValueError as exc:
        raise TableError(f"{where}: {_MANIFEST} is not JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MODEL_FORMAT:
        raise TableError(f"{where}: {_MANIFEST} is not a surrogate benchmark manifest")
    if manifest.get("version") != _MODEL_VERSION:
        raise TableError(
            f"{where}: surrogate benchmark version {manifest.get('version')} is not supported "
            f"(this nasbench reads version {_MODEL_VERSION}; fit the model again)"
        )
    stored = manifest.pop("checksum", None)
    digest = hashlib.sha256()
    surrogates = {}
    try:
        for name in sorted(manifest["targets"]):
            path = folder / f"{name}.surrogate"
            if not path.is_file():
                raise TableError(f"{where}: missing surrogate artifact {path.name}")
            digest.update(name.encode() + b"\0" + path.read_bytes())
            surrogates[name] = load_surrogate(path)
        digest.update(json.dumps(manifest, sort_keys=True).encode())
        if stored != "sha256:" + digest.hexdigest():
            raise TableError(f"{where}: the model does not match its checksum (changed after it was saved)")
        model = SurrogateModel(
            CellSpace.from_dict(manifest["space"]),
            int(manifest["num_epochs"]),
            surrogates,
            model=manifest["model"],
            source=manifest["source"],
            quality=manifest["quality"],
            macro=manifest["macro"],
            eval_fraction=float(manifest["eval_fraction"]),
            checksum=stored,
        )
    except ArtifactError as exc:
        raise TableError(f"{where}: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise TableError(f"{where}: incomplete manifest ({type(exc).__name__}: {exc})") from None
    model.path = folder
    return model


class SurrogateBenchmark(Benchmark):
    """A :class:`~nasbench.bench.benchmark.Benchmark` that answers from a :class:`SurrogateModel`.

    ``SurrogateBenchmark(model_or_directory, seed=0, noise=False)``. ``noise`` is required
    to be stated by whoever builds the benchmark from a file (``None`` means off).
    """

    def __init__(
        self,
        model: SurrogateModel | str | os.PathLike[str],
        *,
        seed: int = 0,
        noise: bool | None = None,
        budget: Budget | None = None,
        constraint: Constraint | str | None = None,
    ) -> None:
        check_int("surrogate benchmark", "seed", seed, low=0)
        validate("surrogate benchmark", "noise", noise, Optional(Boolean()))
        self.model = model if isinstance(model, SurrogateModel) else load_surrogate_model(model)
        self.noise = bool(noise)
        label = str(self.model.path) if self.model.path is not None else "surrogate model"
        arrays = self.model.arrays(int(seed), self.noise)
        self._set_up(self.model.space, label, arrays, seed, budget, constraint)

    def with_constraint(self, constraint: Constraint | str | None) -> SurrogateBenchmark:
        """A fresh benchmark on the same model, seed and noise, under ``constraint``."""
        return SurrogateBenchmark(
            self.model, seed=self.seed, noise=self.noise, budget=self.budget, constraint=constraint
        )

"""Prediction layer: surrogates that predict architectures never trained.

Owns the surrogate base class (:mod:`~nasbench.prediction.base`), its registry
(:mod:`~nasbench.prediction.registry`), the artifact format
(:mod:`~nasbench.prediction.artifacts`), predictor evaluation
(:mod:`~nasbench.prediction.evaluation`), the zero-cost proxy scores file
(:mod:`~nasbench.prediction.proxy_scores`) and the surrogate benchmark
(:mod:`~nasbench.prediction.surrogate_benchmark`, a
:class:`~nasbench.bench.benchmark.Benchmark` answered by a fitted model). Imports
:mod:`nasbench.core`, :mod:`nasbench.nets`, :mod:`nasbench.generation` and
:mod:`nasbench.bench`; never the search layer.

This package is the public API of surrogate plug-ins: ``from nasbench.prediction import
Surrogate, register_surrogate, encode_archs``. Names load on first use (PEP 562), so
importing the package (or any name but the surrogate benchmark's) never imports torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nasbench.core.lazy import lazy_exports

if TYPE_CHECKING:
    from nasbench.core.encodings import ENCODINGS, as_indices, encode_archs, encode_graphs
    from nasbench.prediction.artifacts import ArtifactError, load_surrogate
    from nasbench.prediction.base import SURROGATE_KINDS, NotFittedError, Surrogate, one_blas_thread
    from nasbench.prediction.evaluation import (
        RANKING_METRICS,
        TRAIN_TARGETS,
        class_targets,
        evaluate_scores,
        evaluate_surrogate,
        noise_comparison,
        ranking_metrics,
        summarise_rows,
        tune_surrogate,
    )
    from nasbench.prediction.proxy_scores import (
        ProxyScores,
        proxy_scores_path,
        read_proxy_scores,
        write_proxy_scores,
    )
    from nasbench.prediction.registry import (
        ENTRY_POINT_GROUP,
        SurrogateInfo,
        create_surrogate,
        get_surrogate_class,
        list_surrogates,
        plugin_errors,
        register_surrogate,
        surrogate_info,
    )
    from nasbench.prediction.surrogate_benchmark import (
        SurrogateBenchmark,
        SurrogateModel,
        fit_surrogate_model,
        load_surrogate_model,
    )

_LAZY: dict[str, str] = {
    "ENCODINGS": "nasbench.core.encodings",
    "as_indices": "nasbench.core.encodings",
    "encode_archs": "nasbench.core.encodings",
    "encode_graphs": "nasbench.core.encodings",
    "SURROGATE_KINDS": "nasbench.prediction.base",
    "NotFittedError": "nasbench.prediction.base",
    "Surrogate": "nasbench.prediction.base",
    "one_blas_thread": "nasbench.prediction.base",
    "ENTRY_POINT_GROUP": "nasbench.prediction.registry",
    "SurrogateInfo": "nasbench.prediction.registry",
    "create_surrogate": "nasbench.prediction.registry",
    "get_surrogate_class": "nasbench.prediction.registry",
    "list_surrogates": "nasbench.prediction.registry",
    "plugin_errors": "nasbench.prediction.registry",
    "register_surrogate": "nasbench.prediction.registry",
    "surrogate_info": "nasbench.prediction.registry",
    "ArtifactError": "nasbench.prediction.artifacts",
    "load_surrogate": "nasbench.prediction.artifacts",
    "RANKING_METRICS": "nasbench.prediction.evaluation",
    "TRAIN_TARGETS": "nasbench.prediction.evaluation",
    "class_targets": "nasbench.prediction.evaluation",
    "evaluate_scores": "nasbench.prediction.evaluation",
    "evaluate_surrogate": "nasbench.prediction.evaluation",
    "noise_comparison": "nasbench.prediction.evaluation",
    "ranking_metrics": "nasbench.prediction.evaluation",
    "summarise_rows": "nasbench.prediction.evaluation",
    "tune_surrogate": "nasbench.prediction.evaluation",
    "ProxyScores": "nasbench.prediction.proxy_scores",
    "proxy_scores_path": "nasbench.prediction.proxy_scores",
    "read_proxy_scores": "nasbench.prediction.proxy_scores",
    "write_proxy_scores": "nasbench.prediction.proxy_scores",
    "SurrogateBenchmark": "nasbench.prediction.surrogate_benchmark",
    "SurrogateModel": "nasbench.prediction.surrogate_benchmark",
    "fit_surrogate_model": "nasbench.prediction.surrogate_benchmark",
    "load_surrogate_model": "nasbench.prediction.surrogate_benchmark",
}

__all__ = [
    "ENCODINGS",
    "ENTRY_POINT_GROUP",
    "RANKING_METRICS",
    "SURROGATE_KINDS",
    "TRAIN_TARGETS",
    "ArtifactError",
    "NotFittedError",
    "ProxyScores",
    "Surrogate",
    "SurrogateBenchmark",
    "SurrogateInfo",
    "SurrogateModel",
    "as_indices",
    "class_targets",
    "create_surrogate",
    "encode_archs",
    "encode_graphs",
    "evaluate_scores",
    "evaluate_surrogate",
    "fit_surrogate_model",
    "get_surrogate_class",
    "list_surrogates",
    "load_surrogate",
    "load_surrogate_model",
    "noise_comparison",
    "one_blas_thread",
    "plugin_errors",
    "proxy_scores_path",
    "ranking_metrics",
    "read_proxy_scores",
    "register_surrogate",
    "summarise_rows",
    "surrogate_info",
    "tune_surrogate",
    "write_proxy_scores",
]


__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)

"""nasbench: a NAS benchmark and tabular-surrogate evaluation suite.

The space, table and error APIs import without torch; the model builder (which needs
torch) is imported on first use of one of its names.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from nasbench.errors import (
    ArchitectureError,
    ConfigError,
    DatasetError,
    MetricError,
    NasbenchError,
    NotMeasuredError,
    SchemaVersionError,
    TableError,
)
from nasbench.space import NB201_OPS, SPACE_PRESETS, Architecture, CellSpace, get_space
from nasbench.table import Table, TableWriter, open_table, validate_table

if TYPE_CHECKING:
    from nasbench.benchmark import Benchmark, Budget, Constraint, Result, Task
    from nasbench.datasets import DATASETS, load_dataset
    from nasbench.generate import generate, merge_tables
    from nasbench.hardware import available_devices, probe
    from nasbench.models import (
        MODEL_PRESETS,
        MacroConfig,
        arch_cost,
        build_model,
        cost_arrays,
        count_cost,
        get_model_config,
    )
    from nasbench.predictor_eval import evaluate_surrogate, ranking_metrics
    from nasbench.runner import compare
    from nasbench.strategy import Strategy, Trial, create_strategy, list_strategies, register_strategy
    from nasbench.surrogate import (
        Surrogate,
        create_surrogate,
        list_surrogates,
        load_surrogate,
        register_surrogate,
    )
    from nasbench.surrogate_benchmark import SurrogateBenchmark, fit_surrogate_model, load_surrogate_model
    from nasbench.train import PROTOCOL_PRESETS, Protocol, get_protocol, train_architecture

__version__ = "0.1.0"

_LAZY = {
    "MODEL_PRESETS": "nasbench.models",
    "MacroConfig": "nasbench.models",
    "arch_cost": "nasbench.models",
    "build_model": "nasbench.models",
    "cost_arrays": "nasbench.models",
    "count_cost": "nasbench.models",
    "get_model_config": "nasbench.models",
    "PROTOCOL_PRESETS": "nasbench.train",
    "Protocol": "nasbench.train",
    "get_protocol": "nasbench.train",
    "train_architecture": "nasbench.train",
    "DATASETS": "nasbench.datasets",
    "load_dataset": "nasbench.datasets",
    "generate": "nasbench.generate",
    "merge_tables": "nasbench.generate",
    "available_devices": "nasbench.hardware",
    "probe": "nasbench.hardware",
    "Benchmark": "nasbench.benchmark",
    "Budget": "nasbench.benchmark",
    "Constraint": "nasbench.benchmark",
    "Result": "nasbench.benchmark",
    "Task": "nasbench.benchmark",
    "Strategy": "nasbench.strategy",
    "Trial": "nasbench.strategy",
    "create_strategy": "nasbench.strategy",
    "list_strategies": "nasbench.strategy",
    "register_strategy": "nasbench.strategy",
    "compare": "nasbench.runner",
    "Surrogate": "nasbench.surrogate",
    "create_surrogate": "nasbench.surrogate",
    "list_surrogates": "nasbench.surrogate",
    "load_surrogate": "nasbench.surrogate",
    "register_surrogate": "nasbench.surrogate",
    "evaluate_surrogate": "nasbench.predictor_eval",
    "ranking_metrics": "nasbench.predictor_eval",
    "SurrogateBenchmark": "nasbench.surrogate_benchmark",
    "fit_surrogate_model": "nasbench.surrogate_benchmark",
    "load_surrogate_model": "nasbench.surrogate_benchmark",
}

__all__ = [
    "DATASETS",
    "MODEL_PRESETS",
    "NB201_OPS",
    "PROTOCOL_PRESETS",
    "SPACE_PRESETS",
    "Architecture",
    "ArchitectureError",
    "Benchmark",
    "Budget",
    "CellSpace",
    "ConfigError",
    "Constraint",
    "DatasetError",
    "MacroConfig",
    "MetricError",
    "NasbenchError",
    "NotMeasuredError",
    "Protocol",
    "Result",
    "SchemaVersionError",
    "Strategy",
    "Surrogate",
    "SurrogateBenchmark",
    "Table",
    "TableError",
    "TableWriter",
    "Task",
    "Trial",
    "__version__",
    "arch_cost",
    "available_devices",
    "build_model",
    "compare",
    "cost_arrays",
    "count_cost",
    "create_strategy",
    "create_surrogate",
    "evaluate_surrogate",
    "fit_surrogate_model",
    "generate",
    "get_model_config",
    "get_protocol",
    "get_space",
    "list_strategies",
    "list_surrogates",
    "load_dataset",
    "load_surrogate",
    "load_surrogate_model",
    "merge_tables",
    "open_table",
    "probe",
    "ranking_metrics",
    "register_strategy",
    "register_surrogate",
    "train_architecture",
    "validate_table",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nasbench' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)

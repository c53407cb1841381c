"""nasbench: a NAS benchmark and tabular-surrogate evaluation suite.

The space, table and error APIs import without torch; the model builder (which needs
torch) is imported on first use of one of its names.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from nasbench.core.errors import (
    ArchitectureError,
    ConfigError,
    DatasetError,
    MetricError,
    NasbenchError,
    NotMeasuredError,
    SchemaVersionError,
    TableError,
)
from nasbench.core.space import NB201_OPS, SPACE_PRESETS, Architecture, CellSpace, get_space
from nasbench.core.table import Table, TableWriter, open_table, validate_table

if TYPE_CHECKING:
    from nasbench.bench.benchmark import Benchmark, Budget, Constraint, Result, Task
    from nasbench.generation.generate import generate, merge_tables
    from nasbench.nets.datasets import DATASETS, load_dataset
    from nasbench.nets.hardware import available_devices, probe
    from nasbench.nets.models import (
        MODEL_PRESETS,
        MacroConfig,
        arch_cost,
        build_model,
        cost_arrays,
        count_cost,
        get_model_config,
    )
    from nasbench.nets.train import PROTOCOL_PRESETS, Protocol, get_protocol, train_architecture
    from nasbench.prediction.evaluation import evaluate_surrogate, ranking_metrics
    from nasbench.prediction.surrogate import (
        Surrogate,
        create_surrogate,
        list_surrogates,
        load_surrogate,
        register_surrogate,
    )
    from nasbench.prediction.surrogate_benchmark import (
        SurrogateBenchmark,
        fit_surrogate_model,
        load_surrogate_model,
    )
    from nasbench.search.runner import compare
    from nasbench.search.strategy import Strategy, Trial, create_strategy, list_strategies, register_strategy

__version__ = "0.1.0"

_LAZY = {
    "MODEL_PRESETS": "nasbench.nets.models",
    "MacroConfig": "nasbench.nets.models",
    "arch_cost": "nasbench.nets.models",
    "build_model": "nasbench.nets.models",
    "cost_arrays": "nasbench.nets.models",
    "count_cost": "nasbench.nets.models",
    "get_model_config": "nasbench.nets.models",
    "PROTOCOL_PRESETS": "nasbench.nets.train",
    "Protocol": "nasbench.nets.train",
    "get_protocol": "nasbench.nets.train",
    "train_architecture": "nasbench.nets.train",
    "DATASETS": "nasbench.nets.datasets",
    "load_dataset": "nasbench.nets.datasets",
    "generate": "nasbench.generation.generate",
    "merge_tables": "nasbench.generation.generate",
    "available_devices": "nasbench.nets.hardware",
    "probe": "nasbench.nets.hardware",
    "Benchmark": "nasbench.bench.benchmark",
    "Budget": "nasbench.bench.benchmark",
    "Constraint": "nasbench.bench.benchmark",
    "Result": "nasbench.bench.benchmark",
    "Task": "nasbench.bench.benchmark",
    "Strategy": "nasbench.search.strategy",
    "Trial": "nasbench.search.strategy",
    "create_strategy": "nasbench.search.strategy",
    "list_strategies": "nasbench.search.strategy",
    "register_strategy": "nasbench.search.strategy",
    "compare": "nasbench.search.runner",
    "Surrogate": "nasbench.prediction.surrogate",
    "create_surrogate": "nasbench.prediction.surrogate",
    "list_surrogates": "nasbench.prediction.surrogate",
    "load_surrogate": "nasbench.prediction.surrogate",
    "register_surrogate": "nasbench.prediction.surrogate",
    "evaluate_surrogate": "nasbench.prediction.evaluation",
    "ranking_metrics": "nasbench.prediction.evaluation",
    "SurrogateBenchmark": "nasbench.prediction.surrogate_benchmark",
    "fit_surrogate_model": "nasbench.prediction.surrogate_benchmark",
    "load_surrogate_model": "nasbench.prediction.surrogate_benchmark",
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

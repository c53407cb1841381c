"""nasbench: a NAS benchmark and tabular-surrogate evaluation suite.

The public API, by layer (see each subpackage's docstring for what it owns):
:mod:`nasbench.core` (spaces, tables, errors), :mod:`nasbench.nets` (models, training,
datasets, device probes), :mod:`nasbench.generation` (the table generator),
:mod:`nasbench.bench` (the benchmark a strategy runs against), :mod:`nasbench.prediction`
(surrogates), :mod:`nasbench.search` (strategies and the runner) and
:mod:`nasbench.reporting`. Every name here is imported on first use, so ``import
nasbench`` costs neither torch nor h5py. Plug-ins import from :mod:`nasbench.search`
(strategies) and :mod:`nasbench.prediction` (surrogates).

The library logs diagnostics under the ``nasbench`` logger and prints nothing itself; it
installs no handler beyond a ``NullHandler``, so configuring logging is the program's choice.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from nasbench.core.lazy import lazy_exports

if TYPE_CHECKING:
    from nasbench.bench.benchmark import Benchmark, Budget, Constraint, Result, Task
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
    from nasbench.core.table import Table, open_table, validate_table
    from nasbench.core.table_writer import TableWriter
    from nasbench.generation.generate import generate
    from nasbench.generation.merge import merge_tables
    from nasbench.nets.dataset_files import DATASETS
    from nasbench.nets.datasets import load_dataset
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
    from nasbench.prediction import (
        Surrogate,
        SurrogateBenchmark,
        create_surrogate,
        evaluate_surrogate,
        fit_surrogate_model,
        list_surrogates,
        load_surrogate,
        load_surrogate_model,
        ranking_metrics,
        register_surrogate,
    )
    from nasbench.search import (
        Strategy,
        Trial,
        compare,
        create_strategy,
        list_strategies,
        register_strategy,
    )

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

_ERRORS = (
    "ArchitectureError",
    "ConfigError",
    "DatasetError",
    "MetricError",
    "NasbenchError",
    "NotMeasuredError",
    "SchemaVersionError",
    "TableError",
)
_PREDICTION = (
    "Surrogate",
    "SurrogateBenchmark",
    "create_surrogate",
    "evaluate_surrogate",
    "fit_surrogate_model",
    "list_surrogates",
    "load_surrogate",
    "load_surrogate_model",
    "ranking_metrics",
    "register_surrogate",
)
_SEARCH = ("Strategy", "Trial", "compare", "create_strategy", "list_strategies", "register_strategy")
_MODELS = (
    "MODEL_PRESETS",
    "MacroConfig",
    "arch_cost",
    "build_model",
    "cost_arrays",
    "count_cost",
    "get_model_config",
)

#: Public name -> module that defines it (or the layer package that re-exports it).
_HOMES: dict[str, str] = {
    **dict.fromkeys(_ERRORS, "nasbench.core.errors"),
    **dict.fromkeys(
        ("NB201_OPS", "SPACE_PRESETS", "Architecture", "CellSpace", "get_space"), "nasbench.core.space"
    ),
    **dict.fromkeys(("Table", "open_table", "validate_table"), "nasbench.core.table"),
    "TableWriter": "nasbench.core.table_writer",
    **dict.fromkeys(_MODELS, "nasbench.nets.models"),
    **dict.fromkeys(
        ("PROTOCOL_PRESETS", "Protocol", "get_protocol", "train_architecture"), "nasbench.nets.train"
    ),
    "DATASETS": "nasbench.nets.dataset_files",
    "load_dataset": "nasbench.nets.datasets",
    "available_devices": "nasbench.nets.hardware",
    "probe": "nasbench.nets.hardware",
    "generate": "nasbench.generation.generate",
    "merge_tables": "nasbench.generation.merge",
    **dict.fromkeys(("Benchmark", "Budget", "Constraint", "Result", "Task"), "nasbench.bench.benchmark"),
    **dict.fromkeys(_PREDICTION, "nasbench.prediction"),
    **dict.fromkeys(_SEARCH, "nasbench.search"),
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

__getattr__, __dir__ = lazy_exports(__name__, globals(), _HOMES)

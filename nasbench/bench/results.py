"""The results schema: the files a comparison writes and the columns of each.

The runner (:mod:`nasbench.search.runner`) writes a results directory in this shape and
the reports (:mod:`nasbench.reporting`) read it; both take the names from here, and this
module imports nothing else, so a reader of result files needs neither torch nor h5py.
"""

from __future__ import annotations

__all__ = [
    "ARCHITECTURE_WEIGHT_COLUMNS",
    "ERRORS_FILE",
    "FORMAT",
    "MANIFEST_FILE",
    "MANIFEST_FORMAT",
    "ONE_SHOT_COLUMNS",
    "ONE_SHOT_KIND",
    "PARETO_COLUMNS",
    "RESULT_FILES",
    "RUNS_COLUMNS",
    "TIMING_FILE",
    "TRAJECTORY_COLUMNS",
    "TRAJECTORY_FILE_COLUMNS",
]

#: One row per evaluation of a run, as :meth:`~nasbench.bench.benchmark.Benchmark.trajectory` returns it.
TRAJECTORY_COLUMNS: tuple[str, ...] = (
    "evaluation",
    "sim_seconds",
    "index",
    "epochs",
    "val_acc",
    "incumbent_index",
    "incumbent_val_acc",
    "incumbent_test_acc",
    "regret",
)

#: Value of ``format`` in config.json.
FORMAT = "nasbench-results/1"

#: The ``kind`` of one-shot (supernet) strategies, in runs.csv and config.json: their runs
#: also fill one_shot.csv and architecture_weights.csv.
ONE_SHOT_KIND = "one-shot"

RUNS_COLUMNS: tuple[str, ...] = (
    "table",
    "strategy",
    "kind",
    "seed",
    "status",
    "evaluations",
    "sim_seconds",
    "final_index",
    "final_arch",
    "final_val_acc",
    "final_test_acc",
    "final_regret",
    "objective",
    "constraint",
    "search_seconds",
)
TRAJECTORY_FILE_COLUMNS: tuple[str, ...] = ("table", "strategy", "seed", *TRAJECTORY_COLUMNS)
PARETO_COLUMNS: tuple[str, ...] = (
    "table",
    "strategy",
    "seed",
    "objective",
    "index",
    "val_acc",
    "test_acc",
    "objective_value",
)
ONE_SHOT_COLUMNS: tuple[str, ...] = (
    "table",
    "strategy",
    "seed",
    "epoch",
    "train_loss",
    "train_acc",
    "epoch_seconds",
)
ARCHITECTURE_WEIGHT_COLUMNS: tuple[str, ...] = ("table", "strategy", "seed", "epoch", "edge", "op", "weight")
ERRORS_FILE = "errors.json"
#: The manifest of a results directory: every file the comparison wrote, with its size and
#: sha256 (timing.json by name only: its wall seconds differ on every run), so that a report
#: can verify the files and an overwrite deletes only those.
MANIFEST_FILE = ".nasbench-results.json"
#: Value of ``format`` in the manifest.
MANIFEST_FORMAT = "nasbench-results-manifest/1"
#: The file whose content differs on every run: listed in the manifest without a checksum.
TIMING_FILE = "timing.json"
#: Every file of a results directory; all but timing.json are reproducible byte for byte.
RESULT_FILES: tuple[str, ...] = (
    "config.json",
    "runs.csv",
    "trajectories.csv",
    "pareto.csv",
    "one_shot.csv",
    "architecture_weights.csv",
    ERRORS_FILE,
    TIMING_FILE,
    MANIFEST_FILE,
)

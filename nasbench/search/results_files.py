"""Writing a comparison's results directory (schema: :mod:`nasbench.bench.results`).

Rows are made from the jobs' outcomes in sorted (table, strategy, seed) order, floats are
written with ``repr`` (round-trip exact) and a missing value (None, NaN) is an empty
field, so the same outcomes give the same bytes. The directory is written under a
temporary name and renamed into place: an existing directory is never left half-written.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.bench.results import (
    ARCHITECTURE_WEIGHT_COLUMNS,
    ERRORS_FILE,
    ONE_SHOT_COLUMNS,
    PARETO_COLUMNS,
    RESULT_FILES,
    RUNS_COLUMNS,
    TRAJECTORY_FILE_COLUMNS,
)
from nasbench.core.errors import ConfigError, one_line

__all__ = ["csv_text", "install", "json_text", "result_files"]


def _field(value: Any) -> str:
    """One CSV field: floats by repr (round-trip exact), NaN and None as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return "" if math.isnan(number) else repr(number)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(value)


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A CSV file's text: a header, then one line per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_field(value) for value in row])
    return buffer.getvalue()


def json_text(data: Any) -> str:
    """A JSON file's text: indented, keys sorted, newline-terminated."""
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def result_files(outcomes: Mapping[tuple[str, str, int], Mapping[str, Any]]) -> dict[str, str]:
    """The text of runs.csv, trajectories.csv, pareto.csv, one_shot.csv,
    architecture_weights.csv and errors.json from the jobs' outcomes (by key)."""
    runs_rows: list[list[Any]] = []
    trajectory_rows: list[list[Any]] = []
    pareto_rows: list[list[Any]] = []
    one_shot_rows: list[list[Any]] = []
    weight_rows: list[list[Any]] = []
    errors: list[dict[str, Any]] = []
    for key in sorted(outcomes):
        outcome = outcomes[key]
        table_name, strategy_name, seed = key
        if outcome["status"] != "ok":
            runs_rows.append(
                [
                    table_name,
                    strategy_name,
                    outcome["kind"],
                    seed,
                    "failed",
                    *[None] * (len(RUNS_COLUMNS) - 5),
                ]
            )
            errors.append(
                {
                    "table": table_name,
                    "strategy": strategy_name,
                    "seed": seed,
                    "error": outcome["error"],
                    "traceback": outcome["traceback"],
                }
            )
            continue
        run = outcome["run"]
        runs_rows.append(
            [
                table_name,
                strategy_name,
                outcome["kind"],
                seed,
                "ok",
                run["evaluations"],
                run["sim_seconds"],
                run.get("final_index"),
                run.get("final_arch"),
                run.get("final_val_acc"),
                run.get("final_test_acc"),
                run.get("final_regret"),
                run["objective"],
                run["constraint"],
                run.get("search_seconds"),
            ]
        )
        trajectory_rows.extend([table_name, strategy_name, seed, *row] for row in outcome["trajectory"])
        pareto_rows.extend(
            [table_name, strategy_name, seed, run["objective"], *point] for point in outcome["pareto"]
        )
        record = outcome.get("record") or {}
        one_shot_rows.extend([table_name, strategy_name, seed, *row] for row in record.get("epochs", ()))
        weight_rows.extend([table_name, strategy_name, seed, *row] for row in record.get("weights", ()))
    return {
        "runs.csv": csv_text(RUNS_COLUMNS, runs_rows),
        "trajectories.csv": csv_text(TRAJECTORY_FILE_COLUMNS, trajectory_rows),
        "pareto.csv": csv_text(PARETO_COLUMNS, pareto_rows),
        "one_shot.csv": csv_text(ONE_SHOT_COLUMNS, one_shot_rows),
        "architecture_weights.csv": csv_text(ARCHITECTURE_WEIGHT_COLUMNS, weight_rows),
        ERRORS_FILE: json_text(errors),
    }


def check_only_results(out: Path) -> None:
    """ConfigError unless every entry of the directory ``out`` is a file a comparison
    writes (:data:`~nasbench.bench.results.RESULT_FILES`): replacing a results directory
    must never delete anything else (a table, notes, a report) that was put in it."""
    foreign = sorted(entry.name for entry in out.iterdir() if entry.name not in RESULT_FILES)
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise ConfigError(
            f"out {out}: holds files a comparison did not write ({shown}); it is not replaced — "
            "move them or write the results elsewhere"
        )


def _replace(temporary: Path, out: Path, overwrite: bool) -> None:
    """Move the finished ``temporary`` directory to ``out`` (replacing it if allowed: only
    a directory of result files is ever replaced)."""
    if out.exists():
        if not out.is_dir():
            raise ConfigError(f"out {out}: exists and is not a directory")
        if any(out.iterdir()):
            if not overwrite:
                raise ConfigError(f"out {out}: directory became non-empty while comparing")
            try:
                check_only_results(out)
            except ConfigError as exc:  # files appeared while comparing: keep both
                kept = out.with_name(f"{out.name}.new-{uuid.uuid4().hex[:8]}")
                os.replace(temporary, kept)
                raise ConfigError(f"{one_line(exc)}; the new results are in {kept}") from None
            old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(out, old)
            os.replace(temporary, out)
            shutil.rmtree(old, ignore_errors=True)
            return
        out.rmdir()
    os.replace(temporary, out)


def install(files: Mapping[str, str], out: Path, overwrite: bool) -> None:
    """Write ``files`` (name -> text) as the directory ``out``: into a temporary sibling
    first (each file synced), then renamed into place, replacing ``out`` if ``overwrite``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    temporary.mkdir()
    try:
        for name, text in files.items():
            with open(temporary / name, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        _replace(temporary, out, overwrite)
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)

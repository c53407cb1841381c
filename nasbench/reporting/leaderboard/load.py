"""Reading a results directory written by ``nasbench compare``: :func:`load_results`.

Reads ``config.json``, ``runs.csv``, ``trajectories.csv`` and, when present,
``pareto.csv``, ``one_shot.csv``, ``architecture_weights.csv`` and ``errors.json``; checks
their format and columns against :mod:`nasbench.bench.results` and records the sha256 of
every file read. ``timing.json`` (wall-clock seconds, different on every rerun) is
deliberately not read.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasbench.bench.results import (
    ARCHITECTURE_WEIGHT_COLUMNS,
    FORMAT,
    ONE_SHOT_COLUMNS,
    PARETO_COLUMNS,
    RUNS_COLUMNS,
    TRAJECTORY_FILE_COLUMNS,
)
from nasbench.core.errors import NasbenchError

__all__ = ["RESULTS_FORMAT", "Results", "ResultsError", "load_results", "table_names"]

#: The format this report reads (``format`` in config.json), the runner's.
RESULTS_FORMAT = FORMAT
_TEXT_COLUMNS = ("table", "strategy", "kind", "status", "final_arch", "objective", "constraint", "edge", "op")
#: Columns a results directory written before they existed lacks; read as empty.
_OPTIONAL_COLUMNS = ("search_seconds",)


class ResultsError(NasbenchError):
    """A results directory is missing, incomplete or not in the format this report reads."""


@dataclass
class Results:
    """The contents of a results directory, as read (no derived numbers)."""

    directory: Path
    config: dict[str, Any]
    runs: pd.DataFrame
    trajectories: pd.DataFrame
    pareto: pd.DataFrame
    errors: list[dict[str, Any]]
    #: One-shot runs: per-epoch supernet records and architecture weights (empty without any).
    one_shot: pd.DataFrame
    architecture_weights: pd.DataFrame
    #: sha256 of every result file that was read, by file name.
    checksums: dict[str, str]


def table_names(results: Results) -> list[str]:
    """Tables in config order, then any that only runs.csv names."""
    names = [str(entry["name"]) for entry in results.config["tables"]]
    return names + sorted(set(results.runs["table"]) - set(names))


def _read_csv(path: Path, columns: Sequence[str], *, required: bool) -> tuple[pd.DataFrame, str | None]:
    """A CSV file with at least ``columns`` (text columns as str, empty -> ''), and its sha256."""
    if not path.is_file():
        if required:
            raise ResultsError(f"{path}: missing; a results directory written by `nasbench compare` has it")
        return pd.DataFrame({name: pd.Series(dtype=object) for name in columns}), None
    data = path.read_bytes()
    text = [name for name in columns if name in _TEXT_COLUMNS]
    missing_values = {name: [""] if name in text else ["", "nan", "NaN", "-nan"] for name in columns}
    try:
        frame = pd.read_csv(
            io.BytesIO(data),
            dtype={name: str for name in text},
            keep_default_na=False,
            na_values=missing_values,
        )
    except (ValueError, UnicodeDecodeError) as exc:  # ParserError and EmptyDataError are ValueErrors
        raise ResultsError(f"{path}: not a readable CSV file ({exc})") from None
    for name in _OPTIONAL_COLUMNS:  # added after results format 1 was first written
        if name in columns and name not in frame.columns:
            frame[name] = np.nan
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise ResultsError(f"{path}: missing columns {', '.join(missing)}")
    for name in columns:
        if name in text:
            frame[name] = frame[name].fillna("").astype(str)
        else:
            try:
                frame[name] = pd.to_numeric(frame[name]).astype(np.float64)
            except (ValueError, TypeError):
                raise ResultsError(f"{path}: column {name!r} holds a value that is not a number") from None
    return frame, hashlib.sha256(data).hexdigest()


def _read_config(directory: Path) -> tuple[dict[str, Any], str]:
    """config.json, checked for the format and the keys the report needs, and its sha256."""
    config_path = directory / "config.json"
    if not config_path.is_file():
        raise ResultsError(
            f"{config_path}: missing; is {directory} a directory written by `nasbench compare`?"
        )
    raw = config_path.read_bytes()
    try:
        config = json.loads(raw)
    except ValueError as exc:
        raise ResultsError(f"{config_path}: not valid JSON ({exc})") from None
    if not isinstance(config, dict) or config.get("format") != RESULTS_FORMAT:
        found = config.get("format") if isinstance(config, dict) else type(config).__name__
        raise ResultsError(f"{config_path}: format {found!r}, expected {RESULTS_FORMAT!r}")
    for key, kind in (("budget", dict), ("seeds", list), ("tables", list), ("strategies", list)):
        if not isinstance(config.get(key), kind):
            raise ResultsError(f"{config_path}: {key!r} missing or not a {kind.__name__}")
    for entry in config["tables"] + config["strategies"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ResultsError(f"{config_path}: every table and strategy needs a 'name'")
    return config, hashlib.sha256(raw).hexdigest()


def _read_errors(path: Path) -> tuple[list[dict[str, Any]], str | None]:
    """errors.json (a list of error records; empty when the file is absent) and its sha256."""
    if not path.is_file():
        return [], None
    raw = path.read_bytes()
    try:
        errors = json.loads(raw)
    except ValueError as exc:
        raise ResultsError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(errors, list) or not all(isinstance(item, dict) for item in errors):
        raise ResultsError(f"{path}: expected a list of error records")
    return errors, hashlib.sha256(raw).hexdigest()


def load_results(results_dir: str | Path) -> Results:
    """Read and check a results directory; :class:`ResultsError` says what is wrong."""
    directory = Path(results_dir)
    if not directory.is_dir():
        raise ResultsError(f"{directory}: not a results directory (run `nasbench compare --out {directory}`)")
    config, digest = _read_config(directory)
    checksums: dict[str, str] = {"config.json": digest}

    runs, digest = _read_csv(directory / "runs.csv", RUNS_COLUMNS, required=True)
    checksums["runs.csv"] = str(digest)
    bad = sorted(set(runs["status"]) - {"ok", "failed"})
    if bad:
        raise ResultsError(f"{directory / 'runs.csv'}: unknown status {', '.join(map(repr, bad))}")
    if runs["seed"].isna().any():
        raise ResultsError(f"{directory / 'runs.csv'}: a run without a seed")
    trajectories, digest = _read_csv(directory / "trajectories.csv", TRAJECTORY_FILE_COLUMNS, required=True)
    checksums["trajectories.csv"] = str(digest)
    optional = {}
    for name, columns in (
        ("pareto.csv", PARETO_COLUMNS),
        ("one_shot.csv", ONE_SHOT_COLUMNS),
        ("architecture_weights.csv", ARCHITECTURE_WEIGHT_COLUMNS),
    ):
        optional[name], digest = _read_csv(directory / name, columns, required=False)
        if digest is not None:
            checksums[name] = digest
    errors, digest = _read_errors(directory / "errors.json")
    if digest is not None:
        checksums["errors.json"] = digest
    return Results(
        directory,
        config,
        runs,
        trajectories,
        optional["pareto.csv"],
        errors,
        optional["one_shot.csv"],
        optional["architecture_weights.csv"],
        checksums,
    )

"""Reading a results directory written by ``nasbench compare``: :func:`load_results`.

Reads ``config.json``, ``runs.csv``, ``trajectories.csv`` and, when present,
``pareto.csv``, ``one_shot.csv``, ``architecture_weights.csv`` and ``errors.json``; checks
their format and columns against :mod:`nasbench.bench.results` and records the sha256 of
every file read. ``timing.json`` (wall-clock seconds, different on every rerun) is
deliberately not read.

A leaderboard must not rank broken results, so the files are checked before anything is
drawn: each against the directory's manifest (size and sha256, so a truncated or edited
file is refused; a directory written before manifests existed is read but marked not
verified), and runs.csv against config.json (every expected run, tables x strategies x
seeds, present exactly once, nothing else) and trajectories.csv against runs.csv (one row
per evaluation of each finished run, none for any other). Missing runs are refused unless
``allow_incomplete``; then the report says which.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasbench.bench.results import (
    ARCHITECTURE_WEIGHT_COLUMNS,
    FORMAT,
    MANIFEST_FILE,
    MANIFEST_FORMAT,
    ONE_SHOT_COLUMNS,
    PARETO_COLUMNS,
    RUNS_COLUMNS,
    TRAJECTORY_FILE_COLUMNS,
)
from nasbench.core.errors import NasbenchError

__all__ = ["RESULTS_FORMAT", "Results", "ResultsError", "RunKey", "load_results", "table_names"]

#: The format this report reads (``format`` in config.json), the runner's.
RESULTS_FORMAT = FORMAT
_TEXT_COLUMNS = ("table", "strategy", "kind", "status", "final_arch", "objective", "constraint", "edge", "op")
#: Columns a results directory written before they existed lacks; read as empty.
_OPTIONAL_COLUMNS = ("search_seconds",)


#: One run: (table, strategy, seed).
RunKey = tuple[str, str, int]


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
    #: Whether every file read was checked against the directory's manifest (False for a
    #: directory written before manifests existed: the report says so).
    verified: bool = False
    #: Runs config.json expects that runs.csv lacks, read with ``allow_incomplete`` (the
    #: report lists them); empty otherwise.
    missing_runs: list[RunKey] = field(default_factory=list)


def table_names(results: Results) -> list[str]:
    """Tables in config order, then any that only runs.csv names."""
    names = [str(entry["name"]) for entry in results.config["tables"]]
    return names + sorted(set(results.runs["table"]) - set(names))


class _Files:
    """Reads the files of a results directory, each checked against its manifest (when
    there is one) on the very bytes that are parsed."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.listed = self._manifest()

    def _manifest(self) -> dict[str, tuple[int, str]] | None:
        """name -> (bytes, sha256) of the manifest's files; None without a manifest."""
        path = self.directory / MANIFEST_FILE
        if not path.exists():
            return None
        try:
            manifest = json.loads(path.read_bytes())
            if manifest["format"] != MANIFEST_FORMAT:
                raise ValueError
            listed = {}
            for entry in manifest["files"]:
                size, digest = entry["bytes"], entry["sha256"]
                if not isinstance(size, int) or not isinstance(digest, str):
                    raise ValueError
                listed[str(entry["name"])] = (size, digest)
        except (OSError, ValueError, KeyError, TypeError):
            raise ResultsError(f"{path}: not a results manifest ({MANIFEST_FORMAT})") from None
        return listed

    @property
    def verified(self) -> bool:
        return self.listed is not None

    def read(self, name: str, *, required: bool) -> bytes | None:
        """The bytes of file ``name`` (None when it is absent and not ``required``)."""
        path = self.directory / name
        record = None if self.listed is None else self.listed.get(name)
        if not path.is_file():
            if record is not None:
                raise ResultsError(f"{path}: missing, but the manifest lists it")
            if required:
                raise ResultsError(
                    f"{path}: missing; a results directory written by `nasbench compare` has it"
                )
            return None
        data = path.read_bytes()
        if self.listed is None:
            return data
        if record is None:
            raise ResultsError(
                f"{path}: not in the manifest {MANIFEST_FILE}, so not written by this comparison"
            )
        size, digest = record
        if len(data) != size:
            raise ResultsError(
                f"{path}: {len(data)} bytes, but the manifest says {size}: "
                "truncated or changed after nasbench compare wrote it"
            )
        if hashlib.sha256(data).hexdigest() != digest:
            raise ResultsError(
                f"{path}: sha256 differs from the manifest's: changed after nasbench compare wrote it"
            )
        return data


def _read_csv(
    files: _Files, file_name: str, columns: Sequence[str], *, required: bool
) -> tuple[pd.DataFrame, str | None]:
    """A CSV file with at least ``columns`` (text columns as str, empty -> ''), and its sha256."""
    path = files.directory / file_name
    data = files.read(file_name, required=required)
    if data is None:
        return pd.DataFrame({column: pd.Series(dtype=object) for column in columns}), None
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


def _read_config(files: _Files) -> tuple[dict[str, Any], str]:
    """config.json, checked for the format and the keys the report needs, and its sha256."""
    config_path = files.directory / "config.json"
    if not config_path.is_file():
        raise ResultsError(
            f"{config_path}: missing; is {files.directory} a directory written by `nasbench compare`?"
        )
    raw = files.read("config.json", required=True)
    assert raw is not None
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
    if not all(isinstance(seed, int) and not isinstance(seed, bool) for seed in config["seeds"]):
        raise ResultsError(f"{config_path}: 'seeds' must be a list of integers")
    _check_statistics(config_path, config.get("statistics"))
    return config, hashlib.sha256(raw).hexdigest()


#: Protocols config.json's ``statistics`` may name (see :mod:`.stats`).
_PROTOCOLS = ("baseline", "demsar")


def _check_statistics(config_path: Path, statistics: Any) -> None:
    """A ResultsError unless ``statistics`` is absent (older results) or names a protocol,
    an alpha in (0, 1) and, for the baseline protocol, a baseline strategy: a report never
    guesses a protocol that config.json states wrongly."""
    if statistics is None:
        return
    where = f"{config_path}: 'statistics'"
    if not isinstance(statistics, dict) or statistics.get("protocol") not in _PROTOCOLS:
        raise ResultsError(f"{where} must name a protocol, one of {', '.join(_PROTOCOLS)}")
    alpha = statistics.get("alpha")
    if alpha is not None and (
        not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or not 0 < alpha < 1
    ):
        raise ResultsError(f"{where}: alpha must be a number between 0 and 1, not {alpha!r}")
    baseline = statistics.get("baseline")
    if statistics["protocol"] == "baseline" and (not isinstance(baseline, str) or not baseline):
        raise ResultsError(f"{where}: the baseline protocol needs the name of its baseline strategy")


def _read_errors(files: _Files) -> tuple[list[dict[str, Any]], str | None]:
    """errors.json (a list of error records; empty when the file is absent) and its sha256."""
    path = files.directory / "errors.json"
    raw = files.read("errors.json", required=False)
    if raw is None:
        return [], None
    try:
        errors = json.loads(raw)
    except ValueError as exc:
        raise ResultsError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(errors, list) or not all(isinstance(item, dict) for item in errors):
        raise ResultsError(f"{path}: expected a list of error records")
    return errors, hashlib.sha256(raw).hexdigest()


def _keys(frame: pd.DataFrame) -> list[RunKey]:
    """(table, strategy, seed) of every row, in order."""
    return [
        (str(t), str(s), int(d))
        for t, s, d in zip(frame["table"], frame["strategy"], frame["seed"], strict=True)
    ]


def _run_text(key: RunKey) -> str:
    return f"{key[1]} on {key[0]}, seed {key[2]}"


def _check_runs(
    directory: Path,
    config: dict[str, Any],
    runs: pd.DataFrame,
    trajectories: pd.DataFrame,
    allow_incomplete: bool,
) -> list[RunKey]:
    """The expected runs missing from runs.csv (a ResultsError for any unless
    ``allow_incomplete``); a ResultsError for a run listed twice or not expected, and for a
    trajectory that does not hold one row per evaluation of a finished run."""
    runs_path, trajectories_path = directory / "runs.csv", directory / "trajectories.csv"
    seeds = runs["seed"].to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(seeds)) or not np.all(seeds == np.round(seeds)):
        raise ResultsError(f"{runs_path}: a run whose seed is not an integer")
    tables = [str(entry["name"]) for entry in config["tables"]]
    strategies = [str(entry["name"]) for entry in config["strategies"]]
    expected = [(t, s, int(d)) for t in tables for s in strategies for d in config["seeds"]]
    expected_set = set(expected)
    seen: dict[RunKey, int] = {}
    for key in _keys(runs):
        seen[key] = seen.get(key, 0) + 1
    for key, count in seen.items():
        if count > 1:
            raise ResultsError(f"{runs_path}: the run {_run_text(key)} is listed {count} times")
        if key not in expected_set:
            raise ResultsError(
                f"{runs_path}: the run {_run_text(key)} is not one config.json asks for "
                f"({len(tables)} tables x {len(strategies)} strategies x {len(config['seeds'])} seeds)"
            )
    missing = [key for key in dict.fromkeys(expected) if key not in seen]
    if missing and not allow_incomplete:
        raise ResultsError(
            f"{runs_path}: {len(missing)} of {len(expected_set)} runs config.json asks for are missing "
            f"(first: {_run_text(missing[0])}); rerun the comparison, or report what is there with "
            "--allow-incomplete"
        )
    if len(trajectories):
        seeds = trajectories["seed"].to_numpy(dtype=np.float64)
        if not np.all(np.isfinite(seeds)) or not np.all(seeds == np.round(seeds)):
            raise ResultsError(f"{trajectories_path}: a row whose seed is not an integer")
        if trajectories.duplicated(["table", "strategy", "seed", "evaluation"]).any():
            row = trajectories[trajectories.duplicated(["table", "strategy", "seed", "evaluation"])].iloc[0]
            key = (str(row["table"]), str(row["strategy"]), int(row["seed"]))
            raise ResultsError(
                f"{trajectories_path}: evaluation {row['evaluation']:g} of {_run_text(key)} is listed twice"
            )
    rows: dict[RunKey, int] = {}
    for key in _keys(trajectories):
        rows[key] = rows.get(key, 0) + 1
    ok = runs[runs["status"] == "ok"]
    evaluations = dict(zip(_keys(ok), ok["evaluations"].to_numpy(dtype=np.float64), strict=True))
    for key in rows:
        if key not in evaluations:
            raise ResultsError(
                f"{trajectories_path}: rows for {_run_text(key)}, which runs.csv does not list as finished"
            )
    for key, count in evaluations.items():
        if not count == rows.get(key, 0):
            raise ResultsError(
                f"{trajectories_path}: {rows.get(key, 0)} rows for {_run_text(key)}, but runs.csv "
                f"records {count:g} evaluations: the trajectory is incomplete"
            )
    return missing


def load_results(results_dir: str | Path, *, allow_incomplete: bool = False) -> Results:
    """Read and check a results directory; :class:`ResultsError` says what is wrong (in one
    line naming the file). ``allow_incomplete`` reads results that lack some of the runs
    config.json asks for, and lists them in :attr:`Results.missing_runs`."""
    directory = Path(results_dir)
    if not directory.is_dir():
        raise ResultsError(f"{directory}: not a results directory (run `nasbench compare --out {directory}`)")
    files = _Files(directory)
    config, digest = _read_config(files)
    checksums: dict[str, str] = {"config.json": digest}

    runs, digest = _read_csv(files, "runs.csv", RUNS_COLUMNS, required=True)
    checksums["runs.csv"] = str(digest)
    bad = sorted(set(runs["status"]) - {"ok", "failed"})
    if bad:
        raise ResultsError(f"{directory / 'runs.csv'}: unknown status {', '.join(map(repr, bad))}")
    if runs["seed"].isna().any():
        raise ResultsError(f"{directory / 'runs.csv'}: a run without a seed")
    trajectories, digest = _read_csv(files, "trajectories.csv", TRAJECTORY_FILE_COLUMNS, required=True)
    checksums["trajectories.csv"] = str(digest)
    optional = {}
    for name, columns in (
        ("pareto.csv", PARETO_COLUMNS),
        ("one_shot.csv", ONE_SHOT_COLUMNS),
        ("architecture_weights.csv", ARCHITECTURE_WEIGHT_COLUMNS),
    ):
        optional[name], digest = _read_csv(files, name, columns, required=False)
        if digest is not None:
            checksums[name] = digest
    errors, digest = _read_errors(files)
    if digest is not None:
        checksums["errors.json"] = digest
    missing = _check_runs(directory, config, runs, trajectories, allow_incomplete)
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
        verified=files.verified,
        missing_runs=missing,
    )

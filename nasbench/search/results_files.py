"""Writing a comparison's results directory (schema: :mod:`nasbench.bench.results`).

Rows are made from the jobs' outcomes in sorted (table, strategy, seed) order, floats are
written with ``repr`` (round-trip exact) and a missing value (None, NaN) is an empty
field, so the same outcomes give the same bytes. The directory is written under a
temporary name and renamed into place: an existing directory is never left half-written.
Every directory carries a manifest of the files written (size and sha256), so that a
report can verify them and an overwrite deletes exactly those and nothing a user put there.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
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
    FORMAT,
    MANIFEST_FILE,
    MANIFEST_FORMAT,
    ONE_SHOT_COLUMNS,
    PARETO_COLUMNS,
    RESULT_FILES,
    RUNS_COLUMNS,
    TIMING_FILE,
    TRAJECTORY_FILE_COLUMNS,
)
from nasbench.core.errors import ConfigError, one_line

__all__ = ["check_only_results", "csv_text", "install", "json_text", "manifest_text", "result_files"]

logger = logging.getLogger(__name__)


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


def manifest_text(files: Mapping[str, bytes]) -> str:
    """The manifest of a results directory holding ``files`` (name -> bytes): each file's
    size and sha256, timing.json by name only (its wall seconds differ on every run, and
    the manifest stays byte-identical on a rerun)."""
    listed = [
        {"name": name, "bytes": len(files[name]), "sha256": hashlib.sha256(files[name]).hexdigest()}
        for name in sorted(files)
        if name not in (MANIFEST_FILE, TIMING_FILE)
    ]
    return json_text(
        {
            "format": MANIFEST_FORMAT,
            "written_by": "nasbench compare",
            "files": listed,
            "unverified": [TIMING_FILE] if TIMING_FILE in files else [],
        }
    )


def _read_manifest(out: Path) -> dict[str, dict[str, Any] | None] | None:
    """The files the manifest of ``out`` lists: name -> {"bytes", "sha256"} (None for a file
    listed without a checksum); None when there is no manifest; ConfigError if unreadable."""
    path = out / MANIFEST_FILE
    if not path.exists() and not path.is_symlink():
        return None
    problem = f"out {out}: {MANIFEST_FILE} is not a results manifest, so nothing in it is replaced"
    if path.is_symlink() or not path.is_file():
        raise ConfigError(problem)
    try:
        manifest = json.loads(path.read_bytes())
        listed: dict[str, dict[str, Any] | None] = {}
        if manifest["format"] != MANIFEST_FORMAT:
            raise ValueError
        for entry in manifest["files"]:
            name, size, digest = entry["name"], entry["bytes"], entry["sha256"]
            if not (isinstance(name, str) and isinstance(size, int) and isinstance(digest, str)):
                raise ValueError
            listed[name] = {"bytes": size, "sha256": digest}
        for name in manifest.get("unverified", []):
            if not isinstance(name, str):
                raise ValueError
            listed[name] = None
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError(problem) from None
    if any(name in ("", ".", "..") or "/" in name or "\\" in name for name in listed):
        raise ConfigError(problem)
    return listed


def _is_legacy_results(out: Path) -> bool:
    """Whether ``out`` (without a manifest) has the config.json of a comparison written
    before manifests existed."""
    config = out / "config.json"
    if config.is_symlink() or not config.is_file():
        return False
    try:
        data = json.loads(config.read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == FORMAT


def _refuse(out: Path, names: Sequence[str]) -> ConfigError:
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return ConfigError(
        f"out {out}: holds files a comparison did not write ({shown}); it is not replaced — "
        "move them or write the results elsewhere"
    )


def check_only_results(out: Path) -> list[str]:
    """The names of the entries of the directory ``out``, all written by an earlier
    comparison; else a ConfigError naming what was not: replacing a results directory must
    never delete anything else (a table, notes, a report) that was put in it.

    Owned are the files the manifest (:data:`~nasbench.bench.results.MANIFEST_FILE`) lists,
    each still of the size and sha256 it records (a file changed since is the user's now),
    and the manifest itself. A directory written before manifests existed is owned when
    every entry is a result file by name and its config.json is a comparison's."""
    entries = sorted(out.iterdir())
    listed = _read_manifest(out)
    if listed is None:
        owned: set[str] = set(RESULT_FILES) - {MANIFEST_FILE} if _is_legacy_results(out) else set()
        listed = {}
    else:
        owned = {*listed, MANIFEST_FILE}
    foreign = [entry.name for entry in entries if entry.name not in owned]
    foreign += [
        entry.name for entry in entries if entry.name in owned and (entry.is_symlink() or not entry.is_file())
    ]
    if foreign:
        raise _refuse(out, sorted(foreign))
    for entry in entries:
        record = listed.get(entry.name)
        if record is None:
            continue
        data = entry.read_bytes()
        if len(data) != record["bytes"] or hashlib.sha256(data).hexdigest() != record["sha256"]:
            raise ConfigError(
                f"out {out}: {entry.name} was changed after nasbench compare wrote it, so it is not "
                "replaced — move it or write the results elsewhere"
            )
    return [entry.name for entry in entries]


def _remove_owned(old: Path, names: Sequence[str]) -> None:
    """Delete the files ``names`` of the replaced directory ``old``, then ``old`` itself;
    anything else that appeared in it meanwhile is kept, and so is the folder."""
    for name in names:
        (old / name).unlink(missing_ok=True)
    try:
        old.rmdir()
    except OSError:
        logger.warning("%s: kept, it holds files that appeared while it was being replaced", old)


def _replace(temporary: Path, out: Path, overwrite: bool) -> None:
    """Move the finished ``temporary`` directory to ``out`` (replacing it if allowed: only
    the files an earlier comparison wrote are ever deleted)."""
    if out.exists():
        if not out.is_dir():
            raise ConfigError(f"out {out}: exists and is not a directory")
        if any(out.iterdir()):
            if not overwrite:
                raise ConfigError(f"out {out}: directory became non-empty while comparing")
            try:
                owned = check_only_results(out)
            except ConfigError as exc:  # files appeared while comparing: keep both
                kept = out.with_name(f"{out.name}.new-{uuid.uuid4().hex[:8]}")
                os.replace(temporary, kept)
                raise ConfigError(f"{one_line(exc)}; the new results are in {kept}") from None
            old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(out, old)
            try:
                os.replace(temporary, out)
            except BaseException:
                os.replace(old, out)
                raise
            _remove_owned(old, owned)
            return
        out.rmdir()
    os.replace(temporary, out)


def _target(out: Path) -> Path:
    """``out`` as an absolute path (``.`` has a name then), a symbolic link followed to the
    directory it names (the link stays, the directory is replaced)."""
    target = Path(os.path.abspath(out))
    return target.resolve() if target.is_symlink() else target


def install(files: Mapping[str, str], out: Path, overwrite: bool) -> None:
    """Write ``files`` (name -> text) and their manifest as the directory ``out``: into a
    temporary sibling first (each file synced), then renamed into place, replacing ``out``
    if ``overwrite`` (see :func:`check_only_results`). On any error, the temporary
    directory is removed and ``out`` is as it was; an OS error (a full disk) is one line."""
    target = _target(out)
    contents = {name: text.encode("utf-8") for name, text in files.items()}
    contents[MANIFEST_FILE] = manifest_text(contents).encode("utf-8")
    temporary = target.with_name(f".{target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary.mkdir()
        for name, data in contents.items():
            with open(temporary / name, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        _replace(temporary, target, overwrite)
    except OSError as exc:
        raise ConfigError(f"out {out}: cannot write the results ({exc.strerror or exc})") from None
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)

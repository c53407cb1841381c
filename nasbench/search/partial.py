"""A comparison's finished runs, kept on disk as they finish.

``compare --out DIR`` appends every finished run (ok or failed) to ``DIR.partial/runs.jsonl``
(one JSON object a line, flushed and synced), next to the comparison's ``config.json``. If
the comparison stops (a crash, Ctrl-C, a killed machine), the runs it finished are kept;
running the same comparison again (the same config.json, byte for byte) skips them and runs
only the rest. ``DIR.partial`` is removed once ``DIR`` is written.

A partial directory of a different comparison is never mixed in: it is refused, or with
``overwrite`` discarded (only the two files written here; anything else in it is refused).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Collection
from pathlib import Path
from typing import Any

from nasbench.core.errors import ConfigError

__all__ = ["PARTIAL_FILES", "PartialRuns", "normalised"]

logger = logging.getLogger(__name__)

#: The files of a partial directory.
PARTIAL_FILES = ("config.json", "runs.jsonl")

Key = tuple[str, str, int]


def normalised(outcome: dict[str, Any]) -> dict[str, Any]:
    """``outcome`` as it reads back from runs.jsonl (lists for tuples, plain JSON numbers),
    so a resumed comparison writes the same bytes as an uninterrupted one."""
    data = json.loads(json.dumps(outcome))
    data["key"] = tuple(data["key"])
    return data


class PartialRuns:
    """The finished runs of the comparison that writes ``out`` with ``config_text``."""

    def __init__(self, out: Path, config_text: str, overwrite: bool) -> None:
        self.path = out.with_name(f"{out.name}.partial")
        self._config_text = config_text
        self._overwrite = overwrite
        self._handle: Any = None
        #: Runs kept by :meth:`add` in this process.
        self.added = 0

    def load(self, keys: Collection[Key]) -> dict[Key, dict[str, Any]]:
        """The runs finished earlier by this same comparison (those among ``keys``)."""
        path = self.path
        if not path.exists() and not path.is_symlink():
            return {}
        if path.is_symlink() or not path.is_dir():
            raise ConfigError(f"{path}: exists and is not a directory of finished runs; move it away")
        foreign = sorted(entry.name for entry in path.iterdir() if entry.name not in PARTIAL_FILES)
        if foreign:
            raise ConfigError(f"{path}: holds {foreign[0]!r}, which a comparison did not write; move it away")
        config = path / "config.json"
        same = config.is_file() and config.read_text(encoding="utf-8", errors="replace") == self._config_text
        if not same:
            if not self._overwrite:
                raise ConfigError(
                    f"{path}: holds finished runs of a different comparison (its config.json differs); "
                    "remove it, or pass overwrite to discard it"
                )
            self.discard()
            return {}
        wanted = set(keys)
        done: dict[Key, dict[str, Any]] = {}
        runs = path / "runs.jsonl"
        if runs.is_file():
            with open(runs, encoding="utf-8", errors="replace") as handle:
                for number, line in enumerate(handle, 1):
                    outcome = _outcome(line)
                    if outcome is None or outcome["key"] not in wanted:
                        logger.warning(
                            "%s line %d: not a finished run of this comparison; ignored", runs, number
                        )
                        continue
                    done[outcome["key"]] = outcome
        return done

    def open(self) -> None:
        """Start (or continue) the record of finished runs."""
        self.path.mkdir(parents=True, exist_ok=True)
        config = self.path / "config.json"
        if not config.exists():
            _write_synced(config, self._config_text)
        self._handle = open(self.path / "runs.jsonl", "a", encoding="utf-8")

    def add(self, outcome: dict[str, Any]) -> None:
        """Keep one finished run (flushed and synced before returning)."""
        self._handle.write(json.dumps(outcome, sort_keys=True) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self.added += 1

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def discard(self) -> None:
        """Remove the partial directory (only files written here are in it)."""
        self.close()
        if self.path.is_dir() and not self.path.is_symlink():
            for name in PARTIAL_FILES:
                (self.path / name).unlink(missing_ok=True)
            with contextlib.suppress(OSError):  # something else appeared in it: leave it
                self.path.rmdir()


def _outcome(line: str) -> dict[str, Any] | None:
    """One line of runs.jsonl as an outcome, or None if it is not one (a line cut short
    by a crash, say)."""
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("status") not in ("ok", "failed"):
        return None
    key = data.get("key")
    if (
        not isinstance(key, list)
        or len(key) != 3
        or not isinstance(key[0], str)
        or not isinstance(key[1], str)
        or type(key[2]) is not int
    ):
        return None
    required = ("run", "trajectory", "pareto") if data["status"] == "ok" else ("error", "traceback")
    if any(name not in data for name in (*required, "kind", "seconds")):
        return None
    data["key"] = (key[0], key[1], key[2])
    return data


def _write_synced(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())

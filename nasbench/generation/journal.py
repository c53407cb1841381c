"""The generator's crash-safe journal and the checkpoint that applies it to the table.

Every finished job is appended to a journal next to the table (``OUT.journal``, one JSON
line each, flushed and fsynced). At checkpoints the journal is applied to a copy of the
table, the copy is sealed and moved over the table in one rename, and only then is the
journal emptied. A kill at any moment leaves a table that opens and validates plus a
journal whose complete lines are replayed on the next run; replaying an entry already in
the table writes the same values again. A failed checkpoint (a full disk, say) removes its
temporary copy and leaves the table and the journal as they were.

Entries are ``{"kind": "run", ...}`` (one (class, seed) training run) or
``{"kind": "probe", ...}`` (one device measurement shared by several rows), each tagged
with the ``table_id`` of the table they belong to; entries of another table are ignored.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.core.table_file import require_space
from nasbench.core.table_writer import TableWriter

__all__ = ["HEADROOM_BYTES", "Journal", "checkpoint", "require_space"]

logger = logging.getLogger(__name__)

#: Bytes asked for beyond the estimate of what a table write needs.
HEADROOM_BYTES = 1 << 20


class Journal:
    """Append-only JSON-lines record of finished jobs; a torn last line is ignored."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, entry: dict[str, Any]) -> None:
        """Add one entry and fsync it: once this returns, a kill does not lose it."""
        line = json.dumps(entry, sort_keys=True) + "\n"
        with open(self.path, "a+b") as handle:
            handle.seek(0, os.SEEK_END)
            if handle.tell() > 0:
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) != b"\n":
                    line = "\n" + line  # close a line torn by a kill; read() skips it
            handle.seek(0, os.SEEK_END)
            handle.write(line.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())

    def read(self) -> list[dict[str, Any]]:
        """Every complete entry, in order; torn lines (from a kill) are skipped."""
        if not self.path.exists():
            return []
        entries = []
        torn = 0
        with open(self.path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.endswith("\n"):
                    torn += 1
                    break  # torn write from a kill: the job reruns
                try:
                    entry = json.loads(line)
                except ValueError:
                    torn += 1
                    continue  # a torn line closed by a later append
                if isinstance(entry, dict) and "kind" in entry:
                    entries.append(entry)
        if torn:
            logger.info("%s: skipped %d torn line(s) left by an interrupted run", self.path, torn)
        return entries

    def clear(self) -> None:
        """Empty the journal atomically (after its entries reached the table)."""
        temporary = self.path.with_name(self.path.name + ".tmp")
        try:
            temporary.write_text("")
            os.replace(temporary, self.path)
        finally:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)


def _fsync_path(path: Path) -> None:
    """Flush a file and its directory entry to disk."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())
    with contextlib.suppress(OSError):
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def _apply_entries(writer: TableWriter, entries: Sequence[dict[str, Any]], table_id: str) -> int:
    """Write journal entries into an open writer; returns how many applied."""
    applied = 0
    devices: dict[str, tuple[dict[str, Any], dict[str, np.ndarray]]] = {}
    foreign = 0
    for entry in entries:
        if entry.get("table_id") != table_id:
            foreign += 1
            continue
        if entry["kind"] == "run":
            writer.write_run(entry["index"], entry["seed"], entry["metrics"], failed=entry["failed"])
            applied += 1
        elif entry["kind"] == "probe":
            device_id = entry["device"]
            if device_id not in devices:
                stored = {k: v.astype(np.float64) for k, v in writer.device_values(device_id).items()}
                devices[device_id] = (entry["description"], stored)
            _, stored = devices[device_id]
            rows = np.asarray(entry["rows"], dtype=np.int64)
            for name, value in entry["values"].items():
                if name not in stored:
                    stored[name] = np.full(writer.indices.shape[0], np.nan)
                stored[name][rows] = value
            applied += 1
    for device_id, (description, stored) in devices.items():
        writer.write_device(device_id, description, stored)
    if foreign:
        logger.warning("ignored %d journal entries written for another table", foreign)
    return applied


def checkpoint(out: Path, journal: Journal, table_id: str) -> int:
    """Apply the journal to the table atomically; returns the entries applied."""
    entries = journal.read()
    if not entries:
        if journal.path.exists() and journal.path.stat().st_size:
            journal.clear()  # only torn fragments: nothing to keep
        return 0
    temporary = out.with_name(out.name + ".tmp")
    # Room for the copy and what the entries add (their JSON is larger than the binary values).
    require_space(temporary, out.stat().st_size + 4 * journal.path.stat().st_size + HEADROOM_BYTES)
    try:  # the copy too: a full disk fails it halfway, and half a copy must not stay behind
        shutil.copyfile(out, temporary)
        with TableWriter(temporary) as writer:
            applied = _apply_entries(writer, entries, table_id)
        _fsync_path(temporary)
        os.replace(temporary, out)
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
    journal.clear()
    logger.debug("%s: checkpoint applied %d journal entries", out, applied)
    return applied

"""Exceptions raised by nasbench.

Every error a user can trigger with bad input is a :class:`NasbenchError`, so the CLI can
print it in one line and exit non-zero instead of showing a traceback.
"""

from __future__ import annotations

__all__ = [
    "ArchitectureError",
    "ConfigError",
    "DatasetError",
    "MetricError",
    "NasbenchError",
    "NotMeasuredError",
    "SchemaVersionError",
    "TableError",
    "one_line",
]


class NasbenchError(Exception):
    """Base class of every error nasbench raises on bad input."""


class ArchitectureError(NasbenchError, ValueError):
    """An architecture string, index or op sequence is malformed or not in the space."""


class ConfigError(NasbenchError, ValueError):
    """A preset, model configuration or option value is unknown or out of range."""


class DatasetError(NasbenchError):
    """A dataset is unknown, missing or its files are unreadable."""


class TableError(NasbenchError):
    """A table file is missing, unreadable, corrupt or does not follow the schema."""


class SchemaVersionError(TableError):
    """A table was written with a schema version this package does not know."""


class MetricError(NasbenchError, LookupError):
    """A metric, seed, epoch or device was asked for that the table does not hold."""


class NotMeasuredError(MetricError):
    """The table holds the metric, but not (yet) for this architecture, seed or epoch."""


def one_line(error: BaseException | str) -> str:
    """An exception's message (or a message) folded onto one line: every run of
    whitespace, newlines included, becomes one space; "" for an empty message.

    Command-line errors, job failures and table diagnostics print through it so a
    multi-line message from torch or h5py still reads as one line.
    """
    return " ".join(str(error).split())

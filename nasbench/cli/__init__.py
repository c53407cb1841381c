"""The ``nasbench`` command line: one module per command group. Nothing imports it."""

from __future__ import annotations

from nasbench.cli.main import main

__all__ = ["main"]

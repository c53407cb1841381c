"""The ``nasbench`` command line: one module per command group.

:mod:`~nasbench.cli.main` assembles the parser (and the commands plug-ins add through the
``nasbench.commands`` entry points); :mod:`~nasbench.cli.args` holds the option types and
output helpers the groups share; :mod:`~nasbench.cli.tables`,
:mod:`~nasbench.cli.top`, :mod:`~nasbench.cli.generation`, :mod:`~nasbench.cli.compare` and
:mod:`~nasbench.cli.surrogates` each define their commands' parsers beside the handlers.
The top layer: it may import every layer (heavy ones inside handlers), and nothing in the
library imports it.
"""

from __future__ import annotations

from nasbench.cli.main import main

__all__ = ["main"]

"""``python -m nasbench`` runs the command-line interface."""

from nasbench.cli import main

raise SystemExit(main())

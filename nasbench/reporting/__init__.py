"""Reporting layer: documents from result files.

Owns Markdown and number formatting, the leaderboard (results loading, statistics,
figures, sections, HTML and Markdown renderers), the predictor report, the data card,
the fidelity frontier, the validity report and the NAS-Bench-201 reproduction report. It
reads files written by other layers and imports only :mod:`nasbench.core` and the
results schema of :mod:`nasbench.bench`: never torch, h5py or the search layer.
"""

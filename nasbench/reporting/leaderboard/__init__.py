"""Leaderboard report of a results directory written by ``nasbench compare``.

:func:`write_report` reads ``DIR/config.json``, ``runs.csv``, ``trajectories.csv``,
``pareto.csv`` and ``errors.json`` and writes two documents with the same content:

- ``OUT.html``: one static page, figures embedded as base64 PNG, no JavaScript and no
  external resources;
- ``OUT.md``: Markdown for a repository, its figures as PNG files in ``OUT_files/``.

Per table: anytime curves (median and inter-quartile band of test regret over seeds,
against simulated time and against evaluations), the final table, and the statistics of
Demšar (2006): Friedman test over strategies with seeds as blocks, Nemenyi critical
difference with its diagram, and a Wilcoxon signed-rank test of every strategy against
the best-ranked one. Constrained runs are judged against the best feasible architecture,
so they get a section of their own; multi-objective runs add Pareto fronts. The page ends
with the failed runs, a best-practice checklist (Lindauer & Hutter 2020) evaluated on the
actual configuration, and the provenance of the results.

The output is a function of the results alone: no timestamps, and figures are rendered
with fixed settings and without metadata, so the same results give byte-identical files.
``timing.json`` (wall-clock seconds, different on every rerun) is deliberately not read.

Modules, one job each: :mod:`.load` (reading results), :mod:`.stats` (the tests),
:mod:`.figures` (matplotlib), :mod:`.document` (the document model and its HTML and
Markdown renderers), :mod:`.sections` (the report's body) and :mod:`.audit` (failed runs,
checklist, provenance).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from nasbench.reporting.leaderboard.document import render_html, render_markdown
from nasbench.reporting.leaderboard.figures import figure_settings
from nasbench.reporting.leaderboard.load import RESULTS_FORMAT, Results, ResultsError, load_results
from nasbench.reporting.leaderboard.sections import build_document
from nasbench.reporting.leaderboard.stats import Comparison, PairedTest, StrategySummary, TestOutcome, analyse

__all__ = [
    "RESULTS_FORMAT",
    "Comparison",
    "PairedTest",
    "Results",
    "ResultsError",
    "StrategySummary",
    "TestOutcome",
    "analyse",
    "load_results",
    "write_report",
]


def write_report(results_dir: str | Path, out: str | Path) -> list[Path]:
    """Write ``out + '.html'`` and ``out + '.md'`` (figures in ``out + '_files/'``) from a
    results directory; returns the paths written: HTML, Markdown, then the PNG files.
    Figures of an earlier report in that folder that this one does not draw are deleted."""
    results = load_results(results_dir)
    with figure_settings():
        document = build_document(results)
    stem = Path(out)
    html_path = stem.parent / f"{stem.name}.html"
    markdown_path = stem.parent / f"{stem.name}.md"
    files = stem.parent / f"{stem.name}_files"
    files.mkdir(parents=True, exist_ok=True)
    wanted = {image.file_name for image in document.images}
    for stale in sorted(files.glob("*.png")):
        if stale.name not in wanted:
            stale.unlink()
    written = [html_path, markdown_path]
    for image in document.images:
        path = files / image.file_name
        path.write_bytes(image.png)
        written.append(path)
    html_path.write_text(render_html(document, document.title), encoding="utf-8")
    markdown_path.write_text(render_markdown(document, quote(files.name)), encoding="utf-8")
    return written

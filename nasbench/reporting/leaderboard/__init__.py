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

import json
import os
from pathlib import Path
from urllib.parse import quote

from nasbench.reporting.leaderboard.document import render_html, render_markdown
from nasbench.reporting.leaderboard.figures import figure_settings
from nasbench.reporting.leaderboard.load import RESULTS_FORMAT, Results, ResultsError, load_results
from nasbench.reporting.leaderboard.sections import build_document
from nasbench.reporting.leaderboard.stats import Comparison, PairedTest, StrategySummary, TestOutcome, analyse

__all__ = [
    "MANIFEST_NAME",
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


#: The manifest a report keeps in its figures folder: the files it wrote, so that a later
#: report replaces exactly those and never a file it did not write.
MANIFEST_NAME = ".nasbench-report.json"


def _report_paths(out: str | Path) -> tuple[Path, Path, Path]:
    """(HTML, Markdown, figures folder) of the prefix ``out``; a trailing ``.html`` or
    ``.md`` is taken as part of the prefix's spelling, not doubled."""
    stem = Path(out)
    if stem.suffix.lower() in (".html", ".md"):
        stem = stem.with_suffix("")
    return (
        stem.parent / f"{stem.name}.html",
        stem.parent / f"{stem.name}.md",
        stem.parent / f"{stem.name}_files",
    )


def _owned(html_path: Path, markdown_path: Path, files: Path) -> set[Path]:
    """Files at this prefix an earlier report wrote: those its manifest lists, or, for a
    report written before manifests existed, its HTML and Markdown by their title and its
    numbered figures."""
    manifest = files / MANIFEST_NAME
    if manifest.is_file():
        try:
            names = json.loads(manifest.read_text(encoding="utf-8"))["files"]
            return {html_path.parent / name for name in names if isinstance(name, str)}
        except (ValueError, KeyError, TypeError, OSError):
            return set()
    owned: set[Path] = set()
    for path, marker in ((html_path, "<title>nasbench "), (markdown_path, "# nasbench ")):
        if path.is_file():
            with path.open(encoding="utf-8", errors="replace") as handle:
                if marker in handle.read(4096):
                    owned.add(path)
    if files.is_dir():
        owned.update(path for path in files.glob("[0-9][0-9]-*.png") if path.is_file())
    return owned


def _check_ownership(html_path: Path, markdown_path: Path, files: Path) -> set[Path]:
    """What an earlier report left here; a ResultsError naming the first file that this
    package did not write (it is never replaced or deleted)."""
    if files.exists() and not files.is_dir():
        raise ResultsError(f"{files}: exists and is not a report's figures folder; choose another --out")
    present = [path for path in (html_path, markdown_path) if path.exists() or path.is_symlink()]
    if files.is_dir():
        present += sorted(path for path in files.iterdir() if path.name != MANIFEST_NAME)
    owned = _owned(html_path, markdown_path, files)
    for path in present:
        if path not in owned or not path.is_file() or path.is_symlink():
            raise ResultsError(
                f"{path}: not written by nasbench report, so it is left alone; choose another --out"
            )
    return owned


def write_report(results_dir: str | Path, out: str | Path) -> list[Path]:
    """Write ``out + '.html'`` and ``out + '.md'`` (figures in ``out + '_files/'``) from a
    results directory; returns the paths written: HTML, Markdown, then the PNG files.

    Only files an earlier report wrote are ever replaced (the figures folder keeps a
    manifest of them): a report whose prefix would overwrite anything else, such as
    ``--out README`` beside a README.md, is refused before anything is written. Everything
    is rendered first, so bad results leave the earlier report as it was; figures of an
    earlier report that this one does not draw are deleted."""
    html_path, markdown_path, files = _report_paths(out)
    owned = _check_ownership(html_path, markdown_path, files)
    results = load_results(results_dir)
    with figure_settings():
        document = build_document(results)
    html_text = render_html(document, document.title)
    markdown_text = render_markdown(document, quote(files.name))
    files.mkdir(parents=True, exist_ok=True)
    written = [html_path, markdown_path] + [files / image.file_name for image in document.images]
    for stale in sorted(owned - set(written)):
        stale.unlink(missing_ok=True)
    for image, path in zip(document.images, written[2:], strict=True):
        _replace(path, image.png)
    manifest = {
        "written_by": "nasbench report",
        "files": [str(path.relative_to(html_path.parent)) for path in written],
    }
    _replace(files / MANIFEST_NAME, (json.dumps(manifest, indent=2) + "\n").encode())
    _replace(markdown_path, markdown_text.encode("utf-8"))
    _replace(html_path, html_text.encode("utf-8"))
    return written


def _replace(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary sibling, then rename it over ``path``."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)

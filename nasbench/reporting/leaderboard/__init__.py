"""Leaderboard report of a results directory written by ``nasbench compare``.

:func:`write_report` reads ``DIR/config.json``, ``runs.csv``, ``trajectories.csv``,
``pareto.csv`` and ``errors.json`` and writes two documents with the same content:

- ``OUT.html``: one static page, figures embedded as base64 PNG, no JavaScript and no
  external resources;
- ``OUT.md``: Markdown for a repository, its figures as PNG files in ``OUT_files/``.

Per table: anytime curves (median and inter-quartile band of test regret over seeds,
against simulated time and against evaluations), the final table by average rank (ties
declared), and the statistics under one protocol chosen before the runs and recorded in
config.json (:mod:`.stats`): Wilcoxon signed-rank tests (Pratt) against a pre-specified
baseline, Holm-adjusted (the default), or Demšar's Friedman test followed, only when it
rejects, by the Nemenyi post-hoc test and its critical-difference diagram. A failed run is
scored as the worst outcome of its seed, never dropped; every p-value has a mean
difference with a seeded bootstrap interval beside it. Constrained runs are judged
against the best feasible architecture, so they get a section of their own;
multi-objective runs add Pareto fronts with hypervolume against the table's fixed
reference point. The page ends with the failed runs, a best-practice checklist (Lindauer &
Hutter 2020) evaluated on the actual configuration, and the provenance of the results.

The output is a function of the results alone: no timestamps, and figures are rendered
with fixed settings and without metadata, so the same results give byte-identical files.
``timing.json`` (wall-clock seconds, different on every rerun) is deliberately not read.

Broken results are refused before anything is drawn (:func:`load_results`: files checked
against the results manifest, every run config.json asks for present once, trajectories
complete); every string from a table, config.json or a plug-in is escaped in both
documents; a report replaces only the files an earlier report wrote, and is written
through temporary siblings, so a failure leaves the earlier report whole.

Modules, one job each: :mod:`.load` (reading results), :mod:`.inference` (the statistical
arithmetic), :mod:`.stats` (the protocol applied to each comparison), :mod:`.figures`
(matplotlib), :mod:`.document` (the document model and its HTML and Markdown renderers),
:mod:`.sections` (the report's body), :mod:`.statistics_section` and
:mod:`.pareto_section` (two of its parts) and :mod:`.audit` (failed runs, checklist,
provenance).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path
from urllib.parse import quote

from nasbench.reporting.leaderboard.document import render_html, render_markdown
from nasbench.reporting.leaderboard.figures import figure_settings
from nasbench.reporting.leaderboard.load import RESULTS_FORMAT, Results, ResultsError, load_results
from nasbench.reporting.leaderboard.sections import build_document
from nasbench.reporting.leaderboard.stats import (
    Comparison,
    NemenyiPair,
    PairedTest,
    Protocol,
    StrategySummary,
    TestOutcome,
    analyse,
    statistics_protocol,
)

__all__ = [
    "MANIFEST_NAME",
    "RESULTS_FORMAT",
    "Comparison",
    "NemenyiPair",
    "PairedTest",
    "Protocol",
    "Results",
    "ResultsError",
    "StrategySummary",
    "TestOutcome",
    "analyse",
    "check_report_out",
    "load_results",
    "statistics_protocol",
    "write_report",
]


#: The manifest a report keeps in its figures folder: the files it wrote (and their sha256),
#: so that a later report replaces exactly those, unchanged since, and never anything else.
MANIFEST_NAME = ".nasbench-report.json"
#: How the first line of a report's Markdown and its HTML title begin (reports written
#: before manifests existed are recognised by both).
_TITLE = "nasbench leaderboard: "


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


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _legacy_owned(html_path: Path, markdown_path: Path, files: Path) -> dict[Path, str | None]:
    """Files of a report written before manifests existed: its Markdown if its first line
    is a leaderboard's title, its HTML if it is a page with that title, and numbered figures
    beside them (none when neither document is a report's)."""
    owned: dict[Path, str | None] = {}
    if markdown_path.is_file():
        with markdown_path.open(encoding="utf-8", errors="replace") as handle:
            if handle.readline().startswith(f"# {_TITLE}"):
                owned[markdown_path] = None
    if html_path.is_file():
        with html_path.open(encoding="utf-8", errors="replace") as handle:
            head = handle.read(4096)
        if head.startswith("<!DOCTYPE html>") and f"<title>{_TITLE}" in head:
            owned[html_path] = None
    if owned and files.is_dir():
        owned.update((path, None) for path in files.glob("[0-9][0-9]-*.png") if path.is_file())
    return owned


def _owned(html_path: Path, markdown_path: Path, files: Path) -> dict[Path, str | None]:
    """Files at this prefix an earlier report wrote, with the sha256 it recorded (None for
    a manifest that recorded none): only the HTML, the Markdown and figures in the folder,
    whatever else a manifest names."""
    manifest = files / MANIFEST_NAME
    if not manifest.exists() and not manifest.is_symlink():
        return _legacy_owned(html_path, markdown_path, files)
    try:
        if manifest.is_symlink():
            raise ValueError
        data = json.loads(manifest.read_text(encoding="utf-8"))
        names, digests = data["files"], data.get("sha256", {})
        if not isinstance(names, list) or not isinstance(digests, dict):
            raise ValueError
    except (ValueError, KeyError, TypeError, OSError):
        raise ResultsError(f"{manifest}: not a report's manifest; choose another --out") from None
    allowed = {html_path.name: html_path, markdown_path.name: markdown_path}
    owned: dict[Path, str | None] = {}
    for name in names:
        if not isinstance(name, str):
            continue
        folder, _, file_name = name.rpartition("/")
        if folder == files.name and file_name and file_name not in (".", "..", MANIFEST_NAME):
            path = files / file_name
        elif name in allowed:
            path = allowed[name]
        else:  # a manifest never names anything else: not ours to replace
            continue
        digest = digests.get(name)
        owned[path] = digest if isinstance(digest, str) else None
    return owned


def _check_ownership(html_path: Path, markdown_path: Path, files: Path) -> set[Path]:
    """The files at this prefix, all written by an earlier report; a ResultsError naming the
    first that an earlier report did not write, or that was changed after it wrote it (it
    is never replaced or deleted)."""
    if (files.exists() or files.is_symlink()) and (files.is_symlink() or not files.is_dir()):
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
        digest = owned[path]
        if digest is not None and _sha256(path) != digest:
            raise ResultsError(
                f"{path}: changed after nasbench report wrote it, so it is left alone; "
                "move it or choose another --out"
            )
    return set(present)


def check_report_out(out: str | Path) -> None:
    """ResultsError unless a report may be written at the prefix ``out``: nothing there, or
    only files an earlier report wrote and unchanged since (see :func:`write_report`). For
    callers that check every output before a long computation."""
    _check_ownership(*_report_paths(out))


def write_report(results_dir: str | Path, out: str | Path, *, allow_incomplete: bool = False) -> list[Path]:
    """Write ``out + '.html'`` and ``out + '.md'`` (figures in ``out + '_files/'``) from a
    results directory; returns the paths written: HTML, Markdown, then the PNG files.

    Only files an earlier report wrote, unchanged since, are ever replaced (the figures
    folder keeps a manifest of them with their sha256): a report whose prefix would
    overwrite anything else, such as ``--out README`` beside a README.md, is refused before
    anything is written. Everything is rendered, then written to temporary siblings, then
    renamed into place, so bad results, a full disk or an interrupt leave the earlier report
    as it was and no partial file; figures of an earlier report that this one does not draw
    are deleted. ``allow_incomplete``: see :func:`load_results`."""
    html_path, markdown_path, files = _report_paths(out)
    owned = _check_ownership(html_path, markdown_path, files)
    results = load_results(results_dir, allow_incomplete=allow_incomplete)
    with figure_settings():
        document = build_document(results)
    contents = {
        html_path: render_html(document, document.title).encode("utf-8"),
        markdown_path: render_markdown(document, quote(files.name)).encode("utf-8"),
    }
    contents.update((files / image.file_name, image.png) for image in document.images)
    written = list(contents)
    root = html_path.parent
    manifest = {
        "written_by": "nasbench report",
        "files": [str(path.relative_to(root)) for path in written],
        "sha256": {
            str(path.relative_to(root)): hashlib.sha256(data).hexdigest() for path, data in contents.items()
        },
    }
    try:
        _install(contents, files, (json.dumps(manifest, indent=2) + "\n").encode(), owned)
    except OSError as exc:
        raise ResultsError(f"{root / files.name}: cannot write the report ({exc.strerror or exc})") from None
    return written


def _write_new(path: Path, data: bytes) -> None:
    """Write ``data`` to the new file ``path`` (never an existing one)."""
    with open(path, "xb") as handle:
        handle.write(data)


def _install(contents: dict[Path, bytes], files: Path, manifest: bytes, owned: set[Path]) -> None:
    """Write a report: the figures and the manifest into a temporary folder beside
    ``files``, the documents into temporary siblings; then rename the folder over ``files``
    and each document over its name. The earlier folder loses the files an earlier report
    wrote (``owned``) and its manifest, and goes unless something else appeared in it
    meanwhile. On any error before the renames nothing is replaced, and every temporary
    file is removed."""
    tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging = files.with_name(f".{files.name}.tmp-{tag}")
    old = files.with_name(f".{files.name}.old-{tag}")
    documents = {path: path.with_name(f".{path.name}.tmp-{tag}") for path in contents if path.parent != files}
    try:
        files.parent.mkdir(parents=True, exist_ok=True)
        staging.mkdir()
        for path, data in contents.items():
            _write_new(documents.get(path, staging / path.name), data)
        _write_new(staging / MANIFEST_NAME, manifest)
        if files.is_dir():
            os.replace(files, old)
        try:
            os.replace(staging, files)
        except BaseException:
            if old.is_dir():
                os.replace(old, files)
            raise
        for path, temporary in documents.items():
            os.replace(temporary, path)
    finally:
        for temporary in documents.values():
            temporary.unlink(missing_ok=True)
        if staging.is_dir():
            shutil.rmtree(staging, ignore_errors=True)
    if old.is_dir():
        for name in {path.name for path in owned if path.parent == files} | {MANIFEST_NAME}:
            (old / name).unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # something appeared meanwhile: kept
            old.rmdir()

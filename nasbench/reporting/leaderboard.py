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
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import numpy as np
import pandas as pd

from nasbench.bench.results import (
    ARCHITECTURE_WEIGHT_COLUMNS,
    FORMAT,
    ONE_SHOT_COLUMNS,
    PARETO_COLUMNS,
    RESULT_FILES,
    RUNS_COLUMNS,
    TRAJECTORY_FILE_COLUMNS,
)
from nasbench.core.errors import NasbenchError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

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

#: The files and columns this module reads are the runner's (nasbench.search.runner).
RESULTS_FORMAT = FORMAT
RUN_COLUMNS = RUNS_COLUMNS
TRAJECTORY_CSV_COLUMNS = TRAJECTORY_FILE_COLUMNS
_TEXT_COLUMNS = ("table", "strategy", "kind", "status", "final_arch", "objective", "constraint", "edge", "op")
#: Columns a results directory written before they existed lacks; read as empty.
_OPTIONAL_COLUMNS = ("search_seconds",)
#: Files whose checksums the provenance lists: all but timing.json (wall seconds vary).
_RESULT_FILES = tuple(name for name in RESULT_FILES if name != "timing.json")

#: Significance level of every test in the report.
ALPHA = 0.05
#: Fewest seeds the checklist accepts as "enough repetitions".
MIN_SEEDS = 5
#: Strategy names that count as the random-search baseline.
RANDOM_SEARCH_NAMES = ("rs", "random", "random-search", "random_search")
_MATPLOTLIB_RC = {
    "svg.hashsalt": "nasbench-report",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "figure.dpi": 100.0,
    "savefig.dpi": 100.0,
}
_FIGURE_DPI = 100


class ResultsError(NasbenchError):
    """A results directory is missing, incomplete or not in the format this report reads."""


# --------------------------------------------------------------------- reading
@dataclass
class Results:
    """The contents of a results directory, as read (no derived numbers)."""

    directory: Path
    config: dict[str, Any]
    runs: pd.DataFrame
    trajectories: pd.DataFrame
    pareto: pd.DataFrame
    errors: list[dict[str, Any]]
    #: One-shot runs: per-epoch supernet records and architecture weights (empty without any).
    one_shot: pd.DataFrame
    architecture_weights: pd.DataFrame
    #: sha256 of every result file that was read, by file name.
    checksums: dict[str, str]


def _read_csv(path: Path, columns: Sequence[str], *, required: bool) -> tuple[pd.DataFrame, str | None]:
    """A CSV file with at least ``columns`` (text columns as str, empty -> ''), and its sha256."""
    if not path.is_file():
        if required:
            raise ResultsError(f"{path}: missing; a results directory written by `nasbench compare` has it")
        return pd.DataFrame({name: pd.Series(dtype=object) for name in columns}), None
    data = path.read_bytes()
    text = [name for name in columns if name in _TEXT_COLUMNS]
    missing_values = {name: [""] if name in text else ["", "nan", "NaN", "-nan"] for name in columns}
    try:
        frame = pd.read_csv(
            io.BytesIO(data),
            dtype={name: str for name in text},
            keep_default_na=False,
            na_values=missing_values,
        )
    except (ValueError, UnicodeDecodeError) as exc:  # ParserError and EmptyDataError are ValueErrors
        raise ResultsError(f"{path}: not a readable CSV file ({exc})") from None
    for name in _OPTIONAL_COLUMNS:  # added after results format 1 was first written
        if name in columns and name not in frame.columns:
            frame[name] = np.nan
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise ResultsError(f"{path}: missing columns {', '.join(missing)}")
    for name in columns:
        if name in text:
            frame[name] = frame[name].fillna("").astype(str)
        else:
            try:
                frame[name] = pd.to_numeric(frame[name]).astype(np.float64)
            except (ValueError, TypeError):
                raise ResultsError(f"{path}: column {name!r} holds a value that is not a number") from None
    return frame, hashlib.sha256(data).hexdigest()


def load_results(results_dir: str | Path) -> Results:
    """Read and check a results directory; :class:`ResultsError` says what is wrong."""
    directory = Path(results_dir)
    if not directory.is_dir():
        raise ResultsError(f"{directory}: not a results directory (run `nasbench compare --out {directory}`)")
    checksums: dict[str, str] = {}
    config_path = directory / "config.json"
    if not config_path.is_file():
        raise ResultsError(
            f"{config_path}: missing; is {directory} a directory written by `nasbench compare`?"
        )
    raw = config_path.read_bytes()
    try:
        config = json.loads(raw)
    except ValueError as exc:
        raise ResultsError(f"{config_path}: not valid JSON ({exc})") from None
    if not isinstance(config, dict) or config.get("format") != RESULTS_FORMAT:
        found = config.get("format") if isinstance(config, dict) else type(config).__name__
        raise ResultsError(f"{config_path}: format {found!r}, expected {RESULTS_FORMAT!r}")
    for key, kind in (("budget", dict), ("seeds", list), ("tables", list), ("strategies", list)):
        if not isinstance(config.get(key), kind):
            raise ResultsError(f"{config_path}: {key!r} missing or not a {kind.__name__}")
    for entry in config["tables"] + config["strategies"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ResultsError(f"{config_path}: every table and strategy needs a 'name'")
    checksums["config.json"] = hashlib.sha256(raw).hexdigest()

    runs, digest = _read_csv(directory / "runs.csv", RUN_COLUMNS, required=True)
    checksums["runs.csv"] = str(digest)
    bad = sorted(set(runs["status"]) - {"ok", "failed"})
    if bad:
        raise ResultsError(f"{directory / 'runs.csv'}: unknown status {', '.join(map(repr, bad))}")
    if runs["seed"].isna().any():
        raise ResultsError(f"{directory / 'runs.csv'}: a run without a seed")
    trajectories, digest = _read_csv(directory / "trajectories.csv", TRAJECTORY_CSV_COLUMNS, required=True)
    checksums["trajectories.csv"] = str(digest)
    pareto, digest = _read_csv(directory / "pareto.csv", PARETO_COLUMNS, required=False)
    if digest is not None:
        checksums["pareto.csv"] = digest
    one_shot, digest = _read_csv(directory / "one_shot.csv", ONE_SHOT_COLUMNS, required=False)
    if digest is not None:
        checksums["one_shot.csv"] = digest
    weights, digest = _read_csv(
        directory / "architecture_weights.csv", ARCHITECTURE_WEIGHT_COLUMNS, required=False
    )
    if digest is not None:
        checksums["architecture_weights.csv"] = digest
    errors: list[dict[str, Any]] = []
    errors_path = directory / "errors.json"
    if errors_path.is_file():
        raw = errors_path.read_bytes()
        try:
            errors = json.loads(raw)
        except ValueError as exc:
            raise ResultsError(f"{errors_path}: not valid JSON ({exc})") from None
        if not isinstance(errors, list) or not all(isinstance(item, dict) for item in errors):
            raise ResultsError(f"{errors_path}: expected a list of error records")
        checksums["errors.json"] = hashlib.sha256(raw).hexdigest()
    return Results(directory, config, runs, trajectories, pareto, errors, one_shot, weights, checksums)


# --------------------------------------------------------------------- analysis
@dataclass(frozen=True)
class TestOutcome:
    """One omnibus test: its statistic and p-value, or why it was not run."""

    __test__ = False  # not a pytest test class

    name: str
    statistic: float = math.nan
    p_value: float = math.nan
    skipped: str = ""

    @property
    def ran(self) -> bool:
        """Whether the test was computed."""
        return not self.skipped


@dataclass(frozen=True)
class PairedTest:
    """Wilcoxon signed-rank test of one strategy's final regret against the reference's."""

    strategy: str
    reference: str
    num_pairs: int
    median_difference_pp: float  # strategy minus reference, percentage points of regret
    statistic: float = math.nan
    p_value: float = math.nan
    p_value_holm: float = math.nan
    skipped: str = ""


@dataclass(frozen=True)
class StrategySummary:
    """Final results of one strategy on one table (one group), over its seeds."""

    strategy: str
    kind: str
    runs_total: int
    runs_failed: int
    evaluations_mean: float
    final_test_acc: np.ndarray  # percent, one per run with a result, by seed
    final_regret: np.ndarray  # percentage points, aligned with final_test_acc
    average_rank: float = math.nan  # over the complete blocks; NaN when unranked


@dataclass
class Comparison:
    """Strategies on one table under one constraint ('' for the unconstrained comparison)."""

    table: str
    constraint: str
    summaries: list[StrategySummary]  # best average rank first, unranked last
    seeds_used: list[int]  # blocks: seeds on which every ranked strategy has a final result
    seeds_left_out: list[int]
    notes: list[str]
    friedman: TestOutcome
    critical_difference: float  # Nemenyi, in average-rank units; NaN when Friedman was skipped
    wilcoxon: list[PairedTest] = field(default_factory=list)

    @property
    def ranked(self) -> list[StrategySummary]:
        """The summaries that have an average rank, best first."""
        return [summary for summary in self.summaries if not math.isnan(summary.average_rank)]


def _holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order."""
    order = np.argsort(p_values, kind="stable")
    count = len(p_values)
    adjusted = [0.0] * count
    running = 0.0
    for position, index in enumerate(order):
        running = max(running, min(1.0, (count - position) * p_values[index]))
        adjusted[index] = running
    return adjusted


def _critical_difference(num_strategies: int, num_blocks: int, alpha: float = ALPHA) -> float:
    """Nemenyi critical difference of average ranks (Demšar 2006, eq. 5)."""
    from scipy.stats import studentized_range

    q_alpha = float(studentized_range.ppf(1.0 - alpha, num_strategies, np.inf)) / math.sqrt(2.0)
    return q_alpha * math.sqrt(num_strategies * (num_strategies + 1) / (6.0 * num_blocks))


def _compare(table: str, constraint: str, runs: pd.DataFrame, seeds: list[int]) -> Comparison:
    """Final table and statistics of the runs of one group."""
    from scipy.stats import friedmanchisquare, rankdata

    notes: list[str] = []
    finals: dict[str, dict[int, tuple[float, float]]] = {}
    summaries: dict[str, StrategySummary] = {}
    for strategy, frame in runs.groupby("strategy", sort=True):
        ok = frame[(frame["status"] == "ok") & np.isfinite(frame["final_regret"])]
        finals[str(strategy)] = {
            int(seed): (float(acc), float(regret))
            for seed, acc, regret in zip(ok["seed"], ok["final_test_acc"], ok["final_regret"], strict=True)
        }
        ok_runs = frame[frame["status"] == "ok"]
        summaries[str(strategy)] = StrategySummary(
            strategy=str(strategy),
            kind=str(frame["kind"].iloc[0]),
            runs_total=len(frame),
            runs_failed=int((frame["status"] == "failed").sum()),
            evaluations_mean=float(ok_runs["evaluations"].mean()) if len(ok_runs) else math.nan,
            final_test_acc=np.asarray([finals[str(strategy)][s][0] for s in sorted(finals[str(strategy)])]),
            final_regret=np.asarray([finals[str(strategy)][s][1] for s in sorted(finals[str(strategy)])]),
        )
        without = len(ok_runs) - len(ok)
        if without:
            notes.append(f"{strategy}: {without} finished run(s) without a final result (no incumbent).")
    candidates = [name for name in sorted(finals) if finals[name]]
    for name in sorted(set(finals) - set(candidates)):
        notes.append(f"{name}: no run with a final result; not ranked.")
    all_seeds = sorted(set(seeds) | {int(s) for s in runs["seed"]})
    blocks = [seed for seed in all_seeds if candidates and all(seed in finals[name] for name in candidates)]
    left_out = [seed for seed in all_seeds if seed not in blocks]
    if left_out and candidates:
        notes.append(
            "Ranks and tests use the seeds on which every ranked strategy finished; "
            f"left out: {', '.join(map(str, left_out))}."
        )
    regret = np.asarray([[finals[name][seed][1] for name in candidates] for seed in blocks], dtype=np.float64)
    if len(blocks):
        average = rankdata(regret, axis=1).mean(axis=0)  # rank 1 = lowest regret; ties share
        for name, rank in zip(candidates, average, strict=True):
            summaries[name] = replace(summaries[name], average_rank=float(rank))
    count, num_blocks = len(candidates), len(blocks)
    friedman, critical = TestOutcome("Friedman"), math.nan
    if count < 3:
        friedman = TestOutcome(
            "Friedman", skipped=f"needs at least 3 strategies with results, this comparison has {count}"
        )
    elif num_blocks < 2:
        friedman = TestOutcome(
            "Friedman", skipped=f"needs at least 2 seeds on which every strategy finished, found {num_blocks}"
        )
    elif np.all(regret == regret[:, :1]):
        friedman = TestOutcome("Friedman", skipped="every strategy has the same final regret on every seed")
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = friedmanchisquare(*regret.T)
        friedman = TestOutcome("Friedman", float(result.statistic), float(result.pvalue))
        critical = _critical_difference(count, num_blocks)
    ordered = sorted(
        summaries.values(), key=lambda s: (math.isnan(s.average_rank), s.average_rank, s.strategy)
    )
    comparison = Comparison(table, constraint, ordered, blocks, left_out, notes, friedman, critical)
    comparison.wilcoxon = _wilcoxon_against_best(comparison, finals)
    return comparison


def _wilcoxon_against_best(
    comparison: Comparison, finals: dict[str, dict[int, tuple[float, float]]]
) -> list[PairedTest]:
    """Wilcoxon signed-rank test of every ranked strategy against the best-ranked one."""
    from scipy.stats import wilcoxon

    ranked = comparison.ranked
    if len(ranked) < 2:
        return []
    reference = ranked[0].strategy
    tests: list[PairedTest] = []
    for summary in ranked[1:]:
        name = summary.strategy
        common = sorted(set(finals[name]) & set(finals[reference]))
        difference = np.asarray([finals[name][s][1] - finals[reference][s][1] for s in common])
        median = float(np.median(difference)) if len(difference) else math.nan
        if len(common) < 2:
            tests.append(
                PairedTest(name, reference, len(common), median, skipped="fewer than 2 paired seeds")
            )
        elif np.all(difference == 0):
            tests.append(
                PairedTest(
                    name,
                    reference,
                    len(common),
                    median,
                    skipped=f"identical final regret on all {len(common)} seeds",
                )
            )
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = wilcoxon(difference)
            tests.append(
                PairedTest(
                    name, reference, len(common), median, float(result.statistic), float(result.pvalue)
                )
            )
    ran = [index for index, test in enumerate(tests) if not test.skipped]
    adjusted = _holm([tests[index].p_value for index in ran])
    for index, value in zip(ran, adjusted, strict=True):
        tests[index] = replace(tests[index], p_value_holm=value)
    return tests


def _table_names(results: Results) -> list[str]:
    """Tables in config order, then any that only runs.csv names."""
    names = [str(entry["name"]) for entry in results.config["tables"]]
    return names + sorted(set(results.runs["table"]) - set(names))


def analyse(results: Results) -> list[Comparison]:
    """One :class:`Comparison` per table (unconstrained runs) and per (table, constraint)."""
    seeds = [int(seed) for seed in results.config["seeds"]]
    out: list[Comparison] = []
    runs = results.runs
    for table in _table_names(results):
        on_table = runs[runs["table"] == table]
        for constraint in ["", *sorted(set(on_table["constraint"]) - {""})]:
            group = on_table[on_table["constraint"] == constraint]
            if len(group):
                out.append(_compare(table, constraint, group, seeds))
    return out


# --------------------------------------------------------------------- document model
@dataclass(frozen=True)
class _Heading:
    level: int
    text: str
    anchor: str


@dataclass(frozen=True)
class _Paragraph:
    text: str


@dataclass(frozen=True)
class _Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class _Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]  # right-aligned columns


@dataclass(frozen=True)
class _Image:
    file_name: str
    alt: str
    caption: str
    png: bytes
    plot: str  # kind of plot: anytime, critical-difference, pareto, weights


@dataclass(frozen=True)
class _Code:
    text: str
    language: str


@dataclass(frozen=True)
class _Details:
    summary: str
    text: str


_Block = _Heading | _Paragraph | _Bullets | _Table | _Image | _Code | _Details


class _Document:
    """Blocks shared by the HTML and Markdown renderers."""

    def __init__(self) -> None:
        self.blocks: list[_Block] = []
        self._anchors: set[str] = set()

    def heading(self, level: int, text: str) -> None:
        base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"
        anchor, number = base, 2
        while anchor in self._anchors:
            anchor, number = f"{base}-{number}", number + 1
        self._anchors.add(anchor)
        self.blocks.append(_Heading(level, text, anchor))

    def paragraph(self, text: str) -> None:
        self.blocks.append(_Paragraph(text))

    def bullets(self, items: Sequence[str]) -> None:
        if items:
            self.blocks.append(_Bullets(tuple(items)))

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[bool]) -> None:
        self.blocks.append(_Table(tuple(header), tuple(tuple(row) for row in rows), tuple(numeric)))

    def image(self, stem: str, alt: str, caption: str, png: bytes, plot: str) -> None:
        number = sum(isinstance(block, _Image) for block in self.blocks) + 1
        slug = re.sub(r"[^A-Za-z0-9]+", "-", stem).strip("-").lower()
        self.blocks.append(_Image(f"{number:02d}-{slug}.png", alt, caption, png, plot))

    def code(self, text: str, language: str = "") -> None:
        self.blocks.append(_Code(text, language))

    def details(self, summary: str, text: str) -> None:
        self.blocks.append(_Details(summary, text))

    @property
    def images(self) -> list[_Image]:
        return [block for block in self.blocks if isinstance(block, _Image)]


_CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#1b1b1b;line-height:1.45}
h1,h2,h3{line-height:1.2}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:1em 0;font-size:.9em;display:block;overflow-x:auto;max-width:100%}
th,td{border:1px solid #ccc;padding:.25em .6em;vertical-align:top}th{background:#f3f3f3}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
figure{margin:1em 0}figure img{max-width:100%;height:auto}figcaption{font-size:.9em;color:#444}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:.85em}
nav ul{columns:2}details{margin:.3em 0}
""".strip()


def _render_html(document: _Document, title: str) -> str:
    escape = html.escape
    body: list[str] = []
    contents = [block for block in document.blocks if isinstance(block, _Heading) and block.level == 2]
    for block in document.blocks:
        if isinstance(block, _Heading):
            body.append(f'<h{block.level} id="{block.anchor}">{escape(block.text)}</h{block.level}>')
            if block.level == 1 and contents:
                links = "".join(f'<li><a href="#{h.anchor}">{escape(h.text)}</a></li>' for h in contents)
                body.append(f"<nav><ul>{links}</ul></nav>")
        elif isinstance(block, _Paragraph):
            body.append(f"<p>{escape(block.text)}</p>")
        elif isinstance(block, _Bullets):
            body.append("<ul>" + "".join(f"<li>{escape(item)}</li>" for item in block.items) + "</ul>")
        elif isinstance(block, _Table):
            head = "".join(f"<th>{escape(cell)}</th>" for cell in block.header)
            rows = []
            for row in block.rows:
                cells = "".join(
                    f'<td class="num">{escape(cell)}</td>' if numeric else f"<td>{escape(cell)}</td>"
                    for cell, numeric in zip(row, block.numeric, strict=True)
                )
                rows.append(f"<tr>{cells}</tr>")
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
        elif isinstance(block, _Image):
            data = base64.b64encode(block.png).decode("ascii")
            body.append(
                f'<figure><img id="{escape(block.file_name[:-4])}" data-plot="{block.plot}" '
                f'alt="{escape(block.alt)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{escape(block.caption)}</figcaption></figure>"
            )
        elif isinstance(block, _Code):
            body.append(f"<pre><code>{escape(block.text)}</code></pre>")
        else:
            body.append(
                f"<details><summary>{escape(block.summary)}</summary><pre>{escape(block.text)}</pre></details>"
            )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<link rel="icon" href="data:,">\n<title>{escape(title)}</title>\n<style>\n{_CSS}\n</style>\n'
        "</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )


def _markdown_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _render_markdown(document: _Document, files_link: str) -> str:
    parts: list[str] = []
    for block in document.blocks:
        if isinstance(block, _Heading):
            parts.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, _Paragraph):
            parts.append(block.text)
        elif isinstance(block, _Bullets):
            parts.append("\n".join(f"- {item}" for item in block.items))
        elif isinstance(block, _Table):
            lines = ["| " + " | ".join(_markdown_cell(cell) for cell in block.header) + " |"]
            lines.append("|" + "|".join("---:" if numeric else "---" for numeric in block.numeric) + "|")
            lines.extend("| " + " | ".join(_markdown_cell(cell) for cell in row) + " |" for row in block.rows)
            parts.append("\n".join(lines))
        elif isinstance(block, _Image):
            alt = block.alt.replace("[", "(").replace("]", ")")
            parts.append(f"![{alt}]({files_link}/{quote(block.file_name)})\n\n*{block.caption}*")
        elif isinstance(block, _Code):
            parts.append(f"```{block.language}\n{block.text}\n```")
        else:
            parts.append(
                f"<details><summary>{html.escape(block.summary)}</summary>\n\n```text\n{block.text}\n```\n\n</details>"
            )
    return "\n\n".join(parts) + "\n"


# --------------------------------------------------------------------- number formatting
def _number(value: float, digits: int = 2) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _mean_sd(values: np.ndarray, digits: int = 2) -> str:
    if len(values) == 0:
        return "—"
    if len(values) == 1:
        return _number(float(values[0]), digits)
    return f"{np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f}"


def _p_value(value: float) -> str:
    if not math.isfinite(value):
        return "—"
    return f"{value:.2e}" if value < 1e-3 else f"{value:.4f}"


def _budget_text(budget: dict[str, Any]) -> str:
    """'150 evaluations', '3600 simulated seconds' or both, whichever is spent first."""
    parts = []
    if budget.get("evaluations") is not None:
        parts.append(f"{budget['evaluations']} evaluations")
    if budget.get("seconds") is not None:
        parts.append(f"{budget['seconds']:g} simulated seconds")
    if not parts:
        return "no budget recorded"
    return " or ".join(parts) + (", whichever is spent first" if len(parts) > 1 else "")


# --------------------------------------------------------------------- figures
def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError:  # a core dependency, but keep the hint for broken environments
        raise NasbenchError("the report needs matplotlib: pip install 'matplotlib>=3.7'") from None
    return matplotlib


def _new_figure(width_in: float, height_in: float) -> Figure:
    """A figure on the Agg canvas, without touching pyplot's global state."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width_in, height_in), dpi=_FIGURE_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_FIGURE_DPI, metadata={"Software": None})
    return buffer.getvalue()


class _Palette:
    """One colour and line style per strategy, the same in every figure."""

    def __init__(self, names: Sequence[str]) -> None:
        matplotlib = _matplotlib()
        unique = sorted(set(names))
        colours = matplotlib.colormaps["tab10"].colors  # ten distinct hues; then a new line style
        styles = ("-", "--", "-.", ":")
        self._style = {
            name: (colours[i % len(colours)], styles[(i // len(colours)) % len(styles)])
            for i, name in enumerate(unique)
        }

    def colour(self, name: str) -> Any:
        return self._style.get(name, ("black", "-"))[0]

    def line(self, name: str) -> str:
        return self._style.get(name, ("black", "-"))[1]


@dataclass(frozen=True)
class _Run:
    evaluation: np.ndarray
    sim_seconds: np.ndarray
    regret: np.ndarray  # +inf before the run has an incumbent


_NO_INCUMBENT = 1e300  # stands in for "no incumbent yet" in quantiles; larger than any regret


def _quantile_curves(matrix: np.ndarray) -> np.ndarray:
    """[3, points]: 25 %, 50 %, 75 % over runs; NaN where fewer than that share have an incumbent."""
    quantiles = np.quantile(np.minimum(matrix, _NO_INCUMBENT), [0.25, 0.5, 0.75], axis=0)
    return np.where(quantiles >= _NO_INCUMBENT / 10, np.nan, quantiles)


def _step_values(x: np.ndarray, y: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """y of the last point with x <= each grid value (a step function); +inf before the first."""
    position = np.searchsorted(x, grid, side="right") - 1
    return np.where(position >= 0, y[np.maximum(position, 0)], np.inf)


def _anytime_figure(title: str, runs: dict[str, list[_Run]], palette: _Palette) -> tuple[bytes, float] | None:
    """Median and IQR of regret over seeds vs simulated time and vs evaluations; PNG and the floor."""
    runs = {name: [run for run in items if len(run.evaluation)] for name, items in runs.items()}
    runs = {name: items for name, items in runs.items() if items}
    if not runs:
        return None
    everything = np.concatenate([run.regret for items in runs.values() for run in items])
    positive = everything[np.isfinite(everything) & (everything > 0)]
    floor = float(positive.min()) / 2 if len(positive) else 1e-3
    every_run = [run for items in runs.values() for run in items]
    starts = [float(run.sim_seconds[run.sim_seconds > 0][0]) for run in every_run if run.sim_seconds[-1] > 0]
    end_seconds = max(float(run.sim_seconds[-1]) for run in every_run)
    evaluation_grid = np.arange(1, max(int(run.evaluation[-1]) for run in every_run) + 1)
    time_grid = np.geomspace(min(starts), max(end_seconds, min(starts)), 200) if starts else None

    figure = _new_figure(10.5, 3.9)
    time_axes, evaluation_axes = figure.subplots(1, 2, sharey=True)
    for name in sorted(runs):
        items = runs[name]
        by_evaluation = np.stack([_step_values(run.evaluation, run.regret, evaluation_grid) for run in items])
        curves = [(evaluation_axes, evaluation_grid, by_evaluation, "steps-post")]
        if time_grid is not None:
            by_time = np.stack([_step_values(run.sim_seconds, run.regret, time_grid) for run in items])
            curves.append((time_axes, time_grid, by_time, "default"))
        for axes, grid, matrix, drawstyle in curves:
            low, median, high = np.maximum(_quantile_curves(matrix), floor)
            axes.plot(
                grid, median, color=palette.colour(name), linestyle=palette.line(name),
                drawstyle=drawstyle, linewidth=1.6, label=f"{name} ({len(items)})",
            )  # fmt: skip
            step = "post" if drawstyle == "steps-post" else None
            axes.fill_between(grid, low, high, color=palette.colour(name), alpha=0.15, linewidth=0, step=step)
    for axes in (time_axes, evaluation_axes):
        axes.set_xscale("log")
        axes.set_yscale("log")
    time_axes.set_xlabel("simulated time (s)")
    evaluation_axes.set_xlabel("evaluations")
    time_axes.set_ylabel("test regret (percentage points)")
    if time_grid is None:
        time_axes.text(0.5, 0.5, "no simulated time recorded", transform=time_axes.transAxes, ha="center")
    handles, labels = evaluation_axes.get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside right upper", title="strategy (runs)", fontsize=8)
    figure.suptitle(title)
    return _png(figure), floor


def _critical_difference_figure(title: str, ranked: Sequence[StrategySummary], critical: float) -> bytes:
    """Demšar's diagram: average ranks on an axis, groups closer than the CD joined by bars."""
    names = [summary.strategy for summary in ranked]
    ranks = [summary.average_rank for summary in ranked]
    count = len(names)
    # Maximal runs of consecutive strategies (by rank) whose spread is below the CD.
    groups: list[tuple[int, int]] = []
    for start in range(count):
        end = start
        while end + 1 < count and ranks[end + 1] - ranks[start] < critical:
            end += 1
        if end > start and not any(s <= start and end <= e for s, e in groups):
            groups.append((start, end))
    half = (count + 1) // 2
    row_step = 0.32
    bar_top = -0.18
    label_top = bar_top - 0.16 * len(groups) - 0.15
    rows = max(half, count - half)
    height_in = 0.9 + 0.27 * (rows + len(groups) * 0.5)
    figure = _new_figure(7.5, height_in)
    axes = figure.add_subplot()
    axes.set_axis_off()
    axes.grid(False)
    low, high = 1.0, float(max(count, 2))
    axes.plot([low, high], [0, 0], color="black", linewidth=1.2)
    for tick in range(1, int(high) + 1):
        axes.plot([tick, tick], [0, 0.08], color="black", linewidth=1.0)
        axes.text(tick, 0.13, str(tick), ha="center", va="bottom", fontsize=9)
    axes.text((low + high) / 2, 0.42, "average rank (1 = lowest final regret)", ha="center", fontsize=9)
    if math.isfinite(critical):
        axes.plot([low, low + critical], [0.72, 0.72], color="black", linewidth=1.6)
        for end in (low, low + critical):
            axes.plot([end, end], [0.67, 0.77], color="black", linewidth=1.0)
        axes.text(low + critical / 2, 0.8, f"CD = {critical:.2f}", ha="center", va="bottom", fontsize=9)
    for position, (name, rank) in enumerate(zip(names, ranks, strict=True)):
        left = position < half
        row = position if left else count - 1 - position
        y = label_top - row * row_step
        x_text = low - 0.25 if left else high + 0.25
        axes.plot([rank, rank, x_text], [0, y, y], color="0.25", linewidth=0.9)
        axes.text(
            x_text - 0.05 if left else x_text + 0.05, y, f"{name} ({rank:.2f})",
            ha="right" if left else "left", va="center", fontsize=9,
        )  # fmt: skip
    for number, (start, end) in enumerate(groups):
        y = bar_top - 0.16 * number
        axes.plot([ranks[start] - 0.03, ranks[end] + 0.03], [y, y], color="black", linewidth=3.0)
    axes.set_xlim(low - 0.3, max(high, low + critical if math.isfinite(critical) else high) + 0.3)
    axes.set_ylim(label_top - rows * row_step, 1.05)
    figure.suptitle(title)
    return _png(figure)


def _pareto_front(values: np.ndarray, accuracies: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated points (min value, max accuracy), by increasing value."""
    order = np.lexsort((-accuracies, values))
    best = -math.inf
    keep = []
    for index in order:
        if accuracies[index] > best:
            keep.append(index)
            best = accuracies[index]
    return np.asarray(keep, dtype=np.int64)


def _hypervolume(values: np.ndarray, accuracies: np.ndarray, reference: tuple[float, float]) -> float:
    """Area dominated by the points (min value, max accuracy) up to the reference (worst) corner."""
    reference_value, reference_accuracy = reference
    front = _pareto_front(values, accuracies)
    area = 0.0
    for position, index in enumerate(front):
        right = values[front[position + 1]] if position + 1 < len(front) else reference_value
        area += max(0.0, right - values[index]) * max(0.0, accuracies[index] - reference_accuracy)
    return float(area)


def _pareto_figure(title: str, objective: str, frame: pd.DataFrame, palette: _Palette) -> bytes:
    """Val and test accuracy against the objective: every point, and each strategy's pooled front."""
    figure = _new_figure(10.5, 3.9)
    val_axes, test_axes = figure.subplots(1, 2, sharex=True)
    values = frame["objective_value"].to_numpy()
    positive = values[values > 0]
    logarithmic = len(positive) == len(values) and len(values) > 0 and positive.max() / positive.min() > 20
    for name, group in frame.groupby("strategy", sort=True):
        value = group["objective_value"].to_numpy()
        front = _pareto_front(value, group["val_acc"].to_numpy())
        for axes, column in ((val_axes, "val_acc"), (test_axes, "test_acc")):
            accuracy = group[column].to_numpy()
            axes.scatter(value, accuracy, s=8, alpha=0.25, color=palette.colour(str(name)), linewidths=0)
            axes.plot(
                value[front], accuracy[front], color=palette.colour(str(name)),
                linestyle=palette.line(str(name)), marker="o", markersize=3.5, linewidth=1.4,
                drawstyle="steps-post" if column == "val_acc" else "default", label=str(name),
            )  # fmt: skip
    for axes, what in ((val_axes, "validation"), (test_axes, "test")):
        axes.set_xlabel(objective)
        axes.set_ylabel(f"{what} accuracy (%)")
        if logarithmic:
            axes.set_xscale("log")
    val_axes.set_title("front on validation accuracy (as the runs saw it)", fontsize=9)
    test_axes.set_title("the same architectures, test accuracy", fontsize=9)
    handles, labels = val_axes.get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside right upper", title="strategy", fontsize=8)
    figure.suptitle(title)
    return _png(figure)


# --------------------------------------------------------------------- sections
def _runs_by_strategy(
    trajectories: dict[tuple[str, str, int], _Run], table: str, strategies: Sequence[str]
) -> dict[str, list[_Run]]:
    out: dict[str, list[_Run]] = {}
    for (run_table, strategy, _seed), run in trajectories.items():
        if run_table == table and strategy in strategies:
            out.setdefault(strategy, []).append(run)
    return out


def _trajectory_runs(results: Results) -> dict[tuple[str, str, int], _Run]:
    frame = results.trajectories.sort_values(["table", "strategy", "seed", "evaluation"], kind="stable")
    out: dict[tuple[str, str, int], _Run] = {}
    for (table, strategy, seed), group in frame.groupby(["table", "strategy", "seed"], sort=True):
        regret = group["regret"].to_numpy(dtype=np.float64)
        out[(str(table), str(strategy), int(seed))] = _Run(
            group["evaluation"].to_numpy(dtype=np.float64),
            group["sim_seconds"].to_numpy(dtype=np.float64),
            np.where(np.isfinite(regret), np.maximum(regret, 0.0), np.inf),
        )
    return out


def _final_table(document: _Document, comparison: Comparison) -> None:
    header = (
        "avg rank", "strategy", "kind", "runs ok / total", "failed", "evaluations",
        "test acc % (mean ± sd)", "test acc % (median)", "regret pp (mean ± sd)", "regret pp (median)",
    )  # fmt: skip
    rows = []
    for summary in comparison.summaries:
        ok = summary.runs_total - summary.runs_failed
        rows.append(
            (
                _number(summary.average_rank),
                summary.strategy,
                summary.kind,
                f"{ok} / {summary.runs_total}",
                str(summary.runs_failed),
                _number(summary.evaluations_mean, 1),
                _mean_sd(summary.final_test_acc),
                _number(
                    float(np.median(summary.final_test_acc)) if len(summary.final_test_acc) else math.nan
                ),
                _mean_sd(summary.final_regret, 3),
                _number(float(np.median(summary.final_regret)) if len(summary.final_regret) else math.nan, 3),
            )
        )
    numeric = (True, False, False, True, True, True, True, True, True, True)
    document.table(header, rows, numeric)


def _statistics(document: _Document, comparison: Comparison, title: str) -> None:
    friedman = comparison.friedman
    blocks = len(comparison.seeds_used)
    if friedman.ran:
        verdict = (
            f"the strategies differ (p < {ALPHA:g})"
            if friedman.p_value < ALPHA
            else f"no difference at {ALPHA:g}"
        )
        document.paragraph(
            f"Friedman test over {len(comparison.ranked)} strategies with {blocks} seeds as blocks: "
            f"chi² = {friedman.statistic:.4f}, p = {_p_value(friedman.p_value)} — {verdict}. "
            f"Nemenyi critical difference at alpha = {ALPHA:g}: "
            f"{comparison.critical_difference:.3f} average ranks."
        )
        png = _critical_difference_figure(title, comparison.ranked, comparison.critical_difference)
        caption = (
            "Critical-difference diagram (Demšar 2006): average rank over seeds, lower is better; "
            "strategies joined by a bar are closer than the Nemenyi critical difference."
        )
        if friedman.p_value >= ALPHA:
            caption += " The Friedman test did not reject equality, so no pair differs significantly."
        document.image(
            f"cd-{title}", f"Critical-difference diagram: {title}", caption, png, "critical-difference"
        )
    else:
        document.paragraph(f"Friedman test skipped: {friedman.skipped}.")
    if not comparison.wilcoxon:
        reason = "fewer than 2 strategies with results" if len(comparison.ranked) < 2 else "no pairs"
        document.paragraph(f"Wilcoxon signed-rank tests skipped: {reason}.")
        return
    reference = comparison.wilcoxon[0].reference
    document.paragraph(
        f"Wilcoxon signed-rank test (two-sided) of each strategy's final regret against the best-ranked "
        f"strategy, {reference}, on the seeds where both finished; p-values also Holm-adjusted for "
        f"{sum(not t.skipped for t in comparison.wilcoxon)} comparisons."
    )
    rows = []
    for test in comparison.wilcoxon:
        if test.skipped:
            outcome = f"skipped: {test.skipped}"
        elif test.p_value_holm < ALPHA:
            outcome = f"differs (Holm p < {ALPHA:g})"
        else:
            outcome = "no significant difference"
        rows.append(
            (
                test.strategy,
                test.reference,
                str(test.num_pairs),
                _number(test.median_difference_pp, 3),
                _number(test.statistic, 1),
                _p_value(test.p_value),
                _p_value(test.p_value_holm),
                outcome,
            )
        )
    document.table(
        ("strategy", "against", "seeds", "median Δ regret pp", "W", "p", "p (Holm)", "outcome"),
        rows,
        (False, False, True, True, True, True, True, False),
    )


def _comparison_section(
    document: _Document,
    comparison: Comparison,
    runs: dict[str, list[_Run]],
    palette: _Palette,
    best_test_acc: float | None,
) -> None:
    title = comparison.table if not comparison.constraint else f"{comparison.table}, {comparison.constraint}"
    if comparison.constraint:
        document.heading(3, f"{comparison.table} under {comparison.constraint}")
        document.paragraph(
            "Regret is measured against the best test accuracy among the architectures that satisfy "
            f"{comparison.constraint}, not against the table's best."
        )
    document.heading(3 if not comparison.constraint else 4, "Anytime performance")
    rendered = _anytime_figure(f"Test regret: {title}", runs, palette)
    if rendered is None:
        document.paragraph("No run recorded a trajectory, so there is nothing to plot.")
    else:
        png, floor = rendered
        document.image(
            f"anytime-{title}",
            f"Anytime test regret: {title}",
            "Median (line) and inter-quartile range (band) over seeds of the incumbent's test regret, "
            "against simulated training time and against evaluations; log axes. A run counts from its "
            f"first incumbent; regret 0 is drawn at {floor:.3g}. Legend: runs per strategy.",
            png,
            "anytime",
        )
    document.heading(3 if not comparison.constraint else 4, "Final results")
    best = "" if best_test_acc is None or comparison.constraint else f" (table best {best_test_acc:.2f} %)"
    document.paragraph(
        f"Final incumbent of every run: test accuracy in percent and regret in percentage points{best}. "
        "Average rank of the final regret over the seeds on which every strategy finished (1 = best)."
    )
    _final_table(document, comparison)
    document.bullets(comparison.notes)
    document.heading(3 if not comparison.constraint else 4, "Statistics")
    _statistics(document, comparison, title)


def _pareto_section(document: _Document, results: Results, palette: _Palette) -> None:
    pareto = results.pareto
    objectives = results.runs[results.runs["objective"] != ""]
    if not len(pareto) and not len(objectives):
        return
    document.heading(2, "Multi-objective runs: Pareto fronts")
    if not len(pareto):
        document.paragraph("Runs name an objective, but pareto.csv holds no rows, so no front can be drawn.")
        return
    document.paragraph(
        "Non-dominated architectures (highest validation accuracy, lowest objective value) found by the "
        "multi-objective runs at full epochs. Points: every front member of every seed; line: the front "
        "pooled over seeds. Hypervolume per seed is normalised to the box spanned by all points of the "
        "panel (0 to 1, higher is better)."
    )
    for table in _table_names(results):
        on_table = pareto[pareto["table"] == table]
        for objective in sorted(set(on_table["objective"])):
            frame = on_table[on_table["objective"] == objective]
            title = f"{table}: validation and test accuracy against {objective}"
            document.heading(3, f"{table}: {objective}")
            document.image(
                f"pareto-{table}-{objective}",
                f"Pareto fronts: {title}",
                f"Pareto fronts on {table}, accuracy against {objective}, pooled over seeds.",
                _pareto_figure(title, objective, frame, palette),
                "pareto",
            )
            value_low, value_high = (
                float(frame["objective_value"].min()),
                float(frame["objective_value"].max()),
            )
            acc_low, acc_high = float(frame["val_acc"].min()), float(frame["val_acc"].max())
            scale = max(value_high - value_low, 1e-12) * max(acc_high - acc_low, 1e-12)
            rows = []
            for name, group in frame.groupby("strategy", sort=True):
                volumes = np.asarray(
                    [
                        _hypervolume(
                            run["objective_value"].to_numpy(),
                            run["val_acc"].to_numpy(),
                            (value_high, acc_low),
                        )
                        / scale
                        for _seed, run in group.groupby("seed", sort=True)
                    ]
                )
                pooled = _pareto_front(group["objective_value"].to_numpy(), group["val_acc"].to_numpy())
                best = group.loc[group["val_acc"].idxmax()]
                rows.append(
                    (
                        str(name),
                        str(group["seed"].nunique()),
                        str(len(group)),
                        str(len(pooled)),
                        _mean_sd(volumes, 3),
                        _number(float(best["val_acc"])),
                        _number(float(best["test_acc"])),
                        f"{float(best['objective_value']):.4g}",
                    )
                )
            document.table(
                ("strategy", "seeds", "front points", "pooled front", "hypervolume (mean ± sd)",
                 "best val acc %", "its test acc %", f"its {objective}"),
                rows,
                (False, True, True, True, True, True, True, True),
            )  # fmt: skip


#: Ops without weights: a cell made of them is the collapse one-shot studies warn about.
PARAMETER_FREE_OPS = frozenset({"none", "skip_connect", "avg_pool_3x3", "max_pool_3x3"})


def _arch_ops(text: str) -> list[str]:
    """The ops of an architecture string ``|op~0|+|op~0|op~1|+...``, in edge order."""
    return [term.split("~", 1)[0] for term in text.split("|") if "~" in term]


def _weights_figure(title: str, frame: pd.DataFrame) -> bytes:
    """One panel per edge: each op's architecture weight against epoch, the mean over seeds
    (line) and the range over seeds (band); dotted, the uniform distribution. The weight
    axis spans the data, so small moves stay visible."""
    from matplotlib.ticker import MaxNLocator

    edges = list(dict.fromkeys(frame["edge"]))
    ops = list(dict.fromkeys(frame["op"]))
    columns = min(3, len(edges))
    rows = math.ceil(len(edges) / columns)
    figure = _new_figure(3.0 * columns, 2.2 * rows + 0.6)
    grid = figure.subplots(rows, columns, squeeze=False, sharex=True, sharey=True)
    colours = _matplotlib().colormaps["tab10"].colors
    for position, edge in enumerate(edges):
        axes = grid[position // columns][position % columns]
        on_edge = frame[frame["edge"] == edge]
        for k, op in enumerate(ops):
            table = on_edge[on_edge["op"] == op].pivot_table(index="epoch", columns="seed", values="weight")
            epochs = table.index.to_numpy(dtype=np.float64) + 1.0
            values = table.to_numpy(dtype=np.float64)
            colour = colours[k % len(colours)]
            axes.plot(epochs, np.nanmean(values, axis=1), color=colour, label=op, linewidth=1.4)
            if values.shape[1] > 1:
                low, high = np.nanmin(values, axis=1), np.nanmax(values, axis=1)
                axes.fill_between(epochs, low, high, color=colour, alpha=0.15, linewidth=0)
        axes.set_title(f"edge {edge}", fontsize=9)
        axes.axhline(1.0 / len(ops), color="0.4", linestyle=":", linewidth=0.9)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    low, high = float(frame["weight"].min()), float(frame["weight"].max())
    pad = max(1e-3, 0.08 * (high - low))
    grid[0][0].set_ylim(max(0.0, low - pad), min(1.0, high + pad))  # shared by every panel
    for position in range(len(edges), rows * columns):
        grid[position // columns][position % columns].set_visible(False)
    for axes in grid[-1]:
        axes.set_xlabel("epoch")
    for line in grid:
        line[0].set_ylabel("weight")
    handles, labels = grid[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=min(len(ops), 5), fontsize=8)
    figure.suptitle(title, fontsize=10)
    return _png(figure)


def _one_shot_section(document: _Document, results: Results) -> None:
    """One-shot runs: what each search cost and returned, and how its architecture
    distribution moved epoch by epoch."""
    runs = results.runs[results.runs["kind"] == "one-shot"]
    if not len(runs):
        return
    document.heading(2, "One-shot strategies")
    document.paragraph(
        "One-shot strategies train a supernet instead of each architecture. Each run is charged the "
        "CPU seconds its search took plus the tabulated training of the architecture it returns, "
        "whose test accuracy is then read from the table; they are ranked with the black-box "
        "strategies above. Parameter-free edges: edges whose op has no weights "
        f"({', '.join(sorted(PARAMETER_FREE_OPS))}); a cell made only of them is the collapse "
        "reported for DARTS on NAS-Bench-201."
    )
    epochs = results.one_shot.groupby(["table", "strategy", "seed"]).size()
    rows = []
    for (table, strategy), group in runs.groupby(["table", "strategy"], sort=True):
        ok = group[group["status"] == "ok"]
        archs = [text for text in ok["final_arch"] if text]
        counts = pd.Series(archs, dtype=object).value_counts(sort=True) if archs else pd.Series(dtype=int)
        free = [sum(op in PARAMETER_FREE_OPS for op in _arch_ops(text)) for text in archs]
        run_epochs = [int(epochs.get((table, strategy, int(seed)), 0)) for seed in ok["seed"]]
        top = f"{counts.index[0]} ({int(counts.iloc[0])}x)" if len(counts) else ""
        rows.append(
            (
                str(table),
                str(strategy),
                f"{len(ok)} / {len(group)}",
                _number(float(np.median(run_epochs)), 0) if run_epochs else "",
                _number(float(np.median(ok["search_seconds"])), 1) if len(ok) else "",
                _mean_sd(ok["final_test_acc"].to_numpy(dtype=np.float64)),
                _number(float(np.median(ok["final_regret"])), 3) if len(ok) else "",
                _number(float(np.mean(free)), 1) if free else "",
                str(len(counts)),
                top,
            )
        )
    document.table(
        ("table", "strategy", "runs ok / total", "epochs (median)", "search CPU s (median)",
         "test acc % (mean ± sd)", "regret pp (median)", "parameter-free edges (mean)",
         "distinct results", "most frequent result"),
        rows,
        (False, False, True, True, True, True, True, True, True, False),
    )  # fmt: skip
    weights = results.architecture_weights
    if not len(weights):
        return
    document.heading(3, "Architecture-weight trajectories")
    document.paragraph(
        "Per edge, the probability each op receives after every epoch of the search: the softmax of "
        "the architecture parameters (DARTS, GDAS) or the controller's policy (ENAS); mean over seeds "
        "(line) and range (band). Path-sampling methods (RSPS, SPOS) sample uniformly, so their "
        "distribution stays flat and is not drawn."
    )
    for (table, strategy), frame in weights.groupby(["table", "strategy"], sort=True):
        spread = frame.groupby(["edge", "op"])["weight"].agg(lambda v: float(np.ptp(v)))
        if float(spread.max()) < 1e-9:  # never moved from uniform: nothing to see
            continue
        title = f"{strategy} on {table}: architecture weights"
        document.image(
            f"weights-{table}-{strategy}",
            title,
            f"Architecture weights of {strategy} on {table}, per edge and op, against epoch.",
            _weights_figure(title, frame),
            "weights",
        )


def _run_keys(frame: pd.DataFrame) -> set[tuple[str, str, int]]:
    """(table, strategy, seed) of every row."""
    columns = (frame["table"], frame["strategy"], frame["seed"])
    return {(str(t), str(s), int(d)) for t, s, d in zip(*columns, strict=True)}


def _error_key(error: dict[str, Any]) -> tuple[str, str, int]:
    """(table, strategy, seed) of an errors.json record; seed -1 when unreadable."""
    try:
        seed = int(error.get("seed", -1))
    except (TypeError, ValueError):
        seed = -1
    return str(error.get("table")), str(error.get("strategy")), seed


def _failed_section(document: _Document, results: Results) -> None:
    document.heading(2, "Failed runs")
    failed = results.runs[results.runs["status"] == "failed"]
    recorded = {_error_key(error): error for error in results.errors}
    keys = sorted(set(recorded) | _run_keys(failed))
    if not keys:
        document.paragraph("None: every run finished.")
        return
    rows = []
    for key in keys:
        error = recorded.get(key)
        message = (
            " ".join(str(error.get("error", "")).split()) if error else "(no error recorded in errors.json)"
        )
        rows.append((key[0], key[1], str(key[2]), message or "(empty message)"))
    document.paragraph(f"{len(keys)} run(s) failed; they have no trajectory and are left out of the ranks.")
    document.table(("table", "strategy", "seed", "error"), rows, (False, False, True, False))
    for key in keys:
        error = recorded.get(key)
        if error and error.get("traceback"):
            document.details(
                f"Traceback: {key[1]} on {key[0]}, seed {key[2]}", str(error["traceback"]).rstrip()
            )


def _checklist(results: Results, comparisons: Sequence[Comparison]) -> list[tuple[str, bool, str]]:
    """(item, met, evidence) for the best-practice items that the results can show."""
    config, runs = results.config, results.runs
    seeds = [int(seed) for seed in config["seeds"]]
    strategies = sorted({str(entry["name"]) for entry in config["strategies"]} | set(runs["strategy"]))
    tables = _table_names(results)
    budget = config["budget"]
    evaluations, seconds = budget.get("evaluations"), budget.get("seconds")
    items: list[tuple[str, bool, str]] = []

    ok = runs[runs["status"] == "ok"]
    over = 0
    if evaluations is not None:
        over += int((ok["evaluations"] > evaluations).sum())
    if seconds is not None:
        over += int((ok["sim_seconds"] > seconds * (1 + 1e-9)).sum())
    has_budget = evaluations is not None or seconds is not None
    items.append(
        (
            "Same budget for every strategy",
            has_budget and over == 0,
            f"one budget for all runs ({_budget_text(budget)}); {over} run(s) exceed it",
        )
    )
    expected = {(t, s, d) for t in tables for s in strategies for d in seeds}
    missing = expected - _run_keys(runs)
    items.append(
        (
            "Every strategy run on the same tables and seeds",
            not missing,
            f"{len(strategies)} strategies x {len(tables)} tables x {len(seeds)} seeds; "
            f"{len(missing)} combination(s) missing from runs.csv",
        )
    )
    items.append(
        (
            f"At least {MIN_SEEDS} seeds per strategy",
            len(seeds) >= MIN_SEEDS,
            f"{len(seeds)} seeds: {', '.join(map(str, seeds)) or 'none'}",
        )
    )
    baseline = [name for name in strategies if name.lower() in RANDOM_SEARCH_NAMES]
    items.append(
        (
            "Random-search baseline included",
            bool(baseline),
            f"baseline: {', '.join(baseline)}"
            if baseline
            else "no strategy named " + "/".join(RANDOM_SEARCH_NAMES),
        )
    )
    checked, violations = _incumbents_by_validation(results)
    items.append(
        (
            "Test data not used for search",
            violations == 0,
            "strategies see validation metrics only; the incumbent is the best validation accuracy so far "
            f"in every unconstrained trajectory ({checked} rows checked, {violations} not)",
        )
    )
    listed = [entry for entry in config["tables"]]
    with_checksum = [e for e in listed if re.fullmatch(r"(sha256:)?[0-9a-f]{64}", str(e.get("checksum", "")))]
    items.append(
        (
            "Table checksums recorded",
            bool(listed) and len(with_checksum) == len(listed),
            f"{len(with_checksum)} of {len(listed)} tables have a sha256",
        )
    )
    version = config.get("nasbench_version")
    items.append(
        ("Code version recorded", bool(version), f"nasbench {version}" if version else "no nasbench_version")
    )
    with_params = [e for e in config["strategies"] if isinstance(e.get("hyperparameters"), dict)]
    items.append(
        (
            "Hyperparameters of every strategy recorded",
            len(with_params) == len(config["strategies"]) and bool(with_params),
            f"{len(with_params)} of {len(config['strategies'])} strategies",
        )
    )
    failed = _run_keys(runs[runs["status"] == "failed"])
    recorded = {_error_key(error) for error in results.errors}
    items.append(
        (
            "Failed runs reported, not dropped",
            failed == recorded,
            f"{len(failed)} failed in runs.csv, {len(recorded)} in errors.json"
            + ("" if failed == recorded else " (they disagree)"),
        )
    )
    with_steps = ok[ok["evaluations"] > 0]
    untraced = len(_run_keys(with_steps) - _run_keys(results.trajectories))
    items.append(
        (
            "Anytime performance reported",
            untraced == 0,
            f"trajectories for {len(with_steps) - untraced} of {len(with_steps)} finished runs",
        )
    )
    comparable = [c for c in comparisons if len(c.ranked) >= 2]
    tested = [c for c in comparable if c.friedman.ran or any(not t.skipped for t in c.wilcoxon)]
    items.append(
        (
            "Statistical tests over seeds",
            bool(comparable) and len(tested) == len(comparable),
            f"{len(tested)} of {len(comparable)} comparisons with 2+ strategies tested",
        )
    )
    items.append(
        (
            "More than one table (dataset)",
            len(tables) >= 2,
            f"{len(tables)} table(s): {', '.join(tables)}",
        )
    )
    return items


def _incumbents_by_validation(results: Results) -> tuple[int, int]:
    """Rows of unconstrained trajectories checked, and rows whose incumbent is not the best val so far."""
    unconstrained = results.runs[results.runs["constraint"] == ""][["table", "strategy", "seed"]]
    frame = results.trajectories.merge(unconstrained, on=["table", "strategy", "seed"], how="inner")
    if not len(frame):
        return 0, 0
    frame = frame.sort_values(["table", "strategy", "seed", "evaluation"], kind="stable")
    best_so_far = frame.groupby(["table", "strategy", "seed"], sort=False)["val_acc"].cummax()
    violations = int((~np.isclose(frame["incumbent_val_acc"], best_so_far, rtol=0, atol=1e-9)).sum())
    return len(frame), violations


def _provenance_section(document: _Document, results: Results) -> None:
    config = results.config
    document.heading(2, "Provenance")
    budget = config["budget"]
    document.bullets(
        [
            f"Results format: {config.get('format')}; written by nasbench {config.get('nasbench_version')}; "
            f"report written by nasbench {_package_version()}.",
            f"Budget per run: {_budget_text(budget)}.",
            f"Seeds: {', '.join(str(seed) for seed in config['seeds'])}.",
        ]
    )
    document.heading(3, "Result files")
    document.table(
        ("file", "sha256"),
        [(name, results.checksums[name]) for name in _RESULT_FILES if name in results.checksums],
        (False, False),
    )
    document.heading(3, "Tables")
    rows = []
    for entry in config["tables"]:
        rows.append(
            (
                str(entry.get("name")),
                str(entry.get("path", "")),
                str(entry.get("checksum", "")),
                str(entry.get("num_epochs", "")),
                _number(float(entry.get("best_test_acc", math.nan))),
                _number(float(entry.get("mean_train_seconds", math.nan)), 1),
            )
        )
    document.table(
        ("table", "path", "sha256", "epochs", "best test acc %", "mean train s"),
        rows,
        (False, False, False, True, True, True),
    )
    document.heading(3, "Strategies")
    document.table(
        ("strategy", "kind", "hyperparameters"),
        [
            (
                str(entry["name"]),
                str(entry.get("kind", "")),
                json.dumps(entry.get("hyperparameters", {}), sort_keys=True),
            )
            for entry in config["strategies"]
        ],
        (False, False, False),
    )
    document.heading(3, "Configuration")
    document.paragraph("config.json as written by nasbench compare:")
    document.code(json.dumps(config, sort_keys=True, indent=2), "json")


def _package_version() -> str:
    try:
        return metadata.version("nasbench")
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        from nasbench import __version__

        return __version__


def _overview_section(document: _Document, comparisons: Sequence[Comparison]) -> None:
    """Average rank per table and over tables, for the unconstrained comparisons."""
    main = [c for c in comparisons if not c.constraint]
    if len(main) < 2:
        return
    document.heading(2, "Overview across tables")
    names = sorted({s.strategy for c in main for s in c.summaries})
    ranks = {name: [next((s.average_rank for s in c.summaries if s.strategy == name), math.nan) for c in main]
             for name in names}  # fmt: skip
    mean = {name: float(np.nanmean(v)) if np.isfinite(v).any() else math.nan for name, v in ranks.items()}
    order = sorted(names, key=lambda name: (math.isnan(mean[name]), mean[name], name))
    document.paragraph(
        "Average rank of the final regret on each table (1 = best) and their mean over tables; "
        "ranks are comparable within a table only."
    )
    document.table(
        ("strategy", *[c.table for c in main], "mean rank"),
        [(name, *[_number(value) for value in ranks[name]], _number(mean[name])) for name in order],
        (False, *[True] * len(main), True),
    )


def _build_document(results: Results) -> _Document:
    comparisons = analyse(results)
    trajectories = _trajectory_runs(results)
    names = [str(entry["name"]) for entry in results.config["strategies"]] + list(results.runs["strategy"])
    palette = _Palette(names)
    best = {
        str(e["name"]): float(e["best_test_acc"]) for e in results.config["tables"] if "best_test_acc" in e
    }
    config = results.config
    budget = config["budget"]
    document = _Document()
    tables = _table_names(results)
    document.heading(1, f"nasbench leaderboard: {', '.join(tables) or 'no tables'}")
    strategies = sorted(set(results.runs["strategy"]))
    document.paragraph(
        f"{len(strategies)} strategies x {len(config['seeds'])} seeds on {len(tables)} table(s); "
        f"budget per run: {_budget_text(budget)}. {int((results.runs['status'] == 'ok').sum())} "
        f"of {len(results.runs)} runs finished. Regret: the table's best test accuracy (mean over its "
        "seeds) minus the test accuracy of the incumbent, the architecture with the best validation "
        "accuracy so far, in percentage points."
    )
    _overview_section(document, comparisons)
    for table in tables:
        main = [c for c in comparisons if c.table == table and not c.constraint]
        if not main:
            continue
        document.heading(2, f"Table {table}")
        comparison = main[0]
        _comparison_section(
            document,
            comparison,
            _runs_by_strategy(trajectories, table, [s.strategy for s in comparison.summaries]),
            palette,
            best.get(table),
        )
    _pareto_section(document, results, palette)
    _one_shot_section(document, results)
    constrained = [c for c in comparisons if c.constraint]
    if constrained:
        document.heading(2, "Constrained runs")
        document.paragraph(
            "Constrained strategies look for the best architecture under a limit on a free property; they "
            "are judged against the best feasible architecture and so are compared only with each other."
        )
        for comparison in constrained:
            _comparison_section(
                document,
                comparison,
                _runs_by_strategy(trajectories, comparison.table, [s.strategy for s in comparison.summaries]),
                palette,
                None,
            )
    _failed_section(document, results)
    document.heading(2, "Best-practice checklist")
    document.paragraph(
        "Items after Lindauer & Hutter (2020), 'Best practices for scientific research on neural "
        "architecture search', checked against these results."
    )
    document.table(
        ("item", "status", "evidence"),
        [
            (item, "✔ met" if met else "✘ not met", evidence)
            for item, met, evidence in _checklist(results, comparisons)
        ],
        (False, False, False),
    )
    _provenance_section(document, results)
    return document


# --------------------------------------------------------------------- entry point
def write_report(results_dir: str | Path, out: str | Path) -> list[Path]:
    """Write ``out + '.html'`` and ``out + '.md'`` (figures in ``out + '_files/'``) from a
    results directory; returns the paths written: HTML, Markdown, then the PNG files."""
    results = load_results(results_dir)
    matplotlib = _matplotlib()
    with matplotlib.rc_context(_MATPLOTLIB_RC):
        document = _build_document(results)
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
    html_path.write_text(_render_html(document, document.blocks[0].text), encoding="utf-8")  # type: ignore[union-attr]
    markdown_path.write_text(_render_markdown(document, quote(files.name)), encoding="utf-8")
    return written

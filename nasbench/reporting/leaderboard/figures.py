"""The leaderboard's figures, as PNG bytes: anytime regret curves, Demšar's
critical-difference diagram, Pareto fronts and one-shot architecture-weight trajectories.

Figures are drawn on matplotlib's Agg canvas without touching pyplot's global state, under
fixed settings (:data:`MATPLOTLIB_RC`, applied by :func:`figure_settings`) and saved at
:data:`FIGURE_DPI` without metadata, so the same results give byte-identical PNG files,
sized for a printed page (:data:`PAGE_WIDTH_IN`). One :class:`Palette` gives every strategy
the same colour, marker and line style in every figure, from the colour-blind-safe
Okabe-Ito colours; log axes are labelled with plain numbers (1, 2, 5, 10, 20, ...), and
axis labels come from :func:`nasbench.reporting.labels.metric_label`. matplotlib is
imported on first use.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from nasbench.core.errors import NasbenchError
from nasbench.core.pareto import pareto_front
from nasbench.reporting.labels import in_sentence, metric_label
from nasbench.reporting.leaderboard.stats import StrategySummary

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis
    from matplotlib.figure import Figure

__all__ = [
    "FIGURE_DPI",
    "MARKERS",
    "MATPLOTLIB_RC",
    "OKABE_ITO",
    "PAGE_WIDTH_IN",
    "Palette",
    "ParetoFigure",
    "Run",
    "accuracy_range",
    "anytime_figure",
    "anytime_plot",
    "critical_difference_figure",
    "critical_difference_groups",
    "figure_settings",
    "pareto_figure",
    "pareto_plot",
    "plain_number",
    "weight_range",
    "weights_figure",
    "weights_plot",
]

#: Resolution of every PNG (pixels per inch): sharp when printed at the figure's size.
FIGURE_DPI = 200
#: Width of a full-width figure, inches: the text width of a paper page.
PAGE_WIDTH_IN = 7.0
#: Fixed drawing settings, so figures do not depend on the user's matplotlibrc.
MATPLOTLIB_RC = {
    "font.family": "DejaVu Sans",
    "font.size": 8.0,
    "axes.titlesize": 8.0,
    "axes.labelsize": 8.0,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "legend.fontsize": 7.5,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.formatter.useoffset": False,  # never a "+1e2" or "x10" beside an axis
    "figure.dpi": float(FIGURE_DPI),
    "savefig.dpi": float(FIGURE_DPI),
    "text.usetex": False,  # never hand a name from a table or a plug-in to LaTeX
}
#: Okabe & Ito's colour-blind-safe palette, the yellow (hard to see on white) last.
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
#: Filled markers; a count prime to the colours', so the k-th strategy's (colour, marker)
#: pair repeats only after lcm(8, 9) = 72 strategies.
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", "h")
#: Line styles, one per round of the colours.
_LINE_STYLES = ("-", "--", "-.", ":")
#: Strategies whose anytime bands are drawn at full strength; with more, bands fade.
_FULL_BANDS = 4
#: Stands in for "no incumbent yet" in quantiles; larger than any regret.
_NO_INCUMBENT = 1e300


def _literal(text: object) -> str:
    """A name from a table or a plug-in as matplotlib draws it literally: a ``$`` would
    start TeX math (which fails on, say, ``$\\frac$`` and stops the report)."""
    return str(text).replace("$", r"\$")


def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError:  # a core dependency, but keep the hint for broken environments
        raise NasbenchError("the report needs matplotlib: pip install 'matplotlib>=3.7'") from None
    return matplotlib


@contextlib.contextmanager
def figure_settings() -> Iterator[None]:
    """Draw figures under :data:`MATPLOTLIB_RC` (restored afterwards)."""
    with _matplotlib().rc_context(MATPLOTLIB_RC):
        yield


def _new_figure(width_in: float, height_in: float) -> Figure:
    """A figure on the Agg canvas, without touching pyplot's global state."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width_in, height_in), dpi=FIGURE_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=FIGURE_DPI, metadata={"Software": None})
    return buffer.getvalue()


def plain_number(value: float, _position: object = None) -> str:
    """A tick label without powers of ten: 0.05, 0.5, 1, 20, 1,000."""
    if not math.isfinite(value) or value <= 0:
        return ""
    if value >= 1 and math.isclose(value, round(value), rel_tol=1e-9):
        return f"{round(value):,}"
    return f"{value:.3g}"


def _plain_log_axis(axis: Axis) -> None:
    """Label a log axis with plain numbers at 1-2-5 steps (every decade over a wide range,
    more steps over a narrow one); minor ticks unlabelled."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axes = axis.axes
    low, high = sorted(axes.get_xlim() if axis is axes.xaxis else axes.get_ylim())  # settles autoscaling
    decades = math.log10(high / low) if low > 0 and high > low else 1.0
    if decades < 0.5:
        subs: tuple[float, ...] = (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0)
    elif decades < 2.0:
        subs = (1.0, 2.0, 3.0, 5.0)
    elif decades <= 4.5:
        subs = (1.0, 2.0, 5.0)
    else:
        subs = (1.0,)
    axis.set_major_locator(LogLocator(base=10.0, subs=subs, numticks=100))
    axis.set_major_formatter(FuncFormatter(plain_number))
    axis.set_minor_formatter(NullFormatter())


def _edge(colour: str) -> str:
    """Marker edge: white, but dark around the light yellow so it shows on white."""
    return "0.3" if colour == OKABE_ITO[-1] else "white"


class Palette:
    """One (colour, marker, line style) per strategy, the same in every figure: the k-th
    name in sorted order gets Okabe-Ito colour k mod 8, marker k mod 9 and line style
    k div 8, so no two of the first 72 strategies look alike."""

    def __init__(self, names: Sequence[str]) -> None:
        unique = sorted(set(names))
        self._style = {
            name: (
                OKABE_ITO[i % len(OKABE_ITO)],
                MARKERS[i % len(MARKERS)],
                _LINE_STYLES[(i // len(OKABE_ITO)) % len(_LINE_STYLES)],
            )
            for i, name in enumerate(unique)
        }

    def _get(self, name: str) -> tuple[str, str, str]:
        return self._style.get(name, ("#7F7F7F", "o", "-"))

    def colour(self, name: str) -> str:
        return self._get(name)[0]

    def marker(self, name: str) -> str:
        return self._get(name)[1]

    def line(self, name: str) -> str:
        return self._get(name)[2]


@dataclass(frozen=True)
class Run:
    """The trajectory of one run."""

    evaluation: np.ndarray
    sim_seconds: np.ndarray
    regret: np.ndarray  # +inf before the run has an incumbent


def _quantile_curves(matrix: np.ndarray) -> np.ndarray:
    """[3, points]: 25 %, 50 %, 75 % over runs; NaN where fewer than that share have an incumbent."""
    quantiles = np.quantile(np.minimum(matrix, _NO_INCUMBENT), [0.25, 0.5, 0.75], axis=0)
    return np.where(quantiles >= _NO_INCUMBENT / 10, np.nan, quantiles)


def _step_values(x: np.ndarray, y: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """y of the last point with x <= each grid value (a step function); +inf before the first."""
    position = np.searchsorted(x, grid, side="right") - 1
    return np.where(position >= 0, y[np.maximum(position, 0)], np.inf)


def _legend_below(figure: Figure, axes: Axes, title: str, count: int) -> None:
    """The legend of ``axes`` under the panels, in as many columns as fit the page."""
    handles, labels = axes.get_legend_handles_labels()
    columns = max(1, min(count, 4))
    figure.legend(
        handles, labels, loc="outside lower center", ncols=columns, title=title, frameon=False,
        handlelength=3.0, columnspacing=1.2,
    )  # fmt: skip


def anytime_figure(title: str, runs: dict[str, list[Run]], palette: Palette) -> tuple[bytes, float] | None:
    """Median and IQR of regret over seeds vs simulated time and vs evaluations; PNG and the
    floor (:func:`anytime_plot`); None without any trajectory."""
    drawn = anytime_plot(title, runs, palette)
    return None if drawn is None else (_png(drawn[0]), drawn[1])


def anytime_plot(title: str, runs: dict[str, list[Run]], palette: Palette) -> tuple[Figure, float] | None:
    """The anytime figure and the regret drawn for 0 (half the smallest positive regret).

    Each strategy has its palette's colour, marker and line style; markers sit at even
    distances along each line, shifted per strategy so they do not pile up. Bands fade
    when more than a few strategies share the panels."""
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

    legend_rows = math.ceil(len(runs) / 4)
    figure = _new_figure(PAGE_WIDTH_IN, 2.7 + 0.2 * legend_rows)
    if time_grid is None:  # one panel: against evaluations only
        time_axes = evaluation_axes = figure.subplots(1, 1)
        title += " (no simulated time recorded: against evaluations only)"
    else:
        time_axes, evaluation_axes = figure.subplots(1, 2, sharey=True)
    band_alpha = 0.18 if len(runs) <= _FULL_BANDS else 0.07
    for number, name in enumerate(sorted(runs)):
        items = runs[name]
        colour = palette.colour(name)
        by_evaluation = np.stack([_step_values(run.evaluation, run.regret, evaluation_grid) for run in items])
        curves = [(evaluation_axes, evaluation_grid, by_evaluation, "steps-post")]
        if time_grid is not None:
            by_time = np.stack([_step_values(run.sim_seconds, run.regret, time_grid) for run in items])
            curves.append((time_axes, time_grid, by_time, "default"))
        for axes, grid, matrix, drawstyle in curves:
            low, median, high = np.maximum(_quantile_curves(matrix), floor)
            axes.plot(
                grid, median, color=colour, linestyle=palette.line(name), drawstyle=drawstyle,
                linewidth=1.2, marker=palette.marker(name), markersize=3.8, markeredgecolor=_edge(colour),
                markeredgewidth=0.4, markevery=(0.013 * (number % 7), 0.09),
                label=f"{_literal(name)} ({len(items)})",
            )  # fmt: skip
            step = "post" if drawstyle == "steps-post" else None
            axes.fill_between(grid, low, high, color=colour, alpha=band_alpha, linewidth=0, step=step)
    for axes in {id(a): a for a in (time_axes, evaluation_axes)}.values():
        axes.set_xscale("log")
        axes.set_yscale("log")
        _plain_log_axis(axes.xaxis)
    time_axes.set_xlabel(metric_label("sim_seconds"))
    evaluation_axes.set_xlabel(metric_label("evaluations"))
    time_axes.set_ylabel(metric_label("regret"))
    _plain_log_axis(time_axes.yaxis)
    _legend_below(figure, evaluation_axes, "strategy (runs)", len(runs))
    figure.suptitle(_literal(title), fontsize=9)
    return figure, floor


def critical_difference_groups(
    names: Sequence[str], separated: Collection[tuple[str, str]]
) -> list[tuple[int, int]]:
    """The bars of a critical-difference diagram: (first, last) positions in ``names`` (by
    average rank) of each maximal run of strategies of which no pair is in ``separated``;
    when separation grows with the difference of average ranks, as Nemenyi's does, two
    strategies share a bar exactly when their pair is not separated."""

    def apart(first: int, second: int) -> bool:
        return (names[first], names[second]) in separated or (names[second], names[first]) in separated

    groups: list[tuple[int, int]] = []
    for start in range(len(names)):
        end = start
        while end + 1 < len(names) and not any(apart(member, end + 1) for member in range(start, end + 1)):
            end += 1
        if end > start and not any(s <= start and end <= e for s, e in groups):
            groups.append((start, end))
    return groups


def critical_difference_figure(
    title: str, ranked: Sequence[StrategySummary], critical: float, separated: Collection[tuple[str, str]]
) -> bytes:
    """Demšar's diagram: average ranks on an axis; bars join maximal runs of strategies (by
    rank) of which no pair is in ``separated`` (the pairs the Nemenyi test found different),
    so the diagram says exactly what the pairwise table says."""
    names = [summary.strategy for summary in ranked]
    ranks = [summary.average_rank for summary in ranked]
    count = len(names)
    groups = critical_difference_groups(names, separated)
    half = (count + 1) // 2
    row_step = 0.32
    bar_top = -0.18
    label_top = bar_top - 0.16 * len(groups) - 0.15
    rows = max(half, count - half)
    height_in = 0.9 + 0.27 * (rows + len(groups) * 0.5)
    figure = _new_figure(PAGE_WIDTH_IN, height_in)
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
            x_text - 0.05 if left else x_text + 0.05, y, f"{_literal(name)} ({rank:.2f})",
            ha="right" if left else "left", va="center", fontsize=9,
        )  # fmt: skip
    for number, (start, end) in enumerate(groups):
        y = bar_top - 0.16 * number
        axes.plot([ranks[start] - 0.03, ranks[end] + 0.03], [y, y], color="black", linewidth=3.0)
    right = max(high, low + critical if math.isfinite(critical) else high)
    # room for the longest label on each side: about 0.066 in per character at 9 pt, and
    # "name (1.23)" adds 7; solved for the rank units per inch the labels leave
    widths = [0.066 * (len(_literal(name)) + 7) + 0.1 for name in names]
    left_in, right_in = max(widths[:half], default=0.0), max(widths[half:], default=0.0)
    width_in = PAGE_WIDTH_IN * 0.96
    span = (right - low + 0.6) / max(1.0 - (left_in + right_in) / width_in, 0.2)
    axes.set_xlim(low - 0.3 - left_in * span / width_in, right + 0.3 + right_in * span / width_in)
    axes.set_ylim(label_top - rows * row_step, 1.05)
    figure.suptitle(_literal(title))
    return _png(figure)


#: Points further than this many inter-quartile ranges (at least
#: :data:`OUTLIER_MIN_SPREAD_PP`) below the lower quartile are outliers: kept out of a
#: Pareto panel's accuracy range, marked on its edge.
OUTLIER_IQRS = 3.0
OUTLIER_MIN_SPREAD_PP = 2.0


def accuracy_range(accuracies: np.ndarray) -> tuple[float, float]:
    """Accuracy limits of a Pareto panel: the points above the lower fence (lower quartile
    minus :data:`OUTLIER_IQRS` inter-quartile ranges, the range taken as at least
    :data:`OUTLIER_MIN_SPREAD_PP`),
    padded by 6 % (at least 0.25 pp); a chance-level cell on a front (all ``none``) falls
    below it and would otherwise squeeze the informative part into a sliver."""
    values = np.asarray(accuracies, dtype=np.float64)
    values = values[np.isfinite(values)]
    if not len(values):
        return 0.0, 100.0
    lower, upper = np.quantile(values, [0.25, 0.75])
    fence = lower - OUTLIER_IQRS * max(float(upper - lower), OUTLIER_MIN_SPREAD_PP)
    inside = values[values >= fence]
    low, high = float(inside.min()), float(inside.max())
    pad = max(0.06 * (high - low), 0.25)
    return low - pad, high + pad


@dataclass(frozen=True)
class ParetoFigure:
    """A Pareto figure and the sentences its caption needs (points or the reference drawn
    at an axis edge)."""

    png: bytes
    notes: tuple[str, ...]


def _data_range(values: np.ndarray, logarithmic: bool) -> tuple[float, float]:
    """Objective limits spanning the points, padded by 5 % (of the decades on a log axis)."""
    low, high = float(values.min()), float(values.max())
    if logarithmic:
        pad = 0.05 * math.log10(high / low) if high > low else 0.05
        return low / 10**pad, high * 10**pad
    pad = 0.05 * (high - low) if high > low else max(abs(low) * 0.05, 1e-3)
    return low - pad, high + pad


def pareto_figure(
    title: str,
    objective: str,
    frame: pd.DataFrame,
    palette: Palette,
    reference: tuple[float, float] | None = None,
) -> ParetoFigure:
    """:func:`pareto_plot` as PNG, with its caption notes."""
    figure, notes = pareto_plot(title, objective, frame, palette, reference)
    return ParetoFigure(_png(figure), notes)


def pareto_plot(
    title: str,
    objective: str,
    frame: pd.DataFrame,
    palette: Palette,
    reference: tuple[float, float] | None = None,
) -> tuple[Figure, tuple[str, ...]]:
    """Val and test accuracy against the objective: every point, and each strategy's pooled
    front; ``reference`` (objective ceiling, test accuracy floor), the hypervolume's reference
    point, is drawn on the test panel as dashed lines. Each panel's accuracy range is
    :func:`accuracy_range` of its points; points below it are drawn as triangles on its lower
    edge, and a reference outside the panel is written at its edge, both with a note."""
    figure = _new_figure(PAGE_WIDTH_IN, 2.9 + 0.2 * math.ceil(frame["strategy"].nunique() / 4))
    val_axes, test_axes = figure.subplots(1, 2, sharex=True)
    values = frame["objective_value"].to_numpy(dtype=np.float64)
    positive = values[values > 0]
    logarithmic = len(positive) == len(values) and len(values) > 0 and positive.max() / positive.min() > 20
    notes: list[str] = []
    left_out: list[str] = []  # per panel: how many points lie below it, and how far
    for axes, column, what in ((val_axes, "val_acc", "validation"), (test_axes, "test_acc", "test")):
        low, high = accuracy_range(frame[column].to_numpy(dtype=np.float64))
        below = frame[frame[column] < low]
        for name, group in frame.groupby("strategy", sort=True):
            value = group["objective_value"].to_numpy(dtype=np.float64)
            front = pareto_front(value, group["val_acc"].to_numpy())
            accuracy = group[column].to_numpy(dtype=np.float64)
            colour, marker = palette.colour(str(name)), palette.marker(str(name))
            axes.scatter(value, accuracy, s=7, alpha=0.3, color=colour, marker=marker, linewidths=0)
            axes.plot(
                value[front], accuracy[front], color=colour, linestyle=palette.line(str(name)),
                marker=marker, markersize=3.5, markeredgecolor=_edge(colour), markeredgewidth=0.4,
                linewidth=1.2, drawstyle="steps-post" if column == "val_acc" else "default",
                label=_literal(name),
            )  # fmt: skip
            out = below[below["strategy"] == name]
            if len(out):
                axes.scatter(
                    out["objective_value"], np.full(len(out), low), s=28, marker="v", color=colour,
                    edgecolors="black", linewidths=0.5, clip_on=False, zorder=5,
                )  # fmt: skip
        axes.set_ylim(low, high)
        if len(below):
            lowest = float(below[column].min())
            axes.text(
                0.99, 0.02, f"\u25bc {len(below)} below, down to {lowest:.1f} %", transform=axes.transAxes,
                ha="right", va="bottom", fontsize=7, color="0.25",
            )  # fmt: skip
            left_out.append(f"{len(below)} on the {what} panel, down to {lowest:.1f} %")
        axes.set_ylabel(metric_label(column))
        axes.set_xlabel(_literal(metric_label(objective)))
        if logarithmic:
            axes.set_xscale("log")
    if left_out:
        notes.append(
            f"Points far below the others ({'; '.join(left_out)}: such as a cell of parameter-free ops) are "
            "drawn as triangles on the lower edge, so that the accuracy axis spans the informative part."
        )
    x_low, x_high = _data_range(values, logarithmic) if len(values) else (0.0, 1.0)
    outside: list[str] = []  # parts of the reference point beyond the test panel
    sides: list[str] = []
    if reference is not None:
        ceiling, floor = reference
        y_low, y_high = test_axes.get_ylim()
        reach = x_high * 2.0 if logarithmic else x_high + 0.3 * (x_high - x_low)
        if ceiling <= reach:  # near the points: drawn, the axis widened to show it
            margin = ceiling * 0.05 if logarithmic else 0.03 * (x_high - x_low)
            x_low, x_high = min(x_low, ceiling - margin), max(x_high, ceiling + margin)
            test_axes.axvline(ceiling, color="0.35", linestyle="--", linewidth=0.8)
        else:
            outside.append(f"{ceiling:.4g} \u2192")
            sides.append(
                f"its {in_sentence(metric_label(objective))}, {ceiling:.4g}, far right of every point"
            )
        if y_low <= floor <= y_high:
            test_axes.axhline(floor, color="0.35", linestyle="--", linewidth=0.8)
        else:
            where = "below" if floor < y_low else "above"
            outside.append(f"{floor:.2f} % {chr(0x2193) if floor < y_low else chr(0x2191)}")
            sides.append(f"its test accuracy, {floor:.2f} %, {where} the panel")
        if sides:
            notes.append(f"The reference point lies off the test panel ({'; '.join(sides)}).")
    val_axes.set_xlim(x_low, x_high)
    if logarithmic:
        _plain_log_axis(val_axes.xaxis)
    val_axes.set_title("front on validation accuracy (as the runs saw it)")
    beyond = f"\nreference point off the panel: {', '.join(outside)}" if outside else ""
    test_axes.set_title(f"the same architectures, test accuracy{beyond}")
    _legend_below(figure, val_axes, "strategy", frame["strategy"].nunique())
    figure.suptitle(_literal(title), fontsize=9)
    return figure, tuple(notes)


def weight_range(observed_max: float, num_ops: int) -> tuple[float, float]:
    """The weight axis: from 0 to twice the uniform weight or the largest weight seen,
    whichever is higher, rounded up to a tenth (at most 1): small moves look small."""
    top = max(2.0 / max(num_ops, 1), float(observed_max) if math.isfinite(observed_max) else 0.0)
    return 0.0, min(1.0, math.ceil(top * 10.0 - 1e-9) / 10.0)


def weights_figure(title: str, frame: pd.DataFrame) -> bytes:
    """:func:`weights_plot` as PNG."""
    return _png(weights_plot(title, frame))


def weights_plot(title: str, frame: pd.DataFrame) -> Figure:
    """One panel per edge: each op's architecture weight against epoch, the mean over seeds
    (line) and the range over seeds (band); dotted, the uniform distribution 1/ops. The
    weight axis is fixed by :func:`weight_range`, from 0, the same in every panel."""
    from matplotlib.ticker import MaxNLocator

    edges = list(dict.fromkeys(frame["edge"]))
    ops = list(dict.fromkeys(frame["op"]))
    columns = min(3, len(edges))
    rows = math.ceil(len(edges) / columns)
    figure = _new_figure(PAGE_WIDTH_IN, 1.75 * rows + 0.75)
    grid = figure.subplots(rows, columns, squeeze=False, sharex=True, sharey=True)
    uniform = 1.0 / len(ops)
    for position, edge in enumerate(edges):
        axes = grid[position // columns][position % columns]
        on_edge = frame[frame["edge"] == edge]
        axes.axhline(uniform, color="0.4", linestyle=":", linewidth=0.9, label=f"uniform (1/{len(ops)})")
        for k, op in enumerate(ops):
            table = on_edge[on_edge["op"] == op].pivot_table(index="epoch", columns="seed", values="weight")
            epochs = table.index.to_numpy(dtype=np.float64) + 1.0
            values = table.to_numpy(dtype=np.float64)
            colour = OKABE_ITO[k % len(OKABE_ITO)]
            axes.plot(
                epochs, np.nanmean(values, axis=1), color=colour, label=_literal(op), linewidth=1.2,
                marker=MARKERS[k % len(MARKERS)], markersize=3.0, markeredgecolor=_edge(colour),
                markeredgewidth=0.3, markevery=(0.02 * k, 0.15),
            )  # fmt: skip
            if values.shape[1] > 1:
                low, high = np.nanmin(values, axis=1), np.nanmax(values, axis=1)
                axes.fill_between(epochs, low, high, color=colour, alpha=0.15, linewidth=0)
        axes.set_title(f"edge {_literal(edge)}")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    grid[0][0].set_ylim(*weight_range(float(frame["weight"].max()), len(ops)))  # shared by every panel
    for position in range(len(edges), rows * columns):
        grid[position // columns][position % columns].set_visible(False)
    for axes in grid[-1]:
        axes.set_xlabel(metric_label("epoch"))
    for line in grid:
        line[0].set_ylabel(metric_label("weight"))
    handles, labels = grid[0][0].get_legend_handles_labels()
    handles, labels = handles[1:] + handles[:1], labels[1:] + labels[:1]  # the ops first, then uniform
    figure.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 6), frameon=False)
    figure.suptitle(_literal(title), fontsize=9)
    return figure

"""The leaderboard's figures, as PNG bytes: anytime regret curves, Demšar's
critical-difference diagram, Pareto fronts and one-shot architecture-weight trajectories.

Figures are drawn on matplotlib's Agg canvas without touching pyplot's global state, under
fixed settings (:data:`MATPLOTLIB_RC`, applied by :func:`figure_settings`) and saved
without metadata, so the same results give byte-identical PNG files. One
:class:`Palette` gives every strategy the same colour and line style in every figure.
matplotlib is imported on first use.
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
from nasbench.reporting.leaderboard.stats import StrategySummary

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "MATPLOTLIB_RC",
    "Palette",
    "Run",
    "anytime_figure",
    "critical_difference_figure",
    "critical_difference_groups",
    "figure_settings",
    "pareto_figure",
    "weights_figure",
]

#: Fixed drawing settings, so figures do not depend on the user's matplotlibrc.
MATPLOTLIB_RC = {
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "figure.dpi": 100.0,
    "savefig.dpi": 100.0,
    "text.usetex": False,  # never hand a name from a table or a plug-in to LaTeX
}
_FIGURE_DPI = 100
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

    figure = Figure(figsize=(width_in, height_in), dpi=_FIGURE_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_FIGURE_DPI, metadata={"Software": None})
    return buffer.getvalue()


class Palette:
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


def anytime_figure(title: str, runs: dict[str, list[Run]], palette: Palette) -> tuple[bytes, float] | None:
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
                drawstyle=drawstyle, linewidth=1.6, label=f"{_literal(name)} ({len(items)})",
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
    figure.suptitle(_literal(title))
    return _png(figure), floor


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
            x_text - 0.05 if left else x_text + 0.05, y, f"{_literal(name)} ({rank:.2f})",
            ha="right" if left else "left", va="center", fontsize=9,
        )  # fmt: skip
    for number, (start, end) in enumerate(groups):
        y = bar_top - 0.16 * number
        axes.plot([ranks[start] - 0.03, ranks[end] + 0.03], [y, y], color="black", linewidth=3.0)
    axes.set_xlim(low - 0.3, max(high, low + critical if math.isfinite(critical) else high) + 0.3)
    axes.set_ylim(label_top - rows * row_step, 1.05)
    figure.suptitle(_literal(title))
    return _png(figure)


def pareto_figure(
    title: str,
    objective: str,
    frame: pd.DataFrame,
    palette: Palette,
    reference: tuple[float, float] | None = None,
) -> bytes:
    """Val and test accuracy against the objective: every point, and each strategy's pooled
    front; ``reference`` (objective ceiling, test accuracy floor), the hypervolume's reference
    point, is drawn on the test panel as dashed lines."""
    figure = _new_figure(10.5, 3.9)
    val_axes, test_axes = figure.subplots(1, 2, sharex=True)
    values = frame["objective_value"].to_numpy()
    positive = values[values > 0]
    logarithmic = len(positive) == len(values) and len(values) > 0 and positive.max() / positive.min() > 20
    for name, group in frame.groupby("strategy", sort=True):
        value = group["objective_value"].to_numpy()
        front = pareto_front(value, group["val_acc"].to_numpy())
        for axes, column in ((val_axes, "val_acc"), (test_axes, "test_acc")):
            accuracy = group[column].to_numpy()
            axes.scatter(value, accuracy, s=8, alpha=0.25, color=palette.colour(str(name)), linewidths=0)
            axes.plot(
                value[front], accuracy[front], color=palette.colour(str(name)),
                linestyle=palette.line(str(name)), marker="o", markersize=3.5, linewidth=1.4,
                drawstyle="steps-post" if column == "val_acc" else "default", label=_literal(name),
            )  # fmt: skip
    for axes, what in ((val_axes, "validation"), (test_axes, "test")):
        axes.set_xlabel(_literal(objective))
        axes.set_ylabel(f"{what} accuracy (%)")
        if logarithmic:
            axes.set_xscale("log")
    if reference is not None:
        ceiling, floor = reference
        test_axes.axvline(ceiling, color="0.35", linestyle="--", linewidth=0.9)
        test_axes.axhline(floor, color="0.35", linestyle="--", linewidth=0.9)
    val_axes.set_title("front on validation accuracy (as the runs saw it)", fontsize=9)
    test_axes.set_title("the same architectures, test accuracy", fontsize=9)
    handles, labels = val_axes.get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside right upper", title="strategy", fontsize=8)
    figure.suptitle(_literal(title))
    return _png(figure)


def weights_figure(title: str, frame: pd.DataFrame) -> bytes:
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
            axes.plot(epochs, np.nanmean(values, axis=1), color=colour, label=_literal(op), linewidth=1.4)
            if values.shape[1] > 1:
                low, high = np.nanmin(values, axis=1), np.nanmax(values, axis=1)
                axes.fill_between(epochs, low, high, color=colour, alpha=0.15, linewidth=0)
        axes.set_title(f"edge {_literal(edge)}", fontsize=9)
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
    figure.suptitle(_literal(title), fontsize=10)
    return _png(figure)

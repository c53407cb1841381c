"""The leaderboard's figures as a paper needs them: a colour-blind-safe style per strategy
that never repeats, plain log ticks, print resolution, Pareto axes that show the informative
part, human axis labels with units, and architecture weights on a fixed scale."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from report_fixtures import LATENCY, write_results

from nasbench.reporting.labels import constraint_label, metric_label
from nasbench.reporting.leaderboard.document import Image, Table
from nasbench.reporting.leaderboard.figures import (
    FIGURE_DPI,
    MARKERS,
    OKABE_ITO,
    PAGE_WIDTH_IN,
    Palette,
    Run,
    accuracy_range,
    anytime_figure,
    anytime_plot,
    figure_settings,
    pareto_plot,
    plain_number,
    weights_plot,
)
from nasbench.reporting.leaderboard.load import load_results
from nasbench.reporting.leaderboard.sections import build_document

FOURTEEN = [
    "bananas", "bohb", "constrained-re", "darts", "ga", "gdas", "gp-bo", "grid", "hyperband", "ls",
    "nsga2", "re", "reinforce", "rs",
]  # fmt: skip


def _runs(names: list[str], seeds: int = 3, evaluations: int = 150) -> dict[str, list[Run]]:
    """Trajectories whose regret falls from about 30 pp to about 1 pp."""
    generator = np.random.default_rng(0)
    out: dict[str, list[Run]] = {}
    for k, name in enumerate(names):
        for _ in range(seeds):
            evaluation = np.arange(1, evaluations + 1, dtype=np.float64)
            seconds = np.cumsum(generator.uniform(0.5, 3.0, evaluations))
            regret = np.minimum.accumulate(30.0 / evaluation ** (0.5 + 0.05 * k) + generator.uniform(0, 0.5))
            out.setdefault(name, []).append(Run(evaluation, seconds, regret))
    return out


def _png_dpi(png: bytes) -> tuple[int, int, float]:
    """(width px, height px, dots per inch from the pHYs chunk) of a PNG."""
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    position, width, height, dpi = 8, 0, 0, 0.0
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind, data = png[position + 4 : position + 8], png[position + 8 : position + 8 + length]
        assert (
            zlib.crc32(kind + data)
            == struct.unpack(">I", png[position + 8 + length : position + 12 + length])[0]
        )
        if kind == b"IHDR":
            width, height = struct.unpack(">II", data[:8])
        elif kind == b"pHYs":
            per_x, _per_y, unit = struct.unpack(">IIB", data)
            assert unit == 1  # metres
            dpi = per_x * 0.0254
        position += 12 + length
    return width, height, dpi


# --------------------------------------------------------------------- style per strategy
def test_fourteen_strategies_never_share_a_colour_and_marker() -> None:
    palette = Palette(FOURTEEN)
    styles = [(palette.colour(name), palette.marker(name), palette.line(name)) for name in FOURTEEN]
    assert len({(colour, marker) for colour, marker, _ in styles}) == len(FOURTEEN)
    assert {colour for colour, _, _ in styles} <= set(OKABE_ITO) and {m for _, m, _ in styles} <= set(MARKERS)
    assert len({colour for colour, _, _ in styles[:8]}) == 8  # the first eight: eight colours
    assert len({marker for _, marker, _ in styles[:9]}) == 9  # the first nine: nine markers
    # the same strategy looks the same in every figure of a report, whatever else it holds
    again = Palette([*reversed(FOURTEEN), "rs", "bananas"])
    assert all(
        again.marker(n) == palette.marker(n) and again.colour(n) == palette.colour(n) for n in FOURTEEN
    )


def test_every_line_of_the_anytime_figure_has_its_strategy_style() -> None:
    names = FOURTEEN[:12]
    palette = Palette(names)
    with figure_settings():
        drawn = anytime_plot("Test regret", _runs(names), palette)
    assert drawn is not None
    figure, _floor = drawn
    for axes in figure.axes:
        lines = {line.get_label().split(" (")[0]: line for line in axes.get_lines()}
        assert set(lines) == set(names)
        for name, line in lines.items():
            assert (line.get_color(), line.get_marker(), line.get_linestyle()) == (
                palette.colour(name), palette.marker(name), palette.line(name)
            )  # fmt: skip


# --------------------------------------------------------------------- ticks and resolution
def test_log_ticks_are_plain_numbers() -> None:
    assert [plain_number(v) for v in (0.05, 0.5, 1.0, 2.0, 10.0, 200.0, 5000.0)] == [
        "0.05", "0.5", "1", "2", "10", "200", "5,000"
    ]  # fmt: skip
    with figure_settings():
        drawn = anytime_plot("Test regret", _runs(FOURTEEN[:11]), Palette(FOURTEEN))
    assert drawn is not None
    figure = drawn[0]
    figure.canvas.draw()
    time_axes, evaluation_axes = figure.axes[:2]
    for axes, axis in ((time_axes, "x"), (evaluation_axes, "x"), (time_axes, "y")):
        ticks = axes.get_xaxis() if axis == "x" else axes.get_yaxis()
        low, high = sorted(axes.get_xlim() if axis == "x" else axes.get_ylim())
        labels = [
            tick.label1.get_text() for tick in ticks.get_major_ticks() + ticks.get_minor_ticks()
            if tick.label1.get_visible() and tick.label1.get_text() and low <= tick.get_loc() <= high
        ]  # fmt: skip
        assert len(labels) >= 3, labels
        powers = ("\u00d710", "10^", "$", "e+", "e-")  # no "6 x 10^0" powers, TeX or scientific notation
        assert not any(power in label for power in powers for label in labels), labels
        assert all(label.replace(",", "").replace(".", "", 1).isdigit() for label in labels), labels
    evaluations = [
        t.label1.get_text() for t in evaluation_axes.xaxis.get_major_ticks() if t.label1.get_text()
    ]
    assert {"1", "10", "20", "50", "100"} <= set(evaluations)


def test_figures_are_saved_for_print() -> None:
    with figure_settings():
        rendered = anytime_figure("Test regret", _runs(FOURTEEN[:5]), Palette(FOURTEEN))
    assert rendered is not None
    width, height, dpi = _png_dpi(rendered[0])
    assert FIGURE_DPI >= 150 and dpi == pytest.approx(FIGURE_DPI, abs=1)
    assert width == pytest.approx(PAGE_WIDTH_IN * FIGURE_DPI, abs=2) and height < width


# --------------------------------------------------------------------- Pareto fronts
def _pareto_frame() -> pd.DataFrame:
    """Two strategies' fronts between 84 % and 88 %, and one all-`none` cell at 10 % on a front."""
    rows = []
    for name, shift in (("nsga2", 0.0), ("mo-re", 0.3)):
        for seed in range(3):
            for k, latency in enumerate((0.25, 0.3, 0.35, 0.4, 0.5)):
                val = 84.0 + shift + k * 0.8 + 0.1 * seed
                rows.append(("t", name, seed, LATENCY, k, val, val - 0.4, latency))
    rows.append(("t", "nsga2", 0, LATENCY, 99, 10.0, 10.0, 0.2))  # the chance-level cell
    columns = ["table", "strategy", "seed", "objective", "index", "val_acc", "test_acc", "objective_value"]
    return pd.DataFrame(rows, columns=columns)


def test_pareto_range_leaves_out_a_chance_level_cell_and_keeps_every_front_point() -> None:
    frame = _pareto_frame()
    with figure_settings():
        figure, notes = pareto_plot("fronts", LATENCY, frame, Palette(["nsga2", "mo-re"]), (1.2, 80.0))
    val_axes, test_axes = figure.axes[:2]
    informative = frame[frame["val_acc"] > 50]
    for axes, column in ((val_axes, "val_acc"), (test_axes, "test_acc")):
        low, high = axes.get_ylim()
        assert low > 10.0 + 50  # the outlier is not inside the range...
        assert (
            low <= informative[column].min() and informative[column].max() <= high
        )  # ...every other point is
        assert high - low < 8.0
        assert (low, high) == accuracy_range(frame[column].to_numpy())
    assert any("10.0 %" in note and "lower edge" in note for note in notes)
    # the reference's objective ceiling lies far right of every point: noted, not stretching the axis
    assert test_axes.get_xlim()[1] < 0.6 and any("far right" in note for note in notes)
    # without an outlier, nothing is left out
    clean = frame[frame["val_acc"] > 50]
    low, high = accuracy_range(clean["val_acc"].to_numpy())
    assert low < clean["val_acc"].min() and high > clean["val_acc"].max()


def test_axis_labels_and_table_headers_use_the_label_map(tmp_path: Path) -> None:
    assert metric_label(LATENCY) == "Latency, CPU 1 thread, batch 1 (ms)"
    assert metric_label("cpu-2t/train_peak_memory_mb") == "Peak memory, training, CPU 2 threads (MB)"
    assert metric_label("params_m") == "Parameters (M)" and metric_label("test_acc") == "Test accuracy (%)"
    assert metric_label("my_plugin_metric") == "my_plugin_metric"
    assert constraint_label(f"{LATENCY}<=0.25") == "latency, CPU 1 thread, batch 1 (ms) \u2264 0.25"
    assert constraint_label("params_m<=1.5") == "parameters (M) \u2264 1.5"
    assert constraint_label("odd") == "odd"
    with figure_settings():
        figure, _ = pareto_plot("fronts", LATENCY, _pareto_frame(), Palette(["nsga2", "mo-re"]))
    labels = [text for axes in figure.axes[:2] for text in (axes.get_xlabel(), axes.get_ylabel())]
    assert labels == [
        metric_label(LATENCY),
        "Validation accuracy (%)",
        metric_label(LATENCY),
        "Test accuracy (%)",
    ]
    results = load_results(write_results(tmp_path / "results").directory)
    with figure_settings():
        document = build_document(results)
    headers = [cell for block in document.blocks if isinstance(block, Table) for cell in block.header]
    assert headers and not any("latency_ms" in cell or "cpu-1t/" in cell for cell in headers)
    assert "its latency, CPU 1 thread, batch 1 (ms)" in headers
    assert any(block.plot == "pareto" for block in document.blocks if isinstance(block, Image))


# --------------------------------------------------------------------- architecture weights
def test_architecture_weights_are_drawn_on_a_fixed_scale_with_the_uniform_line() -> None:
    ops = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
    rows = [
        (edge, op, epoch, seed, 0.2 + (0.01 if op == "skip_connect" else -0.0025) * epoch / 9)
        for edge in ("1<-0", "2<-0")
        for op in ops
        for epoch in range(10)
        for seed in range(2)
    ]
    frame = pd.DataFrame(rows, columns=["edge", "op", "epoch", "seed", "weight"])
    with figure_settings():
        figure = weights_plot("darts", frame)
    axes = figure.axes[0]
    assert axes.get_ylim() == pytest.approx((0.0, 0.4))  # 0 to twice the uniform 1/5, not 0.19-0.21
    uniform = [line for line in axes.get_lines() if line.get_label() == "uniform (1/5)"]
    assert len(uniform) == 1 and list(uniform[0].get_ydata()) == pytest.approx([0.2, 0.2])
    frame.loc[frame["op"] == "skip_connect", "weight"] = 0.93  # a collapse: the axis grows to show it
    with figure_settings():
        assert weights_plot("darts", frame).axes[0].get_ylim() == pytest.approx((0.0, 1.0))

"""The leaderboard's Pareto section: fronts of the multi-objective runs and their hypervolume.

Hypervolume is measured on the scored test accuracy against the reference point that
config.json fixes per table (``hypervolume_reference``: an accuracy floor and a ceiling
per objective), so it is the same box for every strategy and every report of that table:
adding a strategy changes no other strategy's value, and a point worse than the reference
(a chance-level cell) adds nothing. It is reported as a fraction of the box between the
reference point and the ideal corner (objective 0, the table's best test accuracy). A
failed run has an empty front and counts with hypervolume 0.

Results written before the reference was recorded get the older measure, with a note
saying so: validation accuracy in the box spanned by the panel's own points, which moves
when strategies are added.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from nasbench.core.pareto import hypervolume, pareto_front
from nasbench.reporting.labels import in_sentence, metric_label
from nasbench.reporting.leaderboard.document import Document
from nasbench.reporting.leaderboard.figures import Palette, pareto_figure
from nasbench.reporting.leaderboard.load import Results, table_names
from nasbench.reporting.markdown import mean_sd, number

__all__ = ["HypervolumeBox", "hypervolume_box", "pareto_section"]


@dataclass(frozen=True)
class HypervolumeBox:
    """A table's fixed hypervolume reference for one objective, and the ideal corner."""

    ceiling: float  # worst objective value that counts
    floor: float  # worst test accuracy that counts, percent
    #: The table's best test accuracy, percent (the ideal objective is 0): the highest of
    #: ``best_test_acc`` and ``best_test_acc_by_seed``, so no scored point lies above it.
    ideal_accuracy: float

    def fraction(self, costs: np.ndarray, accuracies: np.ndarray) -> float:
        """Hypervolume of the points as a fraction of the box (0 for no point)."""
        if not len(costs):
            return 0.0
        area = hypervolume(costs, accuracies, (self.ceiling, self.floor))
        return area / (self.ceiling * (self.ideal_accuracy - self.floor))


def _finite(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def hypervolume_box(entry: dict[str, Any], objective: str) -> HypervolumeBox | None:
    """The fixed box of ``objective`` from a table's config.json entry (100 % as the ideal
    accuracy when no best is recorded); None when the entry records no usable
    ``hypervolume_reference`` for it (older results)."""
    reference = entry.get("hypervolume_reference")
    if not isinstance(reference, dict):
        return None
    ceiling, floor = _finite(reference.get(objective)), _finite(reference.get("test_acc"))
    by_seed = entry.get("best_test_acc_by_seed")
    bests = [_finite(entry.get("best_test_acc"))]
    bests += [_finite(value) for value in by_seed.values()] if isinstance(by_seed, dict) else []
    known = [value for value in bests if value is not None]
    ideal = max(known) if known else 100.0
    if ceiling is None or floor is None or ceiling <= 0 or ideal <= floor:
        return None
    return HypervolumeBox(ceiling, floor, ideal)


def _best_point(group: pd.DataFrame) -> tuple[str, str, str]:
    """Best validation accuracy among the points, its test accuracy and its objective value."""
    if not len(group):
        return "—", "—", "—"
    best = group.loc[group["val_acc"].idxmax()]
    return number(best["val_acc"]), number(best["test_acc"]), f"{float(best['objective_value']):.4g}"


def _fixed_rows(
    frame: pd.DataFrame, runs: pd.DataFrame, box: HypervolumeBox
) -> tuple[list[tuple[str, ...]], int]:
    """Per strategy with runs on this objective: seeds, points, pooled front, hypervolume on
    test accuracy per run (a failed run 0), best validation point; and the failed runs."""
    rows, failed = [], 0
    for name in sorted(set(runs["strategy"]) | set(frame["strategy"])):
        group = frame[frame["strategy"] == name]
        seeds = sorted({int(s) for s in runs.loc[runs["strategy"] == name, "seed"]} | set(group["seed"]))
        failed += int(((runs["strategy"] == name) & (runs["status"] != "ok")).sum())
        volumes = []
        for seed in seeds:
            points = group[group["seed"] == seed]
            volumes.append(box.fraction(points["objective_value"].to_numpy(), points["test_acc"].to_numpy()))
        pooled = pareto_front(group["objective_value"].to_numpy(), group["val_acc"].to_numpy())
        rows.append(
            (str(name), str(len(seeds)), str(len(group)), str(len(pooled)), mean_sd(np.asarray(volumes), 3),
             *_best_point(group))
        )  # fmt: skip
    return rows, failed


def _legacy_rows(frame: pd.DataFrame) -> list[tuple[str, ...]]:
    """As reports did before a reference was recorded: hypervolume on validation accuracy in
    the box spanned by all points of the panel, per seed with points."""
    value_low, value_high = float(frame["objective_value"].min()), float(frame["objective_value"].max())
    acc_low, acc_high = float(frame["val_acc"].min()), float(frame["val_acc"].max())
    scale = max(value_high - value_low, 1e-12) * max(acc_high - acc_low, 1e-12)
    reference = (value_high, acc_low)
    rows = []
    for name, group in frame.groupby("strategy", sort=True):
        volumes = np.asarray(
            [
                hypervolume(run["objective_value"].to_numpy(), run["val_acc"].to_numpy(), reference) / scale
                for _seed, run in group.groupby("seed", sort=True)
            ]
        )
        pooled = pareto_front(group["objective_value"].to_numpy(), group["val_acc"].to_numpy())
        rows.append(
            (str(name), str(group["seed"].nunique()), str(len(group)), str(len(pooled)), mean_sd(volumes, 3),
             *_best_point(group))
        )  # fmt: skip
    return rows


def _panel(
    document: Document, results: Results, palette: Palette, table: str, objective: str, frame: pd.DataFrame
) -> None:
    """One table and objective: the figure, the hypervolume note and the table."""
    entry = next((e for e in results.config["tables"] if str(e.get("name")) == table), {})
    box = hypervolume_box(entry, objective)
    runs = results.runs[(results.runs["table"] == table) & (results.runs["objective"] == objective)]
    label = metric_label(objective)
    named = in_sentence(label)  # inside a sentence
    title = f"{table}: accuracy against {named}"
    document.heading(3, f"{table}: {label}")
    reference = None if box is None else (box.ceiling, box.floor)
    rendered = pareto_figure(title, objective, frame, palette, reference)
    caption = f"Pareto fronts on {table}, accuracy against {named} ({objective}), pooled over seeds."
    if box is not None:
        caption += (
            f" Dashed on the test panel: the hypervolume reference point ({box.ceiling:.4g}, test accuracy "
            f"{box.floor:.2f} %)."
        )
    document.image(
        f"pareto-{table}-{objective}",
        f"Pareto fronts: {title}",
        " ".join((caption, *rendered.notes)),
        rendered.png,
        "pareto",
    )
    if box is None:
        document.paragraph(
            f"config.json records no hypervolume reference for {objective} on {table} (results written "
            "before nasbench fixed one per table), so hypervolume is measured as older reports did: on "
            "validation accuracy, per seed, normalised to the box spanned by all points of this panel "
            "(0 to 1, higher is better). That box moves when strategies are added, so these values are "
            "comparable within this table of this report only."
        )
        rows = _legacy_rows(frame)
        volume = "hypervolume, val acc (mean ± sd)"
    else:
        rows, failed = _fixed_rows(frame, runs, box)
        document.paragraph(
            f"Hypervolume per run: the area the run's front points dominate by their scored test accuracy "
            f"and {named}, up to the reference point fixed for {table} in config.json "
            f"(hypervolume_reference: {objective} at most {box.ceiling:.4g}, test accuracy at least "
            f"{box.floor:.2f} %), as a fraction of the box from that point to the ideal corner ({named} "
            f"0, test accuracy {box.ideal_accuracy:.2f} %, the highest best test accuracy config.json "
            "records for the table). The reference is the same for every strategy and every report of "
            "this table; a point worse than it in either "
            f"coordinate adds nothing; a failed run has no front and counts as 0 ({failed} here)."
        )
        volume = "hypervolume, test acc (mean ± sd)"
    document.table(
        ("strategy", "seeds", "front points", "pooled front", volume, "best val acc %", "its test acc %",
         f"its {named}"),
        rows,
        (False, True, True, True, True, True, True, True),
    )  # fmt: skip


def pareto_section(document: Document, results: Results, palette: Palette) -> None:
    """Fronts and hypervolume of every (table, objective) of the multi-objective runs."""
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
        "pooled over seeds."
    )
    for table in table_names(results):
        on_table = pareto[pareto["table"] == table]
        for objective in sorted(set(on_table["objective"])):
            _panel(document, results, palette, table, objective, on_table[on_table["objective"] == objective])

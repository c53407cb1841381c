"""The leaderboard's body: :func:`build_document` lays out the whole report.

Per table: anytime curves, the final table and the statistics (Friedman, Nemenyi critical
difference with its diagram, Wilcoxon against the best-ranked strategy). Then an overview
across tables, the Pareto fronts of multi-objective runs, the one-shot strategies, the
constrained runs (judged against the best feasible architecture, so compared only with
each other), and the closing sections of :mod:`~nasbench.reporting.leaderboard.audit`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from nasbench.bench.results import MANIFEST_FILE, ONE_SHOT_KIND
from nasbench.core.pareto import hypervolume, pareto_front
from nasbench.reporting.leaderboard.audit import (
    budget_text,
    checklist_section,
    failed_section,
    provenance_section,
)
from nasbench.reporting.leaderboard.document import Document
from nasbench.reporting.leaderboard.figures import (
    Palette,
    Run,
    anytime_figure,
    critical_difference_figure,
    pareto_figure,
    weights_figure,
)
from nasbench.reporting.leaderboard.load import Results, table_names
from nasbench.reporting.leaderboard.stats import ALPHA, Comparison, analyse
from nasbench.reporting.markdown import MISSING, mean_sd, number, p_value

__all__ = ["PARAMETER_FREE_OPS", "build_document"]

#: Ops without weights: a cell made of them is the collapse one-shot studies warn about.
PARAMETER_FREE_OPS = frozenset({"none", "skip_connect", "avg_pool_3x3", "max_pool_3x3"})


def _median(values: Sequence[float] | np.ndarray) -> float:
    """The median; NaN when there are no values."""
    return float(np.median(values)) if len(values) else math.nan


def _trajectory_runs(results: Results) -> dict[tuple[str, str, int], Run]:
    """The trajectory of every (table, strategy, seed); regret +inf before the first incumbent."""
    frame = results.trajectories.sort_values(["table", "strategy", "seed", "evaluation"], kind="stable")
    out: dict[tuple[str, str, int], Run] = {}
    for (table, strategy, seed), group in frame.groupby(["table", "strategy", "seed"], sort=True):
        regret = group["regret"].to_numpy(dtype=np.float64)
        out[(str(table), str(strategy), int(seed))] = Run(
            group["evaluation"].to_numpy(dtype=np.float64),
            group["sim_seconds"].to_numpy(dtype=np.float64),
            np.where(np.isfinite(regret), np.maximum(regret, 0.0), np.inf),
        )
    return out


def _runs_by_strategy(
    trajectories: dict[tuple[str, str, int], Run], table: str, strategies: Sequence[str]
) -> dict[str, list[Run]]:
    out: dict[str, list[Run]] = {}
    for (run_table, strategy, _seed), run in trajectories.items():
        if run_table == table and strategy in strategies:
            out.setdefault(strategy, []).append(run)
    return out


def _final_table(document: Document, comparison: Comparison) -> None:
    header = (
        "avg rank", "strategy", "kind", "runs ok / total", "failed", "evaluations",
        "test acc % (mean ± sd)", "test acc % (median)", "regret pp (mean ± sd)", "regret pp (median)",
    )  # fmt: skip
    rows = []
    for summary in comparison.summaries:
        ok = summary.runs_total - summary.runs_failed
        rows.append(
            (
                number(summary.average_rank),
                summary.strategy,
                summary.kind,
                f"{ok} / {summary.runs_total}",
                str(summary.runs_failed),
                number(summary.evaluations_mean, 1),
                mean_sd(summary.final_test_acc),
                number(_median(summary.final_test_acc)),
                mean_sd(summary.final_regret, 3),
                number(_median(summary.final_regret), 3),
            )
        )
    numeric = (True, False, False, True, True, True, True, True, True, True)
    document.table(header, rows, numeric)


def _statistics(document: Document, comparison: Comparison, title: str) -> None:
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
            f"chi² = {friedman.statistic:.4f}, p = {p_value(friedman.p_value)} — {verdict}. "
            f"Nemenyi critical difference at alpha = {ALPHA:g}: "
            f"{comparison.critical_difference:.3f} average ranks."
        )
        png = critical_difference_figure(title, comparison.ranked, comparison.critical_difference)
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
                number(test.median_difference_pp, 3),
                number(test.statistic, 1),
                p_value(test.p_value),
                p_value(test.p_value_holm),
                outcome,
            )
        )
    document.table(
        ("strategy", "against", "seeds", "median Δ regret pp", "W", "p", "p (Holm)", "outcome"),
        rows,
        (False, False, True, True, True, True, True, False),
    )


def _comparison_section(
    document: Document,
    comparison: Comparison,
    runs: dict[str, list[Run]],
    palette: Palette,
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
    rendered = anytime_figure(f"Test regret: {title}", runs, palette)
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


def _front_rows(frame: pd.DataFrame) -> list[tuple[str, ...]]:
    """Per strategy: seeds, points, pooled front size, normalised hypervolume per seed
    (mean ± sd) and the point of best validation accuracy."""
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
        best = group.loc[group["val_acc"].idxmax()]
        rows.append(
            (
                str(name),
                str(group["seed"].nunique()),
                str(len(group)),
                str(len(pooled)),
                mean_sd(volumes, 3),
                number(best["val_acc"]),
                number(best["test_acc"]),
                f"{float(best['objective_value']):.4g}",
            )
        )
    return rows


def _pareto_section(document: Document, results: Results, palette: Palette) -> None:
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
    for table in table_names(results):
        on_table = pareto[pareto["table"] == table]
        for objective in sorted(set(on_table["objective"])):
            frame = on_table[on_table["objective"] == objective]
            title = f"{table}: validation and test accuracy against {objective}"
            document.heading(3, f"{table}: {objective}")
            document.image(
                f"pareto-{table}-{objective}",
                f"Pareto fronts: {title}",
                f"Pareto fronts on {table}, accuracy against {objective}, pooled over seeds.",
                pareto_figure(title, objective, frame, palette),
                "pareto",
            )
            document.table(
                ("strategy", "seeds", "front points", "pooled front", "hypervolume (mean ± sd)",
                 "best val acc %", "its test acc %", f"its {objective}"),
                _front_rows(frame),
                (False, True, True, True, True, True, True, True),
            )  # fmt: skip


def _arch_ops(text: str) -> list[str]:
    """The ops of an architecture string ``|op~0|+|op~0|op~1|+...``, in edge order."""
    return [term.split("~", 1)[0] for term in text.split("|") if "~" in term]


def _one_shot_rows(results: Results, runs: pd.DataFrame) -> list[tuple[str, ...]]:
    """Per (table, one-shot strategy): what its searches cost and returned."""
    epochs = results.one_shot.groupby(["table", "strategy", "seed"]).size()
    rows = []
    for (table, strategy), group in runs.groupby(["table", "strategy"], sort=True):
        ok = group[group["status"] == "ok"]
        archs = [text for text in ok["final_arch"] if text]
        counts = pd.Series(archs, dtype=object).value_counts(sort=True) if archs else pd.Series(dtype=int)
        free = [sum(op in PARAMETER_FREE_OPS for op in _arch_ops(text)) for text in archs]
        run_epochs = [int(epochs.get((table, strategy, int(seed)), 0)) for seed in ok["seed"]]
        rows.append(
            (
                str(table),
                str(strategy),
                f"{len(ok)} / {len(group)}",
                number(_median(run_epochs), 0),
                number(_median(ok["search_seconds"].to_numpy()), 1),
                mean_sd(ok["final_test_acc"].to_numpy(dtype=np.float64)),
                number(_median(ok["final_regret"].to_numpy()), 3),
                number(np.mean(free) if free else math.nan, 1),
                str(len(counts)),
                f"{counts.index[0]} ({int(counts.iloc[0])}x)" if len(counts) else MISSING,
            )
        )
    return rows


def _one_shot_section(document: Document, results: Results) -> None:
    """One-shot runs: what each search cost and returned, and how its architecture
    distribution moved epoch by epoch."""
    runs = results.runs[results.runs["kind"] == ONE_SHOT_KIND]
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
    document.table(
        ("table", "strategy", "runs ok / total", "epochs (median)", "search CPU s (median)",
         "test acc % (mean ± sd)", "regret pp (median)", "parameter-free edges (mean)",
         "distinct results", "most frequent result"),
        _one_shot_rows(results, runs),
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
            weights_figure(title, frame),
            "weights",
        )


def _overview_section(document: Document, comparisons: Sequence[Comparison]) -> None:
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
        [(name, *[number(value) for value in ranks[name]], number(mean[name])) for name in order],
        (False, *[True] * len(main), True),
    )


def _constrained_section(
    document: Document,
    comparisons: Sequence[Comparison],
    trajectories: dict[tuple[str, str, int], Run],
    palette: Palette,
) -> None:
    constrained = [c for c in comparisons if c.constraint]
    if not constrained:
        return
    document.heading(2, "Constrained runs")
    document.paragraph(
        "Constrained strategies look for the best architecture under a limit on a free property; they "
        "are judged against the best feasible architecture and so are compared only with each other."
    )
    for comparison in constrained:
        strategies = [s.strategy for s in comparison.summaries]
        runs = _runs_by_strategy(trajectories, comparison.table, strategies)
        _comparison_section(document, comparison, runs, palette, None)


#: Missing runs listed by name in an incomplete report; the rest are counted.
MAX_MISSING_LISTED = 100


def _integrity_section(document: Document, results: Results) -> None:
    """Right under the summary: that the files were not verified (no manifest), and which
    expected runs are missing (results read with ``allow_incomplete``)."""
    if not results.verified:
        document.paragraph(
            f"Not verified: this results directory has no manifest ({MANIFEST_FILE}; it was written before "
            "nasbench recorded one), so the sizes and checksums of its files could not be checked."
        )
    missing = results.missing_runs
    if not missing:
        return
    expected = len(results.runs) + len(missing)
    document.heading(2, "Incomplete results")
    document.paragraph(
        f"{len(missing)} of the {expected} runs that config.json asks for are missing from runs.csv (the "
        "comparison did not finish, or its files were cut); this report was written with "
        "--allow-incomplete. Strategies are ranked on the seeds where every one of them finished."
    )
    rows = [(table, strategy, str(seed)) for table, strategy, seed in missing[:MAX_MISSING_LISTED]]
    document.table(("table", "strategy", "seed"), rows, (False, False, True))
    if len(missing) > MAX_MISSING_LISTED:
        document.paragraph(f"And {len(missing) - MAX_MISSING_LISTED} more missing runs.")


def build_document(results: Results) -> Document:
    """The whole report; figures are drawn here (call it under ``figure_settings()``)."""
    comparisons = analyse(results)
    trajectories = _trajectory_runs(results)
    names = [str(entry["name"]) for entry in results.config["strategies"]] + list(results.runs["strategy"])
    palette = Palette(names)
    best = {
        str(e["name"]): float(e["best_test_acc"]) for e in results.config["tables"] if "best_test_acc" in e
    }
    config = results.config
    document = Document()
    tables = table_names(results)
    document.heading(1, f"nasbench leaderboard: {', '.join(tables) or 'no tables'}")
    strategies = sorted(set(results.runs["strategy"]))
    missing = results.missing_runs
    absent = f"; {len(missing)} more that config.json asks for are missing" if missing else ""
    document.paragraph(
        f"{len(strategies)} strategies x {len(config['seeds'])} seeds on {len(tables)} table(s); "
        f"budget per run: {budget_text(config['budget'])}. {int((results.runs['status'] == 'ok').sum())} "
        f"of {len(results.runs)} runs finished{absent}. Regret: the table's best test accuracy (mean over "
        "its seeds) minus the test accuracy of the incumbent, the architecture with the best validation "
        "accuracy so far, in percentage points."
    )
    _integrity_section(document, results)
    _overview_section(document, comparisons)
    for table in tables:
        main = [c for c in comparisons if c.table == table and not c.constraint]
        if not main:
            continue
        document.heading(2, f"Table {table}")
        comparison = main[0]
        runs = _runs_by_strategy(trajectories, table, [s.strategy for s in comparison.summaries])
        _comparison_section(document, comparison, runs, palette, best.get(table))
    _pareto_section(document, results, palette)
    _one_shot_section(document, results)
    _constrained_section(document, comparisons, trajectories, palette)
    failed_section(document, results)
    checklist_section(document, results, comparisons)
    provenance_section(document, results)
    return document

"""The leaderboard's body: :func:`build_document` lays out the whole report.

Per table: anytime curves, how the runs were scored, the final table and the statistics
under the comparison's protocol (:mod:`.statistics_section`). Then an overview across
tables, the Pareto fronts of multi-objective runs (:mod:`.pareto_section`), the one-shot
strategies, the constrained runs (judged against the best feasible architecture, so
compared only with each other), and the closing sections of
:mod:`~nasbench.reporting.leaderboard.audit`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from nasbench.bench.results import MANIFEST_FILE, ONE_SHOT_KIND
from nasbench.reporting.leaderboard.audit import (
    budget_text,
    checklist_section,
    failed_section,
    provenance_section,
)
from nasbench.reporting.leaderboard.document import Document
from nasbench.reporting.leaderboard.figures import Palette, Run, anytime_figure, weights_figure
from nasbench.reporting.leaderboard.load import Results, table_names
from nasbench.reporting.leaderboard.pareto_section import pareto_section
from nasbench.reporting.leaderboard.statistics_section import final_table, statistics_section
from nasbench.reporting.leaderboard.stats import Comparison, analyse
from nasbench.reporting.markdown import MISSING, mean_sd, number

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


def _entry(results: Results, table: str) -> dict[str, Any]:
    """The table's entry in config.json ({} for a table only runs.csv names)."""
    return next((e for e in results.config["tables"] if str(e.get("name")) == table), {})


def _scoring_text(entry: dict[str, Any]) -> str:
    """How the table's runs were scored (config.json's ``scoring``), or what older results did."""
    scoring = entry.get("scoring")
    if isinstance(scoring, dict) and isinstance(scoring.get("text"), str) and scoring["text"].strip():
        mode = f" ({scoring['mode']})" if isinstance(scoring.get("mode"), str) and scoring["mode"] else ""
        text = scoring["text"].strip()
        return f"Scoring{mode}: {text}" + ("" if text.endswith((".", "!", "?")) else ".")
    return (
        "Scoring: config.json does not record how these runs were scored (results written before "
        "nasbench recorded it); such runs were scored by the mean test accuracy over the table's seeds, "
        "the seed whose validation accuracy the search saw included, which favours strategies that "
        "select on that seed's noise."
    )


def _best_text(entry: dict[str, Any]) -> str:
    """The table's best test accuracy, per run seed when the scoring depends on it."""
    by_seed = entry.get("best_test_acc_by_seed")
    if isinstance(by_seed, dict) and by_seed:
        values = [float(v) for v in by_seed.values() if type(v) in (int, float)]
        if values and min(values) != max(values):
            return (
                f" (table best under this scoring: {min(values):.2f} to {max(values):.2f} %, depending on "
                "the run's seed)"
            )
        if values:
            return f" (table best under this scoring: {values[0]:.2f} %)"
    best = entry.get("best_test_acc")
    return f" (table best {float(best):.2f} %)" if isinstance(best, (int, float)) else ""


def _comparison_section(
    document: Document,
    comparison: Comparison,
    runs: dict[str, list[Run]],
    palette: Palette,
    entry: dict[str, Any],
) -> None:
    title = comparison.table if not comparison.constraint else f"{comparison.table}, {comparison.constraint}"
    level = 3 if not comparison.constraint else 4
    if comparison.constraint:
        document.heading(3, f"{comparison.table} under {comparison.constraint}")
        document.paragraph(
            "Regret is measured against the best test accuracy among the architectures that satisfy "
            f"{comparison.constraint}, not against the table's best."
        )
    document.heading(level, "Anytime performance")
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
    document.heading(level, "Final results")
    best = "" if comparison.constraint else _best_text(entry)
    document.paragraph(
        f"Final incumbent of every run: test accuracy in percent (finished runs) and regret in percentage "
        f"points{best}, a run without a final result scored as the worst outcome of its seed (the largest "
        "final regret on that seed; column 'scored worst'). Strategies are listed by their average rank "
        f"of final regret over the {len(comparison.seeds_used)} seed(s) used as blocks (1 = best); equal "
        "average ranks share a position marked as a tie, and the order within a tie is arbitrary "
        "(alphabetical). The average rank describes the results; it is not itself evidence of a "
        f"difference. Verdict of the statistics below: {comparison.verdict}"
    )
    if not comparison.constraint:
        document.paragraph(_scoring_text(entry))
    final_table(document, comparison)
    document.bullets(comparison.notes)
    document.heading(level, "Statistics")
    statistics_section(document, comparison, title)


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


def _protocol_line(comparisons: Sequence[Comparison]) -> str:
    """The report's protocol in one sentence (one protocol for every comparison)."""
    if not comparisons:
        return "no comparison to test."
    protocol = comparisons[0].protocol
    against = f" ({protocol.baseline})" if protocol.baseline else ""
    return f"{protocol.title}{against}, alpha = {protocol.alpha:g}, stated in full in each table's section."


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
    tied = {name for name in names if sum(math.isclose(mean[name], mean[o], abs_tol=1e-9) for o in names) > 1}
    document.paragraph(
        "Average rank of the final regret on each table (1 = best) and their mean over tables; "
        "ranks are comparable within a table only, and describe the results: each table's statistics "
        "say which differences are significant. Equal mean ranks are marked as ties (order within a tie "
        "arbitrary)."
    )
    document.table(
        ("strategy", *[c.table for c in main], "mean rank"),
        [
            (name, *map(number, ranks[name]), number(mean[name]) + (" (tie)" if name in tied else ""))
            for name in order
        ],
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
        _comparison_section(document, comparison, runs, palette, {})


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
        f"of {len(results.runs)} runs finished{absent}; every other run is scored as the worst outcome of "
        "its seed, never dropped. Regret: the table's best test accuracy minus the test accuracy of the "
        "incumbent, the architecture with the best validation accuracy so far, in percentage points; each "
        "table's section says how test accuracy was scored. Statistics: "
        f"{_protocol_line(comparisons)}"
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
        _comparison_section(document, comparison, runs, palette, _entry(results, table))
    pareto_section(document, results, palette)
    _one_shot_section(document, results)
    _constrained_section(document, comparisons, trajectories, palette)
    failed_section(document, results)
    checklist_section(document, results, comparisons)
    provenance_section(document, results)
    return document

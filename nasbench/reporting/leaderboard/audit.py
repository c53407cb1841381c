"""The leaderboard's closing sections, which say how far the results can be trusted: the
failed runs, a best-practice checklist (Lindauer & Hutter 2020) evaluated on the actual
configuration, and the provenance of the results (versions, budget, seeds, checksums,
tables, strategies and the full configuration).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd

from nasbench.bench.results import MANIFEST_FILE, RESULT_FILES, TIMING_FILE
from nasbench.reporting.leaderboard.document import Document
from nasbench.reporting.leaderboard.load import Results, table_names
from nasbench.reporting.leaderboard.stats import RANDOM_SEARCH_NAMES, Comparison
from nasbench.reporting.markdown import MISSING, number

__all__ = [
    "MIN_SEEDS",
    "RANDOM_SEARCH_NAMES",
    "budget_text",
    "checklist",
    "checklist_section",
    "failed_section",
    "provenance_section",
    "provider_text",
]

#: Fewest seeds the checklist accepts as "enough repetitions".
MIN_SEEDS = 5
#: Files whose checksums the provenance lists: all but timing.json (wall seconds vary) and
#: the manifest (which holds the others' checksums).
_CHECKSUMMED_FILES = tuple(name for name in RESULT_FILES if name not in (TIMING_FILE, MANIFEST_FILE))


def budget_text(budget: dict[str, Any]) -> str:
    """'150 evaluations', '3600 simulated seconds' or both, whichever is spent first."""
    parts = []
    if budget.get("evaluations") is not None:
        parts.append(f"{budget['evaluations']} evaluations")
    if budget.get("seconds") is not None:
        parts.append(f"{budget['seconds']:g} simulated seconds")
    if not parts:
        return "no budget recorded"
    return " or ".join(parts) + (", whichever is spent first" if len(parts) > 1 else "")


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


def failed_section(document: Document, results: Results) -> None:
    """Every failed run (runs.csv or errors.json) with its error, and each traceback."""
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
    document.paragraph(
        f"{len(keys)} run(s) failed. They have no trajectory; in the statistics each is scored as the worst "
        "outcome of its seed (the largest final regret among the strategies that finished on that seed, "
        "and the last rank), never dropped, and the seed stays a block for every other strategy."
    )
    document.table(("table", "strategy", "seed", "error"), rows, (False, False, True, False))
    for key in keys:
        error = recorded.get(key)
        if error and error.get("traceback"):
            document.details(
                f"Traceback: {key[1]} on {key[0]}, seed {key[2]}", str(error["traceback"]).rstrip()
            )


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


def _budget_item(results: Results) -> tuple[str, bool, str]:
    budget = results.config["budget"]
    evaluations, seconds = budget.get("evaluations"), budget.get("seconds")
    ok = results.runs[results.runs["status"] == "ok"]
    over = 0
    if evaluations is not None:
        over += int((ok["evaluations"] > evaluations).sum())
    if seconds is not None:
        over += int((ok["sim_seconds"] > seconds * (1 + 1e-9)).sum())
    has_budget = evaluations is not None or seconds is not None
    return (
        "Same budget for every strategy",
        has_budget and over == 0,
        f"one budget for all runs ({budget_text(budget)}); {over} run(s) exceed it",
    )


def _recording_items(results: Results) -> list[tuple[str, bool, str]]:
    """Whether the table checksums, code version, hyperparameters and failures were recorded."""
    config, runs = results.config, results.runs
    listed = list(config["tables"])
    with_checksum = [e for e in listed if re.fullmatch(r"(sha256:)?[0-9a-f]{64}", str(e.get("checksum", "")))]
    version = config.get("nasbench_version")
    with_params = [e for e in config["strategies"] if isinstance(e.get("hyperparameters"), dict)]
    failed = _run_keys(runs[runs["status"] == "failed"])
    recorded = {_error_key(error) for error in results.errors}
    return [
        (
            "Table checksums recorded",
            bool(listed) and len(with_checksum) == len(listed),
            f"{len(with_checksum)} of {len(listed)} tables have a sha256",
        ),
        ("Code version recorded", bool(version), f"nasbench {version}" if version else "no nasbench_version"),
        (
            "Hyperparameters of every strategy recorded",
            len(with_params) == len(config["strategies"]) and bool(with_params),
            f"{len(with_params)} of {len(config['strategies'])} strategies",
        ),
        (
            "Failed runs reported, not dropped",
            failed == recorded,
            f"{len(failed)} failed in runs.csv, {len(recorded)} in errors.json"
            + ("" if failed == recorded else " (they disagree)"),
        ),
    ]


def checklist(results: Results, comparisons: Sequence[Comparison]) -> list[tuple[str, bool, str]]:
    """(item, met, evidence) for the best-practice items that the results can show."""
    config, runs = results.config, results.runs
    seeds = [int(seed) for seed in config["seeds"]]
    strategies = sorted({str(entry["name"]) for entry in config["strategies"]} | set(runs["strategy"]))
    tables = table_names(results)
    items = [_budget_item(results)]
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
    isolated = config.get("isolation") == "process"
    items.append(
        (
            "Test data not used for search",
            violations == 0 and isolated,
            (
                "every run executed in a sandbox process holding no test data (config.json: isolation)"
                if isolated
                else "config.json does not record that runs were isolated from test data"
            )
            + "; the incumbent is the best validation accuracy so far in every unconstrained trajectory "
            f"({checked} rows checked, {violations} not)",
        )
    )
    items += _recording_items(results)
    ok = runs[runs["status"] == "ok"]
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
    tested = [c for c in comparable if c.tested]
    items.append(
        (
            "Statistical tests over seeds",
            bool(comparable) and len(tested) == len(comparable),
            f"{len(tested)} of {len(comparable)} comparisons with 2+ strategies tested",
        )
    )
    statistics = config.get("statistics")
    items.append(
        (
            "Statistical protocol fixed before the runs",
            isinstance(statistics, dict),
            f"config.json records the protocol {statistics.get('protocol')}"
            + (f" against {statistics.get('baseline')}" if statistics.get("protocol") == "baseline" else "")
            if isinstance(statistics, dict)
            else "config.json records none (older results): the report applies the documented default",
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


def checklist_section(document: Document, results: Results, comparisons: Sequence[Comparison]) -> None:
    document.heading(2, "Best-practice checklist")
    document.paragraph(
        "Items after Lindauer & Hutter (2020), 'Best practices for scientific research on neural "
        "architecture search', checked against these results."
    )
    document.table(
        ("item", "status", "evidence"),
        [
            (item, "✔ met" if met else "✘ not met", evidence)
            for item, met, evidence in checklist(results, comparisons)
        ],
        (False, False, False),
    )


def _mean_run_seconds(entry: dict[str, Any]) -> Any:
    """A table's mean seconds of one full run (training of every epoch plus the final
    evaluation, :func:`nasbench.core.cost.mean_run_seconds`): ``mean_run_seconds`` in
    config.json, ``mean_train_seconds`` in results written before it was renamed."""
    return entry.get("mean_run_seconds", entry.get("mean_train_seconds"))


def _package_version() -> str:
    """The installed nasbench's version; from a source tree that is not installed, the
    package's ``__version__`` (read from the loaded package: importing the package root
    would load the table API, and with it h5py, into this layer)."""
    try:
        return metadata.version("nasbench")
    except metadata.PackageNotFoundError:
        return str(getattr(sys.modules.get("nasbench"), "__version__", "unknown"))


def provider_text(provider: Any) -> str:
    """Who provides a strategy, as config.json records it (``{"distribution", "version"}``,
    or a ``module`` for a class registered in code that is not a distribution):
    ``nasbench 0.1.0``, ``module my_search (not from a distribution)``; :data:`MISSING`
    when nothing is recorded."""
    if isinstance(provider, dict):
        distribution = str(provider.get("distribution") or "")
        if distribution:
            return f"{distribution} {provider.get('version') or ''}".strip()
        if provider.get("module"):
            return f"module {provider['module']} (not from a distribution)"
        return MISSING
    return str(provider) if provider else MISSING


def provenance_section(document: Document, results: Results) -> None:
    """Versions, budget and seeds; checksums of the result files; tables; strategies; config.json."""
    config = results.config
    document.heading(2, "Provenance")
    budget = config["budget"]
    document.bullets(
        [
            f"Results format: {config.get('format')}; written by nasbench {config.get('nasbench_version')}; "
            f"report written by nasbench {_package_version()}.",
            f"Budget per run: {budget_text(budget)}.",
            f"Seeds: {', '.join(str(seed) for seed in config['seeds'])}.",
            f"Result files checked against the manifest {MANIFEST_FILE}: sizes and sha256 match."
            if results.verified
            else f"Result files not verified: the directory has no manifest {MANIFEST_FILE}.",
        ]
    )
    document.heading(3, "Result files")
    document.table(
        ("file", "sha256"),
        [(name, results.checksums[name]) for name in _CHECKSUMMED_FILES if name in results.checksums],
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
                str(entry["num_epochs"]) if "num_epochs" in entry else MISSING,
                number(entry.get("best_test_acc")),
                number(_mean_run_seconds(entry), 1),
            )
        )
    document.table(
        ("table", "path", "sha256", "epochs", "best test acc %", "mean s per full run"),
        rows,
        (False, False, False, True, True, True),
    )
    document.heading(3, "Strategies")
    strategies = config["strategies"]
    rows = [
        (
            str(entry["name"]),
            str(entry.get("kind", "")),
            json.dumps(entry.get("hyperparameters", {}), sort_keys=True),
        )
        for entry in strategies
    ]
    if any("provider" in entry for entry in strategies):  # recorded since plug-ins may share names
        document.table(
            ("strategy", "kind", "provider", "hyperparameters"),
            [
                (*row[:2], provider_text(entry.get("provider")), row[2])
                for row, entry in zip(rows, strategies, strict=True)
            ],
            (False, False, False, False),
        )
    else:
        document.table(("strategy", "kind", "hyperparameters"), rows, (False, False, False))
    document.heading(3, "Configuration")
    document.paragraph("config.json as written by nasbench compare:")
    document.code(json.dumps(config, sort_keys=True, indent=2), "json")

"""The fidelity frontier: one Markdown table of protocol fidelity reports, cheapest first.

Each report is the JSON that ``nasbench fidelity`` writes beside a table (see
:func:`nasbench.generation.fidelity.fidelity_report`); the table shows the protocol's
fields, what one run and the whole space cost, how well two seeds agree and, for reports
made with ``--against``, how the sample's seed mean ranks against each reference table
(per class: Spearman, top-5 % overlap, and the Spearman estimated for many seeds).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nasbench.core.agreement import seed_mean_spearman
from nasbench.reporting.markdown import MISSING, number, table

__all__ = ["FRONTIER_FIELDS", "frontier_markdown"]

#: Protocol fields shown in a frontier row, in order.
FRONTIER_FIELDS = (
    "resolution",
    "width",
    "cells_per_stage",
    "epochs",
    "train_size",
    "val_size",
    "batch_size",
    "learning_rate",
    "label_smoothing",
    "schedule",
    "augment",
    "bf16",
)


def _field(protocol: Mapping[str, Any], key: str) -> str:
    """One protocol field as a cell: lists joined with '+', an empty list 'none'."""
    if key not in protocol:
        return MISSING
    value = protocol[key]
    if isinstance(value, list | tuple):
        return "+".join(str(item) for item in value) or "none"
    return str(value)


def _two_seed_mean_spearman(single_seed: float | None) -> float | None:
    """Spearman-Brown estimate of the agreement of a two-seed mean from the single-seed
    agreement; not defined for a coefficient <= 0, which is passed through."""
    if single_seed is None or single_seed <= 0:
        return single_seed
    return seed_mean_spearman(single_seed, 2)


#: How a reference's dataset is named in a column header.
DATASET_LABELS = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "imagenet16": "ImageNet16-120"}


def _references(reports: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(reference name, column label) of every reference any report was judged against,
    in name order."""
    names: dict[str, str] = {}
    for report in reports.values():
        for name, external in report.get("external", {}).items():
            dataset = str(external.get("reference_dataset") or name)
            names[name] = DATASET_LABELS.get(dataset, dataset)
    return sorted(names.items())


def frontier_markdown(reports: Mapping[str, Mapping[str, Any]]) -> str:
    """A Markdown table of fidelity reports (name -> report), cheapest first: cost per run,
    projected table cost, single-seed and two-seed-mean Spearman, Kendall tau, and the
    external columns of every reference any report carries (blank where a report has none)."""
    references = _references(reports)
    external_header = [
        column
        for _, label in references
        for column in (
            f"Spearman vs {label}",
            f"top-5 % vs {label}",
            f"Spearman vs {label}, many seeds (est.)",
        )
    ]
    header = (
        "protocol",
        *FRONTIER_FIELDS,
        "archs",
        "core-s/run",
        "table core-h",
        "Spearman",
        "Kendall",
        "mean abs diff %",
        "2-seed-mean Spearman (est.)",
        *external_header,
    )
    rows = []
    for name, report in sorted(reports.items(), key=lambda item: item[1]["core_seconds_per_run"]):
        protocol = report.get("protocol", {})
        fields = [_field(protocol, key) for key in FRONTIER_FIELDS]
        figures = [
            str(report["archs"]),
            number(report["core_seconds_per_run"], 2),
            number(report["table_core_hours"], 1),
            number(report["spearman"], 3),
            number(report["kendall_tau"], 3),
            number(report["mean_abs_seed_difference_pct"], 3),
            number(_two_seed_mean_spearman(report["spearman"]), 3),
        ]
        for reference, _ in references:
            external = report.get("external", {}).get(reference)
            if external is None:
                figures += [MISSING] * 3
                continue
            figures += [
                number(external["per_class"]["spearman"], 3),
                number(external["per_class"]["top_5pct_overlap"], 1),
                number(external["per_class_spearman_noiseless"], 3),
            ]
        rows.append((name, *fields, *figures))
    return table(header, rows) + "\n"

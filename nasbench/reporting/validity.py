"""Markdown of an external-validity result: how well a table ranks architectures like a
reference table does (the dict :func:`nasbench.generation.validity.validity` returns).

Rendering only: every figure is read from the result, so the document is as deterministic
as the result is. Imports only :mod:`nasbench.reporting.markdown`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nasbench.reporting.markdown import MISSING, code, number, p_value, table, text

__all__ = ["VIEW_NAMES", "render_validity"]

#: Result key of each view -> its label in the document.
VIEW_NAMES = {"per_architecture": "per architecture", "per_class": "per class"}

_HEADLINE_REASON = {
    "per_architecture": (
        "**Headline: per architecture.** Every shared index counts once. This is how agreement between "
        "benchmarks is published (NAS-Bench-201's correlations between its datasets are over all 15,625 "
        "cells) and how a search that draws cells by index meets the table, so these are the figures to "
        "set beside published ones. **Per class** counts every isomorphism class of the table once (its "
        "representative; each side averaged over the class's shared members), so a large class (cells "
        "whose `none` edges cut the others off; here {sizes}) does not weigh in by its size: it is the "
        "stricter test of what the table itself measured. Quote both when they differ."
    ),
    "per_class": (
        "**Headline: per class.** Every isomorphism class of the table counts once (its representative; "
        "each side averaged over the class's shared members; here {sizes}). **Per architecture** counts "
        "every shared index once, as published cross-benchmark correlations do."
    ),
}


def _class_sizes(result: Mapping[str, Any]) -> str:
    sizes = result.get("class_sizes")
    if not sizes:
        return f"{result['classes']:,} classes"
    return (
        f"{result['classes']:,} classes, {sizes['single_member']:,} of one member, the largest of "
        f"{sizes['largest']:,}; classes of ten or more hold {sizes['archs_in_classes_of_10_or_more']:,} of "
        f"the {result['n_shared']:,} architectures"
    )


def _side(side: Mapping[str, Any]) -> str:
    """One line describing a table: file, dataset, metric, epoch, values kept, checksum."""
    epoch = f" at epoch {side['epoch_number']}" if side.get("epoch_number") is not None else ""
    seeds = (
        "the benchmark's seed mean" if side.get("seed_axis") == "mean" else f"mean of seeds {side['seeds']}"
    )
    direction = "" if side.get("higher_is_better", True) else " (lower is better)"
    return (
        f"{code(side['file'])} ({text(side.get('dataset') or MISSING)}): {code(side['metric'])}{direction}"
        f"{epoch}, {text(seeds)}, values per {text(side['values_per'])}, {side['archs']:,} architectures, "
        f"checksum {code(side.get('checksum') or MISSING)}"
    )


def _statistic(figure: Mapping[str, Any]) -> str:
    """A coefficient and its p-value; a p-value that underflowed to 0 reads ``< 1e-300``."""
    probability = "< 1e-300" if figure["p_value"] == 0 else p_value(figure["p_value"])
    return f"{number(figure['statistic'], 3)} (p {probability})"


def _members(count: int) -> str:
    return f"{count:,} member" + ("" if count == 1 else "s")


def _rank(best: Mapping[str, Any], n: int) -> str:
    return f"{best['reference_rank']:,} of {n:,}"


def _summary(result: Mapping[str, Any], views: list[str]) -> str:
    fractions = [entry["fraction"] for entry in result[views[0]]["top_k"]]
    header = (
        "view",
        "n",
        "Spearman",
        "Kendall tau-b",
        *(f"top {100 * f:g} % overlap" for f in fractions),
        "reference rank of the table's best",
        "stratum Spearman (size-weighted)",
    )
    rows = []
    for key in views:
        view = result[key]
        label = VIEW_NAMES[key] + (" (headline)" if key == result.get("headline") else "")
        rows.append(
            (
                label,
                f"{view['n']:,}",
                _statistic(view["spearman"]),
                _statistic(view["kendall"]),
                *(f"{number(e['overlap_percent'], 1)} % (k {e['k']:,})" for e in view["top_k"]),
                _rank(view["best"], view["n"]),
                number(view["strata"]["weighted_mean_spearman"], 3),
            )
        )
    numeric = (False, True, True, True, *(True for _ in fractions), True, True)
    return table(header, rows, numeric=numeric)


def _best_table(result: Mapping[str, Any], views: list[str]) -> str:
    header = (
        "view",
        "table's best",
        "table value",
        "reference value",
        "reference rank",
        "percentile",
        "reference's best value",
        "regret on the reference",
        "tied best",
    )
    rows = []
    for key in views:
        best = result[key]["best"]
        low, high = best["tied_reference_rank_range"]
        tied = "none" if best["tied"] == 1 else f"{best['tied']:,} (reference ranks {low:,} to {high:,})"
        rows.append(
            (
                VIEW_NAMES[key] + (f" ({_members(best['members'])})" if "members" in best else ""),
                code(best["arch"]),
                number(best["table_value"], 2),
                number(best["reference_value"], 2),
                _rank(best, result[key]["n"]),
                number(best["reference_percentile"], 2),
                number(best["reference_best_value"], 2),
                number(best["reference_regret"], 2),
                tied,
            )
        )
    numeric = (False, False, True, True, True, True, True, True, False)
    return table(header, rows, numeric=numeric)


def _strata_table(view: Mapping[str, Any]) -> str:
    rows = [
        (
            row["ops"],
            f"{row['n']:,}",
            number(row["spearman"]["statistic"], 3),
            number(row["kendall"]["statistic"], 3),
            f"{number(row['top_k']['overlap_percent'], 1)} % (k {row['top_k']['k']})",
        )
        for row in view["strata"]["rows"]
    ]
    header = ("ops in the cell", "n", "Spearman", "Kendall tau-b", "top 5 % overlap")
    return table(header, rows, numeric=(False, True, True, True, True))


def render_validity(result: Mapping[str, Any]) -> str:
    """The result as a Markdown document (ending in a newline)."""
    views = [key for key in VIEW_NAMES if key in result]
    views.sort(key=lambda key: key != result.get("headline"))
    table_side, reference_side = result["table"], result["reference"]
    lines = [
        f"# External validity of {text(table_side['file'])} against {text(reference_side['file'])}",
        "",
        f"- **Table:** {_side(table_side)}",
        f"- **Reference:** {_side(reference_side)}",
        f"- **Shared:** {result['n_shared']:,} architectures matched by their string and measured in both "
        f"({result['matched']:,} matched, {result['not_measured']:,} left out as not measured on one side), "
        f"in {result['classes']:,} isomorphism classes of the table.",
        "",
        _HEADLINE_REASON.get(result.get("headline", ""), "").format(sizes=_class_sizes(result)),
        "",
        "## Agreement",
        "",
        _summary(result, views),
        "",
        "Correlations compare the two rankings (best first); top-k overlap is the share of the "
        "reference's top k that is also in the table's top k.",
        "",
        "## The table's best architecture on the reference",
        "",
        _best_table(result, views),
        "",
        "Regret is the reference's best value minus the reference value of the table's best (in the "
        "reference metric's units): what choosing by the table costs on the reference.",
        "",
        "## Per op-composition stratum",
        "",
        "A stratum is the multiset of ops of a cell (for a class: of its representative). Within a "
        "stratum the cells have the same ops and similar cost, so these figures say whether the table "
        "ranks how the ops are wired the way the reference does, beyond what the op counts alone explain.",
    ]
    for key in views:
        strata = result[key]["strata"]
        unit = "architectures" if key == "per_architecture" else "classes"
        lines += [
            "",
            f"### {VIEW_NAMES[key].capitalize()}",
            "",
            f"{strata['strata_reported']} of {strata['strata_total']} strata have at least "
            f"{strata['min_size']} shared {unit} ({strata['entries_reported']:,} {unit} in all); "
            f"size-weighted mean Spearman {number(strata['weighted_mean_spearman'], 3)}.",
        ]
        if strata["rows"]:
            lines += [
                "",
                "<details><summary>Every stratum</summary>",
                "",
                _strata_table(result[key]),
                "",
                "</details>",
            ]
    lines += ["", "## How ties are handled", ""]
    rules = result.get("tie_breaking", {})
    lines += [f"- {text(name.replace('_', '-'))}: {text(rule)}" for name, rule in rules.items()]
    return "\n".join(lines) + "\n"

"""A table's data card: what it holds, how it was made, what it cost and how much to trust it.

Everything on the card is read from the table itself (its attributes and arrays), so the
card of a table can always be regenerated and never disagrees with it. Every string read
from the table (its name, attributes, ops, devices, architecture strings) is escaped, so a
crafted table cannot put raw HTML or links into the card. The table is any
object with the read API of :class:`nasbench.core.table.Table` (an open table, or a
stand-in); this module opens no file itself.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np

from nasbench.core.cost import generation_seconds
from nasbench.core.schema import STATUS_DONE, STATUS_FAILED, STATUS_PENDING
from nasbench.reporting import markdown
from nasbench.reporting.markdown import MISSING, Markdown, code, fence, number, text

if TYPE_CHECKING:
    from nasbench.core.table import Table

__all__ = ["data_card"]


def _key_values(pairs: list[tuple[str, Any]]) -> str:
    """A two-column key/value table with an empty header; dicts and lists as JSON (escaped
    as text, as every value read from the table is, unless it is :class:`Markdown`)."""
    rows = [
        (
            key,
            value
            if isinstance(value, Markdown)
            else json.dumps(value, sort_keys=True)
            if isinstance(value, (dict, list))
            else str(value),
        )
        for key, value in pairs
    ]
    return markdown.table(("", ""), rows)


def _range(values: np.ndarray, digits: int = 3) -> str:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return "not measured"
    return f"{finite.min():.{digits}f} to {finite.max():.{digits}f} (median {np.median(finite):.{digits}f})"


def _external_lines(external: dict[str, Any]) -> list[str]:
    """The card's external-validity table: the seed mean of final test accuracy against each
    reference the fidelity figures were measured against (``nasbench fidelity --against``)."""
    if not external:
        return []
    header = (
        "reference",
        "view",
        "n",
        "Spearman",
        "Kendall τ",
        "top-1 % overlap",
        "top-5 % overlap",
        "Spearman with many seeds (est.)",
    )
    rows = []
    for name, figures in sorted(external.items()):
        noiseless = number(figures.get("per_class_spearman_noiseless"), 3)
        for view in ("per_architecture", "per_class"):
            values = figures.get(view) or {}
            rows.append(
                (
                    f"{name} ({figures.get('reference_metric', 'test_acc')})",
                    view.replace("_", " "),
                    str(values.get("n", MISSING)),
                    number(values.get("spearman"), 3),
                    number(values.get("kendall_tau"), 3),
                    number(values.get("top_1pct_overlap"), 1, suffix=" %"),
                    number(values.get("top_5pct_overlap"), 1, suffix=" %"),
                    noiseless if view == "per_class" else MISSING,
                )
            )
    return [
        "",
        "**External validity** (seed mean of final test accuracy against each reference; per "
        "architecture counts every cell, per class every distinct network once)",
        "",
        markdown.table(header, rows),
    ]


def data_card(table: Table, *, title: str | None = None, command: str | None = None) -> str:
    """Markdown data card of ``table`` (an open table or any object with its read API);
    ``command`` is the exact command that regenerates it."""
    status = table.run_status
    done, failed = int(np.sum(status == STATUS_DONE)), int(np.sum(status == STATUS_FAILED))
    dataset, protocol, provenance = table.dataset, table.protocol, table.provenance
    name = title or table.path.stem
    lines = [f"### {text(name)}", ""]
    lines.append(
        f"{table.num_archs:,} architectures of the space ({text(', '.join(table.space.ops))}; "
        f"{table.space.num_nodes} nodes), {table.num_unique:,} canonical classes trained with seeds "
        f"{', '.join(map(str, table.seeds.tolist()))} for {table.num_epochs} epochs: {done:,} runs done, "
        f"{failed:,} failed, {status.size - done - failed:,} pending. Checksum {code(table.checksum)}."
    )
    lines += ["", "**Protocol**", ""]
    lines.append(_key_values(sorted(protocol.items())))
    lines += ["", "**Data and splits**", ""]
    source = dataset.get("source", {})
    official = dataset.get("official_train_size")
    lines.append(
        _key_values(
            [
                ("dataset", dataset.get("name")),
                (
                    "training images",
                    f"{dataset.get('train_size')} drawn from the official {official}-image training set "
                    f"(split seed {dataset.get('split_seed')})",
                ),
                ("validation images", f"{dataset.get('val_size')}, held out of the official training set"),
                ("test images", f"{dataset.get('test_size')}, the official test set"),
                (
                    "resolution",
                    f"{dataset.get('resolution')} px (native {dataset.get('native_resolution')} px)",
                ),
                ("normalisation", dataset.get("normalisation")),
                ("source files (sha256)", source.get("files", {})),
            ]
        )
    )
    measured = status != STATUS_PENDING
    train = np.nansum(table.raw("train_seconds").astype(np.float64), axis=2)
    run_seconds = generation_seconds(table)
    lines += ["", "**Cost of generation**", ""]
    if measured.any():
        per_run = run_seconds[measured]
        lines.append(
            _key_values(
                [
                    ("training and evaluation, all runs", f"{per_run.sum() / 3600:.2f} CPU core-hours"),
                    ("training only", f"{train[measured].sum() / 3600:.2f} CPU core-hours"),
                    (
                        "one run (train + eval), mean / median",
                        f"{per_run.mean():.2f} / {np.median(per_run):.2f} core-seconds",
                    ),
                ]
            )
        )
    else:
        lines.append("No run recorded yet.")
    lines += ["", "**Fidelity** (agreement between seeds over every class trained with all of them)", ""]
    fidelity = table.fidelity
    if fidelity:
        epochs = ", ".join(number(v, 3) for v in fidelity.get("epoch_spearman_to_final", []))
        pairs = [
            ("classes", fidelity.get("archs")),
            ("seed-to-seed Spearman, final val accuracy", number(fidelity.get("spearman"), 3)),
            ("seed-to-seed Kendall τ", number(fidelity.get("kendall_tau"), 3)),
            (
                "mean absolute seed difference",
                number(fidelity.get("mean_abs_seed_difference_pct"), 3, suffix=" %"),
            ),
            (
                "spread between architectures (sd of seed means)",
                number(fidelity.get("between_arch_sd_pct"), 3, suffix=" %"),
            ),
            ("Spearman of each epoch with the final one", epochs),
            (
                "seed-mean Spearman, Spearman-Brown estimate",
                number(fidelity.get("seed_mean_spearman_estimate"), 3),
            ),
        ]
        lines.append(_key_values(pairs))
        lines += _external_lines(fidelity.get("external") or {})
    else:
        lines.append("Not measured yet (`nasbench fidelity`).")
    lines += ["", "**What it holds**", ""]
    if measured.any():
        val = table.class_metric("val_acc")
        test = table.class_metric("test_acc")
        best = int(np.nanargmax(test)) if np.isfinite(test).any() else -1
        pairs = [
            ("final val accuracy, seed mean", _range(val, 2) + " %"),
            ("final test accuracy, seed mean", _range(test, 2) + " %"),
            ("params", f"{table.params.min() / 1e6:.6f} to {table.params.max() / 1e6:.6f} M"),
            ("FLOPs", f"{table.flops.min() / 1e6:.5f} to {table.flops.max() / 1e6:.5f} M"),
        ]
        if best >= 0:
            arch = table.space.from_index(int(table.unique[best]))
            pairs.append(("best class by test accuracy", Markdown(f"{code(arch)} ({test[best]:.2f} %)")))
        lines.append(_key_values(pairs))
    lines += ["", "**Devices** (latency and peak memory, one network per distinct class and cost)", ""]
    if table.devices:
        for device_id, description in table.devices.items():
            lines.append(f"- {code(device_id)}: {text(json.dumps(description, sort_keys=True))}")
            for metric in sorted(n for n in table.metric_names if n.startswith(device_id + "/")):
                lines.append(f"  - {code(metric.split('/', 1)[1])}: {_range(table.metric(metric))}")
    else:
        lines.append("None measured.")
    lines += ["", "**Provenance**", ""]
    lines.append(_key_values(sorted(provenance.items())))
    if command:
        lines += ["", "**Regenerate**", "", fence(command.strip(), "sh")]
    return "\n".join(lines) + "\n"

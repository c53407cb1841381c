"""The predictor report: Markdown tables of the JSON studies that ``nasbench surrogate
eval``, ``surrogate tune``, ``surrogate weight-sharing`` and ``proxies`` print.

It only formats what the studies measured; every figure comes from a file given to it,
except the reference Spearman correlations of three proxies on NAS-Bench-201 CIFAR-10,
quoted in a column labelled as such. Tables and numbers are written by
:mod:`nasbench.reporting.markdown`.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nasbench.core.errors import ConfigError
from nasbench.reporting.markdown import as_float, code, number, table, text

__all__ = ["PUBLISHED_PROXY_SPEARMAN", "load_study", "predictor_report", "study_kind"]

#: Reference Spearman of zero-cost proxies with final accuracy on NAS-Bench-201 CIFAR-10
#: (the figures the proxies are commonly compared with), for the proxy table's last column.
PUBLISHED_PROXY_SPEARMAN = {"synflow": 0.74, "jacob_cov": 0.73, "snip": 0.60}

STUDY_KINDS = ("eval", "tune", "proxies", "weight_sharing")


def study_kind(data: Mapping[str, Any]) -> str:
    """Which study a JSON document is, from its keys; ConfigError when none."""
    rows = data.get("rows")
    if "best" in data and isinstance(rows, list):
        return "tune"
    if isinstance(data.get("correlation"), Mapping) or isinstance(data.get("proxies"), Mapping):
        return "proxies"
    if isinstance(rows, list) and rows and isinstance(rows[0], Mapping) and "bn_mode" in rows[0]:
        return "weight_sharing"
    if "model" in data and isinstance(data.get("summary"), list):
        return "eval"
    raise ConfigError(
        "not a predictor study: expected the JSON of `nasbench surrogate eval`, `surrogate tune`, "
        "`surrogate weight-sharing` or `proxies`"
    )


def load_study(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read one study file; the error names the file and what is wrong with it."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a predictor study (not UTF-8 text)") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: not a predictor study (a JSON object is expected)")
    try:
        study_kind(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return data


def _best_first(value: Any) -> tuple[bool, float]:
    """Sort key: highest number first, missing values last."""
    figure = as_float(value)
    return math.isnan(figure), -figure


def _eval_section(studies: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = [
        "## Surrogates",
        "",
        "Fitted on seeded training sets of each size, scored on every other usable class against "
        "the seed-mean final validation accuracy; median over the draws (seconds are CPU of one "
        "fit; ms to predict all architectures of the space).",
        "",
    ]
    header = ["model", "train", "draws", "Kendall τ", "sparse τ", "Spearman", "R²", "MAE %",
              "P@10", "P@50", "τ top 10 %", "fit s", "predict-all ms"]  # fmt: skip
    rows = []
    for study in studies:
        for entry in study["summary"]:
            rows.append(
                [
                    str(study["model"]),
                    str(entry.get("train_size")),
                    str(entry.get("runs")),
                    number(entry.get("kendall_tau"), 3),
                    number(entry.get("sparse_kendall_tau"), 3),
                    number(entry.get("spearman"), 3),
                    number(entry.get("r2"), 3),
                    number(entry.get("mae"), 2),
                    number(entry.get("precision_at_10"), 2),
                    number(entry.get("precision_at_50"), 2),
                    number(entry.get("kendall_tau_top10pct"), 3),
                    number(entry.get("fit_seconds"), 2),
                    number(entry.get("predict_all_ms"), 1),
                ]
            )
    lines.append(table(header, rows))
    noise = [study for study in studies if isinstance(study.get("noise_comparison"), Mapping)]
    if noise:
        lines += [
            "",
            "### Fitted on one seed: surrogate or that seed's own run?",
            "",
            "NAS-Bench-301's question. The surrogate is fitted on the first seed's accuracies of "
            "the training classes; on the other classes, it and the first seed's own values are "
            "scored against an independent run (the other seed) and against the seed mean (which "
            "contains the first seed, so it favours it).",
            "",
        ]
        rows = []
        for study in noise:
            comparison = study["noise_comparison"]
            for key, values in comparison["summary"].items():
                rows.append(
                    [
                        str(comparison["model"]),
                        str(comparison["train_size"]),
                        key.replace("_", " "),
                        number(values.get("kendall_tau"), 3),
                        number(values.get("spearman"), 3),
                        number(values.get("mae"), 2),
                    ]
                )
        lines.append(table(["model", "train", "comparison", "Kendall τ", "Spearman", "MAE %"], rows))
    return lines


def _tune_section(studies: Sequence[Mapping[str, Any]], top: int = 5) -> list[str]:
    lines = ["## Tuning", ""]
    for study in studies:
        rows_in = list(study["rows"])
        lines += [
            f"{code(study['model'])}: {len(rows_in)} configurations, each fitted on "
            f"{text(study['train_size'])} classes drawn with seeds {text(study['seeds'])} "
            "(not the draws of the evaluation above); configuration 0 was the defaults at the time. "
            "Best first:",
            "",
        ]
        shown = rows_in[:top] + [row for row in rows_in[top:] if row["config"] == 0]
        rows = [
            [
                str(row["config"]),
                number(row["kendall_tau"], 3),
                number(row["spearman"], 3),
                number(row.get("fit_seconds"), 2),
                ", ".join(f"{k}={_short(v)}" for k, v in row["hyperparameters"].items()) or "(defaults)",
            ]
            for row in shown
        ]
        lines.append(table(["config", "Kendall τ", "Spearman", "fit s", "hyperparameters"], rows))
        lines.append("")
    return lines[:-1]


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _proxies_section(studies: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = ["## Zero-cost proxies", ""]
    for study in studies:
        metrics = study.get("correlation") or study.get("proxies") or {}
        if "wall_seconds" in study:
            lines += [
                f"Every one of {study.get('classes', '?')} classes scored by {len(metrics)} proxies at "
                f"initialisation in {number(study['wall_seconds'], 1)} s wall "
                f"({study.get('workers', '?')} worker processes).",
                "",
            ]
        rows = [
            [
                name,
                number(values.get("spearman"), 3),
                number(values.get("kendall_tau"), 3),
                number(values.get("precision_at_10"), 2),
                number(values.get("precision_at_50"), 2),
                number(values.get("kendall_tau_top10pct"), 3),
                number(PUBLISHED_PROXY_SPEARMAN.get(name), 2),
            ]
            for name, values in sorted(metrics.items(), key=lambda item: _best_first(item[1].get("spearman")))
        ]
        header = ["proxy", "Spearman", "Kendall τ", "P@10", "P@50", "τ top 10 %",
                  "reference Spearman (NB201 CIFAR-10)"]  # fmt: skip
        lines.append(table(header, rows))
        lines.append("")
    return lines[:-1]


def _weight_sharing_section(studies: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = ["## Weight sharing", ""]
    for study in studies:
        lines += [
            f"A supernet of the table's protocol trained by uniform path sampling for each length, "
            f"then every one of {study['classes_scored']} classes scored with inherited weights on "
            f"{study['eval_images']} validation images, BatchNorm in each mode (batch: the scored "
            "batch's statistics; running: training's running statistics; recalibrated: statistics "
            "re-computed per architecture). Seconds are CPU.",
            "",
        ]
        rows = [
            [
                str(row["epochs"]),
                str(row["seed"]),
                str(row["bn_mode"]),
                number(row.get("kendall_tau"), 3),
                number(row.get("spearman"), 3),
                number(row.get("precision_at_10"), 2),
                number(row.get("precision_at_50"), 2),
                number(row.get("kendall_tau_top10pct"), 3),
                number(row.get("fit_seconds"), 1),
                number(row.get("score_seconds"), 1),
            ]
            for row in study["rows"]
        ]
        header = ["epochs", "seed", "BN", "Kendall τ", "Spearman", "P@10", "P@50", "τ top 10 %",
                  "train s", "score-all s"]  # fmt: skip
        lines.append(table(header, rows))
        lines.append("")
    return lines[:-1]


def predictor_report(studies: Sequence[Mapping[str, Any]], *, title: str = "Predictors") -> str:
    """Markdown of the given studies, grouped by kind; they must all judge one table."""
    if not studies:
        raise ConfigError("no studies to report")
    checksums = {str(s["table_checksum"]) for s in studies if s.get("table_checksum")}
    if len(checksums) > 1:
        raise ConfigError(f"the studies judge different tables (checksums {', '.join(sorted(checksums))})")
    by_kind: dict[str, list[Mapping[str, Any]]] = {kind: [] for kind in STUDY_KINDS}
    for study in studies:
        by_kind[study_kind(study)].append(study)
    tables = sorted({str(s["table"]) for s in studies if s.get("table")})
    lines = [f"# {text(title)}", ""]
    lines.append(
        "Judged against the whole table "
        + ", ".join(code(name) for name in tables)
        + (f" (checksum {code(next(iter(checksums)))})" if checksums else "")
        + "."
    )
    sections = {
        "eval": _eval_section,
        "tune": _tune_section,
        "proxies": _proxies_section,
        "weight_sharing": _weight_sharing_section,
    }
    for kind in STUDY_KINDS:
        if by_kind[kind]:
            lines += ["", *sections[kind](by_kind[kind])]
    return "\n".join(lines) + "\n"

"""The predictor report: every study kind is recognised and its measured figures appear."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nasbench.cli.main import main
from nasbench.core.errors import ConfigError
from nasbench.core.table import Table
from nasbench.prediction.evaluation import evaluate_surrogate, noise_comparison, tune_surrogate
from nasbench.reporting.markdown import MISSING
from nasbench.reporting.predictors import load_study, predictor_report, study_kind
from nasbench.testing import synthetic_table

FAST_XGB = {"n_estimators": 30, "learning_rate": 0.3}


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Table:
    return synthetic_table(tmp_path_factory.mktemp("predictor-report") / "synthetic.h5")


@pytest.fixture(scope="module")
def eval_study(table: Table) -> dict[str, Any]:
    report = evaluate_surrogate(table, "xgb", [20, 200], [0, 1], hyperparameters=FAST_XGB)
    report["noise_comparison"] = noise_comparison(table, "xgb", 200, [0], hyperparameters=FAST_XGB)
    return report


def _weight_sharing_study(table: Table) -> dict[str, Any]:
    rows = [
        {"epochs": epochs, "seed": 0, "bn_mode": mode, "kendall_tau": tau, "spearman": 0.5,
         "precision_at_10": 0.1, "precision_at_50": 0.2, "kendall_tau_top10pct": 0.05,
         "fit_seconds": 12.5, "score_seconds": 41.25}
        for epochs, mode, tau in [(5, "batch", 0.123), (5, "recalibrated", 0.456)]
    ]  # fmt: skip
    return {"table": str(table.path), "table_checksum": table.checksum, "classes_scored": 6466,
            "eval_images": 256, "rows": rows}  # fmt: skip


def _proxies_study(table: Table) -> dict[str, Any]:
    correlation = {
        "synflow": {"spearman": 0.612, "kendall_tau": 0.44, "precision_at_10": 0.0},
        "params": {"spearman": 0.701, "kendall_tau": 0.52, "precision_at_10": 0.1},
    }
    return {"scores": "x.proxies.h5", "classes": 6466, "wall_seconds": 321.5, "workers": 2,
            "correlation": correlation}  # fmt: skip


def test_each_study_kind_is_recognised(table: Table, eval_study: dict[str, Any]) -> None:
    tuned = tune_surrogate(table, "xgb", configs=2, train_size=100, seeds=[100])
    assert study_kind(eval_study) == "eval"
    assert study_kind(tuned) == "tune"
    assert study_kind(_weight_sharing_study(table)) == "weight_sharing"
    assert study_kind(_proxies_study(table)) == "proxies"
    with pytest.raises(ConfigError, match="not a predictor study"):
        study_kind({"rows": []})


def test_the_report_carries_the_measured_figures(table: Table, eval_study: dict[str, Any]) -> None:
    tuned = tune_surrogate(table, "xgb", configs=3, train_size=100, seeds=[100])
    text = predictor_report([eval_study, tuned, _proxies_study(table), _weight_sharing_study(table)])
    assert table.checksum in text
    for entry in eval_study["summary"]:
        assert f"| xgb | {entry['train_size']} | 2 | {entry['kendall_tau']:.3f} |" in text
    surrogate_vs = eval_study["noise_comparison"]["summary"]["surrogate_vs_other_seed"]
    assert f"| surrogate vs other seed | {surrogate_vs['kendall_tau']:.3f} |" in text
    best = tuned["best"]
    assert f"| {best['config']} | {best['kendall_tau']:.3f} |" in text
    # Proxies best first by Spearman, the reference column only where a figure is known.
    assert text.index("| params | 0.701 |") < text.index("| synflow | 0.612 |")
    assert f"| synflow | 0.612 | 0.440 | 0.00 | {MISSING} | {MISSING} | 0.74 |" in text
    assert "in 321.5 s wall" in text
    assert "| 5 | 0 | recalibrated | 0.456 |" in text
    sections = [line for line in text.splitlines() if line.startswith("## ")]
    assert sections == ["## Surrogates", "## Tuning", "## Zero-cost proxies", "## Weight sharing"]


def test_tables_are_well_formed_and_missing_figures_marked(table: Table) -> None:
    """Every table has one separator line of the right width; values missing, not a number
    or not finite read as the one missing-value marker, never as 'nan' or a crash."""
    proxies = _proxies_study(table)
    missing = {"spearman": None, "kendall_tau": "n/a", "precision_at_10": float("inf")}
    proxies["correlation"]["flops"] = missing
    text = predictor_report([proxies, _weight_sharing_study(table)])
    lines = text.splitlines()
    for position, line in enumerate(lines):
        if line.startswith("|---"):
            header = lines[position - 1]
            assert line == "|" + "---|" * (header.count(" | ") + 1), (header, line)
    assert f"| flops | {MISSING} | {MISSING} | {MISSING} | {MISSING} | {MISSING} | {MISSING} |" in text
    assert text.index("| synflow |") < text.index("| flops |")  # missing Spearman sorts last
    assert "| nan |" not in text and "| inf |" not in text


def test_studies_of_different_tables_are_refused(table: Table, eval_study: dict[str, Any]) -> None:
    other = dict(_weight_sharing_study(table), table_checksum="sha256:0000")
    with pytest.raises(ConfigError, match="different tables"):
        predictor_report([eval_study, other])
    with pytest.raises(ConfigError, match="no studies"):
        predictor_report([])


def test_report_command(
    table: Table, eval_study: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = tmp_path / "eval.json"
    study.write_text(json.dumps(eval_study))
    out = tmp_path / "reports" / "predictors.md"
    assert main(["surrogate", "report", str(study), "--out", str(out), "--title", "Ours"]) == 0
    written = out.read_text()
    assert written.startswith("# Ours\n") and "## Surrogates" in written
    assert load_study(study)["model"] == "xgb"
    # Bad input: one line each, and the report already written is left as it was.
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    capsys.readouterr()
    assert main(["surrogate", "report", str(broken), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "broken.json: not JSON" in err and err.count("\n") == 1
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"hello": 1}))
    assert main(["surrogate", "report", str(foreign), "--out", str(out)]) == 1
    assert "foreign.json: not a predictor study" in capsys.readouterr().err
    assert main(["surrogate", "report", str(study), "--out", str(tmp_path / "r.html")]) == 1
    assert "ending in .md" in capsys.readouterr().err
    assert out.read_text() == written

"""The NAS-Bench-201 reproduction study on a small plan: runs in chunks that an
interrupted study keeps, figures per budget from the runs' trajectories, random search's
closed form beside them, and a report that is the same bytes every time."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nasbench.bench.expected import random_search_expectation
from nasbench.cli.main import main
from nasbench.core.errors import ConfigError
from nasbench.core.table import open_table
from nasbench.reporting.reproduction import render_reproduction
from nasbench.search.reproduction import run_reproduction, summarise_reproduction

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "tables" / "nb201-cifar100-hp12.h5"


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    results = tmp_path_factory.mktemp("reproduction") / "runs"
    run_reproduction(
        [TABLE], results, seeds=6, budgets=(5, 20), strategies=("rs", "re"), chunk=4, progress=False
    )
    return results


def test_chunks_and_figures_come_from_the_runs(study: Path) -> None:
    chunks = sorted(p.name for p in (study / TABLE.stem / "re").iterdir())
    assert chunks == ["seeds-0000-0003", "seeds-0004-0005"]
    summary = summarise_reproduction(study, [TABLE])
    entry = summary["tables"][TABLE.stem]
    trajectories = pd.concat(
        pd.read_csv(p) for p in sorted((study / TABLE.stem / "re").glob("*/trajectories.csv"))
    )
    at_five = (
        trajectories[trajectories["evaluation"] == 5].sort_values("seed")["incumbent_test_acc"].to_numpy()
    )
    figures = entry["strategies"]["re"]["5"]
    assert figures["n"] == 6 and figures["mean"] == pytest.approx(at_five.mean())
    assert figures["sd"] == pytest.approx(at_five.std(ddof=1))
    assert figures["se"] == pytest.approx(at_five.std(ddof=1) / np.sqrt(6))
    table = open_table(TABLE)
    mean, sd = random_search_expectation(table.metric("val_acc"), table.metric("test_acc"), 20)
    closed = entry["random_search_closed_form"]["20"]
    assert (closed["mean"], closed["sd"]) == pytest.approx((mean, sd))
    rs = entry["strategies"]["rs"]["20"]
    assert closed["z_simulated"] == pytest.approx((rs["mean"] - mean) / rs["se"])
    assert json.loads(json.dumps(summary)) == summary


def test_an_interrupted_study_goes_on_and_keeps_what_was_written(study: Path) -> None:
    kept = study / TABLE.stem / "rs" / "seeds-0000-0003" / "runs.csv"
    removed = study / TABLE.stem / "rs" / "seeds-0004-0005"
    stamp = kept.stat().st_mtime_ns
    before = (removed / "runs.csv").read_bytes()
    for path in removed.iterdir():
        path.unlink()
    removed.rmdir()
    run_reproduction(
        [TABLE], study, seeds=6, budgets=(5, 20), strategies=("rs", "re"), chunk=4, progress=False
    )
    assert kept.stat().st_mtime_ns == stamp
    assert (removed / "runs.csv").read_bytes() == before  # the same runs again, byte for byte
    with pytest.raises(ConfigError, match="another plan"):
        run_reproduction(
            [TABLE], study, seeds=7, budgets=(5, 20), strategies=("rs", "re"), chunk=4, progress=False
        )


def test_report_is_the_same_bytes_every_time(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = render_reproduction(summarise_reproduction(study, [TABLE]))
    assert text == render_reproduction(summarise_reproduction(study, [TABLE]))
    assert "random search, closed form" in text and "regularized evolution - random search" in text
    published = text.split("## Beside NAS-Bench-201's published numbers")[1]
    assert "| cifar100 | regularized evolution | 71.84 ± 0.99 | 71.04 ± 1.07 | +0.80 |" in published
    assert "REINFORCE" not in published  # not in this plan: no row
    out = tmp_path / "report.md"
    argv = ["reproduce", "--tables", str(TABLE), "--results", str(study), "--seeds", "6", "--budgets", "5,20"]
    code = main([*argv, "--report-only", "--out", str(out)])
    assert code == 0 and out.read_text() == text
    assert json.loads(out.with_suffix(".json").read_text())["tables"][TABLE.stem]["file"] == TABLE.name
    code = main([*argv, "--report-only", "--out", str(tmp_path / "report.html")])
    assert code == 1 and "must be a Markdown file" in capsys.readouterr().err

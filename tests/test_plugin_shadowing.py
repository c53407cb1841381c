"""A plug-in never takes a built-in's name, and who provides each strategy is recorded.

``tests/plugin/shadow`` is a distribution (``nasbench-shadow``) whose entry points are
named ``rs`` (a strategy) and ``xgb`` (a surrogate), installed with pip as
tests/test_runner.py installs ``tests/plugin``. The built-ins keep the names; the plug-in
is reached only as ``nasbench-shadow:rs``, and a warning names both, once.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from report_fixtures import FakeStrategy, write_results

import nasbench.core.registry as registry_module
from nasbench.core.errors import ConfigError
from nasbench.core.registry import class_provider
from nasbench.prediction import create_surrogate, get_surrogate_class, load_surrogate
from nasbench.prediction.registry import surrogate_registry
from nasbench.reporting.leaderboard import write_report
from nasbench.search import Strategy, get_strategy_class, register_strategy, strategy_registry
from nasbench.testing import synthetic_table

SHADOW_SOURCE = Path(__file__).parent / "plugin" / "shadow"
STRATEGIES = "nasbench.strategies"
SURROGATES = "nasbench.surrogates"
TWIN_ENTRY_POINTS = "[nasbench.strategies]\ntwin = nasbench_shadow:ShadowSearch\n"


@pytest.fixture(scope="module")
def shadow_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/plugin/shadow installed with pip into a folder, plus two hand-written
    distributions (as pip would leave them) that both declare the strategy ``twin``."""
    work = tmp_path_factory.mktemp("shadow")
    source = work / "source"
    shutil.copytree(
        SHADOW_SOURCE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    target = work / "site"
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index"]
    command += ["--quiet", "--disable-pip-version-check", "--target", str(target), str(source)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        pytest.fail(f"pip could not install tests/plugin/shadow: {done.stderr[-2000:]}")
    for name in ("twin-a", "twin-b"):
        info = target / f"{name.replace('-', '_')}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(TWIN_ENTRY_POINTS)
    return target


@pytest.fixture(params=["first", "last"])
def shadow(
    request: pytest.FixtureRequest, shadow_site: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """The plug-in importable and its entry points found, before or after the installed
    nasbench on the path (which one an old lookup kept depended on that order); registries
    restored afterwards and every warning logged anew."""
    if request.param == "first":
        monkeypatch.syspath_prepend(str(shadow_site))
    else:
        monkeypatch.setattr(sys, "path", [*sys.path, str(shadow_site)])
    monkeypatch.setattr(registry_module, "_WARNED", set())
    with strategy_registry.scoped(), surrogate_registry.scoped():
        yield shadow_site
    sys.modules.pop("nasbench_shadow", None)


# --------------------------------------------------------------------- the names
def test_the_built_in_keeps_its_name_and_the_plugin_is_reached_explicitly(shadow: Path) -> None:
    assert get_strategy_class("rs").__module__ == "nasbench.strategies.random_search"
    assert get_surrogate_class("xgb").__module__ == "nasbench.surrogates.tree"
    plugin = get_strategy_class("nasbench-shadow:rs")
    assert plugin.__module__ == "nasbench_shadow" and plugin.__name__ == "ShadowSearch"
    assert get_strategy_class("nasbench_shadow:rs") is plugin  # the distribution name as pip spells it
    assert get_surrogate_class("nasbench-shadow:xgb").__name__ == "ShadowSurrogate"
    assert get_strategy_class("rs").__module__ == "nasbench.strategies.random_search"  # still
    assert "rs" in strategy_registry.names() and "nasbench-shadow:rs" not in strategy_registry.names("*:*")


def test_a_warning_names_both_once(shadow: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="nasbench.core.registry")
    for _ in range(3):
        get_strategy_class("rs")
        strategy_registry.names()
    warnings = [r.getMessage() for r in caplog.records if "'rs'" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert "nasbench-shadow 0.2.0" in warnings[0] and "of nasbench " in warnings[0]
    assert "'nasbench-shadow:rs'" in warnings[0]


def test_a_name_that_several_plugins_declare_belongs_to_none(shadow: Path) -> None:
    with pytest.raises(ConfigError, match=r"several plug-ins and no built-in.*'twin-a:twin'.*'twin-b:twin'"):
        get_strategy_class("twin")
    assert get_strategy_class("twin-b:twin").__name__ == "ShadowSearch"


def test_code_cannot_register_a_class_under_a_built_in_name(shadow: Path) -> None:
    class Impostor(Strategy):
        """Not random search."""

        kind = "black-box"

    with pytest.raises(ConfigError, match=r"'rs' is a built-in strategy of nasbench"):
        register_strategy("rs")(Impostor)
    assert get_strategy_class("rs").__module__ == "nasbench.strategies.random_search"
    register_strategy("impostor-search")(Impostor)  # any other name is fine


# --------------------------------------------------------------------- the provider
def test_the_provider_of_every_kind_of_class(shadow: Path) -> None:
    version = metadata.version("nasbench")
    builtin = {"distribution": "nasbench", "version": version, "module": "nasbench.strategies.random_search"}
    assert strategy_registry.provider("rs") == builtin
    assert class_provider(get_strategy_class("rs"), STRATEGIES) == builtin
    plugin = {"distribution": "nasbench-shadow", "version": "0.2.0", "module": "nasbench_shadow"}
    assert strategy_registry.provider("nasbench-shadow:rs") == plugin
    assert class_provider(get_strategy_class("nasbench-shadow:rs"), STRATEGIES) == plugin

    class InCode(Strategy):
        """Registered by a decorator in code that is not a distribution."""

        kind = "black-box"

    register_strategy("in-code")(InCode)
    in_code = {"distribution": "", "version": "", "module": __name__}
    assert strategy_registry.provider("in-code") == in_code == class_provider(InCode, STRATEGIES)


def test_a_saved_surrogate_records_its_provider(shadow: Path, tmp_path: Path) -> None:
    model = create_surrogate("nasbench-shadow:xgb").fit(np.arange(30), np.linspace(0.0, 1.0, 30))
    path = model.save(tmp_path / "shadow.nbs")
    header = json.loads(path.read_bytes().split(b"\n", 1)[0])
    assert header["surrogate"] == "nasbench-shadow:xgb"
    assert header["provider"] == {
        "distribution": "nasbench-shadow",
        "version": "0.2.0",
        "module": "nasbench_shadow",
    }
    assert load_surrogate(path).predict(np.arange(2)).tolist() == [0.5, 0.5]


def test_the_report_shows_each_strategy_s_provider(tmp_path: Path) -> None:
    made = write_results(
        tmp_path / "results",
        strategies=(
            FakeStrategy("re", final_regret_pp=0.3),
            FakeStrategy("rs"),
            FakeStrategy("mine", final_regret_pp=2.0),
        ),
        seeds=range(3),
        evaluations=8,
        failed=(),
    )
    config = json.loads((made.directory / "config.json").read_text())
    providers = {
        "re": {"distribution": "nasbench", "version": "0.1.0", "module": "nasbench.strategies.evolution"},
        "rs": {"distribution": "nasbench-shadow", "version": "0.2.0", "module": "nasbench_shadow"},
        "mine": {"distribution": "", "version": "", "module": "my_experiments"},
    }
    for entry in config["strategies"]:
        entry["provider"] = providers[entry["name"]]
    (made.directory / "config.json").write_text(json.dumps(config))
    markdown = write_report(made.directory, tmp_path / "board")[1].read_text()
    assert "| strategy | kind | provider | hyperparameters |" in markdown
    assert "| re | black-box | nasbench 0.1.0 |" in markdown
    assert "| rs | black-box | nasbench-shadow 0.2.0 |" in markdown
    assert "| mine | black-box | module my_experiments (not from a distribution) |" in markdown


# --------------------------------------------------------------------- end to end
def test_compare_runs_the_built_in_unless_the_plugin_is_named(shadow_site: Path, tmp_path: Path) -> None:
    synthetic_table(tmp_path / "T.h5")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(shadow_site), env.get("PYTHONPATH")]))
    argv = ["compare", "--table", str(tmp_path / "T.h5"), "--strategies", "rs,nasbench-shadow:rs"]
    argv += ["--seeds", "1", "--budget-evals", "5", "--out", str(tmp_path / "out"), "--quiet"]
    done = subprocess.run(
        [sys.executable, "-m", "nasbench", *argv], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    assert sorted(entry["name"] for entry in config["strategies"]) == ["nasbench-shadow:rs", "rs"]
    indices: dict[str, list[str]] = {}
    for line in (tmp_path / "out" / "trajectories.csv").read_text().splitlines()[1:]:
        fields = line.split(",")
        indices.setdefault(fields[1], []).append(fields[5])
    assert indices["nasbench-shadow:rs"] == ["0", "1", "2", "3", "4"]  # the plug-in's own order
    assert indices["rs"] != indices["nasbench-shadow:rs"]  # the built-in random search

"""The package's layers and plug-in boundary hold, and the checks that guard them can fail.

- ``lint-imports`` (the contracts in pyproject.toml) passes on the package and fails on a
  copy of it with one deliberately wrong import.
- The library never imports the command line or a plug-in module (they are found through
  entry points); plug-ins import only public ``nasbench`` names (no ``_private`` module or
  name of the library or of another plug-in). A deliberately broken plug-in fails the check.
- ``nasbench info``, ``nasbench report`` and ``nasbench strategies`` run without importing
  torch.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from report_fixtures import write_results

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "nasbench"
PLUGIN_FOLDERS = {"nasbench.strategies": ROOT / "strategies", "nasbench.surrogates": ROOT / "surrogates"}
LINT_IMPORTS = shutil.which("lint-imports", path=str(Path(sys.executable).parent))


def _imports(source: str) -> list[tuple[int, str, list[str]]]:
    """(line, module, imported names) of every import statement, absolute modules only."""
    found: list[tuple[int, str, list[str]]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module, [alias.name for alias in node.names]))
    return found


def plugin_import_problems(source: str, package: str) -> list[str]:
    """What a plug-in module of ``package`` (e.g. ``nasbench.strategies``) imports that it
    may not: the command line, a private module or name of the library, or a private
    module or name of another plug-in package. Its own package's modules are its own."""
    problems = []
    for line, module, names in _imports(source):
        if module != "nasbench" and not module.startswith("nasbench."):
            continue
        own = module == package or module.startswith(package + ".")
        parts = module.split(".")
        if module == "nasbench.cli" or module.startswith("nasbench.cli."):
            problems.append(f"line {line}: imports the command line ({module})")
        elif not own and any(part.startswith("_") for part in parts):
            problems.append(f"line {line}: imports the private module {module}")
        elif not own:
            private = [name for name in names if name.startswith("_")]
            if private:
                problems.append(f"line {line}: imports the private name {private[0]} from {module}")
    return problems


def library_import_problems(source: str) -> list[str]:
    """What a library module imports that it may not: a plug-in module or the CLI."""
    problems = []
    for line, module, _ in _imports(source):
        for forbidden in ("nasbench.strategies", "nasbench.surrogates", "nasbench.cli"):
            if module == forbidden or module.startswith(forbidden + "."):
                problems.append(f"line {line}: imports {module}")
    return problems


# --------------------------------------------------------------------- import contracts
@pytest.mark.skipif(LINT_IMPORTS is None, reason="import-linter is not installed (dev extra)")
def test_import_contracts_hold() -> None:
    done = subprocess.run([LINT_IMPORTS], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert " 0 broken" in done.stdout


@pytest.mark.skipif(LINT_IMPORTS is None, reason="import-linter is not installed (dev extra)")
@pytest.mark.parametrize(
    ("module", "wrong_import", "contract"),
    [
        ("core/space.py", "from nasbench.search import runner", "Layers"),
        ("reporting/markdown.py", "import h5py", "reporting reads result files"),
        ("prediction/evaluation.py", "import nasbench.search.strategy", "prediction never imports search"),
        ("bench/benchmark.py", "import nasbench.generation.fidelity", "Layers"),
    ],
)
def test_a_wrong_import_breaks_the_contracts(
    tmp_path: Path, module: str, wrong_import: str, contract: str
) -> None:
    """A copy of the package with one forbidden import fails ``lint-imports``, naming the contract."""
    copy = tmp_path / "nasbench"
    shutil.copytree(LIBRARY, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / module
    if not target.exists():
        target.write_text('"""A module for the test."""\n')
    target.write_text(target.read_text() + f"\n{wrong_import}  # deliberately wrong\n")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    env = {"PYTHONPATH": str(tmp_path), "PATH": str(Path(sys.executable).parent)}
    done = subprocess.run([LINT_IMPORTS], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0, done.stdout
    broken = done.stdout.split("Broken contracts")[-1]
    dotted = "nasbench." + module.removesuffix(".py").replace("/", ".")
    assert contract in broken and f"{dotted} ->" in broken, broken


# --------------------------------------------------------------------- plug-in boundary
def test_the_library_never_imports_plugins_or_the_cli() -> None:
    problems = []
    for path in sorted(LIBRARY.rglob("*.py")):
        if path.is_relative_to(LIBRARY / "cli") or path == LIBRARY / "__main__.py":
            continue  # the command line and `python -m nasbench` are the top
        problems += [f"{path.relative_to(ROOT)} {p}" for p in library_import_problems(path.read_text())]
    assert problems == []


@pytest.mark.parametrize("package", sorted(PLUGIN_FOLDERS))
def test_plugins_use_public_names_only(package: str) -> None:
    problems = []
    for path in sorted(PLUGIN_FOLDERS[package].glob("*.py")):
        problems += [
            f"{path.relative_to(ROOT)} {p}" for p in plugin_import_problems(path.read_text(), package)
        ]
    assert problems == []


def test_the_boundary_checks_catch_a_broken_plugin() -> None:
    broken = textwrap.dedent(
        """
        from nasbench.search.strategy import _label
        from nasbench.surrogates.tree import _xgboost
        import nasbench.search._internal
        from nasbench.cli import main
        from nasbench.strategies._common import ClassLedger
        from nasbench.search import Strategy
        """
    )
    problems = plugin_import_problems(broken, "nasbench.strategies")
    assert [p.split(":")[0] for p in problems] == ["line 2", "line 3", "line 4", "line 5"]
    assert library_import_problems("def f():\n    from nasbench.strategies import grid\n") == [
        "line 2: imports nasbench.strategies"
    ]
    assert library_import_problems("from nasbench.core import space\n") == []


# --------------------------------------------------------------------- light commands
def _modules_after(argv: list[str], cwd: Path) -> dict[str, object]:
    """Run ``nasbench argv`` in a fresh interpreter; its exit code and whether torch was imported."""
    script = textwrap.dedent(
        f"""
        import json, sys
        from nasbench.cli import main
        try:
            code = main({argv!r})
        except SystemExit as exc:
            code = exc.code
        print(json.dumps({{"code": code, "torch": "torch" in sys.modules}}), file=sys.stderr)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    return json.loads(done.stderr.strip().splitlines()[-1])


def test_light_commands_do_not_import_torch(tmp_path: Path) -> None:
    results = tmp_path / "results"
    write_results(results)
    table = ROOT / "tables" / "nb201-fmnist-cpu.h5"
    for argv in (
        ["info", str(table)],
        ["strategies"],
        ["report", str(results), "--out", str(tmp_path / "report")],
        ["validity", str(table), "--against", str(ROOT / "tables" / "nb201-cifar10-hp12.h5")],
        ["query", str(ROOT / "tables" / "nb201-cifar100-hp12.h5"), "0", "--index-order", "nb201"],
    ):
        outcome = _modules_after(argv, tmp_path)
        assert outcome == {"code": 0, "torch": False}, argv

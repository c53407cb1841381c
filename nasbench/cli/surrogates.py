"""The ``surrogate`` command group: ``list``, ``eval``, ``fit``, ``tune``,
``weight-sharing`` and ``report``.

Prediction modules (and with them torch where a surrogate needs it) are imported inside
the handlers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from nasbench.cli.args import Subcommands, assignment, count, int_list, print_json, real
from nasbench.cli.plugins import SURROGATE_COMMANDS_GROUP, add_plugin_commands
from nasbench.core.errors import ConfigError, NasbenchError, one_line
from nasbench.reporting.console import metric_rows_text

__all__ = ["add_surrogate"]

#: Columns of the correlation rows of zero-cost proxies.
PROXY_COLUMNS = ("proxy", "n", "kendall_tau", "spearman", "precision_at_10", "precision_at_50")


def print_metric_rows(title: str, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """A title, then one right-aligned line per row (:func:`nasbench.reporting.console.metric_rows_text`)."""
    print(metric_rows_text(title, rows, columns))


def add_surrogate(commands: Subcommands) -> None:
    """The ``surrogate`` command and its subcommands."""
    p = commands.add_parser(
        "surrogate",
        help="list performance predictors, or evaluate one against a table",
        description="Performance predictors (surrogates): list them, or judge one against a whole table.",
    )
    subcommands = p.add_subparsers(dest="surrogate_command", metavar="SUBCOMMAND", required=True)
    for add in (_add_list, _add_eval, _add_fit, _add_tune):
        add(subcommands)
    add_plugin_commands(subcommands, SURROGATE_COMMANDS_GROUP)
    _add_report(subcommands)


# --------------------------------------------------------------------- list
def _add_list(commands: Subcommands) -> None:
    q = commands.add_parser(
        "list",
        help="list registered surrogates (built-in and plugins)",
        description="List every registered surrogate with its kind, whether it predicts a standard "
        "deviation, and its summary.",
    )
    q.add_argument("pattern", metavar="PATTERN", nargs="?", default="*", help="shell-style name pattern")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(func=cmd_surrogate_list)


def cmd_surrogate_list(args: argparse.Namespace) -> int:
    from nasbench.prediction.registry import list_surrogates, plugin_errors, surrogate_info

    infos = []
    for name in list_surrogates(args.pattern):
        try:
            infos.append(surrogate_info(name).to_dict())
        except NasbenchError:  # listed below with its error
            continue
    failed = {name: message for name, message in plugin_errors().items() if fnmatchcase(name, args.pattern)}
    if not infos and not failed:
        raise ConfigError(
            f"no surrogate matches {args.pattern!r} (known: {', '.join(list_surrogates()) or 'none'})"
        )
    if args.json:
        print_json(
            {"surrogates": infos, "failed_plugins": [{"name": n, "error": failed[n]} for n in sorted(failed)]}
        )
        return 0
    width = max([len(info["name"]) for info in infos] + [len(name) for name in failed] + [4])
    for info in infos:
        std = "std" if info["has_std"] else "-"
        print(f"{info['name']:<{width}}  {info['kind']:<14}  {std:<3}  {info['summary']}")
    for name in sorted(failed):
        print(f"{name:<{width}}  {'FAILED':<14}  {'':<3}  {one_line(failed[name])}")
    return 0


# --------------------------------------------------------------------- eval
def _add_eval(commands: Subcommands) -> None:
    q = commands.add_parser(
        "eval",
        help="fit a surrogate on seeded samples of a table and score it on every other class",
        description="Fit a surrogate on training sets of each size (drawn with each seed) and score "
        "its predictions of every other measured class against the seed-mean final validation "
        "accuracy: Kendall tau, sparse Kendall tau, Spearman, R2, MAE, precision@10/@50. With "
        "--proxies, score stored zero-cost proxies instead (correlation only).",
    )
    q.add_argument("--table", required=True, help="table to judge against")
    q.add_argument("--model", default=None, help="registered surrogate name (see `nasbench surrogate list`)")
    q.add_argument(
        "--proxies",
        default=None,
        help="comma-separated zero-cost proxies, or all (scores from `nasbench proxies`)",
    )
    q.add_argument(
        "--train-size",
        type=int_list("--train-size", 2),
        default="10,100,1000",
        help="comma-separated training-set sizes",
    )
    q.add_argument(
        "--seeds",
        type=count("--seeds", 1),
        default="3",
        metavar="S",
        help="number of seeds: draws 0..S-1 (default 3)",
    )
    q.add_argument(
        "--train-target",
        default="mean",
        choices=["mean", "seed0"],
        help="fit on the seed mean (default) or on the first seed's run only",
    )
    q.add_argument(
        "--param",
        action="append",
        type=assignment("--param", "HYPERPARAMETER"),
        metavar="KEY=VALUE",
        help="surrogate hyperparameter",
    )
    q.add_argument(
        "--noise-comparison",
        action="store_true",
        help="also fit on the first seed (largest size) and compare with that seed's own run",
    )
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(func=cmd_surrogate_eval)


def cmd_surrogate_eval(args: argparse.Namespace) -> int:
    from nasbench.core.table import open_table
    from nasbench.prediction.evaluation import evaluate_surrogate, noise_comparison

    table = open_table(args.table)
    if (args.model is None) == (args.proxies is None):
        raise ConfigError("give either --model NAME or --proxies NAMES")
    if args.proxies is not None:
        return _eval_proxies(table, args.proxies, args.json)
    sizes = args.train_size
    seeds = list(range(args.seeds))
    params = dict(args.param or ())
    report = evaluate_surrogate(
        table, args.model, sizes, seeds, hyperparameters=params, train_target=args.train_target
    )
    if args.noise_comparison:
        report["noise_comparison"] = noise_comparison(
            table, args.model, max(sizes), seeds, hyperparameters=params
        )
    if args.json:
        print_json(report)
        return 0
    print_metric_rows(
        f"{table.path}: {args.model} fitted on {args.train_target}, scored on the other "
        f"{report['classes_usable']} usable classes (median over {len(seeds)} seeds)",
        report["summary"],
        ["train_size", "kendall_tau", "sparse_kendall_tau", "spearman", "r2", "mae",
         "precision_at_10", "precision_at_50", "fit_seconds", "predict_all_ms"],
    )  # fmt: skip
    if args.noise_comparison:
        summary = report["noise_comparison"]["summary"]
        rows = [{"comparison": key, **values} for key, values in summary.items()]
        print_metric_rows(
            "fitted on the first seed: surrogate versus the first seed's own run",
            rows,
            ["comparison", "kendall_tau", "spearman", "mae"],
        )
    return 0


def _eval_proxies(table: Any, proxies: str, as_json: bool) -> int:
    """``surrogate eval --proxies``: correlation of the scores stored beside the table."""
    from nasbench.prediction.evaluation import evaluate_scores
    from nasbench.prediction.proxy_scores import proxy_scores_path, read_proxy_scores

    path = proxy_scores_path(table.path)
    if not path.is_file():
        raise ConfigError(
            f"{path}: no proxy scores beside the table; run `nasbench proxies {table.path}` first"
        )
    stored = read_proxy_scores(path, table)
    wanted = list(stored.proxies) if proxies == "all" else [p.strip() for p in proxies.split(",")]
    missing = [name for name in wanted if name not in stored.scores]
    if missing:
        raise ConfigError(f"{path} holds no scores of {missing[0]!r} (it holds: {', '.join(stored.proxies)})")
    metrics = evaluate_scores(table, {name: stored.scores[name] for name in wanted})
    if as_json:
        print_json({"table": str(table.path), "proxies": metrics, "scores": str(path)})
        return 0
    print_metric_rows(
        f"{table.path}: zero-cost proxies against the seed-mean final val_acc",
        [{"proxy": name, **values} for name, values in metrics.items()],
        PROXY_COLUMNS,
    )
    return 0


# --------------------------------------------------------------------- fit
def _add_fit(commands: Subcommands) -> None:
    q = commands.add_parser(
        "fit",
        help="fit a surrogate benchmark on a table (for spaces too large to tabulate)",
        description="Fit surrogates of the validation accuracy per epoch, the test accuracy and the "
        "run seconds on every measured class of a table (for example a seeded sample of a large "
        "space), state their quality on a seeded hold-out split, and save them as a directory that "
        "`nasbench compare --table DIR` runs strategies on.",
    )
    q.add_argument("--table", required=True, help="table to fit on")
    q.add_argument("--model", default="ensemble", help="architecture surrogate (default ensemble)")
    q.add_argument(
        "--param",
        action="append",
        type=assignment("--param", "HYPERPARAMETER"),
        metavar="KEY=VALUE",
        help="surrogate hyperparameter",
    )
    q.add_argument(
        "--holdout", type=real("--holdout"), default=0.2, help="fraction held out to state quality (0.2)"
    )
    q.add_argument(
        "--seed", type=count("--seed", 0), default=0, help="seed of the split and the surrogates (default 0)"
    )
    q.add_argument("--out", required=True, metavar="DIR", help="directory to write")
    q.add_argument("--overwrite", action="store_true", help="replace an existing non-empty DIR")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(func=cmd_surrogate_fit)


def cmd_surrogate_fit(args: argparse.Namespace) -> int:
    from nasbench.core.table import open_table
    from nasbench.prediction.surrogate_benchmark import fit_surrogate_model

    target = Path(args.out)
    _check_output_directory(target)  # before the fit, which can take minutes
    if target.exists() and any(target.iterdir()) and not args.overwrite:
        raise ConfigError(f"{target}: exists and is not empty (pass --overwrite)")
    model = fit_surrogate_model(
        open_table(args.table),
        args.model,
        hyperparameters=dict(args.param or ()),
        holdout_fraction=args.holdout,
        seed=args.seed,
    )
    model.save(target, overwrite=args.overwrite)
    if args.json:
        print_json({"out": str(target), "checksum": model.checksum, "quality": model.quality})
        return 0
    quality = model.quality
    print(
        f"wrote {target}: {args.model} on {model.source['measured_classes']} measured classes of "
        f"{model.space.size} architectures; {model.checksum}"
    )
    rows = [{"target": name, **quality[name]} for name in ("val_acc_final", "test_acc", "run_seconds")]
    print_metric_rows(
        f"hold-out quality ({quality['holdout_classes']} classes held out, "
        f"fitted on {quality['train_classes']})",
        rows,
        ["target", "kendall_tau", "spearman", "r2", "mae", "precision_at_10"],
    )
    return 0


def _check_output_directory(target: Path) -> None:
    """Refuse an ``--out DIR`` that cannot become a directory: an existing file, or a path
    under one."""
    if target.exists() and not target.is_dir():
        raise ConfigError(f"--out {target}: not a directory (surrogate fit writes a directory)")
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(f"--out {target}: {parent} is not a directory")
            break


# --------------------------------------------------------------------- tune
def _add_tune(commands: Subcommands) -> None:
    q = commands.add_parser(
        "tune",
        help="random search over a surrogate's hyperparameters, judged on a table",
        description="Seeded random search over the surrogate's declared tuning space: each "
        "configuration is fitted on --train-size classes drawn with seeds 100.. (other draws than "
        "`surrogate eval` uses) and ranked by its median Kendall tau on the other classes.",
    )
    q.add_argument("--table", required=True, help="table to tune on")
    q.add_argument("--model", default="xgb", help="registered surrogate name (default xgb)")
    q.add_argument(
        "--configs",
        type=count("--configs", 1),
        default="20",
        help="configurations to try, the defaults first (20)",
    )
    q.add_argument(
        "--train-size", type=count("--train-size", 2), default="1000", help="training classes per fit (1000)"
    )
    q.add_argument(
        "--seeds",
        type=count("--seeds", 1),
        default="2",
        metavar="S",
        help="training draws per configuration (2)",
    )
    q.add_argument(
        "--seed", type=count("--seed", 0), default="0", help="seed of the configuration sampler (0)"
    )
    q.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(func=cmd_surrogate_tune)


def cmd_surrogate_tune(args: argparse.Namespace) -> int:
    from nasbench.core.table import open_table
    from nasbench.prediction.evaluation import tune_surrogate

    table = open_table(args.table)
    report = tune_surrogate(
        table,
        args.model,
        configs=args.configs,
        train_size=args.train_size,
        seeds=[100 + k for k in range(args.seeds)],
        seed=args.seed,
        progress=None if args.quiet else (lambda text: print(text, file=sys.stderr, flush=True)),
    )
    if args.json:
        print_json(report)
        return 0
    rows = report["rows"]
    print_metric_rows(
        f"{table.path}: {args.model}, {len(rows)} configurations on {report['train_size']} classes "
        f"(median over draws {report['seeds']}); config 0 is the current defaults",
        rows,
        ["config", "kendall_tau", "spearman", "precision_at_10", "fit_seconds"],
    )
    best = report["best"]
    print(f"best: config {best['config']} {json.dumps(best['hyperparameters'], sort_keys=True)}")
    return 0


# --------------------------------------------------------------------- report
def _add_report(commands: Subcommands) -> None:
    q = commands.add_parser(
        "report",
        help="Markdown tables of predictor studies (eval, tune, weight-sharing, proxies JSON)",
        description="Collect the JSON printed by `surrogate eval`, `surrogate tune`, `surrogate "
        "weight-sharing` and `proxies` (with --json) into one Markdown report; the studies must "
        "judge the same table.",
    )
    q.add_argument("studies", nargs="+", metavar="STUDY.json", help="study files")
    q.add_argument("--out", required=True, metavar="PATH.md", help="Markdown file to write")
    q.add_argument("--title", default="Predictors", help="heading of the report")
    q.set_defaults(func=cmd_surrogate_report)


def cmd_surrogate_report(args: argparse.Namespace) -> int:
    from nasbench.reporting.predictors import load_study, predictor_report

    out = Path(args.out)
    if out.suffix != ".md":
        raise ConfigError(f"--out {out}: the predictor report is Markdown, give a path ending in .md")
    if out.is_dir():
        raise ConfigError(f"--out {out}: is a directory")
    for study in args.studies:  # a FIFO or a device would block the read forever
        if not Path(study).is_file():
            why = "no such file" if not Path(study).exists() else "not a regular file"
            raise ConfigError(f"{study}: {why} (a study is a JSON file)")
    studies = []
    for study in args.studies:
        try:
            studies.append(load_study(study))
        except UnicodeDecodeError:  # load_study catches only OSError and JSON errors
            raise ConfigError(f"{study}: not a JSON study (not UTF-8 text)") from None
    text = predictor_report(studies, title=args.title)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    try:  # a reader never sees half a report; a failure leaves no partial file
        partial.write_text(text, encoding="utf-8")
        partial.replace(out)
    finally:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
    print(f"wrote {out}: {len(args.studies)} studies")
    return 0

"""The ``nasbench`` command line.

Every error caused by bad input is printed as one line on stderr and the command exits
with status 1 (argparse's own usage errors exit with 2).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.core.errors import ConfigError, NasbenchError, NotMeasuredError
from nasbench.core.space import MAX_ENUMERABLE_SIZE, SPACE_PRESETS, get_space

__all__ = ["main"]

#: Dataset each model preset's input shape stands for, recorded by ``init-table``.
PRESET_DATASETS = {"nb201": "cifar10", "cpu-small": "fashion-mnist", "tiny": "digits"}


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True, default=_jsonable))


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _parse_arch(text: str) -> str | int:
    """An ARCH argument: a decimal index or a NAS-Bench-201 string."""
    stripped = text.strip()
    return int(stripped) if stripped.isdigit() else stripped


def _parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(part) for part in text.split(",") if part.strip() != ""]
    except ValueError:
        raise ConfigError(f"--seeds must be comma-separated integers, got {text!r}") from None
    if not seeds:
        raise ConfigError("--seeds needs at least one seed")
    return seeds


# --------------------------------------------------------------------- commands
def cmd_space(args: argparse.Namespace) -> int:
    space = get_space(args.preset)
    unique = space.num_unique if space.size <= MAX_ENUMERABLE_SIZE else None
    data = {
        "preset": args.preset,
        "ops": list(space.ops),
        "num_nodes": space.num_nodes,
        "num_edges": space.num_edges,
        "size": space.size,
        "unique": unique,
        "zero_op": space.zero_op,
        "identity_op": space.identity_op,
    }
    if args.json:
        _print_json(data)
    else:
        print(
            f"space {args.preset}: {space.num_nodes} nodes, {space.num_edges} edges, "
            f"{space.num_ops} ops ({', '.join(space.ops)})"
        )
        print(f"architectures: {space.size:,}")
        print(
            f"unique (isomorphism classes): {unique:,}"
            if unique is not None
            else "unique: not enumerated (space too large)"
        )
    return 0


def cmd_cost(args: argparse.Namespace) -> int:
    from nasbench.nets.models import arch_cost, get_model_config

    space = get_space(args.space)
    config = get_model_config(args.preset)
    arch = space.arch(_parse_arch(args.arch))
    params_m, flops_m = arch_cost(arch, config, space)
    data = {
        "arch": str(arch),
        "index": space.index(arch),
        "preset": args.preset,
        "params_m": params_m,
        "flops_m": flops_m,
    }
    if args.json:
        _print_json(data)
    else:
        print(f"{arch}\nindex {data['index']}  params {params_m:.6f} M  FLOPs {flops_m:.5f} M")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from nasbench.core.table import open_table

    table = open_table(args.table)
    status = table.run_status
    data = {
        "path": str(table.path),
        "space": table.space.to_dict(),
        "archs": table.num_archs,
        "space_size": table.space.size,
        "unique": table.num_unique,
        "seeds": table.seeds.tolist(),
        "epochs": table.num_epochs,
        "metrics": list(table.epoch_metrics),
        "runs_done": int(np.sum(status == 1)),
        "runs_failed": int(np.sum(status == 2)),
        "runs_total": int(status.size),
        "model": table.model,
        "dataset": table.dataset,
        "protocol": table.protocol,
        "provenance": table.provenance,
        "fidelity": table.fidelity,
        "devices": table.devices,
        "checksum": table.checksum,
    }
    if table.num_archs:
        data["params_m_range"] = [float(table.params.min() / 1e6), float(table.params.max() / 1e6)]
        data["flops_m_range"] = [float(table.flops.min() / 1e6), float(table.flops.max() / 1e6)]
    if args.json:
        _print_json(data)
        return 0
    print(f"table      {data['path']}")
    print(
        f"space      {', '.join(table.space.ops)}; {table.space.num_nodes} nodes; "
        f"{table.space.size:,} architectures"
    )
    print(f"archs      {table.num_archs:,} rows, {table.num_unique:,} unique classes")
    print(f"dataset    {json.dumps(table.dataset, sort_keys=True)}")
    print(f"model      {json.dumps(table.model, sort_keys=True)}")
    print(f"protocol   {json.dumps(table.protocol, sort_keys=True)}")
    print(f"seeds      {table.seeds.tolist()}   epochs {table.num_epochs}")
    print(
        f"runs       {data['runs_done']:,} done, {data['runs_failed']:,} failed, "
        f"{data['runs_total']:,} in all"
    )
    print(f"metrics    {', '.join(table.epoch_metrics)}")
    if table.num_archs:
        print(
            f"cost       params {data['params_m_range'][0]:.6f}-{data['params_m_range'][1]:.6f} M, "
            f"FLOPs {data['flops_m_range'][0]:.5f}-{data['flops_m_range'][1]:.5f} M"
        )
    for device_id, description in table.devices.items():
        print(f"device     {device_id}: {json.dumps(description, sort_keys=True)}")
    if table.fidelity:
        print(f"fidelity   {json.dumps(table.fidelity, sort_keys=True)}")
    print(
        f"created    {table.provenance.get('created')} by nasbench "
        f"{table.provenance.get('nasbench_version')}, torch {table.provenance.get('torch_version')}"
    )
    print(f"checksum   {table.checksum}")
    return 0


def cmd_card(args: argparse.Namespace) -> int:
    from nasbench.core.table import open_table
    from nasbench.reporting.card import data_card

    print(data_card(open_table(args.table), title=args.title, command=args.command), end="")
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    from nasbench.core.table import open_table

    table = open_table(args.table)
    arch = table.space.arch(_parse_arch(args.arch))
    value = table.query(arch, args.metric, epoch=args.epoch, seed=args.seed)
    data = {
        "arch": str(arch),
        "index": table.space.index(arch),
        "canonical_index": table.canonical_index(arch),
        "metric": args.metric,
        "epoch": args.epoch,
        "seed": args.seed,
        "value": value,
    }
    if args.json:
        _print_json(data)
    else:
        print(f"{value:.6g}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from nasbench.core.table import validate_table

    problems = validate_table(args.table)
    if args.json:
        _print_json({"path": args.table, "valid": not problems, "problems": problems})
    elif problems:
        print(
            f"nasbench: invalid table {args.table}: " + " ".join("; ".join(problems).split()), file=sys.stderr
        )
    else:
        print(f"{args.table}: valid")
    return 0 if not problems else 1


def cmd_init_table(args: argparse.Namespace) -> int:
    from nasbench.core.table import TableWriter
    from nasbench.nets.models import cost_arrays, get_model_config

    space = get_space(args.space)
    config = get_model_config(args.preset)
    seeds = _parse_seeds(args.seeds)
    if args.epochs < 1:
        raise ConfigError(f"--epochs must be >= 1, got {args.epochs}")
    params, flops = cost_arrays(space, config)
    dataset = {"name": args.dataset or PRESET_DATASETS.get(args.preset, "unspecified")}
    writer = TableWriter.create(
        args.out,
        space=space,
        model=config.to_dict(),
        dataset=dataset,
        protocol={"epochs": args.epochs, "seeds": seeds, "model_preset": args.preset},
        seeds=seeds,
        num_epochs=args.epochs,
        params=params,
        flops=flops,
        overwrite=args.overwrite,
        provenance={"command": "nasbench " + " ".join(args.argv)} if args.record_command else None,
    )
    writer.close()
    print(
        f"wrote {args.out}: {space.size:,} architectures, {space.num_unique:,} classes, "
        f"costs under model preset {args.preset}; every run pending"
    )
    return 0


def _parse_assignments(
    items: Sequence[str] | None, option: str = "--set", key_name: str = "KEY"
) -> dict[str, Any]:
    """``OPTION KEY=VALUE`` pairs; VALUE is read as JSON when it parses, else as a string."""
    settings: dict[str, Any] = {}
    for item in items or ():
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{option} needs {key_name}=VALUE, got {item!r}")
        try:
            settings[key.strip()] = json.loads(raw)
        except ValueError:
            settings[key.strip()] = raw
    return settings


def _parse_settings(items: Sequence[str] | None) -> dict[str, Any]:
    """``--set KEY=VALUE`` pairs."""
    return _parse_assignments(items)


def _protocol_from_args(args: argparse.Namespace) -> Any:
    """The preset named by ``--preset`` with ``--dataset``, ``--epochs``, ``--seeds`` and
    ``--set`` applied, validated."""
    from nasbench.nets.datasets import DATASETS
    from nasbench.nets.train import get_protocol

    protocol = get_protocol(args.preset)
    changes: dict[str, Any] = _parse_settings(args.set)
    if args.dataset is not None:
        changes["dataset"] = args.dataset
    if args.epochs is not None:
        changes["epochs"] = args.epochs
    if args.seeds is not None:
        changes["seeds"] = tuple(_parse_seeds(args.seeds))
    for key in ("augment", "seeds"):
        if key in changes and isinstance(changes[key], list):
            changes[key] = tuple(changes[key])
    if changes:
        try:
            protocol = protocol.replace(**changes)
        except TypeError as exc:
            raise ConfigError(f"invalid protocol setting: {exc}") from None
    if protocol.dataset not in DATASETS:
        raise ConfigError(f"unknown dataset {protocol.dataset!r} (known: {', '.join(DATASETS)})")
    return protocol


def cmd_generate(args: argparse.Namespace) -> int:
    from nasbench.generation.generate import GENERATOR_DEFAULTS, generate, parse_shard

    protocol = _protocol_from_args(args)
    defaults = GENERATOR_DEFAULTS.get(args.preset, {})
    limit = args.limit if args.limit is not None else defaults.get("limit")
    summary = generate(
        args.out,
        protocol,
        space=args.space,
        limit=limit,
        shard=parse_shard(args.shard),
        workers=args.workers,
        scheduler=args.scheduler,
        data_dir=args.data_dir,
        probes=not args.no_probes,
        probe_settings=defaults.get("probe"),
        checkpoint_seconds=args.checkpoint_seconds,
        progress=not args.quiet,
        log=lambda message: print(f"nasbench: {message}", file=sys.stderr),
    )
    if args.json:
        _print_json(summary.to_dict())
    else:
        print(
            f"{summary.out}: {summary.classes_selected} classes selected, "
            f"{summary.runs_scheduled} runs to do; {summary.runs_done} done, "
            f"{summary.runs_failed} failed (diverged), {summary.runs_errored} errored; "
            f"{summary.probes_done} device probes; {summary.wall_seconds:.1f} s"
        )
    if summary.runs_errored:
        print(
            f"nasbench: error: {summary.runs_errored} jobs raised and stay pending; re-run to retry",
            file=sys.stderr,
        )
        return 1
    return 0


def cmd_fidelity(args: argparse.Namespace) -> int:
    from nasbench.generation.fidelity import run_fidelity

    protocol = _protocol_from_args(args)
    report = run_fidelity(
        args.out,
        protocol,
        space=args.space,
        archs=args.archs,
        workers=args.workers,
        data_dir=args.data_dir,
        progress=not args.quiet,
    )
    if args.json:
        _print_json(report)
        return 0
    print(f"{args.out}: {report['archs']} architectures x seeds {report['seeds']}, {report['epochs']} epochs")
    print(
        f"seed-to-seed Spearman {report['spearman']:.3f}, Kendall tau {report['kendall_tau']:.3f}; "
        f"mean |seed difference| {report['mean_abs_seed_difference_pct']:.2f} %, "
        f"between-architecture sd {report['between_arch_sd_pct']:.2f} %"
    )
    print(
        "Spearman of each epoch with the final one: "
        + " ".join(f"{value:.2f}" for value in report["epoch_spearman_to_final"])
    )
    print(
        f"{report['core_seconds_per_run']:.2f} core-seconds per (architecture, seed); the whole table "
        f"would take {report['table_core_hours']:.1f} core-hours; seed-mean Spearman estimate "
        f"{report['seed_mean_spearman_estimate']:.3f}"
    )
    return 0


def cmd_frontier(args: argparse.Namespace) -> int:
    from nasbench.generation.fidelity import frontier_markdown

    folder = Path(args.directory)
    if not folder.is_dir():
        raise ConfigError(f"{folder}: not a directory of fidelity reports")
    reports = {}
    for path in sorted(folder.glob("*.json")):
        try:
            reports[path.stem.removesuffix(".h5")] = json.loads(path.read_text())
        except ValueError:
            raise ConfigError(f"{path}: not a JSON fidelity report") from None
    if not reports:
        raise ConfigError(f"{folder}: holds no *.json fidelity reports")
    print(frontier_markdown(reports), end="")
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    from nasbench.core.table import COMPACT_DTYPES
    from nasbench.generation.generate import merge_tables

    counts = merge_tables(
        args.out, args.inputs, overwrite=args.overwrite, dtype=COMPACT_DTYPES if args.compact else None
    )
    print(
        f"wrote {args.out}: {counts['runs_done']} runs done, {counts['runs_failed']} failed, "
        f"{counts['runs_pending']} pending ({counts['runs_in_several_inputs']} runs found in several "
        f"inputs, taken from the first)"
    )
    return 0


def _parse_count(option: str, text: str, low: int) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise ConfigError(f"{option} must be an integer, got {text!r}") from None
    if value < low:
        raise ConfigError(f"{option} must be >= {low}, got {value}")
    return value


def _parse_params(items: Sequence[str] | None) -> dict[str, dict[str, Any]]:
    """``--param NAME.KEY=VALUE`` items; VALUE is read as JSON when it parses, else as a string."""
    params: dict[str, dict[str, Any]] = {}
    for item in items or ():
        left, sep, raw = item.partition("=")
        name, dot, key = left.strip().rpartition(".")
        if not sep or not dot or not name or not key:
            raise ConfigError(f"--param needs STRATEGY.HYPERPARAMETER=VALUE, got {item!r}")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        params.setdefault(name, {})[key] = value
    return params


def cmd_compare(args: argparse.Namespace) -> int:
    from nasbench.bench.benchmark import Budget
    from nasbench.search.runner import compare

    seeds = _parse_count("--seeds", args.seeds, 1)
    evaluations = None if args.budget_evals is None else _parse_count("--budget-evals", args.budget_evals, 1)
    seconds = None
    if args.budget_seconds is not None:
        try:
            seconds = float(args.budget_seconds)
        except ValueError:
            raise ConfigError(f"--budget-seconds must be a number, got {args.budget_seconds!r}") from None
    if evaluations is None and seconds is None:
        raise ConfigError("compare needs a budget: --budget-evals M and/or --budget-seconds S")
    workers = _parse_count("--workers", args.workers, 0)
    summary = compare(
        args.table,
        args.strategies,
        seeds,
        Budget(evaluations=evaluations, seconds=seconds),
        args.out,
        workers=workers,
        scheduler=args.scheduler,
        params=_parse_params(args.param),
        overwrite=args.overwrite,
        progress=not args.quiet,
        surrogate_noise=args.surrogate_noise,
    )
    print(
        f"{summary.out}: {summary.runs} runs ({len(summary.tables)} tables x {len(summary.strategies)} "
        f"strategies x {len(summary.seeds)} seeds): {summary.runs_ok} ok, {summary.runs_failed} failed; "
        f"{summary.wall_seconds:.1f} s"
    )
    if summary.runs_failed:
        first = summary.errors[0]
        print(
            f"nasbench: error: {summary.runs_failed} runs failed (first: {first['strategy']} on "
            f"{first['table']}, seed {first['seed']}: {_one_line(first['error'])}); "
            f"see {Path(summary.out) / 'errors.json'}",
            file=sys.stderr,
        )
        return 1
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from nasbench.search.demo import run_demo

    seeds = _parse_count("--seeds", args.seeds, 1)
    try:
        budget_runs = float(args.budget_runs)
    except ValueError:
        raise ConfigError(f"--budget-runs must be a number, got {args.budget_runs!r}") from None
    strategies = None if args.strategies is None else [s for s in args.strategies.split(",") if s]
    summary = run_demo(
        table=args.table,
        out=args.out,
        results=args.results,
        seeds=seeds,
        budget_runs=budget_runs,
        strategies=strategies,
        workers=_parse_count("--workers", args.workers, 0),
        progress=not args.quiet,
    )
    print(
        f"{summary.table}: {len(summary.strategies)} strategies x {summary.seeds} seeds, "
        f"{summary.budget_seconds:g} simulated seconds each; compared in {summary.compare_wall_seconds:.1f} s"
        + (
            f"; {summary.runs_failed} runs failed (see {summary.results}/errors.json)"
            if summary.runs_failed
            else ""
        )
    )
    for path in summary.report_files:
        if path.endswith((".html", ".md")):
            print(f"wrote {path}")
    return 1 if summary.runs_failed else 0


def cmd_strategies(args: argparse.Namespace) -> int:
    from nasbench.search.strategy import list_strategies, plugin_errors, strategy_info

    infos = []
    for name in list_strategies(args.pattern):
        try:
            infos.append(strategy_info(name).to_dict())
        except NasbenchError:  # a plugin that fails to import is listed below, not fatal
            continue
    failed = {name: message for name, message in plugin_errors().items() if fnmatchcase(name, args.pattern)}
    if not infos and not failed:
        known = ", ".join(list_strategies()) or "none"
        raise ConfigError(f"no strategy matches {args.pattern!r} (known: {known})")
    if args.json:
        _print_json(
            {
                "strategies": infos,
                "failed_plugins": [{"name": name, "error": failed[name]} for name in sorted(failed)],
            }
        )
        return 0
    width = max([len(info["name"]) for info in infos] + [len(name) for name in failed] + [4])
    for info in infos:
        defaults = ", ".join(f"{key}={value!r}" for key, value in info["hyperparameters"].items())
        print(f"{info['name']:<{width}}  {info['kind']:<15}  {info['summary']}")
        print(f"{'':<{width}}  {'':<15}  defaults: {defaults or '(no hyperparameters)'}; {info['source']}")
    for name in sorted(failed):
        print(f"{name:<{width}}  {'FAILED':<15}  {_one_line(failed[name])}")
    return 0


def _parse_int_list(option: str, text: str, low: int) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"{option} must be comma-separated integers, got {text!r}") from None
    if not values or any(v < low for v in values):
        raise ConfigError(f"{option} needs integers >= {low}, got {text!r}")
    return values


def _parse_hyperparameters(items: Sequence[str] | None) -> dict[str, Any]:
    """``--param HYPERPARAMETER=VALUE`` items of one surrogate."""
    return _parse_assignments(items, "--param", "HYPERPARAMETER")


def cmd_surrogate_list(args: argparse.Namespace) -> int:
    from nasbench.prediction.surrogate import list_surrogates, plugin_errors, surrogate_info

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
        _print_json(
            {"surrogates": infos, "failed_plugins": [{"name": n, "error": failed[n]} for n in sorted(failed)]}
        )
        return 0
    width = max([len(info["name"]) for info in infos] + [len(name) for name in failed] + [4])
    for info in infos:
        std = "std" if info["has_std"] else "-"
        print(f"{info['name']:<{width}}  {info['kind']:<14}  {std:<3}  {info['summary']}")
    for name in sorted(failed):
        print(f"{name:<{width}}  {'FAILED':<14}  {'':<3}  {_one_line(failed[name])}")
    return 0


def _zero_cost_class() -> Any:
    from nasbench.prediction.surrogate import get_surrogate_class, list_surrogates

    names = list_surrogates(kind="zero-cost")
    if not names:
        raise ConfigError("no zero-cost surrogate is registered (install nasbench with its surrogates)")
    return get_surrogate_class(names[0])


def _print_metric_rows(title: str, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    print(title)
    print("  " + "  ".join(f"{c:>12}" for c in columns))
    for row in rows:
        cells = []
        for column in columns:
            value = row.get(column)
            cells.append(f"{value:>12.4g}" if isinstance(value, float) else f"{value!s:>12}")
        print("  " + "  ".join(cells))


def cmd_surrogate_eval(args: argparse.Namespace) -> int:
    from nasbench.core.table import open_table
    from nasbench.prediction.evaluation import evaluate_scores, evaluate_surrogate, noise_comparison

    table = open_table(args.table)
    if (args.model is None) == (args.proxies is None):
        raise ConfigError("give either --model NAME or --proxies NAMES")
    if args.proxies is not None:
        cls = _zero_cost_class()
        path = cls.scores_path(table.path)
        if not path.is_file():
            raise ConfigError(
                f"{path}: no proxy scores beside the table; run `nasbench proxies {table.path}` first"
            )
        stored = cls.read_scores(path, table)
        wanted = (
            list(stored.proxies) if args.proxies == "all" else [p.strip() for p in args.proxies.split(",")]
        )
        missing = [name for name in wanted if name not in stored.scores]
        if missing:
            raise ConfigError(
                f"{path} holds no scores of {missing[0]!r} (it holds: {', '.join(stored.proxies)})"
            )
        metrics = evaluate_scores(table, {name: stored.scores[name] for name in wanted})
        result: dict[str, Any] = {"table": str(table.path), "proxies": metrics, "scores": str(path)}
        if args.json:
            _print_json(result)
            return 0
        rows = [{"proxy": name, **values} for name, values in metrics.items()]
        _print_metric_rows(
            f"{table.path}: zero-cost proxies against the seed-mean final val_acc",
            rows,
            ["proxy", "n", "kendall_tau", "spearman", "precision_at_10", "precision_at_50"],
        )
        return 0
    sizes = _parse_int_list("--train-size", args.train_size, 2)
    seeds = list(range(_parse_count("--seeds", args.seeds, 1)))
    params = _parse_hyperparameters(args.param)
    report = evaluate_surrogate(
        table, args.model, sizes, seeds, hyperparameters=params, train_target=args.train_target
    )
    if args.noise_comparison:
        report["noise_comparison"] = noise_comparison(
            table, args.model, max(sizes), seeds, hyperparameters=params
        )
    if args.json:
        _print_json(report)
        return 0
    _print_metric_rows(
        f"{table.path}: {args.model} fitted on {args.train_target}, scored on the other "
        f"{report['classes_usable']} usable classes (median over {len(seeds)} seeds)",
        report["summary"],
        ["train_size", "kendall_tau", "sparse_kendall_tau", "spearman", "r2", "mae",
         "precision_at_10", "precision_at_50", "fit_seconds", "predict_all_ms"],
    )  # fmt: skip
    if args.noise_comparison:
        summary = report["noise_comparison"]["summary"]
        rows = [{"comparison": key, **values} for key, values in summary.items()]
        _print_metric_rows(
            "fitted on the first seed: surrogate versus the first seed's own run",
            rows,
            ["comparison", "kendall_tau", "spearman", "mae"],
        )
    return 0


def cmd_surrogate_weight_sharing(args: argparse.Namespace) -> int:
    from nasbench.core.table import open_table
    from nasbench.prediction.surrogate import get_surrogate_class

    table = open_table(args.table)
    cls = get_surrogate_class("weight-sharing")
    modes = [part.strip() for part in args.bn_modes.split(",")]
    report = cls.study(
        table,
        epochs=_parse_int_list("--epochs", args.epochs, 1),
        seeds=list(range(_parse_count("--seeds", args.seeds, 1))),
        bn_modes=modes,
        eval_images=_parse_count("--eval-images", args.eval_images, 1),
        max_classes=None if args.max_classes is None else _parse_count("--max-classes", args.max_classes, 3),
        progress=None if args.quiet or args.json else (lambda text: print(text, file=sys.stderr)),
    )
    if args.json:
        _print_json(report)
        return 0
    _print_metric_rows(
        f"{table.path}: weight-sharing scores of {report['classes_scored']} classes against the "
        "seed-mean final val_acc",
        report["rows"],
        ["epochs", "seed", "bn_mode", "kendall_tau", "spearman", "precision_at_10", "precision_at_50",
         "kendall_tau_top10pct", "fit_seconds", "score_seconds"],
    )  # fmt: skip
    return 0


def cmd_surrogate_report(args: argparse.Namespace) -> int:
    from nasbench.reporting.predictors import load_study, predictor_report

    out = Path(args.out)
    if out.suffix != ".md":
        raise ConfigError(f"--out {out}: the predictor report is Markdown, give a path ending in .md")
    text = predictor_report([load_study(path) for path in args.studies], title=args.title)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(out)  # a reader never sees half a report
    print(f"wrote {out}: {len(args.studies)} studies")
    return 0


def cmd_surrogate_tune(args: argparse.Namespace) -> int:
    from nasbench.core.table import open_table
    from nasbench.prediction.evaluation import tune_surrogate

    table = open_table(args.table)
    report = tune_surrogate(
        table,
        args.model,
        configs=_parse_count("--configs", args.configs, 1),
        train_size=_parse_count("--train-size", args.train_size, 2),
        seeds=[100 + k for k in range(_parse_count("--seeds", args.seeds, 1))],
        seed=_parse_count("--seed", args.seed, 0),
        progress=None if args.quiet else (lambda text: print(text, file=sys.stderr, flush=True)),
    )
    if args.json:
        _print_json(report)
        return 0
    rows = report["rows"]
    _print_metric_rows(
        f"{table.path}: {args.model}, {len(rows)} configurations on {report['train_size']} classes "
        f"(median over draws {report['seeds']}); config 0 is the current defaults",
        rows,
        ["config", "kendall_tau", "spearman", "precision_at_10", "fit_seconds"],
    )
    best = report["best"]
    print(f"best: config {best['config']} {json.dumps(best['hyperparameters'], sort_keys=True)}")
    return 0


def cmd_surrogate_fit(args: argparse.Namespace) -> int:
    from nasbench.core.table import open_table
    from nasbench.prediction.surrogate_benchmark import fit_surrogate_model

    target = Path(args.out)
    if target.exists() and (not target.is_dir() or any(target.iterdir())) and not args.overwrite:
        raise ConfigError(f"{target}: exists and is not empty (pass --overwrite)")
    model = fit_surrogate_model(
        open_table(args.table),
        args.model,
        hyperparameters=_parse_hyperparameters(args.param),
        holdout_fraction=args.holdout,
        seed=args.seed,
    )
    model.save(target, overwrite=args.overwrite)
    if args.json:
        _print_json({"out": str(target), "checksum": model.checksum, "quality": model.quality})
        return 0
    quality = model.quality
    print(
        f"wrote {target}: {args.model} on {model.source['measured_classes']} measured classes of "
        f"{model.space.size} architectures; {model.checksum}"
    )
    rows = [{"target": name, **quality[name]} for name in ("val_acc_final", "test_acc", "run_seconds")]
    _print_metric_rows(
        f"hold-out quality ({quality['holdout_classes']} classes held out, "
        f"fitted on {quality['train_classes']})",
        rows,
        ["target", "kendall_tau", "spearman", "r2", "mae", "precision_at_10"],
    )
    return 0


def cmd_proxies(args: argparse.Namespace) -> int:
    import time

    from nasbench.core.table import open_table
    from nasbench.prediction.evaluation import evaluate_scores

    cls = _zero_cost_class()
    table = open_table(args.table)
    names = list(cls.proxy_names) if args.proxies == "all" else [p.strip() for p in args.proxies.split(",")]
    workers = _parse_count("--workers", args.workers, 1)
    started = time.perf_counter()
    path = cls.score_table(
        table.path,
        names,
        batch_size=args.batch_size,
        seed=args.seed,
        data_dir=args.data_dir,
        progress=not args.quiet,
        workers=workers,
    )
    wall_seconds = time.perf_counter() - started
    stored = cls.read_scores(path, table)
    result: dict[str, Any] = {
        "scores": str(path),
        "classes": int(table.num_unique),
        "wall_seconds": wall_seconds,
        "workers": workers,
    }
    try:
        result["correlation"] = evaluate_scores(table, stored.scores)
    except NasbenchError as exc:  # a table with too few measured classes: scores still written
        result["correlation"] = None
        result["correlation_skipped"] = _one_line(exc)
    if args.json:
        _print_json(result)
        return 0
    print(f"wrote {path}: {len(names)} proxies x {table.num_unique} classes in {wall_seconds:.1f} s")
    if result["correlation"]:
        rows = [{"proxy": name, **values} for name, values in result["correlation"].items()]
        _print_metric_rows(
            "against the seed-mean final val_acc",
            rows,
            ["proxy", "n", "kendall_tau", "spearman", "precision_at_10", "precision_at_50"],
        )
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from nasbench.reporting.leaderboard import write_report

    paths = write_report(args.results, args.out)
    for path in paths:
        print(path)
    return 0


# --------------------------------------------------------------------- parser
def _add_protocol_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", default="tiny", help="protocol preset: tiny, cpu-small, nb201 (default tiny)")
    p.add_argument(
        "--dataset", default=None, help="fashion-mnist, mnist, cifar10 or digits (default: preset's)"
    )
    p.add_argument("--seeds", default=None, help="comma-separated training seeds (default: preset's)")
    p.add_argument("--epochs", type=int, default=None, help="epochs per run (default: preset's)")
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override a protocol field, e.g. --set batch_size=128",
    )
    p.add_argument("--data-dir", default=None, help="directory holding the dataset files")


def build_parser() -> argparse.ArgumentParser:
    from nasbench import __version__

    parser = argparse.ArgumentParser(
        prog="nasbench",
        description="NAS benchmark tables: search spaces, costs, table queries and validation.",
    )
    parser.add_argument("--version", action="version", version=f"nasbench {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = commands.add_parser(
        "space",
        help="describe a search space (size, unique classes)",
        description="Describe a cell search space: ops, size and the number of isomorphism classes.",
    )
    p.add_argument(
        "--preset", default="nb201", choices=sorted(SPACE_PRESETS), help="space preset (default nb201)"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_space)

    p = commands.add_parser(
        "cost",
        help="params and FLOPs of one architecture",
        description="Build an architecture's network and count params and FLOPs "
        "as NAS-Bench-201 does (conv + linear MACs, one image).",
    )
    p.add_argument("arch", metavar="ARCH", help="NAS-Bench-201 string or integer index")
    p.add_argument("--preset", default="nb201", help="model preset (nb201, cpu-small, tiny)")
    p.add_argument("--space", default="nb201", choices=sorted(SPACE_PRESETS), help="space preset")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_cost)

    p = commands.add_parser(
        "info",
        help="summarise a table file",
        description="Summarise a table: space, classes, seeds, epochs, runs "
        "recorded, protocol, devices, fidelity, provenance.",
    )
    p.add_argument("table", metavar="TABLE", help="path of an .h5 table")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_info)

    p = commands.add_parser(
        "query",
        help="look up one metric of one architecture",
        description="Look up one metric of one architecture in a table; "
        "isomorphic architectures answer from their class.",
    )
    p.add_argument("table", metavar="TABLE", help="path of an .h5 table")
    p.add_argument("arch", metavar="ARCH", help="NAS-Bench-201 string or integer index")
    p.add_argument("--metric", default="val_acc", help="metric name (default val_acc)")
    p.add_argument("--epoch", type=int, default=-1, help="0-based epoch, -1 for the last (default)")
    p.add_argument("--seed", type=int, default=None, help="one seed (default: mean over seeds)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_query)

    p = commands.add_parser(
        "validate",
        help="check a table file against the schema",
        description="Check a table: schema, checksum, canonical classes, "
        "value ranges. Exit status 1 if anything is wrong.",
    )
    p.add_argument("table", metavar="TABLE", help="path of an .h5 table")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_validate)

    p = commands.add_parser(
        "init-table",
        help="write an empty table with every architecture's cost",
        description="Write a table holding every architecture of a space, its "
        "canonical class and its params/FLOPs; every training run "
        "is pending until the generator fills it.",
    )
    p.add_argument("--out", required=True, help="path of the .h5 file to write")
    p.add_argument("--space", default="nb201", choices=sorted(SPACE_PRESETS), help="space preset")
    p.add_argument("--preset", default="nb201", help="model preset for the costs")
    p.add_argument("--dataset", default=None, help="dataset name to record (default: the preset's)")
    p.add_argument("--seeds", default="0", help="comma-separated seeds (default 0)")
    p.add_argument("--epochs", type=int, default=1, help="epochs per run (default 1)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing file")
    p.add_argument("--record-command", action="store_true", help="store the command line in the provenance")
    p.set_defaults(func=cmd_init_table)

    p = commands.add_parser(
        "generate",
        help="train every canonical architecture and record it (resumable)",
        description="Train the canonical architectures of a space under a protocol preset and record "
        "per-epoch metrics, then probe latency and memory per device. Kill it at any moment and "
        "re-run the same command: it resumes.",
    )
    p.add_argument("--out", required=True, help="path of the .h5 table to write or resume")
    _add_protocol_options(p)
    p.add_argument("--space", default="nb201", choices=sorted(SPACE_PRESETS), help="space preset")
    p.add_argument(
        "--limit",
        type=int,
        default=None,
        help="train the first N classes in a seeded random order (0 = all; default: preset's)",
    )
    p.add_argument("--shard", default=None, help="i/n: run the i-th of n shards (numbered from 0)")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="local worker processes, one thread each (default: one per core; 0 = in this process)",
    )
    p.add_argument(
        "--scheduler", default=None, help="address of an existing Dask scheduler (tcp://host:8786)"
    )
    p.add_argument("--no-probes", action="store_true", help="skip latency and memory probes")
    p.add_argument(
        "--checkpoint-seconds",
        type=float,
        default=30.0,
        help="seconds between checkpoints of the table (default 30)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_generate)

    p = commands.add_parser(
        "fidelity",
        help="seed-to-seed agreement of a protocol on a fixed random sample",
        description="Train the first N classes of the generator's seeded order with every seed of a "
        "protocol (resumable) and report seed-to-seed Spearman and Kendall tau of final val accuracy, "
        "mean |seed difference|, Spearman of each epoch with the final one and core-seconds per run.",
    )
    p.add_argument("--out", required=True, help="path of the .h5 table to write or resume")
    p.add_argument("--space", default="nb201", choices=sorted(SPACE_PRESETS), help="space preset")
    _add_protocol_options(p)
    p.add_argument("--archs", type=int, default=100, help="architectures in the sample (default 100)")
    p.add_argument("--workers", type=int, default=None, help="local worker processes (default: one per core)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_fidelity)

    p = commands.add_parser(
        "frontier",
        help="Markdown table of fidelity reports, cheapest protocol first",
        description="Read the *.json reports `nasbench fidelity` wrote in a directory and print the "
        "cost-versus-agreement frontier as a Markdown table.",
    )
    p.add_argument("directory", metavar="DIR", help="directory holding fidelity *.json reports")
    p.set_defaults(func=cmd_frontier)

    p = commands.add_parser(
        "merge",
        help="merge shard tables of one protocol into one table",
        description="Combine tables of the same space, dataset and protocol (for example shards) into one.",
    )
    p.add_argument("out", metavar="OUT", help="path of the merged table")
    p.add_argument("inputs", metavar="TABLE", nargs="+", help="tables to merge")
    p.add_argument("--overwrite", action="store_true", help="replace an existing OUT")
    p.add_argument(
        "--compact",
        action="store_true",
        help="store losses and seconds as float16 (accuracies stay float32)",
    )
    p.set_defaults(func=cmd_merge)

    p = commands.add_parser(
        "compare",
        help="run search strategies x seeds on tables and write a results directory",
        description="Run every strategy on every table for seeds 0..N-1 under one budget per run, "
        "in this process or on Dask workers, and write DIR/config.json, runs.csv, trajectories.csv, "
        "pareto.csv, errors.json and timing.json (all but timing.json byte-identical on a rerun). "
        "A run that raises is recorded in errors.json and the others go on.",
    )
    p.add_argument(
        "--table",
        action="append",
        required=True,
        metavar="TABLE",
        help="an .h5 table, or a surrogate benchmark directory from `nasbench surrogate fit` (repeatable)",
    )
    p.add_argument(
        "--surrogate-noise",
        action="store_true",
        help="surrogate benchmarks answer with their noise model (default: the noise-free mean)",
    )
    p.add_argument(
        "--strategies",
        required=True,
        help="comma-separated strategy names, or 'all' (see `nasbench strategies`)",
    )
    p.add_argument("--seeds", required=True, metavar="N", help="number of seeds: runs seeds 0..N-1")
    p.add_argument("--budget-evals", default=None, metavar="M", help="evaluations per run")
    p.add_argument("--budget-seconds", default=None, metavar="S", help="simulated training seconds per run")
    p.add_argument("--out", required=True, metavar="DIR", help="results directory to write")
    p.add_argument(
        "--workers",
        default="0",
        metavar="K",
        help="local Dask worker processes, one thread each (default 0: in this process)",
    )
    p.add_argument(
        "--scheduler", default=None, help="address of an existing Dask scheduler (tcp://host:8786)"
    )
    p.add_argument(
        "--param",
        action="append",
        metavar="NAME.KEY=VALUE",
        help="a hyperparameter of one strategy, e.g. --param re.population_size=20 (VALUE read as JSON)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing non-empty DIR")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_compare)

    p = commands.add_parser(
        "card",
        help="Markdown data card of a table",
        description="Print a table's data card (protocol, splits, cost, fidelity, devices, provenance) "
        "as Markdown, read from the table itself.",
    )
    p.add_argument("table", metavar="TABLE", help="an .h5 table")
    p.add_argument("--title", default=None, help="heading (default: the file name)")
    p.add_argument("--command", default=None, help="the command that regenerates the table")
    p.set_defaults(func=cmd_card)

    p = commands.add_parser(
        "demo",
        help="the standard comparison on the shipped default table, as a leaderboard",
        description="Run every built-in strategy for N seeds on the shipped default table (or --table) "
        "under a budget of B full training runs' worth of simulated seconds, and write the leaderboard "
        "OUT.html and OUT.md.",
    )
    p.add_argument("--table", default=None, help="table to compare on (default: the shipped default table)")
    p.add_argument("--out", default="reports/leaderboard", metavar="PATH", help="report prefix")
    p.add_argument(
        "--results",
        default="build/leaderboard-results",
        metavar="DIR",
        help="where the raw results go (replaced on every run)",
    )
    p.add_argument("--seeds", default="10", metavar="N", help="seeds per strategy (default 10)")
    p.add_argument(
        "--budget-runs",
        default="100",
        metavar="B",
        help="budget per run, in mean full-training runs of the table (default 100)",
    )
    p.add_argument("--strategies", default=None, help="comma-separated subset (default: every built-in)")
    p.add_argument("--workers", default="2", metavar="K", help="local worker processes (default 2)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_demo)

    p = commands.add_parser(
        "strategies",
        help="list registered search strategies (built-in and plugins)",
        description="List every registered search strategy, built-in or from a plugin package, with its "
        "kind, default hyperparameters and summary; plugins that fail to import are listed with the error.",
    )
    p.add_argument("pattern", metavar="PATTERN", nargs="?", default="*", help="shell-style name pattern")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_strategies)

    p = commands.add_parser(
        "surrogate",
        help="list performance predictors, or evaluate one against a table",
        description="Performance predictors (surrogates): list them, or judge one against a whole table.",
    )
    surrogate_commands = p.add_subparsers(dest="surrogate_command", metavar="SUBCOMMAND", required=True)
    q = surrogate_commands.add_parser(
        "list",
        help="list registered surrogates (built-in and plugins)",
        description="List every registered surrogate with its kind, whether it predicts a standard "
        "deviation, and its summary.",
    )
    q.add_argument("pattern", metavar="PATTERN", nargs="?", default="*", help="shell-style name pattern")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(func=cmd_surrogate_list)
    q = surrogate_commands.add_parser(
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
    q.add_argument("--train-size", default="10,100,1000", help="comma-separated training-set sizes")
    q.add_argument("--seeds", default="3", metavar="S", help="number of seeds: draws 0..S-1 (default 3)")
    q.add_argument(
        "--train-target",
        default="mean",
        choices=["mean", "seed0"],
        help="fit on the seed mean (default) or on the first seed's run only",
    )
    q.add_argument("--param", action="append", metavar="KEY=VALUE", help="surrogate hyperparameter")
    q.add_argument(
        "--noise-comparison",
        action="store_true",
        help="also fit on the first seed (largest size) and compare with that seed's own run",
    )
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(func=cmd_surrogate_eval)

    q = surrogate_commands.add_parser(
        "fit",
        help="fit a surrogate benchmark on a table (for spaces too large to tabulate)",
        description="Fit surrogates of the validation accuracy per epoch, the test accuracy and the "
        "run seconds on every measured class of a table (for example a seeded sample of a large "
        "space), state their quality on a seeded hold-out split, and save them as a directory that "
        "`nasbench compare --table DIR` runs strategies on.",
    )
    q.add_argument("--table", required=True, help="table to fit on")
    q.add_argument("--model", default="ensemble", help="architecture surrogate (default ensemble)")
    q.add_argument("--param", action="append", metavar="KEY=VALUE", help="surrogate hyperparameter")
    q.add_argument("--holdout", type=float, default=0.2, help="fraction held out to state quality (0.2)")
    q.add_argument("--seed", type=int, default=0, help="seed of the split and the surrogates (default 0)")
    q.add_argument("--out", required=True, metavar="DIR", help="directory to write")
    q.add_argument("--overwrite", action="store_true", help="replace an existing non-empty DIR")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(func=cmd_surrogate_fit)

    q = surrogate_commands.add_parser(
        "tune",
        help="random search over a surrogate's hyperparameters, judged on a table",
        description="Seeded random search over the surrogate's declared tuning space: each "
        "configuration is fitted on --train-size classes drawn with seeds 100.. (other draws than "
        "`surrogate eval` uses) and ranked by its median Kendall tau on the other classes.",
    )
    q.add_argument("--table", required=True, help="table to tune on")
    q.add_argument("--model", default="xgb", help="registered surrogate name (default xgb)")
    q.add_argument("--configs", default="20", help="configurations to try, the defaults first (20)")
    q.add_argument("--train-size", default="1000", help="training classes per fit (1000)")
    q.add_argument("--seeds", default="2", metavar="S", help="training draws per configuration (2)")
    q.add_argument("--seed", default="0", help="seed of the configuration sampler (0)")
    q.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(func=cmd_surrogate_tune)

    q = surrogate_commands.add_parser(
        "weight-sharing",
        help="rank a table's classes by inherited supernet weights, by training length and BatchNorm mode",
        description="Train a supernet of the table's protocol by uniform path sampling for each "
        "--epochs value and seed, score every usable class with inherited weights in each BatchNorm "
        "mode (batch statistics, training's running statistics, re-calibrated per architecture) and "
        "compare with the seed-mean final validation accuracy: Kendall tau, Spearman, precision@k, "
        "tau within the top 10 %%, CPU seconds.",
    )
    q.add_argument("--table", required=True, help="table to judge against (its protocol is trained)")
    q.add_argument("--epochs", default="5,20,50", help="comma-separated supernet training lengths")
    q.add_argument("--seeds", default="1", metavar="S", help="number of seeds: 0..S-1 (default 1)")
    q.add_argument("--bn-modes", default="batch,running,recalibrated", help="BatchNorm modes to score")
    q.add_argument("--eval-images", default="256", help="validation images per architecture (256)")
    q.add_argument("--max-classes", default=None, help="score a seeded sample of this many classes")
    q.add_argument("--quiet", action="store_true", help="no progress lines")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(func=cmd_surrogate_weight_sharing)

    q = surrogate_commands.add_parser(
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

    p = commands.add_parser(
        "proxies",
        help="score every class of a table with zero-cost proxies, stored beside it",
        description="Score every canonical architecture of a table with zero-cost proxies on its "
        "network at initialisation (the table's protocol and data) and store the scores beside the "
        "table as <stem>.proxies.h5; then print their correlation with the table.",
    )
    p.add_argument("table", metavar="TABLE", help="table file")
    p.add_argument("--proxies", default="all", help="comma-separated proxy names, or all (default)")
    p.add_argument("--batch-size", type=int, default=64, help="images in the scoring batch (default 64)")
    p.add_argument("--seed", type=int, default=0, help="seed of the batch and the initialisation (default 0)")
    p.add_argument("--workers", default="2", metavar="K", help="worker processes (default 2)")
    p.add_argument("--data-dir", default=None, help="directory holding the dataset files")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_proxies)

    p = commands.add_parser(
        "report",
        help="leaderboard report (HTML, Markdown, plots) of a results directory",
        description="Write the leaderboard report of a directory written by `nasbench compare`.",
    )
    p.add_argument("results", metavar="RESULTS_DIR", help="directory written by `nasbench compare`")
    p.add_argument(
        "--out",
        required=True,
        metavar="PATH",
        help="output prefix, e.g. reports/NAME: writes NAME.html, NAME.md and figures in NAME_files/",
    )
    p.set_defaults(func=cmd_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    parser = build_parser()
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(arguments)
    args.argv = arguments
    try:
        return int(args.func(args))
    except NotMeasuredError as exc:
        print(f"nasbench: not measured: {_one_line(exc)}", file=sys.stderr)
        return 1
    except NasbenchError as exc:
        print(f"nasbench: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("nasbench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``nasbench strategies | head``): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

"""Supernet mechanics on the digits ``tiny`` protocol: forward modes, derivation, errors."""

from __future__ import annotations

import dataclasses
from collections import Counter
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from nasbench.strategies.oneshot import DARTS
from nasbench.strategies.oneshot_gradient import darts_hessian_vector_product, gumbel_hard_sample

from nasbench.core.errors import ConfigError, NasbenchError
from nasbench.core.space import Architecture, CellSpace, get_space
from nasbench.core.table import TableWriter, open_table
from nasbench.nets.models import build_model, cost_arrays
from nasbench.nets.supernet import (
    ArchitectureWeightsError,
    MixedOp,
    SearchDivergedError,
    Supernet,
    check_table_compatible,
    evaluate_path,
    recalibrate_batchnorm,
)
from nasbench.nets.supernet_training import OneShotTask, split_search_data
from nasbench.nets.train import get_protocol
from nasbench.search import OneShotBudget

PROTOCOL = get_protocol("tiny")
SPACE = get_space("nb201")
ARCH = Architecture.from_string(
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def data():
    return PROTOCOL.load_data()


@pytest.fixture(scope="module")
def images(data):
    return data.train_x[:32], data.train_y[:32]


@pytest.fixture(scope="module")
def tiny_table(tmp_path_factory):
    """An empty complete nb201 table whose protocol is the tiny preset."""
    path = tmp_path_factory.mktemp("oneshot") / "tiny.h5"
    params, flops = cost_arrays(SPACE, PROTOCOL.model_config())
    writer = TableWriter.create(
        path,
        space=SPACE,
        model=PROTOCOL.model_config().to_dict(),
        dataset={"name": PROTOCOL.dataset},
        protocol=PROTOCOL.to_dict(),
        seeds=PROTOCOL.seeds,
        num_epochs=PROTOCOL.epochs,
        params=params,
        flops=flops,
        metrics=("val_acc",),
        created="2024-01-01T00:00:00+00:00",
    )
    writer.close()
    return open_table(path)


def supernet(**kwargs) -> Supernet:
    return Supernet.for_protocol(PROTOCOL, SPACE, seed=0, **kwargs)


def one_hot(arch: Architecture) -> torch.Tensor:
    weights = torch.zeros(SPACE.num_edges, SPACE.num_ops)
    weights[torch.arange(SPACE.num_edges), torch.tensor(SPACE.op_indices(arch))] = 1.0
    return weights


# --------------------------------------------------------------------- forward modes
def test_skeleton_matches_the_stand_alone_network():
    net = supernet()
    model = build_model(ARCH, PROTOCOL.model_config(), SPACE)
    names = {name for name, _ in model.named_parameters()}
    for name, _ in net.named_parameters():
        if ".candidates." not in name and name != "alpha":
            assert name in names, name
    assert net.alpha.shape == (SPACE.num_edges, SPACE.num_ops)


def test_path_mode_computes_the_architecture(images):
    # Copy the supernet's weights of ARCH's ops into the stand-alone network: in training
    # mode (batch statistics everywhere) both compute the same function.
    net = supernet()
    model = build_model(ARCH, PROTOCOL.model_config(), SPACE)
    ops = SPACE.op_indices(ARCH)
    state = net.state_dict()
    mapped = {}
    for name in model.state_dict():
        parts = name.split(".")
        if parts[0] == "cells" and parts[2] == "edges":
            source = ".".join([*parts[:4], "candidates", str(ops[int(parts[3])]), *parts[4:]])
        else:
            source = name
        if source in state:
            mapped[name] = state[source]
    model.load_state_dict(mapped, strict=False)
    net.train()
    model.train()
    x, _ = images
    with torch.no_grad():
        torch.testing.assert_close(net.forward_path(x, ARCH), model(x), rtol=1e-5, atol=1e-5)


def test_relaxed_mode_with_one_hot_weights_equals_path_mode(images):
    net = supernet().eval()
    x, _ = images
    with torch.no_grad():
        path = net.forward_path(x, ARCH)
        torch.testing.assert_close(net.forward_relaxed(x, one_hot(ARCH)), path, rtol=1e-6, atol=1e-6)
        net.alpha.copy_(50.0 * one_hot(ARCH))  # softmax is one-hot to float32 precision
        torch.testing.assert_close(net(x), path, rtol=1e-5, atol=1e-5)
        hard = one_hot(ARCH)
        torch.testing.assert_close(net.forward_hard(x, hard, SPACE.op_indices(ARCH)), path)


def test_mixed_op_weights_its_candidates():
    op = MixedOp(SPACE.ops, 4, track_running_stats=False)
    x = torch.randn(8, 4, 6, 6, generator=torch.Generator().manual_seed(0))
    for k, candidate in enumerate(op.candidates):
        weights = torch.zeros(SPACE.num_ops)
        weights[k] = 1.0
        torch.testing.assert_close(op(x, weights), candidate(x) + torch.zeros_like(x))
    weights = torch.softmax(torch.randn(SPACE.num_ops), 0)
    expected = sum(w * c(x) for w, c in zip(weights, op.candidates, strict=True))
    torch.testing.assert_close(op(x, weights), expected)


def _count_calls(net: Supernet) -> Counter:
    calls: Counter = Counter()
    for name, module in net.named_modules():
        if name.count(".candidates.") == 1 and name.split(".")[-2] == "candidates":
            module.register_forward_hook(lambda m, i, o, name=name: calls.update([name.split(".")[-1]]))
    return calls


def test_only_the_sampled_ops_run(images):
    net = supernet()
    calls = _count_calls(net)
    x, y = images
    net.forward_path(x, ARCH)
    ran = {SPACE.ops[int(k)] for k in calls}
    assert ran == set(ARCH.ops) - {"none"}
    cells = 3 * PROTOCOL.cells_per_stage
    assert sum(calls.values()) == cells * sum(op != "none" for op in ARCH.ops)
    # GDAS: draw until the sample is ARCH (alpha favours it), then only its ops run and
    # the straight-through weights carry a gradient to every edge's alpha
    with torch.no_grad():
        net.alpha.copy_(3.0 * one_hot(ARCH))
    wanted = list(SPACE.op_indices(ARCH))
    generator = torch.Generator().manual_seed(0)
    hard, index = gumbel_hard_sample(net.alpha, 1.0, generator)
    while index != wanted:
        hard, index = gumbel_hard_sample(net.alpha, 1.0, generator)
    calls.clear()
    loss = F.cross_entropy(net.forward_hard(x, hard, index), y)
    assert sum(calls.values()) == cells * sum(op != "none" for op in ARCH.ops)
    (gradient,) = torch.autograd.grad(loss, [net.alpha])
    assert torch.all(gradient.abs().sum(dim=1) > 0)


def test_gumbel_sample_is_hard_and_straight_through():
    alpha = torch.randn(SPACE.num_edges, SPACE.num_ops, requires_grad=True)
    hard, index = gumbel_hard_sample(alpha, 0.5, torch.Generator().manual_seed(0))
    assert torch.equal(hard.detach(), one_hot(Architecture(tuple(SPACE.ops[k] for k in index))))
    hard[torch.arange(SPACE.num_edges), torch.tensor(index)].sum().backward()
    assert alpha.grad is not None and torch.all(torch.isfinite(alpha.grad))
    again = gumbel_hard_sample(alpha, 0.5, torch.Generator().manual_seed(0))[1]
    assert again == index


def test_batchnorm_without_affine_and_running_statistics_switch(images):
    net = supernet()
    cell_norms = [
        m for n, m in net.named_modules() if ".candidates." in n and isinstance(m, torch.nn.BatchNorm2d)
    ]
    assert cell_norms and all(not m.affine and m.running_mean is None for m in cell_norms)
    tracked = supernet(track_running_stats=True)
    x, y = images
    recalibrate_batchnorm(tracked, ARCH, [x[:16], x[16:]])
    norm = next(m for n, m in tracked.named_modules() if n.endswith("candidates.3.2"))
    assert norm.running_mean is not None and int(norm.num_batches_tracked) == 2
    assert 0.0 <= evaluate_path(tracked, ARCH, x, y) <= 100.0
    with pytest.raises(ConfigError, match="track_running_stats"):
        recalibrate_batchnorm(net, ARCH, [x])


def test_cells_normalise_with_batch_statistics_at_eval_by_default():
    net = supernet().eval()
    conv = net.cells[0].edges[0].candidates[SPACE.ops.index("nor_conv_3x3")]
    x = 3.0 + 2.0 * torch.randn(16, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = conv(x)
    torch.testing.assert_close(out.mean(dim=(0, 2, 3)), torch.zeros(4), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.var(dim=(0, 2, 3), unbiased=False), torch.ones(4), atol=1e-3, rtol=0)


# --------------------------------------------------------------------- derivation
def test_derived_architecture_is_valid_and_in_the_table(tiny_table):
    net = supernet()
    with torch.no_grad():
        net.alpha.copy_(one_hot(ARCH))
    derived = net.derive()
    assert derived == ARCH
    SPACE.check(derived)
    assert tiny_table.space.index(derived) == tiny_table.indices[tiny_table.row(derived)]
    assert net.probabilities().shape == (SPACE.num_edges, SPACE.num_ops)


# --------------------------------------------------------------------- errors
def test_nan_architecture_weights_raise_a_dedicated_error():
    net = supernet()
    with torch.no_grad():
        net.alpha[0, 0] = float("nan")
    for call in (net.derive, net.probabilities, net.check_architecture_weights):
        with pytest.raises(ArchitectureWeightsError, match="non-finite"):
            call()
    assert issubclass(ArchitectureWeightsError, SearchDivergedError)
    assert issubclass(ArchitectureWeightsError, NasbenchError)


def test_search_on_corrupt_data_fails_with_the_dedicated_error(data):
    corrupt = data.train_x.clone()
    corrupt[::2] = float("nan")
    task = OneShotTask(SPACE, PROTOCOL, dataclasses.replace(data, train_x=corrupt), seed=0)
    with pytest.raises(ArchitectureWeightsError):
        DARTS(batch_size=128).search(task, OneShotBudget(epochs=1))


def test_space_or_protocol_other_than_the_tables_is_rejected(tiny_table):
    check_table_compatible(tiny_table, SPACE, PROTOCOL)
    seven = get_space("nb201-7op")
    with pytest.raises(ConfigError, match="search space"):
        check_table_compatible(tiny_table, seven, PROTOCOL)
    with pytest.raises(ConfigError, match="resolution 16"):
        check_table_compatible(tiny_table, SPACE, PROTOCOL.replace(resolution=16))
    with pytest.raises(ConfigError, match="dataset"):
        check_table_compatible(tiny_table, SPACE, PROTOCOL.replace(dataset="fashion-mnist"))
    # the training recipe may differ
    check_table_compatible(tiny_table, SPACE, PROTOCOL.replace(epochs=1, learning_rate=0.5))
    other = SimpleNamespace(space=SPACE, protocol={"name": "synthetic"})
    with pytest.raises(ConfigError, match="protocol"):
        check_table_compatible(other, SPACE, PROTOCOL)
    with pytest.raises(ConfigError, match="no module for op"):
        Supernet(CellSpace(ops=("none", "skip_connect", "no_such_op")), PROTOCOL.model_config())


def test_budget_too_small_for_one_epoch(data):
    with pytest.raises(ConfigError, match="too small for one epoch"):
        OneShotBudget(epochs=0)
    for bad in ({}, {"seconds": 0}, {"seconds": float("nan")}, {"epochs": 1.5}):
        with pytest.raises(ConfigError):
            OneShotBudget(**bad)
    task = OneShotTask(SPACE, PROTOCOL, data, seed=0)
    with pytest.raises(ConfigError, match="too small for one epoch"):
        DARTS(batch_size=32).search(task, OneShotBudget(seconds=1e-4))


def test_task_checks_its_inputs(data, tiny_table):
    with pytest.raises(ConfigError, match="seed"):
        OneShotTask(SPACE, PROTOCOL, data, seed=-1)
    with pytest.raises(ConfigError, match="px"):
        OneShotTask(SPACE, PROTOCOL.replace(resolution=16), data)
    task = OneShotTask.from_table(tiny_table, seed=1)
    assert task.space == SPACE and task.protocol == PROTOCOL
    task.check_table(tiny_table)
    halves = split_search_data(data, PROTOCOL.split_seed)
    total = halves.weights_x.shape[0] + halves.arch_x.shape[0]
    assert total == data.train_x.shape[0] and abs(halves.weights_x.shape[0] - halves.arch_x.shape[0]) <= 1


# --------------------------------------------------------------------- second-order DARTS
def test_finite_difference_hvp_matches_autograd(images):
    # float64: the central difference of grad_alpha along v agrees with autograd's exact
    # mixed second derivative once the step is small enough to cross no ReLU kink (at
    # DARTS's step 0.01 a few kinks are crossed in this tiny network, as in DARTS itself).
    net = supernet().double().train()
    x, y = images[0][:16].double(), images[1][:16]
    weights = net.weight_parameters()
    generator = torch.Generator().manual_seed(1)
    vector = [torch.randn(w.shape, generator=generator, dtype=torch.float64) for w in weights]
    loss = F.cross_entropy(net(x), y)
    grads = torch.autograd.grad(loss, weights, create_graph=True, allow_unused=True)
    dot = sum((g * v).sum() for g, v in zip(grads, vector, strict=True) if g is not None)
    (exact,) = torch.autograd.grad(dot, [net.alpha])
    before = [w.detach().clone() for w in weights]
    approx = darts_hessian_vector_product(net, x, y, vector, step=1e-6)
    assert all(torch.equal(w, b) for w, b in zip(weights, before, strict=True)), "weights restored"
    relative = float((approx - exact).norm() / exact.norm())
    assert relative < 1e-6, relative
    # epsilon = step / ||v||: scaling v leaves the evaluated points unchanged, so the
    # product scales exactly with v (the DARTS convention), at the default step too
    default = darts_hessian_vector_product(net, x, y, vector)
    scaled = darts_hessian_vector_product(net, x, y, [4.0 * v for v in vector])
    torch.testing.assert_close(scaled, 4.0 * default, rtol=1e-9, atol=0)
    zero = darts_hessian_vector_product(net, x, y, [torch.zeros_like(v) for v in vector])
    assert torch.equal(zero, torch.zeros_like(net.alpha))

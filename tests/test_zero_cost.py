"""Zero-cost proxies on the digits ``tiny`` protocol: values, determinism, storage."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from nasbench.surrogates import proxies, zero_cost
from nasbench.surrogates.proxies import PROXIES, nwot, run_proxy, synflow
from nasbench.surrogates.zero_cost import proxy_batch, score_architectures, score_table
from torch import nn

from nasbench.core.errors import ConfigError, TableError
from nasbench.core.space import CellSpace, get_space
from nasbench.core.table import TableWriter, open_table
from nasbench.nets.models import build_model, cost_arrays
from nasbench.nets.train import get_protocol
from nasbench.prediction import proxy_scores_path, read_proxy_scores, write_proxy_scores

PROTOCOL = get_protocol("tiny")
SPACE = get_space()
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
ORDINARY = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|none~1|+|none~0|none~1|nor_conv_1x1~2|",
    "|skip_connect~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|",
]


@pytest.fixture(autouse=True)
def one_thread():
    # Direct proxy calls run on one thread too: as scored, and fast on a busy machine.
    with zero_cost._one_thread():
        yield


@pytest.fixture(scope="module")
def data():
    return PROTOCOL.load_data()


@pytest.fixture(scope="module")
def batch(data):
    return proxy_batch(data, 64, 0)


@pytest.fixture(scope="module")
def ordinary_scores(data):
    return score_architectures(ORDINARY, PROTOCOL, batch_size=64, seed=0, data=data)


def _model(arch: str, seed: int = 0) -> nn.Module:
    return build_model(arch, PROTOCOL.model_config(), SPACE, seed=seed)


@pytest.mark.parametrize("name", list(PROXIES))
def test_proxy_finite_and_depends_on_architecture(ordinary_scores, name):
    values = ordinary_scores[name]
    assert values.shape == (len(ORDINARY),)
    assert np.all(np.isfinite(values)), values
    assert np.unique(values).size == len(ORDINARY), values


def test_same_seed_same_scores_bit_for_bit(data, ordinary_scores):
    again = score_architectures(ORDINARY, PROTOCOL, batch_size=64, seed=0, data=data)
    assert list(again) == list(ordinary_scores)
    for name, values in ordinary_scores.items():
        assert again[name].tobytes() == values.tobytes(), name


def test_other_seed_other_scores(data, ordinary_scores):
    other = score_architectures(ORDINARY[:1], PROTOCOL, proxies=["snip", "nwot"], seed=1, data=data)
    assert other["snip"][0] != ordinary_scores["snip"][0]
    assert other["nwot"][0] != ordinary_scores["nwot"][0]


def test_subset_of_proxies_gives_the_same_values(data, ordinary_scores):
    # Proxies do not disturb each other (no leftover gradients or changed weights).
    alone = score_architectures(ORDINARY, PROTOCOL, proxies=["jacob_cov", "grasp"], seed=0, data=data)
    for name in ("jacob_cov", "grasp"):
        assert alone[name].tobytes() == ordinary_scores[name].tobytes()


def test_direct_call_matches_shared_pass(data):
    # score_architectures shares one forward pass between proxies; a direct call computes
    # its own with the same code, so the values agree bit for bit.
    inputs, targets = proxy_batch(data, 64, 0)
    scores = score_architectures(ORDINARY[:1], PROTOCOL, seed=0, data=data)
    for name in PROXIES:
        value = run_proxy(name, _model(ORDINARY[0], seed=0), inputs, targets)
        assert value == scores[name][0], name


def test_worker_processes_give_the_same_scores(data, ordinary_scores):
    names = ["snip", "nwot", "flops"]
    pooled = score_architectures(ORDINARY, PROTOCOL, proxies=names, seed=0, data=data, workers=2)
    for name in names:
        assert pooled[name].tobytes() == ordinary_scores[name].tobytes(), name


def test_proxies_leave_parameters_unchanged(batch):
    model = _model(ORDINARY[0])
    before = {k: v.clone() for k, v in model.named_parameters()}
    for name in PROXIES:
        run_proxy(name, model, *batch)
    for key, value in model.named_parameters():
        assert torch.equal(value, before[key]), key
        assert value.grad is None, key


def test_params_and_flops_equal_nasbench_cost(ordinary_scores):
    indices = np.array([SPACE.index(a) for a in ORDINARY])
    params, macs = cost_arrays(SPACE, PROTOCOL.model_config(), indices)
    np.testing.assert_array_equal(ordinary_scores["params"], params.astype(np.float64))
    np.testing.assert_array_equal(ordinary_scores["flops"], macs.astype(np.float64))


def test_one_score_per_isomorphism_class(data):
    canonical = SPACE.canonical_indices()
    member = int(np.nonzero(canonical != np.arange(SPACE.size))[0][1234])
    representative = int(canonical[member])
    both = score_architectures([member, representative], PROTOCOL, seed=0, data=data)
    alone = score_architectures([representative], PROTOCOL, seed=0, data=data)
    for name in PROXIES:
        assert both[name][0] == both[name][1] == alone[name][0], name


def test_synflow_is_zero_without_a_path_from_input_to_output(batch):
    # All-`none` cells output zeros: no path carries the input to the classifier, so
    # every weight's synaptic flow (theta * dR/dtheta) is exactly zero.
    assert synflow(_model(ALL_NONE), *batch) == 0.0
    assert synflow(_model(ORDINARY[0]), *batch) > 0.0


def test_synflow_follows_its_definition(data, batch):
    model = _model(ORDINARY[1])
    reference = synflow(model, *batch)
    # All-ones input: no data is used.
    other_inputs, other_targets = proxy_batch(data, 16, 5)
    assert synflow(model, other_inputs, other_targets) == reference
    # Absolute-valued weights, BatchNorm removed: signs and BN parameters do not matter.
    changed = copy.deepcopy(model)
    with torch.no_grad():
        for module in changed.modules():
            if isinstance(module, nn.Conv2d):
                module.weight.neg_()
            elif isinstance(module, nn.BatchNorm2d):
                module.weight.mul_(3.0)
                module.bias.add_(1.0)
    assert synflow(changed, *batch) == pytest.approx(reference, rel=1e-12)
    # ... but magnitudes do: every input-to-output path crosses exactly one classifier
    # weight, so doubling them doubles every path's product, hence the score.
    with torch.no_grad():
        changed.classifier.weight.mul_(2.0)
    assert synflow(changed, *batch) == pytest.approx(2.0 * reference, rel=1e-9)


def test_proxies_follow_their_definitions_on_a_linear_classifier():
    # On x -> ReLU(x) -> W x + b every proxy has a closed form; computed here independently.
    # Gaussian inputs: random ReLU codes, so the 64 x 64 agreement kernel is non-singular.
    generator = torch.Generator().manual_seed(11)
    inputs = torch.randn(64, 1, 8, 8, generator=generator)
    targets = torch.randint(0, 10, (64,), generator=generator)
    model = nn.Sequential(nn.Flatten(), nn.ReLU(), nn.Linear(64, 10))
    with torch.no_grad():
        model[2].weight.copy_(torch.randn(10, 64, generator=generator))
        model[2].bias.copy_(torch.randn(10, generator=generator))
    w = model[2].weight.detach().double()
    b = model[2].bias.detach().double()
    x = inputs.reshape(inputs.shape[0], -1).double().clamp(min=0)
    count = x.shape[0]
    logits = x @ w.T + b
    g_logits = (torch.softmax(logits, 1) - F.one_hot(targets, 10).double()) / count  # dL/dlogits
    g_w = g_logits.T @ x
    expected = {
        "synflow": float(w.abs().sum()),  # R = sum(|W| 1 + |b|), dR/dW = 1
        "snip": float((w * g_w).abs().sum()),
        "grad_norm": float(torch.linalg.vector_norm(g_w)),
        "fisher": float(0.5 * (logits * g_logits).pow(2).mean(0).sum()),
    }

    # GraSP: -w . (H g), H the Hessian of the loss in W (exact, by torch.autograd.functional).
    def loss_of(flat: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(x @ flat.reshape(10, 64).T + b, targets)

    hessian = torch.autograd.functional.hessian(loss_of, w.reshape(-1))
    expected["grasp"] = float(-(w.reshape(-1) @ (hessian @ g_w.reshape(-1))))
    # Every image's input gradient is the same (W's column sums, masked by ReLU): for
    # distinct masks the rows differ; the kernel counts agreeing ReLU units.
    mask = (x > 0).double()
    jacobian = mask * w.sum(0)
    eigenvalues = torch.linalg.eigvalsh(torch.corrcoef(jacobian)) + 1e-5
    expected["jacob_cov"] = float(-(torch.log(eigenvalues) + 1 / eigenvalues).sum())
    kernel = mask @ mask.T + (1 - mask) @ (1 - mask).T
    expected["nwot"] = float(torch.linalg.slogdet(kernel)[1])
    for name, value in expected.items():
        assert run_proxy(name, model, inputs, targets) == pytest.approx(value, rel=1e-5), name


def test_degenerate_network_records_nan(data):
    scores = score_architectures([ALL_NONE], PROTOCOL, seed=0, data=data)
    # Every ReLU of the all-`none` network sees zeros: one code for every image, a rank-1
    # kernel; its input gradient is zero, so the Jacobian correlation is undefined.
    assert math.isnan(scores["nwot"][0])
    assert math.isnan(scores["jacob_cov"][0])
    assert scores["synflow"][0] == 0.0
    assert np.isfinite(scores["params"][0])


def test_nwot_grows_with_more_activation_patterns(batch):
    # K is a sum over ReLU units of PSD agreement matrices, so one more ReLU layer adds a
    # non-zero PSD term and log det K must increase strictly.
    model = _model(ORDINARY[0])
    base = nwot(model, *batch)
    assert nwot(nn.Sequential(model, nn.ReLU()), *batch) > base
    # And a network whose images all share one code scores lowest (NaN, degenerate).
    assert math.isnan(nwot(_model(ALL_NONE), *batch))


def test_nwot_kernel_counts_agreements():
    codes = torch.tensor([[1, 0, 1], [1, 1, 1], [0, 0, 0]], dtype=torch.bool)
    kernel = proxies._agreement_kernel(codes)
    expected = torch.tensor([[3, 2, 1], [2, 3, 0], [1, 0, 3]], dtype=torch.float64)
    assert torch.equal(kernel, expected)


def test_non_finite_proxy_becomes_nan(monkeypatch, data):
    def infinite(model, inputs, targets):
        return math.inf

    def singular(model, inputs, targets):
        raise torch.linalg.LinAlgError("singular")

    monkeypatch.setitem(PROXIES, "infinite", infinite)
    monkeypatch.setitem(PROXIES, "singular", singular)
    scores = score_architectures(ORDINARY[:1], PROTOCOL, proxies=["infinite", "singular"], data=data)
    assert math.isnan(scores["infinite"][0]) and math.isnan(scores["singular"][0])


def test_bad_arguments(data):
    with pytest.raises(ConfigError, match="unknown proxy"):
        score_architectures(ORDINARY[:1], PROTOCOL, proxies=["synflaw"], data=data)
    with pytest.raises(ConfigError, match="batch_size"):
        score_architectures(ORDINARY[:1], PROTOCOL, batch_size=10**6, data=data)


# --------------------------------------------------------------------------- storage


def _make_table(path: Path, archs: list[str]) -> Path:
    space = CellSpace()
    indices = np.array(sorted(space.index(a) for a in archs), dtype=np.int64)
    config = PROTOCOL.model_config()
    params, macs = cost_arrays(space, config, indices)
    writer = TableWriter.create(
        path,
        space=space,
        model=config.to_dict(),
        dataset={"name": "digits"},
        protocol=PROTOCOL.to_dict(),
        seeds=PROTOCOL.seeds,
        num_epochs=PROTOCOL.epochs,
        params=params,
        flops=macs,
        indices=indices,
        created="2024-05-01T12:00:00+00:00",
    )
    writer.close()
    return path


@pytest.fixture(scope="module")
def scored_table(tmp_path_factory):
    directory = tmp_path_factory.mktemp("proxies")
    table_path = _make_table(directory / "small.h5", [*ORDINARY, ALL_NONE])
    scores_path = score_table(table_path, batch_size=32, seed=3)
    return table_path, scores_path


def test_round_trip(scored_table, data):
    table_path, scores_path = scored_table
    assert scores_path == proxy_scores_path(table_path) == table_path.with_name("small.proxies.h5")
    assert sorted(p.name for p in table_path.parent.iterdir()) == ["small.h5", "small.proxies.h5"]
    table = open_table(table_path)
    stored = read_proxy_scores(scores_path)
    assert stored.proxies == tuple(PROXIES)
    np.testing.assert_array_equal(stored.unique, table.unique)
    expected = score_architectures(table.unique, PROTOCOL, batch_size=32, seed=3, data=data)
    for name in PROXIES:
        assert stored.scores[name].tobytes() == expected[name].tobytes(), name
    assert stored.settings["batch_size"] == 32 and stored.settings["seed"] == 3
    assert stored.table_checksum == table.checksum
    with h5py.File(scores_path) as handle:
        assert handle.attrs["batch_size"] == 32 and handle.attrs["seed"] == 3
        assert handle.attrs["torch_version"] == torch.__version__
    rows = stored.per_row(table)
    np.testing.assert_array_equal(rows["flops"], stored.scores["flops"][table.class_row])


def test_scores_of_another_table_fail(scored_table, tmp_path):
    _, scores_path = scored_table
    other = _make_table(tmp_path / "other.h5", ORDINARY[:2])
    with pytest.raises(TableError, match="another table"):
        read_proxy_scores(scores_path, table=other)
    beside = proxy_scores_path(other)
    beside.write_bytes(scores_path.read_bytes())
    with pytest.raises(TableError, match="another table"):
        read_proxy_scores(beside)


def test_truncated_or_tampered_file_fails(scored_table, tmp_path):
    table_path, scores_path = scored_table
    truncated = tmp_path / "small.proxies.h5"
    content = scores_path.read_bytes()
    truncated.write_bytes(content[: len(content) // 2])
    with pytest.raises(TableError, match="not a readable proxy scores file"):
        read_proxy_scores(truncated, table=table_path)
    tampered = tmp_path / "tampered.proxies.h5"
    tampered.write_bytes(content)
    with h5py.File(tampered, "r+") as handle:
        values = handle["scores/snip"][()]
        values[0] += 1.0
        handle["scores/snip"][...] = values
    with pytest.raises(TableError, match="checksum"):
        read_proxy_scores(tampered, table=table_path)
    with pytest.raises(TableError, match="no such proxy scores file"):
        read_proxy_scores(tmp_path / "missing.proxies.h5", table=table_path)


def test_write_checks_its_input(scored_table):
    table_path, _ = scored_table
    size = open_table(table_path).num_unique
    with pytest.raises(ConfigError, match="classes"):
        write_proxy_scores(table_path, {"snip": np.zeros(size + 1)}, {"batch_size": 8, "seed": 0})
    with pytest.raises(ConfigError, match="seed"):
        write_proxy_scores(table_path, {"snip": np.zeros(size)}, {"batch_size": 8})


# --------------------------------------------------------------------------- as a predictor


def test_zero_cost_predictor_scores_what_score_architectures_scores(ordinary_scores, tmp_path):
    from nasbench.prediction import create_surrogate, load_surrogate

    predictor = create_surrogate("zero-cost", proxy="nwot", protocol="tiny", batch_size=64, seed=0)
    assert predictor.fit(ORDINARY, np.zeros(len(ORDINARY))) is predictor
    assert np.array_equal(predictor.predict(ORDINARY), ordinary_scores["nwot"])
    with pytest.raises(ConfigError, match="std"):
        predictor.predict(ORDINARY, return_std=True)
    loaded = load_surrogate(predictor.save(tmp_path / "nwot.surrogate"))
    assert np.array_equal(loaded.predict(ORDINARY), ordinary_scores["nwot"])
    with pytest.raises(ConfigError, match="protocol"):
        create_surrogate("zero-cost", protocol="no-such-protocol")

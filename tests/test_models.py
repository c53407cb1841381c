"""Model builder and cost counting, cross-checked against NAS-Bench-201's published costs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nasbench.core.errors import ArchitectureError, ConfigError
from nasbench.core.space import CellSpace, get_space
from nasbench.nets.models import (
    MODEL_PRESETS,
    MacroConfig,
    arch_cost,
    build_model,
    cost_arrays,
    count_cost,
    get_model_config,
)

ALL_CONV3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


def test_nb201_published_cost_of_largest_and_smallest_cell() -> None:
    """NAS-Bench-201 (CIFAR-10, C=16, N=5): all nor_conv_3x3 220.11969 MFLOPs and
    1.531546 M params; all none 7.78305 MFLOPs and 0.073306 M params."""
    params_m, flops_m = arch_cost(ALL_CONV3, "nb201")
    assert f"{params_m:.6f}" == "1.531546" and f"{flops_m:.5f}" == "220.11969"
    params_m, flops_m = arch_cost(ALL_NONE, "nb201")
    assert f"{params_m:.6f}" == "0.073306" and f"{flops_m:.5f}" == "7.78305"


def _closed_form_nb201(space: CellSpace) -> tuple[np.ndarray, np.ndarray]:
    """Params and MACs from NAS-Bench-201's layer arithmetic, written out by hand."""
    ops = space.ops_array()
    n1 = (ops == space.ops.index("nor_conv_1x1")).sum(axis=1)
    n3 = (ops == space.ops.index("nor_conv_3x3")).sum(axis=1)
    params = np.full(space.size, 73_306, dtype=np.int64)
    macs = np.full(space.size, 7_783_050, dtype=np.int64)
    for channels, pixels in ((16, 32 * 32), (32, 16 * 16), (64, 8 * 8)):
        cells = 5
        # ReLU-Conv-BN: conv weights plus BN's affine weight and bias.
        params += cells * (n3 * (9 * channels**2 + 2 * channels) + n1 * (channels**2 + 2 * channels))
        macs += cells * (n3 * 9 * channels**2 * pixels + n1 * channels**2 * pixels)
    return params, macs


def test_cost_of_every_nb201_cell_matches_closed_form() -> None:
    space = CellSpace()
    params, macs = cost_arrays(space, "nb201")
    expected_params, expected_macs = _closed_form_nb201(space)
    np.testing.assert_array_equal(params, expected_params)
    np.testing.assert_array_equal(macs, expected_macs)
    # NAS-Bench-201 reports only 28 distinct (FLOPs, params) pairs over its 15,625 cells.
    assert len(set(zip(params.tolist(), macs.tolist(), strict=True))) == 28


@pytest.mark.parametrize(
    ("space_name", "preset"), [("nb201", "nb201"), ("nb201", "tiny"), ("nb201-7op", "cpu-small")]
)
def test_vectorised_cost_matches_built_networks(space_name: str, preset: str) -> None:
    space = get_space(space_name)
    indices = np.random.default_rng(7).choice(space.size, size=12, replace=False)
    params, macs = cost_arrays(space, preset, indices)
    config = get_model_config(preset)
    for k, index in enumerate(indices):
        model = build_model(int(index), config, space)
        counted = count_cost(model, (config.input_channels, config.resolution, config.resolution))
        assert counted == (params[k], macs[k])


def test_members_of_one_class_can_differ_in_cost() -> None:
    """A conv on an edge that cannot reach the output still has weights."""
    space = CellSpace()
    dead_conv = "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
    dead_none = "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
    assert space.canonical(dead_conv) == space.canonical(dead_none)
    assert arch_cost(dead_conv, "nb201")[0] > arch_cost(dead_none, "nb201")[0]


def test_skeleton_structure() -> None:
    model = build_model(ALL_CONV3, "nb201")
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(conv.bias is None for conv in convs)
    assert model.stem[0].kernel_size == (3, 3) and model.stem[0].out_channels == 16
    assert len(model.cells) == 3 * 5 + 2
    assert model.classifier.in_features == 64 and model.classifier.out_features == 10
    pools = [m for m in model.modules() if isinstance(m, torch.nn.AvgPool2d) and m.kernel_size == 3]
    assert pools == []
    pool_model = build_model("|avg_pool_3x3~0|+|none~0|none~1|+|none~0|none~1|avg_pool_3x3~2|", "tiny")
    pools = [m for m in pool_model.modules() if isinstance(m, torch.nn.AvgPool2d) and m.kernel_size == 3]
    assert pools and all(not p.count_include_pad and p.stride == 1 and p.padding == 1 for p in pools)


@pytest.mark.parametrize("preset", sorted(MODEL_PRESETS))
def test_forward_shape(preset: str) -> None:
    config = MODEL_PRESETS[preset]
    model = build_model(ALL_CONV3, config, seed=0)
    logits = model(torch.randn(2, config.input_channels, config.resolution, config.resolution))
    assert logits.shape == (2, config.num_classes)


def test_all_none_cell_outputs_zero() -> None:
    model = build_model(ALL_NONE, "tiny", seed=0)
    cell = model.cells[0]
    out = cell(torch.randn(2, 4, 8, 8))
    assert torch.count_nonzero(out) == 0


def test_seeded_build_is_reproducible_and_leaves_global_rng_alone() -> None:
    state = torch.random.get_rng_state()
    a = build_model(ALL_CONV3, "tiny", seed=3)
    b = build_model(ALL_CONV3, "tiny", seed=3)
    c = build_model(ALL_CONV3, "tiny", seed=4)
    assert torch.equal(torch.random.get_rng_state(), state)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert not all(torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters(), strict=True))


def test_bad_input() -> None:
    with pytest.raises(ConfigError, match="unknown model preset 'nope'"):
        get_model_config("nope")
    with pytest.raises(ConfigError, match="width"):
        MacroConfig(width=0)
    with pytest.raises(ArchitectureError, match="conv_7x7"):
        build_model("|conv_7x7~0|+|none~0|none~1|+|none~0|none~1|none~2|", "tiny")
    odd = CellSpace(ops=("none", "skip_connect", "mystery_op"))
    with pytest.raises(ArchitectureError, match="mystery_op"):
        build_model("|mystery_op~0|+|none~0|none~1|+|none~0|none~1|none~2|", "tiny", odd)
    with pytest.raises(ArchitectureError, match="mystery_op"):
        cost_arrays(odd, "tiny")

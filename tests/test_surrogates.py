"""Surrogates: registry, encodings, input checks, safe artifacts, and behaviour that the
conformance suite does not pin down (uncertainty, the ensemble's noise model, learning
curve extrapolation, torch hygiene)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.stats import kendalltau

from nasbench.core.errors import ArchitectureError, ConfigError
from nasbench.core.space import CellSpace, get_space
from nasbench.core.validation import check_float
from nasbench.prediction import (
    ArtifactError,
    NotFittedError,
    Surrogate,
    create_surrogate,
    encode_archs,
    encode_graphs,
    get_surrogate_class,
    list_surrogates,
    load_surrogate,
    register_surrogate,
    surrogate_info,
)
from nasbench.prediction.registry import surrogate_registry
from nasbench.testing import synthetic_table

BUILT_INS = ("ensemble", "gin", "gp", "lc-extrapolation", "mlp-ensemble", "rf", "xgb")
SPACE = get_space("nb201")


@pytest.fixture
def scoped_surrogates() -> Iterator[None]:
    """Surrogates registered inside the test are gone after it."""
    with surrogate_registry.scoped():
        yield


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Seed-mean final val_acc and curves of a 12-epoch synthetic table, split in two."""
    table = synthetic_table(tmp_path_factory.mktemp("surrogates") / "synthetic.h5", num_epochs=12)
    order = np.random.default_rng(7).permutation(table.num_unique)
    train, test = order[:400], order[400:1400]
    curves = np.nanmean(table.raw("val_acc").astype(np.float64), axis=1)
    y = table.class_metric("val_acc")
    return {
        "train": table.unique[train],
        "test": table.unique[test],
        "y_train": y[train],
        "y_test": y[test],
        "curves_train": curves[train],
        "curves_test": curves[test],
    }


def _fast_xgb(**kw: Any) -> Surrogate:
    return create_surrogate("xgb", n_estimators=60, learning_rate=0.2, **kw)


# --------------------------------------------------------------------- registry
def test_built_ins_are_registered_through_entry_points() -> None:
    assert set(BUILT_INS) <= set(list_surrogates())
    assert list_surrogates("*-ensemble") == ["mlp-ensemble"]
    assert list_surrogates(kind="learning-curve") == ["lc-extrapolation"]
    assert "xgb" in list_surrogates(kind="architecture")
    info = surrogate_info("xgb")
    assert info.source.startswith("entry point of") and info.kind == "architecture" and not info.has_std
    assert surrogate_info("gp").has_std
    json.dumps(info.to_dict())


def test_unknown_names_suggest_the_closest() -> None:
    with pytest.raises(ConfigError, match="did you mean 'xgb'"):
        create_surrogate("xgbb")
    with pytest.raises(ConfigError, match="no hyperparameter 'n_estimator'; did you mean 'n_estimators'"):
        create_surrogate("xgb", n_estimator=10)
    with pytest.raises(ConfigError, match="unknown surrogate kind"):
        list_surrogates(kind="oracle")


def test_register_decorator_and_a_plugin_round_trip(scoped_surrogates: None, tmp_path: Path) -> None:

    @register_surrogate("mean-of-ops")
    class MeanOfOps(Surrogate):
        """Least squares on the one-hot encoding, a plugin in a dozen lines."""

        def __init__(self, *, ridge: float = 1e-3, space: Any = "nb201", seed: int = 0) -> None:
            super().__init__(space=space, seed=seed)
            self.ridge = ridge
            check_float(self, "ridge", ridge, 0.0, None)

        def _fit(self, indices: np.ndarray, y: np.ndarray) -> None:
            x = encode_archs(self.space_, indices, "onehot").astype(np.float64)
            self.coef_ = np.linalg.solve(x.T @ x + self.ridge * np.eye(x.shape[1]), x.T @ y)

        def _predict(self, indices: np.ndarray, return_std: bool) -> tuple[np.ndarray, None]:
            return encode_archs(self.space_, indices, "onehot") @ self.coef_, None

        def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
            return {}, {"coef": self.coef_}

        def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
            self.coef_ = arrays["coef"]

    assert get_surrogate_class("mean-of-ops") is MeanOfOps
    assert "mean-of-ops" in list_surrogates("mean-*")
    indices = np.arange(0, SPACE.size, 101)
    model = create_surrogate("mean-of-ops").fit(indices, np.sin(indices / 999.0))
    model.save(tmp_path / "plugin.nbs")
    np.testing.assert_array_equal(
        load_surrogate(tmp_path / "plugin.nbs").predict(indices), model.predict(indices)
    )
    with pytest.raises(ConfigError, match="not a Surrogate subclass"):
        register_surrogate("bad")(object)  # type: ignore[arg-type]


# --------------------------------------------------------------------- encodings and inputs
# Plain per-architecture loops, written from the definitions (nasbench.core.encodings), that
# the vectorised encodings must reproduce.
def _reference_onehot(space: CellSpace, arch: Any) -> np.ndarray:
    out = np.zeros((space.num_edges, space.num_ops), dtype=np.float32)
    for k, op in enumerate(space.op_indices(arch)):
        out[k, op] = 1.0
    return out.reshape(-1)


def _reference_path(space: CellSpace, arch: Any) -> np.ndarray:
    letter = {k: pos for pos, k in enumerate(k for k, op in enumerate(space.ops) if op != space.zero_op)}
    base = len(letter)
    offsets = np.cumsum([0] + [base**length for length in range(1, space.num_nodes)])
    edge = {pair: k for k, pair in enumerate(space.edges)}
    ops = space.op_indices(arch)
    out = np.zeros(space.path_encoding_size, dtype=np.float32)

    def walk(node: int, code: int, length: int) -> None:
        if node == space.num_nodes - 1:
            out[offsets[length - 1] + code] = 1.0
            return
        for nxt in range(node + 1, space.num_nodes):
            op = ops[edge[node, nxt]]
            if op in letter:
                walk(nxt, code * base + letter[op], length + 1)

    walk(0, 0, 0)
    return out


def _reference_graph(space: CellSpace, arch: Any) -> tuple[np.ndarray, np.ndarray]:
    ops = space.op_indices(arch)
    vertices = space.num_edges + 2
    live = [space.ops[op] != space.zero_op for op in ops]
    adjacency = np.zeros((vertices, vertices), dtype=np.uint8)
    labels = np.zeros((vertices, space.num_ops + 2), dtype=np.float32)
    labels[0, space.num_ops] = labels[-1, space.num_ops + 1] = 1.0
    for k, (i, j) in enumerate(space.edges):
        labels[k + 1, ops[k]] = 1.0
        if not live[k]:
            continue
        if i == 0:
            adjacency[0, k + 1] = 1
        for m, (_, j2) in enumerate(space.edges):
            if live[m] and j2 == i:
                adjacency[m + 1, k + 1] = 1
        if j == space.num_nodes - 1:
            adjacency[k + 1, -1] = 1
    return adjacency, labels


@pytest.mark.parametrize(
    "space",
    [get_space("nb201"), get_space("nb201-7op"), CellSpace(zero_op=None), CellSpace(num_nodes=5)],
    ids=["nb201", "nb201-7op", "no-zero-op", "5-nodes"],
)
def test_encodings_follow_their_definitions(space: CellSpace) -> None:
    indices = np.random.default_rng(3).integers(0, space.size, 150)
    archs = [space.from_index(int(i)) for i in indices]
    onehot = np.stack([_reference_onehot(space, a) for a in archs])
    path = np.stack([_reference_path(space, a) for a in archs])
    np.testing.assert_array_equal(encode_archs(space, indices, "onehot"), onehot)
    np.testing.assert_array_equal(space.encode_onehot(archs), onehot)
    np.testing.assert_array_equal(encode_archs(space, indices, "path"), path)
    np.testing.assert_array_equal(space.encode_path([str(a) for a in archs]), path)
    adjacency, labels = encode_graphs(space, indices)
    assert adjacency.dtype == np.uint8 and labels.dtype == np.float32
    for k, arch in enumerate(archs):
        expected_adjacency, expected_labels = _reference_graph(space, arch)
        np.testing.assert_array_equal(adjacency[k], expected_adjacency)
        np.testing.assert_array_equal(labels[k], expected_labels)
        single_adjacency, single_labels = space.encode_adjacency(arch)
        np.testing.assert_array_equal(single_adjacency, expected_adjacency)
        np.testing.assert_array_equal(single_labels, expected_labels)
    flat = encode_archs(space, indices, "adjacency")
    vertices = space.num_edges + 2
    assert flat.shape == (indices.size, vertices * (vertices - 1) // 2 + space.num_edges * space.num_ops)
    upper = np.triu_indices(vertices, k=1)
    np.testing.assert_array_equal(flat[:, : upper[0].size], adjacency[:, upper[0], upper[1]])
    np.testing.assert_array_equal(flat[:, upper[0].size :], onehot)
    with pytest.raises(ConfigError, match="unknown encoding"):
        encode_archs(space, indices, "bag-of-words")


def test_the_public_api_imports_without_torch() -> None:
    script = textwrap.dedent(
        """
        import sys
        import nasbench.prediction as prediction
        from nasbench.prediction import Surrogate, create_surrogate, encode_archs, load_surrogate
        from nasbench.prediction import read_proxy_scores
        assert set(prediction.__all__) <= set(dir(prediction))
        print("torch" in sys.modules)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_bad_inputs_are_rejected_clearly() -> None:
    model = _fast_xgb()
    with pytest.raises(ConfigError, match="one value per architecture"):
        model.fit([1, 2, 3], [1.0, 2.0])
    with pytest.raises(ConfigError, match="finite"):
        model.fit([1, 2, 3], [1.0, np.nan, 2.0])
    with pytest.raises(ArchitectureError, match="out of range"):
        model.fit(np.array([1, SPACE.size]), [1.0, 2.0])
    with pytest.raises(ArchitectureError, match="sequence"):
        model.fit(str(SPACE.from_index(5)), [1.0])
    with pytest.raises(NotFittedError):
        model.predict([0])
    model.fit(np.arange(40), np.arange(40.0))
    with pytest.raises(ArchitectureError):
        model.predict(["|bogus~0|"])
    with pytest.raises(ConfigError, match="standard deviation"):
        model.predict([0], return_std=True)


def test_space_given_at_fit_overrides_the_hyperparameter() -> None:
    wide = get_space("nb201-7op")
    indices = np.random.default_rng(0).choice(wide.size, 200, replace=False)
    y = encode_archs(wide, indices, "onehot") @ np.linspace(0, 1, wide.num_edges * wide.num_ops)
    model = _fast_xgb().fit(indices, y, space="nb201-7op")
    assert model.space == "nb201" and model.space_ == wide
    assert model.predict([wide.from_index(wide.size - 1)]).shape == (1,)
    with pytest.raises(ConfigError, match="space"):
        create_surrogate("xgb", space="nb999")


# --------------------------------------------------------------------- parameters
def test_set_params_validates_and_drops_the_fit(data: dict[str, Any]) -> None:
    model = _fast_xgb(seed=1).fit(data["train"], data["y_train"])
    before = model.predict(data["test"])
    with pytest.raises(ConfigError, match=r"max_depth must be in 1\.\.64"):
        model.set_params(max_depth=0)
    with pytest.raises(ConfigError, match="unknown hyperparameter 'depth'"):
        model.set_params(depth=3)
    np.testing.assert_array_equal(model.predict(data["test"]), before)  # a refused change changes nothing
    assert model.set_params(max_depth=2) is model
    assert model.max_depth == 2 and not model.is_fitted
    with pytest.raises(NotFittedError):
        model.predict(data["test"])


def test_a_refit_after_set_params_uses_the_new_value(data: dict[str, Any]) -> None:
    model = _fast_xgb(seed=1).set_params(max_depth=2).fit(data["train"], data["y_train"])
    direct = _fast_xgb(seed=1, max_depth=2).fit(data["train"], data["y_train"])
    default = _fast_xgb(seed=1).fit(data["train"], data["y_train"])
    np.testing.assert_array_equal(model.predict(data["test"]), direct.predict(data["test"]))
    assert not np.array_equal(model.predict(data["test"]), default.predict(data["test"]))
    assert model.booster_.save_config() == direct.booster_.save_config()


def test_clone_is_unfitted_with_equal_params(data: dict[str, Any]) -> None:
    model = create_surrogate("ensemble", base_params={"n_estimators": 20}, n_members=2, seed=3)
    model.fit(data["train"], data["y_train"])
    copy = model.clone()
    assert type(copy) is type(model) and copy is not model and not copy.is_fitted
    assert copy.get_params() == model.get_params() and repr(copy) == repr(model)
    np.testing.assert_array_equal(
        copy.fit(data["train"], data["y_train"]).predict(data["test"]), model.predict(data["test"])
    )


# --------------------------------------------------------------------- artifacts
def test_artifact_is_json_header_plus_npz_and_reproducible(tmp_path: Path) -> None:
    indices = np.arange(0, SPACE.size, 37)
    y = np.cos(indices / 500.0)
    first = _fast_xgb(seed=4).fit(indices, y).save(tmp_path / "a.nbs").read_bytes()
    second = _fast_xgb(seed=4).fit(indices, y).save(tmp_path / "b.nbs").read_bytes()
    assert first == second, "the same fit must save to the same bytes"
    header_line, payload = first.split(b"\n", 1)
    header = json.loads(header_line)
    assert header["format"] == "nasbench-surrogate" and header["surrogate"] == "xgb"
    assert header["hyperparameters"]["n_estimators"] == 60 and header["space"]["num_nodes"] == 4
    assert header["payload"]["bytes"] == len(payload) and len(header["sha256"]) == 64
    import io

    with np.load(io.BytesIO(payload), allow_pickle=False) as archive:
        model_json = json.loads(archive["xgboost_json"].tobytes())  # XGBoost's own JSON model
    assert "learner" in model_json


def test_tampered_and_truncated_artifacts_fail_with_one_error(tmp_path: Path) -> None:
    indices = np.arange(0, SPACE.size, 53)
    model = create_surrogate("rf", n_estimators=10).fit(indices, np.sin(indices / 300.0))
    path = model.save(tmp_path / "rf.nbs")
    raw = path.read_bytes()
    header_line, payload = raw.split(b"\n", 1)
    header = json.loads(header_line)
    header["hyperparameters"]["n_estimators"] = 11  # a header edit, payload untouched
    cases = {
        "truncated": raw[:-100],
        "cut-in-header": raw[:20],
        "payload-bit": raw[: len(raw) - 50] + bytes([raw[-50] ^ 0x10]) + raw[len(raw) - 49 :],
        "header-edit": json.dumps(header, sort_keys=True, separators=(",", ":")).encode() + b"\n" + payload,
        "not-an-artifact": b"\x80\x04\x95 a pickle, say",
        "empty": b"",
    }
    messages = {}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ArtifactError) as info:
            load_surrogate(tmp_path / name)
        messages[name] = str(info.value)
    assert "truncated" in messages["truncated"] and "checksum" in messages["payload-bit"]
    assert "checksum" in messages["header-edit"]
    with pytest.raises(ArtifactError, match="cannot read"):
        load_surrogate(tmp_path / "missing.nbs")
    header["version"] = 99
    (tmp_path / "future").write_bytes(json.dumps(header).encode() + b"\n" + payload)
    with pytest.raises(ArtifactError, match="version"):
        load_surrogate(tmp_path / "future")


# --------------------------------------------------------------------- uncertainty
def _far_split() -> tuple[np.ndarray, np.ndarray]:
    """Training cells use ops 0-2 only, far cells ops 3-4 only: every edge differs."""
    ops = SPACE.ops_array()
    near = np.flatnonzero(np.all(ops <= 2, axis=1))
    far = np.flatnonzero(np.all(ops >= 3, axis=1))
    return near, far


@pytest.mark.parametrize("name", ["gp", "rf"])
def test_std_grows_away_from_the_data(name: str) -> None:
    near, far = _far_split()
    train = np.random.default_rng(1).choice(near, 200, replace=False)
    y = encode_archs(SPACE, train, "onehot") @ np.random.default_rng(2).normal(size=30)
    model = create_surrogate(name, seed=3).fit(train, y)
    _, std_train = model.predict(train, return_std=True)
    _, std_far = model.predict(far, return_std=True)
    assert std_far.mean() > 2.0 * std_train.mean(), (std_train.mean(), std_far.mean())


def test_ensemble_noise_off_is_the_deterministic_member_mean(data: dict[str, Any]) -> None:
    model = create_surrogate("ensemble", base="xgb", base_params={"n_estimators": 60}, n_members=4, seed=5)
    model.fit(data["train"], data["y_train"])
    first, std = model.predict(data["test"], return_std=True)
    np.testing.assert_array_equal(model.predict(data["test"]), first)
    members = model.member_predictions(data["test"])
    assert members.shape == (4, data["test"].size)
    np.testing.assert_allclose(first, members.mean(axis=0))
    np.testing.assert_allclose(std, members.std(axis=0))
    assert np.all(std > 0), "bootstrap members must disagree somewhere"


def test_ensemble_noise_on_is_seeded_spread(data: dict[str, Any]) -> None:
    params = {"base": "xgb", "base_params": {"n_estimators": 60}, "n_members": 4, "seed": 5}
    quiet = create_surrogate("ensemble", **params).fit(data["train"], data["y_train"])
    mean, std = quiet.predict(data["test"], return_std=True)
    noisy = create_surrogate("ensemble", noise=True, **params).fit(data["train"], data["y_train"])
    twin = create_surrogate("ensemble", noise=True, **params).fit(data["train"], data["y_train"])
    draws = np.stack([noisy.predict(data["test"]) for _ in range(200)])
    np.testing.assert_array_equal(np.stack([twin.predict(data["test"]) for _ in range(200)]), draws)
    assert not np.array_equal(draws[0], draws[1]), "every call draws anew"
    z = (draws - mean) / std
    assert abs(z.mean()) < 0.05 and abs(z.std() - 1.0) < 0.05, "draws are mean + member std * N(0, 1)"
    other = create_surrogate("ensemble", noise=True, **{**params, "seed": 6}).fit(
        data["train"], data["y_train"]
    )
    assert not np.array_equal(other.predict(data["test"]), draws[0])
    np.testing.assert_array_equal(quiet.sample(data["test"], 11), quiet.sample(data["test"], 11))
    np.testing.assert_allclose(
        quiet.sample(data["test"], 11), mean + std * np.random.default_rng(11).standard_normal(mean.size)
    )


def test_ensemble_validates_its_base() -> None:
    with pytest.raises(ConfigError, match=r"base.*did you mean 'xgb'"):
        create_surrogate("ensemble", base="xgbb")
    with pytest.raises(ConfigError, match=r"base_params.*n_estimator"):
        create_surrogate("ensemble", base_params={"n_estimator": 5})
    with pytest.raises(ConfigError, match="base_params cannot set 'seed'"):
        create_surrogate("ensemble", base_params={"seed": 5})
    with pytest.raises(ConfigError, match="architecture surrogate"):
        create_surrogate("ensemble", base="lc-extrapolation")


# --------------------------------------------------------------------- learning curves
def test_lc_extrapolation_beats_the_last_observed_epoch(data: dict[str, Any]) -> None:
    model = create_surrogate("lc-extrapolation", observed_epochs=3, seed=0)
    model.fit(data["train"], data["y_train"], curves=data["curves_train"])
    partial = data["curves_test"][:, :3]
    predicted = model.predict(data["test"], curves=partial)
    last = partial[:, -1]
    error, baseline = np.abs(predicted - data["y_test"]).mean(), np.abs(last - data["y_test"]).mean()
    assert error < 0.5 * baseline, (error, baseline)
    tau, tau_last = kendalltau(predicted, data["y_test"])[0], kendalltau(last, data["y_test"])[0]
    assert tau > tau_last, (tau, tau_last)
    with pytest.raises(ConfigError, match="curves"):
        model.predict(data["test"], curves=partial[:, :2])
    with pytest.raises(ConfigError, match="curves"):
        create_surrogate("lc-extrapolation").fit(
            data["train"], data["y_train"], curves=data["curves_train"][:5]
        )


# --------------------------------------------------------------------- torch hygiene
def test_gin_leaves_torch_global_state_alone(data: dict[str, Any]) -> None:
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    state = torch.random.get_rng_state().clone()
    model = create_surrogate("gin", epochs=3, hidden=16, num_layers=2, seed=9)
    model.fit(data["train"][:100], data["y_train"][:100])
    model.predict(data["test"][:50])
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.random.get_rng_state(), state)

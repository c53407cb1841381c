"""Tree-ensemble surrogates: gradient-boosted trees (XGBoost) and a random forest.

NAS-Bench-301 (Siems et al., 2020; Zela et al., 2022) found gradient-boosted trees on a
flat encoding among the most accurate surrogates for cell spaces, and cheap to fit and
query; ``xgb`` is the default surrogate here for that reason. The random forest adds an
uncertainty estimate: the spread of its trees' predictions.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from nasbench.core.errors import ConfigError
from nasbench.core.space import CellSpace
from nasbench.core.validation import check_choice, check_float, check_int
from nasbench.prediction import ENCODINGS, Surrogate, encode_archs

__all__ = [
    "RandomForestSurrogate",
    "XGBoostSurrogate",
    "import_xgboost",
    "xgboost_booster",
    "xgboost_params",
]


def import_xgboost() -> Any:
    """The ``xgboost`` module, imported on first use (a ConfigError saying how to install it
    if it is missing); shared with the ``lc-extrapolation`` surrogate."""
    try:
        import xgboost
    except ImportError:  # pragma: no cover - xgboost is a core dependency
        raise ConfigError("the xgb surrogate needs xgboost: pip install 'xgboost>=2'") from None
    return xgboost


def xgboost_params(model: Any, seed: int) -> dict[str, Any]:
    """Booster parameters from a model's hyperparameters (shared with lc-extrapolation)."""
    return {
        "objective": "reg:squarederror",
        "tree_method": "hist",
        "eta": model.learning_rate,
        "max_depth": model.max_depth,
        "min_child_weight": model.min_child_weight,
        "subsample": model.subsample,
        "colsample_bytree": model.colsample_bytree,
        "lambda": model.reg_lambda,
        "nthread": model.n_jobs,
        "seed": seed,
        "verbosity": 0,
    }


def xgboost_booster(raw: np.ndarray, n_jobs: int) -> Any:
    """A booster from its JSON model bytes (as stored in an artifact)."""
    booster = import_xgboost().Booster()
    booster.load_model(bytearray(np.asarray(raw, dtype=np.uint8).tobytes()))
    booster.set_param({"nthread": n_jobs})
    return booster


def _check_boosting(model: Any) -> None:
    check_int(model, "n_estimators", model.n_estimators, low=1, high=100_000)
    check_float(model, "learning_rate", model.learning_rate, 0.0, 1.0, low_open=True)
    check_int(model, "max_depth", model.max_depth, low=1, high=64)
    check_float(model, "min_child_weight", model.min_child_weight, 0.0, None)
    check_float(model, "subsample", model.subsample, 0.0, 1.0, low_open=True)
    check_float(model, "colsample_bytree", model.colsample_bytree, 0.0, 1.0, low_open=True)
    check_float(model, "reg_lambda", model.reg_lambda, 0.0, None)
    check_int(model, "n_jobs", model.n_jobs, low=1, high=1024)


class XGBoostSurrogate(Surrogate):
    """Gradient-boosted regression trees (XGBoost) on a vector encoding; the default.

    Defaults were tuned by a seeded random search: 20 configurations (trees 200-800,
    learning rate 0.01-0.2 log-uniform, depth 3-10, min child weight 1-8, row and
    column subsampling 0.6-1 and 0.4-1, L2 1e-1-1e1 log-uniform), each fitted on 2 draws
    of 1,000 classes of :func:`nasbench.testing.synthetic_table` and scored by Kendall
    tau on the other 5,466 classes. They were then checked on the default table
    (``nasbench surrogate tune --table tables/nb201-fmnist-cpu.h5 --configs 20``: 19
    configurations drawn from :attr:`tuning_space` against these, 1,000 classes per fit,
    draws 100 and 101): these defaults kept the best median Kendall tau, 0.686 (the best
    drawn configuration 0.682), with about 0.2 s of CPU per fit.

    Targets are centred before boosting. No standard deviation (``has_std`` is False);
    the ``ensemble`` surrogate gives one. Saved as XGBoost's own JSON model.
    """

    has_std = False
    tuning_space: ClassVar[dict[str, tuple[Any, ...]]] = {
        "encoding": ("choice", "onehot", "adjacency", "path"),
        "n_estimators": ("int", 200, 1500),
        "learning_rate": ("log", 0.01, 0.2),
        "max_depth": ("int", 3, 10),
        "min_child_weight": ("float", 1.0, 10.0),
        "subsample": ("float", 0.5, 1.0),
        "colsample_bytree": ("float", 0.3, 1.0),
        "reg_lambda": ("log", 0.1, 10.0),
    }

    def __init__(
        self,
        *,
        encoding: str = "onehot",
        n_estimators: int = 400,
        learning_rate: float = 0.0277,
        max_depth: int = 5,
        min_child_weight: float = 4.0,
        subsample: float = 0.74,
        colsample_bytree: float = 0.4,
        reg_lambda: float = 1.808,
        n_jobs: int = 2,
        space: CellSpace | str = "nb201",
        seed: int = 0,
    ) -> None:
        super().__init__(space=space, seed=seed)
        self.encoding = encoding
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_child_weight = min_child_weight
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.n_jobs = n_jobs
        check_choice(self, "encoding", encoding, ENCODINGS)
        _check_boosting(self)

    def _fit(self, indices: np.ndarray, y: np.ndarray) -> None:
        xgboost = import_xgboost()
        features = encode_archs(self.space_, indices, self.encoding)
        self.y_offset_ = float(np.mean(y))
        data = xgboost.DMatrix(features, label=y - self.y_offset_, nthread=self.n_jobs)
        seed = int(np.random.default_rng(self.seed).integers(2**31 - 1))
        self.booster_ = xgboost.train(xgboost_params(self, seed), data, num_boost_round=self.n_estimators)

    def _predict(self, indices: np.ndarray, return_std: bool) -> tuple[np.ndarray, np.ndarray | None]:
        features = encode_archs(self.space_, indices, self.encoding)
        raw = self.booster_.inplace_predict(features)
        return np.asarray(raw, dtype=np.float64) + self.y_offset_, None

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        model = np.frombuffer(bytes(self.booster_.save_raw(raw_format="json")), dtype=np.uint8)
        return {"y_offset": self.y_offset_}, {"xgboost_json": model}

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.y_offset_ = float(state["y_offset"])
        self.booster_ = xgboost_booster(arrays["xgboost_json"], self.n_jobs)


class RandomForestSurrogate(Surrogate):
    """Random forest (scikit-learn) on a vector encoding; std is the spread of its trees.

    The fitted trees are copied into flat numpy arrays and evaluated by this module, so
    an artifact is plain arrays and a loaded forest predicts exactly what the fitted one
    did. The standard deviation is that of the per-tree predictions: small where the
    bootstrap samples agree (near training points), larger where trees disagree.
    """

    has_std = True

    def __init__(
        self,
        *,
        encoding: str = "onehot",
        n_estimators: int = 100,
        max_features: float = 0.5,
        min_samples_leaf: int = 1,
        n_jobs: int = 2,
        space: CellSpace | str = "nb201",
        seed: int = 0,
    ) -> None:
        super().__init__(space=space, seed=seed)
        self.encoding = encoding
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf
        self.n_jobs = n_jobs
        check_choice(self, "encoding", encoding, ENCODINGS)
        check_int(self, "n_estimators", n_estimators, low=1, high=10_000)
        check_float(self, "max_features", max_features, 0.0, 1.0, low_open=True)
        check_int(self, "min_samples_leaf", min_samples_leaf, low=1)
        check_int(self, "n_jobs", n_jobs, low=1, high=1024)

    def _fit(self, indices: np.ndarray, y: np.ndarray) -> None:
        from sklearn.ensemble import RandomForestRegressor

        features = encode_archs(self.space_, indices, self.encoding)
        forest = RandomForestRegressor(
            n_estimators=self.n_estimators,
            max_features=self.max_features,
            min_samples_leaf=self.min_samples_leaf,
            n_jobs=self.n_jobs,
            random_state=int(np.random.default_rng(self.seed).integers(2**31 - 1)),
        )
        forest.fit(features, y)
        roots, feature, threshold, left, right, value = [], [], [], [], [], []
        offset = 0
        for estimator in forest.estimators_:
            tree = estimator.tree_
            roots.append(offset)
            leaf = tree.children_left < 0
            feature.append(np.where(leaf, 0, tree.feature).astype(np.int32))
            threshold.append(tree.threshold.astype(np.float64))
            left.append(np.where(leaf, -1, tree.children_left + offset).astype(np.int64))
            right.append(np.where(leaf, -1, tree.children_right + offset).astype(np.int64))
            value.append(tree.value.reshape(-1).astype(np.float64))
            offset += tree.node_count
        self.tree_roots_ = np.asarray(roots, dtype=np.int64)
        self.node_feature_ = np.concatenate(feature)
        self.node_threshold_ = np.concatenate(threshold)
        self.node_left_ = np.concatenate(left)
        self.node_right_ = np.concatenate(right)
        self.node_value_ = np.concatenate(value)

    def _tree_predictions(self, indices: np.ndarray) -> np.ndarray:
        features = encode_archs(self.space_, indices, self.encoding)
        n = features.shape[0]
        node = np.repeat(self.tree_roots_[:, None], n, axis=1)
        columns = np.arange(n)[None, :]
        active = np.ones(node.shape, dtype=bool)
        while True:
            active &= self.node_left_[node] >= 0
            if not active.any():
                break
            go_left = features[columns, self.node_feature_[node]] <= self.node_threshold_[node]
            step = np.where(go_left, self.node_left_[node], self.node_right_[node])
            node = np.where(active, step, node)
        return self.node_value_[node]

    def _predict(self, indices: np.ndarray, return_std: bool) -> tuple[np.ndarray, np.ndarray | None]:
        trees = self._tree_predictions(indices)
        return trees.mean(axis=0), (trees.std(axis=0) if return_std else None)

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        names = (
            "tree_roots_",
            "node_feature_",
            "node_threshold_",
            "node_left_",
            "node_right_",
            "node_value_",
        )
        return {}, {name.rstrip("_"): getattr(self, name) for name in names}

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        nodes = arrays["node_value"].shape[0]
        for name in ("node_feature", "node_threshold", "node_left", "node_right"):
            if arrays[name].shape != (nodes,):
                raise ConfigError(f"forest array {name} has the wrong shape")
        if np.any(arrays["node_left"] >= nodes) or np.any(arrays["node_right"] >= nodes):
            raise ConfigError("forest node links point outside the forest")
        for name in ("tree_roots", "node_feature", "node_threshold", "node_left", "node_right", "node_value"):
            setattr(self, f"{name}_", arrays[name])

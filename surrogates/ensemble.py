"""An ensemble of any architecture surrogate, with a NAS-Bench-301-style noise model.

NAS-Bench-301 (Siems et al., 2020; Zela et al., 2022) answers a query with an
ensemble's mean and, when noise is wanted, adds the ensemble members' spread, so that a
surrogate benchmark is as noisy as training the network again would be. This wrapper
fits ``n_members`` copies of a base surrogate, each with its own seed and (by default)
its own bootstrap sample of the training set, and gives their mean and standard
deviation. With ``noise=True``, :meth:`predict` returns one draw ``mean + std * z`` with
``z`` standard normal from a generator seeded at fit time; :meth:`sample` draws with a
generator the caller passes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nasbench.core.errors import ConfigError
from nasbench.core.space import CellSpace
from nasbench.core.validation import Instance, check_bool, check_int, owner_label, validate
from nasbench.prediction import Surrogate, as_indices, create_surrogate, get_surrogate_class

__all__ = ["EnsembleSurrogate"]


class EnsembleSurrogate(Surrogate):
    """Bagged copies of a base surrogate; mean and member spread, noise on or off explicitly.

    ``base`` names any architecture surrogate (``xgb`` by default) and ``base_params``
    its hyperparameters (``space`` and ``seed`` are the ensemble's to set). Member seeds
    and bootstrap samples come from ``seed``. ``noise=False``: :meth:`predict` is the
    deterministic ensemble mean. ``noise=True``: every call draws fresh noise from a
    generator made at fit time (and restored exactly by :func:`load_surrogate`), so a
    fitted model replays the same sequence of draws. ``predict(..., return_std=True)``
    always returns the member spread as std.
    """

    has_std = True

    def __init__(
        self,
        *,
        base: str = "xgb",
        n_members: int = 5,
        base_params: dict[str, Any] | None = None,
        bootstrap: bool = True,
        noise: bool = False,
        space: CellSpace | str = "nb201",
        seed: int = 0,
    ) -> None:
        super().__init__(space=space, seed=seed)
        self.base = base
        self.n_members = n_members
        self.base_params = base_params
        self.bootstrap = bootstrap
        self.noise = noise
        check_int(self, "n_members", n_members, low=2, high=1000)
        check_bool(self, "bootstrap", bootstrap)
        check_bool(self, "noise", noise)
        validate(self, "base", base, Instance((str,), "a surrogate name"))
        label = owner_label(self)
        try:
            base_class = get_surrogate_class(base)
        except ConfigError as exc:
            raise ConfigError(f"{label}: base: {exc}") from None
        if base_class.kind != "architecture":
            raise ConfigError(
                f"{label}: base must be an architecture surrogate, {base!r} is {base_class.kind!r}"
            )
        if base_params is not None and not (
            isinstance(base_params, dict) and all(isinstance(k, str) for k in base_params)
        ):
            raise ConfigError(
                f"{label}: base_params must be a dict of hyperparameters or None, got {base_params!r}"
            )
        for reserved in ("space", "seed"):
            if reserved in (base_params or {}):
                raise ConfigError(f"{label}: base_params cannot set {reserved!r}; the ensemble sets it")
        try:
            create_surrogate(base, space=space, **(base_params or {}))
        except ConfigError as exc:
            raise ConfigError(f"{label}: base_params: {exc}") from None

    def _member(self, seed: int) -> Surrogate:
        return create_surrogate(self.base, space=self.space_, seed=seed, **(self.base_params or {}))

    def _fit(self, indices: np.ndarray, y: np.ndarray) -> None:
        rng = np.random.default_rng(self.seed)
        seeds = rng.integers(0, 2**31 - 1, size=self.n_members)
        n = indices.shape[0]
        members = []
        for member_seed in seeds.tolist():
            rows = rng.integers(0, n, size=n) if self.bootstrap else np.arange(n)
            if np.unique(indices[rows]).size < 2:  # degenerate resample of a tiny set
                rows = np.arange(n)
            members.append(self._member(member_seed).fit(indices[rows], y[rows], space=self.space_))
        self.member_seeds_ = seeds
        self.members_ = members
        self.noise_rng_ = np.random.default_rng(rng.integers(0, 2**63 - 1))

    def member_predictions(self, archs: Any) -> np.ndarray:
        """float64 [n_members, n]: every member's prediction."""
        self._check_fitted()
        return self._members(as_indices(self.space_, archs))

    def _members(self, indices: np.ndarray) -> np.ndarray:
        return np.stack([member.predict(indices) for member in self.members_])

    def sample(self, archs: Any, rng: np.random.Generator | int) -> np.ndarray:
        """float64 [n]: one noisy draw ``mean + std * z`` per architecture, ``z`` from ``rng``
        (a Generator or a seed), whatever ``noise`` says."""
        self._check_fitted()
        generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        members = self._members(as_indices(self.space_, archs))
        return members.mean(axis=0) + members.std(axis=0) * generator.standard_normal(members.shape[1])

    def _predict(self, indices: np.ndarray, return_std: bool) -> tuple[np.ndarray, np.ndarray | None]:
        members = self._members(indices)
        mean, std = members.mean(axis=0), members.std(axis=0)
        if self.noise:
            mean = mean + std * self.noise_rng_.standard_normal(mean.shape[0])
        return mean, (std if return_std else None)

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        states, arrays = [], {"member_seeds": self.member_seeds_}
        for k, member in enumerate(self.members_):
            state, member_arrays = member._get_state()
            states.append(state)
            arrays.update({f"member{k}/{key}": value for key, value in member_arrays.items()})
        return {"members": states, "noise_rng": self.noise_rng_.bit_generator.state}, arrays

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        seeds = np.asarray(arrays["member_seeds"], dtype=np.int64)
        if seeds.shape != (self.n_members,) or len(state["members"]) != self.n_members:
            raise ConfigError("ensemble artifact holds a different number of members")
        members = []
        for k, member_seed in enumerate(seeds.tolist()):
            member = self._member(member_seed)
            prefix = f"member{k}/"
            member.space_ = self.space_
            member._set_state(
                state["members"][k],
                {key[len(prefix) :]: v for key, v in arrays.items() if key.startswith(prefix)},
            )
            members.append(member)
        generator_state = state["noise_rng"]
        if generator_state.get("bit_generator") != "PCG64":
            raise ConfigError("ensemble noise generator must be PCG64")
        generator = np.random.Generator(np.random.PCG64())
        generator.bit_generator.state = generator_state
        self.member_seeds_ = seeds
        self.members_ = members
        self.noise_rng_ = generator

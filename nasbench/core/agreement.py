"""Agreement arithmetic shared by the fidelity study and the reports that show it."""

from __future__ import annotations

from nasbench.core.errors import ConfigError

__all__ = ["seed_mean_spearman"]


def seed_mean_spearman(single_seed: float, seeds: int) -> float:
    """Spearman-Brown: expected agreement of a k-seed mean, given single-seed agreement."""
    if seeds < 1:
        raise ConfigError(f"seeds must be >= 1, got {seeds}")
    return seeds * single_seed / (1.0 + (seeds - 1) * single_seed)

"""Pareto fronts of (cost to minimise, accuracy to maximise) and related measures.

One home for the multi-objective arithmetic the runner (the front of one run), the
report (fronts and hypervolume per strategy) and NSGA-II (non-dominated sorting and
crowding distance) share.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["crowding_distance", "hypervolume", "non_dominated_fronts", "pareto_front"]


def pareto_front(costs: np.ndarray, accuracies: np.ndarray, *, ties: bool = False) -> np.ndarray:
    """Positions of the non-dominated points (minimise cost, maximise accuracy), by
    increasing cost.

    A point is kept if its accuracy is strictly above that of every cheaper point and
    the best among points of its own cost. Points equal in both cost and accuracy are
    all kept with ``ties`` (in position order), else only the first. NaN never enters
    a front.
    """
    costs = np.asarray(costs, dtype=np.float64)
    accuracies = np.asarray(accuracies, dtype=np.float64)
    usable = np.flatnonzero(~(np.isnan(costs) | np.isnan(accuracies)))
    order = usable[np.lexsort((-accuracies[usable], costs[usable]))]
    keep: list[int] = []
    best = -math.inf
    position = 0
    while position < order.shape[0]:
        cost = costs[order[position]]
        top = accuracies[order[position]]
        end = position
        while end < order.shape[0] and costs[order[end]] == cost:
            end += 1
        if top > best:
            members = [int(i) for i in order[position:end] if accuracies[i] == top]
            keep.extend(members if ties else members[:1])
            best = top
        position = end
    return np.asarray(keep, dtype=np.int64)


def hypervolume(costs: np.ndarray, accuracies: np.ndarray, reference: tuple[float, float]) -> float:
    """Area dominated by the points up to the reference (worst cost, worst accuracy) corner."""
    costs = np.asarray(costs, dtype=np.float64)
    accuracies = np.asarray(accuracies, dtype=np.float64)
    reference_cost, reference_accuracy = reference
    front = pareto_front(costs, accuracies)
    area = 0.0
    for position, index in enumerate(front):
        right = costs[front[position + 1]] if position + 1 < len(front) else reference_cost
        right = min(right, reference_cost)  # nothing beyond the reference counts
        area += max(0.0, right - costs[index]) * max(0.0, accuracies[index] - reference_accuracy)
    return float(area)


def non_dominated_fronts(objectives: np.ndarray) -> list[np.ndarray]:
    """Fast non-dominated sorting of the rows of ``objectives`` (every column minimised):
    the positions of the first front, then the second, ... (Deb et al., 2002)."""
    values = np.asarray(objectives, dtype=np.float64)
    if values.shape[0] == 0:
        return []
    no_worse = np.all(values[:, None, :] <= values[None, :, :], axis=2)
    better = np.any(values[:, None, :] < values[None, :, :], axis=2)
    dominates = no_worse & better  # [i, j]: i dominates j
    dominated_by = dominates.sum(axis=0)
    fronts = []
    current = np.flatnonzero(dominated_by == 0)
    while current.size:
        fronts.append(current)
        dominated_by = dominated_by - dominates[current].sum(axis=0)
        dominated_by[current] = -1
        current = np.flatnonzero(dominated_by == 0)
    return fronts


def crowding_distance(objectives: np.ndarray) -> np.ndarray:
    """Crowding distance of every row of one front: the normalised perimeter of the
    cuboid its neighbours span along each objective; boundary points get infinity."""
    values = np.asarray(objectives, dtype=np.float64)
    n, m = values.shape
    distance = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for k in range(m):
        order = np.argsort(values[:, k], kind="stable")
        column = values[order, k]
        span = column[-1] - column[0]
        distance[order[0]] = distance[order[-1]] = np.inf
        if span > 0:
            distance[order[1:-1]] += (column[2:] - column[:-2]) / span
    return distance

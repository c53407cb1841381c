"""Architectures as arrays for learners: indices, one-hot, BANANAS paths and cell graphs.

The one place where a cell becomes numbers. Every encoding is computed from op-index rows
(int [n, num_edges], as :meth:`~nasbench.core.space.CellSpace.ops_array` returns them),
vectorised, so the whole NAS-Bench-201 space encodes in milliseconds; the space's
``encode_*`` methods and every surrogate call these functions.

- ``onehot``: float32 [n, num_edges * num_ops], one op per edge.
- ``path``: float32 [n, path_encoding_size], BANANAS' path encoding (White et al., 2021):
  one binary feature per sequence of ops along an input-to-output path, 1 when some path
  of the cell carries it; paths through the zero op carry nothing and are left out.
- graphs (:func:`encode_graphs`): the op-on-node graph, for graph learners. Vertices are
  the cell input, one vertex per edge (carrying its op) and the cell output; edge vertex
  ``i->j`` receives from every edge vertex ending at ``i`` (or the input when ``i == 0``)
  and feeds every edge vertex leaving ``j`` (or the output when ``j`` is the last node).
  Vertices of the zero op are disconnected, since nothing flows through them.
- ``adjacency``: that graph flattened (strict upper triangle of the adjacency, since
  vertices are in topological order, then the op one-hot of every edge vertex).

Core module: numpy only, never torch and never another layer.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from nasbench.core.errors import ArchitectureError, ConfigError

if TYPE_CHECKING:
    from nasbench.core.space import Architecture, CellSpace

__all__ = [
    "ENCODINGS",
    "as_indices",
    "cell_paths",
    "encode_archs",
    "encode_graphs",
    "encode_ops",
    "encode_sequence",
    "graph_from_ops",
    "onehot_from_ops",
    "path_from_ops",
]

#: Vector encodings of a cell: one-hot op per edge; the op-on-node graph flattened
#: (upper triangle of the adjacency plus the op of every edge vertex); BANANAS paths.
ENCODINGS = ("onehot", "adjacency", "path")


def as_indices(space: CellSpace, archs: Any) -> np.ndarray:
    """int64 [n] space indices of a sequence of architectures in any form
    :meth:`CellSpace.arch` accepts (an integer array is checked without a Python loop)."""
    from nasbench.core.space import Architecture

    if isinstance(archs, (str, Architecture)):
        raise ArchitectureError("give a sequence of architectures, not a single one")
    if isinstance(archs, np.ndarray) and archs.dtype.kind in "iu":
        if archs.ndim != 1:
            raise ArchitectureError(f"architecture indices must be 1-D, got shape {archs.shape}")
        indices = archs.astype(np.int64)
        if indices.size and (indices.min() < 0 or indices.max() >= space.size):
            raise ArchitectureError(f"architecture index out of range [0, {space.size - 1}]")
        return indices
    if not isinstance(archs, (Sequence, np.ndarray)):
        raise ArchitectureError(
            "architectures must be a sequence (indices, strings or Architectures), "
            f"got {type(archs).__name__}"
        )
    return np.fromiter((space.index(a) for a in archs), dtype=np.int64, count=len(archs))


def _ops_rows(space: CellSpace, archs: Sequence[Any]) -> np.ndarray:
    """int64 [n, num_edges] op indices of architectures in any form (works for spaces
    whose indices would not fit in int64)."""
    rows = [space.op_indices(value) for value in archs]
    return np.asarray(rows, dtype=np.int64).reshape(len(rows), space.num_edges)


# --------------------------------------------------------------------- one-hot
def onehot_from_ops(space: CellSpace, ops: np.ndarray) -> np.ndarray:
    """float32 [n, num_edges * num_ops]: one-hot op per edge of op-index rows."""
    ops = np.asarray(ops, dtype=np.int64)
    n, edges = ops.shape
    out = np.zeros((n, edges, space.num_ops), dtype=np.float32)
    out[np.arange(n)[:, None], np.arange(edges)[None, :], ops] = 1.0
    return out.reshape(n, edges * space.num_ops)


# --------------------------------------------------------------------- paths
@functools.lru_cache(maxsize=16)
def cell_paths(space: CellSpace) -> tuple[tuple[int, ...], ...]:
    """Every input-to-output path of the cell as a tuple of edge positions."""
    edge_pos = {edge: k for k, edge in enumerate(space.edges)}
    last = space.num_nodes - 1
    paths: list[tuple[int, ...]] = []

    def walk(node: int, taken: tuple[int, ...]) -> None:
        if node == last:
            paths.append(taken)
            return
        for nxt in range(node + 1, space.num_nodes):
            walk(nxt, (*taken, edge_pos[node, nxt]))

    walk(0, ())
    return tuple(paths)


def path_from_ops(space: CellSpace, ops: np.ndarray) -> np.ndarray:
    """float32 [n, path_encoding_size]: BANANAS path encoding of op-index rows."""
    ops = np.asarray(ops, dtype=np.int64)
    letters = np.full(space.num_ops, -1, dtype=np.int64)
    alphabet = [k for k, op in enumerate(space.ops) if op != space.zero_op]
    letters[alphabet] = np.arange(len(alphabet))
    base = len(alphabet)
    offsets = [0]
    for length in range(1, space.num_nodes):
        offsets.append(offsets[-1] + base**length)
    out = np.zeros((ops.shape[0], space.path_encoding_size), dtype=np.float32)
    rows = np.arange(ops.shape[0])
    for path in cell_paths(space):
        letter = letters[ops[:, list(path)]]
        valid = np.all(letter >= 0, axis=1)
        code = np.zeros(ops.shape[0], dtype=np.int64)
        for position in range(len(path)):
            code = code * base + np.maximum(letter[:, position], 0)
        out[rows[valid], offsets[len(path) - 1] + code[valid]] = 1.0
    return out


# --------------------------------------------------------------------- graphs
@functools.lru_cache(maxsize=16)
def _graph_template(space: CellSpace) -> np.ndarray:
    """uint8 [V, V]: the op-on-node adjacency of a cell whose every op is live (read-only)."""
    edges = space.edges
    num_vertices = space.num_edges + 2
    last = space.num_nodes - 1
    template = np.zeros((num_vertices, num_vertices), dtype=np.uint8)
    for k, (i, j) in enumerate(edges):
        if i == 0:
            template[0, k + 1] = 1
        for m, (_, j2) in enumerate(edges):
            if j2 == i:
                template[m + 1, k + 1] = 1
        if j == last:
            template[k + 1, num_vertices - 1] = 1
    template.setflags(write=False)
    return template


def graph_from_ops(space: CellSpace, ops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Op-on-node graphs of op-index rows: uint8 adjacency [n, V, V] (row feeds column)
    and float32 vertex labels [n, V, num_ops + 2] (ops, then input and output)."""
    ops = np.asarray(ops, dtype=np.int64)
    n, edges = ops.shape
    num_vertices = edges + 2
    live = np.ones((n, num_vertices), dtype=np.uint8)
    if space.zero_op is not None:
        live[:, 1:-1] = ops != space.ops.index(space.zero_op)
    adjacency = _graph_template(space)[None, :, :] * live[:, :, None] * live[:, None, :]
    labels = np.zeros((n, num_vertices, space.num_ops + 2), dtype=np.float32)
    labels[np.arange(n)[:, None], np.arange(1, edges + 1)[None, :], ops] = 1.0
    labels[:, 0, space.num_ops] = 1.0
    labels[:, -1, space.num_ops + 1] = 1.0
    return adjacency.astype(np.uint8), labels


def encode_graphs(space: CellSpace, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`graph_from_ops` of space indices: adjacency [n, V, V], labels [n, V, num_ops + 2]."""
    return graph_from_ops(space, space.ops_array(np.asarray(indices, dtype=np.int64)))


# --------------------------------------------------------------------- vectors
def encode_ops(space: CellSpace, ops: np.ndarray, encoding: str) -> np.ndarray:
    """float32 [n, d]: a vector encoding (one of :data:`ENCODINGS`) of op-index rows."""
    if encoding == "onehot":
        return onehot_from_ops(space, ops)
    if encoding == "path":
        return path_from_ops(space, ops)
    if encoding == "adjacency":
        adjacency, labels = graph_from_ops(space, ops)
        upper = np.triu_indices(adjacency.shape[1], k=1)
        return np.concatenate(
            [
                adjacency[:, upper[0], upper[1]].astype(np.float32),
                labels[:, 1:-1, : space.num_ops].reshape(adjacency.shape[0], -1),
            ],
            axis=1,
        )
    raise ConfigError(f"unknown encoding {encoding!r} (known: {', '.join(ENCODINGS)})")


def encode_archs(space: CellSpace, indices: np.ndarray, encoding: str) -> np.ndarray:
    """float32 [n, d]: a vector encoding (one of :data:`ENCODINGS`) of space indices."""
    return encode_ops(space, space.ops_array(np.asarray(indices, dtype=np.int64)), encoding)


def encode_sequence(space: CellSpace, archs: Sequence[Architecture | Any], encoding: str) -> np.ndarray:
    """:func:`encode_ops` of architectures in any form :meth:`CellSpace.arch` accepts."""
    return encode_ops(space, _ops_rows(space, archs), encoding)

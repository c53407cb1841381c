"""Cell search spaces: architectures as values, their indices, strings, encodings and
canonical (isomorphism) classes.

The default space is the NAS-Bench-201 cell: ``num_nodes`` nodes, node 0 is the cell
input, node ``j`` sums one operation applied to every earlier node, and the last node is
the cell output. Each of the ``num_nodes * (num_nodes - 1) / 2`` edges carries one op.

An :class:`Architecture` is a frozen, hashable tuple of op names in edge order; it knows
nothing about models or tables. A :class:`CellSpace` maps architectures to integer
indices and back, enumerates, samples, encodes and canonicalises them.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from nasbench.core.errors import ArchitectureError, ConfigError

__all__ = [
    "NB201_OPS",
    "SPACE_PRESETS",
    "ArchLike",
    "Architecture",
    "CellSpace",
    "get_space",
]

NB201_OPS: tuple[str, ...] = (
    "none",
    "skip_connect",
    "nor_conv_1x1",
    "nor_conv_3x3",
    "avg_pool_3x3",
)

#: Largest space whose every member may be enumerated (canonical classes, encodings of
#: the whole space). Bigger spaces are for surrogates and sampling only.
MAX_ENUMERABLE_SIZE = 2_000_000

_OP_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TOKEN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)~([0-9]{1,6})")


def _edges(num_nodes: int) -> tuple[tuple[int, int], ...]:
    """Edges (source, target) in NAS-Bench-201 string order: by target, then source."""
    return tuple((i, j) for j in range(1, num_nodes) for i in range(j))


def _num_nodes_for(num_edges: int) -> int:
    """Node count n with n(n-1)/2 == num_edges, or raise."""
    n = 2
    while n * (n - 1) // 2 < num_edges:
        n += 1
    if n * (n - 1) // 2 != num_edges:
        raise ArchitectureError(f"{num_edges} ops cannot fill a cell: a cell of n nodes has n(n-1)/2 edges")
    return n


@dataclass(frozen=True, slots=True)
class Architecture:
    """One cell: the op name on every edge, in NAS-Bench-201 string order.

    ``Architecture.from_string("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|...|")`` parses
    the NAS-Bench-201 form and ``str(arch)`` prints it back exactly.
    """

    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.ops, tuple):
            raise ArchitectureError(f"ops must be a tuple of op names, got {type(self.ops).__name__}")
        if len(self.ops) == 0:
            raise ArchitectureError("an architecture needs at least one edge")
        for op in self.ops:
            if not isinstance(op, str) or not _OP_NAME.fullmatch(op):
                raise ArchitectureError(f"invalid op name {op!r}")
        _num_nodes_for(len(self.ops))

    @property
    def num_nodes(self) -> int:
        """Nodes in the cell, input and output included."""
        return _num_nodes_for(len(self.ops))

    @property
    def edges(self) -> tuple[tuple[int, int], ...]:
        """(source, target) of every edge, aligned with :attr:`ops`."""
        return _edges(self.num_nodes)

    def to_string(self) -> str:
        """The NAS-Bench-201 string form."""
        parts: list[str] = []
        k = 0
        for j in range(1, self.num_nodes):
            tokens = []
            for i in range(j):
                tokens.append(f"{self.ops[k]}~{i}")
                k += 1
            parts.append("|" + "|".join(tokens) + "|")
        return "+".join(parts)

    def __str__(self) -> str:
        return self.to_string()

    @classmethod
    def from_string(cls, text: str) -> Architecture:
        """Parse the NAS-Bench-201 string form; raise :class:`ArchitectureError` if malformed."""
        if not isinstance(text, str):
            raise ArchitectureError(f"architecture string expected, got {type(text).__name__}")
        shown = text if len(text) <= 200 else text[:200] + "..."
        stripped = text.strip()
        if not stripped:
            raise ArchitectureError("empty architecture string")
        node_parts = stripped.split("+")
        ops: list[str] = []
        for j, part in enumerate(node_parts, start=1):
            if len(part) < 2 or not (part.startswith("|") and part.endswith("|")):
                raise ArchitectureError(
                    f"malformed architecture string {shown!r}: node {j} must look like '|op~0|...|'"
                )
            tokens = part[1:-1].split("|")
            by_source: dict[int, str] = {}
            for token in tokens:
                match = _TOKEN.fullmatch(token)
                if match is None:
                    raise ArchitectureError(
                        f"malformed architecture string {shown!r}: token {token!r} in node {j} "
                        f"is not 'op~input'"
                    )
                op, source = match.group(1), int(match.group(2))
                if source >= j:
                    raise ArchitectureError(
                        f"malformed architecture string {shown!r}: node {j} cannot take "
                        f"input from node {source}"
                    )
                if source in by_source:
                    raise ArchitectureError(
                        f"malformed architecture string {shown!r}: node {j} takes node {source} twice"
                    )
                by_source[source] = op
            if len(by_source) != j:
                raise ArchitectureError(
                    f"malformed architecture string {shown!r}: node {j} needs one op from "
                    f"each of nodes 0..{j - 1}, got {len(by_source)}"
                )
            ops.extend(by_source[i] for i in range(j))
        return cls(tuple(ops))


ArchLike = Architecture | str | int | np.integer | Sequence[str]


@dataclass(frozen=True)
class CellSpace:
    """A NAS-Bench-201-style cell space: an op set and a node count.

    ``zero_op`` and ``identity_op`` name the ops that canonicalisation treats as the
    zero function and the identity; set them to ``None`` if the op set has no such op.
    Indices are lexicographic in the op order, first edge most significant, so index 0 is
    the all-``ops[0]`` cell. NAS-Bench-201's own indices are a different, shuffled order:
    exchange architectures with it by string.
    """

    ops: tuple[str, ...] = NB201_OPS
    num_nodes: int = 4
    zero_op: str | None = "none"
    identity_op: str | None = "skip_connect"
    _op_index: dict[str, int] = field(init=False, repr=False, compare=False, hash=False)
    _place: tuple[int, ...] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        ops = tuple(self.ops)
        object.__setattr__(self, "ops", ops)
        if len(ops) < 1 or len(set(ops)) != len(ops):
            raise ArchitectureError(f"the op set must be non-empty and without repeats: {ops}")
        for op in ops:
            if not isinstance(op, str) or not _OP_NAME.fullmatch(op):
                raise ArchitectureError(f"invalid op name {op!r}")
        if len(ops) > 127:
            raise ArchitectureError("at most 127 ops per space (stored as int8)")
        if not isinstance(self.num_nodes, int) or self.num_nodes < 2:
            raise ArchitectureError(f"a cell needs at least 2 nodes, got {self.num_nodes!r}")
        for role, name in (("zero_op", self.zero_op), ("identity_op", self.identity_op)):
            if name is not None and name not in ops:
                raise ArchitectureError(f"{role} {name!r} is not in the op set {ops}")
        object.__setattr__(self, "_op_index", {op: k for k, op in enumerate(ops)})
        e = self.num_edges
        object.__setattr__(self, "_place", tuple(len(ops) ** (e - 1 - k) for k in range(e)))

    # ----------------------------------------------------------------- basic facts
    @property
    def edges(self) -> tuple[tuple[int, int], ...]:
        """(source, target) of every edge in NAS-Bench-201 string order."""
        return _edges(self.num_nodes)

    @property
    def num_edges(self) -> int:
        """Edges per cell."""
        return self.num_nodes * (self.num_nodes - 1) // 2

    @property
    def num_ops(self) -> int:
        """Ops in the op set."""
        return len(self.ops)

    @property
    def size(self) -> int:
        """Number of architectures: ``num_ops ** num_edges``."""
        return self.num_ops**self.num_edges

    def __len__(self) -> int:
        return self.size

    def to_dict(self) -> dict[str, object]:
        """JSON-ready description, the inverse of :meth:`from_dict`."""
        return {
            "ops": list(self.ops),
            "num_nodes": self.num_nodes,
            "zero_op": self.zero_op,
            "identity_op": self.identity_op,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> CellSpace:
        """Rebuild a space from :meth:`to_dict` output."""
        try:
            return cls(
                ops=tuple(data["ops"]),  # type: ignore[arg-type]
                num_nodes=int(data["num_nodes"]),  # type: ignore[arg-type]
                zero_op=data.get("zero_op"),  # type: ignore[arg-type]
                identity_op=data.get("identity_op"),  # type: ignore[arg-type]
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ArchitectureError(f"invalid space description {data!r}: {exc}") from None

    # ----------------------------------------------------------------- conversion
    def arch(self, value: ArchLike) -> Architecture:
        """Return the architecture for an index, a string, an op sequence or an arch,
        checking it belongs to this space."""
        if isinstance(value, Architecture):
            arch = value
        elif isinstance(value, str):
            arch = Architecture.from_string(value)
        elif isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return self.from_index(int(value))
        elif isinstance(value, Sequence):
            arch = Architecture(tuple(value))
        else:
            raise ArchitectureError(
                f"cannot read an architecture from {type(value).__name__}: give an index, "
                f"a NAS-Bench-201 string or a sequence of op names"
            )
        self.check(arch)
        return arch

    def check(self, arch: Architecture) -> None:
        """Raise :class:`ArchitectureError` unless ``arch`` belongs to this space."""
        if len(arch.ops) != self.num_edges:
            raise ArchitectureError(
                f"architecture has {arch.num_nodes} nodes, the space has {self.num_nodes}: {arch}"
            )
        for op in arch.ops:
            if op not in self._op_index:
                raise ArchitectureError(f"op {op!r} is not in the space (ops: {', '.join(self.ops)})")

    def from_index(self, index: int) -> Architecture:
        """Architecture at ``index`` (0 <= index < size)."""
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise ArchitectureError(f"architecture index must be an integer, got {index!r}")
        index = int(index)
        if not 0 <= index < self.size:
            raise ArchitectureError(f"architecture index {index} out of range [0, {self.size - 1}]")
        ops = []
        for place in self._place:
            digit, index = divmod(index, place)
            ops.append(self.ops[digit])
        return Architecture(tuple(ops))

    def index(self, value: ArchLike) -> int:
        """Integer index of an architecture (any form :meth:`arch` accepts)."""
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            index = int(value)
            if not 0 <= index < self.size:
                raise ArchitectureError(f"architecture index {index} out of range [0, {self.size - 1}]")
            return index
        arch = self.arch(value)
        op_index = self._op_index
        return sum(op_index[op] * place for op, place in zip(arch.ops, self._place, strict=False))

    def op_indices(self, value: ArchLike) -> tuple[int, ...]:
        """Op indices of every edge (positions in :attr:`ops`)."""
        arch = self.arch(value)
        return tuple(self._op_index[op] for op in arch.ops)

    def ops_array(self, indices: np.ndarray | None = None) -> np.ndarray:
        """int8 array [n, num_edges] of op indices for ``indices`` (all when None)."""
        if indices is None:
            self._require_enumerable()
            indices = np.arange(self.size, dtype=np.int64)
        indices = np.asarray(indices, dtype=np.int64)
        if indices.size and (indices.min() < 0 or indices.max() >= self.size):
            raise ArchitectureError(f"architecture index out of range [0, {self.size - 1}]")
        out = np.empty((indices.shape[0], self.num_edges), dtype=np.int8)
        rest = indices.copy()
        for k, place in enumerate(self._place):
            out[:, k], rest = np.divmod(rest, place)
        return out

    def indices_from_ops(self, ops: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`ops_array`: int64 indices of rows of op indices."""
        ops = np.asarray(ops, dtype=np.int64)
        if ops.ndim != 2 or ops.shape[1] != self.num_edges:
            raise ArchitectureError(f"expected op indices of shape [n, {self.num_edges}]")
        if ops.size and (ops.min() < 0 or ops.max() >= self.num_ops):
            raise ArchitectureError(f"op index out of range [0, {self.num_ops - 1}]")
        return ops @ np.asarray(self._place, dtype=np.int64)

    # ----------------------------------------------------------------- enumeration
    def __iter__(self) -> Iterator[Architecture]:
        self._require_enumerable()
        for ops in itertools.product(self.ops, repeat=self.num_edges):
            yield Architecture(ops)

    def enumerate(self) -> Iterator[Architecture]:
        """Every architecture, in index order."""
        return iter(self)

    def sample(
        self, rng: np.random.Generator | int, n: int | None = None
    ) -> Architecture | list[Architecture]:
        """Uniformly sampled architecture(s); ``rng`` is a Generator or a seed.

        ``n=None`` returns one architecture, an int ``n`` a list of ``n`` (with repeats).
        """
        generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        count = 1 if n is None else int(n)
        if count < 0:
            raise ConfigError(f"n must be >= 0, got {n}")
        ops = generator.integers(0, self.num_ops, size=(count, self.num_edges))
        archs = [Architecture(tuple(self.ops[k] for k in row)) for row in ops]
        return archs[0] if n is None else archs

    def neighbours(self, value: ArchLike) -> list[Architecture]:
        """Every architecture that differs from ``value`` in exactly one edge's op,
        edge by edge, ops in space order."""
        arch = self.arch(value)
        out = []
        for k, current in enumerate(arch.ops):
            for op in self.ops:
                if op != current:
                    out.append(Architecture((*arch.ops[:k], op, *arch.ops[k + 1 :])))
        return out

    # ----------------------------------------------------------------- encodings
    def encode_onehot(self, archs: Sequence[ArchLike]) -> np.ndarray:
        """float32 [n, num_edges * num_ops]: one-hot op per edge."""
        out = np.zeros((len(archs), self.num_edges, self.num_ops), dtype=np.float32)
        for row, value in enumerate(archs):
            for k, op in enumerate(self.op_indices(value)):
                out[row, k, op] = 1.0
        return out.reshape(len(archs), self.num_edges * self.num_ops)

    def encode_adjacency(self, value: ArchLike) -> tuple[np.ndarray, np.ndarray]:
        """Op-on-node graph of a cell, for graph learners.

        Vertices are the cell input, one vertex per edge (carrying its op), and the cell
        output. Edge vertex ``i->j`` receives from every edge vertex ending at ``i`` (or
        the input when ``i == 0``) and feeds every edge vertex leaving ``j`` (or the
        output when ``j`` is the last node). Vertices of the zero op are disconnected,
        since nothing flows through them. Returns the uint8 adjacency
        [V, V] (row feeds column) and float32 labels [V, num_ops + 2] (ops, input, output).
        """
        ops = self.op_indices(value)
        edges = self.edges
        num_vertices = self.num_edges + 2
        out_vertex = num_vertices - 1
        last = self.num_nodes - 1
        zero = self._op_index.get(self.zero_op) if self.zero_op is not None else None
        adjacency = np.zeros((num_vertices, num_vertices), dtype=np.uint8)
        labels = np.zeros((num_vertices, self.num_ops + 2), dtype=np.float32)
        labels[0, self.num_ops] = 1.0
        labels[out_vertex, self.num_ops + 1] = 1.0
        live = [ops[k] != zero for k in range(self.num_edges)]
        for k, (i, j) in enumerate(edges):
            labels[k + 1, ops[k]] = 1.0
            if not live[k]:
                continue
            if i == 0:
                adjacency[0, k + 1] = 1
            for m, (_i2, j2) in enumerate(edges):
                if live[m] and j2 == i:
                    adjacency[m + 1, k + 1] = 1
            if j == last:
                adjacency[k + 1, out_vertex] = 1
        return adjacency, labels

    @functools.cached_property
    def _paths(self) -> tuple[tuple[int, ...], ...]:
        """Every input-to-output path as a tuple of edge positions."""
        edge_pos = {edge: k for k, edge in enumerate(self.edges)}
        last = self.num_nodes - 1
        paths: list[tuple[int, ...]] = []

        def walk(node: int, taken: tuple[int, ...]) -> None:
            if node == last:
                paths.append(taken)
                return
            for nxt in range(node + 1, self.num_nodes):
                walk(nxt, (*taken, edge_pos[node, nxt]))

        walk(0, ())
        return tuple(paths)

    @property
    def path_encoding_size(self) -> int:
        """Length of :meth:`encode_path` vectors: sum of K^L for L = 1..num_nodes-1,
        K the number of ops other than the zero op."""
        k = self.num_ops - (1 if self.zero_op is not None else 0)
        return sum(k**length for length in range(1, self.num_nodes))

    def encode_path(self, archs: Sequence[ArchLike]) -> np.ndarray:
        """float32 [n, path_encoding_size]: BANANAS path encoding.

        One binary feature per possible sequence of ops along an input-to-output path;
        it is 1 when some path of the cell carries that sequence. Paths through the
        zero op carry nothing and are left out (White et al., 2021, BANANAS).
        """
        alphabet = [k for k, op in enumerate(self.ops) if op != self.zero_op]
        letter = {op: pos for pos, op in enumerate(alphabet)}
        base = len(alphabet)
        offsets = [0]
        for length in range(1, self.num_nodes):
            offsets.append(offsets[-1] + base**length)
        out = np.zeros((len(archs), self.path_encoding_size), dtype=np.float32)
        for row, value in enumerate(archs):
            ops = self.op_indices(value)
            for path in self._paths:
                code = 0
                for edge in path:
                    if ops[edge] not in letter:
                        break
                    code = code * base + letter[ops[edge]]
                else:
                    out[row, offsets[len(path) - 1] + code] = 1.0
        return out

    # ----------------------------------------------------------------- canonical form
    def canonical_key(self, value: ArchLike) -> str:
        """A string that two architectures share exactly when they are isomorphic.

        The key is the expression the output node computes: every node is the sorted
        sum of its incoming terms, a term is ``(source)@op``; the identity op passes its
        source through unchanged; a term is zero when its op is the zero op or its source
        is zero; sums keep their zero terms, so a node is zero only when its single
        incoming term is. Sorting the terms makes the key blind to node relabelling, and
        edges that cannot reach the output never enter it. This is NAS-Bench-201's own
        definition of a unique cell (its ``to_unique_str(consider_zero=True)``), which
        leaves 6,466 classes of the 15,625 NAS-Bench-201 cells.
        """
        arch = self.arch(value)
        nodes = ["0"]
        k = 0
        for j in range(1, self.num_nodes):
            terms = []
            for i in range(j):
                op = arch.ops[k]
                k += 1
                source = nodes[i]
                if op == self.zero_op or source == "#":
                    terms.append("#")
                elif op == self.identity_op:
                    terms.append(source)
                else:
                    terms.append(f"({source})@{op}")
            nodes.append("+".join(sorted(terms)))
        return nodes[-1]

    def _require_enumerable(self) -> None:
        if self.size > MAX_ENUMERABLE_SIZE:
            raise ArchitectureError(
                f"the space has {self.size:,} architectures, too many to enumerate "
                f"(limit {MAX_ENUMERABLE_SIZE:,}); sample it instead"
            )

    def canonical_indices(self) -> np.ndarray:
        """int64 [size]: for every index, the smallest index of its isomorphism class.

        Computed once per space and cached; the representative is the class member with
        the smallest index, which puts the zero op on edges that do not matter.
        """
        return _canonical_indices(self).copy()

    def canonical(self, value: ArchLike) -> Architecture:
        """The representative of ``value``'s class (smallest index among its members)."""
        index = self.index(value)
        return self.from_index(int(_canonical_indices(self)[index]))

    def is_canonical(self, value: ArchLike) -> bool:
        """Whether ``value`` is its class's representative."""
        index = self.index(value)
        return int(_canonical_indices(self)[index]) == index

    def unique_indices(self) -> np.ndarray:
        """int64 [num_unique]: the representative index of every class, ascending."""
        return np.unique(_canonical_indices(self))

    @property
    def num_unique(self) -> int:
        """Number of isomorphism classes."""
        return int(self.unique_indices().shape[0])


@functools.lru_cache(maxsize=8)
def _canonical_indices(space: CellSpace) -> np.ndarray:
    space._require_enumerable()
    first: dict[str, int] = {}
    out = np.empty(space.size, dtype=np.int64)
    for index, arch in enumerate(space):
        key = space.canonical_key(arch)
        out[index] = first.setdefault(key, index)
    out.setflags(write=False)
    return out


SPACE_PRESETS: dict[str, CellSpace] = {
    "nb201": CellSpace(),
    "nb201-7op": CellSpace(ops=(*NB201_OPS, "sep_conv_3x3", "max_pool_3x3")),
}


def get_space(name_or_space: str | CellSpace | None = None) -> CellSpace:
    """A space preset by name (default ``nb201``), or the space itself."""
    if name_or_space is None:
        return SPACE_PRESETS["nb201"]
    if isinstance(name_or_space, CellSpace):
        return name_or_space
    try:
        return SPACE_PRESETS[name_or_space]
    except KeyError:
        raise ArchitectureError(
            f"unknown space preset {name_or_space!r} (known: {', '.join(SPACE_PRESETS)})"
        ) from None

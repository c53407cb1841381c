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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from nasbench.core import encodings
from nasbench.core.errors import ArchitectureError, ConfigError
from nasbench.core.validation import check_choice

__all__ = [
    "NB201_OPS",
    "SPACE_PRESETS",
    "ArchLike",
    "Architecture",
    "CellSpace",
    "clipped",
    "get_space",
    "parse_index",
    "shown",
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
#: Most nodes of a cell (NAS-Bench-201 has 4; a space description read from a file with
#: a million nodes would make every index computation crawl).
MAX_NODES = 16
#: Most ops of a space (op indices are stored as int8).
MAX_OPS = 127
#: Longest op name.
MAX_OP_NAME = 64
#: Characters of a user's input echoed in an error message.
SHOWN_CHARS = 60

_OP_NAME = re.compile(rf"[A-Za-z_][A-Za-z0-9_]{{0,{MAX_OP_NAME - 1}}}")
_TOKEN = re.compile(rf"([A-Za-z_][A-Za-z0-9_]{{0,{MAX_OP_NAME - 1}}})~([0-9]{{1,6}})")
#: An index as a user types it: ASCII digits only (``str.isdigit`` would take "²" and
#: "٣"), with a sign so that "-1" is reported out of range rather than malformed.
_INDEX_TEXT = re.compile(r"[+-]?[0-9]+")
#: Significant digits beyond which an index is out of range of any space (and ``int``
#: would refuse strings of more than 4,300 digits).
_MAX_INDEX_DIGITS = 30


def clipped(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text`` cut to ``limit`` characters for an error message, saying how long it was
    (a 5,000-digit argument must not become a 5,000-character message)."""
    return text if len(text) <= limit else text[:limit] + f"... ({len(text):,} characters)"


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """A user's input for an error message: a string quoted, anything else as ``repr``,
    cut to about ``limit`` characters."""
    return repr(clipped(value, limit)) if isinstance(value, str) else clipped(repr(value), limit)


def parse_index(text: str) -> int | None:
    """The integer an index argument spells in ASCII digits (sign allowed), or None when
    it is no such string. Beyond 30 significant digits it returns a value far out of any
    range (``±10**30``) instead of converting the whole string."""
    stripped = text.strip()
    if not _INDEX_TEXT.fullmatch(stripped):
        return None
    sign = -1 if stripped[0] == "-" else 1
    digits = stripped.lstrip("+-").lstrip("0") or "0"
    if len(digits) > _MAX_INDEX_DIGITS:
        return sign * 10**_MAX_INDEX_DIGITS
    return sign * int(digits)


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
        if len(self.ops) > MAX_NODES * (MAX_NODES - 1) // 2:
            raise ArchitectureError(
                f"an architecture has at most {MAX_NODES} nodes, got {len(self.ops):,} edges"
            )
        for op in self.ops:
            if not isinstance(op, str) or not _OP_NAME.fullmatch(op):
                raise ArchitectureError(f"invalid op name {shown(op)}")
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
        echo = shown(text)
        stripped = text.strip()
        if not stripped:
            raise ArchitectureError("empty architecture string")
        node_parts = stripped.split("+")
        ops: list[str] = []
        for j, part in enumerate(node_parts, start=1):
            if len(part) < 2 or not (part.startswith("|") and part.endswith("|")):
                raise ArchitectureError(
                    f"malformed architecture string {echo}: node {j} must look like '|op~0|...|'"
                )
            tokens = part[1:-1].split("|")
            by_source: dict[int, str] = {}
            for token in tokens:
                match = _TOKEN.fullmatch(token)
                if match is None:
                    raise ArchitectureError(
                        f"malformed architecture string {echo}: token {shown(token, 20)} in node {j} "
                        f"is not 'op~input'"
                    )
                op, source = match.group(1), int(match.group(2))
                if source >= j:
                    raise ArchitectureError(
                        f"malformed architecture string {echo}: node {j} cannot take input from node {source}"
                    )
                if source in by_source:
                    raise ArchitectureError(
                        f"malformed architecture string {echo}: node {j} takes node {source} twice"
                    )
                by_source[source] = op
            if len(by_source) != j:
                raise ArchitectureError(
                    f"malformed architecture string {echo}: node {j} needs one op from "
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
        if len(ops) > MAX_OPS:
            raise ArchitectureError(f"at most {MAX_OPS} ops per space (stored as int8), got {len(ops):,}")
        for op in ops:
            if not isinstance(op, str) or not _OP_NAME.fullmatch(op):
                raise ArchitectureError(
                    f"invalid op name {shown(op)} (letters, digits and '_', at most {MAX_OP_NAME})"
                )
        if len(ops) < 1 or len(set(ops)) != len(ops):
            raise ArchitectureError(f"the op set must be non-empty and without repeats: {shown(ops)}")
        if isinstance(self.num_nodes, bool) or not isinstance(self.num_nodes, int):
            raise ArchitectureError(f"num_nodes must be an integer, got {shown(self.num_nodes)}")
        if self.num_nodes < 2:
            raise ArchitectureError(f"a cell needs at least 2 nodes, got {self.num_nodes}")
        if self.num_nodes > MAX_NODES:
            raise ArchitectureError(f"a cell has at most {MAX_NODES} nodes, got {shown(self.num_nodes)}")
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
        """Rebuild a space from :meth:`to_dict` output (for example a table's ``space``
        attribute, which a file can make anything): one ArchitectureError for anything but
        a list of op names and an integer node count within the bounds."""
        if not isinstance(data, dict):
            raise ArchitectureError(f"invalid space description {shown(data)}: not a JSON object")
        ops, num_nodes = data.get("ops"), data.get("num_nodes")
        if not isinstance(ops, list | tuple) or len(ops) > MAX_OPS:
            raise ArchitectureError(
                f"invalid space description: ops must be a list of at most {MAX_OPS} names"
            )
        if isinstance(num_nodes, float) and num_nodes.is_integer() and abs(num_nodes) < 2**31:
            num_nodes = int(num_nodes)
        try:
            return cls(
                ops=tuple(ops),
                num_nodes=num_nodes,  # type: ignore[arg-type]
                zero_op=data.get("zero_op"),  # type: ignore[arg-type]
                identity_op=data.get("identity_op"),  # type: ignore[arg-type]
            )
        except ArchitectureError as exc:
            raise ArchitectureError(f"invalid space description: {exc}") from None

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

    def parse(self, text: str) -> Architecture:
        """An architecture as a user types it (a command's ARCH): an index in ASCII digits
        ("-1" is reported out of range, "²" or "٣" are not indices) or a NAS-Bench-201
        string. Errors are one ArchitectureError echoing at most about 60 characters of
        ``text``. (:meth:`arch` keeps strings for NAS-Bench-201 strings; indices are ints.)"""
        if not isinstance(text, str):
            raise ArchitectureError(f"architecture string expected, got {type(text).__name__}")
        index = parse_index(text)
        if index is None and text.strip() and "|" not in text:
            raise ArchitectureError(
                f"malformed architecture string {shown(text)}: neither an index in ASCII digits "
                f"nor a NAS-Bench-201 string like '|op~0|+|op~0|op~1|'"
            )
        if index is None:
            arch = Architecture.from_string(text)
            self.check(arch)
            return arch
        if not 0 <= index < self.size:
            raise ArchitectureError(
                f"architecture index {clipped(text.strip())} out of range [0, {self.size - 1}]"
            )
        return self.from_index(index)

    def check(self, arch: Architecture) -> None:
        """Raise :class:`ArchitectureError` unless ``arch`` belongs to this space."""
        if len(arch.ops) != self.num_edges:
            raise ArchitectureError(
                f"architecture has {arch.num_nodes} nodes, the space has {self.num_nodes}: "
                f"{clipped(str(arch))}"
            )
        for op in arch.ops:
            if op not in self._op_index:
                raise ArchitectureError(f"op {shown(op)} is not in the space (ops: {', '.join(self.ops)})")

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

    def indices_of_strings(self, texts: Iterable[str]) -> np.ndarray:
        """int64 indices of many NAS-Bench-201 strings at once (an importer's 15,625 rows):
        well-formed strings take a fast path; anything else is parsed by :meth:`index`,
        which raises the usual :class:`ArchitectureError` naming the problem."""
        sources = [i for j in range(1, self.num_nodes) for i in range(j)]
        op_index = self._op_index
        places = self._place
        out: list[int] = []
        for text in texts:
            tokens = text.strip().replace("|+|", "|").strip("|").split("|") if isinstance(text, str) else []
            index = 0
            if len(tokens) == len(sources):
                for token, source, place in zip(tokens, sources, places, strict=True):
                    op, _, position = token.rpartition("~")
                    if position != str(source) or op not in op_index:
                        index = -1
                        break
                    index += op_index[op] * place
            else:
                index = -1
            if index < 0 or self.from_index(index).to_string() != text.strip():
                index = self.index(text)  # not in the exact printed form: the full parser
            out.append(index)
        return np.asarray(out, dtype=np.int64)

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

    # ----------------------------------------------------------------- neighbours and variation
    # The moves search strategies make, in one place. Setting edge k from op a to op b adds
    # (b - a) * num_ops ** (num_edges - 1 - k) to the index; random operators document their draws.
    def neighbours(self, value: ArchLike) -> list[Architecture]:
        """Every architecture that differs from ``value`` in exactly one edge's op,
        edge by edge, ops in space order."""
        return [self.from_index(int(k)) for k in self.neighbour_indices([self.index(value)])]

    def neighbour_indices(self, indices: np.ndarray | Sequence[int]) -> np.ndarray:
        """int64 indices of every architecture one op change away from each of ``indices``:
        architecture by architecture, edge by edge, ops in space order
        (``num_edges * (num_ops - 1)`` per architecture)."""
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        ops = self.ops_array(indices).astype(np.int64)  # [n, E]; checks the range
        place = np.asarray(self._place, dtype=np.int64)
        delta = (np.arange(self.num_ops)[None, None, :] - ops[:, :, None]) * place[None, :, None]
        return (indices[:, None, None] + delta)[delta != 0]

    def neighbour(self, index: int, edge: int, choice: int) -> int:
        """``index`` with ``edge`` changed to the ``choice``-th op other than its current
        one, in space order (``0 <= choice < num_ops - 1``): entry
        ``edge * (num_ops - 1) + choice`` of its :meth:`neighbour_indices`, in plain
        integer arithmetic for loops that mutate one architecture per step."""
        if not (0 <= edge < len(self._place) and 0 <= choice < len(self.ops) - 1):
            raise ArchitectureError(
                f"no neighbour at edge {edge}, choice {choice} in a space of {len(self._place)} "
                f"edges and {len(self.ops)} ops"
            )
        place = self._place[edge]
        current = index // place % len(self.ops)
        return index + (choice + (choice >= current) - current) * place

    def mutate_ops(self, ops: np.ndarray, rng: np.random.Generator, probability: float) -> np.ndarray:
        """int64 copy of op-index rows [n, num_edges] in which every edge, with ``probability``,
        takes a different op drawn uniformly. Draws ``rng.random(shape)`` (which edges change),
        then ``rng.integers(1, num_ops, shape)`` (the shift); nothing in a one-op space."""
        ops = np.asarray(ops, dtype=np.int64)
        if len(self.ops) < 2:
            return ops.copy()
        change = rng.random(ops.shape) < probability
        shift = rng.integers(1, len(self.ops), size=ops.shape)
        return np.where(change, (ops + shift) % len(self.ops), ops)

    def crossover(
        self,
        first: np.ndarray,
        second: np.ndarray,
        rng: np.random.Generator,
        *,
        probability: float = 1.0,
        method: str = "one-point",
    ) -> np.ndarray:
        """int64 children of aligned parents' op-index rows [n, num_edges]: per pair, with
        ``probability``, a crossover, else a copy of ``first``. ``"one-point"``: the edges from
        a cut on come from ``second``; draws ``rng.random(n)`` (which pairs cross), then
        ``rng.integers(1, num_edges, n)`` (the cuts); nothing for a one-edge cell.
        ``"uniform"``: each edge from either parent with probability 1/2; draws
        ``rng.random(n)``, then ``rng.random([n, num_edges])``."""
        check_choice("crossover", "method", method, ("one-point", "uniform"))
        first = np.asarray(first, dtype=np.int64)
        second = np.asarray(second, dtype=np.int64)
        count, edges = first.shape
        if method == "one-point":
            if edges < 2:
                return first.copy()
            crossed = rng.random(count) < probability
            cut = rng.integers(1, edges, size=count)
            from_second = np.arange(edges)[None, :] >= cut[:, None]
        else:
            crossed = rng.random(count) < probability
            from_second = rng.random(first.shape) < 0.5
        return np.where(from_second & crossed[:, None], second, first)

    # ----------------------------------------------------------------- encodings
    # Thin calls to nasbench.core.encodings, the one implementation (vectorised).
    def encode_onehot(self, archs: Sequence[ArchLike]) -> np.ndarray:
        """float32 [n, num_edges * num_ops]: one-hot op per edge."""
        return encodings.encode_sequence(self, archs, "onehot")

    def encode_adjacency(self, value: ArchLike) -> tuple[np.ndarray, np.ndarray]:
        """Op-on-node graph of a cell, for graph learners (see :mod:`nasbench.core.encodings`):
        the uint8 adjacency [V, V] (row feeds column) and float32 labels [V, num_ops + 2]
        (ops, input, output); zero-op vertices are disconnected."""
        adjacency, labels = encodings.graph_from_ops(self, np.asarray([self.op_indices(value)]))
        return adjacency[0], labels[0]

    @property
    def path_encoding_size(self) -> int:
        """Length of :meth:`encode_path` vectors: sum of K^L for L = 1..num_nodes-1,
        K the number of ops other than the zero op."""
        k = self.num_ops - (1 if self.zero_op is not None else 0)
        return sum(k**length for length in range(1, self.num_nodes))

    def encode_path(self, archs: Sequence[ArchLike]) -> np.ndarray:
        """float32 [n, path_encoding_size]: BANANAS path encoding (White et al., 2021): one
        binary feature per sequence of ops along an input-to-output path, 1 when some path
        of the cell carries it; paths through the zero op are left out."""
        return encodings.encode_sequence(self, archs, "path")

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

"""Tests of nasbench.core.space: architectures, indices, strings, sampling, encodings and
canonical (isomorphism) classes of NAS-Bench-201-style cell spaces."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nasbench.core.errors import ArchitectureError, NasbenchError
from nasbench.core.space import NB201_OPS, SPACE_PRESETS, Architecture, CellSpace, get_space

EXAMPLE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
NB201_EDGES = [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)]

OP_NAME = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True)


@pytest.fixture(scope="module")
def space() -> CellSpace:
    return get_space("nb201")


def arch_of(*ops: str) -> Architecture:
    """A default-space architecture from six op names in edge order."""
    return Architecture(tuple(ops))


def reference_key(arch: Architecture, consider_zero: bool) -> str:
    """Independent transcription of NAS-Bench-201's ``Structure.to_unique_str``.

    ``consider_zero=True`` propagates ``none`` as the zero function; ``False`` treats
    ``none`` as an ordinary op. ``skip_connect`` is the identity in both; terms sorted.
    """
    n = arch.num_nodes
    nodes = {0: "0"}
    k = 0
    for j in range(1, n):
        terms = []
        for i in range(j):
            op = arch.ops[k]
            k += 1
            if consider_zero and (op == "none" or nodes[i] == "#"):
                terms.append("#")
            elif op == "skip_connect":
                terms.append(nodes[i])
            else:
                terms.append(f"({nodes[i]})@{op}")
        nodes[j] = "+".join(sorted(terms))
    return nodes[n - 1]


def partition(keys: list[str]) -> np.ndarray:
    """Smallest index sharing each position's key."""
    first: dict[str, int] = {}
    return np.array([first.setdefault(key, i) for i, key in enumerate(keys)], dtype=np.int64)


# --------------------------------------------------------------------------- basic facts
def test_default_space_size_and_edges(space: CellSpace) -> None:
    assert space.ops == NB201_OPS
    assert space.num_nodes == 4
    assert space.size == len(space) == 15_625
    assert space.num_edges == 6
    assert list(space.edges) == NB201_EDGES
    assert list(arch_of(*["none"] * 6).edges) == NB201_EDGES
    assert get_space() is get_space("nb201") is SPACE_PRESETS["nb201"]
    assert get_space(space) is space


def test_unknown_preset_raises() -> None:
    with pytest.raises(ArchitectureError, match="nb999"):
        get_space("nb999")


def test_default_space_has_6466_canonical_classes(space: CellSpace) -> None:
    # Published by NAS-Bench-201 (Dong & Yang, 2020): 6,466 unique of 15,625 cells.
    assert space.num_unique == 6466
    assert space.unique_indices().shape == (6466,)


def test_enumeration_without_zero_propagation_gives_12751_classes(space: CellSpace) -> None:
    # NAS-Bench-201's to_unique_str(consider_zero=False) count, checked with an
    # independent key over the module's enumeration (a check of the enumeration).
    archs = list(space.enumerate())
    assert len(archs) == 15_625
    assert len(set(archs)) == 15_625
    assert len({reference_key(a, consider_zero=False) for a in archs}) == 12_751


def test_canonical_classes_match_reference_partition(space: CellSpace) -> None:
    ref = partition([reference_key(a, consider_zero=True) for a in space])
    assert len(np.unique(ref)) == 6466
    np.testing.assert_array_equal(space.canonical_indices(), ref)


# --------------------------------------------------------------------------- strings and indices
def test_example_string_parses_and_prints_back(space: CellSpace) -> None:
    arch = Architecture.from_string(EXAMPLE)
    assert arch.ops == (
        "nor_conv_3x3",
        "nor_conv_3x3",
        "avg_pool_3x3",
        "skip_connect",
        "nor_conv_3x3",
        "skip_connect",
    )
    assert str(arch) == arch.to_string() == EXAMPLE
    assert space.arch(EXAMPLE) == arch
    assert space.arch(space.index(EXAMPLE)) == arch
    assert Architecture.from_string("  " + EXAMPLE + "\n") == arch  # outer whitespace stripped


def test_architecture_is_frozen_value() -> None:
    a = Architecture.from_string(EXAMPLE)
    b = Architecture.from_string(EXAMPLE)
    assert a == b and hash(a) == hash(b) and a is not b
    assert len({a, b}) == 1
    with pytest.raises(AttributeError):
        a.ops = ("none",)  # type: ignore[misc]


def test_vectorised_index_round_trip_all(space: CellSpace) -> None:
    idx = np.arange(space.size)
    ops = space.ops_array(idx)
    assert ops.shape == (15_625, 6)
    np.testing.assert_array_equal(space.ops_array(), ops)
    np.testing.assert_array_equal(space.indices_from_ops(ops), idx)
    # every row distinct and every digit in range
    assert ops.min() == 0 and ops.max() == 4
    assert len(np.unique(ops, axis=0)) == 15_625


def test_string_round_trip_every_index(space: CellSpace) -> None:
    ops_array = space.ops_array()
    for i, arch in enumerate(space):
        text = str(arch)
        back = Architecture.from_string(text)
        assert back == arch
        assert space.index(text) == i
        assert space.from_index(i) == arch
        assert space.op_indices(arch) == tuple(ops_array[i])


def test_index_order(space: CellSpace) -> None:
    assert space.from_index(0) == arch_of(*["none"] * 6)
    assert space.from_index(space.size - 1) == arch_of(*["avg_pool_3x3"] * 6)
    # first edge most significant: index 5**5 changes edge (0,1) only
    assert space.from_index(5**5) == arch_of("skip_connect", *["none"] * 5)
    assert space.from_index(1) == arch_of(*["none"] * 5, "skip_connect")
    assert space.index(arch_of("avg_pool_3x3", *["none"] * 5)) == 4 * 5**5
    # EXAMPLE digits (3,3,4,1,3,1) in base 5
    assert space.index(EXAMPLE) == int("334131", 5)
    assert [str(a) for a in itertools.islice(space, 3)] == [str(space.from_index(i)) for i in range(3)]


def test_numpy_integer_indices(space: CellSpace) -> None:
    assert space.arch(np.int64(7)) == space.from_index(7)
    assert space.index(np.int32(7)) == 7


def test_arch_accepts_sequences_and_archs(space: CellSpace) -> None:
    arch = Architecture.from_string(EXAMPLE)
    assert space.arch(list(arch.ops)) == arch
    assert space.arch(arch.ops) == arch
    assert space.arch(arch) is arch


# --------------------------------------------------------------------------- parser properties
@given(st.lists(st.sampled_from(NB201_OPS), min_size=6, max_size=6))
def test_property_round_trip_default_ops(ops: list[str]) -> None:
    arch = Architecture(tuple(ops))
    assert Architecture.from_string(str(arch)) == arch
    assert get_space().arch(str(arch)) == arch


def _ops_for_some_node_count(n: int) -> st.SearchStrategy[list[str]]:
    edges = n * (n - 1) // 2
    return st.lists(OP_NAME, min_size=edges, max_size=edges)


@given(st.integers(2, 6).flatmap(_ops_for_some_node_count))
def test_property_round_trip_other_node_counts(ops: list[str]) -> None:
    arch = Architecture(tuple(ops))
    text = str(arch)
    assert Architecture.from_string(text) == arch
    assert text.count("+") == arch.num_nodes - 2
    assert len(arch.edges) == len(ops)


def _check_text(text: str) -> None:
    try:
        arch = Architecture.from_string(text)
    except ArchitectureError:
        return
    assert isinstance(arch, Architecture)
    assert Architecture.from_string(str(arch)) == arch


@given(st.text())
def test_property_arbitrary_text_parses_or_raises_architecture_error(text: str) -> None:
    _check_text(text)


@given(st.text(alphabet="|+~012_ \tnoexv3", max_size=40))
def test_property_near_miss_text_parses_or_raises_architecture_error(text: str) -> None:
    _check_text(text)


def _tokens(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of every 'op~i' token."""
    return [m.span() for m in re.finditer(r"[A-Za-z_][A-Za-z0-9_]*~\d", text)]


@st.composite
def mutated_strings(draw: st.DrawFn) -> str:
    ops = draw(st.lists(st.sampled_from(NB201_OPS), min_size=6, max_size=6))
    text = str(Architecture(tuple(ops)))
    kind = draw(st.sampled_from(["drop", "dup", "source", "plus", "space"]))
    if kind == "drop":
        pos = draw(st.integers(0, len(text) - 1))
        return text[:pos] + text[pos + 1 :]
    if kind == "dup":
        start, end = draw(st.sampled_from(_tokens(text)))
        return text[:end] + "|" + text[start:end] + text[end:]
    if kind == "source":
        positions = [m.start() for m in re.finditer("~1", text)]
        pos = draw(st.sampled_from(positions))
        return text[:pos] + "~5" + text[pos + 2 :]
    if kind == "plus":
        positions = [m.start() for m in re.finditer(r"\+", text)]
        pos = draw(st.sampled_from(positions))
        return text[:pos] + text[pos + 1 :]
    pos = draw(st.integers(1, len(text) - 1))
    # "\n" is left out here: see test_newline_inside_string_is_rejected
    ws = draw(st.sampled_from([" ", "\t", "\r", "\x0b", "\x0c", "  "]))
    return text[:pos] + ws + text[pos:]


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(mutated_strings())
def test_property_mutated_strings_raise(text: str) -> None:
    space = get_space()
    with pytest.raises(ArchitectureError) as info:
        space.arch(text)
    message = str(info.value)
    if "malformed" not in message:
        # a dropped letter leaves a well-formed string with an op the space lacks
        assert "not in the space" in message
        bad = re.search(r"op '([^']+)'", message)
        assert bad is not None and bad.group(1) not in NB201_OPS
        assert f"{bad.group(1)}~" in text


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("|nor_conv_3x3~0|+|none~0|", "needs one op from each"),
        ("|nor_conv_3x3~1|", "cannot take input from node 1"),
        ("|none~0|+|none~0|none~0|", "takes node 0 twice"),
        ("|none-0|", "is not 'op~input'"),
        ("|3x3~0|", "is not 'op~input'"),
        ("none~0", "malformed"),
        ("|none~0|+", "malformed"),
        ("|none~0||none~0|none~1|", "malformed"),
    ],
)
def test_bad_strings(text: str, fragment: str) -> None:
    with pytest.raises(ArchitectureError, match=re.escape(fragment)):
        Architecture.from_string(text)


def test_non_string_to_from_string() -> None:
    with pytest.raises(ArchitectureError, match="string expected"):
        Architecture.from_string(123)  # type: ignore[arg-type]


def test_unknown_op_is_named(space: CellSpace) -> None:
    text = EXAMPLE.replace("avg_pool_3x3", "conv_7x7")
    Architecture.from_string(text)  # well-formed: the op set is the space's business
    with pytest.raises(ArchitectureError, match="conv_7x7"):
        space.arch(text)
    with pytest.raises(ArchitectureError, match="conv_7x7"):
        space.index(("conv_7x7", *["none"] * 5))


@pytest.mark.parametrize("bad", [-1, 15_625, 10**9])
def test_index_out_of_range(space: CellSpace, bad: int) -> None:
    for call in (space.from_index, space.arch, space.index):
        with pytest.raises(ArchitectureError, match="out of range"):
            call(bad)
    with pytest.raises(ArchitectureError, match="out of range"):
        space.ops_array(np.array([0, bad]))


@pytest.mark.parametrize("bad", [True, False, 1.0, 3.5, None, object()])
def test_non_integer_index_rejected(space: CellSpace, bad: object) -> None:
    for call in (space.from_index, space.arch, space.index):
        with pytest.raises(ArchitectureError):
            call(bad)  # type: ignore[arg-type]


def test_wrong_node_count(space: CellSpace) -> None:
    three_node = "|none~0|+|none~0|none~1|"
    assert Architecture.from_string(three_node).num_nodes == 3
    with pytest.raises(ArchitectureError, match="3 nodes, the space has 4"):
        space.arch(three_node)
    with pytest.raises(ArchitectureError, match="5 nodes, the space has 4"):
        space.arch(["none"] * 10)
    with pytest.raises(ArchitectureError, match="cannot fill a cell"):
        Architecture(("none",) * 4)
    with pytest.raises(ArchitectureError, match="cannot fill a cell"):
        space.arch(["none"] * 5)


def test_architecture_rejects_bad_values() -> None:
    with pytest.raises(ArchitectureError, match="tuple"):
        Architecture(["none"])  # type: ignore[arg-type]
    with pytest.raises(ArchitectureError, match="at least one edge"):
        Architecture(())
    with pytest.raises(ArchitectureError, match="invalid op name"):
        Architecture(("nor conv",))
    with pytest.raises(ArchitectureError, match="invalid op name"):
        Architecture((3,))  # type: ignore[arg-type]


def test_indices_from_ops_validates(space: CellSpace) -> None:
    with pytest.raises(ArchitectureError, match="shape"):
        space.indices_from_ops(np.zeros((2, 5)))
    with pytest.raises(ArchitectureError, match="op index out of range"):
        space.indices_from_ops(np.full((1, 6), 5))


# --------------------------------------------------------------------------- parser edge cases
def test_newline_inside_string_is_rejected() -> None:
    text = EXAMPLE.replace("nor_conv_3x3~0|+", "nor_conv_3x3~0\n|+", 1)
    with pytest.raises(ArchitectureError):
        Architecture.from_string(text)


def test_op_name_with_trailing_newline_rejected() -> None:
    with pytest.raises(ArchitectureError):
        Architecture(("none\n",))


def test_non_ascii_digit_source_rejected() -> None:
    with pytest.raises(ArchitectureError):
        Architecture.from_string("|none~\u0660|")


def test_huge_source_number_raises_architecture_error() -> None:
    try:
        Architecture.from_string("|none~" + "1" * 5000 + "|")
    except NasbenchError:
        return
    except ValueError as exc:
        pytest.fail(f"plain ValueError escaped: {str(exc)[:60]}")
    pytest.fail("parsed")


# --------------------------------------------------------------------------- canonical form
SAME_CLASS = [
    # node 3 = conv1x1(x) + conv3x3(x): which op sits on the direct edge and which on
    # the path through node 1 is a relabelling.
    (
        "|nor_conv_3x3~0|+|none~0|none~1|+|nor_conv_1x1~0|skip_connect~1|none~2|",
        "|nor_conv_1x1~0|+|none~0|none~1|+|nor_conv_3x3~0|skip_connect~1|none~2|",
    ),
    # parallel branches A(x) on node 1 and B(x) on node 2, summed at node 2 by a skip:
    # swapping A and B gives the same sorted terms.
    (
        "|nor_conv_3x3~0|+|avg_pool_3x3~0|skip_connect~1|+|none~0|none~1|skip_connect~2|",
        "|avg_pool_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|none~0|none~1|skip_connect~2|",
    ),
    # edge (0,1) cannot reach the output when (1,2) and (1,3) are none
    (
        "|none~0|+|nor_conv_1x1~0|none~1|+|nor_conv_3x3~0|none~1|skip_connect~2|",
        "|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|nor_conv_3x3~0|none~1|skip_connect~2|",
    ),
    # skip chain 0->1->3 vs the direct skip 0->3: both give node 3 terms {#, #, 0}
    (
        "|skip_connect~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|",
        "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|",
    ),
    # conv on (0,1) then skip to 3 vs conv directly on (0,3)
    (
        "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|",
        "|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|",
    ),
]

DIFFERENT_CLASS = [
    (str(arch_of(*["nor_conv_3x3"] * 6)), str(arch_of(*["nor_conv_1x1"] * 6))),
    (str(arch_of(*["none"] * 6)), str(arch_of(*["skip_connect"] * 6))),
    (
        "|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|",
        "|none~0|+|none~0|none~1|+|nor_conv_1x1~0|none~1|none~2|",
    ),
    # conv then pool vs pool then conv along the chain: order matters
    (
        "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|avg_pool_3x3~1|none~2|",
        "|avg_pool_3x3~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|",
    ),
    # NAS-Bench-201's rule keeps zero terms in sums ("#+0" at node 2), so this chain through
    # node 2 is NOT merged with the direct conv although both compute conv3x3(x):
    # keys '#+#+(#+0)@nor_conv_3x3' vs '#+#+(0)@nor_conv_3x3'.
    (
        "|skip_connect~0|+|none~0|skip_connect~1|+|none~0|none~1|nor_conv_3x3~2|",
        "|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|",
    ),
]


@pytest.mark.parametrize(("a", "b"), SAME_CLASS)
def test_isomorphic_cells_share_class(space: CellSpace, a: str, b: str) -> None:
    assert space.index(a) != space.index(b)
    assert space.canonical_key(a) == space.canonical_key(b)
    assert space.canonical(a) == space.canonical(b)
    rep = space.canonical(a)
    assert space.index(rep) <= min(space.index(a), space.index(b))
    assert space.is_canonical(rep)


@pytest.mark.parametrize(("a", "b"), DIFFERENT_CLASS)
def test_different_cells_differ(space: CellSpace, a: str, b: str) -> None:
    assert space.canonical_key(a) != space.canonical_key(b)
    assert space.canonical(a) != space.canonical(b)


def test_canonical_key_examples(space: CellSpace) -> None:
    assert space.canonical_key(arch_of(*["none"] * 6)) == "#+#+#"
    assert space.canonical_key("|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|") == "#+#+0"
    # node 1 is zero (its single term), node 2 is '#+#', which is not zero
    assert (
        space.canonical_key("|none~0|+|none~0|none~1|+|none~0|none~1|nor_conv_3x3~2|")
        == "#+#+(#+#)@nor_conv_3x3"
    )


def test_canonical_indices_properties(space: CellSpace) -> None:
    canon = space.canonical_indices()
    assert canon.shape == (15_625,) and canon.dtype == np.int64
    np.testing.assert_array_equal(canon[canon], canon)  # idempotent
    assert np.all(canon <= np.arange(space.size))  # representative is the smallest index
    assert canon[0] == 0
    sizes = np.bincount(canon)
    reps = np.flatnonzero(sizes)
    np.testing.assert_array_equal(reps, space.unique_indices())
    assert sizes.sum() == 15_625
    assert all(space.is_canonical(int(r)) for r in reps)
    # one key per class, distinct across classes
    keys = {space.canonical_key(int(r)) for r in reps}
    assert len(keys) == 6466


def test_canonical_members_share_key(space: CellSpace) -> None:
    canon = space.canonical_indices()
    rng = np.random.default_rng(0)
    for i in rng.integers(0, space.size, 300):
        assert space.canonical_key(int(i)) == space.canonical_key(int(canon[i]))
        assert space.canonical(int(i)) == space.from_index(int(canon[i]))
        assert space.is_canonical(int(i)) == (canon[i] == i)


def test_canonical_indices_returns_a_copy(space: CellSpace) -> None:
    canon = space.canonical_indices()
    canon[:] = -1
    assert space.canonical_indices()[5] != -1
    assert space.num_unique == 6466


def test_big_space_refuses_enumeration() -> None:
    big = CellSpace(ops=(*NB201_OPS, "sep_conv_3x3", "max_pool_3x3"), num_nodes=5)
    assert big.size == 7**10
    with pytest.raises(ArchitectureError, match="too many to enumerate"):
        big.canonical_indices()
    with pytest.raises(ArchitectureError, match="too many to enumerate"):
        next(iter(big))
    assert big.from_index(big.index(big.sample(0))) == big.sample(0)


# --------------------------------------------------------------------------- tiny hand-checked spaces
# 3 nodes -> edges (0,1), (0,2), (1,2); index = 4*e01 + 2*e02 + e12.
#
# ops (none, conv), zero none, no identity:
#   0 nnn: node2 = #+#               4 cnn: node1 = (0)@c, node2 = #+#
#   1 nnc: node1 = # so (1,2) -> #   5 cnc: #+((0)@c)@c
#     node2 = #+#                    6 ccn: #+(0)@c
#   2 ncn: #+(0)@c                   7 ccc: ((0)@c)@c+(0)@c
#   3 ncc: #+(0)@c
#   classes {0,1,4} {2,3,6} {5} {7} -> 4 classes, representatives [0,0,2,2,0,5,2,7]
#
# ops (none, skip), zero none, identity skip:
#   0 nnn #+#   1 nns #+#   2 nsn #+0   3 nss #+0 (node1 zero)
#   4 snn #+#   5 sns #+0   6 ssn #+0   7 sss 0+0
#   classes {0,1,4} {2,3,5,6} {7} -> 3 classes, representatives [0,0,2,2,0,2,2,7]
@pytest.mark.parametrize(
    ("ops", "identity", "expected"),
    [
        (("none", "nor_conv_3x3"), None, [0, 0, 2, 2, 0, 5, 2, 7]),
        (("none", "skip_connect"), "skip_connect", [0, 0, 2, 2, 0, 2, 2, 7]),
    ],
)
def test_tiny_space_by_hand(ops: tuple[str, str], identity: str | None, expected: list[int]) -> None:
    tiny = CellSpace(ops=ops, num_nodes=3, zero_op="none", identity_op=identity)
    assert tiny.size == 8
    assert tiny.num_edges == 3
    assert list(tiny.edges) == [(0, 1), (0, 2), (1, 2)]
    np.testing.assert_array_equal(tiny.canonical_indices(), expected)
    assert tiny.num_unique == len(set(expected))
    assert [tiny.index(a) for a in tiny] == list(range(8))


def test_cell_space_validation() -> None:
    with pytest.raises(ArchitectureError, match="identity_op"):
        CellSpace(ops=("none", "nor_conv_3x3"))
    with pytest.raises(ArchitectureError, match="repeats"):
        CellSpace(ops=("none", "none"), identity_op=None)
    with pytest.raises(ArchitectureError, match="at least 2 nodes"):
        CellSpace(num_nodes=1)
    space = CellSpace()
    assert CellSpace.from_dict(space.to_dict()) == space
    assert hash(CellSpace.from_dict(space.to_dict())) == hash(space)


# --------------------------------------------------------------------------- sampling
def test_sampling_is_seeded(space: CellSpace) -> None:
    a = space.sample(0, n=20)
    assert a == space.sample(0, n=20)
    assert a != space.sample(1, n=20)
    assert isinstance(space.sample(0), Architecture)
    assert space.sample(0) == a[0]
    assert space.sample(0, n=0) == []
    for arch in a:
        space.check(arch)


def test_sampling_with_generator(space: CellSpace) -> None:
    rng = np.random.default_rng(7)
    first = space.sample(rng, n=10)
    second = space.sample(rng, n=10)
    assert first != second  # the generator advances
    assert first == space.sample(np.random.default_rng(7), n=10)
    assert first == space.sample(7, n=10)


def test_sampling_is_uniform(space: CellSpace) -> None:
    n = 20_000
    ops = np.array([space.op_indices(a) for a in space.sample(123, n=n)])
    for edge in range(space.num_edges):
        freq = np.bincount(ops[:, edge], minlength=5) / n
        np.testing.assert_allclose(freq, 0.2, atol=0.02)
    # indices spread over the whole space
    idx = space.indices_from_ops(ops)
    assert len(np.unique(idx)) > 10_000


# --------------------------------------------------------------------------- neighbours
@pytest.mark.parametrize("index", [0, 1234, 15_624, "example"])
def test_neighbours(space: CellSpace, index: int | str) -> None:
    arch = space.arch(EXAMPLE if index == "example" else index)
    nbrs = space.neighbours(arch)
    assert len(nbrs) == 24
    assert len(set(nbrs)) == 24
    assert arch not in nbrs
    for nbr in nbrs:
        space.check(nbr)
        assert sum(x != y for x, y in zip(arch.ops, nbr.ops, strict=True)) == 1
    # every single-edge change is there
    expected = {
        Architecture((*arch.ops[:k], op, *arch.ops[k + 1 :]))
        for k in range(6)
        for op in NB201_OPS
        if op != arch.ops[k]
    }
    assert set(nbrs) == expected
    # ... in order: edge by edge, ops in space order
    ordered = [
        Architecture((*arch.ops[:k], op, *arch.ops[k + 1 :]))
        for k in range(6)
        for op in NB201_OPS
        if op != arch.ops[k]
    ]
    assert nbrs == ordered


def test_neighbours_seven_ops() -> None:
    space = get_space("nb201-7op")
    assert len(space.neighbours(0)) == 36


@pytest.mark.parametrize("name", ["nb201", "nb201-7op"])
def test_neighbour_indices_are_the_neighbours_of_each_index_in_order(name: str) -> None:
    space = get_space(name)
    indices = np.random.default_rng(0).integers(space.size, size=40)
    per_arch = space.num_edges * (space.num_ops - 1)
    found = space.neighbour_indices(indices)
    assert found.dtype == np.int64
    assert found.shape == (40 * per_arch,)
    for index, row in zip(indices.tolist(), found.reshape(40, per_arch), strict=True):
        assert row.tolist() == [space.index(arch) for arch in space.neighbours(index)]
    assert space.neighbour_indices(np.empty(0, dtype=np.int64)).shape == (0,)
    with pytest.raises(ArchitectureError, match="out of range"):
        space.neighbour_indices([space.size])


def test_one_neighbour_by_edge_and_choice(space: CellSpace) -> None:
    """``neighbour(index, edge, choice)`` is entry ``edge * (num_ops - 1) + choice`` of the
    neighbour list: the choice-th op other than the edge's current one."""
    for index in (0, 1234, 15_624, space.index(EXAMPLE)):
        listed = space.neighbour_indices([index]).tolist()
        for edge in range(6):
            for choice in range(4):
                found = space.neighbour(index, edge, choice)
                assert isinstance(found, int)
                assert found == listed[edge * 4 + choice]
    # the example's edge 0 holds nor_conv_3x3 (op 3): choices 0..3 give ops 0, 1, 2, 4
    ops = [space.op_indices(space.neighbour(space.index(EXAMPLE), 0, c))[0] for c in range(4)]
    assert ops == [0, 1, 2, 4]
    for edge, choice in ((6, 0), (-1, 0), (0, 4), (0, -1)):
        with pytest.raises(ArchitectureError, match="no neighbour"):
            space.neighbour(0, edge, choice)


def test_mutate_ops_draws_and_rates(space: CellSpace) -> None:
    parents = space.ops_array(np.random.default_rng(1).integers(space.size, size=2000))
    # The documented draws, in order: which edges change, then the shift to the new op.
    rng, twin = np.random.default_rng(7), np.random.default_rng(7)
    children = space.mutate_ops(parents, rng, 0.3)
    change = twin.random(parents.shape) < 0.3
    shift = twin.integers(1, 5, size=parents.shape)
    np.testing.assert_array_equal(children, np.where(change, (parents + shift) % 5, parents))
    assert rng.random() == twin.random()  # nothing else was drawn
    assert children.dtype == np.int64 and parents.dtype == np.int8  # the input is untouched
    changed = children != parents
    assert 0.27 < changed.mean() < 0.33
    np.testing.assert_array_equal(space.mutate_ops(parents, np.random.default_rng(0), 0.0), parents)
    always = space.mutate_ops(parents, np.random.default_rng(0), 1.0)
    assert np.all(always != parents)
    # a changed edge takes each of the other ops equally often
    counts = np.bincount(((always - parents) % 5).ravel(), minlength=5)
    assert counts[0] == 0 and counts[1:].min() > 0.9 * counts[1:].max()


def test_mutate_ops_in_a_one_op_space_draws_nothing() -> None:
    space = CellSpace(ops=("a",), num_nodes=3, zero_op=None, identity_op=None)
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(space.mutate_ops(np.zeros((4, 3)), rng, 1.0), 0)
    assert rng.random() == np.random.default_rng(0).random()


def test_one_point_crossover(space: CellSpace) -> None:
    rng, twin = np.random.default_rng(3), np.random.default_rng(3)
    first = space.ops_array(np.arange(500) * 31)
    second = space.ops_array(np.arange(500) * 17 + 5)
    children = space.crossover(first, second, rng, probability=0.8)
    crossed = twin.random(500) < 0.8
    cut = twin.integers(1, 6, size=500)
    assert rng.random() == twin.random()
    for child, a, b, crosses, at in zip(children, first, second, crossed, cut, strict=True):
        expected = np.concatenate([a[:at], b[at:]]) if crosses else a
        np.testing.assert_array_equal(child, expected)
    np.testing.assert_array_equal(space.crossover(first, second, rng, probability=0.0), first)
    # a one-edge cell has no cut: children are copies of the first parents, nothing drawn
    tiny = CellSpace(ops=("a", "b"), num_nodes=2, zero_op=None, identity_op=None)
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(tiny.crossover([[0], [1]], [[1], [0]], rng), [[0], [1]])
    assert rng.random() == np.random.default_rng(0).random()


def test_uniform_crossover(space: CellSpace) -> None:
    rng, twin = np.random.default_rng(4), np.random.default_rng(4)
    first = np.zeros((1000, 6), dtype=np.int64)
    second = np.ones((1000, 6), dtype=np.int64)
    children = space.crossover(first, second, rng, probability=0.5, method="uniform")
    crossed = twin.random(1000) < 0.5
    from_second = twin.random((1000, 6)) < 0.5
    np.testing.assert_array_equal(children, from_second & crossed[:, None])
    assert np.all(children[~crossed] == 0)
    assert 0.45 < children[crossed].mean() < 0.55
    with pytest.raises(NasbenchError, match="method must be one of 'one-point', 'uniform'"):
        space.crossover(first, second, rng, method="two-point")


# --------------------------------------------------------------------------- encodings
def test_onehot(space: CellSpace) -> None:
    archs = [space.from_index(i) for i in (0, 1, 777, 15_624)] + [EXAMPLE]
    enc = space.encode_onehot(archs)
    assert enc.shape == (5, 30)
    assert enc.dtype == np.float32
    assert set(np.unique(enc)) <= {0.0, 1.0}
    blocks = enc.reshape(5, 6, 5)
    np.testing.assert_array_equal(blocks.sum(axis=2), 1.0)
    expected = np.array([space.op_indices(a) for a in archs])
    np.testing.assert_array_equal(blocks.argmax(axis=2), expected)


def test_path_encoding_of_no_archs(space: CellSpace) -> None:
    assert space.encode_path([]).shape == (0, 84)


def test_onehot_of_no_archs(space: CellSpace) -> None:
    assert space.encode_onehot([]).shape == (0, 30)


def test_path_encoding_size(space: CellSpace) -> None:
    assert space.path_encoding_size == 4 + 16 + 64 == 84
    assert space.encode_path([0]).shape == (1, 84)
    seven = get_space("nb201-7op")
    assert seven.path_encoding_size == 6 + 36 + 216


def test_path_encoding_values(space: CellSpace) -> None:
    all_none = arch_of(*["none"] * 6)
    all_conv = arch_of(*["nor_conv_3x3"] * 6)
    direct_skip = "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
    conv_chain = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|"
    enc = space.encode_path([all_none, all_conv, direct_skip, conv_chain])
    assert enc.dtype == np.float32
    assert not enc[0].any()
    # all conv: paths 0-3, 0-1-3 / 0-2-3 (same sequence), 0-1-2-3: one feature per length
    assert enc[1].sum() == 3
    assert enc[1, :4].sum() == 1 and enc[1, 4:20].sum() == 1 and enc[1, 20:].sum() == 1
    # alphabet without the zero op: skip 0, conv1x1 1, conv3x3 2, pool 3
    assert np.flatnonzero(enc[1]).tolist() == [2, 4 + 2 * 4 + 2, 20 + 2 * 16 + 2 * 4 + 2]
    assert np.flatnonzero(enc[2]).tolist() == [0]
    assert np.flatnonzero(enc[3]).tolist() == [4 + 2 * 4 + 2]


def test_adjacency_shapes_and_labels(space: CellSpace) -> None:
    adj, labels = space.encode_adjacency(EXAMPLE)
    assert adj.shape == (8, 8) and adj.dtype == np.uint8
    assert labels.shape == (8, 7) and labels.dtype == np.float32
    np.testing.assert_array_equal(labels.sum(axis=1), 1.0)
    assert labels[0, 5] == 1 and labels[7, 6] == 1
    np.testing.assert_array_equal(labels[1:7, :5].argmax(axis=1), space.op_indices(EXAMPLE))
    assert not np.tril(adj).any()  # a DAG in topological vertex order


def test_adjacency_all_conv(space: CellSpace) -> None:
    adj, _ = space.encode_adjacency(arch_of(*["nor_conv_3x3"] * 6))
    # vertices: 0 input, 1..6 edges (0,1),(0,2),(1,2),(0,3),(1,3),(2,3), 7 output
    expected = np.zeros((8, 8), dtype=np.uint8)
    for src, dst in [
        (0, 1), (0, 2), (0, 4),  # input feeds edges leaving node 0
        (1, 3), (1, 5),  # (0,1) feeds edges leaving node 1
        (2, 6), (3, 6),  # (0,2), (1,2) feed (2,3)
        (4, 7), (5, 7), (6, 7),  # edges into node 3 feed the output
    ]:  # fmt: skip
        expected[src, dst] = 1
    np.testing.assert_array_equal(adj, expected)


@given(st.integers(0, 15_624))
def test_adjacency_zero_vertices_disconnected(index: int) -> None:
    space = get_space()
    arch = space.from_index(index)
    adj, _ = space.encode_adjacency(arch)
    live = [op != "none" for op in arch.ops]
    for k, (i, _j) in enumerate(space.edges):
        if not live[k]:
            assert not adj[k + 1].any() and not adj[:, k + 1].any()
        assert adj[0, k + 1] == (live[k] and i == 0)


def test_adjacency_all_none(space: CellSpace) -> None:
    adj, labels = space.encode_adjacency(0)
    assert not adj.any()
    assert labels[1:7, 0].all()


# --------------------------------------------------------------------------- 7-op preset
def test_seven_op_preset() -> None:
    space = get_space("nb201-7op")
    assert space.size == 117_649 == 7**6
    assert space.ops[:5] == NB201_OPS
    assert set(space.ops[5:]) == {"sep_conv_3x3", "max_pool_3x3"}
    rng = np.random.default_rng(42)
    idx = rng.integers(0, space.size, 500)
    for i in idx:
        arch = space.from_index(int(i))
        assert space.index(arch) == i
        assert space.index(str(arch)) == i
    np.testing.assert_array_equal(space.indices_from_ops(space.ops_array(idx)), idx)
    assert space.from_index(space.size - 1) == Architecture((space.ops[-1],) * 6)
    for arch in space.sample(0, n=50):
        assert space.from_index(space.index(arch)) == arch

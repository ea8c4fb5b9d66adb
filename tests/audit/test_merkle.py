"""Tests of the audit log's Merkle tree: RFC 6962 / RFC 9162 vectors and properties.

The vectors under ``vectors/`` are the transparency-dev/merkle test data, unchanged (see
``vectors/README.md``). The reference functions here follow the RFC's recursive
definitions literally, so that the incremental store is checked against the text of the
standard and not against itself.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from legionary.audit.merkle import (
    EMPTY_ROOT,
    CompactRange,
    MemoryNodeStore,
    MissingNodeError,
    append_leaf,
    append_leaves,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    root_from_leaves,
    roots_at,
    verify_consistency,
    verify_inclusion,
    verify_log,
)

VECTORS = Path(__file__).parent / "vectors"
BIG_TREE_SIZE = 4_100  # a little past 2**12, so the largest trees are not perfect


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


def _load(kind: str) -> list[tuple[str, dict[str, Any]]]:
    files = sorted((VECTORS / kind).rglob("*.json"))
    return [(str(path.relative_to(VECTORS)), json.loads(path.read_text())) for path in files]


INCLUSION_VECTORS = _load("inclusion")
CONSISTENCY_VECTORS = _load("consistency")
TREE = json.loads((VECTORS / "tree.json").read_text())
TREE_LEAVES = [leaf_hash(bytes.fromhex(h)) for h in TREE["leaf_inputs_hex"]]
TREE_ROOTS = [bytes.fromhex(h) for h in TREE["root_hash_hex_by_size"]]


# --------------------------------------------------------------------------- reference


def ref_path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 section 2.1.3.1, literally."""
    n = len(leaves)
    if n == 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)
    if m < k:
        return [*ref_path(m, leaves[:k]), root_from_leaves(leaves[k:])]
    return [*ref_path(m - k, leaves[k:]), root_from_leaves(leaves[:k])]


def ref_subproof(m: int, leaves: Sequence[bytes], whole: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) of RFC 9162 section 2.1.4.1, literally."""
    n = len(leaves)
    if m == n:
        return [] if whole else [root_from_leaves(leaves)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*ref_subproof(m, leaves[:k], whole), root_from_leaves(leaves[k:])]
    return [*ref_subproof(m - k, leaves[k:], False), root_from_leaves(leaves[:k])]


def make_leaves(count: int, salt: bytes = b"") -> list[bytes]:
    return [leaf_hash(salt + i.to_bytes(8, "big")) for i in range(count)]


def build_store(leaves: Sequence[bytes]) -> MemoryNodeStore:
    store = MemoryNodeStore()
    for size, digest in enumerate(leaves):
        store.put_many(append_leaf(store, size, digest))
    return store


@cache
def big_tree() -> tuple[list[bytes], MemoryNodeStore]:
    # Built once: an append-only tree of N leaves holds every smaller tree's nodes.
    leaves = make_leaves(BIG_TREE_SIZE)
    return leaves, build_store(leaves)


def flip_bit(data: bytes, bit: int) -> bytes:
    changed = bytearray(data)
    changed[bit // 8] ^= 1 << (bit % 8)
    return bytes(changed)


# --------------------------------------------------------------------------- hashes


def test_leaf_and_node_hashes_are_domain_separated_sha256() -> None:
    assert leaf_hash(b"") == bytes.fromhex("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    a, b = leaf_hash(b"a"), leaf_hash(b"b")
    assert node_hash(a, b) != leaf_hash(a + b)
    assert node_hash(a, b) != node_hash(b, a)


def test_tree_roots_match_the_vectors_for_sizes_0_to_8() -> None:
    store = build_store(TREE_LEAVES)
    frontier = CompactRange()
    assert frontier.root() == TREE_ROOTS[0] == EMPTY_ROOT
    for size, expected in enumerate(TREE_ROOTS):
        assert root_from_leaves(TREE_LEAVES[:size]) == expected
        assert root(store, size) == expected
        if size:
            frontier.append(TREE_LEAVES[size - 1])
        assert frontier.root() == expected
    assert list(roots_at(TREE_LEAVES, range(9))) == list(enumerate(TREE_ROOTS))


# --------------------------------------------------------------------------- vectors


def test_every_vector_file_is_loaded() -> None:
    # Guards against a silently empty parametrisation (e.g. vectors not copied).
    assert len(INCLUSION_VECTORS) == 98
    assert len(CONSISTENCY_VECTORS) == 98
    assert sum(v["wantErr"] for _, v in INCLUSION_VECTORS + CONSISTENCY_VECTORS) > 150


@pytest.mark.parametrize(("name", "case"), INCLUSION_VECTORS, ids=[n for n, _ in INCLUSION_VECTORS])
def test_inclusion_vector_is_accepted_exactly_when_it_is_valid(name: str, case: dict[str, Any]) -> None:
    ok = verify_inclusion(
        _b64(case["leafHash"]),
        case["leafIdx"],
        case["treeSize"],
        [_b64(p) for p in case["proof"] or []],
        _b64(case["root"]),
    )
    assert ok is (not case["wantErr"]), case["desc"]


@pytest.mark.parametrize(("name", "case"), CONSISTENCY_VECTORS, ids=[n for n, _ in CONSISTENCY_VECTORS])
def test_consistency_vector_is_accepted_exactly_when_it_is_valid(name: str, case: dict[str, Any]) -> None:
    ok = verify_consistency(
        case["size1"],
        case["size2"],
        _b64(case["root1"]),
        _b64(case["root2"]),
        [_b64(p) for p in case["proof"] or []],
    )
    assert ok is (not case["wantErr"]), case["desc"]


def test_store_generates_the_published_proofs_of_the_vector_tree() -> None:
    store = build_store(TREE_LEAVES)
    compared = 0
    for _, case in INCLUSION_VECTORS:
        size, index = case["treeSize"], case["leafIdx"]
        if case["wantErr"] or not 0 < size <= 8 or _b64(case["root"]) != TREE_ROOTS[size]:
            continue
        assert inclusion_proof(store, index, size) == [_b64(p) for p in case["proof"] or []]
        compared += 1
    for _, case in CONSISTENCY_VECTORS:
        old, new = case["size1"], case["size2"]
        if case["wantErr"] or not 0 < old <= new <= 8 or _b64(case["root2"]) != TREE_ROOTS[new]:
            continue
        assert consistency_proof(store, old, new) == [_b64(p) for p in case["proof"] or []]
        compared += 1
    assert compared >= 10


# --------------------------------------------------------------------------- properties


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_inclusion_proofs_from_the_store_equal_the_rfc_reference_and_verify(
    data: st.DataObject,
) -> None:
    leaves, store = big_tree()
    size = data.draw(st.integers(1, BIG_TREE_SIZE), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    proof = inclusion_proof(store, index, size)
    assert proof == ref_path(index, leaves[:size])
    tree_root = root(store, size)
    assert tree_root == root_from_leaves(leaves[:size])
    assert verify_inclusion(leaves[index], index, size, proof, tree_root)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_consistency_proofs_from_the_store_equal_the_rfc_reference_and_verify(
    data: st.DataObject,
) -> None:
    leaves, store = big_tree()
    new = data.draw(st.integers(1, BIG_TREE_SIZE), label="new")
    old = data.draw(st.integers(1, new), label="old")
    proof = consistency_proof(store, old, new)
    assert proof == ref_subproof(old, leaves[:new], True)
    assert verify_consistency(old, new, root(store, old), root(store, new), proof)


@settings(max_examples=40, deadline=None)
@given(size=st.integers(1, 300), salt=st.binary(max_size=4))
def test_inclusion_proof_verifies_for_every_leaf_of_random_trees(size: int, salt: bytes) -> None:
    leaves = make_leaves(size, salt)
    store = build_store(leaves)
    tree_root = root(store, size)
    for index in range(size):
        proof = inclusion_proof(store, index, size)
        assert verify_inclusion(leaves[index], index, size, proof, tree_root)
        # The same proof must not place the leaf anywhere else.
        other = (index + 1) % size
        if other != index:
            assert not verify_inclusion(leaves[index], other, size, proof, tree_root)


def test_consistency_proof_verifies_for_every_pair_of_sizes_up_to_64() -> None:
    leaves = make_leaves(64)
    store = build_store(leaves)
    roots = [root(store, n) for n in range(65)]
    for new in range(1, 65):
        for old in range(1, new + 1):
            proof = consistency_proof(store, old, new)
            assert verify_consistency(old, new, roots[old], roots[new], proof), (old, new)
            if old < new:
                assert not verify_consistency(old, new, roots[new], roots[old], proof)


@settings(max_examples=60, deadline=None)
@given(batches=st.lists(st.integers(0, 70), min_size=1, max_size=30))
def test_appending_in_random_batches_stores_the_same_nodes_as_one_leaf_at_a_time(
    batches: list[int],
) -> None:
    leaves = make_leaves(sum(batches))
    one_by_one = build_store(leaves)
    batched = MemoryNodeStore()
    size = 0
    for count in batches:
        new_nodes = append_leaves(batched, size, leaves[size : size + count])
        # Children come before parents, and nothing is written twice.
        assert len({(lv, ix) for lv, ix, _ in new_nodes}) == len(new_nodes)
        batched.put_many(new_nodes)
        size += count
    assert batched.nodes == one_by_one.nodes


def test_the_store_holds_exactly_the_perfect_subtrees() -> None:
    size = 1000
    store = build_store(make_leaves(size))
    expected = {(level, index) for level in range(size.bit_length()) for index in range(size >> level)}
    assert set(store.nodes) == expected


def test_append_and_proofs_touch_a_logarithmic_number_of_nodes() -> None:
    leaves = make_leaves(4096 + 77)
    store = MemoryNodeStore()
    for size, digest in enumerate(leaves):
        before_reads, before_calls = store.reads, store.read_calls
        new_nodes = append_leaf(store, size, digest)
        reads = store.reads - before_reads
        # Exactly the completed right-edge subtrees are read, and one node per level
        # they complete is written.
        trailing_ones = (~size & (size + 1)).bit_length() - 1
        assert reads == trailing_ones
        assert len(new_nodes) == trailing_ones + 1
        assert store.read_calls - before_calls <= 1
        store.put_many(new_nodes)
    size = len(leaves)
    for operation in (
        lambda: root(store, size),
        lambda: inclusion_proof(store, 1234, size),
        lambda: inclusion_proof(store, size - 1, size),
        lambda: consistency_proof(store, 1000, size),
        lambda: consistency_proof(store, 4097, size),
    ):
        before_reads, before_calls = store.reads, store.read_calls
        operation()
        assert store.reads - before_reads <= 2 * size.bit_length()
        assert store.read_calls - before_calls == 1


# --------------------------------------------------------------------------- tampering


def test_every_single_bit_flip_of_leaf_proof_or_root_breaks_an_inclusion_proof() -> None:
    leaves = make_leaves(37)
    store = build_store(leaves)
    tree_root = root(store, 37)
    for index in (0, 17, 32, 36):
        leaf, proof = leaves[index], inclusion_proof(store, index, 37)
        assert verify_inclusion(leaf, index, 37, proof, tree_root)
        for bit in range(256):
            assert not verify_inclusion(flip_bit(leaf, bit), index, 37, proof, tree_root)
            assert not verify_inclusion(leaf, index, 37, proof, flip_bit(tree_root, bit))
            for position in range(len(proof)):
                bad = list(proof)
                bad[position] = flip_bit(bad[position], bit)
                assert not verify_inclusion(leaf, index, 37, bad, tree_root)


def test_every_single_bit_flip_of_roots_or_proof_breaks_a_consistency_proof() -> None:
    leaves = make_leaves(37)
    store = build_store(leaves)
    for old, new in ((1, 37), (8, 37), (13, 37), (32, 36), (5, 6)):
        old_root, new_root = root(store, old), root(store, new)
        proof = consistency_proof(store, old, new)
        assert verify_consistency(old, new, old_root, new_root, proof)
        for bit in range(256):
            assert not verify_consistency(old, new, flip_bit(old_root, bit), new_root, proof)
            assert not verify_consistency(old, new, old_root, flip_bit(new_root, bit), proof)
            for position in range(len(proof)):
                bad = list(proof)
                bad[position] = flip_bit(bad[position], bit)
                assert not verify_consistency(old, new, old_root, new_root, bad)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_random_bit_flip_anywhere_breaks_proofs_of_large_trees(data: st.DataObject) -> None:
    leaves, store = big_tree()
    size = data.draw(st.integers(2, BIG_TREE_SIZE), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    old = data.draw(st.integers(1, size - 1), label="old")
    bit = data.draw(st.integers(0, 255), label="bit")
    tree_root = root(store, size)
    proof = inclusion_proof(store, index, size)
    target = data.draw(st.integers(0, len(proof) + 1), label="target")
    leaf = leaves[index]
    if target == len(proof):
        leaf = flip_bit(leaf, bit)
    elif target == len(proof) + 1:
        tree_root = flip_bit(tree_root, bit)
    else:
        proof[target] = flip_bit(proof[target], bit)
    assert not verify_inclusion(leaf, index, size, proof, tree_root)
    cproof = consistency_proof(store, old, size)
    cproof[bit % len(cproof)] = flip_bit(cproof[bit % len(cproof)], bit)
    assert not verify_consistency(old, size, root(store, old), root(store, size), cproof)


# --------------------------------------------------------------------------- bad input


_garbage = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.text(max_size=40),
    st.binary(max_size=40),
    st.lists(st.binary(max_size=40), max_size=70),
    st.lists(st.one_of(st.none(), st.integers(), st.text()), max_size=5),
)


@settings(max_examples=300, deadline=None)
@given(leaf=_garbage, index=_garbage, size=_garbage, proof=_garbage, root_hash=_garbage)
def test_verify_inclusion_returns_false_instead_of_raising_on_garbage(
    leaf: Any, index: Any, size: Any, proof: Any, root_hash: Any
) -> None:
    assert verify_inclusion(leaf, index, size, proof, root_hash) in (True, False)


@settings(max_examples=300, deadline=None)
@given(old=_garbage, new=_garbage, old_root=_garbage, new_root=_garbage, proof=_garbage)
def test_verify_consistency_returns_false_instead_of_raising_on_garbage(
    old: Any, new: Any, old_root: Any, new_root: Any, proof: Any
) -> None:
    assert verify_consistency(old, new, old_root, new_root, proof) in (True, False)


def test_verifiers_reject_proofs_with_extra_or_missing_hashes() -> None:
    leaves, store = big_tree()
    proof = inclusion_proof(store, 5, 1000)
    tree_root = root(store, 1000)
    assert not verify_inclusion(leaves[5], 5, 1000, proof[:-1], tree_root)
    assert not verify_inclusion(leaves[5], 5, 1000, [*proof, tree_root], tree_root)
    assert not verify_inclusion(leaves[5], 5, 1000, [b"", *proof], tree_root)
    assert not verify_inclusion(leaves[5], 5, 1000, [*proof] * 100, tree_root)
    cproof = consistency_proof(store, 300, 1000)
    args = (300, 1000, root(store, 300), tree_root)
    assert not verify_consistency(*args, cproof[:-1])
    assert not verify_consistency(*args, [*cproof, tree_root])


def test_consistency_with_the_empty_tree_is_neither_proved_nor_accepted() -> None:
    _, store = big_tree()
    with pytest.raises(ValueError, match="0 < old_size"):
        consistency_proof(store, 0, 10)
    assert not verify_consistency(0, 10, EMPTY_ROOT, root(store, 10), [])


def test_requests_outside_the_tree_raise_value_error() -> None:
    _, store = big_tree()
    with pytest.raises(ValueError):
        inclusion_proof(store, 10, 10)
    with pytest.raises(ValueError):
        inclusion_proof(store, -1, 10)
    with pytest.raises(ValueError):
        consistency_proof(store, 11, 10)
    with pytest.raises(ValueError):
        root(store, -1)
    with pytest.raises(ValueError, match="32 bytes"):
        append_leaf(store, BIG_TREE_SIZE, b"short")


def test_missing_nodes_raise_an_error_that_names_them() -> None:
    store = build_store(make_leaves(5))
    with pytest.raises(MissingNodeError, match=r"level=1, index=2"):
        inclusion_proof(store, 0, 6)
    with pytest.raises(MissingNodeError):
        root(store, 8)
    del store.nodes[(2, 0)]
    with pytest.raises(MissingNodeError, match=r"level=2, index=0") as caught:
        root(store, 5)
    assert caught.value.keys == [(2, 0)]


# --------------------------------------------------------------------------- streaming


def test_compact_range_keeps_one_hash_per_set_bit_of_the_size() -> None:
    frontier = CompactRange()
    for size, digest in enumerate(make_leaves(600), start=1):
        frontier.append(digest)
        assert frontier.size == size
        assert len(frontier._stack) == bin(size).count("1")
    _, store = big_tree()
    assert frontier.root() == root(store, 600)


def test_roots_at_yields_each_requested_size_once_in_ascending_order() -> None:
    leaves, store = big_tree()
    sizes = [4000, 1, 0, 77, 77, 2048, 9999]
    got = list(roots_at(iter(leaves), sizes))
    assert [size for size, _ in got] == [0, 1, 77, 2048, 4000]
    assert all(digest == root(store, size) for size, digest in got)


def test_verify_log_checks_every_checkpoint_root_in_one_pass() -> None:
    leaves, store = big_tree()
    expected = [(size, root(store, size)) for size in (0, 1, 2, 3, 1000, 4096, 4097)]
    consumed = 0

    def stream() -> Any:
        nonlocal consumed
        for digest in leaves:
            consumed += 1
            yield digest

    result = verify_log(stream(), reversed(expected))
    assert result.ok
    assert result.matched == len(expected)
    assert result.entries == consumed == BIG_TREE_SIZE
    assert result.root == root(store, BIG_TREE_SIZE)


def test_verify_log_reports_wrong_roots_and_checkpoints_beyond_the_log() -> None:
    leaves, store = big_tree()
    good = root(store, 500)
    tampered = list(leaves[:1000])
    tampered[700] = leaf_hash(b"rewritten history")
    result = verify_log(tampered, [(500, good), (800, root(store, 800)), (1000, root(store, 1000)), (1001, good)])
    assert not result.ok
    assert result.matched == 1
    assert [size for size, _, _ in result.mismatched] == [800, 1000]
    assert result.unreached == (1001,)
    assert result.entries == 1000


def test_verify_log_of_an_empty_log() -> None:
    result = verify_log([], [(0, EMPTY_ROOT)])
    assert result.ok and result.entries == 0 and result.root == EMPTY_ROOT


def test_equal_sizes_are_consistent_only_for_identical_byte_string_roots_and_no_proof() -> None:
    digest = leaf_hash(b"x")
    assert verify_consistency(3, 3, digest, digest, [])
    assert not verify_consistency(3, 3, digest, digest, [digest])
    assert not verify_consistency(3, 3, digest, flip_bit(digest, 0), [])
    # bytes(5) == bytes(5) would be b"\0" * 5 twice: non-bytes roots must not compare equal.
    assert not verify_consistency(3, 3, 5, 5, [])  # type: ignore[arg-type]

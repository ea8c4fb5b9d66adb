"""Merkle tree arithmetic for the tamper-evident audit log (RFC 6962 / RFC 9162 shape).

Responsible for:

* the two hash functions of the tree (``leaf_hash`` and ``node_hash``, domain-separated
  by a 0x00 / 0x01 prefix so a leaf can never be passed off as an inner node);
* an incremental, storage-agnostic tree: the log persists the hash of every *perfect*
  subtree as ``(level, index) -> 32 bytes`` (level 0 holds the leaf hashes, node
  ``(level, index)`` covers leaves ``[index * 2**level, (index + 1) * 2**level)``).
  Perfect subtrees never change once complete, so the stored nodes of a tree of size
  ``n`` are also the stored nodes of every smaller tree: the roots and proofs of old
  sizes stay reproducible forever;
* producing roots, inclusion proofs and consistency proofs from O(log n) stored nodes,
  composing the hashes of the non-perfect right-edge subtrees on the fly;
* the RFC 9162 section 2.1.3.2 / 2.1.4.2 verifiers, and a streaming fold
  (``CompactRange``, ``roots_at``, ``verify_log``) that recomputes the roots of many
  tree sizes while reading a log exactly once, in O(log n) memory.

It must never:

* write to storage itself (the appender *returns* the new nodes; the caller persists
  them in its own transaction, so a failed transaction cannot leave half a tree);
* know anything about what an entry means (it sees 32-byte leaf hashes only);
* raise on hostile input to a verifier: a malformed proof is simply "not valid" (False).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "LogCheck",
    "MemoryNodeStore",
    "MissingNodeError",
    "Node",
    "NodeKey",
    "NodeStore",
    "append_leaf",
    "append_leaves",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "root_from_leaves",
    "roots_at",
    "verify_consistency",
    "verify_inclusion",
    "verify_log",
]

HASH_SIZE: Final = 32
# RFC 6962 section 2.1: the hash of an empty list is the hash of an empty string.
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()

_LEAF_PREFIX: Final = b"\x00"
_NODE_PREFIX: Final = b"\x01"

NodeKey = tuple[int, int]
"""``(level, index)`` of a perfect subtree; level 0 is a leaf."""

Node = tuple[int, int, bytes]
"""``(level, index, hash)``: one stored perfect-subtree hash."""

_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962 leaf hash: SHA-256(0x00 || data)."""
    return _sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash: SHA-256(0x01 || left || right)."""
    return _sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n >= 2``), RFC 6962's k."""
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaves(leaf_hashes: Sequence[bytes]) -> bytes:
    """Reference Merkle Tree Hash (RFC 6962 section 2.1) of a list of leaf hashes.

    Straight from the recursive definition and O(n); for tests and one-off checks, not
    for the log (use ``root`` on a store, or ``CompactRange`` while streaming).
    """
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = _split(n)
    return node_hash(root_from_leaves(leaf_hashes[:k]), root_from_leaves(leaf_hashes[k:]))


# --------------------------------------------------------------------------- storage


class MissingNodeError(LookupError):
    """The store lacks a node that a tree of the requested size must have.

    This means the store is corrupt or the caller passed a size larger than what was
    appended; it is never a property of the data being verified.
    """

    def __init__(self, keys: Sequence[NodeKey]) -> None:
        self.keys = list(keys)
        shown = ", ".join(f"(level={lv}, index={ix})" for lv, ix in self.keys[:5])
        more = f" and {len(self.keys) - 5} more" if len(self.keys) > 5 else ""
        super().__init__(f"Merkle node store is missing node(s) {shown}{more}")


class NodeStore(Protocol):
    """Read side of a store of perfect-subtree hashes.

    Writing is deliberately not part of the protocol: ``append_leaves`` returns the
    nodes to persist and the caller writes them in the same transaction as the entries.
    """

    def get_many(self, keys: Sequence[NodeKey]) -> Mapping[NodeKey, bytes]:
        """Return the hashes of those ``keys`` that exist (missing keys are omitted)."""
        ...


@dataclass
class MemoryNodeStore:
    """A dict-backed ``NodeStore`` for tests and benchmarks.

    ``reads``/``writes`` count nodes (not calls) so the benchmark can show that the
    work per operation is logarithmic; ``read_calls`` counts round trips.
    """

    nodes: dict[NodeKey, bytes] = field(default_factory=dict)
    reads: int = 0
    writes: int = 0
    read_calls: int = 0

    def get_many(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        self.read_calls += 1
        self.reads += len(keys)
        nodes = self.nodes
        return {key: nodes[key] for key in keys if key in nodes}

    def put_many(self, new_nodes: Iterable[Node]) -> None:
        nodes = self.nodes
        for level, index, digest in new_nodes:
            nodes[(level, index)] = digest
            self.writes += 1

    def __len__(self) -> int:
        return len(self.nodes)


def _fetch(store: NodeStore, keys: Sequence[NodeKey]) -> Mapping[NodeKey, bytes]:
    """One round trip to the store; every requested node must be present."""
    if not keys:
        return {}
    unique = list(dict.fromkeys(keys))
    found = store.get_many(unique)
    missing = [key for key in unique if key not in found]
    if missing:
        raise MissingNodeError(missing)
    return found


def _check_size(name: str, value: int) -> None:
    # bool is an int subclass; a True tree size is a bug, not a size of 1.
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")


# --------------------------------------------------------------------------- appending


def append_leaves(store: NodeStore, size: int, leaf_hashes: Sequence[bytes]) -> list[Node]:
    """Append ``leaf_hashes`` to a tree that currently holds ``size`` leaves.

    Returns every new ``(level, index, hash)`` node, in an order where children come
    before parents; the caller must persist all of them. Reads only the right-edge
    perfect subtrees of the current tree that the new leaves complete (at most
    log2(size) nodes, in one ``get_many`` call), so the cost of a single append is
    O(log n) regardless of how large the log already is (amortised: 1 read, 2 writes).

    The caller must serialise appends (e.g. a row lock on the log head): ``size`` is
    trusted to be the true current size.
    """
    _check_size("size", size)
    for digest in leaf_hashes:
        if len(digest) != HASH_SIZE:
            raise ValueError(f"leaf hashes must be {HASH_SIZE} bytes, got {len(digest)}")
    new_size = size + len(leaf_hashes)
    # The frontier node at level L exists iff bit L of size is set; its index is
    # (size >> L) - 1. It is needed only if the batch completes its parent, i.e. grows
    # the tree to the end of that parent's span.
    needed = [
        (level, (size >> level) - 1)
        for level in range(size.bit_length())
        if (size >> level) & 1 and new_size >= ((size >> level) + 1) << level
    ]
    found = _fetch(store, needed)
    # Left siblings still waiting for a right sibling, by level.
    pending: dict[int, bytes] = {level: found[(level, index)] for level, index in needed}
    out: list[Node] = []
    for position, digest in enumerate(leaf_hashes, start=size):
        out.append((0, position, digest))
        level, index = 0, position
        # An odd index is a right child: its left sibling is pending, merge upwards.
        while index & 1:
            digest = node_hash(pending.pop(level), digest)
            level += 1
            index >>= 1
            out.append((level, index, digest))
        pending[level] = digest
    return out


def append_leaf(store: NodeStore, size: int, digest: bytes) -> list[Node]:
    """Append one leaf hash; see ``append_leaves``."""
    return append_leaves(store, size, [digest])


# --------------------------------------------------------------------------- reading


def _subtree_keys(start: int, count: int) -> list[NodeKey]:
    """The perfect subtrees that make up the RFC 6962 subtree ``D[start:start+count]``.

    Valid for every subtree the RFC recursion produces (``start`` is a multiple of a
    power of two >= ``count``): the RFC splits off the largest power of two first, so
    the pieces follow the binary representation of ``count``, largest first.
    """
    keys: list[NodeKey] = []
    position = start
    for level in range(count.bit_length() - 1, -1, -1):
        if (count >> level) & 1:
            keys.append((level, position >> level))
            position += 1 << level
    return keys


def _compose(hashes: Sequence[bytes]) -> bytes:
    """Hash of a subtree from its perfect pieces (largest first): fold from the right."""
    acc = hashes[-1]
    for digest in reversed(hashes[:-1]):
        acc = node_hash(digest, acc)
    return acc


def _subtree_hashes(store: NodeStore, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
    """Hashes of several RFC subtrees ``(start, count)`` with a single store round trip."""
    pieces = [_subtree_keys(start, count) for start, count in ranges]
    found = _fetch(store, [key for keys in pieces for key in keys])
    return [_compose([found[key] for key in keys]) for keys in pieces]


def root(store: NodeStore, size: int) -> bytes:
    """Merkle Tree Hash of the first ``size`` leaves (reads popcount(size) nodes)."""
    _check_size("size", size)
    if size == 0:
        return EMPTY_ROOT
    return _subtree_hashes(store, [(0, size)])[0]


def inclusion_proof(store: NodeStore, index: int, size: int) -> list[bytes]:
    """RFC 9162 section 2.1.3.1 inclusion proof of leaf ``index`` in the tree of ``size``.

    The proof is ordered from the leaf's sibling up to the root's other child. Reads at
    most about 2*log2(size) nodes, in one round trip.
    """
    _check_size("index", index)
    _check_size("size", size)
    if index >= size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    # Walk down from the root the way PATH(m, D[n]) recurses, remembering the sibling
    # subtree at each step; the proof lists them bottom-up.
    ranges: list[tuple[int, int]] = []
    start, count, m = 0, size, index
    while count > 1:
        k = _split(count)
        if m < k:
            ranges.append((start + k, count - k))
            count = k
        else:
            ranges.append((start, k))
            start, m, count = start + k, m - k, count - k
    ranges.reverse()
    return _subtree_hashes(store, ranges)


def consistency_proof(store: NodeStore, old_size: int, new_size: int) -> list[bytes]:
    """RFC 9162 section 2.1.4.1 consistency proof between two sizes of the tree.

    Defined for ``0 < old_size <= new_size`` (equal sizes give an empty proof). Proving
    consistency with the empty tree is meaningless (every tree extends it), and the RFC
    verifiers reject it, so ``old_size == 0`` is a ValueError here.
    """
    _check_size("old_size", old_size)
    _check_size("new_size", new_size)
    if old_size == 0 or old_size > new_size:
        raise ValueError(f"consistency proofs need 0 < old_size <= new_size, got {old_size}, {new_size}")
    # Iterative SUBPROOF(m, D[n], b): each step records the sibling subtree; when the
    # walk ends on a subtree equal to the old tree that is not the whole old tree
    # (b false), that subtree's own hash is the deepest element.
    ranges: list[tuple[int, int]] = []
    start, count, m, whole_old_tree = 0, new_size, old_size, True
    while m != count:
        k = _split(count)
        if m <= k:
            ranges.append((start + k, count - k))
            count = k
        else:
            ranges.append((start, k))
            start, m, count = start + k, m - k, count - k
            whole_old_tree = False
    if not whole_old_tree:
        ranges.append((start, count))
    ranges.reverse()
    return _subtree_hashes(store, ranges)


# --------------------------------------------------------------------------- verifying


def _is_bytes(value: object) -> bool:
    return isinstance(value, bytes | bytearray)


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes | bytearray) and len(value) == HASH_SIZE


def _is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes) -> bool:
    """RFC 9162 section 2.1.3.2: is ``leaf`` (a leaf *hash*) at ``index`` of this tree?

    Returns False, never raises, for any malformed input (wrong types, wrong hash
    lengths, index out of range, proof too short or too long).
    """
    try:
        if not (_is_size(index) and _is_size(size) and index < size):
            return False
        if not (_is_hash(leaf) and _is_hash(root_hash)):
            return False
        if not isinstance(proof, Sequence) or isinstance(proof, bytes | str):
            return False
        # A valid proof has at most one element per level of the tree.
        if len(proof) > size.bit_length() or not all(_is_hash(p) for p in proof):
            return False
        fn, sn = index, size - 1
        r = bytes(leaf)
        for p in proof:
            if sn == 0:
                return False
            if fn & 1 or fn == sn:
                r = node_hash(bytes(p), r)
                if not fn & 1:
                    # Right edge: skip the levels where this node has no sibling.
                    while fn and not fn & 1:
                        fn >>= 1
                        sn >>= 1
            else:
                r = node_hash(r, bytes(p))
            fn >>= 1
            sn >>= 1
        return sn == 0 and r == bytes(root_hash)
    except Exception:  # noqa: BLE001 - a verifier answers "no", it never crashes
        return False


def verify_consistency(
    old_size: int,
    new_size: int,
    old_root: bytes,
    new_root: bytes,
    proof: Sequence[bytes],
) -> bool:
    """RFC 9162 section 2.1.4.2: is the tree of ``new_size`` an extension of ``old_size``?

    Returns False, never raises, for malformed input. Following the RFC and its test
    vectors: ``old_size == 0`` is always False (callers treat "the empty tree" as
    trivially extended without asking for a proof); equal sizes are consistent iff the
    roots are byte-identical and the proof is empty.
    """
    try:
        if not (_is_size(old_size) and _is_size(new_size)):
            return False
        if not isinstance(proof, Sequence) or isinstance(proof, bytes | str):
            return False
        if old_size == 0 or old_size > new_size:
            return False
        if old_size == new_size:
            # The vectors accept any equal byte strings here (even not 32 bytes long):
            # there is nothing to prove, the caller compares roots it already holds.
            return (
                len(proof) == 0 and _is_bytes(old_root) and _is_bytes(new_root) and bytes(old_root) == bytes(new_root)
            )
        if not (_is_hash(old_root) and _is_hash(new_root)):
            return False
        if not proof or len(proof) > 2 * new_size.bit_length():
            return False
        if not all(_is_hash(p) for p in proof):
            return False
        path = [bytes(p) for p in proof]
        # A power-of-two old tree is a perfect subtree: its root is the first node.
        if old_size & (old_size - 1) == 0:
            path.insert(0, bytes(old_root))
        fn, sn = old_size - 1, new_size - 1
        while fn & 1:
            fn >>= 1
            sn >>= 1
        fr = sr = path[0]
        for c in path[1:]:
            if sn == 0:
                return False
            if fn & 1 or fn == sn:
                fr = node_hash(c, fr)
                sr = node_hash(c, sr)
                if not fn & 1:
                    while fn and not fn & 1:
                        fn >>= 1
                        sn >>= 1
            else:
                sr = node_hash(sr, c)
            fn >>= 1
            sn >>= 1
        return sn == 0 and fr == bytes(old_root) and sr == bytes(new_root)
    except Exception:  # noqa: BLE001 - a verifier answers "no", it never crashes
        return False


# --------------------------------------------------------------------------- streaming


class CompactRange:
    """The right-edge perfect subtrees ("frontier") of the leaves appended so far.

    Holds at most log2(n) hashes. ``append`` is amortised one node hash per leaf, and
    ``root()`` folds the frontier without changing it, so roots of many sizes can be
    taken during one pass over a log.
    """

    __slots__ = ("_size", "_stack")

    def __init__(self) -> None:
        self._size = 0
        # Perfect subtree hashes, largest (leftmost) first: one per set bit of size.
        self._stack: list[bytes] = []

    @property
    def size(self) -> int:
        return self._size

    def append(self, digest: bytes) -> None:
        """Add one leaf hash (32 bytes; not checked here, this is the hot loop)."""
        n = self._size
        stack = self._stack
        while n & 1:
            digest = _sha256(_NODE_PREFIX + stack.pop() + digest).digest()
            n >>= 1
        stack.append(digest)
        self._size += 1

    def extend(self, digests: Iterable[bytes]) -> None:
        for digest in digests:
            self.append(digest)

    def root(self) -> bytes:
        """Merkle Tree Hash of everything appended so far."""
        if not self._stack:
            return EMPTY_ROOT
        return _compose(self._stack)


def roots_at(leaf_hashes: Iterable[bytes], sizes: Iterable[int]) -> Iterator[tuple[int, bytes]]:
    """Stream ``leaf_hashes`` once and yield ``(size, root)`` for each requested size.

    ``sizes`` may come in any order and may repeat; results come in ascending order of
    size, each as soon as the stream reaches it. Sizes beyond the end of the stream are
    not yielded (the caller notices the gap; ``verify_log`` reports it). Memory is
    O(log n) plus the list of sizes.
    """
    wanted = sorted(set(sizes))
    for size in wanted:
        _check_size("size", size)
    stream = iter(leaf_hashes)
    frontier = CompactRange()
    for size in wanted:
        while frontier.size < size:
            digest = next(stream, None)
            if digest is None:
                return
            frontier.append(digest)
        yield size, frontier.root()


@dataclass(frozen=True)
class LogCheck:
    """Outcome of ``verify_log``: one pass over a whole log against expected roots."""

    entries: int
    """Leaf hashes read (the size of the log as streamed)."""
    root: bytes
    """Root of the whole stream."""
    matched: int
    """Expected ``(size, root)`` pairs whose root was recomputed identically."""
    mismatched: tuple[tuple[int, bytes, bytes], ...]
    """``(size, expected, actual)`` for every expected root that differs."""
    unreached: tuple[int, ...]
    """Expected sizes larger than the stream (the log is shorter than a checkpoint)."""

    @property
    def ok(self) -> bool:
        return not self.mismatched and not self.unreached


def verify_log(leaf_hashes: Iterable[bytes], expected_roots: Iterable[tuple[int, bytes]]) -> LogCheck:
    """Recompute the root at every expected size while streaming the log exactly once.

    ``expected_roots`` are ``(size, root)`` pairs, typically every signed checkpoint;
    they may repeat and come in any order (they are held in memory: checkpoints are
    few next to entries). The whole stream is consumed so that ``entries`` and ``root``
    describe the log as it is. Memory for the fold itself is O(log n).
    """
    by_size: dict[int, list[bytes]] = {}
    for size, expected in expected_roots:
        _check_size("size", size)
        by_size.setdefault(size, []).append(bytes(expected))
    sizes = sorted(by_size)
    matched = 0
    mismatched: list[tuple[int, bytes, bytes]] = []

    def check(size: int, actual: bytes) -> None:
        nonlocal matched
        for expected in by_size[size]:
            if expected == actual:
                matched += 1
            else:
                mismatched.append((size, expected, actual))

    cursor = 0
    if sizes and sizes[0] == 0:
        check(0, EMPTY_ROOT)
        cursor = 1
    next_size = sizes[cursor] if cursor < len(sizes) else -1
    # The hot loop: CompactRange.append inlined, one comparison per entry for the
    # checkpoint test. Locals are bound once because attribute lookups dominate here.
    stack: list[bytes] = []
    pop = stack.pop
    push = stack.append
    sha = _sha256
    prefix = _NODE_PREFIX
    n = 0
    for digest in leaf_hashes:
        carry = n
        while carry & 1:
            digest = sha(prefix + pop() + digest).digest()
            carry >>= 1
        push(digest)
        n += 1
        if n == next_size:
            check(n, _compose(stack))
            cursor += 1
            next_size = sizes[cursor] if cursor < len(sizes) else -1
    return LogCheck(
        entries=n,
        root=_compose(stack) if stack else EMPTY_ROOT,
        matched=matched,
        mismatched=tuple(mismatched),
        unreached=tuple(sizes[cursor:]),
    )

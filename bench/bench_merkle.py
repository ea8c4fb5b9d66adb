"""Benchmark of the audit log's Merkle tree (a script, not a test: it prints, never asserts speed).

Measures, on the in-memory store:

* append cost at 10k and 1M entries, per append: store reads, writes and microseconds,
  and the ratio between the last and the first window to show it does not grow with size;
* streaming verification (``verify_log``) in entries/s, hashing ~200-byte entries with
  ``leaf_hash`` plus the frontier fold, against the >= 200k entries/s goal;
* inclusion and consistency proof time at 1M (real store) and 10M (virtual store).

Run: ``PYTHONPATH=src .venv/bin/python bench/bench_merkle.py [--quick]`` (default run is
about a minute; ``--quick`` uses 100k instead of 1M entries).
"""

from __future__ import annotations

import argparse
import itertools
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence

from legionary.audit.merkle import (
    MemoryNodeStore,
    NodeKey,
    append_leaf,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
    verify_log,
)

ENTRY_SIZE = 200
WINDOW = 10_000


def entry(index: int) -> bytes:
    """A ~200-byte canonical-JSON-like audit entry."""
    head = (
        f'{{"action":"identity.unseal","actor":"staff:{index % 97}","details":{{"reason":"case review"}},'
        f'"index":{index},"subject":"person:{index * 7919 % 1_000_003}","time":"2026-01-01T00:00:00.000000Z","v":1}}'
    ).encode()
    return head.ljust(ENTRY_SIZE, b" ")


def bench_append(total: int) -> MemoryNodeStore:
    print(f"\n== append, in-memory store, {total:,} entries")
    store = MemoryNodeStore()
    leaves = (leaf_hash(entry(i)) for i in range(total))
    windows: list[tuple[int, float, float, float]] = []
    start_reads = start_writes = 0
    t0 = time.perf_counter()
    window_start = t0
    for size, digest in enumerate(leaves):
        store.put_many(append_leaf(store, size, digest))
        if (size + 1) % WINDOW == 0:
            now = time.perf_counter()
            windows.append(
                (
                    size + 1,
                    (now - window_start) / WINDOW * 1e6,
                    (store.reads - start_reads) / WINDOW,
                    (store.writes - start_writes) / WINDOW,
                )
            )
            window_start, start_reads, start_writes = now, store.reads, store.writes
    elapsed = time.perf_counter() - t0
    print(f"   total {elapsed:.2f} s, {total / elapsed:,.0f} appends/s (includes leaf_hash of the entry)")
    print(f"   {'entries':>10} {'us/append':>10} {'reads/append':>13} {'writes/append':>14}")
    shown = (
        windows
        if len(windows) <= 6
        else [*windows[:2], *windows[len(windows) // 2 : len(windows) // 2 + 1], *windows[-2:]]
    )
    for n, us, reads, writes in shown:
        print(f"   {n:>10,} {us:>10.2f} {reads:>13.2f} {writes:>14.2f}")
    first, last = windows[0], windows[-1]
    print(
        f"   last/first window time ratio: {last[1] / first[1]:.2f} (1.00 = no slowdown); node reads and writes"
        " per append are constant, what growth there is comes from the Python dict outgrowing the CPU caches"
    )
    # The reads of appending at size s are its trailing one bits; the worst case is s = 2**k - 1.
    worst = max((~s & (s + 1)).bit_length() - 1 for s in range(total))
    print(f"   worst single append: {worst} reads, {worst + 1} writes (= floor(log2 n)); amortised 1 read, 2 writes")
    print(f"   nodes stored: {len(store):,} (= 2n - popcount(n))")
    return store


def bench_verify(total: int) -> None:
    print(f"\n== streaming verify (verify_log), {total:,} entries of {ENTRY_SIZE} bytes")
    # Distinct entries are built once and cycled: hashing cost does not depend on content,
    # and building 1M entries would dominate the measurement.
    pool = [entry(i) for i in range(100_000)]

    def entries() -> Iterator[bytes]:
        return itertools.islice(itertools.cycle(pool), total)

    # Expected roots at 100 checkpoints, from a first pass (a verifier gets them from notes).
    sizes = sorted({random.randint(1, total) for _ in range(100)} | {total})
    first = verify_log((leaf_hash(e) for e in entries()), [])
    expected = [(total, first.root)]

    t0 = time.perf_counter()
    for e in entries():
        leaf_hash(e)
    hash_only = time.perf_counter() - t0

    t0 = time.perf_counter()
    result = verify_log((leaf_hash(e) for e in entries()), expected + [(s, b"\0" * 32) for s in sizes[:-1]])
    elapsed = time.perf_counter() - t0
    rate = total / elapsed
    goal = "meets" if rate >= 200_000 else "MISSES"
    print(f"   {rate:,.0f} entries/s ({elapsed:.2f} s), goal 200,000/s: {goal} it ({rate / 200_000:.2f}x)")
    print(f"   of which leaf_hash alone: {total / hash_only:,.0f} entries/s ({hash_only / elapsed:.0%} of the time)")
    print(
        f"   roots recomputed at {len(sizes)} sizes in the same pass; final root matched: "
        f"{result.matched == 1}, deliberately wrong roots caught: {len(result.mismatched)}"
    )
    print(f"   projected for a 10M-entry log: {10_000_000 / rate:.0f} s")


class UniformTreeStore:
    """A real RFC 6962 tree of ``size`` identical leaves, without materialising it.

    With every leaf equal, every perfect subtree of a level has the same hash, so the
    store needs one hash per level. Proofs read and compose exactly the same nodes as on
    a stored tree, and they verify against the genuine root of that tree.
    """

    def __init__(self, size: int, leaf: bytes) -> None:
        self.size = size
        self.reads = 0
        self.by_level = [leaf]
        for _ in range(size.bit_length()):
            self.by_level.append(node_hash(self.by_level[-1], self.by_level[-1]))

    def get_many(self, keys: Sequence[NodeKey]) -> Mapping[NodeKey, bytes]:
        self.reads += len(keys)
        # Only nodes of complete subtrees exist, as in a real store.
        return {(lv, ix): self.by_level[lv] for lv, ix in keys if (ix + 1) << lv <= self.size}


def time_per_call(fn: Callable[[], object], repeat: int) -> float:
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t0) / repeat * 1e6


def bench_proofs(
    label: str, store: MemoryNodeStore | UniformTreeStore, size: int, leaf_of: Callable[[int], bytes]
) -> None:
    rng = random.Random(7)
    indexes = [rng.randrange(size) for _ in range(2000)]
    tree_root = root(store, size)
    it = iter(itertools.cycle(indexes))
    us_incl = time_per_call(lambda: inclusion_proof(store, next(it), size), 2000)
    proof = inclusion_proof(store, indexes[0], size)
    leaf = leaf_of(indexes[0])
    us_verify = time_per_call(lambda: verify_inclusion(leaf, indexes[0], size, proof, tree_root), 2000)
    assert verify_inclusion(leaf, indexes[0], size, proof, tree_root)
    old = size // 3 + 1
    old_root = root(store, old)
    us_cons = time_per_call(lambda: consistency_proof(store, old, size), 2000)
    cproof = consistency_proof(store, old, size)
    assert verify_consistency(old, size, old_root, tree_root, cproof)
    us_root = time_per_call(lambda: root(store, size), 2000)
    before = store.reads
    inclusion_proof(store, indexes[1], size)
    reads = store.reads - before
    print(
        f"   {label:<28} inclusion proof {us_incl:6.1f} us ({len(proof)} hashes, {reads} node reads), "
        f"verify {us_verify:5.1f} us, consistency proof {us_cons:6.1f} us, root {us_root:5.1f} us"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k instead of 1M entries")
    args = parser.parse_args()
    big = 100_000 if args.quick else 1_000_000
    random.seed(1)

    small_store = bench_append(10_000)
    store = bench_append(big)
    bench_verify(big)

    print("\n== proofs (2000 random leaves each)")
    bench_proofs("10k, real in-memory store", small_store, 10_000, lambda i: leaf_hash(entry(i)))
    bench_proofs(
        ("1M" if big == 1_000_000 else f"{big // 1000}k") + ", real in-memory store",
        store,
        big,
        lambda i: leaf_hash(entry(i)),
    )
    same = leaf_hash(entry(0))
    bench_proofs("10M, VIRTUAL uniform store", UniformTreeStore(10_000_000, same), 10_000_000, lambda i: same)
    print("   (10M uses a virtual store: a genuine tree of 10M identical leaves, one hash per level,")
    print("    so nothing is materialised; proofs read and compose the same nodes and verify.)")


if __name__ == "__main__":
    main()

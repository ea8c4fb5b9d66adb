"""The per-entry half of audit verification: checking entries against their bodies and leaf nodes,
and folding the leaves into the Merkle tree. No Django here, so that worker processes can run it.

``verification`` drives it over the whole log in one process, or (SQLite, large logs) hands
aligned ranges of the log to worker processes through ``check_range``: each range of 2**k entries
is one perfect subtree, checked completely (entries, columns, leaf nodes, every stored inner node
inside it) by a process of its own with its own read-only connection, and summarised by its root
and the pieces of the roots at the checkpoint sizes inside it.

Must never: trust a stored hash it did not recompute, or answer "intact" for a range in which any
check did not hold (a range only says yes or no; naming what is wrong is the sequential pass's job).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from operator import itemgetter
from typing import Any, Literal
from urllib.parse import quote

Kind = Literal["entry", "checkpoint", "node", "head"]
# A wholesale rewrite would otherwise print a line per entry; the first ones say enough.
MAX_ENTRY_PROBLEMS = 20


@dataclass(frozen=True)
class Problem:
    kind: Kind
    at: int
    """Entry index, checkpoint size, node index (at ``level``), or the head's size."""
    message: str
    level: int = 0

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "at": self.at, "message": self.message}
        if self.kind == "node":
            out["level"] = self.level
        return out


@dataclass
class Scan:
    entries: int = 0
    root: bytes = b""
    roots: dict[int, bytes] = field(default_factory=dict)
    pieces: dict[int, list[bytes]] = field(default_factory=dict)
    """Instead of ``roots`` when folding a range: the perfect subtrees making up each wanted size."""
    level_digests: list[Any] = field(default_factory=list)
    entry_problems: list[Problem] = field(default_factory=list)
    extra_entry_problems: int = 0
    leaf_problems: int = 0
    covered: int = 0
    """Entries 0 .. covered - 1 were checked by range workers, with the nodes of their subtrees
    up to level ``covered_level``; the level digests of those levels start after them."""
    covered_level: int = 0


def compose(stack: Sequence[bytes]) -> bytes:
    """The root of a compact range: its perfect subtrees, largest first, folded from the right."""
    acc = stack[-1]
    for digest in reversed(stack[:-1]):
        acc = hashlib.sha256(b"\x01" + digest + acc).digest()
    return acc


def column_problem(index: int, body: bytes) -> str:
    """Why the columns and the body disagree: only reached when they do, so it may parse."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return "its body is not valid JSON; it was edited."
    if not isinstance(document, dict):
        return "its body is not an audit entry; it was edited."
    if document.get("index") != index:
        return f"its body says it is entry {document.get('index')}; entries were moved or reordered."
    return "its columns (actor, action, subject or time) differ from its hashed body; a column was edited."


class EntryChecker:
    """Checks each entry's columns and index against its body, and its body against its leaf node.

    Rows are ``(index, body, stored leaf node or None, action, actor, subject, time as in the
    body)``. ``fast`` answers for a whole batch whether everything holds, without recording
    anything; only a batch where something does not hold goes through ``slow``, which names every
    problem row by row exactly as a one-row-at-a-time check would.
    """

    def __init__(self, scan: Scan, head_size: int, expected_index: int = 0) -> None:
        self.scan = scan
        self.head_size = head_size
        self.expected_index = expected_index
        self.prefixes: dict[tuple[str, str], bytes] = {}

    def _prefix(self, action: str, actor: str) -> bytes:
        prefix = self.prefixes.get((action, actor))
        if prefix is None:
            if len(self.prefixes) > 50_000:
                self.prefixes.clear()
            prefix = self.prefixes[(action, actor)] = (
                f'{{"action":{encode_basestring(action)},"actor":{encode_basestring(actor)},"details":'
            ).encode()
        return prefix

    def fast(self, rows: list[tuple[Any, ...]], leaves: list[bytes]) -> bool:
        first, last, count = rows[0][0], rows[-1][0], len(rows)
        # Indexes are unique and sorted: the first and the last say whether the batch has a gap.
        if first != self.expected_index or last - first + 1 != count:
            return False
        if [row[2] for row in rows] != leaves:
            return False
        prefixes, encode = self.prefixes, encode_basestring
        # The body is canonical JSON with sorted keys: the columns must appear verbatim as its
        # prefix (action, actor) and suffix (index, subject, time). JSON string literals end
        # unambiguously, so a matching prefix and suffix mean equal values, without parsing.
        for index, data, _, action, actor, subject, when in rows:
            prefix = prefixes.get((action, actor)) or self._prefix(action, actor)
            if not (
                data.startswith(prefix)
                and data.endswith(f',"index":{index},"subject":{encode(subject)},"time":"{when}","v":1}}'.encode())
            ):
                return False
        self.expected_index = last + 1
        return True

    def slow(self, rows: list[tuple[Any, ...]], leaves: list[bytes]) -> None:
        scan = self.scan
        problems = scan.entry_problems
        head_size = self.head_size

        def problem(index: int, message: str) -> None:
            if len(problems) < MAX_ENTRY_PROBLEMS:
                problems.append(Problem("entry", index, f"entry {index}: {message}"))
            else:
                scan.extra_entry_problems += 1

        for (index, data, leaf_node, action, actor, subject, when), leaf in zip(rows, leaves, strict=True):
            expected_index = self.expected_index
            if index != expected_index:
                if index >= head_size:
                    problem(index, f"it lies beyond the end of the log (the head counts {head_size}); it was inserted.")
                else:
                    missing = f"{expected_index}" if index == expected_index + 1 else f"{expected_index}-{index - 1}"
                    problem(expected_index, f"missing (entries {missing} are not stored); entries were deleted.")
            self.expected_index = index + 1
            suffix = f',"index":{index},"subject":{encode_basestring(subject)},"time":"{when}","v":1}}'.encode()
            if not (data.startswith(self._prefix(action, actor)) and data.endswith(suffix)):
                problem(index, column_problem(index, data))
            if leaf_node is None:
                scan.leaf_problems += 1
                problem(index, "its leaf node is missing from the tree.")
            elif leaf != leaf_node:
                scan.leaf_problems += 1
                problem(index, "its body no longer hashes to its leaf node; the body or the node was edited.")


class Fold:
    """The tree folded from the leaves in order (a compact range: one perfect subtree per set bit
    of the size), recording the root at the wanted sizes and every completed inner node in its
    level's running digest, for the comparison with the stored nodes.

    A batch of ``chunk`` leaves (a power of two) starting at a multiple of ``chunk`` is one perfect
    subtree and is hashed a level at a time. With ``keep_pieces`` the wanted sizes get the list of
    perfect subtrees that make them up (``Scan.pieces``) instead of their root, for a caller that
    knows the subtrees to their left.
    """

    def __init__(self, scan: Scan, sizes: set[int], chunk: int, *, keep_pieces: bool = False) -> None:
        self.scan = scan
        self.digests = scan.level_digests
        self.chunk = chunk
        self.keep_pieces = keep_pieces
        self.stack: list[bytes] = []
        self.n = 0
        self.wanted = sorted(s for s in sizes if s > 0)
        self.next_at = 0

    def _digest(self, level: int) -> Any:
        while len(self.digests) < level:
            self.digests.append(hashlib.sha256())
        return self.digests[level - 1]

    def _next_size(self) -> int:
        return self.wanted[self.next_at] if self.next_at < len(self.wanted) else -1

    def _record(self, size: int, pieces: list[bytes]) -> None:
        if self.keep_pieces:
            self.scan.pieces[size] = pieces
        else:
            self.scan.roots[size] = compose(pieces)
        self.next_at += 1

    def add(self, leaves: list[bytes]) -> None:
        if len(leaves) == self.chunk and self.n % self.chunk == 0:
            self._add_perfect(leaves)
        else:
            self._add_one_by_one(leaves)

    def add_subtree(self, root: bytes, level: int, pieces: dict[int, list[bytes]]) -> None:
        """Appends a perfect subtree of 2**level leaves, at a multiple of 2**level, that was checked
        elsewhere with all its nodes: ``pieces`` are its own subtrees at the wanted sizes inside
        it. Only the nodes it completes above ``level`` go to the level digests."""
        while 0 < (size := self._next_size()) <= self.n + (1 << level):
            self._record(size, self.stack + pieces[size - self.n])
        sha = hashlib.sha256
        stack = self.stack
        digest, carry, height = root, self.n >> level, level
        while carry & 1:
            digest = sha(b"\x01" + stack.pop() + digest).digest()
            carry >>= 1
            height += 1
            self._digest(height).update(digest)
        stack.append(digest)
        self.n += 1 << level

    def _add_perfect(self, leaves: list[bytes]) -> None:
        """A batch of 2**k leaves starting at a multiple of 2**k is one perfect subtree: hashed a
        level at a time, with the roots of sizes inside it composed from its levels."""
        sha = hashlib.sha256
        levels = [leaves]
        current = leaves
        while len(current) > 1:
            pairs = iter(current)
            current = [sha(b"\x01" + left + right).digest() for left, right in zip(pairs, pairs, strict=True)]
            self._digest(len(levels)).update(b"".join(current))
            levels.append(current)
        start, end = self.n, self.n + len(leaves)
        size = self._next_size()
        while 0 < size <= end:
            offset, position, pieces = size - start, 0, []
            for level in range(len(levels) - 1, -1, -1):
                if offset >> level & 1:
                    pieces.append(levels[level][position >> level])
                    position += 1 << level
            self._record(size, self.stack + pieces)
            size = self._next_size()
        top_level = len(levels) - 1
        digest, carry, level = current[0], start >> top_level, top_level
        stack = self.stack
        while carry & 1:
            digest = sha(b"\x01" + stack.pop() + digest).digest()
            carry >>= 1
            level += 1
            self._digest(level).update(digest)
        stack.append(digest)
        self.n = end

    def _add_one_by_one(self, leaves: list[bytes]) -> None:
        sha = hashlib.sha256
        stack = self.stack
        pop, push = stack.pop, stack.append
        digests = self.digests
        n = self.n
        next_size = self._next_size()
        for leaf in leaves:
            carry, level = n, 0
            while carry & 1:
                leaf = sha(b"\x01" + pop() + leaf).digest()
                carry >>= 1
                level += 1
                if level > len(digests):
                    digests.append(hashlib.sha256())
                digests[level - 1].update(leaf)
            push(leaf)
            n += 1
            if n == next_size:
                self._record(n, list(stack))
                next_size = self._next_size()
        self.n = n


# --- ranges checked by worker processes (SQLite) ---------------------------------------------------


@dataclass(frozen=True)
class RangeTask:
    """Entries ``start .. start + 2**level - 1``: one perfect subtree of the log."""

    path: str
    """The SQLite database file."""
    entry_sql: str
    """The rows ``EntryChecker`` takes, for indexes ``>= ?`` and ``< ?``, in index order."""
    node_sql: str
    """Node hashes for keys ``>= ?`` and ``< ?``, in key order."""
    start: int
    level: int
    node_keys: tuple[tuple[int, int, int], ...]
    """For each level 1 .. ``level``: (level, first key, key after the last) of the range's nodes."""
    sizes: tuple[int, ...]
    """Checkpoint sizes in ``start + 1 .. start + 2**level``."""
    chunk: int


@dataclass(frozen=True)
class RangeSummary:
    intact: bool
    root: bytes = b""
    pieces: dict[int, list[bytes]] = field(default_factory=dict)
    """For each of the task's sizes: the range's perfect subtrees that end there."""


_databases: dict[str, sqlite3.Connection] = {}


def _database(path: str) -> sqlite3.Connection:
    """One read-only connection per worker process, kept for the tasks that follow."""
    db = _databases.get(path)
    if db is None:
        db = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=30, isolation_level=None)
        _databases[path] = db
    return db


def _rows(db: sqlite3.Connection, sql: str, params: tuple[int, int], size: int) -> Iterator[list[tuple[Any, ...]]]:
    cursor = db.execute(sql, params)
    try:
        while rows := cursor.fetchmany(size):
            yield rows
    finally:
        cursor.close()


def check_range(task: RangeTask) -> RangeSummary:
    """Checks one range completely, in one read transaction: every entry (index, columns, leaf
    node), the count, and every stored node inside the range against the recomputed ones."""
    db = _database(task.path)
    scan = Scan()
    checker = EntryChecker(scan, head_size=-1, expected_index=task.start)
    fold = Fold(scan, {size - task.start for size in task.sizes}, task.chunk, keep_pieces=True)
    sha = hashlib.sha256
    end = task.start + (1 << task.level)
    first = itemgetter(0)
    db.execute("BEGIN")
    try:
        for rows in _rows(db, task.entry_sql, (task.start, end), task.chunk):
            leaves = [sha(b"\x00" + row[1]).digest() for row in rows]
            if not checker.fast(rows, leaves):
                return RangeSummary(intact=False)
            fold.add(leaves)
        if fold.n != 1 << task.level:
            return RangeSummary(intact=False)
        for level, low, high in task.node_keys:
            stored, count = hashlib.sha256(), 0
            for rows in _rows(db, task.node_sql, (low, high), 4 * task.chunk):
                stored.update(b"".join(map(first, rows)))
                count += len(rows)
            if count != high - low or stored.digest() != scan.level_digests[level - 1].digest():
                return RangeSummary(intact=False)
    finally:
        db.execute("ROLLBACK")
    return RangeSummary(intact=True, root=fold.stack[0], pieces=scan.pieces)

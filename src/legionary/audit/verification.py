"""Verification of the audit log: recomputes the tree from the entries and checks everything stored.

One pass over the entries (in a read snapshot, with a raw streaming cursor) checks, per entry: that
indexes run 0, 1, 2... without a gap, that the indexed columns (actor, action, subject, time) and
the index still say what the hashed body says, and that the body still hashes to its stored leaf
node. The same pass folds the leaves into the tree, recomputing the root at every checkpoint's
size and a running digest of every inner node per level; a second pass over the stored inner nodes
compares them level by level. Every stored checkpoint (and any checkpoint kept off the machine)
must carry a valid signature and match the recomputed root at its size, and consecutive
checkpoints must be consistent according to the stored tree.

Must never: write anything (recording that a verification ran is the caller's job, after it
ran), trust a stored root or node without recomputing it, or stop at the first problem without
saying where it is.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from operator import itemgetter
from typing import Any, Literal

from django.conf import settings
from django.db import connection, transaction

from legionary.audit import checkpoint as notes
from legionary.audit import merkle
from legionary.audit.models import Checkpoint, Entry, LogHead, Node
from legionary.audit.services import LEVEL_SHIFT, DbNodeStore, pack_key, parse_verifier

Kind = Literal["entry", "checkpoint", "node", "head"]
_KIND_ORDER = {"entry": 0, "checkpoint": 1, "node": 2, "head": 3}
# A wholesale rewrite would otherwise print a line per entry; the first ones say enough.
MAX_ENTRY_PROBLEMS = 20
# Entries are read, checked and folded this many at a time. A power of two: a full batch that
# starts at a multiple of it is one perfect subtree, hashed a level at a time.
CHUNK = 8192
_INDEX_MASK = (1 << LEVEL_SHIFT) - 1


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
class VerifyResult:
    entries: int = 0
    checkpoints: int = 0
    root: bytes = merkle.EMPTY_ROOT
    problems: list[Problem] = field(default_factory=list)
    external: list[int] = field(default_factory=list)
    """Sizes of the checkpoints given from off the machine that were checked."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def ordered(self) -> list[Problem]:
        return sorted(self.problems, key=lambda p: (_KIND_ORDER[p.kind], p.level, p.at))

    def first(self, kind: Kind) -> int | None:
        found = [p.at for p in self.problems if p.kind == kind]
        return min(found) if found else None

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "external_checkpoints": self.external,
            "root": self.root.hex(),
            "first_bad_entry": self.first("entry"),
            "first_bad_checkpoint": self.first("checkpoint"),
            "problems": [p.as_json() for p in self.ordered()],
        }


@contextmanager
def _read_snapshot() -> Iterator[None]:
    """Every query of one verification sees the same state, while appenders go on writing.

    Inside a caller's transaction that transaction is the snapshot. Otherwise: PostgreSQL gets a
    read-only REPEATABLE READ transaction; SQLite a plain deferred BEGIN (Django's atomic would take
    the write lock, as the settings ask for IMMEDIATE, and stall every appender while we read).
    """
    if connection.in_atomic_block:
        yield
        return
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield
        return
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("BEGIN DEFERRED")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ROLLBACK")


def _quoted(*names: str) -> list[str]:
    return [connection.ops.quote_name(n) for n in names]


def _stream(sql: str, params: Sequence[Any] = (), size: int = 0) -> Iterator[list[tuple[Any, ...]]]:
    """Batches of rows (``CHUNK`` unless ``size``) from a server-side cursor (PostgreSQL) or a
    plain one (SQLite)."""
    cursor = connection.chunked_cursor()
    try:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(size or CHUNK):
            yield rows
    finally:
        cursor.close()


def _fetch(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _time_sql() -> str:
    """SQL giving ``created_at`` exactly as the body spells it (``YYYY-MM-DDTHH:MM:SS.ffffffZ``).

    Done by the database so the loop compares bytes instead of building a datetime per row.
    """
    if connection.vendor == "postgresql":
        return """to_char(e."created_at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
    # SQLite holds 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC (no fraction when it is zero).
    return (
        """replace(CASE WHEN length(e."created_at") = 19 THEN e."created_at" || '.000000' """
        """ELSE e."created_at" END, ' ', 'T') || 'Z'"""
    )


@dataclass
class _Scan:
    entries: int = 0
    root: bytes = merkle.EMPTY_ROOT
    roots: dict[int, bytes] = field(default_factory=dict)
    level_digests: list[Any] = field(default_factory=list)
    entry_problems: list[Problem] = field(default_factory=list)
    extra_entry_problems: int = 0
    leaf_problems: int = 0


def _compose(stack: list[bytes]) -> bytes:
    acc = stack[-1]
    for digest in reversed(stack[:-1]):
        acc = hashlib.sha256(b"\x01" + digest + acc).digest()
    return acc


def _as_bytes(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """psycopg2 hands out ``bytea`` as memoryview; the loops below compare ``bytes``."""
    return [(row[0], bytes(row[1]), *row[2:]) for row in rows]


def _leaf_nodes(first: int, last: int, count: int) -> list[bytes] | None:
    """The stored leaf nodes of entries ``first..last`` in order, if all ``count`` of them exist.

    Keys are unique, so ``count`` rows with keys in a range of ``count`` integers are exactly the
    keys of that range.
    """
    if last - first + 1 != count or first < 0 or last >= 1 << LEVEL_SHIFT:
        return None
    node, key, hash_ = _quoted(Node._meta.db_table, "key", "hash")
    rows = _fetch(
        f"SELECT {hash_} FROM {node} WHERE {key} >= %s AND {key} <= %s ORDER BY {key}",  # noqa: S608 — quoted constants
        [first, last],
    )
    if len(rows) != count:
        return None
    if type(rows[0][0]) is bytes:
        return list(map(itemgetter(0), rows))
    return [bytes(digest) for (digest,) in rows]


def _leaf_node_map(indexes: list[int]) -> dict[int, bytes]:
    """Stored leaf nodes by entry index, for the slow path (keys looked up one by one)."""
    node, key, hash_ = _quoted(Node._meta.db_table, "key", "hash")
    found: dict[int, bytes] = {}
    for start in range(0, len(indexes), 500):
        batch = indexes[start : start + 500]
        marks = ", ".join(["%s"] * len(batch))
        for packed, digest in _fetch(f"SELECT {key}, {hash_} FROM {node} WHERE {key} IN ({marks})", batch):  # noqa: S608
            found[packed] = bytes(digest)
    return found


class _EntryChecker:
    """Checks each entry's columns and index against its body, and its body against its leaf node.

    ``fast`` answers for a whole batch whether everything holds, without recording anything;
    only a batch where something does not hold goes through ``slow``, which names every problem
    row by row exactly as a one-row-at-a-time check would.
    """

    def __init__(self, scan: _Scan, head_size: int) -> None:
        self.scan = scan
        self.head_size = head_size
        self.expected_index = 0
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
        prefixes, encode = self.prefixes, encode_basestring
        # The body is canonical JSON with sorted keys: the columns must appear verbatim as its
        # prefix (action, actor) and suffix (index, subject, time). JSON string literals end
        # unambiguously, so a matching prefix and suffix mean equal values, without parsing.
        for index, data, action, actor, subject, when in rows:
            prefix = prefixes.get((action, actor)) or self._prefix(action, actor)
            if not (
                data.startswith(prefix)
                and data.endswith(f',"index":{index},"subject":{encode(subject)},"time":"{when}","v":1}}'.encode())
            ):
                return False
        if _leaf_nodes(first, last, count) != leaves:
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

        stored = _leaf_node_map([row[0] for row in rows])
        for (index, data, action, actor, subject, when), leaf in zip(rows, leaves, strict=True):
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
                problem(index, _column_problem(index, data))
            leaf_node = stored.get(index)
            if leaf_node is None:
                scan.leaf_problems += 1
                problem(index, "its leaf node is missing from the tree.")
            elif leaf != leaf_node:
                scan.leaf_problems += 1
                problem(index, "its body no longer hashes to its leaf node; the body or the node was edited.")


class _Fold:
    """The tree folded from the leaves in order (a compact range: one perfect subtree per set bit
    of the size), recording the root at the wanted sizes and every completed inner node in its
    level's running digest, for the comparison with the stored nodes."""

    def __init__(self, scan: _Scan, sizes: set[int]) -> None:
        self.scan = scan
        self.digests = scan.level_digests
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

    def add(self, leaves: list[bytes]) -> None:
        count = len(leaves)
        if count == CHUNK and self.n % CHUNK == 0:
            self._add_perfect(leaves)
        else:
            self._add_one_by_one(leaves)

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
            self.scan.roots[size] = _compose(self.stack + pieces)
            self.next_at += 1
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
                self.scan.roots[n] = _compose(stack)
                self.next_at += 1
                next_size = self._next_size()
        self.n = n


def _scan_entries(sizes: set[int], head_size: int, progress: Callable[[int], object] | None) -> _Scan:
    """One pass over the entries in index order, a batch of ``CHUNK`` at a time."""
    entry = _quoted(Entry._meta.db_table)[0]
    i, body, action, actor, subject = _quoted("index", "body", "action", "actor", "subject")
    sql = (
        f"SELECT e.{i}, e.{body}, e.{action}, e.{actor}, e.{subject}, {_time_sql()} "  # noqa: S608 — names are quoted constants
        f"FROM {entry} e ORDER BY e.{i}"
    )
    scan = _Scan()
    checker = _EntryChecker(scan, head_size)
    fold = _Fold(scan, sizes)
    sha = hashlib.sha256
    for batch in _stream(sql):
        rows = batch if type(batch[0][1]) is bytes else _as_bytes(batch)
        leaves = [sha(b"\x00" + row[1]).digest() for row in rows]
        if not checker.fast(rows, leaves):
            checker.slow(rows, leaves)
        fold.add(leaves)
        if progress is not None:
            progress(len(rows))
    scan.entries = fold.n
    scan.root = _compose(fold.stack) if fold.stack else merkle.EMPTY_ROOT
    if 0 in sizes:
        scan.roots[0] = merkle.EMPTY_ROOT
    return scan


def _column_problem(index: int, body: bytes) -> str:
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


def _check_inner_nodes(scan: _Scan, result: VerifyResult) -> None:
    """Stored inner nodes against the digests the fold computed, level by level.

    Level L of a tree of n leaves holds exactly the nodes 0 .. (n >> L) - 1: each level is read
    as one range of keys in order (hashes only), fed to a running digest, and counted; a key
    outside those ranges is looked for separately.
    """
    node, key, hash_ = _quoted(Node._meta.db_table, "key", "hash")
    n = scan.entries
    highest = _fetch(f"SELECT MAX({key}) FROM {node}", [])[0][0]  # noqa: S608 — quoted constants
    top = max(len(scan.level_digests), (highest or 0) >> LEVEL_SHIFT)
    first = itemgetter(0)
    for level in range(1, top + 1):
        base, expected_count = pack_key(level, 0), n >> level
        stored, count = hashlib.sha256(), 0
        if expected_count:
            sql = f"SELECT {hash_} FROM {node} WHERE {key} >= %s AND {key} < %s ORDER BY {key}"  # noqa: S608
            for rows in _stream(sql, [base, base + expected_count], size=4 * CHUNK):
                stored.update(b"".join(map(first, rows)))
                count += len(rows)
        beyond = _fetch(
            f"SELECT MIN({key}) FROM {node} WHERE {key} >= %s AND {key} < %s",  # noqa: S608
            [base + expected_count, pack_key(level + 1, 0)],
        )[0][0]
        expected = scan.level_digests[level - 1].digest() if level <= len(scan.level_digests) else None
        if beyond is not None:
            index = beyond & _INDEX_MASK
        elif count == expected_count and (expected_count == 0 or stored.digest() == expected):
            continue
        else:
            index = _first_bad_node(level, n)
        span = 1 << level
        result.problems.append(
            Problem(
                "node",
                index,
                f"tree node (level {level}, index {index}) over entries {index * span}-{(index + 1) * span - 1} "
                "does not match the entries; the stored tree was edited and its proofs are wrong.",
                level=level,
            )
        )
        return  # the levels above are built on this one and say nothing new


def _first_bad_node(level: int, size: int) -> int:
    """Index of the first node at ``level`` that is not the hash of its (verified) children."""
    count = size >> level
    batch = CHUNK
    for start in range(0, count, batch):
        stop = min(start + batch, count)
        children = dict(
            Node.objects.filter(
                key__gte=pack_key(level - 1, 2 * start), key__lte=pack_key(level - 1, 2 * stop - 1)
            ).values_list("key", "hash")
        )
        parents = dict(
            Node.objects.filter(key__gte=pack_key(level, start), key__lte=pack_key(level, stop - 1)).values_list(
                "key", "hash"
            )
        )
        for index in range(start, stop):
            left = children.get(pack_key(level - 1, 2 * index))
            right = children.get(pack_key(level - 1, 2 * index + 1))
            parent = parents.get(pack_key(level, index))
            if left is None or right is None or parent is None:
                return index
            if merkle.node_hash(bytes(left), bytes(right)) != bytes(parent):
                return index
    return count


@dataclass(frozen=True)
class _Signed:
    size: int
    root: bytes
    label: str


def _open(note: str, key: notes.VerifierKey, label: str) -> tuple[_Signed | None, str | None]:
    try:
        opened = notes.open_checkpoint(note, key)
    except notes.CheckpointError as exc:
        return None, f"{label}: its signature does not verify with {key.name}+{key.key_id.hex()} ({exc})."
    if opened.origin != settings.LEGIONARY_LOG_ORIGIN:
        return None, f"{label}: it is for the log {opened.origin!r}, not {settings.LEGIONARY_LOG_ORIGIN!r}."
    return _Signed(opened.size, opened.root_hash, label), None


def audit_verify(
    *,
    progress: Callable[[int], object] | None = None,
    verifier: str | None = None,
    external_notes: Iterable[str] = (),
) -> VerifyResult:
    """Recomputes the tree from the entries and checks it against every stored checkpoint.

    ``verifier`` is a witness's copy of the public key (default: this instance's own key, which
    an intruder who holds the machine could have replaced). ``external_notes`` are checkpoints
    kept off the machine: each must verify and match the log's recomputed root at its size, which
    proves the log is an append-only extension of what was signed then. Raises ``AuditError`` for
    a malformed verifier key; everything wrong with the log is a ``Problem`` in the result.
    """
    key = parse_verifier(verifier)
    result = VerifyResult()
    with _read_snapshot():
        head = LogHead.objects.filter(id=1).values_list("size", flat=True).first() or 0
        stored = list(Checkpoint.objects.order_by("size").values_list("size", "root", "note"))
        result.checkpoints = len(stored)
        signed: list[_Signed] = []
        for size, root, note in stored:
            label = f"checkpoint at size {size}"
            opened, error = _open(note, key, label)
            if opened is None:
                result.problems.append(Problem("checkpoint", size, error or label))
            elif opened.size != size or opened.root != bytes(root):
                result.problems.append(
                    Problem("checkpoint", size, f"{label}: its stored size or root differs from its signed note.")
                )
            else:
                signed.append(opened)
        outside: list[_Signed] = []
        for number, note in enumerate(external_notes, start=1):
            opened, error = _open(note, key, f"the given checkpoint #{number}")
            if opened is None:
                result.problems.append(Problem("checkpoint", 0, error or "the given checkpoint"))
            else:
                outside.append(
                    _Signed(opened.size, opened.root, f"the given checkpoint of size {opened.size} (#{number})")
                )
                result.external.append(opened.size)

        scan = _scan_entries({s.size for s in signed + outside}, head, progress)
        result.entries, result.root = scan.entries, scan.root
        result.problems.extend(scan.entry_problems)
        if scan.extra_entry_problems:
            result.problems.append(
                Problem("entry", scan.entries, f"... and {scan.extra_entry_problems} more entry problems.")
            )
        first_bad = min((p.at for p in scan.entry_problems), default=None)
        previous = 0
        truncated = False
        for cp in sorted(signed + outside, key=lambda c: c.size):
            at = cp.size
            if cp.size > scan.entries:
                truncated = True
                result.problems.append(
                    Problem(
                        "checkpoint",
                        at,
                        f"{cp.label}: the log holds only {scan.entries} entries; "
                        f"entries {scan.entries}-{cp.size - 1} were removed (its tail was truncated).",
                    )
                )
            elif scan.roots.get(cp.size) != cp.root:
                where = (
                    f"entry {first_bad} was changed"
                    if first_bad is not None and first_bad < cp.size
                    else f"entries between {previous} and {cp.size - 1} were rewritten"
                )
                result.problems.append(
                    Problem("checkpoint", at, f"{cp.label}: the root recomputed from the entries differs; {where}.")
                )
            else:
                previous = cp.size
        if scan.entries < head and not truncated:
            result.problems.append(
                Problem("entry", scan.entries, f"entry {scan.entries}: missing; the log head counts {head} entries.")
            )
        elif scan.entries > head and not scan.entry_problems:
            result.problems.append(
                Problem("head", head, f"the log head counts {head} entries but {scan.entries} are stored.")
            )
        if not scan.leaf_problems:
            _check_inner_nodes(scan, result)
        _check_stray_leaves(scan.entries, head, result)
        if result.ok:
            _check_consistency(signed, result)
    return result


def _check_stray_leaves(size: int, head: int, result: VerifyResult) -> None:
    stray = Node.objects.filter(key__gte=max(size, head), key__lt=1 << LEVEL_SHIFT).values_list("key", flat=True)
    first = stray.order_by("key").first()
    if first is not None:
        result.problems.append(
            Problem("node", first, f"tree node (level 0, index {first}) lies beyond the log's end; it was inserted.")
        )


def _check_consistency(signed: list[_Signed], result: VerifyResult) -> None:
    """Each checkpoint extends the previous one, by the proofs the stored tree would serve."""
    store = DbNodeStore()
    ordered = sorted(signed, key=lambda c: c.size)
    for old, new in itertools.pairwise(ordered):
        if old.size == 0 or old.size == new.size:
            continue
        try:
            proof = merkle.consistency_proof(store, old.size, new.size)
        except merkle.MissingNodeError:
            proof = []
        if not merkle.verify_consistency(old.size, new.size, old.root, new.root, proof):
            result.problems.append(
                Problem("checkpoint", new.size, f"{new.label}: it is not a consistent extension of {old.label}.")
            )
            return


def verify_external_checkpoint(note: str, verifier: str | None = None) -> VerifyResult:
    """Checks a checkpoint copied off the machine earlier against the log as it is now."""
    return audit_verify(verifier=verifier, external_notes=[note])

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
FETCH = 5000
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


def _stream(sql: str, params: Sequence[Any] = ()) -> Iterator[list[tuple[Any, ...]]]:
    """Batches of rows from a server-side cursor (PostgreSQL) or a plain one (SQLite)."""
    cursor = connection.chunked_cursor()
    try:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(FETCH):
            yield rows
    finally:
        cursor.close()


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


def _scan_entries(sizes: set[int], head_size: int, progress: Callable[[int], object] | None) -> _Scan:
    entry, node = _quoted(Entry._meta.db_table, Node._meta.db_table)
    i, body, actor, action, subject, key, hash_ = _quoted("index", "body", "actor", "action", "subject", "key", "hash")
    sql = (
        f"SELECT e.{i}, e.{body}, e.{actor}, e.{action}, e.{subject}, {_time_sql()}, n.{hash_} "  # noqa: S608 — names are quoted constants
        f"FROM {entry} e LEFT JOIN {node} n ON n.{key} = e.{i} ORDER BY e.{i}"
    )
    scan = _Scan()
    problems = scan.entry_problems

    def problem(index: int, message: str) -> None:
        if len(problems) < MAX_ENTRY_PROBLEMS:
            problems.append(Problem("entry", index, f"entry {index}: {message}"))
        else:
            scan.extra_entry_problems += 1

    sha = hashlib.sha256
    new_digest = hashlib.sha256
    digests = scan.level_digests
    prefixes: dict[tuple[str, str], bytes] = {}
    subjects: dict[str, bytes] = {}
    stack: list[bytes] = []
    pop, push = stack.pop, stack.append
    wanted = sorted(s for s in sizes if s > 0)
    cursor_at = 0
    next_size = wanted[0] if wanted else -1
    n = 0  # leaves folded so far
    expected_index = 0
    for rows in _stream(sql):
        for index, raw, actor_v, action_v, subject_v, when, leaf_node in rows:
            data = raw if type(raw) is bytes else bytes(raw)
            if index != expected_index:
                if index >= head_size:
                    problem(index, f"it lies beyond the end of the log (the head counts {head_size}); it was inserted.")
                else:
                    missing = f"{expected_index}" if index == expected_index + 1 else f"{expected_index}-{index - 1}"
                    problem(expected_index, f"missing (entries {missing} are not stored); entries were deleted.")
            expected_index = index + 1
            # The body is canonical JSON with sorted keys: the columns must appear verbatim as its
            # prefix (action, actor) and suffix (index, subject, time). JSON string literals end
            # unambiguously, so a matching prefix and suffix mean equal values, without parsing.
            prefix_b = prefixes.get((action_v, actor_v))
            if prefix_b is None:
                if len(prefixes) > 50_000:
                    prefixes.clear()
                prefix_b = prefixes[(action_v, actor_v)] = (
                    f'{{"action":{encode_basestring(action_v)},"actor":{encode_basestring(actor_v)},"details":'
                ).encode()
            subject_b = subjects.get(subject_v)
            if subject_b is None:
                if len(subjects) > 50_000:
                    subjects.clear()
                subject_b = subjects[subject_v] = encode_basestring(subject_v).encode()
            suffix = b',"index":%d,"subject":%b,"time":"%b","v":1}' % (index, subject_b, when.encode())
            if not (data.startswith(prefix_b) and data.endswith(suffix)):
                problem(index, _column_problem(index, data))
            leaf = sha(b"\x00" + data).digest()
            if leaf_node is None:
                scan.leaf_problems += 1
                problem(index, "its leaf node is missing from the tree.")
            elif leaf != (leaf_node if type(leaf_node) is bytes else bytes(leaf_node)):
                scan.leaf_problems += 1
                problem(index, "its body no longer hashes to its leaf node; the body or the node was edited.")
            # The fold (CompactRange.append inlined): every merge completes one inner node, whose
            # hash goes into that level's running digest for the node pass.
            carry, level = n, 0
            while carry & 1:
                leaf = sha(b"\x01" + pop() + leaf).digest()
                carry >>= 1
                level += 1
                if level > len(digests):
                    digests.append(new_digest())
                digests[level - 1].update(leaf)
            push(leaf)
            n += 1
            if n == next_size:
                scan.roots[n] = _compose(stack)
                cursor_at += 1
                next_size = wanted[cursor_at] if cursor_at < len(wanted) else -1
        if progress is not None:
            progress(len(rows))
    scan.entries = n
    scan.root = _compose(stack) if stack else merkle.EMPTY_ROOT
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
    """Stored inner nodes against the digests the fold computed, level by level."""
    node, key, hash_ = _quoted(Node._meta.db_table, "key", "hash")
    sql = f"SELECT {key}, {hash_} FROM {node} WHERE {key} >= %s ORDER BY {key}"  # noqa: S608 — quoted constants
    n = scan.entries
    stored: dict[int, Any] = {}
    unexpected: dict[int, int] = {}
    next_index: dict[int, int] = {}
    for rows in _stream(sql, [1 << LEVEL_SHIFT]):
        for packed, digest in rows:
            level, index = packed >> LEVEL_SHIFT, packed & _INDEX_MASK
            if index != next_index.get(level, 0) or index >= n >> level:
                unexpected.setdefault(level, index)
            next_index[level] = index + 1
            running = stored.get(level)
            if running is None:
                running = stored[level] = hashlib.sha256()
            running.update(digest if type(digest) is bytes else bytes(digest))
    top = max([len(scan.level_digests), *stored, *unexpected], default=0)
    for level in range(1, top + 1):
        expected = scan.level_digests[level - 1].digest() if level <= len(scan.level_digests) else None
        got = stored[level].digest() if level in stored else None
        if expected == got and level not in unexpected:
            continue
        index = _first_bad_node(level, n) if level not in unexpected else unexpected[level]
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
    batch = FETCH
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

"""Verification of the audit log: recomputes the tree from the entries and checks everything stored.

One pass over the entries (in a read snapshot, through the driver's streaming cursor) checks, per
entry: that indexes run 0, 1, 2... without a gap, that the indexed columns (actor, action,
subject, time) and the index still say what the hashed body says, and that the body still hashes
to its stored leaf node (read with the entry, by a merge of the two primary keys). The same pass
folds the leaves into the tree, recomputing the root at every checkpoint's size and a running
digest of every inner node per level; a second pass over the stored inner nodes compares them
level by level. Every stored checkpoint (and any checkpoint kept off the machine) must carry a
valid signature and match the recomputed root at its size, and consecutive checkpoints must be
consistent according to the stored tree (their proofs' nodes read in a few queries).

How the pass keeps up with a log of millions of entries: on PostgreSQL a thread fetches the next
batch (binary format) while this one hashes, so the server works while Python does; on SQLite,
whole aligned ranges of 2**16 entries (perfect subtrees) go to worker processes with read-only
connections of their own (``scanning.check_range``), which check everything inside their range
and return its root, and this process checks the rest. A range only says whether it holds: if
anything does not, the whole verification runs again as one sequential pass, which names every
problem exactly as it always has.

Must never: write anything (recording that a verification ran is the caller's job, after it
ran), trust a stored root or node without recomputing it, or stop at the first problem without
saying where it is.
"""

from __future__ import annotations

import hashlib
import itertools
import multiprocessing
import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from legionary.audit import checkpoint as notes
from legionary.audit import merkle
from legionary.audit.models import Checkpoint, Entry, LogHead, Node
from legionary.audit.scanning import (
    MAX_ENTRY_PROBLEMS,
    EntryChecker,
    Fold,
    Kind,
    Problem,
    RangeSummary,
    RangeTask,
    Scan,
    check_range,
    compose,
)
from legionary.audit.services import LEVEL_SHIFT, DbNodeStore, pack_key, parse_verifier

__all__ = ["MAX_ENTRY_PROBLEMS", "Kind", "Problem", "VerifyResult", "audit_verify", "verify_external_checkpoint"]

# Entries are read, checked and folded this many at a time. A power of two: a full batch that
# starts at a multiple of it is one perfect subtree, hashed a level at a time.
CHUNK = 8192
# A SQLite log of at least two ranges of 2**RANGE_LEVEL entries is checked by worker processes,
# one range at a time each (see ``scanning.check_range``); PostgreSQL already keeps the second
# core busy with its server process.
RANGE_LEVEL = 16
RANGE_WORKERS: int | None = None
"""Worker processes for the ranges; None: one per core this process may use, at most 4."""
_INDEX_MASK = (1 << LEVEL_SHIFT) - 1
_KIND_ORDER = {"entry": 0, "checkpoint": 1, "node": 2, "head": 3}


@dataclass
class VerifyResult:
    entries: int = 0
    checkpoints: int = 0
    root: bytes = merkle.EMPTY_ROOT
    problems: list[Problem] = field(default_factory=list)
    external: list[int] = field(default_factory=list)
    """Sizes of the checkpoints given from off the machine that were checked."""
    kept: int | None = None
    """Size of the checkpoint kept outside the database, when there was one and it opened."""

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
            "kept_checkpoint": self.kept,
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


_T = TypeVar("_T")
_DONE = object()


def _read_ahead(batches: Iterator[_T], depth: int = 2) -> Iterator[_T]:
    """``batches``, produced by a thread that stays up to ``depth`` batches ahead of the consumer.

    On PostgreSQL the server computes the next batch while this process hashes the current one:
    the thread spends its time waiting on the socket (the GIL released) and takes the GIL only to
    build the rows of a batch, in one C call. Memory stays bounded by ``depth`` batches. The
    generator is run, and closed, in the thread; an exception there is raised here.
    """
    slots: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
            except queue.Full:
                continue
            return True
        return False

    def produce() -> None:
        try:
            for batch in batches:
                if not put(batch):
                    return
            put(_DONE)
        except BaseException as exc:  # noqa: BLE001 — handed to the consumer, which raises it
            put(exc)
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="audit-verify-reader", daemon=True)
    worker.start()
    try:
        while (item := slots.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def _entry_sql(where: str = "") -> str:
    """Entries in index order with what the checks need: the index, the body, its stored leaf
    node (level-0 keys are entry indexes; NULL when the node is missing), the indexed columns and
    ``created_at`` spelled as in the body. A merge of two primary keys read in order, no sort.
    ``where`` is a condition on ``e.index`` with %s placeholders."""
    entry, node = _quoted(Entry._meta.db_table, Node._meta.db_table)
    i, body, action, actor, subject, key, hash_ = _quoted("index", "body", "action", "actor", "subject", "key", "hash")
    condition = f"WHERE {where.format(index=f'e.{i}')} " if where else ""
    return (
        f"SELECT e.{i}, e.{body}, n.{hash_}, e.{action}, e.{actor}, e.{subject}, {_time_sql()} "  # noqa: S608 — names are quoted constants
        f"FROM {entry} e LEFT JOIN {node} n ON n.{key} = e.{i} {condition}ORDER BY e.{i}"
    )


def _postgresql_batches(
    db: BaseDatabaseWrapper, sql: str, params: Sequence[Any], size: int
) -> Iterator[list[tuple[Any, ...]]]:
    """A server-side cursor in binary format: no hex ``bytea`` to decode, integers as 8 bytes."""
    with db.wrap_database_errors, db.connection.cursor(name="legionary_audit_verify", binary=True) as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(size):
            yield rows


def _sqlite_batches(
    db: BaseDatabaseWrapper, sql: str, params: Sequence[Any], size: int
) -> Iterator[list[tuple[Any, ...]]]:
    with db.wrap_database_errors:
        cursor = db.connection.cursor()
        try:
            # Django's wrapper would turn the %s placeholders into sqlite3's; the queries here are
            # constants with no other "%s" in them.
            cursor.execute(sql.replace("%s", "?"), params)
            while rows := cursor.fetchmany(size):
                yield rows
        finally:
            cursor.close()


def _batches(sql: str, params: Sequence[Any] = (), size: int = 0) -> Iterator[list[tuple[Any, ...]]]:
    """Rows of ``sql`` a batch of ``size`` (default ``CHUNK``) at a time, through the driver
    directly: the queries here take only integers and their values need no conversion by Django.
    Must run inside the read snapshot."""
    db = connections[DEFAULT_DB_ALIAS]
    db.ensure_connection()
    if db.vendor == "postgresql":
        return _read_ahead(_postgresql_batches(db, sql, params, size or CHUNK))
    return _sqlite_batches(db, sql, params, size or CHUNK)


def _range_workers() -> int:
    if RANGE_WORKERS is not None:
        return RANGE_WORKERS
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return min(cores, 4)


def _range_tasks(wanted: list[int], head_size: int) -> list[RangeTask]:
    """The whole ranges of 2**RANGE_LEVEL entries below the log's end, for worker processes: only
    on SQLite, only when this verification owns its snapshot (a caller's uncommitted transaction is
    invisible to other connections), and only when there are at least two ranges and two cores.

    The workers read in snapshots of their own, taken after ours. That is safe because the ranges
    end at or below the head read in ours: appenders only add entries at or past the head and the
    nodes above them, so no row a worker reads can have changed since (other than by tampering,
    which it then reports like any other).
    """
    level = RANGE_LEVEL
    path = str(connection.settings_dict["NAME"])
    if connection.vendor != "sqlite" or connection.in_atomic_block or _range_workers() < 2:
        return []
    if not os.path.isfile(path):  # an in-memory database has nothing another connection can open
        return []
    highest = _fetch(f"SELECT MAX({_quoted('index')[0]}) FROM {_quoted(Entry._meta.db_table)[0]}", [])[0][0]  # noqa: S608
    ranges = min(head_size, (highest or 0) + 1) >> level
    if ranges < 2:
        return []
    node, key, hash_ = _quoted(Node._meta.db_table, "key", "hash")
    node_sql = f"SELECT {hash_} FROM {node} WHERE {key} >= ? AND {key} < ? ORDER BY {key}"  # noqa: S608 — quoted constants
    entry_sql = _entry_sql("{index} >= ? AND {index} < ?")
    tasks = []
    for number in range(ranges):
        start, end = number << level, (number + 1) << level
        tasks.append(
            RangeTask(
                path=path,
                entry_sql=entry_sql,
                node_sql=node_sql,
                start=start,
                level=level,
                node_keys=tuple(
                    (height, pack_key(height, start >> height), pack_key(height, end >> height))
                    for height in range(1, level + 1)
                ),
                sizes=tuple(size for size in wanted if start < size <= end),
                chunk=CHUNK,
            )
        )
    return tasks


def _check_ranges(tasks: list[RangeTask], fold: Fold, progress: Callable[[int], object] | None) -> bool:
    """Runs the range tasks in worker processes and folds their subtrees in, in order; False as
    soon as one range does not hold (the caller then verifies sequentially to say what is wrong)."""
    # Workers start from a fresh interpreter (the fork server's), never as a fork of this process
    # and its open connection; the fork server imports this program once, not once per worker.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    with ProcessPoolExecutor(max_workers=_range_workers(), mp_context=context) as pool:
        summaries: Iterator[RangeSummary] = pool.map(check_range, tasks)
        try:
            for task, summary in zip(tasks, summaries, strict=True):
                if not summary.intact:
                    return False
                fold.add_subtree(summary.root, task.level, summary.pieces)
                if progress is not None:
                    progress(1 << task.level)
        except Exception:  # noqa: BLE001 — a worker that failed (killed, database busy) proves nothing
            return False  # either way; the sequential pass reads everything again and reports it
        finally:
            pool.shutdown(cancel_futures=True)
    return True


def _scan_entries(sizes: set[int], head_size: int, progress: Callable[[int], object] | None) -> Scan:
    """One pass over the entries in index order, a batch of ``CHUNK`` at a time."""
    scan = Scan()
    return _scan_rest(scan, Fold(scan, sizes, CHUNK), sizes, head_size, progress)


def _scan_in_ranges(sizes: set[int], head_size: int, progress: Callable[[int], object] | None) -> Scan | None:
    """The same pass, with the whole ranges below the head first checked by worker processes
    when ``_range_tasks`` allows it. None when a range does not hold: nothing is said about where."""
    scan = Scan()
    fold = Fold(scan, sizes, CHUNK)
    tasks = _range_tasks(fold.wanted, head_size)
    if tasks:
        entry, index = _quoted(Entry._meta.db_table, "index")
        if _fetch(f"SELECT MIN({index}) FROM {entry}", [])[0][0] < 0:  # noqa: S608 — quoted constants
            return None  # rows below entry 0 lie outside every range
        if not _check_ranges(tasks, fold, progress):
            return None
        scan.covered, scan.covered_level = fold.n, RANGE_LEVEL
    return _scan_rest(scan, fold, sizes, head_size, progress)


def _scan_rest(
    scan: Scan, fold: Fold, sizes: set[int], head_size: int, progress: Callable[[int], object] | None
) -> Scan:
    """The entries from ``fold.n`` on (all of them unless ranges were checked before)."""
    checker = EntryChecker(scan, head_size, expected_index=fold.n)
    sha = hashlib.sha256
    batches = _batches(_entry_sql("{index} >= %s"), [fold.n]) if fold.n else _batches(_entry_sql())
    for rows in batches:
        leaves = [sha(b"\x00" + row[1]).digest() for row in rows]
        if not checker.fast(rows, leaves):
            checker.slow(rows, leaves)
        fold.add(leaves)
        if progress is not None:
            progress(len(rows))
    scan.entries = fold.n
    scan.root = compose(fold.stack) if fold.stack else merkle.EMPTY_ROOT
    if 0 in sizes:
        scan.roots[0] = merkle.EMPTY_ROOT
    return scan


def _check_inner_nodes(scan: Scan, result: VerifyResult) -> None:
    """Stored inner nodes against the digests the fold computed, level by level.

    Level L of a tree of n leaves holds exactly the nodes 0 .. (n >> L) - 1: each level is read
    as one range of keys in order (hashes only), fed to a running digest, and counted; a key
    outside those ranges is looked for separately. The nodes inside ranges that worker processes
    checked (``scan.covered``) are not read again.
    """
    node, key, hash_ = _quoted(Node._meta.db_table, "key", "hash")
    n = scan.entries
    highest = _fetch(f"SELECT MAX({key}) FROM {node}", [])[0][0]  # noqa: S608 — quoted constants
    top = max(len(scan.level_digests), (highest or 0) >> LEVEL_SHIFT)
    first = itemgetter(0)
    for level in range(1, top + 1):
        checked = scan.covered >> level if level <= scan.covered_level else 0
        base, expected_count = pack_key(level, checked), (n >> level) - checked
        stored, count = hashlib.sha256(), 0
        if expected_count:
            sql = f"SELECT {hash_} FROM {node} WHERE {key} >= %s AND {key} < %s ORDER BY {key}"  # noqa: S608
            for rows in _batches(sql, [base, base + expected_count], size=4 * CHUNK):
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
    kept: tuple[str, str] | None = None,
) -> VerifyResult:
    """Recomputes the tree from the entries and checks it against every stored checkpoint.

    ``verifier`` is a witness's copy of the public key (default: this instance's own key, which
    an intruder who holds the machine could have replaced). ``external_notes`` are checkpoints
    kept off the machine: each must verify and match the log's recomputed root at its size, which
    proves the log is an append-only extension of what was signed then. ``kept`` is (where, note)
    of the checkpoint kept outside the database (``kept_checkpoint``), checked the same way. Raises ``AuditError`` for
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

        if kept is not None:
            where, note = kept
            opened, error = _open(note, key, f"the checkpoint kept at {where}")
            if opened is None:
                result.problems.append(Problem("checkpoint", 0, error or f"the checkpoint kept at {where}"))
            else:
                outside.append(
                    _Signed(opened.size, opened.root, f"the checkpoint kept at {where} (size {opened.size})")
                )
                result.kept = opened.size
        sizes = {s.size for s in signed + outside}
        scan = _scan_in_ranges(sizes, head, progress)
        if scan is not None:
            checked = _check_scan(_copy(result), scan, head, signed, outside)
            if checked.ok or not scan.covered:
                return checked
        # Something does not hold in a log checked by ranges: the sequential pass says what, and
        # where, exactly as it would have without them (a progress bar goes past its end meanwhile).
        return _check_scan(result, _scan_entries(sizes, head, progress), head, signed, outside)


def _copy(result: VerifyResult) -> VerifyResult:
    return VerifyResult(
        checkpoints=result.checkpoints, problems=list(result.problems), external=list(result.external), kept=result.kept
    )


def _check_scan(
    result: VerifyResult, scan: Scan, head: int, signed: list[_Signed], outside: list[_Signed]
) -> VerifyResult:
    """Everything after the pass over the entries: checkpoints, the head, the stored nodes."""
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


class _KeyRecorder:
    """A node store that only notes which nodes are asked for (any hash will do for that)."""

    def __init__(self) -> None:
        self.keys: dict[merkle.NodeKey, None] = {}

    def get_many(self, keys: Sequence[merkle.NodeKey]) -> dict[merkle.NodeKey, bytes]:
        self.keys.update(dict.fromkeys(keys))
        return dict.fromkeys(keys, bytes(32))


class _Prefetched:
    """The stored nodes read in advance, served from memory; a node not stored stays missing."""

    def __init__(self, nodes: dict[merkle.NodeKey, bytes]) -> None:
        self.nodes = nodes

    def get_many(self, keys: Sequence[merkle.NodeKey]) -> dict[merkle.NodeKey, bytes]:
        return {key: self.nodes[key] for key in keys if key in self.nodes}


def _check_consistency(signed: list[_Signed], result: VerifyResult) -> None:
    """Each checkpoint extends the previous one, by the proofs the stored tree would serve.

    A log signs a checkpoint every thousand entries, so there are thousands of proofs: which
    nodes they need is worked out first, and those are read in a few queries instead of one
    round trip per proof.
    """
    ordered = sorted(signed, key=lambda c: c.size)
    pairs = [(old, new) for old, new in itertools.pairwise(ordered) if old.size != 0 and old.size != new.size]
    recorder = _KeyRecorder()
    for old, new in pairs:
        merkle.consistency_proof(recorder, old.size, new.size)
    store = _Prefetched(DbNodeStore().get_many(list(recorder.keys)))
    for old, new in pairs:
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

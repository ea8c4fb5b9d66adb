"""The only writer of the audit log: appends, checkpoints, the signing key and proofs.

``audit_record`` appends one entry inside the caller's transaction (or its own), so an action and
its entry are stored together or not at all. Appends are serialised by a row lock on ``LogHead``;
each writes the entry, the O(log n) new perfect-subtree nodes of the Merkle tree and, every N
entries or M minutes, a signed checkpoint. Verification lives in ``audit.verification``.

Must never: update or delete a stored entry, node or checkpoint; put plaintext identity in an
entry (``details`` are checked to hold only plain values, and callers pass pseudonymous ids); or
hand out a proof without saying whether it verifies against a *signed* root. The canonical
encoding of an entry is documented byte for byte in docs/audit.md; changing it breaks every
existing log.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from legionary.audit import checkpoint as notes
from legionary.audit import kept_checkpoint, merkle
from legionary.audit.models import Checkpoint, Entry, LogHead, Node
from legionary.db import Insert, insert_together, insert_values, instances_insert

DetailValue = str | int | bool | None | list[str] | list[int]

ENCODING_VERSION = 1
LEVEL_SHIFT = 56
ACTOR_MAX = 150
ACTION_MAX = 64
SUBJECT_MAX = 64


class AuditError(Exception):
    """The audit log cannot take this entry; the action it records must not happen either."""


# --- canonical encoding --------------------------------------------------------------------------


def format_time(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC, always with six fraction digits."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_body(
    *, index: int, created_at: datetime, actor: str, action: str, subject: str, details: Mapping[str, Any]
) -> bytes:
    """The canonical bytes of an entry: the leaf's input.

    JSON with sorted keys, no insignificant whitespace, non-ASCII as UTF-8, times in UTC with
    microseconds: ``{"action":..,"actor":..,"details":{..},"index":N,"subject":..,"time":..,"v":1}``.
    """
    document = {
        "v": ENCODING_VERSION,
        "index": index,
        "time": format_time(created_at),
        "actor": actor,
        "action": action,
        "subject": subject,
        "details": dict(details),
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise AuditError("Audit entries must be valid Unicode text (a lone surrogate was given).") from None


def _check_column(name: str, value: str, limit: int, *, required: bool) -> None:
    if not isinstance(value, str):
        raise AuditError(f"The audit {name} must be text.")
    if required and not value:
        raise AuditError(f"The audit {name} must not be empty.")
    if len(value) > limit:
        raise AuditError(f"The audit {name} must be at most {limit} characters.")
    # PostgreSQL text cannot hold NUL; refusing it everywhere keeps both databases alike.
    if "\x00" in value:
        raise AuditError(f"The audit {name} must not contain a NUL character.")


def _check_details(details: Mapping[str, Any]) -> None:
    for key, value in details.items():
        if not isinstance(key, str):
            raise AuditError("Audit details must have text keys.")
        if isinstance(value, list):
            if not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value):
                raise AuditError(f"Audit detail {key!r} must be a list of plain values.")
        elif value is not None and not isinstance(value, (str, int, bool)):
            raise AuditError(f"Audit detail {key!r} must be a plain value.")


# --- node storage --------------------------------------------------------------------------------


def pack_key(level: int, index: int) -> int:
    return (level << LEVEL_SHIFT) | index


def _table(model: type[Entry] | type[Node] | type[LogHead]) -> str:
    return str(connection.ops.quote_name(model._meta.db_table))


class DbNodeStore:
    """The Merkle tree's perfect-subtree hashes in the ``audit_node`` table.

    Plain SQL rather than the ORM: an append runs these once each, and the ORM's per-object
    work was most of an append's cost.
    """

    def __init__(self) -> None:
        self.reads = 0
        self.writes = 0

    def get_many(self, keys: Sequence[merkle.NodeKey]) -> dict[merkle.NodeKey, bytes]:
        packed = {pack_key(level, index): (level, index) for level, index in keys}
        self.reads += len(packed)
        if not packed:
            return {}
        found: dict[merkle.NodeKey, bytes] = {}
        wanted = list(packed)
        with connection.cursor() as cursor:
            for start in range(0, len(wanted), 500):
                batch = wanted[start : start + 500]
                marks = ", ".join(["%s"] * len(batch))
                cursor.execute(f'SELECT "key", "hash" FROM {_table(Node)} WHERE "key" IN ({marks})', batch)  # noqa: S608 — quoted constant
                for key, digest in cursor.fetchall():
                    found[packed[key]] = bytes(digest)
        return found

    def put_many(self, nodes: Sequence[merkle.Node], also: Sequence[Insert] = ()) -> None:
        """Stores new nodes; ``also``, other rows of the same append (its entries), are inserted
        with them: on PostgreSQL one statement for both (``insert_together``)."""
        self.writes += len(nodes)
        # One statement for an append's few nodes (``insert_values``), executemany for a bulk fill's.
        rows = [(pack_key(level, index), digest) for level, index, digest in nodes]
        if not also:
            insert_values(_table(Node), '"key", "hash"', 2, rows, ("bigint", "bytea"))
            return
        insert_together([Insert(_table(Node), '"key", "hash"', 2, rows, ("bigint", "bytea")), *also])


# --- the signing key -----------------------------------------------------------------------------

_signer_lock = threading.Lock()
_signer: tuple[float, notes.SignerKey] | None = None


def signing_key_init() -> bool:
    """Creates the Ed25519 checkpoint signing key (mode 0600) unless it exists; True if created."""
    path = Path(settings.LEGIONARY_AUDIT_KEY)
    if path.exists():
        signer()
        return False
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = notes.generate_key(settings.LEGIONARY_LOG_ORIGIN)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key.to_private_string() + "\n")
    return True


def signer() -> notes.SignerKey:
    """The checkpoint signing key, re-read when its file changes."""
    global _signer
    path = Path(settings.LEGIONARY_AUDIT_KEY)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        raise AuditError(f"The audit signing key {path} is missing. Run `legionary init`.") from None
    with _signer_lock:
        if _signer is None or _signer[0] != mtime:
            try:
                key = notes.parse_signer_key(path.read_text(encoding="ascii").strip())
            except (OSError, UnicodeDecodeError, notes.CheckpointError):
                raise AuditError(f"The audit signing key {path} cannot be read or is malformed.") from None
            _signer = (mtime, key)
        return _signer[1]


def verifier_key() -> str:
    """The public verifier key string (``name+keyid+base64``) to copy off the machine."""
    return str(signer().verifier)


def parse_verifier(text: str | None) -> notes.VerifierKey:
    """A verifier key given by an operator, or this instance's own when none is given."""
    if not text:
        return signer().verifier
    try:
        return notes.parse_verifier_key(text.strip())
    except notes.CheckpointError as exc:
        raise AuditError(f"The verifier key is not valid ({exc}). Copy it again from `legionary audit key`.") from None


# --- appending -----------------------------------------------------------------------------------


def _lock_head() -> LogHead:
    """The log head, locked until the surrounding transaction ends."""
    head = LogHead.objects.select_for_update().filter(id=1).first()
    if head is None:
        # First append ever (or after a test flush). Racing creators: get_or_create turns the
        # loser's unique violation into a read, then everyone queues on the row lock.
        LogHead.objects.get_or_create(id=1)
        head = LogHead.objects.select_for_update().get(id=1)
    return head


def _grow_head(appended: int) -> LogHead:
    """Locks the log head and grows its size by ``appended`` in one statement (``UPDATE ...
    RETURNING``, on both databases): the head as it now is, locked until the surrounding
    transaction ends. A concurrent appender waits on the row and then adds to the size this one
    committed (PostgreSQL re-reads a row it waited for before updating it), so two appends never
    get the same indexes. One statement where a locking read and a later update were two."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_table(LogHead)} SET size = size + %s WHERE id = 1 RETURNING size, checkpoint_at",  # noqa: S608 — quoted model table
            [appended],
        )
        row = cursor.fetchone()
    if row is None:  # the first append ever (or after a test flush): create the row, then lock it
        head = _lock_head()
        head.size += appended
        head.save(update_fields=["size"])
        return head
    size, checkpoint_at = row
    # SQLite hands the stored naive UTC back (as text or, through its converters, a naive datetime).
    if isinstance(checkpoint_at, str):
        checkpoint_at = datetime.fromisoformat(checkpoint_at)
    if checkpoint_at is not None and checkpoint_at.tzinfo is None:
        checkpoint_at = checkpoint_at.replace(tzinfo=UTC)
    head = LogHead(id=1, size=size, checkpoint_at=checkpoint_at)
    head._state.adding = False
    head._state.db = connection.alias
    return head


@dataclass(frozen=True)
class AuditItem:
    """One entry to append with ``audit_record_many``; the same fields as ``audit_record`` takes."""

    actor: str
    action: str
    subject: str = ""
    details: Mapping[str, DetailValue] | None = None


def audit_record(
    *, actor: str, action: str, subject: str = "", details: Mapping[str, DetailValue] | None = None
) -> Entry:
    """Appends one entry; must run inside the transaction of the action it records.

    The actor is cut to 150 characters (failed sign-ins record whatever was typed); an action or
    subject that does not fit is a programming error and refused.
    """
    return audit_record_many([AuditItem(actor=actor, action=action, subject=subject, details=details)])[0]


_held_back = threading.local()


@contextmanager
def audit_at_end() -> Iterator[None]:
    """Holds back the appends made in the block and makes them, in order, as one append at its end.

    The log's row lock is taken by the first append of a transaction and kept until it commits,
    so every audited action waits for every other. A transaction that does slow work after its
    first audited step (a submission's screening, storing its uploads, the list screening when a
    case starts) wraps that work in this block: the lock is then held from the append to the
    commit only. Enter it inside ``transaction.atomic()`` and leave it before that ends, so the
    entries still commit with the action or not at all; an exception leaving the block appends
    nothing. Items are checked when recorded (a bad entry still fails at its call), and the
    entries returned meanwhile are not yet saved (no index). A nested block joins the outer one.

    Do not use it around code that catches an exception from a nested ``atomic()`` block and
    goes on: the entries recorded inside the rolled-back block would still be appended.
    """
    if not connection.in_atomic_block:
        raise AuditError("audit_at_end() must run inside the transaction of the action it records.")
    if getattr(_held_back, "items", None) is not None:
        yield
        return
    _held_back.items = []
    try:
        yield
        items: list[AuditItem] = _held_back.items
    finally:
        _held_back.items = None
    audit_record_many(items)


def audit_record_many(items: Sequence[AuditItem]) -> list[Entry]:
    """Appends several entries at once (a bulk import): one lock, one read of the tree's right
    edge, and one insert each for the entries and the new nodes, whatever their number."""
    checked: list[tuple[str, str, str, Mapping[str, DetailValue]]] = []
    for item in items:
        actor = item.actor[:ACTOR_MAX] if isinstance(item.actor, str) else item.actor
        _check_column("actor", actor, ACTOR_MAX, required=True)
        _check_column("action", item.action, ACTION_MAX, required=True)
        _check_column("subject", item.subject, SUBJECT_MAX, required=False)
        details = item.details or {}
        _check_details(details)
        checked.append((actor, item.action, item.subject, details))
    if not checked:
        return []
    held: list[AuditItem] | None = getattr(_held_back, "items", None)
    if held is not None:
        held.extend(AuditItem(actor=a, action=b, subject=c, details=d) for a, b, c, d in checked)
        return [Entry(actor=a, action=b, subject=c) for a, b, c, _ in checked]
    # savepoint=False: inside the caller's transaction a savepoint would only add two statements;
    # if the append fails, the action it records must fail with it anyway.
    with transaction.atomic(savepoint=False):
        head = _grow_head(len(checked))
        first = head.size - len(checked)
        created_at = timezone.now()
        entries = []
        for offset, (actor, action, subject, details) in enumerate(checked):
            body = canonical_body(
                index=first + offset,
                created_at=created_at,
                actor=actor,
                action=action,
                subject=subject,
                details=details,
            )
            entries.append(
                Entry(
                    index=first + offset, created_at=created_at, actor=actor, action=action, subject=subject, body=body
                )
            )
        store = DbNodeStore()
        try:
            nodes = merkle.append_leaves(store, first, [merkle.leaf_hash(bytes(e.body)) for e in entries])
        except merkle.MissingNodeError:
            raise AuditError(
                "The audit log's tree is damaged, so nothing more can be recorded. Run `legionary audit verify`."
            ) from None
        _insert_entries(entries, created_at, store, nodes)
        if _checkpoint_due(head, created_at, appended=len(entries)):
            _make_checkpoint(head.size, created_at)
            head.checkpoint_at = created_at
            head.save(update_fields=["checkpoint_at"])
    return entries


def _insert_entries(
    entries: list[Entry], created_at: datetime, store: DbNodeStore, nodes: Sequence[merkle.Node]
) -> None:
    """Inserts the new entries of one append (all stamped ``created_at``) with the tree's new
    ``nodes``, in one statement on PostgreSQL (``DbNodeStore.put_many(also=...)``): ``bulk_create``
    without the ORM's per-field work. Marks the instances as saved."""
    for e in entries:
        e.created_at = created_at
    store.put_many(nodes, also=[instances_insert(Entry, entries)])
    for e in entries:
        e._state.adding, e._state.db = False, connection.alias


def _checkpoint_due(head: LogHead, now: datetime, *, appended: int = 1) -> bool:
    every = max(1, settings.LEGIONARY_CHECKPOINT_EVERY_ENTRIES)
    # Due when the appended entries crossed a multiple of N (a batch may jump over one).
    if head.size // every > (head.size - appended) // every:
        return True
    last = head.checkpoint_at
    return last is None or now - last >= timedelta(minutes=settings.LEGIONARY_CHECKPOINT_EVERY_MINUTES)


def _make_checkpoint(size: int, now: datetime) -> Checkpoint:
    root = merkle.root(DbNodeStore(), size)
    body = notes.format_checkpoint(settings.LEGIONARY_LOG_ORIGIN, size, root)
    note = signer().sign(body)
    made = Checkpoint.objects.create(size=size, root=root, note=note, created_at=now)
    # Outside the database too, once it is committed: a log that later loses entries fails against it.
    transaction.on_commit(lambda: kept_checkpoint.keep(note))
    return made


def checkpoint_now() -> Checkpoint:
    """The checkpoint of the whole log as it is now: the stored one if the log has not grown."""
    with transaction.atomic():
        head = _lock_head()
        existing = Checkpoint.objects.filter(size=head.size).first()
        if existing is not None:
            return existing
        now = timezone.now()
        made = _make_checkpoint(head.size, now)
        head.checkpoint_at = now
        head.save(update_fields=["checkpoint_at"])
        return made


def latest_checkpoint() -> Checkpoint | None:
    return Checkpoint.objects.order_by("-size").first()


# --- proofs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InclusionEvidence:
    """An entry, a signed checkpoint covering it, and the proof linking the two."""

    index: int
    body: bytes
    leaf_hash: bytes
    tree_size: int
    root: bytes
    """The root as *signed* in ``note`` (empty if the note does not verify)."""
    note: str
    proof: tuple[bytes, ...]
    verified: bool
    """The note verifies with this instance's key and the proof leads from the leaf to its root."""

    def as_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "leaf_hash": self.leaf_hash.hex(),
            "tree_size": self.tree_size,
            "root": self.root.hex(),
            "proof": [p.hex() for p in self.proof],
            "checkpoint": self.note,
            "verified": self.verified,
        }


def entry_inclusion(index: int) -> InclusionEvidence:
    """Inclusion proof of entry ``index`` against the newest checkpoint, verified here.

    Signs a checkpoint first when the newest one does not cover the entry yet. The proof comes
    from the stored nodes but is checked against the root *in the signed note*, so tampered nodes
    give ``verified=False``, never a proof that only agrees with itself.
    """
    entry = Entry.objects.filter(index=index).first()
    if entry is None:
        raise AuditError(f"There is no audit entry {index}.")
    checkpoint = latest_checkpoint()
    if checkpoint is None or checkpoint.size <= index:
        checkpoint = checkpoint_now()
    body = bytes(entry.body)
    leaf = merkle.leaf_hash(body)
    try:
        opened = notes.open_checkpoint(checkpoint.note, signer().verifier)
        signed_root, size = opened.root_hash, opened.size
    except notes.CheckpointError:
        signed_root, size = b"", checkpoint.size
    try:
        proof = merkle.inclusion_proof(DbNodeStore(), index, size)
    except (merkle.MissingNodeError, ValueError):
        proof = []
    verified = bool(signed_root) and merkle.verify_inclusion(leaf, index, size, proof, signed_root)
    return InclusionEvidence(
        index=index,
        body=body,
        leaf_hash=leaf,
        tree_size=size,
        root=signed_root,
        note=checkpoint.note,
        proof=tuple(proof),
        verified=verified,
    )


def consistency_proof(old_size: int, new_size: int) -> list[bytes]:
    return merkle.consistency_proof(DbNodeStore(), old_size, new_size)

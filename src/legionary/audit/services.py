"""The only writer of the audit log, and its verifier.

``audit_record`` appends one entry inside the caller's transaction (or its own), so an action and
its entry are stored together or not at all. Appends are serialised by a row lock on ``LogHead``;
each writes the entry, the O(log n) new perfect-subtree nodes of the Merkle tree and, every N
entries or M minutes, a signed checkpoint.

Entries name people only by pseudonymous id; ``details`` must hold no plaintext identity and are
checked to hold only plain values. The canonical encoding of an entry is documented in
docs/audit.md; changing it breaks every existing log.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from legionary.audit import checkpoint as notes
from legionary.audit import merkle
from legionary.audit.models import Checkpoint, Entry, LogHead, Node

DetailValue = str | int | bool | None | list[str] | list[int]

ENCODING_VERSION = 1
_LEVEL_SHIFT = 56


class AuditError(Exception):
    """The audit log cannot take this entry; the action it records must not happen either."""


# --- canonical encoding --------------------------------------------------------------------------


def format_time(moment: datetime) -> str:
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
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


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


def _pack(level: int, index: int) -> int:
    return (level << _LEVEL_SHIFT) | index


class DbNodeStore:
    """The Merkle tree's perfect-subtree hashes in the ``audit_node`` table."""

    def get_many(self, keys: Sequence[merkle.NodeKey]) -> dict[merkle.NodeKey, bytes]:
        packed = {_pack(level, index): (level, index) for level, index in keys}
        rows = Node.objects.filter(key__in=list(packed)).values_list("key", "hash")
        return {packed[key]: bytes(digest) for key, digest in rows}

    @staticmethod
    def put_many(nodes: Sequence[merkle.Node]) -> None:
        Node.objects.bulk_create([Node(key=_pack(level, index), hash=digest) for level, index, digest in nodes])


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


# --- appending -----------------------------------------------------------------------------------


def audit_record(
    *, actor: str, action: str, subject: str = "", details: Mapping[str, DetailValue] | None = None
) -> Entry:
    """Appends one entry; must run inside the transaction of the action it records."""
    details = details or {}
    _check_details(details)
    with transaction.atomic():
        head, _ = LogHead.objects.select_for_update().get_or_create(id=1)
        index = head.size
        created_at = timezone.now()
        body = canonical_body(
            index=index, created_at=created_at, actor=actor, action=action, subject=subject, details=details
        )
        store = DbNodeStore()
        store.put_many(merkle.append_leaf(store, index, merkle.leaf_hash(body)))
        entry = Entry.objects.create(
            index=index, created_at=created_at, actor=actor[:150], action=action, subject=subject, body=body
        )
        head.size = index + 1
        head.save(update_fields=["size"])
        if _checkpoint_due(head.size, created_at):
            _make_checkpoint(head.size, created_at)
    return entry


def _checkpoint_due(size: int, now: datetime) -> bool:
    if size % max(1, settings.LEGIONARY_CHECKPOINT_EVERY_ENTRIES) == 0:
        return True
    latest = Checkpoint.objects.order_by("-size").values_list("created_at", flat=True).first()
    return latest is None or now - latest >= timedelta(minutes=settings.LEGIONARY_CHECKPOINT_EVERY_MINUTES)


def _make_checkpoint(size: int, now: datetime) -> Checkpoint:
    root = merkle.root(DbNodeStore(), size)
    body = notes.format_checkpoint(settings.LEGIONARY_LOG_ORIGIN, size, root)
    note = signer().sign(body)
    return Checkpoint.objects.create(size=size, root=root, note=note, created_at=now)


def checkpoint_now() -> Checkpoint:
    """Signs a checkpoint of the whole log as it is now (or returns the one that covers it)."""
    with transaction.atomic():
        head, _ = LogHead.objects.select_for_update().get_or_create(id=1)
        existing = Checkpoint.objects.filter(size=head.size).first()
        if existing is not None:
            return existing
        return _make_checkpoint(head.size, timezone.now())


def latest_checkpoint() -> Checkpoint | None:
    return Checkpoint.objects.order_by("-size").first()


# --- proofs --------------------------------------------------------------------------------------


def inclusion_proof(index: int, size: int | None = None) -> tuple[int, bytes, list[bytes]]:
    """(tree size, root, proof) that entry ``index`` is in the tree of ``size`` (default: latest checkpoint)."""
    if size is None:
        latest = latest_checkpoint()
        size = latest.size if latest is not None else LogHead.objects.get_or_create(id=1)[0].size
    if not 0 <= index < size:
        raise AuditError(f"Entry {index} is not in a tree of {size} entries.")
    store = DbNodeStore()
    return size, merkle.root(store, size), merkle.inclusion_proof(store, index, size)


def consistency_proof(old_size: int, new_size: int) -> list[bytes]:
    return merkle.consistency_proof(DbNodeStore(), old_size, new_size)


# --- verification --------------------------------------------------------------------------------


@dataclass
class VerifyResult:
    entries: int = 0
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)
    root: bytes = b""

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "root": self.root.hex(),
            "problems": self.problems,
        }


def _entry_rows(batch: int = 10000) -> Iterator[tuple[int, bytes, str, str, str, datetime | str]]:
    table = connection.ops.quote_name(Entry._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in ("index", "body", "actor", "action", "subject"))
    with connection.cursor() as cursor:
        # A raw cursor: the ORM's per-row model building would cost more than the hashing.
        cursor.execute(f"SELECT {columns} FROM {table} ORDER BY {connection.ops.quote_name('index')}")  # noqa: S608 — names are quoted constants
        while True:
            rows = cursor.fetchmany(batch)
            if not rows:
                return
            for row in rows:
                yield row[0], bytes(row[1]), row[2], row[3], row[4], ""


def audit_verify(*, progress: Callable[[int], None] | None = None, verifier: str | None = None) -> VerifyResult:
    """Recomputes the tree from the entries and checks it against every stored checkpoint.

    Catches edited, deleted, inserted or reordered entries (index gaps, body/column mismatch, leaf
    or root mismatch), a truncated tail (a checkpoint larger than the log, or a head that says
    more), forged or altered checkpoints (signature, note/root columns) and tampered tree nodes.
    """
    result = VerifyResult()
    key = notes.parse_verifier_key(verifier) if verifier else signer().verifier
    checkpoints = list(Checkpoint.objects.order_by("size"))
    expected: list[tuple[int, bytes]] = []
    for cp in checkpoints:
        try:
            opened = notes.open_checkpoint(cp.note, key)
        except notes.CheckpointError as exc:
            result.problems.append(f"checkpoint at size {cp.size}: its signature does not verify ({exc}).")
            continue
        if opened.size != cp.size or opened.root_hash != bytes(cp.root):
            result.problems.append(f"checkpoint at size {cp.size}: the signed note does not match the stored root.")
            continue
        expected.append((cp.size, opened.root_hash))
    result.checkpoints = len(checkpoints)

    bad_entry: list[str] = []

    def leaves() -> Iterator[bytes]:
        position = 0
        for index, body, actor, action, subject, _ in _entry_rows():
            if index != position and not bad_entry:
                bad_entry.append(
                    f"entry {position}: missing (the next stored entry is {index}); entries were deleted or reordered."
                )
            if not bad_entry:
                problem = _body_problem(index, body, actor, action, subject)
                if problem:
                    bad_entry.append(f"entry {index}: {problem}")
            position = index + 1
            if progress and position % 10000 == 0:
                progress(10000)
            yield merkle.leaf_hash(body)

    check = merkle.verify_log(leaves(), expected)
    result.entries, result.root = check.entries, check.root
    if progress:
        progress(check.entries % 10000)
    if bad_entry:
        result.problems.append(bad_entry[0])
    for size, _, _ in check.mismatched:
        first = _first_changed_leaf(size)
        where = f"entry {first} was changed" if first is not None else "an entry before it was changed"
        result.problems.append(f"checkpoint at size {size}: the recomputed root differs; {where}.")
    for size in check.unreached:
        result.problems.append(
            f"checkpoint at size {size}: the log holds only {check.entries} entries; its tail was truncated."
        )
    head = LogHead.objects.filter(id=1).first()
    if head is not None and head.size != check.entries:
        result.problems.append(f"the log head says {head.size} entries but {check.entries} are stored.")
    if check.entries and not result.problems:
        stored_root = merkle.root(DbNodeStore(), check.entries)
        if stored_root != check.root:
            result.problems.append("the stored tree nodes do not match the entries; proofs would be wrong.")
    return result


def _body_problem(index: int, body: bytes, actor: str, action: str, subject: str) -> str | None:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return "its body is not valid JSON."
    if not isinstance(document, dict) or document.get("index") != index:
        return "its body names another position; entries were moved."
    if (
        document.get("actor", "")[:150] != actor
        or document.get("action") != action
        or document.get("subject") != subject
    ):
        return "its columns differ from its signed body; it was edited."
    return None


def _first_changed_leaf(size: int, batch: int = 10000) -> int | None:
    """The first entry below ``size`` whose body no longer hashes to its stored leaf node."""
    pending: list[tuple[int, bytes]] = []

    def first_bad(chunk: list[tuple[int, bytes]]) -> int | None:
        # Level-0 nodes are packed with level 0, so their keys are the entry indexes themselves.
        stored = dict(Node.objects.filter(key__gte=chunk[0][0], key__lte=chunk[-1][0]).values_list("key", "hash"))
        for index, digest in chunk:
            if bytes(stored.get(index, b"")) != digest:
                return index
        return None

    for index, body, *_ in _entry_rows():
        if index >= size:
            break
        pending.append((index, merkle.leaf_hash(body)))
        if len(pending) == batch:
            found = first_bad(pending)
            if found is not None:
                return found
            pending = []
    return first_bad(pending) if pending else None


def verify_external_checkpoint(note: str, verifier: str | None = None) -> list[str]:
    """Checks a checkpoint copied off the machine earlier against the log as it is now.

    Proves the log was not rewritten since: the note's signature verifies, and the current tree
    of that size has the same root (so the log is an append-only extension of what was signed).
    """
    problems: list[str] = []
    key = notes.parse_verifier_key(verifier) if verifier else signer().verifier
    try:
        cp = notes.open_checkpoint(note, key)
    except notes.CheckpointError as exc:
        return [f"the checkpoint does not verify: {exc}"]
    head = LogHead.objects.filter(id=1).first()
    size = head.size if head else 0
    if cp.size > size:
        return [f"the checkpoint covers {cp.size} entries but the log holds only {size}; it was truncated."]
    check = merkle.verify_log(
        (merkle.leaf_hash(row[1]) for row in _take(_entry_rows(), cp.size)), [(cp.size, cp.root_hash)]
    )
    if not check.ok:
        problems.append(f"the log's first {cp.size} entries no longer hash to the checkpoint's root; it was rewritten.")
    elif size > cp.size:
        proof = consistency_proof(cp.size, size)
        if not merkle.verify_consistency(cp.size, size, cp.root_hash, merkle.root(DbNodeStore(), size), proof):
            problems.append("the current tree is not a consistent extension of the checkpoint.")
    return problems


def _take(rows: Iterator[Any], count: int) -> Iterator[Any]:
    for n, row in enumerate(rows):
        if n >= count:
            return
        yield row

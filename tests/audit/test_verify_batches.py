"""Verification reads, checks and folds the entries a batch at a time; the batching must not show.

``audit_verify`` checks a whole batch at once when everything in it holds, and only goes row by
row (naming each problem) when something does not; a full batch that starts at a multiple of its
size is hashed as one perfect subtree, a level at a time. These tests run the same logs, intact
and tampered, with batches of 2, 4 and 8 entries (so every path and every alignment is taken on a
small log) and with the production size, and require the same report every time, and roots equal
to RFC 6962's recursive definition.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from legionary.audit import merkle, verification
from legionary.audit.models import Checkpoint, Entry, Node
from legionary.audit.services import AuditItem, audit_record_many, checkpoint_now, pack_key
from legionary.audit.verification import audit_verify
from tests.audit.conftest import MakeLog

SIZE = 37  # checkpoints every 3 entries: sizes inside and at the end of batches of 2, 4 and 8
PRODUCTION = verification.CHUNK


def _report(chunk: int) -> dict[str, Any]:
    saved = verification.CHUNK
    verification.CHUNK = chunk
    try:
        return audit_verify().as_json()
    finally:
        verification.CHUNK = saved


def _reference_root(size: int) -> bytes:
    bodies = Entry.objects.filter(index__lt=size).order_by("index").values_list("body", flat=True)
    return merkle.root_from_leaves([merkle.leaf_hash(bytes(b)) for b in bodies])


@pytest.fixture
def log(make_log: MakeLog) -> None:
    make_log(SIZE, every=3)


@pytest.mark.parametrize("chunk", [2, 4, 8, PRODUCTION])
def test_an_intact_log_verifies_with_the_rfc_root_whatever_the_batch_size(log: None, chunk: int) -> None:
    report = _report(chunk)
    assert report["ok"] is True, report["problems"]
    assert report["entries"] == SIZE
    assert bytes.fromhex(report["root"]) == _reference_root(SIZE)


def _raw(sql: str, *params: object) -> None:
    entry = connection.ops.quote_name(Entry._meta.db_table)
    index = connection.ops.quote_name("index")
    with connection.cursor() as cursor:
        cursor.execute(sql.format(entry=entry, index=index), params)


def _edit_body(at: int) -> None:
    body = bytes(Entry.objects.get(index=at).body)
    Entry.objects.filter(index=at).update(body=body.replace(b"case review", b"case reviex"))


def _swap(at: int) -> None:
    _raw("UPDATE {entry} SET {index} = -1 WHERE {index} = %s", at)
    _raw("UPDATE {entry} SET {index} = %s WHERE {index} = %s", at, at + 1)
    _raw("UPDATE {entry} SET {index} = %s WHERE {index} = -1", at + 1)


TAMPERING: dict[str, Callable[[int], None]] = {
    "edited body": _edit_body,
    "edited actor": lambda at: Entry.objects.filter(index=at).update(actor="someone-else"),
    "edited subject": lambda at: Entry.objects.filter(index=at).update(subject="P-9999"),
    "deleted entry": lambda at: Entry.objects.filter(index=at).delete(),
    "deleted entries": lambda at: Entry.objects.filter(index__gte=at, index__lt=at + 5).delete(),
    "swapped entries": _swap,
    "edited leaf node": lambda at: Node.objects.filter(key=at).update(hash=merkle.leaf_hash(b"forged")),
    "deleted leaf node": lambda at: Node.objects.filter(key=at).delete(),
    "edited inner node": lambda at: Node.objects.filter(key=pack_key(1, at // 2)).update(hash=b"\x11" * 32),
    "deleted inner node": lambda at: Node.objects.filter(key=pack_key(2, at // 4)).delete(),
    "truncated tail": lambda at: Entry.objects.filter(index__gte=at).delete(),
    "changed checkpoint root": lambda at: Checkpoint.objects.filter(size=3 * (at // 3 + 1)).update(root=b"\0" * 32),
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(sorted(TAMPERING)), at=st.integers(0, SIZE - 6), chunk=st.sampled_from([2, 4, 8]))
def test_any_tampering_gives_the_same_report_in_small_batches_as_in_production_ones(
    log: None, kind: str, at: int, chunk: int
) -> None:
    savepoint = transaction.savepoint()
    try:
        TAMPERING[kind](at)
        small, production = _report(chunk), _report(PRODUCTION)
        assert small == production
        assert production["ok"] is False
    finally:
        transaction.savepoint_rollback(savepoint)


def _items(start: int, count: int) -> Iterator[AuditItem]:
    for n in range(start, start + count):
        yield AuditItem(
            actor=f"officer-{n % 7}",
            action="case.decided",
            subject=f"P-{n:05d}",
            details={"reason": f"case review {n}"},
        )


@pytest.fixture
def big_log(db: None, settings: Any) -> int:
    """Several production-size batches and a ragged end, with checkpoints every 1000 entries."""
    settings.LEGIONARY_CHECKPOINT_EVERY_ENTRIES = 1000
    settings.LEGIONARY_CHECKPOINT_EVERY_MINUTES = 10**6
    size = 2 * PRODUCTION + 1234
    for start in range(0, size, 1000):
        audit_record_many(list(_items(start, min(1000, size - start))))
    checkpoint_now()
    return size


def test_a_log_of_several_full_batches_verifies_with_the_rfc_root(big_log: int) -> None:
    result = audit_verify()
    assert result.ok, result.problems
    assert result.entries == big_log
    assert result.root == _reference_root(big_log)
    assert result.checkpoints == big_log // 1000 + 1


def test_an_edited_body_in_a_full_batch_is_named(big_log: int) -> None:
    at = PRODUCTION + 4321
    _edit_body(at)
    report = audit_verify().as_json()
    assert report["first_bad_entry"] == at
    assert report["first_bad_checkpoint"] == (at // 1000 + 1) * 1000


def test_an_edited_inner_node_in_a_full_batch_is_named(big_log: int) -> None:
    index = (PRODUCTION + 4321) >> 5
    Node.objects.filter(key=pack_key(5, index)).update(hash=b"\x22" * 32)
    problems = audit_verify().as_json()["problems"]
    assert [(p["kind"], p["level"], p["at"]) for p in problems] == [("node", 5, index)]

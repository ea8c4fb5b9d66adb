"""``audit_at_end``: a transaction's entries are appended as its last step, so the log's lock is
held from the append to the commit only, and the entries still commit with the action or not at all."""

from __future__ import annotations

import threading

import pytest
from django.db import DatabaseError, connection, transaction

from legionary.audit.models import Entry, LogHead
from legionary.audit.services import AuditError, audit_at_end, audit_record
from legionary.audit.verification import audit_verify


@pytest.mark.django_db
def test_entries_recorded_in_the_block_are_appended_in_order_when_it_ends() -> None:
    audit_record(actor="t", action="test.before")
    with transaction.atomic(), audit_at_end():
        held = audit_record(actor="t", action="test.first", details={"n": 1})
        audit_record(actor="t", action="test.second")
        assert held.index is None
        assert Entry.objects.count() == 1
    assert list(Entry.objects.order_by("index").values_list("action", flat=True)) == [
        "test.before",
        "test.first",
        "test.second",
    ]
    assert audit_verify().ok


@pytest.mark.django_db
def test_an_exception_leaving_the_block_appends_nothing() -> None:
    with pytest.raises(RuntimeError), transaction.atomic(), audit_at_end():
        audit_record(actor="t", action="test.lost")
        raise RuntimeError("the action failed")
    assert not Entry.objects.filter(action="test.lost").exists()
    # The next append is not affected by the discarded one.
    audit_record(actor="t", action="test.after")
    assert Entry.objects.get(action="test.after").index == 0


@pytest.mark.django_db
def test_a_bad_entry_fails_where_it_is_recorded_not_at_the_end() -> None:
    with pytest.raises(AuditError), transaction.atomic(), audit_at_end():
        audit_record(actor="t", action="x" * 200)
    assert Entry.objects.count() == 0


@pytest.mark.django_db
def test_a_nested_block_joins_the_outer_one() -> None:
    with transaction.atomic(), audit_at_end():
        audit_record(actor="t", action="test.outer")
        with audit_at_end():
            audit_record(actor="t", action="test.inner")
        assert Entry.objects.count() == 0
    assert list(Entry.objects.order_by("index").values_list("action", flat=True)) == ["test.outer", "test.inner"]


@pytest.mark.django_db(transaction=True)
def test_the_block_must_be_inside_a_transaction() -> None:
    with pytest.raises(AuditError, match="inside the transaction"), audit_at_end():
        pass


def _try_lock_head(outcome: list[str]) -> None:
    try:
        with transaction.atomic():
            LogHead.objects.select_for_update(nowait=True).get(id=1)
        outcome.append("free")
    except DatabaseError:
        outcome.append("locked")
    finally:
        connection.close()


def _lock_state_after_an_audited_step(hold_back: bool) -> str:
    """Records an entry in a transaction, then asks from another connection whether the log's
    lock is taken while the transaction goes on with other work."""
    outcome: list[str] = []
    with transaction.atomic():
        if hold_back:
            with audit_at_end():
                audit_record(actor="t", action="test.slow")
                other = threading.Thread(target=_try_lock_head, args=(outcome,))
                other.start()
                other.join()
        else:
            audit_record(actor="t", action="test.slow")
            other = threading.Thread(target=_try_lock_head, args=(outcome,))
            other.start()
            other.join()
    return outcome[0]


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_log_lock_is_free_while_the_rest_of_the_transaction_runs() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks are a PostgreSQL matter; SQLite locks the whole database for a write transaction")
    audit_record(actor="t", action="test.first")  # the log head exists
    # The control: an ordinary append keeps the lock to the commit, which the probe must see.
    assert _lock_state_after_an_audited_step(hold_back=False) == "locked"
    assert _lock_state_after_an_audited_step(hold_back=True) == "free"
    assert Entry.objects.filter(action="test.slow").count() == 2
    assert audit_verify().ok

"""An append locks the log head and grows its size in one statement (issue 20, "a surge": one
statement less on every audited action), and the head's checkpoint hint is still read and kept."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from legionary.audit.models import Checkpoint, Entry, LogHead
from legionary.audit.services import AuditItem, audit_record, audit_record_many
from legionary.audit.verification import audit_verify

pytestmark = pytest.mark.django_db


def _head_statements(captured: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if LogHead._meta.db_table in q["sql"]]


def test_an_append_touches_the_head_once_and_indexes_follow_on(settings: Any) -> None:
    settings.LEGIONARY_CHECKPOINT_EVERY_ENTRIES = 10**6
    settings.LEGIONARY_CHECKPOINT_EVERY_MINUTES = 10**6
    audit_record(actor="t", action="test.first")  # the head row is created by the first append
    audit_record(actor="t", action="test.second")  # and a checkpoint is signed: none yet
    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        entries = audit_record_many([AuditItem(actor="t", action=f"test.many{n}") for n in range(3)])
    head = _head_statements(captured)
    assert len(head) == 1 and head[0].startswith("UPDATE"), head
    assert [e.index for e in entries] == [2, 3, 4]
    assert LogHead.objects.get(id=1).size == 5 == Entry.objects.count()
    assert audit_verify().ok


def test_a_checkpoint_is_still_signed_when_the_last_one_is_older_than_the_interval(settings: Any) -> None:
    settings.LEGIONARY_CHECKPOINT_EVERY_ENTRIES = 10**6
    settings.LEGIONARY_CHECKPOINT_EVERY_MINUTES = 60
    audit_record(actor="t", action="test.first")  # no checkpoint yet: one is signed
    signed = Checkpoint.objects.count()
    audit_record(actor="t", action="test.soon")  # within the hour: none
    assert Checkpoint.objects.count() == signed
    LogHead.objects.filter(id=1).update(checkpoint_at=timezone.now() - timedelta(minutes=61))
    audit_record(actor="t", action="test.later")  # the hint read back says an hour has passed
    assert Checkpoint.objects.count() == signed + 1
    head = LogHead.objects.get(id=1)
    assert head.size == 3 and head.checkpoint_at is not None
    assert timezone.now() - head.checkpoint_at < timedelta(minutes=1)
    assert audit_verify().ok


def test_a_failed_append_leaves_the_size_as_it_was() -> None:
    audit_record(actor="t", action="test.first")
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor="t", action="test.lost")
        raise RuntimeError("the action failed")
    assert LogHead.objects.get(id=1).size == 1
    assert audit_record(actor="t", action="test.next").index == 1
    assert audit_verify().ok


def test_an_appends_entries_and_nodes_are_one_statement_on_postgresql() -> None:
    audit_record(actor="t", action="test.first")
    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        audit_record_many([AuditItem(actor="t", action=f"test.many{n}") for n in range(3)])
    tables = (Entry._meta.db_table, "audit_node")
    writes = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith(("INSERT", "WITH")) and any(f'"{table}"' in q["sql"] for table in tables)
    ]
    assert len(writes) == (1 if connection.vendor == "postgresql" else 2), writes
    assert Entry.objects.count() == 4
    assert audit_verify().ok

"""A large SQLite log is verified by worker processes, one perfect subtree (range) each; this must
not show in the outcome.

The ranges are made tiny here (8 entries, batches of 4) so that a 45-entry log has five of them
and a ragged tail. Each test compares the report with ranges against the report of the plain
sequential pass on the same database: an intact log gives the same root and checkpoints, and
every kind of tampering, inside a range or in the tail, gives exactly the same problems (a range
only says whether it holds; the sequential pass then names what is wrong).

The workers open connections of their own, so the log must be committed: these tests use
transactional databases, and run on SQLite only (PostgreSQL verifies in one process).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from legionary.audit import verification
from legionary.audit.models import Checkpoint, Entry, LogHead, Node
from legionary.audit.services import pack_key
from legionary.audit.verification import audit_verify
from tests.audit.conftest import MakeLog
from tests.audit.test_verify_batches import TAMPERING

pytestmark = [
    pytest.mark.skipif(connection.vendor != "sqlite", reason="ranges are checked by worker processes on SQLite only"),
    pytest.mark.django_db(transaction=True),
]

SIZE = 45  # five ranges of 8 entries, then 5 more; checkpoints every 3 entries
RANGE_LEVEL = 3


@pytest.fixture
def log(make_log: MakeLog, monkeypatch: pytest.MonkeyPatch) -> None:
    make_log(SIZE, every=3)
    monkeypatch.setattr(verification, "CHUNK", 4)
    monkeypatch.setattr(verification, "RANGE_WORKERS", 2)
    monkeypatch.setattr(verification, "RANGE_LEVEL", RANGE_LEVEL)


def _sequential(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setattr(verification, "RANGE_LEVEL", 60)
    return audit_verify().as_json()


def test_an_intact_log_checked_in_ranges_gives_the_report_of_one_pass(
    log: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = set(Checkpoint.objects.values_list("size", flat=True))
    scan = verification._scan_in_ranges(sizes, SIZE, None)
    assert scan is not None
    assert scan.covered == 40  # the five whole ranges went to the workers
    ranged = audit_verify().as_json()
    assert ranged["ok"] is True, ranged["problems"]
    assert ranged == _sequential(monkeypatch)


def test_the_progress_callback_counts_every_entry_of_the_ranges_and_the_tail(log: None) -> None:
    counted: list[int] = []
    assert audit_verify(progress=counted.append).ok
    assert sum(counted) == SIZE


@pytest.mark.parametrize("at", [5, 41])
@pytest.mark.parametrize("kind", sorted(TAMPERING))
def test_any_tampering_in_a_range_or_the_tail_gives_the_report_of_one_pass(
    log: None, monkeypatch: pytest.MonkeyPatch, kind: str, at: int
) -> None:
    TAMPERING[kind](at)
    ranged = audit_verify().as_json()
    assert ranged["ok"] is False
    assert ranged == _sequential(monkeypatch)


def _insert_copy_of_entry(at: int, index: int) -> None:
    entry, column = connection.ops.quote_name(Entry._meta.db_table), connection.ops.quote_name("index")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {entry} ({column}, created_at, actor, action, subject, body) "  # noqa: S608 — quoted names
            f"SELECT %s, created_at, actor, action, subject, body FROM {entry} WHERE {column} = %s",
            [index, at],
        )


def test_a_row_inserted_before_entry_zero_outside_every_range_is_named(
    log: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _insert_copy_of_entry(3, -1)
    ranged = audit_verify().as_json()
    assert ranged["ok"] is False
    assert ranged == _sequential(monkeypatch)


def test_an_edited_range_root_and_an_edited_node_above_the_ranges_are_named(
    log: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for level, index in [(RANGE_LEVEL, 2), (RANGE_LEVEL + 1, 1)]:
        original = bytes(Node.objects.get(key=pack_key(level, index)).hash)
        Node.objects.filter(key=pack_key(level, index)).update(hash=b"\x33" * 32)
        ranged = audit_verify().as_json()
        assert [(p["kind"], p["level"], p["at"]) for p in ranged["problems"]] == [("node", level, index)]
        assert ranged == _sequential(monkeypatch)
        monkeypatch.setattr(verification, "RANGE_LEVEL", RANGE_LEVEL)
        Node.objects.filter(key=pack_key(level, index)).update(hash=original)


def test_a_head_moved_back_below_the_ranges_is_named(log: None, monkeypatch: pytest.MonkeyPatch) -> None:
    LogHead.objects.filter(id=1).update(size=20)
    ranged = audit_verify().as_json()
    assert ranged["ok"] is False
    assert ranged == _sequential(monkeypatch)

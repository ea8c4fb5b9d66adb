"""How verification reads the log must not change what it finds.

The entries are read through the driver directly (on PostgreSQL by a thread that stays a few
batches ahead), the columns are checked against the body without parsing it, and the nodes of all
consistency proofs are read in a few queries up front. These tests hold each of those to the
plain behaviour: values that need JSON escaping verify and their edits are caught, a failure in
the reading thread reaches the caller, the consistency proofs still reject an inconsistent pair,
and the number of queries does not grow with the number of checkpoints.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from legionary.audit import verification
from legionary.audit.models import Checkpoint, Entry
from legionary.audit.services import audit_record
from legionary.audit.verification import audit_verify
from tests.audit.conftest import MakeLog

AWKWARD = ['quote " inside', "back\\slash", "new\nline", "tab\there", "bell\x07", "Кирило", "ქართული", "emoji 🛡"]


@pytest.fixture
def awkward_log(db: None, settings: Any) -> None:
    settings.LEGIONARY_CHECKPOINT_EVERY_ENTRIES = 3
    settings.LEGIONARY_CHECKPOINT_EVERY_MINUTES = 10**6
    for n, text in enumerate(AWKWARD):
        audit_record(actor=f"{text} actor", action="case.decided", subject=text[:64], details={"note": text, "n": n})


def test_columns_that_need_json_escaping_verify(awkward_log: None) -> None:
    result = audit_verify()
    assert result.ok, result.problems
    assert result.entries == len(AWKWARD)


@pytest.mark.parametrize("column", ["actor", "subject"])
def test_a_column_edited_to_the_escaped_spelling_of_its_value_is_named(awkward_log: None, column: str) -> None:
    # The body holds `quote \" inside`; a column saying exactly that (with the backslash) differs.
    value = Entry.objects.values_list(column, flat=True).get(index=0)
    Entry.objects.filter(index=0).update(**{column: value.replace('"', '\\"')})
    result = audit_verify()
    assert result.first("entry") == 0
    assert "column" in result.problems[0].message


def test_the_progress_callback_counts_every_entry(make_log: MakeLog) -> None:
    make_log(11)
    counted: list[int] = []
    assert audit_verify(progress=counted.append).ok
    assert sum(counted) == 11


def _numbers(count: int, done: list[str]) -> Iterator[int]:
    try:
        yield from range(count)
    finally:
        done.append("closed")


def test_reading_ahead_hands_over_every_batch_in_order() -> None:
    done: list[str] = []
    assert list(verification._read_ahead(_numbers(100, done))) == list(range(100))
    assert done == ["closed"]


def test_an_error_in_the_reading_thread_is_raised_to_the_verifier() -> None:
    def failing() -> Iterator[int]:
        yield 1
        raise RuntimeError("the database went away")

    batches = verification._read_ahead(failing())
    assert next(batches) == 1
    with pytest.raises(RuntimeError, match="went away"):
        next(batches)


def test_a_verifier_that_stops_early_closes_the_reading_thread_and_its_cursor() -> None:
    done: list[str] = []
    batches = verification._read_ahead(_numbers(10_000, done))
    assert next(batches) == 0
    batches.close()  # what a failing consumer's loop does when the generator is dropped
    assert done == ["closed"]


def test_an_inconsistent_pair_of_checkpoints_is_named(make_log: MakeLog) -> None:
    make_log(12)
    result = verification.VerifyResult()
    signed = []
    for size, root in Checkpoint.objects.order_by("size").values_list("size", "root"):
        forged = bytes(32) if size == 8 else bytes(root)
        signed.append(verification._Signed(size, forged, f"checkpoint at size {size}"))
    verification._check_consistency(signed, result)
    assert [(p.kind, p.at) for p in result.problems] == [("checkpoint", 8)]


def _queries() -> int:
    with CaptureQueriesContext(connection) as queries:
        result = audit_verify()
    assert result.ok, result.problems
    return len(queries)


def test_the_queries_of_a_verification_do_not_grow_with_the_number_of_checkpoints(make_log: MakeLog) -> None:
    make_log(48, every=2)
    many = _queries()
    # Checkpoints are attestations of the entries: with fewer of them the log still verifies.
    Checkpoint.objects.exclude(size__in=[24, 48]).delete()
    assert _queries() == many

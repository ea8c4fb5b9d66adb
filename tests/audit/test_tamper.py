"""Tampering with the stored log behind the services' back makes `legionary audit verify` fail.

Each test edits the database directly (queryset.update or raw SQL, never a service), as an
intruder with database access would, and checks that verification exits 1 and names the first
entry or checkpoint that is wrong.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection

from legionary.audit import checkpoint as notes
from legionary.audit import merkle
from legionary.audit.models import Checkpoint, Entry, LogHead, Node
from legionary.audit.services import pack_key, verifier_key
from legionary.audit.verification import audit_verify
from tests.audit.conftest import MakeLog, run_audit

SIZE = 12  # checkpoints at sizes 1, 4, 8 and 12


@pytest.fixture
def log(make_log: MakeLog) -> None:
    make_log(SIZE)
    # Not through the CLI: that would record the verification and grow the log past SIZE.
    assert audit_verify().ok


def _raw(sql: str, *params: object) -> None:
    entry = connection.ops.quote_name(Entry._meta.db_table)
    index = connection.ops.quote_name("index")
    with connection.cursor() as cursor:
        cursor.execute(sql.format(entry=entry, index=index), params)


def _truncate(size: int) -> None:
    """Cuts the log to ``size`` entries the careful way: entries, their tree nodes, the head."""
    Entry.objects.filter(index__gte=size).delete()
    for level in range(8):
        Node.objects.filter(key__gte=pack_key(level, size >> level), key__lt=pack_key(level + 1, 0)).delete()
    LogHead.objects.filter(id=1).update(size=size)


def _failed_verify() -> dict[str, object]:
    run = run_audit("verify", "--json")
    assert run.code == 1, run
    report = run.json()
    assert report["ok"] is False
    return report  # type: ignore[no-any-return]


def test_the_untouched_log_verifies_and_says_so(log: None) -> None:
    run = run_audit("verify")
    assert run.code == 0
    assert run.out.startswith("The audit log is intact:")


def test_an_edited_body_names_its_entry(log: None) -> None:
    body = bytes(Entry.objects.get(index=5).body).replace(b"case review 5", b"case review X")
    Entry.objects.filter(index=5).update(body=body)
    report = _failed_verify()
    assert report["first_bad_entry"] == 5
    # Every checkpoint signed after the edit no longer matches the recomputed root.
    assert report["first_bad_checkpoint"] == 8


@pytest.mark.parametrize(
    ("column", "value"),
    [("actor", "someone-else"), ("action", "login.success"), ("subject", "P-9999")],
)
def test_an_edited_column_with_its_body_intact_names_the_entry(log: None, column: str, value: str) -> None:
    Entry.objects.filter(index=6).update(**{column: value})
    report = _failed_verify()
    assert report["first_bad_entry"] == 6
    assert "column" in report["problems"][0]["message"]  # type: ignore[index]


def test_an_edited_time_column_names_the_entry(log: None) -> None:
    entry = Entry.objects.get(index=7)
    Entry.objects.filter(index=7).update(created_at=entry.created_at - timedelta(days=30))
    assert _failed_verify()["first_bad_entry"] == 7


def test_a_deleted_entry_in_the_middle_is_named_as_missing(log: None) -> None:
    Entry.objects.filter(index=5).delete()
    report = _failed_verify()
    assert report["first_bad_entry"] == 5
    assert "missing" in report["problems"][0]["message"]  # type: ignore[index]


def test_a_swapped_pair_of_entries_names_the_first_of_them(log: None) -> None:
    _raw("UPDATE {entry} SET {index} = -1 WHERE {index} = 4")
    _raw("UPDATE {entry} SET {index} = 4 WHERE {index} = 5")
    _raw("UPDATE {entry} SET {index} = 5 WHERE {index} = -1")
    report = _failed_verify()
    assert report["first_bad_entry"] == 4
    assert "says it is entry 5" in report["problems"][0]["message"]  # type: ignore[index]


def test_an_inserted_row_after_the_end_is_named(log: None) -> None:
    forged = bytes(Entry.objects.get(index=3).body).replace(b'"index":3', b'"index":12')
    original = Entry.objects.get(index=3)
    Entry.objects.bulk_create(
        [
            Entry(
                index=SIZE,
                created_at=original.created_at,
                actor=original.actor,
                action=original.action,
                subject=original.subject,
                body=forged,
            )
        ]
    )
    report = _failed_verify()
    assert report["first_bad_entry"] == SIZE


def test_an_inserted_row_with_the_head_moved_along_is_still_caught_by_its_missing_leaf(log: None) -> None:
    original = Entry.objects.get(index=3)
    forged = bytes(original.body).replace(b'"index":3', b'"index":12')
    Entry.objects.bulk_create(
        [Entry(index=SIZE, created_at=original.created_at, actor=original.actor, action=original.action,
               subject=original.subject, body=forged)]
    )  # fmt: skip
    LogHead.objects.filter(id=1).update(size=SIZE + 1)
    report = _failed_verify()
    assert report["first_bad_entry"] == SIZE


def test_a_truncated_tail_under_a_checkpoint_names_the_checkpoint(log: None) -> None:
    _truncate(10)
    report = _failed_verify()
    assert report["first_bad_checkpoint"] == 12
    assert "truncated" in str(report["problems"])


def test_a_truncation_that_also_removes_the_checkpoints_is_caught_by_a_saved_checkpoint(
    log: None, tmp_path: Path
) -> None:
    saved = tmp_path / "checkpoint.txt"
    saved.write_text(run_audit("checkpoint").out, encoding="utf-8")
    key = verifier_key()
    _truncate(10)
    Checkpoint.objects.filter(size__gt=8).delete()
    # Without the saved copy the shortened log looks whole: the weakness docs/audit.md explains.
    assert run_audit("verify").code == 0
    run = run_audit("verify", "--json", "--checkpoint", str(saved), "--key", key)
    assert run.code == 1
    assert run.json()["first_bad_checkpoint"] == 12


def test_a_saved_checkpoint_of_an_intact_log_verifies_after_the_log_grew(
    log: None, make_log: MakeLog, tmp_path: Path
) -> None:
    saved = tmp_path / "checkpoint.txt"
    saved.write_text(run_audit("checkpoint").out, encoding="utf-8")
    make_log(5)
    run = run_audit("verify", "--checkpoint", str(saved), "--key", verifier_key())
    assert run.code == 0, run
    assert "only grew" in run.out


def test_a_checkpoint_resigned_with_another_key_is_named(log: None) -> None:
    intruder = notes.generate_key("legionary.local/audit")
    cp = Checkpoint.objects.get(size=8)
    forged = intruder.sign(notes.format_checkpoint("legionary.local/audit", 8, bytes(cp.root)))
    Checkpoint.objects.filter(size=8).update(note=forged)
    report = _failed_verify()
    assert report["first_bad_checkpoint"] == 8
    assert "signature" in str(report["problems"])


def test_a_changed_checkpoint_root_is_named(log: None) -> None:
    Checkpoint.objects.filter(size=4).update(root=b"\x00" * 32)
    assert _failed_verify()["first_bad_checkpoint"] == 4


def test_a_log_rewritten_and_resigned_by_an_intruder_fails_against_the_witness_key(log: None, settings) -> None:  # type: ignore[no-untyped-def]
    witness_key = verifier_key()
    # The intruder replaces the signing key and re-signs every checkpoint with it.
    intruder = notes.generate_key(settings.LEGIONARY_LOG_ORIGIN)
    Path(settings.LEGIONARY_AUDIT_KEY).write_text(intruder.to_private_string() + "\n", encoding="ascii")
    try:
        for cp in Checkpoint.objects.all():
            body = notes.format_checkpoint(settings.LEGIONARY_LOG_ORIGIN, cp.size, bytes(cp.root))
            Checkpoint.objects.filter(size=cp.size).update(note=intruder.sign(body))
        assert run_audit("verify").code == 0  # with the key found on the machine, all looks fine
        run = run_audit("verify", "--json", "--key", witness_key)
        assert run.code == 1
        assert run.json()["first_bad_checkpoint"] == 1
    finally:
        Path(settings.LEGIONARY_AUDIT_KEY).unlink()
        from legionary.audit.services import signing_key_init

        signing_key_init()


def test_an_edited_inner_tree_node_is_named(log: None) -> None:
    Node.objects.filter(key=pack_key(1, 2)).update(hash=b"\x11" * 32)
    report = _failed_verify()
    problems = report["problems"]
    assert problems == [  # nothing else is wrong, so nothing else is named
        {
            "kind": "node",
            "at": 2,
            "level": 1,
            "message": "tree node (level 1, index 2) over entries 4-5 does not match the entries; "
            "the stored tree was edited and its proofs are wrong.",
        }
    ]


def test_an_edited_leaf_node_names_its_entry(log: None) -> None:
    Node.objects.filter(key=pack_key(0, 9)).update(hash=merkle.leaf_hash(b"forged"))
    assert _failed_verify()["first_bad_entry"] == 9


def test_a_proof_through_an_edited_node_is_reported_as_not_verified(log: None) -> None:
    Node.objects.filter(key=pack_key(1, 3)).update(hash=b"\x11" * 32)  # the sibling of entry 4's parent
    run = run_audit("proof", "4", "--json")
    assert run.code == 1
    assert run.json()["verified"] is False


def test_a_bad_verifier_key_is_a_usage_error(log: None) -> None:
    run = run_audit("verify", "--key", "not-a-key")
    assert run.code == 2
    assert "verifier key" in run.err

"""Properties of the stored log: any single byte changed is detected, and stored proofs verify."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from legionary.audit import checkpoint as notes
from legionary.audit import merkle
from legionary.audit.models import Checkpoint, Entry
from legionary.audit.services import audit_record, consistency_proof, entry_inclusion, signer
from legionary.audit.verification import audit_verify
from tests.audit.conftest import MakeLog

SIZE = 9
FIXTURES_OK = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def small_log(make_log: MakeLog) -> None:
    make_log(SIZE, every=3)


@FIXTURES_OK
@given(data=st.data())
def test_any_single_byte_changed_in_any_entry_body_names_that_entry(small_log: None, data: Any) -> None:
    index = data.draw(st.integers(0, SIZE - 1), label="entry")
    body = bytes(Entry.objects.get(index=index).body)
    position = data.draw(st.integers(0, len(body) - 1), label="position")
    value = data.draw(st.integers(0, 255).filter(lambda b: b != body[position]), label="byte")
    changed = body[:position] + bytes([value]) + body[position + 1 :]
    Entry.objects.filter(index=index).update(body=changed)
    try:
        result = audit_verify()
        assert not result.ok
        assert result.first("entry") == index
    finally:
        Entry.objects.filter(index=index).update(body=body)


@FIXTURES_OK
@given(data=st.data())
def test_any_single_byte_changed_in_any_checkpoint_note_names_that_checkpoint(small_log: None, data: Any) -> None:
    sizes = list(Checkpoint.objects.order_by("size").values_list("size", flat=True))
    size = data.draw(st.sampled_from(sizes), label="checkpoint")
    note = Checkpoint.objects.get(size=size).note
    raw = note.encode("utf-8")
    position = data.draw(st.integers(0, len(raw) - 1), label="position")
    value = data.draw(st.integers(1, 255).filter(lambda b: b != raw[position]), label="byte")
    try:
        changed = (raw[:position] + bytes([value]) + raw[position + 1 :]).decode("utf-8")
    except UnicodeDecodeError:
        changed = None
    if changed is None:
        return  # a text column cannot store it, so no intruder can either
    Checkpoint.objects.filter(size=size).update(note=changed)
    try:
        result = audit_verify()
        assert not result.ok
        assert result.first("checkpoint") == size
    finally:
        Checkpoint.objects.filter(size=size).update(note=note)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.integers(1, 70), data=st.data())
def test_inclusion_and_consistency_proofs_from_the_stored_tree_verify_for_any_size(
    db: None, size: int, data: Any
) -> None:
    savepoint = transaction.savepoint()
    try:
        bodies = [bytes(audit_record(actor="prop", action="test.appended", details={"n": n}).body) for n in range(size)]
        leaves = [merkle.leaf_hash(b) for b in bodies]
        index = data.draw(st.integers(0, size - 1), label="index")
        evidence = entry_inclusion(index)
        assert evidence.verified
        # Checked again from first principles: the signed root is the RFC root of the bodies.
        opened = notes.open_checkpoint(evidence.note, signer().verifier)
        assert opened.root_hash == merkle.root_from_leaves(leaves[: opened.size])
        assert merkle.verify_inclusion(leaves[index], index, opened.size, list(evidence.proof), opened.root_hash)
        old = data.draw(st.integers(1, size), label="old size")
        proof = consistency_proof(old, size)
        assert merkle.verify_consistency(
            old, size, merkle.root_from_leaves(leaves[:old]), merkle.root_from_leaves(leaves), proof
        )
    finally:
        transaction.savepoint_rollback(savepoint)

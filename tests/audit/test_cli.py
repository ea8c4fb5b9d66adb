"""`legionary audit verify|checkpoint|key|proof` as the contract describes them."""

from __future__ import annotations

import json

from legionary.audit import checkpoint as notes
from legionary.audit.models import Checkpoint, Entry
from tests.audit.conftest import MakeLog, run_audit


def test_verify_is_recorded_after_it_ran_so_it_reports_the_log_without_its_own_entry(make_log: MakeLog) -> None:
    make_log(5)
    run = run_audit("verify", "--json")
    assert run.code == 0
    assert run.json()["entries"] == 5
    recorded = Entry.objects.get(index=5)
    assert recorded.action == "audit.verified"
    assert json.loads(bytes(recorded.body))["details"]["ok"] is True
    # Its own entry is covered by the next run.
    assert run_audit("verify", "--json").json()["entries"] == 6


def test_verify_prints_no_progress_bar_when_stderr_is_not_a_terminal(make_log: MakeLog) -> None:
    make_log(3)
    assert run_audit("verify").err == ""


def test_checkpoint_prints_a_signed_note_of_the_whole_log_that_the_key_verifies(make_log: MakeLog) -> None:
    make_log(6)
    note = run_audit("checkpoint").out
    opened = notes.open_checkpoint(note, run_audit("key").out.strip())
    assert opened.size == 6
    # Asked again without growth, it prints the same checkpoint instead of signing another.
    assert run_audit("checkpoint").out == note
    assert Checkpoint.objects.filter(size=6).count() == 1


def test_proof_prints_a_verified_inclusion_proof_and_is_recorded(make_log: MakeLog) -> None:
    make_log(7)
    run = run_audit("proof", "2", "--json")
    assert run.code == 0
    proof = run.json()
    assert proof["verified"] is True
    assert proof["index"] == 2 and proof["tree_size"] == 4  # the newest checkpoint covers it
    newest = Entry.objects.order_by("-index").first()
    assert newest is not None and newest.action == "audit.proof_requested"


def test_proof_of_an_entry_that_does_not_exist_is_a_usage_error(make_log: MakeLog) -> None:
    make_log(2)
    run = run_audit("proof", "50")
    assert run.code == 2
    assert "no audit entry 50" in run.err


def test_verify_with_an_unreadable_checkpoint_file_is_a_usage_error(make_log: MakeLog) -> None:
    make_log(2)
    run = run_audit("verify", "--checkpoint", "/nonexistent/checkpoint.txt")
    assert run.code == 2
    assert "cannot read the checkpoint file" in run.err
